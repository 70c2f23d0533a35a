/* sori lm: transformer language models from the command line.
 *   sori lm score --lm MODEL.gguf [--threads N] [--ctx N] [TEXTFILE]
 *       one line of output per input line (from TEXTFILE or stdin): the
 *       natural-log probability of the line, its token count and the line,
 *       tab-separated; then "perplexity X" (over all scored tokens) on stderr
 *   sori lm tokenize --lm MODEL.gguf [--special] [TEXTFILE]
 *       the token ids of each line, space-separated (BOS first when the file
 *       adds one; --special: special tokens written in the text read as such)
 *   sori lm generate --lm MODEL.gguf --prompt TEXT [--max-tokens N]
 *                    [--temperature T --top-k K --top-p P --seed S]
 *       the continuation of the prompt (greedy unless T > 0), streamed as it
 *       is made */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "sori/lm.h"

static void lm_usage(FILE *f)
{
    fprintf(f, "usage: sori lm score --lm MODEL.gguf [--threads N] [--ctx N] [TEXTFILE]\n"
               "       sori lm tokenize --lm MODEL.gguf [--special] [TEXTFILE]\n"
               "       sori lm generate --lm MODEL.gguf --prompt TEXT [--max-tokens N] [--threads N]\n"
               "                        [--temperature T] [--top-k K] [--top-p P] [--seed S]\n");
}

/* One line (without its newline) of f into a growing buffer; 0 at the end. */
static int read_line(FILE *f, char **buf, size_t *cap, size_t *len)
{
    size_t n = 0;
    int c;
    while ((c = fgetc(f)) != EOF && c != '\n') {
        if (n + 1 >= *cap) {
            size_t nc = *cap ? 2 * *cap : 256;
            char *p = realloc(*buf, nc);
            if (!p)
                return -1;
            *buf = p;
            *cap = nc;
        }
        (*buf)[n++] = (char)c;
    }
    if (c == EOF && n == 0)
        return 0;
    if (!*buf && !(*buf = malloc(*cap = 1)))
        return -1;
    if (n > 0 && (*buf)[n - 1] == '\r')
        n--;
    (*buf)[n] = 0;
    *len = n;
    return 1;
}

static int generate(sori_lm *lm, sori_lm_session *s, const char *prompt, int max_tokens, const sori_lm_sampling *sp_,
                    uint64_t seed)
{
    sori_error err = {0};
    const sori_lm_info info = sori_lm_get_info(lm);
    const sori_lm_session_params sp = sori_lm_session_default_params();
    int cap = sp.n_ctx, n = 0;
    int32_t *tok = malloc((size_t)cap * sizeof *tok);
    float *logits = malloc((size_t)info.n_vocab * sizeof *logits);
    float *sf = malloc((size_t)info.n_vocab * sizeof *sf);
    int32_t *si = malloc((size_t)info.n_vocab * sizeof *si);
    int rc = 1;
    if (!tok || !logits || !sf || !si)
        goto done;
    if (sori_lm_tokenize(lm, prompt, strlen(prompt), true, true, tok, cap, &n, &err) != SORI_OK || n < 1) {
        fprintf(stderr, "sori lm generate: %s\n", n < 1 ? "empty prompt" : err.message);
        goto done;
    }
    int pos = 0;
    while (pos < n) {
        sori_lm_token b[64];
        int c = n - pos < 64 ? n - pos : 64;
        for (int i = 0; i < c; i++)
            b[i] = (sori_lm_token){tok[pos + i], pos + i, 0, pos + i == n - 1};
        if (sori_lm_decode(s, b, c, logits, &err) != SORI_OK) {
            fprintf(stderr, "sori lm generate: %s\n", err.message);
            goto done;
        }
        pos += c;
    }
    for (int g = 0; g < max_tokens && pos < cap; g++) {
        const int32_t best = sori_lm_sample(logits, info.n_vocab, sp_, &seed, sf, si);
        if (best == info.eos)
            break;
        char piece[256];
        int len = sori_lm_token_piece(lm, best, piece, sizeof piece);
        fwrite(piece, 1, (size_t)(len < (int)sizeof piece ? len : (int)sizeof piece), stdout);
        fflush(stdout);
        sori_lm_token b = {best, pos++, 0, true};
        if (sori_lm_decode(s, &b, 1, logits, &err) != SORI_OK) {
            fprintf(stderr, "\nsori lm generate: %s\n", err.message);
            goto done;
        }
    }
    printf("\n");
    rc = 0;
done:
    free(tok);
    free(logits);
    free(sf);
    free(si);
    return rc;
}

int cmd_lm(int argc, char **argv)
{
    if (argc < 1 || strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0) {
        lm_usage(argc < 1 ? stderr : stdout);
        return argc < 1 ? 2 : 0;
    }
    const char *sub = argv[0], *lm_path = NULL, *prompt = NULL, *file = NULL;
    int threads = 0, n_ctx = 0, max_tokens = 64, special = 0, top_k = 0, seed = 1;
    float temperature = 0.0f, top_p = 1.0f;
    if (strcmp(sub, "score") != 0 && strcmp(sub, "tokenize") != 0 && strcmp(sub, "generate") != 0) {
        fprintf(stderr, "sori lm: unknown subcommand '%s'\n", sub);
        lm_usage(stderr);
        return 2;
    }
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--lm") == 0 && i + 1 < argc)
            lm_path = argv[++i];
        else if (strcmp(argv[i], "--special") == 0)
            special = 1;
        else if (strcmp(argv[i], "--top-k") == 0 && i + 1 < argc && parse_int_arg(argv[i + 1], 0, 1 << 24, &top_k))
            i++;
        else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc && parse_int_arg(argv[i + 1], 0, 2147483647, &seed))
            i++;
        else if ((strcmp(argv[i], "--temperature") == 0 || strcmp(argv[i], "--top-p") == 0) && i + 1 < argc) {
            char *end = NULL;
            const double v = strtod(argv[i + 1], &end);
            const int temp = strcmp(argv[i], "--temperature") == 0;
            if (!end || *end || !(v >= 0) || v > (temp ? 100 : 1)) {
                fprintf(stderr, "sori lm %s: %s '%s' (%s)\n", sub, argv[i], argv[i + 1], temp ? "0..100" : "0..1");
                return 2;
            }
            if (temp)
                temperature = (float)v;
            else
                top_p = (float)v;
            i++;
        }
        else if (strcmp(argv[i], "--prompt") == 0 && i + 1 < argc)
            prompt = argv[++i];
        else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc && parse_int_arg(argv[i + 1], 1, 256, &threads))
            i++;
        else if (strcmp(argv[i], "--ctx") == 0 && i + 1 < argc && parse_int_arg(argv[i + 1], 2, 1 << 20, &n_ctx))
            i++;
        else if (strcmp(argv[i], "--max-tokens") == 0 && i + 1 < argc &&
                 parse_int_arg(argv[i + 1], 1, 1 << 20, &max_tokens))
            i++;
        else if (argv[i][0] != '-' && !file)
            file = argv[i];
        else {
            fprintf(stderr, "sori lm %s: bad option '%s'\n", sub, argv[i]);
            lm_usage(stderr);
            return 2;
        }
    }
    if (!lm_path) {
        fprintf(stderr, "sori lm %s: --lm MODEL.gguf is required (tools/setup.sh --gemma fetches Gemma 3 270M)\n", sub);
        return 2;
    }
    if (strcmp(sub, "generate") == 0 && !prompt) {
        fprintf(stderr, "sori lm generate: --prompt TEXT is required\n");
        return 2;
    }
    sori_runtime_params rp = sori_runtime_default_params();
    rp.device = SORI_DEVICE_CPU;
    if (threads)
        rp.n_threads = threads;
    rp.pool_bytes = 1 << 20;
    sori_runtime *rt = NULL;
    sori_lm *lm = NULL;
    sori_lm_session *s = NULL;
    sori_error err = {0};
    FILE *in = NULL;
    char *line = NULL;
    size_t cap = 0, len = 0;
    int rc = 1;
    if (sori_runtime_create(&rp, &rt, &err) != SORI_OK || sori_lm_load(rt, lm_path, &lm, &err) != SORI_OK) {
        fprintf(stderr, "sori lm %s: %s: %s\n", sub, lm_path, err.message);
        goto done;
    }
    sori_lm_session_params sp = sori_lm_session_default_params();
    if (n_ctx)
        sp.n_ctx = n_ctx;
    if (sori_lm_session_create(lm, &sp, &s, &err) != SORI_OK) {
        fprintf(stderr, "sori lm %s: %s\n", sub, err.message);
        goto done;
    }
    if (strcmp(sub, "generate") == 0) {
        const sori_lm_sampling smp = {temperature, top_k, top_p};
        rc = generate(lm, s, prompt, max_tokens, &smp, (uint64_t)seed);
        goto done;
    }
    in = file ? fopen(file, "r") : stdin;
    if (!in) {
        fprintf(stderr, "sori lm %s: cannot open %s\n", sub, file);
        goto done;
    }
    double total = 0;
    long n_total = 0;
    int r, bad = 0, lineno = 0;
    int32_t *tok = malloc(sizeof(int32_t) * (size_t)sp.n_ctx);
    if (!tok)
        goto done;
    while ((r = read_line(in, &line, &cap, &len)) > 0) {
        lineno++;
        if (strcmp(sub, "tokenize") == 0) {
            int n = 0;
            if (sori_lm_tokenize(lm, line, len, true, special, tok, sp.n_ctx, &n, &err) != SORI_OK) {
                fprintf(stderr, "sori lm tokenize: line %d: %s\n", lineno, err.message);
                bad = 1;
                continue;
            }
            for (int i = 0; i < n; i++)
                printf(i ? " %d" : "%d", tok[i]);
            printf("\n");
            continue;
        }
        if (strlen(line) != len) {
            fprintf(stderr, "sori lm score: line %d holds a NUL byte: skipped\n", lineno);
            bad = 1;
            continue;
        }
        double lp = 0;
        int n = 0;
        if (sori_lm_score_text(s, line, &lp, &n, &err) != SORI_OK) {
            fprintf(stderr, "sori lm score: line %d: %s\n", lineno, err.message);
            bad = 1;
            continue;
        }
        printf("%.4f\t%d\t%s\n", lp, n, line);
        fflush(stdout);
        total += lp;
        n_total += n;
    }
    free(tok);
    if (r < 0) {
        fprintf(stderr, "sori lm %s: out of memory reading a line\n", sub);
        goto done;
    }
    if (strcmp(sub, "score") == 0)
        fprintf(stderr, "perplexity %.3f (%ld tokens)\n", n_total ? exp(-total / (double)n_total) : NAN, n_total);
    rc = bad;
done:
    if (in && in != stdin)
        fclose(in);
    free(line);
    sori_lm_session_free(s);
    sori_lm_free(lm);
    sori_runtime_free(rt);
    return rc;
}
