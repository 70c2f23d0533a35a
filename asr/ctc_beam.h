/* asr/ctc_beam.h — CTC prefix beam search with shallow fusion of an n-gram
 * LM (internal to the ASR module).
 *
 * Frame-synchronous, so one search serves offline decoding (all frames at
 * once) and streaming (frames as they come, the best prefix at any time).
 * Hypotheses are prefixes of tokens kept in a trie; each carries the CTC
 * log-probabilities of ending in blank / in its last token (pb, pnb, summed
 * over alignments: repeats merge, blanks separate), and is ranked by
 *     log(e^pb + e^pnb) + weight * ln p_LM(prefix) + bonus * |prefix|
 * (the LM over the tokens' LM words, <s> first; a final ranking adds
 * weight * ln p_LM(</s> | prefix)), plus the boost of the hotwords the
 * prefix spells (asr/hotwords.h; the final ranking counts completed ones
 * only). Without an LM it is a plain CTC prefix beam search (weight 0). Memory: the trie is compacted to the nodes the
 * beam still reaches, so it stays bounded by beam x prefix length. */
#ifndef SORI_ASR_CTC_BEAM_H
#define SORI_ASR_CTC_BEAM_H

#include <stdint.h>

#include "sori/common.h"
#include "hotwords.h"
#include "sori/ngram.h"

typedef struct {
    int beam;              /* hypotheses kept per frame (>= 1) */
    int max_cands;         /* tokens tried per frame: the most probable, at most this many */
    float cand_logp;       /* and only those with log p >= this (blank is always tried) */
    const sori_ngram *lm;  /* NULL: no LM */
    const int32_t *tok2lm; /* token -> LM word id (-1: unknown), vocab entries; with lm */
    float weight, bonus;   /* LM weight (natural-log scores), per-token bonus */
    const sori_hotwords *hotwords; /* NULL: none; built over this model's tokens */
} sori_ctc_beam_params;

typedef struct {
    int32_t token, first, last; /* frames it spans */
    float prob;                 /* its posterior at its first frame */
} sori_ctc_beam_tok;

typedef struct sori_ctc_beam sori_ctc_beam;

/* V: classes per frame, the blank last (V - 1 tokens). */
sori_status sori_ctc_beam_create(int V, const sori_ctc_beam_params *p, sori_ctc_beam **out, sori_error *err);
void sori_ctc_beam_free(sori_ctc_beam *b);
/* Back to the start of an utterance (keeps the memory). */
void sori_ctc_beam_reset(sori_ctc_beam *b);
/* T more frames of V log-probabilities (log-softmax). */
sori_status sori_ctc_beam_step(sori_ctc_beam *b, const float *logp, int64_t T, sori_error *err);
/* The best prefix so far (final: ranked with the LM's end of sentence), as a
 * caller-owned array (free()); *n = 0 and *out = NULL when it is empty. */
sori_status sori_ctc_beam_best(const sori_ctc_beam *b, int final, sori_ctc_beam_tok **out, int64_t *n,
                               sori_error *err);

/* The beam's hypotheses ranked as sori_ctc_beam_best ranks them (best
 * first): at most k of them into rank[] (indices for sori_ctc_beam_get),
 * their ranking scores into score[] and their CTC log-probabilities (the
 * acoustic part alone) into acoustic[] (either may be NULL); returns how
 * many. */
int sori_ctc_beam_rank(const sori_ctc_beam *b, int final, int k, int *rank, float *score, float *acoustic);
/* Hypothesis `index` (from sori_ctc_beam_rank) as sori_ctc_beam_best gives the best. */
sori_status sori_ctc_beam_get(const sori_ctc_beam *b, int index, sori_ctc_beam_tok **out, int64_t *n,
                              sori_error *err);

#endif /* SORI_ASR_CTC_BEAM_H */
