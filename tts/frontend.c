/* Text → a voice's token ids (sori_tts_text_to_ids, sori/tts.h): the
 * front end each voice family needs. Kokoro reads IPA: the text goes
 * through the text layer (sori_tn: digits and symbols said in Hangul;
 * sori_g2p: Hangul as it is pronounced; sori_ko_ipa: Kokoro's symbols).
 * VITS voices read characters (MMS-TTS: romanized by uroman first where the
 * tokenizer says is_uroman, as MMS's Korean voice is, then lower-cased where
 * it says normalize) or, where the file says phonemes = ko-ipa (Korean
 * Piper voices), the same IPA as Kokoro. All then take
 * the longest vocabulary entry at each place; Piper's framing (BOS, a pad
 * after each id, EOS) is the blank of add_blank inside bos_id … eos_id. */
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"
#include "kokoro.h"
#include "sori/text.h"
#include "text/text_util.h"
#include "vits.h"

/* s[0, n) → ids by the longest of the n_vocab entries at each byte (blank: id 0 between tokens
 * and at both ends, never matched itself); what no entry starts with is skipped (one UTF-8
 * character; spaces are not counted). Returns how many ids there would be; writes at most cap. */
static int longest_match(const char *const *vocab, int n_vocab, bool blank, const char *s, size_t n, int32_t *ids,
                         int cap, int *skipped, int32_t bos, int32_t eos)
{
    int k = 0;
    if (bos >= 0) {
        if (k < cap)
            ids[k] = bos;
        k++;
    }
    for (size_t i = 0; i < n;) {
        int32_t best = -1;
        size_t best_len = 0;
        for (int32_t id = blank ? 1 : 0; id < n_vocab; id++) {
            if (id == bos || id == eos)
                continue;
            const char *t = vocab[id];
            const size_t tl = t ? strlen(t) : 0;
            if (tl > best_len && tl <= n - i && !memcmp(s + i, t, tl))
                best = id, best_len = tl;
        }
        if (best < 0) {
            unsigned cp = 0;
            const int step = text_utf8_next((const unsigned char *)s + i, n - i, &cp);
            i += step > 0 ? (size_t)step : 1;
            *skipped += cp != ' ';
            continue;
        }
        if (blank) {
            if (k < cap)
                ids[k] = 0;
            k++;
        }
        if (k < cap)
            ids[k] = best;
        k++;
        i += best_len;
    }
    if (blank && k > (bos >= 0)) {
        if (k < cap)
            ids[k] = 0;
        k++;
    }
    if (k == (bos >= 0)) /* nothing to say: no framing either */
        return 0;
    if (eos >= 0) {
        if (k < cap)
            ids[k] = eos;
        k++;
    }
    return k;
}

/* text → uroman's romanization after TN (digits, Hanja in Hangul), lower-cased when asked; *rom is malloc'd */
static sori_status romanized(const char *text, size_t len, bool lower, char **rom, size_t *n, sori_error *err)
{
    const size_t c1 = 16 * len + 65, c2 = 3 * c1;
    char *tn = malloc(c1);
    *rom = malloc(c2);
    size_t a = 0;
    *n = 0;
    sori_status st = tn && *rom ? SORI_OK : sori_fail(err, SORI_ERR_NO_MEMORY, 0, "sori_tts_text_to_ids: out of memory");
    if (st == SORI_OK)
        st = sori_tn(text, len, 0, tn, c1, &a, err);
    if (st == SORI_OK)
        st = sori_ko_uroman(tn, a, *rom, c2, n, err);
    free(tn);
    if (st != SORI_OK) {
        free(*rom);
        *rom = NULL;
        return st;
    }
    for (size_t i = 0; lower && i < *n; i++)
        if ((*rom)[i] >= 'A' && (*rom)[i] <= 'Z')
            (*rom)[i] = (char)((*rom)[i] - 'A' + 'a');
    return SORI_OK;
}

/* text → Korean IPA through the text layer; *ipa is malloc'd */
static sori_status korean_ipa(const char *text, size_t len, char **ipa, size_t *n, sori_error *err)
{
    const size_t c1 = 16 * len + 65, c2 = 3 * c1;
    char *tn = malloc(c1), *pron = malloc(c1);
    *ipa = malloc(c2);
    size_t a = 0, b = 0;
    *n = 0;
    sori_status st = tn && pron && *ipa ? SORI_OK : sori_fail(err, SORI_ERR_NO_MEMORY, 0, "sori_tts_text_to_ids: out of memory");
    if (st == SORI_OK)
        st = sori_tn(text, len, 0, tn, c1, &a, err);
    if (st == SORI_OK)
        st = sori_g2p(tn, a, pron, c1, &b, err);
    if (st == SORI_OK)
        st = sori_ko_ipa(pron, b, *ipa, c2, n, err);
    free(tn);
    free(pron);
    if (st != SORI_OK) {
        free(*ipa);
        *ipa = NULL;
    }
    return st;
}

sori_status sori_tts_text_to_ids(const sori_tts_voice *voice, const char *text, size_t len, int32_t *ids, int cap,
                                 int *n_ids, int *skipped, sori_error *err)
{
    int dummy = 0;
    if (n_ids)
        *n_ids = 0;
    if (!skipped)
        skipped = &dummy;
    *skipped = 0;
    if (!voice || (!text && len) || (!ids && cap > 0) || cap < 0 || !n_ids)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0,
                         "sori_tts_text_to_ids: voice, text, ids (when cap > 0) and n_ids must be given");
    if (len > (1u << 24))
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "sori_tts_text_to_ids: %zu bytes (at most 16 MiB)", len);
    const size_t bad = text_utf8_check(text, len);
    if (bad < len)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "sori_tts_text_to_ids: invalid UTF-8 at byte %zu", bad);
    int k;
    if (voice->kokoro) {
        const kokoro_model *m = voice->kokoro;
        char *ipa;
        size_t c;
        sori_status st = korean_ipa(text, len, &ipa, &c, err);
        if (st != SORI_OK)
            return st;
        k = longest_match(m->vocab, m->n_token, false, ipa, c, ids, cap, skipped, -1, -1);
        free(ipa);
    } else {
        const vits_model *m = &voice->m;
        if (!m->vocab)
            return sori_fail(err, SORI_ERR_UNSUPPORTED, 0,
                             "sori_tts_text_to_ids: the voice file has no vocabulary (give token ids)");
        const char *const *vocab = (const char *const *)m->vocab;
        if (m->korean_ipa || m->uroman) {
            char *t;
            size_t c;
            sori_status st = m->korean_ipa ? korean_ipa(text, len, &t, &c, err)
                                           : romanized(text, len, m->lowercase, &t, &c, err);
            if (st != SORI_OK)
                return st;
            k = longest_match(vocab, m->n_vocab_text, m->add_blank, t, c, ids, cap, skipped, m->bos_id, m->eos_id);
            free(t);
        } else {
            k = longest_match(vocab, m->n_vocab_text, m->add_blank, text, len, ids, cap, skipped, m->bos_id, m->eos_id);
        }
    }
    *n_ids = k;
    if (k > cap)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "sori_tts_text_to_ids: %d ids, room for %d", k, cap);
    return SORI_OK;
}
