/* elfjit on a host that refuses to make written memory executable: the
 * kernel's memory-deny-write-execute policy (prctl PR_SET_MDWE,
 * PR_MDWE_REFUSE_EXEC_GAIN, Linux 6.3+; systemd's MemoryDenyWriteExecute
 * enforces the same rule).  Each test sets the policy on its own process
 * (Criterion runs each in a new one; the policy cannot be undone, and
 * children inherit it), then links and runs real multi-object programs
 * through the API and through `elfjit run`: the probe finds mprotect
 * refused and the dual-mapping backend carries the link.  Skipped with a
 * message on kernels (or emulators) without PR_SET_MDWE. */
#include <criterion/criterion.h>
#include <errno.h>
#include <glob.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "elfjit/elfjit.h"
#include "testutil.h"

#ifndef PR_SET_MDWE
#define PR_SET_MDWE 65
#endif
#ifndef PR_MDWE_REFUSE_EXEC_GAIN
#define PR_MDWE_REFUSE_EXEC_GAIN 1u
#endif

extern char **environ;

static void enter_mdwe(void)
{
    if (prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN, 0L, 0L, 0L) != 0)
        cr_skip_test("PR_SET_MDWE is not available here (Linux 6.3+; not under qemu-user): "
                     "%s", strerror(errno));
    /* The policy is on: a page written and then made executable is refused. */
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    void *p = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    cr_assert_neq(p, MAP_FAILED);
    cr_assert_neq(mprotect(p, page, PROT_READ | PROT_EXEC), 0, "MDWE did not refuse RW -> RX");
    munmap(p, page);
}

Test(mdwe, api_links_and_runs_a_two_object_module)
{
    enter_mdwe();
    ej_linker *lk;
    ej_module *m = NULL;
    cr_assert_eq(ej_linker_create(&lk), EJ_OK);
    cr_assert_eq(ej_linker_add_file(lk, ej_test_path(EJ_TEST_OBJ_DIR, "registry_a", ".o")), EJ_OK);
    cr_assert_eq(ej_linker_add_file(lk, ej_test_path(EJ_TEST_OBJ_DIR, "registry_b", ".o")), EJ_OK);
    cr_assert_eq(ej_linker_link(lk, &m), EJ_OK, "%s", ej_linker_errmsg(lk));
    ej_linker_free(lk);
    int (*sum)(void) = (int (*)(void))ej_module_symbol(m, "registry_sum");
    cr_assert_not_null(sum);
    cr_expect_eq(sum(), 43);
    ej_module_free(m);
}

Test(mdwe, forcing_mprotect_fails_with_a_hint)
{
    enter_mdwe();
    ej_linker *lk;
    ej_module *m = NULL;
    cr_assert_eq(ej_linker_create(&lk), EJ_OK);
    cr_assert_eq(ej_linker_set_code_memory(lk, EJ_CODE_MEMORY_MPROTECT), EJ_OK);
    cr_assert_eq(ej_linker_add_file(lk, ej_test_path(EJ_TEST_OBJ_DIR, "registry_a", ".o")), EJ_OK);
    cr_assert_eq(ej_linker_add_file(lk, ej_test_path(EJ_TEST_OBJ_DIR, "registry_b", ".o")), EJ_OK);
    cr_assert_eq(ej_linker_link(lk, &m), EJ_MAP);
    cr_expect(strstr(ej_linker_errmsg(lk), "may not make memory executable"), "%s",
              ej_linker_errmsg(lk));
    cr_assert_null(m);
    ej_linker_free(lk);
}

/* Runs CMD (NULL-terminated), stdout to a file; returns the exit status
 * (128 + signal) and the output in OUT. */
static int run(char *const *cmd, char *out, size_t len)
{
    char path[] = "/tmp/ej_mdwe_outXXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fd, 1);
    pid_t pid;
    char **full = ej_test_command(cmd);
    cr_assert_eq(posix_spawn(&pid, full[0], &fa, NULL, full, environ), 0);
    free(full);
    int st;
    waitpid(pid, &st, 0);
    posix_spawn_file_actions_destroy(&fa);
    ssize_t n = pread(fd, out, len - 1, 0);
    out[n > 0 ? n : 0] = '\0';
    close(fd);
    unlink(path);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void tool_runs_program(const char *prog)
{
    char pattern[1024], ref[1024];
    snprintf(pattern, sizeof pattern, "%s/fixtures/O2/%s/*.o", EJ_TEST_BINARY_DIR, prog);
    snprintf(ref, sizeof ref, "%s/fixtures/O2/%s/ref", EJ_TEST_BINARY_DIR, prog);
    glob_t g;
    cr_assert_eq(glob(pattern, 0, NULL, &g), 0, "no objects for %s", pattern);
    char *argv[64] = {(char *)EJ_TOOL_PATH, (char *)"run"};
    size_t n = 2;
    for (size_t i = 0; i < g.gl_pathc && n < 62; i++)
        argv[n++] = g.gl_pathv[i];
    argv[n] = NULL;
    char want[8192], got[8192];
    char *ref_argv[] = {ref, NULL};
    int want_st = run(ref_argv, want, sizeof want);
    int got_st = run(argv, got, sizeof got);
    globfree(&g);
    cr_expect_eq(got_st, want_st, "%s: elfjit run exited %d, the normal link %d", prog, got_st,
                 want_st);
    cr_expect_str_eq(got, want, "%s: output differs", prog);
}

Test(mdwe, tool_runs_programs)
{
    enter_mdwe();
    tool_runs_program("hello_multi");
    tool_runs_program("callbacks");
}
