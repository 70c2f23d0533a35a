/* sori's own single-precision product over weights packed once, at load
 * (SORI_F32_P16): C = alpha · A · Wᵀ + beta · C (+ bias, then act), with W
 * a PyTorch-layout weight [N, K] stored as panels of 16 of its rows, each
 * panel k-major (K × 16 floats), so that the micro-kernel reads the weights
 * as one contiguous stream and nothing is copied per call (sgemm repacks
 * its B operand, the weights, on every call, and zeroes C before it
 * accumulates when beta is 0).
 *
 * Row r of W lives at panel r / 16, lane r % 16: a panel-aligned slice of
 * rows (r0 a multiple of 16) starts at W + r0 · K, the same offset as in
 * the unpacked layout, so slices of a packed weight are packed weights. */
#ifndef SORI_KERNELS_CPU_GEMM_P16_H
#define SORI_KERNELS_CPU_GEMM_P16_H

#include <stdint.h>

#include "../backend.h"

enum { SORI_P16 = 16 }; /* rows of W per panel */

/* Whether a weight [n, k] is worth packing: sori's product beats OpenBLAS's
 * sgemm at the shape (bench_ops, 2 threads; docs/benchmarks.md), so a
 * loader packs it; else it keeps the PyTorch layout and the product goes to
 * sgemm. A table, from measurement: n a multiple of 16, and with the AVX2
 * kernel n, k <= 1024 (Conformer layers up to d_model 256 and its
 * 1024-wide feed-forward; at 2048 OpenBLAS's kernel is ~10 % ahead); with
 * the AVX-512 kernel every such shape (1.6-3x OpenBLAS's AVX2 kernels,
 * which OpenBLAS runs on the development machines only because their
 * environment sets OPENBLAS_CORETYPE=Haswell; left alone, Debian 12's
 * OpenBLAS picks its AVX-512 Cooperlake kernels on AMD's Zen 4, and sori's
 * kernel is then 1.05-1.1x ahead at 512 x 512 x 1536 and 2000 x 192 x 576). */
int sori_p16_preferred(int n, int k);

/* out (n × k floats, n a multiple of 16) = w [n, k] packed; out != w. */
void sori_pack_p16(const float *w, int n, int k, float *out);
/* w [n, k] packed where it is (through a temporary copy); 0: out of memory,
 * w unchanged. */
int sori_pack_p16_in_place(float *w, int n, int k);
/* The inverse, for tests and for reading a packed weight back. */
void sori_unpack_p16(const float *p, int n, int k, float *out);

/* Rows i0..i1 of A, columns k0..k0+kc, as groups of mr rows, each k-major
 * (kc × mr floats; a short last group padded with zeros): a micro-kernel
 * of mr rows then reads one contiguous stream (both kernels' packing). */
void sori_p16_pack_a(const float *a, int64_t lda, int i0, int i1, int k0, int kc, int mr, float *out);

/* Floats of the scratch sori_gemm_p16 packs rows of A into (64-byte aligned). */
enum { SORI_P16_SCRATCH = 96 * 512 };

/* Rows 0..m of C, columns 0..n (n a multiple of 16) against the packed
 * panels at wp (n × k floats). bias [n] or NULL; act applied last.
 * scratch: SORI_P16_SCRATCH floats, or NULL to read A in place (slower for
 * more than a few rows). */
void sori_gemm_p16(int m, int n, int k, float alpha, const float *a, int64_t lda, const float *wp, float beta,
                   float *c, int64_t ldc, const float *bias, sori_act act, float *scratch);

/* The same with AVX-512 (gemm_p16_avx512.c), which sori_gemm_p16 runs
 * instead where the CPU has AVX-512F. */
void sori_gemm_p16_avx512(int m, int n, int k, float alpha, const float *a, int64_t lda, const float *wp,
                          float beta, float *c, int64_t ldc, const float *bias, sori_act act, float *scratch);
/* Whether sori_gemm_p16 runs the AVX-512 kernel; set 0 or 1 to choose
 * (1 only takes where the CPU and build have it: tests run both), -1 to
 * ask. */
int sori_p16_avx512(int set);

/* The activation of the CPU backend, on one row (defined in backend_cpu.c). */
void sori_cpu_act_row(float *y, int64_t n, sori_act act);

#endif
