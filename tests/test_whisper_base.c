/* Whisper base (the real multilingual weights, data/whisper-base-f16.gguf,
 * which tools/setup.sh fetches and converts) against openai-whisper's
 * transcribe(language="ko", temperature=0, condition_on_previous_text,
 * word_timestamps) on the same f16 weights upcast to f32
 * (tests/fixtures/whisper/base_samples.tsv, tools/gen_whisper_fixtures.py):
 * every clip's tokens equal, segment by segment, and every word's start and
 * end within 20 ms. Skipped (77) without the model file. */
#include <math.h>
#include <string.h>

#include "asr/whisper_transcribe.h"
#include "check.h"
#include "kernels/gguf.h"
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
    CHECK(clips > 0, "no clip was transcribed");
    free(line);
    if (f)
        fclose(f);
    sori_whisper_session_free(s);
    sori_whisper_free(m);
    sori_runtime_free(rt);
    return check_finish("test_whisper_base");
}
