/* The CPU backend: the reference for every op, and the fallback.
 * Matrix products go to OpenBLAS's sgemm (single-threaded: the runtime's own
 * pool splits the work); the rest are plain loops written so that GCC
 * vectorizes the channel-innermost inner loops (AVX2/FMA when built with
 * SORI_AVX2). */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "../kernels.h"
#include "blas.h"
#include "avx512.h"
#include "gemm_p16.h"
#include "vec.h"
#include "../quant.h"

struct sori_backend {
    sori_thread_pool *pool;
};

/* ---- per-thread scratch ----------------------------------------------------
 * Grows (by doubling, from 64 KiB) to hold the largest size an op has asked
 * for on that thread and stays there (no growth after warm-up); freed when
 * the thread exits. */
typedef struct {
    float *p;
    size_t n;
} scratch_t;

static pthread_key_t g_scratch_key;
static pthread_once_t g_scratch_once = PTHREAD_ONCE_INIT;

static void scratch_destroy(void *v)
{
    scratch_t *s = v;
    if (s) {
        free(s->p);
        free(s);
    }
}

static void scratch_key_init(void)
{
    pthread_key_create(&g_scratch_key, scratch_destroy);
}

static float *scratch_get(size_t n_floats)
{
    pthread_once(&g_scratch_once, scratch_key_init);
    scratch_t *s = pthread_getspecific(g_scratch_key);
    if (!s) {
        s = calloc(1, sizeof *s);
        if (!s)
            return NULL;
        pthread_setspecific(g_scratch_key, s);
    }
    if (s->n < n_floats) {
        /* at least 64 KiB, then doubling: a thread that meets a slightly larger need late (a
         * longer decoder step on a worker that rarely gets one) finds room instead of growing */
        size_t cap = s->n ? s->n : 16384;
        while (cap < n_floats)
            cap *= 2;
        float *p = NULL;
        if (posix_memalign((void **)&p, 64, cap * sizeof(float)) != 0)
            return NULL;
        free(s->p);
        s->p = p;
        s->n = cap;
    }
    return s->p;
}

void sori_cpu_thread_start(void)
{
    /* room for the packed product's block of A (SORI_P16_SCRATCH) and most attention scores */
    scratch_get(65536);
}

/* The main thread's scratch is freed at exit by this destructor (pthread
 * keys' destructors do not run for the main thread). */
__attribute__((destructor)) static void scratch_main_free(void)
{
    pthread_once(&g_scratch_once, scratch_key_init);
    scratch_t *s = pthread_getspecific(g_scratch_key);
    if (s) {
        pthread_setspecific(g_scratch_key, NULL);
        scratch_destroy(s);
    }
}

/* ---- vectorized exp-based row functions -------------------------------------
 * exp(x) = 2^n e^r, r = x - n ln2 (two-part ln2), e^r by a degree-6
 * polynomial: max relative error about 2 ulp. x < -87 gives 0 (masked -inf
 * scores), x is clamped at 88, NaN stays NaN. AVX2/FMA when compiled for
 * it; otherwise (and for the tails) libm's expf. */
#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>

static inline __m256 exp256(__m256 x)
{
    const __m256 lo = _mm256_set1_ps(-87.0f), hi = _mm256_set1_ps(88.0f);
    __m256 xc = _mm256_min_ps(_mm256_max_ps(x, lo), hi);
    __m256 n = _mm256_round_ps(_mm256_mul_ps(xc, _mm256_set1_ps(1.44269504088896341f)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693145751953125f), xc);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(1.428606765330187045e-06f), r);
    __m256 p = _mm256_set1_ps(1.0f / 720.0f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    __m256 y = _mm256_mul_ps(p, _mm256_castsi256_ps(e));
    y = _mm256_blendv_ps(y, _mm256_setzero_ps(), _mm256_cmp_ps(x, lo, _CMP_LT_OQ));
    return _mm256_blendv_ps(y, x, _mm256_cmp_ps(x, x, _CMP_UNORD_Q));
}

static inline float hsum256(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}
#define SORI_VEC 8
#else
#define SORI_VEC 0
#endif

/* y = x / (1 + e^-x) (SiLU), or 1 / (1 + e^-x) (sigmoid) when gate_only */
static void silu_row(float *y, int64_t n, int gate_only)
{
    int64_t i = 0;
#if SORI_VEC
    const __m256 one = _mm256_set1_ps(1.0f);
    for (; i + 8 <= n; i += 8) {
        __m256 x = _mm256_loadu_ps(y + i);
        __m256 g = _mm256_div_ps(one, _mm256_add_ps(one, exp256(_mm256_sub_ps(_mm256_setzero_ps(), x))));
        _mm256_storeu_ps(y + i, gate_only ? g : _mm256_mul_ps(x, g));
    }
#endif
    for (; i < n; i++) {
        float g = 1.0f / (1.0f + expf(-y[i]));
        y[i] = gate_only ? g : y[i] * g;
    }
}

/* y = a * sigmoid(g) */
static void glu_row(const float *a, const float *g, float *y, int64_t n)
{
    int64_t i = 0;
#if SORI_VEC
    const __m256 one = _mm256_set1_ps(1.0f);
    for (; i + 8 <= n; i += 8) {
        __m256 e = exp256(_mm256_sub_ps(_mm256_setzero_ps(), _mm256_loadu_ps(g + i)));
        _mm256_storeu_ps(y + i, _mm256_div_ps(_mm256_loadu_ps(a + i), _mm256_add_ps(one, e)));
    }
#endif
    for (; i < n; i++)
        y[i] = a[i] / (1.0f + expf(-g[i]));
}

/* y = e^(x - shift) (y may be x); returns the sum */
/* sum of e^(x - shift), nothing stored */
static float exp_sum_row(const float *x, int64_t n, float shift)
{
    int64_t i = 0;
    float sum = 0.0f;
#if SORI_VEC
    __m256 acc = _mm256_setzero_ps(), sh = _mm256_set1_ps(shift);
    for (; i + 8 <= n; i += 8)
        acc = _mm256_add_ps(acc, exp256(_mm256_sub_ps(_mm256_loadu_ps(x + i), sh)));
    sum = hsum256(acc);
#endif
    for (; i < n; i++)
        sum += expf(x[i] - shift);
    return sum;
}

static float exp_shift_row(const float *x, float *y, int64_t n, float shift)
{
    int64_t i = 0;
    float sum = 0.0f;
#if SORI_VEC
    __m256 acc = _mm256_setzero_ps(), sh = _mm256_set1_ps(shift);
    for (; i + 8 <= n; i += 8) {
        __m256 e = exp256(_mm256_sub_ps(_mm256_loadu_ps(x + i), sh));
        _mm256_storeu_ps(y + i, e);
        acc = _mm256_add_ps(acc, e);
    }
    sum = hsum256(acc);
#endif
    for (; i < n; i++) {
        y[i] = expf(x[i] - shift);
        sum += y[i];
    }
    return sum;
}

float sori_cpu_dot(const float *x, const float *y, int64_t n)
{
    int64_t i = 0;
    float sum = 0.0f;
#if SORI_VEC
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    for (; i + 32 <= n; i += 32) {
        a0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i), a0);
        a1 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 8), _mm256_loadu_ps(y + i + 8), a1);
        a2 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 16), _mm256_loadu_ps(y + i + 16), a2);
        a3 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 24), _mm256_loadu_ps(y + i + 24), a3);
    }
    for (; i + 8 <= n; i += 8)
        a0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i), a0);
    sum = hsum256(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
#endif
    for (; i < n; i++)
        sum += x[i] * y[i];
    return sum;
}

void sori_cpu_axpy(float a, const float *x, float *y, int64_t n)
{
    int64_t i = 0;
#if SORI_VEC
    const __m256 av = _mm256_set1_ps(a);
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, _mm256_fmadd_ps(av, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
#endif
    for (; i < n; i++)
        y[i] += a * x[i];
}

void sori_cpu_f16_to_f32(const uint16_t *h, float *out, int64_t n)
{
    int64_t i = 0;
#if SORI_VEC && defined(__F16C__)
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(out + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(h + i))));
#endif
    for (; i < n; i++)
        out[i] = sori_f16_to_f32(h[i]);
}

float sori_cpu_log_sum_exp(const float *x, int64_t n)
{
    float mx = -INFINITY;
    int64_t i = 0;
#if SORI_VEC
    __m256 m8 = _mm256_set1_ps(-INFINITY);
    for (; i + 8 <= n; i += 8)
        m8 = _mm256_max_ps(m8, _mm256_loadu_ps(x + i));
    __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(m8), _mm256_extractf128_ps(m8, 1));
    m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
    mx = _mm_cvtss_f32(m4);
#endif
    for (; i < n; i++)
        mx = x[i] > mx ? x[i] : mx;
    if (mx == -INFINITY || isnan(mx))
        return mx;
    double s = 0.0;
    i = 0;
#if SORI_VEC
    __m256d s4 = _mm256_setzero_pd();
    const __m256 sh = _mm256_set1_ps(mx);
    for (; i + 8 <= n; i += 8) { /* float exponentials, summed in double */
        const __m256 e = exp256(_mm256_sub_ps(_mm256_loadu_ps(x + i), sh));
        s4 = _mm256_add_pd(s4, _mm256_add_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(e)),
                                             _mm256_cvtps_pd(_mm256_extractf128_ps(e, 1))));
    }
    double part[4];
    _mm256_storeu_pd(part, s4);
    s = part[0] + part[1] + part[2] + part[3];
#endif
    for (; i < n; i++)
        s += exp((double)(x[i] - mx));
    return mx + (float)log(s);
}

/* Exact GELU, x * (1 + erf(x / sqrt 2)) / 2, with erf by Abramowitz and
 * Stegun 7.1.26 (absolute error below 1.5e-7) where AVX2 is on. */
static void gelu_row(float *y, int64_t n)
{
    int64_t i = 0;
#if SORI_VEC
    const __m256 half = _mm256_set1_ps(0.5f), one = _mm256_set1_ps(1.0f), rs2 = _mm256_set1_ps(0.70710678118654752f);
    const __m256 p = _mm256_set1_ps(0.3275911f), sign = _mm256_set1_ps(-0.0f);
    const __m256 a1 = _mm256_set1_ps(0.254829592f), a2 = _mm256_set1_ps(-0.284496736f);
    const __m256 a3 = _mm256_set1_ps(1.421413741f), a4 = _mm256_set1_ps(-1.453152027f);
    const __m256 a5 = _mm256_set1_ps(1.061405429f);
    for (; i + 8 <= n; i += 8) {
        __m256 x = _mm256_loadu_ps(y + i);
        __m256 z = _mm256_mul_ps(x, rs2);
        __m256 az = _mm256_andnot_ps(sign, z);
        __m256 t = _mm256_div_ps(one, _mm256_fmadd_ps(p, az, one));
        __m256 poly = _mm256_fmadd_ps(a5, t, a4);
        poly = _mm256_fmadd_ps(poly, t, a3);
        poly = _mm256_fmadd_ps(poly, t, a2);
        poly = _mm256_fmadd_ps(poly, t, a1);
        poly = _mm256_mul_ps(poly, t);
        __m256 e = exp256(_mm256_mul_ps(_mm256_xor_ps(sign, az), az)); /* exp(-z^2) */
        __m256 erf_abs = _mm256_fnmadd_ps(poly, e, one);
        __m256 erf = _mm256_or_ps(erf_abs, _mm256_and_ps(sign, z)); /* the sign of z */
        _mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_mul_ps(half, x), _mm256_add_ps(one, erf)));
    }
#endif
    for (; i < n; i++)
        y[i] = 0.5f * y[i] * (1.0f + erff(y[i] * 0.70710678118654752f));
}

static inline void act_row(float *y, int64_t n, sori_act act)
{
    switch (act) {
    case SORI_ACT_NONE: break;
    case SORI_ACT_RELU:
        for (int64_t i = 0; i < n; i++)
            y[i] = y[i] > 0.0f ? y[i] : 0.0f;
        break;
    case SORI_ACT_SILU: silu_row(y, n, 0); break;
    case SORI_ACT_TANH:
        for (int64_t i = 0; i < n; i++)
            y[i] = tanhf(y[i]);
        break;
    case SORI_ACT_SIGMOID: silu_row(y, n, 1); break;
    case SORI_ACT_GELU: gelu_row(y, n); break;
    default: break;
    }
}

void sori_cpu_act_row(float *y, int64_t n, sori_act act)
{
    act_row(y, n, act);
}

/* ---- matmul ------------------------------------------------------------------ */

typedef struct {
    const sori_matmul_desc *d;
    int64_t rows_per_task, cols_per_task; /* tasks index (batch, row block, col block) */
    int64_t row_blocks, col_blocks;
} mm_ctx;

/* C = alpha * A · Bᵀ + beta * C for a few rows of A (a streaming step's
 * frames): every row of B (a weight matrix in PyTorch layout) is read once
 * for all rows and nothing is packed, where sgemm would copy the whole
 * weight matrix into its panel format on every call. beta 0 never reads C. */
static void gemm_few_rows_nt(int rows, int cols, int K, float alpha, const float *A, int lda, const float *B,
                             int ldb, float beta, float *C, int ldc)
{
    for (int r0 = 0; r0 < rows; r0 += 4) {
        int nr = rows - r0 < 4 ? rows - r0 : 4;
        const float *a[4];
        for (int i = 0; i < 4; i++)
            a[i] = A + (int64_t)(r0 + (i < nr ? i : 0)) * lda;
        int j = 0;
        for (; j < cols; j++) {
            const float *bj = B + (int64_t)j * ldb;
            float acc[4] = {0, 0, 0, 0};
            int k = 0;
#if SORI_VEC
            __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
            for (; k + 8 <= K; k += 8) {
                __m256 bv = _mm256_loadu_ps(bj + k);
                s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a[0] + k), bv, s0);
                s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a[1] + k), bv, s1);
                s2 = _mm256_fmadd_ps(_mm256_loadu_ps(a[2] + k), bv, s2);
                s3 = _mm256_fmadd_ps(_mm256_loadu_ps(a[3] + k), bv, s3);
            }
            acc[0] = hsum256(s0), acc[1] = hsum256(s1), acc[2] = hsum256(s2), acc[3] = hsum256(s3);
#endif
            for (; k < K; k++)
                for (int i = 0; i < 4; i++)
                    acc[i] += a[i][k] * bj[k];
            for (int i = 0; i < nr; i++) {
                float *c = C + (int64_t)(r0 + i) * ldc + j;
                *c = beta == 0.0f ? alpha * acc[i] : alpha * acc[i] + beta * *c;
            }
        }
    }
}

/* C = alpha * A · Bᵀ + beta * C for a few rows of A (1-8: a decoder step,
 * its beams) with B in f16 (PyTorch layout): the weights are read once,
 * half the bytes of f32 (a decoder step is bound by them). Tiles of R rows
 * × NC weight rows in R·NC accumulators: a vector of A is loaded once for
 * NC columns and a widened vector of weights once for all R rows. */
#if SORI_VEC && defined(__F16C__)
static inline __attribute__((always_inline)) void f16_tile(const int R, const int NC, int K, float alpha,
                                                           const float *A, int64_t lda, const uint16_t *B,
                                                           int64_t ldb, float beta, float *C, int64_t ldc)
{
    __m256 s[8][8];
#pragma GCC unroll 8
    for (int r = 0; r < R; r++)
#pragma GCC unroll 8
        for (int c = 0; c < NC; c++)
            s[r][c] = _mm256_setzero_ps();
    int k = 0;
    for (; k + 8 <= K; k += 8) {
        __m256 w[8];
#pragma GCC unroll 8
        for (int c = 0; c < NC; c++)
            w[c] = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(B + c * ldb + k)));
#pragma GCC unroll 8
        for (int r = 0; r < R; r++) {
            const __m256 a = _mm256_loadu_ps(A + r * lda + k);
#pragma GCC unroll 8
            for (int c = 0; c < NC; c++)
                s[r][c] = _mm256_fmadd_ps(a, w[c], s[r][c]);
        }
    }
#pragma GCC unroll 8
    for (int r = 0; r < R; r++)
#pragma GCC unroll 8
        for (int c = 0; c < NC; c++) {
            float acc = hsum256(s[r][c]);
            for (int kk = k; kk < K; kk++)
                acc += A[r * lda + kk] * sori_f16_to_f32(B[c * ldb + kk]);
            float *o = C + r * ldc + c;
            *o = beta == 0.0f ? alpha * acc : alpha * acc + beta * *o;
        }
}

/* all columns for R rows: tiles of NC (by the 16 registers: R·NC
 * accumulators, NC weight vectors, one of A), the last columns one by one */
#define F16_ROWS(R, NC)                                                                                     \
    static void f16_rows_##R(int cols, int K, float alpha, const float *A, int64_t lda, const uint16_t *B,  \
                             int64_t ldb, float beta, float *C, int64_t ldc)                                \
    {                                                                                                       \
        int j = 0;                                                                                          \
        for (; j + NC <= cols; j += NC)                                                                     \
            f16_tile(R, NC, K, alpha, A, lda, B + j * ldb, ldb, beta, C + j, ldc);                          \
        for (; j < cols; j++)                                                                               \
            f16_tile(R, 1, K, alpha, A, lda, B + j * ldb, ldb, beta, C + j, ldc);                           \
    }
F16_ROWS(1, 6)
F16_ROWS(2, 4)
F16_ROWS(3, 3)
F16_ROWS(4, 2)
F16_ROWS(5, 2)
F16_ROWS(6, 2)
F16_ROWS(7, 1)
F16_ROWS(8, 1)
#undef F16_ROWS
#endif

static void gemm_few_rows_nt_f16(int rows, int cols, int K, float alpha, const float *A, int lda,
                                 const uint16_t *B, int ldb, float beta, float *C, int ldc)
{
    for (; rows > 8; rows -= 8, A += (int64_t)8 * lda, C += (int64_t)8 * ldc) /* (no scratch for more) */
        gemm_few_rows_nt_f16(8, cols, K, alpha, A, lda, B, ldb, beta, C, ldc);
#if defined(SORI_CPU_AVX512)
    if (sori_p16_avx512(-1)) {
        sori_gemm_f16_rows_avx512(rows, cols, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
#endif
#if SORI_VEC && defined(__F16C__)
    static void (*const by_rows[8])(int, int, float, const float *, int64_t, const uint16_t *, int64_t, float,
                                    float *, int64_t) = {f16_rows_1, f16_rows_2, f16_rows_3, f16_rows_4,
                                                         f16_rows_5, f16_rows_6, f16_rows_7, f16_rows_8};
    by_rows[rows - 1](cols, K, alpha, A, lda, B, ldb, beta, C, ldc);
#else
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < cols; j++) {
            const uint16_t *bj = B + (int64_t)j * ldb;
            const float *ai = A + (int64_t)i * lda;
            float acc = 0.0f;
            for (int k = 0; k < K; k++)
                acc += ai[k] * sori_f16_to_f32(bj[k]);
            float *c = C + (int64_t)i * ldc + j;
            *c = beta == 0.0f ? alpha * acc : alpha * acc + beta * *c;
        }
#endif
}

/* f16 rows of B into f32 (n rows of K values, ldb apart) */
static void f16_rows_to_f32(const uint16_t *B, int ldb, int n, int K, float *out)
{
    for (int j = 0; j < n; j++)
        sori_cpu_f16_to_f32(B + (int64_t)j * ldb, out + (int64_t)j * K, K);
}

/* Q8_0 blocks (an f16 scale, 32 int8) of B's rows: as gemm_few_rows_nt_f16,
 * each row row_bytes apart, k a multiple of 32. */
static void gemm_few_rows_nt_q8(int rows, int cols, int K, float alpha, const float *A, int lda,
                                const uint8_t *B, int64_t row_bytes, float beta, float *C, int ldc)
{
    const int nb = K / 32;
    for (int r0 = 0; r0 < rows; r0 += 4) {
        int nr = rows - r0 < 4 ? rows - r0 : 4;
        const float *a[4];
        for (int i = 0; i < 4; i++)
            a[i] = A + (int64_t)(r0 + (i < nr ? i : 0)) * lda;
        for (int j = 0; j < cols; j++) {
            const uint8_t *bj = B + (int64_t)j * row_bytes;
            float acc[4] = {0, 0, 0, 0};
#if SORI_VEC
            __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
            for (int blk = 0; blk < nb; blk++) {
                const uint8_t *p = bj + (int64_t)blk * 34;
                uint16_t hs;
                memcpy(&hs, p, 2);
                const __m256 dv = _mm256_set1_ps(sori_f16_to_f32(hs));
                const int8_t *q = (const int8_t *)(p + 2);
                __m256 w[4];
                for (int u = 0; u < 4; u++)
                    w[u] = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(q + 8 * u))));
                const int k = blk * 32;
                __m256 t0 = _mm256_mul_ps(_mm256_loadu_ps(a[0] + k), w[0]);
                __m256 t1 = _mm256_mul_ps(_mm256_loadu_ps(a[1] + k), w[0]);
                __m256 t2 = _mm256_mul_ps(_mm256_loadu_ps(a[2] + k), w[0]);
                __m256 t3 = _mm256_mul_ps(_mm256_loadu_ps(a[3] + k), w[0]);
                for (int u = 1; u < 4; u++) {
                    t0 = _mm256_fmadd_ps(_mm256_loadu_ps(a[0] + k + 8 * u), w[u], t0);
                    t1 = _mm256_fmadd_ps(_mm256_loadu_ps(a[1] + k + 8 * u), w[u], t1);
                    t2 = _mm256_fmadd_ps(_mm256_loadu_ps(a[2] + k + 8 * u), w[u], t2);
                    t3 = _mm256_fmadd_ps(_mm256_loadu_ps(a[3] + k + 8 * u), w[u], t3);
                }
                s0 = _mm256_fmadd_ps(t0, dv, s0);
                s1 = _mm256_fmadd_ps(t1, dv, s1);
                s2 = _mm256_fmadd_ps(t2, dv, s2);
                s3 = _mm256_fmadd_ps(t3, dv, s3);
            }
            acc[0] = hsum256(s0), acc[1] = hsum256(s1), acc[2] = hsum256(s2), acc[3] = hsum256(s3);
#else
            for (int blk = 0; blk < nb; blk++) {
                const uint8_t *p = bj + (int64_t)blk * 34;
                uint16_t hs;
                memcpy(&hs, p, 2);
                const float dq = sori_f16_to_f32(hs);
                const int8_t *q = (const int8_t *)(p + 2);
                for (int i = 0; i < 4; i++) {
                    float t = 0.0f;
                    for (int u = 0; u < 32; u++)
                        t += a[i][blk * 32 + u] * (float)q[u];
                    acc[i] += t * dq;
                }
            }
#endif
            for (int i = 0; i < nr; i++) {
                float *c = C + (int64_t)(r0 + i) * ldc + j;
                *c = beta == 0.0f ? alpha * acc[i] : alpha * acc[i] + beta * *c;
            }
        }
    }
}

/* Rows of A that a product with GGUF K-type or Q4_0 weights takes through
 * integer dot products (the rows quantized to 8 bits once per task, as
 * llama.cpp does); more rows convert the weights to f32 for sgemm. */
enum { QDOT_ROWS = 16 };
/* Rows from which quantized weights are widened to f32 for the packed product (bench_lm) */
enum { WIDE_ROWS = 16 };

/* A few rows times weights of a GGUF block type: each row quantized for
 * the type's dot product (in scratch), then one dot per row and column. */
static void gemm_rows_quant_dot(const sori_matmul_desc *d, int rows, int cols, const float *a0, const uint8_t *b0,
                                int64_t row_bytes, float *c, uint8_t *xq)
{
    const size_t xb = sori_quant_act_bytes(d->b_type, d->k);
    for (int i = 0; i < rows; i++)
        sori_quantize_act(d->b_type, a0 + (int64_t)i * d->lda, d->k, xq + (size_t)i * xb);
    for (int j = 0; j < cols; j++) {
        const uint8_t *w = b0 + (int64_t)j * row_bytes;
        int i = 0;
        for (; i + 4 <= rows; i += 4) { /* four rows per pass over the weight row's blocks */
            const void *x4[4] = {xq + (size_t)i * xb, xq + (size_t)(i + 1) * xb, xq + (size_t)(i + 2) * xb,
                                 xq + (size_t)(i + 3) * xb};
            float v[4];
            sori_quant_dot4(d->b_type, d->k, w, x4, v);
            for (int r = 0; r < 4; r++) {
                float *ci = c + (int64_t)(i + r) * d->ldc + j;
                *ci = d->beta == 0.0f ? d->alpha * v[r] : d->alpha * v[r] + d->beta * *ci;
            }
        }
        for (; i < rows; i++) {
            float *ci = c + (int64_t)i * d->ldc + j;
            const float v = d->alpha * sori_quant_dot(d->b_type, d->k, w, xq + (size_t)i * xb);
            *ci = d->beta == 0.0f ? v : v + d->beta * *ci;
        }
    }
}

/* 16 rows of k floats (row-major) as one packed panel (k-major, 16 lanes): 8 × 8 blocks transposed in
 * registers (a store per value, 64 bytes apart, was the widening's cost) */
static void panel_from_rows(const float *rows, int k, float *panel)
{
    int k0 = 0;
#if SORI_VEC
    for (; k0 + 8 <= k; k0 += 8)
        for (int h = 0; h < 2; h++) {
            const float *r = rows + (int64_t)8 * h * k + k0;
            const __m256 r0 = _mm256_loadu_ps(r), r1 = _mm256_loadu_ps(r + k), r2 = _mm256_loadu_ps(r + 2 * k),
                         r3 = _mm256_loadu_ps(r + 3 * k), r4 = _mm256_loadu_ps(r + 4 * k),
                         r5 = _mm256_loadu_ps(r + 5 * k), r6 = _mm256_loadu_ps(r + 6 * k),
                         r7 = _mm256_loadu_ps(r + 7 * k);
            const __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
            const __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
            const __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
            const __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
            const __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
            const __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
            const __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
            const __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
            float *o = panel + (int64_t)k0 * SORI_P16 + 8 * h;
            _mm256_storeu_ps(o, _mm256_permute2f128_ps(u0, u4, 0x20));
            _mm256_storeu_ps(o + SORI_P16, _mm256_permute2f128_ps(u1, u5, 0x20));
            _mm256_storeu_ps(o + 2 * SORI_P16, _mm256_permute2f128_ps(u2, u6, 0x20));
            _mm256_storeu_ps(o + 3 * SORI_P16, _mm256_permute2f128_ps(u3, u7, 0x20));
            _mm256_storeu_ps(o + 4 * SORI_P16, _mm256_permute2f128_ps(u0, u4, 0x31));
            _mm256_storeu_ps(o + 5 * SORI_P16, _mm256_permute2f128_ps(u1, u5, 0x31));
            _mm256_storeu_ps(o + 6 * SORI_P16, _mm256_permute2f128_ps(u2, u6, 0x31));
            _mm256_storeu_ps(o + 7 * SORI_P16, _mm256_permute2f128_ps(u3, u7, 0x31));
        }
#endif
    for (; k0 < k; k0++)
        for (int r = 0; r < SORI_P16; r++)
            panel[(int64_t)k0 * SORI_P16 + r] = rows[(int64_t)r * k + k0];
}

/* Columns n0..n1 of a product with f16, bf16 or GGUF block-type weights
 * (trans_b): a few rows read f16 and Q8_0 weights in place, and take the
 * other block types through quantized dot products; more rows convert
 * blocks of 128 weight rows to f32 for sgemm. */
static void mm_block_f16(const sori_matmul_desc *d, int b, int m0, int m1, int n0, int n1)
{
    const bool q8 = d->b_type == SORI_Q8_0, f16 = d->b_type == SORI_F16;
    const int64_t row_bytes = (int64_t)sori_dtype_bytes(d->b_type, d->ldb);
    const uint8_t *bm = (const uint8_t *)d->b + sori_dtype_bytes(d->b_type, (int64_t)b * d->stride_b);
    float *c = d->c + (int64_t)b * d->stride_c + (int64_t)m0 * d->ldc + n0;
    const float *a = d->a + (int64_t)b * d->stride_a;
    const float *a0 = d->trans_a ? a + m0 : a + (int64_t)m0 * d->lda;
    const uint8_t *b0 = bm + (int64_t)n0 * row_bytes;
    int rows = m1 - m0, cols = n1 - n0;
    enum { CB = 128 };
    const bool in_place = !d->trans_a && rows <= 8 && (q8 || f16);
    const bool block = sori_dtype_block(d->b_type) > 1;
    /* many rows (an encoder's output, a prompt): blocks of the weights to packed f32 for sori's
     * AVX-512 product (integer dot products with 8-bit activations and sgemm are both slower there) */
    const bool wide = !d->trans_a && cols >= SORI_P16 && SORI_VEC && (f16 || block) &&
                      rows >= (f16 ? 9 : WIDE_ROWS) && sori_p16_avx512(-1);
    const bool qdot = !wide && !d->trans_a && block && (d->quant_act || (rows <= QDOT_ROWS && !q8));
    if (qdot) {
        uint8_t *xq = (uint8_t *)scratch_get((sori_quant_act_bytes(d->b_type, d->k) * (size_t)rows + 3) / 4);
        if (xq) {
            gemm_rows_quant_dot(d, rows, cols, a0, b0, row_bytes, c, xq);
            goto epilogue;
        }
    }
    if (wide) {
        enum { PB = 256 };
        float *wp = scratch_get((size_t)PB * d->k + (size_t)SORI_P16 * d->k + SORI_P16_SCRATCH);
        if (wp) {
            float *rows16 = wp + (size_t)PB * d->k, *ascratch = rows16 + (size_t)SORI_P16 * d->k;
            const int full = cols / SORI_P16 * SORI_P16;
            for (int j0 = 0; j0 < full; j0 += PB) {
                const int cb = full - j0 < PB ? full - j0 : PB;
                for (int p = 0; p < cb; p += SORI_P16) { /* a panel: its 16 rows as floats, then transposed */
                    for (int r = 0; r < SORI_P16; r++) {
                        const uint8_t *wr = b0 + (int64_t)(j0 + p + r) * row_bytes;
                        if (j0 + p + r + SORI_P16 < full) /* the next panel's row, asked for ahead */
                            for (int64_t o = 0; o < row_bytes; o += 64)
                                __builtin_prefetch(wr + SORI_P16 * row_bytes + o, 0, 0);
                        sori_dequantize_row_fast(d->b_type, wr, rows16 + (int64_t)r * d->k, d->k);
                    }
                    panel_from_rows(rows16, d->k, wp + (int64_t)p * d->k);
                }
                sori_gemm_p16(rows, cb, d->k, d->alpha, a0, d->lda, wp, d->beta, c + j0, d->ldc, NULL, SORI_ACT_NONE,
                              ascratch);
            }
            if (full < cols && f16) /* the last < 16 weight rows: read in place */
                for (int r0 = 0; r0 < rows; r0 += 8)
                    gemm_few_rows_nt_f16(rows - r0 < 8 ? rows - r0 : 8, cols - full, d->k, d->alpha,
                                         a0 + (int64_t)r0 * d->lda, (int)d->lda,
                                         (const uint16_t *)(b0 + (int64_t)full * row_bytes), (int)d->ldb, d->beta,
                                         c + (int64_t)r0 * d->ldc + full, (int)d->ldc);
            else if (full < cols) { /* or as floats, through sgemm */
                for (int r = 0; r < cols - full; r++)
                    sori_dequantize_row_fast(d->b_type, b0 + (int64_t)(full + r) * row_bytes, wp + (int64_t)r * d->k,
                                             d->k);
                sori_gemm(false, true, rows, cols - full, d->k, d->alpha, a0, (int)d->lda, wp, d->k, d->beta,
                          c + full, (int)d->ldc);
            }
            goto epilogue;
        }
    }
    float *w = in_place ? NULL : scratch_get((size_t)CB * d->k);
    if (!d->trans_a && !w && (q8 || f16)) { /* a few rows, or no scratch: the weights read in place */
        if (q8)
            gemm_few_rows_nt_q8(rows, cols, d->k, d->alpha, a0, (int)d->lda, b0, row_bytes, d->beta, c, (int)d->ldc);
        else
            gemm_few_rows_nt_f16(rows, cols, d->k, d->alpha, a0, (int)d->lda, (const uint16_t *)b0, (int)d->ldb,
                                 d->beta, c, (int)d->ldc);
    } else {
        /* (no scratch for the other types: nothing to fall back on; scratch of CB x k floats is tiny) */
        for (int j0 = 0; w && j0 < cols; j0 += CB) {
            int cb = cols - j0 < CB ? cols - j0 : CB;
            if (f16)
                f16_rows_to_f32((const uint16_t *)(b0 + j0 * row_bytes), (int)d->ldb, cb, d->k, w);
            else
                for (int r = 0; r < cb; r++)
                    sori_dequantize_row(d->b_type, b0 + (j0 + r) * row_bytes, w + (int64_t)r * d->k, d->k);
            sori_gemm(d->trans_a, true, rows, cb, d->k, d->alpha, a0, (int)d->lda, w, d->k, d->beta, c + j0,
                      (int)d->ldc);
        }
    }
epilogue:
    if (d->bias || d->act != SORI_ACT_NONE) {
        for (int r = 0; r < rows; r++) {
            float *cr = c + (int64_t)r * d->ldc;
            if (d->bias)
                for (int j = 0; j < cols; j++)
                    cr[j] += d->bias[n0 + j];
            act_row(cr, cols, d->act);
        }
    }
}

static void mm_block(const sori_matmul_desc *d, int b, int m0, int m1, int n0, int n1)
{
    if (d->b_type != SORI_F32 && d->b_type != SORI_F32_P16) {
        mm_block_f16(d, b, m0, m1, n0, n1);
        return;
    }
    if (d->b_type == SORI_F32_P16) { /* n0 is a panel boundary (cpu_matmul) */
        sori_gemm_p16(m1 - m0, n1 - n0, d->k, d->alpha, d->a + (int64_t)b * d->stride_a + (int64_t)m0 * d->lda,
                      d->lda, (const float *)d->b + (int64_t)b * d->stride_b + (int64_t)n0 * d->k, d->beta,
                      d->c + (int64_t)b * d->stride_c + (int64_t)m0 * d->ldc + n0, d->ldc,
                      d->bias ? d->bias + n0 : NULL, d->act, m1 - m0 > 6 ? scratch_get(SORI_P16_SCRATCH) : NULL);
        return;
    }
    const float *a = d->a + (int64_t)b * d->stride_a;
    const float *bm = (const float *)d->b + (int64_t)b * d->stride_b;
    float *c = d->c + (int64_t)b * d->stride_c + (int64_t)m0 * d->ldc + n0;
    /* Rows m0..m1 of op(A): a row offset in A, or a column offset when A is
     * stored transposed; columns n0..n1 of op(B) likewise. */
    const float *a0 = d->trans_a ? a + m0 : a + (int64_t)m0 * d->lda;
    const float *b0 = d->trans_b ? bm + (int64_t)n0 * d->ldb : bm + n0;
    int rows = m1 - m0, cols = n1 - n0;
    if (!d->trans_a && d->trans_b && rows <= 8)
        gemm_few_rows_nt(rows, cols, d->k, d->alpha, a0, (int)d->lda, b0, (int)d->ldb, d->beta, c, (int)d->ldc);
    else
        sori_gemm(d->trans_a, d->trans_b, rows, cols, d->k, d->alpha, a0,
                  (int)d->lda, b0, (int)d->ldb, d->beta, c, (int)d->ldc);
    if (d->bias || d->act != SORI_ACT_NONE) {
        for (int r = 0; r < rows; r++) {
            float *cr = c + (int64_t)r * d->ldc;
            if (d->bias)
                for (int j = 0; j < cols; j++)
                    cr[j] += d->bias[n0 + j];
            act_row(cr, cols, d->act);
        }
    }
}

static void mm_task(void *vctx, int64_t begin, int64_t end)
{
    mm_ctx *ctx = vctx;
    const sori_matmul_desc *d = ctx->d;
    int64_t per_batch = ctx->row_blocks * ctx->col_blocks;
    for (int64_t t = begin; t < end; t++) {
        int b = (int)(t / per_batch);
        int64_t rb = (t % per_batch) / ctx->col_blocks, cb = (t % per_batch) % ctx->col_blocks;
        int m0 = (int)(rb * ctx->rows_per_task), n0 = (int)(cb * ctx->cols_per_task);
        int m1 = m0 + (int)ctx->rows_per_task, n1 = n0 + (int)ctx->cols_per_task;
        mm_block(d, b, m0, m1 > d->m ? d->m : m1, n0, n1 > d->n ? d->n : n1);
    }
}

static sori_status cpu_matmul(sori_backend *be, const sori_matmul_desc *d, sori_error *err)
{
    if (d->b_type != SORI_F32 && !d->trans_b)
        return sori_fail(err, SORI_ERR_UNSUPPORTED, 0, "matmul: f16 and q8_0 weights on the CPU must be trans_b (PyTorch layout)");
    int nt = sori_thread_pool_size(be->pool);
    mm_ctx ctx = {.d = d};
    /* Enough tasks to feed every thread: split rows first (blocks of at
     * least 32 so sgemm's own blocking stays efficient), then columns
     * (blocks of at least 64) when there are too few rows, as in a
     * streaming step of a few frames. */
    int64_t want = d->batch >= nt ? 1 : (nt + d->batch - 1) / d->batch;
    int64_t rows = (d->m + want - 1) / want;
    if (rows < 32)
        rows = d->m < 32 ? d->m : 32;
    if (d->b_type != SORI_F32 && d->b_type != SORI_F32_P16 && d->m > 8 && !d->trans_a)
        rows = d->m; /* weights widened to f32 or activations quantized: once per call, columns split */
    ctx.rows_per_task = rows;
    ctx.row_blocks = (d->m + rows - 1) / rows;
    int64_t want_cols = (want + ctx.row_blocks - 1) / ctx.row_blocks;
    int64_t cols = (d->n + want_cols - 1) / want_cols;
    if (cols < 64)
        cols = d->n < 64 ? d->n : 64;
    if (d->b_type != SORI_F32) /* whole panels (packed, or widened to packed f32) */
        cols = (cols + SORI_P16 - 1) / SORI_P16 * SORI_P16;
    ctx.cols_per_task = cols;
    ctx.col_blocks = (d->n + cols - 1) / cols;
    int64_t n_tasks = (int64_t)d->batch * ctx.row_blocks * ctx.col_blocks;
    /* Small products are not worth waking threads for. */
    double flops = 2.0 * d->batch * (double)d->m * d->n * d->k;
    if (flops < 1e6)
        mm_task(&ctx, 0, n_tasks);
    else
        sori_parallel_for(be->pool, n_tasks, 1, mm_task, &ctx);
    return SORI_OK;
}

/* ---- conv1d ------------------------------------------------------------------ */

typedef struct {
    const sori_conv1d_desc *d;
    int t_out;
    int64_t t_block, blocks_per_batch;
    atomic_int failed;
} c1_ctx;

static void conv1d_dense_task(void *vctx, int64_t begin, int64_t end)
{
    c1_ctx *ctx = vctx;
    const sori_conv1d_desc *d = ctx->d;
    int ck = d->c_in * d->kernel;
    for (int64_t task = begin; task < end; task++) {
        int b = (int)(task / ctx->blocks_per_batch);
        int t0 = (int)((task % ctx->blocks_per_batch) * ctx->t_block);
        int t1 = t0 + (int)ctx->t_block;
        if (t1 > ctx->t_out)
            t1 = ctx->t_out;
        int rows = t1 - t0;
        const float *x = d->x + (int64_t)b * d->t_in * d->c_in;
        float *y = d->y + ((int64_t)b * ctx->t_out + t0) * d->c_out;
        const float *src;
        int ld;
        if (d->kernel == 1 && d->stride == 1 && d->pad_left == 0) {
            src = x + (int64_t)t0 * d->c_in; /* pointwise: x is already the matrix */
            ld = d->c_in;
        } else {
            /* im2col: col[t, c*K + k] = x[t*stride + k - pad_left, c] */
            float *col = scratch_get((size_t)rows * ck);
            if (!col) {
                atomic_store(&ctx->failed, 1);
                return;
            }
            for (int t = 0; t < rows; t++) {
                float *cr = col + (int64_t)t * ck;
                for (int k = 0; k < d->kernel; k++) {
                    int ti = (t0 + t) * d->stride + k - d->pad_left;
                    if (ti < 0 || ti >= d->t_in) {
                        for (int c = 0; c < d->c_in; c++)
                            cr[c * d->kernel + k] = 0.0f;
                    } else {
                        const float *xr = x + (int64_t)ti * d->c_in;
                        for (int c = 0; c < d->c_in; c++)
                            cr[c * d->kernel + k] = xr[c];
                    }
                }
            }
            src = col;
            ld = ck;
        }
        sori_gemm(false, true, rows, d->c_out, ck, 1.0f, src, ld,
                    d->w, ck, 0.0f, y, d->c_out);
        for (int t = 0; t < rows; t++) {
            float *yr = y + (int64_t)t * d->c_out;
            if (d->bias)
                for (int o = 0; o < d->c_out; o++)
                    yr[o] += d->bias[o];
            act_row(yr, d->c_out, d->act);
        }
    }
}

static void conv1d_dw_task(void *vctx, int64_t begin, int64_t end)
{
    c1_ctx *ctx = vctx;
    const sori_conv1d_desc *d = ctx->d;
    int C = d->c_in, K = d->kernel;
    /* weights transposed to [K, C] so the channel loop is contiguous */
    float *wt = scratch_get((size_t)K * C);
    if (!wt) {
        atomic_store(&ctx->failed, 1);
        return;
    }
    for (int c = 0; c < C; c++)
        for (int k = 0; k < K; k++)
            wt[(int64_t)k * C + c] = d->w[(int64_t)c * K + k];
    for (int64_t task = begin; task < end; task++) {
        int b = (int)(task / ctx->blocks_per_batch);
        int t0 = (int)((task % ctx->blocks_per_batch) * ctx->t_block);
        int t1 = t0 + (int)ctx->t_block;
        if (t1 > ctx->t_out)
            t1 = ctx->t_out;
        const float *x = d->x + (int64_t)b * d->t_in * C;
        for (int t = t0; t < t1; t++) {
            float *restrict yr = d->y + ((int64_t)b * ctx->t_out + t) * C;
            if (d->bias)
                memcpy(yr, d->bias, (size_t)C * sizeof(float));
            else
                memset(yr, 0, (size_t)C * sizeof(float));
            for (int k = 0; k < K; k++) {
                int ti = t * d->stride + k - d->pad_left;
                if (ti < 0 || ti >= d->t_in)
                    continue;
                const float *restrict xr = x + (int64_t)ti * C;
                const float *restrict wk = wt + (int64_t)k * C;
                for (int c = 0; c < C; c++)
                    yr[c] += wk[c] * xr[c];
            }
            act_row(yr, C, d->act);
        }
    }
}

static sori_status cpu_conv1d(sori_backend *be, const sori_conv1d_desc *d, sori_error *err)
{
    c1_ctx ctx = {.d = d};
    atomic_init(&ctx.failed, 0);
    ctx.t_out = (d->t_in + d->pad_left + d->pad_right - d->kernel) / d->stride + 1;
    int nt = sori_thread_pool_size(be->pool);
    int64_t want = d->batch >= nt ? 1 : (nt + d->batch - 1) / d->batch;
    int64_t tb = (ctx.t_out + want - 1) / want;
    if (tb < 8)
        tb = 8;
    if (d->groups == 1 && d->kernel > 1 && tb > 256)
        tb = 256; /* bound the im2col scratch */
    ctx.t_block = tb;
    ctx.blocks_per_batch = (ctx.t_out + tb - 1) / tb;
    int64_t n_tasks = (int64_t)d->batch * ctx.blocks_per_batch;
    sori_parallel_for(be->pool, n_tasks, 1, d->groups == 1 ? conv1d_dense_task : conv1d_dw_task,
                      &ctx);
    if (atomic_load(&ctx.failed))
        return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "conv1d: out of scratch memory");
    return SORI_OK;
}

/* ---- conv2d ------------------------------------------------------------------ */

typedef struct {
    const sori_conv2d_desc *d;
    int h_out, w_out;
    const float *col; /* dense: shared im2col of one batch item */
    int b;
    int64_t rows_per_task;
    atomic_int failed;
} c2_ctx;

static void conv2d_dense_rows(void *vctx, int64_t begin, int64_t end)
{
    c2_ctx *ctx = vctx;
    const sori_conv2d_desc *d = ctx->d;
    int64_t hw = (int64_t)ctx->h_out * ctx->w_out;
    int ck = d->c_in * d->kh * d->kw;
    for (int64_t task = begin; task < end; task++) {
        int o0 = (int)(task * ctx->rows_per_task);
        int o1 = o0 + (int)ctx->rows_per_task;
        if (o1 > d->c_out)
            o1 = d->c_out;
        float *y = d->y + ((int64_t)ctx->b * d->c_out + o0) * hw;
        sori_gemm(false, false, o1 - o0, (int)hw, ck, 1.0f,
                    d->wt + (int64_t)o0 * ck, ck, ctx->col, (int)hw, 0.0f, y, (int)hw);
        for (int o = o0; o < o1; o++) {
            float *yr = y + (int64_t)(o - o0) * hw;
            if (d->bias)
                for (int64_t i = 0; i < hw; i++)
                    yr[i] += d->bias[o];
            act_row(yr, hw, d->act);
        }
    }
}

/* Depthwise 2-D convolution, one (batch, channel) plane per task. Each
 * output row accumulates kernel taps row by row; for every tap the range of
 * output columns whose input column is inside the image is computed once,
 * so the inner loop has no bounds checks. */
enum { DW_ROW_MAX = 1024 };

/* One channel of a 3x3 stride-2 depthwise conv (the dw_striding subsampling):
 * each input row is split into its even and odd columns (padding included),
 * so that every tap is a contiguous run the compiler vectorizes instead of
 * a stride-2 gather. */
static void conv2d_dw3s2_plane(const sori_conv2d_desc *d, const float *x, const float *w, float bias, float *y,
                               int ho_n, int wo_n)
{
    float even[DW_ROW_MAX + 1], odd[DW_ROW_MAX + 1];
    for (int oh = 0; oh < ho_n; oh++) {
        float *restrict yr = y + (int64_t)oh * wo_n;
        for (int ow = 0; ow < wo_n; ow++)
            yr[ow] = bias;
        for (int i = 0; i < 3; i++) {
            int ih = oh * 2 + i - d->pad_top;
            if (ih < 0 || ih >= d->h)
                continue;
            const float *xr = x + (int64_t)ih * d->w;
            /* x[2*ow + j - pad_left]: j = 0 -> even[ow], 1 -> odd[ow], 2 -> even[ow + 1] */
            for (int k = 0; k <= wo_n; k++) {
                int q = 2 * k - d->pad_left;
                even[k] = q >= 0 && q < d->w ? xr[q] : 0.0f;
                odd[k] = q + 1 >= 0 && q + 1 < d->w ? xr[q + 1] : 0.0f;
            }
            const float w0 = w[3 * i], w1 = w[3 * i + 1], w2 = w[3 * i + 2];
            for (int ow = 0; ow < wo_n; ow++)
                yr[ow] += w0 * even[ow] + w1 * odd[ow] + w2 * even[ow + 1];
        }
        act_row(yr, wo_n, d->act);
    }
}

static void conv2d_dw_task(void *vctx, int64_t begin, int64_t end)
{
    c2_ctx *ctx = vctx;
    const sori_conv2d_desc *d = ctx->d;
    const int wo_n = ctx->w_out, sw = d->stride_w;
    int64_t hw = (int64_t)ctx->h_out * wo_n;
    const bool k3s2 = d->kh == 3 && d->kw == 3 && d->stride_h == 2 && sw == 2 && wo_n <= DW_ROW_MAX;
    for (int64_t task = begin; task < end; task++) {
        int b = (int)(task / d->c_in), c = (int)(task % d->c_in);
        const float *x = d->x + ((int64_t)b * d->c_in + c) * d->h * d->w;
        const float *w = d->wt + (int64_t)c * d->kh * d->kw;
        float *y = d->y + ((int64_t)b * d->c_out + c) * hw;
        float bias = d->bias ? d->bias[c] : 0.0f;
        if (k3s2) {
            conv2d_dw3s2_plane(d, x, w, bias, y, ctx->h_out, wo_n);
            continue;
        }
        for (int oh = 0; oh < ctx->h_out; oh++) {
            float *restrict yr = y + (int64_t)oh * wo_n;
            for (int ow = 0; ow < wo_n; ow++)
                yr[ow] = bias;
            for (int i = 0; i < d->kh; i++) {
                int ih = oh * d->stride_h + i - d->pad_top;
                if (ih < 0 || ih >= d->h)
                    continue;
                const float *restrict xr = x + (int64_t)ih * d->w;
                for (int j = 0; j < d->kw; j++) {
                    /* valid ow: 0 <= ow*sw + j - pad_left < w */
                    int off = j - d->pad_left;
                    int lo = off >= 0 ? 0 : (-off + sw - 1) / sw;
                    int hi = (d->w - 1 - off) / sw + 1; /* exclusive */
                    if (d->w - 1 - off < 0)
                        hi = 0;
                    if (hi > wo_n)
                        hi = wo_n;
                    float wv = w[i * d->kw + j];
                    for (int ow = lo; ow < hi; ow++)
                        yr[ow] += wv * xr[(int64_t)ow * sw + off];
                }
            }
            act_row(yr, wo_n, d->act);
        }
    }
}

/* col[(c*KH + i)*KW + j, oh*W_out + ow] = x[b, c, oh*sh + i - pt, ow*sw + j - pl] */
static void im2col_task(void *vctx, int64_t begin, int64_t end)
{
    c2_ctx *ctx = vctx;
    const sori_conv2d_desc *d = ctx->d;
    const int64_t hw = (int64_t)ctx->h_out * ctx->w_out;
    float *col = (float *)ctx->col;
    for (int64_t c = begin; c < end; c++) {
        const float *x = d->x + ((int64_t)ctx->b * d->c_in + c) * d->h * d->w;
        for (int i = 0; i < d->kh; i++)
            for (int j = 0; j < d->kw; j++) {
                float *cr = col + ((c * d->kh + i) * d->kw + j) * hw;
                for (int oh = 0; oh < ctx->h_out; oh++) {
                    int ih = oh * d->stride_h + i - d->pad_top;
                    float *dst = cr + (int64_t)oh * ctx->w_out;
                    if (ih < 0 || ih >= d->h) {
                        memset(dst, 0, (size_t)ctx->w_out * sizeof(float));
                        continue;
                    }
                    const float *xr = x + (int64_t)ih * d->w;
                    for (int ow = 0; ow < ctx->w_out; ow++) {
                        int iw = ow * d->stride_w + j - d->pad_left;
                        dst[ow] = (iw < 0 || iw >= d->w) ? 0.0f : xr[iw];
                    }
                }
            }
    }
}

/* Packed weights (SORI_F32_P16): output rows of channels, a block of output
 * positions per task: their patches gathered into scratch (a block, never
 * the whole image's im2col) and multiplied by the packed weight. */
enum { C2_ROWS = 96 }; /* output positions per task */

static void conv2d_p16_task(void *vctx, int64_t begin, int64_t end)
{
    c2_ctx *ctx = vctx;
    const sori_conv2d_desc *d = ctx->d;
    const int64_t hw = (int64_t)ctx->h_out * ctx->w_out, blocks = (hw + C2_ROWS - 1) / C2_ROWS;
    const int ck = d->c_in * d->kh * d->kw;
    const size_t patch_n = ((size_t)C2_ROWS * ck + 15) & ~(size_t)15; /* the gemm's part 64-byte aligned */
    float *patch = scratch_get(patch_n + SORI_P16_SCRATCH);
    if (!patch) {
        atomic_store(&ctx->failed, 1);
        return;
    }
    for (int64_t task = begin; task < end; task++) {
        const int b = (int)(task / blocks);
        const int64_t r0 = (task % blocks) * C2_ROWS, r1 = r0 + C2_ROWS < hw ? r0 + C2_ROWS : hw;
        const float *x = d->x + (int64_t)b * d->c_in * d->h * d->w;
        for (int64_t pos = r0; pos < r1; pos++) {
            const int oh = (int)(pos / ctx->w_out), ow = (int)(pos % ctx->w_out);
            const int ih0 = oh * d->stride_h - d->pad_top, iw0 = ow * d->stride_w - d->pad_left;
            float *pr = patch + (pos - r0) * ck;
            if (d->kh == 3 && d->kw == 3 && ih0 >= 0 && ih0 + 3 <= d->h && iw0 >= 0 && iw0 + 3 <= d->w) {
                /* inside the image (all but the edges): three runs of three per channel */
                const int64_t plane = (int64_t)d->h * d->w, W = d->w;
                const float *xc = x + (int64_t)ih0 * W + iw0;
                for (int c = 0; c < d->c_in; c++, xc += plane, pr += 9) {
                    pr[0] = xc[0], pr[1] = xc[1], pr[2] = xc[2];
                    pr[3] = xc[W], pr[4] = xc[W + 1], pr[5] = xc[W + 2];
                    pr[6] = xc[2 * W], pr[7] = xc[2 * W + 1], pr[8] = xc[2 * W + 2];
                }
                continue;
            }
            for (int c = 0; c < d->c_in; c++)
                for (int i = 0; i < d->kh; i++) {
                    const int ih = oh * d->stride_h + i - d->pad_top;
                    const float *xr = x + ((int64_t)c * d->h + ih) * d->w;
                    for (int j = 0; j < d->kw; j++) {
                        const int iw = ow * d->stride_w + j - d->pad_left;
                        *pr++ = ih < 0 || ih >= d->h || iw < 0 || iw >= d->w ? 0.0f : xr[iw];
                    }
                }
        }
        sori_gemm_p16((int)(r1 - r0), d->c_out, ck, 1.0f, patch, ck, d->wt, 0.0f,
                      d->y + ((int64_t)b * hw + r0) * d->c_out, d->c_out, d->bias, d->act, patch + patch_n);
    }
}

static sori_status cpu_conv2d(sori_backend *be, const sori_conv2d_desc *d, sori_error *err)
{
    c2_ctx ctx = {.d = d};
    ctx.h_out = (d->h + d->pad_top + d->pad_bottom - d->kh) / d->stride_h + 1;
    ctx.w_out = (d->w + d->pad_left + d->pad_right - d->kw) / d->stride_w + 1;
    if (d->wt_type == SORI_F32_P16) {
        atomic_init(&ctx.failed, 0);
        const int64_t hw = (int64_t)ctx.h_out * ctx.w_out;
        sori_parallel_for(be->pool, (int64_t)d->batch * ((hw + C2_ROWS - 1) / C2_ROWS), 1, conv2d_p16_task, &ctx);
        return atomic_load(&ctx.failed) ? sori_fail(err, SORI_ERR_NO_MEMORY, 0, "conv2d: out of scratch memory")
                                        : SORI_OK;
    }
    if (d->groups != 1) {
        sori_parallel_for(be->pool, (int64_t)d->batch * d->c_in, 1, conv2d_dw_task, &ctx);
        return SORI_OK;
    }
    int64_t hw = (int64_t)ctx.h_out * ctx.w_out;
    int ck = d->c_in * d->kh * d->kw;
    float *col = scratch_get((size_t)ck * hw);
    if (!col)
        return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "conv2d: out of scratch memory");
    int nt = sori_thread_pool_size(be->pool);
    ctx.rows_per_task = (d->c_out + nt - 1) / nt;
    if (ctx.rows_per_task < 1)
        ctx.rows_per_task = 1;
    int64_t n_tasks = (d->c_out + ctx.rows_per_task - 1) / ctx.rows_per_task;
    for (int b = 0; b < d->batch; b++) {
        ctx.col = col;
        ctx.b = b;
        /* im2col, split over input channels */
        sori_parallel_for(be->pool, d->c_in, 1, im2col_task, &ctx);
        sori_parallel_for(be->pool, n_tasks, 1, conv2d_dense_rows, &ctx);
    }
    return SORI_OK;
}

/* ---- row-wise ops ------------------------------------------------------------- */

typedef struct {
    const sori_op_desc *op;
} row_ctx;

static void layer_norm_task(void *vctx, int64_t begin, int64_t end)
{
    const sori_layer_norm_desc *d = &((row_ctx *)vctx)->op->u.layer_norm;
    int D = d->dim;
    for (int64_t r = begin; r < end; r++) {
        const float *x = d->x + r * D;
        float *y = d->y + r * D;
        float mean = 0.0f;
        for (int i = 0; i < D; i++)
            mean += x[i];
        mean /= (float)D;
        float var = 0.0f;
        for (int i = 0; i < D; i++) {
            float t = x[i] - mean;
            var += t * t;
        }
        var /= (float)D;
        float inv = 1.0f / sqrtf(var + d->eps);
        for (int i = 0; i < D; i++) {
            float t = (x[i] - mean) * inv;
            y[i] = t * (d->gamma ? d->gamma[i] : 1.0f) + (d->beta ? d->beta[i] : 0.0f);
        }
    }
}

static void batch_norm_task(void *vctx, int64_t begin, int64_t end)
{
    const sori_batch_norm_desc *d = &((row_ctx *)vctx)->op->u.batch_norm;
    int C = d->channels;
    for (int64_t r = begin; r < end; r++) {
        const float *x = d->x + r * C;
        float *y = d->y + r * C;
        for (int c = 0; c < C; c++) {
            float s = (d->gamma ? d->gamma[c] : 1.0f) / sqrtf(d->var[c] + d->eps);
            y[c] = (x[c] - d->mean[c]) * s + (d->beta ? d->beta[c] : 0.0f);
        }
        act_row(y, C, d->act);
    }
}

static void softmax_task(void *vctx, int64_t begin, int64_t end)
{
    const sori_softmax_desc *d = &((row_ctx *)vctx)->op->u.softmax;
    int D = d->dim;
    for (int64_t r = begin; r < end; r++) {
        const float *x = d->x + r * D;
        const uint8_t *m = d->mask ? d->mask + r * D : NULL;
        float *y = d->y + r * D;
        float mx = -INFINITY;
        for (int i = 0; i < D; i++)
            if (!(m && m[i]) && x[i] > mx)
                mx = x[i];
        if (mx == -INFINITY) { /* fully masked row */
            memset(y, 0, (size_t)D * sizeof(float));
            continue;
        }
        if (!m) {
            /* unmasked: log-softmax needs x after the sum (y may be x), so
             * only sums; softmax writes the exponentials and scales them */
            if (d->log) {
                float lse = mx + logf(exp_sum_row(x, D, mx));
                for (int i = 0; i < D; i++)
                    y[i] = x[i] - lse;
            } else {
                float sum = exp_shift_row(x, y, D, mx);
                float inv = 1.0f / sum;
                for (int i = 0; i < D; i++)
                    y[i] *= inv;
            }
            continue;
        }
        float sum = 0.0f;
        for (int i = 0; i < D; i++)
            sum += m[i] ? 0.0f : expf(x[i] - mx);
        if (d->log) {
            float lse = mx + logf(sum);
            for (int i = 0; i < D; i++)
                y[i] = m[i] ? -INFINITY : x[i] - lse;
        } else {
            float inv = 1.0f / sum;
            for (int i = 0; i < D; i++)
                y[i] = m[i] ? 0.0f : expf(x[i] - mx) * inv;
        }
    }
}

static void unary_task(void *vctx, int64_t begin, int64_t end)
{
    const sori_unary_desc *d = &((row_ctx *)vctx)->op->u.unary;
    for (int64_t i = begin; i < end; i++)
        d->y[i] = d->x[i] * d->scale;
    act_row(d->y + begin, end - begin, d->act);
}

static void glu_task(void *vctx, int64_t begin, int64_t end)
{
    const sori_glu_desc *d = &((row_ctx *)vctx)->op->u.glu;
    int D = d->dim;
    for (int64_t r = begin; r < end; r++) {
        const float *a = d->x + r * 2 * D;
        const float *g = a + D;
        float *y = d->y + r * D;
        glu_row(a, g, y, D);
    }
}

static void binary_task(void *vctx, int64_t begin, int64_t end)
{
    const sori_binary_desc *d = &((row_ctx *)vctx)->op->u.binary;
    int D = d->dim;
    for (int64_t r = begin; r < end; r++) {
        const float *restrict a = d->a + r * D;
        float *y = d->y + r * D;
        if (d->b_per_row) {
            const float s = d->b[r];
            if (d->kind == SORI_BIN_ADD)
                for (int i = 0; i < D; i++)
                    y[i] = a[i] + d->beta * s;
            else
                for (int i = 0; i < D; i++)
                    y[i] = a[i] * s;
            continue;
        }
        const float *restrict b = d->b_row_broadcast ? d->b : d->b + r * D;
        if (d->kind == SORI_BIN_ADD) {
            float beta = d->beta;
            for (int i = 0; i < D; i++)
                y[i] = a[i] + beta * b[i];
        } else {
            for (int i = 0; i < D; i++)
                y[i] = a[i] * b[i];
        }
    }
}

/* rows per task so each task has at least ~16k elements of work */
static int64_t row_grain(int dim)
{
    int64_t g = 16384 / (dim > 0 ? dim : 1);
    return g < 1 ? 1 : g;
}

/* ---- embedding ----------------------------------------------------------------- */

static sori_status cpu_embedding(const sori_embedding_desc *d, sori_error *err)
{
    for (int64_t i = 0; i < d->n_ids; i++) {
        int32_t id = d->ids[i];
        if (id < 0 || id >= d->vocab)
            return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "embedding: id %d at %lld not in [0, %d)",
                             id, (long long)i, d->vocab);
        if (d->table_type == SORI_F16)
            f16_rows_to_f32((const uint16_t *)d->table + (int64_t)id * d->dim, d->dim, 1, d->dim,
                            d->out + i * d->dim);
        else if (d->table_type != SORI_F32)
            sori_dequantize_row(d->table_type, (const uint8_t *)d->table + sori_dtype_bytes(d->table_type, (int64_t)id * d->dim),
                                d->out + i * d->dim, d->dim);
        else
            memcpy(d->out + i * d->dim, (const float *)d->table + (int64_t)id * d->dim,
                   (size_t)d->dim * sizeof(float));
    }
    return SORI_OK;
}

/* ---- attention ----------------------------------------------------------------- */

typedef struct {
    const sori_attention_desc *d;
    atomic_int failed;
} att_ctx;

/* The keys query i may see, [*lo, *hi) (sori_attention_desc's rules, each a range). */
static inline void att_range(const sori_attention_desc *d, int b, int i, int *lo, int *hi)
{
    int a = d->kv_start ? d->kv_start[b] : 0;
    int e = d->kv_end ? d->kv_end[b] : d->t_k;
    const int qp = i + (d->t_k - d->t_q);
    if (d->context == SORI_ATT_LIMITED) {
        if (d->left >= 0 && qp - d->left > a)
            a = qp - d->left;
        if (d->right >= 0 && qp + d->right + 1 < e)
            e = qp + d->right + 1;
    } else if (d->context == SORI_ATT_CHUNKED) {
        const int cq = qp / d->chunk_size;
        if ((cq + 1) * d->chunk_size < e)
            e = (cq + 1) * d->chunk_size;
        if (d->left_chunks >= 0 && (cq - d->left_chunks) * d->chunk_size > a)
            a = (cq - d->left_chunks) * d->chunk_size;
    }
    *lo = a < 0 ? 0 : a;
    *hi = e > d->t_k ? d->t_k : e;
}

/* Row i of item b's scores (width values, the keys' first) to attention
 * weights: scaled (after the position terms bdi, if any, are added), then
 * softmaxed over the keys query i may see, zero elsewhere, and all zero for
 * a query past q_len or one that sees no key. */
static void score_row(const sori_attention_desc *d, int b, int i, int q_len, float *s, int width, const float *bdi)
{
    int lo, hi; /* every rule leaves one contiguous range of keys [lo, hi) */
    att_range(d, b, i, &lo, &hi);
    if (i >= q_len || lo >= hi) {
        memset(s, 0, (size_t)width * sizeof(float));
        return;
    }
    float mx = -INFINITY;
    int j = lo;
#if SORI_VEC
    const __m256 sc = _mm256_set1_ps(d->scale);
    __m256 vm = _mm256_set1_ps(-INFINITY);
    for (; j + 8 <= hi; j += 8) {
        __m256 val = _mm256_loadu_ps(s + j);
        val = _mm256_mul_ps(bdi ? _mm256_add_ps(val, _mm256_loadu_ps(bdi + j)) : val, sc);
        _mm256_storeu_ps(s + j, val);
        vm = _mm256_max_ps(val, vm); /* (a NaN score leaves the maximum as it is, as below) */
    }
    __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(vm), _mm256_extractf128_ps(vm, 1));
    m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
    mx = _mm_cvtss_f32(m4);
#endif
    for (; j < hi; j++) {
        const float val = (bdi ? s[j] + bdi[j] : s[j]) * d->scale;
        s[j] = val;
        mx = val > mx ? val : mx;
    }
    const float inv = 1.0f / exp_shift_row(s + lo, s + lo, hi - lo, mx);
    for (int j = lo; j < hi; j++)
        s[j] *= inv;
    memset(s, 0, (size_t)lo * sizeof(float));
    memset(s + hi, 0, (size_t)(width - hi) * sizeof(float));
}

/* out[i][j] = q_i · k_j for nq queries (`qs` apart) and n rows of k (dim
 * values each, `stride` apart), rows of out ldo apart: four keys at a time,
 * each group read from memory once for all the queries. */
static void dot_rows(const float *q, int64_t qs, int nq, const float *k, int64_t stride, int n, int dim, float *out,
                     int64_t ldo)
{
    int j = 0;
#if SORI_VEC
    if (dim % 8 == 0) {
        for (; j + 4 <= n; j += 4) {
            const float *k0 = k + (int64_t)j * stride, *k1 = k0 + stride, *k2 = k1 + stride, *k3 = k2 + stride;
            if (j + 20 <= n)
                for (int r = 16; r < 20; r++)
                    sori_prefetch_row(k0 + (int64_t)r * stride, dim);
            for (int i = 0; i < nq; i++) {
                const float *qi = q + (int64_t)i * qs;
                __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
                for (int c = 0; c < dim; c += 8) {
                    const __m256 qv = _mm256_loadu_ps(qi + c);
                    s0 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(k0 + c), s0);
                    s1 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(k1 + c), s1);
                    s2 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(k2 + c), s2);
                    s3 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(k3 + c), s3);
                }
                /* the four sums side by side: pairwise adds, then the two halves */
                const __m256 h = _mm256_hadd_ps(_mm256_hadd_ps(s0, s1), _mm256_hadd_ps(s2, s3));
                _mm_storeu_ps(out + (int64_t)i * ldo + j,
                              _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1)));
            }
        }
    }
#endif
    for (; j < n; j++) {
        const float *kj = k + (int64_t)j * stride;
        for (int i = 0; i < nq; i++) {
            const float *qi = q + (int64_t)i * qs;
            float acc = 0.0f;
            for (int c = 0; c < dim; c++)
                acc += qi[c] * kj[c];
            out[(int64_t)i * ldo + j] = acc;
        }
    }
}

/* out_i = Σ_j p[i][j] v_j over keys [lo, hi) for nq rows of weights p (ldp
 * apart; zero outside each row's own range), outputs ldo apart (written):
 * two queries' 32 outputs at a time in eight registers while the value
 * rows stream past (the rows are read again from cache for the other
 * queries and columns). */
#if SORI_VEC
static inline __attribute__((always_inline)) void weigh_tile(const int NQ, const int DZ, const float *p, int64_t ldp,
                                                             const float *v, int64_t stride, int lo, int hi,
                                                             int d0, int dim, float *out, int64_t ldo)
{
    __m256 acc[2][4];
#pragma GCC unroll 2
    for (int i = 0; i < NQ; i++)
#pragma GCC unroll 4
        for (int z = 0; z < DZ; z++)
            acc[i][z] = _mm256_setzero_ps();
    for (int j = lo; j < hi; j++) {
        const float *vj = v + (int64_t)j * stride + d0;
        if (d0 == 0)
            sori_prefetch_row(vj + 16 * stride, dim);
#pragma GCC unroll 2
        for (int i = 0; i < NQ; i++) {
            const __m256 pij = _mm256_set1_ps(p[(int64_t)i * ldp + j]);
#pragma GCC unroll 4
            for (int z = 0; z < DZ; z++)
                acc[i][z] = _mm256_fmadd_ps(pij, _mm256_loadu_ps(vj + 8 * z), acc[i][z]);
        }
    }
#pragma GCC unroll 2
    for (int i = 0; i < NQ; i++)
#pragma GCC unroll 4
        for (int z = 0; z < DZ; z++)
            _mm256_storeu_ps(out + (int64_t)i * ldo + d0 + 8 * z, acc[i][z]);
}
#endif

static void weigh_rows(const float *p, int64_t ldp, int nq, const float *v, int64_t stride, int lo, int hi, int dim,
                       float *out, int64_t ldo)
{
#if SORI_VEC
    if (dim % 8 == 0) {
        for (int i = 0; i < nq; i += 2) {
            const float *pi = p + (int64_t)i * ldp;
            float *oi = out + (int64_t)i * ldo;
            int d0 = 0;
            for (; d0 + 32 <= dim; d0 += 32)
                if (nq - i >= 2)
                    weigh_tile(2, 4, pi, ldp, v, stride, lo, hi, d0, dim, oi, ldo);
                else
                    weigh_tile(1, 4, pi, ldp, v, stride, lo, hi, d0, dim, oi, ldo);
            for (; d0 < dim; d0 += 8)
                if (nq - i >= 2)
                    weigh_tile(2, 1, pi, ldp, v, stride, lo, hi, d0, dim, oi, ldo);
                else
                    weigh_tile(1, 1, pi, ldp, v, stride, lo, hi, d0, dim, oi, ldo);
        }
        return;
    }
#endif
    for (int i = 0; i < nq; i++)
        memset(out + (int64_t)i * ldo, 0, (size_t)dim * sizeof(float));
    for (int j = lo; j < hi; j++) {
        const float *vj = v + (int64_t)j * stride;
        sori_prefetch_row(vj + 16 * stride, dim);
        for (int i = 0; i < nq; i++) {
            const float pij = p[(int64_t)i * ldp + j];
            float *o = out + (int64_t)i * ldo;
            for (int c = 0; c < dim; c++)
                o[c] += pij * vj[c];
        }
    }
}

/* The keys [lo, hi) that any of item b's first q_len queries sees (lo >= hi: none). */
static void step_range(const sori_attention_desc *d, int b, int Tq, int q_len, int *lo, int *hi)
{
    *lo = d->t_k, *hi = 0;
    for (int i = 0; i < Tq && i < q_len; i++) {
        int a, e;
        att_range(d, b, i, &a, &e);
        *lo = a < *lo ? a : *lo;
        *hi = e > *hi ? e : *hi;
    }
}

static void attention_task(void *vctx, int64_t begin, int64_t end)
{
    att_ctx *ctx = vctx;
    const sori_attention_desc *d = ctx->d;
    int Tq = d->t_q, Tk = d->t_k, dk = d->d_k, dv = d->d_v, H = d->heads;
    bool rel = d->pos != NULL;
    size_t need = (size_t)Tq * Tk + (rel ? (size_t)Tq * d->n_pos + 2 * (size_t)Tq * dk : 0);
    float *scores = scratch_get(need);
    if (!scores) {
        atomic_store(&ctx->failed, 1);
        return;
    }
    float *bd = scores + (size_t)Tq * Tk;
    float *qu = bd + (size_t)Tq * d->n_pos;
    float *qv = qu + (size_t)Tq * dk;
    int pos_center = (d->n_pos - 1) / 2, q_off = Tk - Tq;
    for (int64_t task = begin; task < end; task++) {
        int b = (int)(task / H), h = (int)(task % H);
        const float *q = d->q + (int64_t)b * Tq * d->q_stride + (int64_t)h * dk;
        const float *k = d->k + (int64_t)b * Tk * d->k_stride + (int64_t)h * dk;
        const float *v = d->v + (int64_t)b * Tk * d->v_stride + (int64_t)h * dv;
        float *out = d->out + (int64_t)b * Tq * H * dv + (int64_t)h * dv;
        int q_len = d->q_len ? d->q_len[b] : Tq;
        if (rel) {
            const float *u = d->pos_bias_u + (int64_t)h * dk;
            const float *vb = d->pos_bias_v + (int64_t)h * dk;
            for (int i = 0; i < Tq; i++)
                for (int c = 0; c < dk; c++) {
                    float qi = q[(int64_t)i * d->q_stride + c];
                    qu[(int64_t)i * dk + c] = qi + u[c];
                    qv[(int64_t)i * dk + c] = qi + vb[c];
                }
            sori_gemm(false, true, Tq, Tk, dk, 1.0f, qu, dk, k,
                        (int)d->k_stride, 0.0f, scores, Tk);
            sori_gemm(false, true, Tq, d->n_pos, dk, 1.0f, qv, dk,
                        d->pos + (int64_t)h * dk, H * dk, 0.0f, bd, d->n_pos);
        } else if (Tq <= 8) { /* a decoder's step: the keys read in place (sgemm would pack them), only
                               * those some query sees */
            int lo, hi;
            step_range(d, b, Tq, q_len, &lo, &hi);
            if (lo < hi) {
#if defined(SORI_CPU_AVX512)
                if (dk % 16 == 0 && sori_p16_avx512(-1))
                    sori_att_dot_avx512(q, d->q_stride, Tq, k + (int64_t)lo * d->k_stride, d->k_stride, hi - lo, dk,
                                        scores + lo, Tk);
                else
#endif
                    dot_rows(q, d->q_stride, Tq, k + (int64_t)lo * d->k_stride, d->k_stride, hi - lo, dk,
                             scores + lo, Tk);
            }
        } else {
            sori_gemm(false, true, Tq, Tk, dk, 1.0f, q,
                        (int)d->q_stride, k, (int)d->k_stride, 0.0f, scores, Tk);
        }
        for (int i = 0; i < Tq; i++)
            score_row(d, b, i, q_len, scores + (int64_t)i * Tk, Tk,
                      rel ? bd + (int64_t)i * d->n_pos + pos_center - (i + q_off) : NULL);
        if (Tq <= 8) { /* the values read in place, those with weight in any row */
            int lo, hi;
            step_range(d, b, Tq, q_len, &lo, &hi);
#if defined(SORI_CPU_AVX512)
            if (dv % 16 == 0 && sori_p16_avx512(-1))
                sori_att_weigh_avx512(scores, Tk, Tq, v, d->v_stride, lo, hi, dv, out, (int64_t)H * dv);
            else
#endif
            weigh_rows(scores, Tk, Tq, v, d->v_stride, lo, hi, dv, out, (int64_t)H * dv);
        } else {
            sori_gemm(false, false, Tq, dv, Tk, 1.0f, scores, Tk, v,
                        (int)d->v_stride, 0.0f, out, H * dv);
        }
    }
}

/* Rows of n vectors (dim values each, `stride` apart) packed as the
 * weights of a product A · Wᵀ (W [n, dim]): panels of 16 vectors, k-major;
 * the vectors past n, up to n_pad (a multiple of 16), are zeros. */
static void pack_rows_p16(const float *x, int64_t stride, int n, int n_pad, int dim, float *out)
{
    for (int p = 0; p < n_pad; p += SORI_P16) {
        float *panel = out + (int64_t)p * dim;
        for (int j = 0; j < SORI_P16; j++) {
            const float *xr = p + j < n ? x + (int64_t)(p + j) * stride : NULL;
            for (int c = 0; c < dim; c++)
                panel[(int64_t)c * SORI_P16 + j] = xr ? xr[c] : 0.0f;
        }
    }
}

/* The columns of n rows (dim values each, `stride` apart) packed as the
 * weights of A · Wᵀ with W [dim_pad, n_pad] = the rows transposed, dim_pad
 * dim rounded up to 16: panel p holds columns p..p+15, row after row; the
 * rows past n and the columns past dim are zeros. */
static void pack_cols_p16(const float *x, int64_t stride, int n, int n_pad, int dim, float *out)
{
    for (int p = 0; p < dim; p += SORI_P16) {
        float *panel = out + (int64_t)p * n_pad;
        const int w = dim - p < SORI_P16 ? dim - p : SORI_P16;
        for (int t = 0; t < n_pad; t++) {
            float *dst = panel + (int64_t)t * SORI_P16;
            if (t < n)
                memcpy(dst, x + (int64_t)t * stride + p, (size_t)w * sizeof(float));
            memset(dst + (t < n ? w : 0), 0, (size_t)(SORI_P16 - (t < n ? w : 0)) * sizeof(float));
        }
    }
}

enum { ATT_QB = 192 }; /* queries per block: their scores stay in L2 */

/* Attention through sori's packed product (d_v rounded up to 16): per
 * (item, head) the keys, the positions and the values are packed once, and
 * the queries go in blocks of ATT_QB, so a block's scores (ATT_QB × t_k)
 * are written, normalized and consumed while they are in cache, instead of
 * a t_q × t_k matrix going through memory three times. The arithmetic per
 * score is attention_task's. */
static void attention_task_p16(void *vctx, int64_t begin, int64_t end)
{
    att_ctx *ctx = vctx;
    const sori_attention_desc *d = ctx->d;
    const int Tq = d->t_q, Tk = d->t_k, dk = d->d_k, dv = d->d_v, H = d->heads;
    const bool rel = d->pos != NULL;
    const int Tkp = (Tk + SORI_P16 - 1) / SORI_P16 * SORI_P16;
    const int Np = rel ? (d->n_pos + SORI_P16 - 1) / SORI_P16 * SORI_P16 : 0;
    const int dvp = (dv + SORI_P16 - 1) / SORI_P16 * SORI_P16; /* a head of another size: out through a block */
    const size_t need = (size_t)Tkp * dk + (size_t)dvp * Tkp + (size_t)Np * dk + (size_t)ATT_QB * (Tkp + Np) +
                        (rel ? 2 * (size_t)ATT_QB * dk : 0) + (dvp != dv ? (size_t)ATT_QB * dvp : 0) +
                        SORI_P16_SCRATCH;
    float *kp = scratch_get(need);
    if (!kp) {
        atomic_store(&ctx->failed, 1);
        return;
    }
    float *vp = kp + (size_t)Tkp * dk, *pp = vp + (size_t)dvp * Tkp, *scores = pp + (size_t)Np * dk;
    float *bd = scores + (size_t)ATT_QB * Tkp, *qu = bd + (size_t)ATT_QB * Np, *qv = qu + (rel ? ATT_QB * dk : 0);
    float *ob = qv + (rel ? ATT_QB * dk : 0), *ascratch = ob + (dvp != dv ? (size_t)ATT_QB * dvp : 0);
    const int pos_center = (d->n_pos - 1) / 2, q_off = Tk - Tq;
    for (int64_t task = begin; task < end; task++) {
        const int b = (int)(task / H), h = (int)(task % H);
        const float *q = d->q + (int64_t)b * Tq * d->q_stride + (int64_t)h * dk;
        const float *k = d->k + (int64_t)b * Tk * d->k_stride + (int64_t)h * dk;
        const float *v = d->v + (int64_t)b * Tk * d->v_stride + (int64_t)h * dv;
        float *out = d->out + (int64_t)b * Tq * H * dv + (int64_t)h * dv;
        const int q_len = d->q_len ? d->q_len[b] : Tq;
        pack_rows_p16(k, d->k_stride, Tk, Tkp, dk, kp);
        pack_cols_p16(v, d->v_stride, Tk, Tkp, dv, vp);
        if (rel)
            pack_rows_p16(d->pos + (int64_t)h * dk, (int64_t)H * dk, d->n_pos, Np, dk, pp);
        for (int i0 = 0; i0 < Tq; i0 += ATT_QB) {
            const int nq = Tq - i0 < ATT_QB ? Tq - i0 : ATT_QB;
            if (rel) {
                const float *u = d->pos_bias_u + (int64_t)h * dk, *vb = d->pos_bias_v + (int64_t)h * dk;
                for (int i = 0; i < nq; i++)
                    for (int c = 0; c < dk; c++) {
                        const float qi = q[(int64_t)(i0 + i) * d->q_stride + c];
                        qu[(int64_t)i * dk + c] = qi + u[c];
                        qv[(int64_t)i * dk + c] = qi + vb[c];
                    }
                sori_gemm_p16(nq, Tkp, dk, 1.0f, qu, dk, kp, 0.0f, scores, Tkp, NULL, SORI_ACT_NONE, ascratch);
                sori_gemm_p16(nq, Np, dk, 1.0f, qv, dk, pp, 0.0f, bd, Np, NULL, SORI_ACT_NONE, ascratch);
            } else {
                sori_gemm_p16(nq, Tkp, dk, 1.0f, q + (int64_t)i0 * d->q_stride, d->q_stride, kp, 0.0f, scores, Tkp,
                              NULL, SORI_ACT_NONE, ascratch);
            }
            for (int r = 0; r < nq; r++)
                score_row(d, b, i0 + r, q_len, scores + (int64_t)r * Tkp, Tkp,
                          rel ? bd + (int64_t)r * Np + pos_center - (i0 + r + q_off) : NULL);
            float *o = out + (int64_t)i0 * H * dv;
            if (dvp == dv) {
                sori_gemm_p16(nq, dv, Tkp, 1.0f, scores, Tkp, vp, 0.0f, o, (int64_t)H * dv, NULL, SORI_ACT_NONE,
                              ascratch);
            } else {
                sori_gemm_p16(nq, dvp, Tkp, 1.0f, scores, Tkp, vp, 0.0f, ob, dvp, NULL, SORI_ACT_NONE, ascratch);
                for (int r = 0; r < nq; r++)
                    memcpy(o + (int64_t)r * H * dv, ob + (int64_t)r * dvp, (size_t)dv * sizeof(float));
            }
        }
    }
}

static sori_status cpu_attention(sori_backend *be, const sori_attention_desc *d, sori_error *err)
{
    att_ctx ctx = {.d = d};
    atomic_init(&ctx.failed, 0);
    /* the packed product where it is the AVX-512 kernel (with AVX2 it is no faster than sgemm
     * here), for enough queries to pay for packing the keys and values (not a decoder's step) */
    const bool p16 = SORI_VEC && d->t_q >= 32 && sori_p16_avx512(-1);
    sori_parallel_for(be->pool, (int64_t)d->batch * d->heads, 1, p16 ? attention_task_p16 : attention_task, &ctx);
    if (atomic_load(&ctx.failed))
        return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "attention: out of scratch memory");
    return SORI_OK;
}

/* ---- LSTM step ------------------------------------------------------------------ */

static float sigm(float x)
{
    return 1.0f / (1.0f + expf(-x));
}

static sori_status cpu_lstm(const sori_lstm_desc *d)
{
    int B = d->batch, H = d->hidden, G = 4 * H;
    sori_gemm(false, true, B, G, d->n_in, 1.0f, d->x, d->n_in,
                d->w_ih, d->n_in, 0.0f, d->gates, G);
    sori_gemm(false, true, B, G, H, 1.0f, d->h_in, H, d->w_hh, H,
                1.0f, d->gates, G);
    for (int b = 0; b < B; b++) {
        float *g = d->gates + (int64_t)b * G;
        for (int j = 0; j < G; j++)
            g[j] += (d->b_ih ? d->b_ih[j] : 0.0f) + (d->b_hh ? d->b_hh[j] : 0.0f);
        for (int j = 0; j < H; j++) {
            float ig = sigm(g[j]), fg = sigm(g[H + j]), gg = tanhf(g[2 * H + j]),
                  og = sigm(g[3 * H + j]);
            float c = fg * d->c_in[(int64_t)b * H + j] + ig * gg;
            d->c_out[(int64_t)b * H + j] = c;
            d->h_out[(int64_t)b * H + j] = og * tanhf(c);
        }
    }
    return SORI_OK;
}

/* ---- the table --------------------------------------------------------------------- */

static sori_status cpu_run(sori_backend *be, int stream, const sori_op_desc *op, sori_error *err)
{
    (void)stream;
    row_ctx rc = {op};
    switch (op->op) {
    case SORI_OP_MATMUL: return cpu_matmul(be, &op->u.matmul, err);
    case SORI_OP_CONV1D: return cpu_conv1d(be, &op->u.conv1d, err);
    case SORI_OP_CONV2D: return cpu_conv2d(be, &op->u.conv2d, err);
    case SORI_OP_LAYER_NORM:
        sori_parallel_for(be->pool, op->u.layer_norm.n_rows, row_grain(op->u.layer_norm.dim),
                          layer_norm_task, &rc);
        return SORI_OK;
    case SORI_OP_BATCH_NORM:
        sori_parallel_for(be->pool, op->u.batch_norm.n_rows, row_grain(op->u.batch_norm.channels),
                          batch_norm_task, &rc);
        return SORI_OK;
    case SORI_OP_SOFTMAX:
        sori_parallel_for(be->pool, op->u.softmax.n_rows, row_grain(op->u.softmax.dim),
                          softmax_task, &rc);
        return SORI_OK;
    case SORI_OP_UNARY:
        sori_parallel_for(be->pool, op->u.unary.n, 16384, unary_task, &rc);
        return SORI_OK;
    case SORI_OP_GLU:
        sori_parallel_for(be->pool, op->u.glu.n_rows, row_grain(op->u.glu.dim), glu_task, &rc);
        return SORI_OK;
    case SORI_OP_BINARY:
        sori_parallel_for(be->pool, op->u.binary.n_rows, row_grain(op->u.binary.dim), binary_task,
                          &rc);
        return SORI_OK;
    case SORI_OP_EMBEDDING: return cpu_embedding(&op->u.embedding, err);
    case SORI_OP_ATTENTION: return cpu_attention(be, &op->u.attention, err);
    case SORI_OP_LSTM_STEP: return cpu_lstm(&op->u.lstm);
    default: break;
    }
    return sori_fail(err, SORI_ERR_UNSUPPORTED, 0, "cpu backend: op %d not implemented", op->op);
}

/* LOGMEL is a GPU op: on the CPU, dsp/ computes features itself (with
 * KissFFT, which kernels/ does not link). */
static bool cpu_supports(sori_backend *be, sori_op op, sori_dtype wt)
{
    (void)be;
    if (wt == SORI_F16 || wt == SORI_BF16 || sori_dtype_block(wt) > 1) /* weights in PyTorch layout (trans_b), tables */
        return op == SORI_OP_MATMUL || op == SORI_OP_EMBEDDING;
    if (wt == SORI_F32_P16) /* packed weights: only where the product has its vector kernel */
        return (op == SORI_OP_MATMUL || op == SORI_OP_CONV2D) && SORI_VEC;
    return (unsigned)op < SORI_OP_COUNT_ && op != SORI_OP_LOGMEL && wt == SORI_F32;
}

static int cpu_device_count(char *why, size_t why_size)
{
    (void)why;
    (void)why_size;
    return 1;
}

static sori_status cpu_device_info(int index, sori_gpu_info *out)
{
    (void)index;
    (void)out;
    return SORI_ERR_UNSUPPORTED;
}

static sori_status cpu_init(const sori_backend_init *p, sori_backend **out, sori_error *err)
{
    sori_backend *be = calloc(1, sizeof *be);
    if (!be)
        return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "cpu backend: out of memory");
    be->pool = p->pool;
    /* The pool shares out the cores; OpenBLAS threads on top of it would
     * oversubscribe them. */
    sori_blas_single_thread();
    *out = be;
    return SORI_OK;
}

static void cpu_free(sori_backend *be)
{
    free(be);
}

static sori_status cpu_alloc(sori_backend *be, size_t n, void **ptr, sori_error *err)
{
    (void)be;
    void *p = NULL;
    if (posix_memalign(&p, 256, n ? n : 1) != 0)
        return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "cpu backend: cannot allocate %zu bytes", n);
    *ptr = p;
    return SORI_OK;
}

static void cpu_release(sori_backend *be, void *p)
{
    (void)be;
    free(p);
}

static sori_status cpu_copy(sori_backend *be, int stream, void *dst, const void *src, size_t n,
                            sori_error *err)
{
    (void)be;
    (void)stream;
    (void)err;
    if (n)
        memmove(dst, src, n);
    return SORI_OK;
}

static sori_status cpu_memzero(sori_backend *be, int stream, void *dst, size_t n, sori_error *err)
{
    (void)be;
    (void)stream;
    (void)err;
    memset(dst, 0, n);
    return SORI_OK;
}

static sori_status cpu_sync(sori_backend *be, int stream, sori_error *err)
{
    (void)be;
    (void)stream;
    (void)err;
    return SORI_OK;
}

static const sori_backend_iface g_cpu_iface = {
    .abi_version = SORI_BACKEND_ABI,
    .struct_size = sizeof(sori_backend_iface),
    .name = "cpu",
    .device_count = cpu_device_count,
    .device_info = cpu_device_info,
    .init = cpu_init,
    .free = cpu_free,
    .alloc = cpu_alloc,
    .release = cpu_release,
    .upload = cpu_copy,
    .download = cpu_copy,
    .memzero = cpu_memzero,
    .sync = cpu_sync,
    .supports = cpu_supports,
    .run = cpu_run,
};

const sori_backend_iface *sori_cpu_backend(void)
{
    return &g_cpu_iface;
}
