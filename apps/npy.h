/* Writing NumPy .npy files (format version 1.0) for `sori features`. */
#ifndef SORI_APPS_NPY_H
#define SORI_APPS_NPY_H

#include <stdint.h>

/* A little-endian float32 C-order array of shape (rows, cols). 0 on
 * success, -1 with errno set on failure. */
int npy_write_f32(const char *path, const float *data, int64_t rows, int64_t cols);

#endif
