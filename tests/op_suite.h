/* The op test suite, shared by the CPU op test and the CUDA parity test:
 * random shapes (odd sizes included) for every op and every option, each
 * checked against the double-precision reference with the caller's
 * tolerances. */
#ifndef SORI_TESTS_OP_SUITE_H
#define SORI_TESTS_OP_SUITE_H

#include "check.h"
#include "kernels/opcheck.h"

typedef struct {
    double rel_l2;  /* ||out - ref|| / ||ref|| */
    double max_abs; /* max |out - ref| */
} tolerance;

typedef struct {
    tolerance f32;     /* f32 weights */
    tolerance f16;     /* f16 weights (GPU) */
    bool f16_weights;  /* also run f16-weight cases */
    bool f16_trans_b_only; /* f16 matmul weights only in PyTorch layout (the CPU backend) */
    bool q8_weights;   /* also Q8_0 weights (matmul in PyTorch layout, embedding) */
    bool q8_as_f16;    /* Q8_0 matmuls held to the f16 tolerance (the GPU multiplies in f16) */
    int rounds;        /* random configurations per op */
} suite_params;

static void run_case(sori_runtime *rt, sori_opcase *c, tolerance tol, int verbose)
{
    CHECK(c != NULL, "case allocation");
    if (!c)
        return;
    sori_opcheck_result res;
    sori_error err = {0};
    sori_status st = sori_opcheck(rt, 0, &c->desc, 1, &res, &err);
    CHECK(st == SORI_OK, "%s: %s", c->label, err.message);
    if (st == SORI_OK) {
        CHECK(res.rel_l2 <= tol.rel_l2 && res.max_abs <= tol.max_abs,
              "%s: rel_l2 %.3e (tol %.1e) max_abs %.3e (tol %.1e)", c->label, res.rel_l2,
              tol.rel_l2, res.max_abs, tol.max_abs);
        CHECK(res.n_out > 0, "%s: nothing compared", c->label);
        if (verbose)
            printf("  %-90s rel %.2e max %.2e\n", c->label, res.rel_l2, res.max_abs);
    }
    sori_opcase_free(c);
}

static sori_act rand_act(sori_rng *r)
{
    return (sori_act)sori_rng_int(r, 0, SORI_ACT_COUNT_ - 1);
}

static void run_suite(sori_runtime *rt, sori_rng *r, const suite_params *p, int verbose)
{
    const tolerance t = p->f32;
    for (int round = 0; round < p->rounds; round++) {
        /* matmul: every transpose combination, batch with shared/own B, bias, beta, act */
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++) {
                int batch = sori_rng_int(r, 1, 4);
                int m = sori_rng_int(r, 1, 97), n = sori_rng_int(r, 1, 131), k = sori_rng_int(r, 1, 150);
                bool share = sori_rng_int(r, 0, 1), bias = sori_rng_int(r, 0, 1);
                float beta = sori_rng_int(r, 0, 2) == 0 ? 0.5f : 0.0f;
                run_case(rt, sori_opcase_matmul(r, batch, m, n, k, ta, tb, share, bias, beta, rand_act(r), SORI_F32), t, verbose);
                if (p->f16_weights && (tb || !p->f16_trans_b_only))
                    run_case(rt, sori_opcase_matmul(r, batch, m, n, k, ta, tb, share, bias, beta, rand_act(r), SORI_F16), p->f16, verbose);
            }
        if (p->f16_weights) { /* f16, a few rows (a decoder step, its beams): each tile height, column and k tails */
            for (int m = 1 + round % 8, i = 0; i < 2; i++, m = sori_rng_int(r, 1, 8))
                run_case(rt, sori_opcase_matmul(r, sori_rng_int(r, 1, 3), m, sori_rng_int(r, 1, 131), sori_rng_int(r, 1, 300),
                                                false, true, sori_rng_int(r, 0, 1), sori_rng_int(r, 0, 1),
                                                sori_rng_int(r, 0, 2) == 0 ? 0.5f : 0.0f, rand_act(r), SORI_F16),
                         p->f16, verbose);
        }
        if (p->q8_weights) { /* Q8_0: k a multiple of 32; a few rows (a decoder step) and many */
            int k32 = 32 * sori_rng_int(r, 1, 6), n = sori_rng_int(r, 1, 131);
            const tolerance tq = p->q8_as_f16 ? p->f16 : t;
            run_case(rt, sori_opcase_matmul(r, sori_rng_int(r, 1, 3), sori_rng_int(r, 1, 8), n, k32, false, true,
                                            sori_rng_int(r, 0, 1), true, 0.0f, rand_act(r), SORI_Q8_0), tq, verbose);
            run_case(rt, sori_opcase_matmul(r, 1, sori_rng_int(r, 9, 97), n, k32, sori_rng_int(r, 0, 1), true, true,
                                            false, 0.5f, SORI_ACT_NONE, SORI_Q8_0), tq, verbose);
            run_case(rt, sori_opcase_embedding(r, sori_rng_int(r, 1, 100), sori_rng_int(r, 1, 500), k32, SORI_Q8_0),
                     t, verbose);
        }
        if (sori_rt_supports(rt, SORI_OP_MATMUL, SORI_F32_P16)) {
            /* weights packed at load: row tails of the 6- and 12-row tiles and of the 96- and 192-row
             * blocks, odd panel counts, k over several 256-blocks and odd; now and then more than a
             * 512-column slab */
            int m = sori_rng_int(r, 1, 400), n = 16 * (sori_rng_int(r, 0, 3) ? sori_rng_int(r, 1, 12) : sori_rng_int(r, 30, 40));
            int k = sori_rng_int(r, 1, 600);
            run_case(rt, sori_opcase_matmul(r, sori_rng_int(r, 1, 3), m, n, k, false, true, sori_rng_int(r, 0, 1),
                                            sori_rng_int(r, 0, 1), sori_rng_int(r, 0, 2) == 0 ? 0.5f : 0.0f,
                                            rand_act(r), SORI_F32_P16), t, verbose);
            run_case(rt, sori_opcase_matmul(r, 1, sori_rng_int(r, 1, 13), n, k, false, true, true, true, 0.0f,
                                            SORI_ACT_NONE, SORI_F32_P16), t, verbose); /* rows read in place */
            run_case(rt, sori_opcase_matmul(r, 1, 250 + round, 704, 176, false, true, true, true, 0.0f,
                                            SORI_ACT_SILU, SORI_F32_P16), t, verbose);
            /* rows 4 KiB apart (the AVX-512 kernel packs them, else reads them in place) */
            run_case(rt, sori_opcase_matmul(r, 1, sori_rng_int(r, 13, 220), 16 * sori_rng_int(r, 1, 5), 1024, false, true,
                                            true, sori_rng_int(r, 0, 1), 0.0f, rand_act(r), SORI_F32_P16), t, verbose);
        }
        /* Conformer-sized matmul (feed-forward of d_model 256, 150 frames) */
        run_case(rt, sori_opcase_matmul(r, 1, 150 + round, 1024, 256, false, true, true, true, 0.0f, SORI_ACT_SILU, SORI_F32), t, verbose);

        /* conv1d: pointwise, dense with kernel/stride/padding, depthwise same and causal */
        {
            int b = sori_rng_int(r, 1, 3), tt = sori_rng_int(r, 1, 70), ci = sori_rng_int(r, 1, 40), co = sori_rng_int(r, 1, 40);
            run_case(rt, sori_opcase_conv1d(r, b, tt, ci, co, 1, 1, 0, 0, false, sori_rng_int(r, 0, 1), rand_act(r)), t, verbose);
            int k = sori_rng_int(r, 1, 7), s = sori_rng_int(r, 1, 3);
            int pl = sori_rng_int(r, 0, k - 1), pr = sori_rng_int(r, 0, k - 1);
            if (tt + pl + pr >= k)
                run_case(rt, sori_opcase_conv1d(r, b, tt, ci, co, k, s, pl, pr, false, true, rand_act(r)), t, verbose);
            int kd = 2 * sori_rng_int(r, 0, 15) + 1; /* odd kernels up to 31 */
            int ch = sori_rng_int(r, 1, 300);
            if (tt + kd - 1 >= kd) {
                run_case(rt, sori_opcase_conv1d(r, b, tt, ch, ch, kd, 1, (kd - 1) / 2, (kd - 1) / 2, true, true, SORI_ACT_NONE), t, verbose);
                run_case(rt, sori_opcase_conv1d(r, b, tt, ch, ch, kd, 1, kd - 1, 0, true, sori_rng_int(r, 0, 1), rand_act(r)), t, verbose);
            }
            run_case(rt, sori_opcase_conv1d(r, b, tt + 8, ch, ch, 3, 2, 1, 1, true, true, SORI_ACT_NONE), t, verbose);
        }
        /* conv2d: NeMo striding / dw_striding subsampling shapes, symmetric and causal padding */
        {
            int b = sori_rng_int(r, 1, 2), h = sori_rng_int(r, 3, 41), w = sori_rng_int(r, 3, 33);
            int ci = sori_rng_int(r, 1, 5), co = sori_rng_int(r, 1, 17);
            run_case(rt, sori_opcase_conv2d(r, b, ci, h, w, co, 3, 3, 2, 2, 1, 1, 1, 1, false, SORI_ACT_RELU), t, verbose);
            run_case(rt, sori_opcase_conv2d(r, b, ci, h, w, co, 3, 3, 2, 2, 2, 1, 2, 1, false, SORI_ACT_NONE), t, verbose);
            run_case(rt, sori_opcase_conv2d(r, b, co, h, w, co, 3, 3, 2, 2, 1, 1, 1, 1, true, SORI_ACT_NONE), t, verbose);
            run_case(rt, sori_opcase_conv2d(r, b, co, h, w, co, 3, 3, 2, 2, 2, 1, 2, 1, true, rand_act(r)), t, verbose);
            run_case(rt, sori_opcase_conv2d(r, b, ci, h, w, co, sori_rng_int(r, 1, 3), sori_rng_int(r, 1, 3), 1, 1, 0, 0, 0, 0, false, rand_act(r)), t, verbose);
            if (sori_rt_supports(rt, SORI_OP_CONV2D, SORI_F32_P16)) { /* packed weights, rows of channels out */
                int cp = 16 * sori_rng_int(r, 1, 3), cin = sori_rng_int(r, 0, 1) ? sori_rng_int(r, 1, 5) : cp;
                sori_opcase *pc = sori_opcase_conv2d(r, b, cin, h + 40, w, cp, 3, 3, 2, 2, 1, 1, 1, 1, false, SORI_ACT_RELU);
                sori_opcase *pc2 = sori_opcase_conv2d(r, b, cin, h, w, cp, 3, 3, 2, 2, 2, 1, 2, 1, false, rand_act(r));
                if (pc)
                    sori_opcase_conv2d_pack(pc);
                if (pc2)
                    sori_opcase_conv2d_pack(pc2);
                run_case(rt, pc, t, verbose);
                run_case(rt, pc2, t, verbose);
            }
        }
        /* norms */
        {
            int64_t rows = sori_rng_int(r, 1, 300);
            int dim = sori_rng_int(r, 1, 700);
            run_case(rt, sori_opcase_layer_norm(r, rows, dim, true, false), t, verbose);
            run_case(rt, sori_opcase_layer_norm(r, rows, dim, false, true), t, verbose);
            run_case(rt, sori_opcase_batch_norm(r, rows, sori_rng_int(r, 1, 300), rand_act(r)), t, verbose);
        }
        /* softmax / log-softmax, masked with fully masked rows */
        {
            int64_t rows = sori_rng_int(r, 1, 200);
            int dim = sori_rng_int(r, 1, 1100);
            run_case(rt, sori_opcase_softmax(r, rows, dim, false, false), t, verbose);
            run_case(rt, sori_opcase_softmax(r, rows, dim, true, false), t, verbose);
            run_case(rt, sori_opcase_softmax(r, rows, dim, false, true), t, verbose);
            run_case(rt, sori_opcase_softmax(r, rows, dim, true, true), t, verbose);
            /* in place, as the CTC head runs it */
            for (int lg = 0; lg < 2; lg++) {
                sori_opcase *c = sori_opcase_softmax(r, rows, dim, lg, lg);
                if (c)
                    c->desc.u.softmax.y = (float *)c->desc.u.softmax.x;
                run_case(rt, c, t, verbose);
            }
        }
        /* elementwise */
        for (int a = 0; a < SORI_ACT_COUNT_; a++)
            run_case(rt, sori_opcase_unary(r, sori_rng_int(r, 1, 40000), (sori_act)a, a == 0 ? 0.5f : 1.0f), t, verbose);
        run_case(rt, sori_opcase_glu(r, sori_rng_int(r, 1, 300), sori_rng_int(r, 1, 300)), t, verbose);
        run_case(rt, sori_opcase_binary(r, SORI_BIN_ADD, sori_rng_int(r, 1, 300), sori_rng_int(r, 1, 300), false, 0.5f), t, verbose);
        run_case(rt, sori_opcase_binary(r, SORI_BIN_ADD, sori_rng_int(r, 1, 300), sori_rng_int(r, 1, 300), true, 1.0f), t, verbose);
        run_case(rt, sori_opcase_binary(r, SORI_BIN_MUL, sori_rng_int(r, 1, 300), sori_rng_int(r, 1, 300), sori_rng_int(r, 0, 1), 1.0f), t, verbose);
        run_case(rt, sori_opcase_row_mask(r, sori_rng_int(r, 1, 300), sori_rng_int(r, 1, 300)), t, verbose);
        run_case(rt, sori_opcase_embedding(r, sori_rng_int(r, 1, 100), sori_rng_int(r, 1, 500), sori_rng_int(r, 1, 200), SORI_F32), t, verbose);
        if (p->f16_weights)
            run_case(rt, sori_opcase_embedding(r, sori_rng_int(r, 1, 100), sori_rng_int(r, 1, 500), sori_rng_int(r, 1, 200), SORI_F16), p->f16, verbose);

        /* attention: plain and relative-position, every context mode, ragged
         * batches, and streaming shapes (t_q < t_k: a cache before the chunk) */
        for (int rel = 0; rel < 2; rel++)
            for (int ctx = 0; ctx < 3; ctx++) {
                int b = sori_rng_int(r, 1, 3), h = sori_rng_int(r, 1, 4), dk = sori_rng_int(r, 1, 40);
                int tk = sori_rng_int(r, 1, 90);
                int tq = sori_rng_int(r, 0, 1) ? tk : sori_rng_int(r, 1, tk);
                int left = sori_rng_int(r, -1, 30), right = sori_rng_int(r, -1, 8);
                int chunk = sori_rng_int(r, 1, 8);
                run_case(rt, sori_opcase_attention(r, b, h, tq, tk, dk, rel, (sori_att_context)ctx, left, right, chunk, sori_rng_int(r, 0, 1)), t, verbose);
                /* head sizes of 16s (the packed path where it runs), several blocks of queries */
                int tk2 = sori_rng_int(r, 1, 500), tq2 = sori_rng_int(r, 0, 1) ? tk2 : sori_rng_int(r, 1, tk2);
                run_case(rt, sori_opcase_attention(r, 1, sori_rng_int(r, 1, 2), tq2, tk2, 16 * sori_rng_int(r, 1, 4), rel,
                                                   (sori_att_context)ctx, sori_rng_int(r, -1, 300), right, 4 * chunk,
                                                   sori_rng_int(r, 0, 1)), t, verbose);
            }
        /* decoder steps (t_q <= 8: keys and values read in place, the beams' queries together): head sizes
         * of 16s (32 and 64 output columns at a time) and others, ragged, every context mode */
        for (int i = 0; i < 2; i++) {
            int tk3 = sori_rng_int(r, 1, 500), dk3 = i ? 16 * sori_rng_int(r, 1, 6) : sori_rng_int(r, 1, 80);
            run_case(rt, sori_opcase_attention(r, sori_rng_int(r, 1, 3), sori_rng_int(r, 1, 3),
                                               sori_rng_int(r, 1, tk3 < 8 ? tk3 : 8), tk3, dk3, false,
                                               (sori_att_context)sori_rng_int(r, 0, 2), sori_rng_int(r, -1, 300),
                                               sori_rng_int(r, -1, 8), sori_rng_int(r, 1, 8), sori_rng_int(r, 0, 1)),
                     t, verbose);
        }
        /* log-mel spectra (a GPU op: the CPU computes features in dsp/) */
        if (sori_rt_supports(rt, SORI_OP_LOGMEL, SORI_F32)) {
            run_case(rt, sori_opcase_logmel(r, sori_rng_int(r, 1, 40), 400, 512, 80, true, 0), t.rel_l2 < 1e-4 ? (tolerance){1e-5, 1e-3} : t, verbose);
            run_case(rt, sori_opcase_logmel(r, sori_rng_int(r, 2049, 2300), 60, 64, 16, false, -1), (tolerance){1e-5, 1e-3}, verbose); /* > one cuFFT batch */
            run_case(rt, sori_opcase_logmel(r, sori_rng_int(r, 1, 50), 200, 256, 40, true, 40), (tolerance){1e-5, 1e-3}, verbose);
        }
        /* LSTM step (transducer prediction network sizes and odd ones) */
        run_case(rt, sori_opcase_lstm(r, sori_rng_int(r, 1, 16), sori_rng_int(r, 1, 330), sori_rng_int(r, 1, 330)), t, verbose);
    }
}

#endif
