/*
 * asr/whisper_decode.h — decoding one 30 s window as openai-whisper's
 * DecodingTask does it (internal): the initial tokens (an optional prompt
 * after <|startofprev|>, then <|startoftranscript|>, the language, the
 * task, <|notimestamps|> without timestamps), the logit filters
 * (SuppressBlank, SuppressTokens, ApplyTimestampRules), greedy decoding,
 * sampling at a temperature (best_of candidates) or beam search with
 * patience, the maximum-likelihood ranking with an optional length
 * penalty, the no-speech probability, and language detection.
 *
 * A searcher holds every host buffer the search needs (logits of each
 * sequence, tokens, candidates, finished hypotheses), made once for a
 * state's limits; decoding allocates nothing.
 */
#ifndef SORI_ASR_WHISPER_DECODE_H
#define SORI_ASR_WHISPER_DECODE_H

#include "asr/whisper.h"

struct sori_whisper_hyp;

/* A rescoring hook (N-best rescoring by a language model): given a window's
 * finished hypotheses, best first, extra[i] is added to hypothesis i's
 * sum_logprob and the hypotheses are ranked again by that sum alone (the
 * hook's length term replaces the length penalty). */
typedef struct sori_whisper_rescorer {
    sori_status (*score)(void *user, const struct sori_whisper_hyp *hyps, int n, double *extra, sori_error *err);
    void *user;
    int max_hyps; /* the best this many are rescored, the rest follow them */
} sori_whisper_rescorer;

typedef struct sori_whisper_options {
    int beam_size;          /* >= 2: beam search; else greedy (temperature 0) or sampling */
    float patience;         /* beam search: finished hypotheses kept = round(beam * patience) (1) */
    float length_penalty;   /* < 0: rank by logprob / length; else by logprob / ((5 + len) / 6)^lp */
    float temperature;      /* 0: greedy / beam; > 0: sampling */
    int best_of;            /* sampling: candidates (1..) */
    int sample_len;         /* tokens at most (0: n_text_ctx / 2) */
    int language;           /* a language token, or -1: none (English-only models) */
    bool translate;         /* the task token (transcribe when false) */
    bool without_timestamps;
    bool suppress_blank;    /* true */
    float max_initial_timestamp; /* seconds (1.0); < 0: none */
    const int32_t *prompt;  /* tokens after <|startofprev|> (the last n_text_ctx/2 - 1 are used) */
    int n_prompt;
    uint64_t seed;          /* sampling */
    const sori_whisper_rescorer *rescore; /* NULL: none; applied when a window ends with 2+ hypotheses */
} sori_whisper_options;

sori_whisper_options sori_whisper_default_options(void);

/* One hypothesis: its sampled tokens (without <|endoftext|>) and scores. */
typedef struct sori_whisper_hyp {
    const int32_t *tokens;
    int n_tokens;
    float sum_logprob;
    float score;            /* the ranker's (after rescoring: sum_logprob + the hook's extra) */
} sori_whisper_hyp;

typedef struct sori_whisper_result {
    const int32_t *tokens;  /* the best hypothesis (points into the searcher) */
    int n_tokens;
    float sum_logprob, avg_logprob; /* avg: sum / (n_tokens + 1) */
    float no_speech_prob;
    float temperature;
    int language;           /* the language token used */
    const sori_whisper_hyp *nbest; /* every finished hypothesis, best first */
    int n_best;
    int sample_begin;       /* the initial tokens' count */
} sori_whisper_result;

typedef struct sori_whisper_search sori_whisper_search;

/* For decoding with up to max_group sequences per window (beam size or
 * best_of) on states of model m. */
sori_status sori_whisper_search_create(const sori_whisper *m, int max_group, sori_whisper_search **out,
                                       sori_error *err);
void sori_whisper_search_free(sori_whisper_search *z);

/* Decodes window `win` of the state's last encode. The state must have
 * room for the options' group of sequences. The result points into the
 * searcher (valid until its next use). */
sori_status sori_whisper_decode_window(sori_whisper_search *z, sori_whisper_state *s, int win,
                                       const sori_whisper_options *o, sori_whisper_result *r, sori_error *err);

/* Greedy decoding (temperature 0) of windows 0..n-1 of the state's last
 * encode at once, one sequence each, every decoder step one batched call:
 * r[i] is what sori_whisper_decode_window would give window i alone with
 * the same options (beam_size and temperature ignored). n <= the
 * searcher's group; the results point into the searcher. */
sori_status sori_whisper_decode_windows(sori_whisper_search *z, sori_whisper_state *s, int n,
                                        const sori_whisper_options *o, sori_whisper_result *r, sori_error *err);

/* openai-whisper's detect_language on window win: the language token of
 * the highest probability, and that probability. */
sori_status sori_whisper_detect_language(sori_whisper_search *z, sori_whisper_state *s, int win, int *token,
                                         float *prob, sori_error *err);

/* The gzip compression ratio of text, as openai-whisper computes it
 * (len(bytes) / len(zlib.compress(bytes))). */
float sori_whisper_compression_ratio(const char *text);

#endif /* SORI_ASR_WHISPER_DECODE_H */
