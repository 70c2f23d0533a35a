/*
 * kernels/gguf.h — GGUF v3 model files: a bounds-checked reader (memory-
 * mapped file or caller buffer) and a writer. Shared by every module that
 * loads weights. The format is llama.cpp's (docs/model-format.md has the
 * layout and sori's metadata conventions).
 *
 * Reader usage:
 *     sori_gguf *g = NULL;
 *     if (sori_gguf_open_file("m.gguf", &g, &err) != SORI_OK) ...
 *     const char *arch = NULL;
 *     sori_gguf_get_str(g, "general.architecture", &arch);
 *     const sori_gguf_tensor *t = sori_gguf_find_tensor(g, "enc.0.ff1.w");
 *     ... t->data, t->n_bytes, t->ne[0] (innermost) ...
 *     sori_gguf_free(g);      // invalidates every pointer obtained from g
 *
 * Everything a file says — counts, lengths, offsets, types, dimensions,
 * alignment — is checked against the file size before use: a truncated,
 * corrupt or absurd file gives SORI_ERR_FORMAT with the reason, never a crash.
 * A sori_gguf is immutable after opening and may be read from many threads.
 */
#ifndef SORI_KERNELS_GGUF_H
#define SORI_KERNELS_GGUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sori/common.h"

/* Metadata value types (numbering is the file format's). */
typedef enum sori_gguf_type {
    SORI_GGUF_U8 = 0,
    SORI_GGUF_I8 = 1,
    SORI_GGUF_U16 = 2,
    SORI_GGUF_I16 = 3,
    SORI_GGUF_U32 = 4,
    SORI_GGUF_I32 = 5,
    SORI_GGUF_F32 = 6,
    SORI_GGUF_BOOL = 7,
    SORI_GGUF_STRING = 8,
    SORI_GGUF_ARRAY = 9,
    SORI_GGUF_U64 = 10,
    SORI_GGUF_I64 = 11,
    SORI_GGUF_F64 = 12,
} sori_gguf_type;

/* Tensor element types (ggml's numbering). Those listed are understood by
 * the reader (sizes known); sori's kernels use F32, F16 and I32. */
typedef enum sori_ggml_type {
    SORI_GGML_F32 = 0,
    SORI_GGML_F16 = 1,
    SORI_GGML_Q4_0 = 2,
    SORI_GGML_Q4_1 = 3,
    SORI_GGML_Q5_0 = 6,
    SORI_GGML_Q5_1 = 7,
    SORI_GGML_Q8_0 = 8,
    SORI_GGML_Q8_1 = 9,
    SORI_GGML_Q2_K = 10,
    SORI_GGML_Q3_K = 11,
    SORI_GGML_Q4_K = 12,
    SORI_GGML_Q5_K = 13,
    SORI_GGML_Q6_K = 14,
    SORI_GGML_Q8_K = 15,
    SORI_GGML_I8 = 24,
    SORI_GGML_I16 = 25,
    SORI_GGML_I32 = 26,
    SORI_GGML_I64 = 27,
    SORI_GGML_F64 = 28,
    SORI_GGML_BF16 = 30,
} sori_ggml_type;

#define SORI_GGUF_MAX_DIMS 4
#define SORI_GGUF_DEFAULT_ALIGNMENT 32

/* Name of a tensor type ("f32", "q8_0"…), or NULL if unknown. */
const char *sori_ggml_type_name(uint32_t type);
/* Bytes of a row of n elements of this type; 0 if the type is unknown or n
 * is not a multiple of its block size. */
size_t sori_ggml_row_size(uint32_t type, int64_t n);

typedef struct sori_gguf_tensor {
    const char *name;      /* NUL-terminated */
    uint32_t type;         /* sori_ggml_type */
    int n_dims;            /* 1..4 */
    int64_t ne[SORI_GGUF_MAX_DIMS]; /* ne[0] innermost (fastest varying); unused = 1 */
    int64_t n_elements;
    uint64_t offset;       /* from the start of the data section */
    size_t n_bytes;
    const void *data;      /* inside the mapping / caller buffer */
} sori_gguf_tensor;

typedef struct sori_gguf sori_gguf;

sori_status sori_gguf_open_file(const char *path, sori_gguf **out, sori_error *err);
/* Parses a caller buffer, which must stay valid and unchanged until
 * sori_gguf_free (tensor data points into it). */
sori_status sori_gguf_open_memory(const void *data, size_t size, sori_gguf **out, sori_error *err);
void sori_gguf_free(sori_gguf *g);
/* A file's map: gives the pages read so far (a load's checks read every
 * tensor) back to the page cache, out of the process's resident set; what
 * is read later comes back page by page (minor faults, no I/O). Pointers
 * stay valid. Nothing for a buffer opened from memory. */
void sori_gguf_release_pages(const sori_gguf *g);

uint32_t sori_gguf_version(const sori_gguf *g);
uint32_t sori_gguf_alignment(const sori_gguf *g);
size_t sori_gguf_data_offset(const sori_gguf *g);

int64_t sori_gguf_n_kv(const sori_gguf *g);
const char *sori_gguf_kv_key(const sori_gguf *g, int64_t i);
sori_gguf_type sori_gguf_kv_type(const sori_gguf *g, int64_t i);
/* -1 if absent */
int64_t sori_gguf_find_key(const sori_gguf *g, const char *key);

/* Typed getters. SORI_ERR_NOT_FOUND: no such key; SORI_ERR_FORMAT: the key
 * has an incompatible type or its value does not fit.
 * get_int accepts every integer type (and bool); get_float also f32/f64;
 * strings are NUL-terminated and live as long as g. */
sori_status sori_gguf_get_int(const sori_gguf *g, const char *key, int64_t *out);
sori_status sori_gguf_get_float(const sori_gguf *g, const char *key, double *out);
sori_status sori_gguf_get_bool(const sori_gguf *g, const char *key, bool *out);
sori_status sori_gguf_get_str(const sori_gguf *g, const char *key, const char **out);
/* Arrays: element type and count. */
sori_status sori_gguf_get_arr_info(const sori_gguf *g, const char *key, sori_gguf_type *elem_type,
                                   uint64_t *n);
/* Copies a numeric array converted to f32 / i64: n must equal the count. */
sori_status sori_gguf_get_arr_f32(const sori_gguf *g, const char *key, float *out, uint64_t n);
sori_status sori_gguf_get_arr_i64(const sori_gguf *g, const char *key, int64_t *out, uint64_t n);
/* Element i of a string array. */
sori_status sori_gguf_get_arr_str(const sori_gguf *g, const char *key, uint64_t i, const char **out);

int64_t sori_gguf_n_tensors(const sori_gguf *g);
const sori_gguf_tensor *sori_gguf_tensor_at(const sori_gguf *g, int64_t i);
const sori_gguf_tensor *sori_gguf_find_tensor(const sori_gguf *g, const char *name);

/* ---- writer ------------------------------------------------------------------- */

typedef struct sori_gguf_writer sori_gguf_writer;

sori_status sori_gguf_writer_create(sori_gguf_writer **out);
void sori_gguf_writer_free(sori_gguf_writer *w);
/* Scalars (type is a scalar sori_gguf_type; value points to one value of it;
 * a string value is a NUL-terminated char*). Keys must be unique. */
sori_status sori_gguf_writer_set(sori_gguf_writer *w, const char *key, sori_gguf_type type,
                                 const void *value);
sori_status sori_gguf_writer_set_str(sori_gguf_writer *w, const char *key, const char *value);
/* Arrays of a scalar type (values packed) or of strings (values is const char *const *). */
sori_status sori_gguf_writer_set_arr(sori_gguf_writer *w, const char *key, sori_gguf_type elem_type,
                                     const void *values, uint64_t n);
/* Tensor data is copied. ne[0] innermost. */
sori_status sori_gguf_writer_add_tensor(sori_gguf_writer *w, const char *name, uint32_t type,
                                        int n_dims, const int64_t *ne, const void *data);
/* Sets general.alignment (power of two, default 32). */
sori_status sori_gguf_writer_set_alignment(sori_gguf_writer *w, uint32_t alignment);
/* The whole file in a malloc'd buffer (caller frees) or written to path. */
sori_status sori_gguf_writer_to_memory(sori_gguf_writer *w, void **data, size_t *size,
                                       sori_error *err);
sori_status sori_gguf_writer_to_file(sori_gguf_writer *w, const char *path, sori_error *err);

#endif /* SORI_KERNELS_GGUF_H */
