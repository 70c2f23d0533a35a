/*
 * sori/common.h — conventions shared by every sori module: status codes,
 * error detail, version, and the logger.
 *
 * Usage:
 *     sori_error err = {0};
 *     sori_runtime *rt = NULL;
 *     sori_status st = sori_runtime_create(NULL, &rt, &err);
 *     if (st != SORI_OK)
 *         fprintf(stderr, "sori: %s: %s\n", sori_status_str(st), err.message);
 *
 * Rules that hold for the whole API:
 *  - Every function that can fail returns a sori_status (0 = OK, negative =
 *    error). Constructors write the object through an out-parameter and leave
 *    it NULL on failure.
 *  - Error detail is written into a caller-owned sori_error when one is passed
 *    (it may be NULL); there is no hidden global "last error".
 *  - Every _create/_load has a _free, and _free(NULL) is a no-op.
 *  - The library never aborts on bad input, a corrupt file, a CUDA failure or
 *    out-of-memory: it returns an error.
 */
#ifndef SORI_COMMON_H
#define SORI_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(SORI_BUILDING_LIBRARY)
#define SORI_API __attribute__((visibility("default")))
#else
#define SORI_API
#endif

#define SORI_VERSION_MAJOR 0
#define SORI_VERSION_MINOR 1
#define SORI_VERSION_PATCH 0

/* Status codes. Values are part of the ABI: never renumber, only append. */
typedef enum sori_status {
    SORI_OK = 0,
    SORI_ERR_INVALID_ARG = -1,   /* a NULL handle, a bad size or option      */
    SORI_ERR_NO_MEMORY = -2,     /* host or device allocation failed         */
    SORI_ERR_IO = -3,            /* a file could not be opened/read/written  */
    SORI_ERR_FORMAT = -4,        /* a file is truncated, corrupt or absurd   */
    SORI_ERR_UNSUPPORTED = -5,   /* valid, but not supported by this build   */
    SORI_ERR_NO_DEVICE = -6,     /* the requested backend/GPU is not present */
    SORI_ERR_BACKEND = -7,       /* a backend call (CUDA, cuBLAS…) failed    */
    SORI_ERR_NOT_FOUND = -8,     /* a named key/tensor/file does not exist   */
    SORI_ERR_STATE = -9,         /* the call is not valid in this state      */
    SORI_ERR_INTERNAL = -10,     /* a bug in sori: please report             */
} sori_status;

/* A short, static, human-readable description of a status. Never NULL:
 * an unknown value gives "unknown status". */
SORI_API const char *sori_status_str(sori_status status);

/* Error detail filled by functions that take a `sori_error *` (may be NULL).
 * On success it is left untouched. */
typedef struct sori_error {
    sori_status status;     /* same value as the function returned        */
    int backend_code;       /* e.g. a cudaError_t / cublasStatus_t, or 0  */
    char message[256];      /* NUL-terminated, names the object and cause */
} sori_error;

/* "0.1.0" */
SORI_API const char *sori_version_string(void);

/* ---- logging -------------------------------------------------------- */

typedef enum sori_log_level {
    SORI_LOG_DEBUG = 0,
    SORI_LOG_INFO = 1,
    SORI_LOG_WARN = 2,
    SORI_LOG_ERROR = 3,
    SORI_LOG_NONE = 4,
} sori_log_level;

/* A log sink. `message` has no trailing newline. Called from whatever thread
 * logs; it must be thread-safe. */
typedef void (*sori_log_fn)(sori_log_level level, const char *message, void *user);

/* Redirect the log (process-wide, like whisper_log_set). fn == NULL restores
 * the default sink (stderr). Messages below `min_level` are dropped.
 * Default: stderr, SORI_LOG_WARN. */
SORI_API void sori_log_set(sori_log_fn fn, void *user, sori_log_level min_level);

#ifdef __cplusplus
}
#endif
#endif /* SORI_COMMON_H */
