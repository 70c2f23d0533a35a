/* Kokoro-82M: loading a `sori.kokoro` file and ALBERT, the first stage
 * (tts/kokoro.h; the graph and the arithmetic in docs/tts-kokoro.md). */
#include "kokoro.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/cpu/blas.h"
#include "kernels/cpu/gemm_p16.h"
#include "kernels/kernels.h"

#if defined(__AVX2__)
#include <immintrin.h>
#endif

/* ---- loading ------------------------------------------------------------------------ */

typedef struct {
    kokoro_model *m;
    sori_error *err;
    sori_status st;
} loader;

/* Tensor `name` of the given type and numpy shape (outermost first), or NULL with the reason. */
static const void *tensor(loader *L, const char *name, uint32_t type, int n, const int64_t *dims)
{
    if (L->st != SORI_OK)
        return NULL;
    const sori_gguf_tensor *t = sori_gguf_find_tensor(L->m->g, name);
    if (!t) {
        L->st = sori_fail(L->err, SORI_ERR_FORMAT, 0, "%s: tensor %s is missing", L->m->path, name);
        return NULL;
    }
    int ok = t->type == type && t->n_dims == n;
    for (int i = 0; ok && i < n; i++)
        ok = t->ne[n - 1 - i] == dims[i];
    if (!ok) {
        const char *tn = sori_ggml_type_name(t->type), *want = sori_ggml_type_name(type);
        L->st = sori_fail(L->err, SORI_ERR_FORMAT, 0, "%s: tensor %s: %s of %d dims [%lld …], %s [%lld …] expected",
                          L->m->path, name, tn ? tn : "unknown type", t->n_dims, (long long)t->ne[t->n_dims - 1],
                          want ? want : "?", (long long)dims[0]);
        return NULL;
    }
    if (type == SORI_GGML_F32)
        for (int64_t i = 0; i < t->n_elements; i++)
            if (!isfinite(((const float *)t->data)[i])) {
                L->st = sori_fail(L->err, SORI_ERR_FORMAT, 0, "%s: tensor %s has NaN or infinite values", L->m->path,
                                  name);
                return NULL;
            }
    return t->data;
}

static const float *vec(loader *L, const char *name, int64_t n)
{
    return tensor(L, name, SORI_GGML_F32, 1, &n);
}

static void linear(loader *L, const char *name, int out, int in, kokoro_linear *l)
{
    char key[192];
    const int64_t dims[2] = {out, in};
    snprintf(key, sizeof key, "%s.weight", name);
    l->w = tensor(L, key, SORI_GGML_I8, 2, dims);
    snprintf(key, sizeof key, "%s.weight_scale", name);
    l->scale = vec(L, key, out);
    snprintf(key, sizeof key, "%s.bias", name);
    l->bias = vec(L, key, out);
    l->out = out;
    l->in = in;
}

static void lstm(loader *L, const char *name, int in, int units, kokoro_lstm *l)
{
    char key[192];
    const int64_t wi[3] = {2, 4 * units, in}, wh[3] = {2, 4 * units, units}, two = 2, b[2] = {2, 4 * units};
    snprintf(key, sizeof key, "%s.weight_ih", name);
    l->w_ih = tensor(L, key, SORI_GGML_I8, 3, wi);
    snprintf(key, sizeof key, "%s.weight_ih_scale", name);
    l->s_ih = tensor(L, key, SORI_GGML_F32, 1, &two);
    snprintf(key, sizeof key, "%s.weight_hh", name);
    l->w_hh = tensor(L, key, SORI_GGML_I8, 3, wh);
    snprintf(key, sizeof key, "%s.weight_hh_scale", name);
    l->s_hh = tensor(L, key, SORI_GGML_F32, 1, &two);
    snprintf(key, sizeof key, "%s.bias_ih", name);
    l->b_ih = tensor(L, key, SORI_GGML_F32, 2, b);
    snprintf(key, sizeof key, "%s.bias_hh", name);
    l->b_hh = tensor(L, key, SORI_GGML_F32, 2, b);
    l->in = in;
    l->units = units;
}

/* a buffer the model owns (freed by kokoro_free); NULL and L->st set when out of memory */
static void *owned(loader *L, size_t bytes)
{
    kokoro_model *m = L->m;
    if (m->n_owned == m->cap_owned) {
        const int cap = m->cap_owned ? 2 * m->cap_owned : 64;
        void **p = realloc(m->owned, sizeof *p * (size_t)cap);
        if (!p)
            goto fail;
        m->owned = p, m->cap_owned = cap;
    }
    void *b = malloc(bytes ? bytes : 1);
    if (!b)
        goto fail;
    return m->owned[m->n_owned++] = b;
fail:
    L->st = sori_fail(L->err, SORI_ERR_NO_MEMORY, 0, "%s: out of memory", m->path);
    return NULL;
}

int64_t kokoro_conv_packed_bytes(int out, int in, int k)
{
    return (int64_t)(out + 15) / 16 * (((int64_t)in * k + 3) / 4) * 64;
}

void kokoro_conv_pack(const kokoro_conv *c, const int8_t *w_file, int8_t *w_tap, int8_t *wp, int32_t *wsum)
{
    const int64_t O = c->out, C = c->in, K = c->k, CK = C * K, KQ = (CK + 3) / 4;
    if (wp)
        memset(wp, 0, (size_t)kokoro_conv_packed_bytes(c->out, c->in, c->k));
    for (int64_t o = 0; o < O; o++) {
        int32_t sm = 0;
        for (int64_t ci = 0; ci < C; ci++)
            for (int64_t k = 0; k < K; k++) {
                const int8_t v = w_file[(o * C + ci) * K + k];
                const int64_t i = k * C + ci; /* its place in the window */
                sm += v;
                if (w_tap)
                    w_tap[o * CK + i] = v;
                if (wp)
                    wp[((o / 16 * KQ + i / 4) * 16 + o % 16) * 4 + i % 4] = v;
            }
        if (wsum)
            wsum[o] = sm;
    }
}

int64_t kokoro_conv_pair_bytes(int out, int in, int k)
{
    return (int64_t)(out + 15) / 16 * k * in * 16;
}

void kokoro_conv_pack_pairs(const kokoro_conv *c, const int8_t *w_file, int8_t *w2)
{
    const int64_t O = c->out, C = c->in, K = c->k, P = C * K / 2; /* pairs in a window */
    memset(w2, 0, (size_t)kokoro_conv_pair_bytes(c->out, c->in, c->k));
    for (int64_t o = 0; o < O; o++) {
        int8_t *dst = w2 + (o / 16 * P * 2 + o % 16 / 8) * 16 + o % 8 * 2; /* pair 0, this channel's lane */
        for (int64_t k = 0; k < K; k++)
            for (int64_t ci = 0; ci < C; ci++) {
                const int64_t i = k * C + ci; /* the window entry */
                dst[i / 2 * 32 + i % 2] = w_file[(o * C + ci) * K + k];
            }
    }
}

bool kokoro_avx2_pairs(void)
{
#if defined(__AVX2__)
    return true;
#else
    return false;
#endif
}

/* The AVX2 product reads pairs of window entries; without AVX2 (or for an odd in) the tap-major rows */
static bool pairs_path(const kokoro_conv *c)
{
    return kokoro_avx2_pairs() && c->in % 2 == 0;
}

/* The weight laid out for this CPU's product (kokoro_conv's comment); the file's copy is not read
 * again (its pages, clean, are the kernel's to reclaim) */
static void conv_layout(loader *L, kokoro_conv *c)
{
    const bool packed = kokoro_avx512(), pairs = !packed && pairs_path(c);
    int32_t *sum = packed ? owned(L, sizeof(int32_t) * (size_t)c->out) : NULL;
    int8_t *wp = packed ? owned(L, (size_t)kokoro_conv_packed_bytes(c->out, c->in, c->k)) : NULL;
    int8_t *w2 = pairs ? owned(L, (size_t)kokoro_conv_pair_bytes(c->out, c->in, c->k)) : NULL;
    int8_t *wt = !packed && !pairs && c->k > 1 ? owned(L, (size_t)c->out * c->in * c->k) : NULL;
    if (L->st != SORI_OK)
        return;
    if (wt || wp || sum)
        kokoro_conv_pack(c, c->w, wt, wp, sum);
    if (w2)
        kokoro_conv_pack_pairs(c, c->w, w2);
    c->wp = wp;
    c->wsum = sum;
    c->w2 = w2;
    if (wt)
        c->w = wt;
}

static void conv(loader *L, const char *name, int out, int in, int k, int stride, int pad, int dil, bool bias,
                 kokoro_conv *c)
{
    char key[256];
    const int64_t dims[3] = {out, in, k}, one = 1;
    snprintf(key, sizeof key, "%s.weight", name);
    c->w = tensor(L, key, SORI_GGML_I8, 3, dims);
    snprintf(key, sizeof key, "%s.weight_scale", name);
    const float *sc = tensor(L, key, SORI_GGML_F32, 1, &one);
    snprintf(key, sizeof key, "%s.weight_zero_point", name);
    const int32_t *zp = tensor(L, key, SORI_GGML_I32, 1, &one);
    if (bias) {
        snprintf(key, sizeof key, "%s.bias", name);
        c->bias = vec(L, key, out);
    } else {
        c->bias = NULL;
    }
    if (L->st == SORI_OK && (*zp < -128 || *zp > 127 || !(*sc > 0.0f)))
        L->st = sori_fail(L->err, SORI_ERR_FORMAT, 0, "%s: %s: zero point %d or scale %g out of range", L->m->path,
                          name, *zp, *sc);
    c->scale = sc ? *sc : 0.0f;
    c->zp = zp ? *zp : 0;
    c->out = out;
    c->in = in;
    c->k = k;
    c->stride = stride;
    c->pad = pad;
    c->dil = dil;
    c->wp = NULL;
    c->wsum = NULL;
    c->w2 = NULL;
    if (L->st == SORI_OK)
        conv_layout(L, c);
}

static void adain_block(loader *L, const char *name, int cin, int cout, int up, int style_dim,
                        kokoro_adain_block *b)
{
    char key[192];
    b->cin = cin;
    b->cout = cout;
    b->up = up;
    b->learned = cin != cout;
    snprintf(key, sizeof key, "%s.norm1.fc", name);
    linear(L, key, 2 * cin, style_dim, &b->norm1);
    snprintf(key, sizeof key, "%s.norm2.fc", name);
    linear(L, key, 2 * cout, style_dim, &b->norm2);
    snprintf(key, sizeof key, "%s.conv1", name);
    conv(L, key, cout, cin, 3, 1, 1, 1, true, &b->conv1);
    snprintf(key, sizeof key, "%s.conv2", name);
    conv(L, key, cout, cout, 3, 1, 1, 1, true, &b->conv2);
    if (b->learned) {
        snprintf(key, sizeof key, "%s.conv1x1", name);
        conv(L, key, cout, cin, 1, 1, 0, 1, false, &b->conv1x1);
    }
    if (up) {
        const int64_t pw[3] = {cin, 1, 3};
        snprintf(key, sizeof key, "%s.pool.weight", name);
        b->pool_w = tensor(L, key, SORI_GGML_F32, 3, pw);
        snprintf(key, sizeof key, "%s.pool.bias", name);
        b->pool_b = vec(L, key, cin);
    }
}

static void resblock(loader *L, const char *name, int ch, int k, int style_dim, kokoro_resblock *r)
{
    char key[192];
    const int dil[3] = {1, 3, 5};
    const int64_t c = ch;
    r->ch = ch;
    r->k = k;
    for (int j = 0; j < 3; j++) {
        snprintf(key, sizeof key, "%s.adain1.%d.fc", name, j);
        linear(L, key, 2 * ch, style_dim, &r->a1[j]);
        snprintf(key, sizeof key, "%s.adain2.%d.fc", name, j);
        linear(L, key, 2 * ch, style_dim, &r->a2[j]);
        snprintf(key, sizeof key, "%s.convs1.%d", name, j);
        conv(L, key, ch, ch, k, 1, dil[j] * (k - 1) / 2, dil[j], true, &r->c1[j]);
        snprintf(key, sizeof key, "%s.convs2.%d", name, j);
        conv(L, key, ch, ch, k, 1, (k - 1) / 2, 1, true, &r->c2[j]);
        snprintf(key, sizeof key, "%s.alpha1.%d", name, j);
        r->al1[j] = tensor(L, key, SORI_GGML_F32, 1, &c);
        snprintf(key, sizeof key, "%s.alpha2.%d", name, j);
        r->al2[j] = tensor(L, key, SORI_GGML_F32, 1, &c);
    }
}

/* A ConvTranspose1d weight [in, out, k] (f32) copied as [k][in][out]: one product per tap */
/* ConvTranspose1d `name` [in, out, k] (f32) packed for the time-major product (tts/tm.h) */
static void tconv_weight(loader *L, const char *name, const float *bias, int in, int out, int k, int stride,
                         vits_tmconvt *t)
{
    const int64_t dims[3] = {in, out, k};
    const float *w = tensor(L, name, SORI_GGML_F32, 3, dims);
    if (!w)
        return;
    const nn_convt c = {w, bias, in, out, k, stride, (k - stride) / 2};
    if (in % 16 || out % 16 || !vits_tm_pack_convt(&c, t)) {
        memset(t, 0, sizeof *t);
        L->st = sori_fail(L->err, in % 16 || out % 16 ? SORI_ERR_UNSUPPORTED : SORI_ERR_NO_MEMORY, 0,
                          "%s: %s: %s", L->m->path, name,
                          in % 16 || out % 16 ? "channels not a multiple of 16" : "out of memory");
    }
}

/* An int8 embedding table [rows, dim] with one scale, dequantized (w · scale is exact in f32). */
static float *embedding(loader *L, const char *name, int rows, int dim)
{
    char key[192];
    const int64_t dims[2] = {rows, dim};
    snprintf(key, sizeof key, "%s.weight", name);
    const int8_t *w = tensor(L, key, SORI_GGML_I8, 2, dims);
    snprintf(key, sizeof key, "%s.weight_scale", name);
    const float *s = vec(L, key, 1);
    if (!w || !s)
        return NULL;
    float *out = malloc(sizeof(float) * (size_t)rows * dim);
    if (!out) {
        L->st = sori_fail(L->err, SORI_ERR_NO_MEMORY, 0, "%s: out of memory", L->m->path);
        return NULL;
    }
    for (int64_t i = 0; i < (int64_t)rows * dim; i++)
        out[i] = (float)w[i] * s[0];
    return out;
}

static int key_u32(loader *L, const char *key, int lo, int hi)
{
    if (L->st != SORI_OK)
        return 0;
    int64_t v = 0;
    if (sori_gguf_get_int(L->m->g, key, &v) != SORI_OK || v < lo || v > hi) {
        L->st = sori_fail(L->err, SORI_ERR_FORMAT, 0, "%s: key %s is missing or out of range (%d..%d)", L->m->path,
                          key, lo, hi);
        return 0;
    }
    return (int)v;
}

/* The vocabulary (n_token strings, "" for unused ids) and the voice pack: names and [rows, 2S] style tables */
static void vocab_and_voices(loader *L)
{
    kokoro_model *m = L->m;
    if (L->st != SORI_OK)
        return;
    sori_gguf_type et;
    uint64_t n = 0;
    if (sori_gguf_get_arr_info(m->g, "sori.kokoro.vocab", &et, &n) != SORI_OK || et != SORI_GGUF_STRING ||
        n != (uint64_t)m->n_token) {
        L->st = sori_fail(L->err, SORI_ERR_FORMAT, 0, "%s: sori.kokoro.vocab: %d strings expected", m->path,
                          m->n_token);
        return;
    }
    m->vocab = calloc((size_t)n, sizeof *m->vocab);
    if (!m->vocab) {
        L->st = sori_fail(L->err, SORI_ERR_NO_MEMORY, 0, "%s: out of memory", m->path);
        return;
    }
    for (uint64_t i = 0; i < n; i++)
        if (sori_gguf_get_arr_str(m->g, "sori.kokoro.vocab", i, &m->vocab[i]) != SORI_OK || !m->vocab[i])
            m->vocab[i] = "";
    if (sori_gguf_get_arr_info(m->g, "sori.kokoro.voices", &et, &n) != SORI_OK || et != SORI_GGUF_STRING || n < 1 ||
        n > 4096) {
        L->st = sori_fail(L->err, SORI_ERR_FORMAT, 0, "%s: sori.kokoro.voices: 1 to 4096 voice names expected",
                          m->path);
        return;
    }
    m->voice_names = calloc((size_t)n, sizeof *m->voice_names);
    m->voices = calloc((size_t)n, sizeof *m->voices);
    if (!m->voice_names || !m->voices) {
        L->st = sori_fail(L->err, SORI_ERR_NO_MEMORY, 0, "%s: out of memory", m->path);
        return;
    }
    m->n_voices = (int)n;
    m->style_rows = 0;
    for (int i = 0; i < m->n_voices && L->st == SORI_OK; i++) {
        char name[160];
        if (sori_gguf_get_arr_str(m->g, "sori.kokoro.voices", (uint64_t)i, &m->voice_names[i]) != SORI_OK ||
            !m->voice_names[i] || !m->voice_names[i][0] || strlen(m->voice_names[i]) > 100) {
            L->st = sori_fail(L->err, SORI_ERR_FORMAT, 0, "%s: sori.kokoro.voices[%d] is not a name", m->path, i);
            return;
        }
        snprintf(name, sizeof name, "voice.%s", m->voice_names[i]);
        const sori_gguf_tensor *t = sori_gguf_find_tensor(m->g, name);
        const int64_t rows = t && t->n_dims == 2 ? t->ne[1] : 0;
        if (i == 0)
            m->style_rows = (int)(rows > 0 && rows < 100000 ? rows : 0);
        const int64_t dims[2] = {m->style_rows, 2 * (int64_t)m->style_dim};
        if (rows != m->style_rows || m->style_rows < 1) {
            L->st = sori_fail(L->err, SORI_ERR_FORMAT, 0, "%s: tensor %s: [%d, %d] expected (every voice alike)",
                              m->path, name, m->style_rows, 2 * m->style_dim);
            return;
        }
        m->voices[i] = tensor(L, name, SORI_GGML_F32, 2, dims);
    }
}

sori_status kokoro_load(const char *path, kokoro_model **out, sori_error *err)
{
    if (!path || !out)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "kokoro: no path");
    *out = NULL;
    sori_gguf *g = NULL;
    const sori_status st = sori_gguf_open_file(path, &g, err);
    return st == SORI_OK ? kokoro_load_gguf(g, path, out, err) : st;
}

sori_status kokoro_load_gguf(sori_gguf *g, const char *path, kokoro_model **out, sori_error *err)
{
    if (!g || !path || !out) {
        sori_gguf_free(g);
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "kokoro: no file");
    }
    *out = NULL;
    kokoro_model *m = calloc(1, sizeof *m);
    if (!m) {
        sori_gguf_free(g);
        return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "kokoro: out of memory");
    }
    snprintf(m->path, sizeof m->path, "%s", path);
    m->g = g;
    loader L = {m, err, SORI_OK};
    const char *arch = NULL, *quant = NULL;
    if (L.st == SORI_OK && (sori_gguf_get_str(m->g, "general.architecture", &arch) != SORI_OK ||
                            strcmp(arch, "sori.kokoro") != 0))
        L.st = sori_fail(err, SORI_ERR_FORMAT, 0, "%s: architecture %s, sori.kokoro expected", path,
                         arch ? arch : "(none)");
    if (L.st == SORI_OK && (sori_gguf_get_str(m->g, "sori.kokoro.quantization", &quant) != SORI_OK ||
                            strcmp(quant, "ort-dynamic-u8s8") != 0))
        L.st = sori_fail(err, SORI_ERR_UNSUPPORTED, 0, "%s: quantization %s, ort-dynamic-u8s8 expected", path,
                         quant ? quant : "(none)");
    m->n_token = key_u32(&L, "sori.kokoro.n_token", 1, 4096);
    m->hidden_dim = key_u32(&L, "sori.kokoro.hidden_dim", 1, 4096);
    m->hidden = key_u32(&L, "sori.kokoro.bert.hidden", 16, 4096);
    m->emb = key_u32(&L, "sori.kokoro.bert.embedding", 16, 4096);
    m->heads = key_u32(&L, "sori.kokoro.bert.heads", 1, 64);
    m->layers = key_u32(&L, "sori.kokoro.bert.layers", 1, 64);
    m->inter = key_u32(&L, "sori.kokoro.bert.intermediate", 16, 16384);
    m->max_pos = key_u32(&L, "sori.kokoro.bert.max_position", 1, 65536);
    if (L.st == SORI_OK && m->hidden % m->heads != 0)
        L.st = sori_fail(err, SORI_ERR_FORMAT, 0, "%s: %d heads do not divide ALBERT's width %d", path, m->heads,
                         m->hidden);
    const int H = m->hidden, E = m->emb;
    m->word = embedding(&L, "encoder.bert.embeddings.word_embeddings", m->n_token, E);
    m->pos = embedding(&L, "encoder.bert.embeddings.position_embeddings", m->max_pos, E);
    m->type = embedding(&L, "encoder.bert.embeddings.token_type_embeddings", 2, E);
    m->emb_ln_w = vec(&L, "encoder.bert.embeddings.LayerNorm.weight", E);
    m->emb_ln_b = vec(&L, "encoder.bert.embeddings.LayerNorm.bias", E);
    linear(&L, "encoder.bert.encoder.embedding_hidden_mapping_in", H, E, &m->map_in);
#define LAYER "encoder.bert.encoder.albert_layer_groups.0.albert_layers.0."
    linear(&L, LAYER "attention.query", H, H, &m->q);
    linear(&L, LAYER "attention.key", H, H, &m->k);
    linear(&L, LAYER "attention.value", H, H, &m->v);
    linear(&L, LAYER "attention.dense", H, H, &m->dense);
    linear(&L, LAYER "ffn", m->inter, H, &m->ffn);
    linear(&L, LAYER "ffn_output", H, m->inter, &m->ffn_out);
    m->att_ln_w = vec(&L, LAYER "attention.LayerNorm.weight", H);
    m->att_ln_b = vec(&L, LAYER "attention.LayerNorm.bias", H);
    m->full_ln_w = vec(&L, LAYER "full_layer_layer_norm.weight", H);
    m->full_ln_b = vec(&L, LAYER "full_layer_layer_norm.bias", H);
#undef LAYER
    linear(&L, "encoder.bert_encoder", m->hidden_dim, H, &m->bert_enc);
    m->style_dim = key_u32(&L, "sori.kokoro.style_dim", 1, 4096);
    m->max_dur = key_u32(&L, "sori.kokoro.max_dur", 1, 4096);
    if (L.st == SORI_OK && m->hidden_dim % 2 != 0)
        L.st = sori_fail(err, SORI_ERR_FORMAT, 0, "%s: hidden_dim %d is odd (two LSTM directions)", path,
                         m->hidden_dim);
    const int D = m->hidden_dim, S = m->style_dim;
    for (int i = 0; i < 3; i++) {
        char name[128];
        snprintf(name, sizeof name, "encoder.predictor.text_encoder.lstms.%d", 2 * i);
        lstm(&L, name, D + S, D / 2, &m->dur_lstm[i]);
        snprintf(name, sizeof name, "encoder.predictor.text_encoder.lstms.%d.fc", 2 * i + 1);
        linear(&L, name, 2 * D, S, &m->dur_fc[i]);
    }
    lstm(&L, "encoder.predictor.lstm", D + S, D / 2, &m->pred_lstm);
    linear(&L, "encoder.predictor.duration_proj.linear_layer", m->max_dur, D, &m->dur_proj);
    m->te_emb = embedding(&L, "encoder.text_encoder.embedding", m->n_token, D);
    for (int i = 0; i < 3; i++) {
        char name[128];
        snprintf(name, sizeof name, "encoder.text_encoder.cnn.%d.0", i);
        conv(&L, name, D, D, 5, 1, 2, 1, true, &m->te_conv[i]);
        snprintf(name, sizeof name, "encoder.text_encoder.cnn.%d.1.gamma", i);
        m->te_gamma[i] = vec(&L, name, D);
        snprintf(name, sizeof name, "encoder.text_encoder.cnn.%d.1.beta", i);
        m->te_beta[i] = vec(&L, name, D);
    }
    lstm(&L, "encoder.text_encoder.lstm", D, D / 2, &m->te_lstm);
    lstm(&L, "encoder.predictor.shared", D + S, D / 2, &m->shared);
    for (int i = 0; i < 3; i++) {
        char name[128];
        const int cin = i == 0 ? D : i == 1 ? D : D / 2, cout = i == 0 ? D : D / 2;
        snprintf(name, sizeof name, "encoder.predictor.F0.%d", i);
        adain_block(&L, name, cin, cout, i == 1, S, &m->f0[i]);
        snprintf(name, sizeof name, "encoder.predictor.N.%d", i);
        adain_block(&L, name, cin, cout, i == 1, S, &m->nb[i]);
    }
    conv(&L, "encoder.predictor.F0_proj", 1, D / 2, 1, 1, 0, 1, true, &m->f0_proj);
    conv(&L, "encoder.predictor.N_proj", 1, D / 2, 1, 1, 0, 1, true, &m->n_proj);
    conv(&L, "decoder.decoder.F0_conv", 1, 1, 3, 2, 1, 1, true, &m->dec_f0);
    conv(&L, "decoder.decoder.N_conv", 1, 1, 3, 2, 1, 1, true, &m->dec_n);
    conv(&L, "decoder.decoder.asr_res.0", 64, D, 1, 1, 0, 1, true, &m->asr_res);
    adain_block(&L, "decoder.decoder.encode", D + 2, 2 * D, 0, S, &m->encode);
    for (int i = 0; i < 4; i++) {
        char name[128];
        snprintf(name, sizeof name, "decoder.decoder.decode.%d", i);
        adain_block(&L, name, 2 * D + 64 + 2, i < 3 ? 2 * D : D, i == 3, S, &m->decode[i]);
    }
    /* the generator: Kokoro-82M's shapes (upsampling ×10 then ×6, kernels 20 and 12; resblocks of
     * kernels 3, 7, 11; n_fft 20, hop 5); any other file is refused by the tensors' shapes */
    if (L.st == SORI_OK && (key_u32(&L, "sori.kokoro.istft.n_fft", 1, 4096) != 20 ||
                            key_u32(&L, "sori.kokoro.istft.hop", 1, 4096) != 5 || L.st != SORI_OK))
        L.st = sori_fail(err, SORI_ERR_UNSUPPORTED, 0, "%s: only Kokoro-82M's inverse STFT (n_fft 20, hop 5) is "
                         "supported", path);
    const int64_t nine[2] = {1, 9}, one = 1, twenty = 20, basis[3] = {22, 1, 20}, post[3] = {22, D / 4, 7};
    m->src_w = tensor(&L, "decoder.decoder.generator.m_source.l_linear.weight", SORI_GGML_F32, 2, nine);
    m->src_b = tensor(&L, "decoder.decoder.generator.m_source.l_linear.bias", SORI_GGML_F32, 1, &one);
    m->stft_win = vec(&L, "decoder.decoder.generator.stft.window", twenty);
    m->inv_basis = tensor(&L, "decoder.decoder.generator.stft.istft.stft.inverse_basis", SORI_GGML_F32, 3, basis);
    m->win_sum = vec(&L, "decoder.decoder.generator.stft.istft.stft.window_sum", twenty);
    const int rates[2] = {10, 6}, kern[2] = {20, 12}, rk[3] = {3, 7, 11};
    for (int i = 0; i < 2; i++) {
        char name[128];
        const int cin = D >> i, cout = D >> (i + 1);
        m->ups_in[i] = cin;
        m->ups_out[i] = cout;
        m->ups_k[i] = kern[i];
        m->ups_s[i] = rates[i];
        m->ups_p[i] = (kern[i] - rates[i]) / 2;
        snprintf(name, sizeof name, "decoder.decoder.generator.ups.%d.weight", i);
        char bname[160];
        snprintf(bname, sizeof bname, "decoder.decoder.generator.ups.%d.bias", i);
        m->ups_b[i] = vec(&L, bname, cout);
        if (m->ups_b[i])
            tconv_weight(&L, name, m->ups_b[i], cin, cout, kern[i], rates[i], &m->ups_t[i]);
        snprintf(name, sizeof name, "decoder.decoder.generator.noise_convs.%d", i);
        if (i == 0)
            conv(&L, name, cout, 22, 12, 6, 3, 1, true, &m->noise_conv[0]);
        else
            conv(&L, name, cout, 22, 1, 1, 0, 1, true, &m->noise_conv[1]);
        snprintf(name, sizeof name, "decoder.decoder.generator.noise_res.%d", i);
        resblock(&L, name, cout, i == 0 ? 7 : 11, S, &m->noise_res[i]);
        for (int j = 0; j < 3; j++) {
            snprintf(name, sizeof name, "decoder.decoder.generator.resblocks.%d", 3 * i + j);
            resblock(&L, name, cout, rk[j], S, &m->res[3 * i + j]);
        }
    }
    m->post_w = tensor(&L, "decoder.decoder.generator.conv_post.weight", SORI_GGML_F32, 3, post);
    m->post_b = tensor(&L, "decoder.decoder.generator.conv_post.bias", SORI_GGML_F32, 1, &basis[0]);
    m->sample_rate = key_u32(&L, "sori.kokoro.sample_rate", 1000, 192000);
    vocab_and_voices(&L);
    if (L.st != SORI_OK) {
        kokoro_free(m);
        return L.st;
    }
    *out = m;
    return SORI_OK;
}

void kokoro_free(kokoro_model *m)
{
    if (!m)
        return;
    free(m->word);
    free(m->pos);
    free(m->type);
    free(m->te_emb);
    for (int i = 0; i < 2; i++) {
        free(m->ups_t[i].w);
        free(m->ups_t[i].b);
    }
    free(m->vocab);
    free(m->voice_names);
    free(m->voices);
    for (int i = 0; i < m->n_owned; i++)
        free(m->owned[i]);
    free(m->owned);
    sori_gguf_free(m->g);
    free(m);
}

/* ---- onnxruntime's dynamic int8 product --------------------------------------------- */

/* The pool the calling thread's stages split their products over (kokoro_use_pool); NULL: serial. */
static _Thread_local sori_thread_pool *tl_pool;

void kokoro_use_pool(sori_thread_pool *pool)
{
    tl_pool = pool;
}

/* Σ a[i] · w[i] in exact int32: a the activations minus their zero point (int16, |a| <= 255), w int8 */
static int32_t dot_i16_i8(const int16_t *a, const int8_t *w, int n)
{
    int i = 0;
    int32_t sum = 0;
#if defined(__AVX2__)
    __m256i acc = _mm256_setzero_si256();
    for (; i + 16 <= n; i += 16) {
        const __m256i wv = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(w + i)));
        acc = _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)(a + i)), wv));
    }
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(acc), _mm256_extracti128_si256(acc, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
    sum = _mm_cvtsi128_si32(s);
#endif
    for (; i < n; i++)
        sum += (int32_t)a[i] * w[i];
    return sum;
}

/* DynamicQuantizeLinear's range over n values: the scale, and the zero point in *zp_out */
static float quant_range(const float *x, int64_t n, int *zp_out)
{
    float lo = 0.0f, hi = 0.0f;
    int64_t i = 0;
#if defined(__AVX2__)
    __m256 vlo = _mm256_setzero_ps(), vhi = vlo;
    for (; i + 8 <= n; i += 8) { /* min and max are exact: any order gives the same */
        const __m256 v = _mm256_loadu_ps(x + i);
        vlo = _mm256_min_ps(v, vlo);
        vhi = _mm256_max_ps(v, vhi);
    }
    float l8[8], h8[8];
    _mm256_storeu_ps(l8, vlo);
    _mm256_storeu_ps(h8, vhi);
    for (int k = 0; k < 8; k++) {
        lo = l8[k] < lo ? l8[k] : lo;
        hi = h8[k] > hi ? h8[k] : hi;
    }
#endif
    for (; i < n; i++) {
        lo = x[i] < lo ? x[i] : lo;
        hi = x[i] > hi ? x[i] : hi;
    }
    float scale = (hi - lo) / 255.0f;
    if (!(scale > 0.0f)) /* all zeros (or not finite): every q at the zero point */
        scale = 1.0f;
    float zpf = rintf(-lo / scale);
    *zp_out = zpf < 0.0f ? 0 : zpf > 255.0f ? 255 : (int)zpf;
    return scale;
}

/* DynamicQuantizeLinear over n values: q = the uint8 codes minus the zero point (|q| <= 255); the scale */
static float quantize(const float *x, int64_t n, int16_t *q)
{
    int zp;
    const float scale = quant_range(x, n, &zp);
    int64_t i = 0;
#if defined(__AVX2__)
    /* the same IEEE division and round-half-even as below, 8 at a time */
    const __m256 sc = _mm256_set1_ps(scale), zv = _mm256_set1_ps((float)zp), top = _mm256_set1_ps(255.0f);
    const __m256i zi = _mm256_set1_epi32(zp);
    for (; i + 8 <= n; i += 8) {
        __m256 v = _mm256_round_ps(_mm256_div_ps(_mm256_loadu_ps(x + i), sc), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        v = _mm256_max_ps(_mm256_min_ps(_mm256_add_ps(v, zv), top), _mm256_setzero_ps());
        const __m256i d = _mm256_sub_epi32(_mm256_cvtps_epi32(v), zi);
        const __m256i p = _mm256_permute4x64_epi64(_mm256_packs_epi32(d, d), 0xD8);
        _mm_storeu_si128((__m128i *)(q + i), _mm256_castsi256_si128(p));
    }
#endif
    for (; i < n; i++) {
        float v = rintf(x[i] / scale) + (float)zp;
        v = v < 0.0f ? 0.0f : v > 255.0f ? 255.0f : v;
        q[i] = (int16_t)((int)v - zp);
    }
    return scale;
}

/* The same codes as uint8, zero point included (q + zp of quantize); the scale, the zero point in *zp_out */
static float quantize_u8(const float *x, int64_t n, uint8_t *q, int *zp_out)
{
    int zp;
    const float scale = quant_range(x, n, &zp);
    *zp_out = zp;
    int64_t i = 0;
#if defined(__AVX2__)
    const __m256 sc = _mm256_set1_ps(scale), zv = _mm256_set1_ps((float)zp), top = _mm256_set1_ps(255.0f);
    for (; i + 8 <= n; i += 8) {
        __m256 v = _mm256_round_ps(_mm256_div_ps(_mm256_loadu_ps(x + i), sc), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        v = _mm256_max_ps(_mm256_min_ps(_mm256_add_ps(v, zv), top), _mm256_setzero_ps());
        const __m256i d = _mm256_cvtps_epi32(v); /* 0..255 */
        const __m128i w16 = _mm_packs_epi32(_mm256_castsi256_si128(d), _mm256_extracti128_si256(d, 1));
        _mm_storel_epi64((__m128i *)(q + i), _mm_packus_epi16(w16, w16));
    }
#endif
    for (; i < n; i++) {
        float v = rintf(x[i] / scale) + (float)zp;
        v = v < 0.0f ? 0.0f : v > 255.0f ? 255.0f : v;
        q[i] = (uint8_t)(int)v;
    }
    return scale;
}

/* y [rows, out] = (int32 Σ q · w) × (x_scale · w_scale), w_scale per column (col_scale) or one for all */
static void qblock(const int16_t *a, int64_t lda, int rows, const int8_t *w, int64_t ldw, int cols, int n,
                   int32_t *out, int64_t ldo);

typedef struct {
    const int16_t *q;
    float x_scale, one_scale;
    int rows, in, out;
    const int8_t *w;
    const float *col_scale, *bias;
    float *y;
} qproduct_job;

/* columns [c_begin, c_end) in blocks of 64, rows 8 at a time: exact int32 sums, then the scales */
static void qproduct_part(void *ctx, int64_t c_begin, int64_t c_end)
{
    const qproduct_job *j = ctx;
    int32_t acc[8 * 64];
    const bool wide = kokoro_avx512();
    for (int64_t c0 = c_begin; c0 < c_end; c0 += 64) {
        const int nc = (int)(c_end - c0 < 64 ? c_end - c0 : 64);
        for (int r0 = 0; r0 < j->rows; r0 += 8) {
            const int nr = j->rows - r0 < 8 ? j->rows - r0 : 8;
            const int16_t *a = j->q + (int64_t)r0 * j->in;
            const int8_t *w = j->w + c0 * j->in;
#ifdef SORI_KOKORO_AVX512
            if (wide)
                kokoro_qblock_avx512(a, j->in, nr, w, j->in, nc, j->in, acc, 64);
            else
#endif
                qblock(a, j->in, nr, w, j->in, nc, j->in, acc, 64);
            for (int r = 0; r < nr; r++)
                for (int k = 0; k < nc; k++) {
                    const int64_t c = c0 + k;
                    const float s = j->x_scale * (j->col_scale ? j->col_scale[c] : j->one_scale);
                    const float v = (float)acc[r * 64 + k] * s;
                    j->y[(int64_t)(r0 + r) * j->out + c] = j->bias ? v + j->bias[c] : v;
                }
        }
    }
    (void)wide;
}

static void qproduct(const int16_t *q, float x_scale, int rows, int in, const int8_t *w, int out,
                     const float *col_scale, float one_scale, const float *bias, float *y)
{
    if (rows < 2) { /* one row (the LSTMs' steps): dot products, on this thread */
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < out; c++) {
                const int32_t acc = dot_i16_i8(q + (int64_t)r * in, w + (int64_t)c * in, in);
                const float s = x_scale * (col_scale ? col_scale[c] : one_scale);
                const float v = (float)acc * s;
                y[(int64_t)r * out + c] = bias ? v + bias[c] : v;
            }
        return;
    }
    qproduct_job j = {q, x_scale, one_scale, rows, in, out, w, col_scale, bias, y};
    const int64_t per_col = (int64_t)rows * in;
    sori_parallel_for(tl_pool, out, per_col >= 1 << 16 ? 64 : 128, qproduct_part, &j);
}

void kokoro_qlinear(const kokoro_linear *l, const float *x, int rows, int16_t *q, float *y)
{
    const float xs = quantize(x, (int64_t)rows * l->in, q);
    qproduct(q, xs, rows, l->in, l->w, l->out, l->scale, 0.0f, l->bias, y);
}

/* ---- ALBERT ---------------------------------------------------------------------------- */

/* y = LayerNorm(x (+ skip)) over rows of n (mean, then mean of squared deviations; in double) */
static void layer_norm(const float *x, const float *skip, int rows, int n, const float *w, const float *b, float eps,
                       float *y)
{
    for (int r = 0; r < rows; r++) {
        const float *xr = x + (int64_t)r * n, *sr = skip ? skip + (int64_t)r * n : NULL;
        float *yr = y + (int64_t)r * n;
        for (int i = 0; i < n; i++)
            yr[i] = sr ? xr[i] + sr[i] : xr[i];
        double mean = 0, var = 0;
        for (int i = 0; i < n; i++)
            mean += yr[i];
        mean /= n;
        for (int i = 0; i < n; i++)
            var += (yr[i] - mean) * (yr[i] - mean);
        const float inv = (float)(1.0 / sqrt(var / n + eps)), mu = (float)mean;
        for (int i = 0; i < n; i++)
            yr[i] = (yr[i] - mu) * inv * w[i] + b[i];
    }
}

int64_t kokoro_bert_work_floats(const kokoro_model *m, int T)
{
    const int64_t H = m->hidden, widest = m->inter > H ? m->inter : H;
    /* x, h, q, k, v, ctx, ffn, scores, int16 activations (half a float each) */
    return (int64_t)T * (6 * H + m->inter + T) + ((int64_t)T * widest + 1) / 2 + 64;
}

/* n passes of the shared layer over x [T, hidden] in place; work after x as kokoro_bert's */
static void passes(const kokoro_model *m, float *x, int T, int n, float *work)
{
    const int H = m->hidden, F = m->inter, nh = m->heads, dh = H / nh;
    float *h = work, *q = h + (int64_t)T * H, *k = q + (int64_t)T * H, *v = k + (int64_t)T * H,
          *ctx = v + (int64_t)T * H, *ff = ctx + (int64_t)T * H, *sc = ff + (int64_t)T * F;
    int16_t *qa = (int16_t *)(sc + (int64_t)T * T);
    /* q and k each scaled by √(1/√dh) before their product, as the graph does */
    const float qk = sqrtf(1.0f / sqrtf((float)dh));
    for (int l = 0; l < n; l++) {
        kokoro_qlinear(&m->q, x, T, qa, q);
        kokoro_qlinear(&m->k, x, T, qa, k);
        kokoro_qlinear(&m->v, x, T, qa, v);
        for (int64_t i = 0; i < (int64_t)T * H; i++) {
            q[i] *= qk;
            k[i] *= qk;
        }
        for (int hd = 0; hd < nh; hd++)
            for (int i = 0; i < T; i++) {
                const float *qi = q + (int64_t)i * H + hd * dh;
                float mx = -INFINITY, *s = sc + (int64_t)i * T;
                for (int j = 0; j < T; j++) {
                    const float *kj = k + (int64_t)j * H + hd * dh;
                    float d = 0.0f;
                    for (int c = 0; c < dh; c++)
                        d += qi[c] * kj[c];
                    s[j] = d;
                    mx = d > mx ? d : mx;
                }
                float sum = 0.0f;
                for (int j = 0; j < T; j++)
                    sum += s[j] = expf(s[j] - mx);
                float *o = ctx + (int64_t)i * H + hd * dh;
                for (int c = 0; c < dh; c++)
                    o[c] = 0.0f;
                for (int j = 0; j < T; j++) {
                    const float p = s[j] / sum, *vj = v + (int64_t)j * H + hd * dh;
                    for (int c = 0; c < dh; c++)
                        o[c] += p * vj[c];
                }
            }
        kokoro_qlinear(&m->dense, ctx, T, qa, h);
        layer_norm(h, x, T, H, m->att_ln_w, m->att_ln_b, 1e-12f, x);
        kokoro_qlinear(&m->ffn, x, T, qa, ff);
        for (int64_t i = 0; i < (int64_t)T * F; i++) { /* FastGelu: GELU's tanh form */
            const float z = ff[i];
            ff[i] = 0.5f * z * (1.0f + tanhf(0.7978845608028654f * (z + 0.044715f * z * z * z)));
        }
        kokoro_qlinear(&m->ffn_out, ff, T, qa, h);
        layer_norm(h, x, T, H, m->full_ln_w, m->full_ln_b, 1e-12f, x);
    }
}

static sori_status check_t(const kokoro_model *m, int T, const float *work, sori_error *err)
{
    if (!m || !work || T < 1 || T > m->max_pos)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "kokoro: %d tokens (1..%d)", T, m ? m->max_pos : 0);
    return SORI_OK;
}

/* T checked as above, and every token id in the vocabulary */
static sori_status check_tokens(const kokoro_model *m, const int32_t *tokens, int T, const float *work,
                                sori_error *err)
{
    sori_status st = check_t(m, T, work, err);
    if (st != SORI_OK)
        return st;
    if (!tokens)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "kokoro: no tokens");
    for (int i = 0; i < T; i++)
        if (tokens[i] < 0 || tokens[i] >= m->n_token)
            return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "kokoro: token %d is not in 0..%d", tokens[i],
                             m->n_token - 1);
    return SORI_OK;
}

sori_status kokoro_bert(const kokoro_model *m, const int32_t *tokens, int T, float *work, float *bert, float *d_en,
                        sori_error *err)
{
    sori_status st = check_tokens(m, tokens, T, work, err);
    if (st != SORI_OK)
        return st;
    const int H = m->hidden, E = m->emb;
    float *x = work, *h = x + (int64_t)T * H;
    int16_t *qa = (int16_t *)(h + (int64_t)T * (5 * H + m->inter + T));
    /* embeddings: word + token type 0, + position; LayerNorm (ε 1e-12) */
    for (int t = 0; t < T; t++)
        for (int i = 0; i < E; i++)
            h[(int64_t)t * E + i] = m->word[(int64_t)tokens[t] * E + i] + m->type[i] + m->pos[(int64_t)t * E + i];
    layer_norm(h, NULL, T, E, m->emb_ln_w, m->emb_ln_b, 1e-12f, h);
    kokoro_qlinear(&m->map_in, h, T, qa, x);
    passes(m, x, T, m->layers, h);
    if (bert)
        memcpy(bert, x, sizeof(float) * (size_t)T * H);
    if (d_en)
        kokoro_qlinear(&m->bert_enc, x, T, qa, d_en);
    return SORI_OK;
}

sori_status kokoro_bert_passes(const kokoro_model *m, const float *in, int T, int n, float *work, float *out,
                               sori_error *err)
{
    sori_status st = check_t(m, T, work, err);
    if (st != SORI_OK)
        return st;
    if (!in || !out || n < 0 || n > m->layers)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "kokoro: %d passes (0..%d)", n, m->layers);
    memcpy(work, in, sizeof(float) * (size_t)T * m->hidden);
    passes(m, work, T, n, work + (int64_t)T * m->hidden);
    memcpy(out, work, sizeof(float) * (size_t)T * m->hidden);
    return SORI_OK;
}

sori_status kokoro_bert_project(const kokoro_model *m, const float *bert, int T, float *work, float *d_en,
                                sori_error *err)
{
    sori_status st = check_t(m, T, work, err);
    if (st != SORI_OK)
        return st;
    if (!bert || !d_en)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "kokoro: no input or output");
    kokoro_qlinear(&m->bert_enc, bert, T, (int16_t *)work, d_en);
    return SORI_OK;
}

/* ---- the prosody predictor up to the durations ------------------------------------------- */

static float sigmoid(float x)
{
    return 1.0f / (1.0f + expf(-x));
}

/* y [T, 2U] = the bidirectional LSTM over x [T, l.in] (forward in y's first U columns). work:
 * kokoro_lstm_work floats. The input is quantized once, the hidden state at every step. */
static int64_t lstm_work(const kokoro_lstm *l, int T)
{
    return ((int64_t)T * l->in + 1) / 2 + (int64_t)T * 4 * l->units + 2 * l->units + 4 * l->units +
           (l->units + 1) / 2 + 16;
}

static void run_lstm(const kokoro_lstm *l, const float *x, int T, float *work, float *y)
{
    const int U = l->units, G = 4 * U;
    int16_t *qx = (int16_t *)work;
    float *gx = work + ((int64_t)T * l->in + 1) / 2, *h = gx + (int64_t)T * G, *c = h + U, *g = c + U;
    int16_t *qh = (int16_t *)(g + G);
    const float xs = quantize(x, (int64_t)T * l->in, qx);
    for (int d = 0; d < 2; d++) {
        const int8_t *wi = l->w_ih + (int64_t)d * G * l->in, *wh = l->w_hh + (int64_t)d * G * U;
        const float *bi = l->b_ih + (int64_t)d * G, *bh = l->b_hh + (int64_t)d * G;
        qproduct(qx, xs, T, l->in, wi, G, NULL, l->s_ih[d], NULL, gx);
        for (int j = 0; j < U; j++)
            h[j] = c[j] = 0.0f;
        for (int step = 0; step < T; step++) {
            const int t = d ? T - 1 - step : step;
            const float hs = quantize(h, U, qh);
            qproduct(qh, hs, 1, U, wh, G, NULL, l->s_hh[d], NULL, g);
            const float *gt = gx + (int64_t)t * G;
            for (int j = 0; j < G; j++)
                g[j] = gt[j] + g[j] + bi[j] + bh[j];
            for (int j = 0; j < U; j++) {
                const float ig = sigmoid(g[j]), fg = sigmoid(g[U + j]), cg = tanhf(g[2 * U + j]),
                            og = sigmoid(g[3 * U + j]);
                c[j] = fg * c[j] + ig * cg;
                h[j] = og * tanhf(c[j]);
                y[(int64_t)t * 2 * U + d * U + j] = h[j];
            }
        }
    }
}

int64_t kokoro_dur_work_floats(const kokoro_model *m, int T)
{
    const int D = m->hidden_dim, S = m->style_dim;
    return 2 * (int64_t)T * (D + S) + (int64_t)T * D + 2 * D + (int64_t)T * m->max_dur + S +
           lstm_work(&m->pred_lstm, T) + 64;
}

sori_status kokoro_durations(const kokoro_model *m, const float *d_en, int T, const float *style, float speed,
                             const float *dur_enc_in, float *work, float *dur_enc, float *raw, int32_t *dur,
                             sori_error *err)
{
    sori_status st = check_t(m, T, work, err);
    if (st != SORI_OK)
        return st;
    if ((!d_en && !dur_enc_in) || !style || !(speed > 0.0f) || !isfinite(speed))
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "kokoro: durations: no input, no style or speed %g", speed);
    const int D = m->hidden_dim, S = m->style_dim, W = D + S;
    const float *s = style + S; /* the prosody half */
    float *cat = work, *enc = cat + (int64_t)T * W, *cur = enc + (int64_t)T * W, *gb = cur + (int64_t)T * D,
          *proj = gb + 2 * D, *lw = proj + (int64_t)T * m->max_dur + S;
    int16_t *qs = (int16_t *)(proj + (int64_t)T * m->max_dur);
    if (dur_enc_in) {
        memcpy(enc, dur_enc_in, sizeof(float) * (size_t)T * W);
    } else {
        memcpy(cur, d_en, sizeof(float) * (size_t)T * D);
        for (int i = 0; i < 3; i++) {
            for (int t = 0; t < T; t++) { /* x ⊕ s */
                memcpy(cat + (int64_t)t * W, cur + (int64_t)t * D, sizeof(float) * (size_t)D);
                memcpy(cat + (int64_t)t * W + D, s, sizeof(float) * (size_t)S);
            }
            run_lstm(&m->dur_lstm[i], cat, T, lw, cur);
            /* AdaLayerNorm: LayerNorm without affine (ε 1e-5), then (1 + γ) x + β, [γ; β] = fc(s) */
            kokoro_qlinear(&m->dur_fc[i], s, 1, qs, gb);
            for (int t = 0; t < T; t++) {
                float *x = cur + (int64_t)t * D;
                double mean = 0, var = 0;
                for (int j = 0; j < D; j++)
                    mean += x[j];
                mean /= D;
                for (int j = 0; j < D; j++)
                    var += (x[j] - mean) * (x[j] - mean);
                const float inv = (float)(1.0 / sqrt(var / D + 1e-5)), mu = (float)mean;
                for (int j = 0; j < D; j++)
                    x[j] = (1.0f + gb[j]) * ((x[j] - mu) * inv) + gb[D + j];
            }
        }
        for (int t = 0; t < T; t++) {
            memcpy(enc + (int64_t)t * W, cur + (int64_t)t * D, sizeof(float) * (size_t)D);
            memcpy(enc + (int64_t)t * W + D, s, sizeof(float) * (size_t)S);
        }
    }
    if (dur_enc)
        memcpy(dur_enc, enc, sizeof(float) * (size_t)T * W);
    run_lstm(&m->pred_lstm, enc, T, lw, cur);
    kokoro_qlinear(&m->dur_proj, cur, T, (int16_t *)cat, proj);
    for (int t = 0; t < T; t++) {
        float sum = 0.0f;
        for (int j = 0; j < m->max_dur; j++)
            sum += sigmoid(proj[(int64_t)t * m->max_dur + j]);
        const float r = sum / speed, f = rintf(r);
        if (raw)
            raw[t] = r;
        if (dur)
            dur[t] = f < 1.0f ? 1 : (int32_t)f;
    }
    return SORI_OK;
}

/* ---- the text encoder ------------------------------------------------------------------ */

int64_t kokoro_conv_work(const kokoro_conv *c, int T)
{
    const int64_t T_out = (T + 2 * c->pad - c->dil * (c->k - 1) - 1) / c->stride + 1;
    /* the quantized input (int16) and one window per output step (int16), as floats: the most any
     * path takes (kokoro_qconv takes the uint8 layouts only where they fit in it) */
    return ((int64_t)T * c->in + 1) / 2 + (T_out * c->in * c->k + 1) / 2 + 16;
}

bool kokoro_avx512(void)
{
#ifdef SORI_KOKORO_AVX512
    static int have = -1; /* the same answer for every caller: a benign race */
    if (have < 0)
        have = __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
               __builtin_cpu_supports("avx512vnni") && !getenv("SORI_NO_AVX512");
    return have == 1;
#else
    return false;
#endif
}

/* out[r, c] = Σ_i a[r, i] · w[c, i] (exact int32) for rows × cols, a int16 with row stride lda, w int8
 * with row stride ldw, out with row stride ldo: blocks of 2 rows × 4 weight rows in registers. */
static void qblock(const int16_t *a, int64_t lda, int rows, const int8_t *w, int64_t ldw, int cols, int n,
                   int32_t *out, int64_t ldo)
{
    int r = 0;
#if defined(__AVX2__)
    const int nv = n & ~15;
    for (; r + 2 <= rows; r += 2) {
        const int16_t *a0 = a + r * lda, *a1 = a0 + lda;
        int c = 0;
        for (; c + 4 <= cols; c += 4) {
            const int8_t *w0 = w + c * ldw, *w1 = w0 + ldw, *w2 = w1 + ldw, *w3 = w2 + ldw;
            __m256i s00 = _mm256_setzero_si256(), s01 = s00, s02 = s00, s03 = s00, s10 = s00, s11 = s00, s12 = s00,
                    s13 = s00;
            for (int i = 0; i < nv; i += 16) {
                const __m256i x0 = _mm256_loadu_si256((const __m256i *)(a0 + i));
                const __m256i x1 = _mm256_loadu_si256((const __m256i *)(a1 + i));
                __m256i v = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(w0 + i)));
                s00 = _mm256_add_epi32(s00, _mm256_madd_epi16(x0, v));
                s10 = _mm256_add_epi32(s10, _mm256_madd_epi16(x1, v));
                v = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(w1 + i)));
                s01 = _mm256_add_epi32(s01, _mm256_madd_epi16(x0, v));
                s11 = _mm256_add_epi32(s11, _mm256_madd_epi16(x1, v));
                v = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(w2 + i)));
                s02 = _mm256_add_epi32(s02, _mm256_madd_epi16(x0, v));
                s12 = _mm256_add_epi32(s12, _mm256_madd_epi16(x1, v));
                v = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(w3 + i)));
                s03 = _mm256_add_epi32(s03, _mm256_madd_epi16(x0, v));
                s13 = _mm256_add_epi32(s13, _mm256_madd_epi16(x1, v));
            }
            /* 8 sums of 8 lanes: hadd twice, then the two halves */
            const __m256i h0 = _mm256_hadd_epi32(_mm256_hadd_epi32(s00, s01), _mm256_hadd_epi32(s02, s03));
            const __m256i h1 = _mm256_hadd_epi32(_mm256_hadd_epi32(s10, s11), _mm256_hadd_epi32(s12, s13));
            const __m128i r0 = _mm_add_epi32(_mm256_castsi256_si128(h0), _mm256_extracti128_si256(h0, 1));
            const __m128i r1 = _mm_add_epi32(_mm256_castsi256_si128(h1), _mm256_extracti128_si256(h1, 1));
            int32_t t0[4], t1[4];
            _mm_storeu_si128((__m128i *)t0, r0);
            _mm_storeu_si128((__m128i *)t1, r1);
            for (int j = 0; j < 4; j++) {
                const int8_t *wj = w + (c + j) * ldw;
                for (int i = nv; i < n; i++) {
                    t0[j] += (int32_t)a0[i] * wj[i];
                    t1[j] += (int32_t)a1[i] * wj[i];
                }
                out[r * ldo + c + j] = t0[j];
                out[(r + 1) * ldo + c + j] = t1[j];
            }
        }
        for (; c < cols; c++) {
            out[r * ldo + c] = dot_i16_i8(a0, w + c * ldw, n);
            out[(r + 1) * ldo + c] = dot_i16_i8(a1, w + c * ldw, n);
        }
    }
#endif
    for (; r < rows; r++)
        for (int c = 0; c < cols; c++)
            out[r * ldo + c] = dot_i16_i8(a + r * lda, w + c * ldw, n);
}

#if defined(__AVX2__)
/* out[r, c] = Σ over `taps` taps and `cpairs` pairs of a window's entries of x · w (exact int32), for
 * up to 6 rows (output steps) × 16 channels: the pair (x[2p], x[2p+1]) of row r's tap k broadcast to
 * 8 lanes, times 8 channels' pairs of weights (vpmaddwd), into 12 named accumulators — no horizontal
 * sums. Row r's tap k starts at x + r·step_ld + k·tap_ld; w is the channel block's kokoro_conv_pack_pairs
 * layout (window entries run tap by tap, so a tap's pairs follow the previous tap's). */
#define PAIR_ROW(r)                                                                                           \
    if (R > r) {                                                                                              \
        int32_t v;                                                                                            \
        memcpy(&v, xk + r * step_ld + 2 * p, sizeof v);                                                       \
        const __m256i b = _mm256_set1_epi32(v);                                                               \
        a##r##0 = _mm256_add_epi32(a##r##0, _mm256_madd_epi16(b, w0));                                       \
        a##r##1 = _mm256_add_epi32(a##r##1, _mm256_madd_epi16(b, w1));                                       \
    }
#define PAIR_STORE(r)                                                                                         \
    if (R > r) {                                                                                              \
        _mm256_storeu_si256((__m256i *)(out + r * ldo), a##r##0);                                             \
        _mm256_storeu_si256((__m256i *)(out + r * ldo + 8), a##r##1);                                         \
    }
static inline __attribute__((always_inline)) void pairs_block(const int16_t *x, int64_t step_ld, const int R,
                                                              int taps, int64_t tap_ld, int cpairs, const int8_t *w,
                                                              int32_t *out, int64_t ldo)
{
    __m256i a00 = _mm256_setzero_si256(), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00,
            a31 = a00, a40 = a00, a41 = a00, a50 = a00, a51 = a00;
    for (int k = 0; k < taps; k++) {
        const int16_t *xk = x + k * tap_ld;
        for (int p = 0; p < cpairs; p++, w += 32) {
            const __m256i w0 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)w));
            const __m256i w1 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(w + 16)));
            PAIR_ROW(0) PAIR_ROW(1) PAIR_ROW(2) PAIR_ROW(3) PAIR_ROW(4) PAIR_ROW(5)
        }
    }
    PAIR_STORE(0) PAIR_STORE(1) PAIR_STORE(2) PAIR_STORE(3) PAIR_STORE(4) PAIR_STORE(5)
}
#undef PAIR_ROW
#undef PAIR_STORE

/* rows × (16 · nb) channels of the pair product, 6 rows at a time */
static void qgemm_pairs(const int16_t *x, int64_t step_ld, int rows, int taps, int64_t tap_ld, int cpairs,
                        const int8_t *w, int nb, int32_t *out, int64_t ldo)
{
    const int64_t wblock = (int64_t)taps * cpairs * 32;
    for (int b = 0; b < nb; b++)
        for (int r0 = 0; r0 < rows; r0 += 6) {
            const int16_t *xr = x + r0 * step_ld;
            const int8_t *wb = w + b * wblock;
            int32_t *o = out + r0 * ldo + b * 16;
            switch (rows - r0 < 6 ? rows - r0 : 6) {
            case 1: pairs_block(xr, step_ld, 1, taps, tap_ld, cpairs, wb, o, ldo); break;
            case 2: pairs_block(xr, step_ld, 2, taps, tap_ld, cpairs, wb, o, ldo); break;
            case 3: pairs_block(xr, step_ld, 3, taps, tap_ld, cpairs, wb, o, ldo); break;
            case 4: pairs_block(xr, step_ld, 4, taps, tap_ld, cpairs, wb, o, ldo); break;
            case 5: pairs_block(xr, step_ld, 5, taps, tap_ld, cpairs, wb, o, ldo); break;
            default: pairs_block(xr, step_ld, 6, taps, tap_ld, cpairs, wb, o, ldo); break;
            }
        }
}
#endif

typedef struct {
    const kokoro_conv *c;
    const int16_t *q;    /* the input's codes minus the zero point [T, C] (int16 path) */
    int16_t *col;        /* each output step's window, tap by tap [T_out, K·C] */
    const uint8_t *q8;   /* the codes as uint8, zero point included (AVX-512 VNNI path) */
    uint8_t *col8;
    int zx;              /* the input's zero point */
    bool taps;           /* q8 (q on the AVX2 pair path) holds pad rows of the zero point each side, rowsum
                          * their Σ (code − zx): no windows gathered */
    const int32_t *rowsum;
    const int32_t *bint; /* floor(bias / s) per output channel (0 without a bias), or NULL: computed per sum */
    float s;
    int T;
    float *y;
    bool avx512;         /* the CPU has AVX-512 BW and VNNI: the uint8 path */
} qconv_job;

enum { QCONV_ROWS = 8 }; /* output steps per block: their sums on the stack */

static void qconv_part(void *ctx, int64_t t_begin, int64_t t_end)
{
    const qconv_job *j = ctx;
    const kokoro_conv *c = j->c;
    const int K = c->k, C = c->in, CK = C * K, T = j->T, zx = j->zx;
    const bool u8 = j->avx512;
    /* the rows are the input's own (no window to gather) */
    const bool direct = K == 1 && c->stride == 1 && c->pad == 0;
    int32_t acc[QCONV_ROWS * 64];
    for (int64_t t0 = t_begin; t0 < t_end; t0 += QCONV_ROWS) {
        const int nr = (int)(t_end - t0 < QCONV_ROWS ? t_end - t0 : QCONV_ROWS);
        int32_t sum[QCONV_ROWS]; /* Σ (code − zero point) over each window: the weight's zero point's term */
        for (int r = 0; j->taps && r < nr; r++) {
            const int64_t t = t0 + r;
            int32_t sm = 0;
            for (int k = 0; k < K; k++)
                sm += j->rowsum[t * c->stride + k * c->dil];
            sum[r] = sm;
        }
        /* else the window tap by tap, as the weights are laid out: each tap a row of the input as it
         * lies; padding is the zero point (code − zp = 0) */
        for (int r = 0; !j->taps && r < nr; r++) {
            const int t = (int)t0 + r;
            int32_t sm = 0;
            for (int k = 0; k < K; k++) {
                const int ti = t * c->stride + k * c->dil - c->pad;
                const bool in = ti >= 0 && ti < T;
                if (u8) {
                    uint8_t *dst = j->col8 + (int64_t)t * CK + (int64_t)k * C;
                    if (!in) {
                        if (!direct)
                            memset(dst, zx, (size_t)C);
                        continue;
                    }
                    const uint8_t *src = j->q8 + (int64_t)ti * C;
                    if (!direct)
                        memcpy(dst, src, (size_t)C);
                    int32_t sk = 0;
                    for (int ci = 0; ci < C; ci++)
                        sk += src[ci];
                    sm += sk - C * zx;
                } else {
                    int16_t *dst = j->col + (int64_t)t * CK + (int64_t)k * C;
                    if (!in) {
                        if (!direct)
                            memset(dst, 0, sizeof *dst * (size_t)C);
                        continue;
                    }
                    const int16_t *src = j->q + (int64_t)ti * C;
                    if (!direct)
                        memcpy(dst, src, sizeof *dst * (size_t)C);
                    for (int ci = 0; ci < C; ci++)
                        sm += src[ci];
                }
            }
            sum[r] = sm;
        }
        for (int co0 = 0; co0 < c->out; co0 += 64) {
            const int nc = c->out - co0 < 64 ? c->out - co0 : 64;
#ifdef SORI_KOKORO_AVX512
            if (u8 && j->taps)
                kokoro_qgemm_u8_avx512(j->q8 + t0 * c->stride * C, (int64_t)c->stride * C, nr, K, (int64_t)c->dil * C,
                                       C / 4, c->wp + (int64_t)co0 / 16 * (CK / 4) * 64, (nc + 15) / 16, acc, 64);
            else if (u8)
                kokoro_qgemm_u8_avx512(direct ? j->q8 + t0 * CK : j->col8 + t0 * CK, CK, nr, 1, 0, (CK + 3) / 4,
                                       c->wp + (int64_t)co0 / 16 * ((CK + 3) / 4) * 64, (nc + 15) / 16, acc, 64);
            else
#endif
#if defined(__AVX2__)
            if (c->w2 && j->taps)
                qgemm_pairs(j->q + t0 * c->stride * C, (int64_t)c->stride * C, nr, K, (int64_t)c->dil * C, C / 2,
                            c->w2 + (int64_t)co0 / 16 * CK * 16, (nc + 15) / 16, acc, 64);
            else if (c->w2)
                qgemm_pairs(direct ? j->q + t0 * CK : j->col + t0 * CK, CK, nr, 1, 0, CK / 2,
                            c->w2 + (int64_t)co0 / 16 * CK * 16, (nc + 15) / 16, acc, 64);
            else
#endif
                qblock(direct ? j->q + t0 * CK : j->col + t0 * CK, CK, nr, c->w + (int64_t)co0 * CK, CK, nc, CK, acc,
                       64);
            for (int r = 0; r < nr; r++) {
                float *yr = j->y + (t0 + r) * c->out + co0;
                int32_t *ar = acc + r * 64;
                const int32_t zs = c->zp * sum[r];
                if (u8) /* Σ code · w − zx · Σ w = Σ (code − zx) · w */
                    for (int k = 0; k < nc; k++)
                        ar[k] -= zx * c->wsum[co0 + k];
                if (j->bint) {
                    const int32_t *b = j->bint + co0;
                    for (int k = 0; k < nc; k++)
                        yr[k] = (float)(ar[k] - zs + b[k]) * j->s;
                } else {
                    for (int k = 0; k < nc; k++)
                        yr[k] = (float)(ar[k] - zs + (c->bias ? (int32_t)floorf(c->bias[co0 + k] / j->s) : 0)) * j->s;
                }
            }
        }
    }
}

int kokoro_qconv(const kokoro_conv *c, const float *x, int T, float *work, float *y)
{
    const int K = c->k, C = c->in, T_out = (T + 2 * c->pad - c->dil * (K - 1) - 1) / c->stride + 1;
    if (T_out < 1)
        return 0;
    qconv_job j = {.c = c, .T = T, .y = y, .avx512 = c->wp && c->wsum};
    float xs;
    /* the room every caller gives (kokoro_conv_work: the int16 path's) */
    const int64_t room = (((int64_t)T * C + 1) / 2 + ((int64_t)T_out * C * K + 1) / 2 + 16) * 4;
    const int64_t Tp = T + 2 * (int64_t)c->pad, at = (Tp * C + 3) / 4 * 4;
    const bool direct = K == 1 && c->stride == 1 && c->pad == 0;
    if (j.avx512 && C % 4 == 0 && !direct && at + 4 * Tp <= room) {
        /* the codes with pad rows of the zero point each side, read where they lie, tap by tap; each
         * row's Σ (code − zx) once */
        uint8_t *q8 = (uint8_t *)work;
        int32_t *rs = (int32_t *)(q8 + at);
        xs = quantize_u8(x, (int64_t)T * C, q8 + (int64_t)c->pad * C, &j.zx);
        memset(q8, j.zx, (size_t)c->pad * C);
        memset(q8 + (T + (int64_t)c->pad) * C, j.zx, (size_t)c->pad * C);
        for (int64_t t = 0; t < Tp; t++) {
            int32_t sm = 0;
            const uint8_t *row = q8 + t * C;
            for (int ci = 0; ci < C; ci++)
                sm += row[ci];
            rs[t] = sm - C * j.zx;
        }
        j.q8 = q8;
        j.taps = true;
        j.rowsum = rs;
    } else if (j.avx512) { /* uint8 codes and gathered windows (4 bytes after them readable) */
        uint8_t *q8 = (uint8_t *)work;
        j.q8 = q8;
        j.col8 = q8 + ((int64_t)T * C + 3) / 4 * 4;
        xs = quantize_u8(x, (int64_t)T * C, q8, &j.zx);
    } else if (c->w2 && !direct && (Tp * C + 1) / 2 * 4 + 4 * Tp <= room) {
        /* the AVX2 pair product: the codes minus the zero point with pad rows of zeros each side, read
         * where they lie, tap by tap; each row's Σ once */
        int16_t *q = (int16_t *)work;
        int32_t *rs = (int32_t *)(q + (Tp * C + 1) / 2 * 2);
        xs = quantize(x, (int64_t)T * C, q + (int64_t)c->pad * C);
        memset(q, 0, sizeof *q * (size_t)c->pad * C);
        memset(q + (T + (int64_t)c->pad) * C, 0, sizeof *q * (size_t)c->pad * C);
        for (int64_t t = 0; t < Tp; t++) {
            int32_t sm = 0;
            const int16_t *row = q + t * C;
            for (int ci = 0; ci < C; ci++)
                sm += row[ci];
            rs[t] = sm;
        }
        j.q = q;
        j.taps = true;
        j.rowsum = rs;
    } else {
        int16_t *q = (int16_t *)work;
        j.q = q;
        j.col = q + ((int64_t)T * C + 1) / 2 * 2;
        xs = quantize(x, (int64_t)T * C, q);
    }
    const float s = xs * c->scale;
    int32_t bint[2048]; /* the bias in the int32 sums (zeros without one) */
    const bool pre = c->out <= 2048;
    for (int co = 0; pre && co < c->out; co++)
        bint[co] = c->bias ? (int32_t)floorf(c->bias[co] / s) : 0;
    j.bint = pre ? bint : NULL;
    j.s = s;
    const int64_t work_per_step = (int64_t)C * K * c->out;
    sori_parallel_for(tl_pool, T_out, work_per_step >= 1 << 16 ? 16 : (1 << 20) / (work_per_step + 1) + 16,
                      qconv_part, &j);
    return T_out;
}

int64_t kokoro_text_work_floats(const kokoro_model *m, int T)
{
    const int64_t D = m->hidden_dim, cw = kokoro_conv_work(&m->te_conv[0], T), lw = lstm_work(&m->te_lstm, T);
    return 2 * (int64_t)T * D + (cw > lw ? cw : lw) + 64;
}

sori_status kokoro_text_encoder(const kokoro_model *m, const int32_t *tokens, int T, float *work, float *t_en,
                                sori_error *err)
{
    sori_status st = check_tokens(m, tokens, T, work, err);
    if (st != SORI_OK)
        return st;
    if (!t_en)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "kokoro: text encoder: no output");
    const int D = m->hidden_dim;
    float *x = work, *y = x + (int64_t)T * D, *w = y + (int64_t)T * D;
    for (int t = 0; t < T; t++)
        memcpy(x + (int64_t)t * D, m->te_emb + (int64_t)tokens[t] * D, sizeof(float) * (size_t)D);
    for (int i = 0; i < 3; i++) { /* conv k 5 → LayerNorm over channels (ε 1e-5) → LeakyReLU 0.2 */
        kokoro_qconv(&m->te_conv[i], x, T, w, y);
        layer_norm(y, NULL, T, D, m->te_gamma[i], m->te_beta[i], 1e-5f, x);
        for (int64_t j = 0; j < (int64_t)T * D; j++)
            x[j] = x[j] < 0.0f ? 0.2f * x[j] : x[j];
    }
    run_lstm(&m->te_lstm, x, T, w, t_en);
    return SORI_OK;
}

/* ---- F0 and energy ---------------------------------------------------------------------- */

/* AdaIN1d over x [T, C] in place: per channel over time (mean, then mean of squared deviations,
 * ε 1e-5), then (1 + γ) x̂ + β, [γ; β] = fc(s); q: int16 scratch of the style's width */
static void snake_rows(float *x, int64_t t0, int64_t t1, int C, const float *al, const float *inv);

typedef struct {
    float *x;
    int T, C;
    double *mean, *var;
    const float *mu, *inv, *gb; /* the statistics, and γ then β from the style */
    const float *al, *ainv;     /* Snake's α and 1/α after it, or NULL */
} adain_job;

/* channels [c0, c1): Σ over t in the same order as one pass does (the same doubles) */
static void adain_stats_part(void *ctx, int64_t c0, int64_t c1)
{
    const adain_job *j = ctx;
    const int C = j->C;
    for (int64_t c = c0; c < c1; c++)
        j->mean[c] = j->var[c] = 0;
    for (int t = 0; t < j->T; t++)
        for (int64_t c = c0; c < c1; c++)
            j->mean[c] += j->x[(int64_t)t * C + c];
    for (int64_t c = c0; c < c1; c++)
        j->mean[c] /= j->T;
    for (int t = 0; t < j->T; t++)
        for (int64_t c = c0; c < c1; c++) {
            const double d = j->x[(int64_t)t * C + c] - j->mean[c];
            j->var[c] += d * d;
        }
}

/* steps [t0, t1): normalized, scaled and shifted by the style, then Snake where asked */
static void adain_rows_part(void *ctx, int64_t t0, int64_t t1)
{
    const adain_job *j = ctx;
    const int C = j->C;
    for (int64_t t = t0; t < t1; t++) {
        float *v = j->x + t * C;
        for (int c = 0; c < C; c++)
            v[c] = (1.0f + j->gb[c]) * ((v[c] - j->mu[c]) * j->inv[c]) + j->gb[C + c];
    }
    if (j->al)
        snake_rows(j->x, t0, t1, C, j->al, j->ainv);
}

/* AdaIN over x [T, C] in place (instance statistics over T, γ and β from the style s through fc),
 * then Snake with α = al (NULL: none); split over the pool by channels, then by steps */
static void adain(const kokoro_linear *fc, const float *s, float *x, int T, int C, float *gb, int16_t *q,
                  const float *al)
{
    kokoro_qlinear(fc, s, 1, q, gb);
    if (C <= 2048) {
        double mean[2048], var[2048];
        float inv[2048], mu[2048], ainv[2048];
        adain_job j = {x, T, C, mean, var, mu, inv, gb, al, ainv};
        sori_parallel_for(tl_pool, C, 64, adain_stats_part, &j);
        for (int c = 0; c < C; c++) {
            inv[c] = (float)(1.0 / sqrt(var[c] / T + 1e-5)), mu[c] = (float)mean[c];
            if (al)
                ainv[c] = 1.0f / al[c];
        }
        sori_parallel_for(tl_pool, T, C >= 4096 ? 1 : 4096 / C, adain_rows_part, &j);
        return;
    }
    for (int c = 0; c < C; c++) {
        double mean = 0, var = 0;
        for (int t = 0; t < T; t++)
            mean += x[(int64_t)t * C + c];
        mean /= T;
        for (int t = 0; t < T; t++) {
            const double d = x[(int64_t)t * C + c] - mean;
            var += d * d;
        }
        const float inv = (float)(1.0 / sqrt(var / T + 1e-5)), mu = (float)mean, g = 1.0f + gb[c], b = gb[C + c];
        for (int t = 0; t < T; t++) {
            float *v = x + (int64_t)t * C + c;
            *v = g * ((*v - mu) * inv) + b;
        }
    }
    if (al) { /* (a wider layer than Kokoro's: 1/α in gb, done with) */
        for (int c = 0; c < C; c++)
            gb[c] = 1.0f / al[c];
        snake_rows(x, 0, T, C, al, gb);
    }
}

static void leaky(float *x, int64_t n, float slope)
{
    for (int64_t i = 0; i < n; i++)
        x[i] = x[i] < 0.0f ? slope * x[i] : x[i];
}

/* The floats an AdainResBlk1d over T steps of up to C channels needs besides its input and output */
static int64_t block_work(int T, int C, int S)
{
    const int64_t T2 = 2 * (int64_t)T;
    return 3 * T2 * C + 2 * (int64_t)C + S + (T2 * C * 3 + 1) / 2 + (T2 * C + 1) / 2 + 64;
}

/* y [T or 2T, cout] = the block over x [T, cin] (x unchanged); returns the output's steps */
static int run_block(const kokoro_adain_block *b, const float *x, int T, const float *s, float *work, float *y)
{
    const int T2 = b->up ? 2 * T : T, C = b->cin > b->cout ? b->cin : b->cout;
    float *r = work, *u = r + (int64_t)2 * T * C, *sc = u + (int64_t)2 * T * C, *gb = sc + (int64_t)2 * T * C,
          *cw = gb + 2 * C + 64;
    int16_t *q = (int16_t *)cw;
    memcpy(r, x, sizeof(float) * (size_t)T * b->cin);
    adain(&b->norm1, s, r, T, b->cin, gb, q, NULL);
    leaky(r, (int64_t)T * b->cin, 0.2f);
    const float *in = r;
    if (b->up) { /* depthwise ConvTranspose1d k 3, stride 2, padding 1, output padding 1 */
        for (int c = 0; c < b->cin; c++) {
            const float *w = b->pool_w + 3 * c;
            for (int j = 0; j < T; j++) {
                const float xj = r[(int64_t)j * b->cin + c];
                const float nx = j + 1 < T ? r[(int64_t)(j + 1) * b->cin + c] : 0.0f;
                u[(int64_t)(2 * j) * b->cin + c] = xj * w[1] + b->pool_b[c];
                u[(int64_t)(2 * j + 1) * b->cin + c] = (j + 1 < T ? nx * w[0] + xj * w[2] : xj * w[2]) + b->pool_b[c];
            }
        }
        in = u;
    }
    kokoro_qconv(&b->conv1, in, T2, cw, sc);
    adain(&b->norm2, s, sc, T2, b->cout, gb, q, NULL);
    leaky(sc, (int64_t)T2 * b->cout, 0.2f);
    kokoro_qconv(&b->conv2, sc, T2, cw, y);
    /* shortcut: nearest ×2, then the 1×1 convolution when the widths differ */
    const float *xs = x;
    if (b->up) {
        for (int t = 0; t < T2; t++)
            memcpy(u + (int64_t)t * b->cin, x + (int64_t)(t / 2) * b->cin, sizeof(float) * (size_t)b->cin);
        xs = u;
    }
    if (b->learned) {
        kokoro_qconv(&b->conv1x1, xs, T2, cw, sc);
        xs = sc;
    }
    const float rt2 = 1.4142135f;
    for (int64_t i = 0; i < (int64_t)T2 * b->cout; i++)
        y[i] = (y[i] + xs[i]) / rt2;
    return T2;
}

int64_t kokoro_f0n_work_floats(const kokoro_model *m, int F)
{
    const int D = m->hidden_dim, W = D + m->style_dim;
    const int64_t lw = lstm_work(&m->shared, F), bw = block_work(F, D, m->style_dim);
    return (int64_t)F * W + (int64_t)F * D + 2 * (2 * (int64_t)F * D) + (lw > bw ? lw : bw) + 2 * (int64_t)F + 64;
}

sori_status kokoro_f0n(const kokoro_model *m, const float *dur_enc, const int32_t *dur, int T, const float *style,
                       int max_frames, float *work, float *f0, float *n, sori_error *err)
{
    sori_status st = check_t(m, T, work, err);
    if (st != SORI_OK)
        return st;
    if (!dur_enc || !dur || !style || !f0 || !n)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "kokoro: F0: missing input or output");
    int64_t F = 0;
    for (int t = 0; t < T; t++) {
        if (dur[t] < 0)
            return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "kokoro: F0: duration %d", dur[t]);
        F += dur[t];
    }
    if (F < 1 || F > max_frames)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "kokoro: F0: %lld frames (1..%d)", (long long)F, max_frames);
    const int D = m->hidden_dim, S = m->style_dim, W = D + S;
    const float *s = style + S;
    float *en = work, *x = en + F * W, *a = x + F * D, *b = a + 2 * F * D, *w = b + 2 * F * D;
    for (int t = 0, f = 0; t < T; t++) /* the alignment: token t's row repeated over its frames */
        for (int k = 0; k < dur[t]; k++, f++)
            memcpy(en + (int64_t)f * W, dur_enc + (int64_t)t * W, sizeof(float) * (size_t)W);
    run_lstm(&m->shared, en, (int)F, w, x);
    for (int br = 0; br < 2; br++) {
        const kokoro_adain_block *blk = br ? m->nb : m->f0;
        int Tc = run_block(&blk[0], x, (int)F, s, w, a);
        Tc = run_block(&blk[1], a, Tc, s, w, b);
        Tc = run_block(&blk[2], b, Tc, s, w, a);
        kokoro_qconv(br ? &m->n_proj : &m->f0_proj, a, Tc, w, br ? n : f0);
    }
    return SORI_OK;
}

/* ---- the decoder -------------------------------------------------------------------------- */

int64_t kokoro_decoder_work_floats(const kokoro_model *m, int F)
{
    const int D = m->hidden_dim, C = 2 * D + 64 + 2;
    return (int64_t)F * C + 2 * (2 * (int64_t)F * 2 * D) + (int64_t)F * 64 + 2 * (int64_t)F +
           block_work(F, C > 2 * D ? C : 2 * D, m->style_dim) + 64;
}

sori_status kokoro_decoder(const kokoro_model *m, const float *asr, const float *f0, const float *n, int F,
                           const float *style, float *work, float *encoded, float *out, sori_error *err)
{
    if (!m || !asr || !f0 || !n || !style || !work || !out || F < 1)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "kokoro: decoder: missing input or output, or %d frames", F);
    const int D = m->hidden_dim, C = 2 * D + 64 + 2;
    const float *s = style; /* the acoustic half */
    float *cat = work, *x = cat + (int64_t)F * C, *y = x + 2 * (int64_t)F * 2 * D, *res = y + 2 * (int64_t)F * 2 * D,
          *fc = res + (int64_t)F * 64, *nc = fc + F, *w = nc + F;
    kokoro_qconv(&m->dec_f0, f0, 2 * F, w, fc); /* the curves down to the frame rate (stride 2) */
    kokoro_qconv(&m->dec_n, n, 2 * F, w, nc);
    for (int t = 0; t < F; t++) { /* asr ⊕ F0 ⊕ N */
        memcpy(cat + (int64_t)t * (D + 2), asr + (int64_t)t * D, sizeof(float) * (size_t)D);
        cat[(int64_t)t * (D + 2) + D] = fc[t];
        cat[(int64_t)t * (D + 2) + D + 1] = nc[t];
    }
    run_block(&m->encode, cat, F, s, w, x);
    if (encoded)
        memcpy(encoded, x, sizeof(float) * (size_t)F * 2 * D);
    kokoro_qconv(&m->asr_res, asr, F, w, res);
    for (int i = 0; i < 4; i++) { /* x ⊕ asr_res ⊕ F0 ⊕ N, then the block */
        for (int t = 0; t < F; t++) {
            float *row = cat + (int64_t)t * C;
            memcpy(row, x + (int64_t)t * 2 * D, sizeof(float) * (size_t)(2 * D));
            memcpy(row + 2 * D, res + (int64_t)t * 64, sizeof(float) * 64);
            row[2 * D + 64] = fc[t];
            row[2 * D + 65] = nc[t];
        }
        run_block(&m->decode[i], cat, F, s, w, i < 3 ? y : out);
        float *tmp = x;
        x = y;
        y = tmp;
    }
    return SORI_OK;
}

/* ---- the generator (iSTFTNet) -------------------------------------------------------------- */

/* tanh as onnxruntime's CPU kernel computes it (Eigen's rational approximation, clamped to ±9,
 * evaluated with fused multiply-adds as its FMA3 kernel does). The harmonic source is tanh(bias)
 * wherever F0 is unvoiced, and the phases of that constant's STFT bins above 1 are rounding noise
 * that the source's convolution then reads: they match onnxruntime's only if the constant does to
 * the last bit. */
static float ort_tanh(float x)
{
    x = x < -9.0f ? -9.0f : x > 9.0f ? 9.0f : x;
    const float x2 = x * x;
    float p = fmaf(x2, -2.76076847742355e-16f, 2.00018790482477e-13f);
    p = fmaf(p, x2, -8.60467152213735e-11f);
    p = fmaf(p, x2, 5.12229709037114e-08f);
    p = fmaf(p, x2, 1.48572235717979e-05f);
    p = fmaf(p, x2, 6.37261928875436e-04f);
    p = fmaf(p, x2, 4.89352455891786e-03f);
    p = p * x;
    float q = fmaf(x2, 1.19825839466702e-06f, 1.18534705686654e-04f);
    q = fmaf(q, x2, 2.26843463243900e-03f);
    q = fmaf(q, x2, 4.89352518554385e-03f);
    return p / q;
}

/* x [T, C] += the resblock's output over x (in place) */
#if defined(__AVX2__) && defined(__FMA__)
/* sin of 8 floats (Cephes' sinf: x reduced by multiples of π/2 in three parts, minimax polynomials
 * on [-π/4, π/4]; within 2 ulp of libm's for |x| < 8192, where it is used) */
static inline __m256 sin8(__m256 x)
{
    const __m256 j = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(0.63661977236758134f)),
                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(j, _mm256_set1_ps(1.5703125f), x);
    r = _mm256_fnmadd_ps(j, _mm256_set1_ps(4.837512969970703125e-4f), r);
    r = _mm256_fnmadd_ps(j, _mm256_set1_ps(7.54978995489188216e-8f), r);
    const __m256i q = _mm256_cvtps_epi32(j);
    const __m256 z = _mm256_mul_ps(r, r);
    __m256 ps = _mm256_fmadd_ps(_mm256_set1_ps(-1.9515295891e-4f), z, _mm256_set1_ps(8.3321608736e-3f));
    ps = _mm256_fmadd_ps(ps, z, _mm256_set1_ps(-1.6666654611e-1f));
    ps = _mm256_fmadd_ps(_mm256_mul_ps(ps, z), r, r);
    __m256 pc = _mm256_fmadd_ps(_mm256_set1_ps(2.443315711809948e-5f), z, _mm256_set1_ps(-1.388731625493765e-3f));
    pc = _mm256_fmadd_ps(pc, z, _mm256_set1_ps(4.166664568298827e-2f));
    pc = _mm256_fmadd_ps(_mm256_mul_ps(pc, z), z, _mm256_fnmadd_ps(_mm256_set1_ps(0.5f), z, _mm256_set1_ps(1.0f)));
    /* quadrant: odd → cos, 2 and 3 → negated */
    const __m256 odd = _mm256_castsi256_ps(_mm256_cmpeq_epi32(_mm256_and_si256(q, _mm256_set1_epi32(1)),
                                                              _mm256_set1_epi32(1)));
    const __m256 v = _mm256_blendv_ps(ps, pc, odd);
    const __m256i neg = _mm256_slli_epi32(_mm256_and_si256(q, _mm256_set1_epi32(2)), 30);
    return _mm256_xor_ps(v, _mm256_castsi256_ps(neg));
}
#endif

/* Snake over rows [T, C]: x + sin²(αx) / α per channel */
/* Snake over the steps [t0, t1) of x [T, C]: x + sin²(α x) / α (inv: 1/α) */
static void snake_rows(float *x, int64_t t0, int64_t t1, int C, const float *al, const float *inv)
{
    for (int64_t i = t0; i < t1; i++) {
        float *v = x + i * C;
        int c = 0;
#if defined(__AVX2__) && defined(__FMA__)
        for (; c + 8 <= C; c += 8) {
            const __m256 xv = _mm256_loadu_ps(v + c), a = _mm256_mul_ps(_mm256_loadu_ps(al + c), xv);
            const __m256 big = _mm256_cmp_ps(_mm256_andnot_ps(_mm256_set1_ps(-0.0f), a), _mm256_set1_ps(8192.0f),
                                             _CMP_GT_OQ);
            if (_mm256_movemask_ps(big))
                break; /* far from 0 (or not finite): libm for the rest of the row */
            const __m256 sn = sin8(a);
            _mm256_storeu_ps(v + c, _mm256_fmadd_ps(_mm256_mul_ps(sn, sn), _mm256_loadu_ps(inv + c), xv));
        }
#endif
        for (; c < C; c++) {
            const float sn = sinf(al[c] * v[c]);
            v[c] = v[c] + sn * sn * inv[c];
        }
    }
}

static void run_resblock(const kokoro_resblock *r, float *x, int T, const float *s, float *work)
{
    const int C = r->ch;
    float *t = work, *u = t + (int64_t)T * C, *gb = u + (int64_t)T * C, *cw = gb + 2 * C + 64;
    int16_t *q = (int16_t *)cw;
    for (int j = 0; j < 3; j++) {
        float *a = t, *b = u; /* the pass's input, and where its convolution goes */
        memcpy(a, x, sizeof(float) * (size_t)T * C);
        for (int pass = 0; pass < 2; pass++) {
            adain(pass ? &r->a2[j] : &r->a1[j], s, a, T, C, gb, q, pass ? r->al2[j] : r->al1[j]);
            kokoro_qconv(pass ? &r->c2[j] : &r->c1[j], a, T, cw, b);
            float *k = a;
            a = b, b = k;
        }
        for (int64_t i = 0; i < (int64_t)T * C; i++)
            x[i] += a[i];
    }
}

static int64_t resblock_work(int T, int C, int k)
{
    return 2 * (int64_t)T * C + 2 * (int64_t)C + 64 + ((int64_t)T * C + 1) / 2 + ((int64_t)T * C * k + 1) / 2 + 64;
}

enum { TCONV_SLOTS = 8 }; /* the most threads a transposed convolution is split over */

/* y [T_out, out] = ConvTranspose1d (f32) over x [T, in], time-major (tts/tm.h: one product per
 * output phase over weights packed at load, split over the pool by rows; the same sums whatever the
 * threads); tmp: tconv_tmp_floats */
static int tconv(const kokoro_model *m, int i, const float *x, int T, float *tmp, float *y)
{
    const vits_tmconvt *c = &m->ups_t[i];
    const int T_out = (T - 1) * c->stride - 2 * c->pad + c->k;
    int slots = tl_pool ? sori_thread_pool_size(tl_pool) : 1;
    slots = slots < 1 ? 1 : slots > TCONV_SLOTS ? TCONV_SLOTS : slots;
    const nn_ctx ctx = {tl_pool, slots, tmp, SORI_P16_SCRATCH};
    vits_tm_convt(&ctx, c, x, T, -1.0f, tmp + (int64_t)TCONV_SLOTS * SORI_P16_SCRATCH, y, T_out);
    return T_out;
}

static int64_t tconv_tmp_floats(const kokoro_model *m, int F)
{
    const int64_t a = vits_tm_convt_xp_floats(&m->ups_t[0], 2 * (int64_t)F),
                  b = vits_tm_convt_xp_floats(&m->ups_t[1], 2 * (int64_t)F * m->ups_s[0]);
    return (int64_t)TCONV_SLOTS * SORI_P16_SCRATCH + (a > b ? a : b) + 64;
}

int64_t kokoro_generator_work_floats(const kokoro_model *m, int F)
{
    const int64_t N = 600 * (int64_t)F, NF = 120 * (int64_t)F + 1, C0 = m->ups_out[0], C1 = m->ups_out[1];
    const int64_t T0 = 20 * (int64_t)F;                    /* after ×10 */
    int64_t rw = resblock_work((int)NF, (int)C1, 11), r0 = resblock_work((int)T0, (int)C0, 11);
    rw = rw > r0 ? rw : r0;
    return 10 * 2 * (int64_t)F + N + 40 + NF * 22 + 3 * NF * C1 + NF * 7 * C1 + NF * 22 + (N + 20) + rw +
           (int64_t)2 * F * m->hidden_dim + NF * C1 + 1024 + tconv_tmp_floats(m, F);
}

sori_status kokoro_generator(const kokoro_model *m, const float *x, const float *f0, int F, const float *style,
                             float *work, float *har_out, float *spec_out, float *audio, sori_error *err)
{
    if (!m || !x || !f0 || !style || !work || !audio || F < 1)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "kokoro: generator: missing input or output, or %d frames", F);
    const int F2 = 2 * F, N = 600 * F, NF = 120 * F + 1, H = 9;
    const float *s = style; /* the acoustic half */
    float *phase = work, *har = phase + (int64_t)H * F2, *stft = har + N + 40, *xa = stft + (int64_t)NF * 22,
          *xb = xa + (int64_t)NF * m->ups_out[1], *xc = xb + (int64_t)NF * m->ups_out[1],
          *acc = xc + (int64_t)NF * m->ups_out[1], *w = acc + (int64_t)NF * 7 * m->ups_out[1];
    /* harmonic source: per frame of the 2F curve, the fraction of a cycle each harmonic turns per sample,
     * summed over frames, × 2π × 300, back to the sample rate by linear interpolation (half-pixel) */
    const float pi = 3.14159265358979f;
    for (int h = 0; h < H; h++) {
        float cs = 0.0f;
        for (int i = 0; i < F2; i++) {
            const float fh = f0[i] * (float)(h + 1), r = fh / 24000.0f;
            cs += r - floorf(r);
            phase[(int64_t)h * F2 + i] = cs * 2.0f * pi * 300.0f;
        }
    }
    for (int j = 0; j < N; j++) {
        float xo = ((float)j + 0.5f) / 300.0f - 0.5f;
        xo = xo < 0.0f ? 0.0f : xo > (float)(F2 - 1) ? (float)(F2 - 1) : xo;
        const int i0 = (int)xo, i1 = i0 + 1 < F2 ? i0 + 1 : F2 - 1;
        const float d1 = xo - (float)i0, d0 = 1.0f - d1;
        const int uv = f0[j / 300] > 10.0f;
        float sum = 0.0f;
        for (int h = 0; h < H; h++) {
            const float ph = phase[(int64_t)h * F2 + i0] * d0 + phase[(int64_t)h * F2 + i1] * d1;
            sum += m->src_w[h] * (sinf(ph) * 0.1f * (float)uv);
        }
        har[j + 10] = ort_tanh(sum + m->src_b[0]);
    }
    if (har_out)
        memcpy(har_out, har + 10, sizeof(float) * (size_t)N);
    for (int i = 0; i < 10; i++) { /* reflection padding of 10 each side */
        har[i] = har[10 + 10 - i];
        har[N + 10 + i] = har[N + 10 - 2 - i];
    }
    /* STFT: frames of 20, hop 5, periodic Hann; magnitude ⊕ phase (the graph's atan2), computed as
     * onnxruntime computes it (tts/kokoro_stft.c: its rounding noise is part of the graph's input) */
    kokoro_stft_ort(har, NF, 5, m->stft_win, stft);
    /* two stages: LeakyReLU 0.1, the source's branch, upsampling, the mean of three resblocks */
    const float *cur = x;
    int T = F2;
    for (int i = 0; i < 2; i++) {
        const int C = m->ups_out[i];
        float *xl = xa;
        memcpy(xl, cur, sizeof(float) * (size_t)T * m->ups_in[i]);
        leaky(xl, (int64_t)T * m->ups_in[i], 0.1f);
        const int Tn = kokoro_qconv(&m->noise_conv[i], stft, NF, w, xb); /* x_source */
        run_resblock(&m->noise_res[i], xb, Tn, s, w);
        int Tu = tconv(m, i, xl, T, w, xc);
        if (i == 1) { /* reflection pad (1, 0) */
            memmove(xc + C, xc, sizeof(float) * (size_t)Tu * C);
            memcpy(xc, xc + 2 * C, sizeof(float) * (size_t)C);
            Tu++;
        }
        for (int64_t j = 0; j < (int64_t)Tu * C; j++)
            xc[j] += xb[j];
        for (int r = 0; r < 3; r++) {
            memcpy(xb, xc, sizeof(float) * (size_t)Tu * C);
            run_resblock(&m->res[3 * i + r], xb, Tu, s, w);
            for (int64_t j = 0; j < (int64_t)Tu * C; j++)
                acc[j] = r ? acc[j] + xb[j] : xb[j];
        }
        for (int64_t j = 0; j < (int64_t)Tu * C; j++)
            acc[j] /= 3.0f;
        memcpy(xa, acc, sizeof(float) * (size_t)Tu * C);
        cur = xa;
        T = Tu;
    }
    /* LeakyReLU 0.01, conv_post (f32, k 7, padding 3) as im2col × Wᵀ */
    const int C1 = m->ups_out[1], KP = 7;
    leaky(xa, (int64_t)T * C1, 0.01f);
    float *col = acc, *post = xb;
    for (int t = 0; t < T; t++)
        for (int c = 0; c < C1; c++)
            for (int k = 0; k < KP; k++) {
                const int ti = t + k - 3;
                col[((int64_t)t * C1 + c) * KP + k] = ti >= 0 && ti < T ? xa[(int64_t)ti * C1 + c] : 0.0f;
            }
    sori_gemm(false, true, T, 22, C1 * KP, 1.0f, col, C1 * KP, m->post_w, C1 * KP, 0.0f, post, 22);
    for (int t = 0; t < T; t++)
        for (int c = 0; c < 22; c++)
            post[(int64_t)t * 22 + c] += m->post_b[c];
    if (spec_out)
        memcpy(spec_out, post, sizeof(float) * (size_t)T * 22);
    /* inverse STFT as the graph does it: [mag cos φ; mag sin φ] through the transposed convolution with
     * the inverse basis (stride 5), the first 20 samples' window sum divided out where it is not 0 (a
     * buffer fixed at export), × 4, 10 samples cut from each end */
    float *y = xc;
    const int NY = (T - 1) * 5 + 20;
    memset(y, 0, sizeof(float) * (size_t)NY);
    for (int j = 0; j < T; j++) {
        float ch[22];
        for (int k = 0; k < 11; k++) {
            const float mag = expf(post[(int64_t)j * 22 + k]), ph = sinf(post[(int64_t)j * 22 + 11 + k]);
            ch[k] = mag * cosf(ph);
            ch[11 + k] = mag * sinf(ph);
        }
        for (int n = 0; n < 20; n++) {
            float v = 0.0f;
            for (int c = 0; c < 22; c++)
                v += ch[c] * m->inv_basis[c * 20 + n];
            y[5 * j + n] += v;
        }
    }
    for (int n = 1; n < 20 && n < NY; n++)
        if (m->win_sum[n] > 1.1754944e-38f)
            y[n] /= m->win_sum[n];
    for (int j = 0; j < N; j++)
        audio[j] = y[j + 10] * 4.0f;
    return SORI_OK;
}
