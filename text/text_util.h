/* Helpers the text layer's modules share (not public): strict UTF-8
 * decoding, a bounded output buffer, and Hangul syllable arithmetic. */
#ifndef SORI_TEXT_UTIL_H
#define SORI_TEXT_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

/* One code point of s[0, n): its value in *cp and its length, or 0 when the
 * bytes are not valid UTF-8 (overlong forms, surrogates, > U+10FFFF, cut). */
static inline int text_utf8_next(const unsigned char *s, size_t n, unsigned *cp)
{
    if (n == 0)
        return 0;
    const unsigned c = s[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    const int len = c >= 0xF0 && c < 0xF5 ? 4 : c >= 0xE0 && c < 0xF0 ? 3 : c >= 0xC2 && c < 0xE0 ? 2 : 0;
    if (len == 0 || (size_t)len > n)
        return 0;
    unsigned v = c & (0x7F >> len);
    for (int i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        v = (v << 6) | (s[i] & 0x3F);
    }
    static const unsigned min[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (v < min[len] || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
        return 0;
    *cp = v;
    return len;
}

/* The byte offset of the first invalid UTF-8 sequence in s[0, n), or n. */
static inline size_t text_utf8_check(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        unsigned cp;
        const int k = text_utf8_next(u + i, n - i, &cp);
        if (!k)
            return i;
        i += (size_t)k;
    }
    return n;
}

/* A bounded output buffer: writes past cap are counted, not made, so the
 * caller learns the length it would have needed. */
typedef struct text_sink {
    char *buf;
    size_t cap, len;
} text_sink;

static inline void text_put(text_sink *o, const char *s, size_t n)
{
    if (o->len + n < o->cap)
        memcpy(o->buf + o->len, s, n);
    o->len += n;
}

static inline void text_puts(text_sink *o, const char *s) { text_put(o, s, strlen(s)); }

static inline bool text_is_syllable(unsigned cp) { return cp >= 0xAC00 && cp <= 0xD7A3; }

/* A code point of U+0800..U+FFFF (a Hangul syllable, a CJK ideograph) as its
 * three UTF-8 bytes at o, and back from them. */
static inline void text_put3(char *o, unsigned cp)
{
    o[0] = (char)(0xE0 | (cp >> 12));
    o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[2] = (char)(0x80 | (cp & 0x3F));
}

static inline unsigned text_get3(const char *s)
{
    const unsigned char *u = (const unsigned char *)s;
    return ((u[0] & 0x0Fu) << 12) | ((u[1] & 0x3Fu) << 6) | (u[2] & 0x3Fu);
}

/* The final consonant index (0: none) of the Hangul syllable that ends
 * b[0, n), or -1 when the bytes do not end in one. */
static inline int text_last_final(const char *b, size_t n)
{
    if (n < 3 || ((unsigned char)b[n - 3] & 0xF0) != 0xE0)
        return -1;
    const unsigned cp = text_get3(b + n - 3);
    return text_is_syllable(cp) ? (int)((cp - 0xAC00) % 28) : -1;
}

#endif
