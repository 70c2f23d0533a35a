/* Kokoro's source STFT as onnxruntime computes it (the graph's ONNX STFT node), to the last bit.
 *
 * The generator's source branch reads the STFT of the harmonic source as magnitude ⊕ phase, and
 * quantizes that tensor to 8 bits. Where F0 is unvoiced the source is a constant, whose bins above
 * DC are rounding noise with arbitrary phases, and the DC bin's phase is +π or −π by the sign of an
 * imaginary part that is rounding noise too. A DFT that is merely accurate gives other noise: a
 * third of the phase channels then differ by up to 2π, and the branch's output by 85 %
 * (docs/tts-kokoro.md, stage 6). So this file repeats onnxruntime's algorithm operation by
 * operation: a frame length that is not a power of two (20) goes through Bluestein's chirp-z
 * transform, a convolution of length M = 64 done with onnxruntime's radix-2 FFT, whose twiddle
 * table is built by the first (forward) transform and reused, unconjugated, by the inverse one —
 * which is why its output is read back reversed. Every product and sum is a separate f32 operation
 * in the same order (complex products as (ac − bd, ad + bc)); the file is compiled without FMA
 * contraction or vectorization (CMakeLists.txt), which would round differently.
 *
 * Checked in test_kokoro against onnxruntime 1.32's STFT output on the fixture's source: every
 * magnitude equal bit for bit; phases within a few ulp (onnxruntime's Atan is its own polynomial,
 * libm's atanf here). Older onnxruntime releases (before Bluestein) used a naive DFT instead. */
#include "tts/kokoro.h"

#include <math.h>
#include <string.h>

typedef struct {
    float r, i;
} cpx;

static inline cpx cmul(cpx a, cpx b)
{
    const cpx c = {a.r * b.r - a.i * b.i, a.r * b.i + a.i * b.r};
    return c;
}

static inline cpx cadd(cpx a, cpx b)
{
    const cpx c = {a.r + b.r, a.i + b.i};
    return c;
}

enum { FRAME = 20, M = 64, LOG2M = 6, BINS = FRAME / 2 + 1 };

static unsigned bit_reverse(unsigned x, unsigned bits)
{
    unsigned r = 0;
    for (unsigned b = 0; b < bits; b++)
        r |= ((x >> b) & 1u) << (bits - 1 - b);
    return r;
}

typedef struct {
    unsigned char rev[M]; /* i with its 6 bits reversed (fewer bits: shifted right) */
    cpx V[M];     /* twiddles in bit-reversed order, of the forward transform */
    cpx chirp[M]; /* exp(−iπn²/N) for n < N, zeros after */
    cpx b_fft[M]; /* the FFT of the conjugate chirp, wrapped */
} bluestein;

/* onnxruntime's fft_radix2 over M complex values: the input copied in bit-reversed order (times
 * 1 + 0i twice, as it does), butterflies even ± V·odd, and for the inverse a division by M */
static void fft(const bluestein *t, const cpx *x, cpx *y, int inverse)
{
    const cpx one = {1.0f, 0.0f};
    for (unsigned i = 0; i < M; i++)
        y[i] = cmul(cmul(one, x[t->rev[i]]), one);
    unsigned cur = 0;
    for (unsigned i = 2; i <= M; i <<= 1) {
        const unsigned mid = i >> 1;
        cur++;
        for (unsigned k = 0; k < mid; k++) {
            const cpx wf = t->V[t->rev[k] >> (LOG2M - cur)], ws = t->V[t->rev[mid + k] >> (LOG2M - cur)];
            for (unsigned j = 0; j < M; j += i) {
                const cpx e = y[k + j], o = y[k + j + mid];
                y[k + j] = cadd(e, cmul(wf, o));
                y[k + j + mid] = cadd(e, cmul(ws, o));
            }
        }
    }
    if (inverse)
        for (unsigned i = 0; i < M; i++) {
            y[i].r /= (float)M;
            y[i].i /= (float)M;
        }
}

static void bluestein_init(bluestein *t)
{
    const float pi = 3.14159265358979323846f, tau = 2.0f * pi, velocity = -1.0f * tau / (float)M;
    for (unsigned i = 0; i < M; i++)
        t->rev[i] = (unsigned char)bit_reverse(i, LOG2M);
    for (unsigned i = 0; i < M; i++) {
        const float a = (float)i * velocity;
        t->V[bit_reverse(i, LOG2M)] = (cpx){cosf(a), sinf(a)};
    }
    cpx b[M];
    memset(b, 0, sizeof b);
    memset(t->chirp, 0, sizeof t->chirp);
    for (unsigned n = 0; n < FRAME; n++) {
        const float e = -1.0f * pi * (float)n * (float)n / (float)FRAME;
        t->chirp[n] = (cpx){cosf(e), sinf(e)};
        b[n] = (cpx){t->chirp[n].r, -t->chirp[n].i};
    }
    for (unsigned n = M - FRAME + 1; n < M; n++)
        b[n] = b[M - n];
    fft(t, b, t->b_fft, 0);
}

void kokoro_stft_ort(const float *x, int64_t frames, int hop, const float *window, float *spec)
{
    bluestein t;
    bluestein_init(&t);
    const float pi = 3.14159265358979f;
    for (int64_t j = 0; j < frames; j++) {
        const float *f = x + j * hop;
        cpx a[M], af[M];
        memset(a, 0, sizeof a);
        for (int n = 0; n < FRAME; n++) {
            cpx v = {f[n], 0.0f};
            v.r *= window[n];
            v.i *= window[n];
            a[n] = cmul(v, t.chirp[n]);
        }
        fft(&t, a, af, 0);
        for (int i = 0; i < M; i++)
            af[i] = cmul(af[i], t.b_fft[i]);
        fft(&t, af, a, 1);
        float *out = spec + j * 2 * BINS;
        for (int k = 0; k < BINS; k++) {
            const cpx c = cmul(k > 0 ? a[M - k] : a[0], t.chirp[k]); /* (onnxruntime's × 1: exact) */
            /* magnitude ⊕ the graph's atan2: atan(im / re), ±π where re < 0 (by the sign of im) */
            float ph = atanf(c.i / c.r);
            if (c.r < 0.0f)
                ph = c.i > 0.0f ? ph + pi : ph - pi;
            out[k] = sqrtf(c.r * c.r + c.i * c.i);
            out[BINS + k] = ph;
        }
    }
}
