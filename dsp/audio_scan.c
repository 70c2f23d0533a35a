/* What the container scans share: the damage report, the pieces handed to
 * the decoder, tags around MPEG and FLAC data, and sniffing the container. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsp/audio_scan.h"

void audio_scan_damage(audio_scan *s, int64_t byte_offset, double from_s, double to_s,
                       double lost_s, int flags, const char *fmt, ...)
{
    sori_audio_damage *d = &s->damage;
    /* times come from the file (granules, frame numbers): a hostile one can
     * be anything, NaN included; keep them within what sori reads at all */
    const double max_s = SORI_AUDIO_MAX_SECONDS;
    from_s = from_s >= 0 ? (from_s < max_s ? from_s : max_s) : 0;
    to_s = to_s >= from_s ? (to_s < max_s ? to_s : max_s) : from_s;
    lost_s = lost_s >= 0 ? (lost_s < max_s ? lost_s : max_s) : 0;
    if (lost_s > 0 && !(flags & DAMAGE_AT_END)) {
        if (s->n_gaps == s->cap_gaps) {
            int cap = s->cap_gaps ? 2 * s->cap_gaps : 16;
            scan_gap *g = realloc(s->gaps, (size_t)cap * sizeof *g);
            if (g) {
                s->gaps = g;
                s->cap_gaps = cap;
            }
        }
        if (s->n_gaps < s->cap_gaps) /* else the timeline shifts: no worse than libsndfile's */
            s->gaps[s->n_gaps++] = (scan_gap){from_s, lost_s};
    }
    /* the first place in the file; a place the decoder found (byte -1) comes last */
    if (d->n_places == 0 || (byte_offset >= 0 && (d->byte_offset < 0 || byte_offset < d->byte_offset))) {
        d->byte_offset = byte_offset;
        d->lost_from_s = from_s;
        d->lost_to_s = to_s;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(d->reason, sizeof d->reason, fmt, ap);
        va_end(ap);
    }
    d->n_places++;
    d->lost_s += lost_s;
    d->length_unknown = d->length_unknown || (flags & DAMAGE_LENGTH_UNKNOWN);
}

int audio_scan_add_piece(audio_scan *s, const unsigned char *data, size_t size, double expected_s)
{
    scan_piece *p = realloc(s->pieces, (size_t)(s->n_pieces + 1) * sizeof *p);
    if (!p) {
        snprintf(s->error, sizeof s->error, "out of memory");
        return -1;
    }
    s->pieces = p;
    s->pieces[s->n_pieces++] = (scan_piece){data, size, expected_s};
    return 0;
}

void audio_scan_free(audio_scan *s)
{
    if (!s)
        return;
    free(s->pieces);
    free(s->owned);
    free(s->gaps);
    memset(s, 0, sizeof *s);
}

/* ID3v2 (id3.org, v2.3/v2.4 §3.1): "ID3", version, flags, a 28-bit
 * synchsafe size of what follows the 10-byte header, +10 with a footer. */
size_t audio_scan_id3v2_size(const unsigned char *p, size_t size)
{
    if (size < 10 || memcmp(p, "ID3", 3) != 0 || p[3] == 0xff || p[4] == 0xff ||
        ((p[6] | p[7] | p[8] | p[9]) & 0x80))
        return 0;
    size_t n = 10 + ((size_t)p[6] << 21 | (size_t)p[7] << 14 | (size_t)p[8] << 7 | p[9]);
    if (p[5] & 0x10)
        n += 10;
    return n <= size ? n : 0;
}

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The APEv2 footer (32 bytes: "APETAGEX", version, size of items + footer,
 * item count, flags) ending at `end`; the tag's start, or `end` if none. */
static size_t ape_start(const unsigned char *data, size_t end)
{
    if (end < 32 || memcmp(data + end - 32, "APETAGEX", 8) != 0)
        return end;
    const unsigned char *f = data + end - 32;
    size_t n = le32(f + 12);
    if (le32(f + 20) & 0x80000000u) /* a header too */
        n += 32;
    return n <= end ? end - n : end;
}

size_t audio_scan_strip_trailing_tags(const unsigned char *data, size_t size)
{
    size_t end = size;
    for (int round = 0; round < 3; round++) { /* the tags may come in any order */
        size_t before = end;
        if (end >= 128 && memcmp(data + end - 128, "TAG", 3) == 0)
            end -= 128;
        end = ape_start(data, end);
        /* Lyrics3 v2: "LYRICSBEGIN" … 6-digit size, "LYRICS200" */
        if (end >= 15 && memcmp(data + end - 9, "LYRICS200", 9) == 0) {
            size_t n = 0;
            int ok = 1;
            for (int i = 0; i < 6; i++) {
                unsigned char c = data[end - 15 + i];
                ok = ok && c >= '0' && c <= '9';
                n = n * 10 + (size_t)(c - '0');
            }
            if (ok && n + 15 <= end && memcmp(data + end - 15 - n, "LYRICSBEGIN", 11) == 0)
                end -= n + 15;
        }
        if (end == before)
            break;
    }
    return end;
}

int audio_scan_ape_has_item(const unsigned char *data, size_t size, const char *key)
{
    size_t end = size;
    if (end >= 128 && memcmp(data + end - 128, "TAG", 3) == 0)
        end -= 128;
    size_t start = ape_start(data, end);
    if (start == end)
        return 0;
    const unsigned char *f = data + end - 32;
    size_t p = start + (le32(f + 20) & 0x80000000u ? 32 : 0), items_end = end - 32;
    size_t klen = strlen(key);
    for (uint32_t i = 0, n = le32(f + 16); i < n && p + 8 < items_end; i++) {
        size_t vlen = le32(data + p);
        size_t k = p + 8, e = k;
        while (e < items_end && data[e])
            e++;
        if (e >= items_end)
            return 0;
        if (e - k == klen && memcmp(data + k, key, klen) == 0)
            return 1;
        if (vlen > items_end - e - 1)
            return 0;
        p = e + 1 + vlen;
    }
    return 0;
}

/* MPEG audio frame header (ISO 11172-3 / 13818-3): 11 sync bits, a version
 * other than "reserved", a layer, a bitrate index other than "free" and
 * "bad", a sample-rate index other than "reserved". */
static int mpeg_sync(const unsigned char *p)
{
    return p[0] == 0xff && (p[1] & 0xe0) == 0xe0 && (p[1] & 0x18) != 0x08 && (p[1] & 0x06) != 0 &&
           (p[2] & 0xf0) != 0xf0 && (p[2] & 0xf0) != 0 && (p[2] & 0x0c) != 0x0c;
}

scan_kind audio_scan_sniff(const unsigned char *data, size_t size)
{
    size_t off = 0, n;
    while ((n = audio_scan_id3v2_size(data + off, size - off)) > 0)
        off += n;
    const unsigned char *p = data + off;
    size_t left = size - off;
    if (left >= 4 && memcmp(p, "OggS", 4) == 0)
        return SCAN_OGG;
    if (left >= 4 && memcmp(p, "fLaC", 4) == 0)
        return SCAN_FLAC;
    if (off > 0)
        return SCAN_MPEG; /* an ID3v2 tag, then anything: MPEG audio's to check */
    if (left >= 4 && mpeg_sync(p))
        return SCAN_MPEG;
    return SCAN_NONE;
}
