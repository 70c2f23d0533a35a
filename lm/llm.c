/* Transformer language models from llama.cpp GGUF files (sori/lm.h):
 * gemma3, llama, qwen2, qwen3. The weights stay in the memory-mapped file
 * in their own types; products go through the runtime's matmul op (CPU:
 * integer dot products for a few rows, f32 sgemm for more). The names of
 * keys and tensors, the RoPE conventions (pairs of adjacent values for
 * llama, halves for the others) and Gemma's specifics (embeddings scaled by
 * sqrt(n_embd), norms after attention and feed-forward, QK norms, sliding
 * window on five layers of six with their own RoPE base) are llama.cpp's. */
#include "sori/lm.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/cpu/vec.h"
#include "kernels/gguf.h"
#include "kernels/kernels.h"
#include "kernels/quant.h"
#include "lm/llm_internal.h"
#include "lm/vocab.h"

typedef enum { ARCH_LLAMA, ARCH_QWEN2, ARCH_QWEN3, ARCH_GEMMA3 } lm_arch;

typedef struct {
    const void *data;
    sori_dtype type;
    int64_t rows, cols; /* [rows, cols], cols contiguous (PyTorch layout) */
} lm_weight;

typedef struct {
    const float *attn_norm, *q_norm, *k_norm, *post_attn_norm, *ffn_norm, *post_ffn_norm;
    const float *bq, *bk, *bv;
    lm_weight wq, wk, wv, wo, gate, up, down;
    bool swa;
} lm_layer;

struct sori_lm {
    sori_runtime *rt;
    sori_gguf *g;
    sori_vocab *vocab;
    lm_arch arch;
    char arch_name[16];
    const char *name;
    const char *chat_template; /* tokenizer.chat_template, or NULL */
    int n_vocab, n_embd, n_layer, n_head, n_head_kv, head_k, head_v, n_ff, n_ctx_train, n_rot;
    int swa_window;
    float eps, rope_base, rope_base_swa, rope_scale, emb_scale, att_scale;
    bool rope_neox;
    const float *rope_freqs; /* llama 3's per-dimension divisors, or NULL */
    lm_weight tok_embd, output;
    const float *output_norm;
    lm_layer *layers;
    int64_t n_params;
};

enum { LOGIT_ROWS = 16 }; /* rows of logits a scoring pass holds at once */

struct sori_lm_session {
    const sori_lm *lm;
    int n_ctx, n_seq, n_batch;
    float *kcache, *vcache; /* [layer][seq][pos][n_head_kv * head] */
    float *x, *h, *q, *k, *v, *att, *o, *gt, *up, *act, *sc, *lrow, *lfirst, *lchunk; /* lchunk: LOGIT_ROWS x vocab */
    int32_t *ids, *text_tok; /* a decode call's ids; a scored text's tokens (n_ctx) */
    sori_lm_token *entries;  /* a scoring pass's entries (n_batch) */
    int32_t *targets, *owner; /* the token each entry's logits score, and its hypothesis (n_batch) */
    double *tlp;              /* per position of a hypothesis: its token's log-probability (n_ctx) */
    double *rope_cos, *rope_sin; /* per token of a call: n_rot / 2 angles */
    /* generation: the tokens whose keys and values sequence 0 holds (n_gen of
     * them; any other use of the cache forgets them), sampling scratch */
    int32_t *gen_tok, *gen_si;
    float *gen_sf;
    int n_gen;
};

/* ---- loading --------------------------------------------------------------------- */

#define LFAIL(...) sori_fail(err, SORI_ERR_FORMAT, 0, __VA_ARGS__)

static sori_status key_int(const sori_lm *m, const char *key, bool need, int64_t def, int64_t lo, int64_t hi,
                           int *out, sori_error *err)
{
    char full[128];
    snprintf(full, sizeof full, "%s.%s", m->arch_name, key);
    int64_t v = def;
    sori_status st = sori_gguf_get_int(m->g, full, &v);
    if (st == SORI_ERR_NOT_FOUND && !need)
        v = def;
    else if (st == SORI_ERR_FORMAT)
        return sori_gguf_find_key(m->g, full) >= 0 ? sori_fail(err, SORI_ERR_UNSUPPORTED, 0,
                                                               "lm: key %s is not one integer (per-layer values are not supported)", full)
                                                    : LFAIL("lm: key %s is malformed", full);
    else if (st != SORI_OK)
        return LFAIL("lm: key %s is missing", full);
    if (v < lo || v > hi)
        return LFAIL("lm: key %s = %lld is outside [%lld, %lld]", full, (long long)v, (long long)lo, (long long)hi);
    *out = (int)v;
    return SORI_OK;
}

static sori_status key_float(const sori_lm *m, const char *key, bool need, double def, float *out, sori_error *err)
{
    char full[128];
    snprintf(full, sizeof full, "%s.%s", m->arch_name, key);
    double v = def;
    sori_status st = sori_gguf_get_float(m->g, full, &v);
    if (st == SORI_ERR_NOT_FOUND && !need)
        v = def;
    else if (st != SORI_OK)
        return LFAIL("lm: key %s is missing or not a number", full);
    if (!isfinite(v))
        return LFAIL("lm: key %s is not finite", full);
    *out = (float)v;
    return SORI_OK;
}

/* A weight [rows, cols] (GGUF ne = {cols, rows}) of a type sori computes with. */
static sori_status get_weight(sori_lm *m, const char *name, int64_t rows, int64_t cols, bool optional, lm_weight *w,
                              sori_error *err)
{
    const sori_gguf_tensor *t = sori_gguf_find_tensor(m->g, name);
    memset(w, 0, sizeof *w);
    if (!t)
        return optional ? SORI_OK : LFAIL("lm: tensor '%s' is missing", name);
    if (t->ne[0] != cols || t->ne[1] != rows || t->ne[2] != 1 || t->ne[3] != 1)
        return LFAIL("lm: tensor '%s' is [%lld, %lld, %lld], expected [%lld, %lld] (ne order)", name,
                     (long long)t->ne[0], (long long)t->ne[1], (long long)t->ne[2], (long long)cols, (long long)rows);
    if (!sori_dtype_from_ggml(t->type, &w->type))
        return sori_fail(err, SORI_ERR_UNSUPPORTED, 0, "lm: tensor '%s' has type %s, which sori does not compute with",
                         name, sori_ggml_type_name(t->type));
    if (cols % sori_dtype_block(w->type))
        return LFAIL("lm: tensor '%s': rows of %lld are not whole %s blocks", name, (long long)cols,
                     sori_dtype_name(w->type));
    const size_t el = sori_dtype_size(w->type);
    if (el > 1 && ((uintptr_t)t->data % el) != 0)
        return LFAIL("lm: tensor '%s' (%s) is not %zu-byte aligned", name, sori_dtype_name(w->type), el);
    w->data = t->data;
    w->rows = rows;
    w->cols = cols;
    m->n_params += rows * cols;
    return SORI_OK;
}

static sori_status get_vec(sori_lm *m, const char *name, int64_t n, bool optional, const float **out, sori_error *err)
{
    const sori_gguf_tensor *t = sori_gguf_find_tensor(m->g, name);
    *out = NULL;
    if (!t)
        return optional ? SORI_OK : LFAIL("lm: tensor '%s' is missing", name);
    if (t->type != SORI_GGML_F32 || t->n_elements != n)
        return LFAIL("lm: tensor '%s' must be %lld f32 values (is %s, %lld)", name, (long long)n,
                     sori_ggml_type_name(t->type), (long long)t->n_elements);
    if (((uintptr_t)t->data & 3) != 0)
        return LFAIL("lm: tensor '%s' is not 4-byte aligned", name);
    *out = t->data;
    m->n_params += n;
    return SORI_OK;
}

static sori_status load_hparams(sori_lm *m, sori_error *err)
{
    sori_status st;
#define TRY(x)                                                                                                     \
    do {                                                                                                           \
        if ((st = (x)) != SORI_OK)                                                                                 \
            return st;                                                                                             \
    } while (0)
    TRY(key_int(m, "context_length", true, 0, 1, 1 << 24, &m->n_ctx_train, err));
    TRY(key_int(m, "embedding_length", true, 0, 1, 1 << 16, &m->n_embd, err));
    TRY(key_int(m, "block_count", true, 0, 1, 1024, &m->n_layer, err));
    TRY(key_int(m, "feed_forward_length", true, 0, 1, 1 << 18, &m->n_ff, err));
    TRY(key_int(m, "attention.head_count", true, 0, 1, 1024, &m->n_head, err));
    TRY(key_int(m, "attention.head_count_kv", false, m->n_head, 1, m->n_head, &m->n_head_kv, err));
    if (m->n_head % m->n_head_kv)
        return LFAIL("lm: %d heads are not a multiple of %d key/value heads", m->n_head, m->n_head_kv);
    TRY(key_int(m, "attention.key_length", false, m->n_embd / m->n_head, 1, 4096, &m->head_k, err));
    TRY(key_int(m, "attention.value_length", false, m->head_k, 1, 4096, &m->head_v, err));
    TRY(key_int(m, "rope.dimension_count", false, m->head_k, 2, m->head_k, &m->n_rot, err));
    if (m->n_rot % 2)
        return LFAIL("lm: rope.dimension_count %d is odd", m->n_rot);
    TRY(key_float(m, "attention.layer_norm_rms_epsilon", true, 1e-6, &m->eps, err));
    TRY(key_float(m, "rope.freq_base", false, 10000.0, &m->rope_base, err));
    m->rope_scale = 1.0f;
    char key[128];
    const char *scaling = NULL;
    snprintf(key, sizeof key, "%s.rope.scaling.type", m->arch_name);
    if (sori_gguf_get_str(m->g, key, &scaling) == SORI_OK && strcmp(scaling, "none") != 0) {
        if (strcmp(scaling, "linear") != 0)
            return sori_fail(err, SORI_ERR_UNSUPPORTED, 0, "lm: %s = '%s' is not supported (none, linear)", key,
                             scaling);
        float f = 1.0f;
        TRY(key_float(m, "rope.scaling.factor", true, 1.0, &f, err));
        if (!(f > 0))
            return LFAIL("lm: rope.scaling.factor %g", f);
        m->rope_scale = 1.0f / f;
    }
    for (int i = 0; i < 2; i++) {
        snprintf(key, sizeof key, "%s.%s", m->arch_name, i ? "attn_logit_softcapping" : "final_logit_softcapping");
        if (sori_gguf_find_key(m->g, key) >= 0)
            return sori_fail(err, SORI_ERR_UNSUPPORTED, 0, "lm: %s is not supported", key);
    }
    m->rope_neox = m->arch != ARCH_LLAMA;
    m->att_scale = 1.0f / sqrtf((float)m->head_k);
    m->emb_scale = 1.0f;
    m->rope_base_swa = m->rope_base;
    if (m->arch == ARCH_GEMMA3) {
        TRY(key_int(m, "attention.sliding_window", true, 0, 1, 1 << 24, &m->swa_window, err));
        m->emb_scale = sqrtf((float)m->n_embd);
        m->rope_base_swa = 10000.0f; /* llama.cpp's gemma3: the local layers' base */
    }
    return SORI_OK;
#undef TRY
}

static sori_status load_tensors(sori_lm *m, sori_error *err)
{
    const int64_t E = m->n_embd, Hq = (int64_t)m->n_head * m->head_k, Hk = (int64_t)m->n_head_kv * m->head_k,
                  Hv = (int64_t)m->n_head_kv * m->head_v, F = m->n_ff;
    sori_status st;
    if ((st = get_weight(m, "token_embd.weight", m->n_vocab, E, false, &m->tok_embd, err)) != SORI_OK ||
        (st = get_weight(m, "output.weight", m->n_vocab, E, true, &m->output, err)) != SORI_OK ||
        (st = get_vec(m, "output_norm.weight", E, false, &m->output_norm, err)) != SORI_OK ||
        (st = get_vec(m, "rope_freqs.weight", m->n_rot / 2, true, &m->rope_freqs, err)) != SORI_OK)
        return st;
    if (!m->output.data)
        m->output = m->tok_embd; /* tied embeddings */
    m->layers = calloc((size_t)m->n_layer, sizeof *m->layers);
    if (!m->layers)
        return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "lm: out of memory");
    const bool gemma = m->arch == ARCH_GEMMA3, qk_norm = gemma || m->arch == ARCH_QWEN3, bias = m->arch == ARCH_QWEN2;
    for (int l = 0; l < m->n_layer; l++) {
        lm_layer *L = &m->layers[l];
        char n[96];
#define W(name, rows, cols, w) (snprintf(n, sizeof n, "blk.%d.%s.weight", l, name), get_weight(m, n, rows, cols, false, w, err))
#define V(name, len, opt, p) (snprintf(n, sizeof n, "blk.%d.%s", l, name), get_vec(m, n, len, opt, p, err))
        if ((st = V("attn_norm.weight", E, false, &L->attn_norm)) != SORI_OK ||
            (st = W("attn_q", Hq, E, &L->wq)) != SORI_OK || (st = W("attn_k", Hk, E, &L->wk)) != SORI_OK ||
            (st = W("attn_v", Hv, E, &L->wv)) != SORI_OK ||
            (st = W("attn_output", E, (int64_t)m->n_head * m->head_v, &L->wo)) != SORI_OK ||
            (st = V("ffn_norm.weight", E, false, &L->ffn_norm)) != SORI_OK ||
            (st = W("ffn_gate", F, E, &L->gate)) != SORI_OK || (st = W("ffn_up", F, E, &L->up)) != SORI_OK ||
            (st = W("ffn_down", E, F, &L->down)) != SORI_OK ||
            (st = V("attn_q_norm.weight", m->head_k, !qk_norm, &L->q_norm)) != SORI_OK ||
            (st = V("attn_k_norm.weight", m->head_k, !qk_norm, &L->k_norm)) != SORI_OK ||
            (st = V("post_attention_norm.weight", E, !gemma, &L->post_attn_norm)) != SORI_OK ||
            (st = V("post_ffw_norm.weight", E, !gemma, &L->post_ffn_norm)) != SORI_OK ||
            (st = V("attn_q.bias", Hq, !bias, &L->bq)) != SORI_OK || (st = V("attn_k.bias", Hk, !bias, &L->bk)) != SORI_OK ||
            (st = V("attn_v.bias", Hv, !bias, &L->bv)) != SORI_OK)
            return st;
#undef W
#undef V
        L->swa = gemma && (l + 1) % 6 != 0; /* five local layers, then a global one */
    }
    return SORI_OK;
}

static sori_status load_lm(sori_runtime *rt, const char *path, const void *data, size_t size, sori_lm **out,
                           sori_error *err)
{
    if (!out)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "lm: out is NULL");
    *out = NULL;
    if (!rt || !path || (!data && size))
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "lm: runtime and path (or data) are required");
    sori_lm *m = calloc(1, sizeof *m);
    if (!m)
        return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "lm: out of memory");
    m->rt = rt;
    sori_status st = data ? sori_gguf_open_memory(data, size, &m->g, err) : sori_gguf_open_file(path, &m->g, err);
    if (st != SORI_OK) {
        free(m);
        return st;
    }
    const char *arch = NULL;
    if (sori_gguf_get_str(m->g, "general.architecture", &arch) != SORI_OK) {
        st = LFAIL("lm: %s has no general.architecture", path);
        goto fail;
    }
    static const struct {
        const char *name;
        lm_arch arch;
    } archs[] = {{"llama", ARCH_LLAMA}, {"qwen2", ARCH_QWEN2}, {"qwen3", ARCH_QWEN3}, {"gemma3", ARCH_GEMMA3}};
    int found = -1;
    for (int i = 0; i < 4; i++)
        if (strcmp(arch, archs[i].name) == 0)
            found = i;
    if (found < 0) {
        st = sori_fail(err, SORI_ERR_UNSUPPORTED, 0,
                       "lm: architecture '%s' is not supported (gemma3, llama, qwen2, qwen3)", arch);
        goto fail;
    }
    m->arch = archs[found].arch;
    snprintf(m->arch_name, sizeof m->arch_name, "%s", arch);
    if (sori_gguf_get_str(m->g, "general.name", &m->name) != SORI_OK)
        m->name = "";
    if (sori_gguf_get_str(m->g, "tokenizer.chat_template", &m->chat_template) != SORI_OK)
        m->chat_template = NULL;
    if ((st = load_hparams(m, err)) != SORI_OK || (st = sori_vocab_load(m->g, &m->vocab, err)) != SORI_OK)
        goto fail;
    m->n_vocab = sori_vocab_size(m->vocab);
    if ((st = load_tensors(m, err)) != SORI_OK)
        goto fail;
    sori_dtype t = m->output.type;
    if (!sori_rt_supports(rt, SORI_OP_MATMUL, t)) {
        st = sori_fail(err, SORI_ERR_UNSUPPORTED, 0, "lm: the %s backend has no matmul with %s weights",
                       sori_runtime_backend_name(rt), sori_dtype_name(t));
        goto fail;
    }
    *out = m;
    return SORI_OK;
fail:
    sori_lm_free(m);
    return st;
}

sori_status sori_lm_load(sori_runtime *rt, const char *path, sori_lm **out, sori_error *err)
{
    return load_lm(rt, path, NULL, 0, out, err);
}

sori_status sori_lm_load_memory(sori_runtime *rt, const void *data, size_t size, sori_lm **out, sori_error *err)
{
    return load_lm(rt, "<memory>", data, size, out, err);
}

void sori_lm_free(sori_lm *m)
{
    if (!m)
        return;
    sori_vocab_free(m->vocab);
    free(m->layers);
    sori_gguf_free(m->g);
    free(m);
}

sori_lm_info sori_lm_get_info(const sori_lm *m)
{
    sori_lm_info i = {0};
    if (!m)
        return i;
    i.architecture = m->arch_name;
    i.name = m->name;
    i.n_vocab = m->n_vocab;
    i.n_ctx_train = m->n_ctx_train;
    i.n_embd = m->n_embd;
    i.n_layer = m->n_layer;
    i.n_head = m->n_head;
    i.n_head_kv = m->n_head_kv;
    i.n_ff = m->n_ff;
    i.n_params = m->n_params;
    i.bos = sori_vocab_bos(m->vocab);
    i.eos = sori_vocab_eos(m->vocab);
    return i;
}

sori_status sori_lm_tokenize(const sori_lm *m, const char *text, size_t len, bool add_bos, bool parse_special,
                             int32_t *tokens, int cap, int *n, sori_error *err)
{
    if (!m || (!text && len) || !n || (cap > 0 && !tokens) || cap < 0)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "lm: tokenize: bad arguments");
    return sori_vocab_tokenize(m->vocab, text ? text : "", len, add_bos && sori_vocab_add_bos(m->vocab),
                               parse_special, tokens, cap, n, err);
}

int sori_lm_token_piece(const sori_lm *m, int32_t token, char *buf, int cap)
{
    return m ? sori_vocab_piece(m->vocab, token, false, buf, cap) : 0;
}

const sori_vocab *lm_vocab(const sori_lm *m)
{
    return m->vocab;
}

const char *lm_chat_template_text(const sori_lm *m)
{
    return m->chat_template;
}

lm_gen_state lm_session_gen(sori_lm_session *s)
{
    return (lm_gen_state){.lm = s->lm, .logits = s->lrow, .scratch_f = s->gen_sf, .scratch_i = s->gen_si, .tokens = s->gen_tok,
                          .n_tokens = &s->n_gen, .n_ctx = s->n_ctx, .n_batch = s->n_batch};
}

/* ---- sessions ---------------------------------------------------------------------- */

sori_lm_session_params sori_lm_session_default_params(void)
{
    return (sori_lm_session_params){.n_ctx = 512, .n_seq = 1, .n_batch = 64};
}

void sori_lm_session_free(sori_lm_session *s)
{
    if (!s)
        return;
    free(s->kcache);
    free(s->vcache);
    free(s->x);
    free(s->h);
    free(s->q);
    free(s->k);
    free(s->v);
    free(s->att);
    free(s->o);
    free(s->gt);
    free(s->up);
    free(s->act);
    free(s->sc);
    free(s->lrow);
    free(s->lfirst);
    free(s->lchunk);
    free(s->ids);
    free(s->text_tok);
    free(s->entries);
    free(s->targets);
    free(s->owner);
    free(s->tlp);
    free(s->rope_cos);
    free(s->rope_sin);
    free(s->gen_tok);
    free(s->gen_si);
    free(s->gen_sf);
    free(s);
}

sori_status sori_lm_session_create(const sori_lm *m, const sori_lm_session_params *params, sori_lm_session **out,
                                   sori_error *err)
{
    if (!out)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "lm: out is NULL");
    *out = NULL;
    if (!m)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "lm: no model");
    sori_lm_session_params p = params ? *params : sori_lm_session_default_params();
    if (p.n_ctx == 0)
        p.n_ctx = 512;
    if (p.n_seq == 0)
        p.n_seq = 1;
    if (p.n_batch == 0)
        p.n_batch = 64;
    if (p.n_ctx > m->n_ctx_train)
        p.n_ctx = m->n_ctx_train;
    if (p.n_ctx < 1 || p.n_seq < 1 || p.n_seq > 256 || p.n_batch < 1 || p.n_batch > 4096)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "lm: session n_ctx %d, n_seq %d (1..256), n_batch %d (1..4096)",
                         p.n_ctx, p.n_seq, p.n_batch);
    sori_lm_session *s = calloc(1, sizeof *s);
    if (!s)
        return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "lm: out of memory");
    s->lm = m;
    s->n_ctx = p.n_ctx;
    s->n_seq = p.n_seq;
    s->n_batch = p.n_batch;
    const size_t B = (size_t)p.n_batch, E = (size_t)m->n_embd;
    const size_t kv = (size_t)m->n_layer * p.n_seq * p.n_ctx;
    s->kcache = malloc(kv * m->n_head_kv * m->head_k * sizeof(float));
    s->vcache = malloc(kv * m->n_head_kv * m->head_v * sizeof(float));
    s->x = malloc(B * E * sizeof(float));
    s->h = malloc(B * E * sizeof(float));
    s->q = malloc(B * m->n_head * m->head_k * sizeof(float));
    s->k = malloc(B * m->n_head_kv * m->head_k * sizeof(float));
    s->v = malloc(B * m->n_head_kv * m->head_v * sizeof(float));
    s->att = malloc(B * m->n_head * m->head_v * sizeof(float));
    s->o = malloc(B * E * sizeof(float));
    s->gt = malloc(B * m->n_ff * sizeof(float));
    s->up = malloc(B * m->n_ff * sizeof(float));
    s->act = malloc(B * m->n_ff * sizeof(float));
    s->sc = malloc(B * (size_t)p.n_ctx * sizeof(float)); /* a row of scores per entry of a call */
    s->lrow = malloc((size_t)m->n_vocab * sizeof(float));
    s->lfirst = malloc((size_t)m->n_vocab * sizeof(float));
    s->lchunk = malloc((size_t)LOGIT_ROWS * m->n_vocab * sizeof(float));
    s->ids = malloc(B * sizeof(int32_t));
    s->text_tok = malloc((size_t)p.n_ctx * sizeof(int32_t));
    s->entries = malloc(B * sizeof(sori_lm_token));
    s->targets = malloc(B * sizeof(int32_t));
    s->owner = malloc(B * sizeof(int32_t));
    s->tlp = malloc((size_t)p.n_ctx * sizeof(double));
    s->rope_cos = malloc(B * (m->n_rot / 2) * sizeof(double));
    s->rope_sin = malloc(B * (m->n_rot / 2) * sizeof(double));
    s->gen_tok = malloc((size_t)p.n_ctx * sizeof(int32_t));
    s->gen_si = malloc((size_t)m->n_vocab * sizeof(int32_t));
    s->gen_sf = malloc((size_t)m->n_vocab * sizeof(float));
    if (!s->kcache || !s->vcache || !s->x || !s->h || !s->q || !s->k || !s->v || !s->att || !s->o || !s->gt ||
        !s->up || !s->act || !s->sc || !s->lrow || !s->lfirst || !s->lchunk || !s->ids || !s->text_tok || !s->entries || !s->targets || !s->owner || !s->tlp || !s->rope_cos || !s->rope_sin ||
        !s->gen_tok || !s->gen_si || !s->gen_sf) {
        sori_lm_session_free(s);
        return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "lm: out of memory for a session of %d x %d positions",
                         p.n_seq, p.n_ctx);
    }
    *out = s;
    return SORI_OK;
}

/* ---- the forward pass ------------------------------------------------------------------ */

static void rms_norm(float *x, int64_t rows, int dim, const float *w, float eps, float *y)
{
    for (int64_t r = 0; r < rows; r++) {
        const float *xr = x + r * dim;
        float *yr = y + r * dim;
        double ss = 0;
        for (int i = 0; i < dim; i++)
            ss += (double)xr[i] * xr[i];
        const float inv = (float)(1.0 / sqrt(ss / dim + eps));
        for (int i = 0; i < dim; i++)
            yr[i] = xr[i] * inv * (w ? w[i] : 1.0f);
    }
}

/* y[rows, w.rows] = x[rows, w.cols] * w^T (+ bias) */
static sori_status linear(const sori_lm *m, const float *x, int rows, const lm_weight *w, const float *bias, float *y,
                          sori_error *err)
{
    sori_op_desc op = {.op = SORI_OP_MATMUL};
    op.u.matmul = (sori_matmul_desc){.batch = 1, .m = rows, .n = (int)w->rows, .k = (int)w->cols, .trans_b = true,
                                     .a = x, .lda = w->cols, .b = w->data, .b_type = w->type, .ldb = w->cols,
                                     .c = y, .ldc = w->rows, .bias = bias, .alpha = 1.0f, .quant_act = true};
    return sori_rt_run(m->rt, 0, &op, err);
}

/* the angles of every token's position (same for all heads and layers of one RoPE base) */
static void rope_angles(const sori_lm *m, sori_lm_session *s, const sori_lm_token *t, int n, float base)
{
    const int half = m->n_rot / 2;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < half; j++) {
            double f = pow((double)base, -2.0 * j / m->n_rot) * m->rope_scale;
            if (m->rope_freqs)
                f /= m->rope_freqs[j];
            const double a = (double)t[i].pos * f;
            s->rope_cos[(size_t)i * half + j] = cos(a);
            s->rope_sin[(size_t)i * half + j] = sin(a);
        }
}

static void rope(const sori_lm *m, const sori_lm_session *s, float *x, int n, int heads, int head_dim)
{
    const int half = m->n_rot / 2;
    for (int i = 0; i < n; i++)
        for (int h = 0; h < heads; h++) {
            float *v = x + ((size_t)i * heads + h) * head_dim;
            const double *c = s->rope_cos + (size_t)i * half, *sn = s->rope_sin + (size_t)i * half;
            for (int j = 0; j < half; j++) {
                const int a = m->rope_neox ? j : 2 * j, b = m->rope_neox ? j + half : 2 * j + 1;
                const double x0 = v[a], x1 = v[b];
                v[a] = (float)(x0 * c[j] - x1 * sn[j]);
                v[b] = (float)(x0 * sn[j] + x1 * c[j]);
            }
        }
}

static size_t kv_index(const sori_lm_session *s, int layer, int seq, int pos, int width)
{
    return (((size_t)layer * s->n_seq + seq) * s->n_ctx + pos) * (size_t)width;
}

typedef struct {
    const sori_lm *m;
    sori_lm_session *s;
    int l;
    const sori_lm_token *t;
} att_job;

/* Attention of entries [i0, i1) over their sequences' cached keys and
 * values (each entry its own row of scores: tasks run side by side). */
static void attention_rows(void *ctx, int64_t i0, int64_t i1)
{
    const att_job *a = ctx;
    const sori_lm *m = a->m;
    sori_lm_session *s = a->s;
    const int D = m->head_k, Dv = m->head_v, Hk = m->n_head_kv * D, Hv = m->n_head_kv * Dv;
    const int group = m->n_head / m->n_head_kv;
    const bool swa = m->layers[a->l].swa;
    for (int64_t i = i0; i < i1; i++) {
        const sori_lm_token *t = &a->t[i];
        const int p = t->pos, lo = swa && p - m->swa_window + 1 > 0 ? p - m->swa_window + 1 : 0;
        const float *kc = s->kcache + kv_index(s, a->l, t->seq, 0, Hk);
        const float *vc = s->vcache + kv_index(s, a->l, t->seq, 0, Hv);
        float *sc = s->sc + (size_t)i * s->n_ctx;
        for (int h = 0; h < m->n_head; h++) {
            const int kh = h / group;
            const float *q = s->q + ((size_t)i * m->n_head + h) * D;
            float mx = -INFINITY;
            for (int j = lo; j <= p; j++) {
                const float d = sori_cpu_dot(q, kc + (size_t)j * Hk + (size_t)kh * D, D) * m->att_scale;
                sc[j] = d;
                mx = d > mx ? d : mx;
            }
            double sum = 0;
            for (int j = lo; j <= p; j++)
                sum += (sc[j] = expf(sc[j] - mx));
            const float inv = (float)(1.0 / sum);
            float *o = s->att + ((size_t)i * m->n_head + h) * Dv;
            for (int c = 0; c < Dv; c++)
                o[c] = 0;
            for (int j = lo; j <= p; j++)
                sori_cpu_axpy(sc[j] * inv, vc + (size_t)j * Hv + (size_t)kh * Dv, o, Dv);
        }
    }
}

static void attention(const sori_lm *m, sori_lm_session *s, int l, const sori_lm_token *t, int n)
{
    att_job a = {m, s, l, t};
    sori_thread_pool *pool = sori_rt_pool(m->rt);
    if (pool && n > 1)
        sori_parallel_for(pool, n, 1, attention_rows, &a);
    else
        attention_rows(&a, 0, n);
}

/* gt = act(gt) * up over n values: SwiGLU, or Gemma's GeGLU with GELU's
 * tanh form, x * (1 + tanh z) / 2 = x * sigmoid(2z): the sigmoid (or SiLU)
 * is the runtime's vectorized unary op over all rows at once. */
static sori_status glu(const sori_lm *m, sori_lm_session *s, int64_t n, sori_error *err)
{
    const bool gelu = m->arch == ARCH_GEMMA3;
    float *a = gelu ? s->act : s->gt;
    if (gelu)
        for (int64_t i = 0; i < n; i++) {
            const float x = s->gt[i];
            a[i] = 1.5957691216057308f * (x + 0.044715f * x * x * x);
        }
    sori_op_desc op = {.op = SORI_OP_UNARY};
    op.u.unary = (sori_unary_desc){.n = n, .act = gelu ? SORI_ACT_SIGMOID : SORI_ACT_SILU, .scale = 1.0f, .x = a, .y = a};
    sori_status st = sori_rt_run(m->rt, 0, &op, err);
    if (st != SORI_OK)
        return st;
    if (gelu)
        for (int64_t i = 0; i < n; i++)
            s->gt[i] *= a[i] * s->up[i];
    else
        for (int64_t i = 0; i < n; i++)
            s->gt[i] *= s->up[i];
    return SORI_OK;
}

/* Checks a call's entries: tokens, sequences and positions in range. */
static sori_status check_entries(const sori_lm_session *s, const sori_lm_token *t, int n, int *n_out, sori_error *err)
{
    const sori_lm *m = s->lm;
    if (n > s->n_batch)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "lm: decode of %d tokens, the session takes %d at a time", n,
                         s->n_batch);
    *n_out = 0;
    for (int i = 0; i < n; i++) {
        if (t[i].token < 0 || t[i].token >= m->n_vocab || t[i].seq < 0 || t[i].seq >= s->n_seq || t[i].pos < 0 ||
            t[i].pos >= s->n_ctx)
            return sori_fail(err, SORI_ERR_INVALID_ARG, 0,
                             "lm: decode entry %d: token %d (vocab %d), seq %d (of %d), pos %d (context %d)", i,
                             t[i].token, m->n_vocab, t[i].seq, s->n_seq, t[i].pos, s->n_ctx);
        *n_out += t[i].logits;
    }
    return SORI_OK;
}

/* The layers over n checked entries: their keys and values into the cache,
 * the last hidden states in s->x. */
static sori_status forward(sori_lm_session *s, const sori_lm_token *t, int n, sori_error *err)
{
    const sori_lm *m = s->lm;
    const int E = m->n_embd, D = m->head_k, Dv = m->head_v, F = m->n_ff;
    const int Hk = m->n_head_kv * D, Hv = m->n_head_kv * Dv;
    sori_status st;
    for (int i = 0; i < n; i++)
        s->ids[i] = t[i].token;
    sori_op_desc op = {.op = SORI_OP_EMBEDDING};
    op.u.embedding = (sori_embedding_desc){.ids = s->ids, .n_ids = n, .table = m->tok_embd.data,
                                           .table_type = m->tok_embd.type, .vocab = m->n_vocab, .dim = E, .out = s->x};
    if ((st = sori_rt_run(m->rt, 0, &op, err)) != SORI_OK)
        return st;
    if (m->emb_scale != 1.0f)
        for (size_t i = 0; i < (size_t)n * E; i++)
            s->x[i] *= m->emb_scale;
    float base = NAN;
    for (int l = 0; l < m->n_layer; l++) {
        const lm_layer *L = &m->layers[l];
        rms_norm(s->x, n, E, L->attn_norm, m->eps, s->h);
        if ((st = linear(m, s->h, n, &L->wq, L->bq, s->q, err)) != SORI_OK ||
            (st = linear(m, s->h, n, &L->wk, L->bk, s->k, err)) != SORI_OK ||
            (st = linear(m, s->h, n, &L->wv, L->bv, s->v, err)) != SORI_OK)
            return st;
        if (L->q_norm) {
            rms_norm(s->q, (int64_t)n * m->n_head, D, L->q_norm, m->eps, s->q);
            rms_norm(s->k, (int64_t)n * m->n_head_kv, D, L->k_norm, m->eps, s->k);
        }
        const float b = L->swa ? m->rope_base_swa : m->rope_base;
        if (b != base) {
            rope_angles(m, s, t, n, b);
            base = b;
        }
        rope(m, s, s->q, n, m->n_head, D);
        rope(m, s, s->k, n, m->n_head_kv, D);
        for (int i = 0; i < n; i++) {
            memcpy(s->kcache + kv_index(s, l, t[i].seq, t[i].pos, Hk), s->k + (size_t)i * Hk, (size_t)Hk * sizeof(float));
            memcpy(s->vcache + kv_index(s, l, t[i].seq, t[i].pos, Hv), s->v + (size_t)i * Hv, (size_t)Hv * sizeof(float));
        }
        attention(m, s, l, t, n);
        if ((st = linear(m, s->att, n, &L->wo, NULL, s->o, err)) != SORI_OK)
            return st;
        if (L->post_attn_norm)
            rms_norm(s->o, n, E, L->post_attn_norm, m->eps, s->o);
        for (size_t i = 0; i < (size_t)n * E; i++)
            s->x[i] += s->o[i];
        rms_norm(s->x, n, E, L->ffn_norm, m->eps, s->h);
        if ((st = linear(m, s->h, n, &L->gate, NULL, s->gt, err)) != SORI_OK ||
            (st = linear(m, s->h, n, &L->up, NULL, s->up, err)) != SORI_OK)
            return st;
        if ((st = glu(m, s, (int64_t)n * F, err)) != SORI_OK)
            return st;
        if ((st = linear(m, s->gt, n, &L->down, NULL, s->o, err)) != SORI_OK)
            return st;
        if (L->post_ffn_norm)
            rms_norm(s->o, n, E, L->post_ffn_norm, m->eps, s->o);
        for (size_t i = 0; i < (size_t)n * E; i++)
            s->x[i] += s->o[i];
    }
    return SORI_OK;
}

sori_status sori_lm_decode(sori_lm_session *s, const sori_lm_token *t, int n, float *logits, sori_error *err)
{
    if (!s || (n > 0 && !t) || n < 0)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "lm: decode: bad arguments");
    s->n_gen = 0;
    return lm_decode(s, t, n, logits, err);
}

sori_status lm_decode(sori_lm_session *s, const sori_lm_token *t, int n, float *logits, sori_error *err)
{
    const sori_lm *m = s->lm;
    const int E = m->n_embd;
    int n_out = 0;
    sori_status st = check_entries(s, t, n, &n_out, err);
    if (st != SORI_OK)
        return st;
    if (n_out && !logits)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "lm: decode: logits asked for but no buffer");
    if (n == 0)
        return SORI_OK;
    if ((st = forward(s, t, n, err)) != SORI_OK || !n_out)
        return st;
    /* the rows that want logits, normed, then one product with the output matrix */
    int r = 0;
    for (int i = 0; i < n; i++)
        if (t[i].logits)
            memmove(s->x + (size_t)r++ * E, s->x + (size_t)i * E, (size_t)E * sizeof(float));
    rms_norm(s->x, n_out, E, m->output_norm, m->eps, s->h);
    return linear(m, s->h, n_out, &m->output, NULL, logits, err);
}

sori_status sori_lm_seq_copy(sori_lm_session *s, int src, int dst, int n_pos, sori_error *err)
{
    if (!s || src < 0 || dst < 0 || src >= s->n_seq || dst >= s->n_seq || n_pos < 0 || n_pos > s->n_ctx)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "lm: seq_copy: bad arguments");
    const sori_lm *m = s->lm;
    const int Hk = m->n_head_kv * m->head_k, Hv = m->n_head_kv * m->head_v;
    if (src == dst)
        return SORI_OK;
    if (dst == 0)
        s->n_gen = 0;
    for (int l = 0; l < m->n_layer; l++) {
        memcpy(s->kcache + kv_index(s, l, dst, 0, Hk), s->kcache + kv_index(s, l, src, 0, Hk),
               (size_t)n_pos * Hk * sizeof(float));
        memcpy(s->vcache + kv_index(s, l, dst, 0, Hv), s->vcache + kv_index(s, l, src, 0, Hv),
               (size_t)n_pos * Hv * sizeof(float));
    }
    return SORI_OK;
}

/* After a forward pass over n entries: for each entry i with targets[i] >= 0,
 * log p(targets[i]) from its logits, added to acc[owner[i]]. The rows are
 * normed, then LOGIT_ROWS at a time go through the output matrix and a
 * log-softmax: a vocabulary of 262,144 never needs more than 16 rows. */
static sori_status score_rows(sori_lm_session *s, int n, const int32_t *targets, const int32_t *owner, double *acc,
                              sori_error *err)
{
    const sori_lm *m = s->lm;
    const int E = m->n_embd, V = m->n_vocab;
    int r = 0;
    for (int i = 0; i < n; i++)
        if (targets[i] >= 0) {
            memmove(s->x + (size_t)r * E, s->x + (size_t)i * E, (size_t)E * sizeof(float));
            s->ids[r++] = i;
        }
    rms_norm(s->x, r, E, m->output_norm, m->eps, s->h);
    sori_status st = SORI_OK;
    for (int c0 = 0; c0 < r && st == SORI_OK; c0 += LOGIT_ROWS) {
        const int c = r - c0 < LOGIT_ROWS ? r - c0 : LOGIT_ROWS;
        if ((st = linear(m, s->h + (size_t)c0 * E, c, &m->output, NULL, s->lchunk, err)) != SORI_OK)
            break;
        sori_op_desc op = {.op = SORI_OP_SOFTMAX};
        op.u.softmax = (sori_softmax_desc){.n_rows = c, .dim = V, .log = true, .x = s->lchunk, .y = s->lchunk};
        if ((st = sori_rt_run(m->rt, 0, &op, err)) != SORI_OK)
            break;
        for (int j = 0; j < c; j++) {
            const int i = s->ids[c0 + j];
            acc[owner[i]] += s->lchunk[(size_t)j * V + targets[i]];
        }
    }
    return st;
}

/* Scores hypotheses (their first tokens already scored) in `order`, one
 * after the other in sequence 0 after the prefix: each keeps the cached keys
 * and values and the per-token log-probabilities (s->tlp) of the tokens it
 * shares with the hypothesis before it, and runs only the rest. */
static sori_status score_shared(sori_lm_session *s, int n_prefix, const int32_t *const *hyps, const int *n_hyp,
                                int n_hyps, const int *order, double *logp, sori_error *err)
{
    sori_lm_token *e = s->entries;
    int32_t *tg = s->targets, *ow = s->owner;
    const int B = s->n_batch;
    sori_status st = SORI_OK;
    for (int i = 0; i < n_hyps && st == SORI_OK; i++) {
        const int h = order[i], p = i ? order[i - 1] : -1, n = n_hyp[h];
        int L = 0;
        while (p >= 0 && L < n && L < n_hyp[p] && hyps[p][L] == hyps[h][L])
            L++;
        /* targets j (1..n-1, context: tokens 0..j-1) with j < reuse were scored for p in the same context */
        const int reuse = p >= 0 ? (L < n_hyp[p] ? L : n_hyp[p]) : 0;
        const int k0 = reuse > 1 ? reuse - 1 : 0; /* the first context token to run */
        for (int j = k0 + 1; j < n; j++)
            s->tlp[j] = 0.0;
        int c = 0;
        for (int k = k0; k + 1 < n && st == SORI_OK; k++) {
            e[c] = (sori_lm_token){hyps[h][k], n_prefix + k, 0, false};
            tg[c] = hyps[h][k + 1];
            ow[c++] = k + 1;
            if (c == B || k + 2 >= n) {
                if ((st = forward(s, e, c, err)) == SORI_OK)
                    st = score_rows(s, c, tg, ow, s->tlp, err);
                c = 0;
            }
        }
        for (int j = 1; j < n && st == SORI_OK; j++)
            logp[h] += s->tlp[j];
    }
    return st;
}

sori_status sori_lm_score(sori_lm_session *s, const int32_t *prefix, int n_prefix, const int32_t *const *hyps,
                          const int *n_hyp, int n_hyps, double *logp, sori_error *err)
{
    if (!s || n_prefix < 1 || !prefix || n_hyps < 0 || (n_hyps > 0 && (!hyps || !n_hyp || !logp)))
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "lm: score: bad arguments (the prefix needs a token, e.g. BOS)");
    for (int h = 0; h < n_hyps; h++)
        if (n_hyp[h] < 0 || (n_hyp[h] > 0 && !hyps[h]) || n_prefix + n_hyp[h] > s->n_ctx)
            return sori_fail(err, SORI_ERR_INVALID_ARG, 0,
                             "lm: score: hypothesis %d of %d tokens after a prefix of %d does not fit the context of %d",
                             h, n_hyp[h], n_prefix, s->n_ctx);
    for (int i = 0; i < n_prefix; i++)
        if (prefix[i] < 0 || prefix[i] >= s->lm->n_vocab)
            return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "lm: score: prefix token %d is %d (vocab %d)", i, prefix[i],
                             s->lm->n_vocab);
    for (int h = 0; h < n_hyps; h++) {
        logp[h] = 0.0;
        for (int j = 0; j < n_hyp[h]; j++)
            if (hyps[h][j] < 0 || hyps[h][j] >= s->lm->n_vocab)
                return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "lm: score: token %d of hypothesis %d is %d (vocab %d)",
                                 j, h, hyps[h][j], s->lm->n_vocab);
    }
    s->n_gen = 0; /* sequence 0's cache is overwritten */
    sori_lm_token *e = s->entries;
    int32_t *tg = s->targets, *ow = s->owner;
    const int B = s->n_batch;
    sori_status st = SORI_OK;
    int n_out = 0;
    /* the prefix, once, in sequence 0; its last entry scores every hypothesis's first token */
    for (int p0 = 0; p0 < n_prefix && st == SORI_OK; p0 += B) {
        const int c = n_prefix - p0 < B ? n_prefix - p0 : B;
        for (int i = 0; i < c; i++)
            e[i] = (sori_lm_token){prefix[p0 + i], p0 + i, 0, false};
        if ((st = check_entries(s, e, c, &n_out, err)) == SORI_OK)
            st = forward(s, e, c, err);
    }
    if (st != SORI_OK)
        return st;
    /* the last hidden state into every row of a pass whose targets are the hypotheses' first tokens */
    {
        const int E = s->lm->n_embd;
        int done = 0;
        memmove(s->x, s->x + (size_t)((n_prefix - 1) % B) * E, (size_t)E * sizeof(float));
        memcpy(s->lfirst, s->x, (size_t)E * sizeof(float)); /* the state, kept across passes */
        while (done < n_hyps && st == SORI_OK) {
            int c = 0;
            for (; done < n_hyps && c < B; done++) {
                if (n_hyp[done] == 0)
                    continue;
                memcpy(s->x + (size_t)c * E, s->lfirst, (size_t)E * sizeof(float));
                tg[c] = hyps[done][0];
                ow[c++] = done;
            }
            st = score_rows(s, c, tg, ow, logp, err);
        }
    }
    if (st == SORI_OK && n_hyps > 1 && n_hyps <= 256) {
        /* N-best lists share most of their tokens: sorted, each hypothesis keeps the cache and the
         * scores of what it shares with the one before it, when that saves enough work */
        int order[256];
        for (int h = 0; h < n_hyps; h++) {
            int at = h;
            while (at > 0) { /* insertion by token sequence */
                const int o = order[at - 1], L = n_hyp[o] < n_hyp[h] ? n_hyp[o] : n_hyp[h];
                int c = 0, k = 0;
                for (; k < L && !c; k++)
                    c = hyps[o][k] < hyps[h][k] ? -1 : hyps[o][k] > hyps[h][k];
                if (c < 0 || (c == 0 && n_hyp[o] <= n_hyp[h]))
                    break;
                order[at] = order[at - 1];
                at--;
            }
            order[at] = h;
        }
        int64_t all = 0, shared = 0;
        for (int i = 0; i < n_hyps; i++) {
            const int h = order[i], p = i ? order[i - 1] : -1;
            int L = 0;
            while (p >= 0 && L < n_hyp[h] && L < n_hyp[p] && hyps[p][L] == hyps[h][L])
                L++;
            const int reuse = p >= 0 ? (L < n_hyp[p] ? L : n_hyp[p]) : 0; /* targets 0..reuse-1 known */
            all += n_hyp[h] > 1 ? n_hyp[h] - 1 : 0;
            shared += n_hyp[h] - 1 > (reuse > 1 ? reuse - 1 : 0) ? n_hyp[h] - 1 - (reuse > 1 ? reuse - 1 : 0) : 0;
        }
        if (shared < all * 7 / 10)
            return score_shared(s, n_prefix, hyps, n_hyp, n_hyps, order, logp, err);
    }
    /* the hypotheses side by side, one sequence each (the prefix's cache copied once), every token
     * but the last in a pass, scoring the token after it */
    const int lanes = n_hyps < s->n_seq ? n_hyps : s->n_seq;
    for (int q = 1; q < lanes && st == SORI_OK; q++)
        st = sori_lm_seq_copy(s, 0, q, n_prefix, err);
    for (int h0 = 0; h0 < n_hyps && st == SORI_OK; h0 += lanes) {
        const int h1 = h0 + lanes < n_hyps ? h0 + lanes : n_hyps;
        int longest = 0;
        for (int h = h0; h < h1; h++)
            longest = n_hyp[h] - 1 > longest ? n_hyp[h] - 1 : longest;
        /* passes of up to B entries: positions in order, so every entry's earlier positions are cached */
        int pos = 0, c = 0;
        while (pos < longest && st == SORI_OK) {
            for (int h = h0; h < h1 && c < B; h++)
                if (pos < n_hyp[h] - 1) {
                    e[c] = (sori_lm_token){hyps[h][pos], n_prefix + pos, h - h0, false};
                    tg[c] = hyps[h][pos + 1];
                    ow[c++] = h;
                }
            pos++;
            const bool full = c + (h1 - h0) > B;
            if (full || pos >= longest) {
                if ((st = forward(s, e, c, err)) == SORI_OK)
                    st = score_rows(s, c, tg, ow, logp, err);
                c = 0;
            }
        }
    }
    return st;
}

sori_status sori_lm_score_text(sori_lm_session *s, const char *text, double *logp, int *n_tokens, sori_error *err)
{
    if (!s || !text || !logp)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "lm: score_text: bad arguments");
    const sori_lm *m = s->lm;
    int cap = s->n_ctx, n = 0;
    int32_t *tok = s->text_tok;
    sori_status st = sori_vocab_tokenize(m->vocab, text, strlen(text), true, false, tok, cap, &n, err);
    if (st == SORI_OK && n < 1)
        st = sori_fail(err, SORI_ERR_INVALID_ARG, 0, "lm: score_text: no tokens (and no BOS to start from)");
    if (st == SORI_OK) {
        /* the first token (BOS) is the prefix; the rest one hypothesis */
        const int32_t *rest = tok + 1;
        int n_rest = n - 1;
        st = sori_lm_score(s, tok, 1, &rest, &n_rest, 1, logp, err);
        if (n_tokens)
            *n_tokens = n_rest;
    }
    return st;
}

/* ---- sampling ------------------------------------------------------------------------- */

static double rng_uniform(uint64_t *st)
{
    /* splitmix64: a uniform double in [0, 1) */
    uint64_t z = (*st += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return (double)(z >> 11) * (1.0 / 9007199254740992.0);
}

/* sorts ids by logit, largest first (heap sort: no recursion, no allocation) */
static void sift(int32_t *id, const float *lg, int64_t n, int64_t i)
{
    for (;;) {
        int64_t c = 2 * i + 1;
        if (c >= n)
            return;
        if (c + 1 < n && lg[id[c + 1]] < lg[id[c]])
            c++;
        if (!(lg[id[c]] < lg[id[i]]))
            return;
        const int32_t t = id[c];
        id[c] = id[i];
        id[i] = t;
        i = c;
    }
}

int32_t sori_lm_sample(const float *logits, int32_t n_vocab, const sori_lm_sampling *p, uint64_t *rng_state,
                       float *scratch_f, int32_t *scratch_i)
{
    if (!logits || n_vocab < 1)
        return -1;
    int32_t best = 0;
    for (int32_t v = 1; v < n_vocab; v++)
        best = logits[v] > logits[best] ? v : best;
    if (!p || !rng_state || !scratch_f || !scratch_i || !(p->temperature > 0) || p->top_k == 1)
        return best;
    const float inv_t = 1.0f / p->temperature;
    /* the candidates: the top_k largest (a min-heap of k ids), else all */
    const int64_t k = p->top_k > 0 && p->top_k < n_vocab ? p->top_k : n_vocab;
    int32_t *id = scratch_i;
    int64_t n = 0;
    for (int32_t v = 0; v < n_vocab; v++) {
        if (n < k) {
            id[n++] = v;
            if (n == k)
                for (int64_t i = n / 2 - 1; i >= 0; i--)
                    sift(id, logits, n, i);
        } else if (logits[v] > logits[id[0]]) {
            id[0] = v;
            sift(id, logits, n, 0);
        }
    }
    if (n < k) /* k == n_vocab: heapify all */
        for (int64_t i = n / 2 - 1; i >= 0; i--)
            sift(id, logits, n, i);
    /* heap -> descending order: pop the smallest to the end */
    for (int64_t end = n - 1; end > 0; end--) {
        const int32_t t = id[0];
        id[0] = id[end];
        id[end] = t;
        sift(id, logits, end, 0);
    }
    /* probabilities at the temperature, then the top_p nucleus */
    const float mx = logits[id[0]];
    double sum = 0;
    for (int64_t i = 0; i < n; i++)
        sum += (scratch_f[i] = expf((logits[id[i]] - mx) * inv_t));
    const double top_p = p->top_p > 0 && p->top_p < 1 ? p->top_p : 1.0;
    double kept = 0;
    int64_t m = 0;
    while (m < n && (m == 0 || kept < top_p * sum))
        kept += scratch_f[m++];
    double u = rng_uniform(rng_state) * kept;
    for (int64_t i = 0; i < m; i++) {
        u -= scratch_f[i];
        if (u < 0)
            return id[i];
    }
    return id[m - 1];
}
