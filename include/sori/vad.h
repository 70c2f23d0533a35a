/*
 * sori/vad.h — voice activity detection and endpointing.
 *
 * The VAD classifies fixed frames (frame_ms) as speech or not from their
 * energy against an adaptive noise floor, with an onset delay (min_speech_ms
 * of consecutive loud frames to start) and a hangover (hangover_ms of quiet
 * frames to stop). It streams: feed samples in any chunks, get one decision
 * per completed frame; the decision for a frame is final when reported.
 *
 * The endpoint detector turns per-frame speech decisions into utterance
 * ends with sherpa-onnx's three rules (milliseconds):
 *   rule 1: trailing silence >= rule1_silence_ms and no speech yet;
 *   rule 2: trailing silence >= rule2_silence_ms after some speech;
 *   rule 3: the utterance has lasted rule3_max_utterance_ms.
 *
 * Usage:
 *     sori_vad *vad; sori_vad_create(&vp, &vad, &err);
 *     sori_endpoint ep = sori_endpoint_init();
 *     uint8_t dec[64]; int64_t n;
 *     sori_vad_accept(vad, chunk, n_samples, dec, 64, &n, &err);
 *     for (i < n) if (sori_endpoint_step(&epp, &ep, dec[i], vp.frame_ms)) { ...utterance ended... }
 */
#ifndef SORI_VAD_H
#define SORI_VAD_H

#include <stdbool.h>
#include <stddef.h>

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sori_vad_params {
    int sample_rate_hz;   /* 16000 */
    int frame_ms;         /* 10 */
    float threshold_db;   /* speech: energy > noise floor + this (10 dB) */
    float min_energy_db;  /* and > this, dBFS (-55) */
    float floor_rise_db_per_s; /* how fast the noise floor may rise (3 dB/s) */
    int min_speech_ms;    /* onset: this much loud signal in a row (50) */
    int hangover_ms;      /* offset: this much quiet signal in a row (300) */
} sori_vad_params;

SORI_API sori_vad_params sori_vad_default_params(void);

typedef struct sori_vad sori_vad;

SORI_API sori_status sori_vad_create(const sori_vad_params *p, sori_vad **out, sori_error *err);
SORI_API void sori_vad_free(sori_vad *v);
/* Back to the initial state (noise floor re-learned). */
SORI_API void sori_vad_reset(sori_vad *v);
/* Feeds samples (floats in [-1, 1]); writes one decision (1 speech, 0 not)
 * per frame completed by them, up to max_decisions (make it at least
 * n_samples / frame samples + 1), and sets *n_decisions. */
SORI_API sori_status sori_vad_accept(sori_vad *v, const float *samples, int64_t n_samples,
                                     uint8_t *decisions, int64_t max_decisions,
                                     int64_t *n_decisions, sori_error *err);
/* Samples per frame. */
SORI_API int sori_vad_frame_samples(const sori_vad *v);

typedef struct sori_endpoint_params {
    int rule1_silence_ms;       /* 2400 */
    int rule2_silence_ms;       /* 1200 */
    int rule3_max_utterance_ms; /* 20000 */
} sori_endpoint_params;

SORI_API sori_endpoint_params sori_endpoint_default_params(void);

/* The detector's state: plain data, one per stream. */
typedef struct sori_endpoint {
    int64_t utterance_ms;   /* since the utterance began */
    int64_t trailing_silence_ms;
    bool seen_speech;
} sori_endpoint;

typedef enum sori_endpoint_rule {
    SORI_ENDPOINT_NONE = 0,
    SORI_ENDPOINT_RULE1 = 1, /* long silence, no speech */
    SORI_ENDPOINT_RULE2 = 2, /* silence after speech */
    SORI_ENDPOINT_RULE3 = 3, /* maximum length */
} sori_endpoint_rule;

SORI_API sori_endpoint sori_endpoint_init(void);
/* Advances by one frame of frame_ms with its speech decision. When a rule
 * fires, returns it and resets *state for the next utterance. */
SORI_API sori_endpoint_rule sori_endpoint_step(const sori_endpoint_params *p, sori_endpoint *state,
                                               bool is_speech, int frame_ms);

/* ---- Silero VAD ----------------------------------------------------------
 * A small neural VAD (snakers4/silero-vad, MIT), run natively from a GGUF
 * file that tools/silero_vad_to_gguf.py makes from the ONNX model the PyPI
 * package `silero-vad` ships (tools/setup.sh fetches and converts it to
 * data/silero-vad.gguf). It has a network for 16 kHz and one for 8 kHz; each
 * call takes one window of new samples (512 at 16 kHz, 256 at 8 kHz: 32 ms)
 * and returns the probability that it holds speech, with the same numbers
 * as onnxruntime on the same model (tests/test_silero_vad.c).
 *
 *     sori_silero_vad *m; sori_silero_vad_load("data/silero-vad.gguf", &m, &err);
 *     sori_silero_vad_state *s; sori_silero_vad_state_create(m, 16000, &s, &err);
 *     float p; sori_silero_vad_process(s, samples, 512, &p, &err);   // per 32 ms
 *     sori_silero_vad_state_free(s); sori_silero_vad_free(m);
 *
 * The model is immutable and may be shared by threads; a state (the LSTM's
 * and the context of the previous window) belongs to one thread at a time
 * and allocates nothing after its creation. The model must outlive its
 * states. */
typedef struct sori_silero_vad sori_silero_vad;
typedef struct sori_silero_vad_state sori_silero_vad_state;

/* SORI_ERR_IO / SORI_ERR_FORMAT (a key or tensor named) / SORI_ERR_UNSUPPORTED
 * (another architecture). */
SORI_API sori_status sori_silero_vad_load(const char *path, sori_silero_vad **out, sori_error *err);
SORI_API sori_status sori_silero_vad_load_memory(const void *data, size_t size, sori_silero_vad **out,
                                                 sori_error *err);
SORI_API void sori_silero_vad_free(sori_silero_vad *m);
/* Samples per call at this rate (512 at 16 kHz, 256 at 8 kHz); 0 when the
 * model has no network for it (resample to one it has). */
SORI_API int sori_silero_vad_window(const sori_silero_vad *m, int sample_rate_hz);
/* SORI_ERR_UNSUPPORTED: no network for that rate. */
SORI_API sori_status sori_silero_vad_state_create(const sori_silero_vad *m, int sample_rate_hz,
                                                  sori_silero_vad_state **out, sori_error *err);
/* Back to silence before the first window (a new stream). */
SORI_API void sori_silero_vad_state_reset(sori_silero_vad_state *s);
SORI_API void sori_silero_vad_state_free(sori_silero_vad_state *s);
/* One window of exactly sori_silero_vad_window() samples (floats in [-1, 1])
 * -> *prob in [0, 1]. SORI_ERR_INVALID_ARG: another length, NaN/Inf. */
SORI_API sori_status sori_silero_vad_process(sori_silero_vad_state *s, const float *samples, int n_samples,
                                             float *prob, sori_error *err);

#ifdef __cplusplus
}
#endif
#endif /* SORI_VAD_H */
