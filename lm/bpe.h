/*
 * lm/bpe.h — byte-level BPE (GPT-2's alphabet), as tiktoken runs it:
 * Whisper's tokenizer today, the Llama 3 / Qwen tokenizers later (internal).
 *
 * A vocabulary is n token strings written in GPT-2's byte-to-unicode
 * alphabet (each byte one code point: the printable bytes as themselves,
 * the others as U+0100 onwards), as `vocabulary.txt` and tokenizer.json
 * hold them. Ids below n_regular are regular tokens whose merge rank is
 * their id (tiktoken's ranks); ids from n_regular on are special tokens
 * (<|endoftext|>, <|ko|>, <|0.00|> ...), never produced by encoding text.
 *
 * Encoding splits text with GPT-2's pattern
 *     's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 * (letters and numbers by Unicode block: Latin, Greek, Cyrillic, Hebrew,
 * Arabic, Thai, Hangul, kana and CJK ideographs are letters; digits,
 * superscripts and vulgar fractions numbers) and merges each piece's bytes,
 * always the adjacent pair whose concatenation has the lowest rank.
 * Immutable after creation: share it between threads.
 */
#ifndef SORI_LM_BPE_H
#define SORI_LM_BPE_H

#include <stddef.h>
#include <stdint.h>

#include "sori/common.h"

typedef struct sori_bpe sori_bpe;

/* tokens[i] for i < n; copied. SORI_ERR_FORMAT names a token that is not
 * valid UTF-8 of that alphabet (regular tokens only) or a duplicate. */
sori_status sori_bpe_create(const char *const *tokens, int n, int n_regular, sori_bpe **out,
                            sori_error *err);
/* The same with the special tokens anywhere: special[i] != 0 marks token i
 * as one (its text kept as it is, never produced by merging). */
sori_status sori_bpe_create_special(const char *const *tokens, int n, const uint8_t *special, sori_bpe **out,
                                    sori_error *err);

/* Pre-tokenizers: how text is cut into pieces before merging. */
typedef enum {
    SORI_BPE_PRE_GPT2 = 0, /* GPT-2's pattern (above; Whisper) */
    /* Llama 3's: (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
     * ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+ */
    SORI_BPE_PRE_LLAMA3,
    SORI_BPE_PRE_QWEN2, /* Llama 3's with single digits (\p{N}) */
} sori_bpe_pre;

/* sori_bpe_encode with a pre-tokenizer, on len bytes of text (no NUL needed). */
sori_status sori_bpe_encode_pre(const sori_bpe *b, sori_bpe_pre pre, const char *text, size_t len, int32_t *out,
                                int max, int *n, sori_error *err);
void sori_bpe_free(sori_bpe *b);
int sori_bpe_n_tokens(const sori_bpe *b);

/* The bytes a token stands for (a special token: its text) and their
 * count; NULL for an id out of range. Not NUL-terminated. */
const uint8_t *sori_bpe_bytes(const sori_bpe *b, int id, int *len);
/* The id of a token given in the vocabulary's own spelling, or -1. */
int sori_bpe_find(const sori_bpe *b, const char *token);

/* Token ids of UTF-8 text (no special tokens). Writes at most max ids and
 * sets *n to the count needed; SORI_ERR_INVALID_ARG for invalid UTF-8. */
sori_status sori_bpe_encode(const sori_bpe *b, const char *text, int32_t *out, int max, int *n,
                            sori_error *err);

/* Appends the bytes of ids to buf (capacity cap, always NUL-terminated);
 * special tokens are skipped. Returns the length the whole text needs
 * (snprintf-like). The bytes may end inside a UTF-8 character. */
size_t sori_bpe_decode(const sori_bpe *b, const int32_t *ids, int n, char *buf, size_t cap);

#endif /* SORI_LM_BPE_H */
