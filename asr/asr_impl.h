/*
 * asr/asr_impl.h — what the files of the ASR API share (private): the model
 * and stream objects and the functions one file uses from another.
 *
 *   model.c         loading (file or memory), feature settings, LM and hotwords, info
 *   decode.c        CTC greedy / beam search / RNN-T output -> text, words, times, confidences
 *   offline.c       sori_asr_transcribe(_batch), sori_asr_ctc_logprobs
 *   stream.c        the stream API, endpointing, buffered (windowed) streaming
 *   stream_cache.c  cache-aware streaming steps
 */
#ifndef SORI_ASR_IMPL_H
#define SORI_ASR_IMPL_H

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conformer.h"
#include "ctc_beam.h"
#include "hotwords.h"
#include "whisper_transcribe.h"
#include "sori/lm.h"
#include "kernels/kernels.h"
#include "sori/asr.h"
#include "sori/audio.h"
#include "sori/features.h"
#include "sori/ngram.h"
#include "sori/vad.h"

struct sori_asr_model {
    sori_runtime *rt;
    sori_conformer *enc;
    sori_features *fx;
    int sample_rate;
    int spm; /* SentencePiece pieces (▁ starts a word) rather than characters */
    int rnnt; /* decode with the RNN-T head (else CTC) */
    double frame_shift_s;
    char name[128];
    /* CTC beam search (with an n-gram LM when lm is set); beam.beam == 0: greedy */
    sori_ngram *lm;
    int32_t *tok2lm;
    sori_ctc_beam_params beam;
    sori_hotwords *hotwords; /* the model's (params.hotwords); streams may have their own */
    const struct sori_lm *rescore_lm; /* N-best rescoring of final results (params), or NULL */
    int nbest;
    float rescore_weight, rescore_bonus;
    /* a Whisper model (enc and fx are NULL) */
    sori_whisper *wh;
    sori_whisper_params wp;  /* decoding settings from the model params */
    int wh_group;            /* sequences a window decodes at once */
    int wh_batch;            /* > 0: the throughput mode, this many windows at once */
    const struct sori_silero_vad *wh_vad;
    sori_whisper_rescorer wh_rescorer; /* N-best rescoring of each window (wp.dec.rescore points here) */
    char language[16];       /* asked for: a code or "auto" */
};

struct sori_asr_stream {
    sori_asr_model *m;
    sori_asr_stream_params p;
    int64_t chunk, left, right; /* samples at the model rate */
    sori_resampler *rs;
    int in_rate;
    float *buf;        /* samples [base, base + n_buf) at the model rate */
    int64_t base, n_buf, cap;
    int64_t total;     /* samples received (after resampling) */
    int64_t next;      /* index of the next chunk to decode */
    int finished;
    int32_t *best;     /* per kept output frame: best class and posterior */
    float *prob;
    int64_t n_frames, frames_cap;
    /* endpointing */
    int64_t utt_start;      /* where the current utterance began (samples) */
    int64_t *ends;          /* pending utterance ends, oldest first */
    int n_ends, ends_cap;
    sori_vad *vad;
    sori_endpoint ep;
    int64_t vad_frames;     /* VAD frames seen */
    sori_asr_result **finals; /* finalized utterances, oldest first */
    int n_finals, finals_cap;
    /* cache-aware mode */
    int ca;
    sori_conformer_stream_cfg sc;
    sori_feature_stream *fst;
    float *feat;              /* the utterance's feature frames [feat_base, feat_base + n_feat) */
    int64_t feat_base, n_feat, feat_cap;
    int64_t fed;              /* samples (absolute) given to the feature stream */
    int flushed;              /* the utterance's features are complete */
    int64_t steps, consumed;  /* encoder steps done; feature frames consumed */
    int64_t enc_frames;       /* encoder frames of the utterance so far */
    sori_conformer_cache *cache;
    /* a step's input frames and its outputs (either mode), grown to the largest step and
     * kept: decoding allocates nothing once a stream has made its first steps */
    float *step_in, *step_out;
    size_t step_in_cap, step_out_cap; /* floats */
    float *rs_out;            /* resampled input of an accept call, grown to the largest */
    size_t rs_out_cap;
    sori_rnnt_state *rnn;
    sori_rnnt_emit *toks;     /* RNN-T emissions of the utterance */
    int64_t n_toks, toks_cap;
    sori_ctc_beam *beam;      /* CTC beam search over the utterance (models loaded with one, or hotwords) */
    sori_hotwords *hotwords;  /* the stream's own (params.hotwords) */
    /* Silero endpointing (params.silero) */
    sori_silero_vad_state *silero;
    float *win;               /* the window being filled */
    int n_win;
    int in_speech;            /* Silero's hysteresis */
    int heard_speech;         /* the VAD has heard speech since the utterance began */
    /* Whisper mode (stream_whisper.c) */
    sori_whisper_session *ws;
    sori_whisper_params wp;  /* Whisper streams: the model's settings, with this stream's language */
    int64_t next_partial;     /* the total at which the next partial is due */
    int32_t *hyp;             /* the previous partial decoding's text tokens */
    int n_hyp, hyp_cap;
    int32_t *stable;          /* what two decodings agreed on (shown) */
    int n_stable;
    int64_t utt_speech;       /* vad frames of speech when the utterance began (partials only with speech) */
};

/* model.c */
/* Hotword phrases compiled over the model's tokens. */
sori_status asr_make_hotwords(const sori_asr_model *m, const char *text, float score, sori_hotwords **out,
                              sori_error *err);
/* Beam search settings without an LM (weight 0), for `beam` hypotheses. */
void asr_beam_defaults(sori_ctc_beam_params *b, int beam);

/* decode.c: results from decoded frames or tokens (r is filled; on failure
 * the caller frees it) */
void asr_argmax_rows(const float *logp, int64_t T, int V, int32_t *best, float *prob);
sori_status asr_ctc_decode(const sori_asr_model *m, const int32_t *best_ids, const float *probs, int64_t T,
                           int V, sori_asr_result *r, sori_error *err);
sori_status asr_rnnt_decode(const sori_asr_model *m, const sori_rnnt_emit *e, int64_t n, sori_asr_result *r,
                            sori_error *err);
sori_status asr_beam_decode(const sori_asr_model *m, const sori_ctc_beam *b, int final, sori_asr_result *r,
                            sori_error *err);
sori_status asr_ctc_greedy(const sori_asr_model *m, const float *logp, int64_t T, int V, sori_asr_result *r,
                           sori_error *err);
sori_status asr_ctc_search(const sori_asr_model *m, const float *logp, int64_t T, int V, sori_asr_result *r,
                           sori_error *err);

/* whisper_asr.c: Whisper models behind the ASR API */
sori_status asr_whisper_load(sori_asr_model *m, const sori_gguf *g, const char *path,
                             const sori_asr_model_params *p, sori_error *err);
sori_status asr_whisper_transcribe(sori_asr_model *m, const float *samples, int64_t n, int rate,
                                   sori_asr_result **out, sori_error *err);

sori_status asr_whisper_transcribe_reader(sori_asr_model *m, sori_audio_reader *r, sori_asr_result **out,
                                          sori_error *err);
/* stream_whisper.c: Whisper streams (VAD-cut utterances; LocalAgreement-2 partials) */
/* Sets w's language from a code ("ko"), or "auto" (detected); SORI_ERR_INVALID_ARG for one the
 * model does not know. */
sori_status asr_whisper_language(const sori_asr_model *m, const char *lang, sori_whisper_params *w,
                                 sori_error *err);
sori_status asr_whisper_stream_create(sori_asr_model *m, const sori_asr_stream_params *p, sori_asr_stream **out,
                                      sori_error *err);
int asr_whisper_stream_ready(const sori_asr_stream *s);
sori_status asr_whisper_stream_step(sori_asr_stream *s, sori_error *err);
sori_status asr_whisper_stream_snapshot(const sori_asr_stream *s, sori_asr_result **out, sori_error *err);
/* whisper_asr.c: a transcript as a result (times shifted by offset_s) */
sori_status asr_whisper_result(const sori_asr_model *m, const sori_whisper_transcript *t, double offset_s,
                               sori_asr_result *r, sori_error *err);
sori_status asr_stream_endpointing(sori_asr_stream *s, sori_error *err);

/* stream.c */
/* Where the current utterance ends: the oldest pending endpoint, the end of
 * input, or -1 (still open). */
int64_t asr_utt_limit(const sori_asr_stream *s);
/* The current utterance ended at the oldest pending endpoint: its final
 * result queued (when it has text); the next utterance starts there. */
sori_status asr_close_utterance(sori_asr_stream *s, sori_error *err);
/* n decoded CTC frames into the beam search, or their best classes kept. */
sori_status asr_keep_frames(sori_asr_stream *s, const float *logp, int64_t n, int V, sori_error *err);

/* stream_cache.c */
/* New feature frames a cache-aware step may take now (0: not ready). */
int64_t asr_ca_take(const sori_asr_stream *s);
/* Finalizes every utterance whose endpoint decoding has reached. */
sori_status asr_ca_finalize_ready(sori_asr_stream *s, sori_error *err);
/* One cache-aware step for the ready streams whose step is a first one
 * (first) or a later one. */
sori_status asr_ca_step_group(sori_asr_model *m, sori_asr_stream **ready, int k, bool first, sori_error *err);
/* Streams decoded in one batched call at most (decode_ready takes any number in groups of it). */
enum { ASR_STEP_GROUP = 32 };
/* s->step_in / s->step_out with room for in / out floats (grown, never shrunk). */
sori_status asr_step_buffers(sori_asr_stream *s, size_t in, size_t out, sori_error *err);

/* asr/rescore.c: extra[i] = rescore_weight * ln p_LM(texts[i]) +
 * rescore_bonus * its LM tokens, each text scored from the LM's BOS (all 0
 * when n < 2 or the LM has no BOS). n <= 64. */
sori_status asr_lm_extra(const sori_asr_model *m, const char *const *texts, int n, double *extra, sori_error *err);

#endif /* SORI_ASR_IMPL_H */
