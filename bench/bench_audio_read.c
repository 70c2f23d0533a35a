/* Reading audio files: sori_audio_read_file (libsndfile decoding plus the
 * container scans of the damaged-audio policy: Ogg pages and their CRCs,
 * MPEG frames, FLAC frame CRCs, declared lengths) against libsndfile alone
 * (sf_open + sf_readf_float into one buffer, no checks), on the same files
 * in one run: medians of --runs reads each, and the ratio (libsndfile's time
 * over sori's). The goal: the checks cost at most a third of the decoding
 * (ratio >= 0.75); either way reading is far below 1 % of what transcribing
 * the same audio takes. BENCH_KEEP=1 keeps the files.
 *
 *   bench_audio_read [--minutes M] [--runs N] [--dir DIR]
 *
 * Writes M minutes of a 16 kHz mono signal (speech-like: moving tones and
 * noise bursts) as WAV, FLAC, Ogg Opus, Ogg Vorbis and MP3 into DIR. */
#include <math.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sori/audio.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

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

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_d);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* libsndfile alone: the whole file into one buffer. */
static int64_t sndfile_read(const char *path)
{
    SF_INFO info;
    memset(&info, 0, sizeof info);
    SNDFILE *sf = sf_open(path, SFM_READ, &info);
    if (!sf)
        return -1;
    int64_t cap = 1 << 20, n = 0;
    float *x = malloc((size_t)cap * (size_t)info.channels * sizeof(float));
    for (;;) {
        if (n == cap) {
            cap *= 2;
            x = realloc(x, (size_t)cap * (size_t)info.channels * sizeof(float));
        }
        sf_count_t got = sf_readf_float(sf, x + n * info.channels, cap - n);
        if (got <= 0)
            break;
        n += got;
    }
    sf_close(sf);
    free(x);
    return n;
}

static int write_sf(const char *path, int format, const float *x, int64_t n, int rate)
{
    SF_INFO info = {.samplerate = rate, .channels = 1, .format = format};
    SNDFILE *sf = sf_open(path, SFM_WRITE, &info);
    if (!sf)
        return -1;
    int64_t w = 0; /* in pieces: libvorbis's encoder crashes on one write of minutes */
    for (int64_t pos = 0; pos < n; pos += 4096)
        w += sf_writef_float(sf, x + pos, n - pos < 4096 ? n - pos : 4096);
    sf_close(sf);
    return w == n ? 0 : -1;
}

int main(int argc, char **argv)
{
    double minutes = 10;
    int runs = 5;
    const char *dir = "/tmp";
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--minutes") == 0)
            minutes = atof(argv[i + 1]);
        else if (strcmp(argv[i], "--runs") == 0)
            runs = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--dir") == 0)
            dir = argv[i + 1];
    }
    if (!(minutes > 0) || runs < 1 || runs > 100) {
        fprintf(stderr, "usage: bench_audio_read [--minutes M] [--runs N] [--dir DIR]\n");
        return 2;
    }
    const int rate = 16000;
    const int64_t n = (int64_t)(minutes * 60 * rate);
    float *x = malloc((size_t)n * sizeof(float));
    uint32_t seed = 12345;
    for (int64_t i = 0; i < n; i++) {
        double t = (double)i / rate;
        seed = seed * 1664525u + 1013904223u;
        double noise = ((double)(seed >> 8) / 16777216.0 - 0.5) * (fmod(t, 1.3) < 0.2 ? 0.3 : 0.02);
        x[i] = (float)(0.3 * sin(2 * M_PI * (150 + 80 * sin(t)) * t) * (0.5 + 0.5 * sin(3 * t)) + noise);
    }
    struct {
        const char *name, *ext;
        int format; /* libsndfile's, or -1: sori's Opus writer */
    } fmts[] = {
        {"WAV 16-bit", "wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16},
        {"FLAC", "flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_16},
        {"Ogg Opus", "opus", -1},
        {"Ogg Vorbis", "ogg", SF_FORMAT_OGG | SF_FORMAT_VORBIS},
        {"MP3", "mp3", SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III},
    };
    printf("%.1f min of 16 kHz mono, median of %d reads each (load: see uptime)\n", minutes, runs);
    printf("%-12s %10s %14s %14s %8s\n", "format", "MB", "libsndfile ms", "sori ms", "ratio");
    for (size_t f = 0; f < sizeof fmts / sizeof fmts[0]; f++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/bench_audio_read.%s", dir, fmts[f].ext);
        int ok;
        if (fmts[f].format < 0) {
            sori_audio a = {x, n, 1, rate};
            ok = sori_audio_write_file(path, &a, SORI_ENC_OGG_OPUS, NULL) == SORI_OK;
        } else {
            ok = write_sf(path, fmts[f].format, x, n, rate) == 0;
        }
        if (!ok) {
            printf("%-12s cannot be written by this libsndfile: skipped\n", fmts[f].name);
            continue;
        }
        FILE *fp = fopen(path, "rb");
        fseek(fp, 0, SEEK_END);
        double mb = (double)ftell(fp) / 1e6;
        fclose(fp);
        double *ts = malloc((size_t)runs * sizeof *ts), *tr = malloc((size_t)runs * sizeof *tr);
        int64_t frames_sf = 0, frames_sori = 0;
        for (int r = 0; r < runs; r++) { /* alternate, so drift hits both */
            double t0 = now_s();
            frames_sf = sndfile_read(path);
            ts[r] = now_s() - t0;
            sori_audio a = {0};
            sori_error err = {0};
            t0 = now_s();
            if (sori_audio_read_file(path, &a, &err) != SORI_OK)
                printf("  sori: %s\n", err.message);
            tr[r] = now_s() - t0;
            frames_sori = a.n_frames;
            sori_audio_free(&a);
        }
        double ms_sf = 1e3 * median(ts, runs), ms_sori = 1e3 * median(tr, runs);
        printf("%-12s %10.1f %14.1f %14.1f %8.2f%s\n", fmts[f].name, mb, ms_sf, ms_sori, ms_sf / ms_sori,
               frames_sf == frames_sori ? "" : "  (frame counts differ)");
        free(ts);
        free(tr);
        if (!getenv("BENCH_KEEP")) remove(path);
    }
    free(x);
    return 0;
}
