/* Tab-separated fixture lines whose fields are escaped as tools/ scripts
 * write them (\\ \n \t), split and unescaped in place. */
#ifndef SORI_TESTS_TSV_H
#define SORI_TESTS_TSV_H

#include <string.h>

/* Splits line (its newline dropped) at tabs into at most cap fields,
 * unescaping each; returns the field count. */
static int tsv_fields(char *line, char **f, int cap)
{
    size_t n = strlen(line);
    if (n && line[n - 1] == '\n')
        line[--n] = 0;
    int k = 0;
    char *p = line;
    while (k < cap) {
        f[k++] = p;
        char *w = p;
        for (; *p && *p != '\t'; p++) {
            if (*p == '\\' && p[1]) {
                p++;
                *w++ = *p == 'n' ? '\n' : *p == 't' ? '\t' : *p;
            } else {
                *w++ = *p;
            }
        }
        const int more = *p == '\t';
        *w = 0;
        if (!more)
            break;
        p++;
    }
    return k;
}

#endif
