/* The VITS engine (sori/tts.h, tts/vits.c) against Hugging Face
 * transformers' VitsModel: four tiny models with every parameter random
 * (tests/fixtures/vits, by tools/gen_vits_fixtures.py: stochastic and
 * deterministic duration predictors, one and several speakers, GELU, no
 * attention biases, an even FFN kernel, a dilated WaveNet), run with the
 * reference's own noise: durations identical, every stage (text encoder,
 * prior statistics, log-durations, the expanded prior, the flow's output,
 * the waveform) within rel-L2 1e-4; streamed in chunks, the same audio as
 * the whole call. Then f16 weights, bad files, bad calls, empty and very
 * long inputs, and 1,000 synthesis calls / streams / sessions leaving the
 * heap where it was (plain build). Piper voices (ResBlock1 and ResBlock2,
 * one and three speakers) against onnxruntime on Piper's own ONNX export. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "npy.h"
#include "gguf_edit.h"
#include "heap.h"
#include "sori/runtime.h"
#include "sori/tts.h"
#include "kernels/gguf.h"
#include "kernels/kernels.h"
#include "tts/vits.h"

#ifndef SORI_FIXTURE_DIR
#define SORI_FIXTURE_DIR "tests/fixtures"
#endif

static const char *MODELS[] = {"sdp", "dp", "sdp_spk", "dp_spk"};
enum { N_MODELS = 4 };

static int npy_read(npy *a, const char *model, const char *what)
{
    char path[512];
    snprintf(path, sizeof path, "%s/vits/%s.%s.npy", SORI_FIXTURE_DIR, model, what);
    return npy_load(a, path);
}

static double rel_l2(const float *a, const float *b, int64_t n)
{
    double d = 0, s = 0;
    for (int64_t i = 0; i < n; i++) {
        d += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
        s += (double)b[i] * b[i];
    }
    return s > 0 ? sqrt(d / s) : sqrt(d);
}

static void *read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    void *p = malloc((size_t)n);
    if (p && fread(p, 1, (size_t)n, f) != (size_t)n) {
        free(p);
        p = NULL;
    }
    fclose(f);
    *size = (size_t)n;
    return p;
}

/* ---- parity ------------------------------------------------------------------------ */

static double g_worst[8];
static const char *STAGES[8] = {"hidden", "prior_mean", "prior_logvar", "log_dur",
                                "prior_latents", "latents", "wave", NULL};

/* Streaming: chunks of 1, 4 and 7 frames, put end to end, are the whole call's audio (the
 * decoder's context covers its receptive field); then the stream's states. */
static double g_stream_worst, g_piper_worst;

static void stream_check(sori_tts_synth *s, const sori_tts_synth_params *sp, const npy *ids, const sori_tts_noise *noise,
                         const float *whole_in, int64_t n_whole, const float *ref, const char *name)
{
    sori_error err = {0};
    float *whole = malloc(sizeof(float) * (size_t)n_whole), *got = malloc(sizeof(float) * (size_t)n_whole);
    memcpy(whole, whole_in, sizeof(float) * (size_t)n_whole);
    const int chunks[3] = {1, 4, 7};
    for (int c = 0; c < 3; c++) {
        sori_tts_synth_params q = *sp;
        q.chunk_frames = chunks[c];
        CHECK_STATUS(sori_tts_synth_set_params(s, &q, &err), SORI_OK);
        int64_t total = 0, at = 0, n = 0;
        int n_chunks = 0, ok = sori_tts_synth_begin(s, ids->data, (int)ids->n, noise, &total, &err) == SORI_OK;
        CHECK(ok && total == n_whole, "%s: begin: %s, %lld samples announced (%lld)", name, err.message,
              (long long)total, (long long)n_whole);
        const float *w;
        while (ok && (ok = sori_tts_synth_next(s, &w, &n, &err) == SORI_OK) && n > 0) {
            CHECK(at + n <= n_whole && n <= (int64_t)chunks[c] * 16, "%s: chunk of %lld samples", name, (long long)n);
            if (at + n > n_whole)
                break;
            memcpy(got + at, w, sizeof(float) * (size_t)n);
            at += n;
            n_chunks++;
        }
        CHECK(ok && at == n_whole && n_chunks == (int)((n_whole / 16 + chunks[c] - 1) / chunks[c]),
              "%s: streamed %lld of %lld samples in %d chunks", name, (long long)at, (long long)n_whole, n_chunks);
        if (at == n_whole) {
            const double e = rel_l2(got, whole, n_whole), e_ref = rel_l2(got, ref, n_whole);
            CHECK(e <= 1e-5 && e_ref <= 1e-4, "%s: chunks of %d frames: rel-L2 %.2e to the whole call, %.2e to "
                  "transformers", name, chunks[c], e, e_ref);
            g_stream_worst = e > g_stream_worst ? e : g_stream_worst;
        }
        CHECK_STATUS(sori_tts_synth_next(s, &w, &n, &err), SORI_ERR_STATE); /* the stream is over */
    }
    /* cancel mid-stream, a call ending a stream, bad input to begin */
    const float *w;
    int64_t n, total;
    CHECK_STATUS(sori_tts_synth_begin(s, ids->data, (int)ids->n, noise, &total, &err), SORI_OK);
    CHECK_STATUS(sori_tts_synth_next(s, &w, &n, &err), SORI_OK);
    sori_tts_synth_cancel(s);
    CHECK_STATUS(sori_tts_synth_next(s, &w, &n, &err), SORI_ERR_STATE);
    CHECK_STATUS(sori_tts_synth_begin(s, ids->data, (int)ids->n, noise, &total, &err), SORI_OK);
    CHECK_STATUS(sori_tts_synth_tokens(s, ids->data, (int)ids->n, noise, &w, &n, &err), SORI_OK);
    CHECK_STATUS(sori_tts_synth_next(s, &w, &n, &err), SORI_ERR_STATE);
    const int32_t bad[2] = {0, 99};
    CHECK_STATUS(sori_tts_synth_begin(s, bad, 2, NULL, &total, &err), SORI_ERR_INVALID_ARG);
    CHECK_STATUS(sori_tts_synth_next(s, &w, &n, &err), SORI_ERR_STATE);
    CHECK_STATUS(sori_tts_synth_begin(s, bad, 0, NULL, &total, &err), SORI_OK);
    CHECK(total == 0, "empty stream: %lld samples", (long long)total);
    CHECK_STATUS(sori_tts_synth_next(s, &w, &n, &err), SORI_OK);
    CHECK(n == 0, "empty stream gave a chunk");
    CHECK_STATUS(sori_tts_synth_next(s, NULL, &n, &err), SORI_ERR_INVALID_ARG);
    free(whole);
    free(got);
}

static void parity(sori_runtime *rt, const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/vits/%s.gguf", SORI_FIXTURE_DIR, name);
    sori_error err = {0};
    sori_tts_voice *v = NULL;
    sori_status st = sori_tts_voice_load(rt, path, &v, &err);
    CHECK(st == SORI_OK, "%s: %s", name, err.message);
    if (st != SORI_OK)
        return;
    npy ids, params, nd, np_, ref[7], dur;
    int ok = npy_read(&ids, name, "ids") && npy_read(&params, name, "params") && npy_read(&nd, name, "noise_dur") &&
             npy_read(&np_, name, "noise_prior") && npy_read(&dur, name, "dur");
    for (int i = 0; i < 7; i++)
        ok = npy_read(&ref[i], name, STAGES[i]) && ok;
    CHECK(ok, "%s: fixture files unreadable", name);
    sori_tts_voice_info info = sori_tts_voice_get_info(v);
    CHECK(info.sample_rate_hz == 16000 && info.samples_per_frame == 16 && info.flow_size == 8 && info.n_vocab == 20 &&
              info.add_blank && strcmp(info.architecture, "sori.vits") == 0,
          "%s: voice info", name);
    CHECK(sori_tts_voice_token(v, 0) && strcmp(sori_tts_voice_token(v, 0), "_") == 0 &&
              strcmp(sori_tts_voice_token(v, 3), "t3") == 0 && !sori_tts_voice_token(v, 20) &&
              !sori_tts_voice_token(v, -1),
          "%s: vocabulary", name);
    if (ok) {
        const float *pp = params.data;
        sori_tts_synth_params sp = sori_tts_synth_default_params(v);
        CHECK(fabsf(sp.noise_scale - pp[0]) < 1e-6f && fabsf(sp.length_scale - pp[2]) < 1e-6f,
              "%s: the voice's default noise scale %g and length scale %g (fixture %g, %g)", name,
              (double)sp.noise_scale, (double)sp.length_scale, (double)pp[0], (double)pp[2]);
        sp.noise_scale = pp[0];
        sp.noise_scale_duration = pp[1];
        sp.length_scale = pp[2];
        sp.speaker_id = pp[3] < 0 ? 0 : (int)pp[3];
        sori_tts_synth *s = NULL;
        CHECK_STATUS(sori_tts_synth_create(v, &sp, &s, &err), SORI_OK);
        sori_tts_noise noise = {nd.data, np_.data, np_.n};
        const float *wave = NULL;
        int64_t n = 0;
        st = sori_tts_synth_tokens(s, ids.data, (int)ids.n, &noise, &wave, &n, &err);
        CHECK(st == SORI_OK, "%s: %s", name, err.message);
        vits_trace t;
        vits_synth_trace(s, &t);
        if (st == SORI_OK && t.n_tokens == ids.n) {
            int same = dur.n == ids.n;
            for (int64_t i = 0; same && i < dur.n; i++)
                same = t.dur[i] == ((const int32_t *)dur.data)[i];
            CHECK(same, "%s: durations differ from transformers'", name);
            CHECK(t.n_frames == np_.shape[1] && n == ref[6].n, "%s: %lld frames, %lld samples (want %lld, %lld)", name,
                  (long long)t.n_frames, (long long)n, (long long)np_.shape[1], (long long)ref[6].n);
            const float *got[7] = {t.hidden, t.prior_mean, t.prior_logvar, t.log_dur, t.prior_latents, t.latents, wave};
            printf("%-8s %2d tokens %3lld frames:", name, t.n_tokens, (long long)t.n_frames);
            for (int i = 0; i < 7; i++) {
                if (t.n_frames != np_.shape[1] && i >= 4)
                    continue;
                double e = rel_l2(got[i], ref[i].data, ref[i].n);
                printf(" %s %.1e", STAGES[i], e);
                CHECK(e <= 1e-4, "%s: %s rel-L2 %.3e > 1e-4", name, STAGES[i], e);
                g_worst[i] = e > g_worst[i] ? e : g_worst[i];
            }
            printf(" | durations %s\n", same ? "equal" : "DIFFER");
            stream_check(s, &sp, &ids, &noise, wave, n, ref[6].data, name);
        }
        /* the same input with drawn noise: runs, finite, in [-1, 1]; the same seed, the same audio */
        if (st == SORI_OK) {
            float *first = NULL;
            int64_t n1 = 0;
            CHECK_STATUS(sori_tts_synth_set_params(s, &sp, &err), SORI_OK);
            if (sori_tts_synth_tokens(s, ids.data, (int)ids.n, NULL, &wave, &n1, &err) == SORI_OK && n1 > 0) {
                first = malloc(sizeof(float) * (size_t)n1);
                memcpy(first, wave, sizeof(float) * (size_t)n1);
            }
            int fine = first != NULL;
            for (int64_t i = 0; fine && i < n1; i++)
                fine = isfinite(first[i]) && fabsf(first[i]) <= 1.0f;
            CHECK(fine, "%s: drawn noise: audio not finite or out of [-1, 1]", name);
            CHECK_STATUS(sori_tts_synth_set_params(s, &sp, &err), SORI_OK);
            int64_t n2 = 0;
            st = sori_tts_synth_tokens(s, ids.data, (int)ids.n, NULL, &wave, &n2, &err);
            CHECK(st == SORI_OK && first && n2 == n1 && memcmp(first, wave, sizeof(float) * (size_t)n1) == 0,
                  "%s: the same seed gave other audio", name);
            free(first);
        }
        sori_tts_synth_free(s);
    }
    for (int i = 0; i < 7; i++)
        free(ref[i].data);
    free(ids.data);
    free(params.data);
    free(nd.data);
    free(np_.data);
    free(dur.data);
    sori_tts_voice_free(v);
}

/* Piper voices (tools/gen_piper_fixtures.py: Piper's own VITS, exported to
 * ONNX as Piper exports it, converted by tools/piper_to_gguf.py) against
 * onnxruntime on that ONNX file, noise scales 0 (Piper's graph draws its
 * noise inside): the waveform within rel-L2 1e-4, streamed the same; and the
 * front end frames Korean IPA as Piper does (^ _ p _ … p _ $). */
static void piper_parity(sori_runtime *rt, const char *name, int want_speakers)
{
    char path[512];
    snprintf(path, sizeof path, "%s/vits/%s.gguf", SORI_FIXTURE_DIR, name);
    sori_error err = {0};
    sori_tts_voice *v = NULL;
    sori_status st = sori_tts_voice_load(rt, path, &v, &err);
    CHECK(st == SORI_OK, "%s: %s", name, err.message);
    if (st != SORI_OK)
        return;
    npy ids, params, wave_ref;
    int ok = npy_read(&ids, name, "ids") && npy_read(&params, name, "params") && npy_read(&wave_ref, name, "wave");
    CHECK(ok, "%s: fixture files unreadable", name);
    sori_tts_voice_info info = sori_tts_voice_get_info(v);
    CHECK(info.sample_rate_hz == 16000 && info.samples_per_frame == 16 && info.n_speakers == want_speakers &&
              info.add_blank,
          "%s: voice info (%d Hz, %d samples a frame, %d speakers)", name, info.sample_rate_hz, info.samples_per_frame,
          info.n_speakers);
    if (want_speakers > 1)
        CHECK(sori_tts_voice_find_speaker(v, "spk2") == 2 && !strcmp(sori_tts_voice_speaker(v, 1), "spk1") &&
                  !sori_tts_voice_speaker(v, 3) && sori_tts_voice_find_speaker(v, "") == -1,
              "%s: speaker names from the config's speaker_id_map", name);
    else
        CHECK(!sori_tts_voice_speaker(v, 0) && sori_tts_voice_find_speaker(v, "spk0") == -1, "%s: no speaker names",
              name);
    /* 가나 → TN/G2P/IPA "kana" → ^ _ k _ a _ n _ a _ $ with the fixture's map (^ 1, $ 2, _ 0, a 10, k 17, n 20) */
    int32_t tid[32];
    int nt = 0, skipped = -1;
    st = sori_tts_text_to_ids(v, "가나", strlen("가나"), tid, 32, &nt, &skipped, &err);
    const int32_t want[11] = {1, 0, 17, 0, 10, 0, 20, 0, 10, 0, 2};
    CHECK(st == SORI_OK && nt == 11 && skipped == 0 && memcmp(tid, want, sizeof want) == 0,
          "%s: 가나 → %d ids (%s), skipped %d", name, nt, err.message, skipped);
    st = sori_tts_text_to_ids(v, "!!", 2, tid, 32, &nt, &skipped, &err);
    CHECK(st == SORI_OK && nt == 7 && tid[0] == 1 && tid[2] == 4 && tid[4] == 4 && tid[6] == 2,
          "%s: punctuation only: %d ids", name, nt);
    st = sori_tts_text_to_ids(v, "", 0, tid, 32, &nt, &skipped, &err);
    CHECK(st == SORI_OK && nt == 0, "%s: empty text: %d ids (no framing around nothing)", name, nt);
    if (ok) {
        const float *pp = params.data;
        sori_tts_synth_params sp = sori_tts_synth_default_params(v);
        CHECK(fabsf(sp.noise_scale - 0.667f) < 1e-6f && fabsf(sp.noise_scale_duration - 0.8f) < 1e-6f,
              "%s: the config's inference defaults (noise %g, noise_w %g)", name, (double)sp.noise_scale,
              (double)sp.noise_scale_duration);
        sp.noise_scale = pp[0];
        sp.noise_scale_duration = pp[1];
        sp.length_scale = pp[2];
        sp.speaker_id = pp[3] < 0 ? 0 : (int)pp[3];
        sori_tts_synth *s = NULL;
        CHECK_STATUS(sori_tts_synth_create(v, &sp, &s, &err), SORI_OK);
        const float *wave = NULL;
        int64_t n = 0;
        st = s ? sori_tts_synth_tokens(s, ids.data, (int)ids.n, NULL, &wave, &n, &err) : SORI_ERR_STATE;
        CHECK(st == SORI_OK && n == wave_ref.n, "%s: %s, %lld samples (onnxruntime %lld)", name, err.message,
              (long long)n, (long long)wave_ref.n);
        if (st == SORI_OK && n == wave_ref.n) {
            const double e = rel_l2(wave, wave_ref.data, n);
            printf("%-14s %2lld ids %4lld samples: waveform rel-L2 to onnxruntime %.1e\n", name, (long long)ids.n,
                   (long long)n, e);
            CHECK(e <= 1e-4, "%s: waveform rel-L2 %.3e > 1e-4", name, e);
            g_piper_worst = e > g_piper_worst ? e : g_piper_worst;
            stream_check(s, &sp, &ids, NULL, wave, n, wave_ref.data, name);
        }
        sori_tts_synth_free(s);
    }
    free(ids.data);
    free(params.data);
    free(wave_ref.data);
    sori_tts_voice_free(v);
}

/* The sdp fixture opened, and a writer holding its keys but general.alignment
 * and those in drop (NULL-terminated, may be NULL): for tests that write an
 * edited copy. NULL (a failed check) when it cannot be read; *st: how the
 * copying went. */
static sori_gguf *sdp_keys(sori_gguf_writer **w, const char *const *drop, sori_status *st)
{
    char path[512];
    snprintf(path, sizeof path, "%s/vits/sdp.gguf", SORI_FIXTURE_DIR);
    sori_error err = {0};
    sori_gguf *g = NULL;
    *w = NULL;
    if (sori_gguf_open_file(path, &g, &err) != SORI_OK || sori_gguf_writer_create(w) != SORI_OK) {
        CHECK(0, "%s: %s", path, err.message);
        sori_gguf_free(g);
        return NULL;
    }
    *st = SORI_OK;
    for (int64_t i = 0; *st == SORI_OK && i < sori_gguf_n_kv(g); i++) {
        const char *k = sori_gguf_kv_key(g, i);
        bool keep = strcmp(k, "general.alignment") != 0;
        for (int j = 0; keep && drop && drop[j]; j++)
            keep = strcmp(k, drop[j]) != 0;
        if (keep)
            *st = gguf_edit_copy_kv(*w, g, i);
    }
    return g;
}

/* An MMS-style voice (the sdp fixture with a letter vocabulary and the
 * tokenizer's is_uroman and normalize flags): text goes TN → uroman → lower
 * case → letters, with the blank between them. */
static void uroman_voice(sori_runtime *rt)
{
    static const char *const letters[20] = {"_", " ", "a", "e", "o", "u", "i", "n", "g", "h",
                                            "s", "y", "k", "r", "m", "b", "d", "j", "'", "c"};
    static const char *const drop[] = {"sori.vits.vocab", "sori.vits.is_uroman", "sori.vits.normalize", NULL};
    sori_error err = {0};
    sori_gguf_writer *w;
    sori_status st;
    sori_gguf *g = sdp_keys(&w, drop, &st);
    if (!g) {
        sori_gguf_writer_free(w);
        return;
    }
    const bool yes = true;
    if (st == SORI_OK)
        st = sori_gguf_writer_set_arr(w, "sori.vits.vocab", SORI_GGUF_STRING, letters, 20);
    if (st == SORI_OK)
        st = sori_gguf_writer_set(w, "sori.vits.is_uroman", SORI_GGUF_BOOL, &yes);
    if (st == SORI_OK)
        st = sori_gguf_writer_set(w, "sori.vits.normalize", SORI_GGUF_BOOL, &yes);
    for (int64_t i = 0; st == SORI_OK && i < sori_gguf_n_tensors(g); i++) {
        const sori_gguf_tensor *t = sori_gguf_tensor_at(g, i);
        st = sori_gguf_writer_add_tensor(w, t->name, t->type, t->n_dims, t->ne, t->data);
    }
    void *data = NULL;
    size_t size = 0;
    if (st == SORI_OK)
        st = sori_gguf_writer_to_memory(w, &data, &size, &err);
    sori_gguf_writer_free(w);
    sori_gguf_free(g);
    CHECK(st == SORI_OK, "writing the uroman voice: %s", err.message);
    sori_tts_voice *v = NULL;
    st = st == SORI_OK ? sori_tts_voice_load_memory(rt, data, size, &v, &err) : st;
    CHECK(st == SORI_OK, "uroman voice: %s", err.message);
    if (st == SORI_OK) {
        /* 안녕, 한국 → annyeong, hangug (the comma is not a letter of this vocabulary: skipped) */
        const char *want = "annyeong hangug";
        int32_t ids[64], exp[64];
        int n = 0, skipped = 0, k = 0;
        for (const char *c = want; *c; c++) {
            exp[k++] = 0;
            for (int i = 1; i < 20; i++)
                if (letters[i][0] == *c)
                    exp[k++] = i;
        }
        exp[k++] = 0;
        st = sori_tts_text_to_ids(v, "안녕, 한국", strlen("안녕, 한국"), ids, 64, &n, &skipped, &err);
        CHECK(st == SORI_OK && n == k && skipped == 1 && !memcmp(ids, exp, sizeof(int32_t) * (size_t)k),
              "uroman voice: 안녕, 한국 → %d ids (want %d), %d skipped: %s", n, k, skipped, err.message);
        /* digits through TN first: 3 → 삼 → sam */
        st = sori_tts_text_to_ids(v, "3", 1, ids, 64, &n, &skipped, &err);
        CHECK(st == SORI_OK && n == 7 && ids[1] == 10 && ids[3] == 2 && ids[5] == 14, "uroman voice: 3 → %d ids", n);
        sori_tts_synth *s = NULL;
        CHECK_STATUS(sori_tts_synth_create(v, NULL, &s, &err), SORI_OK);
        const float *wave;
        int64_t nw = 0;
        st = sori_tts_text_to_ids(v, "안녕, 한국", strlen("안녕, 한국"), ids, 64, &n, &skipped, &err);
        CHECK(st == SORI_OK && sori_tts_synth_tokens(s, ids, n, NULL, &wave, &nw, &err) == SORI_OK && nw > 0,
              "uroman voice speaks: %s", err.message);
        sori_tts_synth_free(s);
        sori_tts_voice_free(v);
    }
    free(data);
}

/* The sdp fixture with every weight of two or more dimensions in f16 (as
 * vits_to_gguf.py --f16 writes it), against the f32 reference: the text
 * encoder within 1e-2 (f16 rounding of random weights), the audio finite. */
static void f16_weights(sori_runtime *rt)
{
    sori_error err = {0};
    sori_gguf_writer *w;
    sori_status st;
    sori_gguf *g = sdp_keys(&w, NULL, &st);
    if (!g) {
        sori_gguf_writer_free(w);
        return;
    }
    int n_f16 = 0;
    for (int64_t i = 0; st == SORI_OK && i < sori_gguf_n_tensors(g); i++) {
        const sori_gguf_tensor *t = sori_gguf_tensor_at(g, i);
        if (t->n_dims < 2) {
            st = sori_gguf_writer_add_tensor(w, t->name, t->type, t->n_dims, t->ne, t->data);
            continue;
        }
        uint16_t *h = malloc(sizeof(uint16_t) * (size_t)t->n_elements);
        for (int64_t k = 0; k < t->n_elements; k++)
            h[k] = sori_f32_to_f16(((const float *)t->data)[k]);
        st = sori_gguf_writer_add_tensor(w, t->name, SORI_GGML_F16, t->n_dims, t->ne, h);
        free(h);
        n_f16++;
    }
    void *data = NULL;
    size_t size = 0;
    if (st == SORI_OK)
        st = sori_gguf_writer_to_memory(w, &data, &size, &err);
    sori_gguf_writer_free(w);
    sori_gguf_free(g);
    CHECK(st == SORI_OK && n_f16 > 50, "writing the f16 copy: %d", st);
    sori_tts_voice *v = NULL;
    st = sori_tts_voice_load_memory(rt, data, size, &v, &err);
    CHECK(st == SORI_OK, "f16 voice: %s", err.message);
    npy ids, hid;
    const int have = npy_read(&ids, "sdp", "ids") & npy_read(&hid, "sdp", "hidden");
    CHECK(have, "sdp fixture files unreadable");
    if (st == SORI_OK && have) {
        sori_tts_synth *s = NULL;
        sori_tts_synth_create(v, NULL, &s, &err);
        const float *wave;
        int64_t n;
        CHECK_STATUS(sori_tts_synth_tokens(s, ids.data, (int)ids.n, NULL, &wave, &n, &err), SORI_OK);
        vits_trace t;
        vits_synth_trace(s, &t);
        const double e = t.hidden ? rel_l2(t.hidden, hid.data, hid.n) : 1.0;
        int fine = n > 0;
        for (int64_t i = 0; fine && i < n; i++)
            fine = isfinite(wave[i]);
        CHECK(e <= 1e-2 && fine, "f16 weights: text encoder rel-L2 %.2e, audio finite %d", e, fine);
        printf("f16 weights (%d tensors): text encoder rel-L2 %.1e\n", n_f16, e);
        sori_tts_synth_free(s);
    }
    free(ids.data);
    free(hid.data);
    sori_tts_voice_free(v);
    free(data);
}

/* ---- bad files ------------------------------------------------------------------------- */

static void bad_files(sori_runtime *rt)
{
    char path[512];
    snprintf(path, sizeof path, "%s/vits/sdp.gguf", SORI_FIXTURE_DIR);
    size_t size = 0;
    unsigned char *data = read_file(path, &size);
    CHECK(data != NULL, "cannot read %s", path);
    if (!data)
        return;
    sori_error err = {0};
    sori_tts_voice *v = NULL;
    /* truncated anywhere: refused, never a crash */
    const size_t cuts[] = {0, 3, 20, size / 4, size - 40, size / 2}; /* size - 40: inside the last tensor */
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        memset(&err, 0, sizeof err);
        sori_status st = sori_tts_voice_load_memory(rt, data, cuts[i], &v, &err);
        CHECK(st == SORI_ERR_FORMAT && v == NULL && err.message[0], "truncated at %zu: status %d (%s)", cuts[i], st,
              err.message);
    }
    printf("truncated file: %s\n", err.message);
    unsigned char *bad = malloc(size);
    memcpy(bad, data, size);
    bad[0] = 'X';
    CHECK_STATUS(sori_tts_voice_load_memory(rt, bad, size, &v, &err), SORI_ERR_FORMAT);
    /* random bytes of the header and the tensor index changed: refused or loaded, never a crash */
    uint64_t rng = test_seed("test_vits");
    int loaded = 0;
    for (int i = 0; i < 300; i++) {
        memcpy(bad, data, size);
        for (int j = 0; j < 3; j++) {
            rng = rng * 6364136223846793005ull + 1442695040888963407ull;
            bad[(rng >> 33) % (j ? size : (size < 8192 ? size : 8192))] ^= (unsigned char)(1u << ((rng >> 20) % 8));
        }
        v = NULL;
        if (sori_tts_voice_load_memory(rt, bad, size, &v, &err) == SORI_OK) {
            loaded++;
            sori_tts_synth *s = NULL;
            const int32_t ids[4] = {0, 1, 2, 3};
            const float *w;
            int64_t n;
            sori_tts_synth_params p = sori_tts_synth_default_params(v);
            p.max_seconds = 5.0f;
            if (sori_tts_synth_create(v, &p, &s, &err) == SORI_OK)
                sori_tts_synth_tokens(s, ids, 4, NULL, &w, &n, &err);
            sori_tts_synth_free(s);
            sori_tts_voice_free(v);
        }
    }
    printf("300 damaged copies: %d loaded (values changed), the rest refused\n", loaded);
    CHECK(1, "damaged copies");
    free(bad);
    /* hostile but well-formed files: each refused naming the key or tensor */
    struct {
        gguf_edit e;
        sori_status want;
        const char *named;
    } cases[] = {
        {{.kind = GGUF_EDIT_DROP, .name = "flow.flows.1.wavenet.in_layers.0.weight"}, SORI_ERR_FORMAT,
         "flow.flows.1.wavenet.in_layers.0.weight"},
        {{.kind = GGUF_EDIT_INT, .name = "sori.vits.hidden_size", .i = 24}, SORI_ERR_FORMAT, "text_encoder"},
        {{.kind = GGUF_EDIT_INT, .name = "sori.vits.num_attention_heads", .i = 3}, SORI_ERR_FORMAT,
         "num_attention_heads"},
        {{.kind = GGUF_EDIT_STR, .name = "sori.vits.hidden_act", .s = "swish"}, SORI_ERR_UNSUPPORTED, "hidden_act"},
        {{.kind = GGUF_EDIT_STR, .name = "general.architecture", .s = "sori.vits2"}, SORI_ERR_UNSUPPORTED, "sori.vits2"},
        {{.kind = GGUF_EDIT_INT, .name = "sori.vits.depth_separable_channels", .i = 4}, SORI_ERR_UNSUPPORTED,
         "depth_separable_channels"},
        {{.kind = GGUF_EDIT_INT, .name = "sori.vits.vocab_size", .i = -5}, SORI_ERR_FORMAT, "vocab_size"},
        {{.kind = GGUF_EDIT_REMOVE, .name = "sori.vits.flow_size"}, SORI_ERR_FORMAT, "flow_size"},
        {{.kind = GGUF_EDIT_SHAPE, .name = "decoder.conv_post.weight", .n_dims = 3, .ne = {7, 4, 2}}, SORI_ERR_FORMAT,
         "decoder.conv_post.weight"},
        {{.kind = GGUF_EDIT_INT, .name = "sori.vits.upsample_initial_channel", .i = 6}, SORI_ERR_FORMAT,
         "upsample_initial_channel"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        void *out = NULL;
        size_t n = 0;
        if (gguf_edit_apply(data, size, &cases[i].e, 1, &out, &n) != SORI_OK) {
            CHECK(0, "edit %zu failed", i);
            continue;
        }
        memset(&err, 0, sizeof err);
        v = NULL;
        sori_status st = sori_tts_voice_load_memory(rt, out, n, &v, &err);
        CHECK(st == cases[i].want && strstr(err.message, cases[i].named), "edit %s: status %d, message \"%s\"",
              cases[i].e.name, st, err.message);
        if (i == 0)
            printf("a missing tensor: %s\n", err.message);
        sori_tts_voice_free(v);
        free(out);
    }
    CHECK_STATUS(sori_tts_voice_load(rt, "/nonexistent/voice.gguf", &v, &err), SORI_ERR_IO);
    snprintf(path, sizeof path, "%s/pywriter.gguf", SORI_FIXTURE_DIR);
    CHECK_STATUS(sori_tts_voice_load(rt, path, &v, &err), SORI_ERR_UNSUPPORTED);
    free(data);
}

/* ---- bad calls, empty and long inputs --------------------------------------------------- */

static void bad_calls(sori_runtime *rt)
{
    char path[512];
    snprintf(path, sizeof path, "%s/vits/sdp_spk.gguf", SORI_FIXTURE_DIR);
    sori_error err = {0};
    sori_tts_voice *v = NULL;
    if (sori_tts_voice_load(rt, path, &v, &err) != SORI_OK) {
        CHECK(0, "%s", err.message);
        return;
    }
    sori_tts_synth_params p = sori_tts_synth_default_params(v), q;
    sori_tts_synth *s = NULL;
    q = p, q.speaker_id = 3;
    CHECK_STATUS(sori_tts_synth_create(v, &q, &s, &err), SORI_ERR_INVALID_ARG);
    CHECK(s == NULL && strstr(err.message, "speaker_id"), "%s", err.message);
    q = p, q.length_scale = 0.0f;
    CHECK_STATUS(sori_tts_synth_create(v, &q, &s, &err), SORI_ERR_INVALID_ARG);
    q = p, q.noise_scale = NAN;
    CHECK_STATUS(sori_tts_synth_create(v, &q, &s, &err), SORI_ERR_INVALID_ARG);
    q = p, q.max_tokens = 9000;
    CHECK_STATUS(sori_tts_synth_create(v, &q, &s, &err), SORI_ERR_INVALID_ARG);
    CHECK_STATUS(sori_tts_synth_create(NULL, &p, &s, &err), SORI_ERR_INVALID_ARG);
    CHECK_STATUS(sori_tts_synth_create(v, NULL, &s, &err), SORI_OK);
    const float *w = (const float *)1;
    int64_t n = -1;
    int32_t ids[8] = {0, 4, 0, 7, 0, 19, 0, 2};
    /* empty input: no audio, no error */
    CHECK_STATUS(sori_tts_synth_tokens(s, ids, 0, NULL, &w, &n, &err), SORI_OK);
    CHECK(n == 0 && w == NULL, "empty input gave %lld samples", (long long)n);
    CHECK_STATUS(sori_tts_synth_tokens(s, NULL, 0, NULL, &w, &n, &err), SORI_OK);
    /* ids out of range */
    ids[3] = 20;
    CHECK_STATUS(sori_tts_synth_tokens(s, ids, 8, NULL, &w, &n, &err), SORI_ERR_INVALID_ARG);
    CHECK(strstr(err.message, "id 20") != NULL, "%s", err.message);
    printf("out of range: %s\n", err.message);
    ids[3] = -1;
    CHECK_STATUS(sori_tts_synth_tokens(s, ids, 8, NULL, &w, &n, &err), SORI_ERR_INVALID_ARG);
    ids[3] = 7;
    CHECK_STATUS(sori_tts_synth_tokens(s, NULL, 8, NULL, &w, &n, &err), SORI_ERR_INVALID_ARG);
    CHECK_STATUS(sori_tts_synth_tokens(s, ids, -1, NULL, &w, &n, &err), SORI_ERR_INVALID_ARG);
    CHECK_STATUS(sori_tts_synth_tokens(s, ids, 8, NULL, NULL, &n, &err), SORI_ERR_INVALID_ARG);
    /* prior noise of the wrong size */
    float noise[10] = {0};
    sori_tts_noise bad_noise = {NULL, noise, 10};
    CHECK_STATUS(sori_tts_synth_tokens(s, ids, 8, &bad_noise, &w, &n, &err), SORI_ERR_INVALID_ARG);
    CHECK(strstr(err.message, "prior noise") != NULL, "%s", err.message);
    /* still usable after errors */
    CHECK_STATUS(sori_tts_synth_tokens(s, ids, 8, NULL, &w, &n, &err), SORI_OK);
    CHECK(n > 0 && n % 16 == 0, "%lld samples", (long long)n);
    /* 10,000 tokens: refused (more than max_tokens), clearly */
    int32_t *many = malloc(sizeof(int32_t) * 10000);
    for (int i = 0; i < 10000; i++)
        many[i] = i % 2 ? 1 + i % 19 : 0;
    CHECK_STATUS(sori_tts_synth_tokens(s, many, 10000, NULL, &w, &n, &err), SORI_ERR_INVALID_ARG);
    CHECK(strstr(err.message, "max_tokens") != NULL, "%s", err.message);
    printf("10,000 tokens: %s\n", err.message);
    /* the longest input the defaults take (1,000 tokens) is synthesized: finite, in [-1, 1] */
    CHECK_STATUS(sori_tts_synth_tokens(s, many, 1000, NULL, &w, &n, &err), SORI_OK);
    int fine = n > 1000 * 16;
    for (int64_t i = 0; fine && i < n; i++)
        fine = isfinite(w[i]) && fabsf(w[i]) <= 1.0f;
    CHECK(fine, "1,000 tokens: %lld samples, not all finite in [-1, 1]", (long long)n);
    printf("1,000 tokens: %lld samples (%.1f s)\n", (long long)n, n / 16000.0);
    /* audio longer than max_seconds: refused */
    q = p, q.max_seconds = 0.05f;
    CHECK_STATUS(sori_tts_synth_set_params(s, &q, &err), SORI_OK);
    CHECK_STATUS(sori_tts_synth_tokens(s, many, 1000, NULL, &w, &n, &err), SORI_ERR_INVALID_ARG);
    CHECK(strstr(err.message, "max_seconds") != NULL, "%s", err.message);
    /* a very slow rate with the largest token count allowed stays within memory and limits */
    q = p, q.length_scale = 100.0f;
    CHECK_STATUS(sori_tts_synth_set_params(s, &q, &err), SORI_OK);
    sori_status st = sori_tts_synth_tokens(s, many, 1000, NULL, &w, &n, &err);
    CHECK(st == SORI_ERR_INVALID_ARG && strstr(err.message, "max_seconds"), "length_scale 100: %d %s", st,
          err.message);
    free(many);
    sori_tts_synth_free(s);
    sori_tts_synth_free(NULL);
    sori_tts_voice_free(v);
    sori_tts_voice_free(NULL);
}

/* ---- memory -------------------------------------------------------------------------------- */

static void memory(sori_runtime *rt)
{
#ifdef HAVE_HEAP_COUNT
    char path[512];
    snprintf(path, sizeof path, "%s/vits/dp_spk.gguf", SORI_FIXTURE_DIR);
    sori_error err = {0};
    sori_tts_voice *v = NULL;
    if (sori_tts_voice_load(rt, path, &v, &err) != SORI_OK) {
        CHECK(0, "%s", err.message);
        return;
    }
    int32_t ids[24];
    for (int i = 0; i < 24; i++)
        ids[i] = (i * 7 + 3) % 20;
    sori_tts_synth *s = NULL;
    sori_tts_synth_create(v, NULL, &s, &err);
    const float *w;
    int64_t n;
    /* the deterministic predictor: the same tokens, the same lengths; one pass over every length first */
    for (int len = 1; len <= 24; len++)
        sori_tts_synth_tokens(s, ids, len, NULL, &w, &n, &err);
    const size_t base = heap_in_use();
    int ok = 1;
    for (int i = 0; i < 1000; i++)
        ok &= sori_tts_synth_tokens(s, ids, 1 + i % 24, NULL, &w, &n, &err) == SORI_OK;
    CHECK(ok && heap_in_use() == base, "1,000 synthesis calls changed the heap by %lld bytes",
          (long long)heap_in_use() - (long long)base);
    /* streamed the same way, some cancelled half-way (one stream first: the chunk buffers) */
    int64_t total;
    sori_tts_synth_begin(s, ids, 24, NULL, &total, &err);
    while (sori_tts_synth_next(s, &w, &n, &err) == SORI_OK && n > 0) {
    }
    const size_t base_stream = heap_in_use();
    for (int i = 0; i < 1000; i++) {
        ok &= sori_tts_synth_begin(s, ids, 1 + i % 24, NULL, &total, &err) == SORI_OK;
        for (int k = 0; sori_tts_synth_next(s, &w, &n, &err) == SORI_OK && n > 0; k++)
            if (i % 3 == 0 && k == 1)
                sori_tts_synth_cancel(s);
    }
    CHECK(ok && heap_in_use() == base_stream, "1,000 streams changed the heap by %lld bytes",
          (long long)heap_in_use() - (long long)base_stream);
    sori_tts_synth_free(s);
    const size_t base2 = heap_in_use();
    for (int i = 0; i < 1000; i++) {
        sori_tts_synth_params p = sori_tts_synth_default_params(v);
        p.speaker_id = i % 2;
        p.seed = (uint64_t)i;
        s = NULL;
        ok &= sori_tts_synth_create(v, &p, &s, &err) == SORI_OK;
        ok &= sori_tts_synth_tokens(s, ids, 1 + i % 24, NULL, &w, &n, &err) == SORI_OK;
        sori_tts_synth_free(s);
    }
    CHECK(ok && heap_in_use() == base2, "1,000 sessions changed the heap by %lld bytes",
          (long long)heap_in_use() - (long long)base2);
    sori_tts_voice_free(v);
    printf("heap: 1,000 calls, 1,000 streams and 1,000 sessions end where they began\n");
#else
    (void)rt;
    printf("heap counting: not under a sanitizer's allocator (checked in the plain build)\n");
#endif
}

int main(void)
{
    char path[512];
    snprintf(path, sizeof path, "%s/vits/sdp.gguf", SORI_FIXTURE_DIR);
    FILE *f = fopen(path, "rb");
    if (!f)
        SKIP("no fixtures at %s (tools/gen_vits_fixtures.py)", path);
    fclose(f);
    sori_runtime_params rp = sori_runtime_default_params();
    rp.device = SORI_DEVICE_CPU;
    rp.n_threads = 2;
    rp.pool_bytes = 1 << 20;
    sori_runtime *rt = NULL;
    sori_error err = {0};
    if (sori_runtime_create(&rp, &rt, &err) != SORI_OK) {
        printf("runtime: %s\n", err.message);
        return 1;
    }
    for (int i = 0; i < N_MODELS; i++)
        parity(rt, MODELS[i]);
    printf("worst rel-L2 over the %d models:", N_MODELS);
    for (int i = 0; STAGES[i]; i++)
        printf(" %s %.1e", STAGES[i], g_worst[i]);
    printf("\nstreaming (chunks of 1, 4, 7 frames) vs the whole call: worst rel-L2 %.1e\n", g_stream_worst);
    piper_parity(rt, "piper_rb2", 1);
    piper_parity(rt, "piper_rb1_spk", 3);
    printf("Piper voices vs onnxruntime: worst waveform rel-L2 %.1e\n", g_piper_worst);
    uroman_voice(rt);
    f16_weights(rt);
    bad_files(rt);
    bad_calls(rt);
    memory(rt);
    sori_runtime_free(rt);
    return check_finish("test_vits");
}
