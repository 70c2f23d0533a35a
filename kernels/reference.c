/* Naive double-precision reference implementations of every op, on host
 * memory, written straight from each descriptor's definition in backend.h.
 * They are slow on purpose (no blocking, no reuse) so that they are easy to
 * check by eye; the tests and `sori check` compare the backends with them. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

#include "kernels.h"
#include "quant.h"
#include "reference.h"

static double act_d(sori_act a, double x)
{
    switch (a) {
    case SORI_ACT_RELU: return x > 0 ? x : 0;
    case SORI_ACT_SILU: return x / (1 + exp(-x));
    case SORI_ACT_TANH: return tanh(x);
    case SORI_ACT_SIGMOID: return 1 / (1 + exp(-x));
    case SORI_ACT_GELU: return 0.5 * x * (1 + erf(x * 0.70710678118654752));
    default: return x;
    }
}

static double sig_d(double x)
{
    return 1 / (1 + exp(-x));
}

/* Element idx of a Q8_0 array. */
static double q8_at(const void *base, int64_t idx)
{
    const uint8_t *p = (const uint8_t *)base + (idx / 32) * 34;
    uint16_t hs;
    memcpy(&hs, p, 2);
    return (double)sori_f16_to_f32(hs) * (double)(int8_t)p[2 + idx % 32];
}

/* Element idx of an array of a block type (or bf16): its block dequantized
 * (kernels/quant.c, checked against llama.cpp's gguf-py by test_quant). */
static double block_at(sori_dtype t, const void *base, int64_t idx)
{
    const int blk = sori_dtype_block(t);
    float v[SORI_QK];
    sori_dequantize_row(t, (const uint8_t *)base + sori_dtype_bytes(t, idx / blk * blk), v, blk);
    return v[idx % blk];
}

static double b_at(const sori_matmul_desc *d, int b, int64_t idx)
{
    if (d->b_type == SORI_Q8_0)
        return q8_at(d->b, (int64_t)b * d->stride_b + idx);
    if (sori_dtype_is_quant(d->b_type) || d->b_type == SORI_BF16)
        return block_at(d->b_type, d->b, (int64_t)b * d->stride_b + idx);
    if (d->b_type == SORI_F32_P16) { /* row r, column c of the [N, K] weight: panel r / 16, lane r % 16 */
        int64_t r = idx / d->k, c = idx % d->k;
        return ((const float *)d->b)[(int64_t)b * d->stride_b + (r / 16) * 16 * d->k + c * 16 + r % 16];
    }
    if (d->b_type == SORI_F16)
        return sori_f16_to_f32(((const uint16_t *)d->b)[(int64_t)b * d->stride_b + idx]);
    return ((const float *)d->b)[(int64_t)b * d->stride_b + idx];
}

static void ref_matmul(const sori_matmul_desc *d)
{
    for (int b = 0; b < d->batch; b++)
        for (int i = 0; i < d->m; i++)
            for (int j = 0; j < d->n; j++) {
                double acc = 0;
                for (int p = 0; p < d->k; p++) {
                    double a = d->trans_a ? d->a[(int64_t)b * d->stride_a + (int64_t)p * d->lda + i]
                                          : d->a[(int64_t)b * d->stride_a + (int64_t)i * d->lda + p];
                    double bv = d->trans_b ? b_at(d, b, (int64_t)j * d->ldb + p)
                                           : b_at(d, b, (int64_t)p * d->ldb + j);
                    acc += a * bv;
                }
                float *c = &d->c[(int64_t)b * d->stride_c + (int64_t)i * d->ldc + j];
                double v = d->alpha * acc + (d->beta != 0.0f ? d->beta * (double)*c : 0.0) +
                           (d->bias ? d->bias[j] : 0.0);
                *c = (float)act_d(d->act, v);
            }
}

static void ref_conv1d(const sori_conv1d_desc *d)
{
    int t_out = (d->t_in + d->pad_left + d->pad_right - d->kernel) / d->stride + 1;
    int cpg = d->c_in / d->groups; /* input channels per group */
    int opg = d->c_out / d->groups;
    for (int b = 0; b < d->batch; b++)
        for (int t = 0; t < t_out; t++)
            for (int o = 0; o < d->c_out; o++) {
                int g = o / opg;
                double acc = d->bias ? d->bias[o] : 0;
                for (int ci = 0; ci < cpg; ci++)
                    for (int k = 0; k < d->kernel; k++) {
                        int ti = t * d->stride + k - d->pad_left;
                        if (ti < 0 || ti >= d->t_in)
                            continue;
                        acc += (double)d->w[((int64_t)o * cpg + ci) * d->kernel + k] *
                               d->x[((int64_t)b * d->t_in + ti) * d->c_in + g * cpg + ci];
                    }
                d->y[((int64_t)b * t_out + t) * d->c_out + o] = (float)act_d(d->act, acc);
            }
}

static void ref_conv2d(const sori_conv2d_desc *d)
{
    int ho = (d->h + d->pad_top + d->pad_bottom - d->kh) / d->stride_h + 1;
    int wo = (d->w + d->pad_left + d->pad_right - d->kw) / d->stride_w + 1;
    int cpg = d->c_in / d->groups, opg = d->c_out / d->groups;
    for (int b = 0; b < d->batch; b++)
        for (int o = 0; o < d->c_out; o++)
            for (int y = 0; y < ho; y++)
                for (int x = 0; x < wo; x++) {
                    int g = o / opg;
                    double acc = d->bias ? d->bias[o] : 0;
                    for (int ci = 0; ci < cpg; ci++)
                        for (int i = 0; i < d->kh; i++)
                            for (int j = 0; j < d->kw; j++) {
                                int ih = y * d->stride_h + i - d->pad_top;
                                int iw = x * d->stride_w + j - d->pad_left;
                                if (ih < 0 || ih >= d->h || iw < 0 || iw >= d->w)
                                    continue;
                                const int64_t ck = ((int64_t)ci * d->kh + i) * d->kw + j, K = (int64_t)cpg * d->kh * d->kw;
                                const float wv = d->wt_type == SORI_F32_P16 ? d->wt[(o / 16) * 16 * K + ck * 16 + o % 16]
                                                                            : d->wt[(int64_t)o * K + ck];
                                acc += (double)wv *
                                       d->x[(((int64_t)b * d->c_in + g * cpg + ci) * d->h + ih) * d->w + iw];
                            }
                    if (d->wt_type == SORI_F32_P16) /* rows of channels */
                        d->y[(((int64_t)b * ho + y) * wo + x) * d->c_out + o] = (float)act_d(d->act, acc);
                    else
                        d->y[(((int64_t)b * d->c_out + o) * ho + y) * wo + x] = (float)act_d(d->act, acc);
                }
}

int sori_ref_att_masked(const sori_attention_desc *d, int b, int i, int j)
{
    if (d->q_len && i >= d->q_len[b])
        return 1;
    int ks = d->kv_start ? d->kv_start[b] : 0;
    int ke = d->kv_end ? d->kv_end[b] : d->t_k;
    if (j < ks || j >= ke)
        return 1;
    int qp = i + d->t_k - d->t_q;
    if (d->context == SORI_ATT_LIMITED) {
        int rel = j - qp;
        if (d->left >= 0 && rel < -d->left)
            return 1;
        if (d->right >= 0 && rel > d->right)
            return 1;
    } else if (d->context == SORI_ATT_CHUNKED) {
        /* floor division: positions are non-negative here */
        int dc = qp / d->chunk_size - j / d->chunk_size;
        if (dc < 0 || (d->left_chunks >= 0 && dc > d->left_chunks))
            return 1;
    }
    return 0;
}

static void ref_attention(const sori_attention_desc *d, double *scores /* t_k */)
{
    int H = d->heads, dk = d->d_k, dv = d->d_v;
    int center = (d->n_pos - 1) / 2, q_off = d->t_k - d->t_q;
    for (int b = 0; b < d->batch; b++)
        for (int h = 0; h < H; h++)
            for (int i = 0; i < d->t_q; i++) {
                const float *q = d->q + ((int64_t)b * d->t_q + i) * d->q_stride + (int64_t)h * dk;
                double mx = -INFINITY;
                for (int j = 0; j < d->t_k; j++) {
                    if (sori_ref_att_masked(d, b, i, j)) {
                        scores[j] = -INFINITY;
                        continue;
                    }
                    const float *k = d->k + ((int64_t)b * d->t_k + j) * d->k_stride + (int64_t)h * dk;
                    double s = 0;
                    if (d->pos) {
                        int p = center - ((i + q_off) - j);
                        const float *pr = d->pos + (int64_t)p * H * dk + (int64_t)h * dk;
                        for (int c = 0; c < dk; c++) {
                            s += ((double)q[c] + d->pos_bias_u[h * dk + c]) * k[c];
                            s += ((double)q[c] + d->pos_bias_v[h * dk + c]) * pr[c];
                        }
                    } else {
                        for (int c = 0; c < dk; c++)
                            s += (double)q[c] * k[c];
                    }
                    s *= d->scale;
                    scores[j] = s;
                    if (s > mx)
                        mx = s;
                }
                float *out = d->out + ((int64_t)b * d->t_q + i) * H * dv + (int64_t)h * dv;
                if (mx == -INFINITY) {
                    memset(out, 0, (size_t)dv * sizeof(float));
                    continue;
                }
                double sum = 0;
                for (int j = 0; j < d->t_k; j++) {
                    scores[j] = scores[j] == -INFINITY ? 0 : exp(scores[j] - mx);
                    sum += scores[j];
                }
                for (int c = 0; c < dv; c++) {
                    double acc = 0;
                    for (int j = 0; j < d->t_k; j++)
                        if (scores[j] != 0)
                            acc += scores[j] *
                                   d->v[((int64_t)b * d->t_k + j) * d->v_stride + (int64_t)h * dv + c];
                    out[c] = (float)(acc / sum);
                }
            }
}

static void ref_lstm(const sori_lstm_desc *d)
{
    int H = d->hidden;
    for (int b = 0; b < d->batch; b++) {
        for (int j = 0; j < H; j++) {
            double g[4];
            for (int q = 0; q < 4; q++) {
                int row = q * H + j;
                double acc = (d->b_ih ? d->b_ih[row] : 0) + (d->b_hh ? d->b_hh[row] : 0);
                for (int i = 0; i < d->n_in; i++)
                    acc += (double)d->w_ih[(int64_t)row * d->n_in + i] * d->x[(int64_t)b * d->n_in + i];
                for (int i = 0; i < H; i++)
                    acc += (double)d->w_hh[(int64_t)row * H + i] * d->h_in[(int64_t)b * H + i];
                g[q] = acc;
            }
            double c = sig_d(g[1]) * d->c_in[(int64_t)b * H + j] + sig_d(g[0]) * tanh(g[2]);
            d->c_out[(int64_t)b * H + j] = (float)c;
            d->h_out[(int64_t)b * H + j] = (float)(sig_d(g[3]) * tanh(c));
        }
    }
}

/* Naive DFT per frame, in double. */
static sori_status ref_logmel(const sori_logmel_desc *d, sori_error *err)
{
    const int N = d->fft_size, nb = N / 2 + 1;
    double *x = malloc((size_t)N * sizeof(double)), *pw = malloc((size_t)nb * sizeof(double));
    if (!x || !pw) {
        free(x);
        free(pw);
        return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "reference logmel: out of memory");
    }
    const int dim = d->n_mels + (d->energy_col >= 0);
    for (int64_t f = 0; f < d->n_frames; f++) {
        const float *in = d->frames + f * d->frame_len;
        for (int i = 0; i < N; i++)
            x[i] = i < d->frame_len ? in[i] : 0.0;
        double energy = 0;
        if (d->kaldi) {
            if (d->remove_dc) {
                double mean = 0;
                for (int i = 0; i < d->frame_len; i++)
                    mean += x[i];
                mean /= d->frame_len;
                for (int i = 0; i < d->frame_len; i++)
                    x[i] -= mean;
            }
            for (int i = 0; i < d->frame_len; i++)
                energy += x[i] * x[i];
            for (int i = d->frame_len - 1; i > 0; i--)
                x[i] -= d->preemph * x[i - 1];
            x[0] -= d->preemph * x[0];
        }
        for (int i = 0; i < d->frame_len; i++)
            x[i] *= d->window[i];
        for (int k = 0; k < nb; k++) {
            double re = 0, im = 0;
            for (int i = 0; i < N; i++) {
                double a = -2.0 * M_PI * (double)k * i / N;
                re += x[i] * cos(a);
                im += x[i] * sin(a);
            }
            double p2 = re * re + im * im;
            pw[k] = d->mag_power == 2.0f ? p2 : pow(sqrt(p2), d->mag_power);
        }
        float *o = d->out + f * dim;
        int col = 0;
        for (int m = 0; m < d->n_mels; m++) {
            if (col == d->energy_col)
                col++;
            double e = 0;
            for (int k = 0; k < d->mel_bins; k++)
                e += (double)d->mel[(int64_t)m * d->mel_bins + k] * pw[k];
            o[col++] = (float)(d->kaldi ? log(e > d->log_floor ? e : d->log_floor) : log(e + d->log_floor));
        }
        if (d->energy_col >= 0)
            o[d->energy_col] = (float)log(energy > d->log_floor ? energy : d->log_floor);
    }
    free(x);
    free(pw);
    return SORI_OK;
}

sori_status sori_ref_run(const sori_op_desc *op, double *scratch, sori_error *err)
{
    sori_status st = sori_op_validate(op, err);
    if (st != SORI_OK)
        return st;
    switch (op->op) {
    case SORI_OP_MATMUL: ref_matmul(&op->u.matmul); break;
    case SORI_OP_CONV1D: ref_conv1d(&op->u.conv1d); break;
    case SORI_OP_CONV2D: ref_conv2d(&op->u.conv2d); break;
    case SORI_OP_LAYER_NORM: {
        const sori_layer_norm_desc *d = &op->u.layer_norm;
        for (int64_t r = 0; r < d->n_rows; r++) {
            const float *x = d->x + r * d->dim;
            double mean = 0, var = 0;
            for (int i = 0; i < d->dim; i++)
                mean += x[i];
            mean /= d->dim;
            for (int i = 0; i < d->dim; i++)
                var += (x[i] - mean) * (x[i] - mean);
            var /= d->dim;
            double inv = 1 / sqrt(var + d->eps);
            for (int i = 0; i < d->dim; i++)
                d->y[r * d->dim + i] = (float)((x[i] - mean) * inv * (d->gamma ? d->gamma[i] : 1) +
                                               (d->beta ? d->beta[i] : 0));
        }
        break;
    }
    case SORI_OP_BATCH_NORM: {
        const sori_batch_norm_desc *d = &op->u.batch_norm;
        for (int64_t r = 0; r < d->n_rows; r++)
            for (int c = 0; c < d->channels; c++) {
                double v = ((double)d->x[r * d->channels + c] - d->mean[c]) /
                               sqrt((double)d->var[c] + d->eps) * (d->gamma ? d->gamma[c] : 1) +
                           (d->beta ? d->beta[c] : 0);
                d->y[r * d->channels + c] = (float)act_d(d->act, v);
            }
        break;
    }
    case SORI_OP_SOFTMAX: {
        const sori_softmax_desc *d = &op->u.softmax;
        for (int64_t r = 0; r < d->n_rows; r++) {
            const float *x = d->x + r * d->dim;
            const uint8_t *m = d->mask ? d->mask + r * d->dim : NULL;
            float *y = d->y + r * d->dim;
            double mx = -INFINITY, sum = 0;
            for (int i = 0; i < d->dim; i++)
                if (!(m && m[i]) && x[i] > mx)
                    mx = x[i];
            if (mx == -INFINITY) {
                memset(y, 0, (size_t)d->dim * sizeof(float));
                continue;
            }
            for (int i = 0; i < d->dim; i++)
                if (!(m && m[i]))
                    sum += exp(x[i] - mx);
            for (int i = 0; i < d->dim; i++) {
                if (m && m[i])
                    y[i] = d->log ? -INFINITY : 0.0f;
                else
                    y[i] = (float)(d->log ? x[i] - mx - log(sum) : exp(x[i] - mx) / sum);
            }
        }
        break;
    }
    case SORI_OP_UNARY: {
        const sori_unary_desc *d = &op->u.unary;
        for (int64_t i = 0; i < d->n; i++)
            d->y[i] = (float)act_d(d->act, (double)d->x[i] * d->scale);
        break;
    }
    case SORI_OP_GLU: {
        const sori_glu_desc *d = &op->u.glu;
        for (int64_t r = 0; r < d->n_rows; r++)
            for (int i = 0; i < d->dim; i++)
                d->y[r * d->dim + i] = (float)(d->x[r * 2 * d->dim + i] *
                                               sig_d(d->x[r * 2 * d->dim + d->dim + i]));
        break;
    }
    case SORI_OP_BINARY: {
        const sori_binary_desc *d = &op->u.binary;
        for (int64_t r = 0; r < d->n_rows; r++)
            for (int i = 0; i < d->dim; i++) {
                double a = d->a[r * d->dim + i];
                double b = d->b_per_row ? d->b[r] : d->b_row_broadcast ? d->b[i] : d->b[r * d->dim + i];
                d->y[r * d->dim + i] = (float)(d->kind == SORI_BIN_ADD ? a + d->beta * b : a * b);
            }
        break;
    }
    case SORI_OP_EMBEDDING: {
        const sori_embedding_desc *d = &op->u.embedding;
        for (int64_t i = 0; i < d->n_ids; i++) {
            int id = d->ids[i];
            for (int c = 0; c < d->dim; c++) {
                float v = 0.0f;
                if (id >= 0 && id < d->vocab)
                    v = d->table_type == SORI_Q8_0 ? (float)q8_at(d->table, (int64_t)id * d->dim + c)
                        : sori_dtype_is_quant(d->table_type) || d->table_type == SORI_BF16
                            ? (float)block_at(d->table_type, d->table, (int64_t)id * d->dim + c)
                        : d->table_type == SORI_F16
                            ? sori_f16_to_f32(((const uint16_t *)d->table)[(int64_t)id * d->dim + c])
                            : ((const float *)d->table)[(int64_t)id * d->dim + c];
                d->out[i * d->dim + c] = v;
            }
        }
        break;
    }
    case SORI_OP_ATTENTION:
        if (!scratch)
            return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "reference attention needs scratch");
        ref_attention(&op->u.attention, scratch);
        break;
    case SORI_OP_LSTM_STEP: ref_lstm(&op->u.lstm); break;
    case SORI_OP_LOGMEL: return ref_logmel(&op->u.logmel, err);
    default: return sori_fail(err, SORI_ERR_UNSUPPORTED, 0, "reference: unknown op");
    }
    return SORI_OK;
}

void sori_compare(const float *out, const float *ref, int64_t n, double *rel_l2, double *max_abs)
{
    double num = 0, den = 0, mx = 0;
    for (int64_t i = 0; i < n; i++) {
        double a = out[i], r = ref[i];
        if (isinf(r) && a == r) /* masked log-softmax entries */
            continue;
        double diff = a - r;
        if (isnan(diff) || isinf(diff)) {
            mx = INFINITY;
            num = INFINITY;
            continue;
        }
        num += diff * diff;
        den += r * r;
        if (fabs(diff) > mx)
            mx = fabs(diff);
    }
    *rel_l2 = den > 0 ? sqrt(num / den) : sqrt(num);
    *max_abs = mx;
}
