/* N-best rescoring of Whisper's beam by a transformer LM (Whisper base from
 * tools/setup.sh on a bundled real clip, skipped without the file; the tiny
 * llama LM of the test_lm fixtures, whose byte-level vocabulary scores any
 * text one token a byte): a large bonus per LM token chooses the longest of
 * each window's hypotheses, a large penalty the shortest, the plain beam's
 * text lies between them; the N-best list comes ranked by the rescored
 * score with the chosen text first; rescoring with the batched (greedy)
 * mode is refused. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "sori/asr.h"
#include "sori/audio.h"
#include "sori/lm.h"

typedef struct {
    char *text;
    int n_nbest, ranked, first_is_text;
} wh_out;

static wh_out whisper(sori_runtime *rt, const sori_lm *lm, float bonus, const sori_audio *a)
{
    sori_asr_model_params mp = sori_asr_model_default_params();
    mp.beam = 5;
    mp.rescore_lm = lm;
    mp.nbest = lm ? 5 : 0;
    mp.rescore_bonus = bonus;
    mp.rescore_weight = 0.0f;
    sori_asr_model *m = NULL;
    sori_asr_result *r = NULL;
    sori_error err = {0};
    wh_out o = {0};
    CHECK_STATUS(sori_asr_model_load(rt, SORI_SOURCE_DIR "/data/whisper-base-f16.gguf", &mp, &m, &err), SORI_OK);
    if (m)
        CHECK_STATUS(sori_asr_transcribe(m, a->samples, a->n_frames, a->sample_rate_hz, &r, &err), SORI_OK);
    if (r && r->n_segments > 0) {
        o.text = strdup(r->text ? r->text : "");
        const sori_asr_segment *g = &r->segments[0];
        o.n_nbest = g->n_nbest;
        o.ranked = 1;
        for (int k = 1; k < g->n_nbest; k++)
            o.ranked &= g->nbest_score[k] <= g->nbest_score[k - 1];
        o.first_is_text = g->n_nbest > 0 && strstr(r->text, g->nbest_text[0] + (g->nbest_text[0][0] == ' ')) != NULL;
    }
    sori_asr_result_free(r);
    sori_asr_model_free(m);
    return o;
}

static void test_whisper(sori_runtime *rt, const sori_lm *lm)
{
    sori_audio a = {0}, mono = {0};
    sori_error err = {0};
    CHECK_STATUS(sori_audio_read_file(SORI_SOURCE_DIR "/data/samples/real/104_003_0193.flac", &a, &err), SORI_OK);
    CHECK_STATUS(sori_audio_select_channel(&a, 0, &mono, &err), SORI_OK);
    wh_out plain = whisper(rt, NULL, 0, &mono), longest = whisper(rt, lm, 50, &mono),
           shortest = whisper(rt, lm, -50, &mono);
    if (plain.text && longest.text && shortest.text) {
        printf("whisper:\n  plain    %s\n  +bonus   %s\n  -bonus   %s\n", plain.text, longest.text, shortest.text);
        CHECK(strlen(shortest.text) <= strlen(plain.text) && strlen(plain.text) <= strlen(longest.text) &&
                  strlen(shortest.text) < strlen(longest.text),
              "whisper: lengths %zu (penalty) <= %zu (plain) <= %zu (bonus), the first below the last",
              strlen(shortest.text), strlen(plain.text), strlen(longest.text));
        CHECK(longest.n_nbest >= 2 && longest.ranked && longest.first_is_text && shortest.ranked &&
                  shortest.first_is_text,
              "whisper: an N-best of %d, ranked %d/%d, the chosen text first %d/%d", longest.n_nbest, longest.ranked,
              shortest.ranked, longest.first_is_text, shortest.first_is_text);
    }
    free(plain.text);
    free(longest.text);
    free(shortest.text);
    sori_asr_model_params mp = sori_asr_model_default_params();
    mp.rescore_lm = lm;
    mp.nbest = 5;
    mp.batch = 4;
    sori_asr_model *m = NULL;
    CHECK_STATUS(sori_asr_model_load(rt, SORI_SOURCE_DIR "/data/whisper-base-f16.gguf", &mp, &m, &err),
                 SORI_ERR_UNSUPPORTED);
    sori_audio_free(&a);
    sori_audio_free(&mono);
}

int main(void)
{
    FILE *f = fopen(SORI_SOURCE_DIR "/data/whisper-base-f16.gguf", "rb");
    if (!f)
        SKIP("data/whisper-base-f16.gguf is not here (tools/setup.sh fetches it)");
    fclose(f);
    sori_runtime_params p = sori_runtime_default_params();
    p.device = SORI_DEVICE_CPU;
    p.n_threads = 2;
    sori_runtime *rt = NULL;
    sori_lm *lm = NULL;
    sori_error err = {0};
    CHECK_STATUS(sori_runtime_create(&p, &rt, &err), SORI_OK);
    CHECK_STATUS(sori_lm_load(rt, SORI_SOURCE_DIR "/tests/fixtures/lm/llama.f32.gguf", &lm, &err), SORI_OK);
    if (rt && lm)
        test_whisper(rt, lm);
    sori_lm_free(lm);
    sori_runtime_free(rt);
    return check_finish("test_rescore_whisper");
}
