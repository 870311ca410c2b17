/* Regression (issue 9, medium-low): when loading libgcc_s (to register
 * .eh_frame in a process that has no unwinder yet) failed once, e.g. for
 * an allocation failure inside dlopen, the failure was remembered
 * (pthread_once) and that link and every later one failed with a
 * misleading "not loadable".  Now only a successful search is
 * remembered: the next link loads libgcc_s and succeeds.
 *
 * This test program defines dlopen() itself (the test executables export
 * their symbols), so the library's dlopen calls come here: the first
 * attempt at libgcc_s fails, every other call goes to the C library's.
 * Criterion runs each test in a new process without libgcc_s. */
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "elfjit/elfjit.h"
#include "testutil.h"

static int gcc_s_attempts;

void *dlopen(const char *file, int mode)
{
    static void *(*real)(const char *, int);
    if (!real)
        real = (void *(*)(const char *, int))dlsym(RTLD_NEXT, "dlopen");
    if (file && strcmp(file, "libgcc_s.so.1") == 0 && gcc_s_attempts++ == 0)
        return NULL; /* as if dlopen ran out of memory */
    return real(file, mode);
}

/* Links cfi_fn.o (which has .eh_frame on every architecture), registering
 * its frames. */
static ej_status link_registry(ej_module **m, char *msg, size_t len)
{
    ej_linker *lk;
    cr_assert_eq(ej_linker_create(&lk), EJ_OK);
    cr_assert_eq(ej_linker_set_registration(lk, EJ_REGISTER_UNWIND), EJ_OK);
    cr_assert_eq(ej_linker_add_file(lk, ej_test_path(EJ_TEST_OBJ_DIR, "cfi_fn", ".o")), EJ_OK);
    ej_status st = ej_linker_link(lk, m);
    snprintf(msg, len, "%s", ej_linker_errmsg(lk));
    ej_linker_free(lk);
    return st;
}

Test(unwinder, a_failed_search_is_tried_again)
{
    if (dlsym(RTLD_DEFAULT, "__register_frame"))
        cr_skip_test("this process already has an unwinder: nothing is loaded");
    ej_module *m = NULL;
    char msg[1024];
    cr_assert_eq(link_registry(&m, msg, sizeof msg), EJ_UNSUPPORTED, "%s", msg);
    cr_expect(strstr(msg, "libgcc_s.so.1 not loadable"), "%s", msg);
    cr_assert_null(m);
    cr_assert_eq(link_registry(&m, msg, sizeof msg), EJ_OK, "the second link: %s", msg);
    cr_expect_eq(gcc_s_attempts, 2);
    int (*f)(void) = (int (*)(void))ej_module_symbol(m, "cfi_fn");
    cr_assert_not_null(f);
    cr_expect_eq(f(), 7);
    ej_module_free(m);
}
