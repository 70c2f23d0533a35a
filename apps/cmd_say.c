/* sori say: text to speech with a voice file (sori/tts.h).
 *   sori say [--voice VOICE.gguf] [-o OUT|-] [--play] [--format wav|flac|opus|ulaw]
 *            [--sample-rate HZ] [--speaker N|NAME] [--rate R] [--seed N] [TEXT]...
 * Options may come before or after the TEXTs; after `--` every argument is TEXT, and one that
 * starts with '-' and a digit ("-5도") is TEXT anyway.
 * Speaks each TEXT (or each line of standard input when none is given) and writes all of it,
 * 0.3 s of silence between lines, to one file: OUT (default out.wav), encoded by --format or
 * OUT's extension (.wav, .flac, .opus/.ogg; ulaw: 8 kHz G.711 μ-law WAV, the telephone's),
 * resampled to --sample-rate when given; -o - writes it to standard output, --play plays it on
 * the default output device (PortAudio) instead of writing a file. Without --voice: the bundled Kokoro-82M voice
 * (data/kokoro-82m.gguf, which tools/setup.sh fetches and converts). The text goes to the
 * voice's own symbols (sori_tts_text_to_ids): Korean through normalization, the standard
 * pronunciation and IPA for Kokoro; the longest vocabulary entry at each place for VITS voices
 * (characters for MMS-TTS). What the voice has no symbol for is left out and counted on stderr. */
#define _POSIX_C_SOURCE 200809L
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "sori/audio.h"
#include "sori/runtime.h"
#include "sori/tts.h"

#define SORI_DEFAULT_VOICE "kokoro-82m.gguf"

static void say_usage(FILE *f)
{
    fprintf(f, "usage: sori say [--voice VOICE.gguf] [-o OUT|-] [--play] [--format wav|flac|opus|ulaw]\n"
               "                [--sample-rate HZ] [--speaker N|NAME] [--rate R] [--seed N] [TEXT]...\n"
               "(no TEXT: the lines of standard input; all of it into one file, out.wav by default;\n"
               " no --voice: the bundled Kokoro voice, data/kokoro-82m.gguf)\n");
}

int cmd_say(int argc, char **argv)
{
    const char *voice_path = NULL, *out_path = "out.wav", *format = NULL;
    const char *speaker_name = NULL;
    bool play = false;
    int speaker = -1, rate_hz = 0, n_text = 0; /* no TEXT: the lines of standard input */
    char **text = argv; /* the TEXT arguments, moved to the front in order (never past what is read) */
    bool options = true;
    float rate = 1.0f;
    unsigned long long seed = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        char *end = NULL;
        if (!options || a[0] != '-' || !a[1] || (a[1] >= '0' && a[1] <= '9')) {
            text[n_text++] = argv[i];
        } else if (!strcmp(a, "--")) {
            options = false;
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            say_usage(stdout);
            return 0;
        } else if (!strcmp(a, "--voice") && v) {
            voice_path = argv[++i];
        } else if (!strcmp(a, "-o") && v) {
            out_path = argv[++i];
        } else if (!strcmp(a, "--play")) {
#ifdef SORI_HAVE_MIC
            play = true;
#else
            fprintf(stderr, "sori say: --play: this sori was built without PortAudio (write a file with -o)\n");
            return 2;
#endif
        } else if (!strcmp(a, "--format") && v) {
            format = argv[++i];
        } else if (!strcmp(a, "--speaker") && v) {
            speaker = (int)strtol(argv[++i], &end, 10);
            if (*end || end == v) /* a name: looked up in the voice */
                speaker = -1, speaker_name = v;
            else if (speaker < 0) {
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
        } else {
            static const char *const valued[] = {"--voice", "-o", "--format", "--speaker", "--rate", "--sample-rate",
                                                 "--seed"};
            bool needs_value = false;
            for (size_t k = 0; k < sizeof valued / sizeof *valued; k++)
                needs_value = needs_value || !strcmp(a, valued[k]);
            if (needs_value) /* the known ones fall through only when they are the last argument */
                fprintf(stderr, "sori say: %s: its value missing\n", a);
            else
                fprintf(stderr, "sori say: bad option '%s'\n", a);
            say_usage(stderr);
            return 2;
        }
    }
    char bundled[4096];
    if (!voice_path && !(voice_path = app_bundled(SORI_DEFAULT_VOICE, bundled, sizeof bundled))) {
        fprintf(stderr, "sori say: no voice: the bundled one (data/%s) is fetched and converted by tools/setup.sh; "
                        "or give --voice VOICE.gguf (tools/vits_to_gguf.py converts a VITS voice)\n",
                SORI_DEFAULT_VOICE);
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
    int32_t *ids = NULL;
    char *line = NULL;
    int rc = 1, skipped = 0;
    if (sori_runtime_create(&rp, &rt, &err) != SORI_OK || sori_tts_voice_load(rt, voice_path, &voice, &err) != SORI_OK)
        goto fail;
    const sori_tts_voice_info info = sori_tts_voice_get_info(voice);
    sori_tts_synth_params sp = sori_tts_synth_default_params(voice);
    if (speaker_name && (speaker = sori_tts_voice_find_speaker(voice, speaker_name)) < 0) {
        fprintf(stderr, "sori say: the voice has no speaker '%s'; it has:", speaker_name);
        for (int i = 0; i < info.n_speakers && sori_tts_voice_speaker(voice, i); i++)
            fprintf(stderr, " %s", sori_tts_voice_speaker(voice, i));
        fprintf(stderr, "\n");
        goto done;
    }
    if (speaker >= 0)
        sp.speaker_id = speaker;
    sp.length_scale /= rate;
    sp.seed = seed;
    if (sori_tts_synth_create(voice, &sp, &s, &err) != SORI_OK)
        goto fail;
    all.n_channels = 1, all.sample_rate_hz = info.sample_rate_hz;
    size_t lcap = 0;
    long lineno = 0;
    for (;;) {
        const char *t;
        size_t n;
        if (n_text) {
            if (lineno >= n_text)
                break;
            t = text[lineno];
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
        int k = 0, skip = 0, cap = 0;
        sori_status ts;
        while ((ts = sori_tts_text_to_ids(voice, t, n, ids, cap, &k, &skip, &err)) == SORI_ERR_INVALID_ARG &&
               k > cap) {
            int32_t *p = realloc(ids, (size_t)k * sizeof *ids);
            if (!p) {
                fprintf(stderr, "sori say: out of memory\n");
                goto done;
            }
            ids = p, cap = k;
        }
        if (ts != SORI_OK) {
            fprintf(stderr, "sori say: line %ld: %s\n", lineno, err.message);
            goto done;
        }
        skipped += skip;
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
    if (all.n_frames == 0) {
        fprintf(stderr, "sori say: nothing to say: the text has nothing the voice reads (letters it has no symbol "
                        "for, emoji and symbols are left out)\n");
        goto done;
    }
    const sori_audio *w = &all;
    if (rate_hz && rate_hz != all.sample_rate_hz) {
        if (sori_audio_resample(&all, rate_hz, &out, &err) != SORI_OK)
            goto fail;
        w = &out;
    }
    if (play) {
#ifdef SORI_HAVE_MIC
        if (app_play(w) != 0)
            goto done;
#endif
        fprintf(stderr, "sori say: played %.2f s at %d Hz\n", (double)w->n_frames / w->sample_rate_hz,
                w->sample_rate_hz);
        rc = 0;
        goto done;
    }
    if (!strcmp(out_path, "-")) { /* the encoders seek: through a temporary file to standard output */
        char tmp[] = "/tmp/sori-say-XXXXXX";
        const int fd = mkstemp(tmp);
        if (fd < 0) {
            fprintf(stderr, "sori say: no temporary file for standard output\n");
            goto done;
        }
        close(fd);
        char named[64];
        snprintf(named, sizeof named, "%s.%s", tmp, enc == SORI_ENC_FLAC ? "flac" : enc == SORI_ENC_OGG_OPUS ? "ogg" : "wav");
        rename(tmp, named);
        sori_status ws = sori_audio_write_file(named, w, enc, &err);
        FILE *f = ws == SORI_OK ? fopen(named, "rb") : NULL;
        char buf[65536];
        size_t got;
        bool ok = f != NULL;
        while (f && (got = fread(buf, 1, sizeof buf, f)) > 0)
            ok &= fwrite(buf, 1, got, stdout) == got;
        if (f)
            fclose(f);
        unlink(named);
        if (ws != SORI_OK)
            goto fail;
        if (!ok || fflush(stdout) != 0) {
            fprintf(stderr, "sori say: cannot write standard output\n");
            goto done;
        }
    } else if (sori_audio_write_file(out_path, w, enc, &err) != SORI_OK)
        goto fail;
    fprintf(stderr, "sori say: %s: %.2f s at %d Hz\n", !strcmp(out_path, "-") ? "(standard output)" : out_path,
            (double)w->n_frames / w->sample_rate_hz, w->sample_rate_hz);
    rc = 0;
    goto done;
fail:
    fprintf(stderr, "sori say: %s\n", err.message);
done:
    free(line);
    free(ids);
    sori_audio_free(&all);
    sori_audio_free(&out);
    sori_tts_synth_free(s);
    sori_tts_voice_free(voice);
    sori_runtime_free(rt);
    return rc;
}
