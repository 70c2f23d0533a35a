/* Personal-data masking (sori/text.h): resident registration, card, phone
 * and account numbers written in digits or read out in Sino-Korean
 * (공일공 일이삼사 …, 공일공에 천이백삼십사에 …), and e-mail addresses,
 * written or spoken (에이비씨 골뱅이 네이버 닷컴).
 *
 * Numbers: the text is cut into runs of digits — written ones with the
 * separators people put between groups (space, -, ., (, ), a spoken 에 or
 * 의), or spoken ones: words made only of digit syllables (공 영 일 이 삼 사
 * 오 육 륙 칠 팔 구) or read with place values from 100 to 9999 (천이백삼십사
 * = 1234), each allowed a particle or ending after it (…팔이에요, …사번);
 * after 에, 의, 요, 이요, 이고 … the next group goes on the same number.
 * Fillers and hesitations (어, 음, 그러니까, 잠시만요, the spoken dash 다시)
 * stay inside a run; a correction (아니, 아니고, 다시 말씀드리면, 죄송합니다)
 * marks where the digits after it replace some before. A 이 ending a word may
 * be the particle: after a final consonant it is read as one first (팔이요 =
 * 8), after a vowel as the digit 2 first (사이요 = 4 2), the other reading
 * tried after; a group that the next one begins again (일이 일이삼사) is a
 * false start. Each run is then classified by shape and check digits:
 *   rrn      13 digits: a date (YYMMDD) and a sex/century digit 1-8 (the
 *            check digit is not required: numbers issued since October
 *            2020 have none); after 주민(등록)번호, either half alone;
 *   card     15-16 digits passing the Luhn check;
 *   phone    mobile 01[016789] + 7-8 digits, Seoul 02 + 7-8, other areas
 *            0[3-6][1-5] + 7-8, 070 + 8, 050x + 7-8, nationwide 15xx 16xx
 *            18xx + 4, and +82 without the leading 0 (the + written); read
 *            out, its last group has 4 digits (the reading that gives it wins);
 *   account  10-14 digits with a bank or account word (계좌, 은행, 통장,
 *            입금, 예금주, 신한, 농협 …; names that are also ordinary words —
 *            우리, 하나, 국민, 기업 — only as …은행; bank names only at the
 *            start of a word) in the 64 bytes before the run (tried before
 *            cards: an account number may pass Luhn; before everything when
 *            the bank is the nearest label, right before the number).
 * The whole run first (each reading of its particles), then the correction
 * (two whole numbers, or the last groups replaced: the stretch is masked as
 * one), then numbers side by side (the longest run of whole groups from the
 * left, on after it). When the nearest label is one of a number that is no
 * personal data (주문번호, 송장, 바코드, 접수번호, 인증번호 …), nothing in the run
 * is; after 금액, 요금, 가격 it is no account. Anything else (prices, dates,
 * counts, years) is left. In partial mode (streaming), every other stretch
 * of 3 or more digits of a run is masked as "digits": a later final may
 * complete it. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"
#include "sori/text.h"

enum { MAX_DIGITS = 48, MAX_OPT = 4 };

/* What a digit of a spoken run may be besides a digit: the particle 이 after
 * a number (…팔이에요) reads as 2. After a syllable with a final consonant
 * (공 일 삼 육 칠 팔, 십 백 천) the particle is 이 (팔이요, 칠이고); after a
 * vowel it is dropped (사요, 구고): so 팔이요 is 8 + 이요 and 사이요 is 4, 2
 * + 요. The likely reading is tried first, the other after. */
enum { OPT_NO = 0, OPT_DIGIT_FIRST, OPT_PARTICLE_FIRST };

typedef struct {
    char d[MAX_DIGITS];        /* the digits */
    size_t at[MAX_DIGITS];     /* each digit's first byte */
    size_t end[MAX_DIGITS];    /* and the byte after it (a word read with place values: its digits share it) */
    bool group[MAX_DIGITS];    /* this digit begins a group (after a separator or a word break) */
    unsigned char opt[MAX_DIGITS];
    int n;
    int corr;                  /* the first digit said after a correction (아니, 다시 말씀드리면 …), or 0 */
    bool spoken;
    bool soft;                 /* the last word ended in a suffix that may go on to the next group (…이요, …에) */
} run;

/* ---- UTF-8 helpers ---- */

static int u8len(unsigned char c)
{
    return c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
}

static unsigned u8dec(const unsigned char *s, size_t n, int *k)
{
    *k = u8len(s[0]);
    if ((size_t)*k > n)
        *k = (int)n;
    if (*k == 1)
        return s[0];
    unsigned v = s[0] & (0x7F >> *k);
    for (int i = 1; i < *k; i++)
        v = (v << 6) | (s[i] & 0x3F);
    return v;
}

/* the digit a Hangul syllable reads as, or -1 */
static int digit_syllable(unsigned cp)
{
    switch (cp) {
    case 0xACF5: /* 공 */
    case 0xC601: /* 영 */ return 0;
    case 0xC77C: /* 일 */ return 1;
    case 0xC774: /* 이 */ return 2;
    case 0xC0BC: /* 삼 */ return 3;
    case 0xC0AC: /* 사 */ return 4;
    case 0xC624: /* 오 */ return 5;
    case 0xC721: /* 육 */
    case 0xB959: /* 륙 */ return 6;
    case 0xCE60: /* 칠 */ return 7;
    case 0xD314: /* 팔 */ return 8;
    case 0xAD6C: /* 구 */ return 9;
    default: return -1;
    }
}

static bool is_hangul(unsigned cp) { return cp >= 0xAC00 && cp <= 0xD7A3; }
static bool has_final(unsigned cp) { return is_hangul(cp) && (cp - 0xAC00) % 28 != 0; }

static bool in_list(const char *const *list, size_t n_list, const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n_list; i++)
        if (strlen(list[i]) == n && memcmp(list[i], s, n) == 0)
            return true;
    return false;
}
#define IN_LIST(list, s, n) in_list(list, sizeof list / sizeof *list, s, n)

/* a particle or ending that may follow the last digit word of a spoken number */
static const char *const SUFFIXES[] = {
    "이에요", "예요", "에요", "이요", "요", "입니다", "이고요", "이고", "고요", "고", "번", "번이에요", "번입니다",
    "번이요", "번이고", "으로", "로", "이야", "야", "인데요", "인데", "이며", "이구요", "구요", "이랑", "랑", "하고",
    "이다", "다", "번이고요", "입니다만", "이거든요", "거든요", "이죠", "죠", "이니까", "에", "의", "번으로",
    "번이에요", "이었어요", "였어요", "이었고", "였고", "이었는데", "였는데"};
/* …of which these go on to the next group when one follows (공일공에 일이삼사에 …, 공일공이요 일이삼사요 …) */
static const char *const SOFT_SUFFIXES[] = {"에", "의", "요", "이요", "이고", "고", "이고요", "고요", "이구요", "구요"};

static bool digit_suffix(const unsigned char *s, size_t n) { return IN_LIST(SUFFIXES, s, n); }

static bool filler_word(const unsigned char *s, size_t n)
{
    static const char *const f[] = {"어", "음", "그", "에", "아", "저", "어어", "음음", "네", "다시", "대시", "하이픈",
                                    "으음", "에에", "엄", "흠", "그러니까", "그니까", "그게", "잠시만요", "잠깐만요",
                                    "잠시만", "잠깐만", "뭐더라", "뭐였더라", "그리고요", "네네", "예", "어디"};
    return IN_LIST(f, s, n);
}

/* a word that takes back what was just said: the digits after it replace some before */
static bool correction_word(const unsigned char *s, size_t n)
{
    static const char *const f[] = {"아니", "아니고", "아니요", "아니라", "아니아니", "아뇨", "정정", "정정할게요",
                                    "정정합니다", "말씀드리면", "말하면", "잘못", "말했어요", "말했네요",
                                    "죄송합니다", "죄송해요", "미안합니다", "다시요"};
    return IN_LIST(f, s, n);
}

/* A number read with place values, 100 to 9999 (천이백삼십사, 오천육백칠십팔,
 * 삼백사십오): how many bytes of s it takes and its value, or 0 bytes. */
static size_t place_value(const unsigned char *s, size_t n, int *value, size_t *last_syl)
{
    int v = 0, cur = -1, last_place = 10000, places = 0;
    size_t p = 0, ok_p = 0, cur_at = 0;
    while (p < n) {
        int k;
        const unsigned cp = u8dec(s + p, n - p, &k);
        const int dg = digit_syllable(cp);
        const int place = cp == 0xCC9C ? 1000 : cp == 0xBC31 ? 100 : cp == 0xC2ED ? 10 : 0; /* 천 백 십 */
        if (dg >= 1 && cur < 0) {
            cur = dg, cur_at = p;
        } else if (place && place < last_place) {
            v += (cur < 0 ? 1 : cur) * place;
            cur = -1, last_place = place, places++;
        } else {
            break;
        }
        p += (size_t)k;
        ok_p = p;
    }
    if (cur >= 0)
        v += cur;
    if (!places || v < 100 || v > 9999)
        return 0;
    *value = v;
    *last_syl = cur >= 0 ? cur_at : ok_p;
    return ok_p;
}

/* ---- classification ---- */

static bool luhn(const char *d, int n)
{
    int sum = 0;
    for (int i = 0; i < n; i++) {
        int x = d[n - 1 - i] - '0';
        if (i % 2) {
            x *= 2;
            if (x > 9)
                x -= 9;
        }
        sum += x;
    }
    return sum % 10 == 0;
}

static bool is_date(const char *d)
{
    const int mm = (d[2] - '0') * 10 + d[3] - '0', dd = (d[4] - '0') * 10 + d[5] - '0';
    return mm >= 1 && mm <= 12 && dd >= 1 && dd <= 31;
}

static bool rrn(const char *d, int n)
{
    return n == 13 && is_date(d) && d[6] >= '1' && d[6] <= '8';
}

static bool phone(const char *d, int n, bool intl)
{
    if (intl && n >= 11 && d[0] == '8' && d[1] == '2' && d[2] != '0') { /* +82 10 …: the 0 dropped */
        char t[MAX_DIGITS];
        t[0] = '0';
        memcpy(t + 1, d + 2, (size_t)n - 2);
        return phone(t, n - 1, false);
    }
    if (n == 8 && d[0] == '1' && (d[1] == '5' || d[1] == '6' || d[1] == '8'))
        return true;
    if (d[0] != '0' || n < 9 || n > 12)
        return false;
    if (d[1] == '1')
        return (d[2] == '0' || d[2] == '1' || d[2] == '6' || d[2] == '7' || d[2] == '8' || d[2] == '9') &&
               (n == 10 || n == 11);
    if (d[1] == '2')
        return n == 9 || n == 10;
    if (d[1] == '7' && d[2] == '0')
        return n == 11;
    if (d[1] == '5' && d[2] == '0')
        return n == 11 || n == 12;
    if (d[1] >= '3' && d[1] <= '6' && d[2] >= '1' && d[2] <= '5')
        return n == 10 || n == 11;
    return false;
}

/* What the words before a number say it is. The nearest label wins: an
 * order or tracking number after a bank word is no account, an account
 * right after its bank is one even when it is shaped like a phone number
 * (기업은행 accounts may be a mobile number). */
typedef struct {
    bool bank;       /* a bank or account word in the 64 bytes before */
    bool bank_first; /* …and it is the nearest label, right before the number */
    bool not_pii;    /* the nearest label (in 40 bytes) names a number that is no personal data (주문번호 …) */
    bool rrn_named;  /* 주민(등록)번호 in the 64 bytes before: its halves alone count */
} context;

enum { LABEL_BANK = 1, LABEL_NOT_PII, LABEL_AMOUNT, LABEL_RRN, LABEL_OTHER };

static context read_context(const unsigned char *s, size_t from)
{
    /* bank names that are also ordinary words (우리, 하나, 국민, 기업; cities) count only as "…은행" */
    static const struct {
        const char *w;
        int label;
        bool starts; /* a bank name begins a word (변신한 holds 신한); 은행, 뱅크, 계좌 … may end one (국민은행) */
    } words[] = {
        {"계좌", LABEL_BANK, 0},       {"은행", LABEL_BANK, 0},        {"통장", LABEL_BANK, 0},
        {"입금", LABEL_BANK, 0},       {"송금", LABEL_BANK, 0},        {"이체", LABEL_BANK, 0},
        {"뱅크", LABEL_BANK, 0},       {"신한", LABEL_BANK, 1},        {"농협", LABEL_BANK, 1},
        {"토스", LABEL_BANK, 1},       {"새마을금고", LABEL_BANK, 1},  {"우체국", LABEL_BANK, 1},
        {"수협", LABEL_BANK, 1},       {"신협", LABEL_BANK, 1},        {"SC제일", LABEL_BANK, 1},
        {"씨티", LABEL_BANK, 1},       {"예금주", LABEL_BANK, 1},      {"주문번호", LABEL_NOT_PII, 0},
        {"주문 번호", LABEL_NOT_PII, 0}, {"송장", LABEL_NOT_PII, 0},   {"바코드", LABEL_NOT_PII, 0},
        {"접수번호", LABEL_NOT_PII, 0}, {"접수 번호", LABEL_NOT_PII, 0}, {"예약번호", LABEL_NOT_PII, 0},
        {"예약 번호", LABEL_NOT_PII, 0}, {"영수증", LABEL_NOT_PII, 0}, {"모델", LABEL_NOT_PII, 0},
        {"시리얼", LABEL_NOT_PII, 0},  {"일련번호", LABEL_NOT_PII, 0}, {"제품 번호", LABEL_NOT_PII, 0},
        {"승인번호", LABEL_NOT_PII, 0}, {"쿠폰", LABEL_NOT_PII, 0},    {"인증번호", LABEL_NOT_PII, 0},
        {"사업자", LABEL_NOT_PII, 0},  {"주민", LABEL_RRN, 0},         {"외국인등록", LABEL_RRN, 0},
        {"금액", LABEL_AMOUNT, 0},     {"요금", LABEL_AMOUNT, 0},      {"가격", LABEL_AMOUNT, 0},
        {"전화", LABEL_OTHER, 0},      {"연락", LABEL_OTHER, 0},       {"폰", LABEL_OTHER, 0},
        {"제 번호", LABEL_OTHER, 0},   {"내 번호", LABEL_OTHER, 0},    {"카드", LABEL_OTHER, 0},
    };
    context c = {0};
    const size_t a = from > 64 ? from - 64 : 0;
    size_t best_at = 0;
    int best = 0;
    for (size_t i = 0; i < sizeof words / sizeof *words; i++) {
        const size_t L = strlen(words[i].w);
        for (size_t p = a; p + L <= from; p++) {
            if (memcmp(s + p, words[i].w, L) != 0 || (words[i].starts && p > 0 && s[p - 1] != ' '))
                continue;
            if (words[i].label == LABEL_BANK)
                c.bank = true;
            if (words[i].label == LABEL_RRN)
                c.rrn_named = true;
            if (!best || p + L > best_at)
                best = words[i].label, best_at = p + L;
        }
    }
    c.bank_first = best == LABEL_BANK && from - best_at <= 20; /* the bank names the number: 기업은행 010… */
    c.not_pii = best == LABEL_NOT_PII && from - best_at <= 40;
    if (best == LABEL_AMOUNT && from - best_at <= 40) /* 이체 금액 천이백 삼천사백 …: sums, not an account */
        c.bank = false;
    return c;
}

static sori_pii_kind classify(const char *d, int n, const context *c, bool intl)
{
    if (n < 8 || c->not_pii)
        return SORI_PII_NONE;
    if (n >= 10 && n <= 14 && c->bank_first)
        return SORI_PII_ACCOUNT;
    if (rrn(d, n))
        return SORI_PII_RRN;
    if (phone(d, n, intl))
        return SORI_PII_PHONE;
    if (n >= 10 && n <= 14 && c->bank) /* before cards: a 14-digit account may pass Luhn */
        return SORI_PII_ACCOUNT;
    if (n >= 15 && n <= 16 && luhn(d, n))
        return SORI_PII_CARD;
    return SORI_PII_NONE;
}

/* ---- spans ---- */

typedef struct {
    sori_pii_span *v;
    int cap, n;
} spans;

static void add(spans *o, sori_pii_kind k, size_t a, size_t b)
{
    if (o->n < o->cap)
        o->v[o->n] = (sori_pii_span){k, a, b};
    o->n++;
}

/* A reading of some of a run's digits: which digits (indices into the
 * run), the particles dropped among them. */
typedef struct {
    int idx[MAX_DIGITS];
    int n;
} pick;

/* Classify the digits in p, trying each reading of the particles 이 among
 * them, the likelier first; on success p holds the reading found. */
static sori_pii_kind classify_pick(const run *r, pick *p, const context *c, bool intl)
{
    int opt[MAX_OPT], k = 0;
    sori_pii_kind fallback = SORI_PII_NONE;
    pick first = {.n = 0};
    for (int j = p->n - 1; j >= 0 && k < MAX_OPT; j--)
        if (r->opt[p->idx[j]])
            opt[k++] = j;
    for (int flips = 0; flips <= k; flips++) {
        for (unsigned m = 0; m < (1u << k); m++) {
            int bits = 0;
            for (unsigned x = m; x; x &= x - 1)
                bits++;
            if (bits != flips)
                continue;
            char d[MAX_DIGITS];
            pick q = {.n = 0};
            for (int j = 0; j < p->n; j++) {
                int drop = 0;
                for (int t = 0; t < k; t++)
                    if (opt[t] == j)
                        drop = (r->opt[p->idx[j]] == OPT_PARTICLE_FIRST) ^ ((m >> t) & 1);
                if (!drop)
                    d[q.n] = r->d[p->idx[j]], q.idx[q.n++] = p->idx[j];
            }
            const sori_pii_kind kind = classify(d, q.n, c, intl);
            if (kind == SORI_PII_NONE)
                continue;
            /* a phone number read out ends in a group of 4 (010-9876-5432, not 010-9876-543 + 이) */
            int g = q.n - 1;
            while (g > 0 && !r->group[q.idx[g]])
                g--;
            if (kind != SORI_PII_PHONE || !r->spoken || q.n - g == 4 || g == 0) {
                *p = q;
                return kind;
            }
            if (fallback == SORI_PII_NONE)
                fallback = kind, first = q;
        }
    }
    if (fallback != SORI_PII_NONE)
        *p = first;
    return fallback;
}

/* the digits a..b of the run, without the groups that are a false start of
 * the next (공일공 일이 일이삼사 …: 일이 begun again as 일이삼사) */
static pick pick_range(const run *r, int a, int b, bool drop_false_starts)
{
    pick p = {.n = 0};
    for (int j = a; j < b;) {
        int e = j + 1;
        while (e < b && !r->group[e])
            e++;
        bool false_start = false;
        if (drop_false_starts && r->spoken && e < b) {
            int f = e + 1;
            while (f < b && !r->group[f])
                f++;
            false_start = f - e > e - j && memcmp(r->d + j, r->d + e, (size_t)(e - j)) == 0;
        }
        for (; j < e; j++)
            if (!false_start)
                p.idx[p.n++] = j;
    }
    return p;
}

static sori_pii_kind classify_range(const run *r, int a, int b, pick *p, const context *c, bool intl)
{
    *p = pick_range(r, a, b, true);
    sori_pii_kind k = classify_pick(r, p, c, intl);
    if (k == SORI_PII_NONE) {
        pick q = pick_range(r, a, b, false);
        if (q.n != p->n) {
            *p = q;
            k = classify_pick(r, p, c, intl);
        }
    }
    return k;
}

typedef struct {
    sori_pii_kind kind;
    int a, b; /* the run's digits a..b-1 are its span */
} found;

static void close_run(run *r, const unsigned char *s, bool partial, spans *o)
{
    if (r->n == 0)
        return;
    const int n = r->n;
    const bool intl = !r->spoken && r->at[0] > 0 && s[r->at[0] - 1] == '+'; /* a written + before the country code */
    found f[MAX_DIGITS];
    int nf = 0;
    if (n < 6) { /* no number that short is one: only partial mode's mask */
        if (partial && n >= 3)
            add(o, SORI_PII_DIGITS, r->at[0], r->end[n - 1]);
        r->n = 0, r->corr = 0, r->soft = false;
        return;
    }
    const context c = read_context(s, r->at[0] - intl);
    pick p;
    /* 1. the whole run, each reading of its particles, false starts dropped */
    sori_pii_kind k = classify_range(r, 0, n, &p, &c, intl);
    if (k != SORI_PII_NONE)
        f[nf++] = (found){k, 0, p.idx[p.n - 1] + 1};
    /* 2. a correction: two whole numbers; or the digits after it replace the last groups before it (or all) */
    const int cr = r->corr;
    if (!nf && cr > 0 && cr < n) {
        pick pl, pr;
        const sori_pii_kind kl = classify_range(r, 0, cr, &pl, &c, intl), kr = classify_range(r, cr, n, &pr, &c, false);
        if (kl != SORI_PII_NONE && kr != SORI_PII_NONE) {
            f[nf++] = (found){kl, 0, pl.idx[pl.n - 1] + 1};
            f[nf++] = (found){kr, cr, pr.idx[pr.n - 1] + 1};
        }
        for (int g = cr - 1; !nf && g >= 0; g--) {
            if (g > 0 && !r->group[g])
                continue;
            pick q = pick_range(r, 0, g, true), t = pick_range(r, cr, n, true);
            for (int j = 0; j < t.n && q.n < MAX_DIGITS; j++)
                q.idx[q.n++] = t.idx[j];
            k = q.n ? classify_pick(r, &q, &c, intl && g > 0) : SORI_PII_NONE;
            if (k != SORI_PII_NONE)
                f[nf++] = (found){k, 0, q.idx[q.n - 1] + 1};
        }
    }
    /* 3. numbers side by side (or a number and a word like 이 "this" after it): from the left, the longest
     * run of whole groups that is one, and on after it */
    for (int a = 0, none_yet = !nf; none_yet && a < n; a++) {
        if (a > 0 && !r->group[a])
            continue;
        for (int b = n; b > a + 7; b--) {
            if (b < n && !r->group[b])
                continue;
            pick q = pick_range(r, a, b, true);
            k = classify_pick(r, &q, &c, intl && a == 0);
            if (k != SORI_PII_NONE) {
                const int last = q.idx[q.n - 1];
                f[nf++] = (found){k, a, last + 1};
                a = b - 1;
                break;
            }
        }
    }
    /* 4. after 주민(등록)번호, either half alone: the birth date (6 digits) or the 7 after it */
    if (!nf && c.rrn_named && !c.not_pii) {
        pick q = pick_range(r, 0, n, true);
        char d[MAX_DIGITS];
        int m = 0, last = 0;
        for (int j = 0; j < q.n; j++)
            if (r->opt[q.idx[j]] != OPT_PARTICLE_FIRST)
                d[m++] = r->d[q.idx[j]], last = q.idx[j];
        if ((m == 6 && is_date(d)) || (m == 7 && d[0] >= '1' && d[0] <= '8'))
            f[nf++] = (found){SORI_PII_RRN, 0, last + 1};
    }
    /* emit; in partial mode, every other stretch of 3 or more digits too */
    int covered = 0;
    for (int j = 0; j <= nf; j++) {
        const int upto = j < nf ? f[j].a : n;
        if (partial && upto - covered >= 3)
            add(o, SORI_PII_DIGITS, r->at[covered], r->end[upto - 1]);
        if (j == nf)
            break;
        /* a written + before the country code goes too */
        const size_t b0 = r->at[f[j].a];
        add(o, f[j].kind, b0 - (!r->spoken && b0 > 0 && s[b0 - 1] == '+'), r->end[f[j].b - 1]);
        covered = f[j].b;
    }
    r->n = 0;
    r->corr = 0;
    r->soft = false;
}

/* ---- e-mail addresses ---- */

static bool email_char(unsigned char c, bool domain)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
           (!domain && (c == '_' || c == '+' || c == '%'));
}

/* written: local@domain.tld (a recognizer may put a space either side of the @) */
static void find_emails(const unsigned char *s, size_t n, spans *o)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '@' || i == 0)
            continue;
        const size_t l = i - (s[i - 1] == ' ' && i > 1), d = i + 1 + (i + 1 < n && s[i + 1] == ' ');
        size_t a = l, b = d;
        while (a > 0 && email_char(s[a - 1], false))
            a--;
        while (b < n && email_char(s[b], true))
            b++;
        while (b > d && (s[b - 1] == '.' || s[b - 1] == '-'))
            b--;
        const unsigned char *dot = b > d ? memchr(s + d, '.', b - d) : NULL;
        if (a < l && dot && dot > s + d && (size_t)(s + b - dot) >= 3)
            add(o, SORI_PII_EMAIL, a, b);
    }
}

/* spoken: 에이비씨 골뱅이 네이버 닷컴, kim 골뱅이 gmail.com, minsu at gmail dot com */

static bool prefix_in(const char *const *list, size_t n_list, const unsigned char *s, size_t n, size_t *len)
{
    for (size_t i = 0; i < n_list; i++) {
        const size_t L = strlen(list[i]);
        if (L <= n && memcmp(list[i], s, L) == 0)
            return *len = L, true;
    }
    return false;
}

/* letters spelled out in Hangul (에이 비 씨 …) and digits, run together or not */
static bool spelled(const unsigned char *s, size_t n)
{
    static const char *const names[] = {"에이치", "에이", "비", "씨", "시", "디", "이", "에프", "지", "쥐", "아이",
                                        "제이", "케이", "엘", "엠", "엔", "오", "피", "큐", "알", "에스", "티", "유",
                                        "브이", "더블유", "더블류", "엑스", "와이", "제트", "공", "영", "일", "삼",
                                        "사", "육", "칠", "팔", "구"};
    bool at[97] = {true};
    if (n == 0 || n > 96)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (!at[i])
            continue;
        for (size_t j = 0; j < sizeof names / sizeof *names; j++) {
            const size_t L = strlen(names[j]);
            if (i + L <= n && memcmp(s + i, names[j], L) == 0)
                at[i + L] = true;
        }
    }
    return at[n];
}

static bool ascii_word(const unsigned char *s, size_t n, bool domain)
{
    for (size_t i = 0; i < n; i++)
        if (!email_char(s[i], domain))
            return false;
    return n > 0;
}

static const char *const EMAIL_DOTS[] = {"닷", "점", "쩜", "dot", "."};
static const char *const EMAIL_TLDS[] = {"컴", "넷", "오알지", "케이알", "씨오", "에듀", "비즈", "인포", "고브", "넷트"};
static const char *const EMAIL_HOSTS[] = {"네이버", "지메일", "쥐메일", "다음", "한메일", "네이트", "카카오", "핫메일",
                                          "야후", "아웃룩", "naver", "gmail", "daum", "hanmail", "nate", "kakao",
                                          "hotmail", "yahoo", "outlook"};

/* a label after a dot (or the first, host, label): how many bytes of the word it takes, 0 if none;
 * *stop when an ending follows it (닷컴이요) */
static size_t email_label(const unsigned char *s, size_t n, bool host, bool *stop)
{
    *stop = false;
    if (ascii_word(s, n, true))
        return n;
    for (size_t L = n; L > 0; L--) {
        if (L < n && !digit_suffix(s + L, n - L))
            continue;
        size_t k;
        const bool known = host ? prefix_in(EMAIL_HOSTS, sizeof EMAIL_HOSTS / sizeof *EMAIL_HOSTS, s, L, &k) && k == L
                                : (prefix_in(EMAIL_TLDS, sizeof EMAIL_TLDS / sizeof *EMAIL_TLDS, s, L, &k) && k == L) ||
                                      spelled(s, L);
        if (known) {
            *stop = L < n;
            return L;
        }
    }
    return 0;
}

static size_t word_start(const unsigned char *s, size_t at) /* of the word before the spaces before at */
{
    while (at > 0 && s[at - 1] == ' ')
        at--;
    size_t a = at;
    while (a > 0 && s[a - 1] != ' ')
        a--;
    return a;
}

static size_t word_end(const unsigned char *s, size_t n, size_t a)
{
    while (a < n && s[a] != ' ')
        a++;
    return a;
}

static void find_spoken_emails(const unsigned char *s, size_t n, spans *o)
{
    static const char *const ats[] = {"골뱅이", "앳", "at"};
    static const char *const local_words[] = {"언더바", "언더스코어", "하이픈", "대시", "어", "음", "그"};
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && s[i - 1] != ' ')
            continue;
        const size_t e = word_end(s, n, i);
        if (!IN_LIST(ats, s + i, e - i) || i < 2)
            continue;
        /* the local part: the word before, always; before it, spelled letters, digits, Latin, dots, fillers */
        size_t a = word_start(s, i), first = a;
        if (a == i)
            continue;
        const bool ascii_at = s[i] == 'a';
        if (ascii_at && !ascii_word(s + a, word_end(s, n, a) - a, false))
            continue;
        while (a > 0) {
            const size_t w = word_start(s, a), we = word_end(s, n, w);
            if (w == a || !(spelled(s + w, we - w) || ascii_word(s + w, we - w, false) ||
                            IN_LIST(EMAIL_DOTS, s + w, we - w) || IN_LIST(local_words, s + w, we - w)))
                break;
            a = w;
            if (!IN_LIST(local_words, s + w, we - w) && !IN_LIST(EMAIL_DOTS, s + w, we - w))
                first = w; /* a filler or a dot does not begin it */
        }
        /* the domain: a host, then dots and labels */
        size_t d = e;
        while (d < n && s[d] == ' ')
            d++;
        size_t de = word_end(s, n, d);
        if (d == de)
            continue;
        while (de > d && (s[de - 1] == '.' || s[de - 1] == ',' || s[de - 1] == '?'))
            de--;
        const unsigned char *dot = memchr(s + d, '.', de - d);
        if (dot && ascii_word(s + d, de - d, true) && dot > s + d && s + de - dot >= 3) {
            add(o, SORI_PII_EMAIL, first, de); /* kim 골뱅이 gmail.com */
            continue;
        }
        bool stop;
        size_t L = email_label(s + d, de - d, true, &stop), end = d + L;
        const bool host = L > 0;
        if (!L && is_hangul(u8dec(s + d, de - d, &(int){0})))
            L = de - d, end = de; /* any word as the host: 회사 닷 컴 */
        if (!L)
            continue;
        int labels = 0;
        bool was_spelled = false;
        size_t q = end;
        while (!stop && q < n) {
            size_t w = q;
            while (w < n && s[w] == ' ')
                w++;
            size_t we = word_end(s, n, w), dl = 0;
            if (w == we)
                break;
            if (IN_LIST(EMAIL_DOTS, s + w, we - w)) { /* 닷 컴 */
                w = we;
                while (w < n && s[w] == ' ')
                    w++;
                we = word_end(s, n, w);
            } else if (prefix_in(EMAIL_DOTS, 3, s + w, we - w, &dl)) { /* 닷컴, 점넷 */
                w += dl;
            } else if (was_spelled && spelled(s + w, we - w)) { /* 에이 아이: one label spelled in words */
                ;
            } else {
                break;
            }
            while (we > w && (s[we - 1] == '.' || s[we - 1] == ',' || s[we - 1] == '?'))
                we--;
            const size_t ll = w < we ? email_label(s + w, we - w, false, &stop) : 0;
            if (!ll)
                break;
            labels++;
            was_spelled = !ascii_word(s + w, ll, true) && spelled(s + w, ll);
            q = end = w + ll;
        }
        if (labels > 0 || host)
            add(o, SORI_PII_EMAIL, first, end);
        i = e - 1;
    }
}

static int cmp_span(const void *x, const void *y)
{
    const sori_pii_span *a = x, *b = y;
    return a->begin < b->begin ? -1 : a->begin > b->begin;
}

sori_status sori_redact_find(const char *text, size_t len, bool partial, sori_pii_span *out, int cap, int *n_out,
                             sori_error *err)
{
    if ((!text && len) || !n_out || cap < 0 || (cap > 0 && !out))
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "redact: NULL argument");
    *n_out = 0;
    const unsigned char *s = (const unsigned char *)text;
    for (size_t i = 0; i < len;) { /* valid UTF-8 only */
        int k = u8len(s[i]);
        bool ok = (s[i] < 0x80 || (s[i] >= 0xC2 && s[i] < 0xF5)) && i + (size_t)k <= len;
        for (int j = 1; ok && j < k; j++)
            ok = (s[i + j] & 0xC0) == 0x80;
        if (!ok)
            return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "redact: invalid UTF-8 at byte %zu", i);
        i += (size_t)k;
    }
    spans o = {out, cap, 0};
    run r = {.n = 0};
    size_t i = 0;
    while (i < len) {
        int k;
        const unsigned cp = u8dec(s + i, len - i, &k);
        if (cp >= '0' && cp <= '9') { /* written digits */
            if (r.spoken)
                close_run(&r, s, partial, &o);
            r.spoken = false;
            if (r.n == MAX_DIGITS) /* longer than any number it knows: judged a piece at a time */
                close_run(&r, s, partial, &o);
            r.group[r.n] = r.n == 0 || r.end[r.n - 1] != i;
            r.opt[r.n] = OPT_NO;
            r.d[r.n] = (char)cp, r.at[r.n] = i, r.end[r.n] = i + 1;
            r.n++;
            i++;
            continue;
        }
        if (r.n && !r.spoken && (cp == '-' || cp == '.' || cp == ' ' || cp == '(' || cp == ')') && i + 1 < len &&
            ((s[i + 1] >= '0' && s[i + 1] <= '9') || s[i + 1] == ' ' || s[i + 1] == '-' || s[i + 1] == ')')) {
            i++; /* a separator inside a written number */
            continue;
        }
        if (cp == '+' && i + 1 < len && s[i + 1] >= '0' && s[i + 1] <= '9') {
            i++;
            continue;
        }
        if (is_hangul(cp)) { /* a word: spoken digits (and a suffix), a filler, or an ordinary word */
            size_t e = i;
            while (e < len) {
                int kk;
                const unsigned c = u8dec(s + e, len - e, &kk);
                if (!is_hangul(c))
                    break;
                e += (size_t)kk;
            }
            /* 010에 1234에 5678: a spoken dash between written groups */
            if (r.n && !r.spoken && r.end[r.n - 1] == i && e - i == 3 && (cp == 0xC5D0 || cp == 0xC758)) {
                size_t q = e;
                while (q < len && s[q] == ' ')
                    q++;
                if (q < len && s[q] >= '0' && s[q] <= '9') {
                    i = q;
                    continue;
                }
            }
            size_t p = i, last = i;
            int nd = 0;
            while (p < e) {
                int kk;
                const int dg = digit_syllable(u8dec(s + p, e - p, &kk));
                if (dg < 0)
                    break;
                last = p;
                p += (size_t)kk;
                nd++;
            }
            int value = 0;
            size_t pv_last = 0, pv = 0;
            bool digits_word = nd > 0 && (p == e || digit_suffix(s + p, e - p));
            if (!digits_word && (pv = place_value(s + i, e - i, &value, &pv_last)) > 0 &&
                (i + pv == e || digit_suffix(s + i + pv, e - i - pv))) {
                digits_word = true;
                p = i + pv;
                /* 육천육백이에요: after 백 the 이 is the particle (6600), as 팔이에요 is 8 */
                if (value % 10 == 2 && p < e && pv_last > 0 && i + pv_last + 3 == p && digit_suffix(s + pv_last + i, e - i - pv_last))
                    value -= 2, p -= 3;
            }
            /* after 공일공이요, 일이삼사요 … a group goes on; a lone digit (이번, 이 "this") begins something else */
            if (digits_word && r.spoken && r.soft && (pv ? false : nd < 2))
                close_run(&r, s, partial, &o);
            r.soft = false;
            if (digits_word) {
                if (!r.spoken)
                    close_run(&r, s, partial, &o);
                r.spoken = true;
                char dd[MAX_DIGITS];
                size_t at[MAX_DIGITS], end[MAX_DIGITS];
                int m = 0;
                if (pv) {
                    char t[8];
                    m = snprintf(t, sizeof t, "%d", value);
                    for (int j = 0; j < m; j++)
                        dd[j] = t[j], at[j] = i, end[j] = p;
                } else {
                    for (size_t q = i; q < p && m < MAX_DIGITS;) {
                        int kk;
                        dd[m] = (char)('0' + digit_syllable(u8dec(s + q, p - q, &kk)));
                        at[m] = q, end[m] = q + (size_t)kk;
                        m++;
                        q += (size_t)kk;
                    }
                }
                if (r.n + m > MAX_DIGITS)
                    close_run(&r, s, partial, &o);
                for (int j = 0; j < m && r.n < MAX_DIGITS; j++) {
                    r.group[r.n] = r.n == 0 || j == 0;
                    r.opt[r.n] = OPT_NO;
                    r.d[r.n] = dd[j], r.at[r.n] = at[j], r.end[r.n] = end[j];
                    r.n++;
                }
                /* a last 이 that may be the particle (팔이요, 사이요); a lone 이 first may be one too */
                if (!pv && nd >= 2 && dd[m - 1] == '2' && u8dec(s + last, e - last, &k) == 0xC774 &&
                    (p == e || digit_suffix(s + last, e - last))) {
                    int kk;
                    const unsigned before = u8dec(s + last - 3, 3, &kk);
                    r.opt[r.n - 1] = has_final(before) && p < e ? OPT_PARTICLE_FIRST : OPT_DIGIT_FIRST;
                } else if (!pv && r.n == 1 && e - i == 3 && cp == 0xC774) {
                    r.opt[0] = OPT_DIGIT_FIRST;
                }
                if (p < e && !IN_LIST(SOFT_SUFFIXES, s + p, e - p)) /* a suffix ends the number */
                    close_run(&r, s, partial, &o);
                r.soft = p < e;
            } else if (r.spoken && r.n && correction_word(s + i, e - i)) {
                r.corr = r.n;
            } else if (!(r.spoken && r.n && filler_word(s + i, e - i))) {
                close_run(&r, s, partial, &o);
            }
            i = e;
            continue;
        }
        if (cp == ' ' || cp == ',' || cp == '-' || cp == '.' || cp == '?') { /* between spoken digit words */
            if (!r.spoken)
                close_run(&r, s, partial, &o);
            i += (size_t)k;
            continue;
        }
        close_run(&r, s, partial, &o);
        i += (size_t)k;
    }
    close_run(&r, s, partial, &o);
    find_emails(s, len, &o);
    find_spoken_emails(s, len, &o);
    if (o.n > cap)
        return *n_out = o.n, sori_fail(err, SORI_ERR_INVALID_ARG, 0, "redact: %d spans, room for %d", o.n, cap);
    qsort(out, (size_t)o.n, sizeof *out, cmp_span);
    int m = 0; /* overlapping spans (digits inside an e-mail address) become one, the first's kind */
    for (int j = 0; j < o.n; j++) {
        if (m > 0 && out[j].begin < out[m - 1].end) {
            if (out[j].end > out[m - 1].end)
                out[m - 1].end = out[j].end;
            if (out[m - 1].kind == SORI_PII_DIGITS)
                out[m - 1].kind = out[j].kind;
            continue;
        }
        out[m++] = out[j];
    }
    *n_out = m;
    return SORI_OK;
}

const char *sori_pii_name(sori_pii_kind k)
{
    switch (k) {
    case SORI_PII_RRN: return "rrn";
    case SORI_PII_CARD: return "card";
    case SORI_PII_PHONE: return "phone";
    case SORI_PII_ACCOUNT: return "account";
    case SORI_PII_EMAIL: return "email";
    case SORI_PII_DIGITS: return "digits";
    default: return "none";
    }
}

const char *sori_pii_mask(sori_pii_kind k)
{
    switch (k) {
    case SORI_PII_RRN: return "[주민등록번호]";
    case SORI_PII_CARD: return "[카드번호]";
    case SORI_PII_PHONE: return "[전화번호]";
    case SORI_PII_ACCOUNT: return "[계좌번호]";
    case SORI_PII_EMAIL: return "[이메일]";
    default: return "[숫자]";
    }
}

sori_status sori_redact(const char *text, size_t len, bool partial, char *out, size_t cap, size_t *out_len,
                        sori_pii_span *spans_out, int span_cap, int *n_spans, sori_error *err)
{
    if (!out_len || (cap > 0 && !out) || !n_spans)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "redact: NULL argument");
    *out_len = 0;
    sori_status st = sori_redact_find(text, len, partial, spans_out, span_cap, n_spans, err);
    if (st != SORI_OK)
        return st;
    size_t w = 0, at = 0;
    for (int i = 0; i <= *n_spans; i++) {
        const size_t upto = i < *n_spans ? spans_out[i].begin : len;
        if (w + (upto - at) < cap)
            memcpy(out + w, text + at, upto - at);
        w += upto - at;
        if (i == *n_spans)
            break;
        const char *m = sori_pii_mask(spans_out[i].kind);
        const size_t ml = strlen(m);
        if (w + ml < cap)
            memcpy(out + w, m, ml);
        w += ml;
        at = spans_out[i].end;
    }
    *out_len = w;
    if (w >= cap) {
        if (cap > 0)
            out[0] = 0;
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "redact: %zu bytes do not fit a buffer of %zu", w, cap);
    }
    out[w] = 0;
    return SORI_OK;
}
