/* Written Korean to spoken Hangul (sori/text.h: sori_tn), the text
 * normalization a speech synthesizer or a spoken-text corpus needs. This
 * file holds the pass and the classes; numbers are read in tn_number.c,
 * Latin letters and addresses in tn_latin.c, middle dots and signs alone in
 * tn_signs.c, Hanja in hanja.c.
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
 *             …자리 are read one by one; one digit after a code of up to
 *             three letters in English (A4 → 에이포, mp3 → 엠피쓰리)
 *   electronic  @ → 골뱅이, the dots of domains and file names → 닷, a
 *             domain's last part and file extensions spelled (co.kr → 씨오
 *             닷 케이알, .jpg → 닷 제이피지)
 *   letters   upper-case words of up to five letters spelled (KTX →
 *             케이티엑스), and lower-case ones of 2-5 without a vowel (cctv →
 *             씨씨티비); acronyms said as words (NASA → 나사, jpeg → 제이펙),
 *             lower-case units alone (ml → 밀리리터)
 *   signs     + - × ÷ = between numbers and spaces read as arithmetic (3 + 4
 *             = 7 → 삼 더하기 사는 칠), + & % alone as 플러스, 앤, 퍼센트
 *   middle dots  numbers joined by · (6·25 → 육이오, 3·1절 → 삼일절, 1·2차 →
 *             일이차)
 *   Roman     Ⅰ-Ⅻ and ⅰ-ⅻ in Sino-Korean (제Ⅱ장 → 제이장)
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
#include "text/tn_internal.h"


/* ---- dates, times, telephone numbers --------------------------------------------------- */

static void say_date(tn *t, size_t yb, size_t ye, int64_t m, size_t mb, size_t me, size_t db, size_t de)
{
    tn_say_sino(t, yb, ye);
    put(t, "년 ");
    tn_say_month(t, m, mb, me);
    put(t, " ");
    tn_say_sino(t, db, de);
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
    const int64_t v1 = tn_value_of(t, i, a), v2 = tn_value_of(t, a + 1, b), v3 = tn_value_of(t, b + 1, c);
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
    const int64_t h = tn_value_of(t, i, a), m = tn_value_of(t, a + 1, b), s = c > b ? tn_value_of(t, b + 1, c) : 0;
    if (h > 24 || m > 59 || s > 59)
        return 0;
    tn_say_hour(t, h, i, a);
    if (m) {
        put(t, " ");
        tn_say_sino(t, a + 1, b);
        put(t, "분");
    }
    if (s) {
        put(t, " ");
        tn_say_sino(t, b + 1, c);
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
        tn_say_digits(t, cb, ce, zero(t));
        put(t, " ");
    }
    for (int g = 0; g < ng; g++) {
        if (g)
            put(t, " ");
        tn_say_digits(t, gb[g], ge[g], zero(t));
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
        if (is_digit(t, p) && tn_parse_operand(t, p, &op) && op.fb == op.fe && !op.root) {
            const bool small_next = at(t, op.end, "천") || at(t, op.end, "백") || at(t, op.end, "십");
            if (!(small_next && tn_value_of(t, op.ib, op.ie) == 1))
                tn_say_sino(t, op.ib, op.ie);
            p = op.end;
        }
    }
}

/* the number at p with Hangul units after it (₩30억, 1억2천만): returns the end or 0 */
static size_t quantity(tn *t, size_t p)
{
    operand op;
    if (!tn_parse_operand(t, p, &op) || op.root)
        return 0;
    const bool unit_next = at(t, op.end, "만") || at(t, op.end, "천") || at(t, op.end, "백") || at(t, op.end, "십");
    if (!(unit_next && op.fb == op.fe && tn_value_of(t, op.ib, op.ie) == 1))
        tn_say_operand(t, &op, true);
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
    if (!tn_parse_operand(t, p, &a))
        return false;
    if (a.end < t->len && t->s[a.end] == '/' && tn_parse_operand(t, a.end + 1, &b)) {
        *num = a, *den = b, *end = b.end;
        return true;
    }
    if (at(t, a.end, "분의") && tn_parse_operand(t, a.end + strlen("분의"), &b)) {
        *den = a, *num = b, *end = b.end;
        return true;
    }
    return false;
}

static void say_fraction(tn *t, const operand *num, const operand *den)
{
    tn_say_operand(t, den, true);
    put(t, "분의 ");
    tn_say_operand(t, num, true);
}

/* s[?, i) ends in a code of 1-3 Latin letters that begins a word: upper case (MP, G, PS), or
 * lower case without a vowel (mp) or one letter (a) */
static bool letter_code_before(const tn *t, size_t i)
{
    size_t b = i;
    bool upper = true, vowel = false;
    while (b > 0 && is_alpha(t, b - 1) && i - b < 4) {
        b--;
        upper &= is_upper(t, b);
        vowel |= strchr("aeiouy", t->s[b] | 0x20) != NULL;
    }
    if (b == i || i - b > 3 || (b > 0 && (is_alnum(t, b - 1) || t->s[b - 1] == '.' || t->s[b - 1] == '@' ||
                                          t->s[b - 1] == '/' || t->s[b - 1] == '-' || t->s[b - 1] == '_')))
        return false;
    return upper || !vowel || i - b == 1;
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
    if (!tn_parse_operand(t, p, &a))
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
        p = tn_say_unit(t, e);
        return tn_particle(t, p);
    }
    const char *conj = at(t, a.end, "과") ? "과" : at(t, a.end, "와") ? "와" : NULL;
    if (conj && !a.root && fraction_parts(t, a.end + strlen(conj), &num, &den, &e)) {
        tn_say_operand(t, &a, true);
        if (tn_particle(t, a.end) == a.end) /* 과 or 와, fitted to the whole part's end */
            put(t, conj);
        put(t, " ");
        say_fraction(t, &num, &den);
        p = tn_say_unit(t, e);
        return tn_particle(t, p);
    }
    p = a.end;
    const bool integer = a.fb == a.fe && !a.root;
    const int64_t v = integer ? tn_value_of(t, a.ib, a.ie) : -1;
    const bool lead_zero = integer && a.ie - a.ib >= 2 && t->s[a.ib] == '0' && !tn_has_comma(t, &a);
    /* one digit ending a code of one to three letters said in English (A4 → 에이포, MP3 → 엠피쓰리,
     * G7 → 지세븐) */
    if (integer && !minus && a.ie - a.ib == 1 && !is_alpha(t, p) && letter_code_before(t, i)) {
        static const char *const EN[10] = {"제로", "원", "투", "쓰리", "포", "파이브", "식스", "세븐", "에잇", "나인"};
        put(t, EN[t->s[a.ib] - '0']);
        return tn_particle(t, p);
    }
    /* digits one by one: after a letter (user01), after …자리, 번호 */
    if (integer && !minus && ((i > 0 && is_alpha(t, i - 1)) || digits_context(t, i))) {
        tn_say_digits(t, a.ib, a.ie, zero(t));
        return tn_particle(t, p);
    }
    if (integer && !minus) {
        /* a range: 3〜5개 reads the first number as the second one is read */
        size_t tw = 0;
        const char *counter = tn_native_counter(t, p);
        operand b;
        if (!counter && tn_tilde_at(t, p, &tw) && tn_parse_operand(t, p + tw, &b) && b.fb == b.fe && !b.root)
            counter = tn_native_counter(t, b.end) ? "" : NULL;
        if (at(t, p, "번째") && v >= 1) {
            if (v < 100)
                tn_say_native(t, (int)v, true);
            else
                tn_say_sino(t, a.ib, a.ie);
            put(t, "번째");
            return tn_particle(t, p + strlen("번째"));
        }
        if (counter && v >= 1 && v < 100) {
            tn_say_native(t, (int)v, false);
            put(t, counter);
            p += strlen(counter);
            if (*counter)
                return tn_particle(t, p);
            goto range;
        }
        if (at(t, p, "월") && tn_word_ends(t, p + strlen("월")) && v >= 1 && v <= 12) {
            tn_say_month(t, v, a.ib, a.ie);
            p += strlen("월");
            if (is_digit(t, p))
                put(t, " ");
            return tn_range_after(t, p);
        }
        if (at(t, p, "시") && !at(t, p, "시간") && tn_word_ends(t, p + strlen("시")) && v <= 24) {
            tn_say_hour(t, v, a.ib, a.ie);
            p += strlen("시");
            if (is_digit(t, p))
                put(t, " ");
            return tn_particle(t, p);
        }
        if (lead_zero && !at(t, p, "년") && !at(t, p, "일") && !at(t, p, "분") && !at(t, p, "초") &&
            tn_unit_at(t, p) < 0) {
            tn_say_digits(t, a.ib, a.ie, zero(t));
            return tn_particle(t, p);
        }
    }
    if (integer && !minus && (at(t, p, "십") || at(t, p, "백") || at(t, p, "천") || at(t, p, "만") ||
                              at(t, p, "억") || at(t, p, "조") || at(t, p, "경"))) {
        p = quantity(t, a.ib);
    } else {
        tn_say_operand(t, &a, true);
    }
    if (integer && !minus && (at(t, p, "년") || at(t, p, "분") || at(t, p, "초"))) {
        const char *u = at(t, p, "년") ? "년" : at(t, p, "분") ? "분" : "초";
        put(t, u);
        p += strlen(u);
        if (is_digit(t, p))
            put(t, " ");
        return tn_particle(t, p);
    }
    if (integer && !minus && at(t, p, "일")) {
        put(t, "일");
        return tn_range_after(t, tn_weekday_after(t, p + strlen("일")));
    }
    {
        const size_t q = tn_say_unit(t, p);
        if (q != p)
            return tn_particle(t, q);
    }
range:;
    const size_t q = tn_range_after(t, p);
    return q != p ? q : tn_particle(t, p);
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
            if (!(e = tn_middot_numbers_at(&t, i)) && !(e = date_at(&t, i)) && !(e = time_at(&t, i)) &&
                !(e = phone_at(&t, i)))
                e = number_at(&t, i);
        } else if (c == '+' || c == '(') {
            e = phone_at(&t, i);
        } else if (c == '-' || at(&t, i, "−") || at(&t, i, "√")) {
            e = number_at(&t, i);
        } else if (c == '@' && i > 0 && is_alnum(&t, i - 1) && is_alnum(&t, i + 1)) {
            put(&t, " 골뱅이 ");
            e = i + 1;
        } else if (c == '.') {
            e = tn_dots_at(&t, i);
        }
        if (!e && !(c >= '0' && c <= '9'))
            e = money_at(&t, i);
        if (!e && is_alpha(&t, i))
            e = tn_letters_at(&t, i);
        if (!e && (c == '+' || c == '-' || c == '=' || c == '&' || c == '%' || c == 0xC3))
            e = tn_sign_at(&t, i);
        if (!e && c == 0xE2) { /* Roman numerals Ⅰ-Ⅻ, ⅰ-ⅻ: Sino-Korean (제Ⅱ장 → 제이장) */
            int k;
            const unsigned cp = cp_at(&t, i, &k);
            if ((cp >= 0x2160 && cp <= 0x216B) || (cp >= 0x2170 && cp <= 0x217B)) {
                static const char *const ROMAN[12] = {"일", "이", "삼", "사", "오", "육", "칠", "팔", "구", "십", "십일", "십이"};
                put(&t, ROMAN[(cp - 0x2160) % 16]);
                e = i + (size_t)k;
            }
        }
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
