/* Coherence layer, generic part: the public wrappers and the
 * ej_pipeline_flush_mt ladder.  Everything that depends on the instruction
 * set is behind coherence_arch.h. */
#include <dirent.h>
#include <errno.h>
#include <linux/membarrier.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "coherence/coherence_arch.h"
#include "common/common.h"
#include "elfjit/coherence.h"

EJ_API void ej_clear_cache(void *addr, size_t len)
{
    uintptr_t start = (uintptr_t)addr;

    /* A wrapping range is a caller bug; clamping keeps the per-arch loops
     * simple (they may assume start < end) without touching memory the
     * caller did not name. */
    if (len > UINTPTR_MAX - start)
        len = UINTPTR_MAX - start;
    if (len == 0)
        return;
    ej__arch_clear_cache(addr, len);
}

/* ---- the ladder ------------------------------------------------------- */

enum rung {
    RUNG_SYNC_CORE,
    RUNG_EXPEDITED,
    RUNG_MPROTECT,
    RUNG_SINGLE_THREADED,
    RUNG_COUNT
};

static const char *const rung_names[RUNG_COUNT] = {
    [RUNG_SYNC_CORE] = "membarrier-sync-core",
    [RUNG_EXPEDITED] = "membarrier-expedited",
    [RUNG_MPROTECT] = "mprotect-ipi",
    [RUNG_SINGLE_THREADED] = "none-single-threaded",
};

/* How one attempt at a rung went.  Only a refusal is remembered: running
 * out of memory now says nothing about the next call. */
enum attempt { ATTEMPT_OK, ATTEMPT_REFUSED, ATTEMPT_FAILED };

/* Rungs below this index were refused for good and are not tried again. */
static _Atomic int g_first_rung;
/* Index of the rung of the last success, -1 before the first. */
static _Atomic int g_used_rung = -1;
/* Rungs tests have switched off (ej__coherence_test_disable_rungs). */
static _Atomic unsigned g_disabled_rungs;

static enum attempt attempt_from_errno(int err)
{
    if (err == ENOMEM || err == EAGAIN || err == EINTR)
        return ATTEMPT_FAILED;
    return ATTEMPT_REFUSED;
}

/* ---- one-time registration ------------------------------------------- */

enum once_state { ONCE_NEW, ONCE_BUSY, ONCE_DONE_OK, ONCE_DONE_FAILED };

/* Runs FN(ARG) once per STATE, whichever thread comes first; the others
 * wait for its outcome.  Registration takes one system call, so waiting
 * by yielding is cheaper than a lock that would also have to be set up.
 * Only an answer is remembered: a failure for a passing reason (ENOMEM,
 * EAGAIN, EINTR: attempt_from_errno) leaves STATE new, so the next call
 * tries again instead of stepping down the ladder for good. */
static enum attempt once_run(_Atomic int *state, int (*fn)(int), int arg)
{
    int s = ONCE_NEW;

    if (atomic_compare_exchange_strong_explicit(state, &s, ONCE_BUSY,
                                                memory_order_acquire,
                                                memory_order_acquire)) {
        enum attempt a = fn(arg) == 0 ? ATTEMPT_OK : attempt_from_errno(errno);
        s = a == ATTEMPT_OK ? ONCE_DONE_OK : a == ATTEMPT_REFUSED ? ONCE_DONE_FAILED : ONCE_NEW;
        atomic_store_explicit(state, s, memory_order_release);
        return a;
    }
    while (s == ONCE_BUSY) {
        sched_yield();
        s = atomic_load_explicit(state, memory_order_acquire);
    }
    return s == ONCE_DONE_OK ? ATTEMPT_OK : s == ONCE_NEW ? ATTEMPT_FAILED : ATTEMPT_REFUSED;
}

/* glibc has no wrapper; the third argument (cpu_id, Linux 5.10) is unused
 * without MEMBARRIER_CMD_FLAG_CPU. */
static int sys_membarrier(int cmd)
{
    return (int)syscall(SYS_membarrier, cmd, 0u, 0);
}

static _Atomic int g_reg_sync_core;
static _Atomic int g_reg_expedited;

/* Registration is idempotent in the kernel, so a second registration from a
 * test that reset the ladder is harmless; once_run only saves the calls. */
static enum attempt membarrier_rung(_Atomic int *reg_state, int reg_cmd,
                                    int cmd)
{
    enum attempt reg = once_run(reg_state, sys_membarrier, reg_cmd);
    if (reg != ATTEMPT_OK)
        return reg;
    if (sys_membarrier(cmd) != 0)
        return attempt_from_errno(errno);
    return ATTEMPT_OK;
}

/* ---- the mprotect rung ------------------------------------------------
 * Revoking access to a page that is present in our page tables obliges
 * the kernel to invalidate its TLB entry on every CPU that may cache it,
 * i.e. every CPU currently running a thread of this process.  Where that
 * is done by IPI, each such thread is interrupted and returns to user
 * mode through an exception return, which synchronizes it.  The page is
 * written first so that it is certainly present: revoking access to a
 * never-touched page changes no entry and sends nothing.  The lock keeps
 * two callers from interleaving their protection changes.  The page lives
 * as long as the process. */

static pthread_mutex_t g_dummy_lock = PTHREAD_MUTEX_INITIALIZER;
static void *g_dummy_page;

static enum attempt dummy_page_cycle(void)
{
    long page = sysconf(_SC_PAGESIZE);

    if (g_dummy_page == NULL) {
        void *p = mmap(NULL, (size_t)page, PROT_NONE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
            return attempt_from_errno(errno);
        g_dummy_page = p;
    }
    if (mprotect(g_dummy_page, (size_t)page, PROT_READ | PROT_WRITE) != 0)
        return attempt_from_errno(errno);
    atomic_fetch_add_explicit((_Atomic int *)g_dummy_page, 1,
                              memory_order_seq_cst);
    if (mprotect(g_dummy_page, (size_t)page, PROT_NONE) != 0)
        return attempt_from_errno(errno);
    return ATTEMPT_OK;
}

static enum attempt mprotect_rung(void)
{
    enum attempt a;

    if (!ej__arch_flush_caps_host.mprotect_ipi_syncs)
        return ATTEMPT_REFUSED;
    if (pthread_mutex_lock(&g_dummy_lock) != 0)
        return ATTEMPT_FAILED;
    a = dummy_page_cycle();
    pthread_mutex_unlock(&g_dummy_lock);
    return a;
}

/* ---- the last rung ----------------------------------------------------
 * With one thread there is nobody to synchronize but the caller.  A thread
 * created after the count cannot have fetched the old code either.  Never
 * remembered as refused: the answer changes as threads come and go. */

static enum attempt single_threaded_rung(void)
{
    DIR *d = opendir("/proc/self/task");
    struct dirent *e;
    int threads = 0;

    if (d == NULL)
        return ATTEMPT_FAILED;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            threads++;
    closedir(d);
    return threads == 1 ? ATTEMPT_OK : ATTEMPT_FAILED;
}

static enum attempt rung_attempt(int r)
{
    if (atomic_load_explicit(&g_disabled_rungs, memory_order_relaxed) &
        (1u << r))
        return r == RUNG_SINGLE_THREADED ? ATTEMPT_FAILED : ATTEMPT_REFUSED;
    switch (r) {
    case RUNG_SYNC_CORE:
        return membarrier_rung(
            &g_reg_sync_core,
            MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE,
            MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE);
    case RUNG_EXPEDITED:
        if (!ej__arch_flush_caps_host.expedited_syncs)
            return ATTEMPT_REFUSED;
        return membarrier_rung(&g_reg_expedited,
                               MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED,
                               MEMBARRIER_CMD_PRIVATE_EXPEDITED);
    case RUNG_MPROTECT:
        return mprotect_rung();
    default:
        return single_threaded_rung();
    }
}

/* Moves the start of the ladder below R; never back up, whatever order
 * concurrent callers finish in. */
static void forget_rungs_through(int r)
{
    int cur = atomic_load_explicit(&g_first_rung, memory_order_relaxed);

    while (cur <= r &&
           !atomic_compare_exchange_weak_explicit(&g_first_rung, &cur, r + 1,
                                                  memory_order_relaxed,
                                                  memory_order_relaxed))
        ;
}

EJ_API ej_status ej_pipeline_flush_mt(void)
{
    int r = atomic_load_explicit(&g_first_rung, memory_order_relaxed);
    int refused_so_far = 1; /* a rung is forgotten only with all above it */

    for (; r < RUNG_COUNT; r++) {
        enum attempt a = rung_attempt(r);

        if (a == ATTEMPT_OK) {
            atomic_store_explicit(&g_used_rung, r, memory_order_relaxed);
            /* The rungs reach the other threads; the caller returned from
             * a system call, which need not synchronize it (x86 SYSRET). */
            ej__arch_sync_local();
            return EJ_OK;
        }
        refused_so_far = refused_so_far && a == ATTEMPT_REFUSED;
        if (refused_so_far)
            forget_rungs_through(r);
    }
    return EJ_MAP;
}

EJ_API const char *ej_pipeline_flush_method(void)
{
    int r = atomic_load_explicit(&g_used_rung, memory_order_relaxed);

    return r >= 0 && r < RUNG_COUNT ? rung_names[r] : "unknown";
}

void ej__coherence_test_disable_rungs(unsigned mask)
{
    atomic_store(&g_disabled_rungs, mask);
    atomic_store(&g_first_rung, 0);
    atomic_store(&g_used_rung, -1);
}
