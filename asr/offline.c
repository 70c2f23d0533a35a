/* Offline transcription: resample, features as stored in the model file,
 * one batched encoder call, then CTC greedy, the beam search or RNN-T. */
#include "asr_impl.h"

/* A cache-aware Conformer: each utterance through a stream of its own without
 * endpoints, all of them stepped together in batched calls. Its encoder sees
 * what the offline forward's does (the model's attention and convolutions
 * look no further either way), but for a last piece shorter than one output
 * frame (< 80 ms), which NeMo's streaming leaves out too; and memory stays that of a streaming step per utterance, not an
 * offline forward's activations, which grow with the audio's length (~8 MB a
 * second for the bundled model). */
static sori_status transcribe_streams(sori_asr_model *m, int n, const float *const *samples,
                                      const int64_t *n_samples, int sample_rate_hz, sori_asr_result **out,
                                      sori_error *err)
{
    sori_asr_stream_params sp = sori_asr_stream_default_params();
    sp.endpointing = false;
    sp.mode = SORI_ASR_STREAM_CACHE_AWARE;
    sori_asr_stream **s = calloc((size_t)n + 1, sizeof *s);
    sori_status st = s ? SORI_OK : sori_fail(err, SORI_ERR_NO_MEMORY, 0, "asr: out of memory");
    for (int i = 0; i < n && st == SORI_OK; i++) {
        st = sori_asr_stream_create(m, &sp, &s[i], err);
        if (st == SORI_OK && n_samples[i] > 0)
            st = sori_asr_stream_accept(s[i], samples[i], n_samples[i], sample_rate_hz, err);
        if (st == SORI_OK)
            st = sori_asr_stream_input_finished(s[i], err);
    }
    int ready = 1;
    while (st == SORI_OK && ready) {
        ready = 0;
        for (int i = 0; i < n && !ready; i++)
            ready = sori_asr_stream_is_ready(s[i]);
        if (ready)
            st = sori_asr_decode_ready(m, s, n, err);
    }
    for (int i = 0; i < n && st == SORI_OK; i++) {
        st = sori_asr_stream_result(s[i], &out[i], err);
        if (st == SORI_OK) {
            out[i]->is_final = 1;
            out[i]->duration_s = (double)n_samples[i] / sample_rate_hz;
        }
    }
    for (int i = 0; s && i < n; i++) {
        sori_asr_stream_free(s[i]);
        if (st != SORI_OK) {
            sori_asr_result_free(out[i]);
            out[i] = NULL;
        }
    }
    free(s);
    return st;
}

/* transcribe_batch; with keep_logp (CTC models), each utterance's log-probs are handed over
 * (keep_logp[i], asr_keep_frames[i]; NULL and 0 when it has no frames). */
static sori_status transcribe_impl(sori_asr_model *m, int n, const float *const *samples,
                                   const int64_t *n_samples, int sample_rate_hz, sori_asr_result **out,
                                   float **keep_logp, int64_t *asr_keep_frames, sori_error *err)
{
    if (!m || n < 0 || (n && (!samples || !n_samples || !out)) || sample_rate_hz < 1000)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "asr: bad argument");
    for (int i = 0; i < n; i++) {
        out[i] = NULL;
        if (n_samples[i] < 0 || (n_samples[i] && !samples[i]))
            return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "asr: utterance %d: bad samples", i);
    }
    if (m->wh) { /* Whisper: each utterance on its own, long-form */
        if (keep_logp)
            return sori_fail(err, SORI_ERR_UNSUPPORTED, 0, "asr: a Whisper model has no CTC log-probabilities");
        sori_status st = SORI_OK;
        for (int i = 0; i < n && st == SORI_OK; i++)
            st = asr_whisper_transcribe(m, samples[i], n_samples[i], sample_rate_hz, &out[i], err);
        if (st != SORI_OK)
            for (int i = 0; i < n; i++) {
                sori_asr_result_free(out[i]);
                out[i] = NULL;
            }
        return st;
    }
    if (!keep_logp && m->enc && sori_conformer_get_stream_cfg(m->enc).supported)
        return transcribe_streams(m, n, samples, n_samples, sample_rate_hz, out, err);
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
        st = asr_ctc_search(m, logp[j], T, V, out[idx[j]], err);
        if (keep_logp) {
            keep_logp[idx[j]] = logp[j];
            asr_keep_frames[idx[j]] = T;
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
                st = asr_rnnt_decode(m, toks, n_tok, out[idx[j]], err);
        }
        free(toks);
        sori_rnnt_state_free(rs);
    }
    for (int i = 0; i < n && st == SORI_OK; i++) {
        if (!out[i]->text)
            st = asr_ctc_greedy(m, NULL, 0, V, out[i], err); /* no frames: the empty result */
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
    if (m->wh)
        return sori_fail(err, SORI_ERR_UNSUPPORTED, 0, "asr: a Whisper model has no CTC log-probabilities");
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

/* A cache-aware Conformer's offline transcription in bounded memory: the
 * file read a second at a time through one stream without endpoints (its
 * encoder outputs are the offline forward's: the model's attention and
 * convolutions see no further either way), so memory does not grow with the
 * file's length; the stream keeps a few bytes per output frame. */
static sori_status transcribe_streamed(sori_asr_model *m, sori_audio_reader *r, int rate, sori_asr_result **out,
                                       sori_error *err)
{
    sori_asr_stream_params sp = sori_asr_stream_default_params();
    sp.endpointing = false;
    sp.mode = SORI_ASR_STREAM_CACHE_AWARE;
    sori_asr_stream *s = NULL;
    const int64_t piece = rate > 0 ? rate : 16000;
    float *x = malloc((size_t)piece * sizeof(float));
    int64_t got = 0, total = 0;
    sori_status st = x ? sori_audio_reader_rewind(r, err) : sori_fail(err, SORI_ERR_NO_MEMORY, 0, "asr: out of memory");
    if (st == SORI_OK)
        st = sori_asr_stream_create(m, &sp, &s, err);
    while (st == SORI_OK && (st = sori_audio_reader_read(r, x, piece, &got, err)) == SORI_OK && got > 0) {
        total += got;
        st = sori_asr_stream_accept(s, x, got, rate, err);
        while (st == SORI_OK && sori_asr_stream_is_ready(s))
            st = sori_asr_decode_ready(m, &s, 1, err);
    }
    if (st == SORI_OK)
        st = sori_asr_stream_input_finished(s, err);
    while (st == SORI_OK && sori_asr_stream_is_ready(s))
        st = sori_asr_decode_ready(m, &s, 1, err);
    if (st == SORI_OK)
        st = sori_asr_stream_result(s, out, err);
    if (st == SORI_OK) {
        (*out)->is_final = 1;
        (*out)->duration_s = (double)total / rate;
    }
    sori_asr_stream_free(s);
    free(x);
    return st;
}

/* A reader: Whisper (sequential long-form) reads it window by window, a
 * cache-aware Conformer a second at a time (transcribe_streamed); any other
 * model is given the whole file. */
sori_status sori_asr_transcribe_reader(sori_asr_model *m, sori_audio_reader *r, sori_asr_result **out,
                                       sori_error *err)
{
    if (!m || !r || !out)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "asr: bad argument");
    *out = NULL;
    const int rate = sori_audio_reader_get_info(r).sample_rate_hz;
    if (m->wh && m->wh_batch <= 0 && rate == 16000)
        return asr_whisper_transcribe_reader(m, r, out, err);
    if (!m->wh && m->enc && sori_conformer_get_stream_cfg(m->enc).supported && rate > 0)
        return transcribe_streamed(m, r, rate, out, err);
    sori_status st = sori_audio_reader_rewind(r, err);
    float *x = NULL;
    int64_t n = 0, cap = 0, got = 0;
    do {
        if (st != SORI_OK)
            break;
        if (n + 65536 > cap) {
            int64_t ncap = cap ? 2 * cap : 1 << 20;
            float *nx = realloc(x, (size_t)ncap * sizeof(float));
            if (!nx) {
                st = sori_fail(err, SORI_ERR_NO_MEMORY, 0, "asr: out of memory");
                break;
            }
            x = nx, cap = ncap;
        }
        st = sori_audio_reader_read(r, x + n, cap - n, &got, err);
        n += got;
    } while (st == SORI_OK && got > 0);
    if (st == SORI_OK)
        st = sori_asr_transcribe(m, x, n, rate, out, err);
    free(x);
    return st;
}
