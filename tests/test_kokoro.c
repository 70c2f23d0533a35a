/* Kokoro-82M against onnxruntime on the same ONNX file (fixtures by
 * tools/gen_kokoro_fixtures.py: the phonemes `sakura.`, voice jf_alpha):
 * the stages the engine has so far, on data/kokoro-82m.gguf from
 * tools/setup.sh (skipped without it).
 * - ALBERT, teacher-forced stage by stage (the embeddings and the mapping
 *   into its width; its 1st, 7th and 12th pass, each from onnxruntime's
 *   input to it; the projection `d_en`): max-abs difference at most 1e-4 of
 *   the reference's RMS, with activations quantized as onnxruntime's
 *   DynamicQuantizeLinear and int32 sums. Free-running, one activation
 *   rounded to the other 8-bit step late in the 12 passes moves the output
 *   by up to 0.4 of its RMS (a flip happens within a few passes on this input), so the whole
 *   run is only bounded (rel-L2 <= 0.5);
 * - the dynamic int8 product on its own: exact integer sums (checked
 *   against a scalar double-precision rendering of the same rule);
 * - bad input refused by name: token ids out of range, too many tokens, a
 *   file of another architecture. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "npy.h"
#include "tts/kokoro.h"

#ifndef SORI_FIXTURE_DIR
#define SORI_FIXTURE_DIR "tests/fixtures"
#endif
#ifndef SORI_SOURCE_DATA_DIR
#define SORI_SOURCE_DATA_DIR "data"
#endif

static int fixture(npy *a, const char *name, char kind, int64_t n)
{
    char path[512];
    snprintf(path, sizeof path, "%s/kokoro/%s.npy", SORI_FIXTURE_DIR, name);
    int ok = npy_load(a, path) && a->kind == kind && a->n == n;
    CHECK(ok, "fixture %s missing or not %c[%lld]", path, kind, (long long)n);
    return ok;
}

/* max |a - b| over the RMS of b */
static double diff_over_rms(const float *a, const float *b, int64_t n)
{
    double mx = 0, ss = 0;
    for (int64_t i = 0; i < n; i++) {
        mx = fmax(mx, fabs((double)a[i] - b[i]));
        ss += (double)b[i] * b[i];
    }
    return mx / sqrt(ss / (double)n);
}

static double rel_l2(const float *a, const float *b, int64_t n)
{
    double d = 0, ss = 0;
    for (int64_t i = 0; i < n; i++) {
        d += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
        ss += (double)b[i] * b[i];
    }
    return sqrt(d / ss);
}

static void test_bert(const kokoro_model *m)
{
    npy tok, in, l0, l5, l6, l10, bert, den;
    if (!npy_load(&tok, SORI_FIXTURE_DIR "/kokoro/tokens.npy") || tok.kind != 'i') {
        CHECK(0, "fixture tokens.npy missing");
        return;
    }
    const int T = (int)tok.n;
    const int64_t nb = (int64_t)T * m->hidden, nd = (int64_t)T * m->hidden_dim;
    if (fixture(&in, "bert_in", 'f', nb) && fixture(&l0, "bert_l0", 'f', nb) && fixture(&l5, "bert_l5", 'f', nb) &&
        fixture(&l6, "bert_l6", 'f', nb) && fixture(&l10, "bert_l10", 'f', nb) &&
        fixture(&bert, "bert", 'f', nb) && fixture(&den, "d_en", 'f', nd)) {
        float *work = malloc(sizeof(float) * (size_t)kokoro_bert_work_floats(m, T));
        float *b = malloc(sizeof(float) * (size_t)nb), *d = malloc(sizeof(float) * (size_t)nd);
        sori_error err = {0};
        /* embeddings and the mapping into ALBERT's width (no pass) */
        kokoro_model m0 = *m;
        m0.layers = 0;
        CHECK_STATUS(kokoro_bert(&m0, tok.data, T, work, b, NULL, &err), SORI_OK);
        const double e_in = diff_over_rms(b, in.data, nb);
        /* single passes teacher-forced: the first, the 7th and the last, each from onnxruntime's input */
        CHECK_STATUS(kokoro_bert_passes(m, in.data, T, 1, work, b, &err), SORI_OK);
        const double e_l0 = diff_over_rms(b, l0.data, nb);
        CHECK_STATUS(kokoro_bert_passes(m, l5.data, T, 1, work, b, &err), SORI_OK);
        const double e_l6 = diff_over_rms(b, l6.data, nb);
        CHECK_STATUS(kokoro_bert_passes(m, l10.data, T, 1, work, b, &err), SORI_OK);
        const double e_l11 = diff_over_rms(b, bert.data, nb);
        CHECK_STATUS(kokoro_bert_project(m, bert.data, T, work, d, &err), SORI_OK);
        const double e_d = diff_over_rms(d, den.data, nd);
        printf("ALBERT vs onnxruntime, %d tokens, max-abs / RMS: input %.2e, passes 1, 7, 12 %.2e %.2e %.2e, "
               "projection %.2e\n", T, e_in, e_l0, e_l6, e_l11, e_d);
        CHECK(e_in <= 1e-4, "embeddings and mapping: %.3g (tolerance 1e-4)", e_in);
        CHECK(e_l0 <= 1e-4, "first pass: %.3g (tolerance 1e-4)", e_l0);
        CHECK(e_l6 <= 1e-4, "7th pass: %.3g (tolerance 1e-4)", e_l6);
        CHECK(e_l11 <= 1e-4, "last pass: %.3g (tolerance 1e-4)", e_l11);
        CHECK(e_d <= 1e-4, "projection: %.3g (tolerance 1e-4)", e_d);
        /* all 12 passes free-running: a single activation rounded to the other 8-bit step (its value
         * within float noise of a half step) changes everything after it, so the whole is only bounded */
        CHECK_STATUS(kokoro_bert(m, tok.data, T, work, b, d, &err), SORI_OK);
        const double r_b = rel_l2(b, bert.data, nb), r_d = rel_l2(d, den.data, nd);
        printf("free-running: bert rel-L2 %.3f, d_en %.3f\n", r_b, r_d);
        CHECK(r_b <= 0.5 && r_d <= 0.5, "free-running ALBERT: rel-L2 %.3g / %.3g", r_b, r_d);
        /* bad calls */
        int32_t bad[3] = {0, m->n_token, 0};
        CHECK_STATUS(kokoro_bert(m, bad, 3, work, b, d, &err), SORI_ERR_INVALID_ARG);
        CHECK(strstr(err.message, "token") != NULL, "names the token: %s", err.message);
        CHECK_STATUS(kokoro_bert(m, tok.data, 0, work, b, d, &err), SORI_ERR_INVALID_ARG);
        CHECK_STATUS(kokoro_bert(m, tok.data, m->max_pos + 1, work, b, d, &err), SORI_ERR_INVALID_ARG);
        CHECK_STATUS(kokoro_bert_passes(m, in.data, T, m->layers + 1, work, b, &err), SORI_ERR_INVALID_ARG);
        free(work);
        free(b);
        free(d);
    }
    free(tok.data);
    free(in.data);
    free(l0.data);
    free(l5.data);
    free(l6.data);
    free(l10.data);
    free(bert.data);
    free(den.data);
}

/* The prosody predictor up to the durations: the DurationEncoder from onnxruntime's d_en, the durations
 * from its DurationEncoder output (teacher-forced), then the whole from the tokens */
static void test_durations(const kokoro_model *m)
{
    npy tok, style, den, enc, raw, dur;
    if (!npy_load(&tok, SORI_FIXTURE_DIR "/kokoro/tokens.npy") || tok.kind != 'i') {
        CHECK(0, "fixture tokens.npy missing");
        return;
    }
    const int T = (int)tok.n, W = m->hidden_dim + m->style_dim;
    if (fixture(&style, "style", 'f', 2 * m->style_dim) && fixture(&den, "d_en", 'f', (int64_t)T * m->hidden_dim) &&
        fixture(&enc, "dur_enc", 'f', (int64_t)T * W) && fixture(&raw, "dur_raw", 'f', T) &&
        fixture(&dur, "dur", 'i', T)) {
        const int64_t wf = kokoro_dur_work_floats(m, T), wb = kokoro_bert_work_floats(m, T);
        float *work = malloc(sizeof(float) * (size_t)(wf > wb ? wf : wb));
        float *e = malloc(sizeof(float) * (size_t)T * W), *r = malloc(sizeof(float) * (size_t)T);
        float *d_en = malloc(sizeof(float) * (size_t)T * m->hidden_dim);
        int32_t *d = malloc(sizeof(int32_t) * (size_t)T);
        sori_error err = {0};
        CHECK_STATUS(kokoro_durations(m, den.data, T, style.data, 1.0f, NULL, work, e, NULL, NULL, &err), SORI_OK);
        const double e_enc = diff_over_rms(e, enc.data, (int64_t)T * W);
        CHECK_STATUS(kokoro_durations(m, NULL, T, style.data, 1.0f, enc.data, work, NULL, r, d, &err), SORI_OK);
        double e_raw = 0;
        int same = 0;
        for (int t = 0; t < T; t++) {
            e_raw = fmax(e_raw, fabs((double)r[t] - ((const float *)raw.data)[t]));
            same += d[t] == ((const int32_t *)dur.data)[t];
        }
        printf("durations vs onnxruntime, teacher-forced: DurationEncoder max-abs / RMS %.2e, raw durations "
               "max-abs %.2e frames, %d of %d durations equal\n", e_enc, e_raw, same, T);
        CHECK(e_enc <= 1e-4, "DurationEncoder: %.3g (tolerance 1e-4)", e_enc);
        CHECK(e_raw <= 1e-3, "raw durations: %.3g frames (tolerance 1e-3)", e_raw);
        CHECK(same == T, "durations: %d of %d equal", same, T);
        /* from the tokens (free-running: see test_bert) */
        CHECK_STATUS(kokoro_bert(m, tok.data, T, work, NULL, d_en, &err), SORI_OK);
        CHECK_STATUS(kokoro_durations(m, d_en, T, style.data, 1.0f, NULL, work, NULL, r, d, &err), SORI_OK);
        same = 0;
        e_raw = 0;
        for (int t = 0; t < T; t++) {
            e_raw = fmax(e_raw, fabs((double)r[t] - ((const float *)raw.data)[t]));
            same += d[t] == ((const int32_t *)dur.data)[t];
        }
        printf("free-running from the tokens: raw durations max-abs %.3f frames, %d of %d durations equal\n", e_raw,
               same, T);
        CHECK(e_raw <= 1.0, "free-running raw durations within a frame: %.3g", e_raw);
        /* speed divides the raw durations; bad speed is refused */
        float r2[64];
        CHECK_STATUS(kokoro_durations(m, NULL, T, style.data, 2.0f, enc.data, work, NULL, r2, d, &err), SORI_OK);
        CHECK_STATUS(kokoro_durations(m, NULL, T, style.data, 1.0f, enc.data, work, NULL, r, d, &err), SORI_OK);
        int halved = 0;
        for (int t = 0; t < T && t < 64; t++)
            halved += r2[t] == r[t] / 2.0f;
        CHECK(halved == T, "speed 2 halves the raw durations (%d of %d)", halved, T);
        CHECK_STATUS(kokoro_durations(m, den.data, T, style.data, 0.0f, NULL, work, NULL, r, d, &err),
                     SORI_ERR_INVALID_ARG);
        free(work);
        free(e);
        free(r);
        free(d_en);
        free(d);
    }
    free(tok.data);
    free(style.data);
    free(den.data);
    free(enc.data);
    free(raw.data);
    free(dur.data);
}

/* The text encoder from the tokens (no quantization flips reach it: its input is the embedding) */
static void test_text_encoder(const kokoro_model *m)
{
    npy tok, ten;
    if (!npy_load(&tok, SORI_FIXTURE_DIR "/kokoro/tokens.npy") || tok.kind != 'i') {
        CHECK(0, "fixture tokens.npy missing");
        return;
    }
    const int T = (int)tok.n, D = m->hidden_dim;
    if (fixture(&ten, "t_en", 'f', (int64_t)T * D)) {
        float *work = malloc(sizeof(float) * (size_t)kokoro_text_work_floats(m, T));
        float *t_en = malloc(sizeof(float) * (size_t)T * D), *tr = malloc(sizeof(float) * (size_t)T * D);
        sori_error err = {0};
        CHECK_STATUS(kokoro_text_encoder(m, tok.data, T, work, t_en, &err), SORI_OK);
        for (int t = 0; t < T; t++) /* the fixture is [D, T] */
            for (int c = 0; c < D; c++)
                tr[(int64_t)t * D + c] = ((const float *)ten.data)[(int64_t)c * T + t];
        const double e = diff_over_rms(t_en, tr, (int64_t)T * D);
        printf("text encoder vs onnxruntime: max-abs / RMS %.2e\n", e);
        CHECK(e <= 1e-4, "text encoder: %.3g (tolerance 1e-4)", e);
        int32_t bad[2] = {0, -1};
        CHECK_STATUS(kokoro_text_encoder(m, bad, 2, work, t_en, &err), SORI_ERR_INVALID_ARG);
        free(work);
        free(t_en);
        free(tr);
    }
    free(tok.data);
    free(ten.data);
}

/* F0 and energy from onnxruntime's DurationEncoder output and durations (teacher-forced) */
static void test_f0n(const kokoro_model *m)
{
    npy style, enc, dur, f0r, nr;
    const int W = m->hidden_dim + m->style_dim;
    if (fixture(&dur, "dur", 'i', 9) && fixture(&style, "style", 'f', 2 * m->style_dim) &&
        fixture(&enc, "dur_enc", 'f', 9 * (int64_t)W)) {
        int F = 0;
        for (int t = 0; t < 9; t++)
            F += ((const int32_t *)dur.data)[t];
        if (fixture(&f0r, "f0", 'f', 2 * F) && fixture(&nr, "n", 'f', 2 * F)) {
            float *work = malloc(sizeof(float) * (size_t)kokoro_f0n_work_floats(m, F));
            float *f0 = malloc(sizeof(float) * 2 * (size_t)F), *n = malloc(sizeof(float) * 2 * (size_t)F);
            sori_error err = {0};
            CHECK_STATUS(kokoro_f0n(m, enc.data, dur.data, 9, style.data, F, work, f0, n, &err), SORI_OK);
            const double ef = diff_over_rms(f0, f0r.data, 2 * F), en = diff_over_rms(n, nr.data, 2 * F);
            printf("F0 and energy vs onnxruntime (teacher-forced, %d frames): max-abs / RMS %.2e, %.2e\n", F, ef, en);
            /* five residual blocks of convolutions over per-tensor 8-bit activations: float-order
             * differences move a few activations by a step (measured 1.2e-3 and 3.3e-3; a wrong tap of the
             * upsampling gives 0.2-0.4) */
            CHECK(ef <= 1e-2 && en <= 1e-2, "F0 %.3g, energy %.3g (tolerance 1e-2)", ef, en);
            CHECK_STATUS(kokoro_f0n(m, enc.data, dur.data, 9, style.data, F - 1, work, f0, n, &err),
                         SORI_ERR_INVALID_ARG);
            free(work);
            free(f0);
            free(n);
        }
        free(f0r.data);
        free(nr.data);
    }
    free(dur.data);
    free(style.data);
    free(enc.data);
}

/* The decoder from onnxruntime's t_en (repeated by its durations), F0 and energy (teacher-forced) */
static void test_decoder(const kokoro_model *m)
{
    npy style, ten, dur, f0, n, enc, out;
    const int D = m->hidden_dim;
    if (fixture(&dur, "dur", 'i', 9) && fixture(&style, "style", 'f', 2 * m->style_dim) &&
        fixture(&ten, "t_en", 'f', 9 * (int64_t)D)) {
        int F = 0;
        for (int t = 0; t < 9; t++)
            F += ((const int32_t *)dur.data)[t];
        if (fixture(&f0, "f0", 'f', 2 * F) && fixture(&n, "n", 'f', 2 * F) &&
            fixture(&enc, "dec_encode.f16", 'f', (int64_t)F * 2 * D) && fixture(&out, "dec_out.f16", 'f', (int64_t)2 * F * D)) {
            float *asr = malloc(sizeof(float) * (size_t)F * D), *e = malloc(sizeof(float) * (size_t)F * 2 * D),
                  *o = malloc(sizeof(float) * (size_t)2 * F * D), *tr = malloc(sizeof(float) * (size_t)2 * F * D);
            float *work = malloc(sizeof(float) * (size_t)kokoro_decoder_work_floats(m, F));
            for (int t = 0, f = 0; t < 9; t++) /* t_en [D, 9] repeated by the durations, time-major */
                for (int k = 0; k < ((const int32_t *)dur.data)[t]; k++, f++)
                    for (int c = 0; c < D; c++)
                        asr[(int64_t)f * D + c] = ((const float *)ten.data)[(int64_t)c * 9 + t];
            sori_error err = {0};
            CHECK_STATUS(kokoro_decoder(m, asr, f0.data, n.data, F, style.data, work, e, o, &err), SORI_OK);
            for (int t = 0; t < F; t++) /* the fixtures are channel-major */
                for (int c = 0; c < 2 * D; c++)
                    tr[(int64_t)t * 2 * D + c] = ((const float *)enc.data)[(int64_t)c * F + t];
            const double ee = diff_over_rms(e, tr, (int64_t)F * 2 * D);
            for (int t = 0; t < 2 * F; t++)
                for (int c = 0; c < D; c++)
                    tr[(int64_t)t * D + c] = ((const float *)out.data)[(int64_t)c * 2 * F + t];
            const double eo = diff_over_rms(o, tr, (int64_t)2 * F * D);
            printf("decoder vs onnxruntime (teacher-forced): encode max-abs / RMS %.2e, output %.2e (fixtures in "
                   "f16)\n", ee, eo);
            CHECK(ee <= 1e-2 && eo <= 1e-2, "decoder: encode %.3g, output %.3g (tolerance 1e-2)", ee, eo);
            free(asr);
            free(e);
            free(o);
            free(tr);
            free(work);
        }
        free(f0.data);
        free(n.data);
        free(enc.data);
        free(out.data);
    }
    free(dur.data);
    free(style.data);
    free(ten.data);
}

/* Mean |10·log10 Pa − 10·log10 Pb| in dB over Hann-windowed frames (960 samples, hop 480) and
 * bins 1..480, powers floored at 1e-10: how far apart two renderings of the same utterance sound,
 * spectrally (tools/gen_kokoro_fixtures.py computes the same for onnxruntime against itself) */
static double log_spectral_distance(const float *a, const float *b, int64_t n)
{
    enum { NFFT = 960, HOP = 480 };
    static double cs[NFFT], sn[NFFT], w[NFFT];
    for (int i = 0; i < NFFT; i++) {
        cs[i] = cos(2 * 3.14159265358979323846 * i / NFFT);
        sn[i] = sin(2 * 3.14159265358979323846 * i / NFFT);
        w[i] = 0.5 - 0.5 * cs[i];
    }
    const int64_t frames = 1 + (n - NFFT) / HOP;
    double sum = 0;
    for (int64_t f = 0; f < frames; f++)
        for (int k = 1; k <= NFFT / 2; k++) {
            double ra = 0, ia = 0, rb = 0, ib = 0;
            for (int i = 0, e = 0; i < NFFT; i++, e = (e + k) % NFFT) {
                const double xa = a[f * HOP + i] * w[i], xb = b[f * HOP + i] * w[i];
                ra += xa * cs[e];
                ia -= xa * sn[e];
                rb += xb * cs[e];
                ib -= xb * sn[e];
            }
            const double pa = fmax(ra * ra + ia * ia, 1e-10), pb = fmax(rb * rb + ib * ib, 1e-10);
            sum += fabs(10 * log10(pa) - 10 * log10(pb));
        }
    return sum / (double)(frames * (NFFT / 2));
}

/* The source's STFT against onnxruntime's STFT node on the same samples: every re and im bit for
 * bit, seen through the magnitude and the phase both sides compute from them */
static void test_stft(const kokoro_model *m)
{
    npy in, out;
    const int L = 2000, NF = (L - 20) / 5 + 1;
    if (fixture(&in, "stft_in", 'f', L) && fixture(&out, "stft_out", 'f', (int64_t)NF * 22)) {
        float *spec = malloc(sizeof(float) * (size_t)NF * 22);
        kokoro_stft_ort(in.data, NF, 5, m->stft_win, spec);
        const float *ref = out.data, pi = 3.14159265358979f;
        int mag_differ = 0, phase_differ = 0, flips = 0;
        for (int j = 0; j < NF; j++)
            for (int k = 0; k < 11; k++) {
                const float re = ref[(j * 11 + k) * 2], im = ref[(j * 11 + k) * 2 + 1];
                float ph = atanf(im / re);
                if (re < 0.0f)
                    ph = im > 0.0f ? ph + pi : ph - pi;
                const float mag = sqrtf(re * re + im * im), mo = spec[j * 22 + k], po = spec[j * 22 + 11 + k];
                mag_differ += memcmp(&mag, &mo, sizeof mag) != 0;
                phase_differ += memcmp(&ph, &po, sizeof ph) != 0;
                flips += fabsf(ph - po) > 1.0f;
            }
        printf("source STFT vs onnxruntime's STFT node (%d frames): %d of %d magnitudes and %d phases differ "
               "(%d by more than 1 rad)\n", NF, mag_differ, NF * 11, phase_differ, flips);
        CHECK(mag_differ == 0 && phase_differ == 0, "STFT: %d magnitudes, %d phases differ", mag_differ, phase_differ);
        free(spec);
    }
    free(in.data);
    free(out.data);
}

/* The generator from onnxruntime's decoder output and F0 (teacher-forced) */
static void test_generator(const kokoro_model *m)
{
    npy style, f0, dec, har, post, audio, audio_tf;
    const int D = m->hidden_dim, F = 48, NF = 120 * F + 1;
    if (fixture(&style, "style", 'f', 2 * m->style_dim) && fixture(&f0, "f0", 'f', 2 * F) &&
        fixture(&dec, "dec_out.f16", 'f', (int64_t)2 * F * D) && fixture(&har, "har.f16", 'f', 600 * F) &&
        fixture(&post, "post.f16", 'f', 22 * 1000) && fixture(&audio, "audio", 'f', 600 * F) &&
        fixture(&audio_tf, "audio_tf.f16", 'f', 600 * F)) {
        float *x = malloc(sizeof(float) * (size_t)2 * F * D), *h = malloc(sizeof(float) * 600 * F),
              *sp = malloc(sizeof(float) * (size_t)NF * 22), *a = malloc(sizeof(float) * 600 * F),
              *tr = malloc(sizeof(float) * 22 * 1000);
        float *work = malloc(sizeof(float) * (size_t)kokoro_generator_work_floats(m, F));
        for (int t = 0; t < 2 * F; t++) /* the fixture is [D, 2F] */
            for (int c = 0; c < D; c++)
                x[(int64_t)t * D + c] = ((const float *)dec.data)[(int64_t)c * 2 * F + t];
        sori_error err = {0};
        CHECK_STATUS(kokoro_generator(m, x, f0.data, F, style.data, work, h, sp, a, &err), SORI_OK);
        const double eh = rel_l2(h, har.data, 600 * F);
        for (int t = 0; t < 1000; t++)
            for (int c = 0; c < 22; c++)
                tr[(int64_t)t * 22 + c] = ((const float *)post.data)[(int64_t)c * 1000 + t];
        const double ep = rel_l2(sp, tr, 22 * 1000), ea = rel_l2(a, audio_tf.data, 600 * F),
                     ea32 = rel_l2(a, audio.data, 600 * F);
        double e_ours = 0, e_ref = 0;
        int finite = 1;
        for (int i = 0; i < 600 * F; i++) {
            finite = finite && isfinite(a[i]);
            e_ours += (double)a[i] * a[i];
            e_ref += (double)((const float *)audio_tf.data)[i] * ((const float *)audio_tf.data)[i];
        }
        const double rms_ratio = sqrt(e_ours / e_ref), lsd = log_spectral_distance(a, audio_tf.data, 600 * F);
        printf("generator vs onnxruntime's, both on the f16 decoder output: rel-L2 harmonic source %.2e, conv_post "
               "%.2e, waveform %.3f (against the full graph's f32 run: %.3f), RMS ratio %.4f, log-spectral distance "
               "%.3f dB\n", eh, ep, ea, ea32, rms_ratio, lsd);
        /* Waveform parity at 1e-3 is not reachable on this graph: its 8-bit activations amplify
         * float-order differences, so onnxruntime's own generator moves by 3.7 % rel-L2 (1.28 dB) when
         * its decoder input moves by 1e-6, and by 6.8–7.5 % (1.59–1.60 dB) when its F0 moves by 1e-7,
         * about one ulp (tools/gen_kokoro_fixtures.py). sori is held to that scale: waveform rel-L2
         * ≤ 0.10, log-spectral distance ≤ 1.8 dB, loudness within 1 %. Before the source's STFT
         * matched onnxruntime's (tts/kokoro_stft.c) the waveform was 36 % off, RMS ratio 0.81. */
        CHECK(eh <= 1e-3, "harmonic source: rel-L2 %.3g", eh);
        CHECK(ep <= 2e-2, "conv_post: rel-L2 %.3g", ep);
        CHECK(finite && ea <= 0.10 && fabs(rms_ratio - 1) <= 0.01 && lsd <= 1.8,
              "waveform: finite %d, rel-L2 %.3g, RMS ratio %.4g, log-spectral distance %.3g dB", finite, ea, rms_ratio,
              lsd);
        free(x);
        free(h);
        free(sp);
        free(a);
        free(tr);
        free(work);
    }
    free(style.data);
    free(f0.data);
    free(dec.data);
    free(har.data);
    free(post.data);
    free(audio.data);
    free(audio_tf.data);
}

/* The product on random data against the same rule written plainly (double sums of exact integers) */
static void test_qlinear(void)
{
    enum { ROWS = 5, IN = 77, OUT = 13 };
    int8_t w[OUT * IN];
    float scale[OUT], bias[OUT], x[ROWS * IN], y[ROWS * OUT];
    int16_t q[ROWS * IN];
    uint32_t s = 12345;
    for (int i = 0; i < OUT * IN; i++) {
        s = s * 1664525u + 1013904223u;
        w[i] = (int8_t)(s >> 24);
    }
    for (int i = 0; i < OUT; i++) {
        scale[i] = 0.001f * (float)(i + 1);
        bias[i] = 0.1f * (float)i - 0.5f;
    }
    for (int i = 0; i < ROWS * IN; i++) {
        s = s * 1664525u + 1013904223u;
        x[i] = (float)((int)(s >> 16) % 2001 - 700) / 300.0f;
    }
    kokoro_linear l = {w, scale, bias, OUT, IN};
    kokoro_qlinear(&l, x, ROWS, q, y);
    float lo = 0, hi = 0;
    for (int i = 0; i < ROWS * IN; i++) {
        lo = fminf(lo, x[i]);
        hi = fmaxf(hi, x[i]);
    }
    const float xs = (hi - lo) / 255.0f;
    const int zp = (int)rintf(-lo / xs);
    int same = 0;
    for (int r = 0; r < ROWS; r++)
        for (int c = 0; c < OUT; c++) {
            long long acc = 0;
            for (int k = 0; k < IN; k++) {
                const int qv = (int)fminf(255.0f, fmaxf(0.0f, rintf(x[r * IN + k] / xs) + (float)zp));
                acc += (long long)(qv - zp) * w[c * IN + k];
            }
            same += y[r * OUT + c] == (float)acc * (xs * scale[c]) + bias[c];
        }
    CHECK(same == ROWS * OUT, "dynamic int8 product: %d of %d outputs as the rule gives them", same, ROWS * OUT);
}

/* The integer convolution with stride, dilation and padding against the rule written plainly, with
 * the weights laid out as the loader lays them (kokoro_conv_pack): the AVX-512 uint8 path (packed,
 * where the CPU has it) and the int16 path (tap by tap) */
/* path: 1 the uint8 AVX-512 product (where the CPU has it), 2 the AVX2 pair product (IN even), 0 the
 * int16 rows */
static void test_qconv(int path, int T, int IN, int OUT, int K, int stride, int pad, int dil)
{
    const bool packed = path == 1, pairs = path == 2;
    if (pairs && (IN % 2 || !kokoro_avx2_pairs()))
        return;
    if (packed && !kokoro_avx512()) {
        static bool said;
        if (!said)
            printf("test_qconv: no AVX-512 VNNI here: the packed path not run\n");
        said = true;
        return;
    }
    int8_t *w = malloc((size_t)OUT * IN * K), *wt = malloc((size_t)OUT * IN * K);
    int8_t *wp = malloc((size_t)kokoro_conv_packed_bytes(OUT, IN, K)), *w2 = malloc((size_t)kokoro_conv_pair_bytes(OUT, IN, K));
    int32_t *wsum = malloc(sizeof(int32_t) * (size_t)OUT);
    float *x = malloc(sizeof(float) * (size_t)T * IN), *y = malloc(sizeof(float) * (size_t)T * OUT);
    float *bias = malloc(sizeof(float) * (size_t)OUT);
    kokoro_conv c = {.scale = 0.0123f, .zp = -40, .bias = bias, .out = OUT, .in = IN, .k = K, .stride = stride,
                     .pad = pad, .dil = dil};
    float *work = malloc(sizeof(float) * (size_t)kokoro_conv_work(&c, T));
    uint32_t s = 777;
    for (int i = 0; i < OUT * IN * K; i++) {
        s = s * 1664525u + 1013904223u;
        w[i] = (int8_t)(s >> 24);
    }
    for (int i = 0; i < T * IN; i++) {
        s = s * 1664525u + 1013904223u;
        x[i] = (float)((int)(s >> 16) % 1001 - 300) / 250.0f;
    }
    for (int i = 0; i < OUT; i++)
        bias[i] = 0.3f - 0.17f * (float)(i % 11);
    kokoro_conv_pack(&c, w, wt, wp, wsum);
    if (pairs)
        kokoro_conv_pack_pairs(&c, w, w2);
    c.w = wt;
    c.wp = packed ? wp : NULL;
    c.wsum = packed ? wsum : NULL;
    c.w2 = pairs ? w2 : NULL;
    const int n = kokoro_qconv(&c, x, T, work, y);
    const int want_n = (T + 2 * pad - dil * (K - 1) - 1) / stride + 1;
    CHECK(n == want_n, "%d output steps, %d expected", n, want_n);
    float lo = 0, hi = 0;
    for (int i = 0; i < T * IN; i++) {
        lo = fminf(lo, x[i]);
        hi = fmaxf(hi, x[i]);
    }
    const float xs = (hi - lo) / 255.0f, sc = xs * c.scale;
    const int zp = (int)rintf(-lo / xs);
    int same = 0;
    for (int t = 0; t < n; t++)
        for (int co = 0; co < OUT; co++) {
            long long acc = 0;
            for (int ci = 0; ci < IN; ci++)
                for (int k = 0; k < K; k++) {
                    const int ti = stride * t + dil * k - pad;
                    const int q = ti >= 0 && ti < T ? (int)fminf(255.0f, fmaxf(0.0f, rintf(x[ti * IN + ci] / xs) + zp)) - zp : 0;
                    acc += (long long)q * (w[(co * IN + ci) * K + k] - c.zp);
                }
            acc += (long long)floorf(bias[co] / sc);
            same += y[t * OUT + co] == (float)acc * sc;
        }
    CHECK(same == n * OUT, "integer convolution (%s, %d×%d×%d over %d steps): %d of %d outputs as the rule gives them",
          packed ? "uint8 path" : pairs ? "AVX2 pair path" : "int16 path", OUT, IN, K, T, same, n * OUT);
    free(w), free(wt), free(wp), free(w2), free(wsum), free(x), free(y), free(bias), free(work);
}

int main(void)
{
    test_qlinear();
    for (int path = 2; path >= 0; path--) {
        test_qconv(path, 11, 5, 3, 3, 2, 2, 2);    /* stride, padding, dilation; one block of channels */
        test_qconv(path, 37, 9, 150, 3, 1, 1, 1);  /* 150 channels: 2 blocks of 64 and a part; row tails */
        test_qconv(path, 29, 22, 70, 1, 1, 0, 1);  /* k = 1, a window of 22 (not a multiple of 4) */
        test_qconv(path, 40, 64, 33, 7, 1, 9, 3);  /* dilation 3 with padding: read where the rows lie */
        test_qconv(path, 30, 16, 40, 3, 2, 1, 1);  /* stride 2, read where the rows lie */
        test_qconv(path, 2, 8, 20, 11, 1, 25, 5);  /* two steps, padding wider than the input */
        test_qconv(path, 23, 10, 37, 5, 1, 2, 1);  /* 37 channels: a part block of 16; 23 steps: 6-row tails */
        test_qconv(path, 3, 2, 16, 1, 1, 0, 1);    /* one pair of inputs, k = 1: rows as they lie */
    }
    const char *path = SORI_SOURCE_DATA_DIR "/kokoro-82m.gguf";
    FILE *f = fopen(path, "rb");
    if (!f) {
        printf("test_kokoro: no %s (tools/setup.sh fetches it): the model checks skipped\n", path);
        return check_finish("test_kokoro") ? 1 : 77; /* (the product's own check still counts) */
    }
    fclose(f);
    kokoro_model *m = NULL;
    sori_error err = {0};
    CHECK_STATUS(kokoro_load(path, &m, &err), SORI_OK);
    if (m) {
        test_bert(m);
        test_durations(m);
        test_text_encoder(m);
        test_f0n(m);
        test_decoder(m);
        test_stft(m);
        test_generator(m);
    }
    kokoro_free(m);
    /* another architecture's file is refused by name */
    kokoro_model *other = NULL;
    sori_status st = kokoro_load(SORI_SOURCE_DATA_DIR "/silero-vad.gguf", &other, &err);
    if (st != SORI_ERR_IO) {
        CHECK_STATUS(st, SORI_ERR_FORMAT);
        CHECK(strstr(err.message, "architecture") != NULL, "names the architecture: %s", err.message);
    }
    kokoro_free(other);
    return check_finish("test_kokoro");
}
