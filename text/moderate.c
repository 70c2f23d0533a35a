/* Abusive-speech detection (sori/text.h): hashed character n-grams and one
 * logistic regression per category, trained by tools/moderate/train.py.
 *
 * The features must be exactly those of tools/moderate/features.py (the
 * parity test, tests/test_moderate.c, compares the two on committed
 * cases). The text, as code points:
 *   1. ASCII A-Z lowercased, ASCII digits made '0';
 *   2. whitespace (U+0009-U+000D, U+0020, U+00A0, U+3000) a space, runs of
 *      spaces one space, none at either end;
 *   3. a code point equal to the three before it dropped (ㅋㅋㅋㅋ -> ㅋㅋㅋ);
 *   4. one space before and after, if anything is left.
 * Every window of n code points (n_min..n_max) is an n-gram; its bucket is
 * FNV-1a (32 bit) over the byte n and each code point as 4 little-endian
 * bytes, masked to n_buckets. With N n-grams in all, category c's score is
 * sigmoid(bias[c] + sum over n-grams of weight[bucket][c] / sqrt(N)) — the
 * bucket counts scaled by 1/sqrt(N), as the trainer's feature vector is.
 * This runs as one pass over the bytes with the last n_max code points in a
 * small window: nothing is allocated per call. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/gguf.h"
#include "kernels/kernels.h"
#include "sori/text.h"

enum { N_CAT = 4, MAX_N = 8 };

/* The categories' names in the file, in the order of sori_abuse_kind from 1. */
static const char *const CAT_NAMES[N_CAT] = {"profanity", "insult", "threat", "hate"};
static const char *const KIND_NAMES[SORI_ABUSE_N_KINDS] = {"ok", "profanity", "insult", "threat", "hate"};

#define HASH_NAME "fnv1a32-n-cp32le"
#define FNV_OFFSET 2166136261u
#define FNV_PRIME 16777619u

struct sori_moderator {
    uint32_t mask;           /* n_buckets - 1 */
    int n_min, n_max, max_run;
    float *w;                /* [n_buckets][N_CAT], category index = kind - 1 */
    float bias[N_CAT];
    float thr[N_CAT];
    int severity[N_CAT];     /* category indices, most severe first */
};

const char *sori_abuse_name(sori_abuse_kind kind)
{
    return (unsigned)kind < SORI_ABUSE_N_KINDS ? KIND_NAMES[kind] : NULL;
}

float sori_moderator_threshold(const sori_moderator *m, sori_abuse_kind kind)
{
    if (!m || kind <= SORI_ABUSE_NONE || kind >= SORI_ABUSE_N_KINDS)
        return -1.0f;
    return m->thr[kind - 1];
}

void sori_moderator_free(sori_moderator *m)
{
    if (!m)
        return;
    free(m->w);
    free(m);
}

/* ---- loading ---- */

static int cat_index(const char *name)
{
    for (int i = 0; i < N_CAT; i++)
        if (strcmp(name, CAT_NAMES[i]) == 0)
            return i;
    return -1;
}

static sori_status get_int_in(const sori_gguf *g, const char *path, const char *key, int64_t lo, int64_t hi,
                              int64_t *v, sori_error *err)
{
    sori_status st = sori_gguf_get_int(g, key, v);
    if (st != SORI_OK)
        return sori_fail(err, SORI_ERR_FORMAT, 0, "%s: %s %s", path, key,
                         st == SORI_ERR_NOT_FOUND ? "is missing" : "is not an integer");
    if (*v < lo || *v > hi)
        return sori_fail(err, SORI_ERR_FORMAT, 0, "%s: %s = %lld is outside [%lld, %lld]", path, key, (long long)*v,
                         (long long)lo, (long long)hi);
    return SORI_OK;
}

/* A string array of exactly the four category names, each once: its order
 * as category indices into idx. */
static sori_status get_cat_list(const sori_gguf *g, const char *path, const char *key, int idx[N_CAT],
                                sori_error *err)
{
    sori_gguf_type et;
    uint64_t n = 0;
    if (sori_gguf_get_arr_info(g, key, &et, &n) != SORI_OK || et != SORI_GGUF_STRING || n != N_CAT)
        return sori_fail(err, SORI_ERR_FORMAT, 0, "%s: %s must be an array of the %d category names", path, key,
                         N_CAT);
    int seen = 0;
    for (int i = 0; i < N_CAT; i++) {
        const char *s = NULL;
        int k = sori_gguf_get_arr_str(g, key, (uint64_t)i, &s) == SORI_OK ? cat_index(s) : -1;
        if (k < 0 || (seen & (1 << k)))
            return sori_fail(err, SORI_ERR_FORMAT, 0, "%s: %s[%d] '%.40s' is not a category or repeats one", path,
                             key, i, s ? s : "");
        seen |= 1 << k;
        idx[i] = k;
    }
    return SORI_OK;
}

static sori_status load_from(const sori_gguf *g, const char *path, sori_moderator **out, sori_error *err)
{
    const char *s = "";
    sori_gguf_get_str(g, "general.architecture", &s);
    if (strcmp(s, "sori.moderate") != 0)
        return sori_fail(err, SORI_ERR_UNSUPPORTED, 0, "%s: architecture '%.40s' is not sori.moderate", path, s);
    s = "";
    if (sori_gguf_get_str(g, "sori.moderate.hash", &s) != SORI_OK || strcmp(s, HASH_NAME) != 0)
        return sori_fail(err, SORI_ERR_UNSUPPORTED, 0, "%s: sori.moderate.hash '%.40s' is not " HASH_NAME, path, s);

    int64_t nb, n_min, n_max, max_run;
    sori_status st;
    if ((st = get_int_in(g, path, "sori.moderate.n_buckets", 16, 1 << 24, &nb, err)) != SORI_OK ||
        (st = get_int_in(g, path, "sori.moderate.n_min", 1, MAX_N, &n_min, err)) != SORI_OK ||
        (st = get_int_in(g, path, "sori.moderate.n_max", n_min, MAX_N, &n_max, err)) != SORI_OK ||
        (st = get_int_in(g, path, "sori.moderate.max_run", 1, 64, &max_run, err)) != SORI_OK)
        return st;
    if (nb & (nb - 1))
        return sori_fail(err, SORI_ERR_FORMAT, 0, "%s: sori.moderate.n_buckets = %lld is not a power of two", path,
                         (long long)nb);

    int order[N_CAT], severity[N_CAT];
    if ((st = get_cat_list(g, path, "sori.moderate.categories", order, err)) != SORI_OK ||
        (st = get_cat_list(g, path, "sori.moderate.severity", severity, err)) != SORI_OK)
        return st;

    sori_gguf_type et;
    uint64_t n = 0;
    float thr[N_CAT];
    if (sori_gguf_get_arr_info(g, "sori.moderate.thresholds", &et, &n) != SORI_OK || n != N_CAT ||
        sori_gguf_get_arr_f32(g, "sori.moderate.thresholds", thr, N_CAT) != SORI_OK)
        return sori_fail(err, SORI_ERR_FORMAT, 0, "%s: sori.moderate.thresholds must be %d numbers", path, N_CAT);
    for (int i = 0; i < N_CAT; i++)
        if (!(thr[i] > 0.0f && thr[i] < 1.0f))
            return sori_fail(err, SORI_ERR_FORMAT, 0, "%s: sori.moderate.thresholds[%d] = %g is not in (0, 1)", path,
                             i, (double)thr[i]);

    const sori_gguf_tensor *tw = sori_gguf_find_tensor(g, "moderate.weight");
    const sori_gguf_tensor *tb = sori_gguf_find_tensor(g, "moderate.bias");
    if (!tw || tw->n_dims != 2 || tw->ne[0] != N_CAT || tw->ne[1] != nb ||
        (tw->type != SORI_GGML_F16 && tw->type != SORI_GGML_F32))
        return sori_fail(err, SORI_ERR_FORMAT, 0, "%s: tensor moderate.weight: %s (f16/f32 [%lld][%d] expected)", path,
                         tw ? "wrong shape or type" : "missing", (long long)nb, N_CAT);
    if (!tb || tb->n_elements != N_CAT || tb->type != SORI_GGML_F32)
        return sori_fail(err, SORI_ERR_FORMAT, 0, "%s: tensor moderate.bias: %s (f32 [%d] expected)", path,
                         tb ? "wrong shape or type" : "missing", N_CAT);

    sori_moderator *m = calloc(1, sizeof *m);
    float *w = m ? malloc((size_t)nb * N_CAT * sizeof *w) : NULL;
    if (!w) {
        free(m);
        return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "%s: out of memory", path);
    }
    m->w = w;
    /* The file's category order is mapped onto sori's (kind - 1). */
    for (int64_t r = 0; r < nb; r++)
        for (int i = 0; i < N_CAT; i++) {
            const int64_t k = r * N_CAT + i;
            const float v = tw->type == SORI_GGML_F32 ? ((const float *)tw->data)[k]
                                                      : sori_f16_to_f32(((const uint16_t *)tw->data)[k]);
            if (!isfinite(v)) {
                sori_moderator_free(m);
                return sori_fail(err, SORI_ERR_FORMAT, 0, "%s: tensor moderate.weight has NaN or infinite values",
                                 path);
            }
            w[r * N_CAT + order[i]] = v;
        }
    for (int i = 0; i < N_CAT; i++) {
        const float v = ((const float *)tb->data)[i];
        if (!isfinite(v)) {
            sori_moderator_free(m);
            return sori_fail(err, SORI_ERR_FORMAT, 0, "%s: tensor moderate.bias has NaN or infinite values", path);
        }
        m->bias[order[i]] = v;
        m->thr[order[i]] = thr[i];
        m->severity[i] = severity[i];
    }
    m->mask = (uint32_t)(nb - 1);
    m->n_min = (int)n_min;
    m->n_max = (int)n_max;
    m->max_run = (int)max_run;
    *out = m;
    return SORI_OK;
}

sori_status sori_moderator_load(const char *path, sori_moderator **out, sori_error *err)
{
    if (!path || !out)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "moderator: NULL argument");
    *out = NULL;
    sori_gguf *g = NULL;
    sori_status st = sori_gguf_open_file(path, &g, err);
    if (st == SORI_OK)
        st = load_from(g, path, out, err);
    sori_gguf_free(g);
    return st;
}

sori_status sori_moderator_load_memory(const void *data, size_t size, sori_moderator **out, sori_error *err)
{
    if (!data || !out)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "moderator: NULL argument");
    *out = NULL;
    sori_gguf *g = NULL;
    sori_status st = sori_gguf_open_memory(data, size, &g, err);
    if (st == SORI_OK)
        st = load_from(g, "moderator (memory)", out, err);
    sori_gguf_free(g);
    return st;
}

/* ---- scoring ---- */

/* The code point at s[*i] (advancing *i), or -1 for invalid UTF-8 (an
 * overlong form, a surrogate, beyond U+10FFFF, a truncated sequence). */
static int32_t next_cp(const unsigned char *s, size_t len, size_t *i)
{
    const unsigned c = s[*i];
    if (c < 0x80) {
        (*i)++;
        return (int32_t)c;
    }
    int k;
    uint32_t v, min;
    if (c >= 0xC2 && c <= 0xDF)
        k = 1, v = c & 0x1F, min = 0x80;
    else if (c >= 0xE0 && c <= 0xEF)
        k = 2, v = c & 0x0F, min = 0x800;
    else if (c >= 0xF0 && c <= 0xF4)
        k = 3, v = c & 0x07, min = 0x10000;
    else
        return -1;
    if (len - *i <= (size_t)k)
        return -1;
    for (int j = 1; j <= k; j++) {
        const unsigned b = s[*i + (size_t)j];
        if ((b & 0xC0) != 0x80)
            return -1;
        v = (v << 6) | (b & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
        return -1;
    *i += (size_t)k + 1;
    return (int32_t)v;
}

static bool is_space(uint32_t c)
{
    return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0xA0 || c == 0x3000;
}

typedef struct {
    const sori_moderator *m;
    uint32_t win[MAX_N]; /* the last code points of the sequence, win[n_max - 1] the newest */
    int64_t n_seq;       /* code points of the sequence so far */
    int64_t n_grams;
    double acc[N_CAT];
} scorer;

/* Appends a code point to the sequence and adds the n-grams that end on it. */
static void push(scorer *sc, uint32_t c)
{
    const sori_moderator *m = sc->m;
    const int nm = m->n_max;
    memmove(sc->win, sc->win + 1, (size_t)(nm - 1) * sizeof sc->win[0]);
    sc->win[nm - 1] = c;
    sc->n_seq++;
    for (int n = m->n_min; n <= nm && n <= sc->n_seq; n++) {
        uint32_t h = (FNV_OFFSET ^ (uint32_t)n) * FNV_PRIME;
        for (int j = nm - n; j < nm; j++) {
            const uint32_t v = sc->win[j];
            h = (h ^ (v & 0xFF)) * FNV_PRIME;
            h = (h ^ ((v >> 8) & 0xFF)) * FNV_PRIME;
            h = (h ^ ((v >> 16) & 0xFF)) * FNV_PRIME;
            h = (h ^ (v >> 24)) * FNV_PRIME;
        }
        const float *w = m->w + (size_t)(h & m->mask) * N_CAT;
        for (int k = 0; k < N_CAT; k++)
            sc->acc[k] += w[k];
        sc->n_grams++;
    }
}

sori_status sori_moderate(const sori_moderator *m, const char *text, size_t len, sori_moderation *out,
                          sori_error *err)
{
    if (!m || !out || (!text && len))
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "moderate: NULL argument");
    scorer sc = {.m = m};
    const unsigned char *s = (const unsigned char *)text;
    bool pending_space = false, any = false;
    uint32_t last = 0;
    int run = 0; /* how many times `last` ends the sequence in a row (a longer run is cut at max_run) */
    for (size_t i = 0; i < len;) {
        const size_t at = i;
        const int32_t cp = next_cp(s, len, &i);
        if (cp < 0)
            return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "moderate: invalid UTF-8 at byte %zu", at);
        uint32_t c = (uint32_t)cp;
        if (is_space(c)) {
            pending_space = any;
            continue;
        }
        if (c >= 'A' && c <= 'Z')
            c += 0x20;
        else if (c >= '0' && c <= '9')
            c = '0';
        if (!any) {
            push(&sc, ' ');
            any = true;
        }
        if (pending_space) {
            push(&sc, ' ');
            pending_space = false;
            last = ' ', run = 1;
        }
        if (c == last && run >= m->max_run)
            continue;
        run = c == last ? run + 1 : 1;
        last = c;
        push(&sc, c);
    }
    if (any)
        push(&sc, ' ');

    const double scale = sc.n_grams ? 1.0 / sqrt((double)sc.n_grams) : 0.0;
    double p[N_CAT], top = 0.0;
    for (int k = 0; k < N_CAT; k++) {
        p[k] = 1.0 / (1.0 + exp(-((double)m->bias[k] + sc.acc[k] * scale)));
        if (p[k] > top)
            top = p[k];
    }
    sori_moderation r = {.label = SORI_ABUSE_NONE, .score = (float)top};
    for (int i = 0; i < N_CAT; i++) {
        const int k = m->severity[i];
        if (p[k] >= (double)m->thr[k]) {
            r.label = (sori_abuse_kind)(k + 1);
            r.score = (float)p[k];
            break;
        }
    }
    r.scores[SORI_ABUSE_NONE] = (float)(1.0 - top);
    for (int k = 0; k < N_CAT; k++)
        r.scores[k + 1] = (float)p[k];
    *out = r;
    return SORI_OK;
}
