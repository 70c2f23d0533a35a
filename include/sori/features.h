/*
 * sori/features.h — log-mel features, computed exactly as a model was
 * trained with: Kaldi's fbank (kaldi-native-fbank, Kaldi's
 * compute-fbank-feats) or NeMo's AudioToMelSpectrogramPreprocessor.
 *
 * Usage (offline):
 *     sori_feature_params p = sori_feature_default_params(SORI_FEAT_KALDI);
 *     p.n_mels = 80;
 *     sori_features *fx = NULL;
 *     sori_features_create(&p, &fx, &err);
 *     int64_t n = sori_features_num_frames(fx, n_samples);
 *     float *feats = malloc(n * sori_features_dim(fx) * sizeof(float));
 *     sori_features_compute(fx, samples, n_samples, feats, n, &n, &err);
 *
 * Usage (streaming): create a sori_feature_stream, accept samples in any
 * chunks, read the frames that are ready, finish at the end of the input.
 * With normalization NONE the frames equal the offline ones exactly.
 *
 * Input samples are floats at p.sample_rate_hz, nominally in [-1, 1];
 * p.sample_scale multiplies them first (Kaldi-trained models expect 16-bit
 * range: 32768). An extractor (sori_features) is immutable and may be shared
 * by threads; a stream belongs to one thread at a time.
 */
#ifndef SORI_FEATURES_H
#define SORI_FEATURES_H

#include <stdbool.h>

#include "common.h"
#include "runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum sori_feature_kind {
    SORI_FEAT_KALDI = 0, /* kaldi-native-fbank FbankOptions semantics */
    SORI_FEAT_NEMO = 1,  /* NeMo FilterbankFeatures semantics */
} sori_feature_kind;

typedef enum sori_window_type {
    SORI_WINDOW_POVEY = 0, /* Kaldi default: hann^0.85 */
    SORI_WINDOW_HANN,      /* symmetric (periodic = false), as Kaldi "hanning" and NeMo "hann" */
    SORI_WINDOW_HAMMING,
    SORI_WINDOW_RECTANGULAR,
    SORI_WINDOW_BLACKMAN,
} sori_window_type;

typedef enum sori_feature_norm {
    SORI_NORM_NONE = 0,     /* the only choice for streaming */
    SORI_NORM_PER_FEATURE,  /* NeMo: each bin to zero mean, unit std over the utterance */
    SORI_NORM_ALL_FEATURES, /* NeMo: one mean/std over all bins and frames */
    SORI_NORM_FIXED,        /* NeMo fixed_mean/fixed_std: each bin (x - mean) / std with
                               stored values (NeMo features only); streams */
} sori_feature_norm;

typedef struct sori_feature_params {
    sori_feature_kind kind;
    int sample_rate_hz;       /* 16000 */
    float sample_scale;       /* Kaldi 32768, NeMo 1 */
    int n_mels;               /* Kaldi 23 (kaldi-native-fbank's default), NeMo 64 */
    float low_freq_hz;        /* Kaldi 20, NeMo 0 */
    float high_freq_hz;       /* 0: Nyquist; Kaldi also allows < 0: Nyquist + value */
    float preemph;            /* 0.97 */
    sori_window_type window;  /* Kaldi POVEY, NeMo HANN */
    float dither;             /* 0: off (parity); Kaldi adds dither * N(0,1) per sample */
    uint64_t dither_seed;     /* seeded, reproducible dither */

    /* Kaldi */
    float frame_length_ms;    /* 25 */
    float frame_shift_ms;     /* 10 */
    bool remove_dc;           /* true */
    bool snip_edges;          /* true: only whole frames; false: centred frames, reflected edges */
    bool round_to_pow2;       /* true: FFT size the next power of two */
    bool use_energy;          /* false: true prepends log energy (dimension n_mels + 1) */
    bool raw_energy;          /* true: energy before pre-emphasis and window */
    float energy_floor;       /* 0 */
    bool use_power;           /* true: power spectrum, false: magnitude */
    bool htk_compat;          /* false: with use_energy, energy goes last */

    /* NeMo */
    int n_fft;                /* 512 */
    int win_length;           /* samples; 400 (25 ms at 16 kHz) */
    int hop_length;           /* samples; 160 */
    float mag_power;          /* 2 */
    float log_guard;          /* 2^-24, added before the log */
    sori_feature_norm normalize; /* NeMo default PER_FEATURE */
    int pad_to;               /* pad the frame count to a multiple (0: none) */
    float pad_value;          /* 0 */
    /* Optional: the checkpoint's own mel filterbank [n_mels x (n_fft/2+1)]
     * and window [win_length], copied at creation; NULL: computed (slaney
     * mel scale and norm, as librosa.filters.mel). */
    const float *mel_filterbank;
    const float *window_values;
    /* SORI_NORM_FIXED: n_mels means and n_mels standard deviations (> 0),
     * copied at creation. */
    const float *norm_mean;
    const float *norm_std;
} sori_feature_params;

SORI_API sori_feature_params sori_feature_default_params(sori_feature_kind kind);

typedef struct sori_features sori_features;

/* SORI_ERR_INVALID_ARG names the parameter that is out of range. */
SORI_API sori_status sori_features_create(const sori_feature_params *p, sori_features **out,
                                          sori_error *err);
SORI_API void sori_features_free(sori_features *fx);
/* The parameters in force (filterbank/window pointers are the extractor's
 * own copies). */
SORI_API sori_feature_params sori_features_params(const sori_features *fx);

/* Values per frame: n_mels (+1 with Kaldi's use_energy). */
SORI_API int sori_features_dim(const sori_features *fx);
/* Frames computed for n_samples of input (offline). For NeMo, as its
 * preprocessor returns them: torch.stft's 1 + n // hop frames, of which the
 * first n // hop are valid and the rest pad_value, padded up to a multiple
 * of pad_to (a stream gives the n // hop valid frames). */
SORI_API int64_t sori_features_num_frames(const sori_features *fx, int64_t n_samples);

/* Offline: writes up to max_frames rows of dim values to out and sets
 * *n_frames. SORI_ERR_INVALID_ARG if max_frames is too small. Zero samples
 * give zero frames (not an error); NaN/Inf input is SORI_ERR_INVALID_ARG. */
SORI_API sori_status sori_features_compute(const sori_features *fx, const float *samples,
                                           int64_t n_samples, float *out, int64_t max_frames,
                                           int64_t *n_frames, sori_error *err);

/* Offline features of `batch` signals at once on a runtime. On a CUDA
 * runtime the spectra of all frames of all signals are computed there in
 * one batched pass (cuFFT, cuBLAS); on the CPU — or for the one option the
 * GPU path lacks, Kaldi energy after the window — each signal as
 * sori_features_compute (identical results). GPU results agree with the CPU
 * within 1e-3. Arrays have `batch` entries; n_frames[b] as from
 * sori_features_compute. */
SORI_API sori_status sori_features_compute_batch(sori_runtime *rt, int stream,
                                                 const sori_features *fx, int batch,
                                                 const float *const *samples,
                                                 const int64_t *n_samples, float *const *out,
                                                 const int64_t *max_frames, int64_t *n_frames,
                                                 sori_error *err);

/* ---- streaming ------------------------------------------------------------- */

typedef struct sori_feature_stream sori_feature_stream;

/* SORI_ERR_UNSUPPORTED when the extractor normalizes per utterance (NONE
 * and FIXED stream). The
 * extractor must outlive the stream. */
SORI_API sori_status sori_feature_stream_create(const sori_features *fx, sori_feature_stream **out,
                                                sori_error *err);
SORI_API void sori_feature_stream_free(sori_feature_stream *s);
/* Any number of samples; frames become ready as soon as their samples are
 * in. SORI_ERR_STATE after finish. */
SORI_API sori_status sori_feature_stream_accept(sori_feature_stream *s, const float *samples,
                                                int64_t n_samples, sori_error *err);
/* End of input: the last frames (edge padding) become ready. */
SORI_API sori_status sori_feature_stream_finish(sori_feature_stream *s, sori_error *err);
/* Frames ready to read. */
SORI_API int64_t sori_feature_stream_ready(const sori_feature_stream *s);
/* Moves up to max_frames ready frames to out; sets *n_read. */
SORI_API sori_status sori_feature_stream_read(sori_feature_stream *s, float *out, int64_t max_frames,
                                              int64_t *n_read, sori_error *err);
/* Back to the state after create (a new utterance), keeping the memory. */
SORI_API void sori_feature_stream_reset(sori_feature_stream *s);

/* ---- Whisper's log-mel spectrogram ------------------------------------------
 * As openai-whisper's log_mel_spectrogram: 16 kHz samples, a periodic Hann
 * window of 400 samples, a 400-point FFT every 160 samples over centred
 * frames with reflected edges (torch.stft center=True), the last frame
 * dropped (N / 160 frames for N samples), power spectra through the
 * model's mel filters [n_mels, 201], log10(max(e, 1e-10)). The clamp to
 * (max - 8) and the scaling (x + 4) / 4 that follow depend on the maximum
 * over what is transcribed at once: sori_whisper_mel_normalize.
 * An extractor holds its FFT plan and frame buffers: one per thread or
 * session; nothing is allocated per call. */
typedef struct sori_whisper_mel sori_whisper_mel;

/* filters: n_mels x 201 values (copied); n_mels 1..512. */
SORI_API sori_status sori_whisper_mel_create(int n_mels, const float *filters, sori_whisper_mel **out,
                                             sori_error *err);
SORI_API void sori_whisper_mel_free(sori_whisper_mel *w);
/* Frames [t0, t0 + n) of the signal x[0, len) followed by `pad` zeros
 * (openai-whisper pads 30 s): out receives n rows of n_mels log10 energies
 * (time-major). SORI_ERR_INVALID_ARG when the frames are not all within
 * the (len + pad) / 160 frames of the signal or x holds NaN/Inf. */
SORI_API sori_status sori_whisper_mel_compute(sori_whisper_mel *w, const float *x, int64_t len, int64_t pad,
                                              int64_t t0, int64_t n, float *out, sori_error *err);
/* The same when only part of the signal is at hand (reading a long file):
 * x holds samples [x0, x0 + xn) of a signal of len samples, and must cover
 * what the frames read (t0 * 160 - 200 .. (t0 + n - 1) * 160 + 200, within
 * [0, len); the first frames reflect samples 1..200). Otherwise
 * SORI_ERR_INVALID_ARG. */
SORI_API sori_status sori_whisper_mel_compute_span(sori_whisper_mel *w, const float *x, int64_t x0, int64_t xn,
                                                   int64_t len, int64_t pad, int64_t t0, int64_t n, float *out,
                                                   sori_error *err);
/* For a backend's LOGMEL op (the GPU): the raw frames [t0, t0 + n) of the
 * same signal, 400 samples each (reflected at the edges, zeros past the
 * end), as sori_whisper_mel_compute_span would window and transform them.
 * The op with Kaldi-style logs (no DC removal, no pre-emphasis, power
 * spectra, log floor 1e-10, no energy column), this window (periodic Hann,
 * 400) and the model's filters (n_mels x 201) gives ln of the energies:
 * times 1 / ln 10, the values above. */
SORI_API sori_status sori_whisper_mel_frames_span(const sori_whisper_mel *w, const float *x, int64_t x0,
                                                  int64_t xn, int64_t len, int64_t pad, int64_t t0, int64_t n,
                                                  float *frames, sori_error *err);
SORI_API const float *sori_whisper_mel_window(const sori_whisper_mel *w);
/* x = (max(x, max - 8) + 4) / 4 for n values. */
SORI_API void sori_whisper_mel_normalize(float *x, int64_t n, float max);

#ifdef __cplusplus
}
#endif
#endif /* SORI_FEATURES_H */
