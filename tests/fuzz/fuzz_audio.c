/* libFuzzer target: audio decoding of arbitrary bytes, as a file in memory
 * (libsndfile: WAV, FLAC, Ogg Vorbis/Opus, MP3 …) and as headerless PCM in
 * the format named by the first byte. Whatever decodes must be finite and
 * have a sane shape. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "sori/audio.h"

static void check(const sori_audio *a)
{
    if (a->n_frames < 1 || a->n_channels < 1 || a->n_channels > SORI_AUDIO_MAX_CHANNELS)
        abort();
    for (int64_t i = 0; i < a->n_frames * a->n_channels; i++)
        if (!isfinite(a->samples[i]))
            abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sori_audio a = {0};
    if (sori_audio_read_memory(data, size, &a, NULL) == SORI_OK)
        check(&a);
    sori_audio_free(&a);
    if (size >= 2) {
        sori_pcm_format fmt = (sori_pcm_format)(data[0] % 7);
        int channels = 1 + data[1] % 4;
        if (sori_audio_read_raw(data + 2, size - 2, fmt, channels, 8000, &a, NULL) == SORI_OK)
            check(&a);
        sori_audio_free(&a);
    }
    return 0;
}
