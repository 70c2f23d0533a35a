/* The Kokoro voice through the public API (sori/tts.h): loading
 * data/kokoro-82m.gguf as a voice, its speakers, the Korean front end
 * (sori_tts_text_to_ids: TN → G2P → IPA → ids), whole-utterance and
 * streamed synthesis (the same samples), inputs longer than one pass (split
 * at punctuation), bad input refused with the session still usable, and the
 * heap left where it began. The stages' parity with onnxruntime is
 * test_kokoro's. Skips (77) without the model file. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "heap.h"
#include "npy.h"
#include "sori/runtime.h"
#include "sori/text.h"
#include "sori/tts.h"

static double rms(const float *x, int64_t n)
{
    double s = 0;
    for (int64_t i = 0; i < n; i++)
        s += (double)x[i] * x[i];
    return n ? sqrt(s / (double)n) : 0;
}

static int all_finite(const float *x, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(x[i]) || fabsf(x[i]) > 1.5f)
            return 0;
    return 1;
}

/* the fixture's phonemes `sakura.` and voice jf_alpha: onnxruntime's durations give 48 frames */
static void test_fixture(sori_tts_voice *v)
{
    npy tok, audio;
    if (!npy_load(&tok, SORI_FIXTURE_DIR "/kokoro/tokens.npy") ||
        !npy_load(&audio, SORI_FIXTURE_DIR "/kokoro/audio.npy")) {
        CHECK(0, "the kokoro fixtures are missing");
        return;
    }
    sori_error err = {0};
    sori_tts_synth_params p = sori_tts_synth_default_params(v);
    p.speaker_id = sori_tts_voice_find_speaker(v, "jf_alpha");
    sori_tts_synth *s = NULL;
    CHECK_STATUS(sori_tts_synth_create(v, &p, &s, &err), SORI_OK);
    const int32_t *ids = (const int32_t *)tok.data + 1; /* without the framing pads */
    const int n_ids = (int)tok.n - 2;
    const float *w = NULL;
    int64_t n = 0;
    CHECK_STATUS(sori_tts_synth_tokens(s, ids, n_ids, NULL, &w, &n, &err), SORI_OK);
    CHECK(n == audio.n, "sakura.: %lld samples, onnxruntime %lld (the durations)", (long long)n, (long long)audio.n);
    const double r = n ? rms(w, n) / rms(audio.data, audio.n) : 0;
    CHECK(n && all_finite(w, n) && r > 0.5 && r < 2.0, "sakura.: RMS %.3f of onnxruntime's", r);
    printf("sakura. (jf_alpha): %lld samples, RMS %.3f of onnxruntime's\n", (long long)n, r);
    /* streamed in chunks of 7 frames: the same samples */
    float *whole = malloc(sizeof(float) * (size_t)(n ? n : 1));
    memcpy(whole, w, sizeof(float) * (size_t)n);
    p.chunk_frames = 7;
    CHECK_STATUS(sori_tts_synth_set_params(s, &p, &err), SORI_OK);
    int64_t total = 0, at = 0, same = 0, chunks = 0;
    CHECK_STATUS(sori_tts_synth_begin(s, ids, n_ids, NULL, &total, &err), SORI_OK);
    CHECK(total == -1, "begin: %lld samples announced (Kokoro: -1, made piece by piece)", (long long)total);
    const float *c = NULL;
    int64_t got = 0;
    while (sori_tts_synth_next(s, &c, &got, &err) == SORI_OK && got > 0) {
        CHECK(got <= 7 * 600, "a chunk of %lld samples", (long long)got);
        for (int64_t i = 0; i < got && at + i < n; i++)
            same += c[i] == whole[at + i];
        at += got, chunks++;
    }
    CHECK(at == n && same == n && chunks == (n / 600 + 6) / 7, "stream: %lld samples in %lld chunks, %lld equal",
          (long long)at, (long long)chunks, (long long)same);
    CHECK_STATUS(sori_tts_synth_next(s, &c, &got, &err), SORI_ERR_STATE); /* ended */
    free(whole);
    sori_tts_synth_free(s);
    free(tok.data);
    free(audio.data);
}

static void test_front_end(sori_tts_voice *v)
{
    const char *text = "3시에 만나요, 같이 가요!";
    char tn[256], pron[256], ipa[768];
    size_t a = 0, b = 0, c = 0;
    sori_error err = {0};
    CHECK_STATUS(sori_tn(text, strlen(text), 0, tn, sizeof tn, &a, &err), SORI_OK);
    CHECK_STATUS(sori_g2p(tn, a, pron, sizeof pron, &b, &err), SORI_OK);
    CHECK_STATUS(sori_ko_ipa(pron, b, ipa, sizeof ipa, &c, &err), SORI_OK);
    int32_t ids[256];
    int n = 0, skipped = -1;
    CHECK_STATUS(sori_tts_text_to_ids(v, text, strlen(text), ids, 256, &n, &skipped, &err), SORI_OK);
    /* the ids spell the IPA back, symbol by symbol */
    char back[768] = "";
    for (int i = 0; i < n; i++) {
        const char *t = sori_tts_voice_token(v, ids[i]);
        if (t && strlen(back) + strlen(t) < sizeof back)
            strcat(back, t);
    }
    CHECK(n > 10 && skipped == 0 && strcmp(back, ipa) == 0, "%s → %s → %s: ids spell '%s' (%d ids, %d skipped)",
          text, pron, ipa, back, n, skipped);
    printf("front end: %s → %s → %s (%d ids)\n", text, pron, ipa, n);
    /* too small a cap says how many; emoji and Latin are skipped and counted; invalid UTF-8 refused */
    CHECK_STATUS(sori_tts_text_to_ids(v, text, strlen(text), ids, 3, &n, &skipped, &err), SORI_ERR_INVALID_ARG);
    CHECK(n > 3, "cap 3: %d ids needed", n);
    const char *odd = "안녕 😀 hello ☃";
    CHECK_STATUS(sori_tts_text_to_ids(v, odd, strlen(odd), ids, 256, &n, &skipped, &err), SORI_OK);
    CHECK(n >= 5, "emoji and symbols: %d ids", n);
    CHECK_STATUS(sori_tts_text_to_ids(v, "가\xff", 4, ids, 256, &n, &skipped, &err), SORI_ERR_INVALID_ARG);
    CHECK(strstr(err.message, "byte 3") != NULL, "invalid UTF-8: %s", err.message);
    CHECK_STATUS(sori_tts_text_to_ids(v, "...!?", 5, ids, 256, &n, &skipped, &err), SORI_OK); /* punctuation only */
    CHECK_STATUS(sori_tts_text_to_ids(v, "", 0, ids, 256, &n, &skipped, &err), SORI_OK);
    CHECK(n == 0, "empty text: %d ids", n);
}

/* more phonemes than one pass takes (510): split at punctuation, all of it spoken */
/* Two sentences at the normal rate: two pieces, and between them Kokoro's lead-in and trailing
 * silence (0.4-0.7 s each) are cut to a pause: the first piece's sound and the second's are each
 * as alone, the silence between them shorter than their two silences alone */
static void test_piece_pause(sori_tts_voice *v)
{
    sori_error err = {0};
    const char *text = "네, 알겠습니다. 주문하신 상품은 내일 도착합니다.";
    int32_t ids[256];
    int n = 0;
    CHECK_STATUS(sori_tts_text_to_ids(v, text, strlen(text), ids, 256, &n, NULL, &err), SORI_OK);
    int end = 0;
    for (int i = 15; i < n && !end; i++)
        if (!strcmp(sori_tts_voice_token(v, ids[i]), "."))
            end = i + 1;
    const sori_tts_synth_params p = sori_tts_synth_default_params(v);
    sori_tts_synth *s = NULL;
    CHECK_STATUS(sori_tts_synth_create(v, &p, &s, &err), SORI_OK);
    if (!s || end == 0 || end >= n) {
        CHECK(0, "two pieces: the first ends at %d of %d", end, n);
        sori_tts_synth_free(s);
        return;
    }
    const float *w = NULL;
    int64_t a = 0, b = 0, whole = 0;
    CHECK_STATUS(sori_tts_synth_tokens(s, ids, end, NULL, &w, &a, &err), SORI_OK);
    float *first = malloc(sizeof(float) * (size_t)a);
    memcpy(first, w, sizeof(float) * (size_t)a);
    int skip = end; /* the second sentence alone: from after the space */
    while (skip < n && !strcmp(sori_tts_voice_token(v, ids[skip]), " "))
        skip++;
    CHECK_STATUS(sori_tts_synth_tokens(s, ids + skip, n - skip, NULL, &w, &b, &err), SORI_OK);
    float *second = malloc(sizeof(float) * (size_t)b);
    memcpy(second, w, sizeof(float) * (size_t)b);
    CHECK_STATUS(sori_tts_synth_tokens(s, ids, n, NULL, &w, &whole, &err), SORI_OK);
    int64_t head = 0, tail = 0; /* samples equal from the start to the first piece alone, from the end to the second */
    while (head < a && head < whole && w[head] == first[head])
        head++;
    while (tail < b && tail < whole && w[whole - 1 - tail] == second[b - 1 - tail])
        tail++;
    const double cut = (double)(a + b - whole) / 24000;
    CHECK(head > a - 24000 * 0.7 && head < a && tail > b - 24000 * 0.5 && tail < b && cut > 0.3 && cut < 1.2,
          "two pieces: %lld of %lld samples as the first alone, the last %lld of %lld as the second alone, %.2f s of "
          "silence cut between them",
          (long long)head, (long long)a, (long long)tail, (long long)b, cut);
    free(first);
    free(second);
    sori_tts_synth_free(s);
}

static void test_long(sori_tts_voice *v)
{
    sori_error err = {0};
    char text[4096] = "";
    for (int i = 0; i < 30; i++)
        strcat(text, "가나다라 마바사, 아자차카. ");
    int32_t *ids = malloc(sizeof(int32_t) * 4096);
    int n = 0;
    CHECK_STATUS(sori_tts_text_to_ids(v, text, strlen(text), ids, 4096, &n, NULL, &err), SORI_OK);
    sori_tts_synth_params p = sori_tts_synth_default_params(v);
    p.length_scale = 0.25f; /* 4× the speaking rate: a quarter of the audio to make */
    sori_tts_synth *s = NULL;
    CHECK_STATUS(sori_tts_synth_create(v, &p, &s, &err), SORI_OK);
    const float *w = NULL;
    int64_t got = 0;
    CHECK_STATUS(sori_tts_synth_tokens(s, ids, n, NULL, &w, &got, &err), SORI_OK);
    const double sec = (double)got / 24000;
    CHECK(n > 510 && sec > 0.01 * n && sec < 0.05 * n && all_finite(w, got), "%d phonemes: %.1f s", n, sec);
    printf("long input: %d phonemes in pieces, %.1f s of audio\n", n, sec);
    /* the first piece ends at the first sentence mark after 16 phonemes (the clauses here are short):
     * the call's audio begins with that piece's own audio (at 4× the rate its silences are too short
     * to be cut), and goes on */
    int end = 0;
    for (int i = 15; i < n && !end; i++)
        if (!strcmp(sori_tts_voice_token(v, ids[i]), "."))
            end = i + 1;
    float *first = malloc(sizeof(float) * (size_t)got);
    memcpy(first, w, sizeof(float) * (size_t)got);
    const int64_t total = got;
    CHECK_STATUS(sori_tts_synth_tokens(s, ids, end, NULL, &w, &got, &err), SORI_OK);
    int64_t same = 0;
    for (int64_t i = 0; i < got && i < total; i++)
        same += w[i] == first[i];
    CHECK(end >= 16 && end < 100 && got < total && same == got && rms(first + got, total - got) > 0.01,
          "the first piece (%d phonemes): %lld of %lld samples as alone; the rest RMS %.3f", end, (long long)same,
          (long long)got, rms(first + got, total - got));
    /* streamed: piece by piece, the chunks end to end are the whole call's samples */
    int64_t at = 0, same2 = 0, chunks = 0, total2 = 0;
    const float *c = NULL;
    int64_t k = 0;
    CHECK_STATUS(sori_tts_synth_begin(s, ids, n, NULL, &total2, &err), SORI_OK);
    while (sori_tts_synth_next(s, &c, &k, &err) == SORI_OK && k > 0) {
        for (int64_t i = 0; i < k && at + i < total; i++)
            same2 += c[i] == first[at + i];
        at += k, chunks++;
    }
    CHECK(at == total && same2 == total && chunks > 10, "the long input streamed: %lld of %lld samples equal, %lld chunks",
          (long long)same2, (long long)total, (long long)chunks);
    free(first);
    /* one long sentence: its first piece ends at its first comma (the sentence goes on long after it) */
    text[0] = 0;
    for (int i = 0; i < 8; i++)
        strcat(text, "가나다라 마바사 아자차카 타파하, ");
    strcat(text, "끝.");
    CHECK_STATUS(sori_tts_text_to_ids(v, text, strlen(text), ids, 4096, &n, NULL, &err), SORI_OK);
    CHECK_STATUS(sori_tts_synth_tokens(s, ids, n, NULL, &w, &got, &err), SORI_OK);
    float *whole = malloc(sizeof(float) * (size_t)got);
    memcpy(whole, w, sizeof(float) * (size_t)got);
    const int64_t whole_n = got;
    int comma = 0;
    for (int i = 15; i < n && !comma; i++)
        if (!strcmp(sori_tts_voice_token(v, ids[i]), ","))
            comma = i + 1;
    CHECK_STATUS(sori_tts_synth_tokens(s, ids, comma, NULL, &w, &got, &err), SORI_OK);
    int64_t same3 = 0; /* (the clause's trailing silence is cut in the whole: see test_piece_pause) */
    while (same3 < got && same3 < whole_n && w[same3] == whole[same3])
        same3++;
    CHECK(comma >= 16 && comma < 40 && n > 150 && got < whole_n / 4 && same3 > got - 24000 * 0.7,
          "a long sentence's first piece is its first clause (%d of %d phonemes): the first %lld of %lld samples as "
          "alone",
          comma, n, (long long)same3, (long long)got);
    free(whole);
    /* max_seconds refuses before the audio is made, and the session goes on */
    p.max_seconds = 1.0f;
    CHECK_STATUS(sori_tts_synth_set_params(s, &p, &err), SORI_OK);
    CHECK_STATUS(sori_tts_synth_tokens(s, ids, n, NULL, &w, &got, &err), SORI_ERR_INVALID_ARG);
    CHECK(strstr(err.message, "max_seconds") != NULL, "too long: %s", err.message);
    /* too many tokens, ids out of range, empty input */
    p = sori_tts_synth_default_params(v);
    p.max_tokens = 100;
    CHECK_STATUS(sori_tts_synth_set_params(s, &p, &err), SORI_OK);
    CHECK_STATUS(sori_tts_synth_tokens(s, ids, n, NULL, &w, &got, &err), SORI_ERR_INVALID_ARG);
    CHECK(strstr(err.message, "max_tokens") != NULL, "too many tokens: %s", err.message);
    const int32_t bad[3] = {43, 9999, 43};
    CHECK_STATUS(sori_tts_synth_tokens(s, bad, 3, NULL, &w, &got, &err), SORI_ERR_INVALID_ARG);
    CHECK(strstr(err.message, "vocabulary") != NULL, "bad id: %s", err.message);
    CHECK_STATUS(sori_tts_synth_tokens(s, ids, 0, NULL, &w, &got, &err), SORI_OK);
    CHECK(got == 0 && w == NULL, "empty input: %lld samples", (long long)got);
    CHECK_STATUS(sori_tts_synth_tokens(s, ids, 5, NULL, &w, &got, &err), SORI_OK);
    CHECK(got > 0, "after errors: %lld samples", (long long)got);
    p.speaker_id = 10000;
    CHECK_STATUS(sori_tts_synth_set_params(s, &p, &err), SORI_ERR_INVALID_ARG);
    sori_tts_synth_free(s);
    free(ids);
}

static void test_memory(sori_tts_voice *v)
{
#ifdef HAVE_HEAP_COUNT
    sori_error err = {0};
    const int32_t ids[4] = {61, 43, 53, 4};
    sori_tts_synth *s = NULL;
    CHECK_STATUS(sori_tts_synth_create(v, NULL, &s, &err), SORI_OK);
    const float *w = NULL;
    int64_t n = 0;
    int ok = sori_tts_synth_tokens(s, ids, 4, NULL, &w, &n, &err) == SORI_OK; /* warm-up: a call, a stream */
    int64_t t0 = 0;
    ok &= sori_tts_synth_begin(s, ids, 4, NULL, &t0, &err) == SORI_OK;
    while (sori_tts_synth_next(s, &w, &n, &err) == SORI_OK && n > 0)
        ;
    const size_t base = heap_in_use();
    for (int i = 0; i < 20; i++)
        ok &= sori_tts_synth_tokens(s, ids, 4, NULL, &w, &n, &err) == SORI_OK;
    CHECK(ok && heap_in_use() == base, "20 calls changed the heap by %lld bytes", (long long)heap_in_use() - (long long)base);
    for (int i = 0; i < 10; i++) { /* streams, every other one cancelled after a chunk */
        int64_t total = 0;
        ok &= sori_tts_synth_begin(s, ids, 4, NULL, &total, &err) == SORI_OK;
        while (sori_tts_synth_next(s, &w, &n, &err) == SORI_OK && n > 0)
            if (i % 2) {
                sori_tts_synth_cancel(s);
                break;
            }
    }
    CHECK(ok && heap_in_use() == base, "10 streams changed the heap by %lld bytes", (long long)heap_in_use() - (long long)base);
    sori_tts_synth_free(s);
    for (int i = 0; i < 8; i++) { /* glibc's per-size cache of freed blocks fills (7 a size) */
        ok &= sori_tts_synth_create(v, NULL, &s, &err) == SORI_OK;
        sori_tts_synth_free(s);
    }
    const size_t base2 = heap_in_use();
    for (int i = 0; i < 3; i++) {
        ok &= sori_tts_synth_create(v, NULL, &s, &err) == SORI_OK &&
              sori_tts_synth_tokens(s, ids, 4, NULL, &w, &n, &err) == SORI_OK;
        sori_tts_synth_free(s);
    }
    CHECK(ok && heap_in_use() == base2, "3 sessions changed the heap by %lld bytes",
          (long long)heap_in_use() - (long long)base2);
#else
    (void)v;
    printf("heap not counted under a sanitizer\n");
#endif
}

int main(void)
{
    const char *path = SORI_SOURCE_DATA_DIR "/kokoro-82m.gguf";
    FILE *f = fopen(path, "rb");
    if (!f) {
        printf("test_tts_kokoro: no %s (tools/setup.sh fetches it): skipped\n", path);
        return 77;
    }
    fclose(f);
    sori_error err = {0};
    sori_runtime_params rp = sori_runtime_default_params();
    rp.device = SORI_DEVICE_CPU;
    sori_runtime *rt = NULL;
    sori_tts_voice *v = NULL;
    CHECK_STATUS(sori_runtime_create(&rp, &rt, &err), SORI_OK);
    CHECK_STATUS(sori_tts_voice_load(rt, path, &v, &err), SORI_OK);
    if (v) {
        const sori_tts_voice_info i = sori_tts_voice_get_info(v);
        CHECK(!strcmp(i.architecture, "sori.kokoro") && i.sample_rate_hz == 24000 && i.samples_per_frame == 600 &&
                  i.n_vocab == 178 && i.n_speakers >= 1,
              "info: %s %d Hz, %d per frame, %d ids, %d speakers", i.architecture, i.sample_rate_hz,
              i.samples_per_frame, i.n_vocab, i.n_speakers);
        const int a = sori_tts_voice_find_speaker(v, "jf_alpha");
        CHECK(a >= 0 && !strcmp(sori_tts_voice_speaker(v, a), "jf_alpha"), "speaker jf_alpha: %d", a);
        CHECK(sori_tts_voice_find_speaker(v, "nobody") == -1 && sori_tts_voice_speaker(v, i.n_speakers) == NULL,
              "unknown speakers");
        CHECK(sori_tts_voice_token(v, 43) && !strcmp(sori_tts_voice_token(v, 43), "a"), "token 43 is 'a'");
        test_fixture(v);
        test_front_end(v);
        test_long(v);
        test_piece_pause(v);
        test_memory(v);
    }
    sori_tts_voice_free(v);
    sori_runtime_free(rt);
    return check_finish("test_tts_kokoro");
}
