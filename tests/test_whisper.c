/* Whisper against openai-whisper (tools/gen_whisper_fixtures.py):
 *  - the log-mel spectrogram of 3 s of the bundled sample padded by 1 s,
 *    80 and 128 bins, max-abs difference <= 1e-4;
 *  - two models with every parameter random (tests/whisper_rand.h makes
 *    the same weights as the fixture script), tiny's widths with 80 and 128
 *    mels: the encoder output and the decoder's logits (rel-L2 <= 1e-4),
 *    greedy and beam-5 tokens equal to openai-whisper's decode();
 *  - the session state: a second state gives the same output, the pool is
 *    whole again after they are freed, misuse refused;
 *  - a long file read as it is decoded equals the same samples read whole;
 *  - the throughput mode's chunks (at most 30 s, merged), 1 or 3 windows at once;
 *  - memory: 10,000 sessions made and freed, and 1,000 utterances through
 *    one session, end with the pool and the heap where they began.
 * Fixtures come from the script; the weights are never committed. */
#include <math.h>
#include <string.h>

#include <malloc.h>

#include "asr/whisper.h"
#include "asr/whisper_decode.h"
#include "asr/whisper_transcribe.h"
#include "check.h"
#include "kernels/gguf.h"
#include "kernels/reference.h"
#include "lm/bpe.h"
#include "sori/asr.h"
#include "sori/audio.h"
#include "sori/features.h"
#include "sori/runtime.h"
#include "whisper_rand.h"

/* SORI_WHISPER_FIXTURES overrides the folder (fixtures being remade). */
static const char *fix_dir(void)
{
    const char *e = getenv("SORI_WHISPER_FIXTURES");
    return e && *e ? e : SORI_FIXTURE_DIR "/whisper";
}

static double rel_l2(const float *a, const float *b, int64_t n)
{
    double num = 0.0, den = 0.0;
    for (int64_t i = 0; i < n; i++) {
        double d = (double)a[i] - (double)b[i];
        num += d * d;
        den += (double)b[i] * b[i];
    }
    return sqrt(num / (den > 0.0 ? den : 1.0));
}

/* The integers of a text file's first line (at most max). */
static int read_ints(const char *path, int32_t *out, int max)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    static char line[1 << 16];
    int n = 0;
    if (fgets(line, sizeof line, f)) {
        char *p = line, *end;
        for (long v; n < max && (v = strtol(p, &end, 10), end != p); p = end)
            out[n++] = (int32_t)v;
    }
    fclose(f);
    return n;
}

static void check_mel(int n_mels)
{
    int64_t n_x = 0, n_ref = 0, n_f = 0;
    float *x = read_f32_fixture(&n_x, "%s/mel_input.f32", fix_dir());
    float *ref = read_f32_fixture(&n_ref, "%s/mel%d.f32", fix_dir(), n_mels);
    float *filt = read_f32_fixture(&n_f, "%s/filters%d.f32", fix_dir(), n_mels);
    CHECK(x && ref && filt && n_f == (int64_t)n_mels * 201, "mel %d: fixtures missing", n_mels);
    if (!x || !ref || !filt || n_f != (int64_t)n_mels * 201)
        goto done;
    const int64_t pad = 16000, T = (n_x + pad) / 160;
    CHECK(n_ref == T * n_mels, "mel %d: the fixture has %lld values, expected %lld", n_mels, (long long)n_ref,
          (long long)(T * n_mels));
    if (n_ref != T * n_mels)
        goto done;
    sori_whisper_mel *w = NULL;
    sori_error err = {0};
    CHECK_STATUS(sori_whisper_mel_create(n_mels, filt, &w, &err), SORI_OK);
    float *out = malloc((size_t)T * n_mels * sizeof(float));
    CHECK_STATUS(sori_whisper_mel_compute(w, x, n_x, pad, 0, T, out, &err), SORI_OK);
    float mx = -INFINITY;
    for (int64_t i = 0; i < T * n_mels; i++)
        mx = out[i] > mx ? out[i] : mx;
    sori_whisper_mel_normalize(out, T * n_mels, mx);
    double worst = 0.0;
    for (int64_t t = 0; t < T; t++)
        for (int m = 0; m < n_mels; m++) {
            double d = fabs((double)out[t * n_mels + m] - ref[(int64_t)m * T + t]);
            worst = d > worst ? d : worst;
        }
    printf("mel %d: %lld frames, max-abs difference %.3g\n", n_mels, (long long)T, worst);
    CHECK(worst <= 1e-4, "mel %d: max-abs difference %g > 1e-4", n_mels, worst);
    /* a range of frames equals the same frames of the whole */
    float *part = malloc((size_t)7 * n_mels * sizeof(float));
    CHECK_STATUS(sori_whisper_mel_compute(w, x, n_x, pad, 100, 7, part, &err), SORI_OK);
    sori_whisper_mel_normalize(part, 7 * n_mels, mx);
    CHECK(!memcmp(part, out + 100 * n_mels, (size_t)7 * n_mels * sizeof(float)), "mel %d: a range differs", n_mels);
    /* and from the part of the samples those frames read (a long file's window) */
    CHECK_STATUS(sori_whisper_mel_compute_span(w, x + 100 * 160 - 200, 100 * 160 - 200, 6 * 160 + 400, n_x, pad, 100, 7,
                                               part, &err),
                 SORI_OK);
    sori_whisper_mel_normalize(part, 7 * n_mels, mx);
    CHECK(!memcmp(part, out + 100 * n_mels, (size_t)7 * n_mels * sizeof(float)), "mel %d: a span differs", n_mels);
    CHECK_STATUS(sori_whisper_mel_compute_span(w, x + 100 * 160 - 199, 100 * 160 - 199, 6 * 160 + 399, n_x, pad, 100,
                                               7, part, &err),
                 SORI_ERR_INVALID_ARG);
    CHECK_STATUS(sori_whisper_mel_compute_span(w, x + 1, 1, 1000, n_x, pad, 0, 2, part, &err), SORI_ERR_INVALID_ARG);
    /* the GPU's way (frames cut here, the LOGMEL op there) through the
     * double-precision reference of that op: the same values */
    {
        const int64_t nf = 60;
        float *frames = malloc((size_t)nf * 400 * sizeof(float)), *lm = malloc((size_t)nf * n_mels * sizeof(float));
        CHECK_STATUS(sori_whisper_mel_frames_span(w, x, 0, n_x, n_x, pad, 0, nf, frames, &err), SORI_OK);
        sori_op_desc op = {.op = SORI_OP_LOGMEL};
        sori_whisper_logmel_desc(&op.u.logmel, n_mels, nf, frames, sori_whisper_mel_window(w), filt, lm);
        CHECK_STATUS(sori_ref_run(&op, NULL, &err), SORI_OK);
        double worst_op = 0.0;
        for (int64_t i = 0; i < nf * n_mels; i++) {
            float v = lm[i] * 0.43429448190325182f;
            v = ((v > mx - 8.0f ? v : mx - 8.0f) + 4.0f) / 4.0f;
            worst_op = fmax(worst_op, fabs((double)v - out[i]));
        }
        printf("mel %d: the LOGMEL op's way (reference) against the direct: max-abs %.3g\n", n_mels, worst_op);
        CHECK(worst_op <= 5e-5, "mel %d: frames + LOGMEL op differ by %g", n_mels, worst_op);
        free(frames);
        free(lm);
    }
    /* misuse */
    CHECK_STATUS(sori_whisper_mel_compute(w, x, n_x, pad, T - 1, 2, part, &err), SORI_ERR_INVALID_ARG);
    x[5] = NAN;
    CHECK_STATUS(sori_whisper_mel_compute(w, x, n_x, pad, 0, 2, part, &err), SORI_ERR_INVALID_ARG);
    free(part);
    free(out);
    sori_whisper_mel_free(w);
done:
    free(x);
    free(ref);
    free(filt);
}

static void check_random(sori_runtime *rt, const char *tag, int n_mels, int n_vocab, uint64_t seed)
{
    int32_t suppress[512];
    char path[512];
    snprintf(path, sizeof path, "%s/%s_suppress.txt", fix_dir(), tag);
    int n_sup = read_ints(path, suppress, 512);
    int64_t n_mel = 0, n_enc = 0, n_lg = 0;
    float *mel = read_f32_fixture(&n_mel, "%s/%s_mel.f32", fix_dir(), tag);
    float *enc_ref = read_f32_fixture(&n_enc, "%s/%s_enc.f32", fix_dir(), tag);
    float *lg_ref = read_f32_fixture(&n_lg, "%s/%s_logits.f32", fix_dir(), tag);
    CHECK(n_sup > 0 && mel && enc_ref && lg_ref, "%s: fixtures missing", tag);
    whisper_rand_cfg c = {n_mels, 200, 384, 6, 4, 448, 384, 6, 4, n_vocab, seed};
    const int A = c.n_audio_ctx, d = c.n_audio_state;
    if (n_sup <= 0 || !mel || !enc_ref || !lg_ref || n_mel != (int64_t)n_mels * 2 * A || n_enc != (int64_t)A * d ||
        n_lg != 2 * (int64_t)n_vocab) {
        CHECK(0, "%s: fixture sizes %lld %lld %lld", tag, (long long)n_mel, (long long)n_enc, (long long)n_lg);
        goto done0;
    }
    void *data = NULL;
    size_t size = 0;
    CHECK(whisper_rand_model(&c, suppress, n_sup, &data, &size) == 0, "%s: model not made", tag);
    sori_gguf *g = NULL;
    sori_whisper *m = NULL;
    sori_error err = {0};
    CHECK_STATUS(sori_gguf_open_memory(data, size, &g, &err), SORI_OK);
    CHECK_STATUS(sori_whisper_load_gguf(rt, g, "<random>", &m, &err), SORI_OK);
    sori_gguf_free(g);
    free(data);
    if (!m) {
        fprintf(stderr, "%s: %s\n", tag, err.message);
        goto done0;
    }
    /* time-major mel */
    float *mt = malloc((size_t)n_mel * sizeof(float));
    for (int f = 0; f < n_mels; f++)
        for (int t = 0; t < 2 * A; t++)
            mt[(int64_t)t * n_mels + f] = mel[(int64_t)f * 2 * A + t];
    sori_pool_stats before = sori_runtime_pool_stats(rt);
    sori_whisper_state *s = NULL;
    CHECK_STATUS(sori_whisper_state_create(m, 1, 5, &s, &err), SORI_OK);
    float *enc = malloc((size_t)A * d * sizeof(float));
    const float *mels[1] = {mt};
    CHECK_STATUS(sori_whisper_encode(s, 1, mels, enc, &err), SORI_OK);
    double e = rel_l2(enc, enc_ref, (int64_t)A * d);
    printf("%s: encoder rel-L2 %.3g\n", tag, e);
    CHECK(e <= 1e-4, "%s: encoder rel-L2 %g > 1e-4", tag, e);
    /* logits of the last position: without and with timestamps */
    const sori_whisper_tokens *tk = sori_whisper_get_tokens(m);
    int ko = sori_whisper_language_token(m, "ko");
    CHECK(ko == tk->sot + 6, "%s: <|ko|> is %d", tag, ko);
    int32_t pre[2][4] = {{tk->sot, ko, tk->transcribe, tk->no_timestamps}, {tk->sot, ko, tk->transcribe, 0}};
    float *lg = malloc((size_t)n_vocab * sizeof(float));
    int win = 0;
    for (int r = 0; r < 2; r++) {
        CHECK_STATUS(sori_whisper_decode(s, 1, &win, pre[r], r == 0 ? 4 : 3, 0, lg, &err), SORI_OK);
        double l = rel_l2(lg, lg_ref + (int64_t)r * n_vocab, n_vocab);
        printf("%s: logits (%s timestamps) rel-L2 %.3g\n", tag, r ? "with" : "without", l);
        CHECK(l <= 1e-4, "%s: logits rel-L2 %g > 1e-4", tag, l);
    }
    /* greedy and beam search against decode() */
    sori_whisper_search *z = NULL;
    CHECK_STATUS(sori_whisper_search_create(m, 5, &z, &err), SORI_OK);
    for (int beam = 0; beam < 2 && z; beam++) {
        int32_t want[512];
        snprintf(path, sizeof path, "%s/%s_%s.txt", fix_dir(), tag, beam ? "beam" : "greedy");
        int n_want = read_ints(path, want, 512);
        sori_whisper_options o = sori_whisper_default_options();
        o.language = ko;
        o.sample_len = 64;
        o.beam_size = beam ? 5 : 0;
        sori_whisper_result r;
        CHECK_STATUS(sori_whisper_decode_window(z, s, 0, &o, &r, &err), SORI_OK);
        int same = r.n_tokens == n_want;
        for (int i = 0; same && i < n_want; i++)
            same = r.tokens[i] == want[i];
        printf("%s: %s: %d tokens (openai-whisper %d), %s, sum logprob %.4f, no-speech %.4f\n", tag,
               beam ? "beam 5" : "greedy", r.n_tokens, n_want, same ? "equal" : "DIFFERENT", r.sum_logprob,
               r.no_speech_prob);
        CHECK(n_want >= 0 && same, "%s: %s tokens differ from openai-whisper's", tag, beam ? "beam" : "greedy");
        if (!same) {
            for (int i = 0; i < r.n_tokens && i < 40; i++)
                fprintf(stderr, "%d%s", r.tokens[i], i + 1 < r.n_tokens ? " " : "\n");
            for (int i = 0; i < n_want && i < 40; i++)
                fprintf(stderr, "%d%s", want[i], i + 1 < n_want ? " " : "\n");
        }
        if (beam)
            CHECK(r.n_best >= 5, "%s: %d hypotheses in the N-best list", tag, r.n_best);
    }
    /* three windows decoded at once (the throughput mode) give what each gives alone */
    {
        float *m3[3];
        for (int w = 0; w < 3; w++) {
            m3[w] = malloc((size_t)n_mel * sizeof(float));
            for (int64_t i = 0; i < n_mel; i++) /* three different inputs: shifted in time, scaled */
                m3[w][i] = mt[(i + (int64_t)w * 37 * n_mels) % n_mel] * (1.0f - 0.1f * (float)w);
        }
        sori_whisper_state *s3 = NULL;
        sori_whisper_search *z3 = NULL;
        CHECK_STATUS(sori_whisper_state_create(m, 3, 3, &s3, &err), SORI_OK);
        CHECK_STATUS(sori_whisper_search_create(m, 3, &z3, &err), SORI_OK);
        sori_whisper_options o = sori_whisper_default_options();
        o.language = ko;
        o.sample_len = 24;
        o.without_timestamps = true;
        sori_whisper_result rb[3];
        int32_t got[3][64];
        int n_got[3] = {0, 0, 0};
        const float *const *mm = (const float *const *)m3;
        CHECK_STATUS(sori_whisper_encode(s3, 3, mm, NULL, &err), SORI_OK);
        CHECK_STATUS(sori_whisper_decode_windows(z3, s3, 3, &o, rb, &err), SORI_OK);
        for (int w = 0; w < 3; w++) {
            n_got[w] = rb[w].n_tokens < 64 ? rb[w].n_tokens : 64;
            memcpy(got[w], rb[w].tokens, (size_t)n_got[w] * sizeof(int32_t));
        }
        int same = 1;
        for (int w = 0; w < 3; w++) {
            sori_whisper_result r1;
            const float *one[1] = {m3[w]};
            CHECK_STATUS(sori_whisper_encode(s3, 1, one, NULL, &err), SORI_OK);
            CHECK_STATUS(sori_whisper_decode_window(z3, s3, 0, &o, &r1, &err), SORI_OK);
            same = same && r1.n_tokens == n_got[w] && !memcmp(r1.tokens, got[w], (size_t)n_got[w] * sizeof(int32_t));
        }
        printf("%s: three windows decoded at once: %s\n", tag, same ? "each as alone" : "DIFFERENT");
        CHECK(same, "%s: windows decoded together differ from alone", tag);
        sori_whisper_search_free(z3);
        sori_whisper_state_free(s3);
        for (int w = 0; w < 3; w++)
            free(m3[w]);
    }
    /* a second state on the same model gives the same encoder output */
    sori_whisper_state *s2 = NULL;
    CHECK_STATUS(sori_whisper_state_create(m, 1, 1, &s2, &err), SORI_OK);
    float *enc2 = malloc((size_t)A * d * sizeof(float));
    CHECK_STATUS(sori_whisper_encode(s2, 1, mels, enc2, &err), SORI_OK);
    CHECK(!memcmp(enc, enc2, (size_t)A * d * sizeof(float)), "%s: a second state differs", tag);
    /* misuse */
    CHECK_STATUS(sori_whisper_decode(s2, 2, (int[]){0, 0}, pre[0], 1, 0, lg, &err), SORI_ERR_INVALID_ARG);
    CHECK_STATUS(sori_whisper_decode(s2, 1, &win, pre[0], 1, 448, lg, &err), SORI_ERR_INVALID_ARG);
    int32_t bad = n_vocab;
    CHECK_STATUS(sori_whisper_decode(s2, 1, &win, &bad, 1, 0, lg, &err), SORI_ERR_INVALID_ARG);
    CHECK_STATUS(sori_whisper_encode(s2, 2, mels, NULL, &err), SORI_ERR_INVALID_ARG);
    sori_whisper_state_free(s2);
    sori_whisper_state_free(s);
    sori_pool_stats after = sori_runtime_pool_stats(rt);
    CHECK(after.used_bytes == before.used_bytes && after.n_slabs == before.n_slabs,
          "%s: the pool holds %zu bytes after the states are freed (%zu before)", tag, after.used_bytes,
          before.used_bytes);
    sori_whisper_search_free(z);
    free(enc2);
    free(lg);
    free(enc);
    free(mt);
    sori_whisper_free(m);
done0:
    free(mel);
    free(enc_ref);
    free(lg_ref);
}

static size_t heap_in_use(void)
{
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
}

static void check_memory(sori_runtime *rt)
{
    whisper_rand_cfg c = {80, 1500, 64, 2, 2, 448, 64, 2, 2, 400, 5};
    int32_t sup[4] = {1, 2, 7, 8};
    void *data = NULL;
    size_t size = 0;
    sori_gguf *g = NULL;
    sori_whisper *m = NULL;
    sori_error err = {0};
    CHECK(whisper_rand_model(&c, sup, 4, &data, &size) == 0, "memory: model not made");
    CHECK_STATUS(sori_gguf_open_memory(data, size, &g, &err), SORI_OK);
    if (g)
        CHECK_STATUS(sori_whisper_load_gguf(rt, g, "<random>", &m, &err), SORI_OK);
    sori_gguf_free(g);
    free(data);
    if (!m)
        return;
    const sori_pool_stats pool0 = sori_runtime_pool_stats(rt);
    /* sessions made and freed */
    size_t heap0 = 0;
    int failed = 0;
    for (int i = 0; i < 10000; i++) {
        if (i == 10)
            heap0 = heap_in_use();
        sori_whisper_session *s = NULL;
        failed += sori_whisper_session_create(m, 3, &s, &err) != SORI_OK;
        sori_whisper_session_free(s);
    }
    size_t heap1 = heap_in_use();
    sori_pool_stats pool1 = sori_runtime_pool_stats(rt);
    printf("memory: 10,000 sessions: heap %zu -> %zu bytes, pool %zu -> %zu bytes in use\n", heap0, heap1,
           pool0.used_bytes, pool1.used_bytes);
    CHECK(failed == 0 && heap1 == heap0 && pool1.used_bytes == pool0.used_bytes && pool1.n_slabs == pool0.n_slabs,
          "memory: %d sessions failed; heap %zu -> %zu, pool %zu -> %zu", failed, heap0, heap1, pool0.used_bytes,
          pool1.used_bytes);
    /* utterances through one session */
    sori_whisper_session *s = NULL;
    CHECK_STATUS(sori_whisper_session_create(m, 3, &s, &err), SORI_OK);
    float x[8000];
    for (int i = 0; i < 8000; i++)
        x[i] = 0.3f * sinf(0.05f * (float)i) * (float)((i / 800) % 2);
    sori_whisper_params p = sori_whisper_default_params();
    p.dec.language = sori_whisper_language_token(m, "ko");
    p.dec.sample_len = 6;
    p.n_temperatures = 2; /* one fallback step */
    p.dec.best_of = 3;
    int errors = 0;
    for (int u = 0; s && u < 1000; u++) {
        if (u == 84) /* every combination of length, beam and word timing seen twice */
            heap0 = heap_in_use();
        p.dec.beam_size = u % 2 ? 3 : 0;
        p.word_timestamps = u % 3 == 0;
        sori_whisper_transcript *t = NULL;
        errors += sori_whisper_transcribe(s, x, 2000 + (u % 7) * 800, &p, &t, &err) != SORI_OK;
        sori_whisper_transcript_free(t);
    }
    heap1 = heap_in_use();
    sori_whisper_session_free(s);
    pool1 = sori_runtime_pool_stats(rt);
    printf("memory: 1,000 utterances through one session: heap %zu -> %zu bytes, %d errors\n", heap0, heap1, errors);
    CHECK(errors == 0 && heap1 == heap0 && pool1.used_bytes == pool0.used_bytes,
          "memory: %d errors; heap %zu -> %zu after the utterances, pool %zu -> %zu", errors, heap0, heap1,
          pool0.used_bytes, pool1.used_bytes);
    sori_whisper_free(m);
}

/* Whisper streams on a random-weight model (the mechanics; real speech in
 * test_whisper_base): three bursts of "speech" with pauses make at least
 * three utterances; partial texts only grow within an utterance; the same
 * audio in 100 ms or 700 ms packets gives the same finals; the last result
 * is final; bad stream settings refused. */
static char *stream_finals(sori_asr_model *m, const float *x, int64_t n, int packet, int *n_finals, int *retracted,
                           int64_t *ends, sori_error *err)
{
    sori_asr_stream_params sp = sori_asr_stream_default_params();
    sp.partial_ms = 500;
    sori_asr_stream *s = NULL;
    if (sori_asr_stream_create(m, &sp, &s, err) != SORI_OK)
        return NULL;
    char *all = calloc(1, 1 << 16), prev[4096] = "";
    *n_finals = 0;
    *retracted = 0;
    sori_status st = SORI_OK;
    for (int64_t pos = 0, done = 0; st == SORI_OK && !done; pos += packet) {
        done = pos >= n; /* after the last packet, however short: the end of input */
        if (!done)
            st = sori_asr_stream_accept(s, x + pos, pos + packet <= n ? packet : n - pos, 16000, err);
        else
            st = sori_asr_stream_input_finished(s, err);
        while (st == SORI_OK && sori_asr_stream_is_ready(s)) {
            st = sori_asr_decode_ready(m, &s, 1, err);
            sori_asr_result *r = NULL;
            if (st == SORI_OK && (st = sori_asr_stream_result(s, &r, err)) == SORI_OK) {
                if (strncmp(r->text, prev, strlen(prev)) != 0 && r->text[0])
                    (*retracted)++;
                snprintf(prev, sizeof prev, "%s", r->text);
            }
            sori_asr_result_free(r);
            for (sori_asr_result *f = NULL; st == SORI_OK && (st = sori_asr_stream_pop_final(s, &f, err)) == SORI_OK && f;) {
                if (*n_finals < 8)
                    ends[*n_finals] = (int64_t)(f->duration_s * 16000 + 0.5);
                if (getenv("SORI_TEST_VERBOSE"))
                    printf("  final %d: %.3f s, %d segments, starts %.2f\n", *n_finals, f->duration_s, f->n_segments,
                           f->n_segments ? f->segments[0].start_s : -1.0);
                (*n_finals)++;
                strncat(all, f->text, (1 << 16) - strlen(all) - 2);
                strcat(all, "|");
                prev[0] = '\0';
                sori_asr_result_free(f);
            }
        }
    }
    sori_asr_result *r = NULL;
    if (st == SORI_OK && sori_asr_stream_result(s, &r, err) == SORI_OK) {
        CHECK(r->is_final == 1, "stream: the last result is not final");
        sori_asr_result_free(r);
    }
    sori_asr_stream_free(s);
    if (st != SORI_OK) {
        free(all);
        return NULL;
    }
    return all;
}

static void check_stream(sori_runtime *rt)
{
    whisper_rand_cfg c = {80, 1500, 64, 2, 2, 448, 64, 2, 2, 400, 9};
    int32_t sup[4] = {1, 2, 7, 8};
    void *data = NULL;
    size_t size = 0;
    CHECK(whisper_rand_model(&c, sup, 4, &data, &size) == 0, "stream: model not made");
    sori_asr_model_params mp = sori_asr_model_default_params();
    mp.no_fallback = 1;
    sori_asr_model *m = NULL;
    sori_error err = {0};
    CHECK_STATUS(sori_asr_model_load_memory(rt, data, size, &mp, &m, &err), SORI_OK);
    free(data);
    if (!m)
        return;
    /* 0.5 s silence, then three 1.5 s bursts each followed by 2 s of silence */
    const int64_t n = 8000 + 3 * (24000 + 32000);
    float *x = calloc((size_t)n, sizeof(float));
    uint64_t rng = 42;
    for (int b = 0; b < 3; b++) {
        int64_t a = 8000 + b * 56000;
        for (int64_t i = 0; i < 24000; i++) {
            rng = rng * 6364136223846793005ull + 1442695040888963407ull;
            x[a + i] = 0.3f * sinf(0.02f * (float)(i * (b + 2))) + 0.05f * ((float)(rng >> 40) / 16777216.0f - 0.5f);
        }
    }
    int nf1 = 0, nf2 = 0, ret1 = 0, ret2 = 0;
    int64_t ends[8];
    char *a = stream_finals(m, x, n, 1600, &nf1, &ret1, ends, &err);
    char *b = stream_finals(m, x, n, 11200, &nf2, &ret2, ends, &err);
    CHECK(a && b, "stream: %s", err.message);
    printf("stream: %d finals (100 ms packets), %d (700 ms); partials taken back: %d, %d\n", nf1, nf2, ret1, ret2);
    CHECK(nf1 >= 3 && nf1 == nf2, "stream: %d and %d finals, expected 3 or more, the same for any packets", nf1, nf2);
    CHECK(a && b && !strcmp(a, b), "stream: finals depend on the packets:\n  %.300s\n  %.300s", a ? a : "", b ? b : "");
    CHECK(ret1 == 0 && ret2 == 0, "stream: partial text taken back (%d, %d)", ret1, ret2);
    free(a);
    free(b);
    /* a stream of a model without hotwords support, bad params */
    sori_asr_stream_params sp = sori_asr_stream_default_params();
    sp.partial_ms = -1;
    sori_asr_stream *s = NULL;
    CHECK_STATUS(sori_asr_stream_create(m, &sp, &s, &err), SORI_ERR_INVALID_ARG);
    sp = sori_asr_stream_default_params();
    sp.hotwords = "가나";
    CHECK_STATUS(sori_asr_stream_create(m, &sp, &s, &err), SORI_ERR_UNSUPPORTED);
    /* a stream's own language: its finals are decoded in it (the model's is ko); one the model
     * does not know is refused */
    sp = sori_asr_stream_default_params();
    sp.language = "xx";
    CHECK_STATUS(sori_asr_stream_create(m, &sp, &s, &err), SORI_ERR_INVALID_ARG);
    for (int k = 0; k < 2; k++) {
        sp = sori_asr_stream_default_params();
        sp.language = k ? "en" : NULL;
        char got[16] = "";
        if (sori_asr_stream_create(m, &sp, &s, &err) == SORI_OK) {
            sori_status st = sori_asr_stream_accept(s, x, n, 16000, &err);
            if (st == SORI_OK)
                st = sori_asr_stream_input_finished(s, &err);
            while (st == SORI_OK && sori_asr_stream_is_ready(s))
                st = sori_asr_decode_ready(m, &s, 1, &err);
            sori_asr_result *f = NULL;
            if (st == SORI_OK && sori_asr_stream_pop_final(s, &f, &err) == SORI_OK && f)
                snprintf(got, sizeof got, "%s", f->language);
            sori_asr_result_free(f);
            sori_asr_stream_free(s);
        }
        printf("stream language %s: the first final decoded in '%s'\n", k ? "en" : "(the model's)", got);
        CHECK(!strcmp(got, k ? "en" : "ko"), "stream language %s: final in '%s'", k ? "en" : "default", got);
    }
    free(x);
    sori_asr_model_free(m);
}


/* The throughput mode (model param batch): speech found by the VAD and
 * merged into chunks of at most 30 s — 75 s of bursts (1.5 s of sound, 0.75 s
 * of silence) make three or four chunks, each at most 30 s, in order, not
 * overlapping, not one per burst — decoded 1 or 3 windows at a time with
 * the same texts. */
static void check_batched(sori_runtime *rt)
{
    whisper_rand_cfg c = {80, 1500, 64, 2, 2, 448, 64, 2, 2, 400, 17};
    int32_t sup[4] = {1, 2, 7, 8};
    void *data = NULL;
    size_t size = 0;
    CHECK(whisper_rand_model(&c, sup, 4, &data, &size) == 0, "batched: model not made");
    const int64_t n = 75 * 16000;
    float *x = calloc((size_t)n, sizeof(float));
    uint64_t rng = 99;
    for (int64_t i = 0; i < n; i++) {
        rng = rng * 6364136223846793005ull + 1442695040888963407ull;
        if (i % 36000 < 24000)
            x[i] = 0.3f * sinf(0.021f * (float)(i % 5000)) + 0.05f * ((float)(rng >> 40) / 16777216.0f - 0.5f);
    }
    sori_asr_result *res[2] = {NULL, NULL};
    for (int k = 0; k < 2; k++) {
        sori_asr_model_params mp = sori_asr_model_default_params();
        mp.batch = k ? 3 : 1;
        sori_asr_model *m = NULL;
        sori_error err = {0};
        CHECK_STATUS(sori_asr_model_load_memory(rt, data, size, &mp, &m, &err), SORI_OK);
        if (m)
            CHECK_STATUS(sori_asr_transcribe(m, x, n, 16000, &res[k], &err), SORI_OK);
        sori_asr_model_free(m);
    }
    if (res[0] && res[1]) {
        const sori_asr_result *r = res[0];
        int ok = r->n_segments >= 3 && r->n_segments <= 4;
        for (int i = 0; ok && i < r->n_segments; i++)
            ok = r->segments[i].end_s - r->segments[i].start_s <= 30.0 + 1e-9 &&
                 (i == 0 || r->segments[i].start_s >= r->segments[i - 1].end_s);
        printf("batched: 75 s of 34 bursts in %d chunks (", r->n_segments);
        for (int i = 0; i < r->n_segments; i++)
            printf("%s%.1f-%.1f s", i ? ", " : "", r->segments[i].start_s, r->segments[i].end_s);
        printf(")\n");
        CHECK(ok, "batched: %d chunks, expected 3 or 4 of at most 30 s, in order", r->n_segments);
        int same = res[1]->n_segments == r->n_segments && !strcmp(res[1]->text, r->text);
        CHECK(same, "batched: 3 windows at a time differ from 1:\n  %.200s\n  %.200s", r->text, res[1]->text);
    }
    sori_asr_result_free(res[0]);
    sori_asr_result_free(res[1]);
    free(x);
    free(data);
}

/* Long files read as they are decoded (sori_asr_transcribe_reader): 75 s
 * written as 8 kHz stereo WAV and as 16 kHz FLAC, transcribed from a
 * reader, equal the same samples read whole (segments, times, text);
 * a reader at another rate is read whole and resampled; a file that turns
 * bad after a minute fails there with its message. */
static void check_reader(sori_runtime *rt)
{
    /* the API's defaults rank beams as openai-whisper does (by log-probability / length): a
     * zero penalty ranked by the sum, which favoured short hypotheses (dropped punctuation) */
    CHECK(sori_asr_model_default_params().length_penalty < 0.0f, "the default length penalty is %g, not < 0",
          sori_asr_model_default_params().length_penalty);
    whisper_rand_cfg c = {80, 1500, 64, 2, 2, 448, 64, 2, 2, 400, 13};
    int32_t sup[4] = {1, 2, 7, 8};
    void *data = NULL;
    size_t size = 0;
    CHECK(whisper_rand_model(&c, sup, 4, &data, &size) == 0, "reader: model not made");
    sori_asr_model_params mp = sori_asr_model_default_params();
    mp.no_fallback = 1;
    sori_asr_model *m = NULL;
    sori_error err = {0};
    CHECK_STATUS(sori_asr_model_load_memory(rt, data, size, &mp, &m, &err), SORI_OK);
    free(data);
    if (!m)
        return;
    char dir[] = "/tmp/sori_test_whisper_XXXXXX";
    if (!mkdtemp(dir)) {
        CHECK(0, "reader: no temporary folder");
        sori_asr_model_free(m);
        return;
    }
    const int64_t n8 = 75 * 8000;
    sori_audio a = {calloc((size_t)n8 * 2, sizeof(float)), n8, 2, 8000};
    uint64_t rng = 7;
    for (int64_t i = 0; i < n8; i++) {
        rng = rng * 6364136223846793005ull + 1442695040888963407ull;
        float burst = (i / 12000) % 3 == 2 ? 0.0f : 1.0f;
        a.samples[2 * i] = burst * (0.3f * sinf(0.03f * (float)(i % 9000)) + 0.05f * ((float)(rng >> 40) / 16777216.0f - 0.5f));
        a.samples[2 * i + 1] = 0.5f * a.samples[2 * i];
    }
    char wav[64], flac[64], bad[64];
    snprintf(wav, sizeof wav, "%s/long.wav", dir);
    snprintf(flac, sizeof flac, "%s/long.flac", dir);
    snprintf(bad, sizeof bad, "%s/bad.wav", dir);
    CHECK_STATUS(sori_audio_write_file(wav, &a, SORI_ENC_WAV_FLOAT, &err), SORI_OK);
    sori_audio mono = {0}, m16 = {0};
    CHECK_STATUS(sori_audio_select_channel(&a, SORI_CHANNEL_MIX, &mono, &err), SORI_OK);
    CHECK_STATUS(sori_audio_resample(&mono, 16000, &m16, &err), SORI_OK);
    CHECK_STATUS(sori_audio_write_file(flac, &m16, SORI_ENC_FLAC, &err), SORI_OK);
    const char *paths[2] = {wav, flac};
    for (int f = 0; f < 2; f++) {
        sori_audio whole = {0}, wm = {0}, w16 = {0};
        CHECK_STATUS(sori_audio_read_file(paths[f], &whole, &err), SORI_OK);
        CHECK_STATUS(sori_audio_select_channel(&whole, SORI_CHANNEL_MIX, &wm, &err), SORI_OK);
        CHECK_STATUS(sori_audio_resample(&wm, 16000, &w16, &err), SORI_OK);
        sori_asr_result *ra = NULL, *rb = NULL, *rc = NULL;
        CHECK_STATUS(sori_asr_transcribe(m, w16.samples, w16.n_frames, 16000, &ra, &err), SORI_OK);
        for (int rate = 16000; rate >= 8000; rate -= 8000) {
            sori_audio_reader *r = NULL;
            CHECK_STATUS(sori_audio_reader_open(paths[f], NULL, SORI_CHANNEL_MIX, rate, &r, NULL, &err), SORI_OK);
            sori_asr_result **rr = rate == 16000 ? &rb : &rc;
            if (r)
                CHECK_STATUS(sori_asr_transcribe_reader(m, r, rr, &err), SORI_OK);
            sori_audio_reader_close(r);
        }
        if (ra && rb) {
            int same = ra->n_segments == rb->n_segments && !strcmp(ra->text, rb->text) &&
                       fabs(ra->duration_s - rb->duration_s) < 1e-9;
            for (int i = 0; same && i < ra->n_segments; i++)
                same = ra->segments[i].start_s == rb->segments[i].start_s &&
                       ra->segments[i].end_s == rb->segments[i].end_s &&
                       !strcmp(ra->segments[i].text, rb->segments[i].text);
            printf("reader: %s, %.1f s: %d segments read whole, %d read as decoded%s\n", f ? "FLAC" : "WAV 8 kHz",
                   rb->duration_s, ra->n_segments, rb->n_segments, same ? ", equal" : "");
            CHECK(same && ra->n_segments >= 2, "reader: %s: the reader's transcript differs (%d/%d segments, %.3f/%.3f s)",
                  paths[f], ra->n_segments, rb->n_segments, ra->duration_s, rb->duration_s);
        }
        if (f == 0 && rc) { /* an 8 kHz reader: read whole, resampled inside */
            CHECK(ra && !strcmp(ra->text, rc->text), "reader: an 8 kHz reader's transcript differs");
        }
        sori_asr_result_free(ra);
        sori_asr_result_free(rb);
        sori_asr_result_free(rc);
        sori_audio_free(&whole);
        sori_audio_free(&wm);
        sori_audio_free(&w16);
    }
    /* bad after a minute */
    a.samples[2 * 61 * 8000] = NAN;
    CHECK_STATUS(sori_audio_write_file(bad, &a, SORI_ENC_WAV_FLOAT, &err), SORI_OK);
    sori_audio_reader *r = NULL;
    sori_asr_result *rb = NULL;
    CHECK_STATUS(sori_audio_reader_open(bad, NULL, SORI_CHANNEL_MIX, 16000, &r, NULL, &err), SORI_OK);
    if (r) {
        CHECK_STATUS(sori_asr_transcribe_reader(m, r, &rb, &err), SORI_ERR_FORMAT);
        CHECK(rb == NULL && strstr(err.message, "bad.wav") && strstr(err.message, "NaN"), "reader: %s", err.message);
    }
    CHECK_STATUS(sori_asr_transcribe_reader(m, NULL, &rb, &err), SORI_ERR_INVALID_ARG);
    sori_audio_reader_close(r);
    sori_audio_free(&a);
    sori_audio_free(&mono);
    sori_audio_free(&m16);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    sori_asr_model_free(m);
}

/* test_whisper: the parity checks; test_whisper --memory: the memory ones
 * (ctest's test_whisper_memory, labelled slow: a minute and a half) */
int main(int argc, char **argv)
{
    const int memory = argc > 1 && !strcmp(argv[1], "--memory");
    if (!memory) {
        check_mel(80);
        check_mel(128);
    }
    sori_runtime_params p = sori_runtime_default_params();
    p.device = SORI_DEVICE_CPU; /* SORI_TEST_DEVICE=cuda: the same checks on the GPU (ctest's *_gpu) */
    const char *dev = getenv("SORI_TEST_DEVICE");
    if (dev && sori_device_parse(dev, &p.device, &p.device_index) != SORI_OK) {
        fprintf(stderr, "SORI_TEST_DEVICE '%s'\n", dev);
        return 1;
    }
    p.n_threads = 2;
    p.pool_bytes = (size_t)512 << 20;
    sori_runtime *rt = NULL;
    sori_error err = {0};
    sori_status st = sori_runtime_create(&p, &rt, &err);
    if (st != SORI_OK && p.device != SORI_DEVICE_CPU)
        SKIP("no usable GPU: %s", err.message);
    CHECK_STATUS(st, SORI_OK);
    if (rt && !memory) {
        check_random(rt, "rand80", 80, 51865, 1);
        check_random(rt, "rand128", 128, 51866, 2);
        check_stream(rt);
        check_reader(rt);
        check_batched(rt);
    } else if (rt) {
        check_memory(rt);
    }
    sori_runtime_free(rt);
    return check_finish(memory ? "test_whisper --memory" : "test_whisper");
}
