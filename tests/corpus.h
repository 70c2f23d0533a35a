/* Lines of the shared Korean corpus (../shared/data/text/ko_corpus.tsv.xz,
 * read through `xz -dc`; never copied into the repository) for tests that
 * compare tokenizers on it. */
#ifndef SORI_TESTS_CORPUS_H
#define SORI_TESTS_CORPUS_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Reads on from the pipe p to line `want` (0-based after the header; *at
 * is the next line's number, -1 before the header) and copies its text
 * column into buf. Lines can be long (one is 198 kB). 0 at the end. */
static int corpus_line(FILE *p, int64_t *at, int64_t want, char *buf, size_t cap)
{
    static char *line;
    static size_t line_cap;
    while (getline(&line, &line_cap, p) > 0) {
        const int64_t i = (*at)++;
        if (i != want)
            continue;
        size_t n = strlen(line);
        if (n && line[n - 1] == '\n')
            line[--n] = 0;
        const char *t = strchr(line, '\t');
        t = t ? strchr(t + 1, '\t') : NULL;
        if (!t)
            return 0;
        snprintf(buf, cap, "%s", t + 1);
        return 1;
    }
    return 0;
}

#endif
