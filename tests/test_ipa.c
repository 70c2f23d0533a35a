/* Korean as said → Kokoro's IPA (sori_ko_ipa, text/ipa.c): each row of the
 * table in docs/tts-kokoro.md ("Korean through Kokoro") on words that show
 * it, the whole front end (sori_tn → sori_g2p → sori_ko_ipa) on sentences,
 * the output bound, and bad input refused. The expected strings are written
 * from the table, not from the code's output. */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "sori/text.h"

static const char *const CASES[][2] = {
    /* lenis stops: voiceless at a word's start and after an obstruent, voiced between voiced sounds */
    {"가다", "kada"}, {"바지", "paʥi"}, {"자기", "ʨaɡi"}, {"감기", "kamɡi"}, {"발바닥", "palbadak"},
    {"국도", "kukto"}, {"밥그릇", "papkɯɾɯt"}, {"안방", "anbaŋ"}, {"공장", "koŋʥaŋ"},
    /* aspirated */
    {"코", "kʰo"}, {"토끼", "tʰoʔki"}, {"파", "pʰa"}, {"차", "ʨʰa"}, {"기차", "kiʨʰa"},
    /* tense: ʔ after a vowel or a sonorant, plain elsewhere */
    {"아빠", "aʔpa"}, {"어깨", "ʌʔke"}, {"따다", "tada"}, {"싸다", "sada"}, {"이따", "iʔta"}, {"짜다", "ʨada"},
    {"잠깐", "ʨamʔkan"}, {"학교", "hakkjo"}, {"비싸다", "piʔsada"}, {"아저씨", "aʥʌʔɕi"},
    /* ㅅ ㅎ ㄴ before i and j; the glide after a palatal onset */
    {"시", "ɕi"}, {"사", "sa"}, {"셔", "ɕʌ"}, {"히", "çi"}, {"하", "ha"}, {"효", "ço"}, {"니", "ɲi"},
    {"뉴스", "ɲusɯ"}, {"주", "ʨu"}, {"쳐", "ʨʰʌ"}, {"녀", "ɲʌ"},
    /* ㄹ: flap in an onset, lateral in a coda and after a coda ㄹ */
    {"라면", "ɾamjʌn"}, {"말", "mal"}, {"달라", "talla"}, {"구름", "kuɾɯm"},
    /* codas: the seven sounds, other finals neutralized */
    {"밖", "pak"}, {"옷", "ot"}, {"낮", "nat"}, {"앞", "ap"}, {"부엌", "puʌk"}, {"닭", "tak"}, {"값", "kap"},
    {"강", "kaŋ"}, {"밤", "pam"}, {"산", "san"},
    /* vowels */
    {"아어오우으이", "aʌouɯi"}, {"애에", "ee"}, {"야여요유얘예", "jajʌjojujeje"}, {"와워왜웨외위", "wawʌwewewewi"},
    {"의사", "ɰisa"}, {"희망", "çimaŋ"}, {"무늬", "muɲi"},
    /* words, spaces and punctuation */
    {"  가  나 ", "ka na"}, {"네, 알게써요!", "ne, alɡeʔsʌjo!"}, {"A1 가", "ka"}, {"ㄱ가", "ka"},
    {"그런데…", "kɯɾʌnde…"}, {"", ""},
};

static const char *const SENTENCES[][2] = {
    {"같이 먹었습니다.", "kaʨʰi mʌɡʌtsɯmɲida."},   /* palatalization, liaison, nasalization through g2p */
    {"3개 주세요", "seɡe ʨusejo"},                  /* TN's native numeral before a counter */
    {"국물이 맛있네요?", "kuŋmuɾi madinnejo?"}, /* 맛있- as [마딛] (rule 15) */
};

int main(void)
{
    char out[512];
    size_t len = 0;
    sori_error err = {0};
    const int n = (int)(sizeof CASES / sizeof *CASES);
    for (int i = 0; i < n; i++) {
        const char *want = CASES[i][1];
        const sori_status st = sori_ko_ipa(CASES[i][0], strlen(CASES[i][0]), out, sizeof out, &len, &err);
        CHECK(st == SORI_OK && len == strlen(want) && strcmp(out, want) == 0, "%s: '%s', table: '%s' %s", CASES[i][0],
              st == SORI_OK ? out : "refused", want, err.message);
    }
    for (size_t i = 0; i < sizeof SENTENCES / sizeof *SENTENCES; i++) {
        char tn[512], pron[512];
        size_t k = 0, m = 0;
        const char *t = SENTENCES[i][0];
        sori_status st = sori_tn(t, strlen(t), 0, tn, sizeof tn, &k, &err);
        if (st == SORI_OK)
            st = sori_g2p(tn, k, pron, sizeof pron, &m, &err);
        if (st == SORI_OK)
            st = sori_ko_ipa(pron, m, out, sizeof out, &len, &err);
        CHECK(st == SORI_OK && strcmp(out, SENTENCES[i][1]) == 0, "%s → %s: '%s', expected '%s'", t, pron,
              st == SORI_OK ? out : err.message, SENTENCES[i][1]);
    }
    /* the bound: 3 bytes per input byte (쨔 said after a vowel: ʔʨa from 3 bytes; 뀨: ʔkju) */
    static char many[3 * 2000 + 1], big[3 * 3 * 2000 + 1];
    for (int i = 0; i < 2000; i++)
        memcpy(many + 3 * i, i % 2 ? "뀪" : "아", 3);
    CHECK_STATUS(sori_ko_ipa(many, 6000, big, sizeof big, &len, &err), SORI_OK);
    CHECK(len <= 3 * 6000 && len > 6000, "2,000 syllables: %zu bytes", len);
    CHECK(memcmp(big, "aʔkjuk", 7) == 0, "2,000 syllables begin '%.12s'", big);
    CHECK_STATUS(sori_ko_ipa(many, 6000, big, len, &len, &err), SORI_ERR_INVALID_ARG); /* no room for the NUL */
    CHECK(strstr(err.message, "needs") != NULL, "too small: '%s'", err.message);
    /* refused */
    CHECK_STATUS(sori_ko_ipa("가\xff나", 7, out, sizeof out, &len, &err), SORI_ERR_INVALID_ARG);
    CHECK(strstr(err.message, "byte 3") != NULL, "invalid UTF-8: '%s'", err.message);
    CHECK_STATUS(sori_ko_ipa("\xed\xa0\x80", 3, out, sizeof out, &len, &err), SORI_ERR_INVALID_ARG);
    CHECK_STATUS(sori_ko_ipa(NULL, 3, out, sizeof out, &len, &err), SORI_ERR_INVALID_ARG);
    CHECK_STATUS(sori_ko_ipa("가", 3, NULL, 10, &len, &err), SORI_ERR_INVALID_ARG);
    return check_finish("test_ipa");
}
