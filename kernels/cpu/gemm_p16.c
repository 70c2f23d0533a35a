/* See gemm_p16.h. The blocking follows the BLIS recipe for AVX2/FMA
 * (a 6 × 16 micro-tile in 12 accumulators, k blocked so one panel's block
 * sits in L1 while the rows of A sweep past it), without packing A: its
 * rows are read in place, six at a time, and a block of them stays in L2
 * while every panel passes. */
#include "gemm_p16.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define P16_VEC 1
#else
#define P16_VEC 0
#endif

enum {
    MR = 6,   /* rows of a micro-tile */
    KC = 512, /* k block: a panel's block is KC × 16 floats = 16 KiB (L1) */
    MC = 96,  /* rows of A per block: MC × KC floats = 96 KiB (L2), a multiple of MR */
    NC = 512, /* columns (weight rows) per slab: NC × KC floats = 512 KiB */
};
_Static_assert(MC * KC == SORI_P16_SCRATCH && MC % MR == 0, "the packed block of A fills the scratch");

int sori_p16_preferred(int n, int k)
{
    return n > 0 && k > 0 && n % SORI_P16 == 0 && ((n <= 1024 && k <= 1024) || sori_p16_avx512(-1));
}

void sori_pack_p16(const float *w, int n, int k, float *out)
{
    for (int p = 0; p < n; p += SORI_P16)
        for (int kk = 0; kk < k; kk++)
            for (int j = 0; j < SORI_P16; j++)
                out[(int64_t)p * k + (int64_t)kk * SORI_P16 + j] = w[(int64_t)(p + j) * k + kk];
}

int sori_pack_p16_in_place(float *w, int n, int k)
{
    float *tmp = malloc((size_t)n * k * sizeof(float));
    if (!tmp)
        return 0;
    memcpy(tmp, w, (size_t)n * k * sizeof(float));
    sori_pack_p16(tmp, n, k, w);
    free(tmp);
    return 1;
}

void sori_unpack_p16(const float *p, int n, int k, float *out)
{
    for (int r = 0; r < n; r++) {
        const float *panel = p + (int64_t)(r / SORI_P16) * SORI_P16 * k;
        for (int kk = 0; kk < k; kk++)
            out[(int64_t)r * k + kk] = panel[(int64_t)kk * SORI_P16 + r % SORI_P16];
    }
}

/* How a tile's sums meet C: the first k block applies alpha and beta
 * (beta 0 never reads C), later blocks add; the last one adds the bias. */
typedef struct {
    float alpha, beta;
    int first, last;
    const float *bias; /* the tile's 16 columns, or NULL */
} tile_out;

#if P16_VEC
/* One row of the tile: its two accumulators to C (alpha, beta or +=, bias). */
static inline __attribute__((always_inline)) void row_out(__m256 v0, __m256 v1, float *cr, const tile_out *o)
{
    const __m256 al = _mm256_set1_ps(o->alpha);
    v0 = _mm256_mul_ps(al, v0);
    v1 = _mm256_mul_ps(al, v1);
    if (!o->first) {
        v0 = _mm256_add_ps(v0, _mm256_loadu_ps(cr));
        v1 = _mm256_add_ps(v1, _mm256_loadu_ps(cr + 8));
    } else if (o->beta != 0.0f) {
        const __m256 be = _mm256_set1_ps(o->beta);
        v0 = _mm256_fmadd_ps(be, _mm256_loadu_ps(cr), v0);
        v1 = _mm256_fmadd_ps(be, _mm256_loadu_ps(cr + 8), v1);
    }
    if (o->last && o->bias) {
        v0 = _mm256_add_ps(v0, _mm256_loadu_ps(o->bias));
        v1 = _mm256_add_ps(v1, _mm256_loadu_ps(o->bias + 8));
    }
    _mm256_storeu_ps(cr, v0);
    _mm256_storeu_ps(cr + 8, v1);
}

/* The tile's sums, Σ_k a[r][k] · w[k][0..16) over kc values of k, in twelve
 * named accumulators (an array of them ends up on the stack); inlined with
 * a constant row count so the unused rows vanish. */
#define ROW_FMA(r, kk)                                                                             \
    if (rows > r) {                                                                                \
        const __m256 av = _mm256_broadcast_ss(packed ? a + (kk) * MR + r : a##r + (kk));            \
        c##r##0 = _mm256_fmadd_ps(av, w0, c##r##0);                                                \
        c##r##1 = _mm256_fmadd_ps(av, w1, c##r##1);                                                \
    }
#define ALL_FMA(kk) ROW_FMA(0, kk) ROW_FMA(1, kk) ROW_FMA(2, kk) ROW_FMA(3, kk) ROW_FMA(4, kk) ROW_FMA(5, kk)
static inline __attribute__((always_inline)) void micro(const int rows, const int packed, int kc, const float *a,
                                                        int64_t lda, const float *w, float *c, int64_t ldc,
                                                        const tile_out *o)
{
    __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
    __m256 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
    /* packed: element (r, k) at a[k * MR + r]; else at a[r * lda + k] */
    const float *a0 = a, *a1 = a + (rows > 1) * lda, *a2 = a + (rows > 2) * 2 * lda;
    const float *a3 = a + (rows > 3) * 3 * lda, *a4 = a + (rows > 4) * 4 * lda, *a5 = a + (rows > 5) * 5 * lda;
    /* one k a step: unrolled further, GCC loads the next weights early and runs out of registers */
    for (int k = 0; k < kc; k++, w += SORI_P16) {
        const __m256 w0 = _mm256_loadu_ps(w), w1 = _mm256_loadu_ps(w + 8);
        ALL_FMA(k)
    }
    row_out(c00, c01, c, o);
    if (rows > 1)
        row_out(c10, c11, c + ldc, o);
    if (rows > 2)
        row_out(c20, c21, c + 2 * ldc, o);
    if (rows > 3)
        row_out(c30, c31, c + 3 * ldc, o);
    if (rows > 4)
        row_out(c40, c41, c + 4 * ldc, o);
    if (rows > 5)
        row_out(c50, c51, c + 5 * ldc, o);
}
#undef ALL_FMA
#undef ROW_FMA

static void micro_any(int rows, int packed, int kc, const float *a, int64_t lda, const float *w, float *c,
                      int64_t ldc, const tile_out *o)
{
    if (packed) {
        if (rows == MR)
            micro(MR, 1, kc, a, lda, w, c, ldc, o);
        else /* the last group of a block: few calls, one kernel for any row count */
            switch (rows) {
            case 5: micro(5, 1, kc, a, lda, w, c, ldc, o); break;
            case 4: micro(4, 1, kc, a, lda, w, c, ldc, o); break;
            case 3: micro(3, 1, kc, a, lda, w, c, ldc, o); break;
            case 2: micro(2, 1, kc, a, lda, w, c, ldc, o); break;
            default: micro(1, 1, kc, a, lda, w, c, ldc, o); break;
            }
        return;
    }
    switch (rows) {
    case 6: micro(6, 0, kc, a, lda, w, c, ldc, o); break;
    case 5: micro(5, 0, kc, a, lda, w, c, ldc, o); break;
    case 4: micro(4, 0, kc, a, lda, w, c, ldc, o); break;
    case 3: micro(3, 0, kc, a, lda, w, c, ldc, o); break;
    case 2: micro(2, 0, kc, a, lda, w, c, ldc, o); break;
    default: micro(1, 0, kc, a, lda, w, c, ldc, o); break;
    }
}
#else
static void tile_store(const float acc[MR][SORI_P16], int mr, float *c, int64_t ldc, const tile_out *o)
{
    for (int r = 0; r < mr; r++) {
        float *cr = c + r * ldc;
        for (int j = 0; j < SORI_P16; j++) {
            float v = o->alpha * acc[r][j];
            if (!o->first)
                v += cr[j];
            else if (o->beta != 0.0f)
                v += o->beta * cr[j];
            if (o->last && o->bias)
                v += o->bias[j];
            cr[j] = v;
        }
    }
}


static void micro_any(int rows, int packed, int kc, const float *a, int64_t lda, const float *w, float *c,
                      int64_t ldc, const tile_out *o)
{
    float acc[MR][SORI_P16];
    memset(acc, 0, sizeof acc);
    for (int k = 0; k < kc; k++)
        for (int r = 0; r < rows; r++)
            for (int j = 0; j < SORI_P16; j++)
                acc[r][j] += (packed ? a[k * MR + r] : a[r * lda + k]) * w[k * SORI_P16 + j];
    tile_store((const float(*)[SORI_P16])acc, rows, c, ldc, o);
}
#endif

void sori_p16_pack_a(const float *a, int64_t lda, int i0, int i1, int k0, int kc, int mr, float *out)
{
    for (int i = i0; i < i1; i += mr, out += (int64_t)kc * mr) {
        const int rows = i1 - i < mr ? i1 - i : mr;
        for (int r = 0; r < mr; r++) {
            const float *ar = a + (int64_t)(i + (r < rows ? r : 0)) * lda + k0;
            if (r < rows)
                for (int k = 0; k < kc; k++)
                    out[k * mr + r] = ar[k];
            else
                for (int k = 0; k < kc; k++)
                    out[k * mr + r] = 0.0f;
        }
    }
}

/* -1: not yet asked, else whether the AVX-512 kernel runs */
static atomic_int g_avx512 = -1;

int sori_p16_avx512(int set)
{
#if defined(SORI_P16_AVX512)
    const int have = __builtin_cpu_supports("avx512f") != 0;
#else
    const int have = 0;
#endif
    if (set >= 0)
        atomic_store(&g_avx512, set && have);
    else if (atomic_load(&g_avx512) < 0)
        atomic_store(&g_avx512, have);
    return atomic_load(&g_avx512);
}

void sori_gemm_p16(int m, int n, int k, float alpha, const float *a, int64_t lda, const float *wp, float beta,
                   float *c, int64_t ldc, const float *bias, sori_act act, float *scratch)
{
#if defined(SORI_P16_AVX512)
    if (sori_p16_avx512(-1)) {
        sori_gemm_p16_avx512(m, n, k, alpha, a, lda, wp, beta, c, ldc, bias, act, scratch);
        return;
    }
#endif
    /* one group of rows (a streaming step) reads A in place: each row is read once per panel from L1 */
    const int packed = scratch && m > MR;
    for (int j0 = 0; j0 < n; j0 += NC) { /* the weights' slab of NC columns × KC stays in L2/L3 ... */
        const int j1 = j0 + NC < n ? j0 + NC : n;
        for (int k0 = 0; k0 < k; k0 += KC) {
            const int kc = k - k0 < KC ? k - k0 : KC;
            const int first = k0 == 0, last = k0 + kc == k;
            for (int i0 = 0; i0 < m; i0 += MC) { /* ... while blocks of MC rows of A pass through L2 */
                const int i1 = i0 + MC < m ? i0 + MC : m;
                if (packed)
                    sori_p16_pack_a(a, lda, i0, i1, k0, kc, MR, scratch);
                for (int p = j0; p < j1; p += SORI_P16) {
                    const float *w = wp + (int64_t)p * k + (int64_t)k0 * SORI_P16;
                    const tile_out o = {.alpha = alpha, .beta = beta, .first = first, .last = last,
                                        .bias = bias ? bias + p : NULL};
                    for (int i = i0; i < i1; i += MR) {
                        const float *ai = packed ? scratch + (int64_t)(i - i0) * kc : a + (int64_t)i * lda + k0;
                        micro_any(i1 - i < MR ? i1 - i : MR, packed, kc, ai, lda, w, c + (int64_t)i * ldc + p, ldc,
                                  &o);
                    }
                }
                /* the activation over the block's finished rows (still in L2): per 16-wide tile its
                 * vector code would spend most of its time on setup */
                if (last && act != SORI_ACT_NONE)
                    for (int i = i0; i < i1; i++)
                        sori_cpu_act_row(c + (int64_t)i * ldc + j0, j1 - j0, act);
            }
        }
    }
}
