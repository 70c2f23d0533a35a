/*
 * tts/tm.h — time-major convolutions over weights packed at load (private;
 * tts/vits_hifigan.c): activations [T, C16], a time step's channels
 * contiguous and padded with zero channels to a multiple of 16; each
 * convolution is one sori_gemm_p16 product per phase, reading the
 * zero-padded input's rows in place (the method is described there). Used
 * by VITS's HiFi-GAN and Kokoro's transposed convolutions.
 */
#ifndef SORI_TTS_TM_H
#define SORI_TTS_TM_H

#include <stdint.h>

#include "tts/nn.h"

enum { VITS_MAX_STRIDE = 64 };

/* Channels padded to the rows' width: the next multiple of 16. */
static inline int vits_c16(int c)
{
    return (c + 15) & ~15;
}

/* A HiFi-GAN convolution in the decoder's time-major form (tts/vits_hifigan.c):
 * weights [co16, k · ci16] packed for sori_gemm_p16, channels padded to
 * multiples of 16 with zeros; "same" padding dil · (k − 1) / 2. */
typedef struct vits_tmconv {
    float *w, *b; /* b [co16] */
    int ci16, co16, k, dil, pad;
} vits_tmconv;

/* A transposed convolution as `stride` phases, phase p with n_taps[p] taps
 * (weights at w + w_off[p], [co16, n_taps · ci16] packed). */
typedef struct vits_tmconvt {
    float *w, *b;
    int ci16, co16, k, stride, pad;
    int n_taps[VITS_MAX_STRIDE];
    int64_t w_off[VITS_MAX_STRIDE];
} vits_tmconvt;

/* Packed from PyTorch's layout (at load); each returns the packed weights
 * (its b allocated too: the caller frees both), NULL when out of memory or a
 * stride past VITS_MAX_STRIDE. */
float *vits_tm_pack_conv(const nn_conv *c, vits_tmconv *t);
float *vits_tm_pack_convt(const nn_convt *c, vits_tmconvt *t);

/* Floats of the padded (phase-split) input vits_tm_conv_from needs for len steps. */
int64_t vits_tm_conv_xp_floats(const vits_tmconv *c, int64_t len);
/* y [len, co16] (+= when accumulate) = conv(leaky(x)) + b (slope < 0: no activation), where x holds
 * len rows ldx floats apart of which the first cin are the input's channels (cin <= ci16; the rest
 * are read as zeros); xp: vits_tm_conv_xp_floats floats; y may be x when accumulating in place
 * (the input is copied into xp first). */
void vits_tm_conv_from(const nn_ctx *ctx, const vits_tmconv *c, const float *x, int64_t ldx, int cin, int64_t len,
                       float slope, float *xp, float *y, bool accumulate);

/* Floats of the padded input vits_tm_convt needs for len input steps. */
int64_t vits_tm_convt_xp_floats(const vits_tmconvt *c, int64_t len);
/* y [len_out, co16] = ConvTranspose1d(leaky(x)) + b (slope < 0: no activation), x [len, ci16],
 * len_out = (len − 1)·stride − 2·pad + k; xp: vits_tm_convt_xp_floats floats; ctx's slots hold
 * SORI_P16_SCRATCH floats each. */
void vits_tm_convt(const nn_ctx *ctx, const vits_tmconvt *c, const float *x, int64_t len, float slope, float *xp,
                   float *y, int64_t len_out);

#endif /* SORI_TTS_TM_H */
