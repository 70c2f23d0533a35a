/* Kokoro-82M end to end (private to tts/): phoneme ids → the stages of
 * tts/kokoro.c in order → audio at 24 kHz, in buffers a session keeps and
 * grows only for a longer input. The stages are each checked against
 * onnxruntime teacher-forced (test_kokoro); this file only wires them:
 *   1. the ids framed by the pad id 0; the voice's style row for n phonemes
 *      is row n − 1 of its table (kokoro's KPipeline);
 *   2. ALBERT → d_en → the prosody predictor's durations (÷ speed); the
 *      text encoder;
 *   3. the text encoder's output repeated by the durations (the alignment);
 *      F0 and energy; the decoder; the iSTFTNet generator. */
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"
#include "kokoro.h"
#include "kokoro_synth.h"

static int64_t up16(int64_t n)
{
    return (n + 15) & ~(int64_t)15;
}

static int64_t max3(int64_t a, int64_t b, int64_t c)
{
    const int64_t m = a > b ? a : b;
    return m > c ? m : c;
}

static sori_status grow(float **buf, int64_t *cap, int64_t n, sori_error *err)
{
    if (n <= *cap)
        return SORI_OK;
    float *p = malloc(sizeof(float) * (size_t)n);
    if (!p)
        return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "kokoro: out of memory (%lld floats)", (long long)n);
    free(*buf);
    *buf = p;
    *cap = n;
    return SORI_OK;
}

void kokoro_buf_free(kokoro_buf *b)
{
    if (!b)
        return;
    free(b->text);
    free(b->audio);
    memset(b, 0, sizeof *b);
}

int kokoro_max_phonemes(const kokoro_model *m)
{
    const int by_pos = m->max_pos - 2;
    return by_pos < m->style_rows ? by_pos : m->style_rows;
}

sori_status kokoro_synthesize(const kokoro_model *m, kokoro_buf *b, const int32_t *ids, int n, int voice, float speed,
                              int64_t max_frames, const float **audio, int64_t *n_samples, const int32_t **durs,
                              sori_error *err)
{
    kokoro_use_pool(b->pool);
    *audio = NULL;
    *n_samples = 0;
    if (n < 1 || n > kokoro_max_phonemes(m))
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "kokoro: %d phonemes (1..%d in one pass)", n,
                         kokoro_max_phonemes(m));
    if (voice < 0 || voice >= m->n_voices)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "kokoro: voice %d (0..%d)", voice, m->n_voices - 1);
    const int T = n + 2, D = m->hidden_dim, S = m->style_dim;
    const float *style = m->voices[voice] + (int64_t)(n - 1) * 2 * S;

    /* text side: tokens, d_en [T, D], dur_enc [T, D + S], t_en [T, D], raw [T], durations, then scratch */
    const int64_t w1 = max3(kokoro_bert_work_floats(m, T), kokoro_dur_work_floats(m, T), kokoro_text_work_floats(m, T));
    const int64_t n1 = 2 * up16(T) + up16((int64_t)T * D) * 2 + up16((int64_t)T * (D + S)) + up16(T) + w1;
    sori_status st = grow(&b->text, &b->cap_text, n1, err);
    if (st != SORI_OK)
        return st;
    int32_t *tok = (int32_t *)b->text, *dur = tok + up16(T);
    float *d_en = b->text + 2 * up16(T), *t_en = d_en + up16((int64_t)T * D), *dur_enc = t_en + up16((int64_t)T * D),
          *raw = dur_enc + up16((int64_t)T * (D + S)), *work = raw + up16(T);
    tok[0] = tok[T - 1] = 0;
    memcpy(tok + 1, ids, sizeof(int32_t) * (size_t)n);
    if ((st = kokoro_bert(m, tok, T, work, NULL, d_en, err)) != SORI_OK ||
        (st = kokoro_durations(m, d_en, T, style, speed, NULL, work, dur_enc, raw, dur, err)) != SORI_OK ||
        (st = kokoro_text_encoder(m, tok, T, work, t_en, err)) != SORI_OK)
        return st;
    int64_t F = 0;
    for (int t = 0; t < T; t++)
        F += dur[t];
    if (F > max_frames)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0,
                         "kokoro: the durations make %lld frames, more than the %lld allowed (max_seconds): split "
                         "the text into sentences",
                         (long long)F, (long long)max_frames);
    if (F > 1 << 24)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "kokoro: %lld frames", (long long)F);

    /* acoustic side: asr [F, D], f0 and n [2F], the decoder's output [2F, D], audio, then scratch */
    const int64_t spf = kokoro_samples_per_frame(m);
    const int64_t w2 = max3(kokoro_f0n_work_floats(m, (int)F), kokoro_decoder_work_floats(m, (int)F),
                            kokoro_generator_work_floats(m, (int)F));
    const int64_t n2 = up16(F * D) + 2 * up16(2 * F) + up16(2 * F * D) + up16(F * spf) + w2;
    if ((st = grow(&b->audio, &b->cap_audio, n2, err)) != SORI_OK)
        return st;
    float *asr = b->audio, *f0 = asr + up16(F * D), *en = f0 + up16(2 * F), *x = en + up16(2 * F),
          *wave = x + up16(2 * F * D), *work2 = wave + up16(F * spf);
    for (int t = 0, f = 0; t < T; t++)
        for (int k = 0; k < dur[t]; k++, f++)
            memcpy(asr + (int64_t)f * D, t_en + (int64_t)t * D, sizeof(float) * (size_t)D);
    if ((st = kokoro_f0n(m, dur_enc, dur, T, style, (int)F, work2, f0, en, err)) != SORI_OK ||
        (st = kokoro_decoder(m, asr, f0, en, (int)F, style, work2, NULL, x, err)) != SORI_OK ||
        (st = kokoro_generator(m, x, f0, (int)F, style, work2, NULL, NULL, wave, err)) != SORI_OK)
        return st;
    *audio = wave;
    *n_samples = F * spf;
    if (durs)
        *durs = dur;
    return SORI_OK;
}
