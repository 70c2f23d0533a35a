/* Nothing in the streaming hot path allocates (issue 20): malloc, calloc,
 * realloc, aligned allocations and free are counted by allocator wrappers
 * in this executable (they take the process's allocation calls, the
 * library's and its dependencies' alike), while streams take 100 ms packets
 * and are decoded, after a warm-up of 3 s. The counted window is steady
 * state: accept + decode_ready only (getting a result returns memory the
 * caller owns, by design). One stream and eight stepped together, on the
 * CPU with two threads; 16 kHz input and 8 kHz (resampled inside); with the
 * committed streaming fixture and, when it is there, the bundled model (CTC
 * greedy, and the bundled LM's beam search). The signal's pauses are shorter
 * than the endpoint rules': an endpoint's final is a result handed to the
 * caller, built when it fires (not counted here).
 *
 *   test_hot_alloc [DATA_DIR] */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "sori/asr.h"

#ifdef SORI_TEST_UNDER_SANITIZER /* the sanitizer owns malloc: no wrappers of ours beside it */
int main(void)
{
    printf("test_hot_alloc: skipped under a sanitizer (it replaces the allocator)\n");
    return 77;
}
#else
/* ---- counting allocator ------------------------------------------------------------------ */
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void __libc_free(void *);

static atomic_int g_counting;
static atomic_long g_allocs, g_frees;

/* SORI_TEST_ALLOC_TRACE=1: the callers of counted allocations are kept and
 * printed (backtrace_symbols; addr2line -f -e test_hot_alloc ADDR names them) */
enum { TRACE_MAX = 64 };
static void *g_trace[TRACE_MAX];
static atomic_int g_n_trace;
static int g_tracing;

static void count_alloc(void *caller)
{
    atomic_fetch_add(&g_allocs, 1);
    if (g_tracing) {
        int i = atomic_fetch_add(&g_n_trace, 1);
        if (i < TRACE_MAX)
            g_trace[i] = caller;
    }
}

void *malloc(size_t n)
{
    if (atomic_load_explicit(&g_counting, memory_order_relaxed))
        count_alloc(__builtin_return_address(0));
    return __libc_malloc(n);
}

void *calloc(size_t a, size_t b)
{
    if (atomic_load_explicit(&g_counting, memory_order_relaxed))
        count_alloc(__builtin_return_address(0));
    return __libc_calloc(a, b);
}

void *realloc(void *p, size_t n)
{
    if (atomic_load_explicit(&g_counting, memory_order_relaxed))
        count_alloc(__builtin_return_address(0));
    return __libc_realloc(p, n);
}

int posix_memalign(void **out, size_t align, size_t n)
{
    if (atomic_load_explicit(&g_counting, memory_order_relaxed))
        count_alloc(__builtin_return_address(0));
    void *p = __libc_memalign(align, n);
    if (!p)
        return 12; /* ENOMEM */
    *out = p;
    return 0;
}

void *aligned_alloc(size_t align, size_t n)
{
    if (atomic_load_explicit(&g_counting, memory_order_relaxed))
        count_alloc(__builtin_return_address(0));
    return __libc_memalign(align, n);
}

void free(void *p)
{
    if (p && atomic_load_explicit(&g_counting, memory_order_relaxed))
        atomic_fetch_add(&g_frees, 1);
    __libc_free(p);
}

/* ---- the test -------------------------------------------------------------------------------- */

enum { RATE = 16000 };

/* A signal with speech-like energy changes (the decoder must emit tokens and
 * the endpoint rules see pauses). */
static void make_signal(float *x, int64_t n, int rate, unsigned seed)
{
    for (int64_t i = 0; i < n; i++) {
        double t = (double)i / rate;
        double env = fmod(t, 2.0) < 1.4 ? 1.0 : 0.02; /* 1.4 s "words", 0.6 s pauses */
        seed = seed * 1664525u + 1013904223u;
        double noise = ((seed >> 8) / 16777216.0 - 0.5) * 0.05;
        x[i] = (float)(env * (0.3 * sin(2 * M_PI * (180 + 60 * sin(t * 3)) * t) + noise));
    }
}

static void run(const char *what, const char *model_path, const char *lm_path, int beam, int n_streams, int rate)
{
    sori_runtime_params rp = sori_runtime_default_params();
    rp.device = SORI_DEVICE_CPU;
    rp.n_threads = 2;
    sori_runtime *rt = NULL;
    sori_asr_model *m = NULL;
    sori_error err = {0};
    sori_asr_model_params mp = sori_asr_model_default_params();
    mp.lm_path = lm_path;
    mp.beam = beam;
    if (sori_runtime_create(&rp, &rt, &err) != SORI_OK ||
        sori_asr_model_load(rt, model_path, &mp, &m, &err) != SORI_OK) {
        CHECK(0, "%s: %s", what, err.message);
        sori_runtime_free(rt);
        return;
    }
    sori_asr_stream *s[8] = {0};
    sori_asr_stream_params sp = sori_asr_stream_default_params();
    for (int i = 0; i < n_streams; i++)
        CHECK_STATUS(sori_asr_stream_create(m, &sp, &s[i], &err), SORI_OK);
    const int64_t n = (int64_t)rate * 12, packet = rate / 10;
    float *x = malloc((size_t)n * sizeof(float));
    make_signal(x, n, rate, 7);
    long allocs = 0, frees = 0, packets = 0;
    sori_status st = SORI_OK;
    for (int64_t off = 0; off + packet <= n && st == SORI_OK; off += packet) {
        const int counted = off >= rate * 3; /* after a 3 s warm-up */
        if (counted) {
            atomic_store(&g_allocs, 0);
            atomic_store(&g_frees, 0);
            atomic_store(&g_counting, 1);
        }
        for (int i = 0; i < n_streams && st == SORI_OK; i++)
            st = sori_asr_stream_accept(s[i], x + off, packet, rate, &err);
        sori_asr_stream *ready[8];
        int nr;
        do {
            nr = 0;
            for (int i = 0; i < n_streams; i++)
                if (sori_asr_stream_is_ready(s[i]))
                    ready[nr++] = s[i];
            if (nr && st == SORI_OK)
                st = sori_asr_decode_ready(m, ready, nr, &err);
        } while (nr && st == SORI_OK);
        atomic_store(&g_counting, 0);
        if (counted) {
            allocs += atomic_load(&g_allocs);
            frees += atomic_load(&g_frees);
            packets++;
        }
        /* outside the window, as a server does: partials and finals go to the caller */
        for (int i = 0; i < n_streams && st == SORI_OK; i++) {
            sori_asr_result *r = NULL;
            while (st == SORI_OK && (st = sori_asr_stream_pop_final(s[i], &r, &err)) == SORI_OK && r) {
                sori_asr_result_free(r);
                r = NULL;
            }
        }
    }
    CHECK(st == SORI_OK, "%s: %s", what, err.message);
    sori_asr_result *r = NULL;
    CHECK_STATUS(sori_asr_stream_input_finished(s[0], &err), SORI_OK);
    while (sori_asr_stream_is_ready(s[0]) && sori_asr_decode_ready(m, &s[0], 1, &err) == SORI_OK) {
    }
    CHECK_STATUS(sori_asr_stream_result(s[0], &r, &err), SORI_OK);
    printf("%-36s %5d Hz %2d stream(s): %ld packets counted, %ld allocations, %ld frees\n", what, rate, n_streams,
           packets, allocs, frees);
    CHECK(packets >= 80, "%s: only %ld packets in the counted window", what, packets);
    CHECK(allocs == 0 && frees == 0, "%s: %ld allocations and %ld frees in steady-state streaming", what, allocs,
          frees);
    for (int i = 0; g_tracing && i < atomic_load(&g_n_trace) && i < TRACE_MAX; i++)
    {
        Dl_info di;
        if (dladdr(g_trace[i], &di) && di.dli_fbase)
            printf("  allocation from %s +0x%lx\n", di.dli_fname,
                   (unsigned long)((char *)g_trace[i] - (char *)di.dli_fbase));
    }
    atomic_store(&g_n_trace, 0);
    sori_asr_result_free(r);
    for (int i = 0; i < n_streams; i++)
        sori_asr_stream_free(s[i]);
    free(x);
    sori_asr_model_free(m);
    sori_runtime_free(rt);
}

int main(int argc, char **argv)
{
    g_tracing = getenv("SORI_TEST_ALLOC_TRACE") != NULL;
    const char *fixture = SORI_FIXTURE_DIR "/stream/hybrid_stream.gguf";
    run("fixture (hybrid, RNN-T greedy)", fixture, NULL, 0, 1, RATE);
    run("fixture (hybrid, RNN-T greedy)", fixture, NULL, 0, 8, RATE);
    run("fixture, 8 kHz input (resampled)", fixture, NULL, 0, 8, 8000);
    const char *data = argc > 1 ? argv[1] : NULL;
    if (data) {
        char model[1024], lm[1024];
        snprintf(model, sizeof model, "%s/ko-fastconformer-ctc.gguf", data);
        snprintf(lm, sizeof lm, "%s/ko-tokens-4gram.gguf", data);
        if (access(model, R_OK) == 0) {
            run("bundled Conformer (CTC greedy)", model, NULL, 0, 1, RATE);
            run("bundled Conformer (CTC greedy)", model, NULL, 0, 8, RATE);
            if (access(lm, R_OK) == 0) {
                run("bundled Conformer + LM (beam 8)", model, lm, 8, 1, RATE);
                run("bundled Conformer + LM (beam 8)", model, lm, 8, 8, 8000);
            }
        } else {
            printf("test_hot_alloc: no bundled model in %s: the fixture only\n", data);
        }
    }
    return check_finish("test_hot_alloc");
}
#endif
