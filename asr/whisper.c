/* Whisper's encoder and decoder (asr/whisper.h): loading with every key and
 * shape checked before the weights, one backend buffer of weights, and
 * per-state workspaces carved from one slab. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asr/whisper.h"
#include "kernels/gguf.h"
#include "kernels/hparams.h"
#include "kernels/cpu/gemm_p16.h"
#include "kernels/cpu/vec.h"
#include "kernels/kernels.h"
#include "lm/bpe.h"

#define K(name) "sori.whisper." name

/* Matrices are f32 in the encoder (compute-bound: sgemm) and, where the
 * backend takes them, in the file's precision in the decoder — f16 or Q8_0
 * (a step reads every weight once: bound by their bytes); `wt` in the model
 * says which. */
typedef struct {
    const float *ln_w, *ln_b;     /* attn_ln */
    const void *qkv_w;            /* [3d, d] */
    const float *qkv_b;           /* [3d] (the key has no bias: zeros) */
    const void *out_w;
    const float *out_b;
    const float *xln_w, *xln_b;   /* decoder: cross_attn_ln */
    const void *xq_w;             /* [d, d] */
    const float *xq_b;
    const void *xkv_w;            /* [2d, d] */
    const float *xkv_b;           /* [2d] */
    const void *xout_w;
    const float *xout_b;
    const float *mln_w, *mln_b;   /* mlp_ln */
    const void *fc1_w, *fc2_w;
    const float *fc1_b, *fc2_b;
} block_w;

struct sori_whisper {
    sori_runtime *rt;
    bool cpu; /* the CPU backend: attention reads only the keys a query sees (a step's beams share one call) */
    sori_whisper_hparams hp;
    sori_whisper_tokens tok;
    char name[128];
    float *mel_filters; /* host [n_mels, 201] */
    char **languages;
    int32_t *suppress, *align;
    sori_bpe *bpe;
    /* weights (backend memory) */
    const float *conv1_w, *conv1_b, *conv2_w, *conv2_b, *enc_pos, *enc_ln_w, *enc_ln_b;
    const void *tok_emb;
    const float *dec_pos, *dec_ln_w, *dec_ln_b;
    block_w *enc, *dec;
    sori_dtype wt;  /* the decoder's matrices and token embedding */
    sori_dtype ewt; /* the encoder's matrices: F32, or F32_P16 (packed at load for the CPU's own product) */
    void *weights;
};

/* ---- loading ----------------------------------------------------------------------- */

typedef struct {
    const sori_gguf *g;
    const char *path;
    char *dev, *host;
    size_t used, cap;
    sori_error *err;
    sori_status st;
    sori_dtype narrow; /* matrices placed now are stored in this type (F32: as f32) */
    bool pack;         /* pack the encoder's matrices (SORI_F32_P16) as they are placed */
    bool check; /* a first pass: only every tensor's presence, type and shape */
} loader;

/* what place* return in the checking pass */
static const float check_mark[1];

static const sori_gguf_tensor *find(loader *ld, const char *name, int64_t d0, int64_t d1, int64_t d2)
{
    if (ld->st != SORI_OK)
        return NULL;
    const sori_gguf_tensor *t = sori_gguf_find_tensor(ld->g, name);
    if (!t) {
        ld->st = sori_fail(ld->err, SORI_ERR_FORMAT, 0, "%s: tensor '%s' is missing", ld->path, name);
        return NULL;
    }
    /* numpy shape (d0, d1, d2) outermost first; GGUF ne innermost first */
    int nd = d2 > 0 ? 3 : d1 > 0 ? 2 : 1;
    int64_t want[3] = {nd == 3 ? d2 : nd == 2 ? d1 : d0, nd == 3 ? d1 : nd == 2 ? d0 : 1, nd == 3 ? d0 : 1};
    bool ok = t->n_dims == nd && t->ne[0] == want[0] && t->ne[1] == want[1] && t->ne[2] == want[2];
    bool typed = t->type == SORI_GGML_F32 || t->type == SORI_GGML_F16 ||
                 (t->type == SORI_GGML_Q8_0 && t->ne[0] % 32 == 0);
    if (!ok || !typed) {
        ld->st = sori_fail(ld->err, SORI_ERR_FORMAT, 0,
                           "%s: tensor '%s' is %s [%lld, %lld, %lld] (innermost first), expected f32/f16/q8_0 "
                           "[%lld, %lld, %lld]",
                           ld->path, name, sori_ggml_type_name(t->type), (long long)t->ne[0],
                           (long long)t->ne[1], (long long)t->ne[2], (long long)want[0], (long long)want[1],
                           (long long)want[2]);
        return NULL;
    }
    return t;
}

/* Tensor as f32 into dst (n floats). */
static void to_f32(const sori_gguf_tensor *t, float *dst)
{
    const int64_t n = t->n_elements;
    if (t->type == SORI_GGML_F32) {
        memcpy(dst, t->data, (size_t)n * sizeof(float));
    } else if (t->type == SORI_GGML_F16) {
        sori_cpu_f16_to_f32(t->data, dst, n);
    } else { /* Q8_0: blocks of an f16 scale and 32 int8 */
        const uint8_t *p = t->data;
        for (int64_t b = 0; b < n / 32; b++, p += 34) {
            uint16_t hs;
            memcpy(&hs, p, 2);
            float d = sori_f16_to_f32(hs);
            for (int i = 0; i < 32; i++)
                dst[b * 32 + i] = d * (float)(int8_t)p[2 + i];
        }
    }
}

static bool all_finite(const float *x, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(x[i]))
            return false;
    return true;
}

/* No half is NaN or Inf (exponent bits all ones). */
static bool f16_finite(const uint16_t *h, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        if ((h[i] & 0x7C00) == 0x7C00)
            return false;
    return true;
}

/* Reserves n floats (or n halves) of the weight buffer; the host staging
 * address in *h. */
static const float *reserve_bytes(loader *ld, size_t raw, float **h)
{
    size_t bytes = (raw + 255) & ~(size_t)255;
    if (ld->st != SORI_OK || ld->used + bytes > ld->cap) {
        if (ld->st == SORI_OK)
            ld->st = sori_fail(ld->err, SORI_ERR_FORMAT, 0, "%s: weights larger than planned", ld->path);
        return NULL;
    }
    *h = (float *)(ld->host + ld->used);
    const float *where = (const float *)(ld->dev + ld->used);
    ld->used += bytes;
    return where;
}

static const float *reserve(loader *ld, int64_t n, float **h)
{
    return reserve_bytes(ld, (size_t)n * sizeof(float), h);
}

/* A tensor as f32 (vectors, positions, the encoder's matrices). */
static const float *place(loader *ld, const char *name, int64_t d0, int64_t d1, int64_t d2)
{
    const sori_gguf_tensor *t = find(ld, name, d0, d1, d2);
    if (!t || ld->check)
        return t ? check_mark : NULL;
    float *h = NULL;
    const float *where = reserve(ld, t->n_elements, &h);
    if (!where)
        return NULL;
    to_f32(t, h);
    if (!all_finite(h, t->n_elements)) {
        ld->st = sori_fail(ld->err, SORI_ERR_FORMAT, 0, "%s: tensor '%s' holds NaN or Inf", ld->path, name);
        return NULL;
    }
    return where;
}

/* f32 values to `type` (f16, or Q8_0 for n a multiple of 32) in place, at
 * the start of the same buffer (each output lies at or before its input). */
static void narrow_to(float *x, int64_t n, sori_dtype type)
{
    if (type == SORI_F16) {
        uint16_t *h = (uint16_t *)x;
        for (int64_t i = 0; i < n; i++) {
            float v = x[i]; /* read before the write: h[i] overlaps x[i / 2] */
            h[i] = sori_f32_to_f16(v);
        }
    } else if (type == SORI_Q8_0) {
        uint8_t *q = (uint8_t *)x, blk[34];
        for (int64_t b = 0; b < n / 32; b++) {
            sori_quantize_q8_0(x + b * 32, 32, blk);
            memcpy(q + b * 34, blk, 34);
        }
    }
}

/* A decoder matrix in ld->narrow's type: a Q8_0 tensor into Q8_0 as it is,
 * anything else through f32. */
static const void *place_w(loader *ld, const char *name, int64_t d0, int64_t d1)
{
    if (ld->narrow == SORI_F32)
        return place(ld, name, d0, d1, 0);
    const sori_gguf_tensor *t = find(ld, name, d0, d1, 0);
    if (!t || ld->check)
        return t ? check_mark : NULL;
    float *h = NULL;
    size_t at = ld->used;
    const void *where = reserve_bytes(ld, (size_t)t->n_elements * sizeof(float), &h);
    if (!where)
        return NULL;
    if ((ld->narrow == SORI_Q8_0 && t->type == SORI_GGML_Q8_0) || (ld->narrow == SORI_F16 && t->type == SORI_GGML_F16)) {
        if (t->type == SORI_GGML_F16 && !f16_finite(t->data, t->n_elements)) {
            ld->st = sori_fail(ld->err, SORI_ERR_FORMAT, 0, "%s: tensor '%s' holds NaN or Inf", ld->path, name);
            return NULL;
        }
        memcpy(h, t->data, sori_dtype_bytes(ld->narrow, t->n_elements)); /* as the file has it */
    } else { /* as f32 in a scratch copy, narrowed, then only the narrowed bytes placed */
        float *f = malloc((size_t)t->n_elements * sizeof(float));
        if (!f) {
            ld->st = sori_fail(ld->err, SORI_ERR_NO_MEMORY, 0, "%s: out of memory", ld->path);
            return NULL;
        }
        to_f32(t, f);
        if (!all_finite(f, t->n_elements)) {
            free(f);
            ld->st = sori_fail(ld->err, SORI_ERR_FORMAT, 0, "%s: tensor '%s' holds NaN or Inf", ld->path, name);
            return NULL;
        }
        narrow_to(f, t->n_elements, ld->narrow);
        memcpy(h, f, sori_dtype_bytes(ld->narrow, t->n_elements));
        free(f);
    }
    ld->used = at + ((sori_dtype_bytes(ld->narrow, t->n_elements) + 255) & ~(size_t)255);
    return where;
}

/* An encoder matrix [n, k] just placed as f32, packed where it lies when
 * the model's encoder runs on packed weights. */
static const void *packed(loader *ld, const void *where, int64_t n, int64_t k)
{
    if (!ld->pack || ld->check || !where || ld->st != SORI_OK)
        return where;
    float *h = (float *)(ld->host + ((const char *)where - ld->dev));
    if (!sori_pack_p16_in_place(h, (int)n, (int)k))
        ld->st = sori_fail(ld->err, SORI_ERR_NO_MEMORY, 0, "%s: out of memory", ld->path);
    return where;
}

/* Several tensors of rows x cols (bias: rows) stacked; a missing one (NULL
 * name) is zeros. */
static const float *place_stack(loader *ld, const char *const *names, int n, int64_t rows, int64_t cols)
{
    const int64_t each = rows * (cols > 0 ? cols : 1);
    const sori_dtype narrow = cols > 0 ? ld->narrow : SORI_F32;
    if (ld->check) {
        for (int i = 0; i < n; i++)
            if (names[i] && !find(ld, names[i], rows, cols, 0))
                return NULL;
        return ld->st == SORI_OK ? check_mark : NULL;
    }
    size_t at = ld->used;
    float *h = NULL, *dst = NULL;
    const float *where = reserve(ld, each * n, &dst);
    /* narrowed stacks are built in a scratch copy: only their bytes touch the weights */
    h = narrow != SORI_F32 && where ? malloc((size_t)(each * n) * sizeof(float)) : dst;
    if (where && !h) {
        ld->st = sori_fail(ld->err, SORI_ERR_NO_MEMORY, 0, "%s: out of memory", ld->path);
        return NULL;
    }
    for (int i = 0; where && i < n && ld->st == SORI_OK; i++) {
        if (!names[i]) {
            memset(h + i * each, 0, (size_t)each * sizeof(float));
            continue;
        }
        const sori_gguf_tensor *t = find(ld, names[i], rows, cols, 0);
        if (!t)
            break;
        to_f32(t, h + i * each);
        if (!all_finite(h + i * each, each)) {
            ld->st = sori_fail(ld->err, SORI_ERR_FORMAT, 0, "%s: tensor '%s' holds NaN or Inf", ld->path, names[i]);
            break;
        }
    }
    if (narrow != SORI_F32 && where && ld->st == SORI_OK) { /* rows are independent: the stack narrows as one */
        narrow_to(h, each * n, narrow);
        memcpy(dst, h, sori_dtype_bytes(narrow, each * n));
        ld->used = at + ((sori_dtype_bytes(narrow, each * n) + 255) & ~(size_t)255);
    }
    if (h != dst)
        free(h);
    return ld->st == SORI_OK ? where : NULL;
}

static size_t weight_floats_bound(const sori_whisper_hparams *hp)
{
    /* every tensor rounded up to 64 floats, a generous count of tensors */
    const size_t da = (size_t)hp->n_audio_state, dt = (size_t)hp->n_text_state;
    size_t n = da * hp->n_mels * 3 + da * da * 3 + (size_t)hp->n_audio_ctx * da + 8 * da;
    n += (size_t)hp->n_audio_layer * (12 * da * da + 20 * da);
    n += (size_t)hp->n_vocab * dt + (size_t)hp->n_text_ctx * dt + 4 * dt;
    n += (size_t)hp->n_text_layer * (16 * dt * dt + 30 * dt);
    n += (size_t)(4 + hp->n_audio_layer * 16 + hp->n_text_layer * 24) * 64;
    return n;
}

static sori_status read_tokens(sori_whisper *m, sori_hparams *h)
{
    const sori_gguf *g = h->g;
    sori_whisper_tokens *t = &m->tok;
    const int V = m->hp.n_vocab;
    t->eot = (int)sori_hp_int(h, K("token_eot"), SORI_HP_REQUIRED, 0, 0, V - 1);
    t->sot = (int)sori_hp_int(h, K("token_sot"), SORI_HP_REQUIRED, 0, 0, V - 1);
    t->translate = (int)sori_hp_int(h, K("token_translate"), SORI_HP_REQUIRED, 0, 0, V - 1);
    t->transcribe = (int)sori_hp_int(h, K("token_transcribe"), SORI_HP_REQUIRED, 0, 0, V - 1);
    t->sot_lm = (int)sori_hp_int(h, K("token_sot_lm"), SORI_HP_REQUIRED, 0, 0, V - 1);
    t->sot_prev = (int)sori_hp_int(h, K("token_sot_prev"), SORI_HP_REQUIRED, 0, 0, V - 1);
    t->no_speech = (int)sori_hp_int(h, K("token_no_speech"), SORI_HP_REQUIRED, 0, 0, V - 1);
    t->no_timestamps = (int)sori_hp_int(h, K("token_no_timestamps"), SORI_HP_REQUIRED, 0, 0, V - 1);
    t->timestamp_begin = (int)sori_hp_int(h, K("token_timestamp_begin"), SORI_HP_REQUIRED, 0, 0, V - 1);
    if (h->st != SORI_OK)
        return h->st;
    if (t->eot >= t->sot || t->timestamp_begin <= t->no_timestamps)
        sori_hp_fail(h, SORI_ERR_FORMAT, K("token_sot"), "the special tokens are not in Whisper's order");
    /* vocabulary */
    sori_gguf_type et;
    uint64_t n = 0;
    if (sori_gguf_get_arr_info(g, K("tokens"), &et, &n) != SORI_OK || et != SORI_GGUF_STRING)
        sori_hp_fail(h, SORI_ERR_FORMAT, K("tokens"), "missing or not an array of strings");
    else if (n != (uint64_t)V)
        sori_hp_fail(h, SORI_ERR_FORMAT, K("tokens"), "%llu entries, n_vocab is %d", (unsigned long long)n, V);
    if (h->st != SORI_OK)
        return h->st;
    const char **toks = malloc((size_t)V * sizeof *toks);
    if (!toks)
        return h->st = sori_fail(h->err, SORI_ERR_NO_MEMORY, 0, "whisper: out of memory");
    for (int i = 0; i < V; i++)
        if (sori_gguf_get_arr_str(g, K("tokens"), (uint64_t)i, &toks[i]) != SORI_OK)
            toks[i] = NULL;
    sori_error e2 = {0};
    if (sori_bpe_create(toks, V, t->eot, &m->bpe, &e2) != SORI_OK)
        sori_hp_fail(h, SORI_ERR_FORMAT, K("tokens"), "%s", e2.message);
    free(toks);
    if (h->st != SORI_OK)
        return h->st;
    /* languages */
    if (sori_gguf_get_arr_info(g, K("languages"), &et, &n) != SORI_OK || et != SORI_GGUF_STRING)
        sori_hp_fail(h, SORI_ERR_FORMAT, K("languages"), "missing or not an array of strings");
    else if ((int64_t)n > t->translate - t->sot - 1)
        sori_hp_fail(h, SORI_ERR_FORMAT, K("languages"), "%llu codes, but only %d tokens lie between "
                     "<|startoftranscript|> and <|translate|>", (unsigned long long)n, t->translate - t->sot - 1);
    if (h->st != SORI_OK)
        return h->st;
    t->n_languages = (int)n;
    m->languages = calloc(n + 1, sizeof *m->languages);
    for (uint64_t i = 0; m->languages && i < n; i++) {
        const char *c = NULL;
        sori_gguf_get_arr_str(g, K("languages"), i, &c);
        if (!c || strlen(c) > 15) {
            sori_hp_fail(h, SORI_ERR_FORMAT, K("languages"), "code %llu is missing or too long", (unsigned long long)i);
            return h->st;
        }
        m->languages[i] = strdup(c);
        if (!m->languages[i])
            return h->st = sori_fail(h->err, SORI_ERR_NO_MEMORY, 0, "whisper: out of memory");
    }
    t->languages = (const char *const *)m->languages;
    /* openai-whisper: is_multilingual = n_vocab >= 51865 (English-only
     * vocabularies keep the language tokens but never use them) */
    t->multilingual = sori_hp_bool(h, K("multilingual"), V >= 51865) && n > 0;
    /* suppress list and alignment heads */
    uint64_t ns = 0, na = 0;
    if (sori_gguf_find_key(g, K("suppress_tokens")) >= 0 &&
        (sori_gguf_get_arr_info(g, K("suppress_tokens"), &et, &ns) != SORI_OK || ns > (uint64_t)V))
        sori_hp_fail(h, SORI_ERR_FORMAT, K("suppress_tokens"), "not an array of at most n_vocab ids");
    if (sori_gguf_find_key(g, K("alignment_heads")) >= 0 &&
        (sori_gguf_get_arr_info(g, K("alignment_heads"), &et, &na) != SORI_OK || na % 2 || na > 2048))
        sori_hp_fail(h, SORI_ERR_FORMAT, K("alignment_heads"), "not an array of (layer, head) pairs");
    if (h->st != SORI_OK)
        return h->st;
    int64_t *tmp = malloc((ns + na + 1) * sizeof *tmp);
    m->suppress = malloc((ns + 1) * sizeof *m->suppress);
    m->align = malloc((na + 1) * sizeof *m->align);
    if (!tmp || !m->suppress || !m->align || !m->languages) {
        free(tmp);
        return h->st = sori_fail(h->err, SORI_ERR_NO_MEMORY, 0, "whisper: out of memory");
    }
    if (ns && sori_gguf_get_arr_i64(g, K("suppress_tokens"), tmp, ns) != SORI_OK)
        sori_hp_fail(h, SORI_ERR_FORMAT, K("suppress_tokens"), "not integers");
    for (uint64_t i = 0; h->st == SORI_OK && i < ns; i++) {
        if (tmp[i] < 0 || tmp[i] >= V)
            sori_hp_fail(h, SORI_ERR_FORMAT, K("suppress_tokens"), "id %lld is not a token", (long long)tmp[i]);
        m->suppress[i] = (int32_t)tmp[i];
    }
    if (na && h->st == SORI_OK && sori_gguf_get_arr_i64(g, K("alignment_heads"), tmp, na) != SORI_OK)
        sori_hp_fail(h, SORI_ERR_FORMAT, K("alignment_heads"), "not integers");
    for (uint64_t i = 0; h->st == SORI_OK && i < na; i += 2) {
        if (tmp[i] < 0 || tmp[i] >= m->hp.n_text_layer || tmp[i + 1] < 0 || tmp[i + 1] >= m->hp.n_text_head)
            sori_hp_fail(h, SORI_ERR_FORMAT, K("alignment_heads"), "(%lld, %lld) is not a decoder layer and head",
                         (long long)tmp[i], (long long)tmp[i + 1]);
        m->align[i] = (int32_t)tmp[i], m->align[i + 1] = (int32_t)tmp[i + 1];
    }
    free(tmp);
    t->suppress = m->suppress;
    t->n_suppress = (int)ns;
    t->alignment_heads = m->align;
    t->n_alignment_heads = (int)(na / 2);
    return h->st;
}

static sori_status read_hparams(sori_whisper *m, const sori_gguf *g, const char *path, sori_error *err)
{
    sori_hparams h = sori_hparams_init(g, path, err);
    sori_whisper_hparams *hp = &m->hp;
    hp->n_mels = (int)sori_hp_int(&h, K("n_mels"), SORI_HP_REQUIRED, 0, 1, 256);
    hp->n_audio_ctx = (int)sori_hp_int(&h, K("n_audio_ctx"), SORI_HP_REQUIRED, 0, 1, 6000);
    hp->n_audio_state = (int)sori_hp_int(&h, K("n_audio_state"), SORI_HP_REQUIRED, 0, 1, 8192);
    hp->n_audio_head = (int)sori_hp_int(&h, K("n_audio_head"), SORI_HP_REQUIRED, 0, 1, 256);
    hp->n_audio_layer = (int)sori_hp_int(&h, K("n_audio_layer"), SORI_HP_REQUIRED, 0, 1, 256);
    hp->n_text_ctx = (int)sori_hp_int(&h, K("n_text_ctx"), SORI_HP_REQUIRED, 0, 8, 4096);
    hp->n_text_state = (int)sori_hp_int(&h, K("n_text_state"), SORI_HP_REQUIRED, 0, 1, 8192);
    hp->n_text_head = (int)sori_hp_int(&h, K("n_text_head"), SORI_HP_REQUIRED, 0, 1, 256);
    hp->n_text_layer = (int)sori_hp_int(&h, K("n_text_layer"), SORI_HP_REQUIRED, 0, 1, 256);
    hp->n_vocab = (int)sori_hp_int(&h, K("n_vocab"), SORI_HP_REQUIRED, 0, 16, 1 << 20);
    const char *name = sori_hp_str(&h, "general.name", SORI_HP_OPTIONAL, "", 127);
    if (h.st == SORI_OK) {
        if (hp->n_audio_state % hp->n_audio_head)
            sori_hp_fail(&h, SORI_ERR_FORMAT, K("n_audio_head"), "%d does not divide n_audio_state %d",
                         hp->n_audio_head, hp->n_audio_state);
        else if (hp->n_text_state % hp->n_text_head)
            sori_hp_fail(&h, SORI_ERR_FORMAT, K("n_text_head"), "%d does not divide n_text_state %d",
                         hp->n_text_head, hp->n_text_state);
        else if (hp->n_audio_state != hp->n_text_state)
            sori_hp_fail(&h, SORI_ERR_FORMAT, K("n_text_state"), "%d differs from n_audio_state %d",
                         hp->n_text_state, hp->n_audio_state);
    }
    if (h.st == SORI_OK) {
        snprintf(m->name, sizeof m->name, "%s", name);
        read_tokens(m, &h);
    }
    return h.st;
}

static sori_status load_weights(sori_whisper *m, loader *ld)
{
    const sori_whisper_hparams *hp = &m->hp;
    const int64_t d = hp->n_audio_state, A = hp->n_audio_ctx, V = hp->n_vocab;
    char nm[8][96];
    m->conv1_w = place(ld, "encoder.conv1.weight", d, hp->n_mels, 3);
    m->conv1_b = place(ld, "encoder.conv1.bias", d, 0, 0);
    m->conv2_w = place(ld, "encoder.conv2.weight", d, d, 3);
    m->conv2_b = place(ld, "encoder.conv2.bias", d, 0, 0);
    m->enc_pos = place(ld, "encoder.positional_embedding", A, d, 0);
    for (int dec = 0; dec < 2; dec++) {
        int L = dec ? hp->n_text_layer : hp->n_audio_layer;
        const char *pre = dec ? "decoder" : "encoder";
        block_w *bw = dec ? m->dec : m->enc;
        ld->narrow = dec ? m->wt : SORI_F32;
        ld->pack = !dec && m->ewt == SORI_F32_P16;
        for (int l = 0; l < L && ld->st == SORI_OK; l++) {
            block_w *b = &bw[l];
#define N(i, suffix) (snprintf(nm[i], sizeof nm[i], "%s.blocks.%d.%s", pre, l, suffix), nm[i])
            b->ln_w = place(ld, N(0, "attn_ln.weight"), d, 0, 0);
            b->ln_b = place(ld, N(0, "attn_ln.bias"), d, 0, 0);
            const char *qkv[3] = {N(0, "attn.query.weight"), N(1, "attn.key.weight"), N(2, "attn.value.weight")};
            b->qkv_w = packed(ld, place_stack(ld, qkv, 3, d, d), 3 * d, d);
            const char *qkvb[3] = {N(0, "attn.query.bias"), NULL, N(2, "attn.value.bias")};
            b->qkv_b = place_stack(ld, qkvb, 3, d, 0);
            b->out_w = packed(ld, place_w(ld, N(0, "attn.out.weight"), d, d), d, d);
            b->out_b = place(ld, N(0, "attn.out.bias"), d, 0, 0);
            if (dec) {
                b->xln_w = place(ld, N(0, "cross_attn_ln.weight"), d, 0, 0);
                b->xln_b = place(ld, N(0, "cross_attn_ln.bias"), d, 0, 0);
                b->xq_w = place_w(ld, N(0, "cross_attn.query.weight"), d, d);
                b->xq_b = place(ld, N(0, "cross_attn.query.bias"), d, 0, 0);
                const char *kv[2] = {N(1, "cross_attn.key.weight"), N(2, "cross_attn.value.weight")};
                b->xkv_w = place_stack(ld, kv, 2, d, d);
                const char *kvb[2] = {NULL, N(2, "cross_attn.value.bias")};
                b->xkv_b = place_stack(ld, kvb, 2, d, 0);
                b->xout_w = place_w(ld, N(0, "cross_attn.out.weight"), d, d);
                b->xout_b = place(ld, N(0, "cross_attn.out.bias"), d, 0, 0);
            }
            b->mln_w = place(ld, N(0, "mlp_ln.weight"), d, 0, 0);
            b->mln_b = place(ld, N(0, "mlp_ln.bias"), d, 0, 0);
            b->fc1_w = packed(ld, place_w(ld, N(0, "mlp.0.weight"), 4 * d, d), 4 * d, d);
            b->fc1_b = place(ld, N(0, "mlp.0.bias"), 4 * d, 0, 0);
            b->fc2_w = packed(ld, place_w(ld, N(0, "mlp.2.weight"), d, 4 * d), d, 4 * d);
            b->fc2_b = place(ld, N(0, "mlp.2.bias"), d, 0, 0);
#undef N
        }
    }
    ld->narrow = SORI_F32;
    ld->pack = false;
    m->enc_ln_w = place(ld, "encoder.ln_post.weight", d, 0, 0);
    m->enc_ln_b = place(ld, "encoder.ln_post.bias", d, 0, 0);
    ld->narrow = m->wt;
    m->tok_emb = place_w(ld, "decoder.token_embedding.weight", V, d);
    ld->narrow = SORI_F32;
    m->dec_pos = place(ld, "decoder.positional_embedding", hp->n_text_ctx, d, 0);
    m->dec_ln_w = place(ld, "decoder.ln.weight", d, 0, 0);
    m->dec_ln_b = place(ld, "decoder.ln.bias", d, 0, 0);
    /* the mel filters stay on the host */
    const sori_gguf_tensor *t = find(ld, "mel_filters", hp->n_mels, 201, 0);
    if (t && !ld->check) {
        m->mel_filters = malloc((size_t)t->n_elements * sizeof(float));
        if (!m->mel_filters)
            return ld->st = sori_fail(ld->err, SORI_ERR_NO_MEMORY, 0, "whisper: out of memory");
        to_f32(t, m->mel_filters);
        if (!all_finite(m->mel_filters, t->n_elements))
            ld->st = sori_fail(ld->err, SORI_ERR_FORMAT, 0, "%s: tensor 'mel_filters' holds NaN or Inf", ld->path);
    }
    return ld->st;
}

sori_status sori_whisper_load_gguf(sori_runtime *rt, const sori_gguf *g, const char *path, sori_whisper **out,
                                   sori_error *err)
{
    if (!out)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "whisper: out is NULL");
    *out = NULL;
    if (!rt || !g)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "whisper: no runtime or file");
    const char *arch = NULL;
    if (sori_gguf_get_str(g, "general.architecture", &arch) != SORI_OK || strcmp(arch, "sori.whisper") != 0)
        return sori_fail(err, SORI_ERR_FORMAT, 0, "%s: general.architecture is '%s', not 'sori.whisper'", path,
                         arch ? arch : "(missing)");
    sori_whisper *m = calloc(1, sizeof *m);
    if (!m)
        return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "whisper: out of memory");
    m->rt = rt;
    sori_status st = read_hparams(m, g, path, err);
    if (st == SORI_OK) {
        m->enc = calloc((size_t)m->hp.n_audio_layer, sizeof *m->enc);
        m->dec = calloc((size_t)m->hp.n_text_layer, sizeof *m->dec);
        if (!m->enc || !m->dec)
            st = sori_fail(err, SORI_ERR_NO_MEMORY, 0, "whisper: out of memory");
    }
    /* the decoder's matrices in f16 when the file's are (f16 or Q8_0) and the
     * backend runs them; an f32 file stays f32 */
    const sori_gguf_tensor *probe = sori_gguf_find_tensor(g, "decoder.blocks.0.mlp.0.weight");
    const bool q8 = probe && probe->type == SORI_GGML_Q8_0 && m->hp.n_text_state % 32 == 0 &&
                    sori_rt_supports(rt, SORI_OP_MATMUL, SORI_Q8_0) && sori_rt_supports(rt, SORI_OP_EMBEDDING, SORI_Q8_0);
    const bool f16 = probe && probe->type != SORI_GGML_F32 && sori_rt_supports(rt, SORI_OP_MATMUL, SORI_F16) &&
                     sori_rt_supports(rt, SORI_OP_EMBEDDING, SORI_F16);
    m->wt = q8 ? SORI_Q8_0 : f16 ? SORI_F16 : SORI_F32;
    /* the encoder's products on sori's own kernel where it beats sgemm at their shapes */
    const int64_t da = m->hp.n_audio_state;
    m->ewt = st == SORI_OK && sori_rt_supports(rt, SORI_OP_MATMUL, SORI_F32_P16) &&
                     sori_p16_preferred((int)(3 * da), (int)da) && sori_p16_preferred((int)da, (int)da) &&
                     sori_p16_preferred((int)(4 * da), (int)da) && sori_p16_preferred((int)da, (int)(4 * da))
                 ? SORI_F32_P16
                 : SORI_F32;
    loader ld = {.g = g, .path = path, .err = err, .st = st};
    if (st == SORI_OK) { /* every tensor checked before anything is allocated */
        ld.check = true;
        st = load_weights(m, &ld);
        ld.check = false;
        ld.narrow = SORI_F32;
    }
    /* on the CPU the weights are written where they stay (no staging copy:
     * the load's peak memory is the weights and the file's mapping) */
    const bool cpu = strcmp(sori_runtime_backend_name(rt), "cpu") == 0;
    m->cpu = cpu;
    if (st == SORI_OK) {
        ld.cap = weight_floats_bound(&m->hp) * sizeof(float) + 256 * 512;
        st = sori_rt_alloc(rt, ld.cap, &m->weights, err);
        ld.dev = m->weights;
        ld.host = cpu ? m->weights : malloc(ld.cap);
        if (st == SORI_OK && !ld.host)
            st = sori_fail(err, SORI_ERR_NO_MEMORY, 0, "%s: out of memory for %zu bytes of weights", path, ld.cap);
        ld.st = st;
    }
    if (st == SORI_OK)
        st = load_weights(m, &ld);
    if (st == SORI_OK && !cpu)
        st = sori_rt_upload(rt, 0, m->weights, ld.host, ld.used, err);
    if (st == SORI_OK)
        st = sori_rt_sync(rt, 0, err);
    if (!cpu)
        free(ld.host);
    if (st != SORI_OK) {
        sori_whisper_free(m);
        return st;
    }
    *out = m;
    return SORI_OK;
}

void sori_whisper_free(sori_whisper *m)
{
    if (!m)
        return;
    if (m->weights)
        sori_rt_release(m->rt, m->weights);
    for (int i = 0; m->languages && m->languages[i]; i++)
        free(m->languages[i]);
    free(m->languages);
    free(m->suppress);
    free(m->align);
    free(m->mel_filters);
    sori_bpe_free(m->bpe);
    free(m->enc);
    free(m->dec);
    free(m);
}

const sori_whisper_hparams *sori_whisper_get_hparams(const sori_whisper *m) { return &m->hp; }
const sori_whisper_tokens *sori_whisper_get_tokens(const sori_whisper *m) { return &m->tok; }
const sori_bpe *sori_whisper_get_bpe(const sori_whisper *m) { return m->bpe; }
const float *sori_whisper_mel_filters(const sori_whisper *m) { return m->mel_filters; }
sori_runtime *sori_whisper_runtime(const sori_whisper *m) { return m->rt; }
const char *sori_whisper_name(const sori_whisper *m) { return m->name; }

int sori_whisper_language_token(const sori_whisper *m, const char *code)
{
    for (int i = 0; code && i < m->tok.n_languages; i++)
        if (!strcmp(m->tok.languages[i], code))
            return m->tok.sot + 1 + i;
    return -1;
}

/* ---- state ------------------------------------------------------------------------- */

/* rows of logits computed at once for the word-alignment probabilities */
enum { LOGIT_ROWS = 32 };

enum { W_MEL, W_C1, W_X, W_H, W_QKV, W_ATT, W_FF, W_XKV, /* encoder; cross keys/values */
       W_KV, W_IDS, W_DX, W_DH, W_DQ, W_DATT, W_DFF, W_LOGITS, W_TMP, W_N };

struct sori_whisper_state {
    sori_whisper *m;
    int max_win, max_seq, max_tok;
    sori_slab *slab;
    float *buf[W_N];
    float *host;       /* LOGIT_ROWS x n_vocab: alignment probabilities */
    int32_t *ends;     /* max_seq: the keys each sequence's step sees (host) */
    int n_win; /* windows of the last encode */
};

/* The floats of each workspace buffer (W_IDS: int32). */
static void plan(const sori_whisper *m, int W, int S, int64_t n[W_N])
{
    const sori_whisper_hparams *hp = &m->hp;
    const int64_t d = hp->n_audio_state, A = hp->n_audio_ctx, C = hp->n_text_ctx, L = hp->n_text_layer;
    /* rows of one decoder call: one sequence's prompt (up to the context) or
     * one token of each sequence */
    const int64_t R = S > C ? S : C;
    int64_t align = (int64_t)(m->tok.n_alignment_heads > 0 ? m->tok.n_alignment_heads : 1) * C * A;
    n[W_MEL] = W * 2 * A * hp->n_mels;
    n[W_C1] = W * 2 * A * d;
    n[W_X] = W * A * d;
    n[W_H] = W * A * d;
    n[W_QKV] = W * A * 3 * d;
    n[W_ATT] = W * A * d;
    n[W_FF] = W * A * 4 * d;
    if (n[W_FF] < align) /* the alignment weights are written there */
        n[W_FF] = align;
    n[W_XKV] = L * W * A * 2 * d;
    n[W_KV] = L * S * C * 2 * d;
    n[W_IDS] = R;
    n[W_DX] = R * d;
    n[W_DH] = R * d;
    n[W_DQ] = R * d;
    n[W_DATT] = R * d;
    n[W_DFF] = R * 4 * d;
    n[W_LOGITS] = (S > LOGIT_ROWS ? S : LOGIT_ROWS) * (int64_t)hp->n_vocab;
    n[W_TMP] = S * C * 2 * d;
}

size_t sori_whisper_state_bytes(const sori_whisper *m, int max_windows, int max_seqs)
{
    int64_t n[W_N];
    plan(m, max_windows, max_seqs, n);
    size_t total = 0;
    for (int i = 0; i < W_N; i++)
        total += ((size_t)n[i] * 4 + 255) & ~(size_t)255;
    return total;
}

sori_status sori_whisper_state_create(sori_whisper *m, int max_windows, int max_seqs, sori_whisper_state **out,
                                      sori_error *err)
{
    if (!out)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "whisper: out is NULL");
    *out = NULL;
    if (!m || max_windows < 1 || max_windows > 64 || max_seqs < 1 || max_seqs > 1024)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "whisper: %d windows and %d sequences (1..64, 1..1024)",
                         max_windows, max_seqs);
    sori_whisper_state *s = calloc(1, sizeof *s);
    if (!s)
        return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "whisper: out of memory");
    s->m = m;
    s->max_win = max_windows;
    s->max_seq = max_seqs;
    s->max_tok = m->hp.n_text_ctx;
    size_t bytes = sori_whisper_state_bytes(m, max_windows, max_seqs);
    sori_error why = {0};
    sori_status st = sori_runtime_slab_acquire(m->rt, bytes, &s->slab, &why);
    if (st != SORI_OK) {
        free(s);
        return sori_fail(err, st, 0,
                         "whisper: a state for %d window(s) and %d sequence(s) needs %.1f MiB of the runtime's "
                         "session pool (%s)",
                         max_windows, max_seqs, bytes / 1048576.0, why.message);
    }
    s->host = malloc((size_t)LOGIT_ROWS * m->hp.n_vocab * sizeof(float));
    s->ends = malloc((size_t)max_seqs * sizeof(int32_t));
    if (!s->host || !s->ends) {
        sori_whisper_state_free(s);
        return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "whisper: out of memory");
    }
    int64_t n[W_N];
    plan(m, max_windows, max_seqs, n);
    char *p = sori_slab_data(s->slab);
    for (int i = 0; i < W_N; i++) {
        s->buf[i] = (float *)p;
        p += ((size_t)n[i] * 4 + 255) & ~(size_t)255;
    }
    *out = s;
    return SORI_OK;
}

void sori_whisper_state_free(sori_whisper_state *s)
{
    if (!s)
        return;
    sori_runtime_slab_release(s->m->rt, s->slab);
    free(s->host);
    free(s->ends);
    free(s);
}

/* ---- ops ----------------------------------------------------------------------------- */

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

/* y[M, N] = act(x[M, K] · w[N, K]ᵀ + b) (+ beta * y), rows of y ldy apart;
 * w of type wt */
static void linear_t(ctx_t *c, const float *x, int64_t M, int K, const void *w, sori_dtype wt, const float *b, int N,
                     float *y, sori_act act, float beta, int64_t ldy)
{
    sori_op_desc op = {.op = SORI_OP_MATMUL};
    op.u.matmul = (sori_matmul_desc){.batch = 1, .m = (int)M, .n = N, .k = K, .trans_b = true, .a = x, .lda = K,
                                     .b = w, .b_type = wt, .ldb = K, .c = y, .ldc = ldy, .bias = b,
                                     .alpha = 1.0f, .beta = beta, .act = act};
    run(c, &op);
}

/* an encoder matrix (f32, packed or not) */
static void linear(ctx_t *c, const sori_whisper *m, const float *x, int64_t M, int K, const void *w, const float *b,
                   int N, float *y, sori_act act, float beta, int64_t ldy)
{
    linear_t(c, x, M, K, w, m->ewt, b, N, y, act, beta, ldy);
}

/* row r of a decoder matrix of K columns */
static const void *wrow(const sori_whisper *m, const void *w, int64_t r, int K)
{
    return (const char *)w + r * (int64_t)sori_dtype_bytes(m->wt, K);
}

static void layer_norm(ctx_t *c, const float *x, int64_t rows, int dim, const float *g, const float *b, float *y)
{
    sori_op_desc op = {.op = SORI_OP_LAYER_NORM};
    op.u.layer_norm = (sori_layer_norm_desc){.n_rows = rows, .dim = dim, .eps = 1e-5f, .x = x, .gamma = g,
                                             .beta = b, .y = y};
    run(c, &op);
}

static void add_rows(ctx_t *c, float *a, const float *b, int64_t rows, int dim, bool broadcast)
{
    sori_op_desc op = {.op = SORI_OP_BINARY};
    op.u.binary = (sori_binary_desc){.kind = SORI_BIN_ADD, .n_rows = rows, .dim = dim, .beta = 1.0f, .a = a,
                                     .b = b, .y = a, .b_row_broadcast = broadcast};
    run(c, &op);
}

static void copy_rows(ctx_t *c, float *dst, const float *src, int64_t n)
{
    if (n <= 0)
        return;
    sori_op_desc op = {.op = SORI_OP_UNARY};
    op.u.unary = (sori_unary_desc){.n = n, .act = SORI_ACT_NONE, .scale = 1.0f, .x = src, .y = dst};
    run(c, &op);
}

/* Multi-head attention of B items: q [B, tq, d] (row stride qs), k/v [B, tk, ...] (row strides ks). */
static void attend(ctx_t *c, int B, int H, int tq, int tk, int dh, const float *q, int64_t qs, const float *k,
                   const float *v, int64_t ks, float *out, bool causal)
{
    sori_op_desc op = {.op = SORI_OP_ATTENTION};
    op.u.attention = (sori_attention_desc){.batch = B, .heads = H, .t_q = tq, .t_k = tk, .d_k = dh, .d_v = dh,
                                           .q = q, .q_stride = qs, .k = k, .k_stride = ks, .v = v, .v_stride = ks,
                                           .out = out, .scale = 1.0f / sqrtf((float)dh),
                                           .context = causal ? SORI_ATT_LIMITED : SORI_ATT_FULL,
                                           .left = -1, .right = 0};
    run(c, &op);
}

/* ---- encoder --------------------------------------------------------------------------- */

sori_status sori_whisper_encode(sori_whisper_state *s, int n, const float *const *mel, float *enc_out,
                                sori_error *err)
{
    if (!s || n < 1 || n > s->max_win || !mel)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "whisper encode: %d windows (1..%d)", n, s ? s->max_win : 0);
    sori_whisper *m = s->m;
    const sori_whisper_hparams *hp = &m->hp;
    const int d = hp->n_audio_state, A = hp->n_audio_ctx, H = hp->n_audio_head, F = hp->n_mels;
    const int64_t rows = (int64_t)n * A;
    ctx_t c = {m->rt, SORI_OK, err};
    for (int w = 0; w < n && c.st == SORI_OK; w++) {
        if (!mel[w])
            return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "whisper encode: window %d has no mel", w);
        c.st = sori_rt_upload(m->rt, 0, s->buf[W_MEL] + (int64_t)w * 2 * A * F, mel[w],
                              (size_t)2 * A * F * sizeof(float), err);
    }
    float *x = s->buf[W_X], *h = s->buf[W_H], *qkv = s->buf[W_QKV], *att = s->buf[W_ATT], *ff = s->buf[W_FF];
    sori_op_desc op = {.op = SORI_OP_CONV1D};
    op.u.conv1d = (sori_conv1d_desc){.batch = n, .t_in = 2 * A, .c_in = F, .c_out = d, .kernel = 3, .stride = 1,
                                     .pad_left = 1, .pad_right = 1, .groups = 1, .x = s->buf[W_MEL],
                                     .w = m->conv1_w, .bias = m->conv1_b, .y = s->buf[W_C1], .act = SORI_ACT_GELU};
    run(&c, &op);
    op.u.conv1d = (sori_conv1d_desc){.batch = n, .t_in = 2 * A, .c_in = d, .c_out = d, .kernel = 3, .stride = 2,
                                     .pad_left = 1, .pad_right = 1, .groups = 1, .x = s->buf[W_C1],
                                     .w = m->conv2_w, .bias = m->conv2_b, .y = x, .act = SORI_ACT_GELU};
    run(&c, &op);
    for (int w = 0; w < n; w++)
        add_rows(&c, x + (int64_t)w * A * d, m->enc_pos, A, d, false);
    for (int l = 0; l < hp->n_audio_layer; l++) {
        const block_w *b = &m->enc[l];
        layer_norm(&c, x, rows, d, b->ln_w, b->ln_b, h);
        linear(&c, m, h, rows, d, b->qkv_w, b->qkv_b, 3 * d, qkv, SORI_ACT_NONE, 0.0f, 3 * d);
        attend(&c, n, H, A, A, d / H, qkv, 3 * d, qkv + d, qkv + 2 * d, 3 * d, att, false);
        linear(&c, m, att, rows, d, b->out_w, b->out_b, d, x, SORI_ACT_NONE, 1.0f, d);
        layer_norm(&c, x, rows, d, b->mln_w, b->mln_b, h);
        linear(&c, m, h, rows, d, b->fc1_w, b->fc1_b, 4 * d, ff, SORI_ACT_GELU, 0.0f, 4 * d);
        linear(&c, m, ff, rows, 4 * d, b->fc2_w, b->fc2_b, d, x, SORI_ACT_NONE, 1.0f, d);
    }
    layer_norm(&c, x, rows, d, m->enc_ln_w, m->enc_ln_b, x);
    /* every decoder layer's cross-attention keys | values: [L][n * A][2d] */
    const int64_t per_layer = (int64_t)s->max_win * A * 2 * d;
    for (int l = 0; l < hp->n_text_layer; l++)
        linear_t(&c, x, rows, d, m->dec[l].xkv_w, m->wt, m->dec[l].xkv_b, 2 * d, s->buf[W_XKV] + l * per_layer,
                 SORI_ACT_NONE, 0.0f, 2 * d);
    if (enc_out && c.st == SORI_OK)
        c.st = sori_rt_download(m->rt, 0, enc_out, x, (size_t)rows * d * sizeof(float), err);
    if (c.st == SORI_OK)
        c.st = sori_rt_sync(m->rt, 0, err);
    s->n_win = c.st == SORI_OK ? n : 0;
    return c.st;
}

/* ---- decoder ---------------------------------------------------------------------------- */

/* The decoder over n sequences of n_tok tokens at pos. align: the alignment
 * mode (one sequence; weights into W_FF). */
static sori_status decode(sori_whisper_state *s, int n, const int *win, const int32_t *tokens, int n_tok, int pos,
                          float *logits, int align_frames, sori_error *err)
{
    sori_whisper *m = s->m;
    const sori_whisper_hparams *hp = &m->hp;
    const int d = hp->n_text_state, H = hp->n_text_head, dh = d / H, A = hp->n_audio_ctx, C = hp->n_text_ctx;
    const int V = hp->n_vocab;
    const int rows_max = s->max_seq > C ? s->max_seq : C;
    if (n < 1 || n > s->max_seq || !win || !tokens || n_tok < 1 || pos < 0 || pos + n_tok > C ||
        (int64_t)n * n_tok > rows_max)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0,
                         "whisper decode: %d sequences (1..%d), %d tokens at %d (context %d)", n, s->max_seq, n_tok,
                         pos, C);
    if (s->n_win < 1)
        return sori_fail(err, SORI_ERR_STATE, 0, "whisper decode: nothing encoded yet");
    for (int i = 0; i < n; i++) {
        if (win[i] < 0 || win[i] >= s->n_win)
            return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "whisper decode: sequence %d: window %d of %d", i,
                             win[i], s->n_win);
        for (int t = 0; t < n_tok; t++)
            if (tokens[(int64_t)i * n_tok + t] < 0 || tokens[(int64_t)i * n_tok + t] >= V)
                return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "whisper decode: token %d is not in 0..%d",
                                 tokens[(int64_t)i * n_tok + t], V - 1);
    }
    ctx_t c = {m->rt, SORI_OK, err};
    const int64_t rows = (int64_t)n * n_tok;
    int32_t *ids = (int32_t *)s->buf[W_IDS];
    float *x = s->buf[W_DX], *h = s->buf[W_DH], *q = s->buf[W_DQ], *att = s->buf[W_DATT], *ff = s->buf[W_DFF];
    c.st = sori_rt_upload(m->rt, 0, ids, tokens, (size_t)rows * sizeof(int32_t), err);
    sori_op_desc op = {.op = SORI_OP_EMBEDDING};
    op.u.embedding = (sori_embedding_desc){.n_ids = rows, .vocab = V, .dim = d, .ids = ids, .table = m->tok_emb,
                                           .table_type = m->wt, .out = x};
    run(&c, &op);
    if (n_tok == 1)
        add_rows(&c, x, m->dec_pos + (int64_t)pos * d, n, d, true);
    else
        for (int i = 0; i < n; i++)
            add_rows(&c, x + (int64_t)i * n_tok * d, m->dec_pos + (int64_t)pos * d, n_tok, d, false);
    const int64_t kv_layer = (int64_t)s->max_seq * C * 2 * d, kv_seq = (int64_t)C * 2 * d;
    const int64_t xkv_layer = (int64_t)s->max_win * A * 2 * d;
    int n_align = 0;
    for (int l = 0; l < hp->n_text_layer; l++) {
        const block_w *b = &m->dec[l];
        float *kv = s->buf[W_KV] + l * kv_layer;
        layer_norm(&c, x, rows, d, b->ln_w, b->ln_b, h);
        linear_t(&c, h, rows, d, b->qkv_w, m->wt, b->qkv_b, d, q, SORI_ACT_NONE, 0.0f, d);
        /* keys | values of the new tokens straight into each sequence's cache */
        sori_op_desc mm = {.op = SORI_OP_MATMUL};
        mm.u.matmul = (sori_matmul_desc){.batch = n, .m = n_tok, .n = 2 * d, .k = d, .trans_b = true, .a = h,
                                         .lda = d, .stride_a = (int64_t)n_tok * d, .b = wrow(m, b->qkv_w, d, d),
                                         .b_type = m->wt, .ldb = d, .stride_b = 0, .c = kv + (int64_t)pos * 2 * d,
                                         .ldc = 2 * d, .stride_c = kv_seq, .bias = b->qkv_b + d, .alpha = 1.0f};
        run(&c, &mm);
        if (n_tok == 1 && n > 1 && m->cpu) { /* a step of several sequences (beams) as one call: each its
                                              * own cache (a context apart), keys up to pos (the CUDA
                                              * backend's products would read the unwritten rest) */
            for (int i = 0; i < n; i++)
                s->ends[i] = pos + 1;
            sori_op_desc op = {.op = SORI_OP_ATTENTION};
            op.u.attention = (sori_attention_desc){.batch = n, .heads = H, .t_q = 1, .t_k = C, .d_k = dh,
                                                   .d_v = dh, .q = q, .q_stride = d, .k = kv, .k_stride = 2 * d,
                                                   .v = kv + d, .v_stride = 2 * d, .out = att,
                                                   .scale = 1.0f / sqrtf((float)dh), .kv_end = s->ends,
                                                   .context = SORI_ATT_FULL};
            run(&c, &op);
        } else {
            for (int i = 0; i < n; i++) {
                const float *ks = kv + i * kv_seq;
                attend(&c, 1, H, n_tok, pos + n_tok, dh, q + (int64_t)i * n_tok * d, d, ks, ks + d, 2 * d,
                       att + (int64_t)i * n_tok * d, true);
            }
        }
        linear_t(&c, att, rows, d, b->out_w, m->wt, b->out_b, d, x, SORI_ACT_NONE, 1.0f, d);
        /* cross-attention */
        layer_norm(&c, x, rows, d, b->xln_w, b->xln_b, h);
        linear_t(&c, h, rows, d, b->xq_w, m->wt, b->xq_b, d, q, SORI_ACT_NONE, 0.0f, d);
        const float *xkv = s->buf[W_XKV] + l * xkv_layer;
        bool contiguous = true; /* sequence i on window i: one batched call */
        for (int i = 0; i < n; i++)
            contiguous = contiguous && win[i] == i;
        if (contiguous) {
            attend(&c, n, H, n_tok, A, dh, q, d, xkv, xkv + d, 2 * d, att, false);
        } else { /* sequences in a row on one window (a beam search's): their queries as one call, the
                  * window's keys and values read once for all */
            for (int i = 0, j; i < n; i = j) {
                for (j = i + 1; j < n && win[j] == win[i]; j++)
                    ;
                const float *xs = xkv + (int64_t)win[i] * A * 2 * d;
                attend(&c, 1, H, (j - i) * n_tok, A, dh, q + (int64_t)i * n_tok * d, d, xs, xs + d, 2 * d,
                       att + (int64_t)i * n_tok * d, false);
            }
        }
        for (int a = 0; align_frames > 0 && a < m->tok.n_alignment_heads; a++) {
            if (m->tok.alignment_heads[2 * a] != l)
                continue;
            /* the scaled q·k of this head over the first align_frames frames, softmaxed */
            int hd = m->tok.alignment_heads[2 * a + 1];
            float *wts = s->buf[W_FF] + (int64_t)a * n_tok * align_frames;
            const float *xs = xkv + (int64_t)win[0] * A * 2 * d;
            sori_op_desc qk = {.op = SORI_OP_MATMUL};
            qk.u.matmul = (sori_matmul_desc){.batch = 1, .m = n_tok, .n = align_frames, .k = dh, .trans_b = true,
                                             .a = q + (int64_t)hd * dh, .lda = d, .b = xs + (int64_t)hd * dh,
                                             .b_type = SORI_F32, .ldb = 2 * d, .c = wts, .ldc = align_frames,
                                             .alpha = 1.0f / sqrtf((float)dh)};
            run(&c, &qk);
            sori_op_desc sm = {.op = SORI_OP_SOFTMAX};
            sm.u.softmax = (sori_softmax_desc){.n_rows = n_tok, .dim = align_frames, .x = wts, .y = wts};
            run(&c, &sm);
            n_align++;
        }
        linear_t(&c, att, rows, d, b->xout_w, m->wt, b->xout_b, d, x, SORI_ACT_NONE, 1.0f, d);
        layer_norm(&c, x, rows, d, b->mln_w, b->mln_b, h);
        linear_t(&c, h, rows, d, b->fc1_w, m->wt, b->fc1_b, 4 * d, ff, SORI_ACT_GELU, 0.0f, 4 * d);
        linear_t(&c, ff, rows, 4 * d, b->fc2_w, m->wt, b->fc2_b, d, x, SORI_ACT_NONE, 1.0f, d);
    }
    (void)n_align;
    if (logits) {
        /* the last position of each sequence */
        for (int i = 0; i < n; i++)
            copy_rows(&c, h + (int64_t)i * d, x + ((int64_t)i * n_tok + n_tok - 1) * d, d);
        layer_norm(&c, h, n, d, m->dec_ln_w, m->dec_ln_b, h);
        linear_t(&c, h, n, d, m->tok_emb, m->wt, NULL, V, s->buf[W_LOGITS], SORI_ACT_NONE, 0.0f, V);
        if (c.st == SORI_OK)
            c.st = sori_rt_download(m->rt, 0, logits, s->buf[W_LOGITS], (size_t)n * V * sizeof(float), err);
    }
    if (c.st == SORI_OK)
        c.st = sori_rt_sync(m->rt, 0, err);
    return c.st;
}

sori_status sori_whisper_decode(sori_whisper_state *s, int n, const int *win, const int32_t *tokens, int n_tok,
                                int pos, float *logits, sori_error *err)
{
    if (!s)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "whisper decode: no state");
    return decode(s, n, win, tokens, n_tok, pos, logits, 0, err);
}

sori_status sori_whisper_reorder(sori_whisper_state *s, int n, const int *src, int len, sori_error *err)
{
    if (!s || n < 1 || n > s->max_seq || !src || len < 0 || len > s->m->hp.n_text_ctx)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "whisper reorder: bad argument");
    bool identity = true;
    for (int i = 0; i < n; i++) {
        if (src[i] < 0 || src[i] >= s->max_seq)
            return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "whisper reorder: source %d of %d", src[i], s->max_seq);
        identity = identity && src[i] == i;
    }
    if (identity || len == 0)
        return SORI_OK;
    sori_whisper *m = s->m;
    const int d = m->hp.n_text_state, C = m->hp.n_text_ctx;
    const int64_t kv_layer = (int64_t)s->max_seq * C * 2 * d, kv_seq = (int64_t)C * 2 * d, used = (int64_t)len * 2 * d;
    ctx_t c = {m->rt, SORI_OK, err};
    /* only the sequences that change, through the scratch (a source may be
     * overwritten before it is read otherwise) */
    for (int l = 0; l < m->hp.n_text_layer; l++) {
        float *kv = s->buf[W_KV] + l * kv_layer;
        for (int i = 0; i < n; i++)
            if (src[i] != i)
                copy_rows(&c, s->buf[W_TMP] + i * used, kv + src[i] * kv_seq, used);
        for (int i = 0; i < n; i++)
            if (src[i] != i)
                copy_rows(&c, kv + i * kv_seq, s->buf[W_TMP] + i * used, used);
    }
    if (c.st == SORI_OK)
        c.st = sori_rt_sync(m->rt, 0, err);
    return c.st;
}

sori_status sori_whisper_alignment(sori_whisper_state *s, int win, const int32_t *tokens, int n_tok, int n_frames,
                                   float *out, int prob_from, int prob_limit, const int32_t *targets, int n_targets,
                                   float *probs, sori_error *err)
{
    if (!s || !out || n_frames < 1 || n_frames > s->m->hp.n_audio_ctx || s->m->tok.n_alignment_heads < 1 ||
        n_targets < 0 || (n_targets && (!targets || !probs || prob_from < 0 || prob_from + n_targets > n_tok ||
                                        prob_limit < 1 || prob_limit > s->m->hp.n_vocab)))
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "whisper alignment: %d frames (1..%d), %d heads", n_frames,
                         s ? s->m->hp.n_audio_ctx : 0, s ? s->m->tok.n_alignment_heads : 0);
    sori_whisper *m = s->m;
    const int d = m->hp.n_text_state, V = m->hp.n_vocab;
    sori_status st = decode(s, 1, &win, tokens, n_tok, 0, NULL, n_frames, err);
    if (st == SORI_OK)
        st = sori_rt_download(m->rt, 0, out, s->buf[W_FF],
                              (size_t)m->tok.n_alignment_heads * n_tok * n_frames * sizeof(float), err);
    /* the probability of each target among the tokens below prob_limit */
    ctx_t c = {m->rt, st, err};
    for (int r0 = 0; r0 < n_targets && c.st == SORI_OK; r0 += LOGIT_ROWS) {
        int nr = n_targets - r0 < LOGIT_ROWS ? n_targets - r0 : LOGIT_ROWS;
        float *h = s->buf[W_DH];
        layer_norm(&c, s->buf[W_DX] + (int64_t)(prob_from + r0) * d, nr, d, m->dec_ln_w, m->dec_ln_b, h);
        linear_t(&c, h, nr, d, m->tok_emb, m->wt, NULL, V, s->buf[W_LOGITS], SORI_ACT_NONE, 0.0f, V);
        if (c.st == SORI_OK)
            c.st = sori_rt_download(m->rt, 0, s->host, s->buf[W_LOGITS], (size_t)nr * V * sizeof(float), err);
        if (c.st == SORI_OK)
            c.st = sori_rt_sync(m->rt, 0, err);
        for (int i = 0; i < nr && c.st == SORI_OK; i++) {
            const float *lg = s->host + (int64_t)i * V;
            float mx = -INFINITY;
            for (int v = 0; v < prob_limit; v++)
                mx = lg[v] > mx ? lg[v] : mx;
            double sum = 0.0;
            for (int v = 0; v < prob_limit; v++)
                sum += exp((double)(lg[v] - mx));
            int tgt = targets[r0 + i];
            probs[r0 + i] = tgt >= 0 && tgt < prob_limit ? (float)(exp((double)(lg[tgt] - mx)) / sum) : 0.0f;
        }
    }
    if (c.st == SORI_OK)
        c.st = sori_rt_sync(m->rt, 0, err);
    return c.st;
}
