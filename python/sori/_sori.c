/* sori._sori: the C API as a Python extension module (the Python C API only;
 * python/sori/__init__.py builds the public classes on it). Handles are
 * capsules: a model (its runtime with it) and a stream (holding a reference
 * to its model's capsule, so the model outlives it). Every call that
 * computes releases the GIL; audio comes in through the buffer protocol
 * (float32, C-contiguous: numpy arrays, array('f'), memoryviews) without a
 * copy. Errors raise sori._sori.Error with sori_error's message; the
 * status name is the exception's `status` attribute. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sori/asr.h"
#include "sori/audio.h"
#include "sori/lm.h"
#include "sori/runtime.h"
#include "sori/text.h"
#include "sori/tts.h"

static PyObject *g_error; /* sori._sori.Error */

static PyObject *raise(sori_status st, const sori_error *err)
{
    PyObject *e = PyObject_CallFunction(g_error, "s", err->message[0] ? err->message : sori_status_str(st));
    if (e) {
        PyObject_SetAttrString(e, "status", PyUnicode_FromString(sori_status_str(st)));
        PyErr_SetObject(g_error, e);
        Py_DECREF(e);
    }
    return NULL;
}

/* ---- models ---------------------------------------------------------------------- */

typedef struct {
    sori_runtime *rt;
    sori_lm *rescore; /* N-best rescoring LM, or NULL */
    sori_asr_model *m;
} model;

static void model_free(PyObject *cap)
{
    model *x = PyCapsule_GetPointer(cap, "sori.model");
    if (!x)
        return;
    sori_asr_model_free(x->m);
    sori_lm_free(x->rescore);
    sori_runtime_free(x->rt);
    free(x);
}

static model *get_model(PyObject *cap) { return PyCapsule_GetPointer(cap, "sori.model"); }

/* model_load(path, device="auto", threads=0, lm=None, beam=-1, hotwords=None, language=None,
 *            rescore=None, nbest=8, rescore_weight=0.3, rescore_bonus=0.5) */
static PyObject *py_model_load(PyObject *self, PyObject *args, PyObject *kw)
{
    (void)self;
    static char *names[] = {"path",    "device", "threads",        "lm",           "beam", "hotwords", "language",
                            "rescore", "nbest",  "rescore_weight", "rescore_bonus", NULL};
    const char *path, *device = "auto", *lm = NULL, *hotwords = NULL, *language = NULL, *rescore = NULL;
    int threads = 0, beam = -1, nbest = 8;
    float rw = 0.3f, rb = 0.5f;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "s|sizizzziff", names, &path, &device, &threads, &lm, &beam,
                                     &hotwords, &language, &rescore, &nbest, &rw, &rb))
        return NULL;
    sori_error err = {0};
    sori_runtime_params rp = sori_runtime_default_params();
    sori_status st = sori_device_parse(device, &rp.device, &rp.device_index);
    if (st != SORI_OK) {
        snprintf(err.message, sizeof err.message, "device '%s': cpu, cuda, cuda:N or auto", device);
        return raise(st, &err);
    }
    if (threads > 0)
        rp.n_threads = threads;
    model *x = calloc(1, sizeof *x);
    if (!x)
        return PyErr_NoMemory();
    sori_asr_model_params mp = sori_asr_model_default_params();
    mp.lm_path = lm;
    if (beam >= 0)
        mp.beam = beam;
    mp.hotwords = hotwords;
    mp.language = language;
    mp.nbest = rescore ? nbest : 0;
    mp.rescore_weight = rw;
    mp.rescore_bonus = rb;
    Py_BEGIN_ALLOW_THREADS st = sori_runtime_create(&rp, &x->rt, &err);
    if (st == SORI_OK && rescore)
        st = sori_lm_load(x->rt, rescore, &x->rescore, &err);
    mp.rescore_lm = x->rescore;
    if (st == SORI_OK)
        st = sori_asr_model_load(x->rt, path, &mp, &x->m, &err);
    Py_END_ALLOW_THREADS if (st != SORI_OK)
    {
        sori_asr_model_free(x->m);
        sori_lm_free(x->rescore);
        sori_runtime_free(x->rt);
        free(x);
        return raise(st, &err);
    }
    return PyCapsule_New(x, "sori.model", model_free);
}

static PyObject *py_model_info(PyObject *self, PyObject *cap)
{
    (void)self;
    model *x = get_model(cap);
    if (!x)
        return NULL;
    const sori_asr_model_info i = sori_asr_model_get_info(x->m);
    return Py_BuildValue("{s:i,s:s,s:s,s:s}", "sample_rate", i.sample_rate_hz, "arch", i.arch ? i.arch : "",
                         "name", i.name, "backend", sori_runtime_backend_name(x->rt));
}

/* b holds float32 samples (a whole number of them); else ValueError, and b is released */
static bool float_samples(Py_buffer *b)
{
    if (b->len % (Py_ssize_t)sizeof(float) == 0)
        return true;
    PyBuffer_Release(b);
    PyErr_SetString(PyExc_ValueError, "samples: float32 expected (a byte length that is a multiple of 4)");
    return false;
}

/* ---- results --------------------------------------------------------------------- */

static PyObject *result_dict(const sori_asr_result *r)
{
    PyObject *words = PyList_New(r->n_words);
    if (!words)
        return NULL;
    for (int i = 0; i < r->n_words; i++) {
        const sori_asr_word *w = &r->words[i];
        PyObject *t = Py_BuildValue("(sddf)", w->text ? w->text : "", w->start_s, w->end_s, (double)w->confidence);
        if (!t) {
            Py_DECREF(words);
            return NULL;
        }
        PyList_SET_ITEM(words, i, t);
    }
    PyObject *segs = PyList_New(r->n_segments);
    if (!segs) {
        Py_DECREF(words);
        return NULL;
    }
    for (int i = 0; i < r->n_segments; i++) {
        const sori_asr_segment *g = &r->segments[i];
        PyObject *t = Py_BuildValue("(dds)", g->start_s, g->end_s, g->text ? g->text : "");
        if (!t) {
            Py_DECREF(words);
            Py_DECREF(segs);
            return NULL;
        }
        PyList_SET_ITEM(segs, i, t);
    }
    return Py_BuildValue("{s:s,s:N,s:N,s:d,s:f,s:O,s:s}", "text", r->text ? r->text : "", "words", words, "segments",
                         segs, "duration", r->duration_s, "confidence", (double)r->confidence, "final",
                         r->is_final ? Py_True : Py_False, "language", r->language);
}

/* written form and masking, as `sori transcribe --itn --redact` */
static sori_status post(sori_asr_result *r, int itn, int redact, sori_error *err)
{
    /* itn: 0 off, else 1 + the SORI_ITN_* flags */
    sori_status st = itn ? sori_asr_result_itn(r, (unsigned)(itn - 1), err) : SORI_OK;
    if (st == SORI_OK && redact) {
        sori_asr_redaction red[64];
        int n = 0;
        st = sori_asr_result_redact(r, 0, red, 64, &n, err);
    }
    return st;
}

/* transcribe_samples(model, buffer float32, sample_rate, itn=False, redact=False) -> dict */
static PyObject *py_transcribe_samples(PyObject *self, PyObject *args, PyObject *kw)
{
    (void)self;
    static char *names[] = {"model", "samples", "sample_rate", "itn", "redact", NULL};
    PyObject *cap;
    Py_buffer b;
    int rate, itn = 0, redact = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "Oy*i|ip", names, &cap, &b, &rate, &itn, &redact))
        return NULL;
    model *x = get_model(cap);
    if (!x)
        PyBuffer_Release(&b);
    if (!x || !float_samples(&b))
        return NULL;
    sori_error err = {0};
    sori_asr_result *r = NULL;
    sori_status st;
    Py_BEGIN_ALLOW_THREADS st = sori_asr_transcribe(x->m, b.buf, b.len / (Py_ssize_t)sizeof(float), rate, &r, &err);
    if (st == SORI_OK)
        st = post(r, itn, redact, &err);
    Py_END_ALLOW_THREADS PyBuffer_Release(&b);
    if (st != SORI_OK) {
        sori_asr_result_free(r);
        return raise(st, &err);
    }
    PyObject *d = result_dict(r);
    sori_asr_result_free(r);
    return d;
}

/* transcribe_file(model, path, channel=-1, itn=False, redact=False) -> dict (read as it is decoded) */
static PyObject *py_transcribe_file(PyObject *self, PyObject *args, PyObject *kw)
{
    (void)self;
    static char *names[] = {"model", "path", "channel", "itn", "redact", NULL};
    PyObject *cap;
    const char *path;
    int channel = SORI_CHANNEL_MIX, itn = 0, redact = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "Os|iip", names, &cap, &path, &channel, &itn, &redact))
        return NULL;
    model *x = get_model(cap);
    if (!x)
        return NULL;
    sori_error err = {0};
    sori_asr_result *r = NULL;
    sori_audio_reader *rd = NULL;
    sori_status st;
    const int rate = sori_asr_model_get_info(x->m).sample_rate_hz;
    Py_BEGIN_ALLOW_THREADS st = sori_audio_reader_open(path, NULL, channel, rate, &rd, NULL, &err);
    if (st == SORI_OK)
        st = sori_asr_transcribe_reader(x->m, rd, &r, &err);
    if (st == SORI_OK)
        st = post(r, itn, redact, &err);
    sori_audio_reader_close(rd);
    Py_END_ALLOW_THREADS if (st != SORI_OK)
    {
        sori_asr_result_free(r);
        return raise(st, &err);
    }
    PyObject *d = result_dict(r);
    sori_asr_result_free(r);
    return d;
}

/* read_audio(path_or_bytes, channel=-1) -> (bytes of float32 samples, sample_rate) */
static PyObject *py_read_audio(PyObject *self, PyObject *args, PyObject *kw)
{
    (void)self;
    static char *names[] = {"source", "channel", NULL};
    PyObject *src;
    int channel = SORI_CHANNEL_MIX;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O|i", names, &src, &channel))
        return NULL;
    sori_audio a = {0}, mono = {0};
    sori_error err = {0};
    sori_status st;
    if (PyBytes_Check(src)) {
        const char *data = PyBytes_AS_STRING(src);
        const Py_ssize_t n = PyBytes_GET_SIZE(src);
        Py_BEGIN_ALLOW_THREADS st = sori_audio_read_memory(data, (size_t)n, &a, &err);
        Py_END_ALLOW_THREADS
    } else {
        PyObject *fs = NULL;
        if (!PyUnicode_FSConverter(src, &fs))
            return NULL;
        const char *path = PyBytes_AS_STRING(fs);
        Py_BEGIN_ALLOW_THREADS st = sori_audio_read_file(path, &a, &err);
        Py_END_ALLOW_THREADS Py_DECREF(fs);
    }
    if (st == SORI_OK)
        st = sori_audio_select_channel(&a, channel, &mono, &err);
    sori_audio_free(&a);
    if (st != SORI_OK)
        return raise(st, &err);
    PyObject *bytes = PyBytes_FromStringAndSize((const char *)mono.samples, (Py_ssize_t)(mono.n_frames * sizeof(float)));
    const int rate = mono.sample_rate_hz;
    sori_audio_free(&mono);
    return bytes ? Py_BuildValue("(Ni)", bytes, rate) : NULL;
}

/* ---- streams --------------------------------------------------------------------- */

typedef struct {
    sori_asr_stream *s;
    PyObject *model; /* its model's capsule, kept alive */
} stream;

static void stream_free(PyObject *cap)
{
    stream *x = PyCapsule_GetPointer(cap, "sori.stream");
    if (!x)
        return;
    sori_asr_stream_free(x->s);
    Py_XDECREF(x->model);
    free(x);
}

static stream *get_stream(PyObject *cap) { return PyCapsule_GetPointer(cap, "sori.stream"); }

/* stream_create(model, endpointing=True, hotwords=None, language=None) */
static PyObject *py_stream_create(PyObject *self, PyObject *args, PyObject *kw)
{
    (void)self;
    static char *names[] = {"model", "endpointing", "hotwords", "language", NULL};
    PyObject *cap;
    int endpointing = 1;
    const char *hotwords = NULL, *language = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O|pzz", names, &cap, &endpointing, &hotwords, &language))
        return NULL;
    model *m = get_model(cap);
    if (!m)
        return NULL;
    stream *x = calloc(1, sizeof *x);
    if (!x)
        return PyErr_NoMemory();
    sori_asr_stream_params sp = sori_asr_stream_default_params();
    sp.endpointing = endpointing != 0;
    sp.hotwords = hotwords;
    sp.language = language;
    sori_error err = {0};
    const sori_status st = sori_asr_stream_create(m->m, &sp, &x->s, &err);
    if (st != SORI_OK) {
        free(x);
        return raise(st, &err);
    }
    Py_INCREF(cap);
    x->model = cap;
    return PyCapsule_New(x, "sori.stream", stream_free);
}

/* decode what is ready (the GIL released) */
static sori_status drain(stream *x, sori_error *err)
{
    sori_status st = SORI_OK;
    model *m = get_model(x->model);
    while (st == SORI_OK && sori_asr_stream_is_ready(x->s))
        st = sori_asr_decode_ready(m->m, &x->s, 1, err);
    return st;
}

/* stream_accept(stream, buffer float32, sample_rate): accepts and decodes what is ready */
static PyObject *py_stream_accept(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *cap;
    Py_buffer b;
    int rate;
    if (!PyArg_ParseTuple(args, "Oy*i", &cap, &b, &rate))
        return NULL;
    stream *x = get_stream(cap);
    if (!x)
        PyBuffer_Release(&b);
    if (!x || !float_samples(&b))
        return NULL;
    sori_error err = {0};
    sori_status st;
    Py_BEGIN_ALLOW_THREADS st = sori_asr_stream_accept(x->s, b.buf, b.len / (Py_ssize_t)sizeof(float), rate, &err);
    if (st == SORI_OK)
        st = drain(x, &err);
    Py_END_ALLOW_THREADS PyBuffer_Release(&b);
    if (st != SORI_OK)
        return raise(st, &err);
    Py_RETURN_NONE;
}

static PyObject *py_stream_finish(PyObject *self, PyObject *cap)
{
    (void)self;
    stream *x = get_stream(cap);
    if (!x)
        return NULL;
    sori_error err = {0};
    sori_status st;
    Py_BEGIN_ALLOW_THREADS st = sori_asr_stream_input_finished(x->s, &err);
    if (st == SORI_OK)
        st = drain(x, &err);
    Py_END_ALLOW_THREADS if (st != SORI_OK) return raise(st, &err);
    Py_RETURN_NONE;
}

/* stream_result(stream) -> dict: the utterance so far (partial, or final at the end) */
static PyObject *py_stream_result(PyObject *self, PyObject *cap)
{
    (void)self;
    stream *x = get_stream(cap);
    if (!x)
        return NULL;
    sori_error err = {0};
    sori_asr_result *r = NULL;
    const sori_status st = sori_asr_stream_result(x->s, &r, &err);
    if (st != SORI_OK)
        return raise(st, &err);
    PyObject *d = result_dict(r);
    sori_asr_result_free(r);
    return d;
}

/* stream_pop_finals(stream) -> [dict]: utterances ended by an endpoint since the last call */
static PyObject *py_stream_pop_finals(PyObject *self, PyObject *cap)
{
    (void)self;
    stream *x = get_stream(cap);
    if (!x)
        return NULL;
    PyObject *list = PyList_New(0);
    sori_error err = {0};
    sori_asr_result *r = NULL;
    sori_status st;
    while (list && (st = sori_asr_stream_pop_final(x->s, &r, &err)) == SORI_OK && r) {
        PyObject *d = result_dict(r);
        sori_asr_result_free(r);
        r = NULL;
        if (!d || PyList_Append(list, d)) {
            Py_XDECREF(d);
            Py_DECREF(list);
            return NULL;
        }
        Py_DECREF(d);
    }
    if (list && st != SORI_OK) {
        Py_DECREF(list);
        return raise(st, &err);
    }
    return list;
}

/* ---- voices (text to speech) ------------------------------------------------------ */

typedef struct {
    sori_runtime *rt;
    sori_tts_voice *v;
    sori_tts_synth *s; /* one session: calls on a voice object are serialized by its lock */
    PyThread_type_lock lock;
} voice;

static void voice_free(PyObject *cap)
{
    voice *x = PyCapsule_GetPointer(cap, "sori.voice");
    if (!x)
        return;
    sori_tts_synth_free(x->s);
    sori_tts_voice_free(x->v);
    sori_runtime_free(x->rt);
    if (x->lock)
        PyThread_free_lock(x->lock);
    free(x);
}

/* voice_load(path, threads=0) -> capsule */
static PyObject *py_voice_load(PyObject *self, PyObject *args, PyObject *kw)
{
    (void)self;
    static char *names[] = {"path", "threads", NULL};
    const char *path;
    int threads = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "s|i", names, &path, &threads))
        return NULL;
    voice *x = calloc(1, sizeof *x);
    if (!x || !(x->lock = PyThread_allocate_lock())) {
        free(x);
        return PyErr_NoMemory();
    }
    sori_runtime_params rp = sori_runtime_default_params();
    rp.device = SORI_DEVICE_CPU;
    if (threads > 0)
        rp.n_threads = threads;
    sori_error err = {0};
    sori_status st;
    Py_BEGIN_ALLOW_THREADS st = sori_runtime_create(&rp, &x->rt, &err);
    if (st == SORI_OK)
        st = sori_tts_voice_load(x->rt, path, &x->v, &err);
    if (st == SORI_OK)
        st = sori_tts_synth_create(x->v, NULL, &x->s, &err);
    Py_END_ALLOW_THREADS if (st != SORI_OK)
    {
        sori_tts_voice_free(x->v);
        sori_runtime_free(x->rt);
        PyThread_free_lock(x->lock);
        free(x);
        return raise(st, &err);
    }
    return PyCapsule_New(x, "sori.voice", voice_free);
}

/* voice_info(voice) -> dict, with the vocabulary (a list of each id's text, None where absent) */
static PyObject *py_voice_info(PyObject *self, PyObject *cap)
{
    (void)self;
    voice *x = PyCapsule_GetPointer(cap, "sori.voice");
    if (!x)
        return NULL;
    const sori_tts_voice_info i = sori_tts_voice_get_info(x->v);
    PyObject *vocab = PyList_New(i.n_vocab);
    for (int32_t k = 0; vocab && k < i.n_vocab; k++) {
        const char *t = sori_tts_voice_token(x->v, k);
        PyObject *o = t ? PyUnicode_DecodeUTF8(t, (Py_ssize_t)strlen(t), "replace") : (Py_INCREF(Py_None), Py_None);
        if (!o) {
            Py_DECREF(vocab);
            return NULL;
        }
        PyList_SET_ITEM(vocab, k, o);
    }
    if (!vocab)
        return NULL;
    PyObject *names = PyList_New(0); /* Kokoro's speakers by name (empty for VITS) */
    for (int k = 0; names && k < i.n_speakers && sori_tts_voice_speaker(x->v, k); k++) {
        PyObject *o = PyUnicode_FromString(sori_tts_voice_speaker(x->v, k));
        if (!o || PyList_Append(names, o) != 0) {
            Py_XDECREF(o);
            Py_CLEAR(names);
            break;
        }
        Py_DECREF(o);
    }
    if (!names) {
        Py_DECREF(vocab);
        return NULL;
    }
    const sori_tts_synth_params dp = sori_tts_synth_default_params(x->v);
    return Py_BuildValue("{s:s,s:s,s:i,s:i,s:O,s:N,s:N,s:i}", "architecture", i.architecture ? i.architecture : "",
                         "name", i.name ? i.name : "", "sample_rate", i.sample_rate_hz, "speakers", i.n_speakers,
                         "add_blank", i.add_blank ? Py_True : Py_False, "vocab", vocab, "speaker_names", names,
                         "default_speaker", dp.speaker_id);
}

/* voice_tokenize(voice, text) -> list of ids (sori_tts_text_to_ids: Kokoro's Korean front end, VITS's
 * vocabulary) */
static PyObject *py_voice_tokenize(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *cap;
    const char *t;
    Py_ssize_t len;
    if (!PyArg_ParseTuple(args, "Os#", &cap, &t, &len))
        return NULL;
    voice *x = PyCapsule_GetPointer(cap, "sori.voice");
    if (!x)
        return NULL;
    sori_error err = {0};
    int n = 0, cap_ids = (int)(len < 1000 ? 64 * len + 256 : 0);
    int32_t *ids = NULL;
    sori_status st;
    for (;;) {
        int32_t *p = realloc(ids, sizeof(int32_t) * (size_t)(cap_ids > 0 ? cap_ids : 1));
        if (!p) {
            free(ids);
            return PyErr_NoMemory();
        }
        ids = p;
        st = sori_tts_text_to_ids(x->v, t, (size_t)len, ids, cap_ids, &n, NULL, &err);
        if (st == SORI_ERR_INVALID_ARG && n > cap_ids) {
            cap_ids = n;
            continue;
        }
        break;
    }
    PyObject *out = st == SORI_OK ? PyList_New(n) : NULL;
    for (int k = 0; out && k < n; k++)
        PyList_SET_ITEM(out, k, PyLong_FromLong(ids[k]));
    free(ids);
    return st == SORI_OK ? out : raise(st, &err);
}

/* voice_synthesize(voice, ids (buffer of int32), speaker=0, length_scale=-1, noise_scale=-1,
 *                  noise_scale_duration=-1, seed=0) -> bytes of float32 samples */
static PyObject *py_voice_synthesize(PyObject *self, PyObject *args, PyObject *kw)
{
    (void)self;
    static char *names[] = {"voice", "ids", "speaker", "length_scale", "noise_scale", "noise_scale_duration",
                            "seed", NULL};
    PyObject *cap;
    Py_buffer b;
    int speaker = -1; /* the voice's default */
    float ls = -1, ns = -1, nsd = -1;
    unsigned long long seed = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "Oy*|ifffK", names, &cap, &b, &speaker, &ls, &ns, &nsd, &seed))
        return NULL;
    voice *x = PyCapsule_GetPointer(cap, "sori.voice");
    if (!x || b.len % (Py_ssize_t)sizeof(int32_t)) {
        PyBuffer_Release(&b);
        if (x)
            PyErr_SetString(PyExc_ValueError, "ids: int32 expected");
        return NULL;
    }
    sori_tts_synth_params p = sori_tts_synth_default_params(x->v);
    if (speaker >= 0)
        p.speaker_id = speaker;
    if (ls >= 0)
        p.length_scale = ls;
    if (ns >= 0)
        p.noise_scale = ns;
    if (nsd >= 0)
        p.noise_scale_duration = nsd;
    p.seed = seed;
    sori_error err = {0};
    const float *pcm = NULL;
    int64_t n = 0;
    sori_status st;
    PyObject *out = NULL;
    Py_BEGIN_ALLOW_THREADS PyThread_acquire_lock(x->lock, WAIT_LOCK);
    st = sori_tts_synth_set_params(x->s, &p, &err);
    if (st == SORI_OK)
        st = sori_tts_synth_tokens(x->s, b.buf, (int)(b.len / (Py_ssize_t)sizeof(int32_t)), NULL, &pcm, &n, &err);
    Py_END_ALLOW_THREADS if (st == SORI_OK) out = PyBytes_FromStringAndSize((const char *)pcm, (Py_ssize_t)(n * sizeof(float)));
    PyThread_release_lock(x->lock);
    PyBuffer_Release(&b);
    return st == SORI_OK ? out : raise(st, &err);
}

/* ---- the text layer -------------------------------------------------------------- */

typedef sori_status (*text_fn)(const char *, size_t, char *, size_t, size_t *, sori_error *);

static PyObject *text_call(PyObject *args, text_fn fn, size_t factor)
{
    const char *s;
    Py_ssize_t n;
    if (!PyArg_ParseTuple(args, "s#", &s, &n))
        return NULL;
    const size_t cap = factor * (size_t)n + 64;
    char *out = malloc(cap);
    if (!out)
        return PyErr_NoMemory();
    size_t len = 0;
    sori_error err = {0};
    const sori_status st = fn(s, (size_t)n, out, cap, &len, &err);
    PyObject *r = st == SORI_OK ? PyUnicode_FromStringAndSize(out, (Py_ssize_t)len) : raise(st, &err);
    free(out);
    return r;
}

static sori_status tn_default(const char *t, size_t n, char *o, size_t c, size_t *l, sori_error *e)
{
    return sori_tn(t, n, 0, o, c, l, e);
}

static sori_status redact_final(const char *t, size_t n, char *o, size_t c, size_t *l, sori_error *e)
{
    sori_pii_span sp[256];
    int ns = 0;
    return sori_redact(t, n, false, o, c, l, sp, 256, &ns, e);
}

static PyObject *py_tn(PyObject *self, PyObject *args) { return (void)self, text_call(args, tn_default, 16); }
static PyObject *py_itn(PyObject *self, PyObject *args) { return (void)self, text_call(args, sori_itn, 2); }
static PyObject *py_g2p(PyObject *self, PyObject *args) { return (void)self, text_call(args, sori_g2p, 1); }
static PyObject *py_redact(PyObject *self, PyObject *args) { return (void)self, text_call(args, redact_final, 8); }

/* itn_options("korean,keep-date") -> the SORI_ITN_* flags */
static PyObject *py_itn_options(PyObject *self, PyObject *args)
{
    (void)self;
    const char *list;
    if (!PyArg_ParseTuple(args, "s", &list))
        return NULL;
    unsigned flags = 0;
    sori_error err = {0};
    const sori_status st = sori_itn_parse_options(list, &flags, &err);
    return st == SORI_OK ? PyLong_FromUnsignedLong(flags) : raise(st, &err);
}

static PyObject *py_version(PyObject *self, PyObject *unused)
{
    (void)self, (void)unused;
    return PyUnicode_FromString(sori_version_string());
}

static PyMethodDef METHODS[] = {
    {"version", py_version, METH_NOARGS, "sori's version string"},
    {"model_load", (PyCFunction)(void (*)(void))py_model_load, METH_VARARGS | METH_KEYWORDS, "load a model"},
    {"model_info", py_model_info, METH_O, "a model's sample rate, architecture, name, backend"},
    {"transcribe_samples", (PyCFunction)(void (*)(void))py_transcribe_samples, METH_VARARGS | METH_KEYWORDS,
     "transcribe float32 samples"},
    {"transcribe_file", (PyCFunction)(void (*)(void))py_transcribe_file, METH_VARARGS | METH_KEYWORDS,
     "transcribe an audio file, read as it is decoded"},
    {"read_audio", (PyCFunction)(void (*)(void))py_read_audio, METH_VARARGS | METH_KEYWORDS,
     "decode an audio file or its bytes to float32 samples"},
    {"stream_create", (PyCFunction)(void (*)(void))py_stream_create, METH_VARARGS | METH_KEYWORDS, "a stream"},
    {"stream_accept", py_stream_accept, METH_VARARGS, "feed samples and decode what is ready"},
    {"stream_finish", py_stream_finish, METH_O, "end of input"},
    {"stream_result", py_stream_result, METH_O, "the utterance so far"},
    {"stream_pop_finals", py_stream_pop_finals, METH_O, "ended utterances"},
    {"voice_load", (PyCFunction)(void (*)(void))py_voice_load, METH_VARARGS | METH_KEYWORDS, "load a TTS voice"},
    {"voice_info", py_voice_info, METH_O, "a voice's rate, speakers and vocabulary"},
    {"voice_tokenize", py_voice_tokenize, METH_VARARGS, "text to a voice's token ids (its front end)"},
    {"voice_synthesize", (PyCFunction)(void (*)(void))py_voice_synthesize, METH_VARARGS | METH_KEYWORDS,
     "token ids to float32 samples"},
    {"tn", py_tn, METH_VARARGS, "written text to spoken Hangul"},
    {"itn", py_itn, METH_VARARGS, "spoken numbers to written form"},
    {"itn_options", py_itn_options, METH_VARARGS, "SORI_ITN_* flags from their names"},
    {"g2p", py_g2p, METH_VARARGS, "standard pronunciation"},
    {"redact", py_redact, METH_VARARGS, "personal data masked"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef MODULE = {PyModuleDef_HEAD_INIT, "_sori", "sori's C API", -1, METHODS, NULL, NULL, NULL,
                                    NULL};

PyMODINIT_FUNC PyInit__sori(void)
{
    PyObject *m = PyModule_Create(&MODULE);
    if (!m)
        return NULL;
    g_error = PyErr_NewException("sori.SoriError", PyExc_RuntimeError, NULL);
    if (!g_error || PyModule_AddObjectRef(m, "Error", g_error) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
