/* Latin letters, domains and e-mail addresses read aloud for sori_tn
 * (text/tn.c): upper-case words of up to five letters spelled (KTX →
 * 케이티엑스, R&D → 알앤디); @ → 골뱅이; the dots of domains and file names →
 * 닷, a domain's last label and the second-level co ac go or ne spelled,
 * com → 컴, net → 넷, app → 앱, file extensions spelled (.jpg → 닷
 * 제이피지). */
#include <stdbool.h>
#include <string.h>

#include "text/tn_internal.h"

static const char *const LETTER[26] = {"에이", "비", "씨", "디", "이", "에프", "지", "에이치", "아이",
                                       "제이", "케이", "엘", "엠", "엔", "오", "피", "큐", "알",
                                       "에스", "티", "유", "브이", "더블유", "엑스", "와이", "제트"};

/* ---- Latin letters, domains, e-mail ----------------------------------------------------- */

static void spell(tn *t, size_t b, size_t e)
{
    for (size_t i = b; i < e; i++) {
        const unsigned c = t->s[i];
        if ((c | 0x20) == 'v' && i > b && (t->s[i - 1] | 0x20) == 't')
            put(t, "비"); /* TV is 티비 */
        else if (is_alpha_c(c))
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
size_t tn_dots_at(tn *t, size_t i)
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

/* acronyms and abbreviations said as a word, not letter by letter (any case: NASA, nasa, Nasa) */
static const struct { const char *w, *say; } SAID_AS_WORDS[] = {
    {"nasa", "나사"},     {"nato", "나토"},     {"fifa", "피파"},   {"unesco", "유네스코"}, {"unicef", "유니세프"},
    {"opec", "오펙"},     {"asean", "아세안"},  {"apec", "에이펙"}, {"covid", "코비드"},    {"aids", "에이즈"},
    {"sars", "사스"},     {"mers", "메르스"},   {"jpeg", "제이펙"}, {"gif", "지아이에프"},  {"wifi", "와이파이"},
    {"kaist", "카이스트"}, {"unist", "유니스트"}, {"gist", "지스트"}, {"postech", "포스텍"}, {"json", "제이슨"},
    {"ios", "아이오에스"}, {"email", "이메일"},  {"nasdaq", "나스닥"}, {"kospi", "코스피"},  {"kosdaq", "코스닥"}};

/* the letters s[i, p) are no part of an address: nothing joins them to a domain or e-mail */
static bool in_address(const tn *t, size_t i, size_t p)
{
    return (i > 0 && (t->s[i - 1] == '@' || t->s[i - 1] == '.' || t->s[i - 1] == '/')) ||
           (p < t->len && (t->s[p] == '@' || t->s[p] == '.' || t->s[p] == '/') && is_alnum(t, p + 1));
}

/* a whole word of letters at i said as a word (SAID_AS_WORDS) or, in lower case, a unit alone;
 * returns its end or 0 */
static size_t word_at(tn *t, size_t i)
{
    size_t p = i;
    while (is_alpha(t, p))
        p++;
    if (is_digit(t, p) || in_address(t, i, p))
        return 0;
    for (size_t k = 0; k < sizeof SAID_AS_WORDS / sizeof *SAID_AS_WORDS; k++)
        if (same_ci(t, i, p, SAID_AS_WORDS[k].w)) {
            put(t, SAID_AS_WORDS[k].say);
            return p;
        }
    return tn_say_unit_word(t, i, p) ? p : 0;
}

/* upper-case words of 1-5 letters (and & inside: R&D) spelled, and lower-case ones of 2-5
 * letters without a vowel (cctv, sns); www before a dot too */
size_t tn_letters_at(tn *t, size_t i)
{
    if (i > 0 && is_alnum(t, i - 1))
        return 0;
    if (at(t, i, "www.")) {
        put(t, "더블유더블유더블유");
        return i + 3;
    }
    const size_t w = word_at(t, i);
    if (w)
        return w;
    if (!is_upper(t, i)) { /* lower case: 2-5 letters without a vowel are no English word (cctv, sns, pc) */
        size_t p = i;
        while (is_alpha(t, p) && p - i <= 5 && !strchr("aeiouyAEIOUY", t->s[p]))
            p++;
        if (p - i < 2 || p - i > 5 || is_alpha(t, p) || in_address(t, i, p)) /* e-mail and domain labels stay (msn.it) */
            return 0;
        spell(t, i, p);
        return p;
    }
    size_t p = i;
    while (is_upper(t, p) || (p + 1 < t->len && t->s[p] == '&' && is_upper(t, p + 1)))
        p++;
    if (p - i > 5 || is_alpha(t, p))
        return 0;
    spell(t, i, p);
    return p;
}
