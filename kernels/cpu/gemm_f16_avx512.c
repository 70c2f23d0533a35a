/* See avx512.h: a few rows of activations against f16 weights in the
 * PyTorch layout, with AVX-512 (compiled with -mavx512f, run only where the
 * CPU has it).
 *
 * A tile is R rows × NC weight rows (columns of C) in R·NC zmm accumulators:
 * per 16 values of k, NC loads of 16 halves widened to floats, R loads of A
 * and R·NC FMAs. A row of A is loaded once for NC columns and a weight
 * vector once for all R rows, so the weights stream from memory once per
 * call, which is what bounds a decoder step. */
#include "avx512.h"

#if defined(__AVX512F__)
#include <immintrin.h>

static inline __attribute__((always_inline)) void tile(const int R, const int NC, int K, float alpha, const float *A,
                                                       int64_t lda, const uint16_t *B, int64_t ldb, float beta,
                                                       float *C, int64_t ldc)
{
    __m512 s[8][8];
#pragma GCC unroll 8
    for (int r = 0; r < R; r++)
#pragma GCC unroll 8
        for (int c = 0; c < NC; c++)
            s[r][c] = _mm512_setzero_ps();
    int k = 0;
    for (; k + 16 <= K; k += 16) {
        __m512 w[8];
#pragma GCC unroll 8
        for (int c = 0; c < NC; c++)
            w[c] = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(B + c * ldb + k)));
#pragma GCC unroll 8
        for (int r = 0; r < R; r++) {
            const __m512 a = _mm512_loadu_ps(A + r * lda + k);
#pragma GCC unroll 8
            for (int c = 0; c < NC; c++)
                s[r][c] = _mm512_fmadd_ps(a, w[c], s[r][c]);
        }
    }
#pragma GCC unroll 8
    for (int r = 0; r < R; r++)
#pragma GCC unroll 8
        for (int c = 0; c < NC; c++) {
            float acc = _mm512_reduce_add_ps(s[r][c]);
            for (int kk = k; kk < K; kk++)
                acc += A[r * lda + kk] * _cvtsh_ss(B[c * ldb + kk]);
            float *o = C + r * ldc + c;
            *o = beta == 0.0f ? alpha * acc : alpha * acc + beta * *o;
        }
}

/* all columns for R rows: tiles of NC, the last columns one at a time */
#define ROWS(R, NC)                                                                                         \
    static void rows_##R(int cols, int K, float alpha, const float *A, int64_t lda, const uint16_t *B,      \
                         int64_t ldb, float beta, float *C, int64_t ldc)                                    \
    {                                                                                                       \
        int j = 0;                                                                                          \
        for (; j + NC <= cols; j += NC)                                                                     \
            tile(R, NC, K, alpha, A, lda, B + j * ldb, ldb, beta, C + j, ldc);                              \
        for (; j < cols; j++)                                                                               \
            tile(R, 1, K, alpha, A, lda, B + j * ldb, ldb, beta, C + j, ldc);                               \
    }
/* NC by the 32 registers: R·NC accumulators, NC weight vectors and one of A */
ROWS(1, 8)
ROWS(2, 8)
ROWS(3, 6)
ROWS(4, 5)
ROWS(5, 4)
ROWS(6, 4)
ROWS(7, 3)
ROWS(8, 3)

void sori_gemm_f16_rows_avx512(int rows, int cols, int K, float alpha, const float *A, int64_t lda,
                               const uint16_t *B, int64_t ldb, float beta, float *C, int64_t ldc)
{
    switch (rows) {
    case 1: rows_1(cols, K, alpha, A, lda, B, ldb, beta, C, ldc); break;
    case 2: rows_2(cols, K, alpha, A, lda, B, ldb, beta, C, ldc); break;
    case 3: rows_3(cols, K, alpha, A, lda, B, ldb, beta, C, ldc); break;
    case 4: rows_4(cols, K, alpha, A, lda, B, ldb, beta, C, ldc); break;
    case 5: rows_5(cols, K, alpha, A, lda, B, ldb, beta, C, ldc); break;
    case 6: rows_6(cols, K, alpha, A, lda, B, ldb, beta, C, ldc); break;
    case 7: rows_7(cols, K, alpha, A, lda, B, ldb, beta, C, ldc); break;
    case 8: rows_8(cols, K, alpha, A, lda, B, ldb, beta, C, ldc); break;
    default: break;
    }
}
#endif
