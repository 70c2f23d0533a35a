/* Personal-data masking (sori/text.h): resident registration, card, phone
 * and account numbers written in digits or read out digit by digit in
 * Sino-Korean (공일공 일이삼사 …), and e-mail addresses.
 *
 * Numbers: the text is cut into runs of digits — written ones with the
 * separators people put between groups (space, -, ., (, )), or spoken
 * ones: words made only of digit syllables (공 영 일 이 삼 사 오 육 륙 칠 팔
 * 구), the last of them allowed a particle or ending after it (…팔이에요,
 * …사번), fillers (어, 음, 그) between them. Each run's digit string is
 * classified by its shape and check digits, then (spoken runs) a digit
 * fewer at either end is tried (a particle 이 reads as 2):
 *   rrn      13 digits: a date (YYMMDD) and a sex/century digit 1-8 (the
 *            check digit is not required: numbers issued since October
 *            2020 have none);
 *   card     15-16 digits passing the Luhn check;
 *   phone    mobile 01[016789] + 7-8 digits, Seoul 02 + 7-8, other areas
 *            0[3-6][1-5] + 7-8, 070 + 8, 050x + 7-8, nationwide 15xx 16xx
 *            18xx + 4, and +82 without the leading 0 (the + written);
 *   account  10-14 digits with a bank or account word (계좌, 은행, 통장,
 *            입금, 신한, 농협 …; names that are also ordinary words — 우리,
 *            하나, 국민, 기업 — only as …은행) in the 40 bytes before the run
 *            (tried before cards: an account number may pass Luhn).
 * Anything else (prices, dates, counts, years) is left. In partial mode
 * (streaming), any run of 3 or more digits that is not yet one of those
 * is masked as "digits": a later final may complete it. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"
#include "sori/text.h"

enum { MAX_DIGITS = 32 };

typedef struct {
    char d[MAX_DIGITS];        /* the digits */
    size_t at[MAX_DIGITS];     /* each digit's first byte */
    size_t end[MAX_DIGITS];    /* and the byte after it */
    int n;
    bool spoken;
    bool group[MAX_DIGITS];    /* this digit begins a group (after a separator or a word break) */
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

/* a particle or ending that may follow the last digit word of a spoken number */
static bool digit_suffix(const unsigned char *s, size_t n)
{
    static const char *const sfx[] = {"이에요", "예요", "에요", "이요", "요", "입니다", "이고요", "이고", "고요", "고",
                                      "번", "번이에요", "번입니다", "번이요", "번이고", "으로", "로", "이야", "야",
                                      "인데요", "인데", "이며", "이구요", "구요", "이랑", "랑", "하고", "이다",
                                      "다", "번이고요", "입니다만", "이거든요", "거든요", "이죠", "죠", "이니까"};
    for (size_t i = 0; i < sizeof sfx / sizeof *sfx; i++)
        if (strlen(sfx[i]) == n && memcmp(sfx[i], s, n) == 0)
            return true;
    return false;
}

static bool filler_word(const unsigned char *s, size_t n)
{
    static const char *const f[] = {"어", "음", "그", "에", "아", "저", "어어", "음음", "네", "다시", "대시", "하이픈"};
    for (size_t i = 0; i < sizeof f / sizeof *f; i++)
        if (strlen(f[i]) == n && memcmp(f[i], s, n) == 0)
            return true;
    return false;
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

static bool rrn(const char *d, int n)
{
    if (n != 13)
        return false;
    const int mm = (d[2] - '0') * 10 + d[3] - '0', dd = (d[4] - '0') * 10 + d[5] - '0', g = d[6] - '0';
    return mm >= 1 && mm <= 12 && dd >= 1 && dd <= 31 && g >= 1 && g <= 8;
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

static bool bank_context(const unsigned char *s, size_t from)
{
    /* bank names that are also ordinary words (우리, 하나, 국민, 기업; cities) count only as "…은행" */
    static const char *const words[] = {"계좌", "은행", "통장", "입금", "송금", "이체", "신한", "농협", "뱅크", "토스",
                                        "새마을금고", "우체국", "수협", "신협", "SC제일", "씨티"};
    const size_t a = from > 40 ? from - 40 : 0;
    for (size_t i = 0; i < sizeof words / sizeof *words; i++) {
        const size_t L = strlen(words[i]);
        for (size_t p = a; p + L <= from; p++)
            if (memcmp(s + p, words[i], L) == 0)
                return true;
    }
    return false;
}

static sori_pii_kind classify(const char *d, int n, const unsigned char *s, size_t at)
{
    const bool intl = at > 0 && s[at - 1] == '+'; /* a written + before the country code */
    if (rrn(d, n))
        return SORI_PII_RRN;
    if (phone(d, n, intl))
        return SORI_PII_PHONE;
    if (n >= 10 && n <= 14 && bank_context(s, at)) /* before cards: a 14-digit account may pass Luhn */
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

static void emit(run *r, const unsigned char *s, sori_pii_kind k, int a, int b, spans *o)
{
    /* a written + before the country code goes too */
    add(o, k, r->at[a] - (!r->spoken && r->at[a] > 0 && s[r->at[a] - 1] == '+'), r->end[b - 1]);
}

static void close_run(run *r, const unsigned char *s, bool partial, spans *o)
{
    if (r->n == 0)
        return;
    const int n = r->n;
    bool found = false;
    /* the whole run, then (spoken) a digit fewer at the end or the start (a particle 이 reads as 2) */
    for (int t = 0; t < (r->spoken ? 3 : 1) && !found; t++) {
        const int a = t == 2 ? 1 : 0, b = t == 1 ? n - 1 : n;
        const sori_pii_kind k = b - a >= 8 ? classify(r->d + a, b - a, s, r->at[a]) : SORI_PII_NONE;
        if (k != SORI_PII_NONE) {
            emit(r, s, k, a, b, o);
            found = true;
        }
    }
    /* else numbers side by side: from the left, the longest run of whole groups that is one */
    int covered = found ? n : 0;
    for (int a = 0; !found && a < n; a++) {
        if (!r->group[a] && a > 0)
            continue;
        for (int b = n; b > a + 7; b--) {
            if (b < n && !r->group[b])
                continue;
            const sori_pii_kind k = classify(r->d + a, b - a, s, r->at[a]);
            if (k != SORI_PII_NONE) {
                if (partial && a > covered && a - covered >= 3)
                    add(o, SORI_PII_DIGITS, r->at[covered], r->end[a - 1]);
                emit(r, s, k, a, b, o);
                covered = b;
                a = b - 1;
                break;
            }
        }
    }
    if (partial && !found && n - covered >= 3)
        add(o, SORI_PII_DIGITS, r->at[covered], r->end[n - 1]);
    r->n = 0;
}

static bool email_char(unsigned char c, bool domain)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
           (!domain && (c == '_' || c == '+' || c == '%'));
}

/* e-mail addresses: local@domain.tld */
static void find_emails(const unsigned char *s, size_t n, spans *o)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '@' || i == 0)
            continue;
        size_t a = i, b = i + 1;
        while (a > 0 && email_char(s[a - 1], false))
            a--;
        while (b < n && email_char(s[b], true))
            b++;
        while (b > i + 1 && (s[b - 1] == '.' || s[b - 1] == '-'))
            b--;
        const unsigned char *dot = memchr(s + i + 1, '.', b - i - 1);
        if (a < i && dot && dot > s + i + 1 && (size_t)(s + b - dot) >= 3)
            add(o, SORI_PII_EMAIL, a, b);
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
            size_t p = i;
            int nd = 0;
            while (p < e) {
                int kk;
                const int dg = digit_syllable(u8dec(s + p, e - p, &kk));
                if (dg < 0)
                    break;
                p += (size_t)kk;
                nd++;
            }
            const bool digits_word = nd > 0 && (p == e || digit_suffix(s + p, e - p));
            if (digits_word) {
                if (!r.spoken)
                    close_run(&r, s, partial, &o);
                r.spoken = true;
                for (size_t q = i; q < p;) {
                    int kk;
                    const int dg = digit_syllable(u8dec(s + q, p - q, &kk));
                    if (r.n == MAX_DIGITS)
                        close_run(&r, s, partial, &o);
                    r.group[r.n] = r.n == 0 || q == i;
                    r.d[r.n] = (char)('0' + dg), r.at[r.n] = q, r.end[r.n] = q + (size_t)kk;
                    r.n++;
                    q += (size_t)kk;
                }
                if (p < e) /* a suffix ends the number */
                    close_run(&r, s, partial, &o);
            } else if (!(r.spoken && r.n && filler_word(s + i, e - i))) {
                close_run(&r, s, partial, &o);
            }
            i = e;
            continue;
        }
        if (cp == ' ' || cp == ',' || cp == '-' || cp == '.') { /* between spoken digit words */
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
