/* The heap's bytes in use (glibc's mallinfo2), for tests that check that
 * repeated calls leave it where it was; HAVE_HEAP_COUNT is defined only
 * where it can be counted (not under a sanitizer's allocator). Include after
 * check.h. */
#ifndef SORI_TESTS_HEAP_H
#define SORI_TESTS_HEAP_H

#if defined(__GLIBC__) && !defined(SORI_TEST_UNDER_SANITIZER)
#include <malloc.h>
#define HAVE_HEAP_COUNT 1
static inline size_t heap_in_use(void)
{
    return mallinfo2().uordblks;
}
#endif

#endif
