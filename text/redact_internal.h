/* What the files of personal-data masking share. Not public: redact.c
 * reads the text into runs of digits and holds the public functions,
 * redact_number.c judges each run (which of its digits are a resident
 * registration, card, phone or account number), redact_email.c finds the
 * e-mail addresses; all of them add what they find to one list of spans. */
#ifndef SORI_TEXT_REDACT_INTERNAL_H
#define SORI_TEXT_REDACT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "sori/text.h"

enum { MAX_DIGITS = 48 };

/* What a digit of a spoken run may be besides a digit: the particle 이 after
 * a number (…팔이에요) reads as 2. After a syllable with a final consonant
 * (공 일 삼 육 칠 팔, 십 백 천) the particle is 이 (팔이요, 칠이고); after a
 * vowel it is dropped (사요, 구고): so 팔이요 is 8 + 이요 and 사이요 is 4, 2
 * + 요. The likely reading is tried first, the other after. */
enum { OPT_NO = 0, OPT_DIGIT_FIRST, OPT_PARTICLE_FIRST };

typedef struct {
    char d[MAX_DIGITS];        /* the digits */
    size_t at[MAX_DIGITS];     /* each digit's first byte */
    size_t end[MAX_DIGITS];    /* and the byte after it (a word read with place values: its digits share it) */
    bool group[MAX_DIGITS];    /* this digit begins a group (after a separator or a word break) */
    unsigned char opt[MAX_DIGITS];
    int n;
    int corr;                  /* the first digit said after a correction (아니, 다시 말씀드리면 …), or 0 */
    bool spoken;
    bool soft;                 /* the last word ended in a suffix that may go on to the next group (…이요, …에) */
} run;

/* the spans found, in the caller's array: past its cap they are counted, not stored */
typedef struct {
    sori_pii_span *v;
    int cap, n;
} spans;

/* redact.c */
void redact_add(spans *o, sori_pii_kind k, size_t a, size_t b);
unsigned redact_u8dec(const unsigned char *s, size_t n, int *k);
bool redact_is_hangul(unsigned cp);
bool redact_in_list(const char *const *list, size_t n_list, const unsigned char *s, size_t n);
#define IN_LIST(list, s, n) redact_in_list(list, sizeof list / sizeof *list, s, n)
/* a particle or ending that may follow the last digit word of a spoken number */
bool redact_digit_suffix(const unsigned char *s, size_t n);

/* redact_number.c: the run's numbers added to o (in partial mode its other stretches of 3 or more
 * digits too), and the run emptied */
void redact_close_run(run *r, const unsigned char *s, bool partial, spans *o);

/* redact_email.c: e-mail addresses written (local@domain.tld) and spoken (에이비씨 골뱅이 네이버 닷컴) */
void redact_find_emails(const unsigned char *s, size_t n, spans *o);
void redact_find_spoken_emails(const unsigned char *s, size_t n, spans *o);

#endif
