/* A tiny test harness: CHECK counts, prints what failed, and the test ends
 * with the counts on one line. Exit 0 when nothing failed, 1 otherwise;
 * SKIP exits 77 (ctest's SKIP_RETURN_CODE). */
#ifndef SORI_TESTS_CHECK_H
#define SORI_TESTS_CHECK_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static int g_checks_passed, g_checks_failed;

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (cond) {                                                                                \
            g_checks_passed++;                                                                     \
        } else {                                                                                   \
            g_checks_failed++;                                                                     \
            fprintf(stderr, "%s:%d: FAILED: %s: ", __FILE__, __LINE__, #cond);                     \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
        }                                                                                          \
    } while (0)

#define CHECK_STATUS(expr, want)                                                                   \
    do {                                                                                           \
        int got_ = (int)(expr);                                                                    \
        CHECK(got_ == (int)(want), "%s returned %d, expected %d", #expr, got_, (int)(want));       \
    } while (0)

#define SKIP(...)                                                                                  \
    do {                                                                                           \
        printf("SKIP: ");                                                                          \
        printf(__VA_ARGS__);                                                                       \
        printf("\n");                                                                              \
        exit(77);                                                                                  \
    } while (0)

static inline int check_finish(const char *name)
{
    printf("%s: %d passed, %d failed\n", name, g_checks_passed, g_checks_failed);
    return g_checks_failed ? 1 : 0;
}

/* The seed: $SORI_TEST_SEED if set, else from the clock; always printed so a
 * failure can be replayed. */
static inline uint64_t test_seed(const char *name)
{
    const char *s = getenv("SORI_TEST_SEED");
    uint64_t seed = s ? strtoull(s, NULL, 10) : (uint64_t)time(NULL);
    printf("%s: seed %" PRIu64 " (replay with SORI_TEST_SEED=%" PRIu64 ")\n", name, seed, seed);
    return seed;
}

#endif
