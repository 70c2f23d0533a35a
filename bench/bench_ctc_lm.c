/* The CTC beam search with n-gram fusion, alone (bench/bench_ctc_lm.py runs it beside its peer).
 *
 *     bench_ctc_lm MODEL.gguf LM OUT_DIR BEAM WEIGHT BONUS RUNS AUDIO...
 *
 * Computes each file's CTC log-probabilities with the model (sori_asr_ctc_logprobs) and writes
 * them to OUT_DIR/NNNNN.f32 (T x V float32, the blank last) with OUT_DIR/list.tsv (file, T, V),
 * so the peer decodes the very same numbers; then decodes all of them RUNS times with the beam
 * search and prints the median time per run, then "runs T1 ... TN" (every run's seconds, in the
 * order they ran), and writes each file's text to OUT_DIR/sori.tsv.
 * With SORI_BENCH_HOTWORDS=FILE the search also carries that hotword list (score 1.5). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "asr/ctc_beam.h"
#include "kernels/gguf.h"
#include "sori/asr.h"
#include "sori/audio.h"
#include "sori/ngram.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    if (argc < 9) {
        fprintf(stderr, "usage: bench_ctc_lm MODEL.gguf LM OUT_DIR BEAM WEIGHT BONUS RUNS AUDIO...\n");
        return 2;
    }
    const char *model = argv[1], *lm_path = argv[2], *dir = argv[3];
    int beam = atoi(argv[4]), runs = atoi(argv[7]), n = argc - 8;
    float weight = (float)atof(argv[5]), bonus = (float)atof(argv[6]);
    if (runs < 1) {
        fprintf(stderr, "bench_ctc_lm: RUNS must be at least 1\n");
        return 2;
    }
    sori_error err = {0};
    sori_runtime_params rp = sori_runtime_default_params();
    rp.device = SORI_DEVICE_CPU;
    rp.n_threads = 1;
    sori_runtime *rt = NULL;
    sori_asr_model *m = NULL;
    sori_ngram *lm = NULL;
    sori_gguf *g = NULL;
    sori_asr_model_params mp = sori_asr_model_default_params();
    if (sori_runtime_create(&rp, &rt, &err) != SORI_OK || sori_asr_model_load(rt, model, &mp, &m, &err) != SORI_OK ||
        sori_ngram_load(lm_path, &lm, &err) != SORI_OK || sori_gguf_open_file(model, &g, &err) != SORI_OK) {
        fprintf(stderr, "bench_ctc_lm: %s\n", err.message);
        return 1;
    }
    const int V = sori_asr_model_get_info(m).vocab_size + 1;
    char **tok = calloc((size_t)V, sizeof *tok);
    int32_t *tok2lm = calloc((size_t)V, sizeof *tok2lm);
    for (int i = 0; i < V - 1; i++) {
        const char *t = "";
        sori_gguf_get_arr_str(g, "sori.conformer.vocab", (uint64_t)i, &t);
        tok[i] = strdup(t);
        tok2lm[i] = sori_ngram_word_id(lm, t);
    }
    float **lp = calloc((size_t)n, sizeof *lp);
    int64_t *T = calloc((size_t)n, sizeof *T);
    char path[4096];
    snprintf(path, sizeof path, "%s/list.tsv", dir);
    FILE *list = fopen(path, "w");
    if (!list) {
        fprintf(stderr, "bench_ctc_lm: cannot write %s\n", path);
        return 1;
    }
    for (int i = 0; i < n; i++) {
        sori_audio a = {0}, mono = {0};
        if (sori_audio_read_file(argv[8 + i], &a, &err) != SORI_OK ||
            sori_audio_select_channel(&a, SORI_CHANNEL_MIX, &mono, &err) != SORI_OK ||
            sori_asr_ctc_logprobs(m, mono.samples, mono.n_frames, mono.sample_rate_hz, &lp[i], &T[i], &err) != SORI_OK) {
            fprintf(stderr, "bench_ctc_lm: %s: %s\n", argv[8 + i], err.message);
            return 1;
        }
        snprintf(path, sizeof path, "%s/%05d.f32", dir, i);
        FILE *f = fopen(path, "wb");
        if (!f || fwrite(lp[i], sizeof(float), (size_t)(T[i] * V), f) != (size_t)(T[i] * V)) {
            fprintf(stderr, "bench_ctc_lm: cannot write %s\n", path);
            return 1;
        }
        fclose(f);
        fprintf(list, "%s\t%lld\t%d\n", argv[8 + i], (long long)T[i], V);
        sori_audio_free(&a);
        sori_audio_free(&mono);
    }
    fclose(list);
    sori_ctc_beam_params bp = {.beam = beam, .max_cands = 16, .cand_logp = -8.0f, .lm = lm, .tok2lm = tok2lm,
                               .weight = weight, .bonus = bonus};
    sori_hotwords *hw = NULL;
    const char *hw_path = getenv("SORI_BENCH_HOTWORDS");
    if (hw_path && hw_path[0]) {
        FILE *f = fopen(hw_path, "rb");
        static char text[1 << 20];
        size_t k = f ? fread(text, 1, sizeof text - 1, f) : 0;
        if (f)
            fclose(f);
        text[k] = 0;
        if (!f || sori_hotwords_create((const char *const *)tok, V - 1, text, 1.5f, &hw, &err) != SORI_OK) {
            fprintf(stderr, "bench_ctc_lm: %s: %s\n", hw_path, f ? err.message : "cannot read");
            return 1;
        }
        bp.hotwords = hw;
    }
    sori_ctc_beam *b = NULL;
    if (sori_ctc_beam_create(V, &bp, &b, &err) != SORI_OK) {
        fprintf(stderr, "bench_ctc_lm: %s\n", err.message);
        return 1;
    }
    double *times = calloc((size_t)runs, sizeof *times);
    int64_t frames = 0;
    for (int i = 0; i < n; i++)
        frames += T[i];
    for (int r = 0; r < runs; r++) {
        FILE *out = NULL;
        if (r == 0) {
            snprintf(path, sizeof path, "%s/sori.tsv", dir);
            out = fopen(path, "w");
        }
        double t0 = now(), spent = 0;
        for (int i = 0; i < n; i++) {
            sori_ctc_beam_reset(b);
            sori_ctc_beam_tok *best = NULL;
            int64_t nt = 0;
            if (sori_ctc_beam_step(b, lp[i], T[i], &err) != SORI_OK ||
                sori_ctc_beam_best(b, 1, &best, &nt, &err) != SORI_OK) {
                fprintf(stderr, "bench_ctc_lm: %s\n", err.message);
                return 1;
            }
            if (out) { /* the text, outside the timed part */
                double t1 = now();
                fprintf(out, "%s\t", argv[8 + i]);
                for (int64_t k = 0; k < nt; k++) {
                    const char *s = tok[best[k].token];
                    if (strncmp(s, "\xe2\x96\x81", 3) == 0) {
                        if (k)
                            fputc(' ', out);
                        s += 3;
                    }
                    fputs(s, out);
                }
                fputc('\n', out);
                spent += now() - t1;
            }
            free(best);
        }
        times[r] = now() - t0 - spent;
        if (out)
            fclose(out);
    }
    double *sorted = calloc((size_t)runs, sizeof *sorted);
    memcpy(sorted, times, (size_t)runs * sizeof *times);
    qsort(sorted, (size_t)runs, sizeof *sorted, cmp_d);
    printf("sori\t%d utterances\t%lld frames\tmedian %.4f s per run\t(%d runs)\n", n, (long long)frames,
           sorted[runs / 2], runs);
    printf("runs");
    for (int r = 0; r < runs; r++)
        printf(" %.6f", times[r]);
    printf("\n");
    free(sorted);
    sori_ctc_beam_free(b);
    sori_hotwords_free(hw);
    for (int i = 0; i < n; i++)
        free(lp[i]);
    for (int i = 0; i < V; i++)
        free(tok[i]);
    free(tok);
    free(tok2lm);
    free(lp);
    free(T);
    free(times);
    sori_gguf_free(g);
    sori_ngram_free(lm);
    sori_asr_model_free(m);
    sori_runtime_free(rt);
    return 0;
}
