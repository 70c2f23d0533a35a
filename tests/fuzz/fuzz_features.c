/* libFuzzer target: the feature extractor with parameters and samples taken
 * from the input — offline and streaming in input-chosen chunks. Invalid
 * parameters must be refused, valid ones must give finite features, and
 * the stream must equal the offline frames (normalization none). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sori/features.h"

static uint32_t take(const uint8_t **p, size_t *n, int bytes)
{
    uint32_t v = 0;
    for (int i = 0; i < bytes && *n; i++, (*p)++, (*n)--)
        v |= (uint32_t)**p << (8 * i);
    return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *p = data;
    size_t n = size;
    uint32_t flags = take(&p, &n, 4);
    sori_feature_params fp = sori_feature_default_params(flags & 1 ? SORI_FEAT_NEMO : SORI_FEAT_KALDI);
    fp.sample_rate_hz = (flags & 2) ? 8000 : 16000;
    fp.n_mels = 1 + (int)take(&p, &n, 1) % 128;
    fp.window = (sori_window_type)(take(&p, &n, 1) % 6); /* 5 is invalid */
    fp.snip_edges = flags & 4;
    fp.use_energy = (flags & 8) && fp.kind == SORI_FEAT_KALDI;
    fp.remove_dc = flags & 16;
    fp.round_to_pow2 = !(flags & 32);
    fp.low_freq_hz = (float)(take(&p, &n, 1) * 10);
    fp.high_freq_hz = -(float)(take(&p, &n, 1) * 10);
    fp.n_fft = 2 * (1 + (int)take(&p, &n, 2) % 600);
    fp.win_length = 1 + (int)take(&p, &n, 2) % 800;
    fp.hop_length = 1 + (int)take(&p, &n, 2) % 400;
    fp.normalize = (sori_feature_norm)(fp.kind == SORI_FEAT_NEMO ? take(&p, &n, 1) % 3 : 0);
    fp.pad_to = (int)take(&p, &n, 1) % 20;
    sori_features *fx = NULL;
    if (sori_features_create(&fp, &fx, NULL) != SORI_OK)
        return 0;
    int64_t ns = (int64_t)(n / 2);
    float *x = malloc((size_t)(ns ? ns : 1) * sizeof(float));
    for (int64_t i = 0; i < ns; i++)
        x[i] = (int16_t)(p[2 * i] | p[2 * i + 1] << 8) / 32768.0f;
    int64_t frames = sori_features_num_frames(fx, ns), got = 0;
    int dim = sori_features_dim(fx);
    float *out = malloc((size_t)(frames ? frames : 1) * dim * sizeof(float));
    if (sori_features_compute(fx, x, ns, out, frames, &got, NULL) != SORI_OK || got != frames)
        abort();
    for (int64_t i = 0; i < got * dim; i++)
        if (isnan(out[i]))
            abort();
    sori_feature_stream *s = NULL;
    if (fp.normalize == SORI_NORM_NONE && sori_feature_stream_create(fx, &s, NULL) == SORI_OK) {
        int64_t pos = 0, chunk = 1 + (flags >> 8) % 977;
        while (pos < ns) {
            int64_t c = chunk < ns - pos ? chunk : ns - pos;
            if (sori_feature_stream_accept(s, x + pos, c, NULL) != SORI_OK)
                abort();
            pos += c;
        }
        sori_feature_stream_finish(s, NULL);
        int64_t ready = sori_feature_stream_ready(s), k = 0;
        float *sf = malloc((size_t)(ready ? ready : 1) * dim * sizeof(float));
        sori_feature_stream_read(s, sf, ready, &k, NULL);
        int64_t valid = fp.kind == SORI_FEAT_NEMO ? ns / fp.hop_length : got;
        if (k != valid || memcmp(sf, out, (size_t)k * dim * sizeof(float)) != 0)
            abort();
        free(sf);
        sori_feature_stream_free(s);
    }
    free(out);
    free(x);
    sori_features_free(fx);
    return 0;
}
