/* The server's pieces that need no socket (serve/protocol.c, serve/metrics.c):
 * message parsing, audio sample decoding, token comparison, metrics. The
 * parsers are what fuzz_protocol runs. */
#ifndef SORI_SERVE_INTERNAL_H
#define SORI_SERVE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SORI_SERVE_PROTOCOL 1

typedef enum {
    SORI_SERVE_PCM16 = 0, /* signed 16-bit little-endian */
    SORI_SERVE_MULAW,     /* G.711 μ-law, a byte a sample */
    SORI_SERVE_ALAW,      /* G.711 A-law */
    SORI_SERVE_OPUS,      /* one Opus packet a binary message (8, 12, 16, 24 or 48 kHz) */
} sori_serve_encoding;

/* What a start message asks for. */
typedef struct sori_serve_start {
    char model_name[64];     /* "" : the server's first model */
    int model;               /* its index (the server fills it) */
    int sample_rate;         /* 8000..48000 */
    sori_serve_encoding encoding;
    int channels;            /* 1, or 2 (a stereo call: two streams) */
    bool partials, words;    /* send partial results; words in finals */
    int endpoint_silence_ms; /* 0: the model's default rule */
    char *hotwords;          /* one phrase a line, or NULL (owned) */
    char token[512];
    char language[16];       /* Whisper models: the call's language ("ko", "en", "auto"); "": the model's */
} sori_serve_start;

typedef enum {
    SORI_SERVE_MSG_BAD = 0,
    SORI_SERVE_MSG_START,
    SORI_SERVE_MSG_STOP,
    SORI_SERVE_MSG_SAY, /* "say" or "cancel": speech back to the caller (docs/protocol.md) */
} sori_serve_msg;

/* Parses one text message. START fills *start (hotwords owned by the
 * caller); BAD writes why. */
sori_serve_msg sori_serve_parse(const char *text, size_t len, sori_serve_start *start, char *why, size_t why_size);

/* One sample of the encoding at p, as a float in [-1, 1]. */
float sori_serve_decode_sample(sori_serve_encoding e, const unsigned char *p);

/* Constant-time comparison of two NUL-terminated tokens. */
bool sori_serve_token_equal(const char *a, const char *b);

typedef enum {
    SORI_SERVE_ERR_BAD_MESSAGE = 0,
    SORI_SERVE_ERR_BAD_START,
    SORI_SERVE_ERR_UNKNOWN_MODEL,
    SORI_SERVE_ERR_UNAUTHORIZED,
    SORI_SERVE_ERR_BUSY,
    SORI_SERVE_ERR_TOO_LARGE,
    SORI_SERVE_ERR_DRAINING,
    SORI_SERVE_ERR_SLOW_READER,
    SORI_SERVE_ERR_INTERNAL,
    SORI_SERVE_ERR_UNSUPPORTED,
    SORI_SERVE_ERR_COUNT_
} sori_serve_err;

const char *sori_serve_err_name(sori_serve_err e);

/* The browser demo page (serve/web/index.html, built in by cmake/embed.cmake). */
extern const unsigned char sori_serve_demo_page[];
extern const size_t sori_serve_demo_page_len;

/* ---- sinks: where audio-only calls' events go (serve/sink.c) ---- */

#include <stdio.h>

/* One JSON log line, {"ts":..., FIELDS} (f may be NULL). */
void sori_serve_log(FILE *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

typedef struct sori_sink sori_sink;

typedef struct {
    const char *dir;              /* a DIR/CALL.jsonl file per call, or NULL */
    const char *url;              /* http(s)://… : a POST per event, or NULL */
    const char *const *headers;   /* "Name: value" lines added to each POST */
    int n_headers;
    size_t max_queue_bytes;       /* 0: 16 MiB of events waiting to be posted; past it new ones are dropped */
    double retry_s;               /* 0: 30 s: how long one event is retried */
    FILE *log;
} sori_sink_params;

typedef struct {
    uint64_t posted, retries, dropped;
    int queued;
} sori_sink_stats;

/* *out = NULL (and 0) when neither dir nor url is given; -1 with why. */
int sori_sink_create(const sori_sink_params *p, sori_sink **out, char *why, size_t why_size);
/* A call's file (NULL without a directory); false when it cannot be opened. */
bool sori_sink_call_open(sori_sink *k, const char *call_id, FILE **file);
/* One event (a JSON object's text): a line in the call's file, and queued
 * for a POST as {"call":ID,"source":P,"seq":N, …the event}. Never blocks on the network. */
void sori_sink_event(sori_sink *k, FILE *file, const char *call_id, const char *protocol, const char *json);
void sori_sink_get_stats(sori_sink *k, sori_sink_stats *s);
/* Waits until every queued event was posted (or dropped), at most timeout_s; true when none is left. */
bool sori_sink_flush(sori_sink *k, double timeout_s);
/* Stops the poster; events still queued are dropped and counted. */
void sori_sink_free(sori_sink *k);

/* ---- metrics (Prometheus text) ---- */

enum { SORI_SERVE_HIST_BUCKETS = 12 };

typedef struct {
    uint64_t count, bucket[SORI_SERVE_HIST_BUCKETS + 1]; /* the last: +Inf */
    double sum;
} sori_serve_hist;

typedef struct sori_serve_metrics {
    uint64_t connections, calls, finals, partials, batches, batched_streams, dropped_calls, flow_pauses;
    uint64_t errors[SORI_SERVE_ERR_COUNT_];
    double audio_s, decode_s, accept_s, collect_s; /* the decoding thread's time by phase */
    sori_serve_hist final_latency, partial_latency, tick_s, queue_delay;
    sori_sink_stats sink; /* filled when the text is made */
    bool has_sink_url;
} sori_serve_metrics;

void sori_serve_metrics_init(sori_serve_metrics *m);
void sori_serve_metrics_free(sori_serve_metrics *m);
void sori_serve_observe(sori_serve_hist *h, double seconds);
/* The metrics as Prometheus text (malloc'd), with the gauges given. */
char *sori_serve_metrics_text(const sori_serve_metrics *m, int active_streams, int open_calls, double uptime_s);

#endif /* SORI_SERVE_INTERNAL_H */
