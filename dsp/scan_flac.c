/* FLAC frames (the FLAC format specification, RFC 9639): each frame's
 * header must pass its CRC-8 and the whole frame its CRC-16; frame (or
 * sample) numbers must follow one another; STREAMINFO's sample count must be
 * reached. libFLAC decodes a frame that fails its CRC-16 as silence and
 * libsndfile stops at a lost sync, both without an error, so the frames are
 * walked here.
 *
 * A frame has no length field: it ends where the next frame header begins.
 * The walk looks for the next header with the expected number (a header is
 * the 14-bit sync, fields agreeing with STREAMINFO and a matching CRC-8, so
 * a false one inside frame data is very unlikely), then checks the CRC-16
 * of the bytes in between. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsp/audio_scan.h"

typedef struct {
    const unsigned char *data;
    size_t end;
    int rate, channels, bps;
    uint64_t total;          /* samples per channel, 0: not stated */
    unsigned max_bs;
    size_t max_fs;           /* bytes, 0: not stated */
    int variable;            /* blocking strategy, -1 until the first frame */
    unsigned fixed_bs;       /* the block size of a fixed-blocksize stream */
    uint8_t crc8[256];
    uint16_t crc16[256];
} flac_walk;

typedef struct {
    size_t off, len, hlen;
    unsigned bs;
} kept_frame;

/* Bytes of a UTF-8-style number (FLAC frame header) from its first byte. */
static size_t utf8_len(unsigned char b)
{
    return b < 0x80 ? 1 : b < 0xe0 ? 2 : b < 0xf0 ? 3 : b < 0xf8 ? 4 : b < 0xfc ? 5 : b < 0xfe ? 6 : 7;
}

static size_t put_utf8(unsigned char *p, uint64_t v)
{
    if (v < 0x80) {
        p[0] = (unsigned char)v;
        return 1;
    }
    size_t n = v < 0x800 ? 2 : v < 0x10000 ? 3 : v < 0x200000 ? 4 : v < 0x4000000 ? 5 : v < 0x80000000u ? 6 : 7;
    for (size_t i = n - 1; i > 0; i--) {
        p[i] = (unsigned char)(0x80 | (v & 0x3f));
        v >>= 6;
    }
    p[0] = (unsigned char)((n == 7 ? 0xfe : (0xff00 >> n) & 0xff) | v);
    return n;
}

typedef struct {
    uint64_t start;          /* its first sample */
    unsigned bs;             /* samples */
    size_t hlen;             /* header bytes, with the CRC-8 */
} flac_frame;

static const int rates[12] = {0, 88200, 176400, 192000, 8000, 16000, 22050, 24000, 32000, 44100, 48000, 96000};
static const int sizes[8] = {0, 8, 12, 0, 16, 20, 24, 32};

/* 1 and *fr when a frame header that fits this stream starts at pos. */
static int frame_at(const flac_walk *w, size_t pos, flac_frame *fr)
{
    const unsigned char *p = w->data + pos;
    size_t left = w->end - pos;
    if (left < 6 || p[0] != 0xff || (p[1] & 0xfe) != 0xf8)
        return 0;
    int variable = p[1] & 1;
    if (w->variable >= 0 && variable != w->variable)
        return 0;
    int bsc = p[2] >> 4, src = p[2] & 15, ch = p[3] >> 4, ssc = p[3] >> 1 & 7;
    if (bsc == 0 || src == 15 || ch > 10 || ssc == 3 || (p[3] & 1))
        return 0;
    if ((ch < 8 ? ch + 1 : 2) != w->channels || (ssc && sizes[ssc] != w->bps) ||
        (src >= 1 && src <= 11 && rates[src] != w->rate))
        return 0;
    /* the frame or sample number, UTF-8 style */
    size_t i = 4;
    int extra = p[4] < 0x80 ? 0 : p[4] < 0xc0 ? -1 : p[4] < 0xe0 ? 1 : p[4] < 0xf0 ? 2 : p[4] < 0xf8 ? 3
              : p[4] < 0xfc ? 4 : p[4] < 0xfe ? 5 : p[4] == 0xfe ? 6 : -1;
    if (extra < 0 || (!variable && extra > 5))
        return 0;
    uint64_t num = extra ? p[4] & (0x3f >> extra) : p[4];
    if (left < i + 1 + (size_t)extra + 4)
        return 0;
    for (int k = 1; k <= extra; k++) {
        if ((p[4 + k] & 0xc0) != 0x80)
            return 0;
        num = num << 6 | (p[4 + k] & 0x3f);
    }
    i += 1 + (size_t)extra;
    unsigned bs;
    if (bsc == 1)
        bs = 192;
    else if (bsc <= 5)
        bs = 576u << (bsc - 2);
    else if (bsc == 6)
        bs = p[i++] + 1u;
    else if (bsc == 7) {
        bs = ((unsigned)p[i] << 8 | p[i + 1]) + 1u;
        i += 2;
    } else
        bs = 256u << (bsc - 8);
    i += src == 12 ? 1 : (src == 13 || src == 14) ? 2 : 0;
    if (i >= left || (w->max_bs && bs > w->max_bs))
        return 0;
    uint8_t c = 0;
    for (size_t k = 0; k < i; k++)
        c = w->crc8[c ^ p[k]];
    if (c != p[i])
        return 0;
    fr->bs = bs;
    fr->hlen = i + 1;
    fr->start = variable ? num : num * (w->fixed_bs ? w->fixed_bs : bs);
    return 1;
}

/* The next frame header after pos starting at or after sample `from`, or
 * w->end. */
static size_t next_frame(const flac_walk *w, size_t pos, uint64_t from, flac_frame *fr)
{
    for (size_t q = pos + 1; q + 1 < w->end; q++) {
        const unsigned char *hit = memchr(w->data + q, 0xff, w->end - q);
        if (!hit)
            break;
        q = (size_t)(hit - w->data);
        /* a header found in garbage passes its CRC-8 one time in 256: one
         * whose number leaps further than the skipped bytes could hold (a
         * generous 256 samples a byte, plus a few largest blocks) is not
         * believed, or it would swallow every real frame before it */
        if (frame_at(w, q, fr) && fr->start >= from &&
            fr->start - from <= (uint64_t)(q - pos) * 256 + ((uint64_t)65536 << 3))
            return q;
    }
    return w->end;
}

int audio_scan_flac(const unsigned char *data, size_t size, audio_scan *s)
{
    memset(s, 0, sizeof *s);
    flac_walk w;
    memset(&w, 0, sizeof w);
    w.data = data;
    w.variable = -1;
    for (int i = 0; i < 256; i++) {
        unsigned c8 = (unsigned)i, c16 = (unsigned)i << 8;
        for (int k = 0; k < 8; k++) {
            c8 = c8 & 0x80 ? (c8 << 1) ^ 0x07 : c8 << 1;
            c16 = c16 & 0x8000 ? (c16 << 1) ^ 0x8005 : c16 << 1;
        }
        w.crc8[i] = (uint8_t)c8;
        w.crc16[i] = (uint16_t)c16;
    }
    size_t pos = 0, n;
    while ((n = audio_scan_id3v2_size(data + pos, size - pos)) > 0)
        pos += n;
    if (size - pos < 4 + 4 + 34 || memcmp(data + pos, "fLaC", 4) != 0 || (data[pos + 4] & 0x7f) != 0)
        return 0; /* no STREAMINFO: libsndfile's to refuse */
    const unsigned char *si = data + pos + 8;
    w.max_bs = (unsigned)si[2] << 8 | si[3];
    w.max_fs = (size_t)si[7] << 16 | (size_t)si[8] << 8 | si[9];
    w.rate = si[10] << 12 | si[11] << 4 | si[12] >> 4;
    w.channels = (si[12] >> 1 & 7) + 1;
    w.bps = ((si[12] & 1) << 4 | si[13] >> 4) + 1;
    w.total = (uint64_t)(si[13] & 15) << 32 | (uint64_t)si[14] << 24 | (uint64_t)si[15] << 16 |
              (uint64_t)si[16] << 8 | si[17];
    if (w.rate <= 0)
        return 0;
    const double rate = w.rate;
    /* metadata blocks up to the one flagged last */
    pos += 4;
    for (;;) {
        if (size - pos < 4) {
            audio_scan_damage(s, (int64_t)pos, 0, 0, 0, DAMAGE_AT_END | DAMAGE_LENGTH_UNKNOWN,
                              "the file ends in the FLAC metadata");
            return 0;
        }
        size_t len = (size_t)data[pos + 1] << 16 | (size_t)data[pos + 2] << 8 | data[pos + 3];
        int last = data[pos] & 0x80;
        if (len > size - pos - 4) {
            audio_scan_damage(s, (int64_t)pos, 0, 0, 0, DAMAGE_AT_END | DAMAGE_LENGTH_UNKNOWN,
                              "a FLAC metadata block runs past the end of the file");
            return 0;
        }
        pos += 4 + len;
        if (last)
            break;
    }
    const size_t frames0 = pos;
    w.end = audio_scan_strip_trailing_tags(data, size);
    if (w.end < frames0)
        w.end = frames0;
    size_t zero_tail = w.end; /* zero padding at the end is not damage */
    while (zero_tail > frames0 && data[zero_tail - 1] == 0)
        zero_tail--;
    /* a frame's bytes at most: STREAMINFO's bound, else the format's
     * (65535 samples of 8 channels at 32 bits, stored verbatim) */
    const size_t limit = w.max_fs ? w.max_fs + 64 : (size_t)65535 * 8 * 4 + 1024;

    kept_frame *keep = NULL;
    int n_keep = 0, cap_keep = 0, oom = 0, cut = 0;
    size_t kept_bytes = 0;
    uint64_t expected = 0; /* the next frame's first sample */
    /* bytes the end searches may read in all: an intact file needs about its
     * size; hostile runs of headers with skipped numbers would otherwise make
     * every search run to `limit` (quadratic) */
    size_t scanned = 0;
    const size_t budget = 16 * size + ((size_t)4 << 20);
    while (pos < w.end && !oom) {
        flac_frame fr;
        if (!frame_at(&w, pos, &fr)) {
            size_t q = next_frame(&w, pos, expected, &fr);
            if (q == w.end && pos >= zero_tail)
                break;
            double from = expected / rate, to = q < w.end ? fr.start / rate : w.total > expected ? w.total / rate : from;
            audio_scan_damage(s, (int64_t)pos, from, to, to - from,
                              q < w.end ? 0 : DAMAGE_AT_END | (w.total ? 0 : DAMAGE_LENGTH_UNKNOWN),
                              q < w.end ? "%zu bytes are not FLAC frames (a damaged frame header or garbage)"
                                        : "the last %zu bytes are not whole FLAC frames (the file is cut short or its end damaged)",
                              q - pos);
            if (q == w.end) {
                cut = 1;
                break;
            }
            expected = fr.start;
            pos = q;
            continue;
        }
        if (w.variable < 0) {
            w.variable = data[pos + 1] & 1;
            w.fixed_bs = w.variable ? 0 : fr.bs;
            frame_at(&w, pos, &fr);
        }
        if (fr.start < expected) { /* a repeated frame, or numbers going back: not kept */
            flac_frame nf2;
            size_t q = next_frame(&w, pos, expected, &nf2);
            audio_scan_damage(s, (int64_t)pos, expected / rate, expected / rate, 0,
                              q < w.end ? 0 : DAMAGE_AT_END | (w.total ? 0 : DAMAGE_LENGTH_UNKNOWN),
                              "a FLAC frame numbered back (sample %llu after %llu)",
                              (unsigned long long)fr.start, (unsigned long long)expected);
            if (q == w.end) {
                cut = 1;
                break;
            }
            pos = q;
            continue;
        }
        if (fr.start > expected)
            audio_scan_damage(s, (int64_t)pos, expected / rate, fr.start / rate,
                              (fr.start - expected) / rate, 0, "FLAC frames are missing (%.3f s)",
                              (fr.start - expected) / rate);
        /* its end: the next header with the following number, where the
         * CRC-16 of the frame (its stored CRC included) comes to 0 */
        const uint64_t next = fr.start + fr.bs;
        unsigned crc = 0;
        size_t p = pos, good_end = 0, damaged_end = 0, later = 0, similar_end = 0;
        flac_frame nf;
        for (; p < w.end && p - pos <= limit && scanned + (p - pos) < budget; p++) {
            /* everything below needs a sync byte or a CRC of 0, both rare in
             * compressed data: the common byte only updates the CRC */
            if (data[p] != 0xff && crc != 0) {
                crc = ((crc << 8) ^ w.crc16[(crc >> 8) ^ data[p]]) & 0xffff;
                continue;
            }
            if (p >= pos + fr.hlen + 2 && data[p] == 0xff && frame_at(&w, p, &nf)) {
                if (nf.start == next) {
                    if (crc == 0)
                        good_end = p;
                    else
                        damaged_end = p;
                    break;
                }
                if (nf.start > next && !later)
                    later = p;
            }
            if (p == zero_tail && crc == 0 && p >= pos + fr.hlen + 2) {
                good_end = p;
                break;
            }
            /* a damaged next header: this frame's CRC-16 holds where 3 of
             * the 4 first header bytes are the same as this frame's */
            if (crc == 0 && !similar_end && p >= pos + fr.hlen + 2 && w.end - p >= 4 &&
                (data[p] == data[pos]) + (data[p + 1] == data[pos + 1]) + (data[p + 2] == data[pos + 2]) +
                        (data[p + 3] == data[pos + 3]) >= 3)
                similar_end = p;
            crc = ((crc << 8) ^ w.crc16[(crc >> 8) ^ data[p]]) & 0xffff;
        }
        scanned += p - pos;
        if (!good_end && !damaged_end && p == w.end && crc == 0 && p >= pos + fr.hlen + 2)
            good_end = w.end;
        if (!good_end && !damaged_end && similar_end)
            good_end = similar_end;
        if (good_end) {
            if (n_keep == cap_keep) {
                int nc = cap_keep ? 2 * cap_keep : 64;
                kept_frame *nk = realloc(keep, (size_t)nc * sizeof *nk);
                if (!nk) {
                    oom = 1;
                    break;
                }
                keep = nk;
                cap_keep = nc;
            }
            keep[n_keep++] = (kept_frame){pos, good_end - pos, fr.hlen, fr.bs};
            kept_bytes += good_end - pos;
            expected = next;
            pos = good_end;
            continue;
        }
        size_t q = damaged_end ? damaged_end : later ? later : p < w.end ? next_frame(&w, pos, next, &nf) : w.end;
        if (q < w.end) {
            frame_at(&w, q, &nf);
            audio_scan_damage(s, (int64_t)pos, fr.start / rate, nf.start / rate,
                              (nf.start - fr.start) / rate, 0,
                              damaged_end ? "FLAC frame %llu fails its CRC" : "FLAC frames from %llu on are damaged",
                              (unsigned long long)(w.variable ? fr.start : fr.start / (w.fixed_bs ? w.fixed_bs : 1)));
            expected = nf.start;
            pos = q;
            continue;
        }
        double to = w.total > fr.start ? w.total / rate : next / rate;
        audio_scan_damage(s, (int64_t)pos, fr.start / rate, to, to - fr.start / rate,
                          DAMAGE_AT_END | (w.total ? 0 : DAMAGE_LENGTH_UNKNOWN),
                          "the file ends in the middle of a FLAC frame");
        cut = 1;
        break;
    }
    if (!oom && !cut && w.total > expected)
        audio_scan_damage(s, (int64_t)w.end, expected / rate, w.total / rate,
                          (w.total - expected) / rate, DAMAGE_AT_END,
                          "STREAMINFO declares %.3f s, the frames hold %.3f s (cut short)",
                          w.total / rate, expected / rate);
    if (!oom && !s->damage.n_places) {
        oom = audio_scan_add_piece(s, data, size, w.total ? w.total / rate : -1) != 0;
    } else if (!oom && n_keep) {
        /* The intact frames, numbered again from 0 as if nothing were
         * missing: libFLAC fills a gap in the numbers with silence, but at
         * most 5 s of it, so sori puts the silence back itself (the gaps). */
        unsigned char *b = malloc(frames0 + kept_bytes + (size_t)n_keep * 8);
        if (!b) {
            oom = 1;
        } else {
            memcpy(b, data, frames0);
            size_t o = frames0;
            uint64_t samples = 0;
            for (int k = 0; k < n_keep; k++) {
                const unsigned char *f = data + keep[k].off;
                size_t start = o, old_num = utf8_len(f[4]);
                memcpy(b + o, f, 4);
                o += 4;
                o += put_utf8(b + o, w.variable ? samples : (uint64_t)k);
                size_t rest = keep[k].hlen - 1 - 4 - old_num; /* block size, rate */
                memcpy(b + o, f + 4 + old_num, rest);
                o += rest;
                uint8_t c8 = 0;
                for (size_t i = start; i < o; i++)
                    c8 = w.crc8[c8 ^ b[i]];
                b[o++] = c8;
                size_t body = keep[k].len >= keep[k].hlen + 2 ? keep[k].len - keep[k].hlen - 2 : 0;
                memcpy(b + o, f + keep[k].hlen, body);
                o += body;
                unsigned c16 = 0;
                for (size_t i = start; i < o; i++)
                    c16 = ((c16 << 8) ^ w.crc16[(c16 >> 8) ^ b[i]]) & 0xffff;
                b[o++] = (unsigned char)(c16 >> 8);
                b[o++] = (unsigned char)c16;
                samples += keep[k].bs;
            }
            /* STREAMINFO's sample count: what the frames now hold */
            unsigned char *t = b + (si - data) + 13;
            t[0] = (unsigned char)((t[0] & 0xf0) | (samples >> 32 & 15));
            t[1] = (unsigned char)(samples >> 24);
            t[2] = (unsigned char)(samples >> 16);
            t[3] = (unsigned char)(samples >> 8);
            t[4] = (unsigned char)samples;
            s->owned = b;
            oom = audio_scan_add_piece(s, b, o, -1) != 0;
        }
    }
    free(keep);
    if (oom) {
        snprintf(s->error, sizeof s->error, "out of memory");
        return -1;
    }
    return 0;
}
