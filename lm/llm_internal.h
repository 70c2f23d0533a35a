/* lm/llm_internal.h — what lm/llm.c lends the rest of lm/ (generation and
 * chat formatting in lm/generate.c): a session's generation buffers and a
 * decode that keeps them. */
#ifndef SORI_LM_INTERNAL_H
#define SORI_LM_INTERNAL_H

#include "lm/vocab.h"
#include "sori/lm.h"

typedef struct {
    const sori_lm *lm;
    float *logits;                /* n_vocab */
    float *scratch_f;             /* n_vocab, for sampling */
    int32_t *scratch_i;           /* n_vocab, for sampling */
    int32_t *tokens;              /* n_ctx: what sequence 0's cache holds */
    int *n_tokens;                /* how many of them are valid */
    int n_ctx, n_batch;
} lm_gen_state;

lm_gen_state lm_session_gen(sori_lm_session *s);
const sori_vocab *lm_vocab(const sori_lm *m);
/* The file's tokenizer.chat_template (Jinja text), or NULL. */
const char *lm_chat_template_text(const sori_lm *m);
/* sori_lm_decode without forgetting what sequence 0 holds for generation
 * (the caller keeps lm_gen_state.tokens right). Arguments unchecked. */
sori_status lm_decode(sori_lm_session *s, const sori_lm_token *t, int n, float *logits, sori_error *err);

#endif
