/* Scale-out: two `sori serve` instances behind HAProxy on loopback (a
 * WebSocket load balancer with /healthz checks, as deploy/ describes).
 * Calls through the proxy reach both instances and get the finals the
 * streaming API gives in-process; one instance is killed, and the next
 * calls all go to the other and still get their finals.
 * argv[1]: the sori binary. Skips (77) without haproxy or the bundled model. */
#define _GNU_SOURCE
#include <cjson/cJSON.h>
#include <math.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#include "check.h"
#include "sori/asr.h"
#include "sori/audio.h"
#include "ws_client.h"

static int wait_up(int port, const char *path)
{
    char body[256];
    for (int i = 0; i < 300; i++) {
        if (http_get(port, path, NULL, body, sizeof body) == 200)
            return 1;
        usleep(100000);
    }
    return 0;
}

/* sori_calls_total of an instance, or -1. */
static int calls_of(int port)
{
    static char body[1 << 16];
    if (http_get(port, "/metrics", NULL, body, sizeof body) != 200)
        return -1;
    const char *p = strstr(body, "\nsori_calls_total ");
    return p ? atoi(p + 18) : -1;
}

/* A call through port: "final|final|" (malloc'd), or NULL. */
static char *call(int port, const unsigned char *pcm, size_t n)
{
    int fd = ws_open(port, "/v1/asr", NULL, NULL);
    if (fd < 0)
        return NULL;
    ws_send_text(fd, "{\"type\":\"start\",\"sample_rate\":16000,\"partials\":false}");
    for (size_t pos = 0; pos < n; pos += 640)
        ws_send_frame(fd, WS_BINARY, pcm + pos, pos + 640 <= n ? 640 : n - pos, 0);
    ws_send_text(fd, "{\"type\":\"stop\"}");
    char *all = calloc(1, 1 << 15), buf[1 << 15];
    int closed = 0;
    for (int i = 0; i < 60 && !closed; i++) {
        int op = ws_recv(fd, buf, sizeof buf, 1000);
        if (op == -2)
            continue;
        if (op != WS_TEXT)
            break;
        cJSON *o = cJSON_Parse(buf);
        const cJSON *t = cJSON_GetObjectItem(o, "type");
        if (cJSON_IsString(t) && !strcmp(t->valuestring, "final")) {
            strcat(all, cJSON_GetObjectItem(o, "text")->valuestring);
            strcat(all, "|");
        }
        closed = cJSON_IsString(t) && !strcmp(t->valuestring, "closed");
        cJSON_Delete(o);
    }
    close(fd);
    if (!closed) {
        free(all);
        return NULL;
    }
    return all;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        SKIP("usage: test_scaleout SORI_BINARY");
    const char *haproxy = access("/usr/sbin/haproxy", X_OK) == 0 ? "/usr/sbin/haproxy" : NULL;
    if (!haproxy)
        SKIP("haproxy is not installed (apt-get install haproxy; tools/setup.sh does)");
    char model[1024], lm[1024], wav[1024];
    snprintf(model, sizeof model, "%s/data/ko-fastconformer-ctc.gguf", SORI_SOURCE_DIR);
    snprintf(lm, sizeof lm, "%s/data/ko-tokens-4gram.gguf", SORI_SOURCE_DIR);
    snprintf(wav, sizeof wav, "%s/data/samples/ko_16k_statement.wav", SORI_SOURCE_DIR);
    if (access(model, R_OK) || access(lm, R_OK) || access(wav, R_OK))
        SKIP("the bundled model or sample is missing");
    char dir[] = "/tmp/sori_test_scaleout_XXXXXX";
    if (!mkdtemp(dir))
        SKIP("no temporary folder");
    /* the reference: the streaming API in-process */
    sori_error err = {0};
    sori_audio a = {0};
    CHECK_STATUS(sori_audio_read_file(wav, &a, &err), SORI_OK);
    size_t n = (size_t)a.n_frames * 2;
    unsigned char *pcm = malloc(n);
    float *x = malloc((size_t)a.n_frames * sizeof(float));
    for (int64_t i = 0; i < a.n_frames; i++) {
        float v = a.samples[i * a.n_channels] * 32768.0f;
        int16_t s = (int16_t)(v > 32767 ? 32767 : v < -32768 ? -32768 : lrintf(v));
        pcm[2 * i] = (unsigned char)(s & 0xff);
        pcm[2 * i + 1] = (unsigned char)((uint16_t)s >> 8);
        x[i] = (float)s / 32768.0f;
    }
    sori_runtime_params rp = sori_runtime_default_params();
    rp.device = SORI_DEVICE_CPU;
    rp.n_threads = 1;
    sori_runtime *rt = NULL;
    sori_asr_model *m = NULL;
    sori_asr_model_params mp = sori_asr_model_default_params();
    mp.lm_path = lm;
    CHECK_STATUS(sori_runtime_create(&rp, &rt, &err), SORI_OK);
    CHECK_STATUS(sori_asr_model_load(rt, model, &mp, &m, &err), SORI_OK);
    char ref[4096] = "";
    {
        sori_asr_stream *s = NULL;
        sori_asr_stream_params sp = sori_asr_stream_default_params();
        CHECK_STATUS(sori_asr_stream_create(m, &sp, &s, &err), SORI_OK);
        for (int64_t pos = 0, done = 0; s && !done; pos += 320) {
            done = pos >= a.n_frames;
            if (!done)
                sori_asr_stream_accept(s, x + pos, pos + 320 <= a.n_frames ? 320 : a.n_frames - pos, 16000, &err);
            else
                sori_asr_stream_input_finished(s, &err);
            while (sori_asr_stream_is_ready(s))
                sori_asr_decode_ready(m, &s, 1, &err);
            sori_asr_result *r = NULL;
            while (sori_asr_stream_pop_final(s, &r, &err) == SORI_OK && r) {
                strcat(ref, r->text), strcat(ref, "|");
                sori_asr_result_free(r);
            }
        }
        sori_asr_result *r = NULL;
        if (s && sori_asr_stream_result(s, &r, &err) == SORI_OK && r->text[0])
            strcat(ref, r->text), strcat(ref, "|");
        sori_asr_result_free(r);
        sori_asr_stream_free(s);
    }
    /* two instances and the proxy */
    int pa = ws_free_port(), pb = ws_free_port(), pp = ws_free_port();
    while (pb == pa)
        pb = ws_free_port();
    while (pp == pa || pp == pb)
        pp = ws_free_port();
    pid_t inst[2];
    int ports[2] = {pa, pb};
    char model_arg[1100];
    snprintf(model_arg, sizeof model_arg, "ko=%s", model);
    for (int i = 0; i < 2; i++) {
        char listen_arg[64];
        snprintf(listen_arg, sizeof listen_arg, "127.0.0.1:%d", ports[i]);
        if ((inst[i] = fork()) == 0) {
            execl(argv[1], argv[1], "serve", "--listen", listen_arg, "--model", model_arg, "--threads", "1",
                  (char *)NULL);
            _exit(127);
        }
    }
    char cfg[256];
    snprintf(cfg, sizeof cfg, "%s/haproxy.cfg", dir);
    FILE *f = fopen(cfg, "w");
    fprintf(f,
            "global\n  maxconn 1000\ndefaults\n  mode http\n  timeout connect 2s\n  timeout client 60s\n"
            "  timeout server 60s\n  timeout tunnel 1h\n"
            "frontend asr\n  bind 127.0.0.1:%d\n  default_backend sori\n"
            "backend sori\n  balance roundrobin\n  option httpchk GET /healthz\n"
            "  default-server inter 200ms fall 2 rise 1\n"
            "  server a 127.0.0.1:%d check\n  server b 127.0.0.1:%d check\n",
            pp, pa, pb);
    fclose(f);
    pid_t proxy = fork();
    if (proxy == 0) {
        execl(haproxy, haproxy, "-db", "-q", "-f", cfg, (char *)NULL);
        _exit(127);
    }
    int up = wait_up(pa, "/healthz") && wait_up(pb, "/healthz") && wait_up(pp, "/healthz");
    CHECK(up, "the instances or the proxy did not come up");
    usleep(600000); /* both pass their first checks */
    int ok = 0;
    for (int i = 0; up && i < 6; i++) {
        char *got = call(pp, pcm, n);
        ok += got && !strcmp(got, ref);
        free(got);
    }
    int ca = calls_of(pa), cb = calls_of(pb);
    printf("through the proxy: %d of 6 calls with the API's finals; instance a took %d, b %d\n", ok, ca, cb);
    CHECK(up && ok == 6 && ca > 0 && cb > 0 && ca + cb == 6, "6 calls: %d right, a %d, b %d", ok, ca, cb);
    /* instance a dies: the checks take it out, new calls go to b */
    kill(inst[0], SIGKILL);
    waitpid(inst[0], NULL, 0);
    usleep(1000000);
    ok = 0;
    for (int i = 0; up && i < 6; i++) {
        char *got = call(pp, pcm, n);
        ok += got && !strcmp(got, ref);
        free(got);
    }
    int cb2 = calls_of(pb);
    printf("instance a killed: %d of 6 calls with the API's finals, all on b (%d -> %d)\n", ok, cb, cb2);
    CHECK(ok == 6 && cb2 == cb + 6, "after the kill: %d of 6 right, b %d -> %d", ok, cb, cb2);
    kill(proxy, SIGTERM);
    kill(inst[1], SIGTERM);
    int status = 0;
    waitpid(inst[1], &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "instance b did not exit 0 on SIGTERM");
    waitpid(proxy, NULL, 0);
    sori_asr_model_free(m);
    sori_runtime_free(rt);
    sori_audio_free(&a);
    free(pcm);
    free(x);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return check_finish("test_scaleout");
}
