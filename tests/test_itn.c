/* Spoken numbers to written form (sori/text.h: sori_itn) against NeMo's own
 * Korean inverse-normalization test cases (../shared/data/ko_lang/
 * NVIDIA__NeMo-text-processing, read, never copied; skipped without them):
 * every case of the nine classes (cardinal, decimal, money, telephone,
 * date, time, ordinal, measure, fraction) as NeMo writes it. Then numbers,
 * dates, times, ordinals, measures and fractions inside sentences, words
 * that only look like them left alone, and bad input. */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "sori/text.h"

#define NEMO_ITN SORI_SOURCE_DIR "/../shared/data/ko_lang/NVIDIA__NeMo-text-processing/tests/nemo_text_processing/ko/data_inverse_text_normalization"

static int run_class(const char *cls, int *total)
{
    char path[1024], line[1024], out[2048];
    snprintf(path, sizeof path, "%s/test_cases_%s.txt", NEMO_ITN, cls);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    int n = 0, same = 0;
    while (fgets(line, sizeof line, f)) {
        size_t l = strlen(line);
        while (l && (line[l - 1] == '\n' || line[l - 1] == '\r'))
            line[--l] = 0;
        char *sep = strchr(line, '~');
        if (!sep)
            continue;
        *sep = 0;
        size_t len = 0;
        sori_error err = {0};
        const sori_status st = sori_itn(line, strlen(line), out, sizeof out, &len, &err);
        const int ok = st == SORI_OK && strcmp(out, sep + 1) == 0;
        CHECK(ok, "%s: '%s' -> '%s' (NeMo: '%s')", cls, line, st == SORI_OK ? out : err.message, sep + 1);
        same += ok;
        n++;
    }
    fclose(f);
    printf("  %-9s %2d of %2d as NeMo writes them\n", cls, same, n);
    *total += n;
    return same;
}

int main(void)
{
    static const char *const classes[] = {"cardinal", "decimal", "money",   "telephone", "date",
                                          "time",     "ordinal", "measure", "fraction"};
    int total = 0, same = 0, found = 0;
    printf("NeMo's Korean ITN cases:\n");
    for (size_t i = 0; i < sizeof classes / sizeof *classes; i++) {
        const int s = run_class(classes[i], &total);
        found += s >= 0;
        same += s > 0 ? s : 0;
    }
    if (found == 0)
        printf("  (the shared NeMo cases are not here: skipped)\n");
    else
        printf("  all: %d of %d\n", same, total);
    /* in sentences */
    static const char *const S[][2] = {
        {"요금은 삼만오천 원이고 번호는 공일공 일이삼사 오육칠팔이에요", "요금은 ₩35000이고 번호는 010-1234-5678이에요"},
        {"제 번호는 공이 삼사오 육칠팔구요", "제 번호는 02-345-6789요"},
        {"일이 많아서 오늘은 이만 갈게요", "일이 많아서 오늘은 이만 갈게요"},
        {"사이 좋게 오 개 주세요", "사이 좋게 오 개 주세요"},
        {"천만에요", "천만에요"},
        {"구경 갔다가 이천에 들렀어요", "구경 갔다가 이천에 들렀어요"},
        {"이천 원이요", "₩2000이요"},
        {"오 원래 그래요", "오 원래 그래요"},
        {"영원 구원 일원", "영원 구원 일원"},
        {"오천 원 냈어요", "₩5000 냈어요"},
        {"이십삼점사 퍼센트", "23.4 %"},
        {"마이너스 칠백삼십오", "-735"},
        /* dates, times, ordinals, measures, fractions in sentences */
        {"이천이십삼년 구월 오일에 만나요", "2023년9월5일에 만나요"},
        {"구월에 봐요", "9월에 봐요"},
        {"천구백구십년대에 태어났어요", "1990년대에 태어났어요"},
        {"세시에 만나요", "3:00에 만나요"},
        {"오후 네시 반에 회의가 있어요", "오후 4:30에 회의가 있어요"},
        {"열두시 십분 전까지 와요", "12:10 전까지 와요"},
        {"두번째로 왔어요", "2번째로 왔어요"},
        {"오 킬로미터 정도 걸었어요", "5 km 정도 걸었어요"},
        {"오늘은 영하 십 도예요", "오늘은 -10 °예요"},
        {"오십 프로 할인해요", "50 % 할인해요"},
        {"일 점 오 리터 주세요", "1.5 L 주세요"},
        {"삼분의일만 주세요", "1/3만 주세요"},
        {"삼분의 일은 남았어요", "1/3은 남았어요"},
        {"이천 사년 팔월 십오일이 무슨 요일이지", "2004년8월15일이 무슨 요일이지"},
        {"두번째, 세번째.", "2번째, 3번째."},
        {"플러스 마이너스 4% 포인트", "플러스 -4% 포인트"},
        /* ... and words that only look like them */
        {"두시간 걸려요", "두시간 걸려요"},
        {"한시도 잊은 적 없어요", "한시도 잊은 적 없어요"},
        {"한시름 놓았어요", "한시름 놓았어요"},
        {"이월 상품이에요", "이월 상품이에요"},
        {"오월드에 갔어요", "오월드에 갔어요"},
        {"이년 전 천년의 사랑", "이년 전 천년의 사랑"},
        {"오일 교환", "오일 교환"},
        {"팔도 구도 백도", "팔도 구도 백도"},
        {"이 프로 재밌어요", "이 프로 재밌어요"},
        {"이십 줄 삼십 평생", "20 줄 30 평생"},
        {"일 점 차이로 졌어요", "일 점 차이로 졌어요"},
        {"이분의 의견", "이분의 의견"},
        {"이분의 일을 도와요", "이분의 일을 도와요"},
        {"여기 두시면 돼요", "여기 두시면 돼요"},
        {"파고가 이미터가 넘으면", "파고가 이미터가 넘으면"},
        {"구십칠 점 오 메가 라디오", "97 점 오 메가 라디오"},
        {"세 번 봤어요", "세 번 봤어요"},
        {"마이너스 통장", "마이너스 통장"},
        {"백조가 날아요", "백조가 날아요"},
        {"마이너스 공일공 일이삼사 오육칠팔", "마이너스 010-1234-5678"},
        /* a number written apart at 만 억 (the standard spacing): one number */
        {"요금은 삼만 오천 원이고", "요금은 ₩35000이고"},
        {"삼억 오천만 이천 원", "₩350002000"},
        {"이만 오천", "25000"},
        {"삼만 오 명", "30000 오 명"},
        {"영영 잊지 못해", "영영 잊지 못해"},
        {"만이 알고 있다", "만이 알고 있다"},
        /* past int64 (천경), or longer than twice the words (일경: 17 digits) inside a sentence */
        {"천경", "천경"},
        {"일경 일경", "일경 일경"},
        {"ABC 123", "ABC 123"},
        {"", ""},
    };
    char out[512];
    for (size_t i = 0; i < sizeof S / sizeof *S; i++) {
        size_t len = 0;
        sori_error err = {0};
        const sori_status st = sori_itn(S[i][0], strlen(S[i][0]), out, sizeof out, &len, &err);
        CHECK(st == SORI_OK && strcmp(out, S[i][1]) == 0 && len == strlen(out), "'%s' -> '%s' (want '%s')", S[i][0],
              st == SORI_OK ? out : err.message, S[i][1]);
    }
    /* options: money as Korean text writes it, thousands, classes kept as spoken */
    {
        static const struct { const char *opts, *in, *want; } O[] = {
            {"korean", "요금은 삼만 오천 원이에요", "요금은 35,000원이에요"},
            {"currency-word", "십오 달러", "15달러"},
            {"thousands", "천이백삼십사", "1,234"},
            {"thousands", "구백구십구", "999"},
            {"thousands", "마이너스 천이백", "-1,200"},
            {"thousands", "천이백점오", "1,200.5"},
            {"keep-money", "오천 원 이천이십사년", "오천 원 2024년"},
            {"keep-date,keep-time", "이천이십사년 삼월 두시 반", "이천이십사년 삼월 두시 반"},
            {"keep-phone", "공일공 일이삼사 오육칠팔", "공일공 일이삼사 오육칠팔"},
            {"keep-cardinal", "삼만오천 명 오천 원", "삼만오천 명 ₩5000"},
            {"keep-ordinal,keep-fraction,keep-measure", "두번째 삼분의일 오 킬로미터", "두번째 삼분의일 오 킬로미터"},
        };
        for (size_t i = 0; i < sizeof O / sizeof *O; i++) {
            unsigned flags = 0;
            size_t n = 0;
            sori_error e = {0};
            char o[256];
            CHECK(sori_itn_parse_options(O[i].opts, &flags, &e) == SORI_OK, "options '%s': %s", O[i].opts, e.message);
            const sori_status st = sori_itn_with(O[i].in, strlen(O[i].in), flags, o, sizeof o, &n, &e);
            CHECK(st == SORI_OK && !strcmp(o, O[i].want), "%s: '%s' -> '%s' (want '%s')", O[i].opts, O[i].in,
                  st == SORI_OK ? o : e.message, O[i].want);
        }
        unsigned flags = 0;
        sori_error e = {0};
        CHECK(sori_itn_parse_options("korean,bogus", &flags, &e) == SORI_ERR_INVALID_ARG && strstr(e.message, "bogus"),
              "an unknown option is named: %s", e.message);
    }
    /* refused */
    size_t len = 0;
    sori_error err = {0};
    CHECK_STATUS(sori_itn("오\xff", 4, out, sizeof out, &len, &err), SORI_ERR_INVALID_ARG);
    CHECK_STATUS(sori_itn("오천 원", 10, out, 3, &len, &err), SORI_ERR_INVALID_ARG);
    CHECK_STATUS(sori_itn(NULL, 3, out, sizeof out, &len, &err), SORI_ERR_INVALID_ARG);
    /* a long numeral (past 경): refused as a number, copied as text, no overflow */
    static char longn[3 * 300 + 1], longo[4096];
    for (int i = 0; i < 300; i++)
        memcpy(longn + 3 * i, i % 2 ? "경" : "구", 3);
    CHECK_STATUS(sori_itn(longn, 900, longo, sizeof longo, &len, &err), SORI_OK);
    CHECK(len == 900 && memcmp(longo, longn, 900) == 0, "a 300-syllable numeral: %zu bytes", len);
    /* random words of numerals, units and particles, a few of them repeated (a word that
     * grows grows every time): the output fits the fuzzer's bound (tests/fuzz/fuzz_text.c:
     * 2 * len + 64) */
    static const char *const parts[] = {"일", "이", "삼", "오", "구", "영", "십", "백", "천", "만", "억", "조", "경",
                                        "점", "년", "월", "일", "시", "분", "초", "반", "두", "열", "스물", "첫",
                                        "번째", "분의", "과", "루트", "마이너스", "영하", "도", "킬로미터", "퍼",
                                        "시간", "프로", "원", "에", "전", "후", "-"};
    enum { N_PARTS = sizeof parts / sizeof *parts };
    const unsigned seed = 20240917u;
    unsigned r = seed;
    int over = 0;
    for (int t = 0; t < 20000; t++) {
        static char pool[2][64], in[4096], big[2 * sizeof in + 64];
        for (int k = 0; k < 2; k++) {
            pool[k][0] = 0;
            for (int m = 1 + (int)((r = r * 1103515245u + 12345u) >> 16) % 3; m > 0; m--)
                strcat(pool[k], parts[((r = r * 1103515245u + 12345u) >> 16) % N_PARTS]);
        }
        size_t n = 0;
        for (int k = 0, m = 1 + (int)((r = r * 1103515245u + 12345u) >> 16) % 60; k < m; k++) {
            const char *p = pool[((r = r * 1103515245u + 12345u) >> 16) % 2];
            if (k)
                in[n++] = ' ';
            memcpy(in + n, p, strlen(p));
            n += strlen(p);
        }
        if (sori_itn(in, n, big, 2 * n + 64, &len, &err) != SORI_OK || len >= 2 * n + 64 || big[len])
            over++;
    }
    CHECK(over == 0, "%d random inputs (seed %u) past 2 * len + 64", over, seed);
    return check_finish("test_itn");
}
