/* Log-mel features, Kaldi's and NeMo's, offline and streaming.
 *
 * Kaldi (kaldi-native-fbank's FbankComputer / Kaldi's feature-fbank.cc):
 * per frame of frame_length samples — dither, remove DC, raw log energy,
 * pre-emphasis (x[i] -= p x[i-1], x[0] -= p x[0]), window, zero-pad to the
 * FFT size — then the power spectrum, triangular mel banks on Kaldi's
 * 1127 ln(1 + f/700) scale over the bins below Nyquist, and
 * log(max(e, FLT_EPSILON)). snip_edges=false centres frames on
 * i*shift + shift/2 and reflects the signal at both ends.
 *
 * NeMo (nemo/collections/asr/parts/preprocessing/features.py,
 * FilterbankFeatures): pre-emphasis over the whole signal (y[0] = x[0]),
 * torch.stft with center=True and zero padding of n_fft/2 on both sides, a
 * symmetric window of win_length samples centred in n_fft, |X|^mag_power,
 * slaney mel filters (librosa.filters.mel), log(x + guard), normalization
 * over the len // hop valid frames, padding to pad_to with pad_value.
 *
 * The FFT is KissFFT's real transform (BSD). */
#include <float.h>
#include <kiss_fftr.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "features_internal.h"
#include "kernels/kernels.h"
#include "sori/features.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

struct sori_features {
    sori_feature_params p;
    int dim;
    int frame_len;   /* samples taken per frame (Kaldi: window; NeMo: n_fft) */
    int shift;       /* samples between frames */
    int fft_size;
    int n_bins;      /* spectrum bins the mel banks read */
    float *window;   /* frame_len values (NeMo: zero outside the centred window) */
    float *mel;      /* n_mels x n_bins */
    int *mel_lo, *mel_hi; /* non-zero range of each filter, [lo, hi) */
    float *norm_mean, *norm_std; /* SORI_NORM_FIXED, n_mels each */
};

/* Per-thread working memory for one frame at a time. */
typedef struct {
    kiss_fftr_cfg fft;
    float *frame;      /* fft_size */
    kiss_fft_cpx *spec; /* fft_size/2 + 1 */
    float *power;      /* fft_size/2 + 1 */
    uint64_t rng;      /* dither */
} work_t;

static void work_free(work_t *w)
{
    if (w->fft)
        kiss_fftr_free(w->fft);
    free(w->frame);
    free(w->spec);
    free(w->power);
    memset(w, 0, sizeof *w);
}

static sori_status work_init(const sori_features *fx, work_t *w, sori_error *err)
{
    memset(w, 0, sizeof *w);
    w->fft = kiss_fftr_alloc(fx->fft_size, 0, NULL, NULL);
    w->frame = calloc((size_t)fx->fft_size, sizeof(float));
    w->spec = calloc((size_t)fx->fft_size / 2 + 1, sizeof(kiss_fft_cpx));
    w->power = calloc((size_t)fx->fft_size / 2 + 1, sizeof(float));
    w->rng = fx->p.dither_seed ? fx->p.dither_seed : 0x853c49e6748fea9bull;
    if (!w->fft || !w->frame || !w->spec || !w->power) {
        work_free(w);
        return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "features: out of memory");
    }
    return SORI_OK;
}

/* N(0, 1) by Box-Muller from a xorshift generator. */
static float gauss(uint64_t *s)
{
    double u[2];
    for (int k = 0; k < 2; k++) {
        *s ^= *s >> 12;
        *s ^= *s << 25;
        *s ^= *s >> 27;
        u[k] = ((*s * 0x2545f4914f6cdd1dull) >> 11) * (1.0 / 9007199254740992.0);
    }
    return (float)(sqrt(-2.0 * log(u[0] + 1e-300)) * cos(2.0 * M_PI * u[1]));
}

/* ---- vectorized natural log -------------------------------------------------
 * y[i] = ln(max(x[i], floor)) (Kaldi) or ln(x[i] + guard) (NeMo). AVX2: the
 * Cephes logf method (mantissa in [sqrt(1/2), sqrt(2)), degree-8 polynomial,
 * two-part ln 2), about 1 ulp for the positive normal inputs used here;
 * elsewhere libm's logf. */
#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>

static inline __m256 log256(__m256 x)
{
    const __m256 one = _mm256_set1_ps(1.0f);
    __m256i xi = _mm256_castps_si256(x);
    __m256 e = _mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_srli_epi32(xi, 23), _mm256_set1_epi32(126)));
    /* mantissa in [0.5, 1) */
    __m256 m = _mm256_castsi256_ps(_mm256_or_si256(_mm256_and_si256(xi, _mm256_set1_epi32(0x007fffff)),
                                                   _mm256_set1_epi32(0x3f000000)));
    __m256 small = _mm256_cmp_ps(m, _mm256_set1_ps(0.707106781186547524f), _CMP_LT_OQ);
    e = _mm256_sub_ps(e, _mm256_and_ps(one, small));
    __m256 f = _mm256_sub_ps(_mm256_add_ps(m, _mm256_and_ps(m, small)), one);
    __m256 z = _mm256_mul_ps(f, f);
    __m256 y = _mm256_set1_ps(7.0376836292e-2f);
    y = _mm256_fmadd_ps(y, f, _mm256_set1_ps(-1.1514610310e-1f));
    y = _mm256_fmadd_ps(y, f, _mm256_set1_ps(1.1676998740e-1f));
    y = _mm256_fmadd_ps(y, f, _mm256_set1_ps(-1.2420140846e-1f));
    y = _mm256_fmadd_ps(y, f, _mm256_set1_ps(1.4249322787e-1f));
    y = _mm256_fmadd_ps(y, f, _mm256_set1_ps(-1.6668057665e-1f));
    y = _mm256_fmadd_ps(y, f, _mm256_set1_ps(2.0000714765e-1f));
    y = _mm256_fmadd_ps(y, f, _mm256_set1_ps(-2.4999993993e-1f));
    y = _mm256_fmadd_ps(y, f, _mm256_set1_ps(3.3333331174e-1f));
    y = _mm256_mul_ps(_mm256_mul_ps(y, f), z);
    y = _mm256_fmadd_ps(e, _mm256_set1_ps(-2.12194440e-4f), y);
    y = _mm256_fnmadd_ps(_mm256_set1_ps(0.5f), z, y);
    return _mm256_fmadd_ps(e, _mm256_set1_ps(0.693359375f), _mm256_add_ps(f, y));
}
#endif

/* mode 0: ln(max(x, c)); mode 1: ln(x + c). Inputs are >= 0. */
static void log_row(float *y, int n, float c, int add)
{
    int i = 0;
#if defined(__AVX2__) && defined(__FMA__)
    const __m256 cv = _mm256_set1_ps(c);
    for (; i + 8 <= n; i += 8) {
        __m256 v = _mm256_loadu_ps(y + i);
        v = add ? _mm256_add_ps(v, cv) : _mm256_max_ps(v, cv);
        _mm256_storeu_ps(y + i, log256(v));
    }
#endif
    for (; i < n; i++)
        y[i] = add ? logf(y[i] + c) : logf(y[i] > c ? y[i] : c);
}

/* ---- parameters ----------------------------------------------------------------- */

sori_feature_params sori_feature_default_params(sori_feature_kind kind)
{
    sori_feature_params p;
    memset(&p, 0, sizeof p);
    p.kind = kind;
    p.sample_rate_hz = 16000;
    p.preemph = 0.97f;
    p.frame_length_ms = 25.0f;
    p.frame_shift_ms = 10.0f;
    p.n_fft = 512;
    p.win_length = 400;
    p.hop_length = 160;
    p.mag_power = 2.0f;
    p.log_guard = 5.9604644775390625e-08f; /* 2^-24 */
    if (kind == SORI_FEAT_KALDI) {
        p.sample_scale = 32768.0f;
        p.n_mels = 23;
        p.low_freq_hz = 20.0f;
        p.window = SORI_WINDOW_POVEY;
        p.remove_dc = true;
        p.snip_edges = true;
        p.round_to_pow2 = true;
        p.raw_energy = true;
        p.use_power = true;
        p.normalize = SORI_NORM_NONE;
    } else {
        p.sample_scale = 1.0f;
        p.n_mels = 64;
        p.window = SORI_WINDOW_HANN;
        p.normalize = SORI_NORM_PER_FEATURE;
    }
    return p;
}

static double window_value(sori_window_type t, int i, int n)
{
    if (n == 1)
        return 1.0;
    double a = 2.0 * M_PI / (n - 1);
    switch (t) {
    case SORI_WINDOW_POVEY: return pow(0.5 - 0.5 * cos(a * i), 0.85);
    case SORI_WINDOW_HANN: return 0.5 - 0.5 * cos(a * i);
    case SORI_WINDOW_HAMMING: return 0.54 - 0.46 * cos(a * i);
    case SORI_WINDOW_BLACKMAN: return 0.42 - 0.5 * cos(a * i) + 0.08 * cos(2 * a * i);
    default: return 1.0;
    }
}

static float kaldi_mel(float f)
{
    return 1127.0f * logf(1.0f + f / 700.0f);
}

/* librosa's slaney scale: linear below 1 kHz, logarithmic above */
static double slaney_mel(double f)
{
    const double f_sp = 200.0 / 3, min_log_hz = 1000.0, min_log_mel = min_log_hz / f_sp;
    const double logstep = log(6.4) / 27.0;
    return f >= min_log_hz ? min_log_mel + log(f / min_log_hz) / logstep : f / f_sp;
}

static double slaney_hz(double m)
{
    const double f_sp = 200.0 / 3, min_log_hz = 1000.0, min_log_mel = min_log_hz / f_sp;
    const double logstep = log(6.4) / 27.0;
    return m >= min_log_mel ? min_log_hz * exp(logstep * (m - min_log_mel)) : f_sp * m;
}

#define BAD(...) sori_fail(err, SORI_ERR_INVALID_ARG, 0, "features: " __VA_ARGS__)

static sori_status check_params(const sori_feature_params *p, sori_error *err)
{
    if (p->kind != SORI_FEAT_KALDI && p->kind != SORI_FEAT_NEMO)
        return BAD("unknown kind %d", (int)p->kind);
    if (p->sample_rate_hz < 1000 || p->sample_rate_hz > 192000)
        return BAD("sample_rate_hz %d not in 1000..192000", p->sample_rate_hz);
    if (!(p->sample_scale > 0.0f) || !isfinite(p->sample_scale))
        return BAD("sample_scale must be > 0");
    if (p->n_mels < 1 || p->n_mels > 512)
        return BAD("n_mels %d not in 1..512", p->n_mels);
    if (!(p->preemph >= 0.0f && p->preemph <= 1.0f))
        return BAD("preemph %g not in [0, 1]", p->preemph);
    if ((unsigned)p->window > SORI_WINDOW_BLACKMAN)
        return BAD("unknown window %d", (int)p->window);
    if (!(p->dither >= 0.0f) || !isfinite(p->dither))
        return BAD("dither must be >= 0");
    if ((unsigned)p->normalize > SORI_NORM_FIXED)
        return BAD("unknown normalization %d", (int)p->normalize);
    if (p->normalize == SORI_NORM_FIXED) {
        if (p->kind != SORI_FEAT_NEMO)
            return BAD("fixed normalization is for NeMo features");
        if (!p->norm_mean || !p->norm_std)
            return BAD("fixed normalization needs norm_mean and norm_std");
        for (int i = 0; i < p->n_mels; i++)
            if (!isfinite(p->norm_mean[i]) || !(p->norm_std[i] > 0.0f) || !isfinite(p->norm_std[i]))
                return BAD("fixed normalization: bin %d mean %g std %g (need finite, std > 0)", i,
                           p->norm_mean[i], p->norm_std[i]);
    }
    double nyquist = p->sample_rate_hz / 2.0;
    double high = p->high_freq_hz > 0 ? p->high_freq_hz : nyquist + p->high_freq_hz;
    if (!(p->low_freq_hz >= 0.0f) || !(high > p->low_freq_hz) || high > nyquist)
        return BAD("mel range %g..%g Hz is not inside 0..%g Hz", p->low_freq_hz, high, nyquist);
    if (p->kind == SORI_FEAT_KALDI) {
        int len = (int)(p->sample_rate_hz * 0.001f * p->frame_length_ms);
        int shift = (int)(p->sample_rate_hz * 0.001f * p->frame_shift_ms);
        if (len < 2 || len > 65536 || shift < 1 || shift > 65536)
            return BAD("frame length %d / shift %d samples out of range", len, shift);
        if (p->normalize != SORI_NORM_NONE)
            return BAD("Kaldi fbank has no per-utterance normalization");
        if (!(p->energy_floor >= 0.0f))
            return BAD("energy_floor must be >= 0");
    } else {
        if (p->n_fft < 2 || p->n_fft > 65536 || p->n_fft % 2)
            return BAD("n_fft %d must be even, 2..65536", p->n_fft);
        if (p->win_length < 1 || p->win_length > p->n_fft)
            return BAD("win_length %d not in 1..n_fft", p->win_length);
        if (p->hop_length < 1 || p->hop_length > p->n_fft)
            return BAD("hop_length %d not in 1..n_fft", p->hop_length);
        if (!(p->mag_power > 0.0f))
            return BAD("mag_power must be > 0");
        if (!(p->log_guard > 0.0f))
            return BAD("log_guard must be > 0");
        if (p->pad_to < 0)
            return BAD("pad_to must be >= 0");
        if (p->use_energy)
            return BAD("use_energy is a Kaldi option");
    }
    return SORI_OK;
}

sori_status sori_features_create(const sori_feature_params *params, sori_features **out,
                                 sori_error *err)
{
    if (!out || !params)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "features: NULL argument");
    *out = NULL;
    sori_status st = check_params(params, err);
    if (st != SORI_OK)
        return st;
    sori_features *fx = calloc(1, sizeof *fx);
    if (!fx)
        return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "features: out of memory");
    fx->p = *params;
    fx->p.mel_filterbank = NULL;
    fx->p.window_values = NULL;
    fx->p.norm_mean = fx->p.norm_std = NULL;
    if (params->normalize == SORI_NORM_FIXED) {
        fx->norm_mean = malloc((size_t)params->n_mels * sizeof(float));
        fx->norm_std = malloc((size_t)params->n_mels * sizeof(float));
        if (!fx->norm_mean || !fx->norm_std) {
            sori_features_free(fx);
            return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "features: out of memory");
        }
        memcpy(fx->norm_mean, params->norm_mean, (size_t)params->n_mels * sizeof(float));
        memcpy(fx->norm_std, params->norm_std, (size_t)params->n_mels * sizeof(float));
        fx->p.norm_mean = fx->norm_mean;
        fx->p.norm_std = fx->norm_std;
    }
    const sori_feature_params *p = &fx->p;
    const double nyquist = p->sample_rate_hz / 2.0;
    const double high = p->high_freq_hz > 0 ? p->high_freq_hz : nyquist + p->high_freq_hz;
    if (p->kind == SORI_FEAT_KALDI) {
        fx->frame_len = (int)(p->sample_rate_hz * 0.001f * p->frame_length_ms);
        fx->shift = (int)(p->sample_rate_hz * 0.001f * p->frame_shift_ms);
        fx->fft_size = fx->frame_len;
        if (p->round_to_pow2 || fx->fft_size % 2) {
            int n = 1;
            while (n < fx->frame_len)
                n <<= 1;
            fx->fft_size = n < 2 ? 2 : n;
        }
        fx->n_bins = fx->fft_size / 2; /* Kaldi's banks stop below Nyquist */
        fx->dim = p->n_mels + (p->use_energy ? 1 : 0);
    } else {
        fx->frame_len = p->n_fft;
        fx->shift = p->hop_length;
        fx->fft_size = p->n_fft;
        fx->n_bins = p->n_fft / 2 + 1;
        fx->dim = p->n_mels;
    }
    fx->window = calloc((size_t)fx->frame_len, sizeof(float));
    fx->mel = calloc((size_t)p->n_mels * fx->n_bins, sizeof(float));
    fx->mel_lo = calloc((size_t)p->n_mels, sizeof(int));
    fx->mel_hi = calloc((size_t)p->n_mels, sizeof(int));
    if (!fx->window || !fx->mel || !fx->mel_lo || !fx->mel_hi) {
        sori_features_free(fx);
        return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "features: out of memory");
    }
    /* window */
    if (p->kind == SORI_FEAT_KALDI) {
        for (int i = 0; i < fx->frame_len; i++)
            fx->window[i] = (float)window_value(p->window, i, fx->frame_len);
    } else {
        int off = (p->n_fft - p->win_length) / 2; /* torch.stft centres the window */
        for (int i = 0; i < p->win_length; i++)
            fx->window[off + i] = params->window_values ? params->window_values[i]
                                                        : (float)window_value(p->window, i, p->win_length);
    }
    /* mel filters */
    if (params->mel_filterbank && p->kind == SORI_FEAT_NEMO) {
        memcpy(fx->mel, params->mel_filterbank, (size_t)p->n_mels * fx->n_bins * sizeof(float));
    } else if (p->kind == SORI_FEAT_KALDI) {
        float fft_bin_width = (float)p->sample_rate_hz / fx->fft_size;
        float mel_low = kaldi_mel((float)p->low_freq_hz), mel_high = kaldi_mel((float)high);
        float delta = (mel_high - mel_low) / (p->n_mels + 1);
        for (int b = 0; b < p->n_mels; b++) {
            float left = mel_low + b * delta, center = mel_low + (b + 1) * delta,
                  right = mel_low + (b + 2) * delta;
            for (int i = 0; i < fx->n_bins; i++) {
                float mel = kaldi_mel(fft_bin_width * i);
                if (mel > left && mel < right)
                    fx->mel[(int64_t)b * fx->n_bins + i] =
                        mel <= center ? (mel - left) / (center - left) : (right - mel) / (right - center);
            }
        }
    } else {
        /* librosa.filters.mel(sr, n_fft, n_mels, fmin, fmax, htk=False, norm="slaney") */
        int n = p->n_mels;
        double *pts = malloc((size_t)(n + 2) * sizeof(double));
        if (!pts) {
            sori_features_free(fx);
            return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "features: out of memory");
        }
        double m_lo = slaney_mel(p->low_freq_hz), m_hi = slaney_mel(high);
        for (int k = 0; k < n + 2; k++)
            pts[k] = slaney_hz(m_lo + (m_hi - m_lo) * k / (n + 1));
        for (int b = 0; b < n; b++) {
            double lo_d = pts[b + 1] - pts[b], hi_d = pts[b + 2] - pts[b + 1];
            double enorm = 2.0 / (pts[b + 2] - pts[b]);
            for (int i = 0; i < fx->n_bins; i++) {
                double f = (double)i * p->sample_rate_hz / p->n_fft;
                double lower = (f - pts[b]) / lo_d, upper = (pts[b + 2] - f) / hi_d;
                double w = lower < upper ? lower : upper;
                fx->mel[(int64_t)b * fx->n_bins + i] = w > 0 ? (float)(w * enorm) : 0.0f;
            }
        }
        free(pts);
    }
    for (int b = 0; b < p->n_mels; b++) {
        const float *row = fx->mel + (int64_t)b * fx->n_bins;
        int lo = 0, hi = fx->n_bins;
        while (lo < hi && row[lo] == 0.0f)
            lo++;
        while (hi > lo && row[hi - 1] == 0.0f)
            hi--;
        fx->mel_lo[b] = lo;
        fx->mel_hi[b] = hi;
    }
    *out = fx;
    return SORI_OK;
}

void sori_features_free(sori_features *fx)
{
    if (!fx)
        return;
    free(fx->window);
    free(fx->mel);
    free(fx->mel_lo);
    free(fx->mel_hi);
    free(fx->norm_mean);
    free(fx->norm_std);
    free(fx);
}

sori_feature_params sori_features_params(const sori_features *fx)
{
    sori_feature_params p = fx ? fx->p : sori_feature_default_params(SORI_FEAT_KALDI);
    if (fx) {
        p.window_values = NULL;
        p.mel_filterbank = fx->p.kind == SORI_FEAT_NEMO ? fx->mel : NULL;
    }
    return p;
}

const float *sori_features_window(const sori_features *fx, int *frame_len)
{
    *frame_len = fx->frame_len;
    return fx->window;
}

const float *sori_features_mel(const sori_features *fx, int *mel_bins)
{
    *mel_bins = fx->n_bins;
    return fx->mel;
}

int sori_features_fft_size(const sori_features *fx)
{
    return fx->fft_size;
}

int sori_features_dim(const sori_features *fx)
{
    return fx ? fx->dim : 0;
}

/* Frames of the full signal, before NeMo's valid-length cut and pad_to. */
static int64_t total_frames(const sori_features *fx, int64_t n)
{
    if (n <= 0)
        return 0;
    if (fx->p.kind == SORI_FEAT_NEMO)
        return n / fx->shift; /* NeMo: (n + 2*(n_fft/2) - n_fft) // hop valid frames */
    if (fx->p.snip_edges)
        return n < fx->frame_len ? 0 : 1 + (n - fx->frame_len) / fx->shift;
    return (n + fx->shift / 2) / fx->shift;
}

int64_t sori_features_num_frames(const sori_features *fx, int64_t n_samples)
{
    if (!fx)
        return 0;
    int64_t n = total_frames(fx, n_samples);
    if (fx->p.kind == SORI_FEAT_NEMO && n_samples > 0) {
        n += 1; /* torch.stft's last frame, which NeMo masks to pad_value */
        if (fx->p.pad_to > 0 && n % fx->p.pad_to)
            n += fx->p.pad_to - n % fx->p.pad_to;
    }
    return n;
}

/* First sample of frame i (may be negative). */
static int64_t frame_start(const sori_features *fx, int64_t i)
{
    if (fx->p.kind == SORI_FEAT_NEMO)
        return i * fx->shift - fx->p.n_fft / 2;
    if (fx->p.snip_edges)
        return i * fx->shift;
    return i * fx->shift + fx->shift / 2 - fx->frame_len / 2;
}

/* Sample s of the signal (absolute index), given the buffer holding
 * samples [base, base + n) and the total length `total` (-1: unknown yet). */
static inline float sample_at(const sori_features *fx, const float *buf, int64_t base, int64_t total,
                              int64_t s)
{
    if (fx->p.kind == SORI_FEAT_NEMO) {
        if (s < 0 || (total >= 0 && s >= total))
            return 0.0f;
        return buf[s - base];
    }
    /* Kaldi: reflect at both ends */
    while (s < 0 || (total >= 0 && s >= total)) {
        if (s < 0)
            s = -s - 1;
        else
            s = 2 * total - 1 - s;
    }
    return buf[s - base];
}

/* Computes one frame whose samples are in buf (see sample_at) into out. */
/* The frame_len samples of a frame, scaled, with the kind's edge rule. */
static void extract_frame(const sori_features *fx, const float *buf, float scale, int64_t base,
                          int64_t total, int64_t first, float *x)
{
    const int len = fx->frame_len;
    if (first >= base && (total < 0 || first + len <= total)) { /* inside the signal */
        const float *src = buf + (first - base);
        for (int i = 0; i < len; i++)
            x[i] = src[i] * scale;
    } else {
        for (int i = 0; i < len; i++)
            x[i] = sample_at(fx, buf, base, total, first + i) * scale;
    }
}

static void compute_frame(const sori_features *fx, work_t *w, const float *buf, float scale,
                          int64_t base, int64_t total, int64_t first, float *out)
{
    const sori_feature_params *p = &fx->p;
    float *x = w->frame;
    const int len = fx->frame_len;
    extract_frame(fx, buf, scale, base, total, first, x);
    float log_energy = 0.0f;
    if (p->kind == SORI_FEAT_KALDI) {
        if (p->dither > 0.0f)
            for (int i = 0; i < len; i++)
                x[i] += p->dither * gauss(&w->rng);
        if (p->remove_dc) {
            float mean = 0.0f;
            for (int i = 0; i < len; i++)
                mean += x[i];
            mean /= (float)len;
            for (int i = 0; i < len; i++)
                x[i] -= mean;
        }
        if (p->use_energy && p->raw_energy) {
            float e = 0.0f;
            for (int i = 0; i < len; i++)
                e += x[i] * x[i];
            log_energy = logf(e > FLT_EPSILON ? e : FLT_EPSILON);
        }
        /* pre-emphasis (x[i] -= p x[i-1] from the top, x[0] -= p x[0]) and
         * the window in one pass from the top, so the loop vectorizes */
        const float pe = p->preemph, *win = fx->window;
        for (int i = len - 1; i > 0; i--)
            x[i] = (x[i] - pe * x[i - 1]) * win[i];
        x[0] = (x[0] - pe * x[0]) * win[0];
        for (int i = len; i < fx->fft_size; i++)
            x[i] = 0.0f;
        if (p->use_energy && !p->raw_energy) {
            float e = 0.0f;
            for (int i = 0; i < len; i++)
                e += x[i] * x[i];
            log_energy = logf(e > FLT_EPSILON ? e : FLT_EPSILON);
        }
    } else {
        for (int i = 0; i < len; i++)
            x[i] *= fx->window[i];
    }
    kiss_fftr(w->fft, x, w->spec);
    const int nb = fx->fft_size / 2 + 1;
    for (int i = 0; i < nb; i++) {
        float pw = w->spec[i].r * w->spec[i].r + w->spec[i].i * w->spec[i].i;
        if (p->kind == SORI_FEAT_KALDI)
            w->power[i] = p->use_power ? pw : sqrtf(pw);
        else
            w->power[i] = p->mag_power == 2.0f ? pw : powf(sqrtf(pw), p->mag_power);
    }
    float *mel_out = out;
    if (p->kind == SORI_FEAT_KALDI && p->use_energy) {
        if (p->energy_floor > 0.0f && log_energy < logf(p->energy_floor))
            log_energy = logf(p->energy_floor);
        if (p->htk_compat) {
            out[p->n_mels] = log_energy;
        } else {
            out[0] = log_energy;
            mel_out = out + 1;
        }
    }
    for (int b = 0; b < p->n_mels; b++) {
        const float *row = fx->mel + (int64_t)b * fx->n_bins;
        float e = 0.0f;
        for (int i = fx->mel_lo[b]; i < fx->mel_hi[b]; i++)
            e += row[i] * w->power[i];
        mel_out[b] = e;
    }
    if (p->kind == SORI_FEAT_KALDI)
        log_row(mel_out, p->n_mels, FLT_EPSILON, 0);
    else
        log_row(mel_out, p->n_mels, p->log_guard, 1);
}

/* NeMo's fixed_mean / fixed_std, one frame */
static void normalize_fixed(const sori_features *fx, float *row)
{
    for (int d = 0; d < fx->dim; d++)
        row[d] = (row[d] - fx->norm_mean[d]) / fx->norm_std[d];
}

/* NeMo's normalization over `valid` frames (per utterance: std with n-1,
 * plus 1e-5, as nemo's normalize_batch). */
static void normalize(const sori_features *fx, float *f, int64_t valid)
{
    const int D = fx->dim;
    if (fx->p.normalize == SORI_NORM_FIXED) {
        for (int64_t t = 0; t < valid; t++)
            normalize_fixed(fx, f + t * D);
    } else if (fx->p.normalize == SORI_NORM_PER_FEATURE) {
        for (int d = 0; d < D; d++) {
            double mean = 0, var = 0;
            for (int64_t t = 0; t < valid; t++)
                mean += f[t * D + d];
            mean /= (double)valid;
            for (int64_t t = 0; t < valid; t++)
                var += (f[t * D + d] - mean) * (f[t * D + d] - mean);
            double sd = sqrt(var / (double)(valid > 1 ? valid - 1 : 1)) + 1e-5;
            for (int64_t t = 0; t < valid; t++)
                f[t * D + d] = (float)((f[t * D + d] - mean) / sd);
        }
    } else if (fx->p.normalize == SORI_NORM_ALL_FEATURES) {
        double mean = 0, var = 0;
        int64_t n = valid * D;
        for (int64_t i = 0; i < n; i++)
            mean += f[i];
        mean /= (double)n;
        for (int64_t i = 0; i < n; i++)
            var += (f[i] - mean) * (f[i] - mean);
        double sd = sqrt(var / (double)(n > 1 ? n - 1 : 1)) + 1e-5;
        for (int64_t i = 0; i < n; i++)
            f[i] = (float)((f[i] - mean) / sd);
    }
}

/* NeMo's whole-signal steps: scale, dither, pre-emphasis (y[0] = x[0]). */
static float *nemo_signal(const sori_features *fx, const float *samples, int64_t n, uint64_t *rng)
{
    float *sig = malloc((size_t)(n ? n : 1) * sizeof(float));
    if (!sig)
        return NULL;
    for (int64_t i = 0; i < n; i++)
        sig[i] = samples[i] * fx->p.sample_scale;
    if (fx->p.dither > 0.0f) /* NeMo dithers before pre-emphasis */
        for (int64_t i = 0; i < n; i++)
            sig[i] += fx->p.dither * gauss(rng);
    if (fx->p.preemph != 0.0f)
        for (int64_t i = n - 1; i > 0; i--)
            sig[i] = sig[i] - fx->p.preemph * sig[i - 1];
    return sig;
}

sori_status sori_features_compute(const sori_features *fx, const float *samples, int64_t n_samples,
                                  float *out, int64_t max_frames, int64_t *n_frames, sori_error *err)
{
    if (!fx || !n_frames || n_samples < 0 || (n_samples && !samples))
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "features: bad argument");
    *n_frames = 0;
    int64_t valid = total_frames(fx, n_samples);
    int64_t n_out = sori_features_num_frames(fx, n_samples);
    if (n_out > max_frames || (n_out && !out))
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0,
                         "features: output room for %lld frames, %lld needed", (long long)max_frames,
                         (long long)n_out);
    for (int64_t i = 0; i < n_samples; i++)
        if (!isfinite(samples[i]))
            return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "features: NaN or infinite sample at %lld",
                             (long long)i);
    if (n_out == 0)
        return SORI_OK;
    /* Kaldi frames read the caller's samples directly (scaled per frame);
     * NeMo's pre-emphasis (and dither) runs over the whole signal first.
     * Both in the same arithmetic as the stream, for identical frames. */
    float *sig = NULL;
    const float *src = samples;
    float src_scale = fx->p.sample_scale;
    work_t w;
    sori_status st = work_init(fx, &w, err);
    if (st == SORI_OK && fx->p.kind == SORI_FEAT_NEMO) {
        if (!(sig = nemo_signal(fx, samples, n_samples, &w.rng))) {
            work_free(&w);
            return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "features: out of memory");
        }
        src = sig;
        src_scale = 1.0f;
    }
    if (st == SORI_OK) {
        for (int64_t i = 0; i < valid; i++)
            compute_frame(fx, &w, src, src_scale, 0, n_samples, frame_start(fx, i), out + i * fx->dim);
        normalize(fx, out, valid);
        for (int64_t i = valid * fx->dim; i < n_out * fx->dim; i++)
            out[i] = fx->p.pad_value;
        *n_frames = n_out;
        work_free(&w);
    }
    free(sig);
    return st;
}

/* ---- batched, on a runtime ------------------------------------------------------ */

static uint64_t dither_seed(const sori_features *fx)
{
    return fx->p.dither_seed ? fx->p.dither_seed : 0x853c49e6748fea9bull;
}

sori_status sori_features_compute_batch(sori_runtime *rt, int stream, const sori_features *fx,
                                        int batch, const float *const *samples,
                                        const int64_t *n_samples, float *const *out,
                                        const int64_t *max_frames, int64_t *n_frames,
                                        sori_error *err)
{
    if (!rt || !fx || batch < 0 || (batch && (!samples || !n_samples || !out || !max_frames || !n_frames)))
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "features batch: bad argument");
    const sori_feature_params *p = &fx->p;
    int gpu = sori_rt_supports(rt, SORI_OP_LOGMEL, SORI_F32) &&
              !(p->kind == SORI_FEAT_KALDI && p->use_energy && !p->raw_energy);
    if (!gpu) {
        for (int b = 0; b < batch; b++) {
            sori_status st = sori_features_compute(fx, samples[b], n_samples[b], out[b], max_frames[b],
                                                   &n_frames[b], err);
            if (st != SORI_OK)
                return st;
        }
        return SORI_OK;
    }
    /* check every item first, then cut all frames into one staging matrix */
    int64_t total = 0;
    for (int b = 0; b < batch; b++) {
        n_frames[b] = 0;
        if (n_samples[b] < 0 || (n_samples[b] && !samples[b]))
            return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "features batch: item %d: bad samples", b);
        int64_t need = sori_features_num_frames(fx, n_samples[b]);
        if (need > max_frames[b] || (need && !out[b]))
            return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "features batch: item %d: room for %lld frames, %lld needed",
                             b, (long long)max_frames[b], (long long)need);
        for (int64_t i = 0; i < n_samples[b]; i++)
            if (!isfinite(samples[b][i]))
                return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "features batch: item %d: NaN or infinite sample at %lld",
                                 b, (long long)i);
        total += total_frames(fx, n_samples[b]);
    }
    const int L = fx->frame_len, D = fx->dim;
    float *frames = malloc((size_t)(total ? total : 1) * L * sizeof(float));
    float *feats = malloc((size_t)(total ? total : 1) * D * sizeof(float));
    sori_status st = frames && feats ? SORI_OK : sori_fail(err, SORI_ERR_NO_MEMORY, 0, "features batch: out of memory");
    int64_t row = 0;
    for (int b = 0; b < batch && st == SORI_OK; b++) {
        uint64_t rng = dither_seed(fx);
        const float *src = samples[b];
        float scale = p->sample_scale, *sig = NULL;
        if (p->kind == SORI_FEAT_NEMO) {
            if (!(sig = nemo_signal(fx, samples[b], n_samples[b], &rng))) {
                st = sori_fail(err, SORI_ERR_NO_MEMORY, 0, "features batch: out of memory");
                break;
            }
            src = sig;
            scale = 1.0f;
        }
        int64_t valid = total_frames(fx, n_samples[b]);
        for (int64_t i = 0; i < valid; i++, row++) {
            float *x = frames + row * L;
            extract_frame(fx, src, scale, 0, n_samples[b], frame_start(fx, i), x);
            if (p->kind == SORI_FEAT_KALDI && p->dither > 0.0f)
                for (int k = 0; k < L; k++)
                    x[k] += p->dither * gauss(&rng);
        }
        free(sig);
    }
    /* the spectra on the backend */
    void *d_frames = NULL, *d_window = NULL, *d_mel = NULL, *d_out = NULL;
    const int mel_bins = fx->n_bins;
    if (st == SORI_OK && total > 0) {
        st = sori_rt_alloc(rt, (size_t)total * L * sizeof(float), &d_frames, err);
        if (st == SORI_OK)
            st = sori_rt_alloc(rt, (size_t)L * sizeof(float), &d_window, err);
        if (st == SORI_OK)
            st = sori_rt_alloc(rt, (size_t)p->n_mels * mel_bins * sizeof(float), &d_mel, err);
        if (st == SORI_OK)
            st = sori_rt_alloc(rt, (size_t)total * D * sizeof(float), &d_out, err);
        if (st == SORI_OK)
            st = sori_rt_upload(rt, stream, d_frames, frames, (size_t)total * L * sizeof(float), err);
        if (st == SORI_OK)
            st = sori_rt_upload(rt, stream, d_window, fx->window, (size_t)L * sizeof(float), err);
        if (st == SORI_OK)
            st = sori_rt_upload(rt, stream, d_mel, fx->mel, (size_t)p->n_mels * mel_bins * sizeof(float), err);
        if (st == SORI_OK) {
            sori_op_desc op = {.op = SORI_OP_LOGMEL};
            sori_logmel_desc *d = &op.u.logmel;
            d->n_frames = total;
            d->frame_len = L;
            d->fft_size = fx->fft_size;
            d->mel_bins = mel_bins;
            d->n_mels = p->n_mels;
            d->kaldi = p->kind == SORI_FEAT_KALDI;
            d->remove_dc = p->remove_dc;
            d->preemph = p->preemph;
            d->mag_power = d->kaldi ? (p->use_power ? 2.0f : 1.0f) : p->mag_power;
            d->log_floor = d->kaldi ? FLT_EPSILON : p->log_guard;
            d->energy_col = d->kaldi && p->use_energy ? (p->htk_compat ? p->n_mels : 0) : -1;
            d->frames = d_frames;
            d->window = d_window;
            d->mel = d_mel;
            d->out = d_out;
            st = sori_rt_run(rt, stream, &op, err);
        }
        if (st == SORI_OK)
            st = sori_rt_download(rt, stream, feats, d_out, (size_t)total * D * sizeof(float), err);
        if (st == SORI_OK)
            st = sori_rt_sync(rt, stream, err);
    }
    sori_rt_release(rt, d_frames);
    sori_rt_release(rt, d_window);
    sori_rt_release(rt, d_mel);
    sori_rt_release(rt, d_out);
    /* the per-utterance steps on the host */
    row = 0;
    for (int b = 0; b < batch && st == SORI_OK; b++) {
        int64_t valid = total_frames(fx, n_samples[b]), n_out = sori_features_num_frames(fx, n_samples[b]);
        memcpy(out[b], feats + row * D, (size_t)valid * D * sizeof(float));
        row += valid;
        if (p->kind == SORI_FEAT_KALDI && p->use_energy && p->energy_floor > 0.0f) {
            float lf = logf(p->energy_floor);
            int col = p->htk_compat ? p->n_mels : 0;
            for (int64_t i = 0; i < valid; i++)
                if (out[b][i * D + col] < lf)
                    out[b][i * D + col] = lf;
        }
        normalize(fx, out[b], valid);
        for (int64_t i = valid * D; i < n_out * D; i++)
            out[b][i] = p->pad_value;
        n_frames[b] = n_out;
    }
    free(frames);
    free(feats);
    return st;
}

/* ---- streaming ---------------------------------------------------------------------- */

struct sori_feature_stream {
    const sori_features *fx;
    work_t w;
    float *buf;          /* samples [base, base + n_buf) of the processed signal */
    int64_t cap, n_buf, base;
    int64_t n_total;     /* samples accepted */
    float last_in;       /* previous scaled input sample (NeMo pre-emphasis) */
    int64_t next_frame;  /* frames computed so far */
    float *ready;        /* computed, unread frames */
    int64_t ready_cap, n_ready, ready_pos;
    int finished;
};

sori_status sori_feature_stream_create(const sori_features *fx, sori_feature_stream **out,
                                       sori_error *err)
{
    if (!fx || !out)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "feature stream: NULL argument");
    *out = NULL;
    if (fx->p.normalize != SORI_NORM_NONE && fx->p.normalize != SORI_NORM_FIXED)
        return sori_fail(err, SORI_ERR_UNSUPPORTED, 0,
                         "feature stream: per-utterance normalization cannot stream (use NONE or FIXED)");
    sori_feature_stream *s = calloc(1, sizeof *s);
    if (!s)
        return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "feature stream: out of memory");
    s->fx = fx;
    sori_status st = work_init(fx, &s->w, err);
    s->cap = 4 * (int64_t)fx->frame_len + 4 * (int64_t)fx->shift;
    s->buf = malloc((size_t)s->cap * sizeof(float));
    s->ready_cap = 64;
    s->ready = malloc((size_t)s->ready_cap * fx->dim * sizeof(float));
    if (st == SORI_OK && (!s->buf || !s->ready))
        st = sori_fail(err, SORI_ERR_NO_MEMORY, 0, "feature stream: out of memory");
    if (st != SORI_OK) {
        sori_feature_stream_free(s);
        return st;
    }
    *out = s;
    return SORI_OK;
}

void sori_feature_stream_free(sori_feature_stream *s)
{
    if (!s)
        return;
    work_free(&s->w);
    free(s->buf);
    free(s->ready);
    free(s);
}

void sori_feature_stream_reset(sori_feature_stream *s)
{
    if (!s)
        return;
    s->n_buf = s->base = s->n_total = 0;
    s->last_in = 0.0f;
    s->next_frame = 0;
    s->n_ready = s->ready_pos = 0;
    s->finished = 0;
    s->w.rng = s->fx->p.dither_seed ? s->fx->p.dither_seed : 0x853c49e6748fea9bull;
}

static sori_status push_ready(sori_feature_stream *s, sori_error *err, float **row)
{
    const int D = s->fx->dim;
    if (s->ready_pos > 0 && s->ready_pos == s->n_ready)
        s->ready_pos = s->n_ready = 0;
    if (s->n_ready == s->ready_cap) {
        if (s->ready_pos > 0) { /* compact */
            memmove(s->ready, s->ready + s->ready_pos * D,
                    (size_t)(s->n_ready - s->ready_pos) * D * sizeof(float));
            s->n_ready -= s->ready_pos;
            s->ready_pos = 0;
        } else {
            float *r = realloc(s->ready, (size_t)s->ready_cap * 2 * D * sizeof(float));
            if (!r)
                return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "feature stream: out of memory");
            s->ready = r;
            s->ready_cap *= 2;
        }
    }
    *row = s->ready + s->n_ready * D;
    s->n_ready++;
    return SORI_OK;
}

/* Computes every frame whose samples are all in (all frames up to the
 * total when finished), then drops samples no later frame needs. */
static sori_status produce(sori_feature_stream *s, sori_error *err)
{
    const sori_features *fx = s->fx;
    int64_t total = s->finished ? s->n_total : -1;
    int64_t limit = s->finished ? total_frames(fx, s->n_total) : INT64_MAX;
    while (s->next_frame < limit) {
        int64_t first = frame_start(fx, s->next_frame);
        if (!s->finished && (first + fx->frame_len > s->n_total ||
                             (fx->p.kind == SORI_FEAT_NEMO &&
                              (s->next_frame + 1) * fx->shift > s->n_total)))
            break; /* (NeMo: only the n // hop valid frames) */
        float *row = NULL;
        sori_status st = push_ready(s, err, &row);
        if (st != SORI_OK)
            return st;
        compute_frame(fx, &s->w, s->buf, 1.0f, s->base, total, first, row);
        if (fx->p.normalize == SORI_NORM_FIXED)
            normalize_fixed(fx, row);
        s->next_frame++;
    }
    /* keep from the first sample the next frame can touch (reflection at the
     * start reads samples below frame_len, kept until then) */
    int64_t keep = frame_start(fx, s->next_frame);
    if (fx->p.kind == SORI_FEAT_KALDI && !fx->p.snip_edges)
        keep -= fx->frame_len; /* room for the end reflection */
    if (keep < fx->frame_len && fx->p.kind == SORI_FEAT_KALDI && !fx->p.snip_edges)
        keep = 0;
    if (keep > s->base) {
        int64_t drop = keep - s->base;
        if (drop > s->n_buf)
            drop = s->n_buf;
        memmove(s->buf, s->buf + drop, (size_t)(s->n_buf - drop) * sizeof(float));
        s->n_buf -= drop;
        s->base += drop;
    }
    return SORI_OK;
}

sori_status sori_feature_stream_accept(sori_feature_stream *s, const float *samples,
                                       int64_t n_samples, sori_error *err)
{
    if (!s || n_samples < 0 || (n_samples && !samples))
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "feature stream: bad argument");
    if (s->finished)
        return sori_fail(err, SORI_ERR_STATE, 0, "feature stream: input after finish");
    for (int64_t i = 0; i < n_samples; i++)
        if (!isfinite(samples[i]))
            return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "feature stream: NaN or infinite sample");
    const sori_features *fx = s->fx;
    const float scale = fx->p.sample_scale;
    int64_t done = 0;
    while (done < n_samples) {
        /* take what fits, compute, let produce() drop what is consumed */
        int64_t room = s->cap - s->n_buf;
        if (room == 0) {
            int64_t ncap = s->cap * 2;
            float *b = realloc(s->buf, (size_t)ncap * sizeof(float));
            if (!b)
                return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "feature stream: out of memory");
            s->buf = b;
            s->cap = ncap;
            room = s->cap - s->n_buf;
        }
        int64_t take = n_samples - done < room ? n_samples - done : room;
        for (int64_t i = 0; i < take; i++) {
            float x = samples[done + i] * scale;
            if (fx->p.kind == SORI_FEAT_NEMO && fx->p.dither > 0.0f)
                x += fx->p.dither * gauss(&s->w.rng);
            float y = x;
            if (fx->p.kind == SORI_FEAT_NEMO && fx->p.preemph != 0.0f && s->n_total + i > 0)
                y = x - fx->p.preemph * s->last_in;
            if (fx->p.kind == SORI_FEAT_NEMO)
                s->last_in = x;
            s->buf[s->n_buf + i] = y;
        }
        s->n_buf += take;
        s->n_total += take;
        done += take;
        sori_status st = produce(s, err);
        if (st != SORI_OK)
            return st;
    }
    return SORI_OK;
}

sori_status sori_feature_stream_finish(sori_feature_stream *s, sori_error *err)
{
    if (!s)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "feature stream: NULL");
    if (s->finished)
        return SORI_OK;
    s->finished = 1;
    return produce(s, err);
}

int64_t sori_feature_stream_ready(const sori_feature_stream *s)
{
    return s ? s->n_ready - s->ready_pos : 0;
}

sori_status sori_feature_stream_read(sori_feature_stream *s, float *out, int64_t max_frames,
                                     int64_t *n_read, sori_error *err)
{
    if (!s || !n_read || max_frames < 0 || (max_frames && !out))
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "feature stream: bad argument");
    int64_t n = s->n_ready - s->ready_pos;
    if (n > max_frames)
        n = max_frames;
    const int D = s->fx->dim;
    if (n > 0)
        memcpy(out, s->ready + s->ready_pos * D, (size_t)n * D * sizeof(float));
    s->ready_pos += n;
    *n_read = n;
    return SORI_OK;
}
