/* Upload an op's host buffers, run it on a backend, download and compare
 * with the reference. The per-op buffer list below is the one place that
 * knows how large each operand of a descriptor is. */
#include "opcheck.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "reference.h"

enum { IN = 0, OUT = 1, INOUT = 2, SCRATCH = 3 };

typedef struct {
    const void **field; /* inside a descriptor copy */
    size_t n_bytes;
    int role;
} opbuf;

#define MAX_BUFS 16
#define ADD(f, bytes, r)                                                                           \
    do {                                                                                           \
        if ((f) != NULL) {                                                                         \
            b[n].field = (const void **)(void *)&(f);                                              \
            b[n].n_bytes = (size_t)(bytes);                                                        \
            b[n].role = (r);                                                                       \
            n++;                                                                                   \
        }                                                                                          \
    } while (0)

static int list_buffers(sori_op_desc *op, opbuf *b)
{
    int n = 0;
    const size_t F = sizeof(float);
    switch (op->op) {
    case SORI_OP_MATMUL: {
        sori_matmul_desc *d = &op->u.matmul;
        int64_t ra = d->trans_a ? d->k : d->m, rb = d->trans_b ? d->n : d->k;
        ADD(d->a, ((d->batch - 1) * d->stride_a + ra * d->lda) * F, IN);
        ADD(d->b, sori_dtype_bytes(d->b_type, (d->batch - 1) * d->stride_b + rb * d->ldb), IN);
        ADD(d->bias, d->n * F, IN);
        ADD(d->c, ((d->batch - 1) * d->stride_c + (int64_t)d->m * d->ldc) * F,
            d->beta != 0.0f ? INOUT : OUT);
        break;
    }
    case SORI_OP_CONV1D: {
        sori_conv1d_desc *d = &op->u.conv1d;
        int64_t t_out = (d->t_in + d->pad_left + d->pad_right - d->kernel) / d->stride + 1;
        ADD(d->x, (int64_t)d->batch * d->t_in * d->c_in * F, IN);
        ADD(d->w, (int64_t)d->c_out * (d->c_in / d->groups) * d->kernel * F, IN);
        ADD(d->bias, d->c_out * F, IN);
        ADD(d->y, d->batch * t_out * d->c_out * F, OUT);
        break;
    }
    case SORI_OP_CONV2D: {
        sori_conv2d_desc *d = &op->u.conv2d;
        int64_t ho = (d->h + d->pad_top + d->pad_bottom - d->kh) / d->stride_h + 1;
        int64_t wo = (d->w + d->pad_left + d->pad_right - d->kw) / d->stride_w + 1;
        ADD(d->x, (int64_t)d->batch * d->c_in * d->h * d->w * F, IN);
        ADD(d->wt, (int64_t)d->c_out * (d->c_in / d->groups) * d->kh * d->kw * F, IN);
        ADD(d->bias, d->c_out * F, IN);
        ADD(d->y, (int64_t)d->batch * d->c_out * ho * wo * F, OUT);
        break;
    }
    case SORI_OP_LAYER_NORM: {
        sori_layer_norm_desc *d = &op->u.layer_norm;
        ADD(d->x, d->n_rows * d->dim * F, IN);
        ADD(d->gamma, d->dim * F, IN);
        ADD(d->beta, d->dim * F, IN);
        ADD(d->y, d->n_rows * d->dim * F, OUT);
        break;
    }
    case SORI_OP_BATCH_NORM: {
        sori_batch_norm_desc *d = &op->u.batch_norm;
        ADD(d->x, d->n_rows * d->channels * F, IN);
        ADD(d->mean, d->channels * F, IN);
        ADD(d->var, d->channels * F, IN);
        ADD(d->gamma, d->channels * F, IN);
        ADD(d->beta, d->channels * F, IN);
        ADD(d->y, d->n_rows * d->channels * F, OUT);
        break;
    }
    case SORI_OP_SOFTMAX: {
        sori_softmax_desc *d = &op->u.softmax;
        ADD(d->x, d->n_rows * d->dim * F, IN);
        ADD(d->mask, d->n_rows * d->dim, IN);
        ADD(d->y, d->n_rows * d->dim * F, OUT);
        break;
    }
    case SORI_OP_UNARY: {
        sori_unary_desc *d = &op->u.unary;
        ADD(d->x, d->n * F, IN);
        ADD(d->y, d->n * F, OUT);
        break;
    }
    case SORI_OP_GLU: {
        sori_glu_desc *d = &op->u.glu;
        ADD(d->x, d->n_rows * 2 * d->dim * F, IN);
        ADD(d->y, d->n_rows * d->dim * F, OUT);
        break;
    }
    case SORI_OP_BINARY: {
        sori_binary_desc *d = &op->u.binary;
        ADD(d->a, d->n_rows * d->dim * F, IN);
        ADD(d->b, (d->b_per_row ? d->n_rows : (d->b_row_broadcast ? 1 : d->n_rows) * d->dim) * F, IN);
        ADD(d->y, d->n_rows * d->dim * F, OUT);
        break;
    }
    case SORI_OP_EMBEDDING: {
        sori_embedding_desc *d = &op->u.embedding;
        ADD(d->ids, d->n_ids * 4, IN);
        ADD(d->table, sori_dtype_bytes(d->table_type, (int64_t)d->vocab * d->dim), IN);
        ADD(d->out, d->n_ids * d->dim * F, OUT);
        break;
    }
    case SORI_OP_ATTENTION: {
        sori_attention_desc *d = &op->u.attention;
        int64_t hk = (int64_t)d->heads * d->d_k, hv = (int64_t)d->heads * d->d_v;
        ADD(d->q, (((int64_t)d->batch * d->t_q - 1) * d->q_stride + hk) * F, IN);
        ADD(d->k, (((int64_t)d->batch * d->t_k - 1) * d->k_stride + hk) * F, IN);
        ADD(d->v, (((int64_t)d->batch * d->t_k - 1) * d->v_stride + hv) * F, IN);
        ADD(d->pos, (int64_t)d->n_pos * hk * F, IN);
        ADD(d->pos_bias_u, hk * F, IN);
        ADD(d->pos_bias_v, hk * F, IN);
        ADD(d->out, (int64_t)d->batch * d->t_q * hv * F, OUT);
        break;
    }
    case SORI_OP_LSTM_STEP: {
        sori_lstm_desc *d = &op->u.lstm;
        int64_t B = d->batch, H = d->hidden;
        ADD(d->x, B * d->n_in * F, IN);
        ADD(d->h_in, B * H * F, IN);
        ADD(d->c_in, B * H * F, IN);
        ADD(d->w_ih, 4 * H * d->n_in * F, IN);
        ADD(d->w_hh, 4 * H * H * F, IN);
        ADD(d->b_ih, 4 * H * F, IN);
        ADD(d->b_hh, 4 * H * F, IN);
        ADD(d->h_out, B * H * F, OUT);
        ADD(d->c_out, B * H * F, OUT);
        ADD(d->gates, B * 4 * H * F, SCRATCH);
        break;
    }
    case SORI_OP_LOGMEL: {
        sori_logmel_desc *d = &op->u.logmel;
        int dim = d->n_mels + (d->energy_col >= 0);
        ADD(d->frames, d->n_frames * d->frame_len * F, IN);
        ADD(d->window, d->frame_len * F, IN);
        ADD(d->mel, (int64_t)d->n_mels * d->mel_bins * F, IN);
        ADD(d->out, d->n_frames * dim * F, OUT);
        break;
    }
    default: break;
    }
    return n;
}

double sori_now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* An op staged on a backend: one backend buffer and one host reference copy
 * per distinct host pointer (in-place ops pass the same pointer twice). */
typedef struct {
    sori_runtime *rt;
    int stream;
    sori_op_desc dev, ref;
    opbuf bd[MAX_BUFS], br[MAX_BUFS];
    int n;
    const void *hostp[MAX_BUFS];
    int alias[MAX_BUFS];
    void *dptr[MAX_BUFS], *rptr[MAX_BUFS];
} staged_op;

static void stage_free(staged_op *s)
{
    for (int i = 0; i < s->n; i++) {
        sori_rt_release(s->rt, s->dptr[i]);
        free(s->rptr[i]);
    }
}

static sori_status stage(sori_runtime *rt, int stream, const sori_op_desc *host, bool keep_ref,
                         staged_op *s, sori_error *err)
{
    memset(s, 0, sizeof *s);
    s->rt = rt;
    s->stream = stream;
    sori_status st = sori_op_validate(host, err);
    if (st != SORI_OK)
        return st;
    s->dev = *host;
    s->ref = *host;
    s->n = list_buffers(&s->dev, s->bd);
    list_buffers(&s->ref, s->br);
    for (int i = 0; i < s->n; i++) {
        s->hostp[i] = *s->bd[i].field;
        s->alias[i] = -1;
        for (int j = 0; j < i; j++)
            if (s->alias[j] < 0 && s->hostp[j] == s->hostp[i]) {
                s->alias[i] = j;
                if (s->bd[i].n_bytes > s->bd[j].n_bytes)
                    s->bd[j].n_bytes = s->bd[i].n_bytes;
                if (s->bd[i].role != IN && s->bd[j].role == IN)
                    s->bd[j].role = INOUT;
            }
    }
    for (int i = 0; i < s->n && st == SORI_OK; i++) {
        if (s->alias[i] >= 0)
            continue;
        size_t nb = s->bd[i].n_bytes;
        st = sori_rt_alloc(rt, nb, &s->dptr[i], err);
        if (st != SORI_OK)
            break;
        if (keep_ref) {
            s->rptr[i] = malloc(nb ? nb : 1);
            if (!s->rptr[i]) {
                st = sori_fail(err, SORI_ERR_NO_MEMORY, 0, "opcheck: out of host memory");
                break;
            }
        }
        if (s->bd[i].role == IN || s->bd[i].role == INOUT) {
            if (keep_ref)
                memcpy(s->rptr[i], s->hostp[i], nb);
            st = sori_rt_upload(rt, stream, s->dptr[i], s->hostp[i], nb, err);
        } else {
            if (keep_ref)
                memset(s->rptr[i], 0, nb);
            st = sori_rt_iface(rt)->memzero(sori_rt_backend(rt), stream, s->dptr[i], nb, err);
        }
    }
    if (st != SORI_OK) {
        stage_free(s);
        return st;
    }
    for (int i = 0; i < s->n; i++) {
        int k = s->alias[i] >= 0 ? s->alias[i] : i;
        *s->bd[i].field = s->dptr[k];
        *s->br[i].field = s->rptr[k];
    }
    return SORI_OK;
}

/* Runs the staged op n_runs times; the median wall time (with sync). */
static sori_status time_runs(staged_op *s, int n_runs, double *median, sori_error *err)
{
    double *times = malloc((size_t)n_runs * sizeof(double));
    if (!times)
        return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "opcheck: out of host memory");
    sori_status st = SORI_OK;
    for (int r = 0; r < n_runs && st == SORI_OK; r++) {
        /* read-modify-write outputs start from the same values every run */
        for (int i = 0; i < s->n && st == SORI_OK && r > 0; i++)
            if (s->alias[i] < 0 && s->bd[i].role == INOUT)
                st = sori_rt_upload(s->rt, s->stream, s->dptr[i], s->hostp[i], s->bd[i].n_bytes, err);
        if (st == SORI_OK)
            st = sori_rt_sync(s->rt, s->stream, err);
        double t0 = sori_now_seconds();
        if (st == SORI_OK)
            st = sori_rt_run(s->rt, s->stream, &s->dev, err);
        if (st == SORI_OK)
            st = sori_rt_sync(s->rt, s->stream, err);
        times[r] = sori_now_seconds() - t0;
    }
    if (st == SORI_OK) {
        qsort(times, (size_t)n_runs, sizeof(double), cmp_double);
        *median = times[n_runs / 2];
    }
    free(times);
    return st;
}

sori_status sori_opcheck(sori_runtime *rt, int stream, const sori_op_desc *host, int n_runs,
                         sori_opcheck_result *res, sori_error *err)
{
    if (!rt || !host || !res || n_runs < 1)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "opcheck: bad argument");
    memset(res, 0, sizeof *res);
    staged_op s;
    sori_status st = stage(rt, stream, host, true, &s, err);
    if (st != SORI_OK)
        return st;
    void *outp[MAX_BUFS] = {0};
    double *scratch = NULL;
    if (s.dev.op == SORI_OP_ATTENTION &&
        !(scratch = malloc((size_t)s.dev.u.attention.t_k * sizeof(double))))
        st = sori_fail(err, SORI_ERR_NO_MEMORY, 0, "opcheck: out of host memory");
    if (st == SORI_OK)
        st = time_runs(&s, n_runs, &res->seconds, err);
    for (int i = 0; i < s.n && st == SORI_OK; i++) {
        if (s.alias[i] >= 0 || s.bd[i].role == IN || s.bd[i].role == SCRATCH)
            continue;
        if (!(outp[i] = malloc(s.bd[i].n_bytes)))
            st = sori_fail(err, SORI_ERR_NO_MEMORY, 0, "opcheck: out of host memory");
        else
            st = sori_rt_download(rt, stream, outp[i], s.dptr[i], s.bd[i].n_bytes, err);
    }
    if (st == SORI_OK)
        st = sori_rt_sync(rt, stream, err);
    if (st == SORI_OK)
        st = sori_ref_run(&s.ref, scratch, err);
    for (int i = 0; i < s.n && st == SORI_OK; i++) {
        if (!outp[i])
            continue;
        double rel, mx;
        int64_t cnt = (int64_t)(s.bd[i].n_bytes / sizeof(float));
        sori_compare(outp[i], s.rptr[i], cnt, &rel, &mx);
        if (rel > res->rel_l2 || isnan(rel))
            res->rel_l2 = rel;
        if (mx > res->max_abs || isnan(mx))
            res->max_abs = mx;
        res->n_out += cnt;
    }
    for (int i = 0; i < s.n; i++)
        free(outp[i]);
    free(scratch);
    stage_free(&s);
    return st;
}

sori_status sori_opbench(sori_runtime *rt, int stream, const sori_op_desc *host, int n_runs,
                         double *median_seconds, sori_error *err)
{
    if (!rt || !host || !median_seconds || n_runs < 1)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "opbench: bad argument");
    staged_op s;
    sori_status st = stage(rt, stream, host, false, &s, err);
    if (st != SORI_OK)
        return st;
    double warm;
    st = time_runs(&s, 1, &warm, err); /* warm-up: scratch growth, cuDNN/cuBLAS setup */
    if (st == SORI_OK)
        st = time_runs(&s, n_runs, median_seconds, err);
    stage_free(&s);
    return st;
}

/* ---- deterministic random numbers ------------------------------------------------ */

void sori_rng_seed(sori_rng *r, uint64_t seed)
{
    r->s = seed ? seed : 0x9e3779b97f4a7c15ull;
}

uint64_t sori_rng_next(sori_rng *r)
{
    r->s ^= r->s >> 12;
    r->s ^= r->s << 25;
    r->s ^= r->s >> 27;
    return r->s * 0x2545f4914f6cdd1dull;
}

float sori_rng_uniform(sori_rng *r, float lo, float hi)
{
    return lo + (hi - lo) * (float)((sori_rng_next(r) >> 40) * (1.0 / 16777216.0));
}

int sori_rng_int(sori_rng *r, int lo, int hi)
{
    return lo + (int)(sori_rng_next(r) % (uint64_t)(hi - lo + 1));
}

void sori_rng_fill(sori_rng *r, float *x, int64_t n, float lo, float hi)
{
    for (int64_t i = 0; i < n; i++)
        x[i] = sori_rng_uniform(r, lo, hi);
}
