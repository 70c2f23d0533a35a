/* Back-off n-gram LMs: ARPA and GGUF loaders into one in-memory form (per
 * order: word ids, log10 p, log10 back-off, and an open-addressing hash of
 * the n-grams), and the back-off query. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "kernels/gguf.h"
#include "kernels/hparams.h"
#include "kernels/kernels.h"
#include "sori/ngram.h"

typedef struct {
    int64_t count;
    int32_t *words;  /* count x n */
    float *logp;     /* log10 p */
    float *bow;      /* log10 back-off weight (0 where none); NULL for the highest order */
    float *bow_ws;   /* word-boundary models: the weight for word-start words (bow: for the others) */
    uint32_t *slot;  /* hash slots: (entry index + 1) << SLOT_TAG | tag, 0 = empty */
    bool borrowed;   /* words, logp, bow, bow_ws point into the mapped file (not freed here) */
    uint64_t mask;   /* slots - 1 */
} order_tab;

struct sori_ngram {
    int order;
    int32_t n_vocab;
    char **vocab;        /* id -> word */
    uint32_t *vslot;     /* word hash: id + 1 */
    uint64_t vmask;
    int32_t unk;
    uint8_t *ws; /* word-boundary models: 1 for a word-start word (or </s>); NULL otherwise */
    int has_weights;
    float weight, bonus;
    order_tab tab[SORI_NGRAM_MAX_ORDER + 1];
    /* a GGUF file kept open: the tables' words, logp and bow point into its memory map (nothing
     * copied; pages come in as the search touches them; the file must not be cut while in use,
     * as with any mapped model); NULL for ARPA files and buffers */
    sori_gguf *mapped;
};

static uint64_t hash_ids(const int32_t *w, int n)
{
    uint64_t h = 0x9E3779B97F4A7C15ull ^ (uint64_t)n;
    for (int i = 0; i < n; i++) {
        h ^= (uint32_t)w[i];
        h *= 0xBF58476D1CE4E5B9ull;
        h ^= h >> 31;
    }
    return h;
}

static uint64_t hash_str(const char *s)
{
    uint64_t h = 0xCBF29CE484222325ull;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001B3ull;
    }
    return h ^ (h >> 29);
}

/* The vocabulary's slots: at most half full. */
static uint64_t slots_for(int64_t count)
{
    uint64_t s = 16;
    while (s < (uint64_t)count * 2)
        s <<= 1;
    return s;
}

/* An order's slots carry 5 bits of the n-gram's hash beside its entry
 * index, so that a probe reads the n-gram's words (a page of its own)
 * only when they agree (1 in 32 otherwise): the table can then be up to
 * two-thirds full (half the memory of a half-full one) and still look up
 * as fast. Entries per order: fewer than 2^27. */
enum { SLOT_TAG = 5 };
#define SLOT_MAX_ENTRIES ((1ll << (32 - SLOT_TAG)) - 1)
static uint64_t order_slots_for(int64_t count)
{
    uint64_t s = 16;
    while (s * 2 < (uint64_t)count * 3)
        s <<= 1;
    return s;
}

static uint32_t slot_tag(uint64_t h)
{
    return (uint32_t)(h >> (64 - SLOT_TAG));
}

/* The entry of n-gram w[0..n-1], or -1. */
static int64_t find(const order_tab *t, const int32_t *w, int n)
{
    if (!t->slot)
        return -1;
    const uint64_t h = hash_ids(w, n);
    const uint32_t tag = slot_tag(h);
    for (uint64_t i = h & t->mask;; i = (i + 1) & t->mask) {
        const uint32_t s = t->slot[i];
        if (!s)
            return -1;
        const int64_t e = (int64_t)(s >> SLOT_TAG) - 1;
        if ((s & ((1u << SLOT_TAG) - 1)) == tag && memcmp(t->words + e * n, w, (size_t)n * sizeof(int32_t)) == 0)
            return e;
    }
}

int32_t sori_ngram_word_id(const sori_ngram *lm, const char *word)
{
    if (!lm || !word || !lm->vslot)
        return -1;
    for (uint64_t i = hash_str(word) & lm->vmask;; i = (i + 1) & lm->vmask) {
        uint32_t e = lm->vslot[i];
        if (!e)
            return -1;
        if (strcmp(lm->vocab[e - 1], word) == 0)
            return (int32_t)(e - 1);
    }
}

const char *sori_ngram_word(const sori_ngram *lm, int32_t id)
{
    return lm && id >= 0 && id < lm->n_vocab ? lm->vocab[id] : NULL;
}

sori_ngram_info sori_ngram_get_info(const sori_ngram *lm)
{
    sori_ngram_info i;
    memset(&i, 0, sizeof i);
    if (!lm)
        return i;
    i.order = lm->order;
    i.vocab_size = lm->n_vocab;
    for (int n = 1; n <= lm->order; n++)
        i.count[n] = lm->tab[n].count;
    i.has_asr_weights = lm->has_weights;
    i.asr_weight = lm->weight;
    i.asr_bonus = lm->bonus;
    i.word_classes = lm->ws != NULL;
    return i;
}

float sori_ngram_log10p(const sori_ngram *lm, const int32_t *ctx, int n_ctx, int32_t word)
{
    if (!lm || n_ctx < 0 || (n_ctx && !ctx))
        return -99.0f;
    int32_t g[SORI_NGRAM_MAX_ORDER];
    int m = n_ctx < lm->order - 1 ? n_ctx : lm->order - 1; /* context words used */
    for (int i = 0; i < m; i++) {
        int32_t c = ctx[n_ctx - m + i];
        g[i] = c >= 0 && c < lm->n_vocab ? c : lm->unk;
    }
    g[m] = word >= 0 && word < lm->n_vocab ? word : lm->unk;
    if (g[m] < 0)
        return -99.0f;
    /* unknown context words without <unk> in the model: the context starts after them */
    int s = 0;
    for (int i = 0; i < m; i++)
        if (g[i] < 0)
            s = i + 1;
    float bo = 0.0f;
    const int ws = lm->ws && lm->ws[g[m]]; /* which back-off weights apply to this word */
    for (; s <= m; s++) {
        int n = m - s + 1;
        int64_t e = find(&lm->tab[n], g + s, n);
        if (e >= 0)
            return bo + lm->tab[n].logp[e];
        /* back off: the weight of the context g[s..m-1] */
        if (n > 1) {
            int64_t c = find(&lm->tab[n - 1], g + s, n - 1);
            if (c >= 0 && lm->tab[n - 1].bow)
                bo += (ws ? lm->tab[n - 1].bow_ws : lm->tab[n - 1].bow)[c];
        }
    }
    return bo - 99.0f; /* not even a 1-gram (cannot happen for ids in the vocabulary) */
}

void sori_ngram_free(sori_ngram *lm)
{
    if (!lm)
        return;
    for (int n = 1; n <= SORI_NGRAM_MAX_ORDER; n++) {
        if (!lm->tab[n].borrowed) {
            free(lm->tab[n].words);
            free(lm->tab[n].logp);
            free(lm->tab[n].bow);
            free(lm->tab[n].bow_ws);
        }
        free(lm->tab[n].slot);
    }
    sori_gguf_free(lm->mapped);
    if (lm->vocab)
        for (int32_t i = 0; i < lm->n_vocab; i++)
            free(lm->vocab[i]);
    free(lm->vocab);
    free(lm->vslot);
    free(lm->ws);
    free(lm);
}

/* ---- building ----------------------------------------------------------------------- */

static sori_status alloc_order(sori_ngram *lm, int n, int64_t count, const char *path, sori_error *err)
{
    order_tab *t = &lm->tab[n];
    t->count = count;
    size_t c = (size_t)(count ? count : 1);
    t->words = malloc(c * (size_t)n * sizeof(int32_t));
    t->logp = malloc(c * sizeof(float));
    t->bow = n < lm->order ? calloc(c, sizeof(float)) : NULL;
    if (!t->words || !t->logp || (n < lm->order && !t->bow))
        return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "ngram: %s: out of memory for %lld %d-grams", path,
                         (long long)count, n);
    return SORI_OK;
}

/* Hashes every order's n-grams; a duplicate is a format error. */
static sori_status index_orders(sori_ngram *lm, const char *path, sori_error *err)
{
    for (int n = 1; n <= lm->order; n++) {
        order_tab *t = &lm->tab[n];
        if (t->count > SLOT_MAX_ENTRIES)
            return sori_fail(err, SORI_ERR_FORMAT, 0, "ngram: %s: %lld %d-grams: sori takes at most %lld per order",
                             path, (long long)t->count, n, (long long)SLOT_MAX_ENTRIES);
        uint64_t slots = order_slots_for(t->count);
        t->mask = slots - 1;
        if (!(t->slot = calloc(slots, sizeof(uint32_t))))
            return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "ngram: %s: out of memory", path);
        for (int64_t e = 0; e < t->count; e++) {
            const int32_t *w = t->words + e * n;
            const uint64_t h = hash_ids(w, n);
            const uint32_t tag = slot_tag(h);
            uint64_t i = h & t->mask;
            for (; t->slot[i]; i = (i + 1) & t->mask)
                if ((t->slot[i] & ((1u << SLOT_TAG) - 1)) == tag &&
                    memcmp(t->words + (int64_t)((t->slot[i] >> SLOT_TAG) - 1) * n, w, (size_t)n * sizeof(int32_t)) == 0)
                    return sori_fail(err, SORI_ERR_FORMAT, 0, "ngram: %s: a %d-gram occurs twice (%s ...)", path, n,
                                     lm->vocab[w[0]]);
            t->slot[i] = (uint32_t)(e + 1) << SLOT_TAG | tag;
        }
        sori_gguf_release_pages(lm->mapped); /* this order's tables were all read: out of the resident set */
    }
    return SORI_OK;
}

/* The vocabulary hash; a word twice is a format error. */
static sori_status index_vocab(sori_ngram *lm, const char *path, sori_error *err)
{
    uint64_t slots = slots_for(lm->n_vocab);
    lm->vmask = slots - 1;
    if (!(lm->vslot = calloc(slots, sizeof(uint32_t))))
        return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "ngram: %s: out of memory", path);
    for (int32_t id = 0; id < lm->n_vocab; id++) {
        uint64_t i = hash_str(lm->vocab[id]) & lm->vmask;
        for (; lm->vslot[i]; i = (i + 1) & lm->vmask)
            if (strcmp(lm->vocab[lm->vslot[i] - 1], lm->vocab[id]) == 0)
                return sori_fail(err, SORI_ERR_FORMAT, 0, "ngram: %s: the word '%s' is twice among the 1-grams", path,
                                 lm->vocab[id]);
        lm->vslot[i] = (uint32_t)(id + 1);
    }
    lm->unk = sori_ngram_word_id(lm, "<unk>");
    return SORI_OK;
}

/* ---- ARPA ----------------------------------------------------------------------------- */

typedef struct {
    FILE *f;
    char *line;
    size_t cap;
    long no;
    const char *path;
} reader;

/* The next line without its end (and trailing blanks), or NULL at EOF. */
static char *next_line(reader *r)
{
    ssize_t n = getline(&r->line, &r->cap, r->f);
    if (n < 0)
        return NULL;
    r->no++;
    while (n > 0 && (r->line[n - 1] == '\n' || r->line[n - 1] == '\r' || r->line[n - 1] == ' ' ||
                     r->line[n - 1] == '\t'))
        r->line[--n] = '\0';
    return r->line;
}

static char *next_nonblank(reader *r)
{
    char *l;
    while ((l = next_line(r)) && !*l)
        ;
    return l;
}

static int parse_float(const char *s, float *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end || errno == ERANGE || !isfinite(v) || v > 1e6 || v < -1e6)
        return -1;
    *out = (float)v;
    return 0;
}

static sori_status arpa_fail(reader *r, sori_error *err, const char *what)
{
    return sori_fail(err, SORI_ERR_FORMAT, 0, "ngram: %s line %ld: %s", r->path, r->no, what);
}

/* bytes: the file's size, which bounds the counts it may declare (and so what is allocated). */
static sori_status load_arpa(FILE *f, uint64_t bytes, const char *path, sori_ngram *lm, sori_error *err)
{
    reader r = {f, NULL, 0, 0, path};
    sori_status st = SORI_OK;
    char *l;
    int64_t counts[SORI_NGRAM_MAX_ORDER + 1] = {0};
    while ((l = next_line(&r)) && strcmp(l, "\\data\\") != 0)
        ;
    if (!l) {
        free(r.line);
        return sori_fail(err, SORI_ERR_FORMAT, 0, "ngram: %s: not an ARPA file (no \\data\\ line)", path);
    }
    while ((l = next_nonblank(&r)) && strncmp(l, "ngram ", 6) == 0) {
        int n = 0;
        long long c = 0;
        char tail;
        if (sscanf(l + 6, "%d=%lld%c", &n, &c, &tail) != 2 || n != lm->order + 1 || c < 1 || c >= (1ll << 31)) {
            st = arpa_fail(&r, err, n > SORI_NGRAM_MAX_ORDER ? "order above 10" : "bad 'ngram N=count' line");
            goto out;
        }
        if ((uint64_t)c * (uint64_t)(2 * n + 2) > bytes) { /* an entry takes at least "0 w\n" per word */
            st = arpa_fail(&r, err, "declares more n-grams than the file can hold");
            goto out;
        }
        lm->order = n;
        counts[n] = c;
        if (n == SORI_NGRAM_MAX_ORDER) {
            l = next_nonblank(&r);
            break;
        }
    }
    if (lm->order == 0) {
        st = arpa_fail(&r, err, "no 'ngram N=count' lines after \\data\\");
        goto out;
    }
    lm->n_vocab = (int32_t)counts[1];
    if (!(lm->vocab = calloc((size_t)lm->n_vocab, sizeof(char *)))) {
        st = sori_fail(err, SORI_ERR_NO_MEMORY, 0, "ngram: %s: out of memory", path);
        goto out;
    }
    for (int n = 1; n <= lm->order && st == SORI_OK; n++)
        st = alloc_order(lm, n, counts[n], path, err);
    for (int n = 1; n <= lm->order && st == SORI_OK; n++) {
        char want[32];
        snprintf(want, sizeof want, "\\%d-grams:", n);
        if (n > 1) /* the 1-grams' section header was read by the loop over the counts */
            l = next_nonblank(&r);
        if (!l || strcmp(l, want) != 0) {
            char msg[64];
            snprintf(msg, sizeof msg, "expected %s", want);
            st = arpa_fail(&r, err, msg);
            break;
        }
        order_tab *t = &lm->tab[n];
        for (int64_t e = 0; e < t->count && st == SORI_OK; e++) {
            if (!(l = next_nonblank(&r))) {
                st = sori_fail(err, SORI_ERR_FORMAT, 0, "ngram: %s: ends inside the %d-grams (%lld of %lld read)",
                               path, n, (long long)e, (long long)t->count);
                break;
            }
            char *save = NULL, *tok[SORI_NGRAM_MAX_ORDER + 3] = {0};
            int k = 0;
            for (char *p = strtok_r(l, " \t", &save); p; p = strtok_r(NULL, " \t", &save)) {
                if (k == n + 2) {
                    k++;
                    break;
                }
                tok[k++] = p;
            }
            if (k < n + 1 || k > n + 2 || (k == n + 2 && n == lm->order)) {
                st = arpa_fail(&r, err, tok[0] && tok[0][0] == '\\' ? "fewer n-grams than \\data\\ says"
                                                                    : "wrong number of fields for this order");
                break;
            }
            if (parse_float(tok[0], &t->logp[e]) != 0 || t->logp[e] > 0 ||
                (k == n + 2 && parse_float(tok[n + 1], &t->bow[e]) != 0)) {
                st = arpa_fail(&r, err, "bad number (log10 p must be <= 0)");
                break;
            }
            for (int i = 0; i < n; i++) {
                int32_t id;
                if (n == 1) {
                    if (!(lm->vocab[e] = strdup(tok[1]))) {
                        st = sori_fail(err, SORI_ERR_NO_MEMORY, 0, "ngram: %s: out of memory", path);
                        break;
                    }
                    id = (int32_t)e;
                } else if ((id = sori_ngram_word_id(lm, tok[1 + i])) < 0) {
                    char msg[96];
                    snprintf(msg, sizeof msg, "the word '%.40s' is not among the 1-grams", tok[1 + i]);
                    st = arpa_fail(&r, err, msg);
                    break;
                }
                t->words[e * n + i] = id;
            }
        }
        if (n == 1 && st == SORI_OK)
            st = index_vocab(lm, path, err);
    }
    if (st == SORI_OK && (!(l = next_nonblank(&r)) || strcmp(l, "\\end\\") != 0))
        st = arpa_fail(&r, err, l && l[0] != '\\' ? "more n-grams than \\data\\ says" : "expected \\end\\");
    if (st == SORI_OK && ferror(f))
        st = sori_fail(err, SORI_ERR_IO, 0, "ngram: %s: read error", path);
out:
    free(r.line);
    return st;
}

/* ---- GGUF ----------------------------------------------------------------------------- */

static sori_status gguf_tensor(const sori_gguf *g, const char *path, const char *name, uint32_t type,
                               int64_t ne0, int64_t ne1, const void **data, sori_error *err)
{
    const sori_gguf_tensor *t = sori_gguf_find_tensor(g, name);
    if (!t)
        return sori_fail(err, SORI_ERR_FORMAT, 0, "ngram: %s: no tensor %s", path, name);
    if (t->type != type || t->ne[0] != ne0 || (ne1 >= 0 && t->ne[1] != ne1) || t->ne[2] != 1 || t->ne[3] != 1)
        return sori_fail(err, SORI_ERR_FORMAT, 0, "ngram: %s: tensor %s has the wrong type or shape", path, name);
    *data = t->data;
    return SORI_OK;
}

/* keep: the tables point into g's memory (which then lives as long as lm); else copied. */
static sori_status load_gguf(sori_gguf *g, const char *path, sori_ngram *lm, bool keep, sori_error *err)
{
    sori_status st = SORI_OK;
    const char *arch = NULL;
    int64_t order = 0;
    sori_gguf_type et;
    uint64_t nv = 0;
    if (sori_gguf_get_str(g, "general.architecture", &arch) != SORI_OK || strcmp(arch, "sori.ngram") != 0)
        st = sori_fail(err, SORI_ERR_FORMAT, 0, "ngram: %s: a GGUF file, but not an n-gram LM (architecture %s)",
                       path, arch ? arch : "missing");
    else if (sori_gguf_get_int(g, "sori.ngram.order", &order) != SORI_OK || order < 1 ||
             order > SORI_NGRAM_MAX_ORDER)
        st = sori_fail(err, SORI_ERR_FORMAT, 0, "ngram: %s: sori.ngram.order missing or not in 1..10", path);
    else if (sori_gguf_get_arr_info(g, "sori.ngram.vocab", &et, &nv) != SORI_OK || et != SORI_GGUF_STRING ||
             nv < 1 || nv >= (1ull << 31))
        st = sori_fail(err, SORI_ERR_FORMAT, 0, "ngram: %s: sori.ngram.vocab (a string array) missing", path);
    if (st == SORI_OK) {
        lm->order = (int)order;
        lm->n_vocab = (int32_t)nv;
        if (!(lm->vocab = calloc((size_t)nv, sizeof(char *))))
            st = sori_fail(err, SORI_ERR_NO_MEMORY, 0, "ngram: %s: out of memory", path);
        for (uint64_t i = 0; i < nv && st == SORI_OK; i++) {
            const char *w = NULL;
            if ((st = sori_gguf_get_arr_str(g, "sori.ngram.vocab", i, &w)) == SORI_OK && !(lm->vocab[i] = strdup(w)))
                st = sori_fail(err, SORI_ERR_NO_MEMORY, 0, "ngram: %s: out of memory", path);
        }
        if (st == SORI_OK)
            st = index_vocab(lm, path, err);
    }
    /* word-boundary classes: the mark that begins a word-start word, and a second back-off weight */
    const char *mark = NULL;
    int classes = st == SORI_OK && sori_gguf_get_str(g, "sori.ngram.boundary", &mark) == SORI_OK;
    if (classes) {
        size_t ml = strlen(mark);
        if (ml == 0 || ml > 16)
            st = sori_fail(err, SORI_ERR_FORMAT, 0, "ngram: %s: sori.ngram.boundary must be 1 to 16 bytes", path);
        else if (!(lm->ws = malloc((size_t)lm->n_vocab)))
            st = sori_fail(err, SORI_ERR_NO_MEMORY, 0, "ngram: %s: out of memory", path);
        for (int32_t i = 0; i < lm->n_vocab && st == SORI_OK; i++)
            lm->ws[i] = strcmp(lm->vocab[i], "</s>") == 0 || strncmp(lm->vocab[i], mark, ml) == 0;
    }
    if (st == SORI_OK) { /* the ranges sori_asr_model_params accepts */
        sori_hparams h = sori_hparams_init(g, path, err);
        lm->has_weights = sori_gguf_find_key(g, "sori.ngram.asr_weight") >= 0;
        lm->weight = (float)sori_hp_float(&h, "sori.ngram.asr_weight", SORI_HP_OPTIONAL, 0.0, 0.0, 10.0);
        lm->bonus = (float)sori_hp_float(&h, "sori.ngram.asr_bonus", SORI_HP_OPTIONAL, 0.0, -100.0, 100.0);
        st = h.st;
    }
    for (int n = 1; n <= lm->order && st == SORI_OK; n++) {
        char name[64];
        snprintf(name, sizeof name, "ngram.%d.words", n);
        const sori_gguf_tensor *t = sori_gguf_find_tensor(g, name);
        if (!t || t->ne[0] != n || t->ne[1] < 1 || t->ne[1] >= (1ll << 31)) {
            st = sori_fail(err, SORI_ERR_FORMAT, 0, "ngram: %s: tensor %s missing or not [count, %d]", path, name, n);
            break;
        }
        int64_t count = t->ne[1];
        const void *w = NULL, *lp = NULL, *bw = NULL, *bws = NULL;
        st = gguf_tensor(g, path, name, SORI_GGML_I32, n, count, &w, err);
        snprintf(name, sizeof name, "ngram.%d.logp", n);
        if (st == SORI_OK)
            st = gguf_tensor(g, path, name, SORI_GGML_F32, count, 1, &lp, err);
        snprintf(name, sizeof name, "ngram.%d.bow", n);
        if (st == SORI_OK && n < lm->order)
            st = gguf_tensor(g, path, name, SORI_GGML_F32, count, 1, &bw, err);
        snprintf(name, sizeof name, "ngram.%d.bow_ws", n);
        if (st == SORI_OK && n < lm->order && classes)
            st = gguf_tensor(g, path, name, SORI_GGML_F32, count, 1, &bws, err);
        else if (st == SORI_OK && sori_gguf_find_tensor(g, name))
            st = sori_fail(err, SORI_ERR_FORMAT, 0, "ngram: %s: tensor %s %s", path, name,
                           classes ? "for the highest order (it has no back-off)" : "without sori.ngram.boundary");
        /* in place only where the file's layout gives 4-byte aligned arrays (GGUF allows less) */
        const bool in_place = keep && (uintptr_t)w % 4 == 0 && (uintptr_t)lp % 4 == 0 && (uintptr_t)bw % 4 == 0 &&
                              (uintptr_t)bws % 4 == 0;
        if (st == SORI_OK && !in_place)
            st = alloc_order(lm, n, count, path, err);
        if (st != SORI_OK)
            break;
        order_tab *o = &lm->tab[n];
        o->borrowed = in_place;
        if (in_place) { /* read in place: the map is read-only, and nothing writes the tables after loading */
            o->count = count;
            o->words = (int32_t *)w;
            o->logp = (float *)lp;
            o->bow = (float *)bw;
            o->bow_ws = (float *)bws;
            bws = NULL;
        } else {
            memcpy(o->words, w, (size_t)count * (size_t)n * sizeof(int32_t));
            memcpy(o->logp, lp, (size_t)count * sizeof(float));
            if (bw)
                memcpy(o->bow, bw, (size_t)count * sizeof(float));
        }
        if (bws) {
            if (!(o->bow_ws = malloc((size_t)count * sizeof(float)))) {
                st = sori_fail(err, SORI_ERR_NO_MEMORY, 0, "ngram: %s: out of memory", path);
                break;
            }
            memcpy(o->bow_ws, bws, (size_t)count * sizeof(float));
        }
        for (int64_t i = 0; i < count * n && st == SORI_OK; i++)
            if (o->words[i] < 0 || o->words[i] >= lm->n_vocab)
                st = sori_fail(err, SORI_ERR_FORMAT, 0, "ngram: %s: ngram.%d.words: id %d out of range", path, n,
                               o->words[i]);
        for (int64_t i = 0; i < count && st == SORI_OK; i++)
            if (!isfinite(o->logp[i]) || o->logp[i] > 0 || (bw && !isfinite(o->bow[i])) ||
                (o->bow_ws && !isfinite(o->bow_ws[i])))
                st = sori_fail(err, SORI_ERR_FORMAT, 0, "ngram: %s: ngram.%d: a probability that is not finite or "
                               "above 1", path, n);
        if (keep) /* the checks read all of this order's tables: out of the resident set until used */
            sori_gguf_release_pages(g);
    }
    return st;
}

/* From a file (path) or a buffer (data, size; path names it in messages). */
static sori_status load(const char *path, const void *data, size_t size, sori_ngram **out, sori_error *err)
{
    *out = NULL;
    FILE *f = data ? NULL : fopen(path, "rb");
    if (!data && !f)
        return sori_fail(err, SORI_ERR_IO, errno, "ngram: cannot open %s: %s", path, strerror(errno));
    char magic[4] = {0};
    size_t got = data ? (size < 4 ? size : 4) : fread(magic, 1, 4, f);
    if (data)
        memcpy(magic, data, got);
    int gguf = got == 4 && memcmp(magic, "GGUF", 4) == 0;
    sori_ngram *lm = calloc(1, sizeof *lm);
    sori_status st = lm ? SORI_OK : sori_fail(err, SORI_ERR_NO_MEMORY, 0, "ngram: out of memory");
    if (st == SORI_OK) {
        lm->unk = -1;
        if (gguf) {
            sori_gguf *g = NULL;
            st = data ? sori_gguf_open_memory(data, size, &g, err) : sori_gguf_open_file(path, &g, err);
            if (st == SORI_OK) {
                st = load_gguf(g, path, lm, !data, err); /* a file: its map kept; a buffer: copied */
                lm->mapped = !data ? g : NULL;
            }
            if (!lm->mapped)
                sori_gguf_free(g);
        } else {
            if (data && !(f = fmemopen((void *)data, size ? size : 1, "rb")))
                st = sori_fail(err, SORI_ERR_NO_MEMORY, 0, "ngram: out of memory");
            else if (data && size == 0)
                st = sori_fail(err, SORI_ERR_FORMAT, 0, "ngram: %s: not an ARPA file (no \\data\\ line)", path);
            else
                rewind(f);
            struct stat sb;
            uint64_t bytes = data ? size : (fstat(fileno(f), &sb) == 0 ? (uint64_t)sb.st_size : 0);
            if (st == SORI_OK)
                st = load_arpa(f, bytes, path, lm, err);
        }
    }
    if (f)
        fclose(f);
    if (st == SORI_OK)
        st = index_orders(lm, path, err);
    if (st != SORI_OK) {
        sori_ngram_free(lm);
        return st;
    }
    *out = lm;
    return SORI_OK;
}

sori_status sori_ngram_load(const char *path, sori_ngram **out, sori_error *err)
{
    if (!path || !out)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "ngram: NULL argument");
    return load(path, NULL, 0, out, err);
}

sori_status sori_ngram_load_memory(const void *data, size_t size, sori_ngram **out, sori_error *err)
{
    if (!out || (!data && size))
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "ngram: NULL argument");
    static const char empty[1] = {0};
    return load("(memory)", data ? data : empty, size, out, err);
}
