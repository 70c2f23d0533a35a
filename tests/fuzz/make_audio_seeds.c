/* Writes a small seed corpus for fuzz_audio: 50 ms of a tone in every
 * encoding sori writes. usage: make_audio_seeds DIR */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "sori/audio.h"

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: make_audio_seeds DIR\n");
        return 2;
    }
    static const struct {
        sori_audio_encoding enc;
        const char *name;
        int rate, channels;
    } seeds[] = {
        {SORI_ENC_WAV_PCM16, "pcm16.wav", 16000, 1}, {SORI_ENC_WAV_FLOAT, "float.wav", 8000, 2},
        {SORI_ENC_WAV_MULAW, "mulaw.wav", 8000, 1},  {SORI_ENC_WAV_ALAW, "alaw.wav", 8000, 1},
        {SORI_ENC_FLAC, "a.flac", 16000, 2},         {SORI_ENC_OGG_OPUS, "a.opus", 16000, 1},
    };
    int failed = 0;
    for (size_t i = 0; i < sizeof seeds / sizeof seeds[0]; i++) {
        sori_audio a = {0};
        a.sample_rate_hz = seeds[i].rate;
        a.n_channels = seeds[i].channels;
        a.n_frames = seeds[i].rate / 20;
        a.samples = malloc((size_t)(a.n_frames * a.n_channels) * sizeof(float));
        for (int64_t t = 0; t < a.n_frames * a.n_channels; t++)
            a.samples[t] = 0.3f * sinf(0.05f * (float)t);
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", argv[1], seeds[i].name);
        sori_error err = {0};
        if (sori_audio_write_file(path, &a, seeds[i].enc, &err) != SORI_OK) {
            fprintf(stderr, "%s\n", err.message);
            failed = 1;
        }
        sori_audio_free(&a);
    }
    return failed;
}
