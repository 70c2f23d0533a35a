/*
 * sori/serve.h — the streaming server behind `sori serve`: loaded models
 * shared by many concurrent calls over sori's own WebSocket protocol
 * (docs/protocol.md), with health, readiness and Prometheus metrics on the
 * same port.
 *
 *     sori_server_model models[1] = {{"ko", model}};
 *     sori_server_params p = sori_server_default_params();
 *     p.port = 8765;
 *     sori_server *sv;
 *     if (sori_server_create(&p, models, 1, &sv, &err) == SORI_OK) {
 *         sori_server_run(sv, &err);     // until sori_server_stop (e.g. from SIGTERM)
 *         sori_server_free(sv);
 *     }
 *
 * Threads: one event-loop thread (libwebsockets) reads and writes sockets
 * and parses messages; `decoders` decoding threads each own a share of the
 * calls (by turn), accept the audio the loop queued, and each tick decode
 * the ready streams of a model in one batched call (sori_asr_decode_ready),
 * then queue the events.
 * The models (and their runtime) must outlive the server.
 */
#ifndef SORI_SERVE_H
#define SORI_SERVE_H

#include <stdio.h>

#include "asr.h"
#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sori_server sori_server;

typedef struct sori_server_model {
    const char *name;       /* what a start message names ("model"); the first is the default */
    sori_asr_model *model;  /* loaded, shared by every call */
} sori_server_model;

typedef struct sori_server_params {
    const char *host;        /* "127.0.0.1": loopback unless told otherwise */
    int port;                /* 8765 */
    const char *token;       /* NULL: no authentication; else every request but /healthz needs
                                "Authorization: Bearer TOKEN" (or, on the WebSocket, "token" in start) */
    int max_streams;         /* 64: concurrent streams (a stereo call holds two); more are refused */
    int max_message_bytes;   /* 1 MiB: one WebSocket message (a text message, or an audio frame) */
    int max_pending_s;       /* 10: audio queued for decoding per call before reading from it pauses */
    int max_output_bytes;    /* 4 MiB: events waiting for a client that does not read: then it is closed */
    int idle_timeout_s;      /* 60: a call that sends nothing for this long is closed */
    int tick_ms;             /* 20: how often a decoding thread collects audio and decodes */
    int decoders;            /* 2: decoding threads, 1..16; each owns a share of the calls (with a
                                CPU runtime's pool of n threads, n of them keep n cores busy) */
    int drain_timeout_s;     /* 30: after sori_server_stop, how long calls may take to flush */
    FILE *log;               /* one JSON object per line (connections, errors, drain); NULL: none */
    /* Asterisk AudioSocket (raw TCP: a UUID, 8 kHz signed-linear audio, DTMF, hangup) on a port
     * of its own: 0 for none. Its calls go to the first model, and their events (the same JSON
     * as the WebSocket's) to sink_dir/UUID.jsonl, since the protocol carries audio only. */
    const char *audiosocket_host; /* NULL: host */
    int audiosocket_port;
    /* The sink of AudioSocket calls and media streams (/v1/twilio): at least one of these.
     * sink_dir: a JSON-lines file per call, DIR/CALLID.jsonl. sink_url (http or https): one POST
     * per event, {"call":CALLID,"source":"audiosocket"|"twilio","seq":N, …the event}, in order,
     * from a thread of its own (libcurl, keep-alive); failures of the network or the receiver (no
     * connection, a timeout, 408, 429, 5xx) are retried with a growing pause for sink_retry_s,
     * others dropped at once; drops are counted in /metrics. */
    const char *sink_dir;
    const char *sink_url;
    const char *const *sink_headers; /* "Name: value" lines added to each POST (e.g. Authorization) */
    int n_sink_headers;
    double sink_retry_s;             /* 0: 30 */
    int sink_partials;               /* 1: partial results go to the sink too (a POST each: mind the rate) */
    /* The browser demo (a static page, no data in it) at / : served without the token, which the
     * page asks for and sends in its start message like any browser client. Off by default. */
    int demo;
    /* Personal data masked in every result (sori_asr_result_redact): finals' text and words,
     * with "redactions" (category, start, end) for bleeping; partials masked in partial mode
     * (any 3+ digits), so a partial never shows digits its final masks. Off by default. */
    int redact;
    /* Results in written form (sori_asr_result_itn: 삼만 오천 원 → ₩35000), finals and
     * partials, before any masking; words keep their times. Off by default. itn_flags:
     * sori/text.h's SORI_ITN_* (0: NeMo's forms; SORI_ITN_CURRENCY_WORD | SORI_ITN_THOUSANDS:
     * 35,000원). */
    int itn;
    unsigned itn_flags;
    /* Abusive-speech detection (sori/text.h: sori_moderate) of every final, scored on the text
     * as recognized (before --itn and --redact): "moderation": {"label", "score"} in finals.
     * Not owned: the caller loads it, keeps it until sori_server_free, and may share it. NULL: off. */
    const struct sori_moderator *moderator;
} sori_server_params;

SORI_API sori_server_params sori_server_default_params(void);

/* Binds the port. SORI_ERR_INVALID_ARG for bad params or models;
 * SORI_ERR_IO when the address cannot be bound. */
SORI_API sori_status sori_server_create(const sori_server_params *p, const sori_server_model *models, int n_models,
                                        sori_server **out, sori_error *err);
/* Serves until stopped; returns after the drain. */
SORI_API sori_status sori_server_run(sori_server *sv, sori_error *err);
/* Starts the graceful drain: /readyz turns 503, new calls are refused,
 * every call's input is finished and its finals sent, then run returns
 * (at most drain_timeout_s later). Safe from a signal handler and from any
 * thread. */
SORI_API void sori_server_stop(sori_server *sv);
SORI_API void sori_server_free(sori_server *sv);

#ifdef __cplusplus
}
#endif
#endif /* SORI_SERVE_H */
