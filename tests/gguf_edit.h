/*
 * tests/gguf_edit.h — rewrites a GGUF file with some of its keys or tensors
 * changed (tests and fuzzers only): the hand-made hostile models of
 * make_bad_models and test_bad_models, and fuzz_model's structure-aware
 * mutator, which changes metadata values and tensor shapes of a valid file
 * so that most of its inputs still load and run.
 *
 *     gguf_edit e[] = {{.kind = GGUF_EDIT_INT, .name = "sori.conformer.n_heads", .i = 0}};
 *     void *out; size_t n;
 *     if (gguf_edit_apply(data, size, e, 1, &out, &n) == SORI_OK) { ... free(out); }
 */
#ifndef SORI_TESTS_GGUF_EDIT_H
#define SORI_TESTS_GGUF_EDIT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/gguf.h"

typedef enum {
    GGUF_EDIT_INT = 0,   /* key := i (the key's own integer type, or .type when set / new) */
    GGUF_EDIT_FLOAT,     /* key := f (f32 unless .type says f64) */
    GGUF_EDIT_BOOL,      /* key := i != 0 */
    GGUF_EDIT_STR,       /* key := s */
    GGUF_EDIT_REMOVE,    /* key removed */
    GGUF_EDIT_SHAPE,     /* tensor `name` gets n_dims / ne (data cut or zero-extended) */
    GGUF_EDIT_DROP,      /* tensor `name` removed */
} gguf_edit_kind;

typedef struct {
    gguf_edit_kind kind;
    const char *name;     /* key or tensor */
    sori_gguf_type type;  /* GGUF_EDIT_INT/FLOAT: 0 = keep the key's type (i64 / f32 when new) */
    int64_t i;
    double f;
    const char *s;
    int n_dims;
    int64_t ne[SORI_GGUF_MAX_DIMS];
} gguf_edit;

static inline const gguf_edit *gguf_edit_find(const gguf_edit *e, int n, const char *name, int tensor)
{
    for (int k = 0; k < n; k++) {
        int is_tensor = e[k].kind == GGUF_EDIT_SHAPE || e[k].kind == GGUF_EDIT_DROP;
        if (is_tensor == tensor && strcmp(e[k].name, name) == 0)
            return &e[k];
    }
    return NULL;
}

static inline int gguf_edit_is_int(sori_gguf_type t)
{
    return t == SORI_GGUF_U8 || t == SORI_GGUF_I8 || t == SORI_GGUF_U16 || t == SORI_GGUF_I16 ||
           t == SORI_GGUF_U32 || t == SORI_GGUF_I32 || t == SORI_GGUF_U64 || t == SORI_GGUF_I64;
}

static inline size_t gguf_edit_type_size(sori_gguf_type t)
{
    switch (t) {
    case SORI_GGUF_U8: case SORI_GGUF_I8: case SORI_GGUF_BOOL: return 1;
    case SORI_GGUF_U16: case SORI_GGUF_I16: return 2;
    case SORI_GGUF_U32: case SORI_GGUF_I32: case SORI_GGUF_F32: return 4;
    default: return 8;
    }
}

/* v as an integer of type t, into out (little-endian host assumed). */
static inline void gguf_edit_pack_int(sori_gguf_type t, int64_t v, void *out)
{
    switch (t) {
    case SORI_GGUF_U8: case SORI_GGUF_I8: case SORI_GGUF_BOOL: { uint8_t x = (uint8_t)v; memcpy(out, &x, 1); break; }
    case SORI_GGUF_U16: case SORI_GGUF_I16: { uint16_t x = (uint16_t)v; memcpy(out, &x, 2); break; }
    case SORI_GGUF_U32: case SORI_GGUF_I32: { uint32_t x = (uint32_t)v; memcpy(out, &x, 4); break; }
    default: memcpy(out, &v, 8); break;
    }
}

static inline sori_status gguf_edit_set_value(sori_gguf_writer *w, const gguf_edit *e, sori_gguf_type orig)
{
    unsigned char v[8];
    if (e->kind == GGUF_EDIT_INT) {
        sori_gguf_type t = e->type ? e->type : gguf_edit_is_int(orig) ? orig : SORI_GGUF_I64;
        gguf_edit_pack_int(t, e->i, v);
        return sori_gguf_writer_set(w, e->name, t, v);
    }
    if (e->kind == GGUF_EDIT_FLOAT) {
        if (e->type == SORI_GGUF_F64) {
            double d = e->f;
            return sori_gguf_writer_set(w, e->name, SORI_GGUF_F64, &d);
        }
        float f = (float)e->f;
        return sori_gguf_writer_set(w, e->name, SORI_GGUF_F32, &f);
    }
    if (e->kind == GGUF_EDIT_BOOL) {
        bool b = e->i != 0;
        return sori_gguf_writer_set(w, e->name, SORI_GGUF_BOOL, &b);
    }
    return sori_gguf_writer_set_str(w, e->name, e->s ? e->s : "");
}

/* Copies key i of g into w unchanged. */
static inline sori_status gguf_edit_copy_kv(sori_gguf_writer *w, const sori_gguf *g, int64_t i)
{
    const char *key = sori_gguf_kv_key(g, i);
    sori_gguf_type t = sori_gguf_kv_type(g, i);
    unsigned char v[8];
    if (gguf_edit_is_int(t)) {
        int64_t x = 0;
        if (sori_gguf_get_int(g, key, &x) != SORI_OK) { /* a u64 above INT64_MAX */
            uint64_t u = UINT64_MAX;
            return sori_gguf_writer_set(w, key, t, &u);
        }
        gguf_edit_pack_int(t, x, v);
        return sori_gguf_writer_set(w, key, t, v);
    }
    if (t == SORI_GGUF_F32 || t == SORI_GGUF_F64) {
        double d = 0;
        sori_gguf_get_float(g, key, &d);
        float f = (float)d;
        return sori_gguf_writer_set(w, key, t, t == SORI_GGUF_F32 ? (const void *)&f : (const void *)&d);
    }
    if (t == SORI_GGUF_BOOL) {
        bool b = false;
        sori_gguf_get_bool(g, key, &b);
        return sori_gguf_writer_set(w, key, t, &b);
    }
    if (t == SORI_GGUF_STRING) {
        const char *s = "";
        sori_gguf_get_str(g, key, &s);
        return sori_gguf_writer_set_str(w, key, s);
    }
    /* arrays */
    sori_gguf_type et;
    uint64_t n = 0;
    if (sori_gguf_get_arr_info(g, key, &et, &n) != SORI_OK)
        return SORI_ERR_FORMAT;
    sori_status st = SORI_OK;
    if (et == SORI_GGUF_STRING) {
        const char **s = malloc((n ? n : 1) * sizeof *s);
        if (!s)
            return SORI_ERR_NO_MEMORY;
        for (uint64_t k = 0; k < n; k++)
            if (sori_gguf_get_arr_str(g, key, k, &s[k]) != SORI_OK)
                s[k] = "";
        st = sori_gguf_writer_set_arr(w, key, et, s, n);
        free(s);
        return st;
    }
    size_t es = gguf_edit_type_size(et);
    unsigned char *packed = malloc(n ? n * es : 1);
    int64_t *iv = gguf_edit_is_int(et) || et == SORI_GGUF_BOOL ? malloc((n ? n : 1) * sizeof *iv) : NULL;
    float *fv = et == SORI_GGUF_F32 || et == SORI_GGUF_F64 ? malloc((n ? n : 1) * sizeof *fv) : NULL;
    if (!packed || (!iv && !fv))
        st = SORI_ERR_NO_MEMORY;
    else if (iv)
        st = sori_gguf_get_arr_i64(g, key, iv, n);
    else
        st = sori_gguf_get_arr_f32(g, key, fv, n);
    for (uint64_t k = 0; k < n && st == SORI_OK; k++) {
        if (iv)
            gguf_edit_pack_int(et, iv[k], packed + k * es);
        else if (et == SORI_GGUF_F32)
            memcpy(packed + k * es, &fv[k], 4);
        else {
            double d = fv[k];
            memcpy(packed + k * es, &d, 8);
        }
    }
    if (st == SORI_OK)
        st = sori_gguf_writer_set_arr(w, key, et, packed, n);
    free(packed);
    free(iv);
    free(fv);
    return st;
}

/* The file `data` with the edits applied, in a malloc'd buffer. */
static inline sori_status gguf_edit_apply(const void *data, size_t size, const gguf_edit *e, int n_edits,
                                          void **out, size_t *out_size)
{
    sori_gguf *g = NULL;
    sori_gguf_writer *w = NULL;
    sori_status st = sori_gguf_open_memory(data, size, &g, NULL);
    if (st == SORI_OK)
        st = sori_gguf_writer_create(&w);
    if (st == SORI_OK)
        st = sori_gguf_writer_set_alignment(w, sori_gguf_alignment(g));
    for (int64_t i = 0; i < sori_gguf_n_kv(g) && st == SORI_OK; i++) {
        const char *key = sori_gguf_kv_key(g, i);
        if (strcmp(key, "general.alignment") == 0)
            continue;
        const gguf_edit *ed = gguf_edit_find(e, n_edits, key, 0);
        if (!ed)
            st = gguf_edit_copy_kv(w, g, i);
        else if (ed->kind != GGUF_EDIT_REMOVE)
            st = gguf_edit_set_value(w, ed, sori_gguf_kv_type(g, i));
    }
    for (int k = 0; k < n_edits && st == SORI_OK; k++) /* new keys */
        if (e[k].kind <= GGUF_EDIT_STR && sori_gguf_find_key(g, e[k].name) < 0)
            st = gguf_edit_set_value(w, &e[k], SORI_GGUF_I64);
    for (int64_t i = 0; i < sori_gguf_n_tensors(g) && st == SORI_OK; i++) {
        const sori_gguf_tensor *t = sori_gguf_tensor_at(g, i);
        const gguf_edit *ed = gguf_edit_find(e, n_edits, t->name, 1);
        if (ed && ed->kind == GGUF_EDIT_DROP)
            continue;
        if (!ed) {
            st = sori_gguf_writer_add_tensor(w, t->name, t->type, t->n_dims, t->ne, t->data);
            continue;
        }
        int64_t rows = 1;
        for (int d = 1; d < ed->n_dims; d++)
            rows *= ed->ne[d];
        size_t bytes = sori_ggml_row_size(t->type, ed->ne[0]) * (size_t)rows;
        unsigned char *buf = calloc(bytes ? bytes : 1, 1);
        if (!buf || !bytes || bytes > ((size_t)1 << 28)) {
            free(buf);
            st = SORI_ERR_INVALID_ARG;
            break;
        }
        memcpy(buf, t->data, bytes < t->n_bytes ? bytes : t->n_bytes);
        st = sori_gguf_writer_add_tensor(w, t->name, t->type, ed->n_dims, ed->ne, buf);
        free(buf);
    }
    if (st == SORI_OK)
        st = sori_gguf_writer_to_memory(w, out, out_size, NULL);
    sori_gguf_writer_free(w);
    sori_gguf_free(g);
    return st;
}

#endif /* SORI_TESTS_GGUF_EDIT_H */
