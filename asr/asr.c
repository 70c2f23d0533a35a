/* Offline transcription: resample, features as stored in the model file,
 * the Conformer encoder, CTC greedy decoding with word timings and
 * confidences. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conformer.h"
#include "kernels/gguf.h"
#include "kernels/kernels.h"
#include "sori/asr.h"
#include "sori/audio.h"
#include "sori/features.h"

struct sori_asr_model {
    sori_runtime *rt;
    sori_conformer *enc;
    sori_features *fx;
    int sample_rate;
    int spm; /* SentencePiece pieces (▁ starts a word) rather than characters */
    double frame_shift_s;
    char name[128];
};

sori_asr_model_params sori_asr_model_default_params(void)
{
    sori_asr_model_params p = {0};
    return p;
}

/* The feature extractor the model was trained with, from its file. */
static sori_status load_features(const sori_gguf *g, const char *path, sori_features **out,
                                 sori_error *err)
{
    const char *kind = "";
    if (sori_gguf_get_str(g, "features.kind", &kind) != SORI_OK || strcmp(kind, "nemo") != 0)
        return sori_fail(err, SORI_ERR_UNSUPPORTED, 0, "%s: features.kind '%s' (nemo expected)", path, kind);
    sori_feature_params p = sori_feature_default_params(SORI_FEAT_NEMO);
    int64_t v;
    double f;
    const char *s;
#define GI(key, field)                                                                             \
    if (sori_gguf_get_int(g, key, &v) == SORI_OK)                                                  \
        p.field = (int)v;
#define GF(key, field)                                                                             \
    if (sori_gguf_get_float(g, key, &f) == SORI_OK)                                                \
        p.field = (float)f;
    GI("features.sample_rate", sample_rate_hz);
    GI("features.n_mels", n_mels);
    GI("features.n_fft", n_fft);
    GI("features.win_length", win_length);
    GI("features.hop_length", hop_length);
    GI("features.pad_to", pad_to);
    GF("features.preemph", preemph);
    GF("features.log_guard", log_guard);
    GF("features.mag_power", mag_power);
#undef GI
#undef GF
    p.pad_to = 0; /* padding frames to a multiple only matters for batching in NeMo */
    if (sori_gguf_get_str(g, "features.normalize", &s) == SORI_OK) {
        if (strcmp(s, "per_feature") == 0)
            p.normalize = SORI_NORM_PER_FEATURE;
        else if (strcmp(s, "all_features") == 0)
            p.normalize = SORI_NORM_ALL_FEATURES;
        else if (strcmp(s, "none") == 0)
            p.normalize = SORI_NORM_NONE;
        else
            return sori_fail(err, SORI_ERR_UNSUPPORTED, 0, "%s: features.normalize '%s'", path, s);
    }
    const sori_gguf_tensor *fb = sori_gguf_find_tensor(g, "features.mel_filterbank");
    const sori_gguf_tensor *win = sori_gguf_find_tensor(g, "features.window");
    if (fb) {
        if (fb->type != SORI_GGML_F32 || fb->n_elements != (int64_t)p.n_mels * (p.n_fft / 2 + 1))
            return sori_fail(err, SORI_ERR_FORMAT, 0, "%s: features.mel_filterbank has the wrong shape", path);
        p.mel_filterbank = fb->data;
    }
    if (win) {
        if (win->type != SORI_GGML_F32 || win->n_elements != p.win_length)
            return sori_fail(err, SORI_ERR_FORMAT, 0, "%s: features.window has the wrong shape", path);
        p.window_values = win->data;
    }
    return sori_features_create(&p, out, err);
}

sori_status sori_asr_model_load(sori_runtime *rt, const char *path, const sori_asr_model_params *params,
                                sori_asr_model **out, sori_error *err)
{
    (void)params;
    if (!rt || !path || !out)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "asr: NULL argument");
    *out = NULL;
    sori_asr_model *m = calloc(1, sizeof *m);
    if (!m)
        return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "asr: out of memory");
    m->rt = rt;
    sori_status st = sori_conformer_load(rt, path, &m->enc, err);
    sori_gguf *g = NULL;
    if (st == SORI_OK)
        st = sori_gguf_open_file(path, &g, err);
    if (st == SORI_OK)
        st = load_features(g, path, &m->fx, err);
    if (st == SORI_OK) {
        sori_conformer_info ci = sori_conformer_get_info(m->enc);
        sori_feature_params fp = sori_features_params(m->fx);
        if (fp.n_mels != ci.feat_in)
            st = sori_fail(err, SORI_ERR_FORMAT, 0, "%s: %d mel bins but the encoder takes %d", path,
                           fp.n_mels, ci.feat_in);
        m->sample_rate = fp.sample_rate_hz;
        m->frame_shift_s = (double)fp.hop_length * ci.subsampling_factor / fp.sample_rate_hz;
        const char *tok = "chars", *name = "";
        sori_gguf_get_str(g, "sori.conformer.tokenizer", &tok);
        m->spm = strcmp(tok, "sentencepiece") == 0;
        sori_gguf_get_str(g, "general.name", &name);
        snprintf(m->name, sizeof m->name, "%s", name);
    }
    sori_gguf_free(g);
    if (st != SORI_OK) {
        sori_asr_model_free(m);
        return st;
    }
    *out = m;
    return SORI_OK;
}

void sori_asr_model_free(sori_asr_model *m)
{
    if (!m)
        return;
    sori_conformer_free(m->enc);
    sori_features_free(m->fx);
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

static sori_status ctc_greedy(const sori_asr_model *m, const float *logp, int64_t T, int V,
                              sori_asr_result *r, sori_error *err)
{
    const int blank = V - 1;
    word_acc w = {0};
    int cap = 0, prev = -1, failed = 0;
    for (int64_t t = 0; t < T && !failed; t++) {
        const float *row = logp + t * V;
        int best = 0;
        for (int j = 1; j < V; j++)
            if (row[j] > row[best])
                best = j;
        float p = expf(row[best]);
        if (best == blank || best == prev) {
            if (best == prev && best != blank && w.open) { /* the token goes on: keep its peak */
                w.last_frame = t;
            }
            prev = best;
            continue;
        }
        prev = best;
        const char *tok = sori_conformer_token(m->enc, best);
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
            w.start_s = (double)t * m->frame_shift_s;
            w.conf = 1.0f;
        }
        failed |= sb_put(&w.text, piece, strlen(piece)) != 0;
        w.last_frame = t;
        if (p < w.conf)
            w.conf = p;
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

sori_status sori_asr_transcribe_batch(sori_asr_model *m, int n, const float *const *samples,
                                      const int64_t *n_samples, int sample_rate_hz,
                                      sori_asr_result **out, sori_error *err)
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
                if (!(logp[k] = malloc((size_t)T * V * sizeof(float))))
                    st = sori_fail(err, SORI_ERR_NO_MEMORY, 0, "asr: out of memory");
                fin[k] = feats[k];
                frames[k] = valid;
                idx[k] = i;
                k++;
            }
        }
        sori_audio_free(&res);
    }
    if (st == SORI_OK && k > 0)
        st = sori_conformer_forward_batch(m->enc, k, fin, frames, NULL, logp, err);
    for (int j = 0; j < k && st == SORI_OK; j++)
        st = ctc_greedy(m, logp[j], sori_conformer_out_frames(m->enc, frames[j]), V, out[idx[j]], err);
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

sori_status sori_asr_transcribe(sori_asr_model *m, const float *samples, int64_t n_samples,
                                int sample_rate_hz, sori_asr_result **out, sori_error *err)
{
    if (!m || !out || n_samples < 0 || (n_samples && !samples))
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "asr: bad argument");
    return sori_asr_transcribe_batch(m, 1, &samples, &n_samples, sample_rate_hz, out, err);
}
