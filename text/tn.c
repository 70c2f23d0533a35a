/* Written Korean to spoken Hangul (sori/text.h: sori_tn), the text
 * normalization a speech synthesizer or a spoken-text corpus needs.
 *
 * One pass over the text. Where a digit, a sign, a currency, a root sign,
 * an @, a dot inside a word or an upper-case Latin letter begins, the
 * matchers below are tried in order; whatever none of them takes is copied.
 *   date      2024/01/30, 2024-07-23, 1999.9.17, 10/30/2024, 29/12/2000
 *   time      10:30, 10:30:05 (hours 1-12 in native numerals)
 *   telephone +82 010-1234-5678, (123) 123-5678, 555.555.5555, 1588-1234;
 *             16-digit card numbers: read digit by digit in their groups
 *   money     ₩2,000  KRW 1230000  US$ 5  HK$ 300  € ¥ £ and ISO codes
 *   numbers   Sino-Korean cardinals with 만 억 조 경 (123000012 →
 *             일억이천삼백만십이), commas, decimals (영점영삼), a minus,
 *             fractions (1/2 → 이분의 일, 3분의1, 1과1/2, √), Hangul
 *             units after digits (30억 → 삼십억, 1만 → 만); then what
 *             follows decides the reading:
 *               번째          native ordinals (첫번째, 스무번째; Sino-Korean
 *                             from 100)
 *               counters      native numerals (3개 → 세개, 20살 → 스무살,
 *                             4자리 → 네자리; from 100 Sino-Korean)
 *               년 월 일 시 분 초  dates and times (6월 → 유월, 10월 →
 *                             시월, 3시 → 세시, 14시 → 십사시)
 *               units         5km → 오 킬로미터, 60km/h → … 퍼 시간, 100%
 *             digits after a Latin letter, with a leading zero, or after
 *             …자리 are read one by one
 *   electronic  @ → 골뱅이, the dots of domains and file names → 닷, a
 *             domain's last part and file extensions spelled (co.kr → 씨오
 *             닷 케이알, .jpg → 닷 제이피지)
 *   letters   upper-case words of up to five letters spelled (KTX →
 *             케이티엑스)
 *   Hanja     words read in Hangul through libhangul's table (text/hanja.c:
 *             大韓民國 → 대한민국, 李 → 이), one syllable per character
 * A particle right after a number is fitted to the reading (3/5이 →
 * 오분의 삼이, 4/7이 → 칠분의 사가). Ranges (3〜5일) read 부터. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "kernels/kernels.h"
#include "sori/text.h"
#include "text/hanja.h"
#include "text/text_util.h"

typedef struct {
    const unsigned char *s;
    size_t len;
    unsigned flags;
    text_sink o;
} tn;

static const char *const SINO[10] = {"영", "일", "이", "삼", "사", "오", "육", "칠", "팔", "구"};
static const char *const LETTER[26] = {"에이", "비", "씨", "디", "이", "에프", "지", "에이치", "아이",
                                       "제이", "케이", "엘", "엠", "엔", "오", "피", "큐", "알",
                                       "에스", "티", "유", "브이", "더블유", "엑스", "와이", "제트"};

static bool is_digit(const tn *t, size_t i) { return i < t->len && t->s[i] >= '0' && t->s[i] <= '9'; }
static bool is_alpha_c(unsigned c) { return (c | 0x20) >= 'a' && (c | 0x20) <= 'z'; }
static bool is_alpha(const tn *t, size_t i) { return i < t->len && is_alpha_c(t->s[i]); }
static bool is_alnum(const tn *t, size_t i) { return is_digit(t, i) || is_alpha(t, i); }
static bool is_upper(const tn *t, size_t i) { return i < t->len && t->s[i] >= 'A' && t->s[i] <= 'Z'; }

/* the text at i begins with w */
static bool at(const tn *t, size_t i, const char *w)
{
    const size_t n = strlen(w);
    return i <= t->len && t->len - i >= n && !memcmp(t->s + i, w, n);
}

/* the code point at i (0 past the end) and its length in *k */
static unsigned cp_at(const tn *t, size_t i, int *k)
{
    unsigned cp = 0;
    *k = i < t->len ? text_utf8_next(t->s + i, t->len - i, &cp) : 0;
    return *k ? cp : 0;
}

static bool hangul_at(const tn *t, size_t i)
{
    int k;
    return text_is_syllable(cp_at(t, i, &k));
}

/* the code point that ends s[0, i) (0 at the start) */
static unsigned cp_before(const tn *t, size_t i)
{
    size_t b = i;
    while (b > 0 && (t->s[b - 1] & 0xC0) == 0x80)
        b--;
    if (b == 0)
        return 0;
    int k;
    return cp_at(t, b - 1, &k);
}

static void put(tn *t, const char *s) { text_puts(&t->o, s); }
static void put_n(tn *t, const char *s, size_t n) { text_put(&t->o, s, n); }

static const char *zero(const tn *t) { return (t->flags & SORI_TN_ZERO_YEONG) ? "영" : "공"; }

/* ---- reading numbers -------------------------------------------------------------- */

/* one 4-digit group (1..9999) in Sino-Korean; a 1 before 천 백 십 is not said */
static void say_group(tn *t, int g)
{
    static const char *const unit[4] = {"천", "백", "십", ""};
    static const int div[4] = {1000, 100, 10, 1};
    for (int k = 0; k < 4; k++) {
        const int d = g / div[k] % 10;
        if (!d)
            continue;
        if (d > 1 || k == 3)
            put(t, SINO[d]);
        put(t, unit[k]);
    }
}

/* the digits s[b, e) (commas skipped) one by one; zero as 영 or 공 */
static void say_digits(tn *t, size_t b, size_t e, const char *z)
{
    for (size_t i = b; i < e; i++)
        if (t->s[i] >= '0' && t->s[i] <= '9')
            put(t, t->s[i] == '0' ? z : SINO[t->s[i] - '0']);
}

/* the integer s[b, e) (commas skipped) in Sino-Korean: 만 억 조 경 groups; 0 is 영; more
 * than 20 significant digits are read one by one */
static void say_sino(tn *t, size_t b, size_t e)
{
    char d[24];
    int n = 0;
    size_t i = b;
    while (i < e && (t->s[i] == '0' || t->s[i] == ','))
        i++;
    size_t sig = 0;
    for (size_t j = i; j < e; j++)
        sig += t->s[j] != ',';
    if (sig == 0) {
        put(t, "영");
        return;
    }
    if (sig > 20) {
        say_digits(t, i, e, "영");
        return;
    }
    for (; i < e; i++)
        if (t->s[i] != ',')
            d[n++] = (char)(t->s[i] - '0');
    static const char *const big[5] = {"", "만", "억", "조", "경"};
    const int ng = (n + 3) / 4;
    for (int g = ng - 1, at = 0; g >= 0; g--) {
        const int w = n - 4 * g - at; /* digits in this group */
        int v = 0;
        for (int k = 0; k < w; k++)
            v = v * 10 + d[at + k];
        at += w;
        if (!v)
            continue;
        if (v == 1 && g == 1) { /* 10000 → 만, not 일만 */
            put(t, "만");
            continue;
        }
        say_group(t, v);
        put(t, big[g]);
    }
}

static int64_t value_of(const tn *t, size_t b, size_t e)
{
    int64_t v = 0;
    for (size_t i = b; i < e; i++) {
        if (t->s[i] == ',')
            continue;
        if (v > 100000000000LL)
            return INT64_MAX;
        v = v * 10 + (t->s[i] - '0');
    }
    return v;
}

/* a native-Korean numeral before a counter (1..99): 한 두 세 … 스무 … 아흔아홉; first: 첫 for 1 */
static void say_native(tn *t, int v, bool ordinal)
{
    static const char *const tens[10] = {"", "열", "스물", "서른", "마흔", "쉰", "예순", "일흔", "여든", "아흔"};
    static const char *const ones[10] = {"", "한", "두", "세", "네", "다섯", "여섯", "일곱", "여덟", "아홉"};
    if (ordinal && v == 1) {
        put(t, "첫");
        return;
    }
    if (v == 20) {
        put(t, "스무");
        return;
    }
    put(t, tens[v / 10]);
    put(t, ones[v % 10]);
}

/* ---- a number's parts ---------------------------------------------------------------- */

typedef struct {
    bool root;     /* √ before it */
    size_t ib, ie; /* the integer's digits (commas inside) */
    size_t fb, fe; /* the decimal digits (fb == fe: none) */
    size_t end;
} operand;

/* an unsigned number at p: digits with valid thousands commas, maybe a decimal part */
static bool parse_operand(const tn *t, size_t p, operand *op)
{
    memset(op, 0, sizeof *op);
    if (at(t, p, "√")) {
        op->root = true;
        p += strlen("√");
    }
    if (!is_digit(t, p))
        return false;
    op->ib = p;
    while (is_digit(t, p))
        p++;
    /* 1,234,567: the first group 1-3 digits, then groups of exactly three */
    if (p - op->ib <= 3)
        while (p < t->len && t->s[p] == ',' && is_digit(t, p + 1) && is_digit(t, p + 2) && is_digit(t, p + 3) &&
               !is_digit(t, p + 4))
            p += 4;
    op->ie = p;
    /* decimals: .digits, unless another .digit follows or came before (a version, a date) */
    const bool dotted = op->ib >= 2 && t->s[op->ib - 1] == '.' && is_digit(t, op->ib - 2);
    if (!dotted && p + 1 < t->len && t->s[p] == '.' && is_digit(t, p + 1)) {
        size_t q = p + 1;
        while (is_digit(t, q))
            q++;
        if (!(q + 1 < t->len && t->s[q] == '.' && is_digit(t, q + 1))) {
            op->fb = p + 1, op->fe = q;
            p = q;
        }
    }
    op->end = p;
    return true;
}

static bool has_comma(const tn *t, const operand *op) { return memchr(t->s + op->ib, ',', op->ie - op->ib) != NULL; }

/* an operand in Sino-Korean: 루트 first, decimals after 점 digit by digit */
static void say_operand(tn *t, const operand *op, bool root_space)
{
    if (op->root)
        put(t, root_space ? "루트 " : "루트");
    say_sino(t, op->ib, op->ie);
    if (op->fb < op->fe) {
        put(t, "점");
        say_digits(t, op->fb, op->fe, "영");
    }
}

/* ---- what may follow a number -------------------------------------------------------- */

/* After a converted number: a particle written for the digits, fitted to what is said
 * (3/5이 → …삼이, 4/7이 → …사가). Only a particle that ends the word (a space, punctuation
 * or the end after it; a digit after 과/와). Returns the new position. */
static size_t particle(tn *t, size_t p)
{
    static const char *const pair[][2] = {{"이에요", "예요"}, {"이랑", "랑"}, {"이나", "나"}, {"으로", "로"},
                                          {"이", "가"},       {"은", "는"},   {"을", "를"},   {"과", "와"}};
    const int fin = text_last_final(t->o.buf, t->o.len < t->o.cap ? t->o.len : 0);
    if (fin < 0)
        return p;
    for (size_t k = 0; k < sizeof pair / sizeof *pair; k++)
        for (int form = 0; form < 2; form++) {
            const char *w = pair[k][form];
            if (!at(t, p, w))
                continue;
            const size_t e = p + strlen(w);
            const bool wa = k == 7;
            if (e < t->len && hangul_at(t, e))
                continue;
            if (e < t->len && !wa && is_alnum(t, e))
                continue;
            /* 으로/로: 로 after a vowel and after ㄹ (8) */
            const bool vowel_form = k == 3 ? (fin == 0 || fin == 8) : fin == 0;
            put(t, pair[k][vowel_form ? 1 : 0]);
            return e;
        }
    return p;
}

/* the text at p is a word that ends there (not followed by more Hangul unless it is a
 * particle-like syllable) */
static bool word_ends(const tn *t, size_t p)
{
    int k;
    const unsigned cp = cp_at(t, p, &k);
    if (!text_is_syllable(cp))
        return !is_alpha(t, p);
    static const char *const ok[] = {"이", "가", "은", "는", "을", "를", "도", "와", "과", "로", "으", "의", "에",
                                     "씩", "만", "짜", "째", "쯤", "정", "부", "까", "밖", "뿐", "께", "나", "랑",
                                     "요", "입", "인", "였", "라", "면", "당", "반", "간", "전", "후", "경", "대",
                                     "마", "예", "야", "동", "내", "안", "처", "보"};
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++)
        if (at(t, p, ok[i]))
            return true;
    return false;
}

/* counters read with native numerals (세 개, 스무 살); longer words first */
static const char *const NATIVE_COUNTERS[] = {"시간", "마리", "사람", "켤레", "그루", "송이", "가지", "군데",
                                              "자리", "마디", "방울", "봉지", "다발", "포기", "개", "명",
                                              "살", "잔", "병", "권", "벌", "채", "곳", "달", "통", "척",
                                              "줄", "쌍", "알", "판"};

static const char *native_counter(const tn *t, size_t p)
{
    if (at(t, p, "개월") || at(t, p, "개국") || at(t, p, "개년") || at(t, p, "달러"))
        return NULL;
    for (size_t i = 0; i < sizeof NATIVE_COUNTERS / sizeof *NATIVE_COUNTERS; i++) {
        const char *w = NATIVE_COUNTERS[i];
        /* 50명대 (the fifties) is Sino-Korean: 오십명대 */
        if (at(t, p, w) && word_ends(t, p + strlen(w)) && !at(t, p + strlen(w), "대"))
            return w;
    }
    return NULL;
}

/* Latin and symbol units, longer first: what is said for them */
static const struct { const char *unit, *say; } UNITS[] = {
    {"kcal", "킬로칼로리"}, {"kbps", "킬로비피에스"}, {"Mbps", "메가비피에스"}, {"Gbps", "기가비피에스"},
    {"mAh", "밀리암페어시"}, {"kWh", "킬로와트시"}, {"rpm", "분당회전수"}, {"km²", "제곱킬로미터"},
    {"cm²", "제곱센티미터"}, {"mm²", "제곱밀리미터"}, {"m²", "제곱미터"}, {"m³", "세제곱미터"},
    {"kHz", "킬로헤르츠"}, {"MHz", "메가헤르츠"}, {"GHz", "기가헤르츠"}, {"Hz", "헤르츠"}, {"mph", "마일 퍼 시간"},
    {"cal", "칼로리"}, {"ppm", "피피엠"}, {"km", "킬로미터"}, {"cm", "센티미터"}, {"mm", "밀리미터"},
    {"nm", "나노미터"}, {"μm", "마이크로미터"}, {"kg", "킬로그램"}, {"mg", "밀리그램"}, {"mL", "밀리리터"},
    {"ml", "밀리리터"}, {"cc", "씨씨"}, {"kW", "킬로와트"}, {"mA", "밀리암페어"}, {"kV", "킬로볼트"},
    {"TB", "테라바이트"}, {"GB", "기가바이트"}, {"MB", "메가바이트"}, {"KB", "킬로바이트"}, {"kB", "킬로바이트"},
    {"ms", "밀리초"}, {"dB", "데시벨"}, {"ha", "헥타르"}, {"lb", "파운드"}, {"oz", "온스"}, {"ft", "피트"},
    {"px", "픽셀"}, {"min", "분"}, {"°C", "도"}, {"℃", "도"}, {"°", "도"}, {"%", "퍼센트"}, {"㎞", "킬로미터"},
    {"㎏", "킬로그램"}, {"㎝", "센티미터"}, {"㎜", "밀리미터"}, {"㎖", "밀리리터"}, {"ℓ", "리터"}, {"㎡", "제곱미터"},
    {"g", "그램"}, {"t", "톤"}, {"L", "리터"}, {"l", "리터"}, {"W", "와트"}, {"A", "암페어"}, {"V", "볼트"},
    {"N", "뉴턴"}, {"h", "시간"}, {"s", "초"}, {"m", "미터"},
};

/* a unit at p that ends there (no Latin letter after it); its index or -1 */
static int unit_at(const tn *t, size_t p)
{
    for (size_t i = 0; i < sizeof UNITS / sizeof *UNITS; i++) {
        const char *u = UNITS[i].unit;
        const size_t n = strlen(u);
        if (at(t, p, u) && !is_alpha(t, p + n) && !(is_alpha_c((unsigned char)u[n - 1]) && is_digit(t, p + n)))
            return (int)i;
    }
    return -1;
}

/* " 킬로미터", then "/h" → " 퍼 시간" …; returns the end, or p if no unit is there */
static size_t say_unit(tn *t, size_t p)
{
    size_t q = p;
    if (q < t->len && t->s[q] == ' ') { /* 500 GB: a unit after one space, ending the phrase */
        const int u = unit_at(t, q + 1);
        if (u < 0)
            return p;
        const size_t e = q + 1 + strlen(UNITS[u].unit);
        if (e < t->len && (hangul_at(t, e) || is_digit(t, e)))
            return p;
        q++;
    }
    int u = unit_at(t, q);
    if (u < 0)
        return p;
    put(t, " ");
    put(t, UNITS[u].say);
    q += strlen(UNITS[u].unit);
    while (q + 1 < t->len && t->s[q] == '/' && (u = unit_at(t, q + 1)) >= 0) {
        put(t, " 퍼 ");
        put(t, UNITS[u].say);
        q += 1 + strlen(UNITS[u].unit);
    }
    return q;
}

static bool tilde_at(const tn *t, size_t p, size_t *n)
{
    if (at(t, p, "~"))
        return *n = 1, true;
    if (at(t, p, "〜") || at(t, p, "～"))
        return *n = strlen("〜"), true;
    return false;
}

/* a range after a number: 〜 before the next number reads 부터 */
static size_t range_after(tn *t, size_t p)
{
    size_t n;
    if (tilde_at(t, p, &n) && is_digit(t, p + n)) {
        put(t, " 부터 ");
        return p + n;
    }
    return p;
}

static const char *const WEEKDAYS[] = {"월", "화", "수", "목", "금", "토", "일"};

static int weekday_at(const tn *t, size_t p)
{
    for (int i = 0; i < 7; i++)
        if (at(t, p, WEEKDAYS[i]))
            return i;
    return -1;
}

/* after a day (…일): (월) → " 월요일", (월〜금) → " 월요일부터금요일"; 수요일 → a space before it */
static size_t weekday_after(tn *t, size_t p)
{
    int a, b;
    size_t n;
    if (at(t, p, "(") && (a = weekday_at(t, p + 1)) >= 0) {
        const size_t q = p + 1 + strlen(WEEKDAYS[a]);
        if (at(t, q, ")")) {
            put(t, " ");
            put(t, WEEKDAYS[a]);
            put(t, "요일");
            return q + 1;
        }
        if (tilde_at(t, q, &n) && (b = weekday_at(t, q + n)) >= 0 && at(t, q + n + strlen(WEEKDAYS[b]), ")")) {
            put(t, " ");
            put(t, WEEKDAYS[a]);
            put(t, "요일부터");
            put(t, WEEKDAYS[b]);
            put(t, "요일");
            return q + n + strlen(WEEKDAYS[b]) + 1;
        }
    }
    if ((a = weekday_at(t, p)) >= 0 && at(t, p + strlen(WEEKDAYS[a]), "요일"))
        put(t, " ");
    return p;
}

static void say_month(tn *t, int64_t m, size_t b, size_t e)
{
    if (m == 6)
        put(t, "유");
    else if (m == 10)
        put(t, "시");
    else
        say_sino(t, b, e);
    put(t, "월");
}

/* an hour: native 1-12 (열두시), 영 for 0, Sino-Korean 13-24 */
static void say_hour(tn *t, int64_t h, size_t b, size_t e)
{
    if (h >= 1 && h <= 12)
        say_native(t, (int)h, false);
    else
        say_sino(t, b, e);
    put(t, "시");
}

/* ---- dates, times, telephone numbers --------------------------------------------------- */

static size_t digits_from(const tn *t, size_t p)
{
    while (is_digit(t, p))
        p++;
    return p;
}

/* digits can begin a token here: not right after a letter, a digit or a joining mark */
static bool token_start(const tn *t, size_t i)
{
    if (i == 0)
        return true;
    const unsigned char c = t->s[i - 1];
    return !(is_alnum(t, i - 1) || c == '.' || c == '-' || c == '/' || c == ':' || c == ',');
}

/* the end of a numeric token at p: not followed by a digit, a letter or a separator and a digit */
static bool token_end(const tn *t, size_t p)
{
    if (is_alnum(t, p))
        return false;
    if (p + 1 < t->len && (t->s[p] == '/' || t->s[p] == '-' || t->s[p] == ':' || t->s[p] == '.' ||
                           t->s[p] == ',') && is_digit(t, p + 1))
        return false;
    return true;
}

static void say_date(tn *t, size_t yb, size_t ye, int64_t m, size_t mb, size_t me, size_t db, size_t de)
{
    say_sino(t, yb, ye);
    put(t, "년 ");
    say_month(t, m, mb, me);
    put(t, " ");
    say_sino(t, db, de);
    put(t, "일");
}

/* 2024/01/30, 2024-07-23, 1999.9.17, 10/30/2024, 29/12/2000 */
static size_t date_at(tn *t, size_t i)
{
    if (!token_start(t, i))
        return 0;
    const size_t a = digits_from(t, i);
    if (a >= t->len)
        return 0;
    const unsigned char sep = t->s[a];
    if (sep != '/' && sep != '-' && sep != '.')
        return 0;
    const size_t b = digits_from(t, a + 1);
    if (b == a + 1 || b >= t->len || t->s[b] != sep)
        return 0;
    const size_t c = digits_from(t, b + 1);
    if (c == b + 1 || !token_end(t, c))
        return 0;
    const size_t n1 = a - i, n2 = b - a - 1, n3 = c - b - 1;
    const int64_t v1 = value_of(t, i, a), v2 = value_of(t, a + 1, b), v3 = value_of(t, b + 1, c);
    if (n1 == 4 && n2 <= 2 && n3 <= 2 && v2 >= 1 && v2 <= 12 && v3 >= 1 && v3 <= 31) {
        say_date(t, i, a, v2, a + 1, b, b + 1, c);
        return c;
    }
    if (sep == '/' && n3 == 4 && n1 <= 2 && n2 <= 2) {
        if (v1 >= 1 && v1 <= 12 && v2 >= 1 && v2 <= 31) { /* month/day/year */
            say_date(t, b + 1, c, v1, i, a, a + 1, b);
            return c;
        }
        if (v1 >= 13 && v1 <= 31 && v2 >= 1 && v2 <= 12) { /* day/month/year */
            say_date(t, b + 1, c, v2, a + 1, b, i, a);
            return c;
        }
    }
    return 0;
}

/* 10:30, 10:30:05, 00:30:00 (hours 0-24, minutes and seconds of two digits) */
static size_t time_at(tn *t, size_t i)
{
    if (!token_start(t, i))
        return 0;
    const size_t a = digits_from(t, i);
    if (a - i > 2 || a + 2 >= t->len || t->s[a] != ':')
        return 0;
    const size_t b = digits_from(t, a + 1);
    if (b - a - 1 != 2)
        return 0;
    size_t c = b;
    if (b + 2 < t->len && t->s[b] == ':' && digits_from(t, b + 1) == b + 3)
        c = b + 3;
    if (!token_end(t, c))
        return 0;
    const int64_t h = value_of(t, i, a), m = value_of(t, a + 1, b), s = c > b ? value_of(t, b + 1, c) : 0;
    if (h > 24 || m > 59 || s > 59)
        return 0;
    say_hour(t, h, i, a);
    if (m) {
        put(t, " ");
        say_sino(t, a + 1, b);
        put(t, "분");
    }
    if (s) {
        put(t, " ");
        say_sino(t, b + 1, c);
        put(t, "초");
    }
    return c;
}

/* +1 123-123-5678, (123) 123-5678, 555.555.5555, 010-1234-5678, 1588-1234, and 16-digit
 * card numbers in four groups: each group digit by digit, groups apart */
static size_t phone_at(tn *t, size_t i)
{
    if (!token_start(t, i) && t->s[i] != '+' && t->s[i] != '(')
        return 0;
    size_t p = i, cb = 0, ce = 0;
    if (t->s[p] == '+') {
        cb = p + 1, ce = digits_from(t, p + 1);
        if (ce == cb || ce - cb > 3 || ce >= t->len || (t->s[ce] != ' ' && t->s[ce] != '-'))
            return 0;
        p = ce + 1;
    }
    size_t gb[6], ge[6];
    int ng = 0;
    bool paren = false, spaced = false;
    if (p < t->len && t->s[p] == '(') {
        const size_t e = digits_from(t, p + 1);
        if (e - p - 1 < 2 || e - p - 1 > 4 || e >= t->len || t->s[e] != ')')
            return 0;
        gb[ng] = p + 1, ge[ng++] = e;
        p = e + 1;
        paren = true;
        if (p < t->len && (t->s[p] == '-' || t->s[p] == ' '))
            p++;
    }
    while (ng < 6 && is_digit(t, p)) {
        const size_t e = digits_from(t, p);
        gb[ng] = p, ge[ng++] = e;
        p = e;
        if (p + 1 < t->len && (t->s[p] == '-' || t->s[p] == '.' || t->s[p] == ' ') && is_digit(t, p + 1)) {
            spaced |= t->s[p] == ' ';
            p++;
        } else {
            break;
        }
    }
    if (ng < 2 || !token_end(t, p))
        return 0;
    size_t total = 0;
    for (int g = 0; g < ng; g++) {
        const size_t n = ge[g] - gb[g];
        if (n < 2 || n > 4)
            return 0;
        total += n;
    }
    const bool card = ng == 4 && total == 16 && !cb && !paren;
    if (!card) {
        if (ge[ng - 1] - gb[ng - 1] != 4 || total < 7 || total > 12)
            return 0;
        if (ng == 2 && !cb && !paren && ge[0] - gb[0] < 3)
            return 0;
        /* spaces between groups only in a number that begins like one (+82 …, 0…) */
        if (spaced && !cb && t->s[gb[0]] != '0')
            return 0;
    }
    if (cb) {
        put(t, "국가번호 ");
        say_digits(t, cb, ce, zero(t));
        put(t, " ");
    }
    for (int g = 0; g < ng; g++) {
        if (g)
            put(t, " ");
        say_digits(t, gb[g], ge[g], zero(t));
    }
    return p;
}

/* ---- money ------------------------------------------------------------------------------- */

static const struct { const char *sign, *say; bool word; } CURRENCIES[] = {
    {"US$", " 달러", false}, {"HK$", " 홍콩 달러", false}, {"₩", "원", false}, {"$", " 달러", false},
    {"€", " 유로", false}, {"¥", " 엔", false}, {"£", " 파운드", false}, {"KRW", "원", true}, {"krw", "원", true},
    {"USD", " 달러", true}, {"EUR", " 유로", true}, {"JPY", " 엔", true}, {"CNY", " 위안", true},
    {"GBP", " 파운드", true}, {"CAD", " 캐나다 달러", true}, {"AUD", " 호주 달러", true},
    {"NZD", " 뉴질랜드 달러", true}, {"HKD", " 홍콩 달러", true}, {"CHF", " 스위스 프랑", true},
    {"AED", " 아랍에미리트 디르함", true},
};

/* Hangul place units written after digits: 30억, 2천만, 1만 (a lone 1 before 만 천 백 십 is
 * not said); returns the end */
static size_t hangul_units(tn *t, size_t p)
{
    static const char *const u[] = {"십", "백", "천", "만", "억", "조", "경"};
    for (;;) {
        bool any = false;
        for (size_t k = 0; k < sizeof u / sizeof *u; k++)
            if (at(t, p, u[k])) {
                put(t, u[k]);
                p += strlen(u[k]);
                any = true;
                break;
            }
        if (!any)
            return p;
        /* more digits and units: 1억2천만 (a 1 before 천 백 십 is not said) */
        operand op;
        if (is_digit(t, p) && parse_operand(t, p, &op) && op.fb == op.fe && !op.root) {
            const bool small_next = at(t, op.end, "천") || at(t, op.end, "백") || at(t, op.end, "십");
            if (!(small_next && value_of(t, op.ib, op.ie) == 1))
                say_sino(t, op.ib, op.ie);
            p = op.end;
        }
    }
}

/* the number at p with Hangul units after it (₩30억, 1억2천만): returns the end or 0 */
static size_t quantity(tn *t, size_t p)
{
    operand op;
    if (!parse_operand(t, p, &op) || op.root)
        return 0;
    const bool unit_next = at(t, op.end, "만") || at(t, op.end, "천") || at(t, op.end, "백") || at(t, op.end, "십");
    if (!(unit_next && op.fb == op.fe && value_of(t, op.ib, op.ie) == 1))
        say_operand(t, &op, true);
    return hangul_units(t, op.end);
}

static size_t money_at(tn *t, size_t i)
{
    for (size_t k = 0; k < sizeof CURRENCIES / sizeof *CURRENCIES; k++) {
        const char *c = CURRENCIES[k].sign;
        if (!at(t, i, c) || (CURRENCIES[k].word && i > 0 && is_alpha(t, i - 1)))
            continue;
        size_t p = i + strlen(c);
        if (p < t->len && t->s[p] == ' ')
            p++;
        if (!is_digit(t, p))
            continue;
        const size_t mark = t->o.len;
        const size_t e = quantity(t, p);
        if (!e) {
            t->o.len = mark;
            continue;
        }
        put(t, CURRENCIES[k].say);
        return e;
    }
    return 0;
}

/* ---- numbers --------------------------------------------------------------------------- */

/* a word right before i (no space between) after which a space is said: 오전10시 → 오전 열시 */
static void space_after_word(tn *t, size_t i)
{
    static const char *const w[] = {"오전", "오후", "새벽", "아침", "낮", "저녁", "밤", "기원전", "기원후", "마이너스", "서기"};
    for (size_t k = 0; k < sizeof w / sizeof *w; k++) {
        const size_t n = strlen(w[k]);
        if (i >= n && !memcmp(t->s + i - n, w[k], n) && (i == n || t->s[i - n - 1] == ' ')) {
            put(t, " ");
            return;
        }
    }
}

/* the previous word (over one space) ends in 자리 or 번호: digits are read one by one */
static bool digits_context(const tn *t, size_t i)
{
    size_t e = i;
    if (e > 0 && t->s[e - 1] == ' ')
        e--;
    static const char *const w[] = {"자리", "번호", "번호는", "번호가"};
    for (size_t k = 0; k < sizeof w / sizeof *w; k++) {
        const size_t n = strlen(w[k]);
        if (e >= n && !memcmp(t->s + e - n, w[k], n))
            return true;
    }
    return false;
}

/* a fraction's parts after the whole part: N/D, or D분의N; *den / *num filled */
static bool fraction_parts(const tn *t, size_t p, operand *num, operand *den, size_t *end)
{
    operand a, b;
    if (!parse_operand(t, p, &a))
        return false;
    if (a.end < t->len && t->s[a.end] == '/' && parse_operand(t, a.end + 1, &b)) {
        *num = a, *den = b, *end = b.end;
        return true;
    }
    if (at(t, a.end, "분의") && parse_operand(t, a.end + strlen("분의"), &b)) {
        *den = a, *num = b, *end = b.end;
        return true;
    }
    return false;
}

static void say_fraction(tn *t, const operand *num, const operand *den)
{
    say_operand(t, den, true);
    put(t, "분의 ");
    say_operand(t, num, true);
}

static size_t number_at(tn *t, size_t i)
{
    size_t p = i;
    bool minus = false;
    if (t->s[p] == '-' || at(t, p, "−")) {
        if (i > 0 && !(t->s[i - 1] == ' ' || t->s[i - 1] == '(' || t->s[i - 1] == '['))
            return 0;
        p += t->s[p] == '-' ? 1 : strlen("−");
        minus = true;
    }
    operand a;
    if (!parse_operand(t, p, &a))
        return 0;
    if (!minus)
        space_after_word(t, i);
    if (minus)
        put(t, "마이너스 ");
    /* a fraction (1/2, 3분의1), or a whole number and a fraction (1과1/2, 2와12/33) */
    operand num, den;
    size_t e;
    if (fraction_parts(t, p, &num, &den, &e)) {
        say_fraction(t, &num, &den);
        p = say_unit(t, e);
        return particle(t, p);
    }
    const char *conj = at(t, a.end, "과") ? "과" : at(t, a.end, "와") ? "와" : NULL;
    if (conj && !a.root && fraction_parts(t, a.end + strlen(conj), &num, &den, &e)) {
        say_operand(t, &a, true);
        if (particle(t, a.end) == a.end) /* 과 or 와, fitted to the whole part's end */
            put(t, conj);
        put(t, " ");
        say_fraction(t, &num, &den);
        p = say_unit(t, e);
        return particle(t, p);
    }
    p = a.end;
    const bool integer = a.fb == a.fe && !a.root;
    const int64_t v = integer ? value_of(t, a.ib, a.ie) : -1;
    const bool lead_zero = integer && a.ie - a.ib >= 2 && t->s[a.ib] == '0' && !has_comma(t, &a);
    /* digits one by one: after a letter (user01), after …자리, 번호 */
    if (integer && !minus && ((i > 0 && is_alpha(t, i - 1)) || digits_context(t, i))) {
        say_digits(t, a.ib, a.ie, zero(t));
        return particle(t, p);
    }
    if (integer && !minus) {
        /* a range: 3〜5개 reads the first number as the second one is read */
        size_t tw = 0;
        const char *counter = native_counter(t, p);
        operand b;
        if (!counter && tilde_at(t, p, &tw) && parse_operand(t, p + tw, &b) && b.fb == b.fe && !b.root)
            counter = native_counter(t, b.end) ? "" : NULL;
        if (at(t, p, "번째") && v >= 1) {
            if (v < 100)
                say_native(t, (int)v, true);
            else
                say_sino(t, a.ib, a.ie);
            put(t, "번째");
            return particle(t, p + strlen("번째"));
        }
        if (counter && v >= 1 && v < 100) {
            say_native(t, (int)v, false);
            put(t, counter);
            p += strlen(counter);
            if (*counter)
                return particle(t, p);
            goto range;
        }
        if (at(t, p, "월") && word_ends(t, p + strlen("월")) && v >= 1 && v <= 12) {
            say_month(t, v, a.ib, a.ie);
            p += strlen("월");
            if (is_digit(t, p))
                put(t, " ");
            return range_after(t, p);
        }
        if (at(t, p, "시") && !at(t, p, "시간") && word_ends(t, p + strlen("시")) && v <= 24) {
            say_hour(t, v, a.ib, a.ie);
            p += strlen("시");
            if (is_digit(t, p))
                put(t, " ");
            return particle(t, p);
        }
        if (lead_zero && !at(t, p, "년") && !at(t, p, "일") && !at(t, p, "분") && !at(t, p, "초") &&
            unit_at(t, p) < 0) {
            say_digits(t, a.ib, a.ie, zero(t));
            return particle(t, p);
        }
    }
    if (integer && !minus && (at(t, p, "십") || at(t, p, "백") || at(t, p, "천") || at(t, p, "만") ||
                              at(t, p, "억") || at(t, p, "조") || at(t, p, "경"))) {
        p = quantity(t, a.ib);
    } else {
        say_operand(t, &a, true);
    }
    if (integer && !minus && (at(t, p, "년") || at(t, p, "분") || at(t, p, "초"))) {
        const char *u = at(t, p, "년") ? "년" : at(t, p, "분") ? "분" : "초";
        put(t, u);
        p += strlen(u);
        if (is_digit(t, p))
            put(t, " ");
        return particle(t, p);
    }
    if (integer && !minus && at(t, p, "일")) {
        put(t, "일");
        return range_after(t, weekday_after(t, p + strlen("일")));
    }
    {
        const size_t q = say_unit(t, p);
        if (q != p)
            return particle(t, q);
    }
range:;
    const size_t q = range_after(t, p);
    return q != p ? q : particle(t, p);
}

/* ---- Latin letters, domains, e-mail ----------------------------------------------------- */

static void spell(tn *t, size_t b, size_t e)
{
    for (size_t i = b; i < e; i++) {
        const unsigned c = t->s[i];
        if (is_alpha_c(c))
            put(t, LETTER[(c | 0x20) - 'a']);
        else if (c >= '0' && c <= '9')
            put(t, c == '0' ? zero(t) : SINO[c - '0']);
        else if (c == '&')
            put(t, "앤");
        else
            put_n(t, (const char *)t->s + i, 1);
    }
}

static bool same_ci(const tn *t, size_t b, size_t e, const char *w)
{
    if (strlen(w) != e - b)
        return false;
    for (size_t i = b; i < e; i++)
        if ((t->s[i] | 0x20) != (unsigned char)w[i - b])
            return false;
    return true;
}

static bool in_list_ci(const tn *t, size_t b, size_t e, const char *const *list, size_t n)
{
    for (size_t k = 0; k < n; k++)
        if (same_ci(t, b, e, list[k]))
            return true;
    return false;
}

static const char *const TLDS[] = {"com", "net", "org", "kr", "jp", "cn", "de", "fr", "it", "uk", "us", "io",
                                   "ai", "app", "dev", "edu", "gov", "info", "biz", "tv", "me", "co", "ca", "au",
                                   "ru", "es", "nl", "in", "eu", "asia", "xyz", "site", "shop", "store"};
static const char *const EXTS[] = {"jpg", "jpeg", "png", "gif", "bmp", "pdf", "doc", "docx", "xls", "xlsx",
                                   "ppt", "pptx", "hwp", "txt", "zip", "mp3", "mp4", "wav", "csv", "html",
                                   "htm", "exe", "json", "xml", "svg", "avi", "mov", "webp", "heic"};
static const char *const SLDS[] = {"co", "ac", "go", "or", "ne", "re", "pe", "ed", "mil"};
static const struct { const char *w, *say; } WORDS[] = {{"com", "컴"}, {"net", "넷"}, {"app", "앱"},
                                                         {"info", "인포"}, {"biz", "비즈"}, {"shop", "샵"},
                                                         {"site", "사이트"}, {"store", "스토어"}, {"asia", "아시아"}};

/* a domain label or a file extension said: a word where one is known (com → 컴), else spelled */
static void say_label(tn *t, size_t b, size_t e)
{
    for (size_t k = 0; k < sizeof WORDS / sizeof *WORDS; k++)
        if (same_ci(t, b, e, WORDS[k].w)) {
            put(t, WORDS[k].say);
            return;
        }
    spell(t, b, e);
}

static size_t label_end(const tn *t, size_t p)
{
    while (is_alnum(t, p) || (p < t->len && t->s[p] == '-' && is_alnum(t, p + 1)))
        p++;
    return p;
}

/* A dot inside a word before the rest of a domain or a file name: .co.kr, .jpg. Says " 닷 "
 * and each label after it (spelled: the last one and co ac go …); returns the end or 0. */
static size_t dots_at(tn *t, size_t i)
{
    if (i == 0 || t->s[i] != '.' || !is_alpha(t, i + 1))
        return 0;
    const unsigned before = cp_before(t, i);
    if (!(before < 0x80 ? is_alpha_c(before) || (before >= '0' && before <= '9') : text_is_syllable(before)))
        return 0;
    size_t lb[8], le[8];
    int n = 0;
    size_t p = i;
    while (n < 8 && p < t->len && t->s[p] == '.' && is_alpha(t, p + 1)) {
        lb[n] = p + 1, le[n] = label_end(t, p + 1);
        p = le[n++];
    }
    if (is_alpha(t, p) || hangul_at(t, p) || (p + 1 < t->len && t->s[p] == '.' && is_alnum(t, p + 1)))
        return 0;
    const bool last_ok = in_list_ci(t, lb[n - 1], le[n - 1], TLDS, sizeof TLDS / sizeof *TLDS) ||
                         in_list_ci(t, lb[n - 1], le[n - 1], EXTS, sizeof EXTS / sizeof *EXTS);
    if (!last_ok)
        return 0;
    for (int k = 0; k < n; k++) {
        put(t, " 닷 ");
        if (k == n - 1 || in_list_ci(t, lb[k], le[k], SLDS, sizeof SLDS / sizeof *SLDS))
            say_label(t, lb[k], le[k]);
        else
            put_n(t, (const char *)t->s + lb[k], le[k] - lb[k]);
    }
    return p;
}

/* upper-case words of 1-5 letters (and & inside: R&D) spelled; www before a dot too */
static size_t letters_at(tn *t, size_t i)
{
    if (i > 0 && is_alnum(t, i - 1))
        return 0;
    if (at(t, i, "www.")) {
        put(t, "더블유더블유더블유");
        return i + 3;
    }
    if (!is_upper(t, i))
        return 0;
    size_t p = i;
    while (is_upper(t, p) || (p + 1 < t->len && t->s[p] == '&' && is_upper(t, p + 1)))
        p++;
    if (p - i > 5 || is_alpha(t, p))
        return 0;
    spell(t, i, p);
    return p;
}

/* ---- the pass ------------------------------------------------------------------------- */

sori_status sori_tn(const char *text, size_t len, unsigned flags, char *out, size_t cap, size_t *out_len,
                    sori_error *err)
{
    if ((!text && len) || !out_len || (cap > 0 && !out))
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "tn: NULL argument");
    *out_len = 0;
    const size_t bad = text_utf8_check(text, len);
    if (bad < len)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "tn: invalid UTF-8 at byte %zu", bad);
    tn t = {(const unsigned char *)text, len, flags, {out, cap, 0}};
    for (size_t i = 0; i < len;) {
        const unsigned char c = t.s[i];
        size_t e = 0;
        const size_t mark = t.o.len;
        if (c >= '0' && c <= '9') {
            if (!(e = date_at(&t, i)) && !(e = time_at(&t, i)) && !(e = phone_at(&t, i)))
                e = number_at(&t, i);
        } else if (c == '+' || c == '(') {
            e = phone_at(&t, i);
        } else if (c == '-' || at(&t, i, "−") || at(&t, i, "√")) {
            e = number_at(&t, i);
        } else if (c == '@' && i > 0 && is_alnum(&t, i - 1) && is_alnum(&t, i + 1)) {
            put(&t, " 골뱅이 ");
            e = i + 1;
        } else if (c == '.') {
            e = dots_at(&t, i);
        }
        if (!e && !(c >= '0' && c <= '9'))
            e = money_at(&t, i);
        if (!e && is_alpha(&t, i))
            e = letters_at(&t, i);
        if (!e && c >= 0xE3 && c <= 0xEF) { /* Hanja words in Hangul (text/hanja.c) */
            char r[3 * 8];
            const size_t k = text_hanja_read(t.s, len, i, r);
            if (k) {
                put_n(&t, r, k);
                e = i + k;
            }
        }
        if (e) {
            i = e;
            continue;
        }
        t.o.len = mark;
        int k;
        cp_at(&t, i, &k);
        put_n(&t, text + i, (size_t)k);
        i += (size_t)k;
    }
    *out_len = t.o.len;
    if (t.o.len >= cap) {
        if (cap > 0)
            out[0] = 0;
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "tn: %zu bytes do not fit a buffer of %zu", t.o.len, cap);
    }
    out[t.o.len] = 0;
    return SORI_OK;
}
