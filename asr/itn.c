/* Transcripts in written form (sori/asr.h: sori_asr_result_itn over
 * sori/text.h: sori_itn): the text, each segment's text and N-best list
 * rewritten, and the words realigned so each written word keeps the times
 * of the spoken words it came from.
 *
 * Words are rewritten a segment at a time (the words of no segment as a
 * run of their own): the words joined by spaces go through sori_itn, the
 * output's space-separated tokens are matched back to the words (a word
 * left as it was anchors the alignment; between two anchors, the spoken
 * words and the written tokens share the span's times in order), and the
 * segments' word ranges follow. */
#include <stdlib.h>
#include <string.h>

#include "asr_impl.h"
#include "sori/text.h"

/* *s in written form (a new string when it changed) */
static sori_status itn_string(char **s, unsigned flags, sori_error *err)
{
    if (!*s || !**s)
        return SORI_OK;
    const size_t len = strlen(*s), cap = 2 * len + 64;
    char *out = malloc(cap);
    size_t n = 0;
    if (!out)
        return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "asr itn: out of memory");
    const sori_status st = sori_itn_with(*s, len, flags, out, cap, &n, err);
    if (st != SORI_OK || !strcmp(out, *s)) {
        free(out);
        return st;
    }
    free(*s);
    *s = out;
    return SORI_OK;
}

typedef struct {
    sori_asr_word *w;
    int n, cap;
} word_list;

static sori_status push_word(word_list *l, const char *text, size_t len, double a, double b, float conf,
                             sori_error *err)
{
    if (l->n == l->cap) {
        const int cap = l->cap ? 2 * l->cap : 16;
        sori_asr_word *p = realloc(l->w, (size_t)cap * sizeof *p);
        if (!p)
            return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "asr itn: out of memory");
        l->w = p, l->cap = cap;
    }
    char *t = malloc(len + 1);
    if (!t)
        return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "asr itn: out of memory");
    memcpy(t, text, len);
    t[len] = 0;
    l->w[l->n++] = (sori_asr_word){t, a, b, conf};
    return SORI_OK;
}

/* the words w[a, b) (spoken) against tokens tok[c, d) (written): each token gets an equal
 * share of the span's time, in order; its confidence the lowest of the words it overlaps */
static sori_status share(word_list *l, const sori_asr_word *w, int a, int b, const char *const *tok,
                         const size_t *tl, int c, int d, sori_error *err)
{
    if (d <= c)
        return SORI_OK;
    const double t0 = b > a ? w[a].start_s : (a > 0 ? w[a - 1].end_s : 0.0);
    const double t1 = b > a ? w[b - 1].end_s : t0;
    for (int k = c; k < d; k++) {
        float conf = 1.0f;
        if (b > a) {
            const int wa = a + (int)((long)(k - c) * (b - a) / (d - c));
            int wb = a + (int)((long)(k - c + 1) * (b - a) / (d - c));
            if (wb <= wa)
                wb = wa + 1;
            for (int i = wa; i < wb && i < b; i++)
                conf = w[i].confidence < conf ? w[i].confidence : conf;
        }
        const double x0 = t0 + (t1 - t0) * (k - c) / (d - c), x1 = t0 + (t1 - t0) * (k - c + 1) / (d - c);
        sori_status st = push_word(l, tok[k], tl[k], x0, x1, conf, err);
        if (st != SORI_OK)
            return st;
    }
    return SORI_OK;
}

static bool same(const sori_asr_word *w, const char *tok, size_t tl)
{
    return w->text && strlen(w->text) == tl && !memcmp(w->text, tok, tl);
}

enum { LOOK = 12 }; /* how far a changed stretch may reach, in words or tokens */

/* the words w[a, b) rewritten into l */
static sori_status run_words(word_list *l, const sori_asr_word *w, int a, int b, unsigned flags, sori_error *err)
{
    if (b <= a)
        return SORI_OK;
    size_t len = 0;
    for (int i = a; i < b; i++)
        len += (w[i].text ? strlen(w[i].text) : 0) + 1;
    char *joined = malloc(len + 1), *out = malloc(2 * len + 64);
    const char **tok = malloc((2 * len + 64) * sizeof *tok);
    size_t *tl = malloc((2 * len + 64) * sizeof *tl);
    sori_status st = SORI_OK;
    if (!joined || !out || !tok || !tl) {
        st = sori_fail(err, SORI_ERR_NO_MEMORY, 0, "asr itn: out of memory");
        goto done;
    }
    size_t at = 0;
    for (int i = a; i < b; i++) {
        const char *t = w[i].text ? w[i].text : "";
        while (*t == ' ')
            t++;
        const size_t n = strlen(t);
        if (at)
            joined[at++] = ' ';
        memcpy(joined + at, t, n);
        at += n;
    }
    joined[at] = 0;
    size_t n_out = 0;
    if ((st = sori_itn_with(joined, at, flags, out, 2 * len + 64, &n_out, err)) != SORI_OK)
        goto done;
    int nt = 0;
    for (size_t i = 0; i < n_out;) {
        while (i < n_out && out[i] == ' ')
            i++;
        const size_t s0 = i;
        while (i < n_out && out[i] != ' ')
            i++;
        if (i > s0)
            tok[nt] = out + s0, tl[nt++] = i - s0;
    }
    /* words and tokens side by side: equal ones anchor; a changed stretch runs to the
     * nearest pair of an equal word and token after it */
    int i = a, j = 0;
    while (st == SORI_OK && (i < b || j < nt)) {
        if (i < b && j < nt && same(&w[i], tok[j], tl[j])) {
            st = push_word(l, tok[j], tl[j], w[i].start_s, w[i].end_s, w[i].confidence, err);
            i++, j++;
            continue;
        }
        int bi = b, bj = nt, best = 1 << 30;
        for (int di = 0; di <= LOOK && i + di <= b; di++)
            for (int dj = 0; dj <= LOOK && j + dj <= nt; dj++) {
                if (di + dj >= best || (di == 0 && dj == 0))
                    continue;
                const int x = i + di, y = j + dj;
                if (x == b && y == nt) {
                    if (di + dj < best)
                        best = di + dj, bi = x, bj = y;
                    continue;
                }
                if (x < b && y < nt && same(&w[x], tok[y], tl[y]))
                    best = di + dj, bi = x, bj = y;
            }
        st = share(l, w, i, bi, tok, tl, j, bj, err);
        i = bi, j = bj;
    }
done:
    free(joined);
    free(out);
    free(tok);
    free(tl);
    return st;
}

sori_status sori_asr_result_itn(sori_asr_result *r, unsigned flags, sori_error *err)
{
    if (!r)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "asr itn: NULL result");
    sori_status st = itn_string(&r->text, flags, err);
    for (int g = 0; st == SORI_OK && g < r->n_segments; g++) {
        st = itn_string(&r->segments[g].text, flags, err);
        for (int k = 0; st == SORI_OK && k < r->segments[g].n_nbest; k++)
            st = itn_string(&r->segments[g].nbest_text[k], flags, err);
    }
    if (st != SORI_OK || r->n_words == 0)
        return st;
    /* the words, a segment's at a time; where each old word index lands */
    int *starts = calloc((size_t)r->n_words + 1, sizeof *starts), *map = malloc(((size_t)r->n_words + 1) * sizeof *map);
    word_list l = {0};
    if (!starts || !map) {
        free(starts);
        free(map);
        return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "asr itn: out of memory");
    }
    starts[0] = starts[r->n_words] = 1;
    for (int g = 0; g < r->n_segments; g++) {
        const int a = r->segments[g].first_word, b = a + r->segments[g].n_words;
        if (a >= 0 && a <= r->n_words)
            starts[a] = 1;
        if (b >= 0 && b <= r->n_words)
            starts[b] = 1;
    }
    for (int a = 0; a < r->n_words && st == SORI_OK;) {
        int b = a + 1;
        while (b < r->n_words && !starts[b])
            b++;
        map[a] = l.n;
        st = run_words(&l, r->words, a, b, flags, err);
        a = b;
    }
    map[r->n_words] = l.n;
    if (st != SORI_OK) {
        for (int k = 0; k < l.n; k++)
            free(l.w[k].text);
        free(l.w);
        free(starts);
        free(map);
        return st;
    }
    for (int g = 0; g < r->n_segments; g++) {
        sori_asr_segment *s = &r->segments[g];
        const int a = s->first_word, b = a + s->n_words;
        if (a >= 0 && b <= r->n_words && s->n_words >= 0) {
            s->first_word = map[a];
            s->n_words = map[b] - map[a];
        }
    }
    for (int k = 0; k < r->n_words; k++)
        free(r->words[k].text);
    free(r->words);
    r->words = l.w;
    r->n_words = l.n;
    free(starts);
    free(map);
    return SORI_OK;
}
