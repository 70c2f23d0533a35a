/* libFuzzer target: the Korean text layer (sori/text.h) on arbitrary bytes:
 * the standard pronunciation of any input is the same length as a valid
 * UTF-8 input, or a clear refusal (invalid UTF-8 with its offset), never a
 * read or write outside the buffers; and every Hangul syllable stays a
 * Hangul syllable. Personal-data masking of the same bytes, in both modes:
 * spans in order, inside the input, not overlapping; the masked text fits
 * the bound the CLI uses (8 bytes per input byte + 64). Spoken numbers to
 * written form: within twice the input. Written to spoken form: within its bound.
 * Abusive speech: scores in [0, 1], a known label. Korean in IPA: within its bound. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sori/text.h"
#include "text/text_util.h"

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
    static sori_pii_span sp[4096];
    char *masked = malloc(8 * size + 64);
    for (int partial = 0; partial < 2 && masked; partial++) {
        int ns = 0;
        size_t ml = 0;
        if (sori_redact(in, size, partial, masked, 8 * size + 64, &ml, sp, 4096, &ns, &err) == SORI_OK) {
            if (ml >= 8 * size + 64 || masked[ml] != 0)
                abort();
            for (int i = 0; i < ns; i++)
                if (sp[i].begin >= sp[i].end || sp[i].end > size || (i && sp[i].begin < sp[i - 1].end) ||
                    sp[i].kind == SORI_PII_NONE)
                    abort();
        }
    }
    free(masked);
    /* spoken numbers to written: within a bound (a number's digits are never more bytes than
     * its syllables, plus a sign or two), NUL-terminated */
    char *itn = malloc(2 * size + 64);
    size_t il = 0;
    if (itn && sori_itn(in, size, itn, 2 * size + 64, &il, &err) == SORI_OK && (il >= 2 * size + 64 || itn[il]))
        abort();
    free(itn);
    /* written to spoken: within the stated bound (16 bytes per input byte + 64), NUL-terminated,
     * and valid UTF-8 whenever the input is; a buffer one byte short of it is refused */
    const size_t tcap = 16 * size + 64;
    char *tnb = malloc(tcap);
    size_t tl = 0;
    for (unsigned flags = 0; tnb && flags < 2; flags++)
        if (sori_tn(in, size, flags, tnb, tcap, &tl, &err) == SORI_OK) {
            if (tl >= tcap || tnb[tl] || text_utf8_check(tnb, tl) != tl)
                abort();
            if (sori_tn(in, size, flags, tnb, tl, &n, &err) != SORI_ERR_INVALID_ARG || n != tl)
                abort();
        }
    free(tnb);
    /* abusive speech (the test's tiny model): scores in [0, 1] and a label among the five, or a
     * refusal of invalid UTF-8 */
    static sori_moderator *mod;
    static bool mod_tried;
    if (!mod_tried) {
        mod_tried = true;
        sori_moderator_load(SORI_MODERATE_FIXTURE, &mod, NULL);
    }
    sori_moderation mr;
    if (mod && sori_moderate(mod, in, size, &mr, &err) == SORI_OK) {
        if ((unsigned)mr.label >= SORI_ABUSE_N_KINDS || !(mr.score >= 0.0f && mr.score <= 1.0f))
            abort();
        for (int k = 0; k < SORI_ABUSE_N_KINDS; k++)
            if (!(mr.scores[k] >= 0.0f && mr.scores[k] <= 1.0f))
                abort();
    }
    /* Korean in IPA: within 3 bytes per input byte, NUL-terminated, valid UTF-8 */
    char *ipa = malloc(3 * size + 1);
    size_t pl = 0;
    if (ipa && sori_ko_ipa(in, size, ipa, 3 * size + 1, &pl, &err) == SORI_OK &&
        (pl > 3 * size || ipa[pl] || text_utf8_check(ipa, pl) != pl))
        abort();
    free(ipa);
    /* uroman's romanization: within 3 bytes per input byte, NUL-terminated, valid UTF-8; valid input is
     * never refused with that room */
    char *rom = malloc(3 * size + 1);
    size_t rl = 0;
    if (rom) {
        const sori_status rs = sori_ko_uroman(in, size, rom, 3 * size + 1, &rl, &err);
        if (rs == SORI_OK && (rl > 3 * size || rom[rl] || text_utf8_check(rom, rl) != rl))
            abort();
        if (rs != SORI_OK && text_utf8_check(in, size) == size)
            abort();
    }
    free(rom);
    /* a buffer one byte short is refused */
    if (size > 0 && sori_g2p(in, size, out, size, &n, &err) != SORI_ERR_INVALID_ARG)
        abort();
    free(in);
    free(out);
    return 0;
}
