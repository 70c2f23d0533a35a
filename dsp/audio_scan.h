/* Container scans for damaged audio (private to dsp/).
 *
 * libsndfile decodes what it can of a damaged Ogg or MP3 file and says
 * nothing (a corrupt Ogg page, a cut file, a lost MPEG sync all come back as
 * a shorter signal with sf_error() == 0), and a corrupt FLAC frame comes back
 * as silence. So before decoding, sori walks the container itself: Ogg pages
 * (capture pattern, version, CRC, sequence numbers, end-of-stream),
 * MPEG audio frames (sync, lengths, Xing/VBRI counts, the LAME tag's CRCs)
 * and FLAC frames (header CRC-8, frame CRC-16, frame numbers, STREAMINFO's
 * length). Each scan reports the damaged places with their byte offsets and
 * the audio they held (in the file's own timeline), and gives the bytes the
 * decoder should read: the original file when it is intact, else a rebuilt
 * stream of its intact parts that libsndfile decodes to the end (Ogg streams
 * closed with an end-of-stream page, MPEG frames behind a Xing frame that
 * states their number, FLAC frames without the damaged ones). */
#ifndef SORI_DSP_AUDIO_SCAN_H
#define SORI_DSP_AUDIO_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sori/audio.h"

typedef enum {
    SCAN_NONE = 0, /* not a container sori scans (WAV, AIFF, …) */
    SCAN_OGG,
    SCAN_MPEG,
    SCAN_FLAC,
} scan_kind;

/* One stream for the decoder (an Ogg chain holds one per link). */
typedef struct {
    const unsigned char *data;
    size_t size;
    double expected_s; /* audio the container says it holds, < 0 when it does not say */
} scan_piece;

/* Audio lost inside the file (not at its end): the decoders drop it, and
 * sori puts back as much silence, so that later times stay the file's. */
typedef struct {
    double from_s, lost_s;
} scan_gap;

typedef struct {
    sori_audio_damage damage; /* n_places == 0: nothing found */
    scan_gap *gaps;           /* in the order found; owned */
    int n_gaps, cap_gaps;
    scan_piece *pieces;       /* owned array; the data points into the input or into `owned` */
    int n_pieces;
    unsigned char *owned; /* a rebuilt stream, or NULL */
    char error[160];      /* set when the scan itself failed (out of memory) */
} audio_scan;

/* The container the bytes start with (after any ID3v2 tag). */
scan_kind audio_scan_sniff(const unsigned char *data, size_t size);

/* Each fills *s (zeroed first) and returns 0, or -1 on out-of-memory with
 * s->error set. rate_hint_hz (libsndfile's rate, or 0) times streams whose
 * codec the scan does not know. */
int audio_scan_ogg(const unsigned char *data, size_t size, int rate_hint_hz, audio_scan *s);
int audio_scan_mpeg(const unsigned char *data, size_t size, audio_scan *s);
int audio_scan_flac(const unsigned char *data, size_t size, audio_scan *s);
void audio_scan_free(audio_scan *s);

/* ---- helpers shared by the scans (dsp/audio_scan.c) ---- */

enum {
    DAMAGE_LENGTH_UNKNOWN = 1, /* cut short, and the format does not state its length */
    DAMAGE_AT_END = 2,         /* nothing intact follows it */
};

/* Records one damaged place: bytes from byte_offset (-1: unknown), the
 * audio from from_s to to_s of the file's timeline, lost_s of it gone;
 * flags: DAMAGE_*. The report keeps the place with the lowest byte offset
 * as "first" and sums the losses; a loss inside the file is also a gap. */
void audio_scan_damage(audio_scan *s, int64_t byte_offset, double from_s, double to_s,
                       double lost_s, int flags, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));
/* Adds a piece; -1 on out-of-memory. */
int audio_scan_add_piece(audio_scan *s, const unsigned char *data, size_t size, double expected_s);
/* Bytes taken by an ID3v2 tag at p (0 when there is none). */
size_t audio_scan_id3v2_size(const unsigned char *p, size_t size);
/* The end of the audio once trailing tags (ID3v1, APEv2, Lyrics3) are
 * set aside. */
size_t audio_scan_strip_trailing_tags(const unsigned char *data, size_t size);
/* 1 when the APEv2 tag at the end holds an item named `key` (e.g. mp3gain's
 * undo record). */
int audio_scan_ape_has_item(const unsigned char *data, size_t size, const char *key);

/* ---- checks every decoded signal passes (dsp/audio.c) ---- */

/* 1..SORI_AUDIO_MAX_CHANNELS channels, 1 kHz..768 kHz; `bad` is the status
 * for a value out of range (SORI_ERR_FORMAT from a file, _INVALID_ARG from
 * a caller). */
sori_status audio_check_shape(const char *src, int channels, int64_t rate, sori_status bad,
                              sori_error *err);
/* Refuses zero frames and NaN/Inf samples (freeing *a). */
sori_status audio_finish(const char *src, sori_audio *a, sori_error *err);

#endif /* SORI_DSP_AUDIO_SCAN_H */
