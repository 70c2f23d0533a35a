/* Whisper streaming latency: how long after the end of speech the final
 * arrives. Each clip (followed by 2 s of silence) goes through a Whisper
 * stream in 100 ms packets, as a call would deliver it; decode_ready runs
 * whenever the stream is ready, as a live caller would. For every final:
 *   latency = (audio the endpoint rule waited after the speech ended: the
 *              packet that completed the endpoint minus the clip's end)
 *            + (wall time from that packet's arrival to the final's return).
 * Partials are decoded on the way (partial_ms 1000) and their cost is
 * counted where it delays a final. Prints p50/p95 over the clips, and the
 * split into the endpoint wait and the decoding.
 *
 *   bench_whisper_stream MODEL.gguf [--silero VAD.gguf] [--threads N] [--partial-ms MS] FILES...
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sori/asr.h"
#include "sori/audio.h"
#include "sori/vad.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(double *v, int n, double p)
{
    if (n == 0)
        return 0.0;
    qsort(v, (size_t)n, sizeof *v, cmp_d);
    int i = (int)(p * (n - 1) + 0.5);
    return v[i];
}

int main(int argc, char **argv)
{
    const char *model = NULL, *vad_path = NULL;
    int threads = 2, partial_ms = 1000, first = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--silero") && i + 1 < argc)
            vad_path = argv[++i];
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--partial-ms") && i + 1 < argc)
            partial_ms = atoi(argv[++i]);
        else if (!model)
            model = argv[i];
        else {
            first = i;
            break;
        }
    }
    if (!model || !first) {
        fprintf(stderr, "usage: bench_whisper_stream MODEL.gguf [--silero VAD.gguf] [--threads N] [--partial-ms MS] FILES...\n");
        return 2;
    }
    sori_runtime_params rp = sori_runtime_default_params();
    rp.device = SORI_DEVICE_CPU;
    rp.n_threads = threads;
    rp.pool_bytes = (size_t)1 << 30;
    sori_runtime *rt = NULL;
    sori_error err = {0};
    sori_asr_model *m = NULL;
    sori_silero_vad *vad = NULL;
    sori_asr_model_params mp = sori_asr_model_default_params();
    if (sori_runtime_create(&rp, &rt, &err) || sori_asr_model_load(rt, model, &mp, &m, &err) ||
        (vad_path && sori_silero_vad_load(vad_path, &vad, &err))) {
        fprintf(stderr, "bench_whisper_stream: %s\n", err.message);
        return 1;
    }
    const int n_files = argc - first;
    double *lat = calloc((size_t)n_files, sizeof(double)), *wait = calloc((size_t)n_files, sizeof(double));
    double *dec = calloc((size_t)n_files, sizeof(double));
    int n = 0, n_partials = 0;
    double audio_s = 0.0, wall_s = 0.0;
    for (int f = first; f < argc; f++) {
        sori_audio a = {0}, mono = {0}, x = {0};
        if (sori_audio_read_file(argv[f], &a, &err) || sori_audio_select_channel(&a, SORI_CHANNEL_MIX, &mono, &err) ||
            sori_audio_resample(&mono, 16000, &x, &err)) {
            fprintf(stderr, "%s: %s\n", argv[f], err.message);
            continue;
        }
        const int64_t speech_end = x.n_frames, total = x.n_frames + 32000;
        float *sig = calloc((size_t)total, sizeof(float));
        memcpy(sig, x.samples, (size_t)x.n_frames * sizeof(float));
        sori_asr_stream_params sp = sori_asr_stream_default_params();
        sp.silero = vad;
        sp.partial_ms = partial_ms;
        sori_asr_stream *s = NULL;
        if (sori_asr_stream_create(m, &sp, &s, &err)) {
            fprintf(stderr, "%s\n", err.message);
            return 1;
        }
        double t0 = now_s(), got_final = -1.0, arrive = 0.0;
        int64_t fed_at_final = 0;
        for (int64_t pos = 0; pos < total && got_final < 0; pos += 1600) {
            int64_t k = pos + 1600 <= total ? 1600 : total - pos;
            double t_arrive = now_s();
            sori_asr_stream_accept(s, sig + pos, k, 16000, &err);
            while (sori_asr_stream_is_ready(s)) {
                sori_asr_decode_ready(m, &s, 1, &err);
                sori_asr_result *r = NULL;
                if (sori_asr_stream_pop_final(s, &r, &err) == SORI_OK && r) {
                    if (got_final < 0 && pos + k >= speech_end) {
                        got_final = now_s();
                        arrive = t_arrive;
                        fed_at_final = pos + k;
                    }
                    sori_asr_result_free(r);
                } else {
                    n_partials++;
                }
            }
        }
        wall_s += now_s() - t0;
        audio_s += (double)total / 16000;
        if (got_final >= 0) {
            wait[n] = (double)(fed_at_final - speech_end) / 16000;
            dec[n] = got_final - arrive;
            lat[n] = wait[n] + dec[n];
            n++;
        } else {
            printf("%s: no final before the end of the trailing silence\n", argv[f]);
        }
        sori_asr_stream_free(s);
        free(sig);
        sori_audio_free(&a);
        sori_audio_free(&mono);
        sori_audio_free(&x);
    }
    printf("whisper streaming (%s VAD, partials every %d ms, %d threads): %d of %d clips finalized, %.1f s of audio "
           "in %.1f s (%d partial decodes)\n",
           vad ? "Silero" : "energy", partial_ms, threads, n, n_files, audio_s, wall_s, n_partials);
    printf("end of speech -> final: p50 %.2f s, p95 %.2f s (endpoint wait p50 %.2f s, p95 %.2f; decoding p50 %.2f s, "
           "p95 %.2f s)\n",
           pct(lat, n, 0.5), pct(lat, n, 0.95), pct(wait, n, 0.5), pct(wait, n, 0.95), pct(dec, n, 0.5),
           pct(dec, n, 0.95));
    free(lat);
    free(wait);
    free(dec);
    sori_asr_model_free(m);
    sori_silero_vad_free(vad);
    sori_runtime_free(rt);
    return 0;
}
