/* Abusive-speech detection (sori_moderate): parity of the C scores with the
 * Python trainer's on committed cases (tests/fixtures/moderate, made by
 * tools/moderate/gen_fixtures.py with a tiny model), bad input, bad model
 * files, no heap growth over many calls, four threads on one model, and
 * the labels of a few clear cases with the bundled model
 * (data/ko-moderate.gguf; absent: those are skipped and the test exits 77
 * after the rest). */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "heap.h"
#include "gguf_edit.h"
#include "sori/text.h"

#define FIX SORI_FIXTURE_DIR "/moderate"
/* Both sides sum the same f16 weights, in double here and float64 in numpy
 * (in another order): the scores differ by rounding only. */
#define TOL 1e-5

static void *read_file(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    void *p = malloc((size_t)sz + 1);
    *n = p ? fread(p, 1, (size_t)sz, f) : 0;
    fclose(f);
    return p;
}

/* Undoes gen_fixtures.py's escapes in place; the new length. */
static size_t unescape(char *s, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\\' && i + 1 < n) {
            const char c = s[++i];
            s[o++] = c == 't' ? '\t' : c == 'n' ? '\n' : c == 'r' ? '\r' : c == '0' ? '\0' : c;
        } else {
            s[o++] = s[i];
        }
    }
    return o;
}

static sori_abuse_kind kind_of(const char *name)
{
    for (int k = 0; k < SORI_ABUSE_N_KINDS; k++)
        if (strcmp(name, sori_abuse_name((sori_abuse_kind)k)) == 0)
            return (sori_abuse_kind)k;
    return (sori_abuse_kind)-1;
}

static void test_parity(const sori_moderator *m)
{
    FILE *f = fopen(FIX "/cases.tsv", "r");
    CHECK(f != NULL, "cannot open " FIX "/cases.tsv");
    if (!f)
        return;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int cases = 0;
    double worst = 0;
    for (long lineno = 1; (n = getline(&line, &cap, f)) > 0; lineno++) {
        if (lineno == 1) /* the header */
            continue;
        if (line[n - 1] == '\n')
            line[--n] = 0;
        char *tab = memchr(line, '\t', (size_t)n);
        CHECK(tab != NULL, "a case without a tab");
        if (!tab)
            break;
        const size_t len = unescape(line, (size_t)(tab - line));
        char *rest = tab + 1, *label = strtok(rest, "\t");
        double want[4];
        for (int k = 0; k < 4; k++) {
            const char *v = strtok(NULL, "\t");
            want[k] = v ? atof(v) : -1;
        }
        sori_moderation r;
        sori_error err = {0};
        CHECK_STATUS(sori_moderate(m, line, len, &r, &err), SORI_OK);
        bool near_threshold = false;
        for (int k = 0; k < 4; k++) {
            const double d = fabs(r.scores[k + 1] - want[k]);
            worst = d > worst ? d : worst;
            CHECK(d <= TOL, "case %d category %s: C %.9f, Python %.9f", cases + 1,
                  sori_abuse_name((sori_abuse_kind)(k + 1)), r.scores[k + 1], want[k]);
            near_threshold |= fabs(want[k] - sori_moderator_threshold(m, (sori_abuse_kind)(k + 1))) < TOL;
        }
        CHECK(r.label == kind_of(label) || near_threshold, "case %d: label %s, Python %s", cases + 1,
              sori_abuse_name(r.label), label);
        cases++;
    }
    free(line);
    fclose(f);
    CHECK(cases >= 50, "only %d cases", cases);
    printf("parity: %d cases, largest score difference %.2e (tolerance %.0e)\n", cases, worst, TOL);
}

static void test_bad_input(const sori_moderator *m)
{
    sori_moderation r = {.label = SORI_ABUSE_THREAT, .score = -7};
    sori_error err = {0};
    const char bad[][8] = {"\xff", "\xc0\xaf", "\xe0\x80\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xea\xb0",
                           "\x80", "a\xf0\x9f\x98"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK_STATUS(sori_moderate(m, bad[i], strlen(bad[i]), &r, &err), SORI_ERR_INVALID_ARG);
        CHECK(strstr(err.message, "invalid UTF-8") != NULL, "message: %s", err.message);
    }
    CHECK(r.label == SORI_ABUSE_THREAT && r.score == -7, "out written on an error");
    const char mid[] = "안녕하세요 \xff 반가워요";
    CHECK_STATUS(sori_moderate(m, mid, strlen(mid), &r, &err), SORI_ERR_INVALID_ARG);
    CHECK(strstr(err.message, "byte 16") != NULL, "offset in: %s", err.message);

    CHECK_STATUS(sori_moderate(NULL, "a", 1, &r, &err), SORI_ERR_INVALID_ARG);
    CHECK_STATUS(sori_moderate(m, "a", 1, NULL, &err), SORI_ERR_INVALID_ARG);
    CHECK_STATUS(sori_moderate(m, NULL, 1, &r, &err), SORI_ERR_INVALID_ARG);
    CHECK_STATUS(sori_moderate(m, NULL, 0, &r, NULL), SORI_OK);
    CHECK(r.label == SORI_ABUSE_NONE || r.label == SORI_ABUSE_INSULT, "empty text: %d", r.label);
    sori_moderation e2;
    CHECK_STATUS(sori_moderate(m, "   \t ", 5, &e2, NULL), SORI_OK);
    CHECK(e2.scores[2] == r.scores[2], "whitespace only scores as empty");

    /* 100 kB of text: any length is scored, in order. */
    const size_t big = 100 * 1024;
    char *s = malloc(big);
    for (size_t i = 0; i + 3 <= big; i += 3)
        memcpy(s + i, "욕", 3);
    s[big - 1] = ' ';
    CHECK_STATUS(sori_moderate(m, s, big, &r, &err), SORI_OK);
    CHECK(r.score >= 0 && r.score <= 1, "score %g", r.score);
    s[big / 2] = (char)0xff;
    CHECK_STATUS(sori_moderate(m, s, big, &r, &err), SORI_ERR_INVALID_ARG);
    free(s);

    CHECK(strcmp(sori_abuse_name(SORI_ABUSE_NONE), "ok") == 0 && strcmp(sori_abuse_name(SORI_ABUSE_HATE), "hate") == 0,
          "names");
    CHECK(sori_abuse_name((sori_abuse_kind)5) == NULL && sori_abuse_name((sori_abuse_kind)-1) == NULL, "names");
    CHECK(sori_moderator_threshold(m, SORI_ABUSE_NONE) < 0 && sori_moderator_threshold(NULL, SORI_ABUSE_HATE) < 0,
          "threshold of none");
    CHECK(sori_moderator_threshold(m, SORI_ABUSE_INSULT) == 0.5f, "the fixture's thresholds are 0.5");
}

static void expect_load(const void *data, size_t n, sori_status want, const char *words, const char *what)
{
    sori_moderator *m = NULL;
    sori_error err = {0};
    CHECK_STATUS(sori_moderator_load_memory(data, n, &m, &err), want);
    CHECK(m == NULL, "%s: a model came back", what);
    CHECK(strstr(err.message, words) != NULL, "%s: message '%s' lacks '%s'", what, err.message, words);
    sori_moderator_free(m);
}

static void test_bad_models(const void *data, size_t n)
{
    sori_moderator *m = NULL;
    sori_error err = {0};
    CHECK_STATUS(sori_moderator_load("/nonexistent/ko-moderate.gguf", &m, &err), SORI_ERR_IO);
    CHECK_STATUS(sori_moderator_load(NULL, &m, &err), SORI_ERR_INVALID_ARG);
    CHECK_STATUS(sori_moderator_load(FIX "/tiny.gguf", NULL, &err), SORI_ERR_INVALID_ARG);
    CHECK_STATUS(sori_moderator_load(SORI_FIXTURE_DIR "/pywriter.gguf", &m, &err), SORI_ERR_UNSUPPORTED);
    CHECK(strstr(err.message, "not sori.moderate") != NULL, "%s", err.message);
    sori_moderator_free(NULL);

    /* truncated anywhere: refused, never a crash */
    for (size_t cut = 0; cut < n; cut += cut < 4096 ? 97 : 4099) {
        sori_moderator *t = NULL;
        const sori_status st = sori_moderator_load_memory(data, cut, &t, &err);
        CHECK(st == SORI_ERR_FORMAT && t == NULL, "cut at %zu: status %d", cut, st);
    }
    /* hostile values */
    struct {
        gguf_edit e;
        sori_status want;
        const char *words;
    } cases[] = {
        {{.kind = GGUF_EDIT_INT, .name = "sori.moderate.n_buckets", .i = 1000}, SORI_ERR_FORMAT, "n_buckets"},
        {{.kind = GGUF_EDIT_INT, .name = "sori.moderate.n_buckets", .i = 0}, SORI_ERR_FORMAT, "n_buckets"},
        {{.kind = GGUF_EDIT_INT, .name = "sori.moderate.n_max", .i = 99}, SORI_ERR_FORMAT, "n_max"},
        {{.kind = GGUF_EDIT_INT, .name = "sori.moderate.n_min", .i = 0}, SORI_ERR_FORMAT, "n_min"},
        {{.kind = GGUF_EDIT_REMOVE, .name = "sori.moderate.max_run"}, SORI_ERR_FORMAT, "max_run is missing"},
        {{.kind = GGUF_EDIT_STR, .name = "sori.moderate.hash", .s = "murmur3"}, SORI_ERR_UNSUPPORTED, "hash"},
        {{.kind = GGUF_EDIT_STR, .name = "general.architecture", .s = "llama"}, SORI_ERR_UNSUPPORTED, "llama"},
        {{.kind = GGUF_EDIT_REMOVE, .name = "sori.moderate.thresholds"}, SORI_ERR_FORMAT, "thresholds"},
        {{.kind = GGUF_EDIT_REMOVE, .name = "sori.moderate.categories"}, SORI_ERR_FORMAT, "categories"},
        {{.kind = GGUF_EDIT_DROP, .name = "moderate.bias"}, SORI_ERR_FORMAT, "moderate.bias: missing"},
        {{.kind = GGUF_EDIT_DROP, .name = "moderate.weight"}, SORI_ERR_FORMAT, "moderate.weight: missing"},
        {{.kind = GGUF_EDIT_SHAPE, .name = "moderate.weight", .n_dims = 2, .ne = {4, 2048}}, SORI_ERR_FORMAT,
         "moderate.weight: wrong shape"},
        {{.kind = GGUF_EDIT_SHAPE, .name = "moderate.weight", .n_dims = 2, .ne = {3, 4096}}, SORI_ERR_FORMAT,
         "moderate.weight: wrong shape"},
        {{.kind = GGUF_EDIT_SHAPE, .name = "moderate.bias", .n_dims = 1, .ne = {5}}, SORI_ERR_FORMAT,
         "moderate.bias: wrong shape"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        void *out = NULL;
        size_t on = 0;
        CHECK_STATUS(gguf_edit_apply(data, n, &cases[i].e, 1, &out, &on), SORI_OK);
        if (out)
            expect_load(out, on, cases[i].want, cases[i].words, cases[i].e.name);
        free(out);
    }
}

static void test_heap(const sori_moderator *m)
{
#ifdef HAVE_HEAP_COUNT
    sori_moderation r;
    const char *t = "이 병신 같은 새끼야 ㅋㅋㅋㅋㅋ HELLO 123";
    sori_moderate(m, t, strlen(t), &r, NULL);
    const size_t before = heap_in_use();
    for (int i = 0; i < 1000; i++)
        sori_moderate(m, t, strlen(t), &r, NULL);
    CHECK(heap_in_use() == before, "heap grew by %zu bytes over 1000 calls", heap_in_use() - before);
#else
    (void)m;
    printf("heap: not counted under a sanitizer\n");
#endif
}

/* One shared model, four threads at once: each gets what one thread alone gets. */
typedef struct {
    const sori_moderator *m;
    int mismatches;
} thread_arg;

static const char *const THREAD_TEXTS[] = {"안녕하세요", "이 병신 같은 새끼야", "너 죽여버린다 ㅋㅋㅋㅋ",
                                           "HELLO 123", "전라도 놈들은 다 똑같아"};
enum { N_THREAD_TEXTS = sizeof THREAD_TEXTS / sizeof THREAD_TEXTS[0] };
static sori_moderation g_alone[N_THREAD_TEXTS];

static void *thread_main(void *p)
{
    thread_arg *a = p;
    for (int it = 0; it < 2000; it++) {
        const int i = it % N_THREAD_TEXTS;
        sori_moderation r;
        if (sori_moderate(a->m, THREAD_TEXTS[i], strlen(THREAD_TEXTS[i]), &r, NULL) != SORI_OK ||
            memcmp(&r, &g_alone[i], sizeof r) != 0)
            a->mismatches++;
    }
    return NULL;
}

static void test_threads(const sori_moderator *m)
{
    for (int i = 0; i < N_THREAD_TEXTS; i++)
        sori_moderate(m, THREAD_TEXTS[i], strlen(THREAD_TEXTS[i]), &g_alone[i], NULL);
    pthread_t t[4];
    thread_arg a[4];
    for (int i = 0; i < 4; i++) {
        a[i] = (thread_arg){.m = m};
        CHECK(pthread_create(&t[i], NULL, thread_main, &a[i]) == 0, "pthread_create");
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        CHECK(a[i].mismatches == 0, "thread %d: %d results differ from one thread's", i, a[i].mismatches);
    }
}

/* The bundled model on a few clear cases; false when it is absent. */
static bool test_bundled(void)
{
    sori_moderator *m = NULL;
    sori_error err = {0};
    const sori_status st = sori_moderator_load(SORI_SOURCE_DATA_DIR "/ko-moderate.gguf", &m, &err);
    if (st == SORI_ERR_IO) {
        printf("SKIP part: %s\n", err.message);
        return false;
    }
    CHECK_STATUS(st, SORI_OK);
    if (!m)
        return true;
    static const struct {
        const char *text;
        sori_abuse_kind want;
    } clear[] = {
        {"안녕하세요 무엇을 도와드릴까요", SORI_ABUSE_NONE},
        {"고객님 감사합니다 좋은 하루 되세요", SORI_ABUSE_NONE},
        {"배송이 언제쯤 도착하나요", SORI_ABUSE_NONE},
        {"이 병신 같은 새끼야", SORI_ABUSE_INSULT},
        {"너 죽여버린다", SORI_ABUSE_THREAT},
        {"너희 집 찾아가서 가만 안 둔다", SORI_ABUSE_THREAT},
        {"여자들은 집에서 애나 봐라", SORI_ABUSE_HATE},
        {"전라도 놈들은 다 똑같아", SORI_ABUSE_HATE},
    };
    for (size_t i = 0; i < sizeof clear / sizeof clear[0]; i++) {
        sori_moderation r;
        CHECK_STATUS(sori_moderate(m, clear[i].text, strlen(clear[i].text), &r, &err), SORI_OK);
        CHECK(r.label == clear[i].want, "'%s': %s %.3f, expected %s", clear[i].text, sori_abuse_name(r.label),
              r.score, sori_abuse_name(clear[i].want));
    }
    sori_moderator_free(m);
    return true;
}

int main(void)
{
    size_t n = 0;
    void *data = read_file(FIX "/tiny.gguf", &n);
    CHECK(data != NULL, "cannot read " FIX "/tiny.gguf");
    if (!data)
        return check_finish("test_moderate");
    sori_moderator *m = NULL;
    sori_error err = {0};
    CHECK_STATUS(sori_moderator_load(FIX "/tiny.gguf", &m, &err), SORI_OK);
    if (m) {
        test_parity(m);
        test_bad_input(m);
        test_heap(m);
        test_threads(m);
    }
    test_bad_models(data, n);
    sori_moderator_free(m);
    free(data);
    const bool bundled = test_bundled();
    const int rc = check_finish("test_moderate");
    return rc == 0 && !bundled ? 77 : rc;
}
