/* The ASR model: loading a sori.conformer file (path or memory) with its
 * feature settings (or a sori.whisper file: whisper_asr.c), the n-gram LM and hotwords of the beam search, and the
 * values in use read back. */
#include "asr_impl.h"
#include "kernels/gguf.h"
#include "kernels/hparams.h"

sori_asr_model_params sori_asr_model_default_params(void)
{
    sori_asr_model_params p = {0};
    p.lm_weight = -1.0f;
    p.hotword_score = SORI_ASR_HOTWORD_SCORE;
    p.length_penalty = -1.0f; /* Whisper's beam: rank by log-probability / length, as openai-whisper */
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
sori_status asr_make_hotwords(const sori_asr_model *m, const char *text, float score, sori_hotwords **out,
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
void asr_beam_defaults(sori_ctc_beam_params *b, int beam)
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
    /* more than 1000 frames a second is no ASR front end; the encoder's work
     * (and attention's memory, quadratic) grows with it: a hostile hop of 1
     * sample made 0.6 s of audio take seconds, and minutes of it gigabytes */
    if (h.st == SORI_OK && (int64_t)p.hop_length * 1000 < p.sample_rate_hz)
        sori_hp_fail(&h, SORI_ERR_FORMAT, "features.hop_length", "%d samples at %d Hz is over 1000 frames a second",
                     p.hop_length, p.sample_rate_hz);
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
    if (params->nbest < 0 || params->nbest > 64 || !isfinite(params->rescore_weight) ||
        !isfinite(params->rescore_bonus) || fabsf(params->rescore_weight) > 10 || fabsf(params->rescore_bonus) > 100)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "asr: nbest %d (0..64), rescore weight %g (|w| <= 10), bonus %g",
                         params->nbest, params->rescore_weight, params->rescore_bonus);
    *out = NULL;
    sori_asr_model *m = calloc(1, sizeof *m);
    if (!m)
        return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "asr: out of memory");
    m->rt = rt;
    const char *arch = "";
    sori_gguf_get_str(g, "general.architecture", &arch);
    if (strcmp(arch, "sori.whisper") && strcmp(arch, "sori.conformer")) {
        sori_asr_model_free(m);
        return sori_fail(err, SORI_ERR_UNSUPPORTED, 0,
                         "%s: general.architecture = '%.60s' is no speech recognizer sori runs (sori.conformer, "
                         "sori.whisper; tools/ converts NeMo and Whisper checkpoints)",
                         path, arch);
    }
    if (!strcmp(arch, "sori.whisper")) {
        sori_status st = asr_whisper_load(m, g, path, params, err);
        if (st != SORI_OK) {
            sori_asr_model_free(m);
            return st;
        }
        *out = m;
        return SORI_OK;
    }
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
    /* the weights are copied out: the model file's pages leave the resident set before an LM's
     * load adds its own (they are the load's peak of memory) */
    sori_gguf_release_pages(g);
    if (st == SORI_OK && params->rescore_lm && params->nbest > 1) {
        if (m->rnnt)
            st = sori_fail(err, SORI_ERR_UNSUPPORTED, 0, "asr: N-best rescoring is for the CTC beam search (the model "
                           "decodes with RNN-T: choose the CTC decoder)");
        m->rescore_lm = params->rescore_lm;
        m->nbest = params->nbest;
        m->rescore_weight = params->rescore_weight;
        m->rescore_bonus = params->rescore_bonus;
    }
    if (st == SORI_OK && (params->lm_path || params->beam > 0 || params->hotwords) && m->rnnt)
        st = sori_fail(err, SORI_ERR_UNSUPPORTED, 0, "asr: beam search, LM fusion and hotwords are for the CTC "
                       "head (the model decodes with RNN-T: choose the CTC decoder)");
    if (st == SORI_OK && (params->lm_path || params->beam > 0 || params->hotwords || m->rescore_lm)) {
        /* rescoring needs hypotheses to choose from: a beam at least as wide as the N-best */
        asr_beam_defaults(&m->beam, params->beam > 0 || !m->rescore_lm ? params->beam : m->nbest);
        if (params->lm_path)
            st = load_lm(m, params, err);
        if (st == SORI_OK && params->hotwords)
            st = asr_make_hotwords(m, params->hotwords, params->hotword_score, &m->hotwords, err);
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
    sori_whisper_free(m->wh);
    free((char *)m->wp.initial_prompt);
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
    if (m->wh) {
        const sori_whisper_hparams *hp = sori_whisper_get_hparams(m->wh);
        i.sample_rate_hz = m->sample_rate;
        i.vocab_size = hp->n_vocab;
        i.d_model = hp->n_audio_state;
        i.n_layers = hp->n_audio_layer;
        i.frame_shift_s = m->frame_shift_s;
        i.name = m->name;
        i.beam = m->wp.dec.beam_size;
        i.arch = "whisper";
        i.language = m->language;
        return i;
    }
    i.arch = "conformer";
    i.language = "";
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
