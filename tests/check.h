/* A tiny test harness: CHECK counts, prints what failed, and the test ends
 * with the counts on one line. Exit 0 when nothing failed, 1 otherwise;
 * SKIP exits 77 (ctest's SKIP_RETURN_CODE). */
#ifndef SORI_TESTS_CHECK_H
#define SORI_TESTS_CHECK_H

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static int g_checks_passed, g_checks_failed;

/* SORI_TEST_UNDER_SANITIZER: built with AddressSanitizer or ThreadSanitizer
 * (they own the allocator and put their shadow memory in the RSS). */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SORI_TEST_UNDER_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SORI_TEST_UNDER_SANITIZER 1
#endif
#endif

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

/* A test that checked nothing has failed: its data or its loop went missing
 * (a test without its data must SKIP instead). */
static inline int check_finish(const char *name)
{
    if (g_checks_passed + g_checks_failed == 0) {
        printf("%s: no check ran\n", name);
        g_checks_failed = 1;
    }
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

/* A whole file of little-endian float32 values (a fixture): a malloc'd
 * array and its length in *n, or NULL if it cannot be opened. The path is
 * printf-style. */
__attribute__((format(printf, 2, 3))) static inline float *read_f32_fixture(int64_t *n, const char *fmt,
                                                                            ...)
{
    char path[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(path, sizeof path, fmt, ap);
    va_end(ap);
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long bytes = ftell(f);
    fseek(f, 0, SEEK_SET);
    float *x = malloc((size_t)(bytes > 0 ? bytes : 0) + 4);
    *n = x ? (int64_t)(fread(x, 1, (size_t)bytes, f) / 4) : 0;
    fclose(f);
    return x;
}

#endif
