/* The runtime's own CPU thread pool. A job is a parallel-for over [0, n)
 * cut into one contiguous part per thread. Parts are claimed through an
 * atomic counter rather than assigned, so a worker that is asleep or has
 * lost its core (common on a small shared machine) does not hold the caller
 * up: the caller, done with its own part, takes the unclaimed ones.
 * Workers spin briefly between jobs (ops follow each other within
 * microseconds in a forward pass) and then sleep on a condition variable.
 * OpenBLAS is kept single-threaded by the runtime, so the cores are shared
 * out here and only here. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "../kernels.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define cpu_relax() _mm_pause()
#else
#define cpu_relax() ((void)0)
#endif

/* Spin iterations before sleeping: tens of microseconds. */
#define SPIN_ITERS 20000

struct sori_thread_pool {
    int n_threads;
    pthread_t *threads;
    pthread_mutex_t lock;  /* with the condition variables below */
    pthread_cond_t wake;   /* a new job or stop */
    pthread_cond_t done;   /* the last part of a job finished */
    pthread_mutex_t user;  /* held by the one caller of a job */
    atomic_uint generation;
    atomic_int stop;
    /* generation << 32 | parts << 16 | next part: a claim is valid only for
     * the job it was made for, and the part count travels with it, so a
     * late worker never reads the fields of a job being set up. */
    atomic_uint_fast64_t claim;
    atomic_int parts_done;
    /* the job: written before `claim` is published, stable until every part
     * is done */
    int n_parts;
    sori_task_fn fn;
    void *ctx;
    int64_t n, chunk;
};

typedef struct {
    sori_thread_pool *p;
} worker_arg;

/* Claims and runs parts of job `gen` until none are left. */
static void run_parts(sori_thread_pool *p, uint32_t gen)
{
    for (;;) {
        uint64_t v = atomic_load_explicit(&p->claim, memory_order_acquire);
        if ((uint32_t)(v >> 32) != gen || (v & 0xffff) >= ((v >> 16) & 0xffff))
            return;
        if (!atomic_compare_exchange_weak_explicit(&p->claim, &v, v + 1, memory_order_acq_rel,
                                                   memory_order_relaxed))
            continue;
        int part = (int)(v & 0xffff), n_parts = (int)((v >> 16) & 0xffff);
        int64_t begin = (int64_t)part * p->chunk;
        int64_t end = begin + p->chunk;
        if (end > p->n)
            end = p->n;
        if (begin < end)
            p->fn(p->ctx, begin, end);
        /* n_parts from the claim: once the last part is counted the caller
         * may already be setting up the next job */
        if (atomic_fetch_add_explicit(&p->parts_done, 1, memory_order_acq_rel) + 1 == n_parts) {
            pthread_mutex_lock(&p->lock);
            pthread_cond_signal(&p->done);
            pthread_mutex_unlock(&p->lock);
        }
    }
}

static void *worker_main(void *arg)
{
    sori_thread_pool *p = ((worker_arg *)arg)->p;
    free(arg);
    sori_cpu_thread_start();
    uint32_t seen = atomic_load(&p->generation);
    for (;;) {
        int spins = 0;
        while (atomic_load_explicit(&p->generation, memory_order_acquire) == seen &&
               !atomic_load_explicit(&p->stop, memory_order_relaxed) && spins < SPIN_ITERS) {
            cpu_relax();
            spins++;
        }
        if (atomic_load(&p->generation) == seen && !atomic_load(&p->stop)) {
            pthread_mutex_lock(&p->lock);
            while (atomic_load(&p->generation) == seen && !atomic_load(&p->stop))
                pthread_cond_wait(&p->wake, &p->lock);
            pthread_mutex_unlock(&p->lock);
        }
        if (atomic_load(&p->stop))
            break;
        seen = atomic_load_explicit(&p->generation, memory_order_acquire);
        run_parts(p, seen);
    }
    return NULL;
}

sori_status sori_thread_pool_create(int n_threads, sori_thread_pool **out, sori_error *err)
{
    *out = NULL;
    if (n_threads < 1 || n_threads > 256)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "thread pool: n_threads %d not in 1..256",
                         n_threads);
    sori_thread_pool *p = calloc(1, sizeof *p);
    if (!p)
        return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "thread pool: out of memory");
    p->n_threads = 1; /* threads started so far, the caller counted */
    pthread_mutex_init(&p->lock, NULL);
    pthread_mutex_init(&p->user, NULL);
    pthread_cond_init(&p->wake, NULL);
    pthread_cond_init(&p->done, NULL);
    atomic_init(&p->generation, 0);
    atomic_init(&p->stop, 0);
    atomic_init(&p->claim, 0);
    atomic_init(&p->parts_done, 0);
    p->threads = calloc((size_t)n_threads, sizeof(pthread_t));
    if (!p->threads) {
        sori_thread_pool_free(p);
        return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "thread pool: out of memory");
    }
    for (int i = 1; i < n_threads; i++) {
        worker_arg *wa = malloc(sizeof *wa);
        if (wa)
            wa->p = p;
        if (!wa || pthread_create(&p->threads[i], NULL, worker_main, wa) != 0) {
            free(wa);
            sori_thread_pool_free(p);
            return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "thread pool: cannot start thread %d", i);
        }
        p->n_threads = i + 1;
    }
    *out = p;
    return SORI_OK;
}

void sori_thread_pool_free(sori_thread_pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    atomic_store(&p->stop, 1);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);
    for (int i = 1; i < p->n_threads; i++)
        pthread_join(p->threads[i], NULL);
    free(p->threads);
    pthread_mutex_destroy(&p->lock);
    pthread_mutex_destroy(&p->user);
    pthread_cond_destroy(&p->wake);
    pthread_cond_destroy(&p->done);
    free(p);
}

int sori_thread_pool_size(const sori_thread_pool *p)
{
    return p ? p->n_threads : 1;
}

void sori_parallel_for(sori_thread_pool *p, int64_t n, int64_t grain, sori_task_fn fn, void *ctx)
{
    if (n <= 0)
        return;
    if (grain < 1)
        grain = 1;
    int64_t max_parts = n / grain;
    if (!p || p->n_threads == 1 || max_parts < 2 || pthread_mutex_trylock(&p->user) != 0) {
        fn(ctx, 0, n);
        return;
    }
    int parts = p->n_threads < max_parts ? p->n_threads : (int)max_parts;
    p->fn = fn;
    p->ctx = ctx;
    p->n = n;
    p->chunk = (n + parts - 1) / parts;
    p->n_parts = (int)((n + p->chunk - 1) / p->chunk);
    atomic_store_explicit(&p->parts_done, 0, memory_order_relaxed);
    uint32_t gen = atomic_load(&p->generation) + 1;
    atomic_store_explicit(&p->claim, (uint64_t)gen << 32 | (uint64_t)p->n_parts << 16,
                          memory_order_release);
    pthread_mutex_lock(&p->lock);
    atomic_store_explicit(&p->generation, gen, memory_order_release);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);

    run_parts(p, gen);

    for (int spins = 0; atomic_load_explicit(&p->parts_done, memory_order_acquire) < p->n_parts &&
                        spins < SPIN_ITERS; spins++)
        cpu_relax();
    if (atomic_load_explicit(&p->parts_done, memory_order_acquire) < p->n_parts) {
        pthread_mutex_lock(&p->lock);
        while (atomic_load(&p->parts_done) < p->n_parts)
            pthread_cond_wait(&p->done, &p->lock);
        pthread_mutex_unlock(&p->lock);
    }
    pthread_mutex_unlock(&p->user);
}
