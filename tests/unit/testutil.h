/* Helpers shared by the unit tests. */
#ifndef EJ_TESTUTIL_H
#define EJ_TESTUTIL_H

#include <stddef.h>

/* Number of mappings in /proc/self/maps (used to prove a failed or freed
 * link left nothing mapped). */
int ej_test_count_mappings(void);

/* Reads a whole file into a malloc()ed buffer; returns NULL on failure. */
void *ej_test_read_file(const char *path, size_t *len);

/* Path of a built fixture object: EJ_TEST_BINARY_DIR "/fixtures/" REL.
 * Returns a static buffer. */
const char *ej_test_fixture(const char *rel);

#endif
