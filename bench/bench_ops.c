/* Kernel benchmark: sori's CPU ops next to OpenBLAS on the same shapes, in
 * one run, at Conformer sizes (d_model 144-512, 4-1500 frames, batch
 * 1-32). Each timing is the median of 30 runs, taken in 10 alternating
 * blocks of sori and the peer so that machine noise hits both alike.
 *
 *   bench_ops [--threads N] [--runs R] [--quick] [--shape M,N,K] [--verbose]
 *
 * --shape times one matmul (M rows, weight [N, K]) alone; --verbose prints
 * every run's time in the order taken; each line ends with the fastest and
 * slowest run of sori / the peer in ms.
 *
 * matmul / pointwise conv: sori_rt_run (our pool over row blocks, OpenBLAS
 *   single-threaded inside) vs one cblas_sgemm call with OpenBLAS's own N
 *   threads. Goal: within 10%.
 * attention: the fused op vs the same work as plain sgemm calls per head
 *   (OpenBLAS's N threads) plus a softmax split over rows on N threads (a
 *   thread pool in the peer's process, as a framework's softmax op has).
 *   Goal: no slower.
 * depthwise conv / conv2d: GFLOP/s (no OpenBLAS equivalent).
 *
 * CPU mode prints the load average first and, at the end, the share of all
 * CPUs other processes took during the run (busy jiffies of /proc/stat less
 * this process's and its children's CPU time); over 20 % it prints a BUSY
 * line and exits with status 3: the numbers are not valid. */
#ifdef SORI_HAVE_OPENBLAS
#include <cblas.h>
#endif
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kernels/cpu/gemm_p16.h"
#include "kernels/opcheck.h"
#ifdef SORI_HAVE_AUDIO_IO
#include "sori/features.h"
#endif

static int g_runs = 3; /* per block */
#define ROUNDS 10     /* alternating blocks of sori and the peer */
static int g_threads = 2;
static int g_verbose = 0; /* --verbose: every run's time, in the order taken */

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

typedef void (*bench_fn)(void *ctx);

/* A quiet machine: CPU use of everything (/proc/stat) and of this process
 * with its waited-for children (getrusage) at one moment. */
typedef struct {
    double busy; /* seconds of all CPUs not idle or waiting for I/O; < 0 if unknown */
    double own;  /* CPU seconds of this process and its waited-for children */
    double wall;
} cpu_mark;

static double tv_seconds(struct timeval tv)
{
    return (double)tv.tv_sec + (double)tv.tv_usec * 1e-6;
}

static cpu_mark cpu_mark_now(void)
{
    cpu_mark m = {-1.0, 0.0, sori_now_seconds()};
    unsigned long long v[10] = {0};
    FILE *f = fopen("/proc/stat", "r");
    long hz = sysconf(_SC_CLK_TCK);
    if (f && hz > 0 &&
        fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4],
               &v[5], &v[6], &v[7], &v[8], &v[9]) >= 4) {
        unsigned long long busy = 0;
        for (int i = 0; i < 10; i++) /* all but idle and iowait, as bench/peers.py */
            busy += i == 3 || i == 4 ? 0 : v[i];
        m.busy = (double)busy / (double)hz;
    }
    if (f)
        fclose(f);
    struct rusage self, children;
    getrusage(RUSAGE_SELF, &self);
    getrusage(RUSAGE_CHILDREN, &children);
    m.own = tv_seconds(self.ru_utime) + tv_seconds(self.ru_stime) + tv_seconds(children.ru_utime) +
            tv_seconds(children.ru_stime);
    return m;
}

/* The share of all CPUs other processes took between a and b; < 0 if unknown. */
static double others_share(cpu_mark a, cpu_mark b)
{
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    double wall = b.wall - a.wall;
    if (a.busy < 0 || b.busy < 0 || ncpu < 1 || wall <= 0)
        return -1.0;
    double others = (b.busy - a.busy) - (b.own - a.own);
    return others > 0 ? others / (wall * (double)ncpu) : 0.0;
}

static void print_load_average(void)
{
    double l1, l5, l15;
    FILE *f = fopen("/proc/loadavg", "r");
    if (f && fscanf(f, "%lf %lf %lf", &l1, &l5, &l15) == 3)
        printf("load average at the start: %.2f (1 min), %.2f (5 min); %ld CPUs\n", l1, l5,
               sysconf(_SC_NPROCESSORS_ONLN));
    if (f)
        fclose(f);
}

static void pause_ms(int ms)
{
    struct timespec ts = {0, (long)ms * 1000000L};
    nanosleep(&ts, NULL);
}

/* Times `runs` calls of f after a warm-up of at least 30 ms of calls (on a
 * virtual machine an idle virtual core takes milliseconds to get a real one
 * back; both libraries get the same warm-up); writes the times to t. */
static void time_block(bench_fn f, void *fc, double *t)
{
    double w0 = sori_now_seconds();
    do
        f(fc);
    while (sori_now_seconds() - w0 < 0.03);
    for (int r = 0; r < g_runs; r++) {
        double t0 = sori_now_seconds();
        f(fc);
        t[r] = sori_now_seconds() - t0;
    }
}

/* The same in a child process, so the peer's threads (OpenBLAS keeps its
 * own pool spinning after each call) never share the process, or steal the
 * cores, of sori's measurements. */
static void time_block_forked(bench_fn f, void *fc, double *t)
{
    int fd[2];
    if (pipe(fd) != 0) {
        perror("pipe");
        exit(1);
    }
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        exit(1);
    }
    if (pid == 0) {
        close(fd[0]);
        time_block(f, fc, t);
        ssize_t w = write(fd[1], t, (size_t)g_runs * sizeof(double));
        _exit(w == (ssize_t)(g_runs * sizeof(double)) ? 0 : 1);
    }
    close(fd[1]);
    size_t want = (size_t)g_runs * sizeof(double), got = 0;
    while (got < want) {
        ssize_t r = read(fd[0], (char *)t + got, want - got);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    if (got != want || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "bench: the peer's process failed\n");
        exit(1);
    }
}

/* Medians of sori (f, in this process) and the peer (g, in a child
 * process), measured in alternating blocks with pauses between them so the
 * threads of one have gone quiet before the other is timed; the spread
 * (fastest and slowest run of each side) goes to spread[4]. On this shared
 * VM a whole block now and then runs 1.5x slow (another tenant took a
 * core): ten blocks keep such blocks out of the median. */
__attribute__((unused)) static void time_pair(bench_fn f, void *fc, bench_fn g, void *gc, double *tf, double *tg,
                                              double spread[4])
{
    double a[ROUNDS * 64], b[ROUNDS * 64];
    int n = 0;
    for (int round = 0; round < ROUNDS; round++) {
        time_block(f, fc, a + n);
        pause_ms(60);
        time_block_forked(g, gc, b + n);
        pause_ms(60);
        n += g_runs;
    }
    if (g_verbose) {
        printf("  sori ms:");
        for (int i = 0; i < n; i++)
            printf(" %.3f", a[i] * 1e3);
        printf("\n  peer ms:");
        for (int i = 0; i < n; i++)
            printf(" %.3f", b[i] * 1e3);
        printf("\n");
    }
    qsort(a, (size_t)n, sizeof(double), cmp_d);
    qsort(b, (size_t)n, sizeof(double), cmp_d);
    *tf = a[n / 2];
    *tg = b[n / 2];
    spread[0] = a[0];
    spread[1] = a[n - 1];
    spread[2] = b[0];
    spread[3] = b[n - 1];
}

typedef struct {
    sori_runtime *rt;
    sori_op_desc *op;
} sori_ctx;

static void run_sori(void *v)
{
    sori_ctx *c = v;
    sori_error err;
    if (sori_rt_run(c->rt, 0, c->op, &err) != SORI_OK) {
        fprintf(stderr, "bench: %s\n", err.message);
        exit(1);
    }
}

#ifdef SORI_HAVE_OPENBLAS
static void run_blas(void *v)
{
    const sori_matmul_desc *d = v;
    openblas_set_num_threads(g_threads);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, d->trans_b ? CblasTrans : CblasNoTrans, d->m, d->n,
                d->k, 1.0f, d->a, (int)d->lda, (const float *)d->b, (int)d->ldb, 0.0f, d->c,
                (int)d->ldc);
}

/* The peer's softmax: rows [begin, end) of a t_q x t_k score matrix. */
typedef struct {
    float *scores;
    int cols;
} softmax_job;

static void softmax_rows(void *ctx, int64_t begin, int64_t end)
{
    const softmax_job *j = ctx;
    for (int64_t i = begin; i < end; i++) {
        float *s = j->scores + i * j->cols, mx = -INFINITY, sum = 0;
        for (int k = 0; k < j->cols; k++)
            mx = s[k] > mx ? s[k] : mx;
        for (int k = 0; k < j->cols; k++)
            sum += (s[k] = expf(s[k] - mx));
        for (int k = 0; k < j->cols; k++)
            s[k] /= sum;
    }
}

/* attention as plain sgemm calls + softmax (no relative positions, no
 * masks); the softmax split over rows on g_threads threads of a pool made
 * in the peer's process on its first call */
static void run_att_blas(void *v)
{
    const sori_attention_desc *d = v;
    static float *scores;
    static size_t cap;
    static sori_thread_pool *pool;
    size_t need = (size_t)d->t_q * d->t_k;
    if (cap < need) {
        free(scores);
        scores = malloc(need * sizeof(float));
        cap = need;
    }
    if (!pool) {
        sori_error err = {0};
        if (sori_thread_pool_create(g_threads, &pool, &err) != SORI_OK) {
            fprintf(stderr, "bench: %s\n", err.message);
            exit(1);
        }
    }
    openblas_set_num_threads(g_threads);
    int hk = d->heads * d->d_k;
    for (int b = 0; b < d->batch; b++)
        for (int h = 0; h < d->heads; h++) {
            const float *q = d->q + (int64_t)b * d->t_q * hk + h * d->d_k;
            const float *k = d->k + (int64_t)b * d->t_k * hk + h * d->d_k;
            const float *vv = d->v + (int64_t)b * d->t_k * hk + h * d->d_k;
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, d->t_q, d->t_k, d->d_k, d->scale,
                        q, hk, k, hk, 0.0f, scores, d->t_k);
            softmax_job job = {scores, d->t_k};
            sori_parallel_for(pool, d->t_q, (1024 + d->t_k - 1) / d->t_k, softmax_rows, &job);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, d->t_q, d->d_k, d->t_k, 1.0f,
                        scores, d->t_k, vv, hk, 0.0f, d->out + (int64_t)b * d->t_q * hk + h * d->d_k,
                        hk);
        }
}

#endif

static void time_alone(bench_fn f, void *fc, double *tf)
{
    double a[ROUNDS * 64];
    for (int round = 0; round < ROUNDS; round++) {
        time_block(f, fc, a + round * g_runs);
        pause_ms(20);
    }
    qsort(a, (size_t)(ROUNDS * g_runs), sizeof(double), cmp_d);
    *tf = a[ROUNDS * g_runs / 2];
}

#ifdef SORI_HAVE_OPENBLAS
/* log-ratio sums for geometric means; "large" = at least 250 rows, where
 * the product is compute-bound rather than latency-bound */
static double g_log_mm, g_log_mm_large, g_log_att;
static int g_n_mm, g_n_mm_large, g_n_att, g_within_large;
static double g_worst_mm_large = 1e9, g_worst_att = 1e9;
/* the same by the fastest run of each side (what is left when a slow spell
 * of the machine hits one side's runs more than the other's) */
static double g_log_best_large, g_worst_best_large = 1e9;

/* sori's product with the weight as a model loader prepares it (packed for
 * sori's own kernel where sori_p16_preferred says so, else PyTorch layout
 * and sgemm inside) against one sgemm call on the PyTorch-layout weight */
static void bench_matmul(sori_runtime *rt, sori_rng *r, const char *what, int rows, int n, int k)
{
    const bool packed = sori_rt_supports(rt, SORI_OP_MATMUL, SORI_F32_P16) && sori_p16_preferred(n, k);
    sori_rng r2 = *r; /* the same operands for both cases */
    sori_opcase *c = sori_opcase_matmul(r, 1, rows, n, k, false, true, true, false, 0.0f,
                                        SORI_ACT_NONE, SORI_F32);
    sori_opcase *cs = packed ? sori_opcase_matmul(&r2, 1, rows, n, k, false, true, true, false, 0.0f,
                                                  SORI_ACT_NONE, SORI_F32_P16) : NULL;
    if (!c || (packed && !cs))
        exit(1);
    sori_ctx sc = {rt, packed ? &cs->desc : &c->desc};
    double ts, tb, sp[4];
    time_pair(run_sori, &sc, run_blas, &c->desc.u.matmul, &ts, &tb, sp);
    double gf = 2.0 * rows * n * k * 1e-9;
    double ratio = tb / ts; /* > 1: sori faster */
    printf("%-12s M=%-6d N=%-5d K=%-5d  sori %7.1f GFLOP/s  openblas %7.1f GFLOP/s  ratio %.2f  (%s)"
           "  ms %.3g-%.3g / %.3g-%.3g\n",
           what, rows, n, k, gf / ts, gf / tb, ratio, packed ? "packed" : "sgemm", sp[0] * 1e3, sp[1] * 1e3,
           sp[2] * 1e3, sp[3] * 1e3);
    sori_opcase_free(cs);
    g_log_mm += log(ratio);
    g_n_mm++;
    if (rows >= 250) {
        g_log_mm_large += log(ratio);
        g_n_mm_large++;
        g_within_large += ratio >= 0.9;
        if (ratio < g_worst_mm_large)
            g_worst_mm_large = ratio;
        g_log_best_large += log(sp[2] / sp[0]);
        if (sp[2] / sp[0] < g_worst_best_large)
            g_worst_best_large = sp[2] / sp[0];
    }
    sori_opcase_free(c);
}

static void bench_attention(sori_runtime *rt, sori_rng *r, int batch, int t, int d_model, int heads)
{
    sori_opcase *c = sori_opcase_attention(r, batch, heads, t, t, d_model / heads, false,
                                           SORI_ATT_FULL, -1, -1, 0, false);
    if (!c)
        exit(1);
    sori_ctx sc = {rt, &c->desc};
    double ts, tb, sp[4];
    time_pair(run_sori, &sc, run_att_blas, &c->desc.u.attention, &ts, &tb, sp);
    double gf = 4.0 * batch * heads * (double)t * t * (d_model / heads) * 1e-9;
    double ratio = tb / ts;
    printf("attention    B=%-3d T=%-5d d=%-4d h=%d  sori %7.1f GFLOP/s  sgemm+softmax %7.1f GFLOP/s  ratio %.2f"
           "  ms %.3g-%.3g / %.3g-%.3g\n",
           batch, t, d_model, heads, gf / ts, gf / tb, ratio, sp[0] * 1e3, sp[1] * 1e3, sp[2] * 1e3, sp[3] * 1e3);
    g_log_att += log(ratio);
    g_n_att++;
    if (ratio < g_worst_att)
        g_worst_att = ratio;
    sori_opcase_free(c);
}

#endif

__attribute__((unused)) static void bench_alone(sori_runtime *rt, sori_opcase *c, double flops)
{
    if (!c)
        exit(1);
    sori_ctx sc = {rt, &c->desc};
    double ts;
    time_alone(run_sori, &sc, &ts);
    printf("%-78s sori %7.1f GFLOP/s (%.3f ms)\n", c->label, flops * 1e-9 / ts, ts * 1e3);
    sori_opcase_free(c);
}

/* GPU mode: sori's ops on a CUDA device, data already on the device, timed
 * with a stream synchronize (median of --runs after a warm-up). */
static void gpu_case(sori_runtime *rt, sori_opcase *c, double flops)
{
    if (!c)
        exit(1);
    double t;
    sori_error err = {0};
    if (sori_opbench(rt, 0, &c->desc, 2 * g_runs, &t, &err) != SORI_OK) {
        printf("%-84s FAILED: %s\n", c->label, err.message);
    } else {
        printf("%-84s %9.1f GFLOP/s %9.3f ms\n", c->label, flops * 1e-9 / t, t * 1e3);
    }
    sori_opcase_free(c);
}

static int bench_gpu(sori_runtime *rt)
{
    sori_rng r;
    sori_rng_seed(&r, 1);
    printf("bench_ops --device cuda: median of %d runs, device-resident data\n\n", 2 * g_runs);
    const int dims[] = {144, 256, 512};
    const int rows[] = {4 * 16, 250, 16 * 250, 32 * 250};
    for (int di = 0; di < 3; di++)
        for (int ri = 0; ri < 4; ri++) {
            int d = dims[di], m = rows[ri];
            gpu_case(rt, sori_opcase_matmul(&r, 1, m, 4 * d, d, false, true, true, true, 0.0f, SORI_ACT_SILU, SORI_F32), 2.0 * m * 4 * d * d);
            gpu_case(rt, sori_opcase_matmul(&r, 1, m, 4 * d, d, false, true, true, true, 0.0f, SORI_ACT_SILU, SORI_F16), 2.0 * m * 4 * d * d);
        }
    const int att[][4] = {{1, 250, 256, 4}, {16, 250, 256, 4}, {32, 250, 512, 8}, {1, 1500, 512, 8}};
    for (int i = 0; i < 4; i++) {
        int b = att[i][0], t = att[i][1], d = att[i][2], h = att[i][3];
        gpu_case(rt, sori_opcase_attention(&r, b, h, t, t, d / h, true, SORI_ATT_FULL, -1, -1, 0, false),
                 6.0 * b * h * (double)t * t * (d / h));
    }
    gpu_case(rt, sori_opcase_conv1d(&r, 16, 250, 256, 256, 31, 1, 15, 15, true, true, SORI_ACT_SILU), 2.0 * 16 * 250 * 256 * 31);
    gpu_case(rt, sori_opcase_conv2d(&r, 16, 1, 1000, 80, 256, 3, 3, 2, 2, 1, 1, 1, 1, false, SORI_ACT_RELU), 2.0 * 16 * 256 * 500 * 40 * 9);
    gpu_case(rt, sori_opcase_conv2d(&r, 16, 256, 500, 40, 256, 3, 3, 2, 2, 1, 1, 1, 1, true, SORI_ACT_NONE), 2.0 * 16 * 256 * 250 * 20 * 9);
    gpu_case(rt, sori_opcase_layer_norm(&r, 16 * 250, 512, true, false), 8.0 * 16 * 250 * 512);
    gpu_case(rt, sori_opcase_lstm(&r, 32, 640, 640), 2.0 * 32 * 4 * 640 * 1280);
#ifdef SORI_HAVE_AUDIO_IO
    /* batched Kaldi fbank: 64 signals of 10 s, host framing included */
    {
        enum { NB = 64 };
        const int64_t n = 160000;
        sori_feature_params fp = sori_feature_default_params(SORI_FEAT_KALDI);
        fp.n_mels = 80;
        sori_features *fx = NULL;
        sori_error err = {0};
        if (sori_features_create(&fp, &fx, &err) == SORI_OK) {
            float *sig = malloc((size_t)n * sizeof(float));
            sori_rng_fill(&r, sig, n, -0.3f, 0.3f);
            const float *in[NB];
            float *out[NB];
            int64_t lens[NB], maxf[NB], got[NB];
            for (int b = 0; b < NB; b++) {
                in[b] = sig;
                lens[b] = n;
                maxf[b] = sori_features_num_frames(fx, n);
                out[b] = malloc((size_t)maxf[b] * 80 * sizeof(float));
            }
            double t[64];
            int ok = 1;
            for (int k = 0; k <= 2 * g_runs && ok; k++) {
                double t0 = sori_now_seconds();
                ok = sori_features_compute_batch(rt, 0, fx, NB, in, lens, out, maxf, got, &err) == SORI_OK;
                if (k > 0)
                    t[k - 1] = sori_now_seconds() - t0;
            }
            if (ok) {
                qsort(t, (size_t)(2 * g_runs), sizeof(double), cmp_d);
                double med = t[g_runs], hours = NB * 10.0 / 3600.0;
                printf("%-84s %9.3f ms  %.1f hours of audio per second\n",
                       "features: Kaldi fbank 80 bins, 64 x 10 s batched (host framing included)",
                       med * 1e3, hours / med);
            } else {
                printf("features: FAILED: %s\n", err.message);
            }
            for (int b = 0; b < NB; b++)
                free(out[b]);
            free(sig);
            sori_features_free(fx);
        }
    }
#endif
    sori_runtime_free(rt);
    return 0;
}

int main(int argc, char **argv)
{
    int quick = 0, shape[3] = {0, 0, 0};
    sori_device_kind device = SORI_DEVICE_CPU;
    int device_index = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
            g_threads = atoi(argv[++i]);
        else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
            g_runs = atoi(argv[++i]);
        else if (strcmp(argv[i], "--quick") == 0)
            quick = 1;
        else if (strcmp(argv[i], "--verbose") == 0)
            g_verbose = 1;
        else if (strcmp(argv[i], "--shape") == 0 && i + 1 < argc &&
                 sscanf(argv[i + 1], "%d,%d,%d", &shape[0], &shape[1], &shape[2]) == 3 && shape[0] > 0 &&
                 shape[1] > 0 && shape[2] > 0)
            i++;
        else if (strcmp(argv[i], "--device") == 0 && i + 1 < argc &&
                 sori_device_parse(argv[i + 1], &device, &device_index) == SORI_OK)
            i++;
        else {
            fprintf(stderr, "usage: bench_ops [--threads N] [--runs R] [--quick] [--shape M,N,K] [--verbose] "
                            "[--device cpu|cuda[:N]]\n");
            return 2;
        }
    }
    if (g_runs < 1 || g_runs > 64 || g_threads < 1) {
        fprintf(stderr, "bench_ops: --runs 1..64 (per block), --threads >= 1\n");
        return 2;
    }
    sori_runtime_params p = sori_runtime_default_params();
    p.device = device;
    p.device_index = device_index;
    p.n_threads = g_threads;
    p.pool_bytes = 1 << 20;
    sori_runtime *rt = NULL;
    sori_error err = {0};
    if (sori_runtime_create(&p, &rt, &err) != SORI_OK) {
        fprintf(stderr, "bench_ops: %s\n", err.message);
        return 1;
    }
    if (sori_runtime_get_params(rt).device == SORI_DEVICE_CUDA)
        return bench_gpu(rt);
#ifndef SORI_HAVE_OPENBLAS
    (void)quick;
    fprintf(stderr, "bench_ops: the CPU comparison needs a build with OpenBLAS\n");
    sori_runtime_free(rt);
    return 1;
#else
    sori_rng r;
    sori_rng_seed(&r, 1);
    cpu_mark start = cpu_mark_now();
    print_load_average();
    printf("bench_ops: %d threads, median of %d runs each (%d alternating blocks of %d;\n"
           "the peer runs in a child process)\n", g_threads, ROUNDS * g_runs, ROUNDS, g_runs);
    printf("ratio = peer time / sori time (> 1: sori faster)\n\n");
    if (shape[0]) { /* one matmul: rows M, N outputs, K inputs (weight [N, K]) */
        bench_matmul(rt, &r, "matmul", shape[0], shape[1], shape[2]);
        sori_runtime_free(rt);
        return 0;
    }

    /* feed-forward (d -> 4d, 4d -> d) and attention projections (d -> d) */
    const int dims[] = {144, 176, 256, 512};
    const int frames[][2] = {{1, 4}, {1, 16}, {16, 16}, {1, 250}, {16, 250}, {1, 1500}, {32, 250}};
    int n_frames = quick ? 4 : (int)(sizeof frames / sizeof frames[0]);
    for (int di = 0; di < 4; di++)
        for (int fi = 0; fi < n_frames; fi++) {
            int d = dims[di], rows = frames[fi][0] * frames[fi][1];
            bench_matmul(rt, &r, "ff1", rows, 4 * d, d);
            bench_matmul(rt, &r, "ff2", rows, d, 4 * d);
            bench_matmul(rt, &r, "proj", rows, d, d);
        }
    /* pointwise conv of the convolution module (d -> 2d) is the same sgemm */
    printf("\n");
    for (int di = 0; di < 4; di++)
        bench_matmul(rt, &r, "pointwise", 250, 2 * dims[di], dims[di]);
    printf("\n");
    /* Whisper base (d 512) with f32 weights: the encoder's 1500 frames, a 448-token prompt */
    const int wrows[] = {1500, 448};
    for (int i = 0; i < (quick ? 1 : 2); i++) {
        bench_matmul(rt, &r, "whisper-qkv", wrows[i], 3 * 512, 512);
        bench_matmul(rt, &r, "whisper-proj", wrows[i], 512, 512);
        bench_matmul(rt, &r, "whisper-ff1", wrows[i], 2048, 512);
        bench_matmul(rt, &r, "whisper-ff2", wrows[i], 512, 2048);
    }
    printf("\n");
    const int att[][4] = {{1, 64, 256, 4}, {1, 250, 256, 4}, {8, 250, 256, 4}, {1, 1500, 512, 8},
                          {16, 125, 176, 4}};
    int n_att = quick ? 3 : (int)(sizeof att / sizeof att[0]);
    for (int i = 0; i < n_att; i++)
        bench_attention(rt, &r, att[i][0], att[i][1], att[i][2], att[i][3]);
    printf("\n");
    bench_alone(rt, sori_opcase_conv1d(&r, 8, 250, 256, 256, 31, 1, 15, 15, true, true, SORI_ACT_NONE),
                2.0 * 8 * 250 * 256 * 31);
    bench_alone(rt, sori_opcase_conv1d(&r, 8, 250, 256, 256, 9, 1, 8, 0, true, true, SORI_ACT_SILU),
                2.0 * 8 * 250 * 256 * 9);
    bench_alone(rt, sori_opcase_conv2d(&r, 4, 1, 1000, 80, 256, 3, 3, 2, 2, 1, 1, 1, 1, false, SORI_ACT_RELU),
                2.0 * 4 * 256 * 500 * 40 * 9);
    bench_alone(rt, sori_opcase_conv2d(&r, 4, 256, 500, 40, 256, 3, 3, 2, 2, 1, 1, 1, 1, true, SORI_ACT_NONE),
                2.0 * 4 * 256 * 250 * 20 * 9);
    bench_alone(rt, sori_opcase_conv2d(&r, 4, 256, 250, 20, 256, 1, 1, 1, 1, 0, 0, 0, 0, false, SORI_ACT_RELU),
                2.0 * 4 * 256 * 250 * 20 * 256);

    printf("\nsummary: matmul, all %d shapes: geometric-mean ratio %.2f\n", g_n_mm, exp(g_log_mm / g_n_mm));
    printf("summary: matmul, %d compute-bound shapes (>= 250 rows): geometric-mean ratio %.2f, "
           "%d within 10%% or faster, worst %.2f (goal: within 10%%)\n",
           g_n_mm_large, exp(g_log_mm_large / g_n_mm_large), g_within_large, g_worst_mm_large);
    printf("summary: the same by each side's fastest run: geometric-mean ratio %.2f, worst %.2f\n",
           exp(g_log_best_large / g_n_mm_large), g_worst_best_large);
    printf("summary: attention, %d shapes: geometric-mean ratio %.2f, worst %.2f (goal >= 1.00)\n",
           g_n_att, exp(g_log_att / g_n_att), g_worst_att);
    sori_runtime_free(rt);
    double others = others_share(start, cpu_mark_now());
    if (others < 0) {
        printf("\nother processes during the run: unknown (no /proc/stat)\n");
        return 0;
    }
    printf("\nother processes during the run: %.0f %% of the CPUs (results are flagged above 20 %%)\n",
           100 * others);
    if (others > 0.20) {
        printf("BUSY: other processes took %.0f %% of the CPUs during bench_ops: this result is not valid\n",
               100 * others);
        fprintf(stderr, "BUSY: other processes took %.0f %% of the CPUs during bench_ops: this result is not valid\n",
                100 * others);
        return 3;
    }
    return 0;
#endif
}
