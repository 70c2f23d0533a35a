/* libFuzzer target: transformer LM files (sori/lm.h) from arbitrary bytes:
 * whatever loads must tokenize text, run a few tokens through a session,
 * score a continuation, format a chat with the file's template and
 * generate a few tokens without reading outside the input or crashing;
 * everything else is refused with an error. Seeded with the tiny LMs of
 * tests/fixtures/lm (all four architectures, f32 / q8_0 / q5_0). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sori/lm.h"

static sori_runtime *g_rt;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!g_rt) {
        sori_runtime_params p = sori_runtime_default_params();
        p.device = SORI_DEVICE_CPU;
        p.n_threads = 1;
        p.pool_bytes = 1 << 20;
        if (sori_runtime_create(&p, &g_rt, NULL) != SORI_OK)
            abort();
    }
    /* a copy: the weights are used in place and must stay aligned and valid */
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    sori_lm *lm = NULL;
    sori_error err;
    if (sori_lm_load_memory(g_rt, copy, size, &lm, &err) == SORI_OK) {
        const sori_lm_info info = sori_lm_get_info(lm);
        int32_t tok[64];
        int n = 0;
        const char text[] = "안녕 <bos>하세요 abc\n";
        sori_lm_tokenize(lm, text, sizeof text - 1, true, true, tok, 64, &n, &err);
        char piece[64];
        for (int i = 0; i < n && i < 64; i++)
            sori_lm_token_piece(lm, tok[i], piece, sizeof piece);
        static char chat[4096];
        size_t len;
        const sori_lm_chat_message m[2] = {{"system", " 상담원 "}, {"user", "abc"}};
        sori_lm_chat_format(lm, NULL, m, 2, true, chat, sizeof chat, &len, &err);
        sori_lm_session_params sp = sori_lm_session_default_params();
        sp.n_ctx = 8;
        sp.n_seq = 2;
        sp.n_batch = 8;
        sori_lm_session *s = NULL;
        /* small models only: a fuzzed size must not make the run allocate gigabytes */
        if ((int64_t)info.n_vocab * info.n_embd < (1 << 22) && info.n_layer <= 16 && info.n_ff <= 4096 &&
            sori_lm_session_create(lm, &sp, &s, &err) == SORI_OK) {
            const int32_t prefix[2] = {info.bos >= 0 ? info.bos : 0, 1 % info.n_vocab};
            const int32_t h0[2] = {2 % info.n_vocab, 3 % info.n_vocab};
            const int32_t *hyps[1] = {h0};
            const int n_hyp[1] = {2};
            double lp;
            sori_lm_score(s, prefix, 2, hyps, n_hyp, 1, &lp, &err);
            /* a few generated tokens (the fuzzed vocabulary's pieces and end tokens) with a stop string */
            const char *stops[1] = {"\xea\xb0"};
            sori_lm_generate_params gp = sori_lm_generate_default_params();
            gp.max_tokens = 4;
            gp.stop = stops;
            gp.n_stop = 1;
            gp.sampling.temperature = 0.7f;
            gp.sampling.top_k = 5;
            sori_lm_generate(s, prefix, 2, &gp, NULL, NULL, NULL, &err);
            sori_lm_session_free(s);
        }
        sori_lm_free(lm);
    }
    free(copy);
    return 0;
}
