/* Vector helpers of the CPU backend that code outside the op table uses on
 * host data (defined in backend_cpu.c, with its AVX2 exponential). */
#ifndef SORI_KERNELS_CPU_VEC_H
#define SORI_KERNELS_CPU_VEC_H

#include <stdint.h>

/* log Σ exp(x[i]) over n values, max-shifted: float exponentials with the
 * backend's polynomial (within 2 ulp), summed in double; -inf when every
 * value is -inf. */
float sori_cpu_log_sum_exp(const float *x, int64_t n);

/* n halves to floats (F16C where the build has it). */
void sori_cpu_f16_to_f32(const uint16_t *h, float *out, int64_t n);

/* The cache lines of a row of n floats, asked for ahead of use: rows of
 * keys and values lie a whole row of the model apart (pages apart), where
 * the hardware's prefetchers do not follow. */
static inline void sori_prefetch_row(const float *x, int n)
{
    for (int c = 0; c < n; c += 16)
        __builtin_prefetch(x + c, 0, 3);
}

/* Σ x[i] y[i] over n values (AVX2/FMA: eight lanes, four accumulators). */
float sori_cpu_dot(const float *x, const float *y, int64_t n);

/* y[i] += a x[i] over n values. */
void sori_cpu_axpy(float a, const float *x, float *y, int64_t n);

#endif
