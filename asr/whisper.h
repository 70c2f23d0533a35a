/*
 * asr/whisper.h — OpenAI's Whisper (encoder–decoder) on sori's ops
 * (internal; asr.h's API and the decoding in whisper_decode.c build on it).
 *
 * A model is loaded from a "sori.whisper" GGUF file (tools/whisper_to_gguf.py;
 * docs/model-format.md) into a runtime and is immutable after: any number of
 * threads share it. Everything that changes lives in a state, whose whole
 * workspace — encoder activations, cross-attention keys/values of each
 * window, the decoder's self-attention caches of each sequence, scratch —
 * is one slab of the runtime's session pool, taken when the state is made
 * for at most max_windows windows and max_seqs sequences and returned when
 * it is freed. Encoding and decoding allocate nothing.
 *
 *     sori_whisper_state *s; sori_whisper_state_create(m, 1, 5, &s, &err);
 *     sori_whisper_encode(s, 1, &mel, &err);            // mel: 2*n_audio_ctx rows of n_mels
 *     int win[5] = {0};
 *     sori_whisper_decode(s, 5, win, prompt, n_prompt, 0, logits, &err);   // every beam the prompt
 *     sori_whisper_decode(s, 5, win, next, 1, n_prompt, logits, &err);      // one token each
 *     sori_whisper_reorder(s, 5, parent, n_prompt + 1, &err);              // beams that survived
 */
#ifndef SORI_ASR_WHISPER_H
#define SORI_ASR_WHISPER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sori/common.h"
#include "sori/runtime.h"

typedef struct sori_whisper sori_whisper;
typedef struct sori_gguf sori_gguf;
typedef struct sori_bpe sori_bpe;

typedef struct sori_whisper_hparams {
    int n_mels, n_audio_ctx, n_audio_state, n_audio_head, n_audio_layer;
    int n_text_ctx, n_text_state, n_text_head, n_text_layer, n_vocab;
} sori_whisper_hparams;

typedef struct sori_whisper_tokens {
    int eot, sot, translate, transcribe, sot_lm, sot_prev, no_speech, no_timestamps, timestamp_begin;
    int n_languages;        /* language tokens are sot + 1 .. sot + n_languages */
    const char *const *languages; /* their codes */
    const int32_t *suppress; /* non-speech tokens (suppress_tokens "-1") */
    int n_suppress;
    const int32_t *alignment_heads; /* (layer, head) pairs */
    int n_alignment_heads;
    bool multilingual;
} sori_whisper_tokens;

/* Loads from an opened GGUF file (not taken); path names it in messages.
 * SORI_ERR_FORMAT names a key or tensor that is missing, of the wrong type
 * or shape, or out of range; everything is checked before weights load. */
sori_status sori_whisper_load_gguf(sori_runtime *rt, const sori_gguf *g, const char *path, sori_whisper **out,
                                   sori_error *err);
void sori_whisper_free(sori_whisper *m);
const sori_whisper_hparams *sori_whisper_get_hparams(const sori_whisper *m);
const sori_whisper_tokens *sori_whisper_get_tokens(const sori_whisper *m);
const sori_bpe *sori_whisper_get_bpe(const sori_whisper *m);
/* mel filters [n_mels, 201] (host) */
const float *sori_whisper_mel_filters(const sori_whisper *m);
const char *sori_whisper_name(const sori_whisper *m);
sori_runtime *sori_whisper_runtime(const sori_whisper *m);
/* The language token of a code ("ko"), or -1. */
int sori_whisper_language_token(const sori_whisper *m, const char *code);

typedef struct sori_whisper_state sori_whisper_state;

/* max_windows: windows encoded at once (1..64); max_seqs: sequences decoded
 * at once (beams x windows, 1..1024). SORI_ERR_NO_MEMORY (naming the size)
 * when the runtime's pool has no block that large. */
sori_status sori_whisper_state_create(sori_whisper *m, int max_windows, int max_seqs,
                                      sori_whisper_state **out, sori_error *err);
void sori_whisper_state_free(sori_whisper_state *s);
/* Bytes of one state's workspace for these limits. */
size_t sori_whisper_state_bytes(const sori_whisper *m, int max_windows, int max_seqs);

/* Encodes n windows (n <= max_windows): mel[w] holds 2 * n_audio_ctx rows
 * of n_mels normalised log-mel values (host, time-major). The output and
 * every decoder layer's cross-attention keys/values stay in the state
 * until the next encode. enc_out (host, may be NULL): n * n_audio_ctx rows
 * of n_audio_state values. */
sori_status sori_whisper_encode(sori_whisper_state *s, int n, const float *const *mel, float *enc_out,
                                sori_error *err);

/* Runs n_tok tokens of each of n sequences (n <= max_seqs) through the
 * decoder at positions [pos, pos + n_tok): tokens[i * n_tok + t] (host);
 * sequence i attends to the window win[i] of the last encode and to its own
 * cache, which gets these positions. logits (host, may be NULL): n rows of
 * n_vocab, of each sequence's last position. pos + n_tok <= n_text_ctx and
 * n * n_tok <= max(max_seqs, n_text_ctx): a prompt goes through one
 * sequence, and sori_whisper_reorder copies its cache to the others. */
sori_status sori_whisper_decode(sori_whisper_state *s, int n, const int *win, const int32_t *tokens, int n_tok,
                                int pos, float *logits, sori_error *err);

/* Sequence i's cache becomes a copy of sequence src[i]'s (positions
 * [0, len)), for the n sequences at once (beam search). */
sori_status sori_whisper_reorder(sori_whisper_state *s, int n, const int *src, int len, sori_error *err);

/* Cross-attention weights of the alignment heads for one sequence's tokens
 * (word timestamps), as openai-whisper's find_alignment takes them: runs
 * tokens[0, n_tok) from position 0 against window `win` (in sequence 0's
 * cache, which it overwrites) and writes, for each alignment head h, n_tok
 * rows of n_frames weights: the scaled q·k of the first n_frames encoder
 * frames, softmaxed over those frames: out[(h * n_tok + t) * n_frames + f].
 * With n_targets > 0 also probs[i]: the probability of targets[i] at
 * position prob_from + i under a softmax over the tokens below prob_limit. */
sori_status sori_whisper_alignment(sori_whisper_state *s, int win, const int32_t *tokens, int n_tok, int n_frames,
                                   float *out, int prob_from, int prob_limit, const int32_t *targets, int n_targets,
                                   float *probs, sori_error *err);

#endif /* SORI_ASR_WHISPER_H */
