/* ITU-T G.711 μ-law and A-law, sample by sample (Recommendation G.711,
 * 1988, tables 1a/1b and 2a/2b). Encoders take 16-bit linear PCM and
 * quantize it as the standard's 14-bit (μ-law) / 13-bit (A-law) linear
 * inputs; decoders return the decision-interval midpoints scaled to 16 bits.
 * Checked code by code and at every encoder decision boundary against the
 * reference tables in tests/fixtures/g711_reference.txt. */
#include "sori/audio.h"

uint8_t sori_g711_ulaw_encode(int16_t pcm)
{
    int v = pcm >> 2; /* 14-bit */
    int mask = 0xff;
    if (v < 0) {
        v = -v;
        mask = 0x7f;
    }
    if (v > 8159)
        v = 8159;
    v += 0x21; /* bias 33: segments then start at powers of two */
    int seg = 0;
    for (int t = v >> 6; t; t >>= 1)
        seg++;
    if (seg >= 8) /* only the clipped maximum */
        return (uint8_t)(0x7f ^ mask);
    uint8_t code = (uint8_t)((seg << 4) | ((v >> (seg + 1)) & 0x0f));
    return (uint8_t)(code ^ mask);
}

int16_t sori_g711_ulaw_decode(uint8_t code)
{
    int u = ~code & 0xff;
    int t = (((u & 0x0f) << 3) + 0x84) << ((u & 0x70) >> 4);
    return (int16_t)((u & 0x80) ? 0x84 - t : t - 0x84);
}

uint8_t sori_g711_alaw_encode(int16_t pcm)
{
    int v = pcm >> 3; /* 13-bit */
    int mask = 0xd5; /* even bits inverted, sign bit set for positive */
    if (v < 0) {
        v = -v - 1;
        mask = 0x55;
    }
    int seg = 0;
    for (int t = v >> 5; t; t >>= 1)
        seg++;
    if (seg >= 8)
        return (uint8_t)(0x7f ^ mask);
    int aval = seg << 4;
    aval |= seg < 2 ? (v >> 1) & 0x0f : (v >> seg) & 0x0f;
    return (uint8_t)(aval ^ mask);
}

int16_t sori_g711_alaw_decode(uint8_t code)
{
    int a = code ^ 0x55;
    int t = (a & 0x0f) << 4;
    int seg = (a & 0x70) >> 4;
    if (seg == 0)
        t += 8;
    else if (seg == 1)
        t += 0x108;
    else
        t = (t + 0x108) << (seg - 1);
    return (int16_t)((a & 0x80) ? t : -t);
}
