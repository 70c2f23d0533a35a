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

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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
/* The same from an opened GGUF file (not taken: the caller frees it, and may
 * do so once this returns); path names it in messages. */
typedef struct sori_gguf sori_gguf;
sori_status sori_conformer_load_gguf(sori_runtime *rt, const sori_gguf *g, const char *path,
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

/* ---- cache-aware streaming (models trained with limited attention context
 * and causal convolutions; NeMo's cache_aware_stream_step) ----------------- */
typedef struct sori_conformer_stream_cfg {
    bool supported;      /* false: why says which option prevents it */
    const char *why;
    int chunk_first;     /* feature frames of the first step */
    int chunk;           /* new feature frames of every later step */
    int pre_cache;       /* frames of earlier features put before a later step's new ones */
    int drop;            /* subsampled frames a later step drops first */
    int cache_len;       /* attention cache, in encoder frames */
    int out_per_chunk;   /* encoder frames a full step gives */
} sori_conformer_stream_cfg;

sori_conformer_stream_cfg sori_conformer_get_stream_cfg(const sori_conformer *m);

/* Per-stream state: attention keys/values and convolution inputs of the
 * recent frames, in the runtime's memory. */
typedef struct sori_conformer_cache sori_conformer_cache;
sori_status sori_conformer_cache_create(sori_conformer *m, sori_conformer_cache **out, sori_error *err);
sori_status sori_conformer_cache_reset(sori_conformer_cache *c, sori_error *err);
void sori_conformer_cache_free(sori_conformer_cache *c);
/* Bytes one stream's cache holds. */
size_t sori_conformer_cache_bytes(const sori_conformer *m);

/* One streaming step for B streams: feats[b] (n_frames[b] x feat_in) is the
 * step's input (NeMo's CacheAwareStreamingAudioBuffer chunk: the first step
 * chunk_first frames with drop 0, later steps pre_cache earlier frames + chunk
 * new ones with drop = cfg.drop; a final step may be shorter). All items of
 * one call use the same drop. Writes out_frames[b] encoder frames to
 * enc_out[b] / log_probs[b] (either may be NULL) and moves the caches on. */
sori_status sori_conformer_stream_step(sori_conformer *m, int B, sori_conformer_cache *const *caches,
                                       const float *const *feats, const int64_t *n_frames, int drop,
                                       float *const *enc_out, float *const *log_probs,
                                       int64_t *out_frames, sori_error *err);

/* ---- RNN-T head: greedy decoding as NeMo's GreedyRNNTInfer ------------------ */
bool sori_conformer_has_rnnt(const sori_conformer *m);
bool sori_conformer_has_ctc(const sori_conformer *m);

typedef struct sori_rnnt_emit {
    int32_t token;  /* vocabulary index */
    int32_t frame;  /* encoder frame it was emitted at */
    float prob;     /* its posterior in the joint's softmax */
} sori_rnnt_emit;

/* The prediction network's state of one utterance (or stream). */
typedef struct sori_rnnt_state sori_rnnt_state;
sori_status sori_rnnt_state_create(sori_conformer *m, sori_rnnt_state **out, sori_error *err);
/* Labels the greedy RNN-T decoding emits per encoder frame at most. */
int sori_conformer_rnnt_max_symbols(const sori_conformer *m);
sori_status sori_rnnt_state_reset(sori_rnnt_state *s, sori_error *err);
void sori_rnnt_state_free(sori_rnnt_state *s);
size_t sori_rnnt_state_bytes(const sori_conformer *m);
/* Greedy decoding of T more encoder frames (host, T x d_model), at most
 * max_symbols labels per frame; emitted labels are appended to *toks (a
 * growable array of *cap entries, *n used) with frame = frame0 + t. The
 * state carries over, so chunks decoded one after another give the result
 * of decoding them at once. */
sori_status sori_rnnt_greedy(sori_rnnt_state *s, const float *enc, int64_t T, int64_t frame0,
                             sori_rnnt_emit **toks, int64_t *n, int64_t *cap, sori_error *err);

#endif
