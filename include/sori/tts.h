/*
 * sori/tts.h — neural text-to-speech: voices (GGUF files) and synthesis
 * sessions that turn a voice's token ids into float samples.
 *
 * Usage:
 *     sori_tts_voice *voice = NULL;
 *     if (sori_tts_voice_load(rt, "mms-tts-kor.gguf", &voice, &err) != SORI_OK) ...
 *     sori_tts_synth_params p = sori_tts_synth_default_params(voice);
 *     p.length_scale = 1.1f;                         // 10 % slower
 *     sori_tts_synth *s = NULL;
 *     sori_tts_synth_create(voice, &p, &s, &err);
 *     const float *pcm; int64_t n;
 *     sori_tts_synth_tokens(s, ids, n_ids, NULL, &pcm, &n, &err);   // pcm: n samples at info.sample_rate_hz
 *     sori_tts_synth_free(s);
 *     sori_tts_voice_free(voice);                    // after its sessions; the runtime after its voices
 *
 * Voices today: VITS (`general.architecture` = "sori.vits", written by
 * tools/vits_to_gguf.py from Hugging Face transformers' VitsModel: Meta's
 * MMS-TTS voices and other VITS checkpoints), run on the CPU (with the
 * runtime's thread pool) whatever the runtime's device. Input is the voice's
 * token ids as its tokenizer makes them (for MMS voices: characters of the
 * vocabulary with the blank, id 0, between them when the voice's `add_blank`
 * is set); a text front end comes later.
 *
 * A loaded voice is immutable and may serve any number of sessions on any
 * threads; a session is used by one thread at a time. A session keeps its
 * buffers between calls: a call allocates only when its input or its audio
 * is longer than any before in that session.
 */
#ifndef SORI_TTS_H
#define SORI_TTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common.h"
#include "runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sori_tts_voice sori_tts_voice;
typedef struct sori_tts_synth sori_tts_synth;

/* Loads a voice. Every hyper-parameter and tensor (name, type f32/f16,
 * shape, finite values) is checked first: SORI_ERR_FORMAT for a damaged or
 * inconsistent file (the message names the key or tensor),
 * SORI_ERR_UNSUPPORTED for an architecture or option sori does not run,
 * SORI_ERR_IO when the file cannot be read. Weights are copied out in f32;
 * the file is not kept open. rt must outlive the voice. */
SORI_API sori_status sori_tts_voice_load(sori_runtime *rt, const char *path, sori_tts_voice **out,
                                         sori_error *err);
/* The same from a file's bytes in memory (copied; the buffer may go after
 * the call). Messages name it "<memory>". */
SORI_API sori_status sori_tts_voice_load_memory(sori_runtime *rt, const void *data, size_t size,
                                                sori_tts_voice **out, sori_error *err);
/* After every session of the voice. NULL: no-op. */
SORI_API void sori_tts_voice_free(sori_tts_voice *voice);

typedef struct sori_tts_voice_info {
    const char *architecture;   /* "sori.vits" or "sori.kokoro" */
    const char *name;           /* general.name, or "" */
    int sample_rate_hz;         /* of the samples a session writes */
    int samples_per_frame;      /* audio samples per acoustic frame (the decoder's upsampling) */
    int n_speakers;             /* 1 for single-speaker voices */
    int32_t n_vocab;            /* token ids are 0 .. n_vocab - 1 */
    int flow_size;              /* channels of the prior noise (sori_tts_noise.prior) */
    bool stochastic_duration;   /* durations drawn (noise_scale_duration matters) */
    bool add_blank;             /* the tokenizer puts id 0 between tokens (false when unknown) */
    float noise_scale, noise_scale_duration, length_scale; /* the voice's defaults */
} sori_tts_voice_info;

SORI_API sori_tts_voice_info sori_tts_voice_get_info(const sori_tts_voice *voice);
/* The text of token id in the voice's vocabulary (UTF-8, NUL-terminated,
 * valid as long as the voice), or NULL when the file has no vocabulary or
 * the id is out of range. */
SORI_API const char *sori_tts_voice_token(const sori_tts_voice *voice, int32_t id);
/* Kokoro voices hold several speakers (style vectors), each with a name
 * ("jf_alpha" …): the name of speaker id, or NULL (out of range, or a voice
 * without names); the id of a name, or -1. */
SORI_API const char *sori_tts_voice_speaker(const sori_tts_voice *voice, int id);
SORI_API int sori_tts_voice_find_speaker(const sori_tts_voice *voice, const char *name);

/* Text → the voice's token ids, the front end each voice needs: for Kokoro,
 * sori_tn → sori_g2p → sori_ko_ipa (Korean as IPA) then one id per symbol;
 * for VITS, the longest vocabulary entry at each place (characters for
 * MMS-TTS voices), with the blank id 0 between tokens when the voice was
 * trained so. Characters the voice has no symbol for are left out and
 * counted in *skipped (may be NULL). *n_ids gets the count; when it is more
 * than cap, SORI_ERR_INVALID_ARG and nothing useful in ids (ask again with
 * a larger cap: at most 3 × 16 × len + 256 for Kokoro, 2 × len + 2 for
 * VITS). Invalid UTF-8: SORI_ERR_INVALID_ARG naming the byte. Allocates
 * its working buffers per call. */
SORI_API sori_status sori_tts_text_to_ids(const sori_tts_voice *voice, const char *text, size_t len, int32_t *ids,
                                          int cap, int *n_ids, int *skipped, sori_error *err);

typedef struct sori_tts_synth_params {
    float noise_scale;          /* spread of the acoustic latents, >= 0 (MMS: 0.667) */
    float noise_scale_duration; /* spread of drawn durations, >= 0 (MMS: 0.8) */
    float length_scale;         /* > 0: durations are multiplied by it (2 = half the speaking rate) */
    int speaker_id;             /* 0 .. n_speakers - 1 */
    int max_tokens;             /* longest input a call takes, 1 .. 8192 (default 1000) */
    float max_seconds;          /* longest audio a call makes, > 0 .. 3600 (default 120) */
    uint64_t seed;              /* the noise generator's seed (default 0) */
    int chunk_frames;           /* streaming: acoustic frames per chunk, 1..4096 (default 32) */
} sori_tts_synth_params;

/* The voice's own defaults (noise scales, 1 / its speaking rate, speaker 0)
 * and the limits above. */
SORI_API sori_tts_synth_params sori_tts_synth_default_params(const sori_tts_voice *voice);

/* A synthesis session. params NULL: the defaults. SORI_ERR_INVALID_ARG
 * names a parameter out of range. The voice must outlive the session. */
SORI_API sori_status sori_tts_synth_create(const sori_tts_voice *voice, const sori_tts_synth_params *params,
                                           sori_tts_synth **out, sori_error *err);
SORI_API void sori_tts_synth_free(sori_tts_synth *s);
/* Changes the parameters for the next calls (checked as at creation; the
 * noise generator restarts from the new seed). */
SORI_API sori_status sori_tts_synth_set_params(sori_tts_synth *s, const sori_tts_synth_params *params,
                                               sori_error *err);
SORI_API sori_tts_synth_params sori_tts_synth_get_params(const sori_tts_synth *s);

/* Noise given by the caller instead of the session's generator (tests,
 * reproducing another implementation): standard-normal values, before the
 * noise scales are applied. Either pointer may be NULL (that noise drawn). */
typedef struct sori_tts_noise {
    const float *duration;  /* [2, n_ids], channel-major: the stochastic duration predictor's */
    const float *prior;     /* [flow_size, n_frames]: the prior's, for the frames the durations give */
    int64_t n_prior;        /* values at prior: must be flow_size × n_frames (else SORI_ERR_INVALID_ARG) */
} sori_tts_noise;

/* Synthesizes n_ids token ids into audio: *samples points to *n_samples
 * floats in [-1, 1] at the voice's rate (NULL when there are none), owned by
 * the session and valid until its next call or its free. noise may be NULL.
 *  - n_ids == 0: SORI_OK with no audio (*n_samples = 0).
 *  - an id outside 0 .. n_vocab - 1, n_ids > max_tokens, ids NULL with
 *    n_ids > 0: SORI_ERR_INVALID_ARG (the message says which).
 *  - durations that would make more than max_seconds of audio, or that are
 *    not finite: SORI_ERR_INVALID_ARG (split the text into sentences).
 *  - SORI_ERR_NO_MEMORY when the session's buffers cannot grow.
 * After an error the session is usable for the next call. */
SORI_API sori_status sori_tts_synth_tokens(sori_tts_synth *s, const int32_t *ids, int n_ids,
                                           const sori_tts_noise *noise, const float **samples, int64_t *n_samples,
                                           sori_error *err);

/* ---- streaming (chunked) synthesis ----------------------------------------------------
 *
 *     int64_t total;
 *     sori_tts_synth_begin(s, ids, n_ids, NULL, &total, &err);   // text side, durations, flow
 *     const float *pcm; int64_t n;
 *     while (sori_tts_synth_next(s, &pcm, &n, &err) == SORI_OK && n > 0)
 *         play(pcm, n);                                           // chunk_frames × samples_per_frame each
 *
 * begin runs everything but the decoder (the text encoder, the durations, the
 * flow: a small part of the work) and says how many samples the utterance
 * will have; each next decodes chunk_frames more frames with enough frames
 * of context on both sides that the chunks, put end to end, are the audio
 * sori_tts_synth_tokens makes (to float rounding: the decoder's receptive
 * field is covered). The decoder's memory is then that of one chunk with
 * its context, whatever the utterance's length.
 *
 * Kokoro voices stream by pieces: an input is cut after a sentence mark once
 * a piece has 16 phonemes (the first piece) or 40 (later ones), or after a
 * comma (; : —) there when its sentence goes on 60 phonemes more, and at most
 * 510 a piece; begin checks the ids and makes nothing (*n_samples_total =
 * -1: not known in advance), and next synthesizes each piece when the
 * previous one has been handed out, chunk_frames × 600 samples at a time.
 * The first audio of a long text then comes after its first sentence or
 * long clause; the chunks put end to end are exactly the
 * samples sori_tts_synth_tokens makes (it cuts the same pieces). Errors of
 * a later piece (max_seconds over the whole input) come from next.
 *
 * begin takes the arguments and returns the errors of sori_tts_synth_tokens
 * (n_ids == 0: SORI_OK, total 0, and next ends at once). next: *samples
 * points into the session until its next call; *n_samples == 0 at the end;
 * SORI_ERR_STATE without a begun stream. A new begin or a
 * sori_tts_synth_tokens call ends an unfinished stream; cancel ends it at
 * once (barge-in); neither allocates nor frees. */
SORI_API sori_status sori_tts_synth_begin(sori_tts_synth *s, const int32_t *ids, int n_ids,
                                          const sori_tts_noise *noise, int64_t *n_samples_total, sori_error *err);
SORI_API sori_status sori_tts_synth_next(sori_tts_synth *s, const float **samples, int64_t *n_samples,
                                         sori_error *err);
SORI_API void sori_tts_synth_cancel(sori_tts_synth *s);

#ifdef __cplusplus
}
#endif
#endif /* SORI_TTS_H */
