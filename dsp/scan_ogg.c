/* Ogg pages (RFC 3533): every page checked, damage placed in time by the
 * streams' granule positions (RFC 7845 §4 for Opus: 48 kHz minus the
 * pre-skip; Vorbis I spec §A.2: samples at the stream's rate), and a
 * rebuilt stream of the intact pages for the decoder.
 *
 * Page header (RFC 3533 §6): "OggS", version 0, flags (1 continued packet,
 * 2 first page of a stream, 4 last page), granule position (int64 LE),
 * serial number, page sequence number, CRC-32 (poly 0x04c11db7, not
 * reflected, initial value 0, over the page with this field zeroed),
 * segment count, lacing values. */
#include <math.h>
#include <opus.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsp/audio_scan.h"

enum { CODEC_UNKNOWN, CODEC_OPUS, CODEC_VORBIS };

typedef struct {
    uint32_t serial;
    int link, index; /* index: 1-based, in order of appearance, for messages */
    int codec;
    bool bos_seen; /* its first page was intact; else its pages are not kept */
    int64_t preskip;
    int rate;
    int blocksize[2], n_modes;
    uint8_t blockflag[64];
    bool modes_ok;
    int n_headers, headers_needed;
    bool headers_lost; /* a page of its headers is missing: it cannot be decoded */
    unsigned char *pkt; /* the header packet being put together */
    size_t pkt_len, pkt_cap;
    bool have_seq;
    uint32_t last_seq;
    size_t last_end; /* the end of its last intact page */
    double last_time; /* the end of its last complete packet; file timeline */
    bool eos;
    int last_page; /* its last kept page, -1 */
    int open_event; /* a loss whose end waits for a page with a granule, -1 */
} ogg_stream;

typedef struct {
    size_t off, size;
    int stream, link;
} ogg_page;

typedef struct {
    size_t off, end;
    double time_s;
    bool claimed, tail;
    char what[96];
} ogg_region;

typedef struct {
    int64_t byte;
    double from_s, to_s;
    int flags; /* DAMAGE_* */
    char reason[128];
} ogg_event;

typedef struct {
    double base_s; /* where the link begins in the file's timeline */
    bool data_started;
} ogg_link;

typedef struct {
    const unsigned char *data;
    size_t size;
    int rate_hint;
    uint32_t crc[256];
    ogg_stream *st;
    int n_st;
    ogg_page *pg;
    int n_pg;
    ogg_region *rg;
    int n_rg;
    ogg_event *ev;
    int n_ev;
    ogg_link *lk;
    int n_lk;
    int cap_st, cap_pg, cap_rg, cap_ev, cap_lk;
    bool oom;
    bool stop; /* too many logical streams: the rest is not scanned */
} ogg_scan;

/* Logical streams in a file at most: each page is matched against the
 * streams, so a file of tiny pages each opening a stream would take
 * quadratic time. Real files have a few. */
enum { OGG_MAX_STREAMS = 256 };

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int64_t le64(const unsigned char *p)
{
    return (int64_t)((uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32);
}

static uint32_t page_crc(const uint32_t *t, const unsigned char *p, size_t n)
{
    uint32_t c = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char b = (i >= 22 && i < 26) ? 0 : p[i];
        c = (c << 8) ^ t[((c >> 24) ^ b) & 0xff];
    }
    return c;
}

/* 1: an intact page of *n bytes at pos; 0: not a page; -1: a page header
 * whose page runs past the end of the file (*n: the size it declares, 0
 * when even the header is cut). */
static int page_at(const ogg_scan *o, size_t pos, size_t *n)
{
    const unsigned char *p = o->data + pos;
    size_t left = o->size - pos;
    *n = 0;
    if (left < 4 || memcmp(p, "OggS", 4) != 0)
        return 0;
    if (left < 27 || left < 27 + (size_t)p[26])
        return -1;
    if (p[4] != 0)
        return 0;
    size_t body = 0;
    for (int i = 0; i < p[26]; i++)
        body += p[27 + i];
    *n = 27 + (size_t)p[26] + body;
    if (*n > left)
        return -1;
    return page_crc(o->crc, p, *n) == le32(p + 22) ? 1 : 0;
}

/* Appends val to o->arr (count o->cnt, capacity o->cap); sets o->oom on
 * failure. */
#define PUSH(o, arr, cnt, cap, val)                                                    \
    do {                                                                               \
        if ((o)->cnt == (o)->cap) {                                                    \
            int nc_ = (o)->cap ? 2 * (o)->cap : 16;                                    \
            void *np_ = realloc((o)->arr, (size_t)nc_ * sizeof *(o)->arr);             \
            if (!np_) {                                                                \
                (o)->oom = true;                                                       \
                break;                                                                 \
            }                                                                          \
            (o)->arr = np_;                                                            \
            (o)->cap = nc_;                                                            \
        }                                                                              \
        (o)->arr[(o)->cnt++] = (val);                                                  \
    } while (0)

/* granule as a double: a hostile one minus the pre-skip would overflow int64 */
static double stream_time(const ogg_scan *o, const ogg_stream *s, double granule)
{
    double base = o->lk[s->link].base_s, t = base;
    if (s->codec == CODEC_OPUS)
        t = base + (granule - (double)s->preskip) / 48000.0;
    else if (s->codec == CODEC_VORBIS && s->rate > 0)
        t = base + granule / s->rate;
    else if (o->rate_hint > 0)
        t = base + granule / o->rate_hint;
    return t > base ? t : base;
}

static double stream_now(const ogg_scan *o, const ogg_stream *s)
{
    return s->last_time >= 0 ? s->last_time : o->lk[s->link].base_s;
}

/* The present end of the timeline: the latest time any stream reached. */
static double timeline_now(const ogg_scan *o)
{
    double t = o->n_lk ? o->lk[o->n_lk - 1].base_s : 0;
    for (int i = 0; i < o->n_st; i++)
        if (o->st[i].last_time > t)
            t = o->st[i].last_time;
    return t;
}

/* ---- codec headers ---- */

static int bit_at(const unsigned char *p, size_t i)
{
    return p[i >> 3] >> (i & 7) & 1;
}

static unsigned bits_at(const unsigned char *p, size_t i, int w)
{
    unsigned v = 0;
    for (int k = 0; k < w; k++)
        v |= (unsigned)bit_at(p, i + (size_t)k) << k;
    return v;
}

/* The Vorbis setup header ends with the modes (Vorbis I spec §4.2.4: a
 * 6-bit count − 1, then per mode blockflag(1) windowtype(16, = 0)
 * transformtype(16, = 0) mapping(8), then the framing bit). Parsing the
 * whole header forward means decoding every codebook; the modes can be
 * read backwards from the framing bit instead, taking the largest count
 * whose modes all have zero window and transform types and whose count
 * field agrees. */
static void vorbis_modes(ogg_stream *s, const unsigned char *p, size_t n)
{
    size_t last = n;
    while (last > 0 && p[last - 1] == 0)
        last--;
    if (last < 8)
        return;
    int hi = 7;
    while (!(p[last - 1] >> hi & 1))
        hi--;
    size_t framing = (last - 1) * 8 + (size_t)hi;
    int best = 0;
    for (int c = 1; c <= 64; c++) {
        if (framing < (size_t)41 * c + 7 * 8 + 6)
            break;
        size_t m = framing - (size_t)41 * c;
        if (bits_at(p, m + 1, 16) != 0 || bits_at(p, m + 17, 16) != 0 || bits_at(p, m + 33, 8) >= 64)
            break;
        if (bits_at(p, m - 6, 6) == (unsigned)(c - 1))
            best = c;
    }
    if (!best)
        return;
    size_t start = framing - (size_t)41 * best;
    for (int i = 0; i < best; i++)
        s->blockflag[i] = (uint8_t)bit_at(p, start + (size_t)41 * i);
    s->n_modes = best;
    s->modes_ok = true;
}

static void header_packet(ogg_stream *s, const unsigned char *p, size_t n)
{
    int k = s->n_headers++;
    if (s->codec == CODEC_VORBIS) {
        if (k == 0 && n >= 30 && le32(p + 7) == 0) {
            s->rate = (int)le32(p + 12);
            s->blocksize[0] = 1 << (p[28] & 15);
            s->blocksize[1] = 1 << (p[28] >> 4);
        } else if (k == 2 && n > 7 && p[0] == 5) {
            vorbis_modes(s, p, n);
        }
    }
}

/* Feeds a page's packets to the header assembly while headers are due. */
static void collect_headers(ogg_scan *o, ogg_stream *s, const unsigned char *pg)
{
    int nseg = pg[26];
    const unsigned char *body = pg + 27 + nseg;
    size_t off = 0;
    if (!(pg[5] & 1))
        s->pkt_len = 0;
    for (int i = 0; i < nseg && s->n_headers < s->headers_needed; i++) {
        size_t len = pg[27 + i];
        if (s->pkt_len + len > s->pkt_cap) {
            size_t cap = s->pkt_cap ? 2 * s->pkt_cap : 4096;
            unsigned char *np = cap <= ((size_t)1 << 24) ? realloc(s->pkt, cap) : NULL;
            if (!np) { /* no header is this large: stop looking */
                if (cap <= ((size_t)1 << 24))
                    o->oom = true;
                s->n_headers = s->headers_needed;
                return;
            }
            s->pkt = np;
            s->pkt_cap = cap;
        }
        if (len) /* pkt may still be NULL */
            memcpy(s->pkt + s->pkt_len, body + off, len);
        s->pkt_len += len;
        off += len;
        if (len < 255) {
            header_packet(s, s->pkt, s->pkt_len);
            s->pkt_len = 0;
        }
    }
}

/* Where intact audio resumes on page pg, the first page of stream s after
 * a loss: its granule position less the packets that end on it, except a
 * packet continued from the lost pages (for Vorbis also less the first
 * intact packet, which only primes the overlap). Without packet durations:
 * the granule's time, an upper bound. */
static double resume_time(const ogg_scan *o, const ogg_stream *s, const unsigned char *pg)
{
    int64_t g = le64(pg + 6);
    int nseg = pg[26];
    const unsigned char *body = pg + 27 + nseg;
    size_t off = 0, len = 0;
    int64_t sum = 0;
    int first = 1, skip = pg[5] & 1, prev_bs = 0, ok = s->codec == CODEC_OPUS || s->modes_ok;
    for (int i = 0; i < nseg && ok; i++) {
        len += pg[27 + i];
        if (pg[27 + i] == 255)
            continue;
        const unsigned char *pkt = body + off;
        off += len;
        if (skip) {
            skip = 0;
            len = 0;
            continue;
        }
        if (s->codec == CODEC_OPUS) {
            int ns = len ? opus_packet_get_nb_samples(pkt, (opus_int32)len, 48000) : 0;
            if (ns < 0)
                ok = 0;
            sum += ns;
        } else if (len > 0 && !(pkt[0] & 1)) {
            int bits = 0;
            while ((1 << bits) < s->n_modes)
                bits++;
            int mode = (pkt[0] >> 1) & ((1 << bits) - 1);
            if (mode >= s->n_modes) {
                ok = 0;
                break;
            }
            int bs = s->blocksize[s->blockflag[mode]];
            if (!first)
                sum += (prev_bs + bs) / 4;
            prev_bs = bs;
            first = 0;
        }
        len = 0;
    }
    return stream_time(o, s, ok ? (double)g - (double)sum : (double)g);
}

static ogg_stream *find_stream(ogg_scan *o, uint32_t serial, int link)
{
    for (int i = o->n_st - 1; i >= 0; i--)
        if (o->st[i].serial == serial && o->st[i].link == link)
            return &o->st[i];
    return NULL;
}

/* The earliest unclaimed skipped region between two offsets (regions are
 * recorded in file order). */
static ogg_region *region_between(ogg_scan *o, size_t from, size_t to)
{
    int lo = 0, hi = o->n_rg;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (o->rg[mid].off < from)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (int i = lo; i < o->n_rg && o->rg[i].off < to; i++)
        if (!o->rg[i].claimed)
            return &o->rg[i];
    return NULL;
}

static void add_event(ogg_scan *o, int64_t byte, double from, double to, int flags,
                      const char *reason)
{
    ogg_event e = {byte, from, to, flags, ""};
    snprintf(e.reason, sizeof e.reason, "%s", reason);
    PUSH(o, ev, n_ev, cap_ev, e);
}

static void on_page(ogg_scan *o, size_t off, size_t n)
{
    const unsigned char *p = o->data + off;
    uint32_t serial = le32(p + 14), seq = le32(p + 18);
    int64_t granule = le64(p + 6);
    uint8_t flags = p[5];
    char why[128];
    if (o->n_lk == 0 || ((flags & 2) && o->lk[o->n_lk - 1].data_started)) {
        /* a new link of a chain begins where it left off */
        double base = timeline_now(o);
        ogg_link l = {base, false};
        PUSH(o, lk, n_lk, cap_lk, l);
        if (o->oom)
            return;
    }
    int link = o->n_lk - 1;
    ogg_stream *s = find_stream(o, serial, link);
    if (!s && o->n_st >= OGG_MAX_STREAMS) {
        double t = timeline_now(o);
        snprintf(why, sizeof why, "more than %d Ogg logical streams (the rest is not read)", OGG_MAX_STREAMS);
        add_event(o, (int64_t)off, t, t, DAMAGE_AT_END | DAMAGE_LENGTH_UNKNOWN, why);
        o->stop = true;
        return;
    }
    if (flags & 2) {
        if (s) {
            snprintf(why, sizeof why, "Ogg stream %d begins twice", s->index);
            add_event(o, (int64_t)off, timeline_now(o), timeline_now(o), 0, why);
            return;
        }
        ogg_stream ns;
        memset(&ns, 0, sizeof ns);
        ns.serial = serial;
        ns.link = link;
        ns.index = o->n_st + 1;
        ns.bos_seen = true;
        ns.last_time = -1;
        ns.last_page = -1;
        ns.open_event = -1;
        const unsigned char *body = p + 27 + p[26];
        size_t blen = n - 27 - p[26];
        if (blen >= 19 && memcmp(body, "OpusHead", 8) == 0) {
            ns.codec = CODEC_OPUS;
            ns.preskip = body[10] | body[11] << 8;
            ns.headers_needed = 2; /* OpusHead, OpusTags */
        } else if (blen >= 7 && memcmp(body, "\x01vorbis", 7) == 0) {
            ns.codec = CODEC_VORBIS;
            ns.headers_needed = 3; /* identification, comment, setup */
        }
        PUSH(o, st, n_st, cap_st, ns);
        if (o->oom)
            return;
        s = &o->st[o->n_st - 1];
    } else {
        o->lk[link].data_started = true;
        if (!s) { /* its first page was lost */
            ogg_stream ns;
            memset(&ns, 0, sizeof ns);
            ns.serial = serial;
            ns.link = link;
            ns.index = o->n_st + 1;
            ns.last_time = -1;
            ns.last_page = -1;
            ns.open_event = -1;
            PUSH(o, st, n_st, cap_st, ns);
            if (o->oom)
                return;
            s = &o->st[o->n_st - 1];
            ogg_region *r = region_between(o, 0, off);
            snprintf(why, sizeof why, "Ogg stream %d lost its first page (its headers)", s->index);
            if (r)
                r->claimed = true;
            double t = timeline_now(o);
            add_event(o, r ? (int64_t)r->off : (int64_t)off, t, t, 0, r ? r->what : why);
        }
    }
    if (s->eos) {
        snprintf(why, sizeof why, "Ogg stream %d has a page after its last page", s->index);
        add_event(o, (int64_t)off, stream_now(o, s), stream_now(o, s), 0, why);
        return;
    }
    if (s->have_seq && seq != s->last_seq + 1) {
        if (seq <= s->last_seq) {
            snprintf(why, sizeof why, "Ogg page %u of stream %d is out of order", seq, s->index);
            add_event(o, (int64_t)off, stream_now(o, s), stream_now(o, s), 0, why);
            return;
        }
        if (s->n_headers < s->headers_needed)
            s->headers_lost = true;
        ogg_region *r = region_between(o, s->last_end, off);
        if (r)
            r->claimed = true;
        else
            snprintf(why, sizeof why, "Ogg pages %u-%u of stream %d are missing", s->last_seq + 1,
                     seq - 1, s->index);
        double from = stream_now(o, s);
        bool have_to = s->bos_seen && granule != -1;
        add_event(o, r ? (int64_t)r->off : (int64_t)off, from, have_to ? resume_time(o, s, p) : from,
                  0, r ? r->what : why);
        if (!have_to)
            s->open_event = o->n_ev - 1;
    } else if (s->open_event >= 0 && granule != -1) {
        o->ev[s->open_event].to_s = stream_time(o, s, (double)granule);
        s->open_event = -1;
    }
    s->have_seq = true;
    s->last_seq = seq;
    s->last_end = off + n;
    if (s->n_headers < s->headers_needed && !s->headers_lost)
        collect_headers(o, s, p);
    if (granule != -1 && s->bos_seen)
        s->last_time = stream_time(o, s, (double)granule);
    if (flags & 4)
        s->eos = true;
    if (s->bos_seen) {
        ogg_page pg = {off, n, (int)(s - o->st), link};
        PUSH(o, pg, n_pg, cap_pg, pg);
        s = &o->st[pg.stream];
        s->last_page = o->n_pg - 1;
    }
}

/* Says what a skipped region [off, end) is. */
static void describe_region(ogg_scan *o, ogg_region *r)
{
    const unsigned char *p = o->data + r->off;
    size_t left = o->size - r->off;
    if (left >= 27 && memcmp(p, "OggS", 4) == 0 && left >= 27 + (size_t)p[26]) {
        size_t body = 0;
        for (int i = 0; i < p[26]; i++)
            body += p[27 + i];
        size_t n = 27 + (size_t)p[26] + body;
        ogg_stream *s = find_stream(o, le32(p + 14), o->n_lk ? o->n_lk - 1 : 0);
        if (r->tail && n > left) {
            snprintf(r->what, sizeof r->what, "the file ends in the middle of an Ogg page");
            return;
        }
        if (r->off + n == r->end && p[4] == 0) {
            if (s)
                snprintf(r->what, sizeof r->what, "Ogg page %u of stream %d fails its CRC",
                         le32(p + 18), s->index);
            else
                snprintf(r->what, sizeof r->what, "an Ogg page fails its CRC");
            return;
        }
    } else if (r->tail && left < 27 && memcmp(p, "OggS", left < 4 ? left : 4) == 0) {
        snprintf(r->what, sizeof r->what, "the file ends in the middle of an Ogg page header");
        return;
    }
    snprintf(r->what, sizeof r->what, "%zu bytes are not Ogg pages (a damaged page header or garbage)",
             r->end - r->off);
}

static void add_region(ogg_scan *o, size_t off, size_t end, bool tail)
{
    ogg_region r = {off, end, timeline_now(o), false, tail, ""};
    PUSH(o, rg, n_rg, cap_rg, r);
    if (!o->oom)
        describe_region(o, &o->rg[o->n_rg - 1]);
}

/* The end: streams without their last page, and regions no loss claimed. */
static void finish_scan(ogg_scan *o)
{
    char why[128];
    for (int i = 0; i < o->n_st; i++) {
        ogg_stream *s = &o->st[i];
        if (s->eos || !s->bos_seen)
            continue;
        ogg_region *r = region_between(o, s->last_end, o->size);
        bool last_link = s->link == o->n_lk - 1;
        double from = stream_now(o, s), to = from;
        if (r) {
            r->claimed = true;
            /* a cut or damaged last page whose header still names this
             * stream tells how far it went (a hint: its CRC cannot hold) */
            const unsigned char *p = o->data + r->off;
            if (r->tail && o->size - r->off >= 27 && le32(p + 14) == s->serial && le64(p + 6) != -1 &&
                stream_time(o, s, (double)le64(p + 6)) < from + 3600)
                to = stream_time(o, s, (double)le64(p + 6));
        } else {
            snprintf(why, sizeof why, "Ogg stream %d ends without its last page%s", s->index,
                     last_link ? " (the file is cut short)" : "");
        }
        add_event(o, r ? (int64_t)r->off : (int64_t)s->last_end, from, to,
                  last_link ? DAMAGE_AT_END | DAMAGE_LENGTH_UNKNOWN : 0, r ? r->what : why);
    }
    for (int i = 0; i < o->n_rg; i++)
        if (!o->rg[i].claimed)
            add_event(o, (int64_t)o->rg[i].off, o->rg[i].time_s, o->rg[i].time_s, 0, o->rg[i].what);
}

/* The intact pages, each stream closed by an end-of-stream page, as one
 * buffer; a piece per link. */
static int rebuild(ogg_scan *o, audio_scan *out)
{
    /* a stream whose header packets were not all intact cannot be decoded:
     * its pages are left out */
    int n = 0;
    for (int i = 0; i < o->n_pg; i++) {
        const ogg_stream *s = &o->st[o->pg[i].stream];
        if (s->n_headers >= s->headers_needed && !s->headers_lost)
            o->pg[n++] = o->pg[i];
    }
    o->n_pg = n;
    for (int i = 0; i < o->n_st; i++)
        o->st[i].last_page = -1;
    for (int i = 0; i < o->n_pg; i++)
        o->st[o->pg[i].stream].last_page = i;
    size_t total = 0;
    for (int i = 0; i < o->n_pg; i++)
        total += o->pg[i].size;
    if (!total)
        return 0;
    unsigned char *b = malloc(total);
    size_t *at = malloc((size_t)o->n_pg * sizeof *at);
    if (!b || !at) {
        free(b);
        free(at);
        return -1;
    }
    size_t w = 0;
    for (int i = 0; i < o->n_pg; i++) {
        at[i] = w;
        memcpy(b + w, o->data + o->pg[i].off, o->pg[i].size);
        w += o->pg[i].size;
    }
    for (int i = 0; i < o->n_st; i++) {
        const ogg_stream *s = &o->st[i];
        if (s->last_page < 0 || s->eos)
            continue;
        unsigned char *p = b + at[s->last_page];
        size_t n = o->pg[s->last_page].size;
        p[5] |= 4;
        uint32_t c = page_crc(o->crc, p, n);
        p[22] = (unsigned char)c;
        p[23] = (unsigned char)(c >> 8);
        p[24] = (unsigned char)(c >> 16);
        p[25] = (unsigned char)(c >> 24);
    }
    out->owned = b;
    int rc = 0;
    for (int i = 0; i < o->n_pg && rc == 0;) {
        int j = i;
        while (j < o->n_pg && o->pg[j].link == o->pg[i].link)
            j++;
        rc = audio_scan_add_piece(out, b + at[i], at[j - 1] + o->pg[j - 1].size - at[i], -1);
        i = j;
    }
    free(at);
    return rc;
}

/* The shortest timed stream of each link: what the decoder must give. */
static double link_duration(const ogg_scan *o, int link)
{
    double d = -1;
    for (int i = 0; i < o->n_st; i++) {
        const ogg_stream *s = &o->st[i];
        if (s->link != link || s->last_time < 0 ||
            (s->codec == CODEC_UNKNOWN && o->rate_hint <= 0))
            continue;
        double t = s->last_time - o->lk[link].base_s;
        if (d < 0 || t < d)
            d = t;
    }
    return d;
}

int audio_scan_ogg(const unsigned char *data, size_t size, int rate_hint_hz, audio_scan *out)
{
    memset(out, 0, sizeof *out);
    ogg_scan o;
    memset(&o, 0, sizeof o);
    o.data = data;
    o.size = size;
    o.rate_hint = rate_hint_hz;
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i << 24;
        for (int k = 0; k < 8; k++)
            c = c & 0x80000000u ? (c << 1) ^ 0x04c11db7u : c << 1;
        o.crc[i] = c;
    }
    size_t pos = 0, tag;
    while ((tag = audio_scan_id3v2_size(data + pos, size - pos)) > 0) /* a tag in front is not damage */
        pos += tag;
    while (pos < size && !o.oom && !o.stop) {
        size_t n;
        if (page_at(&o, pos, &n) == 1) {
            on_page(&o, pos, n);
            pos += n;
            continue;
        }
        size_t q = pos + 1;
        for (; q + 4 <= size; q++) {
            const unsigned char *hit = memchr(data + q, 'O', size - q - 3);
            if (!hit)
                break;
            q = (size_t)(hit - data);
            size_t m;
            if (memcmp(hit, "OggS", 4) == 0 && page_at(&o, q, &m) == 1)
                break;
        }
        if (q + 4 > size || memcmp(data + q, "OggS", 4) != 0) {
            size_t z = pos;
            while (z < size && data[z] == 0)
                z++;
            if (z < size) /* trailing zeros are padding; anything else is not */
                add_region(&o, pos, size, true);
            break;
        }
        add_region(&o, pos, q, false);
        pos = q;
    }
    if (!o.oom)
        finish_scan(&o);
    int rc = o.oom ? -1 : 0;
    for (int i = 0; i < o.n_ev && !rc; i++) {
        const ogg_event *e = &o.ev[i];
        audio_scan_damage(out, e->byte, e->from_s, e->to_s, e->to_s - e->from_s, e->flags, "%s",
                          e->reason);
    }
    if (!rc && out->damage.n_places) {
        rc = rebuild(&o, out);
    } else if (!rc) {
        for (int i = 0; i < o.n_pg && !rc;) {
            int j = i;
            while (j < o.n_pg && o.pg[j].link == o.pg[i].link)
                j++;
            size_t a = o.pg[i].off, b = o.pg[j - 1].off + o.pg[j - 1].size;
            rc = audio_scan_add_piece(out, data + a, b - a, link_duration(&o, o.pg[i].link));
            i = j;
        }
    }
    if (rc)
        snprintf(out->error, sizeof out->error, "out of memory");
    for (int i = 0; i < o.n_st; i++)
        free(o.st[i].pkt);
    free(o.st);
    free(o.pg);
    free(o.rg);
    free(o.ev);
    free(o.lk);
    return rc;
}
