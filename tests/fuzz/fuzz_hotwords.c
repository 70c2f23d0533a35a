/* libFuzzer target: a hotword list from arbitrary bytes (seeded with small
 * lists), compiled over a vocabulary of Hangul, Latin, multi-character and
 * empty tokens. Whatever compiles is stepped through token sequences taken
 * from the same bytes and drives a short CTC beam search, without faults;
 * every boost stays finite. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "asr/ctc_beam.h"
#include "asr/hotwords.h"

static const char *const TOKENS[] = {"\xea\xb0\x80", "\xe2\x96\x81\xeb\x82\x98", "\xeb\x8b\xa4\xeb\x9d\xbc", "a",
                                     "\xe2\x96\x81" "b", "ab", " ", "", NULL, "\xeb\xa3\xb8"};
enum { NT = sizeof TOKENS / sizeof *TOKENS };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = 0;
    sori_hotwords *h = NULL;
    float score = size ? 0.1f + (float)(data[0] % 50) / 5.0f : 1.0f;
    if (sori_hotwords_create(TOKENS, NT, text, score, &h, NULL) == SORI_OK) {
        int32_t s = 0;
        float total = 0.0f;
        for (size_t i = 0; i < size; i++) {
            float d;
            s = sori_hotwords_next(h, s, (int32_t)(data[i] % (NT + 2)) - 1, &d); /* -1 and NT: out of range */
            total += d;
            if (!isfinite(total) || !isfinite(sori_hotwords_partial(h, s)))
                abort();
        }
        enum { V = NT + 1, T = 16 };
        sori_ctc_beam_params p = {.beam = 4, .max_cands = 4, .cand_logp = -8.0f, .hotwords = h};
        sori_ctc_beam *b = NULL;
        if (sori_ctc_beam_create(V, &p, &b, NULL) == SORI_OK) {
            float lp[T * V];
            for (int i = 0; i < T * V; i++)
                lp[i] = -(float)((size ? data[i % size] : 0) % 11);
            sori_ctc_beam_tok *out = NULL;
            int64_t n = 0;
            if (sori_ctc_beam_step(b, lp, T, NULL) == SORI_OK && sori_ctc_beam_best(b, 1, &out, &n, NULL) == SORI_OK)
                free(out);
            sori_ctc_beam_free(b);
        }
        sori_hotwords_free(h);
    }
    free(text);
    return 0;
}
