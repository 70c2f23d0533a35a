/* Decoded output to results: CTC greedy frames, the beam search's best
 * prefix, or RNN-T emissions -> tokens -> words with times and
 * confidences -> text. */
#include "asr_impl.h"

void sori_asr_result_free(sori_asr_result *r)
{
    if (!r)
        return;
    for (int i = 0; i < r->n_words; i++)
        free(r->words[i].text);
    free(r->words);
    free(r->text);
    for (int i = 0; i < r->n_segments; i++) {
        sori_asr_segment *g = &r->segments[i];
        free(g->text);
        for (int k = 0; k < g->n_nbest; k++)
            free(g->nbest_text[k]);
        free(g->nbest_text);
        free(g->nbest_score);
    }
    free(r->segments);
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
sori_status asr_ctc_decode(const sori_asr_model *m, const int32_t *best_ids, const float *probs,
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
sori_status asr_rnnt_decode(const sori_asr_model *m, const sori_rnnt_emit *e, int64_t n, sori_asr_result *r,
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
void asr_argmax_rows(const float *logp, int64_t T, int V, int32_t *best, float *prob)
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

sori_status asr_ctc_greedy(const sori_asr_model *m, const float *logp, int64_t T, int V,
                           sori_asr_result *r, sori_error *err)
{
    int32_t *best = malloc((size_t)(T ? T : 1) * sizeof(int32_t));
    float *prob = malloc((size_t)(T ? T : 1) * sizeof(float));
    sori_status st = best && prob ? SORI_OK : sori_fail(err, SORI_ERR_NO_MEMORY, 0, "asr: out of memory");
    if (st == SORI_OK) {
        asr_argmax_rows(logp, T, V, best, prob);
        st = asr_ctc_decode(m, best, prob, T, V, r, err);
    }
    free(best);
    free(prob);
    return st;
}

/* Hypothesis `index` of the beam -> the result. */
static sori_status beam_hyp_decode(const sori_asr_model *m, const sori_ctc_beam *b, int index, sori_asr_result *r,
                                   sori_error *err)
{
    sori_ctc_beam_tok *bt = NULL;
    int64_t n = 0;
    sori_status st = sori_ctc_beam_get(b, index, &bt, &n, err);
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

/* N-best rescoring: the beam's m->nbest best final hypotheses; *pick gets
 * the index (for sori_ctc_beam_get) whose search score + weight * ln p_LM
 * + bonus * LM tokens is highest (asr/rescore.c). */
static sori_status rescore_pick(const sori_asr_model *m, const sori_ctc_beam *b, int *pick, sori_error *err)
{
    int rank[64];
    float score[64];
    const int n = sori_ctc_beam_rank(b, 1, m->nbest < 64 ? m->nbest : 64, rank, score, NULL);
    *pick = n > 0 ? rank[0] : 0;
    if (n < 2)
        return SORI_OK;
    sori_asr_result *h[64] = {0};
    const char *texts[64];
    double extra[64];
    sori_status st = SORI_OK;
    for (int i = 0; i < n && st == SORI_OK; i++) {
        h[i] = calloc(1, sizeof *h[i]);
        st = h[i] ? beam_hyp_decode(m, b, rank[i], h[i], err) : sori_fail(err, SORI_ERR_NO_MEMORY, 0, "asr: out of memory");
        texts[i] = st == SORI_OK && h[i]->text ? h[i]->text : "";
    }
    if (st == SORI_OK)
        st = asr_lm_extra(m, texts, n, extra, err);
    if (st == SORI_OK) {
        double best = -INFINITY;
        for (int i = 0; i < n; i++)
            if (score[i] + extra[i] > best) {
                best = score[i] + extra[i];
                *pick = rank[i];
            }
    }
    for (int i = 0; i < n; i++)
        sori_asr_result_free(h[i]);
    return st;
}

/* The beam's best prefix -> the result (final, with a rescoring LM: the
 * rescored N-best's winner). */
sori_status asr_beam_decode(const sori_asr_model *m, const sori_ctc_beam *b, int final, sori_asr_result *r,
                            sori_error *err)
{
    int pick = 0;
    if (final && m->rescore_lm && m->nbest > 1) {
        sori_status st = rescore_pick(m, b, &pick, err);
        if (st != SORI_OK)
            return st;
    } else {
        sori_ctc_beam_rank(b, final, 1, &pick, NULL, NULL);
    }
    return beam_hyp_decode(m, b, pick, r, err);
}

/* CTC over a whole utterance: greedy, or the beam search (with the LM). */
sori_status asr_ctc_search(const sori_asr_model *m, const float *logp, int64_t T, int V, sori_asr_result *r,
                           sori_error *err)
{
    if (m->beam.beam == 0)
        return asr_ctc_greedy(m, logp, T, V, r, err);
    sori_ctc_beam *b = NULL;
    sori_status st = sori_ctc_beam_create(V, &m->beam, &b, err);
    if (st == SORI_OK)
        st = sori_ctc_beam_step(b, logp, T, err);
    if (st == SORI_OK)
        st = asr_beam_decode(m, b, 1, r, err);
    sori_ctc_beam_free(b);
    return st;
}
