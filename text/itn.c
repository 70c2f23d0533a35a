/* Spoken numbers to written form (sori/text.h: sori_itn), the first
 * classes of inverse text normalization:
 *   cardinals   Sino-Korean numerals with 십 백 천 and 만 억 조 경
 *               (삼만오천칠백 → 35700, 만천 → 11000, 마이너스 일 → -1);
 *   decimals    …점 + digits (일점영삼 → 1.03; a large unit after them stays:
 *               일점오억 → 1.5억);
 *   money       a number and 원 달러 불 유로 엔 위안 파운드 (오천 원 → ₩5000);
 *   telephone   digits read one by one, groups split by 에 or a space
 *               (공일공에일이삼사에오육칠팔 → 010-1234-5678);
 *   zeros       영 before a number reads as a digit of its own (영영백이십삼
 *               → 0 0 123).
 * A word is converted when it is all numeral syllables (and maybe a unit or
 * a particle after it), it holds a place-value syllable or at least two
 * digit syllables, or it is the whole text; words that only look like
 * numbers (일이 "work + particle", a lone 오 or 사) are left, as are
 * native numerals (하나, 둘) and ordinals — those, dates, times and
 * measures come next. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "kernels/kernels.h"
#include "sori/text.h"

static int u8dec(const unsigned char *s, size_t n, unsigned *cp)
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

/* a digit syllable (영 공 일 … 구) or -1 */
static int digit_of(unsigned cp)
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
static int64_t small_unit(unsigned cp)
{
    return cp == 0xC2ED ? 10 : cp == 0xBC31 ? 100 : cp == 0xCC9C ? 1000 : 0;
}
static int64_t big_unit(unsigned cp)
{
    return cp == 0xB9CC ? 10000LL : cp == 0xC5B5 ? 100000000LL : cp == 0xC870 ? 1000000000000LL
                                                                                : cp == 0xACBD ? 10000000000000000LL : 0;
}

/* A Sino-Korean cardinal over code points c[0, n): its value; false if it is not one. */
static bool cardinal(const unsigned *c, int n, int64_t *out)
{
    int64_t total = 0, group = 0, last_big = INT64_MAX, last_small = 100000;
    int pending = -1; /* a digit waiting for its unit */
    bool any = false;
    for (int i = 0; i < n; i++) {
        const int d = digit_of(c[i]);
        const int64_t su = small_unit(c[i]), bu = big_unit(c[i]);
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
            total += (group || pending > 0 ? group : 1) * bu;
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

typedef struct {
    char *buf;
    size_t cap, len;
} sink;

static void put(sink *o, const char *s, size_t n)
{
    if (o->len + n < o->cap)
        memcpy(o->buf + o->len, s, n);
    o->len += n;
}
static void puts_(sink *o, const char *s) { put(o, s, strlen(s)); }

/* code points of a word */
static int decode_word(const unsigned char *s, size_t n, unsigned *cp, int cap)
{
    int k = 0;
    for (size_t i = 0; i < n && k < cap;) {
        int l = u8dec(s + i, n - i, &cp[k]);
        if (!l)
            return -1;
        i += (size_t)l, k++;
    }
    return k;
}

/* what may follow a currency word in the same word: 원이에요, 원짜리 (not 원래, 원인) */
static bool particle(const unsigned char *s, size_t n)
{
    static const char *const p[] = {"이", "이에요", "이요", "이고", "이고요", "을", "은", "에", "으로", "짜리", "입니다",
                                    "이면", "이나", "씩", "밖에", "만", "도", "이야", "이죠", "인데", "인데요", "정도",
                                    "이라서", "예요", "에요", "가", "를", "는", "로", "요"};
    for (size_t i = 0; i < sizeof p / sizeof *p; i++)
        if (strlen(p[i]) == n && !memcmp(p[i], s, n))
            return true;
    return false;
}

static const struct { const char *word, *sign; } CURRENCIES[] = {
    {"원", "₩"}, {"달러", "$"}, {"불", "$"}, {"유로", "€"}, {"엔", "¥"}, {"위안", "¥"}, {"파운드", "£"}};

/* The written form of one spoken number (code points c[0, n), no spaces), or false. */
static bool number_text(const unsigned *c, int n, bool whole, sink *o)
{
    char tmp[64];
    /* leading 영 before more: zeros of their own (영영백이십삼 → 0 0 123) */
    int z = 0;
    while (z + 1 < n && c[z] == 0xC601)
        z++;
    if (z > 0) {
        int64_t v;
        const bool rest_zero = n - z == 1 && c[z] == 0xC601;
        if (rest_zero || cardinal(c + z, n - z, &v)) {
            for (int i = 0; i < z; i++)
                puts_(o, "0 ");
            if (rest_zero)
                puts_(o, "0");
            else {
                snprintf(tmp, sizeof tmp, "%lld", (long long)v);
                puts_(o, tmp);
            }
            return true;
        }
    }
    /* decimals: X점DDD (and a big unit after them) */
    for (int p = 1; p + 1 < n; p++) {
        if (c[p] != 0xC810) /* 점 */
            continue;
        int64_t v;
        if (!cardinal(c, p, &v) && !(p == 1 && c[0] == 0xC601 && (v = 0, true)))
            return false;
        int e = n;
        if (big_unit(c[n - 1]))
            e = n - 1;
        if (e <= p + 1)
            return false;
        snprintf(tmp, sizeof tmp, "%lld.", (long long)v);
        puts_(o, tmp);
        for (int i = p + 1; i < e; i++) {
            const int d = digit_of(c[i]);
            if (d < 0)
                return false;
            char ch = (char)('0' + d);
            put(o, &ch, 1);
        }
        if (e < n) {
            char u[4];
            u[0] = (char)(0xE0 | (c[n - 1] >> 12)), u[1] = (char)(0x80 | ((c[n - 1] >> 6) & 0x3F)),
            u[2] = (char)(0x80 | (c[n - 1] & 0x3F));
            put(o, u, 3);
        }
        return true;
    }
    /* inside a sentence (and without a currency after it), words that only look like numbers
     * stay words: one syllable (만 "only", 천 "cloth", a lone 오), 이만 and 오만 ("this much",
     * "arrogance"), 구경 ("sightseeing"), 이천 and 사천 (cities) */
    if (!whole && (n == 1 || (n == 2 && ((c[1] == 0xB9CC && (c[0] == 0xC774 || c[0] == 0xC624)) ||
                                         (c[1] == 0xACBD && c[0] == 0xAD6C) ||
                                         (c[1] == 0xCC9C && (c[0] == 0xC774 || c[0] == 0xC0AC))))))
        return false;
    /* digits one by one (no place values): telephone-like, written as they are; inside a
     * sentence at least 4 of them, or 3 with a 공 (일이 "work + particle", 일일이 "one by one",
     * 사이 "between" stay) */
    bool digits_only = n >= 2, has_gong = false;
    for (int i = 0; i < n && digits_only; i++) {
        digits_only = digit_of(c[i]) >= 0;
        has_gong |= c[i] == 0xACF5;
    }
    if (digits_only && !whole && n < 4 && !(n == 3 && has_gong))
        return false;
    if (digits_only) {
        for (int i = 0; i < n; i++) {
            char ch = (char)('0' + digit_of(c[i]));
            put(o, &ch, 1);
        }
        return true;
    }
    int64_t v;
    if (!cardinal(c, n, &v))
        return false;
    snprintf(tmp, sizeof tmp, "%lld", (long long)v);
    puts_(o, tmp);
    return true;
}

enum { MAX_WORDS = 512, WORD_CP = 64 };

/* A telephone number read out in words from byte i: groups of digit syllables
 * (the first 2-4 of them and beginning with 0, then 3-4, the last 4 digits
 * maybe followed by a particle), 9-11 digits in all. Writes 010-1234-5678
 * and what followed the last group, returns the byte after the number's
 * last word, or 0 if there is none. */
static size_t phone_words(const unsigned char *s, size_t len, size_t i, sink *o)
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
            const int k = u8dec(s + p, e - p, &cp);
            const int x = k ? digit_of(cp) : -1;
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
            put(o, "-", 1);
        put(o, d + k, (size_t)glen[g]);
    }
    put(o, (const char *)s + suffix, suffix_end - suffix);
    return suffix_end;
}

sori_status sori_itn(const char *text, size_t len, char *out, size_t cap, size_t *out_len, sori_error *err)
{
    if ((!text && len) || !out_len || (cap > 0 && !out))
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "itn: NULL argument");
    *out_len = 0;
    const unsigned char *s = (const unsigned char *)text;
    for (size_t i = 0; i < len;) {
        unsigned cp;
        const int k = u8dec(s + i, len - i, &cp);
        if (!k)
            return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "itn: invalid UTF-8 at byte %zu", i);
        i += (size_t)k;
    }
    sink o = {out, cap, 0};
    /* the whole text as a telephone number: digit groups split by 에 or spaces */
    {
        char digits[32];
        int nd = 0, ng = 0, glen[8] = {0};
        bool ok = len > 0;
        for (size_t i = 0; i < len && ok;) {
            unsigned cp;
            const int k = u8dec(s + i, len - i, &cp);
            i += (size_t)k;
            const int d = digit_of(cp);
            if (d >= 0 && nd < 31) {
                digits[nd++] = (char)('0' + d);
                glen[ng]++;
            } else if ((cp == ' ' || cp == 0xC5D0 /* 에 */) && glen[ng] > 0 && ng < 7) {
                ng++;
            } else if (cp != ' ') {
                ok = false;
            }
        }
        const int groups = glen[ng] > 0 ? ng + 1 : ng;
        if (ok && groups >= 2 && nd >= 9 && nd <= 12 && digits[0] == '0') {
            for (int g = 0, at = 0; g < groups; g++) {
                if (g)
                    put(&o, "-", 1);
                put(&o, digits + at, (size_t)glen[g]);
                at += glen[g];
            }
            goto done;
        }
    }
    /* word by word: a sign word, numbers (a unit or particle may follow), currencies */
    const char *minus = "";
    bool sign_only_before = false; /* the words before this one are only a sign (- 일, 마이너스 일) */
    for (size_t i = 0; i < len;) {
        {
            const size_t mark = o.len, after = phone_words(s, len, i, &o);
            if (after) {
                i = after;
                if (i < len) {
                    put(&o, " ", 1);
                    i++;
                }
                continue;
            }
            o.len = mark;
        }
        size_t e = i;
        while (e < len && s[e] != ' ')
            e++;
        unsigned c[WORD_CP];
        const int n = e - i <= 3 * WORD_CP ? decode_word(s + i, e - i, c, WORD_CP) : -1;
        const bool whole = (i == 0 || sign_only_before) && e == len;
        bool done_word = false;
        if (n > 0) {
            /* 마이너스 / - before a number */
            if ((e - i == strlen("마이너스") && !memcmp(s + i, "마이너스", e - i)) || (e - i == 1 && s[i] == '-')) {
                if (e < len) {
                    minus = "-";
                    sign_only_before = i == 0;
                    i = e + 1;
                    continue;
                }
            }
            const bool starts_minus = e - i > strlen("마이너스") && !memcmp(s + i, "마이너스", strlen("마이너스"));
            const unsigned *w = c;
            int wn = n;
            if (starts_minus)
                w += 4, wn -= 4, minus = "-";
            /* a currency at the word's end, or as the next word */
            const char *sign = NULL;
            bool sign_inside = false; /* the currency in the same word (만원, 구천구백구십구원) */
            size_t next = e, rest = e; /* rest..next: a particle after a currency word (원이에요) */
            for (size_t k = 0; k < sizeof CURRENCIES / sizeof *CURRENCIES && !sign; k++) {
                unsigned cc[4];
                const int cn = decode_word((const unsigned char *)CURRENCIES[k].word, strlen(CURRENCIES[k].word), cc, 4);
                if (wn > cn && !memcmp(w + wn - cn, cc, (size_t)cn * sizeof(unsigned)))
                    sign = CURRENCIES[k].sign, wn -= cn, sign_inside = true;
                else if (e < len) {
                    size_t e2 = e + 1;
                    while (e2 < len && s[e2] != ' ')
                        e2++;
                    const size_t cl = strlen(CURRENCIES[k].word);
                    if (e2 - e - 1 >= cl && !memcmp(s + e + 1, CURRENCIES[k].word, cl) &&
                        (e2 - e - 1 == cl || particle(s + e + 1 + cl, e2 - e - 1 - cl))) /* 원, or 원 and a particle */
                        sign = CURRENCIES[k].sign, next = e2, rest = e + 1 + cl;
                }
            }
            sink trial = o;
            const size_t mark = o.len;
            if (sign) {
                puts_(&trial, minus);
                puts_(&trial, sign);
            } else {
                puts_(&trial, minus);
            }
            /* 영원 "eternity", 구원 "salvation", 일원 "a member": one syllable and 원 in one word is
             * money only as the whole text */
            const bool money_ok = sign && !(sign_inside && wn < 2 && !whole);
            if (wn > 0 && !(sign && !money_ok) && number_text(w, wn, whole || money_ok, &trial)) {
                if (rest < next)
                    put(&trial, text + rest, next - rest);
                o = trial;
                done_word = true;
                i = next;
            } else {
                o.len = mark;
            }
        }
        if (!done_word) {
            puts_(&o, minus);
            put(&o, text + i, e - i);
            i = e;
        }
        minus = "";
        sign_only_before = false;
        if (i < len) {
            put(&o, " ", 1);
            i++;
        }
    }
done:
    *out_len = o.len;
    if (o.len >= cap) {
        if (cap > 0)
            out[0] = 0;
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "itn: %zu bytes do not fit a buffer of %zu", o.len, cap);
    }
    out[o.len] = 0;
    return SORI_OK;
}
