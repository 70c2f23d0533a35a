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
        ADD(d->b, ((d->batch - 1) * d->stride_b + rb * d->ldb) * sori_dtype_size(d->b_type), IN);
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
        ADD(d->b, (d->b_row_broadcast ? 1 : d->n_rows) * d->dim * F, IN);
        ADD(d->y, d->n_rows * d->dim * F, OUT);
        break;
    }
    case SORI_OP_EMBEDDING: {
        sori_embedding_desc *d = &op->u.embedding;
        ADD(d->ids, d->n_ids * 4, IN);
        ADD(d->table, (int64_t)d->vocab * d->dim * sori_dtype_size(d->table_type), IN);
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

sori_status sori_opcheck(sori_runtime *rt, int stream, const sori_op_desc *host, int n_runs,
                         sori_opcheck_result *res, sori_error *err)
{
    if (!rt || !host || !res || n_runs < 1)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "opcheck: bad argument");
    memset(res, 0, sizeof *res);
    sori_status st = sori_op_validate(host, err);
    if (st != SORI_OK)
        return st;

    sori_op_desc dev = *host, ref = *host;
    opbuf bd[MAX_BUFS], br[MAX_BUFS];
    int n = list_buffers(&dev, bd);
    list_buffers(&ref, br);
    void *dptr[MAX_BUFS] = {0}, *rptr[MAX_BUFS] = {0}, *outp[MAX_BUFS] = {0};
    double *scratch = NULL, *times = NULL;

    /* One backend buffer and one reference copy per distinct host pointer
     * (in-place ops pass the same pointer twice). */
    const void *hostp[MAX_BUFS];
    int alias[MAX_BUFS];
    for (int i = 0; i < n; i++) {
        hostp[i] = *bd[i].field;
        alias[i] = -1;
        for (int j = 0; j < i; j++)
            if (alias[j] < 0 && hostp[j] == hostp[i]) {
                alias[i] = j;
                if (bd[i].n_bytes > bd[j].n_bytes)
                    bd[j].n_bytes = bd[i].n_bytes;
                if (bd[i].role != IN)
                    bd[j].role = bd[j].role == IN ? INOUT : bd[j].role;
            }
    }
    for (int i = 0; i < n && st == SORI_OK; i++) {
        if (alias[i] >= 0)
            continue;
        size_t nb = bd[i].n_bytes;
        st = sori_rt_alloc(rt, nb, &dptr[i], err);
        if (st != SORI_OK)
            break;
        rptr[i] = malloc(nb ? nb : 1);
        outp[i] = malloc(nb ? nb : 1);
        if (!rptr[i] || !outp[i]) {
            st = sori_fail(err, SORI_ERR_NO_MEMORY, 0, "opcheck: out of host memory");
            break;
        }
        if (bd[i].role == IN || bd[i].role == INOUT) {
            memcpy(rptr[i], hostp[i], nb);
            st = sori_rt_upload(rt, stream, dptr[i], hostp[i], nb, err);
        } else {
            memset(rptr[i], 0, nb);
            st = sori_rt_iface(rt)->memzero(sori_rt_backend(rt), stream, dptr[i], nb, err);
        }
    }
    if (st == SORI_OK && dev.op == SORI_OP_ATTENTION) {
        scratch = malloc((size_t)dev.u.attention.t_k * sizeof(double));
        if (!scratch)
            st = sori_fail(err, SORI_ERR_NO_MEMORY, 0, "opcheck: out of host memory");
    }
    if (st == SORI_OK && !(times = malloc((size_t)n_runs * sizeof(double))))
        st = sori_fail(err, SORI_ERR_NO_MEMORY, 0, "opcheck: out of host memory");
    if (st == SORI_OK) {
        for (int i = 0; i < n; i++) {
            int k = alias[i] >= 0 ? alias[i] : i;
            *bd[i].field = dptr[k];
            *br[i].field = rptr[k];
        }
        for (int r = 0; r < n_runs && st == SORI_OK; r++) {
            for (int i = 0; i < n && st == SORI_OK && r > 0; i++)
                if (alias[i] < 0 && bd[i].role == INOUT)
                    st = sori_rt_upload(rt, stream, dptr[i], hostp[i], bd[i].n_bytes, err);
            if (st == SORI_OK)
                st = sori_rt_sync(rt, stream, err);
            double t0 = sori_now_seconds();
            if (st == SORI_OK)
                st = sori_rt_run(rt, stream, &dev, err);
            if (st == SORI_OK)
                st = sori_rt_sync(rt, stream, err);
            times[r] = sori_now_seconds() - t0;
        }
    }
    for (int i = 0; i < n && st == SORI_OK; i++)
        if (alias[i] < 0 && bd[i].role != IN && bd[i].role != SCRATCH)
            st = sori_rt_download(rt, stream, outp[i], dptr[i], bd[i].n_bytes, err);
    if (st == SORI_OK)
        st = sori_rt_sync(rt, stream, err);
    if (st == SORI_OK)
        st = sori_ref_run(&ref, scratch, err);
    if (st == SORI_OK) {
        qsort(times, (size_t)n_runs, sizeof(double), cmp_double);
        res->seconds = times[n_runs / 2];
        for (int i = 0; i < n; i++) {
            if (alias[i] >= 0 || bd[i].role == IN || bd[i].role == SCRATCH)
                continue;
            double rel, mx;
            int64_t cnt = (int64_t)(bd[i].n_bytes / sizeof(float));
            sori_compare(outp[i], rptr[i], cnt, &rel, &mx);
            if (rel > res->rel_l2 || isnan(rel))
                res->rel_l2 = rel;
            if (mx > res->max_abs || isnan(mx))
                res->max_abs = mx;
            res->n_out += cnt;
        }
    }
    for (int i = 0; i < n; i++) {
        sori_rt_release(rt, dptr[i]);
        free(rptr[i]);
        free(outp[i]);
    }
    free(scratch);
    free(times);
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
