/* Helpers shared by the unit tests. */
#ifndef EJ_TESTUTIL_H
#define EJ_TESTUTIL_H

#include <stddef.h>

/* True when built with AddressSanitizer, whose allocator maps and unmaps
 * memory on its own (mapping counts then say nothing about elfjit) and
 * which cannot run under a small RLIMIT_AS. */
#if defined(__SANITIZE_ADDRESS__)
#define EJ_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define EJ_TEST_ASAN 1
#endif
#endif
#ifndef EJ_TEST_ASAN
#define EJ_TEST_ASAN 0
#endif

/* Number of mappings in /proc/self/maps (used to prove a failed or freed
 * link left nothing mapped).  Under ASan it returns 0 every time: the
 * check is made by the normal build, and ASan checks leaks instead. */
int ej_test_count_mappings(void);

/* Reads a whole file into a malloc()ed buffer; returns NULL on failure. */
void *ej_test_read_file(const char *path, size_t *len);

/* DIR "/" NAME SUFFIX in one of a few rotating static buffers, so that
 * several paths can be alive in one expression. */
const char *ej_test_path(const char *dir, const char *name, const char *suffix);

/* Path of a built fixture object: EJ_TEST_BINARY_DIR "/fixtures/" REL.
 * Returns a static buffer. */
const char *ej_test_fixture(const char *rel);

#endif
