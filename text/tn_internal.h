/* What the two halves of sori_tn share (text/tn.c, text/tn_number.c): the
 * pass's state, the small readers of the input at a position, and the
 * readings of numbers and of what follows them. Not public. */
#ifndef SORI_TEXT_TN_INTERNAL_H
#define SORI_TEXT_TN_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "sori/text.h"
#include "text/text_util.h"

/* one sori_tn call: its input, its flags (SORI_TN_*) and the output so far */
typedef struct {
    const unsigned char *s;
    size_t len;
    unsigned flags;
    text_sink o;
} tn;

static const char *const SINO[10] = {"영", "일", "이", "삼", "사", "오", "육", "칠", "팔", "구"};

static inline bool is_digit(const tn *t, size_t i) { return i < t->len && t->s[i] >= '0' && t->s[i] <= '9'; }
static inline bool is_alpha_c(unsigned c) { return (c | 0x20) >= 'a' && (c | 0x20) <= 'z'; }
static inline bool is_alpha(const tn *t, size_t i) { return i < t->len && is_alpha_c(t->s[i]); }
static inline bool is_alnum(const tn *t, size_t i) { return is_digit(t, i) || is_alpha(t, i); }
static inline bool is_upper(const tn *t, size_t i) { return i < t->len && t->s[i] >= 'A' && t->s[i] <= 'Z'; }

/* the text at i begins with w */
static inline bool at(const tn *t, size_t i, const char *w)
{
    const size_t n = strlen(w);
    return i <= t->len && t->len - i >= n && !memcmp(t->s + i, w, n);
}

/* the code point at i (0 past the end) and its length in *k */
static inline unsigned cp_at(const tn *t, size_t i, int *k)
{
    unsigned cp = 0;
    *k = i < t->len ? text_utf8_next(t->s + i, t->len - i, &cp) : 0;
    return *k ? cp : 0;
}

static inline bool hangul_at(const tn *t, size_t i)
{
    int k;
    return text_is_syllable(cp_at(t, i, &k));
}

/* the code point that ends s[0, i) (0 at the start) */
static inline unsigned cp_before(const tn *t, size_t i)
{
    size_t b = i;
    while (b > 0 && (t->s[b - 1] & 0xC0) == 0x80)
        b--;
    if (b == 0)
        return 0;
    int k;
    return cp_at(t, b - 1, &k);
}

static inline void put(tn *t, const char *s) { text_puts(&t->o, s); }
static inline void put_n(tn *t, const char *s, size_t n) { text_put(&t->o, s, n); }

static inline size_t digits_from(const tn *t, size_t p)
{
    while (is_digit(t, p))
        p++;
    return p;
}

/* digits can begin a token here: not right after a letter, a digit or a joining mark */
static inline bool token_start(const tn *t, size_t i)
{
    if (i == 0)
        return true;
    const unsigned char c = t->s[i - 1];
    return !(is_alnum(t, i - 1) || c == '.' || c == '-' || c == '/' || c == ':' || c == ',');
}

/* the end of a numeric token at p: not followed by a digit, a letter or a separator and a digit */
static inline bool token_end(const tn *t, size_t p)
{
    if (is_alnum(t, p))
        return false;
    if (p + 1 < t->len && (t->s[p] == '/' || t->s[p] == '-' || t->s[p] == ':' || t->s[p] == '.' ||
                           t->s[p] == ',') && is_digit(t, p + 1))
        return false;
    return true;
}

static inline const char *zero(const tn *t) { return (t->flags & SORI_TN_ZERO_YEONG) ? "영" : "공"; }

/* a number as written: digits, commas, decimals, a root sign */
typedef struct {
    bool root;     /* √ before it */
    size_t ib, ie; /* the integer's digits (commas inside) */
    size_t fb, fe; /* the decimal digits (fb == fe: none) */
    size_t end;
} operand;

/* ---- text/tn_number.c (each explained where it is defined) ---- */
void tn_say_digits(tn *t, size_t b, size_t e, const char *z);
void tn_say_sino(tn *t, size_t b, size_t e);
int64_t tn_value_of(const tn *t, size_t b, size_t e);
void tn_say_native(tn *t, int v, bool ordinal);
bool tn_parse_operand(const tn *t, size_t p, operand *op);
bool tn_has_comma(const tn *t, const operand *op);
void tn_say_operand(tn *t, const operand *op, bool root_space);
size_t tn_particle(tn *t, size_t p);
bool tn_word_ends(const tn *t, size_t p);
const char *tn_native_counter(const tn *t, size_t p);
int tn_unit_at(const tn *t, size_t p);
bool tn_say_unit_word(tn *t, size_t b, size_t e);
size_t tn_say_unit(tn *t, size_t p);
bool tn_tilde_at(const tn *t, size_t p, size_t *n);
size_t tn_range_after(tn *t, size_t p);
size_t tn_weekday_after(tn *t, size_t p);
void tn_say_month(tn *t, int64_t m, size_t b, size_t e);
void tn_say_hour(tn *t, int64_t h, size_t b, size_t e);

/* ---- text/tn_signs.c ---- */
size_t tn_middot_numbers_at(tn *t, size_t i);
size_t tn_sign_at(tn *t, size_t i);

/* ---- text/tn_latin.c ---- */
size_t tn_dots_at(tn *t, size_t i);
size_t tn_letters_at(tn *t, size_t i);

#endif
