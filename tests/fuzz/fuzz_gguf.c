/* libFuzzer target: the GGUF reader on arbitrary bytes. Whatever parses must
 * describe only memory inside the input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/gguf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sori_gguf *g = NULL;
    sori_error err;
    if (sori_gguf_open_memory(data, size, &g, &err) != SORI_OK)
        return 0;
    volatile uint64_t sink = 0;
    for (int64_t i = 0; i < sori_gguf_n_kv(g); i++) {
        const char *key = sori_gguf_kv_key(g, i);
        sink += strlen(key);
        const char *s;
        int64_t iv;
        double fv;
        uint64_t n;
        sori_gguf_type et;
        if (sori_gguf_get_str(g, key, &s) == SORI_OK)
            sink += strlen(s);
        if (sori_gguf_get_int(g, key, &iv) == SORI_OK)
            sink += (uint64_t)iv;
        if (sori_gguf_get_float(g, key, &fv) == SORI_OK)
            sink += (uint64_t)(fv != 0);
        if (sori_gguf_get_arr_info(g, key, &et, &n) == SORI_OK && n < 4096) {
            if (et == SORI_GGUF_STRING) {
                for (uint64_t k = 0; k < n; k++)
                    if (sori_gguf_get_arr_str(g, key, k, &s) == SORI_OK)
                        sink += strlen(s);
            } else {
                float *f = malloc((n ? n : 1) * sizeof(float));
                if (f && sori_gguf_get_arr_f32(g, key, f, n) == SORI_OK && n)
                    sink += (uint64_t)(f[0] != 0);
                free(f);
            }
        }
    }
    for (int64_t i = 0; i < sori_gguf_n_tensors(g); i++) {
        const sori_gguf_tensor *t = sori_gguf_tensor_at(g, i);
        const uint8_t *p = t->data;
        if (p < data || p + t->n_bytes > data + size)
            abort(); /* a tensor outside the input: a reader bug */
        if (t->n_bytes)
            sink += p[0] + p[t->n_bytes - 1];
    }
    (void)sink;
    sori_gguf_free(g);
    return 0;
}
