/*
 * tts/vits.h — the VITS engine (private): the model as loaded from a
 * `sori.vits` GGUF file (tts/vits_load.c), its inference stages
 * (tts/vits.c) and what a synthesis session keeps (tts/tts.c). The public
 * API is include/sori/tts.h; tests reach the stages' outputs through
 * vits_synth_trace.
 *
 * The network is transformers' VitsModel (models/vits/modeling_vits.py) in
 * inference: text encoder → prior statistics → durations (deterministic or
 * stochastic predictor, reverse mode) → prior expanded over the frames +
 * noise → residual coupling flow in reverse → HiFi-GAN. One utterance at a
 * time, so every padding mask of the reference is all ones and is left out.
 */
#ifndef SORI_TTS_VITS_H
#define SORI_TTS_VITS_H

#include <stdbool.h>
#include <stdint.h>

#include "kernels/gguf.h"
#include "sori/tts.h"
#include "tts/nn.h"
#include "tts/tm.h"

enum { VITS_MAX_UP = 8, VITS_MAX_RK = 8, VITS_MAX_DIL = 8, VITS_MAX_DDS = 16 };

typedef struct vits_hp {
    int vocab, hidden, n_layers, n_heads, window, ffn_dim, ffn_k, flow;
    int n_speakers, spk_dim;     /* spk_dim 0: no conditioning layers */
    int up_c0, n_up, up_rates[VITS_MAX_UP], up_k[VITS_MAX_UP];
    int n_rk, rk[VITS_MAX_RK], n_dil[VITS_MAX_RK], dil[VITS_MAX_RK][VITS_MAX_DIL];
    int ds_layers, flow_bins, dp_k, dp_flows, dp_fc;
    int n_flows, wn_layers, wn_k, wn_rate;
    int rate_hz, hop;
    float ln_eps, leaky, tail, speaking_rate, noise_scale, noise_scale_dur;
    bool use_bias, sdp, gelu;
    bool resblock2; /* HiFi-GAN's ResBlock2 (one convolution per dilation: Piper's low/medium voices) */
} vits_hp;

typedef struct vits_ln {
    const float *g, *b;
} vits_ln;

typedef struct vits_layer {
    nn_conv q, k, v, o;             /* Linear [H, H] as kernel-1 convolutions */
    const float *rel_k, *rel_v;     /* [2·window + 1, head_dim] */
    vits_ln ln1, ln2;
    vits_tmconv t_ffn1, t_ffn2;     /* the feed-forward convolutions, time-major (tts/tm.h) */
} vits_layer;

/* VitsDilatedDepthSeparableConv */
typedef struct vits_dds {
    nn_conv dw[VITS_MAX_DDS], pw[VITS_MAX_DDS];
    vits_ln n1[VITS_MAX_DDS], n2[VITS_MAX_DDS];
} vits_dds;

/* VitsConvFlow: the spline coupling of the stochastic duration predictor */
typedef struct vits_convflow {
    nn_conv pre, proj;
    vits_dds dds;
} vits_convflow;

/* VitsResidualCouplingLayer with its WaveNet */
typedef struct vits_coupling {
    nn_conv cond;                  /* cond.w NULL without speakers */
    vits_tmconv t_pre, t_post;     /* time-major, packed (tts/tm.h) */
    vits_tmconv t_in[64], t_rs[64];
} vits_coupling;

typedef struct vits_resblock {
    vits_tmconv t1[VITS_MAX_DIL], t2[VITS_MAX_DIL]; /* t2 unused in ResBlock2 */
    int n;
} vits_resblock;

typedef struct vits_model {
    vits_hp hp;
    char *name;
    char **vocab;           /* n_vocab_text strings, or NULL */
    int32_t n_vocab_text;
    bool add_blank;         /* id 0 between tokens and at both ends */
    int32_t bos_id, eos_id; /* framing ids (Piper's ^ and $), −1: none */
    bool korean_ipa;        /* text goes through TN → G2P → IPA first (sori.vits.phonemes = "ko-ipa") */
    bool uroman, lowercase; /* MMS's tokenizer flags: uroman first (TN → sori_ko_uroman), then lower case */
    char **speaker_names;   /* hp.n_speakers names (sori.vits.speaker_names), or NULL */
    const float *embed;     /* [vocab, H] */
    vits_layer *layers;
    nn_conv project;        /* [2F, H, 1] */
    nn_conv dp_cond;        /* [H, G, 1]; w NULL without speakers */
    /* deterministic duration predictor */
    nn_conv dp_c1, dp_c2, dp_proj;
    vits_ln dp_n1, dp_n2;
    /* stochastic duration predictor */
    nn_conv sdp_pre, sdp_proj;
    vits_dds sdp_dds;
    const float *sdp_translate, *sdp_log_scale; /* [2] */
    vits_convflow *sdp_flows; /* flows 2 .. dp_flows, at [0 .. dp_flows − 2] */
    vits_coupling *flows;
    /* HiFi-GAN */
    nn_conv dec_cond;                   /* [C0, G, 1]; w NULL without speakers */
    vits_tmconv t_pre, t_post;          /* conv_pre, conv_post (1 output channel, padded to 16) */
    vits_tmconvt t_ups[VITS_MAX_UP];
    vits_resblock *resblocks; /* n_up × n_rk */
    const float *spk_embed;   /* [n_speakers, G] or NULL */
    int64_t slot_floats;      /* scratch per thread slot for every convolution */
    float **allocs;           /* every weight copy, freed with the model */
    int n_allocs, cap_allocs;
} vits_model;

struct kokoro_model;

struct sori_tts_voice {
    sori_runtime *rt;
    vits_model m;                 /* a sori.vits voice */
    struct kokoro_model *kokoro;  /* or a sori.kokoro one (then m is empty) */
    int default_speaker;
};

sori_status vits_load(const sori_gguf *g, const char *path, vits_model *m, sori_error *err);
void vits_free(vits_model *m);

/* ---- the stages (tts/vits.c); x and outputs channel-major [C, T] ---------------- */

/* Scratch floats each stage needs for T input tokens / T output frames. */
int64_t vits_encoder_ws(const vits_hp *hp, int64_t T);
int64_t vits_duration_ws(const vits_hp *hp, int64_t T);
int64_t vits_flow_ws(const vits_hp *hp, int64_t T);
int64_t vits_decoder_ws(const vits_model *m, int64_t T);

/* hidden [H, T]; stats [2F, T] (means, then log-variances) */
void vits_encoder(const vits_model *m, const nn_ctx *ctx, const int32_t *ids, int T, float *hidden, float *stats,
                  float *ws);
/* log_dur [T]; g: the speaker embedding [G] or NULL; noise [2, T] (stochastic only) */
void vits_duration(const vits_model *m, const nn_ctx *ctx, const float *hidden, int T, const float *g,
                   const float *noise, float noise_scale_dur, float *log_dur, float *ws);
/* z [F, T] in place: the prior latents in, the decoder's input out */
void vits_flow_reverse(const vits_model *m, const nn_ctx *ctx, float *z, int64_t T, const float *g, float *ws);
/* Frames of context on each side that a decoded frame's samples depend on
 * (the HiFi-GAN's receptive field, rounded up): a chunk decoded with this
 * many frames around it gives the samples the whole utterance gives. */
int vits_decoder_context(const vits_hp *hp);
/* wave [T · hop] from spec [F, T] */
void vits_decoder(const vits_model *m, const nn_ctx *ctx, const float *spec, int64_t T, const float *g, float *wave,
                  float *ws);

/* transformers' _rational_quadratic_spline in reverse for one value
 * (unnormalized widths and heights [n_bins], derivatives [n_bins − 1]),
 * identity outside [−tail, tail]. */
double vits_spline_inverse(double x, const float *uw, const float *uh, const float *ud, int n_bins, double scale_wh,
                           double tail);

/* ---- tests ------------------------------------------------------------------------------ */

/* What the last successful sori_tts_synth_tokens call computed (pointers into
 * the session, valid until its next call). */
typedef struct vits_trace {
    int n_tokens;
    int64_t n_frames;
    const float *hidden, *prior_mean, *prior_logvar; /* [H, n_tokens], [F, n_tokens] ×2 */
    const float *log_dur;                            /* [n_tokens] */
    const int32_t *dur;                              /* [n_tokens] */
    const float *prior_latents, *latents;            /* [F, n_frames] */
} vits_trace;

void vits_synth_trace(const sori_tts_synth *s, vits_trace *t);

#endif /* SORI_TTS_VITS_H */
