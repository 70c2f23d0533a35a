/*
 * kernels/backend.h — the private, versioned table every compute backend
 * implements, and the descriptors of the ops it runs.
 *
 * This header is shared by libsori and the CUDA module (libsori_cuda.so); it
 * must stay plain C and must not include CUDA headers. Any change to a struct
 * here bumps SORI_BACKEND_ABI so a stale module is refused at load time.
 *
 * Layout conventions (all row-major, contiguous unless a stride says so):
 *  - sequences are time-major: [B, T, C] (channels last, innermost);
 *  - 2-D convolution input is NCHW: [B, C, H, W] (H = time, W = frequency);
 *  - all data pointers are backend memory (device memory on CUDA), except
 *    fields documented as "host".
 * Ops are validated by the caller (kernels/ops.c) before they reach a
 * backend; backends assume valid descriptors.
 */
#ifndef SORI_KERNELS_BACKEND_H
#define SORI_KERNELS_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sori/common.h"
#include "sori/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SORI_BACKEND_ABI 5

typedef enum sori_dtype {
    SORI_F32 = 0,
    SORI_F16 = 1,
    SORI_I32 = 2,
    SORI_U8 = 3,
    SORI_Q8_0 = 4, /* GGUF's Q8_0: blocks of 32 values along a row, each an f16 scale and 32 int8 (34 bytes) */
    SORI_F32_P16 = 5, /* f32 weights [N, K] packed at load for the CPU's own product: panels of 16 rows,
                       * each K x 16 floats, k-major (kernels/cpu/gemm_p16.h); matmul B only, trans_b,
                       * ldb = k, n and row offsets multiples of 16 */
    SORI_BF16 = 6,
    /* more GGUF block types (kernels/quant.h): rows of blocks along k */
    SORI_Q4_0 = 7,
    SORI_Q4_K = 8,
    SORI_Q5_K = 9,
    SORI_Q6_K = 10,
    SORI_Q5_0 = 11,
} sori_dtype;

size_t sori_dtype_size(sori_dtype t); /* bytes per value; 0 for block types */
/* Bytes of n values (n a multiple of the block for block types). */
size_t sori_dtype_bytes(sori_dtype t, int64_t n);

typedef enum sori_act {
    SORI_ACT_NONE = 0,
    SORI_ACT_RELU,
    SORI_ACT_SILU, /* x * sigmoid(x), a.k.a. Swish */
    SORI_ACT_TANH,
    SORI_ACT_SIGMOID,
    SORI_ACT_GELU, /* exact: x * (1 + erf(x / sqrt 2)) / 2 (torch.nn.GELU(), Whisper) */
    SORI_ACT_COUNT_
} sori_act;

typedef enum sori_op {
    SORI_OP_MATMUL = 0,
    SORI_OP_CONV1D,
    SORI_OP_CONV2D,
    SORI_OP_LAYER_NORM,
    SORI_OP_BATCH_NORM,
    SORI_OP_SOFTMAX,
    SORI_OP_UNARY,
    SORI_OP_GLU,
    SORI_OP_BINARY,
    SORI_OP_EMBEDDING,
    SORI_OP_ATTENTION,
    SORI_OP_LSTM_STEP,
    SORI_OP_LOGMEL,
    SORI_OP_COUNT_
} sori_op;

const char *sori_op_name(sori_op op);

/* C[b] = alpha * op(A[b]) · op(B[b]) + beta * C[b] + bias, then act.
 * op(A) is M×K, op(B) is K×N, C is M×N. trans_a: A is stored K×M;
 * trans_b: B is stored N×K (a PyTorch Linear weight [out, in]).
 * Batch strides are in elements; stride_b = 0 shares B across the batch.
 * b_type may be SORI_F16, SORI_BF16 or a GGUF block type (kernels/quant.h)
 * where the backend supports it (weights); block types need trans_b with k,
 * ldb and stride_b multiples of the block (blocks run along B's rows).
 * quant_act: the CPU may quantize A's rows to 8 bits for integer dot
 * products with block-type weights at any row count (llama.cpp's way, for
 * LMs); without it f32 activations are kept where the CPU has a path for
 * them (f16 and Q8_0 weights; many rows of any type through f32 sgemm). */
typedef struct sori_matmul_desc {
    int batch, m, n, k;
    bool trans_a, trans_b;
    const float *a; int64_t lda, stride_a;
    const void *b; sori_dtype b_type; int64_t ldb, stride_b;
    float *c; int64_t ldc, stride_c;
    const float *bias; /* [N] or NULL */
    float alpha, beta;
    sori_act act;
    bool quant_act;
} sori_matmul_desc;

/* 1-D convolution over time. x [B, T_in, C_in], w [C_out, C_in/groups, K]
 * (PyTorch Conv1d layout), y [B, T_out, C_out] with
 * T_out = (T_in + pad_left + pad_right - K) / stride + 1.
 * groups is 1 or C_in (depthwise, C_out == C_in). Causal convolution:
 * pad_left = K-1, pad_right = 0; "same": pad_left = pad_right = (K-1)/2. */
typedef struct sori_conv1d_desc {
    int batch, t_in, c_in, c_out, kernel, stride, pad_left, pad_right, groups;
    const float *x; const float *w; const float *bias; float *y;
    sori_act act;
} sori_conv1d_desc;

/* 2-D convolution, NCHW. x [B, C_in, H, W], w [C_out, C_in/groups, KH, KW],
 * y [B, C_out, H_out, W_out], H_out = (H + pad_top + pad_bottom - KH)/stride_h + 1
 * (same for W). groups is 1 or C_in (depthwise).
 * wt_type SORI_F32_P16 (where the backend supports CONV2D with it; groups 1,
 * C_out a multiple of 16): w packed as the product weight [C_out, C_in·KH·KW]
 * (kernels/cpu/gemm_p16.h), and y as rows of channels [B, H_out, W_out, C_out]
 * (what a projection over (freq, channel) reads). */
typedef struct sori_conv2d_desc {
    int batch, c_in, h, w, c_out, kh, kw, stride_h, stride_w;
    int pad_top, pad_bottom, pad_left, pad_right, groups;
    const float *x; const float *wt; const float *bias; float *y;
    sori_act act;
    sori_dtype wt_type; /* SORI_F32 (0) or SORI_F32_P16 */
} sori_conv2d_desc;

/* y[r,:] = (x[r,:] - mean) / sqrt(var + eps) * gamma + beta over the last
 * dimension of n_rows rows of dim values. gamma/beta may be NULL (1 / 0).
 * In place (y == x) is allowed. */
typedef struct sori_layer_norm_desc {
    int64_t n_rows; int dim; float eps;
    const float *x; const float *gamma; const float *beta; float *y;
} sori_layer_norm_desc;

/* Inference batch norm over channels-last data: y[r,c] =
 * (x[r,c] - mean[c]) / sqrt(var[c] + eps) * gamma[c] + beta[c], then act.
 * In place allowed. (Where it follows a convolution, fold it instead:
 * sori_fold_batch_norm.) */
typedef struct sori_batch_norm_desc {
    int64_t n_rows; int channels; float eps;
    const float *x; const float *mean; const float *var; const float *gamma; const float *beta;
    float *y; sori_act act;
} sori_batch_norm_desc;

/* Row-wise softmax (or log-softmax) of n_rows rows of dim values.
 * mask: optional [n_rows, dim] bytes, nonzero = masked out (excluded). A row
 * whose entries are all masked gives all zeros (NeMo's masked_fill(mask, 0)
 * after softmax). In place allowed. */
typedef struct sori_softmax_desc {
    int64_t n_rows; int dim; bool log;
    const float *x; const uint8_t *mask; float *y;
} sori_softmax_desc;

/* y = act(x * scale), n elements; in place allowed. */
typedef struct sori_unary_desc {
    int64_t n; sori_act act; float scale;
    const float *x; float *y;
} sori_unary_desc;

/* GLU over the last dimension: x [n_rows, 2*dim] → y [n_rows, dim],
 * y = x[:, :dim] * sigmoid(x[:, dim:]) (torch.nn.functional.glu, dim=-1). */
typedef struct sori_glu_desc {
    int64_t n_rows; int dim;
    const float *x; float *y;
} sori_glu_desc;

typedef enum sori_binary_kind {
    SORI_BIN_ADD = 0, /* y = a + beta * b */
    SORI_BIN_MUL,     /* y = a * b        */
} sori_binary_kind;

/* Elementwise a (n_rows × dim) with b that is the same shape, or one row of
 * `dim` values repeated for every row (b_row_broadcast), or one value per
 * row (b_per_row: n_rows values, e.g. a 0/1 padding mask). In place
 * (y == a) allowed. */
typedef struct sori_binary_desc {
    sori_binary_kind kind; int64_t n_rows; int dim; bool b_row_broadcast; float beta;
    const float *a; const float *b; float *y;
    bool b_per_row;
} sori_binary_desc;

/* out[i,:] = table[ids[i],:]; table [vocab, dim] in f32 (or f16 where
 * supported). An id outside [0, vocab) is an error on the CPU and gives a
 * row of zeros on the GPU. */
typedef struct sori_embedding_desc {
    int64_t n_ids; int vocab, dim;
    const int32_t *ids; const void *table; sori_dtype table_type; float *out;
} sori_embedding_desc;

typedef enum sori_att_context {
    SORI_ATT_FULL = 0,    /* every valid key                                   */
    SORI_ATT_LIMITED,     /* -left <= qpos - kpos ... see below (NeMo "regular") */
    SORI_ATT_CHUNKED,     /* NeMo "chunked_limited"                            */
} sori_att_context;

/* Multi-head scaled dot-product attention, optionally with NeMo's
 * Transformer-XL relative positions (RelPositionMultiHeadAttention):
 *   scores[i,j] = ((q_i + u) · k_j + (q_i + v) · p_{r(i,j)}) * scale
 * where r(i,j) = pos_center - ((i + q_offset) - j), pos_center = (n_pos-1)/2
 * (the pos rows run from relative distance +pos_center down to
 * -pos_center, as NeMo's RelPositionalEncoding orders them, so this equals
 * NeMo's rel_shift), q_offset = t_k - t_q (queries are the last t_q
 * positions of the key sequence, as with a streaming cache).
 * Without rel_pos: scores = q·k * scale.
 * q [B, t_q, H*d_k] (row stride q_stride), k [B, t_k, H*d_k] (k_stride),
 * v [B, t_k, H*d_v] (v_stride), out [B, t_q, H*d_v] (contiguous),
 * pos [n_pos, H*d_k] (projected positions, shared over the batch),
 * pos_bias_u / pos_bias_v [H, d_k].
 * Masking (key j masked for query i when any rule holds):
 *   - host arrays kv_start/kv_end [B] (may be NULL = [0, t_k)): keys outside
 *     [kv_start[b], kv_end[b]) are masked;
 *   - host array q_len [B] (may be NULL = t_q): queries i >= q_len[b] are fully
 *     masked and give zero output rows (as NeMo);
 *   - context with absolute positions qp = i + q_offset and j:
 *       LIMITED: masked unless -left <= j - qp <= right (left/right < 0 = unlimited);
 *       CHUNKED: chunk(x) = x / chunk_size; masked unless
 *                0 <= chunk(qp) - chunk(j) <= left_chunks (left_chunks < 0 = unlimited).
 * A fully masked query row gives zeros. */
typedef struct sori_attention_desc {
    int batch, heads, t_q, t_k, d_k, d_v;
    const float *q; int64_t q_stride;
    const float *k; int64_t k_stride;
    const float *v; int64_t v_stride;
    float *out;
    float scale;
    const float *pos; int n_pos;
    const float *pos_bias_u, *pos_bias_v;
    const int32_t *kv_start, *kv_end, *q_len; /* host */
    sori_att_context context; int left, right, chunk_size, left_chunks;
} sori_attention_desc;

/* One LSTM time step (PyTorch gate order i, f, g, o):
 *   g = x·W_ihᵀ + h·W_hhᵀ + b_ih + b_hh, c' = σ(f)c + σ(i)tanh(g_g), h' = σ(o)tanh(c')
 * x [B, n_in], h_in/c_in/h_out/c_out [B, hidden], w_ih [4H, n_in],
 * w_hh [4H, hidden], biases [4H] (either may be NULL). h_out/c_out must not
 * alias h_in/c_in. `gates` is scratch backend memory of B*4H floats. */
typedef struct sori_lstm_desc {
    int batch, n_in, hidden;
    const float *x, *h_in, *c_in;
    const float *w_ih, *w_hh, *b_ih, *b_hh;
    float *h_out, *c_out, *gates;
} sori_lstm_desc;

/* Log-mel spectra of pre-extracted frames (the heavy half of feature
 * extraction; dsp/ cuts the frames and applies the rest). Per frame of
 * frame_len samples:
 *   Kaldi style (kaldi = true): remove the mean if remove_dc; the raw log
 *     energy ln(max(sum x^2, floor)) when energy_col >= 0; pre-emphasis
 *     x[i] -= preemph * x[i-1] (i from the top), x[0] -= preemph * x[0];
 *   both: multiply by window, zero-pad to fft_size, real FFT,
 *     power |X|^2 (mag_power 1: magnitude; other values |X|^mag_power),
 *     e_m = sum_k mel[m, k] * power[k] over the first mel_bins bins,
 *     Kaldi: ln(max(e_m, log_floor)); NeMo (kaldi = false): ln(e_m + log_floor).
 * out row = dim values: the n_mels log energies, with the log energy
 * inserted at column energy_col when energy_col >= 0 (dim = n_mels + 1).
 * frames [n_frames, frame_len], window [frame_len], mel [n_mels, mel_bins],
 * out [n_frames, dim]. mel_bins <= fft_size/2 + 1; frame_len <= fft_size;
 * fft_size even. */
typedef struct sori_logmel_desc {
    int64_t n_frames;
    int frame_len, fft_size, mel_bins, n_mels;
    bool kaldi, remove_dc;
    float preemph, mag_power, log_floor;
    int energy_col; /* -1: none */
    const float *frames, *window, *mel;
    float *out;
} sori_logmel_desc;

typedef struct sori_op_desc {
    sori_op op;
    union {
        sori_matmul_desc matmul;
        sori_conv1d_desc conv1d;
        sori_conv2d_desc conv2d;
        sori_layer_norm_desc layer_norm;
        sori_batch_norm_desc batch_norm;
        sori_softmax_desc softmax;
        sori_unary_desc unary;
        sori_glu_desc glu;
        sori_binary_desc binary;
        sori_embedding_desc embedding;
        sori_attention_desc attention;
        sori_lstm_desc lstm;
        sori_logmel_desc logmel;
    } u;
} sori_op_desc;

/* ---- the backend table ---------------------------------------------------- */

typedef struct sori_thread_pool sori_thread_pool;
typedef struct sori_backend sori_backend; /* a backend's own context */

typedef struct sori_backend_init {
    int device_index;
    int n_streams;
    sori_thread_pool *pool; /* CPU backend only */
} sori_backend_init;

typedef struct sori_backend_iface {
    uint32_t abi_version;   /* SORI_BACKEND_ABI */
    uint32_t struct_size;   /* sizeof(sori_backend_iface) */
    const char *name;       /* "cpu", "cuda" */

    /* Discovery; usable before init. Returns the count (>= 0); a driver
     * failure counts as zero devices and explains itself in why. */
    int (*device_count)(char *why, size_t why_size);
    sori_status (*device_info)(int index, sori_gpu_info *out);

    sori_status (*init)(const sori_backend_init *p, sori_backend **out, sori_error *err);
    void (*free)(sori_backend *be);

    sori_status (*alloc)(sori_backend *be, size_t n_bytes, void **ptr, sori_error *err);
    void (*release)(sori_backend *be, void *ptr);
    /* Copies between host memory and backend memory, ordered on `stream`. */
    sori_status (*upload)(sori_backend *be, int stream, void *dst, const void *src, size_t n_bytes,
                          sori_error *err);
    sori_status (*download)(sori_backend *be, int stream, void *dst, const void *src,
                            size_t n_bytes, sori_error *err);
    sori_status (*memzero)(sori_backend *be, int stream, void *dst, size_t n_bytes,
                           sori_error *err);
    sori_status (*sync)(sori_backend *be, int stream, sori_error *err);

    bool (*supports)(sori_backend *be, sori_op op, sori_dtype weight_type);
    /* Runs one op on `stream` (asynchronously on CUDA). */
    sori_status (*run)(sori_backend *be, int stream, const sori_op_desc *op, sori_error *err);
} sori_backend_iface;

/* The CPU backend, always linked in. */
const sori_backend_iface *sori_cpu_backend(void);

/* The symbol the CUDA module exports. */
typedef const sori_backend_iface *(*sori_backend_entry_fn)(uint32_t abi_version);
#define SORI_CUDA_ENTRY "sori_cuda_backend_entry"

#ifdef __cplusplus
}
#endif

#ifndef __CUDACC__
#include <math.h>
/* Scalar activation, as the CPU backend applies it. */
static inline float sori_act_apply(sori_act a, float x)
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
#endif

#endif /* SORI_KERNELS_BACKEND_H */
