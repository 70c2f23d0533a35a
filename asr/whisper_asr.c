/* Whisper models behind the ASR API (sori/asr.h): the model params turned
 * into decoding settings, and a transcript turned into a result — its text,
 * segments with their scores and N-best lists, and words (timed by DTW with
 * word_timestamps, else spread over their segment by characters). */
#define _POSIX_C_SOURCE 200809L
#include "asr_impl.h"
#include "kernels/gguf.h"
#include "lm/bpe.h"

sori_status asr_whisper_language(const sori_asr_model *m, const char *lang, sori_whisper_params *w, sori_error *err)
{
    const sori_whisper_tokens *tk = sori_whisper_get_tokens(m->wh);
    w->detect_language = false;
    if (!tk->multilingual) {
        if (strcmp(lang, "en") && strcmp(lang, "auto"))
            return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "asr: an English-only Whisper model (language '%s')", lang);
        w->dec.language = -1;
    } else if (!strcmp(lang, "auto")) {
        w->dec.language = -1;
        w->detect_language = true;
    } else if ((w->dec.language = sori_whisper_language_token(m->wh, lang)) < 0) {
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "asr: the Whisper model knows no language '%s'", lang);
    }
    return SORI_OK;
}

/* The window decoder's rescoring hook: each hypothesis's text (its tokens
 * below <|endoftext|>) scored by the model's rescoring LM. */
static sori_status whisper_rescore(void *user, const sori_whisper_hyp *h, int n, double *extra, sori_error *err)
{
    const sori_asr_model *m = user;
    const sori_bpe *b = sori_whisper_get_bpe(m->wh);
    const int32_t eot = sori_whisper_get_tokens(m->wh)->eot;
    char *texts[64] = {0};
    int32_t *tok = NULL;
    sori_status st = SORI_OK;
    n = n < 64 ? n : 64;
    for (int i = 0; i < n && st == SORI_OK; i++) {
        int32_t *t = realloc(tok, (size_t)(h[i].n_tokens + 1) * sizeof(int32_t));
        size_t need = 0;
        int k = 0;
        if (t) {
            tok = t;
            for (int j = 0; j < h[i].n_tokens; j++)
                if (h[i].tokens[j] < eot)
                    tok[k++] = h[i].tokens[j];
            need = sori_bpe_decode(b, tok, k, NULL, 0);
            texts[i] = malloc(need + 1);
        }
        if (!t || !texts[i])
            st = sori_fail(err, SORI_ERR_NO_MEMORY, 0, "asr: out of memory");
        else
            sori_bpe_decode(b, tok, k, texts[i], need + 1);
    }
    if (st == SORI_OK)
        st = asr_lm_extra(m, (const char *const *)texts, n, extra, err);
    for (int i = 0; i < n; i++)
        free(texts[i]);
    free(tok);
    return st;
}

sori_status asr_whisper_load(sori_asr_model *m, const sori_gguf *g, const char *path, const sori_asr_model_params *p,
                             sori_error *err)
{
    if (p->batch < 0 || p->batch > 64)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "asr: Whisper batch %d (0..64)", p->batch);
    if (p->beam > 16 || p->best_of < 0 || p->best_of > 16 || p->patience < 0 || p->patience > 4 ||
        !isfinite(p->length_penalty) || p->length_penalty > 10)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0,
                         "asr: Whisper beam %d (0..16), best_of %d (0..16), patience %g (0..4), length penalty %g",
                         p->beam, p->best_of, p->patience, p->length_penalty);
    if (p->lm_path || p->hotwords)
        return sori_fail(err, SORI_ERR_UNSUPPORTED, 0,
                         "asr: %s: n-gram fusion and hotwords are for Conformer models (Whisper takes a prompt)",
                         path);
    sori_status st = sori_whisper_load_gguf(m->rt, g, path, &m->wh, err);
    if (st != SORI_OK)
        return st;
    const sori_whisper_tokens *tk = sori_whisper_get_tokens(m->wh);
    sori_whisper_params *w = &m->wp;
    *w = sori_whisper_default_params();
    const char *lang = p->language ? p->language : (sori_whisper_language_token(m->wh, "ko") >= 0 ? "ko" : "en");
    snprintf(m->language, sizeof m->language, "%s", lang);
    (void)tk;
    st = asr_whisper_language(m, lang, w, err);
    if (st != SORI_OK)
        return st;
    w->dec.translate = p->translate != 0;
    w->dec.beam_size = p->beam >= 2 ? p->beam : 0;
    w->dec.best_of = p->best_of > 0 ? p->best_of : 5;
    w->dec.patience = p->patience > 0 ? p->patience : 1.0f;
    w->dec.length_penalty = p->length_penalty;
    w->word_timestamps = p->word_timestamps != 0;
    w->progress = p->progress;
    w->progress_ctx = p->progress_ctx;
    if (w->word_timestamps && tk->n_alignment_heads < 1)
        return sori_fail(err, SORI_ERR_UNSUPPORTED, 0,
                         "asr: %s names no alignment heads (sori.whisper.alignment_heads): no word timestamps", path);
    if (p->no_fallback)
        w->n_temperatures = 1;
    if (p->prompt) {
        size_t n = strlen(p->prompt);
        char *copy = malloc(n + 1);
        if (!copy)
            return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "asr: out of memory");
        memcpy(copy, p->prompt, n + 1);
        w->initial_prompt = copy;
    }
    m->wh_batch = p->batch;
    m->wh_vad = p->vad;
    if (p->vad && sori_silero_vad_window(p->vad, 16000) == 0)
        return sori_fail(err, SORI_ERR_UNSUPPORTED, 0, "asr: the Silero VAD has no 16 kHz network");
    if (p->rescore_lm && p->nbest > 1 && p->batch > 0)
        return sori_fail(err, SORI_ERR_UNSUPPORTED, 0,
                         "asr: N-best rescoring needs Whisper's beam search; the batched mode (batch %d) decodes "
                         "greedily",
                         p->batch);
    if (p->rescore_lm && p->nbest > 1) {
        /* N-best rescoring of each window's beam: a beam at least as wide as the N-best */
        m->rescore_lm = p->rescore_lm;
        m->nbest = p->nbest;
        m->rescore_weight = p->rescore_weight;
        m->rescore_bonus = p->rescore_bonus;
        if (w->dec.beam_size < 2)
            w->dec.beam_size = p->nbest < 16 ? p->nbest : 16;
        m->wh_rescorer = (sori_whisper_rescorer){whisper_rescore, m, p->nbest};
        w->dec.rescore = &m->wh_rescorer;
    }
    m->wh_group = w->dec.beam_size > 1 ? w->dec.beam_size : 1;
    if (w->n_temperatures > 1 && w->dec.best_of > m->wh_group)
        m->wh_group = w->dec.best_of;
    m->sample_rate = 16000;
    m->frame_shift_s = 0.02;
    const char *name = "";
    sori_gguf_get_str(g, "general.name", &name);
    snprintf(m->name, sizeof m->name, "%s", name);
    return SORI_OK;
}

/* ---- results --------------------------------------------------------------------- */

static char *dup_range(const char *s, size_t n)
{
    char *r = malloc(n + 1);
    if (r) {
        memcpy(r, s, n);
        r[n] = '\0';
    }
    return r;
}

/* UTF-8 code points in s[0, n) */
static int n_chars(const char *s, size_t n)
{
    int c = 0;
    for (size_t i = 0; i < n; i++)
        c += ((unsigned char)s[i] & 0xc0) != 0x80;
    return c;
}

static int push_word(sori_asr_result *r, int *cap, const char *text, size_t n, double a, double b, float conf)
{
    if (r->n_words == *cap) {
        int c = *cap ? 2 * *cap : 32;
        sori_asr_word *w = realloc(r->words, (size_t)c * sizeof *w);
        if (!w)
            return -1;
        r->words = w, *cap = c;
    }
    char *t = dup_range(text, n);
    if (!t)
        return -1;
    r->words[r->n_words++] = (sori_asr_word){t, a, b, conf};
    return 0;
}

sori_status asr_whisper_result(const sori_asr_model *m, const sori_whisper_transcript *t, double offset_s,
                               sori_asr_result *r, sori_error *err)
{
    const sori_whisper_tokens *tk = sori_whisper_get_tokens(m->wh);
    int li = t->language - tk->sot - 1;
    snprintf(r->language, sizeof r->language, "%s", li >= 0 && li < tk->n_languages ? tk->languages[li] : "en");
    r->segments = calloc((size_t)(t->n_seg ? t->n_seg : 1), sizeof *r->segments);
    if (!r->segments)
        return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "asr: out of memory");
    int cap = 0;
    size_t text_len = 0;
    for (int i = 0; i < t->n_seg; i++) {
        const sori_whisper_segment *g = &t->seg[i];
        sori_asr_segment *o = &r->segments[r->n_segments];
        const char *s = g->text;
        while (*s == ' ')
            s++;
        size_t n = strlen(s);
        while (n > 0 && s[n - 1] == ' ')
            n--;
        if (n == 0)
            continue; /* cleared (empty or instantaneous) */
        r->n_segments++;
        *o = (sori_asr_segment){.start_s = g->start + offset_s, .end_s = g->end + offset_s, .text = dup_range(s, n),
                                .first_word = r->n_words, .avg_logprob = g->avg_logprob,
                                .no_speech_prob = g->no_speech_prob, .compression_ratio = g->compression_ratio,
                                .temperature = g->temperature};
        if (!o->text)
            return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "asr: out of memory");
        text_len += n + 1;
        if (g->n_nbest) {
            o->nbest_text = calloc((size_t)g->n_nbest, sizeof(char *));
            o->nbest_score = calloc((size_t)g->n_nbest, sizeof(float));
            if (!o->nbest_text || !o->nbest_score)
                return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "asr: out of memory");
            o->n_nbest = g->n_nbest;
            for (int k = 0; k < g->n_nbest; k++) {
                const char *x = g->nbest_text[k] ? g->nbest_text[k] : "";
                while (*x == ' ')
                    x++;
                o->nbest_text[k] = dup_range(x, strlen(x));
                o->nbest_score[k] = g->nbest_score[k];
            }
        }
        float conf = expf(g->avg_logprob);
        conf = conf > 1.0f ? 1.0f : conf;
        if (g->n_words) {
            for (int w = 0; w < g->n_words; w++) {
                const char *x = g->words[w].text;
                while (*x == ' ')
                    x++;
                size_t L = strlen(x);
                while (L > 0 && x[L - 1] == ' ')
                    L--;
                if (L && push_word(r, &cap, x, L, g->words[w].start + offset_s, g->words[w].end + offset_s,
                                   g->words[w].probability))
                    return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "asr: out of memory");
            }
        } else {
            /* spread over the segment by characters */
            int total = n_chars(s, n), done = 0;
            double span = g->end - g->start;
            for (size_t i0 = 0; i0 < n;) {
                while (i0 < n && s[i0] == ' ')
                    i0++;
                size_t i1 = i0;
                while (i1 < n && s[i1] != ' ')
                    i1++;
                if (i1 > i0) {
                    int c = n_chars(s + i0, i1 - i0);
                    double a = offset_s + g->start + span * done / (total ? total : 1);
                    done += c;
                    double b = offset_s + g->start + span * done / (total ? total : 1);
                    if (push_word(r, &cap, s + i0, i1 - i0, a, b, conf))
                        return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "asr: out of memory");
                }
                i0 = i1;
            }
        }
        o->n_words = r->n_words - o->first_word;
    }
    /* the text: the words joined by single spaces */
    size_t need = 1;
    for (int w = 0; w < r->n_words; w++)
        need += strlen(r->words[w].text) + 1;
    (void)text_len;
    r->text = malloc(need);
    if (!r->text)
        return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "asr: out of memory");
    size_t used = 0;
    double csum = 0.0;
    for (int w = 0; w < r->n_words; w++) {
        size_t L = strlen(r->words[w].text);
        if (used)
            r->text[used++] = ' ';
        memcpy(r->text + used, r->words[w].text, L);
        used += L;
        csum += r->words[w].confidence;
    }
    r->text[used] = '\0';
    r->confidence = r->n_words ? (float)(csum / r->n_words) : 1.0f;
    return SORI_OK;
}

sori_status asr_whisper_transcribe(sori_asr_model *m, const float *samples, int64_t n, int rate,
                                   sori_asr_result **out, sori_error *err)
{
    *out = NULL;
    sori_asr_result *r = calloc(1, sizeof *r);
    if (!r)
        return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "asr: out of memory");
    r->is_final = 1;
    r->duration_s = (double)n / rate;
    sori_audio res = {0};
    const float *x = samples;
    sori_status st = SORI_OK;
    if (n > 0 && rate != 16000) {
        sori_audio inp = {(float *)samples, n, 1, rate};
        st = sori_audio_resample(&inp, 16000, &res, err);
        x = res.samples;
        n = res.n_frames;
    }
    sori_whisper_session *s = NULL;
    sori_whisper_transcript *t = NULL;
    if (st == SORI_OK)
        st = sori_whisper_session_create_batched(m->wh, m->wh_group, m->wh_batch > 0 ? m->wh_batch : 1, &s, err);
    if (st == SORI_OK)
        st = m->wh_batch > 0 ? sori_whisper_transcribe_batched(s, x, n, &m->wp, m->wh_vad, &t, err)
                             : sori_whisper_transcribe(s, x, n, &m->wp, &t, err);
    if (st == SORI_OK)
        st = asr_whisper_result(m, t, 0.0, r, err);
    sori_whisper_transcript_free(t);
    sori_whisper_session_free(s);
    sori_audio_free(&res);
    if (st != SORI_OK) {
        sori_asr_result_free(r);
        return st;
    }
    *out = r;
    return SORI_OK;
}

sori_status asr_whisper_transcribe_reader(sori_asr_model *m, sori_audio_reader *rd, sori_asr_result **out,
                                          sori_error *err)
{
    *out = NULL;
    sori_asr_result *r = calloc(1, sizeof *r);
    if (!r)
        return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "asr: out of memory");
    r->is_final = 1;
    sori_whisper_session *s = NULL;
    sori_whisper_transcript *t = NULL;
    sori_status st = sori_whisper_session_create(m->wh, m->wh_group, &s, err);
    if (st == SORI_OK)
        st = sori_whisper_transcribe_reader(s, rd, &m->wp, &t, err);
    if (st == SORI_OK) {
        r->duration_s = t->duration;
        st = asr_whisper_result(m, t, 0.0, r, err);
    }
    sori_whisper_transcript_free(t);
    sori_whisper_session_free(s);
    if (st != SORI_OK) {
        sori_asr_result_free(r);
        return st;
    }
    *out = r;
    return SORI_OK;
}
