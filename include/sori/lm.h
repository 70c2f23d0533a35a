/*
 * sori/lm.h — transformer language models in GGUF files as llama.cpp writes
 * them (architectures gemma3, llama, qwen2, qwen3), for scoring texts
 * (N-best rescoring of transcripts) and for generating text.
 *
 * Usage:
 *     sori_lm *lm = NULL;
 *     if (sori_lm_load(rt, "gemma-3-270m-q4_k_m.gguf", &lm, &err) != SORI_OK) ...
 *     sori_lm_session *s = NULL;
 *     sori_lm_session_create(lm, NULL, &s, &err);          // KV cache and buffers, once
 *     double lp; int n_tok;
 *     sori_lm_score_text(s, "오늘 날씨가 좋네요", &lp, &n_tok, &err);  // natural log
 *     sori_lm_session_free(s);
 *     sori_lm_free(lm);
 *
 * A loaded model is immutable and may serve any number of sessions, one
 * thread per session at a time. A session owns its KV cache (n_ctx
 * positions of n_seq sequences) and every buffer a call needs, sized when
 * it is created: scoring and decoding allocate nothing.
 *
 * What a file must hold is checked when it loads: the architecture, the
 * hyper-parameters, every tensor's name, type and shape; an unsupported key
 * value (a RoPE scaling type sori does not implement) or tensor type is
 * refused by name with SORI_ERR_UNSUPPORTED; a damaged file gives
 * SORI_ERR_FORMAT. Weights are used in place from the memory-mapped file:
 * f32, f16, bf16, q4_0, q5_0, q8_0, q4_K, q5_K, q6_K.
 */
#ifndef SORI_LM_H
#define SORI_LM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common.h"
#include "runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sori_lm sori_lm;
typedef struct sori_lm_session sori_lm_session;

SORI_API sori_status sori_lm_load(sori_runtime *rt, const char *path, sori_lm **out, sori_error *err);
/* The same from a file's bytes in memory, used in place: the buffer must
 * stay valid and unchanged until sori_lm_free. Messages name it "<memory>". */
SORI_API sori_status sori_lm_load_memory(sori_runtime *rt, const void *data, size_t size, sori_lm **out,
                                         sori_error *err);
SORI_API void sori_lm_free(sori_lm *lm);

typedef struct sori_lm_info {
    const char *architecture; /* "gemma3", "llama", "qwen2", "qwen3" */
    const char *name;         /* general.name, or "" */
    int32_t n_vocab;
    int n_ctx_train, n_embd, n_layer, n_head, n_head_kv, n_ff;
    int64_t n_params;
    int32_t bos, eos; /* -1 if none */
} sori_lm_info;

SORI_API sori_lm_info sori_lm_get_info(const sori_lm *lm);

/* Tokens of text (UTF-8, len bytes): BOS first when the file asks for it
 * (add_bos) and special tokens written in the text (e.g. "<start_of_turn>")
 * read as such when parse_special. *n gets the count; when it exceeds cap,
 * only cap are written and SORI_ERR_INVALID_ARG comes back. */
SORI_API sori_status sori_lm_tokenize(const sori_lm *lm, const char *text, size_t len, bool add_bos,
                                      bool parse_special, int32_t *tokens, int cap, int *n, sori_error *err);
/* The bytes of one token (no NUL); returns their count, writing at most cap. */
SORI_API int sori_lm_token_piece(const sori_lm *lm, int32_t token, char *buf, int cap);

typedef struct sori_lm_session_params {
    int n_ctx;   /* positions per sequence (0: 512, at most the model's trained context) */
    int n_seq;   /* sequences (hypotheses scored side by side; 0: 1) */
    int n_batch; /* tokens one decode call takes at most (0: 64) */
} sori_lm_session_params;

SORI_API sori_lm_session_params sori_lm_session_default_params(void);
SORI_API sori_status sori_lm_session_create(const sori_lm *lm, const sori_lm_session_params *params,
                                            sori_lm_session **out, sori_error *err);
SORI_API void sori_lm_session_free(sori_lm_session *s);

/* One entry of a decode call: a token at a position of a sequence. */
typedef struct sori_lm_token {
    int32_t token;
    int32_t pos; /* 0-based; every earlier position of seq must be in the cache or in this call */
    int32_t seq; /* 0 .. n_seq-1 */
    bool logits; /* write this entry's next-token logits */
} sori_lm_token;

/* Runs n entries (at most n_batch) through the model, filling the KV cache;
 * for each entry with .logits set, in order, n_vocab logits go to logits
 * (rows of n_vocab floats; may be NULL if no entry asks). */
SORI_API sori_status sori_lm_decode(sori_lm_session *s, const sori_lm_token *tokens, int n, float *logits,
                                    sori_error *err);
/* Copies positions [0, n_pos) of sequence src's cache to sequence dst (a
 * shared prefix computed once). */
SORI_API sori_status sori_lm_seq_copy(sori_lm_session *s, int src, int dst, int n_pos, sori_error *err);

/* log p(continuation | prefix), natural log, for n_hyps continuations of one
 * prefix (the prefix's cache computed once): logp[i] = sum over the tokens
 * of hyps[i] (n_hyp[i] of them) of log p(token | everything before it). */
SORI_API sori_status sori_lm_score(sori_lm_session *s, const int32_t *prefix, int n_prefix,
                                   const int32_t *const *hyps, const int *n_hyp, int n_hyps, double *logp,
                                   sori_error *err);
/* A text's log probability (natural log) as the model sees it from BOS
 * (when the file adds one), every token scored; *n_tokens: how many. */
SORI_API sori_status sori_lm_score_text(sori_lm_session *s, const char *text, double *logp, int *n_tokens,
                                        sori_error *err);

/* Sampling the next token from a row of logits (generation). temperature
 * <= 0 or top_k == 1: the most likely token (greedy). Otherwise the logits
 * are divided by the temperature, cut to the top_k most likely (0: no cut)
 * and then to the smallest set whose probability reaches top_p (1: no
 * cut), renormalized, and one is drawn with *rng_state (any seed; it is
 * advanced). scratch: n_vocab floats and n_vocab int32 of the caller's,
 * so that sampling allocates nothing (NULL: greedy only). */
typedef struct sori_lm_sampling {
    float temperature; /* 0: greedy */
    int top_k;         /* 0: all */
    float top_p;       /* 1: all */
} sori_lm_sampling;

SORI_API int32_t sori_lm_sample(const float *logits, int32_t n_vocab, const sori_lm_sampling *p, uint64_t *rng_state,
                                float *scratch_f, int32_t *scratch_i);


/* ---- chat and generation ---------------------------------------------------------
 *
 *     sori_lm_chat_message msgs[] = {{"system", "상담원입니다."}, {"user", "요금제를 바꾸고 싶어요"}};
 *     char prompt[4096]; size_t len;
 *     sori_lm_chat_format(lm, NULL, msgs, 2, true, prompt, sizeof prompt, &len, &err);
 *     int32_t tok[512]; int n;
 *     sori_lm_tokenize(lm, prompt, len, true, true, tok, 512, &n, &err);   // special tokens parsed
 *     sori_lm_generate_params gp = sori_lm_generate_default_params();
 *     sori_lm_generate_result res;
 *     sori_lm_generate(s, tok, n, &gp, print_text, NULL, &res, &err);
 */

typedef struct sori_lm_chat_message {
    const char *role; /* "system", "user", "assistant" */
    const char *content;
} sori_lm_chat_message;

/* The chat format the file's tokenizer.chat_template is recognized as:
 * "gemma", "llama3", "chatml" (Qwen) or "exaone3"; for a file without a
 * template, its architecture's usual one (gemma3: gemma; qwen2, qwen3:
 * chatml); NULL when there is none or sori does not know the template. */
SORI_API const char *sori_lm_chat_template(const sori_lm *lm);

/* Writes a conversation as the model expects it, as llama.cpp formats the
 * same template (BOS is not written: the tokenizer adds it). tmpl: NULL for
 * the file's own template, else a format name above or a Jinja template
 * text to recognize (lm may then be NULL). add_assistant: end with the
 * opening of the assistant's turn. Gemma has no system turn: system text
 * goes before the first user message; contents are trimmed except in
 * chatml. buf gets up to cap - 1 bytes and a NUL; *len the whole length
 * (when it does not fit: SORI_ERR_INVALID_ARG). A template sori cannot
 * recognize: SORI_ERR_UNSUPPORTED. */
SORI_API sori_status sori_lm_chat_format(const sori_lm *lm, const char *tmpl, const sori_lm_chat_message *msgs,
                                         int n_msgs, bool add_assistant, char *buf, size_t cap, size_t *len,
                                         sori_error *err);

/* Whether a token ends a generation: EOS, the file's end-of-turn tokens
 * (<end_of_turn>, <|eot_id|>, <|im_end|>, [|endofturn|] ...). */
SORI_API bool sori_lm_is_end(const sori_lm *lm, int32_t token);

typedef enum sori_lm_stop {
    SORI_LM_STOP_END = 0,     /* the model wrote an end token */
    SORI_LM_STOP_STRING,      /* a stop string appeared (it and what follows are not given) */
    SORI_LM_STOP_MAX_TOKENS,  /* max_tokens were generated */
    SORI_LM_STOP_CONTEXT,     /* the session's context is full */
    SORI_LM_STOP_CALLER,      /* the text callback returned false */
} sori_lm_stop;

typedef struct sori_lm_generate_params {
    sori_lm_sampling sampling; /* default: greedy */
    uint64_t seed;             /* of the sampling generator */
    int max_tokens;            /* 0: until an end token or the context is full */
    const char *const *stop;   /* stop strings (each 1..256 bytes), or NULL */
    int n_stop;
} sori_lm_generate_params;

SORI_API sori_lm_generate_params sori_lm_generate_default_params(void);

/* Receives the text as it is generated, in order: whole UTF-8 characters
 * (a token that ends inside one waits for the rest), and text that could
 * begin a stop string held back until it cannot. Return false to stop. */
typedef bool (*sori_lm_text_fn)(void *user, const char *text, size_t len);

typedef struct sori_lm_generate_result {
    int n_prompt;    /* prompt tokens */
    int n_reused;    /* of them, found in the cache from the previous call */
    int n_generated; /* tokens generated (an end token counts) */
    sori_lm_stop stop;
} sori_lm_generate_result;

/* Generates a continuation of prompt (tokens, BOS included when the model
 * wants one) in sequence 0 of the session: the prompt, then one token at a
 * time until an end token, a stop string, max_tokens, a full context or
 * the callback says stop. The keys and values of the previous call's
 * prompt and reply stay in the cache: a prompt that begins with them (the
 * next turn of a conversation) only runs what is new. Nothing is
 * allocated. A prompt that does not fit the context: SORI_ERR_INVALID_ARG. */
SORI_API sori_status sori_lm_generate(sori_lm_session *s, const int32_t *prompt, int n_prompt,
                                      const sori_lm_generate_params *p, sori_lm_text_fn on_text, void *user,
                                      sori_lm_generate_result *res, sori_error *err);

#ifdef __cplusplus
}
#endif

#endif
