/* Standard pronunciation (sori/text.h): the examples that 표준발음법 itself
 * gives for the rules sori applies (rule numbers beside them), words the
 * compound lexicon must change and words it must leave alone, connected
 * speech across a space, text that is not Hangul copied as it is, and bad
 * input refused. (Accuracy on a word list against g2pkk:
 * bench/eval_g2p.py.) */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "sori/text.h"

static const char *const CASES[][2] = {
    /* 5: ㅢ after a consonant */
    {"희망", "히망"}, {"무늬", "무니"}, {"의사", "의사"},
    /* 9-11: finals */
    {"닦다", "닥따"}, {"키읔", "키윽"}, {"옷", "옫"}, {"있다", "읻따"}, {"꽃", "꼳"}, {"솥", "솓"}, {"앞", "압"},
    {"넋", "넉"}, {"앉다", "안따"}, {"여덟", "여덜"}, {"넓다", "널따"}, {"핥다", "할따"}, {"값", "갑"}, {"없다", "업따"},
    {"밟다", "밥따"}, {"밟는", "밤는"}, {"넓죽하다", "넙쭈카다"}, {"넓둥글다", "넙뚱글다"}, {"닭", "닥"},
    {"흙과", "흑꽈"}, {"맑다", "막따"}, {"늙지", "늑찌"}, {"삶", "삼"}, {"젊다", "점따"}, {"읊다", "읍따"},
    {"맑게", "말께"}, {"묽고", "물꼬"}, {"얽거나", "얼꺼나"},
    /* 12: ㅎ */
    {"놓고", "노코"}, {"좋던", "조턴"}, {"쌓지", "싸치"}, {"많고", "만코"}, {"않던", "안턴"}, {"닳지", "달치"},
    {"각하", "가카"}, {"먹히다", "머키다"}, {"밝히다", "발키다"}, {"맏형", "마텽"}, {"좁히다", "조피다"},
    {"넓히다", "널피다"}, {"꽂히다", "꼬치다"}, {"앉히다", "안치다"}, {"닿소", "다쏘"}, {"많소", "만쏘"},
    {"싫소", "실쏘"}, {"놓는", "논는"}, {"쌓네", "싼네"}, {"않네", "안네"}, {"뚫네", "뚤레"}, {"낳은", "나은"},
    {"놓아", "노아"}, {"쌓이다", "싸이다"}, {"많아", "마나"}, {"않은", "아는"}, {"닳아", "다라"}, {"싫어도", "시러도"},
    /* 13, 14: liaison */
    {"깎아", "까까"}, {"옷이", "오시"}, {"있어", "이써"}, {"낮이", "나지"}, {"꽂아", "꼬자"}, {"꽃을", "꼬츨"},
    {"쫓아", "쪼차"}, {"밭에", "바테"}, {"앞으로", "아프로"}, {"덮이다", "더피다"}, {"넋이", "넉씨"},
    {"앉아", "안자"}, {"닭을", "달글"}, {"젊어", "절머"}, {"곬이", "골씨"}, {"핥아", "할타"}, {"읊어", "을퍼"},
    {"값을", "갑쓸"}, {"없어", "업써"},
    /* 15: a real morpheme after a final, and across words */
    {"밭 아래", "바 다래"}, {"늪 앞", "느 밥"}, {"맛없다", "마덥따"}, {"넋 없다", "너 겁따"},
    {"닭 앞에", "다 가페"}, {"값있는", "가빈는"},
    /* 16: letter names */
    {"디귿이", "디그시"}, {"지읒을", "지으슬"}, {"치읓에", "치으세"}, {"키읔을", "키으글"}, {"티읕이", "티으시"},
    {"피읖에", "피으베"}, {"히읗이", "히으시"},
    /* 17: palatalization */
    {"곧이듣다", "고지듣따"}, {"굳이", "구지"}, {"미닫이", "미다지"}, {"땀받이", "땀바지"}, {"밭이", "바치"},
    {"벼훑이", "벼훌치"}, {"굳히다", "구치다"}, {"닫히다", "다치다"}, {"묻히다", "무치다"},
    /* 18-20: nasalization and lateralization */
    {"먹는", "멍는"}, {"국물", "궁물"}, {"깎는", "깡는"}, {"키읔만", "키응만"}, {"몫몫이", "몽목씨"},
    {"긁는", "긍는"}, {"흙만", "흥만"}, {"닫는", "단는"}, {"짓는", "진는"}, {"옷맵시", "온맵씨"}, {"있는", "인는"},
    {"맞는", "만는"}, {"젖멍울", "전멍울"}, {"쫓는", "쫀는"}, {"꽃망울", "꼰망울"}, {"붙는", "분는"},
    {"놓는", "논는"}, {"잡는", "잠는"}, {"밥물", "밤물"}, {"앞마당", "암마당"}, {"밟는", "밤는"},
    {"읊는", "음는"}, {"없는", "엄는"}, {"책 넣는다", "챙 넌는다"}, {"흙 말리다", "흥 말리다"},
    {"밥 먹는다", "밤 멍는다"}, {"담력", "담녁"}, {"침략", "침냑"}, {"강릉", "강능"}, {"항로", "항노"},
    {"막론", "망논"}, {"석류", "성뉴"}, {"협력", "혐녁"}, {"법리", "범니"}, {"난로", "날로"}, {"신라", "실라"},
    {"천리", "철리"}, {"칼날", "칼랄"}, {"물난리", "물랄리"}, {"뚫는", "뚤른"}, {"핥네", "할레"},
    /* 23-25: tensification */
    {"국밥", "국빱"}, {"깎다", "깍따"}, {"넋받이", "넉빠지"}, {"삯돈", "삭똔"}, {"닭장", "닥짱"}, {"칡범", "칙뻠"},
    {"뻗대다", "뻗때다"}, {"옷고름", "옫꼬름"}, {"있던", "읻떤"}, {"꽂고", "꼳꼬"}, {"꽃다발", "꼳따발"},
    {"낯설다", "낟썰다"}, {"밭갈이", "받까리"}, {"솥전", "솓쩐"}, {"곱돌", "곱똘"}, {"덮개", "덥깨"},
    {"옆집", "엽찝"}, {"넓죽하다", "넙쭈카다"}, {"읊조리다", "읍쪼리다"}, {"값지다", "갑찌다"},
    {"앉고", "안꼬"}, {"얹다", "언따"}, {"젊지", "점찌"}, {"넓게", "널께"}, {"핥다", "할따"}, {"훑소", "훌쏘"},
    {"떫지", "떨찌"},
    /* 24: stems in ㄴ ㅁ; its note: the causative and passive -기- stays lenis */
    {"신고", "신고"} /* the noun "report"; the verb form is said 신꼬 */, {"신다", "신따"}, {"껴안다", "껴안따"},
    {"삼고", "삼꼬"}, {"더듬지", "더듬찌"}, {"닮고", "담꼬"}, {"젊지", "점찌"}, {"안기다", "안기다"},
    {"감기다", "감기다"}, {"굶기다", "굼기다"}, {"옮기다", "옴기다"}, {"앎도", "암도"},
    /* not stems: nouns spelled like one and an ending, and 알다's 안다 */
    {"남자", "남자"}, {"감기", "감기"}, {"안다", "안다"},
    /* 27: after the adnominal -ㄹ, across a space */
    {"할 도리", "할 또리"}, {"할 것을", "할 꺼슬"}, {"갈 데가", "갈 떼가"}, {"서울 사람", "서울 사람"},
    /* 29: ㄴ insertion in compounds the lexicon knows (mecab-ko-dic's parts), none in single
     * Sino-Korean words; across words said together (note 2) */
    {"막일", "망닐"}, {"삯일", "상닐"}, {"맨입", "맨닙"}, {"홑이불", "혼니불"}, {"내복약", "내봉냑"},
    {"늑막염", "능망념"}, {"담요", "담뇨"}, {"영업용", "영엄뇽"}, {"식용유", "시굥뉴"}, {"들일", "들릴"},
    {"물약", "물략"}, {"서울역", "서울력"}, {"서울역에서", "서울려게서"}, {"휘발유", "휘발류"},
    {"석유", "서규"}, {"절약", "저략"}, {"영역", "영역"}, {"감염", "가몀"}, {"금요일", "그묘일"},
    {"한 일", "한 닐"}, {"옷 입다", "온 닙따"}, {"할 일", "할 릴"}, {"먹을 엿", "머글 렫"}, {"책 읽어", "챙 닐거"},
    /* 20, its note: ㄴ + ㄹ said ㄴ + ㄴ before a one-syllable suffix */
    {"생산량", "생산냥"}, {"결단력", "결딴녁"}, {"동원령", "동원녕"}, {"상견례", "상견녜"}, {"이원론", "이원논"},
    /* 30: the 사이시옷 (before ㄱ ㄷ ㅂ ㅅ ㅈ as an obstruent, the reading the rule allows beside 내까; the
     * words in g2pK's exceptions silent, the rule's principle) */
    {"냇가", "내까"}, {"냇가에", "내까에"}, {"뱃속", "배쏙"}, {"횟감", "횓깜"} /* not listed: the obstruent */, {"윗옷", "위돋"}, {"콧날", "콘날"}, {"베갯잇", "베갠닏"}, {"깻잎", "깬닙"}, {"나뭇잎", "나문닙"},
    {"도리깻열", "도리깬녈"}, {"뒷윷", "뒨뉻"},
    /* Sino-Korean suffixes tensed after a vowel or a sonorant in compounds */
    {"가정법", "가정뻡"}, {"가능성", "가능썽"}, {"탑승권", "탑씅꿘"}, {"울렁증", "울렁쯩"},
    {"정찰병", "정찰병"} /* 병 "soldier", not "illness" */, {"인사과", "인사과"} /* 과 "office", not "subject" */,
    {"숨지다", "숨지다"},
    /* 28, 26, 29 and 20 where only the word says so (g2pK's exceptions in the lexicon), with endings */
    {"문고리", "문꼬리"}, {"문고리를", "문꼬리를"}, {"길가에서", "길까에서"}, {"아침밥은", "아침빠븐"},
    {"갈등", "갈뜽"}, {"금융", "금늉"}, {"검열이", "검녀리"}, {"의견란", "의견난"}, {"삼일절", "사밀쩔"},
    {"할수록", "할쑤록"}, {"송별연", "송벼련"},
    /* sentences */
    {"같이 먹었습니다", "가치 머걷씀니다"}, {"옷 한 벌", "오 탄 벌"}, {"몇 할", "며 탈"},
    /* not Hangul, or not one phrase */
    {"ABC 123, 좋고!", "ABC 123, 조코!"}, {"ㄱㄴ 가", "ㄱㄴ 가"}, {"국  물", "국  물"}, {"", ""},
};

int main(void)
{
    const int n = (int)(sizeof CASES / sizeof *CASES);
    int same = 0;
    char out[256];
    for (int i = 0; i < n; i++) {
        size_t len = 0;
        sori_error err = {0};
        const sori_status st = sori_g2p(CASES[i][0], strlen(CASES[i][0]), out, sizeof out, &len, &err);
        const int ok = st == SORI_OK && len == strlen(CASES[i][1]) && strcmp(out, CASES[i][1]) == 0;
        CHECK(ok, "%s: %s (standard: %s) %s", CASES[i][0], st == SORI_OK ? out : "refused", CASES[i][1], err.message);
        same += ok;
    }
    printf("standard pronunciation: %d of %d examples\n", same, n);
    /* a very long word: pieces of 256 syllables, every syllable still one */
    static char longw[3 * 1000 + 1], longo[3 * 1000 + 1];
    for (int i = 0; i < 1000; i++)
        memcpy(longw + 3 * i, i % 2 ? "이" : "닭", 3);
    size_t len = 0;
    sori_error err = {0};
    CHECK_STATUS(sori_g2p(longw, 3000, longo, sizeof longo, &len, &err), SORI_OK);
    CHECK(len == 3000 && memcmp(longo, "달기달기", 12) == 0, "a 1,000-syllable word: %zu bytes, begins %.12s", len,
          longo);
    /* refused */
    CHECK_STATUS(sori_g2p("가\xff나", 7, out, sizeof out, &len, &err), SORI_ERR_INVALID_ARG);
    CHECK(strstr(err.message, "byte 3") != NULL, "invalid UTF-8: '%s'", err.message);
    CHECK_STATUS(sori_g2p("\xed\xa0\x80", 3, out, sizeof out, &len, &err), SORI_ERR_INVALID_ARG); /* a surrogate */
    CHECK_STATUS(sori_g2p("\xc0\xaf", 2, out, sizeof out, &len, &err), SORI_ERR_INVALID_ARG);     /* overlong */
    CHECK_STATUS(sori_g2p("국물", 6, out, 6, &len, &err), SORI_ERR_INVALID_ARG);                  /* no room for NUL */
    CHECK_STATUS(sori_g2p(NULL, 3, out, sizeof out, &len, &err), SORI_ERR_INVALID_ARG);
    CHECK_STATUS(sori_g2p("국물", 6, NULL, 10, &len, &err), SORI_ERR_INVALID_ARG);
    return check_finish("test_g2p");
}
