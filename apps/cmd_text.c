/* sori text: the Korean text layer from the command line.
 *   sori text g2p [TEXT]...
 *       the standard pronunciation of each TEXT, or of each line of standard
 *       input when none is given: one output line per input line (a line
 *       that cannot be read, e.g. invalid UTF-8, gives an empty line, an
 *       error on stderr and exit status 1) */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "sori/text.h"

static void text_usage(FILE *f)
{
    fprintf(f, "usage: sori text g2p [TEXT]...   (no TEXT: the lines of standard input)\n");
}

/* one line's pronunciation to stdout; 0 on success */
static int g2p_line(const char *line, size_t len, long lineno)
{
    static char *out;
    static size_t cap;
    if (cap < len + 1) {
        char *p = realloc(out, len + 1);
        if (!p) {
            fprintf(stderr, "sori text g2p: out of memory\n");
            return 1;
        }
        out = p, cap = len + 1;
    }
    size_t n = 0;
    sori_error err = {0};
    if (sori_g2p(line, len, out, cap, &n, &err) != SORI_OK) {
        fprintf(stderr, "sori text g2p: line %ld: %s\n", lineno, err.message);
        putchar('\n');
        return 1;
    }
    fwrite(out, 1, n, stdout);
    putchar('\n');
    return 0;
}

int cmd_text(int argc, char **argv)
{
    if (argc < 1 || strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0) {
        text_usage(argc < 1 ? stderr : stdout);
        return argc < 1 ? 2 : 0;
    }
    if (strcmp(argv[0], "g2p") != 0) {
        fprintf(stderr, "sori text: unknown subcommand '%s'\n", argv[0]);
        text_usage(stderr);
        return 2;
    }
    int bad = 0;
    if (argc > 1) {
        for (int i = 1; i < argc; i++)
            bad |= g2p_line(argv[i], strlen(argv[i]), i);
        return bad;
    }
    char *line = NULL;
    size_t lcap = 0;
    ssize_t n;
    long lineno = 0;
    while ((n = getline(&line, &lcap, stdin)) >= 0) {
        lineno++;
        if (n > 0 && line[n - 1] == '\n')
            line[--n] = 0;
        if (n > 0 && line[n - 1] == '\r')
            line[--n] = 0;
        bad |= g2p_line(line, (size_t)n, lineno);
    }
    free(line);
    return bad;
}
