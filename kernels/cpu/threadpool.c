/* The runtime's own CPU thread pool. Workers sleep on a condition variable
 * between jobs; each job is a parallel-for over [0, n) split into one
 * contiguous range per thread (static split: the ops are regular). The
 * calling thread runs range 0 itself. OpenBLAS is kept single-threaded by the
 * runtime, so the cores are shared out here and only here. */
#include <pthread.h>
#include <stdlib.h>

#include "../kernels.h"

struct sori_thread_pool {
    int n_threads;
    pthread_t *threads;
    pthread_mutex_t lock;     /* guards the job fields below */
    pthread_cond_t wake;      /* a new job (generation changed) or stop */
    pthread_cond_t done;      /* a worker finished its part */
    pthread_mutex_t user;     /* held by the one caller of a job */
    uint64_t generation;
    int pending;
    int stop;
    sori_task_fn fn;
    void *ctx;
    int64_t n, chunk;
};

typedef struct {
    sori_thread_pool *p;
    int index;
} worker_arg;

static void run_part(sori_thread_pool *p, int index)
{
    int64_t begin = (int64_t)index * p->chunk;
    int64_t end = begin + p->chunk;
    if (end > p->n)
        end = p->n;
    if (begin < end)
        p->fn(p->ctx, begin, end);
}

static void *worker_main(void *arg)
{
    worker_arg wa = *(worker_arg *)arg;
    free(arg);
    sori_thread_pool *p = wa.p;
    uint64_t seen = 0;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (!p->stop && p->generation == seen)
            pthread_cond_wait(&p->wake, &p->lock);
        if (p->stop)
            break;
        seen = p->generation;
        pthread_mutex_unlock(&p->lock);
        run_part(p, wa.index);
        pthread_mutex_lock(&p->lock);
        if (--p->pending == 0)
            pthread_cond_signal(&p->done);
    }
    pthread_mutex_unlock(&p->lock);
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
    p->n_threads = n_threads;
    pthread_mutex_init(&p->lock, NULL);
    pthread_mutex_init(&p->user, NULL);
    pthread_cond_init(&p->wake, NULL);
    pthread_cond_init(&p->done, NULL);
    p->threads = calloc((size_t)n_threads, sizeof(pthread_t));
    if (!p->threads) {
        sori_thread_pool_free(p);
        return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "thread pool: out of memory");
    }
    for (int i = 1; i < n_threads; i++) {
        worker_arg *wa = malloc(sizeof *wa);
        if (wa) {
            wa->p = p;
            wa->index = i;
        }
        if (!wa || pthread_create(&p->threads[i], NULL, worker_main, wa) != 0) {
            free(wa);
            p->n_threads = i; /* join only those started */
            sori_thread_pool_free(p);
            return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "thread pool: cannot start thread %d", i);
        }
    }
    *out = p;
    return SORI_OK;
}

void sori_thread_pool_free(sori_thread_pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    p->stop = 1;
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
    int64_t parts = n / grain;
    if (!p || p->n_threads == 1 || parts < 2 || pthread_mutex_trylock(&p->user) != 0) {
        fn(ctx, 0, n);
        return;
    }
    int use = p->n_threads;
    if (parts < use)
        use = (int)parts;
    pthread_mutex_lock(&p->lock);
    p->fn = fn;
    p->ctx = ctx;
    p->n = n;
    p->chunk = (n + use - 1) / use;
    /* Workers whose range is empty still check in, so pending counts all. */
    p->pending = p->n_threads - 1;
    p->generation++;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);

    run_part(p, 0);

    pthread_mutex_lock(&p->lock);
    while (p->pending > 0)
        pthread_cond_wait(&p->done, &p->lock);
    pthread_mutex_unlock(&p->lock);
    pthread_mutex_unlock(&p->user);
}
