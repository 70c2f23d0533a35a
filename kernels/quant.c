/* Quantized GGUF block formats: geometry, dequantization, quantization of
 * activations and the scalar dot products (kernels/quant.h). The layouts are
 * ggml's (llama.cpp), so a file's tensors are used as they are mapped. */
#include "kernels/quant.h"

#include <math.h>
#include <string.h>

#include "kernels/gguf.h"
#include "kernels/kernels.h"

typedef struct {
    int block, bytes;
    const char *name;
} dtype_geom;

static dtype_geom geom(sori_dtype t)
{
    switch (t) {
    case SORI_F32: return (dtype_geom){1, 4, "f32"};
    case SORI_F16: return (dtype_geom){1, 2, "f16"};
    case SORI_I32: return (dtype_geom){1, 4, "i32"};
    case SORI_U8: return (dtype_geom){1, 1, "u8"};
    case SORI_F32_P16: return (dtype_geom){1, 4, "f32-packed16"};
    case SORI_BF16: return (dtype_geom){1, 2, "bf16"};
    case SORI_Q8_0: return (dtype_geom){32, 34, "q8_0"};
    case SORI_Q4_0: return (dtype_geom){32, 18, "q4_0"};
    case SORI_Q5_0: return (dtype_geom){32, 22, "q5_0"};
    case SORI_Q4_K: return (dtype_geom){SORI_QK, 144, "q4_K"};
    case SORI_Q5_K: return (dtype_geom){SORI_QK, 176, "q5_K"};
    case SORI_Q6_K: return (dtype_geom){SORI_QK, 210, "q6_K"};
    }
    return (dtype_geom){1, 0, "unknown"};
}

int sori_dtype_block(sori_dtype t)
{
    return geom(t).block;
}

bool sori_dtype_is_quant(sori_dtype t)
{
    return geom(t).block > 1;
}

const char *sori_dtype_name(sori_dtype t)
{
    return geom(t).name;
}

size_t sori_dtype_size(sori_dtype t)
{
    const dtype_geom g = geom(t);
    return g.block == 1 ? (size_t)g.bytes : 0;
}

size_t sori_dtype_bytes(sori_dtype t, int64_t n)
{
    const dtype_geom g = geom(t);
    return (size_t)(n / g.block) * (size_t)g.bytes;
}

bool sori_dtype_from_ggml(uint32_t ggml_type, sori_dtype *out)
{
    switch (ggml_type) {
    case SORI_GGML_F32: *out = SORI_F32; return true;
    case SORI_GGML_F16: *out = SORI_F16; return true;
    case SORI_GGML_BF16: *out = SORI_BF16; return true;
    case SORI_GGML_Q4_0: *out = SORI_Q4_0; return true;
    case SORI_GGML_Q5_0: *out = SORI_Q5_0; return true;
    case SORI_GGML_Q8_0: *out = SORI_Q8_0; return true;
    case SORI_GGML_Q4_K: *out = SORI_Q4_K; return true;
    case SORI_GGML_Q5_K: *out = SORI_Q5_K; return true;
    case SORI_GGML_Q6_K: *out = SORI_Q6_K; return true;
    default: return false;
    }
}

static float f16_at(const uint8_t *p)
{
    uint16_t h;
    memcpy(&h, p, 2);
    return sori_f16_to_f32(h);
}

static float bf16_to_f32(uint16_t h)
{
    const uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* Sub-block j's 6-bit scale and min of a Q4_K / Q5_K block: the first four
 * pairs sit in the low 6 bits of bytes 0-3 and 4-7; the last four take 4
 * bits from bytes 8-11 and their top 2 bits from the high bits of 0-7. */
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

/* q4_K / q5_K: 4 pairs of sub-blocks of 32, the low nibbles of 32 bytes
 * then their high nibbles; Q5_K's fifth bits: bit 2p of qh[l] for the
 * first sub-block of pair p, bit 2p+1 for the second. */
static void dequant_k45(const uint8_t *b, float *y, bool five)
{
    const float d = f16_at(b), dmin = f16_at(b + 2);
    const uint8_t *sc = b + 4, *qh = b + 16, *q = five ? b + 48 : b + 16;
    for (int p = 0; p < 4; p++, q += 32) {
        int s0, m0, s1, m1;
        k_scale_min(2 * p, sc, &s0, &m0);
        k_scale_min(2 * p + 1, sc, &s1, &m1);
        const float d0 = d * (float)s0, n0 = dmin * (float)m0, d1 = d * (float)s1, n1 = dmin * (float)m1;
        for (int l = 0; l < 32; l++) {
            const int h0 = five ? ((qh[l] >> (2 * p)) & 1) << 4 : 0;
            const int h1 = five ? ((qh[l] >> (2 * p + 1)) & 1) << 4 : 0;
            y[64 * p + l] = d0 * (float)((q[l] & 0xF) | h0) - n0;
            y[64 * p + 32 + l] = d1 * (float)((q[l] >> 4) | h1) - n1;
        }
    }
}

/* q6_K: two halves of 128; in each, value l (< 32) of its four quarters takes
 * the low nibble of ql[l], of ql[l+32], the high nibble of ql[l], of
 * ql[l+32], and bits 0-1, 2-3, 4-5, 6-7 of qh[l]; a scale per 16 values. */
static void dequant_q6k(const uint8_t *b, float *y)
{
    const uint8_t *ql = b, *qh = b + 128;
    const int8_t *sc = (const int8_t *)(b + 192);
    const float d = f16_at(b + 208);
    for (int h = 0; h < 2; h++, ql += 64, qh += 32, sc += 8, y += 128)
        for (int l = 0; l < 32; l++) {
            const int is = l / 16;
            const int q0 = ((ql[l] & 0xF) | ((qh[l] & 3) << 4)) - 32;
            const int q1 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
            const int q2 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
            const int q3 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
            y[l] = d * (float)sc[is] * (float)q0;
            y[l + 32] = d * (float)sc[is + 2] * (float)q1;
            y[l + 64] = d * (float)sc[is + 4] * (float)q2;
            y[l + 96] = d * (float)sc[is + 6] * (float)q3;
        }
}

void sori_dequantize_row(sori_dtype t, const void *src, float *dst, int64_t n)
{
    const uint8_t *p = src;
    switch (t) {
    case SORI_F32:
    case SORI_F32_P16:
        memcpy(dst, src, (size_t)n * sizeof(float));
        return;
    case SORI_F16:
        for (int64_t i = 0; i < n; i++)
            dst[i] = f16_at(p + 2 * i);
        return;
    case SORI_BF16:
        for (int64_t i = 0; i < n; i++) {
            uint16_t h;
            memcpy(&h, p + 2 * i, 2);
            dst[i] = bf16_to_f32(h);
        }
        return;
    case SORI_Q8_0:
        for (int64_t b = 0; b < n / 32; b++, p += 34) {
            const float d = f16_at(p);
            for (int i = 0; i < 32; i++)
                dst[32 * b + i] = d * (float)(int8_t)p[2 + i];
        }
        return;
    case SORI_Q4_0:
        for (int64_t b = 0; b < n / 32; b++, p += 18) {
            const float d = f16_at(p);
            for (int i = 0; i < 16; i++) {
                dst[32 * b + i] = d * (float)((p[2 + i] & 0xF) - 8);
                dst[32 * b + 16 + i] = d * (float)((p[2 + i] >> 4) - 8);
            }
        }
        return;
    case SORI_Q5_0:
        for (int64_t b = 0; b < n / 32; b++, p += 22) {
            const float d = f16_at(p);
            uint32_t qh;
            memcpy(&qh, p + 2, 4);
            for (int i = 0; i < 16; i++) {
                dst[32 * b + i] = d * (float)((int)((p[6 + i] & 0xF) | ((qh >> i) & 1) << 4) - 16);
                dst[32 * b + 16 + i] = d * (float)((int)((p[6 + i] >> 4) | ((qh >> (i + 16)) & 1) << 4) - 16);
            }
        }
        return;
    case SORI_Q4_K:
    case SORI_Q5_K:
        for (int64_t b = 0; b < n / SORI_QK; b++)
            dequant_k45(p + b * (t == SORI_Q4_K ? 144 : 176), dst + SORI_QK * b, t == SORI_Q5_K);
        return;
    case SORI_Q6_K:
        for (int64_t b = 0; b < n / SORI_QK; b++)
            dequant_q6k(p + b * 210, dst + SORI_QK * b);
        return;
    case SORI_I32:
    case SORI_U8:
        break;
    }
    memset(dst, 0, (size_t)n * sizeof(float));
}

/* ---- activations ---------------------------------------------------------------- */

void sori_quantize_row_q8_k(const float *x, int64_t n, sori_block_q8_k *out)
{
    for (int64_t b = 0; b < n / SORI_QK; b++, x += SORI_QK, out++) {
        /* the scale comes from the value of largest magnitude, sign kept
         * (ggml's choice): that value maps to -127 */
        float amax = 0.0f, vmax = 0.0f;
        for (int i = 0; i < SORI_QK; i++)
            if (fabsf(x[i]) > amax) {
                amax = fabsf(x[i]);
                vmax = x[i];
            }
        if (amax == 0.0f) {
            memset(out, 0, sizeof *out);
            continue;
        }
        const float is = -127.0f / vmax;
        for (int i = 0; i < SORI_QK; i++) {
            const int v = (int)lrintf(is * x[i]);
            out->qs[i] = (int8_t)(v > 127 ? 127 : v < -127 ? -127 : v);
        }
        for (int j = 0; j < SORI_QK / 16; j++) {
            int s = 0;
            for (int i = 0; i < 16; i++)
                s += out->qs[16 * j + i];
            out->bsums[j] = (int16_t)s;
        }
        out->d = 1.0f / is;
    }
}

static bool k_type(sori_dtype t)
{
    return t == SORI_Q4_K || t == SORI_Q5_K || t == SORI_Q6_K;
}

size_t sori_quant_act_bytes(sori_dtype weight_type, int64_t n)
{
    if (k_type(weight_type))
        return (size_t)(n / SORI_QK) * sizeof(sori_block_q8_k);
    return sori_dtype_bytes(SORI_Q8_0, n);
}

void sori_quantize_act(sori_dtype weight_type, const float *x, int64_t n, void *out)
{
    if (k_type(weight_type))
        sori_quantize_row_q8_k(x, n, out);
    else
        sori_quantize_q8_0(x, n, out);
}

/* ---- scalar dot products --------------------------------------------------------- */

/* Value i (< 32) of a Q4_0, Q5_0 or Q8_0 block as its signed integer. */
static int q32_value(sori_dtype t, const uint8_t *w, int i)
{
    const int lo = i < 16 ? w[(t == SORI_Q5_0 ? 6 : 2) + i] & 0xF : w[(t == SORI_Q5_0 ? 6 : 2) + i - 16] >> 4;
    if (t == SORI_Q4_0)
        return lo - 8;
    if (t == SORI_Q5_0) {
        uint32_t qh;
        memcpy(&qh, w + 2, 4);
        return (lo | (int)((qh >> i) & 1) << 4) - 16;
    }
    return (int8_t)w[2 + i];
}

static float dot_q8_0_scalar(sori_dtype t, int64_t n, const uint8_t *w, const uint8_t *x)
{
    const int bytes = geom(t).bytes;
    float sum = 0.0f;
    for (int64_t b = 0; b < n / 32; b++, w += bytes, x += 34) {
        int s = 0;
        for (int i = 0; i < 32; i++)
            s += q32_value(t, w, i) * (int8_t)x[2 + i];
        sum += f16_at(w) * f16_at(x) * (float)s;
    }
    return sum;
}

static float dot_k45_scalar(int64_t n, const uint8_t *w, const sori_block_q8_k *x, bool five)
{
    const int bytes = five ? 176 : 144;
    float sum = 0.0f;
    for (int64_t b = 0; b < n / SORI_QK; b++, w += bytes, x++) {
        const uint8_t *sc = w + 4, *qh = w + 16, *q = five ? w + 48 : w + 16;
        int isum = 0, msum = 0;
        for (int p = 0; p < 4; p++, q += 32)
            for (int half = 0; half < 2; half++) {
                const int j = 2 * p + half;
                int s, m, dot = 0;
                k_scale_min(j, sc, &s, &m);
                for (int l = 0; l < 32; l++) {
                    const int h = five ? ((qh[l] >> j) & 1) << 4 : 0;
                    dot += ((half ? q[l] >> 4 : q[l] & 0xF) | h) * x->qs[32 * j + l];
                }
                isum += s * dot;
                msum += m * (x->bsums[2 * j] + x->bsums[2 * j + 1]);
            }
        sum += x->d * (f16_at(w) * (float)isum - f16_at(w + 2) * (float)msum);
    }
    return sum;
}

static float dot_q6k_scalar(int64_t n, const uint8_t *w, const sori_block_q8_k *x)
{
    float sum = 0.0f;
    for (int64_t b = 0; b < n / SORI_QK; b++, w += 210, x++) {
        /* the integer q - 32 of each value (dequant_q6k's order), then a sum per 16 with its scale */
        const uint8_t *ql = w, *qh = w + 128;
        const int8_t *sc = (const int8_t *)(w + 192);
        int q[SORI_QK];
        for (int h = 0; h < 2; h++)
            for (int l = 0; l < 32; l++) {
                const uint8_t *L = ql + 64 * h, *H = qh + 32 * h;
                q[128 * h + l] = ((L[l] & 0xF) | ((H[l] & 3) << 4)) - 32;
                q[128 * h + l + 32] = ((L[l + 32] & 0xF) | (((H[l] >> 2) & 3) << 4)) - 32;
                q[128 * h + l + 64] = ((L[l] >> 4) | (((H[l] >> 4) & 3) << 4)) - 32;
                q[128 * h + l + 96] = ((L[l + 32] >> 4) | (((H[l] >> 6) & 3) << 4)) - 32;
            }
        int isum = 0;
        for (int g = 0; g < 16; g++) {
            int s = 0;
            for (int i = 0; i < 16; i++)
                s += q[16 * g + i] * x->qs[16 * g + i];
            isum += sc[g] * s;
        }
        sum += f16_at(w + 208) * x->d * (float)isum;
    }
    return sum;
}

float sori_quant_dot_scalar(sori_dtype t, int64_t n, const void *w, const void *x)
{
    switch (t) {
    case SORI_Q8_0:
    case SORI_Q4_0:
    case SORI_Q5_0: return dot_q8_0_scalar(t, n, w, x);
    case SORI_Q4_K: return dot_k45_scalar(n, w, x, false);
    case SORI_Q5_K: return dot_k45_scalar(n, w, x, true);
    case SORI_Q6_K: return dot_q6k_scalar(n, w, x);
    default: return 0.0f;
    }
}
