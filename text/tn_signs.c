/* Signs and dots for sori_tn (text/tn.c): numbers joined by middle dots
 * (6·25 → 육이오, 3·1절 → 삼일절, 1·2차 → 일이차) and signs standing alone
 * between words (3 + 4 = 7 → 삼 더하기 사는 칠; + & % → 플러스, 앤, 퍼센트). */
#include <stdbool.h>
#include <string.h>

#include "text/text_util.h"
#include "text/tn_internal.h"

/* a middle dot (· ・ ‧ ㆍ) at p: its length, else 0 */
static int middot_at(const tn *t, size_t p)
{
    return at(t, p, "·") ? 2 : at(t, p, "・") || at(t, p, "‧") || at(t, p, "ㆍ") ? 3 : 0;
}

/* Numbers of one or two digits joined by middle dots: dates that name events (6·25 → 육이오,
 * 3·1절 → 삼일절, 4·19 → 사일구, 12·12 → 십이십이) and lists (1·2차 → 일이차): the first as a
 * number, each later one as a number up to 12 and digit by digit above (25 → 이오) */
size_t tn_middot_numbers_at(tn *t, size_t i)
{
    if (!token_start(t, i))
        return 0;
    size_t b[4], e[4];
    int n = 0;
    size_t p = i;
    for (;;) {
        b[n] = p;
        e[n] = digits_from(t, p);
        if (e[n] == p || e[n] - p > 2)
            return 0;
        p = e[n++];
        const int d = middot_at(t, p);
        if (n == 4 || !d || !is_digit(t, p + (size_t)d))
            break;
        p += (size_t)d;
    }
    if (n < 2 || is_alnum(t, p) || middot_at(t, p) || tn_native_counter(t, p))
        return 0;
    for (int k = 0; k < n; k++) {
        if (k == 0 || tn_value_of(t, b[k], e[k]) <= 12)
            tn_say_sino(t, b[k], e[k]);
        else
            tn_say_digits(t, b[k], e[k], zero(t));
    }
    return tn_particle(t, p);
}

/* A sign standing alone between spaces (or the text's ends): between two numbers the
 * arithmetic's words (3 + 4 = 7 → 삼 더하기 사는 칠; = becomes the particle 은/는 on what
 * precedes), else + → 플러스, & → 앤, % → 퍼센트. */
size_t tn_sign_at(tn *t, size_t i)
{
    static const struct { const char *sign, *math, *alone; } SIGNS[] = {
        {"+", "더하기", "플러스"}, {"-", "빼기", NULL}, {"×", "곱하기", NULL}, {"÷", "나누기", NULL},
        {"=", "", NULL},          {"&", NULL, "앤"},     {"%", NULL, "퍼센트"}};
    for (size_t k = 0; k < sizeof SIGNS / sizeof *SIGNS; k++) {
        const size_t n = strlen(SIGNS[k].sign);
        if (!at(t, i, SIGNS[k].sign) || (i > 0 && t->s[i - 1] != ' ') || (i + n < t->len && t->s[i + n] != ' '))
            continue;
        size_t b = i, e = i + n;
        while (b > 0 && t->s[b - 1] == ' ')
            b--;
        while (e < t->len && t->s[e] == ' ')
            e++;
        const bool math = b > 0 && is_digit(t, b - 1) && (is_digit(t, e) || at(t, e, "-") || at(t, e, "√"));
        if (math && SIGNS[k].math && !*SIGNS[k].math) { /* = : 은/는 on the number before, then a space */
            if (t->o.len > t->o.cap) /* only counted: the spaces copied from the input */
                t->o.len -= i - b < t->o.len ? i - b : t->o.len;
            while (t->o.len > 0 && t->o.len <= t->o.cap && t->o.buf[t->o.len - 1] == ' ')
                t->o.len--;
            const int fin = text_last_final(t->o.buf, t->o.len < t->o.cap ? t->o.len : 0);
            put(t, fin > 0 ? "은" : "는");
            return i + n;
        }
        const char *say = math ? SIGNS[k].math : SIGNS[k].alone;
        if (!say)
            return 0;
        put(t, say);
        return i + n;
    }
    return 0;
}
