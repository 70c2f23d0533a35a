/* Where the events of audio-only calls go (AudioSocket, media streams): a
 * JSON-lines file per call in a directory, and/or one HTTP POST per event to
 * a URL. The POSTs are made by a thread of their own with libcurl (one
 * keep-alive connection, https too), in the order the events came, so the
 * decoding threads never wait on the network: a failed POST (no connection,
 * a timeout, 408, 429 or 5xx) is retried with a growing pause for up to
 * retry_s, other 4xx answers are final; past max_queue_bytes new events are
 * dropped and counted. A drain waits for the queue to empty. */
#define _POSIX_C_SOURCE 200809L
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "serve/serve_internal.h"

typedef struct post {
    struct post *next;
    size_t len;
    char body[];
} post;

struct sori_sink {
    char *dir, *url;
    struct curl_slist *headers;
    size_t max_queue_bytes;
    double retry_s;
    FILE *log;
    pthread_t thread;
    bool started;
    pthread_mutex_t mu;
    pthread_cond_t cv;   /* a new event, or quit */
    pthread_cond_t idle; /* the queue emptied */
    post *head, *tail;
    size_t queued_bytes;
    int queued;
    bool quit, busy;
    uint64_t seq;        /* the last event's number */
    sori_sink_stats stats;
};

void sori_serve_log(FILE *f, const char *fmt, ...)
{
    if (!f)
        return;
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    fprintf(f, "{\"ts\":%.3f,%s}\n", (double)t.tv_sec + 1e-9 * (double)t.tv_nsec, buf);
    fflush(f);
}

static size_t discard(char *p, size_t size, size_t n, void *ctx)
{
    (void)p;
    (void)ctx;
    return size * n;
}

static double mono_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Waits up to s seconds, or until quit; under k->mu. */
static void pause_for(sori_sink *k, double s)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    double end = (double)t.tv_sec + 1e-9 * (double)t.tv_nsec + s;
    t.tv_sec = (time_t)end;
    t.tv_nsec = (long)((end - (double)t.tv_sec) * 1e9);
    while (!k->quit && pthread_cond_timedwait(&k->cv, &k->mu, &t) != ETIMEDOUT) {
    }
}

static void *poster_main(void *arg)
{
    sori_sink *k = arg;
    CURL *c = curl_easy_init();
    if (c) {
        curl_easy_setopt(c, CURLOPT_URL, k->url);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, k->headers);
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
        curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    }
    pthread_mutex_lock(&k->mu);
    for (;;) {
        while (!k->head && !k->quit)
            pthread_cond_wait(&k->cv, &k->mu);
        if (k->quit)
            break; /* what is left is dropped (and counted) by sori_sink_free */
        post *e = k->head;
        k->busy = true;
        double first = mono_s(), wait = 0.1;
        bool done = false;
        while (!done) {
            pthread_mutex_unlock(&k->mu);
            long code = 0;
            CURLcode rc = CURLE_FAILED_INIT;
            if (c) {
                curl_easy_setopt(c, CURLOPT_POSTFIELDS, (const char *)&e->body[0]);
                curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)e->len);
                rc = curl_easy_perform(c);
                if (rc == CURLE_OK)
                    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
            }
            pthread_mutex_lock(&k->mu);
            /* worth another try: the receiver or the network, not the request (a bad URL or
             * certificate fails the same way every time) */
            bool transient = rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST ||
                             rc == CURLE_OPERATION_TIMEDOUT || rc == CURLE_SEND_ERROR || rc == CURLE_RECV_ERROR ||
                             rc == CURLE_GOT_NOTHING || rc == CURLE_PARTIAL_FILE ||
                             (rc == CURLE_OK && (code == 408 || code == 429 || code >= 500));
            if (code >= 200 && code < 300) {
                k->stats.posted++;
                done = true;
            } else if (!transient || mono_s() - first + wait > k->retry_s || k->quit) {
                k->stats.dropped++;
                sori_serve_log(k->log, "\"event\":\"sink_drop\",\"why\":\"%s\",\"status\":%ld",
                               rc != CURLE_OK ? curl_easy_strerror(rc) : "refused by the receiver", code);
                done = true;
            } else {
                k->stats.retries++;
                pause_for(k, wait);
                wait = wait * 2 > 5 ? 5 : wait * 2;
                if (k->quit) { /* stopping: no more tries */
                    k->stats.dropped++;
                    done = true;
                }
            }
        }
        k->head = e->next;
        if (!k->head)
            k->tail = NULL;
        k->queued--;
        k->queued_bytes -= e->len;
        k->busy = false;
        free(e);
        if (!k->head)
            pthread_cond_broadcast(&k->idle);
    }
    pthread_cond_broadcast(&k->idle);
    pthread_mutex_unlock(&k->mu);
    curl_easy_cleanup(c);
    return NULL;
}

static void curl_init_once(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

int sori_sink_create(const sori_sink_params *p, sori_sink **out, char *why, size_t why_size)
{
    *out = NULL;
    if (!p->dir && !p->url)
        return 0; /* no sink: none needed */
    if (p->url && strncmp(p->url, "http://", 7) && strncmp(p->url, "https://", 8)) {
        snprintf(why, why_size, "the sink URL must start with http:// or https://");
        return -1;
    }
    sori_sink *k = calloc(1, sizeof *k);
    if (!k) {
        snprintf(why, why_size, "out of memory");
        return -1;
    }
    k->dir = p->dir ? strdup(p->dir) : NULL;
    k->url = p->url ? strdup(p->url) : NULL;
    if ((p->dir && !k->dir) || (p->url && !k->url)) {
        free(k->dir);
        free(k->url);
        free(k);
        snprintf(why, why_size, "out of memory");
        return -1;
    }
    k->max_queue_bytes = p->max_queue_bytes > 0 ? p->max_queue_bytes : (size_t)16 << 20;
    k->retry_s = p->retry_s > 0 ? p->retry_s : 30;
    k->log = p->log;
    pthread_mutex_init(&k->mu, NULL);
    pthread_cond_init(&k->cv, NULL);
    pthread_cond_init(&k->idle, NULL);
    if (k->url) {
        static pthread_once_t once = PTHREAD_ONCE_INIT;
        pthread_once(&once, curl_init_once);
        k->headers = curl_slist_append(NULL, "Content-Type: application/json");
        for (int i = 0; i < p->n_headers && k->headers; i++) {
            if (!strchr(p->headers[i], ':') || strpbrk(p->headers[i], "\r\n")) {
                snprintf(why, why_size, "a sink header must be 'Name: value' on one line");
                sori_sink_free(k);
                return -1;
            }
            struct curl_slist *h = curl_slist_append(k->headers, p->headers[i]);
            if (h)
                k->headers = h;
        }
        if (!k->headers || pthread_create(&k->thread, NULL, poster_main, k) != 0) {
            snprintf(why, why_size, "cannot start the sink's thread");
            sori_sink_free(k);
            return -1;
        }
        k->started = true;
    }
    *out = k;
    return 0;
}

bool sori_sink_call_open(sori_sink *k, const char *call_id, FILE **file)
{
    *file = NULL;
    if (!k)
        return false;
    if (!k->dir)
        return true;
    char path[4200];
    snprintf(path, sizeof path, "%s/%s.jsonl", k->dir, call_id);
    *file = fopen(path, "a");
    return *file != NULL;
}

void sori_sink_event(sori_sink *k, FILE *file, const char *call_id, const char *protocol, const char *json)
{
    if (file) {
        fprintf(file, "%s\n", json);
        fflush(file);
    }
    if (!k || !k->url || json[0] != '{')
        return;
    /* the event with the call it belongs to and its number (a receiver can drop a repeat: a POST
     * that timed out may have arrived): {"call":"ID","source":"P","seq":N, ...the event's fields} */
    size_t n = strlen(json), extra = strlen(call_id) + strlen(protocol) + 64;
    pthread_mutex_lock(&k->mu);
    if (k->queued_bytes + n + extra > k->max_queue_bytes) {
        k->stats.dropped++;
        pthread_mutex_unlock(&k->mu);
        sori_serve_log(k->log, "\"event\":\"sink_drop\",\"why\":\"queue full\",\"call\":\"%s\"", call_id);
        return;
    }
    post *e = malloc(sizeof *e + n + extra);
    if (e) {
        int h = snprintf(e->body, extra, "{\"call\":\"%s\",\"source\":\"%s\",\"seq\":%llu%s", call_id, protocol,
                         (unsigned long long)++k->seq, json[1] == '}' ? "" : ",");
        memcpy(e->body + h, json + 1, n); /* the rest of the event, with its NUL */
        e->len = (size_t)h + n - 1;
        e->next = NULL;
        if (k->tail)
            k->tail->next = e;
        else
            k->head = e;
        k->tail = e;
        k->queued++;
        k->queued_bytes += e->len;
        pthread_cond_signal(&k->cv);
    } else {
        k->stats.dropped++;
    }
    pthread_mutex_unlock(&k->mu);
}

void sori_sink_get_stats(sori_sink *k, sori_sink_stats *s)
{
    memset(s, 0, sizeof *s);
    if (!k)
        return;
    pthread_mutex_lock(&k->mu);
    *s = k->stats;
    s->queued = k->queued;
    pthread_mutex_unlock(&k->mu);
}

bool sori_sink_flush(sori_sink *k, double timeout_s)
{
    if (!k || !k->started)
        return true;
    const double end = mono_s() + timeout_s;
    pthread_mutex_lock(&k->mu);
    while (k->head && mono_s() < end) {
        struct timespec t;
        clock_gettime(CLOCK_REALTIME, &t);
        t.tv_nsec += 50000000L;
        if (t.tv_nsec >= 1000000000L) {
            t.tv_sec++;
            t.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&k->idle, &k->mu, &t);
    }
    bool empty = !k->head;
    pthread_mutex_unlock(&k->mu);
    return empty;
}

void sori_sink_free(sori_sink *k)
{
    if (!k)
        return;
    if (k->started) {
        pthread_mutex_lock(&k->mu);
        k->quit = true;
        pthread_cond_broadcast(&k->cv);
        pthread_mutex_unlock(&k->mu);
        pthread_join(k->thread, NULL);
    }
    for (post *e = k->head, *n; e; e = n) {
        n = e->next;
        free(e);
        k->stats.dropped++;
    }
    if (k->queued)
        sori_serve_log(k->log, "\"event\":\"sink_drop\",\"why\":\"stopped\",\"events\":%d", k->queued);
    curl_slist_free_all(k->headers);
    pthread_cond_destroy(&k->idle);
    pthread_cond_destroy(&k->cv);
    pthread_mutex_destroy(&k->mu);
    free(k->dir);
    free(k->url);
    free(k);
}
