/* Misuse: NULL handles and bad arguments get their exact status and a
 * message; every status has a description; _free(NULL) is a no-op. */
#include <string.h>

#include "check.h"
#include "kernels/opcheck.h"

static sori_runtime *cpu_runtime(void)
{
    sori_runtime_params p = sori_runtime_default_params();
    p.device = SORI_DEVICE_CPU;
    p.n_threads = 2;
    p.pool_bytes = 1 << 16;
    sori_runtime *rt = NULL;
    sori_runtime_create(&p, &rt, NULL);
    return rt;
}

static void expect_op(sori_runtime *rt, const sori_op_desc *op, sori_status want, const char *what)
{
    sori_error err = {0};
    sori_status st = sori_rt_run(rt, 0, op, &err);
    CHECK(st == want, "%s: status %d, expected %d (%s)", what, st, want, err.message);
    if (want != SORI_OK)
        CHECK(err.message[0] != '\0' && err.status == want, "%s: no message", what);
}

static void test_status_strings(void)
{
    for (int s = SORI_ERR_INTERNAL; s <= SORI_OK; s++) {
        const char *m = sori_status_str((sori_status)s);
        CHECK(m && m[0] && strcmp(m, "unknown status") != 0, "status %d has no message", s);
    }
    CHECK(strcmp(sori_status_str((sori_status)-999), "unknown status") == 0, "unknown status");
    CHECK(strcmp(sori_version_string(), "0.1.0") == 0, "version %s", sori_version_string());
}

static int g_log_count;
static void count_log(sori_log_level level, const char *msg, void *user)
{
    (void)level;
    (void)msg;
    *(int *)user += 1;
}

static void test_runtime_args(void)
{
    sori_runtime *rt = NULL;
    sori_error err = {0};
    CHECK_STATUS(sori_runtime_create(NULL, NULL, &err), SORI_ERR_INVALID_ARG);
    sori_runtime_params p = sori_runtime_default_params();
    p.n_threads = 0;
    CHECK_STATUS(sori_runtime_create(&p, &rt, &err), SORI_ERR_INVALID_ARG);
    CHECK(rt == NULL && strstr(err.message, "n_threads"), "names the field: %s", err.message);
    p = sori_runtime_default_params();
    p.n_streams = 17;
    CHECK_STATUS(sori_runtime_create(&p, &rt, &err), SORI_ERR_INVALID_ARG);
    p = sori_runtime_default_params();
    p.pool_bytes = 0;
    CHECK_STATUS(sori_runtime_create(&p, &rt, &err), SORI_ERR_INVALID_ARG);
    p = sori_runtime_default_params();
    p.device = (sori_device_kind)7;
    CHECK_STATUS(sori_runtime_create(&p, &rt, &err), SORI_ERR_INVALID_ARG);
    p = sori_runtime_default_params();
    p.device_index = -1;
    CHECK_STATUS(sori_runtime_create(&p, &rt, &err), SORI_ERR_INVALID_ARG);
    sori_runtime_free(NULL);
    CHECK(strcmp(sori_runtime_backend_name(NULL), "none") == 0, "NULL backend name");

    sori_device_kind k;
    int idx;
    CHECK(sori_device_parse("cuda:3", &k, &idx) == SORI_OK && k == SORI_DEVICE_CUDA && idx == 3, "cuda:3");
    CHECK(sori_device_parse("cpu", &k, &idx) == SORI_OK && k == SORI_DEVICE_CPU, "cpu");
    CHECK(sori_device_parse("auto", &k, &idx) == SORI_OK && k == SORI_DEVICE_AUTO, "auto");
    const char *bad[] = {"", "gpu", "cuda:", "cuda:-1", "cuda:x", "cuda:1x", "CPU", "cuda:99999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK_STATUS(sori_device_parse(bad[i], &k, &idx), SORI_ERR_INVALID_ARG);
    CHECK_STATUS(sori_device_parse(NULL, &k, &idx), SORI_ERR_INVALID_ARG);

    sori_slab *s = NULL;
    CHECK_STATUS(sori_runtime_slab_acquire(NULL, 10, &s, &err), SORI_ERR_INVALID_ARG);
    CHECK(sori_slab_data(NULL) == NULL && sori_slab_size(NULL) == 0, "NULL slab");
    int n = -1;
    CHECK_STATUS(sori_cuda_devices(NULL, 1, &n), SORI_ERR_INVALID_ARG);
    CHECK_STATUS(sori_cuda_devices(NULL, 0, NULL), SORI_ERR_INVALID_ARG);
    CHECK_STATUS(sori_runtime_selfcheck(NULL, NULL, 0, &err), SORI_ERR_INVALID_ARG);

    /* the logger can be redirected and filtered */
    int count = 0;
    sori_log_set(count_log, &count, SORI_LOG_DEBUG);
    sori_log(SORI_LOG_INFO, "hello %d", 1);
    sori_log_set(count_log, &count, SORI_LOG_ERROR);
    sori_log(SORI_LOG_WARN, "dropped");
    sori_log_set(NULL, NULL, SORI_LOG_WARN);
    CHECK(count == 1, "log callback called %d times", count);
    (void)g_log_count;
}

static void test_op_args(void)
{
    sori_runtime *rt = cpu_runtime();
    CHECK(rt != NULL, "runtime");
    if (!rt)
        return;
    sori_rng r;
    sori_rng_seed(&r, 1);
    sori_error err = {0};
    CHECK_STATUS(sori_rt_run(NULL, 0, NULL, &err), SORI_ERR_INVALID_ARG);
    CHECK_STATUS(sori_rt_run(rt, 0, NULL, &err), SORI_ERR_INVALID_ARG);

    sori_opcase *c = sori_opcase_matmul(&r, 2, 4, 5, 6, false, false, false, true, 0.0f, SORI_ACT_NONE, SORI_F32);
    if (!c)
        return;
    expect_op(rt, &c->desc, SORI_OK, "valid matmul");
    CHECK_STATUS(sori_rt_run(rt, -1, &c->desc, &err), SORI_ERR_INVALID_ARG);
    CHECK_STATUS(sori_rt_run(rt, 99, &c->desc, &err), SORI_ERR_INVALID_ARG);
    sori_op_desc op = c->desc;
    op.u.matmul.m = 0;
    expect_op(rt, &op, SORI_ERR_INVALID_ARG, "m = 0");
    op = c->desc;
    op.u.matmul.a = NULL;
    expect_op(rt, &op, SORI_ERR_INVALID_ARG, "a = NULL");
    op = c->desc;
    op.u.matmul.lda = 3;
    expect_op(rt, &op, SORI_ERR_INVALID_ARG, "lda too small");
    op = c->desc;
    op.u.matmul.stride_c = 1;
    expect_op(rt, &op, SORI_ERR_INVALID_ARG, "overlapping batch outputs");
    op = c->desc;
    op.u.matmul.act = (sori_act)42;
    expect_op(rt, &op, SORI_ERR_INVALID_ARG, "bad activation");
    op = c->desc;
    op.u.matmul.b_type = SORI_F16;
    expect_op(rt, &op, SORI_ERR_UNSUPPORTED, "f16 weights on the CPU");
    op = c->desc;
    op.u.matmul.b_type = SORI_I32;
    expect_op(rt, &op, SORI_ERR_INVALID_ARG, "i32 weights");
    op = c->desc;
    op.op = (sori_op)99;
    expect_op(rt, &op, SORI_ERR_INVALID_ARG, "unknown op");
    sori_opcase_free(c);

    c = sori_opcase_conv1d(&r, 1, 10, 4, 4, 3, 1, 1, 1, false, true, SORI_ACT_NONE);
    if (c) {
        op = c->desc;
        op.u.conv1d.groups = 2;
        expect_op(rt, &op, SORI_ERR_INVALID_ARG, "grouped conv1d");
        op = c->desc;
        op.u.conv1d.pad_left = 3;
        expect_op(rt, &op, SORI_ERR_INVALID_ARG, "padding >= kernel");
        op = c->desc;
        op.u.conv1d.t_in = 1;
        op.u.conv1d.pad_left = op.u.conv1d.pad_right = 0;
        expect_op(rt, &op, SORI_ERR_INVALID_ARG, "input shorter than kernel");
        op = c->desc;
        op.u.conv1d.stride = 0;
        expect_op(rt, &op, SORI_ERR_INVALID_ARG, "stride 0");
        sori_opcase_free(c);
    }
    c = sori_opcase_attention(&r, 2, 2, 4, 6, 8, true, SORI_ATT_CHUNKED, 2, 1, 2, true);
    if (c) {
        expect_op(rt, &c->desc, SORI_OK, "valid attention");
        op = c->desc;
        op.u.attention.t_q = 7;
        expect_op(rt, &op, SORI_ERR_INVALID_ARG, "t_q > t_k");
        op = c->desc;
        op.u.attention.n_pos = 10;
        expect_op(rt, &op, SORI_ERR_INVALID_ARG, "even n_pos");
        op = c->desc;
        op.u.attention.chunk_size = 0;
        expect_op(rt, &op, SORI_ERR_INVALID_ARG, "chunk 0");
        op = c->desc;
        op.u.attention.pos_bias_u = NULL;
        expect_op(rt, &op, SORI_ERR_INVALID_ARG, "missing pos_bias_u");
        int32_t bad_end[2] = {6, 7};
        op = c->desc;
        op.u.attention.kv_end = bad_end;
        expect_op(rt, &op, SORI_ERR_INVALID_ARG, "kv_end > t_k");
        int32_t bad_q[2] = {-1, 0};
        op = c->desc;
        op.u.attention.q_len = bad_q;
        expect_op(rt, &op, SORI_ERR_INVALID_ARG, "q_len < 0");
        op = c->desc;
        op.u.attention.q_stride = 3;
        expect_op(rt, &op, SORI_ERR_INVALID_ARG, "short q stride");
        sori_opcase_free(c);
    }
    c = sori_opcase_embedding(&r, 4, 10, 3, SORI_F32);
    if (c) {
        ((int32_t *)c->desc.u.embedding.ids)[2] = 10;
        expect_op(rt, &c->desc, SORI_ERR_INVALID_ARG, "embedding id out of range");
        sori_opcase_free(c);
    }
    c = sori_opcase_lstm(&r, 2, 3, 4);
    if (c) {
        op = c->desc;
        op.u.lstm.h_out = (float *)op.u.lstm.h_in;
        expect_op(rt, &op, SORI_ERR_INVALID_ARG, "lstm aliasing");
        sori_opcase_free(c);
    }
    c = sori_opcase_glu(&r, 3, 4);
    if (c) {
        op = c->desc;
        op.u.glu.y = (float *)op.u.glu.x;
        expect_op(rt, &op, SORI_ERR_INVALID_ARG, "glu in place");
        sori_opcase_free(c);
    }
    /* zero-row ops are valid no-ops */
    c = sori_opcase_softmax(&r, 1, 4, false, false);
    if (c) {
        op = c->desc;
        op.u.softmax.n_rows = 0;
        expect_op(rt, &op, SORI_OK, "softmax of zero rows");
        op.u.softmax.dim = 0;
        expect_op(rt, &op, SORI_ERR_INVALID_ARG, "softmax dim 0");
        sori_opcase_free(c);
    }
    void *ptr = NULL;
    CHECK_STATUS(sori_rt_alloc(NULL, 4, &ptr, &err), SORI_ERR_INVALID_ARG);
    CHECK_STATUS(sori_rt_upload(rt, 0, NULL, &err, 4, &err), SORI_ERR_INVALID_ARG);
    CHECK_STATUS(sori_rt_download(rt, 5, &err, &err, 4, &err), SORI_ERR_INVALID_ARG);
    CHECK_STATUS(sori_rt_sync(rt, -1, &err), SORI_ERR_INVALID_ARG);
    sori_rt_release(rt, NULL);
    sori_runtime_free(rt);
}

int main(void)
{
    test_status_strings();
    test_runtime_args();
    test_op_args();
    return check_finish("test_misuse");
}
