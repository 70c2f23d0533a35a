/* Offline transcription of a file through a reader with the bundled
 * cache-aware Conformer (sori_asr_transcribe_reader reads it a second at a
 * time through one stream without endpoints, so memory does not grow with
 * the file): the same text and words as sori_asr_transcribe given all the
 * samples at once (which steps a stream too; test_stream holds that to the
 * offline forward and NeMo), greedy and with the bundled LM's beam search,
 * on the three bundled samples and on 61 s of them one after another (also
 * at 8 kHz as μ-law stored in a WAV, resampled on the way by the reader, at
 * once by the API). Skips (77) without the bundled model. */
#define _GNU_SOURCE
#include <math.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "sori/asr.h"
#include "sori/audio.h"

static void compare(sori_asr_model *m, const char *path, const char *what)
{
    sori_error err = {0};
    sori_audio a = {0}, mono = {0};
    sori_asr_result *whole = NULL, *read = NULL;
    sori_audio_reader *r = NULL;
    CHECK_STATUS(sori_audio_read_file(path, &a, &err), SORI_OK);
    CHECK_STATUS(sori_audio_select_channel(&a, 0, &mono, &err), SORI_OK);
    CHECK_STATUS(sori_asr_transcribe(m, mono.samples, mono.n_frames, mono.sample_rate_hz, &whole, &err), SORI_OK);
    CHECK_STATUS(sori_audio_reader_open(path, NULL, 0, 0, &r, NULL, &err), SORI_OK);
    if (r)
        CHECK_STATUS(sori_asr_transcribe_reader(m, r, &read, &err), SORI_OK);
    if (whole && read) {
        printf("  %-40s %.1f s: %s\n", what, whole->duration_s, read->text);
        CHECK(!strcmp(whole->text, read->text), "%s: read '%s', whole '%s'", what, read->text, whole->text);
        CHECK(whole->n_words == read->n_words, "%s: %d words read, %d whole", what, read->n_words, whole->n_words);
        double worst = 0;
        for (int w = 0; w < whole->n_words && w < read->n_words; w++) {
            worst = fmax(worst, fabs(whole->words[w].start_s - read->words[w].start_s));
            worst = fmax(worst, fabs(whole->words[w].end_s - read->words[w].end_s));
        }
        CHECK(worst <= 0.081, "%s: word times differ by %.3f s", what, worst);
        CHECK(fabs(whole->duration_s - read->duration_s) < 1e-3 && read->is_final, "%s: duration %.3f vs %.3f",
              what, read->duration_s, whole->duration_s);
    }
    sori_asr_result_free(whole);
    sori_asr_result_free(read);
    sori_audio_reader_close(r);
    sori_audio_free(&a);
    sori_audio_free(&mono);
}

int main(void)
{
    char model[1024], lm[1024], samples[3][1024];
    const char *names[3] = {"ko_16k_statement.wav", "ko_16k_question.wav", "ko_8k_ulaw_call.wav"};
    snprintf(model, sizeof model, "%s/data/ko-fastconformer-ctc.gguf", SORI_SOURCE_DIR);
    snprintf(lm, sizeof lm, "%s/data/ko-tokens-4gram.gguf", SORI_SOURCE_DIR);
    for (int i = 0; i < 3; i++)
        snprintf(samples[i], sizeof samples[i], "%s/data/samples/%s", SORI_SOURCE_DIR, names[i]);
    if (access(model, R_OK) || access(lm, R_OK) || access(samples[0], R_OK))
        SKIP("the bundled model or samples are missing");
    char dir[] = "/tmp/sori_test_asr_reader_XXXXXX";
    if (!mkdtemp(dir))
        SKIP("no temporary folder");
    sori_error err = {0};
    /* 61 s: the 16 kHz samples one after another, with 0.4 s of silence between */
    sori_audio parts[2] = {{0}, {0}}, longa = {0};
    CHECK_STATUS(sori_audio_read_file(samples[0], &parts[0], &err), SORI_OK);
    CHECK_STATUS(sori_audio_read_file(samples[1], &parts[1], &err), SORI_OK);
    const int64_t gap = 6400, n = 61 * 16000;
    longa.sample_rate_hz = 16000;
    longa.n_channels = 1;
    longa.n_frames = n;
    longa.samples = calloc((size_t)n, sizeof(float));
    for (int64_t pos = 0, k = 0; longa.samples && pos < n; k++) {
        const sori_audio *p = &parts[k % 2];
        int64_t len = p->n_frames < n - pos ? p->n_frames : n - pos;
        for (int64_t i = 0; i < len; i++)
            longa.samples[pos + i] = p->samples[i * p->n_channels];
        pos += len + gap;
    }
    char long16[256], long8[256];
    snprintf(long16, sizeof long16, "%s/long16.wav", dir);
    snprintf(long8, sizeof long8, "%s/long8.wav", dir);
    CHECK_STATUS(sori_audio_write_file(long16, &longa, SORI_ENC_WAV_PCM16, &err), SORI_OK);
    sori_audio l8 = {0};
    CHECK_STATUS(sori_audio_resample(&longa, 8000, &l8, &err), SORI_OK);
    CHECK_STATUS(sori_audio_write_file(long8, &l8, SORI_ENC_WAV_MULAW, &err), SORI_OK);

    sori_runtime_params rp = sori_runtime_default_params();
    rp.device = SORI_DEVICE_CPU;
    rp.n_threads = 1;
    sori_runtime *rt = NULL;
    CHECK_STATUS(sori_runtime_create(&rp, &rt, &err), SORI_OK);
    for (int with_lm = 0; with_lm < 2 && rt; with_lm++) {
        sori_asr_model_params mp = sori_asr_model_default_params();
        mp.lm_path = with_lm ? lm : NULL;
        sori_asr_model *m = NULL;
        CHECK_STATUS(sori_asr_model_load(rt, model, &mp, &m, &err), SORI_OK);
        if (!m)
            break;
        printf("%s:\n", with_lm ? "beam search with the bundled LM" : "greedy");
        for (int i = 0; i < 3; i++)
            compare(m, samples[i], names[i]);
        compare(m, long16, "61 s of the samples, 16 kHz PCM16");
        compare(m, long8, "the same, 8 kHz mu-law");
        sori_asr_model_free(m);
    }
    sori_runtime_free(rt);
    sori_audio_free(&parts[0]);
    sori_audio_free(&parts[1]);
    sori_audio_free(&l8);
    free(longa.samples);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return check_finish("test_asr_reader");
}
