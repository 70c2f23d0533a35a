/* N-best rescoring by a transformer LM (sori/lm.h), for both decoders: the
 * CTC beam search's final hypotheses (asr/decode.c) and Whisper's beam
 * (asr/whisper_asr.c, through the window decoder's rescoring hook). Each
 * text is tokenized by the LM's own tokenizer and scored from its BOS; the
 * hypotheses share what they have in common (sori_lm_score). */
#include "asr_impl.h"
#include "sori/lm.h"

enum { RESCORE_MAX_TOKENS = 1024 };

sori_status asr_lm_extra(const sori_asr_model *m, const char *const *texts, int n, double *extra, sori_error *err)
{
    for (int i = 0; i < n; i++)
        extra[i] = 0.0;
    const sori_lm_info li = sori_lm_get_info(m->rescore_lm);
    if (n < 2 || li.bos < 0) /* nothing to choose from, or no BOS to score from */
        return SORI_OK;
    if (n > 64)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "asr: rescoring %d hypotheses (at most 64)", n);
    int32_t *toks = malloc(sizeof(int32_t) * (size_t)n * RESCORE_MAX_TOKENS);
    const int32_t *hyps[64];
    int n_tok[64], longest = 0;
    double lp[64];
    sori_status st = toks ? SORI_OK : sori_fail(err, SORI_ERR_NO_MEMORY, 0, "asr: out of memory");
    for (int i = 0; i < n && st == SORI_OK; i++) {
        const char *text = texts[i] ? texts[i] : "";
        while (*text == ' ') /* Whisper's texts begin with a space; the LM scores them from BOS */
            text++;
        hyps[i] = toks + (size_t)i * RESCORE_MAX_TOKENS;
        st = sori_lm_tokenize(m->rescore_lm, text, strlen(text), false, false, toks + (size_t)i * RESCORE_MAX_TOKENS,
                              RESCORE_MAX_TOKENS - 1, &n_tok[i], err);
        if (st == SORI_OK && n_tok[i] > longest)
            longest = n_tok[i];
    }
    sori_lm_session *s = NULL;
    if (st == SORI_OK) {
        sori_lm_session_params sp = sori_lm_session_default_params();
        sp.n_ctx = longest + 1;
        sp.n_seq = n;
        st = sori_lm_session_create(m->rescore_lm, &sp, &s, err);
    }
    const int32_t bos = li.bos;
    if (st == SORI_OK)
        st = sori_lm_score(s, &bos, 1, hyps, n_tok, n, lp, err);
    if (st == SORI_OK)
        for (int i = 0; i < n; i++)
            extra[i] = m->rescore_weight * lp[i] + m->rescore_bonus * n_tok[i];
    sori_lm_session_free(s);
    free(toks);
    return st;
}
