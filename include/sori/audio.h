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
 */
#ifndef SORI_AUDIO_H
#define SORI_AUDIO_H

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

SORI_API sori_status sori_audio_read_file(const char *path, sori_audio *out, sori_error *err);
/* A whole file's bytes in memory (same formats as files). */
SORI_API sori_status sori_audio_read_memory(const void *data, size_t size, sori_audio *out,
                                            sori_error *err);

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
