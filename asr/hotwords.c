/* Hotword biasing: an Aho-Corasick automaton over characters (asr/hotwords.h). */
#include "hotwords.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"

#define MAX_TEXT (1 << 20)
#define MAX_PHRASE 200 /* characters */

typedef struct {
    int32_t fail;
    float inc; /* the boost of the step into this state: the largest score of the phrases through it */
    float ps;  /* the boost of the partial match this state stands for: the incs from the start */
    int end;   /* a phrase ends here */
} state;

struct sori_hotwords {
    int n_tokens, n_phrases;
    int32_t *tok_off; /* token t spells cps[tok_off[t] .. tok_off[t + 1]) */
    int32_t *cps;
    state *st;
    int32_t n_st, cap_st;
    uint64_t *ekey; /* edges: (state, codepoint) -> child, open addressing */
    int32_t *eval;
    uint64_t emask;
    int64_t n_edges;
};

/* One code point from s (advancing it); -1 for invalid UTF-8. */
static int32_t utf8_next(const unsigned char **s)
{
    const unsigned char *p = *s;
    int32_t c = p[0];
    int n = c < 0x80 ? 0 : (c & 0xE0) == 0xC0 ? 1 : (c & 0xF0) == 0xE0 ? 2 : (c & 0xF8) == 0xF0 ? 3 : -1;
    if (n < 0)
        return -1;
    if (n)
        c &= 0x3F >> n;
    for (int i = 1; i <= n; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return -1;
        c = c << 6 | (p[i] & 0x3F);
    }
    static const int32_t min[4] = {0, 0x80, 0x800, 0x10000};
    if (c < min[n] || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
        return -1;
    *s = p + n + 1;
    return c;
}

static int valid_utf8(const unsigned char *p, const unsigned char *e)
{
    while (p < e)
        if (utf8_next(&p) < 0)
            return 0;
    return 1;
}

/* spaces and SentencePiece's word mark U+2581 are not matched */
static int skipped(int32_t c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == 0x2581 || c == 0x3000;
}

static uint64_t ekey(int32_t s, int32_t c)
{
    return ((uint64_t)(uint32_t)s << 32 | (uint32_t)c) + 1; /* 0: an empty slot */
}

static uint64_t ehash(uint64_t k)
{
    k ^= k >> 33;
    k *= 0xFF51AFD7ED558CCDull;
    k ^= k >> 33;
    return k;
}

static int32_t edge(const sori_hotwords *h, int32_t s, int32_t c)
{
    uint64_t k = ekey(s, c);
    for (uint64_t i = ehash(k) & h->emask; h->ekey[i]; i = (i + 1) & h->emask)
        if (h->ekey[i] == k)
            return h->eval[i];
    return -1;
}

static int edge_put(sori_hotwords *h, int32_t s, int32_t c, int32_t child)
{
    if ((uint64_t)(h->n_edges + 1) * 2 > h->emask) {
        uint64_t slots = (h->emask + 1) * 2;
        uint64_t *k = calloc(slots, sizeof *k);
        int32_t *v = malloc(slots * sizeof *v);
        if (!k || !v) {
            free(k);
            free(v);
            return -1;
        }
        for (uint64_t i = 0; i <= h->emask; i++)
            if (h->ekey[i]) {
                uint64_t j = ehash(h->ekey[i]) & (slots - 1);
                while (k[j])
                    j = (j + 1) & (slots - 1);
                k[j] = h->ekey[i];
                v[j] = h->eval[i];
            }
        free(h->ekey);
        free(h->eval);
        h->ekey = k;
        h->eval = v;
        h->emask = slots - 1;
    }
    uint64_t k = ekey(s, c), i = ehash(k) & h->emask;
    while (h->ekey[i])
        i = (i + 1) & h->emask;
    h->ekey[i] = k;
    h->eval[i] = child;
    h->n_edges++;
    return 0;
}

static int32_t new_state(sori_hotwords *h)
{
    if (h->n_st == h->cap_st) {
        int32_t cap = h->cap_st ? h->cap_st * 2 : 64;
        state *n = realloc(h->st, (size_t)cap * sizeof *n);
        if (!n)
            return -1;
        h->st = n;
        h->cap_st = cap;
    }
    h->st[h->n_st] = (state){0, 0.0f, 0.0f, 0};
    return h->n_st++;
}

void sori_hotwords_free(sori_hotwords *h)
{
    if (!h)
        return;
    free(h->tok_off);
    free(h->cps);
    free(h->st);
    free(h->ekey);
    free(h->eval);
    free(h);
}

static int cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

/* The tokens' characters, and the sorted set of every character they spell. */
static sori_status spell_tokens(sori_hotwords *h, const char *const *tokens, int32_t **set, int32_t *n_set,
                                sori_error *err)
{
    int64_t total = 0;
    for (int t = 0; t < h->n_tokens; t++)
        total += tokens[t] ? (int64_t)strlen(tokens[t]) : 0;
    h->tok_off = malloc(((size_t)h->n_tokens + 1) * sizeof(int32_t));
    h->cps = malloc(((size_t)total + 1) * sizeof(int32_t));
    *set = malloc(((size_t)total + 1) * sizeof(int32_t));
    if (!h->tok_off || !h->cps || !*set)
        return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "hotwords: out of memory");
    int32_t n = 0;
    for (int t = 0; t < h->n_tokens; t++) {
        h->tok_off[t] = n;
        const unsigned char *p = (const unsigned char *)(tokens[t] ? tokens[t] : "");
        while (*p) {
            int32_t c = utf8_next(&p);
            if (c < 0)
                break; /* a token that is not UTF-8 spells what came before */
            if (!skipped(c))
                h->cps[n++] = c;
        }
    }
    h->tok_off[h->n_tokens] = n;
    memcpy(*set, h->cps, (size_t)n * sizeof(int32_t));
    qsort(*set, (size_t)n, sizeof(int32_t), cmp_i32);
    int32_t k = 0;
    for (int32_t i = 0; i < n; i++)
        if (k == 0 || (*set)[k - 1] != (*set)[i])
            (*set)[k++] = (*set)[i];
    *n_set = k;
    return SORI_OK;
}

/* Adds one phrase (the line [p, e), already UTF-8-checked, without its score). */
static sori_status add_phrase(sori_hotwords *h, const unsigned char *p, const unsigned char *e, float score,
                              const int32_t *set, int32_t n_set, int line, sori_error *err)
{
    int32_t s = 0, depth = 0;
    while (p < e) {
        const unsigned char *at = p;
        int32_t c = utf8_next(&p);
        if (skipped(c))
            continue;
        if (!bsearch(&c, set, (size_t)n_set, sizeof c, cmp_i32))
            return sori_fail(err, SORI_ERR_INVALID_ARG, 0,
                             "hotwords: line %d: '%.*s' is not a character the model can write", line,
                             (int)(p - at), (const char *)at);
        int32_t nx = edge(h, s, c);
        if (nx < 0) {
            if ((nx = new_state(h)) < 0 || edge_put(h, s, c, nx) != 0)
                return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "hotwords: out of memory");
        }
        if (h->st[nx].inc < score)
            h->st[nx].inc = score; /* a shared prefix takes the larger boost */
        s = nx;
        if (++depth > MAX_PHRASE)
            return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "hotwords: line %d: a phrase of over %d characters",
                             line, MAX_PHRASE);
    }
    if (depth == 0)
        return SORI_OK;
    h->st[s].end = 1;
    h->n_phrases++;
    return SORI_OK;
}

/* Each state's partial boost (its parent's plus its step's) and its fail
 * link, in breadth-first order (a fail link goes to a shallower state). */
static int build_links(sori_hotwords *h)
{
    int32_t *queue = malloc((size_t)h->n_st * sizeof(int32_t));
    int32_t *parent = malloc((size_t)h->n_st * sizeof(int32_t));
    int32_t *via = malloc((size_t)h->n_st * sizeof(int32_t));
    int32_t *depth = calloc((size_t)h->n_st, sizeof(int32_t));
    if (!queue || !parent || !via || !depth) {
        free(queue);
        free(parent);
        free(via);
        free(depth);
        return -1;
    }
    for (uint64_t i = 0; i <= h->emask; i++)
        if (h->ekey[i]) {
            int32_t child = h->eval[i];
            parent[child] = (int32_t)((h->ekey[i] - 1) >> 32);
            via[child] = (int32_t)(uint32_t)(h->ekey[i] - 1);
        }
    for (int32_t s = 1; s < h->n_st; s++) /* a parent is always made before its child */
        depth[s] = depth[parent[s]] + 1;
    /* by depth (counting sort; depth <= MAX_PHRASE) */
    int32_t start[MAX_PHRASE + 2] = {0}, n = h->n_st - 1;
    for (int32_t s = 1; s < h->n_st; s++)
        start[depth[s] + 1]++;
    for (int32_t d = 1; d <= MAX_PHRASE + 1; d++)
        start[d] += start[d - 1];
    for (int32_t s = 1; s < h->n_st; s++)
        queue[start[depth[s]]++] = s;
    h->st[0].fail = 0;
    for (int32_t i = 0; i < n; i++) {
        int32_t s = queue[i], p = parent[s], c = via[s];
        h->st[s].ps = h->st[p].ps + h->st[s].inc;
        if (p == 0) {
            h->st[s].fail = 0;
            continue;
        }
        int32_t f = h->st[p].fail, t;
        while ((t = edge(h, f, c)) < 0 && f != 0)
            f = h->st[f].fail;
        h->st[s].fail = t >= 0 && t != s ? t : 0;
    }
    free(depth);
    free(queue);
    free(parent);
    free(via);
    return 0;
}

sori_status sori_hotwords_create(const char *const *tokens, int n_tokens, const char *text, float score,
                                 sori_hotwords **out, sori_error *err)
{
    if (!out || !tokens || n_tokens < 1 || !text)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "hotwords: NULL argument");
    *out = NULL;
    if (!(score > 0.0f && score <= 20.0f))
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "hotwords: score %g (0 < score <= 20)", score);
    size_t len = strnlen(text, MAX_TEXT + 1);
    if (len > MAX_TEXT)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "hotwords: over %d bytes of text", MAX_TEXT);
    sori_hotwords *h = calloc(1, sizeof *h);
    int32_t *set = NULL, n_set = 0;
    if (!h)
        return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "hotwords: out of memory");
    h->n_tokens = n_tokens;
    h->emask = 255;
    h->ekey = calloc(h->emask + 1, sizeof *h->ekey);
    h->eval = malloc((h->emask + 1) * sizeof *h->eval);
    sori_status st = !h->ekey || !h->eval || new_state(h) != 0
                         ? sori_fail(err, SORI_ERR_NO_MEMORY, 0, "hotwords: out of memory")
                         : spell_tokens(h, tokens, &set, &n_set, err);
    const unsigned char *p = (const unsigned char *)text, *end = p + len;
    for (int line = 1; st == SORI_OK && p < end; line++) {
        const unsigned char *e = p;
        while (e < end && *e != '\n')
            e++;
        const unsigned char *next = e < end ? e + 1 : e;
        if (!valid_utf8(p, e)) {
            st = sori_fail(err, SORI_ERR_INVALID_ARG, 0, "hotwords: line %d is not UTF-8", line);
            break;
        }
        while (e > p && (e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t'))
            e--;
        const unsigned char *b = p;
        while (b < e && (*b == ' ' || *b == '\t'))
            b++;
        if (b == e || *b == '#') {
            p = next;
            continue;
        }
        float sc = score;
        const unsigned char *colon = e;
        while (colon > b && colon[-1] != ':' && colon[-1] != ' ')
            colon--;
        if (colon > b + 1 && colon[-1] == ':' && colon[-2] == ' ') { /* "phrase :score" */
            char num[32];
            size_t k = (size_t)(e - colon);
            char *stop = NULL;
            if (k == 0 || k >= sizeof num) {
                st = sori_fail(err, SORI_ERR_INVALID_ARG, 0, "hotwords: line %d: a bad score after ':'", line);
                break;
            }
            memcpy(num, colon, k);
            num[k] = 0;
            double v = strtod(num, &stop);
            if (*stop || !(v > 0.0 && v <= 20.0)) {
                st = sori_fail(err, SORI_ERR_INVALID_ARG, 0, "hotwords: line %d: score '%s' (0 < score <= 20)",
                               line, num);
                break;
            }
            sc = (float)v;
            e = colon - 2;
        }
        st = add_phrase(h, b, e, sc, set, n_set, line, err);
        p = next;
    }
    if (st == SORI_OK && h->n_phrases == 0)
        st = sori_fail(err, SORI_ERR_INVALID_ARG, 0, "hotwords: no phrase in the text");
    if (st == SORI_OK && build_links(h) != 0)
        st = sori_fail(err, SORI_ERR_NO_MEMORY, 0, "hotwords: out of memory");
    free(set);
    if (st != SORI_OK) {
        sori_hotwords_free(h);
        return st;
    }
    *out = h;
    return SORI_OK;
}

int sori_hotwords_count(const sori_hotwords *h)
{
    return h ? h->n_phrases : 0;
}

int32_t sori_hotwords_next(const sori_hotwords *h, int32_t s, int32_t token, float *delta)
{
    float d = 0.0f;
    if (token >= 0 && token < h->n_tokens)
        for (int32_t i = h->tok_off[token]; i < h->tok_off[token + 1]; i++) {
            int32_t c = h->cps[i], q = s, t;
            while ((t = edge(h, q, c)) < 0 && q != 0)
                q = h->st[q].fail;
            t = t < 0 ? 0 : t;
            /* the step's gain, or (a broken match) what it had earned given back */
            d += h->st[t].ps - h->st[s].ps;
            s = h->st[t].end ? 0 : t; /* complete: its boost is kept, and matching starts again */
        }
    *delta = d;
    return s;
}

float sori_hotwords_partial(const sori_hotwords *h, int32_t s)
{
    return h->st[s].ps;
}
