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

#ifdef __cplusplus
}
#endif
#endif /* SORI_VAD_H */
