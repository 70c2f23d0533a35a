/* Load on `sori serve`: N concurrent simulated calls over loopback, each
 * streaming a clip at real-time pace in 20 ms frames (even calls 16 kHz
 * PCM16, odd calls 8 kHz μ-law of the same clip resampled), then 2 s of
 * silence and stop. Reported per N: finals received against the finals the
 * streaming API gives in-process for the same samples (lost finals, texts
 * that differ), final latency on the client's clock (from sending the frame
 * where the endpoint could fire — the utterance's end + the endpoint rule's
 * silence — or from sending stop, to receiving the final) p50/p95/p99, the
 * server's own latency histograms, its CPU use and peak RSS, and the real-
 * time factor it reports.
 *
 *   bench_serve --sori build/bin/sori --model data/ko-fastconformer-ctc.gguf \
 *               --lm data/ko-tokens-4gram.gguf --calls 10,50,100 DIR_OR_FILES...
 *
 * Against sherpa-onnx's WebSocket server on the same weights (bench/sherpa_stream_export.py
 * makes its model; greedy CTC, so sori runs with --lm none too; every call 16 kHz on both):
 *
 *   bench_serve --lm none --sherpa PATH/sherpa-onnx-online-websocket-server \
 *               --sherpa-model DIR [--sherpa-threads 2] --calls 50,100 DIR_OR_FILES...
 *
 * Each N runs sori, then sherpa-onnx, on the same clips and pace; final latency is timed from
 * the same moment for both (the in-process final's last word + 1.2 s, the rule both use).
 *
 * The server is started by the benchmark (its default threads, or --threads N; --max-streams
 * big enough) and stopped between the rounds. */
#define _GNU_SOURCE
#include <cjson/cJSON.h>
#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "../tests/ws_client.h"
#include "sori/asr.h"
#include "sori/audio.h"

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

typedef struct {
    char *path;
    unsigned char *wire[2]; /* [0] PCM16 16 kHz, [1] μ-law 8 kHz (+ 2 s of silence each) */
    size_t n_wire[2];
    float *f32;             /* the 16 kHz samples as float32 (sherpa-onnx's wire format) */
    char *ref[2];           /* the in-process finals, "a|b|" */
    int n_ref[2];
    double ref_end[2][64];  /* each in-process final's end (its last word), seconds */
} clip;

typedef struct {
    int port, index;
    const clip *c;
    int mulaw;
    int sherpa;             /* sherpa-onnx's protocol: float32 frames, "Done", JSON results */
    double start_at;
    /* results */
    char finals[8192];
    int n_finals, errors, closed;
    double lat[64];
    int n_lat;
    double plat[512];       /* partials: from sending the latest frame to the partial */
    int n_plat;
} call;

static int g_port;
static const double RULE2_S = 1.2; /* the default endpoint's trailing silence */

static char *reference(sori_asr_model *m, const float *x, int64_t n, int rate, int *n_finals, double *ends)
{
    sori_asr_stream_params sp = sori_asr_stream_default_params();
    sori_asr_stream *s = NULL;
    sori_error err = {0};
    if (sori_asr_stream_create(m, &sp, &s, &err) != SORI_OK)
        return NULL;
    char *all = calloc(1, 1 << 15);
    *n_finals = 0;
    sori_status st = SORI_OK;
    for (int64_t pos = 0, done = 0; st == SORI_OK && !done; pos += rate / 50) {
        done = pos >= n;
        st = done ? sori_asr_stream_input_finished(s, &err)
                  : sori_asr_stream_accept(s, x + pos, pos + rate / 50 <= n ? rate / 50 : n - pos, rate, &err);
        while (st == SORI_OK && sori_asr_stream_is_ready(s))
            st = sori_asr_decode_ready(m, &s, 1, &err);
        sori_asr_result *r = NULL;
        while (st == SORI_OK && sori_asr_stream_pop_final(s, &r, &err) == SORI_OK && r) {
            strcat(all, r->text);
            strcat(all, "|");
            if (*n_finals < 64)
                ends[*n_finals] = r->n_words ? r->words[r->n_words - 1].end_s : 0;
            (*n_finals)++;
            sori_asr_result_free(r);
        }
    }
    sori_asr_result *r = NULL;
    if (st == SORI_OK && sori_asr_stream_result(s, &r, &err) == SORI_OK && r->text[0]) {
        strcat(all, r->text);
        strcat(all, "|");
        if (*n_finals < 64)
            ends[*n_finals] = 1e9; /* the end of input's final: timed from stop */
        (*n_finals)++;
    }
    sori_asr_result_free(r);
    sori_asr_stream_free(s);
    return all;
}

static void *run_call(void *arg)
{
    call *k = arg;
    const unsigned char *w = k->sherpa ? (const unsigned char *)k->c->f32 : k->c->wire[k->mulaw];
    const size_t n = k->sherpa ? k->c->n_wire[0] * 2 : k->c->n_wire[k->mulaw];
    const size_t frame = k->sherpa ? 1280 : k->mulaw ? 160 : 640;
    const int rate = k->mulaw ? 8000 : 16000, bps = k->sherpa ? 4 : k->mulaw ? 1 : 2;
    while (now_s() < k->start_at)
        usleep(1000);
    int fd = ws_open(k->port, k->sherpa ? "/" : "/v1/asr", NULL, NULL);
    if (fd < 0) {
        k->errors++;
        return NULL;
    }
    char start[160];
    snprintf(start, sizeof start, "{\"type\":\"start\",\"sample_rate\":%d,\"encoding\":\"%s\",\"partials\":true}", rate,
             k->mulaw ? "mulaw" : "pcm16");
    if (!k->sherpa)
        ws_send_text(fd, start);
    const double t0 = now_s();
    size_t pos = 0;
    double stop_sent = 0, last_sent = 0;
    static __thread char buf[1 << 16];
    while (!k->closed) {
        double due = pos < n ? t0 + (double)(pos / frame) * 0.020 : now_s() + 1.0;
        if (pos < n && now_s() >= due) {
            last_sent = now_s();
            ws_send_frame(fd, WS_BINARY, w + pos, pos + frame <= n ? frame : n - pos, 0);
            pos += frame;
            if (pos >= n) {
                ws_send_text(fd, k->sherpa ? "Done" : "{\"type\":\"stop\"}");
                stop_sent = now_s();
            }
            continue;
        }
        struct pollfd pf = {fd, POLLIN, 0};
        /* rounded up: a timeout cut to 0 ms would spin until the frame is due, and a hundred
         * spinning clients take the cores the server is being measured on */
        int wait_ms = (int)ceil((due - now_s()) * 1000);
        if (poll(&pf, 1, wait_ms > 0 ? wait_ms : 0) <= 0) {
            if (stop_sent > 0 && now_s() - stop_sent > 30)
                break;
            continue;
        }
        int op = ws_recv(fd, buf, sizeof buf, 5000);
        double at = now_s();
        if (op < 0 || op == WS_CLOSE)
            break;
        if (op != WS_TEXT)
            continue;
        if (k->sherpa && !strcmp(buf, "Done!")) { /* sherpa-onnx's end of a call */
            k->closed = 1;
            continue;
        }
        cJSON *o = cJSON_Parse(buf);
        const cJSON *t = cJSON_GetObjectItem(o, "type");
        const cJSON *sh_final = k->sherpa ? cJSON_GetObjectItem(o, "is_final") : NULL;
        const cJSON *sh_text = cJSON_GetObjectItem(o, "text");
        const bool final = k->sherpa ? cJSON_IsTrue(sh_final) && cJSON_IsString(sh_text) && sh_text->valuestring[0]
                                     : cJSON_IsString(t) && !strcmp(t->valuestring, "final");
        if (final) {
            strncat(k->finals, sh_text->valuestring, sizeof k->finals - strlen(k->finals) - 2);
            strcat(k->finals, "|");
            /* the same moment for both servers: where the in-process final's utterance ends */
            const int j = k->n_finals++;
            const cJSON *e = cJSON_GetObjectItem(o, "end");
            double end = j < k->c->n_ref[k->mulaw] && j < 64 ? k->c->ref_end[k->mulaw][j] : cJSON_IsNumber(e) ? e->valuedouble : 1e9;
            /* when the endpoint could fire: the utterance's end + the rule's silence, as sent */
            double audio_s = (double)n / bps / rate;
            double fire = end + RULE2_S < audio_s ? t0 + (end + RULE2_S) : stop_sent;
            if (fire > 0 && k->n_lat < 64)
                k->lat[k->n_lat++] = at - fire;
        } else if (!k->sherpa && cJSON_IsString(t) && !strcmp(t->valuestring, "partial")) {
            if (k->n_plat < 512 && last_sent > 0 && stop_sent == 0)
                k->plat[k->n_plat++] = at - last_sent;
        } else if (k->sherpa && cJSON_IsString(sh_text) && sh_text->valuestring[0] && !final && stop_sent == 0) {
            if (k->n_plat < 512 && last_sent > 0) /* sherpa-onnx sends every decoding's text: a partial */
                k->plat[k->n_plat++] = at - last_sent;
        } else if (cJSON_IsString(t) && !strcmp(t->valuestring, "error")) {
            k->errors++;
        } else if (cJSON_IsString(t) && !strcmp(t->valuestring, "closed")) {
            k->closed = 1;
        }
        cJSON_Delete(o);
    }
    close(fd);
    return NULL;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double pct(const double *v, int n, double p)
{
    if (n == 0)
        return NAN;
    int i = (int)ceil(p / 100.0 * n) - 1;
    return v[i < 0 ? 0 : i >= n ? n - 1 : i];
}

/* The server's CPU seconds (user + system) from /proc. */
static double cpu_s(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return NAN;
    char line[2048];
    double r = NAN;
    if (fgets(line, sizeof line, f)) {
        char *p = strrchr(line, ')');
        unsigned long ut = 0, st = 0;
        if (p && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) == 2)
            r = (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
    }
    fclose(f);
    return r;
}

static long status_kb(pid_t pid, const char *key)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, key, strlen(key)))
            kb = strtol(line + strlen(key), NULL, 10);
    if (f)
        fclose(f);
    return kb;
}

/* A value of the server's /metrics (the first line starting with name). */
static double metric(const char *body, const char *name)
{
    const char *p = body;
    size_t L = strlen(name);
    while ((p = strstr(p, name))) {
        if ((p == body || p[-1] == '\n') && (p[L] == ' '))
            return strtod(p + L + 1, NULL);
        p += L;
    }
    return NAN;
}

/* The bucket bound under which a histogram has q of its count. */
static double hist_q(const char *body, const char *name, double q)
{
    char key[128];
    snprintf(key, sizeof key, "%s_count", name);
    double count = metric(body, key);
    static const char *les[] = {"0.005", "0.01", "0.025", "0.05", "0.1", "0.2", "0.3", "0.5", "1", "2", "5", "10"};
    for (int i = 0; i < 12 && count > 0; i++) {
        snprintf(key, sizeof key, "%s_bucket{le=\"%s\"}", name, les[i]);
        if (metric(body, key) >= q * count)
            return atof(les[i]);
    }
    return INFINITY;
}

int main(int argc, char **argv)
{
    const char *sori = "build/bin/sori", *model = "data/ko-fastconformer-ctc.gguf", *lm = "data/ko-tokens-4gram.gguf";
    char calls_arg[256] = "10,50,100";
    int threads = 0, decoders = 0; /* 0: the server's default */
    const char *sherpa = NULL, *sherpa_dir = NULL; /* sherpa-onnx-online-websocket-server, its model */
    int sherpa_threads = 2;
    char **inputs = NULL;
    int n_inputs = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--sori") && i + 1 < argc)
            sori = argv[++i];
        else if (!strcmp(argv[i], "--model") && i + 1 < argc)
            model = argv[++i];
        else if (!strcmp(argv[i], "--lm") && i + 1 < argc)
            lm = argv[++i];
        else if (!strcmp(argv[i], "--calls") && i + 1 < argc)
            snprintf(calls_arg, sizeof calls_arg, "%s", argv[++i]);
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--decoders") && i + 1 < argc)
            decoders = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--sherpa") && i + 1 < argc)
            sherpa = argv[++i];
        else if (!strcmp(argv[i], "--sherpa-model") && i + 1 < argc)
            sherpa_dir = argv[++i];
        else if (!strcmp(argv[i], "--sherpa-threads") && i + 1 < argc)
            sherpa_threads = atoi(argv[++i]);
        else {
            inputs = realloc(inputs, (size_t)(n_inputs + 1) * sizeof *inputs);
            inputs[n_inputs++] = argv[i];
        }
    }
    /* clips: files, or every .flac/.wav of a folder */
    clip clips[64];
    int n_clips = 0;
    for (int i = 0; i < n_inputs; i++) {
        struct stat sb;
        if (stat(inputs[i], &sb) == 0 && S_ISDIR(sb.st_mode)) {
            struct dirent **ents;
            int ne = scandir(inputs[i], &ents, NULL, alphasort);
            for (int e = 0; e < ne; e++) {
                const char *nm = ents[e]->d_name, *dot = strrchr(nm, '.');
                if (dot && (!strcmp(dot, ".flac") || !strcmp(dot, ".wav")) && n_clips < 64) {
                    char *p = malloc(strlen(inputs[i]) + strlen(nm) + 2);
                    sprintf(p, "%s/%s", inputs[i], nm);
                    clips[n_clips++].path = p;
                }
                free(ents[e]);
            }
            free(ents);
        } else if (n_clips < 64) {
            clips[n_clips++].path = strdup(inputs[i]);
        }
    }
    if (!n_clips) {
        fprintf(stderr, "bench_serve: no clips (give files or folders)\n");
        return 2;
    }
    if (lm && (!strcmp(lm, "none") || !lm[0]))
        lm = NULL; /* greedy, in the reference and the server (--lm none) */
    if (sherpa && !sherpa_dir) {
        fprintf(stderr, "bench_serve: --sherpa needs --sherpa-model DIR (bench/sherpa_stream_export.py)\n");
        return 2;
    }
    sori_runtime_params rp = sori_runtime_default_params();
    rp.device = SORI_DEVICE_CPU;
    rp.n_threads = 1;
    sori_runtime *rt = NULL;
    sori_error err = {0};
    sori_asr_model *m = NULL;
    sori_asr_model_params mp = sori_asr_model_default_params();
    mp.lm_path = lm && lm[0] ? lm : NULL;
    if (sori_runtime_create(&rp, &rt, &err) != SORI_OK || sori_asr_model_load(rt, model, &mp, &m, &err) != SORI_OK) {
        fprintf(stderr, "bench_serve: %s\n", err.message);
        return 1;
    }
    double total_audio = 0;
    for (int i = 0; i < n_clips; i++) {
        clip *c = &clips[i];
        sori_audio a = {0}, mono = {0}, r16 = {0}, r8 = {0};
        if (sori_audio_read_file(c->path, &a, &err) != SORI_OK ||
            sori_audio_select_channel(&a, SORI_CHANNEL_MIX, &mono, &err) != SORI_OK ||
            sori_audio_resample(&mono, 16000, &r16, &err) != SORI_OK ||
            sori_audio_resample(&mono, 8000, &r8, &err) != SORI_OK) {
            fprintf(stderr, "bench_serve: %s\n", err.message);
            return 1;
        }
        sori_audio *v[2] = {&r16, &r8};
        for (int k = 0; k < 2; k++) {
            int rate = k ? 8000 : 16000;
            int64_t n = v[k]->n_frames + 2 * rate; /* 2 s of silence after it */
            float *x = calloc((size_t)n, sizeof(float));
            c->wire[k] = malloc((size_t)n * 2);
            for (int64_t t = 0; t < n; t++) {
                float f = t < v[k]->n_frames ? v[k]->samples[t] * 32768.0f : 0.0f;
                int16_t s = (int16_t)(f > 32767 ? 32767 : f < -32768 ? -32768 : lrintf(f));
                if (k) {
                    c->wire[k][t] = sori_g711_ulaw_encode(s);
                    x[t] = (float)sori_g711_ulaw_decode(c->wire[k][t]) / 32768.0f;
                } else {
                    c->wire[k][2 * t] = (unsigned char)(s & 0xff);
                    c->wire[k][2 * t + 1] = (unsigned char)((uint16_t)s >> 8);
                    x[t] = (float)s / 32768.0f;
                }
            }
            c->n_wire[k] = (size_t)n * (k ? 1 : 2);
            c->ref[k] = reference(m, x, n, rate, &c->n_ref[k], c->ref_end[k]);
            if (k == 0)
                c->f32 = x, x = NULL; /* sherpa-onnx's frames: the same samples as float32 */
            free(x);
        }
        total_audio += (double)r16.n_frames / 16000 + 2;
        sori_audio_free(&a), sori_audio_free(&mono), sori_audio_free(&r16), sori_audio_free(&r8);
    }
    sori_asr_model_free(m);
    sori_runtime_free(rt);
    printf("bench_serve: %d clips, %.1f s of audio each on average (with 2 s of silence); model %s; server "
           "--threads %d (0: its default)\n",
           n_clips, total_audio / n_clips, model, threads);
    printf("%-7s%6s %8s %8s %6s %6s %8s %8s %8s %9s %9s %7s %8s %8s %6s\n", "server", "calls", "finals", "expected", "lost", "differ",
           "p50 ms", "p95 ms", "p99 ms", "srv p95", "part p95", "errors", "cpu %", "RSS MB", "RTF");
    char *save = NULL;
    for (char *tok = strtok_r(calls_arg, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
    for (int peer = 0; peer < (sherpa ? 2 : 1); peer++) {
        int N = atoi(tok);
        if (N < 1)
            continue;
        g_port = ws_free_port();
        char listen_arg[64], model_arg[1100], th[16], ms[16];
        snprintf(listen_arg, sizeof listen_arg, "127.0.0.1:%d", g_port);
        snprintf(model_arg, sizeof model_arg, "ko=%s", model);
        snprintf(th, sizeof th, "%d", threads);
        snprintf(ms, sizeof ms, "%d", N * 2 + 8);
        pid_t pid = fork();
        if (pid == 0 && peer) {
            /* sherpa-onnx's server on the same model, cores and endpoint rule. It counts a NeMo CTC
             * model's output frames as 40 ms (its timestamps come out at half the real times with
             * this 80 ms model), so its rule lengths are halved here to mean the same 1.2 s of
             * trailing silence (2.4 s without speech) as sori's. */
            int devnull = open("/dev/null", 1);
            dup2(devnull, 1);
            dup2(devnull, 2);
            char port_arg[32], model_f[1100], tokens_f[1100], work[32];
            snprintf(port_arg, sizeof port_arg, "--port=%d", g_port);
            snprintf(model_f, sizeof model_f, "--nemo-ctc-model=%s/model.onnx", sherpa_dir);
            snprintf(tokens_f, sizeof tokens_f, "--tokens=%s/tokens.txt", sherpa_dir);
            snprintf(work, sizeof work, "--num-work-threads=%d", sherpa_threads);
            execl(sherpa, sherpa, port_arg, model_f, tokens_f, work, "--num-threads=1", "--model-type=nemo_ctc",
                  "--rule1-min-trailing-silence=1.2", "--rule2-min-trailing-silence=0.6", "--max-batch-size=32",
                  (char *)NULL);
            _exit(127);
        }
        if (pid == 0) {
            int devnull = open("/dev/null", 1);
            dup2(devnull, 2);
            /* the server's defaults (a decoding thread per core, one thread each) unless told */
            const char *args[16] = {sori, "serve", "--listen", listen_arg, "--model", model_arg, "--max-streams", ms};
            int na = 8;
            char dec[16];
            snprintf(dec, sizeof dec, "%d", decoders);
            if (threads > 0)
                args[na++] = "--threads", args[na++] = th;
            if (decoders > 0)
                args[na++] = "--decoders", args[na++] = dec;
            if (!lm || !lm[0])
                args[na++] = "--lm", args[na++] = "none";
            args[na] = NULL;
            execv(sori, (char *const *)args);
            _exit(127);
        }
        char body[1 << 16];
        int up = 0;
        for (int i = 0; i < 300 && !up; i++) {
            if (peer) { /* sherpa-onnx has no health endpoint: it is up when a WebSocket opens */
                int fd = ws_open(g_port, "/", NULL, NULL);
                up = fd >= 0;
                if (up)
                    close(fd);
            } else {
                up = http_get(g_port, "/healthz", NULL, body, sizeof body) == 200;
            }
            if (!up)
                usleep(100000);
        }
        body[0] = '\0';
        if (!up) {
            fprintf(stderr, "bench_serve: the server did not start\n");
            kill(pid, SIGKILL);
            return 1;
        }
        call *calls = calloc((size_t)N, sizeof *calls);
        pthread_t *th_ids = calloc((size_t)N, sizeof *th_ids);
        double t_start = now_s() + 0.5, cpu0 = cpu_s(pid);
        for (int i = 0; i < N; i++) {
            calls[i].port = g_port;
            calls[i].index = i;
            calls[i].c = &clips[i % n_clips];
            calls[i].mulaw = sherpa ? 0 : i % 2; /* against sherpa-onnx: 16 kHz for both */
            calls[i].sherpa = peer;
            calls[i].start_at = t_start + (double)i / N; /* staggered over 1 s */
            pthread_attr_t at;
            pthread_attr_init(&at);
            pthread_attr_setstacksize(&at, 256 << 10);
            pthread_create(&th_ids[i], &at, run_call, &calls[i]);
            pthread_attr_destroy(&at);
        }
        for (int i = 0; i < N; i++)
            pthread_join(th_ids[i], NULL);
        double wall = now_s() - t_start, cpu1 = cpu_s(pid);
        if (!peer)
            http_get(g_port, "/metrics", NULL, body, sizeof body);
        long hwm = status_kb(pid, "VmHWM:");
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
        int finals = 0, expected = 0, lost = 0, differ = 0, errors = 0, nl = 0;
        double *lat = calloc((size_t)N * 64, sizeof(double)), *plat = calloc((size_t)N * 512, sizeof(double));
        int npl = 0;
        for (int i = 0; i < N; i++) {
            const call *k = &calls[i];
            finals += k->n_finals;
            expected += k->c->n_ref[k->mulaw];
            lost += k->n_finals < k->c->n_ref[k->mulaw] ? k->c->n_ref[k->mulaw] - k->n_finals : 0;
            differ += strcmp(k->finals, k->c->ref[k->mulaw]) != 0;
            errors += k->errors + !k->closed;
            for (int j = 0; j < k->n_lat; j++)
                lat[nl++] = k->lat[j];
            for (int j = 0; j < k->n_plat; j++)
                plat[npl++] = k->plat[j];
        }
        qsort(lat, (size_t)nl, sizeof *lat, cmp_d);
        qsort(plat, (size_t)npl, sizeof *plat, cmp_d);
        printf("%-7s%6d %8d %8d %6d %6d %8.0f %8.0f %8.0f %8.3f %9.3f %7d %8.0f %8.0f %6.3f\n",
               peer ? "sherpa" : "sori", N, finals, expected, lost,
               differ, 1000 * pct(lat, nl, 50), 1000 * pct(lat, nl, 95), 1000 * pct(lat, nl, 99),
               hist_q(body, "sori_final_latency_seconds", 0.95), hist_q(body, "sori_partial_latency_seconds", 0.95),
               errors, 100.0 * (cpu1 - cpu0) / wall, hwm / 1024.0, metric(body, "sori_real_time_factor"));
        printf("       partials: %d, latency from the latest frame sent p50 / p95 / p99: %.0f / %.0f / %.0f ms\n", npl,
               1000 * pct(plat, npl, 50), 1000 * pct(plat, npl, 95), 1000 * pct(plat, npl, 99));
        if (!peer)
            printf("       server phases: accept %.1f s, decode %.1f s, collect %.1f s of %.1f s wall; mean batch %.1f streams\n",
               metric(body, "sori_phase_seconds_total{phase=\"accept\"}"),
               metric(body, "sori_phase_seconds_total{phase=\"decode\"}"),
               metric(body, "sori_phase_seconds_total{phase=\"collect\"}"), wall,
               metric(body, "sori_batched_streams_total") / metric(body, "sori_batches_total"));
        fflush(stdout);
        free(lat);
        free(plat);
        free(calls);
        free(th_ids);
    }
    return 0;
}
