/* MPEG audio frames (ISO/IEC 11172-3 and 13818-3, layers I/II/III, MPEG
 * 2.5): the frames are walked from the first to the last by their lengths,
 * and every break in the chain is a damaged place. A Xing/Info or VBRI
 * frame's frame count and a LAME tag's CRC-16 of the audio are checked too.
 *
 * libsndfile (through libmpg123) stops reading at the length mpg123 reports,
 * which for a file without a Xing count is an estimate from the first
 * frame's bitrate: a VBR file without one comes back cut short. So when the
 * count is missing or wrong (or frames were dropped) the decoder is given
 * the frames behind a Xing frame that states their number. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsp/audio_scan.h"

typedef struct {
    int v1;              /* MPEG-1 (else 2 or 2.5) */
    int layer;           /* 1..3 */
    int bitrate_index, rate_index, rate_hz;
    size_t len;          /* bytes */
    int spf;             /* samples per frame */
    int side;            /* layer III side information, bytes */
    uint32_t key;        /* what every frame of one stream shares */
} mpeg_frame;

static const short kbps[2][3][16] = {
    {{0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448, 0},
     {0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384, 0},
     {0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 0}},
    {{0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256, 0},
     {0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160, 0},
     {0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160, 0}},
};

static size_t frame_len(int v1, int layer, int br_kbps, int rate, int pad)
{
    size_t br = (size_t)br_kbps * 1000;
    if (layer == 1)
        return (12 * br / (size_t)rate + (size_t)pad) * 4;
    if (layer == 3 && !v1)
        return 72 * br / (size_t)rate + (size_t)pad;
    return 144 * br / (size_t)rate + (size_t)pad;
}

/* 1 and *f when p (4 bytes) is a frame header sori can walk (free-format
 * frames have no stated length: not walkable). */
static int parse_frame(const unsigned char *p, mpeg_frame *f)
{
    if (p[0] != 0xff || (p[1] & 0xe0) != 0xe0)
        return 0;
    int ver = p[1] >> 3 & 3, layer_bits = p[1] >> 1 & 3, bri = p[2] >> 4, sri = p[2] >> 2 & 3;
    if (ver == 1 || layer_bits == 0 || bri == 0 || bri == 15 || sri == 3)
        return 0;
    static const int rates[3] = {44100, 48000, 32000};
    f->v1 = ver == 3;
    f->layer = 4 - layer_bits;
    f->bitrate_index = bri;
    f->rate_index = sri;
    f->rate_hz = rates[sri] >> (ver == 3 ? 0 : ver == 2 ? 1 : 2);
    f->len = frame_len(f->v1, f->layer, kbps[f->v1 ? 0 : 1][f->layer - 1][bri], f->rate_hz, p[2] >> 1 & 1);
    f->spf = f->layer == 1 ? 384 : (f->layer == 3 && !f->v1) ? 576 : 1152;
    int mono = (p[3] >> 6) == 3;
    f->side = f->layer != 3 ? 0 : f->v1 ? (mono ? 17 : 32) : (mono ? 9 : 17);
    f->key = (uint32_t)ver << 8 | (uint32_t)layer_bits << 4 | (uint32_t)sri << 2 | (uint32_t)mono;
    return f->len >= 4 + (p[1] & 1 ? 0 : 2);
}

typedef struct {
    const unsigned char *data;
    size_t end; /* the audio's end, trailing tags set aside */
    uint32_t key;
} walk;

/* n frames of one stream follow one another from pos (or the audio ends
 * after at least one). */
static int frames_follow(const walk *w, size_t pos, int n)
{
    uint32_t key = w->key;
    for (int k = 0; k < n; k++) {
        if (pos == w->end)
            return k > 0;
        mpeg_frame f;
        if (w->end - pos < 4 || !parse_frame(w->data + pos, &f) || (key && f.key != key) ||
            f.len > w->end - pos)
            return 0;
        key = f.key;
        pos += f.len;
    }
    return 1;
}

/* The next place after pos where n frames follow one another, or w->end. */
static size_t next_sync(const walk *w, size_t pos, int n)
{
    size_t q = pos;
    do {
        const unsigned char *hit = memchr(w->data + q + 1, 0xff, w->end - q - 1);
        q = hit ? (size_t)(hit - w->data) : w->end;
    } while (q < w->end && !frames_follow(w, q, n));
    return q;
}

static int all_zero(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return 0;
    return 1;
}

static unsigned be16(const unsigned char *p)
{
    return (unsigned)p[0] << 8 | p[1];
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* CRC-16 as LAME computes it for its tag (poly 0x8005, reflected, init 0). */
static unsigned crc16_lame(const unsigned char *p, size_t n, unsigned c)
{
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = c & 1 ? (c >> 1) ^ 0xa001u : c >> 1;
    }
    return c & 0xffff;
}

typedef struct {
    int present;          /* a Xing/Info or VBRI frame */
    int has_count;
    uint32_t frames;      /* audio frames it declares */
    size_t count_at, bytes_at; /* where the frame count and byte count are, 0: absent */
    int lame_ok;          /* a LAME tag whose own CRC holds */
    int delay, padding;   /* encoder delay and padding (LAME tag) */
    uint32_t music_len;   /* LAME: bytes from this frame's start to the audio's end */
    unsigned music_crc;
} info_frame;

/* The Xing/Info (Xing's header, LAME's tag) or VBRI frame, if f is one. */
static void parse_info(const unsigned char *p, const mpeg_frame *f, info_frame *in)
{
    memset(in, 0, sizeof *in);
    size_t x = 4 + (p[1] & 1 ? 0 : 2) + (size_t)f->side;
    if (f->layer == 3 && x + 8 <= f->len && (memcmp(p + x, "Xing", 4) == 0 || memcmp(p + x, "Info", 4) == 0)) {
        in->present = 1;
        uint32_t flags = be32(p + x + 4);
        size_t o = x + 8;
        if (flags & 1) {
            if (o + 4 > f->len)
                return;
            in->has_count = 1;
            in->count_at = o;
            in->frames = be32(p + o);
            o += 4;
        }
        if ((flags & 2) && o + 4 <= f->len)
            in->bytes_at = o;
        o += (flags & 2 ? 4 : 0) + (flags & 4 ? 100 : 0) + (flags & 8 ? 4 : 0);
        /* the LAME tag: 36 bytes, its CRC over the frame up to itself */
        if (o + 36 <= f->len && crc16_lame(p, o + 34, 0) == be16(p + o + 34)) {
            in->lame_ok = 1;
            in->delay = p[o + 21] << 4 | p[o + 22] >> 4;
            in->padding = (p[o + 22] & 15) << 8 | p[o + 23];
            in->music_len = be32(p + o + 28);
            in->music_crc = be16(p + o + 32);
        }
    } else if (f->layer == 3 && 36 + 18 <= f->len && memcmp(p + 36, "VBRI", 4) == 0) {
        in->present = 1;
        in->has_count = 1;
        in->bytes_at = 36 + 10;
        in->count_at = 36 + 14;
        in->frames = be32(p + 36 + 14);
    }
}

static void put_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

typedef struct {
    size_t off, len;
} range;

static int push_range(range **r, int *n, int *cap, size_t off, size_t len)
{
    if (*n && (*r)[*n - 1].off + (*r)[*n - 1].len == off) {
        (*r)[*n - 1].len += len;
        return 0;
    }
    if (*n == *cap) {
        int nc = *cap ? 2 * *cap : 16;
        range *p = realloc(*r, (size_t)nc * sizeof *p);
        if (!p)
            return -1;
        *r = p;
        *cap = nc;
    }
    (*r)[(*n)++] = (range){off, len};
    return 0;
}

/* A Xing frame stating n_frames, shaped like the stream's frame f (header
 * bytes h): same version, layer, rate and mode, no CRC, a bitrate whose
 * frame holds the Xing fields. Returns its length, 0 if none fits. */
static size_t xing_frame(const unsigned char *h, const mpeg_frame *f, uint32_t n_frames,
                         unsigned char *out, size_t cap)
{
    for (int bri = 1; bri < 15; bri++) {
        size_t len = frame_len(f->v1, f->layer, kbps[f->v1 ? 0 : 1][f->layer - 1][bri], f->rate_hz, 0);
        size_t x = 4 + (size_t)f->side;
        if (len < x + 12 || len > cap)
            continue;
        memset(out, 0, len);
        out[0] = 0xff;
        out[1] = h[1] | 1;
        out[2] = (unsigned char)(bri << 4 | f->rate_index << 2 | (h[2] & 1));
        out[3] = h[3];
        memcpy(out + x, "Xing", 4);
        out[x + 7] = 1; /* flags: the frame count */
        out[x + 8] = (unsigned char)(n_frames >> 24);
        out[x + 9] = (unsigned char)(n_frames >> 16);
        out[x + 10] = (unsigned char)(n_frames >> 8);
        out[x + 11] = (unsigned char)n_frames;
        return len;
    }
    return 0;
}

int audio_scan_mpeg(const unsigned char *data, size_t size, audio_scan *s)
{
    memset(s, 0, sizeof *s);
    size_t start = 0, n;
    while ((n = audio_scan_id3v2_size(data + start, size - start)) > 0)
        start += n;
    walk w = {data, audio_scan_strip_trailing_tags(data, size), 0};
    if (w.end < start)
        w.end = start;
    while (start < w.end && data[start] == 0) /* padding after a tag */
        start++;
    /* the first frame: where three follow one another (or the audio ends) */
    size_t first = start < w.end && frames_follow(&w, start, 3) ? start : start < w.end ? next_sync(&w, start, 3) : w.end;
    if (first >= w.end)
        return 0; /* no MPEG audio here: not ours to judge */
    mpeg_frame f0;
    parse_frame(data + first, &f0);
    w.key = f0.key;
    const double rate = f0.rate_hz;
    info_frame info;
    parse_info(data + first, &f0, &info);
    size_t audio0 = first + (info.present ? f0.len : 0);
    const double skip = info.lame_ok ? info.delay + 529 : 0; /* what a gapless decoder drops */
#define T(i) (((double)(i) * f0.spf > skip ? (double)(i) * f0.spf - skip : 0) / rate)
    if (first > start && !all_zero(data + start, first - start))
        audio_scan_damage(s, (int64_t)start, 0, 0, 0, 0,
                          "%zu bytes before the first MPEG frame are not audio", first - start);

    range *keep = NULL;
    int n_keep = 0, cap_keep = 0, oom = 0;
    int64_t i = 0, kept = 0; /* frames in the timeline (lost ones included), frames kept */
    size_t kept_bytes = 0, pos = audio0, max_len = f0.len;
    int cut = 0;
    while (pos < w.end && !oom) {
        mpeg_frame f;
        int hdr = w.end - pos >= 4 && parse_frame(data + pos, &f) && f.key == w.key;
        if (hdr && f.len <= w.end - pos) {
            oom = push_range(&keep, &n_keep, &cap_keep, pos, f.len) != 0;
            kept++;
            kept_bytes += f.len;
            if (f.len > max_len)
                max_len = f.len;
            i++;
            pos += f.len;
            continue;
        }
        if (hdr && next_sync(&w, pos, 2) == w.end) { /* a frame the file ends in */
            double to = info.has_count && info.frames > (uint32_t)i ? T(info.frames) : T(i + 1);
            audio_scan_damage(s, (int64_t)pos, T(i), to, to - T(i),
                              DAMAGE_AT_END | (info.has_count ? 0 : DAMAGE_LENGTH_UNKNOWN),
                              "the file ends in the middle of an MPEG frame");
            cut = 1;
            break;
        }
        size_t tag = audio_scan_id3v2_size(data + pos, w.end - pos);
        /* files put one after another, or a tag appended at the end */
        if (tag && (pos + tag == w.end || frames_follow(&w, pos + tag, 2))) {
            pos += tag;
            continue;
        }
        if (w.end - pos >= 128 && memcmp(data + pos, "TAG", 3) == 0 && frames_follow(&w, pos + 128, 2)) {
            pos += 128;
            continue;
        }
        /* lost sync: on at the next place where frames follow one another */
        size_t q = next_sync(&w, pos, 3);
        if (q == w.end && all_zero(data + pos, w.end - pos))
            break; /* zero padding at the end */
        /* frames lost: at least what the bytes could hold at the longest
         * frame seen (a damaged header costs its own frame) */
        int64_t lost = (int64_t)((q - pos + max_len - 1) / max_len);
        if (q == w.end && info.has_count && info.frames > (uint32_t)i)
            lost = (int64_t)info.frames - i;
        if (q == w.end && lost == 0)
            lost = 1;
        audio_scan_damage(s, (int64_t)pos, T(i), T(i + lost), T(i + lost) - T(i),
                          q < w.end ? 0 : DAMAGE_AT_END | (info.has_count ? 0 : DAMAGE_LENGTH_UNKNOWN),
                          q == w.end ? "the last %zu bytes are not whole MPEG frames (the file is cut short or its end damaged)"
                                     : "lost MPEG frame sync: %zu bytes are not MPEG frames (a damaged frame header or garbage)",
                          q - pos);
        cut = q == w.end;
        i += lost;
        pos = q;
    }
    if (!cut && !oom && info.has_count && (int64_t)info.frames > i)
        audio_scan_damage(s, (int64_t)w.end, T(i), T(info.frames), T(info.frames) - T(i), DAMAGE_AT_END,
                          "the Xing/VBRI header declares %u frames, the file holds %lld (cut short)",
                          info.frames, (long long)i);
    if (!oom && !s->damage.n_places && info.lame_ok && first + info.music_len == w.end &&
        !audio_scan_ape_has_item(data, size, "MP3GAIN_UNDO") &&
        crc16_lame(data + audio0, w.end - audio0, 0) != info.music_crc)
        audio_scan_damage(s, (int64_t)audio0, 0, T(i), 0, 0,
                          "the MPEG audio does not match its LAME tag's CRC (changed bytes, place unknown)");

    /* the decoder's input: the file itself when its frames are all there
     * and counted, else the frames kept behind their Info frame with its
     * counts set to them (so a LAME tag's gapless numbers still hold), or
     * behind a new Xing frame */
    int whole = info.has_count && (int64_t)info.frames == kept && n_keep <= 1 &&
                (n_keep == 0 || keep[0].off == audio0);
    if (!oom && whole) {
        double d = ((double)kept * f0.spf - (info.lame_ok ? info.delay + info.padding : 0)) / rate;
        /* from the first frame: libsndfile finds no MPEG audio after an
         * ID3v2 tag followed by padding */
        oom = audio_scan_add_piece(s, data + first, size - first, s->damage.n_places ? -1 : d) != 0;
    } else if (!oom && kept > 0) {
        unsigned char x[2048];
        size_t xl = 0;
        if (info.present && info.count_at && f0.len <= sizeof x) {
            memcpy(x, data + first, f0.len);
            xl = f0.len;
            put_be32(x + info.count_at, (uint32_t)kept);
            if (info.bytes_at)
                put_be32(x + info.bytes_at, (uint32_t)(xl + kept_bytes));
        } else if (f0.layer == 3) {
            xl = xing_frame(data + first, &f0, (uint32_t)kept, x, sizeof x);
        }
        unsigned char *b = malloc(xl + kept_bytes);
        if (!b) {
            oom = 1;
        } else {
            memcpy(b, x, xl);
            size_t o = xl;
            for (int k = 0; k < n_keep; k++) {
                memcpy(b + o, data + keep[k].off, keep[k].len);
                o += keep[k].len;
            }
            s->owned = b;
            oom = audio_scan_add_piece(s, b, o, (double)kept * f0.spf / rate) != 0;
        }
    }
#undef T
    free(keep);
    if (oom) {
        snprintf(s->error, sizeof s->error, "out of memory");
        return -1;
    }
    return 0;
}
