/* Hanja in sori_tn (text/hanja.c), two ways:
 *   test_hanja TABLE   a hand-made table in hanja.txt's form
 *                      (fixtures/text/hanja_small.txt) with lines the reader
 *                      must skip (no colons, empty or mismatched readings,
 *                      invalid UTF-8): which reading wins for a character
 *                      (its gloss's), for a word (the characters' own, or a
 *                      customary one beside it: 困難 곤란, 十月 시월),
 *                      두음법칙 where a character begins a word, compatibility
 *                      ideographs read as the unified ones, characters the
 *                      table lacks left as written;
 *   test_hanja         libhangul-data's table where Debian puts it (skips
 *                      without it): words of every kind read as a Korean
 *                      dictionary reads them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "sori/text.h"

static void expect(const char *in, const char *want)
{
    char out[512];
    size_t n = 0;
    sori_error err = {0};
    const sori_status st = sori_tn(in, strlen(in), 0, out, sizeof out, &n, &err);
    CHECK(st == SORI_OK && strcmp(out, want) == 0, "%s -> %s (want %s) %s", in, st == SORI_OK ? out : "refused",
          want, err.message);
}

static void small_table(void)
{
    expect("大韓民國", "대한민국");
    expect("女子", "여자");          /* the word's reading that is its characters' own, with 두음법칙 */
    expect("女", "여");              /* a character beginning a word: 두음법칙 */
    expect("소女", "소녀");          /* after Hangul: its dictionary form, 녀 */
    expect("子女", "자녀");          /* no word 子女 in this table: two characters, the second inside a word */
    expect("十月", "시월");          /* a customary reading (a final dropped) over the characters' 십월 */
    expect("十", "십");              /* 시 is listed first; the gloss says 십 */
    expect("困難", "곤란");          /* ㄴ said ㄹ: customary over 곤난 */
    expect("先生님", "선생님");      /* the characters' own reading over 선상 */
    expect("山 大", "山 대");        /* a character the table lacks stays */
    expect("2024年 大韓", "이천이십사年 대한");
    expect("\xef\xa6\x81\xe5\xad\x90 \xe5\x9b\xb0\xef\xa9\xa8", "여자 곤란"); /* 女 U+F981, 難 U+FA68: compatibility forms */
    /* every character one syllable of three bytes: the output has the input's length */
    const char *in = "大韓民國十月女子困難";
    char out[256];
    size_t n = 0;
    sori_error err = {0};
    CHECK_STATUS(sori_tn(in, strlen(in), 0, out, sizeof out, &n, &err), SORI_OK);
    CHECK(n == strlen(in), "%zu bytes for %zu", n, strlen(in));
    CHECK_STATUS(sori_tn(in, strlen(in), 0, out, 10, &n, &err), SORI_ERR_INVALID_ARG); /* too small: refused */
}

static void debian_table(void)
{
    expect("大韓民國", "대한민국");
    expect("李舜臣 장군", "이순신 장군");
    expect("女子 老人 來日", "여자 노인 내일");
    expect("十月에 學校에서", "시월에 학교에서");
    expect("先生님, 六月", "선생님, 유월");
    expect("樂園 音樂", "낙원 음악");
    expect("困難 許諾 論難 木瓜", "곤란 허락 논란 모과");
    expect("中國語 會社 電話", "중국어 회사 전화");
}

int main(int argc, char **argv)
{
    if (argc > 1) {
        setenv("SORI_HANJA_TABLE", argv[1], 1);
        small_table();
        return check_finish("test_hanja (small table)");
    }
    char out[64];
    size_t n = 0;
    sori_error err = {0};
    if (sori_tn("大", 3, 0, out, sizeof out, &n, &err) == SORI_OK && strcmp(out, "大") == 0)
        SKIP("no Hanja table (Debian's libhangul-data, or $SORI_HANJA_TABLE)");
    debian_table();
    return check_finish("test_hanja");
}
