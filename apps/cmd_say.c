/* sori say: text to speech with a voice file (sori/tts.h).
 *   sori say --voice VOICE.gguf [-o OUT] [--format wav|flac|opus|ulaw] [--sample-rate HZ]
 *            [--speaker N] [--rate R] [--seed N] [TEXT]...
 * Speaks each TEXT (or each line of standard input when none is given) and writes all of it,
 * 0.3 s of silence between lines, to one file: OUT (default out.wav), encoded by --format or
 * OUT's extension (.wav, .flac, .opus/.ogg; ulaw: 8 kHz G.711 μ-law WAV, the telephone's),
 * resampled to --sample-rate when given. The text goes to the voice's own symbols: the longest
 * entry of its vocabulary at each place (characters for MMS-TTS voices), a blank between them
 * where the voice was trained so; what the vocabulary lacks is left out and counted on stderr.
 * No Korean voice is bundled yet (docs/tts.md). */
#define _POSIX_C_SOURCE 200809L
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "sori/audio.h"
#include "sori/runtime.h"
#include "sori/tts.h"

static void say_usage(FILE *f)
{
    fprintf(f, "usage: sori say --voice VOICE.gguf [-o OUT] [--format wav|flac|opus|ulaw] [--sample-rate HZ]\n"
               "                [--speaker N] [--rate R] [--seed N] [TEXT]...\n"
               "(no TEXT: the lines of standard input; all of it into one file, out.wav by default)\n");
}

typedef struct {
    const char **text; /* each id's text (NULL: none) */
    size_t *len;
    int32_t n;
    bool blank;
} vocab;

/* text → ids by the longest vocabulary entry at each byte; *skipped: characters left out */
static int tokenize(const vocab *v, const char *s, size_t n, int32_t *ids, int cap, int *skipped)
{
    int k = 0;
    for (size_t i = 0; i < n;) {
        int32_t best = -1;
        size_t best_len = 0;
        for (int32_t id = v->blank ? 1 : 0; id < v->n; id++)
            if (v->text[id] && v->len[id] > best_len && v->len[id] <= n - i && !memcmp(s + i, v->text[id], v->len[id]))
                best = id, best_len = v->len[id];
        if (best < 0) { /* not in the vocabulary: skip one UTF-8 character */
            const unsigned char c = (unsigned char)s[i];
            size_t step = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
            i += step <= n - i ? step : n - i;
            *skipped += c != ' ';
            continue;
        }
        if (v->blank && k < cap)
            ids[k++] = 0;
        if (k < cap)
            ids[k++] = best;
        i += best_len;
    }
    if (v->blank && k > 0 && k < cap)
        ids[k++] = 0;
    return k;
}

int cmd_say(int argc, char **argv)
{
    const char *voice_path = NULL, *out_path = "out.wav", *format = NULL;
    int speaker = 0, rate_hz = 0, first = -1;
    float rate = 1.0f;
    unsigned long long seed = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        char *end = NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            say_usage(stdout);
            return 0;
        } else if (!strcmp(a, "--voice") && v) {
            voice_path = argv[++i];
        } else if (!strcmp(a, "-o") && v) {
            out_path = argv[++i];
        } else if (!strcmp(a, "--format") && v) {
            format = argv[++i];
        } else if (!strcmp(a, "--speaker") && v) {
            speaker = (int)strtol(argv[++i], &end, 10);
            if (*end || speaker < 0) {
                fprintf(stderr, "sori say: --speaker '%s'\n", v);
                return 2;
            }
        } else if (!strcmp(a, "--rate") && v) {
            rate = strtof(argv[++i], &end);
            if (*end || !(rate >= 0.25f && rate <= 4.0f)) {
                fprintf(stderr, "sori say: --rate '%s' (0.25..4)\n", v);
                return 2;
            }
        } else if (!strcmp(a, "--sample-rate") && v) {
            rate_hz = (int)strtol(argv[++i], &end, 10);
            if (*end || rate_hz < 8000 || rate_hz > 192000) {
                fprintf(stderr, "sori say: --sample-rate '%s' (8000..192000)\n", v);
                return 2;
            }
        } else if (!strcmp(a, "--seed") && v) {
            seed = strtoull(argv[++i], &end, 10);
            if (*end) {
                fprintf(stderr, "sori say: --seed '%s'\n", v);
                return 2;
            }
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "sori say: bad option '%s'\n", a);
            say_usage(stderr);
            return 2;
        } else {
            first = i;
            break;
        }
    }
    if (!voice_path) {
        fprintf(stderr, "sori say: --voice VOICE.gguf is needed (no voice is bundled yet: tools/vits_to_gguf.py "
                        "converts a VITS voice)\n");
        return 2;
    }
    const char *ext = strrchr(out_path, '.');
    if (!format)
        format = ext && !strcmp(ext, ".flac") ? "flac" : ext && (!strcmp(ext, ".opus") || !strcmp(ext, ".ogg")) ? "opus"
                                                                                                                : "wav";
    sori_audio_encoding enc;
    if (!strcmp(format, "wav"))
        enc = SORI_ENC_WAV_PCM16;
    else if (!strcmp(format, "flac"))
        enc = SORI_ENC_FLAC;
    else if (!strcmp(format, "opus"))
        enc = SORI_ENC_OGG_OPUS;
    else if (!strcmp(format, "ulaw"))
        enc = SORI_ENC_WAV_MULAW, rate_hz = rate_hz ? rate_hz : 8000;
    else {
        fprintf(stderr, "sori say: --format '%s' (wav, flac, opus, ulaw)\n", format);
        return 2;
    }
    sori_error err = {0};
    sori_runtime_params rp = sori_runtime_default_params();
    rp.device = SORI_DEVICE_CPU;
    sori_runtime *rt = NULL;
    sori_tts_voice *voice = NULL;
    sori_tts_synth *s = NULL;
    sori_audio all = {0}, out = {0};
    vocab v = {0};
    int32_t *ids = NULL;
    char *line = NULL;
    int rc = 1, skipped = 0;
    if (sori_runtime_create(&rp, &rt, &err) != SORI_OK || sori_tts_voice_load(rt, voice_path, &voice, &err) != SORI_OK)
        goto fail;
    const sori_tts_voice_info info = sori_tts_voice_get_info(voice);
    sori_tts_synth_params sp = sori_tts_synth_default_params(voice);
    sp.speaker_id = speaker;
    sp.length_scale /= rate;
    sp.seed = seed;
    if (sori_tts_synth_create(voice, &sp, &s, &err) != SORI_OK)
        goto fail;
    v.n = info.n_vocab, v.blank = info.add_blank;
    v.text = calloc((size_t)v.n, sizeof *v.text);
    v.len = calloc((size_t)v.n, sizeof *v.len);
    if (!v.text || !v.len) {
        fprintf(stderr, "sori say: out of memory\n");
        goto done;
    }
    for (int32_t id = 0; id < v.n; id++)
        if ((v.text[id] = sori_tts_voice_token(voice, id)))
            v.len[id] = strlen(v.text[id]);
    all.n_channels = 1, all.sample_rate_hz = info.sample_rate_hz;
    size_t lcap = 0;
    long lineno = 0;
    for (;;) {
        const char *t;
        size_t n;
        if (first >= 0) {
            if (first >= argc)
                break;
            t = argv[first++];
            n = strlen(t);
        } else {
            const ssize_t got = getline(&line, &lcap, stdin);
            if (got < 0)
                break;
            n = (size_t)got;
            while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
                n--;
            t = line;
        }
        lineno++;
        const int cap = 2 * (int)(n < (size_t)sp.max_tokens ? n : (size_t)sp.max_tokens) + 2;
        int32_t *p = realloc(ids, (size_t)cap * sizeof *ids);
        if (!p) {
            fprintf(stderr, "sori say: out of memory\n");
            goto done;
        }
        ids = p;
        const int k = tokenize(&v, t, n, ids, cap, &skipped);
        const float *pcm = NULL;
        int64_t got = 0;
        if (sori_tts_synth_tokens(s, ids, k, NULL, &pcm, &got, &err) != SORI_OK) {
            fprintf(stderr, "sori say: line %ld: %s\n", lineno, err.message);
            goto done;
        }
        const int64_t gap = all.n_frames ? info.sample_rate_hz * 3 / 10 : 0;
        float *grown = realloc(all.samples, (size_t)(all.n_frames + gap + got) * sizeof(float));
        if (!grown && all.n_frames + gap + got > 0) {
            fprintf(stderr, "sori say: out of memory\n");
            goto done;
        }
        all.samples = grown;
        memset(all.samples + all.n_frames, 0, (size_t)gap * sizeof(float));
        if (got)
            memcpy(all.samples + all.n_frames + gap, pcm, (size_t)got * sizeof(float));
        all.n_frames += gap + got;
    }
    if (skipped)
        fprintf(stderr, "sori say: %d characters the voice has no symbol for were left out\n", skipped);
    const sori_audio *w = &all;
    if (rate_hz && rate_hz != all.sample_rate_hz) {
        if (sori_audio_resample(&all, rate_hz, &out, &err) != SORI_OK)
            goto fail;
        w = &out;
    }
    if (sori_audio_write_file(out_path, w, enc, &err) != SORI_OK)
        goto fail;
    fprintf(stderr, "sori say: %s: %.2f s at %d Hz\n", out_path, (double)w->n_frames / w->sample_rate_hz,
            w->sample_rate_hz);
    rc = 0;
    goto done;
fail:
    fprintf(stderr, "sori say: %s\n", err.message);
done:
    free(line);
    free(ids);
    free(v.text);
    free(v.len);
    sori_audio_free(&all);
    sori_audio_free(&out);
    sori_tts_synth_free(s);
    sori_tts_voice_free(voice);
    sori_runtime_free(rt);
    return rc;
}
