/* Peak resident memory of `sori transcribe` with the bundled Conformer and
 * its LM (issue 20's goals, measured as /usr/bin/time -v does: the child's
 * ru_maxrss from wait4):
 *   - a 3 s file: at most 60 MB;
 *   - a 10-minute file: at most 120 MB, and not much above the 3 s file's
 *     (memory must not grow with the recording's length).
 * The 10-minute file is the bundled real clips (data/samples/real, CC BY)
 * and samples joined with 0.3 s pauses, over and over. The transcripts are
 * checked to be there (not empty), so a run that read nothing cannot pass.
 * Skipped (77) under the sanitizers (their shadow memory is the RSS) and
 * without the bundled files.
 *
 *   test_rss SORI_BINARY DATA_DIR */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "sori/audio.h"

enum { RATE = 16000 };

static int write_wav16(const char *path, const float *x, int64_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    const uint32_t data = (uint32_t)(n * 2), riff = 36 + data, fmt_len = 16, rate = RATE, byte_rate = RATE * 2;
    const uint16_t pcm = 1, ch = 1, align = 2, bits = 16;
    fwrite("RIFF", 1, 4, f), fwrite(&riff, 4, 1, f), fwrite("WAVEfmt ", 1, 8, f), fwrite(&fmt_len, 4, 1, f);
    fwrite(&pcm, 2, 1, f), fwrite(&ch, 2, 1, f), fwrite(&rate, 4, 1, f), fwrite(&byte_rate, 4, 1, f);
    fwrite(&align, 2, 1, f), fwrite(&bits, 2, 1, f), fwrite("data", 1, 4, f), fwrite(&data, 4, 1, f);
    for (int64_t i = 0; i < n; i++) {
        float v = x[i] * 32767.0f;
        int16_t s = (int16_t)(v > 32767.0f ? 32767 : v < -32768.0f ? -32768 : v);
        fwrite(&s, 2, 1, f);
    }
    return fclose(f);
}

/* One file at 16 kHz mono, or 0 samples. */
static float *read16k(const char *path, int64_t *n)
{
    sori_audio a = {0}, mono = {0}, r = {0};
    sori_error err = {0};
    float *x = NULL;
    *n = 0;
    if (sori_audio_read_file(path, &a, &err) == SORI_OK &&
        sori_audio_select_channel(&a, SORI_CHANNEL_MIX, &mono, &err) == SORI_OK &&
        sori_audio_resample(&mono, RATE, &r, &err) == SORI_OK) {
        x = r.samples;
        *n = r.n_frames;
        r.samples = NULL;
    } else {
        fprintf(stderr, "test_rss: %s\n", err.message);
    }
    sori_audio_free(&a);
    sori_audio_free(&mono);
    sori_audio_free(&r);
    return x;
}

/* Runs sori transcribe on wav; its peak RSS in MB (-1 on failure) and
 * whether it printed some text. */
static double run_transcribe(const char *sori, const char *data_dir, const char *wav, int *got_text)
{
    char model[1024], lm[1024], out[] = "/tmp/sori_rss_out_XXXXXX";
    snprintf(model, sizeof model, "%s/ko-fastconformer-ctc.gguf", data_dir);
    snprintf(lm, sizeof lm, "%s/ko-tokens-4gram.gguf", data_dir);
    int fd = mkstemp(out);
    if (fd < 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fd, 1);
        execl(sori, sori, "transcribe", "--model", model, "--lm", lm, wav, (char *)NULL);
        _exit(127);
    }
    close(fd);
    int status = 0;
    struct rusage ru;
    if (pid < 0 || wait4(pid, &status, 0, &ru) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "test_rss: sori transcribe %s failed (status %d)\n", wav, status);
        unlink(out);
        return -1;
    }
    FILE *f = fopen(out, "rb");
    char buf[256] = {0};
    size_t len = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f)
        fclose(f);
    unlink(out);
    *got_text = len > 3;
    return ru.ru_maxrss / 1024.0; /* kB */
}

int main(int argc, char **argv)
{
#ifdef SORI_TEST_UNDER_SANITIZER
    (void)argc, (void)argv;
    printf("test_rss: skipped under a sanitizer (its shadow memory is in the RSS)\n");
    return 77;
#else
    if (argc < 3) {
        fprintf(stderr, "usage: test_rss SORI DATA_DIR\n");
        return 2;
    }
    const char *sori = argv[1], *data = argv[2];
    char path[1400];
    snprintf(path, sizeof path, "%s/ko-tokens-4gram.gguf", data);
    if (access(path, R_OK) != 0) {
        printf("test_rss: skipped: no %s\n", path);
        return 77;
    }
    /* the clips: bundled samples first, then the real ones */
    int64_t cap = (int64_t)RATE * 660, n = 0;
    float *all = calloc((size_t)cap, sizeof(float));
    const char *dirs[2] = {"samples", "samples/real"};
    int64_t stmt_n = 0;
    float *stmt = NULL;
    for (int d = 0; d < 2 && all; d++) {
        char dir[1024];
        snprintf(dir, sizeof dir, "%s/%s", data, dirs[d]);
        struct dirent **names = NULL;
        int k = scandir(dir, &names, NULL, alphasort);
        for (int i = 0; i < k; i++) {
            const char *e = strrchr(names[i]->d_name, '.');
            if (e && (!strcmp(e, ".wav") || !strcmp(e, ".flac")) && n < cap / 2) {
                snprintf(path, sizeof path, "%s/%s", dir, names[i]->d_name);
                int64_t m = 0;
                float *x = read16k(path, &m);
                if (x && n + m + RATE < cap / 2) {
                    memcpy(all + n, x, (size_t)m * sizeof(float));
                    n += m + RATE * 3 / 10;
                }
                if (x && strstr(names[i]->d_name, "statement") && !stmt) {
                    stmt = x;
                    stmt_n = m;
                } else {
                    free(x);
                }
            }
            free(names[i]);
        }
        free(names);
    }
    CHECK(all && n > RATE * 10 && stmt && stmt_n >= 3 * RATE, "test_rss: the bundled clips could not be read");
    if (!all || n <= RATE * 10 || !stmt || stmt_n < 3 * RATE)
        return check_finish("test_rss");
    const int64_t ten_min = (int64_t)RATE * 600;
    for (int64_t i = n; i < ten_min; i++) /* the clips over and over */
        all[i] = all[i % n];

    char dir[] = "/tmp/sori_rss_XXXXXX", short_wav[64], long_wav[64];
    CHECK(mkdtemp(dir) != NULL, "test_rss: no temporary directory");
    snprintf(short_wav, sizeof short_wav, "%s/3s.wav", dir);
    snprintf(long_wav, sizeof long_wav, "%s/10min.wav", dir);
    CHECK(write_wav16(short_wav, stmt, 3 * RATE) == 0 && write_wav16(long_wav, all, ten_min) == 0,
          "test_rss: cannot write the inputs");
    int text3 = 0, text600 = 0;
    double rss3 = run_transcribe(sori, data, short_wav, &text3);
    double rss600 = run_transcribe(sori, data, long_wav, &text600);
    printf("test_rss: sori transcribe (bundled Conformer + LM): 3 s file %.1f MB peak RSS (bound 60), "
           "10 min %.1f MB (bound 120)\n", rss3, rss600);
    CHECK(rss3 > 0 && text3, "3 s file: transcription failed or empty");
    CHECK(rss600 > 0 && text600, "10 min file: transcription failed or empty");
    CHECK(rss3 <= 60.0, "3 s file: peak RSS %.1f MB > 60 MB", rss3);
    CHECK(rss600 <= 120.0, "10 min file: peak RSS %.1f MB > 120 MB", rss600);
    unlink(short_wav);
    unlink(long_wav);
    rmdir(dir);
    free(all);
    free(stmt);
    return check_finish("test_rss");
#endif
}
