/* Times sori's offline Conformer encoder + CTC head on features read from a
 * file: median of N runs after a warm-up, printed as seconds. Driven by
 * bench/bench_asr.py, which times onnxruntime on the same model and input.
 *   bench_asr MODEL.gguf FEATS.f32 N_FRAMES [RUNS] [THREADS] [LOGP_OUT] [BATCH]
 * With BATCH > 1 the same features are run as a batch of BATCH utterances.
 * Output: "median-seconds out-frames", then "runs T1 ... TN" (every run's
 * seconds, in the order they ran). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asr/conformer.h"
#include "sori/asr.h"
#include "kernels/opcheck.h"

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The median of n (<= 100) times; t keeps its order. */
static double median(const double *t, int n)
{
    double s[100];
    memcpy(s, t, (size_t)n * sizeof(double));
    qsort(s, (size_t)n, sizeof(double), cmp);
    return s[n / 2];
}

/* The last output line: every run's seconds, in the order they ran. */
static void print_runs(const double *t, int n)
{
    printf("runs");
    for (int i = 0; i < n; i++)
        printf(" %.6f", t[i]);
    printf("\n");
}

/* One utterance through the public API, offline (sori_asr_transcribe) or
 * through a stream (cache-aware where the model supports it) given all
 * samples at once and decoded step by step; the caller-owned result. */
static sori_status api_run(sori_asr_model *m, const float *x, int64_t n, int streaming, sori_asr_result **r,
                           sori_error *err)
{
    if (!streaming)
        return sori_asr_transcribe(m, x, n, 16000, r, err);
    sori_asr_stream_params sp = sori_asr_stream_default_params();
    sp.endpointing = false;
    sori_asr_stream *s = NULL;
    sori_status st = sori_asr_stream_create(m, &sp, &s, err);
    if (st == SORI_OK)
        st = sori_asr_stream_accept(s, x, n, 16000, err);
    if (st == SORI_OK)
        st = sori_asr_stream_input_finished(s, err);
    while (st == SORI_OK && sori_asr_stream_is_ready(s))
        st = sori_asr_decode_ready(m, &s, 1, err);
    if (st == SORI_OK)
        st = sori_asr_stream_result(s, r, err);
    sori_asr_stream_free(s);
    return st;
}

/* --audio | --stream MODEL.gguf AUDIO.f32 N_SAMPLES RUNS THREADS [BATCH]: the
 * whole of recognition (features, encoder, greedy decoding) on 16 kHz
 * samples, offline or streaming; offline with BATCH > 1, that many copies
 * in one sori_asr_transcribe_batch call; prints the median seconds and the
 * (first) text, then the "runs" line. */
static int bench_api(int argc, char **argv, int streaming)
{
    if (argc < 7)
        return 2;
    int64_t n = atoll(argv[4]);
    int runs = atoi(argv[5]), threads = atoi(argv[6]), batch = argc > 7 ? atoi(argv[7]) : 1;
    if (n < 1 || runs < 1 || runs > 100 || threads < 1 || batch < 1 || batch > 64 || (streaming && batch > 1))
        return 2;
    sori_runtime_params rp = sori_runtime_default_params();
    rp.device = SORI_DEVICE_CPU;
    rp.n_threads = threads;
    sori_runtime *rt = NULL;
    sori_asr_model *m = NULL;
    sori_error err = {0};
    sori_asr_model_params mp = sori_asr_model_default_params();
    if (sori_runtime_create(&rp, &rt, &err) != SORI_OK || sori_asr_model_load(rt, argv[2], &mp, &m, &err) != SORI_OK) {
        fprintf(stderr, "bench_asr: %s\n", err.message);
        return 1;
    }
    float *x = malloc((size_t)n * sizeof(float));
    FILE *f = fopen(argv[3], "rb");
    if (!f || fread(x, sizeof(float), (size_t)n, f) != (size_t)n) {
        fprintf(stderr, "bench_asr: cannot read %lld samples from %s\n", (long long)n, argv[3]);
        return 1;
    }
    fclose(f);
    double t[100];
    sori_asr_result *r = NULL;
    const float *xs[64];
    int64_t ns[64];
    sori_asr_result *rs[64] = {0};
    for (int b = 0; b < batch; b++)
        xs[b] = x, ns[b] = n;
    for (int i = -1; i < runs; i++) {
        sori_asr_result_free(r);
        r = NULL;
        for (int b = 1; b < batch; b++) {
            sori_asr_result_free(rs[b]);
            rs[b] = NULL;
        }
        double t0 = sori_now_seconds();
        sori_status st;
        if (batch > 1) {
            st = sori_asr_transcribe_batch(m, batch, xs, ns, 16000, rs, &err);
            r = rs[0];
        } else {
            st = api_run(m, x, n, streaming, &r, &err);
        }
        if (st != SORI_OK) {
            fprintf(stderr, "bench_asr: %s\n", err.message);
            return 1;
        }
        if (i >= 0)
            t[i] = sori_now_seconds() - t0;
    }
    for (int b = 1; b < batch; b++)
        sori_asr_result_free(rs[b]);
    printf("%.6f %s\n", median(t, runs), r->text);
    print_runs(t, runs);
    sori_asr_result_free(r);
    sori_asr_model_free(m);
    sori_runtime_free(rt);
    free(x);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && (strcmp(argv[1], "--audio") == 0 || strcmp(argv[1], "--stream") == 0))
        return bench_api(argc, argv, strcmp(argv[1], "--stream") == 0);
    if (argc < 4) {
        fprintf(stderr, "usage: bench_asr MODEL.gguf FEATS.f32 N_FRAMES [RUNS] [THREADS]\n");
        return 2;
    }
    int64_t frames = atoll(argv[3]);
    int runs = argc > 4 ? atoi(argv[4]) : 7, threads = argc > 5 ? atoi(argv[5]) : 2;
    if (frames < 1 || runs < 1 || runs > 100 || threads < 1)
        return 2;
    sori_runtime_params rp = sori_runtime_default_params();
    rp.device = SORI_DEVICE_CPU;
    rp.n_threads = threads;
    rp.pool_bytes = 1 << 16;
    sori_runtime *rt = NULL;
    sori_conformer *m = NULL;
    sori_error err = {0};
    if (sori_runtime_create(&rp, &rt, &err) != SORI_OK || sori_conformer_load(rt, argv[1], &m, &err) != SORI_OK) {
        fprintf(stderr, "bench_asr: %s\n", err.message);
        return 1;
    }
    sori_conformer_info in = sori_conformer_get_info(m);
    float *feats = malloc((size_t)frames * in.feat_in * sizeof(float));
    FILE *f = fopen(argv[2], "rb");
    if (!f || fread(feats, sizeof(float), (size_t)(frames * in.feat_in), f) != (size_t)(frames * in.feat_in)) {
        fprintf(stderr, "bench_asr: cannot read %lld frames from %s\n", (long long)frames, argv[2]);
        return 1;
    }
    fclose(f);
    int64_t T = sori_conformer_out_frames(m, frames);
    int batch = argc > 7 ? atoi(argv[7]) : 1;
    if (batch < 1 || batch > 64)
        return 2;
    float *lp = malloc((size_t)batch * T * (in.vocab_size + 1) * sizeof(float));
    const float *fb[64];
    int64_t nb[64];
    float *lpb[64];
    for (int b = 0; b < batch; b++) {
        fb[b] = feats;
        nb[b] = frames;
        lpb[b] = lp + (int64_t)b * T * (in.vocab_size + 1);
    }
    double t[100];
    for (int r = -1; r < runs; r++) {
        double t0 = sori_now_seconds();
        if (sori_conformer_forward_batch(m, batch, fb, nb, NULL, lpb, &err) != SORI_OK) {
            fprintf(stderr, "bench_asr: %s\n", err.message);
            return 1;
        }
        if (r >= 0)
            t[r] = sori_now_seconds() - t0;
    }
    if (argc > 6 && strcmp(argv[6], "-") != 0) { /* the log-probs for the driver's check */
        FILE *o = fopen(argv[6], "wb");
        fwrite(lp, sizeof(float), (size_t)(T * (in.vocab_size + 1)), o);
        fclose(o);
    }
    printf("%.6f %lld\n", median(t, runs), (long long)T);
    print_runs(t, runs);
    sori_conformer_free(m);
    sori_runtime_free(rt);
    free(feats);
    free(lp);
    return 0;
}
