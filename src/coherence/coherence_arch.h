/* The coherence layer's per-architecture interface.
 *
 * Exactly one of src/coherence/arch/{x86_64,aarch64,riscv64}.c is built, for
 * the host, and provides everything below.  Generic code (coherence.c) asks
 * these questions instead of testing the architecture with #ifdef.
 */
#ifndef EJ_COHERENCE_ARCH_H
#define EJ_COHERENCE_ARCH_H

#include <stddef.h>
#include <stdint.h>

/* Makes the instructions in [ADDR, ADDR+LEN) visible to instruction fetch
 * on every core.  LEN is nonzero and ADDR+LEN does not wrap (the generic
 * wrapper ensures both).  Must preserve errno. */
void ej__arch_clear_cache(void *addr, size_t len);

/* Executes a context-synchronizing instruction on the calling thread, so
 * that it discards anything it fetched before now. */
void ej__arch_sync_local(void);

/* What the weaker rungs of the ej_pipeline_flush_mt ladder are worth on this
 * architecture (the strongest, membarrier SYNC_CORE, is right everywhere the
 * kernel offers it).  A rung marked 0 is skipped. */
typedef struct ej__arch_flush_caps {
    /* membarrier(PRIVATE_EXPEDITED): does the IPI, and the return to user
     * mode that follows it, synchronize the interrupted thread? */
    unsigned char expedited_syncs;
    /* mprotect on a dummy page: does the kernel reach every CPU running
     * this address space with an IPI (rather than broadcast TLB
     * maintenance that interrupts nobody)? */
    unsigned char mprotect_ipi_syncs;
} ej__arch_flush_caps;

extern const ej__arch_flush_caps ej__arch_flush_caps_host;

/* Writes into BUF (16 bytes) a function `int f(void) { return K; }` (K <
 * 2048) and returns its length: what a probe runs to find out whether the
 * machine sees code rewritten behind its back (codemem/slab.c). */
size_t ej__arch_return_constant(uint8_t *buf, uint32_t k);

/* ---- test hook (generic code, coherence.c) ------------------------------
 * Forgets the cached rung and makes ej_pipeline_flush_mt treat the rungs
 * whose bits are set in MASK as refused (bit 0 SYNC_CORE, bit 1 EXPEDITED,
 * bit 2 mprotect, bit 3 single-threaded), so tests can exercise each rung.
 * Not thread-safe: call it before any other thread uses the layer. */
void ej__coherence_test_disable_rungs(unsigned mask);

#endif /* EJ_COHERENCE_ARCH_H */
