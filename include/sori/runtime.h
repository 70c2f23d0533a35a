/*
 * sori/runtime.h — the one runtime that every sori model is loaded into.
 *
 * A runtime owns the compute backend (CPU, or one CUDA device), a CPU thread
 * pool, and a memory pool from which sessions (ASR streams, TTS syntheses, LM
 * contexts) take fixed slabs. Create one per process and load models into it.
 *
 * Usage:
 *     sori_runtime_params p = sori_runtime_default_params();
 *     p.device = SORI_DEVICE_AUTO;           // CUDA if a GPU is usable, else CPU
 *     sori_runtime *rt = NULL;
 *     sori_error err = {0};
 *     if (sori_runtime_create(&p, &rt, &err) != SORI_OK) { ... err.message ... }
 *     ...
 *     sori_runtime_free(rt);                 // after every model and session
 *
 * The CUDA backend is a separate module (libsori_cuda.so) loaded at run time:
 * the same program runs on a machine without any CUDA library, where asking
 * for SORI_DEVICE_CUDA returns SORI_ERR_NO_DEVICE.
 *
 * Thread safety: sori_runtime_create/free are not thread-safe with respect to
 * the same runtime. Slab acquire/release and the query functions are
 * thread-safe.
 */
#ifndef SORI_RUNTIME_H
#define SORI_RUNTIME_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sori_runtime sori_runtime;

typedef enum sori_device_kind {
    SORI_DEVICE_CPU = 0,
    SORI_DEVICE_CUDA = 1,
    SORI_DEVICE_AUTO = 2, /* CUDA device 0 if usable, else the CPU */
} sori_device_kind;

typedef struct sori_runtime_params {
    sori_device_kind device;
    int device_index;          /* CUDA ordinal, for SORI_DEVICE_CUDA */
    int n_threads;             /* CPU worker threads, >= 1 (caller included) */
    int n_streams;             /* CUDA streams in the pool, 1..16 */
    size_t pool_bytes;         /* session memory pool, in bytes (> 0) */
} sori_runtime_params;

/* Defaults: AUTO, device 0, n_threads = online cores (at most 16),
 * n_streams = 4, pool_bytes = 256 MiB. */
SORI_API sori_runtime_params sori_runtime_default_params(void);

/* Parse "cpu", "cuda", "cuda:N" or "auto" into kind + index.
 * SORI_ERR_INVALID_ARG for anything else. */
SORI_API sori_status sori_device_parse(const char *text, sori_device_kind *kind, int *index);

/* Create a runtime. params == NULL means the defaults.
 * SORI_ERR_NO_DEVICE: CUDA asked for but the module, driver or GPU is absent.
 * SORI_ERR_INVALID_ARG: a parameter out of range.
 * SORI_ERR_NO_MEMORY: the pool or the threads could not be created. */
SORI_API sori_status sori_runtime_create(const sori_runtime_params *params, sori_runtime **out,
                                         sori_error *err);
SORI_API void sori_runtime_free(sori_runtime *rt);

/* The parameters in force (AUTO resolved to CPU or CUDA; thread count
 * clamped). */
SORI_API sori_runtime_params sori_runtime_get_params(const sori_runtime *rt);

/* "cpu" or "cuda". */
SORI_API const char *sori_runtime_backend_name(const sori_runtime *rt);

/* ---- session memory ----------------------------------------------------
 * A slab is a fixed block of backend memory (device memory on CUDA) taken
 * from the runtime's pool when a session is created and returned when it is
 * freed. Slabs are 256-byte aligned. SORI_ERR_NO_MEMORY when the pool has no
 * free block that large; the pool never grows. */
typedef struct sori_slab sori_slab;

SORI_API sori_status sori_runtime_slab_acquire(sori_runtime *rt, size_t n_bytes, sori_slab **out,
                                               sori_error *err);
SORI_API void sori_runtime_slab_release(sori_runtime *rt, sori_slab *slab);
SORI_API void *sori_slab_data(const sori_slab *slab);
SORI_API size_t sori_slab_size(const sori_slab *slab);

typedef struct sori_pool_stats {
    size_t capacity_bytes;
    size_t used_bytes;
    size_t largest_free_bytes;
    int n_slabs;
} sori_pool_stats;
SORI_API sori_pool_stats sori_runtime_pool_stats(sori_runtime *rt);

/* Runs a small Conformer-shaped workload (layer norm, feed-forward, relative-
 * position attention, depthwise convolution, GLU, LSTM step) on the runtime's
 * backend and checks it against a double-precision reference computed on the
 * host; writes a human-readable report (one line per op with its relative
 * error, and the matmul throughput). SORI_ERR_BACKEND if any op exceeds its
 * tolerance. */
SORI_API sori_status sori_runtime_selfcheck(sori_runtime *rt, char *report, size_t report_size,
                                            sori_error *err);

/* ---- discovery ---------------------------------------------------------- */

typedef struct sori_gpu_info {
    int index;
    char name[128];
    int cc_major, cc_minor;     /* compute capability */
    size_t total_bytes;
} sori_gpu_info;

/* Whether the CUDA module could be loaded; if not, `why` (may be NULL) gets
 * the reason. Never fails hard. */
SORI_API int sori_cuda_available(char *why, size_t why_size);

/* GPUs visible through the CUDA module: writes up to `max` entries and sets
 * *n_found. Zero GPUs is not an error. */
SORI_API sori_status sori_cuda_devices(sori_gpu_info *out, int max, int *n_found);

#ifdef __cplusplus
}
#endif
#endif /* SORI_RUNTIME_H */
