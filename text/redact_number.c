/* Personal-data masking, the numbers: which digits of a run (read from the
 * text by redact.c) are a resident registration, card, phone or account
 * number, by shape and check digits (a date and a sex digit, Luhn, the
 * telephone numbering plan) and by the words before the run (a bank, a
 * label of a number that is no personal data, 주민번호), over each reading
 * of the particles 이 among its digits: the whole run, then its correction,
 * then numbers side by side, then (after 주민번호) either half of a resident
 * registration number. redact.c's header says how each kind is recognized. */
#include <stdbool.h>
#include <string.h>

#include "sori/text.h"
#include "text/redact_internal.h"

enum { MAX_OPT = 4 };

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

void redact_close_run(run *r, const unsigned char *s, bool partial, spans *o)
{
    if (r->n == 0)
        return;
    const int n = r->n;
    const bool intl = !r->spoken && r->at[0] > 0 && s[r->at[0] - 1] == '+'; /* a written + before the country code */
    found f[MAX_DIGITS];
    int nf = 0;
    if (n < 6) { /* no number that short is one: only partial mode's mask */
        if (partial && n >= 3)
            redact_add(o, SORI_PII_DIGITS, r->at[0], r->end[n - 1]);
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
            redact_add(o, SORI_PII_DIGITS, r->at[covered], r->end[upto - 1]);
        if (j == nf)
            break;
        /* a written + before the country code goes too */
        const size_t b0 = r->at[f[j].a];
        redact_add(o, f[j].kind, b0 - (!r->spoken && b0 > 0 && s[b0 - 1] == '+'), r->end[f[j].b - 1]);
        covered = f[j].b;
    }
    r->n = 0;
    r->corr = 0;
    r->soft = false;
}
