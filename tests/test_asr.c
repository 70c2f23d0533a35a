/* End to end through the public ASR API on the golden fixture model: from
 * the raw test signal (features computed with the filterbank and window
 * stored in the model file) to text, the greedy CTC tokens must be NeMo's
 * (decoded here from NeMo's own log-probs); timings and confidences must be
 * sane; other rates are resampled; empty input and misuse are handled. */
#include <math.h>
#include <string.h>

#include "check.h"
#include "sori/asr.h"

static float *read_f32(const char *rel, int64_t *n)
{
    return read_f32_fixture(n, "%s/%s", SORI_FIXTURE_DIR, rel);
}

/* NeMo's greedy CTC text from its log-probs and the model's labels */
static const char *LABELS[] = {" ", "ㄱ", "ㄴ", "가", "나", "다", "라", "마", "바", "사",
                               "아", "자", "차", "카", "타", "파", "하", "이", "요", "."};

static void expected_text(const float *lp, int64_t T, int V, char *out, size_t cap)
{
    int prev = -1;
    out[0] = '\0';
    char word[1024] = "";
    for (int64_t t = 0; t < T; t++) {
        int b = 0;
        for (int j = 1; j < V; j++)
            if (lp[t * V + j] > lp[t * V + b])
                b = j;
        if (b != prev && b != V - 1) {
            if (b == 0) { /* space */
                if (word[0]) {
                    if (out[0])
                        strncat(out, " ", cap - strlen(out) - 1);
                    strncat(out, word, cap - strlen(out) - 1);
                    word[0] = '\0';
                }
            } else {
                strncat(word, LABELS[b], sizeof word - strlen(word) - 1);
            }
        }
        prev = b;
    }
    if (word[0]) {
        if (out[0])
            strncat(out, " ", cap - strlen(out) - 1);
        strncat(out, word, cap - strlen(out) - 1);
    }
}

int main(void)
{
    sori_runtime_params rp = sori_runtime_default_params();
    rp.device = SORI_DEVICE_CPU;
    rp.pool_bytes = 1 << 16;
    sori_runtime *rt = NULL;
    sori_error err = {0};
    CHECK_STATUS(sori_runtime_create(&rp, &rt, &err), SORI_OK);
    int64_t n = 0, nl = 0;
    float *x = read_f32("features/signal.f32", &n);
    float *lp = read_f32("conformer/ctc_striding4.logp.f32", &nl);
    if (!x || !lp)
        SKIP("fixtures missing");
    sori_asr_model *m = NULL;
    sori_asr_model_params mp = sori_asr_model_default_params();
    CHECK_STATUS(sori_asr_model_load(rt, SORI_FIXTURE_DIR "/conformer/ctc_striding4.gguf", &mp, &m, &err), SORI_OK);
    if (!m)
        return check_finish("test_asr");
    sori_asr_model_info info = sori_asr_model_get_info(m);
    CHECK(info.sample_rate_hz == 16000 && info.vocab_size == 20 && fabs(info.frame_shift_s - 0.04) < 1e-9,
          "model info");
    char want[4096];
    expected_text(lp, nl / 21, 21, want, sizeof want);
    sori_asr_result *r = NULL;
    CHECK_STATUS(sori_asr_transcribe(m, x, n, 16000, &r, &err), SORI_OK);
    if (r) {
        CHECK(strcmp(r->text, want) == 0, "text '%s', NeMo's greedy decoding '%s'", r->text, want);
        printf("  transcript of the random model: '%s' (%d words)\n", r->text, r->n_words);
        double last = -1;
        int sane = fabs(r->duration_s - n / 16000.0) < 1e-9 && r->is_final;
        for (int i = 0; i < r->n_words; i++) {
            sori_asr_word *w = &r->words[i];
            sane &= w->start_s >= last && w->end_s > w->start_s && w->end_s <= r->duration_s + 0.08 &&
                    w->confidence > 0 && w->confidence <= 1 && w->text[0];
            last = w->end_s;
        }
        CHECK(sane, "word timings/confidences");
        CHECK(r->confidence >= 0 && r->confidence <= 1, "confidence %f", r->confidence);
    }
    sori_asr_result_free(r);
    /* 8 kHz input is resampled: it runs and gives a result of the same duration */
    int64_t n8 = n / 2;
    float *x8 = malloc((size_t)n8 * sizeof(float));
    for (int64_t i = 0; i < n8; i++)
        x8[i] = x[2 * i];
    r = NULL;
    CHECK_STATUS(sori_asr_transcribe(m, x8, n8, 8000, &r, &err), SORI_OK);
    CHECK(r && fabs(r->duration_s - n8 / 8000.0) < 1e-9, "8 kHz duration");
    sori_asr_result_free(r);
    /* empty input: empty text, not an error */
    r = NULL;
    CHECK_STATUS(sori_asr_transcribe(m, x, 0, 16000, &r, &err), SORI_OK);
    CHECK(r && r->text && r->text[0] == '\0' && r->n_words == 0, "empty input");
    sori_asr_result_free(r);
    r = NULL;
    CHECK_STATUS(sori_asr_transcribe(m, x, 100, 16000, &r, &err), SORI_OK); /* shorter than a frame */
    sori_asr_result_free(r);
    CHECK_STATUS(sori_asr_transcribe(NULL, x, n, 16000, &r, &err), SORI_ERR_INVALID_ARG);
    CHECK_STATUS(sori_asr_transcribe(m, NULL, 10, 16000, &r, &err), SORI_ERR_INVALID_ARG);
    /* a batch (with an empty and a too-short utterance) gives each utterance's own result */
    {
        const float *in[4] = {x, x + 3000, x, x};
        int64_t lens[4] = {n, n - 3000, 0, 100};
        sori_asr_result *br[4] = {0}, *one = NULL;
        CHECK_STATUS(sori_asr_transcribe_batch(m, 4, in, lens, 16000, br, &err), SORI_OK);
        for (int i = 0; i < 4; i++) {
            CHECK_STATUS(sori_asr_transcribe(m, in[i], lens[i], 16000, &one, &err), SORI_OK);
            CHECK(br[i] && one && strcmp(br[i]->text, one->text) == 0 && br[i]->n_words == one->n_words,
                  "batch item %d: '%s' vs alone '%s'", i, br[i] ? br[i]->text : "?", one ? one->text : "?");
            sori_asr_result_free(one);
            sori_asr_result_free(br[i]);
        }
    }
    sori_asr_model *bad = NULL;
    CHECK_STATUS(sori_asr_model_load(rt, SORI_FIXTURE_DIR "/pywriter.gguf", &mp, &bad, &err), SORI_ERR_UNSUPPORTED);
    CHECK(bad == NULL && strstr(err.message, "sori.test"), "names the architecture: %s", err.message);
    CHECK_STATUS(sori_asr_model_load(rt, "/nonexistent.gguf", &mp, &bad, &err), SORI_ERR_IO);
    sori_asr_model_free(NULL);
    sori_asr_result_free(NULL);
    sori_asr_model_free(m);
    free(x);
    free(x8);
    free(lp);
    sori_runtime_free(rt);
    return check_finish("test_asr");
}
