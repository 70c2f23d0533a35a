/* Kokoro-82M end to end (tts/kokoro_synth.c), private to tts/. */
#ifndef SORI_TTS_KOKORO_SYNTH_H
#define SORI_TTS_KOKORO_SYNTH_H

#include "kokoro.h"

/* A session's buffers: the text side's and the acoustic side's, kept and grown. */
typedef struct {
    float *text, *audio;
    int64_t cap_text, cap_audio;
    struct sori_thread_pool *pool; /* the runtime's, for the products (NULL: serial) */
} kokoro_buf;

void kokoro_buf_free(kokoro_buf *b);

/* Audio samples per acoustic frame (600: 2 × the upsampling rates × the iSTFT hop). */
static inline int kokoro_samples_per_frame(const kokoro_model *m)
{
    return 2 * m->ups_s[0] * m->ups_s[1] * 5;
}

/* Phonemes one pass takes: the style table's rows and ALBERT's positions less the two pads (510). */
int kokoro_max_phonemes(const kokoro_model *m);

/* n phoneme ids (without the framing pads) in voice `voice` at `speed` (durations ÷ speed) →
 * *audio (in b, valid until its next use), *n_samples at m->sample_rate; durs (may be NULL): the
 * frames each of the n + 2 tokens was given, the pads' first and last (in b, valid as long).
 * More than max_frames frames: SORI_ERR_INVALID_ARG before the acoustic side runs. */
sori_status kokoro_synthesize(const kokoro_model *m, kokoro_buf *b, const int32_t *ids, int n, int voice, float speed,
                              int64_t max_frames, const float **audio, int64_t *n_samples, const int32_t **durs,
                              sori_error *err);

#endif
