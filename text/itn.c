/* Spoken numbers to written form (sori/text.h: sori_itn): inverse text
 * normalization as NeMo's Korean grammars write it (nemo_text_processing/
 * inverse_text_normalization/ko; tests/test_itn.c runs its test cases):
 *   cardinals   Sino-Korean numerals with 십 백 천 and 만 억 조 경
 *               (삼만오천칠백 → 35700, 만천 → 11000, 마이너스 일 → -1);
 *   decimals    …점 + digits (일점영삼 → 1.03; a large unit after them stays:
 *               일점오억 → 1.5억);
 *   money       a number and 원 달러 불 유로 엔 위안 파운드 (오천 원 → ₩5000);
 *   telephone   digits read one by one, groups split by 에 or a space
 *               (공일공에일이삼사에오육칠팔 → 010-1234-5678);
 *   zeros       영 before a number reads as a digit of its own (영영백이십삼
 *               → 0 0 123);
 *   dates       year 년, month 월 (유월, 시월), day 일, written without the
 *               spaces (이천이십삼년 구월 오일 → 2023년9월5일, 오월 → 5월);
 *   times       a native hour and 시, minutes (분, 반), seconds (초), 전 or
 *               후 after them (두시 반 → 2:30, 두시 오초 → 2:00:05,
 *               두시십분후 → 2:10 후); 오전/오후 stay words;
 *   ordinals    native or Sino-Korean numerals and 번째 (첫번째 → 1번째,
 *               스물두번째 → 22번째, 오십삼번째 → 53번째);
 *   measures    a number and a unit of NeMo's measure_units.tsv (오 킬로미터
 *               → 5 km, 영하 십 도 → -10 °, 백 킬로미터퍼시간 → 100 km/h);
 *   fractions   A분의B → B/A, a whole part before 과/와, 루트 → √
 *               (일과이분의일 → 1 1/2, 마이너스오분의루트이십오 → -√25/5).
 * The whole text is read as freely as NeMo's cases are. Inside a sentence
 * only what cannot be an ordinary word is converted: a number word holds a
 * place-value syllable or at least two digit syllables (일이 "work +
 * particle", a lone 오 or 사 stay); an hour's 시 ends the word or comes
 * before minutes, seconds or a time particle (두시간, 한시름, 한시도, 두시면
 * "if you put it" stay); a month alone is not 이월 ("carried over"); a year
 * alone has two syllables or more (이년, 천년 stay); a day follows its month;
 * a unit that is also a word (도, 톤, 평, 볼트, 프로 …) stands as a word of
 * its own after a clear number, or 도 after 영하, and 기가, 메가, 줄 only as
 * the whole text; 이분의 일 ("this person's work") stays unless written as
 * one word. Native numerals alone (하나, 둘) are left, and so are minutes or
 * seconds without an hour (삼십 분: NeMo's "30 min" reads badly in Korean).
 * Nothing is written longer than twice the bytes it replaces (일경, 조사
 * "survey" stay), the whole text at most 63 bytes more, so the output fits
 * 2 × len + 64 bytes. */
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

/* bytes of the code points c[0, n) in UTF-8 */
static size_t u8len(const unsigned *c, int n)
{
    size_t b = 0;
    for (int i = 0; i < n; i++)
        b += c[i] < 0x80 ? 1 : c[i] < 0x800 ? 2 : c[i] < 0x10000 ? 3 : 4;
    return b;
}

/* how many code points of c[0, n) spell word (UTF-8) at its start; 0 if they don't */
static int starts(const unsigned *c, int n, const char *word)
{
    int k = 0;
    for (size_t i = 0, l = strlen(word); i < l; k++) {
        unsigned cp;
        const int m = u8dec((const unsigned char *)word + i, l - i, &cp);
        if (!m || k >= n || c[k] != cp)
            return 0;
        i += (size_t)m;
    }
    return k;
}
static bool spells(const unsigned *c, int n, const char *word) { return n > 0 && starts(c, n, word) == n; }

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

/* A Sino-Korean cardinal over code points c[0, n): its value; false if it is not one
 * (or past int64: 천경). */
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
static bool plain_number(const unsigned *c, int n, char *t, size_t cap)
{
    int p = 0;
    while (p < n && c[p] != 0xC810) /* 점 */
        p++;
    int64_t v;
    if (!cardinal(c, p, &v) || p == n - 1)
        return false;
    int l = snprintf(t, cap, "%lld", (long long)v);
    if (p == n)
        return true;
    if ((size_t)l + (size_t)(n - p) >= cap)
        return false;
    t[l++] = '.';
    for (int i = p + 1; i < n; i++) {
        const int d = digit_of(c[i]);
        if (d < 0)
            return false;
        t[l++] = (char)('0' + d);
    }
    t[l] = 0;
    return true;
}

/* Native numerals as they stand before a counter (두 시, 스물두 번째): 1-99 from
 * c[0, n)'s start, its length in code points (0: none). ordinal: one alone is 첫. */
static int native(const unsigned *c, int n, bool ordinal, int *v)
{
    static const char *const ones[] = {"한", "두", "세", "네", "다섯", "여섯", "일곱", "여덟", "아홉"};
    static const struct { const char *w; int v; } tens[] = {
        {"열", 10}, {"스물", 20}, {"스무", 20}, {"서른", 30}, {"마흔", 40},
        {"쉰", 50}, {"예순", 60}, {"일흔", 70}, {"여든", 80}, {"아흔", 90}};
    int k = 0, t = -1;
    *v = 0;
    for (int i = 0; i < (int)(sizeof tens / sizeof *tens) && !k; i++)
        if ((k = starts(c, n, tens[i].w)) > 0)
            t = i, *v = tens[i].v;
    if (t == 2) /* 스무: twenty and nothing after it */
        return k;
    if (ordinal && k == 0 && starts(c, n, "첫")) {
        *v = 1;
        return 1;
    }
    for (int d = 0; d < 9; d++) {
        const int l = starts(c + k, n - k, ones[d]);
        if (l && !(ordinal && d == 0 && k == 0)) { /* 한번째: 첫번째 */
            *v += d + 1;
            return k + l;
        }
    }
    return t == 1 ? 0 : k; /* 스물 needs its ones: 스물두, 스무 */
}

typedef struct {
    char *buf;
    size_t cap, len;
    unsigned flags; /* SORI_ITN_* */
} sink;

static void put(sink *o, const char *s, size_t n)
{
    if (o->len + n < o->cap)
        memcpy(o->buf + o->len, s, n);
    o->len += n;
}
static void puts_(sink *o, const char *s) { put(o, s, strlen(s)); }
static void putf(sink *o, const char *fmt, long long v)
{
    char t[32];
    snprintf(t, sizeof t, fmt, v);
    puts_(o, t);
}

/* a cardinal's digits; with SORI_ITN_THOUSANDS, grouped by commas from 1,000 */
static void put_int(sink *o, long long v)
{
    char t[32], g[48];
    const int n = snprintf(t, sizeof t, "%lld", v);
    if (!(o->flags & SORI_ITN_THOUSANDS) || n - (t[0] == '-') <= 3) {
        puts_(o, t);
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
    put(o, g, (size_t)k);
}

/* code points of a word; -1 if it is not UTF-8 or has more than cap */
static int decode_word(const unsigned char *s, size_t n, unsigned *cp, int cap)
{
    int k = 0;
    for (size_t i = 0; i < n; k++) {
        if (k >= cap)
            return -1;
        const int l = u8dec(s + i, n - i, &cp[k]);
        if (!l)
            return -1;
        i += (size_t)l;
    }
    return k;
}

static bool in_list(const char *const *list, size_t count, const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < count; i++)
        if (strlen(list[i]) == n && !memcmp(list[i], s, n))
            return true;
    return false;
}

/* what may follow a currency word in the same word: 원이에요, 원짜리 (not 원래, 원인) */
static bool particle(const unsigned char *s, size_t n)
{
    static const char *const p[] = {"이", "이에요", "이요", "이고", "이고요", "을", "은", "에", "으로", "짜리", "입니다",
                                    "이면", "이나", "씩", "밖에", "만", "도", "이야", "이죠", "인데", "인데요", "정도",
                                    "이라서", "예요", "에요", "가", "를", "는", "로", "요"};
    return in_list(p, sizeof p / sizeof *p, s, n);
}

/* n less the punctuation that may close a word (두번째, 오월.) */
static size_t unpunct(const unsigned char *s, size_t n)
{
    while (n > 0 && strchr(".,!?;:~'\")]", s[n - 1]))
        n--;
    return n;
}

/* what may follow a date, an ordinal, a measure or a fraction in the same word */
static bool tail_ok(const unsigned char *s, size_t n)
{
    static const char *const p[] = {"에는", "에도", "에서", "에만", "까지", "부터", "까지는", "부터는", "쯤", "의",
                                    "와", "과", "하고", "랑", "이랑", "이다", "이었어요", "였어요", "처럼", "보다",
                                    "마다", "만큼", "이라", "라", "이라고", "라고", "라서", "로는", "으로는",
                                    "이지만", "지만"};
    n = unpunct(s, n);
    return n == 0 || particle(s, n) || in_list(p, sizeof p / sizeof *p, s, n);
}

/* after a date: a particle, or 대 생 말 초 … and maybe a particle (1990년대에, 3월초) */
static bool date_tail_ok(const unsigned char *s, size_t n)
{
    static const char *const p[] = {"대", "생", "말", "초", "중순", "하순", "상순", "달", "간", "경", "쯤", "도"};
    if (tail_ok(s, n))
        return true;
    for (size_t i = 0; i < sizeof p / sizeof *p; i++) {
        const size_t l = strlen(p[i]);
        if (n >= l && !memcmp(s, p[i], l) && tail_ok(s + l, n - l))
            return true;
    }
    return false;
}

/* after a time: a time's particles. After an hour alone fewer: 한시 is also "a moment" and
 * "a Chinese poem" (한시가 급하다, 한시도, 한시의 stay), 두시 and 세시 also verbs (두시면
 * "if you put it", 세시고) */
static bool time_tail_ok(const unsigned char *s, size_t n, int bare_hour)
{
    static const char *const p[] = {"에", "에는", "에도", "에요", "예요", "이에요", "까지", "까지는", "까지만",
                                    "까지로", "부터", "부터는", "쯤", "쯤에", "쯤이면", "경", "경에", "전", "후",
                                    "전에", "후에", "전까지", "이전", "이후", "이전에", "이후에", "정각", "정각에",
                                    "에서", "로", "으로", "로요", "랑", "이랑", "하고", "마다"};
    static const char *const more[] = {"가", "이", "와", "과", "의", "야", "이야", "인지", "이인지", "인가", "냐",
                                       "이냐", "이라고", "를", "을", "되면", "은", "이면", "이고", "이요"};
    static const char *const verbish[] = {"는", "면", "고", "요", "라고"};
    n = unpunct(s, n);
    if (n == 0 || in_list(p, sizeof p / sizeof *p, s, n))
        return true;
    if (bare_hour == 1)
        return false;
    return in_list(more, sizeof more / sizeof *more, s, n) ||
           (bare_hour != 2 && bare_hour != 3 && in_list(verbish, sizeof verbish / sizeof *verbish, s, n));
}

static const struct { const char *word, *sign; } CURRENCIES[] = {
    {"원", "₩"}, {"달러", "$"}, {"불", "$"}, {"유로", "€"}, {"엔", "¥"}, {"위안", "¥"}, {"파운드", "£"}};

/* inside a sentence, number words that are more often words: one syllable (만 "only", 천
 * "cloth", a lone 오), 이만 and 오만 ("this much", "arrogance"), 구경 ("sightseeing"),
 * 이천 and 사천 (cities), 백조 ("swan"), 만이 ("only" and a particle), 영영 ("forever") */
static bool looks_like_word(const unsigned *c, int n)
{
    return n == 1 || (n == 2 && ((c[1] == 0xB9CC && (c[0] == 0xC774 || c[0] == 0xC624)) ||
                                 (c[1] == 0xACBD && c[0] == 0xAD6C) ||
                                 (c[1] == 0xCC9C && (c[0] == 0xC774 || c[0] == 0xC0AC)) ||
                                 (c[1] == 0xC870 && c[0] == 0xBC31) || (c[0] == 0xB9CC && c[1] == 0xC774) ||
                                 (c[0] == 0xC601 && c[1] == 0xC601)));
}

/* The written form of one spoken number (code points c[0, n), no spaces), or false. */
static bool number_text(const unsigned *c, int n, bool whole, sink *o)
{
    /* leading 영 before more: zeros of their own (영영백이십삼 → 0 0 123) */
    int z = 0;
    while (z + 1 < n && c[z] == 0xC601)
        z++;
    if (z > 0 && (whole || !looks_like_word(c, n))) {
        int64_t v;
        const bool rest_zero = n - z == 1 && c[z] == 0xC601;
        if (rest_zero || cardinal(c + z, n - z, &v)) {
            for (int i = 0; i < z; i++)
                puts_(o, "0 ");
            if (rest_zero)
                puts_(o, "0");
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
        if (!cardinal(c, p, &v) && !(p == 1 && c[0] == 0xC601 && (v = 0, true)))
            return false;
        int e = n;
        if (big_unit(c[n - 1]))
            e = n - 1;
        if (e <= p + 1)
            return false;
        put_int(o, (long long)v);
        puts_(o, ".");
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
     * stay words */
    if (!whole && looks_like_word(c, n))
        return false;
    /* digits one by one (no place values): telephone-like, written as they are; inside a
     * sentence at least 4 of them, or 3 with a 공 (일이 "work + particle", 일일이 "one by one",
     * 사이 "between" stay) */
    bool digits_only = n >= 2, has_gong = false;
    for (int i = 0; i < n && digits_only; i++) {
        digits_only = digit_of(c[i]) >= 0;
        has_gong |= c[i] == 0xACF5;
    }
    if (digits_only && ((!whole && n < 4 && !(n == 3 && has_gong)) || (o->flags & SORI_ITN_KEEP_PHONE)))
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
    put_int(o, (long long)v);
    return true;
}

enum { MAX_WORDS = 512, WORD_CP = 64, LOOK = 6 };

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

/* ---- dates, times, ordinals, fractions, measures: over the next few words ---- */

typedef struct {
    size_t b, e; /* its bytes in the text */
    int n;       /* code points; -1: not decoded (too long) */
    unsigned c[WORD_CP];
} word;

/* up to cap words from byte i (a space ends each) */
static int load_words(const unsigned char *s, size_t len, size_t i, word *w, int cap)
{
    int k = 0;
    while (k < cap && i < len) {
        size_t e = i;
        while (e < len && s[e] != ' ')
            e++;
        w[k].b = i, w[k].e = e;
        w[k].n = decode_word(s + i, e - i, w[k].c, WORD_CP);
        k++;
        if (e == len)
            break;
        i = e + 1;
    }
    return k;
}

/* the text of word x from its code point j on */
static const unsigned char *rest_of(const unsigned char *s, const word *x, int j, size_t *n)
{
    const size_t b = x->b + u8len(x->c, j);
    *n = x->e - b;
    return s + b;
}

/* where the next part of a date or a time starts: here, or the next word once this one is read */
static bool next_part(const word *w, int nw, int *k, int *j)
{
    if (*j < w[*k].n)
        return true;
    if (*k + 1 < nw && w[*k + 1].n > 0) {
        ++*k, *j = 0;
        return true;
    }
    return false;
}

/* the first code point cp in c[from, n), or -1 */
static int find_cp(const unsigned *c, int n, int from, unsigned cp)
{
    for (int i = from; i < n; i++)
        if (c[i] == cp)
            return i;
    return -1;
}

/* a number before a suffix syllable in word x at j (이천이십삼 before 년): its end, or -1 */
static int number_before(const word *x, int j, unsigned suffix, int64_t lo, int64_t hi, int64_t *v)
{
    const int p = find_cp(x->c, x->n, j, suffix);
    return p > j && cardinal(x->c + j, p - j, v) && *v >= lo && *v <= hi ? p : -1;
}

/* A date from the start of w: year 년, month 월, day 일, in that order, each a word of
 * its own or not; the words read, or 0. The date ends where what follows it in its
 * word may follow a date: 오월드 (a theme park) is no month, 이천이십삼년 오월드 a year. */
static int date_words(const unsigned char *s, const word *w, int nw, bool at_start, size_t len, sink *o)
{
    static const char *const months[] = {"일", "이", "삼", "사", "오", "유", "칠", "팔", "구", "시", "십일", "십이"};
    int64_t v[3] = {-1, -1, -1}; /* year, month, day */
    int k = 0, j = 0, year_syl = 0;
    struct { int k, j; int64_t v[3]; } stop = {-1, 0, {-1, -1, -1}};
    if (w[0].n <= 0)
        return 0;
    for (int part = 0; part < 3; part++) {
        int k2 = k, j2 = j, end = -1;
        if (part > 0 && !next_part(w, nw, &k2, &j2))
            break;
        const word *x = &w[k2];
        if (part == 0) {
            end = number_before(x, j2, 0xB144 /* 년 */, 1, 9999, &v[0]);
            year_syl = end - j2;
            const int p = nw > 1 ? find_cp(w[1].c, w[1].n, 0, 0xB144) : -1;
            int64_t head;
            if (end < 0 && p > 0 && small_unit(x->c[x->n - 1]) && cardinal(x->c, x->n, &head)) {
                unsigned y[2 * WORD_CP]; /* a year said in two: 이천 사년 */
                memcpy(y, x->c, (size_t)x->n * sizeof *y);
                memcpy(y + x->n, w[1].c, (size_t)p * sizeof *y);
                if (cardinal(y, x->n + p, &v[0]) && v[0] >= 1 && v[0] <= 9999)
                    k2 = 1, end = p, year_syl = x->n + p;
            }
        } else if (part == 1) {
            const int p = find_cp(x->c, x->n, j2, 0xC6D4); /* 월 */
            for (int m = 0; m < 12 && p > j2 && end < 0; m++)
                if (spells(x->c + j2, p - j2, months[m]))
                    v[1] = m + 1, end = p;
        } else if (v[1] > 0) { /* a day: the longest number before a 일 that leaves a tail */
            for (int p = x->n - 1; p > j2 && end < 0; p--) {
                size_t tn;
                const unsigned char *t = rest_of(s, x, p + 1, &tn);
                if (x->c[p] == 0xC77C && cardinal(x->c + j2, p - j2, &v[2]) && v[2] >= 1 && v[2] <= 31 &&
                    date_tail_ok(t, tn))
                    end = p;
            }
        }
        if (end < 0) {
            v[part] = -1;
            if (part == 0)
                continue;
            break;
        }
        k = k2, j = end + 1;
        size_t tn;
        const unsigned char *t = rest_of(s, &w[k], j, &tn);
        if (date_tail_ok(t, tn))
            stop.k = k, stop.j = j, memcpy(stop.v, v, sizeof v);
    }
    if (stop.k < 0)
        return 0;
    const bool whole = at_start && stop.k == nw - 1 && w[stop.k].e == len;
    const bool year_only = stop.v[1] < 0, month_only = stop.v[0] < 0 && stop.v[2] < 0;
    if (!whole && ((year_only && year_syl < 2) || (month_only && stop.v[1] == 2)))
        return 0;
    static const char *const fmt[] = {"%lld년", "%lld월", "%lld일"};
    for (int part = 0; part < 3; part++)
        if (stop.v[part] > 0)
            putf(o, fmt[part], (long long)stop.v[part]);
    size_t tn;
    const unsigned char *t = rest_of(s, &w[stop.k], stop.j, &tn);
    put(o, (const char *)t, tn);
    return stop.k + 1;
}

/* A time from the start of w: a native hour and 시 (NeMo's time_hours: 한 … 스물세), then
 * minutes (N분 or 반) and seconds (N초), each in the same word or the next; the words
 * read, or 0. 전/후 after it are written apart (두시전 → 2:00 전), as NeMo does. */
static int time_words(const unsigned char *s, const word *w, int nw, sink *o)
{
    const word *x = &w[0];
    int hour;
    const int h = x->n > 0 ? native(x->c, x->n, false, &hour) : 0;
    if (!h || h >= x->n || x->c[h] != 0xC2DC /* 시 */ || hour < 1 || hour > 24)
        return 0;
    int k = 0, j = h + 1, val[2] = {0, -1}; /* minutes, seconds */
    struct { int k, j, val[2]; } stop = {-1, 0, {0, -1}};
    for (int part = -1; part < 2; part++) {
        if (part >= 0) {
            int k2 = k, j2 = j, end = -1;
            if (!next_part(w, nw, &k2, &j2))
                break;
            const word *y = &w[k2];
            int64_t v;
            if (part == 0 && y->c[j2] == 0xBC18) /* 반 */
                v = 30, end = j2;
            else
                end = number_before(y, j2, part == 0 ? 0xBD84 /* 분 */ : 0xCD08 /* 초 */, 0, 59, &v);
            if (end < 0)
                continue;
            val[part] = (int)v;
            k = k2, j = end + 1;
        }
        size_t tn;
        const unsigned char *t = rest_of(s, &w[k], j, &tn);
        if (time_tail_ok(t, tn, part < 0 ? hour : 0))
            stop.k = k, stop.j = j, memcpy(stop.val, val, sizeof val);
    }
    if (stop.k < 0)
        return 0;
    putf(o, "%lld:", hour);
    putf(o, "%02lld", stop.val[0]);
    if (stop.val[1] >= 0)
        putf(o, ":%02lld", stop.val[1]);
    size_t tn;
    const unsigned char *t = rest_of(s, &w[stop.k], stop.j, &tn);
    static const char *const apart[] = {"전", "후", "이전", "이후", "정각"}; /* words of their own */
    for (size_t i = 0; i < sizeof apart / sizeof *apart; i++)
        if (tn >= strlen(apart[i]) && !memcmp(t, apart[i], strlen(apart[i]))) {
            put(o, " ", 1);
            break;
        }
    put(o, (const char *)t, tn);
    return stop.k + 1;
}

/* An ordinal (one word): a native or Sino-Korean number and 번째 (첫번째, 스물두번째,
 * 오십삼번째) and maybe a particle. */
static bool ordinal_word(const unsigned char *s, const word *x, sink *o)
{
    int p = 1;
    while (p + 1 < x->n && !(x->c[p] == 0xBC88 && x->c[p + 1] == 0xC9F8)) /* 번째 */
        p++;
    if (p + 1 >= x->n)
        return false;
    int nv;
    int64_t v;
    if (native(x->c, p, true, &nv) == p)
        v = nv;
    else if (!cardinal(x->c, p, &v))
        return false;
    size_t tn;
    const unsigned char *t = rest_of(s, x, p + 2, &tn);
    if (!tail_ok(t, tn))
        return false;
    putf(o, "%lld번째", (long long)v);
    put(o, (const char *)t, tn);
    return true;
}

/* [루트] number → (√)36.5 */
static bool root_number(const unsigned *c, int n, char *t, size_t cap)
{
    const int r = starts(c, n, "루트");
    if (r && cap > 3)
        memcpy(t, "√", 3), t += 3, cap -= 3;
    return plain_number(c + r, n - r, t, cap);
}

/* A fraction: [마이너스][W과|와]A분의B → [-][W ]B/A, A and B maybe after 루트 (√) and
 * decimals, and maybe a particle after it; B in the same word or, as the spelling rules
 * space it (삼분의 일), the next. The words read, or 0. Inside a sentence 이분의 일 is
 * "this person's work". */
static int fraction_words(const unsigned char *s, const word *w, int nw, bool at_start, size_t len,
                          const char *minus, sink *o)
{
    const unsigned *c = w[0].c;
    int n = w[0].n, p = -1;
    const int neg = starts(c, n, "마이너스");
    for (int i = neg + 1; i + 1 < n && p < 0; i++)
        if (c[i] == 0xBD84 && c[i + 1] == 0xC758) /* 분의 */
            p = i;
    if (p < 0)
        return 0;
    int a = neg; /* where the denominator starts: after a whole part and 과/와 */
    for (int i = neg + 1; i < p; i++)
        if (c[i] == 0xACFC || c[i] == 0xC640)
            a = i + 1;
    char whole[48] = "", den[48], num[48];
    if ((a > neg && !plain_number(c + neg, a - 1 - neg, whole, sizeof whole)) ||
        !root_number(c + a, p - a, den, sizeof den))
        return 0;
    const word *x = &w[0];
    int b = p + 2; /* where the numerator starts in x */
    if (b == n) {
        if (nw < 2 || w[1].n <= 0 || (p - a == 1 && c[a] == 0xC774 && !(at_start && nw == 2 && w[1].e == len)))
            return 0;
        x = &w[1], b = 0;
    }
    /* the numerator: the longest that leaves a particle, but a 만 after a whole numerator is
     * "only" (삼분의일만 → 1/3만, not 10000/3) */
    const unsigned *y = x->c;
    const int m = x->n;
    const bool only = y[m - 1] == 0xB9CC && m - 1 > b && root_number(y + b, m - 1 - b, num, sizeof num);
    for (int e = only ? m - 1 : m; e > b; e--) {
        size_t tn;
        const unsigned char *t = rest_of(s, x, e, &tn);
        if (root_number(y + b, e - b, num, sizeof num) && tail_ok(t, tn)) {
            puts_(o, neg ? "-" : minus);
            if (*whole) {
                puts_(o, whole);
                put(o, " ", 1);
            }
            puts_(o, num);
            put(o, "/", 1);
            puts_(o, den);
            put(o, (const char *)t, tn);
            return x == &w[0] ? 1 : 2;
        }
    }
    return 0;
}

/* NeMo's measure_units.tsv (ko ITN) less 시간 분 초 (read only after 퍼: km/h; 삼십 분 stays).
 * word 1: also an ordinary word (도 "also", 톤 "tone", 볼트 "bolt", 프로 "program", 평 …):
 * inside a sentence only as a word of its own after a clear number; 2: more often something
 * else even there (이십 줄 "twenty lines", 구십칠 점 오 메가 "97.5 MHz" on the radio): only
 * as the whole text. */
static const struct { const char *spoken, *sym; int word; } UNITS[] = {
    {"킬로미터", "km", 0}, {"미터", "m", 0}, {"센티미터", "cm", 0}, {"밀리미터", "mm", 0},
    {"마이크로미터", "μm", 0}, {"나노미터", "nm", 0}, {"킬로그램", "kg", 0}, {"그램", "g", 0},
    {"톤", "t", 1}, {"밀리그램", "mg", 0}, {"마이크로그램", "μg", 0}, {"리터", "L", 0},
    {"밀리리터", "ml", 0}, {"씨씨", "cc", 1}, {"뉴턴", "N", 1}, {"와트", "W", 0},
    {"킬로와트", "kW", 0}, {"킬로와트시", "kWh", 0}, {"헤르츠", "Hz", 0}, {"킬로헤르츠", "kHz", 0},
    {"메가헤르츠", "MHz", 0}, {"기가헤르츠", "GHz", 0}, {"도", "°", 1}, {"퍼센트", "%", 0},
    {"프로", "%", 1}, {"분당회전수", "rpm", 0}, {"알피엠", "rpm", 0}, {"볼트", "V", 1},
    {"밀리볼트", "mV", 0}, {"킬로볼트", "kV", 0}, {"암페어", "A", 0}, {"밀리암페어", "mA", 0},
    {"평", "py", 1}, {"제곱미터", "m²", 0}, {"제곱킬로미터", "km²", 0}, {"제곱센티미터", "cm²", 0},
    {"세제곱미터", "m³", 0}, {"기가바이트", "GB", 0}, {"기가", "GB", 2}, {"테라바이트", "TB", 0},
    {"테라", "TB", 2}, {"메가바이트", "MB", 0}, {"메가", "MB", 2}, {"킬로바이트", "KB", 0},
    {"바이트", "B", 1}, {"비트", "bit", 1}, {"칼로리", "cal", 0}, {"킬로칼로리", "kcal", 0},
    {"줄", "J", 2}, {"킬로줄", "kJ", 0}, {"마력", "hp", 1}, {"옴", "Ω", 1},
    {"파스칼", "Pa", 1}, {"헥토파스칼", "hPa", 0}, {"데시벨", "dB", 0}, {"루멘", "lm", 0},
    {"럭스", "lx", 1}, {"픽셀", "px", 0},
    /* only after 퍼 */
    {"시간", "h", 1}, {"분", "min", 1}, {"초", "s", 1}};
enum { N_UNITS = sizeof UNITS / sizeof *UNITS, N_PER_ONLY = 3 };

/* the longest unit at c[0, n): its index and length, or -1 */
static int unit_at(const unsigned *c, int n, bool per, int *len)
{
    int best = -1;
    *len = 0;
    for (int u = 0; u < N_UNITS - (per ? 0 : N_PER_ONLY); u++) {
        const int l = starts(c, n, UNITS[u].spoken);
        if (l > *len)
            best = u, *len = l;
    }
    return best;
}

/* A measure from the start of w: [영하] a number (spoken as 십이 점 일구오 too) and a unit,
 * in the same word or the next, maybe 퍼 and a second unit (킬로미터퍼시간 → km/h); the
 * words read, or 0. */
static int measure_words(const unsigned char *s, const word *w, int nw, bool at_start, size_t len,
                         const char *minus, sink *o)
{
    int k = 0, j = 0;
    const bool below = w[0].n >= 2 && starts(w[0].c, w[0].n, "영하");
    if (below && w[0].n == 2) {
        if (nw < 2)
            return 0;
        k = 1;
    } else if (below) {
        j = 2;
    }
    /* the number: numeral syllables and 점; 십이 | 점 | 일구오 joined */
    unsigned num[2 * WORD_CP + 1];
    int nn = 0, p = j;
    const word *x = &w[k];
    if (x->n <= 0)
        return 0;
    while (p < x->n && (((digit_of(x->c[p]) >= 0 && x->c[p] != 0xACF5) || small_unit(x->c[p]) || big_unit(x->c[p])) ||
                        (x->c[p] == 0xC810 && p > j)))
        num[nn++] = x->c[p++];
    if (nn == 0)
        return 0;
    bool spaced = false;
    if (p == x->n && k + 2 < nw && spells(w[k + 1].c, w[k + 1].n, "점") && w[k + 2].n > 0 &&
        digit_of(w[k + 2].c[0]) >= 0) {
        k += 2, x = &w[k], p = 0;
        num[nn++] = 0xC810;
        while (p < x->n && digit_of(x->c[p]) >= 0)
            num[nn++] = x->c[p++];
    }
    char t[2 * WORD_CP + 32];
    if (!plain_number(num, nn, t, sizeof t))
        return 0;
    if (p == x->n) { /* the unit: the next word */
        if (k + 1 >= nw || w[k + 1].n <= 0)
            return 0;
        x = &w[++k], p = 0, spaced = true;
    }
    int ul, pl = 0, per = -1;
    const int u = unit_at(x->c + p, x->n - p, false, &ul);
    if (u < 0)
        return 0;
    p += ul;
    if (p + 1 < x->n && x->c[p] == 0xD37C /* 퍼 */ && (per = unit_at(x->c + p + 1, x->n - p - 1, true, &pl)) >= 0)
        p += 1 + pl;
    size_t tn;
    const unsigned char *tail = rest_of(s, x, p, &tn);
    if (!tail_ok(tail, tn))
        return 0;
    const bool whole = at_start && k == nw - 1 && x->e == len;
    if ((UNITS[u].word == 2 && !whole) || (!whole && !spaced && nn == 1 && num[0] == 0xC774))
        return 0; /* and a lone 이 before a unit in the same word: 이미터 "emitter" */
    if (UNITS[u].word && !(below && !strcmp(UNITS[u].sym, "°"))) {
        const bool clear = nn >= 2 && !looks_like_word(num, nn);
        if (whole ? !spaced && !clear : !spaced || !clear)
            return 0;
    }
    puts_(o, below ? "-" : minus);
    puts_(o, t);
    put(o, " ", 1);
    puts_(o, UNITS[u].sym);
    if (per >= 0) {
        put(o, "/", 1);
        puts_(o, UNITS[per].sym);
    }
    put(o, (const char *)tail, tn);
    return k + 1;
}

sori_status sori_itn_parse_options(const char *list, unsigned *flags, sori_error *err)
{
    static const struct { const char *name; unsigned flag; } NAMES[] = {
        {"currency-word", SORI_ITN_CURRENCY_WORD}, {"thousands", SORI_ITN_THOUSANDS},
        {"keep-cardinal", SORI_ITN_KEEP_CARDINAL}, {"keep-money", SORI_ITN_KEEP_MONEY},
        {"keep-phone", SORI_ITN_KEEP_PHONE},       {"keep-date", SORI_ITN_KEEP_DATE},
        {"keep-time", SORI_ITN_KEEP_TIME},         {"keep-ordinal", SORI_ITN_KEEP_ORDINAL},
        {"keep-fraction", SORI_ITN_KEEP_FRACTION}, {"keep-measure", SORI_ITN_KEEP_MEASURE},
        {"korean", SORI_ITN_CURRENCY_WORD | SORI_ITN_THOUSANDS}};
    if (!list || !flags)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "itn options: NULL argument");
    unsigned f = 0;
    for (const char *p = list; *p;) {
        const char *e = strchr(p, ',');
        const size_t n = e ? (size_t)(e - p) : strlen(p);
        size_t k = 0;
        while (k < sizeof NAMES / sizeof *NAMES && !(strlen(NAMES[k].name) == n && !memcmp(NAMES[k].name, p, n)))
            k++;
        if (k == sizeof NAMES / sizeof *NAMES)
            return sori_fail(err, SORI_ERR_INVALID_ARG, 0,
                             "itn options: unknown '%.*s' (currency-word, thousands, korean, keep-cardinal, "
                             "keep-money, keep-phone, keep-date, keep-time, keep-ordinal, keep-fraction, "
                             "keep-measure)",
                             (int)(n > 40 ? 40 : n), p);
        f |= NAMES[k].flag;
        p += n + (e != NULL);
    }
    *flags = f;
    return SORI_OK;
}

sori_status sori_itn(const char *text, size_t len, char *out, size_t cap, size_t *out_len, sori_error *err)
{
    return sori_itn_with(text, len, 0, out, cap, out_len, err);
}

sori_status sori_itn_with(const char *text, size_t len, unsigned flags, char *out, size_t cap, size_t *out_len,
                          sori_error *err)
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
    sink o = {out, cap, 0, flags};
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
        if (!(flags & SORI_ITN_KEEP_PHONE) && ok && groups >= 2 && nd >= 9 && nd <= 12 && digits[0] == '0') {
            for (int g = 0, at = 0; g < groups; g++) {
                if (g)
                    put(&o, "-", 1);
                put(&o, digits + at, (size_t)glen[g]);
                at += glen[g];
            }
            goto done;
        }
    }
    /* word by word: a sign word, dates, times, ordinals, fractions, measures, numbers (a unit
     * or particle may follow), currencies */
    const char *minus = "";
    size_t from = 0;               /* where the words being read began: a sign word's start */
    bool sign_only_before = false; /* the words before this one are only a sign (- 일, 마이너스 일) */
    for (size_t i = 0; i < len;) {
        if (!*minus)
            from = i;
        {
            const size_t mark = o.len;
            put(&o, text + from, i - from); /* a sign word before a phone number stays a word */
            const size_t after = (flags & SORI_ITN_KEEP_PHONE) ? 0 : phone_words(s, len, i, &o);
            if (after) {
                i = after;
                minus = "";
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
        int n = decode_word(s + i, e - i, c, WORD_CP);
        /* a number written apart at 만 억 조 경 (삼만 오천 원, 이억 오천만): one number */
        for (int64_t v0; n >= 2 && e < len && big_unit(c[n - 1]) && cardinal(c, n, &v0);) {
            size_t e2 = e + 1;
            while (e2 < len && s[e2] != ' ')
                e2++;
            unsigned d[WORD_CP];
            const int m = decode_word(s + e + 1, e2 - e - 1, d, WORD_CP);
            int p = 0;
            while (p < m && (digit_of(d[p]) >= 0 || small_unit(d[p]) || big_unit(d[p])) && d[p] != 0xACF5)
                p++;
            int64_t v1;
            if (m <= 0 || p == 0 || n + m > WORD_CP || !cardinal(d, p, &v1) || v1 >= big_unit(c[n - 1]) ||
                (p == 1 && !small_unit(d[0]) && m == 1))
                break;
            memcpy(c + n, d, (size_t)m * sizeof *d);
            n += m;
            e = e2;
        }
        const bool whole = (i == 0 || sign_only_before) && e == len;
        bool done_word = false;
        if (n > 0) {
            /* 마이너스 / - before a number */
            if ((e - i == strlen("마이너스") && !memcmp(s + i, "마이너스", e - i)) || (e - i == 1 && s[i] == '-')) {
                if (e < len && !*minus) {
                    minus = "-";
                    sign_only_before = i == 0;
                    i = e + 1;
                    continue;
                }
            }
            /* dates, times, ordinals, fractions, measures: never longer than twice what they
             * replace (the whole text: 63 bytes more) */
            {
                word w[LOOK];
                const int nw = load_words(s, len, i, w, LOOK);
                const bool at_start = i == 0 || sign_only_before;
                const size_t mark = o.len;
                int read = 0;
                if (!*minus && !(flags & SORI_ITN_KEEP_DATE))
                    read = date_words(s, w, nw, at_start, len, &o);
                if (!*minus && !read && !(flags & SORI_ITN_KEEP_TIME))
                    read = time_words(s, w, nw, &o);
                if (!*minus && !read && !(flags & SORI_ITN_KEEP_ORDINAL))
                    read = ordinal_word(s, &w[0], &o);
                if (!read && !(flags & SORI_ITN_KEEP_FRACTION))
                    read = fraction_words(s, w, nw, at_start, len, minus, &o);
                if (!read && !(flags & SORI_ITN_KEEP_MEASURE))
                    read = measure_words(s, w, nw, at_start, len, minus, &o);
                if (read) {
                    const size_t end = w[read - 1].e, room = 2 * (end - from) + (at_start && end == len ? 63 : 0);
                    if (o.len - mark <= room) {
                        i = end;
                        done_word = true;
                    }
                }
                if (!done_word)
                    o.len = mark;
            }
        }
        if (n > 0 && !done_word) {
            const bool starts_minus = e - i > strlen("마이너스") && !memcmp(s + i, "마이너스", strlen("마이너스"));
            const unsigned *w = c;
            int wn = n;
            const char *sign_word = minus;
            if (starts_minus && !*minus)
                w += 4, wn -= 4, sign_word = "-";
            /* a currency at the word's end, or as the next word */
            const char *sign = NULL, *cur_word = NULL;
            bool sign_inside = false; /* the currency in the same word (만원, 구천구백구십구원) */
            size_t next = e, rest = e; /* rest..next: a particle after a currency word (원이에요) */
            for (size_t k = 0; k < sizeof CURRENCIES / sizeof *CURRENCIES && !sign; k++) {
                unsigned cc[4];
                const int cn = decode_word((const unsigned char *)CURRENCIES[k].word, strlen(CURRENCIES[k].word), cc, 4);
                if (wn > cn && !memcmp(w + wn - cn, cc, (size_t)cn * sizeof(unsigned)))
                    sign = CURRENCIES[k].sign, cur_word = CURRENCIES[k].word, wn -= cn, sign_inside = true;
                else if (e < len) {
                    size_t e2 = e + 1;
                    while (e2 < len && s[e2] != ' ')
                        e2++;
                    const size_t cl = strlen(CURRENCIES[k].word);
                    if (e2 - e - 1 >= cl && !memcmp(s + e + 1, CURRENCIES[k].word, cl) &&
                        (e2 - e - 1 == cl || particle(s + e + 1 + cl, e2 - e - 1 - cl))) /* 원, or 원 and a particle */
                        sign = CURRENCIES[k].sign, cur_word = CURRENCIES[k].word, next = e2, rest = e + 1 + cl;
                }
            }
            sink trial = o;
            const size_t mark = o.len;
            const bool word_style = (flags & SORI_ITN_CURRENCY_WORD) != 0;
            puts_(&trial, sign_word);
            if (sign && !word_style)
                puts_(&trial, sign);
            /* 영원 "eternity", 구원 "salvation", 일원 "a member": one syllable and 원 in one word is
             * money only as the whole text */
            const bool money_ok = sign && !(sign_inside && wn < 2 && !whole);
            const bool kept = sign ? (flags & SORI_ITN_KEEP_MONEY) != 0 : (flags & SORI_ITN_KEEP_CARDINAL) != 0;
            if (!kept && wn > 0 && !(sign && !money_ok) && number_text(w, wn, whole || money_ok, &trial)) {
                if (sign && word_style) /* 35000원, 15달러 */
                    puts_(&trial, cur_word);
                if (rest < next)
                    put(&trial, text + rest, next - rest);
                /* inside a sentence no longer than twice the words (일경 stays) */
                if (trial.len - mark <= 2 * (next - from) + ((i == 0 || sign_only_before) && next == len ? 63 : 0)) {
                    o = trial;
                    done_word = true;
                    i = next;
                }
            }
            if (!done_word)
                o.len = mark;
        }
        if (!done_word) {
            if (*minus && s[from] != '-' && i < e && s[i] >= '0' && s[i] <= '9') /* 마이너스 4% → -4% */
                from = i, put(&o, "-", 1);
            put(&o, text + from, e - from); /* a sign word that led to no number stays: 마이너스 통장 */
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
