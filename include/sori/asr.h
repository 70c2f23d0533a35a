/*
 * sori/asr.h — speech recognition: a Conformer model (GGUF, converted from
 * NeMo with tools/nemo_to_gguf.py or trained by sori's recipes) or a Whisper
 * model (tools/whisper_to_gguf.py: OpenAI, Hugging Face or CTranslate2
 * checkpoints) loaded into a runtime, and transcription of audio with word
 * timings and confidences.
 *
 * Usage:
 *     sori_asr_model *m = NULL;
 *     sori_asr_model_params mp = sori_asr_model_default_params();
 *     if (sori_asr_model_load(rt, "model.gguf", &mp, &m, &err) != SORI_OK) ...
 *     sori_asr_result *r = NULL;
 *     sori_asr_transcribe(m, samples, n_samples, 8000, &r, &err);   // any rate
 *     printf("%s\n", r->text);
 *     for (int i = 0; i < r->n_words; i++) ... r->words[i].start_s ...
 *     sori_asr_result_free(r);
 *     sori_asr_model_free(m);       // before sori_runtime_free
 *
 * Offline: whole utterances, full attention context, CTC greedy search,
 * or a CTC prefix beam search fused with a token n-gram LM (model params).
 * Streaming: cache-aware streaming (NeMo's cache_aware_stream_step) for
 * models trained with limited attention context and causal convolutions,
 * and buffered streaming (below), which gives any offline model live
 * partial results.
 *
 * Thread safety: a model is immutable after loading; transcribe calls on
 * one model from several threads are safe (each uses its own buffers).
 */
#ifndef SORI_ASR_H
#define SORI_ASR_H

#include "audio.h"
#include "common.h"
#include "runtime.h"
#include "vad.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sori_asr_model sori_asr_model;

typedef enum sori_asr_decoder {
    SORI_ASR_DECODER_AUTO = 0, /* RNN-T where the model has it (hybrids: NeMo's default), else CTC */
    SORI_ASR_DECODER_CTC,
    SORI_ASR_DECODER_RNNT,
} sori_asr_decoder;

typedef struct sori_asr_model_params {
    sori_asr_decoder decoder; /* which head decodes (hybrid RNNT+CTC models have both) */
    /* CTC prefix beam search, fused with an n-gram LM (sori/ngram.h) whose
     * words are the model's tokens: an ARPA or GGUF file, or NULL for none.
     * beam: hypotheses kept (0: greedy without an LM, 8 with one; 1..256).
     * lm_weight < 0: the LM file's recommended weight and bonus (else 0.5 and
     * 1.0); >= 0: this weight and lm_bonus (per token, natural-log units). */
    const char *lm_path;
    int beam;
    float lm_weight, lm_bonus;
    /* Hotwords (contextual biasing) for the CTC beam search, with or without
     * an LM: UTF-8 phrases, one per line, each optionally ending in " :SCORE";
     * NULL for none. Each character of a phrase the search is matching adds
     * hotword_score (natural-log units; 0 < score <= 20, default
     * SORI_ASR_HOTWORD_SCORE) to the hypothesis, and a match that breaks off
     * gives it back, so completed phrases win close calls. Matched on
     * characters, spaces ignored, so any token split or word spacing counts.
     * SORI_ERR_INVALID_ARG names the line of a phrase with a character the
     * model cannot write. Copied at load: the text need not outlive the call.
     * Streams can have their own (sori_asr_stream_params). */
    const char *hotwords;
    float hotword_score;
    /* N-best rescoring by a transformer LM (sori/lm.h), of final results
     * (offline, and each utterance of a stream when it ends; partials are
     * not rescored): the search's `nbest` best hypotheses (0 or 1: off; at
     * most 64) each get rescore_weight * ln p_LM(text) + rescore_bonus * (its
     * count of LM tokens) added to their search score, the LM scoring each
     * text from its BOS with its own tokenizer; the best total wins. CTC:
     * the beam search's final hypotheses (its beam widened to nbest when
     * `beam` is 0). Whisper: each 30 s window's finished hypotheses, by
     * their summed token log-probabilities (the bonus replaces the length
     * penalty); a beam below 2 becomes min(nbest, 16); the batched mode
     * (greedy) refuses it. The LM is shared (it must outlive the model);
     * each call scores in a session of its own. */
    const struct sori_lm *rescore_lm;
    int nbest;
    float rescore_weight, rescore_bonus;
    /* Whisper models (sori.whisper files; `beam` above is their beam size:
     * 0 or 1 greedy, 2..16 beam search). openai-whisper's transcribe():
     * 30 s windows moved by the model's timestamps, temperature fallback,
     * no-speech skip, conditioning on the previous text. */
    const char *language;   /* NULL: "ko" where the model has it; a code ("en"); "auto": detected */
    int translate;          /* 1: translate into English */
    const char *prompt;     /* an initial prompt (vocabulary, style), or NULL */
    int word_timestamps;    /* 1: words timed by cross-attention DTW; 0: spread over their segment */
    int best_of;            /* candidates sampled at fallback temperatures (0: 5) */
    float patience;         /* beam search (0: 1.0) */
    float length_penalty;   /* < 0: rank by log-probability / length (openai's default) */
    int no_fallback;        /* 1: temperature 0 only */
    /* Whisper's throughput mode (faster-whisper's batched pipeline) when
     * batch > 0: a VAD cuts the speech into chunks of at most 30 s, decoded
     * independently, `batch` windows per encoder call and decoder step
     * (1..64); greedy, without timestamps, words spread over each chunk.
     * vad: Silero (sori/vad.h, outliving the model) or NULL for the energy
     * VAD. */
    int batch;
    const struct sori_silero_vad *vad;
    /* Whisper long-form: called after each 30 s window with the seconds
     * done and the input's length (from the thread transcribing; NULL:
     * none). The CLI draws a progress line with it. */
    void (*progress)(void *ctx, double done_s, double total_s);
    void *progress_ctx;
} sori_asr_model_params;

#define SORI_ASR_HOTWORD_SCORE 1.5f

SORI_API sori_asr_model_params sori_asr_model_default_params(void);

/* SORI_ERR_IO / SORI_ERR_FORMAT: unreadable or corrupt file;
 * SORI_ERR_UNSUPPORTED: a valid model with an option sori does not run yet
 * (the message names it). The runtime must outlive the model. */
SORI_API sori_status sori_asr_model_load(sori_runtime *rt, const char *path,
                                         const sori_asr_model_params *params,
                                         sori_asr_model **out, sori_error *err);
/* The same from a model file's bytes in memory (a model embedded in a
 * program, or received over a socket); the weights are copied, so the
 * buffer may be freed when this returns. Messages name it "<memory>". */
SORI_API sori_status sori_asr_model_load_memory(sori_runtime *rt, const void *data, size_t size,
                                                const sori_asr_model_params *params,
                                                sori_asr_model **out, sori_error *err);
SORI_API void sori_asr_model_free(sori_asr_model *m);

typedef struct sori_asr_model_info {
    int sample_rate_hz;      /* the model's feature rate; input is resampled to it */
    int vocab_size;          /* tokens, without the blank */
    int d_model, n_layers;
    double frame_shift_s;    /* seconds per output frame (after subsampling) */
    const char *name;        /* general.name, or "" */
    sori_asr_decoder decoder;  /* the head in use: CTC or RNNT */
    int cache_aware;         /* 1: trained for cache-aware streaming (limited context, causal convs) */
    double stream_chunk_ms;  /* cache-aware: audio per streaming step */
    size_t stream_state_bytes; /* cache-aware: per-stream state (encoder caches + RNN-T state) */
    int beam;                /* CTC beam width in use (0: greedy) */
    float lm_weight, lm_bonus; /* the LM's weight and per-token bonus in use (0 without an LM) */
    int n_hotwords;          /* the model's hotword phrases */
    const char *arch;        /* "conformer" or "whisper" */
    const char *language;    /* Whisper: the language asked for ("ko", "auto", ...) */
} sori_asr_model_info;

SORI_API sori_asr_model_info sori_asr_model_get_info(const sori_asr_model *m);

typedef struct sori_asr_word {
    char *text;          /* UTF-8 */
    double start_s, end_s;
    float confidence;    /* 0..1: the lowest frame posterior of its tokens */
} sori_asr_word;

/* A stretch of the result with times of its own (Whisper writes them;
 * Conformer results have none). */
typedef struct sori_asr_segment {
    double start_s, end_s;
    char *text;
    int first_word, n_words;  /* its words in the result's words[] */
    float avg_logprob, no_speech_prob, compression_ratio, temperature;
    /* the other hypotheses of the window it was decoded in, best first
     * (beam search or sampling; first segment of a window only) */
    char **nbest_text;
    float *nbest_score;       /* the ranker's: log-probability / length (or the length penalty's) */
    int n_nbest;
} sori_asr_segment;

typedef struct sori_asr_result {
    char *text;          /* UTF-8, words separated by single spaces */
    sori_asr_word *words;
    int n_words;
    double duration_s;   /* of the input */
    float confidence;    /* 0..1: the mean of the word confidences (1 if no words) */
    int is_final;        /* 1: offline results are always final */
    sori_asr_segment *segments; /* Whisper: its segments; NULL otherwise */
    int n_segments;
    char language[16];   /* Whisper: the language decoded ("ko"); "" otherwise */
} sori_asr_result;

/* Transcribes one utterance: samples at any rate in [-1, 1] (resampled to
 * the model's rate inside). Writes a caller-owned result (free it with
 * sori_asr_result_free). Empty or silent audio gives an empty text.
 * A cache-aware Conformer runs it as a stream without endpoints (a batch:
 * one stream each, stepped together): its attention and convolutions see
 * no further offline than streaming, so the result is the offline
 * forward's (test_stream holds it to NeMo's) but for a last piece shorter
 * than one output frame (< 80 ms), which streaming leaves out as NeMo's
 * does; memory stays a streaming step's instead of growing with the audio
 * (~8 MB a second offline). */
SORI_API sori_status sori_asr_transcribe(sori_asr_model *m, const float *samples, int64_t n_samples,
                                         int sample_rate_hz, sori_asr_result **out,
                                         sori_error *err);
SORI_API void sori_asr_result_free(sori_asr_result *r);

/* Personal data masked in a result (sori/text.h's sori_redact): the text
 * masked ([전화번호] …); the words that said a span become one word, the
 * mask, over their times; out[i] (cap of them; *n the count) gets each
 * span's category (a sori_pii_kind) and time span, for bleeping the audio
 * (a span no word could be found for gets the result's first to last word
 * times). partial: a result that may still grow (a stream's partial): any
 * 3 or more digits are masked too. Segments' texts and N-best lists are
 * masked likewise (without times). */
typedef struct sori_asr_redaction {
    int kind;
    double start_s, end_s;
} sori_asr_redaction;

SORI_API sori_status sori_asr_result_redact(sori_asr_result *r, int partial, sori_asr_redaction *out, int cap,
                                            int *n, sori_error *err);

/* A result in written form (sori/text.h's sori_itn): numbers as people write them (삼만
 *오천 원 → ₩35000, 공일공 일이삼사 오육칠팔 → 010-1234-5678, 두시 반 → 2:30), in the text,
 * each segment's text and the N-best lists. The words are rewritten a segment at a time and
 * keep their times: a written word made of several spoken ones spans their times (a
 * spoken word split into several shares its time among them); segments' word ranges follow.
 * flags: sori/text.h's SORI_ITN_* (0: NeMo's written forms; SORI_ITN_CURRENCY_WORD |
 * SORI_ITN_THOUSANDS: 35,000원). Run it before sori_asr_result_redact, which finds written
 * numbers as well as spoken ones. */
SORI_API sori_status sori_asr_result_itn(sori_asr_result *r, unsigned flags, sori_error *err);

/* Transcribes what a reader gives (sori/audio.h: a file decoded as it is
 * read, one channel or the mix, at a rate the reader resamples to). A
 * Whisper model decoding sequentially (not the batched throughput mode)
 * reads it window by window from a 16 kHz reader, and a cache-aware
 * Conformer a second at a time through one stream, so an hours-long
 * recording is never held; other models read it whole first.
 * The result equals sori_asr_transcribe on the same samples. The reader is
 * rewound first and may be read to its end more than once. */
SORI_API sori_status sori_asr_transcribe_reader(sori_asr_model *m, sori_audio_reader *r,
                                                sori_asr_result **out, sori_error *err);

/* The CTC log-probabilities of one utterance, as transcribe computes them:
 * *n_frames rows of vocab_size + 1 log-softmax values (the blank last), a
 * caller-owned array (free()); NULL and 0 for audio shorter than a frame.
 * For one's own decoders, alignment or confidence measures.
 * SORI_ERR_UNSUPPORTED when the model decodes with RNN-T. */
SORI_API sori_status sori_asr_ctc_logprobs(sori_asr_model *m, const float *samples, int64_t n_samples,
                                           int sample_rate_hz, float **out, int64_t *n_frames,
                                           sori_error *err);

/* The same for n utterances at once, run through the encoder as one padded
 * batch (faster per utterance; each result equals transcribing it alone).
 * Arrays have n entries; out[i] receives utterance i's result. On failure no
 * results are returned. */
SORI_API sori_status sori_asr_transcribe_batch(sori_asr_model *m, int n, const float *const *samples,
                                               const int64_t *n_samples, int sample_rate_hz,
                                               sori_asr_result **out, sori_error *err);

/* ---- streaming ------------------------------------------------------------------
 * Cache-aware streaming (models trained for it; the default for them): the
 * features are cut as NeMo's CacheAwareStreamingAudioBuffer cuts them (a
 * step per out-frames-per-chunk of audio, e.g. 320 ms), each step attends to
 * cached keys/values of the recent frames and continues the causal
 * convolutions from cached inputs; its encoder frames are decoded at once
 * (CTC or RNN-T greedy, whose state carries over). Latency: one step.
 * Buffered streaming (as NeMo's buffered inference for offline models): the
 * audio is cut into chunks of chunk_ms; each chunk is encoded inside a
 * window with left_context_ms before and right_context_ms after it (the
 * right context is the latency), and only the chunk's frames are kept; CTC
 * greedy decoding runs over the kept frames. The chunking depends only on
 * the audio, never on how it is fed: the same audio in any chunks gives the
 * same result.
 *
 *     sori_asr_stream *s; sori_asr_stream_create(m, &sp, &s, &err);
 *     for (each packet) {
 *         sori_asr_stream_accept(s, pcm, n, 8000, &err);
 *         while (sori_asr_stream_is_ready(s))
 *             sori_asr_decode_ready(m, &s, 1, &err);   // many streams: one batched call
 *         sori_asr_stream_result(s, &r, &err); ... r->text ... sori_asr_result_free(r);
 *     }
 *     sori_asr_stream_input_finished(s, &err);
 *     while (sori_asr_stream_is_ready(s)) sori_asr_decode_ready(m, &s, 1, &err);
 *     sori_asr_stream_result(s, &r, &err);   // r->is_final == 1
 *     sori_asr_stream_free(s);
 *
 * Whisper models stream by utterances: see partial_ms below.
 *
 * A stream belongs to one thread at a time; decode_ready may batch streams
 * of one model from one thread. */
typedef struct sori_asr_stream sori_asr_stream;

typedef enum sori_asr_stream_mode {
    SORI_ASR_STREAM_AUTO = 0,     /* cache-aware where the model was trained for it, else buffered */
    SORI_ASR_STREAM_BUFFERED,     /* overlapping windows (any model) */
    SORI_ASR_STREAM_CACHE_AWARE,  /* NeMo's cache_aware_stream_step: chunk_ms/contexts unused */
} sori_asr_stream_mode;

typedef struct sori_asr_stream_params {
    int chunk_ms;          /* 1600; a multiple of the model's output frame (40 ms for x4) */
    int left_context_ms;   /* 2000 */
    int right_context_ms;  /* 800: the latency on top of the chunk */
    /* Endpointing (sori/vad.h): when a rule fires, the utterance so far is
     * finalized (sori_asr_stream_pop_final) and the next one starts there.
     * Default on, with sherpa-onnx's rules (2.4 s / 1.2 s / 20 s). */
    bool endpointing;
    sori_endpoint_params endpoint;
    sori_asr_stream_mode mode;
    /* This stream's hotwords (as sori_asr_model_params.hotwords), replacing
     * the model's; NULL: the model's. They turn on the CTC beam search for
     * the stream when the model decodes greedily. */
    const char *hotwords;
    float hotword_score;
    /* Silero VAD (sori/vad.h) for the endpoints instead of the energy VAD: a
     * loaded model, shared by any number of streams and outliving them; NULL
     * for the energy VAD. A 32 ms window is speech from vad_threshold (0.5)
     * on, and stays speech until it falls below vad_threshold - 0.15 (as
     * Silero's VADIterator). The model must have a network for the ASR
     * model's rate (16 or 8 kHz). */
    const struct sori_silero_vad *silero;
    float vad_threshold;
    /* Whisper streams: each utterance (cut by the endpoints) is decoded when
     * it ends (its final); while it goes on, it is decoded again every
     * partial_ms of new audio (1000; 0: no partials) and the partial result
     * shows only what two successive decodings agree on (LocalAgreement-2),
     * so it never takes words back. */
    int partial_ms;
    /* Whisper streams: this stream's language ("ko", "en", ... or "auto": detected), replacing
     * the model's; NULL or "": the model's. SORI_ERR_INVALID_ARG for one the model does not
     * know. Conformer streams ignore it (a Conformer knows the one language it was trained on). */
    const char *language;
} sori_asr_stream_params;

SORI_API sori_asr_stream_params sori_asr_stream_default_params(void);
SORI_API sori_status sori_asr_stream_create(sori_asr_model *m, const sori_asr_stream_params *p,
                                            sori_asr_stream **out, sori_error *err);
SORI_API void sori_asr_stream_free(sori_asr_stream *s);
/* Samples at any rate (resampled inside; the rate must stay the same for a
 * stream). SORI_ERR_STATE after input_finished. */
SORI_API sori_status sori_asr_stream_accept(sori_asr_stream *s, const float *samples,
                                            int64_t n_samples, int sample_rate_hz, sori_error *err);
SORI_API sori_status sori_asr_stream_input_finished(sori_asr_stream *s, sori_error *err);
/* 1 when a chunk can be decoded. */
SORI_API int sori_asr_stream_is_ready(const sori_asr_stream *s);
/* Decodes one chunk of every ready stream among streams[0..n-1], all in one
 * batched encoder call. Streams that are not ready are skipped. */
SORI_API sori_status sori_asr_decode_ready(sori_asr_model *m, sori_asr_stream *const *streams, int n,
                                           sori_error *err);
/* A caller-owned snapshot of the current utterance as decoded so far
 * (is_final when the input is finished and every chunk decoded). Times are
 * from the stream's start. */
SORI_API sori_status sori_asr_stream_result(const sori_asr_stream *s, sori_asr_result **out,
                                            sori_error *err);
/* The oldest utterance finalized by endpointing, or *out = NULL when there
 * is none (caller-owned; is_final = 1; times from the stream's start).
 * Utterances without any text are not queued. */
SORI_API sori_status sori_asr_stream_pop_final(sori_asr_stream *s, sori_asr_result **out,
                                               sori_error *err);

#ifdef __cplusplus
}
#endif
#endif /* SORI_ASR_H */
