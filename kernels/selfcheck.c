/* `sori check`: a Conformer-shaped workload on the runtime's backend against
 * the double-precision reference. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "opcheck.h"

typedef struct {
    char *buf;
    size_t size, used;
} report_t;

static void say(report_t *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(report_t *r, const char *fmt, ...)
{
    if (!r->buf || r->used + 1 >= r->size)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(r->buf + r->used, r->size - r->used, fmt, ap);
    va_end(ap);
    if (n > 0)
        r->used += (size_t)n < r->size - r->used ? (size_t)n : r->size - r->used - 1;
}

sori_status sori_runtime_selfcheck(sori_runtime *rt, char *report, size_t report_size,
                                   sori_error *err)
{
    if (!rt)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "selfcheck: runtime is NULL");
    report_t rep = {report, report_size, 0};
    if (report && report_size)
        report[0] = '\0';
    sori_rng rng;
    sori_rng_seed(&rng, 20261128);
    /* d_model 256, 4 heads, 100 frames (4 s after 4x subsampling), batch 2.
     * Tolerances: relative L2 1e-4 covers f32 on the CPU and TF32 on a GPU. */
    const int B = 2, T = 100, D = 256, H = 4;
    sori_opcase *cases[] = {
        sori_opcase_layer_norm(&rng, (int64_t)B * T, D, true, false),
        sori_opcase_matmul(&rng, 1, B * T, 4 * D, D, false, true, true, true, 0.0f, SORI_ACT_SILU,
                           SORI_F32),
        sori_opcase_matmul(&rng, 1, B * T, D, 4 * D, false, true, true, true, 0.0f, SORI_ACT_NONE,
                           SORI_F32),
        sori_opcase_attention(&rng, B, H, T, T, D / H, true, SORI_ATT_FULL, -1, -1, 0, true),
        sori_opcase_attention(&rng, B, H, T, T, D / H, true, SORI_ATT_CHUNKED, 20, 1, 2, false),
        sori_opcase_conv1d(&rng, B, T, 2 * D, 2 * D, 1, 1, 0, 0, false, true, SORI_ACT_NONE),
        sori_opcase_glu(&rng, (int64_t)B * T, D),
        sori_opcase_conv1d(&rng, B, T, D, D, 31, 1, 15, 15, true, true, SORI_ACT_SILU),
        sori_opcase_conv2d(&rng, B, 1, 4 * T, 80, 64, 3, 3, 2, 2, 1, 1, 1, 1, false, SORI_ACT_RELU),
        sori_opcase_softmax(&rng, (int64_t)B * T, 1025, true, false),
        sori_opcase_lstm(&rng, 8, 320, 320),
    };
    const int n_cases = (int)(sizeof cases / sizeof cases[0]);
    sori_status st = SORI_OK;
    int failed = 0;
    say(&rep, "backend %s\n%-72s %10s %10s %9s\n", sori_runtime_backend_name(rt), "op", "rel_l2",
        "max_abs", "ms");
    for (int i = 0; i < n_cases && st == SORI_OK; i++) {
        if (!cases[i]) {
            st = sori_fail(err, SORI_ERR_NO_MEMORY, 0, "selfcheck: out of memory");
            break;
        }
        sori_opcheck_result res;
        st = sori_opcheck(rt, 0, &cases[i]->desc, 3, &res, err);
        if (st != SORI_OK)
            break;
        int ok = res.rel_l2 <= 1e-4 && res.max_abs <= 1e-2;
        failed += !ok;
        say(&rep, "%-72s %10.2e %10.2e %9.3f%s\n", cases[i]->label, res.rel_l2, res.max_abs,
            res.seconds * 1e3, ok ? "" : "  FAILED");
    }
    /* matmul throughput at a feed-forward shape */
    if (st == SORI_OK) {
        sori_opcase *mm = sori_opcase_matmul(&rng, 1, 1024, 1024, 1024, false, true, true, false,
                                             0.0f, SORI_ACT_NONE, SORI_F32);
        sori_opcheck_result res;
        if (!mm)
            st = sori_fail(err, SORI_ERR_NO_MEMORY, 0, "selfcheck: out of memory");
        else
            st = sori_opcheck(rt, 0, &mm->desc, 5, &res, err);
        if (st == SORI_OK)
            say(&rep, "matmul 1024x1024x1024: %.1f GFLOP/s (%d threads)\n",
                2.0 * 1024 * 1024 * 1024 / res.seconds * 1e-9, sori_runtime_get_params(rt).n_threads);
        sori_opcase_free(mm);
    }
    for (int i = 0; i < n_cases; i++)
        sori_opcase_free(cases[i]);
    if (st == SORI_OK && failed)
        st = sori_fail(err, SORI_ERR_BACKEND, 0, "selfcheck: %d ops exceeded their tolerance", failed);
    if (st == SORI_OK)
        say(&rep, "self-check passed\n");
    return st;
}
