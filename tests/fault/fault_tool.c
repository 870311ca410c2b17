/* Fault injection through the elfjit tool.
 *
 *   ej_fault_tool FAMILY [--variant default|profile] [--n N] [--gdb] [--verbose]
 *
 * Runs `elfjit run fx_main.o fx_lib.o fx_data.o` (--variant profile:
 * `ELFJIT_CODEMEM=dual elfjit run --perf-map --jitdump fx_main.o
 * fx_lib_plain.o fx_data.o`, dual-mapped code memory, every registration;
 * --variant weak adds fx_weak.o, a weak reference nothing defines;
 * --variant image: `elfjit run fx.eji`, the default objects saved once,
 * uninjected, by `elfjit link -o fx.eji`, so what is injected is an
 * image's load; --variant save: `elfjit link -o fx.saved.eji` of the
 * default objects, so what is injected is a link saving an image: its
 * temporary file, its writes, its checksum and its rename) with
 * libej_fault_preload.so preloaded, once to count (N = 0) and then
 * for N = 1, 2, ... until the run no longer reaches the Nth call of
 * FAMILY.  The fixture's main pauses injection, so what is injected is
 * elfjit's own work: argument parsing, reading, linking, registering and
 * starting the program (constructors included).
 *
 * Each run must end either with status 1 and one line "elfjit: MESSAGE" on
 * stderr that says what failed, and nothing on stdout (nothing ran), or
 * with the program's own output and status 0 (the failure was tolerated).
 * Never a signal, never status 2 (usage) for a failing system.  The shim's
 * report must show no W+X mapping at any moment, no descriptor left open
 * and no leak (LeakSanitizer under ASan, the shim's reachability check
 * otherwise); after a failure also nothing still mapped, nothing in the
 * PC registry and nothing in GDB's JIT list.  A failed save leaves no
 * image and no temporary file; a successful one writes an image that
 * `elfjit run` (uninjected) runs.
 *
 * --n N runs only that N and shows the run's stderr and report; --gdb
 * reruns every failing N under gdb and prints its backtrace. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fault_common.h"

extern char **environ;

typedef struct run {
    int status;      /* exit status, or 128 + signal */
    int signaled;
    char out[4096], err[16384], rep[16384];
} run;

static struct {
    int profile, weak, image, save, verbose, gdb;
    char expected[128];
} G;

static void slurp(const char *path, char *buf, size_t len)
{
    int fd = open(path, O_RDONLY);
    size_t n = 0;
    ssize_t r;
    while (fd >= 0 && n < len - 1 && (r = read(fd, buf + n, len - 1 - n)) > 0)
        n += (size_t)r;
    buf[n] = '\0';
    if (fd >= 0)
        close(fd);
}

/* What --variant save writes: a file per family, as ctest runs them at
 * once. */
static char saved_image[4096];
#define SAVED_IMAGE saved_image

/* Files beside SAVED_IMAGE that a save left (its temporary files are
 * SAVED_IMAGE.XXXXXX): their number; the first one's name in NAME. */
static int leftovers(char *name, size_t len)
{
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "ls -d '%s'.?????? 2>/dev/null", SAVED_IMAGE);
    FILE *p = popen(cmd, "r");
    int n = 0;
    name[0] = '\0';
    char line[4096];
    while (p && fgets(line, sizeof line, p))
        if (n++ == 0)
            snprintf(name, len, "%.*s", (int)strcspn(line, "\n"), line);
    if (p)
        pclose(p);
    return n;
}

/* The emulator's words (cross builds), then the tool's command line. */
static int tool_argv(char **argv, int max)
{
    static char words[1024];
    int n = 0;
    snprintf(words, sizeof words, "%s", EJ_TEST_EMULATOR);
    for (char *save = NULL, *w = strtok_r(words, " ", &save); w && n < max - 12;
         w = strtok_r(NULL, " ", &save))
        argv[n++] = w;
    argv[n++] = EJ_TOOL_PATH;
    argv[n++] = G.save ? "link" : "run";
    if (G.save) {
        argv[n++] = "-o";
        argv[n++] = SAVED_IMAGE;
    }
    if (G.profile) {
        argv[n++] = "--perf-map";
        argv[n++] = "--jitdump";
    }
    if (G.image) {
        argv[n++] = EJ_FAULT_IMAGE;
        argv[n] = NULL;
        return n;
    }
    argv[n++] = EJ_FAULT_FX_DIR "/fx_main.o";
    /* (The profile variant's library is an archive: the archive path too.) */
    argv[n++] = G.profile ? EJ_FAULT_FX_DIR "/libfx_plain.a" : EJ_FAULT_FX_DIR "/fx_lib.o";
    argv[n++] = EJ_FAULT_FX_DIR "/fx_data.o";
    if (G.weak)
        argv[n++] = EJ_FAULT_FX_DIR "/fx_weak.o";
    argv[n] = NULL;
    return n;
}

static char env_buf[8][4200];

/* The environment of a run: the caller's, plus the shim's settings. */
static char **run_env(int family, long n, const char *report)
{
    static char *env[512];
    int k = 0;
    for (char **e = environ; *e && k < 500; e++)
        if (strncmp(*e, "LD_PRELOAD=", 11) && strncmp(*e, "ASAN_OPTIONS=", 13) &&
            strncmp(*e, "EJ_FAULT_", 9) && strncmp(*e, "QEMU_SET_ENV=", 13) &&
            strncmp(*e, "ELFJIT_CODEMEM=", 15))
            env[k++] = *e;
    /* --variant profile: dual-mapped code memory (src/codemem); else the
     * default choice (a probe). */
    snprintf(env_buf[5], sizeof env_buf[5], "ELFJIT_CODEMEM=dual");
    const char *asan = getenv("ASAN_OPTIONS");
    /* The shim is preloaded ahead of libasan (it must see malloc first);
     * leaks are reported with a status of their own, never by aborting. */
    snprintf(env_buf[0], sizeof env_buf[0],
             "ASAN_OPTIONS=%s%sdetect_leaks=1:verify_asan_link_order=0:abort_on_error=0:"
             "exitcode=23", asan ? asan : "", asan && *asan ? ":" : "");
    if (EJ_TEST_EMULATOR[0])
        snprintf(env_buf[1], sizeof env_buf[1], "QEMU_SET_ENV=LD_PRELOAD=%s",
                 EJ_FAULT_PRELOAD_PATH);
    else
        snprintf(env_buf[1], sizeof env_buf[1], "LD_PRELOAD=%s", EJ_FAULT_PRELOAD_PATH);
    snprintf(env_buf[2], sizeof env_buf[2], "EJ_FAULT_FAMILY=%s", fault_family_names[family]);
    snprintf(env_buf[3], sizeof env_buf[3], "EJ_FAULT_N=%ld", n);
    snprintf(env_buf[4], sizeof env_buf[4], "EJ_FAULT_REPORT=%s", report);
    for (int i = 0; i < (G.profile ? 6 : 5); i++)
        env[k++] = env_buf[i];
    env[k] = NULL;
    return env;
}

static void cleanup_tmp(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/tmp/perf-%ld.map", (long)pid);
    unlink(path);
    snprintf(path, sizeof path, "/tmp/jit-%ld.dump", (long)pid);
    unlink(path);
}

static char tmp_dir[] = "/tmp/ej_fault_toolXXXXXX";

static void remove_tmpdir(void)
{
    char path[128];
    for (const char *f = "out\0err\0report\0"; *f; f += strlen(f) + 1) {
        snprintf(path, sizeof path, "%s/%s", tmp_dir, f);
        unlink(path);
    }
    rmdir(tmp_dir);
}

static const char *tmpdir_path(void)
{
    static int made;
    if (!made) {
        if (!mkdtemp(tmp_dir)) {
            perror("mkdtemp");
            exit(1);
        }
        atexit(remove_tmpdir);
        made = 1;
    }
    return tmp_dir;
}

static void run_tool(int family, long n, run *r)
{
    char out[256], err[256], rep[256];
    snprintf(out, sizeof out, "%s/out", tmpdir_path());
    snprintf(err, sizeof err, "%s/err", tmpdir_path());
    snprintf(rep, sizeof rep, "%s/report", tmpdir_path());
    unlink(rep);
    char *argv[64];
    tool_argv(argv, 64);
    char **env = run_env(family, n, rep);
    if (G.save)
        unlink(SAVED_IMAGE);
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        exit(1);
    }
    if (pid == 0) {
        int fo = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int fe = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int fi = open("/dev/null", O_RDONLY);
        if (fo < 0 || fe < 0 || fi < 0)
            _exit(126);
        dup2(fi, 0);
        dup2(fo, 1);
        dup2(fe, 2);
        close(fi);
        close(fo);
        close(fe);
        execve(argv[0], argv, env);
        _exit(127);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    cleanup_tmp(pid);
    r->signaled = WIFSIGNALED(st);
    r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    slurp(out, r->out, sizeof r->out);
    slurp(err, r->err, sizeof r->err);
    slurp(rep, r->rep, sizeof r->rep);
}

/* The value of KEY= in the report ("" when absent). */
static const char *rep_get(const run *r, const char *key, char *buf, size_t len)
{
    size_t kl = strlen(key);
    buf[0] = '\0';
    for (const char *p = r->rep; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        if (strncmp(p, key, kl) == 0 && p[kl] == '=') {
            size_t n = strcspn(p + kl + 1, "\n");
            snprintf(buf, len, "%.*s", (int)(n < len ? n : len - 1), p + kl + 1);
            return buf;
        }
    return buf;
}

static long rep_num(const run *r, const char *key)
{
    char buf[64];
    return atol(rep_get(r, key, buf, sizeof buf));
}

static char failures[8192];
static int nfail;

static void failf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void failf(const char *fmt, ...)
{
    size_t at = strlen(failures);
    if (at + 8 >= sizeof failures)
        return;
    if (nfail++)
        at += (size_t)snprintf(failures + at, sizeof failures - at, "\n      ");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(failures + at, sizeof failures - at, fmt, ap);
    va_end(ap);
}

/* errno of the injection, from the site ("malloc(...)" -> ENOMEM ...). */
static int site_errno(int family, const char *site)
{
    switch (family) {
    case FAULT_MPROTECT:
        return EACCES;
    case FAULT_MEMFD:
        return EMFILE;
    case FAULT_IO:
        if (!strncmp(site, "open", 4) || !strncmp(site, "fopen", 5) || !strncmp(site, "opendir", 7) ||
            !strncmp(site, "mkstemp", 7) || !strncmp(site, "mkostemp", 8))
            return EMFILE;
        return !strncmp(site, "posix_fallocate", 15) ? ENOSPC : EIO;
    default:
        return ENOMEM;
    }
}

/* Checks one run; returns the number of failures (details in failures). */
static int check_run(int family, const run *r, const char **site_out)
{
    static char site[512];
    failures[0] = '\0';
    nfail = 0;
    rep_get(r, "injected", site, sizeof site);
    *site_out = site;
    int injected = site[0] != '\0';
    char line[2048];
    if (r->signaled) {
        failf("killed by signal %d", r->status - 128);
        return nfail;
    }
    if (strstr(r->err, "LeakSanitizer"))
        failf("LeakSanitizer found leaks");
    if (strstr(r->err, "AddressSanitizer") || strstr(r->err, "runtime error:"))
        failf("a sanitizer reported an error");
    if (!strstr(r->rep, "end=1"))
        failf("the run did not reach its end (no end-of-run report)");
    if (G.save) {
        struct stat st;
        int exists = stat(SAVED_IMAGE, &st) == 0;
        if (r->status == 0 && !exists)
            failf("status 0 and no image written");
        if (r->status != 0 && exists)
            failf("status %d and an image left at %s", r->status, SAVED_IMAGE);
        if (leftovers(line, sizeof line))
            failf("a temporary file left beside the image: %s", line);
        if (r->status == 0 && (r->out[0] || r->err[0]))
            failf("status 0 with output: stdout '%s', stderr '%s'", r->out, r->err);
        if (r->status == 0) {
            if (rep_num(r, "violations"))
                failf("W^X/registration violations: %s", rep_get(r, "violation", line, sizeof line));
            if (rep_num(r, "fds"))
                failf("descriptor left open: %s", rep_get(r, "fd.extra", line, sizeof line));
            if (rep_num(r, "leaks"))
                failf("%ld block(s) leaked: %s", rep_num(r, "leaks"),
                      rep_get(r, "leak", line, sizeof line));
            return nfail;
        }
    }
    if (r->status == 0) {
        if (strcmp(r->out, G.expected) != 0)
            failf("status 0 but stdout is '%s', expected '%s'", r->out, G.expected);
        if (r->err[0] && !strstr(r->err, "Sanitizer"))
            failf("status 0 but stderr is '%s'", r->err);
        if (!rep_num(r, "paused"))
            failf("status 0 but the program's main did not run");
    } else if (r->status == 1) {
        size_t len = strcspn(r->err, "\n");
        snprintf(line, sizeof line, "%.*s", (int)len, r->err);
        if (strncmp(line, "elfjit: ", 8) != 0 || !fault_readable(line + 8))
            failf("status 1 without an 'elfjit: MESSAGE' line: stderr '%s'", r->err);
        else if (injected && !fault_names_failure(family, site_errno(family, site), line + 8))
            failf("'%s' does not say what failed", line);
        if (r->err[len] == '\n' && r->err[len + 1] && !strstr(r->err, "Sanitizer"))
            failf("more than one line on stderr: '%s'", r->err);
        if (r->out[0])
            failf("stdout is not empty: '%s'", r->out);
        /* Once the link succeeded the tool keeps the module until exit on
         * purpose (tools/elfjit.c: running_module). */
        int linked = rep_num(r, "linked") == 1;
        if (linked)
            ;
        else if (rep_num(r, "live"))
            failf("%ld region(s) still mapped at exit, e.g. %s", rep_num(r, "live"),
                  rep_get(r, "live.region", line, sizeof line));
        if (!linked && rep_num(r, "registry"))
            failf("%ld region(s) still in the PC registry at exit", rep_num(r, "registry"));
        if (!linked && rep_num(r, "gdb"))
            failf("%ld entries left in GDB's JIT list at exit", rep_num(r, "gdb"));
        if (!linked && rep_num(r, "fds_tls"))
            failf("the TLS module's descriptor left open after a failed link: %s",
                  rep_get(r, "fd.tls", line, sizeof line));
    } else if (r->status == 2) {
        failf("status 2 (bad usage) for a failing system: stderr '%s'", r->err);
    } else if (r->status == 23) {
        failf("status 23: a sanitizer's report (its stderr follows)");
    } else {
        failf("status %d: stderr '%s'", r->status, r->err);
    }
    if (rep_num(r, "violations"))
        failf("%ld W^X/registration violation(s): %s", rep_num(r, "violations"),
              rep_get(r, "violation", line, sizeof line));
    if (rep_num(r, "fds"))
        failf("descriptor left open: %s", rep_get(r, "fd.extra", line, sizeof line));

    if (rep_num(r, "leaks"))
        failf("%ld block(s) leaked: %s", rep_num(r, "leaks"), rep_get(r, "leak", line, sizeof line));
    return nfail;
}

static void gdb_backtrace(int family, long n)
{
    char *argv[64];
    int argc = tool_argv(argv, 64);
    if (EJ_TEST_EMULATOR[0])
        return;
    char cmd[8192];
    int at = snprintf(cmd, sizeof cmd,
                      "gdb -q -batch -ex 'set startup-with-shell off' "
                      "-ex 'set env LD_PRELOAD=%s' -ex 'set env EJ_FAULT_FAMILY=%s' "
                      "-ex 'set env EJ_FAULT_N=%ld' -ex 'set env EJ_FAULT_REPORT=/dev/null' "
                      "-ex 'set env ASAN_OPTIONS=detect_leaks=0:verify_asan_link_order=0' "
                      "-ex run -ex bt --args",
                      EJ_FAULT_PRELOAD_PATH, fault_family_names[family], n);
    for (int i = 0; i < argc; i++)
        at += snprintf(cmd + at, sizeof cmd - (size_t)at, " %s", argv[i]);
    snprintf(cmd + at, sizeof cmd - (size_t)at, " </dev/null 2>&1 | grep -E '^#|signal|Program' | head -40");
    fprintf(stderr, "    --- gdb ---\n");
    fflush(stderr);
    if (system(cmd) != 0)
        fprintf(stderr, "    (gdb failed)\n");
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The image the image variant loads: the default objects, saved by an
 * uninjected `elfjit link`. */
static int save_image(void)
{
    char *argv[] = {EJ_TOOL_PATH, "link", "-o", EJ_FAULT_IMAGE, EJ_FAULT_FX_DIR "/fx_main.o",
                    EJ_FAULT_FX_DIR "/fx_lib.o", EJ_FAULT_FX_DIR "/fx_data.o", NULL};
    pid_t pid = fork();
    if (pid == 0) {
        execv(argv[0], argv);
        _exit(127);
    }
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status)) {
        fprintf(stderr, "tool/image: `elfjit link -o %s` failed\n", EJ_FAULT_IMAGE);
        return 1;
    }
    return 0;
}

/* The image the last (uninjected) save wrote, run uninjected: it must run
 * as the objects do. */
static int run_saved(void)
{
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "'%s' run '%s' 2>&1", EJ_TOOL_PATH, SAVED_IMAGE);
    FILE *p = popen(cmd, "r");
    char out[4096] = "";
    size_t n = p ? fread(out, 1, sizeof out - 1, p) : 0;
    out[n] = '\0';
    int st = p ? pclose(p) : -1;
    unlink(SAVED_IMAGE);
    if (st != 0 || strcmp(out, G.expected) != 0) {
        printf("tool/save: FAIL: the saved image runs with status %d and output '%s', expected "
               "'%s'\n", st, out, G.expected);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    int family = -1;
    long only = -1;
    const char *variant = "default";
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--variant") == 0 && i + 1 < argc)
            variant = argv[++i];
        else if (strcmp(argv[i], "--n") == 0 && i + 1 < argc)
            only = atol(argv[++i]);
        else if (strcmp(argv[i], "--gdb") == 0)
            G.gdb = 1;
        else if (strcmp(argv[i], "--verbose") == 0)
            G.verbose = 1;
        else if (family < 0 && fault_family_from_name(argv[i]) >= 0)
            family = fault_family_from_name(argv[i]);
        else
            family = -2;
    }
    if (family < 0 ||
        (strcmp(variant, "default") && strcmp(variant, "profile") && strcmp(variant, "weak") &&
         strcmp(variant, "image") && strcmp(variant, "save"))) {
        fprintf(stderr, "usage: %s alloc|mmap|mprotect|munmap|memfd|io|membarrier|libelf "
                        "[--variant default|profile|weak|image|save] [--n N] [--gdb] [--verbose]\n",
                argv[0]);
        return 2;
    }
    G.profile = strcmp(variant, "profile") == 0;
    G.weak = strcmp(variant, "weak") == 0;
    G.image = strcmp(variant, "image") == 0;
    G.save = strcmp(variant, "save") == 0;
    snprintf(saved_image, sizeof saved_image, "%s.%s.saved.eji", EJ_FAULT_IMAGE,
             fault_family_names[family]);
    snprintf(G.expected, sizeof G.expected, "%s %d 1\n", FX_GREETING,
             fault_expected_compute(7, !G.profile));
    if (EJ_TEST_EMULATOR[0]) {
        /* qemu-user runs the tool, and every injection point would be a
         * whole emulated process start: minutes per family.  The API
         * driver covers the same library code under the emulator. */
        printf("SKIP tool/%s %s: under the emulator (%s) a preloaded shim is a guest "
               "library and each of the ~thousand runs a qemu start; the API test "
               "(fault_api_*) covers the library here\n", variant, fault_family_names[family],
               EJ_TEST_EMULATOR);
        return 77;
    }
    if (G.image && save_image() != 0)
        return 1;
    static run r;
    const char *site;
    if (only >= 0) {
        run_tool(family, only, &r);
        int f = check_run(family, &r, &site);
        printf("tool/%s %s N=%ld: status %d, injected %s\n--- stderr ---\n%s--- report ---\n%s",
               variant, fault_family_names[family], only, r.status, site[0] ? site : "nothing",
               r.err, r.rep);
        if (f)
            printf("FAIL: %s\n", failures);
        if (f && G.gdb)
            gdb_backtrace(family, only);
        return f != 0;
    }
    double t0 = now();
    run_tool(family, 0, &r);
    if (check_run(family, &r, &site) || r.status != 0) {
        fprintf(stderr, "tool/%s %s: the uninjected run fails (status %d): %s\nstderr: %s\n",
                variant, fault_family_names[family], r.status, failures, r.err);
        return 1;
    }
    if (rep_num(&r, "libelf_ranges") == 0 && family == FAULT_LIBELF)
        fprintf(stderr, "tool/%s libelf: warning: libelf's code was not found in the tool\n",
                variant);
    char key[64];
    snprintf(key, sizeof key, "count.%s", fault_family_names[family]);
    long points = rep_num(&r, key);
    int nfailed = 0;
    long n = 1;
    for (;; n++) {
        run_tool(family, n, &r);
        int f = check_run(family, &r, &site);
        int injected = site[0] != '\0';
        if (f) {
            nfailed++;
            char first[512];
            snprintf(first, sizeof first, "%.*s", (int)strcspn(r.err, "\n"), r.err);
            fprintf(stderr, "FAIL %s N=%ld: status %d, injected %s\n      %s\n", fault_family_names[family], n,
                    r.status, injected ? site : "nothing", failures);
            if ((r.signaled || strstr(r.err, "Sanitizer")) && r.err[0])
                fprintf(stderr, "    --- its stderr ---\n%s    ---\n", r.err);
            if (G.gdb && r.signaled)
                gdb_backtrace(family, n);
        } else if (G.verbose && injected) {
            fprintf(stderr, "ok   %s N=%ld: %s -> status %d %.*s\n", fault_family_names[family], n,
                    site, r.status, (int)strcspn(r.err, "\n"), r.err);
        }
        if ((!injected && !r.signaled) || n > 100000)
            break;
    }
    if (G.save && !nfailed && run_saved() != 0)
        nfailed++;
    printf("tool/%s %s: %ld injection points (uninjected count %ld), %d failing, %.1f s\n",
           variant, fault_family_names[family], n - 1, points, nfailed, now() - t0);
    if (points == 0 && family == FAULT_LIBELF) {
        printf("tool/%s libelf: FAIL: no allocation was attributed to libelf\n", variant);
        nfailed++;
    }
    return nfailed != 0;
}
