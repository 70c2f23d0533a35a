/* End to end through the public ASR API on the golden fixture model: from
 * the raw test signal (features computed with the filterbank and window
 * stored in the model file) to text, the greedy CTC tokens must be NeMo's
 * (decoded here from NeMo's own log-probs); timings and confidences must be
 * sane; other rates are resampled; empty input and misuse are handled.
 * Beam search with an LM: a uniform token LM whose cost the bonus cancels
 * decodes as the beam search without an LM; a weight of 0 changes nothing;
 * LMs of other words, bad options and RNN-T models are refused. The
 * log-probs sori_asr_ctc_logprobs hands out are NeMo's. */
#include <math.h>
#include <string.h>
#include <unistd.h>

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

/* An ARPA LM giving every one of the model's tokens (and <unk>, </s>) log10 p = -log10(22). */
static int write_uniform_lm(const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    const double lp = -log10(22.0);
    fprintf(f, "\\data\\\nngram 1=%d\n\n\\1-grams:\n-99\t<s>\n%f\t</s>\n%f\t<unk>\n", 19 + 3, lp, lp);
    for (int i = 1; i < 20; i++) /* not the space token: no ARPA word can be one */
        fprintf(f, "%f\t%s\n", lp, LABELS[i]);
    fputs("\n\\end\\\n", f);
    return fclose(f);
}

static char *transcribe_with(sori_runtime *rt, const sori_asr_model_params *mp, const float *x, int64_t n)
{
    sori_asr_model *m = NULL;
    sori_asr_result *r = NULL;
    sori_error err = {0};
    char *text = NULL;
    CHECK_STATUS(sori_asr_model_load(rt, SORI_FIXTURE_DIR "/conformer/ctc_striding4.gguf", mp, &m, &err), SORI_OK);
    if (m && sori_asr_transcribe(m, x, n, 16000, &r, &err) == SORI_OK)
        text = strdup(r->text);
    sori_asr_result_free(r);
    sori_asr_model_free(m);
    return text;
}

static void test_lm(sori_runtime *rt, const float *x, int64_t n)
{
    char lm[] = "/tmp/sori_asr_lm_XXXXXX";
    int fd = mkstemp(lm);
    CHECK(fd >= 0 && write_uniform_lm(lm) == 0, "LM file");
    if (fd >= 0)
        close(fd);
    sori_asr_model_params plain = sori_asr_model_default_params();
    plain.beam = 8;
    char *base = transcribe_with(rt, &plain, x, n);
    sori_asr_model_params p = plain;
    p.lm_path = lm;
    p.lm_weight = 1.0f;
    p.lm_bonus = (float)log(22.0); /* cancels the LM's cost of every token */
    char *cancel = transcribe_with(rt, &p, x, n);
    p.lm_weight = 0.0f;
    p.lm_bonus = 0.0f;
    char *zero = transcribe_with(rt, &p, x, n);
    p.lm_weight = 2.0f; /* an expensive LM: fewer tokens */
    char *costly = transcribe_with(rt, &p, x, n);
    CHECK(base && cancel && strcmp(base, cancel) == 0, "cancelled LM: '%s' vs '%s'", cancel ? cancel : "?",
          base ? base : "?");
    CHECK(base && zero && strcmp(base, zero) == 0, "weight 0: '%s' vs '%s'", zero ? zero : "?", base ? base : "?");
    CHECK(base && costly && strlen(costly) < strlen(base), "weight 2: '%s' shorter than '%s'",
          costly ? costly : "?", base ? base : "?");
    printf("  beam search: '%s'; with a costly LM: '%s'\n", base ? base : "?", costly ? costly : "?");
    free(base);
    free(cancel);
    free(zero);
    free(costly);
    /* refused: an LM of other words, a missing file, a bad beam, an RNN-T model */
    sori_asr_model *m = NULL;
    sori_error err = {0};
    p = sori_asr_model_default_params();
    p.lm_path = SORI_FIXTURE_DIR "/ngram/small.arpa";
    CHECK_STATUS(sori_asr_model_load(rt, SORI_FIXTURE_DIR "/conformer/ctc_striding4.gguf", &p, &m, &err),
                 SORI_ERR_FORMAT);
    CHECK(m == NULL && strstr(err.message, "not this model's tokens"), "word LM: %s", err.message);
    p.lm_path = "/nonexistent/lm.arpa";
    CHECK_STATUS(sori_asr_model_load(rt, SORI_FIXTURE_DIR "/conformer/ctc_striding4.gguf", &p, &m, &err),
                 SORI_ERR_IO);
    p.lm_path = lm;
    p.beam = 300;
    CHECK_STATUS(sori_asr_model_load(rt, SORI_FIXTURE_DIR "/conformer/ctc_striding4.gguf", &p, &m, &err),
                 SORI_ERR_INVALID_ARG);
    p.beam = 0;
    p.lm_weight = NAN;
    CHECK_STATUS(sori_asr_model_load(rt, SORI_FIXTURE_DIR "/conformer/ctc_striding4.gguf", &p, &m, &err),
                 SORI_ERR_INVALID_ARG);
    p.lm_weight = -1.0f;
    CHECK_STATUS(sori_asr_model_load(rt, SORI_FIXTURE_DIR "/stream/hybrid_stream.gguf", &p, &m, &err),
                 SORI_ERR_UNSUPPORTED);
    CHECK(m == NULL, "nothing loaded");
    unlink(lm);
}

/* The stream API's final text of x fed in 0.1 s packets. */
static char *stream_text(sori_asr_model *m, const sori_asr_stream_params *sp, const float *x, int64_t n)
{
    sori_asr_stream *s = NULL;
    sori_asr_result *r = NULL;
    sori_error err = {0};
    char *text = NULL;
    if (sori_asr_stream_create(m, sp, &s, &err) != SORI_OK)
        return NULL;
    int ok = 1;
    for (int64_t i = 0; ok && i < n; i += 1600) {
        ok = sori_asr_stream_accept(s, x + i, n - i < 1600 ? n - i : 1600, 16000, &err) == SORI_OK;
        while (ok && sori_asr_stream_is_ready(s))
            ok = sori_asr_decode_ready(m, &s, 1, &err) == SORI_OK;
    }
    ok = ok && sori_asr_stream_input_finished(s, &err) == SORI_OK;
    while (ok && sori_asr_stream_is_ready(s))
        ok = sori_asr_decode_ready(m, &s, 1, &err) == SORI_OK;
    if (ok && sori_asr_stream_result(s, &r, &err) == SORI_OK)
        text = strdup(r->text);
    sori_asr_result_free(r);
    sori_asr_stream_free(s);
    return text;
}

/* Hotwords: a boosted phrase the plain search does not output appears (offline,
 * and for a stream given its own list), and bad lists are refused. */
static void test_hotwords(sori_runtime *rt, const float *x, int64_t n)
{
    const char *want = "\xeb\x82\x98\xec\x9d\xb4"; /* 나이: characters of the model, not in its output */
    sori_asr_model_params p = sori_asr_model_default_params();
    p.beam = 8;
    char *plain = transcribe_with(rt, &p, x, n);
    p.beam = 0; /* hotwords turn the beam search on */
    p.hotwords = "# a comment\n\xeb\x82\x98 \xec\x9d\xb4 :2\n";
    char *biased = transcribe_with(rt, &p, x, n);
    CHECK(plain && !strstr(plain, want), "without hotwords: '%s'", plain ? plain : "?");
    CHECK(biased && strstr(biased, want), "with the hotword 나이: '%s'", biased ? biased : "?");
    printf("  hotword 나이 (score 2): '%s' -> '%s'\n", plain ? plain : "?", biased ? biased : "?");
    /* a model without hotwords: a stream with its own list, and one without */
    sori_asr_model *m = NULL;
    sori_error err = {0};
    sori_asr_model_params gp = sori_asr_model_default_params();
    CHECK_STATUS(sori_asr_model_load(rt, SORI_FIXTURE_DIR "/conformer/ctc_striding4.gguf", &gp, &m, &err), SORI_OK);
    if (m) {
        sori_asr_model_info mi = sori_asr_model_get_info(m);
        CHECK(mi.beam == 0 && mi.n_hotwords == 0, "greedy model: beam %d, %d hotwords", mi.beam, mi.n_hotwords);
        sori_asr_stream_params sp = sori_asr_stream_default_params();
        sp.endpointing = false;
        char *s0 = stream_text(m, &sp, x, n);
        sp.hotwords = p.hotwords;
        char *s1 = stream_text(m, &sp, x, n);
        CHECK(s0 && !strstr(s0, want), "stream without hotwords: '%s'", s0 ? s0 : "?");
        CHECK(s1 && strstr(s1, want), "stream with the hotword: '%s'", s1 ? s1 : "?");
        sp.hotwords = "hello\n"; /* not the model's characters */
        sori_asr_stream *st = NULL;
        CHECK_STATUS(sori_asr_stream_create(m, &sp, &st, &err), SORI_ERR_INVALID_ARG);
        CHECK(st == NULL && strstr(err.message, "line 1"), "stream: %s", err.message);
        sp.hotwords = p.hotwords;
        sp.hotword_score = 0.0f;
        CHECK_STATUS(sori_asr_stream_create(m, &sp, &st, &err), SORI_ERR_INVALID_ARG);
        free(s0);
        free(s1);
        sori_asr_model_free(m);
        m = NULL;
    }
    /* a model with them: read back; refused lists; RNN-T */
    CHECK_STATUS(sori_asr_model_load(rt, SORI_FIXTURE_DIR "/conformer/ctc_striding4.gguf", &p, &m, &err), SORI_OK);
    sori_asr_model_info mi = sori_asr_model_get_info(m);
    CHECK(mi.beam == 8 && mi.n_hotwords == 1 && mi.lm_weight == 0.0f, "hotword model: beam %d, %d hotwords",
          mi.beam, mi.n_hotwords);
    sori_asr_model_free(m);
    m = NULL;
    p.hotwords = "\xea\xb0\x80\n\n\xeb\x98\x90\n"; /* 가, then 똠: not a character of the model */
    CHECK_STATUS(sori_asr_model_load(rt, SORI_FIXTURE_DIR "/conformer/ctc_striding4.gguf", &p, &m, &err),
                 SORI_ERR_INVALID_ARG);
    CHECK(m == NULL && strstr(err.message, "line 3"), "a character the model cannot write: %s", err.message);
    p.hotwords = "\xea\xb0\x80\n";
    p.hotword_score = 25.0f;
    CHECK_STATUS(sori_asr_model_load(rt, SORI_FIXTURE_DIR "/conformer/ctc_striding4.gguf", &p, &m, &err),
                 SORI_ERR_INVALID_ARG);
    p.hotword_score = SORI_ASR_HOTWORD_SCORE;
    CHECK_STATUS(sori_asr_model_load(rt, SORI_FIXTURE_DIR "/stream/hybrid_stream.gguf", &p, &m, &err),
                 SORI_ERR_UNSUPPORTED);
    CHECK(m == NULL, "nothing loaded");
    free(plain);
    free(biased);
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
    /* the same model from memory gives the same text; a buffer that is not a model is refused */
    {
        FILE *f = fopen(SORI_FIXTURE_DIR "/conformer/ctc_striding4.gguf", "rb");
        static unsigned char buf[4 << 20];
        size_t len = f ? fread(buf, 1, sizeof buf, f) : 0;
        if (f)
            fclose(f);
        sori_asr_model *mm = NULL;
        sori_asr_result *r2 = NULL;
        CHECK_STATUS(sori_asr_model_load_memory(rt, buf, len, &mp, &mm, &err), SORI_OK);
        CHECK_STATUS(sori_asr_transcribe(mm, x, n, 16000, &r2, &err), SORI_OK);
        CHECK(r2 && strcmp(r2->text, want) == 0, "from memory: '%s'", r2 ? r2->text : "?");
        sori_asr_result_free(r2);
        sori_asr_model_free(mm);
        mm = NULL;
        CHECK_STATUS(sori_asr_model_load_memory(rt, buf, len / 2, &mp, &mm, &err), SORI_ERR_FORMAT);
        CHECK(mm == NULL && strstr(err.message, "<memory>"), "a cut buffer: '%s'", err.message);
        CHECK_STATUS(sori_asr_model_load_memory(rt, NULL, len, &mp, &mm, &err), SORI_ERR_INVALID_ARG);
    }
    test_lm(rt, x, n);
    test_hotwords(rt, x, n);
    /* the log-probs transcribe decodes: NeMo's, rows normalized */
    {
        float *mine = NULL;
        int64_t T = 0;
        CHECK_STATUS(sori_asr_ctc_logprobs(m, x, n, 16000, &mine, &T, &err), SORI_OK);
        double d2 = 0, r2 = 0, worst_norm = 0;
        for (int64_t i = 0; mine && T * 21 == nl && i < nl; i++) {
            d2 += (mine[i] - lp[i]) * (double)(mine[i] - lp[i]);
            r2 += (double)lp[i] * lp[i];
        }
        for (int64_t t = 0; mine && t < T; t++) {
            double z = 0;
            for (int v = 0; v < 21; v++)
                z += exp(mine[t * 21 + v]);
            worst_norm = fabs(z - 1) > worst_norm ? fabs(z - 1) : worst_norm;
        }
        CHECK(mine && T * 21 == nl && sqrt(d2 / r2) < 1e-3 && worst_norm < 1e-4,
              "log-probs: %lld frames (NeMo %lld), relative L2 %.2g, |sum p - 1| %.2g", (long long)T,
              (long long)(nl / 21), sqrt(d2 / (r2 > 0 ? r2 : 1)), worst_norm);
        free(mine);
        CHECK_STATUS(sori_asr_ctc_logprobs(m, x, 10, 16000, &mine, &T, &err), SORI_OK);
        CHECK(mine == NULL && T == 0, "too short: no frames");
        CHECK_STATUS(sori_asr_ctc_logprobs(m, x, n, 16000, NULL, &T, &err), SORI_ERR_INVALID_ARG);
        sori_asr_model *hy = NULL;
        sori_asr_model_params hp = sori_asr_model_default_params();
        CHECK_STATUS(sori_asr_model_load(rt, SORI_FIXTURE_DIR "/stream/hybrid_stream.gguf", &hp, &hy, &err), SORI_OK);
        CHECK_STATUS(sori_asr_ctc_logprobs(hy, x, n, 16000, &mine, &T, &err), SORI_ERR_UNSUPPORTED);
        sori_asr_model_free(hy);
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
