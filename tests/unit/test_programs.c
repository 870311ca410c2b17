/* Real programs, many compiler modes: `elfjit run` must behave exactly like
 * the normal link of the same objects.
 *
 * tests/fixtures/CMakeLists.txt compiles every program under
 * tests/fixtures/progs/ in every mode and links a reference executable from
 * the same objects; it lists the cases in fixtures/programs.manifest:
 *
 *     case <mode>/<prog>
 *     expect run | link-error
 *     ref <reference executable>
 *     obj <object>            (one or more, in link order)
 *     lib <name>              (zero or more: -l<name> / elfjit -l <name>)
 *     args <file>             (optional: one argument per line)
 *     threads <probe>         (optional: the program creates threads)
 *     qemu_env <file>         (optional: the emulated program's environment)
 *     end
 *
 * For a `run` case both the reference and `elfjit run [-l LIB]... OBJ...
 * [-- ARG...]` are spawned with the same environment and stdin from
 * /dev/null; exit status, stdout and stderr must be identical.  For a
 * `link-error` case elfjit must exit 1 with empty stdout and exactly one
 * `elfjit: ...` line on stderr.  Under an emulator, the cases with a
 * `threads` line are skipped when <probe> (a program that creates one
 * thread) does not finish in PROBE_TIMEOUT_MS: qemu-user 7.2 can hang in
 * thread creation on some hosts; the cases with a `qemu_env` line give the
 * emulated reference and `elfjit run` that file's environment (see
 * qemu_env() below). */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "elfjit/elfjit.h"
#include "testutil.h"

extern char **environ;

#define MANIFEST EJ_TEST_BINARY_DIR "/fixtures/programs.manifest"
#define RUN_TIMEOUT_MS 20000
#define PROBE_TIMEOUT_MS 10000
#define MAX_OBJS 16
#define MAX_LIBS 4
#define MAX_ARGS 64
#define FIXTURE_ENV "EJ_FIXTURE_ENV=fixture-value"

/* One manifest case.  Lives in Criterion's shared arena: every pointer is
 * cr_malloc()ed, released by free_cases(). */
struct prog_case {
    char *name;
    int link_error;
    char *ref;
    char *objs[MAX_OBJS];
    int nobjs;
    char *libs[MAX_LIBS];
    int nlibs;
    char *args_file;
    char *threads_probe; /* non-NULL: the program creates threads */
    char *qemu_env_file; /* non-NULL: its qemu_env file */
    char *skip;          /* non-NULL: why the case is skipped */
    char *problem; /* non-NULL: the manifest could not be used */
};

static char *cr_dup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = cr_malloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

static void cr_free_opt(void *p)
{
    if (p)
        cr_free(p);
}

static void free_case(struct prog_case *c)
{
    cr_free_opt(c->name);
    cr_free_opt(c->ref);
    for (int i = 0; i < c->nobjs; i++)
        cr_free_opt(c->objs[i]);
    for (int i = 0; i < c->nlibs; i++)
        cr_free_opt(c->libs[i]);
    cr_free_opt(c->args_file);
    cr_free_opt(c->threads_probe);
    cr_free_opt(c->qemu_env_file);
    cr_free_opt(c->skip);
    cr_free_opt(c->problem);
}

static void free_cases(struct criterion_test_params *crp)
{
    struct prog_case *cases = crp->params;
    for (size_t i = 0; i < crp->length; i++)
        free_case(&cases[i]);
    cr_free(cases);
}

/* Parses the manifest into a cr_malloc()ed array; on any problem returns a
 * single case whose `problem` says what went wrong, so the test fails
 * loudly instead of silently running nothing. */
static struct prog_case *load_manifest(size_t *count)
{
    char msg[512] = "";
    size_t n = 0, cap = 0;
    struct prog_case *cases = NULL, *cur = NULL;
    int in_case = 0;
    FILE *f = fopen(MANIFEST, "r");
    if (!f) {
        snprintf(msg, sizeof msg, "cannot open %s: %s (fixtures not built?)",
                 MANIFEST, strerror(errno));
        goto fail;
    }
    for (size_t i = 0; i < 2; i++) { /* pass 0 counts, pass 1 fills */
        char line[4096];
        int lineno = 0;
        rewind(f);
        n = 0;
        cur = NULL;
        in_case = 0;
        while (fgets(line, sizeof line, f)) {
            lineno++;
            size_t len = strlen(line);
            if (len && line[len - 1] == '\n')
                line[--len] = 0;
            if (!len || line[0] == '#')
                continue;
            char *val = strchr(line, ' ');
            if (val)
                *val++ = 0;
            else
                val = line + len;
            if (strcmp(line, "case") == 0) {
                if (in_case) {
                    snprintf(msg, sizeof msg, "manifest line %d: missing 'end'", lineno);
                    goto fail;
                }
                in_case = 1;
                if (i == 1) {
                    cur = &cases[n];
                    cur->name = cr_dup(val);
                }
                n++;
                continue;
            }
            if (!in_case) {
                snprintf(msg, sizeof msg, "manifest line %d: '%.64s' outside a case",
                         lineno, line);
                goto fail;
            }
            if (strcmp(line, "end") == 0) {
                in_case = 0;
                cur = NULL;
                continue;
            }
            if (i == 0)
                continue;
            if (strcmp(line, "expect") == 0) {
                cur->link_error = strcmp(val, "link-error") == 0;
            } else if (strcmp(line, "ref") == 0) {
                cur->ref = cr_dup(val);
            } else if (strcmp(line, "obj") == 0 && cur->nobjs < MAX_OBJS) {
                cur->objs[cur->nobjs++] = cr_dup(val);
            } else if (strcmp(line, "lib") == 0 && cur->nlibs < MAX_LIBS) {
                cur->libs[cur->nlibs++] = cr_dup(val);
            } else if (strcmp(line, "args") == 0) {
                cur->args_file = cr_dup(val);
            } else if (strcmp(line, "threads") == 0) {
                cur->threads_probe = cr_dup(val);
            } else if (strcmp(line, "qemu_env") == 0) {
                cur->qemu_env_file = cr_dup(val);
            } else {
                snprintf(msg, sizeof msg, "manifest line %d: unexpected '%.64s'",
                         lineno, line);
                goto fail;
            }
        }
        if (in_case) {
            snprintf(msg, sizeof msg, "manifest ends inside a case");
            goto fail;
        }
        if (i == 0) {
            if (n == 0) {
                snprintf(msg, sizeof msg, "%s lists no cases", MANIFEST);
                goto fail;
            }
            cap = n;
            cases = cr_malloc(cap * sizeof *cases);
            if (!cases) {
                snprintf(msg, sizeof msg, "cr_malloc failed");
                goto fail;
            }
            memset(cases, 0, cap * sizeof *cases);
        }
    }
    fclose(f);
    *count = n;
    return cases;

fail:
    if (f)
        fclose(f);
    if (cases) {
        for (size_t i = 0; i < cap; i++)
            free_case(&cases[i]);
        cr_free(cases);
    }
    cases = cr_malloc(sizeof *cases);
    memset(cases, 0, sizeof *cases);
    cases->name = cr_dup("manifest");
    cases->problem = cr_dup(msg);
    *count = 1;
    return cases;
}

/* Whether PROBE exits 0 within PROBE_TIMEOUT_MS under the emulator. */
static int threads_work(const char *probe)
{
    char *argv[] = {(char *)probe, NULL};
    char **cmd = ej_test_command(argv);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    pid_t pid;
    int status = -1;
    int rc = cmd ? posix_spawn(&pid, cmd[0], &fa, NULL, cmd, environ) : ENOMEM;
    free(cmd);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0)
        return 0;
    struct timespec nap = {0, 2 * 1000 * 1000};
    for (int waited = 0;; waited += 2) {
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid)
            break;
        if ((w < 0 && errno != EINTR) || waited >= PROBE_TIMEOUT_MS) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            return 0;
        }
        nanosleep(&nap, NULL);
    }
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static struct criterion_test_params programs_run_params(void)
{
    size_t n = 0;
    struct prog_case *cases = load_manifest(&n);
    /* Probed once, here in the runner, before the cases run. */
    int probed = 0, works = 1;
    for (size_t i = 0; i < n && ej_test_emulator(); i++) {
        if (!cases[i].threads_probe)
            continue;
        if (!probed) {
            probed = 1;
            works = threads_work(cases[i].threads_probe);
        }
        if (!works) {
            char msg[256];
            snprintf(msg, sizeof msg,
                     "%s: threads do not work under %s (%s did not exit 0 "
                     "within %d ms)",
                     cases[i].name, ej_test_emulator(), cases[i].threads_probe,
                     PROBE_TIMEOUT_MS);
            cases[i].skip = cr_dup(msg);
        }
    }
    return cr_make_param_array(struct prog_case, cases, n, free_cases);
}

ParameterizedTestParameters(programs, run)
{
    return programs_run_params();
}

/* ---- running a child with captured output -------------------------- */

struct outcome {
    int spawned;     /* posix_spawn succeeded */
    int timed_out;
    int status;      /* waitpid status */
    char *out, *err; /* captured, NUL-terminated (malloc) */
    size_t out_len, err_len;
};

static char *slurp_fd(int fd, size_t *len)
{
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap + 1);
    ssize_t r;
    while (buf && (r = pread(fd, buf + n, cap - n, (off_t)n)) > 0) {
        n += (size_t)r;
        if (n == cap) {
            cap *= 2;
            char *nb = realloc(buf, cap + 1);
            if (!nb) {
                free(buf);
                buf = NULL;
            }
            buf = nb;
        }
    }
    if (buf)
        buf[n] = 0;
    *len = n;
    return buf;
}

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Under an emulator, `elfjit run` cannot restart itself (the exec of a
 * foreign binary needs binfmt_misc), which it does to give the C library
 * more static TLS space and alignment than it started with (the tls_big
 * and tls_align programs): what the restart would set is set up front
 * instead, in the emulated program's environment, for the programs whose
 * directory has a `qemu_env` file only (a 4096-aligned preload moves every
 * later static block, which code assuming a small offset from the thread
 * pointer, aarch64's -mtls-size=12, could then not reach).  Natively the
 * restart itself is what runs: the file is read and checked, nothing set.
 *
 * The file (tests/fixtures/CMakeLists.txt): one NAME=VALUE per line, empty
 * lines and lines starting with `#` skipped; the value
 * @static_tls_preload(ALIGN) stands for /proc/self/fd/N, a memory file from
 * ej_static_tls_preload(ALIGN), made once per process and kept open. */
#define STATIC_TLS_PRELOAD "@static_tls_preload("

static int static_tls_preload_fd(unsigned long long align)
{
    static struct {
        unsigned long long align;
        int fd;
    } made[4];
    static size_t nmade;
    for (size_t i = 0; i < nmade; i++)
        if (made[i].align == align)
            return made[i].fd;
    cr_assert_lt(nmade, sizeof made / sizeof made[0], "too many preload alignments");
    int fd = -1;
    cr_assert_eq(ej_static_tls_preload(align, &fd), EJ_OK);
    made[nmade].align = align;
    made[nmade++].fd = fd;
    return fd;
}

static void free_env(char **env)
{
    for (size_t i = 0; env && env[i]; i++)
        free(env[i]);
    free(env);
}

/* The environment of C's qemu_env file, NULL-terminated (free_env): NULL
 * natively, for a case without the file, or when it sets nothing. */
static char **qemu_env(const struct prog_case *c)
{
    if (!c->qemu_env_file)
        return NULL;
    const char *path = c->qemu_env_file;
    size_t len = 0;
    char *raw = ej_test_read_file(path, &len);
    cr_assert(raw, "cannot read qemu_env file %s", path);
    char *buf = malloc(len + 1);
    cr_assert(buf);
    memcpy(buf, raw, len);
    buf[len] = 0;
    free(raw);
    size_t lines = 1;
    for (size_t i = 0; i < len; i++)
        lines += buf[i] == '\n';
    char **env = calloc(lines + 1, sizeof *env);
    cr_assert(env);
    int emulated = ej_test_emulator() != NULL;
    size_t n = 0;
    int lineno = 0;
    char *p = buf, *end = buf + len;
    while (p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        if (nl)
            *nl = 0;
        char *line = p;
        p = nl ? nl + 1 : end;
        lineno++;
        if (!line[0] || line[0] == '#')
            continue;
        const char *eq = strchr(line, '=');
        cr_assert(eq && eq > line, "%s line %d: want NAME=VALUE, got '%.64s'", path, lineno,
                  line);
        const char *value = eq + 1;
        char *entry;
        if (strncmp(value, STATIC_TLS_PRELOAD, strlen(STATIC_TLS_PRELOAD)) == 0) {
            char *rest;
            unsigned long long align =
                strtoull(value + strlen(STATIC_TLS_PRELOAD), &rest, 0);
            cr_assert(strcmp(rest, ")") == 0 && align && !(align & (align - 1)),
                      "%s line %d: want %sALIGN) with ALIGN a power of two, got '%.64s'",
                      path, lineno, STATIC_TLS_PRELOAD, value);
            if (!emulated)
                continue;
            int fd = static_tls_preload_fd(align);
            size_t sz = (size_t)(eq - line) + 64;
            entry = malloc(sz);
            cr_assert(entry);
            snprintf(entry, sz, "%.*s=/proc/self/fd/%d", (int)(eq - line), line, fd);
        } else {
            if (!emulated)
                continue;
            entry = strdup(line);
            cr_assert(entry);
        }
        env[n++] = entry;
    }
    free(buf);
    if (!n) {
        free_env(env);
        return NULL;
    }
    return env;
}

static void run_capture(char *const argv[], char *const envp[], struct outcome *o,
                        char *const *qemu_env)
{
    memset(o, 0, sizeof *o);
    FILE *fo = tmpfile(), *fe = tmpfile();
    cr_assert(fo && fe, "tmpfile: %s", strerror(errno));
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, fileno(fo), 1);
    posix_spawn_file_actions_adddup2(&fa, fileno(fe), 2);
    pid_t pid;
    /* Under an emulator (cross builds) the child is "qemu-ARCH -L ... argv". */
    char **cmd = ej_test_command_env(argv, qemu_env);
    cr_assert(cmd, "out of memory");
    int rc = posix_spawn(&pid, cmd[0], &fa, NULL, cmd, envp);
    free(cmd);
    posix_spawn_file_actions_destroy(&fa);
    if (rc == 0) {
        o->spawned = 1;
        long deadline = now_ms() + RUN_TIMEOUT_MS;
        struct timespec nap = {0, 2 * 1000 * 1000};
        for (;;) {
            pid_t w = waitpid(pid, &o->status, WNOHANG);
            if (w == pid)
                break;
            if (w < 0 && errno != EINTR) {
                o->status = -1;
                break;
            }
            if (now_ms() > deadline) {
                o->timed_out = 1;
                kill(pid, SIGKILL);
                waitpid(pid, &o->status, 0);
                break;
            }
            nanosleep(&nap, NULL);
        }
    }
    fflush(fo);
    fflush(fe);
    o->out = slurp_fd(fileno(fo), &o->out_len);
    o->err = slurp_fd(fileno(fe), &o->err_len);
    fclose(fo);
    fclose(fe);
    cr_assert(o->out && o->err, "out of memory capturing output");
    if (rc != 0)
        cr_assert_fail("posix_spawn %s: %s", argv[0], strerror(rc));
}

static void outcome_free(struct outcome *o)
{
    free(o->out);
    free(o->err);
}

/* "exit 3", "signal 11 (Segmentation fault)", "timeout". */
static const char *describe_status(const struct outcome *o, char *buf, size_t n)
{
    if (o->timed_out)
        snprintf(buf, n, "timeout after %d ms", RUN_TIMEOUT_MS);
    else if (WIFEXITED(o->status))
        snprintf(buf, n, "exit %d", WEXITSTATUS(o->status));
    else if (WIFSIGNALED(o->status))
        snprintf(buf, n, "signal %d (%s)", WTERMSIG(o->status),
                 strsignal(WTERMSIG(o->status)));
    else
        snprintf(buf, n, "status 0x%x", o->status);
    return buf;
}

/* Copies line `lineno` (1-based) of s into buf, "<EOF>" past the end. */
static const char *nth_line(const char *s, size_t len, int lineno, char *buf,
                            size_t n)
{
    const char *p = s, *end = s + len;
    for (int l = 1; l < lineno && p < end; l++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        p = nl ? nl + 1 : end;
    }
    if (p >= end) {
        snprintf(buf, n, "<EOF>");
        return buf;
    }
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    size_t l = (size_t)((nl ? nl : end) - p);
    snprintf(buf, n, "\"%.*s\"%s", (int)(l > 160 ? 160 : l), p,
             nl ? "" : " (no newline)");
    return buf;
}

/* Returns NULL when equal, else a message naming the first differing line. */
static char *diff_msg(const char *what, const char *a, size_t alen,
                      const char *b, size_t blen)
{
    if (alen == blen && memcmp(a, b, alen) == 0)
        return NULL;
    size_t i = 0;
    int line = 1;
    while (i < alen && i < blen && a[i] == b[i])
        line += a[i++] == '\n';
    char la[200], lb[200];
    size_t n = 1024;
    char *m = malloc(n);
    if (m)
        snprintf(m, n,
                 "%s differs at line %d (byte %zu; ref %zu bytes, elfjit %zu bytes)\n"
                 "    ref:    %s\n    elfjit: %s",
                 what, line, i, alen, blen, nth_line(a, alen, line, la, sizeof la),
                 nth_line(b, blen, line, lb, sizeof lb));
    return m;
}

/* Reads an args file: one argument per line, empty lines are empty args;
 * a final newline does not start another argument. */
static int read_args(const char *path, char **args, char **storage)
{
    size_t len = 0;
    char *raw = ej_test_read_file(path, &len);
    cr_assert(raw, "cannot read args file %s", path);
    char *buf = malloc(len + 1);
    cr_assert(buf);
    memcpy(buf, raw, len);
    buf[len] = 0;
    free(raw);
    int n = 0;
    char *p = buf, *end = buf + len;
    while (p < end && n < MAX_ARGS) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        if (nl)
            *nl = 0;
        args[n++] = p;
        p = nl ? nl + 1 : end;
    }
    *storage = buf;
    return n;
}

/* The environment both children get: ours plus EJ_FIXTURE_ENV. */
static char **child_env(void)
{
    size_t n = 0;
    while (environ[n])
        n++;
    char **env = calloc(n + 2, sizeof *env);
    cr_assert(env);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (strncmp(environ[i], "EJ_FIXTURE_ENV=", 15) != 0)
            env[k++] = environ[i];
    env[k++] = FIXTURE_ENV;
    env[k] = NULL;
    return env;
}

static int file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* Checks the case's files, reads its arguments and environments. */
struct case_run {
    char *args[MAX_ARGS], *args_storage;
    int nargs;
    char **env, **qenv;
};

static void case_begin(const struct prog_case *c, struct case_run *r)
{
    cr_assert(!c->problem, "%s", c->problem);
    if (c->skip)
        cr_skip_test("%s", c->skip);
    cr_assert(c->ref && c->nobjs > 0, "%s: incomplete manifest entry", c->name);
    cr_assert(file_exists(c->ref), "%s: reference %s not built", c->name, c->ref);
    for (int i = 0; i < c->nobjs; i++)
        cr_assert(file_exists(c->objs[i]), "%s: fixture %s not built", c->name,
                  c->objs[i]);
    cr_assert(file_exists(EJ_TOOL_PATH), "tool %s not built", EJ_TOOL_PATH);
    r->args_storage = NULL;
    r->nargs = c->args_file ? read_args(c->args_file, r->args, &r->args_storage) : 0;
    r->env = child_env();
    r->qenv = qemu_env(c);
}

static void case_end(struct case_run *r)
{
    free(r->env);
    free_env(r->qenv);
    free(r->args_storage);
}

/* JIT_ARGV (an elfjit command) must end as the case expects: a link
 * error as one line, or exactly what the reference executable does. */
static void check_run(const struct prog_case *c, struct case_run *r, char *const jit_argv[])
{
    struct outcome jit;
    char sa[96], sb[96];
    run_capture(jit_argv, r->env, &jit, r->qenv);

    if (c->link_error) {
        cr_expect(!jit.timed_out && WIFEXITED(jit.status) &&
                      WEXITSTATUS(jit.status) == 1,
                  "%s: expected a link error (exit 1), got %s; stderr: %.300s",
                  c->name, describe_status(&jit, sa, sizeof sa), jit.err);
        cr_expect(jit.out_len == 0, "%s: link error must print nothing on stdout, got: %.200s",
                  c->name, jit.out);
        const char *nl = memchr(jit.err, '\n', jit.err_len);
        cr_expect(strncmp(jit.err, "elfjit: ", 8) == 0 && nl &&
                      (size_t)(nl - jit.err) == jit.err_len - 1,
                  "%s: expected exactly one line 'elfjit: ...' on stderr, got: %.300s",
                  c->name, jit.err);
        outcome_free(&jit);
        return;
    }

    char *ref_argv[1 + MAX_ARGS + 1];
    int k = 0;
    ref_argv[k++] = c->ref;
    for (int i = 0; i < r->nargs; i++)
        ref_argv[k++] = r->args[i];
    ref_argv[k] = NULL;
    struct outcome ref;
    run_capture(ref_argv, r->env, &ref, r->qenv); /* (the same environment) */

    cr_assert(!ref.timed_out && WIFEXITED(ref.status),
              "%s: the reference itself failed: %s", c->name,
              describe_status(&ref, sa, sizeof sa));

    char *dout = diff_msg("stdout", ref.out, ref.out_len, jit.out, jit.out_len);
    char *derr = diff_msg("stderr", ref.err, ref.err_len, jit.err, jit.err_len);
    int same_status = !jit.timed_out && jit.status == ref.status;

    cr_expect(same_status, "%s: status differs: ref %s, elfjit %s; elfjit stderr: %.300s",
              c->name, describe_status(&ref, sa, sizeof sa),
              describe_status(&jit, sb, sizeof sb), jit.err);
    cr_expect(!dout, "%s: %s", c->name, dout ? dout : "");
    cr_expect(!derr, "%s: %s", c->name, derr ? derr : "");

    free(dout);
    free(derr);
    outcome_free(&ref);
    outcome_free(&jit);
}

/* elfjit CMD [-o IMAGE] [-l LIB]... INPUT... [-- ARG...] into ARGV. */
static void tool_argv(char **argv, const char *cmd, const char *image, const struct prog_case *c,
                      const struct case_run *r, int with_objs)
{
    int k = 0;
    argv[k++] = EJ_TOOL_PATH;
    argv[k++] = (char *)cmd;
    if (strcmp(cmd, "link") == 0) {
        argv[k++] = "-o";
        argv[k++] = (char *)image;
    }
    for (int i = 0; with_objs && i < c->nlibs; i++) {
        argv[k++] = "-l";
        argv[k++] = c->libs[i];
    }
    for (int i = 0; with_objs && i < c->nobjs; i++)
        argv[k++] = c->objs[i];
    if (!with_objs)
        argv[k++] = (char *)image;
    if (r->nargs && strcmp(cmd, "run") == 0)
        argv[k++] = "--";
    for (int i = 0; strcmp(cmd, "run") == 0 && i < r->nargs; i++)
        argv[k++] = r->args[i];
    argv[k] = NULL;
}

ParameterizedTest(struct prog_case *c, programs, run, .timeout = 120)
{
    struct case_run r;
    case_begin(c, &r);
    char *jit_argv[4 + 2 * MAX_LIBS + MAX_OBJS + 1 + MAX_ARGS + 1];
    tool_argv(jit_argv, "run", NULL, c, &r, 1);
    check_run(c, &r, jit_argv);
    case_end(&r);
}

/* The same program linked once into an image (`elfjit link -o`), then run
 * from it: exactly what the normal link does.  A program an image cannot
 * hold yet (thread-local storage) must be refused by `elfjit link` with
 * one line saying so. */
ParameterizedTestParameters(programs, image)
{
    return programs_run_params();
}

ParameterizedTest(struct prog_case *c, programs, image, .timeout = 120)
{
    struct case_run r;
    case_begin(c, &r);
    char image[512], *p;
    snprintf(image, sizeof image, "%s/images/%s.eji", EJ_TEST_BINARY_DIR, c->name);
    for (p = image + strlen(EJ_TEST_BINARY_DIR "/images/"); *p; p++)
        if (*p == '/')
            *p = '_';
    mkdir(EJ_TEST_BINARY_DIR "/images", 0755);
    unlink(image);
    char *argv[4 + 2 * MAX_LIBS + MAX_OBJS + 1 + MAX_ARGS + 1];
    tool_argv(argv, "link", image, c, &r, 1);
    struct outcome lnk;
    run_capture(argv, r.env, &lnk, r.qenv);
    if (!c->link_error && strstr(lnk.err, "not supported in images yet")) {
        cr_expect(WIFEXITED(lnk.status) && WEXITSTATUS(lnk.status) == 1 && !lnk.out_len,
                  "%s: a refused image must fail with status 1 and no output", c->name);
        outcome_free(&lnk);
        case_end(&r);
        cr_skip_test("%s: thread-local storage is not saved in images yet", c->name);
    }
    if (c->link_error) {
        /* (The link's error, once, from either step.) */
        int linked = !lnk.timed_out && WIFEXITED(lnk.status) && WEXITSTATUS(lnk.status) == 0;
        outcome_free(&lnk);
        if (!linked) {
            tool_argv(argv, "link", image, c, &r, 1);
        } else {
            tool_argv(argv, "run", image, c, &r, 0);
        }
        check_run(c, &r, argv);
        case_end(&r);
        return;
    }
    cr_assert(!lnk.timed_out && WIFEXITED(lnk.status) && WEXITSTATUS(lnk.status) == 0 &&
                  !lnk.out_len,
              "%s: elfjit link failed: %.400s", c->name, lnk.err);
    outcome_free(&lnk);
    tool_argv(argv, "run", image, c, &r, 0);
    check_run(c, &r, argv);
    unlink(image);
    case_end(&r);
}
