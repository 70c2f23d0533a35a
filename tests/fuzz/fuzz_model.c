/* libFuzzer target: loading a Conformer model from arbitrary bytes (seeded
 * with the golden fixture models). Whatever loads must run a short forward
 * pass without faults. */
#include <stdint.h>
#include <stdlib.h>

#include "asr/conformer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static sori_runtime *rt;
    if (!rt) {
        sori_runtime_params p = sori_runtime_default_params();
        p.device = SORI_DEVICE_CPU;
        p.n_threads = 1;
        p.pool_bytes = 4096;
        if (sori_runtime_create(&p, &rt, NULL) != SORI_OK)
            abort();
    }
    sori_conformer *m = NULL;
    if (sori_conformer_load_memory(rt, data, size, &m, NULL) != SORI_OK)
        return 0;
    sori_conformer_info in = sori_conformer_get_info(m);
    if (in.feat_in > 0 && in.feat_in <= 512 && in.d_model <= 1024 && in.n_layers <= 32) {
        int64_t frames = 40;
        float *feats = calloc((size_t)frames * in.feat_in, sizeof(float));
        int64_t T = sori_conformer_out_frames(m, frames);
        float *lp = malloc((size_t)(T > 0 ? T : 1) * (in.vocab_size + 1) * sizeof(float));
        if (feats && lp)
            sori_conformer_forward(m, feats, frames, NULL, lp, NULL);
        free(feats);
        free(lp);
    }
    sori_conformer_free(m);
    return 0;
}
