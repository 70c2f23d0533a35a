/* Helpers shared by the ASR streaming tests. */
#ifndef SORI_TESTS_ASR_UTIL_H
#define SORI_TESTS_ASR_UTIL_H

#include <string.h>

#include "check.h"
#include "kernels/opcheck.h"
#include "sori/asr.h"

/* Streams x (in random chunks up to max_chunk samples; 0: at once) with
 * endpointing: every finalized utterance's text and start, then the
 * last one's, joined into one string. */
static void run_endpointed(sori_asr_model *m, const sori_asr_stream_params *p, const float *x, int64_t n,
                           int64_t max_chunk, sori_rng *r, char *out, size_t cap, int *n_utt)
{
    sori_asr_stream *s = NULL;
    sori_error err = {0};
    out[0] = '\0';
    *n_utt = 0;
    CHECK_STATUS(sori_asr_stream_create(m, p, &s, &err), SORI_OK);
    if (!s)
        return;
    int64_t pos = 0;
    for (int done = 0; !done;) {
        if (pos < n) {
            int64_t c = max_chunk ? 1 + (int64_t)(sori_rng_next(r) % (uint64_t)max_chunk) : n;
            if (c > n - pos)
                c = n - pos;
            CHECK_STATUS(sori_asr_stream_accept(s, x + pos, c, 16000, &err), SORI_OK);
            pos += c;
        } else {
            CHECK_STATUS(sori_asr_stream_input_finished(s, &err), SORI_OK);
            done = 1;
        }
        while (sori_asr_stream_is_ready(s))
            CHECK_STATUS(sori_asr_decode_ready(m, &s, 1, &err), SORI_OK);
        sori_asr_result *f = NULL;
        while (sori_asr_stream_pop_final(s, &f, &err) == SORI_OK && f) {
            char line[512];
            snprintf(line, sizeof line, "[%.2f %s]", f->n_words ? f->words[0].start_s : -1.0, f->text);
            strncat(out, line, cap - strlen(out) - 1);
            CHECK(f->is_final, "popped result not final");
            (*n_utt)++;
            sori_asr_result_free(f);
        }
    }
    sori_asr_result *last = NULL;
    CHECK_STATUS(sori_asr_stream_result(s, &last, &err), SORI_OK);
    if (last) {
        CHECK(last->is_final, "the last utterance is final at the end");
        char line[512];
        snprintf(line, sizeof line, "[last %s]", last->text);
        strncat(out, line, cap - strlen(out) - 1);
        (*n_utt) += last->text[0] != 0;
    }
    sori_asr_result_free(last);
    sori_asr_stream_free(s);
}

#endif
