/* Decoding one Whisper window as openai-whisper's DecodingTask does
 * (asr/whisper_decode.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "asr/whisper_decode.h"
#include "kernels/cpu/vec.h"
#include "kernels/kernels.h"
#include "lm/bpe.h"

enum { MAX_PATIENCE = 4 };

typedef struct {
    float score;
    int source, token;
    int order; /* insertion order: ties keep it, as Python's stable sort */
} cand_t;

struct sori_whisper_search {
    const sori_whisper *m;
    int G, V, C, R, max_fin; /* R: the stride of token rows, C + 1 */
    float *logits;          /* G x V */
    int32_t *tok, *tok2;    /* G x C: each sequence's tokens; the next generation */
    float *sum_lp;          /* G */
    int *win, *src;         /* G */
    cand_t *cand;           /* G x (G + 1) */
    int32_t *fin_tok;       /* max_fin x C: finished hypotheses' sampled tokens */
    int *fin_len;
    float *fin_lp;
    sori_whisper_hyp *hyps; /* max_fin (+ G) ranked */
    double *extra;          /* max_fin + G: a rescoring hook's additions */
    int *order;
    int32_t *suppress;      /* the always-suppressed tokens */
    int n_suppress;
    int32_t blank[8];       /* encode(" ") */
    int n_blank;
};

sori_whisper_options sori_whisper_default_options(void)
{
    return (sori_whisper_options){.beam_size = 0, .patience = 1.0f, .length_penalty = -1.0f, .temperature = 0.0f,
                                  .best_of = 1, .sample_len = 0, .language = -1, .without_timestamps = false,
                                  .suppress_blank = true, .max_initial_timestamp = 1.0f, .seed = 1};
}

void sori_whisper_search_free(sori_whisper_search *z)
{
    if (!z)
        return;
    free(z->logits);
    free(z->tok);
    free(z->tok2);
    free(z->sum_lp);
    free(z->win);
    free(z->src);
    free(z->cand);
    free(z->fin_tok);
    free(z->fin_len);
    free(z->fin_lp);
    free(z->hyps);
    free(z->extra);
    free(z->order);
    free(z->suppress);
    free(z);
}

sori_status sori_whisper_search_create(const sori_whisper *m, int max_group, sori_whisper_search **out,
                                       sori_error *err)
{
    if (!out)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "whisper search: out is NULL");
    *out = NULL;
    if (!m || max_group < 1 || max_group > 1024)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "whisper search: group of %d (1..1024)", max_group);
    const sori_whisper_hparams *hp = sori_whisper_get_hparams(m);
    const sori_whisper_tokens *t = sori_whisper_get_tokens(m);
    sori_whisper_search *z = calloc(1, sizeof *z);
    if (!z)
        return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "whisper search: out of memory");
    const size_t G = (size_t)max_group, V = (size_t)hp->n_vocab, C = (size_t)hp->n_text_ctx;
    z->m = m;
    z->G = max_group, z->V = hp->n_vocab, z->C = hp->n_text_ctx;
    z->max_fin = max_group * MAX_PATIENCE;
    const size_t F = (size_t)z->max_fin;
    z->logits = malloc(G * V * sizeof(float));
    /* rows of C + 1: a sequence may reach C + 1 tokens before the loop stops,
     * as openai-whisper's tensor does (it breaks once tokens > n_ctx) */
    const size_t R = C + 1;
    z->R = (int)R;
    z->tok = malloc(G * R * sizeof(int32_t));
    z->tok2 = malloc(G * R * sizeof(int32_t));
    z->sum_lp = malloc(G * sizeof(float));
    z->win = malloc(G * sizeof(int));
    z->src = malloc(G * sizeof(int));
    z->cand = malloc(G * (G + 1) * sizeof(cand_t));
    z->fin_tok = malloc((F + G) * R * sizeof(int32_t));
    z->fin_len = malloc((F + G) * sizeof(int));
    z->fin_lp = malloc((F + G) * sizeof(float));
    z->hyps = malloc((F + G) * sizeof(sori_whisper_hyp));
    z->extra = malloc((F + G) * sizeof(double));
    z->order = malloc((F + G) * sizeof(int));
    z->suppress = malloc(((size_t)t->n_suppress + 8) * sizeof(int32_t));
    if (!z->logits || !z->tok || !z->tok2 || !z->sum_lp || !z->win || !z->src || !z->cand || !z->fin_tok ||
        !z->fin_len || !z->fin_lp || !z->hyps || !z->extra || !z->order || !z->suppress) {
        sori_whisper_search_free(z);
        return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "whisper search: out of memory");
    }
    /* openai-whisper's get_suppress_tokens for "-1" */
    int n = 0;
    for (int i = 0; i < t->n_suppress; i++)
        z->suppress[n++] = t->suppress[i];
    const int special[] = {t->transcribe, t->translate, t->sot, t->sot_prev, t->sot_lm, t->no_speech};
    for (int i = 0; i < 6; i++)
        z->suppress[n++] = special[i];
    z->n_suppress = n;
    if (sori_bpe_encode(sori_whisper_get_bpe(m), " ", z->blank, 8, &z->n_blank, err) != SORI_OK ||
        z->n_blank > 8) {
        sori_whisper_search_free(z);
        return sori_fail(err, SORI_ERR_FORMAT, 0, "whisper search: the vocabulary cannot write a space");
    }
    *out = z;
    return SORI_OK;
}

/* ---- helpers -------------------------------------------------------------------------- */

/* (vectorized on the CPU: a beam step takes several over the whole vocabulary per sequence) */
static float log_sum_exp(const float *x, int n)
{
    return sori_cpu_log_sum_exp(x, n);
}

static void neg_inf(float *x, int from, int to)
{
    for (int i = from < 0 ? 0 : from; i < to; i++)
        x[i] = -INFINITY;
}

/* SuppressBlank, SuppressTokens, ApplyTimestampRules on one row of logits
 * for a sequence of len tokens (sample_begin initial ones). */
static void apply_filters(const sori_whisper_search *z, const sori_whisper_options *o, float *lg,
                          const int32_t *tok, int len, int sample_begin)
{
    const sori_whisper_tokens *t = sori_whisper_get_tokens(z->m);
    const int V = z->V, tb = t->timestamp_begin;
    if (o->suppress_blank && len == sample_begin) {
        for (int i = 0; i < z->n_blank; i++)
            lg[z->blank[i]] = -INFINITY;
        lg[t->eot] = -INFINITY;
    }
    for (int i = 0; i < z->n_suppress; i++)
        lg[z->suppress[i]] = -INFINITY;
    if (o->without_timestamps)
        return;
    lg[t->no_timestamps] = -INFINITY;
    const int32_t *seq = tok + sample_begin;
    const int n = len - sample_begin;
    bool last_ts = n >= 1 && seq[n - 1] >= tb;
    bool penult_ts = n < 2 || seq[n - 2] >= tb;
    if (last_ts) {
        if (penult_ts)
            neg_inf(lg, tb, V);
        else
            neg_inf(lg, 0, t->eot);
    }
    int last = -1;
    for (int i = 0; i < n; i++)
        if (seq[i] >= tb)
            last = seq[i];
    if (last >= 0)
        neg_inf(lg, tb, (last_ts && !penult_ts) ? last : last + 1);
    if (n == 0) {
        neg_inf(lg, 0, tb);
        if (o->max_initial_timestamp > 0) { /* 0 or less: no limit (openai-whisper's `if max_initial_timestamp:`) */
            /* openai-whisper's precision: CHUNK_LENGTH (30 s) / n_audio_ctx */
            double precision = 30.0 / sori_whisper_get_hparams(z->m)->n_audio_ctx;
            double idx = nearbyint(o->max_initial_timestamp / precision);
            if (idx < V)
                neg_inf(lg, tb + (int)idx + 1, V);
        }
    }
    /* sample a timestamp when their total probability beats every text token */
    float lse = log_sum_exp(lg, V);
    float ts = log_sum_exp(lg + tb, V - tb) - lse;
    float mx = -INFINITY;
    for (int i = 0; i < tb; i++)
        if (lg[i] > mx)
            mx = lg[i];
    if (ts > mx - lse)
        neg_inf(lg, 0, tb);
}

static int argmax(const float *x, int n)
{
    int best = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[best])
            best = i;
    return best;
}

static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* A token drawn from softmax(lg / temp). */
static int sample(const float *lg, int n, float temp, uint64_t *rng)
{
    float mx = -INFINITY;
    for (int i = 0; i < n; i++)
        if (lg[i] > mx)
            mx = lg[i];
    double total = 0.0;
    for (int i = 0; i < n; i++)
        total += lg[i] == -INFINITY ? 0.0 : exp((double)(lg[i] - mx) / temp);
    double u = (double)(rng_next(rng) >> 11) * 0x1.0p-53 * total, acc = 0.0;
    int last = argmax(lg, n);
    for (int i = 0; i < n; i++) {
        if (lg[i] == -INFINITY)
            continue;
        acc += exp((double)(lg[i] - mx) / temp);
        last = i;
        if (acc > u)
            return i;
    }
    return last;
}

static int cmp_cand(const void *a, const void *b)
{
    const cand_t *x = a, *y = b;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order; /* stable: insertion order */
}

/* The initial tokens into buf; their count. *sot_index gets sot's place. */
static int initial_tokens(const sori_whisper *m, const sori_whisper_options *o, int32_t *buf, int *sot_index)
{
    const sori_whisper_tokens *t = sori_whisper_get_tokens(m);
    const int C = sori_whisper_get_hparams(m)->n_text_ctx;
    int n = 0;
    if (o->prompt && o->n_prompt > 0) {
        int keep = o->n_prompt < C / 2 - 1 ? o->n_prompt : C / 2 - 1;
        buf[n++] = t->sot_prev;
        for (int i = o->n_prompt - keep; i < o->n_prompt; i++)
            buf[n++] = o->prompt[i];
    }
    *sot_index = n;
    buf[n++] = t->sot;
    if (t->multilingual) {
        buf[n++] = o->language >= 0 ? o->language : sori_whisper_language_token(m, "en");
        buf[n++] = o->translate ? t->translate : t->transcribe;
    }
    if (o->without_timestamps)
        buf[n++] = t->no_timestamps;
    return n;
}

/* ---- the task -------------------------------------------------------------------------- */

sori_status sori_whisper_decode_window(sori_whisper_search *z, sori_whisper_state *s, int win,
                                       const sori_whisper_options *o, sori_whisper_result *r, sori_error *err)
{
    if (!z || !s || !o || !r)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "whisper decode: bad argument");
    const sori_whisper *m = z->m;
    const sori_whisper_tokens *t = sori_whisper_get_tokens(m);
    const int V = z->V, C = z->C, R = z->R;
    const bool beam = o->beam_size >= 2 && o->temperature == 0.0f;
    const int G = beam ? o->beam_size : o->temperature > 0.0f ? (o->best_of > 0 ? o->best_of : 1) : 1;
    if (G > z->G)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "whisper decode: a group of %d, the searcher holds %d", G, z->G);
    if (beam && !(o->patience > 0.0f && o->patience <= MAX_PATIENCE))
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "whisper decode: patience %g (0..%d]", o->patience,
                         MAX_PATIENCE);
    if (!(o->temperature >= 0.0f && o->temperature <= 10.0f) || o->sample_len < 0 || o->n_prompt < 0 ||
        (o->language >= 0 && (o->language <= t->sot || o->language > t->sot + t->n_languages)))
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "whisper decode: temperature %g, sample_len %d, language %d",
                         o->temperature, o->sample_len, o->language);
    /* Python's round(): halves to even */
    const int max_fin = beam ? (int)nearbyint((double)o->beam_size * o->patience) : 0;
    if (beam && max_fin < 1)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "whisper decode: beam %d x patience %g keeps no hypothesis",
                         o->beam_size, o->patience);
    const int sample_len = o->sample_len > 0 ? o->sample_len : C / 2;
    uint64_t rng = o->seed;

    int sot_index = 0;
    int32_t *init = z->tok2;
    const int n0 = initial_tokens(m, o, init, &sot_index);
    for (int g = 0; g < G; g++) {
        memcpy(z->tok + (int64_t)g * R, init, (size_t)n0 * sizeof(int32_t));
        z->sum_lp[g] = 0.0f;
        z->win[g] = win;
    }
    int len = n0;
    /* the initial tokens through sequence 0 (every sequence starts alike):
     * first up to <|startoftranscript|>, whose logits give the no-speech
     * probability, then the rest; its cache is then copied to the others */
    sori_status st = sori_whisper_decode(s, 1, z->win, z->tok, sot_index + 1, 0, z->logits, err);
    float no_speech = 0.0f;
    if (st == SORI_OK)
        no_speech = expf(z->logits[t->no_speech] - log_sum_exp(z->logits, V));
    const int rest = n0 - (sot_index + 1);
    if (st == SORI_OK && rest > 0)
        st = sori_whisper_decode(s, 1, z->win, z->tok + sot_index + 1, rest, sot_index + 1, z->logits, err);
    for (int g = 1; g < G && st == SORI_OK; g++) {
        memcpy(z->logits + (int64_t)g * V, z->logits, (size_t)V * sizeof(float));
        z->src[g] = 0;
    }
    z->src[0] = 0;
    if (st == SORI_OK && G > 1)
        st = sori_whisper_reorder(s, G, z->src, n0, err);
    int n_fin = 0;
    for (int step = 0; st == SORI_OK && step < sample_len; step++) {
        for (int g = 0; g < G; g++)
            apply_filters(z, o, z->logits + (int64_t)g * V, z->tok + (int64_t)g * R, len, n0);
        bool completed = true;
        if (!beam) {
            for (int g = 0; g < G; g++) {
                float *lg = z->logits + (int64_t)g * V;
                int32_t *seq = z->tok + (int64_t)g * R;
                int next = o->temperature > 0.0f ? sample(lg, V, o->temperature, &rng) : argmax(lg, V);
                float lp = lg[next] - log_sum_exp(lg, V);
                if (seq[len - 1] != t->eot)
                    z->sum_lp[g] += lp;
                else
                    next = t->eot;
                seq[len] = next;
                completed = completed && next == t->eot;
            }
        } else {
            /* every beam's best beam_size + 1 continuations */
            int nc = 0;
            for (int g = 0; g < G; g++) {
                float *lg = z->logits + (int64_t)g * V;
                float lse = log_sum_exp(lg, V);
                for (int k = 0; k <= G; k++) {
                    /* topk(beam + 1): -inf entries too when fewer are finite, as torch gives them */
                    int best = -1;
                    for (int v = 0; v < V; v++)
                        if (best < 0 || lg[v] > lg[best]) {
                            bool taken = false;
                            for (int c = nc - k; c < nc && !taken; c++)
                                taken = z->cand[c].token == v;
                            if (!taken)
                                best = v;
                        }
                    if (best < 0)
                        break;
                    z->cand[nc] = (cand_t){z->sum_lp[g] + (lg[best] - lse), g, best, nc};
                    nc++;
                }
            }
            /* identical beams (the first step) make identical sequences: keep the last source */
            int kept = 0;
            for (int c = 0; c < nc; c++) {
                bool dup = false;
                for (int e = 0; e < kept && !dup; e++) {
                    const cand_t *a = &z->cand[e], *b = &z->cand[c];
                    if (a->token == b->token &&
                        !memcmp(z->tok + (int64_t)a->source * R, z->tok + (int64_t)b->source * R,
                                (size_t)len * sizeof(int32_t))) {
                        z->cand[e].source = b->source;
                        dup = true;
                    }
                }
                if (!dup)
                    z->cand[kept++] = z->cand[c];
            }
            qsort(z->cand, (size_t)kept, sizeof(cand_t), cmp_cand);
            int saved = 0, n_new_fin = 0;
            int new_fin[64];
            for (int c = 0; c < kept && saved < G; c++) {
                const cand_t *a = &z->cand[c];
                if (a->token == t->eot) {
                    if (n_new_fin < 64)
                        new_fin[n_new_fin++] = c;
                    continue;
                }
                memcpy(z->tok2 + (int64_t)saved * R, z->tok + (int64_t)a->source * R, (size_t)len * sizeof(int32_t));
                z->tok2[(int64_t)saved * R + len] = a->token;
                z->sum_lp[saved] = a->score;
                z->src[saved] = a->source;
                saved++;
            }
            /* the finished ones, best first, while the list has room */
            for (int f = 0; f < n_new_fin && n_fin < max_fin; f++) {
                const cand_t *a = &z->cand[new_fin[f]];
                int n = len - n0;
                memcpy(z->fin_tok + (int64_t)n_fin * R, z->tok + (int64_t)a->source * R + n0,
                       (size_t)n * sizeof(int32_t));
                z->fin_len[n_fin] = n;
                z->fin_lp[n_fin] = a->score;
                n_fin++;
            }
            if (saved < G) { /* fewer live candidates than beams: cannot happen with V > 2G */
                st = sori_fail(err, SORI_ERR_INTERNAL, 0, "whisper decode: %d live beams of %d", saved, G);
                break;
            }
            int32_t *swap = z->tok;
            z->tok = z->tok2, z->tok2 = swap;
            st = sori_whisper_reorder(s, G, z->src, len, err);
            completed = n_fin >= max_fin;
        }
        len++;
        if (completed || len > C || st != SORI_OK)
            break;
        for (int g = 0; g < G; g++)
            z->tok2[g] = z->tok[(int64_t)g * R + len - 1];
        st = sori_whisper_decode(s, G, z->win, z->tok2, 1, len - 1, z->logits, err);
    }
    if (st != SORI_OK)
        return st;
    /* finalize: the hypotheses and their sampled tokens (up to the first <|endoftext|>) */
    int nh = 0;
    if (beam) {
        for (int f = 0; f < n_fin; f++)
            z->hyps[nh++] = (sori_whisper_hyp){z->fin_tok + (int64_t)f * R, z->fin_len[f], z->fin_lp[f], 0.0f};
        if (n_fin < G) { /* not enough finished: the live beams, best first */
            int idx[1024];
            for (int g = 0; g < G; g++)
                idx[g] = g;
            for (int a = 1; a < G; a++) /* insertion sort by sum_lp, descending (np.argsort reversed) */
                for (int b = a; b > 0 && z->sum_lp[idx[b]] >= z->sum_lp[idx[b - 1]]; b--) {
                    int tmp = idx[b];
                    idx[b] = idx[b - 1], idx[b - 1] = tmp;
                }
            for (int k = 0; k < G && nh < G; k++) {
                int g = idx[k];
                const int32_t *seq = z->tok + (int64_t)g * R + n0;
                int n = len - n0;
                bool dup = false;
                for (int h = 0; h < nh && !dup; h++)
                    dup = z->hyps[h].n_tokens == n && !memcmp(z->hyps[h].tokens, seq, (size_t)n * sizeof(int32_t));
                if (dup)
                    continue;
                int slot = n_fin + k;
                memcpy(z->fin_tok + (int64_t)slot * R, seq, (size_t)n * sizeof(int32_t));
                z->hyps[nh++] = (sori_whisper_hyp){z->fin_tok + (int64_t)slot * R, n, z->sum_lp[g], 0.0f};
            }
        }
    } else {
        for (int g = 0; g < G; g++) {
            const int32_t *seq = z->tok + (int64_t)g * R + n0;
            int n = 0;
            while (n < len - n0 && seq[n] != t->eot)
                n++;
            z->hyps[nh++] = (sori_whisper_hyp){seq, n, z->sum_lp[g], 0.0f};
        }
    }
    /* the maximum-likelihood ranker */
    int best = 0;
    for (int h = 0; h < nh; h++) {
        sori_whisper_hyp *y = &z->hyps[h];
        int n = 0; /* the tokens before the first <|endoftext|> */
        while (n < y->n_tokens && y->tokens[n] != t->eot)
            n++;
        y->n_tokens = n;
        double pen = o->length_penalty < 0.0f ? (double)n : pow((5.0 + n) / 6.0, o->length_penalty);
        y->score = (float)(y->sum_logprob / pen);
        if (y->score > z->hyps[best].score)
            best = h;
    }
    /* best first for the N-best list */
    for (int h = 0; h < nh; h++)
        z->order[h] = h;
    sori_whisper_hyp tmp = z->hyps[0];
    z->hyps[0] = z->hyps[best];
    z->hyps[best] = tmp;
    for (int a = 2; a < nh; a++)
        for (int b = a; b > 1 && z->hyps[b].score > z->hyps[b - 1].score; b--) {
            sori_whisper_hyp x = z->hyps[b];
            z->hyps[b] = z->hyps[b - 1], z->hyps[b - 1] = x;
        }
    if (o->rescore && nh > 1) {
        const int n = o->rescore->max_hyps > 1 && o->rescore->max_hyps < nh ? o->rescore->max_hyps : nh;
        sori_status st = o->rescore->score(o->rescore->user, z->hyps, n, z->extra, err);
        if (st != SORI_OK)
            return st;
        for (int h = 0; h < n; h++)
            z->hyps[h].score = (float)(z->hyps[h].sum_logprob + z->extra[h]);
        for (int a = 1; a < n; a++)
            for (int b = a; b > 0 && z->hyps[b].score > z->hyps[b - 1].score; b--) {
                sori_whisper_hyp x = z->hyps[b];
                z->hyps[b] = z->hyps[b - 1], z->hyps[b - 1] = x;
            }
    }
    const sori_whisper_hyp *y = &z->hyps[0];
    *r = (sori_whisper_result){.tokens = y->tokens, .n_tokens = y->n_tokens, .sum_logprob = y->sum_logprob,
                               .avg_logprob = y->sum_logprob / (float)(y->n_tokens + 1), .no_speech_prob = no_speech,
                               .temperature = o->temperature, .language = t->multilingual ? init[sot_index + 1] : -1,
                               .nbest = z->hyps, .n_best = nh, .sample_begin = n0};
    /* init aliased tok2, which the loop overwrote: the language from the options */
    if (t->multilingual)
        r->language = o->language >= 0 ? o->language : sori_whisper_language_token(m, "en");
    return SORI_OK;
}

sori_status sori_whisper_decode_windows(sori_whisper_search *z, sori_whisper_state *s, int n,
                                        const sori_whisper_options *o, sori_whisper_result *r, sori_error *err)
{
    if (!z || !s || !o || !r || n < 1 || n > z->G)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "whisper decode: %d windows (1..%d)", n, z ? z->G : 0);
    const sori_whisper *m = z->m;
    const sori_whisper_tokens *t = sori_whisper_get_tokens(m);
    const int V = z->V, C = z->C, R = z->R;
    const int sample_len = o->sample_len > 0 ? o->sample_len : C / 2;
    int sot_index = 0;
    int32_t *init = z->fin_tok; /* room for C tokens */
    const int n0 = initial_tokens(m, o, init, &sot_index);
    for (int g = 0; g < n; g++) {
        memcpy(z->tok + (int64_t)g * R, init, (size_t)n0 * sizeof(int32_t));
        memcpy(z->tok2 + (int64_t)g * n0, init, (size_t)n0 * sizeof(int32_t));
        z->sum_lp[g] = 0.0f;
        z->win[g] = g;
    }
    /* the initial tokens of every window's sequence: up to sot, then the rest */
    float *no_speech = z->fin_lp; /* n values */
    sori_status st = SORI_OK;
    /* a prompt may be long: one sequence at a time, through sequence 0, last
     * window first so that sequence 0 keeps window 0's */
    for (int g = n - 1; g >= 0 && st == SORI_OK; g--) {
        st = sori_whisper_decode(s, 1, z->win + g, init, sot_index + 1, 0, z->logits, err);
        if (st == SORI_OK)
            no_speech[g] = expf(z->logits[t->no_speech] - log_sum_exp(z->logits, V));
        /* decode() writes each call's sequence 0: move its cache to sequence g */
        if (st == SORI_OK && g > 0) {
            int src[64];
            for (int k = 0; k <= g && k < 64; k++)
                src[k] = k;
            src[g] = 0;
            st = g < 64 ? sori_whisper_reorder(s, g + 1, src, sot_index + 1, err)
                        : sori_fail(err, SORI_ERR_INVALID_ARG, 0, "whisper decode: %d windows (at most 64)", n);
        }
    }
    const int rest = n0 - (sot_index + 1);
    if (st == SORI_OK && rest > 0) {
        for (int g = 0; g < n; g++)
            memcpy(z->tok2 + (int64_t)g * rest, init + sot_index + 1, (size_t)rest * sizeof(int32_t));
        st = sori_whisper_decode(s, n, z->win, z->tok2, rest, sot_index + 1, z->logits, err);
    }
    int len = n0;
    for (int step = 0; st == SORI_OK && step < sample_len; step++) {
        bool completed = true;
        for (int g = 0; g < n; g++) {
            float *lg = z->logits + (int64_t)g * V;
            int32_t *seq = z->tok + (int64_t)g * R;
            apply_filters(z, o, lg, seq, len, n0);
            int next = argmax(lg, V);
            float lp = lg[next] - log_sum_exp(lg, V);
            if (seq[len - 1] != t->eot)
                z->sum_lp[g] += lp;
            else
                next = t->eot;
            seq[len] = next;
            completed = completed && next == t->eot;
        }
        len++;
        if (completed || len > C)
            break;
        for (int g = 0; g < n; g++)
            z->tok2[g] = z->tok[(int64_t)g * R + len - 1];
        st = sori_whisper_decode(s, n, z->win, z->tok2, 1, len - 1, z->logits, err);
    }
    if (st != SORI_OK)
        return st;
    for (int g = 0; g < n; g++) {
        const int32_t *seq = z->tok + (int64_t)g * R + n0;
        int k = 0;
        while (k < len - n0 && seq[k] != t->eot)
            k++;
        z->hyps[g] = (sori_whisper_hyp){seq, k, z->sum_lp[g], z->sum_lp[g] / (float)(k > 0 ? k : 1)};
        r[g] = (sori_whisper_result){.tokens = seq, .n_tokens = k, .sum_logprob = z->sum_lp[g],
                                     .avg_logprob = z->sum_lp[g] / (float)(k + 1), .no_speech_prob = no_speech[g],
                                     .temperature = 0.0f,
                                     .language = t->multilingual ? init[sot_index + 1] : -1,
                                     .nbest = &z->hyps[g], .n_best = 1, .sample_begin = n0};
    }
    return SORI_OK;
}

sori_status sori_whisper_detect_language(sori_whisper_search *z, sori_whisper_state *s, int win, int *token,
                                         float *prob, sori_error *err)
{
    if (!z || !s || !token)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "whisper detect: bad argument");
    const sori_whisper_tokens *t = sori_whisper_get_tokens(z->m);
    if (t->n_languages < 1)
        return sori_fail(err, SORI_ERR_UNSUPPORTED, 0, "whisper detect: an English-only model has no languages");
    int32_t sot = t->sot;
    sori_status st = sori_whisper_decode(s, 1, &win, &sot, 1, 0, z->logits, err);
    if (st != SORI_OK)
        return st;
    const float *lg = z->logits + t->sot + 1;
    int best = argmax(lg, t->n_languages);
    *token = t->sot + 1 + best;
    if (prob)
        *prob = expf(lg[best] - log_sum_exp(lg, t->n_languages));
    return SORI_OK;
}

float sori_whisper_compression_ratio(const char *text)
{
    size_t n = text ? strlen(text) : 0;
    if (n == 0)
        return 0.0f;
    uLongf cap = compressBound((uLong)n);
    Bytef stack[4096], *buf = cap <= sizeof stack ? stack : malloc(cap);
    if (!buf || compress2(buf, &cap, (const Bytef *)text, (uLong)n, Z_DEFAULT_COMPRESSION) != Z_OK) {
        if (buf != stack)
            free(buf);
        return 0.0f;
    }
    if (buf != stack)
        free(buf);
    return (float)n / (float)cap;
}
