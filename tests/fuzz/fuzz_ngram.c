/* libFuzzer target: loading an n-gram LM (ARPA or GGUF) from arbitrary bytes
 * (seeded with the fixture LMs). Whatever loads is queried with contexts of
 * in- and out-of-range ids and drives a short CTC beam search with LM fusion,
 * without faults. GGUF inputs are mutated structure-aware (gguf_mutator.h);
 * ARPA text byte-wise. */
#include <stdint.h>
#include <stdlib.h>

#include "gguf_mutator.h"

#include "asr/ctc_beam.h"
#include "sori/ngram.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sori_ngram *lm = NULL;
    if (sori_ngram_load_memory(data, size, &lm, NULL) != SORI_OK)
        return 0;
    if (size >= 4 && memcmp(data, "GGUF", 4) == 0)
        gguf_pool_keep(data, size);
    sori_ngram_info in = sori_ngram_get_info(lm);
    int32_t ctx[12];
    for (int i = 0; i < 12; i++)
        ctx[i] = (int32_t)(i * 7919 % (in.vocab_size + 3)) - 1; /* -1 .. vocab_size + 1 */
    for (int n = 0; n <= 12; n++)
        (void)sori_ngram_log10p(lm, ctx, n, ctx[n % 12]);
    enum { V = 9, T = 24 };
    int32_t tok2lm[V - 1];
    for (int i = 0; i < V - 1; i++)
        tok2lm[i] = in.vocab_size ? (int32_t)(i % in.vocab_size) : -1;
    sori_ctc_beam_params p = {.beam = 4, .max_cands = 4, .cand_logp = -8.0f, .lm = lm, .tok2lm = tok2lm,
                              .weight = 0.5f, .bonus = 1.0f};
    sori_ctc_beam *b = NULL;
    if (sori_ctc_beam_create(V, &p, &b, NULL) == SORI_OK) {
        float lp[T * V];
        for (int i = 0; i < T * V; i++)
            lp[i] = -(float)((i * 37) % 11) * 0.5f;
        sori_ctc_beam_tok *toks = NULL;
        int64_t n = 0;
        if (sori_ctc_beam_step(b, lp, T, NULL) == SORI_OK)
            sori_ctc_beam_best(b, 1, &toks, &n, NULL);
        free(toks);
        sori_ctc_beam_free(b);
    }
    sori_ngram_free(lm);
    return 0;
}

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed)
{
    return gguf_mutate(data, size, max_size, seed);
}
