/* Silero VAD (snakers4/silero-vad, MIT) run natively: the network of its
 * ONNX model (tools/silero_vad_to_gguf.py documents the graph), per window:
 *   x = [context | window] reflected on the right by `pad`
 *   S = basis · frames(x)                (an STFT as a strided Conv1d)
 *   m = sqrt(re² + im²)                  (the basis's two halves)
 *   y = ReLU(Conv1d(m)) x4               (kernel 3, padding 1, strides 1,2,2,1)
 *   h, c = LSTMCell(y[last frame], h, c) (PyTorch gate order i, f, g, o)
 *   p = mean_t sigmoid(w · ReLU(h) + b)
 * Everything a window needs is allocated with the state; a window allocates
 * nothing. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/gguf.h"
#include "kernels/hparams.h"
#include "kernels/kernels.h"
#include "sori/vad.h"

enum { HID = 128, N_ENC = 4 };
static const int enc_in_rest[N_ENC] = {0, 128, 64, 64}; /* layer 0 takes n_fft/2 + 1 */
static const int enc_out[N_ENC] = {128, 64, 64, 128};
static const int enc_stride[N_ENC] = {1, 2, 2, 1};

typedef struct {
    int rate, n_fft, hop, pad, context, window;
    int n_frames;                /* STFT frames per window */
    int enc_frames[N_ENC];       /* frames after each encoder layer */
    float *basis;                /* [n_fft + 2, n_fft] */
    float *enc_w[N_ENC], *enc_b[N_ENC]; /* [out, in, 3], [out] */
    float *w_ih, *w_hh, *b;      /* [4H, H] each; b = b_ih + b_hh */
    float *out_w, out_b;         /* [H], scalar */
} net;

struct sori_silero_vad {
    net nets[2]; /* 16 and 8 kHz; rate 0: absent */
};

struct sori_silero_vad_state {
    const net *n;
    float *x;             /* context + window + pad */
    float *mag;           /* [n_fft/2 + 1, n_frames] */
    float *act[N_ENC];    /* each layer's output [out, frames] */
    float *spec;          /* one frame's STFT [n_fft + 2] */
    float *col;           /* a layer's inputs per output frame (conv3_relu) */
    float h[HID], c[HID], gates[4 * HID];
};

static void net_free(net *n)
{
    free(n->basis);
    for (int i = 0; i < N_ENC; i++) {
        free(n->enc_w[i]);
        free(n->enc_b[i]);
    }
    free(n->w_ih);
    free(n->w_hh);
    free(n->b);
    free(n->out_w);
    memset(n, 0, sizeof *n);
}

/* A copy of tensor `name` as f32, which must have exactly `count` values. */
static float *take(const sori_gguf *g, const char *name, int64_t count, const char *path, sori_error *err,
                   sori_status *st)
{
    if (*st != SORI_OK)
        return NULL;
    const sori_gguf_tensor *t = sori_gguf_find_tensor(g, name);
    if (!t || t->n_elements != count || (t->type != SORI_GGML_F32 && t->type != SORI_GGML_F16)) {
        *st = sori_fail(err, SORI_ERR_FORMAT, 0, "%s: tensor %s: %s (f32/f16 of %lld values expected)", path, name,
                        t ? "wrong size or type" : "missing", (long long)count);
        return NULL;
    }
    float *x = malloc((size_t)count * sizeof(float));
    if (!x) {
        *st = sori_fail(err, SORI_ERR_NO_MEMORY, 0, "%s: out of memory", path);
        return NULL;
    }
    for (int64_t i = 0; i < count; i++) {
        x[i] = t->type == SORI_GGML_F32 ? ((const float *)t->data)[i] : sori_f16_to_f32(((const uint16_t *)t->data)[i]);
        if (!isfinite(x[i])) {
            free(x);
            *st = sori_fail(err, SORI_ERR_FORMAT, 0, "%s: tensor %s has NaN or infinite values", path, name);
            return NULL;
        }
    }
    return x;
}

/* One rate's network (prefix "r16k" / "r8k"); absent keys: not present. */
static sori_status load_net(const sori_gguf *g, const char *path, const char *prefix, int rate, net *n,
                            sori_error *err)
{
    char key[64], name[64];
    snprintf(key, sizeof key, "sori.silero_vad.%s.n_fft", prefix);
    if (sori_gguf_find_key(g, key) < 0)
        return SORI_OK;
    sori_hparams h = sori_hparams_init(g, path, err);
#define HP(field, lo, hi)                                                                          \
    do {                                                                                           \
        snprintf(key, sizeof key, "sori.silero_vad.%s." #field, prefix);                           \
        n->field = (int)sori_hp_int(&h, key, SORI_HP_REQUIRED, 0, lo, hi);                          \
    } while (0)
    HP(n_fft, 8, 4096);
    HP(hop, 1, 4096);
    HP(pad, 0, 4096);
    HP(context, 0, 4096);
    HP(window, 1, 65536);
#undef HP
    if (h.st == SORI_OK && n->n_fft % 2)
        sori_hp_fail(&h, SORI_ERR_FORMAT, "n_fft", "%s: %d is odd", prefix, n->n_fft);
    if (h.st == SORI_OK && (n->hop > n->n_fft || n->pad >= n->context + n->window))
        sori_hp_fail(&h, SORI_ERR_FORMAT, "hop/pad", "%s: hop %d, pad %d do not fit n_fft %d and %d samples",
                     prefix, n->hop, n->pad, n->n_fft, n->context + n->window);
    const int len = n->context + n->window + n->pad;
    if (h.st == SORI_OK && len < n->n_fft)
        sori_hp_fail(&h, SORI_ERR_FORMAT, "window", "%s: %d samples are shorter than n_fft %d", prefix, len,
                     n->n_fft);
    if (h.st != SORI_OK)
        return h.st;
    n->n_frames = (len - n->n_fft) / n->hop + 1;
    for (int i = 0, t = n->n_frames; i < N_ENC; i++) {
        t = (t + 2 - 3) / enc_stride[i] + 1;
        n->enc_frames[i] = t;
    }
    if (n->enc_frames[N_ENC - 1] != 1) /* the LSTM cell takes one frame per window */
        return sori_fail(err, SORI_ERR_FORMAT, 0, "%s: sori.silero_vad.%s: %d STFT frames per window leave %d "
                         "encoder frames (1 expected)", path, prefix, n->n_frames, n->enc_frames[N_ENC - 1]);
    n->rate = rate;
    sori_status st = SORI_OK;
    const int half = n->n_fft / 2 + 1;
    snprintf(name, sizeof name, "%s.stft.basis", prefix);
    n->basis = take(g, name, (int64_t)(n->n_fft + 2) * n->n_fft, path, err, &st);
    for (int i = 0; i < N_ENC; i++) {
        int cin = i ? enc_in_rest[i] : half;
        snprintf(name, sizeof name, "%s.enc.%d.weight", prefix, i);
        n->enc_w[i] = take(g, name, (int64_t)enc_out[i] * cin * 3, path, err, &st);
        snprintf(name, sizeof name, "%s.enc.%d.bias", prefix, i);
        n->enc_b[i] = take(g, name, enc_out[i], path, err, &st);
    }
    float *b_ih = NULL, *b_hh = NULL, *ob = NULL;
    snprintf(name, sizeof name, "%s.lstm.weight_ih", prefix);
    n->w_ih = take(g, name, 4 * HID * HID, path, err, &st);
    snprintf(name, sizeof name, "%s.lstm.weight_hh", prefix);
    n->w_hh = take(g, name, 4 * HID * HID, path, err, &st);
    snprintf(name, sizeof name, "%s.lstm.bias_ih", prefix);
    b_ih = take(g, name, 4 * HID, path, err, &st);
    snprintf(name, sizeof name, "%s.lstm.bias_hh", prefix);
    b_hh = take(g, name, 4 * HID, path, err, &st);
    snprintf(name, sizeof name, "%s.out.weight", prefix);
    n->out_w = take(g, name, HID, path, err, &st);
    snprintf(name, sizeof name, "%s.out.bias", prefix);
    ob = take(g, name, 1, path, err, &st);
    if (st == SORI_OK) {
        for (int i = 0; i < 4 * HID; i++)
            b_ih[i] += b_hh[i];
        n->b = b_ih;
        b_ih = NULL;
        n->out_b = ob[0];
    }
    free(b_ih);
    free(b_hh);
    free(ob);
    return st;
}

static sori_status load_from(const sori_gguf *g, const char *path, sori_silero_vad **out, sori_error *err)
{
    const char *arch = "";
    sori_gguf_get_str(g, "general.architecture", &arch);
    if (strcmp(arch, "sori.silero_vad") != 0)
        return sori_fail(err, SORI_ERR_UNSUPPORTED, 0, "%s: architecture '%.40s' is not sori.silero_vad", path, arch);
    sori_silero_vad *m = calloc(1, sizeof *m);
    if (!m)
        return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "silero vad: out of memory");
    sori_status st = load_net(g, path, "r16k", 16000, &m->nets[0], err);
    if (st == SORI_OK)
        st = load_net(g, path, "r8k", 8000, &m->nets[1], err);
    if (st == SORI_OK && !m->nets[0].rate && !m->nets[1].rate)
        st = sori_fail(err, SORI_ERR_FORMAT, 0, "%s: no network (sori.silero_vad.r16k.* or r8k.*)", path);
    if (st != SORI_OK) {
        sori_silero_vad_free(m);
        return st;
    }
    *out = m;
    return SORI_OK;
}

sori_status sori_silero_vad_load(const char *path, sori_silero_vad **out, sori_error *err)
{
    if (!path || !out)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "silero vad: NULL argument");
    *out = NULL;
    sori_gguf *g = NULL;
    sori_status st = sori_gguf_open_file(path, &g, err);
    if (st == SORI_OK)
        st = load_from(g, path, out, err);
    sori_gguf_free(g);
    return st;
}

sori_status sori_silero_vad_load_memory(const void *data, size_t size, sori_silero_vad **out, sori_error *err)
{
    if (!data || !out)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "silero vad: NULL argument");
    *out = NULL;
    sori_gguf *g = NULL;
    sori_status st = sori_gguf_open_memory(data, size, &g, err);
    if (st == SORI_OK)
        st = load_from(g, "<memory>", out, err);
    sori_gguf_free(g);
    return st;
}

void sori_silero_vad_free(sori_silero_vad *m)
{
    if (!m)
        return;
    net_free(&m->nets[0]);
    net_free(&m->nets[1]);
    free(m);
}

static const net *net_for(const sori_silero_vad *m, int rate)
{
    for (int i = 0; m && i < 2; i++)
        if (m->nets[i].rate && m->nets[i].rate == rate)
            return &m->nets[i];
    return NULL;
}

int sori_silero_vad_window(const sori_silero_vad *m, int sample_rate_hz)
{
    const net *n = net_for(m, sample_rate_hz);
    return n ? n->window : 0;
}

sori_status sori_silero_vad_state_create(const sori_silero_vad *m, int sample_rate_hz,
                                         sori_silero_vad_state **out, sori_error *err)
{
    if (!m || !out)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "silero vad: NULL argument");
    *out = NULL;
    const net *n = net_for(m, sample_rate_hz);
    if (!n)
        return sori_fail(err, SORI_ERR_UNSUPPORTED, 0, "silero vad: no network for %d Hz (the model has %s%s%s)",
                         sample_rate_hz, m->nets[0].rate ? "16000" : "", m->nets[0].rate && m->nets[1].rate ? ", " : "",
                         m->nets[1].rate ? "8000" : "");
    sori_silero_vad_state *s = calloc(1, sizeof *s);
    bool ok = s != NULL;
    if (ok) {
        s->n = n;
        s->x = calloc((size_t)(n->context + n->window + n->pad), sizeof(float));
        s->mag = calloc((size_t)(n->n_fft / 2 + 1) * (size_t)n->n_frames, sizeof(float));
        s->spec = calloc((size_t)n->n_fft + 2, sizeof(float));
        size_t col = 0; /* the largest layer's tout x cin*3 */
        for (int i = 0, cin = n->n_fft / 2 + 1; i < N_ENC; cin = enc_out[i], i++)
            if ((size_t)n->enc_frames[i] * (size_t)cin * 3 > col)
                col = (size_t)n->enc_frames[i] * (size_t)cin * 3;
        s->col = calloc(col, sizeof(float));
        ok = s->x && s->mag && s->spec && s->col;
        for (int i = 0; i < N_ENC && ok; i++)
            ok = (s->act[i] = calloc((size_t)enc_out[i] * (size_t)n->enc_frames[i], sizeof(float))) != NULL;
    }
    if (!ok) {
        sori_silero_vad_state_free(s);
        return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "silero vad: out of memory");
    }
    *out = s;
    return SORI_OK;
}

void sori_silero_vad_state_reset(sori_silero_vad_state *s)
{
    if (!s)
        return;
    memset(s->x, 0, (size_t)s->n->context * sizeof(float));
    memset(s->h, 0, sizeof s->h);
    memset(s->c, 0, sizeof s->c);
}

void sori_silero_vad_state_free(sori_silero_vad_state *s)
{
    if (!s)
        return;
    free(s->x);
    free(s->mag);
    free(s->spec);
    free(s->col);
    for (int i = 0; i < N_ENC; i++)
        free(s->act[i]);
    free(s);
}

/* Eight partial sums, so the compiler can keep them in one vector register
 * (a plain float sum is a chain it may not reorder). */
static float dot(const float *a, const float *b, int n)
{
    float acc[8] = {0};
    int i = 0;
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; k++)
            acc[k] += a[i + k] * b[i + k];
    float s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    for (; i < n; i++)
        s += a[i] * b[i];
    return s;
}

static float sigmoidf(float z)
{
    return 1.0f / (1.0f + expf(-z));
}

/* y[o, t] = ReLU(b[o] + sum_{c,k} w[o, c, k] x[c, t*stride + k - 1]), x [cin, tin]:
 * each output frame's inputs gathered once in w's own order (col, tout x
 * cin*3, zeros for the padding), then one dot product per output. */
static void conv3_relu(const float *x, int cin, int tin, const float *w, const float *b, int cout, int stride,
                       float *y, int tout, float *col)
{
    const int K = cin * 3;
    for (int t = 0; t < tout; t++)
        for (int c = 0; c < cin; c++)
            for (int k = 0; k < 3; k++) {
                int ti = t * stride + k - 1;
                col[(size_t)t * K + c * 3 + k] = ti >= 0 && ti < tin ? x[(size_t)c * tin + ti] : 0.0f;
            }
    for (int o = 0; o < cout; o++)
        for (int t = 0; t < tout; t++) {
            float v = b[o] + dot(w + (size_t)o * K, col + (size_t)t * K, K);
            y[(size_t)o * tout + t] = v > 0.0f ? v : 0.0f;
        }
}

sori_status sori_silero_vad_process(sori_silero_vad_state *s, const float *samples, int n_samples, float *prob,
                                    sori_error *err)
{
    if (!s || !samples || !prob)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "silero vad: NULL argument");
    const net *n = s->n;
    if (n_samples != n->window)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "silero vad: %d samples, the window at %d Hz is %d", n_samples,
                         n->rate, n->window);
    for (int i = 0; i < n_samples; i++)
        if (!isfinite(samples[i]))
            return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "silero vad: NaN or infinite sample at %d", i);
    /* [context | window], then the right reflection (numpy/ONNX "reflect":
     * the edge sample is not repeated) */
    float *x = s->x;
    const int len = n->context + n->window;
    memcpy(x + n->context, samples, (size_t)n_samples * sizeof(float));
    for (int i = 0; i < n->pad; i++)
        x[len + i] = x[len - 2 - i];
    /* STFT magnitudes [half, frames] */
    const int half = n->n_fft / 2 + 1, T = n->n_frames;
    for (int t = 0; t < T; t++) {
        const float *fr = x + (size_t)t * n->hop;
        for (int k = 0; k < n->n_fft + 2; k++)
            s->spec[k] = dot(n->basis + (size_t)k * n->n_fft, fr, n->n_fft);
        for (int k = 0; k < half; k++)
            s->mag[(size_t)k * T + t] = sqrtf(s->spec[k] * s->spec[k] + s->spec[half + k] * s->spec[half + k]);
    }
    /* the next call's context: this call's last samples */
    memmove(x, x + n->window, (size_t)n->context * sizeof(float));
    /* the encoder */
    const float *in = s->mag;
    int cin = half, tin = T;
    for (int i = 0; i < N_ENC; i++) {
        conv3_relu(in, cin, tin, n->enc_w[i], n->enc_b[i], enc_out[i], enc_stride[i], s->act[i], n->enc_frames[i],
                   s->col);
        in = s->act[i];
        cin = enc_out[i];
        tin = n->enc_frames[i];
    }
    /* the LSTM cell on the last frame (the encoder leaves one) and the head */
    float xin[HID];
    for (int c = 0; c < HID; c++)
        xin[c] = in[(size_t)c * tin + tin - 1];
    for (int r = 0; r < 4 * HID; r++)
        s->gates[r] = n->b[r] + dot(n->w_ih + (size_t)r * HID, xin, HID) + dot(n->w_hh + (size_t)r * HID, s->h, HID);
    float hr[HID];
    for (int j = 0; j < HID; j++) {
        float ig = sigmoidf(s->gates[j]), fg = sigmoidf(s->gates[HID + j]);
        float gg = tanhf(s->gates[2 * HID + j]), og = sigmoidf(s->gates[3 * HID + j]);
        s->c[j] = fg * s->c[j] + ig * gg;
        s->h[j] = og * tanhf(s->c[j]);
        hr[j] = s->h[j] > 0.0f ? s->h[j] : 0.0f;
    }
    *prob = sigmoidf(n->out_b + dot(n->out_w, hr, HID));
    return SORI_OK;
}
