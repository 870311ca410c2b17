/* Lazy binding, riscv64 LP64D (src/session/lazy_arch.h).
 *
 * The trampoline's frame (160 bytes, sp stays 16-aligned):
 *
 *     sp+0     a0-a7
 *     sp+64    fa0-fa7    (all 64 bits)
 *     sp+128   fcsr       (rounding mode and the flags the resolver's
 *                          floating-point work would otherwise leave set)
 *     sp+136   t0         (the alternate link register: a millicode-style
 *                          `jal t0, f` call returns through it, so it must
 *                          reach the callee intact)
 *     sp+144   s0, ra     (the standard frame record: s0 = CFA)
 *
 * Registers changed on the way to the callee: t1 (the record, then the
 * target), t2 (the stub's), t3 (scratch); the psABI's PLT stubs clobber the
 * same kind (t1, t3).
 */
#include <string.h>

#include "session/lazy_arch.h"

#if !defined(__riscv_float_abi_double)
#error "src/session/arch/riscv64.c: the trampoline is written for LP64D"
#endif

__asm__(
    ".pushsection .text\n"
    ".balign 16\n"
    ".globl ej__lazy_entry\n"
    ".hidden ej__lazy_entry\n"
    ".type ej__lazy_entry, @function\n"
    "ej__lazy_entry:\n"
    ".cfi_startproc\n"
    "   addi sp, sp, -160\n"
    ".cfi_def_cfa_offset 160\n"
    "   sd ra, 152(sp)\n"
    "   sd s0, 144(sp)\n"
    "   sd t0, 136(sp)\n"
    ".cfi_offset 1, -8\n"  /* ra */
    ".cfi_offset 8, -16\n" /* s0 */
    ".cfi_offset 5, -24\n" /* t0 */
    "   addi s0, sp, 160\n"
    "   sd a0, 0(sp)\n"
    "   sd a1, 8(sp)\n"
    "   sd a2, 16(sp)\n"
    "   sd a3, 24(sp)\n"
    "   sd a4, 32(sp)\n"
    "   sd a5, 40(sp)\n"
    "   sd a6, 48(sp)\n"
    "   sd a7, 56(sp)\n"
    "   fsd fa0, 64(sp)\n"
    "   fsd fa1, 72(sp)\n"
    "   fsd fa2, 80(sp)\n"
    "   fsd fa3, 88(sp)\n"
    "   fsd fa4, 96(sp)\n"
    "   fsd fa5, 104(sp)\n"
    "   fsd fa6, 112(sp)\n"
    "   fsd fa7, 120(sp)\n"
    "   frcsr t3\n"
    "   sd t3, 128(sp)\n"
    "   mv a0, t1\n"
    "   ld t3, 0(t1)\n"
    "   jalr t3\n"
    "   mv t1, a0\n"
    "   ld t3, 128(sp)\n"
    "   fscsr t3\n"
    "   fld fa0, 64(sp)\n"
    "   fld fa1, 72(sp)\n"
    "   fld fa2, 80(sp)\n"
    "   fld fa3, 88(sp)\n"
    "   fld fa4, 96(sp)\n"
    "   fld fa5, 104(sp)\n"
    "   fld fa6, 112(sp)\n"
    "   fld fa7, 120(sp)\n"
    "   ld a0, 0(sp)\n"
    "   ld a1, 8(sp)\n"
    "   ld a2, 16(sp)\n"
    "   ld a3, 24(sp)\n"
    "   ld a4, 32(sp)\n"
    "   ld a5, 40(sp)\n"
    "   ld a6, 48(sp)\n"
    "   ld a7, 56(sp)\n"
    "   ld t0, 136(sp)\n"
    "   ld s0, 144(sp)\n"
    "   ld ra, 152(sp)\n"
    "   addi sp, sp, 160\n"
    ".cfi_def_cfa_offset 0\n"
    ".cfi_restore 1\n"
    ".cfi_restore 8\n"
    ".cfi_restore 5\n"
    /* A jump: the callee returns straight to the caller through ra (or
     * t0). */
    "   jr t1\n"
    ".cfi_endproc\n"
    ".size ej__lazy_entry, .-ej__lazy_entry\n"
    ".popsection\n");

void ej__lazy_entry(void); /* not callable from C: see lazy_arch.h */

void ej__lazy_arch_init(void) {}

uint64_t ej__lazy_entry_addr(void) { return (uint64_t)(uintptr_t)&ej__lazy_entry; }

/* RV64I encodings used by the writers (32-bit instructions only, so no
 * dependence on the C extension). */
enum { T1 = 6, T2 = 7 };

static uint32_t auipc(unsigned rd) { return rd << 7 | 0x17u; } /* auipc rd, 0 */
static uint32_t ld(unsigned rd, unsigned rs1, uint32_t imm)
{
    return imm << 20 | rs1 << 15 | 3u << 12 | rd << 7 | 0x03u;
}
static uint32_t jr(unsigned rs1) { return rs1 << 15 | 0x67u; } /* jalr x0, 0(rs1) */

static void put32(uint8_t *w, size_t off, uint32_t insn) { memcpy(w + off, &insn, 4); }

/* Lazy stub (32 bytes):
 *     0   auipc t2, 0
 *     4   ld t1, 16(t2)   the record
 *     8   ld t2, 24(t2)   the trampoline
 *     12  jr t2
 *     16  <record:8>
 *     24  <entry:8> */
const size_t ej__lazy_stub_size = 32, ej__lazy_stub_align = 8;

void ej__lazy_stub_write(uint8_t *w, uint64_t v, uint64_t record, uint64_t entry)
{
    (void)v; /* position-independent */
    put32(w, 0, auipc(T2));
    put32(w, 4, ld(T1, T2, 16));
    put32(w, 8, ld(T2, T2, 24));
    put32(w, 12, jr(T2));
    memcpy(w + 16, &record, 8);
    memcpy(w + 24, &entry, 8);
}

/* Slot jump (24 bytes), t2 only:
 *     0   auipc t2, 0
 *     4   ld t2, 16(t2)   the slot's address
 *     8   ld t2, 0(t2)    its content
 *     12  jr t2
 *     16  <slot:8> */
const size_t ej__slot_jump_size = 24, ej__slot_jump_align = 8;

void ej__slot_jump_write(uint8_t *w, uint64_t v, uint64_t slot)
{
    (void)v;
    put32(w, 0, auipc(T2));
    put32(w, 4, ld(T2, T2, 16));
    put32(w, 8, ld(T2, T2, 0));
    put32(w, 12, jr(T2));
    memcpy(w + 16, &slot, 8);
}

/* unimp (csrrw x0, cycle, x0, a write to a read-only CSR): SIGILL. */
const uint8_t ej__trap_insn[] = {0x73, 0x10, 0x00, 0xc0};
const size_t ej__trap_insn_size = sizeof ej__trap_insn;
