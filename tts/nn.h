/*
 * tts/nn.h — the CPU building blocks of VITS's text side (private): 1-D
 * convolutions as im2col × GEMM, layer norm over channels and the
 * activations it uses (the flow and the HiFi-GAN run time-major: tts/tm.h).
 *
 * Activations are channel-major, [channels, time] with time contiguous (a
 * PyTorch [1, C, T] tensor as it is), so a convolution's weight
 * [c_out, c_in, k] is a [c_out, c_in·k] matrix as stored, and a Linear over
 * channels is a convolution of kernel 1. Every convolution here is
 * stride 1 with "same" length (pad_left + pad_right = dilation·(k − 1)).
 *
 * The products are split over the runtime's thread pool: a convolution by
 * ranges of time, each range using its own scratch slot (nn_ctx). Nothing
 * here allocates.
 */
#ifndef SORI_TTS_NN_H
#define SORI_TTS_NN_H

#include <stdint.h>

#include "kernels/kernels.h"

/* Columns of time one im2col block holds. */
#define NN_BLOCK 512

typedef struct nn_ctx {
    sori_thread_pool *pool; /* may be NULL: serial */
    int n_slots;            /* scratch slots (>= 1), one per part of a split */
    float *scratch;         /* n_slots × slot_floats */
    int64_t slot_floats;    /* >= nn_conv_scratch() of every convolution run */
} nn_ctx;

/* A 1-D convolution (or a Linear over channels with k = 1). */
typedef struct nn_conv {
    const float *w;  /* [c_out, c_in / groups, k] */
    const float *b;  /* [c_out] or NULL */
    int c_in, c_out, k, dilation, pad_left, groups; /* groups: 1 or c_in (depthwise) */
} nn_conv;

/* Floats of one scratch slot a convolution needs. */
int64_t nn_conv_scratch(const nn_conv *c);
/* y[c_out, t] = conv(x[c_in, t]) + b, for t_len steps; x and y may not
 * overlap. */
void nn_conv1d(const nn_ctx *ctx, const nn_conv *c, const float *x, float *y, int64_t t_len);

/* A ConvTranspose1d as the file holds it: w [c_in, c_out, k], stride,
 * padding (PyTorch's); output length (t_len − 1)·stride − 2·padding + k.
 * Run time-major on packed weights (tts/tm.h: vits_tm_pack_convt). */
typedef struct nn_convt {
    const float *w, *b;
    int c_in, c_out, k, stride, padding;
} nn_convt;


/* Layer norm over the channels of each time step, in place: x [c, t_len]. */
void nn_layer_norm_ch(float *x, int c, int64_t t_len, const float *gamma, const float *beta, float eps);

void nn_relu(float *x, int64_t n);
void nn_gelu(float *x, int64_t n); /* exact: x · Φ(x) */

#endif /* SORI_TTS_NN_H */
