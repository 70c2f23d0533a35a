/* G.711 bit-exactness: all 256 codes of both laws decode to the reference
 * values, and every one of the 65,536 16-bit inputs encodes to the
 * reference code (the fixture lists the encoder's decision boundaries:
 * tools/gen_g711_fixture.py). */
#include <string.h>

#include "check.h"
#include "sori/audio.h"

int main(void)
{
    FILE *f = fopen(SORI_FIXTURE_DIR "/g711_reference.txt", "r");
    if (!f)
        SKIP("fixture g711_reference.txt missing");
    int dec[2][256], have_dec[2][256] = {{0}};
    int run_start[2][300], run_code[2][300], n_runs[2] = {0, 0};
    char kind[32];
    int a, b;
    while (fscanf(f, "%31s %d %d", kind, &a, &b) == 3) {
        int law = strncmp(kind, "alaw", 4) == 0;
        if (strstr(kind, "decode") && a >= 0 && a < 256) {
            dec[law][a] = b;
            have_dec[law][a] = 1;
        } else if (strstr(kind, "encode") && n_runs[law] < 300) {
            run_start[law][n_runs[law]] = a;
            run_code[law][n_runs[law]++] = b;
        }
    }
    fclose(f);
    CHECK(n_runs[0] == 255 && n_runs[1] == 256, "fixture runs %d %d", n_runs[0], n_runs[1]);

    int bad_dec = 0;
    for (int law = 0; law < 2; law++)
        for (int c = 0; c < 256; c++) {
            int got = law ? sori_g711_alaw_decode((uint8_t)c) : sori_g711_ulaw_decode((uint8_t)c);
            if (!have_dec[law][c] || got != dec[law][c]) {
                bad_dec++;
                fprintf(stderr, "%s decode %d: %d, reference %d\n", law ? "alaw" : "ulaw", c, got,
                        dec[law][c]);
            }
        }
    CHECK(bad_dec == 0, "%d decoded codes differ", bad_dec);

    for (int law = 0; law < 2; law++) {
        int bad = 0, r = 0;
        for (int v = -32768; v <= 32767; v++) {
            while (r + 1 < n_runs[law] && run_start[law][r + 1] <= v)
                r++;
            int got = law ? sori_g711_alaw_encode((int16_t)v) : sori_g711_ulaw_encode((int16_t)v);
            if (got != run_code[law][r]) {
                if (bad < 5)
                    fprintf(stderr, "%s encode %d: %d, reference %d\n", law ? "alaw" : "ulaw", v,
                            got, run_code[law][r]);
                bad++;
            }
        }
        CHECK(bad == 0, "%s: %d of 65536 inputs encode differently", law ? "A-law" : "mu-law", bad);
    }
    /* decode(encode(decode(c))) == decode(c): decoded values are fixed points */
    int unstable = 0;
    for (int c = 0; c < 256; c++) {
        int16_t u = sori_g711_ulaw_decode((uint8_t)c), al = sori_g711_alaw_decode((uint8_t)c);
        unstable += sori_g711_ulaw_decode(sori_g711_ulaw_encode(u)) != u;
        unstable += sori_g711_alaw_decode(sori_g711_alaw_encode(al)) != al;
    }
    CHECK(unstable == 0, "%d decoded values do not re-encode to themselves", unstable);
    return check_finish("test_g711");
}
