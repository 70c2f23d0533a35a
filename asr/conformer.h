/*
 * asr/conformer.h — NeMo's ConformerEncoder and CTC decoder on sori's ops
 * (internal; the public streaming API, asr.h, builds on it).
 *
 * A model is loaded from a "sori.conformer" GGUF file (tools/nemo_to_gguf.py)
 * into a runtime: the weights are uploaded to the runtime's backend once.
 * sori_conformer_forward runs the offline (full-context) encoder on one
 * utterance's features and returns the encoder output and the CTC
 * log-probabilities, as NeMo's encoder + ConvASRDecoder do.
 */
#ifndef SORI_ASR_CONFORMER_H
#define SORI_ASR_CONFORMER_H

#include "sori/common.h"
#include "sori/runtime.h"

typedef struct sori_conformer sori_conformer;

typedef struct sori_conformer_info {
    int feat_in, d_model, n_layers, n_heads, d_ff;
    int subsampling_factor;
    int vocab_size;  /* without the blank */
    int blank_id;    /* = vocab_size (NeMo's ConvASRDecoder) */
} sori_conformer_info;

sori_status sori_conformer_load(sori_runtime *rt, const char *path, sori_conformer **out,
                                sori_error *err);
/* The same from a GGUF file's bytes in memory (copied to the backend; the
 * buffer may be freed after the call). */
sori_status sori_conformer_load_memory(sori_runtime *rt, const void *data, size_t size,
                                       sori_conformer **out, sori_error *err);
void sori_conformer_free(sori_conformer *m);
sori_conformer_info sori_conformer_get_info(const sori_conformer *m);
/* Frames after subsampling for n_frames of features. */
int64_t sori_conformer_out_frames(const sori_conformer *m, int64_t n_frames);
/* Vocabulary entry i (0 <= i < vocab_size). */
const char *sori_conformer_token(const sori_conformer *m, int i);

/* feats: n_frames x feat_in (host). enc_out: out_frames x d_model and
 * log_probs: out_frames x (vocab_size + 1), host, either may be NULL. */
sori_status sori_conformer_forward(sori_conformer *m, const float *feats, int64_t n_frames,
                                   float *enc_out, float *log_probs, sori_error *err);

/* The same for B utterances at once (padded to the longest, with NeMo's
 * padding masks, so each item's outputs are those of running it alone):
 * arrays of B entries; enc_out[b] / log_probs[b] (or the arrays) may be
 * NULL. */
sori_status sori_conformer_forward_batch(sori_conformer *m, int B, const float *const *feats,
                                         const int64_t *n_frames, float *const *enc_out,
                                         float *const *log_probs, sori_error *err);

#endif
