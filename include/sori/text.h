/*
 * sori/text.h — the Korean text layer. Today: standard pronunciation (G2P):
 * Hangul spelling to Hangul as it is said, by the rules of 표준발음법.
 * Text normalization, transcripts in written form, personal-data masking
 * and abusive-speech detection come next (docs/text.md).
 *
 *     char out[256]; size_t n;
 *     sori_g2p("같이 먹었습니다", strlen(...), out, sizeof out, &n, &err);  // "가치 머걷씀니다"
 */
#ifndef SORI_TEXT_H
#define SORI_TEXT_H

#include <stddef.h>

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The standard pronunciation of text (UTF-8, len bytes) in Hangul: every
 * Hangul syllable becomes the syllable said there, everything else is
 * copied. The rules apply inside a word (a run of Hangul syllables; a
 * space or any other character ends it): ㅎ aspiration and deletion,
 * palatalization, liaison (double finals split), tensification, final
 * neutralization, nasalization, lateralization, ㅢ after a consonant.
 * Rules that need the morphology (ㄴ insertion, tensification after the
 * adnominal -ㄹ or in Sino-Korean words, liaison across a compound's
 * parts) are not applied: docs/text.md lists them. The output has the same
 * length as the input; out gets it and a NUL (cap >= len + 1, else
 * SORI_ERR_INVALID_ARG). Invalid UTF-8: SORI_ERR_INVALID_ARG with its
 * byte offset. */
SORI_API sori_status sori_g2p(const char *text, size_t len, char *out, size_t cap, size_t *out_len, sori_error *err);

#ifdef __cplusplus
}
#endif

#endif
