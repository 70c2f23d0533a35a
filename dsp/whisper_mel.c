/* Whisper's log-mel spectrogram (sori/features.h): KissFFT on one frame at
 * a time, each filter applied over its non-zero bins only. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <kiss_fftr.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

#include "kernels/kernels.h"
#include "sori/features.h"

enum { N_FFT = 400, HOP = 160, N_BINS = N_FFT / 2 + 1 };

struct sori_whisper_mel {
    int n_mels;
    float *filters;      /* n_mels x N_BINS */
    int *lo, *hi;        /* each filter's non-zero bins [lo, hi) */
    float window[N_FFT];
    float frame[N_FFT];
    float power[N_BINS];
    kiss_fft_cpx spec[N_BINS];
    kiss_fftr_cfg fft;
};

void sori_whisper_mel_free(sori_whisper_mel *w)
{
    if (!w)
        return;
    if (w->fft)
        kiss_fftr_free(w->fft);
    free(w->filters);
    free(w->lo);
    free(w->hi);
    free(w);
}

sori_status sori_whisper_mel_create(int n_mels, const float *filters, sori_whisper_mel **out, sori_error *err)
{
    if (!out)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "whisper mel: out is NULL");
    *out = NULL;
    if (n_mels < 1 || n_mels > 512 || !filters)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "whisper mel: %d mel bins%s", n_mels,
                         filters ? "" : ", no filters");
    for (int64_t i = 0; i < (int64_t)n_mels * N_BINS; i++)
        if (!isfinite(filters[i]))
            return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "whisper mel: filter value %lld is not finite",
                             (long long)i);
    sori_whisper_mel *w = calloc(1, sizeof *w);
    if (w) {
        w->n_mels = n_mels;
        w->filters = malloc((size_t)n_mels * N_BINS * sizeof(float));
        w->lo = malloc((size_t)n_mels * sizeof(int));
        w->hi = malloc((size_t)n_mels * sizeof(int));
        w->fft = kiss_fftr_alloc(N_FFT, 0, NULL, NULL);
    }
    if (!w || !w->filters || !w->lo || !w->hi || !w->fft) {
        sori_whisper_mel_free(w);
        return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "whisper mel: out of memory");
    }
    memcpy(w->filters, filters, (size_t)n_mels * N_BINS * sizeof(float));
    for (int m = 0; m < n_mels; m++) {
        const float *f = w->filters + (int64_t)m * N_BINS;
        int lo = 0, hi = N_BINS;
        while (lo < N_BINS && f[lo] == 0.0f)
            lo++;
        while (hi > lo && f[hi - 1] == 0.0f)
            hi--;
        w->lo[m] = lo, w->hi[m] = hi;
    }
    /* torch.hann_window(400): periodic */
    for (int i = 0; i < N_FFT; i++)
        w->window[i] = (float)(0.5 - 0.5 * cos(2.0 * M_PI * i / N_FFT));
    *out = w;
    return SORI_OK;
}

/* Sample i of the signal [0, len) + zeros up to N, reflected at both ends;
 * x holds samples [x0, x0 + xn). */
static inline float sample_at(const float *x, int64_t x0, int64_t len, int64_t N, int64_t i)
{
    if (i < 0)
        i = -i;
    if (i >= N)
        i = 2 * N - 2 - i;
    return i >= 0 && i < len ? x[i - x0] : 0.0f;
}

sori_status sori_whisper_mel_compute(sori_whisper_mel *w, const float *x, int64_t len, int64_t pad, int64_t t0,
                                     int64_t n, float *out, sori_error *err)
{
    return sori_whisper_mel_compute_span(w, x, 0, len, len, pad, t0, n, out, err);
}

/* The checks a span of frames passes: arguments, frames within the padded
 * signal, the samples they read given and finite. *empty: nothing to do. */
static sori_status check_span(const sori_whisper_mel *w, const float *x, int64_t x0, int64_t xn, int64_t len,
                              int64_t pad, int64_t t0, int64_t n, const float *out, sori_error *err)
{
    if (!w || (!x && xn > 0) || len < 0 || pad < 0 || t0 < 0 || n < 0 || (!out && n > 0) || x0 < 0 || xn < 0)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "whisper mel: bad argument");
    const int64_t N = len + pad, total = N / HOP;
    if (t0 + n > total)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0,
                         "whisper mel: frames %lld..%lld asked of a signal of %lld frames", (long long)t0,
                         (long long)(t0 + n), (long long)total);
    if (n == 0)
        return SORI_OK;
    if (N <= N_FFT / 2)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0,
                         "whisper mel: %lld samples are too few to reflect (at least 201)", (long long)N);
    /* the samples the frames read (a reflection at the start reads 1..200) */
    int64_t a = t0 * HOP - N_FFT / 2, b = (t0 + n - 1) * HOP + N_FFT / 2;
    if (a < 0) {
        a = 0;
        b = b > N_FFT / 2 + 1 ? b : N_FFT / 2 + 1;
    }
    if (b > len)
        b = len;
    if (a < b && (a < x0 || b > x0 + xn))
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0,
                         "whisper mel: frames %lld..%lld read samples %lld..%lld; given %lld..%lld", (long long)t0,
                         (long long)(t0 + n), (long long)a, (long long)b, (long long)x0, (long long)(x0 + xn));
    for (int64_t i = a; i < b; i++)
        if (!isfinite(x[i - x0]))
            return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "whisper mel: sample %lld is not finite", (long long)i);
    return SORI_OK;
}

/* The raw samples of frame t (400, reflected at the edges, zeros past the end). */
static void frame_at(const float *x, int64_t x0, int64_t len, int64_t N, int64_t t, float *f)
{
    int64_t s0 = t * HOP - N_FFT / 2;
    if (s0 >= 0 && s0 + N_FFT <= len)
        memcpy(f, x + (s0 - x0), N_FFT * sizeof(float));
    else
        for (int i = 0; i < N_FFT; i++)
            f[i] = sample_at(x, x0, len, N, s0 + i);
}

sori_status sori_whisper_mel_compute_span(sori_whisper_mel *w, const float *x, int64_t x0, int64_t xn, int64_t len,
                                          int64_t pad, int64_t t0, int64_t n, float *out, sori_error *err)
{
    sori_status st = check_span(w, x, x0, xn, len, pad, t0, n, out, err);
    if (st != SORI_OK)
        return st;
    for (int64_t t = 0; t < n; t++) {
        frame_at(x, x0, len, len + pad, t0 + t, w->frame);
        for (int i = 0; i < N_FFT; i++)
            w->frame[i] *= w->window[i];
        kiss_fftr(w->fft, w->frame, w->spec);
        for (int k = 0; k < N_BINS; k++)
            w->power[k] = w->spec[k].r * w->spec[k].r + w->spec[k].i * w->spec[k].i;
        float *o = out + t * w->n_mels;
        for (int m = 0; m < w->n_mels; m++) {
            const float *f = w->filters + (int64_t)m * N_BINS;
            float e = 0.0f;
            for (int k = w->lo[m]; k < w->hi[m]; k++)
                e += f[k] * w->power[k];
            o[m] = log10f(e > 1e-10f ? e : 1e-10f);
        }
    }
    return SORI_OK;
}

sori_status sori_whisper_mel_frames_span(const sori_whisper_mel *w, const float *x, int64_t x0, int64_t xn,
                                         int64_t len, int64_t pad, int64_t t0, int64_t n, float *frames,
                                         sori_error *err)
{
    sori_status st = check_span(w, x, x0, xn, len, pad, t0, n, frames, err);
    for (int64_t t = 0; st == SORI_OK && t < n; t++)
        frame_at(x, x0, len, len + pad, t0 + t, frames + t * N_FFT);
    return st;
}

const float *sori_whisper_mel_window(const sori_whisper_mel *w)
{
    return w ? w->window : NULL;
}

void sori_whisper_mel_normalize(float *x, int64_t n, float max)
{
    const float floor = max - 8.0f;
    for (int64_t i = 0; i < n; i++)
        x[i] = ((x[i] > floor ? x[i] : floor) + 4.0f) / 4.0f;
}
