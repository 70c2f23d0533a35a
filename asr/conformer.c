/* NeMo's ConformerEncoder (nemo/collections/asr/modules/conformer_encoder.py,
 * parts/submodules/conformer_modules.py, subsampling.py,
 * multi_head_attention.py) and ConvASRDecoder, offline, on sori's ops.
 *
 * Per layer (eval mode, no dropout):
 *   r = x + 0.5 * FF1(LN(x))
 *   r = r + MHSA_relpos(LN(r))
 *   r = r + Conv(LN(r))      pointwise d->2d, GLU, depthwise (folded BN or
 *                            LN), Swish, pointwise d->d
 *   r = r + 0.5 * FF2(LN(r))
 *   x = LN(r)
 * FF = Linear(d, d_ff) -> Swish -> Linear(d_ff, d). The input is subsampled
 * by 2-D convolutions (striding: two 3x3/2 convs + ReLU; dw_striding: a 3x3/2
 * conv + ReLU, then depthwise 3x3/2 + pointwise 1x1 + ReLU per further
 * factor 2), flattened channel-major and projected to d_model, scaled by
 * sqrt(d_model) (xscaling), with relative positions from
 * RelPositionalEncoding. */
#include "conformer.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/cpu/gemm_p16.h"
#include "kernels/gguf.h"
#include "kernels/hparams.h"
#include "kernels/kernels.h"

typedef struct {
    const float *ff1_ln_w, *ff1_ln_b, *ff1_w1, *ff1_b1, *ff1_w2, *ff1_b2;
    const float *att_ln_w, *att_ln_b, *wqkv, *bqkv, *wo, *bo, *wpos, *pos_u, *pos_v;
    const float *conv_ln_w, *conv_ln_b, *pw1_w, *pw1_b, *dw_w, *dw_b, *cn_w, *cn_b, *pw2_w, *pw2_b;
    const float *ff2_ln_w, *ff2_ln_b, *ff2_w1, *ff2_b1, *ff2_w2, *ff2_b2;
    const float *out_ln_w, *out_ln_b;
} layer_w;

typedef struct {
    const float *w, *b;
    int c_in, c_out, groups, k; /* k x k kernel; 3 x 3 ones have stride 2, padding 1 */
    bool relu;                  /* ReLU after it */
} sub_conv;

/* A forward pass's backend buffers, kept for the next pass (a streaming
 * step every 320 ms per call must not allocate: a CPU runtime's big buffers
 * would come and go as fresh pages, a GPU's through cudaMalloc). One set per
 * pass running at once; a set grown past WS_KEEP_BYTES (a long offline
 * forward) is let go after its pass instead. */
enum { WS_BUFS = 16 };
#define SUB_GROUP_BYTES ((size_t)32 << 20) /* the subsampling's ping-pong buffers, each */
#define WS_KEEP_BYTES ((size_t)256 << 20)
typedef struct ws_set {
    float *buf[WS_BUFS];
    size_t cap[WS_BUFS]; /* bytes */
    /* the pass's host-side arrays (staging, lengths, attention ranges), grown and kept with the
     * set as its device buffers are: a streaming step allocates nothing */
    float *host;
    size_t host_cap; /* floats */
    int64_t *i64;    /* lens | valid */
    int32_t *i32;    /* q_len | kv_start | kv_end */
    int items_cap;
    struct ws_set *next;
} ws_set;

static void ws_free_set(sori_runtime *rt, ws_set *w)
{
    for (int i = 0; i < WS_BUFS; i++)
        sori_rt_release(rt, w->buf[i]);
    free(w->host);
    free(w->i64);
    free(w->i32);
    free(w);
}

/* The set's host arrays for a pass of B items and host_n staging floats, zeroed. */
static bool ws_host(ws_set *w, size_t host_n, int B)
{
    if (w->host_cap < host_n) {
        free(w->host);
        w->host_cap = 0;
        if (!(w->host = malloc(host_n * sizeof(float))))
            return false;
        w->host_cap = host_n;
    }
    if (w->items_cap < B) {
        free(w->i64);
        free(w->i32);
        w->items_cap = 0;
        w->i64 = malloc((size_t)B * 2 * sizeof(int64_t));
        w->i32 = malloc((size_t)B * 3 * sizeof(int32_t));
        if (!w->i64 || !w->i32)
            return false;
        w->items_cap = B;
    }
    memset(w->host, 0, host_n * sizeof(float));
    memset(w->i64, 0, (size_t)B * 2 * sizeof(int64_t));
    memset(w->i32, 0, (size_t)B * 3 * sizeof(int32_t));
    return true;
}

struct sori_conformer {
    pthread_mutex_t ws_mu;
    ws_set *ws_free;     /* sets not in use */
    sori_runtime *rt;
    sori_conformer_info info;
    int sub_channels, n_sub; /* subsampling convs */
    bool dw_striding, xscaling, conv_ln;
    int conv_left, conv_right, kernel;
    int att_left, att_right;
    bool att_chunked;        /* att_context_style chunked_limited */
    bool causal_sub;         /* causal_downsampling: subsampling pads 2 before, 1 after */
    sori_conformer_stream_cfg scfg;
    /* projected relative positions of a full streaming step (cache + one
     * chunk), per layer: they depend on nothing else, so steps reuse them */
    float *pos_stream;
    int64_t pos_stream_lk;
    /* RNN-T head (head "rnnt" or "hybrid") */
    bool has_ctc, has_rnnt;
    int pred_hidden, pred_layers, joint_hidden, max_symbols;
    sori_act joint_act;
    const float *embed;                                  /* [V+1, P], blank row zero */
    const float *lstm_wih[8], *lstm_whh[8], *lstm_bih[8], *lstm_bhh[8];
    const float *jpred_w, *jpred_b, *jenc_w, *jenc_b, *jout_w, *jout_b;
    sub_conv sub[8];
    const float *sub_out_w, *sub_out_b; /* with sub_rows_out, columns in (freq, channel) order */
    int sub_freq_out;
    bool sub_pw_last;  /* the last subsampling conv is 1x1: done as a product, [time, freq, channel] out */
    bool sub_p16_last; /* the last one is a dense 3x3 with weights packed for the CPU, [time, freq, channel] out */
    bool sub_rows_out; /* either: the projection is one product over rows [time, freq x channel] */
    layer_w *layers;
    /* the layers' product weights: SORI_F32, or SORI_F32_P16 (packed at load for the CPU's own product) */
    sori_dtype att_wt; /* attention and convolution-module projections */
    sori_dtype ff_wt;  /* feed-forward */
    const float *dec_w, *dec_b;
    void *weights; /* one backend buffer holding every tensor */
    char **vocab;
};

/* ---- loading ------------------------------------------------------------------- */

typedef struct {
    const sori_gguf *g;
    char *dev;       /* backend buffer */
    char *host;      /* staging copy (f16 converted) */
    size_t used;
    sori_error *err;
    sori_status st;
} loader;

/* Places tensor `name` (expected element count) in the weight buffer; NULL
 * (and ld->st set) when missing or of the wrong size/type. */
static const float *tensor(loader *ld, const char *name, int64_t n_elements)
{
    if (ld->st != SORI_OK)
        return NULL;
    const sori_gguf_tensor *t = sori_gguf_find_tensor(ld->g, name);
    if (!t) {
        ld->st = sori_fail(ld->err, SORI_ERR_FORMAT, 0, "conformer: tensor '%s' is missing", name);
        return NULL;
    }
    if (t->n_elements != n_elements || (t->type != SORI_GGML_F32 && t->type != SORI_GGML_F16)) {
        ld->st = sori_fail(ld->err, SORI_ERR_FORMAT, 0,
                           "conformer: tensor '%s' has %lld elements of type %u, expected %lld f32/f16",
                           name, (long long)t->n_elements, t->type, (long long)n_elements);
        return NULL;
    }
    float *dst = (float *)(ld->host + ld->used);
    if (t->type == SORI_GGML_F32) {
        memcpy(dst, t->data, (size_t)n_elements * sizeof(float));
    } else {
        const uint16_t *h = t->data;
        for (int64_t i = 0; i < n_elements; i++)
            dst[i] = sori_f16_to_f32(h[i]);
    }
    const float *where = (const float *)(ld->dev + ld->used);
    ld->used += ((size_t)n_elements * sizeof(float) + 255) & ~(size_t)255;
    return where;
}

/* Several tensors placed back to back (no padding between), e.g. the q, k
 * and v projections as one [3d, d] matrix; the first address. */
static const float *tensor_concat(loader *ld, const char *const *names, int n, int64_t n_each)
{
    if (ld->st != SORI_OK)
        return NULL;
    size_t start = ld->used;
    const float *first = NULL;
    for (int i = 0; i < n; i++) {
        const float *p = tensor(ld, names[i], n_each);
        if (!p)
            return NULL;
        if (i == 0)
            first = p;
        /* pull the next tensor up against this one */
        ld->used = start + (size_t)(i + 1) * n_each * sizeof(float);
    }
    ld->used = (ld->used + 255) & ~(size_t)255;
    return first;
}

static const char *get_str(const sori_gguf *g, const char *key, const char *dflt)
{
    const char *v;
    return sori_gguf_get_str(g, key, &v) == SORI_OK ? v : dflt;
}

static int conv_out(int n, int k, int s, int pad_total)
{
    return (n + pad_total - k) / s + 1;
}

/* Padding of the 3x3 stride-2 subsampling convolutions, before and after
 * (time and frequency alike): NeMo's CausalConv2D pads kernel-1 before and
 * stride-1 after; the regular ones 1 and 1. */
enum { SUB_PAD_AFTER = 1 }; /* stride - 1 (causal) = (kernel - 1) / 2 (regular) */
static int sub_pad_before(const sori_conformer *m) { return m->causal_sub ? 2 : 1; }
static int sub_pad_total(const sori_conformer *m) { return sub_pad_before(m) + SUB_PAD_AFTER; }

static sori_status load_weights(sori_conformer *m, const sori_gguf *g, loader *ld)
{
    const sori_conformer_info *in = &m->info;
    const int d = in->d_model, C = m->sub_channels, F = in->feat_in;
    char name[128];
#define T(nm, n) tensor(ld, nm, n)
    /* subsampling */
    int freq = F, c_prev = 1, k = 0;
    if (!m->dw_striding) {
        for (int i = 0; i < m->n_sub; i++) {
            snprintf(name, sizeof name, "encoder.pre_encode.conv.%d.weight", 2 * i);
            const float *cw = T(name, (int64_t)C * c_prev * 9);
            snprintf(name, sizeof name, "encoder.pre_encode.conv.%d.bias", 2 * i);
            const float *cb = T(name, C);
            m->sub[k] = (sub_conv){cw, cb, c_prev, C, 1, 3, true};
            c_prev = C;
            freq = conv_out(freq, 3, 2, sub_pad_total(m));
            k++;
        }
    } else {
        const float *cw = T("encoder.pre_encode.conv.0.weight", (int64_t)C * 9);
        const float *cb = T("encoder.pre_encode.conv.0.bias", C);
        m->sub[k] = (sub_conv){cw, cb, 1, C, 1, 3, true};
        freq = conv_out(freq, 3, 2, sub_pad_total(m));
        k++;
        for (int i = 1; i < m->n_sub; i++) {
            int idx = 2 + 3 * (i - 1); /* conv.2 (dw), conv.3 (pw), conv.4 ReLU, conv.5 ... */
            snprintf(name, sizeof name, "encoder.pre_encode.conv.%d.weight", idx);
            const float *dw = T(name, (int64_t)C * 9);
            snprintf(name, sizeof name, "encoder.pre_encode.conv.%d.bias", idx);
            const float *dwb = T(name, C);
            snprintf(name, sizeof name, "encoder.pre_encode.conv.%d.weight", idx + 1);
            const float *pw = T(name, (int64_t)C * C);
            snprintf(name, sizeof name, "encoder.pre_encode.conv.%d.bias", idx + 1);
            const float *pwb = T(name, C);
            m->sub[k++] = (sub_conv){dw, dwb, C, C, C, 3, false};
            m->sub[k++] = (sub_conv){pw, pwb, C, C, 1, 1, true};
            freq = conv_out(freq, 3, 2, sub_pad_total(m));
        }
    }
    m->n_sub = k;
    m->sub_freq_out = freq;
    m->sub_out_w = T("encoder.pre_encode.out.weight", (int64_t)d * C * freq);
    m->sub_out_b = T("encoder.pre_encode.out.bias", d);
    /* the last subsampling conv computed with rows of channels out: a pointwise one as a product, a
     * dense 3x3 one (regular striding) with its weight packed for the CPU's own product */
    if (m->sub_out_w && k > 0 && m->sub[k - 1].k == 1)
        m->sub_pw_last = true;
    else if (m->sub_out_w && k > 0 && m->sub[k - 1].groups == 1 && m->sub[k - 1].c_in > 1 && C % SORI_P16 == 0 &&
             sori_runtime_get_params(m->rt).device == SORI_DEVICE_CPU &&
             sori_rt_supports(m->rt, SORI_OP_CONV2D, SORI_F32_P16)) {
        float *w = (float *)(ld->host + ((const char *)m->sub[k - 1].w - ld->dev));
        if (!sori_pack_p16_in_place(w, C, m->sub[k - 1].c_in * 9)) {
            ld->st = sori_fail(ld->err, SORI_ERR_NO_MEMORY, 0, "conformer: out of memory");
            return ld->st;
        }
        m->sub_p16_last = true;
    }
    if (m->sub_pw_last || m->sub_p16_last) {
        /* the projection's weight columns go from (channel, freq) order to (freq, channel) here,
         * once, so that it is one product over all rows */
        float *w = (float *)(ld->host + ((const char *)m->sub_out_w - ld->dev));
        float *row = malloc((size_t)C * freq * sizeof(float));
        if (!row) {
            ld->st = sori_fail(ld->err, SORI_ERR_NO_MEMORY, 0, "conformer: out of memory");
            return ld->st;
        }
        for (int j = 0; j < d; j++) {
            float *wj = w + (int64_t)j * C * freq;
            memcpy(row, wj, (size_t)C * freq * sizeof(float));
            for (int cc = 0; cc < C; cc++)
                for (int f = 0; f < freq; f++)
                    wj[(int64_t)f * C + cc] = row[(int64_t)cc * freq + f];
        }
        free(row);
        m->sub_rows_out = true;
    }
    /* layers */
    const int ff = in->d_ff, dk = d / in->n_heads;
    for (int l = 0; l < in->n_layers && ld->st == SORI_OK; l++) {
        layer_w *w = &m->layers[l];
#define LT(field, suffix, n)                                                                       \
    do {                                                                                           \
        snprintf(name, sizeof name, "encoder.layers.%d.%s", l, suffix);                            \
        w->field = T(name, n);                                                                     \
    } while (0)
        LT(ff1_ln_w, "norm_feed_forward1.weight", d);
        LT(ff1_ln_b, "norm_feed_forward1.bias", d);
        LT(ff1_w1, "feed_forward1.linear1.weight", (int64_t)ff * d);
        LT(ff1_b1, "feed_forward1.linear1.bias", ff);
        LT(ff1_w2, "feed_forward1.linear2.weight", (int64_t)d * ff);
        LT(ff1_b2, "feed_forward1.linear2.bias", d);
        LT(att_ln_w, "norm_self_att.weight", d);
        LT(att_ln_b, "norm_self_att.bias", d);
        {
            char nq[128], nk[128], nv[128];
            const char *names[3] = {nq, nk, nv};
            snprintf(nq, sizeof nq, "encoder.layers.%d.self_attn.linear_q.weight", l);
            snprintf(nk, sizeof nk, "encoder.layers.%d.self_attn.linear_k.weight", l);
            snprintf(nv, sizeof nv, "encoder.layers.%d.self_attn.linear_v.weight", l);
            w->wqkv = tensor_concat(ld, names, 3, (int64_t)d * d);
            snprintf(nq, sizeof nq, "encoder.layers.%d.self_attn.linear_q.bias", l);
            snprintf(nk, sizeof nk, "encoder.layers.%d.self_attn.linear_k.bias", l);
            snprintf(nv, sizeof nv, "encoder.layers.%d.self_attn.linear_v.bias", l);
            w->bqkv = tensor_concat(ld, names, 3, d);
        }
        LT(wo, "self_attn.linear_out.weight", (int64_t)d * d);
        LT(bo, "self_attn.linear_out.bias", d);
        LT(wpos, "self_attn.linear_pos.weight", (int64_t)d * d);
        LT(pos_u, "self_attn.pos_bias_u", (int64_t)in->n_heads * dk);
        LT(pos_v, "self_attn.pos_bias_v", (int64_t)in->n_heads * dk);
        LT(conv_ln_w, "norm_conv.weight", d);
        LT(conv_ln_b, "norm_conv.bias", d);
        LT(pw1_w, "conv.pointwise_conv1.weight", (int64_t)2 * d * d);
        LT(pw1_b, "conv.pointwise_conv1.bias", 2 * d);
        LT(dw_w, "conv.depthwise_conv.weight", (int64_t)d * m->kernel);
        LT(dw_b, "conv.depthwise_conv.bias", d);
        if (m->conv_ln) {
            LT(cn_w, "conv.batch_norm.weight", d);
            LT(cn_b, "conv.batch_norm.bias", d);
        }
        LT(pw2_w, "conv.pointwise_conv2.weight", (int64_t)d * d);
        LT(pw2_b, "conv.pointwise_conv2.bias", d);
        LT(ff2_ln_w, "norm_feed_forward2.weight", d);
        LT(ff2_ln_b, "norm_feed_forward2.bias", d);
        LT(ff2_w1, "feed_forward2.linear1.weight", (int64_t)ff * d);
        LT(ff2_b1, "feed_forward2.linear1.bias", ff);
        LT(ff2_w2, "feed_forward2.linear2.weight", (int64_t)d * ff);
        LT(ff2_b2, "feed_forward2.linear2.bias", d);
        LT(out_ln_w, "norm_out.weight", d);
        LT(out_ln_b, "norm_out.bias", d);
#undef LT
    }
    const int V = in->vocab_size + 1;
    if (m->has_ctc) {
        m->dec_w = T("decoder.decoder_layers.0.weight", (int64_t)V * d);
        m->dec_b = T("decoder.decoder_layers.0.bias", V);
    }
    if (m->has_rnnt) {
        const int P = m->pred_hidden, J = m->joint_hidden;
        m->embed = T("rnnt.prediction.embed.weight", (int64_t)V * P);
        for (int l = 0; l < m->pred_layers; l++) {
            snprintf(name, sizeof name, "rnnt.prediction.dec_rnn.lstm.weight_ih_l%d", l);
            m->lstm_wih[l] = T(name, (int64_t)4 * P * P);
            snprintf(name, sizeof name, "rnnt.prediction.dec_rnn.lstm.weight_hh_l%d", l);
            m->lstm_whh[l] = T(name, (int64_t)4 * P * P);
            snprintf(name, sizeof name, "rnnt.prediction.dec_rnn.lstm.bias_ih_l%d", l);
            m->lstm_bih[l] = T(name, 4 * P);
            snprintf(name, sizeof name, "rnnt.prediction.dec_rnn.lstm.bias_hh_l%d", l);
            m->lstm_bhh[l] = T(name, 4 * P);
        }
        m->jpred_w = T("rnnt.joint.pred.weight", (int64_t)J * P);
        m->jpred_b = T("rnnt.joint.pred.bias", J);
        m->jenc_w = T("rnnt.joint.enc.weight", (int64_t)J * d);
        m->jenc_b = T("rnnt.joint.enc.bias", J);
        m->jout_w = T("rnnt.joint.out.weight", (int64_t)V * J);
        m->jout_b = T("rnnt.joint.out.bias", V);
    }
#undef T
    (void)g;
    return ld->st;
}

/* The feed-forward modules' second products scaled by their residual's
 * 1/2 at load (exact: a power of two), so that each adds into the residual
 * stream itself (beta 1) instead of through a buffer and an add. */
static void halve_ff_outputs(sori_conformer *m, const loader *ld)
{
    const int d = m->info.d_model, ff = m->info.d_ff;
    for (int l = 0; l < m->info.n_layers; l++) {
        const layer_w *L = &m->layers[l];
        const float *ts[4] = {L->ff1_w2, L->ff1_b2, L->ff2_w2, L->ff2_b2};
        const int64_t ns[4] = {(int64_t)d * ff, d, (int64_t)d * ff, d};
        for (int i = 0; i < 4; i++) {
            float *h = (float *)(ld->host + ((const char *)ts[i] - ld->dev));
            for (int64_t j = 0; j < ns[i]; j++)
                h[j] *= 0.5f;
        }
    }
}

/* The layers' product weights, packed in place into the panels of the CPU's
 * own product (kernels/cpu/gemm_p16.h) when the backend has it: no product
 * then repacks a weight per call. Panels are 16 rows: the sizes (and the q
 * | k,v split of wqkv) must fall on panel boundaries, else nothing is packed. */
static sori_status pack_layer_weights(sori_conformer *m, sori_error *err)
{
    const int d = m->info.d_model, ff = m->info.d_ff;
    if (!sori_rt_supports(m->rt, SORI_OP_MATMUL, SORI_F32_P16))
        return SORI_OK;
    /* the q | k,v split of wqkv needs d on a panel boundary */
    const bool att = d % SORI_P16 == 0 && sori_p16_preferred(3 * d, d) && sori_p16_preferred(2 * d, d) &&
                     sori_p16_preferred(d, d);
    const bool ffp = sori_p16_preferred(ff, d) && sori_p16_preferred(d, ff);
    if (!att && !ffp)
        return SORI_OK;
    for (int l = 0; l < m->info.n_layers; l++) {
        layer_w *L = &m->layers[l];
        struct {
            const float *w;
            int n, k;
            bool on;
        } ws[] = {{L->ff1_w1, ff, d, ffp},      {L->ff1_w2, d, ff, ffp}, {L->wqkv, 3 * d, d, att},
                  {L->wo, d, d, att},          {L->wpos, d, d, att},    {L->pw1_w, 2 * d, d, att},
                  {L->pw2_w, d, d, att},       {L->ff2_w1, ff, d, ffp}, {L->ff2_w2, d, ff, ffp}};
        /* the model's own buffer, host memory on the CPU */
        for (size_t i = 0; i < sizeof ws / sizeof ws[0]; i++)
            if (ws[i].on && !sori_pack_p16_in_place((float *)ws[i].w, ws[i].n, ws[i].k))
                return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "conformer: out of memory");
    }
    m->att_wt = att ? SORI_F32_P16 : SORI_F32;
    m->ff_wt = ffp ? SORI_F32_P16 : SORI_F32;
    return SORI_OK;
}

/* Every hyper-parameter, each checked alone and against the others before
 * anything is allocated (docs/model-format.md lists the rules): a value that
 * would divide by zero, index out of bounds, overflow a size or allocate
 * absurdly is refused with the key's name. */
#define K(name) "sori.conformer." name
static sori_status read_hparams(sori_conformer *m, const sori_gguf *g, const char *path, sori_error *err)
{
    static const char *const subs[] = {"striding", "dw_striding", NULL};
    static const char *const norms[] = {"batch_norm", "layer_norm", NULL};
    static const char *const heads[] = {"ctc", "rnnt", "hybrid", NULL};
    static const char *const styles[] = {"regular", "chunked_limited", NULL};
    static const char *const toks[] = {"chars", "sentencepiece", NULL};
    static const char *const acts[] = {"relu", "tanh", "sigmoid", NULL};
    sori_hparams h = sori_hparams_init(g, path, err);
    sori_conformer_info *in = &m->info;
    in->feat_in = (int)sori_hp_int(&h, K("feat_in"), SORI_HP_REQUIRED, 0, 1, 512);
    in->d_model = (int)sori_hp_int(&h, K("d_model"), SORI_HP_REQUIRED, 0, 1, 8192);
    in->n_layers = (int)sori_hp_int(&h, K("n_layers"), SORI_HP_REQUIRED, 0, 1, 1000);
    in->n_heads = (int)sori_hp_int(&h, K("n_heads"), SORI_HP_REQUIRED, 0, 1, 256);
    int ff = (int)sori_hp_int(&h, K("ff_expansion_factor"), SORI_HP_OPTIONAL, 4, 1, 64);
    int sub = sori_hp_enum(&h, K("subsampling"), SORI_HP_OPTIONAL, 0, subs);
    in->subsampling_factor = (int)sori_hp_int(&h, K("subsampling_factor"), SORI_HP_REQUIRED, 4, 1, 1024);
    m->sub_channels = (int)sori_hp_int(&h, K("subsampling_conv_channels"), SORI_HP_REQUIRED, 0, 1, 4096);
    m->causal_sub = sori_hp_bool(&h, K("causal_downsampling"), false);
    m->xscaling = sori_hp_bool(&h, K("xscaling"), true);
    bool use_bias = sori_hp_bool(&h, K("use_bias"), true);
    sori_hp_int(&h, K("pos_emb_max_len"), SORI_HP_OPTIONAL, 5000, 1, 1 << 24);
    m->kernel = (int)sori_hp_int(&h, K("conv_kernel_size"), SORI_HP_REQUIRED, 1, 1, 1023);
    const int k1 = m->kernel - 1;
    m->conv_left = (int)sori_hp_int(&h, K("conv_context_left"), SORI_HP_OPTIONAL, k1 / 2, 0, k1);
    m->conv_right = (int)sori_hp_int(&h, K("conv_context_right"), SORI_HP_OPTIONAL, k1 - k1 / 2, 0, k1);
    int norm = sori_hp_enum(&h, K("conv_norm_type"), SORI_HP_OPTIONAL, 0, norms);
    bool folded = sori_hp_bool(&h, K("conv_norm_folded"), false);
    int style = sori_hp_enum(&h, K("att_context_style"), SORI_HP_OPTIONAL, 0, styles);
    /* a cache of att_context_left frames per layer: 10,000 frames is minutes of audio */
    m->att_left = (int)sori_hp_int(&h, K("att_context_left"), SORI_HP_OPTIONAL, -1, -1, 10000);
    m->att_right = (int)sori_hp_int(&h, K("att_context_right"), SORI_HP_OPTIONAL, -1, -1, 10000);
    int head = sori_hp_enum(&h, K("head"), SORI_HP_OPTIONAL, 0, heads);
    sori_hp_enum(&h, K("tokenizer"), SORI_HP_OPTIONAL, 0, toks);
    sori_gguf_type vt = SORI_GGUF_STRING;
    uint64_t n_vocab = 0;
    if (h.st == SORI_OK) {
        if (sori_gguf_find_key(g, K("vocab")) < 0)
            sori_hp_fail(&h, SORI_ERR_FORMAT, K("vocab"), "missing (a required key)");
        else if (sori_gguf_get_arr_info(g, K("vocab"), &vt, &n_vocab) != SORI_OK || vt != SORI_GGUF_STRING)
            sori_hp_fail(&h, SORI_ERR_FORMAT, K("vocab"), "is not an array of strings");
        else if (n_vocab < 1 || n_vocab > 1000000)
            sori_hp_fail(&h, SORI_ERR_FORMAT, K("vocab"), "%llu entries (1..1000000)", (unsigned long long)n_vocab);
    }
    in->vocab_size = (int)n_vocab;
    in->blank_id = (int)sori_hp_int(&h, K("blank_id"), SORI_HP_OPTIONAL, (int64_t)n_vocab, 0, 1000000);
    in->d_ff = in->d_model * ff;
    /* against each other */
    if (h.st == SORI_OK && in->subsampling_factor != 4 && in->subsampling_factor != 8)
        sori_hp_fail(&h, SORI_ERR_UNSUPPORTED, K("subsampling_factor"), "%d is not supported (4 or 8)",
                     in->subsampling_factor);
    if (h.st == SORI_OK && in->d_model % in->n_heads)
        sori_hp_fail(&h, SORI_ERR_FORMAT, K("n_heads"), "%d does not divide d_model %d", in->n_heads, in->d_model);
    if (h.st == SORI_OK && m->conv_left + m->conv_right != k1)
        sori_hp_fail(&h, SORI_ERR_FORMAT, K("conv_context_right"),
                     "%d + conv_context_left %d must be conv_kernel_size - 1 = %d", m->conv_right, m->conv_left, k1);
    if (h.st == SORI_OK && norm == 0 && !folded)
        sori_hp_fail(&h, SORI_ERR_UNSUPPORTED, K("conv_norm_folded"),
                     "an unfolded batch norm is not supported (convert with tools/nemo_to_gguf.py)");
    if (h.st == SORI_OK && !use_bias)
        sori_hp_fail(&h, SORI_ERR_UNSUPPORTED, K("use_bias"), "false (layers without biases) is not supported");
    if (h.st == SORI_OK && style == 1 && m->att_right < 0) /* NeMo refuses it too */
        sori_hp_fail(&h, SORI_ERR_FORMAT, K("att_context_right"),
                     "-1 (unlimited) with att_context_style chunked_limited: the chunk size would be 0");
    if (h.st == SORI_OK && style == 1 && m->att_left >= 0 && m->att_left % (m->att_right + 1))
        sori_hp_fail(&h, SORI_ERR_FORMAT, K("att_context_left"),
                     "%d is not a multiple of the chunk size att_context_right + 1 = %d", m->att_left,
                     m->att_right + 1);
    if (h.st == SORI_OK && in->blank_id != in->vocab_size)
        sori_hp_fail(&h, SORI_ERR_FORMAT, K("blank_id"), "%d, but the blank is the last class (%d)",
                     in->blank_id, in->vocab_size);
    if (h.st == SORI_OK && (int64_t)in->d_model * ff > 1 << 20)
        sori_hp_fail(&h, SORI_ERR_FORMAT, K("ff_expansion_factor"), "%d x d_model %d is absurd", ff, in->d_model);
    m->dw_striding = sub == 1;
    m->conv_ln = norm == 1;
    m->n_sub = in->subsampling_factor == 8 ? 3 : 2;
    m->att_chunked = style == 1;
    m->has_ctc = head != 1;
    m->has_rnnt = head != 0;
    if (h.st == SORI_OK && m->has_rnnt) {
        m->pred_hidden = (int)sori_hp_int(&h, K("rnnt.pred_hidden"), SORI_HP_REQUIRED, 1, 1, 8192);
        m->pred_layers = (int)sori_hp_int(&h, K("rnnt.pred_rnn_layers"), SORI_HP_REQUIRED, 1, 1, 8);
        m->joint_hidden = (int)sori_hp_int(&h, K("rnnt.joint_hidden"), SORI_HP_REQUIRED, 1, 1, 8192);
        /* labels per frame at most (NeMo's default 10): each is an LSTM step and a
         * joint, so a large value lets a file make decoding arbitrarily slow */
        m->max_symbols = (int)sori_hp_int(&h, K("rnnt.max_symbols"), SORI_HP_OPTIONAL, 10, 1, 100);
        int act = sori_hp_enum(&h, K("rnnt.joint_activation"), SORI_HP_OPTIONAL, 0, acts);
        m->joint_act = act == 0 ? SORI_ACT_RELU : act == 1 ? SORI_ACT_TANH : SORI_ACT_SIGMOID;
    }
    return h.st;
}

/* A tensor's element count, or -1 when the file lacks it. */
static int64_t n_of(const sori_gguf *g, const char *name)
{
    const sori_gguf_tensor *t = sori_gguf_find_tensor(g, name);
    return t ? t->n_elements : -1;
}

static void must_match(sori_hparams *h, const char *key, int64_t value, const char *tensor, int64_t got,
                       int64_t want)
{
    if (h->st == SORI_OK && got >= 0 && got != want)
        sori_hp_fail(h, SORI_ERR_FORMAT, key, "%lld does not match tensor %s (%lld values, %lld expected)",
                     (long long)value, tensor, (long long)got, (long long)want);
}

/* The hyper-parameters against the tensors' shapes, so that a wrong value is
 * named as such rather than as some tensor of an unexpected size (the weight
 * loader still checks every tensor it takes). */
static sori_status check_shapes(const sori_conformer *m, const sori_gguf *g, const char *path, sori_error *err)
{
    sori_hparams h = sori_hparams_init(g, path, err);
    const sori_conformer_info *in = &m->info;
    const int64_t d = in->d_model, C = m->sub_channels, V = (int64_t)in->vocab_size + 1;
    char name[96];
    /* n_layers: layer n_layers - 1 is there, layer n_layers is not */
    snprintf(name, sizeof name, "encoder.layers.%d.norm_out.weight", in->n_layers - 1);
    if (n_of(g, name) < 0)
        sori_hp_fail(&h, SORI_ERR_FORMAT, K("n_layers"), "%d, but the file has no tensor %s", in->n_layers, name);
    snprintf(name, sizeof name, "encoder.layers.%d.norm_out.weight", in->n_layers);
    if (h.st == SORI_OK && n_of(g, name) >= 0)
        sori_hp_fail(&h, SORI_ERR_FORMAT, K("n_layers"), "%d, but the file has a layer %d", in->n_layers,
                     in->n_layers);
    must_match(&h, K("d_model"), d, "encoder.layers.0.norm_out.weight", n_of(g, "encoder.layers.0.norm_out.weight"), d);
    must_match(&h, K("ff_expansion_factor"), in->d_ff / (d ? d : 1), "encoder.layers.0.feed_forward1.linear1.bias",
               n_of(g, "encoder.layers.0.feed_forward1.linear1.bias"), in->d_ff);
    const sori_gguf_tensor *u = sori_gguf_find_tensor(g, "encoder.layers.0.self_attn.pos_bias_u");
    if (h.st == SORI_OK && u && u->n_dims == 2 && u->ne[1] != in->n_heads)
        sori_hp_fail(&h, SORI_ERR_FORMAT, K("n_heads"), "%d does not match tensor "
                     "encoder.layers.0.self_attn.pos_bias_u (%lld heads)", in->n_heads, (long long)u->ne[1]);
    must_match(&h, K("conv_kernel_size"), m->kernel, "encoder.layers.0.conv.depthwise_conv.weight",
               n_of(g, "encoder.layers.0.conv.depthwise_conv.weight"), d * m->kernel);
    must_match(&h, K("subsampling_conv_channels"), C, "encoder.pre_encode.conv.0.bias",
               n_of(g, "encoder.pre_encode.conv.0.bias"), C);
    /* subsampling_factor: the last stage's convolution is there, one more stage's is not */
    snprintf(name, sizeof name, "encoder.pre_encode.conv.%d.weight", m->dw_striding ? 2 + 3 * (m->n_sub - 2) : 2 * (m->n_sub - 1));
    if (h.st == SORI_OK && n_of(g, name) < 0)
        sori_hp_fail(&h, SORI_ERR_FORMAT, K("subsampling_factor"), "%d, but the file has no tensor %s",
                     in->subsampling_factor, name);
    snprintf(name, sizeof name, "encoder.pre_encode.conv.%d.weight", m->dw_striding ? 2 + 3 * (m->n_sub - 1) : 2 * m->n_sub);
    if (h.st == SORI_OK && n_of(g, name) >= 0)
        sori_hp_fail(&h, SORI_ERR_FORMAT, K("subsampling_factor"), "%d, but the file has a further stage (%s)",
                     in->subsampling_factor, name);
    int freq = in->feat_in;
    for (int i = 0; i < m->n_sub; i++)
        freq = conv_out(freq, 3, 2, sub_pad_total(m));
    if (h.st == SORI_OK && freq < 1)
        sori_hp_fail(&h, SORI_ERR_FORMAT, K("feat_in"), "%d mel bins are too few for %d subsampling stages",
                     in->feat_in, m->n_sub);
    must_match(&h, K("feat_in"), in->feat_in, "encoder.pre_encode.out.weight", n_of(g, "encoder.pre_encode.out.weight"),
               d * C * freq);
    if (m->has_ctc)
        must_match(&h, K("vocab"), V - 1, "decoder.decoder_layers.0.bias", n_of(g, "decoder.decoder_layers.0.bias"), V);
    if (m->has_rnnt) {
        must_match(&h, K("vocab"), V - 1, "rnnt.joint.out.bias", n_of(g, "rnnt.joint.out.bias"), V);
        must_match(&h, K("rnnt.pred_hidden"), m->pred_hidden, "rnnt.prediction.embed.weight",
                   n_of(g, "rnnt.prediction.embed.weight"), V * m->pred_hidden);
        must_match(&h, K("rnnt.joint_hidden"), m->joint_hidden, "rnnt.joint.pred.bias", n_of(g, "rnnt.joint.pred.bias"),
                   m->joint_hidden);
        snprintf(name, sizeof name, "rnnt.prediction.dec_rnn.lstm.weight_ih_l%d", m->pred_layers);
        if (h.st == SORI_OK && n_of(g, name) >= 0)
            sori_hp_fail(&h, SORI_ERR_FORMAT, K("rnnt.pred_rnn_layers"), "%d, but the file has %s", m->pred_layers, name);
    }
    return h.st;
}
#undef K

static void stream_cfg(sori_conformer *m);
static sori_status stream_positions(sori_conformer *m, sori_error *err);

sori_status sori_conformer_load(sori_runtime *rt, const char *path, sori_conformer **out,
                                sori_error *err)
{
    if (!rt || !path || !out)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "conformer: NULL argument");
    *out = NULL;
    sori_gguf *g = NULL;
    sori_status st = sori_gguf_open_file(path, &g, err);
    if (st == SORI_OK)
        st = sori_conformer_load_gguf(rt, g, path, out, err);
    sori_gguf_free(g);
    return st;
}

sori_status sori_conformer_load_memory(sori_runtime *rt, const void *data, size_t size,
                                       sori_conformer **out, sori_error *err)
{
    if (!rt || !out)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "conformer: NULL argument");
    *out = NULL;
    sori_gguf *g = NULL;
    sori_status st = sori_gguf_open_memory(data, size, &g, err);
    if (st == SORI_OK)
        st = sori_conformer_load_gguf(rt, g, "<memory>", out, err);
    sori_gguf_free(g);
    return st;
}

sori_status sori_conformer_load_gguf(sori_runtime *rt, const sori_gguf *g, const char *path,
                                     sori_conformer **out, sori_error *err)
{
    if (!rt || !g || !path || !out)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "conformer: NULL argument");
    *out = NULL;
    sori_status st = SORI_OK;
    const char *arch = get_str(g, "general.architecture", "");
    if (strcmp(arch, "sori.conformer") != 0) {
        return sori_fail(err, SORI_ERR_UNSUPPORTED, 0, "%s: architecture '%.40s' is not sori.conformer", path, arch);
    }
    sori_conformer *m = calloc(1, sizeof *m);
    if (m)
        pthread_mutex_init(&m->ws_mu, NULL);
    if (!m)
        return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "conformer: out of memory");
    m->rt = rt;
    st = read_hparams(m, g, path, err);
    if (st == SORI_OK)
        st = check_shapes(m, g, path, err);
    if (st == SORI_OK) {
        const int64_t n_vocab = m->info.vocab_size;
        m->layers = calloc((size_t)m->info.n_layers, sizeof *m->layers);
        m->vocab = calloc((size_t)n_vocab, sizeof(char *));
        if (!m->layers || !m->vocab)
            st = sori_fail(err, SORI_ERR_NO_MEMORY, 0, "conformer: out of memory");
        for (int64_t i = 0; i < n_vocab && st == SORI_OK; i++) {
            const char *s = NULL;
            sori_gguf_get_arr_str(g, "sori.conformer.vocab", (uint64_t)i, &s);
            if (!(m->vocab[i] = strdup(s ? s : "")))
                st = sori_fail(err, SORI_ERR_NO_MEMORY, 0, "conformer: out of memory");
        }
    }
    if (st == SORI_OK) {
        /* every tensor padded to 256 bytes: an upper bound from the file */
        size_t bytes = 0;
        for (int64_t i = 0; i < sori_gguf_n_tensors(g); i++)
            bytes += ((size_t)sori_gguf_tensor_at(g, i)->n_elements * 4 + 255) & ~(size_t)255;
        /* a CPU runtime's buffer is host memory: the weights are written there directly (no
         * staging copy, which doubled the model's memory while it loaded) */
        const bool host_mem = sori_runtime_get_params(rt).device == SORI_DEVICE_CPU;
        loader ld = {g, NULL, host_mem ? NULL : malloc(bytes ? bytes : 1), 0, err, SORI_OK};
        if (!host_mem && !ld.host)
            st = sori_fail(err, SORI_ERR_NO_MEMORY, 0, "conformer: out of memory");
        if (st == SORI_OK)
            st = sori_rt_alloc(rt, bytes ? bytes : 1, &m->weights, err);
        ld.dev = m->weights;
        if (host_mem)
            ld.host = m->weights;
        if (st == SORI_OK)
            st = load_weights(m, g, &ld);
        m->att_wt = m->ff_wt = SORI_F32;
        if (st == SORI_OK)
            halve_ff_outputs(m, &ld);
        if (st == SORI_OK && host_mem)
            st = pack_layer_weights(m, err);
        if (st == SORI_OK && !host_mem)
            st = sori_rt_upload(rt, 0, m->weights, ld.host, ld.used, err);
        if (st == SORI_OK)
            st = sori_rt_sync(rt, 0, err);
        if (!host_mem)
            free(ld.host);
    }
    if (st == SORI_OK)
        stream_cfg(m);
    if (st == SORI_OK && m->scfg.supported)
        st = stream_positions(m, err);
    if (st != SORI_OK) {
        sori_conformer_free(m);
        return st;
    }
    *out = m;
    return SORI_OK;
}

void sori_conformer_free(sori_conformer *m)
{
    if (!m)
        return;
    if (m->vocab)
        for (int i = 0; i < m->info.vocab_size; i++)
            free(m->vocab[i]);
    free(m->vocab);
    free(m->layers);
    sori_rt_release(m->rt, m->pos_stream);
    sori_rt_release(m->rt, m->weights);
    for (ws_set *w = m->ws_free, *n; w; w = n) {
        n = w->next;
        ws_free_set(m->rt, w);
    }
    pthread_mutex_destroy(&m->ws_mu);
    free(m);
}

/* A set of buffers at least sizes[i] bytes each: a kept one, grown where it must be, or a new one. */
static ws_set *ws_take(sori_conformer *m, const size_t *bytes, int n, sori_status *st, sori_error *err)
{
    pthread_mutex_lock(&m->ws_mu);
    ws_set *w = m->ws_free;
    if (w)
        m->ws_free = w->next;
    pthread_mutex_unlock(&m->ws_mu);
    if (!w && !(w = calloc(1, sizeof *w))) {
        *st = sori_fail(err, SORI_ERR_NO_MEMORY, 0, "conformer: out of memory");
        return NULL;
    }
    for (int i = 0; i < n && *st == SORI_OK; i++)
        if (w->cap[i] < bytes[i]) {
            sori_rt_release(m->rt, w->buf[i]);
            w->buf[i] = NULL;
            w->cap[i] = 0;
            *st = sori_rt_alloc(m->rt, bytes[i], (void **)&w->buf[i], err);
            if (*st == SORI_OK)
                w->cap[i] = bytes[i];
        }
    return w;
}

static void ws_give(sori_conformer *m, ws_set *w)
{
    if (!w)
        return;
    size_t total = 0;
    for (int i = 0; i < WS_BUFS; i++)
        total += w->cap[i];
    if (total > WS_KEEP_BYTES) {
        ws_free_set(m->rt, w);
        return;
    }
    pthread_mutex_lock(&m->ws_mu);
    w->next = m->ws_free;
    m->ws_free = w;
    pthread_mutex_unlock(&m->ws_mu);
}

int sori_conformer_rnnt_max_symbols(const sori_conformer *m)
{
    return m && m->has_rnnt ? m->max_symbols : 0;
}

sori_conformer_info sori_conformer_get_info(const sori_conformer *m)
{
    sori_conformer_info z = {0};
    return m ? m->info : z;
}

const char *sori_conformer_token(const sori_conformer *m, int i)
{
    return m && i >= 0 && i < m->info.vocab_size ? m->vocab[i] : NULL;
}

int64_t sori_conformer_out_frames(const sori_conformer *m, int64_t n_frames)
{
    if (!m || n_frames < 1)
        return 0;
    int64_t t = n_frames;
    int stages = m->info.subsampling_factor == 8 ? 3 : 2;
    for (int i = 0; i < stages; i++)
        t = (t + sub_pad_total(m) - 3) / 2 + 1;
    return t;
}

/* ---- forward ------------------------------------------------------------------------ */

typedef struct {
    sori_runtime *rt;
    sori_status st;
    sori_error *err;
} ctx_t;

static void run(ctx_t *c, const sori_op_desc *op)
{
    if (c->st == SORI_OK)
        c->st = sori_rt_run(c->rt, 0, op, c->err);
}

/* y[M, N] = act(x[M, K] · w[N, K]ᵀ + b) (+ beta * y), w of type wt */
static void linear_t(ctx_t *c, const float *x, int64_t M, int K, const float *w, sori_dtype wt, const float *b,
                     int N, float *y, sori_act act, float beta, int64_t ldx)
{
    sori_op_desc op = {.op = SORI_OP_MATMUL};
    op.u.matmul = (sori_matmul_desc){.batch = 1, .m = (int)M, .n = N, .k = K, .trans_b = true,
                                     .a = x, .lda = ldx, .b = w, .b_type = wt, .ldb = K,
                                     .c = y, .ldc = N, .bias = b, .alpha = 1.0f, .beta = beta,
                                     .act = act};
    run(c, &op);
}

/* linear_t with f32 weights in PyTorch layout */
static void linear(ctx_t *c, const float *x, int64_t M, int K, const float *w, const float *b, int N,
                   float *y, sori_act act, float beta, int64_t ldx)
{
    linear_t(c, x, M, K, w, SORI_F32, b, N, y, act, beta, ldx);
}

/* linear_t with one of the layers' product weights (packed or not): attention and convolution
 * module, feed-forward */
#define LLINEAR(c, x, M, K, w, b, N, y, act, beta, ldx) linear_t(c, x, M, K, w, m->att_wt, b, N, y, act, beta, ldx)
#define FLINEAR(c, x, M, K, w, b, N, y, act, beta, ldx) linear_t(c, x, M, K, w, m->ff_wt, b, N, y, act, beta, ldx)

static void layer_norm(ctx_t *c, const float *x, int64_t rows, int dim, const float *g,
                       const float *b, float *y)
{
    sori_op_desc op = {.op = SORI_OP_LAYER_NORM};
    op.u.layer_norm = (sori_layer_norm_desc){.n_rows = rows, .dim = dim, .eps = 1e-5f, .x = x,
                                             .gamma = g, .beta = b, .y = y};
    run(c, &op);
}

/* Zeroes the rows of x ([B, rows_per_item, dim]) at or beyond each item's
 * valid length, as NeMo masks padded frames; `mask` is backend memory for
 * B * rows_per_item floats, `host` its staging copy. */
static void mask_rows(ctx_t *c, float *x, int B, int64_t rows_per_item, int dim, const int64_t *valid,
                      float *mask, float *host, int64_t planes_per_item)
{
    if (c->st != SORI_OK)
        return;
    /* planes_per_item > 1: x is [B, planes, rows, dim] (NCHW channels) */
    int64_t n = (int64_t)B * planes_per_item * rows_per_item;
    for (int b = 0; b < B; b++)
        for (int64_t p = 0; p < planes_per_item; p++)
            for (int64_t t = 0; t < rows_per_item; t++)
                host[((int64_t)b * planes_per_item + p) * rows_per_item + t] = t < valid[b] ? 1.0f : 0.0f;
    c->st = sori_rt_upload(c->rt, 0, mask, host, (size_t)n * sizeof(float), c->err);
    sori_op_desc op = {.op = SORI_OP_BINARY};
    op.u.binary = (sori_binary_desc){.kind = SORI_BIN_MUL, .n_rows = n, .dim = dim, .a = x, .b = mask,
                                     .y = x, .b_per_row = true};
    run(c, &op);
    if (c->st == SORI_OK) /* the staging copy is reused: wait for the upload */
        c->st = sori_rt_sync(c->rt, 0, c->err);
}

/* Frames after one 3x3 stride-2 subsampling conv (k == 3), or unchanged (1x1). */
static int64_t sub_len(const sori_conformer *m, int64_t n, int k)
{
    return k == 3 ? (n + sub_pad_total(m) - 3) / 2 + 1 : n;
}

/* dst = src, n floats of backend memory (a copy as the UNARY op). */
static void copy_dev(ctx_t *c, float *dst, const float *src, int64_t n)
{
    if (n <= 0)
        return;
    sori_op_desc op = {.op = SORI_OP_UNARY};
    op.u.unary = (sori_unary_desc){.n = n, .act = SORI_ACT_NONE, .scale = 1.0f, .x = src, .y = dst};
    run(c, &op);
}

struct sori_conformer_cache {
    sori_conformer *m;
    float *kv;   /* n_layers x cache_len x 2d: keys | values of the last cache_len frames */
    float *conv; /* n_layers x (kernel-1) x d: the depthwise convolution's last inputs */
    int valid;   /* frames of kv that hold real frames (the newest ones) */
};

/* What NeMo's setup_streaming_params derives (chunk_size None), or why the
 * model cannot stream with caches. */
static void stream_cfg(sori_conformer *m)
{
    sori_conformer_stream_cfg *s = &m->scfg;
    memset(s, 0, sizeof *s);
    const int f = m->info.subsampling_factor;
    int lookahead;
    if (m->att_left < 0)
        s->why = "unlimited left attention context (att_context_size[0] = -1)";
    else if (m->conv_right != 0)
        s->why = "non-causal depthwise convolutions (conv_context_size)";
    else if (m->att_chunked && m->att_right < 0)
        s->why = "chunked_limited attention with unlimited right context";
    else if (!m->att_chunked && m->att_right != 0)
        s->why = "regular attention with right context (look-ahead that caches cannot replay)";
    if (s->why)
        return;
    lookahead = m->att_chunked ? m->att_right : 0;
    s->supported = true;
    s->chunk_first = 1 + f * lookahead;
    s->chunk = f * (1 + lookahead);
    s->pre_cache = f + 1;
    s->drop = 1 + (s->pre_cache - 1) / f;
    s->cache_len = m->att_left;
    s->out_per_chunk = 1 + lookahead;
}

static sori_status stream_positions(sori_conformer *m, sori_error *err)
{
    const int d = m->info.d_model;
    const int64_t lk = m->scfg.cache_len + m->scfg.out_per_chunk, n_pos = 2 * lk - 1;
    float *host = malloc((size_t)(n_pos * d) * sizeof(float)), *pos = NULL;
    ctx_t c = {m->rt, SORI_OK, err};
    if (!host)
        return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "conformer: out of memory");
    sori_rel_pos_encoding(host, (int)lk, d);
    c.st = sori_rt_alloc(m->rt, (size_t)(n_pos * d) * sizeof(float), (void **)&pos, err);
    if (c.st == SORI_OK)
        c.st = sori_rt_alloc(m->rt, (size_t)(m->info.n_layers * n_pos * d) * sizeof(float), (void **)&m->pos_stream, err);
    if (c.st == SORI_OK)
        c.st = sori_rt_upload(m->rt, 0, pos, host, (size_t)(n_pos * d) * sizeof(float), err);
    for (int l = 0; l < m->info.n_layers && c.st == SORI_OK; l++)
        LLINEAR(&c, pos, n_pos, d, m->layers[l].wpos, NULL, d, m->pos_stream + (int64_t)l * n_pos * d,
               SORI_ACT_NONE, 0.0f, d);
    if (c.st == SORI_OK)
        c.st = sori_rt_sync(m->rt, 0, err);
    sori_rt_release(m->rt, pos);
    free(host);
    if (c.st == SORI_OK)
        m->pos_stream_lk = lk;
    return c.st;
}

sori_conformer_stream_cfg sori_conformer_get_stream_cfg(const sori_conformer *m)
{
    sori_conformer_stream_cfg z = {0};
    return m ? m->scfg : z;
}

size_t sori_conformer_cache_bytes(const sori_conformer *m)
{
    if (!m || !m->scfg.supported)
        return 0;
    const int64_t d = m->info.d_model, L = m->info.n_layers;
    return (size_t)(L * m->scfg.cache_len * 2 * d + L * (m->kernel - 1) * d) * sizeof(float) +
           sizeof(sori_conformer_cache);
}

sori_status sori_conformer_cache_reset(sori_conformer_cache *c, sori_error *err)
{
    if (!c)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "conformer: NULL cache");
    const sori_conformer *m = c->m;
    const int64_t d = m->info.d_model, L = m->info.n_layers;
    sori_status st = sori_rt_memzero(m->rt, 0, c->kv, (size_t)(L * m->scfg.cache_len * 2 * d + 1) * sizeof(float), err);
    if (st == SORI_OK)
        st = sori_rt_memzero(m->rt, 0, c->conv, (size_t)(L * (m->kernel - 1) * d + 1) * sizeof(float), err);
    if (st == SORI_OK)
        st = sori_rt_sync(m->rt, 0, err);
    c->valid = 0;
    return st;
}

sori_status sori_conformer_cache_create(sori_conformer *m, sori_conformer_cache **out, sori_error *err)
{
    if (!m || !out)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "conformer: NULL argument");
    *out = NULL;
    if (!m->scfg.supported)
        return sori_fail(err, SORI_ERR_UNSUPPORTED, 0, "conformer: no cache-aware streaming for this model: %s",
                         m->scfg.why);
    sori_conformer_cache *c = calloc(1, sizeof *c);
    if (!c)
        return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "conformer: out of memory");
    c->m = m;
    const int64_t d = m->info.d_model, L = m->info.n_layers;
    sori_status st = sori_rt_alloc(m->rt, (size_t)(L * m->scfg.cache_len * 2 * d + 1) * sizeof(float),
                                   (void **)&c->kv, err);
    if (st == SORI_OK)
        st = sori_rt_alloc(m->rt, (size_t)(L * (m->kernel - 1) * d + 1) * sizeof(float), (void **)&c->conv, err);
    if (st == SORI_OK)
        st = sori_conformer_cache_reset(c, err);
    if (st != SORI_OK) {
        sori_conformer_cache_free(c);
        return st;
    }
    *out = c;
    return SORI_OK;
}

void sori_conformer_cache_free(sori_conformer_cache *c)
{
    if (!c)
        return;
    sori_rt_release(c->m->rt, c->kv);
    sori_rt_release(c->m->rt, c->conv);
    free(c);
}

/* The encoder (and CTC head) over B items. Offline when caches is NULL;
 * otherwise one cache-aware streaming step per item (NeMo's
 * cache_aware_stream_step): `drop` subsampled frames are dropped first,
 * attention sees the cached keys/values of the last cache_len frames and
 * the depthwise convolution its cached inputs, and the caches move on. */
static sori_status encode(sori_conformer *m, int B, const float *const *feats, const int64_t *n_frames,
                          sori_conformer_cache *const *caches, int drop, float *const *enc_out,
                          float *const *log_probs, int64_t *out_frames, sori_error *err)
{
    if (!m || B < 1 || B > 4096 || !feats || !n_frames || drop < 0)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "conformer: bad argument");
    if (log_probs && !m->has_ctc)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "conformer: the model has no CTC head");
    const sori_conformer_info *in = &m->info;
    const int d = in->d_model, F = in->feat_in, C = m->sub_channels, H = in->n_heads, dk = d / H;
    const int V = in->vocab_size + 1;
    const bool streaming = caches != NULL;
    int64_t t_in = 0;
    for (int b = 0; b < B; b++) {
        if (!feats[b] || n_frames[b] < 1 || n_frames[b] > 1000000)
            return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "conformer: item %d: %lld frames", b,
                             (long long)n_frames[b]);
        if (streaming && (!caches[b] || caches[b]->m != m))
            return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "conformer: item %d: no cache of this model", b);
        if (n_frames[b] > t_in)
            t_in = n_frames[b];
    }
    const int64_t T_sub = sori_conformer_out_frames(m, t_in);
    const int64_t T = T_sub - drop;
    for (int b = 0; b < B && out_frames; b++)
        out_frames[b] = 0;
    if (T < 1)
        return SORI_OK; /* nothing left after the dropped frames */
    const int64_t Lc = streaming ? m->scfg.cache_len : 0, Lk = Lc + T, Kc = m->kernel - 1;
    sori_runtime *rt = m->rt;
    ctx_t c = {rt, SORI_OK, err};
    const int pb = sub_pad_before(m), pa = SUB_PAD_AFTER;
    /* the subsampling runs SB items at a time: its first conv's output is C x t_in/2 x F/2 floats an
     * item (a batch of 16 offline items of 10 s held 460 MB at once, page-faulted in every pass);
     * a group's ping-pong buffers stay within SUB_GROUP_BYTES (a streaming step's batch is one group) */
    const int64_t sub_item = (int64_t)C * ((t_in + pb + pa) / 2 + 1) * ((F + pb + pa) / 2 + 1);
    int SB = (int)(SUB_GROUP_BYTES / ((size_t)sub_item * sizeof(float)));
    SB = SB < 1 ? 1 : SB > B ? B : SB;
    int64_t sub_max = (int64_t)SB * sub_item;
    int64_t rows = (int64_t)B * T, n_pos = 2 * Lk - 1;
    int64_t conv_rows = streaming ? (int64_t)B * (Kc + T) : rows;
    size_t sizes[] = {
        (size_t)B * t_in * F,               /* 0: input features, padded */
        (size_t)sub_max, (size_t)sub_max,   /* 1, 2: subsampling ping-pong */
        (size_t)rows * d, (size_t)rows * d, /* 3: x (residual), 4: normed */
        (size_t)rows * in->d_ff,            /* 5: FF hidden */
        (size_t)rows * d * 3,               /* 6: q | k | v (offline), q (streaming) */
        (size_t)n_pos * d, (size_t)n_pos * d, /* 7: positions, 8: projected */
        (size_t)rows * 2 * d,               /* 9: conv 2d */
        (size_t)rows * d, (size_t)rows * d, /* 10, 11: scratch */
        (size_t)(m->has_ctc ? rows * V : 1), /* 12: logits */
        (size_t)(sub_max > conv_rows ? sub_max : conv_rows), /* 13: padding masks */
        (size_t)(streaming ? B * Lk * 2 * d : 1),  /* 14: keys | values with the cache */
        (size_t)(streaming ? conv_rows * d : 1),   /* 15: convolution input with the cache */
    };
    enum { NBUF = sizeof sizes / sizeof sizes[0] };
    _Static_assert((int)NBUF == (int)WS_BUFS, "a workspace set holds a forward pass's buffers");
    float *buf[NBUF] = {0};
    size_t bytes[NBUF];
    for (int i = 0; i < NBUF; i++)
        bytes[i] = sizes[i] * sizeof(float);
    ws_set *ws = c.st == SORI_OK ? ws_take(m, bytes, NBUF, &c.st, err) : NULL;
    for (int i = 0; ws && i < NBUF; i++)
        buf[i] = ws->buf[i];
    /* items of different lengths: the subsampling masks their padded frames (a mask staged on the
     * host as large as a subsampling output); items all of one length (a streaming step of full
     * chunks) need none */
    bool ragged = false;
    for (int b = 0; b < B; b++)
        ragged = ragged || n_frames[b] != t_in;
    size_t host_n = (size_t)(n_pos * d > B * t_in * F ? n_pos * d : B * t_in * F);
    if (ragged && (size_t)sub_max > host_n)
        host_n = (size_t)sub_max;
    if ((size_t)conv_rows > host_n)
        host_n = (size_t)conv_rows;
    if (c.st == SORI_OK && !ws_host(ws, host_n, B))
        c.st = sori_fail(err, SORI_ERR_NO_MEMORY, 0, "conformer: out of memory");
    float *host = c.st == SORI_OK ? ws->host : NULL;
    int64_t *lens = host ? ws->i64 : NULL, *valid = host ? ws->i64 + B : NULL;
    int32_t *q_len = host ? ws->i32 : NULL, *kv_start = host ? ws->i32 + B : NULL;
    int32_t *kv_end = host ? ws->i32 + 2 * B : NULL;
    /* padded input [B, 1, t_in, F] */
    if (c.st == SORI_OK) {
        for (int b = 0; b < B; b++)
            memcpy(host + (int64_t)b * t_in * F, feats[b], (size_t)n_frames[b] * F * sizeof(float));
        c.st = sori_rt_upload(rt, 0, buf[0], host, (size_t)B * t_in * F * sizeof(float), err);
    }
    if (c.st == SORI_OK)
        c.st = sori_rt_sync(rt, 0, err);
    if (c.st == SORI_OK && !(streaming && Lk == m->pos_stream_lk)) { /* else the projections are cached */
        sori_rel_pos_encoding(host, (int)Lk, d);
        c.st = sori_rt_upload(rt, 0, buf[7], host, (size_t)n_pos * d * sizeof(float), err);
    }
    if (c.st == SORI_OK)
        c.st = sori_rt_sync(rt, 0, err);

    /* subsampling, with NeMo's masking of padded frames before each layer, SB items at a time */
    for (int b = 0; lens && b < B; b++)
        lens[b] = n_frames[b];
    float *x = buf[3];
    int ch = 1, h = (int)t_in, w = F;
    for (int b0 = 0; b0 < B && c.st == SORI_OK; b0 += SB) {
        const int sb = B - b0 < SB ? B - b0 : SB;
        const float *src = buf[0] + (int64_t)b0 * t_in * F;
        ch = 1, h = (int)t_in, w = F;
        for (int i = 0; i < m->n_sub && c.st == SORI_OK; i++) {
            const sub_conv *s = &m->sub[i];
            float *dst = buf[1 + (i % 2)];
            if (i == m->n_sub - 1 && m->sub_pw_last) {
                /* pointwise: out[b][(t, f), c] = relu(sum_k w[c, k] src[b][k, (t, f)] + bias[c]); rows
                 * past an item's length are left unmasked (no later op mixes them into real frames) */
                sori_op_desc op = {.op = SORI_OP_MATMUL};
                op.u.matmul = (sori_matmul_desc){.batch = sb, .m = h * w, .n = s->c_out, .k = ch, .trans_a = true,
                                                 .trans_b = true, .a = src, .lda = (int64_t)h * w,
                                                 .stride_a = (int64_t)ch * h * w, .b = s->w, .b_type = SORI_F32,
                                                 .ldb = ch, .c = dst, .ldc = s->c_out,
                                                 .stride_c = (int64_t)h * w * s->c_out, .bias = s->b,
                                                 .alpha = 1.0f, .act = s->relu ? SORI_ACT_RELU : SORI_ACT_NONE};
                run(&c, &op);
                ch = s->c_out;
                src = dst;
                break;
            }
            int k = s->k, stride = k == 3 ? 2 : 1, p0 = k == 3 ? pb : 0, p1 = k == 3 ? pa : 0;
            sori_op_desc op = {.op = SORI_OP_CONV2D};
            op.u.conv2d = (sori_conv2d_desc){.batch = sb, .c_in = ch, .h = h, .w = w, .c_out = s->c_out,
                                             .kh = k, .kw = k, .stride_h = stride, .stride_w = stride,
                                             .pad_top = p0, .pad_bottom = p1, .pad_left = p0,
                                             .pad_right = p1, .groups = s->groups, .x = src,
                                             .wt = s->w, .bias = s->b, .y = dst,
                                             .act = s->relu ? SORI_ACT_RELU : SORI_ACT_NONE};
            const bool rows_out = i == m->n_sub - 1 && m->sub_p16_last;
            if (rows_out) /* [time, freq, channel] out, left unmasked as the pointwise product's */
                op.u.conv2d.wt_type = SORI_F32_P16;
            run(&c, &op);
            h = conv_out(h, k, stride, p0 + p1);
            w = conv_out(w, k, stride, p0 + p1);
            ch = s->c_out;
            src = dst;
            if (rows_out)
                break;
            if (ragged) {
                for (int b = b0; b < b0 + sb; b++)
                    lens[b] = sub_len(m, lens[b], k);
                mask_rows(&c, dst, sb, h, w, lens + b0, buf[13], host, ch);
            }
        }
        float *xg = x + (int64_t)b0 * T * d; /* the group's rows of the encoder input */
        if (m->sub_rows_out) {
            /* every item's rows [time, freq x channel] in one product; the dropped frames are cut after */
            float *proj = drop ? buf[1 + (m->n_sub % 2)] : xg;
            linear(&c, src, (int64_t)sb * h, w * ch, m->sub_out_w, m->sub_out_b, d, proj, SORI_ACT_NONE, 0.0f,
                   (int64_t)w * ch);
            for (int b = 0; drop && b < sb; b++)
                copy_dev(&c, xg + (int64_t)b * T * d, proj + ((int64_t)b * h + drop) * d, T * d);
        }
        /* else: flatten channel-major and project (after the dropped frames), one batched product per channel */
        for (int cc = 0; !m->sub_rows_out && cc < ch && c.st == SORI_OK; cc++) {
            sori_op_desc op = {.op = SORI_OP_MATMUL};
            op.u.matmul = (sori_matmul_desc){.batch = sb, .m = (int)T, .n = d, .k = w, .trans_b = true,
                                             .a = src + (int64_t)cc * h * w + (int64_t)drop * w, .lda = w,
                                             .stride_a = (int64_t)ch * h * w,
                                             .b = m->sub_out_w + (int64_t)cc * w, .b_type = SORI_F32,
                                             .ldb = (int64_t)ch * w, .stride_b = 0, .c = xg, .ldc = d,
                                             .stride_c = T * d, .bias = cc == 0 ? m->sub_out_b : NULL,
                                             .alpha = 1.0f, .beta = cc == 0 ? 0.0f : 1.0f};
            run(&c, &op);
        }
    }
    if (m->xscaling) {
        sori_op_desc op = {.op = SORI_OP_UNARY};
        op.u.unary = (sori_unary_desc){.n = rows * d, .act = SORI_ACT_NONE, .scale = sqrtf((float)d),
                                       .x = x, .y = x};
        run(&c, &op);
    }
    /* valid frames per item, for the attention and convolution masks */
    bool masked = B > 1;
    for (int b = 0; c.st == SORI_OK && b < B; b++) {
        int64_t n = sori_conformer_out_frames(m, n_frames[b]) - drop;
        valid[b] = n > 0 ? n : 0;
        q_len[b] = (int32_t)valid[b];
        kv_start[b] = streaming ? (int32_t)(Lc - caches[b]->valid) : 0;
        kv_end[b] = (int32_t)(Lc + valid[b]);
        if (valid[b] < T || kv_start[b] > 0)
            masked = true;
    }
    int64_t *cvalid = lens; /* rows of the convolution input that are real, per item */
    for (int b = 0; c.st == SORI_OK && b < B; b++)
        cvalid[b] = streaming ? Kc + valid[b] : valid[b];

    /* chunked_limited: chunks of att_right + 1 frames (the loader refuses an
     * unlimited right context for that style, as NeMo does) */
    sori_att_context ctxt = m->att_chunked ? SORI_ATT_CHUNKED
                          : m->att_left >= 0 || m->att_right >= 0 ? SORI_ATT_LIMITED : SORI_ATT_FULL;
    const int chunk = ctxt == SORI_ATT_CHUNKED ? m->att_right + 1 : 1;
    float *nx = buf[4], *hid = buf[5], *qkv = buf[6], *pos = buf[7], *p = buf[8], *c2 = buf[9];
    float *t1 = buf[10], *t2 = buf[11], *kvb = buf[14], *cb = buf[15];
    for (int l = 0; l < in->n_layers && c.st == SORI_OK; l++) {
        const layer_w *L = &m->layers[l];
        /* FF1, half step */
        layer_norm(&c, x, rows, d, L->ff1_ln_w, L->ff1_ln_b, nx);
        FLINEAR(&c, nx, rows, d, L->ff1_w1, L->ff1_b1, in->d_ff, hid, SORI_ACT_SILU, 0.0f, d);
        /* (its weights halved at load: halve_ff_outputs) into the residual */
        FLINEAR(&c, hid, rows, in->d_ff, L->ff1_w2, L->ff1_b2, d, x, SORI_ACT_NONE, 1.0f, in->d_ff);
        /* relative-position self-attention */
        layer_norm(&c, x, rows, d, L->att_ln_w, L->att_ln_b, nx);
        const float *q, *kk, *vv;
        int64_t q_stride, kv_stride;
        if (!streaming) { /* q, k, v in one product */
            LLINEAR(&c, nx, rows, d, L->wqkv, L->bqkv, 3 * d, qkv, SORI_ACT_NONE, 0.0f, d);
            q = qkv, kk = qkv + d, vv = qkv + 2 * d;
            q_stride = kv_stride = 3 * d;
        } else { /* q of the new frames; their keys/values after the cached ones */
            LLINEAR(&c, nx, rows, d, L->wqkv, L->bqkv, d, qkv, SORI_ACT_NONE, 0.0f, d);
            /* keys | values of every item's new frames in one product (c2 is free until the
             * convolution module), then each item's after its cached ones */
            LLINEAR(&c, nx, rows, d, L->wqkv + (int64_t)d * d, L->bqkv + d, 2 * d, c2, SORI_ACT_NONE, 0.0f, d);
            for (int b = 0; b < B; b++) {
                copy_dev(&c, kvb + (int64_t)b * Lk * 2 * d, caches[b]->kv + (int64_t)l * Lc * 2 * d, Lc * 2 * d);
                copy_dev(&c, kvb + ((int64_t)b * Lk + Lc) * 2 * d, c2 + (int64_t)b * T * 2 * d, T * 2 * d);
            }
            q = qkv, kk = kvb, vv = kvb + d;
            q_stride = d;
            kv_stride = 2 * d;
        }
        const float *pl = p;
        if (streaming && Lk == m->pos_stream_lk)
            pl = m->pos_stream + (int64_t)l * n_pos * d;
        else
            LLINEAR(&c, pos, n_pos, d, L->wpos, NULL, d, p, SORI_ACT_NONE, 0.0f, d);
        sori_op_desc op = {.op = SORI_OP_ATTENTION};
        op.u.attention = (sori_attention_desc){
            .batch = B, .heads = H, .t_q = (int)T, .t_k = (int)Lk, .d_k = dk, .d_v = dk, .q = q,
            .q_stride = q_stride, .k = kk, .k_stride = kv_stride, .v = vv, .v_stride = kv_stride,
            .out = t1, .scale = 1.0f / sqrtf((float)dk), .pos = pl, .n_pos = (int)n_pos,
            .pos_bias_u = L->pos_u, .pos_bias_v = L->pos_v, .kv_start = masked ? kv_start : NULL,
            .kv_end = masked ? kv_end : NULL, .q_len = masked ? q_len : NULL, .context = ctxt,
            .left = ctxt == SORI_ATT_CHUNKED ? -1 : m->att_left, .right = ctxt == SORI_ATT_CHUNKED ? -1 : m->att_right,
            .chunk_size = chunk, .left_chunks = ctxt == SORI_ATT_CHUNKED && m->att_left >= 0 ? m->att_left / chunk : -1};
        run(&c, &op);
        if (streaming) /* the cache moves on: the newest Lc frames */
            for (int b = 0; b < B; b++)
                copy_dev(&c, caches[b]->kv + (int64_t)l * Lc * 2 * d,
                         kvb + ((int64_t)b * Lk + valid[b]) * 2 * d, Lc * 2 * d);
        LLINEAR(&c, t1, rows, d, L->wo, L->bo, d, x, SORI_ACT_NONE, 1.0f, d); /* into the residual */
        /* convolution module (padded frames zeroed before the depthwise conv) */
        layer_norm(&c, x, rows, d, L->conv_ln_w, L->conv_ln_b, nx);
        LLINEAR(&c, nx, rows, d, L->pw1_w, L->pw1_b, 2 * d, c2, SORI_ACT_NONE, 0.0f, d);
        float *cin = t1;
        int64_t ct = T;
        int pad_l = m->conv_left, pad_r = m->conv_right;
        if (!streaming) {
            op = (sori_op_desc){.op = SORI_OP_GLU};
            op.u.glu = (sori_glu_desc){.n_rows = rows, .dim = d, .x = c2, .y = t1};
            run(&c, &op);
        } else { /* [cached inputs | new], per item */
            cin = cb;
            ct = Kc + T;
            pad_l = pad_r = 0;
            for (int b = 0; b < B; b++) {
                copy_dev(&c, cb + (int64_t)b * ct * d, caches[b]->conv + (int64_t)l * Kc * d, Kc * d);
                op = (sori_op_desc){.op = SORI_OP_GLU};
                op.u.glu = (sori_glu_desc){.n_rows = T, .dim = d, .x = c2 + (int64_t)b * T * 2 * d,
                                           .y = cb + ((int64_t)b * ct + Kc) * d};
                run(&c, &op);
            }
        }
        if (masked)
            mask_rows(&c, cin, B, ct, d, cvalid, buf[13], host, 1);
        op = (sori_op_desc){.op = SORI_OP_CONV1D};
        op.u.conv1d = (sori_conv1d_desc){.batch = B, .t_in = (int)ct, .c_in = d, .c_out = d,
                                         .kernel = m->kernel, .stride = 1, .pad_left = pad_l,
                                         .pad_right = pad_r, .groups = d, .x = cin,
                                         .w = L->dw_w, .bias = L->dw_b, .y = t2,
                                         .act = m->conv_ln ? SORI_ACT_NONE : SORI_ACT_SILU};
        run(&c, &op);
        if (streaming)
            for (int b = 0; b < B; b++)
                copy_dev(&c, caches[b]->conv + (int64_t)l * Kc * d, cb + ((int64_t)b * ct + valid[b]) * d, Kc * d);
        if (m->conv_ln) {
            layer_norm(&c, t2, rows, d, L->cn_w, L->cn_b, t2);
            op = (sori_op_desc){.op = SORI_OP_UNARY};
            op.u.unary = (sori_unary_desc){.n = rows * d, .act = SORI_ACT_SILU, .scale = 1.0f, .x = t2, .y = t2};
            run(&c, &op);
        }
        LLINEAR(&c, t2, rows, d, L->pw2_w, L->pw2_b, d, x, SORI_ACT_NONE, 1.0f, d);
        /* FF2, half step, and the final norm */
        layer_norm(&c, x, rows, d, L->ff2_ln_w, L->ff2_ln_b, nx);
        FLINEAR(&c, nx, rows, d, L->ff2_w1, L->ff2_b1, in->d_ff, hid, SORI_ACT_SILU, 0.0f, d);
        FLINEAR(&c, hid, rows, in->d_ff, L->ff2_w2, L->ff2_b2, d, x, SORI_ACT_NONE, 1.0f, in->d_ff);
        layer_norm(&c, x, rows, d, L->out_ln_w, L->out_ln_b, x);
    }
    /* CTC head: Conv1d(d, V, 1) and log-softmax */
    if (log_probs) {
        linear(&c, x, rows, d, m->dec_w, m->dec_b, V, buf[12], SORI_ACT_NONE, 0.0f, d);
        sori_op_desc op = {.op = SORI_OP_SOFTMAX};
        op.u.softmax = (sori_softmax_desc){.n_rows = rows, .dim = V, .log = true, .x = buf[12], .y = buf[12]};
        run(&c, &op);
    }
    for (int b = 0; b < B && c.st == SORI_OK; b++) {
        if (enc_out && enc_out[b])
            c.st = sori_rt_download(rt, 0, enc_out[b], x + (int64_t)b * T * d, (size_t)valid[b] * d * sizeof(float), err);
        if (c.st == SORI_OK && log_probs && log_probs[b])
            c.st = sori_rt_download(rt, 0, log_probs[b], buf[12] + (int64_t)b * T * V,
                                    (size_t)valid[b] * V * sizeof(float), err);
        if (out_frames)
            out_frames[b] = valid[b];
    }
    if (c.st == SORI_OK)
        c.st = sori_rt_sync(rt, 0, err);
    if (c.st == SORI_OK && streaming)
        for (int b = 0; b < B; b++) {
            int64_t v = caches[b]->valid + valid[b];
            caches[b]->valid = (int)(v < Lc ? v : Lc);
        }
    ws_give(m, ws); /* after the sync above: nothing in flight uses them (nor its host arrays) */
    return c.st;
}

sori_status sori_conformer_forward_batch(sori_conformer *m, int B, const float *const *feats,
                                         const int64_t *n_frames, float *const *enc_out,
                                         float *const *log_probs, sori_error *err)
{
    return encode(m, B, feats, n_frames, NULL, 0, enc_out, log_probs, NULL, err);
}

sori_status sori_conformer_forward(sori_conformer *m, const float *feats, int64_t n_frames,
                                   float *enc_out, float *log_probs, sori_error *err)
{
    return sori_conformer_forward_batch(m, 1, &feats, &n_frames, &enc_out, &log_probs, err);
}

sori_status sori_conformer_stream_step(sori_conformer *m, int B, sori_conformer_cache *const *caches,
                                       const float *const *feats, const int64_t *n_frames, int drop,
                                       float *const *enc_out, float *const *log_probs,
                                       int64_t *out_frames, sori_error *err)
{
    if (!m || !caches || !feats || !n_frames)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "conformer: bad argument");
    if (!m->scfg.supported)
        return sori_fail(err, SORI_ERR_UNSUPPORTED, 0, "conformer: no cache-aware streaming for this model: %s",
                         m->scfg.why);
    /* at most 32 streams a pass: a step's buffers grow with the batch (the subsampling's first
     * output is ~0.6 MB a stream), and past ~32 they leave the caches: 64 streams at once cost
     * 2.5 ms a stream on one core, two passes of 32 1.6 ms (bundled model) */
    enum { MAX_PASS = 32 };
    const int passes = B < 1 ? 1 : (B + MAX_PASS - 1) / MAX_PASS, per = B < 1 ? B : (B + passes - 1) / passes;
    if (passes == 1)
        return encode(m, B, feats, n_frames, caches, drop, enc_out, log_probs, out_frames, err);
    for (int i = 0; i < B; i += per) {
        int n = B - i < per ? B - i : per;
        sori_status st = encode(m, n, feats + i, n_frames + i, caches + i, drop, enc_out ? enc_out + i : NULL,
                                log_probs ? log_probs + i : NULL, out_frames ? out_frames + i : NULL, err);
        if (st != SORI_OK)
            return st;
    }
    return SORI_OK;
}

/* ---- RNN-T greedy decoding (NeMo's GreedyRNNTInfer) ------------------------------ */

struct sori_rnnt_state {
    sori_conformer *m;
    float *h[2], *c[2];   /* committed state and the candidate after the last label: layers x P */
    int cur;              /* index of the committed state */
    float *x, *gates, *gp, *z, *logits, *f; /* backend scratch */
    int64_t f_cap;
    float *host_logits;
    int32_t *ids;         /* backend: the label fed to the prediction network */
    int last;             /* last emitted label, or -1 (start: a zero input) */
    bool have_g;          /* gp holds the joint's projection of the candidate output */
};

size_t sori_rnnt_state_bytes(const sori_conformer *m)
{
    if (!m || !m->has_rnnt)
        return 0;
    const size_t P = (size_t)m->pred_hidden, L = (size_t)m->pred_layers;
    return (4 * L * P + P + 4 * P + 2 * (size_t)m->joint_hidden + (size_t)m->info.vocab_size + 1) * sizeof(float) +
           sizeof(sori_rnnt_state);
}

bool sori_conformer_has_rnnt(const sori_conformer *m) { return m && m->has_rnnt; }
bool sori_conformer_has_ctc(const sori_conformer *m) { return m && m->has_ctc; }

void sori_rnnt_state_free(sori_rnnt_state *s)
{
    if (!s)
        return;
    sori_runtime *rt = s->m->rt;
    for (int i = 0; i < 2; i++) {
        sori_rt_release(rt, s->h[i]);
        sori_rt_release(rt, s->c[i]);
    }
    sori_rt_release(rt, s->x);
    sori_rt_release(rt, s->gates);
    sori_rt_release(rt, s->gp);
    sori_rt_release(rt, s->z);
    sori_rt_release(rt, s->logits);
    sori_rt_release(rt, s->f);
    sori_rt_release(rt, s->ids);
    free(s->host_logits);
    free(s);
}

sori_status sori_rnnt_state_reset(sori_rnnt_state *s, sori_error *err)
{
    if (!s)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "rnnt: NULL state");
    const sori_conformer *m = s->m;
    size_t n = (size_t)m->pred_layers * m->pred_hidden * sizeof(float);
    sori_status st = SORI_OK;
    for (int i = 0; i < 2 && st == SORI_OK; i++) {
        st = sori_rt_memzero(m->rt, 0, s->h[i], n, err);
        if (st == SORI_OK)
            st = sori_rt_memzero(m->rt, 0, s->c[i], n, err);
    }
    if (st == SORI_OK)
        st = sori_rt_sync(m->rt, 0, err);
    s->cur = 0;
    s->last = -1;
    s->have_g = false;
    return st;
}

sori_status sori_rnnt_state_create(sori_conformer *m, sori_rnnt_state **out, sori_error *err)
{
    if (!m || !out)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "rnnt: NULL argument");
    *out = NULL;
    if (!m->has_rnnt)
        return sori_fail(err, SORI_ERR_UNSUPPORTED, 0, "rnnt: the model has no RNN-T head");
    sori_rnnt_state *s = calloc(1, sizeof *s);
    if (!s)
        return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "rnnt: out of memory");
    s->m = m;
    const size_t P = (size_t)m->pred_hidden, L = (size_t)m->pred_layers, J = (size_t)m->joint_hidden;
    const size_t V = (size_t)m->info.vocab_size + 1;
    sori_status st = SORI_OK;
    for (int i = 0; i < 2 && st == SORI_OK; i++) {
        st = sori_rt_alloc(m->rt, L * P * sizeof(float), (void **)&s->h[i], err);
        if (st == SORI_OK)
            st = sori_rt_alloc(m->rt, L * P * sizeof(float), (void **)&s->c[i], err);
    }
    if (st == SORI_OK)
        st = sori_rt_alloc(m->rt, P * sizeof(float), (void **)&s->x, err);
    if (st == SORI_OK)
        st = sori_rt_alloc(m->rt, 4 * P * sizeof(float), (void **)&s->gates, err);
    if (st == SORI_OK)
        st = sori_rt_alloc(m->rt, J * sizeof(float), (void **)&s->gp, err);
    if (st == SORI_OK)
        st = sori_rt_alloc(m->rt, J * sizeof(float), (void **)&s->z, err);
    if (st == SORI_OK)
        st = sori_rt_alloc(m->rt, V * sizeof(float), (void **)&s->logits, err);
    if (st == SORI_OK)
        st = sori_rt_alloc(m->rt, sizeof(int32_t), (void **)&s->ids, err);
    if (st == SORI_OK && !(s->host_logits = malloc(V * sizeof(float))))
        st = sori_fail(err, SORI_ERR_NO_MEMORY, 0, "rnnt: out of memory");
    if (st == SORI_OK)
        st = sori_rnnt_state_reset(s, err);
    if (st != SORI_OK) {
        sori_rnnt_state_free(s);
        return st;
    }
    *out = s;
    return SORI_OK;
}

/* The prediction network on the last label from the committed state: the
 * candidate state (slot 1 - cur) and gp = joint.pred(output). */
static void predict(ctx_t *c, sori_rnnt_state *s)
{
    sori_conformer *m = s->m;
    const int P = m->pred_hidden;
    if (c->st != SORI_OK)
        return;
    if (s->last < 0) {
        c->st = sori_rt_memzero(c->rt, 0, s->x, (size_t)P * sizeof(float), c->err);
    } else {
        int32_t id = s->last;
        c->st = sori_rt_upload(c->rt, 0, s->ids, &id, sizeof id, c->err);
        sori_op_desc op = {.op = SORI_OP_EMBEDDING};
        op.u.embedding = (sori_embedding_desc){.n_ids = 1, .vocab = m->info.vocab_size + 1, .dim = P,
                                               .ids = s->ids, .table = m->embed, .table_type = SORI_F32,
                                               .out = s->x};
        run(c, &op);
    }
    const int nxt = 1 - s->cur;
    const float *in = s->x;
    for (int l = 0; l < m->pred_layers; l++) {
        sori_op_desc op = {.op = SORI_OP_LSTM_STEP};
        op.u.lstm = (sori_lstm_desc){.batch = 1, .n_in = P, .hidden = P, .x = in,
                                     .h_in = s->h[s->cur] + (int64_t)l * P, .c_in = s->c[s->cur] + (int64_t)l * P,
                                     .w_ih = m->lstm_wih[l], .w_hh = m->lstm_whh[l], .b_ih = m->lstm_bih[l],
                                     .b_hh = m->lstm_bhh[l], .h_out = s->h[nxt] + (int64_t)l * P,
                                     .c_out = s->c[nxt] + (int64_t)l * P, .gates = s->gates};
        run(c, &op);
        in = s->h[nxt] + (int64_t)l * P;
    }
    linear(c, in, 1, P, m->jpred_w, m->jpred_b, m->joint_hidden, s->gp, SORI_ACT_NONE, 0.0f, P);
    s->have_g = true;
}

sori_status sori_rnnt_greedy(sori_rnnt_state *s, const float *enc, int64_t T, int64_t frame0,
                             sori_rnnt_emit **toks, int64_t *n, int64_t *cap, sori_error *err)
{
    if (!s || (T > 0 && !enc) || T < 0 || !toks || !n || !cap)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "rnnt: bad argument");
    if (T == 0)
        return SORI_OK;
    sori_conformer *m = s->m;
    sori_runtime *rt = m->rt;
    const int d = m->info.d_model, J = m->joint_hidden, V = m->info.vocab_size + 1, blank = V - 1;
    ctx_t c = {rt, SORI_OK, err};
    if (T > s->f_cap) { /* encoder frames and their joint projection */
        sori_rt_release(rt, s->f);
        s->f = NULL;
        s->f_cap = 0;
        int64_t want = T > 64 ? T : 64;
        c.st = sori_rt_alloc(rt, (size_t)want * (d + J) * sizeof(float), (void **)&s->f, err);
        if (c.st == SORI_OK)
            s->f_cap = want;
    }
    float *e = s->f, *f = s->f + s->f_cap * d;
    if (c.st == SORI_OK)
        c.st = sori_rt_upload(rt, 0, e, enc, (size_t)T * d * sizeof(float), err);
    linear(&c, e, T, d, m->jenc_w, m->jenc_b, J, f, SORI_ACT_NONE, 0.0f, d);
    for (int64_t t = 0; t < T && c.st == SORI_OK; t++) {
        for (int sym = 0; sym < m->max_symbols && c.st == SORI_OK; sym++) {
            if (!s->have_g)
                predict(&c, s);
            sori_op_desc op = {.op = SORI_OP_BINARY};
            op.u.binary = (sori_binary_desc){.kind = SORI_BIN_ADD, .n_rows = 1, .dim = J, .beta = 1.0f,
                                             .a = f + t * J, .b = s->gp, .y = s->z};
            run(&c, &op);
            op = (sori_op_desc){.op = SORI_OP_UNARY};
            op.u.unary = (sori_unary_desc){.n = J, .act = m->joint_act, .scale = 1.0f, .x = s->z, .y = s->z};
            run(&c, &op);
            linear(&c, s->z, 1, J, m->jout_w, m->jout_b, V, s->logits, SORI_ACT_NONE, 0.0f, J);
            if (c.st == SORI_OK)
                c.st = sori_rt_download(rt, 0, s->host_logits, s->logits, (size_t)V * sizeof(float), err);
            if (c.st == SORI_OK)
                c.st = sori_rt_sync(rt, 0, err);
            if (c.st != SORI_OK)
                break;
            const float *lg = s->host_logits;
            int k = 0;
            for (int j = 1; j < V; j++)
                if (lg[j] > lg[k])
                    k = j;
            if (k == blank)
                break;
            double sum = 0;
            for (int j = 0; j < V; j++)
                sum += exp((double)lg[j] - lg[k]);
            if (*n == *cap) {
                int64_t nc = *cap ? 2 * *cap : 64;
                sori_rnnt_emit *p = realloc(*toks, (size_t)nc * sizeof *p);
                if (!p) {
                    c.st = sori_fail(err, SORI_ERR_NO_MEMORY, 0, "rnnt: out of memory");
                    break;
                }
                *toks = p;
                *cap = nc;
            }
            (*toks)[(*n)++] = (sori_rnnt_emit){k, (int32_t)(frame0 + t), (float)(1.0 / sum)};
            s->cur = 1 - s->cur; /* commit the candidate state, predict from the new label */
            s->last = k;
            s->have_g = false;
        }
    }
    return c.st;
}
