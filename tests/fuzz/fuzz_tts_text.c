/* libFuzzer target: text to speech from arbitrary bytes (sori/tts.h). Each
 * input goes through sori_tts_text_to_ids for the bundled Kokoro voice when
 * tools/setup.sh fetched it (data/kokoro-82m.gguf: normalize → g2p → IPA)
 * and for the VITS test fixture (its vocabulary) and the Piper one (Korean IPA,
 * ^ … $ framing): ids in the vocabulary, a
 * cap one short refused with the count; invalid UTF-8 refused. Short inputs
 * are then spoken by the VITS fixture (Kokoro's synthesis takes minutes in
 * this unoptimized, sanitized build; test_tts_kokoro covers its bad input):
 * finite samples in [-1.5, 1.5], or a clear refusal, the session usable. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sori/runtime.h"
#include "sori/tts.h"

static sori_runtime *rt;
static sori_tts_voice *kokoro, *vits, *piper;
static sori_tts_synth *synth;

static void setup(void)
{
    sori_runtime_params p = sori_runtime_default_params();
    p.device = SORI_DEVICE_CPU;
    p.n_threads = 1;
    if (sori_runtime_create(&p, &rt, NULL) != SORI_OK)
        abort();
    sori_error err = {0};
    if (sori_tts_voice_load(rt, SORI_KOKORO_FILE, &kokoro, &err) != SORI_OK)
        fprintf(stderr, "fuzz_tts_text: %s: the VITS fixture alone\n", err.message);
    if (sori_tts_voice_load(rt, SORI_VITS_FIXTURE, &vits, NULL) != SORI_OK ||
        sori_tts_voice_load(rt, SORI_PIPER_FIXTURE, &piper, NULL) != SORI_OK)
        abort();
    if (sori_tts_synth_create(vits, NULL, &synth, NULL) != SORI_OK)
        abort();
}

/* text → ids for a voice, checked; returns the count (-1: refused) */
static int to_ids(const sori_tts_voice *v, const uint8_t *data, size_t size, int32_t *ids, int cap)
{
    const sori_tts_voice_info info = sori_tts_voice_get_info(v);
    int n = -1, skipped = -1;
    sori_error err;
    const sori_status st = sori_tts_text_to_ids(v, (const char *)data, size, ids, cap, &n, &skipped, &err);
    if (st != SORI_OK) {
        if (st != SORI_ERR_INVALID_ARG)
            abort();
        return -1;
    }
    if (n < 0 || n > cap || skipped < 0)
        abort();
    for (int i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= info.n_vocab)
            abort();
    if (n > 1) { /* one id short: refused, with the count */
        int m = -1;
        if (sori_tts_text_to_ids(v, (const char *)data, size, ids, n - 1, &m, NULL, &err) != SORI_ERR_INVALID_ARG ||
            m != n)
            abort();
        sori_tts_text_to_ids(v, (const char *)data, size, ids, cap, &n, NULL, &err);
    }
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!vits)
        setup();
    const int cap = (int)(48 * size + 256);
    int32_t *ids = malloc(sizeof(int32_t) * (size_t)cap);
    if (!ids)
        abort();
    if (kokoro)
        to_ids(kokoro, data, size, ids, cap);
    const int np = to_ids(piper, data, size, ids, cap);
    if (np > 0 && (ids[0] != 1 || ids[np - 1] != 2)) /* the fixture's ^ and $ */
        abort();
    const int n = to_ids(vits, data, size, ids, cap);
    if (n >= 0 && size <= 64) {
        const float *pcm = NULL;
        int64_t k = 0;
        sori_error err;
        if (sori_tts_synth_tokens(synth, ids, n, NULL, &pcm, &k, &err) == SORI_OK)
            for (int64_t i = 0; i < k; i++)
                if (!isfinite(pcm[i]) || fabsf(pcm[i]) > 1.5f)
                    abort();
    }
    free(ids);
    return 0;
}
