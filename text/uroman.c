/* Korean → the romanization of uroman (isi-nlp/uroman), which Meta's MMS-TTS
 * voices were trained on (sori/text.h, sori_ko_uroman). uroman romanizes a
 * Hangul syllable as its initial, vowel and final, each by a fixed table,
 * with no sound changes (한국어 → hangugeo, 읽기 → ilggi), and a compatibility
 * jamo (ㅋ ㅠ …) by a table of its own; other characters are copied. The
 * tables here are uroman 1.3.1.1's, read back from it for all 11,172
 * syllables and the 94 compatibility jamo by tools/gen_uroman_fixtures.py
 * (which asserts that initial + vowel + final gives every syllable), and
 * tests/test_uroman.c compares whole corpus sentences with uroman's output.
 * Hanja (uroman reads them as Chinese) and other scripts are copied: run
 * sori_tn first (it reads Hanja and digits in Hangul). */
#include <string.h>

#include "kernels/kernels.h"
#include "sori/text.h"
#include "text/text_util.h"

static const char *const INITIAL[19] = {"g", "gg", "n", "d", "dd", "r", "m", "b", "bb", "s",
                                        "ss", "", "j", "jj", "c", "k", "t", "p", "h"};
static const char *const VOWEL[21] = {"a", "ae", "ya", "yae", "eo", "e", "yeo", "ye", "o", "wa", "wai",
                                      "oe", "yo", "u", "weo", "we", "wi", "yu", "eu", "yi", "i"};
static const char *const FINAL[28] = {"", "g", "gg", "gs", "n", "nj", "nh", "d", "l", "lg", "lm", "lb", "ls", "lt",
                                      "lp", "lh", "m", "b", "bs", "s", "ss", "ng", "j", "c", "k", "t", "p", "h"};
/* U+3131 … U+318E, as uroman writes each alone */
static const char *const COMPAT[94] = {
    "k", "ss", "k", "n", "n", "n", "t", "ss", "r", "r", "r", "r",
    "r", "r", "r", "r", "m", "p", "ss", "p", "s", "ss", "ng", "c",
    "ss", "ch", "kh", "th", "ph", "h", "a", "ae", "ya", "yae", "eo", "e",
    "yeo", "ye", "o", "w", "w", "oe", "yo", "u", "w", "w", "w", "yu",
    "eu", "yi", "i", "ㅤ", "ss", "n", "n", "n", "r", "r", "r", "r",
    "r", "m", "m", "m", "k", "p", "p", "p", "p", "p", "p", "k",
    "k", "s", "s", "s", "s", "s", "p", "ss", "ye", "ye", "ye", "k",
    "ss", "yeo", "yo", "yo", "yo", "yu", "yu", "yu", "a", "a",
};

sori_status sori_ko_uroman(const char *text, size_t len, char *out, size_t cap, size_t *out_len, sori_error *err)
{
    if (out_len)
        *out_len = 0;
    if ((!text && len) || !out || !out_len)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "sori_ko_uroman: text, out and out_len must not be NULL");
    const size_t bad = text_utf8_check(text, len);
    if (bad < len)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "sori_ko_uroman: invalid UTF-8 at byte %zu", bad);
    text_sink o = {out, cap, 0};
    const unsigned char *u = (const unsigned char *)text;
    for (size_t i = 0; i < len;) {
        unsigned cp = 0;
        const int k = text_utf8_next(u + i, len - i, &cp);
        if (text_is_syllable(cp)) {
            const unsigned s = cp - 0xAC00;
            text_puts(&o, INITIAL[s / 588]);
            text_puts(&o, VOWEL[s % 588 / 28]);
            text_puts(&o, FINAL[s % 28]);
        } else if (cp >= 0x3131 && cp <= 0x318E) {
            text_puts(&o, COMPAT[cp - 0x3131]);
        } else {
            text_put(&o, text + i, (size_t)k);
        }
        i += (size_t)k;
    }
    if (o.len >= cap) {
        const size_t need = o.len;
        if (cap)
            out[0] = '\0';
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "sori_ko_uroman: the output needs %zu bytes, %zu given",
                         need + 1, cap);
    }
    out[o.len] = '\0';
    *out_len = o.len;
    return SORI_OK;
}
