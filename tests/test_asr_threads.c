/* asr.h promises that concurrent calls on one model from several threads
 * are safe: four threads transcribe (offline, and through their own
 * streams) with one shared model at once, many times, and every result must
 * equal the single-thread one. Models: the CTC fixture (offline greedy and
 * beam search), the cache-aware hybrid (RNN-T streams) and a random-weight
 * Whisper (greedy and beam search). Also run
 * under ThreadSanitizer in CI. */
#include <pthread.h>
#include <string.h>

#include "check.h"
#include "sori/asr.h"
#include "whisper_rand.h"

enum { THREADS = 4, ROUNDS = 6 };

typedef struct {
    sori_asr_model *m;
    const float *x;
    int64_t n;
    int rate;
    int stream;      /* through a stream instead of offline */
    int rounds;
    const char *want;
    int mismatches, errors;
} job;

static char *run_once(sori_asr_model *m, const float *x, int64_t n, int rate, int stream)
{
    sori_asr_result *r = NULL;
    sori_error err = {0};
    if (!stream) {
        if (sori_asr_transcribe(m, x, n, rate, &r, &err) != SORI_OK)
            return NULL;
    } else {
        sori_asr_stream_params sp = sori_asr_stream_default_params();
        sori_asr_stream *s = NULL;
        sori_status st = sori_asr_stream_create(m, &sp, &s, &err);
        for (int64_t pos = 0; st == SORI_OK && pos < n; pos += 1600) {
            st = sori_asr_stream_accept(s, x + pos, pos + 1600 <= n ? 1600 : n - pos, rate, &err);
            while (st == SORI_OK && sori_asr_stream_is_ready(s))
                st = sori_asr_decode_ready(m, &s, 1, &err);
        }
        if (st == SORI_OK)
            st = sori_asr_stream_input_finished(s, &err);
        while (st == SORI_OK && sori_asr_stream_is_ready(s))
            st = sori_asr_decode_ready(m, &s, 1, &err);
        /* the finals and the rest, joined */
        char text[4096] = "";
        sori_asr_result *f = NULL;
        while (st == SORI_OK && (st = sori_asr_stream_pop_final(s, &f, &err)) == SORI_OK && f) {
            strncat(text, f->text, sizeof text - strlen(text) - 2);
            strcat(text, "|");
            sori_asr_result_free(f);
        }
        if (st == SORI_OK)
            st = sori_asr_stream_result(s, &r, &err);
        sori_asr_stream_free(s);
        if (st != SORI_OK)
            return NULL;
        strncat(text, r->text, sizeof text - strlen(text) - 1);
        sori_asr_result_free(r);
        return strdup(text);
    }
    char *t = strdup(r->text);
    sori_asr_result_free(r);
    return t;
}

static void *worker(void *arg)
{
    job *j = arg;
    for (int k = 0; k < j->rounds; k++) {
        char *t = run_once(j->m, j->x, j->n, j->rate, j->stream);
        if (!t)
            j->errors++;
        else if (strcmp(t, j->want) != 0)
            j->mismatches++;
        free(t);
    }
    return NULL;
}

static void check_concurrent(sori_asr_model *m, const char *what, const float *x, int64_t n, int stream, int rounds)
{
    /* each thread its own slice of the signal (and 8 kHz for one), so results differ between threads */
    job jobs[THREADS];
    pthread_t tid[THREADS];
    char *want[THREADS];
    float *x8 = malloc((size_t)(n / 2 + 1) * sizeof(float));
    for (int64_t i = 0; i < n / 2; i++)
        x8[i] = x[2 * i];
    for (int t = 0; t < THREADS; t++) {
        int64_t off = (int64_t)t * n / 10;
        jobs[t] = (job){m, t == 3 ? x8 : x + off, t == 3 ? n / 2 : n - off, t == 3 ? 8000 : 16000, stream, rounds,
                        NULL, 0, 0};
        want[t] = run_once(m, jobs[t].x, jobs[t].n, jobs[t].rate, stream);
        CHECK(want[t] != NULL, "%s: thread %d alone failed", what, t);
        jobs[t].want = want[t] ? want[t] : "";
    }
    for (int t = 0; t < THREADS; t++)
        pthread_create(&tid[t], NULL, worker, &jobs[t]);
    int bad = 0;
    for (int t = 0; t < THREADS; t++) {
        pthread_join(tid[t], NULL);
        CHECK(jobs[t].errors == 0 && jobs[t].mismatches == 0, "%s: thread %d: %d errors, %d results unlike alone",
              what, t, jobs[t].errors, jobs[t].mismatches);
        bad += jobs[t].errors + jobs[t].mismatches;
    }
    printf("  %-34s %d threads x %d rounds: %d differ from one thread ('%.40s'...)\n", what, THREADS, rounds, bad,
           want[0] ? want[0] : "");
    for (int t = 0; t < THREADS; t++)
        free(want[t]);
    free(x8);
}

int main(void)
{
    sori_runtime_params rp = sori_runtime_default_params();
    rp.device = SORI_DEVICE_CPU; /* SORI_TEST_DEVICE=cuda: the same checks on the GPU (ctest's *_gpu) */
    const char *dev = getenv("SORI_TEST_DEVICE");
    if (dev && sori_device_parse(dev, &rp.device, &rp.device_index) != SORI_OK) {
        fprintf(stderr, "SORI_TEST_DEVICE '%s'\n", dev);
        return 1;
    }
    rp.n_threads = 2;
    rp.pool_bytes = (size_t)256 << 20; /* four Whisper sessions at once */
    sori_runtime *rt = NULL;
    sori_error err = {0};
    sori_status st0 = sori_runtime_create(&rp, &rt, &err);
    if (st0 != SORI_OK && rp.device != SORI_DEVICE_CPU)
        SKIP("no usable GPU: %s", err.message);
    CHECK_STATUS(st0, SORI_OK);
    int64_t n = 0;
    float *x = read_f32_fixture(&n, "%s/features/signal.f32", SORI_FIXTURE_DIR);
    if (!x || !rt)
        SKIP("fixtures missing");
    struct {
        const char *file, *what;
        int beam, stream;
    } cases[] = {
        {"conformer/ctc_striding4.gguf", "CTC greedy, offline", 0, 0},
        {"conformer/ctc_striding4.gguf", "CTC beam search, offline", 8, 0},
        {"conformer/ctc_striding4.gguf", "CTC greedy, buffered streams", 0, 1},
        {"stream/hybrid_stream.gguf", "RNN-T, offline", 0, 0},
        {"stream/hybrid_stream.gguf", "RNN-T, cache-aware streams", 0, 1},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s", SORI_FIXTURE_DIR, cases[c].file);
        sori_asr_model_params mp = sori_asr_model_default_params();
        mp.beam = cases[c].beam;
        sori_asr_model *m = NULL;
        CHECK_STATUS(sori_asr_model_load(rt, path, &mp, &m, &err), SORI_OK);
        if (m)
            check_concurrent(m, cases[c].what, x, n, cases[c].stream, ROUNDS);
        sori_asr_model_free(m);
    }
    /* Whisper: each thread's session from the pool, its decoding on its own state */
    whisper_rand_cfg wc = {80, 1500, 64, 2, 2, 448, 64, 2, 2, 400, 3};
    int32_t sup[4] = {1, 2, 7, 8};
    void *wdata = NULL;
    size_t wsize = 0;
    CHECK(whisper_rand_model(&wc, sup, 4, &wdata, &wsize) == 0, "whisper model not made");
    for (int beam = 0; wdata && beam <= 3; beam += 3) {
        sori_asr_model_params mp = sori_asr_model_default_params();
        mp.beam = beam;
        mp.no_fallback = 1; /* random weights would fall back through every temperature: minutes under TSan */
        sori_asr_model *m = NULL;
        CHECK_STATUS(sori_asr_model_load_memory(rt, wdata, wsize, &mp, &m, &err), SORI_OK);
        if (m)
            check_concurrent(m, beam ? "Whisper beam 3, offline" : "Whisper greedy, offline", x, n, 0, 2);
        sori_asr_model_free(m);
    }
    free(wdata);
    free(x);
    sori_runtime_free(rt);
    return check_finish("test_asr_threads");
}
