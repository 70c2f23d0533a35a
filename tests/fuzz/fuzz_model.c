/* libFuzzer target: ASR model files (seeded with the golden fixture
 * models). Whatever loads must run, without faults, a forward pass, RNN-T
 * greedy decoding where it has the head, two cache-aware streaming steps
 * where it can stream, and the public API on a short signal: offline
 * transcription (features, encoder, CTC greedy or beam search with hotwords,
 * or RNN-T) and a stream fed, finished and read.
 *
 * Whisper files (seeded by make_whisper_seed) are loaded and a session made.
 *
 * Structure-aware (gguf_mutator.h): most inputs are the fixture models with
 * a few metadata values or tensor shapes changed, so that many still load
 * and run. Run it with a -max_len that fits the seeds (they are 1.1-1.4 MB;
 * libFuzzer's default of 1 MiB cuts every one). At exit, and every 2^k
 * inputs, it prints how many inputs loaded and how far they ran, so a run
 * shows that the code that runs models was reached. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gguf_mutator.h"
#include "asr/conformer.h"
#include "sori/asr.h"

static struct {
    uint64_t inputs, loaded, forward, rnnt, stream_steps, asr_loaded, transcribed, streamed, whisper_sessions;
} count;

static void print_counts(void)
{
    fprintf(stderr,
            "fuzz_model: %llu inputs, %llu loaded, %llu forward passes, %llu RNN-T decodes, %llu streaming "
            "steps; API: %llu loaded, %llu transcribed, %llu streamed, %llu Whisper sessions\n",
            (unsigned long long)count.inputs, (unsigned long long)count.loaded, (unsigned long long)count.forward,
            (unsigned long long)count.rnnt, (unsigned long long)count.stream_steps,
            (unsigned long long)count.asr_loaded, (unsigned long long)count.transcribed,
            (unsigned long long)count.streamed, (unsigned long long)count.whisper_sessions);
}

static sori_runtime *runtime(void)
{
    static sori_runtime *rt;
    if (!rt) {
        sori_runtime_params p = sori_runtime_default_params();
        p.device = SORI_DEVICE_CPU;
        p.n_threads = 1;
        p.pool_bytes = (size_t)64 << 20; /* Whisper sessions (a 1-window state of the seed: 15 MB) */
        if (sori_runtime_create(&p, &rt, NULL) != SORI_OK)
            abort();
        atexit(print_counts);
    }
    return rt;
}

/* A hotword list the last loaded model can write (a bad list would refuse
 * every beam-search load). */
static char hotwords[256];

static void make_hotwords(const sori_conformer *m)
{
    hotwords[0] = 0;
    int lines = 0;
    for (int i = 0; i < sori_conformer_get_info(m).vocab_size && lines < 3; i++) {
        const char *t = sori_conformer_token(m, i);
        if (!t || !t[0] || t[0] == '<' || t[0] == ' ' || strncmp(t, "\xe2\x96\x81", 3) == 0 || strlen(t) > 16 ||
            strchr(t, ':') || strchr(t, '#') || strchr(t, '\n') || strchr(t, '\r'))
            continue;
        size_t n = strlen(hotwords);
        snprintf(hotwords + n, sizeof hotwords - n, "%s%s\n", t, lines == 1 ? " :2" : "");
        lines++;
    }
}

/* The encoder alone: forward, RNN-T greedy, two streaming steps. */
static void run_encoder(const uint8_t *data, size_t size)
{
    sori_conformer *m = NULL;
    if (sori_conformer_load_memory(runtime(), data, size, &m, NULL) != SORI_OK)
        return;
    count.loaded++;
    make_hotwords(m);
    sori_conformer_info in = sori_conformer_get_info(m);
    if (in.feat_in > 0 && in.feat_in <= 512 && in.d_model <= 1024 && in.n_layers <= 32) {
        int64_t frames = 40;
        float *feats = calloc((size_t)frames * in.feat_in, sizeof(float));
        for (int64_t i = 0; feats && i < frames * in.feat_in; i++)
            feats[i] = sinf(0.1f * (float)i);
        int64_t T = sori_conformer_out_frames(m, frames);
        float *lp = malloc((size_t)(T > 0 ? T : 1) * (in.vocab_size + 1) * sizeof(float));
        float *enc = malloc((size_t)(T > 0 ? T : 1) * in.d_model * sizeof(float));
        if (feats && lp && enc &&
            sori_conformer_forward(m, feats, frames, enc, sori_conformer_has_ctc(m) ? lp : NULL, NULL) == SORI_OK) {
            count.forward++;
            if (sori_conformer_has_rnnt(m)) { /* RNN-T greedy over the encoder output */
                sori_rnnt_state *rs = NULL;
                sori_rnnt_emit *toks = NULL;
                int64_t n = 0, cap = 0;
                if (sori_rnnt_state_create(m, &rs, NULL) == SORI_OK &&
                    sori_rnnt_greedy(rs, enc, T, 0, &toks, &n, &cap, NULL) == SORI_OK)
                    count.rnnt++;
                free(toks);
                sori_rnnt_state_free(rs);
            }
        }
        sori_conformer_stream_cfg sc = sori_conformer_get_stream_cfg(m);
        sori_conformer_cache *c = NULL;
        if (feats && enc && sc.supported && sc.cache_len <= 4096 && sori_conformer_cache_create(m, &c, NULL) == SORI_OK) {
            /* two streaming steps: a first one and a later one */
            const float *xs[1] = {feats};
            float *eo[1] = {enc};
            int64_t n1 = sc.chunk_first < frames ? sc.chunk_first : frames, n2 = frames, got = 0;
            if (sori_conformer_out_frames(m, n1) <= T && sori_conformer_out_frames(m, n2) <= T) {
                count.stream_steps += sori_conformer_stream_step(m, 1, &c, xs, &n1, 0, eo, NULL, &got, NULL) == SORI_OK;
                count.stream_steps += sori_conformer_stream_step(m, 1, &c, xs, &n2, sc.drop, eo, NULL, &got, NULL) == SORI_OK;
            }
            sori_conformer_cache_free(c);
        }
        free(feats);
        free(lp);
        free(enc);
    }
    sori_conformer_free(m);
}

/* The public API: load (an odd size picks a beam search with hotwords
 * over greedy decoding), transcribe 0.6 s, stream it in 0.1 s packets. */
static void run_api(const uint8_t *data, size_t size)
{
    sori_asr_model_params mp = sori_asr_model_default_params();
    if (size & 1) {
        mp.beam = 4;
        mp.hotwords = hotwords[0] ? hotwords : NULL;
    }
    sori_asr_model *m = NULL;
    sori_error e = {0};
    if (sori_asr_model_load_memory(runtime(), data, size, &mp, &m, &e) != SORI_OK) {
        if (getenv("FUZZ_DEBUG")) /* why inputs are refused */
            fprintf(stderr, "refused: %s\n", e.message);
        return;
    }
    count.asr_loaded++;
    sori_asr_model_info mi = sori_asr_model_get_info(m);
    if (mi.arch && !strcmp(mi.arch, "whisper")) {
        /* Whisper files: the loader's checks are what hostile files meet; a
         * session is made and freed (decoding a 30 s window is too slow for a
         * fuzzer: test_whisper runs random Whisper models) */
        sori_asr_stream_params sp = sori_asr_stream_default_params();
        sori_asr_stream *s = NULL;
        if (sori_asr_stream_create(m, &sp, &s, NULL) == SORI_OK)
            count.whisper_sessions++;
        sori_asr_stream_free(s);
    } else if (mi.d_model <= 1024 && mi.n_layers <= 32) {
        enum { N = 9600 };
        static float x[N];
        for (int i = 0; i < N; i++)
            x[i] = 0.3f * sinf(0.05f * (float)i) * sinf(0.0007f * (float)i);
        sori_asr_result *r = NULL;
        if (sori_asr_transcribe(m, x, N, 16000, &r, &e) == SORI_OK)
            count.transcribed++;
        else if (getenv("FUZZ_DEBUG"))
            fprintf(stderr, "transcribe: %s\n", e.message);
        sori_asr_result_free(r);
        sori_asr_stream_params sp = sori_asr_stream_default_params();
        sori_asr_stream *s = NULL;
        if (sori_asr_stream_create(m, &sp, &s, NULL) == SORI_OK) {
            sori_status st = SORI_OK;
            for (int pos = 0; pos < N && st == SORI_OK; pos += 1600) {
                st = sori_asr_stream_accept(s, x + pos, 1600, 16000, NULL);
                while (st == SORI_OK && sori_asr_stream_is_ready(s))
                    st = sori_asr_decode_ready(m, &s, 1, NULL);
            }
            if (st == SORI_OK)
                st = sori_asr_stream_input_finished(s, NULL);
            while (st == SORI_OK && sori_asr_stream_is_ready(s))
                st = sori_asr_decode_ready(m, &s, 1, NULL);
            r = NULL;
            if (st == SORI_OK && sori_asr_stream_result(s, &r, NULL) == SORI_OK)
                count.streamed++;
            sori_asr_result_free(r);
            sori_asr_stream_free(s);
        }
    }
    sori_asr_model_free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    count.inputs++;
    uint64_t loaded = count.loaded;
    run_encoder(data, size);
    if (count.loaded > loaded)
        gguf_pool_keep(data, size);
    run_api(data, size);
    if ((count.inputs & (count.inputs - 1)) == 0 && count.inputs >= 1024)
        print_counts();
    return 0;
}

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed)
{
    return gguf_mutate(data, size, max_size, seed);
}
