/* Korean as said → IPA in Kokoro's symbol set (sori/text.h, sori_ko_ipa).
 * Input is Hangul as it is pronounced (sori_g2p's output: liaison,
 * nasalization, tensing are already done); each syllable becomes its onset,
 * vowel and coda symbols by the table of docs/tts-kokoro.md ("Korean through
 * Kokoro"):
 *  - lenis ㄱ ㄷ ㅂ ㅈ: k t p ʨ at a word's start or after an obstruent coda,
 *    voiced ɡ d b ʥ after a vowel or a sonorant coda (Korean lenis stops are
 *    voiced there);
 *  - aspirated ㅋ ㅌ ㅍ ㅊ: kʰ tʰ pʰ ʨʰ;
 *  - tense ㄲ ㄸ ㅃ ㅉ ㅆ: a glottal stop ʔ (Kokoro's Japanese geminate) and
 *    the plain consonant after a vowel or a sonorant, the plain one elsewhere
 *    (the vocabulary has no tense diacritic);
 *  - ㅅ ㅆ ㅎ ㄴ before i, j, ㅟ: ɕ ɕ ç ɲ; the j of a vowel is dropped after a
 *    palatal onset (ㄴ ㅅ ㅆ ㅈ ㅉ ㅊ ㅎ);
 *  - ㄹ: ɾ in an onset, l in a coda and after a coda ㄹ (ㄹㄹ is a long l);
 *  - codas: the seven sounds k t p n m ŋ l (double and other finals
 *    neutralized here too, for input that did not go through g2p);
 *  - vowels a ʌ o u ɯ i, ㅐ ㅔ both e, ㅚ as we, ㅢ as ɰi at a word's start
 *    and i after a consonant (표준발음법 rule 5).
 * Punctuation . , ? ! ; : … — is kept (it shapes Kokoro's prosody), runs of
 * white space become one space, everything else is left out. */
#include <string.h>

#include "kernels/kernels.h"
#include "sori/text.h"
#include "text/text_util.h"

enum { C_G = 0, C_GG, C_N, C_D, C_DD, C_R, C_M, C_B, C_BB, C_S, C_SS, C_O, C_J, C_JJ, C_CH, C_K, C_T, C_P, C_H };

/* vowels in Unicode's medial order ㅏ ㅐ ㅑ ㅒ ㅓ ㅔ ㅕ ㅖ ㅗ ㅘ ㅙ ㅚ ㅛ ㅜ ㅝ ㅞ ㅟ ㅠ ㅡ ㅢ ㅣ */
static const char *const VOWEL[21] = {"a", "e", "ja", "je", "ʌ", "e", "jʌ", "je", "o", "wa", "we",
                                      "we", "jo", "u", "wʌ", "we", "wi", "ju", "ɯ", "ɰi", "i"};
/* codas in Unicode's final order (index 0: none) */
static const char *const CODA[28] = {"", "k", "k", "k", "n", "n", "n", "t", "l", "k", "m", "l", "l", "l",
                                     "p", "l", "m", "p", "p", "t", "t", "ŋ", "t", "t", "k", "t", "p", "t"};

/* ㅑ ㅒ ㅕ ㅖ ㅟ ㅛ ㅠ ㅣ: the onset before them is palatalized */
static bool palatal(int v)
{
    return v == 2 || v == 3 || v == 6 || v == 7 || v == 12 || v == 16 || v == 17 || v == 20;
}

/* after this syllable's coda, is the next onset between voiced sounds? */
static bool sonorant_coda(int t)
{
    const char *c = CODA[t];
    return !c[0] || !strcmp(c, "n") || !strcmp(c, "m") || !strcmp(c, "ŋ") || !strcmp(c, "l");
}

/* voiced: after a vowel or a sonorant in the same word; after_l: the previous coda was ㄹ */
static void syllable(text_sink *o, int l, int v, int t, bool voiced, bool after_l)
{
    static const char *const lenis[2][4] = {{"k", "t", "p", "ʨ"}, {"ɡ", "d", "b", "ʥ"}};
    static const char *const tense[5] = {"k", "t", "p", "ʨ", "s"};
    if (v == 19 && l != C_O)
        v = 20; /* a consonant + ㅢ is said ㅣ (and palatalizes as ㅣ does) */
    const bool pal = palatal(v);
    switch (l) {
    case C_G: case C_D: case C_B: case C_J:
        text_puts(o, lenis[voiced][l == C_G ? 0 : l == C_D ? 1 : l == C_B ? 2 : 3]);
        break;
    case C_K: text_puts(o, "kʰ"); break;
    case C_T: text_puts(o, "tʰ"); break;
    case C_P: text_puts(o, "pʰ"); break;
    case C_CH: text_puts(o, "ʨʰ"); break;
    case C_GG: case C_DD: case C_BB: case C_JJ: case C_SS:
        if (voiced)
            text_puts(o, "ʔ");
        text_puts(o, l == C_SS && pal ? "ɕ"
                                      : tense[l == C_GG ? 0 : l == C_DD ? 1 : l == C_BB ? 2 : l == C_JJ ? 3 : 4]);
        break;
    case C_S: text_puts(o, pal ? "ɕ" : "s"); break;
    case C_H: text_puts(o, pal ? "ç" : "h"); break;
    case C_N: text_puts(o, pal ? "ɲ" : "n"); break;
    case C_R: text_puts(o, after_l ? "l" : "ɾ"); break;
    case C_M: text_puts(o, "m"); break;
    default: break; /* ㅇ: no onset */
    }
    const char *vs = VOWEL[v];
    const bool palatal_onset = l == C_N || l == C_S || l == C_SS || l == C_J || l == C_JJ || l == C_CH || l == C_H;
    if (palatal_onset && vs[0] == 'j')
        vs++; /* the palatal onset carries the glide */
    text_puts(o, vs);
    text_puts(o, CODA[t]);
}

sori_status sori_ko_ipa(const char *text, size_t len, char *out, size_t cap, size_t *out_len, sori_error *err)
{
    if (out_len)
        *out_len = 0;
    if ((!text && len) || !out || !out_len)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "sori_ko_ipa: text, out and out_len must not be NULL");
    const size_t bad = text_utf8_check(text, len);
    if (bad < len)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "sori_ko_ipa: invalid UTF-8 at byte %zu", bad);
    text_sink o = {out, cap, 0};
    const unsigned char *u = (const unsigned char *)text;
    bool voiced = false, after_l = false, space = false;
    for (size_t i = 0; i < len;) {
        unsigned cp = 0;
        const int k = text_utf8_next(u + i, len - i, &cp);
        i += (size_t)k;
        if (text_is_syllable(cp)) {
            const unsigned s = cp - 0xAC00;
            const int l = (int)(s / 588), v = (int)(s % 588 / 28), t = (int)(s % 28);
            if (space && o.len)
                text_puts(&o, " ");
            space = false;
            syllable(&o, l, v, t, voiced, after_l);
            voiced = sonorant_coda(t);
            after_l = t == 8; /* ㄹ */
            continue;
        }
        voiced = after_l = false; /* anything else ends the word */
        if (cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r' || cp == 0x3000) {
            space = true;
            continue;
        }
        if (cp == '.' || cp == ',' || cp == '?' || cp == '!' || cp == ';' || cp == ':' || cp == 0x2026 ||
            cp == 0x2014) {
            if (space && o.len && cp == 0x2014)
                text_puts(&o, " ");
            space = false;
            text_put(&o, text + i - (size_t)k, (size_t)k);
        }
    }
    if (o.len >= cap) {
        const size_t need = o.len;
        if (cap)
            out[0] = '\0';
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "sori_ko_ipa: the output needs %zu bytes, %zu given",
                         need + 1, cap);
    }
    out[o.len] = '\0';
    *out_len = o.len;
    return SORI_OK;
}
