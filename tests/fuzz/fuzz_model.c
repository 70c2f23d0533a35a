/* libFuzzer target: loading a Conformer model from arbitrary bytes (seeded
 * with the golden fixture models). Whatever loads must run a short forward
 * pass, RNN-T greedy decoding where it has the head, and two cache-aware
 * streaming steps where it can stream, without faults. */
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
        float *enc = malloc((size_t)(T > 0 ? T : 1) * in.d_model * sizeof(float));
        if (feats && lp && enc && sori_conformer_forward(m, feats, frames, enc, sori_conformer_has_ctc(m) ? lp : NULL,
                                                         NULL) == SORI_OK &&
            sori_conformer_has_rnnt(m)) { /* RNN-T greedy over the encoder output */
            sori_rnnt_state *rs = NULL;
            sori_rnnt_emit *toks = NULL;
            int64_t n = 0, cap = 0;
            if (sori_rnnt_state_create(m, &rs, NULL) == SORI_OK)
                sori_rnnt_greedy(rs, enc, T, 0, &toks, &n, &cap, NULL);
            free(toks);
            sori_rnnt_state_free(rs);
        }
        sori_conformer_stream_cfg sc = sori_conformer_get_stream_cfg(m);
        sori_conformer_cache *c = NULL;
        if (feats && enc && sc.supported && sc.cache_len <= 4096 && sori_conformer_cache_create(m, &c, NULL) == SORI_OK) {
            /* two streaming steps: a first one and a later one */
            const float *xs[1] = {feats};
            float *eo[1] = {enc};
            int64_t n1 = sc.chunk_first < frames ? sc.chunk_first : frames, n2 = frames, got = 0;
            if (sori_conformer_out_frames(m, n1) <= T && sori_conformer_out_frames(m, n2) <= T) {
                sori_conformer_stream_step(m, 1, &c, xs, &n1, 0, eo, NULL, &got, NULL);
                sori_conformer_stream_step(m, 1, &c, xs, &n2, sc.drop, eo, NULL, &got, NULL);
            }
            sori_conformer_cache_free(c);
        }
        free(feats);
        free(lp);
        free(enc);
    }
    sori_conformer_free(m);
    return 0;
}
