/* Standard pronunciation (sori/text.h): 표준발음법's rules on Hangul
 * syllables split into initial (L), vowel (V) and final (T) indices, word by
 * word, in the order the rules feed each other. First each word is looked up
 * in the compound lexicon (text/g2p_lexicon.h, from mecab-ko-dic's compound
 * nouns: where a part ends and which rule applies there: ㄴ insertion,
 * ㄴ + ㄹ said ㄴ + ㄴ, a 사이시옷, a tensed Sino-Korean suffix) and in a
 * short list of verb stems in ㄴ ㅁ (rule 24); then:
 *   0. ㅢ after a consonant-initial syllable is ㅣ (희망 → 히망; rule 5);
 *   1. ㅎ: ㅎ(ㄶ,ㅀ) + ㄱㄷㅈ aspirate them, + ㅅ tenses it, + a vowel drops
 *      (rule 12); ㄱ(ㄺ) ㄷ ㅂ(ㄼ) ㅈ(ㄵ) ㅅ ㅆ ㅊ ㅌ + ㅎ aspirate (rule 12
 *      and its notes), ㄷ + 히 → 치 (rule 17);
 *   2. palatalization: ㄷ ㅌ ㄾ + 이 → 지 치 (rule 17);
 *   3. ㄴ insertion before a compound's last part from a short list of parts
 *      that are always words of their own (이불, 여름, 잎, 엿 …; rule 29), at
 *      the seams of the compound lexicon, and across a space before 이 야 여
 *      요 유 (29, note 2: 한 일 → 한 닐);
 *      liaison: a final before a vowel moves over, a double final's second
 *      consonant (ㄳ ㄽ ㅄ give ㅆ; rules 13, 14), the final's representative
 *      before 있 없 and compound parts 옷 웃음 어치 어미 (rule 15);
 *   4. tensification after obstruents, after stem finals ㄵ ㄻ ㄼ ㄾ and the
 *      listed stems in ㄴ ㅁ but not before the causative -기- (rules 23-25),
 *      after a 사이시옷 (as an obstruent: 냇가 → 낻까, the reading rule 30
 *      allows beside 내까; g2pK's exceptions say 내까, with the ㅅ silent) and at
 *      a lexicon's tensed seam;
 *      ㄹ + ㄷ ㅅ ㅈ after a word's first syllable but not before a verb
 *      ending (rule 26: 갈등, 일시; 알다, 살자 stay); after the adnominal -ㄹ
 *      of 할 될 갈 볼 올 쓸 and before a bound noun after any -ㄹ word (27);
 *   5. finals neutralized to ㄱ ㄴ ㄷ ㄹ ㅁ ㅂ ㅇ (rules 9-11: ㄺ before ㄱ
 *      is ㄹ, 밟 and 넓죽/넓둥 keep ㅂ);
 *   6. nasalization: ㄱ ㄷ ㅂ before ㄴ ㅁ → ㅇ ㄴ ㅁ; ㄹ after ㅁ ㅇ → ㄴ, and
 *      after ㄱ ㄷ ㅂ → ㄴ with those nasalized (rules 18, 19);
 *   7. lateralization: ㄴ ㄹ and ㄹ ㄴ → ㄹ ㄹ (rule 20);
 *   8. 져 쪄 쳐 are said 저 쩌 처 (rule 5). */
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"
#include "sori/text.h"
#include "text/g2p_lexicon.h"
#include "text/text_util.h"

enum { HANGUL_FIRST = 0xAC00, HANGUL_LAST = 0xD7A3 };

/* initials */
enum { I_G = 0, I_GG, I_N, I_D, I_DD, I_R, I_M, I_B, I_BB, I_S, I_SS, I_O, I_J, I_JJ, I_CH, I_K, I_T, I_P, I_H };
/* finals */
enum {
    F_NONE = 0, F_G, F_GG, F_GS, F_N, F_NJ, F_NH, F_D, F_L, F_LG, F_LM, F_LB, F_LS, F_LT, F_LP, F_LH,
    F_M, F_B, F_BS, F_S, F_SS, F_NG, F_J, F_CH, F_K, F_T, F_P, F_H
};
enum { V_I = 20, V_UI = 19 };

typedef struct {
    int l, v, t;
    int orig_l, orig_t; /* before any rule */
    int space;          /* a space between this syllable and the next (connected speech across words) */
    int lex;            /* a seam the compound lexicon marks here (LEX_*) */
} syl;

enum {
    LEX_NONE = 0,
    LEX_N_INSERT, /* a compound's part begins here and takes ㄴ (막일 → 망닐; rule 29) */
    LEX_NN,       /* ㄹ here after ㄴ is said ㄴ (생산량 → 생산냥; rule 20's note) */
    LEX_SAI,      /* this syllable's ㅅ is a 사이시옷 (뒷일 → 뒨닐, 윗옷 → 위돋; rule 30) */
    LEX_TENSE,    /* a compound's part begins here with a tensed consonant (문고리 → 문꼬리; rule 28) */
    LEX_STEM,     /* the last syllable of a verb stem in ㄴ ㅁ before an ending (신다 → 신따; rule 24) */
    LEX_SAI_SILENT, /* this syllable's ㅅ is a 사이시옷 not said, the next consonant tensed (냇가 → 내까;
                     * rule 30's principle, for the words g2pK's exceptions list) */
};

/* a final's consonant as an initial, and what stays as the final (liaison) */
static void split_final(int t, int *stay, int *move)
{
    static const int mv[28] = {-1,  I_G, I_GG, I_SS, I_N, I_J, -1,  I_D,  I_R,  I_G,  I_M,  I_B,  I_SS, I_T,
                               I_P, -1,  I_M,  I_B,  I_SS, I_S, I_SS, -1, I_J, I_CH, I_K, I_T, I_P, -1};
    static const int st[28] = {0, 0, 0, F_G, 0, F_N, F_N, 0, 0, F_L, F_L, F_L, F_L, F_L,
                               F_L, F_L, 0, 0, F_B, 0, 0, F_NG, 0, 0, 0, 0, 0, 0};
    *move = mv[t];
    *stay = st[t];
}

static int is_k_class(int t) { return t == F_G || t == F_GG || t == F_K || t == F_GS || t == F_LG; }
static int is_d_class(int t)
{
    return t == F_D || t == F_S || t == F_SS || t == F_J || t == F_CH || t == F_T || t == F_H;
}
static int is_b_class(int t) { return t == F_B || t == F_P || t == F_LB || t == F_LP || t == F_BS; }

static int tense(int l)
{
    switch (l) {
    case I_G: return I_GG;
    case I_D: return I_DD;
    case I_B: return I_BB;
    case I_S: return I_SS;
    case I_J: return I_JJ;
    default: return l;
    }
}

static int syllable(int l, int v, int t) { return HANGUL_FIRST + (l * 21 + v) * 28 + t; }

static int neutral(const syl *a, const syl *b);

/* rules 1-7 between syllable a and the next one, b, of the same word */
static void rule_h(syl *a, syl *b)
{
    if (a->space && a->t != F_NONE)
        a->t = neutral(a, NULL);
    const int t = a->t;
    if (t == F_H || t == F_NH || t == F_LH) {
        const int rest = t == F_H ? F_NONE : t == F_NH ? F_N : F_L;
        if (b->l == I_G || b->l == I_D || b->l == I_J) {
            b->l = b->l == I_G ? I_K : b->l == I_D ? I_T : I_CH;
            a->t = rest;
        } else if (b->l == I_S) {
            b->l = I_SS;
            a->t = rest;
        } else if (b->l == I_O) {
            a->t = rest;
        }
        return;
    }
    if (b->l != I_H)
        return;
    switch (t) {
    case F_G: case F_GG: case F_K: case F_GS: a->t = F_NONE, b->l = I_K; break;
    case F_LG: a->t = F_L, b->l = I_K; break;
    case F_B: case F_P: case F_BS: a->t = F_NONE, b->l = I_P; break;
    case F_LB: a->t = F_L, b->l = I_P; break;
    case F_J: a->t = F_NONE, b->l = I_CH; break;
    case F_NJ: a->t = F_N, b->l = I_CH; break;
    case F_D: a->t = F_NONE, b->l = b->v == V_I && !a->space ? I_CH : I_T; break;
    case F_S: case F_SS: case F_CH: case F_T: a->t = F_NONE, b->l = I_T; break;
    default: break;
    }
}

static void rule_palatal(syl *a, syl *b)
{
    if (b->l != I_O || b->v != V_I || a->space)
        return;
    if (a->t == F_D)
        a->t = F_NONE, b->l = I_J;
    else if (a->t == F_T)
        a->t = F_NONE, b->l = I_CH;
    else if (a->t == F_LT)
        a->t = F_L, b->l = I_CH;
}

static int orig_cp(const syl *a) { return HANGUL_FIRST + (a->orig_l * 21 + a->v) * 28 + a->orig_t; }

/* the syllables w[i, i + len(e)) are the word e (a NUL-terminated code point list) */
static int matches(const syl *w, int n, int i, const unsigned *e)
{
    int k = 0;
    for (; e[k]; k++)
        if (i + k >= n || (k > 0 && w[i + k - 1].space) || orig_cp(&w[i + k]) != (int)e[k])
            return 0;
    return k;
}

/* a word ends after w[i, i + k): the phrase's end, a space, or one particle syllable and then that */
static int word_end_after(const syl *w, int n, int i, int k)
{
    const int e = i + k;
    if (e >= n || w[e - 1].space)
        return 1;
    static const unsigned particles[] = {0xC774 /* 이 */, 0xC744 /* 을 */, 0xC740 /* 은 */, 0xC5D0 /* 에 */,
                                         0xB3C4 /* 도 */, 0xACFC /* 과 */, 0xC758 /* 의 */, 0xB9CC /* 만 */,
                                         0xB85C /* 로 */, 0xAC00 /* 가 */, 0xB294 /* 는 */, 0xB97C /* 를 */};
    if (e + 1 < n && !w[e].space)
        return 0;
    for (size_t p = 0; p < sizeof particles / sizeof *particles; p++)
        if (orig_cp(&w[e]) == (int)particles[p])
            return 1;
    return 0;
}

/* 있, 없: vowel-initial real morphemes (맛없다 → 마덥따, 값있는 → 가빈는; rule 15) */
static int real_morpheme(const syl *b)
{
    return b->orig_l == I_O && ((b->v == 20 && b->orig_t == F_SS) || (b->v == 4 && b->orig_t == F_BS));
}

/* Rule 29, ㄴ insertion: after a final, a compound's last part beginning 이 야 여 요 유 takes ㄴ
 * (솜이불 → 솜니불, 꽃잎 → 꼰닙, 솔잎 → 솔립). Only parts that are always their own word where
 * they end one (Sino-Korean syllables such as 약 역 요 유 염 일 are left: 절약, 영역, 필요,
 * 석유, 감염 and 생일 take none). */
static void rule_n_insert(syl *w, int n)
{
    static const unsigned parts[][4] = {
        {0xC78E /* 잎 */}, {0xC737 /* 윷 */}, {0xC5FF /* 엿 */}, {0xC774, 0xBD88 /* 이불 */},
        {0xC5EC, 0xB984 /* 여름 */}, {0xC5F0, 0xD544 /* 연필 */}, {0xC5F4, 0xCC28 /* 열차 */},
        {0xC5EC, 0xC6B0 /* 여우 */}, {0xC5EC, 0xC12F /* 여섯 */}, {0xC724, 0xB9AC /* 윤리 */},
        {0xC694, 0xAE30 /* 요기 */}, {0xC5EC, 0xC131 /* 여성 */}, {0xC5EC, 0xBE44 /* 여비 */}};
    for (int i = 1; i < n; i++) {
        if (w[i - 1].orig_t == F_NONE || w[i].orig_l != I_O)
            continue;
        const int iy = w[i].v == V_I || w[i].v == 2 || w[i].v == 6 || w[i].v == 12 || w[i].v == 17;
        /* across a space, the next word said with this one (29, note 2: 한 일 → 한닐, 옷 입다 →
         * 온닙따, 먹을 엿 → 머글렫; 있- takes its final's representative instead: rule 15) */
        if (w[i - 1].space) {
            if (iy && !real_morpheme(&w[i]))
                w[i].l = I_N;
            continue;
        }
        if (w[i].lex == LEX_N_INSERT || (w[i - 1].lex == LEX_SAI && iy)) {
            w[i].l = I_N;
            continue;
        }
        for (size_t p = 0; p < sizeof parts / sizeof *parts; p++) {
            const int k = matches(w, n, i, parts[p]);
            if (k && word_end_after(w, n, i, k)) {
                w[i].l = I_N;
                break;
            }
        }
    }
}

/* Rule 15: a compound's last part beginning with a vowel takes the previous final's
 * representative (겉옷 → 거돋, 헛웃음 → 허두슴, 값어치 → 가버치), as 있 and 없 do */
static int vowel_part(const syl *w, int n, int i)
{
    static const unsigned parts[][4] = {{0xC637 /* 옷 */}, {0xC6C3, 0xC74C /* 웃음 */}, {0xC5B4, 0xCE58 /* 어치 */},
                                        {0xC5B4, 0xBBF8 /* 어미 */}};
    for (size_t p = 0; p < sizeof parts / sizeof *parts; p++) {
        const int k = matches(w, n, i, parts[p]);
        if (k && word_end_after(w, n, i, k))
            return 1;
    }
    return 0;
}


/* letter names (rule 16): 디귿이 → 디그시, 키읔을 → 키으글 ... */
static int letter_name_final(const syl *a, const syl *prev)
{
    if (!prev || a->v != 18 || (a->orig_l != I_O && !(a->orig_l == I_G && a->orig_t == F_D)))
        return -1;
    static const struct { int prev_l, prev_v, t, said; } names[] = {
        {I_D, 20, F_D, I_S}, {I_J, 20, F_J, I_S}, {I_CH, 20, F_CH, I_S}, {I_K, 20, F_K, I_G},
        {I_T, 20, F_T, I_S}, {I_P, 20, F_P, I_B}, {I_H, 20, F_H, I_S}};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (prev->orig_l == names[i].prev_l && prev->v == names[i].prev_v && prev->orig_t == F_NONE &&
            a->orig_t == names[i].t)
            return names[i].said;
    return -1;
}

static void rule_liaison(syl *a, syl *b, int part)
{
    if (b->l != I_O || a->t == F_NONE || a->t == F_NG)
        return;
    if (a->space || real_morpheme(b) || part)
        a->t = neutral(a, NULL);
    if (a->t == F_NONE || a->t == F_NG)
        return;
    int stay, move;
    split_final(a->t, &stay, &move);
    if (move < 0) /* ㅎ: dropped in rule 1 */
        return;
    a->t = stay;
    b->l = move;
}

/* a syllable that is an ending after a verb stem in ㄹ (알다, 살지, 놀자, 만들던): no rule 26 */
static int stem_ending(const syl *b)
{
    static const unsigned e[] = {0xB2E4 /* 다 */, 0xC9C0 /* 지 */, 0xC790 /* 자 */, 0xB358 /* 던 */,
                                 0xB354 /* 더 */, 0xB4E0 /* 든 */, 0xC8E0 /* 죠 */, 0xC796 /* 잖 */,
                                 0xB418 /* 되 */, 0xB3FC /* 돼 */, 0xB410 /* 됐 */, 0xB429 /* 됩 */,
                                 0xB41C /* 된 */, 0xB420 /* 될 */};
    for (size_t i = 0; i < sizeof e / sizeof *e; i++)
        if (orig_cp(b) == (int)e[i])
            return 1;
    return 0;
}

/* a bound noun after an adnominal -ㄹ (rule 27: 할 것을 → 할 꺼슬, 갈 데가 → 갈 떼가); after 을
 * (also the object particle) only the ones a particle is rarely followed by */
static int bound_noun(const syl *a, const syl *b)
{
    static const unsigned any[] = {0xAC83 /* 것 */, 0xAC70 /* 거 */, 0xC218 /* 수 */, 0xC904 /* 줄 */, 0xB4EF /* 듯 */,
                                   0xB370 /* 데 */, 0xC801 /* 적 */, 0xBC14 /* 바 */, 0xACF3 /* 곳 */, 0xBC95 /* 법 */,
                                   0xC131 /* 성 */, 0xAC78 /* 걸 */, 0xAC8C /* 게 */, 0xAC74 /* 건 */};
    const int after_eul = orig_cp(a) == 0xC744, n = after_eul ? 5 : (int)(sizeof any / sizeof *any);
    if (orig_cp(a) == 0xB97C) /* 를: a particle only */
        return 0;
    for (int i = 0; i < n; i++)
        if (orig_cp(b) == (int)any[i])
            return 1;
    return 0;
}

/* the nouns 앎 and 삶 before a particle in ㄷ ㄱ keep it lenis (앎도 → 암도; the verbs tense it: 삶고 → 삼꼬) */
static int noun_lm(const syl *a, const syl *b)
{
    return (orig_cp(a) == 0xC54E /* 앎 */ || orig_cp(a) == 0xC0B6 /* 삶 */) &&
           (orig_cp(b) == 0xB3C4 /* 도 */ || orig_cp(b) == 0xACFC /* 과 */);
}

/* one-syllable words that are a verb's adnominal -ㄹ form (할 도리 → 할 또리, 올 사람 → 올 싸람;
 * rule 27): 할 될 갈 볼 올 쓸 */
static int adnominal_l(const syl *a)
{
    static const unsigned f[] = {0xD560, 0xB420, 0xAC08, 0xBCFC, 0xC62C, 0xC4F8};
    for (size_t i = 0; i < sizeof f / sizeof *f; i++)
        if (orig_cp(a) == (int)f[i])
            return 1;
    return 0;
}

static void rule_tense(syl *a, syl *b, int word_start, int more)
{
    const int t = a->t;
    if (a->lex == LEX_SAI_SILENT && !a->space && t == F_S && b->l != I_O) {
        a->t = F_NONE;
        b->l = tense(b->l);
        return;
    }
    if (b->lex == LEX_TENSE || (a->lex == LEX_STEM && !a->space && (t == F_N || t == F_M))) {
        b->l = tense(b->l);
        return;
    }
    /* rule 24's note: the causative and passive -기- after ㄵ ㄻ stays lenis (굶기다, 옮기다) */
    if ((t == F_NJ || t == F_LM) && !a->space && orig_cp(b) == 0xAE30 /* 기 */ && more)
        return;
    if ((t == F_LM) && !a->space && noun_lm(a, b))
        return;
    if (is_k_class(t) || is_d_class(t) || is_b_class(t) || t == F_NJ || t == F_LM || t == F_LT) {
        b->l = tense(b->l);
        return;
    }
    if (t != F_L || a->orig_t != F_L)
        return;
    /* rule 26: ㄹ + ㄷ ㅅ ㅈ after a word's first syllable (Sino-Korean words: 갈등 → 갈뜽, 일시 →
     * 일씨, 몰상식 → 몰쌍식; further into a word it is as often a native compound's seam:
     * 겨울잠, 네발동물); not before a verb ending (알다, 살자, 강탈되다) nor in a doubled
     * syllable (절절하다) */
    if (!a->space && word_start && (b->l == I_D || b->l == I_S || b->l == I_J) && !stem_ending(b) &&
        orig_cp(a) != HANGUL_FIRST + (b->orig_l * 21 + b->v) * 28 + a->orig_t)
        b->l = tense(b->l);
    /* rule 27: after the adnominal -ㄹ of 하다 and 되다 (할걸 → 할껄, 할수록 → 할쑤록; not 할부),
     * and before a bound noun after any -ㄹ word */
    else if (!a->space && (orig_cp(a) == 0xD560 /* 할 */ || orig_cp(a) == 0xB420 /* 될 */) &&
             orig_cp(b) != 0xBD80 /* 부 */)
        b->l = tense(b->l);
    else if (a->space && (bound_noun(a, b) || (word_start && adnominal_l(a))))
        b->l = tense(b->l);
}

static int neutral(const syl *a, const syl *b)
{
    switch (a->t) {
    case F_G: case F_GG: case F_K: case F_GS: return F_G;
    case F_LG: { /* a verb stem's ㄺ before an ending in ㄱ (맑게, 묽고; not the nouns 닭 흙 칡: 닭고기) */
        const int noun = orig_cp(a) == 0xB2ED /* 닭 */ || orig_cp(a) == 0xD759 /* 흙 */ || orig_cp(a) == 0xCE61 /* 칡 */;
        return b && !a->space && !noun && b->orig_l == I_G && (b->v == 8 || b->v == 5 || b->v == 4 || b->v == V_I)
                   ? F_L
                   : F_G;
    }
    case F_N: case F_NJ: case F_NH: return F_N;
    case F_D: case F_S: case F_SS: case F_J: case F_CH: case F_T: case F_H: return F_D;
    case F_L: case F_LS: case F_LT: case F_LH: return F_L;
    case F_LB: {
        /* 밟- and 넓죽-, 넓둥- keep ㅂ */
        const int bal = a->orig_l == I_B && a->v == 0, neol = a->orig_l == I_N && a->v == 4 && b &&
                        ((b->orig_l == I_J && b->v == 13 && b->orig_t == F_G) ||
                         (b->orig_l == I_D && b->v == 13 && b->orig_t == F_NG));
        return bal || neol ? F_B : F_L;
    }
    case F_M: case F_LM: return F_M;
    case F_B: case F_P: case F_LP: case F_BS: return F_B;
    default: return a->t;
    }
}

static void rule_nasal(syl *a, syl *b)
{
    if (b->l == I_R) {
        if (a->t == F_M || a->t == F_NG || a->t == F_G || a->t == F_D || a->t == F_B)
            b->l = I_N;
    }
    if (b->l == I_N || b->l == I_M) {
        if (a->t == F_G)
            a->t = F_NG;
        else if (a->t == F_D)
            a->t = F_N;
        else if (a->t == F_B)
            a->t = F_M;
    }
}

static void rule_lateral(syl *a, syl *b)
{
    if (a->t == F_N && b->l == I_R && b->lex == LEX_NN)
        b->l = I_N;
    else if (a->t == F_N && b->l == I_R)
        a->t = F_L;
    else if (a->t == F_L && b->l == I_N)
        b->l = I_R;
}

static int lex_cmp(const void *key, const void *elem)
{
    return strcmp((const char *)key, ((const struct g2p_lex_entry *)elem)->word);
}


/* Verb and adjective stems ending in ㄴ or ㅁ, whose endings in ㄱ ㄷ ㅅ ㅈ are tensed (rule 24:
 * 신고 → 신꼬, 삼고 → 삼꼬, 더듬지 → 더듬찌). 안- (hug) only inside 껴안- and its kin: 안다 is
 * far more often 알다's "knows", said 안다. */
static const char *const STEMS[] = {"껴안", "끌어안", "부둥켜안", "부여안", "감", "남", "넘", "담", "삼", "숨",
                                    "심", "품", "뿜", "검", "신", "더듬", "다듬", "보듬", "쓰다듬", "머금", "서슴",
                                    "굼", "뛰어넘", "살아남", "내뿜", "되감", "몸담", "귀담"};
/* the first syllable of an ending there: 다 고 지 게 소 자 던 더 든 잖 죠 겠 기 */
static const unsigned STEM_ENDINGS[] = {0xB2E4, 0xACE0, 0xC9C0, 0xAC8C, 0xC18C, 0xC790, 0xB358,
                                        0xB354, 0xB4E0, 0xC796, 0xC8E0, 0xACA0, 0xAE30};
/* nouns (and a verb, 숨지다) spelled as a stem and such an ending (남자, 감기, 신고 "report" …):
 * said as written */
static const char *const STEM_NOUNS[] = {"감기", "감자", "감소", "감지", "남자", "담소", "신고", "신기", "신자",
                                         "심지", "심기", "검소", "검지", "숨소", "삼자", "남기", "넘기", "숨지"};

/* marks the seams of the word that starts at w[i] (to its end, w[e - 1]) that the lexicon knows */
static void mark_lexicon(syl *w, int i, int e)
{
    char key[G2P_LEXICON_MAX_SYLLABLES * 3 + 1]; /* the word's spelling, as far as a lexicon word goes */
    const int len = e - i < G2P_LEXICON_MAX_SYLLABLES ? e - i : G2P_LEXICON_MAX_SYLLABLES;
    for (int j = 0; j < len; j++)
        text_put3(key + 3 * j, (unsigned)orig_cp(&w[i + j]));
    for (int k = len; k >= 2; k--) { /* the longest compound the word starts with */
        const char cut = k < len ? key[3 * k] : 0;
        key[3 * k] = 0;
        const struct g2p_lex_entry *x =
            bsearch(key, G2P_LEXICON, sizeof G2P_LEXICON / sizeof *G2P_LEXICON, sizeof *G2P_LEXICON, lex_cmp);
        key[3 * k] = cut;
        if (!x)
            continue;
        for (int j = 0; j < x->n && j < 3; j++) {
            syl *s = &w[i + x->seam[j]];
            const int r = x->rule[j];
            if (r == 0 && s->orig_l == I_O && s[-1].orig_t != F_NONE)
                s->lex = LEX_N_INSERT;
            else if (r == 1 && s->orig_l == I_R && s[-1].orig_t == F_N)
                s->lex = LEX_NN;
            else if (r == 2 && s[-1].orig_t == F_S)
                s[-1].lex = LEX_SAI;
            else if (r == 3)
                s->lex = LEX_TENSE;
            else if (r == 4 && s[-1].orig_t == F_S)
                s[-1].lex = LEX_SAI_SILENT;
        }
        return;
    }
    for (size_t k = 0; k < sizeof STEM_NOUNS / sizeof *STEM_NOUNS; k++)
        if (strlen(STEM_NOUNS[k]) <= 3 * (size_t)len && !memcmp(key, STEM_NOUNS[k], strlen(STEM_NOUNS[k])))
            return;
    for (size_t k = 0; k < sizeof STEMS / sizeof *STEMS; k++) {
        const int m = (int)(strlen(STEMS[k]) / 3);
        if (i + m >= e || m > len || memcmp(key, STEMS[k], 3 * (size_t)m))
            continue;
        const unsigned b = (unsigned)orig_cp(&w[i + m]);
        int ending = 0;
        for (size_t j = 0; j < sizeof STEM_ENDINGS / sizeof *STEM_ENDINGS; j++)
            ending |= b == STEM_ENDINGS[j];
        /* 기 with more after it is the causative -기- (남기다, 감기다), said lenis */
        if (ending && !(b == 0xAE30 && i + m + 1 < e))
            w[i + m - 1].lex = LEX_STEM;
        return;
    }
}

static void pronounce_word(syl *w, int n)
{
    for (int i = 0, e; i < n; i = e) { /* each word of the phrase: its compound seams and stems */
        for (e = i; e < n && !w[e].space; e++)
            ;
        e = e < n ? e + 1 : n;
        mark_lexicon(w, i, e);
    }
    for (int i = 0; i < n; i++)
        if (w[i].v == V_UI && w[i].l != I_O)
            w[i].v = V_I;
    for (int i = 1; i + 1 < n; i++) {
        const int said = w[i + 1].l == I_O && !w[i].space ? letter_name_final(&w[i], &w[i - 1]) : -1;
        if (said >= 0)
            w[i].t = F_NONE, w[i + 1].l = said;
    }
    for (int i = 0; i + 1 < n; i++)
        rule_h(&w[i], &w[i + 1]);
    rule_n_insert(w, n); /* before palatalization: a compound's seam (홑이불 → 혼니불, not 호치불) */
    for (int i = 0; i + 1 < n; i++)
        rule_palatal(&w[i], &w[i + 1]);
    for (int i = 0; i + 1 < n; i++)
        rule_liaison(&w[i], &w[i + 1], !w[i].space && (w[i].lex == LEX_SAI || vowel_part(w, n, i + 1)));
    for (int i = 0; i + 1 < n; i++)
        rule_tense(&w[i], &w[i + 1], i == 0 || w[i - 1].space, i + 2 < n && !w[i + 1].space);
    for (int i = 0; i < n; i++)
        w[i].t = neutral(&w[i], i + 1 < n ? &w[i + 1] : NULL);
    for (int i = 0; i + 1 < n; i++)
        rule_nasal(&w[i], &w[i + 1]);
    for (int i = 0; i + 1 < n; i++)
        rule_lateral(&w[i], &w[i + 1]);
    for (int i = 0; i < n; i++) /* rule 5: 져 쪄 쳐 are said 저 쩌 처 (가져 → 가저) */
        if ((w[i].l == I_J || w[i].l == I_JJ || w[i].l == I_CH) && w[i].v == 6)
            w[i].v = 4;
}


enum { WORD_MAX = 256 }; /* a longer run of syllables is taken in pieces of this many */

sori_status sori_g2p(const char *text, size_t len, char *out, size_t cap, size_t *out_len, sori_error *err)
{
    if ((!text && len) || !out || !out_len)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "g2p: NULL argument");
    *out_len = 0;
    if (cap < len + 1)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "g2p: %zu bytes do not fit a buffer of %zu", len, cap);
    const unsigned char *s = (const unsigned char *)text;
    syl w[WORD_MAX];
    size_t at[WORD_MAX];
    int n = 0;
    for (size_t i = 0;;) {
        unsigned cp = 0;
        const int k = i < len ? text_utf8_next(s + i, len - i, &cp) : 0;
        if (i < len && k == 0) {
            out[0] = 0;
            return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "g2p: invalid UTF-8 at byte %zu", i);
        }
        const int hangul = k && cp >= HANGUL_FIRST && cp <= HANGUL_LAST;
        if (n > 0 && cp == ' ' && k == 1 && i + 4 <= len && !w[n - 1].space) {
            /* one space between syllables: the same phrase, said together */
            unsigned nx = 0;
            if (text_utf8_next(s + i + 1, len - i - 1, &nx) == 3 && nx >= HANGUL_FIRST && nx <= HANGUL_LAST) {
                w[n - 1].space = 1;
                out[i++] = ' ';
                continue;
            }
        }
        if (n > 0 && (!hangul || n == WORD_MAX)) { /* a word (or a piece of a very long one) ends */
            pronounce_word(w, n);
            for (int j = 0; j < n; j++) {
                text_put3(out + at[j], (unsigned)syllable(w[j].l, w[j].v, w[j].t));
            }
            n = 0;
        }
        if (i >= len)
            break;
        if (hangul) {
            const int x = (int)(cp - HANGUL_FIRST);
            w[n] = (syl){x / 588, (x % 588) / 28, x % 28, x / 588, x % 28, 0, LEX_NONE};
            at[n++] = i;
        } else {
            memcpy(out + i, s + i, (size_t)k);
        }
        i += (size_t)k;
    }
    out[len] = 0;
    *out_len = len;
    return SORI_OK;
}
