/*
 * asr/whisper_transcribe.h — long-form transcription as openai-whisper's
 * transcribe() does it (internal): 30 s windows moved by the timestamps the
 * model writes (seek), the temperature fallback on the compression-ratio
 * and average-log-probability thresholds, the no-speech skip, conditioning
 * on the previous text, an initial prompt, segments with their times and
 * scores, and words timed by cross-attention DTW (word_timestamps).
 *
 * A session owns what a transcription uses — a model state (one window,
 * `group` sequences), a searcher, a mel extractor and a 30 s mel buffer —
 * made once; transcribing allocates only the results. The whole-file mel
 * is never held: its maximum (which openai-whisper's normalisation uses) is
 * found in a first pass over the samples, and each window's frames are
 * computed when the window is decoded. The samples need not be held either:
 * sori_whisper_transcribe_reader reads them from a file as it goes.
 */
#ifndef SORI_ASR_WHISPER_TRANSCRIBE_H
#define SORI_ASR_WHISPER_TRANSCRIBE_H

#include "asr/whisper_decode.h"
#include "sori/audio.h"

typedef struct sori_whisper_params {
    sori_whisper_options dec;       /* language (-1 with detect_language), beam, patience, ... */
    bool detect_language;           /* multilingual models without a language: detect on the first window */
    float temperatures[8];          /* the fallback ladder (openai-whisper: 0, 0.2, ... 1.0) */
    int n_temperatures;
    float compression_ratio_threshold; /* 2.4; <= 0: none */
    float logprob_threshold;        /* -1; NAN: none */
    float no_speech_threshold;      /* 0.6; NAN: none */
    bool condition_on_previous_text; /* true */
    const char *initial_prompt;     /* NULL: none */
    bool word_timestamps;
    /* called after each window with the seconds done and in all (may be NULL) */
    void (*progress)(void *ctx, double done_s, double total_s);
    void *progress_ctx;
} sori_whisper_params;

sori_whisper_params sori_whisper_default_params(void);

typedef struct sori_whisper_word {
    char *text;              /* with its leading space, as openai-whisper gives it */
    double start, end;
    float probability;
} sori_whisper_word;

typedef struct sori_whisper_segment {
    double start, end;
    char *text;
    int32_t *tokens;         /* text and timestamp tokens */
    int n_tokens;
    float avg_logprob, compression_ratio, no_speech_prob, temperature;
    sori_whisper_word *words;
    int n_words;
    /* the window's other hypotheses (text and ranker score, best first) */
    char **nbest_text;
    float *nbest_score;
    int n_nbest;
} sori_whisper_segment;

typedef struct sori_whisper_transcript {
    sori_whisper_segment *seg;
    int n_seg, cap;
    char *text;              /* every segment's text */
    int language;            /* the language token used */
    double duration;
} sori_whisper_transcript;

void sori_whisper_transcript_free(sori_whisper_transcript *t);

typedef struct sori_whisper_session {
    sori_whisper *m;
    int group;
    int windows;         /* windows encoded at once (the throughput mode) */
    sori_whisper_state *st;
    struct sori_whisper_search *z;
    struct sori_whisper_mel *mel;
    float *win;          /* windows x 3000 x n_mels, time-major: the windows' mel */
    float *align;        /* alignment weights: heads x n_text_ctx x n_audio_ctx */
    float *sbuf;         /* a reader's samples at hand (a window and a little more) */
    int64_t sbuf_cap;
    /* the log-mel on the backend (GPU runtimes: its LOGMEL op): a window's
     * frames cut here, transformed there; buffers made with the session */
    bool gpu_mel;
    float *frames;       /* host: 3000 x 400 */
    void *d_frames, *d_out, *d_window, *d_filters;
} sori_whisper_session;

/* group: the most sequences a window decodes at once (max(beam, best_of)). */
sori_status sori_whisper_session_create(sori_whisper *m, int group, sori_whisper_session **out, sori_error *err);
/* The same with room for `windows` windows at once (1..64; the throughput
 * mode below). */
sori_status sori_whisper_session_create_batched(sori_whisper *m, int group, int windows, sori_whisper_session **out,
                                                sori_error *err);
void sori_whisper_session_free(sori_whisper_session *s);

/* samples: 16 kHz mono. */
sori_status sori_whisper_transcribe(sori_whisper_session *s, const float *samples, int64_t n,
                                    const sori_whisper_params *p, sori_whisper_transcript **out, sori_error *err);

/* The same, reading the samples from r (16 kHz mono; rewound first): the
 * first pass reads it to the end for the maximum and the length, the
 * second reads each window as it is decoded, so the memory does not grow
 * with the recording. Equal to sori_whisper_transcribe on the same
 * samples. Reading errors come back as they are. */
sori_status sori_whisper_transcribe_reader(sori_whisper_session *s, sori_audio_reader *r,
                                           const sori_whisper_params *p, sori_whisper_transcript **out,
                                           sori_error *err);

/* The throughput mode (faster-whisper's batched pipeline): a VAD finds the
 * speech — Silero when vad is given (threshold 0.5, ending below 0.35 for
 * 160 ms, 200 ms of padding), else the energy VAD — and its regions are
 * merged into chunks of at most 30 s; the chunks are decoded independently
 * (no conditioning on earlier text), `windows` at a time: one encoder call
 * and one decoder call per token step for all of them. Greedy, temperature
 * 0, without timestamps: a segment per chunk, its words spread over it.
 * Chunks the model calls silence (no-speech > threshold and avg log-prob <
 * threshold) are dropped, as in transcribe. */
struct sori_silero_vad;
sori_status sori_whisper_transcribe_batched(sori_whisper_session *s, const float *samples, int64_t n,
                                            const sori_whisper_params *p, const struct sori_silero_vad *vad,
                                            sori_whisper_transcript **out, sori_error *err);

/* The LOGMEL op that computes Whisper's log-mel energies (natural log;
 * times 1 / ln 10 gives log10) of n_frames raw frames of 400 samples
 * (sori_whisper_mel_frames_span). */
struct sori_logmel_desc;
void sori_whisper_logmel_desc(struct sori_logmel_desc *d, int n_mels, int64_t n_frames, const float *frames,
                              const float *window, const float *filters, float *out);

/* Word timestamps for the n_seg segments of one window (whisper_words.c):
 * n_frames of mel were real; time_offset is the window's start; language
 * the token the window was decoded with; last_speech the end of the
 * speech before (updated). */
sori_status sori_whisper_add_words(sori_whisper_session *s, sori_whisper_segment *seg, int n_seg, int n_frames,
                                   double time_offset, int language, bool translate, double *last_speech,
                                   sori_error *err);
/* Bytes as UTF-8, each invalid sequence U+FFFD (Python's errors="replace");
 * out holds 3 * n + 1 bytes. Its length. */
size_t sori_whisper_utf8_repair(const char *in, size_t n, char *out);

#endif /* SORI_ASR_WHISPER_TRANSCRIBE_H */
