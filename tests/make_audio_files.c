/* Writes short audio files in every format sori decodes: 0.3 s of two tones
 * (WAV 16-bit/float/μ-law/A-law, FLAC, Ogg Opus through sori; Ogg Vorbis and
 * MP3 through libsndfile directly, when it can encode them). Used by the
 * CLI test and as the audio fuzzer's seed corpus.
 *   make_audio_files DIR
 * And single files for the CLI test:
 *   make_audio_files --tone RATE SECONDS FILE.wav     a tone in bursts (16-bit WAV)
 *   make_audio_files --silence RATE SECONDS FILE.wav  digital silence
 *   make_audio_files --damaged DIR    damaged.opus (a byte changed in a page
 *                                     in the middle), cut.flac (cut at 50 %) */
#include <math.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sori/audio.h"

static sori_audio tone(int rate, int channels)
{
    sori_audio a = {0};
    a.sample_rate_hz = rate;
    a.n_channels = channels;
    a.n_frames = rate * 3 / 10;
    a.samples = malloc((size_t)(a.n_frames * channels) * sizeof(float));
    for (int64_t t = 0; t < a.n_frames; t++)
        for (int c = 0; c < channels; c++)
            a.samples[t * channels + c] = 0.3f * sinf(6.2831853f * (c ? 1000.0f : 440.0f) * (float)t / rate);
    return a;
}

/* rate Hz, seconds long: a 300 Hz tone (with harmonics, so it has some
 * spectrum) in 0.6 s bursts with 0.4 s pauses, or silence */
static int write_wav(const char *path, int rate, double seconds, int silent)
{
    sori_audio a = {0};
    a.sample_rate_hz = rate;
    a.n_channels = 1;
    a.n_frames = (int64_t)(rate * seconds);
    a.samples = calloc((size_t)(a.n_frames ? a.n_frames : 1), sizeof(float));
    if (!a.samples)
        return 1;
    for (int64_t t = 0; t < a.n_frames && !silent; t++) {
        double s = (double)t / rate, x = 0;
        if (s - (int64_t)s < 0.6)
            for (int h = 1; h <= 6; h++)
                x += 0.08 / h * sin(6.283185307179586 * 300.0 * h * s);
        a.samples[t] = (float)x;
    }
    sori_error err = {0};
    sori_status st = sori_audio_write_file(path, &a, SORI_ENC_WAV_PCM16, &err);
    if (st != SORI_OK)
        fprintf(stderr, "%s\n", err.message);
    sori_audio_free(&a);
    return st != SORI_OK;
}

static unsigned char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)len + 1);
    *n = b ? fread(b, 1, (size_t)len, f) : 0;
    fclose(f);
    return b;
}

static int spit(const char *path, const unsigned char *b, size_t n)
{
    FILE *f = fopen(path, "wb");
    int bad = !f || fwrite(b, 1, n, f) != n;
    if (f)
        bad |= fclose(f) != 0;
    return bad;
}

/* damaged.opus: 4 s, one byte changed inside the page at the middle (its
 * CRC fails); cut.flac: 4 s, cut at half its bytes. */
static int write_damaged(const char *dir)
{
    char path[1024];
    sori_audio a = {0};
    a.sample_rate_hz = 48000;
    a.n_channels = 1;
    a.n_frames = 4 * 48000;
    a.samples = malloc((size_t)a.n_frames * sizeof(float));
    for (int64_t t = 0; t < a.n_frames; t++)
        a.samples[t] = 0.3f * sinf(6.2831853f * 440.0f * (float)t / 48000) * (t % 48000 < 30000);
    sori_error err = {0};
    int bad = 0;
    const struct {
        const char *name;
        sori_audio_encoding enc;
    } f[] = {{"damaged.opus", SORI_ENC_OGG_OPUS}, {"cut.flac", SORI_ENC_FLAC}};
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, f[i].name);
        if (sori_audio_write_file(path, &a, f[i].enc, &err) != SORI_OK) {
            fprintf(stderr, "%s\n", err.message);
            bad = 1;
            continue;
        }
        size_t n = 0;
        unsigned char *b = slurp(path, &n);
        if (!b || n < 1000) {
            bad = 1;
        } else if (i == 0) {
            size_t at = n / 2; /* a byte in the body of the page there */
            while (at + 4 < n && memcmp(b + at, "OggS", 4) != 0)
                at++;
            b[at > 200 ? at - 100 : at + 200] ^= 0x5a;
            bad |= spit(path, b, n);
        } else {
            bad |= spit(path, b, n / 2);
        }
        free(b);
    }
    sori_audio_free(&a);
    return bad;
}

int main(int argc, char **argv)
{
    if (argc == 5 && (strcmp(argv[1], "--tone") == 0 || strcmp(argv[1], "--silence") == 0))
        return write_wav(argv[4], atoi(argv[2]), atof(argv[3]), strcmp(argv[1], "--silence") == 0);
    if (argc == 3 && strcmp(argv[1], "--damaged") == 0)
        return write_damaged(argv[2]);
    if (argc != 2) {
        fprintf(stderr, "usage: make_audio_files DIR\n"
                        "       make_audio_files --tone|--silence RATE SECONDS FILE.wav\n"
                        "       make_audio_files --damaged DIR\n");
        return 2;
    }
    static const struct {
        sori_audio_encoding enc;
        const char *name;
        int rate, channels;
    } files[] = {
        {SORI_ENC_WAV_PCM16, "pcm16.wav", 16000, 1}, {SORI_ENC_WAV_FLOAT, "float.wav", 44100, 2},
        {SORI_ENC_WAV_MULAW, "mulaw.wav", 8000, 1},  {SORI_ENC_WAV_ALAW, "alaw.wav", 8000, 1},
        {SORI_ENC_FLAC, "flac.flac", 22050, 2},         {SORI_ENC_OGG_OPUS, "opus.opus", 48000, 1},
    };
    int failed = 0;
    char path[1024];
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        sori_audio a = tone(files[i].rate, files[i].channels);
        snprintf(path, sizeof path, "%s/%s", argv[1], files[i].name);
        sori_error err = {0};
        if (sori_audio_write_file(path, &a, files[i].enc, &err) != SORI_OK) {
            fprintf(stderr, "%s\n", err.message);
            failed = 1;
        }
        sori_audio_free(&a);
    }
    static const struct {
        int format;
        const char *name;
    } other[] = {{SF_FORMAT_OGG | SF_FORMAT_VORBIS, "vorbis.ogg"},
                 {SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III, "mp3.mp3"}};
    for (int i = 0; i < 2; i++) {
        sori_audio a = tone(16000, 1);
        SF_INFO info = {.samplerate = 16000, .channels = 1, .format = other[i].format};
        snprintf(path, sizeof path, "%s/%s", argv[1], other[i].name);
        SNDFILE *sf = sf_open(path, SFM_WRITE, &info);
        if (sf) {
            sf_writef_float(sf, a.samples, a.n_frames);
            sf_close(sf);
        } else {
            fprintf(stderr, "note: libsndfile cannot write %s here\n", other[i].name);
        }
        sori_audio_free(&a);
    }
    return failed;
}
