/* See avx512.h: a decoder step's attention with AVX-512 (compiled with
 * -mavx512f, run only where the CPU has it).
 *
 * Scores: eight keys at a time, each query's eight sums reduced together
 * (halves added, then a tree of horizontal adds) into one vector of eight
 * scores. Values: every query's output (up to 64 values in four zmm per
 * query) stays in registers while the value rows stream past once for all
 * the queries; the old way added each weighted row into memory, a chain of
 * store-to-load forwarding per value row. */
#include "avx512.h"
#include "vec.h"

#if defined(__AVX512F__)
#include <immintrin.h>

/* the sums of eight vectors, in order */
static inline __m256 sum8(__m512 a0, __m512 a1, __m512 a2, __m512 a3, __m512 a4, __m512 a5, __m512 a6, __m512 a7)
{
#define HALVES(a) _mm256_add_ps(_mm512_castps512_ps256(a), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(a), 1)))
    const __m256 h0 = HALVES(a0), h1 = HALVES(a1), h2 = HALVES(a2), h3 = HALVES(a3);
    const __m256 h4 = HALVES(a4), h5 = HALVES(a5), h6 = HALVES(a6), h7 = HALVES(a7);
#undef HALVES
    const __m256 u0 = _mm256_hadd_ps(_mm256_hadd_ps(h0, h1), _mm256_hadd_ps(h2, h3));
    const __m256 u1 = _mm256_hadd_ps(_mm256_hadd_ps(h4, h5), _mm256_hadd_ps(h6, h7));
    return _mm256_add_ps(_mm256_permute2f128_ps(u0, u1, 0x20), _mm256_permute2f128_ps(u0, u1, 0x31));
}

void sori_att_dot_avx512(const float *q, int64_t qs, int nq, const float *k, int64_t stride, int n, int dim,
                         float *out, int64_t ldo)
{
    int j = 0;
    for (; j + 8 <= n; j += 8) {
        const float *k0 = k + (int64_t)j * stride;
        if (j + 24 <= n)
            for (int r = 16; r < 24; r++)
                sori_prefetch_row(k0 + (int64_t)r * stride, dim);
        for (int i = 0; i < nq; i++) {
            const float *qi = q + (int64_t)i * qs;
            __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
            for (int c = 0; c < dim; c += 16) {
                const __m512 qv = _mm512_loadu_ps(qi + c);
                const float *kc = k0 + c;
                a0 = _mm512_fmadd_ps(qv, _mm512_loadu_ps(kc), a0);
                a1 = _mm512_fmadd_ps(qv, _mm512_loadu_ps(kc + stride), a1);
                a2 = _mm512_fmadd_ps(qv, _mm512_loadu_ps(kc + 2 * stride), a2);
                a3 = _mm512_fmadd_ps(qv, _mm512_loadu_ps(kc + 3 * stride), a3);
                a4 = _mm512_fmadd_ps(qv, _mm512_loadu_ps(kc + 4 * stride), a4);
                a5 = _mm512_fmadd_ps(qv, _mm512_loadu_ps(kc + 5 * stride), a5);
                a6 = _mm512_fmadd_ps(qv, _mm512_loadu_ps(kc + 6 * stride), a6);
                a7 = _mm512_fmadd_ps(qv, _mm512_loadu_ps(kc + 7 * stride), a7);
            }
            _mm256_storeu_ps(out + (int64_t)i * ldo + j, sum8(a0, a1, a2, a3, a4, a5, a6, a7));
        }
    }
    for (; j < n; j++) {
        const float *kj = k + (int64_t)j * stride;
        for (int i = 0; i < nq; i++) {
            const float *qi = q + (int64_t)i * qs;
            __m512 a = _mm512_setzero_ps();
            for (int c = 0; c < dim; c += 16)
                a = _mm512_fmadd_ps(_mm512_loadu_ps(qi + c), _mm512_loadu_ps(kj + c), a);
            out[(int64_t)i * ldo + j] = _mm512_reduce_add_ps(a);
        }
    }
}

/* NQ queries × DZ·16 values of the outputs from column d0, over keys [lo, hi) */
static inline __attribute__((always_inline)) void weigh_tile(const int NQ, const int DZ, const float *p, int64_t ldp,
                                                             const float *v, int64_t stride, int lo, int hi,
                                                             int d0, int dim, float *out, int64_t ldo)
{
    __m512 acc[8][4];
#pragma GCC unroll 8
    for (int i = 0; i < NQ; i++)
#pragma GCC unroll 4
        for (int z = 0; z < DZ; z++)
            acc[i][z] = _mm512_setzero_ps();
    for (int j = lo; j < hi; j++) {
        const float *vj = v + (int64_t)j * stride + d0;
        if (d0 == 0)
            sori_prefetch_row(vj + 16 * stride, dim);
        __m512 vv[4];
#pragma GCC unroll 4
        for (int z = 0; z < DZ; z++)
            vv[z] = _mm512_loadu_ps(vj + 16 * z);
#pragma GCC unroll 8
        for (int i = 0; i < NQ; i++) {
            const __m512 pij = _mm512_set1_ps(p[(int64_t)i * ldp + j]);
#pragma GCC unroll 4
            for (int z = 0; z < DZ; z++)
                acc[i][z] = _mm512_fmadd_ps(pij, vv[z], acc[i][z]);
        }
    }
#pragma GCC unroll 8
    for (int i = 0; i < NQ; i++)
#pragma GCC unroll 4
        for (int z = 0; z < DZ; z++)
            _mm512_storeu_ps(out + (int64_t)i * ldo + d0 + 16 * z, acc[i][z]);
}

/* all the outputs of NQ queries: 64 values at a time (32 for 7-8 queries:
 * the accumulators fill 16-24 of the 32 registers), then 16 */
#define WEIGH(NQ, DZ)                                                                                       \
    static void weigh_##NQ(const float *p, int64_t ldp, const float *v, int64_t stride, int lo, int hi,     \
                           int dim, float *out, int64_t ldo)                                                \
    {                                                                                                       \
        int d0 = 0;                                                                                         \
        for (; d0 + 16 * DZ <= dim; d0 += 16 * DZ)                                                          \
            weigh_tile(NQ, DZ, p, ldp, v, stride, lo, hi, d0, dim, out, ldo);                               \
        for (; d0 < dim; d0 += 16)                                                                          \
            weigh_tile(NQ, 1, p, ldp, v, stride, lo, hi, d0, dim, out, ldo);                                \
    }
WEIGH(1, 4)
WEIGH(2, 4)
WEIGH(3, 4)
WEIGH(4, 4)
WEIGH(5, 4)
WEIGH(6, 4)
WEIGH(7, 2)
WEIGH(8, 2)
#undef WEIGH

void sori_att_weigh_avx512(const float *p, int64_t ldp, int nq, const float *v, int64_t stride, int lo, int hi,
                           int dim, float *out, int64_t ldo)
{
    static void (*const by_nq[8])(const float *, int64_t, const float *, int64_t, int, int, int, float *,
                                  int64_t) = {weigh_1, weigh_2, weigh_3, weigh_4,
                                              weigh_5, weigh_6, weigh_7, weigh_8};
    by_nq[nq - 1](p, ldp, v, stride, lo, hi, dim, out, ldo);
}
#endif
