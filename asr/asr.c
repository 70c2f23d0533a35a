/* Offline transcription: resample, features as stored in the model file,
 * the Conformer encoder, CTC greedy decoding with word timings and
 * confidences. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conformer.h"
#include "ctc_beam.h"
#include "kernels/gguf.h"
#include "kernels/hparams.h"
#include "kernels/kernels.h"
#include "sori/asr.h"
#include "sori/audio.h"
#include "sori/features.h"
#include "sori/ngram.h"

struct sori_asr_model {
    sori_runtime *rt;
    sori_conformer *enc;
    sori_features *fx;
    int sample_rate;
    int spm; /* SentencePiece pieces (▁ starts a word) rather than characters */
    int rnnt; /* decode with the RNN-T head (else CTC) */
    double frame_shift_s;
    char name[128];
    /* CTC beam search (with an n-gram LM when lm is set); beam.beam == 0: greedy */
    sori_ngram *lm;
    int32_t *tok2lm;
    sori_ctc_beam_params beam;
    sori_hotwords *hotwords; /* the model's (params.hotwords); streams may have their own */
};

sori_asr_model_params sori_asr_model_default_params(void)
{
    sori_asr_model_params p = {0};
    p.lm_weight = -1.0f;
    p.hotword_score = SORI_ASR_HOTWORD_SCORE;
    return p;
}

/* The n-gram LM for CTC beam search: its words must be the model's tokens. */
static sori_status load_lm(sori_asr_model *m, const sori_asr_model_params *pp, sori_error *err)
{
    const int n_tok = sori_conformer_get_info(m->enc).vocab_size;
    sori_status st = sori_ngram_load(pp->lm_path, &m->lm, err);
    if (st != SORI_OK)
        return st;
    if (!(m->tok2lm = malloc((size_t)(n_tok ? n_tok : 1) * sizeof(int32_t))))
        return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "asr: out of memory");
    int found = 0;
    for (int i = 0; i < n_tok; i++) {
        const char *t = sori_conformer_token(m->enc, i);
        m->tok2lm[i] = t ? sori_ngram_word_id(m->lm, t) : -1;
        found += m->tok2lm[i] >= 0;
    }
    if (found * 2 < n_tok)
        return sori_fail(err, SORI_ERR_FORMAT, 0,
                         "asr: %s: the LM's words are not this model's tokens (%d of %d tokens found); "
                         "sori fuses token-level LMs (tools/ko/ngram.py makes one)", pp->lm_path, found, n_tok);
    sori_ngram_info li = sori_ngram_get_info(m->lm);
    m->beam.lm = m->lm;
    m->beam.tok2lm = m->tok2lm;
    if (pp->lm_weight >= 0) {
        m->beam.weight = pp->lm_weight;
        m->beam.bonus = pp->lm_bonus;
    } else if (li.has_asr_weights) {
        m->beam.weight = li.asr_weight;
        m->beam.bonus = li.asr_bonus;
    } else {
        m->beam.weight = 0.5f;
        m->beam.bonus = 1.0f;
    }
    return SORI_OK;
}

/* Hotword phrases compiled over the model's tokens. */
static sori_status make_hotwords(const sori_asr_model *m, const char *text, float score, sori_hotwords **out,
                                 sori_error *err)
{
    const int n = sori_conformer_get_info(m->enc).vocab_size;
    const char **tok = malloc((size_t)(n > 0 ? n : 1) * sizeof *tok);
    if (!tok)
        return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "asr: out of memory");
    for (int i = 0; i < n; i++)
        tok[i] = sori_conformer_token(m->enc, i);
    sori_status st = sori_hotwords_create(tok, n, text, score, out, err);
    free(tok);
    return st;
}

/* Beam search settings without an LM (weight 0), for `beam` hypotheses. */
static void beam_defaults(sori_ctc_beam_params *b, int beam)
{
    memset(b, 0, sizeof *b);
    b->beam = beam > 0 ? beam : 8;
    b->max_cands = 16;
    b->cand_logp = -8.0f; /* tokens below e^-8 at a frame are not tried */
}

/* True when the f32 tensor's values are all finite. */
static bool all_finite(const sori_gguf_tensor *t)
{
    const float *x = t->data;
    for (int64_t i = 0; i < t->n_elements; i++)
        if (!isfinite(x[i]))
            return false;
    return true;
}

/* The feature extractor the model was trained with, from its file; every
 * key checked with its name (docs/model-format.md). */
static sori_status load_features(const sori_gguf *g, const char *path, sori_features **out,
                                 sori_error *err)
{
    static const char *const kinds[] = {"nemo", NULL};
    /* NeMo spells "none" "NA"; "fixed" is NeMo's fixed_mean / fixed_std */
    static const char *const norms[] = {"per_feature", "all_features", "none", "NA", "fixed", NULL};
    static const sori_feature_norm norm_of[] = {SORI_NORM_PER_FEATURE, SORI_NORM_ALL_FEATURES, SORI_NORM_NONE,
                                             SORI_NORM_NONE, SORI_NORM_FIXED};
    sori_hparams h = sori_hparams_init(g, path, err);
    sori_feature_params p = sori_feature_default_params(SORI_FEAT_NEMO);
    sori_hp_enum(&h, "features.kind", SORI_HP_REQUIRED, 0, kinds);
    p.sample_rate_hz = (int)sori_hp_int(&h, "features.sample_rate", SORI_HP_OPTIONAL, p.sample_rate_hz, 1000, 192000);
    p.n_mels = (int)sori_hp_int(&h, "features.n_mels", SORI_HP_OPTIONAL, p.n_mels, 1, 512);
    p.n_fft = (int)sori_hp_int(&h, "features.n_fft", SORI_HP_OPTIONAL, p.n_fft, 2, 65536);
    p.win_length = (int)sori_hp_int(&h, "features.win_length", SORI_HP_OPTIONAL, p.win_length, 1, 65536);
    p.hop_length = (int)sori_hp_int(&h, "features.hop_length", SORI_HP_OPTIONAL, p.hop_length, 1, 65536);
    sori_hp_int(&h, "features.pad_to", SORI_HP_OPTIONAL, 0, 0, 65536);
    p.pad_to = 0; /* padding frames to a multiple only matters for batching in NeMo */
    p.preemph = (float)sori_hp_float(&h, "features.preemph", SORI_HP_OPTIONAL, p.preemph, 0.0, 1.0);
    p.log_guard = (float)sori_hp_float(&h, "features.log_guard", SORI_HP_OPTIONAL, p.log_guard, 1e-30, 1e6);
    p.mag_power = (float)sori_hp_float(&h, "features.mag_power", SORI_HP_OPTIONAL, p.mag_power, 0.01, 8.0);
    sori_hp_float(&h, "features.dither", SORI_HP_OPTIONAL, 0.0, 0.0, 1.0); /* training only: never applied */
    p.normalize = norm_of[sori_hp_enum(&h, "features.normalize", SORI_HP_OPTIONAL, 0, norms)];
    if (h.st == SORI_OK && p.n_fft % 2)
        sori_hp_fail(&h, SORI_ERR_FORMAT, "features.n_fft", "%d is odd", p.n_fft);
    if (h.st == SORI_OK && p.win_length > p.n_fft)
        sori_hp_fail(&h, SORI_ERR_FORMAT, "features.win_length", "%d is longer than n_fft %d", p.win_length, p.n_fft);
    if (h.st == SORI_OK && p.hop_length > p.n_fft)
        sori_hp_fail(&h, SORI_ERR_FORMAT, "features.hop_length", "%d is longer than n_fft %d", p.hop_length, p.n_fft);
    if (h.st != SORI_OK)
        return h.st;
    const sori_gguf_tensor *fb = sori_gguf_find_tensor(g, "features.mel_filterbank");
    const sori_gguf_tensor *win = sori_gguf_find_tensor(g, "features.window");
    if (fb) {
        if (fb->type != SORI_GGML_F32 || fb->n_elements != (int64_t)p.n_mels * (p.n_fft / 2 + 1))
            return sori_fail(err, SORI_ERR_FORMAT, 0,
                             "%s: features.mel_filterbank: %lld values of type %u, but features.n_mels = %d and "
                             "features.n_fft = %d need %d f32", path, (long long)fb->n_elements, fb->type, p.n_mels,
                             p.n_fft, p.n_mels * (p.n_fft / 2 + 1));
        if (!all_finite(fb))
            return sori_fail(err, SORI_ERR_FORMAT, 0, "%s: features.mel_filterbank has NaN or infinite values", path);
        p.mel_filterbank = fb->data;
    }
    if (p.normalize == SORI_NORM_FIXED) {
        const sori_gguf_tensor *mu = sori_gguf_find_tensor(g, "features.norm_mean");
        const sori_gguf_tensor *sd = sori_gguf_find_tensor(g, "features.norm_std");
        if (!mu || !sd || mu->type != SORI_GGML_F32 || sd->type != SORI_GGML_F32 ||
            mu->n_elements != p.n_mels || sd->n_elements != p.n_mels)
            return sori_fail(err, SORI_ERR_FORMAT, 0,
                             "%s: features.normalize 'fixed' needs f32 features.norm_mean and features.norm_std of n_mels values",
                             path);
        p.norm_mean = mu->data;
        p.norm_std = sd->data;
    }
    if (win) {
        if (win->type != SORI_GGML_F32 || win->n_elements != p.win_length)
            return sori_fail(err, SORI_ERR_FORMAT, 0, "%s: features.window: %lld values of type %u, f32 win_length = "
                             "%d expected", path, (long long)win->n_elements, win->type, p.win_length);
        if (!all_finite(win))
            return sori_fail(err, SORI_ERR_FORMAT, 0, "%s: features.window has NaN or infinite values", path);
        p.window_values = win->data;
    }
    sori_status st = sori_features_create(&p, out, err);
    if (st != SORI_OK && err) { /* what the extractor refuses, said about the file */
        char why[sizeof err->message];
        snprintf(why, sizeof why, "%s", err->message);
        st = sori_fail(err, SORI_ERR_FORMAT, 0, "%s: features.*: %.180s", path, why);
    } else if (st != SORI_OK) {
        st = SORI_ERR_FORMAT;
    }
    return st;
}

/* The model from an opened file (not taken), named path in messages. */
static sori_status load_model(sori_runtime *rt, const sori_gguf *g, const char *path,
                              const sori_asr_model_params *params, sori_asr_model **out, sori_error *err)
{
    if (!rt || !path || !out || !params)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "asr: NULL argument");
    if (params->decoder < SORI_ASR_DECODER_AUTO || params->decoder > SORI_ASR_DECODER_RNNT)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "asr: unknown decoder %d", (int)params->decoder);
    if (params->beam < 0 || params->beam > 256 || !isfinite(params->lm_weight) || !isfinite(params->lm_bonus) ||
        params->lm_weight > 10 || fabsf(params->lm_bonus) > 100) /* checked before any weight is read */
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "asr: beam %d (0..256), LM weight %g (<= 10), bonus %g",
                         params->beam, params->lm_weight, params->lm_bonus);
    *out = NULL;
    sori_asr_model *m = calloc(1, sizeof *m);
    if (!m)
        return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "asr: out of memory");
    m->rt = rt;
    sori_status st = sori_conformer_load_gguf(rt, g, path, &m->enc, err);
    if (st == SORI_OK)
        st = load_features(g, path, &m->fx, err);
    if (st == SORI_OK) {
        sori_conformer_info ci = sori_conformer_get_info(m->enc);
        sori_feature_params fp = sori_features_params(m->fx);
        if (fp.n_mels != ci.feat_in)
            st = sori_fail(err, SORI_ERR_FORMAT, 0, "%s: features.n_mels: %d mel bins, but the encoder takes "
                           "sori.conformer.feat_in = %d", path, fp.n_mels, ci.feat_in);
        m->sample_rate = fp.sample_rate_hz;
        m->frame_shift_s = (double)fp.hop_length * ci.subsampling_factor / fp.sample_rate_hz;
        const char *tok = "chars", *name = "";
        sori_gguf_get_str(g, "sori.conformer.tokenizer", &tok);
        m->spm = strcmp(tok, "sentencepiece") == 0;
        bool has_rnnt = sori_conformer_has_rnnt(m->enc), has_ctc = sori_conformer_has_ctc(m->enc);
        if (params->decoder == SORI_ASR_DECODER_RNNT && !has_rnnt)
            st = sori_fail(err, SORI_ERR_UNSUPPORTED, 0, "%s: the model has no RNN-T head (CTC only)", path);
        else if (params->decoder == SORI_ASR_DECODER_CTC && !has_ctc)
            st = sori_fail(err, SORI_ERR_UNSUPPORTED, 0, "%s: the model has no CTC head (RNN-T only)", path);
        /* auto: the transducer where there is one (NeMo's hybrid default) */
        m->rnnt = params->decoder == SORI_ASR_DECODER_RNNT || (params->decoder == SORI_ASR_DECODER_AUTO && has_rnnt);
        sori_gguf_get_str(g, "general.name", &name);
        snprintf(m->name, sizeof m->name, "%s", name);
    }
    if (st == SORI_OK && (params->lm_path || params->beam > 0 || params->hotwords) && m->rnnt)
        st = sori_fail(err, SORI_ERR_UNSUPPORTED, 0, "asr: beam search, LM fusion and hotwords are for the CTC "
                       "head (the model decodes with RNN-T: choose the CTC decoder)");
    if (st == SORI_OK && (params->lm_path || params->beam > 0 || params->hotwords)) {
        beam_defaults(&m->beam, params->beam);
        if (params->lm_path)
            st = load_lm(m, params, err);
        if (st == SORI_OK && params->hotwords)
            st = make_hotwords(m, params->hotwords, params->hotword_score, &m->hotwords, err);
        m->beam.hotwords = m->hotwords;
    }
    if (st != SORI_OK) {
        sori_asr_model_free(m);
        return st;
    }
    *out = m;
    return SORI_OK;
}

sori_status sori_asr_model_load(sori_runtime *rt, const char *path, const sori_asr_model_params *params,
                                sori_asr_model **out, sori_error *err)
{
    if (out)
        *out = NULL;
    if (!rt || !path || !out || !params)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "asr: NULL argument");
    sori_gguf *g = NULL;
    sori_status st = sori_gguf_open_file(path, &g, err);
    if (st == SORI_OK)
        st = load_model(rt, g, path, params, out, err);
    sori_gguf_free(g);
    return st;
}

sori_status sori_asr_model_load_memory(sori_runtime *rt, const void *data, size_t size,
                                       const sori_asr_model_params *params, sori_asr_model **out,
                                       sori_error *err)
{
    if (out)
        *out = NULL;
    if (!rt || !data || !out || !params)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "asr: NULL argument");
    sori_gguf *g = NULL;
    sori_status st = sori_gguf_open_memory(data, size, &g, err);
    if (st != SORI_OK && err) { /* the reader's message does not know what the buffer is */
        char why[sizeof err->message];
        snprintf(why, sizeof why, "%s", err->message);
        sori_fail(err, st, 0, "<memory>: %s", why);
    }
    if (st == SORI_OK)
        st = load_model(rt, g, "<memory>", params, out, err);
    sori_gguf_free(g);
    return st;
}

void sori_asr_model_free(sori_asr_model *m)
{
    if (!m)
        return;
    sori_conformer_free(m->enc);
    sori_features_free(m->fx);
    sori_ngram_free(m->lm);
    free(m->tok2lm);
    sori_hotwords_free(m->hotwords);
    free(m);
}

sori_asr_model_info sori_asr_model_get_info(const sori_asr_model *m)
{
    sori_asr_model_info i = {0};
    if (!m)
        return i;
    sori_conformer_info ci = sori_conformer_get_info(m->enc);
    i.sample_rate_hz = m->sample_rate;
    i.vocab_size = ci.vocab_size;
    i.d_model = ci.d_model;
    i.n_layers = ci.n_layers;
    i.frame_shift_s = m->frame_shift_s;
    i.name = m->name;
    i.decoder = m->rnnt ? SORI_ASR_DECODER_RNNT : SORI_ASR_DECODER_CTC;
    sori_conformer_stream_cfg sc = sori_conformer_get_stream_cfg(m->enc);
    i.cache_aware = sc.supported;
    i.stream_chunk_ms = sc.supported ? sc.out_per_chunk * m->frame_shift_s * 1000.0 : 0;
    i.stream_state_bytes = sori_conformer_cache_bytes(m->enc) + (m->rnnt ? sori_rnnt_state_bytes(m->enc) : 0);
    i.beam = m->beam.beam;
    i.lm_weight = m->lm ? m->beam.weight : 0.0f;
    i.lm_bonus = m->lm ? m->beam.bonus : 0.0f;
    i.n_hotwords = sori_hotwords_count(m->hotwords);
    return i;
}

void sori_asr_result_free(sori_asr_result *r)
{
    if (!r)
        return;
    for (int i = 0; i < r->n_words; i++)
        free(r->words[i].text);
    free(r->words);
    free(r->text);
    free(r);
}

/* ---- CTC greedy decoding ----------------------------------------------------------- */

typedef struct {
    char *text;
    size_t len, cap;
} sbuf;

static int sb_put(sbuf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->text, cap);
        if (!p)
            return -1;
        b->text = p;
        b->cap = cap;
    }
    memcpy(b->text + b->len, s, n);
    b->len += n;
    b->text[b->len] = '\0';
    return 0;
}

typedef struct {
    sbuf text;       /* the current word */
    double start_s;
    int64_t last_frame;
    float conf;
    int open;
} word_acc;

static int close_word(sori_asr_result *r, word_acc *w, double frame_s, int *cap)
{
    if (!w->open)
        return 0;
    if (r->n_words == *cap) {
        int nc = *cap ? *cap * 2 : 16;
        sori_asr_word *nw = realloc(r->words, (size_t)nc * sizeof *nw);
        if (!nw)
            return -1;
        r->words = nw;
        *cap = nc;
    }
    sori_asr_word *out = &r->words[r->n_words++];
    out->text = w->text.text;
    out->start_s = w->start_s;
    out->end_s = (double)(w->last_frame + 1) * frame_s;
    out->confidence = w->conf;
    memset(w, 0, sizeof *w);
    return 0;
}

/* A decoded token: its vocabulary index, the encoder frames it spans and
 * its posterior (CTC: at its first frame; RNN-T: at its emission). */
typedef struct {
    int32_t token, first, last;
    float prob;
} hyp_tok;

/* Tokens -> words with times and confidences -> text. */
static sori_status tokens_decode(const sori_asr_model *m, const hyp_tok *tk, int64_t n, sori_asr_result *r,
                                 sori_error *err)
{
    word_acc w = {0};
    int cap = 0, failed = 0;
    for (int64_t i = 0; i < n && !failed; i++) {
        const char *tok = sori_conformer_token(m->enc, tk[i].token);
        if (!tok)
            continue;
        const char *piece = tok;
        int starts_word = 0;
        if (m->spm && strncmp(tok, "\xe2\x96\x81", 3) == 0) { /* "▁" */
            starts_word = 1;
            piece = tok + 3;
        }
        if (!m->spm && strcmp(tok, " ") == 0) { /* a space token ends the word */
            failed = close_word(r, &w, m->frame_shift_s, &cap) != 0;
            continue;
        }
        if (starts_word)
            failed = close_word(r, &w, m->frame_shift_s, &cap) != 0;
        if (!*piece)
            continue;
        if (!w.open) {
            w.open = 1;
            w.start_s = (double)tk[i].first * m->frame_shift_s;
            w.conf = 1.0f;
        }
        failed |= sb_put(&w.text, piece, strlen(piece)) != 0;
        w.last_frame = tk[i].last;
        if (tk[i].prob < w.conf)
            w.conf = tk[i].prob;
    }
    if (!failed)
        failed = close_word(r, &w, m->frame_shift_s, &cap) != 0;
    free(w.text.text);
    if (failed)
        return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "asr: out of memory");
    /* the text: words joined by spaces */
    sbuf text = {0};
    double conf = 0;
    for (int i = 0; i < r->n_words && !failed; i++) {
        if (i)
            failed |= sb_put(&text, " ", 1) != 0;
        failed |= sb_put(&text, r->words[i].text, strlen(r->words[i].text)) != 0;
        conf += r->words[i].confidence;
    }
    if (!failed && !text.text)
        failed = sb_put(&text, "", 0) != 0;
    if (failed) {
        free(text.text);
        return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "asr: out of memory");
    }
    r->text = text.text;
    r->confidence = r->n_words ? (float)(conf / r->n_words) : 1.0f;
    return SORI_OK;
}

/* Greedy CTC over per-frame best classes and their posteriors: repeats
 * merge, blanks drop out. */
static sori_status ctc_decode(const sori_asr_model *m, const int32_t *best_ids, const float *probs,
                              int64_t T, int V, sori_asr_result *r, sori_error *err)
{
    const int blank = V - 1;
    hyp_tok *tk = malloc((size_t)(T ? T : 1) * sizeof *tk);
    if (!tk)
        return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "asr: out of memory");
    int64_t n = 0;
    int prev = -1;
    for (int64_t t = 0; t < T; t++) {
        int best = best_ids[t];
        if (best != blank && best == prev)
            tk[n - 1].last = (int32_t)t; /* the token goes on */
        else if (best != blank)
            tk[n++] = (hyp_tok){best, (int32_t)t, (int32_t)t, probs[t]};
        prev = best;
    }
    sori_status st = tokens_decode(m, tk, n, r, err);
    free(tk);
    return st;
}

/* RNN-T emissions -> the result. */
static sori_status rnnt_decode(const sori_asr_model *m, const sori_rnnt_emit *e, int64_t n, sori_asr_result *r,
                               sori_error *err)
{
    hyp_tok *tk = malloc((size_t)(n ? n : 1) * sizeof *tk);
    if (!tk)
        return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "asr: out of memory");
    for (int64_t i = 0; i < n; i++)
        tk[i] = (hyp_tok){e[i].token, e[i].frame, e[i].frame, e[i].prob};
    sori_status st = tokens_decode(m, tk, n, r, err);
    free(tk);
    return st;
}

/* Best class and its posterior per frame of log-probs. */
static void argmax_rows(const float *logp, int64_t T, int V, int32_t *best, float *prob)
{
    for (int64_t t = 0; t < T; t++) {
        const float *row = logp + t * V;
        int b = 0;
        for (int j = 1; j < V; j++)
            if (row[j] > row[b])
                b = j;
        best[t] = b;
        prob[t] = expf(row[b]);
    }
}

static sori_status ctc_greedy(const sori_asr_model *m, const float *logp, int64_t T, int V,
                              sori_asr_result *r, sori_error *err)
{
    int32_t *best = malloc((size_t)(T ? T : 1) * sizeof(int32_t));
    float *prob = malloc((size_t)(T ? T : 1) * sizeof(float));
    sori_status st = best && prob ? SORI_OK : sori_fail(err, SORI_ERR_NO_MEMORY, 0, "asr: out of memory");
    if (st == SORI_OK) {
        argmax_rows(logp, T, V, best, prob);
        st = ctc_decode(m, best, prob, T, V, r, err);
    }
    free(best);
    free(prob);
    return st;
}

/* The beam's best prefix -> the result. */
static sori_status beam_decode(const sori_asr_model *m, const sori_ctc_beam *b, int final, sori_asr_result *r,
                               sori_error *err)
{
    sori_ctc_beam_tok *bt = NULL;
    int64_t n = 0;
    sori_status st = sori_ctc_beam_best(b, final, &bt, &n, err);
    hyp_tok *tk = st == SORI_OK ? malloc((size_t)(n ? n : 1) * sizeof *tk) : NULL;
    if (st == SORI_OK && !tk)
        st = sori_fail(err, SORI_ERR_NO_MEMORY, 0, "asr: out of memory");
    for (int64_t i = 0; i < n && tk; i++)
        tk[i] = (hyp_tok){bt[i].token, bt[i].first, bt[i].last, bt[i].prob};
    if (st == SORI_OK)
        st = tokens_decode(m, tk, n, r, err);
    free(tk);
    free(bt);
    return st;
}

/* CTC over a whole utterance: greedy, or the beam search (with the LM). */
static sori_status ctc_search(const sori_asr_model *m, const float *logp, int64_t T, int V, sori_asr_result *r,
                              sori_error *err)
{
    if (m->beam.beam == 0)
        return ctc_greedy(m, logp, T, V, r, err);
    sori_ctc_beam *b = NULL;
    sori_status st = sori_ctc_beam_create(V, &m->beam, &b, err);
    if (st == SORI_OK)
        st = sori_ctc_beam_step(b, logp, T, err);
    if (st == SORI_OK)
        st = beam_decode(m, b, 1, r, err);
    sori_ctc_beam_free(b);
    return st;
}

/* transcribe_batch; with keep_logp (CTC models), each utterance's log-probs are handed over
 * (keep_logp[i], keep_frames[i]; NULL and 0 when it has no frames). */
static sori_status transcribe_impl(sori_asr_model *m, int n, const float *const *samples,
                                   const int64_t *n_samples, int sample_rate_hz, sori_asr_result **out,
                                   float **keep_logp, int64_t *keep_frames, sori_error *err)
{
    if (!m || n < 0 || (n && (!samples || !n_samples || !out)) || sample_rate_hz < 1000)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "asr: bad argument");
    for (int i = 0; i < n; i++) {
        out[i] = NULL;
        if (n_samples[i] < 0 || (n_samples[i] && !samples[i]))
            return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "asr: utterance %d: bad samples", i);
    }
    const int V = sori_conformer_get_info(m->enc).vocab_size + 1;
    const int D = sori_features_dim(m->fx);
    const int hop = sori_features_params(m->fx).hop_length;
    float **feats = calloc((size_t)n + 1, sizeof(float *)), **logp = calloc((size_t)n + 1, sizeof(float *));
    const float **fin = calloc((size_t)n + 1, sizeof(float *));
    int64_t *frames = calloc((size_t)n + 1, sizeof(int64_t));
    int *idx = calloc((size_t)n + 1, sizeof(int)); /* the utterances that have frames */
    sori_status st = feats && logp && fin && frames && idx ? SORI_OK
                                                         : sori_fail(err, SORI_ERR_NO_MEMORY, 0, "asr: out of memory");
    int k = 0;
    for (int i = 0; i < n && st == SORI_OK; i++) {
        if (!(out[i] = calloc(1, sizeof **out))) {
            st = sori_fail(err, SORI_ERR_NO_MEMORY, 0, "asr: out of memory");
            break;
        }
        out[i]->is_final = 1;
        out[i]->duration_s = (double)n_samples[i] / sample_rate_hz;
        sori_audio res = {0};
        const float *x = samples[i];
        int64_t ns = n_samples[i];
        if (ns > 0 && sample_rate_hz != m->sample_rate) {
            sori_audio inp = {(float *)samples[i], n_samples[i], 1, sample_rate_hz};
            st = sori_audio_resample(&inp, m->sample_rate, &res, err);
            x = res.samples;
            ns = res.n_frames;
        }
        int64_t valid = ns / hop; /* NeMo feeds the len // hop valid frames */
        if (st == SORI_OK && valid > 0) {
            int64_t want = sori_features_num_frames(m->fx, ns), got = 0;
            feats[k] = malloc((size_t)want * D * sizeof(float));
            if (!feats[k])
                st = sori_fail(err, SORI_ERR_NO_MEMORY, 0, "asr: out of memory");
            if (st == SORI_OK)
                st = sori_features_compute(m->fx, x, ns, feats[k], want, &got, err);
            if (st == SORI_OK) {
                int64_t T = sori_conformer_out_frames(m->enc, valid);
                /* CTC log-probs, or the encoder outputs that RNN-T decodes */
                const int W = m->rnnt ? sori_conformer_get_info(m->enc).d_model : V;
                if (!(logp[k] = malloc((size_t)T * W * sizeof(float))))
                    st = sori_fail(err, SORI_ERR_NO_MEMORY, 0, "asr: out of memory");
                fin[k] = feats[k];
                frames[k] = valid;
                idx[k] = i;
                k++;
            }
        }
        sori_audio_free(&res);
    }
    if (st == SORI_OK && k > 0 && !m->rnnt)
        st = sori_conformer_forward_batch(m->enc, k, fin, frames, NULL, logp, err);
    for (int j = 0; j < k && st == SORI_OK && !m->rnnt; j++) {
        int64_t T = sori_conformer_out_frames(m->enc, frames[j]);
        st = ctc_search(m, logp[j], T, V, out[idx[j]], err);
        if (keep_logp) {
            keep_logp[idx[j]] = logp[j];
            keep_frames[idx[j]] = T;
            logp[j] = NULL;
        }
    }
    if (st == SORI_OK && k > 0 && m->rnnt) { /* encoder outputs (the logp buffers are big enough), then greedy RNN-T */
        st = sori_conformer_forward_batch(m->enc, k, fin, frames, logp, NULL, err);
        sori_rnnt_state *rs = NULL;
        sori_rnnt_emit *toks = NULL;
        int64_t cap = 0;
        if (st == SORI_OK)
            st = sori_rnnt_state_create(m->enc, &rs, err);
        for (int j = 0; j < k && st == SORI_OK; j++) {
            int64_t n_tok = 0;
            st = sori_rnnt_state_reset(rs, err);
            if (st == SORI_OK)
                st = sori_rnnt_greedy(rs, logp[j], sori_conformer_out_frames(m->enc, frames[j]), 0, &toks, &n_tok,
                                      &cap, err);
            if (st == SORI_OK)
                st = rnnt_decode(m, toks, n_tok, out[idx[j]], err);
        }
        free(toks);
        sori_rnnt_state_free(rs);
    }
    for (int i = 0; i < n && st == SORI_OK; i++) {
        if (!out[i]->text)
            st = ctc_greedy(m, NULL, 0, V, out[i], err); /* no frames: the empty result */
        for (int w = 0; st == SORI_OK && w < out[i]->n_words; w++)
            if (out[i]->words[w].end_s > out[i]->duration_s)
                out[i]->words[w].end_s = out[i]->duration_s;
    }
    for (int j = 0; j < n + 1 && feats && logp; j++) {
        free(feats[j]);
        free(logp[j]);
    }
    free(feats);
    free(logp);
    free(fin);
    free(frames);
    free(idx);
    if (st != SORI_OK)
        for (int i = 0; i < n; i++) {
            sori_asr_result_free(out[i]);
            out[i] = NULL;
        }
    return st;
}

sori_status sori_asr_transcribe_batch(sori_asr_model *m, int n, const float *const *samples,
                                      const int64_t *n_samples, int sample_rate_hz,
                                      sori_asr_result **out, sori_error *err)
{
    return transcribe_impl(m, n, samples, n_samples, sample_rate_hz, out, NULL, NULL, err);
}

sori_status sori_asr_ctc_logprobs(sori_asr_model *m, const float *samples, int64_t n_samples, int sample_rate_hz,
                                  float **out, int64_t *n_frames, sori_error *err)
{
    if (!m || !out || !n_frames || n_samples < 0 || (n_samples && !samples))
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "asr: bad argument");
    *out = NULL;
    *n_frames = 0;
    if (m->rnnt)
        return sori_fail(err, SORI_ERR_UNSUPPORTED, 0, "asr: the model decodes with RNN-T (choose the CTC decoder)");
    sori_asr_result *r = NULL;
    sori_status st = transcribe_impl(m, 1, &samples, &n_samples, sample_rate_hz, &r, out, n_frames, err);
    sori_asr_result_free(r);
    return st;
}

sori_status sori_asr_transcribe(sori_asr_model *m, const float *samples, int64_t n_samples,
                                int sample_rate_hz, sori_asr_result **out, sori_error *err)
{
    if (!m || !out || n_samples < 0 || (n_samples && !samples))
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "asr: bad argument");
    return sori_asr_transcribe_batch(m, 1, &samples, &n_samples, sample_rate_hz, out, err);
}

/* ---- buffered streaming ------------------------------------------------------------- */

struct sori_asr_stream {
    sori_asr_model *m;
    sori_asr_stream_params p;
    int64_t chunk, left, right; /* samples at the model rate */
    sori_resampler *rs;
    int in_rate;
    float *buf;        /* samples [base, base + n_buf) at the model rate */
    int64_t base, n_buf, cap;
    int64_t total;     /* samples received (after resampling) */
    int64_t next;      /* index of the next chunk to decode */
    int finished;
    int32_t *best;     /* per kept output frame: best class and posterior */
    float *prob;
    int64_t n_frames, frames_cap;
    /* endpointing */
    int64_t utt_start;      /* where the current utterance began (samples) */
    int64_t *ends;          /* pending utterance ends, oldest first */
    int n_ends, ends_cap;
    sori_vad *vad;
    sori_endpoint ep;
    int64_t vad_frames;     /* VAD frames seen */
    sori_asr_result **finals; /* finalized utterances, oldest first */
    int n_finals, finals_cap;
    /* cache-aware mode */
    int ca;
    sori_conformer_stream_cfg sc;
    sori_feature_stream *fst;
    float *feat;              /* the utterance's feature frames [feat_base, feat_base + n_feat) */
    int64_t feat_base, n_feat, feat_cap;
    int64_t fed;              /* samples (absolute) given to the feature stream */
    int flushed;              /* the utterance's features are complete */
    int64_t steps, consumed;  /* encoder steps done; feature frames consumed */
    int64_t enc_frames;       /* encoder frames of the utterance so far */
    sori_conformer_cache *cache;
    sori_rnnt_state *rnn;
    sori_rnnt_emit *toks;     /* RNN-T emissions of the utterance */
    int64_t n_toks, toks_cap;
    sori_ctc_beam *beam;      /* CTC beam search over the utterance (models loaded with one, or hotwords) */
    sori_hotwords *hotwords;  /* the stream's own (params.hotwords) */
};

sori_asr_stream_params sori_asr_stream_default_params(void)
{
    sori_asr_stream_params p = {.chunk_ms = 1600, .left_context_ms = 2000, .right_context_ms = 800,
                                .endpointing = true, .endpoint = sori_endpoint_default_params(),
                                .mode = SORI_ASR_STREAM_AUTO, .hotwords = NULL,
                                .hotword_score = SORI_ASR_HOTWORD_SCORE};
    return p;
}

/* samples per encoder output frame */
static int64_t frame_samples(const sori_asr_model *m)
{
    return (int64_t)(m->frame_shift_s * m->sample_rate + 0.5);
}

sori_status sori_asr_stream_create(sori_asr_model *m, const sori_asr_stream_params *p,
                                   sori_asr_stream **out, sori_error *err)
{
    if (!m || !p || !out)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "asr stream: NULL argument");
    *out = NULL;
    int64_t fs = frame_samples(m);
    int64_t chunk = (int64_t)p->chunk_ms * m->sample_rate / 1000;
    sori_conformer_stream_cfg sc = sori_conformer_get_stream_cfg(m->enc);
    if (p->mode < SORI_ASR_STREAM_AUTO || p->mode > SORI_ASR_STREAM_CACHE_AWARE)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "asr stream: unknown mode %d", (int)p->mode);
    if (p->mode == SORI_ASR_STREAM_CACHE_AWARE && !sc.supported)
        return sori_fail(err, SORI_ERR_UNSUPPORTED, 0, "asr stream: the model cannot stream cache-aware: %s", sc.why);
    const int ca = p->mode == SORI_ASR_STREAM_CACHE_AWARE || (p->mode == SORI_ASR_STREAM_AUTO && sc.supported);
    if (ca) {
        chunk = fs; /* unused in this mode */
    } else if (p->chunk_ms <= 0 || p->left_context_ms < 0 || p->right_context_ms < 0 || chunk % fs ||
        p->chunk_ms > 60000 || p->left_context_ms > 60000 || p->right_context_ms > 60000)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0,
                         "asr stream: chunk %d ms must be a positive multiple of %.0f ms; contexts 0..60 s",
                         p->chunk_ms, m->frame_shift_s * 1000);
    sori_asr_stream *s = calloc(1, sizeof *s);
    if (!s)
        return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "asr stream: out of memory");
    s->m = m;
    s->p = *p;
    s->p.hotwords = NULL; /* compiled below; the caller's text need not outlive the call */
    s->chunk = chunk;
    s->ca = ca;
    s->sc = sc;
    /* contexts rounded up to whole output frames, so the chunk's frames line up */
    s->left = ((int64_t)p->left_context_ms * m->sample_rate / 1000 + fs - 1) / fs * fs;
    s->right = (int64_t)p->right_context_ms * m->sample_rate / 1000;
    s->cap = s->left + s->chunk + s->right + 4096;
    s->buf = malloc((size_t)s->cap * sizeof(float));
    if (!s->buf) {
        free(s);
        return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "asr stream: out of memory");
    }
    {
        sori_status st = SORI_OK;
        if (ca)
            st = sori_feature_stream_create(m->fx, &s->fst, err);
        if (st == SORI_OK && ca)
            st = sori_conformer_cache_create(m->enc, &s->cache, err);
        if (st == SORI_OK && m->rnnt) /* RNN-T decoding state, in either mode */
            st = sori_rnnt_state_create(m->enc, &s->rnn, err);
        sori_ctc_beam_params bp = m->beam;
        if (st == SORI_OK && p->hotwords) { /* the stream's hotwords instead of the model's */
            if (m->rnnt)
                st = sori_fail(err, SORI_ERR_UNSUPPORTED, 0, "asr stream: hotwords are for the CTC head "
                               "(the model decodes with RNN-T: choose the CTC decoder)");
            else
                st = make_hotwords(m, p->hotwords, p->hotword_score, &s->hotwords, err);
            if (bp.beam == 0)
                beam_defaults(&bp, 0);
            bp.hotwords = s->hotwords;
        }
        if (st == SORI_OK && bp.beam > 0)
            st = sori_ctc_beam_create(sori_conformer_get_info(m->enc).vocab_size + 1, &bp, &s->beam, err);
        if (st != SORI_OK) {
            sori_asr_stream_free(s);
            return st;
        }
    }
    if (p->endpointing) {
        sori_vad_params vp = sori_vad_default_params();
        vp.sample_rate_hz = m->sample_rate;
        sori_status st = sori_vad_create(&vp, &s->vad, err);
        if (st != SORI_OK) {
            sori_asr_stream_free(s);
            return st;
        }
        s->ep = sori_endpoint_init();
    }
    *out = s;
    return SORI_OK;
}

void sori_asr_stream_free(sori_asr_stream *s)
{
    if (!s)
        return;
    sori_resampler_free(s->rs);
    sori_vad_free(s->vad);
    for (int i = 0; i < s->n_finals; i++)
        sori_asr_result_free(s->finals[i]);
    free(s->finals);
    free(s->ends);
    free(s->buf);
    free(s->best);
    free(s->prob);
    sori_feature_stream_free(s->fst);
    free(s->feat);
    sori_conformer_cache_free(s->cache);
    sori_rnnt_state_free(s->rnn);
    free(s->toks);
    sori_ctc_beam_free(s->beam);
    sori_hotwords_free(s->hotwords);
    free(s);
}

static sori_status finalize_ready(sori_asr_stream *s, sori_error *err);
static int64_t ca_take(const sori_asr_stream *s);

static sori_status stream_push(sori_asr_stream *s, const float *x, int64_t n, sori_error *err)
{
    if (s->n_buf + n > s->cap) {
        int64_t cap = s->cap;
        while (cap < s->n_buf + n)
            cap *= 2;
        float *b = realloc(s->buf, (size_t)cap * sizeof(float));
        if (!b)
            return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "asr stream: out of memory");
        s->buf = b;
        s->cap = cap;
    }
    memcpy(s->buf + s->n_buf, x, (size_t)n * sizeof(float));
    s->n_buf += n;
    s->total += n;
    if (!s->vad || n == 0)
        return SORI_OK;
    /* endpointing: the VAD's decisions through the endpoint rules */
    uint8_t dec[256];
    int fs = sori_vad_frame_samples(s->vad);
    for (int64_t off = 0; off < n;) {
        int64_t take = n - off < 200 * (int64_t)fs ? n - off : 200 * (int64_t)fs;
        int64_t nd = 0;
        sori_status st = sori_vad_accept(s->vad, x + off, take, dec, 256, &nd, err);
        if (st != SORI_OK)
            return st;
        for (int64_t i = 0; i < nd; i++) {
            s->vad_frames++;
            if (sori_endpoint_step(&s->p.endpoint, &s->ep, dec[i], sori_vad_default_params().frame_ms) ==
                SORI_ENDPOINT_NONE)
                continue;
            if (s->n_ends == s->ends_cap) {
                int cap = s->ends_cap ? 2 * s->ends_cap : 8;
                int64_t *e = realloc(s->ends, (size_t)cap * sizeof *e);
                if (!e)
                    return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "asr stream: out of memory");
                s->ends = e;
                s->ends_cap = cap;
            }
            s->ends[s->n_ends++] = s->vad_frames * fs;
        }
        off += take;
    }
    return SORI_OK;
}

sori_status sori_asr_stream_accept(sori_asr_stream *s, const float *samples, int64_t n_samples,
                                   int sample_rate_hz, sori_error *err)
{
    if (!s || n_samples < 0 || (n_samples && !samples) || sample_rate_hz < 1000 || sample_rate_hz > 768000)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "asr stream: bad argument");
    if (s->finished)
        return sori_fail(err, SORI_ERR_STATE, 0, "asr stream: input after input_finished");
    if (s->in_rate && s->in_rate != sample_rate_hz)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "asr stream: the rate changed from %d to %d Hz",
                         s->in_rate, sample_rate_hz);
    for (int64_t i = 0; i < n_samples; i++)
        if (!isfinite(samples[i]))
            return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "asr stream: NaN or infinite sample");
    sori_status st = SORI_OK;
    if (!s->in_rate) {
        s->in_rate = sample_rate_hz;
        if (sample_rate_hz != s->m->sample_rate)
            st = sori_resampler_create(sample_rate_hz, s->m->sample_rate, 1, &s->rs, err);
    }
    if (st != SORI_OK || n_samples == 0)
        return st;
    if (!s->rs) {
        st = stream_push(s, samples, n_samples, err);
        return st == SORI_OK ? finalize_ready(s, err) : st;
    }
    size_t cap = sori_resampler_max_out(s->rs, (size_t)n_samples), got = 0;
    float *tmp = malloc(cap * sizeof(float));
    if (!tmp)
        return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "asr stream: out of memory");
    st = sori_resampler_process(s->rs, samples, (size_t)n_samples, tmp, cap, &got, err);
    if (st == SORI_OK)
        st = stream_push(s, tmp, (int64_t)got, err);
    free(tmp);
    return st == SORI_OK ? finalize_ready(s, err) : st;
}

sori_status sori_asr_stream_input_finished(sori_asr_stream *s, sori_error *err)
{
    if (!s)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "asr stream: NULL");
    if (s->finished)
        return SORI_OK;
    sori_status st = SORI_OK;
    if (s->rs) { /* the resampler's tail */
        float tmp[4096];
        size_t got = 1;
        while (st == SORI_OK && got) {
            st = sori_resampler_process(s->rs, NULL, 0, tmp, 4096, &got, err);
            if (st == SORI_OK && got)
                st = stream_push(s, tmp, (int64_t)got, err);
        }
    }
    s->finished = 1;
    return st == SORI_OK ? finalize_ready(s, err) : st;
}

/* Where the current utterance ends: the oldest pending endpoint, the end of
 * input, or -1 (still open). */
static int64_t utt_limit(const sori_asr_stream *s)
{
    if (s->n_ends > 0)
        return s->ends[0];
    return s->finished ? s->total : -1;
}

int sori_asr_stream_is_ready(const sori_asr_stream *s)
{
    if (!s)
        return 0;
    if (s->ca)
        return ca_take(s) > 0;
    int64_t start = s->utt_start + s->next * s->chunk, lim = utt_limit(s);
    if (lim >= 0)
        return start < lim;
    return start + s->chunk + s->right <= s->total;
}

static sori_status stream_snapshot_as(const sori_asr_stream *s, int final, sori_asr_result **out,
                                      sori_error *err);

/* The current utterance, ended at the oldest pending endpoint: its final
 * result is queued (when it has text) and the next utterance starts there. */
static sori_status close_utterance(sori_asr_stream *s, sori_error *err)
{
    sori_asr_result *r = NULL;
    sori_status st = stream_snapshot_as(s, 1, &r, err);
    if (st != SORI_OK)
        return st;
    r->duration_s = (double)(s->ends[0] - s->utt_start) / s->m->sample_rate;
    if (r->text[0]) {
        if (s->n_finals == s->finals_cap) {
            int cap = s->finals_cap ? 2 * s->finals_cap : 8;
            sori_asr_result **f = realloc(s->finals, (size_t)cap * sizeof *f);
            if (!f) {
                sori_asr_result_free(r);
                return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "asr stream: out of memory");
            }
            s->finals = f;
            s->finals_cap = cap;
        }
        s->finals[s->n_finals++] = r;
    } else {
        sori_asr_result_free(r);
    }
    s->utt_start = s->ends[0];
    memmove(s->ends, s->ends + 1, (size_t)(s->n_ends - 1) * sizeof *s->ends);
    s->n_ends--;
    return SORI_OK;
}

/* Finalizes every utterance whose endpoint has been reached by decoding. */
static sori_status buffered_finalize_ready(sori_asr_stream *s, sori_error *err)
{
    while (s->n_ends > 0 && s->utt_start + s->next * s->chunk >= s->ends[0]) {
        sori_status st = close_utterance(s, err);
        if (st != SORI_OK)
            return st;
        s->next = 0;
        s->n_frames = 0;
        s->n_toks = 0;
        sori_ctc_beam_reset(s->beam);
        s->enc_frames = 0;
        if (s->rnn) {
            sori_status st = sori_rnnt_state_reset(s->rnn, err);
            if (st != SORI_OK)
                return st;
        }
    }
    return SORI_OK;
}

/* ---- cache-aware mode --------------------------------------------------------------- */

/* Moves the current utterance's samples into the feature stream (up to its
 * endpoint) and its ready frames into s->feat. */
static sori_status ca_feed(sori_asr_stream *s, sori_error *err)
{
    const int D = sori_features_dim(s->m->fx);
    int64_t lim = utt_limit(s), upto = lim >= 0 ? lim : s->total;
    sori_status st = SORI_OK;
    if (s->fed < upto) {
        st = sori_feature_stream_accept(s->fst, s->buf + (s->fed - s->base), upto - s->fed, err);
        s->fed = upto;
    }
    if (st == SORI_OK && lim >= 0 && !s->flushed && s->fed >= lim) {
        st = sori_feature_stream_finish(s->fst, err);
        s->flushed = 1;
    }
    int64_t r = st == SORI_OK ? sori_feature_stream_ready(s->fst) : 0;
    if (r > 0) {
        if (s->n_feat + r > s->feat_cap) {
            int64_t cap = s->feat_cap ? s->feat_cap : 256;
            while (cap < s->n_feat + r)
                cap *= 2;
            float *f = realloc(s->feat, (size_t)(cap * D) * sizeof(float));
            if (!f)
                return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "asr stream: out of memory");
            s->feat = f;
            s->feat_cap = cap;
        }
        int64_t got = 0;
        st = sori_feature_stream_read(s->fst, s->feat + s->n_feat * D, r, &got, err);
        s->n_feat += got;
    }
    /* samples already in the feature stream are not needed again */
    int64_t drop = s->fed - s->base;
    if (st == SORI_OK && drop > 0) {
        memmove(s->buf, s->buf + drop, (size_t)(s->n_buf - drop) * sizeof(float));
        s->n_buf -= drop;
        s->base += drop;
    }
    return st;
}

/* New feature frames a step may take now (0: not ready). NeMo's buffer
 * skips a last chunk too short for one subsampled frame. */
static int64_t ca_take(const sori_asr_stream *s)
{
    int64_t avail = s->feat_base + s->n_feat - s->consumed;
    int64_t need = s->steps == 0 ? s->sc.chunk_first : s->sc.chunk;
    if (avail >= need)
        return need;
    int64_t min = s->steps == 0 ? 1 : sori_conformer_get_info(s->m->enc).subsampling_factor;
    return s->flushed && avail >= min ? avail : 0;
}

static void ca_reset_utterance(sori_asr_stream *s)
{
    sori_feature_stream_reset(s->fst);
    s->feat_base = s->n_feat = 0;
    s->flushed = 0;
    s->steps = s->consumed = s->enc_frames = 0;
    s->n_toks = 0;
    s->n_frames = 0;
    sori_ctc_beam_reset(s->beam);
}

/* Finalizes every utterance whose endpoint has been reached by decoding. */
static sori_status ca_finalize_ready(sori_asr_stream *s, sori_error *err)
{
    sori_status st = ca_feed(s, err);
    while (st == SORI_OK && s->n_ends > 0 && s->flushed && ca_take(s) == 0) {
        st = close_utterance(s, err);
        if (st != SORI_OK)
            return st;
        ca_reset_utterance(s);
        st = sori_conformer_cache_reset(s->cache, err);
        if (st == SORI_OK && s->rnn)
            st = sori_rnnt_state_reset(s->rnn, err);
        if (st == SORI_OK)
            st = ca_feed(s, err);
    }
    return st;
}

static sori_status finalize_ready(sori_asr_stream *s, sori_error *err)
{
    return s->ca ? ca_finalize_ready(s, err) : buffered_finalize_ready(s, err);
}

static sori_status keep_frames(sori_asr_stream *s, const float *logp, int64_t n, int V, sori_error *err);

/* One cache-aware step for the ready streams whose step has this drop. */
static sori_status ca_step_group(sori_asr_model *m, sori_asr_stream **ready, int k, bool first, sori_error *err)
{
    const int D = sori_features_dim(m->fx), V = sori_conformer_get_info(m->enc).vocab_size + 1;
    const int d = sori_conformer_get_info(m->enc).d_model;
    sori_status st = SORI_OK;
    sori_asr_stream **g = calloc((size_t)k + 1, sizeof *g);
    sori_conformer_cache **caches = calloc((size_t)k + 1, sizeof *caches);
    const float **in = calloc((size_t)k + 1, sizeof *in);
    float **x = calloc((size_t)k + 1, sizeof *x), **out = calloc((size_t)k + 1, sizeof *out);
    int64_t *cnt = calloc((size_t)k + 1, sizeof *cnt), *take = calloc((size_t)k + 1, sizeof *take);
    int64_t *got = calloc((size_t)k + 1, sizeof *got);
    if (!g || !caches || !in || !x || !out || !cnt || !take || !got)
        st = sori_fail(err, SORI_ERR_NO_MEMORY, 0, "asr: out of memory");
    int n = 0;
    for (int j = 0; j < k && st == SORI_OK; j++) {
        sori_asr_stream *s = ready[j];
        if ((s->steps == 0) != first)
            continue;
        int64_t t = ca_take(s), pre = first ? 0 : s->sc.pre_cache, c = pre + t;
        x[n] = calloc((size_t)(c * D), sizeof(float));
        int64_t o = sori_conformer_out_frames(m->enc, c);
        out[n] = malloc((size_t)((o > 0 ? o : 1) * (m->rnnt ? d : V)) * sizeof(float));
        if (!x[n] || !out[n]) {
            st = sori_fail(err, SORI_ERR_NO_MEMORY, 0, "asr: out of memory");
            break;
        }
        for (int64_t f = 0; f < c; f++) { /* frames before the utterance's start stay zero */
            int64_t abs_f = s->consumed - pre + f;
            if (abs_f >= 0)
                memcpy(x[n] + f * D, s->feat + (abs_f - s->feat_base) * D, (size_t)D * sizeof(float));
        }
        g[n] = s;
        caches[n] = s->cache;
        in[n] = x[n];
        cnt[n] = c;
        take[n] = t;
        n++;
    }
    if (st == SORI_OK && n > 0)
        st = sori_conformer_stream_step(m->enc, n, caches, in, cnt, first ? 0 : g[0]->sc.drop,
                                        m->rnnt ? out : NULL, m->rnnt ? NULL : out, got, err);
    for (int j = 0; j < n && st == SORI_OK; j++) {
        sori_asr_stream *s = g[j];
        if (m->rnnt) {
            st = sori_rnnt_greedy(s->rnn, out[j], got[j], s->enc_frames, &s->toks, &s->n_toks, &s->toks_cap, err);
        } else {
            st = keep_frames(s, out[j], got[j], V, err);
        }
        s->enc_frames += got[j];
        s->consumed += take[j];
        s->steps++;
        /* keep the frames a later step's pre-encode cache needs */
        int64_t keep_from = s->consumed - s->sc.pre_cache;
        if (keep_from > s->feat_base) {
            int64_t dropf = keep_from - s->feat_base;
            memmove(s->feat, s->feat + dropf * D, (size_t)((s->n_feat - dropf) * D) * sizeof(float));
            s->n_feat -= dropf;
            s->feat_base = keep_from;
        }
        if (st == SORI_OK)
            st = ca_finalize_ready(s, err);
    }
    for (int j = 0; j < k + 1 && x && out; j++) {
        free(x[j]);
        free(out[j]);
    }
    free(g);
    free(caches);
    free(in);
    free(x);
    free(out);
    free(cnt);
    free(take);
    free(got);
    return st;
}

sori_status sori_asr_stream_pop_final(sori_asr_stream *s, sori_asr_result **out, sori_error *err)
{
    if (!s || !out)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "asr stream: NULL argument");
    *out = NULL;
    if (s->n_finals == 0)
        return SORI_OK;
    *out = s->finals[0];
    memmove(s->finals, s->finals + 1, (size_t)(s->n_finals - 1) * sizeof *s->finals);
    s->n_finals--;
    return SORI_OK;
}

static sori_status keep_frame(sori_asr_stream *s, int32_t best, float prob, sori_error *err)
{
    if (s->n_frames == s->frames_cap) {
        int64_t cap = s->frames_cap ? 2 * s->frames_cap : 256;
        int32_t *b = realloc(s->best, (size_t)cap * sizeof(int32_t));
        if (!b)
            return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "asr stream: out of memory");
        s->best = b;
        float *p = realloc(s->prob, (size_t)cap * sizeof(float));
        if (!p)
            return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "asr stream: out of memory");
        s->prob = p;
        s->frames_cap = cap;
    }
    s->best[s->n_frames] = best;
    s->prob[s->n_frames] = prob;
    s->n_frames++;
    return SORI_OK;
}

/* n decoded CTC frames of the utterance: into the beam search, or their best classes kept (greedy). */
static sori_status keep_frames(sori_asr_stream *s, const float *logp, int64_t n, int V, sori_error *err)
{
    if (s->beam)
        return sori_ctc_beam_step(s->beam, logp, n, err);
    sori_status st = SORI_OK;
    for (int64_t f = 0; f < n && st == SORI_OK; f++) {
        int32_t b;
        float p;
        argmax_rows(logp + f * V, 1, V, &b, &p);
        st = keep_frame(s, b, p, err);
    }
    return st;
}

sori_status sori_asr_decode_ready(sori_asr_model *m, sori_asr_stream *const *streams, int n,
                                  sori_error *err)
{
    if (!m || n < 0 || (n && !streams))
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "asr: bad argument");
    const int V = sori_conformer_get_info(m->enc).vocab_size + 1;
    const int D = sori_features_dim(m->fx);
    const int hop = sori_features_params(m->fx).hop_length;
    const int64_t fs = frame_samples(m);
    int k = 0;
    sori_status st = SORI_OK;
    sori_asr_stream **ready = calloc((size_t)n + 1, sizeof *ready);
    float **feats = calloc((size_t)n + 1, sizeof(float *)), **logp = calloc((size_t)n + 1, sizeof(float *));
    int64_t *frames = calloc((size_t)n + 1, sizeof(int64_t)), *wstart = calloc((size_t)n + 1, sizeof(int64_t));
    if (!ready || !feats || !logp || !frames || !wstart)
        st = sori_fail(err, SORI_ERR_NO_MEMORY, 0, "asr: out of memory");
    for (int i = 0; i < n && st == SORI_OK; i++) {
        sori_asr_stream *s = streams[i];
        if (!s || s->m != m)
            st = sori_fail(err, SORI_ERR_INVALID_ARG, 0, "asr: stream %d is NULL or of another model", i);
        else if (sori_asr_stream_is_ready(s))
            ready[k++] = s;
    }
    if (st == SORI_OK && m->enc && k > 0 && ready[0]->ca) {
        /* cache-aware: the first steps (no dropped frames) and later ones in two batches */
        for (int j = 0; j < k && st == SORI_OK; j++)
            if (!ready[j]->ca)
                st = sori_fail(err, SORI_ERR_INVALID_ARG, 0, "asr: cache-aware and buffered streams mixed in one call");
        if (st == SORI_OK)
            st = ca_step_group(m, ready, k, true, err);
        if (st == SORI_OK)
            st = ca_step_group(m, ready, k, false, err);
        k = 0; /* nothing left for the buffered path below */
    }
    /* the windows: [chunk start - left, chunk end + right), clipped */
    for (int j = 0; j < k && st == SORI_OK; j++) {
        sori_asr_stream *s = ready[j];
        int64_t c0 = s->utt_start + s->next * s->chunk, lim = utt_limit(s);
        if (lim < 0)
            lim = s->total;
        int64_t w0 = c0 - s->left > s->utt_start ? c0 - s->left : s->utt_start;
        int64_t w1 = c0 + s->chunk + s->right < lim ? c0 + s->chunk + s->right : lim;
        wstart[j] = w0;
        const float *x = s->buf + (w0 - s->base);
        int64_t ns = w1 - w0, want = sori_features_num_frames(m->fx, ns), got = 0;
        frames[j] = ns / hop;
        if (frames[j] < 1) {
            frames[j] = 0;
            continue;
        }
        if (!(feats[j] = malloc((size_t)want * D * sizeof(float))))
            st = sori_fail(err, SORI_ERR_NO_MEMORY, 0, "asr: out of memory");
        if (st == SORI_OK)
            st = sori_features_compute(m->fx, x, ns, feats[j], want, &got, err);
        if (st == SORI_OK &&
            !(logp[j] = malloc((size_t)sori_conformer_out_frames(m->enc, frames[j]) *
                               (m->rnnt ? sori_conformer_get_info(m->enc).d_model : V) * sizeof(float))))
            st = sori_fail(err, SORI_ERR_NO_MEMORY, 0, "asr: out of memory");
    }
    /* one batched encoder call over the windows that have frames */
    if (st == SORI_OK) {
        const float **fin = calloc((size_t)k + 1, sizeof(float *));
        float **lout = calloc((size_t)k + 1, sizeof(float *));
        int64_t *fn = calloc((size_t)k + 1, sizeof(int64_t));
        int nb = 0;
        if (!fin || !lout || !fn)
            st = sori_fail(err, SORI_ERR_NO_MEMORY, 0, "asr: out of memory");
        for (int j = 0; j < k && st == SORI_OK; j++)
            if (frames[j] > 0) {
                fin[nb] = feats[j];
                lout[nb] = logp[j];
                fn[nb++] = frames[j];
            }
        if (st == SORI_OK && nb)
            st = m->rnnt ? sori_conformer_forward_batch(m->enc, nb, fin, fn, lout, NULL, err) /* encoder outputs */
                         : sori_conformer_forward_batch(m->enc, nb, fin, fn, NULL, lout, err);   /* CTC log-probs */
        free(fin);
        free(lout);
        free(fn);
    }
    /* keep each chunk's own frames, then advance */
    for (int j = 0; j < k && st == SORI_OK; j++) {
        sori_asr_stream *s = ready[j];
        int64_t lim = utt_limit(s);
        int64_t c0 = s->utt_start + s->next * s->chunk;
        int last = lim >= 0 && c0 + s->chunk >= lim; /* the utterance's last chunk */
        int64_t T = frames[j] > 0 ? sori_conformer_out_frames(m->enc, frames[j]) : 0;
        int64_t f0 = (c0 - wstart[j]) / fs;
        int64_t f1 = last ? T : f0 + s->chunk / fs;
        if (f1 > T)
            f1 = T;
        if (m->rnnt && f1 > f0) { /* the chunk's own encoder frames, greedy RNN-T carrying its state */
            const int d = sori_conformer_get_info(m->enc).d_model;
            st = sori_rnnt_greedy(s->rnn, logp[j] + f0 * d, f1 - f0, s->enc_frames, &s->toks, &s->n_toks,
                                  &s->toks_cap, err);
            s->enc_frames += f1 - f0;
        }
        if (!m->rnnt && f1 > f0)
            st = keep_frames(s, logp[j] + f0 * V, f1 - f0, V, err);
        s->next++;
        if (st == SORI_OK)
            st = finalize_ready(s, err);
        /* drop samples no later window needs (a pending endpoint starts the
         * next utterance: keep from there at the latest) */
        int64_t keep_from = s->utt_start + s->next * s->chunk - s->left;
        if (s->n_ends > 0 && keep_from > s->ends[0])
            keep_from = s->ends[0];
        if (keep_from > s->base) {
            int64_t drop = keep_from - s->base < s->n_buf ? keep_from - s->base : s->n_buf;
            memmove(s->buf, s->buf + drop, (size_t)(s->n_buf - drop) * sizeof(float));
            s->n_buf -= drop;
            s->base += drop;
        }
    }
    for (int j = 0; j < n + 1 && feats && logp; j++) {
        free(feats[j]);
        free(logp[j]);
    }
    free(ready);
    free(feats);
    free(logp);
    free(frames);
    free(wstart);
    return st;
}

/* The current utterance decoded so far; times from the stream's start. */
static sori_status stream_snapshot_as(const sori_asr_stream *s, int final, sori_asr_result **out,
                                      sori_error *err)
{
    *out = NULL;
    sori_asr_result *r = calloc(1, sizeof *r);
    if (!r)
        return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "asr: out of memory");
    const int V = sori_conformer_get_info(s->m->enc).vocab_size + 1;
    const double t0 = (double)s->utt_start / s->m->sample_rate;
    r->duration_s = (double)s->total / s->m->sample_rate - t0;
    r->is_final = final || (s->finished && !sori_asr_stream_is_ready(s) && s->n_ends == 0);
    sori_status st = s->m->rnnt ? rnnt_decode(s->m, s->toks, s->n_toks, r, err)
                     : s->beam  ? beam_decode(s->m, s->beam, r->is_final, r, err)
                                : ctc_decode(s->m, s->best, s->prob, s->n_frames, V, r, err);
    for (int w = 0; st == SORI_OK && w < r->n_words; w++) {
        if (r->words[w].end_s > r->duration_s)
            r->words[w].end_s = r->duration_s;
        r->words[w].start_s += t0;
        r->words[w].end_s += t0;
    }
    if (st != SORI_OK) {
        sori_asr_result_free(r);
        return st;
    }
    *out = r;
    return SORI_OK;
}

static sori_status stream_snapshot(const sori_asr_stream *s, sori_asr_result **out, sori_error *err)
{
    return stream_snapshot_as(s, 0, out, err);
}

sori_status sori_asr_stream_result(const sori_asr_stream *s, sori_asr_result **out, sori_error *err)
{
    if (!s || !out)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "asr stream: NULL argument");
    return stream_snapshot(s, out, err);
}
