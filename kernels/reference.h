/*
 * kernels/reference.h — naive double-precision reference ops (host memory)
 * and the error measure every parity check uses.
 */
#ifndef SORI_KERNELS_REFERENCE_H
#define SORI_KERNELS_REFERENCE_H

#include "backend.h"

/* Runs op on host memory with double accumulation. Attention needs
 * `scratch` of at least t_k doubles (other ops ignore it). Embedding ids out
 * of range give zero rows here. */
sori_status sori_ref_run(const sori_op_desc *op, double *scratch, sori_error *err);

/* The masking rule of sori_attention_desc, as written in backend.h. */
int sori_ref_att_masked(const sori_attention_desc *d, int b, int i, int j);

/* rel_l2 = ||out - ref|| / ||ref|| (plain ||out - ref|| when ref is all
 * zeros); max_abs = max |out - ref|. Equal infinities (masked log-softmax)
 * are skipped; a NaN or a mismatched infinity gives infinity. */
void sori_compare(const float *out, const float *ref, int64_t n, double *rel_l2, double *max_abs);

#endif
