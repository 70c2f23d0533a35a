/* Times sori's Kaldi fbank on a raw float32 signal (16 kHz, [-1, 1]):
 * one thread, median of N runs after a warm-up, printed as seconds.
 *   bench_features SIGNAL.f32 [RUNS] [MEL_BINS] [OUT.f32]
 * Prints "median-seconds frames checksum", then "runs T1 ... TN" (every
 * run's seconds, in the order they ran); OUT receives the features (frames
 * x MEL_BINS float32). Driven by bench/bench_features.py, which times
 * kaldi-native-fbank on the same signal in the same run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/opcheck.h"
#include "sori/features.h"

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_features SIGNAL.f32 [RUNS] [MEL_BINS] [OUT.f32]\n");
        return 2;
    }
    int runs = argc > 2 ? atoi(argv[2]) : 5, mels = argc > 3 ? atoi(argv[3]) : 80;
    if (runs < 1 || runs > 100 || mels < 1)
        return 2;
    FILE *f = fopen(argv[1], "rb");
    if (!f) {
        perror(argv[1]);
        return 1;
    }
    fseek(f, 0, SEEK_END);
    long bytes = ftell(f);
    fseek(f, 0, SEEK_SET);
    int64_t n = bytes / 4;
    float *x = malloc((size_t)bytes);
    if (!x || fread(x, 4, (size_t)n, f) != (size_t)n) {
        fprintf(stderr, "bench_features: cannot read %s\n", argv[1]);
        return 1;
    }
    fclose(f);
    sori_feature_params p = sori_feature_default_params(SORI_FEAT_KALDI);
    p.n_mels = mels;
    sori_features *fx = NULL;
    sori_error err = {0};
    if (sori_features_create(&p, &fx, &err) != SORI_OK) {
        fprintf(stderr, "bench_features: %s\n", err.message);
        return 1;
    }
    int64_t frames = sori_features_num_frames(fx, n), got = 0;
    float *out = malloc((size_t)frames * mels * sizeof(float));
    double t[100];
    for (int r = -1; r < runs; r++) {
        double t0 = sori_now_seconds();
        if (sori_features_compute(fx, x, n, out, frames, &got, &err) != SORI_OK) {
            fprintf(stderr, "bench_features: %s\n", err.message);
            return 1;
        }
        if (r >= 0)
            t[r] = sori_now_seconds() - t0;
    }
    double sorted[100];
    memcpy(sorted, t, (size_t)runs * sizeof(double));
    qsort(sorted, (size_t)runs, sizeof(double), cmp);
    double checksum = 0;
    for (int64_t i = 0; i < got * mels; i += 997)
        checksum += out[i];
    if (argc > 4) { /* the features, for the driver's check against the peer's */
        FILE *o = fopen(argv[4], "wb");
        if (!o || fwrite(out, sizeof(float), (size_t)(got * mels), o) != (size_t)(got * mels)) {
            fprintf(stderr, "bench_features: cannot write %s\n", argv[4]);
            return 1;
        }
        fclose(o);
    }
    printf("%.6f %lld %.6f\n", sorted[runs / 2], (long long)got, checksum);
    printf("runs");
    for (int r = 0; r < runs; r++)
        printf(" %.6f", t[r]);
    printf("\n");
    free(out);
    free(x);
    sori_features_free(fx);
    return 0;
}
