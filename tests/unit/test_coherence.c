/* Coherence layer: publish real machine code, patch it, republish it while
 * other threads run it, and walk the pipeline-flush ladder rung by rung.
 * Pages are never writable and executable at once. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <linux/membarrier.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "coherence/coherence_arch.h"
#include "elfjit/coherence.h"

typedef int (*ret_fn)(void);

/* ---- the only architecture-specific part: `return VALUE;` encoders ---- */

struct jit_arch {
    const char *name;
    size_t insn_align; /* where the code may start */
    uint32_t max_value; /* largest VALUE one instruction can load */
    size_t (*emit)(unsigned char *p, uint32_t value);
};

#if defined(__x86_64__)
static size_t emit_return_const(unsigned char *p, uint32_t value)
{
    p[0] = 0xb8; /* mov eax, imm32 */
    memcpy(p + 1, &value, 4);
    p[5] = 0xc3; /* ret */
    return 6;
}
static const struct jit_arch ARCH = {"x86_64", 1, 0x7fffffff,
                                     emit_return_const};
#elif defined(__aarch64__)
static size_t emit_return_const(unsigned char *p, uint32_t value)
{
    uint32_t insn[2] = {
        0x52800000u | (value & 0xffffu) << 5, /* movz w0, #value */
        0xd65f03c0u,                          /* ret */
    };
    memcpy(p, insn, sizeof insn);
    return sizeof insn;
}
static const struct jit_arch ARCH = {"aarch64", 4, 0xffff,
                                     emit_return_const};
#elif defined(__riscv) && __riscv_xlen == 64
static size_t emit_return_const(unsigned char *p, uint32_t value)
{
    uint32_t insn[2] = {
        (value & 0xfffu) << 20 | 10u << 7 | 0x13u, /* addi a0, zero, value */
        0x00008067u,                               /* jalr zero, 0(ra) */
    };
    memcpy(p, insn, sizeof insn);
    return sizeof insn;
}
static const struct jit_arch ARCH = {"riscv64", 4, 0x7ff, emit_return_const};
#else
#error "test_coherence.c: no machine-code table for this architecture"
#endif

/* ---- helpers ------------------------------------------------------------ */

static size_t page_size(void) { return (size_t)sysconf(_SC_PAGESIZE); }

static unsigned char *map_rw(size_t len)
{
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    cr_assert(p != MAP_FAILED, "mmap of %zu bytes failed", len);
    return p;
}

static void protect(void *page, size_t len, int prot)
{
    cr_assert(mprotect(page, len, prot) == 0, "mprotect(%p, %zu, %d) failed",
              page, len, prot);
}

static ret_fn as_fn(unsigned char *code) { return (ret_fn)(uintptr_t)code; }

/* Writes `return VALUE;` at CODE inside the page-aligned range [PAGES,
 * PAGES+LEN) and makes it runnable: RW, write, RX, clear the caches for
 * exactly the bytes written. */
static ret_fn publish(unsigned char *pages, size_t len, unsigned char *code,
                      uint32_t value)
{
    size_t n;

    protect(pages, len, PROT_READ | PROT_WRITE);
    n = ARCH.emit(code, value);
    protect(pages, len, PROT_READ | PROT_EXEC);
    ej_clear_cache(code, n);
    return as_fn(code);
}

static uint32_t value_for(unsigned round) { return 1 + round % ARCH.max_value; }

static int is_documented_method(const char *m)
{
    static const char *const methods[] = {
        "membarrier-sync-core", "membarrier-expedited", "mprotect-ipi",
        "none-single-threaded"};

    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
        if (strcmp(m, methods[i]) == 0)
            return 1;
    return 0;
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A thread that only exists, so the process is not single-threaded. */
static _Atomic int g_idle_stop;

static void *idle_thread(void *arg)
{
    struct timespec ms = {0, 1000000};

    (void)arg;
    while (!atomic_load(&g_idle_stop))
        nanosleep(&ms, NULL);
    return NULL;
}

/* ---- ej_clear_cache --------------------------------------------------- */

Test(coherence, publish_and_call)
{
    size_t ps = page_size();
    unsigned char *page = map_rw(ps);
    ret_fn f = publish(page, ps, page, 42);

    cr_assert_eq(f(), 42, "%s code returned %d, not 42", ARCH.name, f());
    munmap(page, ps);
}

Test(coherence, patch_in_place)
{
    size_t ps = page_size();
    unsigned char *page = map_rw(ps);
    ret_fn f = publish(page, ps, page, 7);

    cr_assert_eq(f(), 7);
    for (unsigned round = 0; round < 2000; round++) {
        uint32_t v = value_for(round * 7919u + 13);
        ret_fn g = publish(page, ps, page, v);

        cr_assert_eq(g, f, "patched code moved");
        cr_assert_eq((uint32_t)g(), v, "round %u: patched code returned %d, "
                     "expected %u (stale instructions?)", round, g(), v);
    }
    munmap(page, ps);
}

/* The code straddles a page boundary and starts at an address that is not
 * the start of any cache line: every line the bytes touch must be
 * maintained, not just those the start and length align to. */
Test(coherence, unaligned_code_across_pages)
{
    size_t ps = page_size();
    unsigned char *pages = map_rw(2 * ps);
    size_t off = ps - 4 + (ARCH.insn_align == 1 ? 1 : 0);
    unsigned char *code = pages + off;

    for (uint32_t v = 1; v <= 50; v++) {
        ret_fn f = publish(pages, 2 * ps, code, v);

        cr_assert_eq((uint32_t)f(), v);
    }
    munmap(pages, 2 * ps);
}

Test(coherence, clear_cache_edge_cases)
{
    size_t ps = page_size();
    unsigned char *page = map_rw(ps);
    unsigned char heap[300];

    ej_clear_cache(NULL, 0);
    ej_clear_cache(page, 0);
    ej_clear_cache(page + 1, 0);
    ej_clear_cache(page + 3, 1);              /* one odd byte */
    ej_clear_cache(page + 5, ps - 5);         /* unaligned to the page end */
    ej_clear_cache(heap + 1, sizeof heap - 2); /* data memory is fine too */
    protect(page, ps, PROT_READ | PROT_EXEC);
    ej_clear_cache(page + 17, 100);           /* read-only executable */
    munmap(page, ps);
}

/* ---- ej_pipeline_flush_mt ---------------------------------------------- */

Test(coherence, flush_mt_default_ladder)
{
    cr_assert_str_eq(ej_pipeline_flush_method(), "unknown");
    cr_assert_eq(ej_pipeline_flush_mt(), EJ_OK);
    cr_assert(is_documented_method(ej_pipeline_flush_method()),
              "undocumented method '%s'", ej_pipeline_flush_method());
    cr_assert_eq(ej_pipeline_flush_mt(), EJ_OK, "second call differs");
}

static int kernel_has(int cmd)
{
    long mask = syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0u, 0);

    return mask > 0 && (mask & cmd) != 0;
}

/* With the rungs above FIRST switched off and a second thread alive, the
 * ladder must settle on FIRST whenever the kernel and the architecture
 * allow it, and never on a rung that was switched off. */
static void expect_rung(unsigned first, const char *name, int available)
{
    pthread_t t;
    ej_status st;

    ej__coherence_test_disable_rungs((1u << first) - 1);
    atomic_store(&g_idle_stop, 0);
    cr_assert_eq(pthread_create(&t, NULL, idle_thread, NULL), 0);
    st = ej_pipeline_flush_mt();
    atomic_store(&g_idle_stop, 1);
    pthread_join(t, NULL);

    if (available) {
        cr_assert_eq(st, EJ_OK, "rung %s: %s", name, ej_status_name(st));
        cr_assert_str_eq(ej_pipeline_flush_method(), name);
    } else if (st == EJ_OK) {
        cr_assert_str_neq(ej_pipeline_flush_method(), name);
        cr_assert_str_neq(ej_pipeline_flush_method(), "none-single-threaded");
    }
}

Test(coherence, rung_sync_core)
{
    expect_rung(0, "membarrier-sync-core",
                kernel_has(MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE));
}

Test(coherence, rung_expedited)
{
    expect_rung(1, "membarrier-expedited",
                ej__arch_flush_caps_host.expedited_syncs &&
                    kernel_has(MEMBARRIER_CMD_PRIVATE_EXPEDITED));
}

Test(coherence, rung_mprotect)
{
    expect_rung(2, "mprotect-ipi", ej__arch_flush_caps_host.mprotect_ipi_syncs);
    if (!ej__arch_flush_caps_host.mprotect_ipi_syncs)
        cr_assert_str_eq(ej_pipeline_flush_method(), "unknown");
}

/* Threads of this process as the kernel counts them.  Under qemu-user the
 * emulator's own helper threads are among them. */
static int count_tasks(void)
{
    DIR *d = opendir("/proc/self/task");
    struct dirent *e;
    int n = 0;

    if (d == NULL)
        return -1;
    while ((e = readdir(d)) != NULL)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

#define CHILD_NOT_ALONE 77

/* The last rung answers to the thread count, in both directions.  Run in
 * a forked child, which has exactly one thread whatever the test runner
 * started in this process. */
static int single_threaded_child(void)
{
    pthread_t t;
    ej_status st;

    if (count_tasks() != 1)
        return CHILD_NOT_ALONE;
    ej__coherence_test_disable_rungs(0x7);
    if (ej_pipeline_flush_mt() != EJ_OK ||
        strcmp(ej_pipeline_flush_method(), "none-single-threaded") != 0)
        return 1;
    atomic_store(&g_idle_stop, 0);
    if (pthread_create(&t, NULL, idle_thread, NULL) != 0)
        return 2;
    st = ej_pipeline_flush_mt();
    atomic_store(&g_idle_stop, 1);
    pthread_join(t, NULL);
    if (st != EJ_MAP)
        return 3;
    /* pthread_join returns when the thread clears its tid, which is before
     * the kernel drops it from /proc/self/task; wait for the kernel. */
    for (int i = 0; i < 2000 && count_tasks() != 1; i++)
        usleep(1000);
    return ej_pipeline_flush_mt() == EJ_OK ? 0 : 4; /* alone again */
}

Test(coherence, rung_single_threaded)
{
    int status;
    pid_t pid = fork();

    cr_assert(pid >= 0);
    if (pid == 0)
        _exit(single_threaded_child());
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status), "child died");
    if (WEXITSTATUS(status) == CHILD_NOT_ALONE)
        cr_skip_test("a forked child has hidden threads (qemu-user?)");
    cr_assert_eq(WEXITSTATUS(status), 0, "child failed at step %d",
                 WEXITSTATUS(status));
}

Test(coherence, all_rungs_refused_is_map_error)
{
    pthread_t t;

    ej__coherence_test_disable_rungs(0xf);
    atomic_store(&g_idle_stop, 0);
    cr_assert_eq(pthread_create(&t, NULL, idle_thread, NULL), 0);
    cr_assert_eq(ej_pipeline_flush_mt(), EJ_MAP);
    atomic_store(&g_idle_stop, 1);
    pthread_join(t, NULL);
    cr_assert_str_eq(ej_pipeline_flush_method(), "unknown");
}

/* ---- republishing while other threads run the code ---------------------
 * Two code pages, used in turn.  Each round rewrites the page the runners
 * left one round ago (and so may still have in their caches and
 * pipelines), publishes it, and waits until every runner returns the new
 * value.  A runner that ever gets a smaller value than before executed
 * stale code. */

#define RUNNERS 2
#define ROUNDS 300
#define ROUND_DEADLINE_S 10.0

struct republish {
    _Atomic(ret_fn) fn;
    _Atomic int stop;
    _Atomic uint32_t seen[RUNNERS];
    _Atomic unsigned regressions;
    _Atomic unsigned long calls;
};

struct runner_arg {
    struct republish *rp;
    int id;
};

static void *runner(void *p)
{
    struct runner_arg *a = p;
    struct republish *rp = a->rp;
    unsigned long calls = 0;

    while (!atomic_load_explicit(&rp->stop, memory_order_relaxed)) {
        ret_fn f = atomic_load_explicit(&rp->fn, memory_order_acquire);
        uint32_t v = (uint32_t)f();

        if (v < atomic_load_explicit(&rp->seen[a->id], memory_order_relaxed))
            atomic_fetch_add(&rp->regressions, 1);
        atomic_store_explicit(&rp->seen[a->id], v, memory_order_release);
        calls++;
    }
    atomic_fetch_add(&rp->calls, calls);
    return NULL;
}

static int all_seen(struct republish *rp, uint32_t v)
{
    for (int i = 0; i < RUNNERS; i++)
        if (atomic_load_explicit(&rp->seen[i], memory_order_acquire) != v)
            return 0;
    return 1;
}

static void wait_all_seen(struct republish *rp, uint32_t v, unsigned round)
{
    double deadline = now_s() + ROUND_DEADLINE_S;

    while (!all_seen(rp, v)) {
        cr_assert(now_s() < deadline,
                  "round %u: runners still return %u/%u, not %u after %.0fs",
                  round, atomic_load(&rp->seen[0]), atomic_load(&rp->seen[1]),
                  v, ROUND_DEADLINE_S);
        sched_yield();
    }
}

static void republish_under_load(unsigned disabled_rungs)
{
    static struct republish rp;
    struct runner_arg args[RUNNERS];
    pthread_t threads[RUNNERS];
    size_t ps = page_size();
    unsigned char *pages = map_rw(2 * ps);
    unsigned char *slot[2] = {pages, pages + ps};

    ej__coherence_test_disable_rungs(disabled_rungs);
    cr_assert(ROUNDS < ARCH.max_value, "values must grow");
    atomic_store(&rp.fn, publish(slot[1], ps, slot[1], 1)); /* round 1 */
    for (int i = 0; i < RUNNERS; i++) {
        args[i] = (struct runner_arg){&rp, i};
        cr_assert_eq(pthread_create(&threads[i], NULL, runner, &args[i]), 0);
    }
    wait_all_seen(&rp, 1, 1);
    for (unsigned round = 2; round <= ROUNDS; round++) {
        unsigned char *code = slot[round % 2];
        ret_fn f = publish(code, ps, code, round);

        cr_assert_eq(ej_pipeline_flush_mt(), EJ_OK, "round %u", round);
        atomic_store_explicit(&rp.fn, f, memory_order_release);
        wait_all_seen(&rp, round, round);
    }
    atomic_store(&rp.stop, 1);
    for (int i = 0; i < RUNNERS; i++)
        pthread_join(threads[i], NULL);
    cr_assert_eq(atomic_load(&rp.regressions), 0,
                 "runners executed stale code %u times",
                 atomic_load(&rp.regressions));
    cr_assert(atomic_load(&rp.calls) >= ROUNDS);
    cr_assert(is_documented_method(ej_pipeline_flush_method()));
    munmap(pages, 2 * ps);
}

Test(coherence, republish_under_load, .timeout = 120)
{
    republish_under_load(0);
}

Test(coherence, republish_under_load_expedited, .timeout = 120)
{
    if (!ej__arch_flush_caps_host.expedited_syncs ||
        !kernel_has(MEMBARRIER_CMD_PRIVATE_EXPEDITED))
        cr_skip_test("membarrier-expedited not usable here");
    republish_under_load(0x1);
    cr_assert_str_eq(ej_pipeline_flush_method(), "membarrier-expedited");
}

Test(coherence, republish_under_load_mprotect, .timeout = 120)
{
    if (!ej__arch_flush_caps_host.mprotect_ipi_syncs)
        cr_skip_test("mprotect-ipi not used on %s", ARCH.name);
    republish_under_load(0x3);
    cr_assert_str_eq(ej_pipeline_flush_method(), "mprotect-ipi");
}
