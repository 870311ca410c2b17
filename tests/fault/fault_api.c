/* Fault injection through the API.
 *
 *   ej_fault_api FAMILY [--variant default|all|session] [--n N] [--verbose]
 *   ej_fault_api --selftest
 *
 * One operation: ej_linker_create, ej_linker_set_registration, two
 * ej_linker_add_file and one ej_linker_add_buffer (the fixture of
 * fixtures/), ej_linker_link, ej_linker_free, ej_module_lookup,
 * ej_module_init (a constructor), a call into the module (a libc callback
 * and libgcc's 128-bit division), ej_lookup_pc, ej_module_free (a
 * destructor).  --variant all registers everything there is (perf's map
 * and jitdump too), takes dual-mapped code memory
 * (EJ_CODE_MEMORY_DUAL_MAP) and fx_lib_plain.o, which needs no libgcc
 * helper: then the first to load libgcc_s is the unwinder's registration,
 * not symbol lookup.  --variant session runs the operation through a
 * session instead (run_session_op): fx_compute declared lazily, its first
 * call materialising it, a hot swap over it, retired and freed.
 *
 * For N = 0 (count only), 1, 2, ... a child process (fork, so that every N
 * starts from the same untouched process: one-time initialisations such as
 * loading libgcc_s are reached by every N) arms the shim to fail the Nth
 * call of FAMILY, runs the operation, checks what it left, then runs it
 * again uninjected and checks that too.  The loop ends with the first N the
 * operation no longer reaches.  With --n N only that N runs, in this
 * process (for gdb).
 *
 * Checks after the injected operation: a non-OK status with a readable
 * one-line message naming what failed (or success, then the right results);
 * nothing mapped (every region mapped while armed is unmapped again, but
 * for elfjit's process-lifetime dummy page and jitdump marker); no mapping
 * W+X at any moment; nothing registered (GDB's list unchanged, neither the
 * PC registry nor the unwinder knows any of its addresses); no descriptor
 * left open; nothing leaked (LeakSanitizer under ASan, the shim's
 * reachability check otherwise).  Then the next, uninjected operation must
 * succeed, pass the same checks, and use the same ej_pipeline_flush_mt rung
 * as an untouched process. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "elfjit/coherence.h"
#include "elfjit/elfjit.h"
#include "elfjit/session.h"
#include "fault_common.h"
#include "fault_shim.h"

extern char **environ;

/* GDB's JIT descriptor, defined by elfjit (src/debug/gdbjit.c). */
extern struct {
    uint32_t version, action_flag;
    void *relevant_entry, *first_entry;
} __jit_debug_descriptor;

int __lsan_do_recoverable_leak_check(void) __attribute__((weak));

/* Called by the fixture's destructor (a weak reference resolved in this
 * executable, which exports its symbols). */
void ej_fault_dtor_hook(void);
static int dtor_runs;
void ej_fault_dtor_hook(void)
{
    dtor_runs++;
}

typedef struct op_result {
    int ok;
    char step[48];
    ej_status st;
    char msg[1024];
    int value, dtor_runs, found_pc;
} op_result;

typedef struct child_out {
    int done;
    fault_report rep, rep2; /* of the injected and of the next operation */
    op_result r1, r2;
    int nfail;
    char failures[6144];
    char method[64];
} child_out;

static struct {
    unsigned registration;
    int wide; /* fx_lib.o (128-bit division: libgcc_s) or fx_lib_plain.o */
    int dual; /* EJ_CODE_MEMORY_DUAL_MAP, else the default (mprotect) */
    int session; /* the operation through a session (run_session_op) */
    const void *data;
    size_t data_len;
    const char *method; /* the flush rung of an untouched process */
    int verbose;
} G;

static void failf(child_out *co, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void failf(child_out *co, const char *fmt, ...)
{
    size_t at = strlen(co->failures);
    if (at + 8 >= sizeof co->failures)
        return;
    if (co->nfail++)
        at += (size_t)snprintf(co->failures + at, sizeof co->failures - at, "\n      ");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(co->failures + at, sizeof co->failures - at, fmt, ap);
    va_end(ap);
}

static void step_failed(op_result *r, const char *step, ej_status st, const char *msg)
{
    snprintf(r->step, sizeof r->step, "%s", step);
    r->st = st;
    /* A failed call without a handle (ej_linker_create) says it through
     * its status alone. */
    snprintf(r->msg, sizeof r->msg, "%s", msg && *msg ? msg : msg ? "" : ej_status_str(st));
}

static void run_op(op_result *r)
{
    memset(r, 0, sizeof *r);
    ej_linker *lk = NULL;
    ej_module *m = NULL;
    ej_status st;
    dtor_runs = 0;
    if ((st = ej_linker_create(&lk)) != EJ_OK) {
        step_failed(r, "ej_linker_create", st, NULL);
        if (lk)
            snprintf(r->msg, sizeof r->msg, "ej_linker_create failed but set *out");
        return;
    }
    if ((st = ej_linker_set_registration(lk, G.registration)) != EJ_OK) {
        step_failed(r, "ej_linker_set_registration", st, ej_linker_errmsg(lk));
        goto free_linker;
    }
    if (G.dual && (st = ej_linker_set_code_memory(lk, EJ_CODE_MEMORY_DUAL_MAP)) != EJ_OK) {
        step_failed(r, "ej_linker_set_code_memory", st, ej_linker_errmsg(lk));
        goto free_linker;
    }
    if ((st = ej_linker_add_file(lk, EJ_FAULT_FX_DIR "/fx_main.o")) != EJ_OK) {
        step_failed(r, "ej_linker_add_file(fx_main.o)", st, ej_linker_errmsg(lk));
        goto free_linker;
    }
    if ((st = ej_linker_add_file(lk, G.wide ? EJ_FAULT_FX_DIR "/fx_lib.o"
                                            : EJ_FAULT_FX_DIR "/fx_lib_plain.o")) != EJ_OK) {
        step_failed(r, "ej_linker_add_file(fx_lib.o)", st, ej_linker_errmsg(lk));
        goto free_linker;
    }
    if ((st = ej_linker_add_buffer(lk, "fx_data.o", G.data, G.data_len)) != EJ_OK) {
        step_failed(r, "ej_linker_add_buffer(fx_data.o)", st, ej_linker_errmsg(lk));
        goto free_linker;
    }
    if ((st = ej_linker_link(lk, &m)) != EJ_OK) {
        step_failed(r, "ej_linker_link", st, ej_linker_errmsg(lk));
        if (m)
            snprintf(r->msg + strlen(r->msg), sizeof r->msg - strlen(r->msg),
                     " [and *out is not NULL]");
        goto free_linker;
    }
    ej_linker_free(lk);
    lk = NULL;
    void *addr = NULL;
    if ((st = ej_module_lookup(m, "fx_compute", &addr)) != EJ_OK) {
        step_failed(r, "ej_module_lookup(fx_compute)", st, ej_module_errmsg(m));
        goto free_module;
    }
    char *argv[] = {"fx", NULL};
    if ((st = ej_module_init(m, 1, argv, environ)) != EJ_OK) {
        step_failed(r, "ej_module_init", st, ej_module_errmsg(m));
        goto free_module;
    }
    r->value = ((int (*)(int))addr)(7);
    ej_pc_info info;
    r->found_pc = ej_lookup_pc((uint64_t)(uintptr_t)addr + 1, &info) && info.module == m &&
                  info.function && strcmp(info.function, "fx_compute") == 0;
    r->ok = 1;
free_module:
    ej_module_free(m);
    r->dtor_runs = dtor_runs;
    return;
free_linker:
    ej_linker_free(lk);
}

/* ---- the operation through a session ------------------------------------ */

/* Links the fixture into S (the materialiser's work, and the swap's). */
static ej_status link_into_session(ej_session *s, ej_module **m, char *msg, size_t len)
{
    ej_linker *lk = NULL;
    ej_status st = ej_linker_create(&lk);
    *m = NULL;
    if (st != EJ_OK) {
        snprintf(msg, len, "ej_linker_create: %s", ej_status_str(st));
        return st;
    }
    if ((st = ej_linker_set_registration(lk, G.registration)) != EJ_OK ||
        (st = ej_linker_add_file(lk, EJ_FAULT_FX_DIR "/fx_main.o")) != EJ_OK ||
        (st = ej_linker_add_file(lk, EJ_FAULT_FX_DIR "/fx_lib.o")) != EJ_OK ||
        (st = ej_linker_add_buffer(lk, "fx_data.o", G.data, G.data_len)) != EJ_OK)
        snprintf(msg, len, "%s", ej_linker_errmsg(lk));
    else if ((st = ej_session_link(s, lk, m)) != EJ_OK)
        snprintf(msg, len, "%s", ej_session_errmsg(s));
    ej_linker_free(lk);
    return st;
}

typedef struct lazy_ctx {
    op_result *r;
    ej_module *m;
    char msg[512];
    int calls;
} lazy_ctx;

/* The materialiser of fx_compute: links the fixture and runs its
 * constructor. */
static ej_status materialise_fx(ej_session *s, const char *name, void *arg)
{
    lazy_ctx *c = arg;
    (void)name;
    c->calls++;
    ej_status st = link_into_session(s, &c->m, c->msg, sizeof c->msg);
    char *argv[] = {"fx", NULL};
    if (st == EJ_OK && (st = ej_module_init(c->m, 1, argv, environ)) != EJ_OK)
        snprintf(c->msg, sizeof c->msg, "ej_module_init: %s", ej_module_errmsg(c->m));
    return st;
}

/* Where a call goes when the materialiser failed: it only counts. */
static int failed_calls;
static int fx_failed(int x)
{
    (void)x;
    failed_calls++;
    return -1;
}

/* The lazy state's message and the materialiser's own. */
static void lazy_failed(op_result *r, ej_session *s, const lazy_ctx *c)
{
    char state[512];
    ej_status st = ej_session_lazy_state(s, "fx_compute", state, sizeof state);
    step_failed(r, "the first call of fx_compute (its materialiser)", st, "");
    snprintf(r->msg, sizeof r->msg, "%s: %s", state, c->msg);
}

/* fx_compute declared lazily in a session, its first call materialising
 * it; then a second copy linked over it (a hot swap), called, retired and
 * freed; then the session freed (the first copy's destructor). */
static void run_session_op(op_result *r)
{
    memset(r, 0, sizeof *r);
    ej_session *s = NULL;
    ej_status st;
    lazy_ctx c = {r, NULL, "", 0};
    dtor_runs = failed_calls = 0;
    if ((st = ej_session_create(&s)) != EJ_OK) {
        step_failed(r, "ej_session_create", st, NULL);
        return;
    }
    if ((st = ej_session_declare(s, "fx_compute", materialise_fx, &c, (void *)fx_failed)) !=
        EJ_OK) {
        step_failed(r, "ej_session_declare", st, ej_session_errmsg(s));
        goto out;
    }
    int (*f)(int) = (int (*)(int))ej_session_symbol(s, "fx_compute");
    if (!f) {
        step_failed(r, "ej_session_symbol(fx_compute)", EJ_NOTFOUND, "no stub for fx_compute");
        goto out;
    }
    int v = f(7);
    if (failed_calls || c.calls != 1) {
        lazy_failed(r, s, &c);
        goto out;
    }
    ej_module *swap = NULL;
    char msg[512];
    char *argv[] = {"fx", NULL};
    if ((st = link_into_session(s, &swap, msg, sizeof msg)) != EJ_OK) {
        step_failed(r, "the swap's ej_session_link", st, msg);
        goto out;
    }
    if ((st = ej_module_init(swap, 1, argv, environ)) != EJ_OK) {
        step_failed(r, "the swap's ej_module_init", st, ej_module_errmsg(swap));
        goto out;
    }
    int v2 = f(7);
    if ((st = ej_session_retire(s, swap)) != EJ_OK) {
        step_failed(r, "ej_session_retire", st, ej_session_errmsg(s));
        goto out;
    }
    int v3 = f(7);
    ej_module_free(swap);
    r->value = v == v2 && v2 == v3 ? v : -1;
    void *addr = ej_module_symbol(c.m, "fx_compute");
    ej_pc_info info;
    r->found_pc = addr && ej_lookup_pc((uint64_t)(uintptr_t)addr + 1, &info) &&
                  info.module == c.m && info.function && strcmp(info.function, "fx_compute") == 0;
    r->ok = 1;
out:
    ej_session_free(s);
    r->dtor_runs = dtor_runs;
}

/* Overwrites the stack below the caller's frame: what the operation left
 * there (dead frames) would otherwise look like live pointers to the leak
 * check, which scans the stack conservatively. */
__attribute__((noinline)) static void scrub_stack(void)
{
    char pad[32 << 10];
    memset(pad, 0, sizeof pad);
    __asm__ __volatile__("" : : "r"(pad) : "memory"); /* not a dead store */
}

/* The checks common to both operations of a child. */
static void check_leftovers(child_out *co, const char *which, const int *fds0, size_t nfd0,
                            void *gdb0)
{
    uint64_t lo[8], hi[8];
    size_t n = fault_live_regions(lo, hi, 8);
    for (size_t i = 0; i < n && i < 8; i++)
        failf(co, "%s: left mapped: 0x%llx-0x%llx (%llu bytes)", which, (unsigned long long)lo[i],
              (unsigned long long)hi[i], (unsigned long long)(hi[i] - lo[i]));
    fault_scan_wx();
    fault_check_nothing_registered();
    fault_report rep;
    fault_get_report(&rep);
    if (rep.violations)
        failf(co, "%s: %d violation(s), first: %s", which, rep.violations, rep.violation);
    if (__jit_debug_descriptor.first_entry != gdb0)
        failf(co, "%s: GDB's JIT list changed (first_entry %p, was %p)", which,
              __jit_debug_descriptor.first_entry, gdb0);
    int fds[256];
    size_t nfd = fault_open_fds(fds, 256);
    for (size_t i = 0; i < nfd && i < 256; i++) {
        int known = 0;
        for (size_t k = 0; k < nfd0; k++)
            known |= fds[i] == fds0[k];
        if (!known) {
            char link[64], target[256] = "";
            snprintf(link, sizeof link, "/proc/self/fd/%d", fds[i]);
            ssize_t len = readlink(link, target, sizeof target - 1);
            target[len > 0 ? len : 0] = '\0';
            failf(co, "%s: descriptor %d left open (%s)", which, fds[i], target);
        }
    }
    char leaks[1024];
    size_t nleak = fault_leak_check(leaks, sizeof leaks);
    if (nleak)
        failf(co, "%s: %zu block(s) leaked: %s", which, nleak, leaks);
}

static void check_success(child_out *co, const char *which, const op_result *r)
{
    if (r->value != fault_expected_compute(7, G.wide))
        failf(co, "%s: fx_compute(7) = %d, expected %d", which, r->value, fault_expected_compute(7, G.wide));
    if (!r->found_pc)
        failf(co, "%s: ej_lookup_pc does not find fx_compute in its module", which);
    int dtors = G.session ? 2 : 1; /* (a session's two copies) */
    if (r->dtor_runs != dtors)
        failf(co, "%s: the destructor ran %d times at ej_module_free, not %d", which,
              r->dtor_runs, dtors);
}

static void run_child(int family, long n, child_out *co)
{
    memset(co, 0, sizeof *co);
    fault_set_report(&co->rep);
    int fds0[256];
    size_t nfd0 = fault_open_fds(fds0, 256);
    void *gdb0 = __jit_debug_descriptor.first_entry;

    fault_arm(family, n);
    (G.session ? run_session_op : run_op)(&co->r1);
    fault_disarm();
    scrub_stack();
    const op_result *r = &co->r1;
    if (r->ok) {
        check_success(co, "injected run", r);
    } else {
        if (r->st == EJ_OK)
            failf(co, "%s failed with EJ_OK", r->step);
        if (!fault_readable(r->msg))
            failf(co, "%s: %s with an unreadable or empty message '%s'", r->step,
                  ej_status_name(r->st), r->msg);
        else if (co->rep.injected &&
                 !fault_names_failure(family, co->rep.injected_errno, r->msg) &&
                 !((family == FAULT_ALLOC || family == FAULT_LIBELF) && r->st == EJ_NOMEM))
            failf(co, "%s: EJ_%s '%s' does not say what failed (%s)", r->step,
                  ej_status_name(r->st), r->msg, co->rep.site);
        if ((family == FAULT_ALLOC || family == FAULT_LIBELF) && co->rep.injected &&
            r->st != EJ_NOMEM && fault_contains(r->msg, "memory"))
            failf(co, "%s: out of memory reported as EJ_%s: '%s'", r->step,
                  ej_status_name(r->st), r->msg);
    }
    check_leftovers(co, "injected run", fds0, nfd0, gdb0);

    /* The next link in this process, uninjected. */
    fault_set_report(&co->rep2);
    fault_arm(-1, 0);
    (G.session ? run_session_op : run_op)(&co->r2);
    fault_disarm();
    scrub_stack();
    if (!co->r2.ok)
        failf(co, "the next, uninjected operation failed: %s: EJ_%s: %s", co->r2.step,
              ej_status_name(co->r2.st), co->r2.msg);
    else
        check_success(co, "next run", &co->r2);
    check_leftovers(co, "next run", fds0, nfd0, gdb0);
    snprintf(co->method, sizeof co->method, "%s", ej_pipeline_flush_method());
    if (G.method && co->r2.ok && strcmp(co->method, G.method) != 0)
        failf(co, "the next operation synchronised pipelines with '%s', an untouched process "
                  "with '%s' (a transient failure was remembered)", co->method, G.method);
    if (__lsan_do_recoverable_leak_check && __lsan_do_recoverable_leak_check())
        failf(co, "LeakSanitizer found leaks (its report is above)");
    fault_set_report(NULL);
    co->done = 1;
}

/* ---- the parent ------------------------------------------------------- */

static void cleanup_tmp(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/tmp/perf-%ld.map", (long)pid);
    unlink(path);
    snprintf(path, sizeof path, "/tmp/jit-%ld.dump", (long)pid);
    unlink(path);
}

static void print_tail(int fd)
{
    char buf[8192];
    off_t size = lseek(fd, 0, SEEK_END);
    off_t from = size > (off_t)sizeof buf - 1 ? size - (off_t)sizeof buf + 1 : 0;
    ssize_t n = pread(fd, buf, sizeof buf - 1, from);
    if (n > 0) {
        buf[n] = '\0';
        fprintf(stderr, "    --- its stderr%s ---\n%s    ---\n", from ? " (end)" : "", buf);
    }
}

/* Runs one N in a child; returns 0 when the child passed every check, and
 * sets *INJECTED. */
static int fork_one(int family, long n, child_out *co, int errfd, int *injected)
{
    if (ftruncate(errfd, 0) != 0)
        return -1;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        exit(1);
    }
    if (pid == 0) {
        dup2(errfd, 2);
        close(errfd);
        scrub_stack(); /* run_child's frames start clean (see scrub_stack) */
        run_child(family, n, co);
        _exit(0);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    cleanup_tmp(pid);
    *injected = co->rep.injected;
    const char *fam = fault_family_name(family);
    if (WIFSIGNALED(status) || !co->done || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "FAIL %s N=%ld: the child %s %d%s%s\n", fam, n,
                WIFSIGNALED(status) ? "was killed by signal" : "exited with status",
                WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status),
                co->rep.injected ? " after injecting " : " (nothing injected)",
                co->rep.injected ? co->rep.site : "");
        print_tail(errfd);
        *injected = 1; /* keep going: the crash hides whether N was reached */
        return 1;
    }
    if (co->nfail) {
        fprintf(stderr, "FAIL %s N=%ld: injected %s\n      %s\n", fam, n,
                co->rep.injected ? co->rep.site : "nothing", co->failures);
        if (!co->r1.ok && co->rep.injected)
            fprintf(stderr, "      (the injected run: %s: EJ_%s: %s)\n", co->r1.step,
                    ej_status_name(co->r1.st), co->r1.msg);
        if (fault_have_lsan())
            print_tail(errfd);
        return 1;
    }
    if (G.verbose && co->rep.injected)
        fprintf(stderr, "ok   %s N=%ld: %s -> %s%s%s\n", fam, n, co->rep.site,
                co->r1.ok ? "tolerated" : co->r1.step, co->r1.ok ? "" : ": ",
                co->r1.ok ? "" : co->r1.msg);
    return 0;
}

/* ---- --selftest: the checks find what they are meant to ------------------ */

/* The address of the leaked blocks, hidden from the scanners (XORed). */
#define HIDE ((uintptr_t)0x5a5a5a5a5a5a5a5aull)
static volatile uintptr_t hidden;

__attribute__((noinline)) static void leak_two_blocks(void)
{
    void **a = malloc(64);
    if (a)
        a[0] = malloc(32); /* reachable only through the first */
    hidden = (uintptr_t)a ^ HIDE;
}

static void free_hidden(void)
{
    void **a = (void **)(hidden ^ HIDE);
    if (a)
        free(a[0]);
    free(a);
}

/* First, before anything leaves heap addresses in this frame's slots. */
__attribute__((noinline)) static int selftest_leak(void)
{
    fault_arm(-1, 0);
    leak_two_blocks();
    scrub_stack();
    char buf[512];
    size_t leaks = fault_leak_check(buf, sizeof buf);
    int lsan_leaks = fault_have_lsan() && __lsan_do_recoverable_leak_check &&
                     __lsan_do_recoverable_leak_check();
    fault_disarm();
    int ok = fault_have_lsan() ? lsan_leaks : leaks == 2;
    printf("%s selftest: two leaked blocks are found\n", ok ? "ok  " : "FAIL");
    if (!ok && !fault_have_lsan())
        printf("     (%zu found: %s)\n", leaks, buf);
    free_hidden();
    return !ok;
}

static int selftest(void)
{
    int bad = selftest_leak();
    fault_report rep;
#define EXPECT(cond, what)                                                       \
    do {                                                                         \
        int ok_ = (cond);                                                        \
        printf("%s selftest: %s\n", ok_ ? "ok  " : "FAIL", what);                \
        bad += !ok_;                                                             \
    } while (0)
    /* Injection, per family. */
    fault_arm(FAULT_ALLOC, 2);
    void *p1 = malloc(8), *p2 = malloc(8);
    fault_disarm();
    EXPECT(p1 && !p2, "the 2nd malloc fails, the 1st does not");
    free(p1);
    fault_arm(FAULT_IO, 1);
    int fd = open("/dev/null", O_RDONLY);
    int e = errno;
    fault_disarm();
    EXPECT(fd < 0 && e == EMFILE, "open fails with EMFILE");
    fault_arm(FAULT_MEMBARRIER, 1);
    long r = syscall(SYS_membarrier, 0 /* MEMBARRIER_CMD_QUERY */, 0u, 0);
    e = errno;
    fault_disarm();
    EXPECT(r == -1 && e == ENOMEM, "syscall(SYS_membarrier) fails with ENOMEM");
    fault_arm(FAULT_MMAP, 1);
    void *m = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    fault_disarm();
    EXPECT(m == MAP_FAILED, "mmap fails");
    fault_arm(FAULT_LIBELF, 1);
    ej_linker *lk = NULL;
    ej_status st = ej_linker_create(&lk);
    if (st == EJ_OK)
        st = ej_linker_add_buffer(lk, "fx_data.o", G.data, G.data_len);
    fault_get_report(&rep);
    fault_disarm();
    EXPECT(rep.injected && strstr(rep.site, "libelf") && st != EJ_OK,
           "an allocation inside libelf is attributed to libelf and fails");
    ej_linker_free(lk);

    /* The checks. */
    fault_arm(-1, 0);
    fd = open("/dev/null", O_RDONLY);
    int fds[256];
    size_t nfd = fault_open_fds(fds, 256);
    int seen = 0;
    for (size_t i = 0; i < nfd && i < 256; i++)
        seen |= fds[i] == fd;
    EXPECT(seen, "an open descriptor is listed");
    close(fd);
    m = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    uint64_t lo[4], hi[4];
    EXPECT(fault_live_regions(lo, hi, 4) == 1 && lo[0] == (uintptr_t)m,
           "a region left mapped is listed");
    munmap(m, 4096);
    EXPECT(fault_live_regions(lo, hi, 4) == 1 && lo[0] == (uintptr_t)m + 4096,
           "a partial munmap leaves the rest listed");
    munmap((char *)m + 4096, 4096);
    EXPECT(fault_live_regions(lo, hi, 4) == 0, "a region unmapped is not listed");
    m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    mprotect(m, 4096, PROT_READ | PROT_WRITE | PROT_EXEC);
    fault_get_report(&rep);
    EXPECT(rep.violations >= 1, "mprotect to RWX is a violation");
    munmap(m, 4096);
    fault_arm(-1, 0);
    fd = memfd_create("ej-fault-selftest", MFD_CLOEXEC);
    if (fd >= 0 && ftruncate(fd, 4096) == 0) {
        void *w = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        void *x = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_SHARED, fd, 0);
        fault_get_report(&rep);
        EXPECT(rep.violations >= 1, "a page mapped writable and, elsewhere, executable is a "
                                    "violation");
        munmap(w, 4096);
        munmap(x, 4096);
    } else {
        EXPECT(0, "memfd for the dual-mapping check");
    }
    if (fd >= 0)
        close(fd);
    fault_disarm();
    printf("selftest: %s\n", bad ? "FAILED" : "passed");
    return bad != 0;
#undef EXPECT
}

static void *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    void *buf = n > 0 ? malloc((size_t)n) : NULL;
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    int family = -1, self = 0;
    long only = -1;
    const char *variant = "default";
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--selftest") == 0)
            self = 1, family = 0;
        else if (strcmp(argv[i], "--variant") == 0 && i + 1 < argc)
            variant = argv[++i];
        else if (strcmp(argv[i], "--n") == 0 && i + 1 < argc)
            only = atol(argv[++i]);
        else if (strcmp(argv[i], "--verbose") == 0)
            G.verbose = 1;
        else if (family < 0 && fault_family_from_name(argv[i]) >= 0)
            family = fault_family_from_name(argv[i]);
        else
            family = -2;
    }
    if (family < 0 ||
        (strcmp(variant, "default") && strcmp(variant, "all") && strcmp(variant, "session"))) {
        fprintf(stderr, "usage: %s alloc|mmap|mprotect|munmap|memfd|io|membarrier|libelf "
                        "[--variant default|all|session] [--n N] [--verbose]\n", argv[0]);
        return 2;
    }
    G.registration = strcmp(variant, "all") == 0 ? EJ_REGISTER_ALL : EJ_REGISTER_DEFAULT;
    G.session = strcmp(variant, "session") == 0;
    G.wide = strcmp(variant, "all") != 0;
    G.dual = strcmp(variant, "all") == 0;
    G.data = read_all(EJ_FAULT_FX_DIR "/fx_data.o", &G.data_len);
    if (!G.data) {
        fprintf(stderr, "%s: cannot read %s/fx_data.o\n", argv[0], EJ_FAULT_FX_DIR);
        return 1;
    }
    fault_set_lookup_pc((int (*)(uint64_t, void *))ej_lookup_pc);
    if (self) {
        scrub_stack();
        int rc = selftest();
        free((void *)G.data);
        return rc;
    }

    if (only >= 0) { /* one N, in this process */
        child_out *co = calloc(1, sizeof *co);
        scrub_stack();
        run_child(family, only, co);
        printf("%s N=%ld: injected %s; the operation %s%s%s%s\n", fault_family_name(family), only,
               co->rep.injected ? co->rep.site : "nothing", co->r1.ok ? "succeeded" : "failed at ",
               co->r1.ok ? "" : co->r1.step, co->r1.ok ? "" : ": ", co->r1.ok ? "" : co->r1.msg);
        for (int f = 0; f < FAULT_COUNT; f++)
            printf("  calls of %s: %ld\n", fault_family_name(f), co->rep.count[f]);
        if (co->nfail)
            printf("FAIL: %s\n", co->failures);
        cleanup_tmp(getpid());
        int rc = co->nfail != 0;
        free(co);
        free((void *)G.data);
        return rc;
    }

    child_out *co = mmap(NULL, sizeof *co, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1,
                         0);
    char errpath[] = "/tmp/ej_fault_api_errXXXXXX";
    int errfd = mkstemp(errpath);
    if (co == MAP_FAILED || errfd < 0) {
        perror("setup");
        return 1;
    }
    unlink(errpath);
    double t0 = now();
    int injected, failures = 0;
    /* N = 0: counts, and the untouched process's checks and rung. */
    if (fork_one(family, 0, co, errfd, &injected) != 0) {
        fprintf(stderr, "api/%s %s: the uninjected run fails its checks\n", variant,
                fault_family_name(family));
        return 1;
    }
    static char method[64];
    snprintf(method, sizeof method, "%s", co->method);
    G.method = method;
    long points = co->rep.count[family];
    long n = 1;
    for (;; n++) {
        int f = fork_one(family, n, co, errfd, &injected);
        failures += f != 0;
        if (!injected || n > 200000)
            break;
    }
    free((void *)G.data);
    printf("api/%s %s: %ld injection points (uninjected count %ld), %d failing, %.1f s\n",
           variant, fault_family_name(family), n - 1, points, failures, now() - t0);
    if (points == 0)
        printf("api/%s %s: note: the operation makes no such call here\n", variant,
               fault_family_name(family));
    if (points == 0 && family == FAULT_LIBELF) {
        printf("api/%s libelf: FAIL: no allocation was attributed to libelf\n", variant);
        failures++;
    }
    return failures != 0;
}
