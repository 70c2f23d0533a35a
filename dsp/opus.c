/* Raw Opus packets through libopus (RFC 6716). */
#include <opus.h>
#include <stdlib.h>

#include "kernels/kernels.h"
#include "sori/audio.h"

struct sori_opus_decoder {
    OpusDecoder *dec;
    int rate, channels;
};

struct sori_opus_encoder {
    OpusEncoder *enc;
    int rate, channels;
};

static int opus_rate_ok(int r)
{
    return r == 8000 || r == 12000 || r == 16000 || r == 24000 || r == 48000;
}

sori_status sori_opus_decoder_create(int sample_rate_hz, int n_channels, sori_opus_decoder **out,
                                     sori_error *err)
{
    if (!out)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "opus: out is NULL");
    *out = NULL;
    if (!opus_rate_ok(sample_rate_hz) || n_channels < 1 || n_channels > 2)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0,
                         "opus: %d Hz x %d channels (8/12/16/24/48 kHz, 1 or 2 channels)",
                         sample_rate_hz, n_channels);
    sori_opus_decoder *d = calloc(1, sizeof *d);
    if (!d)
        return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "opus: out of memory");
    int e = OPUS_OK;
    d->dec = opus_decoder_create(sample_rate_hz, n_channels, &e);
    if (!d->dec || e != OPUS_OK) {
        free(d);
        return sori_fail(err, SORI_ERR_BACKEND, e, "opus: decoder: %s", opus_strerror(e));
    }
    d->rate = sample_rate_hz;
    d->channels = n_channels;
    *out = d;
    return SORI_OK;
}

void sori_opus_decoder_free(sori_opus_decoder *d)
{
    if (!d)
        return;
    opus_decoder_destroy(d->dec);
    free(d);
}

sori_status sori_opus_decoder_decode(sori_opus_decoder *d, const uint8_t *packet, size_t size,
                                     float *out, int max_frames, int *n_frames, sori_error *err)
{
    if (!d || !out || !n_frames || max_frames < 1 || (packet && size == 0) || size > 1275 * 6)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "opus: bad argument");
    *n_frames = 0;
    int n = opus_decode_float(d->dec, packet, packet ? (opus_int32)size : 0, out, max_frames, 0);
    if (n < 0)
        return sori_fail(err, n == OPUS_BUFFER_TOO_SMALL ? SORI_ERR_INVALID_ARG : SORI_ERR_FORMAT, n,
                         "opus: packet of %zu bytes: %s", size, opus_strerror(n));
    *n_frames = n;
    return SORI_OK;
}

sori_status sori_opus_encoder_create(int sample_rate_hz, int n_channels, int bitrate_bps,
                                     sori_opus_encoder **out, sori_error *err)
{
    if (!out)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "opus: out is NULL");
    *out = NULL;
    if (!opus_rate_ok(sample_rate_hz) || n_channels < 1 || n_channels > 2 || bitrate_bps < 6000 ||
        bitrate_bps > 510000)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "opus: %d Hz x %d channels at %d bit/s",
                         sample_rate_hz, n_channels, bitrate_bps);
    sori_opus_encoder *e = calloc(1, sizeof *e);
    if (!e)
        return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "opus: out of memory");
    int rc = OPUS_OK;
    e->enc = opus_encoder_create(sample_rate_hz, n_channels, OPUS_APPLICATION_VOIP, &rc);
    if (e->enc && rc == OPUS_OK)
        rc = opus_encoder_ctl(e->enc, OPUS_SET_BITRATE(bitrate_bps));
    if (!e->enc || rc != OPUS_OK) {
        if (e->enc)
            opus_encoder_destroy(e->enc);
        free(e);
        return sori_fail(err, SORI_ERR_BACKEND, rc, "opus: encoder: %s", opus_strerror(rc));
    }
    e->rate = sample_rate_hz;
    e->channels = n_channels;
    *out = e;
    return SORI_OK;
}

void sori_opus_encoder_free(sori_opus_encoder *e)
{
    if (!e)
        return;
    opus_encoder_destroy(e->enc);
    free(e);
}

sori_status sori_opus_encoder_encode(sori_opus_encoder *e, const float *pcm, int n_frames,
                                     uint8_t *packet, size_t max_bytes, size_t *n_bytes,
                                     sori_error *err)
{
    if (!e || !pcm || !packet || !n_bytes || max_bytes < 1)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "opus: bad argument");
    *n_bytes = 0;
    /* 2.5 .. 60 ms: n * 400 must be a multiple of the rate (2.5 ms units) */
    int units = (int)((int64_t)n_frames * 400 / e->rate);
    if ((int64_t)units * e->rate != (int64_t)n_frames * 400 ||
        !(units == 1 || units == 2 || units == 4 || units == 8 || units == 16 || units == 24))
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0,
                         "opus: %d frames at %d Hz is not 2.5/5/10/20/40/60 ms", n_frames, e->rate);
    int n = opus_encode_float(e->enc, pcm, n_frames, packet,
                              (opus_int32)(max_bytes > 1275 * 3 ? 1275 * 3 : max_bytes));
    if (n < 0)
        return sori_fail(err, SORI_ERR_BACKEND, n, "opus: encode: %s", opus_strerror(n));
    *n_bytes = (size_t)n;
    return SORI_OK;
}
