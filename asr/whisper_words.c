/* Word timestamps for Whisper segments, as openai-whisper's timing.py:
 * the alignment heads' cross-attention over the window's text tokens,
 * normalised per frame over the tokens, median-filtered along time (width
 * 7), averaged over the heads, aligned to frames by dynamic time warping,
 * cut into words (at spaces, or at every character for languages written
 * without them), punctuation merged into its words, long words at pauses
 * and sentence ends trimmed to twice the median word. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "asr/whisper_transcribe.h"
#include "kernels/kernels.h"
#include "lm/bpe.h"

enum { MEDFILT = 7 };
#define TOKENS_PER_SECOND 50.0

typedef struct {
    char *word;      /* malloc'd */
    int n_tok;       /* its text tokens */
    double start, end;
    float prob;
} timing_t;

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return x < y ? -1 : x > y;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Median filter of width MEDFILT along rows of n values (reflect padding),
 * in place, with a scratch row; rows shorter than the half-width unchanged. */
static void median_rows(float *x, int64_t rows, int n, float *tmp)
{
    const int pad = MEDFILT / 2;
    if (n <= pad)
        return;
    for (int64_t r = 0; r < rows; r++) {
        float *row = x + r * n;
        memcpy(tmp, row, (size_t)n * sizeof(float));
        for (int i = 0; i < n; i++) {
            float w[MEDFILT];
            for (int k = 0; k < MEDFILT; k++) {
                int j = i - pad + k;
                if (j < 0)
                    j = -j;
                if (j >= n)
                    j = 2 * (n - 1) - j;
                w[k] = tmp[j];
            }
            qsort(w, MEDFILT, sizeof(float), cmp_float);
            row[i] = w[pad];
        }
    }
}

/* DTW over cost x [N, M]; the path's (row, col) pairs into ti/tj; their count. */
static int dtw(const float *x, int N, int M, int *ti, int *tj, float *cost, signed char *trace)
{
    const int W = M + 1;
    for (int64_t i = 0; i < (int64_t)(N + 1) * W; i++) {
        cost[i] = INFINITY;
        trace[i] = -1;
    }
    cost[0] = 0.0f;
    for (int j = 1; j <= M; j++)
        for (int i = 1; i <= N; i++) {
            float c0 = cost[(i - 1) * W + j - 1], c1 = cost[(i - 1) * W + j], c2 = cost[i * W + j - 1], c;
            int t;
            if (c0 < c1 && c0 < c2)
                c = c0, t = 0;
            else if (c1 < c0 && c1 < c2)
                c = c1, t = 1;
            else
                c = c2, t = 2;
            cost[i * W + j] = x[(int64_t)(i - 1) * M + j - 1] + c;
            trace[i * W + j] = (signed char)t;
        }
    for (int j = 0; j <= M; j++)
        trace[j] = 2;
    for (int i = 0; i <= N; i++)
        trace[i * W] = 1;
    int i = N, j = M, n = 0;
    while (i > 0 || j > 0) {
        ti[n] = i - 1, tj[n] = j - 1, n++;
        int t = trace[i * W + j];
        if (t == 0)
            i--, j--;
        else if (t == 1)
            i--;
        else
            j--;
    }
    for (int a = 0, b = n - 1; a < b; a++, b--) {
        int x1 = ti[a], y1 = tj[a];
        ti[a] = ti[b], tj[a] = tj[b];
        ti[b] = x1, tj[b] = y1;
    }
    return n;
}

enum { U8_VALID, U8_INCOMPLETE, U8_INVALID };

/* VALID: whole characters; INCOMPLETE: whole characters then the start of
 * one that more bytes may finish; INVALID: a byte no continuation can make
 * valid (openai-whisper flushes there: the U+FFFD is in the full text too). */
static int utf8_state(const uint8_t *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        uint8_t c = s[i];
        int len = c < 0x80 ? 1 : (c >= 0xc2 && c <= 0xdf) ? 2 : (c >= 0xe0 && c <= 0xef) ? 3 : (c >= 0xf0 && c <= 0xf4) ? 4 : 0;
        if (!len)
            return U8_INVALID;
        for (int k = 1; k < len; k++) {
            if (i + (size_t)k >= n)
                return U8_INCOMPLETE;
            if ((s[i + k] & 0xc0) != 0x80)
                return U8_INVALID;
        }
        i += (size_t)len;
    }
    return U8_VALID;
}

/* bytes -> UTF-8 with U+FFFD for each invalid byte (malloc'd) */
static char *repaired(const uint8_t *s, size_t n)
{
    char *out = malloc(3 * n + 1);
    size_t o = 0;
    for (size_t i = 0; out && i < n;) {
        uint8_t c = s[i];
        int len = c < 0x80 ? 1 : (c >= 0xc2 && c <= 0xdf) ? 2 : (c >= 0xe0 && c <= 0xef) ? 3 : (c >= 0xf0 && c <= 0xf4) ? 4 : 0;
        bool ok = len > 0 && i + (size_t)len <= n;
        for (int k = 1; ok && k < len; k++)
            ok = (s[i + k] & 0xc0) == 0x80;
        if (ok) {
            memcpy(out + o, s + i, (size_t)len);
            o += (size_t)len, i += (size_t)len;
        } else {
            memcpy(out + o, "\xef\xbf\xbd", 3);
            o += 3, i++;
        }
    }
    if (out)
        out[o] = '\0';
    return out;
}

static bool is_ascii_punct_word(const char *w)
{
    /* Python's `word.strip() in string.punctuation`: a single ASCII punctuation
     * character (or the empty string) after stripping */
    while (*w == ' ')
        w++;
    size_t n = strlen(w);
    while (n > 0 && w[n - 1] == ' ')
        n--;
    if (n == 0)
        return true;
    return n == 1 && strchr("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", w[0]) != NULL;
}

static bool in_set(const char *word, const char *const *set)
{
    for (int i = 0; set[i]; i++)
        if (!strcmp(word, set[i]))
            return true;
    return false;
}

/* The text tokens into words: complete UTF-8 pieces, joined at spaces (or
 * kept apart for languages written without spaces). Fills words[] (malloc'd
 * texts, token counts); their number. Tokens that end in an unfinished
 * character belong to no word. */
static int split_words(const sori_whisper *m, const int32_t *tok, int n, bool no_spaces, timing_t *words)
{
    const sori_bpe *b = sori_whisper_get_bpe(m);
    int nw = 0, start = 0;
    uint8_t buf[1024];
    size_t len = 0;
    for (int i = 0; i < n; i++) {
        int L = 0;
        const uint8_t *p = sori_bpe_bytes(b, tok[i], &L);
        if (p && len + (size_t)L < sizeof buf) {
            memcpy(buf + len, p, (size_t)L);
            len += (size_t)L;
        }
        /* an unfinished character waits for the next token; at the end it
         * joins <|endoftext|>, whose group openai-whisper drops (below) */
        if (utf8_state(buf, len) == U8_INCOMPLETE)
            continue;
        char *piece = repaired(buf, len);
        if (!piece)
            break;
        int cnt = i + 1 - start;
        bool with_space = piece[0] == ' ';
        if (no_spaces || with_space || is_ascii_punct_word(piece) || nw == 0) {
            words[nw++] = (timing_t){piece, cnt, 0, 0, 0};
        } else {
            timing_t *w = &words[nw - 1];
            size_t a = strlen(w->word), pl = strlen(piece);
            char *joined = realloc(w->word, a + pl + 1);
            if (!joined) {
                free(piece);
                break;
            }
            memcpy(joined + a, piece, pl + 1);
            w->word = joined;
            w->n_tok += cnt;
            free(piece);
        }
        start = i + 1;
        len = 0;
    }
    if (len > 0) {
        /* the unfinished tail and <|endoftext|> make the last "word", which
         * openai-whisper drops: when the tail would have joined the word
         * before it (no space, not punctuation), that word goes with it */
        bool alone = no_spaces || buf[0] == ' ' || nw == 0;
        if (!alone && nw > 0) {
            nw--;
            free(words[nw].word);
            words[nw].word = NULL;
        }
    }
    return nw;
}

static void merge_punctuation(timing_t *a, int n)
{
    static const char *const prepend[] = {"\"", "'", "\xe2\x80\x9c", "\xc2\xbf", "(", "[", "{", "-", NULL};
    static const char *const append[] = {"\"", "'", ".", "\xe3\x80\x82", ",", "\xef\xbc\x8c", "!", "\xef\xbc\x81", "?",
                                         "\xef\xbc\x9f", ":", "\xef\xbc\x9a", "\xe2\x80\x9d", ")", "]", "}",
                                         "\xe3\x80\x81", NULL};
    for (int i = n - 2, j = n - 1; i >= 0; i--) {
        timing_t *prev = &a[i], *next = &a[j];
        const char *w = prev->word;
        bool starts = w[0] == ' ';
        char stripped[64] = "";
        const char *s0 = w;
        while (*s0 == ' ')
            s0++;
        size_t L = strlen(s0);
        while (L > 0 && s0[L - 1] == ' ')
            L--;
        if (L < sizeof stripped) {
            memcpy(stripped, s0, L);
            stripped[L] = '\0';
        }
        if (starts && L < sizeof stripped && in_set(stripped, prepend)) {
            size_t a1 = strlen(prev->word), b1 = strlen(next->word);
            char *joined = malloc(a1 + b1 + 1);
            if (!joined)
                continue;
            memcpy(joined, prev->word, a1);
            memcpy(joined + a1, next->word, b1 + 1);
            free(next->word);
            next->word = joined;
            next->n_tok += prev->n_tok;
            prev->word[0] = '\0';
            prev->n_tok = 0;
        } else {
            j = i;
        }
    }
    for (int i = 0, j = 1; j < n; j++) {
        timing_t *prev = &a[i], *next = &a[j];
        size_t a1 = strlen(prev->word);
        bool ends_space = a1 > 0 && prev->word[a1 - 1] == ' ';
        if (!ends_space && in_set(next->word, append)) {
            size_t b1 = strlen(next->word);
            char *joined = realloc(prev->word, a1 + b1 + 1);
            if (!joined)
                continue;
            memcpy(joined + a1, next->word, b1 + 1);
            prev->word = joined;
            prev->n_tok += next->n_tok;
            next->word[0] = '\0';
            next->n_tok = 0;
        } else {
            i = j;
        }
    }
}

static double round2(double x) { return nearbyint(x * 100.0) / 100.0; }

sori_status sori_whisper_add_words(sori_whisper_session *s, sori_whisper_segment *seg, int n_seg,
                                   int n_frames, double time_offset, int language, bool translate,
                                   double *last_speech, sori_error *err)
{
    sori_whisper *m = s->m;
    const sori_whisper_tokens *tk = sori_whisper_get_tokens(m);
    const sori_whisper_hparams *hp = sori_whisper_get_hparams(m);
    if (tk->n_alignment_heads < 1)
        return sori_fail(err, SORI_ERR_UNSUPPORTED, 0,
                         "whisper: the model file names no alignment heads, so it cannot time words");
    /* the text tokens of every segment */
    int T = 0;
    for (int i = 0; i < n_seg; i++)
        for (int k = 0; k < seg[i].n_tokens; k++)
            T += seg[i].tokens[k] < tk->eot;
    if (T == 0)
        return SORI_OK;
    const int C = hp->n_text_ctx;
    int32_t *tokens = malloc((size_t)(T + 8) * sizeof(int32_t));
    int nsot = 0;
    if (!tokens)
        return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "whisper: out of memory");
    tokens[nsot++] = tk->sot;
    if (tk->multilingual) {
        tokens[nsot++] = language >= 0 ? language : sori_whisper_language_token(m, "en");
        tokens[nsot++] = translate ? tk->translate : tk->transcribe;
    }
    int n = nsot;
    tokens[n++] = tk->no_timestamps;
    for (int i = 0; i < n_seg; i++)
        for (int k = 0; k < seg[i].n_tokens; k++)
            if (seg[i].tokens[k] < tk->eot)
                tokens[n++] = seg[i].tokens[k];
    tokens[n++] = tk->eot;
    if (n > C) { /* cannot be aligned in one pass: leave the segments untimed */
        free(tokens);
        return SORI_OK;
    }
    const int H = tk->n_alignment_heads, F = n_frames / 2;
    const int rows = T + 1; /* matrix[len(sot_sequence) : -1] */
    float *probs = malloc((size_t)T * sizeof(float));
    float *mat = malloc((size_t)rows * (F > 0 ? F : 1) * sizeof(float));
    float *tmp = malloc((size_t)(F > n ? F : n) * sizeof(float) + 64);
    float *cost = malloc((size_t)(rows + 1) * (F + 1) * sizeof(float));
    signed char *trace = malloc((size_t)(rows + 1) * (F + 1));
    int *ti = malloc((size_t)(rows + F + 2) * sizeof(int)), *tj = malloc((size_t)(rows + F + 2) * sizeof(int));
    double *jump = malloc((size_t)(rows + 1) * sizeof(double));
    timing_t *words = calloc((size_t)T + 1, sizeof(timing_t));
    double *durs = malloc((size_t)(T + 1) * sizeof(double));
    sori_status st = SORI_OK;
    if (!probs || !mat || !tmp || !cost || !trace || !ti || !tj || !jump || !words || !durs)
        st = sori_fail(err, SORI_ERR_NO_MEMORY, 0, "whisper: out of memory");
    if (st == SORI_OK && F < 1) { /* a window of one frame: nothing to align the words to; left untimed */
        free(probs), free(mat), free(tmp), free(cost), free(trace), free(ti), free(tj), free(jump), free(words);
        free(durs), free(tokens);
        return SORI_OK;
    }
    if (st == SORI_OK)
        st = sori_whisper_alignment(s->st, 0, tokens, n, F, s->align, nsot, tk->eot, tokens + nsot + 1, T, probs,
                                    err);
    int nw = 0;
    if (st == SORI_OK) {
        /* per head: standardise each frame over the tokens, median filter along time */
        for (int h = 0; h < H; h++) {
            float *w = s->align + (int64_t)h * n * F;
            for (int f = 0; f < F; f++) {
                double mean = 0.0, var = 0.0;
                for (int t = 0; t < n; t++)
                    mean += w[(int64_t)t * F + f];
                mean /= n;
                for (int t = 0; t < n; t++) {
                    double dlt = w[(int64_t)t * F + f] - mean;
                    var += dlt * dlt;
                }
                float sd = (float)sqrt(var / n);
                for (int t = 0; t < n; t++)
                    w[(int64_t)t * F + f] = (float)((w[(int64_t)t * F + f] - mean) / sd);
            }
            median_rows(w, n, F, tmp);
        }
        /* the mean over heads of rows [nsot, n - 1), negated */
        for (int r = 0; r < rows; r++)
            for (int f = 0; f < F; f++) {
                double acc = 0.0;
                for (int h = 0; h < H; h++)
                    acc += s->align[((int64_t)h * n + nsot + r) * F + f];
                mat[(int64_t)r * F + f] = -(float)(acc / H);
            }
        int np = dtw(mat, rows, F, ti, tj, cost, trace);
        int nj = 0;
        for (int k = 0; k < np && nj <= rows; k++)
            if (k == 0 || ti[k] != ti[k - 1])
                jump[nj++] = tj[k] / TOKENS_PER_SECOND;
        bool no_spaces = false;
        static const char *const spaceless[] = {"zh", "ja", "th", "lo", "my", "yue", NULL};
        int li = language - tk->sot - 1;
        if (li >= 0 && li < tk->n_languages && in_set(tk->languages[li], spaceless))
            no_spaces = true;
        nw = split_words(m, tokens + nsot + 1, T, no_spaces, words);
        int bnd = 0;
        for (int k = 0; k < nw; k++) {
            int b2 = bnd + words[k].n_tok;
            words[k].start = bnd < nj ? jump[bnd] : 0;
            words[k].end = b2 < nj ? jump[b2] : words[k].start;
            double sum = 0.0;
            for (int q = bnd; q < b2 && q < T; q++)
                sum += probs[q];
            words[k].prob = b2 > bnd ? (float)(sum / (b2 - bnd)) : 0.0f;
            bnd = b2;
        }
        /* trim long words at sentence ends */
        int nd = 0;
        for (int k = 0; k < nw; k++)
            if (words[k].end - words[k].start != 0.0)
                durs[nd++] = words[k].end - words[k].start;
        double median = 0.0;
        if (nd) {
            qsort(durs, (size_t)nd, sizeof(double), cmp_double);
            median = nd % 2 ? durs[nd / 2] : 0.5 * (durs[nd / 2 - 1] + durs[nd / 2]);
        }
        median = median < 0.7 ? median : 0.7;
        const double max_dur = median * 2;
        static const char *const ends[] = {".", "\xe3\x80\x82", "!", "\xef\xbc\x81", "?", "\xef\xbc\x9f", NULL};
        if (nd)
            for (int k = 1; k < nw; k++)
                if (words[k].end - words[k].start > max_dur) {
                    if (in_set(words[k].word, ends))
                        words[k].end = words[k].start + max_dur;
                    else if (in_set(words[k - 1].word, ends))
                        words[k].start = words[k].end - max_dur;
                }
        merge_punctuation(words, nw);
        /* hand the words to their segments */
        int wi = 0;
        for (int i = 0; i < n_seg && st == SORI_OK; i++) {
            sori_whisper_segment *g = &seg[i];
            int seg_text = 0, saved = 0;
            for (int k = 0; k < g->n_tokens; k++)
                seg_text += g->tokens[k] < tk->eot;
            g->words = calloc((size_t)nw + 1, sizeof(sori_whisper_word));
            if (!g->words) {
                st = sori_fail(err, SORI_ERR_NO_MEMORY, 0, "whisper: out of memory");
                break;
            }
            while (wi < nw && saved < seg_text) {
                timing_t *w = &words[wi];
                if (w->word[0]) {
                    g->words[g->n_words++] = (sori_whisper_word){w->word, round2(time_offset + w->start),
                                                                 round2(time_offset + w->end), w->prob};
                    w->word = NULL; /* taken */
                }
                saved += w->n_tok;
                wi++;
            }
            sori_whisper_word *ws = g->words;
            int k = g->n_words;
            if (k == 0)
                continue;
            if (ws[0].end - *last_speech > median * 4 &&
                (ws[0].end - ws[0].start > max_dur || (k > 1 && ws[1].end - ws[0].start > max_dur * 2))) {
                if (k > 1 && ws[1].end - ws[1].start > max_dur) {
                    double boundary = fmax(ws[1].end / 2, ws[1].end - max_dur);
                    ws[0].end = ws[1].start = boundary;
                }
                ws[0].start = fmax(0.0, ws[0].end - max_dur);
            }
            if (g->start < ws[0].end && g->start - 0.5 > ws[0].start)
                ws[0].start = fmax(0.0, fmin(ws[0].end - median, g->start));
            else
                g->start = ws[0].start;
            if (g->end > ws[k - 1].start && g->end + 0.5 < ws[k - 1].end)
                ws[k - 1].end = fmax(ws[k - 1].start + median, g->end);
            else
                g->end = ws[k - 1].end;
            *last_speech = g->end;
        }
    }
    for (int k = 0; words && k < nw; k++)
        free(words[k].word);
    free(words);
    free(durs);
    free(jump);
    free(ti);
    free(tj);
    free(trace);
    free(cost);
    free(tmp);
    free(mat);
    free(probs);
    free(tokens);
    return st;
}
