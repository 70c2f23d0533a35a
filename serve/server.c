/* The streaming server (sori/serve.h): libwebsockets for the event loop,
 * HTTP and WebSocket; cJSON for messages; a decoding thread that owns every
 * stream. Protocol: docs/protocol.md. */
#define _POSIX_C_SOURCE 200809L
#include <cjson/cJSON.h>
#include <errno.h>
#include <libwebsockets.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernels/kernels.h"
#include "serve/serve_internal.h"
#include "sori/audio.h"
#include "sori/serve.h"
#include "sori/text.h"

enum { MAX_MODELS = 16, MAX_CHANNELS = 2, ARRIVALS = 512, MAX_DECODERS = 16 };

typedef struct event {
    struct event *next;
    size_t len;
    unsigned char data[]; /* LWS_PRE bytes, then the JSON text */
} event;

typedef struct session session;

struct session {
    session *next;
    uint64_t id;
    int shard;              /* the decoding thread that owns it */
    /* the loop thread's */
    struct lws *wsi;        /* NULL once the connection is gone */
    char *msg;              /* a text message being assembled */
    size_t msg_len;
    size_t bin_len;         /* bytes of the binary message being received */
    unsigned char carry[8]; /* a sample split between frames */
    int n_carry;
    bool authed, started;
    sori_opus_decoder *opus; /* Opus calls' codec state */
    float *opus_pcm;
    bool audiosocket;       /* an AudioSocket call: events to `sink`, not to the socket */
    bool twilio;            /* a Twilio-style media stream (/v1/twilio): events to `sink` too */
    FILE *sink;             /* its events' file in the sink directory, or NULL */
    char call_id[80];       /* the telephony call's id (UUID, streamSid) */
    unsigned char *raw;     /* AudioSocket bytes not yet a whole message */
    unsigned char *track[MAX_CHANNELS]; /* a two-track media stream: each track's μ-law not yet paired */
    size_t n_track[MAX_CHANNELS], cap_track[MAX_CHANNELS];
    int64_t track_total[MAX_CHANNELS];  /* samples placed on each track's timeline (silence included) */
    size_t n_raw;
    int counted;            /* streams it holds of the server's limit (under sv->mu) */
    /* shared, under sv->mu */
    sori_serve_start start; /* what the start message asked */
    float *pending[MAX_CHANNELS];
    int64_t n_pending, cap_pending; /* samples per channel waiting for the decoder */
    bool stop_req, gone, flow_off, flow_resume, close_after, has_output;
    event *out_head, *out_tail;
    size_t out_bytes;
    int64_t received;       /* samples (per channel) received in all */
    struct {
        int64_t upto;       /* samples received once this message was in */
        double at;
    } arrivals[ARRIVALS];   /* the latest messages, a ring */
    int n_arrivals;
    /* the decoding thread's */
    sori_asr_stream *st[MAX_CHANNELS];
    char *partial[MAX_CHANNELS];
    int64_t samples_in;
    int n_finals;
    bool streams_made, finished, summary_sent, failed;
    double last_end[MAX_CHANNELS];
};

struct sori_server {
    sori_server_params p;
    char host[256], token[512];
    sori_server_model models[MAX_MODELS];
    char *names[MAX_MODELS];
    int n_models;
    struct lws_context *ctx;
    pthread_t ticker[MAX_DECODERS];
    struct decoder {
        sori_server *sv;
        int index;
    } dec[MAX_DECODERS];
    int n_tickers, n_started;
    pthread_mutex_t mu;
    session *sessions;
    uint64_t next_id;
    volatile sig_atomic_t stop_flag;
    bool draining, quit;
    double drain_started;
    int n_streams;
    sori_serve_metrics m;
    double started_at;
    sori_sink *sink;        /* audio-only calls' events: files and/or HTTP POSTs */
};

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

#define log_line(sv, ...) sori_serve_log((sv)->p.log, __VA_ARGS__)

sori_server_params sori_server_default_params(void)
{
    sori_server_params p = {0};
    p.host = "127.0.0.1";
    p.port = 8765;
    p.max_streams = 64;
    p.max_message_bytes = 1 << 20;
    p.max_pending_s = 10;
    p.max_output_bytes = 4 << 20;
    p.idle_timeout_s = 60;
    p.tick_ms = 20;
    p.drain_timeout_s = 30;
    p.decoders = 2;
    return p;
}

/* ---- events ------------------------------------------------------------------------------ */

/* Queues a JSON object (taken) for the client; under sv->mu. A client that
 * lets too much pile up is closed. */
static void queue_json(sori_server *sv, session *s, cJSON *o)
{
    char *text = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    if (!text)
        return;
    if (s->audiosocket || s->twilio) { /* audio-only protocols: the call's sink file and/or a POST */
        if (s->started)
            sori_sink_event(sv->sink, s->sink, s->call_id, s->audiosocket ? "audiosocket" : "twilio", text);
        free(text);
        return;
    }
    size_t n = strlen(text);
    event *e = malloc(sizeof *e + LWS_PRE + n);
    if (e) {
        e->next = NULL;
        e->len = n;
        memcpy(e->data + LWS_PRE, text, n);
        if (s->out_tail)
            s->out_tail->next = e;
        else
            s->out_head = e;
        s->out_tail = e;
        s->out_bytes += n;
        s->has_output = true;
        if (s->out_bytes > (size_t)sv->p.max_output_bytes && !s->close_after) {
            s->close_after = true; /* a client that does not read: no more events, then closed */
            sv->m.errors[SORI_SERVE_ERR_SLOW_READER]++;
        }
    }
    free(text);
}

static void queue_error(sori_server *sv, session *s, sori_serve_err kind, const char *msg, bool fatal)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "type", "error");
    cJSON_AddStringToObject(o, "code", sori_serve_err_name(kind));
    cJSON_AddStringToObject(o, "message", msg);
    queue_json(sv, s, o);
    sv->m.errors[kind]++;
    if (fatal)
        s->close_after = true;
}

static void free_events(session *s)
{
    for (event *e = s->out_head, *n; e; e = n) {
        n = e->next;
        free(e);
    }
    s->out_head = s->out_tail = NULL;
    s->out_bytes = 0;
}

static void session_free(session *s)
{
    for (int c = 0; c < MAX_CHANNELS; c++) {
        sori_asr_stream_free(s->st[c]);
        free(s->pending[c]);
        free(s->partial[c]);
    }
    free(s->start.hotwords);
    free(s->msg);
    free(s->raw);
    free(s->track[0]);
    free(s->track[1]);
    if (s->sink)
        fclose(s->sink);
    sori_opus_decoder_free(s->opus);
    free(s->opus_pcm);
    free_events(s);
    free(s);
}

/* ---- the decoding thread -------------------------------------------------------------- */

static cJSON *result_json(const char *type, int channel, const sori_asr_result *r, double start, double end,
                          bool words, const sori_asr_redaction *red, int n_red, const sori_moderation *mod)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "type", type);
    cJSON_AddNumberToObject(o, "channel", channel);
    cJSON_AddStringToObject(o, "text", r->text ? r->text : "");
    if (!strcmp(type, "final")) {
        cJSON_AddNumberToObject(o, "start", round(start * 1000) / 1000);
        cJSON_AddNumberToObject(o, "end", round(end * 1000) / 1000);
        cJSON_AddNumberToObject(o, "confidence", round(r->confidence * 1000) / 1000);
        if (words) {
            cJSON *a = cJSON_AddArrayToObject(o, "words");
            for (int w = 0; w < r->n_words; w++) {
                cJSON *x = cJSON_CreateObject();
                cJSON_AddStringToObject(x, "word", r->words[w].text);
                cJSON_AddNumberToObject(x, "start", round(r->words[w].start_s * 1000) / 1000);
                cJSON_AddNumberToObject(x, "end", round(r->words[w].end_s * 1000) / 1000);
                cJSON_AddNumberToObject(x, "confidence", round(r->words[w].confidence * 1000) / 1000);
                cJSON_AddItemToArray(a, x);
            }
        }
        if (mod) {
            cJSON *x = cJSON_AddObjectToObject(o, "moderation");
            cJSON_AddStringToObject(x, "label", sori_abuse_name(mod->label));
            cJSON_AddNumberToObject(x, "score", round(mod->score * 1000) / 1000);
        }
        if (n_red > 0) {
            cJSON *a = cJSON_AddArrayToObject(o, "redactions");
            for (int i = 0; i < n_red; i++) {
                cJSON *x = cJSON_CreateObject();
                cJSON_AddStringToObject(x, "category", sori_pii_name((sori_pii_kind)red[i].kind));
                cJSON_AddNumberToObject(x, "start", round(red[i].start_s * 1000) / 1000);
                cJSON_AddNumberToObject(x, "end", round(red[i].end_s * 1000) / 1000);
                cJSON_AddItemToArray(a, x);
            }
        }
    }
    return o;
}

enum { MAX_REDACTIONS = 64 };

/* A result before it goes out: --moderate scores a final's text as recognized (*mod; NULL when
 * off, or for a partial), --itn puts it in written form, --redact masks it (partial: any 3+
 * digits too; *n: its spans, 0 when off or failed — a failure masks the whole text: nothing
 * unmasked goes out). Returns mod when it was filled, else NULL. */
static const sori_moderation *finish_result(const sori_server *sv, sori_asr_result *r, int partial,
                                            sori_asr_redaction *red, int *n, sori_moderation *mod)
{
    *n = 0;
    sori_error err = {0};
    const sori_moderation *scored = NULL;
    if (sv->p.moderator && !partial && r->text) {
        if (sori_moderate(sv->p.moderator, r->text, strlen(r->text), mod, &err) == SORI_OK)
            scored = mod;
        else
            log_line(sv, "\"event\":\"moderate_failed\"");
    }
    if (sv->p.itn && sori_asr_result_itn(r, sv->p.itn_flags, &err) != SORI_OK) /* left spoken: nothing is lost */
        log_line(sv, "\"event\":\"itn_failed\",\"why\":\"out of memory or a bad result\"");
    if (!sv->p.redact)
        return scored;
    if (sori_asr_result_redact(r, partial, red, MAX_REDACTIONS, n, &err) != SORI_OK) {
        *n = 0;
        free(r->text);
        r->text = strdup("[숫자]");
        for (int w = 0; w < r->n_words; w++)
            free(r->words[w].text);
        r->n_words = 0;
    }
    return scored;
}

/* When the sample `idx` (per channel, from the call's start) arrived, or 0
 * when the ring no longer holds it. Under sv->mu. */
static double arrival_of(const session *s, int64_t idx)
{
    int lo = s->n_arrivals > ARRIVALS ? s->n_arrivals - ARRIVALS : 0;
    for (int i = lo; i < s->n_arrivals; i++)
        if (s->arrivals[i % ARRIVALS].upto >= idx)
            return i == lo && lo > 0 ? 0.0 : s->arrivals[i % ARRIVALS].at;
    return 0.0;
}

/* A call's results after a tick: its finals, a changed partial, and at
 * the end of its input the last final and the summary. Under sv->mu. */
static void collect(sori_server *sv, session *s, double now)
{
    if (s->summary_sent)
        return; /* finished: its last final was sent with the summary, and is not sent again */
    for (int c = 0; c < s->start.channels && !s->failed; c++) {
        sori_asr_stream *st = s->st[c];
        sori_asr_result *r = NULL;
        sori_error err = {0};
        while (sori_asr_stream_pop_final(st, &r, &err) == SORI_OK && r) {
            double a = r->n_words ? r->words[0].start_s : s->last_end[c];
            double b = r->n_words ? r->words[r->n_words - 1].end_s : a;
            s->last_end[c] = b;
            sori_asr_redaction red[MAX_REDACTIONS];
            int n_red = 0;
            sori_moderation mod;
            const sori_moderation *scored = finish_result(sv, r, 0, red, &n_red, &mod);
            queue_json(sv, s, result_json("final", c, r, a, b, s->start.words, red, n_red, scored));
            s->n_finals++;
            sv->m.finals++;
            /* latency: from the arrival of the audio where the endpoint could fire (the
             * utterance's last word + the endpoint rule's trailing silence) */
            double rule_s = (s->start.endpoint_silence_ms > 0 ? s->start.endpoint_silence_ms
                                                               : sori_endpoint_default_params().rule2_silence_ms) /
                            1000.0;
            double at = arrival_of(s, (int64_t)((b + rule_s) * s->start.sample_rate));
            if (at > 0)
                sori_serve_observe(&sv->m.final_latency, now - at);
            free(s->partial[c]);
            s->partial[c] = NULL;
            sori_asr_result_free(r);
            r = NULL;
        }
        bool done = s->finished && !sori_asr_stream_is_ready(st);
        if (sori_asr_stream_result(st, &r, &err) != SORI_OK || !r)
            continue;
        if (!done) { /* a partial: masked in partial mode before it is compared and sent */
            sori_asr_redaction red[MAX_REDACTIONS];
            int n_red = 0;
            sori_moderation mod;
            finish_result(sv, r, 1, red, &n_red, &mod);
        }
        if (done) {
            if (r->text && r->text[0]) {
                double a = r->n_words ? r->words[0].start_s : s->last_end[c];
                double b = r->n_words ? r->words[r->n_words - 1].end_s : a;
                sori_asr_redaction red[MAX_REDACTIONS];
                int n_red = 0;
                sori_moderation mod;
                const sori_moderation *scored = finish_result(sv, r, 0, red, &n_red, &mod);
                queue_json(sv, s, result_json("final", c, r, a, b, s->start.words, red, n_red, scored));
                s->n_finals++;
                sv->m.finals++;
            }
        } else if (s->start.partials && r->text && (!s->partial[c] || strcmp(s->partial[c], r->text))) {
            if (r->text[0] || s->partial[c]) {
                queue_json(sv, s, result_json("partial", c, r, 0, 0, false, NULL, 0, NULL));
                sv->m.partials++;
                if (s->n_arrivals)
                    sori_serve_observe(&sv->m.partial_latency,
                                       now - s->arrivals[(s->n_arrivals - 1) % ARRIVALS].at);
            }
            free(s->partial[c]);
            s->partial[c] = strdup(r->text);
        }
        sori_asr_result_free(r);
    }
    bool all_done = s->finished;
    for (int c = 0; c < s->start.channels && all_done; c++)
        all_done = !sori_asr_stream_is_ready(s->st[c]);
    if (all_done && !s->summary_sent && !s->failed) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "type", "closed");
        cJSON_AddStringToObject(o, "reason", sv->draining && !s->stop_req ? "server draining" : "stop");
        cJSON_AddNumberToObject(o, "audio_s", round((double)s->samples_in / s->start.sample_rate * 1000) / 1000);
        cJSON_AddNumberToObject(o, "finals", s->n_finals);
        queue_json(sv, s, o);
        s->summary_sent = true;
        s->close_after = true;
        if ((s->audiosocket || s->twilio) && !s->wsi) /* the caller hung up: nothing more to do */
            s->gone = true;
        if (s->twilio)
            s->has_output = true; /* the loop closes the socket (nothing is sent on it) */
    }
}

static void *ticker_main(void *arg)
{
    const struct decoder *dd = arg;
    sori_server *sv = dd->sv;
    const int me = dd->index;
    session **list = NULL;
    int cap = 0;
    float *buf[MAX_CHANNELS] = {NULL, NULL};
    int64_t buf_cap = 0;
    double next_tick = now_s();
    for (;;) {
        /* a tick every tick_ms: a tick that ran long is followed at once by the next (the
         * audio that came meanwhile waits for no sleep), one that was short sleeps the rest */
        next_tick += sv->p.tick_ms * 1e-3;
        double wait = next_tick - now_s();
        if (wait > 0) {
            struct timespec ts = {(time_t)wait, (long)((wait - (double)(time_t)wait) * 1e9)};
            nanosleep(&ts, NULL);
        } else {
            next_tick = now_s(); /* behind: no burst of catch-up ticks */
        }
        double t0 = now_s();
        pthread_mutex_lock(&sv->mu);
        if (sv->stop_flag && !sv->draining) {
            sv->draining = true;
            sv->drain_started = t0;
            log_line(sv, "\"event\":\"drain\",\"calls\":%d", sv->n_streams);
        }
        /* calls that went away are freed here, where their streams live */
        for (session **pp = &sv->sessions; *pp;) {
            session *s = *pp;
            if (s->gone && s->shard == me) {
                *pp = s->next;
                sv->n_streams -= s->counted; /* an AudioSocket call that finished after its hangup */

                session_free(s);
            } else {
                pp = &s->next;
            }
        }
        int n = 0;
        for (session *s = sv->sessions; s; s = s->next)
            n++;
        if (n > cap) {
            session **l = realloc(list, (size_t)n * 2 * sizeof *l);
            if (l) {
                list = l;
                cap = n * 2;
            }
        }
        n = 0;
        for (session *s = sv->sessions; s && n < cap; s = s->next)
            if (s->started && !s->failed && !s->summary_sent && s->shard == me)
                list[n++] = s;
        bool quit = sv->quit;
        if (sv->draining && !sv->sessions)
            quit = sv->quit = true;
        if (sv->draining && t0 - sv->drain_started > sv->p.drain_timeout_s)
            quit = sv->quit = true;
        pthread_mutex_unlock(&sv->mu);
        if (quit)
            break;
        /* audio in: the queued samples (taken under the lock), then into the streams */
        const double ta = now_s();
        for (int i = 0; i < n; i++) {
            session *s = list[i];
            sori_error err = {0};
            if (!s->streams_made) {
                sori_asr_stream_params sp = sori_asr_stream_default_params();
                sp.hotwords = s->start.hotwords;
                sp.language = s->start.language[0] ? s->start.language : NULL;
                if (s->start.endpoint_silence_ms > 0)
                    sp.endpoint.rule2_silence_ms = s->start.endpoint_silence_ms;
                sori_status st = SORI_OK;
                for (int c = 0; c < s->start.channels && st == SORI_OK; c++)
                    st = sori_asr_stream_create(sv->models[s->start.model].model, &sp, &s->st[c], &err);
                pthread_mutex_lock(&sv->mu);
                s->streams_made = true;
                if (st != SORI_OK) {
                    s->failed = true;
                    queue_error(sv, s, SORI_SERVE_ERR_BAD_START, err.message, true);
                }
                pthread_mutex_unlock(&sv->mu);
                if (st != SORI_OK)
                    continue;
            }
            pthread_mutex_lock(&sv->mu);
            int64_t k = s->n_pending;
            if (k > buf_cap) {
                bool grown = true;
                for (int c = 0; c < MAX_CHANNELS; c++) {
                    float *b = realloc(buf[c], (size_t)k * sizeof(float));
                    if (b)
                        buf[c] = b;
                    grown = grown && b;
                }
                if (!grown) { /* out of memory: this call fails, the others go on */
                    s->failed = true;
                    queue_error(sv, s, SORI_SERVE_ERR_INTERNAL, "out of memory", true);
                    pthread_mutex_unlock(&sv->mu);
                    continue;
                }
                buf_cap = k;
            }
            for (int c = 0; c < s->start.channels && k > 0; c++)
                memcpy(buf[c], s->pending[c], (size_t)k * sizeof(float));
            if (k > 0) { /* how long its oldest sample waited for this thread */
                double at = arrival_of(s, s->received - k + 1);
                if (at > 0)
                    sori_serve_observe(&sv->m.queue_delay, now_s() - at);
            }
            s->n_pending = 0;
            if (s->flow_off) {
                s->flow_off = false;
                s->flow_resume = true;
            }
            bool stop = s->stop_req || sv->draining;
            pthread_mutex_unlock(&sv->mu);
            sori_status st = SORI_OK;
            for (int c = 0; c < s->start.channels && st == SORI_OK && k > 0; c++)
                st = sori_asr_stream_accept(s->st[c], buf[c], k, s->start.sample_rate, &err);
            s->samples_in += k;
            if (st == SORI_OK && stop && !s->finished) {
                for (int c = 0; c < s->start.channels && st == SORI_OK; c++)
                    st = sori_asr_stream_input_finished(s->st[c], &err);
                s->finished = true;
            }
            if (st != SORI_OK) {
                pthread_mutex_lock(&sv->mu);
                s->failed = true;
                queue_error(sv, s, SORI_SERVE_ERR_INTERNAL, err.message, true);
                pthread_mutex_unlock(&sv->mu);
            }
            pthread_mutex_lock(&sv->mu);
            sv->m.audio_s += (double)k / s->start.sample_rate;
            pthread_mutex_unlock(&sv->mu);
        }
        /* decode: per model, every ready stream in one batched call, until none is ready */
        double td = now_s();
        for (int mi = 0; mi < sv->n_models; mi++) {
            sori_asr_stream *ready[512];
            for (;;) {
                int nr = 0;
                for (int i = 0; i < n; i++) {
                    session *s = list[i];
                    if (s->failed || !s->streams_made || s->start.model != mi)
                        continue;
                    for (int c = 0; c < s->start.channels && nr < 512; c++)
                        if (sori_asr_stream_is_ready(s->st[c]))
                            ready[nr++] = s->st[c];
                }
                if (nr == 0)
                    break;
                sori_error err = {0};
                if (sori_asr_decode_ready(sv->models[mi].model, ready, nr, &err) != SORI_OK) {
                    /* which call: each alone, to fail only the one at fault */
                    for (int i = 0; i < n; i++) {
                        session *s = list[i];
                        if (s->failed || !s->streams_made || s->start.model != mi)
                            continue;
                        for (int c = 0; c < s->start.channels; c++)
                            while (!s->failed && sori_asr_stream_is_ready(s->st[c]))
                                if (sori_asr_decode_ready(sv->models[mi].model, &s->st[c], 1, &err) != SORI_OK) {
                                    pthread_mutex_lock(&sv->mu);
                                    s->failed = true;
                                    queue_error(sv, s, SORI_SERVE_ERR_INTERNAL, err.message, true);
                                    pthread_mutex_unlock(&sv->mu);
                                }
                    }
                }
                pthread_mutex_lock(&sv->mu);
                sv->m.batches++;
                sv->m.batched_streams += (uint64_t)nr;
                pthread_mutex_unlock(&sv->mu);
            }
        }
        double t1 = now_s();
        pthread_mutex_lock(&sv->mu);
        sv->m.accept_s += td - ta;
        sv->m.decode_s += t1 - td;
        for (int i = 0; i < n; i++)
            if (list[i]->streams_made && !list[i]->failed)
                collect(sv, list[i], t1);
        const double t2 = now_s();
        sv->m.collect_s += t2 - t1;
        sori_serve_observe(&sv->m.tick_s, t2 - t0);
        bool wake = false;
        for (session *s = sv->sessions; s; s = s->next)
            wake = wake || s->has_output || s->flow_resume || s->close_after;
        pthread_mutex_unlock(&sv->mu);
        if (wake || sv->draining)
            lws_cancel_service(sv->ctx);
    }
    free(list);
    free(buf[0]);
    free(buf[1]);
    lws_cancel_service(sv->ctx);
    return NULL;
}

/* ---- the event loop ------------------------------------------------------------------ */

/* An HTTP response with a plain-text body; returns what the callback returns. */
static int http_reply(struct lws *wsi, unsigned status, const char *type, const char *body, size_t len)
{
    unsigned char hdr[LWS_PRE + 1024], *start = hdr + LWS_PRE, *p = start, *end = hdr + sizeof hdr - 1;
    if (lws_add_http_common_headers(wsi, status, type, (lws_filepos_t)len, &p, end) ||
        lws_finalize_write_http_header(wsi, start, &p, end))
        return 1;
    if (len) {
        unsigned char *b = malloc(LWS_PRE + len);
        if (!b)
            return 1;
        memcpy(b + LWS_PRE, body, len);
        int w = lws_write(wsi, b + LWS_PRE, len, LWS_WRITE_HTTP_FINAL);
        free(b);
        if (w < (int)len)
            return 1;
    }
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

/* The bearer token of the request, if any; 1 when it matches. */
static int token_ok(sori_server *sv, struct lws *wsi)
{
    if (!sv->token[0])
        return 1;
    char h[600];
    int n = lws_hdr_copy(wsi, h, sizeof h, WSI_TOKEN_HTTP_AUTHORIZATION);
    return n > 7 && !strncmp(h, "Bearer ", 7) && sori_serve_token_equal(h + 7, sv->token);
}

static int on_http(sori_server *sv, struct lws *wsi, const char *uri)
{
    if (!strcmp(uri, "/healthz"))
        return http_reply(wsi, HTTP_STATUS_OK, "text/plain", "ok\n", 3);
    if (sv->p.demo && (!strcmp(uri, "/") || !strcmp(uri, "/index.html")))
        return http_reply(wsi, HTTP_STATUS_OK, "text/html; charset=utf-8", (const char *)sori_serve_demo_page,
                          sori_serve_demo_page_len);
    if (!token_ok(sv, wsi))
        return http_reply(wsi, 401, "text/plain", "unauthorized\n", 13);
    if (!strcmp(uri, "/readyz")) {
        pthread_mutex_lock(&sv->mu);
        bool draining = sv->draining || sv->stop_flag;
        pthread_mutex_unlock(&sv->mu);
        return draining ? http_reply(wsi, 503, "text/plain", "draining\n", 9)
                        : http_reply(wsi, HTTP_STATUS_OK, "text/plain", "ready\n", 6);
    }
    if (!strcmp(uri, "/metrics")) {
        char *text = NULL;
        pthread_mutex_lock(&sv->mu);
        int active = 0, calls = 0;
        for (session *s = sv->sessions; s; s = s->next) {
            calls += !s->gone;
            active += s->streams_made && !s->gone ? s->start.channels : 0;
        }
        sori_sink_get_stats(sv->sink, &sv->m.sink);
        text = sori_serve_metrics_text(&sv->m, active, calls, now_s() - sv->started_at);
        pthread_mutex_unlock(&sv->mu);
        if (!text)
            return http_reply(wsi, 500, "text/plain", "out of memory\n", 14);
        int rc = http_reply(wsi, HTTP_STATUS_OK, "text/plain; version=0.0.4", text, strlen(text));
        free(text);
        return rc;
    }
    return http_reply(wsi, HTTP_STATUS_NOT_FOUND, "text/plain", "not found\n", 10);
}

/* A new connection's session, listed for the decoding threads (each owns
 * a share, by turn); NULL when memory runs out. */
static session *session_open(sori_server *sv, struct lws *wsi, bool authed, bool twilio, bool audiosocket)
{
    session *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->wsi = wsi;
    s->authed = authed;
    s->twilio = twilio;
    s->audiosocket = audiosocket;
    pthread_mutex_lock(&sv->mu);
    s->id = ++sv->next_id;
    s->shard = (int)(s->id % (uint64_t)sv->n_tickers);
    s->next = sv->sessions;
    sv->sessions = s;
    sv->m.connections++;
    pthread_mutex_unlock(&sv->mu);
    lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, sv->p.idle_timeout_s);
    log_line(sv, "\"event\":\"connect\",\"session\":%llu", (unsigned long long)s->id);
    return s;
}

/* The "ready" event of a call that has started (id_key/id: the telephony
 * protocol's call id, or NULL). Under sv->mu. */
static void queue_ready(sori_server *sv, session *s, const char *id_key, const char *id)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "type", "ready");
    cJSON_AddNumberToObject(o, "protocol", SORI_SERVE_PROTOCOL);
    cJSON_AddNumberToObject(o, "session", (double)s->id);
    cJSON_AddStringToObject(o, "model", sv->names[s->start.model]);
    if (id_key)
        cJSON_AddStringToObject(o, id_key, id);
    queue_json(sv, s, o);
}

/* An audio-only call (AudioSocket, media stream) starts: 8 kHz mono on the
 * first model, words in its finals, no partials. Under sv->mu. */
static void start_telephony_call(sori_server *sv, session *s, sori_serve_encoding enc, int channels,
                                 const char *protocol, const char *id_key, const char *id)
{
    memset(&s->start, 0, sizeof s->start);
    snprintf(s->call_id, sizeof s->call_id, "%s", id);
    s->start.sample_rate = 8000;
    s->start.encoding = enc;
    s->start.channels = channels;
    s->start.words = true;
    s->start.partials = sv->p.sink_partials != 0;
    sv->n_streams += channels;
    s->counted = channels;
    s->started = true;
    sv->m.calls++;
    queue_ready(sv, s, id_key, id);
    log_line(sv, "\"event\":\"start\",\"session\":%llu,\"protocol\":\"%s\",\"%s\":\"%s\"", (unsigned long long)s->id,
             protocol, id_key, id);
}

/* A text message from the client (the loop thread, under sv->mu). */
static void on_text(sori_server *sv, session *s, const char *text, size_t len)
{
    sori_serve_start st;
    char why[256];
    sori_serve_msg kind = sori_serve_parse(text, len, &st, why, sizeof why);
    if (kind == SORI_SERVE_MSG_BAD) {
        queue_error(sv, s, SORI_SERVE_ERR_BAD_MESSAGE, why, !s->started);
        return;
    }
    if (kind == SORI_SERVE_MSG_SAY) { /* designed (docs/protocol.md), served once sori speaks */
        queue_error(sv, s, SORI_SERVE_ERR_UNSUPPORTED,
                    "speech back to the caller (say, cancel) needs text-to-speech, which this server has not",
                    !s->started);
        return;
    }
    if (kind == SORI_SERVE_MSG_STOP) {
        if (!s->started)
            queue_error(sv, s, SORI_SERVE_ERR_BAD_MESSAGE, "stop before start", true);
        s->stop_req = true;
        return;
    }
    /* start */
    if (s->started) {
        free(st.hotwords);
        queue_error(sv, s, SORI_SERVE_ERR_BAD_MESSAGE, "a second start message", false);
        return;
    }
    if (sv->token[0] && !s->authed) {
        if (!st.token[0] || !sori_serve_token_equal(st.token, sv->token)) {
            free(st.hotwords);
            queue_error(sv, s, SORI_SERVE_ERR_UNAUTHORIZED, "a token is needed (Authorization: Bearer, or \"token\")",
                        true);
            return;
        }
        s->authed = true;
    }
    if (sv->draining || sv->stop_flag) {
        free(st.hotwords);
        queue_error(sv, s, SORI_SERVE_ERR_DRAINING, "the server is shutting down", true);
        return;
    }
    st.model = -1;
    for (int i = 0; i < sv->n_models; i++)
        if (!st.model_name[0] ? i == 0 : !strcmp(st.model_name, sv->names[i])) {
            st.model = i;
            break;
        }
    if (st.model < 0) {
        free(st.hotwords);
        snprintf(why, sizeof why, "no model '%s' (this server has: %s%s)", st.model_name, sv->names[0],
                 sv->n_models > 1 ? ", …" : "");
        queue_error(sv, s, SORI_SERVE_ERR_UNKNOWN_MODEL, why, true);
        return;
    }
    if (sv->n_streams + st.channels > sv->p.max_streams) {
        free(st.hotwords);
        snprintf(why, sizeof why, "the server is full (%d streams)", sv->p.max_streams);
        queue_error(sv, s, SORI_SERVE_ERR_BUSY, why, true);
        return;
    }
    sv->n_streams += st.channels;
    s->counted = st.channels;
    s->start = st;
    s->started = true;
    sv->m.calls++;
    queue_ready(sv, s, NULL, NULL);
    log_line(sv, "\"event\":\"start\",\"session\":%llu,\"model\":\"%s\",\"rate\":%d,\"channels\":%d,\"streams\":%d",
             (unsigned long long)s->id, sv->names[st.model], st.sample_rate, st.channels, sv->n_streams);
}

/* Audio bytes (the loop thread, under sv->mu). */
/* Room for `more` samples per channel in the call's queue; false (and an
 * error queued) when memory runs out. */
static bool pending_reserve(sori_server *sv, session *s, int64_t more)
{
    if (s->n_pending + more <= s->cap_pending)
        return true;
    int64_t cap = s->cap_pending ? s->cap_pending : 16000;
    while (cap < s->n_pending + more)
        cap *= 2;
    for (int c = 0; c < s->start.channels; c++) {
        float *b = realloc(s->pending[c], (size_t)cap * sizeof(float));
        if (!b) {
            queue_error(sv, s, SORI_SERVE_ERR_INTERNAL, "out of memory", true);
            return false;
        }
        s->pending[c] = b;
    }
    s->cap_pending = cap;
    return true;
}

/* `frames` samples per channel queued: their arrival noted (latencies), and
 * reading paused while too much waits for the decoder. */
static void pending_added(sori_server *sv, session *s, int64_t frames)
{
    s->n_pending += frames;
    s->received += frames;
    s->arrivals[s->n_arrivals % ARRIVALS].upto = s->received;
    s->arrivals[s->n_arrivals % ARRIVALS].at = now_s();
    s->n_arrivals++;
    if (s->n_pending > (int64_t)sv->p.max_pending_s * s->start.sample_rate && !s->flow_off && s->wsi) {
        s->flow_off = true; /* read no more until the decoder has taken it */
        lws_rx_flow_control(s->wsi, 0);
        sv->m.flow_pauses++;
    }
}

static void on_audio(sori_server *sv, session *s, const unsigned char *in, size_t len)
{
    if (!s->started || s->stop_req) {
        queue_error(sv, s, SORI_SERVE_ERR_BAD_MESSAGE, s->started ? "audio after stop" : "audio before start",
                    !s->started);
        return;
    }
    const int ch = s->start.channels;
    if (s->start.encoding == SORI_SERVE_OPUS) { /* one packet a message */
        const int max = s->start.sample_rate * 120 / 1000;
        sori_error e = {0};
        if (!s->opus && (sori_opus_decoder_create(s->start.sample_rate, ch, &s->opus, &e) != SORI_OK ||
                         !(s->opus_pcm = malloc((size_t)max * (size_t)ch * sizeof(float))))) {
            queue_error(sv, s, SORI_SERVE_ERR_INTERNAL, e.message[0] ? e.message : "out of memory", true);
            return;
        }
        int got = 0;
        if (sori_opus_decoder_decode(s->opus, in, len, s->opus_pcm, max, &got, &e) != SORI_OK) {
            queue_error(sv, s, SORI_SERVE_ERR_BAD_MESSAGE, e.message, false); /* the call goes on */
            return;
        }
        if (!pending_reserve(sv, s, got))
            return;
        for (int t = 0; t < got; t++)
            for (int c = 0; c < ch; c++)
                s->pending[c][s->n_pending + t] = s->opus_pcm[t * ch + c];
        pending_added(sv, s, got);
        return;
    }
    const int bps = s->start.encoding == SORI_SERVE_PCM16 ? 2 : 1, fb = ch * bps;
    if (ch < 1 || ch > MAX_CHANNELS || fb > (int)sizeof s->carry)
        return;
    int64_t frames = (int64_t)(len + (size_t)s->n_carry) / fb;
    if (!pending_reserve(sv, s, frames))
        return;
    /* the bytes are the carried ones, then this message's */
    const size_t nc = (size_t)s->n_carry, total = nc + len;
    for (int64_t f = 0; f < frames; f++) {
        unsigned char fr[2 * MAX_CHANNELS];
        for (size_t b = 0; b < (size_t)fb && b < sizeof fr; b++) {
            size_t k = (size_t)f * (size_t)fb + b;
            fr[b] = k < nc ? s->carry[k] : in[k - nc];
        }
        for (int c = 0; c < ch; c++)
            s->pending[c][s->n_pending + f] = sori_serve_decode_sample(s->start.encoding, fr + c * bps);
    }
    unsigned char rest[sizeof s->carry];
    size_t n_rest = 0;
    for (size_t k = (size_t)frames * (size_t)fb; k < total && n_rest < sizeof rest; k++)
        rest[n_rest++] = k < nc ? s->carry[k] : in[k - nc];
    memcpy(s->carry, rest, n_rest); /* a partial frame for the next message */
    s->n_carry = (int)n_rest;
    pending_added(sv, s, frames);
}

/* ---- Twilio-style media streams ----------------------------------------------------------
 * JSON messages over the WebSocket /v1/twilio: "connected", "start" (its
 * streamSid, mediaFormat audio/x-mulaw at 8000 Hz, the tracks), "media"
 * (base64 μ-law of a track), "mark", "stop". A stream of both tracks is a
 * stereo call: channel 0 the inbound track (the caller), 1 the outbound (what
 * the platform sends the caller: the agent or the bot). The events go to the
 * sink (STREAMSID.jsonl, POSTs). Under sv->mu. */

enum { TRACK_SKEW_MAX = 3200 }; /* 400 ms of μ-law: one track further ahead waits no more */

/* A two-track stream's audio: the samples both tracks have, interleaved as a
 * stereo frame; a track that fell over TRACK_SKEW_MAX behind (or, at the end,
 * any behind) is filled with silence. */
static void twilio_pair(sori_server *sv, session *s, bool end)
{
    for (int t = 0; t < 2; t++) {
        const size_t other = s->n_track[1 - t];
        if (s->n_track[t] < other && (end || other - s->n_track[t] > TRACK_SKEW_MAX)) {
            size_t want = end ? other : other - TRACK_SKEW_MAX / 2;
            unsigned char *b = want > s->cap_track[t] ? realloc(s->track[t], want) : s->track[t];
            if (!b)
                return;
            if (want > s->cap_track[t])
                s->track[t] = b, s->cap_track[t] = want;
            memset(s->track[t] + s->n_track[t], 0xff, want - s->n_track[t]); /* μ-law silence */
            s->track_total[t] += (int64_t)(want - s->n_track[t]);
            s->n_track[t] = want;
        }
    }
    size_t k = s->n_track[0] < s->n_track[1] ? s->n_track[0] : s->n_track[1];
    if (k == 0)
        return;
    unsigned char *both = malloc(2 * k);
    if (!both)
        return;
    for (size_t i = 0; i < k; i++)
        both[2 * i] = s->track[0][i], both[2 * i + 1] = s->track[1][i];
    for (int t = 0; t < 2; t++) {
        memmove(s->track[t], s->track[t] + k, s->n_track[t] - k);
        s->n_track[t] -= k;
    }
    on_audio(sv, s, both, 2 * k);
    free(both);
}

static void on_twilio(sori_server *sv, session *s, const char *text, size_t len)
{
    cJSON *o = cJSON_ParseWithLength(text, len);
    const cJSON *ev = cJSON_GetObjectItemCaseSensitive(o, "event");
    const char *e = cJSON_IsString(ev) ? ev->valuestring : "";
    if (!o) {
        sv->m.errors[SORI_SERVE_ERR_BAD_MESSAGE]++;
        log_line(sv, "\"event\":\"twilio_error\",\"session\":%llu,\"why\":\"not JSON\"", (unsigned long long)s->id);
        if (!s->started)
            s->close_after = s->has_output = true;
    } else if (!strcmp(e, "start") && !s->started) {
        const cJSON *st = cJSON_GetObjectItemCaseSensitive(o, "start");
        const cJSON *sid = cJSON_GetObjectItemCaseSensitive(st, "streamSid");
        if (!cJSON_IsString(sid))
            sid = cJSON_GetObjectItemCaseSensitive(o, "streamSid");
        const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(st, "mediaFormat");
        const cJSON *enc = cJSON_GetObjectItemCaseSensitive(fmt, "encoding");
        const cJSON *rate = cJSON_GetObjectItemCaseSensitive(fmt, "sampleRate");
        const cJSON *tracks = cJSON_GetObjectItemCaseSensitive(st, "tracks"), *tr;
        int channels = 1; /* the inbound track, unless the outbound one comes too */
        cJSON_ArrayForEach(tr, tracks) if (cJSON_IsString(tr) && !strcmp(tr->valuestring, "outbound")) channels = 2;
        char name[80] = "";
        for (size_t i = 0, k = 0; cJSON_IsString(sid) && sid->valuestring[i] && k + 1 < sizeof name; i++) {
            char c = sid->valuestring[i];
            if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_')
                name[k++] = c, name[k] = '\0';
        }
        const char *why = !name[0]                                                         ? "no streamSid"
                          : enc && (!cJSON_IsString(enc) || strcmp(enc->valuestring, "audio/x-mulaw")) ? "not audio/x-mulaw"
                          : rate && (!cJSON_IsNumber(rate) || rate->valuedouble != 8000) ? "not 8000 Hz"
                          : !sv->sink                                                     ? "no sink"
                          : sv->draining || sv->stop_flag                                 ? "draining"
                          : sv->n_streams + channels > sv->p.max_streams                  ? "full"
                          : !sori_sink_call_open(sv->sink, name, &s->sink)                ? "the sink cannot be written"
                                                                                          : NULL;
        if (why) {
            sv->m.errors[SORI_SERVE_ERR_BAD_START]++;
            log_line(sv, "\"event\":\"twilio_refused\",\"session\":%llu,\"why\":\"%s\"", (unsigned long long)s->id,
                     why);
            s->close_after = s->has_output = true;
        } else {
            start_telephony_call(sv, s, SORI_SERVE_MULAW, channels, "twilio", "streamSid", name);
        }
    } else if (!strcmp(e, "media") && s->started && !s->stop_req) {
        const cJSON *md = cJSON_GetObjectItemCaseSensitive(o, "media");
        const cJSON *tr = cJSON_GetObjectItemCaseSensitive(md, "track");
        const cJSON *pl = cJSON_GetObjectItemCaseSensitive(md, "payload");
        const int t = cJSON_IsString(tr) && !strcmp(tr->valuestring, "outbound") ? 1 : 0;
        if (cJSON_IsString(pl) && (t == 0 || s->start.channels == 2) &&
            (!cJSON_IsString(tr) || t == 1 || !strcmp(tr->valuestring, "inbound"))) {
            size_t n = strlen(pl->valuestring);
            char *raw = malloc(n / 4 * 3 + 4);
            int k = raw ? lws_b64_decode_string_len(pl->valuestring, (int)n, raw, (int)(n / 4 * 3 + 4)) : -1;
            if (k > 0 && s->start.channels == 1) {
                on_audio(sv, s, (const unsigned char *)raw, (size_t)k);
            } else if (k > 0) { /* one track's part of a stereo call: placed by its timestamp, paired */
                const cJSON *ts = cJSON_GetObjectItemCaseSensitive(md, "timestamp");
                double ms = cJSON_IsString(ts) ? strtod(ts->valuestring, NULL) : cJSON_IsNumber(ts) ? ts->valuedouble : -1;
                int64_t at = ms >= 0 && ms < 1e10 ? (int64_t)(ms * 8 + 0.5) : -1, skip = 0, gap = 0;
                if (at >= 0 && at > s->track_total[t] && at - s->track_total[t] <= 80000)
                    gap = at - s->track_total[t]; /* packets lost or not sent: silence in their place */
                else if (at >= 0 && at < s->track_total[t])
                    skip = s->track_total[t] - at; /* its start was filled already (late, or a repeat) */
                const unsigned char *payload = (const unsigned char *)raw + (skip < k ? skip : k);
                size_t nk = skip < k ? (size_t)(k - skip) : 0;
                size_t need = s->n_track[t] + (size_t)gap + nk;
                if (need > s->cap_track[t]) {
                    unsigned char *b = realloc(s->track[t], need * 2);
                    if (b)
                        s->track[t] = b, s->cap_track[t] = need * 2;
                }
                if (need <= s->cap_track[t]) {
                    memset(s->track[t] + s->n_track[t], 0xff, (size_t)gap);
                    memcpy(s->track[t] + s->n_track[t] + gap, payload, nk);
                    s->n_track[t] = need;
                    s->track_total[t] += gap + (int64_t)nk;
                    twilio_pair(sv, s, false);
                }
            } else if (k < 0) {
                sv->m.errors[SORI_SERVE_ERR_BAD_MESSAGE]++;
            }
            free(raw);
        }
    } else if (!strcmp(e, "stop")) {
        if (s->started && !s->stop_req && s->start.channels == 2)
            twilio_pair(sv, s, true);
        s->stop_req = true;
        if (!s->started)
            s->close_after = s->has_output = true;
    } /* "connected", "mark", "dtmf" and the rest: nothing to do */
    cJSON_Delete(o);
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    struct lws_context *ctx = lws_get_context(wsi);
    sori_server *sv = ctx ? lws_context_user(ctx) : NULL;
    session **ps = user;
    switch (reason) {
    case LWS_CALLBACK_HTTP:
        return on_http(sv, wsi, in ? (const char *)in : "");
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION: {
        char uri[128];
        if (lws_hdr_copy(wsi, uri, sizeof uri, WSI_TOKEN_GET_URI) <= 0 ||
            (strcmp(uri, "/v1/asr") && strcmp(uri, "/v1/twilio")))
            return 1; /* only the ASR endpoints upgrade */
        if (!strcmp(uri, "/v1/twilio") && (!sv->sink || !token_ok(sv, wsi)))
            return 1; /* Twilio's streams carry no token of ours: the header must, and a sink is needed */
        return 0;
    }
    case LWS_CALLBACK_ESTABLISHED: {
        char uri[128];
        bool twilio = lws_hdr_copy(wsi, uri, sizeof uri, WSI_TOKEN_GET_URI) > 0 && !strcmp(uri, "/v1/twilio");
        session *s = session_open(sv, wsi, token_ok(sv, wsi), twilio, false);
        *ps = s;
        return s ? 0 : -1;
    }
    case LWS_CALLBACK_RECEIVE: {
        session *s = *ps;
        if (!s)
            return -1;
        lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, sv->p.idle_timeout_s);
        pthread_mutex_lock(&sv->mu);
        if (s->close_after) { /* it is being closed: nothing more is read */
            pthread_mutex_unlock(&sv->mu);
            return 0;
        }
        if (lws_frame_is_binary(wsi)) {
            s->bin_len += len;
            if (s->twilio) {
                sv->m.errors[SORI_SERVE_ERR_BAD_MESSAGE]++; /* media streams are JSON only */
            } else if (s->msg_len) {
                queue_error(sv, s, SORI_SERVE_ERR_BAD_MESSAGE, "audio inside a text message", true);
            } else if (s->bin_len > (size_t)sv->p.max_message_bytes) {
                char why[96];
                snprintf(why, sizeof why, "an audio message over %d bytes", sv->p.max_message_bytes);
                queue_error(sv, s, SORI_SERVE_ERR_TOO_LARGE, why, true);
            } else {
                on_audio(sv, s, in, len);
            }
            if (lws_is_final_fragment(wsi))
                s->bin_len = 0;
        } else {
            if (s->msg_len + len > (size_t)sv->p.max_message_bytes || s->msg_len + len > 65536) {
                queue_error(sv, s, SORI_SERVE_ERR_TOO_LARGE, "a text message over 64 KiB", true);
                s->msg_len = 0;
            } else {
                char *m = realloc(s->msg, s->msg_len + len + 1);
                if (!m) {
                    queue_error(sv, s, SORI_SERVE_ERR_INTERNAL, "out of memory", true);
                } else {
                    s->msg = m;
                    memcpy(s->msg + s->msg_len, in, len);
                    s->msg_len += len;
                    if (lws_is_final_fragment(wsi)) {
                        s->msg[s->msg_len] = '\0';
                        if (s->twilio)
                            on_twilio(sv, s, s->msg, s->msg_len);
                        else
                            on_text(sv, s, s->msg, s->msg_len);
                        s->msg_len = 0;
                    }
                }
            }
        }
        bool out = s->has_output, waiting = s->stop_req || s->flow_off;
        pthread_mutex_unlock(&sv->mu);
        /* a call that said stop, or whose reading is paused, waits for the decoder, not for its
         * client: no idle timeout then (the summary closes it; reading resumed re-arms it) */
        if (waiting)
            lws_set_timeout(wsi, NO_PENDING_TIMEOUT, 0);
        if (out)
            lws_callback_on_writable(wsi);
        return 0;
    }
    case LWS_CALLBACK_SERVER_WRITEABLE: {
        session *s = *ps;
        if (!s)
            return -1;
        pthread_mutex_lock(&sv->mu);
        event *e = s->out_head;
        if (e) {
            s->out_head = e->next;
            if (!s->out_head)
                s->out_tail = NULL;
            s->out_bytes -= e->len;
        }
        s->has_output = s->out_head != NULL;
        bool more = s->has_output, close = s->close_after && !more;
        pthread_mutex_unlock(&sv->mu);
        if (e) {
            int w = lws_write(wsi, e->data + LWS_PRE, e->len, LWS_WRITE_TEXT);
            free(e);
            if (w < 0)
                return -1;
        }
        if (close) {
            lws_close_reason(wsi, LWS_CLOSE_STATUS_NORMAL, (unsigned char *)"done", 4);
            return -1;
        }
        if (more)
            lws_callback_on_writable(wsi);
        return 0;
    }
    case LWS_CALLBACK_CLOSED: {
        session *s = *ps;
        if (!s)
            return 0;
        pthread_mutex_lock(&sv->mu);
        s->wsi = NULL;
        if (s->twilio && s->started && !s->summary_sent && !s->failed) {
            if (!s->stop_req && s->start.channels == 2)
                twilio_pair(sv, s, true);
            s->stop_req = true; /* a media stream's end: its finals still go to the sink */
        } else {
            if (s->started && !s->summary_sent)
                sv->m.dropped_calls += s->stop_req ? 0 : 1; /* gone without stop: what it had is discarded */
            sv->n_streams -= s->counted; /* its place is free now; the decoding thread frees its streams */
            s->counted = 0;
            s->gone = true;
        }
        pthread_mutex_unlock(&sv->mu);
        log_line(sv, "\"event\":\"close\",\"session\":%llu", (unsigned long long)s->id);
        *ps = NULL;
        return 0;
    }
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED: {
        if (!sv)
            return 0;
        pthread_mutex_lock(&sv->mu);
        for (session *s = sv->sessions; s; s = s->next) {
            if (!s->wsi)
                continue;
            if (s->has_output || s->close_after)
                lws_callback_on_writable(s->wsi);
            if (s->flow_resume) {
                s->flow_resume = false;
                lws_rx_flow_control(s->wsi, 1);
                if (!s->stop_req)
                    lws_set_timeout(s->wsi, PENDING_TIMEOUT_USER_OK, sv->p.idle_timeout_s);
            }
        }
        pthread_mutex_unlock(&sv->mu);
        return 0;
    }
    default:
        break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}

/* ---- Asterisk AudioSocket ---------------------------------------------------------------
 * Messages: a type byte, a 16-bit big-endian length, the payload. 0x01: the
 * call's UUID (16 bytes), first; 0x10: audio, signed linear 16-bit
 * little-endian, 8 kHz mono; 0x03: a DTMF digit; 0x00: hangup; 0xff: an
 * error. The call starts at the UUID on the first model; its events go to
 * the sink (UUID.jsonl, POSTs). A hangup or a closed socket finishes the input and
 * the call's finals are still written. Under sv->mu. */
static void as_message(sori_server *sv, session *s, int type, const unsigned char *p, size_t n)
{
    if (type == 0x01) {
        if (s->started || n != 16) {
            log_line(sv, "\"event\":\"audiosocket_error\",\"session\":%llu,\"why\":\"%s\"",
                     (unsigned long long)s->id, s->started ? "a second UUID" : "a UUID not of 16 bytes");
            s->close_after = true;
            return;
        }
        char uuid[40];
        snprintf(uuid, sizeof uuid, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", p[0], p[1],
                 p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9], p[10], p[11], p[12], p[13], p[14], p[15]);
        bool busy = sv->n_streams + 1 > sv->p.max_streams;
        if (sv->draining || sv->stop_flag || busy || !sori_sink_call_open(sv->sink, uuid, &s->sink)) {
            sv->m.errors[sv->draining || sv->stop_flag ? SORI_SERVE_ERR_DRAINING : busy ? SORI_SERVE_ERR_BUSY
                                                                                        : SORI_SERVE_ERR_INTERNAL]++;
            log_line(sv, "\"event\":\"audiosocket_refused\",\"session\":%llu,\"uuid\":\"%s\"",
                     (unsigned long long)s->id, uuid);
            s->close_after = true;
            return;
        }
        start_telephony_call(sv, s, SORI_SERVE_PCM16, 1, "audiosocket", "uuid", uuid);
    } else if (type == 0x10) {
        if (s->started && !s->stop_req)
            on_audio(sv, s, p, n);
    } else if (type == 0x03) {
        if (s->started && n >= 1) {
            cJSON *o = cJSON_CreateObject();
            char d[2] = {(char)p[0], 0};
            cJSON_AddStringToObject(o, "type", "dtmf");
            cJSON_AddStringToObject(o, "digit", d);
            cJSON_AddNumberToObject(o, "at", round((double)s->received / 8000 * 1000) / 1000);
            queue_json(sv, s, o);
        }
    } else if (type == 0x00) {
        s->stop_req = true;
    } else if (type == 0xff) {
        log_line(sv, "\"event\":\"audiosocket_peer_error\",\"session\":%llu,\"code\":%d", (unsigned long long)s->id,
                 n ? p[0] : -1);
        s->stop_req = true;
    }
}

static int as_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    struct lws_context *ctx = lws_get_context(wsi);
    sori_server *sv = ctx ? lws_context_user(ctx) : NULL;
    session **ps = user;
    switch (reason) {
    case LWS_CALLBACK_RAW_ADOPT: {
        /* authed: a PBX on the network the port is bound to */
        session *s = session_open(sv, wsi, true, false, true);
        *ps = s;
        return s ? 0 : -1;
    }
    case LWS_CALLBACK_RAW_RX: {
        session *s = *ps;
        if (!s)
            return -1;
        lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, sv->p.idle_timeout_s);
        pthread_mutex_lock(&sv->mu);
        bool bad = false;
        if (s->n_raw + len > (size_t)sv->p.max_message_bytes + 3) {
            bad = true;
        } else {
            unsigned char *b = realloc(s->raw, s->n_raw + len);
            if (!b) {
                bad = true;
            } else {
                s->raw = b;
                memcpy(s->raw + s->n_raw, in, len);
                s->n_raw += len;
                size_t pos = 0;
                while (s->n_raw - pos >= 3 && !s->close_after) {
                    size_t n = (size_t)s->raw[pos + 1] << 8 | s->raw[pos + 2];
                    if (s->n_raw - pos < 3 + n)
                        break;
                    as_message(sv, s, s->raw[pos], s->raw + pos + 3, n);
                    pos += 3 + n;
                }
                memmove(s->raw, s->raw + pos, s->n_raw - pos);
                s->n_raw -= pos;
            }
        }
        if (bad) {
            sv->m.errors[SORI_SERVE_ERR_TOO_LARGE]++;
            s->stop_req = true;
        }
        bool close = s->close_after && !s->started, waiting = s->stop_req || s->flow_off;
        pthread_mutex_unlock(&sv->mu);
        if (waiting) /* hung up, or paused: the decoder's turn, no idle timeout */
            lws_set_timeout(wsi, NO_PENDING_TIMEOUT, 0);
        return close || bad ? -1 : 0;
    }
    case LWS_CALLBACK_RAW_WRITEABLE: {
        session *s = *ps;
        if (!s)
            return -1;
        pthread_mutex_lock(&sv->mu);
        bool close = s->close_after;
        s->has_output = false;
        pthread_mutex_unlock(&sv->mu);
        return close ? -1 : 0;
    }
    case LWS_CALLBACK_RAW_CLOSE: {
        session *s = *ps;
        if (!s)
            return 0;
        pthread_mutex_lock(&sv->mu);
        s->wsi = NULL;
        if (s->started && !s->summary_sent) {
            s->stop_req = true; /* hung up: the finals are still written to the sink */
        } else {
            sv->n_streams -= s->counted;
            s->counted = 0;
            s->gone = true;
        }
        pthread_mutex_unlock(&sv->mu);
        *ps = NULL;
        return 0;
    }
    default:
        break;
    }
    return 0;
}

static const struct lws_protocols protocols[] = {
    {"sori.v1", callback, sizeof(session *), 65536, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

static const struct lws_protocols as_protocols[] = {
    {"audiosocket", as_callback, sizeof(session *), 65536, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

sori_status sori_server_create(const sori_server_params *p, const sori_server_model *models, int n_models,
                               sori_server **out, sori_error *err)
{
    if (!out)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "serve: out is NULL");
    *out = NULL;
    sori_server_params q = p ? *p : sori_server_default_params();
    if (q.audiosocket_port < 0 || q.audiosocket_port > 65535 || (q.audiosocket_port > 0 && !q.sink_dir && !q.sink_url))
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "serve: an AudioSocket port needs a sink (a directory or a URL)");
    if (q.n_sink_headers < 0 || (q.n_sink_headers > 0 && !q.sink_headers))
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "serve: bad sink headers");
    if (!models || n_models < 1 || n_models > MAX_MODELS)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "serve: 1..%d models, not %d", MAX_MODELS, n_models);
    if (q.port < 1 || q.port > 65535 || q.max_streams < 1 || q.max_message_bytes < 1024 || q.max_pending_s < 1 ||
        q.max_output_bytes < 65536 || q.idle_timeout_s < 1 || q.tick_ms < 1 || q.tick_ms > 1000 || q.decoders < 1 ||
        q.decoders > MAX_DECODERS ||
        q.drain_timeout_s < 0)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "serve: bad parameters (port %d, %d streams, tick %d ms)",
                         q.port, q.max_streams, q.tick_ms);
    sori_server *sv = calloc(1, sizeof *sv);
    if (!sv)
        return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "serve: out of memory");
    sv->p = q;
    snprintf(sv->host, sizeof sv->host, "%s", q.host ? q.host : "127.0.0.1");
    if (q.token)
        snprintf(sv->token, sizeof sv->token, "%s", q.token);
    for (int i = 0; i < n_models; i++) {
        if (!models[i].model || !models[i].name || !models[i].name[0]) {
            sori_server_free(sv);
            return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "serve: model %d has no name or no model", i);
        }
        sv->models[i] = models[i];
        sv->names[i] = strdup(models[i].name);
    }
    sv->n_models = n_models;
    sv->n_tickers = q.decoders;
    pthread_mutex_init(&sv->mu, NULL);
    sori_serve_metrics_init(&sv->m);
    sori_sink_params kp = {q.sink_dir, q.sink_url, q.sink_headers, q.n_sink_headers, 0, q.sink_retry_s, q.log};
    char why[256] = "";
    if (sori_sink_create(&kp, &sv->sink, why, sizeof why) != 0) {
        sori_server_free(sv);
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "serve: %s", why);
    }
    sv->m.has_sink_url = q.sink_url != NULL;
    lws_set_log_level(LLL_ERR, NULL);
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS;
    info.user = sv;
    info.timeout_secs = 10; /* headers must arrive within this (slow clients) */
    info.pt_serv_buf_size = 65536;
    sv->ctx = lws_create_context(&info);
    if (!sv->ctx) {
        sori_server_free(sv);
        return sori_fail(err, SORI_ERR_INTERNAL, 0, "serve: cannot create the event loop");
    }
    if (q.audiosocket_port > 0) {
        struct lws_context_creation_info ai;
        memset(&ai, 0, sizeof ai);
        ai.port = q.audiosocket_port;
        ai.iface = q.audiosocket_host ? q.audiosocket_host : sv->host;
        ai.protocols = as_protocols;
        ai.vhost_name = "audiosocket";
        ai.options = LWS_SERVER_OPTION_ADOPT_APPLY_LISTEN_ACCEPT_CONFIG | LWS_SERVER_OPTION_DISABLE_IPV6;
        ai.listen_accept_role = "raw-skt";
        ai.listen_accept_protocol = "audiosocket";
        if (!lws_create_vhost(sv->ctx, &ai)) {
            sori_server_free(sv);
            return sori_fail(err, SORI_ERR_IO, 0, "serve: cannot listen on %s:%d for AudioSocket",
                             q.audiosocket_host ? q.audiosocket_host : q.host ? q.host : "127.0.0.1",
                             q.audiosocket_port);
        }
    }
    memset(&info, 0, sizeof info);
    info.port = q.port;
    info.iface = sv->host;
    info.protocols = protocols;
    info.vhost_name = "sori";
    info.user = sv;
    info.options = LWS_SERVER_OPTION_VALIDATE_UTF8 | LWS_SERVER_OPTION_DISABLE_IPV6;
    info.timeout_secs = 10; /* headers must arrive within this (slow clients) */
    info.pt_serv_buf_size = 65536;
    if (!lws_create_vhost(sv->ctx, &info)) {
        sori_server_free(sv);
        return sori_fail(err, SORI_ERR_IO, 0, "serve: cannot listen on %s:%d (in use, or no such address)",
                         q.host ? q.host : "127.0.0.1", q.port);
    }
    sv->started_at = now_s();
    *out = sv;
    return SORI_OK;
}

sori_status sori_server_run(sori_server *sv, sori_error *err)
{
    if (!sv)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "serve: server is NULL");
    for (int i = 0; i < sv->p.decoders; i++) {
        sv->dec[i].sv = sv;
        sv->dec[i].index = i;
        if (pthread_create(&sv->ticker[i], NULL, ticker_main, &sv->dec[i]) != 0) {
            pthread_mutex_lock(&sv->mu);
            sv->quit = true;
            pthread_mutex_unlock(&sv->mu);
            for (int j = 0; j < i; j++)
                pthread_join(sv->ticker[j], NULL);
            return sori_fail(err, SORI_ERR_INTERNAL, errno, "serve: cannot start the decoding threads");
        }
        sv->n_started = i + 1;
    }
    log_line(sv, "\"event\":\"listen\",\"host\":\"%s\",\"port\":%d,\"models\":%d", sv->host, sv->p.port,
             sv->n_models);
    for (;;) {
        pthread_mutex_lock(&sv->mu);
        bool quit = sv->quit;
        pthread_mutex_unlock(&sv->mu);
        if (quit)
            break;
        if (lws_service(sv->ctx, 0) < 0) {
            pthread_mutex_lock(&sv->mu);
            sv->quit = true; /* the loop failed: the decoding threads stop too */
            pthread_mutex_unlock(&sv->mu);
            break;
        }
    }
    for (int i = 0; i < sv->n_started; i++)
        pthread_join(sv->ticker[i], NULL);
    sv->n_started = 0;
    /* the HTTP sink's queue: what the drain left time for */
    double left = sv->draining ? sv->p.drain_timeout_s - (now_s() - sv->drain_started) : 0;
    if (!sori_sink_flush(sv->sink, left > 1 ? left : 1))
        log_line(sv, "\"event\":\"sink_unflushed\"");
    log_line(sv, "\"event\":\"stopped\"");
    return SORI_OK;
}

void sori_server_stop(sori_server *sv)
{
    if (sv)
        sv->stop_flag = 1;
}

void sori_server_free(sori_server *sv)
{
    if (!sv)
        return;
    if (sv->n_started) {
        pthread_mutex_lock(&sv->mu);
        sv->quit = true;
        pthread_mutex_unlock(&sv->mu);
        for (int i = 0; i < sv->n_started; i++)
            pthread_join(sv->ticker[i], NULL);
    }
    if (sv->ctx)
        lws_context_destroy(sv->ctx);
    for (session *s = sv->sessions, *n; s; s = n) {
        n = s->next;
        session_free(s);
    }
    for (int i = 0; i < sv->n_models; i++)
        free(sv->names[i]);
    sori_sink_free(sv->sink);
    sori_serve_metrics_free(&sv->m);
    pthread_mutex_destroy(&sv->mu);
    free(sv);
}
