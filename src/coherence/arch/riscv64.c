/* Coherence, riscv64.
 *
 * FENCE.I (Zifencei) is the only instruction-fetch barrier and it is local
 * to one hart: it makes the hart's later fetches see stores already visible
 * to it, which also discards anything it fetched earlier.  Reaching the
 * other harts takes the kernel: riscv_flush_icache(start, end, flags) with
 * flags 0 fences every hart currently running this process (by IPI or SBI
 * remote fence) and marks the others so that they fence before next
 * running one of its threads.  The range is advisory; the kernel flushes
 * everything.  glibc's __riscv_flush_icache is the same call, but it is not
 * in every libc. */
#include <string.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "coherence/coherence_arch.h"

#ifndef __NR_riscv_flush_icache
#define __NR_riscv_flush_icache 259 /* __NR_arch_specific_syscall + 15 */
#endif

#define FLUSH_ICACHE_ALL_HARTS 0UL

/* Set once the kernel has said ENOSYS (before Linux 4.15). */
static atomic_bool g_no_flush_syscall;

static void fence_i(void)
{
    __asm__ __volatile__("fence.i" ::: "memory");
}

static int flush_icache_syscall(uintptr_t start, uintptr_t end)
{
    if (atomic_load_explicit(&g_no_flush_syscall, memory_order_relaxed))
        return -1;
    if (syscall(__NR_riscv_flush_icache, start, end,
                FLUSH_ICACHE_ALL_HARTS) == 0)
        return 0;
    if (errno == ENOSYS)
        atomic_store_explicit(&g_no_flush_syscall, 1, memory_order_relaxed);
    return -1;
}

void ej__arch_clear_cache(void *addr, size_t len)
{
    int saved_errno = errno;
    uintptr_t start = (uintptr_t)addr;

    /* Order the code stores before the kernel's fences. */
    __asm__ __volatile__("fence w, w" ::: "memory");
    /* Without the system call, only this hart can be made coherent: the
     * best there is, and documented as such in the public header. */
    if (flush_icache_syscall(start, start + len) != 0)
        fence_i();
    errno = saved_errno;
}

void ej__arch_sync_local(void)
{
    fence_i();
}

/* Neither the PRIVATE_EXPEDITED IPI nor a TLB-shootdown IPI executes
 * FENCE.I on the interrupted hart (SRET is not context-synchronizing for
 * instruction fetch).  Both rungs are nonetheless sufficient here because
 * ej_clear_cache already had the kernel fence every hart that runs, or will
 * run, this process; the rung only has to complete in time, and both do. */
const ej__arch_flush_caps ej__arch_flush_caps_host = {
    .expedited_syncs = 1,
    .mprotect_ipi_syncs = 1,
};

size_t ej__arch_return_constant(uint8_t *buf, uint32_t k)
{
    /* addi a0, zero, K; ret */
    const uint32_t c[2] = {(k << 20) | (10u << 7) | 0x13u, 0x00008067u};
    memcpy(buf, c, sizeof c);
    return sizeof c;
}
