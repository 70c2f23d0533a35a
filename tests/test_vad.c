/* VAD and endpointing on synthesized clips with known speech/silence
 * boundaries: voiced-speech-like bursts (a 140 Hz harmonic complex with a
 * syllable-rate envelope) over white noise, a short click that must not
 * count as speech, at two noise levels and two sample rates; decisions must
 * follow the boundaries within the onset delay and the hangover, streaming
 * in any chunks must give the same decisions, and the endpoint rules must
 * fire at their times. */
#include <math.h>
#include <string.h>

#include "check.h"
#include "kernels/opcheck.h"
#include "sori/vad.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

typedef struct {
    double start, end;
} seg;

static const seg SPEECH[] = {{1.0, 2.5}, {3.0, 3.6}, {6.0, 8.2}};
#define N_SPEECH 3
#define CLICK_AT 5.0

static float *make_clip(int rate, double seconds, double noise_dbfs, sori_rng *r, int64_t *n_out)
{
    int64_t n = (int64_t)(rate * seconds);
    float *x = malloc((size_t)n * sizeof(float));
    double noise_amp = pow(10.0, noise_dbfs / 20.0) * sqrt(3.0); /* uniform noise of that rms */
    for (int64_t i = 0; i < n; i++) {
        double t = (double)i / rate, v = noise_amp * sori_rng_uniform(r, -1.0f, 1.0f);
        for (int s = 0; s < N_SPEECH; s++)
            if (t >= SPEECH[s].start && t < SPEECH[s].end) {
                double env = 0.65 + 0.35 * sin(2 * M_PI * 4.0 * (t - SPEECH[s].start));
                double h = 0;
                for (int k = 1; k <= 10 && 140.0 * k < rate / 2.0; k++)
                    h += sin(2 * M_PI * 140.0 * k * t) / k;
                v += 0.08 * env * h;
            }
        if (t >= CLICK_AT && t < CLICK_AT + 0.02)
            v += 0.3 * sin(2 * M_PI * 1000 * t);
        x[i] = (float)v;
    }
    *n_out = n;
    return x;
}

static int in_speech(double t, double before, double after)
{
    for (int s = 0; s < N_SPEECH; s++)
        if (t >= SPEECH[s].start + before && t < SPEECH[s].end + after)
            return 1;
    return 0;
}

static void check_clip(int rate, double noise_dbfs, sori_rng *r)
{
    sori_vad_params p = sori_vad_default_params();
    p.sample_rate_hz = rate;
    sori_vad *v = NULL;
    sori_error err = {0};
    CHECK_STATUS(sori_vad_create(&p, &v, &err), SORI_OK);
    if (!v)
        return;
    int64_t n = 0;
    float *x = make_clip(rate, 10.0, noise_dbfs, r, &n);
    int fs = sori_vad_frame_samples(v);
    int64_t n_frames = n / fs, got = 0;
    uint8_t *dec = malloc((size_t)n_frames + 1);
    CHECK_STATUS(sori_vad_accept(v, x, n, dec, n_frames + 1, &got, &err), SORI_OK);
    CHECK(got == n_frames, "%lld decisions for %lld frames", (long long)got, (long long)n_frames);
    /* Frames surely speech: from start + onset (+ a frame) to the end; surely
     * not: before start, and from end + hangover (+ 2 frames) on. */
    const double fd = p.frame_ms / 1000.0, onset = p.min_speech_ms / 1000.0 + 2 * fd,
                 hang = p.hangover_ms / 1000.0 + 2 * fd;
    int wrong_speech = 0, wrong_silence = 0;
    for (int64_t i = 0; i < got; i++) {
        double t = (i + 0.5) * fd;
        if (in_speech(t, onset, 0.0) && !dec[i])
            wrong_silence++;
        if (!in_speech(t, 0.0, hang) && dec[i]) {
            if (wrong_speech < 3)
                fprintf(stderr, "  speech at %.2f s\n", t);
            wrong_speech++;
        }
    }
    CHECK(wrong_silence == 0 && wrong_speech == 0,
          "%d Hz, noise %.0f dBFS: %d speech frames missed, %d silence frames called speech", rate,
          noise_dbfs, wrong_silence, wrong_speech);
    /* streaming in random chunks: the same decisions */
    sori_vad_reset(v);
    uint8_t *dec2 = malloc((size_t)n_frames + 1);
    int64_t pos = 0, n2 = 0;
    while (pos < n) {
        int64_t c = 1 + (int64_t)(sori_rng_next(r) % 900);
        if (c > n - pos)
            c = n - pos;
        int64_t k = 0;
        CHECK_STATUS(sori_vad_accept(v, x + pos, c, dec2 + n2, n_frames + 1 - n2, &k, &err), SORI_OK);
        n2 += k;
        pos += c;
    }
    CHECK(n2 == got && memcmp(dec, dec2, (size_t)got) == 0, "streaming decisions differ");
    /* the endpoint detector over these decisions: the utterance ends 1.2 s
     * (rule 2) after the last segment's speech, give or take the hangover */
    sori_endpoint_params ep = sori_endpoint_default_params();
    ep.rule3_max_utterance_ms = 0; /* off: the clip is one long utterance */
    sori_endpoint st = sori_endpoint_init();
    double fired_at = -1;
    int rule = 0;
    for (int64_t i = 0; i < got && fired_at < 0; i++) {
        sori_endpoint_rule rr = sori_endpoint_step(&ep, &st, dec[i], p.frame_ms);
        if (rr != SORI_ENDPOINT_NONE) {
            fired_at = (i + 1) * fd;
            rule = rr;
        }
    }
    /* the gaps (0.5 s, 2.4 s) are shorter than the 1.2 s rule-2 silence
     * except 3.6 -> 6.0: an endpoint there, after 3.6 + hangover + 1.2 */
    double want = SPEECH[1].end + 1.2;
    CHECK(rule == SORI_ENDPOINT_RULE2 && fired_at >= want && fired_at <= want + hang,
          "endpoint: rule %d at %.2f s, expected rule 2 in [%.2f, %.2f]", rule, fired_at, want, want + hang);
    free(dec);
    free(dec2);
    free(x);
    sori_vad_free(v);
}

static void test_endpoint_rules(void)
{
    sori_endpoint_params p = sori_endpoint_default_params();
    sori_endpoint s = sori_endpoint_init();
    int fired = 0, at = -1;
    for (int i = 1; i <= 300 && !fired; i++)
        if ((fired = sori_endpoint_step(&p, &s, false, 10)))
            at = i * 10;
    CHECK(fired == SORI_ENDPOINT_RULE1 && at == 2400, "rule 1: %d at %d ms", fired, at);
    CHECK(s.utterance_ms == 0 && !s.seen_speech, "state reset after an endpoint");
    fired = 0;
    for (int i = 1; i <= 400 && !fired; i++)
        if ((fired = sori_endpoint_step(&p, &s, i <= 100, 10)))
            at = i * 10;
    CHECK(fired == SORI_ENDPOINT_RULE2 && at == 1000 + 1200, "rule 2: %d at %d ms", fired, at);
    fired = 0;
    for (int i = 1; i <= 3000 && !fired; i++)
        if ((fired = sori_endpoint_step(&p, &s, true, 10)))
            at = i * 10;
    CHECK(fired == SORI_ENDPOINT_RULE3 && at == 20000, "rule 3: %d at %d ms", fired, at);
    /* a pause shorter than rule 2's silence does not end the utterance */
    s = sori_endpoint_init();
    fired = 0;
    for (int i = 1; i <= 250 && !fired; i++)
        fired = sori_endpoint_step(&p, &s, i <= 50 || i > 150, 10);
    CHECK(fired == 0, "a 1 s pause ended the utterance (rule %d)", fired);
    CHECK(sori_endpoint_step(NULL, &s, true, 10) == SORI_ENDPOINT_NONE, "NULL params");
}

static void test_misuse(void)
{
    sori_vad_params p = sori_vad_default_params();
    sori_vad *v = NULL;
    sori_error err = {0};
    p.frame_ms = 0;
    CHECK_STATUS(sori_vad_create(&p, &v, &err), SORI_ERR_INVALID_ARG);
    p = sori_vad_default_params();
    p.hangover_ms = -1;
    CHECK_STATUS(sori_vad_create(&p, &v, &err), SORI_ERR_INVALID_ARG);
    p = sori_vad_default_params();
    CHECK_STATUS(sori_vad_create(&p, &v, &err), SORI_OK);
    float x[480] = {0};
    uint8_t d[8];
    int64_t n;
    CHECK_STATUS(sori_vad_accept(v, x, 480, d, 1, &n, &err), SORI_ERR_INVALID_ARG);
    x[3] = NAN;
    CHECK_STATUS(sori_vad_accept(v, x, 480, d, 8, &n, &err), SORI_ERR_INVALID_ARG);
    sori_vad_free(v);
    sori_vad_free(NULL);
}

int main(void)
{
    uint64_t seed = test_seed("test_vad");
    sori_rng r;
    sori_rng_seed(&r, seed);
    test_misuse();
    test_endpoint_rules();
    check_clip(16000, -50.0, &r);
    check_clip(16000, -40.0, &r); /* about 13 dB SNR at the envelope's troughs */
    check_clip(8000, -45.0, &r);
    return check_finish("test_vad");
}
