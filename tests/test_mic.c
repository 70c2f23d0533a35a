/* sori mic without a microphone: ALSA's "file" plugin made the default
 * capture device (an .asoundrc in a temporary HOME whose pcm.!default reads
 * its samples from a file), so PortAudio captures the bundled sample; the
 * finals `sori mic --seconds 7` prints are the streaming API's in-process
 * on the same 7 s (the clip, then the silence the plugin gives after it).
 * argv[1]: the sori binary. Skips (77) without the bundled model or when
 * PortAudio cannot open the device. */
#define _GNU_SOURCE
#include <math.h>
#include <string.h>
#include <sys/wait.h>

#include "check.h"
#include "sori/asr.h"
#include "sori/audio.h"

int main(int argc, char **argv)
{
    if (argc < 2)
        SKIP("usage: test_mic SORI_BINARY");
    char model[1024], lm[1024], wav[1024];
    snprintf(model, sizeof model, "%s/data/ko-fastconformer-ctc.gguf", SORI_SOURCE_DIR);
    snprintf(lm, sizeof lm, "%s/data/ko-tokens-4gram.gguf", SORI_SOURCE_DIR);
    snprintf(wav, sizeof wav, "%s/data/samples/ko_16k_statement.wav", SORI_SOURCE_DIR);
    if (access(model, R_OK) || access(lm, R_OK) || access(wav, R_OK))
        SKIP("the bundled model or sample is missing");
    char dir[] = "/tmp/sori_test_mic_XXXXXX";
    if (!mkdtemp(dir))
        SKIP("no temporary folder");
    sori_error err = {0};
    sori_audio a = {0};
    CHECK_STATUS(sori_audio_read_file(wav, &a, &err), SORI_OK);
    const int64_t total = 7 * 16000;
    int16_t *raw = calloc((size_t)a.n_frames, sizeof(int16_t));
    float *x = calloc((size_t)total, sizeof(float));
    for (int64_t i = 0; i < a.n_frames; i++) {
        float v = a.samples[i * a.n_channels] * 32768.0f;
        raw[i] = (int16_t)(v > 32767 ? 32767 : v < -32768 ? -32768 : lrintf(v));
        if (i < total)
            x[i] = (float)raw[i] / 32768.0f;
    }
    char clip[256], rc_path[256];
    snprintf(clip, sizeof clip, "%s/clip.raw", dir);
    snprintf(rc_path, sizeof rc_path, "%s/.asoundrc", dir);
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
    char ref[4096] = "";
    sori_asr_stream *s = NULL;
    sori_asr_stream_params sp = sori_asr_stream_default_params();
    CHECK_STATUS(sori_asr_stream_create(m, &sp, &s, &err), SORI_OK);
    for (int64_t pos = 0; s && pos < total; pos += 320) {
        sori_asr_stream_accept(s, x + pos, 320, 16000, &err);
        while (sori_asr_stream_is_ready(s))
            sori_asr_decode_ready(m, &s, 1, &err);
        sori_asr_result *r = NULL;
        while (sori_asr_stream_pop_final(s, &r, &err) == SORI_OK && r) {
            strcat(ref, r->text), strcat(ref, "\n");
            sori_asr_result_free(r);
        }
    }
    if (s) {
        sori_asr_stream_input_finished(s, &err);
        while (sori_asr_stream_is_ready(s))
            sori_asr_decode_ready(m, &s, 1, &err);
        sori_asr_result *r = NULL;
        while (sori_asr_stream_pop_final(s, &r, &err) == SORI_OK && r) {
            strcat(ref, r->text), strcat(ref, "\n");
            sori_asr_result_free(r);
        }
        if (sori_asr_stream_result(s, &r, &err) == SORI_OK && r->text[0])
            strcat(ref, r->text), strcat(ref, "\n");
        sori_asr_result_free(r);
    }
    sori_asr_stream_free(s);
    /* sori mic, HOME pointing at the .asoundrc */
    int pipefd[2];
    if (pipe(pipefd) != 0)
        SKIP("no pipe");
    pid_t pid = fork();
    if (pid == 0) {
        dup2(pipefd[1], 1);
        close(pipefd[0]);
        setenv("HOME", dir, 1);
        execl(argv[1], argv[1], "mic", "--model", model, "--seconds", "7", "--threads", "1", (char *)NULL);
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
    if (code == 1 && n == 0) {
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", dir);
        SKIP("sori mic could not capture from ALSA's file plugin here");
    }
    printf("sori mic (the bundled sample through ALSA's file plugin):\n%s", out);
    printf("the streaming API on the same 7 s:\n%s", ref);
    CHECK(code == 0, "sori mic exited %d", code);
    CHECK(ref[0] && !strcmp(out, ref), "sori mic's finals differ from the API's");
    sori_asr_model_free(m);
    sori_runtime_free(rt);
    sori_audio_free(&a);
    free(raw);
    free(x);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return check_finish("test_mic");
}
