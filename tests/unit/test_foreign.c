/* Objects for another CPU (issue 9, high): through the API and through
 * `elfjit run`, a real link of an object whose e_machine is not the
 * host's is refused with EJ_UNSUPPORTED, naming the object and both
 * machines; only link-only mode accepts it.
 *
 * Regression: before, on x86_64 an aarch64 or riscv64 object was linked
 * and jumped into.  The fixture (objs/tiny_main.S) is host code without
 * relocations whose e_machine is rewritten here, so without the check the
 * "foreign" code would even have run to completion and exited 0. */
#include <criterion/criterion.h>
#include <elf.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "elfjit/elfjit.h"
#include "testutil.h"

extern char **environ;

static uint16_t host_machine(void)
{
    size_t len;
    Elf64_Ehdr *eh = ej_test_read_file("/proc/self/exe", &len);
    cr_assert_not_null(eh);
    cr_assert_geq(len, sizeof *eh);
    uint16_t m = eh->e_machine;
    free(eh);
    return m;
}

/* tiny_main.o with its machine set to one that is not the host's; *NAME
 * gets that machine's backend name. */
static void *foreign_object(size_t *len, const char **name)
{
    Elf64_Ehdr *eh = ej_test_read_file(ej_test_path(EJ_TEST_OBJ_DIR, "tiny_main", ".o"), len);
    cr_assert_not_null(eh);
    int x86 = host_machine() == EM_X86_64;
    eh->e_machine = x86 ? EM_AARCH64 : EM_X86_64;
    *name = x86 ? "aarch64" : "x86_64";
    return eh;
}

Test(foreign, api_refuses_a_real_link_and_accepts_link_only)
{
    size_t len;
    const char *machine;
    void *obj = foreign_object(&len, &machine);
    ej_linker *lk;
    ej_module *m = (ej_module *)1;
    cr_assert_eq(ej_linker_create(&lk), EJ_OK);
    cr_assert_eq(ej_linker_add_buffer(lk, "foreign.o", obj, len), EJ_OK, "%s",
                 ej_linker_errmsg(lk));
    cr_assert_eq(ej_linker_link(lk, &m), EJ_UNSUPPORTED, "%s", ej_linker_errmsg(lk));
    cr_assert_null(m);
    const char *msg = ej_linker_errmsg(lk);
    cr_expect(strncmp(msg, "foreign.o: ", 11) == 0, "%s", msg);
    cr_expect(strstr(msg, machine), "%s", msg);
    cr_expect(strstr(msg, "cannot run on this"), "%s", msg);
    ej_linker_free(lk);

    cr_assert_eq(ej_linker_create(&lk), EJ_OK);
    cr_assert_eq(ej_linker_set_base(lk, 0x40000000), EJ_OK);
    cr_assert_eq(ej_linker_add_buffer(lk, "foreign.o", obj, len), EJ_OK);
    cr_assert_eq(ej_linker_link(lk, &m), EJ_OK, "%s", ej_linker_errmsg(lk));
    cr_expect_eq((uintptr_t)ej_module_symbol(m, "main"), 0x40000000);
    cr_expect_eq(ej_module_init(m, 0, NULL, NULL), EJ_STATE);
    ej_module_free(m);
    ej_linker_free(lk);
    free(obj);
}

Test(foreign, host_object_still_links_and_runs)
{
    ej_linker *lk;
    ej_module *m;
    cr_assert_eq(ej_linker_create(&lk), EJ_OK);
    cr_assert_eq(ej_linker_add_file(lk, ej_test_path(EJ_TEST_OBJ_DIR, "tiny_main", ".o")),
                 EJ_OK, "%s", ej_linker_errmsg(lk));
    cr_assert_eq(ej_linker_link(lk, &m), EJ_OK, "%s", ej_linker_errmsg(lk));
    int (*f)(void) = (int (*)(void))ej_module_symbol(m, "main");
    cr_assert_not_null(f);
    cr_expect_eq(f(), 0);
    ej_module_free(m);
    ej_linker_free(lk);
}

Test(foreign, tool_refuses_to_run_it)
{
    size_t len;
    const char *machine;
    void *obj = foreign_object(&len, &machine);
    char path[] = "/tmp/ej_foreignXXXXXX", err[] = "/tmp/ej_foreign_errXXXXXX";
    int fd = mkstemp(path), fe = mkstemp(err);
    cr_assert(fd >= 0 && fe >= 0);
    cr_assert_eq(write(fd, obj, len), (ssize_t)len);
    close(fd);
    free(obj);
    const char *argv[] = {EJ_TOOL_PATH, "run", path, NULL};
    char **cmd = ej_test_command((char *const *)argv);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fe, 2);
    pid_t pid;
    cr_assert_eq(posix_spawn(&pid, cmd[0], &fa, NULL, cmd, environ), 0);
    free(cmd);
    int st;
    waitpid(pid, &st, 0);
    posix_spawn_file_actions_destroy(&fa);
    char text[4096] = "";
    ssize_t n = pread(fe, text, sizeof text - 1, 0);
    text[n > 0 ? n : 0] = '\0';
    close(fe);
    unlink(path);
    unlink(err);
    cr_assert(WIFEXITED(st), "the tool died of signal %d", WTERMSIG(st));
    cr_expect_eq(WEXITSTATUS(st), 1, "exit %d: %s", WEXITSTATUS(st), text);
    cr_expect(strstr(text, "elfjit: ") == text && strstr(text, machine) &&
              strstr(text, "cannot run on this"), "%s", text);
}
