/* Resampling with libsoxr (high quality, linear phase). soxr's output does
 * not depend on how the input is chunked, which is what lets a stream be
 * resampled chunk by chunk and give the samples of a one-shot conversion
 * (tests/test_audio.c checks it). */
#include <soxr.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"
#include "sori/audio.h"

struct sori_resampler {
    soxr_t soxr;
    int in_rate, out_rate, channels;
    int flushed;
};

sori_status sori_resampler_create(int in_rate_hz, int out_rate_hz, int n_channels,
                                  sori_resampler **out, sori_error *err)
{
    if (!out)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "resampler: out is NULL");
    *out = NULL;
    if (in_rate_hz < 1000 || in_rate_hz > 768000 || out_rate_hz < 1000 || out_rate_hz > 768000)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "resampler: rates %d -> %d Hz not in 1 kHz..768 kHz",
                         in_rate_hz, out_rate_hz);
    if (n_channels < 1 || n_channels > SORI_AUDIO_MAX_CHANNELS)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "resampler: %d channels", n_channels);
    sori_resampler *r = calloc(1, sizeof *r);
    if (!r)
        return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "resampler: out of memory");
    soxr_error_t e = NULL;
    soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
    soxr_quality_spec_t q = soxr_quality_spec(SOXR_HQ, 0);
    soxr_runtime_spec_t rt = soxr_runtime_spec(1); /* no threads of its own */
    r->soxr = soxr_create(in_rate_hz, out_rate_hz, (unsigned)n_channels, &e, &io, &q, &rt);
    if (!r->soxr || e) {
        free(r);
        return sori_fail(err, SORI_ERR_BACKEND, 0, "resampler: soxr: %s", e ? e : "create failed");
    }
    r->in_rate = in_rate_hz;
    r->out_rate = out_rate_hz;
    r->channels = n_channels;
    *out = r;
    return SORI_OK;
}

void sori_resampler_free(sori_resampler *r)
{
    if (!r)
        return;
    soxr_delete(r->soxr);
    free(r);
}

size_t sori_resampler_max_out(const sori_resampler *r, size_t n_in)
{
    if (!r)
        return 0;
    /* output for this input plus what soxr may still hold back from earlier
     * calls (its filter delay), with margin */
    double ratio = (double)r->out_rate / r->in_rate;
    return (size_t)((double)n_in * ratio) + (size_t)(4096 * (ratio > 1 ? ratio : 1)) + 16;
}

sori_status sori_resampler_process(sori_resampler *r, const float *in, size_t n_in, float *out,
                                   size_t out_capacity, size_t *n_out, sori_error *err)
{
    if (!r || !n_out || (n_in && !in) || (out_capacity && !out))
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "resampler: bad argument");
    *n_out = 0;
    if (r->flushed && n_in)
        return sori_fail(err, SORI_ERR_STATE, 0, "resampler: input after the end of the stream");
    size_t done_in = 0, done_out = 0;
    do {
        size_t idone = 0, odone = 0;
        /* soxr flushes when given a NULL input */
        const float *src = in ? in + done_in * r->channels : NULL;
        soxr_error_t e = soxr_process(r->soxr, src, in ? n_in - done_in : 0, &idone,
                                      out + done_out * r->channels, out_capacity - done_out, &odone);
        if (e)
            return sori_fail(err, SORI_ERR_BACKEND, 0, "resampler: soxr: %s", e);
        done_in += idone;
        done_out += odone;
        if (done_in < n_in && done_out == out_capacity)
            return sori_fail(err, SORI_ERR_INVALID_ARG, 0,
                             "resampler: output buffer of %zu frames too small (use "
                             "sori_resampler_max_out)",
                             out_capacity);
        if (!in) {
            r->flushed = 1;
            break;
        }
    } while (done_in < n_in);
    *n_out = done_out;
    return SORI_OK;
}

sori_status sori_audio_resample(const sori_audio *in, int out_rate_hz, sori_audio *out,
                                sori_error *err)
{
    if (!in || !out || !in->samples || in->n_frames < 1)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "resample: bad argument");
    sori_audio res = {0};
    if (out_rate_hz == in->sample_rate_hz) {
        size_t n = (size_t)(in->n_frames * in->n_channels);
        res.samples = malloc(n * sizeof(float));
        if (!res.samples)
            return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "resample: out of memory");
        memcpy(res.samples, in->samples, n * sizeof(float));
        res.n_frames = in->n_frames;
    } else {
        sori_resampler *r = NULL;
        sori_status st = sori_resampler_create(in->sample_rate_hz, out_rate_hz, in->n_channels, &r, err);
        if (st != SORI_OK)
            return st;
        size_t cap = sori_resampler_max_out(r, (size_t)in->n_frames) + 4096;
        res.samples = malloc(cap * (size_t)in->n_channels * sizeof(float));
        size_t got = 0, tail = 0;
        if (!res.samples)
            st = sori_fail(err, SORI_ERR_NO_MEMORY, 0, "resample: out of memory");
        if (st == SORI_OK)
            st = sori_resampler_process(r, in->samples, (size_t)in->n_frames, res.samples, cap, &got, err);
        /* drain the filter */
        while (st == SORI_OK) {
            st = sori_resampler_process(r, NULL, 0, res.samples + got * in->n_channels, cap - got,
                                        &tail, err);
            got += tail;
            if (tail == 0 || got == cap)
                break;
        }
        sori_resampler_free(r);
        if (st != SORI_OK) {
            free(res.samples);
            return st;
        }
        res.n_frames = (int64_t)got;
    }
    res.n_channels = in->n_channels;
    res.sample_rate_hz = out_rate_hz;
    if (out == in)
        free(out->samples);
    *out = res;
    return SORI_OK;
}
