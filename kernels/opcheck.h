/*
 * kernels/opcheck.h — run one op on a runtime's backend from host data and
 * compare it with the double-precision reference. Used by `sori check`, the
 * op tests and the CUDA parity tests, so all three measure the same way.
 */
#ifndef SORI_KERNELS_OPCHECK_H
#define SORI_KERNELS_OPCHECK_H

#include "kernels.h"

typedef struct sori_opcheck_result {
    double rel_l2;   /* over all outputs: ||out - ref|| / ||ref||          */
    double max_abs;  /* max |out - ref|                                    */
    double seconds;  /* median wall time of the backend run (incl. sync)   */
    int64_t n_out;   /* output elements compared                           */
} sori_opcheck_result;

/* `host` is a descriptor whose pointers are host memory holding the inputs
 * (outputs may be uninitialized, except matmul's C when beta != 0). The op
 * is uploaded, run `n_runs` times (>= 1) on `stream`, downloaded and
 * compared with sori_ref_run on a host copy. Host buffers are not modified. */
sori_status sori_opcheck(sori_runtime *rt, int stream, const sori_op_desc *host, int n_runs,
                         sori_opcheck_result *res, sori_error *err);

/* The same staging without the reference: median wall time of n_runs runs
 * after one warm-up run. For benchmarks. */
sori_status sori_opbench(sori_runtime *rt, int stream, const sori_op_desc *host, int n_runs,
                         double *median_seconds, sori_error *err);

/* Deterministic test data: xorshift64* (seeded; seed 0 is remapped). */
typedef struct sori_rng {
    uint64_t s;
} sori_rng;
void sori_rng_seed(sori_rng *r, uint64_t seed);
uint64_t sori_rng_next(sori_rng *r);
float sori_rng_uniform(sori_rng *r, float lo, float hi); /* [lo, hi) */
int sori_rng_int(sori_rng *r, int lo, int hi);          /* [lo, hi] */
void sori_rng_fill(sori_rng *r, float *x, int64_t n, float lo, float hi);

double sori_now_seconds(void); /* monotonic clock */

/* ---- random op cases -----------------------------------------------------------
 * Each builder allocates host buffers filled from `r` and a descriptor that
 * points at them; sori_opcase_free releases them. NULL on out-of-memory.
 * Weight-like tensors are scaled by 1/sqrt(fan-in) so outputs stay O(1). */
typedef struct sori_opcase {
    sori_op_desc desc;
    void *bufs[16];
    int n_bufs;
    char label[160]; /* op and shape, for reports */
} sori_opcase;

void sori_opcase_free(sori_opcase *c);
sori_opcase *sori_opcase_matmul(sori_rng *r, int batch, int m, int n, int k, bool trans_a,
                                bool trans_b, bool share_b, bool bias, float beta, sori_act act,
                                sori_dtype b_type);
sori_opcase *sori_opcase_conv1d(sori_rng *r, int batch, int t_in, int c_in, int c_out, int kernel,
                                int stride, int pad_left, int pad_right, bool depthwise, bool bias,
                                sori_act act);
/* A dense conv2d case (groups 1, c_out a multiple of 16) turned into its
 * packed-weight, rows-of-channels form (SORI_F32_P16); others unchanged. */
void sori_opcase_conv2d_pack(sori_opcase *c);
sori_opcase *sori_opcase_conv2d(sori_rng *r, int batch, int c_in, int h, int w, int c_out, int kh,
                                int kw, int stride_h, int stride_w, int pad_top, int pad_bottom,
                                int pad_left, int pad_right, bool depthwise, sori_act act);
sori_opcase *sori_opcase_layer_norm(sori_rng *r, int64_t rows, int dim, bool affine, bool in_place);
sori_opcase *sori_opcase_batch_norm(sori_rng *r, int64_t rows, int channels, sori_act act);
sori_opcase *sori_opcase_softmax(sori_rng *r, int64_t rows, int dim, bool log, bool masked);
sori_opcase *sori_opcase_unary(sori_rng *r, int64_t n, sori_act act, float scale);
sori_opcase *sori_opcase_glu(sori_rng *r, int64_t rows, int dim);
sori_opcase *sori_opcase_binary(sori_rng *r, sori_binary_kind kind, int64_t rows, int dim,
                                bool row_broadcast, float beta);
/* y = a * mask[row] (0/1 per row, as padding masks are applied) */
sori_opcase *sori_opcase_row_mask(sori_rng *r, int64_t rows, int dim);
sori_opcase *sori_opcase_embedding(sori_rng *r, int64_t n_ids, int vocab, int dim, sori_dtype t);
/* ragged: random kv ranges and q lengths per batch item (some fully empty
 * queries). rel_pos: NeMo relative positions with n_pos = 2*t_k-1. */
sori_opcase *sori_opcase_attention(sori_rng *r, int batch, int heads, int t_q, int t_k, int d_k,
                                   bool rel_pos, sori_att_context ctx, int left, int right,
                                   int chunk_size, bool ragged);
sori_opcase *sori_opcase_lstm(sori_rng *r, int batch, int n_in, int hidden);
/* random frames (16-bit scale), a window and a non-negative mel matrix */
sori_opcase *sori_opcase_logmel(sori_rng *r, int64_t n_frames, int frame_len, int fft_size,
                                int n_mels, bool kaldi, int energy_col);

#endif
