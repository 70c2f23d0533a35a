/* VITS inference stages, after transformers' models/vits/modeling_vits.py
 * (VitsTextEncoder, VitsDurationPredictor, VitsStochasticDurationPredictor
 * in reverse, VitsResidualCouplingBlock in reverse, VitsHifiGan). Layouts
 * and the workspace rules: tts/vits.h. */
#include "vits.h"

#include <math.h>
#include <string.h>

#include "kernels/cpu/blas.h"

static int64_t up16(int64_t n)
{
    return (n + 15) & ~(int64_t)15;
}

/* y[o] = W[o, :] · g + b[o]: a kernel-1 convolution of a constant vector */
static void cond_vec(const nn_conv *c, const float *g, float *y)
{
    for (int o = 0; o < c->c_out; o++) {
        float acc = c->b ? c->b[o] : 0.0f;
        for (int i = 0; i < c->c_in; i++)
            acc += c->w[(int64_t)o * c->c_in + i] * g[i];
        y[o] = acc;
    }
}

static void add_rows(float *x, const float *v, int c, int64_t T)
{
    for (int i = 0; i < c; i++)
        for (int64_t t = 0; t < T; t++)
            x[(int64_t)i * T + t] += v[i];
}

static void add(float *x, const float *y, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        x[i] += y[i];
}

/* ---- text encoder ----------------------------------------------------------------- */

int64_t vits_encoder_ws(const vits_hp *hp, int64_t T)
{
    const int64_t H16 = vits_c16(hp->hidden), FF16 = vits_c16(hp->ffn_dim), wide = H16 > FF16 ? H16 : FF16;
    return 5 * up16((int64_t)hp->hidden * T) + up16(T * T) + up16(T * FF16) + up16(T * H16) +
           up16((T + hp->ffn_k + 1) * wide);
}

/* Multi-head attention with relative positions (VitsAttention): per head,
 * S = (q·d^-½)ᵀk + rel_k(j − i) terms for |j − i| ≤ window, softmax over j,
 * out = P·vᵀ + Σ_j P[i, j]·rel_v(j − i). x [H, T] → out [H, T]. */
static void attention(const vits_model *m, const nn_ctx *ctx, const vits_layer *L, const float *x, int T,
                      float *q, float *k, float *v, float *att, float *S, float *out)
{
    const int H = m->hp.hidden, nh = m->hp.n_heads, D = H / nh, W = m->hp.window;
    const float scale = 1.0f / sqrtf((float)D);
    nn_conv1d(ctx, &L->q, x, q, T);
    nn_conv1d(ctx, &L->k, x, k, T);
    nn_conv1d(ctx, &L->v, x, v, T);
    for (int64_t i = 0; i < (int64_t)H * T; i++)
        q[i] *= scale;
    for (int h = 0; h < nh; h++) {
        const float *qh = q + (int64_t)h * D * T, *kh = k + (int64_t)h * D * T, *vh = v + (int64_t)h * D * T;
        sori_gemm(true, false, T, T, D, 1.0f, qh, T, kh, T, 0.0f, S, T);
        for (int i = 0; i < T; i++) {
            float *row = S + (int64_t)i * T;
            const int j0 = i - W > 0 ? i - W : 0, j1 = i + W < T - 1 ? i + W : T - 1;
            for (int j = j0; j <= j1; j++) {
                const float *e = L->rel_k + (int64_t)(j - i + W) * D;
                float acc = 0.0f;
                for (int d = 0; d < D; d++)
                    acc += qh[(int64_t)d * T + i] * e[d];
                row[j] += acc;
            }
            float mx = row[0];
            for (int j = 1; j < T; j++)
                mx = row[j] > mx ? row[j] : mx;
            float sum = 0.0f;
            for (int j = 0; j < T; j++) {
                row[j] = expf(row[j] - mx);
                sum += row[j];
            }
            const float inv = 1.0f / sum;
            for (int j = 0; j < T; j++)
                row[j] *= inv;
        }
        float *ah = att + (int64_t)h * D * T;
        sori_gemm(false, true, D, T, T, 1.0f, vh, T, S, T, 0.0f, ah, T);
        for (int i = 0; i < T; i++) {
            const float *row = S + (int64_t)i * T;
            const int j0 = i - W > 0 ? i - W : 0, j1 = i + W < T - 1 ? i + W : T - 1;
            for (int j = j0; j <= j1; j++) {
                const float *e = L->rel_v + (int64_t)(j - i + W) * D;
                for (int d = 0; d < D; d++)
                    ah[(int64_t)d * T + i] += row[j] * e[d];
            }
        }
    }
    nn_conv1d(ctx, &L->o, att, out, T);
}

void vits_encoder(const vits_model *m, const nn_ctx *ctx, const int32_t *ids, int T, float *x, float *stats,
                  float *ws)
{
    const vits_hp *hp = &m->hp;
    const int H = hp->hidden;
    const int64_t HT = (int64_t)H * T;
    float *q = ws, *k = q + up16(HT), *v = k + up16(HT), *att = v + up16(HT), *tmp = att + up16(HT);
    const int H16 = vits_c16(H), FF16 = vits_c16(hp->ffn_dim);
    float *S = tmp + up16(HT), *ffn = S + up16((int64_t)T * T), *yt = ffn + up16((int64_t)T * FF16);
    float *xp = yt + up16((int64_t)T * H16);
    const float sq = sqrtf((float)H);
    for (int t = 0; t < T; t++)
        for (int c = 0; c < H; c++)
            x[(int64_t)c * T + t] = m->embed[(int64_t)ids[t] * H + c] * sq;
    for (int l = 0; l < hp->n_layers; l++) {
        const vits_layer *L = &m->layers[l];
        attention(m, ctx, L, x, T, q, k, v, att, S, tmp);
        add(x, tmp, HT);
        nn_layer_norm_ch(x, H, T, L->ln1.g, L->ln1.b, hp->ln_eps);
        /* the feed-forward network time-major: x to rows [T, H16] (in att, free here), the two packed
         * convolutions, back to channels while adding */
        float *xt = att;
        for (int t = 0; t < T; t++) {
            float *r = xt + (int64_t)t * H16;
            for (int c = 0; c < H; c++)
                r[c] = x[(int64_t)c * T + t];
            for (int c = H; c < H16; c++)
                r[c] = 0.0f;
        }
        vits_tm_conv_from(ctx, &L->t_ffn1, xt, H16, H16, T, -1.0f, xp, ffn, false);
        if (hp->gelu)
            nn_gelu(ffn, (int64_t)FF16 * T);
        else
            nn_relu(ffn, (int64_t)FF16 * T);
        vits_tm_conv_from(ctx, &L->t_ffn2, ffn, FF16, FF16, T, -1.0f, xp, yt, false);
        for (int t = 0; t < T; t++)
            for (int c = 0; c < H; c++)
                x[(int64_t)c * T + t] += yt[(int64_t)t * H16 + c];
        nn_layer_norm_ch(x, H, T, L->ln2.g, L->ln2.b, hp->ln_eps);
    }
    nn_conv1d(ctx, &m->project, x, stats, T);
}

/* ---- duration predictors ------------------------------------------------------------- */

int64_t vits_duration_ws(const vits_hp *hp, int64_t T)
{
    const int64_t HT = up16((int64_t)hp->hidden * T);
    if (!hp->sdp)
        return HT + 2 * up16((int64_t)hp->dp_fc * T) + up16(hp->hidden);
    return 5 * HT + up16((int64_t)(3 * hp->flow_bins - 1) * T) + up16(hp->hidden);
}

/* VitsDilatedDepthSeparableConv: x [H, T] in place; cond [H, T] added first
 * when given. Its layer norms use PyTorch's default ε = 1e-5. */
static void dds(const nn_ctx *ctx, const vits_dds *d, int n_layers, int H, float *x, const float *cond, int64_t T,
                float *h1, float *h2)
{
    if (cond)
        add(x, cond, (int64_t)H * T);
    for (int i = 0; i < n_layers; i++) {
        nn_conv1d(ctx, &d->dw[i], x, h1, T);
        nn_layer_norm_ch(h1, H, T, d->n1[i].g, d->n1[i].b, 1e-5f);
        nn_gelu(h1, (int64_t)H * T);
        nn_conv1d(ctx, &d->pw[i], h1, h2, T);
        nn_layer_norm_ch(h2, H, T, d->n2[i].g, d->n2[i].b, 1e-5f);
        nn_gelu(h2, (int64_t)H * T);
        add(x, h2, (int64_t)H * T);
    }
}

static double softplus(double x)
{
    return x > 20.0 ? x : log1p(exp(x)); /* torch's threshold 20 */
}

double vits_spline_inverse(double x, const float *uw, const float *uh, const float *ud, int nb, double scale_wh,
                           double tail)
{
    enum { MAXB = 257 };
    const double min_w = 1e-3, min_h = 1e-3, min_d = 1e-3;
    if (x < -tail || x > tail)
        return x;
    double cw[MAXB], ch[MAXB], dv[MAXB], e[MAXB];
    /* bins: softmax, floor of min_w each, cumulated over [−tail, tail] with pinned ends */
    const float *u[2] = {uw, uh};
    double *cum[2] = {cw, ch};
    const double minb[2] = {min_w, min_h};
    for (int s = 0; s < 2; s++) {
        double mx = u[s][0] * scale_wh, sum = 0.0;
        for (int i = 1; i < nb; i++)
            mx = u[s][i] * scale_wh > mx ? u[s][i] * scale_wh : mx;
        for (int i = 0; i < nb; i++) {
            e[i] = exp(u[s][i] * scale_wh - mx);
            sum += e[i];
        }
        double acc = 0.0;
        cum[s][0] = -tail;
        for (int i = 0; i < nb; i++) {
            acc += minb[s] + (1.0 - minb[s] * nb) * (e[i] / sum);
            cum[s][i + 1] = 2.0 * tail * acc - tail;
        }
        cum[s][nb] = tail;
    }
    /* derivatives at the nb + 1 knots: the ends padded with log(e^(1 − min_d) − 1), i.e. slope 1 */
    const double end = (double)(float)log(exp(1.0 - min_d) - 1.0);
    for (int i = 0; i <= nb; i++)
        dv[i] = min_d + softplus(i == 0 || i == nb ? end : (double)ud[i - 1]);
    int bin = 0; /* the last knot of the heights at or below x (the top knot nudged by 1e-6, as upstream) */
    for (int i = 0; i <= nb; i++)
        if (x >= ch[i] + (i == nb ? 1e-6 : 0.0))
            bin = i;
    if (bin > nb - 1)
        bin = nb - 1;
    const double w = cw[bin + 1] - cw[bin], h = ch[bin + 1] - ch[bin];
    const double delta = h / w, d0 = dv[bin], d1 = dv[bin + 1];
    const double i1 = d0 + d1 - 2.0 * delta, i2 = x - ch[bin], i3 = i2 * i1;
    const double a = h * (delta - d0) + i3, b = h * d0 - i3, c = -delta * i2;
    const double disc = b * b - 4.0 * a * c;
    const double root = (2.0 * c) / (-b - sqrt(disc > 0.0 ? disc : 0.0));
    return root * w + cw[bin];
}

/* VitsConvFlow in reverse on z [2, T]: z[1] through the spline whose bins
 * come from z[0] and the conditioning. */
static void convflow_reverse(const vits_model *m, const nn_ctx *ctx, const vits_convflow *f, float *z, int64_t T,
                             const float *cond, float *h, float *h1, float *h2, float *p)
{
    const int H = m->hp.hidden, nb = m->hp.flow_bins;
    nn_conv1d(ctx, &f->pre, z, h, T);
    dds(ctx, &f->dds, m->hp.ds_layers, H, h, cond, T, h1, h2);
    nn_conv1d(ctx, &f->proj, h, p, T);
    const double s = 1.0 / sqrt((double)H);
    float uw[256], uh[256], ud[256];
    for (int64_t t = 0; t < T; t++) {
        for (int i = 0; i < nb; i++) {
            uw[i] = p[(int64_t)i * T + t];
            uh[i] = p[(int64_t)(nb + i) * T + t];
        }
        for (int i = 0; i < nb - 1; i++)
            ud[i] = p[(int64_t)(2 * nb + i) * T + t];
        z[T + t] = (float)vits_spline_inverse(z[T + t], uw, uh, ud, nb, s, m->hp.tail);
    }
}

static void flip2(float *z, int64_t T)
{
    for (int64_t t = 0; t < T; t++) {
        float a = z[t];
        z[t] = z[T + t];
        z[T + t] = a;
    }
}

void vits_duration(const vits_model *m, const nn_ctx *ctx, const float *hidden, int T, const float *g,
                   const float *noise, float noise_scale_dur, float *log_dur, float *ws)
{
    const vits_hp *hp = &m->hp;
    const int H = hp->hidden;
    const int64_t HT = up16((int64_t)H * T);
    if (!hp->sdp) {
        float *x = ws, *a = x + HT, *b = a + up16((int64_t)hp->dp_fc * T), *gv = b + up16((int64_t)hp->dp_fc * T);
        memcpy(x, hidden, sizeof(float) * (size_t)H * T);
        if (g) {
            cond_vec(&m->dp_cond, g, gv);
            add_rows(x, gv, H, T);
        }
        nn_conv1d(ctx, &m->dp_c1, x, a, T);
        nn_relu(a, (int64_t)hp->dp_fc * T);
        nn_layer_norm_ch(a, hp->dp_fc, T, m->dp_n1.g, m->dp_n1.b, hp->ln_eps);
        nn_conv1d(ctx, &m->dp_c2, a, b, T);
        nn_relu(b, (int64_t)hp->dp_fc * T);
        nn_layer_norm_ch(b, hp->dp_fc, T, m->dp_n2.g, m->dp_n2.b, hp->ln_eps);
        nn_conv1d(ctx, &m->dp_proj, b, log_dur, T);
        return;
    }
    float *cond = ws, *h = cond + HT, *h1 = h + HT, *h2 = h1 + HT, *z = h2 + HT;
    float *p = z + HT, *gv = p + up16((int64_t)(3 * hp->flow_bins - 1) * T);
    nn_conv1d(ctx, &m->sdp_pre, hidden, h, T);
    if (g) {
        cond_vec(&m->dp_cond, g, gv);
        add_rows(h, gv, H, T);
    }
    dds(ctx, &m->sdp_dds, hp->ds_layers, H, h, NULL, T, h1, h2);
    nn_conv1d(ctx, &m->sdp_proj, h, cond, T);
    for (int64_t i = 0; i < 2 * (int64_t)T; i++)
        z[i] = noise[i] * noise_scale_dur;
    /* reversed flows without flow 1 (upstream's "useless vflow"): ConvFlows dp_flows .. 2, then the affine */
    for (int f = hp->dp_flows; f >= 2; f--) {
        flip2(z, T);
        convflow_reverse(m, ctx, &m->sdp_flows[f - 2], z, T, cond, h, h1, h2, p);
    }
    flip2(z, T);
    for (int c = 0; c < 2; c++) {
        const float sc = expf(-m->sdp_log_scale[c]), tr = m->sdp_translate[c];
        for (int64_t t = 0; t < T; t++)
            z[c * (int64_t)T + t] = (z[c * (int64_t)T + t] - tr) * sc;
    }
    memcpy(log_dur, z, sizeof(float) * (size_t)T);
}

/* ---- flow ---------------------------------------------------------------------------- */

/* rows of a phase-split input for the widest WaveNet dilation: at most T + min(d, T) · k */
static int64_t flow_xp_rows(const vits_hp *hp, int64_t T)
{
    int64_t d = 1;
    for (int i = 1; i < hp->wn_layers && d < T; i++)
        d *= hp->wn_rate;
    return T + (d < T ? d : T) * hp->wn_k + 1;
}

int64_t vits_flow_ws(const vits_hp *hp, int64_t T)
{
    const int64_t H16 = vits_c16(hp->hidden), H2 = vits_c16(2 * hp->hidden), F16 = vits_c16(hp->flow);
    return up16(T * F16) + 3 * up16(T * H16) + 2 * up16(T * H2) + up16(T * vits_c16(hp->flow / 2)) +
           up16(flow_xp_rows(hp, T) * (H16 > F16 ? H16 : F16)) + up16((int64_t)2 * hp->hidden * hp->wn_layers);
}

/* The residual coupling flow in reverse, time-major like the HiFi-GAN (tts/tm.h): z [F, T] is
 * turned into rows [T, F], every convolution (pre, the WaveNet's dilated in_layers and 1×1
 * res_skip_layers, post) is one packed product per phase, and z is turned back at the end. */
void vits_flow_reverse(const vits_model *m, const nn_ctx *ctx, float *z, int64_t T, const float *g, float *ws)
{
    const int H = m->hp.hidden, F = m->hp.flow, half = F / 2, nl = m->hp.wn_layers;
    const int H16 = vits_c16(H), H2 = vits_c16(2 * H), F16 = vits_c16(F), half16 = vits_c16(half);
    float *zt = ws, *h = zt + up16(T * F16), *out = h + up16(T * H16), *acts = out + up16(T * H16);
    float *hs = acts + up16(T * H16), *rs = hs + up16(T * H2), *mean = rs + up16(T * H2);
    float *xp = mean + up16(T * half16), *gc = xp + up16(flow_xp_rows(&m->hp, T) * (H16 > F16 ? H16 : F16));
    for (int64_t t = 0; t < T; t++)
        for (int c = 0; c < F; c++)
            zt[t * F + c] = z[(int64_t)c * T + t];
    for (int f = m->hp.n_flows - 1; f >= 0; f--) {
        const vits_coupling *c = &m->flows[f];
        for (int64_t t = 0; t < T; t++) { /* flip the channels */
            float *r = zt + t * F;
            for (int i = 0; i < half; i++) {
                const float a = r[i];
                r[i] = r[F - 1 - i];
                r[F - 1 - i] = a;
            }
        }
        if (g)
            cond_vec(&c->cond, g, gc);
        vits_tm_conv_from(ctx, &c->t_pre, zt, F, half, T, -1.0f, xp, h, false); /* h [T, H16] */
        memset(out, 0, sizeof(float) * (size_t)(T * H16));
        for (int i = 0; i < nl; i++) {
            vits_tm_conv_from(ctx, &c->t_in[i], h, H16, H, T, -1.0f, xp, hs, false); /* hs [T, H2] */
            const float *gi = g ? gc + (int64_t)i * 2 * H : NULL;
            for (int64_t t = 0; t < T; t++) {
                const float *a = hs + t * H2, *b = a + H;
                float *y = acts + t * H16;
                for (int ch = 0; ch < H; ch++) {
                    const float ga = gi ? gi[ch] : 0.0f, gb = gi ? gi[H + ch] : 0.0f;
                    y[ch] = tanhf(a[ch] + ga) * (1.0f / (1.0f + expf(-(b[ch] + gb))));
                }
                for (int ch = H; ch < H16; ch++)
                    y[ch] = 0.0f;
            }
            vits_tm_conv_from(ctx, &c->t_rs[i], acts, H16, H16, T, -1.0f, xp, rs, false); /* rs [T, H2 or H16] */
            const int rsw = c->t_rs[i].co16;
            for (int64_t t = 0; t < T; t++) {
                const float *r = rs + t * rsw;
                float *x = h + t * H16, *o = out + t * H16;
                if (i < nl - 1)
                    for (int ch = 0; ch < H; ch++) {
                        x[ch] += r[ch];
                        o[ch] += r[H + ch];
                    }
                else
                    for (int ch = 0; ch < H; ch++)
                        o[ch] += r[ch];
            }
        }
        vits_tm_conv_from(ctx, &c->t_post, out, H16, H, T, -1.0f, xp, mean, false); /* mean [T, half16] */
        for (int64_t t = 0; t < T; t++) {
            float *x1 = zt + t * F + half;
            const float *mr = mean + t * half16;
            for (int ch = 0; ch < half; ch++)
                x1[ch] -= mr[ch];
        }
    }
    for (int64_t t = 0; t < T; t++)
        for (int c = 0; c < F; c++)
            z[(int64_t)c * T + t] = zt[t * F + c];
}

/* The HiFi-GAN (vits_decoder and its sizes) is in tts/vits_hifigan.c. */
