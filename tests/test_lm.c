/* Transformer LMs (sori/lm.h) against Hugging Face transformers: tiny
 * random-weight models of each architecture (gemma3, llama, qwen2, qwen3;
 * fixtures by tools/gen_lm_fixtures.py) give the logits transformers gives
 * for the same tokens with the same (dequantized) weights: rel-L2 <= 1e-4
 * per position with f32 weights; 5e-2 and the top-1 token equal at all but
 * 3 of 24 positions with q8_0 and q5_0 weights, whose products take 8-bit
 * activations as llama.cpp's do (random tiny models are harsher on that than
 * trained ones: test_lm_gemma holds the real file to llama.cpp). The same
 * logits come out whether the tokens go in at once, in pieces through the
 * KV cache, or in two sequences side by side; scoring equals the
 * log-softmax of those logits; bad calls and bad files are refused. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "heap.h"
#include "sori/lm.h"

#ifndef SORI_FIXTURE_DIR
#define SORI_FIXTURE_DIR "tests/fixtures"
#endif

static const char *ARCHS[] = {"gemma3", "llama", "qwen2", "qwen3"};

typedef struct {
    int n, vocab;
    int32_t *ids;
    float *logits;
} ref_logits;

static int read_ref(const char *arch, const char *type, ref_logits *r)
{
    char path[512];
    snprintf(path, sizeof path, "%s/lm/%s.%s.logits", SORI_FIXTURE_DIR, arch, type);
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    int32_t hdr[2];
    int ok = fread(hdr, 4, 2, f) == 2 && hdr[0] > 0 && hdr[0] <= 64 && hdr[1] > 0 && hdr[1] <= 4096;
    if (ok) {
        r->n = hdr[0];
        r->vocab = hdr[1];
        r->ids = malloc(sizeof(int32_t) * r->n);
        r->logits = malloc(sizeof(float) * r->n * r->vocab);
        ok = r->ids && r->logits && fread(r->ids, 4, (size_t)r->n, f) == (size_t)r->n &&
             fread(r->logits, 4, (size_t)r->n * r->vocab, f) == (size_t)r->n * r->vocab;
    }
    fclose(f);
    return ok;
}

static double rel_l2(const float *a, const float *b, int n)
{
    double d = 0, s = 0;
    for (int i = 0; i < n; i++) {
        d += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
        s += (double)b[i] * b[i];
    }
    return sqrt(d / (s + 1e-30));
}

/* the logits of every position: all tokens in one call, or in pieces of `piece` */
static int decode_all(sori_lm_session *s, const ref_logits *r, int piece, int seq, float *out)
{
    sori_error err = {0};
    sori_lm_token t[64];
    for (int p0 = 0; p0 < r->n; p0 += piece) {
        int c = r->n - p0 < piece ? r->n - p0 : piece;
        for (int i = 0; i < c; i++)
            t[i] = (sori_lm_token){r->ids[p0 + i], p0 + i, seq, true};
        if (sori_lm_decode(s, t, c, out + (size_t)p0 * r->vocab, &err) != SORI_OK) {
            fprintf(stderr, "decode: %s\n", err.message);
            return 0;
        }
    }
    return 1;
}

static void test_arch(sori_runtime *rt, const char *arch)
{
    static const char *types[] = {"f32", "q8_0", "q5_0"};
    for (int quant = 0; quant < 3; quant++) {
        ref_logits r = {0};
        CHECK(read_ref(arch, types[quant], &r), "%s %s: reference logits", arch, types[quant]);
        if (!r.ids)
            continue;
        char path[512];
        snprintf(path, sizeof path, "%s/lm/%s.%s.gguf", SORI_FIXTURE_DIR, arch, types[quant]);
        sori_lm *lm = NULL;
        sori_error err = {0};
        CHECK_STATUS(sori_lm_load(rt, path, &lm, &err), SORI_OK);
        if (!lm) {
            fprintf(stderr, "%s: %s\n", path, err.message);
            continue;
        }
        const sori_lm_info info = sori_lm_get_info(lm);
        CHECK(strcmp(info.architecture, arch) == 0 && info.n_vocab == r.vocab, "%s: info %s %d", arch,
              info.architecture, info.n_vocab);
        sori_lm_session_params sp = sori_lm_session_default_params();
        sp.n_ctx = 64;
        sp.n_seq = 2;
        sori_lm_session *s = NULL;
        CHECK_STATUS(sori_lm_session_create(lm, &sp, &s, &err), SORI_OK);
        float *all = malloc(sizeof(float) * r.n * r.vocab), *pieces = malloc(sizeof(float) * r.n * r.vocab);
        if (s && decode_all(s, &r, 64, 0, all)) {
            const double tol = quant ? 5e-2 : 1e-4;
            double worst = 0;
            int top1 = 0;
            for (int p = 0; p < r.n; p++) {
                const float *a = all + (size_t)p * r.vocab, *b = r.logits + (size_t)p * r.vocab;
                worst = fmax(worst, rel_l2(a, b, r.vocab));
                int ia = 0, ib = 0;
                for (int v = 1; v < r.vocab; v++) {
                    ia = a[v] > a[ia] ? v : ia;
                    ib = b[v] > b[ib] ? v : ib;
                }
                top1 += ia == ib;
            }
            CHECK(worst <= tol, "%s %s: logits rel-L2 %.3g vs transformers (tolerance %g)", arch, types[quant],
                  worst, tol);
            CHECK(top1 >= r.n - (quant ? 3 : 0), "%s %s: top-1 equal at %d of %d positions", arch, types[quant],
                  top1, r.n);
            printf("%-6s %-4s: logits vs transformers: rel-L2 %.2g, top-1 equal %d/%d\n", arch, types[quant], worst,
                   top1, r.n);
            /* through the cache: pieces of 5 tokens in sequence 1, then one by one in sequence 0 (a few
             * rows: q5_0 takes the 8-bit dot products there, so it is held to its tolerance) */
            for (int piece = 5; piece >= 1; piece -= 4) {
                const int ok = decode_all(s, &r, piece, piece == 5, pieces);
                double w = 0;
                for (int p = 0; ok && p < r.n; p++)
                    w = fmax(w, rel_l2(pieces + (size_t)p * r.vocab, r.logits + (size_t)p * r.vocab, r.vocab));
                CHECK(ok && w <= tol, "%s %s: pieces of %d: rel-L2 %.3g vs transformers", arch, types[quant], piece, w);
                CHECK(quant || rel_l2(pieces, all, r.n * r.vocab) <= 1e-5,
                      "%s %s: pieces of %d differ from one call", arch, types[quant], piece);
                if (piece == 1)
                    printf("%-6s %-4s: token by token: rel-L2 %.2g\n", arch, types[quant], w);
            }
            /* scoring: the prefix of 3 tokens, two continuations */
            const int32_t *hyps[2] = {r.ids + 3, r.ids + 5};
            int n_hyp[2] = {r.n - 3, 4};
            double lp[2];
            CHECK_STATUS(sori_lm_score(s, r.ids, 3, hyps, n_hyp, 2, lp, &err), SORI_OK);
            double want = 0;
            for (int p = 2; p + 1 < r.n; p++) {
                const float *row = all + (size_t)p * r.vocab;
                double mx = -INFINITY, sum = 0;
                for (int v = 0; v < r.vocab; v++)
                    mx = fmax(mx, row[v]);
                for (int v = 0; v < r.vocab; v++)
                    sum += exp(row[v] - mx);
                want += row[r.ids[p + 1]] - mx - log(sum);
            }
            /* (quantized: a pass of fewer than 16 rows rounds its activations to 8 bits for integer dot
             * products, as llama.cpp does, a larger one widens the weights to f32 for the packed product
             * where the CPU has AVX-512: passes of other sizes differ by that rounding, measured at
             * 0.02 nats a token on these models, so 0.05 a token is allowed; f32 weights: only the
             * summation order differs) */
#define SCORE_TOL(n_tok, ref) (quant ? 1e-3 * fabs(ref) + 0.05 * (n_tok) : 1e-5 * fabs(ref) + 1e-4)
            CHECK(fabs(lp[0] - want) <= SCORE_TOL(r.n - 3, want),
                  "%s %s: score %.6f, from the logits %.6f", arch, types[quant], lp[0], want);
            CHECK(isfinite(lp[1]) && lp[1] < 0, "%s: second hypothesis scored %.4f", arch, lp[1]);
            /* an N-best-like list that shares its tokens (the same hypothesis twice, a shorter one inside
             * it, one that leaves it after 6 tokens): scored through the shared path, each as alone */
            int32_t alt[64];
            memcpy(alt, r.ids + 3, sizeof(int32_t) * (size_t)(r.n - 3));
            alt[6] = (alt[6] + 7) % r.vocab;
            const int32_t *nb[4] = {r.ids + 3, r.ids + 3, alt, r.ids + 3};
            int n_nb[4] = {r.n - 3, 10, r.n - 3, r.n - 3};
            double lpn[4], single[4];
            CHECK_STATUS(sori_lm_score(s, r.ids, 3, nb, n_nb, 4, lpn, &err), SORI_OK);
            for (int h = 0; h < 4; h++)
                CHECK_STATUS(sori_lm_score(s, r.ids, 3, &nb[h], &n_nb[h], 1, &single[h], &err), SORI_OK);
            for (int h = 0; h < 4; h++)
                CHECK(fabs(lpn[h] - single[h]) <= SCORE_TOL(n_nb[h], single[h]),
                      "%s %s: shared N-best hypothesis %d scored %.6f, alone %.6f", arch, types[quant], h, lpn[h],
                      single[h]);
            CHECK(fabs(lpn[0] - want) <= SCORE_TOL(r.n - 3, want) && lpn[0] == lpn[3],
                  "%s %s: shared N-best %.6f / %.6f, from the logits %.6f", arch, types[quant], lpn[0], lpn[3], want);
#undef SCORE_TOL
        }
        /* bad calls */
        sori_lm_token bad = {r.vocab + 5, 0, 0, false};
        CHECK_STATUS(sori_lm_decode(s, &bad, 1, NULL, &err), SORI_ERR_INVALID_ARG);
        bad = (sori_lm_token){5, 64, 0, false};
        CHECK_STATUS(sori_lm_decode(s, &bad, 1, NULL, &err), SORI_ERR_INVALID_ARG);
        CHECK(strstr(err.message, "context") != NULL, "message: %s", err.message);
        bad = (sori_lm_token){5, 0, 2, true};
        CHECK_STATUS(sori_lm_decode(s, &bad, 1, all, &err), SORI_ERR_INVALID_ARG);
        free(all);
        free(pieces);
        sori_lm_session_free(s);
        sori_lm_free(lm);
        free(r.ids);
        free(r.logits);
    }
}

/* sampling: greedy cases, the distribution at two temperatures, top-k, top-p, the seed */
static void test_sampling(void)
{
    enum { V = 6, DRAWS = 40000 };
    const float p0[V] = {0.5f, 0.3f, 0.2f, 1e-9f, 1e-9f, 1e-9f};
    float lg[V], sf[V];
    int32_t si[V];
    for (int v = 0; v < V; v++)
        lg[v] = logf(p0[v]) + 3.0f; /* any offset */
    uint64_t rng = 42;
    sori_lm_sampling g = {0.0f, 0, 1.0f}, k1 = {1.0f, 1, 1.0f};
    CHECK(sori_lm_sample(lg, V, &g, &rng, sf, si) == 0 && sori_lm_sample(lg, V, &k1, &rng, sf, si) == 0 &&
              sori_lm_sample(lg, V, NULL, NULL, NULL, NULL) == 0,
          "greedy picks the largest");
    const struct {
        sori_lm_sampling p;
        double want[3];
    } cases[] = {
        {{1.0f, 0, 1.0f}, {0.5, 0.3, 0.2}},
        {{2.0f, 0, 1.0f}, {0.7071 / 1.7020, 0.5477 / 1.7020, 0.4472 / 1.7020}},
        {{1.0f, 2, 1.0f}, {0.625, 0.375, 0.0}},
        {{1.0f, 0, 0.6f}, {0.625, 0.375, 0.0}},
    };
    for (int c = 0; c < 4; c++) {
        int count[V] = {0};
        rng = 7;
        for (int d = 0; d < DRAWS; d++) {
            const int32_t t = sori_lm_sample(lg, V, &cases[c].p, &rng, sf, si);
            if (t >= 0 && t < V)
                count[t]++;
        }
        for (int v = 0; v < 3; v++)
            CHECK(fabs((double)count[v] / DRAWS - cases[c].want[v]) < 0.015, "case %d: token %d drawn %.3f, want %.3f",
                  c, v, (double)count[v] / DRAWS, cases[c].want[v]);
        CHECK(count[3] + count[4] + count[5] == 0, "case %d: a token of probability 1e-9 drawn %d times", c,
              count[3] + count[4] + count[5]);
    }
    uint64_t a = 99, b = 99;
    int same = 1;
    for (int d = 0; d < 100; d++)
        same &= sori_lm_sample(lg, V, &cases[0].p, &a, sf, si) == sori_lm_sample(lg, V, &cases[0].p, &b, sf, si);
    CHECK(same, "the same seed draws the same tokens");
}

/* 1,000 scoring calls, and 1,000 sessions made and freed (what each rescored
 * utterance does), end with the heap where it was after the first ones */
static void test_no_growth(sori_runtime *rt)
{
#ifdef HAVE_HEAP_COUNT
    char path[512];
    snprintf(path, sizeof path, "%s/lm/llama.f32.gguf", SORI_FIXTURE_DIR);
    sori_lm *lm = NULL;
    sori_error err = {0};
    CHECK_STATUS(sori_lm_load(rt, path, &lm, &err), SORI_OK);
    if (!lm)
        return;
    sori_lm_session_params sp = sori_lm_session_default_params();
    sp.n_ctx = 64;
    sp.n_seq = 4;
    const int32_t prefix[1] = {2}, h0[5] = {10, 20, 30, 40, 50}, h1[5] = {10, 20, 31, 41, 51};
    const int32_t *hyps[3] = {h0, h1, h0};
    const int n_hyp[3] = {5, 5, 3};
    double lp[3];
    size_t base = 0;
    int ok = 1;
    for (int i = 0; i < 1010 && ok; i++) {
        if (i == 10)
            base = heap_in_use();
        sori_lm_session *s = NULL;
        ok = sori_lm_session_create(lm, &sp, &s, &err) == SORI_OK &&
             sori_lm_score(s, prefix, 1, hyps, n_hyp, 3, lp, &err) == SORI_OK;
        sori_lm_session_free(s);
    }
    CHECK(ok, "1,000 sessions scored: %s", err.message);
    const size_t after = heap_in_use();
    CHECK(after <= base, "heap in use %zu bytes after 1,000 scored sessions, %zu after the first 10", after, base);
    sori_lm_session *s = NULL;
    CHECK_STATUS(sori_lm_session_create(lm, &sp, &s, &err), SORI_OK);
    for (int i = 0; i < 1010 && s; i++) {
        if (i == 10)
            base = heap_in_use();
        ok &= sori_lm_score(s, prefix, 1, hyps, n_hyp, 3, lp, &err) == SORI_OK;
    }
    CHECK(ok && heap_in_use() == base, "1,000 scoring calls in one session changed the heap by %lld bytes",
          (long long)heap_in_use() - (long long)base);
    sori_lm_session_free(s);
    sori_lm_free(lm);
#else
    (void)rt;
    printf("heap counting: not under a sanitizer's allocator (checked in the plain build)\n");
#endif
}

static int count_empty_pieces(const sori_lm *lm)
{
    const sori_lm_info info = sori_lm_get_info(lm);
    int empty = 0;
    for (int32_t t = 0; t < info.n_vocab; t++) {
        char piece[64];
        empty += sori_lm_token_piece(lm, t, piece, sizeof piece) == 0;
    }
    return empty;
}

/* Byte tokens whose text is not "<0xHH>" (a signed or non-hex number, as a
 * fuzzer wrote): the file loads or is refused, and such a token stands for
 * no byte (it once indexed the byte table with -4). */
static void test_bad_byte_tokens(sori_runtime *rt, const char *path)
{
    static const char *const bad[] = {"<0x-4>", "<0x+1>", "<0x 1>", "<0xG0>"};
    FILE *f = fopen(path, "rb");
    if (!f)
        return;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *data = malloc((size_t)size);
    size_t got = data ? fread(data, 1, (size_t)size, f) : 0;
    fclose(f);
    CHECK(got == (size_t)size, "read %s", path);
    int empty0 = -1; /* tokens that spell nothing in the file as it is */
    sori_lm *orig = NULL;
    sori_error err0 = {0};
    if (got == (size_t)size && sori_lm_load_memory(rt, data, (size_t)size, &orig, &err0) == SORI_OK) {
        empty0 = count_empty_pieces(orig);
        sori_lm_free(orig);
    }
    CHECK(empty0 >= 0, "the fixture loads: %s", err0.message);
    for (size_t k = 0; got == (size_t)size && k < sizeof bad / sizeof *bad; k++) {
        char *copy = malloc((size_t)size);
        memcpy(copy, data, (size_t)size);
        int replaced = 0;
        for (long i = 0; i + 6 <= size; i++)
            if (memcmp(copy + i, "<0x", 3) == 0 && copy[i + 5] == '>') {
                memcpy(copy + i, bad[k], 6);
                replaced++;
            }
        CHECK(replaced > 0, "the fixture has byte tokens");
        sori_lm *lm = NULL;
        sori_error err = {0};
        sori_status st = sori_lm_load_memory(rt, copy, (size_t)size, &lm, &err);
        CHECK(st == SORI_OK || st == SORI_ERR_FORMAT, "bad byte tokens %s: status %d", bad[k], (int)st);
        if (lm) {
            int32_t tok[64];
            int n = 0;
            /* bytes no token spells any more: tokenizing them must still end cleanly */
            CHECK_STATUS(sori_lm_tokenize(lm, "\x01\xfc", 2, false, false, tok, 64, &n, &err), SORI_OK);
            const int empty = count_empty_pieces(lm);
            CHECK(empty == empty0 + replaced, "broken byte tokens spell nothing: %d empty, %d before + %d broken",
                  empty, empty0, replaced);
            sori_lm_free(lm);
        }
        free(copy);
    }
    free(data);
}

static void test_bad_files(sori_runtime *rt)
{
    sori_lm *lm = NULL;
    sori_error err = {0};
    CHECK_STATUS(sori_lm_load(rt, "/nonexistent/model.gguf", &lm, &err), SORI_ERR_IO);
    CHECK(lm == NULL, "no model on failure");
    /* an ASR model is not an LM: refused by architecture name */
    char path[512];
    snprintf(path, sizeof path, "%s/silero/silero_tiny.gguf", SORI_FIXTURE_DIR);
    FILE *f = fopen(path, "rb");
    if (f) {
        fclose(f);
        sori_status st = sori_lm_load(rt, path, &lm, &err);
        CHECK(st == SORI_ERR_UNSUPPORTED || st == SORI_ERR_FORMAT, "an ASR file loads as an LM: %d", (int)st);
    }
    /* a truncated LM file */
    snprintf(path, sizeof path, "%s/lm/llama.f32.gguf", SORI_FIXTURE_DIR);
    f = fopen(path, "rb");
    if (!f)
        return;
    char buf[60000];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    const char *tmp = "test_lm_truncated.gguf";
    FILE *o = fopen(tmp, "wb");
    if (o) {
        fwrite(buf, 1, n / 2, o);
        fclose(o);
        CHECK_STATUS(sori_lm_load(rt, tmp, &lm, &err), SORI_ERR_FORMAT);
        remove(tmp);
    }
    test_bad_byte_tokens(rt, path);
}

int main(void)
{
    sori_runtime_params p = sori_runtime_default_params();
    p.device = SORI_DEVICE_CPU;
    p.n_threads = 2;
    p.pool_bytes = 1 << 20;
    sori_runtime *rt = NULL;
    sori_error err = {0};
    CHECK_STATUS(sori_runtime_create(&p, &rt, &err), SORI_OK);
    if (!rt)
        return check_finish("test_lm");
    for (int i = 0; i < 4; i++)
        test_arch(rt, ARCHS[i]);
    test_bad_files(rt);
    test_sampling();
    test_no_growth(rt);
    sori_runtime_free(rt);
    return check_finish("test_lm");
}
