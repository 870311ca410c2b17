/* Running a program of the target (the elfjit tool, a test's child) with
 * its output captured, for the unit tests. */
#ifndef EJ_TEST_TOOLRUN_H
#define EJ_TEST_TOOLRUN_H

typedef struct ej_test_run {
    int status; /* exit status, 128 + signal, -1 on timeout, -2 when it could not start */
    char out[16384], err[8192];
    char why[256]; /* status -2: what failed */
} ej_test_run;

/* Spawns ARGV (through the emulator under one: ej_test_command) with
 * stdin from /dev/null, stdout and stderr captured (cut to the buffers),
 * killed after TIMEOUT_MS. */
void ej_test_spawn(char *const argv[], ej_test_run *r, long timeout_ms);

/* `elfjit ARGS...` (NULL-terminated), 60 s at most. */
void ej_test_tool(ej_test_run *r, const char *const *args);
#define EJ_TOOL(r, ...) ej_test_tool((r), (const char *const[]){__VA_ARGS__, NULL})

#endif
