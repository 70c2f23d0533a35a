/* asr/hotwords.h — hotword (contextual) biasing for the CTC beam search
 * (internal to the ASR module).
 *
 * A list of phrases (names, products, terms a call is expected to contain)
 * is compiled into an Aho-Corasick automaton over characters. A hypothesis
 * carries an automaton state; every character its tokens spell moves it, and
 * each character that extends a partial match earns `score` (natural-log
 * units, like the LM bonus). When a partial match breaks off, what it had
 * earned is taken back, so only completed phrases keep their boost; the
 * beam's final ranking also takes back the boost of a match still in
 * progress (sori_hotwords_partial). Matching is on characters with spaces
 * and SentencePiece's word mark removed, so a phrase matches however the
 * model splits it into tokens and wherever it puts word boundaries.
 *
 * The same scheme as icefall's/sherpa-onnx's context graph (Aho-Corasick
 * with the partial score revoked on failure), here over characters rather
 * than tokens. A phrase that is a suffix of another one's prefix is credited
 * only when the longer match breaks off before it ends (matches reset to
 * the start when a phrase completes). */
#ifndef SORI_ASR_HOTWORDS_H
#define SORI_ASR_HOTWORDS_H

#include <stdint.h>

#include "sori/common.h"

typedef struct sori_hotwords sori_hotwords;

/* tokens: the model's n_tokens token strings (UTF-8; NULL entries spell
 * nothing). text: phrases, one per line, UTF-8; a line may end in
 * " :SCORE" (its own per-character boost, 0 < SCORE <= 20, else `score`);
 * empty lines and lines starting with '#' are skipped. SORI_ERR_INVALID_ARG
 * (naming the line) for a phrase with a character no token spells, a bad
 * score, invalid UTF-8, no phrase at all, or over 1 MB of text. */
sori_status sori_hotwords_create(const char *const *tokens, int n_tokens, const char *text, float score,
                                 sori_hotwords **out, sori_error *err);
void sori_hotwords_free(sori_hotwords *h);
/* Phrases compiled. */
int sori_hotwords_count(const sori_hotwords *h);
/* The state after `state` (0: the start) reads token `token`; *delta: the
 * change of the hypothesis's boost. */
int32_t sori_hotwords_next(const sori_hotwords *h, int32_t state, int32_t token, float *delta);
/* The boost a match still in progress at `state` holds (taken back at the end). */
float sori_hotwords_partial(const sori_hotwords *h, int32_t state);

#endif /* SORI_ASR_HOTWORDS_H */
