/* CTC prefix beam search with n-gram fusion and hotwords (asr/ctc_beam.c,
 * asr/hotwords.c): with a beam wide enough to keep every prefix it must find
 * exactly the labelling that maximizes ln P_CTC(y) + w ln P_LM(y </s>) +
 * bonus |y| + the boost of the hotwords y spells, computed here by brute
 * force over all alignments (the hotword boost by a naive matcher); fed in
 * chunks it gives what it gives at once; with beam 1 on peaked posteriors it
 * is greedy decoding; hotword boosts step by step; bad parameters and bad
 * hotword lists are refused. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "asr/ctc_beam.h"
#include "check.h"

static uint64_t rng_state;
static double urand(void)
{
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (double)(rng_state >> 11) / 9007199254740992.0;
}

/* T x V log-softmax rows; `peak` > 0 makes one class per frame dominate. */
static void random_logp(float *lp, int T, int V, double peak)
{
    for (int t = 0; t < T; t++) {
        float *r = lp + (size_t)t * V;
        int hot = (int)(urand() * V);
        double mx = -1e30, s = 0;
        for (int v = 0; v < V; v++) {
            r[v] = (float)(2.0 * urand() + (v == hot ? peak : 0));
            mx = r[v] > mx ? r[v] : mx;
        }
        for (int v = 0; v < V; v++)
            s += exp(r[v] - mx);
        for (int v = 0; v < V; v++)
            r[v] = (float)(r[v] - mx - log(s));
    }
}

static double lse(double a, double b)
{
    if (a < b) {
        double t = a;
        a = b;
        b = t;
    }
    return b < -1e299 ? a : a + log1p(exp(b - a));
}

#define V 4 /* tokens 0..2 (LM words a, b, c), blank 3 */
#define T 5
#define MAXY 6

/* ln P_LM(y </s>) with the test LM, <s> first. */
static double lm_total(const sori_ngram *lm, const int32_t *tok2lm, const int *y, int n)
{
    int32_t ctx[MAXY + 2];
    int k = 0;
    ctx[k++] = sori_ngram_word_id(lm, "<s>");
    double s = 0;
    for (int i = 0; i <= n; i++) {
        int32_t w = i < n ? tok2lm[y[i]] : sori_ngram_word_id(lm, "</s>");
        s += sori_ngram_log10p(lm, ctx, k, w) * log(10.0);
        ctx[k++] = w;
    }
    return s;
}

/* Hotwords for the brute force: phrases over the characters the tokens spell. */
typedef struct {
    int n;
    char phrase[4][8];
    double score[4];
} hw_ref;

static const char *const TOK[3] = {"a", "\xe2\x96\x81" "b", "ca"}; /* "▁b": the word mark is not matched */

/* The partial boost of `s` (len k): per character, the largest score of the phrases it is a prefix of. */
static double ref_ps(const hw_ref *h, const char *s, int k)
{
    double ps = 0;
    for (int j = 1; j <= k; j++) {
        double best = 0;
        for (int i = 0; i < h->n; i++)
            if ((int)strlen(h->phrase[i]) >= j && strncmp(h->phrase[i], s, (size_t)j) == 0 && h->score[i] > best)
                best = h->score[i];
        ps += best;
    }
    return ps;
}

/* The boost y keeps: after each character, the longest suffix of the text
 * since the last completed phrase that begins a phrase; when that suffix is
 * a whole phrase it is banked and matching starts afresh. */
static double ref_boost(const hw_ref *h, const int *y, int n)
{
    char text[64] = "", since[64] = "";
    for (int i = 0; i < n; i++)
        strcat(text, TOK[y[i]][0] == 'a' || TOK[y[i]][0] == 'c' ? TOK[y[i]] : "b");
    double banked = 0;
    int ns = 0;
    for (const char *c = text; *c; c++) {
        since[ns++] = *c;
        since[ns] = 0;
        int k = 0; /* the longest suffix of `since` that begins a phrase */
        for (int l = ns; l >= 1 && !k; l--)
            for (int i = 0; i < h->n && !k; i++)
                if ((int)strlen(h->phrase[i]) >= l && strncmp(h->phrase[i], since + ns - l, (size_t)l) == 0)
                    k = l;
        memmove(since, since + ns - k, (size_t)k + 1);
        ns = k;
        for (int i = 0; i < h->n; i++)
            if (k && (int)strlen(h->phrase[i]) == k && strcmp(h->phrase[i], since) == 0) {
                banked += ref_ps(h, since, k);
                ns = 0;
                since[0] = 0;
                break;
            }
    }
    return banked;
}

/* The best labelling by brute force: every alignment collapsed, summed per labelling. */
static int brute_best(const float *lp, const sori_ngram *lm, const int32_t *tok2lm, double w, double bonus,
                      const hw_ref *hw, int *best_y)
{
    static double total[1 + 3 + 9 + 27 + 81 + 243];
    for (size_t i = 0; i < sizeof total / sizeof *total; i++)
        total[i] = -1e300;
    int n_paths = 1;
    for (int t = 0; t < T; t++)
        n_paths *= V;
    for (int p = 0; p < n_paths; p++) {
        int q = p, prev = V - 1, y[T], n = 0;
        double s = 0;
        for (int t = 0; t < T; t++) {
            int c = q % V;
            q /= V;
            s += lp[t * V + c];
            if (c != V - 1 && c != prev)
                y[n++] = c;
            prev = c;
        }
        int idx = 0, base = 1; /* index of labelling y among all of its length, after the shorter ones */
        for (int l = 0; l < n; l++)
            base *= 3;
        for (int l = 0; l < n; l++)
            idx = idx * 3 + y[l];
        int off = (base - 1) / 2;
        total[off + idx] = lse(total[off + idx], s);
    }
    double best = -1e300;
    int best_n = 0;
    for (int n = 0, off = 0, cnt = 1; n <= T; off += cnt, cnt *= 3, n++)
        for (int idx = 0; idx < cnt; idx++) {
            if (total[off + idx] < -1e299)
                continue;
            int y[T];
            for (int l = n - 1, v = idx; l >= 0; l--, v /= 3)
                y[l] = v % 3;
            double s = total[off + idx] + bonus * n + (lm ? w * lm_total(lm, tok2lm, y, n) : 0) +
                       (hw ? ref_boost(hw, y, n) : 0);
            if (s > best) {
                best = s;
                best_n = n;
                memcpy(best_y, y, sizeof(int) * (size_t)n);
            }
        }
    return best_n;
}

static int write_lm(char *path)
{
    int fd = mkstemp(path);
    if (fd < 0)
        return -1;
    FILE *f = fdopen(fd, "w");
    fputs("\\data\\\nngram 1=6\nngram 2=5\n\n\\1-grams:\n"
          "-99\t<s>\t-0.4\n-0.8\t</s>\n-2.0\t<unk>\n-0.5\ta\t-0.3\n-0.6\tb\t-0.2\n-0.7\tc\t-0.1\n\n"
          "\\2-grams:\n-0.1\t<s> a\n-0.2\ta b\n-1.5\ta a\n-0.3\tb c\n-0.2\tc </s>\n\n\\end\\\n",
          f);
    return fclose(f);
}

static int decode(const sori_ctc_beam_params *p, int Vn, const float *lp, int Tn, int chunk, sori_ctc_beam_tok **out,
                  int64_t *n)
{
    sori_ctc_beam *b = NULL;
    sori_error err = {0};
    if (sori_ctc_beam_create(Vn, p, &b, &err) != SORI_OK)
        return -1;
    int rc = 0;
    for (int t = 0; t < Tn && !rc; t += chunk)
        rc = sori_ctc_beam_step(b, lp + (size_t)t * Vn, t + chunk <= Tn ? chunk : Tn - t, &err) != SORI_OK;
    if (!rc)
        rc = sori_ctc_beam_best(b, 1, out, n, &err) != SORI_OK;
    sori_ctc_beam_free(b);
    return rc;
}

int main(void)
{
    rng_state = test_seed("test_ctc_beam");
    char path[] = "/tmp/sori_beam_lm_XXXXXX";
    sori_ngram *lm = NULL;
    sori_error err = {0};
    CHECK(write_lm(path) == 0, "LM file");
    CHECK_STATUS(sori_ngram_load(path, &lm, &err), SORI_OK);
    unlink(path);
    int32_t tok2lm[3] = {sori_ngram_word_id(lm, "a"), sori_ngram_word_id(lm, "b"), sori_ngram_word_id(lm, "c")};

    /* 1. exact: a beam that keeps every prefix finds the brute-force optimum */
    float lp[T * V];
    int exact = 0, trials = 0, n_hw = 0;
    for (int trial = 0; trial < 120; trial++) {
        random_logp(lp, T, V, trial % 3 == 0 ? 0.0 : 1.5);
        int with_lm = trial % 2, with_hw = trial >= 60;
        hw_ref ref = {0};
        char text[128] = "";
        sori_hotwords *hw = NULL;
        if (with_hw) { /* 1 to 3 phrases of 1 to 4 of the letters a, b, c, some with their own score */
            ref.n = 1 + (int)(urand() * 3);
            for (int i = 0; i < ref.n; i++) {
                int len = 1 + (int)(urand() * 4);
                for (int j = 0; j < len; j++)
                    ref.phrase[i][j] = (char)('a' + (int)(urand() * 3));
                ref.score[i] = urand() < 0.5 ? 1.0 : 0.2 + 2.0 * urand();
                char line[32];
                if (ref.score[i] == 1.0)
                    snprintf(line, sizeof line, "%c %s\n", ref.phrase[i][0], ref.phrase[i] + 1); /* a space inside */
                else
                    snprintf(line, sizeof line, "%s :%.6f\n", ref.phrase[i], ref.score[i]);
                strcat(text, line);
                ref.score[i] = ref.score[i] == 1.0 ? 1.0 : (double)(float)strtod(strchr(line, ':') + 1, NULL);
            }
            CHECK_STATUS(sori_hotwords_create(TOK, 3, text, 1.0f, &hw, &err), SORI_OK);
            n_hw++;
        }
        sori_ctc_beam_params p = {.beam = 512, .max_cands = 3, .cand_logp = -1e30f, .lm = with_lm ? lm : NULL,
                                  .tok2lm = tok2lm, .weight = with_lm ? 0.7f : 0.0f,
                                  .bonus = with_lm ? 0.8f : 0.0f, .hotwords = hw};
        int want[T];
        int nw = brute_best(lp, with_lm ? lm : NULL, tok2lm, p.weight, p.bonus, hw ? &ref : NULL, want);
        sori_ctc_beam_tok *got = NULL;
        int64_t ng = 0;
        CHECK(decode(&p, V, lp, T, T, &got, &ng) == 0, "decode");
        int same = ng == nw;
        for (int i = 0; same && i < nw; i++)
            same = got[i].token == want[i];
        exact += same;
        trials++;
        CHECK(same, "trial %d (LM %d, hotwords '%s'): beam gives %lld tokens, brute force %d", trial, with_lm, text,
              (long long)ng, nw);
        free(got);
        sori_hotwords_free(hw);
    }
    printf("exact optimum in %d of %d trials (%d with hotwords)\n", exact, trials, n_hw);

    /* 2. chunked = at once, and 3. beam 1 on peaked posteriors = greedy, on a longer input */
    enum { VB = 40, TB = 3000 };
    float *big = malloc(sizeof(float) * VB * TB);
    CHECK(big != NULL, "alloc");
    if (big) {
        random_logp(big, TB, VB, 6.0);
        sori_ctc_beam_params p = {.beam = 8, .max_cands = 10, .cand_logp = -8.0f};
        sori_ctc_beam_tok *a = NULL, *c = NULL;
        int64_t na = 0, nc = 0;
        CHECK(decode(&p, VB, big, TB, TB, &a, &na) == 0 && decode(&p, VB, big, TB, 7, &c, &nc) == 0, "decode");
        int same = na == nc && na > 100;
        for (int64_t i = 0; same && i < na; i++)
            same = a[i].token == c[i].token && a[i].first == c[i].first && a[i].last == c[i].last;
        CHECK(same, "chunks of 7 frames: %lld tokens, at once %lld", (long long)nc, (long long)na);
        for (int64_t i = 0; i < na; i++)
            CHECK(a[i].first <= a[i].last && (i == 0 || a[i].first > a[i - 1].first) && a[i].prob > 0 && a[i].prob <= 1,
                  "token %lld frames %d..%d", (long long)i, a[i].first, a[i].last);
        free(a);
        free(c);
        p.beam = 1;
        CHECK(decode(&p, VB, big, TB, TB, &a, &na) == 0, "beam 1");
        int32_t *g = malloc(sizeof(int32_t) * TB);
        int ng = 0, prev = VB - 1;
        for (int t = 0; g && t < TB; t++) {
            int bi = 0;
            for (int v = 1; v < VB; v++)
                if (big[t * VB + v] > big[t * VB + bi])
                    bi = v;
            if (bi != VB - 1 && bi != prev)
                g[ng++] = bi;
            prev = bi;
        }
        same = g && na == ng;
        for (int i = 0; same && i < ng; i++)
            same = a[i].token == g[i];
        CHECK(same, "beam 1: %lld tokens, greedy %d", (long long)na, ng);
        free(g);
        free(a);
        /* a reset search decodes the same again */
        sori_ctc_beam *b = NULL;
        p.beam = 8;
        CHECK_STATUS(sori_ctc_beam_create(VB, &p, &b, &err), SORI_OK);
        sori_ctc_beam_tok *r1 = NULL, *r2 = NULL;
        int64_t n1 = 0, n2 = 0;
        CHECK_STATUS(sori_ctc_beam_step(b, big, 500, &err), SORI_OK);
        CHECK_STATUS(sori_ctc_beam_best(b, 1, &r1, &n1, &err), SORI_OK);
        sori_ctc_beam_reset(b);
        CHECK_STATUS(sori_ctc_beam_step(b, big, 500, &err), SORI_OK);
        CHECK_STATUS(sori_ctc_beam_best(b, 1, &r2, &n2, &err), SORI_OK);
        CHECK(n1 == n2 && n1 > 0 && memcmp(r1, r2, sizeof *r1 * (size_t)n1) == 0, "after reset");
        free(r1);
        free(r2);
        sori_ctc_beam_reset(b);
        CHECK_STATUS(sori_ctc_beam_best(b, 0, &r1, &n1, &err), SORI_OK);
        CHECK(n1 == 0 && r1 == NULL, "nothing decoded: empty");
        sori_ctc_beam_free(b);
        free(big);
    }

    /* 4. hotword boosts step by step, over tokens "가", "▁나", "다라" */
    {
        const char *tk[4] = {"\xea\xb0\x80", "\xe2\x96\x81\xeb\x82\x98", "\xeb\x8b\xa4\xeb\x9d\xbc", NULL};
        sori_hotwords *h = NULL;
        /* 가나다 (1 per character), 나라 (2 per character) */
        CHECK_STATUS(sori_hotwords_create(tk, 4, "# names\n\xea\xb0\x80 \xeb\x82\x98\xeb\x8b\xa4\n"
                                                 "  \xeb\x82\x98\xeb\x9d\xbc :2\r\n\n", 1.0f, &h, &err), SORI_OK);
        CHECK(sori_hotwords_count(h) == 2, "%d phrases", sori_hotwords_count(h));
        float d;
        int32_t s1 = sori_hotwords_next(h, 0, 0, &d); /* 가 */
        CHECK(s1 != 0 && d == 1.0f && sori_hotwords_partial(h, s1) == 1.0f, "가: %g", d);
        int32_t s2 = sori_hotwords_next(h, s1, 1, &d); /* 가나 */
        CHECK(s2 != 0 && d == 1.0f && sori_hotwords_partial(h, s2) == 2.0f, "가나: %g", d);
        int32_t s3 = sori_hotwords_next(h, s2, 2, &d); /* 가나다 completes (+1), then 라 starts nothing */
        CHECK(s3 == 0 && d == 1.0f, "가나다라: %g, state %d", d, s3);
        int32_t s4 = sori_hotwords_next(h, s1, 0, &d); /* 가가: the first match breaks, a new one starts */
        CHECK(s4 == s1 && d == 0.0f, "가가: %g", d);
        int32_t s5 = sori_hotwords_next(h, 0, 1, &d); /* 나: the larger of 나라's and 나's boosts: 2 */
        CHECK(s5 != 0 && d == 2.0f, "나: %g", d);
        int32_t s6 = sori_hotwords_next(h, s5, 0, &d); /* 나가: breaks off, gives back 2, 가 earns 1 */
        CHECK(s6 == s1 && d == -1.0f, "나가: %g", d);
        int32_t s7 = sori_hotwords_next(h, s5, 2, &d); /* 나다라: 나 -> 다 (no: 나다 is not a prefix) -> 라 */
        CHECK(s7 == 0 && d == -2.0f, "나다라: %g", d);
        int32_t s8 = sori_hotwords_next(h, s2, 1, &d); /* 가나나: falls back to 나 (boost 2) */
        CHECK(s8 == s5 && d == 0.0f, "가나나: %g", d);
        int32_t s9 = sori_hotwords_next(h, 0, 3, &d); /* a token spelling nothing */
        CHECK(s9 == 0 && d == 0.0f, "empty token");
        sori_hotwords_free(h);
        /* 5. bad lists: each refused with its line */
        const char *bad_lists[] = {
            "\xea\xb0\x80\nabc\n",     /* a character no token spells (line 2) */
            "\xea\xb0\x80 :0\n",        /* a score out of range */
            "\xea\xb0\x80 :x\n",        /* not a number */
            "\xea\xb0\x80 :30\n",       /* too large */
            "\xea\xb0\n",                /* truncated UTF-8 */
            "# only a comment\n \n",       /* no phrase */
            "\xc0\x80\n",                /* overlong UTF-8 */
        };
        for (size_t i = 0; i < sizeof bad_lists / sizeof *bad_lists; i++) {
            h = NULL;
            CHECK_STATUS(sori_hotwords_create(tk, 4, bad_lists[i], 1.0f, &h, &err), SORI_ERR_INVALID_ARG);
            CHECK(h == NULL && err.message[0], "bad list %zu: '%s'", i, err.message);
        }
        CHECK_STATUS(sori_hotwords_create(tk, 4, "\xea\xb0\x80\nabc\n", 1.0f, &h, &err), SORI_ERR_INVALID_ARG);
        CHECK(strstr(err.message, "line 2") != NULL, "the line is named: '%s'", err.message);
        char *longp = malloc(3 * 201 + 1);
        CHECK(longp != NULL, "alloc");
        if (longp) {
            for (int i = 0; i < 201; i++)
                memcpy(longp + 3 * i, "\xea\xb0\x80", 3);
            longp[3 * 201] = 0;
            CHECK_STATUS(sori_hotwords_create(tk, 4, longp, 1.0f, &h, &err), SORI_ERR_INVALID_ARG);
            longp[3 * 200] = 0; /* 200 characters: allowed */
            CHECK_STATUS(sori_hotwords_create(tk, 4, longp, 1.0f, &h, &err), SORI_OK);
            sori_hotwords_free(h);
            free(longp);
        }
        CHECK_STATUS(sori_hotwords_create(tk, 4, "\xea\xb0\x80", 0.0f, &h, &err), SORI_ERR_INVALID_ARG);
        CHECK_STATUS(sori_hotwords_create(tk, 4, "\xea\xb0\x80", NAN, &h, &err), SORI_ERR_INVALID_ARG);
        CHECK_STATUS(sori_hotwords_create(tk, 4, NULL, 1.0f, &h, &err), SORI_ERR_INVALID_ARG);
    }

    /* 6. bad parameters */
    sori_ctc_beam *b = NULL;
    sori_ctc_beam_params ok = {.beam = 4, .max_cands = 4, .cand_logp = -8.0f};
    sori_ctc_beam_params bad = ok;
    bad.beam = 0;
    CHECK_STATUS(sori_ctc_beam_create(10, &bad, &b, &err), SORI_ERR_INVALID_ARG);
    CHECK_STATUS(sori_ctc_beam_create(1, &ok, &b, &err), SORI_ERR_INVALID_ARG);
    bad = ok;
    bad.lm = lm; /* no token map */
    CHECK_STATUS(sori_ctc_beam_create(10, &bad, &b, &err), SORI_ERR_INVALID_ARG);
    bad = ok;
    bad.weight = NAN;
    CHECK_STATUS(sori_ctc_beam_create(10, &bad, &b, &err), SORI_ERR_INVALID_ARG);
    CHECK(b == NULL, "nothing created");
    CHECK_STATUS(sori_ctc_beam_create(10, &ok, &b, &err), SORI_OK);
    CHECK_STATUS(sori_ctc_beam_step(b, NULL, 3, &err), SORI_ERR_INVALID_ARG);
    CHECK_STATUS(sori_ctc_beam_step(b, NULL, 0, &err), SORI_OK);
    sori_ctc_beam_free(b);
    sori_ngram_free(lm);
    return check_finish("test_ctc_beam");
}
