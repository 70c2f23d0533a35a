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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/gguf.h"
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

struct sori_conformer {
    sori_runtime *rt;
    sori_conformer_info info;
    int sub_channels, n_sub; /* subsampling convs */
    bool dw_striding, xscaling, conv_ln;
    int conv_left, conv_right, kernel;
    int att_left, att_right;
    sub_conv sub[8];
    const float *sub_out_w, *sub_out_b;
    int sub_freq_out;
    layer_w *layers;
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

static int64_t get_int(const sori_gguf *g, const char *key, int64_t dflt, int *missing)
{
    int64_t v;
    if (sori_gguf_get_int(g, key, &v) == SORI_OK)
        return v;
    if (missing && dflt == INT64_MIN)
        *missing = 1;
    return dflt;
}

static bool get_bool(const sori_gguf *g, const char *key, bool dflt)
{
    bool v;
    return sori_gguf_get_bool(g, key, &v) == SORI_OK ? v : dflt;
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
            freq = conv_out(freq, 3, 2, 2);
            k++;
        }
    } else {
        const float *cw = T("encoder.pre_encode.conv.0.weight", (int64_t)C * 9);
        const float *cb = T("encoder.pre_encode.conv.0.bias", C);
        m->sub[k] = (sub_conv){cw, cb, 1, C, 1, 3, true};
        freq = conv_out(freq, 3, 2, 2);
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
            freq = conv_out(freq, 3, 2, 2);
        }
    }
    m->n_sub = k;
    m->sub_freq_out = freq;
    m->sub_out_w = T("encoder.pre_encode.out.weight", (int64_t)d * C * freq);
    m->sub_out_b = T("encoder.pre_encode.out.bias", d);
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
    m->dec_w = T("decoder.decoder_layers.0.weight", (int64_t)(in->vocab_size + 1) * d);
    m->dec_b = T("decoder.decoder_layers.0.bias", in->vocab_size + 1);
#undef T
    (void)g;
    return ld->st;
}

static sori_status load_from(sori_runtime *rt, sori_gguf *g, const char *path, sori_conformer **out,
                             sori_error *err);

sori_status sori_conformer_load(sori_runtime *rt, const char *path, sori_conformer **out,
                                sori_error *err)
{
    if (!rt || !path || !out)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "conformer: NULL argument");
    *out = NULL;
    sori_gguf *g = NULL;
    sori_status st = sori_gguf_open_file(path, &g, err);
    if (st != SORI_OK)
        return st;
    return load_from(rt, g, path, out, err);
}

sori_status sori_conformer_load_memory(sori_runtime *rt, const void *data, size_t size,
                                       sori_conformer **out, sori_error *err)
{
    if (!rt || !out)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "conformer: NULL argument");
    *out = NULL;
    sori_gguf *g = NULL;
    sori_status st = sori_gguf_open_memory(data, size, &g, err);
    if (st != SORI_OK)
        return st;
    return load_from(rt, g, "<memory>", out, err);
}

/* Takes ownership of g (freed before returning). */
static sori_status load_from(sori_runtime *rt, sori_gguf *g, const char *path, sori_conformer **out,
                             sori_error *err)
{
    sori_status st = SORI_OK;
    const char *arch = get_str(g, "general.architecture", "");
    if (strcmp(arch, "sori.conformer") != 0) {
        st = sori_fail(err, SORI_ERR_UNSUPPORTED, 0, "%s: architecture '%s' is not sori.conformer",
                       path, arch); /* before freeing g: arch points into it */
        sori_gguf_free(g);
        return st;
    }
    sori_conformer *m = calloc(1, sizeof *m);
    if (!m) {
        sori_gguf_free(g);
        return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "conformer: out of memory");
    }
    m->rt = rt;
    int missing = 0;
    sori_conformer_info *in = &m->info;
    in->feat_in = (int)get_int(g, "sori.conformer.feat_in", INT64_MIN, &missing);
    in->d_model = (int)get_int(g, "sori.conformer.d_model", INT64_MIN, &missing);
    in->n_layers = (int)get_int(g, "sori.conformer.n_layers", INT64_MIN, &missing);
    in->n_heads = (int)get_int(g, "sori.conformer.n_heads", INT64_MIN, &missing);
    in->d_ff = in->d_model * (int)get_int(g, "sori.conformer.ff_expansion_factor", 4, NULL);
    in->subsampling_factor = (int)get_int(g, "sori.conformer.subsampling_factor", INT64_MIN, &missing);
    m->sub_channels = (int)get_int(g, "sori.conformer.subsampling_conv_channels", INT64_MIN, &missing);
    m->kernel = (int)get_int(g, "sori.conformer.conv_kernel_size", INT64_MIN, &missing);
    m->conv_left = (int)get_int(g, "sori.conformer.conv_context_left", (m->kernel - 1) / 2, NULL);
    m->conv_right = (int)get_int(g, "sori.conformer.conv_context_right", (m->kernel - 1) / 2, NULL);
    m->att_left = (int)get_int(g, "sori.conformer.att_context_left", -1, NULL);
    m->att_right = (int)get_int(g, "sori.conformer.att_context_right", -1, NULL);
    m->xscaling = get_bool(g, "sori.conformer.xscaling", true);
    const char *sub = get_str(g, "sori.conformer.subsampling", "striding");
    const char *norm = get_str(g, "sori.conformer.conv_norm_type", "batch_norm");
    const char *head = get_str(g, "sori.conformer.head", "ctc");
    const char *style = get_str(g, "sori.conformer.att_context_style", "regular");
    uint64_t n_vocab = 0;
    if (sori_gguf_get_arr_info(g, "sori.conformer.vocab", NULL, &n_vocab) != SORI_OK)
        missing = 1;
    in->vocab_size = (int)n_vocab;
    in->blank_id = (int)get_int(g, "sori.conformer.blank_id", (int64_t)n_vocab, NULL);
    if (missing)
        st = sori_fail(err, SORI_ERR_FORMAT, 0, "%s: a required sori.conformer.* key is missing", path);
    else if (strcmp(sub, "striding") != 0 && strcmp(sub, "dw_striding") != 0)
        st = sori_fail(err, SORI_ERR_UNSUPPORTED, 0, "%s: subsampling '%s' is not supported", path, sub);
    else if (in->subsampling_factor != 4 && in->subsampling_factor != 8)
        st = sori_fail(err, SORI_ERR_UNSUPPORTED, 0, "%s: subsampling factor %d is not supported", path,
                       in->subsampling_factor);
    else if (get_bool(g, "sori.conformer.causal_downsampling", false))
        st = sori_fail(err, SORI_ERR_UNSUPPORTED, 0, "%s: causal_downsampling is not supported yet", path);
    else if (strcmp(head, "ctc") != 0)
        st = sori_fail(err, SORI_ERR_UNSUPPORTED, 0, "%s: head '%s' is not supported yet", path, head);
    else if (strcmp(norm, "batch_norm") == 0 && !get_bool(g, "sori.conformer.conv_norm_folded", false))
        st = sori_fail(err, SORI_ERR_UNSUPPORTED, 0, "%s: unfolded batch norm (convert with tools/nemo_to_gguf.py)", path);
    else if (strcmp(norm, "batch_norm") != 0 && strcmp(norm, "layer_norm") != 0)
        st = sori_fail(err, SORI_ERR_UNSUPPORTED, 0, "%s: conv_norm_type '%s' is not supported", path, norm);
    else if (strcmp(style, "regular") != 0)
        st = sori_fail(err, SORI_ERR_UNSUPPORTED, 0, "%s: att_context_style '%s' is not supported offline yet", path, style);
    else if (in->d_model < 1 || in->n_heads < 1 || in->d_model % in->n_heads || in->n_layers < 1 ||
             in->n_layers > 1000 || in->feat_in < 1 || m->sub_channels < 1 || m->kernel < 1 ||
             m->conv_left < 0 || m->conv_right < 0 || m->conv_left + m->conv_right != m->kernel - 1 ||
             in->vocab_size < 1 || in->blank_id != in->vocab_size)
        st = sori_fail(err, SORI_ERR_FORMAT, 0, "%s: inconsistent hyper-parameters", path);
    if (st == SORI_OK) {
        m->dw_striding = strcmp(sub, "dw_striding") == 0;
        m->conv_ln = strcmp(norm, "layer_norm") == 0;
        m->n_sub = in->subsampling_factor == 8 ? 3 : 2;
        m->layers = calloc((size_t)in->n_layers, sizeof *m->layers);
        m->vocab = calloc((size_t)n_vocab, sizeof(char *));
        if (!m->layers || !m->vocab)
            st = sori_fail(err, SORI_ERR_NO_MEMORY, 0, "conformer: out of memory");
        for (uint64_t i = 0; i < n_vocab && st == SORI_OK; i++) {
            const char *s = NULL;
            sori_gguf_get_arr_str(g, "sori.conformer.vocab", i, &s);
            if (!(m->vocab[i] = strdup(s ? s : "")))
                st = sori_fail(err, SORI_ERR_NO_MEMORY, 0, "conformer: out of memory");
        }
    }
    if (st == SORI_OK) {
        /* every tensor padded to 256 bytes: an upper bound from the file */
        size_t bytes = 0;
        for (int64_t i = 0; i < sori_gguf_n_tensors(g); i++)
            bytes += ((size_t)sori_gguf_tensor_at(g, i)->n_elements * 4 + 255) & ~(size_t)255;
        loader ld = {g, NULL, malloc(bytes ? bytes : 1), 0, err, SORI_OK};
        if (!ld.host)
            st = sori_fail(err, SORI_ERR_NO_MEMORY, 0, "conformer: out of memory");
        if (st == SORI_OK)
            st = sori_rt_alloc(rt, bytes ? bytes : 1, &m->weights, err);
        ld.dev = m->weights;
        if (st == SORI_OK)
            st = load_weights(m, g, &ld);
        if (st == SORI_OK)
            st = sori_rt_upload(rt, 0, m->weights, ld.host, ld.used, err);
        if (st == SORI_OK)
            st = sori_rt_sync(rt, 0, err);
        free(ld.host);
    }
    sori_gguf_free(g);
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
    sori_rt_release(m->rt, m->weights);
    free(m);
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
        t = (t + 2 - 3) / 2 + 1;
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

/* y[M, N] = act(x[M, K] · w[N, K]ᵀ + b) (+ beta * y) */
static void linear(ctx_t *c, const float *x, int64_t M, int K, const float *w, const float *b, int N,
                   float *y, sori_act act, float beta, int64_t ldx)
{
    sori_op_desc op = {.op = SORI_OP_MATMUL};
    op.u.matmul = (sori_matmul_desc){.batch = 1, .m = (int)M, .n = N, .k = K, .trans_b = true,
                                     .a = x, .lda = ldx, .b = w, .b_type = SORI_F32, .ldb = K,
                                     .c = y, .ldc = N, .bias = b, .alpha = 1.0f, .beta = beta,
                                     .act = act};
    run(c, &op);
}

static void layer_norm(ctx_t *c, const float *x, int64_t rows, int dim, const float *g,
                       const float *b, float *y)
{
    sori_op_desc op = {.op = SORI_OP_LAYER_NORM};
    op.u.layer_norm = (sori_layer_norm_desc){.n_rows = rows, .dim = dim, .eps = 1e-5f, .x = x,
                                             .gamma = g, .beta = b, .y = y};
    run(c, &op);
}

static void add(ctx_t *c, float *a, const float *b, int64_t rows, int dim, float beta)
{
    sori_op_desc op = {.op = SORI_OP_BINARY};
    op.u.binary = (sori_binary_desc){.kind = SORI_BIN_ADD, .n_rows = rows, .dim = dim, .beta = beta,
                                     .a = a, .b = b, .y = a};
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

static int64_t sub_len(int64_t n, int k)
{
    return k == 3 ? (n + 2 - 3) / 2 + 1 : n;
}

sori_status sori_conformer_forward_batch(sori_conformer *m, int B, const float *const *feats,
                                         const int64_t *n_frames, float *const *enc_out,
                                         float *const *log_probs, sori_error *err)
{
    if (!m || B < 1 || !feats || !n_frames)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "conformer: bad argument");
    const sori_conformer_info *in = &m->info;
    const int d = in->d_model, F = in->feat_in, C = m->sub_channels, H = in->n_heads, dk = d / H;
    const int V = in->vocab_size + 1;
    int64_t t_in = 0;
    for (int b = 0; b < B; b++) {
        if (!feats[b] || n_frames[b] < 1 || n_frames[b] > 1000000)
            return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "conformer: item %d: %lld frames", b,
                             (long long)n_frames[b]);
        if (n_frames[b] > t_in)
            t_in = n_frames[b];
    }
    const int64_t T = sori_conformer_out_frames(m, t_in);
    sori_runtime *rt = m->rt;
    ctx_t c = {rt, SORI_OK, err};
    int64_t sub_max = (int64_t)B * C * ((t_in + 1) / 2 + 1) * ((F + 1) / 2 + 1);
    int64_t rows = (int64_t)B * T, n_pos = 2 * T - 1;
    size_t sizes[] = {
        (size_t)B * t_in * F,               /* 0: input features, padded */
        (size_t)sub_max, (size_t)sub_max,   /* 1, 2: subsampling ping-pong */
        (size_t)rows * d, (size_t)rows * d, /* 3: x (residual), 4: normed */
        (size_t)rows * in->d_ff,            /* 5: FF hidden */
        (size_t)rows * d * 3,               /* 6: q | k | v */
        (size_t)n_pos * d, (size_t)n_pos * d, /* 7: positions, 8: projected */
        (size_t)rows * 2 * d,               /* 9: conv 2d */
        (size_t)rows * d, (size_t)rows * d, /* 10, 11: scratch */
        (size_t)rows * V,                   /* 12: logits */
        (size_t)sub_max,                    /* 13: padding masks */
    };
    enum { NBUF = sizeof sizes / sizeof sizes[0] };
    float *buf[NBUF] = {0};
    for (int i = 0; i < NBUF && c.st == SORI_OK; i++)
        c.st = sori_rt_alloc(rt, sizes[i] * sizeof(float), (void **)&buf[i], err);
    float *host = NULL;
    size_t host_n = (size_t)(n_pos * d > B * t_in * F ? n_pos * d : B * t_in * F);
    if ((size_t)sub_max > host_n)
        host_n = (size_t)sub_max;
    if (c.st == SORI_OK && !(host = calloc(host_n, sizeof(float))))
        c.st = sori_fail(err, SORI_ERR_NO_MEMORY, 0, "conformer: out of memory");
    /* padded input [B, 1, t_in, F] */
    if (c.st == SORI_OK) {
        for (int b = 0; b < B; b++)
            memcpy(host + (int64_t)b * t_in * F, feats[b], (size_t)n_frames[b] * F * sizeof(float));
        c.st = sori_rt_upload(rt, 0, buf[0], host, (size_t)B * t_in * F * sizeof(float), err);
    }
    if (c.st == SORI_OK)
        c.st = sori_rt_sync(rt, 0, err);
    if (c.st == SORI_OK) {
        sori_rel_pos_encoding(host, (int)T, d);
        c.st = sori_rt_upload(rt, 0, buf[7], host, (size_t)n_pos * d * sizeof(float), err);
    }
    if (c.st == SORI_OK)
        c.st = sori_rt_sync(rt, 0, err);

    /* subsampling, with NeMo's masking of padded frames before each layer */
    int64_t len[64], *lens = B <= 64 ? len : malloc((size_t)B * sizeof(int64_t));
    if (!lens)
        c.st = sori_fail(err, SORI_ERR_NO_MEMORY, 0, "conformer: out of memory");
    for (int b = 0; lens && b < B; b++)
        lens[b] = n_frames[b];
    const float *src = buf[0];
    int ch = 1, h = (int)t_in, w = F;
    for (int i = 0; i < m->n_sub && c.st == SORI_OK; i++) {
        const sub_conv *s = &m->sub[i];
        float *dst = buf[1 + (i % 2)];
        int k = s->k, stride = k == 3 ? 2 : 1, pad = k == 3 ? 1 : 0;
        sori_op_desc op = {.op = SORI_OP_CONV2D};
        op.u.conv2d = (sori_conv2d_desc){.batch = B, .c_in = ch, .h = h, .w = w, .c_out = s->c_out,
                                         .kh = k, .kw = k, .stride_h = stride, .stride_w = stride,
                                         .pad_top = pad, .pad_bottom = pad, .pad_left = pad,
                                         .pad_right = pad, .groups = s->groups, .x = src,
                                         .wt = s->w, .bias = s->b, .y = dst,
                                         .act = s->relu ? SORI_ACT_RELU : SORI_ACT_NONE};
        run(&c, &op);
        h = conv_out(h, k, stride, 2 * pad);
        w = conv_out(w, k, stride, 2 * pad);
        ch = s->c_out;
        src = dst;
        if (B > 1) {
            for (int b = 0; b < B; b++)
                lens[b] = sub_len(lens[b], k);
            mask_rows(&c, dst, B, h, w, lens, buf[13], host, ch);
        }
    }
    /* flatten channel-major and project, one batched product per channel */
    float *x = buf[3];
    for (int cc = 0; cc < ch && c.st == SORI_OK; cc++) {
        sori_op_desc op = {.op = SORI_OP_MATMUL};
        op.u.matmul = (sori_matmul_desc){.batch = B, .m = (int)T, .n = d, .k = w, .trans_b = true,
                                         .a = src + (int64_t)cc * h * w, .lda = w,
                                         .stride_a = (int64_t)ch * h * w,
                                         .b = m->sub_out_w + (int64_t)cc * w, .b_type = SORI_F32,
                                         .ldb = (int64_t)ch * w, .stride_b = 0, .c = x, .ldc = d,
                                         .stride_c = T * d, .bias = cc == 0 ? m->sub_out_b : NULL,
                                         .alpha = 1.0f, .beta = cc == 0 ? 0.0f : 1.0f};
        run(&c, &op);
    }
    if (m->xscaling) {
        sori_op_desc op = {.op = SORI_OP_UNARY};
        op.u.unary = (sori_unary_desc){.n = rows * d, .act = SORI_ACT_NONE, .scale = sqrtf((float)d),
                                       .x = x, .y = x};
        run(&c, &op);
    }
    /* valid frames per item, for the attention and convolution masks */
    int32_t kv_end[64], *kvs = B <= 64 ? kv_end : malloc((size_t)B * sizeof(int32_t));
    if (!kvs)
        c.st = sori_fail(err, SORI_ERR_NO_MEMORY, 0, "conformer: out of memory");
    for (int b = 0; kvs && b < B; b++)
        kvs[b] = (int32_t)sori_conformer_out_frames(m, n_frames[b]);
    int64_t *valid = lens;
    for (int b = 0; lens && kvs && b < B; b++)
        valid[b] = kvs[b];

    float *nx = buf[4], *hid = buf[5], *qkv = buf[6], *pos = buf[7], *p = buf[8], *c2 = buf[9];
    float *t1 = buf[10], *t2 = buf[11];
    for (int l = 0; l < in->n_layers && c.st == SORI_OK; l++) {
        const layer_w *L = &m->layers[l];
        /* FF1, half step */
        layer_norm(&c, x, rows, d, L->ff1_ln_w, L->ff1_ln_b, nx);
        linear(&c, nx, rows, d, L->ff1_w1, L->ff1_b1, in->d_ff, hid, SORI_ACT_SILU, 0.0f, d);
        linear(&c, hid, rows, in->d_ff, L->ff1_w2, L->ff1_b2, d, t1, SORI_ACT_NONE, 0.0f, in->d_ff);
        add(&c, x, t1, rows, d, 0.5f);
        /* relative-position self-attention; q, k, v in one product */
        layer_norm(&c, x, rows, d, L->att_ln_w, L->att_ln_b, nx);
        linear(&c, nx, rows, d, L->wqkv, L->bqkv, 3 * d, qkv, SORI_ACT_NONE, 0.0f, d);
        linear(&c, pos, n_pos, d, L->wpos, NULL, d, p, SORI_ACT_NONE, 0.0f, d);
        sori_op_desc op = {.op = SORI_OP_ATTENTION};
        op.u.attention = (sori_attention_desc){
            .batch = B, .heads = H, .t_q = (int)T, .t_k = (int)T, .d_k = dk, .d_v = dk, .q = qkv,
            .q_stride = 3 * d, .k = qkv + d, .k_stride = 3 * d, .v = qkv + 2 * d, .v_stride = 3 * d,
            .out = t1, .scale = 1.0f / sqrtf((float)dk), .pos = p, .n_pos = (int)n_pos,
            .pos_bias_u = L->pos_u, .pos_bias_v = L->pos_v, .kv_end = B > 1 ? kvs : NULL,
            .q_len = B > 1 ? kvs : NULL,
            .context = m->att_left >= 0 || m->att_right >= 0 ? SORI_ATT_LIMITED : SORI_ATT_FULL,
            .left = m->att_left, .right = m->att_right};
        run(&c, &op);
        linear(&c, t1, rows, d, L->wo, L->bo, d, t2, SORI_ACT_NONE, 0.0f, d);
        add(&c, x, t2, rows, d, 1.0f);
        /* convolution module (padded frames zeroed before the depthwise conv) */
        layer_norm(&c, x, rows, d, L->conv_ln_w, L->conv_ln_b, nx);
        linear(&c, nx, rows, d, L->pw1_w, L->pw1_b, 2 * d, c2, SORI_ACT_NONE, 0.0f, d);
        op = (sori_op_desc){.op = SORI_OP_GLU};
        op.u.glu = (sori_glu_desc){.n_rows = rows, .dim = d, .x = c2, .y = t1};
        run(&c, &op);
        if (B > 1)
            mask_rows(&c, t1, B, T, d, valid, buf[13], host, 1);
        op = (sori_op_desc){.op = SORI_OP_CONV1D};
        op.u.conv1d = (sori_conv1d_desc){.batch = B, .t_in = (int)T, .c_in = d, .c_out = d,
                                         .kernel = m->kernel, .stride = 1, .pad_left = m->conv_left,
                                         .pad_right = m->conv_right, .groups = d, .x = t1,
                                         .w = L->dw_w, .bias = L->dw_b, .y = t2,
                                         .act = m->conv_ln ? SORI_ACT_NONE : SORI_ACT_SILU};
        run(&c, &op);
        if (m->conv_ln) {
            layer_norm(&c, t2, rows, d, L->cn_w, L->cn_b, t2);
            op = (sori_op_desc){.op = SORI_OP_UNARY};
            op.u.unary = (sori_unary_desc){.n = rows * d, .act = SORI_ACT_SILU, .scale = 1.0f, .x = t2, .y = t2};
            run(&c, &op);
        }
        linear(&c, t2, rows, d, L->pw2_w, L->pw2_b, d, t1, SORI_ACT_NONE, 0.0f, d);
        add(&c, x, t1, rows, d, 1.0f);
        /* FF2, half step, and the final norm */
        layer_norm(&c, x, rows, d, L->ff2_ln_w, L->ff2_ln_b, nx);
        linear(&c, nx, rows, d, L->ff2_w1, L->ff2_b1, in->d_ff, hid, SORI_ACT_SILU, 0.0f, d);
        linear(&c, hid, rows, in->d_ff, L->ff2_w2, L->ff2_b2, d, t1, SORI_ACT_NONE, 0.0f, in->d_ff);
        add(&c, x, t1, rows, d, 0.5f);
        layer_norm(&c, x, rows, d, L->out_ln_w, L->out_ln_b, x);
    }
    /* CTC head: Conv1d(d, V, 1) and log-softmax */
    if (log_probs) {
        linear(&c, x, rows, d, m->dec_w, m->dec_b, V, buf[12], SORI_ACT_NONE, 0.0f, d);
        sori_op_desc op = {.op = SORI_OP_SOFTMAX};
        op.u.softmax = (sori_softmax_desc){.n_rows = rows, .dim = V, .log = true, .x = buf[12], .y = buf[12]};
        run(&c, &op);
    }
    for (int b = 0; b < B && c.st == SORI_OK && kvs; b++) {
        if (enc_out && enc_out[b])
            c.st = sori_rt_download(rt, 0, enc_out[b], x + (int64_t)b * T * d, (size_t)kvs[b] * d * sizeof(float), err);
        if (c.st == SORI_OK && log_probs && log_probs[b])
            c.st = sori_rt_download(rt, 0, log_probs[b], buf[12] + (int64_t)b * T * V,
                                    (size_t)kvs[b] * V * sizeof(float), err);
    }
    if (c.st == SORI_OK)
        c.st = sori_rt_sync(rt, 0, err);
    for (int i = 0; i < NBUF; i++)
        sori_rt_release(rt, buf[i]);
    free(host);
    if (lens != len)
        free(lens);
    if (kvs != kv_end)
        free(kvs);
    return c.st;
}

sori_status sori_conformer_forward(sori_conformer *m, const float *feats, int64_t n_frames,
                                   float *enc_out, float *log_probs, sori_error *err)
{
    return sori_conformer_forward_batch(m, 1, &feats, &n_frames, &enc_out, &log_probs, err);
}
