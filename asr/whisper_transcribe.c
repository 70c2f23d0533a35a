/* Long-form Whisper transcription as openai-whisper's transcribe()
 * (asr/whisper_transcribe.h). */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "asr/whisper_transcribe.h"
#include "kernels/kernels.h"
#include "lm/bpe.h"
#include "sori/features.h"
#include "sori/vad.h"

enum { SR = 16000, HOP = 160, N_FRAMES = 3000, N_SAMPLES = 480000, MAX_CHUNK = 30 * SR, HALF_FFT = 200 };
/* a reader's samples at hand: a window's and a little more */
enum { SBUF = N_SAMPLES + 2 * HALF_FFT + SR };

sori_whisper_params sori_whisper_default_params(void)
{
    sori_whisper_params p = {0};
    p.dec = sori_whisper_default_options();
    static const float temps[] = {0.0f, 0.2f, 0.4f, 0.6f, 0.8f, 1.0f};
    memcpy(p.temperatures, temps, sizeof temps);
    p.n_temperatures = 6;
    p.compression_ratio_threshold = 2.4f;
    p.logprob_threshold = -1.0f;
    p.no_speech_threshold = 0.6f;
    p.condition_on_previous_text = true;
    p.dec.best_of = 5;
    return p;
}

void sori_whisper_session_free(sori_whisper_session *s)
{
    if (!s)
        return;
    sori_whisper_state_free(s->st);
    sori_whisper_search_free(s->z);
    sori_whisper_mel_free(s->mel);
    free(s->win);
    free(s->align);
    free(s->sbuf);
    free(s->frames);
    sori_runtime *rt = s->m ? sori_whisper_runtime(s->m) : NULL;
    if (rt) {
        sori_rt_release(rt, s->d_frames);
        sori_rt_release(rt, s->d_out);
        sori_rt_release(rt, s->d_window);
        sori_rt_release(rt, s->d_filters);
    }
    free(s);
}

sori_status sori_whisper_session_create(sori_whisper *m, int group, sori_whisper_session **out, sori_error *err)
{
    return sori_whisper_session_create_batched(m, group, 1, out, err);
}

sori_status sori_whisper_session_create_batched(sori_whisper *m, int group, int windows, sori_whisper_session **out,
                                                sori_error *err)
{
    if (!out)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "whisper: out is NULL");
    *out = NULL;
    if (!m || group < 1 || group > 64 || windows < 1 || windows > 64)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "whisper: a group of %d sequences (1..64), %d windows (1..64)",
                         group, windows);
    const sori_whisper_hparams *hp = sori_whisper_get_hparams(m);
    if (hp->n_audio_ctx * 2 != N_FRAMES)
        return sori_fail(err, SORI_ERR_UNSUPPORTED, 0,
                         "whisper: transcription needs 30 s windows (n_audio_ctx 1500); the model has %d",
                         hp->n_audio_ctx);
    sori_whisper_session *s = calloc(1, sizeof *s);
    if (!s)
        return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "whisper: out of memory");
    s->m = m;
    s->group = group;
    s->windows = windows;
    const sori_whisper_tokens *t = sori_whisper_get_tokens(m);
    const int seqs = group > windows ? group : windows;
    sori_status st = sori_whisper_state_create(m, windows, seqs, &s->st, err);
    if (st == SORI_OK)
        st = sori_whisper_search_create(m, seqs, &s->z, err);
    if (st == SORI_OK)
        st = sori_whisper_mel_create(hp->n_mels, sori_whisper_mel_filters(m), &s->mel, err);
    if (st == SORI_OK) {
        s->win = malloc((size_t)windows * N_FRAMES * hp->n_mels * sizeof(float));
        size_t na = (size_t)(t->n_alignment_heads > 0 ? t->n_alignment_heads : 1) * hp->n_text_ctx * hp->n_audio_ctx;
        s->align = malloc(na * sizeof(float));
        s->sbuf_cap = SBUF;
        s->sbuf = malloc((size_t)s->sbuf_cap * sizeof(float));
        if (!s->win || !s->align || !s->sbuf)
            st = sori_fail(err, SORI_ERR_NO_MEMORY, 0, "whisper: out of memory");
    }
    sori_runtime *rt = sori_whisper_runtime(m);
    if (st == SORI_OK && sori_rt_supports(rt, SORI_OP_LOGMEL, SORI_F32)) {
        const int F = hp->n_mels;
        s->gpu_mel = true;
        s->frames = malloc((size_t)N_FRAMES * 2 * HALF_FFT * sizeof(float));
        if (!s->frames)
            st = sori_fail(err, SORI_ERR_NO_MEMORY, 0, "whisper: out of memory");
        if (st == SORI_OK)
            st = sori_rt_alloc(rt, (size_t)N_FRAMES * 2 * HALF_FFT * sizeof(float), &s->d_frames, err);
        if (st == SORI_OK)
            st = sori_rt_alloc(rt, (size_t)N_FRAMES * F * sizeof(float), &s->d_out, err);
        if (st == SORI_OK)
            st = sori_rt_alloc(rt, (size_t)2 * HALF_FFT * sizeof(float), &s->d_window, err);
        if (st == SORI_OK)
            st = sori_rt_alloc(rt, (size_t)F * (HALF_FFT + 1) * sizeof(float), &s->d_filters, err);
        if (st == SORI_OK)
            st = sori_rt_upload(rt, 0, s->d_window, sori_whisper_mel_window(s->mel), 2 * HALF_FFT * sizeof(float),
                                err);
        if (st == SORI_OK)
            st = sori_rt_upload(rt, 0, s->d_filters, sori_whisper_mel_filters(m),
                                (size_t)F * (HALF_FFT + 1) * sizeof(float), err);
        if (st == SORI_OK)
            st = sori_rt_sync(rt, 0, err);
    }
    if (st != SORI_OK) {
        sori_whisper_session_free(s);
        return st;
    }
    *out = s;
    return SORI_OK;
}

void sori_whisper_logmel_desc(struct sori_logmel_desc *d, int n_mels, int64_t n_frames, const float *frames,
                              const float *window, const float *filters, float *out)
{
    memset(d, 0, sizeof *d);
    d->n_frames = n_frames;
    d->frame_len = d->fft_size = 2 * HALF_FFT;
    d->mel_bins = HALF_FFT + 1;
    d->n_mels = n_mels;
    d->kaldi = true; /* ln(max(e, floor)); no DC removal, no pre-emphasis, no energy */
    d->remove_dc = false;
    d->preemph = 0.0f;
    d->mag_power = 2.0f;
    d->log_floor = 1e-10f;
    d->energy_col = -1;
    d->frames = frames;
    d->window = window;
    d->mel = filters;
    d->out = out;
}

/* Frames [t0, t0 + n) of x (samples [x0, x0 + xn) of a signal of len) on
 * the backend: cut here, transformed there, log10 here. */
static sori_status gpu_mel(sori_whisper_session *s, const float *x, int64_t x0, int64_t xn, int64_t len, int64_t t0,
                           int n, float *out, sori_error *err)
{
    sori_runtime *rt = sori_whisper_runtime(s->m);
    const int F = sori_whisper_get_hparams(s->m)->n_mels;
    sori_status st = sori_whisper_mel_frames_span(s->mel, x, x0, xn, len, N_SAMPLES, t0, n, s->frames, err);
    if (st != SORI_OK || n == 0)
        return st;
    st = sori_rt_upload(rt, 0, s->d_frames, s->frames, (size_t)n * 2 * HALF_FFT * sizeof(float), err);
    if (st == SORI_OK) {
        sori_op_desc op = {.op = SORI_OP_LOGMEL};
        sori_whisper_logmel_desc(&op.u.logmel, F, n, s->d_frames, s->d_window, s->d_filters, s->d_out);
        st = sori_rt_run(rt, 0, &op, err);
    }
    if (st == SORI_OK)
        st = sori_rt_download(rt, 0, out, s->d_out, (size_t)n * F * sizeof(float), err);
    if (st == SORI_OK)
        st = sori_rt_sync(rt, 0, err);
    const float inv_ln10 = 0.43429448190325182f;
    for (int64_t i = 0; st == SORI_OK && i < (int64_t)n * F; i++)
        out[i] *= inv_ln10;
    return st;
}

void sori_whisper_transcript_free(sori_whisper_transcript *t)
{
    if (!t)
        return;
    for (int i = 0; i < t->n_seg; i++) {
        sori_whisper_segment *g = &t->seg[i];
        free(g->text);
        free(g->tokens);
        for (int w = 0; w < g->n_words; w++)
            free(g->words[w].text);
        free(g->words);
        for (int k = 0; k < g->n_nbest; k++)
            free(g->nbest_text[k]);
        free(g->nbest_text);
        free(g->nbest_score);
    }
    free(t->seg);
    free(t->text);
    free(t);
}

/* ---- text ---------------------------------------------------------------------------- */

/* Bytes to valid UTF-8 (in place into out, which holds 3 * n + 1): each
 * invalid sequence becomes U+FFFD, as Python's errors="replace". */
size_t sori_whisper_utf8_repair(const char *in, size_t n, char *out)
{
    const unsigned char *s = (const unsigned char *)in;
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        unsigned char c = s[i];
        int len = c < 0x80 ? 1 : (c >= 0xc2 && c <= 0xdf) ? 2 : (c >= 0xe0 && c <= 0xef) ? 3 : (c >= 0xf0 && c <= 0xf4) ? 4 : 0;
        int ok = len > 0 && i + (size_t)len <= n;
        for (int k = 1; ok && k < len; k++) {
            unsigned char b = s[i + k];
            unsigned lo = 0x80, hi = 0xbf;
            if (k == 1) {
                if (c == 0xe0) lo = 0xa0;
                if (c == 0xed) hi = 0x9f;
                if (c == 0xf0) lo = 0x90;
                if (c == 0xf4) hi = 0x8f;
            }
            ok = b >= lo && b <= hi;
        }
        if (ok) {
            memcpy(out + o, s + i, (size_t)len);
            o += (size_t)len, i += (size_t)len;
            continue;
        }
        /* the maximal prefix of a valid sequence is one replacement */
        size_t skip = 1;
        if (len > 1) {
            for (int k = 1; k < len && i + (size_t)k < n; k++) {
                unsigned char b = s[i + k];
                unsigned lo = 0x80, hi = 0xbf;
                if (k == 1) {
                    if (c == 0xe0) lo = 0xa0;
                    if (c == 0xed) hi = 0x9f;
                    if (c == 0xf0) lo = 0x90;
                    if (c == 0xf4) hi = 0x8f;
                }
                if (b < lo || b > hi)
                    break;
                skip++;
            }
        }
        memcpy(out + o, "\xef\xbf\xbd", 3);
        o += 3, i += skip;
    }
    out[o] = '\0';
    return o;
}

/* The text of tokens (those below eot), repaired UTF-8; malloc'd. */
static char *tokens_text(const sori_whisper *m, const int32_t *tok, int n)
{
    const sori_bpe *b = sori_whisper_get_bpe(m);
    size_t need = sori_bpe_decode(b, tok, n, NULL, 0);
    char *raw = malloc(need + 1), *out = malloc(3 * need + 1);
    if (!raw || !out) {
        free(raw), free(out);
        return NULL;
    }
    raw[0] = '\0';
    sori_bpe_decode(b, tok, n, raw, need + 1);
    sori_whisper_utf8_repair(raw, need, out);
    free(raw);
    return out;
}

static bool is_py_space(unsigned char c) { return c == ' ' || (c >= 9 && c <= 13) || (c >= 28 && c <= 31); }

/* Python's str.strip() for ASCII whitespace: a malloc'd copy. */
static char *strip_dup(const char *s)
{
    while (*s && is_py_space((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && is_py_space((unsigned char)s[n - 1]))
        n--;
    char *r = malloc(n + 1);
    if (r) {
        memcpy(r, s, n);
        r[n] = '\0';
    }
    return r;
}

/* ---- the loop -------------------------------------------------------------------------- */

/* ---- where the samples come from ---------------------------------------------------- */

/* An array, or a reader read forward into the session's buffer (rewound
 * when asked for samples it has dropped). */
typedef struct {
    const float *x;          /* the whole signal, or NULL: a reader */
    int64_t n;               /* samples (a reader's: known after the first pass) */
    sori_audio_reader *r;
    float *buf;
    int64_t cap, b0, blen;   /* buf holds samples [b0, b0 + blen) */
    bool eof;
} source;

/* Samples [a, b) (b cut at the end of the signal) into the buffer. */
static sori_status source_fill(source *src, int64_t a, int64_t b, sori_error *err)
{
    if (src->x)
        return SORI_OK;
    if (b - a > src->cap)
        return sori_fail(err, SORI_ERR_INTERNAL, 0, "whisper: %lld samples asked at once", (long long)(b - a));
    sori_status st = SORI_OK;
    if (a < src->b0) {
        st = sori_audio_reader_rewind(src->r, err);
        src->b0 = src->blen = 0;
        src->eof = false;
        if (st != SORI_OK)
            return st;
    }
    if (a > src->b0) { /* drop what is behind */
        int64_t drop = a - src->b0 < src->blen ? a - src->b0 : src->blen;
        memmove(src->buf, src->buf + drop, (size_t)(src->blen - drop) * sizeof(float));
        src->b0 += drop;
        src->blen -= drop;
    }
    while (st == SORI_OK && !src->eof && src->b0 + src->blen < b) {
        int64_t got = 0;
        int64_t want = src->cap - src->blen;
        if (src->b0 + src->blen < a) { /* skip up to a */
            src->b0 += src->blen;
            src->blen = 0;
            want = a - src->b0 < src->cap ? a - src->b0 : src->cap;
            st = sori_audio_reader_read(src->r, src->buf, want, &got, err);
            src->b0 += got;
        } else {
            want = b - (src->b0 + src->blen) < want ? b - (src->b0 + src->blen) : want;
            st = sori_audio_reader_read(src->r, src->buf + src->blen, want, &got, err);
            src->blen += got;
        }
        if (st == SORI_OK && got == 0)
            src->eof = true;
    }
    return st;
}

/* Frames [t0, t0 + n) of the (known-length) signal's log-mel into out. */
static sori_status source_mel(sori_whisper_session *s, source *src, int64_t t0, int n, float *out, sori_error *err)
{
    int64_t a = t0 * HOP - HALF_FFT, b = (t0 + n - 1) * HOP + HALF_FFT + 1;
    sori_status st = source_fill(src, a > 0 ? a : 0, b > HALF_FFT + 1 ? b : HALF_FFT + 1, err);
    if (st != SORI_OK)
        return st;
    const float *x = src->x ? src->x : src->buf;
    const int64_t x0 = src->x ? 0 : src->b0, xn = src->x ? src->n : src->blen;
    if (s->gpu_mel)
        return gpu_mel(s, x, x0, xn, src->n, t0, n, out, err);
    return sori_whisper_mel_compute_span(s->mel, x, x0, xn, src->n, N_SAMPLES, t0, n, out, err);
}

/* Frames [t0, t0 + n) of the padded signal's mel, normalised by mx, into
 * s->win (the rest of the 3000 rows zero). */
static sori_status window_mel(sori_whisper_session *s, source *src, int64_t t0, int n, float mx, sori_error *err)
{
    const int F = sori_whisper_get_hparams(s->m)->n_mels;
    sori_status st = source_mel(s, src, t0, n, s->win, err);
    if (st != SORI_OK)
        return st;
    sori_whisper_mel_normalize(s->win, (int64_t)n * F, mx);
    memset(s->win + (int64_t)n * F, 0, (size_t)(N_FRAMES - n) * F * sizeof(float));
    return SORI_OK;
}

/* The maximum of the log-mel over the signal and 30 s of silence after it
 * (what openai-whisper normalises by); a reader is read to its end, which
 * gives src->n. */
static sori_status signal_max(sori_whisper_session *s, source *src, float *out_max, sori_error *err)
{
    const int F = sori_whisper_get_hparams(s->m)->n_mels;
    sori_status st = SORI_OK;
    float mx = -INFINITY;
    int64_t f0 = 0;
    if (!src->x) { /* frames whose samples are all read, until the end is found */
        for (;;) {
            int64_t a = f0 * HOP - HALF_FFT, b = (f0 + N_FRAMES - 1) * HOP + HALF_FFT + 1;
            st = source_fill(src, a > 0 ? a : 0, b, err);
            if (st != SORI_OK || src->eof)
                break;
            const int64_t len = src->b0 + src->blen;
            st = s->gpu_mel ? gpu_mel(s, src->buf, src->b0, src->blen, len, f0, N_FRAMES, s->win, err)
                            : sori_whisper_mel_compute_span(s->mel, src->buf, src->b0, src->blen, len, N_SAMPLES, f0,
                                                            N_FRAMES, s->win, err);
            for (int64_t i = 0; st == SORI_OK && i < (int64_t)N_FRAMES * F; i++)
                mx = s->win[i] > mx ? s->win[i] : mx;
            if (st != SORI_OK)
                break;
            f0 += N_FRAMES;
        }
        if (st != SORI_OK)
            return st;
        src->n = src->b0 + src->blen;
    }
    const int64_t n = src->n, total = (n + N_SAMPLES) / HOP;
    int64_t touched = n / HOP + 3 < total ? n / HOP + 3 : total;
    if (touched < total)
        mx = mx > -10.0f ? mx : -10.0f; /* frames of the padding alone: log10(1e-10) */
    for (; f0 < touched && st == SORI_OK; f0 += N_FRAMES) {
        int cnt = (int)(touched - f0 < N_FRAMES ? touched - f0 : N_FRAMES);
        st = source_mel(s, src, f0, cnt, s->win, err);
        for (int64_t i = 0; st == SORI_OK && i < (int64_t)cnt * F; i++)
            mx = s->win[i] > mx ? s->win[i] : mx;
    }
    *out_max = mx;
    return st;
}

typedef struct {
    int32_t *v;
    int n, cap;
} ivec;

static int ivec_push(ivec *a, const int32_t *x, int n)
{
    if (n <= 0)
        return 0;
    if (a->n + n > a->cap) {
        int cap = a->cap ? a->cap : 256;
        while (cap < a->n + n)
            cap *= 2;
        int32_t *v = realloc(a->v, (size_t)cap * sizeof *v);
        if (!v)
            return -1;
        a->v = v, a->cap = cap;
    }
    memcpy(a->v + a->n, x, (size_t)n * sizeof *x);
    a->n += n;
    return 0;
}

static sori_whisper_segment *new_segment(sori_whisper_transcript *t)
{
    if (t->n_seg == t->cap) {
        int cap = t->cap ? 2 * t->cap : 16;
        sori_whisper_segment *g = realloc(t->seg, (size_t)cap * sizeof *g);
        if (!g)
            return NULL;
        t->seg = g, t->cap = cap;
    }
    sori_whisper_segment *g = &t->seg[t->n_seg++];
    memset(g, 0, sizeof *g);
    return g;
}

static sori_status fill_segment(const sori_whisper *m, sori_whisper_segment *g, double start, double end,
                                const int32_t *tok, int n, const sori_whisper_result *r, float cr, sori_error *err)
{
    const sori_whisper_tokens *t = sori_whisper_get_tokens(m);
    g->start = start, g->end = end;
    g->tokens = malloc((size_t)(n > 0 ? n : 1) * sizeof(int32_t));
    int32_t *text_tok = malloc((size_t)(n > 0 ? n : 1) * sizeof(int32_t));
    int nt = 0;
    if (!g->tokens || !text_tok) {
        free(text_tok);
        return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "whisper: out of memory");
    }
    memcpy(g->tokens, tok, (size_t)n * sizeof(int32_t));
    g->n_tokens = n;
    for (int i = 0; i < n; i++)
        if (tok[i] < t->eot)
            text_tok[nt++] = tok[i];
    g->text = tokens_text(m, text_tok, nt);
    free(text_tok);
    g->avg_logprob = r->avg_logprob;
    g->compression_ratio = cr;
    g->no_speech_prob = r->no_speech_prob;
    g->temperature = r->temperature;
    return g->text ? SORI_OK : sori_fail(err, SORI_ERR_NO_MEMORY, 0, "whisper: out of memory");
}

/* The window's N-best list onto its first segment. */
static void attach_nbest(const sori_whisper *m, sori_whisper_segment *g, const sori_whisper_result *r)
{
    if (r->n_best < 2)
        return;
    g->nbest_text = calloc((size_t)r->n_best, sizeof(char *));
    g->nbest_score = calloc((size_t)r->n_best, sizeof(float));
    if (!g->nbest_text || !g->nbest_score)
        return;
    for (int k = 0; k < r->n_best; k++) {
        g->nbest_text[k] = tokens_text(m, r->nbest[k].tokens, r->nbest[k].n_tokens);
        g->nbest_score[k] = r->nbest[k].score;
    }
    g->n_nbest = r->n_best;
}

static sori_status transcribe_source(sori_whisper_session *s, source *src, const sori_whisper_params *p,
                                     sori_whisper_transcript **out, sori_error *err);

sori_status sori_whisper_transcribe(sori_whisper_session *s, const float *x, int64_t n,
                                    const sori_whisper_params *p, sori_whisper_transcript **out, sori_error *err)
{
    if (!s || !p || !out || n < 0 || (n > 0 && !x) || p->n_temperatures < 1 || p->n_temperatures > 8)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "whisper transcribe: bad argument");
    static const float none[1] = {0.0f};
    source src = {x ? x : none, n, NULL, NULL, 0, 0, 0, false};
    return transcribe_source(s, &src, p, out, err);
}

sori_status sori_whisper_transcribe_reader(sori_whisper_session *s, sori_audio_reader *r,
                                           const sori_whisper_params *p, sori_whisper_transcript **out,
                                           sori_error *err)
{
    if (!s || !p || !out || !r || p->n_temperatures < 1 || p->n_temperatures > 8)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "whisper transcribe: bad argument");
    if (sori_audio_reader_get_info(r).sample_rate_hz != SR)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "whisper transcribe: the reader gives %d Hz, not 16 kHz",
                         sori_audio_reader_get_info(r).sample_rate_hz);
    source src = {NULL, 0, r, s->sbuf, s->sbuf_cap, 0, 0, false};
    sori_status st = sori_audio_reader_rewind(r, err);
    return st == SORI_OK ? transcribe_source(s, &src, p, out, err) : st;
}

static sori_status transcribe_source(sori_whisper_session *s, source *src, const sori_whisper_params *p,
                                     sori_whisper_transcript **out, sori_error *err)
{
    *out = NULL;
    sori_whisper *m = s->m;
    const sori_whisper_tokens *tk = sori_whisper_get_tokens(m);
    const int F = sori_whisper_get_hparams(m)->n_mels;
    const int group = p->dec.beam_size > 1 ? p->dec.beam_size : 1;
    if (group > s->group || (p->n_temperatures > 1 && p->dec.best_of > s->group))
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0,
                         "whisper transcribe: beam %d / best_of %d, the session holds %d sequences", p->dec.beam_size,
                         p->dec.best_of, s->group);
    sori_whisper_transcript *t = calloc(1, sizeof *t);
    if (!t)
        return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "whisper: out of memory");
    /* the maximum of the log-mel over the file (+ 30 s of silence) */
    float mx = 0.0f;
    sori_status st = signal_max(s, src, &mx, err);
    const int64_t n = src->n, total = (n + N_SAMPLES) / HOP, content = total - N_FRAMES;
    t->duration = (double)n / SR;
    sori_whisper_options o = p->dec;
    t->language = o.language;
    if (st == SORI_OK && tk->multilingual && (o.language < 0 || p->detect_language) && content > 0) {
        /* detect on the first 30 s of the padded mel */
        st = source_mel(s, src, 0, N_FRAMES, s->win, err);
        if (st == SORI_OK) {
            sori_whisper_mel_normalize(s->win, (int64_t)N_FRAMES * F, mx);
            const float *mel[1] = {s->win};
            st = sori_whisper_encode(s->st, 1, mel, NULL, err);
        }
        if (st == SORI_OK)
            st = sori_whisper_detect_language(s->z, s->st, 0, &o.language, NULL, err);
        t->language = o.language;
    }
    ivec all = {0};
    int prompt_reset = 0, n_initial = 0;
    if (st == SORI_OK && p->initial_prompt && *p->initial_prompt) {
        char *stripped = strip_dup(p->initial_prompt);
        size_t L = stripped ? strlen(stripped) : 0;
        char *sp = stripped ? malloc(L + 2) : NULL;
        int cap = (int)L + 8, nt = 0;
        int32_t *ids = malloc((size_t)cap * sizeof(int32_t));
        if (!sp || !ids)
            st = sori_fail(err, SORI_ERR_NO_MEMORY, 0, "whisper: out of memory");
        if (st == SORI_OK) {
            sp[0] = ' ';
            memcpy(sp + 1, stripped, L + 1);
            st = sori_bpe_encode(sori_whisper_get_bpe(m), sp, ids, cap, &nt, err);
        }
        if (st == SORI_OK && ivec_push(&all, ids, nt))
            st = sori_fail(err, SORI_ERR_NO_MEMORY, 0, "whisper: out of memory");
        n_initial = all.n;
        free(stripped), free(sp), free(ids);
    }
    const double precision = 30.0 / sori_whisper_get_hparams(m)->n_audio_ctx; /* 0.02 s */
    const int input_stride = 2;
    double last_speech = 0.0;
    int64_t seek = 0;
    while (st == SORI_OK && seek < content) {
        const double time_offset = (double)seek * HOP / SR;
        const int size = (int)(content - seek < N_FRAMES ? content - seek : N_FRAMES);
        const double seg_duration = (double)size * HOP / SR;
        st = window_mel(s, src, seek, size, mx, err);
        const float *mel[1] = {s->win};
        if (st == SORI_OK)
            st = sori_whisper_encode(s->st, 1, mel, NULL, err);
        if (st != SORI_OK)
            break;
        o.prompt = all.v ? all.v + prompt_reset : NULL; /* nothing yet: no prompt */
        o.n_prompt = all.n - prompt_reset;
        /* decode with the temperature fallback */
        sori_whisper_result r = {0};
        float cr = 0.0f;
        for (int ti = 0; ti < p->n_temperatures && st == SORI_OK; ti++) {
            sori_whisper_options oi = o;
            oi.temperature = p->temperatures[ti];
            if (oi.temperature > 0.0f)
                oi.beam_size = 0;
            else
                oi.best_of = 1;
            oi.seed = o.seed + (uint64_t)seek * 7919u + (uint64_t)ti;
            st = sori_whisper_decode_window(s->z, s->st, 0, &oi, &r, err);
            if (st != SORI_OK)
                break;
            char *text = tokens_text(m, r.tokens, r.n_tokens);
            char *stripped = text ? strip_dup(text) : NULL;
            cr = sori_whisper_compression_ratio(stripped ? stripped : "");
            free(text), free(stripped);
            bool fallback = false;
            if (p->compression_ratio_threshold > 0 && cr > p->compression_ratio_threshold)
                fallback = true;
            if (!isnan(p->logprob_threshold) && r.avg_logprob < p->logprob_threshold)
                fallback = true;
            if (!isnan(p->no_speech_threshold) && r.no_speech_prob > p->no_speech_threshold &&
                !isnan(p->logprob_threshold) && r.avg_logprob < p->logprob_threshold)
                fallback = false; /* silence */
            if (!fallback)
                break;
        }
        if (st != SORI_OK)
            break;
        if (!isnan(p->no_speech_threshold)) {
            bool skip = r.no_speech_prob > p->no_speech_threshold;
            if (!isnan(p->logprob_threshold) && r.avg_logprob > p->logprob_threshold)
                skip = false;
            if (skip) {
                seek += size;
                if (p->progress)
                    p->progress(p->progress_ctx, (double)seek * HOP / SR, t->duration);
                continue;
            }
        }
        /* cut the tokens into segments at consecutive timestamps */
        const int32_t *tok = r.tokens;
        const int nt = r.n_tokens, tb = tk->timestamp_begin;
        const int first_seg = t->n_seg;
        bool single_end = nt >= 2 && tok[nt - 2] < tb && tok[nt - 1] >= tb;
        int n_consec = 0;
        for (int i = 0; i + 1 < nt; i++)
            n_consec += tok[i] >= tb && tok[i + 1] >= tb;
        if (n_consec > 0) {
            int last = 0;
            for (int i = 0; i + 1 < nt + 1 && st == SORI_OK; i++) {
                int cut = -1;
                if (i + 1 < nt && tok[i] >= tb && tok[i + 1] >= tb)
                    cut = i + 1;
                else if (i == nt - 1 && single_end)
                    cut = nt;
                if (cut < 0)
                    continue;
                sori_whisper_segment *g = new_segment(t);
                if (!g) {
                    st = sori_fail(err, SORI_ERR_NO_MEMORY, 0, "whisper: out of memory");
                    break;
                }
                double a = time_offset + (tok[last] - tb) * precision;
                double b = time_offset + (tok[cut - 1] - tb) * precision;
                st = fill_segment(m, g, a, b, tok + last, cut - last, &r, cr, err);
                last = cut;
            }
            if (single_end)
                seek += size;
            else
                seek += (int64_t)(tok[last - 1] - tb) * input_stride;
        } else {
            double duration = seg_duration;
            int last_ts = -1;
            for (int i = 0; i < nt; i++)
                if (tok[i] >= tb)
                    last_ts = tok[i];
            if (last_ts >= 0 && last_ts != tb)
                duration = (last_ts - tb) * precision;
            sori_whisper_segment *g = new_segment(t);
            st = g ? fill_segment(m, g, time_offset, time_offset + duration, tok, nt, &r, cr, err)
                   : sori_fail(err, SORI_ERR_NO_MEMORY, 0, "whisper: out of memory");
            seek += size;
        }
        if (st == SORI_OK && t->n_seg > first_seg)
            attach_nbest(m, &t->seg[first_seg], &r);
        if (st == SORI_OK && p->word_timestamps && t->n_seg > first_seg) {
            st = sori_whisper_add_words(s, t->seg + first_seg, t->n_seg - first_seg, size, time_offset, o.language,
                                        o.translate, &last_speech, err);
            /* the last word's end (or the last segment's) */
            double last_end = t->seg[t->n_seg - 1].end;
            for (int i = t->n_seg - 1; i >= first_seg; i--)
                if (t->seg[i].n_words) {
                    last_end = t->seg[i].words[t->seg[i].n_words - 1].end;
                    break;
                }
            if (st == SORI_OK && !single_end && last_end > time_offset)
                seek = (int64_t)nearbyint(last_end * (SR / HOP));
            last_speech = last_end;
        }
        /* an instantaneous or empty segment is cleared */
        for (int i = first_seg; i < t->n_seg && st == SORI_OK; i++) {
            sori_whisper_segment *g = &t->seg[i];
            char *stripped = strip_dup(g->text);
            if (g->start == g->end || !stripped || !*stripped) {
                g->text[0] = '\0';
                g->n_tokens = 0;
                for (int w = 0; w < g->n_words; w++)
                    free(g->words[w].text);
                g->n_words = 0;
            }
            free(stripped);
        }
        for (int i = first_seg; i < t->n_seg && st == SORI_OK; i++)
            if (ivec_push(&all, t->seg[i].tokens, t->seg[i].n_tokens))
                st = sori_fail(err, SORI_ERR_NO_MEMORY, 0, "whisper: out of memory");
        if (!p->condition_on_previous_text || r.temperature > 0.5f)
            prompt_reset = all.n;
        if (p->progress)
            p->progress(p->progress_ctx, (double)(seek < content ? seek : content) * HOP / SR, t->duration);
    }
    if (st == SORI_OK) {
        /* the text of every token after the initial prompt */
        int32_t *text_tok = malloc((size_t)(all.n + 1) * sizeof(int32_t));
        int nt = 0;
        for (int i = n_initial; text_tok && i < all.n; i++)
            if (all.v[i] < tk->eot)
                text_tok[nt++] = all.v[i];
        t->text = text_tok ? tokens_text(m, text_tok, nt) : NULL;
        free(text_tok);
        if (!t->text)
            st = sori_fail(err, SORI_ERR_NO_MEMORY, 0, "whisper: out of memory");
    }
    free(all.v);
    if (st != SORI_OK) {
        sori_whisper_transcript_free(t);
        return st;
    }
    *out = t;
    return SORI_OK;
}

/* ---- the throughput mode ----------------------------------------------------------- */

typedef struct {
    int64_t a, b; /* samples */
} span_t;

typedef struct {
    span_t *v;
    int n, cap;
} spans;

static int spans_push(spans *s, int64_t a, int64_t b)
{
    if (s->n == s->cap) {
        int cap = s->cap ? 2 * s->cap : 64;
        span_t *v = realloc(s->v, (size_t)cap * sizeof *v);
        if (!v)
            return -1;
        s->v = v, s->cap = cap;
    }
    s->v[s->n++] = (span_t){a, b};
    return 0;
}

/* Speech regions of x: Silero (vad) with hysteresis, or the energy VAD;
 * pauses shorter than 160 ms bridged, regions padded by 200 ms. */
static sori_status speech_regions(const float *x, int64_t n, const struct sori_silero_vad *vad, spans *out,
                                  sori_error *err)
{
    int frame = 0;
    uint8_t *dec = NULL;
    int64_t nf = 0;
    sori_status st = SORI_OK;
    if (vad) {
        frame = sori_silero_vad_window(vad, SR);
        sori_silero_vad_state *vs = NULL;
        st = sori_silero_vad_state_create(vad, SR, &vs, err);
        nf = n / (frame > 0 ? frame : 1);
        if (st == SORI_OK && !(dec = malloc((size_t)nf + 1)))
            st = sori_fail(err, SORI_ERR_NO_MEMORY, 0, "whisper: out of memory");
        int speech = 0;
        for (int64_t f = 0; st == SORI_OK && f < nf; f++) {
            float prob = 0.0f;
            st = sori_silero_vad_process(vs, x + f * frame, frame, &prob, err);
            speech = speech ? prob >= 0.35f : prob >= 0.5f;
            dec[f] = (uint8_t)speech;
        }
        sori_silero_vad_state_free(vs);
    } else {
        sori_vad_params vp = sori_vad_default_params();
        vp.sample_rate_hz = SR;
        sori_vad *v = NULL;
        st = sori_vad_create(&vp, &v, err);
        frame = v ? sori_vad_frame_samples(v) : 1;
        if (st == SORI_OK && !(dec = malloc((size_t)(n / frame) + 2)))
            st = sori_fail(err, SORI_ERR_NO_MEMORY, 0, "whisper: out of memory");
        if (st == SORI_OK)
            st = sori_vad_accept(v, x, n, dec, n / frame + 2, &nf, err);
        sori_vad_free(v);
    }
    const int64_t bridge = SR * 160 / 1000, pad = SR / 5;
    for (int64_t f = 0; st == SORI_OK && f < nf;) {
        if (!dec[f]) {
            f++;
            continue;
        }
        int64_t g = f;
        while (g < nf && dec[g])
            g++;
        int64_t a = f * frame, b = g * frame;
        if (out->n && a - out->v[out->n - 1].b <= bridge)
            out->v[out->n - 1].b = b;
        else if (spans_push(out, a, b))
            st = sori_fail(err, SORI_ERR_NO_MEMORY, 0, "whisper: out of memory");
        f = g;
    }
    for (int i = 0; st == SORI_OK && i < out->n; i++) {
        out->v[i].a = out->v[i].a - pad > 0 ? out->v[i].a - pad : 0;
        out->v[i].b = out->v[i].b + pad < n ? out->v[i].b + pad : n;
    }
    free(dec);
    return st;
}

/* Regions merged into chunks of at most 30 s (a longer region cut into 30 s pieces). */
static sori_status chunk_regions(const spans *r, spans *out, sori_error *err)
{
    for (int i = 0; i < r->n; i++) {
        for (int64_t a = r->v[i].a; a < r->v[i].b; a += MAX_CHUNK) {
            int64_t b = a + MAX_CHUNK < r->v[i].b ? a + MAX_CHUNK : r->v[i].b;
            if (out->n && b - out->v[out->n - 1].a <= MAX_CHUNK) { /* joins the chunk (padded regions may overlap) */
                if (b > out->v[out->n - 1].b)
                    out->v[out->n - 1].b = b;
            } else if (spans_push(out, out->n && a < out->v[out->n - 1].b ? out->v[out->n - 1].b : a, b)) {
                return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "whisper: out of memory");
            }
        }
    }
    return SORI_OK;
}

/* A chunk's window as openai-whisper would see it as a file of its own:
 * its frames (30 s of padding after it), normalised by their maximum,
 * zeros after its content. */
static sori_status chunk_mel(sori_whisper_session *s, const float *x, int64_t len, float *w, sori_error *err)
{
    const int F = sori_whisper_get_hparams(s->m)->n_mels;
    const int64_t total = (len + N_SAMPLES) / HOP;
    const int nfr = (int)(len / HOP < N_FRAMES ? len / HOP : N_FRAMES);
    /* the maximum over the frames that see the samples (the rest is -10) */
    const int64_t touched = len / HOP + 3 < total ? len / HOP + 3 : total;
    float mx = touched < total ? -10.0f : -INFINITY;
    sori_status st = SORI_OK;
    for (int64_t f0 = 0; f0 < touched && st == SORI_OK; f0 += N_FRAMES) {
        int cnt = (int)(touched - f0 < N_FRAMES ? touched - f0 : N_FRAMES);
        st = s->gpu_mel ? gpu_mel(s, x, 0, len, len, f0, cnt, w, err)
                        : sori_whisper_mel_compute(s->mel, x, len, N_SAMPLES, f0, cnt, w, err);
        for (int64_t i = 0; st == SORI_OK && i < (int64_t)cnt * F; i++)
            mx = w[i] > mx ? w[i] : mx;
    }
    if (st == SORI_OK)
        st = s->gpu_mel ? gpu_mel(s, x, 0, len, len, 0, nfr, w, err)
                        : sori_whisper_mel_compute(s->mel, x, len, N_SAMPLES, 0, nfr, w, err);
    if (st != SORI_OK)
        return st;
    sori_whisper_mel_normalize(w, (int64_t)nfr * F, mx);
    memset(w + (int64_t)nfr * F, 0, (size_t)(N_FRAMES - nfr) * F * sizeof(float));
    return SORI_OK;
}

sori_status sori_whisper_transcribe_batched(sori_whisper_session *s, const float *x, int64_t n,
                                            const sori_whisper_params *p, const struct sori_silero_vad *vad,
                                            sori_whisper_transcript **out, sori_error *err)
{
    if (!s || !p || !out || n < 0 || (n > 0 && !x))
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "whisper transcribe: bad argument");
    *out = NULL;
    sori_whisper *m = s->m;
    const sori_whisper_tokens *tk = sori_whisper_get_tokens(m);
    const int F = sori_whisper_get_hparams(m)->n_mels;
    sori_whisper_transcript *t = calloc(1, sizeof *t);
    if (!t)
        return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "whisper: out of memory");
    t->duration = (double)n / SR;
    spans regions = {0}, chunks = {0};
    sori_status st = speech_regions(x, n, vad, &regions, err);
    if (st == SORI_OK)
        st = chunk_regions(&regions, &chunks, err);
    sori_whisper_options o = p->dec;
    o.without_timestamps = true;
    o.temperature = 0.0f;
    o.beam_size = 0;
    o.prompt = NULL;
    o.n_prompt = 0;
    t->language = o.language;
    if (st == SORI_OK && tk->multilingual && o.language < 0) {
        /* detect on the first chunk */
        o.language = sori_whisper_language_token(m, "en");
        if (chunks.n > 0) {
            st = chunk_mel(s, x + chunks.v[0].a, chunks.v[0].b - chunks.v[0].a, s->win, err);
            const float *mel[1] = {s->win};
            if (st == SORI_OK)
                st = sori_whisper_encode(s->st, 1, mel, NULL, err);
            if (st == SORI_OK)
                st = sori_whisper_detect_language(s->z, s->st, 0, &o.language, NULL, err);
        }
        t->language = o.language;
    }
    sori_whisper_result res[64];
    for (int c0 = 0; st == SORI_OK && c0 < chunks.n; c0 += s->windows) {
        const int nb = chunks.n - c0 < s->windows ? chunks.n - c0 : s->windows;
        const float *mel[64];
        for (int j = 0; j < nb && st == SORI_OK; j++) {
            const int64_t a = chunks.v[c0 + j].a, len = chunks.v[c0 + j].b - a;
            float *w = s->win + (int64_t)j * N_FRAMES * F;
            st = chunk_mel(s, x + a, len, w, err);
            mel[j] = w;
        }
        if (st == SORI_OK)
            st = sori_whisper_encode(s->st, nb, mel, NULL, err);
        if (st == SORI_OK)
            st = sori_whisper_decode_windows(s->z, s->st, nb, &o, res, err);
        for (int j = 0; j < nb && st == SORI_OK; j++) {
            const sori_whisper_result *r = &res[j];
            if (!isnan(p->no_speech_threshold) && r->no_speech_prob > p->no_speech_threshold &&
                !(!isnan(p->logprob_threshold) && r->avg_logprob > p->logprob_threshold))
                continue; /* silence */
            char *text = tokens_text(m, r->tokens, r->n_tokens);
            char *stripped = text ? strip_dup(text) : NULL;
            float cr = sori_whisper_compression_ratio(stripped ? stripped : "");
            free(text), free(stripped);
            sori_whisper_segment *g = new_segment(t);
            st = g ? fill_segment(m, g, (double)chunks.v[c0 + j].a / SR, (double)chunks.v[c0 + j].b / SR, r->tokens,
                                  r->n_tokens, r, cr, err)
                   : sori_fail(err, SORI_ERR_NO_MEMORY, 0, "whisper: out of memory");
        }
        if (p->progress && st == SORI_OK)
            p->progress(p->progress_ctx, (double)chunks.v[c0 + nb - 1].b / SR, t->duration);
    }
    /* the text: every segment's */
    size_t need = 1;
    for (int i = 0; st == SORI_OK && i < t->n_seg; i++)
        need += t->seg[i].text ? strlen(t->seg[i].text) : 0;
    if (st == SORI_OK && !(t->text = calloc(need, 1)))
        st = sori_fail(err, SORI_ERR_NO_MEMORY, 0, "whisper: out of memory");
    for (int i = 0; st == SORI_OK && i < t->n_seg; i++)
        strcat(t->text, t->seg[i].text);
    free(regions.v);
    free(chunks.v);
    if (st != SORI_OK) {
        sori_whisper_transcript_free(t);
        return st;
    }
    *out = t;
    return SORI_OK;
}
