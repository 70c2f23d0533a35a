/* libFuzzer target: audio decoding of arbitrary bytes, as a file in memory
 * (libsndfile: WAV, FLAC, Ogg Vorbis/Opus, MP3 …) and as headerless PCM in
 * the format named by the first byte, and as length-prefixed raw Opus
 * packets. Whatever decodes must be finite and have a sane shape. Files are
 * read strictly and with allow_damaged: a strict success must report no
 * damage, and a damaged decode a place and a reason. The bytes are also
 * written to a file (named .mp3 for odd sizes, which the MPEG scan takes
 * by name) and read by the incremental reader, which must agree with a
 * whole read of that file: both succeed or both fail, with the same
 * samples (mixed to mono). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sori/audio.h"

/* The reader against the whole read of the same file. */
static void reader_agrees(const uint8_t *data, size_t size, int allow)
{
    static char path[64];
    snprintf(path, sizeof path, "/tmp/fuzz_audio_%d.%s", (int)getpid(), size & 1 ? "mp3" : "bin");
    FILE *f = fopen(path, "wb");
    if (!f)
        return;
    size_t w = fwrite(data, 1, size, f);
    fclose(f);
    if (w != size) {
        unlink(path);
        return;
    }
    sori_audio_read_params p = sori_audio_read_default_params();
    p.allow_damaged = allow;
    sori_audio a = {0}, mono = {0};
    sori_status st = sori_audio_read_file_with_params(path, &p, &a, NULL, NULL);
    if (st == SORI_OK && sori_audio_select_channel(&a, SORI_CHANNEL_MIX, &mono, NULL) != SORI_OK)
        abort();
    sori_audio_reader *r = NULL;
    sori_status rst = sori_audio_reader_open(path, &p, SORI_CHANNEL_MIX, 0, &r, NULL, NULL);
    int64_t n = 0, got = 0;
    static float buf[4096];
    while (rst == SORI_OK && (rst = sori_audio_reader_read(r, buf, 4096, &got, NULL)) == SORI_OK && got > 0) {
        if (st == SORI_OK && (n + got > mono.n_frames || memcmp(buf, mono.samples + n, (size_t)got * sizeof(float))))
            abort(); /* other samples */
        n += got;
    }
    if ((st == SORI_OK) != (rst == SORI_OK) || (st == SORI_OK && n != mono.n_frames))
        abort(); /* another verdict, or another length */
    sori_audio_reader_close(r);
    sori_audio_free(&a);
    sori_audio_free(&mono);
    unlink(path);
}

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
    if (size > 0) {
        reader_agrees(data, size, 0);
        reader_agrees(data, size, 1);
    }
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
