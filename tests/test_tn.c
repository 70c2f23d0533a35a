/* Written text to spoken Hangul (sori/text.h: sori_tn) against NeMo's own
 * Korean text-normalization test cases (../shared/data/ko_lang/
 * NVIDIA__NeMo-text-processing, read, never copied; skipped without them),
 * with NeMo's convention for zeros (영). Every case must equal NeMo's
 * output (trailing spaces, an artifact of NeMo's grammars, aside) except
 * the cases listed below where NeMo's output is not what a reader says;
 * those must give sori's reading instead. Then sori's own cases: counters,
 * particles, sentences, zeros as 공, and bad input. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "sori/text.h"

#define NEMO_TN                                                                                                     \
    SORI_SOURCE_DIR "/../shared/data/ko_lang/NVIDIA__NeMo-text-processing/tests/nemo_text_processing/ko/"           \
                    "data_text_normalization"

/* NeMo cases where sori reads otherwise, and why (docs/text.md repeats them) */
static const struct {
    const char *in, *sori, *why;
} DIFFER[] = {
    {"정오", "정오", "a word, not a number: the text says 정오 and a reader says 정오 (NeMo: 열두시)"},
    {"자정", "자정", "a word, not a number: the text says 자정 (NeMo: 영시)"},
    {"2과3/4L", "이와 사분의 삼 리터", "the particle after 이 is 와 (NeMo keeps the written 과: 이과)"},
    {"1234-5678-9012-3456", "일이삼사 오육칠팔 구영일이 삼사오육",
     "no words the text does not have: sixteen digits are not always a credit card (NeMo adds 신용카드)"},
    {"2345-2222-3333-4444", "이삼사오 이이이이 삼삼삼삼 사사사사", "as above"},
    {"9090-1234-5555-9876", "구영구영 일이삼사 오오오오 구팔칠육", "as above"},
};

static const char *differ(const char *in)
{
    for (size_t i = 0; i < sizeof DIFFER / sizeof *DIFFER; i++)
        if (!strcmp(DIFFER[i].in, in))
            return DIFFER[i].sori;
    return NULL;
}

static int tn(const char *in, unsigned flags, char *out, size_t cap)
{
    size_t n = 0;
    sori_error err = {0};
    const sori_status st = sori_tn(in, strlen(in), flags, out, cap, &n, &err);
    if (st != SORI_OK)
        snprintf(out, cap, "ERROR %s", err.message);
    return st == SORI_OK && strlen(out) == n;
}

static int run_class(const char *cls, int *total, int *differing)
{
    char path[1024], line[2048], out[8192];
    snprintf(path, sizeof path, "%s/test_cases_%s.txt", NEMO_TN, cls);
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
        char *want = sep + 1;
        size_t w = strlen(want);
        while (w && want[w - 1] == ' ')
            want[--w] = 0;
        const int ok = tn(line, SORI_TN_ZERO_YEONG, out, sizeof out);
        const char *d = differ(line);
        if (d) {
            CHECK(ok && !strcmp(out, d), "%s: '%s' -> '%s' (sori's reading: '%s', NeMo: '%s')", cls, line, out, d,
                  want);
            (*differing)++;
        } else {
            CHECK(ok && !strcmp(out, want), "%s: '%s' -> '%s' (NeMo: '%s')", cls, line, out, want);
            same += ok && !strcmp(out, want);
        }
        n++;
    }
    fclose(f);
    printf("  %-10s %2d of %2d as NeMo writes them\n", cls, same, n);
    *total += n;
    return same;
}

static void expect(const char *in, unsigned flags, const char *want)
{
    char out[4096];
    const int ok = tn(in, flags, out, sizeof out);
    CHECK(ok && !strcmp(out, want), "'%s' -> '%s' (want '%s')", in, out, want);
}

int main(void)
{
    static const char *const classes[] = {"cardinal", "ordinal", "decimal", "fraction", "money",
                                          "date",     "time",    "measure", "telephone", "electronic"};
    int total = 0, same = 0, found = 0, differing = 0;
    printf("NeMo's Korean TN cases:\n");
    for (size_t i = 0; i < sizeof classes / sizeof *classes; i++) {
        const int s = run_class(classes[i], &total, &differing);
        found += s >= 0;
        same += s > 0 ? s : 0;
    }
    if (found)
        printf("  all        %d of %d as NeMo writes them; %d read otherwise on purpose (listed in the test)\n", same,
               total, differing);
    else
        printf("  (NeMo's test cases not found: skipped)\n");

    /* zeros read one by one: 공 by default */
    expect("010-1234-5678", 0, "공일공 일이삼사 오육칠팔");
    expect("02-123-4567로 전화 주세요", 0, "공이 일이삼 사오육칠로 전화 주세요");
    expect("1588-1234", 0, "일오팔팔 일이삼사");
    expect("+82 10-1234-5678", 0, "국가번호 팔이 일공 일이삼사 오육칠팔");

    /* native numerals before counters, Sino-Korean from 100 and after other words */
    expect("사과 3개와 배 2개", 0, "사과 세개와 배 두개");
    expect("학생 20명이 왔다", 0, "학생 스무명이 왔다");
    expect("25살입니다", 0, "스물다섯살입니다");
    expect("120명", 0, "백이십명");
    expect("3개월", 0, "삼개월");
    expect("5달러", 0, "오달러");
    expect("2시간 30분", 0, "두시간 삼십분");
    expect("3~5개", 0, "세 부터 다섯개");
    expect("1번째와 100번째", 0, "첫번째와 백번째");
    expect("3시에 만나요", 0, "세시에 만나요");
    expect("3시즌", 0, "삼시즌");
    expect("50명대로", 0, "오십명대로");

    /* numbers in sentences, particles fitted to the reading */
    expect("총 1,234명", 0, "총 천이백삼십사명");
    expect("가격은 35,000원입니다", 0, "가격은 삼만오천원입니다");
    expect("10만원", 0, "십만원");
    expect("1억2천만 원", 0, "일억이천만 원");
    expect("2024년 3월 1일에", 0, "이천이십사년 삼월 일일에");
    expect("6월 10일", 0, "유월 십일");
    expect("10월", 0, "시월");
    expect("오후 3:30에 출발", 0, "오후 세시 삼십분에 출발");
    expect("2가 답이다", 0, "이가 답이다");
    expect("3이 답이다", 0, "삼이 답이다");
    expect("1로 나눈다", 0, "일로 나눈다");
    expect("3으로 나눈다", 0, "삼으로 나눈다");
    expect("2로 나눈다", 0, "이로 나눈다");
    expect("4을 더하면", 0, "사를 더하면");
    expect("5이상", 0, "오이상");
    expect("3.14는 원주율", 0, "삼점일사는 원주율");
    expect("-5도", 0, "마이너스 오도");
    expect("30°C", 0, "삼십 도");
    expect("500 GB", 0, "오백 기가바이트");
    expect("5km를 달렸다", 0, "오 킬로미터를 달렸다");

    /* codes, addresses, letters */
    expect("007", 0, "공공칠");
    expect("user01@gmail.com", 0, "user공일 골뱅이 gmail 닷 컴");
    expect("www.naver.com", 0, "더블유더블유더블유 닷 naver 닷 컴");
    expect("KTX를 탔다", 0, "케이티엑스를 탔다");
    /* lower case without a vowel is spelled (no English word looks so); words and addresses stay */
    expect("cctv 설치, sns에 올려", 0, "씨씨티비 설치, 에스엔에스에 올려");
    expect("hello tv", 0, "hello 티비");
    expect("제Ⅱ장과 ⅻ", 0, "제이장과 십이");
    /* signs alone between words: arithmetic between numbers, else their names; = is 은/는 */
    expect("3 + 4 = 7", 0, "삼 더하기 사는 칠");
    expect("10 - 3 = 7, 6 ÷ 2 = 3", 0, "십 빼기 삼은 칠, 육 나누기 이는 삼");
    expect("매력 + 재력, R & B", 0, "매력 플러스 재력, 알 앤 비");
    expect("- 항목, 1+1 행사", 0, "- 항목, 일+일 행사");
    expect("ab@msn.kr", 0, "ab 골뱅이 msn 닷 케이알");
    expect("R&D 센터", 0, "알앤디 센터");
    expect("e.g. 이것", 0, "e.g. 이것");
    expect("version 1.2.3", 0, "version 일.이.삼");
    /* acronyms said as words, units alone, % alone, one digit after a short code in English */
    expect("NASA와 유네스코, jpeg 파일", 0, "나사와 유네스코, 제이펙 파일");
    expect("nasa.gov", 0, "nasa 닷 지오브이");
    expect("단위: ml, kg", 0, "단위: 밀리리터, 킬로그램");
    expect("(ft.이대휘) ha ha, 5 min", 0, "(에프티.이대휘) ha ha, 오 분"); /* not units alone */
    expect("금리 % 단위", 0, "금리 퍼센트 단위");
    expect("A4 용지, mp3 파일, G7", 0, "에이포 용지, 엠피쓰리 파일, 지세븐");
    expect("user1 G20 KTX 3호차", 0, "user일 지이공 케이티엑스 삼호차");
    /* numbers joined by middle dots: events, lists */
    expect("6·25 전쟁, 3·1절, 4ㆍ19와 5・18", 0, "육이오 전쟁, 삼일절, 사일구와 오일팔");
    expect("12·12 사태, 1·2차 시험, 1·2·3위", 0, "십이십이 사태, 일이차 시험, 일이삼위");

    /* nothing to say: copied as it is */
    expect("", 0, "");
    expect("안녕하세요.", 0, "안녕하세요.");
    expect("hello world", 0, "hello world");
    expect("😀 ^^", 0, "😀 ^^");

    /* long numbers: up to 20 digits in place values, longer ones digit by digit */
    expect("12345678901234567890", 0, "천이백삼십사경오천육백칠십팔조구천십이억삼천사백오십육만칠천팔백구십");
    {
        char in[128], out[1024];
        memset(in, '9', 100);
        in[100] = 0;
        CHECK(tn(in, 0, out, sizeof out), "100 digits: %s", out);
        CHECK(strlen(out) == 300, "100 digits read one by one: %zu bytes", strlen(out));
    }

    /* bad input: invalid UTF-8, a buffer too small (the length needed is given), NULL */
    {
        char out[64];
        size_t n = 0;
        sori_error err = {0};
        CHECK(sori_tn("3\xff개", 4, 0, out, sizeof out, &n, &err) == SORI_ERR_INVALID_ARG &&
                  strstr(err.message, "byte 1"),
              "invalid UTF-8: %s", err.message);
        CHECK(sori_tn("123", 3, 0, out, 4, &n, &err) == SORI_ERR_INVALID_ARG && n == strlen("백이십삼"),
              "small buffer: needs %zu", n);
        CHECK(sori_tn("123", 3, 0, out, n + 1, &n, &err) == SORI_OK && !strcmp(out, "백이십삼"), "exact buffer");
        CHECK(sori_tn(NULL, 3, 0, out, sizeof out, &n, &err) == SORI_ERR_INVALID_ARG, "NULL text");
    }
    /* the bound the API states, on dense input */
    {
        static const char *const dense[] = {"W", "1rpm", "1%", "(월〜금)", "1/2", "1W&W", "+1 12-3456", "9"};
        for (size_t i = 0; i < sizeof dense / sizeof *dense; i++) {
            char out[512];
            CHECK(tn(dense[i], 0, out, sizeof out) && strlen(out) <= 16 * strlen(dense[i]) + 64, "bound: %s",
                  dense[i]);
        }
    }
    return check_finish("test_tn");
}
