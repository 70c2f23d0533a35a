/*
 * sori/audio.h — audio in and out: decoding files and buffers, headerless
 * PCM, G.711, encoding, channel selection and resampling.
 *
 * Usage:
 *     sori_audio a = {0};
 *     sori_error err = {0};
 *     if (sori_audio_read_file("call.wav", &a, &err) != SORI_OK)
 *         fprintf(stderr, "%s\n", err.message);     // names the file and the reason
 *     sori_audio mono = {0}, pcm16k = {0};
 *     sori_audio_select_channel(&a, SORI_CHANNEL_MIX, &mono, &err);
 *     sori_audio_resample(&mono, 16000, &pcm16k, &err);
 *     ... pcm16k.samples, pcm16k.n_frames ...
 *     sori_audio_free(&a); sori_audio_free(&mono); sori_audio_free(&pcm16k);
 *
 * Samples are float, nominally in [-1, 1], interleaved by channel. Files
 * are decoded by libsndfile: WAV (PCM 8/16/24/32-bit, float, μ-law, A-law),
 * FLAC, Ogg Vorbis, Ogg Opus, MP3, and the other formats it reads.
 * Bad input (unreadable, truncated, corrupt, unsupported, zero-length,
 * absurd headers, NaN/Inf samples) returns an error naming the source and
 * the reason. All functions are thread-safe on distinct objects.
 *
 * Damaged files (a corrupt Ogg page or MPEG/FLAC frame, garbage between
 * them, a file cut short) are refused, with the place: "call.opus: damaged
 * at byte 16123 (2.00 s): Ogg page 3 of stream 1 fails its CRC (2.00-3.00 s
 * lost)". To keep what decodes instead:
 *     sori_audio_read_params p = sori_audio_read_default_params();
 *     p.allow_damaged = true;
 *     sori_audio_damage dmg;
 *     sori_audio_read_file_with_params("call.opus", &p, &a, &dmg, &err);
 *     if (dmg.n_places) ... dmg.lost_from_s, dmg.lost_to_s, dmg.reason ...
 */
#ifndef SORI_AUDIO_H
#define SORI_AUDIO_H

#include <stdbool.h>

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sori_audio {
    float *samples;      /* n_frames * n_channels, interleaved; owned */
    int64_t n_frames;
    int n_channels;
    int sample_rate_hz;
} sori_audio;

/* Frees the samples and zeroes the struct. NULL or an empty struct: no-op. */
SORI_API void sori_audio_free(sori_audio *a);

/* Limits applied to every decoded input (absurd headers are refused):
 * 1..64 channels, 1 kHz..768 kHz, at most 4 hours at that rate. */
#define SORI_AUDIO_MAX_CHANNELS 64
#define SORI_AUDIO_MAX_SECONDS (4 * 3600)

/* Decodes a whole file into *out (owned by the caller: sori_audio_free).
 * The strict form of sori_audio_read_file_with_params: a damaged file is
 * refused. On any error *out is left empty (samples NULL).
 *   SORI_ERR_INVALID_ARG  path or out is NULL
 *   SORI_ERR_IO           missing, unreadable, not a regular file
 *   SORI_ERR_UNSUPPORTED  not an audio file sori can decode
 *   SORI_ERR_FORMAT       empty, damaged, absurd header, no samples, NaN/Inf
 *   SORI_ERR_NO_MEMORY    out of memory */
SORI_API sori_status sori_audio_read_file(const char *path, sori_audio *out, sori_error *err);
/* A whole file's bytes in memory (same formats and statuses as files; the
 * bytes are only read during the call). Messages name it "<memory>". */
SORI_API sori_status sori_audio_read_memory(const void *data, size_t size, sori_audio *out,
                                            sori_error *err);

/* ---- damaged files ------------------------------------------------------
 * The same policy for every container: a file with a damaged place is
 * SORI_ERR_FORMAT, and the message gives the place (its byte offset and its
 * time in seconds) and the reason, unless the caller asks to keep what
 * decodes (allow_damaged). What is checked:
 *   Ogg (Opus, Vorbis): every page's capture pattern, version and CRC; bytes
 *     between pages; page sequence numbers per logical stream; each stream
 *     must end with its end-of-stream page and the file not in mid-page.
 *     Chained files (several streams one after another) are decoded whole;
 *     of multiplexed streams libsndfile decodes one.
 *   MP3 (MPEG 1/2/2.5 layer I/II/III): frame sync and lengths from the
 *     first frame to the end (ID3v2 tags, ID3v1/APEv2/Lyrics3 tags at the
 *     end and zero padding are not damage); a file ending in mid-frame;
 *     fewer frames than a Xing/Info/VBRI header declares; the LAME tag's
 *     CRC-16 of the audio when the tag's own CRC holds (its place cannot be
 *     told: the span given is the whole file, with nothing counted lost;
 *     files whose gain mp3gain changed in place are not checked this way).
 *   FLAC: every frame's header CRC-8 and CRC-16, frame numbers, garbage
 *     between frames, a cut last frame, STREAMINFO's sample count.
 *   WAV, AIFF and other headers that state the length: a file shorter than
 *     its header says; a header libsndfile cannot read (the chunk where the
 *     RIFF structure breaks). PCM has no checksums: a changed sample byte
 *     is not detectable.
 *   Any container: libsndfile must give the audio the container says it
 *     holds (granules, frame counts, STREAMINFO); a decoder that stops early
 *     or fails is damage at an unknown byte (-1). */

/* A report of the damage found; all times in the file's own timeline
 * (seconds from its start, as its granule positions / frame numbers say). */
typedef struct sori_audio_damage {
    int n_places;          /* damaged places found; 0: intact (all else 0) */
    int64_t byte_offset;   /* where the first damaged place begins (bytes);
                              -1: found by the decoder, place in bytes unknown */
    double lost_from_s;    /* the audio the first place held: from ... */
    double lost_to_s;      /* ... to (== lost_from_s when it held none,
                              e.g. garbage between intact pages) */
    double lost_s;         /* audio lost in all places together, seconds */
    bool length_unknown;   /* cut short in a format that does not state its
                              length (Ogg, MP3 without a Xing count): the
                              audio after the cut is not counted above */
    char reason[128];      /* the first place, e.g. "Ogg page 3 of stream 1
                              fails its CRC"; "" when intact */
} sori_audio_damage;

typedef struct sori_audio_read_params {
    bool allow_damaged;      /* false: a damaged file is SORI_ERR_FORMAT.
                                true: decode the intact parts and describe
                                the damage in *damage. Audio lost inside the
                                file comes back as silence of its length, so
                                later samples keep the file's own times; a
                                file cut short ends early */
    const char *source_name; /* memory reads: names the buffer in messages
                                (e.g. "standard input"); NULL: "<memory>".
                                Ignored by file reads (the path is used) */
} sori_audio_read_params;

/* allow_damaged false, source_name NULL. */
SORI_API sori_audio_read_params sori_audio_read_default_params(void);

/* As sori_audio_read_file, with params (NULL: the defaults) and a damage
 * report (may be NULL), which is always written: zeroed when the file is
 * intact (or could not be read at all for another reason), filled when
 * damage was found — with SORI_OK when params->allow_damaged kept the intact
 * parts, with SORI_ERR_FORMAT when it did not (or when nothing intact was
 * left: "nothing decodable"). err is written only on errors, as elsewhere. */
SORI_API sori_status sori_audio_read_file_with_params(const char *path,
                                                      const sori_audio_read_params *params,
                                                      sori_audio *out, sori_audio_damage *damage,
                                                      sori_error *err);
SORI_API sori_status sori_audio_read_memory_with_params(const void *data, size_t size,
                                                        const sori_audio_read_params *params,
                                                        sori_audio *out,
                                                        sori_audio_damage *damage,
                                                        sori_error *err);

/* ---- reading a file a piece at a time ----------------------------------------
 * For recordings too long to hold: a reader decodes as it is read, and
 * gives one channel (or the mix) at the rate asked for, resampled as it
 * goes; its memory does not grow with the file. The checks are those of
 * sori_audio_read_file_with_params: Ogg, MPEG and FLAC are scanned at open
 * (the file is mapped, not read), and damage found there is refused at
 * open (damage filled), or, with allow_damaged, that file is decoded whole
 * and read from memory (the silence put where audio was lost needs what
 * follows it). A WAV cut short is known at open. A decoder that stops
 * early is SORI_ERR_FORMAT when reading reaches it (with allow_damaged:
 * the end, and sori_audio_reader_damage says so). The samples read equal
 * those of a whole read followed by sori_audio_select_channel and
 * sori_audio_resample. Readers have no length limit.
 *
 *     sori_audio_reader *r;
 *     sori_audio_reader_open("call.flac", NULL, SORI_CHANNEL_MIX, 16000, &r, NULL, &err);
 *     float buf[4096];
 *     int64_t n;
 *     while (sori_audio_reader_read(r, buf, 4096, &n, &err) == SORI_OK && n > 0)
 *         ... n samples ...
 *     sori_audio_reader_close(r);
 */
typedef struct sori_audio_reader sori_audio_reader;

typedef struct sori_audio_reader_info {
    int n_channels;       /* the file's */
    int file_rate_hz;     /* the file's */
    int sample_rate_hz;   /* what reads give */
    double duration_s;    /* as the container states it; < 0 when it does not */
} sori_audio_reader_info;

/* channel: 0-based, or SORI_CHANNEL_MIX (the mean of all); sample_rate_hz:
 * 1000..768000, or 0 for the file's own. Statuses as sori_audio_read_file;
 * SORI_ERR_INVALID_ARG for a channel the file does not have. */
SORI_API sori_status sori_audio_reader_open(const char *path, const sori_audio_read_params *params, int channel,
                                            int sample_rate_hz, sori_audio_reader **out,
                                            sori_audio_damage *damage, sori_error *err);
SORI_API sori_audio_reader_info sori_audio_reader_get_info(const sori_audio_reader *r);
/* Up to max_samples samples into out; *n_read == 0 at the end. An error
 * leaves the reader at its place: read again or rewind. */
SORI_API sori_status sori_audio_reader_read(sori_audio_reader *r, float *out, int64_t max_samples,
                                            int64_t *n_read, sori_error *err);
/* Back to the start (a second pass). */
SORI_API sori_status sori_audio_reader_rewind(sori_audio_reader *r, sori_error *err);
/* Damage met while reading with allow_damaged (zeroed: none). */
SORI_API sori_audio_damage sori_audio_reader_damage(const sori_audio_reader *r);
SORI_API void sori_audio_reader_close(sori_audio_reader *r);

/* Headerless PCM. */
typedef enum sori_pcm_format {
    SORI_PCM_S16LE = 0,
    SORI_PCM_S24LE,   /* 3 bytes per sample */
    SORI_PCM_S32LE,
    SORI_PCM_F32LE,
    SORI_PCM_U8,
    SORI_PCM_MULAW,   /* G.711 μ-law, 1 byte per sample */
    SORI_PCM_ALAW,    /* G.711 A-law */
} sori_pcm_format;

/* size must be a whole number of frames. */
SORI_API sori_status sori_audio_read_raw(const void *data, size_t size, sori_pcm_format format,
                                         int n_channels, int sample_rate_hz, sori_audio *out,
                                         sori_error *err);

/* ---- channels ----------------------------------------------------------- */

#define SORI_CHANNEL_MIX (-1)

/* One channel (0-based), or the mean of all (SORI_CHANNEL_MIX), as a new
 * mono signal. */
SORI_API sori_status sori_audio_select_channel(const sori_audio *in, int channel, sori_audio *out,
                                               sori_error *err);

/* ---- encoding ------------------------------------------------------------ */

typedef enum sori_audio_encoding {
    SORI_ENC_WAV_PCM16 = 0,
    SORI_ENC_WAV_FLOAT,
    SORI_ENC_WAV_MULAW,
    SORI_ENC_WAV_ALAW,
    SORI_ENC_FLAC,        /* 16-bit */
    SORI_ENC_OGG_OPUS,    /* 8, 12, 16, 24 or 48 kHz input */
} sori_audio_encoding;

SORI_API sori_status sori_audio_write_file(const char *path, const sori_audio *a,
                                           sori_audio_encoding encoding, sori_error *err);

/* ---- G.711 (ITU-T, bit-exact) ----------------------------------------- */

SORI_API uint8_t sori_g711_ulaw_encode(int16_t pcm);
SORI_API int16_t sori_g711_ulaw_decode(uint8_t code);
SORI_API uint8_t sori_g711_alaw_encode(int16_t pcm);
SORI_API int16_t sori_g711_alaw_decode(uint8_t code);

/* ---- raw Opus packets (libopus) ---------------------------------------------
 * For streams that carry Opus packets without a container (WebRTC gateways,
 * sori's socket protocol). Rates: 8000, 12000, 16000, 24000 or 48000 Hz;
 * 1 or 2 channels. A decoder holds the codec state of one stream. */
typedef struct sori_opus_decoder sori_opus_decoder;
typedef struct sori_opus_encoder sori_opus_encoder;

SORI_API sori_status sori_opus_decoder_create(int sample_rate_hz, int n_channels,
                                              sori_opus_decoder **out, sori_error *err);
SORI_API void sori_opus_decoder_free(sori_opus_decoder *d);
/* Decodes one packet into at most max_frames frames (interleaved floats;
 * 120 ms at the rate always suffices) and sets *n_frames. packet == NULL
 * conceals one lost packet of max_frames frames. A corrupt packet is
 * SORI_ERR_FORMAT; the decoder stays usable. */
SORI_API sori_status sori_opus_decoder_decode(sori_opus_decoder *d, const uint8_t *packet,
                                              size_t size, float *out, int max_frames,
                                              int *n_frames, sori_error *err);

/* bitrate_bps: 6000..510000 (e.g. 16000 for narrow-band speech). */
SORI_API sori_status sori_opus_encoder_create(int sample_rate_hz, int n_channels, int bitrate_bps,
                                              sori_opus_encoder **out, sori_error *err);
SORI_API void sori_opus_encoder_free(sori_opus_encoder *e);
/* Encodes exactly one frame of 2.5, 5, 10, 20, 40 or 60 ms (n_frames
 * samples per channel) into packet (max_bytes; 1275 always suffices). */
SORI_API sori_status sori_opus_encoder_encode(sori_opus_encoder *e, const float *pcm, int n_frames,
                                              uint8_t *packet, size_t max_bytes, size_t *n_bytes,
                                              sori_error *err);

/* ---- resampling (libsoxr, high quality) ---------------------------------- */

typedef struct sori_resampler sori_resampler;

/* A streaming resampler for n_channels interleaved channels. */
SORI_API sori_status sori_resampler_create(int in_rate_hz, int out_rate_hz, int n_channels,
                                           sori_resampler **out, sori_error *err);
SORI_API void sori_resampler_free(sori_resampler *r);
/* Feeds n_in frames and writes up to out_capacity frames to out, setting
 * *n_out. Frames that do not fit are kept for the next call; make
 * out_capacity at least sori_resampler_max_out(r, n_in). in == NULL with
 * n_in == 0 flushes the end of the stream (call until *n_out == 0). Feeding
 * the same signal in any chunking gives the same samples as one call. */
SORI_API sori_status sori_resampler_process(sori_resampler *r, const float *in, size_t n_in,
                                            float *out, size_t out_capacity, size_t *n_out,
                                            sori_error *err);
SORI_API size_t sori_resampler_max_out(const sori_resampler *r, size_t n_in);

/* One-shot: the whole signal at a new rate (a copy when the rate is the
 * same). */
SORI_API sori_status sori_audio_resample(const sori_audio *in, int out_rate_hz, sori_audio *out,
                                         sori_error *err);

#ifdef __cplusplus
}
#endif
#endif /* SORI_AUDIO_H */
