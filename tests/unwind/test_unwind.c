/* Unwinder registration: _Unwind_Backtrace and backtrace() called from
 * inside loaded code walk through the loaded frames into the host, only
 * when the module's .eh_frame is registered; frames are deregistered at
 * unload; and (host.cpp, run from here) a C++ host catches exceptions that
 * loaded code throws. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "elfjit/elfjit.h"
#include "testutil.h"

struct trail {
    int n;
    uintptr_t ip[32];
};

static ej_module *load_walk(unsigned registration)
{
    ej_linker *lk;
    ej_module *m;
    cr_assert_eq(ej_linker_create(&lk), EJ_OK);
    cr_assert_eq(ej_linker_set_registration(lk, registration), EJ_OK);
    cr_assert_eq(ej_linker_add_file(lk, ej_test_path(EJ_UNWIND_FIXTURE_DIR, "walk", ".o")), EJ_OK,
                 "%s", ej_linker_errmsg(lk));
    cr_assert_eq(ej_linker_link(lk, &m), EJ_OK, "%s", ej_linker_errmsg(lk));
    ej_linker_free(lk);
    return m;
}

/* Index of the first IP inside function NAME of M (return addresses point
 * just past a call, hence - 1), or -1. */
static int frame_of(ej_module *m, const uintptr_t *ip, int n, const char *name)
{
    for (int i = 0; i < n; i++) {
        ej_pc_info pi;
        if (ej_module_lookup_pc(m, ip[i] - (i > 0), &pi) && pi.function &&
            strcmp(pi.function, name) == 0)
            return i;
    }
    return -1;
}

/* The test's own frame, found by address: the walk must reach the host. */
static int reaches_host(const uintptr_t *ip, int n, ej_module *m)
{
    uint64_t lo, hi;
    ej_module_range(m, &lo, &hi);
    int outside = 0;
    for (int i = 0; i < n; i++)
        outside += ip[i] < lo || ip[i] >= hi;
    return outside >= 2; /* this test function and its caller at least */
}

Test(unwind, unwind_backtrace_walks_through_loaded_code)
{
    ej_module *m = load_walk(EJ_REGISTER_UNWIND);
    int (*outer)(struct trail *) = (int (*)(struct trail *))ej_module_symbol(m, "walk_outer");
    struct trail t = {0};
    int n = outer(&t);
    int inner_at = frame_of(m, t.ip, n, "walk_inner"), outer_at = frame_of(m, t.ip, n, "walk_outer");
    cr_assert(inner_at >= 0 && outer_at == inner_at + 1, "walk_inner at %d, walk_outer at %d of %d",
              inner_at, outer_at, n);
    cr_assert(reaches_host(t.ip, n, m), "the walk stopped in loaded code (%d frames)", n);
    ej_module_free(m);
}

Test(unwind, backtrace_walks_through_loaded_code)
{
    ej_module *m = load_walk(EJ_REGISTER_UNWIND);
    int (*outer)(void **, int) = (int (*)(void **, int))ej_module_symbol(m, "backtrace_outer");
    void *buf[32];
    int n = outer(buf, 32);
    uintptr_t ip[32];
    for (int i = 0; i < n; i++)
        ip[i] = (uintptr_t)buf[i];
    cr_assert_geq(frame_of(m, ip, n, "backtrace_outer"), 0, "%d frames", n);
    cr_assert(reaches_host(ip, n, m), "backtrace() stopped in loaded code (%d frames)", n);
    ej_module_free(m);
}

Test(unwind, without_registration_the_walk_stops)
{
    /* The same walk with the frames not registered cannot leave
     * walk_inner: this is what the registration is for. */
    ej_module *m = load_walk(0);
    int (*outer)(struct trail *) = (int (*)(struct trail *))ej_module_symbol(m, "walk_outer");
    struct trail t = {0};
    int n = outer(&t);
    cr_assert_eq(frame_of(m, t.ip, n, "walk_outer"), -1, "walked without registration");
    ej_module_free(m);
}

Test(unwind, many_modules_register_and_unregister)
{
    /* Registered frames of freed modules are gone: a hundred load/unload
     * rounds, each walking through its own module. */
    for (int round = 0; round < 100; round++) {
        ej_module *m = load_walk(EJ_REGISTER_UNWIND);
        int (*outer)(struct trail *) = (int (*)(struct trail *))ej_module_symbol(m, "walk_outer");
        struct trail t = {0};
        int n = outer(&t);
        cr_assert_geq(frame_of(m, t.ip, n, "walk_outer"), 0, "round %d", round);
        ej_module_free(m);
    }
}

Test(unwind, cxx_host_catches_exceptions_from_loaded_code, .timeout = 60)
{
    if (ej_test_emulator())
        cr_skip("under %s: the C++ host is built for the build machine only", ej_test_emulator());
#ifndef EJ_CXX_HOST
    cr_skip("no C++ compiler for the host program");
#else
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "'%s' '%s' 2>&1", EJ_CXX_HOST,
             ej_test_path(EJ_UNWIND_FIXTURE_DIR, "thrower", ".o"));
    FILE *p = popen(cmd, "r");
    char out[4096];
    size_t len = fread(out, 1, sizeof out - 1, p);
    out[len] = '\0';
    int st = pclose(p);
    cr_assert_eq(st, 0, "%s", out);
    cr_assert_str_eq(out, "host caught: thrown in loaded code: 5\nhost caught int 42\n1\n");
#endif
}

Test(unwind, llvm_libunwind_gets_each_fde, .timeout = 60)
{
    if (ej_test_emulator())
        cr_skip("under %s: the host is built for the build machine only", ej_test_emulator());
#ifndef EJ_LLVM_HOST
    cr_skip("LLVM's libunwind (libunwind-14-dev) is not installed");
#else
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "'%s' '%s' 2>&1", EJ_LLVM_HOST,
             ej_test_path(EJ_UNWIND_FIXTURE_DIR, "walk", ".o"));
    FILE *p = popen(cmd, "r");
    char out[4096];
    size_t len = fread(out, 1, sizeof out - 1, p);
    out[len] = '\0';
    cr_assert_eq(pclose(p), 0, "%s", out);
    cr_assert(strstr(out, "walk_outer seen"), "%s", out);
#endif
}
