/* n-gram LMs (sori/ngram.h): parity with KenLM on the same ARPA file
 * (fixtures by tools/gen_ngram_fixtures.py), the GGUF form giving the same
 * scores, normalization of the back-off arithmetic, and bad files. */
#define _GNU_SOURCE /* memmem */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "sori/ngram.h"

#ifndef SORI_FIXTURE_DIR
#define SORI_FIXTURE_DIR "tests/fixtures"
#endif

#define TOL 2e-4f /* log10; the fixture's scores are printed to 1e-6, the files hold 1e-6 / f32 */

/* Every sentence of a scores file scored word by word against the reference's
 * (KenLM's full_scores for scores.tsv; the estimator's own for scores_ws.tsv). */
static void check_parity(const sori_ngram *lm, const char *file, const char *what)
{
    FILE *f = fopen(file, "r");
    CHECK(f != NULL, "%s", file);
    if (!f)
        return;
    char line[8192];
    int sentences = 0, words = 0, unknown = 0;
    float worst = 0;
    while (fgets(line, sizeof line, f)) {
        char *tab = strchr(line, '\t');
        if (!tab)
            continue;
        *tab = '\0';
        int32_t ctx[256];
        int n = 0;
        ctx[n++] = sori_ngram_word_id(lm, "<s>");
        char *save = NULL, *vals = tab + 1, *vsave = NULL;
        char *v = strtok_r(vals, ",\n", &vsave);
        for (char *w = strtok_r(line, " ", &save);; w = strtok_r(NULL, " ", &save)) {
            int32_t id = w ? sori_ngram_word_id(lm, w) : sori_ngram_word_id(lm, "</s>");
            unknown += w && id < 0;
            CHECK(v != NULL, "%s: a score for every word", what);
            if (!v || n >= 255)
                break;
            float got = sori_ngram_log10p(lm, ctx, n, id), want = strtof(v, NULL);
            if (fabsf(got - want) > worst)
                worst = fabsf(got - want);
            CHECK(fabsf(got - want) <= TOL, "%s: sentence %d word %d (%s): %f, reference %f", what, sentences, n,
                  w ? w : "</s>", got, want);
            words++;
            ctx[n++] = id;
            v = strtok_r(NULL, ",\n", &vsave);
            if (!w)
                break;
        }
        sentences++;
    }
    fclose(f);
    CHECK(sentences == 30 && words > 200, "%s: %d sentences, %d words", what, sentences, words);
    CHECK(unknown > 0, "%s: the unseen sentences have unknown words", what);
    printf("%s: %d sentences, %d words (%d unknown), max |log10 p - reference| = %.2g\n", what, sentences, words,
           unknown, worst);
}

/* Sum over the vocabulary of p(w | ctx) is 1 for a context (the estimator
 * renormalizes after pruning; this checks the back-off arithmetic too). */
static double mass(const sori_ngram *lm, const int32_t *ctx, int n)
{
    sori_ngram_info in = sori_ngram_get_info(lm);
    int32_t bos = sori_ngram_word_id(lm, "<s>");
    double s = 0;
    for (int32_t w = 0; w < in.vocab_size; w++)
        if (w != bos)
            s += pow(10.0, sori_ngram_log10p(lm, ctx, n, w));
    return s;
}

static int write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fputs(text, f);
    return fclose(f);
}

static void expect_bad(const char *name, const char *text, const char *needle)
{
    char path[] = "/tmp/sori_ngram_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0, "mkstemp");
    if (fd < 0)
        return;
    close(fd);
    write_file(path, text);
    sori_ngram *lm = (sori_ngram *)1;
    sori_error err = {0};
    CHECK_STATUS(sori_ngram_load(path, &lm, &err), SORI_ERR_FORMAT);
    CHECK(lm == NULL, "%s: no model on failure", name);
    CHECK(strstr(err.message, needle) != NULL, "%s: message '%s' should say '%s'", name, err.message, needle);
    sori_ngram_free(lm == (sori_ngram *)1 ? NULL : lm);
    unlink(path);
}

/* A piece LM with word-boundary back-off (two weights per context): the
 * estimator's scores, normalization after word-start pieces, continuation
 * pieces and unknown contexts, and files whose two halves do not match. */
static void check_word_boundary(void)
{
    sori_error err = {0};
    const char *path = SORI_FIXTURE_DIR "/ngram/small_ws.gguf";
    sori_ngram *lm = NULL;
    CHECK_STATUS(sori_ngram_load(path, &lm, &err), SORI_OK);
    if (!lm)
        return;
    sori_ngram_info in = sori_ngram_get_info(lm);
    CHECK(in.word_classes && in.order == 3 && in.count[3] > 50, "word classes %d, order %d", in.word_classes,
          in.order);
    check_parity(lm, SORI_FIXTURE_DIR "/ngram/scores_ws.tsv", "word-boundary GGUF vs ngram.py");
    /* contexts: <s>; each of the first word-start and continuation pieces with the most followers */
    int32_t bos = sori_ngram_word_id(lm, "<s>"), ctx[2] = {bos, 0};
    double m = mass(lm, ctx, 1);
    CHECK(fabs(m - 1) < 1e-3, "sum of p after <s>: %f", m);
    int tried_ws = 0, tried_cont = 0;
    for (int32_t w = 0; w < in.vocab_size && (tried_ws < 3 || tried_cont < 3); w += 7) {
        const char *s = sori_ngram_word(lm, w);
        int ws = strncmp(s, "\xe2\x96\x81", 3) == 0;
        if (w == bos || (ws ? tried_ws : tried_cont) >= 3)
            continue;
        ctx[1] = w;
        m = mass(lm, ctx, 2);
        CHECK(fabs(m - 1) < 1e-3, "sum of p after <s> %s: %f", s, m);
        if (ws)
            tried_ws++;
        else
            tried_cont++;
    }
    ctx[0] = ctx[1] = -1;
    m = mass(lm, ctx, 2);
    CHECK(fabs(m - 1) < 1e-3, "sum of p after unknown words: %f", m);
    sori_ngram_free(lm);
    /* the mark renamed away (bow_ws tensors without it), or a bow_ws tensor renamed away */
    FILE *f = fopen(path, "rb");
    char *buf = malloc(1 << 20);
    size_t len = f && buf ? fread(buf, 1, 1 << 20, f) : 0;
    if (f)
        fclose(f);
    CHECK(len > 1000, "read %s", path);
    const char *keys[2] = {"sori.ngram.boundary", "ngram.2.bow_ws"};
    const char *want[2] = {"without sori.ngram.boundary", "no tensor ngram.2.bow_ws"};
    for (int k = 0; k < 2 && len; k++) {
        char *copy = malloc(len);
        memcpy(copy, buf, len);
        char *at = memmem(copy, len, keys[k], strlen(keys[k]));
        CHECK(at != NULL, "%s in the file", keys[k]);
        if (at) {
            at[strlen(keys[k]) - 1] = 'X';
            CHECK_STATUS(sori_ngram_load_memory(copy, len, &lm, &err), SORI_ERR_FORMAT);
            CHECK(strstr(err.message, want[k]) != NULL, "message '%s' should say '%s'", err.message, want[k]);
        }
        free(copy);
    }
    free(buf);
}

#define HEAD "\\data\\\nngram 1=4\nngram 2=2\n\n\\1-grams:\n-99\t<s>\t-0.3\n-0.5\t</s>\n-0.6\ta\t-0.2\n-0.7\tb\n\n"

int main(void)
{
    sori_error err = {0};
    sori_ngram *arpa = NULL, *gguf = NULL;
    CHECK_STATUS(sori_ngram_load(SORI_FIXTURE_DIR "/ngram/small.arpa", &arpa, &err), SORI_OK);
    CHECK_STATUS(sori_ngram_load(SORI_FIXTURE_DIR "/ngram/small.gguf", &gguf, &err), SORI_OK);
    if (!arpa || !gguf) {
        fprintf(stderr, "%s\n", err.message);
        sori_ngram_free(arpa);
        sori_ngram_free(gguf);
        return check_finish("test_ngram");
    }
    sori_ngram_info ia = sori_ngram_get_info(arpa), ig = sori_ngram_get_info(gguf);
    CHECK(ia.order == 3 && ig.order == 3, "order %d / %d", ia.order, ig.order);
    CHECK(ia.vocab_size == ig.vocab_size && ia.vocab_size > 500, "vocabulary %d / %d", ia.vocab_size, ig.vocab_size);
    for (int n = 1; n <= 3; n++)
        CHECK(ia.count[n] == ig.count[n] && ia.count[n] > 100, "%d-grams %lld / %lld", n, (long long)ia.count[n],
              (long long)ig.count[n]);
    CHECK(!ia.has_asr_weights && ig.has_asr_weights && fabsf(ig.asr_weight - 0.4f) < 1e-6f &&
              fabsf(ig.asr_bonus - 1.5f) < 1e-6f,
          "ASR weights: GGUF %d %g %g", ig.has_asr_weights, ig.asr_weight, ig.asr_bonus);
    check_parity(arpa, SORI_FIXTURE_DIR "/ngram/scores.tsv", "ARPA vs KenLM");
    check_parity(gguf, SORI_FIXTURE_DIR "/ngram/scores.tsv", "GGUF vs KenLM");
    CHECK(!ia.word_classes && !ig.word_classes, "plain models have no word classes");

    /* words and ids agree between the two forms */
    for (int32_t i = 0; i < ia.vocab_size; i += 37) {
        const char *w = sori_ngram_word(arpa, i);
        CHECK(w && sori_ngram_word_id(arpa, w) == i && sori_ngram_word_id(gguf, w) >= 0, "word %d", i);
    }
    CHECK(sori_ngram_word(arpa, -1) == NULL && sori_ngram_word(arpa, ia.vocab_size) == NULL, "ids out of range");
    CHECK(sori_ngram_word_id(arpa, "no such word at all") == -1, "unknown word id");

    /* normalization: after <s>, after a seen bigram's context, after an unseen context */
    int32_t ctx[3] = {sori_ngram_word_id(arpa, "<s>"), 0, 0};
    double m0 = mass(arpa, ctx, 1);
    ctx[1] = arpa ? sori_ngram_word_id(arpa, sori_ngram_word(arpa, 5)) : 0;
    double m1 = mass(arpa, ctx, 2);
    ctx[0] = -1; /* unknown words in the context */
    ctx[1] = -1;
    double m2 = mass(arpa, ctx, 2);
    CHECK(fabs(m0 - 1) < 1e-3 && fabs(m1 - 1) < 1e-3 && fabs(m2 - 1) < 1e-3, "sum of p: %f %f %f", m0, m1, m2);

    /* unknown words score as <unk>; a context longer than order - 1 uses its last words */
    int32_t unk = sori_ngram_word_id(arpa, "<unk>");
    CHECK(sori_ngram_log10p(arpa, NULL, 0, -5) == sori_ngram_log10p(arpa, NULL, 0, unk), "unknown word");
    int32_t longctx[6] = {1, 2, 3, 4, 5, 6}, tail[2] = {5, 6};
    CHECK(sori_ngram_log10p(arpa, longctx, 6, 7) == sori_ngram_log10p(arpa, tail, 2, 7), "long context");
    CHECK(sori_ngram_log10p(NULL, NULL, 0, 1) == -99.0f && sori_ngram_log10p(arpa, NULL, 2, 1) == -99.0f,
          "bad arguments score -99");
    /* from memory: the same model */
    const char *files[2] = {SORI_FIXTURE_DIR "/ngram/small.arpa", SORI_FIXTURE_DIR "/ngram/small.gguf"};
    for (int i = 0; i < 2; i++) {
        FILE *f = fopen(files[i], "rb");
        char *buf = malloc(1 << 20);
        size_t len = f && buf ? fread(buf, 1, 1 << 20, f) : 0;
        if (f)
            fclose(f);
        sori_ngram *mem = NULL;
        CHECK_STATUS(sori_ngram_load_memory(buf, len, &mem, &err), SORI_OK);
        free(buf); /* copied */
        sori_ngram_info im = sori_ngram_get_info(mem);
        int32_t c2[2] = {sori_ngram_word_id(arpa, "<s>"), 3};
        CHECK(mem && im.count[3] == ia.count[3] &&
                  sori_ngram_log10p(mem, c2, 2, 9) == sori_ngram_log10p(i ? gguf : arpa, c2, 2, 9),
              "%s from memory", files[i]);
        sori_ngram_free(mem);
    }
    check_word_boundary();
    sori_ngram *none = NULL;
    CHECK_STATUS(sori_ngram_load_memory("", 0, &none, &err), SORI_ERR_FORMAT);
    CHECK_STATUS(sori_ngram_load_memory(NULL, 5, &none, &err), SORI_ERR_INVALID_ARG);
    CHECK_STATUS(sori_ngram_load_memory("GGUF", 4, &none, &err), SORI_ERR_FORMAT);
    sori_ngram_free(arpa);
    sori_ngram_free(gguf);

    /* bad files: each a clear SORI_ERR_FORMAT, nothing returned */
    expect_bad("empty", "", "no \\data\\");
    expect_bad("no counts", "\\data\\\n\n\\1-grams:\n", "no 'ngram N=count'");
    expect_bad("absurd count", "\\data\\\nngram 1=900000000\n\n\\1-grams:\n-1\ta\n\\end\\\n",
               "more n-grams than the file can hold");
    expect_bad("order gap", "\\data\\\nngram 1=2\nngram 3=1\n", "bad 'ngram N=count'");
    expect_bad("truncated", HEAD "\\2-grams:\n-0.1\t<s> a\n", "ends inside the 2-grams");
    expect_bad("fewer", HEAD "\\2-grams:\n-0.1\t<s> a\n\\end\\\n", "fewer n-grams");
    expect_bad("more", HEAD "\\2-grams:\n-0.1\t<s> a\n-0.2\ta b\n-0.3\tb a\n\\end\\\n", "more n-grams");
    expect_bad("no end", HEAD "\\2-grams:\n-0.1\t<s> a\n-0.2\ta b\n", "expected \\end\\");
    expect_bad("unknown word", HEAD "\\2-grams:\n-0.1\t<s> a\n-0.2\ta c\n\\end\\\n", "not among the 1-grams");
    expect_bad("bad number", HEAD "\\2-grams:\n-0.1\t<s> a\nx\ta b\n\\end\\\n", "bad number");
    expect_bad("positive log p", HEAD "\\2-grams:\n-0.1\t<s> a\n0.5\ta b\n\\end\\\n", "bad number");
    expect_bad("fields", HEAD "\\2-grams:\n-0.1\t<s> a\n-0.2\ta\n\\end\\\n", "wrong number of fields");
    expect_bad("duplicate", HEAD "\\2-grams:\n-0.1\ta b\n-0.2\ta b\n\\end\\\n", "occurs twice");
    expect_bad("duplicate word", "\\data\\\nngram 1=2\n\n\\1-grams:\n-1\ta\n-1\ta\n\\end\\\n", "twice among");
    expect_bad("missing section", "\\data\\\nngram 1=1\n\n\\2-grams:\n", "expected \\1-grams:");
    sori_ngram *lm = NULL;
    CHECK_STATUS(sori_ngram_load(SORI_FIXTURE_DIR "/conformer/ctc_striding4.gguf", &lm, &err), SORI_ERR_FORMAT);
    CHECK(strstr(err.message, "not an n-gram LM") != NULL, "a GGUF of another kind: %s", err.message);
    CHECK_STATUS(sori_ngram_load("/nonexistent/lm.arpa", &lm, &err), SORI_ERR_IO);
    CHECK_STATUS(sori_ngram_load(NULL, &lm, &err), SORI_ERR_INVALID_ARG);
    /* a good hand-written file loads: back-off through a missing bigram */
    char path[] = "/tmp/sori_ngram_XXXXXX";
    int fd = mkstemp(path);
    if (fd >= 0) {
        close(fd);
        write_file(path, HEAD "\\2-grams:\n-0.1\t<s> a\n-0.2\ta b\n\n\\end\\\n");
        CHECK_STATUS(sori_ngram_load(path, &lm, &err), SORI_OK);
        int32_t a = sori_ngram_word_id(lm, "a"), b = sori_ngram_word_id(lm, "b"), s = sori_ngram_word_id(lm, "<s>");
        CHECK(fabsf(sori_ngram_log10p(lm, &a, 1, b) - -0.2f) < 1e-6f, "a b");
        CHECK(fabsf(sori_ngram_log10p(lm, &a, 1, a) - (-0.2f + -0.6f)) < 1e-6f, "a a backs off: bow(a) + p(a)");
        CHECK(fabsf(sori_ngram_log10p(lm, &s, 1, b) - (-0.3f + -0.7f)) < 1e-6f, "<s> b backs off");
        CHECK(fabsf(sori_ngram_log10p(lm, &b, 1, a) - -0.6f) < 1e-6f, "b has no back-off weight");
        sori_ngram_free(lm);
        unlink(path);
    }
    return check_finish("test_ngram");
}
