/* Writes short audio files in every format sori decodes: 0.3 s of two tones
 * (WAV 16-bit/float/μ-law/A-law, FLAC, Ogg Opus through sori; Ogg Vorbis and
 * MP3 through libsndfile directly, when it can encode them). Used by the
 * CLI test and as the audio fuzzer's seed corpus.
 *   make_audio_files DIR */
#include <math.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>

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

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: make_audio_files DIR\n");
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
