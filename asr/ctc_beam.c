/* CTC prefix beam search with n-gram shallow fusion (asr/ctc_beam.h). */
#include "ctc_beam.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"

#define NEG_INF (-1e30f)
#define LN10 2.302585092994046f

typedef struct {
    int32_t parent, token, first, last, len;
    int32_t seen; /* the last frame after which it was in the beam */
    float prob;
    float lm; /* ln p_LM of the prefix (without the weight) */
    int32_t hws; /* hotword automaton state after the prefix */
    float hw;    /* its hotword boost */
} node;

typedef struct {
    int32_t node;
    float pb, pnb; /* ln P(prefix, ending in blank / in its last token) */
} hyp;

struct sori_ctc_beam {
    int V;
    sori_ctc_beam_params p;
    int32_t bos, eos;
    int lm_order; /* the LM's order (0 without an LM) */
    node *nodes;
    int64_t n_nodes, cap_nodes, compact_at;
    int64_t frame_base; /* frames decoded before this step */
    int32_t *child; /* hash of (parent, token) -> node + 1 */
    uint64_t cmask;
    int64_t c_used;
    hyp *beam, *next;
    int n_beam, n_next, cap_next;
    int32_t *nslot; /* node -> position in next + 1, per frame */
    uint64_t nmask;
    int32_t *cands;
    float *rank;
    int32_t *mark; /* compaction: old node -> new node + 1 */
};

static float lse(float a, float b)
{
    if (a < b) {
        float t = a;
        a = b;
        b = t;
    }
    return b <= NEG_INF ? a : a + log1pf(expf(b - a));
}

static uint64_t key_hash(int32_t parent, int32_t token)
{
    uint64_t h = ((uint64_t)(uint32_t)parent << 32) | (uint32_t)token;
    h ^= h >> 33;
    h *= 0xFF51AFD7ED558CCDull;
    h ^= h >> 33;
    return h;
}

static int child_rehash(sori_ctc_beam *b, uint64_t slots)
{
    int32_t *c = calloc(slots, sizeof(int32_t));
    if (!c)
        return -1;
    free(b->child);
    b->child = c;
    b->cmask = slots - 1;
    b->c_used = 0;
    for (int64_t i = 1; i < b->n_nodes; i++) {
        uint64_t s = key_hash(b->nodes[i].parent, b->nodes[i].token) & b->cmask;
        while (c[s])
            s = (s + 1) & b->cmask;
        c[s] = (int32_t)(i + 1);
        b->c_used++;
    }
    return 0;
}

void sori_ctc_beam_free(sori_ctc_beam *b)
{
    if (!b)
        return;
    free(b->nodes);
    free(b->child);
    free(b->beam);
    free(b->next);
    free(b->nslot);
    free(b->cands);
    free(b->rank);
    free(b->mark);
    free(b);
}

void sori_ctc_beam_reset(sori_ctc_beam *b)
{
    if (!b)
        return;
    b->n_nodes = 1;
    b->nodes[0] = (node){-1, -1, 0, 0, 0, -1, 1.0f, 0.0f, 0, 0.0f};
    memset(b->child, 0, (b->cmask + 1) * sizeof(int32_t));
    b->c_used = 0;
    b->n_beam = 1;
    b->beam[0] = (hyp){0, 0.0f, NEG_INF};
    b->frame_base = 0;
    b->compact_at = 4096;
}

sori_status sori_ctc_beam_create(int V, const sori_ctc_beam_params *p, sori_ctc_beam **out, sori_error *err)
{
    if (!p || !out || V < 2 || p->beam < 1 || p->beam > 1024 || p->max_cands < 1 ||
        (p->lm && !p->tok2lm) || !isfinite(p->weight) || !isfinite(p->bonus) || !isfinite(p->cand_logp))
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "asr beam search: bad parameters");
    *out = NULL;
    sori_ctc_beam *b = calloc(1, sizeof *b);
    if (!b)
        return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "asr beam search: out of memory");
    b->V = V;
    b->p = *p;
    if (b->p.max_cands > V - 1)
        b->p.max_cands = V - 1;
    b->bos = p->lm ? sori_ngram_word_id(p->lm, "<s>") : -1;
    b->eos = p->lm ? sori_ngram_word_id(p->lm, "</s>") : -1;
    b->lm_order = p->lm ? sori_ngram_get_info(p->lm).order : 0;
    b->cap_nodes = 4096;
    b->cap_next = p->beam * (b->p.max_cands + 1);
    uint64_t ns = 16;
    while (ns < (uint64_t)b->cap_next * 2)
        ns <<= 1;
    b->nmask = ns - 1;
    b->nodes = malloc((size_t)b->cap_nodes * sizeof(node));
    b->beam = malloc((size_t)p->beam * sizeof(hyp));
    b->next = malloc((size_t)b->cap_next * sizeof(hyp));
    b->nslot = calloc(ns, sizeof(int32_t));
    b->cands = malloc((size_t)(b->p.max_cands + 1) * sizeof(int32_t));
    b->rank = malloc((size_t)b->cap_next * sizeof(float));
    b->cmask = 8191;
    b->child = calloc(b->cmask + 1, sizeof(int32_t));
    if (!b->nodes || !b->beam || !b->next || !b->nslot || !b->cands || !b->rank || !b->child) {
        sori_ctc_beam_free(b);
        return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "asr beam search: out of memory");
    }
    sori_ctc_beam_reset(b);
    *out = b;
    return SORI_OK;
}

/* ln p_LM(word | the prefix ending at node) for LM word `w`. */
static float lm_score(const sori_ctc_beam *b, int32_t at, int32_t w)
{
    int32_t ctx[SORI_NGRAM_MAX_ORDER];
    int k = 0, want = b->lm_order - 1;
    int32_t rev[SORI_NGRAM_MAX_ORDER];
    for (int32_t i = at; k < want && i > 0; i = b->nodes[i].parent)
        rev[k++] = b->p.tok2lm[b->nodes[i].token];
    int n = 0;
    if (k < want)
        ctx[n++] = b->bos;
    for (int i = k - 1; i >= 0; i--)
        ctx[n++] = rev[i];
    return sori_ngram_log10p(b->p.lm, ctx, n, w) * LN10;
}

/* The child of `parent` by `token`, made when missing; -1 when out of memory. */
static int32_t child_of(sori_ctc_beam *b, int32_t parent, int32_t token, int32_t frame, float prob)
{
    uint64_t s = key_hash(parent, token) & b->cmask;
    for (; b->child[s]; s = (s + 1) & b->cmask) {
        node *c = &b->nodes[b->child[s] - 1];
        if (c->parent == parent && c->token == token) {
            if (c->seen < frame - 1) { /* not in the beam a frame ago: its token starts now (as if made anew) */
                c->first = c->last = frame;
                c->prob = prob;
            }
            return b->child[s] - 1;
        }
    }
    if (b->n_nodes == b->cap_nodes) {
        if (b->cap_nodes >= INT32_MAX / 2)
            return -1;
        node *nn = realloc(b->nodes, (size_t)b->cap_nodes * 2 * sizeof(node));
        if (!nn)
            return -1;
        b->nodes = nn;
        b->cap_nodes *= 2;
    }
    int32_t i = (int32_t)b->n_nodes++;
    const node *par = &b->nodes[parent];
    float lm = par->lm;
    if (b->p.lm)
        lm += lm_score(b, parent, b->p.tok2lm[token]);
    int32_t hws = 0;
    float hw = par->hw;
    if (b->p.hotwords) {
        float d;
        hws = sori_hotwords_next(b->p.hotwords, par->hws, token, &d);
        hw += d;
    }
    b->nodes[i] = (node){parent, token, frame, frame, par->len + 1, INT32_MIN, prob, lm, hws, hw};
    b->child[s] = i + 1;
    if (++b->c_used * 2 > (int64_t)b->cmask && child_rehash(b, (b->cmask + 1) * 2) != 0)
        return -1;
    return i;
}

/* The entry of `n` in the next beam, added (probabilities -inf) when missing. */
static hyp *next_of(sori_ctc_beam *b, int32_t n)
{
    uint64_t s = ((uint64_t)(uint32_t)n * 0x9E3779B97F4A7C15ull >> 20) & b->nmask;
    for (; b->nslot[s]; s = (s + 1) & b->nmask)
        if (b->next[b->nslot[s] - 1].node == n)
            return &b->next[b->nslot[s] - 1];
    if (b->n_next == b->cap_next)
        return NULL; /* cannot happen: at most beam x (cands + 1) entries */
    b->nslot[s] = b->n_next + 1;
    hyp *h = &b->next[b->n_next++];
    *h = (hyp){n, NEG_INF, NEG_INF};
    return h;
}

static float hyp_score(const sori_ctc_beam *b, const hyp *h)
{
    const node *n = &b->nodes[h->node];
    return lse(h->pb, h->pnb) + b->p.weight * n->lm + b->p.bonus * (float)n->len + n->hw;
}

/* Keeps the nodes the beam reaches, renumbered (parents before children). */
static int compact(sori_ctc_beam *b)
{
    int32_t *mark = realloc(b->mark, (size_t)b->n_nodes * sizeof(int32_t));
    if (!mark)
        return -1;
    b->mark = mark;
    memset(mark, 0, (size_t)b->n_nodes * sizeof(int32_t));
    mark[0] = 1;
    for (int i = 0; i < b->n_beam; i++)
        for (int32_t n = b->beam[i].node; n > 0 && !mark[n]; n = b->nodes[n].parent)
            mark[n] = 1;
    int32_t k = 0;
    for (int64_t i = 0; i < b->n_nodes; i++) /* parents have lower indices than their children */
        if (mark[i]) {
            node nd = b->nodes[i];
            if (nd.parent >= 0)
                nd.parent = mark[nd.parent] - 1;
            b->nodes[k] = nd;
            mark[i] = ++k;
        }
    b->n_nodes = k;
    for (int i = 0; i < b->n_beam; i++)
        b->beam[i].node = mark[b->beam[i].node] - 1;
    b->compact_at = k * 4 > 4096 ? k * 4 : 4096;
    return child_rehash(b, b->cmask + 1);
}

sori_status sori_ctc_beam_step(sori_ctc_beam *b, const float *logp, int64_t T, sori_error *err)
{
    if (!b || T < 0 || (T && !logp))
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "asr beam search: bad argument");
    const int V = b->V, blank = V - 1, K = b->p.max_cands;
    for (int64_t t = 0; t < T; t++) {
        const float *row = logp + t * V;
        int32_t frame = (int32_t)(b->frame_base + t);
        /* candidates: the K most probable tokens above the floor */
        int nc = 0;
        for (int c = 0; c < blank; c++) {
            float v = row[c];
            if (!(v >= b->p.cand_logp) || (nc == K && v <= row[b->cands[nc - 1]]))
                continue;
            int j = nc < K ? nc++ : K - 1;
            while (j > 0 && row[b->cands[j - 1]] < v) {
                b->cands[j] = b->cands[j - 1];
                j--;
            }
            b->cands[j] = c;
        }
        b->n_next = 0;
        memset(b->nslot, 0, (b->nmask + 1) * sizeof(int32_t));
        for (int i = 0; i < b->n_beam; i++) {
            hyp h = b->beam[i];
            float tot = lse(h.pb, h.pnb);
            hyp *e = next_of(b, h.node);
            if (!e)
                return sori_fail(err, SORI_ERR_INTERNAL, 0, "asr beam search: beam overflow");
            e->pb = lse(e->pb, tot + row[blank]);
            int32_t last = b->nodes[h.node].token;
            for (int j = 0; j < nc; j++) {
                int32_t c = b->cands[j];
                float p = row[c];
                int32_t ch = child_of(b, h.node, c, frame, expf(p));
                if (ch < 0)
                    return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "asr beam search: out of memory");
                hyp *x = next_of(b, ch);
                if (!x)
                    return sori_fail(err, SORI_ERR_INTERNAL, 0, "asr beam search: beam overflow");
                if (c == last) { /* a repeat: a new token only after a blank; else the last one goes on */
                    x->pnb = lse(x->pnb, h.pb + p);
                    hyp *y = next_of(b, h.node);
                    if (!y)
                        return sori_fail(err, SORI_ERR_INTERNAL, 0, "asr beam search: beam overflow");
                    y->pnb = lse(y->pnb, h.pnb + p);
                    if (h.pnb > NEG_INF)
                        b->nodes[h.node].last = frame;
                } else {
                    x->pnb = lse(x->pnb, tot + p);
                }
            }
        }
        /* the best `beam` of them */
        for (int i = 0; i < b->n_next; i++)
            b->rank[i] = hyp_score(b, &b->next[i]);
        int keep = b->n_next < b->p.beam ? b->n_next : b->p.beam;
        for (int i = 0; i < keep; i++) { /* partial selection sort: keep is small */
            int best = i;
            for (int j = i + 1; j < b->n_next; j++)
                if (b->rank[j] > b->rank[best])
                    best = j;
            hyp th = b->next[i];
            float tr = b->rank[i];
            b->next[i] = b->next[best];
            b->rank[i] = b->rank[best];
            b->next[best] = th;
            b->rank[best] = tr;
            b->beam[i] = b->next[i];
            b->nodes[b->beam[i].node].seen = frame;
        }
        b->n_beam = keep;
        if (b->n_nodes > b->compact_at && compact(b) != 0)
            return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "asr beam search: out of memory");
    }
    b->frame_base += T;
    return SORI_OK;
}

static float final_score(const sori_ctc_beam *b, int i, int final)
{
    float s = hyp_score(b, &b->beam[i]);
    if (final && b->p.lm && b->eos >= 0)
        s += b->p.weight * lm_score(b, b->beam[i].node, b->eos);
    if (final && b->p.hotwords) /* a match still in progress earns nothing */
        s -= sori_hotwords_partial(b->p.hotwords, b->nodes[b->beam[i].node].hws);
    return s;
}

int sori_ctc_beam_rank(const sori_ctc_beam *b, int final, int k, int *rank, float *score, float *acoustic)
{
    if (!b || k < 1 || !rank)
        return 0;
    int n = 0;
    /* insertion into the k best, ties to the earlier hypothesis (as sori_ctc_beam_best) */
    for (int i = 0; i < b->n_beam; i++) {
        const float s = final_score(b, i, final);
        int at = n < k ? n : k;
        while (at > 0 && s > final_score(b, rank[at - 1], final))
            at--;
        if (at >= k)
            continue;
        const int last = n < k ? n : k - 1;
        for (int j = last; j > at; j--)
            rank[j] = rank[j - 1];
        rank[at] = i;
        if (n < k)
            n++;
    }
    for (int j = 0; j < n; j++) {
        if (score)
            score[j] = final_score(b, rank[j], final);
        if (acoustic)
            acoustic[j] = lse(b->beam[rank[j]].pb, b->beam[rank[j]].pnb);
    }
    return n;
}

sori_status sori_ctc_beam_best(const sori_ctc_beam *b, int final, sori_ctc_beam_tok **out, int64_t *n,
                               sori_error *err)
{
    if (!b || !out || !n)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "asr beam search: bad argument");
    int best = 0;
    sori_ctc_beam_rank(b, final, 1, &best, NULL, NULL);
    return sori_ctc_beam_get(b, best, out, n, err);
}

sori_status sori_ctc_beam_get(const sori_ctc_beam *b, int index, sori_ctc_beam_tok **out, int64_t *n,
                              sori_error *err)
{
    if (!b || !out || !n || index < 0 || (index >= b->n_beam && b->n_beam > 0))
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "asr beam search: bad argument");
    *out = NULL;
    *n = 0;
    if (b->n_beam == 0)
        return SORI_OK;
    int32_t at = b->beam[index].node;
    int32_t len = b->nodes[at].len;
    if (len == 0)
        return SORI_OK;
    sori_ctc_beam_tok *t = malloc((size_t)len * sizeof *t);
    if (!t)
        return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "asr beam search: out of memory");
    for (int32_t i = len - 1; i >= 0; i--, at = b->nodes[at].parent) {
        t[i] = (sori_ctc_beam_tok){b->nodes[at].token, b->nodes[at].first, b->nodes[at].last, b->nodes[at].prob};
        /* a prefix's nodes are shared by its alignments: keep the times in order */
        if (i + 1 < len && t[i].first >= t[i + 1].first)
            t[i].first = t[i + 1].first - 1 > 0 ? t[i + 1].first - 1 : 0;
        if (i + 1 < len && t[i].last >= t[i + 1].first)
            t[i].last = t[i + 1].first - 1;
        if (t[i].last < t[i].first)
            t[i].last = t[i].first;
    }
    *out = t;
    *n = len;
    return SORI_OK;
}
