/* elfjit — instruction-cache and pipeline coherence.
 *
 * Writing instructions into memory is not enough to run them.  Depending on
 * the processor, the bytes may still sit in a data cache the instruction
 * fetcher does not see (aarch64, riscv64), and a core that already fetched
 * or decoded the old bytes may keep executing them until it performs a
 * context-synchronizing (serializing) operation (all three architectures).
 * elfjit calls these functions itself when it publishes a module; they are
 * public for callers that generate or patch code of their own.
 *
 * The protocol for publishing code, in order:
 *
 *     1. write the instructions through a writable, non-executable view;
 *     2. make the range executable (and no longer writable);
 *     3. ej_clear_cache(addr, len);
 *     4. if another thread may already have executed code at any address
 *        in the range (patching in place, or reusing freed code memory),
 *        ej_pipeline_flush_mt() before publishing the new entry point;
 *     5. publish the entry point to other threads with a release store
 *        (they read it with an acquire load).
 *
 * Code at addresses no thread has ever executed only needs steps 1-3 and 5.
 */
#ifndef ELFJIT_COHERENCE_H
#define ELFJIT_COHERENCE_H

#include <stddef.h>

#include "elfjit/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Makes the instructions most recently written to [ADDR, ADDR+LEN) visible
 * to instruction fetch on every core, for code executed after this call
 * returns (on the calling thread) or after a later synchronization with
 * this thread (on other threads; see ej_pipeline_flush_mt for threads that
 * may have fetched the old instructions already).
 *
 * ADDR need not be aligned and LEN need not be a multiple of anything: every
 * cache line the range touches is maintained.  LEN 0 is a no-op (ADDR may
 * then be NULL).  A range that would wrap past the end of the address space
 * is clamped at its end.  The range must be mapped (readable or executable)
 * for the duration of the call; its protection is not changed.
 *
 * Per architecture:
 *  - x86_64: instruction fetch snoops the data caches, so only a compiler
 *    barrier is needed (the stores must not be moved after the call).
 *  - aarch64: cleans the data cache to the point of unification and
 *    invalidates the instruction cache by address, with line sizes read
 *    from CTR_EL0 at run time, skipping either step when CTR_EL0.IDC /
 *    CTR_EL0.DIC say the hardware makes it unnecessary; the invalidation is
 *    broadcast to every core.
 *  - riscv64: the riscv_flush_icache system call for all harts of the
 *    process (the kernel also defers a FENCE.I to any hart that schedules
 *    one of its threads later).  On a kernel without that call (before
 *    Linux 4.15) only the calling hart executes FENCE.I, so cross-hart
 *    coherence cannot be guaranteed there.
 *
 * Never fails; preserves errno.  Thread-safe: may be called concurrently
 * from any number of threads, on overlapping ranges or not. */
void ej_clear_cache(void *addr, size_t len);

/* Ensures that every thread of the process, the caller included, executes
 * a context-synchronizing (x86: serializing) instruction before it next
 * executes user code, so that no thread keeps running instructions it
 * fetched before the code was changed.  Call it after ej_clear_cache when
 * the modified range may have been executed by other threads.
 *
 * The mechanism is chosen at the first call by going down a ladder, from
 * the strongest rung the kernel grants (each rung is one value of
 * ej_pipeline_flush_method()):
 *
 *   "membarrier-sync-core"  membarrier(PRIVATE_EXPEDITED_SYNC_CORE)
 *                           (Linux 4.16 x86/arm64, 6.9 riscv): the
 *                           kernel's own guarantee for exactly this case.
 *   "membarrier-expedited"  membarrier(PRIVATE_EXPEDITED) (Linux 4.14): an
 *                           IPI to every CPU running one of our threads.
 *                           Sufficient on aarch64 (exception return is
 *                           context-synchronizing), on riscv64 because
 *                           ej_clear_cache already made every hart fence,
 *                           and on x86_64 for threads interrupted in user
 *                           mode (IRET serializes); a thread that was in a
 *                           system call returns by SYSRET, which does not.
 *   "mprotect-ipi"          revoking access to a private dummy page, which
 *                           makes the kernel shoot down TLB entries on every
 *                           CPU running this address space by IPI (the
 *                           technique of V8 and .NET).  Not used on
 *                           aarch64, whose TLB invalidation is broadcast in
 *                           hardware and interrupts no one.
 *   "none-single-threaded"  nothing: the process has a single thread, so
 *                           no other thread can hold stale instructions.
 *                           Checked again at every call, never assumed.
 *
 * Registration with the kernel happens once per process, whichever thread
 * gets there first; a rung the kernel refuses is never tried again.
 *
 * Returns EJ_OK, or EJ_MAP when no rung applies (every membarrier command
 * refused, the mprotect rung unavailable or failing, and more than one
 * thread alive).  Thread-safe. */
ej_status ej_pipeline_flush_mt(void);

/* The rung ej_pipeline_flush_mt last succeeded with: one of
 * "membarrier-sync-core", "membarrier-expedited", "mprotect-ipi",
 * "none-single-threaded"; or "unknown" before its first success.  For
 * diagnostics and tests.  Never NULL; the string is static.  Thread-safe. */
const char *ej_pipeline_flush_method(void);

#ifdef __cplusplus
}
#endif

#endif /* ELFJIT_COHERENCE_H */
