/* Every CPU op against the double-precision reference on random shapes.
 * Tolerance (f32 on the CPU): relative L2 <= 2e-5 and max-abs <= 1e-3. */
#include "op_suite.h"

int main(void)
{
    uint64_t seed = test_seed("test_ops");
    sori_rng rng;
    sori_rng_seed(&rng, seed);
    sori_runtime_params p = sori_runtime_default_params();
    p.device = SORI_DEVICE_CPU;
    p.pool_bytes = 1 << 20;
    sori_runtime *rt = NULL;
    sori_error err = {0};
    if (sori_runtime_create(&p, &rt, &err) != SORI_OK) {
        fprintf(stderr, "runtime: %s\n", err.message);
        return 1;
    }
    suite_params sp = {.f32 = {2e-5, 1e-3}, .f16 = {2e-5, 1e-3}, .f16_weights = true, .f16_trans_b_only = true,
                       .q8_weights = true,
                       .rounds = 6};
    run_suite(rt, &rng, &sp, getenv("SORI_TEST_VERBOSE") != NULL);
    /* the same suite on one thread (the serial paths of every op) */
    sori_runtime_free(rt);
    p.n_threads = 1;
    if (sori_runtime_create(&p, &rt, &err) != SORI_OK) {
        fprintf(stderr, "runtime: %s\n", err.message);
        return 1;
    }
    sp.rounds = 2;
    run_suite(rt, &rng, &sp, 0);
    sori_runtime_free(rt);
    return check_finish("test_ops");
}
