/* The int8 convolution's product with AVX-512 (BW and VNNI), chosen at run time by tts/kokoro.c
 * where the CPU has them: out[r, c] = Σ_i a[r, i] · w[c, i] in exact int32 (a int16 activations
 * minus their zero point, w int8 weights), blocks of 4 rows × 4 weight rows in 16 registers of
 * 16 sums, 32 products per instruction (vpdpwssd); the tail of a row by masked loads. Same
 * results as the AVX2 and scalar paths (integer sums are exact in any order). */
#if defined(__AVX512BW__) && defined(__AVX512VNNI__)
#include <immintrin.h>
#include <stdint.h>

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
#endif
