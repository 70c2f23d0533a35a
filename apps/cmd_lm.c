/* sori lm: transformer language models from the command line.
 *   sori lm score --lm MODEL.gguf [--threads N] [--ctx N] [TEXTFILE]
 *       one line of output per input line (from TEXTFILE or stdin): the
 *       natural-log probability of the line, its token count and the line,
 *       tab-separated; then "perplexity X" (over all scored tokens) on stderr
 *   sori lm tokenize --lm MODEL.gguf [--special] [TEXTFILE]
 *       the token ids of each line, space-separated (BOS first when the file
 *       adds one; --special: special tokens written in the text read as such)
 *   sori lm generate --lm MODEL.gguf --prompt TEXT [--chat [--system TEXT]
 *                    [--template NAME]]                    [--stop STRING]... [--max-tokens N]
 *                    [--temperature T --top-k K --top-p P --seed S]
 *       the continuation of the prompt (greedy unless T > 0), streamed as it
 *       is made, until an end token, a stop string or N tokens; --chat: the
 *       prompt is a user's turn in the model's chat template, the reply
 *       follows (the file's template, else --template gemma|llama3|chatml|
 *       exaone3); a summary on stderr */
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
               "       sori lm generate --lm MODEL.gguf --prompt TEXT [--chat [--system TEXT] [--template NAME]]\n"
               "                        [--stop STRING]... [--max-tokens N] [--threads N] [--ctx N]\n"
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

static bool print_text(void *user, const char *text, size_t len)
{
    (void)user;
    fwrite(text, 1, len, stdout);
    fflush(stdout);
    return true;
}

typedef struct {
    const char *prompt, *system, *tmpl;
    bool chat;
    const char *stop[16];
    int n_stop;
} gen_args;

static int generate(sori_lm *lm, sori_lm_session *s, int n_ctx, const gen_args *a, sori_lm_generate_params *gp)
{
    sori_error err = {0};
    char *text = NULL;
    int32_t *tok = malloc((size_t)n_ctx * sizeof *tok);
    int rc = 1, n = 0;
    const char *prompt = a->prompt;
    size_t plen = strlen(prompt);
    if (!tok)
        goto done;
    if (a->chat) {
        sori_lm_chat_message m[2] = {{"system", a->system ? a->system : ""}, {"user", a->prompt}};
        const int first = a->system ? 0 : 1;
        size_t need = 0;
        sori_lm_chat_format(lm, a->tmpl, m + first, 2 - first, true, NULL, 0, &need, &err);
        if (need == 0 || !(text = malloc(need + 1)) ||
            sori_lm_chat_format(lm, a->tmpl, m + first, 2 - first, true, text, need + 1, &plen, &err) != SORI_OK) {
            fprintf(stderr, "sori lm generate: %s\n", err.message[0] ? err.message : "out of memory");
            goto done;
        }
        prompt = text;
    }
    if (sori_lm_tokenize(lm, prompt, plen, true, a->chat, tok, n_ctx, &n, &err) != SORI_OK || n < 1) {
        if (n > n_ctx)
            fprintf(stderr, "sori lm generate: a prompt of %d tokens does not fit the context of %d (--ctx)\n", n,
                    n_ctx);
        else
            fprintf(stderr, "sori lm generate: %s\n", n < 1 ? "empty prompt" : err.message);
        goto done;
    }
    gp->stop = a->stop;
    gp->n_stop = a->n_stop;
    sori_lm_generate_result res;
    const double t0 = app_now_s();
    if (sori_lm_generate(s, tok, n, gp, print_text, NULL, &res, &err) != SORI_OK) {
        fprintf(stderr, "\nsori lm generate: %s\n", err.message);
        goto done;
    }
    const double dt = app_now_s() - t0;
    static const char *const why[] = {"end token", "stop string", "max tokens", "context full", "stopped"};
    printf("\n");
    fflush(stdout);
    fprintf(stderr, "%d prompt tokens, %d generated in %.2f s (%s)\n", res.n_prompt, res.n_generated, dt,
            why[res.stop]);
    rc = 0;
done:
    free(text);
    free(tok);
    return rc;
}

int cmd_lm(int argc, char **argv)
{
    if (argc < 1 || strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0) {
        lm_usage(argc < 1 ? stderr : stdout);
        return argc < 1 ? 2 : 0;
    }
    const char *sub = argv[0], *lm_path = NULL, *file = NULL;
    gen_args ga = {0};
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
            ga.prompt = argv[++i];
        else if (strcmp(argv[i], "--system") == 0 && i + 1 < argc)
            ga.system = argv[++i];
        else if (strcmp(argv[i], "--chat") == 0)
            ga.chat = true;
        else if (strcmp(argv[i], "--template") == 0 && i + 1 < argc)
            ga.tmpl = argv[++i];
        else if (strcmp(argv[i], "--stop") == 0 && i + 1 < argc && ga.n_stop < 16)
            ga.stop[ga.n_stop++] = argv[++i];
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
    if (strcmp(sub, "generate") == 0 && !ga.prompt) {
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
        sori_lm_generate_params gp = sori_lm_generate_default_params();
        gp.sampling = (sori_lm_sampling){temperature, top_k, top_p};
        gp.seed = (uint64_t)seed;
        gp.max_tokens = max_tokens;
        rc = generate(lm, s, sp.n_ctx, &ga, &gp);
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
