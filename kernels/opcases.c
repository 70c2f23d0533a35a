/* Random op cases for the tests, the self-check and the benchmarks. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "opcheck.h"
#include "cpu/gemm_p16.h"

void sori_opcase_free(sori_opcase *c)
{
    if (!c)
        return;
    for (int i = 0; i < c->n_bufs; i++)
        free(c->bufs[i]);
    free(c);
}

/* n floats uniform in [-scale, scale) */
static float *rnd(sori_opcase *c, sori_rng *r, int64_t n, float scale)
{
    if (c->n_bufs == 16)
        return NULL;
    float *p = malloc((size_t)(n > 0 ? n : 1) * sizeof(float));
    if (!p)
        return NULL;
    sori_rng_fill(r, p, n, -scale, scale);
    c->bufs[c->n_bufs++] = p;
    return p;
}

static void *raw(sori_opcase *c, size_t n_bytes)
{
    if (c->n_bufs == 16)
        return NULL;
    void *p = calloc(1, n_bytes ? n_bytes : 1);
    if (p)
        c->bufs[c->n_bufs++] = p;
    return p;
}

static sori_opcase *new_case(sori_op op)
{
    sori_opcase *c = calloc(1, sizeof *c);
    if (c)
        c->desc.op = op;
    return c;
}

#define CHECK(p)                                                                                   \
    do {                                                                                           \
        if (!(p)) {                                                                                \
            sori_opcase_free(c);                                                                   \
            return NULL;                                                                           \
        }                                                                                          \
    } while (0)

static const char *act_name(sori_act a)
{
    static const char *n[] = {"none", "relu", "silu", "tanh", "sigmoid", "gelu"};
    return (unsigned)a < SORI_ACT_COUNT_ ? n[a] : "?";
}

sori_opcase *sori_opcase_matmul(sori_rng *r, int batch, int m, int n, int k, bool trans_a,
                                bool trans_b, bool share_b, bool bias, float beta, sori_act act,
                                sori_dtype b_type)
{
    sori_opcase *c = new_case(SORI_OP_MATMUL);
    CHECK(c);
    sori_matmul_desc *d = &c->desc.u.matmul;
    d->batch = batch;
    d->m = m;
    d->n = n;
    d->k = k;
    d->trans_a = trans_a;
    d->trans_b = trans_b;
    d->lda = trans_a ? m : k;
    d->ldb = trans_b ? k : n;
    d->ldc = n;
    d->stride_a = (int64_t)m * k;
    d->stride_b = share_b ? 0 : (int64_t)k * n;
    d->stride_c = (int64_t)m * n;
    d->alpha = 1.0f;
    d->beta = beta;
    d->act = act;
    d->b_type = b_type;
    float ws = 1.0f / sqrtf((float)k);
    float *a = rnd(c, r, (int64_t)batch * m * k, 1.0f);
    CHECK(a);
    d->a = a;
    int64_t nb = (share_b ? 1 : batch) * (int64_t)k * n;
    float *b = rnd(c, r, nb, ws);
    CHECK(b);
    if (b_type == SORI_F16) {
        uint16_t *h = raw(c, (size_t)nb * 2);
        CHECK(h);
        for (int64_t i = 0; i < nb; i++)
            h[i] = sori_f32_to_f16(b[i]);
        d->b = h;
    } else if (b_type == SORI_Q8_0) {
        uint8_t *q = raw(c, sori_dtype_bytes(SORI_Q8_0, nb));
        CHECK(q && k % 32 == 0 && trans_b);
        sori_quantize_q8_0(b, nb, q);
        d->b = q;
    } else if (b_type == SORI_F32_P16) { /* each batch item's weight packed as a loader packs it */
        CHECK(trans_b && !trans_a && n % SORI_P16 == 0);
        float *p = raw(c, (size_t)nb * sizeof(float));
        CHECK(p);
        for (int64_t i = 0; i < nb; i += (int64_t)k * n)
            sori_pack_p16(b + i, n, k, p + i);
        d->b = p;
    } else {
        d->b = b;
    }
    if (bias) {
        float *bb = rnd(c, r, n, 0.5f);
        CHECK(bb);
        d->bias = bb;
    }
    float *cc = rnd(c, r, (int64_t)batch * m * n, 1.0f);
    CHECK(cc);
    d->c = cc;
    snprintf(c->label, sizeof c->label, "matmul b=%d m=%d n=%d k=%d%s%s%s%s beta=%g act=%s", batch,
             m, n, k, trans_a ? " tA" : "", trans_b ? " tB" : "", share_b ? " sharedB" : "",
             b_type == SORI_F16 ? " f16" : b_type == SORI_Q8_0 ? " q8_0" : b_type == SORI_F32_P16 ? " p16" : "", beta, act_name(act));
    return c;
}

sori_opcase *sori_opcase_conv1d(sori_rng *r, int batch, int t_in, int c_in, int c_out, int kernel,
                                int stride, int pad_left, int pad_right, bool depthwise, bool bias,
                                sori_act act)
{
    sori_opcase *c = new_case(SORI_OP_CONV1D);
    CHECK(c);
    sori_conv1d_desc *d = &c->desc.u.conv1d;
    if (depthwise)
        c_out = c_in;
    *d = (sori_conv1d_desc){.batch = batch, .t_in = t_in, .c_in = c_in, .c_out = c_out,
                            .kernel = kernel, .stride = stride, .pad_left = pad_left,
                            .pad_right = pad_right, .groups = depthwise ? c_in : 1, .act = act};
    int fan = (depthwise ? 1 : c_in) * kernel;
    float *x = rnd(c, r, (int64_t)batch * t_in * c_in, 1.0f);
    float *w = rnd(c, r, (int64_t)c_out * fan, 1.0f / sqrtf((float)fan));
    CHECK(x && w);
    d->x = x;
    d->w = w;
    if (bias) {
        float *b = rnd(c, r, c_out, 0.5f);
        CHECK(b);
        d->bias = b;
    }
    int t_out = (t_in + pad_left + pad_right - kernel) / stride + 1;
    float *y = raw(c, (size_t)batch * (t_out > 0 ? t_out : 1) * c_out * sizeof(float));
    CHECK(y);
    d->y = y;
    snprintf(c->label, sizeof c->label, "conv1d b=%d t=%d cin=%d cout=%d k=%d s=%d pad=%d/%d%s act=%s",
             batch, t_in, c_in, c_out, kernel, stride, pad_left, pad_right,
             depthwise ? " depthwise" : "", act_name(act));
    return c;
}

sori_opcase *sori_opcase_conv2d(sori_rng *r, int batch, int c_in, int h, int w, int c_out, int kh,
                                int kw, int stride_h, int stride_w, int pad_top, int pad_bottom,
                                int pad_left, int pad_right, bool depthwise, sori_act act)
{
    sori_opcase *c = new_case(SORI_OP_CONV2D);
    CHECK(c);
    if (depthwise)
        c_out = c_in;
    sori_conv2d_desc *d = &c->desc.u.conv2d;
    *d = (sori_conv2d_desc){.batch = batch, .c_in = c_in, .h = h, .w = w, .c_out = c_out,
                            .kh = kh, .kw = kw, .stride_h = stride_h, .stride_w = stride_w,
                            .pad_top = pad_top, .pad_bottom = pad_bottom, .pad_left = pad_left,
                            .pad_right = pad_right, .groups = depthwise ? c_in : 1, .act = act};
    int fan = (depthwise ? 1 : c_in) * kh * kw;
    float *x = rnd(c, r, (int64_t)batch * c_in * h * w, 1.0f);
    float *wt = rnd(c, r, (int64_t)c_out * fan, 1.0f / sqrtf((float)fan));
    float *b = rnd(c, r, c_out, 0.5f);
    int ho = (h + pad_top + pad_bottom - kh) / stride_h + 1;
    int wo = (w + pad_left + pad_right - kw) / stride_w + 1;
    float *y = raw(c, (size_t)batch * c_out * (ho > 0 ? ho : 1) * (wo > 0 ? wo : 1) * sizeof(float));
    CHECK(x && wt && b && y);
    d->x = x;
    d->wt = wt;
    d->bias = b;
    d->y = y;
    snprintf(c->label, sizeof c->label,
             "conv2d b=%d cin=%d %dx%d cout=%d k=%dx%d s=%d,%d pad=%d,%d,%d,%d%s act=%s", batch,
             c_in, h, w, c_out, kh, kw, stride_h, stride_w, pad_top, pad_bottom, pad_left,
             pad_right, depthwise ? " depthwise" : "", act_name(act));
    return c;
}

void sori_opcase_conv2d_pack(sori_opcase *c)
{
    sori_conv2d_desc *d = &c->desc.u.conv2d;
    const int K = d->c_in * d->kh * d->kw;
    float *p = d->groups == 1 && d->c_out % SORI_P16 == 0 ? raw(c, (size_t)d->c_out * K * sizeof(float)) : NULL;
    if (!p)
        return;
    sori_pack_p16(d->wt, d->c_out, K, p);
    d->wt = p;
    d->wt_type = SORI_F32_P16;
    strncat(c->label, " p16 rows-out", sizeof c->label - strlen(c->label) - 1);
}

sori_opcase *sori_opcase_layer_norm(sori_rng *r, int64_t rows, int dim, bool affine, bool in_place)
{
    sori_opcase *c = new_case(SORI_OP_LAYER_NORM);
    CHECK(c);
    sori_layer_norm_desc *d = &c->desc.u.layer_norm;
    d->n_rows = rows;
    d->dim = dim;
    d->eps = 1e-5f;
    float *x = rnd(c, r, rows * dim, 3.0f);
    CHECK(x);
    for (int64_t i = 0; i < rows * dim; i++)
        x[i] += 1.5f; /* a non-zero mean, as real activations have */
    d->x = x;
    if (in_place) {
        d->y = x;
    } else {
        float *y = raw(c, (size_t)(rows * dim) * sizeof(float));
        CHECK(y);
        d->y = y;
    }
    if (affine) {
        float *g = rnd(c, r, dim, 1.0f), *b = rnd(c, r, dim, 1.0f);
        CHECK(g && b);
        d->gamma = g;
        d->beta = b;
    }
    snprintf(c->label, sizeof c->label, "layer_norm rows=%lld dim=%d%s%s", (long long)rows, dim,
             affine ? " affine" : "", in_place ? " in-place" : "");
    return c;
}

sori_opcase *sori_opcase_batch_norm(sori_rng *r, int64_t rows, int channels, sori_act act)
{
    sori_opcase *c = new_case(SORI_OP_BATCH_NORM);
    CHECK(c);
    sori_batch_norm_desc *d = &c->desc.u.batch_norm;
    d->n_rows = rows;
    d->channels = channels;
    d->eps = 1e-5f;
    d->act = act;
    float *x = rnd(c, r, rows * channels, 2.0f), *mean = rnd(c, r, channels, 1.0f),
          *var = rnd(c, r, channels, 1.0f), *g = rnd(c, r, channels, 1.0f),
          *b = rnd(c, r, channels, 1.0f);
    float *y = raw(c, (size_t)(rows * channels) * sizeof(float));
    CHECK(x && mean && var && g && b && y);
    for (int i = 0; i < channels; i++)
        var[i] = var[i] * var[i] + 0.1f;
    d->x = x;
    d->mean = mean;
    d->var = var;
    d->gamma = g;
    d->beta = b;
    d->y = y;
    snprintf(c->label, sizeof c->label, "batch_norm rows=%lld ch=%d act=%s", (long long)rows,
             channels, act_name(act));
    return c;
}

sori_opcase *sori_opcase_softmax(sori_rng *r, int64_t rows, int dim, bool log, bool masked)
{
    sori_opcase *c = new_case(SORI_OP_SOFTMAX);
    CHECK(c);
    sori_softmax_desc *d = &c->desc.u.softmax;
    d->n_rows = rows;
    d->dim = dim;
    d->log = log;
    float *x = rnd(c, r, rows * dim, 8.0f);
    float *y = raw(c, (size_t)(rows * dim) * sizeof(float));
    CHECK(x && y);
    d->x = x;
    d->y = y;
    if (masked) {
        uint8_t *m = raw(c, (size_t)(rows * dim));
        CHECK(m);
        for (int64_t i = 0; i < rows; i++) {
            int mode = sori_rng_int(r, 0, 5); /* 0: fully masked row, 1: none, else random */
            for (int j = 0; j < dim; j++)
                m[i * dim + j] = mode == 0 ? 1 : mode == 1 ? 0 : (uint8_t)(sori_rng_int(r, 0, 2) == 0);
        }
        d->mask = m;
    }
    snprintf(c->label, sizeof c->label, "%s rows=%lld dim=%d%s", log ? "log_softmax" : "softmax",
             (long long)rows, dim, masked ? " masked" : "");
    return c;
}

sori_opcase *sori_opcase_unary(sori_rng *r, int64_t n, sori_act act, float scale)
{
    sori_opcase *c = new_case(SORI_OP_UNARY);
    CHECK(c);
    sori_unary_desc *d = &c->desc.u.unary;
    d->n = n;
    d->act = act;
    d->scale = scale;
    float *x = rnd(c, r, n, 6.0f), *y = raw(c, (size_t)n * sizeof(float));
    CHECK(x && y);
    d->x = x;
    d->y = y;
    snprintf(c->label, sizeof c->label, "unary n=%lld act=%s scale=%g", (long long)n,
             act_name(act), scale);
    return c;
}

sori_opcase *sori_opcase_glu(sori_rng *r, int64_t rows, int dim)
{
    sori_opcase *c = new_case(SORI_OP_GLU);
    CHECK(c);
    sori_glu_desc *d = &c->desc.u.glu;
    d->n_rows = rows;
    d->dim = dim;
    float *x = rnd(c, r, rows * 2 * dim, 4.0f), *y = raw(c, (size_t)(rows * dim) * sizeof(float));
    CHECK(x && y);
    d->x = x;
    d->y = y;
    snprintf(c->label, sizeof c->label, "glu rows=%lld dim=%d", (long long)rows, dim);
    return c;
}

sori_opcase *sori_opcase_binary(sori_rng *r, sori_binary_kind kind, int64_t rows, int dim,
                                bool row_broadcast, float beta)
{
    sori_opcase *c = new_case(SORI_OP_BINARY);
    CHECK(c);
    sori_binary_desc *d = &c->desc.u.binary;
    *d = (sori_binary_desc){.kind = kind, .n_rows = rows, .dim = dim,
                            .b_row_broadcast = row_broadcast, .beta = beta};
    float *a = rnd(c, r, rows * dim, 2.0f), *b = rnd(c, r, (row_broadcast ? 1 : rows) * dim, 2.0f);
    float *y = raw(c, (size_t)(rows * dim) * sizeof(float));
    CHECK(a && b && y);
    d->a = a;
    d->b = b;
    d->y = y;
    snprintf(c->label, sizeof c->label, "%s rows=%lld dim=%d%s beta=%g",
             kind == SORI_BIN_ADD ? "add" : "mul", (long long)rows, dim,
             row_broadcast ? " row-broadcast" : "", beta);
    return c;
}

sori_opcase *sori_opcase_embedding(sori_rng *r, int64_t n_ids, int vocab, int dim, sori_dtype t)
{
    sori_opcase *c = new_case(SORI_OP_EMBEDDING);
    CHECK(c);
    sori_embedding_desc *d = &c->desc.u.embedding;
    d->n_ids = n_ids;
    d->vocab = vocab;
    d->dim = dim;
    d->table_type = t;
    int32_t *ids = raw(c, (size_t)n_ids * 4);
    float *table = rnd(c, r, (int64_t)vocab * dim, 1.0f);
    float *out = raw(c, (size_t)(n_ids * dim) * sizeof(float));
    CHECK(ids && table && out);
    for (int64_t i = 0; i < n_ids; i++)
        ids[i] = sori_rng_int(r, 0, vocab - 1);
    d->ids = ids;
    d->out = out;
    if (t == SORI_F16) {
        uint16_t *h = raw(c, (size_t)vocab * dim * 2);
        CHECK(h);
        for (int64_t i = 0; i < (int64_t)vocab * dim; i++)
            h[i] = sori_f32_to_f16(table[i]);
        d->table = h;
    } else if (t == SORI_Q8_0) {
        uint8_t *q = raw(c, sori_dtype_bytes(SORI_Q8_0, (int64_t)vocab * dim));
        CHECK(q && dim % 32 == 0);
        sori_quantize_q8_0(table, (int64_t)vocab * dim, q);
        d->table = q;
    } else {
        d->table = table;
    }
    snprintf(c->label, sizeof c->label, "embedding ids=%lld vocab=%d dim=%d%s", (long long)n_ids,
             vocab, dim, t == SORI_F16 ? " f16" : t == SORI_Q8_0 ? " q8_0" : "");
    return c;
}

sori_opcase *sori_opcase_attention(sori_rng *r, int batch, int heads, int t_q, int t_k, int d_k,
                                   bool rel_pos, sori_att_context ctx, int left, int right,
                                   int chunk_size, bool ragged)
{
    sori_opcase *c = new_case(SORI_OP_ATTENTION);
    CHECK(c);
    sori_attention_desc *d = &c->desc.u.attention;
    int64_t hk = (int64_t)heads * d_k;
    *d = (sori_attention_desc){.batch = batch, .heads = heads, .t_q = t_q, .t_k = t_k,
                               .d_k = d_k, .d_v = d_k, .q_stride = hk, .k_stride = hk,
                               .v_stride = hk, .scale = 1.0f / sqrtf((float)d_k),
                               .context = ctx, .left = left, .right = right,
                               .chunk_size = chunk_size, .left_chunks = left};
    if (ctx == SORI_ATT_CHUNKED)
        d->left_chunks = left < 0 ? -1 : left / chunk_size;
    float *q = rnd(c, r, (int64_t)batch * t_q * hk, 1.0f), *k = rnd(c, r, (int64_t)batch * t_k * hk, 1.0f),
          *v = rnd(c, r, (int64_t)batch * t_k * hk, 1.0f);
    float *out = raw(c, (size_t)((int64_t)batch * t_q * hk) * sizeof(float));
    CHECK(q && k && v && out);
    d->q = q;
    d->k = k;
    d->v = v;
    d->out = out;
    if (rel_pos) {
        d->n_pos = 2 * t_k - 1;
        float *pos = rnd(c, r, (int64_t)d->n_pos * hk, 1.0f), *u = rnd(c, r, hk, 0.5f),
              *vb = rnd(c, r, hk, 0.5f);
        CHECK(pos && u && vb);
        d->pos = pos;
        d->pos_bias_u = u;
        d->pos_bias_v = vb;
    }
    if (ragged) {
        int32_t *ks = raw(c, (size_t)batch * 4), *ke = raw(c, (size_t)batch * 4),
                *ql = raw(c, (size_t)batch * 4);
        CHECK(ks && ke && ql);
        for (int b = 0; b < batch; b++) {
            ks[b] = b == 0 ? 0 : sori_rng_int(r, 0, t_k / 3);
            ke[b] = b == 0 ? t_k : sori_rng_int(r, ks[b], t_k);
            ql[b] = b == 0 ? t_q : sori_rng_int(r, 0, t_q);
        }
        d->kv_start = ks;
        d->kv_end = ke;
        d->q_len = ql;
    }
    static const char *ctx_names[] = {"full", "limited", "chunked"};
    snprintf(c->label, sizeof c->label,
             "attention b=%d h=%d tq=%d tk=%d dk=%d%s ctx=%s(%d,%d,%d)%s", batch, heads, t_q, t_k,
             d_k, rel_pos ? " relpos" : "", ctx_names[ctx], left, right, chunk_size,
             ragged ? " ragged" : "");
    return c;
}

sori_opcase *sori_opcase_lstm(sori_rng *r, int batch, int n_in, int hidden)
{
    sori_opcase *c = new_case(SORI_OP_LSTM_STEP);
    CHECK(c);
    sori_lstm_desc *d = &c->desc.u.lstm;
    d->batch = batch;
    d->n_in = n_in;
    d->hidden = hidden;
    int64_t B = batch, H = hidden;
    float ws = 1.0f / sqrtf((float)hidden);
    float *x = rnd(c, r, B * n_in, 1.0f), *h = rnd(c, r, B * H, 1.0f), *cc = rnd(c, r, B * H, 1.0f),
          *wih = rnd(c, r, 4 * H * n_in, ws), *whh = rnd(c, r, 4 * H * H, ws),
          *bih = rnd(c, r, 4 * H, ws), *bhh = rnd(c, r, 4 * H, ws);
    float *ho = raw(c, (size_t)(B * H) * 4), *co = raw(c, (size_t)(B * H) * 4),
          *g = raw(c, (size_t)(B * 4 * H) * 4);
    CHECK(x && h && cc && wih && whh && bih && bhh && ho && co && g);
    *d = (sori_lstm_desc){.batch = batch, .n_in = n_in, .hidden = hidden, .x = x, .h_in = h,
                          .c_in = cc, .w_ih = wih, .w_hh = whh, .b_ih = bih, .b_hh = bhh,
                          .h_out = ho, .c_out = co, .gates = g};
    snprintf(c->label, sizeof c->label, "lstm_step b=%d in=%d hidden=%d", batch, n_in, hidden);
    return c;
}

sori_opcase *sori_opcase_logmel(sori_rng *r, int64_t n_frames, int frame_len, int fft_size,
                                int n_mels, bool kaldi, int energy_col)
{
    sori_opcase *c = new_case(SORI_OP_LOGMEL);
    CHECK(c);
    sori_logmel_desc *d = &c->desc.u.logmel;
    int mel_bins = kaldi ? fft_size / 2 : fft_size / 2 + 1;
    int dim = n_mels + (energy_col >= 0);
    *d = (sori_logmel_desc){.n_frames = n_frames, .frame_len = frame_len, .fft_size = fft_size,
                            .mel_bins = mel_bins, .n_mels = n_mels, .kaldi = kaldi,
                            .remove_dc = kaldi, .preemph = kaldi ? 0.97f : 0.0f,
                            .mag_power = 2.0f, .log_floor = kaldi ? 1.1920929e-07f : 5.96e-08f,
                            .energy_col = energy_col};
    float *frames = rnd(c, r, n_frames * frame_len, kaldi ? 3000.0f : 0.1f);
    float *win = rnd(c, r, frame_len, 1.0f), *mel = rnd(c, r, (int64_t)n_mels * mel_bins, 1.0f);
    float *out = raw(c, (size_t)(n_frames * dim) * sizeof(float));
    CHECK(frames && win && mel && out);
    for (int i = 0; i < frame_len; i++)
        win[i] = 0.5f + 0.5f * win[i]; /* [0, 1) */
    for (int64_t i = 0; i < (int64_t)n_mels * mel_bins; i++)
        mel[i] = mel[i] > 0.5f ? mel[i] : 0.0f; /* sparse, non-negative */
    d->frames = frames;
    d->window = win;
    d->mel = mel;
    d->out = out;
    snprintf(c->label, sizeof c->label, "logmel frames=%lld len=%d fft=%d mels=%d %s energy=%d",
             (long long)n_frames, frame_len, fft_size, n_mels, kaldi ? "kaldi" : "nemo", energy_col);
    return c;
}

sori_opcase *sori_opcase_row_mask(sori_rng *r, int64_t rows, int dim)
{
    sori_opcase *c = new_case(SORI_OP_BINARY);
    CHECK(c);
    sori_binary_desc *d = &c->desc.u.binary;
    float *a = rnd(c, r, rows * dim, 2.0f), *m = rnd(c, r, rows, 1.0f);
    float *y = raw(c, (size_t)(rows * dim) * sizeof(float));
    CHECK(a && m && y);
    for (int64_t i = 0; i < rows; i++)
        m[i] = m[i] > 0.0f ? 1.0f : 0.0f;
    *d = (sori_binary_desc){.kind = SORI_BIN_MUL, .n_rows = rows, .dim = dim, .a = a, .b = m, .y = y,
                            .b_per_row = true};
    snprintf(c->label, sizeof c->label, "row mask rows=%lld dim=%d", (long long)rows, dim);
    return c;
}
