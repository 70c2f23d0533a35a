/* See blas.h. */
#include "blas.h"

#include <stddef.h>

#ifdef SORI_HAVE_OPENBLAS
#include <cblas.h>

void sori_gemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float *a,
               int lda, const float *b, int ldb, float beta, float *c, int ldc)
{
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void sori_blas_single_thread(void)
{
    openblas_set_num_threads(1);
}

const char *sori_blas_name(void)
{
    return "openblas";
}
#else
/* C = alpha op(A) op(B) + beta C, blocked over k so the inner loop runs
 * along contiguous rows of op(B) (or reduces over contiguous rows when B is
 * transposed). */
void sori_gemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float *a,
               int lda, const float *b, int ldb, float beta, float *c, int ldc)
{
    for (int i = 0; i < m; i++) {
        float *ci = c + (ptrdiff_t)i * ldc;
        for (int j = 0; j < n; j++)
            ci[j] = beta == 0.0f ? 0.0f : beta * ci[j];
        if (trans_b) {
            for (int j = 0; j < n; j++) {
                const float *bj = b + (ptrdiff_t)j * ldb;
                float acc = 0.0f;
                for (int p = 0; p < k; p++)
                    acc += (trans_a ? a[(ptrdiff_t)p * lda + i] : a[(ptrdiff_t)i * lda + p]) * bj[p];
                ci[j] += alpha * acc;
            }
        } else {
            for (int p = 0; p < k; p++) {
                float av = alpha * (trans_a ? a[(ptrdiff_t)p * lda + i] : a[(ptrdiff_t)i * lda + p]);
                const float *bp = b + (ptrdiff_t)p * ldb;
                for (int j = 0; j < n; j++)
                    ci[j] += av * bp[j];
            }
        }
    }
}

void sori_blas_single_thread(void)
{
}

const char *sori_blas_name(void)
{
    return "builtin";
}
#endif
