/*
 * tests/fuzz/gguf_mutator.h — a structure-aware libFuzzer mutator for GGUF
 * model files (fuzz_model, fuzz_ngram, and the model fuzzers to come).
 *
 * Random bytes almost never make a loadable model, so this mostly rewrites
 * a valid GGUF with one to three changes: a metadata value (sizes to 0, -1,
 * -2, ±1, ×2, huge or near their own value; options to other known
 * spellings; floats to NaN, infinities, 0; a value of the wrong type), a key
 * removed or added, a tensor's shape changed or the tensor dropped; and only
 * sometimes mutates bytes. Inputs that loaded are kept (gguf_pool_keep from
 * the target) as starting points, so an input that no longer parses is not
 * mutated further. A target defines
 *     size_t LLVMFuzzerCustomMutator(uint8_t *d, size_t n, size_t max, unsigned seed)
 *     { return gguf_mutate(d, n, max, seed); }
 * and calls gguf_pool_keep(data, size) for inputs that loaded. Run with a
 * -max_len that fits the seeds.
 */
#ifndef SORI_TESTS_FUZZ_GGUF_MUTATOR_H
#define SORI_TESTS_FUZZ_GGUF_MUTATOR_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../gguf_edit.h"

size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);

/* Inputs that loaded, kept as starting points for the mutator: an input
 * that no longer parses (after a byte mutation or a crossover) is not
 * mutated further, a loadable one is mutated instead. */
enum { GGUF_POOL = 16 };
static struct {
    uint8_t *data[GGUF_POOL];
    size_t size[GGUF_POOL];
    int n;
    uint64_t next;
} pool;

static void gguf_pool_keep(const uint8_t *data, size_t size)
{
    if (pool.n == GGUF_POOL && pool.next++ % 8) /* when full, one in eight replaces a kept one */
        return;
    int slot = pool.n < GGUF_POOL ? pool.n++ : (int)(pool.next / 8 % GGUF_POOL);
    uint8_t *copy = malloc(size);
    if (!copy)
        return;
    memcpy(copy, data, size);
    free(pool.data[slot]);
    pool.data[slot] = copy;
    pool.size[slot] = size;
}

static uint64_t rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Spellings of every option sori reads, so that a changed string is often
 * another valid option rather than noise. */
static const char *const words[] = {
    "sori.conformer", "striding", "dw_striding", "ctc", "rnnt", "hybrid", "regular", "chunked_limited",
    "batch_norm", "layer_norm", "relu", "tanh", "sigmoid", "chars", "sentencepiece", "nemo", "per_feature",
    "all_features", "none", "NA", "fixed", "sori.ngram", "\xe2\x96\x81", "<s>", "</s>", "", "x"};
/* Keys that fixtures may lack, to add. */
static const char *const extra_keys[] = {
    "sori.conformer.att_context_left", "sori.conformer.att_context_right", "sori.conformer.conv_context_left",
    "sori.conformer.conv_context_right", "sori.conformer.blank_id", "sori.conformer.rnnt.max_symbols",
    "sori.conformer.causal_downsampling", "features.pad_to", "sori.conformer.ff_expansion_factor",
    "sori.ngram.asr_weight", "sori.ngram.asr_bonus"};

static int64_t interesting_int(uint64_t *s, int64_t v)
{
    static const int64_t vals[] = {0, -1, -2, 1, 2, 3, 4, 7, 8, 16, 63, 64, 255, 256, 4095, 65535, 65536,
                                   INT32_MAX, (int64_t)INT32_MAX + 1, (int64_t)1 << 40, INT64_MAX, INT64_MIN};
    /* wrapping arithmetic in uint64_t: the value may be anything a file holds */
    switch (rnd(s) % 8) {
    case 0: return (int64_t)((uint64_t)v + 1);
    case 1: return (int64_t)((uint64_t)v - 1);
    case 2: return (int64_t)((uint64_t)v * 2);
    case 3: return v / 2;
    case 4: return (int64_t)(rnd(s) % 1024) - 8;
    case 5: /* somewhere in the value's own neighbourhood: often still valid */
    case 6: {
        uint64_t span = v > 0 && (uint64_t)v < UINT64_MAX / 4 ? 2 * (uint64_t)v + 4 : v > 0 ? UINT64_MAX : 4;
        return (int64_t)(rnd(s) % span) - 1;
    }
    default: return vals[rnd(s) % (sizeof vals / sizeof vals[0])];
    }
}

static double interesting_float(uint64_t *s, double v)
{
    static const double vals[] = {0.0, -0.0, 1.0, -1.0, 0.5, 2.0, 1e-30, 1e30, NAN, INFINITY, -INFINITY};
    switch (rnd(s) % 4) {
    case 0: return v * 2;
    case 1: return -v;
    case 2: return (double)(rnd(s) % 1000) / 100.0;
    default: return vals[rnd(s) % (sizeof vals / sizeof vals[0])];
    }
}

/* One structural edit of a parsed file into *e; 0 when none applies. */
static int pick_edit(const sori_gguf *g, uint64_t *s, gguf_edit *e)
{
    memset(e, 0, sizeof *e);
    int64_t nkv = sori_gguf_n_kv(g), nt = sori_gguf_n_tensors(g);
    unsigned what = rnd(s) % 16;
    if (what < 10 && nkv > 0) { /* change a value */
        int64_t i = (int64_t)(rnd(s) % (uint64_t)nkv);
        const char *key = sori_gguf_kv_key(g, i);
        sori_gguf_type t = sori_gguf_kv_type(g, i);
        e->name = key;
        if (gguf_edit_is_int(t)) {
            int64_t v = 0;
            sori_gguf_get_int(g, key, &v);
            e->kind = GGUF_EDIT_INT;
            e->i = interesting_int(s, v);
            if (rnd(s) % 4 == 0)
                e->type = SORI_GGUF_I64; /* negative values survive */
        } else if (t == SORI_GGUF_F32 || t == SORI_GGUF_F64) {
            double v = 0;
            sori_gguf_get_float(g, key, &v);
            e->kind = GGUF_EDIT_FLOAT;
            e->f = interesting_float(s, v);
        } else if (t == SORI_GGUF_BOOL) {
            bool b = false;
            sori_gguf_get_bool(g, key, &b);
            e->kind = GGUF_EDIT_BOOL;
            e->i = !b;
        } else if (t == SORI_GGUF_STRING) {
            e->kind = GGUF_EDIT_STR;
            e->s = words[rnd(s) % (sizeof words / sizeof words[0])];
        } else {
            e->kind = GGUF_EDIT_REMOVE; /* an array: the vocabulary */
        }
        if (rnd(s) % 16 == 0) /* or the wrong type */
            *e = (gguf_edit){.kind = rnd(s) % 2 ? GGUF_EDIT_STR : GGUF_EDIT_FLOAT, .name = key, .s = "7", .f = 7.0};
        return 1;
    }
    if (what < 11 && nkv > 0) { /* remove a key */
        e->kind = GGUF_EDIT_REMOVE;
        e->name = sori_gguf_kv_key(g, (int64_t)(rnd(s) % (uint64_t)nkv));
        return 1;
    }
    if (what < 13) { /* add (or set) a key the fixtures may lack */
        e->kind = GGUF_EDIT_INT;
        e->type = SORI_GGUF_I64;
        e->name = extra_keys[rnd(s) % (sizeof extra_keys / sizeof extra_keys[0])];
        e->i = interesting_int(s, 0);
        return 1;
    }
    if (nt > 0) { /* a tensor's shape, or the tensor dropped */
        const sori_gguf_tensor *t = sori_gguf_tensor_at(g, (int64_t)(rnd(s) % (uint64_t)nt));
        e->name = t->name;
        if (rnd(s) % 5 == 0) {
            e->kind = GGUF_EDIT_DROP;
            return 1;
        }
        e->kind = GGUF_EDIT_SHAPE;
        e->n_dims = t->n_dims;
        memcpy(e->ne, t->ne, sizeof e->ne);
        int d = (int)(rnd(s) % (uint64_t)t->n_dims);
        switch (rnd(s) % 5) {
        case 0: e->ne[d] += 1; break;
        case 1: e->ne[d] = e->ne[d] > 1 ? e->ne[d] - 1 : 2; break;
        case 2: e->ne[d] *= 2; break;
        case 3: e->ne[d] = 1; break;
        default: /* swap two dimensions, or drop / add one */
            if (t->n_dims > 1) {
                int64_t tmp = e->ne[0];
                e->ne[0] = e->ne[t->n_dims - 1];
                e->ne[t->n_dims - 1] = tmp;
            } else {
                e->n_dims = 2;
                e->ne[1] = 1;
            }
        }
        return e->ne[d] > 0 && e->ne[d] < ((int64_t)1 << 24);
    }
    return 0;
}

static size_t gguf_mutate(uint8_t *data, size_t size, size_t max_size, unsigned int seed)
{
    uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
    if (rnd(&s) % 8 == 0 || size < 4 || memcmp(data, "GGUF", 4) != 0) /* and text formats (ARPA) */
        return LLVMFuzzerMutate(data, size, max_size);
    sori_gguf *g = NULL;
    if (sori_gguf_open_memory(data, size, &g, NULL) != SORI_OK || rnd(&s) % 4 == 0) {
        sori_gguf_free(g); /* start from a model that loaded */
        g = NULL;
        int k = pool.n ? (int)(rnd(&s) % (uint64_t)pool.n) : -1;
        if (k < 0 || pool.size[k] > max_size)
            return LLVMFuzzerMutate(data, size, max_size);
        memcpy(data, pool.data[k], pool.size[k]);
        size = pool.size[k];
        if (sori_gguf_open_memory(data, size, &g, NULL) != SORI_OK)
            return size;
    }
    /* one to three edits */
    gguf_edit e[3];
    unsigned r = (unsigned)(rnd(&s) % 8);
    int n = 0, want = r < 5 ? 1 : r < 7 ? 2 : 3;
    for (int k = 0; k < 8 && n < want; k++)
        if (pick_edit(g, &s, &e[n]) && !gguf_edit_find(e, n, e[n].name, e[n].kind >= GGUF_EDIT_SHAPE))
            n++;
    void *out = NULL;
    size_t out_size = 0;
    sori_status st = n ? gguf_edit_apply(data, size, e, n, &out, &out_size) : SORI_ERR_INVALID_ARG;
    sori_gguf_free(g); /* after the edit: names in e point into it */
    if (st != SORI_OK || out_size > max_size) {
        free(out);
        return LLVMFuzzerMutate(data, size, max_size);
    }
    memcpy(data, out, out_size);
    free(out);
    return out_size;
}

#endif /* SORI_TESTS_FUZZ_GGUF_MUTATOR_H */
