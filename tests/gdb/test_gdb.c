/* gdb and lldb against code loaded by elfjit, through GDB's JIT interface:
 * a pending breakpoint on a loaded function is hit, the backtrace names the
 * loaded frames, with -g the source line and `finish`'s value are right,
 * and after the module is freed the debugger no longer knows the
 * function.  Each session is `gdb -batch` on `elfjit run` (or on a program
 * that unloads a module, or on the session example's JIT), and the test
 * reads what the debugger printed. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

static char *run(const char *cmd)
{
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p, "%s", cmd);
    size_t cap = 1 << 17, n = 0, r;
    char *buf = malloc(cap);
    while ((r = fread(buf + n, 1, cap - 1 - n, p)) > 0)
        n += r;
    buf[n] = '\0';
    pclose(p);
    return buf;
}

static int have(const char *tool)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", tool);
    return system(cmd) == 0;
}

static void need_gdb(void)
{
    if (ej_test_emulator())
        cr_skip("under %s, gdb would debug the emulator, not the loaded code",
                ej_test_emulator());
    if (!have("gdb"))
        cr_skip("gdb is not installed");
}

static const char *fx(const char *name)
{
    return ej_test_path(EJ_GDB_FIXTURE_DIR, name, ".o");
}

/* gdb -batch on `elfjit run MAIN LEAF`, stopping at ej_gdb_leaf. */
static char *gdb_session(const char *main_o, const char *leaf_o, const char *extra)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd,
             "gdb -nx -batch -ex 'set breakpoint pending on' -ex 'set debuginfod enabled off' "
             "-ex 'break ej_gdb_leaf' -ex run -ex bt %s -ex kill --args '%s' run '%s' '%s' 2>&1",
             extra, EJ_TOOL_PATH, fx(main_o), fx(leaf_o));
    return run(cmd);
}

static void expect_in(const char *out, const char *what)
{
    cr_expect(strstr(out, what) != NULL, "missing '%s' in:\n%s", what, out);
}

Test(gdb, breakpoint_and_backtrace_without_dwarf, .timeout = 120)
{
    need_gdb();
    char *out = gdb_session("main_nog", "leaf_nog", "");
    expect_in(out, "Breakpoint 1, ");
    expect_in(out, "in ej_gdb_leaf");
    /* The backtrace walks through the loaded frames (unwound with the
     * registered .eh_frame) into elfjit itself. */
    expect_in(out, "in ej_gdb_mid");
    expect_in(out, "in main");
    free(out);
}

/* `elfjit link FLAGS -o NAME.eji MAIN LEAF`: the image's path. */
static const char *link_image(const char *name, const char *flags, const char *main_o,
                              const char *leaf_o)
{
    const char *image = ej_test_path(EJ_GDB_FIXTURE_DIR, name, ".eji");
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "'%s' link %s -o '%s' '%s' '%s' 2>&1", EJ_TOOL_PATH, flags, image,
             fx(main_o), fx(leaf_o));
    char *out = run(cmd);
    cr_assert_str_empty(out, "elfjit link: %s", out);
    free(out);
    return image;
}

/* gdb -batch on `elfjit run IMAGE`, breaking at WHERE, then COMMANDS. */
static char *gdb_on_image(const char *image, const char *where, const char *commands)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd,
             "gdb -nx -batch -ex 'set breakpoint pending on' -ex 'set debuginfod enabled off' "
             "-ex 'break %s' -ex run %s -ex kill --args '%s' run '%s' 2>&1", where, commands,
             EJ_TOOL_PATH, image);
    return run(cmd);
}

/* The same from an image (`elfjit link`): GDB gets the image's prebuilt
 * debugger image, moved to where the load put it. */
Test(gdb, breakpoint_and_backtrace_from_an_image, .timeout = 120)
{
    need_gdb();
    const char *image = link_image("nog", "", "main_nog", "leaf_nog");
    char *out = gdb_on_image(image, "ej_gdb_leaf", "-ex bt -ex 'info symbol ej_gdb_mid'");
    expect_in(out, "Breakpoint 1, ");
    expect_in(out, "in ej_gdb_leaf");
    expect_in(out, "in ej_gdb_mid");
    expect_in(out, "in main");
    expect_in(out, "ej_gdb_mid in section .text");
    free(out);
}

/* An image linked with -g keeps the DWARF, its addresses moved to where
 * the load put the image: breakpoints by file and line, source lines in
 * the backtrace, locals and arguments; stored plainly or deflated, from
 * plain or -gz objects. */
static void dwarf_image_session(const char *name, const char *flags, const char *main_o,
                                const char *leaf_o)
{
    char with_g[64];
    snprintf(with_g, sizeof with_g, "-g %s", flags);
    const char *image = link_image(name, with_g, main_o, leaf_o);
    char *out = gdb_on_image(image, "leaf.c:5", "-ex 'print y' -ex bt -ex 'info line *$pc'");
    expect_in(out, "Breakpoint 1, ej_gdb_leaf (x=");
    expect_in(out, "leaf.c:5");
    expect_in(out, "$1 = 35");
    expect_in(out, "ej_gdb_mid (x=");
    expect_in(out, "main.c:");
    expect_in(out, "of \"");
    free(out);
}

Test(gdb, dwarf_kept_in_an_image, .timeout = 120)
{
    need_gdb();
    dwarf_image_session("dwarf", "", "main_g", "leaf_g");
}

Test(gdb, dwarf_kept_in_a_compressed_image_from_compressed_dwarf, .timeout = 120)
{
    need_gdb();
    dwarf_image_session("dwarf_z", "--compress", "main_gz", "leaf_gz");
}

/* Without -g the image keeps no DWARF: the debugger knows no leaf.c. */
Test(gdb, an_image_without_dwarf_has_no_source_lines, .timeout = 120)
{
    need_gdb();
    const char *image = link_image("nodwarf", "", "main_g", "leaf_g");
    char *out = gdb_on_image(image, "ej_gdb_leaf", "-ex 'info line *$pc'");
    expect_in(out, "Breakpoint 1, ");
    cr_expect(strstr(out, "leaf.c") == NULL, "DWARF in an image linked without -g:\n%s", out);
    free(out);
}

Test(gdb, source_lines_locals_and_finish_with_dwarf, .timeout = 120)
{
    need_gdb();
    char *out = gdb_session("main_g", "leaf_g", "-ex 'info line *$pc' -ex next -ex 'info locals' "
                                                "-ex finish");
    expect_in(out, "ej_gdb_leaf (x=5) at ");
    expect_in(out, "leaf.c:4");
    expect_in(out, "ej_gdb_mid (x=4) at ");
    expect_in(out, "main.c:");
    expect_in(out, "Line 4 of \"");
    expect_in(out, "y = 35");
    expect_in(out, "Value returned is $1 = 36");
    free(out);
}

Test(gdb, compressed_dwarf, .timeout = 120)
{
    need_gdb();
    char *out = gdb_session("main_gz", "leaf_gz", "-ex 'list ej_gdb_leaf'");
    /* -O2: gdb may show the argument as its entry value, "x=x@entry=5". */
    expect_in(out, "ej_gdb_leaf (x=");
    expect_in(out, "5) at ");
    expect_in(out, "leaf.c:");
    expect_in(out, "int y = x * 7;");
    free(out);
}

Test(gdb, break_by_file_and_line, .timeout = 120)
{
    need_gdb();
    char cmd[4096];
    snprintf(cmd, sizeof cmd,
             "gdb -nx -batch -ex 'set breakpoint pending on' -ex 'set debuginfod enabled off' "
             "-ex 'break leaf.c:5' -ex run -ex 'print y' -ex kill --args '%s' run '%s' '%s' 2>&1",
             EJ_TOOL_PATH, fx("main_g"), fx("leaf_g"));
    char *out = run(cmd);
    expect_in(out, "leaf.c:5");
    expect_in(out, "$1 = 35");
    free(out);
}

Test(gdb, unloaded_module_is_forgotten, .timeout = 120)
{
    need_gdb();
    char cmd[4096];
    snprintf(cmd, sizeof cmd,
             "gdb -nx -batch -ex 'set breakpoint pending on' -ex 'set debuginfod enabled off' "
             "-ex 'break ej_gdb_after_unload' -ex run -ex 'info address ej_gdb_leaf' -ex kill "
             "--args '%s' '%s' 2>&1",
             EJ_GDB_UNLOAD_PATH, fx("leaf_g"));
    char *out = run(cmd);
    expect_in(out, "Breakpoint 1, ");
    expect_in(out, "No symbol \"ej_gdb_leaf\" in current context.");
    free(out);
}

Test(gdb, lldb_breakpoint_and_backtrace, .timeout = 120)
{
    if (ej_test_emulator())
        cr_skip("under %s, lldb would debug the emulator", ej_test_emulator());
    if (!have("lldb"))
        cr_skip("lldb is not installed");
    char cmd[4096];
    snprintf(cmd, sizeof cmd,
             "lldb --no-lldbinit --batch "
             "-o 'settings set plugin.jit-loader.gdb.enable on' "
             "-o 'breakpoint set --name ej_gdb_leaf' -o run -o bt -o kill -- '%s' run '%s' '%s' 2>&1",
             EJ_TOOL_PATH, fx("main_g"), fx("leaf_g"));
    char *out = run(cmd);
    expect_in(out, "stop reason = breakpoint");
    expect_in(out, "ej_gdb_leaf");
    expect_in(out, "ej_gdb_mid");
    free(out);
}

/* Writes TEXT into a new temporary file whose name goes into PATH (a
 * mkstemp template): a gdb script, or a program for the example. */
static void temp_file(char *path, const char *text)
{
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0, "mkstemp %s", path);
    size_t len = strlen(text);
    cr_assert_eq(write(fd, text, len), (ssize_t)len);
    close(fd);
}

/* 300 modules, announced to GDB in batches: a breakpoint by name in a
 * module of a middle batch is hit, backtraces from the host leaf name the
 * calling module's function (unwound through its merged unwind table)
 * and main, in the first, a middle and the last batch and in a module
 * linked after others were freed; the freed ones are forgotten. */
Test(gdb, hundreds_of_modules_in_batches, .timeout = 180)
{
    need_gdb();
#if !defined(__x86_64__)
    cr_skip("the fixture's modules are x86_64 code");
#endif
    /* (A script: `commands` reads its body from the script's next lines.) */
    char script[] = "/tmp/ej-gdb-many-XXXXXX";
    static const char body[] = "set breakpoint pending on\n"
                               "set debuginfod enabled off\n"
                               "break mid_200\n"
                               "break ej_gdb_many_leaf\n"
                               "commands 2\nbt 3\ncontinue\nend\n"
                               "break ej_gdb_many_done\n"
                               "run\n"
                               "bt 2\n"
                               "continue\n"
                               "info address mid_299\n"
                               "info address mid_15\n"; /* (an error: the script's end) */
    temp_file(script, body);
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "timeout 150 gdb -nx -batch -x '%s' --args '%s' 300 0 127 128 200 "
             "299 300 2>&1 </dev/null", script, EJ_GDB_MANY_PATH);
    char *out = run(cmd);
    expect_in(out, "Breakpoint 1, 0x");
    expect_in(out, " in mid_200 ()");
    static const char *const called[] = {"mid_0", "mid_127", "mid_128", "mid_200", "mid_299",
                                         "mid_300"};
    for (size_t i = 0; i < sizeof called / sizeof called[0]; i++) {
        char frame[64];
        snprintf(frame, sizeof frame, " in %s ()\n#2 ", called[i]);
        const char *at = strstr(out, frame);
        cr_expect(at, "no backtrace through %s in:\n%s", called[i], out);
        cr_expect(at && strncmp(strstr(at, "#2 "), "#2  ", 4) == 0 &&
                      strstr(at, "main (") && strstr(at, "main (") < strstr(at, "\n#2 ") + 200,
                  "the backtrace through %s does not reach main:\n%s", called[i], out);
    }
    expect_in(out, "No symbol \"mid_15\" in current context.");
    expect_in(out, "Symbol \"mid_299\" is at 0x");
    unlink(script);
    free(out);
}

/* The line at LINE, up to its newline END, ends with SUFFIX. */
static int ends_with(const char *line, const char *end, const char *suffix)
{
    size_t n = strlen(suffix);
    return (size_t)(end - line) >= n && memcmp(end - n, suffix, n) == 0;
}

/* OUT holds a backtrace that starts with the generated functions FRAMES
 * (innermost first, each "#K  0x... in NAME ()") and goes on at once into
 * run_file or main (run_file may be inlined or tail-called by main). */
static int backtrace_through(const char *out, const char *const *frames, size_t n)
{
    for (const char *at = strstr(out, "\n#0  "); at; at = strstr(at + 1, "\n#0  ")) {
        const char *line = at + 1, *end = strchr(line, '\n');
        size_t i = 0;
        for (; i < n && end && line[0] == '#'; i++, line = end + 1, end = strchr(line, '\n')) {
            char want[64];
            snprintf(want, sizeof want, " in %s ()", frames[i]);
            if (!ends_with(line, end, want))
                break;
        }
        if (i < n || !end || line[0] != '#')
            continue;
        const char *c = strstr(line, " run_file ("), *m = strstr(line, " main (");
        if ((c && c < end) || (m && m < end))
            return 1;
    }
    return 0;
}

/* The session example (examples/session): code it generates, one module
 * per function, with its own unwind information.  A pending breakpoint on
 * a cold function is hit once that function is compiled on its first call
 * (from generated code); backtraces from generated functions called by
 * generated functions, through the calls' redirect stubs, name every frame
 * down to the C caller. */
#ifdef EJ_SESSION_EXAMPLE_PATH
static const char *const session_example = EJ_SESSION_EXAMPLE_PATH;
#else
static const char *const session_example = NULL; /* (not built) */
#endif

Test(gdb, session_example_lazy_breakpoint_and_backtraces, .timeout = 180)
{
    need_gdb();
    if (!session_example)
        cr_skip("the session example (examples/session) is not built");
    char program[] = "/tmp/ej-gdb-session-XXXXXX";
    static const char text[] = "sq(x) = x * x\n"
                               "poly(x) = sq(x) + (1 + 2) * x - 2 * 5\n"
                               "cold even(n) = if n == 0 then 1 else odd(n - 1)\n"
                               "cold odd(n) = if n == 0 then 0 else even(n - 1)\n";
    temp_file(program, text);
    char script[] = "/tmp/ej-gdb-session-gdb-XXXXXX";
    /* With 3: sq(3) from C, then from poly; even(3) -> odd(2) -> even(1)
     * -> odd(0), odd compiled on its first call, from even. */
    static const char body[] = "set breakpoint pending on\n"
                               "set debuginfod enabled off\n"
                               "break sq\n"
                               "break odd\n"
                               "run\n"
                               "bt\n"
                               "continue\n"
                               "bt\n"
                               "continue\n"
                               "bt\n"
                               "continue\n"
                               "bt\n"
                               "kill\n";
    temp_file(script, body);
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "timeout 150 gdb -nx -batch -x '%s' --args '%s' '%s' 3 2>&1 "
             "</dev/null", script, session_example, program);
    char *out = run(cmd);
    /* odd is not there when the breakpoint is set, and is hit once
     * compiled. */
    expect_in(out, "Breakpoint 2 (odd) pending.");
    expect_in(out, "[lazy] compiling odd on its first call");
    const char *hit = strstr(out, "\nBreakpoint 2, 0x");
    const char *eol = hit ? strchr(hit + 1, '\n') : NULL;
    cr_expect(eol && ends_with(hit, eol, " in odd ()"),
              "the breakpoint in the lazily compiled odd was not hit:\n%s", out);
    static const char *const from_c[] = {"sq"}, *const from_poly[] = {"sq", "poly"},
                             *const from_even[] = {"odd", "even"},
                             *const deep[] = {"odd", "even", "odd", "even"};
    cr_expect(backtrace_through(out, from_c, 1), "no backtrace sq <- run_file in:\n%s", out);
    cr_expect(backtrace_through(out, from_poly, 2), "no backtrace sq <- poly <- run_file "
              "in:\n%s", out);
    cr_expect(backtrace_through(out, from_even, 2), "no backtrace odd <- even <- run_file "
              "in:\n%s", out);
    cr_expect(backtrace_through(out, deep, 4), "no backtrace odd <- even <- odd <- even <- "
              "run_file in:\n%s", out);
    unlink(script);
    unlink(program);
    free(out);
}
