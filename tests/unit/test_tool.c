/* The elfjit command line: usage errors exit 2, load and link errors exit 1
 * with one "elfjit: " line on stderr and nothing on stdout, --help and
 * --version, -e and -l. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

extern char **environ;

typedef struct result {
    int status;
    char out[8192], err[8192];
} result;

static void slurp(const char *path, char *buf, size_t len)
{
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, len - 1, f) : 0;
    buf[n] = '\0';
    if (f)
        fclose(f);
}

/* Runs the tool with ARGV (NULL-terminated, without argv[0]). */
static result run_tool(const char *const *args)
{
    static result r;
    char out[] = "/tmp/ej_tool_outXXXXXX", err[] = "/tmp/ej_tool_errXXXXXX";
    int fo = mkstemp(out), fe = mkstemp(err);
    const char *argv[32] = {EJ_TOOL_PATH};
    for (int i = 0; args[i]; i++)
        argv[i + 1] = args[i];
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fo, 1);
    posix_spawn_file_actions_adddup2(&fa, fe, 2);
    pid_t pid;
    /* Under an emulator (cross builds) the child is "qemu-ARCH -L ... elfjit". */
    char **cmd = ej_test_command((char *const *)argv);
    cr_assert_not_null(cmd);
    cr_assert_eq(posix_spawn(&pid, cmd[0], &fa, NULL, cmd, environ), 0);
    free(cmd);
    int st;
    waitpid(pid, &st, 0);
    posix_spawn_file_actions_destroy(&fa);
    close(fo);
    close(fe);
    slurp(out, r.out, sizeof r.out);
    slurp(err, r.err, sizeof r.err);
    unlink(out);
    unlink(err);
    r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    return r;
}

static const char *obj(const char *name)
{
    return ej_test_path(EJ_TEST_OBJ_DIR, name, ".o");
}

static void assert_one_error_line(const result *r, int status, const char *needle)
{
    cr_assert_eq(r->status, status, "status %d, stderr: %s", r->status, r->err);
    cr_assert_str_empty(r->out, "elfjit wrote to stdout: %s", r->out);
    cr_assert(strncmp(r->err, "elfjit: ", 8) == 0, "stderr: %s", r->err);
    cr_assert(strstr(r->err, needle), "'%s' not in: %s", needle, r->err);
}

Test(tool, usage_errors_exit_2)
{
    const char *none[] = {NULL};
    result r = run_tool(none);
    cr_assert_eq(r.status, 2);
    cr_assert(strstr(r.err, "usage:"));
    const char *bad_cmd[] = {"frobnicate", NULL};
    r = run_tool(bad_cmd);
    cr_assert_eq(r.status, 2);
    cr_assert(strstr(r.err, "unknown command: frobnicate"), "%s", r.err);
    const char *bad_opt[] = {"run", "-z", "x.o", NULL};
    r = run_tool(bad_opt);
    cr_assert_eq(r.status, 2);
    cr_assert(strstr(r.err, "unknown option: -z"), "%s", r.err);
    const char *no_files[] = {"run", "--", "a", NULL};
    r = run_tool(no_files);
    cr_assert_eq(r.status, 2);
    cr_assert(strstr(r.err, "no input files"), "%s", r.err);
    const char *missing_arg[] = {"run", "x.o", "-e", NULL};
    r = run_tool(missing_arg);
    cr_assert_eq(r.status, 2);
    cr_assert_str_empty(r.out);
}

Test(tool, help_and_version)
{
    const char *help[] = {"--help", NULL};
    result r = run_tool(help);
    cr_assert_eq(r.status, 0);
    cr_assert(strstr(r.out, "usage: elfjit run [OPTION]... FILE... [-- ARG...]"), "%s", r.out);
    cr_assert(strstr(r.out, "--no-gdb") && strstr(r.out, "--perf-map") &&
              strstr(r.out, "--jitdump"), "%s", r.out);
    const char *version[] = {"--version", NULL};
    r = run_tool(version);
    cr_assert_eq(r.status, 0);
    cr_assert(strncmp(r.out, "elfjit ", 7) == 0, "%s", r.out);
}

Test(tool, load_and_link_errors_exit_1_with_one_line)
{
    const char *missing[] = {"run", "/nonexistent/x.o", NULL};
    result r = run_tool(missing);
    assert_one_error_line(&r, 1, "/nonexistent/x.o: cannot open");
    const char *undef[] = {"run", obj("undefined"), NULL};
    r = run_tool(undef);
    assert_one_error_line(&r, 1, "undefined symbol 'ej_definitely_undefined_symbol'");
    cr_assert(strstr(r.err, "undefined.o: .text+0x"), "%s", r.err);
    cr_assert_eq(strchr(r.err, '\n'), r.err + strlen(r.err) - 1, "one line: %s", r.err);
    const char *no_main[] = {"run", obj("registry_a"), NULL};
    r = run_tool(no_main);
    assert_one_error_line(&r, 1, "no global symbol 'main'");
    const char *bad_lib[] = {"run", "-l", "definitely-not-a-library", obj("registry_a"), NULL};
    r = run_tool(bad_lib);
    assert_one_error_line(&r, 1, "libdefinitely-not-a-library.so");
}

Test(tool, entry_symbol_and_libraries)
{
    /* registry_sum() returns 43: run it as the entry point. */
    const char *entry[] = {"run", "-e", "registry_sum", obj("registry_a"), obj("registry_b"), NULL};
    result r = run_tool(entry);
    cr_assert_eq(r.status, 43, "%d: %s", r.status, r.err);
    cr_assert_str_empty(r.out);
    /* The same without registering with debuggers. */
    const char *no_gdb[] = {"run", "--no-gdb", "-e", "registry_sum", obj("registry_a"),
                            obj("registry_b"), NULL};
    r = run_tool(no_gdb);
    cr_assert_eq(r.status, 43, "%d: %s", r.status, r.err);
    /* -l z finds libz.so.1 even without the -dev package's libz.so. */
    const char *lib[] = {"run", "-l", "z", "-e", "registry_count", obj("usezlib"), obj("registry_a"),
                         obj("registry_b"), NULL};
    r = run_tool(lib);
    cr_assert_eq(r.status, 3, "%d: %s", r.status, r.err);
}
