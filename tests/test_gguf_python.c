/* Interop: a file written by the Python `gguf` package (tools/sori_gguf.py
 * fixture) reads back value for value through the C reader. */
#include <string.h>

#include "check.h"
#include "kernels/gguf.h"
#include "kernels/kernels.h"

int main(void)
{
    sori_gguf *g = NULL;
    sori_error err = {0};
    sori_status st = sori_gguf_open_file(SORI_FIXTURE_DIR "/pywriter.gguf", &g, &err);
    CHECK(st == SORI_OK, "open: %s", err.message);
    if (!g)
        return check_finish("test_gguf_python");
    const char *s = NULL;
    int64_t iv = 0;
    double fv = 0;
    bool bv = false;
    CHECK(sori_gguf_get_str(g, "general.architecture", &s) == SORI_OK && strcmp(s, "sori.test") == 0, "arch");
    CHECK(sori_gguf_get_str(g, "general.name", &s) == SORI_OK && strcmp(s, "python writer fixture") == 0, "name");
    CHECK(sori_gguf_get_int(g, "sori.test.n_layers", &iv) == SORI_OK && iv == 3, "n_layers");
    CHECK(sori_gguf_get_int(g, "sori.test.offset", &iv) == SORI_OK && iv == -7, "offset");
    CHECK(sori_gguf_get_float(g, "sori.test.eps", &fv) == SORI_OK && (float)fv == 1e-5f, "eps");
    CHECK(sori_gguf_get_bool(g, "sori.test.causal", &bv) == SORI_OK && bv, "causal");
    uint64_t n = 0;
    CHECK(sori_gguf_get_arr_info(g, "sori.test.labels", NULL, &n) == SORI_OK && n == 4, "labels");
    CHECK(sori_gguf_get_arr_str(g, "sori.test.labels", 3, &s) == SORI_OK && strcmp(s, "▁다") == 0, "label 3");
    float win[3];
    CHECK(sori_gguf_get_arr_f32(g, "sori.test.window", win, 3) == SORI_OK && win[0] == 0.5f &&
              win[2] == 0.25f, "window");
    const sori_gguf_tensor *t = sori_gguf_find_tensor(g, "enc.w");
    CHECK(t && t->type == SORI_GGML_F32 && t->ne[0] == 5 && t->ne[1] == 3, "enc.w shape");
    if (t) {
        const float *w = t->data;
        int ok = 1;
        for (int i = 0; i < 15; i++)
            ok &= w[i] == (float)i / 4;
        CHECK(ok, "enc.w values");
    }
    t = sori_gguf_find_tensor(g, "enc.h");
    CHECK(t && t->type == SORI_GGML_F16 && t->ne[0] == 4, "enc.h");
    if (t) {
        const uint16_t *h = t->data;
        CHECK(sori_f16_to_f32(h[1]) == -2.0f && sori_f16_to_f32(h[3]) == 65504.0f, "enc.h values");
    }
    t = sori_gguf_find_tensor(g, "enc.ids");
    CHECK(t && t->type == SORI_GGML_I32 && ((const int32_t *)t->data)[1] == -2, "enc.ids");
    sori_gguf_free(g);
    return check_finish("test_gguf_python");
}
