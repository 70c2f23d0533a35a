/* lm/vocab.h — the tokenizer of a llama.cpp GGUF language model, from the
 * file's tokenizer.ggml.* keys (internal to lm/).
 *
 * SentencePiece-style ("llama" model, as Gemma and Llama 2 files carry):
 * spaces become U+2581, the text is split into UTF-8 characters, and
 * adjacent pieces are merged while their concatenation is a token, the
 * pair whose token has the highest score first (leftmost on a tie); a piece
 * that is no token is spelled as byte tokens <0xXX>. Special tokens
 * (control, user-defined) are cut out of the text before that, longest
 * first: user-defined ones always, control ones when parse_special is set
 * (llama.cpp's rules). */
#ifndef SORI_LM_VOCAB_H
#define SORI_LM_VOCAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kernels/gguf.h"
#include "sori/common.h"

typedef enum {
    SORI_TOK_NORMAL = 1,
    SORI_TOK_UNKNOWN = 2,
    SORI_TOK_CONTROL = 3,
    SORI_TOK_USER_DEFINED = 4,
    SORI_TOK_UNUSED = 5,
    SORI_TOK_BYTE = 6,
} sori_tok_type;

typedef struct sori_vocab sori_vocab;

/* Reads the tokenizer of g (strings stay in g: it must outlive the vocab). */
sori_status sori_vocab_load(const sori_gguf *g, sori_vocab **out, sori_error *err);
void sori_vocab_free(sori_vocab *v);

int32_t sori_vocab_size(const sori_vocab *v);
int32_t sori_vocab_bos(const sori_vocab *v); /* -1 if none */
int32_t sori_vocab_eos(const sori_vocab *v);
bool sori_vocab_add_bos(const sori_vocab *v);
/* Whether a token ends a generation: EOS, the file's EOT and EOM tokens,
 * and end-of-turn tokens known by their text (<end_of_turn>, <|eot_id|>,
 * <|im_end|>, [|endofturn|] ...), as llama.cpp counts them. */
bool sori_vocab_is_eog(const sori_vocab *v, int32_t id);
/* The id of a token's text, -1 if none. */
int32_t sori_vocab_find(const sori_vocab *v, const char *text, size_t len);

/* Tokens of text[0..len) into out (cap entries; *n gets the count, which
 * may exceed cap: then nothing past cap is written and SORI_ERR_INVALID_ARG
 * comes back). add_bos: the BOS token first. */
sori_status sori_vocab_tokenize(const sori_vocab *v, const char *text, size_t len, bool add_bos,
                                bool parse_special, int32_t *out, int cap, int *n, sori_error *err);
/* The bytes a token stands for (U+2581 back to a space, byte tokens as their
 * byte, control tokens as nothing unless special is set); returns the length,
 * written up to cap bytes (no NUL). */
int sori_vocab_piece(const sori_vocab *v, int32_t id, bool special, char *buf, int cap);

#endif
