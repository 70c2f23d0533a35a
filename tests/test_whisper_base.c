/* Whisper base (the real multilingual weights, data/whisper-base-f16.gguf,
 * which tools/setup.sh fetches and converts) against openai-whisper's
 * transcribe(language="ko", temperature=0, condition_on_previous_text,
 * word_timestamps) on the same f16 weights upcast to f32
 * (tests/fixtures/whisper/base_samples.tsv, tools/gen_whisper_fixtures.py):
 * every clip's tokens equal, segment by segment, and every word's start and
 * end within 20 ms. Streaming: two real clips with a pause between, fed in
 * 100 ms packets, give two finals, each equal to transcribing its
 * utterance's audio offline. Skipped (77) without the model file. */
#include <math.h>
#include <string.h>

#include "asr/whisper_transcribe.h"
#include "check.h"
#include "kernels/gguf.h"
#include "sori/asr.h"
#include "sori/audio.h"
#include "sori/runtime.h"

#define MAX_LINE (1 << 20)

static int split(char *line, char **fields, int max, char sep)
{
    int n = 0;
    fields[n++] = line;
    for (char *p = line; *p && n < max; p++)
        if (*p == sep) {
            *p = '\0';
            fields[n++] = p + 1;
        }
    return n;
}

static sori_audio read16(const char *path)
{
    sori_audio a = {0}, mono = {0}, r = {0};
    sori_error err = {0};
    if (sori_audio_read_file(path, &a, &err) == SORI_OK && sori_audio_select_channel(&a, SORI_CHANNEL_MIX, &mono, &err) == SORI_OK)
        sori_audio_resample(&mono, 16000, &r, &err);
    sori_audio_free(&a);
    sori_audio_free(&mono);
    return r;
}

static void check_stream(sori_runtime *rt, const char *model_path)
{
    sori_audio a = read16(SORI_SOURCE_DIR "/../shared/data/speech_samples_ccby/audio/104_003_0019.flac");
    sori_audio b = read16(SORI_SOURCE_DIR "/../shared/data/speech_samples_ccby/audio/104_003_0193.flac");
    if (!a.n_frames || !b.n_frames) {
        printf("stream: the shared samples are not here, skipped\n");
        sori_audio_free(&a);
        sori_audio_free(&b);
        return;
    }
    const int64_t gap = 32000, n = a.n_frames + gap + b.n_frames + 16000;
    float *x = calloc((size_t)n, sizeof(float));
    memcpy(x, a.samples, (size_t)a.n_frames * sizeof(float));
    memcpy(x + a.n_frames + gap, b.samples, (size_t)b.n_frames * sizeof(float));
    sori_asr_model_params mp = sori_asr_model_default_params();
    sori_asr_model *m = NULL;
    sori_error err = {0};
    CHECK_STATUS(sori_asr_model_load(rt, model_path, &mp, &m, &err), SORI_OK);
    sori_asr_stream_params sp = sori_asr_stream_default_params();
    sori_asr_stream *s = NULL;
    if (m)
        CHECK_STATUS(sori_asr_stream_create(m, &sp, &s, &err), SORI_OK);
    sori_status st = s ? SORI_OK : SORI_ERR_STATE;
    int n_finals = 0, partials = 0;
    int64_t utt_start = 0;
    for (int64_t pos = 0, done = 0; st == SORI_OK && !done; pos += 1600) {
        done = pos >= n;
        st = done ? sori_asr_stream_input_finished(s, &err)
                  : sori_asr_stream_accept(s, x + pos, pos + 1600 <= n ? 1600 : n - pos, 16000, &err);
        while (st == SORI_OK && sori_asr_stream_is_ready(s)) {
            st = sori_asr_decode_ready(m, &s, 1, &err);
            sori_asr_result *r = NULL;
            if (st == SORI_OK && sori_asr_stream_result(s, &r, &err) == SORI_OK)
                partials += r->text[0] != 0;
            sori_asr_result_free(r);
            sori_asr_result *f = NULL;
            while (st == SORI_OK && (st = sori_asr_stream_pop_final(s, &f, &err)) == SORI_OK && f) {
                /* the same audio offline */
                int64_t len = (int64_t)(f->duration_s * 16000 + 0.5);
                sori_asr_result *o = NULL;
                CHECK_STATUS(sori_asr_transcribe(m, x + utt_start, len, 16000, &o, &err), SORI_OK);
                printf("stream: final %d at %.2f-%.2f s: %s\n", n_finals, utt_start / 16000.0,
                       (utt_start + len) / 16000.0, f->text);
                CHECK(o && !strcmp(o->text, f->text), "stream: final %d '%s', offline '%s'", n_finals, f->text,
                      o ? o->text : "");
                sori_asr_result_free(o);
                utt_start += len;
                n_finals++;
                sori_asr_result_free(f);
            }
        }
    }
    CHECK(st == SORI_OK, "stream: %s", err.message);
    printf("stream: %d finals, %d partial results with text\n", n_finals, partials);
    CHECK(n_finals == 2 && partials > 0, "stream: %d finals (2 expected), %d partials", n_finals, partials);
    sori_asr_stream_free(s);
    sori_asr_model_free(m);
    free(x);
    sori_audio_free(&a);
    sori_audio_free(&b);
}

int main(void)
{
    const char *model_path = SORI_DATA_DIR "/whisper-base-f16.gguf";
    FILE *probe = fopen(model_path, "rb");
    if (!probe)
        SKIP("%s is absent (bash tools/setup.sh fetches and converts it)", model_path);
    fclose(probe);
    sori_runtime_params rp = sori_runtime_default_params();
    rp.device = SORI_DEVICE_CPU;
    rp.n_threads = 2;
    rp.pool_bytes = (size_t)1 << 30;
    sori_runtime *rt = NULL;
    sori_error err = {0};
    CHECK_STATUS(sori_runtime_create(&rp, &rt, &err), SORI_OK);
    sori_gguf *g = NULL;
    sori_whisper *m = NULL;
    CHECK_STATUS(sori_gguf_open_file(model_path, &g, &err), SORI_OK);
    if (g)
        CHECK_STATUS(sori_whisper_load_gguf(rt, g, model_path, &m, &err), SORI_OK);
    sori_gguf_free(g);
    FILE *f = fopen(SORI_FIXTURE_DIR "/whisper/base_samples.tsv", "r");
    CHECK(f != NULL, "base_samples.tsv missing");
    sori_whisper_session *s = NULL;
    if (m)
        CHECK_STATUS(sori_whisper_session_create(m, 1, &s, &err), SORI_OK);
    char *line = malloc(MAX_LINE);
    int clips = 0, equal = 0, words = 0;
    double worst = 0.0;
    for (int ln = 0; f && s && fgets(line, MAX_LINE, f); ln++) {
        if (ln == 0)
            continue; /* header */
        line[strcspn(line, "\r\n")] = '\0';
        char *col[4];
        if (split(line, col, 4, '\t') != 4)
            continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", SORI_SOURCE_DIR, col[0]);
        sori_audio a = {0};
        if (sori_audio_read_file(path, &a, &err) != SORI_OK) {
            printf("%s: not here, skipped (%s)\n", col[0], err.message);
            continue;
        }
        sori_audio mono = {0}, r16 = {0};
        CHECK_STATUS(sori_audio_select_channel(&a, SORI_CHANNEL_MIX, &mono, &err), SORI_OK);
        CHECK_STATUS(sori_audio_resample(&mono, 16000, &r16, &err), SORI_OK);
        sori_whisper_params p = sori_whisper_default_params();
        p.dec.language = sori_whisper_language_token(m, "ko");
        p.n_temperatures = 1; /* temperature=0: no fallback */
        p.word_timestamps = true;
        sori_whisper_transcript *t = NULL;
        CHECK_STATUS(sori_whisper_transcribe(s, r16.samples, r16.n_frames, &p, &t, &err), SORI_OK);
        clips++;
        if (t) {
            /* tokens: segments joined by '|' */
            char want[MAX_LINE / 4], got[MAX_LINE / 4];
            snprintf(want, sizeof want, "%s", col[1]);
            size_t used = 0;
            got[0] = '\0';
            for (int i = 0; i < t->n_seg; i++)
                for (int k = 0; k < t->seg[i].n_tokens; k++)
                    used += (size_t)snprintf(got + used, sizeof got - used, "%s%d",
                                             k == 0 ? (i ? "|" : "") : " ", t->seg[i].tokens[k]);
            int same = !strcmp(want, got);
            equal += same;
            CHECK(same, "%s: tokens differ\n  openai-whisper: %.300s\n  sori:           %.300s", col[0], want, got);
            /* words: word:start:end;... in order */
            char *wl[4096];
            int nw = col[3][0] ? split(col[3], wl, 4096, ';') : 0, k = 0;
            for (int i = 0; i < t->n_seg && same; i++)
                for (int w = 0; w < t->seg[i].n_words; w++, k++) {
                    if (k >= nw) {
                        CHECK(0, "%s: more words than openai-whisper's %d", col[0], nw);
                        break;
                    }
                    char *e = strrchr(wl[k], ':');
                    *e = '\0';
                    char *b = strrchr(wl[k], ':');
                    double start = atof(b + 1), end = atof(e + 1);
                    *b = '\0';
                    double d = fmax(fabs(start - t->seg[i].words[w].start), fabs(end - t->seg[i].words[w].end));
                    worst = d > worst ? d : worst;
                    words++;
                    CHECK(d <= 0.02 + 1e-9 && !strcmp(wl[k], t->seg[i].words[w].text),
                          "%s: word %d '%s' %.2f-%.2f, openai-whisper '%s' %.2f-%.2f", col[0], k,
                          t->seg[i].words[w].text, t->seg[i].words[w].start, t->seg[i].words[w].end, wl[k], start,
                          end);
                }
            if (same)
                CHECK(k == nw, "%s: %d words, openai-whisper %d", col[0], k, nw);
        }
        sori_whisper_transcript_free(t);
        sori_audio_free(&r16);
        sori_audio_free(&mono);
        sori_audio_free(&a);
    }
    printf("whisper base: %d of %d clips with openai-whisper's tokens; %d words, worst time difference %.3f s\n",
           equal, clips, words, worst);
    check_stream(rt, model_path);
    CHECK(clips > 0, "no clip was transcribed");
    free(line);
    if (f)
        fclose(f);
    sori_whisper_session_free(s);
    sori_whisper_free(m);
    sori_runtime_free(rt);
    return check_finish("test_whisper_base");
}
