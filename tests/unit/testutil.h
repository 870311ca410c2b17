/* Helpers shared by the unit tests. */
#ifndef EJ_TESTUTIL_H
#define EJ_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

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

/* The command that runs a program of the target: EJ_TEST_EMULATOR, set by
 * tests/CMakeLists.txt from CMAKE_CROSSCOMPILING_EMULATOR ("qemu-aarch64
 * -L /usr/aarch64-linux-gnu", space-separated) when cross-compiled, empty
 * natively.  A test that spawns the elfjit tool or a fixture program
 * spawns ej_test_command(argv) instead of argv: a malloc()ed,
 * NULL-terminated array of the emulator's words followed by ARGV (whose
 * strings are not copied); free() it when done.  Natively it is a copy of
 * ARGV. */
char **ej_test_command(char *const argv[]);

/* As ej_test_command, and under an emulator, QEMU_ENV (NULL-terminated
 * "NAME=VALUE" strings) set in the emulated program's environment only
 * (qemu's -E), not in the emulator's own. */
char **ej_test_command_env(char *const argv[], char *const qemu_env[]);

/* Non-NULL when this process runs under an emulator (qemu-user), which
 * some tests cannot see through (e.g. host-level memory limits): the
 * emulator's name, for skip messages.  Found at run time: the kernel's
 * name for this process is qemu's ("qemu-aarch64"), whatever the emulated
 * program is called. */
const char *ej_test_emulator(void);

/* Whether this process can create threads: always natively; under an
 * emulator (qemu-user 7.2 hangs in pthread_create on some hosts) a forked
 * child creates and joins one, and the answer is no when it fails or does
 * not finish within TIMEOUT_MS (it is then killed).  A test with threads
 * skips itself on 0, saying so. */
int ej_test_threads_work(unsigned timeout_ms);

/* The skip message for that case. */
#define EJ_TEST_NO_THREADS_MSG                                                                 \
    "%s: qemu-user may hang in pthread_create on this host (a probe thread did not finish "    \
    "in time): skipping a case with threads"

/* Skips the calling Criterion test when threads do not work (above). */
#define EJ_TEST_REQUIRE_THREADS()                                                              \
    do {                                                                                       \
        if (!ej_test_threads_work(10000))                                                      \
            cr_skip_test(EJ_TEST_NO_THREADS_MSG, ej_test_emulator());                          \
    } while (0)

/* Runs BODY(CTX) with a SIGILL handler that jumps back out: 1 (and the
 * faulting PC in *PC, from the signal's context) when BODY trapped, 0 when
 * it returned.  The previous handler is restored either way.  Not
 * reentrant (one static jump buffer). */
int ej_test_catch_sigill(void (*body)(void *ctx), void *ctx, uint64_t *pc);

#endif
