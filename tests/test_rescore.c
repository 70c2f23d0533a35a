/* N-best rescoring by a transformer LM (the tiny llama LM of the test_lm
 * fixtures, whose byte-level vocabulary scores any text one token a byte):
 * - the CTC beam search (the bundled Conformer on its bundled clips):
 *   weight 0 and bonus 0 choose what the search chose without rescoring;
 *   a large bonus per LM token chooses the longest of the N-best, a large
 *   penalty the shortest: the plain result's length lies between them and
 *   the two differ (the N-best holds hypotheses of several lengths);
 * - (Whisper's beam: test_rescore_whisper.c)
 * - bad rescoring parameters are refused. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "sori/asr.h"
#include "sori/audio.h"
#include "sori/lm.h"

static char *transcribe(sori_runtime *rt, const sori_lm *lm, float weight, float bonus, const sori_audio *a)
{
    sori_asr_model_params mp = sori_asr_model_default_params();
    mp.decoder = SORI_ASR_DECODER_CTC;
    mp.beam = 8;
    mp.rescore_lm = lm;
    mp.nbest = lm ? 8 : 0;
    mp.rescore_weight = weight;
    mp.rescore_bonus = bonus;
    sori_asr_model *m = NULL;
    sori_asr_result *r = NULL;
    sori_error err = {0};
    char *text = NULL;
    CHECK_STATUS(sori_asr_model_load(rt, SORI_SOURCE_DIR "/data/ko-fastconformer-ctc.gguf", &mp, &m, &err), SORI_OK);
    if (m)
        CHECK_STATUS(sori_asr_transcribe(m, a->samples, a->n_frames, a->sample_rate_hz, &r, &err), SORI_OK);
    if (r)
        text = strdup(r->text ? r->text : "");
    sori_asr_result_free(r);
    sori_asr_model_free(m);
    return text;
}

int main(void)
{
    sori_runtime_params p = sori_runtime_default_params();
    p.device = SORI_DEVICE_CPU;
    p.n_threads = 2;
    sori_runtime *rt = NULL;
    sori_lm *lm = NULL;
    sori_error err = {0};
    CHECK_STATUS(sori_runtime_create(&p, &rt, &err), SORI_OK);
    CHECK_STATUS(sori_lm_load(rt, SORI_SOURCE_DIR "/tests/fixtures/lm/llama.f32.gguf", &lm, &err), SORI_OK);
    const char *clips[] = {"ko_16k_statement.wav", "ko_16k_question.wav", "ko_8k_ulaw_call.wav"};
    int differ = 0;
    for (int c = 0; c < 3 && rt && lm; c++) {
        char path[512];
        snprintf(path, sizeof path, "%s/data/samples/%s", SORI_SOURCE_DIR, clips[c]);
        sori_audio a = {0}, mono = {0};
        CHECK_STATUS(sori_audio_read_file(path, &a, &err), SORI_OK);
        CHECK_STATUS(sori_audio_select_channel(&a, 0, &mono, &err), SORI_OK);
        char *plain = transcribe(rt, NULL, 0, 0, &mono), *same = transcribe(rt, lm, 0, 0, &mono),
             *longest = transcribe(rt, lm, 0, 50, &mono), *shortest = transcribe(rt, lm, 0, -50, &mono);
        if (plain && same && longest && shortest) {
            printf("%s:\n  plain    %s\n  +bonus   %s\n  -bonus   %s\n", clips[c], plain, longest, shortest);
            CHECK(strcmp(plain, same) == 0, "%s: weight 0 and bonus 0 changed '%s' into '%s'", clips[c], plain, same);
            CHECK(strlen(shortest) <= strlen(plain) && strlen(plain) <= strlen(longest),
                  "%s: lengths %zu (penalty) <= %zu (plain) <= %zu (bonus)", clips[c], strlen(shortest), strlen(plain),
                  strlen(longest));
            differ += strlen(shortest) < strlen(longest);
        }
        free(plain);
        free(same);
        free(longest);
        free(shortest);
        sori_audio_free(&a);
        sori_audio_free(&mono);
    }
    CHECK(differ >= 2, "the bonus changed the choice on %d of 3 clips", differ);
    /* bad parameters */
    sori_asr_model_params mp = sori_asr_model_default_params();
    mp.rescore_lm = lm;
    mp.nbest = 65;
    sori_asr_model *m = NULL;
    CHECK_STATUS(sori_asr_model_load(rt, SORI_SOURCE_DIR "/data/ko-fastconformer-ctc.gguf", &mp, &m, &err),
                 SORI_ERR_INVALID_ARG);
    mp.nbest = 8;
    mp.rescore_weight = 1.0f / 0.0f;
    CHECK_STATUS(sori_asr_model_load(rt, SORI_SOURCE_DIR "/data/ko-fastconformer-ctc.gguf", &mp, &m, &err),
                 SORI_ERR_INVALID_ARG);
    sori_lm_free(lm);
    sori_runtime_free(rt);
    return check_finish("test_rescore");
}
