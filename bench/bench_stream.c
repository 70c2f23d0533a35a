/* Cache-aware streaming step speed of sori's Conformer (driven by
 * bench/bench_stream.py, which runs onnxruntime on the same model).
 *
 *   bench_stream MODEL.gguf FEATS.f32 N_FRAMES RUNS THREADS BATCH [OUT.f32|-]
 *
 * BATCH streams each get the same N_FRAMES of features, cut as NeMo's
 * CacheAwareStreamingAudioBuffer with pad_and_drop_preencoded (every step:
 * pre_cache earlier frames, zeros before the start, + chunk new frames, the
 * first `drop` subsampled frames dropped), which is what NeMo's ONNX export
 * of a cache-aware encoder computes. All streams' steps run as one batched
 * call. Prints "median-step-seconds steps state-bytes", then "steps T1 ..."
 * (every timed step's seconds in the order they ran: the full steps of run
 * 1, then of run 2, ...); OUT receives stream 0's encoder output, steps
 * concatenated. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asr/conformer.h"
#include "kernels/kernels.h"
#include "kernels/opcheck.h"

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    if (argc < 7) {
        fprintf(stderr, "usage: bench_stream MODEL.gguf FEATS.f32 N_FRAMES RUNS THREADS BATCH [OUT.f32|-]\n");
        return 2;
    }
    int64_t frames = atoll(argv[3]);
    int runs = atoi(argv[4]), threads = atoi(argv[5]), batch = atoi(argv[6]);
    if (frames < 1 || runs < 1 || runs > 100 || threads < 1 || batch < 1 || batch > 256)
        return 2;
    sori_runtime_params rp = sori_runtime_default_params();
    rp.device = SORI_DEVICE_CPU;
    rp.n_threads = threads;
    sori_runtime *rt = NULL;
    sori_conformer *m = NULL;
    sori_error err = {0};
    if (sori_runtime_create(&rp, &rt, &err) != SORI_OK || sori_conformer_load(rt, argv[1], &m, &err) != SORI_OK) {
        fprintf(stderr, "bench_stream: %s\n", err.message);
        return 1;
    }
    sori_conformer_info in = sori_conformer_get_info(m);
    sori_conformer_stream_cfg sc = sori_conformer_get_stream_cfg(m);
    if (!sc.supported) {
        fprintf(stderr, "bench_stream: %s\n", sc.why);
        return 1;
    }
    const int F = in.feat_in, d = in.d_model;
    float *feats = malloc((size_t)frames * F * sizeof(float));
    FILE *f = fopen(argv[2], "rb");
    if (!f || fread(feats, sizeof(float), (size_t)(frames * F), f) != (size_t)(frames * F)) {
        fprintf(stderr, "bench_stream: cannot read %lld frames from %s\n", (long long)frames, argv[2]);
        return 1;
    }
    fclose(f);
    const int64_t n_steps = (frames + sc.chunk - 1) / sc.chunk, win = sc.pre_cache + sc.chunk;
    sori_conformer_cache **caches = calloc((size_t)batch, sizeof *caches);
    const float **in_ptr = calloc((size_t)batch, sizeof *in_ptr);
    float **out_ptr = calloc((size_t)batch, sizeof *out_ptr);
    int64_t *cnt = calloc((size_t)batch, sizeof *cnt), *got = calloc((size_t)batch, sizeof *got);
    float *x = calloc((size_t)(win * F), sizeof(float));
    float *out = malloc((size_t)(batch * win * d) * sizeof(float));
    float *keep = malloc((size_t)((n_steps + 1) * sc.out_per_chunk * d) * sizeof(float));
    double *t = malloc((size_t)(runs * n_steps) * sizeof(double));
    for (int b = 0; b < batch; b++)
        if (sori_conformer_cache_create(m, &caches[b], &err) != SORI_OK) {
            fprintf(stderr, "bench_stream: %s\n", err.message);
            return 1;
        }
    int64_t n_t = 0, kept = 0;
    for (int r = -1; r < runs; r++) {
        for (int b = 0; b < batch; b++)
            sori_conformer_cache_reset(caches[b], &err);
        kept = 0;
        for (int64_t k = 0; k < n_steps; k++) {
            int64_t begin = k * sc.chunk, len = begin + sc.chunk <= frames ? sc.chunk : frames - begin;
            memset(x, 0, (size_t)(win * F) * sizeof(float));
            for (int64_t i = 0; i < sc.pre_cache + len; i++) {
                int64_t src = begin - sc.pre_cache + i;
                if (src >= 0)
                    memcpy(x + i * F, feats + src * F, (size_t)F * sizeof(float));
            }
            for (int b = 0; b < batch; b++) {
                in_ptr[b] = x;
                cnt[b] = sc.pre_cache + len;
                out_ptr[b] = out + (int64_t)b * win * d;
            }
            double t0 = sori_now_seconds();
            if (sori_conformer_stream_step(m, batch, caches, in_ptr, cnt, sc.drop, out_ptr, NULL, got, &err) != SORI_OK) {
                fprintf(stderr, "bench_stream: %s\n", err.message);
                return 1;
            }
            double dt = sori_now_seconds() - t0;
            if (r >= 0 && len == sc.chunk) /* full steps only */
                t[n_t++] = dt;
            memcpy(keep + kept * d, out, (size_t)(got[0] * d) * sizeof(float));
            kept += got[0];
        }
    }
    double *sorted = malloc((size_t)(n_t > 0 ? n_t : 1) * sizeof(double));
    memcpy(sorted, t, (size_t)n_t * sizeof(double));
    qsort(sorted, (size_t)n_t, sizeof(double), cmp);
    if (argc > 7 && strcmp(argv[7], "-") != 0) {
        FILE *o = fopen(argv[7], "wb");
        fwrite(keep, sizeof(float), (size_t)(kept * d), o);
        fclose(o);
    }
    printf("%.6f %lld %zu\n", n_t ? sorted[n_t / 2] : 0.0, (long long)n_steps, sori_conformer_cache_bytes(m));
    printf("steps");
    for (int64_t i = 0; i < n_t; i++)
        printf(" %.6f", t[i]);
    printf("\n");
    for (int b = 0; b < batch; b++)
        sori_conformer_cache_free(caches[b]);
    sori_conformer_free(m);
    sori_runtime_free(rt);
    free(caches);
    free(in_ptr);
    free(out_ptr);
    free(cnt);
    free(got);
    free(x);
    free(out);
    free(keep);
    free(t);
    free(sorted);
    free(feats);
    return 0;
}
