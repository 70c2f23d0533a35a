/* Hanja words read in Hangul for sori_tn (text/hanja.h), through the Hanja
 * table of libhangul-data (hanja.txt, BSD-3; Debian's libhangul-data puts it
 * in /usr/share/libhangul/hanja/). The table is read once, on the first
 * Hanja sori_tn meets, from $SORI_HANJA_TABLE or that path; without it Hanja
 * stays as written.
 *
 * hanja.txt has lines "reading:hanja:gloss", one per reading: 女 has 녀
 * ("계집 녀") and 여, its form at a word's start (두음법칙); 樂 has 낙 락 악
 * 요. Kept: keys of ideographs only (U+3400-U+9FFF, U+F900-U+FAFF, three
 * UTF-8 bytes each) read as as many Hangul syllables, one reading per key:
 *   one character  the syllable its first gloss ends with (녀, 락, 륙: the
 *                  dictionary form), or the first reading;
 *   a word         the reading equal to its characters' forms one by one
 *                  with 두음법칙 on the first (先生: 선생, not 선상), else the
 *                  first (十月: 시월).
 * Compatibility ideographs (U+F900-U+FAD9: 不 written as U+F967) are read as
 * the unified ones they stand for (text/hanja_compat.h). A run of Hanja is read word by word, longest match first (up to 8
 * characters); a character no word covers takes its own reading, with
 * 두음법칙 where it begins a word (李 → 이 after a space, 리 after Hanja or
 * Hangul). Every character becomes one syllable of three bytes: the output
 * has the input's length. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text/hanja.h"
#include "text/hanja_compat.h"
#include "text/text_util.h"

#define HANJA_DEFAULT_TABLE "/usr/share/libhangul/hanja/hanja.txt"
enum { HANJA_MAX_WORD = 8 };

typedef struct {
    char *arena;      /* "key\0reading\0" records */
    uint32_t *index;  /* offsets of the records, sorted by key */
    size_t n;
} hanja_table;

static hanja_table g_table;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

/* CJK ideographs sori reads: U+3400-U+4DBF, U+4E00-U+9FFF, U+F900-U+FAFF */
static bool is_hanja(unsigned cp)
{
    return (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0xF900 && cp <= 0xFAFF);
}

/* the count of code points of s[0, n) that pass is(), or -1 if any does not */
static int count_all(const char *s, size_t n, bool (*is)(unsigned))
{
    int c = 0;
    for (size_t i = 0; i < n;) {
        unsigned cp;
        const int k = text_utf8_next((const unsigned char *)s + i, n - i, &cp);
        if (!k || k != 3 || !is(cp))
            return -1;
        i += 3, c++;
    }
    return c;
}

/* 두음법칙 on one syllable: ㄹ → ㅇ before ㅣ and the j-vowels, ㄹ → ㄴ elsewhere; ㄴ → ㅇ before them */
static unsigned initial_law(unsigned cp)
{
    if (!text_is_syllable(cp))
        return cp;
    const unsigned x = cp - 0xAC00, l = x / 588, v = (x % 588) / 28, t = x % 28;
    const bool iy = v == 2 || v == 3 || v == 6 || v == 7 || v == 12 || v == 17 || v == 20;
    unsigned nl = l;
    if (l == 5)
        nl = iy ? 11 : 2;
    else if (l == 2 && iy)
        nl = 11;
    return 0xAC00 + (nl * 21 + v) * 28 + t;
}

typedef struct {
    const char *key, *reading, *gloss;
    size_t key_len, reading_len, gloss_len;
    size_t line; /* order in the file */
} raw_entry;

static int raw_cmp(const void *a, const void *b)
{
    const raw_entry *x = a, *y = b;
    const size_t n = x->key_len < y->key_len ? x->key_len : y->key_len;
    const int c = memcmp(x->key, y->key, n);
    if (c)
        return c;
    if (x->key_len != y->key_len)
        return x->key_len < y->key_len ? -1 : 1;
    return x->line < y->line ? -1 : x->line > y->line;
}

static bool same_key(const raw_entry *a, const raw_entry *b)
{
    return a->key_len == b->key_len && memcmp(a->key, b->key, a->key_len) == 0;
}

/* a single character's dictionary reading: the syllable its first gloss ends with */
static bool gloss_reading(const raw_entry *e, unsigned *out)
{
    size_t end = 0;
    while (end < e->gloss_len && e->gloss[end] != ',')
        end++;
    while (end > 0 && e->gloss[end - 1] == ' ')
        end--;
    if (end < 3)
        return false;
    const unsigned cp = text_get3(e->gloss + end - 3);
    if (!text_is_syllable(cp) || (end > 3 && e->gloss[end - 4] != ' '))
        return false;
    *out = cp;
    return true;
}

static const raw_entry *find_raw(const raw_entry *r, size_t n, const char *key, size_t len)
{
    size_t lo = 0, hi = n;
    while (lo < hi) { /* the first entry with this key */
        const size_t mid = (lo + hi) / 2;
        const size_t m = r[mid].key_len < len ? r[mid].key_len : len;
        int c = memcmp(r[mid].key, key, m);
        if (!c)
            c = r[mid].key_len < len ? -1 : r[mid].key_len > len;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && r[lo].key_len == len && memcmp(r[lo].key, key, len) == 0 ? &r[lo] : NULL;
}

/* one character's reading from the raw entries (its group starts at g) */
static bool char_reading(const raw_entry *r, size_t n, const raw_entry *g, unsigned *out)
{
    for (const raw_entry *e = g; e < r + n && same_key(e, g); e++)
        if (gloss_reading(e, out))
            return true;
    *out = text_get3(g->reading);
    return true;
}

/* got differs from the characters' own readings (want, n bytes) only as 속음 do: an initial ㄴ
 * or ㅇ said ㄹ (곤난 → 곤란, 대노 → 대로, 허낙 → 허락) or a final dropped (십월 → 시월, 목과 → 모과) */
static bool customary(const char *want, const char *got, size_t n)
{
    bool differs = false;
    for (size_t c = 0; c < n; c += 3) {
        const unsigned a = text_get3(want + c) - 0xAC00, b = text_get3(got + c) - 0xAC00;
        if (a == b)
            continue;
        const unsigned la = a / 588, lb = b / 588, va = (a % 588) / 28, vb = (b % 588) / 28, ta = a % 28, tb = b % 28;
        const bool to_r = c > 0 && va == vb && ta == tb && (la == 2 || la == 11) && lb == 5;
        const bool dropped = la == lb && va == vb && ta != 0 && tb == 0;
        if (!to_r && !dropped)
            return false;
        differs = true;
    }
    return differs;
}

static void load_table(void)
{
    const char *path = getenv("SORI_HANJA_TABLE");
    FILE *f = fopen(path && *path ? path : HANJA_DEFAULT_TABLE, "rb");
    if (!f)
        return;
    char *text = NULL;
    raw_entry *raw = NULL;
    size_t size = 0, n = 0, cap = 0;
    if (fseek(f, 0, SEEK_END) == 0) {
        const long s = ftell(f);
        if (s > 0 && s < (1L << 28) && fseek(f, 0, SEEK_SET) == 0 && (text = malloc((size_t)s + 1)) != NULL)
            size = fread(text, 1, (size_t)s, f);
    }
    fclose(f);
    if (!text)
        return;
    text[size] = 0;
    for (size_t i = 0, line = 0; i < size; line++) { /* "reading:hanja:gloss" lines */
        size_t e = i;
        while (e < size && text[e] != '\n')
            e++;
        const char *a = text + i, *c1 = memchr(a, ':', e - i), *c2 = c1 ? memchr(c1 + 1, ':', (size_t)(text + e - c1 - 1)) : NULL;
        i = e + 1;
        if (*a == '#' || !c2)
            continue;
        raw_entry r = {c1 + 1, a, c2 + 1, (size_t)(c2 - c1 - 1), (size_t)(c1 - a), (size_t)(text + e - c2 - 1), line};
        while (r.gloss_len > 0 && (r.gloss[r.gloss_len - 1] == '\r' || r.gloss[r.gloss_len - 1] == ' '))
            r.gloss_len--;
        const int nk = count_all(r.key, r.key_len, is_hanja);
        if (nk < 1 || nk > HANJA_MAX_WORD || count_all(r.reading, r.reading_len, text_is_syllable) != nk)
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 1 << 16;
            raw_entry *g = realloc(raw, cap * sizeof *raw);
            if (!g)
                goto done;
            raw = g;
        }
        raw[n++] = r;
    }
    if (n == 0) /* no line of the file is a table's */
        goto done;
    qsort(raw, n, sizeof *raw, raw_cmp);
    size_t keys = 0, bytes = 0;
    for (size_t i = 0; i < n; i++)
        if (i == 0 || !same_key(&raw[i], &raw[i - 1]))
            keys++, bytes += 2 * raw[i].key_len + 2;
    hanja_table t = {malloc(bytes ? bytes : 1), malloc((keys ? keys : 1) * sizeof(uint32_t)), 0};
    if (!t.arena || !t.index || bytes >= UINT32_MAX) {
        free(t.arena);
        free(t.index);
        goto done;
    }
    size_t at = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && same_key(&raw[j], &raw[i]))
            j++;
        const size_t kl = raw[i].key_len;
        char want[3 * HANJA_MAX_WORD];
        const raw_entry *pick = &raw[i];
        if (kl == 3) {
            unsigned cp;
            char_reading(raw, n, &raw[i], &cp);
            text_put3(want, cp);
            pick = NULL;
        } else {
            bool ok = true; /* the characters' own readings, 두음법칙 on the first */
            for (size_t c = 0; c < kl && ok; c += 3) {
                const raw_entry *g = find_raw(raw, n, raw[i].key + c, 3);
                unsigned cp = 0;
                ok = g && char_reading(raw, n, g, &cp);
                text_put3(want + c, c == 0 ? initial_law(cp) : cp);
            }
            for (size_t k = i; ok && k < j; k++)
                if (memcmp(raw[k].reading, want, kl) == 0)
                    pick = &raw[k];
            for (size_t k = i; ok && k < j; k++) /* a customary reading beside it wins: 困難 곤란, 十月 시월 */
                if (customary(want, raw[k].reading, kl))
                    pick = &raw[k];
        }
        t.index[t.n++] = (uint32_t)at;
        memcpy(t.arena + at, raw[i].key, kl);
        t.arena[at + kl] = 0;
        memcpy(t.arena + at + kl + 1, pick ? pick->reading : want, kl);
        t.arena[at + 2 * kl + 1] = 0;
        at += 2 * kl + 2;
        i = j;
    }
    g_table = t;
done:
    free(raw);
    free(text);
}

/* the reading of the key s[0, len) (len bytes of Hanja), or NULL */
static const char *lookup(const char *s, size_t len)
{
    size_t lo = 0, hi = g_table.n;
    while (lo < hi) {
        const size_t mid = (lo + hi) / 2;
        const char *k = g_table.arena + g_table.index[mid];
        const size_t kl = strlen(k), m = kl < len ? kl : len;
        int c = memcmp(k, s, m);
        if (!c)
            c = kl < len ? -1 : kl > len;
        if (!c)
            return k + kl + 1;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* whether the table could be read (loaded on the first call) */
static bool hanja_available(void)
{
    pthread_once(&g_once, load_table);
    return g_table.n > 0;
}

size_t text_hanja_read(const unsigned char *s, size_t len, size_t i, char *out)
{
    char key[3 * HANJA_MAX_WORD]; /* the Hanja from i, at most a word's worth, compatibility forms unified */
    size_t run = 0;
    unsigned cp;
    while (run < 3 * HANJA_MAX_WORD && i + run < len && text_utf8_next(s + i + run, len - i - run, &cp) == 3 &&
           is_hanja(cp)) {
        if (cp >= HANJA_COMPAT_FIRST && cp <= HANJA_COMPAT_LAST && HANJA_COMPAT[cp - HANJA_COMPAT_FIRST])
            cp = HANJA_COMPAT[cp - HANJA_COMPAT_FIRST];
        text_put3(key + run, cp); /* (three-byte UTF-8, as a syllable is) */
        run += 3;
    }
    if (!run || !hanja_available()) /* the table is read on the first Hanja, not on the first text */
        return 0;
    for (size_t k = run; k >= 3; k -= 3) {
        const char *r = lookup(key, k);
        if (!r)
            continue;
        memcpy(out, r, k);
        if (k == 3) { /* a character alone: 두음법칙 where it begins a word */
            unsigned prev = ' ';
            if (i > 0) { /* the code point before i (the text is valid UTF-8) */
                size_t p = i - 1;
                while (p > 0 && (s[p] & 0xC0) == 0x80)
                    p--;
                text_utf8_next(s + p, i - p, &prev);
            }
            if (!text_is_syllable(prev) && !is_hanja(prev))
                text_put3(out, initial_law(text_get3(r)));
        }
        return k;
    }
    return 0;
}
