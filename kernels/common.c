/* Status strings, error detail, the logger, f16 conversion and host-side
 * weight utilities. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "kernels.h"

const char *sori_status_str(sori_status status)
{
    switch (status) {
    case SORI_OK: return "ok";
    case SORI_ERR_INVALID_ARG: return "invalid argument";
    case SORI_ERR_NO_MEMORY: return "out of memory";
    case SORI_ERR_IO: return "I/O error";
    case SORI_ERR_FORMAT: return "corrupt or malformed data";
    case SORI_ERR_UNSUPPORTED: return "unsupported";
    case SORI_ERR_NO_DEVICE: return "no such device or backend";
    case SORI_ERR_BACKEND: return "backend failure";
    case SORI_ERR_NOT_FOUND: return "not found";
    case SORI_ERR_STATE: return "invalid state";
    case SORI_ERR_INTERNAL: return "internal error";
    }
    return "unknown status";
}

const char *sori_version_string(void)
{
#define SORI_STR2(x) #x
#define SORI_STR(x) SORI_STR2(x)
    return SORI_STR(SORI_VERSION_MAJOR) "." SORI_STR(SORI_VERSION_MINOR) "." SORI_STR(
        SORI_VERSION_PATCH);
}

sori_status sori_fail(sori_error *err, sori_status st, int backend_code, const char *fmt, ...)
{
    if (err) {
        err->status = st;
        err->backend_code = backend_code;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return st;
}

/* ---- logger ----------------------------------------------------------------- */

static pthread_mutex_t g_log_lock = PTHREAD_MUTEX_INITIALIZER;
static sori_log_fn g_log_fn;
static void *g_log_user;
static sori_log_level g_log_min = SORI_LOG_WARN;

void sori_log_set(sori_log_fn fn, void *user, sori_log_level min_level)
{
    pthread_mutex_lock(&g_log_lock);
    g_log_fn = fn;
    g_log_user = user;
    g_log_min = min_level;
    pthread_mutex_unlock(&g_log_lock);
}

void sori_log(sori_log_level level, const char *fmt, ...)
{
    pthread_mutex_lock(&g_log_lock);
    sori_log_fn fn = g_log_fn;
    void *user = g_log_user;
    sori_log_level min = g_log_min;
    pthread_mutex_unlock(&g_log_lock);
    if (level < min || level >= SORI_LOG_NONE)
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (fn) {
        fn(level, msg, user);
    } else {
        static const char *names[] = {"debug", "info", "warning", "error"};
        fprintf(stderr, "sori: %s: %s\n", names[level], msg);
    }
}

/* ---- f16 ------------------------------------------------------------------------ */

uint16_t sori_f32_to_f16(float f)
{
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000u;
    uint32_t exp = (x >> 23) & 0xffu;
    uint32_t man = x & 0x7fffffu;
    if (exp == 0xffu) /* inf / nan (keep a quiet nan) */
        return (uint16_t)(sign | 0x7c00u | (man ? 0x200u : 0u));
    int32_t e = (int32_t)exp - 127 + 15;
    if (e >= 0x1f)
        return (uint16_t)(sign | 0x7c00u);
    if (e <= 0) { /* subnormal or zero */
        if (e < -10)
            return (uint16_t)sign;
        man |= 0x800000u;
        uint32_t shift = (uint32_t)(14 - e);
        uint32_t half = man >> shift;
        uint32_t rem = man & ((1u << shift) - 1u);
        uint32_t mid = 1u << (shift - 1u);
        if (rem > mid || (rem == mid && (half & 1u)))
            half++;
        return (uint16_t)(sign | half);
    }
    uint32_t half = sign | ((uint32_t)e << 10) | (man >> 13);
    uint32_t rem = man & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (half & 1u)))
        half++; /* may carry into the exponent, which is the right result */
    return (uint16_t)half;
}

float sori_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t man = h & 0x3ffu;
    uint32_t x;
    if (exp == 0) {
        if (man == 0) {
            x = sign;
        } else { /* subnormal: normalize */
            int e = -1;
            do {
                e++;
                man <<= 1;
            } while (!(man & 0x400u));
            x = sign | ((uint32_t)(127 - 15 - e) << 23) | ((man & 0x3ffu) << 13);
        }
    } else if (exp == 0x1f) {
        x = sign | 0x7f800000u | (man << 13);
    } else {
        x = sign | ((exp - 15 + 127) << 23) | (man << 13);
    }
    float f;
    memcpy(&f, &x, 4);
    return f;
}

void sori_quantize_q8_0(const float *x, int64_t n, uint8_t *out)
{
    for (int64_t b = 0; b < n / 32; b++, x += 32, out += 34) {
        float amax = 0.0f;
        for (int i = 0; i < 32; i++)
            amax = fabsf(x[i]) > amax ? fabsf(x[i]) : amax;
        const float d = amax / 127.0f, id = d ? 1.0f / d : 0.0f;
        const uint16_t hd = sori_f32_to_f16(d);
        memcpy(out, &hd, 2);
        for (int i = 0; i < 32; i++)
            out[2 + i] = (uint8_t)(int8_t)roundf(x[i] * id);
    }
}

const char *sori_op_name(sori_op op)
{
    static const char *names[SORI_OP_COUNT_] = {
        "matmul", "conv1d", "conv2d",    "layer_norm", "batch_norm", "softmax",
        "unary",  "glu",    "binary",    "embedding",  "attention",  "lstm_step",
        "logmel",
    };
    return (unsigned)op < SORI_OP_COUNT_ ? names[op] : "unknown-op";
}

/* ---- host-side weight utilities ----------------------------------------------- */

void sori_fold_batch_norm(float *w, float *b, int c_out, int64_t per_out, const float *mean,
                          const float *var, const float *gamma, const float *beta, float eps)
{
    for (int o = 0; o < c_out; o++) {
        double s = (gamma ? gamma[o] : 1.0) / sqrt((double)var[o] + eps);
        for (int64_t i = 0; i < per_out; i++)
            w[o * per_out + i] = (float)(w[o * per_out + i] * s);
        b[o] = (float)(((double)b[o] - mean[o]) * s + (beta ? beta[o] : 0.0));
    }
}

void sori_rel_pos_encoding(float *out, int t, int d_model)
{
    int n_pos = 2 * t - 1;
    for (int p = 0; p < n_pos; p++) {
        double pos = (double)(t - 1 - p);
        for (int i = 0; i < d_model; i += 2) {
            /* NeMo: div_term = exp(arange(0, d, 2) * -(log(10000.0) / d)) */
            double w = exp((double)i * -(log(10000.0) / d_model));
            out[(int64_t)p * d_model + i] = (float)sin(pos * w);
            if (i + 1 < d_model)
                out[(int64_t)p * d_model + i + 1] = (float)cos(pos * w);
        }
    }
}
