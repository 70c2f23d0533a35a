/* Damaged audio, one policy for every container: Ogg Opus, Ogg Vorbis, MP3,
 * FLAC and WAV each with a corrupted byte inside a page/frame, a corrupted
 * page/frame header, and the file cut at 50 %. The strict read refuses each
 * (SORI_ERR_FORMAT, the byte offset and the time in the message and in the
 * report); with allow_damaged the intact parts decode, with silence where
 * audio was lost inside the file so later times stay the file's own. And no
 * false alarms: intact files, chained and multiplexed Ogg, MP3 with ID3v2,
 * APEv2 and ID3v1 tags or without a Xing frame, zero padding, FLAC with a
 * trailing tag. Random damage: any status, never a crash, never samples
 * with an error, never a strict success with a report. Each file is also
 * read by the incremental reader (sori_audio_reader), which must give the
 * same verdict and the same samples. */
#include <math.h>
#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif
#include <sndfile.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "kernels/opcheck.h"
#include "sori/audio.h"

static char g_dir[] = "/tmp/sori_test_damage_XXXXXX";

static const char *tmp_path(const char *name)
{
    static char buf[4][256];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", g_dir, name);
    return buf[k];
}

static unsigned char *slurp(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *p = malloc((size_t)n + 1);
    *size = fread(p, 1, (size_t)n, f);
    fclose(f);
    return p;
}

static void spit(const char *path, const void *a, size_t na, const void *b, size_t nb)
{
    FILE *f = fopen(path, "wb");
    if (na)
        fwrite(a, 1, na, f);
    if (nb)
        fwrite(b, 1, nb, f);
    fclose(f);
}

/* 10 s of a tone whose level moves (codecs must code all of it) */
static sori_audio signal_of(int rate, double seconds)
{
    sori_audio a = {0};
    a.n_frames = (int64_t)(rate * seconds);
    a.n_channels = 1;
    a.sample_rate_hz = rate;
    a.samples = malloc((size_t)a.n_frames * sizeof(float));
    for (int64_t t = 0; t < a.n_frames; t++)
        a.samples[t] = 0.3f * (float)(sin(2 * M_PI * 440.0 * t / rate) * (1 + 0.5 * sin(2 * M_PI * 3.0 * t / rate)));
    return a;
}

static int write_sndfile(const char *path, int format, const sori_audio *a)
{
    SF_INFO info = {.samplerate = a->sample_rate_hz, .channels = 1, .format = format};
    SNDFILE *sf = sf_open(path, SFM_WRITE, &info);
    if (!sf)
        return 0;
    sf_writef_float(sf, a->samples, a->n_frames);
    sf_close(sf);
    return 1;
}

/* An MP3 without an encoder: 10 s of silent MPEG-1 layer III frames
 * (128 kbit/s, 44.1 kHz, mono, zero side information), which mpg123 decodes
 * to silence. For a libsndfile built without LAME. */
static void write_silent_mp3(const char *path)
{
    enum { LEN = 417, N = 383 }; /* 144 * 128000 / 44100; 383 * 1152 ≈ 10 s */
    unsigned char *b = calloc(N, LEN);
    for (int i = 0; i < N; i++) {
        unsigned char *f = b + (size_t)i * LEN;
        f[0] = 0xff, f[1] = 0xfb, f[2] = 0x90, f[3] = 0xc0;
    }
    spit(path, b, (size_t)N * LEN, NULL, 0);
    free(b);
}

/* ---- where the pages and frames are (the tests find them themselves) ---- */

/* The first Ogg page at or after `at`. */
static size_t ogg_page_after(const unsigned char *b, size_t n, size_t at)
{
    for (size_t i = at; i + 4 <= n; i++)
        if (memcmp(b + i, "OggS", 4) == 0)
            return i;
    return n;
}

/* MPEG frame starts: walked from the first frame by their lengths. */
static size_t mp3_frame_after(const unsigned char *b, size_t n, size_t at)
{
    static const int br[2][16] = {{0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 0},
                                  {0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160, 0}};
    static const int sr[3] = {44100, 48000, 32000};
    size_t pos = 0;
    if (n > 10 && memcmp(b, "ID3", 3) == 0)
        pos = 10 + ((size_t)b[6] << 21 | (size_t)b[7] << 14 | (size_t)b[8] << 7 | b[9]);
    while (pos + 4 <= n) {
        int v1 = (b[pos + 1] >> 3 & 3) == 3, mp25 = (b[pos + 1] >> 3 & 3) == 0;
        int rate = sr[b[pos + 2] >> 2 & 3] >> (v1 ? 0 : mp25 ? 2 : 1);
        size_t len = (size_t)(v1 ? 144 : 72) * (size_t)br[!v1][b[pos + 2] >> 4] * 1000 / (size_t)rate +
                     (b[pos + 2] >> 1 & 1);
        if (pos >= at || len == 0)
            return pos;
        pos += len;
    }
    return n;
}

/* A FLAC frame header at or after `at`: the sync and a matching CRC-8. */
static size_t flac_frame_after(const unsigned char *b, size_t n, size_t at)
{
    for (size_t i = at; i + 16 <= n; i++) {
        if (b[i] != 0xff || b[i + 1] != 0xf8)
            continue;
        for (size_t hl = 5; hl < 12; hl++) { /* header lengths of this stream's frames */
            uint8_t c = 0;
            for (size_t k = 0; k < hl; k++) {
                c ^= b[i + k];
                for (int j = 0; j < 8; j++)
                    c = (uint8_t)(c & 0x80 ? (c << 1) ^ 0x07 : c << 1);
            }
            if (c == b[i + hl])
                return i;
        }
    }
    return n;
}

/* ---- the cases ---- */

typedef struct {
    const char *name;        /* file name */
    size_t (*unit_after)(const unsigned char *, size_t, size_t);
    double slack_s;          /* how far the reported time may be from the byte's share of it */
    int byte_detectable;     /* a changed byte inside a frame is found */
} format_case;

static int64_t g_intact_frames;
static int g_intact_rate;


/* The incremental reader agrees with the whole read: the same verdict
 * (refused at open or while reading, or decoded) and, when decoded, the
 * same samples (mixed to mono at the file's rate), read in odd chunks. */
static int g_reader_agreed, g_reader_cases;

static void reader_agrees(const char *what, const char *path, int allow)
{
    sori_audio a = {0}, mono = {0};
    sori_error err = {0}, rerr = {0};
    sori_audio_damage d, rd;
    sori_audio_read_params p = sori_audio_read_default_params();
    p.allow_damaged = allow;
    sori_status st = sori_audio_read_file_with_params(path, &p, &a, &d, &err);
    if (st == SORI_OK)
        st = sori_audio_select_channel(&a, SORI_CHANNEL_MIX, &mono, &err);
    sori_audio_reader *r = NULL;
    sori_status rst = sori_audio_reader_open(path, &p, SORI_CHANNEL_MIX, 0, &r, &rd, &rerr);
    /* read to the end whatever the whole read said: damage near the end is
     * only found there; what is read beyond the whole read's samples is
     * kept out of the comparison (and counted) */
    int64_t n = 0, cap = mono.n_frames, chunk = 1;
    float *buf = malloc((size_t)(cap > 0 ? cap : 1) * sizeof(float)), scratch[4096];
    while (rst == SORI_OK) {
        int64_t got = 0;
        int64_t want = chunk < 4096 ? chunk : 4096;
        rst = sori_audio_reader_read(r, scratch, want, &got, &rerr);
        if (rst != SORI_OK || got == 0)
            break;
        for (int64_t k = 0; k < got; k++, n++)
            if (n < cap)
                buf[n] = scratch[k];
        chunk = chunk < 4096 ? chunk * 3 + 1 : 1;
    }
    g_reader_cases++;
    CHECK((st == SORI_OK) == (rst == SORI_OK), "%s (%s): whole read %d (%s), reader %d (%s)", what,
          allow ? "allowed" : "strict", st, err.message, rst, rerr.message);
    if (st != SORI_OK && rst != SORI_OK)
        CHECK(rst == st && rerr.message[0], "%s: the reader's status %d, the whole read's %d (%s)", what, rst, st,
              rerr.message);
    if (st == SORI_OK && rst == SORI_OK) {
        int same = n == mono.n_frames && memcmp(buf, mono.samples, (size_t)n * sizeof(float)) == 0;
        CHECK(same, "%s: the reader gave %lld samples, the whole read %lld (or other values)", what, (long long)n,
              (long long)mono.n_frames);
        sori_audio_damage late = sori_audio_reader_damage(r);
        CHECK((d.n_places > 0) == (rd.n_places > 0 || late.n_places > 0),
              "%s: damage reported by the whole read %d, by the reader %d + %d", what, d.n_places, rd.n_places,
              late.n_places);
        g_reader_agreed += same;
    } else if (st != SORI_OK && rst != SORI_OK) {
        g_reader_agreed++;
    }
    free(buf);
    sori_audio_reader_close(r);
    sori_audio_free(&a);
    sori_audio_free(&mono);
}

static void check_strict(const char *what, const char *path, size_t lo, size_t hi, double t_lo, double t_hi)
{
    sori_audio a = {0};
    sori_error err = {0};
    sori_audio_damage d;
    sori_status st = sori_audio_read_file_with_params(path, NULL, &a, &d, &err);
    CHECK(st == SORI_ERR_FORMAT && a.samples == NULL, "%s: strict read: status %d (%s)", what, st, err.message);
    CHECK(strstr(err.message, path) && strstr(err.message, "damaged at byte"), "%s: the message names the file and the byte: %s",
          what, err.message);
    CHECK(d.n_places >= 1 && d.reason[0], "%s: a report (%d places, '%s')", what, d.n_places, d.reason);
    CHECK(d.byte_offset >= (int64_t)lo && d.byte_offset <= (int64_t)hi, "%s: damage at byte %lld, expected %zu..%zu (%s)",
          what, (long long)d.byte_offset, lo, hi, d.reason);
    CHECK(d.lost_from_s >= t_lo && d.lost_from_s <= t_hi && d.lost_to_s >= d.lost_from_s,
          "%s: damage at %.2f-%.2f s, expected it to begin in %.2f..%.2f s", what, d.lost_from_s, d.lost_to_s, t_lo,
          t_hi);
    char want[64];
    snprintf(want, sizeof want, "byte %lld (%.2f s)", (long long)d.byte_offset, d.lost_from_s);
    CHECK(strstr(err.message, want) != NULL, "%s: the message gives '%s': %s", what, want, err.message);
    printf("  %-22s %s\n", what, err.message + strlen(g_dir) + 1);
    sori_audio_free(&a);
    reader_agrees(what, path, 0);
}

/* allow_damaged: kept what decodes, reported; internal: the timeline is
 * the file's (lost audio came back as silence). */
static void check_allowed(const char *what, const char *path, int internal, int lost_expected)
{
    sori_audio a = {0};
    sori_error err = {0};
    sori_audio_damage d;
    sori_audio_read_params p = sori_audio_read_default_params();
    p.allow_damaged = true;
    sori_status st = sori_audio_read_file_with_params(path, &p, &a, &d, &err);
    CHECK(st == SORI_OK && a.samples && a.n_frames > 0, "%s: allowed: status %d (%s)", what, st, err.message);
    CHECK(d.n_places >= 1 && d.reason[0], "%s: allowed: reported (%d places)", what, d.n_places);
    if (lost_expected)
        CHECK(d.lost_s > 0, "%s: allowed: some audio reported lost (%.3f s)", what, d.lost_s);
    if (st == SORI_OK && internal)
        CHECK(llabs(a.n_frames - g_intact_frames) <= a.sample_rate_hz / 20,
              "%s: allowed: %lld frames, the intact file %lld (the timeline kept)", what, (long long)a.n_frames,
              (long long)g_intact_frames);
    if (st == SORI_OK && !internal)
        CHECK(a.n_frames < g_intact_frames * 3 / 4, "%s: allowed: %lld frames of %lld", what, (long long)a.n_frames,
              (long long)g_intact_frames);
    sori_audio_free(&a);
    reader_agrees(what, path, 1);
}

static void test_format(const format_case *fc, const char *path)
{
    size_t n = 0;
    unsigned char *b = slurp(path, &n);
    sori_audio a = {0};
    sori_error err = {0};
    sori_audio_damage d;
    for (int allow = 0; allow < 2; allow++) {
        sori_audio_read_params p = sori_audio_read_default_params();
        p.allow_damaged = allow;
        CHECK_STATUS(sori_audio_read_file_with_params(path, &p, &a, &d, &err), SORI_OK);
        CHECK(d.n_places == 0, "%s intact: no report (%s)", fc->name, d.reason);
        g_intact_frames = a.n_frames;
        g_intact_rate = a.sample_rate_hz;
        sori_audio_free(&a);
    }
    const double dur = g_intact_rate ? (double)g_intact_frames / g_intact_rate : 0;
    unsigned char *m = malloc(n);
    char what[64], name[64];

    /* a changed byte inside a page/frame, near the middle */
    size_t u = fc->unit_after(b, n, n / 2), next = fc->unit_after(b, n, u + 1);
    size_t at = u + (next - u) / 2;
    memcpy(m, b, n);
    m[at] ^= 0x55;
    snprintf(name, sizeof name, "byte_%s", fc->name);
    spit(tmp_path(name), m, n, NULL, 0);
    snprintf(what, sizeof what, "%s: byte %zu", fc->name, at);
    double share = dur * (double)at / (double)n;
    if (fc->byte_detectable) { /* MP3: by the LAME tag's CRC, whose place is unknown */
        int mp3 = strstr(fc->name, "mp3") != NULL;
        check_strict(what, tmp_path(name), mp3 ? 0 : u, at, mp3 ? 0 : share - fc->slack_s, share + fc->slack_s);
        check_allowed(what, tmp_path(name), 1, !mp3);
    }

    /* a damaged page/frame header */
    memcpy(m, b, n);
    u = fc->unit_after(b, n, n / 2);
    m[u + 1] ^= 0xff;
    snprintf(name, sizeof name, "header_%s", fc->name);
    spit(tmp_path(name), m, n, NULL, 0);
    snprintf(what, sizeof what, "%s: header at %zu", fc->name, u);
    share = dur * (double)u / (double)n;
    check_strict(what, tmp_path(name), u > 4096 ? u - 4096 : 0, u, share - fc->slack_s, share + fc->slack_s);
    check_allowed(what, tmp_path(name), 1, 1);

    /* cut at 50 % */
    snprintf(name, sizeof name, "cut_%s", fc->name);
    spit(tmp_path(name), b, n / 2, NULL, 0);
    snprintf(what, sizeof what, "%s: cut at %zu", fc->name, n / 2);
    share = dur * 0.5;
    check_strict(what, tmp_path(name), n / 2 > 8192 ? n / 2 - 8192 : 0, n / 2, share - 2 * fc->slack_s,
                 share + fc->slack_s);
    check_allowed(what, tmp_path(name), 0, 1);

    /* the same from memory, named by the caller */
    unsigned char *cut = slurp(tmp_path(name), &n);
    sori_audio_read_params p = sori_audio_read_default_params();
    p.source_name = "the upload";
    CHECK_STATUS(sori_audio_read_memory_with_params(cut, n, &p, &a, &d, &err), SORI_ERR_FORMAT);
    CHECK(strncmp(err.message, "the upload: damaged at byte", 27) == 0, "memory: %s", err.message);
    p.allow_damaged = true;
    CHECK_STATUS(sori_audio_read_memory_with_params(cut, n, &p, &a, &d, &err), SORI_OK);
    CHECK(d.n_places >= 1 && a.n_frames > 0, "memory, allowed: %lld frames", (long long)a.n_frames);
    sori_audio_free(&a);
    free(cut);
    free(m);
    free(b);
}

/* ---- no false alarms ---- */

static uint32_t ogg_crc(const unsigned char *p, size_t n)
{
    uint32_t c = 0;
    for (size_t i = 0; i < n; i++) {
        c ^= (uint32_t)(i >= 22 && i < 26 ? 0 : p[i]) << 24;
        for (int k = 0; k < 8; k++)
            c = c & 0x80000000u ? (c << 1) ^ 0x04c11db7u : c << 1;
    }
    return c;
}

static size_t ogg_page_len(const unsigned char *p)
{
    size_t body = 0;
    for (int i = 0; i < p[26]; i++)
        body += p[27 + i];
    return 27 + (size_t)p[26] + body;
}

static void set_serial(unsigned char *b, size_t n, uint32_t serial)
{
    for (size_t i = 0; i < n; i += ogg_page_len(b + i)) {
        for (int k = 0; k < 4; k++)
            b[i + 14 + k] = (unsigned char)(serial >> (8 * k));
        uint32_t c = ogg_crc(b + i, ogg_page_len(b + i));
        for (int k = 0; k < 4; k++)
            b[i + 22 + k] = (unsigned char)(c >> (8 * k));
    }
}

static void expect_intact(const char *what, const char *path, int64_t want_frames)
{
    sori_audio a = {0};
    sori_error err = {0};
    sori_audio_damage d;
    sori_status st = sori_audio_read_file_with_params(path, NULL, &a, &d, &err);
    CHECK(st == SORI_OK && d.n_places == 0, "%s: status %d (%s), report '%s'", what, st, err.message, d.reason);
    if (want_frames >= 0)
        CHECK(llabs(a.n_frames - want_frames) <= a.sample_rate_hz / 20, "%s: %lld frames, expected %lld", what,
              (long long)a.n_frames, (long long)want_frames);
    sori_audio_free(&a);
    reader_agrees(what, path, 0);
}

static void test_no_false_alarms(const char *opus, const char *mp3, int mp3_has_lame, const char *flac)
{
    size_t n = 0, nm = 0, nf = 0;
    unsigned char *o = slurp(opus, &n);
    /* chained: the file twice, each link its own serial; both decode */
    unsigned char *two = malloc(2 * n);
    memcpy(two, o, n);
    memcpy(two + n, o, n);
    set_serial(two, n, 0x11111111u);
    set_serial(two + n, n, 0x22222222u);
    spit(tmp_path("chained.opus"), two, 2 * n, NULL, 0);
    sori_audio a = {0};
    sori_error err = {0};
    CHECK_STATUS(sori_audio_read_file(opus, &a, &err), SORI_OK);
    int64_t one = a.n_frames;
    sori_audio_free(&a);
    expect_intact("chained Ogg Opus", tmp_path("chained.opus"), 2 * one);
    /* multiplexed: the two streams' pages interleaved, first pages first */
    unsigned char *mux = malloc(2 * n);
    size_t w = 0, i = 0, k = n;
    memcpy(mux + w, two + i, ogg_page_len(two + i)), w += ogg_page_len(two + i), i += ogg_page_len(two + i);
    memcpy(mux + w, two + k, ogg_page_len(two + k)), w += ogg_page_len(two + k), k += ogg_page_len(two + k);
    while (i < n || k < 2 * n) {
        if (i < n)
            memcpy(mux + w, two + i, ogg_page_len(two + i)), w += ogg_page_len(two + i), i += ogg_page_len(two + i);
        if (k < 2 * n)
            memcpy(mux + w, two + k, ogg_page_len(two + k)), w += ogg_page_len(two + k), k += ogg_page_len(two + k);
    }
    spit(tmp_path("mux.opus"), mux, w, NULL, 0);
    expect_intact("multiplexed Ogg Opus", tmp_path("mux.opus"), one);
    static const unsigned char zeros[512];
    spit(tmp_path("padded.opus"), o, n, zeros, sizeof zeros);
    expect_intact("Ogg Opus with zero padding", tmp_path("padded.opus"), one);
    /* an ID3v2 tag in front of Ogg (some taggers write one): libsndfile reads it */
    static const unsigned char id3[30] = {'I', 'D', '3', 4, 0, 0, 0, 0, 0, 20, 'T', 'I', 'T', '2', 0, 0, 0, 2, 0, 0, 3, 'x'};
    spit(tmp_path("id3.opus"), id3, sizeof id3, o, n);
    expect_intact("Ogg Opus after an ID3v2 tag", tmp_path("id3.opus"), one);

    /* MP3 with tags: ID3v2 (with padding after it) at the start; APEv2 and
     * ID3v1 at the end */
    unsigned char *m = slurp(mp3, &nm);
    CHECK_STATUS(sori_audio_read_file(mp3, &a, &err), SORI_OK);
    int64_t mp3_frames = a.n_frames;
    sori_audio_free(&a);
    unsigned char tagged[16384];
    size_t t = 0;
    static const char title[] = "TIT2\0\0\0\x0c\0\0\x03hello world";
    memcpy(tagged, "ID3\x03\0\0\0\0\0\x40", 10); /* 64 bytes follow */
    memcpy(tagged + 10, title, sizeof title - 1);
    memset(tagged + 10 + sizeof title - 1, 0, 64 - (sizeof title - 1) + 32); /* tag padding, then 32 zeros */
    t = 10 + 64 + 32;
    memcpy(tagged + t, m, nm);
    t += nm;
    static const char ape_item[] = "\x05\0\0\0\0\0\0\0Title\0hello";
    unsigned char ape[128]; /* an item and the 32-byte footer */
    memcpy(ape, ape_item, sizeof ape_item - 1);
    unsigned char *f = ape + sizeof ape_item - 1;
    memset(f, 0, 32);
    memcpy(f, "APETAGEX", 8);
    f[8] = 0xd0, f[9] = 0x07;                            /* version 2000 */
    f[12] = (unsigned char)(sizeof ape_item - 1 + 32);    /* items + footer */
    f[16] = 1;                                            /* one item */
    memcpy(tagged + t, ape, sizeof ape_item - 1 + 32);
    t += sizeof ape_item - 1 + 32;
    memset(tagged + t, 0, 128);
    memcpy(tagged + t, "TAG", 3);
    t += 128;
    spit(tmp_path("tagged.mp3"), tagged, t, NULL, 0);
    expect_intact("MP3 with ID3v2, APEv2 and ID3v1 tags", tmp_path("tagged.mp3"), mp3_frames);
    spit(tmp_path("padded.mp3"), m, nm, zeros, sizeof zeros);
    expect_intact("MP3 with zero padding", tmp_path("padded.mp3"), mp3_frames);
    spit(tmp_path("id3end.mp3"), m, nm, id3, sizeof id3);
    expect_intact("MP3 with an ID3v2 tag appended", tmp_path("id3end.mp3"), mp3_frames);
    if (mp3_has_lame) {
        /* without its Info frame (a VBR stream without a frame count):
         * libsndfile alone stops at mpg123's estimate from the first frame */
        size_t first = mp3_frame_after(m, nm, 1);
        spit(tmp_path("noxing.mp3"), m + first, nm - first, NULL, 0);
        expect_intact("VBR MP3 without a Xing frame", tmp_path("noxing.mp3"), mp3_frames);
        /* mp3gain changed the frames' gain in place: the LAME tag's CRC of
         * the audio no longer holds, and is not checked */
        memcpy(tagged, m, nm);
        tagged[nm / 2] ^= 0x01;
        static const char undo[] = "\x0b\0\0\0\0\0\0\0MP3GAIN_UNDO\0+003,+003,N";
        memcpy(ape, undo, sizeof undo - 1);
        f = ape + sizeof undo - 1;
        memset(f, 0, 32);
        memcpy(f, "APETAGEX", 8);
        f[8] = 0xd0, f[9] = 0x07;
        f[12] = (unsigned char)(sizeof undo - 1 + 32);
        f[16] = 1;
        spit(tmp_path("mp3gain.mp3"), tagged, nm, ape, sizeof undo - 1 + 32);
        expect_intact("MP3 whose gain mp3gain changed", tmp_path("mp3gain.mp3"), mp3_frames);
    }
    /* FLAC with an ID3v1 tag appended, and with zero padding */
    unsigned char *fl = slurp(flac, &nf);
    memset(tagged, 0, 128);
    memcpy(tagged, "TAG", 3);
    spit(tmp_path("tagged.flac"), fl, nf, tagged, 128);
    expect_intact("FLAC with an ID3v1 tag", tmp_path("tagged.flac"), g_intact_frames);
    spit(tmp_path("padded.flac"), fl, nf, zeros, sizeof zeros);
    expect_intact("FLAC with zero padding", tmp_path("padded.flac"), g_intact_frames);
    free(fl);
    free(m);
    free(mux);
    free(two);
    free(o);
}

/* Random damage in both modes: any status, never a crash; samples exactly
 * when OK; a strict success has no report; an allowed error names damage
 * or another cause. */
static void test_random_damage(sori_rng *rng, const char *const *paths, int n_paths)
{
    int counts[2][2] = {{0, 0}, {0, 0}};
    for (int f = 0; f < n_paths; f++) {
        size_t n = 0;
        unsigned char *b = slurp(paths[f], &n), *m = malloc(n);
        for (int i = 0; i < 60; i++) {
            memcpy(m, b, n);
            size_t len = n;
            int kind = i % 3;
            if (kind == 0) { /* a few changed bytes */
                for (int k = sori_rng_int(rng, 1, 4); k > 0; k--)
                    m[sori_rng_next(rng) % n] = (unsigned char)sori_rng_next(rng);
            } else if (kind == 1) { /* cut anywhere */
                len = 1 + sori_rng_next(rng) % (n - 1);
            } else { /* a run of garbage */
                size_t at = sori_rng_next(rng) % n, run = 1 + sori_rng_next(rng) % 700;
                for (size_t k = at; k < at + run && k < n; k++)
                    m[k] = (unsigned char)sori_rng_next(rng);
            }
            for (int allow = 0; allow < 2; allow++) {
                sori_audio a = {0};
                sori_audio_damage d;
                sori_error err = {0};
                sori_audio_read_params p = sori_audio_read_default_params();
                p.allow_damaged = allow;
                sori_status st = sori_audio_read_memory_with_params(m, len, &p, &a, &d, &err);
                CHECK(st == SORI_OK ? a.samples != NULL && a.n_frames > 0 : a.samples == NULL,
                      "%s, damage %d: status %d with samples %p", paths[f], i, st, (void *)a.samples);
                CHECK(!(st == SORI_OK && !allow && d.n_places), "%s, damage %d: a strict success with a report",
                      paths[f], i);
                CHECK(st == SORI_OK || err.message[0], "%s, damage %d: an error without a message", paths[f], i);
                counts[allow][st == SORI_OK]++;
                sori_audio_free(&a);
            }
            /* the same bytes as a file: the reader's verdict is the whole read's */
            const char *ext = strrchr(paths[f], '.');
            char name[64];
            snprintf(name, sizeof name, "random%s", ext ? ext : "");
            spit(tmp_path(name), m, len, NULL, 0);
            for (int allow = 0; allow < 2; allow++)
                reader_agrees(name, tmp_path(name), allow);
        }
        free(m);
        free(b);
    }
    printf("random damage: strict %d decoded, %d refused; allowed %d decoded, %d refused\n", counts[0][1],
           counts[0][0], counts[1][1], counts[1][0]);
}

static void test_misuse(void)
{
    sori_audio a = {0};
    sori_error err = {0};
    sori_audio_damage d;
    CHECK_STATUS(sori_audio_read_file_with_params(NULL, NULL, &a, &d, &err), SORI_ERR_INVALID_ARG);
    CHECK_STATUS(sori_audio_read_file_with_params("x.wav", NULL, NULL, &d, &err), SORI_ERR_INVALID_ARG);
    CHECK_STATUS(sori_audio_read_memory_with_params(NULL, 3, NULL, &a, &d, &err), SORI_ERR_INVALID_ARG);
    sori_audio_read_params p = sori_audio_read_default_params();
    CHECK(!p.allow_damaged && p.source_name == NULL, "default params");
    p.source_name = "standard input";
    CHECK_STATUS(sori_audio_read_memory_with_params("", 0, &p, &a, &d, &err), SORI_ERR_FORMAT);
    CHECK(strcmp(err.message, "standard input is empty") == 0, "empty: %s", err.message);
    static const char junk[] = "this is not audio at all, just a note\n";
    spit(tmp_path("junk.mp3"), junk, sizeof junk - 1, NULL, 0);
    CHECK_STATUS(sori_audio_read_file_with_params(tmp_path("junk.mp3"), NULL, &a, &d, &err), SORI_ERR_UNSUPPORTED);
    CHECK(strstr(err.message, "junk.mp3: not an audio file sori can decode: named .mp3") &&
              strstr(err.message, "this is not audio") && d.n_places == 0,
          "junk named .mp3: %s", err.message);
    static const unsigned char mp4[12] = {0, 0, 0, 0x20, 'f', 't', 'y', 'p', 'M', '4', 'A', ' '};
    spit(tmp_path("voice.m4a"), mp4, sizeof mp4, NULL, 0);
    CHECK_STATUS(sori_audio_read_file(tmp_path("voice.m4a"), &a, &err), SORI_ERR_UNSUPPORTED);
    CHECK(strstr(err.message, "MP4/M4A") != NULL, "m4a: %s", err.message);
}

/* WAV: a changed sample byte is audio (PCM has no checksum); a broken
 * chunk header leaves nothing to decode; a cut file keeps its first half. */
static void test_wav(const char *path)
{
    size_t n = 0;
    unsigned char *b = slurp(path, &n), *m = malloc(n);
    sori_audio a = {0};
    sori_audio_damage d;
    sori_error err = {0};
    CHECK_STATUS(sori_audio_read_file(path, &a, &err), SORI_OK);
    g_intact_frames = a.n_frames;
    sori_audio_free(&a);
    memcpy(m, b, n);
    m[n / 2] ^= 0x55;
    spit(tmp_path("byte_a.wav"), m, n, NULL, 0);
    CHECK_STATUS(sori_audio_read_file_with_params(tmp_path("byte_a.wav"), NULL, &a, &d, &err), SORI_OK);
    CHECK(d.n_places == 0, "a changed PCM byte is audio, not damage");
    sori_audio_free(&a);
    memcpy(m, b, n);
    m[12] = 0x01, m[13] = 0xfe; /* the 'fmt ' chunk's name */
    spit(tmp_path("header_a.wav"), m, n, NULL, 0);
    check_strict("a.wav: header", tmp_path("header_a.wav"), 12, 12, 0, 0);
    sori_audio_read_params p = sori_audio_read_default_params();
    p.allow_damaged = true;
    CHECK_STATUS(sori_audio_read_file_with_params(tmp_path("header_a.wav"), &p, &a, &d, &err), SORI_ERR_FORMAT);
    CHECK(strstr(err.message, "nothing decodable") && d.n_places == 1, "wav header, allowed: %s", err.message);
    spit(tmp_path("cut_a.wav"), b, n / 2, NULL, 0);
    check_strict("a.wav: cut", tmp_path("cut_a.wav"), n / 2, n / 2, 4.9, 5.1);
    check_allowed("a.wav: cut", tmp_path("cut_a.wav"), 0, 1);
    {   /* the same bytes named like MP3 (the MPEG scan takes them by name, then libsndfile): found by fuzz_audio */
        size_t nc = 0;
        unsigned char *cb = slurp(tmp_path("cut_a.wav"), &nc);
        spit(tmp_path("cut_a.mp3"), cb, nc, NULL, 0);
        free(cb);
        reader_agrees("a.wav cut, named .mp3", tmp_path("cut_a.mp3"), 0);
        reader_agrees("a.wav cut, named .mp3", tmp_path("cut_a.mp3"), 1);
    }
    free(m);
    free(b);
}

/* Hostile containers found by review, each a regression: a FLAC frame that
 * ends one byte after its header (its CRC-16 is 0 there) once made the
 * rebuild copy SIZE_MAX bytes, strict reads too; 5,000 Ogg pages each
 * opening a new logical stream took quadratic time (now at most 256 streams
 * are followed; the time is printed, not checked). */
static void test_hostile_containers(void)
{
    uint8_t c8t[256];
    uint16_t c16t[256];
    for (int i = 0; i < 256; i++) {
        unsigned a = (unsigned)i, b = (unsigned)i << 8;
        for (int k = 0; k < 8; k++) {
            a = a & 0x80 ? (a << 1) ^ 7 : a << 1;
            b = b & 0x8000 ? (b << 1) ^ 0x8005 : b << 1;
        }
        c8t[i] = (uint8_t)a;
        c16t[i] = (uint16_t)b;
    }
    /* fLaC, STREAMINFO (4096-sample blocks, 44.1 kHz mono 16-bit), 3 bytes of
     * garbage, a variable-blocksize frame header numbered v plus one byte B
     * with CRC-16(header, B) = 0, then a header numbered v + 192 */
    unsigned char f[128];
    size_t n = 0;
    memcpy(f, "fLaC\x80\x00\x00\x22", 8);
    n = 8;
    memset(f + n, 0, 34);
    f[n + 2] = 0x10, f[n + 10] = 0x0A, f[n + 11] = 0xC4, f[n + 12] = 0x40, f[n + 13] = 0xF0;
    n += 34;
    memcpy(f + n, "abc", 3);
    n += 3;
    int found = 0;
    uint64_t v = 0;
    for (; v < (1u << 24) && !found; v++) {
        unsigned char *h = f + n;
        const unsigned char head[5] = {0xff, 0xf9, 0x10, 0x00, 0xfe};
        memcpy(h, head, 5);
        for (int k = 0; k < 6; k++)
            h[5 + k] = (unsigned char)(0x80 | ((v >> (6 * (5 - k))) & 0x3f));
        uint8_t c = 0;
        for (int k = 0; k < 11; k++)
            c = c8t[c ^ h[k]];
        h[11] = c;
        for (int b = 0; b < 256 && !found; b++) {
            h[12] = (unsigned char)b;
            unsigned d = 0;
            for (int k = 0; k < 13; k++)
                d = ((d << 8) ^ c16t[(d >> 8) ^ h[k]]) & 0xffff;
            found = d == 0;
        }
    }
    CHECK(found, "no one-byte FLAC frame found");
    if (found) {
        v--;
        n += 13;
        unsigned char *h = f + n;
        const unsigned char head[5] = {0xff, 0xf9, 0x10, 0x00, 0xfe};
        memcpy(h, head, 5);
        for (int k = 0; k < 6; k++)
            h[5 + k] = (unsigned char)(0x80 | (((v + 192) >> (6 * (5 - k))) & 0x3f));
        uint8_t c = 0;
        for (int k = 0; k < 11; k++)
            c = c8t[c ^ h[k]];
        h[11] = c;
        n += 12;
        memcpy(f + n, "xyzw", 4);
        n += 4;
        sori_audio a = {0};
        sori_audio_damage d;
        sori_audio_read_params p = sori_audio_read_default_params();
        sori_status st = sori_audio_read_memory_with_params(f, n, &p, &a, &d, NULL);
        CHECK(st != SORI_OK && a.samples == NULL, "a one-byte FLAC frame: strict read %d", (int)st);
        p.allow_damaged = true;
        st = sori_audio_read_memory_with_params(f, n, &p, &a, &d, NULL);
        CHECK(st != SORI_OK || a.n_frames >= 0, "a one-byte FLAC frame, allowed");
        sori_audio_free(&a);
    }
    /* 5,000 27-byte Ogg pages, each the first page of another stream */
    enum { PAGES = 5000 };
    unsigned char *o = calloc(PAGES, 27);
    uint32_t ct[256];
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i << 24;
        for (int k = 0; k < 8; k++)
            c = c & 0x80000000u ? (c << 1) ^ 0x04c11db7u : c << 1;
        ct[i] = c;
    }
    for (int i = 0; i < PAGES; i++) {
        unsigned char *pg = o + (size_t)i * 27;
        memcpy(pg, "OggS", 4);
        pg[5] = 2; /* beginning of a stream */
        pg[14] = (unsigned char)i, pg[15] = (unsigned char)(i >> 8);
        uint32_t c = 0;
        for (int k = 0; k < 27; k++)
            c = (c << 8) ^ ct[((c >> 24) ^ pg[k]) & 0xff];
        pg[22] = (unsigned char)c, pg[23] = (unsigned char)(c >> 8), pg[24] = (unsigned char)(c >> 16),
        pg[25] = (unsigned char)(c >> 24);
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    sori_audio a = {0};
    sori_error err = {0};
    sori_status st = sori_audio_read_memory(o, (size_t)PAGES * 27, &a, &err);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double s = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    CHECK(st != SORI_OK, "5,000 one-page Ogg streams read");
    CHECK(strstr(err.message, "damaged at byte") != NULL, "5,000 one-page Ogg streams: '%s'", err.message);
    printf("  5,000 one-page Ogg streams: refused in %.3f s: %s\n", s, err.message);
    sori_audio_free(&a);
    free(o);
}

int main(void)
{
    uint64_t seed = test_seed("test_audio_damage");
    sori_rng rng;
    sori_rng_seed(&rng, seed);
    if (!mkdtemp(g_dir)) {
        perror("mkdtemp");
        return 1;
    }
    sori_error err = {0};
    /* libsndfile's Vorbis pages hold seconds each: 30 s to have some */
    sori_audio s16 = signal_of(16000, 10.0), s48 = signal_of(48000, 10.0), s30 = signal_of(16000, 30.0);
    char opus[256], vorbis[256], mp3[256], flac[256], wav[256];
    snprintf(opus, sizeof opus, "%s", tmp_path("a.opus"));
    snprintf(vorbis, sizeof vorbis, "%s", tmp_path("a.ogg"));
    snprintf(mp3, sizeof mp3, "%s", tmp_path("a.mp3"));
    snprintf(flac, sizeof flac, "%s", tmp_path("a.flac"));
    snprintf(wav, sizeof wav, "%s", tmp_path("a.wav"));
    CHECK_STATUS(sori_audio_write_file(opus, &s48, SORI_ENC_OGG_OPUS, &err), SORI_OK);
    CHECK_STATUS(sori_audio_write_file(flac, &s16, SORI_ENC_FLAC, &err), SORI_OK);
    CHECK_STATUS(sori_audio_write_file(wav, &s16, SORI_ENC_WAV_PCM16, &err), SORI_OK);
    if (!write_sndfile(vorbis, SF_FORMAT_OGG | SF_FORMAT_VORBIS, &s30))
        SKIP("this libsndfile cannot write Ogg Vorbis (%s)", sf_strerror(NULL));
    int lame = write_sndfile(mp3, SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III, &s16);
    if (!lame) {
        printf("note: this libsndfile cannot write MP3 (%s): testing with silent MPEG-1 frames made here; "
               "a changed byte inside a frame is not tested (it needs a LAME tag)\n", sf_strerror(NULL));
        write_silent_mp3(mp3);
    }
    /* slack: how far from its share of the bytes the damage's time may be
     * (a page or frame, and the bitrate varying over the signal) */
    const format_case cases[] = {
        {"a.opus", ogg_page_after, 1.5, 1},
        {"a.ogg", ogg_page_after, 5.0, 1},
        {"a.mp3", mp3_frame_after, 1.0, lame},
        {"a.flac", flac_frame_after, 1.0, 1},
    };
    const char *paths[] = {opus, vorbis, mp3, flac, wav};
    test_hostile_containers();
    for (int i = 0; i < 4; i++) {
        printf("%s:\n", cases[i].name);
        test_format(&cases[i], paths[i]);
    }
    printf("a.wav:\n");
    test_wav(wav);
    g_intact_frames = s16.n_frames;
    test_no_false_alarms(opus, mp3, lame, flac);
    test_random_damage(&rng, paths, 5);
    test_misuse();
    printf("incremental reader: %d of %d files read as the whole read reads them\n", g_reader_agreed,
           g_reader_cases);
    CHECK(g_reader_cases > 600, "the reader was compared on %d files", g_reader_cases);
    sori_audio_free(&s16);
    sori_audio_free(&s48);
    sori_audio_free(&s30);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", g_dir);
    return check_finish("test_audio_damage");
}
