/* sori's AVX-512 kernels beside the AVX2 ones of backend_cpu.c (files built
 * with -mavx512f where the compiler can target it, which defines
 * SORI_CPU_AVX512 for backend_cpu.c; chosen at run time with
 * sori_p16_avx512, like the packed product of gemm_p16.h). */
#ifndef SORI_KERNELS_CPU_AVX512_H
#define SORI_KERNELS_CPU_AVX512_H

#include <stdint.h>

/* gemm_f16_avx512.c: a few rows of activations (rows 1-8: a decoder step,
 * its beams) against weights in f16, PyTorch layout [cols, K], rows ldb
 * halves apart: C = alpha · A · Bᵀ + beta · C, the weights read once, in
 * place. */
void sori_gemm_f16_rows_avx512(int rows, int cols, int K, float alpha, const float *A, int64_t lda,
                               const uint16_t *B, int64_t ldb, float beta, float *C, int64_t ldc);

/* attention_avx512.c: the two halves of a decoder step's attention for one
 * (item, head), keys and values read in place (rows `stride` floats apart),
 * dim a multiple of 16.
 *   out[i][j] = q_i · k_j for nq <= 8 queries (qs apart) and n keys, rows
 *     of out ldo apart;
 *   out_i = Σ_{j in [lo, hi)} p[i][j] v_j for nq <= 8 rows of weights (ldp
 *     apart), outputs ldo apart (written, not added to). */
void sori_att_dot_avx512(const float *q, int64_t qs, int nq, const float *k, int64_t stride, int n, int dim,
                         float *out, int64_t ldo);
void sori_att_weigh_avx512(const float *p, int64_t ldp, int nq, const float *v, int64_t stride, int lo, int hi,
                           int dim, float *out, int64_t ldo);

#endif
