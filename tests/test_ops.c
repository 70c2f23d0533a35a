/* Every CPU op against the double-precision reference on random shapes.
 * Products over packed weights run with sori's AVX-512 kernels where the
 * CPU has them, and with the AVX2 ones. Tolerance (f32 on the CPU): relative L2 <= 2e-5 and max-abs <= 1e-3. */
#include "op_suite.h"
#include "kernels/cpu/gemm_p16.h"

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
    /* where the CPU has AVX-512 the suites above ran its kernels; the AVX2 ones too */
    if (sori_p16_avx512(-1)) {
        sori_p16_avx512(0);
        run_suite(rt, &rng, &sp, 0);
        sori_p16_avx512(1);
    }
    sori_runtime_free(rt);
    return check_finish("test_ops");
}
