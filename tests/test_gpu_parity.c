/* Every CUDA op against the same double-precision reference the CPU backend
 * is held to (so CUDA and CPU agree through it). Skips (77) without a GPU.
 * Tolerances: f32 with TF32 off: relative L2 <= 1e-5, max-abs <= 1e-3 (as
 * the CPU, a little looser for the different summation order); with
 * SORI_CUDA_TF32=1: 5e-3 / 5e-2; f16 weights (activations rounded to f16
 * too): 3e-3 / 5e-2; Q8_0 weights (expanded to f16 on the device) are
 * held to the f16 tolerance. */
#include <string.h>

#include "op_suite.h"

int main(void)
{
    sori_runtime_params p = sori_runtime_default_params();
    p.device = SORI_DEVICE_CUDA;
    p.pool_bytes = 1 << 20;
    sori_runtime *rt = NULL;
    sori_error err = {0};
    sori_status st = sori_runtime_create(&p, &rt, &err);
    if (st == SORI_ERR_NO_DEVICE)
        SKIP("no CUDA device: %s", err.message);
    if (st != SORI_OK) {
        fprintf(stderr, "runtime: %s\n", err.message);
        return 1;
    }
    uint64_t seed = test_seed("test_gpu_parity");
    sori_rng rng;
    sori_rng_seed(&rng, seed);
    const char *tf = getenv("SORI_CUDA_TF32");
    int tf32 = tf && strcmp(tf, "1") == 0;
    suite_params sp = {.f32 = {tf32 ? 5e-3 : 2e-5, tf32 ? 5e-2 : 1e-3},
                       .f16 = {3e-3, 5e-2},
                       .f16_weights = true,
                       .q8_weights = true,
                       .q8_as_f16 = true,
                       .rounds = 6};
    run_suite(rt, &rng, &sp, getenv("SORI_TEST_VERBOSE") != NULL);
    /* every stream of the pool */
    for (int s = 1; s < p.n_streams; s++) {
        sori_opcase *c = sori_opcase_matmul(&rng, 2, 33, 65, 17, false, true, false, true, 0.0f,
                                            SORI_ACT_RELU, SORI_F32);
        sori_opcheck_result res;
        CHECK(c && sori_opcheck(rt, s, &c->desc, 2, &res, &err) == SORI_OK, "stream %d: %s", s,
              err.message);
        CHECK(res.rel_l2 <= sp.f32.rel_l2, "stream %d: rel %.2e", s, res.rel_l2);
        sori_opcase_free(c);
    }
    sori_runtime_free(rt);
    return check_finish("test_gpu_parity");
}
