/* The runtime: thread pool, session slabs (no growth, coalescing,
 * exhaustion), create/free cycles, f16 conversion, batch-norm folding,
 * NeMo's relative positions and chunked attention masks. */
#include <math.h>
#include <pthread.h>
#include <string.h>

#include "check.h"
#include "kernels/opcheck.h"
#include "kernels/reference.h"

static void sum_task(void *ctx, int64_t begin, int64_t end)
{
    int64_t *out = ctx;
    for (int64_t i = begin; i < end; i++)
        out[i] = i * i;
}

typedef struct {
    sori_thread_pool *pool;
    int ok;
} concurrent_arg;

static void *concurrent_user(void *v)
{
    concurrent_arg *a = v;
    int64_t *buf = malloc(5000 * sizeof(int64_t));
    a->ok = buf != NULL;
    for (int rep = 0; rep < 200 && buf; rep++) {
        memset(buf, 0, 5000 * sizeof(int64_t));
        sori_parallel_for(a->pool, 5000, 7, sum_task, buf);
        for (int64_t i = 0; i < 5000; i++)
            if (buf[i] != i * i)
                a->ok = 0;
    }
    free(buf);
    return NULL;
}

static void test_pool(void)
{
    for (int nt = 1; nt <= 5; nt++) {
        sori_thread_pool *p = NULL;
        CHECK_STATUS(sori_thread_pool_create(nt, &p, NULL), SORI_OK);
        for (int64_t n = 0; n < 70; n += 3) {
            int64_t buf[70] = {0};
            sori_parallel_for(p, n, 1, sum_task, buf);
            int ok = 1;
            for (int64_t i = 0; i < n; i++)
                ok &= buf[i] == i * i;
            CHECK(ok, "parallel_for n=%lld threads=%d", (long long)n, nt);
        }
        /* callers racing for the pool: one gets it, the others run inline */
        pthread_t th[3];
        concurrent_arg args[3];
        for (int i = 0; i < 3; i++) {
            args[i].pool = p;
            pthread_create(&th[i], NULL, concurrent_user, &args[i]);
        }
        for (int i = 0; i < 3; i++) {
            pthread_join(th[i], NULL);
            CHECK(args[i].ok, "concurrent caller %d with %d threads", i, nt);
        }
        sori_thread_pool_free(p);
    }
    sori_thread_pool *p = NULL;
    CHECK_STATUS(sori_thread_pool_create(0, &p, NULL), SORI_ERR_INVALID_ARG);
    CHECK(p == NULL, "no pool on failure");
    sori_thread_pool_free(NULL);
}

static void test_slabs(void)
{
    sori_runtime_params p = sori_runtime_default_params();
    p.device = SORI_DEVICE_CPU;
    p.pool_bytes = 1 << 20;
    sori_runtime *rt = NULL;
    CHECK_STATUS(sori_runtime_create(&p, &rt, NULL), SORI_OK);
    if (!rt)
        return;
    sori_pool_stats s0 = sori_runtime_pool_stats(rt);
    CHECK(s0.capacity_bytes == (1 << 20) && s0.used_bytes == 0 && s0.largest_free_bytes == (1 << 20),
          "fresh pool");
    sori_slab *a = NULL, *b = NULL, *c = NULL;
    CHECK_STATUS(sori_runtime_slab_acquire(rt, 1000, &a, NULL), SORI_OK);
    CHECK_STATUS(sori_runtime_slab_acquire(rt, 300000, &b, NULL), SORI_OK);
    CHECK_STATUS(sori_runtime_slab_acquire(rt, 5000, &c, NULL), SORI_OK);
    CHECK(sori_slab_size(a) == 1024 && ((uintptr_t)sori_slab_data(b) % 256) == 0, "rounding, alignment");
    memset(sori_slab_data(b), 0xab, sori_slab_size(b)); /* the memory is really there */
    sori_slab *big = NULL;
    sori_error err = {0};
    CHECK_STATUS(sori_runtime_slab_acquire(rt, 900000, &big, &err), SORI_ERR_NO_MEMORY);
    CHECK(big == NULL && err.message[0], "exhaustion reported");
    sori_runtime_slab_release(rt, b); /* a hole in the middle */
    sori_runtime_slab_release(rt, a);
    sori_runtime_slab_release(rt, c);
    sori_pool_stats s1 = sori_runtime_pool_stats(rt);
    CHECK(s1.used_bytes == 0 && s1.n_slabs == 0 && s1.largest_free_bytes == (1 << 20),
          "all released blocks merge back: largest free %zu", s1.largest_free_bytes);
    /* 10,000 session-like cycles in random order: the pool ends as it began */
    sori_rng r;
    sori_rng_seed(&r, 42);
    sori_slab *live[16] = {0};
    for (int i = 0; i < 10000; i++) {
        int k = sori_rng_int(&r, 0, 15);
        if (live[k]) {
            sori_runtime_slab_release(rt, live[k]);
            live[k] = NULL;
        } else {
            sori_status st = sori_runtime_slab_acquire(rt, (size_t)sori_rng_int(&r, 1, 60000), &live[k], NULL);
            CHECK(st == SORI_OK, "cycle %d", i);
        }
    }
    for (int k = 0; k < 16; k++)
        sori_runtime_slab_release(rt, live[k]);
    sori_pool_stats s2 = sori_runtime_pool_stats(rt);
    CHECK(s2.used_bytes == 0 && s2.largest_free_bytes == (1 << 20), "after 10000 cycles");
    CHECK_STATUS(sori_runtime_slab_acquire(rt, 0, &big, NULL), SORI_ERR_INVALID_ARG);
    sori_runtime_slab_release(rt, NULL);
    sori_runtime_free(rt);
}

static void test_create_free(void)
{
    for (int i = 0; i < 50; i++) {
        sori_runtime_params p = sori_runtime_default_params();
        p.device = SORI_DEVICE_CPU;
        p.n_threads = 1 + i % 4;
        p.pool_bytes = 4096;
        sori_runtime *rt = NULL;
        CHECK_STATUS(sori_runtime_create(&p, &rt, NULL), SORI_OK);
        sori_runtime_params used = sori_runtime_get_params(rt);
        CHECK(used.n_threads == p.n_threads && used.device == SORI_DEVICE_CPU, "params read back");
        CHECK(strcmp(sori_runtime_backend_name(rt), "cpu") == 0, "backend name");
        sori_runtime_free(rt);
    }
    /* AUTO always succeeds: CUDA when usable, else the CPU */
    sori_runtime *rt = NULL;
    sori_runtime_params p = sori_runtime_default_params();
    p.pool_bytes = 4096;
    CHECK_STATUS(sori_runtime_create(&p, &rt, NULL), SORI_OK);
    CHECK(rt && sori_runtime_get_params(rt).device != SORI_DEVICE_AUTO, "auto resolved");
    sori_runtime_free(rt);
    /* CUDA where there is none: a clear error, not a crash */
    if (!sori_cuda_available(NULL, 0)) {
        p.device = SORI_DEVICE_CUDA;
        sori_error err = {0};
        rt = NULL;
        CHECK_STATUS(sori_runtime_create(&p, &rt, &err), SORI_ERR_NO_DEVICE);
        CHECK(rt == NULL && strstr(err.message, "cuda:0") != NULL, "message: %s", err.message);
    }
}

typedef struct {
    sori_runtime *rt;
    int stream;
    uint64_t seed;
    int failures;
} op_thread_arg;

static void *op_thread(void *v)
{
    op_thread_arg *a = v;
    sori_rng r;
    sori_rng_seed(&r, a->seed);
    for (int i = 0; i < 20; i++) {
        sori_opcase *c = i % 2 ? sori_opcase_attention(&r, 2, 2, 30, 40, 16, true, SORI_ATT_CHUNKED, 8, 2, 4, true)
                               : sori_opcase_matmul(&r, 2, 70, 90, 50, false, true, false, true, 0.0f, SORI_ACT_SILU, SORI_F32);
        sori_opcheck_result res;
        if (!c || sori_opcheck(a->rt, a->stream, &c->desc, 1, &res, NULL) != SORI_OK || res.rel_l2 > 2e-5)
            a->failures++;
        sori_opcase_free(c);
    }
    return NULL;
}

/* ops from several threads on one runtime, each on its own stream */
static void test_concurrent_ops(void)
{
    sori_runtime_params p = sori_runtime_default_params();
    p.device = SORI_DEVICE_CPU;
    p.n_threads = 2;
    p.pool_bytes = 4096;
    sori_runtime *rt = NULL;
    CHECK_STATUS(sori_runtime_create(&p, &rt, NULL), SORI_OK);
    if (!rt)
        return;
    pthread_t th[3];
    op_thread_arg args[3];
    for (int i = 0; i < 3; i++) {
        args[i] = (op_thread_arg){rt, i, 100 + (uint64_t)i, 0};
        pthread_create(&th[i], NULL, op_thread, &args[i]);
    }
    for (int i = 0; i < 3; i++) {
        pthread_join(th[i], NULL);
        CHECK(args[i].failures == 0, "thread %d: %d ops wrong", i, args[i].failures);
    }
    sori_runtime_free(rt);
}

static void test_f16(void)
{
    int bad = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        float f = sori_f16_to_f32((uint16_t)h);
        uint16_t back = sori_f32_to_f16(f);
        if (isnan(f) ? !((back & 0x7c00) == 0x7c00 && (back & 0x3ff)) : back != h)
            bad++;
    }
    CHECK(bad == 0, "%d f16 values do not round-trip", bad);
    CHECK(sori_f16_to_f32(0x3c00) == 1.0f && sori_f16_to_f32(0xc000) == -2.0f, "known values");
    CHECK(sori_f16_to_f32(0x0001) == ldexpf(1.0f, -24), "smallest subnormal");
    CHECK(sori_f32_to_f16(65520.0f) == 0x7c00, "overflow to inf");
    CHECK(sori_f32_to_f16(1.0f + ldexpf(1.0f, -11)) == 0x3c00, "tie rounds to even");
    CHECK(sori_f32_to_f16(1.0f + 3 * ldexpf(1.0f, -11)) == 0x3c02, "tie rounds to even (up)");
}

static void test_fold_bn(void)
{
    /* conv1d followed by batch norm == folded conv1d */
    sori_rng r;
    sori_rng_seed(&r, 7);
    sori_opcase *c = sori_opcase_conv1d(&r, 2, 20, 6, 5, 3, 1, 1, 1, false, true, SORI_ACT_NONE);
    sori_opcase *bn = sori_opcase_batch_norm(&r, 2 * 20, 5, SORI_ACT_NONE);
    CHECK(c && bn, "cases");
    if (!c || !bn)
        return;
    sori_conv1d_desc *d = &c->desc.u.conv1d;
    sori_batch_norm_desc *b = &bn->desc.u.batch_norm;
    sori_op_desc op = c->desc;
    CHECK_STATUS(sori_ref_run(&op, NULL, NULL), SORI_OK);
    float y1[200];
    b->x = d->y;
    b->y = y1;
    CHECK_STATUS(sori_ref_run(&bn->desc, NULL, NULL), SORI_OK);
    float w[5 * 6 * 3], bias[5], y2[200];
    memcpy(w, d->w, sizeof w);
    memcpy(bias, d->bias, sizeof bias);
    sori_fold_batch_norm(w, bias, 5, 18, b->mean, b->var, b->gamma, b->beta, b->eps);
    d->w = w;
    d->bias = bias;
    d->y = y2;
    CHECK_STATUS(sori_ref_run(&c->desc, NULL, NULL), SORI_OK);
    double rel, mx;
    sori_compare(y2, y1, 200, &rel, &mx);
    CHECK(rel < 1e-6, "folded batch norm differs: rel %.2e", rel);
    sori_opcase_free(c);
    sori_opcase_free(bn);
}

static void test_rel_pos(void)
{
    /* NeMo RelPositionalEncoding: rows are positions t-1 .. -(t-1) */
    enum { T = 5, D = 8 };
    float pe[(2 * T - 1) * D];
    sori_rel_pos_encoding(pe, T, D);
    CHECK(fabsf(pe[(T - 1) * D + 0]) < 1e-7f && fabsf(pe[(T - 1) * D + 1] - 1.0f) < 1e-7f,
          "position 0 is sin 0, cos 0");
    CHECK(fabsf(pe[0] - sinf(4.0f)) < 1e-6f && fabsf(pe[1] - cosf(4.0f)) < 1e-6f, "first row is +4");
    float w2 = expf(-2.0f * logf(10000.0f) / D);
    CHECK(fabsf(pe[(2 * T - 2) * D + 2] - sinf(-4.0f * w2)) < 1e-6f, "last row is -4, pair 1");
}

static void test_chunked_mask(void)
{
    /* NeMo chunked_limited, att_context_size [2, 1]: chunk_size 2, left
     * chunks 1. For 6 frames, query 4 (chunk 2) sees keys 2..5. */
    sori_attention_desc d = {0};
    d.batch = 1;
    d.t_q = d.t_k = 6;
    d.context = SORI_ATT_CHUNKED;
    d.chunk_size = 2;
    d.left_chunks = 1;
    const char *want[6] = {"110000", "110000", "111100", "111100", "001111", "001111"};
    int ok = 1;
    for (int i = 0; i < 6; i++)
        for (int j = 0; j < 6; j++)
            ok &= (!sori_ref_att_masked(&d, 0, i, j)) == (want[i][j] == '1');
    CHECK(ok, "chunked mask pattern");
    /* regular limited context [1, 0]: each query sees itself and one before */
    d.context = SORI_ATT_LIMITED;
    d.left = 1;
    d.right = 0;
    ok = 1;
    for (int i = 0; i < 6; i++)
        for (int j = 0; j < 6; j++)
            ok &= (!sori_ref_att_masked(&d, 0, i, j)) == (j == i || j == i - 1);
    CHECK(ok, "limited mask pattern");
    /* streaming: 2 queries after a 4-frame cache see by absolute position */
    d.t_q = 2;
    ok = 1;
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 6; j++)
            ok &= (!sori_ref_att_masked(&d, 0, i, j)) == (j == i + 4 || j == i + 3);
    CHECK(ok, "limited mask with cache offset");
}

int main(void)
{
    test_pool();
    test_slabs();
    test_create_free();
    test_concurrent_ops();
    test_f16();
    test_fold_bn();
    test_rel_pos();
    test_chunked_mask();
    return check_finish("test_runtime");
}
