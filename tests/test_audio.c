/* Audio I/O: every encoding written and read back (from a file and from
 * memory), MP3 and Ogg Vorbis decoding, headerless PCM in every format,
 * channel selection, resampling (accuracy, and chunked == one-shot), and
 * bad input: missing, empty, non-audio, truncated, corrupt, absurd headers,
 * NaN samples, zero-length audio — each a clear error, never a crash.
 * The incremental reader equals a whole read (channels, mix, resampling). */
#include <math.h>
#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif
#include <sndfile.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "kernels/opcheck.h"
#include "sori/audio.h"

static char g_dir[] = "/tmp/sori_test_audio_XXXXXX";

static const char *tmp_path(const char *name)
{
    static char buf[4][256];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", g_dir, name);
    return buf[k];
}

/* stereo: 440 Hz left, 1 kHz right, amplitude 0.5 */
static sori_audio make_signal(int rate, double seconds, int channels)
{
    sori_audio a = {0};
    a.n_frames = (int64_t)(rate * seconds);
    a.n_channels = channels;
    a.sample_rate_hz = rate;
    a.samples = malloc((size_t)(a.n_frames * channels) * sizeof(float));
    for (int64_t t = 0; t < a.n_frames; t++)
        for (int c = 0; c < channels; c++)
            a.samples[t * channels + c] = 0.5f * (float)sin(2 * M_PI * (c ? 1000.0 : 440.0) * t / rate);
    return a;
}

static double rms(const float *x, int64_t n, int stride)
{
    double s = 0;
    for (int64_t i = 0; i < n; i++)
        s += (double)x[i * stride] * x[i * stride];
    return sqrt(s / (n ? n : 1));
}

/* SNR of b against a over n samples, in dB */
static double snr_db(const float *a, const float *b, int64_t n)
{
    double sig = 0, noise = 0;
    for (int64_t i = 0; i < n; i++) {
        sig += (double)a[i] * a[i];
        noise += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
    }
    return 10 * log10(sig / (noise > 1e-30 ? noise : 1e-30));
}

static void *slurp(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    void *p = malloc((size_t)n + 1);
    *size = fread(p, 1, (size_t)n, f);
    fclose(f);
    return p;
}

static void spit(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    fwrite(data, 1, n, f);
    fclose(f);
}

static void test_round_trips(void)
{
    struct {
        sori_audio_encoding enc;
        const char *name;
        int rate;
        double min_snr; /* dB, per channel */
        int exact_len;
    } cases[] = {
        {SORI_ENC_WAV_PCM16, "pcm16.wav", 16000, 85, 1},
        {SORI_ENC_WAV_FLOAT, "float.wav", 44100, 200, 1},
        {SORI_ENC_WAV_MULAW, "mulaw.wav", 8000, 30, 1},
        {SORI_ENC_WAV_ALAW, "alaw.wav", 8000, 30, 1},
        {SORI_ENC_FLAC, "a.flac", 22050, 85, 1},
        {SORI_ENC_OGG_OPUS, "a.opus", 48000, 0, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sori_audio a = make_signal(cases[i].rate, 1.0, 2);
        sori_error err = {0};
        const char *path = tmp_path(cases[i].name);
        CHECK_STATUS(sori_audio_write_file(path, &a, cases[i].enc, &err), SORI_OK);
        for (int from_memory = 0; from_memory < 2; from_memory++) {
            sori_audio b = {0};
            sori_status st;
            if (from_memory) {
                size_t n = 0;
                void *bytes = slurp(path, &n);
                st = sori_audio_read_memory(bytes, n, &b, &err);
                free(bytes);
            } else {
                st = sori_audio_read_file(path, &b, &err);
            }
            CHECK(st == SORI_OK, "%s (%s): %s", cases[i].name, from_memory ? "memory" : "file", err.message);
            if (st != SORI_OK)
                continue;
            CHECK(b.n_channels == 2 && b.sample_rate_hz == cases[i].rate, "%s: %d ch %d Hz", cases[i].name,
                  b.n_channels, b.sample_rate_hz);
            if (cases[i].exact_len) {
                CHECK(b.n_frames == a.n_frames, "%s: %lld frames", cases[i].name, (long long)b.n_frames);
                for (int c = 0; c < 2 && b.n_frames == a.n_frames; c++) {
                    /* de-interleave one channel to measure */
                    float *x = malloc((size_t)a.n_frames * 4), *y = malloc((size_t)a.n_frames * 4);
                    for (int64_t t = 0; t < a.n_frames; t++) {
                        x[t] = a.samples[2 * t + c];
                        y[t] = b.samples[2 * t + c];
                    }
                    double snr = snr_db(x, y, a.n_frames);
                    CHECK(snr >= cases[i].min_snr, "%s ch %d: SNR %.1f dB < %.0f", cases[i].name, c, snr,
                          cases[i].min_snr);
                    free(x);
                    free(y);
                }
            } else {
                /* lossy with a codec delay: length within 1%, level within 1 dB */
                double dl = fabs((double)(b.n_frames - a.n_frames)) / (double)a.n_frames;
                CHECK(dl < 0.01, "%s: %lld frames vs %lld", cases[i].name, (long long)b.n_frames,
                      (long long)a.n_frames);
                for (int c = 0; c < 2; c++) {
                    double ra = rms(a.samples + c, a.n_frames, 2), rb = rms(b.samples + c, b.n_frames, 2);
                    CHECK(fabs(20 * log10(rb / ra)) < 1.0, "%s ch %d: level %.2f vs %.2f", cases[i].name, c, rb, ra);
                }
            }
            sori_audio_free(&b);
        }
        sori_audio_free(&a);
    }
}

/* MP3, Ogg Vorbis, WAV 8/24/32-bit and AIFF: written with libsndfile
 * directly (when it can encode them), then decoded through sori. */
static void test_other_decoders(void)
{
    struct {
        int format;
        const char *name;
    } fmts[] = {
        {SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III, "a.mp3"},
        {SF_FORMAT_OGG | SF_FORMAT_VORBIS, "a.ogg"},
        {SF_FORMAT_WAV | SF_FORMAT_PCM_U8, "u8.wav"},
        {SF_FORMAT_WAV | SF_FORMAT_PCM_24, "s24.wav"},
        {SF_FORMAT_WAV | SF_FORMAT_PCM_32, "s32.wav"},
        {SF_FORMAT_AIFF | SF_FORMAT_PCM_16, "a.aiff"},
    };
    for (size_t i = 0; i < sizeof fmts / sizeof fmts[0]; i++) {
        sori_audio a = make_signal(16000, 1.0, 1);
        SF_INFO info = {.samplerate = 16000, .channels = 1, .format = fmts[i].format};
        const char *path = tmp_path(fmts[i].name);
        SNDFILE *sf = sf_open(path, SFM_WRITE, &info);
        if (!sf) {
            printf("note: this libsndfile cannot write %s (%s): decoding not tested\n", fmts[i].name,
                   sf_strerror(NULL));
            sori_audio_free(&a);
            continue;
        }
        sf_writef_float(sf, a.samples, a.n_frames);
        sf_close(sf);
        sori_audio b = {0};
        sori_error err = {0};
        CHECK_STATUS(sori_audio_read_file(path, &b, &err), SORI_OK);
        if (b.samples) {
            double dl = fabs((double)(b.n_frames - a.n_frames)) / (double)a.n_frames;
            CHECK(dl < 0.1 && b.sample_rate_hz == 16000, "%s: %lld frames at %d Hz", fmts[i].name,
                  (long long)b.n_frames, b.sample_rate_hz);
            double ra = rms(a.samples, a.n_frames, 1), rb = rms(b.samples, b.n_frames, 1);
            CHECK(fabs(20 * log10(rb / ra)) < 1.5, "%s: level %.3f vs %.3f", fmts[i].name, rb, ra);
        }
        sori_audio_free(&b);
        sori_audio_free(&a);
    }
}

static void test_raw(void)
{
    const int16_t v16[4] = {0, 16384, -32768, 32767};
    unsigned char buf[64];
    sori_audio a = {0};
    sori_error err = {0};
    for (int i = 0; i < 4; i++) {
        buf[2 * i] = (unsigned char)(v16[i] & 0xff);
        buf[2 * i + 1] = (unsigned char)((uint16_t)v16[i] >> 8);
    }
    CHECK_STATUS(sori_audio_read_raw(buf, 8, SORI_PCM_S16LE, 2, 8000, &a, &err), SORI_OK);
    CHECK(a.n_frames == 2 && a.samples[1] == 0.5f && a.samples[2] == -1.0f, "s16le");
    sori_audio_free(&a);
    const unsigned char s24[6] = {0x00, 0x00, 0x40, 0xff, 0xff, 0xff}; /* 0.5, -1/2^23 */
    CHECK_STATUS(sori_audio_read_raw(s24, 6, SORI_PCM_S24LE, 1, 16000, &a, &err), SORI_OK);
    CHECK(a.n_frames == 2 && a.samples[0] == 0.5f && a.samples[1] == -1.0f / 8388608, "s24le");
    sori_audio_free(&a);
    const unsigned char s32[4] = {0x00, 0x00, 0x00, 0xc0}; /* -0.5 */
    CHECK_STATUS(sori_audio_read_raw(s32, 4, SORI_PCM_S32LE, 1, 16000, &a, &err), SORI_OK);
    CHECK(a.samples && a.samples[0] == -0.5f, "s32le");
    sori_audio_free(&a);
    float f[2] = {0.25f, -0.75f};
    CHECK_STATUS(sori_audio_read_raw(f, 8, SORI_PCM_F32LE, 1, 16000, &a, &err), SORI_OK);
    CHECK(a.samples && a.samples[1] == -0.75f, "f32le");
    sori_audio_free(&a);
    const unsigned char u8[2] = {128, 0};
    CHECK_STATUS(sori_audio_read_raw(u8, 2, SORI_PCM_U8, 1, 8000, &a, &err), SORI_OK);
    CHECK(a.samples && a.samples[0] == 0.0f && a.samples[1] == -1.0f, "u8");
    sori_audio_free(&a);
    unsigned char law[256];
    for (int i = 0; i < 256; i++)
        law[i] = (unsigned char)i;
    CHECK_STATUS(sori_audio_read_raw(law, 256, SORI_PCM_MULAW, 1, 8000, &a, &err), SORI_OK);
    CHECK(a.samples && a.samples[5] == sori_g711_ulaw_decode(5) / 32768.0f, "mulaw");
    sori_audio_free(&a);
    CHECK_STATUS(sori_audio_read_raw(law, 256, SORI_PCM_ALAW, 2, 8000, &a, &err), SORI_OK);
    CHECK(a.samples && a.n_frames == 128 && a.samples[7] == sori_g711_alaw_decode(7) / 32768.0f, "alaw");
    sori_audio_free(&a);
    /* misuse and bad input */
    CHECK_STATUS(sori_audio_read_raw(buf, 7, SORI_PCM_S16LE, 1, 8000, &a, &err), SORI_ERR_FORMAT);
    CHECK_STATUS(sori_audio_read_raw(buf, 8, SORI_PCM_S16LE, 0, 8000, &a, &err), SORI_ERR_INVALID_ARG);
    CHECK_STATUS(sori_audio_read_raw(buf, 8, SORI_PCM_S16LE, 1, 10, &a, &err), SORI_ERR_INVALID_ARG);
    CHECK_STATUS(sori_audio_read_raw(buf, 8, (sori_pcm_format)99, 1, 8000, &a, &err), SORI_ERR_INVALID_ARG);
    CHECK_STATUS(sori_audio_read_raw(buf, 0, SORI_PCM_S16LE, 1, 8000, &a, &err), SORI_ERR_FORMAT);
    float nan_in[2] = {0.0f, NAN};
    CHECK_STATUS(sori_audio_read_raw(nan_in, 8, SORI_PCM_F32LE, 1, 8000, &a, &err), SORI_ERR_FORMAT);
    CHECK(strstr(err.message, "NaN") != NULL, "NaN named: %s", err.message);
    CHECK(a.samples == NULL, "nothing left allocated on failure");
}

static void test_channels(void)
{
    sori_audio a = make_signal(8000, 0.1, 2), m = {0}, l = {0}, r = {0};
    sori_error err = {0};
    CHECK_STATUS(sori_audio_select_channel(&a, SORI_CHANNEL_MIX, &m, &err), SORI_OK);
    CHECK_STATUS(sori_audio_select_channel(&a, 0, &l, &err), SORI_OK);
    CHECK_STATUS(sori_audio_select_channel(&a, 1, &r, &err), SORI_OK);
    int ok = m.n_channels == 1 && m.n_frames == a.n_frames;
    for (int64_t t = 0; ok && t < a.n_frames; t++)
        ok = l.samples[t] == a.samples[2 * t] && r.samples[t] == a.samples[2 * t + 1] &&
             fabsf(m.samples[t] - 0.5f * (l.samples[t] + r.samples[t])) < 1e-7f;
    CHECK(ok, "channel selection and mix-down");
    CHECK_STATUS(sori_audio_select_channel(&a, 2, &m, &err), SORI_ERR_INVALID_ARG);
    sori_audio_free(&a);
    sori_audio_free(&m);
    sori_audio_free(&l);
    sori_audio_free(&r);
    sori_audio_free(NULL);
}

static void test_resample(sori_rng *rng)
{
    const int rates[][2] = {{16000, 8000}, {8000, 16000}, {44100, 16000}, {48000, 16000},
                            {11025, 16000}, {22050, 16000}, {24000, 16000}, {32000, 16000}};
    for (size_t i = 0; i < sizeof rates / sizeof rates[0]; i++) {
        int in_rate = rates[i][0], out_rate = rates[i][1];
        sori_audio a = make_signal(in_rate, 1.0, 1), b = {0};
        sori_error err = {0};
        CHECK_STATUS(sori_audio_resample(&a, out_rate, &b, &err), SORI_OK);
        int64_t want = (int64_t)llround((double)a.n_frames * out_rate / in_rate);
        CHECK(llabs(b.n_frames - want) <= 1, "%d->%d: %lld frames, want %lld", in_rate, out_rate,
              (long long)b.n_frames, (long long)want);
        /* the 440 Hz tone at the new rate, away from the edges */
        int64_t n = b.n_frames;
        float *ref = malloc((size_t)n * 4);
        for (int64_t t = 0; t < n; t++)
            ref[t] = 0.5f * (float)sin(2 * M_PI * 440.0 * t / out_rate);
        double snr = snr_db(ref + n / 10, b.samples + n / 10, n * 8 / 10);
        CHECK(snr > 60, "%d->%d: SNR %.1f dB", in_rate, out_rate, snr);
        free(ref);

        /* streaming in random chunks gives the very same samples */
        sori_resampler *r = NULL;
        CHECK_STATUS(sori_resampler_create(in_rate, out_rate, 1, &r, &err), SORI_OK);
        float *out = malloc((size_t)(b.n_frames + 8192) * 4);
        size_t got = 0, pos = 0;
        while (r && pos < (size_t)a.n_frames) {
            size_t chunk = (size_t)sori_rng_int(rng, 1, 700);
            if (chunk > (size_t)a.n_frames - pos)
                chunk = (size_t)a.n_frames - pos;
            size_t n_out = 0;
            CHECK_STATUS(sori_resampler_process(r, a.samples + pos, chunk, out + got,
                                                sori_resampler_max_out(r, chunk), &n_out, &err), SORI_OK);
            got += n_out;
            pos += chunk;
        }
        for (size_t n_out = 1; r && n_out;) {
            CHECK_STATUS(sori_resampler_process(r, NULL, 0, out + got, 4096, &n_out, &err), SORI_OK);
            got += n_out;
        }
        CHECK(r == NULL || sori_resampler_process(r, a.samples, 1, out, 4096, &pos, &err) == SORI_ERR_STATE,
              "input after the end is refused");
        CHECK((int64_t)got == b.n_frames && memcmp(out, b.samples, got * 4) == 0,
              "%d->%d: chunked %zu frames vs one-shot %lld, identical: %d", in_rate, out_rate, got,
              (long long)b.n_frames, (int64_t)got == b.n_frames && memcmp(out, b.samples, got * 4) == 0);
        free(out);
        sori_resampler_free(r);
        sori_audio_free(&a);
        sori_audio_free(&b);
    }
    sori_resampler *r = NULL;
    sori_error err = {0};
    CHECK_STATUS(sori_resampler_create(0, 16000, 1, &r, &err), SORI_ERR_INVALID_ARG);
    CHECK_STATUS(sori_resampler_create(16000, 8000, 0, &r, &err), SORI_ERR_INVALID_ARG);
    sori_resampler_free(NULL);
}

static void expect_error(const char *path, sori_status want, const char *needle)
{
    sori_audio a = {0};
    sori_error err = {0};
    sori_status st = sori_audio_read_file(path, &a, &err);
    CHECK(st == want && a.samples == NULL, "%s: status %d (%s), expected %d", path, st, err.message, want);
    CHECK(strstr(err.message, path) != NULL, "message names the file: %s", err.message);
    if (needle)
        CHECK(strstr(err.message, needle) != NULL, "message says '%s': %s", needle, err.message);
    sori_audio_free(&a);
}

static void test_bad_input(sori_rng *rng)
{
    expect_error(tmp_path("missing.wav"), SORI_ERR_IO, "cannot open");
    expect_error(g_dir, SORI_ERR_IO, "not a regular file");
    spit(tmp_path("empty.wav"), "", 0);
    expect_error(tmp_path("empty.wav"), SORI_ERR_FORMAT, "empty");
    spit(tmp_path("text.wav"), "this is not audio, just a text file\n", 36);
    expect_error(tmp_path("text.wav"), SORI_ERR_UNSUPPORTED, NULL);

    /* a valid WAV, then truncated, then with absurd header fields */
    sori_audio a = make_signal(16000, 0.5, 1);
    sori_error err = {0};
    CHECK_STATUS(sori_audio_write_file(tmp_path("ok.wav"), &a, SORI_ENC_WAV_PCM16, &err), SORI_OK);
    size_t n = 0;
    unsigned char *wav = slurp(tmp_path("ok.wav"), &n);
    spit(tmp_path("trunc.wav"), wav, n - 1001);
    expect_error(tmp_path("trunc.wav"), SORI_ERR_FORMAT, "cut short");
    spit(tmp_path("header_only.wav"), wav, 44);
    expect_error(tmp_path("header_only.wav"), SORI_ERR_FORMAT, NULL);
    unsigned char *bad = malloc(n);
    memcpy(bad, wav, n);
    bad[22] = 0xe8; /* 1000 channels */
    bad[23] = 0x03;
    spit(tmp_path("channels.wav"), bad, n);
    sori_audio b = {0};
    CHECK(sori_audio_read_file(tmp_path("channels.wav"), &b, &err) != SORI_OK && b.samples == NULL,
          "1000 channels refused");
    memcpy(bad, wav, n);
    bad[24] = bad[25] = bad[26] = 0; /* sample rate 0 */
    bad[27] = 0;
    spit(tmp_path("rate.wav"), bad, n);
    CHECK(sori_audio_read_file(tmp_path("rate.wav"), &b, &err) != SORI_OK && b.samples == NULL,
          "rate 0 refused");

    /* zero frames */
    SF_INFO info = {.samplerate = 16000, .channels = 1, .format = SF_FORMAT_WAV | SF_FORMAT_PCM_16};
    SNDFILE *sf = sf_open(tmp_path("zero.wav"), SFM_WRITE, &info);
    sf_close(sf);
    expect_error(tmp_path("zero.wav"), SORI_ERR_FORMAT, NULL);

    /* NaN in a float WAV */
    a.samples[100] = NAN;
    CHECK_STATUS(sori_audio_write_file(tmp_path("nan.wav"), &a, SORI_ENC_WAV_FLOAT, &err), SORI_OK);
    expect_error(tmp_path("nan.wav"), SORI_ERR_FORMAT, "NaN");

    /* random corruption of the bytes, from memory: any status but no crash */
    int n_ok = 0, n_bad = 0;
    for (int i = 0; i < 300; i++) {
        memcpy(bad, wav, n);
        int flips = sori_rng_int(rng, 1, 8);
        for (int f = 0; f < flips; f++)
            bad[sori_rng_next(rng) % (i % 2 ? 64 : n)] = (unsigned char)sori_rng_next(rng);
        sori_status st = sori_audio_read_memory(bad, n, &b, NULL);
        if (st == SORI_OK)
            n_ok++;
        else
            n_bad++;
        CHECK(st == SORI_OK ? b.samples != NULL : b.samples == NULL, "state after status %d", st);
        sori_audio_free(&b);
    }
    printf("corrupted WAVs: %d decoded, %d refused\n", n_ok, n_bad);
    CHECK_STATUS(sori_audio_read_memory(NULL, 0, &b, &err), SORI_ERR_FORMAT);
    CHECK_STATUS(sori_audio_read_file(NULL, &b, &err), SORI_ERR_INVALID_ARG);
    CHECK_STATUS(sori_audio_write_file(tmp_path("x.wav"), &a, (sori_audio_encoding)77, &err), SORI_ERR_INVALID_ARG);
    CHECK_STATUS(sori_audio_write_file("/nonexistent/dir/x.wav", &a, SORI_ENC_WAV_PCM16, &err), SORI_ERR_IO);
    free(bad);
    free(wav);
    sori_audio_free(&a);
}

/* Raw Opus packets: a tone through encoder and decoder in 20 ms packets at
 * 16 kHz and 8 kHz; the decoded tone (after the codec delay) matches, a lost
 * packet is concealed, corrupt packets are refused without harm. */
static void test_opus_packets(sori_rng *rng)
{
    const int rates[] = {16000, 8000, 48000};
    for (int ri = 0; ri < 3; ri++) {
        int rate = rates[ri], fr = rate / 50; /* 20 ms */
        sori_opus_encoder *enc = NULL;
        sori_opus_decoder *dec = NULL;
        sori_error err = {0};
        CHECK_STATUS(sori_opus_encoder_create(rate, 1, 32000, &enc, &err), SORI_OK);
        CHECK_STATUS(sori_opus_decoder_create(rate, 1, &dec, &err), SORI_OK);
        if (!enc || !dec)
            return;
        int n_pk = 50;
        float *in = malloc((size_t)(fr * n_pk) * 4), *out = malloc((size_t)(fr * n_pk + 5760) * 4);
        for (int i = 0; i < fr * n_pk; i++)
            in[i] = 0.4f * (float)sin(2 * M_PI * 440.0 * i / rate);
        int got = 0;
        for (int k = 0; k < n_pk; k++) {
            uint8_t pkt[1275];
            size_t nb = 0;
            CHECK_STATUS(sori_opus_encoder_encode(enc, in + k * fr, fr, pkt, sizeof pkt, &nb, &err), SORI_OK);
            int nf = 0;
            CHECK_STATUS(sori_opus_decoder_decode(dec, pkt, nb, out + got, 5760, &nf, &err), SORI_OK);
            got += nf;
        }
        CHECK(got == fr * n_pk, "%d Hz: decoded %d of %d samples", rate, got, fr * n_pk);
        /* best alignment within 10 ms (the codec's look-ahead) */
        double best = -1e9;
        for (int lag = 0; lag < rate / 100; lag++) {
            double snr = snr_db(in + rate / 5, out + rate / 5 + lag, fr * n_pk - rate / 5 - rate / 100);
            if (snr > best)
                best = snr;
        }
        CHECK(best > 12, "%d Hz: decoded tone SNR %.1f dB", rate, best);
        int nf = 0;
        CHECK_STATUS(sori_opus_decoder_decode(dec, NULL, 0, out, fr, &nf, &err), SORI_OK);
        CHECK(nf == fr, "concealment gave %d frames", nf);
        /* corrupt packets: refused or decoded, never a crash; then still usable */
        for (int t = 0; t < 200; t++) {
            uint8_t junk[64];
            for (int i = 0; i < 64; i++)
                junk[i] = (uint8_t)sori_rng_next(rng);
            sori_status st = sori_opus_decoder_decode(dec, junk, 1 + t % 64, out, 5760, &nf, &err);
            CHECK(st == SORI_OK || st == SORI_ERR_FORMAT, "junk packet: status %d", st);
        }
        uint8_t pkt[1275];
        size_t nb = 0;
        CHECK_STATUS(sori_opus_encoder_encode(enc, in, fr, pkt, sizeof pkt, &nb, &err), SORI_OK);
        CHECK_STATUS(sori_opus_decoder_decode(dec, pkt, nb, out, 5760, &nf, &err), SORI_OK);
        CHECK_STATUS(sori_opus_encoder_encode(enc, in, fr - 1, pkt, sizeof pkt, &nb, &err), SORI_ERR_INVALID_ARG);
        free(in);
        free(out);
        sori_opus_encoder_free(enc);
        sori_opus_decoder_free(dec);
    }
    sori_opus_decoder *d = NULL;
    sori_error err = {0};
    CHECK_STATUS(sori_opus_decoder_create(44100, 1, &d, &err), SORI_ERR_INVALID_ARG);
    CHECK_STATUS(sori_opus_decoder_create(16000, 3, &d, &err), SORI_ERR_INVALID_ARG);
    sori_opus_decoder_free(NULL);
    sori_opus_encoder_free(NULL);
}


/* The incremental reader: each channel and the mix, at the file's rate and
 * resampled, read in random chunks, equal to a whole read followed by
 * sori_audio_select_channel and sori_audio_resample (and again after a
 * rewind); its info; misuse. */
static void test_reader(sori_rng *rng)
{
    struct {
        const char *name;
        sori_audio_encoding enc;
        int rate, channels;
        double seconds;
        int out_rate;
    } cases[] = {
        {"r8k.wav", SORI_ENC_WAV_PCM16, 8000, 2, 7.3, 16000},
        {"r8k_same.wav", SORI_ENC_WAV_MULAW, 8000, 1, 3.1, 0},
        {"r44.flac", SORI_ENC_FLAC, 44100, 2, 5.2, 16000},
        {"r48.opus", SORI_ENC_OGG_OPUS, 48000, 2, 4.0, 16000},
        {"r16.wav", SORI_ENC_WAV_FLOAT, 16000, 3, 2.0, 8000},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sori_audio a = make_signal(cases[i].rate, cases[i].seconds, cases[i].channels), whole = {0};
        sori_error err = {0};
        const char *path = tmp_path(cases[i].name);
        CHECK_STATUS(sori_audio_write_file(path, &a, cases[i].enc, &err), SORI_OK);
        CHECK_STATUS(sori_audio_read_file(path, &whole, &err), SORI_OK);
        for (int ch = SORI_CHANNEL_MIX; ch < cases[i].channels; ch++) {
            sori_audio mono = {0}, want = {0};
            CHECK_STATUS(sori_audio_select_channel(&whole, ch, &mono, &err), SORI_OK);
            int rate = cases[i].out_rate ? cases[i].out_rate : cases[i].rate;
            CHECK_STATUS(sori_audio_resample(&mono, rate, &want, &err), SORI_OK);
            sori_audio_reader *r = NULL;
            CHECK_STATUS(sori_audio_reader_open(path, NULL, ch, cases[i].out_rate, &r, NULL, &err), SORI_OK);
            if (!r) {
                sori_audio_free(&mono);
                sori_audio_free(&want);
                continue;
            }
            sori_audio_reader_info info = sori_audio_reader_get_info(r);
            CHECK(info.n_channels == cases[i].channels && info.file_rate_hz == cases[i].rate &&
                      info.sample_rate_hz == rate,
                  "%s: info %d channels, %d Hz, out %d Hz", cases[i].name, info.n_channels, info.file_rate_hz,
                  info.sample_rate_hz);
            if (cases[i].enc != SORI_ENC_OGG_OPUS)
                CHECK(fabs(info.duration_s - (double)whole.n_frames / cases[i].rate) < 1e-3,
                      "%s: duration %.3f s", cases[i].name, info.duration_s);
            size_t cap = (size_t)want.n_frames + 8192;
            float *got = malloc(cap * sizeof(float));
            for (int pass = 0; pass < 2; pass++) {
                int64_t n = 0, k = 0;
                sori_status st;
                do {
                    int64_t m = sori_rng_int(rng, 1, 3000);
                    if ((size_t)(n + m) > cap)
                        m = (int64_t)cap - n;
                    st = sori_audio_reader_read(r, got + n, m, &k, &err);
                    n += k;
                } while (st == SORI_OK && k > 0);
                CHECK_STATUS(st, SORI_OK);
                double worst = 0;
                for (int64_t t = 0; t < n && t < want.n_frames; t++)
                    worst = fmax(worst, fabs((double)got[t] - want.samples[t]));
                CHECK(n == want.n_frames && worst <= 1e-6, "%s channel %d pass %d: %lld samples (whole: %lld), max diff %.2e",
                      cases[i].name, ch, pass, (long long)n, (long long)want.n_frames, worst);
                CHECK_STATUS(sori_audio_reader_read(r, got, 10, &k, &err), SORI_OK);
                CHECK(k == 0, "%s: read after the end gives %lld", cases[i].name, (long long)k);
                CHECK_STATUS(sori_audio_reader_rewind(r, &err), SORI_OK);
            }
            free(got);
            sori_audio_reader_close(r);
            sori_audio_free(&mono);
            sori_audio_free(&want);
        }
        sori_audio_reader *r = NULL;
        CHECK_STATUS(sori_audio_reader_open(path, NULL, cases[i].channels, 0, &r, NULL, &err), SORI_ERR_INVALID_ARG);
        CHECK(r == NULL && strstr(err.message, "channel"), "a channel the file lacks: %s", err.message);
        CHECK_STATUS(sori_audio_reader_open(path, NULL, SORI_CHANNEL_MIX, 500, &r, NULL, &err), SORI_ERR_INVALID_ARG);
        sori_audio_free(&a);
        sori_audio_free(&whole);
    }
    sori_error err = {0};
    sori_audio_reader *r = NULL;
    CHECK_STATUS(sori_audio_reader_open("/nonexistent/x.wav", NULL, SORI_CHANNEL_MIX, 0, &r, NULL, &err), SORI_ERR_IO);
    CHECK_STATUS(sori_audio_reader_open(NULL, NULL, SORI_CHANNEL_MIX, 0, &r, NULL, &err), SORI_ERR_INVALID_ARG);
    CHECK_STATUS(sori_audio_reader_open(g_dir, NULL, SORI_CHANNEL_MIX, 0, &r, NULL, &err), SORI_ERR_IO);
    spit(tmp_path("empty.wav"), "", 0);
    CHECK_STATUS(sori_audio_reader_open(tmp_path("empty.wav"), NULL, SORI_CHANNEL_MIX, 0, &r, NULL, &err),
                 SORI_ERR_FORMAT);
    spit(tmp_path("text.wav"), "hello, this is not audio at all", 31);
    CHECK_STATUS(sori_audio_reader_open(tmp_path("text.wav"), NULL, SORI_CHANNEL_MIX, 0, &r, NULL, &err),
                 SORI_ERR_UNSUPPORTED);
    CHECK(strstr(err.message, "text.wav") != NULL, "the message names the file: %s", err.message);
    /* a float WAV holding NaN: refused where it is read */
    sori_audio nan = make_signal(16000, 1.0, 1);
    nan.samples[12345] = NAN;
    CHECK_STATUS(sori_audio_write_file(tmp_path("nanr.wav"), &nan, SORI_ENC_WAV_FLOAT, &err), SORI_OK);
    CHECK_STATUS(sori_audio_reader_open(tmp_path("nanr.wav"), NULL, SORI_CHANNEL_MIX, 0, &r, NULL, &err), SORI_OK);
    float buf[4096];
    int64_t k = 0;
    sori_status st = SORI_OK;
    while (r && (st = sori_audio_reader_read(r, buf, 4096, &k, &err)) == SORI_OK && k > 0)
        ;
    CHECK(st == SORI_ERR_FORMAT && strstr(err.message, "frame 12345"), "NaN: %s", err.message);
    sori_audio_reader_close(r);
    sori_audio_free(&nan);
    CHECK_STATUS(sori_audio_reader_read(NULL, buf, 1, &k, &err), SORI_ERR_INVALID_ARG);
    CHECK_STATUS(sori_audio_reader_rewind(NULL, &err), SORI_ERR_INVALID_ARG);
    sori_audio_reader_close(NULL);
}

int main(void)
{
    uint64_t seed = test_seed("test_audio");
    sori_rng rng;
    sori_rng_seed(&rng, seed);
    if (!mkdtemp(g_dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_round_trips();
    test_other_decoders();
    test_raw();
    test_channels();
    test_resample(&rng);
    test_opus_packets(&rng);
    test_bad_input(&rng);
    test_reader(&rng);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", g_dir);
    return check_finish("test_audio");
}
