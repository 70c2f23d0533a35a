/* Validation of op descriptors, done once before any backend sees them:
 * backends assume what is checked here. */
#include "kernels.h"
#include "quant.h"

#define BAD(...) return sori_fail(err, SORI_ERR_INVALID_ARG, 0, __VA_ARGS__)
#define NEED(ptr, what)                                                                            \
    do {                                                                                           \
        if (!(ptr))                                                                                \
            BAD("%s: %s is NULL", name, what);                                                     \
    } while (0)
#define POS(v, what)                                                                               \
    do {                                                                                           \
        if ((v) <= 0)                                                                              \
            BAD("%s: %s = %lld must be > 0", name, what, (long long)(v));                          \
    } while (0)
#define NONNEG(v, what)                                                                            \
    do {                                                                                           \
        if ((v) < 0)                                                                               \
            BAD("%s: %s = %lld must be >= 0", name, what, (long long)(v));                         \
    } while (0)

static int act_ok(sori_act a)
{
    return (unsigned)a < SORI_ACT_COUNT_;
}

static sori_status v_matmul(const sori_matmul_desc *d, const char *name, sori_error *err)
{
    POS(d->batch, "batch");
    POS(d->m, "m");
    POS(d->n, "n");
    POS(d->k, "k");
    NEED(d->a, "a");
    NEED(d->b, "b");
    NEED(d->c, "c");
    if (d->b_type == SORI_I32 || d->b_type == SORI_U8 || sori_dtype_bytes(d->b_type, 1 << 20) == 0)
        BAD("%s: b_type must be f32, f16, bf16, f32_p16 or a GGUF block type (q4_0 q8_0 q4_K q5_K q6_K)", name);
    if (d->b_type == SORI_F32_P16 && (!d->trans_b || d->trans_a || d->ldb != d->k || d->n % 16 ||
                                      d->stride_b % (16 * (int64_t)d->k)))
        BAD("%s: f32_p16 weights need trans_b, no trans_a, ldb = k, n and stride_b in whole panels of 16 rows",
            name);
    const int blk = sori_dtype_block(d->b_type);
    if ((blk > 1 || d->b_type == SORI_BF16) && (!d->trans_b || d->k % blk || d->ldb % blk || d->stride_b % blk))
        BAD("%s: %s weights need trans_b and k, ldb, stride_b multiples of %d", name,
            sori_dtype_name(d->b_type), blk);
    if (d->lda < (d->trans_a ? d->m : d->k))
        BAD("%s: lda %lld too small", name, (long long)d->lda);
    if (d->ldb < (d->trans_b ? d->k : d->n))
        BAD("%s: ldb %lld too small", name, (long long)d->ldb);
    if (d->ldc < d->n)
        BAD("%s: ldc %lld < n %d", name, (long long)d->ldc, d->n);
    NONNEG(d->stride_a, "stride_a");
    NONNEG(d->stride_b, "stride_b");
    if (d->batch > 1 && d->stride_c < (int64_t)d->ldc * d->m)
        BAD("%s: stride_c %lld lets batch outputs overlap", name, (long long)d->stride_c);
    if (!act_ok(d->act))
        BAD("%s: unknown activation %d", name, (int)d->act);
    return SORI_OK;
}

static sori_status v_conv1d(const sori_conv1d_desc *d, const char *name, sori_error *err)
{
    POS(d->batch, "batch");
    POS(d->t_in, "t_in");
    POS(d->c_in, "c_in");
    POS(d->c_out, "c_out");
    POS(d->kernel, "kernel");
    POS(d->stride, "stride");
    NONNEG(d->pad_left, "pad_left");
    NONNEG(d->pad_right, "pad_right");
    NEED(d->x, "x");
    NEED(d->w, "w");
    NEED(d->y, "y");
    if (d->groups != 1 && !(d->groups == d->c_in && d->c_out == d->c_in))
        BAD("%s: groups %d: only 1 or depthwise (groups == c_in == c_out) are supported", name,
            d->groups);
    if (d->pad_left >= d->kernel || d->pad_right >= d->kernel)
        BAD("%s: padding %d/%d must be smaller than the kernel %d", name, d->pad_left,
            d->pad_right, d->kernel);
    if (d->t_in + d->pad_left + d->pad_right < d->kernel)
        BAD("%s: t_in %d too short for kernel %d", name, d->t_in, d->kernel);
    if (!act_ok(d->act))
        BAD("%s: unknown activation %d", name, (int)d->act);
    return SORI_OK;
}

static sori_status v_conv2d(const sori_conv2d_desc *d, const char *name, sori_error *err)
{
    POS(d->batch, "batch");
    POS(d->c_in, "c_in");
    POS(d->h, "h");
    POS(d->w, "w");
    POS(d->c_out, "c_out");
    POS(d->kh, "kh");
    POS(d->kw, "kw");
    POS(d->stride_h, "stride_h");
    POS(d->stride_w, "stride_w");
    NONNEG(d->pad_top, "pad_top");
    NONNEG(d->pad_bottom, "pad_bottom");
    NONNEG(d->pad_left, "pad_left");
    NONNEG(d->pad_right, "pad_right");
    NEED(d->x, "x");
    NEED(d->wt, "wt");
    NEED(d->y, "y");
    if (d->wt_type != SORI_F32 && !(d->wt_type == SORI_F32_P16 && d->groups == 1 && d->c_out % 16 == 0))
        BAD("%s: wt_type must be f32, or f32_p16 with groups 1 and c_out a multiple of 16", name);
    if (d->groups != 1 && !(d->groups == d->c_in && d->c_out == d->c_in))
        BAD("%s: groups %d: only 1 or depthwise (groups == c_in == c_out) are supported", name,
            d->groups);
    if (d->pad_top >= d->kh || d->pad_bottom >= d->kh || d->pad_left >= d->kw ||
        d->pad_right >= d->kw)
        BAD("%s: padding must be smaller than the kernel", name);
    if (d->h + d->pad_top + d->pad_bottom < d->kh || d->w + d->pad_left + d->pad_right < d->kw)
        BAD("%s: input %dx%d smaller than kernel %dx%d", name, d->h, d->w, d->kh, d->kw);
    if (!act_ok(d->act))
        BAD("%s: unknown activation %d", name, (int)d->act);
    return SORI_OK;
}

static sori_status v_attention(const sori_attention_desc *d, const char *name, sori_error *err)
{
    POS(d->batch, "batch");
    POS(d->heads, "heads");
    POS(d->t_q, "t_q");
    POS(d->t_k, "t_k");
    POS(d->d_k, "d_k");
    POS(d->d_v, "d_v");
    NEED(d->q, "q");
    NEED(d->k, "k");
    NEED(d->v, "v");
    NEED(d->out, "out");
    if (d->t_q > d->t_k)
        BAD("%s: t_q %d > t_k %d (queries are the last t_q key positions)", name, d->t_q, d->t_k);
    if (d->q_stride < (int64_t)d->heads * d->d_k || d->k_stride < (int64_t)d->heads * d->d_k ||
        d->v_stride < (int64_t)d->heads * d->d_v)
        BAD("%s: a row stride is smaller than heads * head size", name);
    if (d->pos) {
        NEED(d->pos_bias_u, "pos_bias_u");
        NEED(d->pos_bias_v, "pos_bias_v");
        if (d->n_pos % 2 != 1 || d->n_pos < 2 * d->t_k - 1)
            BAD("%s: n_pos %d must be odd and >= 2*t_k-1 = %d", name, d->n_pos, 2 * d->t_k - 1);
    }
    switch (d->context) {
    case SORI_ATT_FULL:
    case SORI_ATT_LIMITED: break;
    case SORI_ATT_CHUNKED:
        POS(d->chunk_size, "chunk_size");
        break;
    default: BAD("%s: unknown context mode %d", name, (int)d->context);
    }
    for (int b = 0; b < d->batch; b++) {
        int ks = d->kv_start ? d->kv_start[b] : 0;
        int ke = d->kv_end ? d->kv_end[b] : d->t_k;
        int ql = d->q_len ? d->q_len[b] : d->t_q;
        if (ks < 0 || ke > d->t_k || ks > ke)
            BAD("%s: key range [%d, %d) of batch %d not within [0, %d)", name, ks, ke, b, d->t_k);
        if (ql < 0 || ql > d->t_q)
            BAD("%s: q_len %d of batch %d not in 0..%d", name, ql, b, d->t_q);
    }
    return SORI_OK;
}

sori_status sori_op_validate(const sori_op_desc *op, sori_error *err)
{
    const char *name = sori_op_name(op->op);
    switch (op->op) {
    case SORI_OP_MATMUL: return v_matmul(&op->u.matmul, name, err);
    case SORI_OP_CONV1D: return v_conv1d(&op->u.conv1d, name, err);
    case SORI_OP_CONV2D: return v_conv2d(&op->u.conv2d, name, err);
    case SORI_OP_LAYER_NORM: {
        const sori_layer_norm_desc *d = &op->u.layer_norm;
        NONNEG(d->n_rows, "n_rows");
        POS(d->dim, "dim");
        NEED(d->x, "x");
        NEED(d->y, "y");
        if (!(d->eps >= 0.0f))
            BAD("%s: eps must be >= 0", name);
        return SORI_OK;
    }
    case SORI_OP_BATCH_NORM: {
        const sori_batch_norm_desc *d = &op->u.batch_norm;
        NONNEG(d->n_rows, "n_rows");
        POS(d->channels, "channels");
        NEED(d->x, "x");
        NEED(d->y, "y");
        NEED(d->mean, "mean");
        NEED(d->var, "var");
        if (!(d->eps >= 0.0f))
            BAD("%s: eps must be >= 0", name);
        if (!act_ok(d->act))
            BAD("%s: unknown activation %d", name, (int)d->act);
        return SORI_OK;
    }
    case SORI_OP_SOFTMAX: {
        const sori_softmax_desc *d = &op->u.softmax;
        NONNEG(d->n_rows, "n_rows");
        POS(d->dim, "dim");
        NEED(d->x, "x");
        NEED(d->y, "y");
        return SORI_OK;
    }
    case SORI_OP_UNARY: {
        const sori_unary_desc *d = &op->u.unary;
        NONNEG(d->n, "n");
        NEED(d->x, "x");
        NEED(d->y, "y");
        if (!act_ok(d->act))
            BAD("%s: unknown activation %d", name, (int)d->act);
        return SORI_OK;
    }
    case SORI_OP_GLU: {
        const sori_glu_desc *d = &op->u.glu;
        NONNEG(d->n_rows, "n_rows");
        POS(d->dim, "dim");
        NEED(d->x, "x");
        NEED(d->y, "y");
        if (d->x == d->y)
            BAD("%s: y must not alias x", name);
        return SORI_OK;
    }
    case SORI_OP_BINARY: {
        const sori_binary_desc *d = &op->u.binary;
        NONNEG(d->n_rows, "n_rows");
        POS(d->dim, "dim");
        NEED(d->a, "a");
        NEED(d->b, "b");
        NEED(d->y, "y");
        if (d->kind != SORI_BIN_ADD && d->kind != SORI_BIN_MUL)
            BAD("%s: unknown kind %d", name, (int)d->kind);
        if (d->b_row_broadcast && d->b_per_row)
            BAD("%s: b_row_broadcast and b_per_row are exclusive", name);
        return SORI_OK;
    }
    case SORI_OP_EMBEDDING: {
        const sori_embedding_desc *d = &op->u.embedding;
        NONNEG(d->n_ids, "n_ids");
        POS(d->vocab, "vocab");
        POS(d->dim, "dim");
        NEED(d->ids, "ids");
        NEED(d->table, "table");
        NEED(d->out, "out");
        if (d->table_type == SORI_I32 || d->table_type == SORI_U8 || d->table_type == SORI_F32_P16 ||
            sori_dtype_bytes(d->table_type, 1 << 20) == 0)
            BAD("%s: table_type must be f32, f16, bf16 or a GGUF block type", name);
        if (d->dim % sori_dtype_block(d->table_type))
            BAD("%s: a %s table needs dim a multiple of %d", name, sori_dtype_name(d->table_type),
                sori_dtype_block(d->table_type));
        return SORI_OK;
    }
    case SORI_OP_ATTENTION: return v_attention(&op->u.attention, name, err);
    case SORI_OP_LSTM_STEP: {
        const sori_lstm_desc *d = &op->u.lstm;
        POS(d->batch, "batch");
        POS(d->n_in, "n_in");
        POS(d->hidden, "hidden");
        NEED(d->x, "x");
        NEED(d->h_in, "h_in");
        NEED(d->c_in, "c_in");
        NEED(d->w_ih, "w_ih");
        NEED(d->w_hh, "w_hh");
        NEED(d->h_out, "h_out");
        NEED(d->c_out, "c_out");
        NEED(d->gates, "gates");
        if (d->h_out == d->h_in || d->c_out == d->c_in)
            BAD("%s: outputs must not alias inputs", name);
        return SORI_OK;
    }
    case SORI_OP_LOGMEL: {
        const sori_logmel_desc *d = &op->u.logmel;
        NONNEG(d->n_frames, "n_frames");
        POS(d->frame_len, "frame_len");
        POS(d->n_mels, "n_mels");
        POS(d->mel_bins, "mel_bins");
        NEED(d->frames, "frames");
        NEED(d->window, "window");
        NEED(d->mel, "mel");
        NEED(d->out, "out");
        if (d->fft_size < 2 || d->fft_size % 2 || d->frame_len > d->fft_size)
            BAD("%s: fft_size %d must be even and >= frame_len %d", name, d->fft_size, d->frame_len);
        if (d->mel_bins > d->fft_size / 2 + 1)
            BAD("%s: mel_bins %d > fft_size/2 + 1", name, d->mel_bins);
        if (d->energy_col < -1 || d->energy_col > d->n_mels || (d->energy_col >= 0 && !d->kaldi))
            BAD("%s: energy_col %d (Kaldi style only, 0..n_mels)", name, d->energy_col);
        if (!(d->log_floor > 0.0f) || !(d->mag_power > 0.0f))
            BAD("%s: log_floor and mag_power must be > 0", name);
        return SORI_OK;
    }
    default: break;
    }
    return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "unknown op %d", (int)op->op);
}
