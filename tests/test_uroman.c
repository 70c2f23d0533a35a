/* sori_ko_uroman (text/uroman.c) against uroman 1.3.1.1 itself
 * (tests/fixtures/text/uroman_ko.tsv, by tools/gen_uroman_fixtures.py):
 * every initial, vowel, final and compatibility jamo, then 400 corpus
 * sentences, output for output; then bad input and a small buffer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "sori/text.h"
#include "tsv.h"

#ifndef SORI_FIXTURE_DIR
#define SORI_FIXTURE_DIR "tests/fixtures"
#endif

int main(void)
{
    char path[512], line[8192], out[3 * 8192 + 1];
    snprintf(path, sizeof path, "%s/text/uroman_ko.tsv", SORI_FIXTURE_DIR);
    FILE *f = fopen(path, "r");
    CHECK(f != NULL, "%s: cannot open", path);
    int n = 0, same = 0;
    sori_error err = {0};
    while (f && fgets(line, sizeof line, f)) {
        if (line[0] == '#')
            continue;
        char *fl[2];
        if (tsv_fields(line, fl, 2) != 2)
            continue;
        size_t m = 0;
        const sori_status st = sori_ko_uroman(fl[0], strlen(fl[0]), out, sizeof out, &m, &err);
        n++;
        const int ok = st == SORI_OK && m == strlen(fl[1]) && !strcmp(out, fl[1]);
        same += ok;
        CHECK(ok, "'%s': '%s', uroman '%s' (%s)", fl[0], st == SORI_OK ? out : err.message, fl[1],
              sori_status_str(st));
    }
    if (f)
        fclose(f);
    printf("uroman: %d of %d lines equal\n", same, n);
    CHECK(n >= 400, "only %d fixture lines", n);
    size_t m = 99;
    CHECK_STATUS(sori_ko_uroman("\xff", 1, out, sizeof out, &m, &err), SORI_ERR_INVALID_ARG);
    printf("invalid UTF-8: %s\n", err.message);
    CHECK_STATUS(sori_ko_uroman("한국어", strlen("한국어"), out, 8, &m, &err), SORI_ERR_INVALID_ARG);
    CHECK(out[0] == 0, "a short buffer is left empty");
    CHECK_STATUS(sori_ko_uroman("한국어", strlen("한국어"), out, 9, &m, &err), SORI_OK);
    CHECK(m == 8 && !strcmp(out, "hangugeo"), "exact fit: '%s'", out);
    CHECK_STATUS(sori_ko_uroman("", 0, out, 1, &m, &err), SORI_OK);
    CHECK(m == 0 && out[0] == 0, "empty text");
    CHECK_STATUS(sori_ko_uroman(NULL, 3, out, 8, &m, &err), SORI_ERR_INVALID_ARG);
    /* the bound: 3 bytes out per byte in, whatever the input */
    const char *worst = "왜왜ㅤㅖ";
    CHECK_STATUS(sori_ko_uroman(worst, strlen(worst), out, 3 * strlen(worst) + 1, &m, &err), SORI_OK);
    return check_finish("test_uroman");
}
