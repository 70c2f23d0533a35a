/* libFuzzer target: the Korean text layer (sori/text.h) on arbitrary bytes:
 * the standard pronunciation of any input is the same length as a valid
 * UTF-8 input, or a clear refusal (invalid UTF-8 with its offset), never a
 * read or write outside the buffers; and every Hangul syllable stays a
 * Hangul syllable. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sori/text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *in = malloc(size ? size : 1), *out = malloc(size + 1);
    if (!in || !out)
        abort();
    memcpy(in, data, size);
    size_t n = 0;
    sori_error err;
    if (sori_g2p(in, size, out, size + 1, &n, &err) == SORI_OK) {
        if (n != size || out[n] != 0)
            abort();
        for (size_t i = 0; i + 2 < size; i++) {
            const unsigned a = (unsigned char)in[i];
            if (a >= 0xEA && a <= 0xED) { /* a Hangul syllable's lead byte range: it stays one */
                const unsigned cp = ((a & 0x0F) << 12) | (((unsigned char)in[i + 1] & 0x3F) << 6) |
                                    ((unsigned char)in[i + 2] & 0x3F);
                const unsigned op = (((unsigned char)out[i] & 0x0F) << 12) |
                                    (((unsigned char)out[i + 1] & 0x3F) << 6) | ((unsigned char)out[i + 2] & 0x3F);
                if (cp >= 0xAC00 && cp <= 0xD7A3 && (op < 0xAC00 || op > 0xD7A3))
                    abort();
            }
        }
    }
    /* a buffer one byte short is refused */
    if (size > 0 && sori_g2p(in, size, out, size, &n, &err) != SORI_ERR_INVALID_ARG)
        abort();
    free(in);
    free(out);
    return 0;
}
