/* sori transcribe [--model M.gguf] [--lm LM|none] [--beam N] [--lm-weight W] [--lm-bonus B]
 *                 [--hotwords FILE] [--hotword-score S]
 *                 [--rescore LM.gguf [--nbest N] [--rescore-weight W] [--rescore-bonus B]]
 *                 [--format text|json|tsv|srt|vtt] [--threads N]
 *                 [--device cpu|cuda|auto] [--channel N|mix|each] [--allow-damaged] [--itn] [--redact]
 *                 [--moderate] [--moderate-model FILE]
 *                 [-o DIR] FILES|DIRS|-
 *
 * Each input is decoded, its channel(s) chosen and resampled to the model's
 * rate, cut into utterances at endpoints (VAD + the endpoint rules, at most
 * 20 s each, so attention stays bounded on hours-long recordings), and each
 * utterance transcribed. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "sori/asr.h"
#include "sori/audio.h"
#include "sori/lm.h"
#include "sori/runtime.h"
#include "sori/text.h"
#include "sori/vad.h"

typedef enum { FMT_TEXT, FMT_JSON, FMT_TSV, FMT_SRT, FMT_VTT } out_format;

#define CHANNEL_EACH (-2)

#ifndef SORI_DEFAULT_MODEL /* set by CMake, with the directories it is looked up in */
#define SORI_DEFAULT_MODEL "ko-fastconformer-ctc.gguf"
#endif
#ifndef SORI_DEFAULT_WHISPER
#define SORI_DEFAULT_WHISPER "whisper-base-f16.gguf"
#endif
#ifndef SORI_DEFAULT_LM
#define SORI_DEFAULT_LM "ko-tokens-4gram.gguf"
#endif

static void usage(void)
{
    fprintf(stderr,
            "usage: sori transcribe [--model M.gguf] [--lm LM.gguf|LM.arpa|none] [--beam N]\n"
            "                       [--lm-weight W --lm-bonus B] [--hotwords FILE] [--hotword-score S]\n"
            "                       [--rescore LM.gguf [--nbest N] [--rescore-weight W] [--rescore-bonus B]]\n"
            "                       [--format text|json|tsv|srt|vtt]\n"
            "                       [--threads N] [--device cpu|cuda[:N]|auto]\n"
            "                       [--decoder auto|ctc|rnnt] [--stream] [--allow-damaged] [--itn] [--redact]\n"
            "                       [--itn-options LIST] [--moderate] [--moderate-model FILE]\n"
            "                       [--language CODE|auto] [--prompt TEXT] [--word-timestamps]\n"
            "                       [--translate] [--best-of N] [--patience P] [--no-fallback]\n"
            "                       [--vad energy|silero|FILE.gguf] [--batch N]\n"
            "                       [--channel N|mix|each] [-o DIR] FILES|DIRS|-\n"
            "Transcribes audio files (any format sori decodes; directories are searched\n"
            "for audio files; - reads one file from standard input). Output goes to\n"
            "standard output, or to DIR/NAME.{txt,json,tsv,srt,vtt} with -o. The model\n"
            "is --model, else $SORI_MODEL, else Whisper base (data/" SORI_DEFAULT_WHISPER ",\n"
            "which tools/setup.sh fetches and converts), else the bundled Korean model\n"
            "(data/" SORI_DEFAULT_MODEL ", with its LM). A bad file is reported and skipped; the exit\n"
            "status is 1 if any failed. --decoder picks the head of a hybrid RNN-T+CTC\n"
            "model (auto: RNN-T where there is one). --stream decodes through the\n"
            "streaming API in 100 ms packets (cache-aware where the model supports it)\n"
            "as a live call would, instead of whole endpoint-cut pieces.\n"
            "CTC models decode greedily, or with --lm by a prefix beam search (--beam N\n"
            "hypotheses, default 8) fused with an n-gram LM over the model's tokens\n"
            "(ARPA or GGUF; weight and per-token bonus from the LM file unless given).\n"
            "The bundled model comes with its bundled LM (data/" SORI_DEFAULT_LM ");\n"
            "--lm none decodes it greedily. --hotwords FILE biases the beam search\n"
            "toward its phrases (one per line, each optionally ending in ' :SCORE';\n"
            "names, products, terms): each matched character adds --hotword-score\n"
            "(default 1.5) to a hypothesis, kept only when the whole phrase is heard.\n"
            "--rescore LM.gguf rescores the beam search's --nbest best hypotheses\n"
            "(default 8) with a transformer LM (llama.cpp GGUF: gemma3, llama, qwen2/3):\n"
            "each gets --rescore-weight x its natural-log LM probability (default 0.3)\n"
            "+ --rescore-bonus per LM token (default 0.5), and the best total wins.\n"
            "CTC models: the utterance's final hypotheses; Whisper: each 30 s window's\n"
            "beam (its width raised to --nbest, at most 16, when --beam is smaller).\n"
            "A damaged file (a corrupt page or frame, a file cut short) is refused with\n"
            "the place of the damage; --allow-damaged transcribes what decodes instead\n"
            "(silence where audio was lost), warns, and marks the JSON output.\n"
            "--moderate scores each segment for abusive speech (the bundled data/ko-moderate.gguf,\n"
            "or --moderate-model FILE): the JSON output gets \"moderation\" {label, score} per\n"
            "segment and the file's most severe.\n"
            "--itn writes numbers as people write them (삼만 오천 원 -> ₩35000, 공일공 일이삼사\n"
            "오육칠팔 -> 010-1234-5678, 두시 반 -> 2:30); words keep their times. --itn-options\n"
            "LIST (implies --itn): currency-word (35000원), thousands (35,000), korean (both),\n"
            "keep-cardinal, keep-money, keep-phone, keep-date, keep-time, keep-ordinal,\n"
            "keep-fraction, keep-measure (left as spoken).\n"
            "--redact masks personal data in the transcript (resident registration, card,\n"
            "phone and account numbers, written or read out digit by digit; e-mail\n"
            "addresses): [전화번호] ...; the JSON output lists what and when (\"redactions\").\n"
            "Whisper models (tools/whisper_to_gguf.py) transcribe whole files long-form\n"
            "as openai-whisper does (30 s windows, temperature fallback): --beam N is\n"
            "their beam size (default greedy), --language a code (default ko) or auto,\n"
            "--prompt an initial prompt, --word-timestamps times words by cross-\n"
            "attention (else words are spread over their segment), --translate into\n"
            "English, --best-of N samples at fallback temperatures, --no-fallback keeps\n"
            "temperature 0. With --stream they decode each endpoint-cut utterance when it\n"
            "ends and show partial text that two decodings agree on.\n"
            "--vad picks the endpoint detector of --stream: the energy VAD (default) or\n"
            "Silero VAD (silero: data/silero-vad.gguf from tools/setup.sh, or a file).\n"
            "--batch N (Whisper): the throughput mode: the VAD (--vad) cuts speech into\n"
            "chunks of up to 30 s, decoded independently N windows at a time (greedy,\n"
            "no timestamps), as faster-whisper's batched pipeline.\n");
}

/* ---- inputs ------------------------------------------------------------------ */

typedef struct {
    char **items;
    int n, cap;
} list_t;

static int list_add(list_t *l, const char *s)
{
    if (l->n == l->cap) {
        int cap = l->cap ? 2 * l->cap : 64;
        char **p = realloc(l->items, (size_t)cap * sizeof *p);
        if (!p)
            return -1;
        l->items = p;
        l->cap = cap;
    }
    if (!(l->items[l->n] = strdup(s)))
        return -1;
    l->n++;
    return 0;
}

static int is_audio_name(const char *name)
{
    static const char *ext[] = {".wav", ".flac", ".ogg", ".opus", ".oga", ".mp3", ".aiff", ".aif",
                                ".au", ".caf", ".w64", ".rf64", ".snd", ".voc", NULL};
    const char *dot = strrchr(name, '.');
    if (!dot)
        return 0;
    for (int i = 0; ext[i]; i++)
        if (strcasecmp(dot, ext[i]) == 0)
            return 1;
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Audio files below dir, sorted, depth-first. */
static int collect(list_t *l, const char *dir, int depth)
{
    if (depth > 32)
        return 0;
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "sori transcribe: %s: cannot read directory: %s\n", dir, strerror(errno));
        return 1;
    }
    list_t here = {0};
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        list_add(&here, path);
    }
    closedir(d);
    if (here.n)
        qsort(here.items, (size_t)here.n, sizeof(char *), cmp_str);
    int bad = 0;
    for (int i = 0; i < here.n; i++) {
        struct stat sb;
        if (stat(here.items[i], &sb) == 0 && S_ISDIR(sb.st_mode))
            bad |= collect(l, here.items[i], depth + 1);
        else if (is_audio_name(here.items[i]))
            list_add(l, here.items[i]);
        free(here.items[i]);
    }
    free(here.items);
    return bad;
}

static sori_status app_fail(sori_error *err, sori_status st, const char *msg)
{
    err->status = st;
    err->backend_code = 0;
    snprintf(err->message, sizeof err->message, "%s", msg);
    return st;
}

/* ---- output helpers --------------------------------------------------------------- */

static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p == '\n')
            fputs("\\n", f);
        else if (*p == '\t')
            fputs("\\t", f);
        else if (*p < 0x20)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

static void timestamp(FILE *f, double s, char sep)
{
    if (s < 0)
        s = 0;
    long ms = (long)(s * 1000.0 + 0.5);
    fprintf(f, "%02ld:%02ld:%02ld%c%03ld", ms / 3600000, ms / 60000 % 60, ms / 1000 % 60, sep, ms % 1000);
}

/* ---- transcription of one signal --------------------------------------------------- */

typedef struct {
    sori_pii_kind kind;
    double start_s, end_s; /* relative to the segment's start */
} redaction;

typedef struct {
    double start_s, end_s;
    sori_asr_result *r; /* word times relative to start_s */
    redaction *red;     /* --redact: what was masked, and when it was said */
    int n_red;
    int moderated;      /* --moderate: mod holds the text's label and score */
    sori_moderation mod;
} segment;

typedef struct {
    segment *seg;
    int n, cap;
    double duration_s, seconds; /* audio, wall time */
} transcript;

static void transcript_free(transcript *t)
{
    for (int i = 0; i < t->n; i++) {
        sori_asr_result_free(t->seg[i].r);
        free(t->seg[i].red);
    }
    free(t->seg);
    memset(t, 0, sizeof *t);
}


/* Adds an utterance result as a segment (its words' times made relative
 * to the segment's start); r NULL: a piece whose result comes later. */
static sori_status add_segment(transcript *t, sori_asr_result *r, double start_s, double end_s, sori_error *err)
{
    if (t->n == t->cap) {
        int cap = t->cap ? 2 * t->cap : 16;
        segment *sg = realloc(t->seg, (size_t)cap * sizeof *sg);
        if (!sg) {
            sori_asr_result_free(r);
            return app_fail(err, SORI_ERR_NO_MEMORY, "out of memory");
        }
        t->seg = sg;
        t->cap = cap;
    }
    for (int w = 0; r && w < r->n_words; w++) {
        r->words[w].start_s -= start_s;
        r->words[w].end_s -= start_s;
    }
    t->seg[t->n++] = (segment){.start_s = start_s, .end_s = end_s, .r = r};
    return SORI_OK;
}

enum { SEG_BATCH = 16 }; /* pieces transcribed in one batched call */
enum { HELD_S = 60 };    /* seconds of samples a file read as it goes holds before its pieces are transcribed */

/* Segments first .. first + nb - 1 (nb <= SEG_BATCH) transcribed in one batch; x holds the
 * samples from index base on. */
static sori_status transcribe_segments(sori_asr_model *m, transcript *t, int first, int nb, const float *x,
                                       int64_t base, int rate, sori_error *err)
{
    const float *in[SEG_BATCH] = {0};
    int64_t lens[SEG_BATCH] = {0};
    sori_asr_result *res[SEG_BATCH] = {0};
    for (int j = 0; j < nb; j++) {
        int64_t b = (int64_t)(t->seg[first + j].start_s * rate + 0.5), e = (int64_t)(t->seg[first + j].end_s * rate + 0.5);
        in[j] = x + (b - base);
        lens[j] = e - b;
    }
    sori_status st = sori_asr_transcribe_batch(m, nb, in, lens, rate, res, err);
    for (int j = 0; j < nb && st == SORI_OK; j++)
        t->seg[first + j].r = res[j];
    return st;
}
/* Cuts x (at the model's rate, so the VAD and the endpoints run where the
 * model does, whatever the input's rate) at endpoints and transcribes every
 * piece: the VAD only chooses where to cut (in pauses, at most every 20 s);
 * no audio is dropped, and pieces without speech simply give empty text. */
static sori_status transcribe_signal(sori_asr_model *m, const float *x, int64_t n, int rate,
                                     transcript *t, sori_error *err)
{
    double t0 = app_now_s();
    memset(t, 0, sizeof *t);
    t->duration_s = (double)n / rate;
    sori_vad_params vp = sori_vad_default_params();
    vp.sample_rate_hz = rate;
    sori_vad *vad = NULL;
    sori_status st = sori_vad_create(&vp, &vad, err);
    int fs = vad ? sori_vad_frame_samples(vad) : 1;
    int64_t n_frames = n / fs;
    uint8_t *dec = malloc((size_t)(n_frames + 1));
    int64_t got = 0;
    if (st == SORI_OK && !dec)
        st = app_fail(err, SORI_ERR_NO_MEMORY, "out of memory");
    if (st == SORI_OK)
        st = sori_vad_accept(vad, x, n, dec, n_frames + 1, &got, err);
    sori_endpoint_params ep = sori_endpoint_default_params();
    sori_endpoint es = sori_endpoint_init();
    /* the cut points, then the pieces transcribed in batches of up to 16 */
    int64_t seg_start = 0; /* in frames */
    for (int64_t i = 0; i <= got && st == SORI_OK; i++) {
        int end = i == got;
        if (!end && sori_endpoint_step(&ep, &es, dec[i], vp.frame_ms) == SORI_ENDPOINT_NONE)
            continue;
        int64_t stop = end ? n : (i + 1) * fs, begin = seg_start * fs;
        if (stop > begin)
            st = add_segment(t, NULL, (double)begin / rate, (double)stop / rate, err);
        seg_start = i + 1;
    }
    for (int s0 = 0; s0 < t->n && st == SORI_OK; s0 += SEG_BATCH)
        st = transcribe_segments(m, t, s0, t->n - s0 < SEG_BATCH ? t->n - s0 : SEG_BATCH, x, 0, rate, err);
    free(dec);
    sori_vad_free(vad);
    t->seconds = app_now_s() - t0;
    return st;
}

/* transcribe_signal's work on a file read as it goes (a second at a time at
 * the model's rate): the same VAD cuts and batches of 16 segments, but only
 * the samples since the oldest segment not yet transcribed are held, so
 * memory does not grow with the recording's length. */
static sori_status transcribe_reader_signal(sori_asr_model *m, sori_audio_reader *rd, int rate, transcript *t,
                                            sori_error *err)
{
    double t0 = app_now_s();
    memset(t, 0, sizeof *t);
    sori_vad_params vp = sori_vad_default_params();
    vp.sample_rate_hz = rate;
    sori_vad *vad = NULL;
    sori_status st = sori_vad_create(&vp, &vad, err);
    const int fs = vad ? sori_vad_frame_samples(vad) : 1;
    const int64_t piece = rate;
    float *x = NULL;               /* samples [base, base + n) */
    int64_t base = 0, n = 0, cap = 0, total = 0, f_abs = 0, seg_start = 0, got = 0;
    uint8_t *dec = malloc((size_t)(piece / fs + 2));
    float *in_piece = malloc((size_t)piece * sizeof(float));
    sori_endpoint_params ep = sori_endpoint_default_params();
    sori_endpoint es = sori_endpoint_init();
    int first = 0; /* the first segment not yet transcribed */
    if (st == SORI_OK && (!dec || !in_piece))
        st = app_fail(err, SORI_ERR_NO_MEMORY, "out of memory");
    if (st == SORI_OK)
        st = sori_audio_reader_rewind(rd, err);
    for (int eof = 0; st == SORI_OK && !eof;) {
        st = sori_audio_reader_read(rd, in_piece, piece, &got, err);
        if (st != SORI_OK)
            break;
        eof = got == 0;
        if (n + got > cap) {
            int64_t ncap = cap ? cap : piece * 8;
            while (ncap < n + got)
                ncap *= 2;
            float *nx = realloc(x, (size_t)ncap * sizeof(float));
            if (!nx) {
                st = app_fail(err, SORI_ERR_NO_MEMORY, "out of memory");
                break;
            }
            x = nx, cap = ncap;
        }
        memcpy(x + n, in_piece, (size_t)got * sizeof(float));
        n += got;
        total += got;
        int64_t nd = 0;
        if (got > 0)
            st = sori_vad_accept(vad, in_piece, got, dec, piece / fs + 2, &nd, err);
        /* the cut points (as transcribe_signal: an endpoint ends a segment at its frame's end,
         * the input's end ends the last) */
        for (int64_t i = 0; i <= nd && st == SORI_OK; i++) {
            int end = eof && i == nd;
            if (i == nd && !end)
                break;
            if (!end && sori_endpoint_step(&ep, &es, dec[i], vp.frame_ms) == SORI_ENDPOINT_NONE) {
                f_abs++;
                continue;
            }
            int64_t stop = end ? total : (f_abs + 1) * fs, begin = seg_start * fs;
            if (stop > begin && (st = add_segment(t, NULL, (double)begin / rate, (double)stop / rate, err)) != SORI_OK)
                break;
            seg_start = f_abs + 1;
            if (!end)
                f_abs++;
        }
        /* full batches, or the finished segments once HELD_S seconds of samples are held (a
         * batch of sixteen 20 s pieces would hold 320 s and their activations), or at the end
         * what is left: transcribed, and their samples let go */
        while (st == SORI_OK && (t->n - first >= SEG_BATCH || (eof && t->n > first) ||
                                 (n >= HELD_S * rate && t->n > first))) {
            int nb = t->n - first < SEG_BATCH ? t->n - first : SEG_BATCH;
            st = transcribe_segments(m, t, first, nb, x, base, rate, err);
            first += nb;
            int64_t keep_from = first < t->n ? (int64_t)(t->seg[first].start_s * rate + 0.5) : seg_start * fs;
            if (keep_from > total)
                keep_from = total;
            if (st == SORI_OK && keep_from > base) {
                memmove(x, x + (keep_from - base), (size_t)(n - (keep_from - base)) * sizeof(float));
                n -= keep_from - base;
                base = keep_from;
            }
        }
    }
    t->duration_s = (double)total / rate;
    free(x);
    free(dec);
    free(in_piece);
    sori_vad_free(vad);
    t->seconds = app_now_s() - t0;
    return st;
}

/* A Whisper model: the whole signal long-form (its own 30 s windows,
 * timestamps and VAD-free seeking); each Whisper segment becomes one. */
/* Whisper's segments; the samples x[0, n) at rate, or what reader gives */
static sori_status whisper_signal(sori_asr_model *m, const float *x, int64_t n, int rate, sori_audio_reader *reader,
                                  transcript *t, sori_error *err)
{
    double t0 = app_now_s();
    memset(t, 0, sizeof *t);
    t->duration_s = reader ? 0.0 : (double)n / rate;
    sori_asr_result *r = NULL;
    sori_status st = reader ? sori_asr_transcribe_reader(m, reader, &r, err) : sori_asr_transcribe(m, x, n, rate, &r, err);
    if (st == SORI_OK && reader)
        t->duration_s = r->duration_s;
    if (st == SORI_OK && r->n_segments > 0) {
        t->seg = calloc((size_t)r->n_segments, sizeof *t->seg);
        if (!t->seg)
            st = app_fail(err, SORI_ERR_NO_MEMORY, "out of memory");
        for (int i = 0; st == SORI_OK && i < r->n_segments; i++) {
            const sori_asr_segment *g = &r->segments[i];
            sori_asr_result *p = calloc(1, sizeof *p);
            if (p) {
                p->text = strdup(g->text);
                p->words = calloc((size_t)(g->n_words ? g->n_words : 1), sizeof *p->words);
            }
            if (!p || !p->text || !p->words) {
                sori_asr_result_free(p);
                st = app_fail(err, SORI_ERR_NO_MEMORY, "out of memory");
                break;
            }
            p->is_final = 1;
            p->duration_s = g->end_s - g->start_s;
            double csum = 0;
            for (int w = 0; w < g->n_words; w++) {
                sori_asr_word src = r->words[g->first_word + w];
                p->words[w] = (sori_asr_word){strdup(src.text), src.start_s - g->start_s, src.end_s - g->start_s,
                                              src.confidence};
                p->n_words += p->words[w].text != NULL;
                csum += src.confidence;
            }
            p->confidence = g->n_words ? (float)(csum / g->n_words) : 1.0f;
            t->seg[t->n++] = (segment){.start_s = g->start_s, .end_s = g->end_s, .r = p};
        }
        t->cap = t->n;
    }
    sori_asr_result_free(r);
    t->seconds = app_now_s() - t0;
    return st;
}


/* --stream: the audio goes through the streaming API in 100 ms packets
 * (cache-aware where the model supports it, else buffered), with
 * endpointing; every finalized utterance is a segment. */
static const sori_silero_vad *g_silero; /* --vad silero|FILE */

static sori_status stream_signal(sori_asr_model *m, const float *x, int64_t n, int rate, transcript *t,
                                 sori_error *err)
{
    double t0 = app_now_s();
    memset(t, 0, sizeof *t);
    t->duration_s = (double)n / rate;
    sori_asr_stream_params sp = sori_asr_stream_default_params();
    sp.silero = g_silero;
    sori_asr_stream *s = NULL;
    sori_status st = sori_asr_stream_create(m, &sp, &s, err);
    double last_end = 0;
    int64_t packet = rate / 10 > 0 ? rate / 10 : 1;
    for (int64_t pos = 0, done = 0; st == SORI_OK && !done; pos += packet) {
        done = pos >= n; /* after the last packet, however short: the end of input */
        if (!done)
            st = sori_asr_stream_accept(s, x + pos, pos + packet <= n ? packet : n - pos, rate, err);
        else
            st = sori_asr_stream_input_finished(s, err);
        while (st == SORI_OK && sori_asr_stream_is_ready(s))
            st = sori_asr_decode_ready(m, &s, 1, err);
        sori_asr_result *r = NULL;
        while (st == SORI_OK && (st = sori_asr_stream_pop_final(s, &r, err)) == SORI_OK && r) {
            double a = r->n_words ? r->words[0].start_s : last_end;
            double b = r->n_words ? r->words[r->n_words - 1].end_s : a;
            last_end = b;
            st = add_segment(t, r, a, b, err);
        }
    }
    if (st == SORI_OK) { /* what follows the last endpoint */
        sori_asr_result *r = NULL;
        st = sori_asr_stream_result(s, &r, err);
        if (st == SORI_OK && r->n_words)
            st = add_segment(t, r, r->words[0].start_s, r->words[r->n_words - 1].end_s, err);
        else
            sori_asr_result_free(r);
    }
    sori_asr_stream_free(s);
    t->seconds = app_now_s() - t0;
    return st;
}

/* --moderate: each segment's text, as recognized, scored for abusive speech */
static sori_status moderate_transcript(transcript *t, const sori_moderator *m, sori_error *err)
{
    for (int i = 0; i < t->n; i++) {
        segment *g = &t->seg[i];
        if (!g->r || !g->r->text || !g->r->text[0])
            continue;
        sori_status st = sori_moderate(m, g->r->text, strlen(g->r->text), &g->mod, err);
        if (st != SORI_OK)
            return st;
        g->moderated = 1;
    }
    return SORI_OK;
}

/* how severe a label is: ok < profanity < insult < hate < threat */
static int severity(sori_abuse_kind k)
{
    return k == SORI_ABUSE_THREAT ? 4 : k == SORI_ABUSE_HATE ? 3 : k == SORI_ABUSE_INSULT ? 2 : k == SORI_ABUSE_PROFANITY;
}

/* --itn: each segment in written form (sori_asr_result_itn) */
static sori_status itn_transcript(transcript *t, unsigned flags, sori_error *err)
{
    for (int i = 0; i < t->n; i++) {
        sori_status st = t->seg[i].r ? sori_asr_result_itn(t->seg[i].r, flags, err) : SORI_OK;
        if (st != SORI_OK)
            return st;
    }
    return SORI_OK;
}

/* --redact: each segment's personal data masked (sori_asr_result_redact):
 * its text, its words (the mask over the words that said it), and when. */
static sori_status redact_transcript(transcript *t, sori_error *err)
{
    for (int i = 0; i < t->n; i++) {
        segment *g = &t->seg[i];
        if (!g->r || !g->r->text || !g->r->text[0])
            continue;
        sori_asr_redaction rd[64];
        int n = 0;
        sori_status st = sori_asr_result_redact(g->r, 0, rd, 64, &n, err);
        if (st != SORI_OK)
            return st;
        if (n == 0)
            continue;
        g->red = malloc((size_t)n * sizeof *g->red);
        if (!g->red)
            return app_fail(err, SORI_ERR_NO_MEMORY, "out of memory");
        for (int k = 0; k < n; k++)
            g->red[k] = (redaction){(sori_pii_kind)rd[k].kind, rd[k].start_s, rd[k].end_s};
        g->n_red = n;
    }
    return SORI_OK;
}

static void write_text(FILE *f, const transcript *t, const char *prefix, out_format fmt,
                       const char *path)
{
    if (fmt == FMT_TSV)
        fprintf(f, "%s%s\t", path, prefix);
    else if (prefix[0])
        fprintf(f, "%s ", prefix);
    int first = 1;
    for (int i = 0; i < t->n; i++) {
        if (!t->seg[i].r->text[0])
            continue;
        fprintf(f, "%s%s", first ? "" : " ", t->seg[i].r->text);
        first = 0;
    }
    fputc('\n', f);
}

static void write_json(FILE *f, const transcript *t, const char *path, int channel,
                       const char *model, const sori_audio_damage *dmg)
{
    fputs("{\"path\": ", f);
    json_str(f, path);
    if (channel >= 0)
        fprintf(f, ", \"channel\": %d", channel);
    /* the utterances' texts joined by spaces */
    size_t len = 1;
    for (int i = 0; i < t->n; i++)
        len += strlen(t->seg[i].r->text) + 1;
    char *text = malloc(len);
    if (text) {
        text[0] = '\0';
        for (int i = 0; i < t->n; i++) {
            if (!t->seg[i].r->text[0])
                continue;
            if (text[0])
                strcat(text, " ");
            strcat(text, t->seg[i].r->text);
        }
    }
    fputs(", \"text\": ", f);
    json_str(f, text ? text : "");
    free(text);
    double conf = 0;
    int n_words = 0;
    fprintf(f, ", \"duration_s\": %.3f, \"model\": ", t->duration_s);
    json_str(f, model);
    fprintf(f, ", \"rtf\": %.4f", t->duration_s > 0 ? t->seconds / t->duration_s : 0.0);
    if (dmg && dmg->n_places) {
        fprintf(f, ", \"damaged\": {\"byte_offset\": %lld, \"lost_from_s\": %.3f, \"lost_to_s\": %.3f, "
                   "\"lost_s\": %.3f, \"places\": %d, \"length_unknown\": %s, \"reason\": ",
                (long long)dmg->byte_offset, dmg->lost_from_s, dmg->lost_to_s, dmg->lost_s, dmg->n_places,
                dmg->length_unknown ? "true" : "false");
        json_str(f, dmg->reason);
        fputc('}', f);
    }
    fputs(", \"words\": [", f);
    for (int i = 0; i < t->n; i++)
        for (int k = 0; k < t->seg[i].r->n_words; k++) {
            const sori_asr_word *w = &t->seg[i].r->words[k];
            fputs(n_words ? ", {\"word\": " : "{\"word\": ", f);
            json_str(f, w->text);
            fprintf(f, ", \"start\": %.3f, \"end\": %.3f, \"confidence\": %.3f}",
                    t->seg[i].start_s + w->start_s, t->seg[i].start_s + w->end_s, w->confidence);
            conf += w->confidence;
            n_words++;
        }
    /* segments with text only: hours of silence are not thousands of empty entries */
    fputs("], \"segments\": [", f);
    for (int i = 0, k = 0; i < t->n; i++) {
        if (!t->seg[i].r->text[0])
            continue;
        fprintf(f, "%s{\"start\": %.3f, \"end\": %.3f, \"text\": ", k++ ? ", " : "", t->seg[i].start_s,
                t->seg[i].end_s);
        json_str(f, t->seg[i].r->text);
        if (t->seg[i].moderated)
            fprintf(f, ", \"moderation\": {\"label\": \"%s\", \"score\": %.3f}", sori_abuse_name(t->seg[i].mod.label),
                    t->seg[i].mod.score);
        fputc('}', f);
    }
    fprintf(f, "], \"confidence\": %.3f", n_words ? conf / n_words : 1.0);
    /* --moderate: the file's most severe label (its highest score among the segments with it) */
    const sori_moderation *worst = NULL;
    for (int i = 0; i < t->n; i++) {
        const sori_moderation *m = t->seg[i].moderated ? &t->seg[i].mod : NULL;
        if (m && (!worst || severity(m->label) > severity(worst->label) ||
                  (severity(m->label) == severity(worst->label) && m->score > worst->score)))
            worst = m;
    }
    if (worst)
        fprintf(f, ", \"moderation\": {\"label\": \"%s\", \"score\": %.3f}", sori_abuse_name(worst->label),
                worst->score);
    int n_red = 0;
    for (int i = 0; i < t->n; i++)
        n_red += t->seg[i].n_red;
    if (n_red) { /* --redact: what was masked and when, so the audio can be bleeped there */
        fputs(", \"redactions\": [", f);
        for (int i = 0, k = 0; i < t->n; i++)
            for (int j = 0; j < t->seg[i].n_red; j++)
                fprintf(f, "%s{\"category\": \"%s\", \"start\": %.3f, \"end\": %.3f}", k++ ? ", " : "",
                        sori_pii_name(t->seg[i].red[j].kind), t->seg[i].start_s + t->seg[i].red[j].start_s,
                        t->seg[i].start_s + t->seg[i].red[j].end_s);
        fputc(']', f);
    }
    fputs("}\n", f);
}

static void write_cues(FILE *f, const transcript *t, out_format fmt, int *cue)
{
    char sep = fmt == FMT_SRT ? ',' : '.';
    for (int i = 0; i < t->n; i++) {
        const sori_asr_result *r = t->seg[i].r;
        if (!r->text[0])
            continue;
        /* the cue spans the words, within the segment */
        double a = t->seg[i].start_s + (r->n_words ? r->words[0].start_s : 0);
        double b = t->seg[i].start_s + (r->n_words ? r->words[r->n_words - 1].end_s : t->seg[i].end_s - t->seg[i].start_s);
        if (fmt == FMT_SRT)
            fprintf(f, "%d\n", ++*cue);
        timestamp(f, a, sep);
        fputs(" --> ", f);
        timestamp(f, b, sep);
        fprintf(f, "\n%s\n\n", r->text);
    }
}

/* The warning for a damaged file kept with --allow-damaged. */
/* A progress line on a terminal while a long Whisper input is decoded. */
static struct {
    int k, n, shown;
    const char *path;
} g_progress;

static void on_progress(void *ctx, double done_s, double total_s)
{
    (void)ctx;
    if (total_s < 60.0 || g_progress.n == 0)
        return;
    fprintf(stderr, "\r[%d/%d] %-40.40s %3.0f%% (%.0f of %.0f s)", g_progress.k, g_progress.n, g_progress.path,
            100.0 * done_s / total_s, done_s, total_s);
    g_progress.shown = 1;
}

static void warn_damage(const char *path, const sori_audio_damage *d, int tty)
{
    char place[64];
    if (d->byte_offset >= 0)
        snprintf(place, sizeof place, "byte %lld (%.2f s)", (long long)d->byte_offset, d->lost_from_s);
    else
        snprintf(place, sizeof place, "%.2f s", d->lost_from_s);
    fprintf(stderr, "%ssori transcribe: warning: %s: damaged at %s: %s; transcribing what decodes: ",
            tty ? "\n" : "", strcmp(path, "-") == 0 ? "standard input" : path, place, d->reason);
    if (d->n_places > 1)
        fprintf(stderr, "%d damaged places, ", d->n_places);
    if (d->lost_s > 0)
        fprintf(stderr, "%.2f s lost (%sfrom %.2f to %.2f s), now silence", d->lost_s,
                d->n_places > 1 ? "the first " : "", d->lost_from_s, d->lost_to_s);
    else
        fputs("no audio known lost", stderr);
    fprintf(stderr, "%s\n", d->length_unknown ? "; the file is cut short: the rest is missing" : "");
}

/* ---- the command ---------------------------------------------------------------------- */

static int parse_float_arg(const char *s, double lo, double hi, float *out)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || !(v >= lo && v <= hi))
        return 0;
    *out = (float)v;
    return 1;
}

/* A whole text file (at most 1 MB), caller-owned; NULL with a message on stderr. */
static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "sori transcribe: --hotwords %s: %s\n", path, strerror(errno));
        return NULL;
    }
    size_t cap = (1 << 20) + 1, n;
    char *t = malloc(cap + 1);
    if (!t) {
        fclose(f);
        fprintf(stderr, "sori transcribe: out of memory\n");
        return NULL;
    }
    n = fread(t, 1, cap, f);
    int bad = ferror(f);
    fclose(f);
    if (bad || n == cap || memchr(t, 0, n)) {
        fprintf(stderr, "sori transcribe: --hotwords %s: %s\n", path,
                bad ? "read error" : n == cap ? "over 1 MB" : "not a text file");
        free(t);
        return NULL;
    }
    t[n] = 0;
    return t;
}

int cmd_transcribe(int argc, char **argv)
{
    const char *model_path = getenv("SORI_MODEL"), *out_dir = NULL, *lm_path = NULL, *hw_path = NULL;
    char *hotwords = NULL;
    float hw_score = SORI_ASR_HOTWORD_SCORE;
    static char model_buf[4096], lm_buf[4096];
    int beam = 0, weights = 0;
    float lm_weight = -1.0f, lm_bonus = 0.0f;
    out_format fmt = FMT_TEXT;
    int channel = SORI_CHANNEL_MIX;
    sori_asr_decoder decoder = SORI_ASR_DECODER_AUTO;
    int streaming = 0, allow_damaged = 0, redact = 0, itn = 0;
    unsigned itn_flags = 0;
    const char *moderate_path = NULL;
    char moderate_buf[4096];
    int moderate = 0;
    sori_moderator *moderator = NULL;
    const char *language = NULL, *prompt = NULL, *vad_arg = NULL;
    int word_ts = 0, translate = 0, no_fallback = 0, best_of = 0, batch = 0;
    float patience = 0.0f;
    const char *rescore_path = NULL;
    int nbest = 8;
    float rescore_weight = 0.3f, rescore_bonus = 0.5f;
    sori_lm *rescore_lm = NULL;
    sori_runtime_params rp = sori_runtime_default_params();
    list_t in = {0};
    int rc = 2, n_args = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--model") == 0 && v) {
            model_path = argv[++i];
        } else if (strcmp(a, "--lm") == 0 && v) {
            lm_path = argv[++i];
        } else if (strcmp(a, "--itn-options") == 0 && v) {
            sori_error oe = {0};
            if (sori_itn_parse_options(argv[++i], &itn_flags, &oe) != SORI_OK) {
                fprintf(stderr, "sori transcribe: --itn-options: %s\n", oe.message);
                goto done;
            }
            itn = 1;
        } else if (strcmp(a, "--moderate-model") == 0 && v) {
            moderate_path = argv[++i];
            moderate = 1;
        } else if (strcmp(a, "--beam") == 0 && v) {
            if (!parse_int_arg(argv[++i], 1, 256, &beam)) {
                fprintf(stderr, "sori transcribe: --beam '%s' (1..256)\n", v);
                goto done;
            }
        } else if (strcmp(a, "--lm-weight") == 0 && v) {
            weights |= 1;
            if (!parse_float_arg(argv[++i], 0, 10, &lm_weight)) {
                fprintf(stderr, "sori transcribe: --lm-weight '%s' (0..10)\n", v);
                goto done;
            }
        } else if (strcmp(a, "--lm-bonus") == 0 && v) {
            weights |= 2;
            if (!parse_float_arg(argv[++i], -100, 100, &lm_bonus)) {
                fprintf(stderr, "sori transcribe: --lm-bonus '%s' (-100..100)\n", v);
                goto done;
            }
        } else if (strcmp(a, "--hotwords") == 0 && v) {
            hw_path = argv[++i];
        } else if (strcmp(a, "--rescore") == 0 && v) {
            rescore_path = argv[++i];
        } else if (strcmp(a, "--nbest") == 0 && v) {
            if (!parse_int_arg(argv[++i], 2, 64, &nbest)) {
                fprintf(stderr, "sori transcribe: --nbest '%s' (2..64)\n", v);
                goto done;
            }
        } else if (strcmp(a, "--rescore-weight") == 0 && v) {
            if (!parse_float_arg(argv[++i], -10, 10, &rescore_weight)) {
                fprintf(stderr, "sori transcribe: --rescore-weight '%s' (-10..10)\n", v);
                goto done;
            }
        } else if (strcmp(a, "--rescore-bonus") == 0 && v) {
            if (!parse_float_arg(argv[++i], -100, 100, &rescore_bonus)) {
                fprintf(stderr, "sori transcribe: --rescore-bonus '%s' (-100..100)\n", v);
                goto done;
            }
        } else if (strcmp(a, "--hotword-score") == 0 && v) {
            if (!parse_float_arg(argv[++i], 1e-3, 20, &hw_score)) {
                fprintf(stderr, "sori transcribe: --hotword-score '%s' (0..20)\n", v);
                goto done;
            }
        } else if (strcmp(a, "--format") == 0 && v) {
            i++;
            if (strcmp(v, "text") == 0)
                fmt = FMT_TEXT;
            else if (strcmp(v, "json") == 0)
                fmt = FMT_JSON;
            else if (strcmp(v, "tsv") == 0)
                fmt = FMT_TSV;
            else if (strcmp(v, "srt") == 0)
                fmt = FMT_SRT;
            else if (strcmp(v, "vtt") == 0)
                fmt = FMT_VTT;
            else {
                fprintf(stderr, "sori transcribe: --format '%s' (text, json, tsv, srt or vtt)\n", v);
                goto done;
            }
        } else if (strcmp(a, "--threads") == 0 && v) {
            if (!parse_int_arg(argv[++i], 1, 256, &rp.n_threads)) {
                fprintf(stderr, "sori transcribe: --threads '%s' (1..256)\n", v);
                goto done;
            }
        } else if (strcmp(a, "--device") == 0 && v) {
            if (sori_device_parse(argv[++i], &rp.device, &rp.device_index) != SORI_OK) {
                fprintf(stderr, "sori transcribe: --device '%s' (cpu, cuda, cuda:N or auto)\n", v);
                goto done;
            }
        } else if (strcmp(a, "--language") == 0 && v) {
            language = argv[++i];
        } else if (strcmp(a, "--prompt") == 0 && v) {
            prompt = argv[++i];
        } else if (strcmp(a, "--word-timestamps") == 0) {
            word_ts = 1;
        } else if (strcmp(a, "--translate") == 0) {
            translate = 1;
        } else if (strcmp(a, "--no-fallback") == 0) {
            no_fallback = 1;
        } else if (strcmp(a, "--best-of") == 0 && v) {
            if (!parse_int_arg(argv[++i], 1, 16, &best_of)) {
                fprintf(stderr, "sori transcribe: --best-of '%s' (1..16)\n", v);
                goto done;
            }
        } else if (strcmp(a, "--patience") == 0 && v) {
            if (!parse_float_arg(argv[++i], 0.01f, 4, &patience)) {
                fprintf(stderr, "sori transcribe: --patience '%s' (0..4)\n", v);
                goto done;
            }
        } else if (strcmp(a, "--batch") == 0 && v) {
            if (!parse_int_arg(argv[++i], 1, 64, &batch)) {
                fprintf(stderr, "sori transcribe: --batch '%s' (1..64)\n", v);
                goto done;
            }
        } else if (strcmp(a, "--vad") == 0 && v) {
            vad_arg = argv[++i];
        } else if (strcmp(a, "--stream") == 0) {
            streaming = 1;
        } else if (strcmp(a, "--allow-damaged") == 0) {
            allow_damaged = 1;
        } else if (strcmp(a, "--redact") == 0) {
            redact = 1;
        } else if (strcmp(a, "--itn") == 0) {
            itn = 1;
        } else if (strcmp(a, "--moderate") == 0) {
            moderate = 1;
        } else if (strcmp(a, "--decoder") == 0 && v) {
            i++;
            if (strcmp(v, "auto") == 0)
                decoder = SORI_ASR_DECODER_AUTO;
            else if (strcmp(v, "ctc") == 0)
                decoder = SORI_ASR_DECODER_CTC;
            else if (strcmp(v, "rnnt") == 0)
                decoder = SORI_ASR_DECODER_RNNT;
            else {
                fprintf(stderr, "sori transcribe: --decoder '%s' (auto, ctc or rnnt)\n", v);
                goto done;
            }
        } else if (strcmp(a, "--channel") == 0 && v) {
            i++;
            if (strcmp(v, "mix") == 0)
                channel = SORI_CHANNEL_MIX;
            else if (strcmp(v, "each") == 0)
                channel = CHANNEL_EACH;
            else if (!parse_int_arg(v, 0, SORI_AUDIO_MAX_CHANNELS - 1, &channel)) {
                fprintf(stderr, "sori transcribe: --channel '%s' (a number, mix or each)\n", v);
                goto done;
            }
        } else if (strcmp(a, "-o") == 0 && v) {
            out_dir = argv[++i];
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage();
            rc = 0;
            goto done;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "sori transcribe: unknown option '%s'\n", a);
            usage();
            goto done;
        } else {
            n_args++;
            struct stat sb;
            if (strcmp(a, "-") != 0 && stat(a, &sb) == 0 && S_ISDIR(sb.st_mode))
                collect(&in, a, 0);
            else
                list_add(&in, a);
        }
    }
    if (!n_args) {
        usage();
        goto done;
    }
    if (weights == 1 || weights == 2) {
        fprintf(stderr, "sori transcribe: --lm-weight and --lm-bonus go together\n");
        goto done;
    }
    if (!model_path) {
        /* Whisper base where tools/setup.sh could fetch it (real speech: ~11 % CER
         * against ~93 % for the bundled model, which has only heard synthetic
         * speech; docs/benchmarks.md), else the bundled Conformer */
        if (!(model_path = app_bundled(SORI_DEFAULT_WHISPER, model_buf, sizeof model_buf)) &&
            !(model_path = app_bundled(SORI_DEFAULT_MODEL, model_buf, sizeof model_buf))) {
            fprintf(stderr, "sori transcribe: no model: pass --model M.gguf or set SORI_MODEL (the bundled "
                            "Korean model, data/%s, is neither in the source tree nor installed)\n",
                    SORI_DEFAULT_MODEL);
            goto done;
        }
    }
    if (!lm_path) { /* the bundled Conformer comes with its LM, when it is there */
        const char *base = strrchr(model_path, '/');
        if (strcmp(base ? base + 1 : model_path, SORI_DEFAULT_MODEL) == 0)
            lm_path = app_bundled(SORI_DEFAULT_LM, lm_buf, sizeof lm_buf);
    }
    if (lm_path && strcmp(lm_path, "none") == 0)
        lm_path = NULL;
    if (weights && !lm_path) {
        fprintf(stderr, "sori transcribe: --lm-weight/--lm-bonus need an LM (--lm)\n");
        goto done;
    }
    if (hw_path && !(hotwords = read_text(hw_path))) {
        rc = 1; /* as a missing model or LM */
        goto done;
    }
    if (in.n == 0) {
        fprintf(stderr, "sori transcribe: no audio files found\n");
        rc = 1;
        goto done;
    }
    if ((fmt == FMT_SRT || fmt == FMT_VTT) && in.n > 1 && !out_dir) {
        fprintf(stderr, "sori transcribe: %s for several files needs -o DIR\n", fmt == FMT_SRT ? "srt" : "vtt");
        goto done;
    }
    struct stat sb;
    if (out_dir && (stat(out_dir, &sb) != 0 || !S_ISDIR(sb.st_mode))) {
        fprintf(stderr, "sori transcribe: -o %s: not an existing directory\n", out_dir);
        goto done;
    }
    /* session memory: a Whisper session takes 100-400 MB (model size, beam);
     * on the CPU the pool is reserved, not touched, until used */
    rp.pool_bytes = (size_t)2 << 30;
    sori_runtime *rt = NULL;
    sori_asr_model *m = NULL;
    sori_error err = {0};
    rc = 1;
    if (sori_runtime_create(&rp, &rt, &err) != SORI_OK) {
        fprintf(stderr, "sori transcribe: %s\n", err.message);
        goto done;
    }
    sori_silero_vad *silero = NULL;
    if (vad_arg && strcmp(vad_arg, "energy") != 0) {
        static char vad_buf[4096];
        const char *vp = strcmp(vad_arg, "silero") == 0 ? app_bundled("silero-vad.gguf", vad_buf, sizeof vad_buf) : vad_arg;
        if (!vp || sori_silero_vad_load(vp, &silero, &err) != SORI_OK) {
            fprintf(stderr, "sori transcribe: --vad %s: %s\n", vad_arg,
                    vp ? err.message : "data/silero-vad.gguf is absent (bash tools/setup.sh fetches it)");
            sori_runtime_free(rt);
            goto done;
        }
        g_silero = silero;
    }
    sori_asr_model_params mp = sori_asr_model_default_params();
    mp.decoder = decoder;
    mp.lm_path = lm_path;
    mp.beam = beam;
    mp.hotwords = hotwords;
    mp.hotword_score = hw_score;
    mp.language = language;
    mp.prompt = prompt;
    mp.word_timestamps = word_ts;
    mp.translate = translate;
    mp.no_fallback = no_fallback;
    mp.best_of = best_of;
    mp.patience = patience;
    mp.batch = batch;
    mp.vad = silero;
    if (isatty(2)) {
        mp.progress = on_progress;
        g_progress.n = in.n;
    }
    if (weights) {
        mp.lm_weight = lm_weight;
        mp.lm_bonus = lm_bonus;
    }
    if (moderate && !moderate_path && !(moderate_path = app_bundled("ko-moderate.gguf", moderate_buf, sizeof moderate_buf)))
        snprintf(err.message, sizeof err.message, "the bundled data/ko-moderate.gguf is missing: give --moderate-model FILE");
    if (moderate && (!moderate_path || sori_moderator_load(moderate_path, &moderator, &err) != SORI_OK)) {
        fprintf(stderr, "sori transcribe: --moderate: %s\n", err.message);
        sori_silero_vad_free(silero);
        sori_runtime_free(rt);
        goto done;
    }
    if (rescore_path && sori_lm_load(rt, rescore_path, &rescore_lm, &err) != SORI_OK) {
        fprintf(stderr, "sori transcribe: --rescore %s: %s\n", rescore_path, err.message);
        sori_silero_vad_free(silero);
        sori_runtime_free(rt);
        goto done;
    }
    mp.rescore_lm = rescore_lm;
    mp.nbest = rescore_lm ? nbest : 0;
    mp.rescore_weight = rescore_weight;
    mp.rescore_bonus = rescore_bonus;
    if (sori_asr_model_load(rt, model_path, &mp, &m, &err) != SORI_OK) {
        fprintf(stderr, "sori transcribe: %s\n", err.message);
        sori_lm_free(rescore_lm);
        sori_silero_vad_free(silero);
        sori_runtime_free(rt);
        goto done;
    }
    sori_asr_model_info mi = sori_asr_model_get_info(m);
    const char *model_name = mi.name[0] ? mi.name : model_path;
    const int whisper = mi.arch && strcmp(mi.arch, "whisper") == 0;
    int failed = 0, tty = isatty(2) && in.n > 1, cue = 0;
    static const char *ext[] = {"txt", "json", "tsv", "srt", "vtt"};
    if (!out_dir && fmt == FMT_VTT)
        fputs("WEBVTT\n\n", stdout);
    for (int k = 0; k < in.n; k++) {
        const char *path = in.items[k];
        if (tty)
            fprintf(stderr, "\r[%d/%d] %-60.60s", k + 1, in.n, path);
        g_progress.k = k + 1;
        g_progress.path = path;
        sori_audio audio = {0};
        sori_audio_damage dmg;
        sori_audio_read_params readp = sori_audio_read_default_params();
        readp.allow_damaged = allow_damaged;
        readp.source_name = "standard input";
        sori_status st;
        memset(&dmg, 0, sizeof dmg);
        /* Whisper's sequential long-form reads a file as it decodes it:
         * nothing the size of the recording is held */
        sori_audio_reader *rd = NULL;
        /* and so does a Conformer's offline transcription (transcribe_reader_signal) */
        const int use_reader = ((whisper && batch <= 0) || !whisper) && !streaming && strcmp(path, "-") != 0;
        const int read_rate = whisper ? 16000 : mi.sample_rate_hz;
        if (use_reader) {
            st = sori_audio_reader_open(path, &readp, channel == CHANNEL_EACH ? 0 : channel, read_rate, &rd, &dmg, &err);
            if (st == SORI_OK)
                audio.n_channels = sori_audio_reader_get_info(rd).n_channels;
        } else if (strcmp(path, "-") == 0) {
            size_t cap = 1 << 20, len = 0, got;
            unsigned char *data = malloc(cap);
            while (data && (got = fread(data + len, 1, cap - len, stdin)) > 0) {
                len += got;
                if (len == cap) {
                    unsigned char *d2 = realloc(data, cap *= 2);
                    if (!d2) {
                        free(data);
                        data = NULL;
                    }
                    data = d2;
                }
            }
            /* the library names it (source_name), empty input too */
            st = data ? sori_audio_read_memory_with_params(data, len, &readp, &audio, &dmg, &err)
                      : app_fail(&err, SORI_ERR_NO_MEMORY, "standard input: out of memory");
            free(data);
        } else {
            st = sori_audio_read_file_with_params(path, &readp, &audio, &dmg, &err);
        }
        if (st != SORI_OK) {
            /* a damaged file: where, and how to keep what decodes */
            fprintf(stderr, "%ssori transcribe: %s%s\n", tty ? "\n" : "", err.message,
                    dmg.n_places && !allow_damaged ? " (--allow-damaged transcribes what decodes)" : "");
            failed++;
            continue;
        }
        if (dmg.n_places)
            warn_damage(path, &dmg, tty);
        FILE *f = stdout;
        if (out_dir) {
            const char *base = strrchr(path, '/');
            base = base ? base + 1 : (strcmp(path, "-") == 0 ? "stdin" : path);
            const char *dot = strrchr(base, '.');
            int len = dot && dot != base ? (int)(dot - base) : (int)strlen(base);
            char out[4096];
            snprintf(out, sizeof out, "%s/%.*s.%s", out_dir, len, base, ext[fmt]);
            if (!(f = fopen(out, "w"))) {
                fprintf(stderr, "sori transcribe: %s: cannot write: %s\n", out, strerror(errno));
                sori_audio_free(&audio);
                sori_audio_reader_close(rd);
                failed++;
                continue;
            }
            cue = 0;
            if (fmt == FMT_VTT)
                fputs("WEBVTT\n\n", f);
        }
        int c0 = channel == CHANNEL_EACH ? 0 : channel, c1 = channel == CHANNEL_EACH ? audio.n_channels : c0 + 1;
        for (int c = c0; c < c1; c++) {
            sori_audio mono = {0}, at_model = {0};
            transcript t = {0};
            if (rd) {
                if (c != c0) { /* the next channel: a reader of its own */
                    sori_audio_reader_close(rd);
                    rd = NULL;
                    st = sori_audio_reader_open(path, &readp, c, read_rate, &rd, NULL, &err);
                }
                if (st == SORI_OK)
                    st = whisper ? whisper_signal(m, NULL, 0, 16000, rd, &t, &err)
                                 : transcribe_reader_signal(m, rd, read_rate, &t, &err);
                if (st == SORI_OK) {
                    sori_audio_damage late = sori_audio_reader_damage(rd);
                    if (late.n_places && !dmg.n_places) {
                        dmg = late;
                        warn_damage(path, &dmg, tty);
                    }
                }
            } else {
            st = sori_audio_select_channel(&audio, c, &mono, &err);
            /* offline: at the model's rate before the VAD (which takes up to
             * 192 kHz); streaming: the stream resamples each packet itself */
            if (st == SORI_OK && !streaming)
                st = sori_audio_resample(&mono, mi.sample_rate_hz, &at_model, &err);
            if (st == SORI_OK)
                st = streaming ? stream_signal(m, mono.samples, mono.n_frames, mono.sample_rate_hz, &t, &err)
                     : whisper ? whisper_signal(m, at_model.samples, at_model.n_frames, at_model.sample_rate_hz,
                                                NULL, &t, &err)
                               : transcribe_signal(m, at_model.samples, at_model.n_frames,
                                                   at_model.sample_rate_hz, &t, &err);
            }
            if (st == SORI_OK && moderator)
                st = moderate_transcript(&t, moderator, &err);
            if (st == SORI_OK && itn)
                st = itn_transcript(&t, itn_flags, &err);
            if (st == SORI_OK && redact)
                st = redact_transcript(&t, &err);
            if (st != SORI_OK) {
                fprintf(stderr, "%ssori transcribe: %s: %s\n", tty ? "\n" : "", path, err.message);
                failed++;
            } else {
                char prefix[32] = "";
                if (channel == CHANNEL_EACH)
                    snprintf(prefix, sizeof prefix, fmt == FMT_TSV ? ":ch%d" : "[ch%d]", c);
                if (fmt == FMT_JSON)
                    write_json(f, &t, path, channel == CHANNEL_EACH ? c : -1, model_name, &dmg);
                else if (fmt == FMT_SRT || fmt == FMT_VTT)
                    write_cues(f, &t, fmt, &cue);
                else
                    write_text(f, &t, prefix, fmt, path);
            }
            transcript_free(&t);
            sori_audio_free(&mono);
            sori_audio_free(&at_model);
            if (st != SORI_OK)
                break;
        }
        if (f != stdout)
            fclose(f);
        fflush(stdout);
        sori_audio_free(&audio);
        sori_audio_reader_close(rd);
    }
    if (tty || g_progress.shown)
        fputc('\n', stderr);
    memset(&g_progress, 0, sizeof g_progress);
    if (failed)
        fprintf(stderr, "sori transcribe: %d of %d inputs failed\n", failed, in.n);
    rc = failed ? 1 : 0;
    sori_asr_model_free(m);
    sori_lm_free(rescore_lm);
    sori_silero_vad_free(silero);
    g_silero = NULL;
    sori_runtime_free(rt);
done:
    sori_moderator_free(moderator);
    free(hotwords);
    for (int i = 0; i < in.n; i++)
        free(in.items[i]);
    free(in.items);
    return rc;
}
