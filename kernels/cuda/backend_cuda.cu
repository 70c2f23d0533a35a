/* The CUDA backend, built as libsori_cuda.so and loaded by libsori at run
 * time (kernels/runtime.c). It implements the table in kernels/backend.h:
 * cuBLAS for every matrix product (row-major operands are passed as their
 * column-major transposes), cuDNN for 2-D convolutions, and small kernels
 * for the rest. Written in the C subset of CUDA C++.
 *
 * Threading: each stream index belongs to one host thread at a time; every
 * stream has its own cuBLAS and cuDNN handle and its own scratch buffer, so
 * worker threads on different streams never share mutable state.
 *
 * Precision: FP32 everywhere with TF32 tensor cores disabled, unless the
 * environment sets SORI_CUDA_TF32=1; f16 weights (matmul B, embedding
 * tables) are multiplied with FP32 accumulation. */
#include <cublas_v2.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <cudnn.h>
#include <cufft.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../backend.h"

#define MAX_STREAMS 16

struct sori_backend {
    int device;
    int n_streams;
    bool tf32;
    cudaStream_t streams[MAX_STREAMS];
    cublasHandle_t blas[MAX_STREAMS];
    cudnnHandle_t dnn[MAX_STREAMS];
    void *scratch[MAX_STREAMS];
    size_t scratch_bytes[MAX_STREAMS];
    /* cuFFT: one batched real-to-complex plan per stream, made on first
     * use for LOGMEL_BATCH frames of one FFT size (remade if the size
     * changes) */
    cufftHandle fft_plan[MAX_STREAMS];
    int fft_size[MAX_STREAMS];
};

#define LOGMEL_BATCH 2048

static sori_status fail(sori_error *err, sori_status st, int code, const char *fmt, ...)
{
    if (err) {
        err->status = st;
        err->backend_code = code;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return st;
}

#define CU(call, what)                                                                             \
    do {                                                                                           \
        cudaError_t e_ = (call);                                                                   \
        if (e_ != cudaSuccess)                                                                     \
            return fail(err, e_ == cudaErrorMemoryAllocation ? SORI_ERR_NO_MEMORY : SORI_ERR_BACKEND, \
                        (int)e_, "cuda: %s: %s", what, cudaGetErrorString(e_));                   \
    } while (0)
#define BLAS(call, what)                                                                           \
    do {                                                                                           \
        cublasStatus_t s_ = (call);                                                                \
        if (s_ != CUBLAS_STATUS_SUCCESS)                                                           \
            return fail(err, SORI_ERR_BACKEND, (int)s_, "cublas: %s: %s", what,                    \
                        cublasGetStatusString(s_));                                                \
    } while (0)
#define DNN(call, what)                                                                            \
    do {                                                                                           \
        cudnnStatus_t s_ = (call);                                                                 \
        if (s_ != CUDNN_STATUS_SUCCESS) {                                                          \
            st = fail(err, SORI_ERR_BACKEND, (int)s_, "cudnn: %s: %s", what,                       \
                      cudnnGetErrorString(s_));                                                    \
            goto done;                                                                             \
        }                                                                                          \
    } while (0)
#define LAUNCHED(what) CU(cudaGetLastError(), what)

static int grid_for(int64_t n, int block)
{
    int64_t g = (n + block - 1) / block;
    return (int)(g > 65535 * 8 ? 65535 * 8 : g < 1 ? 1 : g);
}

/* ---- device helpers -------------------------------------------------------------- */

__device__ __forceinline__ float act_dev(int a, float x)
{
    switch (a) {
    case SORI_ACT_RELU: return x > 0.0f ? x : 0.0f;
    case SORI_ACT_SILU: return x / (1.0f + expf(-x));
    case SORI_ACT_TANH: return tanhf(x);
    case SORI_ACT_SIGMOID: return 1.0f / (1.0f + expf(-x));
    case SORI_ACT_GELU: return 0.5f * x * (1.0f + erff(x * 0.70710678118654752f));
    default: return x;
    }
}

/* Block-wide sum / max for blockDim.x a multiple of 32, at most 1024. */
__device__ float block_sum(float v, float *sh)
{
    for (int o = 16; o > 0; o >>= 1)
        v += __shfl_xor_sync(0xffffffffu, v, o);
    int lane = threadIdx.x & 31, wid = threadIdx.x >> 5;
    __syncthreads();
    if (lane == 0)
        sh[wid] = v;
    __syncthreads();
    int nw = blockDim.x >> 5;
    v = threadIdx.x < nw ? sh[threadIdx.x] : 0.0f;
    if (wid == 0)
        for (int o = 16; o > 0; o >>= 1)
            v += __shfl_xor_sync(0xffffffffu, v, o);
    if (threadIdx.x == 0)
        sh[0] = v;
    __syncthreads();
    return sh[0];
}

__device__ float block_max(float v, float *sh)
{
    for (int o = 16; o > 0; o >>= 1)
        v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    int lane = threadIdx.x & 31, wid = threadIdx.x >> 5;
    __syncthreads();
    if (lane == 0)
        sh[wid] = v;
    __syncthreads();
    int nw = blockDim.x >> 5;
    v = threadIdx.x < nw ? sh[threadIdx.x] : -INFINITY;
    if (wid == 0)
        for (int o = 16; o > 0; o >>= 1)
            v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    if (threadIdx.x == 0)
        sh[0] = v;
    __syncthreads();
    return sh[0];
}

/* ---- elementwise kernels ------------------------------------------------------------ */

__global__ void k_bias_act_rows(float *y, int64_t rows, int n, int64_t ld, const float *bias, int act)
{
    int64_t total = rows * n;
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < total;
         i += (int64_t)gridDim.x * blockDim.x) {
        int64_t r = i / n;
        int c = (int)(i % n);
        float v = y[r * ld + c] + (bias ? bias[c] : 0.0f);
        y[r * ld + c] = act_dev(act, v);
    }
}

/* NCHW: bias per channel over hw-sized planes */
__global__ void k_bias_act_planes(float *y, int64_t planes, int channels, int64_t hw,
                                  const float *bias, int act)
{
    int64_t total = planes * hw;
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < total;
         i += (int64_t)gridDim.x * blockDim.x) {
        int c = (int)((i / hw) % channels);
        y[i] = act_dev(act, y[i] + (bias ? bias[c] : 0.0f));
    }
}

__global__ void k_f32_to_f16(const float *x, __half *y, int64_t rows, int cols, int64_t ld)
{
    int64_t total = rows * cols;
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < total;
         i += (int64_t)gridDim.x * blockDim.x) {
        int64_t r = i / cols;
        int c = (int)(i % cols);
        y[r * ld + c] = __float2half_rn(x[r * ld + c]);
    }
}

__global__ void k_unary(const float *x, float *y, int64_t n, int act, float scale)
{
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * blockDim.x)
        y[i] = act_dev(act, x[i] * scale);
}

__global__ void k_glu(const float *x, float *y, int64_t rows, int dim)
{
    int64_t total = rows * dim;
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < total;
         i += (int64_t)gridDim.x * blockDim.x) {
        int64_t r = i / dim;
        int c = (int)(i % dim);
        float a = x[r * 2 * dim + c], g = x[r * 2 * dim + dim + c];
        y[i] = a / (1.0f + expf(-g));
    }
}

__global__ void k_binary(const float *a, const float *b, float *y, int64_t rows, int dim,
                         int bcast, int kind, float beta)
{
    int64_t total = rows * dim;
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < total;
         i += (int64_t)gridDim.x * blockDim.x) {
        /* bcast 1: one row for all rows; 2: one value per row */
        float bv = bcast == 1 ? b[i % dim] : bcast == 2 ? b[i / dim] : b[i];
        y[i] = kind == SORI_BIN_ADD ? a[i] + beta * bv : a[i] * bv;
    }
}

__global__ void k_batch_norm(const float *x, float *y, int64_t rows, int ch, const float *mean,
                             const float *var, const float *gamma, const float *beta, float eps,
                             int act)
{
    int64_t total = rows * ch;
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < total;
         i += (int64_t)gridDim.x * blockDim.x) {
        int c = (int)(i % ch);
        float s = (gamma ? gamma[c] : 1.0f) * rsqrtf(var[c] + eps);
        y[i] = act_dev(act, (x[i] - mean[c]) * s + (beta ? beta[c] : 0.0f));
    }
}

/* GGUF Q8_0: blocks of 32 values, each an f16 scale then 32 int8. */
__device__ __forceinline__ float q8_0_at(const uint8_t *q, int64_t i)
{
    const uint8_t *p = q + (i >> 5) * 34;
    float d = __half2float(__ushort_as_half((unsigned short)(p[0] | (p[1] << 8))));
    return d * (float)(int8_t)p[2 + (i & 31)];
}

/* n values (a multiple of 32) of Q8_0 blocks to f16. */
__global__ void k_q8_0_to_f16(const uint8_t *q, __half *y, int64_t n)
{
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
        y[i] = __float2half_rn(q8_0_at(q, i));
}

/* table_type: 0 f32, 1 f16, 2 Q8_0 (dim a multiple of 32) */
__global__ void k_embedding(const int32_t *ids, const void *table, int table_type, float *out,
                            int64_t n_ids, int vocab, int dim)
{
    int64_t total = n_ids * dim;
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < total;
         i += (int64_t)gridDim.x * blockDim.x) {
        int64_t r = i / dim;
        int c = (int)(i % dim);
        int id = ids[r];
        float v = 0.0f;
        if (id >= 0 && id < vocab)
            v = table_type == 1   ? __half2float(((const __half *)table)[(int64_t)id * dim + c])
                : table_type == 2 ? q8_0_at((const uint8_t *)table, (int64_t)id * dim + c)
                                  : ((const float *)table)[(int64_t)id * dim + c];
        out[i] = v;
    }
}

/* ---- row kernels: one block per row ------------------------------------------------------ */

__global__ void k_layer_norm(const float *x, float *y, int dim, const float *gamma,
                             const float *beta, float eps)
{
    __shared__ float sh[32];
    const float *xr = x + (int64_t)blockIdx.x * dim;
    float *yr = y + (int64_t)blockIdx.x * dim;
    float s = 0.0f;
    for (int i = threadIdx.x; i < dim; i += blockDim.x)
        s += xr[i];
    float mean = block_sum(s, sh) / dim;
    float v = 0.0f;
    for (int i = threadIdx.x; i < dim; i += blockDim.x) {
        float t = xr[i] - mean;
        v += t * t;
    }
    float inv = rsqrtf(block_sum(v, sh) / dim + eps);
    for (int i = threadIdx.x; i < dim; i += blockDim.x)
        yr[i] = (xr[i] - mean) * inv * (gamma ? gamma[i] : 1.0f) + (beta ? beta[i] : 0.0f);
}

__global__ void k_softmax(const float *x, const uint8_t *mask, float *y, int dim, int log_out)
{
    __shared__ float sh[32];
    int64_t off = (int64_t)blockIdx.x * dim;
    const float *xr = x + off;
    const uint8_t *m = mask ? mask + off : NULL;
    float *yr = y + off;
    float mx = -INFINITY;
    for (int i = threadIdx.x; i < dim; i += blockDim.x)
        if (!(m && m[i]))
            mx = fmaxf(mx, xr[i]);
    mx = block_max(mx, sh);
    if (mx == -INFINITY) {
        for (int i = threadIdx.x; i < dim; i += blockDim.x)
            yr[i] = 0.0f;
        return;
    }
    float s = 0.0f;
    for (int i = threadIdx.x; i < dim; i += blockDim.x)
        if (!(m && m[i]))
            s += expf(xr[i] - mx);
    s = block_sum(s, sh);
    float lse = mx + logf(s), inv = 1.0f / s;
    for (int i = threadIdx.x; i < dim; i += blockDim.x) {
        bool masked = m && m[i];
        if (log_out)
            yr[i] = masked ? -INFINITY : xr[i] - lse;
        else
            yr[i] = masked ? 0.0f : expf(xr[i] - mx) * inv;
    }
}

static int row_threads(int dim)
{
    int t = 32;
    while (t < dim && t < 1024)
        t <<= 1;
    return t;
}

/* ---- convolution helpers -------------------------------------------------------------------- */

/* col[(b*T_out + t), c*K + k] = x[b, t*s + k - pl, c] */
__global__ void k_im2col_1d(const float *x, float *col, int batch, int t_in, int c_in, int t_out,
                            int kernel, int stride, int pad_left)
{
    int64_t ck = (int64_t)c_in * kernel;
    int64_t total = (int64_t)batch * t_out * ck;
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < total;
         i += (int64_t)gridDim.x * blockDim.x) {
        int64_t row = i / ck;
        int j = (int)(i % ck);
        int c = j / kernel, k = j % kernel;
        int b = (int)(row / t_out), t = (int)(row % t_out);
        int ti = t * stride + k - pad_left;
        col[i] = (ti < 0 || ti >= t_in) ? 0.0f : x[((int64_t)b * t_in + ti) * c_in + c];
    }
}

__global__ void k_depthwise_1d(const float *x, const float *w, const float *bias, float *y,
                               int batch, int t_in, int ch, int t_out, int kernel, int stride,
                               int pad_left, int act)
{
    int64_t total = (int64_t)batch * t_out * ch;
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < total;
         i += (int64_t)gridDim.x * blockDim.x) {
        int c = (int)(i % ch);
        int64_t bt = i / ch;
        int t = (int)(bt % t_out), b = (int)(bt / t_out);
        float acc = bias ? bias[c] : 0.0f;
        for (int k = 0; k < kernel; k++) {
            int ti = t * stride + k - pad_left;
            if (ti >= 0 && ti < t_in)
                acc += w[(int64_t)c * kernel + k] * x[((int64_t)b * t_in + ti) * ch + c];
        }
        y[i] = act_dev(act, acc);
    }
}

/* ---- attention helpers ---------------------------------------------------------------------- */

/* qu = q + u, qv = q + v per head (contiguous [B*t_q, H*d_k]) */
__global__ void k_add_pos_bias(const float *q, int64_t q_stride, const float *u, const float *v,
                               float *qu, float *qv, int64_t rows, int hk)
{
    int64_t total = rows * hk;
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < total;
         i += (int64_t)gridDim.x * blockDim.x) {
        int64_t r = i / hk;
        int c = (int)(i % hk);
        float x = q[r * q_stride + c];
        qu[i] = x + u[c];
        qv[i] = x + v[c];
    }
}

typedef struct {
    int batch, heads, t_q, t_k, n_pos;
    float scale;
    int context, left, right, chunk_size, left_chunks;
} att_params;

/* One block per (b, h, i) row of scores [B, H, t_q, t_k]: adds the shifted
 * positional term, scales, masks and applies softmax in place. */
__global__ void k_att_softmax(float *scores, const float *bd, att_params p, const int32_t *lens)
{
    __shared__ float sh[32];
    int64_t row = blockIdx.x;
    int i = (int)(row % p.t_q);
    int b = (int)(row / ((int64_t)p.t_q * p.heads));
    float *s = scores + row * p.t_k;
    const float *bdr = bd ? bd + row * p.n_pos : NULL;
    int ks = lens ? lens[b] : 0;
    int ke = lens ? lens[p.batch + b] : p.t_k;
    int ql = lens ? lens[2 * p.batch + b] : p.t_q;
    int q_off = p.t_k - p.t_q, center = (p.n_pos - 1) / 2;
    int qp = i + q_off;
    float mx = -INFINITY;
    for (int j = threadIdx.x; j < p.t_k; j += blockDim.x) {
        bool masked = i >= ql || j < ks || j >= ke;
        if (!masked && p.context == SORI_ATT_LIMITED)
            masked = (p.left >= 0 && j - qp < -p.left) || (p.right >= 0 && j - qp > p.right);
        if (!masked && p.context == SORI_ATT_CHUNKED) {
            int dc = qp / p.chunk_size - j / p.chunk_size;
            masked = dc < 0 || (p.left_chunks >= 0 && dc > p.left_chunks);
        }
        float v = -INFINITY;
        if (!masked) {
            v = s[j];
            if (bdr)
                v += bdr[center - qp + j];
            v *= p.scale;
        }
        s[j] = v;
        mx = fmaxf(mx, v);
    }
    mx = block_max(mx, sh);
    if (mx == -INFINITY) {
        for (int j = threadIdx.x; j < p.t_k; j += blockDim.x)
            s[j] = 0.0f;
        return;
    }
    float sum = 0.0f;
    for (int j = threadIdx.x; j < p.t_k; j += blockDim.x) {
        float e = s[j] == -INFINITY ? 0.0f : expf(s[j] - mx);
        s[j] = e;
        sum += e;
    }
    float inv = 1.0f / block_sum(sum, sh);
    for (int j = threadIdx.x; j < p.t_k; j += blockDim.x)
        s[j] *= inv;
}

__global__ void k_lstm_cell(const float *gates, const float *b_ih, const float *b_hh,
                            const float *c_in, float *h_out, float *c_out, int batch, int hidden)
{
    int64_t total = (int64_t)batch * hidden;
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < total;
         i += (int64_t)gridDim.x * blockDim.x) {
        int b = (int)(i / hidden), j = (int)(i % hidden);
        const float *g = gates + (int64_t)b * 4 * hidden;
        float v[4];
        for (int q = 0; q < 4; q++) {
            int r = q * hidden + j;
            v[q] = g[r] + (b_ih ? b_ih[r] : 0.0f) + (b_hh ? b_hh[r] : 0.0f);
        }
        float ig = 1.0f / (1.0f + expf(-v[0])), fg = 1.0f / (1.0f + expf(-v[1]));
        float gg = tanhf(v[2]), og = 1.0f / (1.0f + expf(-v[3]));
        float c = fg * c_in[i] + ig * gg;
        c_out[i] = c;
        h_out[i] = og * tanhf(c);
    }
}

/* ---- scratch ------------------------------------------------------------------------------------ */

/* Per-stream scratch that grows to the largest request and stays (no growth
 * after warm-up). Growing waits for the stream so the old buffer is idle. */
static sori_status scratch_get(sori_backend *be, int s, size_t n_bytes, void **out, sori_error *err)
{
    if (be->scratch_bytes[s] < n_bytes) {
        CU(cudaStreamSynchronize(be->streams[s]), "synchronize before growing scratch");
        cudaFree(be->scratch[s]);
        be->scratch[s] = NULL;
        be->scratch_bytes[s] = 0;
        size_t sz = (n_bytes + 255) & ~(size_t)255;
        CU(cudaMalloc(&be->scratch[s], sz), "allocate scratch");
        be->scratch_bytes[s] = sz;
    }
    *out = be->scratch[s];
    return SORI_OK;
}

/* ---- ops ------------------------------------------------------------------------------------------ */

/* Row-major C[M×N] = op(A) op(B) as column-major C^T = op(B)^T op(A)^T. */
static sori_status gemm_f32(sori_backend *be, int s, bool ta, bool tb, int m, int n, int k,
                            float alpha, const float *a, int64_t lda, int64_t sa, const float *b,
                            int64_t ldb, int64_t sb, float beta, float *c, int64_t ldc, int64_t sc,
                            int batch, sori_error *err)
{
    BLAS(cublasSgemmStridedBatched(be->blas[s], tb ? CUBLAS_OP_T : CUBLAS_OP_N,
                                   ta ? CUBLAS_OP_T : CUBLAS_OP_N, n, m, k, &alpha, b, (int)ldb, sb,
                                   a, (int)lda, sa, &beta, c, (int)ldc, sc, batch),
         "sgemm");
    return SORI_OK;
}

static sori_status cuda_matmul(sori_backend *be, int s, const sori_matmul_desc *d, sori_error *err)
{
    cudaStream_t st = be->streams[s];
    sori_status rc;
    if (d->b_type == SORI_F32) {
        rc = gemm_f32(be, s, d->trans_a, d->trans_b, d->m, d->n, d->k, d->alpha, d->a, d->lda,
                      d->stride_a, (const float *)d->b, d->ldb, d->stride_b, d->beta, d->c, d->ldc,
                      d->stride_c, d->batch, err);
        if (rc != SORI_OK)
            return rc;
    } else {
        /* f16 weights: convert the activations to f16 in scratch, multiply
         * with f32 accumulation into the f32 output. Q8_0 weights are first
         * expanded to f16 in scratch after them (blocks run along B's rows:
         * trans_b, k, ldb and stride_b multiples of 32). */
        int64_t rows_a = d->trans_a ? d->k : d->m;
        int64_t a_elems = (int64_t)(d->batch - 1) * d->stride_a + rows_a * d->lda;
        const bool q8 = d->b_type == SORI_Q8_0;
        if (q8 && (!d->trans_b || d->k % 32 || d->ldb % 32 || d->stride_b % 32))
            return fail(err, SORI_ERR_INVALID_ARG, 0, "cuda backend: Q8_0 weights need trans_b and k, ldb, stride_b "
                                                      "multiples of 32");
        int64_t b_elems = q8 ? (int64_t)(d->stride_b ? d->batch - 1 : 0) * d->stride_b + (int64_t)d->n * d->ldb : 0;
        size_t a_bytes = ((size_t)a_elems * sizeof(__half) + 255) & ~(size_t)255;
        void *tmp;
        rc = scratch_get(be, s, a_bytes + (size_t)b_elems * sizeof(__half), &tmp, err);
        if (rc != SORI_OK)
            return rc;
        k_f32_to_f16<<<grid_for(a_elems, 256), 256, 0, st>>>(d->a, (__half *)tmp, a_elems, 1, 1);
        LAUNCHED("f32 to f16");
        const void *bw = d->b;
        if (q8) {
            __half *bh = (__half *)((char *)tmp + a_bytes);
            k_q8_0_to_f16<<<grid_for(b_elems, 256), 256, 0, st>>>((const uint8_t *)d->b, bh, b_elems);
            LAUNCHED("q8_0 to f16");
            bw = bh;
        }
        BLAS(cublasGemmStridedBatchedEx(
                 be->blas[s], d->trans_b ? CUBLAS_OP_T : CUBLAS_OP_N,
                 d->trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, d->n, d->m, d->k, &d->alpha, bw,
                 CUDA_R_16F, (int)d->ldb, d->stride_b, tmp, CUDA_R_16F, (int)d->lda, d->stride_a,
                 &d->beta, d->c, CUDA_R_32F, (int)d->ldc, d->stride_c, d->batch,
                 CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
             "gemm f16");
    }
    if (d->bias || d->act != SORI_ACT_NONE) {
        /* contiguous batches are one block of rows; otherwise one launch each */
        bool contiguous = d->stride_c == (int64_t)d->m * d->ldc;
        int launches = contiguous ? 1 : d->batch;
        int64_t rows = contiguous ? (int64_t)d->batch * d->m : d->m;
        for (int b = 0; b < launches; b++) {
            k_bias_act_rows<<<grid_for(rows * d->n, 256), 256, 0, st>>>(
                d->c + (int64_t)b * d->stride_c, rows, d->n, d->ldc, d->bias, d->act);
            LAUNCHED("bias/activation");
        }
    }
    return SORI_OK;
}

static sori_status cuda_conv1d(sori_backend *be, int s, const sori_conv1d_desc *d, sori_error *err)
{
    cudaStream_t st = be->streams[s];
    int t_out = (d->t_in + d->pad_left + d->pad_right - d->kernel) / d->stride + 1;
    int64_t rows = (int64_t)d->batch * t_out;
    if (d->groups != 1) {
        k_depthwise_1d<<<grid_for(rows * d->c_in, 256), 256, 0, st>>>(
            d->x, d->w, d->bias, d->y, d->batch, d->t_in, d->c_in, t_out, d->kernel, d->stride,
            d->pad_left, d->act);
        LAUNCHED("depthwise conv1d");
        return SORI_OK;
    }
    const float *src = d->x;
    int64_t ck = (int64_t)d->c_in * d->kernel;
    if (!(d->kernel == 1 && d->stride == 1 && d->pad_left == 0)) {
        void *col;
        sori_status rc = scratch_get(be, s, (size_t)(rows * ck) * sizeof(float), &col, err);
        if (rc != SORI_OK)
            return rc;
        k_im2col_1d<<<grid_for(rows * ck, 256), 256, 0, st>>>(d->x, (float *)col, d->batch,
                                                                d->t_in, d->c_in, t_out, d->kernel,
                                                                d->stride, d->pad_left);
        LAUNCHED("im2col");
        src = (const float *)col;
    }
    sori_status rc = gemm_f32(be, s, false, true, (int)rows, d->c_out, (int)ck, 1.0f, src, ck, 0,
                              d->w, ck, 0, 0.0f, d->y, d->c_out, 0, 1, err);
    if (rc != SORI_OK)
        return rc;
    if (d->bias || d->act != SORI_ACT_NONE) {
        k_bias_act_rows<<<grid_for(rows * d->c_out, 256), 256, 0, st>>>(d->y, rows, d->c_out,
                                                                         d->c_out, d->bias, d->act);
        LAUNCHED("bias/activation");
    }
    return SORI_OK;
}

/* x [B, C, H, W] → xp [B, C, H+pt+pb, W+pl+pr] with zeros around */
__global__ void k_pad2d(const float *x, float *xp, int64_t planes, int h, int w, int pt, int pl,
                        int hp, int wp)
{
    int64_t total = planes * hp * wp;
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < total;
         i += (int64_t)gridDim.x * blockDim.x) {
        int64_t pl_idx = i / ((int64_t)hp * wp);
        int r = (int)((i / wp) % hp) - pt, c = (int)(i % wp) - pl;
        xp[i] = (r < 0 || r >= h || c < 0 || c >= w) ? 0.0f : x[(pl_idx * h + r) * w + c];
    }
}

/* cuDNN convolution. cuDNN pads symmetrically, so asymmetric padding (NeMo's
 * causal subsampling) is applied by copying the input padded into scratch
 * first and convolving that with no padding. */
static sori_status cuda_conv2d(sori_backend *be, int s, const sori_conv2d_desc *d, sori_error *err)
{
    if (d->wt_type != SORI_F32)
        return fail(err, SORI_ERR_UNSUPPORTED, 0, "cuda: conv2d: packed CPU weights");
    sori_status st = SORI_OK;
    cudnnTensorDescriptor_t xd = NULL, yd = NULL;
    cudnnFilterDescriptor_t wd = NULL;
    cudnnConvolutionDescriptor_t cd = NULL;
    const int ho = (d->h + d->pad_top + d->pad_bottom - d->kh) / d->stride_h + 1;
    const int wo = (d->w + d->pad_left + d->pad_right - d->kw) / d->stride_w + 1;
    const bool sym = d->pad_top == d->pad_bottom && d->pad_left == d->pad_right;
    const int hp = sym ? d->h : d->h + d->pad_top + d->pad_bottom;
    const int wp = sym ? d->w : d->w + d->pad_left + d->pad_right;
    const size_t pad_bytes = sym ? 0 : ((size_t)d->batch * d->c_in * hp * wp * sizeof(float) + 255) & ~(size_t)255;
    const float one = 1.0f, zero = 0.0f;
    cudnnConvolutionFwdAlgoPerf_t perf[8];
    int n_algo = 0;
    cudnnConvolutionFwdAlgo_t algo = CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM;
    size_t ws = 0;
    void *scr = NULL;
    const float *x = d->x;
    cudaError_t e = cudaSuccess;

    DNN(cudnnCreateTensorDescriptor(&xd), "tensor descriptor");
    DNN(cudnnCreateTensorDescriptor(&yd), "tensor descriptor");
    DNN(cudnnCreateFilterDescriptor(&wd), "filter descriptor");
    DNN(cudnnCreateConvolutionDescriptor(&cd), "convolution descriptor");
    DNN(cudnnSetTensor4dDescriptor(xd, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, d->batch, d->c_in, hp, wp),
        "x descriptor");
    DNN(cudnnSetTensor4dDescriptor(yd, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, d->batch, d->c_out, ho, wo),
        "y descriptor");
    DNN(cudnnSetFilter4dDescriptor(wd, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, d->c_out,
                                   d->c_in / d->groups, d->kh, d->kw),
        "w descriptor");
    DNN(cudnnSetConvolution2dDescriptor(cd, sym ? d->pad_top : 0, sym ? d->pad_left : 0, d->stride_h,
                                        d->stride_w, 1, 1, CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT),
        "conv descriptor");
    DNN(cudnnSetConvolutionGroupCount(cd, d->groups), "group count");
    DNN(cudnnSetConvolutionMathType(cd, be->tf32 ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH), "math type");
    DNN(cudnnGetConvolutionForwardAlgorithm_v7(be->dnn[s], xd, wd, cd, yd, 8, &n_algo, perf),
        "choose algorithm");
    for (int i = 0; i < n_algo; i++)
        if (perf[i].status == CUDNN_STATUS_SUCCESS) {
            algo = perf[i].algo;
            ws = perf[i].memory;
            break;
        }
    st = scratch_get(be, s, pad_bytes + ws + 256, &scr, err);
    if (st != SORI_OK)
        goto done;
    if (!sym) {
        int64_t planes = (int64_t)d->batch * d->c_in;
        k_pad2d<<<grid_for(planes * hp * wp, 256), 256, 0, be->streams[s]>>>(
            d->x, (float *)scr, planes, d->h, d->w, d->pad_top, d->pad_left, hp, wp);
        x = (const float *)scr;
    }
    DNN(cudnnConvolutionForward(be->dnn[s], &one, xd, x, wd, d->wt, cd, algo,
                                ws ? (char *)scr + pad_bytes : NULL, ws, &zero, yd, d->y),
        "convolution");
    {
        int64_t planes = (int64_t)d->batch * d->c_out, hw = (int64_t)ho * wo;
        k_bias_act_planes<<<grid_for(planes * hw, 256), 256, 0, be->streams[s]>>>(
            d->y, planes, d->c_out, hw, d->bias, d->act);
    }
    e = cudaGetLastError();
    if (e != cudaSuccess)
        st = fail(err, SORI_ERR_BACKEND, (int)e, "cuda: conv2d: %s", cudaGetErrorString(e));
done:
    cudnnDestroyTensorDescriptor(xd);
    cudnnDestroyTensorDescriptor(yd);
    cudnnDestroyFilterDescriptor(wd);
    cudnnDestroyConvolutionDescriptor(cd);
    return st;
}

static sori_status cuda_attention(sori_backend *be, int s, const sori_attention_desc *d,
                                  sori_error *err)
{
    cudaStream_t st = be->streams[s];
    int B = d->batch, H = d->heads, Tq = d->t_q, Tk = d->t_k, dk = d->d_k, dv = d->d_v;
    bool rel = d->pos != NULL;
    int64_t hk = (int64_t)H * dk;
    size_t n_scores = (size_t)B * H * Tq * Tk;
    size_t n_bd = rel ? (size_t)B * H * Tq * d->n_pos : 0;
    size_t n_q = rel ? 2 * (size_t)B * Tq * hk : 0;
    size_t n_lens = 3 * (size_t)B;
    void *scr;
    sori_status rc = scratch_get(be, s, (n_scores + n_bd + n_q + n_lens) * sizeof(float), &scr, err);
    if (rc != SORI_OK)
        return rc;
    float *scores = (float *)scr, *bd = scores + n_scores, *qu = bd + n_bd,
          *qv = qu + (rel ? (size_t)B * Tq * hk : 0);
    int32_t *lens = (int32_t *)(qu + n_q);
    bool any_len = d->kv_start || d->kv_end || d->q_len;
    if (any_len) {
        int32_t host[3 * 32];
        int32_t *h = B <= 32 ? host : (int32_t *)malloc(n_lens * sizeof(int32_t));
        if (!h)
            return fail(err, SORI_ERR_NO_MEMORY, 0, "cuda attention: out of host memory");
        for (int b = 0; b < B; b++) {
            h[b] = d->kv_start ? d->kv_start[b] : 0;
            h[B + b] = d->kv_end ? d->kv_end[b] : Tk;
            h[2 * B + b] = d->q_len ? d->q_len[b] : Tq;
        }
        /* pageable source: the copy is staged before the call returns */
        cudaError_t e = cudaMemcpyAsync(lens, h, n_lens * sizeof(int32_t), cudaMemcpyHostToDevice, st);
        if (h != host)
            free(h);
        CU(e, "upload attention lengths");
    }
    const float *qa = d->q;
    int64_t qa_stride = d->q_stride;
    if (rel) {
        k_add_pos_bias<<<grid_for((int64_t)B * Tq * hk, 256), 256, 0, st>>>(
            d->q, d->q_stride, d->pos_bias_u, d->pos_bias_v, qu, qv, (int64_t)B * Tq, (int)hk);
        LAUNCHED("pos bias");
        qa = qu;
        qa_stride = hk;
    }
    for (int b = 0; b < B; b++) {
        /* scores[b, h] = qa_bh · k_bhᵀ, batched over heads (head stride d_k) */
        rc = gemm_f32(be, s, false, true, Tq, Tk, dk, 1.0f, qa + (int64_t)b * Tq * qa_stride,
                      qa_stride, dk, d->k + (int64_t)b * Tk * d->k_stride, d->k_stride, dk, 0.0f,
                      scores + (size_t)b * H * Tq * Tk, Tk, (int64_t)Tq * Tk, H, err);
        if (rc != SORI_OK)
            return rc;
        if (rel) {
            rc = gemm_f32(be, s, false, true, Tq, d->n_pos, dk, 1.0f, qv + (int64_t)b * Tq * hk, hk,
                          dk, d->pos, hk, dk, 0.0f, bd + (size_t)b * H * Tq * d->n_pos, d->n_pos,
                          (int64_t)Tq * d->n_pos, H, err);
            if (rc != SORI_OK)
                return rc;
        }
    }
    att_params p = {B, H, Tq, Tk, d->n_pos, d->scale, (int)d->context, d->left, d->right,
                    d->chunk_size, d->left_chunks};
    k_att_softmax<<<(unsigned)((int64_t)B * H * Tq), row_threads(Tk), 0, st>>>(
        scores, rel ? bd : NULL, p, any_len ? lens : NULL);
    LAUNCHED("attention softmax");
    for (int b = 0; b < B; b++) {
        rc = gemm_f32(be, s, false, false, Tq, dv, Tk, 1.0f, scores + (size_t)b * H * Tq * Tk, Tk,
                      (int64_t)Tq * Tk, d->v + (int64_t)b * Tk * d->v_stride, d->v_stride, dv, 0.0f,
                      d->out + (int64_t)b * Tq * H * dv, (int64_t)H * dv, dv, H, err);
        if (rc != SORI_OK)
            return rc;
    }
    return SORI_OK;
}

/* ---- log-mel ---------------------------------------------------------------- */

/* One block per frame: (Kaldi) DC removal, raw log energy, pre-emphasis;
 * window; zero padding to the FFT size. */
__global__ void k_logmel_prep(const float *frames, const float *window, float *fft_in,
                              float *energy, int frame_len, int fft_size, int kaldi, int remove_dc,
                              float preemph, float floor)
{
    __shared__ float sh[32];
    const float *x = frames + (int64_t)blockIdx.x * frame_len;
    float *y = fft_in + (int64_t)blockIdx.x * fft_size;
    float mean = 0.0f;
    if (kaldi && remove_dc) {
        float acc = 0.0f;
        for (int i = threadIdx.x; i < frame_len; i += blockDim.x)
            acc += x[i];
        mean = block_sum(acc, sh) / frame_len;
    }
    if (kaldi && energy) {
        float acc = 0.0f;
        for (int i = threadIdx.x; i < frame_len; i += blockDim.x) {
            float v = x[i] - mean;
            acc += v * v;
        }
        acc = block_sum(acc, sh);
        if (threadIdx.x == 0)
            energy[blockIdx.x] = logf(fmaxf(acc, floor));
    }
    for (int i = threadIdx.x; i < fft_size; i += blockDim.x) {
        float v = 0.0f;
        if (i < frame_len) {
            v = x[i] - mean;
            if (kaldi)
                v -= preemph * (i > 0 ? x[i - 1] - mean : v);
            v *= window[i];
        }
        y[i] = v;
    }
}

__global__ void k_logmel_power(const cufftComplex *spec, float *power, int64_t n, float mag_power)
{
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
         i += (int64_t)gridDim.x * blockDim.x) {
        float p2 = spec[i].x * spec[i].x + spec[i].y * spec[i].y;
        power[i] = mag_power == 2.0f ? p2 : powf(sqrtf(p2), mag_power);
    }
}

__global__ void k_logmel_log(const float *mel_e, const float *energy, float *out, int64_t n_frames,
                             int n_mels, int energy_col, int kaldi, float floor)
{
    const int dim = n_mels + (energy_col >= 0);
    int64_t total = n_frames * dim;
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < total;
         i += (int64_t)gridDim.x * blockDim.x) {
        int64_t f = i / dim;
        int c = (int)(i % dim);
        float v;
        if (c == energy_col) {
            v = energy[f];
        } else {
            int m = energy_col >= 0 && c > energy_col ? c - 1 : c;
            float e = mel_e[f * n_mels + m];
            v = kaldi ? logf(fmaxf(e, floor)) : logf(e + floor);
        }
        out[i] = v;
    }
}

static sori_status cuda_logmel(sori_backend *be, int s, const sori_logmel_desc *d, sori_error *err)
{
    cudaStream_t st = be->streams[s];
    if (d->n_frames == 0)
        return SORI_OK;
    const int N = d->fft_size, nb = N / 2 + 1;
    const int dim = d->n_mels + (d->energy_col >= 0);
    if (be->fft_size[s] != N) {
        if (be->fft_size[s])
            cufftDestroy(be->fft_plan[s]);
        be->fft_size[s] = 0;
        int n[1] = {N};
        cufftResult r = cufftPlanMany(&be->fft_plan[s], 1, n, NULL, 1, N, NULL, 1, nb, CUFFT_R2C,
                                      LOGMEL_BATCH);
        if (r == CUFFT_SUCCESS)
            r = cufftSetStream(be->fft_plan[s], st);
        if (r != CUFFT_SUCCESS)
            return fail(err, SORI_ERR_BACKEND, (int)r, "cufft: plan for %d-point FFTs failed (%d)", N, (int)r);
        be->fft_size[s] = N;
    }
    /* scratch: fft input, spectrum, power, mel energies, log energies */
    size_t b = LOGMEL_BATCH;
    size_t bytes = b * N * sizeof(float) + b * nb * sizeof(cufftComplex) + b * nb * sizeof(float) +
                   b * d->n_mels * sizeof(float) + b * sizeof(float);
    void *scr;
    sori_status rc = scratch_get(be, s, bytes, &scr, err);
    if (rc != SORI_OK)
        return rc;
    float *fft_in = (float *)scr;
    cufftComplex *spec = (cufftComplex *)(fft_in + b * N);
    float *power = (float *)(spec + b * nb);
    float *mel_e = power + b * nb;
    float *energy = mel_e + b * d->n_mels;
    for (int64_t f0 = 0; f0 < d->n_frames; f0 += LOGMEL_BATCH) {
        int64_t n = d->n_frames - f0 < LOGMEL_BATCH ? d->n_frames - f0 : LOGMEL_BATCH;
        int threads = row_threads(N < 1024 ? N : 1024);
        k_logmel_prep<<<(unsigned)n, threads, 0, st>>>(d->frames + f0 * d->frame_len, d->window,
                                                       fft_in, d->energy_col >= 0 ? energy : NULL,
                                                       d->frame_len, N, d->kaldi, d->remove_dc,
                                                       d->preemph, d->log_floor);
        LAUNCHED("logmel prep");
        if (n < LOGMEL_BATCH) /* the plan transforms a whole batch: clear the rest */
            CU(cudaMemsetAsync(fft_in + n * N, 0, (size_t)(LOGMEL_BATCH - n) * N * sizeof(float), st),
               "clear fft input");
        cufftResult r = cufftExecR2C(be->fft_plan[s], fft_in, spec);
        if (r != CUFFT_SUCCESS)
            return fail(err, SORI_ERR_BACKEND, (int)r, "cufft: exec failed (%d)", (int)r);
        k_logmel_power<<<grid_for(n * nb, 256), 256, 0, st>>>(spec, power, n * nb, d->mag_power);
        LAUNCHED("logmel power");
        rc = gemm_f32(be, s, false, true, (int)n, d->n_mels, d->mel_bins, 1.0f, power, nb, 0, d->mel,
                      d->mel_bins, 0, 0.0f, mel_e, d->n_mels, 0, 1, err);
        if (rc != SORI_OK)
            return rc;
        k_logmel_log<<<grid_for(n * dim, 256), 256, 0, st>>>(mel_e, energy, d->out + f0 * dim, n,
                                                             d->n_mels, d->energy_col, d->kaldi,
                                                             d->log_floor);
        LAUNCHED("logmel log");
    }
    return SORI_OK;
}

static sori_status cuda_run(sori_backend *be, int s, const sori_op_desc *op, sori_error *err)
{
    CU(cudaSetDevice(be->device), "set device");
    cudaStream_t st = be->streams[s];
    switch (op->op) {
    case SORI_OP_MATMUL: return cuda_matmul(be, s, &op->u.matmul, err);
    case SORI_OP_CONV1D: return cuda_conv1d(be, s, &op->u.conv1d, err);
    case SORI_OP_CONV2D: return cuda_conv2d(be, s, &op->u.conv2d, err);
    case SORI_OP_LAYER_NORM: {
        const sori_layer_norm_desc *d = &op->u.layer_norm;
        if (d->n_rows == 0)
            return SORI_OK;
        k_layer_norm<<<(unsigned)d->n_rows, row_threads(d->dim), 0, st>>>(d->x, d->y, d->dim,
                                                                        d->gamma, d->beta, d->eps);
        LAUNCHED("layer norm");
        return SORI_OK;
    }
    case SORI_OP_BATCH_NORM: {
        const sori_batch_norm_desc *d = &op->u.batch_norm;
        int64_t n = d->n_rows * d->channels;
        if (n == 0)
            return SORI_OK;
        k_batch_norm<<<grid_for(n, 256), 256, 0, st>>>(d->x, d->y, d->n_rows, d->channels, d->mean,
                                                       d->var, d->gamma, d->beta, d->eps, d->act);
        LAUNCHED("batch norm");
        return SORI_OK;
    }
    case SORI_OP_SOFTMAX: {
        const sori_softmax_desc *d = &op->u.softmax;
        if (d->n_rows == 0)
            return SORI_OK;
        k_softmax<<<(unsigned)d->n_rows, row_threads(d->dim), 0, st>>>(d->x, d->mask, d->y, d->dim,
                                                                     d->log);
        LAUNCHED("softmax");
        return SORI_OK;
    }
    case SORI_OP_UNARY: {
        const sori_unary_desc *d = &op->u.unary;
        if (d->n == 0)
            return SORI_OK;
        k_unary<<<grid_for(d->n, 256), 256, 0, st>>>(d->x, d->y, d->n, d->act, d->scale);
        LAUNCHED("unary");
        return SORI_OK;
    }
    case SORI_OP_GLU: {
        const sori_glu_desc *d = &op->u.glu;
        if (d->n_rows == 0)
            return SORI_OK;
        k_glu<<<grid_for(d->n_rows * d->dim, 256), 256, 0, st>>>(d->x, d->y, d->n_rows, d->dim);
        LAUNCHED("glu");
        return SORI_OK;
    }
    case SORI_OP_BINARY: {
        const sori_binary_desc *d = &op->u.binary;
        if (d->n_rows == 0)
            return SORI_OK;
        k_binary<<<grid_for(d->n_rows * d->dim, 256), 256, 0, st>>>(
            d->a, d->b, d->y, d->n_rows, d->dim, d->b_per_row ? 2 : d->b_row_broadcast ? 1 : 0, d->kind,
            d->beta);
        LAUNCHED("binary");
        return SORI_OK;
    }
    case SORI_OP_EMBEDDING: {
        const sori_embedding_desc *d = &op->u.embedding;
        if (d->n_ids == 0)
            return SORI_OK;
        k_embedding<<<grid_for(d->n_ids * d->dim, 256), 256, 0, st>>>(
            d->ids, d->table, d->table_type == SORI_F16 ? 1 : d->table_type == SORI_Q8_0 ? 2 : 0, d->out, d->n_ids,
            d->vocab, d->dim);
        LAUNCHED("embedding");
        return SORI_OK;
    }
    case SORI_OP_ATTENTION: return cuda_attention(be, s, &op->u.attention, err);
    case SORI_OP_LOGMEL: return cuda_logmel(be, s, &op->u.logmel, err);
    case SORI_OP_LSTM_STEP: {
        const sori_lstm_desc *d = &op->u.lstm;
        int G = 4 * d->hidden;
        sori_status rc = gemm_f32(be, s, false, true, d->batch, G, d->n_in, 1.0f, d->x, d->n_in, 0,
                                  d->w_ih, d->n_in, 0, 0.0f, d->gates, G, 0, 1, err);
        if (rc == SORI_OK)
            rc = gemm_f32(be, s, false, true, d->batch, G, d->hidden, 1.0f, d->h_in, d->hidden, 0,
                          d->w_hh, d->hidden, 0, 1.0f, d->gates, G, 0, 1, err);
        if (rc != SORI_OK)
            return rc;
        k_lstm_cell<<<grid_for((int64_t)d->batch * d->hidden, 256), 256, 0, st>>>(
            d->gates, d->b_ih, d->b_hh, d->c_in, d->h_out, d->c_out, d->batch, d->hidden);
        LAUNCHED("lstm cell");
        return SORI_OK;
    }
    default: break;
    }
    return fail(err, SORI_ERR_UNSUPPORTED, 0, "cuda backend: op %d not implemented", (int)op->op);
}

static bool cuda_supports(sori_backend *be, sori_op op, sori_dtype wt)
{
    (void)be;
    if ((unsigned)op >= SORI_OP_COUNT_)
        return false;
    if (wt == SORI_F32)
        return true;
    return (wt == SORI_F16 || wt == SORI_Q8_0) && (op == SORI_OP_MATMUL || op == SORI_OP_EMBEDDING);
}

/* ---- discovery, lifetime, memory ----------------------------------------------------------- */

static int cuda_device_count(char *why, size_t why_size)
{
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess) {
        if (why && why_size)
            snprintf(why, why_size, "no usable CUDA driver or GPU: %s", cudaGetErrorString(e));
        cudaGetLastError(); /* clear */
        return 0;
    }
    if (n == 0 && why && why_size)
        snprintf(why, why_size, "the CUDA driver sees no GPU");
    return n;
}

static sori_status cuda_device_info(int index, sori_gpu_info *out)
{
    cudaDeviceProp p;
    if (cudaGetDeviceProperties(&p, index) != cudaSuccess)
        return SORI_ERR_NO_DEVICE;
    memset(out, 0, sizeof *out);
    out->index = index;
    snprintf(out->name, sizeof out->name, "%.127s", p.name);
    out->cc_major = p.major;
    out->cc_minor = p.minor;
    out->total_bytes = p.totalGlobalMem;
    return SORI_OK;
}

static void cuda_free(sori_backend *be)
{
    if (!be)
        return;
    cudaSetDevice(be->device);
    for (int i = 0; i < be->n_streams; i++) {
        if (be->streams[i])
            cudaStreamSynchronize(be->streams[i]);
        if (be->dnn[i])
            cudnnDestroy(be->dnn[i]);
        if (be->fft_size[i])
            cufftDestroy(be->fft_plan[i]);
        if (be->blas[i])
            cublasDestroy(be->blas[i]);
        if (be->scratch[i])
            cudaFree(be->scratch[i]);
        if (be->streams[i])
            cudaStreamDestroy(be->streams[i]);
    }
    free(be);
}

static sori_status cuda_init(const sori_backend_init *p, sori_backend **out, sori_error *err)
{
    *out = NULL;
    sori_gpu_info info;
    if (cuda_device_info(p->device_index, &info) != SORI_OK)
        return fail(err, SORI_ERR_NO_DEVICE, 0, "cuda:%d does not exist", p->device_index);
    if (info.cc_major * 10 + info.cc_minor < 75)
        return fail(err, SORI_ERR_NO_DEVICE, 0,
                    "cuda:%d (%s) has compute capability %d.%d; sori needs 7.5 or newer",
                    p->device_index, info.name, info.cc_major, info.cc_minor);
    if (p->n_streams < 1 || p->n_streams > MAX_STREAMS)
        return fail(err, SORI_ERR_INVALID_ARG, 0, "cuda: n_streams %d not in 1..%d", p->n_streams,
                    MAX_STREAMS);
    sori_backend *be = (sori_backend *)calloc(1, sizeof *be);
    if (!be)
        return fail(err, SORI_ERR_NO_MEMORY, 0, "cuda: out of host memory");
    be->device = p->device_index;
    be->n_streams = p->n_streams;
    const char *tf = getenv("SORI_CUDA_TF32");
    be->tf32 = tf && strcmp(tf, "1") == 0;
    sori_status st = SORI_OK;
    cudaError_t e = cudaSetDevice(be->device);
    for (int i = 0; i < be->n_streams && e == cudaSuccess && st == SORI_OK; i++) {
        e = cudaStreamCreateWithFlags(&be->streams[i], cudaStreamNonBlocking);
        if (e != cudaSuccess)
            break;
        cublasStatus_t bs = cublasCreate(&be->blas[i]);
        if (bs == CUBLAS_STATUS_SUCCESS)
            bs = cublasSetStream(be->blas[i], be->streams[i]);
        if (bs == CUBLAS_STATUS_SUCCESS)
            bs = cublasSetMathMode(be->blas[i], be->tf32 ? CUBLAS_TF32_TENSOR_OP_MATH
                                                         : CUBLAS_PEDANTIC_MATH);
        if (bs != CUBLAS_STATUS_SUCCESS) {
            st = fail(err, SORI_ERR_BACKEND, (int)bs, "cublas: create handle: %s",
                      cublasGetStatusString(bs));
            break;
        }
        cudnnStatus_t ds = cudnnCreate(&be->dnn[i]);
        if (ds == CUDNN_STATUS_SUCCESS)
            ds = cudnnSetStream(be->dnn[i], be->streams[i]);
        if (ds != CUDNN_STATUS_SUCCESS) {
            st = fail(err, SORI_ERR_BACKEND, (int)ds, "cudnn: create handle: %s",
                      cudnnGetErrorString(ds));
            break;
        }
    }
    if (e != cudaSuccess)
        st = fail(err, SORI_ERR_BACKEND, (int)e, "cuda: init cuda:%d: %s", be->device,
                  cudaGetErrorString(e));
    if (st != SORI_OK) {
        cuda_free(be);
        return st;
    }
    *out = be;
    return SORI_OK;
}

static sori_status cuda_alloc(sori_backend *be, size_t n, void **ptr, sori_error *err)
{
    CU(cudaSetDevice(be->device), "set device");
    CU(cudaMalloc(ptr, n ? n : 1), "allocate device memory");
    return SORI_OK;
}

static void cuda_release(sori_backend *be, void *p)
{
    cudaSetDevice(be->device);
    cudaFree(p);
}

static sori_status cuda_upload(sori_backend *be, int s, void *dst, const void *src, size_t n,
                               sori_error *err)
{
    CU(cudaSetDevice(be->device), "set device");
    CU(cudaMemcpyAsync(dst, src, n, cudaMemcpyHostToDevice, be->streams[s]), "upload");
    return SORI_OK;
}

static sori_status cuda_download(sori_backend *be, int s, void *dst, const void *src, size_t n,
                                 sori_error *err)
{
    CU(cudaSetDevice(be->device), "set device");
    CU(cudaMemcpyAsync(dst, src, n, cudaMemcpyDeviceToHost, be->streams[s]), "download");
    return SORI_OK;
}

static sori_status cuda_memzero(sori_backend *be, int s, void *dst, size_t n, sori_error *err)
{
    CU(cudaSetDevice(be->device), "set device");
    CU(cudaMemsetAsync(dst, 0, n, be->streams[s]), "memset");
    return SORI_OK;
}

static sori_status cuda_sync(sori_backend *be, int s, sori_error *err)
{
    CU(cudaSetDevice(be->device), "set device");
    CU(cudaStreamSynchronize(be->streams[s]), "synchronize");
    return SORI_OK;
}

static sori_backend_iface g_cuda_iface;

extern "C" __attribute__((visibility("default"))) const sori_backend_iface *
sori_cuda_backend_entry(uint32_t abi_version)
{
    if (abi_version != SORI_BACKEND_ABI)
        return NULL;
    sori_backend_iface *it = &g_cuda_iface;
    it->abi_version = SORI_BACKEND_ABI;
    it->struct_size = sizeof(sori_backend_iface);
    it->name = "cuda";
    it->device_count = cuda_device_count;
    it->device_info = cuda_device_info;
    it->init = cuda_init;
    it->free = cuda_free;
    it->alloc = cuda_alloc;
    it->release = cuda_release;
    it->upload = cuda_upload;
    it->download = cuda_download;
    it->memzero = cuda_memzero;
    it->sync = cuda_sync;
    it->supports = cuda_supports;
    it->run = cuda_run;
    return it;
}
