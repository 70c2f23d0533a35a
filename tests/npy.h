/* Reading the .npy fixtures written by the tools/ generators (numpy's
 * format, version 1 or 2, little-endian f4, f2 (handed over as f4) or i4,
 * C order). */
#ifndef SORI_TESTS_NPY_H
#define SORI_TESTS_NPY_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    void *data;
    int64_t n;
    int ndim;
    int64_t shape[4];
    char kind; /* 'f' or 'i' */
} npy;

/* The array in the file at path (1: read; 0: missing or not of that form). */
static inline int npy_load(npy *a, const char *path)
{
    memset(a, 0, sizeof *a);
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    unsigned char pre[12];
    int ok = fread(pre, 1, 10, f) == 10 && memcmp(pre, "\x93NUMPY", 6) == 0;
    size_t hlen = 0;
    if (ok && pre[6] == 1) {
        hlen = pre[8] | (size_t)pre[9] << 8;
    } else if (ok && fread(pre + 10, 1, 2, f) == 2) {
        hlen = pre[8] | (size_t)pre[9] << 8 | (size_t)pre[10] << 16 | (size_t)pre[11] << 24;
    } else {
        ok = 0;
    }
    char hdr[1024];
    ok = ok && hlen < sizeof hdr && fread(hdr, 1, hlen, f) == hlen;
    if (ok) {
        hdr[hlen] = 0;
        ok = strstr(hdr, "'fortran_order': False") != NULL;
        if (strstr(hdr, "'<f4'"))
            a->kind = 'f';
        else if (strstr(hdr, "'<f2'"))
            a->kind = 'h'; /* read as f16, handed over as f32 (kind 'f') */
        else if (strstr(hdr, "'<i4'"))
            a->kind = 'i';
        else
            ok = 0;
        const char *s = strstr(hdr, "'shape': (");
        ok = ok && s;
        a->n = 1;
        for (s = s ? s + 10 : s; ok && *s && *s != ')';) {
            char *e;
            long long v = strtoll(s, &e, 10);
            if (e == s)
                break;
            if (a->ndim < 4)
                a->shape[a->ndim++] = v;
            a->n *= v;
            s = e;
            while (*s == ',' || *s == ' ')
                s++;
        }
    }
    if (ok && a->kind == 'h') {
        uint16_t *h = malloc((size_t)(a->n > 0 ? a->n : 1) * 2);
        a->data = malloc((size_t)(a->n > 0 ? a->n : 1) * 4);
        ok = h && a->data && fread(h, 2, (size_t)a->n, f) == (size_t)a->n;
        for (int64_t i = 0; ok && i < a->n; i++) { /* IEEE half to float */
            const uint32_t sign = (uint32_t)(h[i] >> 15) << 31, e = (h[i] >> 10) & 31, m = h[i] & 1023;
            uint32_t bits;
            if (e == 0 && m == 0) {
                bits = sign;
            } else if (e == 0) { /* subnormal: normalize */
                int sh = 0;
                uint32_t mm = m;
                while (!(mm & 1024)) {
                    mm <<= 1;
                    sh++;
                }
                bits = sign | (uint32_t)(127 - 15 - sh + 1) << 23 | (mm & 1023) << 13;
            } else if (e == 31) {
                bits = sign | 0x7F800000u | m << 13;
            } else {
                bits = sign | (e - 15 + 127) << 23 | m << 13;
            }
            memcpy((float *)a->data + i, &bits, 4);
        }
        free(h);
        a->kind = 'f';
    } else if (ok) {
        a->data = malloc((size_t)(a->n > 0 ? a->n : 1) * 4);
        ok = a->data && fread(a->data, 4, (size_t)a->n, f) == (size_t)a->n;
    }
    fclose(f);
    if (!ok) {
        free(a->data);
        a->data = NULL;
    }
    return ok;
}

#endif
