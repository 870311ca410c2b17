/* Coherence, aarch64.
 *
 * The sequence is the one the Arm Architecture Reference Manual for A-profile
 * (DDI 0487) gives for making new instructions visible, under
 * "Synchronization and coherency issues between data and instruction
 * accesses":
 *
 *     DC CVAU, Xn   clean each data cache line to the point of unification
 *     DSB ISH       ...and wait until the cleans are visible to all cores
 *     IC IVAU, Xn   invalidate each instruction cache line, inner shareable
 *     DSB ISH       ...and wait until the invalidations completed everywhere
 *     ISB           discard what this core already fetched
 *
 * CTR_EL0 (Cache Type Register) tells the minimum line sizes (DminLine,
 * IminLine: log2 of the number of 4-byte words) and whether either
 * maintenance step is architecturally unnecessary (IDC: no data cache clean
 * needed for instruction-to-data coherence; DIC: no instruction cache
 * invalidation needed).  Other cores still need a context synchronization
 * event of their own (ISB or exception return): that is ej_pipeline_flush_mt.
 */
#include <string.h>
#include <stdatomic.h>
#include <stdint.h>

#include "coherence/coherence_arch.h"

#define CTR_IMINLINE_SHIFT 0
#define CTR_DMINLINE_SHIFT 16
#define CTR_IDC (UINT64_C(1) << 28)
#define CTR_DIC (UINT64_C(1) << 29)

/* CTR_EL0 is constant for the life of the process (Linux reports the
 * system-wide safe value, trapping the read if cores disagree), so it is
 * read once; bit 31 is RES1, so 0 means "not read yet". */
static _Atomic uint64_t g_ctr_el0;

static uint64_t ctr_el0(void)
{
    uint64_t v = atomic_load_explicit(&g_ctr_el0, memory_order_relaxed);

    if (v == 0) {
        __asm__ __volatile__("mrs %0, ctr_el0" : "=r"(v));
        atomic_store_explicit(&g_ctr_el0, v, memory_order_relaxed);
    }
    return v;
}

static uintptr_t line_size(uint64_t ctr, unsigned shift)
{
    return (uintptr_t)4 << ((ctr >> shift) & 0xf);
}

static void dcache_clean_pou(uintptr_t start, uintptr_t end, uintptr_t line)
{
    for (uintptr_t p = start & ~(line - 1); p < end; p += line)
        __asm__ __volatile__("dc cvau, %0" : : "r"(p) : "memory");
}

static void icache_invalidate_pou(uintptr_t start, uintptr_t end,
                                  uintptr_t line)
{
    for (uintptr_t p = start & ~(line - 1); p < end; p += line)
        __asm__ __volatile__("ic ivau, %0" : : "r"(p) : "memory");
}

void ej__arch_clear_cache(void *addr, size_t len)
{
    uint64_t ctr = ctr_el0();
    uintptr_t start = (uintptr_t)addr, end = start + len;

    if (!(ctr & CTR_IDC))
        dcache_clean_pou(start, end, line_size(ctr, CTR_DMINLINE_SHIFT));
    /* Even with IDC the stores themselves must be complete before the
     * instruction side may look. */
    __asm__ __volatile__("dsb ish" ::: "memory");
    if (!(ctr & CTR_DIC)) {
        icache_invalidate_pou(start, end, line_size(ctr, CTR_IMINLINE_SHIFT));
        __asm__ __volatile__("dsb ish" ::: "memory");
    }
    __asm__ __volatile__("isb" ::: "memory");
}

void ej__arch_sync_local(void)
{
    __asm__ __volatile__("isb" ::: "memory");
}

/* Exception return (ERET) is a context synchronization event, and Linux
 * always returns to user mode by ERET, so the PRIVATE_EXPEDITED IPI is
 * enough (it is all SYNC_CORE does on arm64).  TLB invalidation is
 * broadcast by TLBI ...IS instructions, without IPIs, so the mprotect trick
 * synchronizes nobody. */
const ej__arch_flush_caps ej__arch_flush_caps_host = {
    .expedited_syncs = 1,
    .mprotect_ipi_syncs = 0,
};

size_t ej__arch_return_constant(uint8_t *buf, uint32_t k)
{
    /* mov w0, #K; ret */
    const uint32_t c[2] = {0x52800000u | (k << 5), 0xd65f03c0u};
    memcpy(buf, c, sizeof c);
    return sizeof c;
}
