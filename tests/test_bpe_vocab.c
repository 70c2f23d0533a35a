/* Byte-level BPE vocabularies in GGUF files (tokenizer.ggml.model "gpt2",
 * as llama.cpp writes Llama 3's and Qwen 2's) against Hugging Face
 * `tokenizers` with the same vocabulary and pre-tokenizer (fixtures by
 * tools/gen_bpe_fixtures.py): the project's own tricky texts (contractions
 * in any case, digit runs, runs of spaces, tabs and newlines, symbols,
 * emoji, the empty text) and corpus lines (read from the shared corpus;
 * skipped without it) give the same ids; the bytes of the ids give the text
 * back; a special token in the text is one token only when asked. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "corpus.h"
#include "kernels/gguf.h"
#include "lm/vocab.h"

static int hex_decode(const char *h, char *out, size_t cap)
{
    size_t n = 0;
    for (; h[0] && h[1] && n + 1 < cap; h += 2) {
        unsigned b;
        if (sscanf(h, "%2x", &b) != 1)
            return -1;
        out[n++] = (char)b;
    }
    out[n] = 0;
    return (int)n;
}


static void test_pre(const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/lm/bpe_%s.gguf", SORI_FIXTURE_DIR, name);
    sori_gguf *g = NULL;
    sori_vocab *v = NULL;
    sori_error err = {0};
    CHECK_STATUS(sori_gguf_open_file(path, &g, &err), SORI_OK);
    if (g)
        CHECK_STATUS(sori_vocab_load(g, &v, &err), SORI_OK);
    snprintf(path, sizeof path, "%s/lm/bpe_%s.tsv", SORI_FIXTURE_DIR, name);
    FILE *f = fopen(path, "r");
    CHECK(f != NULL, "%s", path);
    if (!v || !f) {
        if (f)
            fclose(f);
        sori_vocab_free(v);
        sori_gguf_free(g);
        return;
    }
    FILE *p = popen("xz -dc " SORI_SOURCE_DIR "/../shared/data/text/ko_corpus.tsv.xz 2>/dev/null", "r");
    int64_t at = -1;
    char *line = NULL;
    size_t cap = 0;
    int own = 0, own_same = 0, corpus = 0, corpus_same = 0;
    static char text[1 << 20], back[1 << 20];
    int32_t want[4096], got[4096];
    while (getline(&line, &cap, f) > 0) {
        char *tab = strchr(line, '\t');
        if (!tab)
            continue;
        *tab = 0;
        int n_want = 0;
        for (char *s = strtok(tab + 1, " \n"); s && n_want < 4096; s = strtok(NULL, " \n"))
            want[n_want++] = (int32_t)strtol(s, NULL, 10);
        const int is_own = strncmp(line, "own:", 4) == 0;
        if (is_own) {
            if (hex_decode(line + 4, text, sizeof text) < 0)
                continue;
        } else if (!p || !corpus_line(p, &at, strtoll(line + 7, NULL, 10), text, sizeof text)) {
            continue;
        }
        int n = 0;
        /* no BOS (the reference encodes without one) */
        sori_status st = sori_vocab_tokenize(v, text, strlen(text), false, false, got, 4096, &n, &err);
        const int eq = st == SORI_OK && n == n_want && memcmp(got, want, sizeof(int32_t) * (size_t)n) == 0;
        if (is_own) {
            own++;
            own_same += eq;
        } else {
            corpus++;
            corpus_same += eq;
        }
        if (!eq)
            fprintf(stderr, "%s: '%.80s': %d tokens, tokenizers %d\n", name, text, n, n_want);
        /* the bytes come back */
        size_t len = 0;
        for (int i = 0; i < n && st == SORI_OK; i++)
            len += (size_t)sori_vocab_piece(v, got[i], false, back + len, (int)(sizeof back - len));
        back[len] = 0;
        CHECK(st == SORI_OK && strcmp(back, text) == 0, "%s: '%.60s' decodes to '%.60s'", name, text, back);
    }
    free(line);
    fclose(f);
    if (p)
        pclose(p);
    CHECK(own == 14 && own_same == own, "%s: %d of %d own texts as tokenizers encodes them", name, own_same, own);
    CHECK(corpus == 0 || corpus_same == corpus, "%s: %d of %d corpus lines", name, corpus_same, corpus);
    printf("%s: own texts %d/%d, corpus lines %d/%d identical to Hugging Face tokenizers%s\n", name, own_same, own,
           corpus_same, corpus, corpus ? "" : " (the shared corpus is not here)");
    /* the control token: text unless parse_special */
    const char *sp = "a<|begin_of_text|>b";
    int n = 0;
    CHECK_STATUS(sori_vocab_tokenize(v, sp, strlen(sp), false, true, got, 64, &n, &err), SORI_OK);
    CHECK(n == 3 && got[1] == sori_vocab_bos(v), "%s: parse_special gives %d tokens", name, n);
    CHECK_STATUS(sori_vocab_tokenize(v, sp, strlen(sp), false, false, got, 64, &n, &err), SORI_OK);
    int has_bos = 0;
    for (int i = 0; i < n; i++)
        has_bos |= got[i] == sori_vocab_bos(v);
    CHECK(n > 3 && !has_bos, "%s: without parse_special the control token is text (%d tokens)", name, n);
    sori_vocab_free(v);
    sori_gguf_free(g);
}

int main(void)
{
    test_pre("llama");
    test_pre("qwen2");
    return check_finish("test_bpe_vocab");
}
