/* The TTS networks' CPU building blocks: see nn.h. */
#include "nn.h"

#include <math.h>
#include <string.h>

#include "kernels/cpu/blas.h"

/* ---- convolution ---------------------------------------------------------------- */

int64_t nn_conv_scratch(const nn_conv *c)
{
    if (c->groups != 1)
        return 0;
    return (int64_t)c->c_in * c->k * NN_BLOCK;
}

typedef struct {
    const nn_ctx *ctx;
    const nn_conv *c;
    const float *x;
    float *y;
    int64_t t_len;
    int n_parts;
} conv_job;

static void fill_bias(float *y, const float *b, int c, int64_t t_len, int64_t t0, int64_t t1)
{
    for (int o = 0; o < c; o++) {
        float v = b ? b[o] : 0.0f;
        float *row = y + (int64_t)o * t_len;
        for (int64_t t = t0; t < t1; t++)
            row[t] = v;
    }
}

static void conv_depthwise(const nn_conv *c, const float *x, float *y, int64_t t_len, int64_t t0, int64_t t1)
{
    for (int ch = 0; ch < c->c_in; ch++) {
        const float *xr = x + (int64_t)ch * t_len;
        const float *w = c->w + (int64_t)ch * c->k;
        float *yr = y + (int64_t)ch * t_len;
        const float bias = c->b ? c->b[ch] : 0.0f;
        for (int64_t t = t0; t < t1; t++) {
            float acc = bias;
            for (int j = 0; j < c->k; j++) {
                int64_t s = t + (int64_t)j * c->dilation - c->pad_left;
                if (s >= 0 && s < t_len)
                    acc += w[j] * xr[s];
            }
            yr[t] = acc;
        }
    }
}

static void conv_part(void *arg, int64_t begin, int64_t end)
{
    const conv_job *j = arg;
    const nn_conv *c = j->c;
    const int64_t T = j->t_len;
    for (int64_t part = begin; part < end; part++) {
        const int64_t t0 = T * part / j->n_parts, t1 = T * (part + 1) / j->n_parts;
        if (t1 <= t0)
            continue;
        if (c->groups != 1) {
            conv_depthwise(c, j->x, j->y, T, t0, t1);
            continue;
        }
        fill_bias(j->y, c->b, c->c_out, T, t0, t1);
        const int kk = c->c_in * c->k;
        if (c->k == 1 && c->pad_left == 0) {
            sori_gemm(false, false, c->c_out, (int)(t1 - t0), c->c_in, 1.0f, c->w, c->c_in, j->x + t0, (int)T, 1.0f,
                      j->y + t0, (int)T);
            continue;
        }
        float *cols = j->ctx->scratch + part * j->ctx->slot_floats;
        for (int64_t b0 = t0; b0 < t1; b0 += NN_BLOCK) {
            const int nb = (int)(t1 - b0 < NN_BLOCK ? t1 - b0 : NN_BLOCK);
            for (int ci = 0; ci < c->c_in; ci++) {
                const float *xr = j->x + (int64_t)ci * T;
                for (int q = 0; q < c->k; q++) {
                    float *col = cols + (int64_t)(ci * c->k + q) * nb;
                    const int64_t shift = b0 + (int64_t)q * c->dilation - c->pad_left;
                    /* columns tt with a source inside [0, T): [lo, hi); zeros around */
                    int64_t lo = -shift > 0 ? -shift : 0, hi = T - shift < nb ? T - shift : nb;
                    if (hi < lo)
                        hi = lo = 0;
                    for (int64_t tt = 0; tt < lo; tt++)
                        col[tt] = 0.0f;
                    memcpy(col + lo, xr + shift + lo, sizeof(float) * (size_t)(hi - lo));
                    for (int64_t tt = hi; tt < nb; tt++)
                        col[tt] = 0.0f;
                }
            }
            sori_gemm(false, false, c->c_out, nb, kk, 1.0f, c->w, kk, cols, nb, 1.0f, j->y + b0, (int)T);
        }
    }
}

void nn_conv1d(const nn_ctx *ctx, const nn_conv *c, const float *x, float *y, int64_t t_len)
{
    if (t_len <= 0)
        return;
    int64_t parts = (t_len + 63) / 64;
    if (parts > ctx->n_slots)
        parts = ctx->n_slots;
    conv_job j = {ctx, c, x, y, t_len, (int)parts};
    sori_parallel_for(ctx->pool, parts, 1, conv_part, &j);
}

/* ---- norms and activations -------------------------------------------------------- */

void nn_layer_norm_ch(float *x, int c, int64_t t_len, const float *gamma, const float *beta, float eps)
{
    enum { B = 256 };
    float mean[B], rstd[B];
    for (int64_t t0 = 0; t0 < t_len; t0 += B) {
        const int nb = (int)(t_len - t0 < B ? t_len - t0 : B);
        for (int i = 0; i < nb; i++)
            mean[i] = rstd[i] = 0.0f;
        for (int ch = 0; ch < c; ch++) {
            const float *r = x + (int64_t)ch * t_len + t0;
            for (int i = 0; i < nb; i++)
                mean[i] += r[i];
        }
        for (int i = 0; i < nb; i++)
            mean[i] /= (float)c;
        for (int ch = 0; ch < c; ch++) {
            const float *r = x + (int64_t)ch * t_len + t0;
            for (int i = 0; i < nb; i++)
                rstd[i] += (r[i] - mean[i]) * (r[i] - mean[i]);
        }
        for (int i = 0; i < nb; i++)
            rstd[i] = 1.0f / sqrtf(rstd[i] / (float)c + eps);
        for (int ch = 0; ch < c; ch++) {
            float *r = x + (int64_t)ch * t_len + t0;
            for (int i = 0; i < nb; i++)
                r[i] = (r[i] - mean[i]) * rstd[i] * gamma[ch] + beta[ch];
        }
    }
}

void nn_relu(float *x, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        x[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

void nn_gelu(float *x, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        x[i] = 0.5f * x[i] * (1.0f + erff(x[i] * 0.70710678118654752f));
}
