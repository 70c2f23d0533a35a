/* The public TTS API (sori/tts.h): voices and synthesis sessions over the
 * VITS stages of tts/vits.c. A session's buffers grow to the longest input
 * and audio it has seen and are kept (so repeated calls allocate nothing),
 * the way the CPU backend keeps its workspaces. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/gguf.h"
#include "kernels/kernels.h"
#include "kokoro_synth.h"
#include "sori/text.h"
#include "vits.h"

enum { MAX_TOKENS_LIMIT = 8192 };

/* The Kokoro voice a session speaks with unless told otherwise (docs/tts-kokoro.md: chosen by
 * how well Whisper understands Korean through it). */
#define KOKORO_DEFAULT_VOICE "jf_gongitsune"

struct sori_tts_synth {
    const sori_tts_voice *voice;
    sori_tts_synth_params p;
    uint64_t rng;
    nn_ctx nn;
    float *ws_in, *ws_out, *ws_dec; /* text side; prior and flow; decoder */
    int64_t cap_in, cap_out, cap_dec;
    bool streaming;                 /* a begun stream: frames [next_frame, n_frames) still to decode */
    int64_t next_frame;
    int32_t *dur;
    int64_t cap_dur;
    kokoro_buf kb;                  /* Kokoro: the pipeline's buffers; */
    float *k_audio;                 /* the call's audio (pieces joined; a stream: the current piece's), */
    int64_t k_cap, k_n, k_next;     /* its size, and the next sample a stream hands out */
    int32_t *k_ids, *k_own;         /* the input being spoken (a stream's: its copy in k_own), */
    int k_n_ids, k_at, k_ids_cap;   /* its length, where the next piece begins */
    int64_t k_frames;               /* frames made for it so far (max_seconds) */
    /* the last call's stages (vits_synth_trace) */
    int n_tokens;
    int64_t n_frames;
    float *hidden, *stats, *log_dur, *zp, *z;
};

static int64_t up16(int64_t n)
{
    return (n + 15) & ~(int64_t)15;
}

/* ---- voices ------------------------------------------------------------------------ */

static sori_status voice_from(sori_runtime *rt, sori_gguf *g, const char *path, sori_tts_voice **out, sori_error *err)
{
    sori_tts_voice *v = calloc(1, sizeof *v);
    if (!v) {
        sori_gguf_free(g);
        return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "%s: out of memory", path);
    }
    v->rt = rt;
    const char *arch = NULL;
    sori_status st;
    if (sori_gguf_get_str(g, "general.architecture", &arch) == SORI_OK && arch && !strcmp(arch, "sori.kokoro")) {
        st = kokoro_load_gguf(g, path, &v->kokoro, err); /* the model keeps the file: its weights stay int8 */
        for (int i = 0; st == SORI_OK && i < v->kokoro->n_voices; i++)
            if (!strcmp(v->kokoro->voice_names[i], KOKORO_DEFAULT_VOICE))
                v->default_speaker = i;
    } else {
        st = vits_load(g, path, &v->m, err);
        sori_gguf_free(g);
    }
    if (st != SORI_OK) {
        free(v);
        return st;
    }
    *out = v;
    return SORI_OK;
}

sori_status sori_tts_voice_load(sori_runtime *rt, const char *path, sori_tts_voice **out, sori_error *err)
{
    if (out)
        *out = NULL;
    if (!rt || !path || !out)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "sori_tts_voice_load: rt, path and out must not be NULL");
    sori_gguf *g = NULL;
    sori_status st = sori_gguf_open_file(path, &g, err);
    if (st != SORI_OK)
        return st;
    return voice_from(rt, g, path, out, err);
}

sori_status sori_tts_voice_load_memory(sori_runtime *rt, const void *data, size_t size, sori_tts_voice **out,
                                       sori_error *err)
{
    if (out)
        *out = NULL;
    if (!rt || !data || !out)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "sori_tts_voice_load_memory: rt, data and out must not be NULL");
    sori_gguf *g = NULL;
    sori_status st = sori_gguf_open_memory(data, size, &g, err);
    if (st != SORI_OK)
        return st;
    return voice_from(rt, g, "<memory>", out, err);
}

void sori_tts_voice_free(sori_tts_voice *voice)
{
    if (!voice)
        return;
    vits_free(&voice->m);
    kokoro_free(voice->kokoro);
    free(voice);
}

sori_tts_voice_info sori_tts_voice_get_info(const sori_tts_voice *voice)
{
    sori_tts_voice_info i;
    memset(&i, 0, sizeof i);
    if (!voice)
        return i;
    if (voice->kokoro) {
        const kokoro_model *k = voice->kokoro;
        i.architecture = "sori.kokoro";
        i.name = "kokoro-82m";
        i.sample_rate_hz = k->sample_rate;
        i.samples_per_frame = kokoro_samples_per_frame(k);
        i.n_speakers = k->n_voices;
        i.n_vocab = k->n_token;
        i.length_scale = 1.0f;
        return i;
    }
    const vits_hp *hp = &voice->m.hp;
    i.architecture = "sori.vits";
    i.name = voice->m.name ? voice->m.name : "";
    i.sample_rate_hz = hp->rate_hz;
    i.samples_per_frame = hp->hop;
    i.n_speakers = hp->n_speakers;
    i.n_vocab = hp->vocab;
    i.flow_size = hp->flow;
    i.stochastic_duration = hp->sdp;
    i.add_blank = voice->m.add_blank;
    i.noise_scale = hp->noise_scale;
    i.noise_scale_duration = hp->noise_scale_dur;
    i.length_scale = 1.0f / hp->speaking_rate;
    return i;
}

const char *sori_tts_voice_token(const sori_tts_voice *voice, int32_t id)
{
    if (voice && voice->kokoro)
        return id >= 0 && id < voice->kokoro->n_token && voice->kokoro->vocab[id][0] ? voice->kokoro->vocab[id] : NULL;
    if (!voice || !voice->m.vocab || id < 0 || id >= voice->m.n_vocab_text)
        return NULL;
    return voice->m.vocab[id];
}

const char *sori_tts_voice_speaker(const sori_tts_voice *voice, int id)
{
    if (!voice || id < 0)
        return NULL;
    if (!voice->kokoro)
        return voice->m.speaker_names && id < voice->m.hp.n_speakers ? voice->m.speaker_names[id] : NULL;
    return id < voice->kokoro->n_voices ? voice->kokoro->voice_names[id] : NULL;
}

int sori_tts_voice_find_speaker(const sori_tts_voice *voice, const char *name)
{
    for (int i = 0; voice && name && sori_tts_voice_speaker(voice, i); i++)
        if (*name && !strcmp(sori_tts_voice_speaker(voice, i), name))
            return i;
    return -1;
}

/* ---- sessions ------------------------------------------------------------------------- */

sori_tts_synth_params sori_tts_synth_default_params(const sori_tts_voice *voice)
{
    sori_tts_synth_params p = {0.667f, 0.8f, 1.0f, 0, 1000, 120.0f, 0, 32};
    if (voice && voice->kokoro) {
        p.noise_scale = p.noise_scale_duration = 0.0f;
        p.speaker_id = voice->default_speaker;
    } else if (voice) {
        p.noise_scale = voice->m.hp.noise_scale;
        p.noise_scale_duration = voice->m.hp.noise_scale_dur;
        p.length_scale = 1.0f / voice->m.hp.speaking_rate;
    }
    return p;
}

static sori_status check_params(const sori_tts_voice *v, const sori_tts_synth_params *p, sori_error *err)
{
    const char *bad = NULL;
    if (!(p->noise_scale >= 0.0f && p->noise_scale <= 100.0f))
        bad = "noise_scale (0..100)";
    else if (!(p->noise_scale_duration >= 0.0f && p->noise_scale_duration <= 100.0f))
        bad = "noise_scale_duration (0..100)";
    else if (!(p->length_scale > 0.0f && p->length_scale <= 100.0f))
        bad = "length_scale (> 0, at most 100)";
    else if (p->speaker_id < 0 || p->speaker_id >= (v->kokoro ? v->kokoro->n_voices : v->m.hp.n_speakers))
        bad = "speaker_id (0 .. n_speakers - 1)";
    else if (p->max_tokens < 1 || p->max_tokens > MAX_TOKENS_LIMIT)
        bad = "max_tokens (1..8192)";
    else if (!(p->max_seconds > 0.0f && p->max_seconds <= 3600.0f))
        bad = "max_seconds (> 0, at most 3600)";
    else if (p->chunk_frames < 1 || p->chunk_frames > 4096)
        bad = "chunk_frames (1..4096)";
    if (bad)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "sori_tts_synth: %s out of range", bad);
    return SORI_OK;
}

sori_status sori_tts_synth_create(const sori_tts_voice *voice, const sori_tts_synth_params *params,
                                  sori_tts_synth **out, sori_error *err)
{
    if (out)
        *out = NULL;
    if (!voice || !out)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "sori_tts_synth_create: voice and out must not be NULL");
    sori_tts_synth_params p = params ? *params : sori_tts_synth_default_params(voice);
    sori_status st = check_params(voice, &p, err);
    if (st != SORI_OK)
        return st;
    sori_tts_synth *s = calloc(1, sizeof *s);
    if (!s)
        return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "sori_tts_synth_create: out of memory");
    s->voice = voice;
    s->p = p;
    s->rng = p.seed;
    s->nn.pool = sori_rt_pool(voice->rt);
    s->kb.pool = s->nn.pool;
    s->nn.n_slots = s->nn.pool ? sori_thread_pool_size(s->nn.pool) : 1;
    if (s->nn.n_slots < 1)
        s->nn.n_slots = 1;
    s->nn.slot_floats = up16(voice->m.slot_floats);
    if (s->nn.slot_floats > 0) {
        s->nn.scratch = malloc(sizeof(float) * (size_t)(s->nn.slot_floats * s->nn.n_slots));
        if (!s->nn.scratch) {
            free(s);
            return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "sori_tts_synth_create: out of memory");
        }
    }
    *out = s;
    return SORI_OK;
}

void sori_tts_synth_free(sori_tts_synth *s)
{
    if (!s)
        return;
    free(s->nn.scratch);
    free(s->ws_in);
    free(s->ws_out);
    free(s->ws_dec);
    free(s->dur);
    kokoro_buf_free(&s->kb);
    free(s->k_audio);
    free(s->k_own);
    free(s);
}

sori_status sori_tts_synth_set_params(sori_tts_synth *s, const sori_tts_synth_params *params, sori_error *err)
{
    if (!s || !params)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "sori_tts_synth_set_params: s and params must not be NULL");
    sori_status st = check_params(s->voice, params, err);
    if (st != SORI_OK)
        return st;
    s->p = *params;
    s->rng = params->seed;
    return SORI_OK;
}

sori_tts_synth_params sori_tts_synth_get_params(const sori_tts_synth *s)
{
    return s ? s->p : sori_tts_synth_default_params(NULL);
}

/* ---- synthesis ------------------------------------------------------------------------ */

/* splitmix64, then Box–Muller: standard normal values */
static double uniform01(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return ((double)(z >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

static void draw_normal(uint64_t *state, float *x, int64_t n)
{
    for (int64_t i = 0; i < n; i += 2) {
        const double r = sqrt(-2.0 * log(uniform01(state))), a = 6.283185307179586 * uniform01(state);
        x[i] = (float)(r * cos(a));
        if (i + 1 < n)
            x[i + 1] = (float)(r * sin(a));
    }
}

static sori_status grow(float **buf, int64_t *cap, int64_t n, sori_error *err)
{
    if (n <= *cap)
        return SORI_OK;
    float *p = malloc(sizeof(float) * (size_t)n);
    if (!p)
        return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "sori_tts_synth: out of memory (%lld floats)",
                         (long long)n);
    free(*buf);
    *buf = p;
    *cap = n;
    return SORI_OK;
}

static const float *speaker(const sori_tts_synth *s)
{
    const vits_hp *hp = &s->voice->m.hp;
    return hp->n_speakers > 1 ? s->voice->m.spk_embed + (int64_t)s->p.speaker_id * hp->spk_dim : NULL;
}

/* Everything but the decoder: s->z [F, n_frames] is the decoder's input. */
static sori_status prepare(sori_tts_synth *s, const int32_t *ids, int n_ids, const sori_tts_noise *noise,
                           sori_error *err)
{
    const vits_model *m = &s->voice->m;
    const vits_hp *hp = &m->hp;
    s->n_tokens = 0;
    s->n_frames = 0;
    if (n_ids == 0)
        return SORI_OK;
    if (n_ids > s->p.max_tokens)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0,
                         "sori_tts_synth: %d tokens, more than max_tokens %d (split the text into sentences)",
                         n_ids, s->p.max_tokens);
    for (int i = 0; i < n_ids; i++)
        if (ids[i] < 0 || ids[i] >= hp->vocab)
            return sori_fail(err, SORI_ERR_INVALID_ARG, 0,
                             "sori_tts_synth: token %d is id %d, outside the vocabulary (0..%d)", i, ids[i],
                             hp->vocab - 1);
    const int T = n_ids, H = hp->hidden, F = hp->flow;
    const float *g = speaker(s);

    /* text side: hidden, stats, log_dur, the duration noise, then the stages' scratch */
    int64_t enc = vits_encoder_ws(hp, T), dws = vits_duration_ws(hp, T);
    const int64_t n_in = up16((int64_t)H * T) + up16(2 * (int64_t)F * T) + 2 * up16(2 * (int64_t)T) +
                         (enc > dws ? enc : dws);
    sori_status st = grow(&s->ws_in, &s->cap_in, n_in, err);
    if (st == SORI_OK && T > s->cap_dur) {
        int32_t *d = malloc(sizeof(int32_t) * (size_t)s->p.max_tokens);
        if (!d)
            return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "sori_tts_synth: out of memory");
        free(s->dur);
        s->dur = d;
        s->cap_dur = s->p.max_tokens;
    }
    if (st != SORI_OK)
        return st;
    float *hidden = s->ws_in, *stats = hidden + up16((int64_t)H * T), *log_dur = stats + up16(2 * (int64_t)F * T);
    float *nd = log_dur + up16(2 * (int64_t)T), *ws = nd + up16(2 * (int64_t)T);
    vits_encoder(m, &s->nn, ids, T, hidden, stats, ws);
    if (hp->sdp) {
        if (noise && noise->duration)
            memcpy(nd, noise->duration, sizeof(float) * 2 * (size_t)T);
        else
            draw_normal(&s->rng, nd, 2 * (int64_t)T);
    }
    vits_duration(m, &s->nn, hidden, T, g, nd, s->p.noise_scale_duration, log_dur, ws);

    /* durations: ceil(exp(log_dur) · length_scale) frames per token, as upstream (f32) */
    const double max_frames = (double)s->p.max_seconds * hp->rate_hz / hp->hop;
    double total = 0.0;
    for (int t = 0; t < T; t++) {
        const float d = ceilf(expf(log_dur[t]) * s->p.length_scale);
        if (!isfinite(d))
            return sori_fail(err, SORI_ERR_INVALID_ARG, 0,
                             "sori_tts_synth: token %d got a duration that is not finite (log %g)", t,
                             (double)log_dur[t]);
        total += d;
        if (total > max_frames)
            return sori_fail(err, SORI_ERR_INVALID_ARG, 0,
                             "sori_tts_synth: the durations make more than max_seconds (%g s) of audio: split "
                             "the text into sentences",
                             (double)s->p.max_seconds);
        s->dur[t] = (int32_t)d;
    }
    const int64_t T_out = total < 1.0 ? 1 : (int64_t)total;

    /* acoustic side: z_p, z, the prior noise, then the flow's scratch */
    const int64_t FT = up16((int64_t)F * T_out);
    const int64_t n_out = 3 * FT + vits_flow_ws(hp, T_out);
    if (noise && noise->prior && noise->n_prior != (int64_t)F * T_out)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0,
                         "sori_tts_synth: the prior noise has %lld values; the durations give %lld frames of "
                         "%d channels (%lld values)",
                         (long long)noise->n_prior, (long long)T_out, F, (long long)F * T_out);
    if ((st = grow(&s->ws_out, &s->cap_out, n_out, err)) != SORI_OK)
        return st;
    float *zp = s->ws_out, *z = zp + FT, *np = z + FT, *ws2 = np + FT;
    if (noise && noise->prior)
        memcpy(np, noise->prior, sizeof(float) * (size_t)F * T_out);
    else
        draw_normal(&s->rng, np, (int64_t)F * T_out);
    /* the prior expanded over the frames: frame f takes the statistics of the token whose span holds it */
    const float *mean = stats, *logvar = stats + (int64_t)F * T;
    int64_t f = 0;
    for (int t = 0; t < T; t++)
        for (int32_t r = 0; r < s->dur[t]; r++, f++)
            for (int c = 0; c < F; c++)
                zp[(int64_t)c * T_out + f] = mean[(int64_t)c * T + t] +
                                            np[(int64_t)c * T_out + f] * expf(logvar[(int64_t)c * T + t]) *
                                                s->p.noise_scale;
    for (; f < T_out; f++) /* no token (all durations 0): a zero prior */
        for (int c = 0; c < F; c++)
            zp[(int64_t)c * T_out + f] = np[(int64_t)c * T_out + f] * s->p.noise_scale;
    memcpy(z, zp, sizeof(float) * (size_t)F * T_out);
    vits_flow_reverse(m, &s->nn, z, T_out, g, ws2);

    s->n_tokens = T;
    s->n_frames = T_out;
    s->hidden = hidden;
    s->stats = stats;
    s->log_dur = log_dur;
    s->zp = zp;
    s->z = z;
    return SORI_OK;
}

/* ---- Kokoro ------------------------------------------------------------------------- */

enum {
    KOKORO_FIRST_PIECE = 16, /* phonemes before a sentence mark may end an input's first piece */
    KOKORO_MIN_PIECE = 40,   /* ... and any later one */
    KOKORO_CLAUSE_REST = 60, /* a clause mark ends a piece when its sentence goes on this long after it */
    KOKORO_KEEP_LEAD = 4,    /* frames (25 ms each) of a later piece's lead-in kept */
    KOKORO_KEEP_TRAIL = 12,  /* frames of trailing silence kept before the next piece */
};
#define KOKORO_SILENCE 0.03 /* a frame with less RMS than this share of the loudest frame's is silent */

static double frame_rms(const float *x, int64_t n)
{
    double e = 0;
    for (int64_t i = 0; i < n; i++)
        e += (double)x[i] * x[i];
    return sqrt(e / (double)n);
}

static double peak_frame_rms(const float *x, int64_t frames, int64_t spf)
{
    double m = 0;
    for (int64_t f = 0; f < frames; f++) {
        const double r = frame_rms(x + f * spf, spf);
        m = r > m ? r : m;
    }
    return m;
}

static int mark_kind(const kokoro_model *k, int32_t id) /* 0 sentence, 1 clause, 2 space, -1 other */
{
    const char *t = k->vocab[id];
    return !strcmp(t, ".") || !strcmp(t, "!") || !strcmp(t, "?") || !strcmp(t, "…")   ? 0
           : !strcmp(t, ",") || !strcmp(t, ";") || !strcmp(t, ":") || !strcmp(t, "—") ? 1
           : !strcmp(t, " ")                                                          ? 2
                                                                                      : -1;
}

/* the phonemes from ids[i] to the next sentence mark (with it) or to n */
static int sentence_rest(const kokoro_model *k, const int32_t *ids, int i, int n)
{
    int j = i;
    while (j < n && mark_kind(k, ids[j]) != 0)
        j++;
    return (j < n ? j + 1 : n) - i;
}

/* Where a Kokoro piece of ids[0, n) ends, so a stream's first audio comes early and no piece is
 * long: after the first sentence mark (and the marks right after it) once the piece has
 * KOKORO_FIRST_PIECE phonemes (the input's first piece) or KOKORO_MIN_PIECE (later ones), or after
 * a clause mark there (, ; : —) when its sentence goes on KOKORO_CLAUSE_REST phonemes more; else
 * all of it when it fits one pass (max), else after the last sentence mark within max, the last
 * other punctuation, the last space, or at max. */
static int piece_end(const kokoro_model *k, const int32_t *ids, int n, int max, bool first)
{
    for (int i = (first ? KOKORO_FIRST_PIECE : KOKORO_MIN_PIECE) - 1; i < n && i < max; i++) {
        const int kind = mark_kind(k, ids[i]);
        if (kind == 0 || (kind == 1 && sentence_rest(k, ids, i + 1, n) >= KOKORO_CLAUSE_REST)) {
            while (i + 1 < n && i + 1 < max && mark_kind(k, ids[i + 1]) == kind)
                i++;
            return i + 1;
        }
    }
    if (n <= max)
        return n;
    int end[3] = {0, 0, 0};
    for (int i = 0; i < max; i++) {
        const int kind = mark_kind(k, ids[i]);
        if (kind >= 0)
            end[kind] = i + 1;
    }
    return end[0] ? end[0] : end[1] ? end[1] : end[2] ? end[2] : max;
}

/* A new Kokoro input: the session's piece state reset, the ids checked */
static sori_status kokoro_start(sori_tts_synth *s, const int32_t *ids, int n_ids, sori_error *err)
{
    const kokoro_model *k = s->voice->kokoro;
    s->k_n = s->k_next = s->k_frames = 0;
    s->k_at = s->k_n_ids = 0;
    if (n_ids > s->p.max_tokens)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0,
                         "sori_tts_synth: %d tokens, more than max_tokens %d (split the text into sentences)",
                         n_ids, s->p.max_tokens);
    for (int i = 0; i < n_ids; i++)
        if (ids[i] < 0 || ids[i] >= k->n_token)
            return sori_fail(err, SORI_ERR_INVALID_ARG, 0,
                             "sori_tts_synth: token %d is id %d, outside the vocabulary (0..%d)", i, ids[i],
                             k->n_token - 1);
    return SORI_OK;
}

/* The next piece of s->k_ids from s->k_at (spaces that would begin it skipped): its audio appended to
 * s->k_audio (append) or in its place (a stream: the audio handed out is not kept). Past the end:
 * nothing. max_seconds counts over the whole input. */
static sori_status kokoro_piece(sori_tts_synth *s, bool append, sori_error *err)
{
    const kokoro_model *k = s->voice->kokoro;
    while (s->k_at < s->k_n_ids && mark_kind(k, s->k_ids[s->k_at]) == 2)
        s->k_at++;
    if (!append)
        s->k_n = s->k_next = 0;
    if (s->k_at >= s->k_n_ids)
        return SORI_OK;
    const int64_t spf = kokoro_samples_per_frame(k);
    const int64_t max_frames = (int64_t)((double)s->p.max_seconds * k->sample_rate / (double)spf);
    const int len = piece_end(k, s->k_ids + s->k_at, s->k_n_ids - s->k_at, kokoro_max_phonemes(k), s->k_frames == 0);
    const float *pcm = NULL;
    int64_t got = 0;
    const int32_t *dur = NULL;
    sori_status st = kokoro_synthesize(k, &s->kb, s->k_ids + s->k_at, len, s->p.speaker_id, 1.0f / s->p.length_scale,
                                       max_frames - s->k_frames, &pcm, &got, &dur, err);
    /* between two pieces, the lead-in (the first pad's frames) and the trailing silence (after the
     * last frame with sound: Kokoro lengthens a sentence's last vowel into it) are cut to the pause
     * a reader makes */
    int rest = s->k_at + len;
    while (rest < s->k_n_ids && mark_kind(k, s->k_ids[rest]) == 2)
        rest++;
    int64_t cut_lead = 0, cut_trail = 0;
    if (st == SORI_OK && s->k_frames > 0 && dur[0] > KOKORO_KEEP_LEAD)
        cut_lead = dur[0] - KOKORO_KEEP_LEAD;
    if (st == SORI_OK && rest < s->k_n_ids) {
        const int64_t frames = got / spf;
        int64_t last = frames - 1;
        const double floor = KOKORO_SILENCE * peak_frame_rms(pcm, frames, spf);
        while (last > 0 && frame_rms(pcm + last * spf, spf) < floor)
            last--;
        if (frames - (last + 1) > KOKORO_KEEP_TRAIL)
            cut_trail = frames - (last + 1) - KOKORO_KEEP_TRAIL;
    }
    if (st == SORI_OK && (cut_lead + cut_trail) * spf < got) {
        pcm += cut_lead * spf;
        got -= (cut_lead + cut_trail) * spf;
    }
    if (st == SORI_OK && s->k_n + got > s->k_cap) {
        float *p = realloc(s->k_audio, sizeof(float) * (size_t)(s->k_n + got));
        if (p)
            s->k_audio = p, s->k_cap = s->k_n + got;
        else
            st = sori_fail(err, SORI_ERR_NO_MEMORY, 0, "sori_tts_synth: out of memory");
    }
    if (st != SORI_OK) {
        s->k_n = s->k_next = 0;
        s->k_at = s->k_n_ids; /* the input is given up */
        return st;
    }
    memcpy(s->k_audio + s->k_n, pcm, sizeof(float) * (size_t)got);
    s->k_n += got;
    s->k_frames += got / spf;
    s->k_at += len;
    return SORI_OK;
}

/* A whole Kokoro call: every piece of ids, joined in s->k_audio. */
static sori_status kokoro_whole(sori_tts_synth *s, const int32_t *ids, int n_ids, sori_error *err)
{
    sori_status st = kokoro_start(s, ids, n_ids, err);
    if (st != SORI_OK)
        return st;
    s->k_ids = (int32_t *)ids; /* for this call only: read, never kept */
    s->k_n_ids = n_ids;
    while (st == SORI_OK && s->k_at < s->k_n_ids)
        st = kokoro_piece(s, true, err);
    s->k_ids = NULL;
    s->k_n_ids = s->k_at = 0;
    return st;
}

/* A Kokoro stream: the ids copied into the session; the pieces are made one by one by next(). */
static sori_status kokoro_begin(sori_tts_synth *s, const int32_t *ids, int n_ids, sori_error *err)
{
    sori_status st = kokoro_start(s, ids, n_ids, err);
    if (st != SORI_OK)
        return st;
    if (n_ids > s->k_ids_cap) {
        int32_t *p = malloc(sizeof(int32_t) * (size_t)n_ids);
        if (!p)
            return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "sori_tts_synth_begin: out of memory");
        free(s->k_own);
        s->k_own = p;
        s->k_ids_cap = n_ids;
    }
    if (n_ids)
        memcpy(s->k_own, ids, sizeof(int32_t) * (size_t)n_ids);
    s->k_ids = s->k_own;
    s->k_n_ids = n_ids;
    return SORI_OK;
}

static sori_status check_call(sori_tts_synth *s, const int32_t *ids, int n_ids, const void *out1, const void *out2,
                              const char *fn, sori_error *err)
{
    if (!s || !out1 || !out2 || (n_ids > 0 && !ids) || n_ids < 0)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "%s: s, the outputs (and ids when n_ids > 0) must not be NULL",
                         fn);
    s->streaming = false;
    return SORI_OK;
}

sori_status sori_tts_synth_tokens(sori_tts_synth *s, const int32_t *ids, int n_ids, const sori_tts_noise *noise,
                                  const float **samples, int64_t *n_samples, sori_error *err)
{
    if (samples)
        *samples = NULL;
    if (n_samples)
        *n_samples = 0;
    sori_status st = check_call(s, ids, n_ids, samples, n_samples, "sori_tts_synth_tokens", err);
    if (st == SORI_OK && s->voice->kokoro) {
        if ((st = kokoro_whole(s, ids, n_ids, err)) == SORI_OK && s->k_n) {
            *samples = s->k_audio;
            *n_samples = s->k_n;
        }
        return st;
    }
    if (st == SORI_OK)
        st = prepare(s, ids, n_ids, noise, err);
    if (st != SORI_OK || s->n_frames == 0)
        return st;
    const vits_hp *hp = &s->voice->m.hp;
    const int64_t T = s->n_frames;
    if ((st = grow(&s->ws_dec, &s->cap_dec, up16(T * hp->hop) + vits_decoder_ws(&s->voice->m, T), err)) != SORI_OK)
        return st;
    vits_decoder(&s->voice->m, &s->nn, s->z, T, speaker(s), s->ws_dec, s->ws_dec + up16(T * hp->hop));
    *samples = s->ws_dec;
    *n_samples = T * hp->hop;
    return SORI_OK;
}

sori_status sori_tts_synth_begin(sori_tts_synth *s, const int32_t *ids, int n_ids, const sori_tts_noise *noise,
                                 int64_t *n_samples_total, sori_error *err)
{
    if (n_samples_total)
        *n_samples_total = 0;
    sori_status st = check_call(s, ids, n_ids, n_samples_total, n_samples_total, "sori_tts_synth_begin", err);
    if (st == SORI_OK && s->voice->kokoro) {
        if ((st = kokoro_begin(s, ids, n_ids, err)) == SORI_OK) {
            s->streaming = true;
            *n_samples_total = -1; /* known sentence by sentence */
        }
        return st;
    }
    if (st == SORI_OK)
        st = prepare(s, ids, n_ids, noise, err);
    if (st != SORI_OK)
        return st;
    s->streaming = true;
    s->next_frame = 0;
    *n_samples_total = s->n_frames * s->voice->m.hp.hop;
    return SORI_OK;
}

sori_status sori_tts_synth_next(sori_tts_synth *s, const float **samples, int64_t *n_samples, sori_error *err)
{
    if (samples)
        *samples = NULL;
    if (n_samples)
        *n_samples = 0;
    if (!s || !samples || !n_samples)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "sori_tts_synth_next: s, samples and n_samples must not be NULL");
    if (!s->streaming)
        return sori_fail(err, SORI_ERR_STATE, 0, "sori_tts_synth_next: no stream (sori_tts_synth_begin first)");
    if (s->voice->kokoro) { /* piece by piece (sentences), each handed out chunk_frames at a time */
        if (s->k_next >= s->k_n) {
            const sori_status st = kokoro_piece(s, false, err);
            if (st != SORI_OK) {
                s->streaming = false;
                return st;
            }
        }
        const int64_t step = (int64_t)s->p.chunk_frames * kokoro_samples_per_frame(s->voice->kokoro);
        const int64_t a = s->k_next, b = a + step < s->k_n ? a + step : s->k_n;
        if (a >= s->k_n) {
            s->streaming = false;
            return SORI_OK;
        }
        *samples = s->k_audio + a;
        *n_samples = b - a;
        s->k_next = b;
        return SORI_OK;
    }
    const vits_model *m = &s->voice->m;
    const vits_hp *hp = &m->hp;
    const int64_t T = s->n_frames, f0 = s->next_frame;
    if (f0 >= T) {
        s->streaming = false;
        return SORI_OK;
    }
    /* frames [f0, f1) with ctx frames of context each side: [a, b) decoded, the middle kept */
    const int64_t ctx = vits_decoder_context(hp);
    const int64_t f1 = f0 + s->p.chunk_frames < T ? f0 + s->p.chunk_frames : T;
    const int64_t a = f0 - ctx > 0 ? f0 - ctx : 0, b = f1 + ctx < T ? f1 + ctx : T, W = b - a;
    const int F = hp->flow;
    sori_status st = grow(&s->ws_dec, &s->cap_dec, up16((int64_t)F * W) + up16(W * hp->hop) + vits_decoder_ws(&s->voice->m, W),
                          err);
    if (st != SORI_OK)
        return st;
    float *win = s->ws_dec, *wave = win + up16((int64_t)F * W), *ws = wave + up16(W * hp->hop);
    for (int c = 0; c < F; c++)
        memcpy(win + (int64_t)c * W, s->z + (int64_t)c * T + a, sizeof(float) * (size_t)W);
    vits_decoder(m, &s->nn, win, W, speaker(s), wave, ws);
    s->next_frame = f1;
    *samples = wave + (f0 - a) * hp->hop;
    *n_samples = (f1 - f0) * hp->hop;
    return SORI_OK;
}

void sori_tts_synth_cancel(sori_tts_synth *s)
{
    if (s)
        s->streaming = false;
}

void vits_synth_trace(const sori_tts_synth *s, vits_trace *t)
{
    memset(t, 0, sizeof *t);
    if (!s || !s->n_tokens)
        return;
    const int F = s->voice->m.hp.flow;
    t->n_tokens = s->n_tokens;
    t->n_frames = s->n_frames;
    t->hidden = s->hidden;
    t->prior_mean = s->stats;
    t->prior_logvar = s->stats + (int64_t)F * s->n_tokens;
    t->log_dur = s->log_dur;
    t->dur = s->dur;
    t->prior_latents = s->zp;
    t->latents = s->z;
}
