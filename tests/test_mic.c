/* sori mic without a microphone: ALSA's "file" plugin made the default
 * capture device (an .asoundrc in a temporary HOME whose pcm.!default reads
 * its samples from a file), so PortAudio captures a clip; the finals
 * `sori mic --seconds S` prints must be the streaming API's in-process on
 * the same S seconds (the clip, then the silence the plugin gives after it).
 * Two cases: the bundled Conformer on the bundled synthetic sample, and
 * (argv[3] "whisper": ctest's test_mic_whisper, slow) Whisper base, when
 * tools/setup.sh made it, on a bundled real recording (data/samples/real,
 * Zeroth-Korean, CC BY), whose finals must also be within 25 % CER of the
 * clip's transcript.
 * argv[1]: the sori binary, argv[2]: cer_check. Skips (77) without the
 * model or when PortAudio cannot open the device. */
#define _GNU_SOURCE
#include <math.h>
#include <stdbool.h>
#include <string.h>
#include <sys/wait.h>

#include "check.h"
#include "sori/asr.h"
#include "sori/audio.h"

/* The finals of the streaming API on x (one per line), fed 20 ms at a time as sori mic does. */
static void api_finals(sori_asr_model *m, const float *x, int64_t total, char *ref, size_t cap)
{
    sori_error err = {0};
    sori_asr_stream *s = NULL;
    sori_asr_stream_params sp = sori_asr_stream_default_params();
    ref[0] = '\0';
    CHECK_STATUS(sori_asr_stream_create(m, &sp, &s, &err), SORI_OK);
    /* 20 ms packets, then the end of input; after each, the ready chunks decoded and the finals kept */
    for (int64_t pos = 0; s && pos <= total; pos += 320) {
        if (pos < total)
            sori_asr_stream_accept(s, x + pos, 320, 16000, &err);
        else
            sori_asr_stream_input_finished(s, &err);
        while (sori_asr_stream_is_ready(s))
            sori_asr_decode_ready(m, &s, 1, &err);
        sori_asr_result *r = NULL;
        while (sori_asr_stream_pop_final(s, &r, &err) == SORI_OK && r) {
            if (strlen(ref) + strlen(r->text) + 2 < cap)
                strcat(ref, r->text), strcat(ref, "\n");
            sori_asr_result_free(r);
        }
    }
    sori_asr_result *r = NULL;
    if (s && sori_asr_stream_result(s, &r, &err) == SORI_OK && r->text[0] && strlen(ref) + strlen(r->text) + 2 < cap)
        strcat(ref, r->text), strcat(ref, "\n");
    sori_asr_result_free(r);
    sori_asr_stream_free(s);
}

/* One case: the clip through ALSA's file plugin into `sori mic --model model --seconds seconds`,
 * against the API. 0 when sori mic could not capture here (the caller skips), else 1. With
 * `text`, the finals must also be within 25 % CER of it (cer_check). */
static int mic_case(const char *sori, const char *cer_check, const char *dir, const char *model, const char *lm,
                    const char *clip_path, int seconds, const char *label, const char *text)
{
    sori_error err = {0};
    sori_audio a = {0};
    CHECK_STATUS(sori_audio_read_file(clip_path, &a, &err), SORI_OK);
    if (a.n_frames == 0 || a.sample_rate_hz != 16000)
        return 1;
    const int64_t total = (int64_t)seconds * 16000;
    int16_t *raw = calloc((size_t)a.n_frames, sizeof(int16_t));
    float *x = calloc((size_t)total, sizeof(float));
    for (int64_t i = 0; i < a.n_frames; i++) {
        float v = a.samples[i * a.n_channels] * 32768.0f;
        raw[i] = (int16_t)(v > 32767 ? 32767 : v < -32768 ? -32768 : lrintf(v));
        if (i < total)
            x[i] = (float)raw[i] / 32768.0f;
    }
    char clip[256], rc_path[256], secs[16];
    snprintf(clip, sizeof clip, "%s/clip.raw", dir);
    snprintf(rc_path, sizeof rc_path, "%s/.asoundrc", dir);
    snprintf(secs, sizeof secs, "%d", seconds);
    FILE *f = fopen(clip, "wb");
    fwrite(raw, sizeof(int16_t), (size_t)a.n_frames, f);
    fclose(f);
    f = fopen(rc_path, "w");
    fprintf(f, "pcm.!default {\n  type file\n  slave.pcm \"null\"\n  file \"/dev/null\"\n  infile \"%s\"\n"
               "  format \"raw\"\n}\n", clip);
    fclose(f);
    /* the reference */
    sori_runtime_params rp = sori_runtime_default_params();
    rp.device = SORI_DEVICE_CPU;
    rp.n_threads = 1;
    sori_runtime *rt = NULL;
    sori_asr_model *m = NULL;
    sori_asr_model_params mp = sori_asr_model_default_params();
    mp.lm_path = lm;
    CHECK_STATUS(sori_runtime_create(&rp, &rt, &err), SORI_OK);
    CHECK_STATUS(sori_asr_model_load(rt, model, &mp, &m, &err), SORI_OK);
    static char ref[8192];
    if (m)
        api_finals(m, x, total, ref, sizeof ref);
    /* sori mic, HOME pointing at the .asoundrc */
    int pipefd[2];
    if (pipe(pipefd) != 0)
        return 0;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(pipefd[1], 1);
        close(pipefd[0]);
        setenv("HOME", dir, 1);
        execl(sori, sori, "mic", "--model", model, "--seconds", secs, "--threads", "1", (char *)NULL);
        _exit(127);
    }
    close(pipefd[1]);
    char out[8192] = "";
    size_t n = 0;
    ssize_t r;
    while ((r = read(pipefd[0], out + n, sizeof out - 1 - n)) > 0)
        n += (size_t)r;
    out[n] = '\0';
    close(pipefd[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    int ran = !(code == 1 && n == 0);
    if (ran) {
        printf("sori mic, %s:\n%s", label, out);
        printf("the streaming API on the same %d s:\n%s", seconds, ref);
        CHECK(code == 0, "%s: sori mic exited %d", label, code);
        CHECK(ref[0] && !strcmp(out, ref), "%s: sori mic's finals differ from the API's", label);
        if (text) {
            char cmd[1200], *nl;
            snprintf(cmd, sizeof cmd, "'%s' --max-cer 0.25 --min-exact 0", cer_check);
            while ((nl = strchr(out, '\n')) && nl[1])
                *nl = ' ';
            if ((nl = strchr(out, '\n')))
                *nl = '\0';
            FILE *c = popen(cmd, "w");
            if (c)
                fprintf(c, "%s\t%s\n", text, out);
            int rc = c ? pclose(c) : -1;
            CHECK(rc == 0, "%s: sori mic's text is over 25 %% CER of the transcript (cer_check exit %d)", label, rc);
        }
    }
    sori_asr_model_free(m);
    sori_runtime_free(rt);
    sori_audio_free(&a);
    free(raw);
    free(x);
    return ran;
}

int main(int argc, char **argv)
{
    if (argc < 3)
        SKIP("usage: test_mic SORI_BINARY CER_CHECK");
    char model[1024], lm[1024], wav[1024], whisper[1024], real[1024];
    snprintf(model, sizeof model, "%s/data/ko-fastconformer-ctc.gguf", SORI_SOURCE_DIR);
    snprintf(lm, sizeof lm, "%s/data/ko-tokens-4gram.gguf", SORI_SOURCE_DIR);
    snprintf(wav, sizeof wav, "%s/data/samples/ko_16k_statement.wav", SORI_SOURCE_DIR);
    snprintf(whisper, sizeof whisper, "%s/data/whisper-base-f16.gguf", SORI_SOURCE_DIR);
    snprintf(real, sizeof real, "%s/data/samples/real/104_003_0294.flac", SORI_SOURCE_DIR);
    if (access(model, R_OK) || access(lm, R_OK) || access(wav, R_OK))
        SKIP("the bundled model or sample is missing");
    char dir[] = "/tmp/sori_test_mic_XXXXXX";
    if (!mkdtemp(dir))
        SKIP("no temporary folder");
    /* argv[3] "whisper": the real-recording case alone (ctest's test_mic_whisper, labelled slow) */
    const bool whisper_case = argc > 3 && !strcmp(argv[3], "whisper");
    if (whisper_case && (access(whisper, R_OK) || access(real, R_OK))) {
        rmdir(dir);
        SKIP("Whisper base is absent (tools/setup.sh makes it)");
    }
    int ran = whisper_case ? 1
                           : mic_case(argv[1], argv[2], dir, model, lm, wav, 7,
                                      "the Conformer, the bundled synthetic sample", NULL);
    /* the real clip's transcript, from the samples' list */
    char tsv[1024], line[2048], text[2048] = "";
    snprintf(tsv, sizeof tsv, "%s/data/samples/real/samples.tsv", SORI_SOURCE_DIR);
    FILE *tf = fopen(tsv, "r");
    while (tf && fgets(line, sizeof line, tf))
        if (!strncmp(line, "104_003_0294.flac\t", 18)) {
            char *t = line + 18, *tab = strchr(t, '\t');
            if (tab)
                *tab = '\0';
            snprintf(text, sizeof text, "%s", t);
        }
    if (tf)
        fclose(tf);
    if (whisper_case) {
        CHECK(text[0], "no transcript of 104_003_0294.flac in %s", tsv);
        ran = mic_case(argv[1], argv[2], dir, whisper, NULL, real, 9, "Whisper base, a real recording (6.9 s)", text);
    }
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    if (!ran)
        SKIP("sori mic could not capture from ALSA's file plugin here");
    return check_finish("test_mic");
}
