/* Silero VAD speed: SECONDS of a deterministic speech-like signal through
 * sori's native Silero VAD window by window, one thread. Prints "median-ms
 * windows sum-of-probabilities" (the sum over all runs), then "runs T1 ...
 * TN" (every run's ms, in the order they ran); OUT receives the first run's
 * speech probability of every window (float32). Driven by
 * bench/bench_silero_vad.py, which times onnxruntime on the same audio and
 * windows in the same run.
 *   bench_silero_vad MODEL RATE SECONDS RUNS [OUT.f32] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sori/audio.h"
#include "sori/vad.h"

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    if (argc != 5 && argc != 6) {
        fprintf(stderr, "usage: bench_silero_vad MODEL RATE SECONDS RUNS [OUT.f32]\n");
        return 2;
    }
    int rate = atoi(argv[2]), runs = atoi(argv[4]);
    double seconds = atof(argv[3]);
    sori_error err = {0};
    sori_silero_vad *m = NULL;
    sori_silero_vad_state *s = NULL;
    if (sori_silero_vad_load(argv[1], &m, &err) != SORI_OK ||
        sori_silero_vad_state_create(m, rate, &s, &err) != SORI_OK || runs < 1 || runs > 100) {
        fprintf(stderr, "bench_silero_vad: %s\n", err.message[0] ? err.message : "bad arguments");
        return 1;
    }
    const int W = sori_silero_vad_window(m, rate);
    const int64_t n = (int64_t)(seconds * rate) / W * W;
    float *x = malloc((size_t)n * sizeof(float));
    for (int64_t i = 0; i < n; i++) /* a deterministic speech-like signal */
        x[i] = (float)(0.3 * ((i * 7919 % 1000) / 1000.0 - 0.5) * ((i / (rate / 4)) % 2));
    double *t = malloc((size_t)runs * sizeof *t), *sorted = malloc((size_t)runs * sizeof *sorted), sum = 0;
    float *prob = malloc((size_t)(n / W + 1) * sizeof *prob);
    for (int r = 0; r < runs; r++) {
        sori_silero_vad_state_reset(s);
        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        for (int64_t i = 0; i < n; i += W) {
            float p;
            sori_silero_vad_process(s, x + i, W, &p, NULL);
            sum += p;
            if (r == 0)
                prob[i / W] = p;
        }
        clock_gettime(CLOCK_MONOTONIC, &b);
        t[r] = (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6;
    }
    if (argc == 6) { /* the probabilities, for the driver's check against the peer's */
        FILE *o = fopen(argv[5], "wb");
        if (!o || fwrite(prob, sizeof *prob, (size_t)(n / W), o) != (size_t)(n / W)) {
            fprintf(stderr, "bench_silero_vad: cannot write %s\n", argv[5]);
            return 1;
        }
        fclose(o);
    }
    memcpy(sorted, t, (size_t)runs * sizeof *t);
    qsort(sorted, (size_t)runs, sizeof *sorted, cmp_d);
    printf("%.3f %lld %.6f\n", sorted[runs / 2], (long long)(n / W), sum);
    printf("runs");
    for (int r = 0; r < runs; r++)
        printf(" %.3f", t[r]);
    printf("\n");
    free(t);
    free(sorted);
    free(prob);
    free(x);
    sori_silero_vad_state_free(s);
    sori_silero_vad_free(m);
    return 0;
}
