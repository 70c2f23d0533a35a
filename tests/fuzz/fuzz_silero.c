/* libFuzzer target: Silero VAD model files (seeded with data/silero-vad.gguf
 * when tools/setup.sh has made it), mutated structure-aware
 * (gguf_mutator.h). Whatever loads runs a few windows at 16 and 8 kHz;
 * probabilities must be finite and in [0, 1]. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "gguf_mutator.h"
#include "sori/vad.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sori_silero_vad *m = NULL;
    if (sori_silero_vad_load_memory(data, size, &m, NULL) != SORI_OK)
        return 0;
    gguf_pool_keep(data, size);
    static const int rates[] = {16000, 8000, 44100};
    for (int r = 0; r < 3; r++) {
        sori_silero_vad_state *s = NULL;
        int W = sori_silero_vad_window(m, rates[r]);
        if (W <= 0 || W > 65536 || sori_silero_vad_state_create(m, rates[r], &s, NULL) != SORI_OK)
            continue;
        float *x = malloc((size_t)W * sizeof(float));
        for (int i = 0; i < W; i++)
            x[i] = 0.3f * sinf(0.05f * (float)i);
        for (int k = 0; k < 3; k++) {
            float p = -1.0f;
            if (sori_silero_vad_process(s, x, W, &p, NULL) == SORI_OK && !(p >= 0.0f && p <= 1.0f))
                abort();
        }
        free(x);
        sori_silero_vad_state_free(s);
    }
    sori_silero_vad_free(m);
    return 0;
}

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed)
{
    return gguf_mutate(data, size, max_size, seed);
}
