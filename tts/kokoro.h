/* Kokoro-82M (the `sori.kokoro` GGUF layout of docs/model-format.md, the
 * graph of docs/tts-kokoro.md), private to tts/. The engine is built stage
 * by stage against onnxruntime's outputs (tests/fixtures/kokoro); what runs
 * today: ALBERT and its projection to the prosody predictor's width
 * (`bert`, `d_en`), and the prosody predictor up to the durations, with
 * onnxruntime's dynamic int8 arithmetic reproduced (kokoro_qlinear, the
 * LSTMs' per-step quantization). */
#ifndef SORI_TTS_KOKORO_H
#define SORI_TTS_KOKORO_H

#include <stdint.h>

#include "kernels/gguf.h"
#include "sori/common.h"
#include "tts/tm.h"

struct sori_thread_pool;

/* An int8 Linear as the graph quantizes it: weight [out, in] symmetric
 * int8 with one f32 scale per output row, f32 bias. */
typedef struct {
    const int8_t *w;
    const float *scale, *bias;
    int out, in;
} kokoro_linear;

/* A bidirectional int8 LSTM (DynamicQuantizeLSTM): per direction W_ih [4U, in], W_hh [4U, U] int8
 * with one scale each, biases [4U] f32; gates in PyTorch's order i, f, g, o. */
typedef struct {
    const int8_t *w_ih, *w_hh;
    const float *s_ih, *s_hh, *b_ih, *b_hh;
    int in, units;
} kokoro_lstm;

/* An int8 Conv1d as the graph quantizes it (ConvInteger): weight [out, in, k] in the file, stored
 * as the uint8 kernel minus 128, one scale, a zero point (also minus 128), f32 bias (or NULL). At
 * load (kokoro_conv_pack) the weight is laid out tap by tap, so that an output step's window is k
 * rows of the input as they lie (index k·in + ci): where the CPU has AVX-512 VNNI as wp, blocks of
 * 16 output channels × 4 window entries ([⌈out/16⌉, ⌈k·in/4⌉, 16, 4], zeros past the ends), with
 * wsum, each output channel's Σ w; elsewhere, where in is even, as w2, pairs of window entries for
 * 16 output channels ([⌈out/16⌉, k·in/2, 2 halves of 8 channels × 2 entries], zeros past out:
 * kokoro_conv_pack_pairs), read by the AVX2 product; else as w, [out, k, in] (w is then the file's
 * tensor where k = 1). */
typedef struct {
    const int8_t *w, *wp, *w2;
    const int32_t *wsum;
    float scale;
    int zp;
    const float *bias;
    int out, in, k, stride, pad, dil;
} kokoro_conv;

/* StyleTTS 2's AdainResBlk1d: residual AdaIN → LeakyReLU 0.2 → [depthwise ConvTranspose ×2] → conv1
 * → AdaIN → LeakyReLU 0.2 → conv2; shortcut [nearest ×2] → [conv1x1]; (residual + shortcut) / √2 */
typedef struct {
    kokoro_linear norm1, norm2;
    kokoro_conv conv1, conv2, conv1x1;
    const float *pool_w, *pool_b; /* [cin, 1, 3], [cin] when upsampling */
    int cin, cout, up, learned;
} kokoro_adain_block;

/* HiFi-GAN's AdaINResBlock1 (iSTFTNet's): three times x += conv2(Snake(AdaIN(conv1_d(Snake(AdaIN(x)))))),
 * dilations 1, 3, 5 */
typedef struct {
    kokoro_linear a1[3], a2[3];
    kokoro_conv c1[3], c2[3];
    const float *al1[3], *al2[3];
    int ch, k;
} kokoro_resblock;

typedef struct kokoro_model {
    sori_gguf *g;
    char path[256];
    int n_token, hidden_dim;                                 /* 178, 512 */
    int hidden, emb, heads, layers, inter, max_pos;          /* ALBERT: 768, 128, 12, 12, 2048, 512 */
    float *word, *pos, *type;                                /* embeddings dequantized (exact) */
    const float *emb_ln_w, *emb_ln_b;
    kokoro_linear map_in, q, k, v, dense, ffn, ffn_out, bert_enc;
    const float *att_ln_w, *att_ln_b, *full_ln_w, *full_ln_b;
    int style_dim, max_dur;                                  /* 128, 50 */
    kokoro_lstm dur_lstm[3], pred_lstm;                      /* DurationEncoder's three, predictor.lstm */
    kokoro_linear dur_fc[3], dur_proj;                       /* AdaLayerNorm's fc (style → γ, β), duration_proj */
    float *te_emb;                                           /* text encoder: embedding [n_token, hidden_dim] */
    kokoro_conv te_conv[3];
    const float *te_gamma[3], *te_beta[3];
    kokoro_lstm te_lstm;
    kokoro_lstm shared;                                      /* F0 and energy: the shared LSTM, */
    kokoro_adain_block f0[3], nb[3];                         /* the two branches, */
    kokoro_conv f0_proj, n_proj;                             /* their projections to one channel */
    kokoro_conv dec_f0, dec_n, asr_res;                      /* decoder: F0/N to the frame rate, asr to 64 */
    kokoro_adain_block encode, decode[4];
    /* generator (iSTFTNet) */
    const float *src_w, *src_b;                              /* m_source.l_linear [1, 9], [1] */
    const float *stft_win, *inv_basis, *win_sum;             /* [20], [22, 1, 20], [20] */
    vits_tmconvt ups_t[2];                                   /* ConvTranspose1d, packed (tts/tm.h) */
    const float *ups_b[2];
    int ups_in[2], ups_out[2], ups_k[2], ups_s[2], ups_p[2];
    kokoro_conv noise_conv[2];
    kokoro_resblock noise_res[2], res[6];
    const float *post_w, *post_b;                            /* conv_post [22, 128, 7], [22] */
    int sample_rate;                                         /* 24000 */
    const char **vocab;                                      /* [n_token], "" for unused ids */
    int n_voices, style_rows;                                /* the voice pack: style tables [rows, 2S] */
    const char **voice_names;
    const float **voices;
    void **owned; /* what the loader allocated for the convolutions (tap-major weights, sums) */
    int n_owned, cap_owned;
} kokoro_model;

/* The thread pool the calling thread's Kokoro stages split their work over (NULL: serial, the
 * default); the results do not depend on it (integer sums are exact). */
void kokoro_use_pool(struct sori_thread_pool *pool);

/* out[r, c] = Σ_i a[r, i] · w[c, i] in exact int32 (rows × cols, row strides lda, ldw, ldo) with
 * AVX-512 BW + VNNI (tts/kokoro_avx512.c); only where the CPU has them. */
void kokoro_qblock_avx512(const int16_t *a, int64_t lda, int rows, const int8_t *w, int64_t ldw, int cols, int n,
                          int32_t *out, int64_t ldo);
/* The convolution's product with unsigned 8-bit activations (vpdpbusd): out[r, 16b + j] = Σ_k Σ_q
 * a[r·lda + k·tap_ld + 4q + 0..3] · (the weights of channel 16b + j at window entries 4(k·cq + q) + 0..3)
 * for rows ≤ 8 and the nob ≤ 4 blocks of 16 channels at wp (kokoro_conv's packed layout, taps · cq
 * groups of 4 per block). a: uint8 codes (zero point included); one tap of cq groups reads the rows
 * of the input where they lie, or taps = 1 reads whole windows gathered in rows. out rows ldo apart,
 * all 16 lanes of each block written. */
void kokoro_qgemm_u8_avx512(const uint8_t *a, int64_t lda, int rows, int taps, int64_t tap_ld, int64_t cq,
                            const int8_t *wp, int nob, int32_t *out, int64_t ldo);
/* The bytes of kokoro_conv's packed (AVX-512) weight for out × in × k */
int64_t kokoro_conv_packed_bytes(int out, int in, int k);
/* Lays out a convolution's weight from the file's [out, in, k] (w_file): into w_tap ([out, k, in]) or
 * wp (packed) — either may be NULL — and wsum (Σ w per output channel, may be NULL); c gives the
 * sizes. */
void kokoro_conv_pack(const kokoro_conv *c, const int8_t *w_file, int8_t *w_tap, int8_t *wp, int32_t *wsum);
/* Bytes of a convolution's pair layout (w2), and the layout from the file's [out, in, k] (in even) */
int64_t kokoro_conv_pair_bytes(int out, int in, int k);
void kokoro_conv_pack_pairs(const kokoro_conv *c, const int8_t *w_file, int8_t *w2);
/* Whether the library was built with the AVX2 pair product (every x86-64 build with SORI_AVX2) */
bool kokoro_avx2_pairs(void);
/* Whether this CPU takes the AVX-512 paths (BW, VL and VNNI; SORI_NO_AVX512 unset) */
bool kokoro_avx512(void);

/* Opens and checks a sori.kokoro file (every key and tensor named when wrong). */
sori_status kokoro_load(const char *path, kokoro_model **out, sori_error *err);
/* The same from an open file, which the model takes (freed on failure too); path names it in messages. */
sori_status kokoro_load_gguf(sori_gguf *g, const char *path, kokoro_model **out, sori_error *err);
void kokoro_free(kokoro_model *m);

/* Floats of the workspace kokoro_bert needs for up to T tokens. */
int64_t kokoro_bert_work_floats(const kokoro_model *m, int T);
/* ALBERT over T token ids (the pad id 0 framing them included): bert
 * [T, hidden], d_en [T, hidden_dim] (either may be NULL). work: the
 * floats above. Token ids out of range or T over max_pos are refused. */
sori_status kokoro_bert(const kokoro_model *m, const int32_t *tokens, int T, float *work, float *bert, float *d_en,
                        sori_error *err);

/* The stages of kokoro_bert on their own (the tests teacher-force them):
 * n passes of ALBERT's shared layer from in [T, hidden] to out, and the
 * projection of bert [T, hidden] to d_en [T, hidden_dim]. work as above. */
sori_status kokoro_bert_passes(const kokoro_model *m, const float *in, int T, int n, float *work, float *out,
                               sori_error *err);
sori_status kokoro_bert_project(const kokoro_model *m, const float *bert, int T, float *work, float *d_en,
                                sori_error *err);

/* Floats of the workspace kokoro_durations needs for up to T tokens. */
int64_t kokoro_dur_work_floats(const kokoro_model *m, int T);
/* The prosody predictor up to the durations, from d_en [T, hidden_dim] and
 * the voice's style row (style_dim · 2 values; its second half drives
 * this): dur_enc [T, hidden_dim + style_dim] (the DurationEncoder's output
 * ⊕ s; may be NULL), raw [T] (Σ sigmoid(duration_proj) / speed; may be
 * NULL) and dur [T] frames (rounded half to even, at least 1). If
 * dur_enc_in is not NULL it replaces the DurationEncoder's output (a
 * teacher-forced check). */
sori_status kokoro_durations(const kokoro_model *m, const float *d_en, int T, const float *style, float speed,
                             const float *dur_enc_in, float *work, float *dur_enc, float *raw, int32_t *dur,
                             sori_error *err);

/* Floats of the workspace kokoro_text_encoder needs for up to T tokens. */
int64_t kokoro_text_work_floats(const kokoro_model *m, int T);
/* The text encoder: t_en [T, hidden_dim] (time-major; the graph's is
 * [hidden_dim, T]). */
sori_status kokoro_text_encoder(const kokoro_model *m, const int32_t *tokens, int T, float *work, float *t_en,
                                sori_error *err);

/* Floats of the workspace kokoro_f0n needs for F frames. */
int64_t kokoro_f0n_work_floats(const kokoro_model *m, int F);
/* F0 (Hz) and energy curves f0, n [2F] from the DurationEncoder's output
 * dur_enc [T, hidden_dim + style_dim] repeated by the durations dur [T]
 * (F = Σ dur frames, at most max_frames) and the style row (its second
 * half). */
sori_status kokoro_f0n(const kokoro_model *m, const float *dur_enc, const int32_t *dur, int T, const float *style,
                       int max_frames, float *work, float *f0, float *n, sori_error *err);

/* Floats of the workspace kokoro_decoder needs for F frames. */
int64_t kokoro_decoder_work_floats(const kokoro_model *m, int F);
/* The decoder up to the generator's input: from asr [F, hidden_dim] (the
 * text encoder's output repeated by the durations), f0 and n [2F] and the
 * style row (its first half): out [2F, hidden_dim]; encoded [F, 2 ·
 * hidden_dim] (the `encode` block's output; may be NULL). */
sori_status kokoro_decoder(const kokoro_model *m, const float *asr, const float *f0, const float *n, int F,
                           const float *style, float *work, float *encoded, float *out, sori_error *err);

/* The STFT of the generator's source as onnxruntime computes it (tts/kokoro_stft.c): frames of 20
 * samples, `hop` apart, of x (padded by the caller), times window[20]; spec [frames][22] holds each
 * frame's 11 magnitudes then its 11 phases (the graph's atan2). */
void kokoro_stft_ort(const float *x, int64_t frames, int hop, const float *window, float *spec);

/* Floats of the workspace kokoro_generator needs for F frames. */
int64_t kokoro_generator_work_floats(const kokoro_model *m, int F);
/* The iSTFTNet generator: from the decoder's output x [2F, hidden_dim],
 * the F0 curve f0 [2F] (Hz) and the style row (its first half), audio
 * [600F] at 24 kHz; har [600F] (the harmonic source) and spec [120F + 1,
 * 22] (conv_post's output) may be NULL. */
sori_status kokoro_generator(const kokoro_model *m, const float *x, const float *f0, int F, const float *style,
                             float *work, float *har, float *spec, float *audio, sori_error *err);

/* y [T_out, c.out] (time-major) = ConvInteger over x [T, c.in] (time-major), zero padding, as the
 * graph computes it: the input tensor quantized as DynamicQuantizeLinear does, int32 sums of
 * (q − q_zp)(w − w_zp), the bias added to them as int32(floor(b / (x_scale · w_scale))), then ×
 * (x_scale · w_scale). work: kokoro_conv_work floats. Returns T_out. */
int kokoro_qconv(const kokoro_conv *c, const float *x, int T, float *work, float *y);
int64_t kokoro_conv_work(const kokoro_conv *c, int T);

/* y [rows, l.out] = dequant(quant(x) · wᵀ) + bias, as onnxruntime's
 * DynamicQuantizeLinear (the whole [rows, l.in] tensor to uint8 with one
 * scale and zero point, halves to even) then MatMulInteger (int32 sums),
 * times x_scale · w_scale[col] (that product in f32), plus the bias. q:
 * scratch of rows · l.in int16. */
void kokoro_qlinear(const kokoro_linear *l, const float *x, int rows, int16_t *q, float *y);

#endif
