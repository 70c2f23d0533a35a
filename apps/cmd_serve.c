/* sori serve: options, models, signals; the server itself is serve/. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "sori/asr.h"
#include "sori/lm.h"
#include "sori/runtime.h"
#include "sori/serve.h"
#include "sori/text.h"

#ifndef SORI_DEFAULT_MODEL
#define SORI_DEFAULT_MODEL "ko-fastconformer-ctc.gguf"
#endif
#ifndef SORI_DEFAULT_WHISPER
#define SORI_DEFAULT_WHISPER "whisper-base-f16.gguf"
#endif
#ifndef SORI_DEFAULT_LM
#define SORI_DEFAULT_LM "ko-tokens-4gram.gguf"
#endif

enum { MAX_MODELS = 16 };

static sori_server *g_server;

static void on_signal(int sig)
{
    (void)sig;
    sori_server_stop(g_server); /* sets a flag: the server drains */
}

static void usage(FILE *f)
{
    fprintf(f, "usage: sori serve [--listen HOST:PORT] [--model NAME=FILE.gguf]... [--token-file FILE]\n"
               "                  [--max-streams N] [--threads N] [--device cpu|cuda|auto] [--log FILE|-]\n"
               "                  [--idle-timeout S] [--drain-timeout S] [--tick-ms MS] [--decoders N]\n"
               "                  [--audiosocket HOST:PORT] [--sink-dir DIR] [--sink-url URL]\n"
               "                  [--sink-header 'Name: value']... [--sink-header-file FILE] [--sink-retry S]\n"
               "                  [--sink-partials] [--demo] [--lm none] [--itn] [--redact] [--moderate]\n"
               "                  [--moderate-model FILE] [--itn-options LIST]\n"
               "                  [--rescore LM.gguf [--nbest N] [--rescore-weight W] [--rescore-bonus B]]\n"
               "Streams audio over WebSocket at ws://HOST:PORT/v1/asr (docs/protocol.md); /healthz,\n"
               "/readyz and /metrics on the same port. Default: 127.0.0.1:8765, the bundled models.\n"
               "AudioSocket calls and media streams (/v1/twilio) send their events to the sink: a file\n"
               "per call in --sink-dir and/or an HTTP POST per event to --sink-url.\n"
               "--demo serves the browser demo page at http://HOST:PORT/ (microphone to partials and finals).\n"
               "--itn: numbers in every result as people write them (삼만 오천 원 -> ₩35000);\n"
               "--itn-options LIST as in 'sori transcribe' (korean: 35,000원).\n"
               "--moderate: every final scored for abusive speech (\"moderation\": label, score) by the bundled\n"
               "model, or by --moderate-model FILE.\n"
               "--redact: personal data masked in every result ([전화번호] ...; finals list what and when).\n"
               "--rescore: every model's finals rescored by a transformer LM (llama.cpp GGUF), as in\n"
               "'sori transcribe --rescore' (N-best 8, weight 0.3, bonus 0.5 per LM token by default).\n");
}

/* A whole small file, its last line ending cut; NULL with a message. */
static char *read_token(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "sori serve: --token-file %s: %s\n", path, strerror(errno));
        return NULL;
    }
    char *buf = calloc(1, 513);
    size_t n = buf ? fread(buf, 1, 512, f) : 0;
    int more = fgetc(f) != EOF;
    fclose(f);
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
        buf[--n] = '\0';
    if (!buf || n == 0 || more || strlen(buf) != n) {
        fprintf(stderr, "sori serve: --token-file %s: %s\n", path,
                !buf ? "out of memory" : more ? "over 512 bytes" : "empty, or not text");
        free(buf);
        return NULL;
    }
    return buf;
}

int cmd_serve(int argc, char **argv)
{
    sori_server_params sp = sori_server_default_params();
    sori_runtime_params rp = sori_runtime_default_params();
    char host[256] = "127.0.0.1";
    static char as_host[256];
    const char *names[MAX_MODELS], *files[MAX_MODELS], *token_file = NULL, *log_path = NULL, *rescore_path = NULL;
    int nbest = 8;
    float rescore_weight = 0.3f, rescore_bonus = 0.5f;
    sori_lm *rescore_lm = NULL;
    const char *moderate_path = NULL;
    char moderate_buf[4096];
    bool moderate = false;
    sori_moderator *moderator = NULL;
    char spec_buf[MAX_MODELS][512];
    int n_models = 0;
    bool threads_set = false, decoders_set = false, no_lm = false;
    enum { MAX_SINK_HEADERS = 16 };
    static char header_buf[MAX_SINK_HEADERS][1024];
    static const char *headers[MAX_SINK_HEADERS];
    int n_headers = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        }
        if (!strcmp(a, "--demo")) {
            sp.demo = 1;
            continue;
        }
        if (!strcmp(a, "--redact")) {
            sp.redact = 1;
            continue;
        }
        if (!strcmp(a, "--itn")) {
            sp.itn = 1;
            continue;
        }
        if (!strcmp(a, "--moderate")) {
            moderate = true;
            continue;
        }
        if (!strcmp(a, "--sink-partials")) {
            sp.sink_partials = 1;
            continue;
        }
        if (!v) {
            fprintf(stderr, "sori serve: %s needs a value\n", a);
            return 2;
        }
        i++;
        if (!strcmp(a, "--listen")) {
            const char *colon = strrchr(v, ':');
            int port = 0;
            if (!colon || colon == v || (size_t)(colon - v) >= sizeof host || !parse_int_arg(colon + 1, 1, 65535, &port)) {
                fprintf(stderr, "sori serve: --listen HOST:PORT, not '%s'\n", v);
                return 2;
            }
            snprintf(host, sizeof host, "%.*s", (int)(colon - v), v);
            sp.port = port;
        } else if (!strcmp(a, "--model")) {
            const char *eq = strchr(v, '=');
            if (!eq || eq == v || !eq[1] || n_models == MAX_MODELS || strlen(v) >= sizeof spec_buf[0]) {
                fprintf(stderr, "sori serve: --model NAME=FILE.gguf (at most %d), not '%s'\n", MAX_MODELS, v);
                return 2;
            }
            snprintf(spec_buf[n_models], sizeof spec_buf[n_models], "%s", v);
            spec_buf[n_models][eq - v] = '\0';
            names[n_models] = spec_buf[n_models];
            files[n_models] = spec_buf[n_models] + (eq - v) + 1;
            n_models++;
        } else if (!strcmp(a, "--token-file")) {
            token_file = v;
        } else if (!strcmp(a, "--max-streams")) {
            if (!parse_int_arg(v, 1, 100000, &sp.max_streams)) {
                fprintf(stderr, "sori serve: bad --max-streams '%s' (1..100000)\n", v);
                return 2;
            }
        } else if (!strcmp(a, "--threads")) {
            threads_set = true;
            if (!parse_int_arg(v, 1, 256, &rp.n_threads)) {
                fprintf(stderr, "sori serve: bad --threads '%s' (1..256)\n", v);
                return 2;
            }
        } else if (!strcmp(a, "--device")) {
            if (sori_device_parse(v, &rp.device, &rp.device_index) != SORI_OK) {
                fprintf(stderr, "sori serve: bad --device '%s' (cpu, cuda, cuda:N or auto)\n", v);
                return 2;
            }
        } else if (!strcmp(a, "--log")) {
            log_path = v;
        } else if (!strcmp(a, "--idle-timeout")) {
            if (!parse_int_arg(v, 1, 86400, &sp.idle_timeout_s)) {
                fprintf(stderr, "sori serve: bad --idle-timeout '%s' (1..86400 s)\n", v);
                return 2;
            }
        } else if (!strcmp(a, "--drain-timeout")) {
            if (!parse_int_arg(v, 0, 3600, &sp.drain_timeout_s)) {
                fprintf(stderr, "sori serve: bad --drain-timeout '%s' (0..3600 s)\n", v);
                return 2;
            }
        } else if (!strcmp(a, "--audiosocket")) {
            const char *colon = strrchr(v, ':');
            int port = 0;
            if (!colon || colon == v || (size_t)(colon - v) >= sizeof as_host ||
                !parse_int_arg(colon + 1, 1, 65535, &port)) {
                fprintf(stderr, "sori serve: --audiosocket HOST:PORT, not '%s'\n", v);
                return 2;
            }
            snprintf(as_host, sizeof as_host, "%.*s", (int)(colon - v), v);
            sp.audiosocket_host = as_host;
            sp.audiosocket_port = port;
        } else if (!strcmp(a, "--lm")) {
            if (strcmp(v, "none")) {
                fprintf(stderr, "sori serve: --lm takes only 'none' (the bundled model's LM off: greedy decoding)\n");
                return 2;
            }
            no_lm = true;
        } else if (!strcmp(a, "--itn-options")) {
            sori_error oe = {0};
            if (sori_itn_parse_options(v, &sp.itn_flags, &oe) != SORI_OK) {
                fprintf(stderr, "sori serve: --itn-options: %s\n", oe.message);
                return 2;
            }
            sp.itn = 1;
        } else if (!strcmp(a, "--moderate-model")) {
            moderate_path = v;
            moderate = true;
        } else if (!strcmp(a, "--rescore")) {
            rescore_path = v;
        } else if (!strcmp(a, "--nbest")) {
            if (!parse_int_arg(v, 2, 64, &nbest)) {
                fprintf(stderr, "sori serve: --nbest '%s' (2..64)\n", v);
                return 2;
            }
        } else if (!strcmp(a, "--rescore-weight") || !strcmp(a, "--rescore-bonus")) {
            char *end = NULL;
            const double x = strtod(v, &end);
            const bool w = !strcmp(a, "--rescore-weight");
            if (!end || *end || !(x == x) || x > (w ? 10 : 100) || x < (w ? -10 : -100)) {
                fprintf(stderr, "sori serve: %s '%s' (%s)\n", a, v, w ? "-10..10" : "-100..100");
                return 2;
            }
            if (w)
                rescore_weight = (float)x;
            else
                rescore_bonus = (float)x;
        } else if (!strcmp(a, "--sink-dir")) {
            sp.sink_dir = v;
        } else if (!strcmp(a, "--sink-url")) {
            if (strncmp(v, "http://", 7) && strncmp(v, "https://", 8)) {
                fprintf(stderr, "sori serve: --sink-url must be http://… or https://…, not '%s'\n", v);
                return 2;
            }
            sp.sink_url = v;
        } else if (!strcmp(a, "--sink-header") || !strcmp(a, "--sink-header-file")) {
            /* a header, or a file of them a line each (keeps secrets out of the process list) */
            FILE *hf = a[13] ? fopen(v, "r") : NULL;
            if (a[13] && !hf) {
                fprintf(stderr, "sori serve: --sink-header-file %s: %s\n", v, strerror(errno));
                return 2;
            }
            char line[1024];
            while (hf ? fgets(line, sizeof line, hf) != NULL : snprintf(line, sizeof line, "%s", v) >= 0) {
                line[strcspn(line, "\r\n")] = '\0';
                if (line[0] && (n_headers == MAX_SINK_HEADERS || !strchr(line, ':') || line[0] == ':')) {
                    fprintf(stderr, "sori serve: a sink header is 'Name: value' (at most %d), not '%s'\n",
                            MAX_SINK_HEADERS, line);
                    if (hf)
                        fclose(hf);
                    return 2;
                }
                if (line[0]) {
                    snprintf(header_buf[n_headers], sizeof header_buf[n_headers], "%s", line);
                    headers[n_headers] = header_buf[n_headers];
                    n_headers++;
                }
                if (!hf)
                    break;
            }
            if (hf)
                fclose(hf);
            sp.sink_headers = headers;
            sp.n_sink_headers = n_headers;
        } else if (!strcmp(a, "--sink-retry")) {
            int r = 0;
            if (!parse_int_arg(v, 1, 86400, &r)) {
                fprintf(stderr, "sori serve: bad --sink-retry '%s' (1..86400 s)\n", v);
                return 2;
            }
            sp.sink_retry_s = r;
        } else if (!strcmp(a, "--decoders")) {
            decoders_set = true;
            if (!parse_int_arg(v, 1, 16, &sp.decoders)) {
                fprintf(stderr, "sori serve: bad --decoders '%s' (1..16)\n", v);
                return 2;
            }
        } else if (!strcmp(a, "--tick-ms")) {
            if (!parse_int_arg(v, 1, 1000, &sp.tick_ms)) {
                fprintf(stderr, "sori serve: bad --tick-ms '%s' (1..1000)\n", v);
                return 2;
            }
        } else {
            fprintf(stderr, "sori serve: unknown option '%s'\n", a);
            usage(stderr);
            return 2;
        }
    }
    if (sp.audiosocket_port && !sp.sink_dir && !sp.sink_url) {
        fprintf(stderr, "sori serve: --audiosocket needs --sink-dir DIR or --sink-url URL (its calls' events go there)\n");
        return 2;
    }
    static char wbuf[4096], cbuf[4096], lbuf[4096];
    const char *lm_for[MAX_MODELS] = {NULL};
    if (n_models == 0) { /* the bundled models: Whisper base when setup.sh made it, the Conformer */
        const char *w = app_bundled(SORI_DEFAULT_WHISPER, wbuf, sizeof wbuf);
        const char *c = app_bundled(SORI_DEFAULT_MODEL, cbuf, sizeof cbuf);
        if (w)
            names[n_models] = "whisper-base", files[n_models++] = w;
        if (c) {
            lm_for[n_models] = app_bundled(SORI_DEFAULT_LM, lbuf, sizeof lbuf);
            names[n_models] = "ko-conformer", files[n_models++] = c;
        }
        if (!n_models) {
            fprintf(stderr, "sori serve: no model: pass --model NAME=FILE.gguf\n");
            return 1;
        }
    } else {
        for (int i = 0; i < n_models; i++) {
            const char *base = strrchr(files[i], '/');
            if (!strcmp(base ? base + 1 : files[i], SORI_DEFAULT_MODEL))
                lm_for[i] = app_bundled(SORI_DEFAULT_LM, lbuf, sizeof lbuf);
            for (int j = 0; j < i; j++)
                if (!strcmp(names[i], names[j])) {
                    fprintf(stderr, "sori serve: two models named '%s'\n", names[i]);
                    return 2;
                }
        }
    }
    char *token = token_file ? read_token(token_file) : NULL;
    if (token_file && !token)
        return 1;
    FILE *log = NULL;
    if (log_path && !(log = strcmp(log_path, "-") ? fopen(log_path, "a") : stderr)) {
        fprintf(stderr, "sori serve: --log %s: %s\n", log_path, strerror(errno));
        free(token);
        return 1;
    }
    /* Many calls are parallel already: by default one decoding thread a core, each running its
     * calls' batched steps on its own (a one-thread runtime pool), which keeps every core busy
     * without threads spinning for each other's work. --threads N gives each op N threads (few
     * long Whisper calls), and then a core per decoding thread is shared out the same way. */
    const int cores = sori_runtime_default_params().n_threads; /* the cores there are (at most 16) */
    if (!threads_set)
        rp.n_threads = 1;
    if (!decoders_set) {
        int dn = cores / rp.n_threads;
        sp.decoders = dn < 1 ? 1 : dn > 16 ? 16 : dn;
    }
    rp.pool_bytes = (size_t)2 << 30;
    sori_runtime *rt = NULL;
    sori_asr_model *models[MAX_MODELS] = {NULL};
    sori_server_model sm[MAX_MODELS];
    sori_error err = {0};
    int rc = 1;
    if (sori_runtime_create(&rp, &rt, &err) != SORI_OK) {
        fprintf(stderr, "sori serve: %s\n", err.message);
        goto done;
    }
    /* on a GPU the decoding threads would share its one stream: one thread, whose batched
     * steps keep the GPU busy */
    if (!decoders_set && sori_runtime_get_params(rt).device == SORI_DEVICE_CUDA)
        sp.decoders = 1;
    if (rescore_path && sori_lm_load(rt, rescore_path, &rescore_lm, &err) != SORI_OK) {
        fprintf(stderr, "sori serve: --rescore %s: %s\n", rescore_path, err.message);
        goto done;
    }
    if (moderate && !moderate_path && !(moderate_path = app_bundled("ko-moderate.gguf", moderate_buf, sizeof moderate_buf))) {
        fprintf(stderr, "sori serve: --moderate: the bundled data/ko-moderate.gguf is missing: give --moderate-model FILE\n");
        goto done;
    }
    if (moderate && sori_moderator_load(moderate_path, &moderator, &err) != SORI_OK) {
        fprintf(stderr, "sori serve: --moderate %s: %s\n", moderate_path, err.message);
        goto done;
    }
    sp.moderator = moderator;
    for (int i = 0; i < n_models; i++) {
        sori_asr_model_params mp = sori_asr_model_default_params();
        mp.lm_path = no_lm ? NULL : lm_for[i];
        mp.rescore_lm = rescore_lm;
        mp.nbest = rescore_lm ? nbest : 0;
        mp.rescore_weight = rescore_weight;
        mp.rescore_bonus = rescore_bonus;
        if (sori_asr_model_load(rt, files[i], &mp, &models[i], &err) != SORI_OK) {
            fprintf(stderr, "sori serve: model %s: %s\n", names[i], err.message);
            goto done;
        }
        sm[i].name = names[i];
        sm[i].model = models[i];
    }
    sp.host = host;
    sp.token = token;
    sp.log = log;
    if (sori_server_create(&sp, sm, n_models, &g_server, &err) != SORI_OK) {
        fprintf(stderr, "sori serve: %s\n", err.message);
        goto done;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    fprintf(stderr, "sori serve: listening on ws://%s:%d/v1/asr (models:", host, sp.port);
    for (int i = 0; i < n_models; i++)
        fprintf(stderr, " %s", names[i]);
    fprintf(stderr, ")%s\n", token ? ", token required" : "");
    if (sp.demo)
        fprintf(stderr, "sori serve: the browser demo at http://%s:%d/\n", host, sp.port);
    if (sp.audiosocket_port)
        fprintf(stderr, "sori serve: Asterisk AudioSocket on %s:%d\n", as_host, sp.audiosocket_port);
    if (sp.sink_dir || sp.sink_url)
        fprintf(stderr, "sori serve: telephony events to %s%s%s%s\n", sp.sink_dir ? sp.sink_dir : "",
                sp.sink_dir ? "/CALL.jsonl" : "", sp.sink_dir && sp.sink_url ? " and POST " : sp.sink_url ? "POST " : "",
                sp.sink_url ? sp.sink_url : "");
    rc = sori_server_run(g_server, &err) == SORI_OK ? 0 : 1;
    if (rc)
        fprintf(stderr, "sori serve: %s\n", err.message);
done:
    sori_server_free(g_server);
    g_server = NULL;
    for (int i = 0; i < n_models; i++)
        sori_asr_model_free(models[i]);
    sori_lm_free(rescore_lm);
    sori_moderator_free(moderator);
    sori_runtime_free(rt);
    if (log && log != stderr)
        fclose(log);
    free(token);
    return rc;
}
