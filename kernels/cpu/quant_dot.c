/* Dot products of quantized weight rows with quantized activations
 * (kernels/quant.h), AVX2: integer products per block (maddubs: unsigned
 * weights or |w| with the activation's sign moved over, times signed int8
 * activations, in pairs to int16; madd to int32), scaled in float per block.
 * The integer sums are exact, so the result equals the scalar version's up
 * to the order of the float additions. */
#include <string.h>

#include "kernels/kernels.h"
#include "kernels/quant.h"

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>

static float f16_at(const uint8_t *p)
{
    uint16_t h;
    memcpy(&h, p, 2);
    return _cvtsh_ss(h);
}

static float hsum8(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* 32 signed int8 w times 32 signed int8 x, summed in pairs, as 8 int32 */
static __m256i dot_i8(__m256i w, __m256i x)
{
    const __m256i p = _mm256_maddubs_epi16(_mm256_sign_epi8(w, w), _mm256_sign_epi8(x, w));
    return _mm256_madd_epi16(p, _mm256_set1_epi16(1));
}

/* byte i = 0xFF where bit i of v is set */
static __m256i bits_to_bytes(uint32_t v)
{
    const __m256i which = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2,
                                           3, 3, 3, 3, 3, 3, 3, 3);
    const __m256i bit = _mm256_set1_epi64x((long long)0x8040201008040201ULL);
    const __m256i bytes = _mm256_shuffle_epi8(_mm256_set1_epi32((int)v), which);
    return _mm256_cmpeq_epi8(_mm256_and_si256(bytes, bit), bit);
}

/* The 32 values of a Q4_0, Q5_0 or Q8_0 block as signed bytes: Q4_0's low
 * nibbles are values 0-15 and its high ones 16-31 (minus 8); Q5_0 adds each
 * value's fifth bit from qh (minus 16). */
static __m256i unpack_q32(sori_dtype t, const uint8_t *w)
{
    const __m256i lo4 = _mm256_set1_epi8(0xF);
    if (t == SORI_Q4_0) {
        const __m128i v = _mm_loadu_si128((const __m128i *)(w + 2));
        return _mm256_sub_epi8(_mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(v, 4), v), lo4), _mm256_set1_epi8(8));
    }
    if (t == SORI_Q5_0) {
        const __m128i v = _mm_loadu_si128((const __m128i *)(w + 6));
        const __m256i sixteen = _mm256_set1_epi8(16);
        uint32_t qh;
        memcpy(&qh, w + 2, 4);
        const __m256i q = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(v, 4), v), lo4);
        return _mm256_sub_epi8(_mm256_or_si256(q, _mm256_and_si256(bits_to_bytes(qh), sixteen)), sixteen);
    }
    return _mm256_loadu_si256((const __m256i *)(w + 2));
}

/* Q4_0, Q5_0 or Q8_0 weights times Q8_0 activations */
static float dot_q8_0(sori_dtype t, int64_t n, const uint8_t *w, const uint8_t *x)
{
    __m256 acc = _mm256_setzero_ps();
    const int bytes = t == SORI_Q4_0 ? 18 : t == SORI_Q5_0 ? 22 : 34;
    for (int64_t b = 0; b < n / 32; b++, w += bytes, x += 34) {
        const __m256i wq = unpack_q32(t, w);
        const __m256i xq = _mm256_loadu_si256((const __m256i *)(x + 2));
        const __m256 s = _mm256_cvtepi32_ps(dot_i8(wq, xq));
        acc = _mm256_fmadd_ps(_mm256_set1_ps(f16_at(w) * f16_at(x)), s, acc);
    }
    return hsum8(acc);
}

static void k_scale_min(int j, const uint8_t *s, int *sc, int *m)
{
    if (j < 4) {
        *sc = s[j] & 63;
        *m = s[j + 4] & 63;
    } else {
        *sc = (s[j + 4] & 0xF) | ((s[j - 4] >> 6) << 4);
        *m = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
    }
}

static float dot_k45(int64_t n, const uint8_t *w, const sori_block_q8_k *x, int five)
{
    const int bytes = five ? 176 : 144;
    const __m256i lo4 = _mm256_set1_epi8(0xF), one = _mm256_set1_epi8(1);
    __m256 acc = _mm256_setzero_ps();
    float mins = 0.0f;
    for (int64_t b = 0; b < n / SORI_QK; b++, w += bytes, x++) {
        const uint8_t *sc = w + 4, *q = five ? w + 48 : w + 16;
        const __m256i hbits = five ? _mm256_loadu_si256((const __m256i *)(w + 16)) : _mm256_setzero_si256();
        __m256i sumi = _mm256_setzero_si256();
        int msum = 0;
        for (int p = 0; p < 4; p++, q += 32) {
            int s0, m0, s1, m1;
            k_scale_min(2 * p, sc, &s0, &m0);
            k_scale_min(2 * p + 1, sc, &s1, &m1);
            msum += m0 * (x->bsums[4 * p] + x->bsums[4 * p + 1]) + m1 * (x->bsums[4 * p + 2] + x->bsums[4 * p + 3]);
            const __m256i v = _mm256_loadu_si256((const __m256i *)q);
            __m256i q0 = _mm256_and_si256(v, lo4), q1 = _mm256_and_si256(_mm256_srli_epi16(v, 4), lo4);
            if (five) {
                q0 = _mm256_or_si256(q0, _mm256_slli_epi16(
                                             _mm256_and_si256(_mm256_srli_epi16(hbits, 2 * p), one), 4));
                q1 = _mm256_or_si256(q1, _mm256_slli_epi16(
                                             _mm256_and_si256(_mm256_srli_epi16(hbits, 2 * p + 1), one), 4));
            }
            const __m256i x0 = _mm256_loadu_si256((const __m256i *)(x->qs + 64 * p));
            const __m256i x1 = _mm256_loadu_si256((const __m256i *)(x->qs + 64 * p + 32));
            const __m256i p0 = _mm256_madd_epi16(_mm256_maddubs_epi16(q0, x0), _mm256_set1_epi16((short)s0));
            const __m256i p1 = _mm256_madd_epi16(_mm256_maddubs_epi16(q1, x1), _mm256_set1_epi16((short)s1));
            sumi = _mm256_add_epi32(sumi, _mm256_add_epi32(p0, p1));
        }
        acc = _mm256_fmadd_ps(_mm256_set1_ps(f16_at(w) * x->d), _mm256_cvtepi32_ps(sumi), acc);
        mins += f16_at(w + 2) * x->d * (float)msum;
    }
    return hsum8(acc) - mins;
}

/* Half h of a Q6_K block as four runs of 32 unsigned 6-bit values (0-63,
 * the block's order: the low nibbles of ql[0..31], of ql[32..63], then their
 * high nibbles, each with its two bits of qh). */
static void unpack_q6k_half(const uint8_t *w, int h, __m256i q[4])
{
    const __m256i lo4 = _mm256_set1_epi8(0xF), three = _mm256_set1_epi8(3);
    const uint8_t *ql = w + 64 * h, *qh = w + 128 + 32 * h;
    const __m256i l0 = _mm256_loadu_si256((const __m256i *)ql);
    const __m256i l1 = _mm256_loadu_si256((const __m256i *)(ql + 32));
    const __m256i hb = _mm256_loadu_si256((const __m256i *)qh);
    q[0] = _mm256_or_si256(_mm256_and_si256(l0, lo4), _mm256_slli_epi16(_mm256_and_si256(hb, three), 4));
    q[1] = _mm256_or_si256(_mm256_and_si256(l1, lo4),
                           _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hb, 2), three), 4));
    q[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), lo4),
                           _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hb, 4), three), 4));
    q[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), lo4),
                           _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hb, 6), three), 4));
}

static float dot_q6k(int64_t n, const uint8_t *w, const sori_block_q8_k *x)
{
    __m256 acc = _mm256_setzero_ps();
    for (int64_t b = 0; b < n / SORI_QK; b++, w += 210, x++) {
        const int8_t *sc = (const int8_t *)(w + 192);
        __m256i sumi = _mm256_setzero_si256();
        int offset = 0; /* 32 * sum of sc[g] * (sum of group g's activations): the -32 of every q */
        for (int g = 0; g < 16; g++)
            offset += sc[g] * x->bsums[g];
        for (int h = 0; h < 2; h++) {
            __m256i q[4];
            unpack_q6k_half(w, h, q);
            for (int k = 0; k < 4; k++) {
                const int g = 8 * h + 2 * k; /* groups g (first 16 values) and g + 1 */
                const __m256i xv = _mm256_loadu_si256((const __m256i *)(x->qs + 128 * h + 32 * k));
                const __m256i s = _mm256_set_m128i(_mm_set1_epi16(sc[g + 1]), _mm_set1_epi16(sc[g]));
                sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(_mm256_maddubs_epi16(q[k], xv), s));
            }
        }
        const float d = f16_at(w + 208) * x->d;
        acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
        acc = _mm256_sub_ps(acc, _mm256_setr_ps(d * 32.0f * (float)offset, 0, 0, 0, 0, 0, 0, 0));
    }
    return hsum8(acc);
}

float sori_quant_dot(sori_dtype t, int64_t n, const void *w, const void *x)
{
    switch (t) {
    case SORI_Q8_0:
    case SORI_Q4_0:
    case SORI_Q5_0: return dot_q8_0(t, n, w, x);
    case SORI_Q4_K: return dot_k45(n, w, x, 0);
    case SORI_Q5_K: return dot_k45(n, w, x, 1);
    case SORI_Q6_K: return dot_q6k(n, w, x);
    default: return 0.0f;
    }
}

/* ---- rows back to floats ---------------------------------------------------------- */

/* 32 signed bytes q to y[0..31] = d * q + off */
static inline void bytes_to_floats(float *y, __m256i q, __m256 d, __m256 off)
{
    const __m128i lo = _mm256_castsi256_si128(q), hi = _mm256_extracti128_si256(q, 1);
    _mm256_storeu_ps(y, _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(lo)), d, off));
    _mm256_storeu_ps(y + 8, _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(lo, 8))), d, off));
    _mm256_storeu_ps(y + 16, _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(hi)), d, off));
    _mm256_storeu_ps(y + 24, _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(hi, 8))), d, off));
}

/* the same with the first 16 values scaled by d0 and the last 16 by d1 */
static inline void bytes_to_floats2(float *y, __m256i q, __m256 d0, __m256 d1)
{
    const __m128i lo = _mm256_castsi256_si128(q), hi = _mm256_extracti128_si256(q, 1);
    _mm256_storeu_ps(y, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(lo)), d0));
    _mm256_storeu_ps(y + 8, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(lo, 8))), d0));
    _mm256_storeu_ps(y + 16, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(hi)), d1));
    _mm256_storeu_ps(y + 24, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(hi, 8))), d1));
}

void sori_dequantize_row_fast(sori_dtype t, const void *src, float *y, int64_t n)
{
    const uint8_t *w = src;
    const __m256 zero = _mm256_setzero_ps();
    switch (t) {
    case SORI_Q8_0:
    case SORI_Q4_0:
    case SORI_Q5_0: {
        const int bytes = t == SORI_Q4_0 ? 18 : t == SORI_Q5_0 ? 22 : 34;
        for (int64_t b = 0; b < n / 32; b++, w += bytes, y += 32)
            bytes_to_floats(y, unpack_q32(t, w), _mm256_set1_ps(f16_at(w)), zero);
        return;
    }
    case SORI_Q4_K:
    case SORI_Q5_K: {
        const int five = t == SORI_Q5_K, bytes = five ? 176 : 144;
        const __m256i lo4 = _mm256_set1_epi8(0xF), one = _mm256_set1_epi8(1);
        for (int64_t b = 0; b < n / SORI_QK; b++, w += bytes) {
            const float d = f16_at(w), dmin = f16_at(w + 2);
            const uint8_t *sc = w + 4, *q = five ? w + 48 : w + 16;
            const __m256i hbits = five ? _mm256_loadu_si256((const __m256i *)(w + 16)) : _mm256_setzero_si256();
            for (int p = 0; p < 4; p++, q += 32, y += 64) {
                int s0, m0, s1, m1;
                k_scale_min(2 * p, sc, &s0, &m0);
                k_scale_min(2 * p + 1, sc, &s1, &m1);
                const __m256i v = _mm256_loadu_si256((const __m256i *)q);
                __m256i q0 = _mm256_and_si256(v, lo4), q1 = _mm256_and_si256(_mm256_srli_epi16(v, 4), lo4);
                if (five) {
                    q0 = _mm256_or_si256(q0, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hbits, 2 * p), one), 4));
                    q1 = _mm256_or_si256(q1, _mm256_slli_epi16(
                                                 _mm256_and_si256(_mm256_srli_epi16(hbits, 2 * p + 1), one), 4));
                }
                bytes_to_floats(y, q0, _mm256_set1_ps(d * (float)s0), _mm256_set1_ps(-dmin * (float)m0));
                bytes_to_floats(y + 32, q1, _mm256_set1_ps(d * (float)s1), _mm256_set1_ps(-dmin * (float)m1));
            }
        }
        return;
    }
    case SORI_Q6_K: {
        const __m256i k32 = _mm256_set1_epi8(32);
        for (int64_t b = 0; b < n / SORI_QK; b++, w += 210) {
            const int8_t *sc = (const int8_t *)(w + 192);
            const float d = f16_at(w + 208);
            for (int h = 0; h < 2; h++) {
                __m256i q[4];
                unpack_q6k_half(w, h, q);
                for (int k = 0; k < 4; k++, y += 32) {
                    const int g = 8 * h + 2 * k;
                    bytes_to_floats2(y, _mm256_sub_epi8(q[k], k32), _mm256_set1_ps(d * (float)sc[g]),
                                     _mm256_set1_ps(d * (float)sc[g + 1]));
                }
            }
        }
        return;
    }
    case SORI_F16: {
        const uint16_t *h = src;
        int64_t i = 0;
        for (; i + 8 <= n; i += 8)
            _mm256_storeu_ps(y + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(h + i))));
        for (; i < n; i++)
            y[i] = _cvtsh_ss(h[i]);
        return;
    }
    default:
        sori_dequantize_row(t, src, y, n);
    }
}

/* ---- four activation rows per weight block ------------------------------------------- */

static void dot4_q8_0(sori_dtype t, int64_t n, const uint8_t *w, const uint8_t *const x[4], float out[4])
{
    __m256 acc0 = _mm256_setzero_ps(), acc1 = acc0, acc2 = acc0, acc3 = acc0;
    const __m256i ones = _mm256_set1_epi16(1);
    const int bytes = t == SORI_Q4_0 ? 18 : t == SORI_Q5_0 ? 22 : 34;
    for (int64_t b = 0; b < n / 32; b++, w += bytes) {
        const __m256i wq = unpack_q32(t, w);
        const __m256i aw = _mm256_sign_epi8(wq, wq);
        const float dw = f16_at(w);
#define ROW(r, acc)                                                                                            \
    do {                                                                                                       \
        const uint8_t *xb = x[r] + b * 34;                                                                     \
        const __m256i xq = _mm256_loadu_si256((const __m256i *)(xb + 2));                                      \
        const __m256i p = _mm256_madd_epi16(_mm256_maddubs_epi16(aw, _mm256_sign_epi8(xq, wq)), ones);         \
        acc = _mm256_fmadd_ps(_mm256_set1_ps(dw * f16_at(xb)), _mm256_cvtepi32_ps(p), acc);                    \
    } while (0)
        ROW(0, acc0);
        ROW(1, acc1);
        ROW(2, acc2);
        ROW(3, acc3);
#undef ROW
    }
    out[0] = hsum8(acc0);
    out[1] = hsum8(acc1);
    out[2] = hsum8(acc2);
    out[3] = hsum8(acc3);
}

static void dot4_k45(int64_t n, const uint8_t *w, const sori_block_q8_k *const x[4], float out[4], int five)
{
    const int bytes = five ? 176 : 144;
    const __m256i lo4 = _mm256_set1_epi8(0xF), one = _mm256_set1_epi8(1);
    __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
    float mins[4] = {0, 0, 0, 0};
    for (int64_t b = 0; b < n / SORI_QK; b++, w += bytes) {
        const uint8_t *sc = w + 4, *q = five ? w + 48 : w + 16;
        const __m256i hbits = five ? _mm256_loadu_si256((const __m256i *)(w + 16)) : _mm256_setzero_si256();
        int s[8], m[8];
        for (int j = 0; j < 8; j++)
            k_scale_min(j, sc, &s[j], &m[j]);
        __m256i sumi0 = _mm256_setzero_si256(), sumi1 = sumi0, sumi2 = sumi0, sumi3 = sumi0;
        for (int p = 0; p < 4; p++, q += 32) {
            const __m256i v = _mm256_loadu_si256((const __m256i *)q);
            __m256i q0 = _mm256_and_si256(v, lo4), q1 = _mm256_and_si256(_mm256_srli_epi16(v, 4), lo4);
            if (five) {
                q0 = _mm256_or_si256(q0, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hbits, 2 * p), one), 4));
                q1 = _mm256_or_si256(q1, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hbits, 2 * p + 1), one), 4));
            }
            const __m256i s0 = _mm256_set1_epi16((short)s[2 * p]), s1 = _mm256_set1_epi16((short)s[2 * p + 1]);
#define ROW(r, sumi)                                                                                           \
    do {                                                                                                       \
        const int8_t *xs = x[r][b].qs + 64 * p;                                                                \
        const __m256i p0 = _mm256_madd_epi16(_mm256_maddubs_epi16(q0, _mm256_loadu_si256((const __m256i *)xs)), s0); \
        const __m256i p1 =                                                                                     \
            _mm256_madd_epi16(_mm256_maddubs_epi16(q1, _mm256_loadu_si256((const __m256i *)(xs + 32))), s1);   \
        sumi = _mm256_add_epi32(sumi, _mm256_add_epi32(p0, p1));                                               \
    } while (0)
            ROW(0, sumi0);
            ROW(1, sumi1);
            ROW(2, sumi2);
            ROW(3, sumi3);
#undef ROW
        }
        const float d = f16_at(w), dmin = f16_at(w + 2);
        const __m256i sumis[4] = {sumi0, sumi1, sumi2, sumi3};
        for (int r = 0; r < 4; r++) {
            const sori_block_q8_k *xb = &x[r][b];
            int msum = 0;
            for (int j = 0; j < 8; j++)
                msum += m[j] * (xb->bsums[2 * j] + xb->bsums[2 * j + 1]);
            acc[r] = _mm256_fmadd_ps(_mm256_set1_ps(d * xb->d), _mm256_cvtepi32_ps(sumis[r]), acc[r]);
            mins[r] += dmin * xb->d * (float)msum;
        }
    }
    for (int r = 0; r < 4; r++)
        out[r] = hsum8(acc[r]) - mins[r];
}

static void dot4_q6k(int64_t n, const uint8_t *w, const sori_block_q8_k *const x[4], float out[4])
{
    __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
    for (int64_t b = 0; b < n / SORI_QK; b++, w += 210) {
        const int8_t *sc = (const int8_t *)(w + 192);
        __m256i sumi[4] = {_mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(),
                           _mm256_setzero_si256()};
        for (int h = 0; h < 2; h++) {
            __m256i q[4];
            unpack_q6k_half(w, h, q);
            for (int k = 0; k < 4; k++) {
                const int g = 8 * h + 2 * k;
                const __m256i s = _mm256_set_m128i(_mm_set1_epi16(sc[g + 1]), _mm_set1_epi16(sc[g]));
                for (int r = 0; r < 4; r++) {
                    const __m256i xv = _mm256_loadu_si256((const __m256i *)(x[r][b].qs + 128 * h + 32 * k));
                    sumi[r] = _mm256_add_epi32(sumi[r], _mm256_madd_epi16(_mm256_maddubs_epi16(q[k], xv), s));
                }
            }
        }
        const float dw = f16_at(w + 208);
        for (int r = 0; r < 4; r++) {
            int offset = 0;
            for (int g = 0; g < 16; g++)
                offset += sc[g] * x[r][b].bsums[g];
            const float d = dw * x[r][b].d;
            acc[r] = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi[r]), acc[r]);
            acc[r] = _mm256_sub_ps(acc[r], _mm256_setr_ps(d * 32.0f * (float)offset, 0, 0, 0, 0, 0, 0, 0));
        }
    }
    for (int r = 0; r < 4; r++)
        out[r] = hsum8(acc[r]);
}

void sori_quant_dot4(sori_dtype t, int64_t n, const void *w, const void *const x[4], float out[4])
{
    switch (t) {
    case SORI_Q8_0:
    case SORI_Q4_0:
    case SORI_Q5_0: dot4_q8_0(t, n, w, (const uint8_t *const *)x, out); return;
    case SORI_Q4_K: dot4_k45(n, w, (const sori_block_q8_k *const *)x, out, 0); return;
    case SORI_Q5_K: dot4_k45(n, w, (const sori_block_q8_k *const *)x, out, 1); return;
    case SORI_Q6_K: dot4_q6k(n, w, (const sori_block_q8_k *const *)x, out); return;
    default:
        for (int r = 0; r < 4; r++)
            out[r] = 0.0f;
    }
}

#else

void sori_dequantize_row_fast(sori_dtype t, const void *src, float *y, int64_t n)
{
    sori_dequantize_row(t, src, y, n);
}

float sori_quant_dot(sori_dtype t, int64_t n, const void *w, const void *x)
{
    return sori_quant_dot_scalar(t, n, w, x);
}

void sori_quant_dot4(sori_dtype t, int64_t n, const void *w, const void *const x[4], float out[4])
{
    for (int r = 0; r < 4; r++)
        out[r] = sori_quant_dot_scalar(t, n, w, x[r]);
}

#endif
