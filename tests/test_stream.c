/* Golden parity of cache-aware streaming and the RNN-T head with NeMo
 * (tools/gen_stream_fixtures.py): a FastConformer hybrid RNNT+CTC model
 * (dw_striding x8 with causal downsampling, chunked_limited attention,
 * causal convolutions, SentencePiece) with every parameter randomized.
 *   - offline: encoder and CTC log-probs vs NeMo's forward;
 *   - streaming: sori_conformer_stream_step over NeMo's chunking
 *     (CacheAwareStreamingAudioBuffer) vs cache_aware_stream_step, step by
 *     step frame counts and the concatenated outputs; several streams in one
 *     batched step give each stream's own result;
 *   - RNN-T greedy tokens vs NeMo's GreedyRNNTInfer (every decision has a
 *     top-1 margin > 0.05 in the fixture), offline and chunk by chunk;
 *   - the public API: RNN-T / CTC text, cache-aware streaming equal to
 *     offline in any feeding and batched, 10,000 stream cycles without heap
 *     growth.
 * Tolerances: relative L2 <= 1e-4, max-abs <= 1e-3 (f32, CPU). */
#include <malloc.h>
#include <math.h>
#include <string.h>

#include "asr/conformer.h"
#include "asr_util.h"
#include "check.h"
#include "kernels/opcheck.h"
#include "kernels/reference.h"
#include "sori/asr.h"

#define NAME "hybrid_stream"

static float *read_f32(const char *suffix, int64_t *n)
{
    return read_f32_fixture(n, "%s/stream/%s%s", SORI_FIXTURE_DIR, NAME, suffix);
}

static void compare(const char *what, const float *x, const float *ref, int64_t n)
{
    double rel, mx;
    sori_compare(x, ref, n, &rel, &mx);
    CHECK(rel <= 1e-4 && mx <= 1e-3, "%s: rel %.2e max %.2e", what, rel, mx);
    printf("  %-34s rel %.2e  max %.2e\n", what, rel, mx);
}

/* The chunking of NeMo's CacheAwareStreamingAudioBuffer: step k's input
 * (start, count) in the features and its drop. */
static int chunk_of(const sori_conformer_stream_cfg *c, int64_t n_frames, int k, int64_t *start, int64_t *count,
                    int *drop)
{
    int64_t begin = k == 0 ? 0 : c->chunk_first + (int64_t)(k - 1) * c->chunk;
    if (begin >= n_frames)
        return 0;
    int64_t len = k == 0 ? c->chunk_first : c->chunk;
    if (begin + len > n_frames)
        len = n_frames - begin;
    if (k == 0) {
        *start = 0, *count = len, *drop = 0;
        return 1;
    }
    /* the pre-encode cache: up to pre_cache earlier frames (zeros before the start) */
    *start = begin - c->pre_cache;
    *count = len + c->pre_cache;
    *drop = c->drop;
    return 1;
}

/* Features [start, start + count) with zeros before frame 0. */
static float *slice(const float *feats, int F, int64_t start, int64_t count)
{
    float *x = calloc((size_t)(count * F), sizeof(float));
    for (int64_t t = 0; t < count; t++)
        if (start + t >= 0)
            memcpy(x + t * F, feats + (start + t) * F, (size_t)F * sizeof(float));
    return x;
}

static int read_ints(const char *suffix, int32_t *out, int max)
{
    char path[512];
    snprintf(path, sizeof path, "%s/stream/%s%s", SORI_FIXTURE_DIR, NAME, suffix);
    FILE *f = fopen(path, "r");
    int n = 0, v;
    while (f && n < max && fscanf(f, "%d", &v) == 1)
        out[n++] = v;
    if (f)
        fclose(f);
    return n;
}

/* The fixture's signal: tests/fixtures/features/signal.f32 x, then 0.7 x
 * reversed, then 0.5 x (as tools/gen_stream_fixtures.py builds it). */
static float *fixture_signal(int64_t *n)
{
    int64_t n0 = 0;
    float *x = read_f32_fixture(&n0, "%s/features/signal.f32", SORI_FIXTURE_DIR);
    if (!x)
        return NULL;
    float *y = malloc((size_t)(3 * n0) * sizeof(float));
    for (int64_t i = 0; i < n0; i++) {
        y[i] = x[i];
        y[n0 + i] = 0.7f * x[n0 - 1 - i];
        y[2 * n0 + i] = 0.5f * x[i];
    }
    free(x);
    *n = 3 * n0;
    return y;
}

/* Streams x in random chunk sizes (max_chunk 0: at once); the final text. */
static char *stream_text(sori_asr_model *m, sori_asr_stream_mode mode, const float *x, int64_t n, int64_t max_chunk,
                         sori_rng *r)
{
    sori_asr_stream_params p = sori_asr_stream_default_params();
    p.mode = mode;
    p.endpointing = false;
    sori_asr_stream *s = NULL;
    sori_error err = {0};
    CHECK_STATUS(sori_asr_stream_create(m, &p, &s, &err), SORI_OK);
    if (!s)
        return NULL;
    for (int64_t pos = 0; pos < n;) {
        int64_t c = max_chunk ? 1 + (int64_t)(sori_rng_next(r) % (uint64_t)max_chunk) : n;
        if (c > n - pos)
            c = n - pos;
        CHECK_STATUS(sori_asr_stream_accept(s, x + pos, c, 16000, &err), SORI_OK);
        pos += c;
        while (sori_asr_stream_is_ready(s))
            CHECK_STATUS(sori_asr_decode_ready(m, &s, 1, &err), SORI_OK);
    }
    CHECK_STATUS(sori_asr_stream_input_finished(s, &err), SORI_OK);
    while (sori_asr_stream_is_ready(s))
        CHECK_STATUS(sori_asr_decode_ready(m, &s, 1, &err), SORI_OK);
    sori_asr_result *res = NULL;
    CHECK_STATUS(sori_asr_stream_result(s, &res, &err), SORI_OK);
    CHECK(res && res->is_final, "final result");
    char *t = res ? strdup(res->text) : NULL;
    sori_asr_result_free(res);
    sori_asr_stream_free(s);
    return t;
}

/* The public API on the hybrid model: RNN-T (auto) and CTC decoding,
 * offline and cache-aware streaming in any chunking, and many streams in
 * one batched decode_ready. */
static void test_asr_api(sori_runtime *rt, const char *path, const char *want)
{
    int64_t n = 0;
    float *x = fixture_signal(&n);
    CHECK(x != NULL, "signal fixture");
    if (!x)
        return;
    sori_error err = {0};
    sori_rng r;
    sori_rng_seed(&r, test_seed("test_stream"));
    for (int dec = 0; dec < 2; dec++) {
        sori_asr_model_params mp = sori_asr_model_default_params();
        mp.decoder = dec ? SORI_ASR_DECODER_CTC : SORI_ASR_DECODER_AUTO;
        sori_asr_model *m = NULL;
        CHECK_STATUS(sori_asr_model_load(rt, path, &mp, &m, &err), SORI_OK);
        if (!m)
            continue;
        sori_asr_model_info info = sori_asr_model_get_info(m);
        CHECK(info.decoder == (dec ? SORI_ASR_DECODER_CTC : SORI_ASR_DECODER_RNNT) && info.cache_aware &&
                  fabs(info.stream_chunk_ms - 320.0) < 1e-6 && info.stream_state_bytes > 0,
              "model info: decoder %d cache-aware %d chunk %.1f ms", info.decoder, info.cache_aware,
              info.stream_chunk_ms);
        sori_asr_result *off = NULL;
        CHECK_STATUS(sori_asr_transcribe(m, x, n, 16000, &off, &err), SORI_OK);
        if (!dec && off) /* NeMo's RNN-T tokens as text */
            CHECK(strcmp(off->text, want) == 0, "RNN-T offline text '%s', NeMo's tokens say '%s'", off->text, want);
        char *one = stream_text(m, SORI_ASR_STREAM_AUTO, x, n, 0, &r);
        char *rnd1 = stream_text(m, SORI_ASR_STREAM_CACHE_AWARE, x, n, 1000, &r);
        char *rnd2 = stream_text(m, SORI_ASR_STREAM_CACHE_AWARE, x, n, 37, &r);
        CHECK(one && rnd1 && rnd2 && strcmp(one, rnd1) == 0 && strcmp(one, rnd2) == 0,
              "%s cache-aware streaming not chunking-invariant: '%s' / '%s' / '%s'", dec ? "CTC" : "RNN-T",
              one ? one : "", rnd1 ? rnd1 : "", rnd2 ? rnd2 : "");
        CHECK(one && off && strcmp(one, off->text) == 0, "%s: streaming '%s' vs offline '%s'", dec ? "CTC" : "RNN-T",
              one ? one : "", off ? off->text : "");
        printf("  %-6s offline '%s' | cache-aware streaming '%s'\n", dec ? "CTC" : "RNN-T", off ? off->text : "",
               one ? one : "");
        /* buffered streaming of the same model: its windows here start at 0 and reach the end, so the
         * text is the offline text, for either head, in any feeding */
        char *b1 = stream_text(m, SORI_ASR_STREAM_BUFFERED, x, n, 0, &r);
        char *b2 = stream_text(m, SORI_ASR_STREAM_BUFFERED, x, n, 555, &r);
        CHECK(b1 && b2 && off && strcmp(b1, off->text) == 0 && strcmp(b2, off->text) == 0,
              "%s buffered streaming '%s' / '%s' vs offline '%s'", dec ? "CTC" : "RNN-T", b1 ? b1 : "", b2 ? b2 : "",
              off ? off->text : "");
        free(b1);
        free(b2);
        /* four streams in one batched decode_ready, fed unevenly */
        enum { NS = 4 };
        sori_asr_stream *ss[NS] = {0};
        sori_asr_stream_params p = sori_asr_stream_default_params();
        p.endpointing = false;
        int64_t pos[NS] = {0};
        for (int i = 0; i < NS; i++)
            CHECK_STATUS(sori_asr_stream_create(m, &p, &ss[i], &err), SORI_OK);
        for (int round = 0; ss[NS - 1] && round < 100000; round++) {
            int left = 0;
            for (int i = 0; i < NS; i++) {
                int64_t c = 1 + (int64_t)(sori_rng_next(&r) % (uint64_t)(800 * (i + 1)));
                if (c > n - pos[i])
                    c = n - pos[i];
                if (c > 0)
                    CHECK_STATUS(sori_asr_stream_accept(ss[i], x + pos[i], c, 16000, &err), SORI_OK);
                pos[i] += c;
                if (pos[i] == n && c > 0)
                    CHECK_STATUS(sori_asr_stream_input_finished(ss[i], &err), SORI_OK);
                left |= pos[i] < n;
            }
            int any;
            do {
                CHECK_STATUS(sori_asr_decode_ready(m, ss, NS, &err), SORI_OK);
                any = 0;
                for (int i = 0; i < NS; i++)
                    any |= sori_asr_stream_is_ready(ss[i]);
            } while (any);
            if (!left)
                break;
        }
        for (int i = 0; i < NS; i++) {
            sori_asr_result *res = NULL;
            CHECK_STATUS(sori_asr_stream_result(ss[i], &res, &err), SORI_OK);
            CHECK(res && one && res->is_final && strcmp(res->text, one) == 0, "batched stream %d: '%s'", i,
                  res ? res->text : "");
            sori_asr_result_free(res);
            sori_asr_stream_free(ss[i]);
        }
        /* endpointing: the signal three times with 1.6 s pauses; the utterances finalized (and the
         * caches reset between them) are the same in any feeding */
        {
            int64_t gap = 25600, ne = 3 * n + 2 * gap;
            float *xe = calloc((size_t)ne, sizeof(float));
            for (int k = 0; xe && k < 3; k++)
                memcpy(xe + k * (n + gap), x, (size_t)n * sizeof(float));
            for (int64_t i = 0; xe && i < ne; i++)
                xe[i] += 1e-4f * sori_rng_uniform(&r, -1.0f, 1.0f);
            sori_asr_stream_params ep = sori_asr_stream_default_params();
            ep.mode = SORI_ASR_STREAM_CACHE_AWARE;
            char ea[4096], eb[4096];
            int na = 0, nb = 0;
            if (xe) {
                run_endpointed(m, &ep, xe, ne, 0, &r, ea, sizeof ea, &na);
                run_endpointed(m, &ep, xe, ne, 3000, &r, eb, sizeof eb, &nb);
            }
            CHECK(xe && strcmp(ea, eb) == 0, "cache-aware endpointed results depend on feeding:\n %s\n %s", ea, eb);
            CHECK(na >= 2, "%s: only %d utterances: %s", dec ? "CTC" : "RNN-T", na, ea);
            printf("  %-6s cache-aware with endpointing: %d utterances %s\n", dec ? "CTC" : "RNN-T", na, ea);
            free(xe);
        }
        /* 10,000 cache-aware stream create/feed/decode/free cycles: the heap ends where it started
         * (the runtime's slab pool holds the caches; a warm-up cycle first) */
        if (!dec) {
            sori_asr_stream_params cp = sori_asr_stream_default_params();
            struct mallinfo2 before = {0};
            for (int i = -1; i < 10000; i++) {
                if (i == 0)
                    before = mallinfo2();
                sori_asr_stream *cs = NULL;
                if (sori_asr_stream_create(m, &cp, &cs, &err) != SORI_OK)
                    break;
                sori_asr_stream_accept(cs, x, 1000 + (i + 1) % 9000, 16000, &err);
                while (sori_asr_stream_is_ready(cs))
                    sori_asr_decode_ready(m, &cs, 1, &err);
                sori_asr_stream_free(cs);
            }
            struct mallinfo2 after = mallinfo2();
            long grew = (long)after.uordblks - (long)before.uordblks;
            CHECK(grew < 64 * 1024, "heap grew by %ld bytes over 10,000 cache-aware streams", grew);
            printf("  heap change after 10,000 cache-aware streams: %ld bytes\n", grew);
        }
        free(one);
        free(rnd1);
        free(rnd2);
        sori_asr_result_free(off);
        sori_asr_model_free(m);
    }
    free(x);
}

int main(void)
{
    char path[512];
    snprintf(path, sizeof path, "%s/stream/%s.gguf", SORI_FIXTURE_DIR, NAME);
    FILE *probe = fopen(path, "rb");
    if (!probe)
        SKIP("stream fixtures missing (tools/gen_stream_fixtures.py)");
    fclose(probe);
    sori_runtime_params rp = sori_runtime_default_params();
    rp.device = SORI_DEVICE_CPU; /* SORI_TEST_DEVICE=cuda: the same checks on the GPU (tests/gpu/run.sh) */
    const char *dev = getenv("SORI_TEST_DEVICE");
    if (dev && sori_device_parse(dev, &rp.device, &rp.device_index) != SORI_OK) {
        fprintf(stderr, "SORI_TEST_DEVICE '%s'\n", dev);
        return 1;
    }
    sori_runtime *rt = NULL;
    sori_error err = {0};
    if (sori_runtime_create(&rp, &rt, &err) != SORI_OK) {
        if (rp.device != SORI_DEVICE_CPU)
            SKIP("no usable GPU: %s", err.message);
        fprintf(stderr, "%s\n", err.message);
        return 1;
    }
    sori_conformer *m = NULL;
    CHECK_STATUS(sori_conformer_load(rt, path, &m, &err), SORI_OK);
    if (!m) {
        fprintf(stderr, "%s\n", err.message);
        sori_runtime_free(rt);
        return check_finish("test_stream");
    }
    sori_conformer_info in = sori_conformer_get_info(m);
    const int F = in.feat_in, d = in.d_model, V = in.vocab_size + 1;
    CHECK(sori_conformer_has_rnnt(m) && sori_conformer_has_ctc(m), "hybrid: both heads");
    int64_t nf, ne, nl, nse, nsl;
    float *feats = read_f32(".feats.f32", &nf), *enc_ref = read_f32(".enc.f32", &ne);
    float *lp_ref = read_f32(".logp.f32", &nl);
    float *senc_ref = read_f32(".stream.enc.f32", &nse), *slp_ref = read_f32(".stream.logp.f32", &nsl);
    const int64_t frames = nf / F, T = sori_conformer_out_frames(m, frames);
    CHECK(ne == T * d && nl == T * V, "offline fixture: %lld frames out", (long long)T);

    /* offline */
    float *enc = malloc((size_t)(T * d) * 4), *lp = malloc((size_t)(T * V) * 4);
    CHECK_STATUS(sori_conformer_forward(m, feats, frames, enc, lp, &err), SORI_OK);
    compare("offline encoder", enc, enc_ref, T * d);
    compare("offline CTC log-probs", lp, lp_ref, T * V);

    /* RNN-T greedy, offline and in chunks of 3 frames */
    int32_t ref_tok[4096];
    int n_ref = read_ints(".rnnt.txt", ref_tok, 4096);
    CHECK(n_ref > 5, "fixture has %d RNN-T tokens", n_ref);
    for (int chunked = 0; chunked < 2; chunked++) {
        sori_rnnt_state *rs = NULL;
        CHECK_STATUS(sori_rnnt_state_create(m, &rs, &err), SORI_OK);
        sori_rnnt_emit *toks = NULL;
        int64_t n = 0, cap = 0;
        int64_t step = chunked ? 3 : T;
        for (int64_t t0 = 0; t0 < T && rs; t0 += step)
            CHECK_STATUS(sori_rnnt_greedy(rs, enc_ref + t0 * d, t0 + step <= T ? step : T - t0, t0, &toks, &n,
                                          &cap, &err), SORI_OK);
        int same = n == n_ref;
        for (int64_t i = 0; same && i < n; i++)
            same = toks[i].token == ref_tok[i] && toks[i].prob > 0 && toks[i].prob <= 1 &&
                   toks[i].frame >= 0 && toks[i].frame < T && (i == 0 || toks[i].frame >= toks[i - 1].frame);
        CHECK(same, "RNN-T greedy (%s): %lld tokens, NeMo %d", chunked ? "3-frame chunks" : "offline",
              (long long)n, n_ref);
        printf("  RNN-T greedy %-21s %lld tokens, equal to NeMo: %s\n", chunked ? "(3-frame chunks)" : "(offline)",
               (long long)n, same ? "yes" : "NO");
        free(toks);
        sori_rnnt_state_free(rs);
    }

    /* cache-aware streaming, one stream and three at once */
    sori_conformer_stream_cfg sc = sori_conformer_get_stream_cfg(m);
    CHECK(sc.supported && sc.chunk_first == 25 && sc.chunk == 32 && sc.pre_cache == 9 && sc.drop == 2 &&
              sc.cache_len == 12 && sc.out_per_chunk == 4,
          "stream cfg: first %d chunk %d pre %d drop %d cache %d out %d", sc.chunk_first, sc.chunk, sc.pre_cache,
          sc.drop, sc.cache_len, sc.out_per_chunk);
    int32_t steps_ref[256];
    int n_steps_ref = read_ints(".stream.steps.txt", steps_ref, 256) / 2;
    const int64_t TS = nse / d;
    CHECK(nsl == TS * V, "stream fixture sizes");
    enum { NS = 42 }; /* stream 0 alone, 41 more in one call (over the 32 streams of one pass) */
    sori_conformer_cache *caches[NS] = {0};
    for (int s = 0; s < NS; s++)
        CHECK_STATUS(sori_conformer_cache_create(m, &caches[s], &err), SORI_OK);
    float *senc[NS], *slp[NS];
    for (int s = 0; s < NS; s++) {
        senc[s] = calloc((size_t)(TS * d + d), 4);
        slp[s] = calloc((size_t)(TS * V + V), 4);
    }
    int64_t got[NS] = {0}, start = 0, count = 0;
    int drop, k;
    for (k = 0; chunk_of(&sc, frames, k, &start, &count, &drop) && caches[NS - 1]; k++) {
        float *x = slice(feats, F, start, count);
        int64_t out_n[NS];
        /* stream 0 alone; the others together in one batched step */
        const float *xs[NS];
        int64_t cs[NS];
        float *eo[NS], *lo[NS];
        for (int s = 0; s < NS; s++) {
            xs[s] = x, cs[s] = count;
            eo[s] = senc[s] + got[s] * d, lo[s] = slp[s] + got[s] * V;
        }
        CHECK_STATUS(sori_conformer_stream_step(m, 1, caches, xs, cs, drop, eo, lo, out_n, &err), SORI_OK);
        CHECK_STATUS(sori_conformer_stream_step(m, NS - 1, caches + 1, xs, cs, drop, eo + 1, lo + 1, out_n + 1, &err),
                     SORI_OK);
        CHECK(k < n_steps_ref && steps_ref[2 * k] == count && steps_ref[2 * k + 1] == out_n[0],
              "step %d: %lld frames in, %lld out; NeMo %d, %d", k, (long long)count, (long long)out_n[0],
              k < n_steps_ref ? steps_ref[2 * k] : -1, k < n_steps_ref ? steps_ref[2 * k + 1] : -1);
        for (int s = 0; s < NS; s++) {
            got[s] += out_n[s];
            if (got[s] > TS)
                got[s] = TS; /* a wrong count is reported above; stay inside the buffers */
        }
        free(x);
    }
    CHECK(k == n_steps_ref && got[0] == TS, "%d steps and %lld frames; NeMo %d and %lld", k, (long long)got[0],
          n_steps_ref, (long long)TS);
    compare("streaming encoder (1 stream)", senc[0], senc_ref, TS * d);
    compare("streaming CTC log-probs (1 stream)", slp[0], slp_ref, TS * V);
    /* NeMo's own streaming equals its offline forward with the same chunked masks here (the
     * pre-encode cache covers the subsampling's receptive field), and so must sori's */
    CHECK(TS == T, "streaming gives %lld frames, offline %lld", (long long)TS, (long long)T);
    compare("streaming encoder vs offline (NeMo)", senc[0], enc_ref, (TS < T ? TS : T) * d);
    compare("streaming encoder (batch of 41, #1)", senc[1], senc_ref, TS * d);
    compare("streaming encoder (batch of 41, #41)", senc[NS - 1], senc_ref, TS * d);
    for (int s = 2; s < NS - 1; s++) {
        double rel, mx;
        sori_compare(senc[s], senc_ref, TS * d, &rel, &mx);
        CHECK(rel <= 1e-4 && mx <= 1e-3, "batch of 41, stream %d: rel %.2e max %.2e", s, rel, mx);
    }
    /* a reset cache starts over: the first step again */
    CHECK_STATUS(sori_conformer_cache_reset(caches[0], &err), SORI_OK);
    {
        chunk_of(&sc, frames, 0, &start, &count, &drop);
        float *x = slice(feats, F, start, count), *e = malloc((size_t)(TS * d) * 4);
        const float *xs[1] = {x};
        float *eo[1] = {e};
        int64_t on = 0;
        CHECK_STATUS(sori_conformer_stream_step(m, 1, caches, xs, &count, 0, eo, NULL, &on, &err), SORI_OK);
        compare("first step after reset", e, senc_ref, on * d);
        free(x);
        free(e);
    }
    /* misuse */
    {
        const float *xs[1] = {feats};
        int64_t c1 = 0;
        float *eo[1] = {enc};
        CHECK(sori_conformer_stream_step(m, 1, caches, xs, &c1, 0, eo, NULL, NULL, &err) == SORI_ERR_INVALID_ARG,
              "zero frames refused");
        sori_conformer_cache *none[1] = {NULL};
        c1 = 10;
        CHECK(sori_conformer_stream_step(m, 1, none, xs, &c1, 0, eo, NULL, NULL, &err) == SORI_ERR_INVALID_ARG,
              "NULL cache refused");
    }
    printf("  per-stream state: encoder cache %zu bytes, RNN-T state %zu bytes\n", sori_conformer_cache_bytes(m),
           sori_rnnt_state_bytes(m));
    {
        char want[2048] = "";
        size_t len = 0;
        for (int i = 0; i < n_ref; i++) { /* SentencePiece: "▁" starts a word */
            const char *t = sori_conformer_token(m, ref_tok[i]);
            if (!t)
                continue;
            if (strncmp(t, "\xe2\x96\x81", 3) == 0) {
                if (len && len < sizeof want - 1)
                    want[len++] = ' ';
                t += 3;
            }
            size_t k = strlen(t);
            if (len + k < sizeof want) {
                memcpy(want + len, t, k);
                len += k;
            }
            want[len] = 0;
        }
        test_asr_api(rt, path, want);
    }
    for (int s = 0; s < NS; s++) {
        sori_conformer_cache_free(caches[s]);
        free(senc[s]);
        free(slp[s]);
    }
    free(enc);
    free(lp);
    free(feats);
    free(enc_ref);
    free(lp_ref);
    free(senc_ref);
    free(slp_ref);
    sori_conformer_free(m);
    sori_runtime_free(rt);
    return check_finish("test_stream");
}
