/* Character error rate of transcripts against their references, for the
 * bundled-model test. Reads lines "REFERENCE<TAB>HYPOTHESIS" (UTF-8) on
 * standard input; spaces and punctuation do not count (Hangul syllables,
 * letters and digits do). Prints each line's CER and the total, and exits 1
 * if the total CER is above --max-cer or fewer than --min-exact lines match
 * exactly (after removing spaces).
 *   cer_check --max-cer 0.25 --min-exact 1 < pairs.tsv */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* code points of s that count (not spaces or ASCII punctuation) */
static int decode(const char *s, uint32_t *out, int cap)
{
    int n = 0;
    const unsigned char *p = (const unsigned char *)s;
    while (*p && n < cap) {
        uint32_t c;
        int len;
        if (*p < 0x80) {
            c = *p, len = 1;
        } else if ((*p & 0xE0) == 0xC0) {
            c = *p & 0x1F, len = 2;
        } else if ((*p & 0xF0) == 0xE0) {
            c = *p & 0x0F, len = 3;
        } else {
            c = *p & 0x07, len = 4;
        }
        for (int i = 1; i < len; i++) {
            if ((p[i] & 0xC0) != 0x80) { /* broken UTF-8: count the byte as one character */
                len = 1;
                c = 0xFFFD;
                break;
            }
            c = (c << 6) | (p[i] & 0x3F);
        }
        p += len;
        if (c < 0x80 && !((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')))
            continue;
        out[n++] = c;
    }
    return n;
}

static int edit_distance(const uint32_t *a, int na, const uint32_t *b, int nb)
{
    int *row = malloc((size_t)(nb + 1) * sizeof(int));
    for (int j = 0; j <= nb; j++)
        row[j] = j;
    for (int i = 1; i <= na; i++) {
        int diag = row[0];
        row[0] = i;
        for (int j = 1; j <= nb; j++) {
            int up = row[j], best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            diag = up;
            row[j] = best;
        }
    }
    int d = row[nb];
    free(row);
    return d;
}

int main(int argc, char **argv)
{
    double max_cer = 0.0;
    int min_exact = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--max-cer") == 0)
            max_cer = atof(argv[i + 1]);
        else if (strcmp(argv[i], "--min-exact") == 0)
            min_exact = atoi(argv[i + 1]);
        else {
            fprintf(stderr, "cer_check: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    static char line[8192];
    static uint32_t ref[4096], hyp[4096];
    long errs = 0, chars = 0;
    int lines = 0, exact = 0;
    while (fgets(line, sizeof line, stdin)) {
        line[strcspn(line, "\r\n")] = '\0';
        char *tab = strchr(line, '\t');
        if (!tab)
            continue;
        *tab = '\0';
        int nr = decode(line, ref, 4096), nh = decode(tab + 1, hyp, 4096);
        int d = edit_distance(ref, nr, hyp, nh);
        errs += d;
        chars += nr;
        lines++;
        exact += d == 0;
        printf("  CER %5.1f%%  %s | %s\n", nr ? 100.0 * d / nr : 0.0, line, tab + 1);
    }
    double cer = chars ? (double)errs / (double)chars : 1.0;
    printf("total CER %.1f%% over %d lines, %d exact (allowed: CER <= %.1f%%, >= %d exact)\n", 100.0 * cer, lines,
           exact, 100.0 * max_cer, min_exact);
    return lines > 0 && cer <= max_cer && exact >= min_exact ? 0 : 1;
}
