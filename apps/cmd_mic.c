/* sori mic: live transcription from an input device (PortAudio). */
#define _POSIX_C_SOURCE 200809L
#include <fcntl.h>
#include <portaudio.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "sori/asr.h"
#include "sori/runtime.h"
#include "sori/vad.h"

#ifndef SORI_DEFAULT_MODEL
#define SORI_DEFAULT_MODEL "ko-fastconformer-ctc.gguf"
#endif
#ifndef SORI_DEFAULT_WHISPER
#define SORI_DEFAULT_WHISPER "whisper-base-f16.gguf"
#endif
#ifndef SORI_DEFAULT_LM
#define SORI_DEFAULT_LM "ko-tokens-4gram.gguf"
#endif

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: sori mic [--model M.gguf] [--device N|NAME] [--list-devices] [--rate HZ]\n"
               "                [--seconds S] [--threads N] [--vad silero]\n"
               "Transcribes the input device live: the partial text is redrawn in place (on a\n"
               "terminal), each final is a line on standard output. Ctrl-C ends it (the last words\n"
               "are finalized first).\n");
}


int cmd_mic(int argc, char **argv)
{
    const char *model_path = getenv("SORI_MODEL"), *device = NULL, *vad = NULL;
    int list = 0, rate = 16000, threads = 0;
    double seconds = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        }
        if (!strcmp(a, "--list-devices")) {
            list = 1;
            continue;
        }
        if (!v) {
            fprintf(stderr, "sori mic: %s needs a value\n", a);
            return 2;
        }
        i++;
        if (!strcmp(a, "--model")) {
            model_path = v;
        } else if (!strcmp(a, "--device")) {
            device = v;
        } else if (!strcmp(a, "--rate")) {
            if (!parse_int_arg(v, 8000, 48000, &rate)) {
                fprintf(stderr, "sori mic: bad --rate '%s' (8000..48000)\n", v);
                return 2;
            }
        } else if (!strcmp(a, "--seconds")) {
            char *end;
            seconds = strtod(v, &end);
            if (end == v || *end || !(seconds > 0 && seconds <= 86400)) {
                fprintf(stderr, "sori mic: bad --seconds '%s'\n", v);
                return 2;
            }
        } else if (!strcmp(a, "--threads")) {
            if (!parse_int_arg(v, 1, 256, &threads)) {
                fprintf(stderr, "sori mic: bad --threads '%s' (1..256)\n", v);
                return 2;
            }
        } else if (!strcmp(a, "--vad")) {
            vad = v;
        } else {
            fprintf(stderr, "sori mic: unknown option '%s'\n", a);
            usage(stderr);
            return 2;
        }
    }
    if (app_pa_initialize() != paNoError) {
        fprintf(stderr, "sori mic: PortAudio cannot start (no audio system?)\n");
        return 1;
    }
    int rc = 1, n_dev = Pa_GetDeviceCount();
    if (list) {
        for (int i = 0; i < n_dev; i++) {
            const PaDeviceInfo *d = Pa_GetDeviceInfo(i);
            if (d && d->maxInputChannels > 0)
                printf("%d\t%s\t%d channels, %.0f Hz%s\n", i, d->name, d->maxInputChannels, d->defaultSampleRate,
                       i == Pa_GetDefaultInputDevice() ? "\t(default)" : "");
        }
        Pa_Terminate();
        return 0;
    }
    PaDeviceIndex dev = Pa_GetDefaultInputDevice();
    if (device) {
        int idx = -1;
        if (!parse_int_arg(device, 0, n_dev - 1, &idx))
            for (int i = 0; i < n_dev && idx < 0; i++) {
                const PaDeviceInfo *d = Pa_GetDeviceInfo(i);
                if (d && d->maxInputChannels > 0 && strstr(d->name, device))
                    idx = i;
            }
        dev = idx;
    }
    const PaDeviceInfo *di = dev >= 0 ? Pa_GetDeviceInfo(dev) : NULL;
    if (!di || di->maxInputChannels < 1) {
        fprintf(stderr, "sori mic: %s%s%s (sori mic --list-devices lists them)\n",
                device ? "no input device " : "no default input device", device ? device : "", "");
        Pa_Terminate();
        return 1;
    }
    static char mbuf[4096], lbuf[4096], vbuf[4096];
    const char *lm = NULL;
    if (!model_path && !(model_path = app_bundled(SORI_DEFAULT_WHISPER, mbuf, sizeof mbuf)) &&
        !(model_path = app_bundled(SORI_DEFAULT_MODEL, mbuf, sizeof mbuf))) {
        fprintf(stderr, "sori mic: no model: pass --model M.gguf\n");
        Pa_Terminate();
        return 1;
    }
    const char *base = strrchr(model_path, '/');
    if (!strcmp(base ? base + 1 : model_path, SORI_DEFAULT_MODEL))
        lm = app_bundled(SORI_DEFAULT_LM, lbuf, sizeof lbuf);
    sori_runtime_params rp = sori_runtime_default_params();
    if (threads)
        rp.n_threads = threads;
    rp.pool_bytes = (size_t)1 << 30;
    sori_runtime *rt = NULL;
    sori_asr_model *m = NULL;
    sori_silero_vad *sv = NULL;
    sori_asr_stream *s = NULL;
    PaStream *ps = NULL;
    sori_error err = {0};
    sori_asr_model_params mp = sori_asr_model_default_params();
    mp.lm_path = lm;
    if (sori_runtime_create(&rp, &rt, &err) != SORI_OK || sori_asr_model_load(rt, model_path, &mp, &m, &err) != SORI_OK) {
        fprintf(stderr, "sori mic: %s\n", err.message);
        goto done;
    }
    sori_asr_stream_params sp = sori_asr_stream_default_params();
    if (vad) {
        const char *vp = !strcmp(vad, "silero") ? app_bundled("silero-vad.gguf", vbuf, sizeof vbuf) : vad;
        if (!vp || sori_silero_vad_load(vp, &sv, &err) != SORI_OK) {
            fprintf(stderr, "sori mic: --vad %s: %s\n", vad, vp ? err.message : "data/silero-vad.gguf is absent");
            goto done;
        }
        sp.silero = sv;
    }
    if (sori_asr_stream_create(m, &sp, &s, &err) != SORI_OK) {
        fprintf(stderr, "sori mic: %s\n", err.message);
        goto done;
    }
    PaStreamParameters in = {dev, 1, paInt16, di->defaultLowInputLatency, NULL};
    const int frame = rate / 50; /* 20 ms */
    PaError pe = Pa_OpenStream(&ps, &in, NULL, rate, (unsigned long)frame, paNoFlag, NULL, NULL);
    if (pe == paNoError)
        pe = Pa_StartStream(ps);
    if (pe != paNoError) {
        fprintf(stderr, "sori mic: %s: cannot capture at %d Hz: %s\n", di->name, rate, Pa_GetErrorText(pe));
        goto done;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    const int tty = isatty(2);
    fprintf(stderr, "sori mic: %s, %d Hz, model %s%s\n", di->name, rate, model_path,
            tty ? " — speak; Ctrl-C ends" : "");
    short *pcm = malloc((size_t)frame * sizeof(short));
    float *x = malloc((size_t)frame * sizeof(float));
    char *shown = calloc(1, 1);
    int64_t captured = 0, limit = seconds > 0 ? (int64_t)(seconds * rate) : -1;
    sori_status st = pcm && x && shown ? SORI_OK : SORI_ERR_NO_MEMORY;
    rc = 0;
    while (st == SORI_OK && !g_stop && (limit < 0 || captured < limit)) {
        pe = Pa_ReadStream(ps, pcm, (unsigned long)frame);
        if (pe != paNoError && pe != paInputOverflowed) {
            fprintf(stderr, "%ssori mic: %s\n", tty ? "\n" : "", Pa_GetErrorText(pe));
            rc = 1;
            break;
        }
        for (int i = 0; i < frame; i++)
            x[i] = (float)pcm[i] / 32768.0f;
        captured += frame;
        st = sori_asr_stream_accept(s, x, frame, rate, &err);
        while (st == SORI_OK && sori_asr_stream_is_ready(s))
            st = sori_asr_decode_ready(m, &s, 1, &err);
        sori_asr_result *r = NULL;
        while (st == SORI_OK && sori_asr_stream_pop_final(s, &r, &err) == SORI_OK && r) {
            if (tty)
                fputs("\r\033[K", stderr);
            printf("%s\n", r->text);
            fflush(stdout);
            shown[0] = '\0';
            sori_asr_result_free(r);
        }
        if (st == SORI_OK && tty && sori_asr_stream_result(s, &r, &err) == SORI_OK) {
            if (strcmp(r->text, shown)) { /* the partial, redrawn in place */
                fprintf(stderr, "\r\033[K%s", r->text);
                char *c = realloc(shown, strlen(r->text) + 1);
                if (c) {
                    shown = c;
                    strcpy(shown, r->text);
                }
            }
            sori_asr_result_free(r);
        }
    }
    /* the end: what was said last becomes a final */
    if (st == SORI_OK)
        st = sori_asr_stream_input_finished(s, &err);
    while (st == SORI_OK && sori_asr_stream_is_ready(s))
        st = sori_asr_decode_ready(m, &s, 1, &err);
    sori_asr_result *r = NULL;
    while (st == SORI_OK && sori_asr_stream_pop_final(s, &r, &err) == SORI_OK && r) {
        printf("%s%s\n", tty ? "\r\033[K" : "", r->text);
        sori_asr_result_free(r);
    }
    if (st == SORI_OK && sori_asr_stream_result(s, &r, &err) == SORI_OK) {
        if (r->text[0])
            printf("%s\n", r->text);
        else if (tty)
            fputs("\r\033[K", stderr);
        sori_asr_result_free(r);
    }
    if (st != SORI_OK) {
        fprintf(stderr, "sori mic: %s\n", err.message);
        rc = 1;
    }
    fflush(stdout);
    free(pcm);
    free(x);
    free(shown);
done:
    if (ps) {
        Pa_StopStream(ps);
        Pa_CloseStream(ps);
    }
    Pa_Terminate();
    sori_asr_stream_free(s);
    sori_silero_vad_free(sv);
    sori_asr_model_free(m);
    sori_runtime_free(rt);
    return rc;
}
