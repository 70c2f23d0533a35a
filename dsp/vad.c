/* Energy VAD with an adaptive noise floor, onset delay and hangover; the
 * sherpa-onnx endpoint rules on top. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"
#include "sori/vad.h"

struct sori_vad {
    sori_vad_params p;
    int frame_samples;
    int onset_frames, hangover_frames;
    float floor_rise_per_frame;
    double acc;        /* sum of squares of the current partial frame */
    int n_acc;         /* samples in it */
    float noise_db;    /* the noise floor estimate */
    int64_t frames;    /* frames seen */
    bool speech;       /* current state */
    int run;           /* consecutive frames disagreeing with the state */
};

sori_vad_params sori_vad_default_params(void)
{
    sori_vad_params p = {.sample_rate_hz = 16000, .frame_ms = 10, .threshold_db = 10.0f,
                         .min_energy_db = -55.0f, .floor_rise_db_per_s = 3.0f,
                         .min_speech_ms = 50, .hangover_ms = 300};
    return p;
}

sori_status sori_vad_create(const sori_vad_params *p, sori_vad **out, sori_error *err)
{
    if (!p || !out)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "vad: NULL argument");
    *out = NULL;
    if (p->sample_rate_hz < 1000 || p->sample_rate_hz > 192000)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "vad: sample_rate_hz %d", p->sample_rate_hz);
    if (p->frame_ms < 1 || p->frame_ms > 100 || (int64_t)p->sample_rate_hz * p->frame_ms < 1000)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "vad: frame_ms %d not in 1..100", p->frame_ms);
    if (!(p->threshold_db >= 0.0f) || !isfinite(p->min_energy_db) || !(p->floor_rise_db_per_s >= 0.0f))
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "vad: thresholds must be finite and >= 0");
    if (p->min_speech_ms < 0 || p->hangover_ms < 0)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "vad: min_speech_ms and hangover_ms must be >= 0");
    sori_vad *v = calloc(1, sizeof *v);
    if (!v)
        return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "vad: out of memory");
    v->p = *p;
    v->frame_samples = (int)((int64_t)p->sample_rate_hz * p->frame_ms / 1000);
    v->onset_frames = (p->min_speech_ms + p->frame_ms - 1) / p->frame_ms;
    if (v->onset_frames < 1)
        v->onset_frames = 1;
    v->hangover_frames = (p->hangover_ms + p->frame_ms - 1) / p->frame_ms;
    if (v->hangover_frames < 1)
        v->hangover_frames = 1;
    v->floor_rise_per_frame = p->floor_rise_db_per_s * p->frame_ms / 1000.0f;
    sori_vad_reset(v);
    *out = v;
    return SORI_OK;
}

void sori_vad_free(sori_vad *v)
{
    free(v);
}

void sori_vad_reset(sori_vad *v)
{
    if (!v)
        return;
    v->acc = 0;
    v->n_acc = 0;
    v->noise_db = 0.0f;
    v->frames = 0;
    v->speech = false;
    v->run = 0;
}

int sori_vad_frame_samples(const sori_vad *v)
{
    return v ? v->frame_samples : 0;
}

static bool classify(sori_vad *v, float energy_db)
{
    /* Minimum tracking: the floor drops to any quieter frame at once and
     * rises slowly — eight times more slowly during speech, so a long
     * utterance does not lift it into the speech, while a lasting rise of
     * the background still wins in the end. The first frame sets it. */
    if (v->frames == 0 || energy_db < v->noise_db)
        v->noise_db = energy_db;
    else
        v->noise_db += v->speech ? v->floor_rise_per_frame / 8 : v->floor_rise_per_frame;
    v->frames++;
    bool loud = energy_db > v->noise_db + v->p.threshold_db && energy_db > v->p.min_energy_db;
    if (loud != v->speech) {
        v->run++;
        if (v->run >= (v->speech ? v->hangover_frames : v->onset_frames)) {
            v->speech = loud;
            v->run = 0;
        }
    } else {
        v->run = 0;
    }
    return v->speech;
}

sori_status sori_vad_accept(sori_vad *v, const float *samples, int64_t n_samples, uint8_t *decisions,
                            int64_t max_decisions, int64_t *n_decisions, sori_error *err)
{
    if (!v || !n_decisions || n_samples < 0 || (n_samples && !samples) || max_decisions < 0 ||
        (max_decisions && !decisions))
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "vad: bad argument");
    *n_decisions = 0;
    int64_t complete = (v->n_acc + n_samples) / v->frame_samples;
    if (complete > max_decisions)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "vad: room for %lld decisions, %lld needed",
                         (long long)max_decisions, (long long)complete);
    for (int64_t i = 0; i < n_samples; i++)
        if (!isfinite(samples[i]))
            return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "vad: NaN or infinite sample at %lld",
                             (long long)i);
    int64_t nd = 0;
    for (int64_t i = 0; i < n_samples; i++) {
        v->acc += (double)samples[i] * samples[i];
        if (++v->n_acc == v->frame_samples) {
            float db = (float)(10.0 * log10(v->acc / v->frame_samples + 1e-12));
            decisions[nd++] = classify(v, db);
            v->acc = 0;
            v->n_acc = 0;
        }
    }
    *n_decisions = nd;
    return SORI_OK;
}

sori_endpoint_params sori_endpoint_default_params(void)
{
    sori_endpoint_params p = {.rule1_silence_ms = 2400, .rule2_silence_ms = 1200,
                              .rule3_max_utterance_ms = 20000};
    return p;
}

sori_endpoint sori_endpoint_init(void)
{
    sori_endpoint s = {0, 0, false};
    return s;
}

sori_endpoint_rule sori_endpoint_step(const sori_endpoint_params *p, sori_endpoint *s,
                                      bool is_speech, int frame_ms)
{
    if (!p || !s || frame_ms <= 0)
        return SORI_ENDPOINT_NONE;
    s->utterance_ms += frame_ms;
    if (is_speech) {
        s->seen_speech = true;
        s->trailing_silence_ms = 0;
    } else {
        s->trailing_silence_ms += frame_ms;
    }
    sori_endpoint_rule r = SORI_ENDPOINT_NONE;
    if (!s->seen_speech && p->rule1_silence_ms > 0 && s->trailing_silence_ms >= p->rule1_silence_ms)
        r = SORI_ENDPOINT_RULE1;
    else if (s->seen_speech && p->rule2_silence_ms > 0 && s->trailing_silence_ms >= p->rule2_silence_ms)
        r = SORI_ENDPOINT_RULE2;
    else if (p->rule3_max_utterance_ms > 0 && s->utterance_ms >= p->rule3_max_utterance_ms)
        r = SORI_ENDPOINT_RULE3;
    if (r != SORI_ENDPOINT_NONE)
        *s = sori_endpoint_init();
    return r;
}
