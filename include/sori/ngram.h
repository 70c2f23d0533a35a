/*
 * sori/ngram.h — back-off n-gram language models (ARPA files, or sori's
 * GGUF n-gram files), queried by the ASR beam search (shallow fusion).
 *
 * Usage:
 *     sori_ngram *lm = NULL;
 *     if (sori_ngram_load("lm.arpa", &lm, &err) != SORI_OK) ...   // or lm.gguf
 *     int32_t ctx[] = {sori_ngram_word_id(lm, "<s>"), sori_ngram_word_id(lm, "▁안녕")};
 *     float lp = sori_ngram_log10p(lm, ctx, 2, sori_ngram_word_id(lm, "하세요"));
 *     sori_ngram_free(lm);
 *
 * Scores follow the ARPA back-off rule: the longest n-gram of the context's
 * last words and the word that the model has gives log10 p; each shorter try
 * adds the back-off weight of the context it dropped. A word-boundary model
 * (GGUF only: tools/ko/ngram.py --boundary) has two back-off weights per
 * context, one for words that start a word (they begin with the file's mark,
 * "▁"; and </s>) and one for the pieces that go on a word: the weight of the
 * predicted word's class is added. The words are whatever
 * the file's 1-grams are: sori's bundled LM uses the ASR model's SentencePiece
 * pieces (docs/model-format.md, "n-gram LM").
 *
 * A file is checked as it is read: counts, sections, numbers, words that are
 * not among the 1-grams, duplicates — a bad file gives SORI_ERR_FORMAT with
 * the line (ARPA) or tensor (GGUF), never a crash. A loaded model is
 * immutable and may be queried from many threads.
 */
#ifndef SORI_NGRAM_H
#define SORI_NGRAM_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sori_ngram sori_ngram;

#define SORI_NGRAM_MAX_ORDER 10

/* ARPA text, or a GGUF file (general.architecture "sori.ngram"), told apart
 * by the file's first bytes. SORI_ERR_IO: unreadable; SORI_ERR_FORMAT: bad. */
SORI_API sori_status sori_ngram_load(const char *path, sori_ngram **out, sori_error *err);
/* The same from a buffer (copied: it may be freed after the call). */
SORI_API sori_status sori_ngram_load_memory(const void *data, size_t size, sori_ngram **out, sori_error *err);
SORI_API void sori_ngram_free(sori_ngram *lm);

typedef struct sori_ngram_info {
    int order;
    int32_t vocab_size;                        /* 1-grams, <s> and </s> included */
    int64_t count[SORI_NGRAM_MAX_ORDER + 1];   /* count[n]: n-grams of order n (count[0] unused) */
    int has_asr_weights;                       /* the file recommends the two below (GGUF) */
    float asr_weight, asr_bonus;               /* CTC beam search: LM weight, per-token bonus */
    int word_classes;                          /* word-boundary back-off (GGUF sori.ngram.boundary) */
} sori_ngram_info;

SORI_API sori_ngram_info sori_ngram_get_info(const sori_ngram *lm);

/* The id of a word (a 1-gram), or -1 when the model does not have it. */
SORI_API int32_t sori_ngram_word_id(const sori_ngram *lm, const char *word);
/* The word of an id, or NULL when out of range. */
SORI_API const char *sori_ngram_word(const sori_ngram *lm, int32_t id);

/* log10 p(word | ctx): ctx holds the n_ctx preceding word ids, oldest first
 * (a sentence starts with <s>); only the last order-1 are used. Ids outside
 * the vocabulary (e.g. -1) count as <unk>; with no <unk> in the model an
 * unknown word gets -99 (as the ARPA files' <s> entry does). */
SORI_API float sori_ngram_log10p(const sori_ngram *lm, const int32_t *ctx, int n_ctx, int32_t word);

#ifdef __cplusplus
}
#endif
#endif /* SORI_NGRAM_H */
