/* libFuzzer target: the server's message parsers (serve/protocol.c) — any
 * bytes as a text message of sori's WebSocket protocol, and as audio in
 * each encoding. A parsed start must hold values in range; every sample
 * must be finite and in [-1, 1]. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "serve/serve_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sori_serve_start st;
    char why[256];
    sori_serve_msg kind = sori_serve_parse((const char *)data, size, &st, why, sizeof why);
    if (kind == SORI_SERVE_MSG_START) {
        if (st.sample_rate < 8000 || st.sample_rate > 48000 || st.channels < 1 || st.channels > 2 ||
            (unsigned)st.encoding > SORI_SERVE_OPUS || strlen(st.model_name) >= sizeof st.model_name ||
            strlen(st.token) >= sizeof st.token)
            abort();
        if (st.hotwords && (!*st.hotwords || st.hotwords[strlen(st.hotwords) - 1] != '\n'))
            abort();
        free(st.hotwords);
    } else if (kind == SORI_SERVE_MSG_BAD) {
        if (!why[0] || st.hotwords)
            abort();
    }
    for (int e = SORI_SERVE_PCM16; e <= SORI_SERVE_ALAW; e++) {
        size_t step = e == SORI_SERVE_PCM16 ? 2 : 1;
        for (size_t i = 0; i + step <= size; i += step) {
            float v = sori_serve_decode_sample((sori_serve_encoding)e, data + i);
            if (!isfinite(v) || v < -1.0f || v > 1.0f)
                abort();
        }
    }
    if (sori_serve_token_equal((const char *)"abc", "abc") != true || sori_serve_token_equal("abc", "abd"))
        abort();
    return 0;
}
