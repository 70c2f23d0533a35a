/* Spoken numbers to written form (sori/text.h: sori_itn): inverse text
 * normalization as NeMo's Korean grammars write it (nemo_text_processing/
 * inverse_text_normalization/ko; tests/test_itn.c runs its test cases):
 *   cardinals   Sino-Korean numerals with 십 백 천 and 만 억 조 경
 *               (삼만오천칠백 → 35700, 만천 → 11000, 마이너스 일 → -1);
 *   decimals    …점 + digits (일점영삼 → 1.03; a large unit after them stays:
 *               일점오억 → 1.5억);
 *   money       a number and 원 달러 불 유로 엔 위안 파운드 (오천 원 → ₩5000);
 *   telephone   digits read one by one, groups split by 에 or a space
 *               (공일공에일이삼사에오육칠팔 → 010-1234-5678);
 *   zeros       영 before a number reads as a digit of its own (영영백이십삼
 *               → 0 0 123);
 *   dates       year 년, month 월 (유월, 시월), day 일, written without the
 *               spaces (이천이십삼년 구월 오일 → 2023년9월5일, 오월 → 5월);
 *   times       a native hour and 시, minutes (분, 반), seconds (초), 전 or
 *               후 after them (두시 반 → 2:30, 두시 오초 → 2:00:05,
 *               두시십분후 → 2:10 후); 오전/오후 stay words;
 *   ordinals    native or Sino-Korean numerals and 번째 (첫번째 → 1번째,
 *               스물두번째 → 22번째, 오십삼번째 → 53번째);
 *   measures    a number and a unit of NeMo's measure_units.tsv (오 킬로미터
 *               → 5 km, 영하 십 도 → -10 °, 백 킬로미터퍼시간 → 100 km/h);
 *   fractions   A분의B → B/A, a whole part before 과/와, 루트 → √
 *               (일과이분의일 → 1 1/2, 마이너스오분의루트이십오 → -√25/5).
 * The whole text is read as freely as NeMo's cases are. Inside a sentence
 * only what cannot be an ordinary word is converted: a number word holds a
 * place-value syllable or at least two digit syllables (일이 "work +
 * particle", a lone 오 or 사 stay); an hour's 시 ends the word or comes
 * before minutes, seconds or a time particle (두시간, 한시름, 한시도, 두시면
 * "if you put it" stay); a month alone is not 이월 ("carried over"); a year
 * alone has two syllables or more (이년, 천년 stay); a day follows its month;
 * a unit that is also a word (도, 톤, 평, 볼트, 프로 …) stands as a word of
 * its own after a clear number, or 도 after 영하, and 기가, 메가, 줄 only as
 * the whole text; 이분의 일 ("this person's work") stays unless written as
 * one word. Native numerals alone (하나, 둘) are left, and so are minutes or
 * seconds without an hour (삼십 분: NeMo's "30 min" reads badly in Korean).
 * Nothing is written longer than twice the bytes it replaces (일경, 조사
 * "survey" stay), the whole text at most 63 bytes more, so the output fits
 * 2 × len + 64 bytes.
 * This file is the pass over the text: the whole text as a telephone number
 * (digit groups split by 에 or spaces), then word by word a sign (마이너스, -),
 * the classes read over several words (itn_words.c: dates, times, ordinals,
 * fractions, measures), a number (itn_number.c: cardinals, decimals, digits,
 * a telephone number over words; 삼만 오천 joined at 만) and a currency after
 * it; text/itn_internal.h is what they share. */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "kernels/kernels.h"
#include "sori/text.h"
#include "text/itn_internal.h"

static const struct { const char *word, *sign; } CURRENCIES[] = {
    {"원", "₩"}, {"달러", "$"}, {"불", "$"}, {"유로", "€"}, {"엔", "¥"}, {"위안", "¥"}, {"파운드", "£"}};

sori_status sori_itn_parse_options(const char *list, unsigned *flags, sori_error *err)
{
    static const struct { const char *name; unsigned flag; } NAMES[] = {
        {"currency-word", SORI_ITN_CURRENCY_WORD}, {"thousands", SORI_ITN_THOUSANDS},
        {"keep-cardinal", SORI_ITN_KEEP_CARDINAL}, {"keep-money", SORI_ITN_KEEP_MONEY},
        {"keep-phone", SORI_ITN_KEEP_PHONE},       {"keep-date", SORI_ITN_KEEP_DATE},
        {"keep-time", SORI_ITN_KEEP_TIME},         {"keep-ordinal", SORI_ITN_KEEP_ORDINAL},
        {"keep-fraction", SORI_ITN_KEEP_FRACTION}, {"keep-measure", SORI_ITN_KEEP_MEASURE},
        {"korean", SORI_ITN_CURRENCY_WORD | SORI_ITN_THOUSANDS}};
    if (!list || !flags)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "itn options: NULL argument");
    unsigned f = 0;
    for (const char *p = list; *p;) {
        const char *e = strchr(p, ',');
        const size_t n = e ? (size_t)(e - p) : strlen(p);
        size_t k = 0;
        while (k < sizeof NAMES / sizeof *NAMES && !(strlen(NAMES[k].name) == n && !memcmp(NAMES[k].name, p, n)))
            k++;
        if (k == sizeof NAMES / sizeof *NAMES)
            return sori_fail(err, SORI_ERR_INVALID_ARG, 0,
                             "itn options: unknown '%.*s' (currency-word, thousands, korean, keep-cardinal, "
                             "keep-money, keep-phone, keep-date, keep-time, keep-ordinal, keep-fraction, "
                             "keep-measure)",
                             (int)(n > 40 ? 40 : n), p);
        f |= NAMES[k].flag;
        p += n + (e != NULL);
    }
    *flags = f;
    return SORI_OK;
}

sori_status sori_itn(const char *text, size_t len, char *out, size_t cap, size_t *out_len, sori_error *err)
{
    return sori_itn_with(text, len, 0, out, cap, out_len, err);
}

sori_status sori_itn_with(const char *text, size_t len, unsigned flags, char *out, size_t cap, size_t *out_len,
                          sori_error *err)
{
    if ((!text && len) || !out_len || (cap > 0 && !out))
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "itn: NULL argument");
    *out_len = 0;
    const unsigned char *s = (const unsigned char *)text;
    for (size_t i = 0; i < len;) {
        unsigned cp;
        const int k = itn_u8dec(s + i, len - i, &cp);
        if (!k)
            return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "itn: invalid UTF-8 at byte %zu", i);
        i += (size_t)k;
    }
    sink o = {out, cap, 0, flags};
    /* the whole text as a telephone number: digit groups split by 에 or spaces */
    {
        char digits[32];
        int nd = 0, ng = 0, glen[8] = {0};
        bool ok = len > 0;
        for (size_t i = 0; i < len && ok;) {
            unsigned cp;
            const int k = itn_u8dec(s + i, len - i, &cp);
            i += (size_t)k;
            const int d = itn_digit_of(cp);
            if (d >= 0 && nd < 31) {
                digits[nd++] = (char)('0' + d);
                glen[ng]++;
            } else if ((cp == ' ' || cp == 0xC5D0 /* 에 */) && glen[ng] > 0 && ng < 7) {
                ng++;
            } else if (cp != ' ') {
                ok = false;
            }
        }
        const int groups = glen[ng] > 0 ? ng + 1 : ng;
        if (!(flags & SORI_ITN_KEEP_PHONE) && ok && groups >= 2 && nd >= 9 && nd <= 12 && digits[0] == '0') {
            for (int g = 0, at = 0; g < groups; g++) {
                if (g)
                    itn_put(&o, "-", 1);
                itn_put(&o, digits + at, (size_t)glen[g]);
                at += glen[g];
            }
            goto done;
        }
    }
    /* word by word: a sign word, dates, times, ordinals, fractions, measures, numbers (a unit
     * or particle may follow), currencies */
    const char *minus = "";
    size_t from = 0;               /* where the words being read began: a sign word's start */
    bool sign_only_before = false; /* the words before this one are only a sign (- 일, 마이너스 일) */
    for (size_t i = 0; i < len;) {
        if (!*minus)
            from = i;
        {
            const size_t mark = o.len;
            itn_put(&o, text + from, i - from); /* a sign word before a phone number stays a word */
            const size_t after = (flags & SORI_ITN_KEEP_PHONE) ? 0 : itn_phone_words(s, len, i, &o);
            if (after) {
                i = after;
                minus = "";
                if (i < len) {
                    itn_put(&o, " ", 1);
                    i++;
                }
                continue;
            }
            o.len = mark;
        }
        size_t e = i;
        while (e < len && s[e] != ' ')
            e++;
        unsigned c[WORD_CP];
        int n = itn_decode_word(s + i, e - i, c, WORD_CP);
        /* a number written apart at 만 억 조 경 (삼만 오천 원, 이억 오천만): one number */
        for (int64_t v0; n >= 2 && e < len && itn_big_unit(c[n - 1]) && itn_cardinal(c, n, &v0);) {
            size_t e2 = e + 1;
            while (e2 < len && s[e2] != ' ')
                e2++;
            unsigned d[WORD_CP];
            const int m = itn_decode_word(s + e + 1, e2 - e - 1, d, WORD_CP);
            int p = 0;
            while (p < m && (itn_digit_of(d[p]) >= 0 || itn_small_unit(d[p]) || itn_big_unit(d[p])) && d[p] != 0xACF5)
                p++;
            int64_t v1;
            if (m <= 0 || p == 0 || n + m > WORD_CP || !itn_cardinal(d, p, &v1) || v1 >= itn_big_unit(c[n - 1]) ||
                (p == 1 && !itn_small_unit(d[0]) && m == 1))
                break;
            memcpy(c + n, d, (size_t)m * sizeof *d);
            n += m;
            e = e2;
        }
        const bool whole = (i == 0 || sign_only_before) && e == len;
        bool done_word = false;
        if (n > 0) {
            /* 마이너스 / - before a number */
            if ((e - i == strlen("마이너스") && !memcmp(s + i, "마이너스", e - i)) || (e - i == 1 && s[i] == '-')) {
                if (e < len && !*minus) {
                    minus = "-";
                    sign_only_before = i == 0;
                    i = e + 1;
                    continue;
                }
            }
            /* dates, times, ordinals, fractions, measures: never longer than twice what they
             * replace (the whole text: 63 bytes more) */
            {
                word w[LOOK];
                const int nw = itn_load_words(s, len, i, w, LOOK);
                const bool at_start = i == 0 || sign_only_before;
                const size_t mark = o.len;
                int read = 0;
                if (!*minus && !(flags & SORI_ITN_KEEP_DATE))
                    read = itn_date_words(s, w, nw, at_start, len, &o);
                if (!*minus && !read && !(flags & SORI_ITN_KEEP_TIME))
                    read = itn_time_words(s, w, nw, &o);
                if (!*minus && !read && !(flags & SORI_ITN_KEEP_ORDINAL))
                    read = itn_ordinal_word(s, &w[0], &o);
                if (!read && !(flags & SORI_ITN_KEEP_FRACTION))
                    read = itn_fraction_words(s, w, nw, at_start, len, minus, &o);
                if (!read && !(flags & SORI_ITN_KEEP_MEASURE))
                    read = itn_measure_words(s, w, nw, at_start, len, minus, &o);
                if (read) {
                    const size_t end = w[read - 1].e, room = 2 * (end - from) + (at_start && end == len ? 63 : 0);
                    if (o.len - mark <= room) {
                        i = end;
                        done_word = true;
                    }
                }
                if (!done_word)
                    o.len = mark;
            }
        }
        if (n > 0 && !done_word) {
            const bool starts_minus = e - i > strlen("마이너스") && !memcmp(s + i, "마이너스", strlen("마이너스"));
            const unsigned *w = c;
            int wn = n;
            const char *sign_word = minus;
            if (starts_minus && !*minus)
                w += 4, wn -= 4, sign_word = "-";
            /* a currency at the word's end, or as the next word */
            const char *sign = NULL, *cur_word = NULL;
            bool sign_inside = false; /* the currency in the same word (만원, 구천구백구십구원) */
            size_t next = e, rest = e; /* rest..next: a particle after a currency word (원이에요) */
            for (size_t k = 0; k < sizeof CURRENCIES / sizeof *CURRENCIES && !sign; k++) {
                unsigned cc[4];
                const int cn =
                    itn_decode_word((const unsigned char *)CURRENCIES[k].word, strlen(CURRENCIES[k].word), cc, 4);
                if (wn > cn && !memcmp(w + wn - cn, cc, (size_t)cn * sizeof(unsigned)))
                    sign = CURRENCIES[k].sign, cur_word = CURRENCIES[k].word, wn -= cn, sign_inside = true;
                else if (e < len) {
                    size_t e2 = e + 1;
                    while (e2 < len && s[e2] != ' ')
                        e2++;
                    const size_t cl = strlen(CURRENCIES[k].word);
                    if (e2 - e - 1 >= cl && !memcmp(s + e + 1, CURRENCIES[k].word, cl) &&
                        (e2 - e - 1 == cl ||
                         itn_particle(s + e + 1 + cl, e2 - e - 1 - cl))) /* 원, or 원 and a particle */
                        sign = CURRENCIES[k].sign, cur_word = CURRENCIES[k].word, next = e2, rest = e + 1 + cl;
                }
            }
            sink trial = o;
            const size_t mark = o.len;
            const bool word_style = (flags & SORI_ITN_CURRENCY_WORD) != 0;
            itn_puts(&trial, sign_word);
            if (sign && !word_style)
                itn_puts(&trial, sign);
            /* 영원 "eternity", 구원 "salvation", 일원 "a member": one syllable and 원 in one word is
             * money only as the whole text */
            const bool money_ok = sign && !(sign_inside && wn < 2 && !whole);
            const bool kept = sign ? (flags & SORI_ITN_KEEP_MONEY) != 0 : (flags & SORI_ITN_KEEP_CARDINAL) != 0;
            if (!kept && wn > 0 && !(sign && !money_ok) && itn_number_text(w, wn, whole || money_ok, &trial)) {
                if (sign && word_style) /* 35000원, 15달러 */
                    itn_puts(&trial, cur_word);
                if (rest < next)
                    itn_put(&trial, text + rest, next - rest);
                /* inside a sentence no longer than twice the words (일경 stays) */
                if (trial.len - mark <= 2 * (next - from) + ((i == 0 || sign_only_before) && next == len ? 63 : 0)) {
                    o = trial;
                    done_word = true;
                    i = next;
                }
            }
            if (!done_word)
                o.len = mark;
        }
        if (!done_word) {
            if (*minus && s[from] != '-' && i < e && s[i] >= '0' && s[i] <= '9') /* 마이너스 4% → -4% */
                from = i, itn_put(&o, "-", 1);
            itn_put(&o, text + from, e - from); /* a sign word that led to no number stays: 마이너스 통장 */
            i = e;
        }
        minus = "";
        sign_only_before = false;
        if (i < len) {
            itn_put(&o, " ", 1);
            i++;
        }
    }
done:
    *out_len = o.len;
    if (o.len >= cap) {
        if (cap > 0)
            out[0] = 0;
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "itn: %zu bytes do not fit a buffer of %zu", o.len, cap);
    }
    out[o.len] = 0;
    return SORI_OK;
}
