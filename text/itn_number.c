/* Spoken numbers for ITN (text/itn.c): one word of numeral syllables read
 * to its value or written out, and the buffer the pass writes to:
 *   cardinals   Sino-Korean numerals with 십 백 천 and 만 억 조 경 (삼만오천칠백
 *               → 35700, 만천 → 11000; 천경, past int64, is none);
 *   decimals    …점 + digits (삼십육점오 → 36.5, 영점오 → 0.5; a large unit
 *               after them stays: 일점오억 → 1.5억);
 *   zeros       영 before a number reads as a digit of its own (영영백이십삼
 *               → 0 0 123);
 *   digits      read one by one, as they are (공일공일이삼사 → 0101234), and a
 *               telephone number over several words (공일공 일이삼사 오육칠팔
 *               → 010-1234-5678);
 *   natives     native numerals before a counter (두 시 → 2, 스물두 번째 → 22,
 *               첫 as an ordinal → 1).
 * Inside a sentence a number word that is more often a word (만 "only", 이천 a
 * city, 일이 "work + particle") is left as it is. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "sori/text.h"
#include "text/itn_internal.h"
#include "text/text_util.h"

int itn_u8dec(const unsigned char *s, size_t n, unsigned *cp)
{
    *cp = 0;
    const unsigned c = s[0];
    int k = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 0;
    if (k == 0 || (size_t)k > n)
        return 0;
    unsigned v = k == 1 ? c : c & (0x7F >> k);
    for (int i = 1; i < k; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        v = (v << 6) | (s[i] & 0x3F);
    }
    *cp = v;
    return k;
}

/* how many code points of c[0, n) spell w (UTF-8) at its start; 0 if they don't */
int itn_starts(const unsigned *c, int n, const char *w)
{
    int k = 0;
    for (size_t i = 0, l = strlen(w); i < l; k++) {
        unsigned cp;
        const int m = itn_u8dec((const unsigned char *)w + i, l - i, &cp);
        if (!m || k >= n || c[k] != cp)
            return 0;
        i += (size_t)m;
    }
    return k;
}

/* a digit syllable (영 공 일 … 구) or -1 */
int itn_digit_of(unsigned cp)
{
    static const unsigned d[] = {0xC601 /* 영 */, 0xC77C, 0xC774, 0xC0BC, 0xC0AC, 0xC624, 0xC721, 0xCE60, 0xD314, 0xAD6C};
    if (cp == 0xACF5) /* 공 */
        return 0;
    for (int i = 0; i < 10; i++)
        if (cp == d[i])
            return i;
    return -1;
}

/* 십 백 천 → 10 100 1000; 만 억 조 경 → 10^4 10^8 10^12 10^16; else 0 */
int64_t itn_small_unit(unsigned cp)
{
    return cp == 0xC2ED ? 10 : cp == 0xBC31 ? 100 : cp == 0xCC9C ? 1000 : 0;
}
int64_t itn_big_unit(unsigned cp)
{
    return cp == 0xB9CC ? 10000LL : cp == 0xC5B5 ? 100000000LL : cp == 0xC870 ? 1000000000000LL
                                                                                : cp == 0xACBD ? 10000000000000000LL : 0;
}

/* A Sino-Korean cardinal over code points c[0, n): its value; false if it is not one
 * (or past int64: 천경). */
bool itn_cardinal(const unsigned *c, int n, int64_t *out)
{
    int64_t total = 0, group = 0, last_big = INT64_MAX, last_small = 100000;
    int pending = -1; /* a digit waiting for its unit */
    bool any = false;
    for (int i = 0; i < n; i++) {
        const int d = itn_digit_of(c[i]);
        const int64_t su = itn_small_unit(c[i]), bu = itn_big_unit(c[i]);
        if (d >= 0 && c[i] != 0xACF5) {
            if (pending >= 0 || (d == 0 && n > 1))
                return false;
            pending = d;
        } else if (su) {
            if (su >= last_small || pending == 0)
                return false;
            group += (pending >= 0 ? pending : 1) * su;
            last_small = su;
            pending = -1;
        } else if (bu) {
            if (bu >= last_big)
                return false;
            if (pending >= 0)
                group += pending;
            const int64_t times = group || pending > 0 ? group : 1;
            if (times > (INT64_MAX - total) / bu)
                return false;
            total += times * bu;
            last_big = bu;
            group = 0, pending = -1, last_small = 100000;
        } else {
            return false;
        }
        any = true;
    }
    if (!any)
        return false;
    if (pending >= 0)
        group += pending;
    *out = total + group;
    return true;
}

/* A cardinal (삼십육 → 36) or a decimal (삼십육점오 → 36.5, 영점오 → 0.5) with nothing
 * after it, written to t; false if c[0, n) is neither. */
bool itn_plain_number(const unsigned *c, int n, char *t, size_t cap)
{
    int p = 0;
    while (p < n && c[p] != 0xC810) /* 점 */
        p++;
    int64_t v;
    if (!itn_cardinal(c, p, &v) || p == n - 1)
        return false;
    int l = snprintf(t, cap, "%lld", (long long)v);
    if (p == n)
        return true;
    if ((size_t)l + (size_t)(n - p) >= cap)
        return false;
    t[l++] = '.';
    for (int i = p + 1; i < n; i++) {
        const int d = itn_digit_of(c[i]);
        if (d < 0)
            return false;
        t[l++] = (char)('0' + d);
    }
    t[l] = 0;
    return true;
}

/* Native numerals as they stand before a counter (두 시, 스물두 번째): 1-99 from
 * c[0, n)'s start, its length in code points (0: none). ordinal: one alone is 첫. */
int itn_native(const unsigned *c, int n, bool ordinal, int *v)
{
    static const char *const ones[] = {"한", "두", "세", "네", "다섯", "여섯", "일곱", "여덟", "아홉"};
    static const struct { const char *w; int v; } tens[] = {
        {"열", 10}, {"스물", 20}, {"스무", 20}, {"서른", 30}, {"마흔", 40},
        {"쉰", 50}, {"예순", 60}, {"일흔", 70}, {"여든", 80}, {"아흔", 90}};
    int k = 0, t = -1;
    *v = 0;
    for (int i = 0; i < (int)(sizeof tens / sizeof *tens) && !k; i++)
        if ((k = itn_starts(c, n, tens[i].w)) > 0)
            t = i, *v = tens[i].v;
    if (t == 2) /* 스무: twenty and nothing after it */
        return k;
    if (ordinal && k == 0 && itn_starts(c, n, "첫")) {
        *v = 1;
        return 1;
    }
    for (int d = 0; d < 9; d++) {
        const int l = itn_starts(c + k, n - k, ones[d]);
        if (l && !(ordinal && d == 0 && k == 0)) { /* 한번째: 첫번째 */
            *v += d + 1;
            return k + l;
        }
    }
    return t == 1 ? 0 : k; /* 스물 needs its ones: 스물두, 스무 */
}

/* the output: what does not fit is counted, not written */
void itn_put(sink *o, const char *s, size_t n)
{
    if (o->len + n < o->cap)
        memcpy(o->buf + o->len, s, n);
    o->len += n;
}
void itn_puts(sink *o, const char *s) { itn_put(o, s, strlen(s)); }

/* a cardinal's digits; with SORI_ITN_THOUSANDS, grouped by commas from 1,000 */
static void put_int(sink *o, long long v)
{
    char t[32], g[48];
    const int n = snprintf(t, sizeof t, "%lld", v);
    if (!(o->flags & SORI_ITN_THOUSANDS) || n - (t[0] == '-') <= 3) {
        itn_puts(o, t);
        return;
    }
    int k = 0, start = t[0] == '-';
    if (start)
        g[k++] = '-';
    for (int i = start; i < n; i++) {
        if (i > start && (n - i) % 3 == 0)
            g[k++] = ',';
        g[k++] = t[i];
    }
    itn_put(o, g, (size_t)k);
}

/* code points of a word; -1 if it is not UTF-8 or has more than cap */
int itn_decode_word(const unsigned char *s, size_t n, unsigned *cp, int cap)
{
    int k = 0;
    for (size_t i = 0; i < n; k++) {
        if (k >= cap)
            return -1;
        const int l = itn_u8dec(s + i, n - i, &cp[k]);
        if (!l)
            return -1;
        i += (size_t)l;
    }
    return k;
}

/* inside a sentence, number words that are more often words: one syllable (만 "only", 천
 * "cloth", a lone 오), 이만 and 오만 ("this much", "arrogance"), 구경 ("sightseeing"),
 * 이천 and 사천 (cities), 백조 ("swan"), 만이 ("only" and a particle), 영영 ("forever") */
bool itn_looks_like_word(const unsigned *c, int n)
{
    return n == 1 || (n == 2 && ((c[1] == 0xB9CC && (c[0] == 0xC774 || c[0] == 0xC624)) ||
                                 (c[1] == 0xACBD && c[0] == 0xAD6C) ||
                                 (c[1] == 0xCC9C && (c[0] == 0xC774 || c[0] == 0xC0AC)) ||
                                 (c[1] == 0xC870 && c[0] == 0xBC31) || (c[0] == 0xB9CC && c[1] == 0xC774) ||
                                 (c[0] == 0xC601 && c[1] == 0xC601)));
}

/* The written form of one spoken number (code points c[0, n), no spaces), or false. */
bool itn_number_text(const unsigned *c, int n, bool whole, sink *o)
{
    /* leading 영 before more: zeros of their own (영영백이십삼 → 0 0 123) */
    int z = 0;
    while (z + 1 < n && c[z] == 0xC601)
        z++;
    if (z > 0 && (whole || !itn_looks_like_word(c, n))) {
        int64_t v;
        const bool rest_zero = n - z == 1 && c[z] == 0xC601;
        if (rest_zero || itn_cardinal(c + z, n - z, &v)) {
            for (int i = 0; i < z; i++)
                itn_puts(o, "0 ");
            if (rest_zero)
                itn_puts(o, "0");
            else
                put_int(o, (long long)v);
            return true;
        }
    }
    /* decimals: X점DDD (and a big unit after them) */
    for (int p = 1; p + 1 < n; p++) {
        if (c[p] != 0xC810) /* 점 */
            continue;
        int64_t v;
        if (!itn_cardinal(c, p, &v) && !(p == 1 && c[0] == 0xC601 && (v = 0, true)))
            return false;
        int e = n;
        if (itn_big_unit(c[n - 1]))
            e = n - 1;
        if (e <= p + 1)
            return false;
        put_int(o, (long long)v);
        itn_puts(o, ".");
        for (int i = p + 1; i < e; i++) {
            const int d = itn_digit_of(c[i]);
            if (d < 0)
                return false;
            char ch = (char)('0' + d);
            itn_put(o, &ch, 1);
        }
        if (e < n) {
            char u[3];
            text_put3(u, c[n - 1]);
            itn_put(o, u, 3);
        }
        return true;
    }
    /* inside a sentence (and without a currency after it), words that only look like numbers
     * stay words */
    if (!whole && itn_looks_like_word(c, n))
        return false;
    /* digits one by one (no place values): telephone-like, written as they are; inside a
     * sentence at least 4 of them, or 3 with a 공 (일이 "work + particle", 일일이 "one by one",
     * 사이 "between" stay) */
    bool digits_only = n >= 2, has_gong = false;
    for (int i = 0; i < n && digits_only; i++) {
        digits_only = itn_digit_of(c[i]) >= 0;
        has_gong |= c[i] == 0xACF5;
    }
    if (digits_only && ((!whole && n < 4 && !(n == 3 && has_gong)) || (o->flags & SORI_ITN_KEEP_PHONE)))
        return false;
    if (digits_only) {
        for (int i = 0; i < n; i++) {
            char ch = (char)('0' + itn_digit_of(c[i]));
            itn_put(o, &ch, 1);
        }
        return true;
    }
    int64_t v;
    if (!itn_cardinal(c, n, &v))
        return false;
    put_int(o, (long long)v);
    return true;
}

/* A telephone number read out in words from byte i: groups of digit syllables
 * (the first 2-4 of them and beginning with 0, then 3-4, the last 4 digits
 * maybe followed by a particle), 9-11 digits in all. Writes 010-1234-5678
 * and what followed the last group, returns the byte after the number's
 * last word, or 0 if there is none. */
size_t itn_phone_words(const unsigned char *s, size_t len, size_t i, sink *o)
{
    char d[16];
    int nd = 0, glen[4], ng = 0;
    size_t at = i, suffix = 0, suffix_end = 0;
    while (ng < 4 && at < len) {
        size_t e = at;
        while (e < len && s[e] != ' ')
            e++;
        int g = 0;
        size_t p = at;
        while (p < e && g < (ng >= 2 ? 4 : 5)) { /* a third group stops at 4: 오육칠팔이에요 */
            unsigned cp;
            const int k = itn_u8dec(s + p, e - p, &cp);
            const int x = k ? itn_digit_of(cp) : -1;
            if (x < 0)
                break;
            if (nd + g < 15)
                d[nd + g] = (char)('0' + x);
            g++;
            p += (size_t)k;
        }
        const bool last = g == 4 && ng >= 2; /* the last group: 4 digits, maybe a particle after */
        if (g < 2 || g > 4 || (p < e && !last))
            break;
        glen[ng++] = g;
        nd += g;
        if (p < e || last) {
            suffix = p, suffix_end = e;
            at = e;
            break;
        }
        suffix = suffix_end = e;
        at = e < len ? e + 1 : e;
    }
    if (ng < 3 || nd < 9 || nd > 11 || d[0] != '0' || glen[0] > 4 || glen[ng - 1] != 4)
        return 0;
    for (int g = 0, k = 0; g < ng; k += glen[g], g++) {
        if (g)
            itn_put(o, "-", 1);
        itn_put(o, d + k, (size_t)glen[g]);
    }
    itn_put(o, (const char *)s + suffix, suffix_end - suffix);
    return suffix_end;
}
