/* Decoding files and buffers through libsndfile, with one policy for
 * damaged input: Ogg, MPEG and FLAC are scanned first (dsp/audio_scan.h),
 * formats whose header states the length are checked against it, and a
 * damaged file is refused with the place unless the caller keeps what
 * decodes. */
#include <errno.h>
#include <sndfile.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <fcntl.h>
#include <math.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dsp/audio_scan.h"
#include "kernels/kernels.h"
#include "sori/audio.h"

sori_audio_read_params sori_audio_read_default_params(void)
{
    sori_audio_read_params p = {false, NULL};
    return p;
}

static sori_status sf_status(int sf_err)
{
    switch (sf_err) {
    case SF_ERR_UNRECOGNISED_FORMAT: return SORI_ERR_UNSUPPORTED;
    case SF_ERR_SYSTEM: return SORI_ERR_IO;
    case SF_ERR_UNSUPPORTED_ENCODING: return SORI_ERR_UNSUPPORTED;
    default: return SORI_ERR_FORMAT;
    }
}

/* Containers whose headers state the exact frame count. */
static int exact_length(int format)
{
    switch (format & SF_FORMAT_TYPEMASK) {
    case SF_FORMAT_WAV:
    case SF_FORMAT_WAVEX:
    case SF_FORMAT_AIFF:
    case SF_FORMAT_W64:
    case SF_FORMAT_RF64:
    case SF_FORMAT_CAF:
    case SF_FORMAT_FLAC: return 1;
    default: return 0;
    }
}

/* libsndfile shortens a RIFF data chunk that runs past the end of the file
 * and only says so in its log ("data : 16000 (should be 14999)"). */
static int riff_data_truncated(SNDFILE *sf, long long *declared, long long *present)
{
    char buf[8192], *line = NULL;
    sf_command(sf, SFC_GET_LOG_INFO, buf, sizeof buf);
    for (char *p = buf; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        if (strncmp(p, "data : ", 7) == 0) {
            line = p;
            break;
        }
    return line && sscanf(line, "data : %lld (should be %lld)", declared, present) == 2 &&
           *present < *declared;
}

/* ---- the bytes of a source: a memory buffer, or a file read on demand ---- */

typedef struct {
    const unsigned char *mem; /* or */
    FILE *file;
    int64_t size;
} byte_source;

static size_t source_read(const byte_source *b, int64_t off, void *dst, size_t n)
{
    if (off < 0 || off >= b->size)
        return 0;
    if ((int64_t)n > b->size - off)
        n = (size_t)(b->size - off);
    if (b->mem) {
        memcpy(dst, b->mem + off, n);
        return n;
    }
    if (fseeko(b->file, (off_t)off, SEEK_SET) != 0)
        return 0;
    return fread(dst, 1, n, b->file);
}

/* ---- messages ---- */

static void format_place(char *buf, size_t cap, const sori_audio_damage *d)
{
    if (d->byte_offset >= 0)
        snprintf(buf, cap, "damaged at byte %lld (%.2f s)", (long long)d->byte_offset, d->lost_from_s);
    else
        snprintf(buf, cap, "damaged at %.2f s", d->lost_from_s);
}

/* "call.opus: damaged at byte 16123 (2.00 s): Ogg page 3 of stream 1 fails
 * its CRC (2.00-3.00 s lost; 2 damaged places, 1.50 s lost in all)" */
static sori_status damage_error(const char *src, const sori_audio_damage *d, const char *tail,
                                sori_error *err)
{
    char place[64], lost[96] = "";
    format_place(place, sizeof place, d);
    int k = 0;
    if (d->lost_to_s > d->lost_from_s && d->lost_s > 0)
        k = snprintf(lost, sizeof lost, "%.2f-%.2f s lost", d->lost_from_s, d->lost_to_s);
    if (d->length_unknown && k >= 0 && (size_t)k < sizeof lost)
        k += snprintf(lost + k, sizeof lost - (size_t)k, "%sthe rest is missing", k ? ", " : "");
    if (d->n_places > 1 && k >= 0 && (size_t)k < sizeof lost)
        snprintf(lost + k, sizeof lost - (size_t)k, "%s%d damaged places, %.2f s lost in all",
                 k ? "; " : "", d->n_places, d->lost_s);
    return sori_fail(err, SORI_ERR_FORMAT, 0, "%s: %s: %s%s%s%s%s", src, place, d->reason,
                     lost[0] ? " (" : "", lost, lost[0] ? ")" : "", tail);
}

/* What the first bytes are, for a file nothing can decode. */
static void describe_bytes(const unsigned char *p, size_t n, char *out, size_t cap)
{
    static const struct {
        size_t off;
        const char *magic;
        size_t len;
        const char *what;
    } known[] = {
        {4, "ftyp", 4, "an MP4/M4A file (AAC and MP4 are not supported)"},
        {0, "\x1a\x45\xdf\xa3", 4, "a Matroska/WebM file (not supported)"},
        {0, "PK\x03\x04", 4, "a ZIP archive"},
        {0, "%PDF", 4, "a PDF document"},
        {0, "\x89PNG", 4, "a PNG image"},
        {0, "\xff\xd8\xff", 3, "a JPEG image"},
        {0, "GIF8", 4, "a GIF image"},
        {0, "\x1f\x8b", 2, "gzip-compressed data"},
        {0, "ID3", 3, "an ID3 tag with no MPEG audio after it"},
        {0, "OggS", 4, "an Ogg stream of a codec sori cannot decode"},
    };
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (n >= known[i].off + known[i].len && memcmp(p + known[i].off, known[i].magic, known[i].len) == 0) {
            snprintf(out, cap, "it is %s", known[i].what);
            return;
        }
    size_t text = 0;
    while (text < n && text < 24 && (p[text] >= 0x20 || p[text] == '\n' || p[text] == '\t' || p[text] == '\r') &&
           p[text] != 0x7f)
        text++;
    if (n > 0 && text == (n < 24 ? n : 24)) {
        char q[32];
        size_t k = 0;
        for (size_t i = 0; i < text && i < 20; i++)
            q[k++] = p[i] < 0x20 ? ' ' : (char)p[i];
        q[k] = 0;
        snprintf(out, cap, "it starts with the text \"%s%s\"", q, text > 20 ? "..." : "");
        return;
    }
    int k = snprintf(out, cap, "it starts with bytes");
    for (size_t i = 0; i < n && i < 8 && k > 0 && (size_t)k < cap; i++)
        k += snprintf(out + k, cap - (size_t)k, " %02x", p[i]);
}

static const char *extension_of(const char *path)
{
    const char *slash = strrchr(path, '/'), *dot = strrchr(path, '.');
    return dot && (!slash || dot > slash + 1) ? dot : NULL;
}

/* A file libsndfile cannot open. A RIFF/WAVE file is walked chunk by
 * chunk for the place its header breaks; anything else is not audio sori
 * can decode. */
static sori_status cannot_open(const char *src, const char *path, const byte_source *b, int sf_err,
                               const char *sf_msg, sori_audio_damage *dmg, sori_error *err)
{
    unsigned char h[64];
    size_t n = source_read(b, 0, h, sizeof h);
    if (n >= 12 && (memcmp(h, "RIFF", 4) == 0 || memcmp(h, "RF64", 4) == 0) && memcmp(h + 8, "WAVE", 4) == 0) {
        sori_audio_damage d;
        memset(&d, 0, sizeof d);
        int64_t pos = 12;
        int have_fmt = 0, have_data = 0;
        unsigned char c[8];
        while (pos + 8 <= b->size && source_read(b, pos, c, 8) == 8) {
            int text = 1;
            for (int i = 0; i < 4; i++)
                text = text && c[i] >= 0x20 && c[i] < 0x7f;
            uint32_t len = (uint32_t)c[4] | (uint32_t)c[5] << 8 | (uint32_t)c[6] << 16 | (uint32_t)c[7] << 24;
            if (!text) {
                d.byte_offset = pos;
                snprintf(d.reason, sizeof d.reason, "the WAV chunk header at byte %lld is not a chunk name",
                         (long long)pos);
                break;
            }
            have_fmt |= memcmp(c, "fmt ", 4) == 0;
            if (memcmp(c, "data", 4) == 0) {
                have_data = 1;
                break; /* audio follows; a cut data chunk is libsndfile's to read */
            }
            pos += 8 + (int64_t)len + (len & 1);
        }
        if (!d.reason[0]) {
            d.byte_offset = 12;
            snprintf(d.reason, sizeof d.reason, "the WAV header is damaged: %s (%s)",
                     !have_fmt ? "no 'fmt ' chunk" : !have_data ? "no 'data' chunk" : "libsndfile cannot read it",
                     sf_msg);
        }
        d.n_places = 1;
        if (dmg)
            *dmg = d;
        return damage_error(src, &d, "; nothing decodable", err);
    }
    if (sf_err == SF_ERR_SYSTEM)
        return sori_fail(err, SORI_ERR_IO, sf_err, "%s: cannot read: %s", src, sf_msg);
    char what[96];
    describe_bytes(h, n, what, sizeof what);
    const char *ext = path ? extension_of(path) : NULL;
    if (ext)
        return sori_fail(err, SORI_ERR_UNSUPPORTED, sf_err,
                         "%s: not an audio file sori can decode: named %s, but %s", src, ext, what);
    return sori_fail(err, SORI_ERR_UNSUPPORTED, sf_err, "%s: not audio sori can decode: %s", src, what);
}

/* ---- decoding ---- */

typedef struct {
    float *buf;
    int64_t n, cap;
    int channels, rate;
} pcm;

/* Appends all of sf to acc. *stopped: libsndfile's error, 0 if none. */
/* prealloc_frames: room to take at once (0: grow from 64 k frames), for a
 * length the file itself bounds. */
static sori_status decode_all(SNDFILE *sf, const SF_INFO *info, const char *src, pcm *acc, int64_t prealloc_frames,
                              int64_t *got, int *stopped, sori_error *err)
{
    sori_status st = audio_check_shape(src, info->channels, info->samplerate, SORI_ERR_FORMAT, err);
    if (st != SORI_OK)
        return st;
    if (acc->channels && (info->channels != acc->channels || info->samplerate != acc->rate))
        return sori_fail(err, SORI_ERR_UNSUPPORTED, 0,
                         "%s: a chained Ogg file whose links differ (%d channels at %d Hz, then %d at %d Hz)",
                         src, acc->channels, acc->rate, info->channels, info->samplerate);
    acc->channels = info->channels;
    acc->rate = info->samplerate;
    const int64_t max_frames = (int64_t)SORI_AUDIO_MAX_SECONDS * info->samplerate;
    if (exact_length(info->format) && info->frames > max_frames)
        return sori_fail(err, SORI_ERR_FORMAT, 0, "%s: %lld frames is longer than %d hours", src,
                         (long long)info->frames, SORI_AUDIO_MAX_SECONDS / 3600);
    /* Read in chunks into a growing buffer: some formats (MP3, Ogg) only
     * estimate their length, and a corrupt header must not make us
     * allocate what it claims. */
    const int ch = info->channels;
    int64_t n0 = acc->n;
    for (;;) {
        if (acc->n == acc->cap) {
            if (acc->cap >= max_frames)
                return sori_fail(err, SORI_ERR_FORMAT, 0, "%s: longer than %d hours", src,
                                 SORI_AUDIO_MAX_SECONDS / 3600);
            int64_t ncap = acc->cap ? acc->cap * 2 : prealloc_frames > 65536 ? prealloc_frames + 1 : 65536;
            if (ncap > max_frames)
                ncap = max_frames;
            float *nb = realloc(acc->buf, (size_t)ncap * ch * sizeof(float));
            if (!nb)
                return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "%s: out of memory", src);
            acc->buf = nb;
            acc->cap = ncap;
        }
        sf_count_t r = sf_readf_float(sf, acc->buf + acc->n * ch, (sf_count_t)(acc->cap - acc->n));
        if (r <= 0)
            break;
        acc->n += r;
    }
    *got = acc->n - n0;
    *stopped = sf_error(sf);
    return SORI_OK;
}

typedef struct {
    const unsigned char *data;
    sf_count_t size, pos;
} mem_io;

static sf_count_t mem_len(void *u)
{
    return ((mem_io *)u)->size;
}

static sf_count_t mem_seek(sf_count_t off, int whence, void *u)
{
    mem_io *m = u;
    sf_count_t p = whence == SEEK_SET ? off : whence == SEEK_CUR ? m->pos + off : m->size + off;
    if (p < 0 || p > m->size)
        return -1;
    m->pos = p;
    return p;
}

static sf_count_t mem_read(void *dst, sf_count_t n, void *u)
{
    mem_io *m = u;
    if (n > m->size - m->pos)
        n = m->size - m->pos;
    if (n > 0) {
        memcpy(dst, m->data + m->pos, (size_t)n);
        m->pos += n;
    }
    return n > 0 ? n : 0;
}

static sf_count_t mem_write(const void *src, sf_count_t n, void *u)
{
    (void)src;
    (void)n;
    (void)u;
    return 0;
}

static sf_count_t mem_tell(void *u)
{
    return ((mem_io *)u)->pos;
}

static SNDFILE *open_memory(mem_io *m, SF_INFO *info)
{
    static SF_VIRTUAL_IO io = {mem_len, mem_seek, mem_read, mem_write, mem_tell};
    memset(info, 0, sizeof *info);
    m->pos = 0;
    return sf_open_virtual(&io, SFM_READ, info, m);
}

static int cmp_gap(const void *a, const void *b)
{
    double x = ((const scan_gap *)a)->from_s, y = ((const scan_gap *)b)->from_s;
    return (x > y) - (x < y);
}

/* Puts silence where audio was lost inside the file (the decoders drop
 * it), so that what follows keeps the file's own times. */
/* max_s bounds the silence in all: the lost bytes were inside the file, and
 * no codec sori reads packs a second into fewer than 100 bytes, so a time
 * stamp that claims more (a hostile granule or frame number) is not
 * believed. */
static sori_status insert_gaps(pcm *acc, scan_gap *gaps, int n_gaps, double max_s, const char *src,
                               sori_error *err)
{
    qsort(gaps, (size_t)n_gaps, sizeof *gaps, cmp_gap);
    const int ch = acc->channels;
    const int64_t max_frames = (int64_t)SORI_AUDIO_MAX_SECONDS * acc->rate;
    double add_s = 0;
    for (int i = 0; i < n_gaps; i++)
        add_s += gaps[i].lost_s; /* each in 0..SORI_AUDIO_MAX_SECONDS (audio_scan_damage) */
    if (add_s > max_s)
        add_s = max_s;
    int64_t add = (int64_t)(add_s * acc->rate + 0.5);
    if (add <= 0)
        return SORI_OK;
    if (acc->n + add > max_frames)
        add = max_frames - acc->n;
    if (add <= 0)
        return SORI_OK;
    float *out = malloc((size_t)(acc->n + add) * (size_t)ch * sizeof(float));
    if (!out)
        return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "%s: out of memory", src);
    int64_t in = 0, o = 0; /* frames read from acc, written to out */
    for (int i = 0; i < n_gaps; i++) {
        int64_t at = (int64_t)(gaps[i].from_s * acc->rate + 0.5) - (o - in); /* in acc */
        int64_t len = (int64_t)(gaps[i].lost_s * acc->rate + 0.5);
        if (at < in)
            at = in;
        if (len < 0)
            len = 0;
        if (at >= acc->n) /* nothing decoded follows it */
            break;
        if (len > acc->n + add - o - (acc->n - in))
            len = acc->n + add - o - (acc->n - in);
        memcpy(out + o * ch, acc->buf + in * ch, (size_t)(at - in) * (size_t)ch * sizeof(float));
        o += at - in;
        in = at;
        memset(out + o * ch, 0, (size_t)len * (size_t)ch * sizeof(float));
        o += len;
    }
    memcpy(out + o * ch, acc->buf + in * ch, (size_t)(acc->n - in) * (size_t)ch * sizeof(float));
    o += acc->n - in;
    free(acc->buf);
    acc->buf = out;
    acc->n = acc->cap = o;
    return SORI_OK;
}

/* The result: samples handed over, damage reported, or the error. */
static sori_status conclude(const char *src, pcm *acc, const sori_audio_damage *d, bool allow,
                            sori_audio *out, sori_audio_damage *dmg, sori_error *err)
{
    if (d->n_places) {
        if (dmg)
            *dmg = *d;
        if (!allow || acc->n == 0) {
            free(acc->buf);
            return damage_error(src, d, allow ? "; nothing decodable" : "", err);
        }
    }
    out->samples = acc->buf;
    out->n_frames = acc->n;
    out->n_channels = acc->channels;
    out->sample_rate_hz = acc->rate;
    return audio_finish(src, out, err);
}

/* A format whose header states the length (WAV, AIFF, …) or anything else
 * libsndfile reads that sori does not scan. */
static sori_status read_plain(SNDFILE *sf, const SF_INFO *info, const char *src, int64_t file_size,
                              bool allow, sori_audio *out, sori_audio_damage *dmg, sori_error *err)
{
    pcm acc = {0};
    int64_t got = 0;
    int stopped = 0;
    sori_audio_damage d;
    memset(&d, 0, sizeof d);
    long long declared = 0, present = 0;
    int cut = exact_length(info->format) && riff_data_truncated(sf, &declared, &present);
    /* a stated length is believed up to what the file's size allows (PCM
     * takes at least a byte per sample; FLAC rarely packs over 4 samples in
     * a byte): one allocation instead of a doubling chain of copies */
    int64_t room = exact_length(info->format) && info->frames > 0 && info->frames <= 4 * file_size ? info->frames : 0;
    sori_status st = decode_all(sf, info, src, &acc, room, &got, &stopped, err);
    if (st != SORI_OK) {
        free(acc.buf);
        return st;
    }
    const double rate = info->samplerate;
    if (cut) { /* libsndfile already shortened the data chunk to what is there */
        double want = present > 0 ? (double)got * (double)declared / (double)present : (double)got;
        d.n_places = 1;
        d.byte_offset = file_size;
        d.lost_from_s = got / rate;
        d.lost_to_s = d.lost_s = want / rate;
        d.lost_s -= d.lost_from_s;
        snprintf(d.reason, sizeof d.reason,
                 "the file is cut short: its header declares %.3f s (%lld bytes) of audio, it holds %.3f s",
                 want / rate, declared, got / rate);
    } else if (stopped || (exact_length(info->format) && got < info->frames)) {
        d.n_places = 1;
        d.byte_offset = stopped ? -1 : file_size;
        d.lost_from_s = got / rate;
        d.lost_to_s = exact_length(info->format) && info->frames > got ? info->frames / rate : d.lost_from_s;
        d.lost_s = d.lost_to_s - d.lost_from_s;
        if (stopped)
            snprintf(d.reason, sizeof d.reason, "the decoder failed: %s", sf_error_number(stopped));
        else
            snprintf(d.reason, sizeof d.reason,
                     "the file is cut short: its header declares %lld frames, it holds %lld",
                     (long long)info->frames, (long long)got);
    }
    return conclude(src, &acc, &d, allow, out, dmg, err);
}

/* Ogg, MPEG or FLAC bytes in memory: scanned, then the intact parts (or all
 * of it) decoded. Returns SORI_ERR_NOT_FOUND (nothing written) when the
 * scan does not recognise them, for the caller to try them as plain. */
static sori_status read_scanned(const unsigned char *data, size_t size, scan_kind kind, int rate_hint,
                                const char *src, bool allow, sori_audio *out, sori_audio_damage *dmg,
                                sori_error *err)
{
    audio_scan sc;
    int rc = kind == SCAN_OGG ? audio_scan_ogg(data, size, rate_hint, &sc)
           : kind == SCAN_MPEG ? audio_scan_mpeg(data, size, &sc)
                               : audio_scan_flac(data, size, &sc);
    if (rc != 0) {
        audio_scan_free(&sc);
        return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "%s: out of memory", src);
    }
    sori_audio_damage d = sc.damage;
    if (d.n_places == 0 && sc.n_pieces == 0) {
        audio_scan_free(&sc);
        return SORI_ERR_NOT_FOUND;
    }
    pcm acc = {0};
    sori_status st = SORI_OK;
    if (d.n_places && !allow) {
        audio_scan_free(&sc);
        return conclude(src, &acc, &d, false, out, dmg, err);
    }
    const bool damaged = d.n_places > 0;
    for (int i = 0; i < sc.n_pieces && st == SORI_OK; i++) {
        mem_io m = {sc.pieces[i].data, (sf_count_t)sc.pieces[i].size, 0};
        SF_INFO info;
        SNDFILE *sf = open_memory(&m, &info);
        if (!sf) {
            if (damaged)
                continue; /* a link with nothing intact left in it */
            int e = sf_error(NULL);
            st = sori_fail(err, sf_status(e), e, "%s: cannot decode: %s", src, sf_strerror(NULL));
            break;
        }
        int64_t got = 0;
        int stopped = 0;
        double before_s = acc.rate ? (double)acc.n / acc.rate : 0;
        st = decode_all(sf, &info, src, &acc, 0, &got, &stopped, err);
        sf_close(sf);
        if (st != SORI_OK)
            break;
        /* libsndfile must give what the container holds: anything short
         * (an error, a stop) is damage the scan could not place */
        double got_s = (double)got / info.samplerate, want_s = sc.pieces[i].expected_s;
        if (!damaged && (stopped || (want_s >= 0 && got_s < want_s - 0.1))) {
            if (stopped)
                audio_scan_damage(&sc, -1, before_s + got_s, before_s + (want_s > got_s ? want_s : got_s),
                                  want_s > got_s ? want_s - got_s : 0, DAMAGE_AT_END, "the decoder failed: %s",
                                  sf_error_number(stopped));
            else
                audio_scan_damage(&sc, -1, before_s + got_s, before_s + want_s, want_s - got_s, DAMAGE_AT_END,
                                  "the decoder stopped at %.2f s of the %.2f s the container holds", got_s,
                                  want_s);
            d = sc.damage;
        }
    }
    if (st == SORI_OK && damaged && allow && acc.n > 0 && sc.n_gaps)
        st = insert_gaps(&acc, sc.gaps, sc.n_gaps, 10.0 + (double)size / 100.0, src, err);
    audio_scan_free(&sc);
    if (st != SORI_OK) {
        free(acc.buf);
        return st;
    }
    if (d.n_places == 0 && acc.n == 0) {
        free(acc.buf);
        return sori_fail(err, SORI_ERR_FORMAT, 0, "%s: no audio (zero samples)", src);
    }
    return conclude(src, &acc, &d, allow, out, dmg, err);
}

static scan_kind kind_of_format(int format)
{
    switch (format & SF_FORMAT_TYPEMASK) {
    case SF_FORMAT_OGG: return SCAN_OGG;
    case SF_FORMAT_MPEG: return SCAN_MPEG;
    case SF_FORMAT_FLAC: return SCAN_FLAC;
    default: return SCAN_NONE;
    }
}

/* Named like MPEG audio (.mp3, .mp2, .mp1, .mpga). */
static int mpeg_named(const char *path)
{
    const char *ext = path ? extension_of(path) : NULL;
    return ext && (strcasecmp(ext, ".mp3") == 0 || strcasecmp(ext, ".mp2") == 0 ||
                   strcasecmp(ext, ".mp1") == 0 || strcasecmp(ext, ".mpga") == 0);
}

static sori_status read_memory(const unsigned char *data, size_t size, const char *src,
                               const char *path, bool allow, sori_audio *out, sori_audio_damage *dmg,
                               sori_error *err)
{
    mem_io m = {data, (sf_count_t)size, 0};
    SF_INFO info;
    memset(&info, 0, sizeof info);
    /* What the scan recognises, libsndfile reads only once the scan has
     * passed it (damaged input costs it: mpg123 prints complaints to stderr,
     * and its Ogg Vorbis reader leaks on a broken header) */
    scan_kind sniffed = audio_scan_sniff(data, size);
    SNDFILE *sf = sniffed != SCAN_NONE ? NULL : open_memory(&m, &info);
    int e = sf || sniffed != SCAN_NONE ? 0 : sf_error(NULL);
    char sf_msg[128];
    snprintf(sf_msg, sizeof sf_msg, "%s", sf || sniffed != SCAN_NONE ? "" : sf_strerror(NULL));
    scan_kind kind = sniffed;
    if (kind == SCAN_NONE && sf)
        kind = kind_of_format(info.format);
    if (kind == SCAN_NONE && !sf && mpeg_named(path))
        kind = SCAN_MPEG; /* MPEG audio has no magic: after junk, only its name says so */
    if (kind != SCAN_NONE) {
        int rate = sf ? info.samplerate : 0;
        if (sf)
            sf_close(sf);
        sori_status st = read_scanned(data, size, kind, rate, src, allow, out, dmg, err);
        if (st != SORI_ERR_NOT_FOUND)
            return st;
        sf = open_memory(&m, &info); /* not what it seemed: libsndfile's to judge */
        if (!sf) {
            e = sf_error(NULL);
            snprintf(sf_msg, sizeof sf_msg, "%s", sf_strerror(NULL));
        }
    }
    if (!sf) {
        byte_source b = {data, NULL, (int64_t)size};
        return cannot_open(src, path, &b, e, sf_msg, dmg, err);
    }
    sori_status st = read_plain(sf, &info, src, (int64_t)size, allow, out, dmg, err);
    sf_close(sf);
    return st;
}

sori_status sori_audio_read_memory_with_params(const void *data, size_t size,
                                               const sori_audio_read_params *params, sori_audio *out,
                                               sori_audio_damage *damage, sori_error *err)
{
    sori_audio_read_params p = params ? *params : sori_audio_read_default_params();
    if (damage)
        memset(damage, 0, sizeof *damage);
    if (!out)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "audio: out is NULL");
    memset(out, 0, sizeof *out);
    if (!data && size)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "audio: data is NULL");
    const char *src = p.source_name ? p.source_name : "<memory>";
    if (size == 0)
        return p.source_name ? sori_fail(err, SORI_ERR_FORMAT, 0, "%s is empty", src)
                             : sori_fail(err, SORI_ERR_FORMAT, 0, "<memory>: empty buffer");
    return read_memory(data, size, src, NULL, p.allow_damaged, out, damage, err);
}

sori_status sori_audio_read_memory(const void *data, size_t size, sori_audio *out, sori_error *err)
{
    return sori_audio_read_memory_with_params(data, size, NULL, out, NULL, err);
}

/* The whole file, for a scan. */
static sori_status slurp(FILE *f, int64_t size, const char *path, unsigned char **data, sori_error *err)
{
    *data = malloc(size > 0 ? (size_t)size : 1);
    if (!*data)
        return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "%s: out of memory", path);
    rewind(f);
    if (fread(*data, 1, (size_t)size, f) != (size_t)size) {
        free(*data);
        *data = NULL;
        return sori_fail(err, SORI_ERR_IO, errno, "%s: read error: %s", path, strerror(errno));
    }
    return SORI_OK;
}

sori_status sori_audio_read_file_with_params(const char *path, const sori_audio_read_params *params,
                                             sori_audio *out, sori_audio_damage *damage, sori_error *err)
{
    sori_audio_read_params p = params ? *params : sori_audio_read_default_params();
    if (damage)
        memset(damage, 0, sizeof *damage);
    if (!out)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "audio: out is NULL");
    memset(out, 0, sizeof *out);
    if (!path)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "audio: path is NULL");
    struct stat sb;
    if (stat(path, &sb) != 0)
        return sori_fail(err, SORI_ERR_IO, errno, "%s: cannot open: %s", path, strerror(errno));
    if (!S_ISREG(sb.st_mode))
        return sori_fail(err, SORI_ERR_IO, 0, "%s: not a regular file", path);
    if (sb.st_size == 0)
        return sori_fail(err, SORI_ERR_FORMAT, 0, "%s: empty file", path);
    FILE *f = fopen(path, "rb");
    if (!f)
        return sori_fail(err, SORI_ERR_IO, errno, "%s: cannot open: %s", path, strerror(errno));
    unsigned char head[64];
    size_t n_head = fread(head, 1, sizeof head, f);
    /* Ogg, FLAC and MPEG (an ID3 tag may hide which) are scanned in memory:
     * compressed, they are smaller than their decoded samples */
    int scanned = audio_scan_sniff(head, n_head) != SCAN_NONE || (n_head >= 3 && memcmp(head, "ID3", 3) == 0) ||
                  mpeg_named(path);
    sori_status st;
    if (!scanned) {
        SF_INFO info;
        memset(&info, 0, sizeof info);
        SNDFILE *sf = sf_open(path, SFM_READ, &info);
        if (!sf) {
            int e = sf_error(NULL);
            char msg[128];
            snprintf(msg, sizeof msg, "%s", sf_strerror(NULL));
            byte_source b = {NULL, f, (int64_t)sb.st_size};
            st = cannot_open(path, path, &b, e, msg, damage, err);
            fclose(f);
            return st;
        }
        if (kind_of_format(info.format) == SCAN_NONE) {
            fclose(f);
            st = read_plain(sf, &info, path, (int64_t)sb.st_size, p.allow_damaged, out, damage, err);
            sf_close(sf);
            return st;
        }
        sf_close(sf);
    }
    unsigned char *data = NULL;
    st = slurp(f, (int64_t)sb.st_size, path, &data, err);
    fclose(f);
    if (st != SORI_OK)
        return st;
    st = read_memory(data, (size_t)sb.st_size, path, path, p.allow_damaged, out, damage, err);
    free(data);
    return st;
}

sori_status sori_audio_read_file(const char *path, sori_audio *out, sori_error *err)
{
    return sori_audio_read_file_with_params(path, NULL, out, NULL, err);
}

/* ---- incremental reading ------------------------------------------------------------
 * A reader decodes a file a chunk at a time, mixes or picks a channel and
 * resamples as it goes, so that nothing the size of the recording is held.
 * The same checks as a whole read: Ogg, MPEG and FLAC are scanned at open
 * (the file is mapped, not read into memory); damage the scan finds is
 * refused at open, or, kept (allow_damaged), the file is decoded whole and
 * served from memory (gaps need what follows them); a WAV cut short is
 * known at open; a decoder that stops early is an error when the reading
 * gets there. */

enum { READER_CHUNK = 8192 };

struct sori_audio_reader {
    char *src;                 /* the path, for messages */
    bool allow;
    int channel, out_rate;
    sori_audio_reader_info info;
    /* the bytes, mapped (scanned formats) */
    unsigned char *map;
    size_t map_size;
    int64_t file_size;
    audio_scan sc;
    bool scanned;
    /* decoding: an SNDFILE over the path (plain), or over piece `piece` */
    SNDFILE *sf;
    SF_INFO sfi;
    mem_io mio;
    int piece, n_pieces;
    int64_t piece_got;         /* frames of the current piece */
    bool by_path;
    /* or the whole signal (damaged files kept) */
    sori_audio whole;
    int64_t whole_pos;
    bool in_memory;
    /* conversion */
    sori_resampler *rs;
    float *ibuf;               /* READER_CHUNK frames, interleaved */
    float *mono;               /* READER_CHUNK */
    float *obuf;               /* resampled, waiting */
    size_t obuf_cap, obuf_pos, obuf_len;
    int64_t frames_in, frames_out;
    bool in_done, flushed;
    sori_audio_damage late;    /* damage found while reading (allow_damaged) */
};

static void reader_close_decoder(sori_audio_reader *r)
{
    if (r->sf)
        sf_close(r->sf);
    r->sf = NULL;
}

/* Opens the decoder for piece k (or the path). */
static sori_status reader_open_piece(sori_audio_reader *r, int k, sori_error *err)
{
    reader_close_decoder(r);
    memset(&r->sfi, 0, sizeof r->sfi);
    if (r->by_path) {
        r->sf = sf_open(r->src, SFM_READ, &r->sfi);
    } else {
        r->mio.data = r->scanned && r->sc.n_pieces ? r->sc.pieces[k].data : r->map;
        r->mio.size = (sf_count_t)(r->scanned && r->sc.n_pieces ? r->sc.pieces[k].size : r->map_size);
        r->sf = open_memory(&r->mio, &r->sfi);
    }
    if (!r->sf) {
        int e = sf_error(NULL);
        return sori_fail(err, sf_status(e), e, "%s: cannot decode: %s", r->src, sf_strerror(NULL));
    }
    sori_status st = audio_check_shape(r->src, r->sfi.channels, r->sfi.samplerate, SORI_ERR_FORMAT, err);
    if (st == SORI_OK && r->info.n_channels &&
        (r->sfi.channels != r->info.n_channels || r->sfi.samplerate != r->info.file_rate_hz))
        st = sori_fail(err, SORI_ERR_UNSUPPORTED, 0,
                       "%s: a chained Ogg file whose links differ (%d channels at %d Hz, then %d at %d Hz)", r->src,
                       r->info.n_channels, r->info.file_rate_hz, r->sfi.channels, r->sfi.samplerate);
    r->piece = k;
    r->piece_got = 0;
    return st;
}

/* A piece decoded to its end: did the decoder give what the container
 * holds? */
static sori_status reader_piece_done(sori_audio_reader *r, sori_error *err)
{
    int stopped = sf_error(r->sf);
    const double rate = r->sfi.samplerate, got_s = (double)r->piece_got / rate;
    sori_audio_damage d;
    memset(&d, 0, sizeof d);
    double before_s = (double)(r->frames_in - r->piece_got) / rate;
    if (r->by_path || !r->scanned || !r->sc.n_pieces) {
        if (stopped || (exact_length(r->sfi.format) && r->piece_got < r->sfi.frames)) {
            d.n_places = 1;
            d.byte_offset = stopped ? -1 : r->file_size;
            d.lost_from_s = got_s;
            d.lost_to_s = exact_length(r->sfi.format) && r->sfi.frames > r->piece_got ? r->sfi.frames / rate : got_s;
            d.lost_s = d.lost_to_s - d.lost_from_s;
            if (stopped)
                snprintf(d.reason, sizeof d.reason, "the decoder failed: %s", sf_error_number(stopped));
            else
                snprintf(d.reason, sizeof d.reason, "the file is cut short: its header declares %lld frames, it holds %lld",
                         (long long)r->sfi.frames, (long long)r->piece_got);
        }
    } else {
        double want_s = r->sc.pieces[r->piece].expected_s;
        if (stopped || (want_s >= 0 && got_s < want_s - 0.1)) {
            d.n_places = 1;
            d.byte_offset = -1;
            d.lost_from_s = before_s + got_s;
            d.lost_to_s = before_s + (want_s > got_s ? want_s : got_s);
            d.lost_s = want_s > got_s ? want_s - got_s : 0;
            if (stopped)
                snprintf(d.reason, sizeof d.reason, "the decoder failed: %s", sf_error_number(stopped));
            else
                snprintf(d.reason, sizeof d.reason, "the decoder stopped at %.2f s of the %.2f s the container holds",
                         got_s, want_s);
        }
    }
    if (!d.n_places)
        return SORI_OK;
    if (!r->late.n_places)
        r->late = d;
    return r->allow ? SORI_OK : damage_error(r->src, &d, "", err);
}

/* Up to READER_CHUNK frames at the file's rate into r->ibuf; 0 at the end. */
static sori_status reader_decode(sori_audio_reader *r, int64_t *got, sori_error *err)
{
    const int ch = r->info.n_channels;
    *got = 0;
    if (r->in_memory) {
        int64_t n = r->whole.n_frames - r->whole_pos;
        n = n < READER_CHUNK ? n : READER_CHUNK;
        memcpy(r->ibuf, r->whole.samples + r->whole_pos * ch, (size_t)(n * ch) * sizeof(float));
        r->whole_pos += n;
        *got = n;
        return SORI_OK;
    }
    while (r->sf) {
        sf_count_t n = sf_readf_float(r->sf, r->ibuf, READER_CHUNK);
        if (n > 0) {
            r->piece_got += n;
            *got = n;
            return SORI_OK;
        }
        sori_status st = reader_piece_done(r, err);
        if (st != SORI_OK)
            return st;
        int next = r->piece + 1;
        reader_close_decoder(r);
        if (r->by_path || next >= r->n_pieces)
            break;
        st = reader_open_piece(r, next, err);
        if (st != SORI_OK)
            return st;
    }
    return SORI_OK;
}

static sori_status reader_start(sori_audio_reader *r, sori_error *err)
{
    r->frames_in = r->frames_out = 0;
    r->in_done = r->flushed = false;
    r->obuf_pos = r->obuf_len = 0;
    r->whole_pos = 0;
    sori_resampler_free(r->rs);
    r->rs = NULL;
    if (r->out_rate != r->info.file_rate_hz) {
        sori_status st = sori_resampler_create(r->info.file_rate_hz, r->out_rate, 1, &r->rs, err);
        if (st != SORI_OK)
            return st;
    }
    if (r->in_memory)
        return SORI_OK;
    return reader_open_piece(r, 0, err);
}

/* A WAV whose data chunk runs past the end (libsndfile has shortened it):
 * refused, or (allow_damaged) reported and read as it is. */
static sori_status reader_check_cut(sori_audio_reader *r, SNDFILE *sf, const SF_INFO *info, sori_audio_damage *damage,
                                    sori_error *err)
{
    long long declared = 0, present = 0;
    if (!exact_length(info->format) || !riff_data_truncated(sf, &declared, &present))
        return SORI_OK;
    sori_audio_damage d;
    memset(&d, 0, sizeof d);
    double rate = info->samplerate, have = (double)info->frames;
    double want = present > 0 ? have * (double)declared / (double)present : have;
    d.n_places = 1;
    d.byte_offset = r->file_size;
    d.lost_from_s = have / rate;
    d.lost_to_s = want / rate;
    d.lost_s = d.lost_to_s - d.lost_from_s;
    snprintf(d.reason, sizeof d.reason,
             "the file is cut short: its header declares %.3f s (%lld bytes) of audio, it holds %.3f s", want / rate,
             declared, have / rate);
    if (damage)
        *damage = d;
    if (!r->allow || info->frames == 0)
        return damage_error(r->src, &d, r->allow ? "; nothing decodable" : "", err);
    return SORI_OK;
}

sori_status sori_audio_reader_open(const char *path, const sori_audio_read_params *params, int channel,
                                   int sample_rate_hz, sori_audio_reader **out, sori_audio_damage *damage,
                                   sori_error *err)
{
    sori_audio_read_params p = params ? *params : sori_audio_read_default_params();
    if (damage)
        memset(damage, 0, sizeof *damage);
    if (!out)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "audio reader: out is NULL");
    *out = NULL;
    if (!path)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "audio reader: path is NULL");
    if (channel < SORI_CHANNEL_MIX || (sample_rate_hz != 0 && (sample_rate_hz < 1000 || sample_rate_hz > 768000)))
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "audio reader: channel %d, rate %d Hz", channel,
                         sample_rate_hz);
    struct stat sb;
    if (stat(path, &sb) != 0)
        return sori_fail(err, SORI_ERR_IO, errno, "%s: cannot open: %s", path, strerror(errno));
    if (!S_ISREG(sb.st_mode))
        return sori_fail(err, SORI_ERR_IO, 0, "%s: not a regular file", path);
    if (sb.st_size == 0)
        return sori_fail(err, SORI_ERR_FORMAT, 0, "%s: empty file", path);
    sori_audio_reader *r = calloc(1, sizeof *r);
    if (!r || !(r->src = strdup(path))) {
        free(r);
        return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "%s: out of memory", path);
    }
    r->allow = p.allow_damaged;
    r->channel = channel;
    r->file_size = (int64_t)sb.st_size;
    r->info.duration_s = -1;
    sori_status st = SORI_OK;
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        st = sori_fail(err, SORI_ERR_IO, errno, "%s: cannot open: %s", path, strerror(errno));
        goto fail;
    }
    unsigned char head[64];
    ssize_t n_head = read(fd, head, sizeof head);
    int scanned = n_head > 0 && (audio_scan_sniff(head, (size_t)n_head) != SCAN_NONE ||
                                 (n_head >= 3 && memcmp(head, "ID3", 3) == 0) || mpeg_named(path));
    if (!scanned) {
        SF_INFO info;
        memset(&info, 0, sizeof info);
        SNDFILE *sf = sf_open(path, SFM_READ, &info);
        if (!sf) {
            int e = sf_error(NULL);
            char msg[128];
            snprintf(msg, sizeof msg, "%s", sf_strerror(NULL));
            FILE *f = fdopen(fd, "rb");
            if (!f) {
                close(fd);
                st = sori_fail(err, SORI_ERR_IO, errno, "%s: cannot read: %s", path, strerror(errno));
                goto fail;
            }
            byte_source b = {NULL, f, (int64_t)sb.st_size};
            st = cannot_open(path, path, &b, e, msg, damage, err);
            fclose(f);
            goto fail;
        }
        if (kind_of_format(info.format) == SCAN_NONE) {
            close(fd);
            r->by_path = true;
            st = reader_check_cut(r, sf, &info, damage, err);
            if (st != SORI_OK) {
                sf_close(sf);
                goto fail;
            }
            r->info.n_channels = info.channels;
            r->info.file_rate_hz = info.samplerate;
            if (exact_length(info.format) && info.frames > 0 && info.samplerate > 0)
                r->info.duration_s = (double)info.frames / info.samplerate;
            sf_close(sf);
            goto opened;
        }
        sf_close(sf);
    }
    /* mapped and scanned */
    r->map_size = (size_t)sb.st_size;
    void *mp = mmap(NULL, r->map_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (mp == MAP_FAILED) {
        st = sori_fail(err, SORI_ERR_IO, errno, "%s: cannot map: %s", path, strerror(errno));
        goto fail;
    }
    r->map = mp;
    {
        mem_io m = {r->map, (sf_count_t)r->map_size, 0};
        SF_INFO info;
        scan_kind kind = audio_scan_sniff(r->map, r->map_size);
        SNDFILE *sf = kind != SCAN_NONE ? NULL : open_memory(&m, &info);
        int e = sf || kind != SCAN_NONE ? 0 : sf_error(NULL);
        char sf_msg[128];
        snprintf(sf_msg, sizeof sf_msg, "%s", sf || kind != SCAN_NONE ? "" : sf_strerror(NULL));
        if (kind == SCAN_NONE && sf)
            kind = kind_of_format(info.format);
        if (kind == SCAN_NONE && !sf && mpeg_named(path))
            kind = SCAN_MPEG;
        int rate = sf ? info.samplerate : 0;
        if (sf)
            sf_close(sf);
        if (kind != SCAN_NONE) {
            int rc = kind == SCAN_OGG    ? audio_scan_ogg(r->map, r->map_size, rate, &r->sc)
                     : kind == SCAN_MPEG ? audio_scan_mpeg(r->map, r->map_size, &r->sc)
                                         : audio_scan_flac(r->map, r->map_size, &r->sc);
            r->scanned = true;
            if (rc != 0) {
                st = sori_fail(err, SORI_ERR_NO_MEMORY, 0, "%s: out of memory", path);
                goto fail;
            }
            if (r->sc.damage.n_places) {
                /* refused, or decoded whole with its gaps (the tested path) */
                audio_scan_free(&r->sc);
                r->scanned = false;
                st = read_memory(r->map, r->map_size, path, path, r->allow, &r->whole, damage, err);
                if (st != SORI_OK)
                    goto fail;
                r->in_memory = true;
                munmap(r->map, r->map_size);
                r->map = NULL;
                r->info.n_channels = r->whole.n_channels;
                r->info.file_rate_hz = r->whole.sample_rate_hz;
                r->info.duration_s = (double)r->whole.n_frames / r->whole.sample_rate_hz;
                goto opened;
            }
            if (r->sc.n_pieces == 0) { /* not what it seemed: libsndfile's to judge */
                audio_scan_free(&r->sc);
                r->scanned = false;
            }
        }
        r->n_pieces = r->scanned ? r->sc.n_pieces : 1;
        if (!r->scanned) { /* libsndfile's to judge */
            m.pos = 0;
            sf = open_memory(&m, &info);
            if (!sf) {
                if (kind != SCAN_NONE) {
                    e = sf_error(NULL);
                    snprintf(sf_msg, sizeof sf_msg, "%s", sf_strerror(NULL));
                }
                byte_source b = {r->map, NULL, (int64_t)r->map_size};
                st = cannot_open(path, path, &b, e, sf_msg, damage, err);
                goto fail;
            }
            sf_close(sf);
        }
        st = reader_open_piece(r, 0, err);
        if (st == SORI_OK && !r->scanned)
            st = reader_check_cut(r, r->sf, &r->sfi, damage, err);
        if (st != SORI_OK)
            goto fail;
        r->info.n_channels = r->sfi.channels;
        r->info.file_rate_hz = r->sfi.samplerate;
        double total = 0;
        for (int i = 0; r->scanned && i < r->sc.n_pieces; i++)
            total = r->sc.pieces[i].expected_s >= 0 && total >= 0 ? total + r->sc.pieces[i].expected_s : -1;
        r->info.duration_s = r->scanned ? total : exact_length(r->sfi.format) && r->sfi.frames > 0
                                                      ? (double)r->sfi.frames / r->sfi.samplerate
                                                      : -1;
        reader_close_decoder(r);
    }
opened:
    if (channel >= r->info.n_channels) {
        st = sori_fail(err, SORI_ERR_INVALID_ARG, 0, "%s: channel %d of %d", path, channel, r->info.n_channels);
        goto fail;
    }
    r->out_rate = sample_rate_hz ? sample_rate_hz : r->info.file_rate_hz;
    r->info.sample_rate_hz = r->out_rate;
    r->ibuf = malloc((size_t)READER_CHUNK * (size_t)r->info.n_channels * sizeof(float));
    r->mono = malloc((size_t)READER_CHUNK * sizeof(float));
    if (!r->ibuf || !r->mono) {
        st = sori_fail(err, SORI_ERR_NO_MEMORY, 0, "%s: out of memory", path);
        goto fail;
    }
    st = reader_start(r, err);
    if (st != SORI_OK)
        goto fail;
    *out = r;
    return SORI_OK;
fail:
    sori_audio_reader_close(r);
    return st;
}

sori_audio_reader_info sori_audio_reader_get_info(const sori_audio_reader *r)
{
    sori_audio_reader_info z;
    memset(&z, 0, sizeof z);
    return r ? r->info : z;
}

sori_audio_damage sori_audio_reader_damage(const sori_audio_reader *r)
{
    sori_audio_damage z;
    memset(&z, 0, sizeof z);
    return r ? r->late : z;
}

/* Converts r->ibuf's n frames into r->obuf (mono, at the output rate). */
static sori_status reader_convert(sori_audio_reader *r, int64_t n, sori_error *err)
{
    const int ch = r->info.n_channels;
    for (int64_t t = 0; t < n; t++) {
        const float *f = r->ibuf + t * ch;
        if (r->channel == SORI_CHANNEL_MIX) {
            float s = 0.0f;
            for (int c = 0; c < ch; c++)
                s += f[c];
            r->mono[t] = s / (float)ch;
        } else {
            r->mono[t] = f[r->channel];
        }
        if (!isfinite(r->mono[t]))
            return sori_fail(err, SORI_ERR_FORMAT, 0, "%s: NaN or infinite sample at frame %lld", r->src,
                             (long long)(r->frames_in + t));
    }
    size_t need = r->rs ? sori_resampler_max_out(r->rs, (size_t)n) + 64 : (size_t)n;
    if (need > r->obuf_cap) {
        float *b = realloc(r->obuf, need * sizeof(float));
        if (!b)
            return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "%s: out of memory", r->src);
        r->obuf = b;
        r->obuf_cap = need;
    }
    r->obuf_pos = 0;
    if (!r->rs) {
        memcpy(r->obuf, r->mono, (size_t)n * sizeof(float));
        r->obuf_len = (size_t)n;
        return SORI_OK;
    }
    return sori_resampler_process(r->rs, n ? r->mono : NULL, (size_t)n, r->obuf, r->obuf_cap, &r->obuf_len, err);
}

sori_status sori_audio_reader_read(sori_audio_reader *r, float *out, int64_t max_samples, int64_t *n_read,
                                   sori_error *err)
{
    if (n_read)
        *n_read = 0;
    if (!r || !n_read || max_samples < 0 || (!out && max_samples > 0))
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "audio reader: bad argument");
    int64_t done = 0;
    while (done < max_samples) {
        if (r->obuf_pos < r->obuf_len) {
            int64_t k = (int64_t)(r->obuf_len - r->obuf_pos);
            k = k < max_samples - done ? k : max_samples - done;
            memcpy(out + done, r->obuf + r->obuf_pos, (size_t)k * sizeof(float));
            r->obuf_pos += (size_t)k;
            done += k;
            continue;
        }
        if (r->flushed)
            break;
        sori_status st = SORI_OK;
        if (!r->in_done) {
            int64_t got = 0;
            st = reader_decode(r, &got, err);
            if (st != SORI_OK)
                return st;
            if (got > 0) {
                st = reader_convert(r, got, err);
                r->frames_in += got;
            } else {
                r->in_done = true;
                if (r->frames_in == 0)
                    return sori_fail(err, SORI_ERR_FORMAT, 0, "%s: no audio (zero samples)", r->src);
            }
        } else if (r->rs) { /* drain the filter */
            st = reader_convert(r, 0, err);
            if (st == SORI_OK && r->obuf_len == 0)
                r->flushed = true;
        } else {
            r->flushed = true;
        }
        if (st != SORI_OK)
            return st;
    }
    r->frames_out += done;
    *n_read = done;
    return SORI_OK;
}

sori_status sori_audio_reader_rewind(sori_audio_reader *r, sori_error *err)
{
    if (!r)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "audio reader: bad argument");
    memset(&r->late, 0, sizeof r->late);
    return reader_start(r, err);
}

void sori_audio_reader_close(sori_audio_reader *r)
{
    if (!r)
        return;
    reader_close_decoder(r);
    if (r->scanned)
        audio_scan_free(&r->sc);
    if (r->map)
        munmap(r->map, r->map_size);
    sori_audio_free(&r->whole);
    sori_resampler_free(r->rs);
    free(r->ibuf);
    free(r->mono);
    free(r->obuf);
    free(r->src);
    free(r);
}
