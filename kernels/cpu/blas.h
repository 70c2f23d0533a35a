/* The one matrix-product entry point of the CPU backend: OpenBLAS's sgemm
 * when the build has it (SORI_HAVE_OPENBLAS), else a portable blocked loop
 * (slow; for building the GPU test target on a machine without OpenBLAS's
 * development files). Row-major. */
#ifndef SORI_KERNELS_CPU_BLAS_H
#define SORI_KERNELS_CPU_BLAS_H

#include <stdbool.h>

void sori_gemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float *a,
               int lda, const float *b, int ldb, float beta, float *c, int ldc);
/* Keep the BLAS library from starting threads of its own. */
void sori_blas_single_thread(void);
/* "openblas" or "builtin" */
const char *sori_blas_name(void);

#endif
