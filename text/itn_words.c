/* Dates, times, ordinals, fractions and measures for ITN (text/itn.c): each
 * read from where the pass stands over the next few words, its written form
 * put out and the words it read returned (0: none):
 *   dates       year 년, month 월, day 일 (이천이십삼년 구월 오일 → 2023년9월5일,
 *               이천 사년 → 2004년);
 *   times       a native hour and 시, minutes and seconds (두시 반 → 2:30,
 *               두시십분후 → 2:10 후);
 *   ordinals    a number and 번째 (첫번째 → 1번째, 스물두번째 → 22번째);
 *   fractions   A분의B (삼분의 일 → 1/3, 일과이분의일 → 1 1/2);
 *   measures    a number and a unit (오 킬로미터 → 5 km, 십이 점 일구오
 *               킬로미터 → 12.195 km, 백 킬로미터퍼시간 → 100 km/h).
 * Each ends only where what follows it in its word may follow it, a particle
 * of the lists here (오월에는, 두시까지; 오월드, a theme park, is no month). */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "text/itn_internal.h"

/* bytes of the code points c[0, n) in UTF-8 */
static size_t u8len(const unsigned *c, int n)
{
    size_t b = 0;
    for (int i = 0; i < n; i++)
        b += c[i] < 0x80 ? 1 : c[i] < 0x800 ? 2 : c[i] < 0x10000 ? 3 : 4;
    return b;
}

/* whether c[0, n) spells w (UTF-8), all of it */
static bool spells(const unsigned *c, int n, const char *w) { return n > 0 && itn_starts(c, n, w) == n; }

/* a number put out as fmt writes it (%lld) */
static void putf(sink *o, const char *fmt, long long v)
{
    char t[32];
    snprintf(t, sizeof t, fmt, v);
    itn_puts(o, t);
}

static bool in_list(const char *const *list, size_t count, const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < count; i++)
        if (strlen(list[i]) == n && !memcmp(list[i], s, n))
            return true;
    return false;
}

/* what may follow a currency word in the same word: 원이에요, 원짜리 (not 원래, 원인) */
bool itn_particle(const unsigned char *s, size_t n)
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
    return n == 0 || itn_particle(s, n) || in_list(p, sizeof p / sizeof *p, s, n);
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

/* up to cap words from byte i (a space ends each) */
int itn_load_words(const unsigned char *s, size_t len, size_t i, word *w, int cap)
{
    int k = 0;
    while (k < cap && i < len) {
        size_t e = i;
        while (e < len && s[e] != ' ')
            e++;
        w[k].b = i, w[k].e = e;
        w[k].n = itn_decode_word(s + i, e - i, w[k].c, WORD_CP);
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
    return p > j && itn_cardinal(x->c + j, p - j, v) && *v >= lo && *v <= hi ? p : -1;
}

/* A date from the start of w: year 년, month 월, day 일, in that order, each a word of
 * its own or not; the words read, or 0. The date ends where what follows it in its
 * word may follow a date: 오월드 (a theme park) is no month, 이천이십삼년 오월드 a year. */
int itn_date_words(const unsigned char *s, const word *w, int nw, bool at_start, size_t len, sink *o)
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
            if (end < 0 && p > 0 && itn_small_unit(x->c[x->n - 1]) && itn_cardinal(x->c, x->n, &head)) {
                unsigned y[2 * WORD_CP]; /* a year said in two: 이천 사년 */
                memcpy(y, x->c, (size_t)x->n * sizeof *y);
                memcpy(y + x->n, w[1].c, (size_t)p * sizeof *y);
                if (itn_cardinal(y, x->n + p, &v[0]) && v[0] >= 1 && v[0] <= 9999)
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
                if (x->c[p] == 0xC77C && itn_cardinal(x->c + j2, p - j2, &v[2]) && v[2] >= 1 && v[2] <= 31 &&
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
    itn_put(o, (const char *)t, tn);
    return stop.k + 1;
}

/* A time from the start of w: a native hour and 시 (NeMo's time_hours: 한 … 스물세), then
 * minutes (N분 or 반) and seconds (N초), each in the same word or the next; the words
 * read, or 0. 전/후 after it are written apart (두시전 → 2:00 전), as NeMo does. */
int itn_time_words(const unsigned char *s, const word *w, int nw, sink *o)
{
    const word *x = &w[0];
    int hour;
    const int h = x->n > 0 ? itn_native(x->c, x->n, false, &hour) : 0;
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
            itn_put(o, " ", 1);
            break;
        }
    itn_put(o, (const char *)t, tn);
    return stop.k + 1;
}

/* An ordinal (one word): a native or Sino-Korean number and 번째 (첫번째, 스물두번째,
 * 오십삼번째) and maybe a particle. */
bool itn_ordinal_word(const unsigned char *s, const word *x, sink *o)
{
    int p = 1;
    while (p + 1 < x->n && !(x->c[p] == 0xBC88 && x->c[p + 1] == 0xC9F8)) /* 번째 */
        p++;
    if (p + 1 >= x->n)
        return false;
    int nv;
    int64_t v;
    if (itn_native(x->c, p, true, &nv) == p)
        v = nv;
    else if (!itn_cardinal(x->c, p, &v))
        return false;
    size_t tn;
    const unsigned char *t = rest_of(s, x, p + 2, &tn);
    if (!tail_ok(t, tn))
        return false;
    putf(o, "%lld번째", (long long)v);
    itn_put(o, (const char *)t, tn);
    return true;
}

/* [루트] number → (√)36.5 */
static bool root_number(const unsigned *c, int n, char *t, size_t cap)
{
    const int r = itn_starts(c, n, "루트");
    if (r && cap > 3)
        memcpy(t, "√", 3), t += 3, cap -= 3;
    return itn_plain_number(c + r, n - r, t, cap);
}

/* A fraction: [마이너스][W과|와]A분의B → [-][W ]B/A, A and B maybe after 루트 (√) and
 * decimals, and maybe a particle after it; B in the same word or, as the spelling rules
 * space it (삼분의 일), the next. The words read, or 0. Inside a sentence 이분의 일 is
 * "this person's work". */
int itn_fraction_words(const unsigned char *s, const word *w, int nw, bool at_start, size_t len,
                       const char *minus, sink *o)
{
    const unsigned *c = w[0].c;
    int n = w[0].n, p = -1;
    const int neg = itn_starts(c, n, "마이너스");
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
    if ((a > neg && !itn_plain_number(c + neg, a - 1 - neg, whole, sizeof whole)) ||
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
            itn_puts(o, neg ? "-" : minus);
            if (*whole) {
                itn_puts(o, whole);
                itn_put(o, " ", 1);
            }
            itn_puts(o, num);
            itn_put(o, "/", 1);
            itn_puts(o, den);
            itn_put(o, (const char *)t, tn);
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
        const int l = itn_starts(c, n, UNITS[u].spoken);
        if (l > *len)
            best = u, *len = l;
    }
    return best;
}

/* A measure from the start of w: [영하] a number (spoken as 십이 점 일구오 too) and a unit,
 * in the same word or the next, maybe 퍼 and a second unit (킬로미터퍼시간 → km/h); the
 * words read, or 0. */
int itn_measure_words(const unsigned char *s, const word *w, int nw, bool at_start, size_t len,
                      const char *minus, sink *o)
{
    int k = 0, j = 0;
    const bool below = w[0].n >= 2 && itn_starts(w[0].c, w[0].n, "영하");
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
    while (p < x->n && (((itn_digit_of(x->c[p]) >= 0 && x->c[p] != 0xACF5) || itn_small_unit(x->c[p]) ||
                         itn_big_unit(x->c[p])) ||
                        (x->c[p] == 0xC810 && p > j)))
        num[nn++] = x->c[p++];
    if (nn == 0)
        return 0;
    bool spaced = false;
    if (p == x->n && k + 2 < nw && spells(w[k + 1].c, w[k + 1].n, "점") && w[k + 2].n > 0 &&
        itn_digit_of(w[k + 2].c[0]) >= 0) {
        k += 2, x = &w[k], p = 0;
        num[nn++] = 0xC810;
        while (p < x->n && itn_digit_of(x->c[p]) >= 0)
            num[nn++] = x->c[p++];
    }
    char t[2 * WORD_CP + 32];
    if (!itn_plain_number(num, nn, t, sizeof t))
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
        const bool clear = nn >= 2 && !itn_looks_like_word(num, nn);
        if (whole ? !spaced && !clear : !spaced || !clear)
            return 0;
    }
    itn_puts(o, below ? "-" : minus);
    itn_puts(o, t);
    itn_put(o, " ", 1);
    itn_puts(o, UNITS[u].sym);
    if (per >= 0) {
        itn_put(o, "/", 1);
        itn_puts(o, UNITS[per].sym);
    }
    itn_put(o, (const char *)tail, tn);
    return k + 1;
}
