/* Coherence, x86_64.
 *
 * Intel SDM Vol. 3A, "Handling Self- and Cross-Modifying Code": instruction
 * fetch snoops stores, so no cache maintenance exists or is needed.  A
 * processor that modifies code it then executes itself needs only a jump
 * (the call into the new code is one); a processor executing code another
 * one modified must execute a serializing instruction first, which is what
 * ej_pipeline_flush_mt arranges for every thread.  AMD's manual (APM
 * Vol. 2, "Cross-Modifying Code") gives the same rules. */
#include <string.h>
#include "coherence/coherence_arch.h"

void ej__arch_clear_cache(void *addr, size_t len)
{
    (void)addr;
    (void)len;
    /* The hardware needs nothing, but the compiler must not sink the
     * stores that wrote the code past this point, where the caller may
     * jump to it through a pointer the compiler cannot see into. */
    __asm__ __volatile__("" ::: "memory");
}

void ej__arch_sync_local(void)
{
    /* The calling thread is the one that wrote the code: by the rule
     * above it needs only a jump before running it, and the call into the
     * new code is one.  (CPUID here would be correct but costs
     * microseconds in a virtual machine, where the hypervisor traps it —
     * more than the whole publish of a small module.) */
    __asm__ __volatile__("" ::: "memory");
}

/* The PRIVATE_EXPEDITED IPI returns to user mode through IRET, which is
 * serializing; only a thread that was inside a system call at that moment
 * goes back by SYSRET, which is not (the case SYNC_CORE closes).  TLB
 * shootdowns are IPIs (except with AMD INVLPGB broadcast on recent
 * kernels), with the same IRET. */
const ej__arch_flush_caps ej__arch_flush_caps_host = {
    .expedited_syncs = 1,
    .mprotect_ipi_syncs = 1,
};

size_t ej__arch_return_constant(uint8_t *buf, uint32_t k)
{
    /* mov $K, %eax; ret */
    const uint8_t c[6] = {0xb8, (uint8_t)k, (uint8_t)(k >> 8), 0, 0, 0xc3};
    memcpy(buf, c, sizeof c);
    return sizeof c;
}
