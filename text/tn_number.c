/* Numbers read aloud for sori_tn (text/tn.c): Sino-Korean cardinals in
 * groups of 만 억 조 경 (123000012 → 일억이천삼백만십이; 1 before 천 백 십
 * not said), digits one by one (공 or 영 for zero), native numerals for
 * counters and ordinals (세개, 스무살, 첫번째), a number's parts (thousands
 * commas, decimals, √), and what may follow a number and decide its
 * reading: a particle fitted to the reading (4/7이 → 칠분의 사가), native
 * counters, units (km → 킬로미터), ranges (3〜5 → 삼 부터 오), weekdays,
 * months (6월 → 유월, 10월 → 시월) and hours (3시 → 세시). */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "text/tn_internal.h"

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
void tn_say_digits(tn *t, size_t b, size_t e, const char *z)
{
    for (size_t i = b; i < e; i++)
        if (t->s[i] >= '0' && t->s[i] <= '9')
            put(t, t->s[i] == '0' ? z : SINO[t->s[i] - '0']);
}

/* the integer s[b, e) (commas skipped) in Sino-Korean: 만 억 조 경 groups; 0 is 영; more
 * than 20 significant digits are read one by one */
void tn_say_sino(tn *t, size_t b, size_t e)
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
        tn_say_digits(t, i, e, "영");
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

int64_t tn_value_of(const tn *t, size_t b, size_t e)
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
void tn_say_native(tn *t, int v, bool ordinal)
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


/* an unsigned number at p: digits with valid thousands commas, maybe a decimal part */
bool tn_parse_operand(const tn *t, size_t p, operand *op)
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

bool tn_has_comma(const tn *t, const operand *op) { return memchr(t->s + op->ib, ',', op->ie - op->ib) != NULL; }

/* an operand in Sino-Korean: 루트 first, decimals after 점 digit by digit */
void tn_say_operand(tn *t, const operand *op, bool root_space)
{
    if (op->root)
        put(t, root_space ? "루트 " : "루트");
    tn_say_sino(t, op->ib, op->ie);
    if (op->fb < op->fe) {
        put(t, "점");
        tn_say_digits(t, op->fb, op->fe, "영");
    }
}

/* ---- what may follow a number -------------------------------------------------------- */

/* After a converted number: a tn_particle written for the digits, fitted to what is said
 * (3/5이 → …삼이, 4/7이 → …사가). Only a tn_particle that ends the word (a space, punctuation
 * or the end after it; a digit after 과/와). Returns the new position. */
size_t tn_particle(tn *t, size_t p)
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
 * tn_particle-like syllable) */
bool tn_word_ends(const tn *t, size_t p)
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

const char *tn_native_counter(const tn *t, size_t p)
{
    if (at(t, p, "개월") || at(t, p, "개국") || at(t, p, "개년") || at(t, p, "달러"))
        return NULL;
    for (size_t i = 0; i < sizeof NATIVE_COUNTERS / sizeof *NATIVE_COUNTERS; i++) {
        const char *w = NATIVE_COUNTERS[i];
        /* 50명대 (the fifties) is Sino-Korean: 오십명대 */
        if (at(t, p, w) && tn_word_ends(t, p + strlen(w)) && !at(t, p + strlen(w), "대"))
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

/* a unit standing alone as the word s[b, e) (단위: ml → 밀리리터), from a short list that cannot be
 * read otherwise (not ft, ha, min, ms: featuring, laughter, a name, Microsoft), and not before an
 * abbreviation's dot: said, true; else nothing is said */
bool tn_say_unit_word(tn *t, size_t b, size_t e)
{
    static const char *const ALONE[] = {"km", "cm", "mm", "kg", "mg", "ml", "mL", "kcal"};
    if (e < t->len && t->s[e] == '.')
        return false;
    for (size_t k = 0; k < sizeof ALONE / sizeof *ALONE; k++) {
        const size_t n = strlen(ALONE[k]);
        if (n != e - b || memcmp(t->s + b, ALONE[k], n) != 0)
            continue;
        for (size_t i = 0; i < sizeof UNITS / sizeof *UNITS; i++)
            if (!strcmp(UNITS[i].unit, ALONE[k])) {
                put(t, UNITS[i].say);
                return true;
            }
    }
    return false;
}

/* a unit at p that ends there (no Latin letter after it); its index or -1 */
int tn_unit_at(const tn *t, size_t p)
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
size_t tn_say_unit(tn *t, size_t p)
{
    size_t q = p;
    if (q < t->len && t->s[q] == ' ') { /* 500 GB: a unit after one space, ending the phrase */
        const int u = tn_unit_at(t, q + 1);
        if (u < 0)
            return p;
        const size_t e = q + 1 + strlen(UNITS[u].unit);
        if (e < t->len && (hangul_at(t, e) || is_digit(t, e)))
            return p;
        q++;
    }
    int u = tn_unit_at(t, q);
    if (u < 0)
        return p;
    put(t, " ");
    put(t, UNITS[u].say);
    q += strlen(UNITS[u].unit);
    while (q + 1 < t->len && t->s[q] == '/' && (u = tn_unit_at(t, q + 1)) >= 0) {
        put(t, " 퍼 ");
        put(t, UNITS[u].say);
        q += 1 + strlen(UNITS[u].unit);
    }
    return q;
}

bool tn_tilde_at(const tn *t, size_t p, size_t *n)
{
    if (at(t, p, "~"))
        return *n = 1, true;
    if (at(t, p, "〜") || at(t, p, "～"))
        return *n = strlen("〜"), true;
    return false;
}

/* a range after a number: 〜 before the next number reads 부터 */
size_t tn_range_after(tn *t, size_t p)
{
    size_t n;
    if (tn_tilde_at(t, p, &n) && is_digit(t, p + n)) {
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
size_t tn_weekday_after(tn *t, size_t p)
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
        if (tn_tilde_at(t, q, &n) && (b = weekday_at(t, q + n)) >= 0 && at(t, q + n + strlen(WEEKDAYS[b]), ")")) {
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

void tn_say_month(tn *t, int64_t m, size_t b, size_t e)
{
    if (m == 6)
        put(t, "유");
    else if (m == 10)
        put(t, "시");
    else
        tn_say_sino(t, b, e);
    put(t, "월");
}

/* an hour: native 1-12 (열두시), 영 for 0, Sino-Korean 13-24 */
void tn_say_hour(tn *t, int64_t h, size_t b, size_t e)
{
    if (h >= 1 && h <= 12)
        tn_say_native(t, (int)h, false);
    else
        tn_say_sino(t, b, e);
    put(t, "시");
}
