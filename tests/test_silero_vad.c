/* Silero VAD run natively, against onnxruntime on the same model
 * (tools/gen_silero_fixtures.py): the bundled sample after silence and a
 * tone-and-noise burst, at 16 kHz and (every second sample) at 8 kHz, window
 * by window with the state carried; every probability within 1e-4. The
 * model is data/silero-vad.gguf, which tools/setup.sh fetches (PyPI
 * silero-vad) and converts; without it the test is skipped (exit 77).
 * Also: reset gives the same numbers again, misuse, and model files made
 * hostile (a key changed, a tensor dropped) refused with the key or tensor
 * named. */
#include <math.h>
#include <string.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

#include "check.h"
#include "gguf_edit.h"
#include "sori/audio.h"
#include "sori/vad.h"

/* The fixture generator's input: at 16 kHz 0.5 s of silence, 0.3 s of a
 * tone with noise (the same construction, in double, rounded to float),
 * then the sample; at 8 kHz every second sample of that (step 2). */
static float *make_signal(const sori_audio *a, int step, int64_t *n)
{
    const int rate = 16000;
    const int64_t n_sil = rate / 2, n_burst = rate * 3 / 10, n16 = n_sil + n_burst + a->n_frames;
    float *x = malloc((size_t)n16 * sizeof(float));
    for (int64_t i = 0; i < n_sil; i++)
        x[i] = 0.0f;
    for (int64_t i = 0; i < n_burst; i++) {
        double t = (double)i;
        x[n_sil + i] = (float)(0.2 * sin(2 * M_PI * 440.0 * t / rate) +
                               0.05 * sin(2 * M_PI * 3.0 * t / rate + 1.0 * fmod(t, 7.0)));
    }
    memcpy(x + n_sil + n_burst, a->samples, (size_t)a->n_frames * sizeof(float));
    *n = (n16 + step - 1) / step;
    for (int64_t i = 0; i < *n; i++)
        x[i] = x[i * step];
    return x;
}

static void check_rate(const sori_silero_vad *m, const sori_audio *a, int rate, int step, const char *fixture)
{
    int64_t n_ref = 0, n = 0;
    float *ref = read_f32_fixture(&n_ref, "%s/silero/%s", SORI_FIXTURE_DIR, fixture);
    float *x = make_signal(a, step, &n);
    const int W = sori_silero_vad_window(m, rate);
    CHECK(W == (rate == 16000 ? 512 : 256), "%d Hz: window %d", rate, W);
    sori_silero_vad_state *s = NULL;
    sori_error err = {0};
    CHECK_STATUS(sori_silero_vad_state_create(m, rate, &s, &err), SORI_OK);
    if (!ref || !s || W <= 0) {
        CHECK(ref != NULL, "fixture %s missing", fixture);
        free(ref);
        free(x);
        sori_silero_vad_state_free(s);
        return;
    }
    int64_t windows = n / W;
    CHECK(windows == n_ref, "%d Hz: %lld windows, the fixture has %lld", rate, (long long)windows, (long long)n_ref);
    for (int pass = 0; pass < 2; pass++) { /* the second after a reset: the same numbers */
        double worst = 0;
        int64_t at = -1, speech = 0;
        for (int64_t w = 0; w < windows && w < n_ref; w++) {
            float p = -1;
            CHECK_STATUS(sori_silero_vad_process(s, x + w * W, W, &p, &err), SORI_OK);
            double d = fabs((double)p - ref[w]);
            if (d > worst)
                worst = d, at = w;
            speech += p > 0.5f;
        }
        CHECK(worst <= 1e-4, "%d Hz, pass %d: probability differs from onnxruntime's by %.2e at window %lld", rate,
              pass, worst, (long long)at);
        if (pass == 0)
            printf("  %5d Hz: %lld windows of %d samples, %lld speech; max |p - onnxruntime| %.2e\n", rate,
                   (long long)windows, W, (long long)speech, worst);
        sori_silero_vad_state_reset(s);
    }
    /* misuse: another length, NaN, NULL */
    float p;
    CHECK_STATUS(sori_silero_vad_process(s, x, W - 1, &p, &err), SORI_ERR_INVALID_ARG);
    CHECK(strstr(err.message, "samples") != NULL, "length message: %s", err.message);
    x[3] = NAN;
    CHECK_STATUS(sori_silero_vad_process(s, x, W, &p, &err), SORI_ERR_INVALID_ARG);
    CHECK_STATUS(sori_silero_vad_process(NULL, x, W, &p, &err), SORI_ERR_INVALID_ARG);
    CHECK_STATUS(sori_silero_vad_process(s, x, W, NULL, &err), SORI_ERR_INVALID_ARG);
    sori_silero_vad_state_free(s);
    free(ref);
    free(x);
}

/* The model's bytes with one edit must be refused naming `what`. */
static void check_hostile(const void *data, size_t size, gguf_edit e, sori_status want, const char *what)
{
    void *bad = NULL;
    size_t nb = 0;
    CHECK_STATUS(gguf_edit_apply(data, size, &e, 1, &bad, &nb), SORI_OK);
    sori_silero_vad *m = NULL;
    sori_error err = {0};
    sori_status st = bad ? sori_silero_vad_load_memory(bad, nb, &m, &err) : SORI_ERR_INTERNAL;
    CHECK(st == want && strstr(err.message, what), "%s: status %d, '%s'", e.name, (int)st, err.message);
    sori_silero_vad_free(m);
    free(bad);
}

int main(void)
{
    const char *path = getenv("SORI_SILERO_MODEL");
    char buf[1024];
    if (!path) {
        snprintf(buf, sizeof buf, "%s/silero-vad.gguf", SORI_DATA_DIR);
        path = buf;
    }
    sori_silero_vad *m = NULL;
    sori_error err = {0};
    FILE *f = fopen(path, "rb");
    if (!f)
        SKIP("%s is missing (bash tools/setup.sh fetches silero-vad from PyPI and converts it)", path);
    fseek(f, 0, SEEK_END);
    size_t size = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    void *data = malloc(size);
    size = fread(data, 1, size, f);
    fclose(f);
    CHECK_STATUS(sori_silero_vad_load(path, &m, &err), SORI_OK);
    sori_audio a = {0};
    snprintf(buf, sizeof buf, "%s/samples/ko_16k_statement.wav", SORI_DATA_DIR);
    CHECK_STATUS(sori_audio_read_file(buf, &a, &err), SORI_OK);
    if (m && a.samples) {
        check_rate(m, &a, 16000, 1, "probs_16k.f32");
        check_rate(m, &a, 8000, 2, "probs_8k.f32");
        sori_silero_vad_state *s = NULL;
        CHECK_STATUS(sori_silero_vad_state_create(m, 44100, &s, &err), SORI_ERR_UNSUPPORTED);
        CHECK(s == NULL && strstr(err.message, "44100"), "an unsupported rate: %s", err.message);
        CHECK(sori_silero_vad_window(m, 44100) == 0, "no window at 44.1 kHz");
    }
    check_hostile(data, size, (gguf_edit){.kind = GGUF_EDIT_INT, .name = "sori.silero_vad.r16k.n_fft", .i = 255},
                  SORI_ERR_FORMAT, "n_fft");
    check_hostile(data, size, (gguf_edit){.kind = GGUF_EDIT_INT, .name = "sori.silero_vad.r16k.hop", .i = 0},
                  SORI_ERR_FORMAT, "sori.silero_vad.r16k.hop");
    check_hostile(data, size, (gguf_edit){.kind = GGUF_EDIT_INT, .name = "sori.silero_vad.r8k.window", .i = 1 << 20},
                  SORI_ERR_FORMAT, "sori.silero_vad.r8k.window");
    check_hostile(data, size, (gguf_edit){.kind = GGUF_EDIT_INT, .name = "sori.silero_vad.r16k.window", .i = 4096},
                  SORI_ERR_FORMAT, "encoder frames");
    check_hostile(data, size, (gguf_edit){.kind = GGUF_EDIT_DROP, .name = "r8k.lstm.weight_hh"}, SORI_ERR_FORMAT,
                  "r8k.lstm.weight_hh");
    check_hostile(data, size, (gguf_edit){.kind = GGUF_EDIT_STR, .name = "general.architecture", .s = "llama"},
                  SORI_ERR_UNSUPPORTED, "llama");
    CHECK_STATUS(sori_silero_vad_load(NULL, &m, &err), SORI_ERR_INVALID_ARG);
    sori_silero_vad_free(NULL);
    sori_silero_vad_state_free(NULL);
    sori_silero_vad_free(m);
    sori_audio_free(&a);
    free(data);
    return check_finish("test_silero_vad");
}
