/* What the tests need to see of an extractor (not public). */
#ifndef SORI_DSP_FEATURES_INTERNAL_H
#define SORI_DSP_FEATURES_INTERNAL_H

#include "sori/features.h"

/* The window (frame length values), the mel matrix [n_mels x mel_bins] and
 * the FFT size, as the extractor uses them. */
const float *sori_features_window(const sori_features *fx, int *frame_len);
const float *sori_features_mel(const sori_features *fx, int *mel_bins);
int sori_features_fft_size(const sori_features *fx);

#endif
