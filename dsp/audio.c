/* Headerless PCM, channel selection, encoding through libsndfile, and the
 * checks every decoded signal passes (decoding: dsp/audio_read.c). */
#include <math.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsp/audio_scan.h"
#include "kernels/kernels.h"
#include "sori/audio.h"

void sori_audio_free(sori_audio *a)
{
    if (!a)
        return;
    free(a->samples);
    memset(a, 0, sizeof *a);
}

/* `bad` is the status for an out-of-range value: SORI_ERR_FORMAT when a file
 * says it, SORI_ERR_INVALID_ARG when the caller does. */
sori_status audio_check_shape(const char *src, int channels, int64_t rate, sori_status bad,
                               sori_error *err)
{
    if (channels < 1 || channels > SORI_AUDIO_MAX_CHANNELS)
        return sori_fail(err, bad, 0, "%s: %d channels (1..%d supported)", src, channels,
                         SORI_AUDIO_MAX_CHANNELS);
    if (rate < 1000 || rate > 768000)
        return sori_fail(err, bad, 0, "%s: sample rate %lld Hz (1 kHz..768 kHz supported)",
                         src, (long long)rate);
    return SORI_OK;
}

/* The first non-finite sample, or -1. */
static int64_t find_nonfinite(const float *x, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(x[i]))
            return i;
    return -1;
}

sori_status audio_finish(const char *src, sori_audio *a, sori_error *err)
{
    if (a->n_frames == 0) {
        sori_audio_free(a);
        return sori_fail(err, SORI_ERR_FORMAT, 0, "%s: no audio (zero samples)", src);
    }
    int64_t bad = find_nonfinite(a->samples, a->n_frames * a->n_channels);
    if (bad >= 0) {
        int64_t frame = bad / a->n_channels;
        sori_audio_free(a);
        return sori_fail(err, SORI_ERR_FORMAT, 0, "%s: NaN or infinite sample at frame %lld", src,
                         (long long)frame);
    }
    return SORI_OK;
}

/* ---- headerless PCM ---------------------------------------------------------- */

sori_status sori_audio_read_raw(const void *data, size_t size, sori_pcm_format format,
                                int n_channels, int sample_rate_hz, sori_audio *out, sori_error *err)
{
    if (!out)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "audio: out is NULL");
    memset(out, 0, sizeof *out);
    static const int bytes_of[] = {2, 3, 4, 4, 1, 1, 1};
    if ((unsigned)format > SORI_PCM_ALAW)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "raw audio: unknown format %d", (int)format);
    if (!data && size)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "raw audio: data is NULL");
    sori_status st = audio_check_shape("raw audio", n_channels, sample_rate_hz, SORI_ERR_INVALID_ARG, err);
    if (st != SORI_OK)
        return st;
    size_t frame_bytes = (size_t)bytes_of[format] * (size_t)n_channels;
    if (size % frame_bytes)
        return sori_fail(err, SORI_ERR_FORMAT, 0,
                         "raw audio: %zu bytes is not a whole number of %zu-byte frames", size,
                         frame_bytes);
    int64_t frames = (int64_t)(size / frame_bytes);
    if (frames > (int64_t)SORI_AUDIO_MAX_SECONDS * sample_rate_hz)
        return sori_fail(err, SORI_ERR_FORMAT, 0, "raw audio: longer than %d hours",
                         SORI_AUDIO_MAX_SECONDS / 3600);
    int64_t n = frames * n_channels;
    float *x = malloc((size_t)(n ? n : 1) * sizeof(float));
    if (!x)
        return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "raw audio: out of memory");
    const unsigned char *p = data;
    for (int64_t i = 0; i < n; i++) {
        switch (format) {
        case SORI_PCM_S16LE: x[i] = (int16_t)(p[2 * i] | p[2 * i + 1] << 8) / 32768.0f; break;
        case SORI_PCM_S24LE: {
            int32_t v = (int32_t)((uint32_t)p[3 * i] << 8 | (uint32_t)p[3 * i + 1] << 16 |
                                  (uint32_t)p[3 * i + 2] << 24) >> 8;
            x[i] = (float)v / 8388608.0f;
            break;
        }
        case SORI_PCM_S32LE: {
            int32_t v = (int32_t)((uint32_t)p[4 * i] | (uint32_t)p[4 * i + 1] << 8 |
                                  (uint32_t)p[4 * i + 2] << 16 | (uint32_t)p[4 * i + 3] << 24);
            x[i] = (float)((double)v / 2147483648.0);
            break;
        }
        case SORI_PCM_F32LE: {
            uint32_t u = (uint32_t)p[4 * i] | (uint32_t)p[4 * i + 1] << 8 |
                         (uint32_t)p[4 * i + 2] << 16 | (uint32_t)p[4 * i + 3] << 24;
            memcpy(&x[i], &u, 4);
            break;
        }
        case SORI_PCM_U8: x[i] = ((int)p[i] - 128) / 128.0f; break;
        case SORI_PCM_MULAW: x[i] = sori_g711_ulaw_decode(p[i]) / 32768.0f; break;
        case SORI_PCM_ALAW: x[i] = sori_g711_alaw_decode(p[i]) / 32768.0f; break;
        }
    }
    out->samples = x;
    out->n_frames = frames;
    out->n_channels = n_channels;
    out->sample_rate_hz = sample_rate_hz;
    return audio_finish("raw audio", out, err);
}

/* ---- channels ------------------------------------------------------------------ */

sori_status sori_audio_select_channel(const sori_audio *in, int channel, sori_audio *out,
                                      sori_error *err)
{
    if (!in || !out || !in->samples || in->n_channels < 1)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "audio: bad argument");
    if (channel != SORI_CHANNEL_MIX && (channel < 0 || channel >= in->n_channels))
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "audio: channel %d of %d", channel,
                         in->n_channels);
    float *x = malloc((size_t)(in->n_frames ? in->n_frames : 1) * sizeof(float));
    if (!x)
        return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "audio: out of memory");
    const int ch = in->n_channels;
    for (int64_t t = 0; t < in->n_frames; t++) {
        if (channel == SORI_CHANNEL_MIX) {
            float s = 0.0f;
            for (int c = 0; c < ch; c++)
                s += in->samples[t * ch + c];
            x[t] = s / (float)ch;
        } else {
            x[t] = in->samples[t * ch + channel];
        }
    }
    sori_audio r = {x, in->n_frames, 1, in->sample_rate_hz};
    if (out == in)
        free(out->samples);
    *out = r;
    return SORI_OK;
}

/* ---- encoding -------------------------------------------------------------------- */

sori_status sori_audio_write_file(const char *path, const sori_audio *a,
                                  sori_audio_encoding encoding, sori_error *err)
{
    if (!path || !a || !a->samples || a->n_frames < 1)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "audio write: bad argument");
    sori_status st = audio_check_shape(path, a->n_channels, a->sample_rate_hz, SORI_ERR_INVALID_ARG, err);
    if (st != SORI_OK)
        return st;
    SF_INFO info;
    memset(&info, 0, sizeof info);
    info.samplerate = a->sample_rate_hz;
    info.channels = a->n_channels;
    switch (encoding) {
    case SORI_ENC_WAV_PCM16: info.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16; break;
    case SORI_ENC_WAV_FLOAT: info.format = SF_FORMAT_WAV | SF_FORMAT_FLOAT; break;
    case SORI_ENC_WAV_MULAW: info.format = SF_FORMAT_WAV | SF_FORMAT_ULAW; break;
    case SORI_ENC_WAV_ALAW: info.format = SF_FORMAT_WAV | SF_FORMAT_ALAW; break;
    case SORI_ENC_FLAC: info.format = SF_FORMAT_FLAC | SF_FORMAT_PCM_16; break;
    case SORI_ENC_OGG_OPUS: info.format = SF_FORMAT_OGG | SF_FORMAT_OPUS; break;
    default:
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "%s: unknown encoding %d", path, (int)encoding);
    }
    if (!sf_format_check(&info))
        return sori_fail(err, SORI_ERR_UNSUPPORTED, 0, "%s: this encoding cannot store %d channels at %d Hz",
                         path, a->n_channels, a->sample_rate_hz);
    SNDFILE *sf = sf_open(path, SFM_WRITE, &info);
    if (!sf) {
        int e = sf_error(NULL);
        return sori_fail(err, e == SF_ERR_SYSTEM ? SORI_ERR_IO : SORI_ERR_UNSUPPORTED, e,
                         "%s: cannot create: %s", path, sf_strerror(NULL));
    }
    sf_command(sf, SFC_SET_CLIPPING, NULL, SF_TRUE);
    sf_count_t wrote = sf_writef_float(sf, a->samples, (sf_count_t)a->n_frames);
    int e = sf_error(sf);
    char msg[128];
    snprintf(msg, sizeof msg, "%s", sf_strerror(sf));
    if (sf_close(sf) != 0 || wrote != (sf_count_t)a->n_frames || e != SF_ERR_NO_ERROR)
        return sori_fail(err, SORI_ERR_IO, e, "%s: write failed: %s", path, msg);
    return SORI_OK;
}
