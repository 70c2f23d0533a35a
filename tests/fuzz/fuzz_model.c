/* libFuzzer target: ASR model files (seeded with the golden fixture
 * models). Whatever loads must run, without faults, a forward pass, RNN-T
 * greedy decoding where it has the head, two cache-aware streaming steps
 * where it can stream, and the public API on a short signal: offline
 * transcription (features, encoder, CTC greedy or beam search with hotwords,
 * or RNN-T) and a stream fed, finished and read.
 *
 * Structure-aware: random bytes almost never make a loadable model, so the
 * custom mutator mostly rewrites a valid GGUF with one metadata value
 * changed (sizes to 0, -1, -2, ±1, ×2, huge; options to other known
 * spellings; floats to NaN, infinities, 0; keys removed or added) or one
 * tensor's shape changed or the tensor dropped, and only sometimes mutates
 * bytes. Run it with a -max_len that fits the seeds (they are 1.1-1.4 MB;
 * libFuzzer's default of 1 MiB cuts every one). At exit, and every 2^k
 * inputs, it prints how many inputs loaded and how far they ran, so a run
 * shows that the code that runs models was reached. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../gguf_edit.h"
#include "asr/conformer.h"
#include "sori/asr.h"

size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);

static struct {
    uint64_t inputs, loaded, forward, rnnt, stream_steps, asr_loaded, transcribed, streamed;
} count;

static void print_counts(void)
{
    fprintf(stderr,
            "fuzz_model: %llu inputs, %llu loaded, %llu forward passes, %llu RNN-T decodes, %llu streaming "
            "steps; API: %llu loaded, %llu transcribed, %llu streamed\n",
            (unsigned long long)count.inputs, (unsigned long long)count.loaded, (unsigned long long)count.forward,
            (unsigned long long)count.rnnt, (unsigned long long)count.stream_steps,
            (unsigned long long)count.asr_loaded, (unsigned long long)count.transcribed,
            (unsigned long long)count.streamed);
}

static sori_runtime *runtime(void)
{
    static sori_runtime *rt;
    if (!rt) {
        sori_runtime_params p = sori_runtime_default_params();
        p.device = SORI_DEVICE_CPU;
        p.n_threads = 1;
        p.pool_bytes = 4096;
        if (sori_runtime_create(&p, &rt, NULL) != SORI_OK)
            abort();
        atexit(print_counts);
    }
    return rt;
}

/* A hotword list the last loaded model can write (a bad list would refuse
 * every beam-search load). */
static char hotwords[256];

static void make_hotwords(const sori_conformer *m)
{
    hotwords[0] = 0;
    int lines = 0;
    for (int i = 0; i < sori_conformer_get_info(m).vocab_size && lines < 3; i++) {
        const char *t = sori_conformer_token(m, i);
        if (!t || !t[0] || t[0] == '<' || t[0] == ' ' || strncmp(t, "\xe2\x96\x81", 3) == 0 || strlen(t) > 16 ||
            strchr(t, ':') || strchr(t, '#') || strchr(t, '\n') || strchr(t, '\r'))
            continue;
        size_t n = strlen(hotwords);
        snprintf(hotwords + n, sizeof hotwords - n, "%s%s\n", t, lines == 1 ? " :2" : "");
        lines++;
    }
}

/* The encoder alone: forward, RNN-T greedy, two streaming steps. */
static void run_encoder(const uint8_t *data, size_t size)
{
    sori_conformer *m = NULL;
    if (sori_conformer_load_memory(runtime(), data, size, &m, NULL) != SORI_OK)
        return;
    count.loaded++;
    make_hotwords(m);
    sori_conformer_info in = sori_conformer_get_info(m);
    if (in.feat_in > 0 && in.feat_in <= 512 && in.d_model <= 1024 && in.n_layers <= 32) {
        int64_t frames = 40;
        float *feats = calloc((size_t)frames * in.feat_in, sizeof(float));
        for (int64_t i = 0; feats && i < frames * in.feat_in; i++)
            feats[i] = sinf(0.1f * (float)i);
        int64_t T = sori_conformer_out_frames(m, frames);
        float *lp = malloc((size_t)(T > 0 ? T : 1) * (in.vocab_size + 1) * sizeof(float));
        float *enc = malloc((size_t)(T > 0 ? T : 1) * in.d_model * sizeof(float));
        if (feats && lp && enc &&
            sori_conformer_forward(m, feats, frames, enc, sori_conformer_has_ctc(m) ? lp : NULL, NULL) == SORI_OK) {
            count.forward++;
            if (sori_conformer_has_rnnt(m)) { /* RNN-T greedy over the encoder output */
                sori_rnnt_state *rs = NULL;
                sori_rnnt_emit *toks = NULL;
                int64_t n = 0, cap = 0;
                if (sori_rnnt_state_create(m, &rs, NULL) == SORI_OK &&
                    sori_rnnt_greedy(rs, enc, T, 0, &toks, &n, &cap, NULL) == SORI_OK)
                    count.rnnt++;
                free(toks);
                sori_rnnt_state_free(rs);
            }
        }
        sori_conformer_stream_cfg sc = sori_conformer_get_stream_cfg(m);
        sori_conformer_cache *c = NULL;
        if (feats && enc && sc.supported && sc.cache_len <= 4096 && sori_conformer_cache_create(m, &c, NULL) == SORI_OK) {
            /* two streaming steps: a first one and a later one */
            const float *xs[1] = {feats};
            float *eo[1] = {enc};
            int64_t n1 = sc.chunk_first < frames ? sc.chunk_first : frames, n2 = frames, got = 0;
            if (sori_conformer_out_frames(m, n1) <= T && sori_conformer_out_frames(m, n2) <= T) {
                count.stream_steps += sori_conformer_stream_step(m, 1, &c, xs, &n1, 0, eo, NULL, &got, NULL) == SORI_OK;
                count.stream_steps += sori_conformer_stream_step(m, 1, &c, xs, &n2, sc.drop, eo, NULL, &got, NULL) == SORI_OK;
            }
            sori_conformer_cache_free(c);
        }
        free(feats);
        free(lp);
        free(enc);
    }
    sori_conformer_free(m);
}

/* The public API: load (an odd size picks a beam search with hotwords
 * over greedy decoding), transcribe 0.6 s, stream it in 0.1 s packets. */
static void run_api(const uint8_t *data, size_t size)
{
    sori_asr_model_params mp = sori_asr_model_default_params();
    if (size & 1) {
        mp.beam = 4;
        mp.hotwords = hotwords[0] ? hotwords : NULL;
    }
    sori_asr_model *m = NULL;
    sori_error e = {0};
    if (sori_asr_model_load_memory(runtime(), data, size, &mp, &m, &e) != SORI_OK) {
        if (getenv("FUZZ_DEBUG")) /* why inputs are refused */
            fprintf(stderr, "refused: %s\n", e.message);
        return;
    }
    count.asr_loaded++;
    sori_asr_model_info mi = sori_asr_model_get_info(m);
    if (mi.d_model <= 1024 && mi.n_layers <= 32) {
        enum { N = 9600 };
        static float x[N];
        for (int i = 0; i < N; i++)
            x[i] = 0.3f * sinf(0.05f * (float)i) * sinf(0.0007f * (float)i);
        sori_asr_result *r = NULL;
        if (sori_asr_transcribe(m, x, N, 16000, &r, NULL) == SORI_OK)
            count.transcribed++;
        sori_asr_result_free(r);
        sori_asr_stream_params sp = sori_asr_stream_default_params();
        sori_asr_stream *s = NULL;
        if (sori_asr_stream_create(m, &sp, &s, NULL) == SORI_OK) {
            sori_status st = SORI_OK;
            for (int pos = 0; pos < N && st == SORI_OK; pos += 1600) {
                st = sori_asr_stream_accept(s, x + pos, 1600, 16000, NULL);
                while (st == SORI_OK && sori_asr_stream_is_ready(s))
                    st = sori_asr_decode_ready(m, &s, 1, NULL);
            }
            if (st == SORI_OK)
                st = sori_asr_stream_input_finished(s, NULL);
            while (st == SORI_OK && sori_asr_stream_is_ready(s))
                st = sori_asr_decode_ready(m, &s, 1, NULL);
            r = NULL;
            if (st == SORI_OK && sori_asr_stream_result(s, &r, NULL) == SORI_OK)
                count.streamed++;
            sori_asr_result_free(r);
            sori_asr_stream_free(s);
        }
    }
    sori_asr_model_free(m);
}

/* Inputs that loaded, kept as starting points for the mutator: an input
 * that no longer parses (after a byte mutation or a crossover) is not
 * mutated further, a loadable one is mutated instead. */
enum { POOL = 16 };
static struct {
    uint8_t *data[POOL];
    size_t size[POOL];
    int n;
    uint64_t next;
} pool;

static void pool_keep(const uint8_t *data, size_t size)
{
    int slot = pool.n < POOL ? pool.n++ : (int)(pool.next++ % POOL);
    uint8_t *copy = malloc(size);
    if (!copy)
        return;
    memcpy(copy, data, size);
    free(pool.data[slot]);
    pool.data[slot] = copy;
    pool.size[slot] = size;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    count.inputs++;
    uint64_t loaded = count.loaded;
    run_encoder(data, size);
    if (count.loaded > loaded && (pool.n < POOL || count.inputs % 8 == 0))
        pool_keep(data, size);
    run_api(data, size);
    if ((count.inputs & (count.inputs - 1)) == 0 && count.inputs >= 1024)
        print_counts();
    return 0;
}

/* ---- the structure-aware mutator ------------------------------------------------ */

static uint64_t rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Spellings of every option sori reads, so that a changed string is often
 * another valid option rather than noise. */
static const char *const words[] = {
    "sori.conformer", "striding", "dw_striding", "ctc", "rnnt", "hybrid", "regular", "chunked_limited",
    "batch_norm", "layer_norm", "relu", "tanh", "sigmoid", "chars", "sentencepiece", "nemo", "per_feature",
    "all_features", "none", "NA", "fixed", "", "x"};
/* Keys that fixtures may lack, to add. */
static const char *const extra_keys[] = {
    "sori.conformer.att_context_left", "sori.conformer.att_context_right", "sori.conformer.conv_context_left",
    "sori.conformer.conv_context_right", "sori.conformer.blank_id", "sori.conformer.rnnt.max_symbols",
    "sori.conformer.causal_downsampling", "features.pad_to", "sori.conformer.ff_expansion_factor"};

static int64_t interesting_int(uint64_t *s, int64_t v)
{
    static const int64_t vals[] = {0, -1, -2, 1, 2, 3, 4, 7, 8, 16, 63, 64, 255, 256, 4095, 65535, 65536,
                                   INT32_MAX, (int64_t)INT32_MAX + 1, (int64_t)1 << 40, INT64_MAX, INT64_MIN};
    switch (rnd(s) % 8) {
    case 0: return v + 1;
    case 1: return v - 1;
    case 2: return v * 2;
    case 3: return v / 2;
    case 4: return (int64_t)(rnd(s) % 1024) - 8;
    case 5: /* somewhere in the value's own neighbourhood: often still valid */
    case 6: return (int64_t)(rnd(s) % (uint64_t)(2 * (v > 0 ? v : 0) + 4)) - 1;
    default: return vals[rnd(s) % (sizeof vals / sizeof vals[0])];
    }
}

static double interesting_float(uint64_t *s, double v)
{
    static const double vals[] = {0.0, -0.0, 1.0, -1.0, 0.5, 2.0, 1e-30, 1e30, NAN, INFINITY, -INFINITY};
    switch (rnd(s) % 4) {
    case 0: return v * 2;
    case 1: return -v;
    case 2: return (double)(rnd(s) % 1000) / 100.0;
    default: return vals[rnd(s) % (sizeof vals / sizeof vals[0])];
    }
}

/* One structural edit of a parsed file into *e; 0 when none applies. */
static int pick_edit(const sori_gguf *g, uint64_t *s, gguf_edit *e)
{
    memset(e, 0, sizeof *e);
    int64_t nkv = sori_gguf_n_kv(g), nt = sori_gguf_n_tensors(g);
    unsigned what = rnd(s) % 16;
    if (what < 10 && nkv > 0) { /* change a value */
        int64_t i = (int64_t)(rnd(s) % (uint64_t)nkv);
        const char *key = sori_gguf_kv_key(g, i);
        sori_gguf_type t = sori_gguf_kv_type(g, i);
        e->name = key;
        if (gguf_edit_is_int(t)) {
            int64_t v = 0;
            sori_gguf_get_int(g, key, &v);
            e->kind = GGUF_EDIT_INT;
            e->i = interesting_int(s, v);
            if (rnd(s) % 4 == 0)
                e->type = SORI_GGUF_I64; /* negative values survive */
        } else if (t == SORI_GGUF_F32 || t == SORI_GGUF_F64) {
            double v = 0;
            sori_gguf_get_float(g, key, &v);
            e->kind = GGUF_EDIT_FLOAT;
            e->f = interesting_float(s, v);
        } else if (t == SORI_GGUF_BOOL) {
            bool b = false;
            sori_gguf_get_bool(g, key, &b);
            e->kind = GGUF_EDIT_BOOL;
            e->i = !b;
        } else if (t == SORI_GGUF_STRING) {
            e->kind = GGUF_EDIT_STR;
            e->s = words[rnd(s) % (sizeof words / sizeof words[0])];
        } else {
            e->kind = GGUF_EDIT_REMOVE; /* an array: the vocabulary */
        }
        if (rnd(s) % 16 == 0) /* or the wrong type */
            *e = (gguf_edit){.kind = rnd(s) % 2 ? GGUF_EDIT_STR : GGUF_EDIT_FLOAT, .name = key, .s = "7", .f = 7.0};
        return 1;
    }
    if (what < 11 && nkv > 0) { /* remove a key */
        e->kind = GGUF_EDIT_REMOVE;
        e->name = sori_gguf_kv_key(g, (int64_t)(rnd(s) % (uint64_t)nkv));
        return 1;
    }
    if (what < 13) { /* add (or set) a key the fixtures may lack */
        e->kind = GGUF_EDIT_INT;
        e->type = SORI_GGUF_I64;
        e->name = extra_keys[rnd(s) % (sizeof extra_keys / sizeof extra_keys[0])];
        e->i = interesting_int(s, 0);
        return 1;
    }
    if (nt > 0) { /* a tensor's shape, or the tensor dropped */
        const sori_gguf_tensor *t = sori_gguf_tensor_at(g, (int64_t)(rnd(s) % (uint64_t)nt));
        e->name = t->name;
        if (rnd(s) % 5 == 0) {
            e->kind = GGUF_EDIT_DROP;
            return 1;
        }
        e->kind = GGUF_EDIT_SHAPE;
        e->n_dims = t->n_dims;
        memcpy(e->ne, t->ne, sizeof e->ne);
        int d = (int)(rnd(s) % (uint64_t)t->n_dims);
        switch (rnd(s) % 5) {
        case 0: e->ne[d] += 1; break;
        case 1: e->ne[d] = e->ne[d] > 1 ? e->ne[d] - 1 : 2; break;
        case 2: e->ne[d] *= 2; break;
        case 3: e->ne[d] = 1; break;
        default: /* swap two dimensions, or drop / add one */
            if (t->n_dims > 1) {
                int64_t tmp = e->ne[0];
                e->ne[0] = e->ne[t->n_dims - 1];
                e->ne[t->n_dims - 1] = tmp;
            } else {
                e->n_dims = 2;
                e->ne[1] = 1;
            }
        }
        return e->ne[d] > 0 && e->ne[d] < ((int64_t)1 << 24);
    }
    return 0;
}

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed)
{
    uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
    if (rnd(&s) % 8 == 0)
        return LLVMFuzzerMutate(data, size, max_size);
    sori_gguf *g = NULL;
    if (sori_gguf_open_memory(data, size, &g, NULL) != SORI_OK || rnd(&s) % 4 == 0) {
        sori_gguf_free(g); /* start from a model that loaded */
        g = NULL;
        int k = pool.n ? (int)(rnd(&s) % (uint64_t)pool.n) : -1;
        if (k < 0 || pool.size[k] > max_size)
            return LLVMFuzzerMutate(data, size, max_size);
        memcpy(data, pool.data[k], pool.size[k]);
        size = pool.size[k];
        if (sori_gguf_open_memory(data, size, &g, NULL) != SORI_OK)
            return size;
    }
    /* one to three edits */
    gguf_edit e[3];
    unsigned r = (unsigned)(rnd(&s) % 8);
    int n = 0, want = r < 5 ? 1 : r < 7 ? 2 : 3;
    for (int k = 0; k < 8 && n < want; k++)
        if (pick_edit(g, &s, &e[n]) && !gguf_edit_find(e, n, e[n].name, e[n].kind >= GGUF_EDIT_SHAPE))
            n++;
    void *out = NULL;
    size_t out_size = 0;
    sori_status st = n ? gguf_edit_apply(data, size, e, n, &out, &out_size) : SORI_ERR_INVALID_ARG;
    sori_gguf_free(g); /* after the edit: names in e point into it */
    if (st != SORI_OK || out_size > max_size) {
        free(out);
        return LLVMFuzzerMutate(data, size, max_size);
    }
    memcpy(data, out, out_size);
    free(out);
    return out_size;
}
