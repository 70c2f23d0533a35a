/* The int8 products with AVX-512 (BW and VNNI), chosen at run time by tts/kokoro.c where the CPU
 * has them: out[r, c] = Σ_i a[r, i] · w[c, i] in exact int32, w int8 weights.
 *   kokoro_qblock_avx512     a int16 (activations minus their zero point), 32 products per
 *                            instruction (vpdpwssd), blocks of 4 rows × 4 weight rows in 16
 *                            registers, the tail of a row by masked loads: the Linear layers
 *   kokoro_qgemm_u8_avx512   a uint8 (the codes, zero point included), the convolutions: the
 *                            weights packed 16 channels × 4 window entries a vector, four
 *                            codes of a row broadcast to all lanes, vpdpbusd (u8 × s8, four
 *                            products a lane summed into int32, no saturation); 8 rows × 32
 *                            channels in 16 registers, no horizontal sums
 * Same results as the AVX2 and scalar paths (integer sums are exact in any order). */
#if defined(__AVX512BW__) && defined(__AVX512VNNI__)
#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#include "kokoro.h"

static inline int32_t dot1(const int16_t *a, const int8_t *w, int n)
{
    __m512i s = _mm512_setzero_si512();
    for (int i = 0; i < n; i += 32) {
        const __mmask32 m = n - i >= 32 ? 0xFFFFFFFFu : (1u << (n - i)) - 1u;
        const __m512i x = _mm512_maskz_loadu_epi16(m, a + i);
        const __m512i v = _mm512_cvtepi8_epi16(_mm256_maskz_loadu_epi8(m, w + i));
        s = _mm512_dpwssd_epi32(s, x, v);
    }
    return _mm512_reduce_add_epi32(s);
}

void kokoro_qblock_avx512(const int16_t *a, int64_t lda, int rows, const int8_t *w, int64_t ldw, int cols, int n,
                          int32_t *out, int64_t ldo)
{
    int r = 0;
    for (; r + 4 <= rows; r += 4) {
        const int16_t *a0 = a + r * lda, *a1 = a0 + lda, *a2 = a1 + lda, *a3 = a2 + lda;
        int c = 0;
        for (; c + 4 <= cols; c += 4) {
            const int8_t *w0 = w + c * ldw, *w1 = w0 + ldw, *w2 = w1 + ldw, *w3 = w2 + ldw;
            __m512i s[4][4];
            for (int i = 0; i < 4; i++)
                for (int j = 0; j < 4; j++)
                    s[i][j] = _mm512_setzero_si512();
            for (int i = 0; i < n; i += 32) {
                const __mmask32 m = n - i >= 32 ? 0xFFFFFFFFu : (1u << (n - i)) - 1u;
                const __m512i x0 = _mm512_maskz_loadu_epi16(m, a0 + i), x1 = _mm512_maskz_loadu_epi16(m, a1 + i);
                const __m512i x2 = _mm512_maskz_loadu_epi16(m, a2 + i), x3 = _mm512_maskz_loadu_epi16(m, a3 + i);
                __m512i v = _mm512_cvtepi8_epi16(_mm256_maskz_loadu_epi8(m, w0 + i));
                s[0][0] = _mm512_dpwssd_epi32(s[0][0], x0, v);
                s[1][0] = _mm512_dpwssd_epi32(s[1][0], x1, v);
                s[2][0] = _mm512_dpwssd_epi32(s[2][0], x2, v);
                s[3][0] = _mm512_dpwssd_epi32(s[3][0], x3, v);
                v = _mm512_cvtepi8_epi16(_mm256_maskz_loadu_epi8(m, w1 + i));
                s[0][1] = _mm512_dpwssd_epi32(s[0][1], x0, v);
                s[1][1] = _mm512_dpwssd_epi32(s[1][1], x1, v);
                s[2][1] = _mm512_dpwssd_epi32(s[2][1], x2, v);
                s[3][1] = _mm512_dpwssd_epi32(s[3][1], x3, v);
                v = _mm512_cvtepi8_epi16(_mm256_maskz_loadu_epi8(m, w2 + i));
                s[0][2] = _mm512_dpwssd_epi32(s[0][2], x0, v);
                s[1][2] = _mm512_dpwssd_epi32(s[1][2], x1, v);
                s[2][2] = _mm512_dpwssd_epi32(s[2][2], x2, v);
                s[3][2] = _mm512_dpwssd_epi32(s[3][2], x3, v);
                v = _mm512_cvtepi8_epi16(_mm256_maskz_loadu_epi8(m, w3 + i));
                s[0][3] = _mm512_dpwssd_epi32(s[0][3], x0, v);
                s[1][3] = _mm512_dpwssd_epi32(s[1][3], x1, v);
                s[2][3] = _mm512_dpwssd_epi32(s[2][3], x2, v);
                s[3][3] = _mm512_dpwssd_epi32(s[3][3], x3, v);
            }
            for (int i = 0; i < 4; i++)
                for (int j = 0; j < 4; j++)
                    out[(r + i) * ldo + c + j] = _mm512_reduce_add_epi32(s[i][j]);
        }
        for (; c < cols; c++)
            for (int i = 0; i < 4; i++)
                out[(r + i) * ldo + c] = dot1(a + (r + i) * lda, w + c * ldw, n);
    }
    for (; r < rows; r++)
        for (int c = 0; c < cols; c++)
            out[r * ldo + c] = dot1(a + r * lda, w + c * ldw, n);
}

static inline __m512i bcast4(const uint8_t *p)
{
    int32_t v;
    memcpy(&v, p, sizeof v);
    return _mm512_set1_epi32(v);
}

void kokoro_qgemm_u8_avx512(const uint8_t *a, int64_t lda, int rows, int taps, int64_t tap_ld, int64_t cq,
                            const int8_t *wp, int nob, int32_t *out, int64_t ldo)
{
    const int64_t kq = (int64_t)taps * cq;
    /* missing rows repeat the first: computed, not stored */
    const uint8_t *a0 = a, *a1 = a + (rows > 1) * lda, *a2 = a + (rows > 2) * 2 * lda, *a3 = a + (rows > 3) * 3 * lda,
                  *a4 = a + (rows > 4) * 4 * lda, *a5 = a + (rows > 5) * 5 * lda, *a6 = a + (rows > 6) * 6 * lda,
                  *a7 = a + (rows > 7) * 7 * lda;
    for (int b = 0; b < nob; b += 2) {
        const int8_t *w0 = wp + (int64_t)b * kq * 64, *w1 = b + 1 < nob ? w0 + kq * 64 : w0;
        /* named accumulators (an array of them made the compiler copy registers every step) */
        __m512i s00 = _mm512_setzero_si512(), s01 = s00, s10 = s00, s11 = s00, s20 = s00, s21 = s00, s30 = s00,
                s31 = s00, s40 = s00, s41 = s00, s50 = s00, s51 = s00, s60 = s00, s61 = s00, s70 = s00, s71 = s00;
        for (int k = 0; k < taps; k++) {
            const int64_t o = k * tap_ld; /* this tap's rows */
            const int8_t *v0p = w0 + k * cq * 64, *v1p = w1 + k * cq * 64;
            for (int64_t q = 0; q < cq; q++) {
                const __m512i v0 = _mm512_loadu_si512(v0p + q * 64), v1 = _mm512_loadu_si512(v1p + q * 64);
                __m512i x;
#define ROW(A, S0, S1)                              \
    x = bcast4(A + o + 4 * q);                      \
    S0 = _mm512_dpbusd_epi32(S0, x, v0);            \
    S1 = _mm512_dpbusd_epi32(S1, x, v1);
                ROW(a0, s00, s01)
                ROW(a1, s10, s11)
                ROW(a2, s20, s21)
                ROW(a3, s30, s31)
                ROW(a4, s40, s41)
                ROW(a5, s50, s51)
                ROW(a6, s60, s61)
                ROW(a7, s70, s71)
#undef ROW
            }
        }
        const __m512i r0[8] = {s00, s10, s20, s30, s40, s50, s60, s70}, r1[8] = {s01, s11, s21, s31, s41, s51, s61, s71};
        for (int r = 0; r < rows; r++) {
            _mm512_storeu_si512(out + r * ldo + 16 * b, r0[r]);
            if (b + 1 < nob)
                _mm512_storeu_si512(out + r * ldo + 16 * (b + 1), r1[r]);
        }
    }
}
#endif
