/* The session layer's per-architecture part for lazy binding: a trampoline
 * that resolves a function on its first call, the stubs that enter it, and
 * the slot jumps that call a resolved function through a patchable slot.
 *
 * Exactly one of src/session/arch/{x86_64,aarch64,riscv64}.c is built, for
 * the host (CMakeLists.txt picks it), and provides everything below.
 *
 * How a lazy call goes:
 *
 *     caller --call--> lazy stub --jump--> trampoline --call--> rec->resolve(rec)
 *                                              |
 *                                              +--jump--> the address resolve returned
 *
 * The stub loads the address of its lazy record into the record register
 * and jumps to the trampoline.  The trampoline saves every register an
 * ordinary call may pass an argument in, calls the record's resolver on an
 * aligned stack, restores those registers and jumps (never calls) to the
 * address the resolver returned.  The callee then sees exactly the call the
 * caller made: the same argument registers, stack arguments, return
 * address and stack pointer.  Only registers that are free at a call
 * boundary anyway (the ones linkers' PLT stubs and veneers may clobber) are
 * changed on the way.
 *
 * Per architecture (the record register, then what the trampoline keeps):
 *
 *   x86_64   record in r11.  Saved: rdi rsi rdx rcx r8 r9, rax (al is the
 *            vector-register count of a variadic call), r10 (static chain),
 *            and the extended state the CPU enables in XCR0 among x87, SSE,
 *            AVX, MPX, AVX-512 (xmm/ymm/zmm 0-31, k0-7, x87 and MXCSR,
 *            status flags included) with XSAVEC, else XSAVE; FXSAVE (x87,
 *            MXCSR, xmm0-15) on CPUs without XSAVE.  Not kept: r11 (the
 *            callee finds its own address there), AMX tile state and APX
 *            registers (never arguments, and caller-saved), PKRU, and the
 *            arithmetic flags (never live across a call).
 *   aarch64  record in x16, x17 clobbered by the stub.  Saved: x0-x7, x8
 *            (indirect result), q0-q7 (all 128 bits), FPSR; x30 is the
 *            return address and reaches the callee unchanged.  Not kept:
 *            x9 x16 x17 (IP0/IP1 are the veneers' registers by AAPCS64);
 *            the SVE z/p registers and SME state, which an ordinary call
 *            (not a variant-PCS one, e.g. not an SVE-vector-argument
 *            function) never passes arguments in; writing q0-q7 back clears
 *            bits above 128 of z0-z7, as any NEON write does.
 *   riscv64  record in t1, t2 clobbered by the stub, t0 kept (it is the
 *            alternate link register: a millicode-style call returns
 *            through it).  Saved: a0-a7, fa0-fa7 (64 bits, LP64D), fcsr,
 *            t0; ra is the return address and reaches the callee
 *            unchanged.  Not kept: t1 t2 t3 (t2 is also GCC's static chain,
 *            which only reaches nested functions, never a lazily bound
 *            one); the vector (RVV) registers, which are arguments only of
 *            the vector calling-convention variant.
 *
 * Nothing here flushes instruction caches: the writers only store bytes,
 * the caller publishes them (src/coherence).  The stubs and slot jumps are
 * position-independent (every offset in them is inside the stub itself),
 * so they may be written at W and run at V of another mapping. */
#ifndef EJ_SESSION_LAZY_ARCH_H
#define EJ_SESSION_LAZY_ARCH_H

#include <stddef.h>
#include <stdint.h>

/* A lazy record: what a lazy stub hands to the trampoline.  Its first word
 * is the function the trampoline calls; the session layer embeds this as
 * the first member of its own record and keeps the rest there (opaque to
 * the arch code).  RESOLVE runs on the thread making the call, with every
 * argument register saved; it returns the address to jump to (it may not
 * return NULL: there is no way back to the caller from the trampoline).
 * It is an ordinary C function: it may clobber any caller-saved register,
 * vector registers included. */
typedef struct ej__lazy_record {
    void *(*resolve)(struct ej__lazy_record *rec);
} ej__lazy_record;

/* One-time set-up before the first stub is entered (x86_64: which of
 * XSAVEC/XSAVE/FXSAVE to use, the state mask from XCR0 and the size of
 * the save area from CPUID leaf 0xD; others: nothing).  Thread-safe,
 * idempotent, one load after the first call.  ej__lazy_entry_addr calls
 * it too, so a stub written with the entry address never finds it
 * missing. */
void ej__lazy_arch_init(void);

/* The trampoline's entry address.  (The trampoline is not a C function:
 * only lazy stubs may enter it.) */
uint64_t ej__lazy_entry_addr(void);

/* Bytes a lazy stub takes (a constant per arch) and its required
 * alignment. */
extern const size_t ej__lazy_stub_size, ej__lazy_stub_align;

/* Writes a lazy stub at W (the write view) that will run at address V
 * (aligned to ej__lazy_stub_align): when entered (called as the function
 * it stands for), it puts RECORD in the record register and jumps to
 * ENTRY.  Both are absolute 64-bit addresses, loaded from literals inside
 * the stub, so any distance between V and ENTRY works. */
void ej__lazy_stub_write(uint8_t *w, uint64_t v, uint64_t record, uint64_t entry);

/* Bytes and alignment of a slot jump: code that jumps to the address held
 * in the 8-byte slot at SLOT (an absolute address anywhere, 8-aligned),
 * clobbering only r11 (x86_64), x16 (aarch64) or t2 (riscv64).  The slot
 * is read with one aligned 8-byte load on every pass, so a concurrent
 * aligned atomic store of a new target is seen as either the old target
 * or the new one.  (Release/acquire ordering of what the new target reads
 * is the storer's business: the load is a plain one.) */
extern const size_t ej__slot_jump_size, ej__slot_jump_align;
void ej__slot_jump_write(uint8_t *w, uint64_t v, uint64_t slot);

/* One instruction that always raises SIGILL, for the session's trap
 * function (where calls no definition can serve go). */
extern const uint8_t ej__trap_insn[];
extern const size_t ej__trap_insn_size;

#endif /* EJ_SESSION_LAZY_ARCH_H */
