/* .npy: magic, version 1.0, a little-endian u16 header length, a Python dict
 * literal padded with spaces and a newline so the data starts on a 64-byte
 * boundary, then the raw array (numpy/lib/format.py). */
#include "npy.h"

#include <stdio.h>
#include <string.h>

int npy_write_f32(const char *path, const float *data, int64_t rows, int64_t cols)
{
    char dict[128];
    int n = snprintf(dict, sizeof dict, "{'descr': '<f4', 'fortran_order': False, 'shape': (%lld, %lld), }",
                     (long long)rows, (long long)cols);
    int total = 10 + n + 1;
    int pad = (64 - total % 64) % 64;
    unsigned short hlen = (unsigned short)(n + pad + 1);
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    fwrite("\x93NUMPY\x01\x00", 1, 8, f);
    unsigned char le[2] = {(unsigned char)(hlen & 0xff), (unsigned char)(hlen >> 8)};
    fwrite(le, 1, 2, f);
    fwrite(dict, 1, (size_t)n, f);
    for (int i = 0; i < pad; i++)
        fputc(' ', f);
    fputc('\n', f);
    size_t count = (size_t)(rows * cols);
    size_t wrote = count ? fwrite(data, sizeof(float), count, f) : 0;
    int bad = ferror(f);
    if (fclose(f) != 0 || bad || wrote != count)
        return -1;
    return 0;
}
