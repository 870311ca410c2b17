/* The program `perf record` runs in tests/debug/test_perf.c: it loads
 * fixtures/burn.o with elfjit, records the perf map, and spends about
 * 0.3 s inside the loaded function, so that a real `perf report` must
 * name it from the map or the test fails.  With "--jitdump" it writes
 * /tmp/jit-PID.dump instead, for `perf inject --jit`.  It prints its pid
 * (the test removes the files named after it) and "done" when it ran. */
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "debug/debug.h"
#include "link/module.h"
#include "debug/profile.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int fail(const char *what, const char *msg)
{
    fprintf(stderr, "perf_victim: %s: %s\n", what, msg);
    return 1;
}

int main(int argc, char **argv)
{
    ej_linker *lk;
    ej_module *m;
    int jitdump = argc == 3 && !strcmp(argv[2], "--jitdump");
    if (argc != 2 && !jitdump)
        return fail("usage", "perf_victim BURN.o [--jitdump]");
    /* perf reads a perf map only for anonymous memory: the perf-map case
     * keeps the module out of shared code memory (a memory file's), as a
     * link asking for EJ_REGISTER_PERF_MAP does by itself. */
    ej_code_memory cm = !jitdump && !getenv("ELFJIT_CODEMEM") ? EJ_CODE_MEMORY_MPROTECT
                                                              : EJ_CODE_MEMORY_AUTO;
    if (ej_linker_create(&lk) || ej_linker_set_code_memory(lk, cm) ||
        ej_linker_add_file(lk, argv[1]) || ej_linker_link(lk, &m))
        return fail("link", ej_linker_errmsg(lk));
    ej_linker_free(lk);
    ej__err err = {0};
    if (jitdump ? ej__reg_add_JITDUMP(&m->img, m, &(void *){NULL}, &err) : ej__reg_add_PERF_MAP(&m->img, m, &(void *){NULL}, &err))
        return fail(jitdump ? "jitdump" : "perf map", err.msg);
    unsigned long (*burn)(unsigned long) =
        (unsigned long (*)(unsigned long))ej_module_symbol(m, "ej_perf_burn");
    if (!burn)
        return fail("lookup", "ej_perf_burn");
    printf("pid %ld\n", (long)getpid());
    unsigned long x = 0;
    for (double t0 = now(); now() - t0 < 0.3;)
        x += burn(1000000);
    printf("done %lu\n", x & 1);
    ej_module_free(m);
    ej__jitdump_close();
    return 0;
}
