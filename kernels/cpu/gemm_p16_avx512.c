/* See gemm_p16.h: the same product with AVX-512 (compiled with
 * -mavx512f, and run only where the CPU has it: sori_gemm_p16 chooses).
 *
 * A micro-tile is 12 rows × 32 columns (two panels side by side) in 24 of
 * the 32 zmm registers: per k, two loads of weights, twelve broadcasts of A
 * (folded into the FMAs as memory operands) and 24 FMAs. k is blocked at 256
 * so the two panels' block (32 KiB) stays in L1 while a block of 192 rows
 * of A (192 KiB) streams from L2, read where it lies or, when its rows are
 * a multiple of 4 KiB apart, packed k-major in groups of 12. */
#include "gemm_p16.h"

#if defined(__AVX512F__)
#include <immintrin.h>

enum {
    MR = 12,  /* rows of a micro-tile */
    KC = 256, /* k block */
    MC = 192, /* rows of A per block: MC × KC floats fill SORI_P16_SCRATCH; a multiple of MR */
    NC = 512, /* columns per slab */
};
_Static_assert(MC * KC == SORI_P16_SCRATCH && MC % MR == 0, "the packed block of A fills the scratch");

typedef struct {
    float alpha, beta;
    int first, last;
    const float *bias; /* the tile's columns, or NULL */
} tile_out;

static inline __attribute__((always_inline)) void out16(__m512 v, float *cr, const float *bias, const tile_out *o)
{
    v = _mm512_mul_ps(_mm512_set1_ps(o->alpha), v);
    if (!o->first)
        v = _mm512_add_ps(v, _mm512_loadu_ps(cr));
    else if (o->beta != 0.0f)
        v = _mm512_fmadd_ps(_mm512_set1_ps(o->beta), _mm512_loadu_ps(cr), v);
    if (o->last && bias)
        v = _mm512_add_ps(v, _mm512_loadu_ps(bias));
    _mm512_storeu_ps(cr, v);
}

/* Rows of the tile, each two accumulators (np panels: 1 or 2); r a constant
 * after inlining, so the unused rows and panels vanish. */
#define ROW_FMA(r)                                                                                 \
    if (rows > r) {                                                                                \
        const __m512 av = _mm512_set1_ps(packed ? a[k * MR + r] : a[r * lda + k]);                 \
        c##r##0 = _mm512_fmadd_ps(av, w0, c##r##0);                                                \
        if (np > 1)                                                                                \
            c##r##1 = _mm512_fmadd_ps(av, w1, c##r##1);                                            \
    }
#define ROW_OUT(r)                                                                                 \
    if (rows > r) {                                                                                \
        out16(c##r##0, c + r * ldc, o->bias, o);                                                   \
        if (np > 1)                                                                                \
            out16(c##r##1, c + r * ldc + 16, o->bias ? o->bias + 16 : NULL, o);                    \
    }
static inline __attribute__((always_inline)) void micro(const int rows, const int np, const int packed, int kc,
                                                        const float *a, int64_t lda, const float *w,
                                                        int64_t w_next, float *c, int64_t ldc, const tile_out *o)
{
    __m512 c00 = _mm512_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00;
    __m512 c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00, c60 = c00, c61 = c00, c70 = c00;
    __m512 c71 = c00, c80 = c00, c81 = c00, c90 = c00, c91 = c00, c100 = c00, c101 = c00, c110 = c00;
    __m512 c111 = c00;
    const float *w1p = w + w_next;
    for (int k = 0; k < kc; k++) {
        const __m512 w0 = _mm512_loadu_ps(w + (int64_t)k * SORI_P16);
        const __m512 w1 = np > 1 ? _mm512_loadu_ps(w1p + (int64_t)k * SORI_P16) : w0;
        ROW_FMA(0) ROW_FMA(1) ROW_FMA(2) ROW_FMA(3) ROW_FMA(4) ROW_FMA(5)
        ROW_FMA(6) ROW_FMA(7) ROW_FMA(8) ROW_FMA(9) ROW_FMA(10) ROW_FMA(11)
    }
    ROW_OUT(0) ROW_OUT(1) ROW_OUT(2) ROW_OUT(3) ROW_OUT(4) ROW_OUT(5)
    ROW_OUT(6) ROW_OUT(7) ROW_OUT(8) ROW_OUT(9) ROW_OUT(10) ROW_OUT(11)
}
#undef ROW_FMA
#undef ROW_OUT

#define MICRO_ROWS(np, packed)                                                                     \
    switch (rows) {                                                                                \
    case 12: micro(12, np, packed, kc, a, lda, w, w_next, c, ldc, o); break;                       \
    case 11: micro(11, np, packed, kc, a, lda, w, w_next, c, ldc, o); break;                       \
    case 10: micro(10, np, packed, kc, a, lda, w, w_next, c, ldc, o); break;                       \
    case 9: micro(9, np, packed, kc, a, lda, w, w_next, c, ldc, o); break;                         \
    case 8: micro(8, np, packed, kc, a, lda, w, w_next, c, ldc, o); break;                         \
    case 7: micro(7, np, packed, kc, a, lda, w, w_next, c, ldc, o); break;                         \
    case 6: micro(6, np, packed, kc, a, lda, w, w_next, c, ldc, o); break;                         \
    case 5: micro(5, np, packed, kc, a, lda, w, w_next, c, ldc, o); break;                         \
    case 4: micro(4, np, packed, kc, a, lda, w, w_next, c, ldc, o); break;                         \
    case 3: micro(3, np, packed, kc, a, lda, w, w_next, c, ldc, o); break;                         \
    case 2: micro(2, np, packed, kc, a, lda, w, w_next, c, ldc, o); break;                         \
    default: micro(1, np, packed, kc, a, lda, w, w_next, c, ldc, o); break;                        \
    }

/* A packed group of rows (k-major, MR a k; a short group is zero-padded
 * and its rows past `rows` are not stored) against one or two panels. */
static void micro_packed(int rows, int np, int kc, const float *a, const float *w, int64_t w_next, float *c,
                         int64_t ldc, const tile_out *o)
{
    const int64_t lda = 0;
    if (rows == MR) {
        if (np > 1)
            micro(MR, 2, 1, kc, a, lda, w, w_next, c, ldc, o);
        else
            micro(MR, 1, 1, kc, a, lda, w, w_next, c, ldc, o);
        return;
    }
    if (np > 1) {
        MICRO_ROWS(2, 1)
    } else {
        MICRO_ROWS(1, 1)
    }
}

/* Rows of A read in place (a streaming step of at most MR rows). */
static void micro_direct(int rows, int np, int kc, const float *a, int64_t lda, const float *w, int64_t w_next,
                         float *c, int64_t ldc, const tile_out *o)
{
    if (np > 1) {
        MICRO_ROWS(2, 0)
    } else {
        MICRO_ROWS(1, 0)
    }
}
#undef MICRO_ROWS

void sori_gemm_p16_avx512(int m, int n, int k, float alpha, const float *a, int64_t lda, const float *wp, float beta,
                          float *c, int64_t ldc, const float *bias, sori_act act, float *scratch)
{
    /* rows of A read in place, twelve streams, unless they lie a multiple of 4 KiB apart: then the
     * twelve would meet in the same L1 sets, and a block of them is packed (measured: in place is
     * 1.1-1.4x faster at Conformer shapes, packing 1.7x at k = 2048) */
    const int packed = scratch && m > MR && lda % 1024 == 0;
    const int64_t w_next = (int64_t)SORI_P16 * k; /* from a panel's block to the next panel's */
    for (int j0 = 0; j0 < n; j0 += NC) {
        const int j1 = j0 + NC < n ? j0 + NC : n;
        for (int k0 = 0; k0 < k; k0 += KC) {
            const int kc = k - k0 < KC ? k - k0 : KC;
            const int first = k0 == 0, last = k0 + kc == k;
            for (int i0 = 0; i0 < m; i0 += MC) {
                const int i1 = i0 + MC < m ? i0 + MC : m;
                if (packed)
                    sori_p16_pack_a(a, lda, i0, i1, k0, kc, MR, scratch);
                for (int p = j0; p < j1; p += 2 * SORI_P16) {
                    const int np = j1 - p >= 2 * SORI_P16 ? 2 : 1;
                    const float *w = wp + (int64_t)p * k + (int64_t)k0 * SORI_P16;
                    const tile_out o = {.alpha = alpha, .beta = beta, .first = first, .last = last,
                                        .bias = bias ? bias + p : NULL};
                    for (int i = i0; i < i1; i += MR) {
                        const int rows = i1 - i < MR ? i1 - i : MR;
                        float *ci = c + (int64_t)i * ldc + p;
                        if (packed)
                            micro_packed(rows, np, kc, scratch + (int64_t)(i - i0) * kc, w, w_next, ci, ldc, &o);
                        else
                            micro_direct(rows, np, kc, a + (int64_t)i * lda + k0, lda, w, w_next, ci, ldc, &o);
                    }
                }
                if (last && act != SORI_ACT_NONE)
                    for (int i = i0; i < i1; i++)
                        sori_cpu_act_row(c + (int64_t)i * ldc + j0, j1 - j0, act);
            }
        }
    }
}
#endif


