/* Quantized weight formats of GGUF files (the block layouts llama.cpp's
 * ggml defines): what a block holds, how it turns back into floats, and the
 * 8-bit blocks activations are quantized to on the fly before an integer
 * dot product with such weights.
 *
 * Weight types (sori_dtype, kernels/backend.h), each a sequence of blocks
 * along a row:
 *   Q4_0  32 values: f16 d, 16 bytes of 4-bit q;  x = d * (q - 8)
 *   Q5_0  32 values: f16 d, 4 bytes of fifth bits (bit i of value i),
 *         16 bytes of low 4 bits;                  x = d * (q - 16)
 *   Q8_0  32 values: f16 d, 32 int8 q;            x = d * q
 *   Q4_K 256 values: f16 d, f16 dmin, 12 bytes of 6-bit scales and mins for
 *        8 sub-blocks of 32, 128 bytes of 4-bit q; x = d*sc_j*q - dmin*m_j
 *   Q5_K 256 values: as Q4_K plus 32 bytes of each q's fifth bit
 *   Q6_K 256 values: 128 bytes of low 4 bits, 64 bytes of high 2 bits,
 *        16 int8 scales (one per 16 values), f16 d; x = d*sc*(q - 32)
 *   BF16 and F16: one value per 2 bytes.
 * Activations: Q8_0 blocks (for Q4_0, Q5_0 and Q8_0 weights) and Q8_K blocks of
 * 256 (for the K types): an f32 scale, 256 int8 and the sums of each 16. */
#ifndef SORI_KERNELS_QUANT_H
#define SORI_KERNELS_QUANT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernels/backend.h"

enum { SORI_QK = 256 }; /* values per block of the K types */

typedef struct {
    float d;
    int8_t qs[SORI_QK];
    int16_t bsums[SORI_QK / 16];
} sori_block_q8_k;

/* Values per block of a type (1 for plain types). */
int sori_dtype_block(sori_dtype t);
/* True for the types whose rows are blocks of quantized values. */
bool sori_dtype_is_quant(sori_dtype t);
/* The name a type has in GGUF files and messages ("q4_K", "bf16" ...). */
const char *sori_dtype_name(sori_dtype t);
/* The sori_dtype of a GGUF tensor type; false for types sori does not
 * compute with. */
bool sori_dtype_from_ggml(uint32_t ggml_type, sori_dtype *out);

/* n values (a multiple of the type's block) of a row in type t to floats:
 * F32, F16, BF16, Q4_0, Q5_0, Q8_0, Q4_K, Q5_K, Q6_K. */
void sori_dequantize_row(sori_dtype t, const void *src, float *dst, int64_t n);

/* The same with AVX2 where the CPU has it (the same floats: one product
 * and one sum per value, as fused multiply-adds; the tests compare). */
void sori_dequantize_row_fast(sori_dtype t, const void *src, float *dst, int64_t n);

/* The activation side of a quantized dot product with weights of type t:
 * which blocks (SORI_Q8_0 or the Q8_K blocks above) and how many bytes a row
 * of n values takes in them. */
size_t sori_quant_act_bytes(sori_dtype weight_type, int64_t n);
/* Quantizes n floats for a dot product with rows of weight_type. */
void sori_quantize_act(sori_dtype weight_type, const float *x, int64_t n, void *out);
void sori_quantize_row_q8_k(const float *x, int64_t n, sori_block_q8_k *out);

/* sum_i w[i] * x[i] over n values: w a row of weight_type, x that row's
 * activation blocks (sori_quantize_act). Integer sums per block, as
 * llama.cpp does; AVX2 where the CPU has it. */
float sori_quant_dot(sori_dtype weight_type, int64_t n, const void *w, const void *x);
/* The same for four activation rows x[0..3] at once (each weight block
 * decoded once for the four): out[r] = sori_quant_dot(t, n, w, x[r]). */
void sori_quant_dot4(sori_dtype weight_type, int64_t n, const void *w, const void *const x[4], float out[4]);
/* The same without SIMD (the tests compare the two). */
float sori_quant_dot_scalar(sori_dtype weight_type, int64_t n, const void *w, const void *x);

#endif
