/* libFuzzer target: audio decoding of arbitrary bytes, as a file in memory
 * (libsndfile: WAV, FLAC, Ogg Vorbis/Opus, MP3 …) and as headerless PCM in
 * the format named by the first byte, and as length-prefixed raw Opus
 * packets. Whatever decodes must be finite and have a sane shape. Files are
 * read strictly and with allow_damaged: a strict success must report no
 * damage, and a damaged decode a place and a reason. */
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
    sori_audio_damage dmg;
    sori_audio_read_params p = sori_audio_read_default_params();
    if (sori_audio_read_memory_with_params(data, size, &p, &a, &dmg, NULL) == SORI_OK) {
        check(&a);
        if (dmg.n_places)
            abort();
    }
    sori_audio_free(&a);
    p.allow_damaged = true;
    if (sori_audio_read_memory_with_params(data, size, &p, &a, &dmg, NULL) == SORI_OK) {
        check(&a);
        if (dmg.n_places && (!dmg.reason[0] || !(dmg.lost_s >= 0) || dmg.lost_to_s < dmg.lost_from_s))
            abort();
    }
    sori_audio_free(&a);
    if (size >= 2) {
        sori_pcm_format fmt = (sori_pcm_format)(data[0] % 7);
        int channels = 1 + data[1] % 4;
        if (sori_audio_read_raw(data + 2, size - 2, fmt, channels, 8000, &a, NULL) == SORI_OK)
            check(&a);
        sori_audio_free(&a);
    }
    /* the bytes as raw Opus packets, each prefixed by a one-byte length */
    sori_opus_decoder *d = NULL;
    if (sori_opus_decoder_create(16000, 1 + (size & 1), &d, NULL) == SORI_OK) {
        static float pcm[5760 * 2];
        for (size_t pos = 0; pos < size;) {
            size_t len = data[pos++];
            if (len == 0 || len > size - pos)
                break;
            int nf = 0;
            if (sori_opus_decoder_decode(d, data + pos, len, pcm, 5760, &nf, NULL) == SORI_OK &&
                (nf < 0 || nf > 5760))
                abort();
            pos += len;
        }
        sori_opus_decoder_free(d);
    }
    return 0;
}
