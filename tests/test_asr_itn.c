/* Recognition results in written form (sori/asr.h: sori_asr_result_itn):
 * the text, segments and N-best lists rewritten; the words realigned so a
 * written word spans the times of the spoken words it came from, words
 * left as they were keep theirs, and segments' word ranges follow; then
 * masking after it finds the written number (and masking alone keeps
 * the segments' word ranges right too). A result with nothing to
 * rewrite is unchanged, and bad arguments are refused. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "sori/asr.h"
#include "sori/text.h"

/* a result of words with 0.5 s each (from t0), split into segments at the given word indices */
static sori_asr_result *make(const char *const *words, int n, const int *cuts, int n_cuts)
{
    sori_asr_result *r = calloc(1, sizeof *r);
    r->words = calloc((size_t)n, sizeof *r->words);
    size_t len = 0;
    for (int i = 0; i < n; i++)
        len += strlen(words[i]) + 1;
    r->text = calloc(len + 1, 1);
    for (int i = 0; i < n; i++) {
        r->words[i] = (sori_asr_word){strdup(words[i]), 0.5 * i, 0.5 * i + 0.4, 0.9f - 0.01f * (float)i};
        if (i)
            strcat(r->text, " ");
        strcat(r->text, words[i]);
    }
    r->n_words = n;
    r->duration_s = 0.5 * n;
    r->n_segments = n_cuts + 1;
    r->segments = calloc((size_t)r->n_segments, sizeof *r->segments);
    for (int g = 0, a = 0; g <= n_cuts; g++) {
        const int b = g < n_cuts ? cuts[g] : n;
        sori_asr_segment *s = &r->segments[g];
        s->first_word = a, s->n_words = b - a;
        s->start_s = 0.5 * a, s->end_s = 0.5 * b;
        size_t sl = 1;
        for (int i = a; i < b; i++)
            sl += strlen(words[i]) + 1;
        s->text = calloc(sl, 1);
        for (int i = a; i < b; i++) {
            if (i > a)
                strcat(s->text, " ");
            strcat(s->text, words[i]);
        }
        a = b;
    }
    return r;
}

static int find(const sori_asr_result *r, const char *w)
{
    for (int i = 0; i < r->n_words; i++)
        if (!strcmp(r->words[i].text, w))
            return i;
    return -1;
}

int main(void)
{
    sori_error err = {0};
    {
        /* two segments: a price and a phone number read out, then a time */
        static const char *const w[] = {"요금은", "삼만오천", "원이고", "번호는", "공일공", "일이삼사", "오육칠팔이에요",
                                        "두시",   "반에",     "만나요"};
        const int cuts[] = {7};
        sori_asr_result *r = make(w, 10, cuts, 1);
        CHECK_STATUS(sori_asr_result_itn(r, 0, &err), SORI_OK);
        CHECK(!strcmp(r->text, "요금은 ₩35000이고 번호는 010-1234-5678이에요 2:30에 만나요"), "text: %s", r->text);
        CHECK(!strcmp(r->segments[0].text, "요금은 ₩35000이고 번호는 010-1234-5678이에요"), "segment 0: %s",
              r->segments[0].text);
        CHECK(!strcmp(r->segments[1].text, "2:30에 만나요"), "segment 1: %s", r->segments[1].text);
        CHECK(r->n_words == 6, "words: %d", r->n_words);
        const int money = find(r, "₩35000이고"), phone = find(r, "010-1234-5678이에요"), time = find(r, "2:30에");
        CHECK(money == 1 && fabs(r->words[money].start_s - 0.5) < 1e-9 && fabs(r->words[money].end_s - 1.4) < 1e-9,
              "the price spans 삼만오천 and 원이고: %d %.2f-%.2f", money, money >= 0 ? r->words[money].start_s : -1,
              money >= 0 ? r->words[money].end_s : -1);
        CHECK(phone == 3 && fabs(r->words[phone].start_s - 2.0) < 1e-9 && fabs(r->words[phone].end_s - 3.4) < 1e-9,
              "the phone number spans its three words");
        CHECK(phone >= 0 && fabsf(r->words[phone].confidence - (0.9f - 0.06f)) < 1e-6,
              "its confidence is its words' lowest: %f", phone >= 0 ? r->words[phone].confidence : -1);
        CHECK(time == 4 && fabs(r->words[time].start_s - 3.5) < 1e-9 && fabs(r->words[time].end_s - 4.4) < 1e-9,
              "the time spans 두시 반에");
        CHECK(find(r, "요금은") == 0 && r->words[0].end_s == 0.4 && find(r, "만나요") == 5 &&
                  r->words[5].start_s == 4.5,
              "words left as they were keep their times");
        CHECK(r->segments[0].first_word == 0 && r->segments[0].n_words == 4 && r->segments[1].first_word == 4 &&
                  r->segments[1].n_words == 2,
              "segments' word ranges follow: %d+%d, %d+%d", r->segments[0].first_word, r->segments[0].n_words,
              r->segments[1].first_word, r->segments[1].n_words);
        /* masking after it finds the written phone number over its time */
        sori_asr_redaction red[8];
        int n = 0;
        CHECK_STATUS(sori_asr_result_redact(r, 0, red, 8, &n, &err), SORI_OK);
        CHECK(n == 1 && red[0].kind == SORI_PII_PHONE && fabs(red[0].start_s - 2.0) < 1e-9 &&
                  fabs(red[0].end_s - 3.4) < 1e-9,
              "masked after: %d", n);
        CHECK(strstr(r->text, "[전화번호]") && !strstr(r->text, "010"), "masked text: %s", r->text);
        sori_asr_result_free(r);
    }
    {
        /* nothing to write otherwise: unchanged, words and all */
        static const char *const w[] = {"안녕하세요", "반갑습니다"};
        sori_asr_result *r = make(w, 2, NULL, 0);
        CHECK_STATUS(sori_asr_result_itn(r, 0, &err), SORI_OK);
        CHECK(!strcmp(r->text, "안녕하세요 반갑습니다") && r->n_words == 2 && !strcmp(r->words[1].text, "반갑습니다") &&
                  r->words[1].start_s == 0.5 && r->segments[0].n_words == 2,
              "unchanged");
        sori_asr_result_free(r);
    }
    {
        /* a result without words (text only) */
        sori_asr_result *r = calloc(1, sizeof *r);
        r->text = strdup("오천 원");
        CHECK_STATUS(sori_asr_result_itn(r, 0, &err), SORI_OK);
        CHECK(!strcmp(r->text, "₩5000"), "text only: %s", r->text);
        sori_asr_result_free(r);
    }
    {
        /* masking alone, spoken digits merged into the mask: the segments' word ranges follow */
        static const char *const w[] = {"번호는", "공일공", "일이삼사", "오육칠팔", "감사합니다"};
        const int cuts[] = {4};
        sori_asr_result *r = make(w, 5, cuts, 1);
        sori_asr_redaction red[8];
        int n = 0;
        CHECK_STATUS(sori_asr_result_redact(r, 0, red, 8, &n, &err), SORI_OK);
        CHECK(n == 1 && r->n_words == 3 && !strcmp(r->words[1].text, "[전화번호]"), "masked: %d words", r->n_words);
        CHECK(r->segments[0].first_word == 0 && r->segments[0].n_words == 2 && r->segments[1].first_word == 2 &&
                  r->segments[1].n_words == 1,
              "segments after masking: %d+%d, %d+%d", r->segments[0].first_word, r->segments[0].n_words,
              r->segments[1].first_word, r->segments[1].n_words);
        sori_asr_result_free(r);
    }
    CHECK_STATUS(sori_asr_result_itn(NULL, 0, &err), SORI_ERR_INVALID_ARG);
    return check_finish("test_asr_itn");
}
