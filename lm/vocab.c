/* The tokenizer of llama.cpp GGUF language models (lm/vocab.h). */
#include "lm/vocab.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"
#include "lm/bpe.h"

struct sori_vocab {
    int32_t n;
    const char **text;
    int32_t *len;
    float *score;
    uint8_t *type;
    int32_t bos, eos, unk;
    bool add_bos, add_space_prefix;
    int32_t byte_tok[256]; /* <0xXX> tokens, -1 if absent */
    /* text -> id: open addressing, a power of two of slots, -1 empty */
    int32_t *slots;
    uint32_t mask;
    /* special tokens (control, user-defined, unknown), longest first */
    int32_t *special;
    int32_t n_special;
    /* byte-level BPE vocabularies (tokenizer.ggml.model "gpt2"); NULL: SentencePiece-style */
    sori_bpe *bpe;
    sori_bpe_pre pre;
    /* tokens that end a generation: EOS, EOT, EOM and the end-of-turn tokens
     * found by their text (llama.cpp's list) */
    int32_t eog[16];
    int n_eog;
};

static uint32_t hash_bytes(const char *s, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)s[i]) * 16777619u;
    return h;
}

int32_t sori_vocab_find(const sori_vocab *v, const char *text, size_t len)
{
    for (uint32_t i = hash_bytes(text, len) & v->mask;; i = (i + 1) & v->mask) {
        const int32_t id = v->slots[i];
        if (id < 0)
            return -1;
        if ((size_t)v->len[id] == len && memcmp(v->text[id], text, len) == 0)
            return id;
    }
}

/* The byte of a "<0xHH>" token (two hex digits, nothing else), or -1. */
static int byte_token_value(const char *s, size_t n)
{
    if (n != 6 || memcmp(s, "<0x", 3) != 0 || s[5] != '>')
        return -1;
    int v = 0;
    for (int i = 3; i < 5; i++) {
        const char c = s[i];
        const int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0)
            return -1;
        v = v * 16 + d;
    }
    return v;
}

static int cmp_special(const void *a, const void *b, void *ctx)
{
    const sori_vocab *v = ctx;
    const int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return v->len[x] != v->len[y] ? v->len[y] - v->len[x] : x - y;
}

/* qsort_r is not C11: a small merge sort with a context */
static void sort_special(sori_vocab *v, int32_t *a, int32_t *tmp, int32_t n)
{
    if (n < 2)
        return;
    const int32_t h = n / 2;
    sort_special(v, a, tmp, h);
    sort_special(v, a + h, tmp, n - h);
    int32_t i = 0, j = h, k = 0;
    while (i < h && j < n)
        tmp[k++] = cmp_special(&a[j], &a[i], v) < 0 ? a[j++] : a[i++];
    while (i < h)
        tmp[k++] = a[i++];
    while (j < n)
        tmp[k++] = a[j++];
    memcpy(a, tmp, (size_t)n * sizeof *a);
}

void sori_vocab_free(sori_vocab *v)
{
    if (!v)
        return;
    free(v->text);
    free(v->len);
    free(v->score);
    free(v->type);
    free(v->slots);
    free(v->special);
    sori_bpe_free(v->bpe);
    free(v);
}

#define VFAIL(...) sori_fail(err, SORI_ERR_FORMAT, 0, __VA_ARGS__)

/* A byte-level BPE vocabulary: the tokens in GPT-2's byte alphabet (the
 * special ones as text), merged lowest id first as tiktoken does. That is
 * the file's merge order only when its merges produce tokens in increasing
 * id order (true of tiktoken-derived vocabularies: Llama 3, Qwen): checked
 * here, and a file whose merges disagree is refused. */
static sori_status load_bpe(const sori_gguf *g, sori_vocab *v, sori_bpe_pre pre, sori_error *err)
{
    uint8_t *special = malloc((size_t)v->n);
    if (!special)
        return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "tokenizer: out of memory");
    for (int32_t i = 0; i < v->n; i++)
        special[i] = v->type[i] != SORI_TOK_NORMAL && v->type[i] != SORI_TOK_BYTE;
    sori_status st = sori_bpe_create_special(v->text, v->n, special, &v->bpe, err);
    free(special);
    if (st != SORI_OK)
        return st;
    v->pre = pre;
    sori_gguf_type et;
    uint64_t nm = 0;
    if (sori_gguf_get_arr_info(g, "tokenizer.ggml.merges", &et, &nm) != SORI_OK)
        return SORI_OK; /* no merges: the ids are the ranks */
    if (et != SORI_GGUF_STRING)
        return VFAIL("tokenizer: tokenizer.ggml.merges is not strings");
    int32_t last = -1;
    char buf[512];
    for (uint64_t i = 0; i < nm; i++) {
        const char *m = NULL;
        sori_gguf_get_arr_str(g, "tokenizer.ggml.merges", i, &m);
        const char *sp = m ? strchr(m, ' ') : NULL;
        const size_t a = sp ? (size_t)(sp - m) : 0, b = sp ? strlen(sp + 1) : 0;
        if (!sp || a + b >= sizeof buf)
            return VFAIL("tokenizer: merge %llu ('%.40s') is not two pieces", (unsigned long long)i, m ? m : "");
        memcpy(buf, m, a);
        memcpy(buf + a, sp + 1, b);
        const int32_t id = sori_vocab_find(v, buf, a + b);
        if (id < 0)
            return VFAIL("tokenizer: merge %llu ('%.40s') makes no token", (unsigned long long)i, m);
        if (id <= last)
            return sori_fail(err, SORI_ERR_UNSUPPORTED, 0,
                             "tokenizer: merge %llu ('%.40s') makes token %d after token %d: merges out of token "
                             "order are not supported",
                             (unsigned long long)i, m, id, last);
        last = id;
    }
    return SORI_OK;
}

sori_status sori_vocab_load(const sori_gguf *g, sori_vocab **out, sori_error *err)
{
    *out = NULL;
    const char *model = NULL;
    if (sori_gguf_get_str(g, "tokenizer.ggml.model", &model) != SORI_OK)
        return VFAIL("tokenizer: no tokenizer.ggml.model key");
    const bool bpe = strcmp(model, "gpt2") == 0;
    sori_bpe_pre pre = SORI_BPE_PRE_GPT2;
    if (!bpe && strcmp(model, "llama") != 0)
        return sori_fail(err, SORI_ERR_UNSUPPORTED, 0,
                         "tokenizer: model '%s' is not supported (SentencePiece-style 'llama' and byte-level BPE "
                         "'gpt2' vocabularies are)",
                         model);
    if (bpe) {
        const char *p = "gpt-2";
        sori_gguf_get_str(g, "tokenizer.ggml.pre", &p);
        if (strcmp(p, "llama-bpe") == 0 || strcmp(p, "llama3") == 0 || strcmp(p, "smaug-bpe") == 0)
            pre = SORI_BPE_PRE_LLAMA3;
        else if (strcmp(p, "qwen2") == 0)
            pre = SORI_BPE_PRE_QWEN2;
        else if (strcmp(p, "gpt-2") != 0)
            return sori_fail(err, SORI_ERR_UNSUPPORTED, 0,
                             "tokenizer: pre-tokenizer '%s' is not supported (gpt-2, llama-bpe, qwen2)", p);
    }
    sori_gguf_type et;
    uint64_t n = 0, ns = 0, nt = 0;
    if (sori_gguf_get_arr_info(g, "tokenizer.ggml.tokens", &et, &n) != SORI_OK || et != SORI_GGUF_STRING || n < 1 ||
        n > (1u << 24))
        return VFAIL("tokenizer: tokenizer.ggml.tokens missing, not strings, or of %llu entries", (unsigned long long)n);
    if (!bpe && (sori_gguf_get_arr_info(g, "tokenizer.ggml.scores", &et, &ns) != SORI_OK || ns != n))
        return VFAIL("tokenizer: tokenizer.ggml.scores missing or not one per token");
    if (sori_gguf_get_arr_info(g, "tokenizer.ggml.token_type", &et, &nt) != SORI_OK || nt != n)
        return VFAIL("tokenizer: tokenizer.ggml.token_type missing or not one per token");
    sori_vocab *v = calloc(1, sizeof *v);
    if (!v)
        return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "tokenizer: out of memory");
    v->n = (int32_t)n;
    uint32_t cap = 1;
    while (cap < 2 * n)
        cap <<= 1;
    v->mask = cap - 1;
    v->text = malloc(n * sizeof *v->text);
    v->len = malloc(n * sizeof *v->len);
    v->score = malloc(n * sizeof *v->score);
    v->type = malloc(n);
    v->slots = malloc((size_t)cap * sizeof *v->slots);
    int64_t *types = malloc(n * sizeof *types);
    v->special = malloc(n * sizeof *v->special);
    int32_t *tmp = malloc(n * sizeof *tmp);
    sori_status st = SORI_OK;
    if (!v->text || !v->len || !v->score || !v->type || !v->slots || !types || !v->special || !tmp) {
        st = sori_fail(err, SORI_ERR_NO_MEMORY, 0, "tokenizer: out of memory");
        goto done;
    }
    if (bpe)
        memset(v->score, 0, n * sizeof *v->score);
    if ((!bpe && sori_gguf_get_arr_f32(g, "tokenizer.ggml.scores", v->score, n) != SORI_OK) ||
        sori_gguf_get_arr_i64(g, "tokenizer.ggml.token_type", types, n) != SORI_OK) {
        st = VFAIL("tokenizer: scores or token types of the wrong type");
        goto done;
    }
    memset(v->slots, 0xff, (size_t)cap * sizeof *v->slots);
    for (int i = 0; i < 256; i++)
        v->byte_tok[i] = -1;
    for (int32_t id = 0; id < v->n; id++) {
        sori_gguf_get_arr_str(g, "tokenizer.ggml.tokens", (uint64_t)id, &v->text[id]);
        v->len[id] = (int32_t)strlen(v->text[id]);
        if (types[id] < 1 || types[id] > 6) {
            st = VFAIL("tokenizer: token %d has type %lld (1..6 expected)", id, (long long)types[id]);
            goto done;
        }
        v->type[id] = (uint8_t)types[id];
        uint32_t i = hash_bytes(v->text[id], (size_t)v->len[id]) & v->mask;
        bool dup = false;
        for (; v->slots[i] >= 0; i = (i + 1) & v->mask)
            if (v->len[v->slots[i]] == v->len[id] && memcmp(v->text[v->slots[i]], v->text[id], (size_t)v->len[id]) == 0)
                dup = true;
        if (!dup) /* the first of duplicate texts wins, as in llama.cpp */
            v->slots[i] = id;
        int b;
        if (v->type[id] == SORI_TOK_BYTE && (b = byte_token_value(v->text[id], (size_t)v->len[id])) >= 0)
            v->byte_tok[b] = id;
        if ((v->type[id] == SORI_TOK_CONTROL || v->type[id] == SORI_TOK_USER_DEFINED ||
             v->type[id] == SORI_TOK_UNKNOWN) && v->len[id] > 0)
            v->special[v->n_special++] = id;
    }
    sort_special(v, v->special, tmp, v->n_special);
    if (bpe && (st = load_bpe(g, v, pre, err)) != SORI_OK)
        goto done;
    int64_t x;
    bool b;
    v->bos = sori_gguf_get_int(g, "tokenizer.ggml.bos_token_id", &x) == SORI_OK && x >= 0 && x < v->n ? (int32_t)x : -1;
    v->eos = sori_gguf_get_int(g, "tokenizer.ggml.eos_token_id", &x) == SORI_OK && x >= 0 && x < v->n ? (int32_t)x : -1;
    v->unk = sori_gguf_get_int(g, "tokenizer.ggml.unknown_token_id", &x) == SORI_OK && x >= 0 && x < v->n ? (int32_t)x
                                                                                                         : -1;
    v->add_bos = sori_gguf_get_bool(g, "tokenizer.ggml.add_bos_token", &b) == SORI_OK ? b : true;
    v->add_space_prefix = sori_gguf_get_bool(g, "tokenizer.ggml.add_space_prefix", &b) == SORI_OK ? b : true;
    {
        static const char *const keys[] = {"tokenizer.ggml.eos_token_id", "tokenizer.ggml.eot_token_id",
                                           "tokenizer.ggml.eom_token_id"};
        static const char *const texts[] = {"<|eot_id|>",   "<|im_end|>", "<|end|>", "<end_of_turn>",
                                            "<|endoftext|>", "<|eom_id|>", "<EOT>",   "_<EOT>",
                                            "<|end_of_text|>", "<end_of_utterance>", "[|endofturn|]"};
        for (size_t k = 0; k < sizeof keys / sizeof *keys + sizeof texts / sizeof *texts; k++) {
            int32_t id = -1;
            if (k < sizeof keys / sizeof *keys)
                id = sori_gguf_get_int(g, keys[k], &x) == SORI_OK && x >= 0 && x < v->n ? (int32_t)x : -1;
            else
                id = sori_vocab_find(v, texts[k - sizeof keys / sizeof *keys],
                                     strlen(texts[k - sizeof keys / sizeof *keys]));
            if (id < 0 || sori_vocab_is_eog(v, id) || v->n_eog == (int)(sizeof v->eog / sizeof *v->eog))
                continue;
            v->eog[v->n_eog++] = id;
        }
    }
done:
    free(types);
    free(tmp);
    if (st != SORI_OK) {
        sori_vocab_free(v);
        return st;
    }
    *out = v;
    return SORI_OK;
}

int32_t sori_vocab_size(const sori_vocab *v)
{
    return v->n;
}

int32_t sori_vocab_bos(const sori_vocab *v)
{
    return v->bos;
}

int32_t sori_vocab_eos(const sori_vocab *v)
{
    return v->eos;
}

bool sori_vocab_is_eog(const sori_vocab *v, int32_t id)
{
    for (int i = 0; i < v->n_eog; i++)
        if (v->eog[i] == id)
            return true;
    return false;
}

bool sori_vocab_add_bos(const sori_vocab *v)
{
    return v->add_bos;
}

/* ---- SentencePiece-style merging -------------------------------------------------- */

typedef struct {
    int prev, next;
    int start, n; /* bytes of the escaped text; n 0 once merged away */
} sym;

typedef struct {
    float score;
    int left, size;
} bigram;

/* a max-heap: higher score first, then the leftmost */
static bool bigram_before(const bigram *a, const bigram *b)
{
    return a->score > b->score || (a->score == b->score && a->left < b->left);
}

typedef struct {
    bigram *a;
    int n, cap;
} heap;

static bool heap_push(heap *h, bigram b)
{
    if (h->n == h->cap) {
        int cap = h->cap ? 2 * h->cap : 64;
        bigram *a = realloc(h->a, (size_t)cap * sizeof *a);
        if (!a)
            return false;
        h->a = a;
        h->cap = cap;
    }
    int i = h->n++;
    while (i > 0 && bigram_before(&b, &h->a[(i - 1) / 2])) {
        h->a[i] = h->a[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h->a[i] = b;
    return true;
}

static bigram heap_pop(heap *h)
{
    bigram top = h->a[0], last = h->a[--h->n];
    int i = 0;
    for (;;) {
        int c = 2 * i + 1;
        if (c >= h->n)
            break;
        if (c + 1 < h->n && bigram_before(&h->a[c + 1], &h->a[c]))
            c++;
        if (!bigram_before(&h->a[c], &last))
            break;
        h->a[i] = h->a[c];
        i = c;
    }
    h->a[i] = last;
    return top;
}

typedef struct {
    int32_t *out;
    int cap, n;
} tok_out;

static void emit(tok_out *o, int32_t id)
{
    if (o->n < o->cap)
        o->out[o->n] = id;
    o->n++;
}

static bool try_bigram(const sori_vocab *v, const char *s, const sym *sy, int l, int r, heap *h)
{
    if (l < 0 || r < 0)
        return true;
    const int32_t id = sori_vocab_find(v, s + sy[l].start, (size_t)(sy[l].n + sy[r].n));
    if (id < 0)
        return true;
    return heap_push(h, (bigram){v->score[id], l, sy[l].n + sy[r].n});
}

static int utf8_len(uint8_t c)
{
    return c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
}

/* One fragment of plain text (no special tokens in it). */
static sori_status spm_fragment(const sori_vocab *v, const char *text, size_t len, bool space_prefix, tok_out *o,
                                sori_error *err)
{
    /* escaped text: spaces as U+2581 (3 bytes) */
    size_t cap = 3 * len + 3;
    char *s = malloc(cap);
    sym *sy = malloc((cap + 1) * sizeof *sy);
    heap h = {0};
    sori_status st = SORI_OK;
    if (!s || !sy) {
        st = sori_fail(err, SORI_ERR_NO_MEMORY, 0, "tokenizer: out of memory");
        goto done;
    }
    size_t m = 0;
    if (space_prefix) {
        memcpy(s, "\xe2\x96\x81", 3);
        m = 3;
    }
    for (size_t i = 0; i < len; i++) {
        if (text[i] == ' ') {
            memcpy(s + m, "\xe2\x96\x81", 3);
            m += 3;
        } else {
            s[m++] = text[i];
        }
    }
    int n = 0;
    for (size_t i = 0; i < m;) {
        int l = utf8_len((uint8_t)s[i]);
        if ((size_t)l > m - i)
            l = (int)(m - i);
        sy[n] = (sym){n - 1, -1, (int)i, l};
        if (n > 0)
            sy[n - 1].next = n;
        n++;
        i += (size_t)l;
    }
    for (int i = 1; i < n; i++)
        if (!try_bigram(v, s, sy, i - 1, i, &h)) {
            st = sori_fail(err, SORI_ERR_NO_MEMORY, 0, "tokenizer: out of memory");
            goto done;
        }
    while (h.n > 0) {
        const bigram b = heap_pop(&h);
        sym *l = &sy[b.left];
        if (l->n == 0 || l->next < 0)
            continue;
        sym *r = &sy[l->next];
        if (l->n + r->n != b.size) /* one side has changed since */
            continue;
        l->n += r->n;
        r->n = 0;
        l->next = r->next;
        if (r->next >= 0)
            sy[r->next].prev = b.left;
        if (!try_bigram(v, s, sy, l->prev, b.left, &h) || !try_bigram(v, s, sy, b.left, l->next, &h)) {
            st = sori_fail(err, SORI_ERR_NO_MEMORY, 0, "tokenizer: out of memory");
            goto done;
        }
    }
    for (int i = 0; n > 0 && i >= 0; i = sy[i].next) {
        if (sy[i].n == 0)
            continue;
        const int32_t id = sori_vocab_find(v, s + sy[i].start, (size_t)sy[i].n);
        if (id >= 0) {
            emit(o, id);
            continue;
        }
        for (int k = 0; k < sy[i].n; k++) { /* byte fallback */
            const int32_t bt = v->byte_tok[(uint8_t)s[sy[i].start + k]];
            emit(o, bt >= 0 ? bt : v->unk);
        }
    }
done:
    free(s);
    free(sy);
    free(h.a);
    return st;
}

sori_status sori_vocab_tokenize(const sori_vocab *v, const char *text, size_t len, bool add_bos,
                                bool parse_special, int32_t *out, int cap, int *n, sori_error *err)
{
    tok_out o = {out, cap, 0};
    if (add_bos && v->bos >= 0)
        emit(&o, v->bos);
    /* cut special tokens out, leftmost occurrence of the longest first: scan left to right and at each
     * position take the longest special token that starts there */
    size_t frag = 0;
    bool first = true;
    sori_status st = SORI_OK;
    for (size_t i = 0; i <= len && st == SORI_OK; i++) {
        int32_t hit = -1;
        if (i < len)
            for (int32_t k = 0; k < v->n_special; k++) {
                const int32_t id = v->special[k];
                if (!parse_special && v->type[id] != SORI_TOK_USER_DEFINED)
                    continue;
                if ((size_t)v->len[id] <= len - i && memcmp(text + i, v->text[id], (size_t)v->len[id]) == 0) {
                    hit = id;
                    break;
                }
            }
        if (hit < 0 && i < len)
            continue;
        if (i > frag && v->bpe) {
            int got = 0;
            st = sori_bpe_encode_pre(v->bpe, v->pre, text + frag, i - frag, o.cap > o.n ? o.out + o.n : NULL,
                                     o.cap > o.n ? o.cap - o.n : 0, &got, err);
            o.n += got;
        } else if (i > frag) {
            st = spm_fragment(v, text + frag, i - frag, first && v->add_space_prefix, &o, err);
        }
        first = false;
        if (hit >= 0) {
            emit(&o, hit);
            i += (size_t)v->len[hit] - 1;
            frag = i + 1;
        }
    }
    *n = o.n;
    if (st == SORI_OK && o.n > cap)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "tokenizer: %d tokens do not fit in %d", o.n, cap);
    return st;
}

int sori_vocab_piece(const sori_vocab *v, int32_t id, bool special, char *buf, int cap)
{
    if (id < 0 || id >= v->n)
        return 0;
    const uint8_t t = v->type[id];
    int n = 0;
    if (v->bpe) {
        if ((t == SORI_TOK_CONTROL || t == SORI_TOK_UNKNOWN) && !special)
            return 0;
        int len = 0;
        const uint8_t *b = sori_bpe_bytes(v->bpe, id, &len);
        if (b && cap > 0)
            memcpy(buf, b, (size_t)(len < cap ? len : cap));
        return b ? len : 0;
    }
    if (t == SORI_TOK_BYTE) {
        const int b = byte_token_value(v->text[id], (size_t)v->len[id]);
        if (b < 0) /* a byte token whose text is not <0xHH> stands for nothing */
            return 0;
        if (cap > 0)
            buf[0] = (char)b;
        return 1;
    }
    if ((t == SORI_TOK_CONTROL || t == SORI_TOK_UNKNOWN) && !special)
        return 0;
    const char *s = v->text[id];
    for (int i = 0; i < v->len[id];) {
        if (v->len[id] - i >= 3 && memcmp(s + i, "\xe2\x96\x81", 3) == 0 && t != SORI_TOK_USER_DEFINED) {
            if (n < cap)
                buf[n] = ' ';
            n++;
            i += 3;
        } else {
            if (n < cap)
                buf[n] = s[i];
            n++;
            i++;
        }
    }
    return n;
}
