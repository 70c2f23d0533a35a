/* Spoken numbers to written form (sori/text.h: sori_itn) against NeMo's own
 * Korean inverse-normalization test cases (../shared/data/ko_lang/
 * NVIDIA__NeMo-text-processing, read, never copied; skipped without them):
 * every cardinal, decimal, money and telephone case as NeMo writes it; the
 * classes not done yet (dates, times, ordinals, measures, fractions) are
 * counted and reported. Then numbers inside sentences, words that only
 * look like numbers left alone, and bad input. */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "sori/text.h"

#define NEMO_ITN SORI_SOURCE_DIR "/../shared/data/ko_lang/NVIDIA__NeMo-text-processing/tests/nemo_text_processing/ko/data_inverse_text_normalization"

static int run_class(const char *cls, int must, int *total)
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
        if (must)
            CHECK(ok, "%s: '%s' -> '%s' (NeMo: '%s')", cls, line, st == SORI_OK ? out : err.message, sep + 1);
        same += ok;
        n++;
    }
    fclose(f);
    printf("  %-9s %2d of %2d as NeMo writes them%s\n", cls, same, n, must ? "" : " (not done yet)");
    *total += n;
    return same;
}

int main(void)
{
    static const char *const done[] = {"cardinal", "decimal", "money", "telephone"};
    static const char *const later[] = {"date", "time", "ordinal", "measure", "fraction"};
    int total = 0, same = 0, found = 0;
    printf("NeMo's Korean ITN cases:\n");
    for (int i = 0; i < 4; i++) {
        const int s = run_class(done[i], 1, &total);
        found += s >= 0;
        same += s > 0 ? s : 0;
    }
    for (int i = 0; i < 5; i++) {
        const int s = run_class(later[i], 0, &total);
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
        {"이십삼점사 퍼센트", "23.4 퍼센트"},
        {"마이너스 칠백삼십오", "-735"},
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
    return check_finish("test_itn");
}
