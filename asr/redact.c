/* Personal-data masking of recognition results (sori/asr.h over
 * sori/text.h): the text masked, the words that said each span merged into
 * one word (the mask) that keeps their times, and the spans' times. */
#include "asr_impl.h"
#include "sori/text.h"

/* text masked in place (a new string); spans into sp (cap), count into *ns */
static sori_status mask_text(char **text, bool partial, sori_pii_span *sp, int cap, int *ns, sori_error *err)
{
    *ns = 0;
    if (!*text || !**text)
        return SORI_OK;
    const size_t len = strlen(*text), cap_b = 8 * len + 64;
    char *masked = malloc(cap_b);
    size_t n = 0;
    if (!masked)
        return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "asr: out of memory");
    sori_status st = sori_redact(*text, len, partial, masked, cap_b, &n, sp, cap, ns, err);
    if (st != SORI_OK || *ns == 0) {
        free(masked);
        return st;
    }
    free(*text);
    *text = masked;
    return SORI_OK;
}

sori_status sori_asr_result_redact(sori_asr_result *r, int partial, sori_asr_redaction *out, int cap, int *n,
                                   sori_error *err)
{
    if (!r || !n || cap < 0 || (cap > 0 && !out))
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "asr redact: NULL argument");
    *n = 0;
    enum { MAX_SPANS = 256 };
    sori_pii_span sp[MAX_SPANS];
    int ns = 0;
    /* the spans of the text as it is, for the words */
    if (r->text && r->text[0]) {
        sori_status st = sori_redact_find(r->text, strlen(r->text), partial != 0, sp, MAX_SPANS, &ns, err);
        if (st != SORI_OK)
            return st;
    }
    if (ns > cap)
        return sori_fail(err, SORI_ERR_INVALID_ARG, 0, "asr redact: %d spans, room for %d", ns, cap);
    for (int s = 0; s < ns; s++)
        out[s] = (sori_asr_redaction){(int)sp[s].kind, -1, -1};
    /* each word's place in the text (words come in order); map: where each word index lands,
     * for the segments' word ranges */
    int *map = malloc(((size_t)r->n_words + 1) * sizeof *map);
    if (!map)
        return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "asr: out of memory");
    size_t at = 0;
    int keep = 0;
    for (int w = 0; w < r->n_words; w++) {
        map[w] = keep;
        sori_asr_word *wd = &r->words[w];
        const char *p = ns && wd->text && wd->text[0] ? strstr(r->text + at, wd->text) : NULL;
        int hit = -1;
        if (p) {
            const size_t a = (size_t)(p - r->text), b = a + strlen(wd->text);
            at = b;
            for (int s = 0; s < ns && hit < 0; s++)
                if (a < sp[s].end && b > sp[s].begin)
                    hit = s;
        }
        if (hit < 0) {
            r->words[keep++] = *wd;
            continue;
        }
        sori_asr_redaction *x = &out[hit];
        if (x->start_s < 0) { /* the first word of the span becomes the mask */
            char *m = strdup(sori_pii_mask((sori_pii_kind)x->kind));
            if (!m) {
                for (int k = w; k < r->n_words; k++) /* the rest kept as they are */
                    r->words[keep++] = r->words[k];
                r->n_words = keep;
                free(map);
                return sori_fail(err, SORI_ERR_NO_MEMORY, 0, "asr: out of memory");
            }
            x->start_s = wd->start_s;
            x->end_s = wd->end_s;
            free(wd->text);
            wd->text = m;
            r->words[keep++] = *wd;
        } else {
            x->end_s = wd->end_s;
            r->words[keep - 1].end_s = wd->end_s;
            free(wd->text);
        }
    }
    map[r->n_words] = keep;
    for (int g = 0; g < r->n_segments; g++) {
        sori_asr_segment *sg = &r->segments[g];
        const int a = sg->first_word, b = a + sg->n_words;
        if (a >= 0 && sg->n_words >= 0 && b <= r->n_words)
            sg->first_word = map[a], sg->n_words = map[b] - map[a];
    }
    free(map);
    r->n_words = keep;
    for (int s = 0; s < ns; s++)
        if (out[s].start_s < 0) {
            out[s].start_s = r->n_words ? r->words[0].start_s : 0.0;
            out[s].end_s = r->n_words ? r->words[r->n_words - 1].end_s : r->duration_s;
        }
    int dummy = 0;
    sori_status st = mask_text(&r->text, partial != 0, sp, MAX_SPANS, &dummy, err);
    for (int g = 0; st == SORI_OK && g < r->n_segments; g++) {
        st = mask_text(&r->segments[g].text, partial != 0, sp, MAX_SPANS, &dummy, err);
        for (int k = 0; st == SORI_OK && k < r->segments[g].n_nbest; k++)
            st = mask_text(&r->segments[g].nbest_text[k], partial != 0, sp, MAX_SPANS, &dummy, err);
    }
    if (st == SORI_OK)
        *n = ns;
    return st;
}
