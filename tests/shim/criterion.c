/* Runner of the Criterion-compatible shim (see criterion/criterion.h).
 *
 * The runner collects the tests registered by constructors, sorts them by
 * suite and name (as Criterion does), asks each parameterized test for its
 * parameters, then runs every test -- every parameter -- in its own forked
 * process, up to --jobs at a time.  A test process writes what it has to
 * report into a temporary file the runner reads once it has ended:
 *   "\001FAIL\n"       an assertion failed (its message lines follow),
 *   "\001SKIP msg\n"   the test skipped itself,
 *   "\001END\n"        the test function returned (or was aborted by a
 *                      failed cr_assert) and .fini ran,
 * and any other line is text to print.  A test process that ends without
 * "\001END" exited by itself (its status is compared with .exit_code) or
 * was killed by a signal (a crash, unless it is .signal) or by the runner
 * (timeout).  The test's own stdout and stderr are the runner's, as with
 * Criterion. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "criterion/criterion.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <malloc.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- registration (constructors run before main) ----------------------- */

static struct ejcr_test *registered;
static struct ejcr_suite *suites;

void ejcr_register(struct ejcr_test *t)
{
    t->next = registered;
    registered = t;
}

void ejcr_register_suite(struct ejcr_suite *s)
{
    s->next = suites;
    suites = s;
}

/* ---- inside a test process ---------------------------------------------- */

static int report_fd = -1;      /* the runner's temporary file */
static long test_tid;           /* the thread running the test */
static jmp_buf test_jmp;
static int failures;
static int verbose;
static pid_t runner_pid;

static long current_tid(void) { return (long)syscall(SYS_gettid); }

static void report_write(const char *s, size_t n)
{
    while (n > 0) {
        ssize_t w = write(report_fd >= 0 ? report_fd : 2, s, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        s += w;
        n -= (size_t)w;
    }
}

static void report_str(const char *s) { report_write(s, strlen(s)); }

static void report_vfmt(const char *fmt, va_list ap)
{
    char buf[8192];
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    if (n < 0)
        return;
    report_write(buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
}

static void report_fmt(const char *fmt, ...) EJCR_PRINTF(1, 2);
static void report_fmt(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report_vfmt(fmt, ap);
    va_end(ap);
}

/* Prints MSG as Criterion does: each line prefixed with "[----]   ". */
static void report_message(const char *file, int line, const char *msg)
{
    report_str("\001FAIL\n");
    report_fmt("[----] %s:%d: Assertion Failed\n[----]   \n", file, line);
    const char *p = msg;
    do {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        report_fmt("[----]   %.*s\n", (int)len, p);
        p = nl ? nl + 1 : NULL;
    } while (p);
    report_str("[----]   \n");
}

static _Noreturn void abort_test(void)
{
    if (current_tid() == test_tid)
        longjmp(test_jmp, 1);
    /* A failed cr_assert on another thread: nothing to unwind to. */
    report_str("\001END\n");
    _exit(1);
}

void ejcr_count_pass(void) {}

/* FMT starts with the "x" the macros put before the user's format. */
static char *user_message(const char *fmt, va_list ap)
{
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) < 0)
        return NULL;
    if (!s[1]) {
        free(s);
        return NULL;
    }
    return s;
}

void ejcr_check_fail(int fatal, const char *file, int line, const char *defmsg,
                     const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = user_message(fmt, ap);
    va_end(ap);
    failures++;
    report_message(file, line, msg ? msg + 1 : defmsg);
    free(msg);
    if (fatal)
        abort_test();
}

void ejcr_check_fail_str(int fatal, const char *file, int line, const char *expr,
                         const char *actual, const char *expected, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = user_message(fmt, ap);
    va_end(ap);
    char *def = NULL;
    if (asprintf(&def, "The expression (as strings) %s is false: actual=`%s` expected=`%s`.",
                 expr, actual ? actual : "(null)", expected ? expected : "(null)") < 0)
        def = NULL;
    failures++;
    report_message(file, line, msg ? msg + 1 : def ? def : expr);
    free(msg);
    free(def);
    if (fatal)
        abort_test();
}

void ejcr_skip(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = user_message(fmt, ap);
    va_end(ap);
    report_fmt("\001SKIP %s\n", msg ? msg + 1 : "");
    free(msg);
    abort_test();
}

void ejcr_log(enum criterion_severity sev, const char *fmt, ...)
{
    static const char *const tags[] = {"[----] ", "[WARN] ", "[ERR ] "};
    if (sev == CR_LOG_INFO && !verbose)
        return;
    va_list ap;
    va_start(ap, fmt);
    report_str(tags[sev <= CR_LOG_ERROR ? sev : CR_LOG_ERROR]);
    report_vfmt(fmt, ap);
    report_str("\n");
    va_end(ap);
}

/* ---- redirected stdout / stderr ------------------------------------------ */

static FILE *redirected[3];

static void redirect(int fd)
{
    fflush(fd == 1 ? stdout : stderr);
    FILE *f = tmpfile();
    if (!f || dup2(fileno(f), fd) < 0) {
        fprintf(stderr, "criterion shim: cannot redirect fd %d\n", fd);
        abort();
    }
    redirected[fd] = f;
}

void cr_redirect_stdout(void) { redirect(1); }
void cr_redirect_stderr(void) { redirect(2); }

static FILE *redirected_contents(int fd)
{
    fflush(fd == 1 ? stdout : stderr);
    FILE *f = redirected[fd];
    if (f)
        rewind(f);
    return f;
}

FILE *cr_get_redirected_stdout(void) { return redirected_contents(1); }
FILE *cr_get_redirected_stderr(void) { return redirected_contents(2); }

int ejcr_file_equals(FILE *f, const char *str)
{
    if (!f || !str)
        return 0;
    size_t n = strlen(str), i = 0;
    int c;
    while ((c = fgetc(f)) != EOF) {
        if (i >= n || (unsigned char)str[i] != c)
            return 0;
        i++;
    }
    return i == n;
}

int ejcr_stream_equals(int fd, const char *str)
{
    FILE *f = redirected_contents(fd);
    if (!f) {
        report_fmt("[----] cr_*_%s_*: the stream was not redirected "
                   "(cr_redirect_%s in .init)\n", fd == 1 ? "stdout" : "stderr",
                   fd == 1 ? "stdout" : "stderr");
        return -1;
    }
    return ejcr_file_equals(f, str);
}

/* ---- the runner ------------------------------------------------------------ */

typedef struct instance {
    struct ejcr_test *t;
    struct ejcr_suite *suite;
    void *param;     /* NULL for a plain test */
    size_t index;    /* parameter index */
    int nparams;     /* > 1: print the index */
    /* while running */
    pid_t pid;
    FILE *report;
    double start;
    int timed_out;
} instance;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int by_name(const void *a, const void *b)
{
    const struct ejcr_test *x = *(struct ejcr_test *const *)a, *y = *(struct ejcr_test *const *)b;
    int c = strcmp(x->suite, y->suite);
    return c ? c : strcmp(x->name, y->name);
}

static struct ejcr_suite *suite_of(const char *name)
{
    for (struct ejcr_suite *s = suites; s; s = s->next)
        if (strcmp(s->name, name) == 0)
            return s;
    return NULL;
}

static const char *label(const instance *in, char *buf, size_t n)
{
    if (in->nparams > 1 || in->param)
        snprintf(buf, n, "%s::%s[%zu]", in->t->suite, in->t->name, in->index);
    else
        snprintf(buf, n, "%s::%s", in->t->suite, in->t->name);
    return buf;
}

/* A forked process's first growth of the heap becomes a mapping of its
 * own: the kernel does not merge it with the heap inherited from the
 * runner.  Tests that count /proc/self/maps lines around a link would see
 * that one extra line, which a freshly executed process (Criterion's
 * workers) never shows.  So grow the heap once before the test, and keep
 * it (no trimming): later growth extends this process's own mapping. */
static void own_heap(void)
{
    enum { CHUNK = 64 << 10, MAX = 64 };
    void *chunks[MAX];
    int n = 0;
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
    void *brk0 = sbrk(0);
    while (n < MAX && sbrk(0) == brk0 && (chunks[n] = malloc(CHUNK)) != NULL)
        n++;
    while (n > 0)
        free(chunks[--n]);
}

static _Noreturn void run_in_child(instance *in)
{
    struct ejcr_test *t = in->t;
    void (*init)(void) = t->init ? t->init : in->suite ? in->suite->init : NULL;
    void (*fini)(void) = t->fini ? t->fini : in->suite ? in->suite->fini : NULL;
    setpgid(0, 0); /* the runner can then end the test and everything it spawned */
    prctl(PR_SET_PDEATHSIG, SIGKILL); /* and a killed runner (ctest's timeout) ends it */
    if (getppid() != runner_pid)
        _exit(1);
    report_fd = fileno(in->report);
    test_tid = current_tid();
    own_heap();
    volatile int inited = 0;
    if (setjmp(test_jmp) == 0) {
        if (init)
            init();
        inited = 1;
        if (t->pfn)
            t->pfn(in->param);
        else
            t->fn();
    }
    if (inited && fini && setjmp(test_jmp) == 0)
        fini();
    fflush(stdout);
    fflush(stderr);
    report_str("\001END\n");
    exit(failures ? 1 : 0);
}

typedef struct totals {
    int tested, passed, failed, crashed, skipped;
} totals;

/* Reads what the test process reported, prints it, and counts the result. */
static void finish(instance *in, int status, double secs, totals *tot)
{
    char name[512], line[8192];
    int fails = 0, ended = 0;
    char *skip = NULL;
    fflush(in->report);
    rewind(in->report);
    while (fgets(line, sizeof line, in->report)) {
        if (strcmp(line, "\001FAIL\n") == 0) {
            fails++;
        } else if (strcmp(line, "\001END\n") == 0) {
            ended = 1;
        } else if (strncmp(line, "\001SKIP ", 6) == 0) {
            free(skip);
            skip = strdup(line + 6);
            if (skip && *skip && skip[strlen(skip) - 1] == '\n')
                skip[strlen(skip) - 1] = 0;
        } else {
            fputs(line, stderr);
        }
    }
    fclose(in->report);
    in->report = NULL;
    label(in, name, sizeof name);
    struct ejcr_test *t = in->t;
    int want_signal = t->signal ? t->signal : in->suite ? in->suite->signal : 0;
    int want_exit = t->exit_code ? t->exit_code : in->suite ? in->suite->exit_code : 0;

    if (skip && !fails) {
        tot->skipped++;
        fprintf(stderr, "[SKIP] %s: %s\n", name, skip);
        free(skip);
        return;
    }
    free(skip);
    tot->tested++;
    if (in->timed_out) {
        tot->failed++;
        fprintf(stderr, "[FAIL] %s: Timed out. (%.2fs)\n", name, secs);
        return;
    }
    if (WIFSIGNALED(status)) {
        int sig = WTERMSIG(status);
        if (sig == want_signal && !fails) {
            tot->passed++;
            if (verbose)
                fprintf(stderr, "[PASS] %s: (%.2fs)\n", name, secs);
            return;
        }
        tot->failed++;
        tot->crashed++;
        fprintf(stderr, "[----] %s:%d: killed by signal %d (%s)\n", t->file, t->line, sig,
                strsignal(sig));
        fprintf(stderr, "[FAIL] %s: CRASH!\n", name);
        return;
    }
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    int ok = !fails && !want_signal && (ended ? code == 0 : code == want_exit);
    if (ok) {
        tot->passed++;
        if (verbose)
            fprintf(stderr, "[PASS] %s: (%.2fs)\n", name, secs);
        return;
    }
    tot->failed++;
    if (!ended && !fails)
        fprintf(stderr, "[----] %s:%d: the test process exited with status %d%s\n", t->file,
                t->line, code, want_signal ? " instead of being killed by the expected signal" : "");
    fprintf(stderr, "[FAIL] %s: (%.2fs)\n", name, secs);
}

static void usage(const char *argv0)
{
    fprintf(stderr,
            "usage: %s [--jobs=N|-jN] [--verbose[=N]] [--filter=SUITE/NAME-GLOB] [--list]\n"
            "(elfjit's Criterion-compatible test runner, tests/shim)\n",
            argv0);
}

int main(int argc, char **argv)
{
    long jobs = sysconf(_SC_NPROCESSORS_ONLN);
    const char *filter = NULL;
    int list = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--jobs=", 7) == 0)
            jobs = strtol(a + 7, NULL, 10);
        else if (strncmp(a, "-j", 2) == 0 && a[2])
            jobs = strtol(a + 2, NULL, 10);
        else if (strcmp(a, "--jobs") == 0 && i + 1 < argc)
            jobs = strtol(argv[++i], NULL, 10);
        else if (strcmp(a, "--verbose") == 0 || strncmp(a, "--verbose=", 10) == 0)
            verbose = 1;
        else if (strncmp(a, "--filter=", 9) == 0)
            filter = a + 9;
        else if (strcmp(a, "--list") == 0 || strcmp(a, "-l") == 0)
            list = 1;
        else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(argv[0]);
            return 0;
        } else {
            fprintf(stderr, "criterion shim: unknown option '%s'\n", a);
            usage(argv[0]);
            return 3;
        }
    }
    if (jobs < 1)
        jobs = 1;
    runner_pid = getpid();

    size_t ntests = 0;
    for (struct ejcr_test *t = registered; t; t = t->next)
        ntests++;
    struct ejcr_test **tests = calloc(ntests ? ntests : 1, sizeof *tests);
    if (!tests)
        return 3;
    ntests = 0;
    for (struct ejcr_test *t = registered; t; t = t->next)
        tests[ntests++] = t;
    qsort(tests, ntests, sizeof *tests, by_name);

    if (list) {
        for (size_t i = 0; i < ntests; i++)
            printf("%s::%s%s\n", tests[i]->suite, tests[i]->name,
                   tests[i]->pfn ? " (parameterized)" : "");
        return 0;
    }

    /* Expand parameterized tests; their parameters are made here, once. */
    size_t ninst = 0, cap = 64;
    instance *insts = calloc(cap, sizeof *insts);
    struct criterion_test_params *params = calloc(ntests ? ntests : 1, sizeof *params);
    totals tot = {0};
    if (!insts || !params)
        return 3;
    for (size_t i = 0; i < ntests; i++) {
        struct ejcr_test *t = tests[i];
        char path[512];
        snprintf(path, sizeof path, "%s/%s", t->suite, t->name);
        if (filter && fnmatch(filter, path, 0) != 0)
            continue;
        struct ejcr_suite *s = suite_of(t->suite);
        if (t->disabled || (s && s->disabled)) {
            fprintf(stderr, "[SKIP] %s::%s: Test is disabled\n", t->suite, t->name);
            tot.skipped++;
            continue;
        }
        size_t n = 1;
        if (t->pfn) {
            fflush(NULL);
            params[i] = t->params();
            n = params[i].length;
        }
        for (size_t k = 0; k < n; k++) {
            if (ninst == cap) {
                instance *ni = realloc(insts, 2 * cap * sizeof *insts);
                if (!ni)
                    return 3;
                memset(ni + cap, 0, cap * sizeof *ni);
                insts = ni;
                cap *= 2;
            }
            instance *in = &insts[ninst++];
            in->t = t;
            in->suite = s;
            in->index = k;
            in->nparams = (int)n;
            if (t->pfn)
                in->param = (char *)params[i].params + k * params[i].size;
        }
    }
    if (verbose)
        fprintf(stderr, "[----] Criterion-compatible shim (elfjit tests/shim): %zu tests, "
                        "%ld jobs\n", ninst, jobs);

    size_t next = 0, running = 0;
    instance **slots = calloc((size_t)jobs, sizeof *slots);
    if (!slots)
        return 3;
    while (next < ninst || running > 0) {
        /* Start tests while there are free slots. */
        for (long j = 0; j < jobs && next < ninst; j++) {
            if (slots[j])
                continue;
            instance *in = &insts[next++];
            in->report = tmpfile();
            if (!in->report) {
                perror("criterion shim: tmpfile");
                return 3;
            }
            fflush(NULL);
            in->start = now_s();
            in->pid = fork();
            if (in->pid < 0) {
                perror("criterion shim: fork");
                return 3;
            }
            if (in->pid == 0)
                run_in_child(in);
            setpgid(in->pid, in->pid); /* also done by the child; whichever runs first */
            if (verbose) {
                char name[512];
                fprintf(stderr, "[RUN ] %s\n", label(in, name, sizeof name));
            }
            slots[j] = in;
            running++;
        }
        /* Reap what has ended; end what has run out of time. */
        int reaped = 0;
        for (long j = 0; j < jobs; j++) {
            instance *in = slots[j];
            if (!in)
                continue;
            int status;
            pid_t w = waitpid(in->pid, &status, WNOHANG);
            double secs = now_s() - in->start;
            double limit = in->t->timeout > 0 ? in->t->timeout
                           : in->suite && in->suite->timeout > 0 ? in->suite->timeout
                                                                 : 0;
            if (w == 0 && limit > 0 && secs > limit) {
                in->timed_out = 1;
                kill(-in->pid, SIGKILL);
                kill(in->pid, SIGKILL);
                w = waitpid(in->pid, &status, 0);
            }
            if (w == in->pid) {
                /* Whatever the test left running in its group goes too. */
                kill(-in->pid, SIGKILL);
                finish(in, status, secs, &tot);
                slots[j] = NULL;
                running--;
                reaped = 1;
            }
        }
        if (!reaped && running > 0) {
            struct timespec nap = {0, 5 * 1000 * 1000};
            nanosleep(&nap, NULL);
        }
    }

    for (size_t i = 0; i < ntests; i++)
        if (params[i].cleanup)
            params[i].cleanup(&params[i]);
    if (tot.skipped)
        fprintf(stderr, "[====] Skipped: %d\n", tot.skipped);
    fprintf(stderr, "[====] Synthesis: Tested: %d | Passing: %d | Failing: %d | Crashing: %d\n",
            tot.tested, tot.passed, tot.failed, tot.crashed);
    free(slots);
    free(insts);
    free(params);
    free(tests);
    return tot.failed ? 1 : 0;
}
