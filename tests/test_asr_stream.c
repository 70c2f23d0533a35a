/* Buffered streaming ASR on the golden fixture model: the same audio fed in
 * any chunking gives the same result; one window covering the utterance
 * gives the offline result; a batched decode of several streams equals
 * decoding them one by one; other rates are resampled; 10,000 stream
 * create/free cycles leave the heap where it started; misuse is refused. */
#include <malloc.h>
#include <math.h>
#include <string.h>

#include "asr_util.h"
#include "check.h"
#include "kernels/opcheck.h"
#include "sori/asr.h"

static float *read_f32(const char *rel, int64_t *n)
{
    return read_f32_fixture(n, "%s/%s", SORI_FIXTURE_DIR, rel);
}

/* Streams x in chunks of random sizes (max_chunk 0: all at once), decoding
 * as chunks become ready; the final result. */
static sori_asr_result *run_stream(sori_asr_model *m, const sori_asr_stream_params *p, const float *x,
                                   int64_t n, int rate, int64_t max_chunk, sori_rng *r)
{
    sori_asr_stream *s = NULL;
    sori_error err = {0};
    sori_asr_result *res = NULL;
    CHECK_STATUS(sori_asr_stream_create(m, p, &s, &err), SORI_OK);
    if (!s)
        return NULL;
    int64_t pos = 0;
    while (pos < n) {
        int64_t c = max_chunk ? 1 + (int64_t)(sori_rng_next(r) % (uint64_t)max_chunk) : n;
        if (c > n - pos)
            c = n - pos;
        CHECK_STATUS(sori_asr_stream_accept(s, x + pos, c, rate, &err), SORI_OK);
        pos += c;
        while (sori_asr_stream_is_ready(s))
            CHECK_STATUS(sori_asr_decode_ready(m, &s, 1, &err), SORI_OK);
        if (sori_rng_int(r, 0, 3) == 0) { /* a partial result now and then */
            sori_asr_result *part = NULL;
            CHECK_STATUS(sori_asr_stream_result(s, &part, &err), SORI_OK);
            CHECK(part && !part->is_final, "partial result marked final");
            sori_asr_result_free(part);
        }
    }
    CHECK_STATUS(sori_asr_stream_input_finished(s, &err), SORI_OK);
    while (sori_asr_stream_is_ready(s))
        CHECK_STATUS(sori_asr_decode_ready(m, &s, 1, &err), SORI_OK);
    CHECK_STATUS(sori_asr_stream_result(s, &res, &err), SORI_OK);
    CHECK(res && res->is_final, "final result");
    CHECK_STATUS(sori_asr_stream_accept(s, x, 10, rate, &err), SORI_ERR_STATE);
    sori_asr_stream_free(s);
    return res;
}

static int same(const sori_asr_result *a, const sori_asr_result *b)
{
    if (!a || !b || strcmp(a->text, b->text) != 0 || a->n_words != b->n_words)
        return 0;
    for (int i = 0; i < a->n_words; i++)
        if (a->words[i].start_s != b->words[i].start_s || a->words[i].end_s != b->words[i].end_s)
            return 0;
    return 1;
}

int main(void)
{
    uint64_t seed = test_seed("test_asr_stream");
    sori_rng r;
    sori_rng_seed(&r, seed);
    sori_runtime_params rp = sori_runtime_default_params();
    rp.device = SORI_DEVICE_CPU;
    rp.pool_bytes = 1 << 16;
    sori_runtime *rt = NULL;
    sori_error err = {0};
    CHECK_STATUS(sori_runtime_create(&rp, &rt, &err), SORI_OK);
    int64_t n0 = 0;
    float *sig = read_f32("features/signal.f32", &n0);
    if (!sig || !rt)
        SKIP("fixtures missing");
    /* three copies of the test signal: about 2.3 s */
    int64_t n = 3 * n0;
    float *x = malloc((size_t)n * sizeof(float));
    for (int k = 0; k < 3; k++)
        memcpy(x + k * n0, sig, (size_t)n0 * sizeof(float));
    sori_asr_model *m = NULL;
    sori_asr_model_params mp = sori_asr_model_default_params();
    CHECK_STATUS(sori_asr_model_load(rt, SORI_FIXTURE_DIR "/conformer/ctc_striding4.gguf", &mp, &m, &err), SORI_OK);
    if (!m)
        return check_finish("test_asr_stream");

    sori_asr_stream_params p = {.chunk_ms = 400, .left_context_ms = 800, .right_context_ms = 400};
    sori_asr_result *whole = run_stream(m, &p, x, n, 16000, 0, &r);
    for (int rep = 0; rep < 3; rep++) {
        sori_asr_result *parts = run_stream(m, &p, x, n, 16000, rep == 0 ? 7 : 4000, &r);
        CHECK(same(whole, parts), "chunking changed the result: '%s' vs '%s'", whole ? whole->text : "?",
              parts ? parts->text : "?");
        sori_asr_result_free(parts);
    }
    printf("  buffered streaming (400 ms chunks): '%s'\n", whole ? whole->text : "?");
    CHECK(whole && fabs(whole->duration_s - (double)n / 16000) < 1e-9, "duration");

    /* one window over the whole utterance is the offline transcription */
    sori_asr_stream_params wide = {.chunk_ms = 4000, .left_context_ms = 0, .right_context_ms = 0};
    sori_asr_result *one = run_stream(m, &wide, x, n, 16000, 3000, &r), *off = NULL;
    CHECK_STATUS(sori_asr_transcribe(m, x, n, 16000, &off, &err), SORI_OK);
    CHECK(same(one, off), "one window '%s' vs offline '%s'", one ? one->text : "?", off ? off->text : "?");
    sori_asr_result_free(one);
    sori_asr_result_free(off);

    /* three streams decoded together equal each decoded alone */
    {
        sori_asr_stream *s[3] = {0};
        int64_t lens[3] = {n, n0, 2 * n0 + 777};
        for (int i = 0; i < 3; i++) {
            CHECK_STATUS(sori_asr_stream_create(m, &p, &s[i], &err), SORI_OK);
            CHECK_STATUS(sori_asr_stream_accept(s[i], x, lens[i], 16000, &err), SORI_OK);
            CHECK_STATUS(sori_asr_stream_input_finished(s[i], &err), SORI_OK);
        }
        for (int guard = 0; guard < 100 && (sori_asr_stream_is_ready(s[0]) || sori_asr_stream_is_ready(s[1]) ||
                                           sori_asr_stream_is_ready(s[2])); guard++)
            CHECK_STATUS(sori_asr_decode_ready(m, s, 3, &err), SORI_OK);
        for (int i = 0; i < 3; i++) {
            sori_asr_result *a = NULL, *b = run_stream(m, &p, x, lens[i], 16000, 0, &r);
            CHECK_STATUS(sori_asr_stream_result(s[i], &a, &err), SORI_OK);
            CHECK(same(a, b), "stream %d batched '%s' vs alone '%s'", i, a ? a->text : "?", b ? b->text : "?");
            sori_asr_result_free(a);
            sori_asr_result_free(b);
            sori_asr_stream_free(s[i]);
        }
    }
    /* 8 kHz input */
    int64_t n8 = n / 2;
    float *x8 = malloc((size_t)n8 * sizeof(float));
    for (int64_t i = 0; i < n8; i++)
        x8[i] = x[2 * i];
    sori_asr_result *r8 = run_stream(m, &p, x8, n8, 8000, 1000, &r);
    CHECK(r8 && fabs(r8->duration_s - (double)n8 / 8000) < 0.01, "8 kHz stream duration %f", r8 ? r8->duration_s : -1);
    sori_asr_result_free(r8);

    /* endpointing: the test signal, 1.6 s of quiet, the signal again, quiet,
     * the signal: utterances finalized at the pauses, the same in any chunking */
    {
        int64_t gap = 25600, ne = 3 * n0 + 2 * gap;
        float *xe = calloc((size_t)ne, sizeof(float));
        for (int k = 0; k < 3; k++)
            memcpy(xe + k * (n0 + gap), sig, (size_t)n0 * sizeof(float));
        for (int64_t i = 0; i < ne; i++) /* a faint noise floor in the pauses */
            xe[i] += 1e-4f * sori_rng_uniform(&r, -1.0f, 1.0f);
        char a[4096], b[4096];
        int na = 0, nb = 0;
        sori_asr_stream_params ep = sori_asr_stream_default_params();
        ep.chunk_ms = 400;
        ep.left_context_ms = 800;
        ep.right_context_ms = 400;
        run_endpointed(m, &ep, xe, ne, 0, &r, a, sizeof a, &na);
        run_endpointed(m, &ep, xe, ne, 3000, &r, b, sizeof b, &nb);
        CHECK(strcmp(a, b) == 0, "endpointed results depend on chunking:\n %s\n %s", a, b);
        CHECK(na >= 2, "only %d utterances: %s", na, a);
        printf("  endpointed: %d utterances %s\n", na, a);
        free(xe);
    }

    /* 10,000 create/feed/free cycles: the heap ends where it started */
    struct mallinfo2 before = mallinfo2();
    for (int i = 0; i < 10000; i++) {
        sori_asr_stream *s = NULL;
        if (sori_asr_stream_create(m, &p, &s, &err) != SORI_OK)
            break;
        sori_asr_stream_accept(s, x, 1000 + i % 5000, 16000, &err);
        sori_asr_stream_free(s);
    }
    struct mallinfo2 after = mallinfo2();
    long grew = (long)after.uordblks - (long)before.uordblks;
    CHECK(grew < 64 * 1024, "heap grew by %ld bytes over 10,000 streams", grew);
    printf("  heap change after 10,000 streams: %ld bytes\n", grew);

    /* misuse */
    sori_asr_stream *s = NULL;
    sori_asr_stream_params bad = {.chunk_ms = 30, .left_context_ms = 0, .right_context_ms = 0};
    CHECK_STATUS(sori_asr_stream_create(m, &bad, &s, &err), SORI_ERR_INVALID_ARG);
    CHECK_STATUS(sori_asr_stream_create(m, &p, &s, &err), SORI_OK);
    CHECK_STATUS(sori_asr_stream_accept(s, x, 100, 16000, &err), SORI_OK);
    CHECK_STATUS(sori_asr_stream_accept(s, x, 100, 8000, &err), SORI_ERR_INVALID_ARG);
    float nan_x[4] = {0, NAN, 0, 0};
    CHECK_STATUS(sori_asr_stream_accept(s, nan_x, 4, 16000, &err), SORI_ERR_INVALID_ARG);
    sori_asr_stream_free(s);
    sori_asr_stream_free(NULL);
    CHECK_STATUS(sori_asr_decode_ready(m, NULL, 2, &err), SORI_ERR_INVALID_ARG);

    sori_asr_result_free(whole);
    sori_asr_model_free(m);
    free(x);
    free(x8);
    free(sig);
    sori_runtime_free(rt);
    return check_finish("test_asr_stream");
}
