/* sori text: the Korean text layer from the command line.
 *   sori text redact [--partial] [--format text|json] [TEXT]...
 *       each line with its personal data masked ([전화번호] …); json: the
 *       line, the masked text and the spans (category, bytes) as one JSON
 *       object per line
 *   sori text normalize [--zero gong|yeong] [TEXT]...
 *       each line as it is said: digits, signs, units and Latin letters in
 *       Hangul (sori_tn); --zero yeong reads zeros one by one as 영
 *   sori text g2p [--raw] [TEXT]...
 *       the standard pronunciation of each TEXT, or of each line of standard
 *       input when none is given: one output line per input line (a line
 *       that cannot be read, e.g. invalid UTF-8, gives an empty line, an
 *       error on stderr and exit status 1); normalized first (digits, signs
 *       and Latin letters as said: 10월 → 시월), unless --raw
 *   sori text ipa [--pronounced] [TEXT]...
 *       each line in IPA as the Kokoro voice reads it: normalize, g2p, then
 *       the Korean → IPA table (sori_ko_ipa); --pronounced: the input is
 *       already Hangul as said (g2p's output), only the table runs
 *   sori text uroman [--raw] [TEXT]...
 *       each line romanized as uroman does (what MMS-TTS voices read),
 *       normalized first (digits, signs, Hanja in Hangul) unless --raw
 *   sori text moderate [--model FILE] [--format text|json] [TEXT]...
 *       abusive speech: "ok" or the category (profanity, insult, threat,
 *       hate), a tab and its score; json: every category's score */
#define _POSIX_C_SOURCE 200809L
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "sori/text.h"

static void text_usage(FILE *f)
{
    fprintf(f, "usage: sori text g2p [--raw] [TEXT]...\n"
               "       sori text ipa [--pronounced] [TEXT]...\n"
               "       sori text uroman [--raw] [TEXT]...\n"
               "       sori text normalize [--zero gong|yeong] [TEXT]...\n"
               "       sori text itn [--options LIST] [TEXT]...\n"
               "       sori text redact [--partial] [--format text|json] [TEXT]...\n"
               "       sori text moderate [--model FILE] [--format text|json] [TEXT]...\n"
               "(no TEXT: the lines of standard input; one output line per input line)\n");
}

/* A text-to-text function of sori/text.h with flags */
typedef sori_status (*text_fn)(const char *, size_t, unsigned, char *, size_t, size_t *, sori_error *);

enum { IPA_PRONOUNCED = 1, G2P_RAW = 1 };

/* *buf (kept between lines, *cap bytes) grown to at least need bytes; false when out of memory */
static bool grow(char **buf, size_t *cap, size_t need)
{
    if (*cap >= need)
        return true;
    char *p = realloc(*buf, need);
    if (!p)
        return false;
    *buf = p, *cap = need;
    return true;
}

static sori_status no_memory(sori_error *e)
{
    if (e)
        snprintf(e->message, sizeof e->message, "out of memory");
    return SORI_ERR_NO_MEMORY;
}

/* normalize → g2p, into o (cap c) through a buffer kept between lines; *l the length */
static sori_status said_fn(const char *t, size_t n, char *o, size_t c, size_t *l, sori_error *e)
{
    static char *tn;
    static size_t cap;
    if (!grow(&tn, &cap, 16 * n + 64 + 1)) /* sori_tn's bound */
        return no_memory(e);
    size_t k = 0;
    const sori_status st = sori_tn(t, n, 0, tn, cap, &k, e);
    return st == SORI_OK ? sori_g2p(tn, k, o, c, l, e) : st;
}

static sori_status g2p_fn(const char *t, size_t n, unsigned flags, char *o, size_t c, size_t *l, sori_error *e)
{
    return (flags & G2P_RAW) ? sori_g2p(t, n, o, c, l, e) : said_fn(t, n, o, c, l, e);
}

/* normalize → g2p → Korean IPA (IPA_PRONOUNCED: the table alone), in a buffer kept between lines */
static sori_status ipa_fn(const char *t, size_t n, unsigned flags, char *o, size_t c, size_t *l, sori_error *e)
{
    if (flags & IPA_PRONOUNCED)
        return sori_ko_ipa(t, n, o, c, l, e);
    static char *pron;
    static size_t cap;
    if (!grow(&pron, &cap, 16 * n + 64 + 1))
        return no_memory(e);
    size_t m = 0;
    const sori_status st = said_fn(t, n, pron, cap, &m, e);
    return st == SORI_OK ? sori_ko_ipa(pron, m, o, c, l, e) : st;
}

/* normalize → uroman (G2P_RAW: uroman alone), in a buffer kept between lines */
static sori_status uroman_fn(const char *t, size_t n, unsigned flags, char *o, size_t c, size_t *l, sori_error *e)
{
    if (flags & G2P_RAW)
        return sori_ko_uroman(t, n, o, c, l, e);
    static char *norm;
    static size_t cap;
    if (!grow(&norm, &cap, 16 * n + 64 + 1))
        return no_memory(e);
    size_t m = 0;
    const sori_status st = sori_tn(t, n, 0, norm, cap, &m, e);
    return st == SORI_OK ? sori_ko_uroman(norm, m, o, c, l, e) : st;
}

/* One line through fn to stdout, in a buffer of factor * len + 64 bytes (each function's stated
 * bound) kept between lines; 0 on success, 1 (an empty line out, the reason on stderr) when the
 * line cannot be read. */
static int text_line(const char *name, text_fn fn, size_t factor, const char *line, size_t len, long lineno,
                     unsigned flags)
{
    static char *out;
    static size_t cap;
    if (!grow(&out, &cap, factor * len + 64)) {
        fprintf(stderr, "sori text %s: out of memory\n", name);
        return 1;
    }
    size_t n = 0;
    sori_error err = {0};
    if (fn(line, len, flags, out, cap, &n, &err) != SORI_OK) {
        fprintf(stderr, "sori text %s: line %ld: %s\n", name, lineno, err.message);
        putchar('\n');
        return 1;
    }
    fwrite(out, 1, n, stdout);
    putchar('\n');
    return 0;
}

static void json_string(const char *s, size_t n)
{
    putchar('"');
    for (size_t i = 0; i < n; i++) {
        const unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

static int redact_line(const char *line, size_t len, long lineno, bool partial, bool json)
{
    static char *out;
    static size_t cap;
    static sori_pii_span spans[256];
    if (!grow(&out, &cap, 8 * len + 64)) { /* a mask is at most 21 bytes for a digit of 1 */
        fprintf(stderr, "sori text redact: out of memory\n");
        return 1;
    }
    size_t n = 0;
    int ns = 0;
    sori_error err = {0};
    if (sori_redact(line, len, partial, out, cap, &n, spans, 256, &ns, &err) != SORI_OK) {
        fprintf(stderr, "sori text redact: line %ld: %s\n", lineno, err.message);
        putchar('\n');
        return 1;
    }
    if (!json) {
        fwrite(out, 1, n, stdout);
        putchar('\n');
        return 0;
    }
    printf("{\"text\": ");
    json_string(line, len);
    printf(", \"redacted\": ");
    json_string(out, n);
    printf(", \"spans\": [");
    for (int i = 0; i < ns; i++)
        printf("%s{\"category\": \"%s\", \"begin\": %zu, \"end\": %zu}", i ? ", " : "", sori_pii_name(spans[i].kind),
               spans[i].begin, spans[i].end);
    printf("]}\n");
    return 0;
}

/* ---- sori text moderate ---- */

/* Each TEXT argument from argv[first] on, or else each line of standard input (its \n and
 * \r cut), through line(ctx, text, len, lineno); the OR of what line returned. Standard output
 * is line-buffered meanwhile: a line out for each line in, as it comes (a pipe's other end
 * waits for it). */
typedef int (*line_fn)(void *ctx, const char *line, size_t len, long lineno);

static int each_line(int argc, char **argv, int first, line_fn line_cb, void *ctx)
{
    int bad = 0;
    if (argc > first) {
        for (int i = first; i < argc; i++)
            bad |= line_cb(ctx, argv[i], strlen(argv[i]), i - first + 1);
        return bad;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    long lineno = 0;
    while ((n = getline(&line, &cap, stdin)) >= 0) {
        lineno++;
        if (n > 0 && line[n - 1] == '\n')
            line[--n] = 0;
        if (n > 0 && line[n - 1] == '\r')
            line[--n] = 0;
        bad |= line_cb(ctx, line, (size_t)n, lineno);
    }
    free(line);
    return bad;
}

/* one line's label and score (json: every category's score) */
static int moderate_line(const sori_moderator *m, const char *line, size_t len, long lineno, bool json)
{
    sori_moderation r;
    sori_error err = {0};
    if (sori_moderate(m, line, len, &r, &err) != SORI_OK) {
        fprintf(stderr, "sori text moderate: line %ld: %s\n", lineno, err.message);
        putchar('\n');
        return 1;
    }
    if (!json) {
        printf("%s\t%.4f\n", sori_abuse_name(r.label), (double)r.score);
        return 0;
    }
    printf("{\"text\": ");
    json_string(line, len);
    printf(", \"label\": \"%s\", \"score\": %.4f, \"scores\": {", sori_abuse_name(r.label), (double)r.score);
    for (int k = 1; k < SORI_ABUSE_N_KINDS; k++)
        printf("%s\"%s\": %.4f", k > 1 ? ", " : "", sori_abuse_name((sori_abuse_kind)k), (double)r.scores[k]);
    printf("}}\n");
    return 0;
}

struct moderate_ctx {
    const sori_moderator *m;
    bool json;
};

static int moderate_cb(void *ctx, const char *line, size_t len, long lineno)
{
    const struct moderate_ctx *c = ctx;
    return moderate_line(c->m, line, len, lineno, c->json);
}

static int moderate_main(int argc, char **argv)
{
    const char *model = NULL;
    bool json = false;
    int first = 1;
    for (; first < argc && argv[first][0] == '-' && argv[first][1] == '-'; first++) {
        if (strcmp(argv[first], "--model") == 0 && first + 1 < argc) {
            model = argv[++first];
        } else if (strcmp(argv[first], "--format") == 0 && first + 1 < argc &&
                   (strcmp(argv[first + 1], "json") == 0 || strcmp(argv[first + 1], "text") == 0)) {
            json = strcmp(argv[++first], "json") == 0;
        } else {
            fprintf(stderr, "sori text moderate: bad option '%s'\n", argv[first]);
            text_usage(stderr);
            return 2;
        }
    }
    char mbuf[4096];
    if (!model && !(model = app_bundled("ko-moderate.gguf", mbuf, sizeof mbuf))) {
        fprintf(stderr, "sori text moderate: no model (data/ko-moderate.gguf is neither in the source tree nor "
                        "installed): give --model FILE\n");
        return 2;
    }
    sori_moderator *m = NULL;
    sori_error err = {0};
    if (sori_moderator_load(model, &m, &err) != SORI_OK) {
        fprintf(stderr, "sori text moderate: %s\n", err.message);
        return 2;
    }
    struct moderate_ctx c = {m, json};
    const int bad = each_line(argc, argv, first, moderate_cb, &c);
    sori_moderator_free(m);
    return bad;
}

struct text_ctx {
    const char *name;
    text_fn fn;
    size_t factor;
    unsigned flags;
    bool redact, partial, json;
};

static int text_cb(void *ctx, const char *line, size_t len, long lineno)
{
    const struct text_ctx *c = ctx;
    return c->redact ? redact_line(line, len, lineno, c->partial, c->json)
                     : text_line(c->name, c->fn, c->factor, line, len, lineno, c->flags);
}

int cmd_text(int argc, char **argv)
{
    if (argc < 1 || strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0) {
        text_usage(argc < 1 ? stderr : stdout);
        return argc < 1 ? 2 : 0;
    }
    if (strcmp(argv[0], "moderate") == 0)
        return moderate_main(argc, argv);
    const bool redact = strcmp(argv[0], "redact") == 0, itn = strcmp(argv[0], "itn") == 0,
               norm = strcmp(argv[0], "normalize") == 0, ipa = strcmp(argv[0], "ipa") == 0,
               urom = strcmp(argv[0], "uroman") == 0;
    if (strcmp(argv[0], "g2p") != 0 && !redact && !itn && !norm && !ipa && !urom) {
        fprintf(stderr, "sori text: unknown subcommand '%s'\n", argv[0]);
        text_usage(stderr);
        return 2;
    }
    bool partial = false, json = false;
    unsigned tn_flags = 0, itn_flags = 0, ipa_flags = 0, g2p_flags = 0;
    const bool g2p = !redact && !itn && !norm && !ipa && !urom;
    int first = 1;
    for (; itn && first < argc && argv[first][0] == '-' && argv[first][1] == '-'; first++) {
        sori_error oe = {0};
        if (strcmp(argv[first], "--options") != 0 || first + 1 >= argc ||
            sori_itn_parse_options(argv[++first], &itn_flags, &oe) != SORI_OK) {
            fprintf(stderr, "sori text itn: %s\n", oe.message[0] ? oe.message : "bad option");
            text_usage(stderr);
            return 2;
        }
    }
    for (; norm && first < argc && argv[first][0] == '-' && argv[first][1] == '-'; first++) {
        if (strcmp(argv[first], "--zero") == 0 && first + 1 < argc &&
            (strcmp(argv[first + 1], "gong") == 0 || strcmp(argv[first + 1], "yeong") == 0)) {
            tn_flags = strcmp(argv[++first], "yeong") == 0 ? SORI_TN_ZERO_YEONG : 0;
        } else {
            fprintf(stderr, "sori text normalize: bad option '%s'\n", argv[first]);
            text_usage(stderr);
            return 2;
        }
    }
    for (; ipa && first < argc && argv[first][0] == '-' && argv[first][1] == '-'; first++) {
        if (strcmp(argv[first], "--pronounced") == 0) {
            ipa_flags = IPA_PRONOUNCED;
        } else {
            fprintf(stderr, "sori text ipa: bad option '%s'\n", argv[first]);
            text_usage(stderr);
            return 2;
        }
    }
    for (; (g2p || urom) && first < argc && argv[first][0] == '-' && argv[first][1] == '-'; first++) {
        if (strcmp(argv[first], "--raw") == 0) {
            g2p_flags = G2P_RAW;
        } else {
            fprintf(stderr, "sori text %s: bad option '%s'\n", argv[0], argv[first]);
            text_usage(stderr);
            return 2;
        }
    }
    for (; redact && first < argc && argv[first][0] == '-' && argv[first][1] == '-'; first++) {
        if (strcmp(argv[first], "--partial") == 0) {
            partial = true;
        } else if (strcmp(argv[first], "--format") == 0 && first + 1 < argc &&
                   (strcmp(argv[first + 1], "json") == 0 || strcmp(argv[first + 1], "text") == 0)) {
            json = strcmp(argv[++first], "json") == 0;
        } else {
            fprintf(stderr, "sori text redact: bad option '%s'\n", argv[first]);
            text_usage(stderr);
            return 2;
        }
    }
    /* normalize, itn, g2p and ipa: one function each, with its flags and its output bound (g2p: as
     * normalize's, 16 bytes out per byte in, 1 with --raw; ipa: 3 per byte after normalize's 16) */
    const text_fn fn = norm ? sori_tn : itn ? sori_itn_with : ipa ? ipa_fn : urom ? uroman_fn : g2p_fn;
    const size_t factor = norm ? 16 : itn ? 2 : ipa ? 48 : urom ? (g2p_flags ? 3 : 48) : g2p_flags ? 1 : 16;
    const unsigned flags = norm ? tn_flags : itn ? itn_flags : ipa ? ipa_flags : g2p_flags;
    struct text_ctx c = {argv[0], fn, factor, flags, redact, partial, json};
    return each_line(argc, argv, first, text_cb, &c);
}
