/*
 * kernels/hparams.h — reading a model file's hyper-parameters with errors
 * that name the key (shared by every loader: Conformer, features, n-gram
 * LMs, and the model kinds to come).
 *
 *     sori_hparams h = sori_hparams_init(g, path, err);
 *     int d = (int)sori_hp_int(&h, "sori.conformer.d_model", SORI_HP_REQUIRED, 0, 1, 16384);
 *     int left = (int)sori_hp_int(&h, "sori.conformer.att_context_left", SORI_HP_OPTIONAL, -1, -1, 10000);
 *     if (d % heads)
 *         sori_hp_fail(&h, SORI_ERR_FORMAT, "sori.conformer.n_heads", "%d does not divide d_model %d", heads, d);
 *     if (h.st != SORI_OK) ... the first failure, already in *err ...
 *
 * The first failure is kept: later calls return their default and change
 * nothing, so a loader reads every key and checks h.st once. A missing
 * required key, a value of the wrong type and a value outside its range are
 * SORI_ERR_FORMAT; a string option outside its list is SORI_ERR_UNSUPPORTED.
 * Messages read "PATH: KEY = VALUE: reason". Integer ranges are checked on
 * the file's 64-bit value, before any narrowing.
 */
#ifndef SORI_KERNELS_HPARAMS_H
#define SORI_KERNELS_HPARAMS_H

#include <stdbool.h>
#include <stdint.h>

#include "kernels/gguf.h"
#include "sori/common.h"

typedef struct sori_hparams {
    const sori_gguf *g;
    const char *path; /* names the file in messages */
    sori_error *err;
    sori_status st;   /* SORI_OK until the first failure */
} sori_hparams;

enum { SORI_HP_OPTIONAL = 0, SORI_HP_REQUIRED = 1 };

sori_hparams sori_hparams_init(const sori_gguf *g, const char *path, sori_error *err);

/* An integer key (any integer type) in lo..hi; dflt when absent and optional. */
int64_t sori_hp_int(sori_hparams *h, const char *key, int required, int64_t dflt, int64_t lo, int64_t hi);
/* A finite float key (f32/f64, or an integer) in lo..hi. */
double sori_hp_float(sori_hparams *h, const char *key, int required, double dflt, double lo, double hi);
/* A bool key. */
bool sori_hp_bool(sori_hparams *h, const char *key, bool dflt);
/* A string key that must be one of names[] (NULL-terminated): its index, or
 * dflt (an index) when absent and optional. */
int sori_hp_enum(sori_hparams *h, const char *key, int required, int dflt, const char *const *names);
/* A string key of at most max_len bytes; dflt when absent and optional. */
const char *sori_hp_str(sori_hparams *h, const char *key, int required, const char *dflt, size_t max_len);

/* Records a failure about key (when none is recorded yet): "PATH: KEY: " and
 * the formatted reason. */
void sori_hp_fail(sori_hparams *h, sori_status st, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif /* SORI_KERNELS_HPARAMS_H */
