/* sori serve, end to end over loopback (the bundled Conformer and its LM):
 *  - /healthz without a token; /readyz and /metrics only with it;
 *  - a 16 kHz PCM16 call and an 8 kHz μ-law call (each channel of the
 *    bundled call recording a labelled stream) give exactly the finals the
 *    streaming API gives in-process for the same samples (the server runs
 *    with --itn, --redact and --moderate: the API's finals are put in
 *    written form too, and every final carries a label and a score), and
 *    a summary;
 *  - faults: no token, bad JSON, an unknown model, audio before start, an
 *    oversized frame, a stop before start, a client that vanishes
 *    mid-utterance, a full server, an idle connection, "say" (not served
 *    yet) — each answered by an error event or a close, and a good call
 *    right after still gets its finals; beside a good call: bytes that are
 *    not HTTP, a frame cut short, a flood that reads nothing, half a
 *    request left hanging (slowloris); the server's memory after 20 more calls stays at its level
 *    after the first few;
 *  - Asterisk AudioSocket: a call (UUID, 8 kHz signed linear, a DTMF digit,
 *    hangup — or the socket closed without one) writes the API's finals,
 *    the digit and a summary to its sink file;
 *  - a Twilio-style media stream (connected, start, base64 μ-law media,
 *    stop) writes the API's finals and a summary to its sink file;
 *  - the HTTP sink: the same events of those calls arrive as POSTs (with the
 *    configured header, the call's id and protocol) at a loopback receiver
 *    that refuses the first two (503): retried, none lost, in order;
 *  - SIGTERM during three calls: each still gets its finals and a
 *    "server draining" summary, and the server exits 0.
 * argv[1]: the sori binary. Skips (77) without the bundled model. */
#define _GNU_SOURCE
#include <cjson/cJSON.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#include "check.h"
#include "sori/asr.h"
#include "sori/audio.h"
#include "http_rx.h"
#include "ws_client.h"

static int g_port, g_as_port;
static int g_sink_partials; /* partial events in the last sink file read */
static const char *g_token = "s3cret-token";

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* The server's resident memory, kB. */
static long rss_kb(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "VmRSS:", 6))
            kb = strtol(line + 6, NULL, 10);
    if (f)
        fclose(f);
    return kb;
}

/* The finals the streaming API gives in-process: "text|text|...". */
/* the server runs with --itn: the API's finals are put in written form the same way */
static char *reference_finals(sori_asr_model *m, const float *x, int64_t n, int rate)
{
    sori_asr_stream_params sp = sori_asr_stream_default_params();
    sori_asr_stream *s = NULL;
    sori_error err = {0};
    if (sori_asr_stream_create(m, &sp, &s, &err) != SORI_OK)
        return NULL;
    char *all = calloc(1, 1 << 16);
    int64_t packet = rate / 50;
    sori_status st = SORI_OK;
    for (int64_t pos = 0, done = 0; st == SORI_OK && !done; pos += packet) {
        done = pos >= n; /* after the last packet, however short: the end of input */
        if (!done)
            st = sori_asr_stream_accept(s, x + pos, pos + packet <= n ? packet : n - pos, rate, &err);
        else
            st = sori_asr_stream_input_finished(s, &err);
        while (st == SORI_OK && sori_asr_stream_is_ready(s))
            st = sori_asr_decode_ready(m, &s, 1, &err);
        sori_asr_result *r = NULL;
        while (st == SORI_OK && sori_asr_stream_pop_final(s, &r, &err) == SORI_OK && r) {
            st = sori_asr_result_itn(r, 0, &err);
            strcat(all, r->text);
            strcat(all, "|");
            sori_asr_result_free(r);
        }
    }
    sori_asr_result *r = NULL;
    if (st == SORI_OK && sori_asr_stream_result(s, &r, &err) == SORI_OK && sori_asr_result_itn(r, 0, &err) == SORI_OK &&
        r->text[0]) {
        strcat(all, r->text);
        strcat(all, "|");
    }
    sori_asr_result_free(r);
    sori_asr_stream_free(s);
    return all;
}

typedef struct {
    char finals[2][1 << 15]; /* per channel, "text|text|" */
    int n_finals, n_partials, n_errors;
    char error_code[64], closed_reason[64];
    int closed, ready, closed_socket;
    double audio_s;
    int n_redactions;          /* in finals (a server with --redact) */
    char redaction_category[16]; /* the first one's */
    double redaction_start, redaction_end;
    int n_moderated; /* finals with a well-formed "moderation" (a server with --moderate) */
} call_result;

/* Reads events until "closed" or the socket closes (or timeout_s). */
static void read_events(int fd, call_result *cr, double timeout_s)
{
    static char buf[1 << 16];
    double t0 = now_s();
    while (!cr->closed && now_s() - t0 < timeout_s) {
        int op = ws_recv(fd, buf, sizeof buf, 1000);
        if (op == -2) /* nothing yet: the server may be slow (sanitizers) */
            continue;
        if (op == WS_CLOSE || op < 0) {
            cr->closed_socket = 1;
            break;
        }
        if (op != WS_TEXT)
            continue;
        cJSON *o = cJSON_Parse(buf);
        const cJSON *type = cJSON_GetObjectItem(o, "type");
        const char *t = cJSON_IsString(type) ? type->valuestring : "";
        if (!strcmp(t, "final")) {
            int c = cJSON_GetObjectItem(o, "channel") ? cJSON_GetObjectItem(o, "channel")->valueint : 0;
            if (c >= 0 && c < 2) {
                strcat(cr->finals[c], cJSON_GetObjectItem(o, "text")->valuestring);
                strcat(cr->finals[c], "|");
            }
            const cJSON *mod = cJSON_GetObjectItem(o, "moderation");
            const cJSON *label = cJSON_GetObjectItem(mod, "label"), *score = cJSON_GetObjectItem(mod, "score");
            if (cJSON_IsString(label) && cJSON_IsNumber(score) && score->valuedouble >= 0 && score->valuedouble <= 1 &&
                strstr(" ok profanity insult threat hate ", label->valuestring) && label->valuestring[0])
                cr->n_moderated++;
            const cJSON *red = cJSON_GetObjectItem(o, "redactions"), *x;
            cJSON_ArrayForEach(x, red)
            {
                if (cr->n_redactions++ == 0) {
                    const cJSON *cat = cJSON_GetObjectItem(x, "category");
                    snprintf(cr->redaction_category, sizeof cr->redaction_category, "%s",
                             cJSON_IsString(cat) ? cat->valuestring : "?");
                    cr->redaction_start = cJSON_GetNumberValue(cJSON_GetObjectItem(x, "start"));
                    cr->redaction_end = cJSON_GetNumberValue(cJSON_GetObjectItem(x, "end"));
                }
            }
            cr->n_finals++;
        } else if (!strcmp(t, "partial")) {
            cr->n_partials++;
        } else if (!strcmp(t, "ready")) {
            cr->ready = 1;
        } else if (!strcmp(t, "error")) {
            cr->n_errors++;
            snprintf(cr->error_code, sizeof cr->error_code, "%s", cJSON_GetObjectItem(o, "code")->valuestring);
        } else if (!strcmp(t, "closed")) {
            cr->closed = 1;
            snprintf(cr->closed_reason, sizeof cr->closed_reason, "%s",
                     cJSON_GetObjectItem(o, "reason")->valuestring);
            cr->audio_s = cJSON_GetObjectItem(o, "audio_s")->valuedouble;
        }
        cJSON_Delete(o);
    }
}

/* The call's audio as the protocol carries it: PCM16 or μ-law bytes. */
static unsigned char *encode(const sori_audio *a, int mulaw, size_t *n)
{
    size_t bps = mulaw ? 1 : 2, total = (size_t)(a->n_frames * a->n_channels);
    unsigned char *b = malloc(total * bps);
    for (size_t i = 0; i < total; i++) {
        float v = a->samples[i] * 32768.0f;
        int16_t s = (int16_t)(v > 32767.0f ? 32767 : v < -32768.0f ? -32768 : lrintf(v));
        if (mulaw) {
            b[i] = sori_g711_ulaw_encode(s);
        } else {
            b[2 * i] = (unsigned char)(s & 0xff);
            b[2 * i + 1] = (unsigned char)((uint16_t)s >> 8);
        }
    }
    *n = total * bps;
    return b;
}

/* A whole call: start, the audio in 20 ms frames (split at odd places), stop. */
static void run_call(const char *start_json, const unsigned char *audio, size_t n, size_t frame_bytes, int stop,
                     call_result *cr)
{
    memset(cr, 0, sizeof *cr);
    int fd = ws_open(g_port, "/v1/asr", g_token, NULL);
    CHECK(fd >= 0, "call: connect");
    if (fd < 0)
        return;
    ws_send_text(fd, start_json);
    for (size_t pos = 0; pos < n; pos += frame_bytes)
        ws_send_frame(fd, WS_BINARY, audio + pos, pos + frame_bytes <= n ? frame_bytes : n - pos, 0);
    if (stop)
        ws_send_text(fd, "{\"type\":\"stop\"}");
    read_events(fd, cr, 60);
    close(fd);
}

/* An AudioSocket message: type, 16-bit big-endian length, payload. */
static int as_send(int fd, int type, const void *p, size_t n)
{
    unsigned char h[3] = {(unsigned char)type, (unsigned char)(n >> 8), (unsigned char)n};
    return ws_write_all(fd, h, 3) || (n && ws_write_all(fd, p, n)) ? -1 : 0;
}

/* The finals of a telephony call's sink file once its summary is there
 * (up to 30 s): "a|b|", or NULL; of one channel, or all (-1). */
static char *sink_finals(const char *path, int *n_dtmf, int channel)
{
    for (int i = 0; i < 300; i++) {
        FILE *f = fopen(path, "r");
        char line[1 << 15];
        char *all = calloc(1, 1 << 15);
        int closed = 0;
        *n_dtmf = 0;
        g_sink_partials = 0;
        while (f && fgets(line, sizeof line, f)) {
            cJSON *o = cJSON_Parse(line);
            const cJSON *t = cJSON_GetObjectItem(o, "type");
            const cJSON *ch = cJSON_GetObjectItem(o, "channel");
            if (cJSON_IsString(t) && !strcmp(t->valuestring, "final") &&
                (channel < 0 || (cJSON_IsNumber(ch) && ch->valueint == channel))) {
                strcat(all, cJSON_GetObjectItem(o, "text")->valuestring);
                strcat(all, "|");
            }
            *n_dtmf += cJSON_IsString(t) && !strcmp(t->valuestring, "dtmf");
            g_sink_partials += cJSON_IsString(t) && !strcmp(t->valuestring, "partial");
            closed |= cJSON_IsString(t) && !strcmp(t->valuestring, "closed");
            cJSON_Delete(o);
        }
        if (f)
            fclose(f);
        if (closed)
            return all;
        free(all);
        usleep(100000);
    }
    return NULL;
}

/* The finals POSTed for call `id` once its "closed" event came (up to 30 s):
 * "a|b|", or NULL; *bad counts its events that are not JSON or name another protocol. */
static char *posted_finals(http_rx *rx, const char *id, const char *protocol, int *n_events, int *bad)
{
    for (int i = 0; i < 300; i++) {
        pthread_mutex_lock(&rx->mu);
        char *copy = strdup(rx->bodies ? rx->bodies : "");
        pthread_mutex_unlock(&rx->mu);
        char *all = calloc(1, 1 << 15);
        int closed = 0;
        *n_events = *bad = 0;
        for (char *line = strtok(copy, "\n"); line; line = strtok(NULL, "\n")) {
            cJSON *o = cJSON_Parse(line);
            const cJSON *c = cJSON_GetObjectItem(o, "call"), *p = cJSON_GetObjectItem(o, "source");
            const cJSON *sq = cJSON_GetObjectItem(o, "seq");
            const cJSON *t = cJSON_GetObjectItem(o, "type");
            if (!o || !cJSON_IsString(c) || !cJSON_IsString(t)) {
                ++*bad;
            } else if (!strcmp(c->valuestring, id)) {
                ++*n_events;
                *bad += !cJSON_IsString(p) || strcmp(p->valuestring, protocol) || !cJSON_IsNumber(sq);
                if (!strcmp(t->valuestring, "final")) {
                    strcat(all, cJSON_GetObjectItem(o, "text")->valuestring);
                    strcat(all, "|");
                }
                closed |= !strcmp(t->valuestring, "closed");
            }
            cJSON_Delete(o);
        }
        free(copy);
        if (closed)
            return all;
        free(all);
        usleep(100000);
    }
    return NULL;
}

/* A client that floods: a whole long call written as fast as the socket takes it, never
 * reading what comes back (a thread: its writes block while the server's reading pauses). */
typedef struct {
    int fd;
    const unsigned char *audio;
    size_t n, reps;
} flood_arg;

static void *flood_main(void *arg)
{
    flood_arg *f = arg;
    ws_send_text(f->fd, "{\"type\":\"start\",\"model\":\"ko\",\"sample_rate\":16000,\"partials\":true}");
    for (size_t r = 0; r < f->reps; r++)
        for (size_t pos = 0; pos < f->n; pos += 32000)
            ws_send_frame(f->fd, WS_BINARY, f->audio + pos, pos + 32000 <= f->n ? 32000 : f->n - pos, 0);
    ws_send_text(f->fd, "{\"type\":\"stop\"}");
    return NULL;
}

/* 1 when the server closed the socket within timeout_s (it reads end-of-file or an error). */
static int closed_by_server(int fd, double timeout_s)
{
    char buf[4096];
    double t0 = now_s();
    while (now_s() - t0 < timeout_s) {
        struct pollfd pf = {fd, POLLIN, 0};
        if (poll(&pf, 1, 200) <= 0)
            continue;
        ssize_t k = read(fd, buf, sizeof buf);
        if (k <= 0)
            return 1;
    }
    return 0;
}

static void b64(const unsigned char *in, size_t n, char *out)
{
    static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0) | (i + 2 < n ? in[i + 2] : 0);
        out[o++] = t[v >> 18 & 63];
        out[o++] = t[v >> 12 & 63];
        out[o++] = i + 1 < n ? t[v >> 6 & 63] : '=';
        out[o++] = i + 2 < n ? t[v & 63] : '=';
    }
    out[o] = '\0';
}

/* Waits (up to 10 s) until the server holds no connection: calls that
 * went away are let go on its next tick. */
static int wait_idle(void)
{
    static char body[1 << 16];
    for (int i = 0; i < 100; i++) {
        if (http_get(g_port, "/metrics", g_token, body, sizeof body) == 200 &&
            strstr(body, "\nsori_open_connections 0\n") && strstr(body, "\nsori_active_streams 0\n"))
            return 1;
        usleep(100000);
    }
    return 0;
}

/* A connection that sends `first` (text, or binary when bin) and expects an error with `code`. */
static void expect_error(const char *what, const char *auth, const char *first, size_t n, int bin, const char *code)
{
    call_result cr;
    memset(&cr, 0, sizeof cr);
    int fd = ws_open(g_port, "/v1/asr", auth, NULL);
    CHECK(fd >= 0, "%s: connect", what);
    if (fd < 0)
        return;
    ws_send_frame(fd, bin ? WS_BINARY : WS_TEXT, first, n, 0);
    read_events(fd, &cr, 10);
    close(fd);
    CHECK(cr.n_errors >= 1 && !strcmp(cr.error_code, code), "%s: expected error '%s', got %d errors ('%s')", what,
          code, cr.n_errors, cr.error_code);
    printf("fault: %-34s -> error %s%s\n", what, cr.error_code, cr.closed_socket ? ", closed" : "");
}

int main(int argc, char **argv)
{
    if (argc < 2)
        SKIP("usage: test_serve SORI_BINARY");
    char model_path[1024], lm_path[1024], s16[1024], s8[1024];
    snprintf(model_path, sizeof model_path, "%s/data/ko-fastconformer-ctc.gguf", SORI_SOURCE_DIR);
    snprintf(lm_path, sizeof lm_path, "%s/data/ko-tokens-4gram.gguf", SORI_SOURCE_DIR);
    snprintf(s16, sizeof s16, "%s/data/samples/ko_16k_statement.wav", SORI_SOURCE_DIR);
    snprintf(s8, sizeof s8, "%s/data/samples/ko_8k_ulaw_call.wav", SORI_SOURCE_DIR);
    if (access(model_path, R_OK) || access(lm_path, R_OK) || access(s16, R_OK) || access(s8, R_OK))
        SKIP("the bundled model, LM or samples are missing");
    char dir[] = "/tmp/sori_test_serve_XXXXXX";
    if (!mkdtemp(dir))
        SKIP("no temporary folder");
    char token_file[128], log_file[128], model_arg[1200], listen_arg[64];
    snprintf(token_file, sizeof token_file, "%s/token", dir);
    snprintf(log_file, sizeof log_file, "%s/server.log", dir);
    FILE *tf = fopen(token_file, "w");
    fprintf(tf, "%s\n", g_token);
    fclose(tf);
    snprintf(model_arg, sizeof model_arg, "ko=%s", model_path);
    g_port = ws_free_port();
    snprintf(listen_arg, sizeof listen_arg, "127.0.0.1:%d", g_port);
    g_as_port = ws_free_port();
    char as_arg[64];
    snprintf(as_arg, sizeof as_arg, "127.0.0.1:%d", g_as_port);
    http_rx rx;
    CHECK(http_rx_start(&rx, 2, "\r\nX-Sori-Test: yes\r\n") == 0, "the HTTP receiver did not start");
    char sink_url[96];
    snprintf(sink_url, sizeof sink_url, "http://127.0.0.1:%d/events", rx.port);
    pid_t pid = fork();
    if (pid == 0) {
        execl(argv[1], argv[1], "serve", "--listen", listen_arg, "--model", model_arg, "--token-file", token_file,
              "--threads", "2", "--decoders", "2", "--max-streams", "4", "--idle-timeout", "3", "--drain-timeout", "20",
              "--audiosocket", as_arg, "--sink-dir", dir, "--sink-url", sink_url, "--sink-partials", "--sink-header",
              "X-Sori-Test: yes", "--itn", "--redact", "--moderate", "--log",
              getenv("SORI_TEST_SERVE_LOG") ? getenv("SORI_TEST_SERVE_LOG") : log_file, (char *)NULL);
        _exit(127);
    }
    int up = 0;
    char body[1 << 16];
    for (int i = 0; i < 300 && !up; i++) {
        up = http_get(g_port, "/healthz", NULL, body, sizeof body) == 200;
        if (!up)
            usleep(100000);
    }
    CHECK(up, "the server did not come up on port %d", g_port);
    if (!up) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        return check_finish("test_serve");
    }
    /* endpoints and the token */
    CHECK(http_get(g_port, "/readyz", NULL, body, sizeof body) == 401, "/readyz without the token must be 401");
    CHECK(http_get(g_port, "/readyz", g_token, body, sizeof body) == 200, "/readyz with the token");
    CHECK(http_get(g_port, "/metrics", "wrong", body, sizeof body) == 401, "/metrics with a wrong token");
    CHECK(http_get(g_port, "/nope", g_token, body, sizeof body) == 404, "an unknown path is 404");
    int st = 0;
    CHECK(ws_open(g_port, "/elsewhere", g_token, &st) < 0, "a WebSocket elsewhere than /v1/asr is refused");

    /* the reference: the streaming API in-process on the same samples */
    sori_runtime_params rp = sori_runtime_default_params();
    rp.device = SORI_DEVICE_CPU;
    rp.n_threads = 1;
    sori_runtime *rt = NULL;
    sori_error err = {0};
    CHECK_STATUS(sori_runtime_create(&rp, &rt, &err), SORI_OK);
    sori_asr_model_params mp = sori_asr_model_default_params();
    mp.lm_path = lm_path;
    sori_asr_model *m = NULL;
    CHECK_STATUS(sori_asr_model_load(rt, model_path, &mp, &m, &err), SORI_OK);
    sori_audio a16 = {0}, a8 = {0};
    CHECK_STATUS(sori_audio_read_file(s16, &a16, &err), SORI_OK);
    CHECK_STATUS(sori_audio_read_file(s8, &a8, &err), SORI_OK);
    if (!m || !a16.samples || !a8.samples) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        return check_finish("test_serve");
    }
    /* the samples as they go over the wire, decoded back: the reference's input */
    size_t n16 = 0, n8 = 0;
    unsigned char *w16 = encode(&a16, 0, &n16), *w8 = encode(&a8, 1, &n8);
    sori_audio m16 = {0};
    CHECK_STATUS(sori_audio_select_channel(&a16, SORI_CHANNEL_MIX, &m16, &err), SORI_OK);
    for (int64_t i = 0; i < m16.n_frames; i++)
        m16.samples[i] = (float)(int16_t)(w16[2 * i] | w16[2 * i + 1] << 8) / 32768.0f;
    char *ref16 = reference_finals(m, m16.samples, m16.n_frames, 16000);
    const int ch8 = a8.n_channels;
    char *ref8[2] = {NULL, NULL};
    for (int c = 0; c < ch8 && c < 2; c++) {
        float *x = malloc((size_t)a8.n_frames * sizeof(float));
        for (int64_t i = 0; i < a8.n_frames; i++)
            x[i] = (float)sori_g711_ulaw_decode(w8[i * ch8 + c]) / 32768.0f;
        ref8[c] = reference_finals(m, x, a8.n_frames, 8000);
        free(x);
    }

    /* a 16 kHz PCM16 call, frames of 20 ms + 1 byte (samples split between messages) */
    call_result cr;
    run_call("{\"type\":\"start\",\"model\":\"ko\",\"sample_rate\":16000,\"encoding\":\"pcm16\"}", w16, n16, 641, 1,
             &cr);
    printf("16 kHz PCM16 call: %d finals, %d partials, summary %s (%.2f s)\n  server: %s\n  API:    %s\n", cr.n_finals,
           cr.n_partials, cr.closed ? cr.closed_reason : "none", cr.audio_s, cr.finals[0], ref16);
    CHECK(cr.ready && cr.closed && !strcmp(cr.closed_reason, "stop"), "16 kHz call: ready %d, closed %d (%s)", cr.ready,
          cr.closed, cr.closed_reason);
    CHECK(ref16 && ref16[0] && !strcmp(cr.finals[0], ref16), "16 kHz call: the finals differ from the API's");
    CHECK(fabs(cr.audio_s - (double)m16.n_frames / 16000) < 1e-3, "16 kHz call: summary says %.3f s", cr.audio_s);
    CHECK(cr.n_redactions == 0, "16 kHz call: %d redactions in a call without personal data", cr.n_redactions);
    CHECK(cr.n_finals > 0 && cr.n_moderated == cr.n_finals, "--moderate: %d of %d finals carry a moderation",
          cr.n_moderated, cr.n_finals);
    /* --redact: a phone number read out digit by digit (tests/fixtures/pii_phone_16k.wav) */
    {
        char pii_path[1024];
        snprintf(pii_path, sizeof pii_path, "%s/tests/fixtures/pii_phone_16k.wav", SORI_SOURCE_DIR);
        sori_audio pa = {0};
        CHECK_STATUS(sori_audio_read_file(pii_path, &pa, &err), SORI_OK);
        size_t np = 0;
        unsigned char *wp = pa.samples ? encode(&pa, 0, &np) : NULL;
        call_result pr;
        if (wp)
            run_call("{\"type\":\"start\",\"model\":\"ko\",\"sample_rate\":16000}", wp, np, 640, 1, &pr);
        printf("--redact: %s (%d redactions: %s %.2f-%.2f s)\n", wp ? pr.finals[0] : "-", wp ? pr.n_redactions : 0,
               wp ? pr.redaction_category : "", wp ? pr.redaction_start : 0, wp ? pr.redaction_end : 0);
        CHECK(wp && strstr(pr.finals[0], "[전화번호]") && !strstr(pr.finals[0], "공일공") && pr.n_redactions == 1 &&
                  !strcmp(pr.redaction_category, "phone") && pr.redaction_start > 1.0 && pr.redaction_end < 3.6,
              "--redact: the final '%s', %d redactions", wp ? pr.finals[0] : "", wp ? pr.n_redactions : 0);
        free(wp);
        sori_audio_free(&pa);
    }
    /* the 16 kHz clip as Opus packets (20 ms, 24 kb/s), one a message: the
     * finals of the API on the same packets decoded */
    {
        sori_opus_encoder *enc = NULL;
        sori_opus_decoder *dec = NULL;
        CHECK_STATUS(sori_opus_encoder_create(16000, 1, 24000, &enc, &err), SORI_OK);
        CHECK_STATUS(sori_opus_decoder_create(16000, 1, &dec, &err), SORI_OK);
        const int64_t nf = (m16.n_frames + 319) / 320;
        float *padded = calloc((size_t)(nf * 320), sizeof(float)), *decoded = calloc((size_t)(nf * 320), sizeof(float));
        memcpy(padded, m16.samples, (size_t)m16.n_frames * sizeof(float));
        uint8_t (*pk)[1275] = malloc((size_t)nf * sizeof *pk);
        size_t *pn = calloc((size_t)nf, sizeof *pn);
        int64_t nd = 0;
        for (int64_t i = 0; enc && dec && i < nf; i++) {
            sori_opus_encoder_encode(enc, padded + i * 320, 320, pk[i], 1275, &pn[i], &err);
            int got = 0;
            sori_opus_decoder_decode(dec, pk[i], pn[i], decoded + nd, 320, &got, &err);
            nd += got;
        }
        char *refo = reference_finals(m, decoded, nd, 16000);
        memset(&cr, 0, sizeof cr);
        int fd = ws_open(g_port, "/v1/asr", g_token, NULL);
        ws_send_text(fd, "{\"type\":\"start\",\"sample_rate\":16000,\"encoding\":\"opus\"}");
        for (int64_t i = 0; i < nf; i++)
            ws_send_frame(fd, WS_BINARY, pk[i], pn[i], 0);
        ws_send_text(fd, "{\"type\":\"stop\"}");
        read_events(fd, &cr, 60);
        close(fd);
        printf("16 kHz Opus call (%lld packets): %d finals\n  server: %s\n  API:    %s\n", (long long)nf, cr.n_finals,
               cr.finals[0], refo ? refo : "");
        CHECK(refo && refo[0] && !strcmp(cr.finals[0], refo) && cr.closed, "Opus call: the finals differ from the API's");
        free(refo);
        free(padded), free(decoded), free(pk), free(pn);
        sori_opus_encoder_free(enc);
        sori_opus_decoder_free(dec);
    }
    /* the 8 kHz μ-law call recording, its channels labelled */
    char start8[256];
    snprintf(start8, sizeof start8,
             "{\"type\":\"start\",\"sample_rate\":8000,\"encoding\":\"mulaw\",\"channels\":%d,\"partials\":false}", ch8);
    run_call(start8, w8, n8, (size_t)(160 * ch8), 1, &cr);
    printf("8 kHz mu-law call, %d channel(s): %d finals, %d partials\n", ch8, cr.n_finals, cr.n_partials);
    for (int c = 0; c < ch8 && c < 2; c++) {
        printf("  channel %d: server: %s\n             API:    %s\n", c, cr.finals[c], ref8[c]);
        CHECK(ref8[c] && !strcmp(cr.finals[c], ref8[c]), "8 kHz call: channel %d's finals differ from the API's", c);
    }
    CHECK(cr.n_partials == 0, "partials were not asked for, %d came", cr.n_partials);

    /* Asterisk AudioSocket: a UUID, the 8 kHz call as signed linear in 20 ms
     * messages, a DTMF digit, hangup; the events in DIR/UUID.jsonl */
    if (ch8 == 1) {
        int16_t *slin = malloc((size_t)a8.n_frames * sizeof(int16_t));
        for (int64_t i = 0; i < a8.n_frames; i++)
            slin[i] = sori_g711_ulaw_decode(w8[i]);
        for (int hang = 1; hang >= 0; hang--) {
            unsigned char uuid[16];
            for (int i = 0; i < 16; i++)
                uuid[i] = (unsigned char)(i * 17 + hang);
            int fd = ws_tcp(g_as_port);
            CHECK(fd >= 0, "AudioSocket: connect");
            as_send(fd, 0x01, uuid, 16);
            for (int64_t pos = 0; pos < a8.n_frames; pos += 160) {
                int64_t k = pos + 160 <= a8.n_frames ? 160 : a8.n_frames - pos;
                as_send(fd, 0x10, slin + pos, (size_t)k * 2);
                if (pos == 8000)
                    as_send(fd, 0x03, "5", 1);
                if (pos == 24000)
                    usleep(400000); /* 3 s in: decoded before the rest comes, so a partial is sent */
            }
            if (hang)
                as_send(fd, 0x00, NULL, 0);
            else
                usleep(100000);
            char buf[64];
            if (hang) /* the server closes after the summary */
                ws_read_all(fd, buf, 1, 30000);
            close(fd);
            char path[256];
            snprintf(path, sizeof path, "%s/%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x.jsonl",
                     dir, uuid[0], uuid[1], uuid[2], uuid[3], uuid[4], uuid[5], uuid[6], uuid[7], uuid[8], uuid[9],
                     uuid[10], uuid[11], uuid[12], uuid[13], uuid[14], uuid[15]);
            int n_dtmf = 0;
            char *got = sink_finals(path, &n_dtmf, -1);
            printf("AudioSocket call (%s): %s, %d DTMF\n  sink:  %s\n  API:   %s\n", hang ? "hangup" : "socket closed",
                   got ? "summary written" : "no summary", n_dtmf, got ? got : "", ref8[0]);
            CHECK(got && !strcmp(got, ref8[0]) && n_dtmf == 1, "AudioSocket (%s): the sink's finals differ, or no DTMF",
                  hang ? "hangup" : "closed");
            CHECK(g_sink_partials > 0, "AudioSocket (%s): no partial in the sink (--sink-partials)", hang ? "hangup" : "closed");
            free(got);
            int n_ev = 0, bad = 0;
            char uuid_s[40];
            snprintf(uuid_s, sizeof uuid_s, "%.36s", path + strlen(dir) + 1);
            got = posted_finals(&rx, uuid_s, "audiosocket", &n_ev, &bad);
            printf("  POSTs: %d events, %s\n", n_ev, got ? got : "(no summary)");
            CHECK(got && !strcmp(got, ref8[0]) && !bad, "AudioSocket (%s): the POSTed finals differ (%d bad events)",
                  hang ? "hangup" : "closed", bad);
            free(got);
        }
        free(slin);
    }

    /* a Twilio-style media stream: connected, start, base64 μ-law media in 20 ms, stop */
    if (ch8 == 1) {
        int fd = ws_open(g_port, "/v1/twilio", g_token, NULL);
        CHECK(fd >= 0, "Twilio: connect");
        ws_send_text(fd, "{\"event\":\"connected\",\"protocol\":\"Call\",\"version\":\"1.0.0\"}");
        ws_send_text(fd, "{\"event\":\"start\",\"sequenceNumber\":\"1\",\"start\":{\"streamSid\":\"MZ0123abc\","
                         "\"accountSid\":\"AC1\",\"callSid\":\"CA1\",\"tracks\":[\"inbound\"],\"mediaFormat\":"
                         "{\"encoding\":\"audio/x-mulaw\",\"sampleRate\":8000,\"channels\":1}},\"streamSid\":\"MZ0123abc\"}");
        char msg[1024], pl[400];
        for (size_t pos = 0, k = 0; pos < n8; pos += 160, k++) {
            b64(w8 + pos, pos + 160 <= n8 ? 160 : n8 - pos, pl);
            snprintf(msg, sizeof msg,
                     "{\"event\":\"media\",\"sequenceNumber\":\"%zu\",\"media\":{\"track\":\"inbound\",\"chunk\":\"%zu\","
                     "\"timestamp\":\"%zu\",\"payload\":\"%s\"},\"streamSid\":\"MZ0123abc\"}",
                     k + 2, k + 1, k * 20, pl);
            ws_send_text(fd, msg);
        }
        ws_send_text(fd, "{\"event\":\"stop\",\"sequenceNumber\":\"999\",\"streamSid\":\"MZ0123abc\"}");
        char buf[256];
        int op = 0;
        for (int i = 0; i < 30 && op != WS_CLOSE && op != -1; i++)
            op = ws_recv(fd, buf, sizeof buf, 1000);
        close(fd);
        char path[256];
        snprintf(path, sizeof path, "%s/MZ0123abc.jsonl", dir);
        int n_dtmf = 0;
        char *got = sink_finals(path, &n_dtmf, -1);
        printf("Twilio media stream: %s\n  sink:  %s\n  API:   %s\n", got ? "summary written" : "no summary",
               got ? got : "", ref8[0]);
        CHECK(op == WS_CLOSE || op == -1, "Twilio: the server did not close the stream after its summary");
        CHECK(got && !strcmp(got, ref8[0]), "Twilio: the sink's finals differ from the API's");
        free(got);
        int n_ev = 0, bad = 0;
        got = posted_finals(&rx, "MZ0123abc", "twilio", &n_ev, &bad);
        printf("  POSTs: %d events, %s\n", n_ev, got ? got : "(no summary)");
        CHECK(got && !strcmp(got, ref8[0]) && !bad, "Twilio: the POSTed finals differ (%d bad events)", bad);
        free(got);
        pthread_mutex_lock(&rx.mu);
        printf("HTTP sink: %d POSTs taken after %d refused (503), %d without the header\n", rx.n_posts, rx.n_refused,
               rx.n_bad);
        CHECK(rx.n_refused == 2 && rx.n_bad == 0, "HTTP sink: %d refused, %d without the header", rx.n_refused,
              rx.n_bad);
        pthread_mutex_unlock(&rx.mu);
        CHECK(http_get(g_port, "/metrics", g_token, body, sizeof body) == 200 &&
                  strstr(body, "sori_sink_retries_total 2\n") && strstr(body, "{result=\"dropped\"} 0\n") &&
                  strstr(body, "sori_sink_queued_events 0\n"),
              "HTTP sink metrics:\n%s", strstr(body, "sori_sink") ? strstr(body, "sori_sink") : body);
        CHECK(ws_open(g_port, "/v1/twilio", NULL, &st) < 0, "Twilio without the token is refused");
    }

    /* a media stream of both tracks: a stereo call, the inbound track channel 0 (the 8 kHz call),
     * the outbound channel 1 (the 16 kHz clip at 8 kHz, shorter: silence fills it once it ends);
     * the outbound packets' timestamps start at 1 s (the platform sent nothing before): the server
     * places them there, so channel 1's words start after 1 s */
    if (ch8 == 1) {
        sori_audio o8 = {0};
        CHECK_STATUS(sori_audio_resample(&m16, 8000, &o8, &err), SORI_OK);
        size_t no = 0;
        unsigned char *wo = encode(&o8, 1, &no);
        float *xo = calloc(no + 8000, sizeof(float)); /* 1 s of silence, then the clip */
        for (size_t i = 0; i < no; i++)
            xo[8000 + i] = (float)sori_g711_ulaw_decode(wo[i]) / 32768.0f;
        char *ref_out = reference_finals(m, xo, (int64_t)no + 8000, 8000);
        int fd = ws_open(g_port, "/v1/twilio", g_token, NULL);
        CHECK(fd >= 0, "Twilio, two tracks: connect");
        ws_send_text(fd, "{\"event\":\"start\",\"start\":{\"streamSid\":\"MZstereo1\",\"tracks\":[\"inbound\","
                         "\"outbound\"],\"mediaFormat\":{\"encoding\":\"audio/x-mulaw\",\"sampleRate\":8000,"
                         "\"channels\":1}},\"streamSid\":\"MZstereo1\"}");
        char msg[1024], pl[400];
        /* in time order: at each 20 ms the inbound packet, and from 1 s on the outbound one */
        for (size_t at = 0; at < n8 || at < no + 8000; at += 160) {
            for (int t = 0; t < 2; t++) {
                const unsigned char *w = t ? wo : w8;
                size_t n = t ? no : n8, pos = t ? at - 8000 : at;
                if ((t && at < 8000) || pos >= n)
                    continue;
                b64(w + pos, pos + 160 <= n ? 160 : n - pos, pl);
                snprintf(msg, sizeof msg, "{\"event\":\"media\",\"media\":{\"track\":\"%s\",\"timestamp\":\"%zu\","
                         "\"payload\":\"%s\"},\"streamSid\":\"MZstereo1\"}", t ? "outbound" : "inbound",
                         at / 8, pl);
                ws_send_text(fd, msg);
            }
        }
        ws_send_text(fd, "{\"event\":\"stop\",\"streamSid\":\"MZstereo1\"}");
        char buf[256];
        int op = 0;
        for (int i = 0; i < 30 && op != WS_CLOSE && op != -1; i++)
            op = ws_recv(fd, buf, sizeof buf, 1000);
        close(fd);
        char path[256];
        snprintf(path, sizeof path, "%s/MZstereo1.jsonl", dir);
        int n_dtmf = 0;
        char *in = sink_finals(path, &n_dtmf, 0), *out = sink_finals(path, &n_dtmf, 1);
        printf("Twilio media stream, both tracks:\n  inbound  (channel 0): %s\n  API:                  %s\n"
               "  outbound (channel 1): %s\n  API:                  %s\n",
               in ? in : "(no summary)", ref8[0], out ? out : "(no summary)", ref_out ? ref_out : "");
        CHECK(in && !strcmp(in, ref8[0]), "Twilio, two tracks: the inbound track's finals differ from the API's");
        CHECK(out && ref_out && !strcmp(out, ref_out), "Twilio, two tracks: the outbound track's finals differ");
        /* where channel 1's first word starts: after the 1 s its timestamps said */
        double first_start = -1;
        FILE *sf = fopen(path, "r");
        char line[1 << 15];
        while (sf && fgets(line, sizeof line, sf)) {
            cJSON *o = cJSON_Parse(line);
            const cJSON *t = cJSON_GetObjectItem(o, "type"), *ch = cJSON_GetObjectItem(o, "channel");
            const cJSON *st0 = cJSON_GetObjectItem(o, "start");
            if (first_start < 0 && cJSON_IsString(t) && !strcmp(t->valuestring, "final") && cJSON_IsNumber(ch) &&
                ch->valueint == 1 && cJSON_IsNumber(st0))
                first_start = st0->valuedouble;
            cJSON_Delete(o);
        }
        if (sf)
            fclose(sf);
        /* the API on the same timeline (1 s of silence, then the clip) */
        sori_asr_result *ro = NULL;
        double want_start = -1;
        if (sori_asr_transcribe(m, xo, (int64_t)no + 8000, 8000, &ro, &err) == SORI_OK && ro->n_words)
            want_start = ro->words[0].start_s;
        sori_asr_result_free(ro);
        printf("  outbound's first word at %.2f s (its packets from 1 s on); the API on that timeline: %.2f s\n",
               first_start, want_start);
        CHECK(want_start > 1.0 && fabs(first_start - want_start) <= 0.1,
              "Twilio, two tracks: the outbound words start at %.2f s, not at %.2f s", first_start, want_start);
        free(in);
        free(out);
        free(ref_out);
        free(xo);
        free(wo);
        sori_audio_free(&o8);
    }

    /* faults */
    const char *start_ok = "{\"type\":\"start\",\"model\":\"ko\"}";
    expect_error("no token", NULL, start_ok, strlen(start_ok), 0, "unauthorized");
    const char *start_tok = "{\"type\":\"start\",\"model\":\"ko\",\"token\":\"s3cret-token\"}";
    {
        /* the token in the start message (browsers) is enough */
        call_result c2;
        memset(&c2, 0, sizeof c2);
        int fd = ws_open(g_port, "/v1/asr", NULL, NULL);
        ws_send_text(fd, start_tok);
        ws_send_frame(fd, WS_BINARY, w16, 32000, 0);
        ws_send_text(fd, "{\"type\":\"stop\"}");
        read_events(fd, &c2, 30);
        close(fd);
        CHECK(c2.ready && c2.closed && c2.n_errors == 0, "a token in start: ready %d, closed %d, %d errors", c2.ready,
              c2.closed, c2.n_errors);
    }
    expect_error("bad JSON", g_token, "{\"type\":\"start\",", 17, 0, "bad_message");
    expect_error("unknown model", g_token, "{\"type\":\"start\",\"model\":\"xx\"}", 30, 0, "unknown_model");
    expect_error("bad sample rate", g_token, "{\"type\":\"start\",\"sample_rate\":3}", 33, 0, "bad_message");
    expect_error("unknown encoding", g_token, "{\"type\":\"start\",\"encoding\":\"mp3\"}", 34, 0, "bad_message");
    expect_error("Opus at 44.1 kHz", g_token, "{\"type\":\"start\",\"encoding\":\"opus\",\"sample_rate\":44100}", 55, 0,
                 "bad_message");
    expect_error("audio before start", g_token, (const char *)w16, 640, 1, "bad_message");
    expect_error("stop before start", g_token, "{\"type\":\"stop\"}", 15, 0, "bad_message");
    {
        const char *long_lang = "{\"type\":\"start\",\"language\":\"a-language-code-far-too-long\"}";
        expect_error("a language code of 28 bytes", g_token, long_lang, strlen(long_lang), 0, "bad_message");
    }
    {
        /* "say" (speech back to the caller) is designed but not served: an error, and the call goes on */
        call_result c5;
        memset(&c5, 0, sizeof c5);
        int fd = ws_open(g_port, "/v1/asr", g_token, NULL);
        ws_send_text(fd, "{\"type\":\"start\",\"model\":\"ko\",\"sample_rate\":16000,\"language\":\"ko\"}");
        size_t half = n16 / 2 & ~(size_t)1;
        ws_send_frame(fd, WS_BINARY, w16, half, 0);
        ws_send_text(fd, "{\"type\":\"say\",\"id\":\"r1\",\"text\":\"네, 확인해 드리겠습니다\"}");
        ws_send_frame(fd, WS_BINARY, w16 + half, n16 - half, 0);
        ws_send_text(fd, "{\"type\":\"stop\"}");
        read_events(fd, &c5, 30);
        close(fd);
        printf("fault: %-34s -> error %s, then finals '%s'\n", "say during a call", c5.error_code, c5.finals[0]);
        CHECK(c5.n_errors == 1 && !strcmp(c5.error_code, "unsupported") && c5.closed && !strcmp(c5.finals[0], ref16),
              "say: %d errors ('%s'), closed %d, finals '%s'", c5.n_errors, c5.error_code, c5.closed, c5.finals[0]);
    }
    {
        size_t big = (1u << 20) + 100;
        unsigned char *junk = calloc(1, big);
        call_result c3;
        memset(&c3, 0, sizeof c3);
        int fd = ws_open(g_port, "/v1/asr", g_token, NULL);
        ws_send_text(fd, start_ok);
        ws_send_frame(fd, WS_BINARY, junk, big, 0);
        read_events(fd, &c3, 10);
        close(fd);
        free(junk);
        CHECK(!strcmp(c3.error_code, "too_large") || c3.closed_socket, "an oversized frame: error '%s', closed %d",
              c3.error_code, c3.closed_socket);
        printf("fault: %-34s -> error %s%s\n", "a 1 MiB + 100 B audio frame", c3.error_code,
               c3.closed_socket ? ", closed" : "");
    }
    /* hostile clients while a good call runs: one that sends half an HTTP request and nothing more
     * (slowloris: checked at the end, after the 10 s the server gives a request's headers), one
     * that sends bytes that are not HTTP, one that cuts a WebSocket frame short and leaves, and
     * one that floods 4 calls' worth of audio (18 s, over the 10 s a call may queue) without ever
     * reading its results */
    int slowloris = ws_tcp(g_port);
    ws_write_all(slowloris, "GET /v1/asr HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: webs", 52);
    const double slowloris_at = now_s();
    {
        int junk = ws_tcp(g_port);
        unsigned char noise[4096];
        for (size_t i = 0; i < sizeof noise; i++)
            noise[i] = (unsigned char)(i * 7919u >> 3 ^ i);
        ws_write_all(junk, noise, sizeof noise);
        int trunc = ws_open(g_port, "/v1/asr", g_token, NULL);
        ws_send_text(trunc, start_ok);
        unsigned char hdr[8] = {0x82, 0x80 | 126, 0x27, 0x10, 1, 2, 3, 4}; /* binary, masked, 10000 bytes */
        ws_write_all(trunc, hdr, sizeof hdr);
        ws_write_all(trunc, w16, 100); /* then 100 of them, and gone */
        close(trunc);
        flood_arg fa = {ws_open(g_port, "/v1/asr", g_token, NULL), w16, n16, 4};
        pthread_t ft;
        pthread_create(&ft, NULL, flood_main, &fa);
        run_call("{\"type\":\"start\",\"model\":\"ko\",\"sample_rate\":16000}", w16, n16, 640, 1, &cr);
        CHECK(!strcmp(cr.finals[0], ref16), "a call beside hostile clients: finals '%s'", cr.finals[0]);
        pthread_join(ft, NULL);
        call_result cf;
        memset(&cf, 0, sizeof cf);
        read_events(fa.fd, &cf, 60); /* now it reads: everything was kept for it */
        close(fa.fd);
        int junk_closed = closed_by_server(junk, 10);
        close(junk);
        CHECK(junk_closed, "a connection sending non-HTTP bytes was not closed");
        CHECK(cf.closed && cf.n_errors == 0 && cf.n_finals >= 1, "the flood: closed %d, %d errors, %d finals",
              cf.closed, cf.n_errors, cf.n_finals);
        CHECK(http_get(g_port, "/metrics", g_token, body, sizeof body) == 200 &&
                  !strstr(body, "\nsori_flow_pauses_total 0\n"),
              "the flood never paused reading (sori_flow_pauses_total 0)");
        printf("fault: %-34s -> closed\nfault: %-34s -> nothing broke\n"
               "fault: %-34s -> reading paused, %d finals, %.1f s of audio, closed\n"
               "  a call beside them: %s\n", "4 KB of bytes that are not HTTP", "a WebSocket frame cut short",
               "a flood of 4 calls, results unread", cf.n_finals, cf.audio_s, cr.finals[0]);
    }
    /* a client that vanishes mid-utterance */
    {
        int fd = ws_open(g_port, "/v1/asr", g_token, NULL);
        ws_send_text(fd, start_ok);
        ws_send_frame(fd, WS_BINARY, w16, n16 / 2 & ~(size_t)1, 0);
        close(fd);
    }
    /* a full server: 4 streams at most */
    CHECK(wait_idle(), "the calls that went away were not let go");
    {
        int fds[5];
        call_result c4;
        for (int i = 0; i < 4; i++) {
            fds[i] = ws_open(g_port, "/v1/asr", g_token, NULL);
            ws_send_text(fds[i], start_ok);
            memset(&c4, 0, sizeof c4);
            char buf[4096];
            ws_recv(fds[i], buf, sizeof buf, 5000); /* ready */
        }
        usleep(200000);
        expect_error("a fifth stream on a 4-stream server", g_token, start_ok, strlen(start_ok), 0, "busy");
        for (int i = 0; i < 4; i++)
            close(fds[i]);
    }
    /* an idle connection is closed after --idle-timeout (3 s) */
    {
        int fd = ws_open(g_port, "/v1/asr", g_token, NULL);
        double t0 = now_s();
        char buf[256];
        int op = 0;
        while (op != WS_CLOSE && op != -1 && now_s() - t0 < 10)
            op = ws_recv(fd, buf, sizeof buf, 10000);
        double dt = now_s() - t0;
        close(fd);
        printf("fault: %-34s -> closed after %.1f s\n", "a connection that sends nothing", dt);
        CHECK(dt >= 2.5 && dt < 8.0, "an idle connection was closed after %.1f s (timeout 3 s)", dt);
    }
    /* the slowloris connection: closed once its headers were overdue */
    {
        double left = 12 - (now_s() - slowloris_at);
        int gone = closed_by_server(slowloris, left > 1 ? left : 1);
        printf("fault: %-34s -> %s after %.1f s\n", "half an HTTP request, then nothing", gone ? "closed" : "open",
               now_s() - slowloris_at);
        CHECK(gone, "a connection that never finished its request was not closed");
        close(slowloris);
    }
    /* calls after the faults: the same finals; memory at its level */
    usleep(300000);
    long rss0 = 0;
    for (int i = 0; i < 24; i++) {
        run_call("{\"type\":\"start\",\"model\":\"ko\",\"sample_rate\":16000}", w16, n16, 640, 1, &cr);
        if (i == 3)
            rss0 = rss_kb(pid);
        if (strcmp(cr.finals[0], ref16)) {
            CHECK(0, "call %d after the faults: the finals differ", i);
            break;
        }
    }
    long rss1 = rss_kb(pid);
    CHECK(wait_idle(), "the calls were not let go");
    printf("memory: server RSS %ld kB after 4 calls, %ld kB after 24\n", rss0, rss1);
#if defined(__SANITIZE_ADDRESS__)
    /* AddressSanitizer holds freed memory in quarantine: RSS grows by design; its leak check is the test here */
    CHECK(rss0 > 0 && rss1 > 0, "server memory: %ld, %ld kB", rss0, rss1);
#else
    CHECK(rss0 > 0 && rss1 <= rss0 + 4096, "server memory grew from %ld to %ld kB over 20 calls", rss0, rss1);
#endif
    CHECK(http_get(g_port, "/metrics", g_token, body, sizeof body) == 200 && strstr(body, "sori_finals_total") &&
              strstr(body, "sori_errors_total{kind=\"busy\"} 1") && strstr(body, "sori_active_streams 0") &&
              strstr(body, "\nsori_queue_delay_seconds_count ") && !strstr(body, "\nsori_queue_delay_seconds_count 0\n"),
          "/metrics:\n%s", body);
    /* SIGTERM during calls (three at once, their audio sent, no stop): each its finals and a
     * draining summary, then exit 0 */
    {
        enum { NT = 3 };
        int fds[NT];
        for (int i = 0; i < NT; i++) {
            fds[i] = ws_open(g_port, "/v1/asr", g_token, NULL);
            ws_send_text(fds[i], "{\"type\":\"start\",\"model\":\"ko\",\"sample_rate\":16000}");
            ws_send_frame(fds[i], WS_BINARY, w16, n16, 0);
        }
        usleep(300000);
        kill(pid, SIGTERM);
        for (int i = 0; i < NT; i++) {
            memset(&cr, 0, sizeof cr);
            read_events(fds[i], &cr, 30);
            close(fds[i]);
            printf("SIGTERM during calls, call %d: %d finals, summary '%s'\n  server: %s\n", i, cr.n_finals,
                   cr.closed_reason, cr.finals[0]);
            CHECK(cr.closed && !strcmp(cr.closed_reason, "server draining") && !strcmp(cr.finals[0], ref16),
                  "SIGTERM, call %d: closed %d ('%s'), finals '%s'", i, cr.closed, cr.closed_reason, cr.finals[0]);
        }
        int status = 0;
        double t0 = now_s();
        pid_t w = 0;
        while ((w = waitpid(pid, &status, WNOHANG)) == 0 && now_s() - t0 < 30)
            usleep(100000);
        if (w == 0) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
        }
        CHECK(w == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0, "the server did not exit 0 after SIGTERM");
    }
    http_rx_stop(&rx);
    free(ref16);
    free(ref8[0]);
    free(ref8[1]);
    free(w16);
    free(w8);
    sori_audio_free(&a16);
    sori_audio_free(&a8);
    sori_audio_free(&m16);
    sori_asr_model_free(m);
    sori_runtime_free(rt);
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return check_finish("test_serve");
}
