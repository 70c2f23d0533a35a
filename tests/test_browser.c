/* The browser demo end to end: `sori serve --demo` (the bundled Conformer, a
 * token) and headless Chromium whose fake microphone plays a bundled sample
 * (with silence around it). The page opens the microphone, resamples to
 * 16 kHz in its AudioWorklet, streams over the protocol and shows the finals;
 * the test reads the page through the DevTools protocol (a WebSocket, the
 * client of tests/ws_client.h) and checks:
 *  - the page finished ("Done"), showed partials, and its finals are the offline transcript of
 *    the clip (CER at most 10 %, by cer_check: the browser's capture path
 *    resamples twice);
 *  - the same page without the token shows the server's "unauthorized";
 *  - a screenshot (PNG) of the page with its finals; SORI_TEST_SCREENSHOT=FILE
 *    keeps it (docs/img/browser-demo.png is made so).
 * argv: the sori binary, cer_check. Skips (77) without Chromium (Debian
 * package `chromium`; SORI_CHROMIUM names another) or the bundled model. */
#define _GNU_SOURCE
#include <cjson/cJSON.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#include "check.h"
#include "sori/asr.h"
#include "sori/audio.h"
#include "ws_client.h"

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void stop_child(pid_t pid, int sig)
{
    if (pid <= 0)
        return;
    kill(pid, sig);
    for (int i = 0; i < 100 && waitpid(pid, NULL, WNOHANG) == 0; i++)
        usleep(100000);
    if (waitpid(pid, NULL, WNOHANG) == 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
}

/* The DevTools WebSocket of the page whose URL contains `want`: its socket, or -1. */
static int devtools_page(int port, const char *want)
{
    static char body[1 << 16];
    for (int i = 0; i < 200; i++) {
        if (http_get(port, "/json/list", NULL, body, sizeof body) == 200) {
            cJSON *list = cJSON_Parse(body);
            const cJSON *t;
            char path[256] = "";
            cJSON_ArrayForEach(t, list)
            {
                const cJSON *type = cJSON_GetObjectItem(t, "type"), *url = cJSON_GetObjectItem(t, "url");
                const cJSON *ws = cJSON_GetObjectItem(t, "webSocketDebuggerUrl");
                if (cJSON_IsString(type) && !strcmp(type->valuestring, "page") && cJSON_IsString(url) &&
                    strstr(url->valuestring, want) && cJSON_IsString(ws) && !strncmp(ws->valuestring, "ws://", 5)) {
                    const char *p = strchr(ws->valuestring + 5, '/');
                    if (p)
                        snprintf(path, sizeof path, "%s", p);
                }
            }
            cJSON_Delete(list);
            if (path[0])
                return ws_open(port, path, NULL, NULL);
        }
        usleep(100000);
    }
    return -1;
}

/* A DevTools command; its result object (the caller frees), or NULL. */
static cJSON *devtools(int fd, const char *method, cJSON *params)
{
    static int id = 0;
    static char buf[4 << 20];
    cJSON *m = cJSON_CreateObject();
    cJSON_AddNumberToObject(m, "id", ++id);
    cJSON_AddStringToObject(m, "method", method);
    cJSON_AddItemToObject(m, "params", params ? params : cJSON_CreateObject());
    char *text = cJSON_PrintUnformatted(m);
    cJSON_Delete(m);
    int sent = ws_send_text(fd, text);
    free(text);
    if (sent)
        return NULL;
    for (int i = 0; i < 100; i++) { /* events may come first */
        int op = ws_recv(fd, buf, sizeof buf, 20000);
        if (op != WS_TEXT)
            return NULL;
        cJSON *r = cJSON_Parse(buf);
        const cJSON *rid = cJSON_GetObjectItem(r, "id");
        if (cJSON_IsNumber(rid) && rid->valueint == id) {
            cJSON *res = cJSON_DetachItemFromObject(r, "result");
            cJSON_Delete(r);
            return res;
        }
        cJSON_Delete(r);
    }
    return NULL;
}

/* A JavaScript expression's string value in the page ("" when not a string). */
static void page_eval(int fd, const char *expr, char *out, size_t cap)
{
    cJSON *p = cJSON_CreateObject();
    cJSON_AddStringToObject(p, "expression", expr);
    cJSON_AddBoolToObject(p, "returnByValue", 1);
    cJSON *r = devtools(fd, "Runtime.evaluate", p);
    const cJSON *v = cJSON_GetObjectItem(cJSON_GetObjectItem(r, "result"), "value");
    snprintf(out, cap, "%s", cJSON_IsString(v) ? v->valuestring : "");
    cJSON_Delete(r);
}

/* Waits (up to timeout_s) until the page's status line starts with one of `a`, `b`. */
static void wait_status(int fd, const char *a, const char *b, char *status, size_t cap, double timeout_s)
{
    double t0 = now_s();
    do {
        usleep(300000);
        page_eval(fd, "document.getElementById('status').textContent", status, cap);
    } while (strncmp(status, a, strlen(a)) && strncmp(status, b, strlen(b)) && now_s() - t0 < timeout_s);
}

static size_t unbase64(const char *in, unsigned char *out)
{
    static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t n = 0;
    uint32_t v = 0;
    int bits = 0;
    for (; *in && *in != '='; in++) {
        const char *p = strchr(t, *in);
        if (!p)
            continue;
        v = v << 6 | (uint32_t)(p - t);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[n++] = (unsigned char)(v >> bits);
        }
    }
    return n;
}

int main(int argc, char **argv)
{
    if (argc < 3)
        SKIP("usage: test_browser SORI_BINARY CER_CHECK");
    char chromium[512] = "";
    if (getenv("SORI_CHROMIUM")) {
        snprintf(chromium, sizeof chromium, "%s", getenv("SORI_CHROMIUM"));
    } else {
        FILE *w = popen("command -v chromium || command -v chromium-browser || command -v google-chrome", "r");
        if (w && fgets(chromium, sizeof chromium, w))
            chromium[strcspn(chromium, "\n")] = '\0';
        if (w)
            pclose(w);
    }
    char model_path[1024], clip[1024];
    snprintf(model_path, sizeof model_path, "%s/data/ko-fastconformer-ctc.gguf", SORI_SOURCE_DIR);
    snprintf(clip, sizeof clip, "%s/data/samples/ko_16k_statement.wav", SORI_SOURCE_DIR);
    if (!chromium[0] || access(chromium, X_OK))
        SKIP("no Chromium (apt-get install chromium, or set SORI_CHROMIUM)");
    if (access(model_path, R_OK) || access(clip, R_OK))
        SKIP("the bundled model or sample is missing");

    /* the reference: the clip transcribed offline, in-process */
    sori_error err = {0};
    sori_runtime *rt = NULL;
    sori_asr_model *m = NULL;
    sori_audio a = {0}, padded = {0};
    sori_asr_result *ref = NULL;
    sori_runtime_params rp = sori_runtime_default_params();
    rp.n_threads = 1;
    CHECK(sori_runtime_create(&rp, &rt, &err) == SORI_OK, "runtime: %s", err.message);
    char lm_path[1024];
    snprintf(lm_path, sizeof lm_path, "%s/data/ko-tokens-4gram.gguf", SORI_SOURCE_DIR);
    sori_asr_model_params mp = sori_asr_model_default_params();
    mp.lm_path = lm_path; /* as sori serve loads the bundled model */
    CHECK(sori_asr_model_load(rt, model_path, &mp, &m, &err) == SORI_OK, "model: %s", err.message);
    CHECK(sori_audio_read_file(clip, &a, &err) == SORI_OK && a.n_channels == 1, "sample: %s", err.message);
    if (g_checks_failed)
        return check_finish("test_browser");
    CHECK(sori_asr_transcribe(m, a.samples, a.n_frames, a.sample_rate_hz, &ref, &err) == SORI_OK, "offline: %s",
          err.message);
    /* the fake microphone's file: 0.5 s of silence, the clip, 2 s of silence */
    const int64_t lead = a.sample_rate_hz / 2, tail = 2 * a.sample_rate_hz;
    padded.sample_rate_hz = a.sample_rate_hz;
    padded.n_channels = 1;
    padded.n_frames = lead + a.n_frames + tail;
    padded.samples = calloc((size_t)padded.n_frames, sizeof(float));
    memcpy(padded.samples + lead, a.samples, (size_t)a.n_frames * sizeof(float));
    char dir[] = "/tmp/sori_test_browser_XXXXXX";
    if (!mkdtemp(dir))
        SKIP("no temporary folder");
    char wav[256], token_file[256], profile[256];
    snprintf(wav, sizeof wav, "%s/mic.wav", dir);
    snprintf(token_file, sizeof token_file, "%s/token", dir);
    snprintf(profile, sizeof profile, "%s/profile", dir);
    CHECK(sori_audio_write_file(wav, &padded, SORI_ENC_WAV_PCM16, &err) == SORI_OK, "wav: %s", err.message);
    FILE *tf = fopen(token_file, "w");
    fprintf(tf, "browser-token\n");
    fclose(tf);
    const double seconds = (double)padded.n_frames / padded.sample_rate_hz;

    const int port = ws_free_port(), dport = ws_free_port();
    char listen_arg[64], model_arg[1100];
    snprintf(listen_arg, sizeof listen_arg, "127.0.0.1:%d", port);
    snprintf(model_arg, sizeof model_arg, "ko=%s", model_path);
    pid_t server = fork();
    if (server == 0) {
        execl(argv[1], argv[1], "serve", "--listen", listen_arg, "--model", model_arg, "--token-file", token_file,
              "--threads", "1", "--demo", (char *)NULL);
        _exit(127);
    }
    char body[1 << 14];
    int up = 0;
    for (int i = 0; i < 300 && !up; i++)
        if (!(up = http_get(port, "/healthz", NULL, body, sizeof body) == 200))
            usleep(100000);
    CHECK(up, "the server did not come up");
    CHECK(http_get(port, "/", NULL, body, sizeof body) == 200 && strstr(body, "AudioWorklet"),
          "the demo page is not served at /");
    CHECK(http_get(port, "/metrics", NULL, body, sizeof body) == 401, "--demo must not open the rest");

    char url[512], dport_arg[64], profile_arg[300], fake_arg[300];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/#token=browser-token&autostart=1&seconds=%.2f", port, seconds);
    snprintf(dport_arg, sizeof dport_arg, "--remote-debugging-port=%d", dport);
    snprintf(profile_arg, sizeof profile_arg, "--user-data-dir=%s", profile);
    snprintf(fake_arg, sizeof fake_arg, "--use-file-for-fake-audio-capture=%s", wav);
    pid_t browser = up ? fork() : -1;
    if (browser == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        dup2(null, 2);
        execl(chromium, chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              "--no-first-run", "--mute-audio", "--window-size=900,640", "--use-fake-ui-for-media-stream",
              "--use-fake-device-for-media-stream", fake_arg, dport_arg, profile_arg, url, (char *)NULL);
        _exit(127);
    }
    char want[64];
    snprintf(want, sizeof want, "127.0.0.1:%d/", port);
    int fd = browser > 0 ? devtools_page(dport, want) : -1;
    CHECK(fd >= 0, "no DevTools connection to Chromium's page");
    if (fd >= 0) {
        char status[1024], finals[4096];
        wait_status(fd, "Done", "Error", status, sizeof status, 60 + seconds);
        page_eval(fd,
                  "Array.from(document.querySelectorAll('#finals li')).map(li => li.childNodes[1].textContent)"
                  ".join(' ')",
                  finals, sizeof finals);
        printf("page status: %s\npage finals: %s\noffline:     %s\n", status, finals, ref ? ref->text : "");
        CHECK(!strncmp(status, "Done", 4), "the page did not finish: '%s'", status);
        CHECK(strstr(status, " 0 partial") == NULL, "the page showed no partial result: '%s'", status);
        char cmd[1200];
        snprintf(cmd, sizeof cmd, "'%s' --max-cer 0.10 --min-exact 0", argv[2]);
        FILE *cer = popen(cmd, "w");
        if (cer)
            fprintf(cer, "%s\t%s\n", ref ? ref->text : "", finals);
        int rc = cer ? pclose(cer) : -1;
        CHECK(rc == 0 && finals[0], "the page's finals are not the offline transcript (cer_check exit %d)", rc);

        /* a screenshot of the page with its finals */
        cJSON *shot = devtools(fd, "Page.captureScreenshot", NULL);
        const cJSON *data = cJSON_GetObjectItem(shot, "data");
        unsigned char *png = cJSON_IsString(data) ? malloc(strlen(data->valuestring)) : NULL;
        size_t n_png = png ? unbase64(data->valuestring, png) : 0;
        CHECK(n_png > 8000 && !memcmp(png, "\x89PNG\r\n\x1a\n", 8), "no screenshot (%zu bytes)", n_png);
        const char *keep = getenv("SORI_TEST_SCREENSHOT");
        if (keep && n_png) {
            FILE *f = fopen(keep, "wb");
            CHECK(f && fwrite(png, 1, n_png, f) == n_png, "cannot write %s", keep);
            if (f)
                fclose(f);
            printf("screenshot: %s (%zu bytes)\n", keep, n_png);
        }
        free(png);
        cJSON_Delete(shot);

        /* the page without the token: the server's refusal on the page */
        cJSON *nav = cJSON_CreateObject();
        char url2[256];
        snprintf(url2, sizeof url2, "http://127.0.0.1:%d/index.html#autostart=1&seconds=2", port);
        cJSON_AddStringToObject(nav, "url", url2);
        cJSON_Delete(devtools(fd, "Page.navigate", nav));
        wait_status(fd, "Error", "Done", status, sizeof status, 30);
        printf("page without the token: %s\n", status);
        CHECK(strstr(status, "unauthorized") != NULL, "without the token the page says '%s'", status);
        close(fd);
    }
    stop_child(browser, SIGTERM);
    stop_child(server, SIGTERM);
    sori_asr_result_free(ref);
    sori_audio_free(&a);
    free(padded.samples);
    sori_asr_model_free(m);
    sori_runtime_free(rt);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return check_finish("test_browser");
}
