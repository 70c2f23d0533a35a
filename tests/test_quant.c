/* GGUF block types (kernels/quant.h): dequantization against llama.cpp's
 * own Python reader (fixtures by tools/gen_quant_fixtures.py), the vector
 * dot products against the scalar ones and against the exact dot product
 * within the bound the activations' 8-bit rounding allows, and the runtime's
 * matmul and embedding ops with such weights against the double-precision
 * reference. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "kernels/kernels.h"
#include "kernels/opcheck.h"
#include "kernels/quant.h"
#include "kernels/cpu/gemm_p16.h"
#include "kernels/reference.h"

#ifndef SORI_FIXTURE_DIR
#define SORI_FIXTURE_DIR "tests/fixtures"
#endif

enum { ROWS = 4, COLS = 512 };

static const struct {
    const char *name;
    sori_dtype t;
} TYPES[] = {{"q4_0", SORI_Q4_0}, {"q5_0", SORI_Q5_0}, {"q8_0", SORI_Q8_0}, {"q4_K", SORI_Q4_K}, {"q5_K", SORI_Q5_K},
             {"q6_K", SORI_Q6_K}, {"f16", SORI_F16},   {"bf16", SORI_BF16}};
enum { N_TYPES = sizeof TYPES / sizeof TYPES[0] };

static void *read_file(const char *name, const char *ext, size_t want)
{
    char path[512];
    snprintf(path, sizeof path, "%s/quant/%s.%s", SORI_FIXTURE_DIR, name, ext);
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    void *p = malloc(want + 1);
    size_t got = p ? fread(p, 1, want + 1, f) : 0;
    fclose(f);
    if (got != want) {
        fprintf(stderr, "%s: %zu bytes, expected %zu\n", path, got, want);
        free(p);
        return NULL;
    }
    return p;
}

static uint8_t *g_raw[N_TYPES];
static float *g_vals[N_TYPES];

static void test_dequantize(void)
{
    for (int i = 0; i < N_TYPES; i++) {
        const sori_dtype t = TYPES[i].t;
        const size_t bytes = sori_dtype_bytes(t, (int64_t)ROWS * COLS);
        g_raw[i] = read_file(TYPES[i].name, "raw", bytes);
        g_vals[i] = read_file(TYPES[i].name, "f32", sizeof(float) * ROWS * COLS);
        CHECK(g_raw[i] && g_vals[i], "fixture %s missing or of the wrong size", TYPES[i].name);
        if (!g_raw[i] || !g_vals[i])
            continue;
        float *y = malloc(sizeof(float) * ROWS * COLS);
        double worst = 0, scale = 0;
        for (int r = 0; r < ROWS; r++)
            sori_dequantize_row(t, g_raw[i] + sori_dtype_bytes(t, (int64_t)r * COLS), y + r * COLS, COLS);
        for (int k = 0; k < ROWS * COLS; k++) {
            worst = fmax(worst, fabs((double)y[k] - g_vals[i][k]));
            scale = fmax(scale, fabs((double)g_vals[i][k]));
        }
        /* the same float operations as gguf-py's numpy, up to a fused multiply-add */
        CHECK(worst <= 2e-7 * scale, "%s: dequantized values differ from gguf-py's by %.3g (max |x| %.3g)",
              TYPES[i].name, worst, scale);
        /* the vector version (the wide products widen weights with it): the same up to a fused multiply-add */
        double worst_fast = 0;
        float *yf = malloc(sizeof(float) * COLS);
        for (int r = 0; r < ROWS; r++) {
            sori_dequantize_row_fast(t, g_raw[i] + sori_dtype_bytes(t, (int64_t)r * COLS), yf, COLS);
            for (int k = 0; k < COLS; k++)
                worst_fast = fmax(worst_fast, fabs((double)yf[k] - y[r * COLS + k]));
        }
        CHECK(worst_fast <= 2e-7 * scale, "%s: the vector dequantization differs by %.3g (max |x| %.3g)",
              TYPES[i].name, worst_fast, scale);
        free(yf);
        printf("dequantize %-5s vs gguf-py: max diff %.2g of max |x| %.3g\n", TYPES[i].name, worst, scale);
        free(y);
    }
}

/* The dot products of every fixture row with activations of several
 * scales: vector = scalar (same integer sums), and both within the bound
 * of the activations' rounding (half a step of each block's scale times
 * |w|) of the exact product of the dequantized row with the f32 input. */
static void test_dots(void)
{
    sori_rng r;
    sori_rng_seed(&r, 5);
    float x[COLS], w[COLS];
    uint8_t xq[COLS * 2];
    for (int i = 0; i < N_TYPES; i++) {
        const sori_dtype t = TYPES[i].t;
        if (sori_dtype_block(t) == 1 || !g_raw[i])
            continue;
        const bool kq = t == SORI_Q4_K || t == SORI_Q5_K || t == SORI_Q6_K;
        CHECK(sori_quant_act_bytes(t, COLS) <= sizeof xq, "activation buffer");
        double worst_vs = 0, worst_bound = 0;
        for (int trial = 0; trial < 12; trial++)
            for (int row = 0; row < ROWS; row++) {
                const float amp = trial % 3 == 0 ? 1e-3f : trial % 3 == 1 ? 1.0f : 40.0f;
                for (int k = 0; k < COLS; k++)
                    x[k] = amp * (sori_rng_uniform(&r, -1.0f, 1.0f)) * (k % 97 == 5 ? 8.0f : 1.0f);
                if (trial == 11)
                    memset(x, 0, sizeof x); /* all zero: scale 0 */
                const uint8_t *wrow = g_raw[i] + sori_dtype_bytes(t, (int64_t)row * COLS);
                sori_dequantize_row(t, wrow, w, COLS);
                sori_quantize_act(t, x, COLS, xq);
                const float v = sori_quant_dot(t, COLS, wrow, xq), s = sori_quant_dot_scalar(t, COLS, wrow, xq);
                /* four rows at once (the same row four times, and a zero row among them) */
                static uint8_t zq[COLS * 2];
                float zx[COLS] = {0}, v4[4];
                sori_quantize_act(t, zx, COLS, zq);
                const void *x4[4] = {xq, zq, xq, xq};
                sori_quant_dot4(t, COLS, wrow, x4, v4);
                CHECK(v4[0] == v && v4[2] == v && v4[3] == v && v4[1] == 0.0f,
                      "%s row %d trial %d: four rows %.9g %.9g %.9g %.9g, one row %.9g", TYPES[i].name, row, trial,
                      v4[0], v4[1], v4[2], v4[3], v);
                double exact = 0, bound = 0, mag = 0;
                for (int k = 0; k < COLS; k++) {
                    exact += (double)w[k] * x[k];
                    mag += fabs((double)w[k] * x[k]);
                    double step;
                    if (kq) {
                        step = fabs(((const sori_block_q8_k *)xq)[k / SORI_QK].d);
                    } else {
                        uint16_t h;
                        memcpy(&h, xq + (k / 32) * 34, 2);
                        step = sori_f16_to_f32(h);
                        /* Q8_0 activations keep an f16 scale: the rounding of the scale itself */
                        step += fabs(x[k]) * 1e-3;
                    }
                    bound += fabs((double)w[k]) * step * 0.5;
                }
                const double tol = bound + 1e-5 * mag + 1e-30;
                worst_vs = fmax(worst_vs, fabs((double)v - s) / (mag + 1e-30));
                worst_bound = fmax(worst_bound, fabs((double)v - exact) / tol);
                CHECK(fabs((double)v - s) <= 1e-5 * mag + 1e-30, "%s row %d trial %d: vector %.9g, scalar %.9g",
                      TYPES[i].name, row, trial, v, s);
                CHECK(fabs((double)v - exact) <= tol, "%s row %d trial %d: dot %.9g, exact %.9g, bound %.3g",
                      TYPES[i].name, row, trial, v, exact, tol);
            }
        printf("dot %-5s: vector vs scalar %.2g (of sum |w x|), error vs exact %.2f of its bound\n",
               TYPES[i].name, worst_vs, worst_bound);
    }
}

/* A product and an embedding lookup with each block type through the
 * runtime (several row counts: the quantized dot products and the
 * dequantize-and-sgemm path), against the double-precision reference. */
static void test_ops(sori_runtime *rt)
{
    sori_rng r;
    sori_rng_seed(&r, 9);
    /* 4 weight rows: up to 16 rows of activations take the quantized dot products, more convert the
     * weights for sgemm (weights of another type than f32 are split by columns, not rows) */
    const int rows_cases[] = {1, 3, 16, 40, 64};
    for (int i = 0; i < N_TYPES; i++) {
        const sori_dtype t = TYPES[i].t;
        if (!g_raw[i])
            continue;
        CHECK(sori_rt_supports(rt, SORI_OP_MATMUL, t), "the CPU runs matmul with %s weights", TYPES[i].name);
        for (int c = 0; c < 5; c++) {
            const int m = rows_cases[c];
            float *a = malloc(sizeof(float) * m * COLS), *out = malloc(sizeof(float) * m * ROWS),
                  *ref = malloc(sizeof(float) * m * ROWS), bias[ROWS] = {0.5f, -1, 0, 2};
            for (int k = 0; k < m * COLS; k++)
                a[k] = sori_rng_uniform(&r, -1.0f, 1.0f);
            sori_op_desc op = {.op = SORI_OP_MATMUL};
            op.u.matmul = (sori_matmul_desc){.batch = 1, .m = m, .n = ROWS, .k = COLS, .trans_b = true,
                                             .a = a, .lda = COLS, .b = g_raw[i], .b_type = t, .ldb = COLS,
                                             .c = out, .ldc = ROWS, .bias = bias, .alpha = 1.0f};
            sori_error err = {0};
            CHECK_STATUS(sori_rt_run(rt, 0, &op, &err), SORI_OK);
            op.u.matmul.c = ref;
            CHECK_STATUS(sori_ref_run(&op, NULL, &err), SORI_OK);
            double worst = 0, scale = 0;
            for (int k = 0; k < m * ROWS; k++) {
                worst = fmax(worst, fabs((double)out[k] - ref[k]));
                scale = fmax(scale, fabs((double)ref[k]));
            }
            /* quantized activations: about 1/254 of each value, averaged over 512 products */
            const bool qdot = sori_dtype_block(t) > 1 && t != SORI_Q8_0 && m <= 16;
            const double tol = (qdot ? 1e-2 : 1e-5) * scale + 1e-6;
            CHECK(worst <= tol, "%s matmul m=%d: max diff %.3g (max |y| %.3g)", TYPES[i].name, m, worst, scale);
            free(a);
            free(out);
            free(ref);
        }
        /* embedding rows 2, 0, 3 of the [4, 512] table */
        int32_t ids[3] = {2, 0, 3};
        float emb[3 * COLS];
        sori_op_desc op = {.op = SORI_OP_EMBEDDING};
        op.u.embedding = (sori_embedding_desc){.ids = ids, .n_ids = 3, .table = g_raw[i], .table_type = t,
                                               .vocab = ROWS, .dim = COLS, .out = emb};
        sori_error err = {0};
        CHECK_STATUS(sori_rt_run(rt, 0, &op, &err), SORI_OK);
        int same = 0;
        for (int k = 0; k < 3 * COLS; k++)
            same += emb[k] == g_vals[i][ids[k / COLS] * COLS + k % COLS];
        CHECK(same >= 3 * COLS - 2, "%s embedding: %d of %d values as gguf-py reads them", TYPES[i].name, same,
              3 * COLS);
    }
    /* 36 weight rows (the fixture's 4, repeated): two panels of 16 and 4 more, for the wide path
     * (16 or more rows widen blocks of weights to packed f32 where the CPU has AVX-512, also when the
     * caller allows 8-bit activations, as the LM does); the tolerance of 8-bit activations for the rest */
    enum { WROWS = 36 };
    for (int i = 0; i < N_TYPES; i++) {
        const sori_dtype t = TYPES[i].t;
        if (!g_raw[i])
            continue;
        const size_t rb = sori_dtype_bytes(t, COLS);
        uint8_t *wb = malloc(rb * WROWS);
        for (int j = 0; j < WROWS; j++)
            memcpy(wb + rb * j, g_raw[i] + rb * (j % ROWS), rb);
        const int ms[] = {16, 40, 97}, had = sori_p16_avx512(-1);
        for (int pass = 0; pass < (had ? 2 : 1); pass++) /* where AVX-512 runs, also without it */
        for (int c = 0; c < 3; c++)
            for (int qa = 0; qa < 2; qa++) {
                sori_p16_avx512(pass ? 0 : had);
                const int m = ms[c];
                float *a = malloc(sizeof(float) * m * COLS), *out = malloc(sizeof(float) * m * WROWS),
                      *ref = malloc(sizeof(float) * m * WROWS);
                for (int k = 0; k < m * COLS; k++)
                    a[k] = sori_rng_uniform(&r, -1.0f, 1.0f);
                sori_op_desc op = {.op = SORI_OP_MATMUL};
                op.u.matmul = (sori_matmul_desc){.batch = 1, .m = m, .n = WROWS, .k = COLS, .trans_b = true,
                                                 .a = a, .lda = COLS, .b = wb, .b_type = t, .ldb = COLS, .c = out,
                                                 .ldc = WROWS, .alpha = 1.0f, .beta = 0.0f, .quant_act = qa};
                sori_error err = {0};
                CHECK_STATUS(sori_rt_run(rt, 0, &op, &err), SORI_OK);
                op.u.matmul.c = ref;
                CHECK_STATUS(sori_ref_run(&op, NULL, &err), SORI_OK);
                double worst = 0, scale = 0;
                for (int k = 0; k < m * WROWS; k++) {
                    worst = fmax(worst, fabs((double)out[k] - ref[k]));
                    scale = fmax(scale, fabs((double)ref[k]));
                }
                const bool exact = !(sori_dtype_block(t) > 1) || sori_p16_avx512(-1);
                const double tol = (exact ? 1e-5 : 1e-2) * scale + 1e-6;
                CHECK(worst <= tol, "%s matmul m=%d n=%d%s: max diff %.3g (max |y| %.3g)", TYPES[i].name, m, WROWS,
                      qa ? " (8-bit activations allowed)" : "", worst, scale);
                free(a);
                free(out);
                free(ref);
            }
        sori_p16_avx512(had);
        free(wb);
    }
    /* bad shapes are refused by name */
    float a[COLS], c[4];
    sori_op_desc op = {.op = SORI_OP_MATMUL};
    op.u.matmul = (sori_matmul_desc){.batch = 1, .m = 1, .n = 1, .k = 200, .trans_b = true, .a = a, .lda = 200,
                                     .b = g_raw[3] ? g_raw[3] : (void *)a, .b_type = SORI_Q4_K, .ldb = 200,
                                     .c = c, .ldc = 1, .alpha = 1.0f};
    sori_error err = {0};
    CHECK_STATUS(sori_rt_run(rt, 0, &op, &err), SORI_ERR_INVALID_ARG);
    CHECK(strstr(err.message, "q4_K") != NULL, "message names the type: %s", err.message);
}

int main(void)
{
    test_dequantize();
    test_dots();
    sori_runtime_params p = sori_runtime_default_params();
    p.device = SORI_DEVICE_CPU;
    p.n_threads = 2;
    p.pool_bytes = 1 << 20;
    sori_runtime *rt = NULL;
    sori_error err = {0};
    CHECK_STATUS(sori_runtime_create(&p, &rt, &err), SORI_OK);
    if (rt)
        test_ops(rt);
    sori_runtime_free(rt);
    for (int i = 0; i < N_TYPES; i++) {
        free(g_raw[i]);
        free(g_vals[i]);
    }
    return check_finish("test_quant");
}
