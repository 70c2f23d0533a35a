/* Times sori's transformer LM (sori/lm.h) on a GGUF file: prompt
 * processing of H sequences x T tokens in one decode call (logits of each
 * sequence's last token, as N-best scoring needs), and generation (one
 * token at a time after a short prompt). Driven by bench/bench_lm.py, which
 * times llama.cpp on the same file and work.
 *   bench_lm MODEL.gguf pp T H RUNS THREADS   -> "median-seconds", then "runs ..."
 *   bench_lm MODEL.gguf tg N RUNS THREADS     -> seconds for N generated tokens
 * Token ids are fixed pseudo-random ids of the vocabulary (no text). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/opcheck.h"
#include "sori/lm.h"

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    if (argc < 6 || (strcmp(argv[2], "pp") != 0 && strcmp(argv[2], "tg") != 0)) {
        fprintf(stderr, "usage: bench_lm MODEL.gguf pp T H RUNS THREADS | tg N RUNS THREADS\n");
        return 2;
    }
    const int pp = strcmp(argv[2], "pp") == 0;
    const int T = atoi(argv[3]), H = pp ? atoi(argv[4]) : 1, runs = atoi(argv[pp ? 5 : 4]),
              threads = argc > (pp ? 6 : 5) ? atoi(argv[pp ? 6 : 5]) : 2;
    if (T < 1 || H < 1 || T * H > 4096 || runs < 1 || runs > 100 || threads < 1) {
        fprintf(stderr, "bench_lm: T*H in 1..4096, runs 1..100\n");
        return 2;
    }
    sori_runtime_params rp = sori_runtime_default_params();
    rp.device = SORI_DEVICE_CPU;
    rp.n_threads = threads;
    rp.pool_bytes = 1 << 20;
    sori_runtime *rt = NULL;
    sori_lm *lm = NULL;
    sori_lm_session *s = NULL;
    sori_error err = {0};
    if (sori_runtime_create(&rp, &rt, &err) != SORI_OK || sori_lm_load(rt, argv[1], &lm, &err) != SORI_OK) {
        fprintf(stderr, "bench_lm: %s\n", err.message);
        return 1;
    }
    const sori_lm_info info = sori_lm_get_info(lm);
    sori_lm_session_params sp = sori_lm_session_default_params();
    sp.n_ctx = pp ? T : T + 16;
    sp.n_seq = H;
    sp.n_batch = pp ? T * H : 16;
    if (sori_lm_session_create(lm, &sp, &s, &err) != SORI_OK) {
        fprintf(stderr, "bench_lm: %s\n", err.message);
        return 1;
    }
    sori_lm_token *tk = malloc(sizeof *tk * (size_t)T * H);
    float *logits = malloc(sizeof(float) * (size_t)info.n_vocab * H);
    uint32_t x = 12345;
    for (int h = 0; h < H; h++)
        for (int i = 0; i < T; i++) {
            x = x * 1664525u + 1013904223u;
            tk[h * T + i] = (sori_lm_token){(int32_t)(x % (uint32_t)info.n_vocab), i, h, i == T - 1};
        }
    if (pp)
        tk[0].token = info.bos >= 0 ? info.bos : 0;
    double t[100];
    for (int r = 0; r <= runs; r++) { /* run 0: warm-up */
        double t0 = sori_now_seconds();
        if (pp) {
            if (sori_lm_decode(s, tk, T * H, logits, &err) != SORI_OK) {
                fprintf(stderr, "bench_lm: %s\n", err.message);
                return 1;
            }
        } else {
            /* a prompt of 8 tokens, then T greedy steps; only the steps are timed */
            for (int i = 0; i < 8; i++)
                tk[i] = (sori_lm_token){tk[i].token, i, 0, i == 7};
            if (sori_lm_decode(s, tk, 8, logits, &err) != SORI_OK)
                return 1;
            t0 = sori_now_seconds();
            for (int g = 0; g < T; g++) {
                int32_t best = 0;
                for (int32_t v = 1; v < info.n_vocab; v++)
                    best = logits[v] > logits[best] ? v : best;
                sori_lm_token one = {best, 8 + g, 0, true};
                if (sori_lm_decode(s, &one, 1, logits, &err) != SORI_OK)
                    return 1;
            }
        }
        if (r)
            t[r - 1] = sori_now_seconds() - t0;
    }
    double sorted[100];
    memcpy(sorted, t, sizeof(double) * (size_t)runs);
    qsort(sorted, (size_t)runs, sizeof(double), cmp);
    printf("%.6f\n", sorted[runs / 2]);
    printf("runs");
    for (int r = 0; r < runs; r++)
        printf(" %.6f", t[r]);
    printf("\n");
    free(tk);
    free(logits);
    sori_lm_session_free(s);
    sori_lm_free(lm);
    sori_runtime_free(rt);
    return 0;
}
