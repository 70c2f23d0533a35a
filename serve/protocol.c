/* Messages of sori's WebSocket protocol (docs/protocol.md), audio samples,
 * tokens, and the server's metrics. No sockets here: fuzz_protocol runs
 * these parsers. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve/serve_internal.h"
#include "sori/audio.h"

static sori_serve_msg bad(char *why, size_t n, const char *msg)
{
    snprintf(why, n, "%s", msg);
    return SORI_SERVE_MSG_BAD;
}

/* An optional integer member in [lo, hi]; 0 when bad. */
static int get_int(const cJSON *o, const char *key, int lo, int hi, int *out, char *why, size_t n)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v)
        return 1;
    if (!cJSON_IsNumber(v) || v->valuedouble != (double)(int)v->valuedouble || v->valuedouble < lo ||
        v->valuedouble > hi) {
        snprintf(why, n, "\"%s\" must be a whole number in %d..%d", key, lo, hi);
        return 0;
    }
    *out = (int)v->valuedouble;
    return 1;
}

static int get_bool(const cJSON *o, const char *key, bool *out, char *why, size_t n)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v)
        return 1;
    if (!cJSON_IsBool(v)) {
        snprintf(why, n, "\"%s\" must be true or false", key);
        return 0;
    }
    *out = cJSON_IsTrue(v);
    return 1;
}

static int get_string(const cJSON *o, const char *key, char *out, size_t cap, char *why, size_t n)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v)
        return 1;
    if (!cJSON_IsString(v) || !v->valuestring || strlen(v->valuestring) >= cap) {
        snprintf(why, n, "\"%s\" must be a string of at most %zu bytes", key, cap - 1);
        return 0;
    }
    snprintf(out, cap, "%s", v->valuestring);
    return 1;
}

sori_serve_msg sori_serve_parse(const char *text, size_t len, sori_serve_start *st, char *why, size_t n)
{
    memset(st, 0, sizeof *st);
    st->sample_rate = 16000;
    st->channels = 1;
    st->partials = true;
    st->words = true;
    if (!text || len == 0)
        return bad(why, n, "an empty message");
    cJSON *o = cJSON_ParseWithLength(text, len);
    if (!o || !cJSON_IsObject(o)) {
        cJSON_Delete(o);
        return bad(why, n, "not a JSON object");
    }
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(o, "type");
    sori_serve_msg kind = SORI_SERVE_MSG_BAD;
    if (!cJSON_IsString(type) || !type->valuestring) {
        bad(why, n, "no \"type\"");
    } else if (!strcmp(type->valuestring, "stop")) {
        kind = SORI_SERVE_MSG_STOP;
    } else if (!strcmp(type->valuestring, "say") || !strcmp(type->valuestring, "cancel")) {
        kind = SORI_SERVE_MSG_SAY; /* the audio direction back (docs/protocol.md): not served yet */
    } else if (strcmp(type->valuestring, "start")) {
        snprintf(why, n, "unknown message type (start, stop, say, cancel)");
    } else {
        kind = SORI_SERVE_MSG_START;
        char enc[16] = "pcm16";
        const cJSON *hw = cJSON_GetObjectItemCaseSensitive(o, "hotwords");
        if (!get_string(o, "model", st->model_name, sizeof st->model_name, why, n) ||
            !get_int(o, "sample_rate", 8000, 48000, &st->sample_rate, why, n) ||
            !get_int(o, "channels", 1, 2, &st->channels, why, n) ||
            !get_string(o, "encoding", enc, sizeof enc, why, n) || !get_bool(o, "partials", &st->partials, why, n) ||
            !get_bool(o, "words", &st->words, why, n) ||
            !get_int(o, "endpoint_silence_ms", 100, 10000, &st->endpoint_silence_ms, why, n) ||
            !get_string(o, "token", st->token, sizeof st->token, why, n) ||
            !get_string(o, "language", st->language, sizeof st->language, why, n)) {
            kind = SORI_SERVE_MSG_BAD;
        } else if (!strcmp(enc, "pcm16")) {
            st->encoding = SORI_SERVE_PCM16;
        } else if (!strcmp(enc, "mulaw")) {
            st->encoding = SORI_SERVE_MULAW;
        } else if (!strcmp(enc, "alaw")) {
            st->encoding = SORI_SERVE_ALAW;
        } else if (!strcmp(enc, "opus")) {
            st->encoding = SORI_SERVE_OPUS;
            int r = st->sample_rate;
            if (r != 8000 && r != 12000 && r != 16000 && r != 24000 && r != 48000)
                kind = bad(why, n, "Opus needs \"sample_rate\" 8000, 12000, 16000, 24000 or 48000");
        } else {
            kind = bad(why, n, "\"encoding\" must be pcm16, mulaw, alaw or opus");
        }
        if (kind == SORI_SERVE_MSG_START && hw) {
            /* an array of phrases, each "phrase" or "phrase :score" */
            size_t total = 1;
            int ok = cJSON_IsArray(hw) && cJSON_GetArraySize(hw) <= 1000;
            const cJSON *x;
            cJSON_ArrayForEach(x, hw)
            {
                ok = ok && cJSON_IsString(x) && x->valuestring && !strchr(x->valuestring, '\n') &&
                     strlen(x->valuestring) < 512;
                total += ok ? strlen(x->valuestring) + 1 : 0;
            }
            if (!ok) {
                kind = bad(why, n, "\"hotwords\" must be an array of at most 1000 one-line strings");
            } else if (cJSON_GetArraySize(hw) > 0) {
                st->hotwords = malloc(total);
                if (!st->hotwords) {
                    kind = bad(why, n, "out of memory");
                } else {
                    size_t k = 0;
                    cJSON_ArrayForEach(x, hw)
                    {
                        size_t L = strlen(x->valuestring);
                        memcpy(st->hotwords + k, x->valuestring, L);
                        k += L;
                        st->hotwords[k++] = '\n';
                    }
                    st->hotwords[k] = '\0';
                }
            }
        }
    }
    cJSON_Delete(o);
    if (kind == SORI_SERVE_MSG_BAD) {
        free(st->hotwords);
        st->hotwords = NULL;
    }
    return kind;
}

float sori_serve_decode_sample(sori_serve_encoding e, const unsigned char *p)
{
    switch (e) {
    case SORI_SERVE_MULAW: return (float)sori_g711_ulaw_decode(p[0]) / 32768.0f;
    case SORI_SERVE_ALAW: return (float)sori_g711_alaw_decode(p[0]) / 32768.0f;
    default: return (float)(int16_t)(uint16_t)(p[0] | (p[1] << 8)) / 32768.0f;
    }
}

bool sori_serve_token_equal(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    unsigned char diff = (unsigned char)(na != nb);
    for (size_t i = 0; i < nb; i++)
        diff |= (unsigned char)(b[i] ^ (i < na ? a[i] : 0));
    return diff == 0;
}

const char *sori_serve_err_name(sori_serve_err e)
{
    static const char *names[SORI_SERVE_ERR_COUNT_] = {"bad_message", "bad_start", "unknown_model",
                                                       "unauthorized", "busy", "too_large",
                                                       "draining", "slow_reader", "internal", "unsupported"};
    return (unsigned)e < SORI_SERVE_ERR_COUNT_ ? names[e] : "unknown";
}

/* ---- metrics ---- */

static const double BOUNDS[SORI_SERVE_HIST_BUCKETS] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.2,
                                                        0.3, 0.5, 1.0, 2.0, 5.0, 10.0};

void sori_serve_metrics_init(sori_serve_metrics *m)
{
    memset(m, 0, sizeof *m);
}

void sori_serve_metrics_free(sori_serve_metrics *m)
{
    (void)m;
}

void sori_serve_observe(sori_serve_hist *h, double s)
{
    int b = 0;
    while (b < SORI_SERVE_HIST_BUCKETS && s > BOUNDS[b])
        b++;
    h->bucket[b]++;
    h->count++;
    h->sum += s;
}

typedef struct {
    char *p;
    size_t n, cap;
} sbuf;

static void put(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#include <stdarg.h>
static void put(sbuf *b, const char *fmt, ...)
{
    if (!b->p)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int k = vsnprintf(b->p + b->n, b->cap - b->n, fmt, ap);
        va_end(ap);
        if (k < 0)
            return;
        if ((size_t)k < b->cap - b->n) {
            b->n += (size_t)k;
            return;
        }
        char *q = realloc(b->p, b->cap * 2 + (size_t)k);
        if (!q) {
            free(b->p);
            b->p = NULL;
            return;
        }
        b->p = q;
        b->cap = b->cap * 2 + (size_t)k;
    }
}

static void put_hist(sbuf *b, const char *name, const char *help, const sori_serve_hist *h)
{
    put(b, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
    uint64_t cum = 0;
    for (int i = 0; i < SORI_SERVE_HIST_BUCKETS; i++) {
        cum += h->bucket[i];
        put(b, "%s_bucket{le=\"%g\"} %llu\n", name, BOUNDS[i], (unsigned long long)cum);
    }
    cum += h->bucket[SORI_SERVE_HIST_BUCKETS];
    put(b, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %.6f\n%s_count %llu\n", name, (unsigned long long)cum, name, h->sum,
        name, (unsigned long long)h->count);
}

char *sori_serve_metrics_text(const sori_serve_metrics *m, int active, int calls, double uptime_s)
{
    sbuf b = {malloc(4096), 0, 4096};
    put(&b, "# HELP sori_active_streams Streams being decoded now (a stereo call holds two).\n"
            "# TYPE sori_active_streams gauge\nsori_active_streams %d\n", active);
    put(&b, "# HELP sori_open_connections Open WebSocket connections.\n# TYPE sori_open_connections gauge\n"
            "sori_open_connections %d\n", calls);
    put(&b, "# HELP sori_connections_total WebSocket connections accepted.\n# TYPE sori_connections_total counter\n"
            "sori_connections_total %llu\n", (unsigned long long)m->connections);
    put(&b, "# HELP sori_calls_total Calls started.\n# TYPE sori_calls_total counter\nsori_calls_total %llu\n",
        (unsigned long long)m->calls);
    put(&b, "# HELP sori_audio_seconds_total Audio received, seconds (per call, not per channel).\n"
            "# TYPE sori_audio_seconds_total counter\nsori_audio_seconds_total %.3f\n", m->audio_s);
    put(&b, "# HELP sori_decode_seconds_total Time spent decoding.\n# TYPE sori_decode_seconds_total counter\n"
            "sori_decode_seconds_total %.3f\n", m->decode_s);
    put(&b, "# HELP sori_phase_seconds_total The decoding thread's time by phase.\n"
            "# TYPE sori_phase_seconds_total counter\nsori_phase_seconds_total{phase=\"accept\"} %.3f\n"
            "sori_phase_seconds_total{phase=\"decode\"} %.3f\nsori_phase_seconds_total{phase=\"collect\"} %.3f\n",
        m->accept_s, m->decode_s, m->collect_s);
    put(&b, "# HELP sori_real_time_factor Decoding time over audio time, since start.\n"
            "# TYPE sori_real_time_factor gauge\nsori_real_time_factor %.5f\n",
        m->audio_s > 0 ? m->decode_s / m->audio_s : 0.0);
    put(&b, "# HELP sori_finals_total Final results sent.\n# TYPE sori_finals_total counter\nsori_finals_total %llu\n",
        (unsigned long long)m->finals);
    put(&b, "# HELP sori_partials_total Partial results sent.\n# TYPE sori_partials_total counter\n"
            "sori_partials_total %llu\n", (unsigned long long)m->partials);
    put(&b, "# HELP sori_batches_total Batched decoding calls; sori_batched_streams_total the streams in them.\n"
            "# TYPE sori_batches_total counter\nsori_batches_total %llu\n"
            "# TYPE sori_batched_streams_total counter\nsori_batched_streams_total %llu\n",
        (unsigned long long)m->batches, (unsigned long long)m->batched_streams);
    put(&b, "# HELP sori_dropped_calls_total Calls whose client went away before stop (results discarded).\n"
            "# TYPE sori_dropped_calls_total counter\nsori_dropped_calls_total %llu\n",
        (unsigned long long)m->dropped_calls);
    put(&b, "# HELP sori_flow_pauses_total Times a call's reading paused for the decoder (backpressure).\n"
            "# TYPE sori_flow_pauses_total counter\nsori_flow_pauses_total %llu\n", (unsigned long long)m->flow_pauses);
    put(&b, "# HELP sori_errors_total Errors sent to clients, by kind.\n# TYPE sori_errors_total counter\n");
    for (int i = 0; i < SORI_SERVE_ERR_COUNT_; i++)
        put(&b, "sori_errors_total{kind=\"%s\"} %llu\n", sori_serve_err_name((sori_serve_err)i),
            (unsigned long long)m->errors[i]);
    put_hist(&b, "sori_final_latency_seconds", "From the arrival of the audio that ended an utterance to its final.",
             &m->final_latency);
    put_hist(&b, "sori_partial_latency_seconds", "From the arrival of a call's latest audio to a partial.",
             &m->partial_latency);
    put_hist(&b, "sori_queue_delay_seconds", "From the arrival of a call's oldest waiting audio to its decoding thread taking it.",
             &m->queue_delay);
    put_hist(&b, "sori_tick_seconds", "One decoding tick: audio in, batched decoding, results out.", &m->tick_s);
    if (m->has_sink_url)
        put(&b, "# HELP sori_sink_events_total Events of audio-only calls for the HTTP sink, by outcome.\n"
                "# TYPE sori_sink_events_total counter\nsori_sink_events_total{result=\"posted\"} %llu\n"
                "sori_sink_events_total{result=\"dropped\"} %llu\n"
                "# HELP sori_sink_retries_total POSTs that failed and were tried again.\n"
                "# TYPE sori_sink_retries_total counter\nsori_sink_retries_total %llu\n"
                "# HELP sori_sink_queued_events Events waiting to be posted.\n"
                "# TYPE sori_sink_queued_events gauge\nsori_sink_queued_events %d\n",
            (unsigned long long)m->sink.posted, (unsigned long long)m->sink.dropped,
            (unsigned long long)m->sink.retries, m->sink.queued);
    put(&b, "# HELP sori_uptime_seconds Since the server started.\n# TYPE sori_uptime_seconds gauge\n"
            "sori_uptime_seconds %.1f\n", uptime_s);
    return b.p;
}
