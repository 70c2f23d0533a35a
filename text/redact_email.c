/* Personal-data masking, e-mail addresses: written, local@domain.tld (a
 * recognizer may put a space either side of the @), and spoken: the local
 * part spelled out (letter names and digits in Hangul) or in Latin letters
 * and digits, with dots and fillers, then 골뱅이, 앳 or at, then a host (a
 * mail service by name, any Latin or Hangul word) and its labels after 닷,
 * 점, 쩜 or dot (에이비씨 골뱅이 네이버 닷컴, kim 골뱅이 gmail.com, minsu at
 * gmail dot com). */
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "sori/text.h"
#include "text/redact_internal.h"

/* ---- e-mail addresses ---- */

static bool email_char(unsigned char c, bool domain)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
           (!domain && (c == '_' || c == '+' || c == '%'));
}

/* written: local@domain.tld (a recognizer may put a space either side of the @) */
void redact_find_emails(const unsigned char *s, size_t n, spans *o)
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
            redact_add(o, SORI_PII_EMAIL, a, b);
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
        if (L < n && !redact_digit_suffix(s + L, n - L))
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

void redact_find_spoken_emails(const unsigned char *s, size_t n, spans *o)
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
            redact_add(o, SORI_PII_EMAIL, first, de); /* kim 골뱅이 gmail.com */
            continue;
        }
        bool stop;
        size_t L = email_label(s + d, de - d, true, &stop), end = d + L;
        const bool host = L > 0;
        if (!L && redact_is_hangul(redact_u8dec(s + d, de - d, &(int){0})))
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
            redact_add(o, SORI_PII_EMAIL, first, end);
        i = e - 1;
    }
}
