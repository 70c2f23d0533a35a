#define _POSIX_C_SOURCE 200809L
/* Byte-level BPE: the vocabulary decoded to bytes once, an open-addressing
 * hash from byte strings to ids, GPT-2's pre-tokenizer and tiktoken's
 * lowest-rank-first merging. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"
#include "lm/bpe.h"

struct sori_bpe {
    int n, n_regular;
    uint8_t *special; /* per token: never produced by merging (NULL: ids from n_regular on) */
    uint8_t *bytes;   /* every token's bytes, back to back */
    int64_t *off;     /* n + 1 offsets into bytes */
    uint32_t *slot;   /* hash: id + 1, 0 = empty */
    uint64_t mask;
    int byte_id[256]; /* the token of each single byte, -1 if none */
};

/* GPT-2's byte_to_unicode, inverted: code point -> byte, -1 if not one. */
static int cp_to_byte(uint32_t cp)
{
    if ((cp >= 33 && cp <= 126) || (cp >= 161 && cp <= 172) || (cp >= 174 && cp <= 255))
        return (int)cp;
    if (cp >= 256 && cp < 256 + 68) {
        /* the bytes that are not printable, in increasing order */
        int k = (int)cp - 256;
        for (int b = 0; b < 256; b++) {
            bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
            if (!printable && k-- == 0)
                return b;
        }
    }
    return -1;
}

/* Next code point of UTF-8 at s (len bytes left); its length in *k, or
 * -1 if malformed. */
static int64_t utf8_next(const uint8_t *s, size_t len, int *k)
{
    if (len == 0)
        return -1;
    uint8_t c = s[0];
    int n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n == 0 || (size_t)n > len)
        return -1;
    uint32_t cp = n == 1 ? c : n == 2 ? c & 0x1f : n == 3 ? c & 0x0f : c & 0x07;
    for (int i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return -1;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    static const uint32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return -1;
    *k = n;
    return cp;
}

static uint64_t hash_bytes(const uint8_t *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

static int lookup(const sori_bpe *b, const uint8_t *p, size_t n)
{
    for (uint64_t i = hash_bytes(p, n) & b->mask;; i = (i + 1) & b->mask) {
        uint32_t s = b->slot[i];
        if (!s)
            return -1;
        int id = (int)s - 1;
        if ((size_t)(b->off[id + 1] - b->off[id]) == n && !memcmp(b->bytes + b->off[id], p, n))
            return id;
    }
}

void sori_bpe_free(sori_bpe *b)
{
    if (!b)
        return;
    free(b->bytes);
    free(b->off);
    free(b->slot);
    free(b->special);
    free(b);
}

static sori_status create(const char *const *tokens, int n, int n_regular, const uint8_t *special, sori_bpe **out,
                          sori_error *err);

sori_status sori_bpe_create(const char *const *tokens, int n, int n_regular, sori_bpe **out,
                            sori_error *err)
{
    return create(tokens, n, n_regular, NULL, out, err);
}

sori_status sori_bpe_create_special(const char *const *tokens, int n, const uint8_t *special, sori_bpe **out,
                                    sori_error *err)
{
    if (!special)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "bpe: special is NULL");
    return create(tokens, n, n, special, out, err);
}

/* Is id a special token (kept as text, never merged into)? */
static bool is_special(const sori_bpe *b, int id)
{
    return id >= b->n_regular || (b->special && b->special[id]);
}

static sori_status create(const char *const *tokens, int n, int n_regular, const uint8_t *special, sori_bpe **out,
                          sori_error *err)
{
    if (!out)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "bpe: out is NULL");
    *out = NULL;
    if (!tokens || n < 1 || n > (1 << 24) || n_regular < 0 || n_regular > n)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "bpe: %d tokens (%d regular)", n, n_regular);
    sori_bpe *b = calloc(1, sizeof *b);
    size_t total = 0;
    for (int i = 0; i < n; i++) {
        if (!tokens[i])
            return sori_bpe_free(b), sori_fail(err, SORI_ERR_FORMAT, 0, "bpe: token %d is missing", i);
        total += strlen(tokens[i]);
    }
    uint64_t slots = 1;
    while (slots < (uint64_t)n * 2)
        slots <<= 1;
    if (b) {
        b->bytes = malloc(total + 1);
        b->off = malloc(((size_t)n + 1) * sizeof *b->off);
        b->slot = calloc(slots, sizeof *b->slot);
    }
    if (b && special && (b->special = malloc((size_t)n)) != NULL)
        memcpy(b->special, special, (size_t)n);
    if (!b || !b->bytes || !b->off || !b->slot || (special && !b->special))
        return sori_bpe_free(b), sori_fail(err, SORI_ERR_NO_MEMORY, 0, "bpe: out of memory");
    b->n = n;
    b->n_regular = n_regular;
    b->mask = slots - 1;
    for (int c = 0; c < 256; c++)
        b->byte_id[c] = -1;
    int64_t used = 0;
    for (int i = 0; i < n; i++) {
        const uint8_t *s = (const uint8_t *)tokens[i];
        size_t len = strlen(tokens[i]);
        b->off[i] = used;
        if (i >= n_regular || (special && special[i])) { /* special: its text as it is */
            memcpy(b->bytes + used, s, len);
            used += (int64_t)len;
            continue;
        }
        for (size_t p = 0; p < len;) {
            int k = 0;
            int64_t cp = utf8_next(s + p, len - p, &k);
            int byte = cp < 0 ? -1 : cp_to_byte((uint32_t)cp);
            if (byte < 0)
                return sori_bpe_free(b), sori_fail(err, SORI_ERR_FORMAT, 0,
                                                   "bpe: token %d ('%.40s') is not in the byte alphabet", i,
                                                   tokens[i]);
            b->bytes[used++] = (uint8_t)byte;
            p += (size_t)k;
        }
    }
    b->off[n] = used;
    for (int i = 0; i < n_regular; i++) {
        const uint8_t *p = b->bytes + b->off[i];
        size_t len = (size_t)(b->off[i + 1] - b->off[i]);
        if (len == 0 || is_special(b, i)) /* an unused id (Whisper's 50256) or a special: never produced */
            continue;
        if (lookup(b, p, len) >= 0)
            return sori_bpe_free(b), sori_fail(err, SORI_ERR_FORMAT, 0, "bpe: token %d ('%.40s') is a duplicate",
                                               i, tokens[i]);
        uint64_t h = hash_bytes(p, len) & b->mask;
        while (b->slot[h])
            h = (h + 1) & b->mask;
        b->slot[h] = (uint32_t)i + 1;
        if (len == 1)
            b->byte_id[p[0]] = i;
    }
    *out = b;
    return SORI_OK;
}

int sori_bpe_n_tokens(const sori_bpe *b) { return b ? b->n : 0; }

const uint8_t *sori_bpe_bytes(const sori_bpe *b, int id, int *len)
{
    if (!b || id < 0 || id >= b->n)
        return NULL;
    if (len)
        *len = (int)(b->off[id + 1] - b->off[id]);
    return b->bytes + b->off[id];
}

int sori_bpe_find(const sori_bpe *b, const char *token)
{
    if (!b || !token)
        return -1;
    size_t len = strlen(token);
    /* specials by their text; regular tokens through the alphabet */
    for (int i = 0; i < b->n; i++)
        if (is_special(b, i) && (size_t)(b->off[i + 1] - b->off[i]) == len &&
            !memcmp(b->bytes + b->off[i], token, len))
            return i;
    uint8_t buf[256];
    size_t n = 0;
    for (size_t p = 0; p < len;) {
        int k = 0;
        int64_t cp = utf8_next((const uint8_t *)token + p, len - p, &k);
        int byte = cp < 0 ? -1 : cp_to_byte((uint32_t)cp);
        if (byte < 0 || n == sizeof buf)
            return -1;
        buf[n++] = (uint8_t)byte;
        p += (size_t)k;
    }
    return lookup(b, buf, n);
}

/* ---- pre-tokenizer -------------------------------------------------------- */

static bool is_space(uint32_t c)
{
    return c == ' ' || (c >= 9 && c <= 13) || c == 0x85 || c == 0xa0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f || c == 0x205f ||
           c == 0x3000;
}

static bool is_number(uint32_t c)
{
    return (c >= '0' && c <= '9') || c == 0xb2 || c == 0xb3 || c == 0xb9 || (c >= 0xbc && c <= 0xbe) ||
           (c >= 0x660 && c <= 0x669) || (c >= 0x6f0 && c <= 0x6f9) || (c >= 0x966 && c <= 0x96f) ||
           (c >= 0xe50 && c <= 0xe59) || (c >= 0x2070 && c <= 0x2079) || (c >= 0x2080 && c <= 0x2089) ||
           (c >= 0x2150 && c <= 0x2189) || (c >= 0x2460 && c <= 0x249b) || c == 0x3007 ||
           (c >= 0x3021 && c <= 0x3029) || (c >= 0xff10 && c <= 0xff19);
}

static bool is_letter(uint32_t c)
{
    if (c < 0x80)
        return (c | 32) >= 'a' && (c | 32) <= 'z';
    if (c == 0xaa || c == 0xb5 || c == 0xba)
        return true;
    if (c >= 0xc0 && c <= 0x24f)
        return c != 0xd7 && c != 0xf7;
    return (c >= 0x250 && c <= 0x2c1) || (c >= 0x370 && c <= 0x3ff && c != 0x37e && c != 0x387) ||
           (c >= 0x400 && c <= 0x481) || (c >= 0x48a && c <= 0x52f) || (c >= 0x531 && c <= 0x587) ||
           (c >= 0x5d0 && c <= 0x5f2) || (c >= 0x620 && c <= 0x64a) || (c >= 0x671 && c <= 0x6d3) ||
           (c >= 0x904 && c <= 0x939) || (c >= 0xe01 && c <= 0xe30) || (c >= 0xe40 && c <= 0xe46) ||
           (c >= 0x10a0 && c <= 0x10ff) || (c >= 0x1100 && c <= 0x11ff) || (c >= 0x1e00 && c <= 0x1fff) ||
           (c >= 0x3041 && c <= 0x3096) || (c >= 0x309d && c <= 0x30ff && c != 0x30a0 && c != 0x30fb) ||
           (c >= 0x3105 && c <= 0x312f) || (c >= 0x3131 && c <= 0x318e) || (c >= 0x31f0 && c <= 0x31ff) ||
           (c >= 0x3400 && c <= 0x4dbf) || (c >= 0x4e00 && c <= 0x9fff) || (c >= 0xa960 && c <= 0xa97c) ||
           (c >= 0xac00 && c <= 0xd7a3) || (c >= 0xd7b0 && c <= 0xd7fb) || (c >= 0xf900 && c <= 0xfaff) ||
           (c >= 0xff21 && c <= 0xff3a) || (c >= 0xff41 && c <= 0xff5a) || (c >= 0xff66 && c <= 0xffdc) ||
           (c >= 0x20000 && c <= 0x3134f);
}

enum { CL_SPACE, CL_LETTER, CL_NUMBER, CL_OTHER };

static int cls(uint32_t c)
{
    return is_space(c) ? CL_SPACE : is_letter(c) ? CL_LETTER : is_number(c) ? CL_NUMBER : CL_OTHER;
}

/* Length in bytes of the piece that starts at s[0] (the pattern's first
 * alternative that matches, as a regex engine takes it). cps/len: the text's
 * code points and byte lengths from here, n of them. */
static int piece_len(const uint32_t *cp, const int *blen, int n)
{
    if (cp[0] == '\'' && n >= 2) {
        static const char *const contr[] = {"s", "t", "re", "ve", "m", "ll", "d"};
        for (int i = 0; i < 7; i++) {
            int L = (int)strlen(contr[i]);
            if (n >= 1 + L) {
                bool ok = true;
                for (int j = 0; j < L && ok; j++)
                    ok = cp[1 + j] == (uint32_t)contr[i][j];
                if (ok)
                    return 1 + L;
            }
        }
    }
    int start = cp[0] == ' ' && n >= 2 && cls(cp[1]) != CL_SPACE ? 1 : 0;
    int c = cls(cp[start]);
    if (c != CL_SPACE) {
        int e = start + 1;
        while (e < n && cls(cp[e]) == c)
            e++;
        return e;
    }
    /* \s+(?!\S): whitespace not followed by a non-space, i.e. all but the
     * last space when a non-space follows; else \s+ */
    int e = 0;
    while (e < n && cls(cp[e]) == CL_SPACE)
        e++;
    if (e < n && e > 1)
        return e - 1;
    (void)blen;
    return e;
}

static bool is_nl(uint32_t c)
{
    return c == '\r' || c == '\n';
}

static uint32_t lower_ascii(uint32_t c)
{
    return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

/* Llama 3's pattern (Qwen 2's with max_digits 1), as a backtracking regex
 * engine takes it: the first alternative that matches at cp[0]. */
static int piece_len_llama3(const uint32_t *cp, int n, int max_digits)
{
    /* (?i:'s|'t|'re|'ve|'m|'ll|'d) */
    if (cp[0] == '\'' && n >= 2) {
        static const char *const contr[] = {"s", "t", "re", "ve", "m", "ll", "d"};
        for (int i = 0; i < 7; i++) {
            const int L = (int)strlen(contr[i]);
            bool ok = n >= 1 + L;
            for (int j = 0; j < L && ok; j++)
                ok = lower_ascii(cp[1 + j]) == (uint32_t)contr[i][j];
            if (ok)
                return 1 + L;
        }
    }
    /* [^\r\n\p{L}\p{N}]?\p{L}+ */
    {
        int s = 0;
        if (!is_nl(cp[0]) && cls(cp[0]) != CL_LETTER && cls(cp[0]) != CL_NUMBER && n >= 2 && cls(cp[1]) == CL_LETTER)
            s = 1;
        if (cls(cp[s]) == CL_LETTER) {
            int e = s + 1;
            while (e < n && cls(cp[e]) == CL_LETTER)
                e++;
            return e;
        }
    }
    /* \p{N}{1,3} */
    if (cls(cp[0]) == CL_NUMBER) {
        int e = 1;
        while (e < n && e < max_digits && cls(cp[e]) == CL_NUMBER)
            e++;
        return e;
    }
    /* ' ?[^\s\p{L}\p{N}]+[\r\n]*' */
    {
        const int s = cp[0] == ' ' && n >= 2 && cls(cp[1]) == CL_OTHER ? 1 : 0;
        if (cls(cp[s]) == CL_OTHER) {
            int e = s + 1;
            while (e < n && cls(cp[e]) == CL_OTHER)
                e++;
            while (e < n && is_nl(cp[e]))
                e++;
            return e;
        }
    }
    /* cp[0] is white space here: the run of it */
    int e = 0;
    while (e < n && cls(cp[e]) == CL_SPACE)
        e++;
    /* \s*[\r\n]+: through the run's last newline, if it has one */
    for (int k = e - 1; k >= 0; k--)
        if (is_nl(cp[k]))
            return k + 1;
    /* \s+(?!\S): all but the last when a non-space follows, else all; \s+ for a lone one */
    if (e < n && e > 1)
        return e - 1;
    return e;
}

/* Merges the bytes of one piece; appends ids. */
static int merge_piece(const sori_bpe *b, const uint8_t *p, int len, int32_t *out, int max, int n_out)
{
    int whole = lookup(b, p, (size_t)len);
    if (whole >= 0 && !is_special(b, whole)) {
        if (n_out < max)
            out[n_out] = whole;
        return n_out + 1;
    }
    /* parts[i]: start of part i; parts[n] = len */
    int stack_parts[129], *parts = len < 128 ? stack_parts : malloc(((size_t)len + 1) * sizeof(int));
    if (!parts)
        return -1;
    int np = len;
    for (int i = 0; i <= len; i++)
        parts[i] = i;
    for (;;) {
        int best = -1, best_rank = 0;
        for (int i = 0; i + 1 < np; i++) {
            int r = lookup(b, p + parts[i], (size_t)(parts[i + 2] - parts[i]));
            if (r >= 0 && !is_special(b, r) && (best < 0 || r < best_rank))
                best = i, best_rank = r;
        }
        if (best < 0)
            break;
        memmove(parts + best + 1, parts + best + 2, (size_t)(np - best - 1) * sizeof(int));
        np--;
    }
    for (int i = 0; i < np; i++) {
        int id = lookup(b, p + parts[i], (size_t)(parts[i + 1] - parts[i]));
        if (id < 0 && parts[i + 1] - parts[i] == 1)
            id = b->byte_id[p[parts[i]]];
        if (id >= 0) { /* a byte without a token of its own is dropped */
            if (n_out < max)
                out[n_out] = id;
            n_out++;
        }
    }
    if (parts != stack_parts)
        free(parts);
    return n_out;
}

sori_status sori_bpe_encode(const sori_bpe *b, const char *text, int32_t *out, int max, int *n,
                            sori_error *err)
{
    return sori_bpe_encode_pre(b, SORI_BPE_PRE_GPT2, text, text ? strlen(text) : 0, out, max, n, err);
}

sori_status sori_bpe_encode_pre(const sori_bpe *b, sori_bpe_pre pre, const char *text, size_t len, int32_t *out,
                                int max, int *n, sori_error *err)
{
    if (!b || !text || !n || max < 0 || (max > 0 && !out))
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "bpe: bad argument");
    uint32_t *cp = malloc((len + 1) * sizeof *cp);
    int *blen = malloc((len + 1) * sizeof *blen);
    if (!cp || !blen) {
        free(cp), free(blen);
        return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "bpe: out of memory");
    }
    int ncp = 0;
    for (size_t p = 0; p < len;) {
        int k = 0;
        int64_t c = utf8_next((const uint8_t *)text + p, len - p, &k);
        if (c < 0) {
            free(cp), free(blen);
            return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "bpe: the text is not valid UTF-8 (byte %zu)", p);
        }
        cp[ncp] = (uint32_t)c;
        blen[ncp++] = k;
        p += (size_t)k;
    }
    int n_out = 0;
    size_t byte = 0;
    for (int i = 0; i < ncp && n_out >= 0;) {
        int L = pre == SORI_BPE_PRE_GPT2 ? piece_len(cp + i, blen + i, ncp - i)
                                         : piece_len_llama3(cp + i, ncp - i, pre == SORI_BPE_PRE_QWEN2 ? 1 : 3);
        size_t nb = 0;
        for (int j = 0; j < L; j++)
            nb += (size_t)blen[i + j];
        n_out = merge_piece(b, (const uint8_t *)text + byte, (int)nb, out, max, n_out);
        byte += nb;
        i += L;
    }
    free(cp), free(blen);
    if (n_out < 0)
        return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "bpe: out of memory");
    *n = n_out;
    return SORI_OK;
}

size_t sori_bpe_decode(const sori_bpe *b, const int32_t *ids, int n, char *buf, size_t cap)
{
    size_t need = buf && cap ? strnlen(buf, cap - 1) : 0, kept = need;
    for (int i = 0; b && ids && i < n; i++) {
        if (ids[i] < 0 || ids[i] >= b->n || is_special(b, ids[i]))
            continue;
        size_t L = (size_t)(b->off[ids[i] + 1] - b->off[ids[i]]);
        if (buf && kept == need && need + L < cap) {
            memcpy(buf + need, b->bytes + b->off[ids[i]], L);
            kept += L;
        }
        need += L;
    }
    if (buf && cap)
        buf[kept] = '\0';
    return need;
}
