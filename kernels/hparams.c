/* Hyper-parameters read with errors that name the key (see hparams.h). */
#include "kernels/hparams.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "kernels/kernels.h"

sori_hparams sori_hparams_init(const sori_gguf *g, const char *path, sori_error *err)
{
    sori_hparams h = {g, path ? path : "<memory>", err, SORI_OK};
    return h;
}

void sori_hp_fail(sori_hparams *h, sori_status st, const char *key, const char *fmt, ...)
{
    if (h->st != SORI_OK)
        return;
    char reason[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    h->st = sori_fail(h->err, st, 0, "%s: %s: %s", h->path, key, reason);
}

static const char *type_name(sori_gguf_type t)
{
    static const char *names[] = {"u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool",
                                  "string", "array", "u64", "i64", "f64"};
    return (unsigned)t < sizeof names / sizeof names[0] ? names[t] : "unknown";
}

/* SORI_OK when present, SORI_ERR_NOT_FOUND when absent (a failure recorded
 * when required). */
static sori_status present(sori_hparams *h, const char *key, int required)
{
    if (h->st != SORI_OK)
        return SORI_ERR_STATE;
    if (sori_gguf_find_key(h->g, key) >= 0)
        return SORI_OK;
    if (required)
        sori_hp_fail(h, SORI_ERR_FORMAT, key, "missing (a required key)");
    return SORI_ERR_NOT_FOUND;
}

static void wrong_type(sori_hparams *h, const char *key, const char *want)
{
    sori_hp_fail(h, SORI_ERR_FORMAT, key, "is of type %s, %s expected",
                 type_name(sori_gguf_kv_type(h->g, sori_gguf_find_key(h->g, key))), want);
}

int64_t sori_hp_int(sori_hparams *h, const char *key, int required, int64_t dflt, int64_t lo, int64_t hi)
{
    if (present(h, key, required) != SORI_OK)
        return dflt;
    int64_t v;
    sori_gguf_type t = sori_gguf_kv_type(h->g, sori_gguf_find_key(h->g, key));
    if (t == SORI_GGUF_BOOL || sori_gguf_get_int(h->g, key, &v) != SORI_OK) {
        wrong_type(h, key, "an integer");
        return dflt;
    }
    if (v < lo || v > hi) {
        sori_hp_fail(h, SORI_ERR_FORMAT, key, "%lld is out of range (%lld..%lld)", (long long)v,
                     (long long)lo, (long long)hi);
        return dflt;
    }
    return v;
}

double sori_hp_float(sori_hparams *h, const char *key, int required, double dflt, double lo, double hi)
{
    if (present(h, key, required) != SORI_OK)
        return dflt;
    double v;
    if (sori_gguf_get_float(h->g, key, &v) != SORI_OK) {
        int64_t i;
        if (sori_gguf_kv_type(h->g, sori_gguf_find_key(h->g, key)) == SORI_GGUF_BOOL ||
            sori_gguf_get_int(h->g, key, &i) != SORI_OK) {
            wrong_type(h, key, "a number");
            return dflt;
        }
        v = (double)i;
    }
    if (!isfinite(v) || v < lo || v > hi) {
        sori_hp_fail(h, SORI_ERR_FORMAT, key, "%g is out of range (%g..%g)", v, lo, hi);
        return dflt;
    }
    return v;
}

bool sori_hp_bool(sori_hparams *h, const char *key, bool dflt)
{
    if (present(h, key, SORI_HP_OPTIONAL) != SORI_OK)
        return dflt;
    bool v;
    if (sori_gguf_kv_type(h->g, sori_gguf_find_key(h->g, key)) != SORI_GGUF_BOOL ||
        sori_gguf_get_bool(h->g, key, &v) != SORI_OK) {
        wrong_type(h, key, "bool");
        return dflt;
    }
    return v;
}

const char *sori_hp_str(sori_hparams *h, const char *key, int required, const char *dflt, size_t max_len)
{
    if (present(h, key, required) != SORI_OK)
        return dflt;
    const char *v;
    if (sori_gguf_get_str(h->g, key, &v) != SORI_OK) {
        wrong_type(h, key, "string");
        return dflt;
    }
    if (strlen(v) > max_len) {
        sori_hp_fail(h, SORI_ERR_FORMAT, key, "a string of %zu bytes (at most %zu)", strlen(v), max_len);
        return dflt;
    }
    return v;
}

int sori_hp_enum(sori_hparams *h, const char *key, int required, int dflt, const char *const *names)
{
    const char *v = sori_hp_str(h, key, required, NULL, 256);
    if (!v)
        return dflt;
    for (int i = 0; names[i]; i++)
        if (strcmp(v, names[i]) == 0)
            return i;
    char list[160] = "";
    for (int i = 0; names[i]; i++) {
        size_t n = strlen(list);
        snprintf(list + n, sizeof list - n, "%s%s", i ? ", " : "", names[i]);
    }
    sori_hp_fail(h, SORI_ERR_UNSUPPORTED, key, "'%.60s' is not supported (%s)", v, list);
    return dflt;
}
