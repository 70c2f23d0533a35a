/* Cache-aware streaming (models trained for it): the utterance's features
 * computed as they come, steps of NeMo's chunking through the encoder with
 * per-stream caches, batched over streams. */
#include "asr_impl.h"

/* ---- cache-aware mode --------------------------------------------------------------- */

/* Moves the current utterance's samples into the feature stream (up to its
 * endpoint) and its ready frames into s->feat. */
static sori_status ca_feed(sori_asr_stream *s, sori_error *err)
{
    const int D = sori_features_dim(s->m->fx);
    int64_t lim = asr_utt_limit(s), upto = lim >= 0 ? lim : s->total;
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
int64_t asr_ca_take(const sori_asr_stream *s)
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
sori_status asr_ca_finalize_ready(sori_asr_stream *s, sori_error *err)
{
    sori_status st = ca_feed(s, err);
    while (st == SORI_OK && s->n_ends > 0 && s->flushed && asr_ca_take(s) == 0) {
        st = asr_close_utterance(s, err);
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

/* One cache-aware step for the ready streams whose step has this drop
 * (k <= ASR_STEP_GROUP); the streams' own step buffers, nothing allocated
 * once they have their size. */
sori_status asr_ca_step_group(sori_asr_model *m, sori_asr_stream **ready, int k, bool first, sori_error *err)
{
    const int D = sori_features_dim(m->fx), V = sori_conformer_get_info(m->enc).vocab_size + 1;
    const int d = sori_conformer_get_info(m->enc).d_model;
    if (k > ASR_STEP_GROUP)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "asr: %d streams in one step group (at most %d)", k,
                         ASR_STEP_GROUP);
    sori_status st = SORI_OK;
    sori_asr_stream *g[ASR_STEP_GROUP];
    sori_conformer_cache *caches[ASR_STEP_GROUP];
    const float *in[ASR_STEP_GROUP];
    float *out[ASR_STEP_GROUP];
    int64_t cnt[ASR_STEP_GROUP], take[ASR_STEP_GROUP], got[ASR_STEP_GROUP];
    int n = 0;
    for (int j = 0; j < k && st == SORI_OK; j++) {
        sori_asr_stream *s = ready[j];
        if ((s->steps == 0) != first)
            continue;
        int64_t t = asr_ca_take(s), pre = first ? 0 : s->sc.pre_cache, c = pre + t;
        int64_t o = sori_conformer_out_frames(m->enc, c);
        st = asr_step_buffers(s, (size_t)(c * D), (size_t)((o > 0 ? o : 1) * (m->rnnt ? d : V)), err);
        if (st != SORI_OK)
            break;
        float *x = s->step_in;
        for (int64_t f = 0; f < c; f++) { /* frames before the utterance's start are zeros */
            int64_t abs_f = s->consumed - pre + f;
            if (abs_f >= 0)
                memcpy(x + f * D, s->feat + (abs_f - s->feat_base) * D, (size_t)D * sizeof(float));
            else
                memset(x + f * D, 0, (size_t)D * sizeof(float));
        }
        g[n] = s;
        caches[n] = s->cache;
        in[n] = x;
        out[n] = s->step_out;
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
            st = asr_keep_frames(s, out[j], got[j], V, err);
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
            st = asr_ca_finalize_ready(s, err);
    }
    return st;
}
