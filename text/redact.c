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
 * complete it.
 *
 * This file reads the text into runs and holds the public functions;
 * redact_number.c judges each run and redact_email.c finds the e-mail
 * addresses (redact_internal.h: what they share). */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"
#include "sori/text.h"
#include "text/redact_internal.h"

/* ---- UTF-8 helpers ---- */

static int u8len(unsigned char c)
{
    return c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
}

unsigned redact_u8dec(const unsigned char *s, size_t n, int *k)
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

bool redact_is_hangul(unsigned cp) { return cp >= 0xAC00 && cp <= 0xD7A3; }
static bool has_final(unsigned cp) { return redact_is_hangul(cp) && (cp - 0xAC00) % 28 != 0; }

bool redact_in_list(const char *const *list, size_t n_list, const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n_list; i++)
        if (strlen(list[i]) == n && memcmp(list[i], s, n) == 0)
            return true;
    return false;
}

/* a particle or ending that may follow the last digit word of a spoken number */
static const char *const SUFFIXES[] = {
    "이에요", "예요", "에요", "이요", "요", "입니다", "이고요", "이고", "고요", "고", "번", "번이에요", "번입니다",
    "번이요", "번이고", "으로", "로", "이야", "야", "인데요", "인데", "이며", "이구요", "구요", "이랑", "랑", "하고",
    "이다", "다", "번이고요", "입니다만", "이거든요", "거든요", "이죠", "죠", "이니까", "에", "의", "번으로",
    "번이에요", "이었어요", "였어요", "이었고", "였고", "이었는데", "였는데"};
/* …of which these go on to the next group when one follows (공일공에 일이삼사에 …, 공일공이요 일이삼사요 …) */
static const char *const SOFT_SUFFIXES[] = {"에", "의", "요", "이요", "이고", "고", "이고요", "고요", "이구요", "구요"};

bool redact_digit_suffix(const unsigned char *s, size_t n) { return IN_LIST(SUFFIXES, s, n); }

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
        const unsigned cp = redact_u8dec(s + p, n - p, &k);
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

/* ---- spans ---- */

void redact_add(spans *o, sori_pii_kind k, size_t a, size_t b)
{
    if (o->n < o->cap)
        o->v[o->n] = (sori_pii_span){k, a, b};
    o->n++;
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
        const unsigned cp = redact_u8dec(s + i, len - i, &k);
        if (cp >= '0' && cp <= '9') { /* written digits */
            if (r.spoken)
                redact_close_run(&r, s, partial, &o);
            r.spoken = false;
            if (r.n == MAX_DIGITS) /* longer than any number it knows: judged a piece at a time */
                redact_close_run(&r, s, partial, &o);
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
        if (redact_is_hangul(cp)) { /* a word: spoken digits (and a suffix), a filler, or an ordinary word */
            size_t e = i;
            while (e < len) {
                int kk;
                const unsigned c = redact_u8dec(s + e, len - e, &kk);
                if (!redact_is_hangul(c))
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
                const int dg = digit_syllable(redact_u8dec(s + p, e - p, &kk));
                if (dg < 0)
                    break;
                last = p;
                p += (size_t)kk;
                nd++;
            }
            int value = 0;
            size_t pv_last = 0, pv = 0;
            bool digits_word = nd > 0 && (p == e || redact_digit_suffix(s + p, e - p));
            if (!digits_word && (pv = place_value(s + i, e - i, &value, &pv_last)) > 0 &&
                (i + pv == e || redact_digit_suffix(s + i + pv, e - i - pv))) {
                digits_word = true;
                p = i + pv;
                /* 육천육백이에요: after 백 the 이 is the particle (6600), as 팔이에요 is 8 */
                if (value % 10 == 2 && p < e && pv_last > 0 && i + pv_last + 3 == p &&
                    redact_digit_suffix(s + pv_last + i, e - i - pv_last))
                    value -= 2, p -= 3;
            }
            /* after 공일공이요, 일이삼사요 … a group goes on; a lone digit (이번, 이 "this") begins something else */
            if (digits_word && r.spoken && r.soft && (pv ? false : nd < 2))
                redact_close_run(&r, s, partial, &o);
            r.soft = false;
            if (digits_word) {
                if (!r.spoken)
                    redact_close_run(&r, s, partial, &o);
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
                        dd[m] = (char)('0' + digit_syllable(redact_u8dec(s + q, p - q, &kk)));
                        at[m] = q, end[m] = q + (size_t)kk;
                        m++;
                        q += (size_t)kk;
                    }
                }
                if (r.n + m > MAX_DIGITS)
                    redact_close_run(&r, s, partial, &o);
                for (int j = 0; j < m && r.n < MAX_DIGITS; j++) {
                    r.group[r.n] = r.n == 0 || j == 0;
                    r.opt[r.n] = OPT_NO;
                    r.d[r.n] = dd[j], r.at[r.n] = at[j], r.end[r.n] = end[j];
                    r.n++;
                }
                /* a last 이 that may be the particle (팔이요, 사이요); a lone 이 first may be one too */
                if (!pv && nd >= 2 && dd[m - 1] == '2' && redact_u8dec(s + last, e - last, &k) == 0xC774 &&
                    (p == e || redact_digit_suffix(s + last, e - last))) {
                    int kk;
                    const unsigned before = redact_u8dec(s + last - 3, 3, &kk);
                    r.opt[r.n - 1] = has_final(before) && p < e ? OPT_PARTICLE_FIRST : OPT_DIGIT_FIRST;
                } else if (!pv && r.n == 1 && e - i == 3 && cp == 0xC774) {
                    r.opt[0] = OPT_DIGIT_FIRST;
                }
                if (p < e && !IN_LIST(SOFT_SUFFIXES, s + p, e - p)) /* a suffix ends the number */
                    redact_close_run(&r, s, partial, &o);
                r.soft = p < e;
            } else if (r.spoken && r.n && correction_word(s + i, e - i)) {
                r.corr = r.n;
            } else if (!(r.spoken && r.n && filler_word(s + i, e - i))) {
                redact_close_run(&r, s, partial, &o);
            }
            i = e;
            continue;
        }
        if (cp == ' ' || cp == ',' || cp == '-' || cp == '.' || cp == '?') { /* between spoken digit words */
            if (!r.spoken)
                redact_close_run(&r, s, partial, &o);
            i += (size_t)k;
            continue;
        }
        redact_close_run(&r, s, partial, &o);
        i += (size_t)k;
    }
    redact_close_run(&r, s, partial, &o);
    redact_find_emails(s, len, &o);
    redact_find_spoken_emails(s, len, &o);
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
