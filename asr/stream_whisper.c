/* Whisper streams: the endpoints (energy VAD or Silero, and the endpoint
 * rules) cut the audio into utterances; each is transcribed when it ends
 * (its final, with the model's settings: long-form, timestamps, words);
 * while it goes on it is decoded again every partial_ms of new audio
 * (greedy, no fallback, no timestamps) and the partial result shows only
 * the tokens two successive decodings agree on (LocalAgreement-2, as
 * whisper_streaming), so words are never taken back. Every decoding runs on
 * the stream's own Whisper session, made with the stream. */
#include "asr_impl.h"
#include "lm/bpe.h"

enum { SR = 16000, MAX_UTT = 30 * SR };

sori_status asr_whisper_stream_create(sori_asr_model *m, const sori_asr_stream_params *p, sori_asr_stream **out,
                                      sori_error *err)
{
    if (p->partial_ms < 0 || p->partial_ms > 60000)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "asr stream: partial_ms %d (0..60000)", p->partial_ms);
    if (p->hotwords)
        return sori_fail(err, SORI_ERR_UNSUPPORTED, 0,
                         "asr stream: hotwords are for Conformer models (a Whisper model takes a prompt)");
    sori_asr_stream *s = calloc(1, sizeof *s);
    if (!s)
        return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "asr stream: out of memory");
    s->m = m;
    s->p = *p;
    s->p.language = NULL; /* applied below; the caller's text need not outlive the call */
    s->wp = m->wp;
    s->cap = MAX_UTT + 4 * SR;
    const int C = sori_whisper_get_hparams(m->wh)->n_text_ctx;
    s->buf = malloc((size_t)s->cap * sizeof(float));
    s->hyp = malloc((size_t)C * sizeof(int32_t));
    s->stable = malloc((size_t)C * sizeof(int32_t));
    s->hyp_cap = C;
    sori_status st = s->buf && s->hyp && s->stable ? SORI_OK
                                                   : sori_fail(err, SORI_ERR_NO_MEMORY, 0, "asr stream: out of memory");
    if (st == SORI_OK && p->language && p->language[0])
        st = asr_whisper_language(m, p->language, &s->wp, err);
    if (st == SORI_OK)
        st = sori_whisper_session_create(m->wh, m->wh_group, &s->ws, err);
    if (st == SORI_OK)
        st = asr_stream_endpointing(s, err);
    if (st != SORI_OK) {
        sori_asr_stream_free(s);
        return st;
    }
    s->next_partial = (int64_t)p->partial_ms * SR / 1000;
    s->heard_speech = !p->endpointing; /* without a VAD every utterance may hold speech */
    *out = s;
    return SORI_OK;
}

/* Where the current utterance ends now: a pending endpoint, the end of the
 * input, 30 s after its start (Whisper's window), or -1. */
static int64_t utt_end(const sori_asr_stream *s)
{
    if (s->n_ends > 0)
        return s->ends[0] < s->utt_start + MAX_UTT ? s->ends[0] : s->utt_start + MAX_UTT;
    if (s->total - s->utt_start >= MAX_UTT)
        return s->utt_start + MAX_UTT;
    return s->finished ? s->total : -1;
}

int asr_whisper_stream_ready(const sori_asr_stream *s)
{
    int64_t end = utt_end(s);
    if (end >= 0)
        return end > s->utt_start || s->n_ends > 0 || (s->finished && s->utt_start < s->total);
    return s->p.partial_ms > 0 && s->heard_speech && s->total >= s->next_partial;
}

/* The text tokens of a transcript, at most cap of them; their count. */
static int text_tokens(const sori_asr_model *m, const sori_whisper_transcript *t, int32_t *out, int cap)
{
    const int eot = sori_whisper_get_tokens(m->wh)->eot;
    int n = 0;
    for (int i = 0; i < t->n_seg; i++)
        for (int k = 0; k < t->seg[i].n_tokens && n < cap; k++)
            if (t->seg[i].tokens[k] < eot)
                out[n++] = t->seg[i].tokens[k];
    return n;
}

static sori_status queue_final(sori_asr_stream *s, sori_asr_result *r, sori_error *err)
{
    if (s->n_finals == s->finals_cap) {
        int cap = s->finals_cap ? 2 * s->finals_cap : 8;
        sori_asr_result **f = realloc(s->finals, (size_t)cap * sizeof *f);
        if (!f)
            return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "asr stream: out of memory");
        s->finals = f;
        s->finals_cap = cap;
    }
    s->finals[s->n_finals++] = r;
    return SORI_OK;
}

sori_status asr_whisper_stream_step(sori_asr_stream *s, sori_error *err)
{
    sori_asr_model *m = s->m;
    const int64_t end = utt_end(s);
    const float *x = s->buf + (s->utt_start - s->base);
    sori_whisper_transcript *t = NULL;
    sori_status st = SORI_OK;
    if (end >= 0) { /* the utterance ended: its final */
        if (end > s->utt_start)
            st = sori_whisper_transcribe(s->ws, x, end - s->utt_start, &s->wp, &t, err);
        if (st == SORI_OK && t) {
            sori_asr_result *r = calloc(1, sizeof *r);
            if (!r)
                st = sori_fail(err, SORI_ERR_NO_MEMORY, 0, "asr stream: out of memory");
            if (st == SORI_OK) {
                r->is_final = 1;
                r->duration_s = (double)(end - s->utt_start) / SR;
                st = asr_whisper_result(m, t, (double)s->utt_start / SR, r, err);
            }
            if (st == SORI_OK && r->text[0])
                st = queue_final(s, r, err);
            else
                sori_asr_result_free(r);
        }
        sori_whisper_transcript_free(t);
        if (st != SORI_OK)
            return st;
        /* the next utterance starts at the end; the samples before it go */
        if (s->n_ends > 0 && s->ends[0] <= end) {
            memmove(s->ends, s->ends + 1, (size_t)(s->n_ends - 1) * sizeof *s->ends);
            s->n_ends--;
        }
        if (s->finished && s->n_ends == 0 && end >= s->total)
            s->utt_start = s->total;
        else
            s->utt_start = end;
        int64_t drop = s->utt_start - s->base;
        if (drop > s->n_buf)
            drop = s->n_buf;
        memmove(s->buf, s->buf + drop, (size_t)(s->n_buf - drop) * sizeof(float));
        s->n_buf -= drop;
        s->base += drop;
        s->n_hyp = s->n_stable = 0;
        s->heard_speech = s->p.endpointing ? s->in_speech : 1;
        s->next_partial = s->utt_start + (int64_t)s->p.partial_ms * SR / 1000;
        return SORI_OK;
    }
    /* a partial: the utterance so far, greedy, one temperature, no timestamps */
    sori_whisper_params p = s->wp;
    p.n_temperatures = 1;
    p.dec.beam_size = 0;
    p.dec.rescore = NULL; /* finals are rescored, partials are not */
    p.dec.without_timestamps = true;
    p.word_timestamps = false;
    st = sori_whisper_transcribe(s->ws, x, s->total - s->utt_start, &p, &t, err);
    if (st == SORI_OK) {
        /* LocalAgreement-2: the common prefix with the previous decoding */
        int32_t tmp[4096];
        int nc = text_tokens(m, t, tmp, s->hyp_cap < 4096 ? s->hyp_cap : 4096);
        int common = 0;
        while (common < nc && common < s->n_hyp && tmp[common] == s->hyp[common])
            common++;
        if (common > s->n_stable) {
            memcpy(s->stable, tmp, (size_t)common * sizeof(int32_t));
            s->n_stable = common;
        }
        memcpy(s->hyp, tmp, (size_t)nc * sizeof(int32_t));
        s->n_hyp = nc;
    }
    sori_whisper_transcript_free(t);
    s->next_partial = s->total + (int64_t)s->p.partial_ms * SR / 1000;
    return st;
}

sori_status asr_whisper_stream_snapshot(const sori_asr_stream *s, sori_asr_result **out, sori_error *err)
{
    sori_asr_result *r = calloc(1, sizeof *r);
    if (!r)
        return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "asr stream: out of memory");
    const sori_bpe *b = sori_whisper_get_bpe(s->m->wh);
    size_t need = sori_bpe_decode(b, s->stable, s->n_stable, NULL, 0);
    r->text = calloc(need + 1, 1);
    if (!r->text) {
        free(r);
        return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "asr stream: out of memory");
    }
    sori_bpe_decode(b, s->stable, s->n_stable, r->text, need + 1);
    /* whole characters only (an unfinished last one waits), invalid bytes
     * replaced, no edge spaces */
    size_t n = strlen(r->text), cut = n;
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)r->text[i];
        size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
        if (i + len > n) {
            cut = i;
            break;
        }
        i += len;
    }
    char *fixed = malloc(3 * cut + 1);
    if (!fixed) {
        sori_asr_result_free(r);
        return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "asr stream: out of memory");
    }
    sori_whisper_utf8_repair(r->text, cut, fixed);
    free(r->text);
    r->text = fixed;
    char *a = r->text;
    while (*a == ' ')
        a++;
    memmove(r->text, a, strlen(a) + 1);
    for (size_t L = strlen(r->text); L > 0 && r->text[L - 1] == ' '; L--)
        r->text[L - 1] = '\0';
    r->confidence = 1.0f;
    r->duration_s = (double)(s->total - s->utt_start) / SR;
    r->is_final = s->finished && s->utt_start >= s->total && s->n_ends == 0;
    *out = r;
    return SORI_OK;
}
