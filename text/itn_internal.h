/* What the three files of ITN (sori_itn, include/sori/text.h) share. Not
 * public: text/itn.c is the pass over the text, and it calls text/itn_number.c
 * to read one word of numeral syllables (cardinals, decimals, digits, a
 * telephone number over words) and text/itn_words.c to read the classes that
 * span the next few words (dates, times, ordinals, fractions, measures); both
 * write to the pass's output buffer, a sink. Code points are unsigned, words
 * are split at spaces only. */
#ifndef SORI_TEXT_ITN_INTERNAL_H
#define SORI_TEXT_ITN_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { MAX_WORDS = 512, WORD_CP = 64, LOOK = 6 };

/* the output: len counts all that was put, written only while it fits cap */
typedef struct {
    char *buf;
    size_t cap, len;
    unsigned flags; /* SORI_ITN_* */
} sink;

/* ---- itn_number.c: code points, numerals, the output ---- */

int itn_u8dec(const unsigned char *s, size_t n, unsigned *cp);
int itn_decode_word(const unsigned char *s, size_t n, unsigned *cp, int cap);
int itn_starts(const unsigned *c, int n, const char *w);
int itn_digit_of(unsigned cp);
int64_t itn_small_unit(unsigned cp);
int64_t itn_big_unit(unsigned cp);
bool itn_cardinal(const unsigned *c, int n, int64_t *out);
bool itn_plain_number(const unsigned *c, int n, char *t, size_t cap);
int itn_native(const unsigned *c, int n, bool ordinal, int *v);
bool itn_looks_like_word(const unsigned *c, int n);

void itn_put(sink *o, const char *s, size_t n);
void itn_puts(sink *o, const char *s);
bool itn_number_text(const unsigned *c, int n, bool whole, sink *o);
size_t itn_phone_words(const unsigned char *s, size_t len, size_t i, sink *o);

/* ---- itn_words.c: dates, times, ordinals, fractions, measures: over the next few words ---- */

typedef struct {
    size_t b, e; /* its bytes in the text */
    int n;       /* code points; -1: not decoded (too long) */
    unsigned c[WORD_CP];
} word;

bool itn_particle(const unsigned char *s, size_t n);
int itn_load_words(const unsigned char *s, size_t len, size_t i, word *w, int cap);
/* Each reads from w[0] (nw words loaded from the whole text s of len bytes), puts its
 * written form to o and returns the words it read, or 0 (the ordinal, one word: true or
 * false); at_start: w[0] begins the text or follows only a sign word; minus: "-" after a
 * sign word, else "". */
int itn_date_words(const unsigned char *s, const word *w, int nw, bool at_start, size_t len, sink *o);
int itn_time_words(const unsigned char *s, const word *w, int nw, sink *o);
bool itn_ordinal_word(const unsigned char *s, const word *x, sink *o);
int itn_fraction_words(const unsigned char *s, const word *w, int nw, bool at_start, size_t len,
                       const char *minus, sink *o);
int itn_measure_words(const unsigned char *s, const word *w, int nw, bool at_start, size_t len,
                      const char *minus, sink *o);

#endif
