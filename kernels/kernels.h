/*
 * kernels/kernels.h — what the kernels module offers the modules above it
 * (dsp, asr, lm, tts) and the tests: validated op dispatch on a runtime,
 * backend memory, the CPU thread pool, error/log helpers, f16 conversion
 * and a few host-side weight utilities. Not a public header.
 */
#ifndef SORI_KERNELS_KERNELS_H
#define SORI_KERNELS_KERNELS_H

#include <stdarg.h>

#include "backend.h"

/* ---- errors and logging ----------------------------------------------------- */

/* Fills *err (if not NULL) and returns st. printf-style message. */
sori_status sori_fail(sori_error *err, sori_status st, int backend_code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void sori_log(sori_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- thread pool -------------------------------------------------------------- */

typedef void (*sori_task_fn)(void *ctx, int64_t begin, int64_t end);

/* n_threads includes the calling thread (n_threads - 1 workers). */
sori_status sori_thread_pool_create(int n_threads, sori_thread_pool **out, sori_error *err);
/* Run by each pool worker as it starts (kernels/cpu/backend_cpu.c): the CPU
 * ops' per-thread scratch is made there, so a worker that gets its first
 * task of some kind late does not allocate in the middle of a stream. */
void sori_cpu_thread_start(void);
void sori_thread_pool_free(sori_thread_pool *p);
int sori_thread_pool_size(const sori_thread_pool *p);
/* Splits [0, n) into contiguous ranges of at least `grain` items and runs fn
 * on them, the caller taking part. If another thread is already using the
 * pool, runs everything on the calling thread instead of waiting (so
 * concurrent callers never oversubscribe the cores or deadlock). p may be
 * NULL (serial). */
void sori_parallel_for(sori_thread_pool *p, int64_t n, int64_t grain, sori_task_fn fn, void *ctx);

/* ---- runtime internals -------------------------------------------------------- */

const sori_backend_iface *sori_rt_iface(const sori_runtime *rt);
sori_backend *sori_rt_backend(const sori_runtime *rt);
sori_thread_pool *sori_rt_pool(const sori_runtime *rt);
/* Valid stream indices are 0..n-1. Each index is used by one thread at a
 * time; on the CPU, work on any stream runs synchronously in the caller
 * (with the pool), so streams there only name the caller's slot. */
int sori_rt_n_streams(const sori_runtime *rt);

/* Validates the descriptor (shapes, NULL pointers, dtypes the backend
 * supports) and runs it. SORI_ERR_INVALID_ARG names the op and field. */
sori_status sori_rt_run(sori_runtime *rt, int stream, const sori_op_desc *op, sori_error *err);
sori_status sori_op_validate(const sori_op_desc *op, sori_error *err);

sori_status sori_rt_alloc(sori_runtime *rt, size_t n_bytes, void **ptr, sori_error *err);
void sori_rt_release(sori_runtime *rt, void *ptr);
sori_status sori_rt_upload(sori_runtime *rt, int stream, void *dst, const void *src, size_t n,
                           sori_error *err);
sori_status sori_rt_download(sori_runtime *rt, int stream, void *dst, const void *src, size_t n,
                             sori_error *err);
sori_status sori_rt_sync(sori_runtime *rt, int stream, sori_error *err);
/* Zeroes n bytes of backend memory, ordered on `stream`. */
sori_status sori_rt_memzero(sori_runtime *rt, int stream, void *dst, size_t n, sori_error *err);
bool sori_rt_supports(sori_runtime *rt, sori_op op, sori_dtype weight_type);

/* ---- numbers ------------------------------------------------------------------ */

uint16_t sori_f32_to_f16(float f); /* round to nearest even, inf/nan kept */
float sori_f16_to_f32(uint16_t h);
/* n values (a multiple of 32) to GGUF's Q8_0 blocks, as ggml quantizes:
 * d = max|x| / 127 (f16), q = round(x / d). out holds n / 32 * 34 bytes. */
void sori_quantize_q8_0(const float *x, int64_t n, uint8_t *out);

/* Folds an inference batch norm that follows a convolution into the
 * convolution's weights and bias (exact up to float rounding):
 *   w[o,:] *= s[o], b[o] = (b[o] - mean[o]) * s[o] + beta[o],
 *   s[o] = gamma[o] / sqrt(var[o] + eps).
 * w has c_out rows of per_out values; b has c_out values (write zeros first
 * if the conv had no bias). */
void sori_fold_batch_norm(float *w, float *b, int c_out, int64_t per_out, const float *mean,
                          const float *var, const float *gamma, const float *beta, float eps);

/* NeMo's RelPositionalEncoding table for a key length t: 2t-1 rows of
 * d_model values, relative positions t-1 down to -(t-1);
 * pe[p, 2i] = sin(pos * w_i), pe[p, 2i+1] = cos(pos * w_i),
 * w_i = exp(-2i * ln(10000) / d_model). out must hold (2t-1)*d_model floats. */
void sori_rel_pos_encoding(float *out, int t, int d_model);

#endif /* SORI_KERNELS_KERNELS_H */
