/* Log-mel features against the upstream implementations
 * (tools/gen_feature_fixtures.py): kaldi-native-fbank for Kaldi fbank, NeMo's
 * AudioToMelSpectrogramPreprocessor for NeMo features, each configuration
 * within 1e-3 absolute on every value. Then streaming in random chunk sizes
 * must give exactly the offline frames (normalization NONE), and bad
 * parameters and input are refused. */
#include <math.h>
#include <string.h>

#include "check.h"
#include "dsp/features_internal.h"
#include "kernels/opcheck.h"
#include "kernels/reference.h"
#include "sori/features.h"

#define TOL 1e-3

static float *read_f32(const char *name, int64_t *n)
{
    return read_f32_fixture(n, "%s/features/%s", SORI_FIXTURE_DIR, name);
}

static int window_of(const char *v)
{
    const char *names[] = {"POVEY", "HANN", "HAMMING", "RECTANGULAR", "BLACKMAN"};
    for (int i = 0; i < 5; i++)
        if (strcmp(v, names[i]) == 0)
            return i;
    return -1;
}

/* The FIXED configuration's per-bin mean and std, as tools/gen_feature_fixtures.py's fixed_norm */
static float fixed_mean[512], fixed_std[512];

static int apply(sori_feature_params *p, const char *key, const char *v)
{
    double d = atof(v);
#define F(k) if (strcmp(key, #k) == 0) { p->k = (float)d; return 1; }
#define I(k) if (strcmp(key, #k) == 0) { p->k = (int)d; return 1; }
#define B(k) if (strcmp(key, #k) == 0) { p->k = d != 0; return 1; }
    I(sample_rate_hz) I(n_mels) F(low_freq_hz) F(high_freq_hz) F(preemph) F(frame_length_ms)
    F(frame_shift_ms) B(remove_dc) B(snip_edges) B(round_to_pow2) B(use_energy) B(raw_energy)
    F(energy_floor) B(use_power) B(htk_compat) I(n_fft) I(win_length) I(hop_length) I(pad_to)
#undef F
#undef I
#undef B
    if (strcmp(key, "window") == 0) {
        p->window = (sori_window_type)window_of(v);
        return (int)p->window >= 0;
    }
    if (strcmp(key, "normalize") == 0) {
        p->normalize = strcmp(v, "PER_FEATURE") == 0    ? SORI_NORM_PER_FEATURE
                       : strcmp(v, "ALL_FEATURES") == 0 ? SORI_NORM_ALL_FEATURES
                       : strcmp(v, "FIXED") == 0        ? SORI_NORM_FIXED
                                                        : SORI_NORM_NONE;
        for (int i = 0; i < 512; i++) {
            fixed_mean[i] = (float)(-9.0 + 0.03 * i);
            fixed_std[i] = (float)(2.5 + 0.02 * i);
        }
        p->norm_mean = fixed_mean;
        p->norm_std = fixed_std;
        return 1;
    }
    return 0;
}

/* Streams the signal in random chunks and compares with the offline frames
 * bit for bit. */
static void check_streaming(const sori_features *fx, const float *x, int64_t n, const float *offline,
                            int64_t n_frames, sori_rng *r, const char *name)
{
    sori_feature_stream *s = NULL;
    sori_error err = {0};
    CHECK_STATUS(sori_feature_stream_create(fx, &s, &err), SORI_OK);
    if (!s)
        return;
    const int D = sori_features_dim(fx);
    for (int rep = 0; rep < 3; rep++) {
        float *got = malloc((size_t)(n_frames + 1) * D * sizeof(float));
        int64_t n_got = 0, pos = 0;
        while (pos < n) {
            int64_t chunk = rep == 0 ? 1 + (int64_t)(sori_rng_next(r) % 7) : 1 + (int64_t)(sori_rng_next(r) % 3000);
            if (chunk > n - pos)
                chunk = n - pos;
            CHECK_STATUS(sori_feature_stream_accept(s, x + pos, chunk, &err), SORI_OK);
            pos += chunk;
            int64_t k = 0;
            if (sori_rng_int(r, 0, 2) == 0) { /* read now and then, not always */
                CHECK_STATUS(sori_feature_stream_read(s, got + n_got * D, n_frames + 1 - n_got, &k, &err), SORI_OK);
                n_got += k;
            }
        }
        CHECK_STATUS(sori_feature_stream_finish(s, &err), SORI_OK);
        int64_t k = 0;
        CHECK_STATUS(sori_feature_stream_read(s, got + n_got * D, n_frames + 1 - n_got, &k, &err), SORI_OK);
        n_got += k;
        CHECK(n_got == n_frames && memcmp(got, offline, (size_t)n_frames * D * sizeof(float)) == 0,
              "%s rep %d: streaming gave %lld frames vs %lld offline, identical %d", name, rep,
              (long long)n_got, (long long)n_frames,
              n_got == n_frames && !memcmp(got, offline, (size_t)n_frames * D * sizeof(float)));
        CHECK_STATUS(sori_feature_stream_accept(s, x, 10, &err), SORI_ERR_STATE);
        sori_feature_stream_reset(s);
        free(got);
    }
    sori_feature_stream_free(s);
}

static void test_fixtures(sori_rng *r)
{
    int64_t n = 0;
    float *x = read_f32("signal.f32", &n);
    char path[512];
    snprintf(path, sizeof path, "%s/features/manifest.tsv", SORI_FIXTURE_DIR);
    FILE *m = fopen(path, "r");
    if (!x || !m)
        SKIP("feature fixtures missing (tools/gen_feature_fixtures.py)");
    char line[1024];
    int n_cases = 0, n_nemo = 0;
    while (fgets(line, sizeof line, m)) {
        char name[128], kind[16], rest[800] = "";
        long long frames, dim;
        if (sscanf(line, "%127s\t%15s\t%lld\t%lld\t%799[^\n]", name, kind, &frames, &dim, rest) < 4)
            continue;
        sori_feature_params p = sori_feature_default_params(strcmp(kind, "NEMO") == 0 ? SORI_FEAT_NEMO : SORI_FEAT_KALDI);
        n_nemo += p.kind == SORI_FEAT_NEMO;
        for (char *tok = strtok(rest, " "); tok; tok = strtok(NULL, " ")) {
            char *eq = strchr(tok, '=');
            if (!eq)
                continue;
            *eq = '\0';
            CHECK(apply(&p, tok, eq + 1), "%s: unknown parameter %s", name, tok);
        }
        sori_features *fx = NULL;
        sori_error err = {0};
        CHECK_STATUS(sori_features_create(&p, &fx, &err), SORI_OK);
        if (!fx) {
            fprintf(stderr, "%s: %s\n", name, err.message);
            continue;
        }
        int64_t ref_n = 0;
        char fname[160];
        snprintf(fname, sizeof fname, "%s.f32", name);
        float *ref = read_f32(fname, &ref_n);
        CHECK(ref && ref_n == frames * dim, "%s: reference size", name);
        CHECK(sori_features_dim(fx) == dim, "%s: dim %d vs %lld", name, sori_features_dim(fx), dim);
        int64_t want = sori_features_num_frames(fx, n);
        CHECK(want == frames, "%s: %lld frames vs %lld", name, (long long)want, frames);
        float *out = malloc((size_t)(want + 1) * (dim + 1) * sizeof(float));
        int64_t got = 0;
        CHECK_STATUS(sori_features_compute(fx, x, n, out, want, &got, &err), SORI_OK);
        if (ref && got == frames && sori_features_dim(fx) == dim) {
            double mx = 0;
            int64_t at = 0;
            for (int64_t i = 0; i < frames * dim; i++) {
                double d = fabs((double)out[i] - ref[i]);
                if (!(d <= mx)) {
                    mx = d;
                    at = i;
                }
            }
            CHECK(mx <= TOL, "%s: max abs error %.3g at frame %lld bin %lld (%g vs %g)", name, mx,
                  (long long)(at / dim), (long long)(at % dim), out[at], ref[at]);
            printf("  %-24s %4lld x %-3lld max abs error %.2e\n", name, frames, dim, mx);
            n_cases++;
        }
        if ((p.normalize == SORI_NORM_NONE || p.normalize == SORI_NORM_FIXED) && got > 0) {
            int64_t valid = got;
            if (p.kind == SORI_FEAT_NEMO)
                valid = n / p.hop_length; /* streams give the valid frames, no pad_to */
            check_streaming(fx, x, n, out, valid, r, name);
        }
        free(out);
        free(ref);
        sori_features_free(fx);
    }
    fclose(m);
    free(x);
    CHECK(n_cases >= 5, "only %d configurations compared", n_cases);
    if (n_nemo == 0)
        printf("note: no NeMo reference in the fixtures (generated with --kaldi-only)\n");
}

/* The LOGMEL op (what the GPU computes) must mean the same as the dsp
 * extractor: its double-precision reference, fed frames cut as the
 * extractor cuts them, gives the extractor's features. This ties the GPU
 * path to the parity-tested CPU path. */
static void test_logmel_semantics(void)
{
    int64_t n = 0;
    float *x = read_f32("signal.f32", &n);
    if (!x)
        return;
    for (int kind = 0; kind < 2; kind++) {
        sori_feature_params p = sori_feature_default_params(kind ? SORI_FEAT_NEMO : SORI_FEAT_KALDI);
        p.n_mels = 40;
        if (kind)
            p.normalize = SORI_NORM_NONE;
        else
            p.use_energy = true;
        sori_features *fx = NULL;
        sori_error err = {0};
        CHECK_STATUS(sori_features_create(&p, &fx, &err), SORI_OK);
        if (!fx)
            continue;
        int L = 0, bins = 0, D = sori_features_dim(fx);
        const float *win = sori_features_window(fx, &L), *mel = sori_features_mel(fx, &bins);
        int64_t frames = kind ? n / p.hop_length : 1 + (n - L) / 160;
        float *cut = malloc((size_t)(frames * L) * 4), *ref = malloc((size_t)(frames * D) * 4);
        float *cpu = malloc((size_t)((frames + 1) * D) * 4);
        /* Kaldi: snip_edges frames of scaled samples; NeMo: the pre-emphasized
         * signal, centred frames, zeros outside */
        for (int64_t f = 0; f < frames; f++)
            for (int i = 0; i < L; i++) {
                int64_t t = kind ? f * p.hop_length - L / 2 + i : f * 160 + i;
                float v = 0.0f;
                if (t >= 0 && t < n)
                    v = kind ? (t ? x[t] - 0.97f * x[t - 1] : x[t]) : x[t] * 32768.0f;
                cut[f * L + i] = v;
            }
        sori_op_desc op = {.op = SORI_OP_LOGMEL};
        op.u.logmel = (sori_logmel_desc){.n_frames = frames, .frame_len = L,
                                         .fft_size = sori_features_fft_size(fx), .mel_bins = bins,
                                         .n_mels = p.n_mels, .kaldi = !kind, .remove_dc = !kind,
                                         .preemph = kind ? 0.0f : 0.97f, .mag_power = 2.0f,
                                         .log_floor = kind ? p.log_guard : 1.1920929e-07f,
                                         .energy_col = kind ? -1 : 0, .frames = cut,
                                         .window = win, .mel = mel, .out = ref};
        CHECK_STATUS(sori_ref_run(&op, NULL, &err), SORI_OK);
        int64_t got = 0;
        CHECK_STATUS(sori_features_compute(fx, x, n, cpu, frames + 1, &got, &err), SORI_OK);
        double mx = 0;
        for (int64_t i = 0; i < frames * D; i++)
            if (fabs(ref[i] - cpu[i]) > mx)
                mx = fabs(ref[i] - cpu[i]);
        CHECK(mx <= TOL, "%s: LOGMEL reference vs extractor: max abs %.3g", kind ? "nemo" : "kaldi", mx);
        printf("  logmel op reference vs %s extractor: max abs error %.2e\n", kind ? "NeMo" : "Kaldi", mx);
        free(cut);
        free(ref);
        free(cpu);
        sori_features_free(fx);
    }
    free(x);
}

static void test_misuse(void)
{
    sori_features *fx = NULL;
    sori_error err = {0};
    sori_feature_params p = sori_feature_default_params(SORI_FEAT_KALDI);
    CHECK_STATUS(sori_features_create(NULL, &fx, &err), SORI_ERR_INVALID_ARG);
    p.n_mels = 0;
    CHECK_STATUS(sori_features_create(&p, &fx, &err), SORI_ERR_INVALID_ARG);
    CHECK(strstr(err.message, "n_mels") != NULL, "names n_mels: %s", err.message);
    p = sori_feature_default_params(SORI_FEAT_KALDI);
    p.high_freq_hz = 9000.0f;
    CHECK_STATUS(sori_features_create(&p, &fx, &err), SORI_ERR_INVALID_ARG);
    p = sori_feature_default_params(SORI_FEAT_KALDI);
    p.normalize = SORI_NORM_PER_FEATURE;
    CHECK_STATUS(sori_features_create(&p, &fx, &err), SORI_ERR_INVALID_ARG);
    p = sori_feature_default_params(SORI_FEAT_NEMO);
    p.n_fft = 511;
    CHECK_STATUS(sori_features_create(&p, &fx, &err), SORI_ERR_INVALID_ARG);
    p = sori_feature_default_params(SORI_FEAT_NEMO);
    p.win_length = 600;
    CHECK_STATUS(sori_features_create(&p, &fx, &err), SORI_ERR_INVALID_ARG);
    /* fixed normalization: both arrays, finite, std > 0, NeMo only */
    float mu[64] = {0}, sd[64];
    for (int i = 0; i < 64; i++)
        sd[i] = 1.0f;
    p = sori_feature_default_params(SORI_FEAT_NEMO);
    p.normalize = SORI_NORM_FIXED;
    p.norm_mean = mu;
    CHECK_STATUS(sori_features_create(&p, &fx, &err), SORI_ERR_INVALID_ARG);
    CHECK(strstr(err.message, "norm_std") != NULL, "names norm_std: %s", err.message);
    p.norm_std = sd;
    sd[17] = 0.0f;
    CHECK_STATUS(sori_features_create(&p, &fx, &err), SORI_ERR_INVALID_ARG);
    CHECK(strstr(err.message, "bin 17") != NULL, "names the bin: %s", err.message);
    sd[17] = 1.0f;
    mu[3] = NAN;
    CHECK_STATUS(sori_features_create(&p, &fx, &err), SORI_ERR_INVALID_ARG);
    mu[3] = 0.0f;
    CHECK_STATUS(sori_features_create(&p, &fx, &err), SORI_OK);
    sd[0] = -1.0f; /* copied at creation: the caller's arrays may change */
    CHECK(fx && sori_features_params(fx).norm_std[0] == 1.0f, "fixed normalization copied");
    sori_features_free(fx);
    fx = NULL;
    p = sori_feature_default_params(SORI_FEAT_NEMO);
    CHECK_STATUS(sori_features_create(&p, &fx, &err), SORI_OK);
    sori_feature_stream *s = NULL;
    CHECK_STATUS(sori_feature_stream_create(fx, &s, &err), SORI_ERR_UNSUPPORTED);
    float x[1000] = {0}, out[100 * 64];
    int64_t got = -1;
    CHECK(sori_features_compute(fx, x, 0, out, 0, &got, &err) == SORI_OK && got == 0, "zero samples");
    CHECK_STATUS(sori_features_compute(fx, x, 1000, out, 1, &got, &err), SORI_ERR_INVALID_ARG);
    x[10] = NAN;
    CHECK_STATUS(sori_features_compute(fx, x, 1000, out, 100, &got, &err), SORI_ERR_INVALID_ARG);
    sori_features_free(fx);
    sori_features_free(NULL);
    sori_feature_stream_free(NULL);
}

int main(void)
{
    uint64_t seed = test_seed("test_features");
    sori_rng r;
    sori_rng_seed(&r, seed);
    test_misuse();
    test_fixtures(&r);
    test_logmel_semantics();
    return check_finish("test_features");
}
