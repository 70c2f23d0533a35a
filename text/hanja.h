/* Hanja read in Hangul (text/hanja.c), for sori_tn. Not public. */
#ifndef SORI_TEXT_HANJA_H
#define SORI_TEXT_HANJA_H

#include <stddef.h>

/* Reads the Hanja at s[i, len) (a word, longest match first, or one character): writes its
 * Hangul reading to out (as many bytes as it takes: every character is one syllable) and
 * returns the bytes taken, or 0 when s[i] is no Hanja or there is no table. s is valid UTF-8. */
size_t text_hanja_read(const unsigned char *s, size_t len, size_t i, char *out);

#endif
