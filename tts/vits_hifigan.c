/* The VITS HiFi-GAN (VitsHifiGan / Piper's Generator) on the CPU, time-major:
 * activations [T, C16] (a time step's channels contiguous, padded with zero
 * channels to a multiple of 16), every convolution one product over
 * weights packed at load for sori_gemm_p16 (AVX-512 where the CPU has it),
 * with nothing gathered:
 *
 * - a convolution of kernel k and dilation 1 reads, for output step t, the
 *   input rows t … t + k − 1 of the zero-padded input, which lie one after
 *   the other: the product's row t is those k·C16 floats in place (lda =
 *   C16), against the weight laid out [c_out, k, C16];
 * - with dilation d, the input is first split into its d phases (rows r,
 *   r + d, r + 2d …), in which the taps are again adjacent; output rows
 *   r, r + d, … are written d·C16 apart (ldc);
 * - a transposed convolution of stride s is s convolutions of dilation 1
 *   (its polyphase form): output phase p takes the taps p, p + s, p + 2s …
 *   in reverse order over consecutive input rows.
 *
 * The leaky ReLU before each convolution is applied as its input is copied
 * into the padded (or phase-split) buffer. Padded channels stay zero: their
 * weights and biases are zero. Results do not depend on the thread count:
 * each output row is one product, split over threads by rows. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/cpu/gemm_p16.h"
#include "vits.h"

static int64_t up16(int64_t n)
{
    return (n + 15) & ~(int64_t)15;
}

static float *alloc_floats(int64_t n)
{
    const size_t bytes = (size_t)(up16(n > 0 ? n : 1) * (int64_t)sizeof(float));
    return aligned_alloc(64, bytes);
}

float *vits_tm_pack_conv(const nn_conv *c, vits_tmconv *t)
{
    const int ci16 = vits_c16(c->c_in), co16 = vits_c16(c->c_out), K = c->k * ci16;
    float *tmp = calloc((size_t)co16 * (size_t)K, sizeof(float)), *w = alloc_floats((int64_t)co16 * K),
          *b = alloc_floats(co16);
    if (!tmp || !w || !b) {
        free(tmp);
        free(w);
        free(b);
        return NULL;
    }
    for (int o = 0; o < c->c_out; o++)
        for (int i = 0; i < c->c_in; i++)
            for (int q = 0; q < c->k; q++)
                tmp[(int64_t)o * K + q * ci16 + i] = c->w[((int64_t)o * c->c_in + i) * c->k + q];
    sori_pack_p16(tmp, co16, K, w);
    free(tmp);
    memset(b, 0, sizeof(float) * (size_t)co16);
    if (c->b)
        memcpy(b, c->b, sizeof(float) * (size_t)c->c_out);
    *t = (vits_tmconv){w, b, ci16, co16, c->k, c->dilation, c->dilation * (c->k - 1) / 2};
    /* w and b are returned through t; the caller owns both (b right after w in its list) */
    return w;
}

float *vits_tm_pack_convt(const nn_convt *c, vits_tmconvt *t)
{
    const int ci16 = vits_c16(c->c_in), co16 = vits_c16(c->c_out), s = c->stride;
    memset(t, 0, sizeof *t);
    if (s < 1 || s > VITS_MAX_STRIDE)
        return NULL;
    int64_t total = 0;
    for (int p = 0; p < s; p++) {
        t->n_taps[p] = p < c->k ? (c->k - p + s - 1) / s : 0;
        t->w_off[p] = total;
        total += (int64_t)co16 * t->n_taps[p] * ci16;
    }
    float *w = alloc_floats(total), *b = alloc_floats(co16);
    float *tmp = calloc((size_t)(total > 0 ? total : 1), sizeof(float));
    if (!tmp || !w || !b) {
        free(tmp);
        free(w);
        free(b);
        return NULL;
    }
    for (int p = 0; p < s; p++) {
        const int n = t->n_taps[p], K = n * ci16;
        float *tp = tmp + t->w_off[p];
        for (int o = 0; o < c->c_out; o++)
            for (int i = 0; i < c->c_in; i++)
                for (int r = 0; r < n; r++) /* reversed: row r of the window is input step m − (n − 1) + r */
                    tp[(int64_t)o * K + r * ci16 + i] = c->w[((int64_t)i * c->c_out + o) * c->k + p + s * (n - 1 - r)];
        if (K > 0)
            sori_pack_p16(tp, co16, K, w + t->w_off[p]);
    }
    free(tmp);
    memset(b, 0, sizeof(float) * (size_t)co16);
    if (c->b)
        memcpy(b, c->b, sizeof(float) * (size_t)c->c_out);
    t->w = w;
    t->b = b;
    t->ci16 = ci16;
    t->co16 = co16;
    t->k = c->k;
    t->stride = s;
    t->pad = c->padding;
    return w;
}

/* ---- products split over the threads ------------------------------------------------ */

typedef struct tm_task {
    const float *a, *w, *bias;
    float *c;
    int64_t lda, ldc;
    int m, n, k;
    float beta;
} tm_task;

enum { TM_MAX_TASKS = 64 };

typedef struct tm_job {
    const nn_ctx *ctx;
    const tm_task *task;
    int n_task, n_parts;
} tm_job;

static void tm_part(void *arg, int64_t begin, int64_t end)
{
    const tm_job *j = arg;
    for (int64_t part = begin; part < end; part++) {
        float *scratch = j->ctx->scratch + part * j->ctx->slot_floats;
        for (int i = 0; i < j->n_task; i++) {
            const tm_task *t = &j->task[i];
            const int r0 = (int)((int64_t)t->m * part / j->n_parts), r1 = (int)((int64_t)t->m * (part + 1) / j->n_parts);
            if (r1 <= r0)
                continue;
            if (t->k == 0) { /* a phase no tap reaches: the bias alone */
                for (int r = r0; r < r1; r++) {
                    float *row = t->c + (int64_t)r * t->ldc;
                    for (int o = 0; o < t->n; o++)
                        row[o] = t->beta * row[o] + t->bias[o];
                }
                continue;
            }
            sori_gemm_p16(r1 - r0, t->n, t->k, 1.0f, t->a + (int64_t)r0 * t->lda, t->lda, t->w, t->beta,
                          t->c + (int64_t)r0 * t->ldc, t->ldc, t->bias, SORI_ACT_NONE, scratch);
        }
    }
}

static void tm_run(const nn_ctx *ctx, const tm_task *task, int n_task)
{
    int64_t rows = 0;
    for (int i = 0; i < n_task; i++)
        rows += task[i].m;
    if (rows <= 0)
        return;
    int64_t parts = (rows + 31) / 32;
    if (parts > ctx->n_slots)
        parts = ctx->n_slots;
    tm_job j = {ctx, task, n_task, (int)parts};
    sori_parallel_for(ctx->pool, parts, 1, tm_part, &j);
}

/* dst[i] = leaky(src[i]) (slope < 0: a copy) */
static void leaky_copy(float *dst, const float *src, int64_t n, float slope)
{
    if (slope < 0.0f) {
        memcpy(dst, src, sizeof(float) * (size_t)n);
        return;
    }
    for (int64_t i = 0; i < n; i++) {
        const float v = src[i];
        dst[i] = (v > 0.0f ? v : 0.0f) + slope * (v < 0.0f ? v : 0.0f);
    }
}

/* Rows of the phase-split buffer for len steps: Σ over phases of (outputs + k − 1). */
static int64_t conv_rows(const vits_tmconv *c, int64_t len)
{
    int64_t rows = 0;
    for (int r = 0; r < c->dil; r++)
        rows += (len - r + c->dil - 1) / c->dil + c->k - 1;
    return rows;
}

int64_t vits_tm_conv_xp_floats(const vits_tmconv *c, int64_t len)
{
    return conv_rows(c, len) * c->ci16;
}

void vits_tm_conv_from(const nn_ctx *ctx, const vits_tmconv *c, const float *x, int64_t ldx, int cin, int64_t len,
                       float slope, float *xp, float *y, bool accumulate)
{
    const int d = c->dil, C = c->ci16;
    tm_task task[TM_MAX_TASKS];
    int nt = 0;
    float *base = xp;
    for (int r = 0; r < d && r < len; r++) {
        const int64_t m = (len - r + d - 1) / d, rows = m + c->k - 1;
        for (int64_t s = 0; s < rows; s++) { /* phase row s is padded input row u = r + d·s, source u − pad */
            const int64_t src = r + d * s - c->pad;
            float *dst = base + s * C;
            if (src < 0 || src >= len) {
                memset(dst, 0, sizeof(float) * (size_t)C);
            } else {
                leaky_copy(dst, x + src * ldx, cin, slope);
                if (cin < C)
                    memset(dst + cin, 0, sizeof(float) * (size_t)(C - cin));
            }
        }
        if (nt == TM_MAX_TASKS) { /* dilations past 64: flush (not in any known voice) */
            tm_run(ctx, task, nt);
            nt = 0;
        }
        task[nt++] = (tm_task){base, c->w, c->b, y + (int64_t)r * c->co16, C, (int64_t)d * c->co16,
                               (int)m, c->co16, c->k * C, accumulate ? 1.0f : 0.0f};
        base += rows * C;
    }
    tm_run(ctx, task, nt);
}

/* x [len, ci16] */
static void tm_conv(const nn_ctx *ctx, const vits_tmconv *c, const float *x, int64_t len, float slope, float *xp,
                    float *y, bool accumulate)
{
    vits_tm_conv_from(ctx, c, x, c->ci16, c->ci16, len, slope, xp, y, accumulate);
}

static int64_t convt_lead(const vits_tmconvt *c)
{
    return (c->k + c->stride - 1) / c->stride; /* the most taps a phase has */
}

/* y [len_out, co16] = convT(leaky(x)) + b, x [len, ci16]; xp: (len + 2·lead + 2) × ci16 floats */
int64_t vits_tm_convt_xp_floats(const vits_tmconvt *c, int64_t len)
{
    return (len + 2 * convt_lead(c) + 2) * c->ci16;
}

void vits_tm_convt(const nn_ctx *ctx, const vits_tmconvt *c, const float *x, int64_t len, float slope, float *xp,
                   float *y, int64_t len_out)
{
    const int s = c->stride, C = c->ci16;
    const int64_t L = convt_lead(c), R = L + 1;
    memset(xp, 0, sizeof(float) * (size_t)(L * C));
    leaky_copy(xp + L * C, x, len * C, slope);
    memset(xp + (L + len) * C, 0, sizeof(float) * (size_t)(R * C));
    tm_task task[VITS_MAX_STRIDE];
    int nt = 0;
    for (int p = 0; p < s; p++) {
        /* outputs o with (o + pad) mod s == p: the first is o0, then every s-th */
        const int64_t o0 = ((p - c->pad) % s + s) % s;
        if (o0 >= len_out)
            continue;
        const int64_t m = (len_out - o0 + s - 1) / s, e0 = (o0 + c->pad) / s; /* e0: input step of the first */
        const int n = c->n_taps[p];
        task[nt++] = (tm_task){xp + (e0 - n + 1 + L) * C, c->w + c->w_off[p], c->b, y + o0 * c->co16, C,
                               (int64_t)s * c->co16, (int)m, c->co16, n * C, 0.0f};
    }
    tm_run(ctx, task, nt);
}

/* ---- the decoder ----------------------------------------------------------------------- */

static int64_t max64(int64_t a, int64_t b)
{
    return a > b ? a : b;
}

/* Floats of the largest of the decoder's five buffers (x, u, r, xp, h) over the stages. */
static int64_t decoder_max(const vits_model *m, int64_t T)
{
    const vits_hp *hp = &m->hp;
    int64_t mx = max64(T * m->t_pre.ci16, conv_rows(&m->t_pre, T) * m->t_pre.ci16);
    mx = max64(mx, T * m->t_pre.co16);
    int64_t len = T;
    for (int i = 0; i < hp->n_up; i++) {
        const vits_tmconvt *u = &m->t_ups[i];
        mx = max64(mx, (len + 2 * convt_lead(u) + 2) * u->ci16);
        len = (len - 1) * u->stride - 2 * u->pad + u->k;
        mx = max64(mx, len * u->co16);
        for (int j = 0; j < hp->n_rk; j++) {
            const vits_resblock *rb = &m->resblocks[i * hp->n_rk + j];
            for (int d = 0; d < rb->n; d++) {
                mx = max64(mx, conv_rows(&rb->t1[d], len) * rb->t1[d].ci16);
                if (!hp->resblock2)
                    mx = max64(mx, conv_rows(&rb->t2[d], len) * rb->t2[d].ci16);
            }
        }
    }
    mx = max64(mx, conv_rows(&m->t_post, len) * m->t_post.ci16);
    mx = max64(mx, len * m->t_post.co16);
    return up16(mx);
}

int vits_decoder_context(const vits_hp *hp)
{
    /* the radius in output samples, stage by stage: conv_pre (k 7), each transposed convolution (an output
     * depends on ceil(k / stride) + 1 inputs), the widest residual block (Σ over its convolutions of
     * (k − 1)/2 · dilation), conv_post (k 7) */
    int64_t r = 3 * (int64_t)hp->hop, in_scale = hp->hop;
    for (int i = 0; i < hp->n_up; i++) {
        const int64_t out_scale = in_scale / hp->up_rates[i];
        r += ((hp->up_k[i] + hp->up_rates[i] - 1) / hp->up_rates[i] + 1) * in_scale;
        int64_t widest = 0;
        for (int j = 0; j < hp->n_rk; j++) {
            int64_t w = 0;
            for (int d = 0; d < hp->n_dil[j]; d++) /* ResBlock1: a dilated and a plain convolution */
                w += (int64_t)(hp->rk[j] - 1) / 2 * (hp->dil[j][d] + (hp->resblock2 ? 0 : 1));
            widest = w > widest ? w : widest;
        }
        r += widest * out_scale;
        in_scale = out_scale;
    }
    r += 3;
    return (int)((r + hp->hop - 1) / hp->hop) + 1;
}

int64_t vits_decoder_ws(const vits_model *m, int64_t T)
{
    return 5 * decoder_max(m, T) + up16(m->hp.up_c0);
}

void vits_decoder(const vits_model *m, const nn_ctx *ctx, const float *spec, int64_t T, const float *g, float *wave,
                  float *ws)
{
    const vits_hp *hp = &m->hp;
    const int64_t mx = decoder_max(m, T);
    float *x = ws, *u = x + mx, *r = u + mx, *xp = r + mx, *h = xp + mx, *gv = h + mx;
    /* the spectrogram [F, T] to time-major rows in h, then conv_pre into x */
    const int F16 = m->t_pre.ci16;
    for (int64_t t = 0; t < T; t++) {
        float *row = h + t * F16;
        for (int f = 0; f < hp->flow; f++)
            row[f] = spec[(int64_t)f * T + t];
        for (int f = hp->flow; f < F16; f++)
            row[f] = 0.0f;
    }
    tm_conv(ctx, &m->t_pre, h, T, -1.0f, xp, x, false);
    int C = m->t_pre.co16;
    if (g) {
        const nn_conv *c = &m->dec_cond;
        for (int o = 0; o < c->c_out; o++) {
            float acc = c->b ? c->b[o] : 0.0f;
            for (int i = 0; i < c->c_in; i++)
                acc += c->w[(int64_t)o * c->c_in + i] * g[i];
            gv[o] = acc;
        }
        for (int64_t t = 0; t < T; t++)
            for (int o = 0; o < c->c_out; o++)
                x[t * C + o] += gv[o];
    }
    int64_t len = T;
    for (int i = 0; i < hp->n_up; i++) {
        const vits_tmconvt *up = &m->t_ups[i];
        const int64_t len2 = (len - 1) * up->stride - 2 * up->pad + up->k;
        vits_tm_convt(ctx, up, x, len, hp->leaky, xp, u, len2);
        len = len2;
        C = up->co16;
        const int64_t n = len * C;
        for (int j = 0; j < hp->n_rk; j++) {
            const vits_resblock *rb = &m->resblocks[i * hp->n_rk + j];
            float *acc = j == 0 ? x : r; /* block 0 runs in x itself, later ones in r, then are added */
            memcpy(acc, u, sizeof(float) * (size_t)n);
            for (int d = 0; d < rb->n; d++) {
                if (hp->resblock2) { /* acc += conv1(leaky(acc)) */
                    tm_conv(ctx, &rb->t1[d], acc, len, hp->leaky, xp, acc, true);
                } else { /* acc += conv2(leaky(conv1(leaky(acc)))) */
                    tm_conv(ctx, &rb->t1[d], acc, len, hp->leaky, xp, h, false);
                    tm_conv(ctx, &rb->t2[d], h, len, hp->leaky, xp, acc, true);
                }
            }
            if (j > 0)
                for (int64_t k = 0; k < n; k++)
                    x[k] += r[k];
        }
        const float inv = 1.0f / (float)hp->n_rk;
        for (int64_t k = 0; k < n; k++)
            x[k] *= inv;
    }
    tm_conv(ctx, &m->t_post, x, len, 0.01f, xp, h, false); /* F.leaky_relu's default slope, as upstream */
    const int P = m->t_post.co16;
    for (int64_t k = 0; k < len; k++)
        wave[k] = tanhf(h[k * P]);
}
