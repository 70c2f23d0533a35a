/* Batched log-mel features on CUDA (cuFFT + cuBLAS) against the CPU
 * extractor (itself held to kaldi-native-fbank and NeMo): Kaldi and NeMo
 * configurations, a batch of signals of different lengths, every value
 * within 1e-3 absolute. Skips (77) without a GPU. */
#include <math.h>
#include <string.h>

#include "check.h"
#include "kernels/opcheck.h"
#include "sori/features.h"

int main(void)
{
    sori_runtime_params rp = sori_runtime_default_params();
    rp.device = SORI_DEVICE_CUDA;
    rp.pool_bytes = 1 << 20;
    sori_runtime *rt = NULL;
    sori_error err = {0};
    sori_status st = sori_runtime_create(&rp, &rt, &err);
    if (st == SORI_ERR_NO_DEVICE)
        SKIP("no CUDA device: %s", err.message);
    if (st != SORI_OK) {
        fprintf(stderr, "runtime: %s\n", err.message);
        return 1;
    }
    uint64_t seed = test_seed("test_gpu_features");
    sori_rng r;
    sori_rng_seed(&r, seed);
    enum { B = 4 };
    int64_t lens[B] = {16000 * 3 + 77, 12345, 400, 16000 * 11};
    float *sig[B];
    for (int b = 0; b < B; b++) {
        sig[b] = malloc((size_t)lens[b] * sizeof(float));
        for (int64_t i = 0; i < lens[b]; i++)
            sig[b][i] = 0.3f * sinf(0.01f * (float)i * (1 + b)) + sori_rng_uniform(&r, -0.05f, 0.05f);
    }
    for (int cfg = 0; cfg < 5; cfg++) {
        sori_feature_params p = sori_feature_default_params(cfg < 2 ? SORI_FEAT_KALDI : SORI_FEAT_NEMO);
        p.n_mels = 80;
        if (cfg == 1) {
            p.use_energy = true;
            p.htk_compat = true;
            p.snip_edges = false;
            p.energy_floor = 1.0f;
        }
        if (cfg == 3) {
            p.normalize = SORI_NORM_NONE;
            p.pad_to = 16;
        }
        if (cfg == 4)
            p.normalize = SORI_NORM_ALL_FEATURES;
        sori_features *fx = NULL;
        CHECK_STATUS(sori_features_create(&p, &fx, &err), SORI_OK);
        if (!fx)
            continue;
        int D = sori_features_dim(fx);
        float *gpu[B], *cpu[B];
        int64_t maxf[B], ng[B], nc[B];
        const float *in[B];
        for (int b = 0; b < B; b++) {
            maxf[b] = sori_features_num_frames(fx, lens[b]);
            gpu[b] = malloc((size_t)(maxf[b] + 1) * D * sizeof(float));
            cpu[b] = malloc((size_t)(maxf[b] + 1) * D * sizeof(float));
            in[b] = sig[b];
            CHECK_STATUS(sori_features_compute(fx, sig[b], lens[b], cpu[b], maxf[b], &nc[b], &err), SORI_OK);
        }
        CHECK_STATUS(sori_features_compute_batch(rt, 0, fx, B, in, lens, gpu, maxf, ng, &err), SORI_OK);
        for (int b = 0; b < B; b++) {
            CHECK(ng[b] == nc[b], "cfg %d item %d: %lld vs %lld frames", cfg, b, (long long)ng[b], (long long)nc[b]);
            double mx = 0;
            for (int64_t i = 0; i < nc[b] * D && ng[b] == nc[b]; i++)
                mx = fmax(mx, fabs((double)gpu[b][i] - cpu[b][i]));
            CHECK(mx <= 1e-3, "cfg %d item %d: max abs difference %.3g", cfg, b, mx);
            printf("  cfg %d item %d: %lld frames, max abs GPU-CPU %.2e\n", cfg, b, (long long)nc[b], mx);
            free(gpu[b]);
            free(cpu[b]);
        }
        sori_features_free(fx);
    }
    for (int b = 0; b < B; b++)
        free(sig[b]);
    sori_runtime_free(rt);
    return check_finish("test_gpu_features");
}
