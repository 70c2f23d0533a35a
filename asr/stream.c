/* The stream API: audio in any chunking and rate, endpointing (VAD + rules)
 * into utterances, finals and partial results; buffered streaming of
 * offline models (overlapping windows, each chunk's own frames kept); the
 * batched decode step for both kinds (cache-aware steps: stream_cache.c). */
#include "asr_impl.h"

sori_asr_stream_params sori_asr_stream_default_params(void)
{
    sori_asr_stream_params p = {.chunk_ms = 1600, .left_context_ms = 2000, .right_context_ms = 800,
                                .endpointing = true, .endpoint = sori_endpoint_default_params(),
                                .mode = SORI_ASR_STREAM_AUTO, .hotwords = NULL,
                                .hotword_score = SORI_ASR_HOTWORD_SCORE, .silero = NULL, .vad_threshold = 0.5f,
                                .partial_ms = 1000};
    return p;
}

/* samples per encoder output frame */
static sori_status reserve_utterance(sori_asr_stream *s, sori_error *err);

/* *p with room for n floats (grown, never shrunk; its contents not kept). */
static sori_status reserve_floats(float **p, size_t *cap, size_t n, sori_error *err)
{
    if (*cap >= n)
        return SORI_OK;
    free(*p);
    *cap = 0;
    if (!(*p = malloc(n * sizeof(float))))
        return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "asr stream: out of memory");
    *cap = n;
    return SORI_OK;
}

sori_status asr_step_buffers(sori_asr_stream *s, size_t in, size_t out, sori_error *err)
{
    sori_status st = reserve_floats(&s->step_in, &s->step_in_cap, in, err);
    return st == SORI_OK ? reserve_floats(&s->step_out, &s->step_out_cap, out, err) : st;
}

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
    if (p->silero && sori_silero_vad_window(p->silero, m->sample_rate) == 0)
        return sori_fail(err, SORI_ERR_UNSUPPORTED, 0, "asr stream: the Silero VAD has no network for %d Hz",
                         m->sample_rate);
    if (p->silero && !(p->vad_threshold > 0.15f && p->vad_threshold < 1.0f))
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "asr stream: vad_threshold %g (0.15..1)", p->vad_threshold);
    if (m->wh)
        return asr_whisper_stream_create(m, p, out, err);
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
                st = asr_make_hotwords(m, p->hotwords, p->hotword_score, &s->hotwords, err);
            if (bp.beam == 0)
                asr_beam_defaults(&bp, 0);
            bp.hotwords = s->hotwords;
        }
        if (st == SORI_OK && bp.beam > 0)
            st = sori_ctc_beam_create(sori_conformer_get_info(m->enc).vocab_size + 1, &bp, &s->beam, err);
        if (st != SORI_OK) {
            sori_asr_stream_free(s);
            return st;
        }
    }
    sori_status st = asr_stream_endpointing(s, err);
    if (st == SORI_OK && m->enc)
        st = reserve_utterance(s, err);
    if (st != SORI_OK) {
        sori_asr_stream_free(s);
        return st;
    }
    *out = s;
    return SORI_OK;
}

/* The endpoint detector: the energy VAD, or Silero (p.silero). */
/* An utterance's growing arrays (its frames' best tokens and posteriors, its
 * RNN-T emissions) sized at creation for the longest utterance the endpoint
 * rules let through (rule 3, 20 s by default, plus the trailing silence of
 * rule 2), so that decoding does not grow them as an utterance goes on
 * (without endpointing an utterance has no bound: they grow by doubling). */
static sori_status reserve_utterance(sori_asr_stream *s, sori_error *err)
{
    if (!s->p.endpointing)
        return SORI_OK;
    const sori_endpoint_params *e = &s->p.endpoint;
    const int64_t ms = (int64_t)e->rule3_max_utterance_ms + e->rule2_silence_ms + 1000;
    const int64_t frames = ms * s->m->sample_rate / 1000 / frame_samples(s->m) + 1;
    if (frames > (int64_t)1 << 24)
        return SORI_OK;
    s->best = malloc((size_t)frames * sizeof(int32_t));
    s->prob = malloc((size_t)frames * sizeof(float));
    if (!s->best || !s->prob)
        return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "asr stream: out of memory");
    s->frames_cap = frames;
    if (s->rnn) {
        const int64_t n = frames * sori_conformer_rnnt_max_symbols(s->m->enc);
        if (!(s->toks = malloc((size_t)n * sizeof *s->toks)))
            return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "asr stream: out of memory");
        s->toks_cap = n;
    }
    return SORI_OK;
}

sori_status asr_stream_endpointing(sori_asr_stream *s, sori_error *err)
{
    if (!s->p.endpointing)
        return SORI_OK;
    s->ep = sori_endpoint_init();
    if (s->p.silero)
        return sori_silero_vad_state_create(s->p.silero, s->m->sample_rate, &s->silero, err);
    sori_vad_params vp = sori_vad_default_params();
    vp.sample_rate_hz = s->m->sample_rate;
    return sori_vad_create(&vp, &s->vad, err);
}

void sori_asr_stream_free(sori_asr_stream *s)
{
    if (!s)
        return;
    sori_resampler_free(s->rs);
    sori_vad_free(s->vad);
    sori_silero_vad_state_free(s->silero);
    free(s->win);
    sori_whisper_session_free(s->ws);
    free(s->hyp);
    free(s->stable);
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
    free(s->step_in);
    free(s->step_out);
    free(s->rs_out);
    sori_rnnt_state_free(s->rnn);
    free(s->toks);
    sori_ctc_beam_free(s->beam);
    sori_hotwords_free(s->hotwords);
    free(s);
}

static sori_status finalize_ready(sori_asr_stream *s, sori_error *err);

static sori_status add_end(sori_asr_stream *s, int64_t at, sori_error *err)
{
    if (s->n_ends == s->ends_cap) {
        int cap = s->ends_cap ? 2 * s->ends_cap : 8;
        int64_t *e = realloc(s->ends, (size_t)cap * sizeof *e);
        if (!e)
            return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "asr stream: out of memory");
        s->ends = e;
        s->ends_cap = cap;
    }
    s->ends[s->n_ends++] = at;
    return SORI_OK;
}

/* Silero's decisions, a 32 ms window at a time (the incomplete one waits in
 * s->win), through the endpoint rules. */
static sori_status silero_push(sori_asr_stream *s, const float *x, int64_t n, sori_error *err)
{
    const int W = sori_silero_vad_window(s->p.silero, s->m->sample_rate);
    const int frame_ms = W * 1000 / s->m->sample_rate;
    if (!s->win && !(s->win = malloc((size_t)W * sizeof(float))))
        return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "asr stream: out of memory");
    for (int64_t i = 0; i < n;) {
        int take = (int)(n - i < W - s->n_win ? n - i : W - s->n_win);
        memcpy(s->win + s->n_win, x + i, (size_t)take * sizeof(float));
        s->n_win += take;
        i += take;
        if (s->n_win < W)
            break;
        s->n_win = 0;
        float prob = 0.0f;
        sori_status st = sori_silero_vad_process(s->silero, s->win, W, &prob, err);
        if (st != SORI_OK)
            return st;
        s->vad_frames++;
        s->in_speech = s->in_speech ? prob >= s->p.vad_threshold - 0.15f : prob >= s->p.vad_threshold;
        s->heard_speech |= s->in_speech;
        if (sori_endpoint_step(&s->p.endpoint, &s->ep, (uint8_t)s->in_speech, frame_ms) != SORI_ENDPOINT_NONE &&
            (st = add_end(s, s->vad_frames * W, err)) != SORI_OK)
            return st;
    }
    return SORI_OK;
}

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
    if (s->silero && n > 0)
        return silero_push(s, x, n, err);
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
        if (st != SORI_OK)
            return st;
        for (int64_t i = 0; i < nd; i++) {
            s->vad_frames++;
            s->heard_speech |= dec[i] != 0;
            if (sori_endpoint_step(&s->p.endpoint, &s->ep, dec[i], sori_vad_default_params().frame_ms) ==
                SORI_ENDPOINT_NONE)
                continue;
            st = add_end(s, s->vad_frames * fs, err);
            if (st != SORI_OK)
                return st;
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
    st = reserve_floats(&s->rs_out, &s->rs_out_cap, cap, err); /* packets of one size: allocated once */
    if (st != SORI_OK)
        return st;
    st = sori_resampler_process(s->rs, samples, (size_t)n_samples, s->rs_out, cap, &got, err);
    if (st == SORI_OK)
        st = stream_push(s, s->rs_out, (int64_t)got, err);
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
int64_t asr_utt_limit(const sori_asr_stream *s)
{
    if (s->n_ends > 0)
        return s->ends[0];
    return s->finished ? s->total : -1;
}

int sori_asr_stream_is_ready(const sori_asr_stream *s)
{
    if (!s)
        return 0;
    if (s->ws)
        return asr_whisper_stream_ready(s);
    if (s->ca)
        return asr_ca_take(s) > 0;
    int64_t start = s->utt_start + s->next * s->chunk, lim = asr_utt_limit(s);
    if (lim >= 0)
        return start < lim;
    return start + s->chunk + s->right <= s->total;
}

static sori_status stream_snapshot_as(const sori_asr_stream *s, int final, sori_asr_result **out,
                                      sori_error *err);

/* The current utterance, ended at the oldest pending endpoint: its final
 * result is queued (when it has text) and the next utterance starts there. */
sori_status asr_close_utterance(sori_asr_stream *s, sori_error *err)
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
        sori_status st = asr_close_utterance(s, err);
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

static sori_status finalize_ready(sori_asr_stream *s, sori_error *err)
{
    if (s->ws) /* Whisper decodes its finals in decode_ready */
        return SORI_OK;
    return s->ca ? asr_ca_finalize_ready(s, err) : buffered_finalize_ready(s, err);
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
sori_status asr_keep_frames(sori_asr_stream *s, const float *logp, int64_t n, int V, sori_error *err)
{
    if (s->beam)
        return sori_ctc_beam_step(s->beam, logp, n, err);
    sori_status st = SORI_OK;
    for (int64_t f = 0; f < n && st == SORI_OK; f++) {
        int32_t b;
        float p;
        asr_argmax_rows(logp + f * V, 1, V, &b, &p);
        st = keep_frame(s, b, p, err);
    }
    return st;
}

/* One batched call for k <= ASR_STEP_GROUP ready streams of a Conformer
 * model: the streams' own step buffers, nothing allocated once they have
 * their size. */
static sori_status decode_group(sori_asr_model *m, sori_asr_stream **ready, int k, sori_error *err)
{
    const int V = sori_conformer_get_info(m->enc).vocab_size + 1;
    const int D = sori_features_dim(m->fx);
    const int hop = sori_features_params(m->fx).hop_length;
    const int64_t fs = frame_samples(m);
    sori_status st = SORI_OK;
    float *feats[ASR_STEP_GROUP] = {0}, *logp[ASR_STEP_GROUP] = {0};
    int64_t frames[ASR_STEP_GROUP] = {0}, wstart[ASR_STEP_GROUP] = {0};

    if (m->enc && k > 0 && ready[0]->ca) {
        /* cache-aware: the first steps (no dropped frames) and later ones in two batches */
        for (int j = 0; j < k && st == SORI_OK; j++)
            if (!ready[j]->ca)
                st = sori_fail(err, SORI_ERR_INVALID_ARG, 0, "asr: cache-aware and buffered streams mixed in one call");
        if (st == SORI_OK)
            st = asr_ca_step_group(m, ready, k, true, err);
        if (st == SORI_OK)
            st = asr_ca_step_group(m, ready, k, false, err);
        k = 0; /* nothing left for the buffered path below */
    }
    /* the windows: [chunk start - left, chunk end + right), clipped */
    for (int j = 0; j < k && st == SORI_OK; j++) {
        sori_asr_stream *s = ready[j];
        int64_t c0 = s->utt_start + s->next * s->chunk, lim = asr_utt_limit(s);
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
        st = asr_step_buffers(s, (size_t)want * D, (size_t)sori_conformer_out_frames(m->enc, frames[j]) *
                                                       (m->rnnt ? sori_conformer_get_info(m->enc).d_model : V),
                              err);
        feats[j] = s->step_in;
        logp[j] = s->step_out;
        if (st == SORI_OK)
            st = sori_features_compute(m->fx, x, ns, feats[j], want, &got, err);
    }
    /* one batched encoder call over the windows that have frames */
    if (st == SORI_OK) {
        const float *fin[ASR_STEP_GROUP];
        float *lout[ASR_STEP_GROUP];
        int64_t fn[ASR_STEP_GROUP];
        int nb = 0;
        for (int j = 0; j < k && st == SORI_OK; j++)
            if (frames[j] > 0) {
                fin[nb] = feats[j];
                lout[nb] = logp[j];
                fn[nb++] = frames[j];
            }
        if (st == SORI_OK && nb)
            st = m->rnnt ? sori_conformer_forward_batch(m->enc, nb, fin, fn, lout, NULL, err) /* encoder outputs */
                         : sori_conformer_forward_batch(m->enc, nb, fin, fn, NULL, lout, err);   /* CTC log-probs */
    }
    /* keep each chunk's own frames, then advance */
    for (int j = 0; j < k && st == SORI_OK; j++) {
        sori_asr_stream *s = ready[j];
        int64_t lim = asr_utt_limit(s);
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
            st = asr_keep_frames(s, logp[j] + f0 * V, f1 - f0, V, err);
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
    return st;
}

sori_status sori_asr_decode_ready(sori_asr_model *m, sori_asr_stream *const *streams, int n,
                                  sori_error *err)
{
    if (!m || n < 0 || (n && !streams))
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "asr: bad argument");
    if (m->wh) { /* Whisper: each ready stream on its own session */
        for (int i = 0; i < n; i++)
            if (!streams[i] || streams[i]->m != m)
                return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "asr: stream %d is NULL or of another model", i);
        sori_status st = SORI_OK;
        for (int i = 0; i < n && st == SORI_OK; i++)
            if (sori_asr_stream_is_ready(streams[i]))
                st = asr_whisper_stream_step(streams[i], err);
        return st;
    }
    for (int i = 0; i < n; i++)
        if (!streams[i] || streams[i]->m != m)
            return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "asr: stream %d is NULL or of another model", i);
    /* the ready streams, ASR_STEP_GROUP at a time, each group one batched call */
    sori_asr_stream *ready[ASR_STEP_GROUP];
    int k = 0;
    sori_status st = SORI_OK;
    for (int i = 0; i < n && st == SORI_OK; i++) {
        if (sori_asr_stream_is_ready(streams[i]))
            ready[k++] = streams[i];
        if (k == ASR_STEP_GROUP || (i == n - 1 && k > 0)) {
            st = decode_group(m, ready, k, err);
            k = 0;
        }
    }
    return st;
}

/* The current utterance decoded so far; times from the stream's start. */
static sori_status stream_snapshot_as(const sori_asr_stream *s, int final, sori_asr_result **out,
                                      sori_error *err)
{
    *out = NULL;
    if (s->ws)
        return asr_whisper_stream_snapshot(s, out, err);
    sori_asr_result *r = calloc(1, sizeof *r);
    if (!r)
        return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "asr: out of memory");
    const int V = sori_conformer_get_info(s->m->enc).vocab_size + 1;
    const double t0 = (double)s->utt_start / s->m->sample_rate;
    r->duration_s = (double)s->total / s->m->sample_rate - t0;
    r->is_final = final || (s->finished && !sori_asr_stream_is_ready(s) && s->n_ends == 0);
    sori_status st = s->m->rnnt ? asr_rnnt_decode(s->m, s->toks, s->n_toks, r, err)
                     : s->beam  ? asr_beam_decode(s->m, s->beam, r->is_final, r, err)
                                : asr_ctc_decode(s->m, s->best, s->prob, s->n_frames, V, r, err);
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
