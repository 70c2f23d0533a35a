/* Loading a `sori.vits` GGUF file (docs/model-format.md): every key range-
 * checked and named when wrong, every tensor the engine reads checked for
 * presence, type (f32/f16), shape and finite values, and copied out in f32. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/gguf.h"
#include "kernels/hparams.h"
#include "vits.h"
#include "kernels/cpu/gemm_p16.h"

typedef struct {
    const sori_gguf *g;
    const char *path;
    vits_model *m;
    sori_error *err;
    sori_status st;
} loader;

static void *keep(loader *L, void *p)
{
    vits_model *m = L->m;
    if (!p) {
        if (L->st == SORI_OK)
            L->st = sori_fail(L->err, SORI_ERR_NO_MEMORY, 0, "%s: out of memory", L->path);
        return NULL;
    }
    if (m->n_allocs == m->cap_allocs) {
        int cap = m->cap_allocs ? 2 * m->cap_allocs : 64;
        float **a = realloc(m->allocs, sizeof *a * (size_t)cap);
        if (!a) {
            free(p);
            if (L->st == SORI_OK)
                L->st = sori_fail(L->err, SORI_ERR_NO_MEMORY, 0, "%s: out of memory", L->path);
            return NULL;
        }
        m->allocs = a;
        m->cap_allocs = cap;
    }
    m->allocs[m->n_allocs++] = p;
    return p;
}

/* Tensor `name` of numpy shape dims[0..n) (outermost first) as an f32 copy. */
static const float *tensor(loader *L, const char *name, int n, const int64_t *dims)
{
    if (L->st != SORI_OK)
        return NULL;
    const sori_gguf_tensor *t = sori_gguf_find_tensor(L->g, name);
    if (!t) {
        L->st = sori_fail(L->err, SORI_ERR_FORMAT, 0, "%s: tensor %s is missing", L->path, name);
        return NULL;
    }
    int ok = t->n_dims == n && (t->type == SORI_GGML_F32 || t->type == SORI_GGML_F16);
    for (int i = 0; ok && i < n; i++)
        ok = t->ne[n - 1 - i] == dims[i];
    if (!ok) {
        char want[96] = "", got[96] = "";
        for (int i = 0; i < n; i++)
            snprintf(want + strlen(want), sizeof want - strlen(want), "%s%lld", i ? ", " : "", (long long)dims[i]);
        for (int i = 0; i < t->n_dims; i++)
            snprintf(got + strlen(got), sizeof got - strlen(got), "%s%lld", i ? ", " : "",
                     (long long)t->ne[t->n_dims - 1 - i]);
        const char *tn = sori_ggml_type_name(t->type);
        L->st = sori_fail(L->err, SORI_ERR_FORMAT, 0, "%s: tensor %s: %s [%s], f32 or f16 [%s] expected", L->path,
                          name, tn ? tn : "unknown type", got, want);
        return NULL;
    }
    float *x = keep(L, malloc(sizeof(float) * (size_t)t->n_elements));
    if (!x)
        return NULL;
    for (int64_t i = 0; i < t->n_elements; i++) {
        x[i] = t->type == SORI_GGML_F32 ? ((const float *)t->data)[i] : sori_f16_to_f32(((const uint16_t *)t->data)[i]);
        if (!isfinite(x[i])) {
            L->st = sori_fail(L->err, SORI_ERR_FORMAT, 0, "%s: tensor %s has NaN or infinite values", L->path, name);
            return NULL;
        }
    }
    return x;
}

static const float *vec(loader *L, const char *name, int64_t n)
{
    return tensor(L, name, 1, &n);
}

/* A Conv1d `prefix`.weight [c_out, c_in / groups, k] (+ .bias [c_out] when bias). */
static nn_conv conv(loader *L, const char *prefix, int c_in, int c_out, int k, int dilation, int pad_left, int groups,
                    bool bias)
{
    char name[192]; /* a prefix (< 160 bytes) and a suffix */
    nn_conv c = {NULL, NULL, c_in, c_out, k, dilation, pad_left, groups};
    int64_t d[3] = {c_out, c_in / groups, k};
    snprintf(name, sizeof name, "%s.weight", prefix);
    c.w = tensor(L, name, 3, d);
    if (bias) {
        snprintf(name, sizeof name, "%s.bias", prefix);
        c.b = vec(L, name, c_out);
    }
    const int64_t s = nn_conv_scratch(&c);
    if (s > L->m->slot_floats)
        L->m->slot_floats = s;
    return c;
}

/* Forgets and frees p, one of the loader's copies. */
static void unkeep(loader *L, const void *p)
{
    vits_model *m = L->m;
    for (int i = m->n_allocs - 1; p && i >= 0; i--)
        if (m->allocs[i] == p) {
            free(m->allocs[i]);
            m->allocs[i] = m->allocs[--m->n_allocs];
            return;
        }
}

/* A decoder convolution packed into its time-major form; the file-layout copy is freed. */
static void pack(loader *L, const nn_conv *c, vits_tmconv *t)
{
    if (L->st != SORI_OK)
        return;
    if (!keep(L, vits_tm_pack_conv(c, t)))
        return;
    keep(L, t->b);
    unkeep(L, c->w);
    unkeep(L, c->b);
}

/* A Linear `prefix` [out, in] as a kernel-1 convolution. */
static nn_conv linear(loader *L, const char *prefix, int c_in, int c_out, bool bias)
{
    char name[192]; /* a prefix (< 160 bytes) and a suffix */
    nn_conv c = {NULL, NULL, c_in, c_out, 1, 1, 0, 1};
    int64_t d[2] = {c_out, c_in};
    snprintf(name, sizeof name, "%s.weight", prefix);
    c.w = tensor(L, name, 2, d);
    if (bias) {
        snprintf(name, sizeof name, "%s.bias", prefix);
        c.b = vec(L, name, c_out);
    }
    return c;
}

static vits_ln norm(loader *L, const char *prefix, int n)
{
    char name[192]; /* a prefix (< 160 bytes) and a suffix */
    vits_ln l;
    snprintf(name, sizeof name, "%s.weight", prefix);
    l.g = vec(L, name, n);
    snprintf(name, sizeof name, "%s.bias", prefix);
    l.b = vec(L, name, n);
    return l;
}

static void load_dds(loader *L, const char *prefix, vits_dds *d)
{
    const vits_hp *hp = &L->m->hp;
    const int H = hp->hidden, k = hp->dp_k;
    char p[160];
    for (int i = 0, dil = 1; i < hp->ds_layers; i++, dil *= k) {
        snprintf(p, sizeof p, "%s.convs_dilated.%d", prefix, i);
        d->dw[i] = conv(L, p, H, H, k, dil, (k * dil - dil) / 2, H, true);
        snprintf(p, sizeof p, "%s.convs_pointwise.%d", prefix, i);
        d->pw[i] = conv(L, p, H, H, 1, 1, 0, 1, true);
        snprintf(p, sizeof p, "%s.norms_1.%d", prefix, i);
        d->n1[i] = norm(L, p, H);
        snprintf(p, sizeof p, "%s.norms_2.%d", prefix, i);
        d->n2[i] = norm(L, p, H);
    }
}

/* An integer array key of 1..max entries, each in lo..hi. */
static int int_array(sori_hparams *h, const char *key, int *out, int max, int64_t lo, int64_t hi)
{
    if (h->st != SORI_OK)
        return 0;
    sori_gguf_type et;
    uint64_t n;
    if (sori_gguf_get_arr_info(h->g, key, &et, &n) != SORI_OK) {
        sori_hp_fail(h, SORI_ERR_FORMAT, key, "missing or not an array (a required key)");
        return 0;
    }
    if (n < 1 || n > (uint64_t)max) {
        sori_hp_fail(h, SORI_ERR_FORMAT, key, "%llu entries (1..%d)", (unsigned long long)n, max);
        return 0;
    }
    int64_t v[64];
    if (sori_gguf_get_arr_i64(h->g, key, v, n) != SORI_OK) {
        sori_hp_fail(h, SORI_ERR_FORMAT, key, "not an array of integers");
        return 0;
    }
    for (uint64_t i = 0; i < n; i++) {
        if (v[i] < lo || v[i] > hi) {
            sori_hp_fail(h, SORI_ERR_FORMAT, key, "entry %llu = %lld is out of range (%lld..%lld)",
                         (unsigned long long)i, (long long)v[i], (long long)lo, (long long)hi);
            return 0;
        }
        out[i] = (int)v[i];
    }
    return (int)n;
}

#define K(name) "sori.vits." name

static sori_status read_hp(const sori_gguf *g, const char *path, vits_hp *hp, sori_error *err)
{
    sori_hparams h = sori_hparams_init(g, path, err);
    static const char *const acts[] = {"relu", "gelu", NULL};
    hp->vocab = (int)sori_hp_int(&h, K("vocab_size"), 1, 0, 1, 1000000);
    hp->hidden = (int)sori_hp_int(&h, K("hidden_size"), 1, 0, 1, 4096);
    hp->n_layers = (int)sori_hp_int(&h, K("num_hidden_layers"), 1, 0, 1, 64);
    hp->n_heads = (int)sori_hp_int(&h, K("num_attention_heads"), 1, 0, 1, 64);
    hp->window = (int)sori_hp_int(&h, K("window_size"), 1, 0, 1, 256);
    hp->ffn_dim = (int)sori_hp_int(&h, K("ffn_dim"), 1, 0, 1, 16384);
    hp->ffn_k = (int)sori_hp_int(&h, K("ffn_kernel_size"), 1, 0, 1, 31);
    hp->flow = (int)sori_hp_int(&h, K("flow_size"), 1, 0, 2, 1024);
    hp->n_speakers = (int)sori_hp_int(&h, K("num_speakers"), 1, 0, 1, 100000);
    hp->spk_dim = (int)sori_hp_int(&h, K("speaker_embedding_size"), 1, 0, 0, 4096);
    hp->up_c0 = (int)sori_hp_int(&h, K("upsample_initial_channel"), 1, 0, 1, 4096);
    const int ds_channels = (int)sori_hp_int(&h, K("depth_separable_channels"), 1, 0, 1, 64);
    hp->ds_layers = (int)sori_hp_int(&h, K("depth_separable_num_layers"), 1, 0, 1, VITS_MAX_DDS);
    hp->flow_bins = (int)sori_hp_int(&h, K("duration_predictor_flow_bins"), 1, 0, 1, 256);
    hp->dp_k = (int)sori_hp_int(&h, K("duration_predictor_kernel_size"), 1, 0, 1, 31);
    hp->dp_flows = (int)sori_hp_int(&h, K("duration_predictor_num_flows"), 1, 0, 1, 16);
    hp->dp_fc = (int)sori_hp_int(&h, K("duration_predictor_filter_channels"), 1, 0, 1, 4096);
    hp->n_flows = (int)sori_hp_int(&h, K("prior_encoder_num_flows"), 1, 0, 1, 32);
    hp->wn_layers = (int)sori_hp_int(&h, K("prior_encoder_num_wavenet_layers"), 1, 0, 1, 64);
    hp->wn_k = (int)sori_hp_int(&h, K("wavenet_kernel_size"), 1, 0, 1, 31);
    hp->wn_rate = (int)sori_hp_int(&h, K("wavenet_dilation_rate"), 1, 0, 1, 8);
    hp->rate_hz = (int)sori_hp_int(&h, K("sampling_rate"), 1, 0, 1000, 192000);
    hp->ln_eps = (float)sori_hp_float(&h, K("layer_norm_eps"), 1, 0, 1e-12, 1.0);
    hp->leaky = (float)sori_hp_float(&h, K("leaky_relu_slope"), 1, 0, 0.0, 1.0);
    hp->tail = (float)sori_hp_float(&h, K("duration_predictor_tail_bound"), 1, 0, 1e-3, 1e3);
    hp->speaking_rate = (float)sori_hp_float(&h, K("speaking_rate"), 1, 0, 1e-2, 100.0);
    hp->noise_scale = (float)sori_hp_float(&h, K("noise_scale"), 1, 0, 0.0, 100.0);
    hp->noise_scale_dur = (float)sori_hp_float(&h, K("noise_scale_duration"), 1, 0, 0.0, 100.0);
    hp->use_bias = sori_hp_bool(&h, K("use_bias"), true);
    const int rb_type = (int)sori_hp_int(&h, K("resblock_type"), 0, 1, 1, 2);
    hp->resblock2 = rb_type == 2;
    hp->sdp = sori_hp_bool(&h, K("use_stochastic_duration_prediction"), true);
    hp->gelu = sori_hp_enum(&h, K("hidden_act"), 1, 0, acts) == 1;
    hp->n_up = int_array(&h, K("upsample_rates"), hp->up_rates, VITS_MAX_UP, 1, 64);
    const int n_upk = int_array(&h, K("upsample_kernel_sizes"), hp->up_k, VITS_MAX_UP, 1, 256);
    hp->n_rk = int_array(&h, K("resblock_kernel_sizes"), hp->rk, VITS_MAX_RK, 1, 63);
    const int n_cnt = int_array(&h, K("resblock_dilation_counts"), hp->n_dil, VITS_MAX_RK, 1, VITS_MAX_DIL);
    int dil[VITS_MAX_RK * VITS_MAX_DIL];
    const int n_dil = int_array(&h, K("resblock_dilation_sizes"), dil, VITS_MAX_RK * VITS_MAX_DIL, 1, 64);
    if (h.st != SORI_OK)
        return h.st;
    if (hp->hidden % hp->n_heads)
        sori_hp_fail(&h, SORI_ERR_FORMAT, K("num_attention_heads"), "%d does not divide hidden_size %d", hp->n_heads,
                     hp->hidden);
    if (hp->flow % 2)
        sori_hp_fail(&h, SORI_ERR_FORMAT, K("flow_size"), "%d is odd", hp->flow);
    if (ds_channels != 2)
        sori_hp_fail(&h, SORI_ERR_UNSUPPORTED, K("depth_separable_channels"), "%d: only 2 is supported", ds_channels);
    if (hp->n_speakers > 1 && hp->spk_dim == 0)
        sori_hp_fail(&h, SORI_ERR_FORMAT, K("speaker_embedding_size"), "0 with %d speakers", hp->n_speakers);
    if (hp->dp_k % 2 == 0 || hp->wn_k % 2 == 0)
        sori_hp_fail(&h, SORI_ERR_UNSUPPORTED, hp->dp_k % 2 == 0 ? K("duration_predictor_kernel_size") : K("wavenet_kernel_size"),
                     "even kernels change the sequence length: unsupported");
    if (n_upk != hp->n_up)
        sori_hp_fail(&h, SORI_ERR_FORMAT, K("upsample_kernel_sizes"), "%d entries, upsample_rates has %d", n_upk, hp->n_up);
    if (n_cnt != hp->n_rk)
        sori_hp_fail(&h, SORI_ERR_FORMAT, K("resblock_dilation_counts"), "%d entries, resblock_kernel_sizes has %d",
                     n_cnt, hp->n_rk);
    if (h.st != SORI_OK)
        return h.st;
    int at = 0;
    for (int j = 0; j < hp->n_rk; j++) {
        if (hp->rk[j] % 2 == 0)
            sori_hp_fail(&h, SORI_ERR_UNSUPPORTED, K("resblock_kernel_sizes"), "even kernel %d: unsupported", hp->rk[j]);
        for (int d = 0; d < hp->n_dil[j] && at < n_dil; d++)
            hp->dil[j][d] = dil[at++];
    }
    int want = 0;
    for (int j = 0; j < hp->n_rk; j++)
        want += hp->n_dil[j];
    if (want != n_dil)
        sori_hp_fail(&h, SORI_ERR_FORMAT, K("resblock_dilation_sizes"), "%d entries, the counts add up to %d", n_dil, want);
    hp->hop = 1;
    for (int i = 0; i < hp->n_up; i++) {
        if (hp->up_k[i] < hp->up_rates[i] || (hp->up_k[i] - hp->up_rates[i]) % 2)
            sori_hp_fail(&h, SORI_ERR_UNSUPPORTED, K("upsample_kernel_sizes"),
                         "kernel %d with stride %d: kernel - stride must be even and >= 0", hp->up_k[i], hp->up_rates[i]);
        hp->hop *= hp->up_rates[i];
    }
    if (hp->hop > 4096)
        sori_hp_fail(&h, SORI_ERR_FORMAT, K("upsample_rates"), "%d samples per frame (at most 4096)", hp->hop);
    if (hp->up_c0 >> hp->n_up < 1 || hp->up_c0 % (1 << hp->n_up))
        sori_hp_fail(&h, SORI_ERR_FORMAT, K("upsample_initial_channel"), "%d cannot be halved %d times", hp->up_c0,
                     hp->n_up);
    double span = 1.0;
    for (int i = 1; i < hp->wn_layers; i++)
        span *= hp->wn_rate;
    if (span * hp->wn_k > 1e6)
        sori_hp_fail(&h, SORI_ERR_FORMAT, K("wavenet_dilation_rate"), "dilations beyond 1e6");
    span = 1.0;
    for (int i = 1; i < hp->ds_layers; i++)
        span *= hp->dp_k;
    if (span * hp->dp_k > 1e6)
        sori_hp_fail(&h, SORI_ERR_FORMAT, K("depth_separable_num_layers"), "dilations beyond 1e6");
    if (1e-3 * hp->flow_bins > 1.0)
        sori_hp_fail(&h, SORI_ERR_FORMAT, K("duration_predictor_flow_bins"), "too many bins");
    return h.st;
}

static void read_vocab(loader *L)
{
    vits_model *m = L->m;
    sori_gguf_type et;
    uint64_t n;
    bool b;
    if (sori_gguf_get_bool(L->g, K("add_blank"), &b) == SORI_OK)
        m->add_blank = b;
    if (sori_gguf_get_bool(L->g, K("is_uroman"), &b) == SORI_OK)
        m->uroman = b;
    if (sori_gguf_get_bool(L->g, K("normalize"), &b) == SORI_OK)
        m->lowercase = b;
    m->bos_id = m->eos_id = -1;
    const char *ids[2] = {K("bos_id"), K("eos_id")};
    int32_t *to[2] = {&m->bos_id, &m->eos_id};
    for (int i = 0; i < 2; i++) {
        int64_t v;
        if (sori_gguf_get_int(L->g, ids[i], &v) != SORI_OK)
            continue;
        if (v < 0 || v >= m->hp.vocab) {
            L->st = sori_fail(L->err, SORI_ERR_FORMAT, 0, "%s: %s = %lld: not an id below vocab_size %d", L->path, ids[i],
                              (long long)v, m->hp.vocab);
            return;
        }
        *to[i] = (int32_t)v;
    }
    if (sori_gguf_get_arr_info(L->g, K("speaker_names"), &et, &n) == SORI_OK) {
        if (et != SORI_GGUF_STRING || n != (uint64_t)m->hp.n_speakers) {
            L->st = sori_fail(L->err, SORI_ERR_FORMAT, 0, "%s: " K("speaker_names") ": %llu entries (strings, one a speaker: %d)",
                              L->path, (unsigned long long)n, m->hp.n_speakers);
            return;
        }
        m->speaker_names = keep(L, calloc(n, sizeof(char *)));
        for (uint64_t i = 0; m->speaker_names && i < n && L->st == SORI_OK; i++) {
            const char *s = NULL;
            sori_gguf_get_arr_str(L->g, K("speaker_names"), i, &s);
            m->speaker_names[i] = keep(L, strdup(s ? s : ""));
        }
    }
    const char *ph = NULL;
    if (sori_gguf_get_str(L->g, K("phonemes"), &ph) == SORI_OK) {
        if (strcmp(ph, "ko-ipa") != 0) {
            L->st = sori_fail(L->err, SORI_ERR_UNSUPPORTED, 0,
                              "%s: " K("phonemes") " = %s: sori makes only Korean IPA (ko-ipa) for a voice", L->path, ph);
            return;
        }
        m->korean_ipa = true;
    }
    if (sori_gguf_get_arr_info(L->g, K("vocab"), &et, &n) != SORI_OK)
        return;
    if (et != SORI_GGUF_STRING || n > (uint64_t)m->hp.vocab) {
        L->st = sori_fail(L->err, SORI_ERR_FORMAT, 0, "%s: " K("vocab") ": %llu entries (strings, at most vocab_size %d)",
                          L->path, (unsigned long long)n, m->hp.vocab);
        return;
    }
    m->vocab = keep(L, calloc(n ? n : 1, sizeof(char *)));
    if (!m->vocab)
        return;
    for (uint64_t i = 0; i < n && L->st == SORI_OK; i++) {
        const char *s = NULL;
        sori_gguf_get_arr_str(L->g, K("vocab"), i, &s);
        m->vocab[i] = keep(L, strdup(s ? s : ""));
    }
    m->n_vocab_text = (int32_t)n;
}

sori_status vits_load(const sori_gguf *g, const char *path, vits_model *m, sori_error *err)
{
    memset(m, 0, sizeof *m);
    loader L = {g, path ? path : "<memory>", m, err, SORI_OK};
    const char *arch = NULL;
    if (sori_gguf_get_str(g, "general.architecture", &arch) != SORI_OK)
        return sori_fail(err, SORI_ERR_FORMAT, 0, "%s: general.architecture is missing", L.path);
    if (strcmp(arch, "sori.vits") != 0)
        return sori_fail(err, SORI_ERR_UNSUPPORTED, 0, "%s: general.architecture = %s: not a voice sori runs (sori.vits)",
                         L.path, arch);
    sori_status st = read_hp(g, L.path, &m->hp, err);
    if (st != SORI_OK)
        return st;
    const char *name = NULL;
    sori_gguf_get_str(g, "general.name", &name);
    m->name = keep(&L, strdup(name ? name : ""));
    read_vocab(&L);
    const vits_hp *hp = &m->hp;
    const int H = hp->hidden, F = hp->flow, G = hp->n_speakers > 1 ? hp->spk_dim : 0, D = H / hp->n_heads;
    char p[160];
    int64_t d2[2] = {hp->vocab, H};
    m->embed = tensor(&L, "text_encoder.embed_tokens.weight", 2, d2);
    m->layers = keep(&L, calloc((size_t)hp->n_layers, sizeof *m->layers));
    for (int l = 0; l < hp->n_layers && L.st == SORI_OK; l++) {
        vits_layer *y = &m->layers[l];
        const char *names[4] = {"q", "k", "v", "out"};
        nn_conv *c[4] = {&y->q, &y->k, &y->v, &y->o};
        for (int i = 0; i < 4; i++) {
            snprintf(p, sizeof p, "text_encoder.encoder.layers.%d.attention.%s_proj", l, names[i]);
            *c[i] = linear(&L, p, H, H, hp->use_bias);
        }
        int64_t dr[3] = {1, 2 * hp->window + 1, D};
        snprintf(p, sizeof p, "text_encoder.encoder.layers.%d.attention.emb_rel_k", l);
        y->rel_k = tensor(&L, p, 3, dr);
        snprintf(p, sizeof p, "text_encoder.encoder.layers.%d.attention.emb_rel_v", l);
        y->rel_v = tensor(&L, p, 3, dr);
        snprintf(p, sizeof p, "text_encoder.encoder.layers.%d.layer_norm", l);
        y->ln1 = norm(&L, p, H);
        snprintf(p, sizeof p, "text_encoder.encoder.layers.%d.final_layer_norm", l);
        y->ln2 = norm(&L, p, H);
        const int k = hp->ffn_k;
        const int64_t slots = m->slot_floats; /* packed: no im2col scratch */
        snprintf(p, sizeof p, "text_encoder.encoder.layers.%d.feed_forward.conv_1", l);
        nn_conv f = conv(&L, p, H, hp->ffn_dim, k, 1, (k - 1) / 2, 1, true);
        pack(&L, &f, &y->t_ffn1);
        snprintf(p, sizeof p, "text_encoder.encoder.layers.%d.feed_forward.conv_2", l);
        f = conv(&L, p, hp->ffn_dim, H, k, 1, (k - 1) / 2, 1, true);
        pack(&L, &f, &y->t_ffn2);
        m->slot_floats = slots;
    }
    m->project = conv(&L, "text_encoder.project", H, 2 * F, 1, 1, 0, 1, true);
    if (G)
        m->dp_cond = conv(&L, "duration_predictor.cond", G, H, 1, 1, 0, 1, true);
    const int dk = hp->dp_k;
    if (hp->sdp) {
        m->sdp_pre = conv(&L, "duration_predictor.conv_pre", H, H, 1, 1, 0, 1, true);
        m->sdp_proj = conv(&L, "duration_predictor.conv_proj", H, H, 1, 1, 0, 1, true);
        load_dds(&L, "duration_predictor.conv_dds", &m->sdp_dds);
        int64_t da[2] = {2, 1};
        m->sdp_translate = tensor(&L, "duration_predictor.flows.0.translate", 2, da);
        m->sdp_log_scale = tensor(&L, "duration_predictor.flows.0.log_scale", 2, da);
        if (hp->dp_flows >= 2)
            m->sdp_flows = keep(&L, calloc((size_t)hp->dp_flows - 1, sizeof *m->sdp_flows));
        for (int f = 2; f <= hp->dp_flows && L.st == SORI_OK; f++) {
            vits_convflow *cf = &m->sdp_flows[f - 2];
            snprintf(p, sizeof p, "duration_predictor.flows.%d.conv_pre", f);
            cf->pre = conv(&L, p, 1, H, 1, 1, 0, 1, true);
            snprintf(p, sizeof p, "duration_predictor.flows.%d.conv_proj", f);
            cf->proj = conv(&L, p, H, 3 * hp->flow_bins - 1, 1, 1, 0, 1, true);
            snprintf(p, sizeof p, "duration_predictor.flows.%d.conv_dds", f);
            load_dds(&L, p, &cf->dds);
        }
    } else {
        m->dp_c1 = conv(&L, "duration_predictor.conv_1", H, hp->dp_fc, dk, 1, dk / 2, 1, true);
        m->dp_c2 = conv(&L, "duration_predictor.conv_2", hp->dp_fc, hp->dp_fc, dk, 1, dk / 2, 1, true);
        m->dp_n1 = norm(&L, "duration_predictor.norm_1", hp->dp_fc);
        m->dp_n2 = norm(&L, "duration_predictor.norm_2", hp->dp_fc);
        m->dp_proj = conv(&L, "duration_predictor.proj", hp->dp_fc, 1, 1, 1, 0, 1, true);
    }
    const int64_t slots = m->slot_floats; /* the flow and the decoder need no im2col scratch, only the product's */
    m->flows = keep(&L, calloc((size_t)hp->n_flows, sizeof *m->flows));
    for (int f = 0; f < hp->n_flows && L.st == SORI_OK; f++) {
        vits_coupling *c = &m->flows[f];
        nn_conv t;
        snprintf(p, sizeof p, "flow.flows.%d.conv_pre", f);
        t = conv(&L, p, F / 2, H, 1, 1, 0, 1, true);
        pack(&L, &t, &c->t_pre);
        snprintf(p, sizeof p, "flow.flows.%d.conv_post", f);
        t = conv(&L, p, H, F / 2, 1, 1, 0, 1, true);
        pack(&L, &t, &c->t_post);
        if (G) {
            snprintf(p, sizeof p, "flow.flows.%d.wavenet.cond_layer", f);
            c->cond = conv(&L, p, G, 2 * H * hp->wn_layers, 1, 1, 0, 1, true);
        }
        for (int i = 0, dil = 1; i < hp->wn_layers; i++, dil *= hp->wn_rate) {
            snprintf(p, sizeof p, "flow.flows.%d.wavenet.in_layers.%d", f, i);
            t = conv(&L, p, H, 2 * H, hp->wn_k, dil, (hp->wn_k * dil - dil) / 2, 1, true);
            pack(&L, &t, &c->t_in[i]);
            snprintf(p, sizeof p, "flow.flows.%d.wavenet.res_skip_layers.%d", f, i);
            t = conv(&L, p, H, i < hp->wn_layers - 1 ? 2 * H : H, 1, 1, 0, 1, true);
            pack(&L, &t, &c->t_rs[i]);
        }
    }
    nn_conv c = conv(&L, "decoder.conv_pre", F, hp->up_c0, 7, 1, 3, 1, true);
    pack(&L, &c, &m->t_pre);
    if (G)
        m->dec_cond = conv(&L, "decoder.cond", G, hp->up_c0, 1, 1, 0, 1, true);
    m->resblocks = keep(&L, calloc((size_t)hp->n_up * hp->n_rk, sizeof *m->resblocks));
    for (int i = 0; i < hp->n_up && L.st == SORI_OK; i++) {
        const int cin = hp->up_c0 >> i, cout = hp->up_c0 >> (i + 1);
        int64_t du[3] = {cin, cout, hp->up_k[i]};
        nn_convt u = {NULL, NULL, cin, cout, hp->up_k[i], hp->up_rates[i], (hp->up_k[i] - hp->up_rates[i]) / 2};
        snprintf(p, sizeof p, "decoder.upsampler.%d.weight", i);
        u.w = tensor(&L, p, 3, du);
        snprintf(p, sizeof p, "decoder.upsampler.%d.bias", i);
        u.b = vec(&L, p, cout);
        if (L.st == SORI_OK) {
            if (!keep(&L, vits_tm_pack_convt(&u, &m->t_ups[i])))
                break;
            keep(&L, m->t_ups[i].b);
            unkeep(&L, u.w);
            unkeep(&L, u.b);
        }
        for (int j = 0; j < hp->n_rk; j++) {
            vits_resblock *rb = &m->resblocks[i * hp->n_rk + j];
            const int k = hp->rk[j];
            rb->n = hp->n_dil[j];
            for (int d = 0; d < rb->n; d++) {
                const int dl = hp->dil[j][d];
                snprintf(p, sizeof p, "decoder.resblocks.%d.convs1.%d", i * hp->n_rk + j, d);
                c = conv(&L, p, cout, cout, k, dl, (k * dl - dl) / 2, 1, true);
                pack(&L, &c, &rb->t1[d]);
                if (hp->resblock2)
                    continue;
                snprintf(p, sizeof p, "decoder.resblocks.%d.convs2.%d", i * hp->n_rk + j, d);
                c = conv(&L, p, cout, cout, k, 1, (k - 1) / 2, 1, true);
                pack(&L, &c, &rb->t2[d]);
            }
        }
    }
    c = conv(&L, "decoder.conv_post", hp->up_c0 >> hp->n_up, 1, 7, 1, 3, 1, false);
    pack(&L, &c, &m->t_post);
    m->slot_floats = slots > SORI_P16_SCRATCH ? slots : SORI_P16_SCRATCH;
    if (hp->n_speakers > 1) {
        int64_t ds[2] = {hp->n_speakers, hp->spk_dim};
        m->spk_embed = tensor(&L, "embed_speaker.weight", 2, ds);
    }
    if (L.st != SORI_OK)
        vits_free(m);
    return L.st;
}

void vits_free(vits_model *m)
{
    if (!m)
        return;
    for (int i = 0; i < m->n_allocs; i++)
        free(m->allocs[i]);
    free(m->allocs);
    memset(m, 0, sizeof *m);
}
