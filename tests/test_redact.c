/* Personal-data masking (sori/text.h): hand-written sentences of a call
 * center, each with the categories it holds (or none: prices, dates,
 * counts, years, ordinary words made of digit syllables), written and
 * spoken; partial mode masks digits that may still grow; bad input is
 * refused. (Precision and recall on a generated set: the next part.) */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "sori/text.h"

typedef struct {
    const char *text, *want; /* want: the masked text */
} rcase;

static const rcase CASES[] = {
    /* phone numbers */
    {"제 번호는 010-1234-5678이고요", "제 번호는 [전화번호]이고요"},
    {"01012345678로 연락 주세요", "[전화번호]로 연락 주세요"},
    {"010 1234 5678", "[전화번호]"},
    {"(02) 123-4567 입니다", "([전화번호] 입니다"},
    {"서울 02-1234-5678", "서울 [전화번호]"},
    {"031-123-4567번으로", "[전화번호]번으로"},
    {"대표번호 1588-1234로 전화 주세요", "대표번호 [전화번호]로 전화 주세요"},
    {"+82 10-1234-5678", "[전화번호]"},
    {"공일공 일이삼사 오육칠팔이에요", "[전화번호]이에요"},
    {"공일공 어 일이삼사 음 오육칠팔", "[전화번호]"},
    {"번호가 영일영 구팔칠육 오사삼이 맞죠", "번호가 [전화번호] 맞죠"},
    {"공이 삼사오 육칠팔구요", "[전화번호]요"},
    /* resident registration numbers */
    {"주민번호는 900101-1234567입니다", "주민번호는 [주민등록번호]입니다"},
    {"주민등록번호 8512312345678", "주민등록번호 [주민등록번호]"},
    {"구공공일공일 다시 일이삼사오육칠이요", "[주민등록번호]이요"},
    /* cards (Luhn) */
    {"카드 번호 4111 1111 1111 1111", "카드 번호 [카드번호]"},
    {"5500-0000-0000-0004 카드요", "[카드번호] 카드요"},
    /* accounts (near a bank word) */
    {"국민은행 계좌 123456-01-234567로 보내 주세요", "국민은행 계좌 [계좌번호]로 보내 주세요"},
    {"신한 110-123-456789", "신한 [계좌번호]"},
    /* e-mail */
    {"이메일은 kim.minsu@example.co.kr 입니다", "이메일은 [이메일] 입니다"},
    {"a_b+c@mail.example.com", "[이메일]"},
    /* not personal data */
    {"가격은 35,000원이고 2024년 3월 15일에 3명이 왔어요", "가격은 35,000원이고 2024년 3월 15일에 3명이 왔어요"},
    {"일이 많아서 오늘은 이만 갈게요", "일이 많아서 오늘은 이만 갈게요"},
    {"2024-03-15 회의", "2024-03-15 회의"},
    {"주문번호 1234567890", "주문번호 1234567890"},
    {"1,234,567원 결제", "1,234,567원 결제"},
    {"사과 오 개랑 배 삼 개", "사과 오 개랑 배 삼 개"},
    {"삼십 분 뒤에 오세요", "삼십 분 뒤에 오세요"},
    {"카드 4111 1111 1111 1112", "카드 4111 1111 1111 1112"}, /* fails Luhn */
    {"user@localhost", "user@localhost"},
    {"", ""},
};

int main(void)
{
    const int n = (int)(sizeof CASES / sizeof *CASES);
    int same = 0;
    char out[512];
    sori_pii_span sp[16];
    for (int i = 0; i < n; i++) {
        size_t len = 0;
        int ns = 0;
        sori_error err = {0};
        const sori_status st = sori_redact(CASES[i].text, strlen(CASES[i].text), false, out, sizeof out, &len, sp, 16,
                                           &ns, &err);
        const int ok = st == SORI_OK && strcmp(out, CASES[i].want) == 0 && len == strlen(out);
        CHECK(ok, "'%s': '%s' (want '%s') %s", CASES[i].text, st == SORI_OK ? out : "refused", CASES[i].want,
              err.message);
        same += ok;
    }
    printf("redaction: %d of %d hand-written cases\n", same, n);
    /* spans: category and bytes */
    int ns = 0;
    sori_error err = {0};
    const char *t = "전화 010-1234-5678, 메일 a@b.com";
    CHECK_STATUS(sori_redact_find(t, strlen(t), false, sp, 16, &ns, &err), SORI_OK);
    CHECK(ns == 2 && sp[0].kind == SORI_PII_PHONE && sp[0].begin == 7 && sp[0].end == 20 &&
              sp[1].kind == SORI_PII_EMAIL && strcmp(sori_pii_name(sp[1].kind), "email") == 0,
          "spans: %d, %s %zu-%zu", ns, ns ? sori_pii_name(sp[0].kind) : "", ns ? sp[0].begin : 0, ns ? sp[0].end : 0);
    /* partial: digits that may still become a number are hidden; a final of the same words masks them */
    size_t len = 0;
    const char *p = "제 번호는 공일공 일이삼";
    CHECK_STATUS(sori_redact(p, strlen(p), true, out, sizeof out, &len, sp, 16, &ns, &err), SORI_OK);
    CHECK(strcmp(out, "제 번호는 [숫자]") == 0, "partial: '%s'", out);
    CHECK_STATUS(sori_redact("3월 15일", 10, true, out, sizeof out, &len, sp, 16, &ns, &err), SORI_OK);
    CHECK(strcmp(out, "3월 15일") == 0, "partial, short numbers stay: '%s'", out);
    /* refused */
    CHECK_STATUS(sori_redact_find("010\xff", 4, false, sp, 16, &ns, &err), SORI_ERR_INVALID_ARG);
    CHECK_STATUS(sori_redact("010-1234-5678", 13, false, out, 5, &len, sp, 16, &ns, &err), SORI_ERR_INVALID_ARG);
    CHECK_STATUS(sori_redact_find("010-1234-5678 010-1234-5678", 27, false, sp, 1, &ns, &err), SORI_ERR_INVALID_ARG);
    CHECK(ns == 2, "two spans counted with room for one: %d", ns);
    /* a long line of digits: bounded, no crash */
    static char longd[20001];
    memset(longd, '7', 20000);
    CHECK_STATUS(sori_redact_find(longd, 20000, true, sp, 16, &ns, &err), SORI_ERR_INVALID_ARG);
    CHECK_STATUS(sori_redact_find(longd, 20000, false, sp, 16, &ns, &err), SORI_OK);
    return check_finish("test_redact");
}
