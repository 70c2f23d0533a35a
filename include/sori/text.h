/*
 * sori/text.h — the Korean text layer (docs/text.md): written text to
 * spoken Hangul (TN, for speech synthesis and spoken-text corpora), spoken
 * numbers to written form (ITN, for transcripts), standard pronunciation
 * (G2P: Hangul spelling to Hangul as it is said, by 표준발음법), personal-
 * data masking, and abusive-speech detection. No allocation per call; the
 * functions are pure (the moderator's model is loaded once and shared).
 *
 *     char out[256]; size_t n;
 *     sori_g2p("같이 먹었습니다", strlen(...), out, sizeof out, &n, &err);  // "가치 머걷씀니다"
 */
#ifndef SORI_TEXT_H
#define SORI_TEXT_H

#include <stdbool.h>
#include <stddef.h>

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Korean as said (Hangul, e.g. sori_g2p's output) in IPA, in the symbols
 * of the Kokoro voice's vocabulary: lenis stops voiced between voiced
 * sounds (ɡ d b ʥ), aspirated ones with ʰ, tense ones as ʔ + the plain
 * consonant after a voiced sound, ɕ ç ɲ before i and j, ㄹ as ɾ (onset) or
 * l (coda, and after a coda ㄹ), the seven coda sounds, ㅐ ㅔ as e, ㅚ as we,
 * ㅢ as ɰi word-initially and i after a consonant (docs/tts-kokoro.md has
 * the table and its reasons). Punctuation . , ? ! ; : … — is kept, white
 * space runs become one space, anything else (digits, Latin letters: run
 * sori_tn first) is left out. The output is at most 3 bytes per input
 * byte; out gets it and a NUL (*out_len: its length; too small:
 * SORI_ERR_INVALID_ARG, as is invalid UTF-8). Thread-safe; no allocation. */
SORI_API sori_status sori_ko_ipa(const char *text, size_t len, char *out, size_t cap, size_t *out_len,
                                 sori_error *err);

/* Korean in uroman's romanization (isi-nlp/uroman 1.3, what Meta's
 * MMS-TTS voices read): each Hangul syllable as its initial, vowel and
 * final by fixed tables, with no sound changes (한국어 → hangugeo, 꽃잎 →
 * ggocip), compatibility jamo by uroman's own table (ㅋ → kh); everything
 * else is copied (run sori_tn first for digits and Hanja, which uroman
 * would read as Chinese). At most 3 output bytes per input byte; out gets
 * it and a NUL (too small, or invalid UTF-8: SORI_ERR_INVALID_ARG).
 * Thread-safe; no allocation. */
SORI_API sori_status sori_ko_uroman(const char *text, size_t len, char *out, size_t cap, size_t *out_len,
                                    sori_error *err);

/* The standard pronunciation of text (UTF-8, len bytes) in Hangul: every
 * Hangul syllable becomes the syllable said there, everything else is
 * copied. The rules apply inside a word (a run of Hangul syllables; a
 * space or any other character ends it): ㅎ aspiration and deletion,
 * palatalization, liaison (double finals split), tensification, final
 * neutralization, nasalization, lateralization, ㅢ after a consonant, 져 →
 * 저; and, by heuristics without a morphological analysis, ㄴ insertion
 * before a short list of compound parts, ㄹ + ㄷ ㅅ ㅈ tensification inside
 * words, tensification after the adnominal -ㄹ. What that misses (사이시옷
 * compounds, most ㄴ insertion, 신고 the verb vs the noun) is listed in
 * docs/text.md. The output has the same
 * length as the input; out gets it and a NUL (cap >= len + 1, else
 * SORI_ERR_INVALID_ARG). Invalid UTF-8: SORI_ERR_INVALID_ARG with its
 * byte offset. */
SORI_API sori_status sori_g2p(const char *text, size_t len, char *out, size_t cap, size_t *out_len, sori_error *err);

/* ---- written text to spoken Hangul (text normalization) ---------------------------
 *
 * What a speaker says for digits, signs and Latin letters, in Hangul: cardinals (123000012
 * → 일억이천삼백만십이), decimals, fractions (1과1/2 → 일과 이분의 일), money (₩2,000 →
 * 이천원, US$ 5 → 오 달러), dates (2024/01/30 → 이천이십사년 일월 삼십일, 6월 → 유월),
 * times (오후 3:30 → 오후 세시 삼십분), native numerals before counters (3개 → 세개, 1번째
 * → 첫번째), measures (60km/h → 육십 킬로미터 퍼 시간), telephone and card numbers digit
 * by digit, e-mail addresses, domains and file names (a@b.co.kr → a 골뱅이 b 닷 씨오 닷
 * 케이알), upper-case abbreviations spelled (KTX → 케이티엑스). A particle after a number
 * is fitted to the reading (4/7이 → 칠분의 사가). Everything else is copied. docs/text.md
 * lists the rules. The output is at most 16 bytes per input byte plus 64; out gets it and a
 * NUL (*out_len: its length; too small: SORI_ERR_INVALID_ARG, as is invalid UTF-8). */

enum {
    /* zeros read one by one (telephone, card and account numbers, digits after a letter)
     * as 영 — NeMo's convention — instead of 공, what Korean speakers say */
    SORI_TN_ZERO_YEONG = 1u << 0,
};

SORI_API sori_status sori_tn(const char *text, size_t len, unsigned flags, char *out, size_t cap, size_t *out_len,
                             sori_error *err);

/* ---- spoken numbers to written form (inverse text normalization) ------------------
 *
 * Numbers in a transcript as people write them, in NeMo's Korean forms: Sino-Korean
 * cardinals (삼만오천칠백 → 35700, 마이너스 일 → -1), decimals (일점영삼 → 1.03, 일점오억 →
 * 1.5억), money (오천 원 → ₩5000, 십오 달러 → $15), telephone numbers read digit by digit
 * (공일공 일이삼사 오육칠팔 → 010-1234-5678), dates (이천이십삼년 구월 오일 → 2023년9월5일),
 * times (오후 네시 반 → 오후 4:30, 두시십분후 → 2:10 후), ordinals (첫번째 → 1번째, 스물두번째
 * → 22번째), measures (오 킬로미터 → 5 km, 영하 십 도 → -10 °, 오십 프로 → 50 %) and
 * fractions (삼분의 일 → 1/3, 일과이분의일 → 1 1/2, 루트사분의일 → 1/√4). A particle after
 * them stays (세시에 → 3:00에). Inside a sentence only what cannot be an ordinary word is
 * converted: 일이 "work + particle", a lone 오, 두시간, 한시도, 이월 "carried over", 팔도,
 * 이 프로 "this show" stay; the whole text is read as freely as NeMo's test cases are
 * (text/itn.c lists the rules). Native numerals standing alone (하나, 둘) are left. The
 * output is at most 2 × len + 63 bytes; out gets it and a NUL (*out_len: its length; too
 * small: SORI_ERR_INVALID_ARG, as is invalid UTF-8). Thread-safe; no allocation. */
SORI_API sori_status sori_itn(const char *text, size_t len, char *out, size_t cap, size_t *out_len, sori_error *err);

/* Options of sori_itn_with (sori_itn is it with 0: NeMo's written forms) */
enum {
    SORI_ITN_CURRENCY_WORD = 1u << 0, /* 35000원, 15달러 (as Korean text writes money) instead of ₩35000, $15 */
    SORI_ITN_THOUSANDS = 1u << 1,     /* 35,000: cardinals, money and decimals from 1,000 grouped by commas */
    /* classes left as spoken */
    SORI_ITN_KEEP_CARDINAL = 1u << 2, /* numbers without a currency (decimals too) */
    SORI_ITN_KEEP_MONEY = 1u << 3,
    SORI_ITN_KEEP_PHONE = 1u << 4,
    SORI_ITN_KEEP_DATE = 1u << 5,
    SORI_ITN_KEEP_TIME = 1u << 6,
    SORI_ITN_KEEP_ORDINAL = 1u << 7,
    SORI_ITN_KEEP_FRACTION = 1u << 8,
    SORI_ITN_KEEP_MEASURE = 1u << 9,
};

/* sori_itn with options (SORI_ITN_*): "요금은 삼만 오천 원이에요" gives "요금은 ₩35000이에요" by
 * default, "요금은 35,000원이에요" with SORI_ITN_CURRENCY_WORD | SORI_ITN_THOUSANDS. */
SORI_API sori_status sori_itn_with(const char *text, size_t len, unsigned flags, char *out, size_t cap,
                                   size_t *out_len, sori_error *err);
/* Options from a comma-separated list of names: currency-word, thousands, korean (both),
 * keep-cardinal, keep-money, keep-phone, keep-date, keep-time, keep-ordinal, keep-fraction,
 * keep-measure (as the CLI's --itn-options takes them); an unknown name: SORI_ERR_INVALID_ARG
 * naming it. */
SORI_API sori_status sori_itn_parse_options(const char *list, unsigned *flags, sori_error *err);

/* ---- personal-data masking --------------------------------------------------------
 *
 * Resident registration, card, phone and account numbers, written in digits
 * or read out digit by digit (공일공 일이삼사 …), and e-mail addresses;
 * text/redact.c says how each is recognized. Prices, dates, counts and
 * years are left. */

typedef enum sori_pii_kind {
    SORI_PII_NONE = 0,
    SORI_PII_RRN,     /* 주민등록번호 */
    SORI_PII_CARD,    /* a card number (Luhn) */
    SORI_PII_PHONE,
    SORI_PII_ACCOUNT, /* a bank account (digits near a bank word) */
    SORI_PII_EMAIL,
    SORI_PII_DIGITS,  /* partial mode: 3+ digits that may still become one of the above */
} sori_pii_kind;

typedef struct sori_pii_span {
    sori_pii_kind kind;
    size_t begin, end; /* bytes of the input */
} sori_pii_span;

/* "rrn", "card", "phone", "account", "email", "digits", "none" */
SORI_API const char *sori_pii_name(sori_pii_kind kind);
/* What a span becomes in masked text: "[전화번호]", "[주민등록번호]", "[카드번호]",
 * "[계좌번호]", "[이메일]", "[숫자]" */
SORI_API const char *sori_pii_mask(sori_pii_kind kind);

/* The personal data in text (UTF-8, len bytes): spans in order, not
 * overlapping, at most cap written (*n_spans gets the count; more than cap:
 * SORI_ERR_INVALID_ARG). partial: streaming text that may still grow:
 * every run of 3 or more digits is masked too (a partial never shows
 * digits a later final masks). Invalid UTF-8: SORI_ERR_INVALID_ARG. */
SORI_API sori_status sori_redact_find(const char *text, size_t len, bool partial, sori_pii_span *spans, int cap,
                                      int *n_spans, sori_error *err);

/* The text with each span replaced by its category ([전화번호],
 * [주민등록번호], [카드번호], [계좌번호], [이메일], [숫자]); out gets it and a
 * NUL (*out_len: its length; too small: SORI_ERR_INVALID_ARG), spans as
 * sori_redact_find gives them. */
SORI_API sori_status sori_redact(const char *text, size_t len, bool partial, char *out, size_t cap, size_t *out_len,
                                 sori_pii_span *spans, int span_cap, int *n_spans, sori_error *err);

/* ---- abusive speech ---------------------------------------------------------------
 *
 * A small classifier (hashed character n-grams, one logistic regression per
 * category: profanity, insults, threats, hate) that scores one utterance in
 * microseconds. The model is a GGUF file (data/ko-moderate.gguf, trained by
 * tools/moderate/; docs/text.md "Abusive speech" defines its features and
 * lists its measured scores).
 *
 *     sori_moderator *m = NULL;
 *     if (sori_moderator_load("data/ko-moderate.gguf", &m, &err) != SORI_OK) ...
 *     sori_moderation r;
 *     if (sori_moderate(m, text, strlen(text), &r, &err) == SORI_OK)
 *         printf("%s\t%.3f\n", sori_abuse_name(r.label), r.score);   // "insult	0.912"
 *     sori_moderator_free(m);
 */

typedef enum sori_abuse_kind {
    SORI_ABUSE_NONE = 0,  /* "ok" */
    SORI_ABUSE_PROFANITY, /* swear words (씨발, 존나 …), aimed at no one in particular */
    SORI_ABUSE_INSULT,    /* abuse aimed at a person */
    SORI_ABUSE_THREAT,    /* a threat of harm (죽여버린다, 찾아간다 …) */
    SORI_ABUSE_HATE,      /* hate against a group (gender, region, origin, religion, age …) */
} sori_abuse_kind;

#define SORI_ABUSE_N_KINDS 5

typedef struct sori_moderation {
    /* The most severe category whose score reaches the model's threshold for
     * it (severity: threat, hate, insult, profanity), else SORI_ABUSE_NONE. */
    sori_abuse_kind label;
    /* The label's score; for SORI_ABUSE_NONE, the highest category score
     * (how near the text came to being flagged). */
    float score;
    /* Every category's score in [0, 1], indexed by sori_abuse_kind;
     * scores[SORI_ABUSE_NONE] is 1 - the highest of the others. The
     * categories are independent (a text can score high on several). */
    float scores[SORI_ABUSE_N_KINDS];
} sori_moderation;

typedef struct sori_moderator sori_moderator;

/* "ok", "profanity", "insult", "threat", "hate"; NULL for a value out of range. */
SORI_API const char *sori_abuse_name(sori_abuse_kind kind);

/* Loads a moderation model (GGUF, general.architecture "sori.moderate").
 * Every key and tensor is checked: a missing, mistyped or absurd one gives
 * SORI_ERR_FORMAT naming it (SORI_ERR_UNSUPPORTED: another architecture or
 * feature hash; SORI_ERR_IO: the file cannot be read). The weights are
 * copied: nothing refers to the file afterwards. The loaded model is
 * immutable: any number of threads may call sori_moderate on it at once. */
SORI_API sori_status sori_moderator_load(const char *path, sori_moderator **out, sori_error *err);
/* The same from a caller buffer (size bytes), which need not outlive the call. */
SORI_API sori_status sori_moderator_load_memory(const void *data, size_t size, sori_moderator **out,
                                                sori_error *err);
/* NULL is a no-op. */
SORI_API void sori_moderator_free(sori_moderator *m);

/* The threshold a category's score must reach to be the label (from the
 * model file); -1 for SORI_ABUSE_NONE or a value out of range. */
SORI_API float sori_moderator_threshold(const sori_moderator *m, sori_abuse_kind kind);

/* Scores one utterance (UTF-8, len bytes, any length; len 0 is allowed and
 * scores the empty text). Allocates nothing, takes no lock: time is linear
 * in len (a few hundred nanoseconds per character). Invalid UTF-8:
 * SORI_ERR_INVALID_ARG naming the byte offset, *out untouched; NULL m or
 * out, or NULL text with len > 0: SORI_ERR_INVALID_ARG. */
SORI_API sori_status sori_moderate(const sori_moderator *m, const char *text, size_t len, sori_moderation *out,
                                   sori_error *err);

#ifdef __cplusplus
}
#endif

#endif
