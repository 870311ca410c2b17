/* Lazy binding, aarch64 (src/session/lazy_arch.h).
 *
 * The trampoline's frame (224 bytes, a multiple of 16 as sp must stay):
 *
 *     sp+0     x29 x30    (a frame record: the trampoline shows up in
 *                          backtraces as a frame called from the caller)
 *     sp+16    x0-x7
 *     sp+80    x8 (indirect result), FPSR
 *     sp+96    q0-q7
 *
 * FPSR is kept so that the resolver's floating-point work raises no
 * exception flags the caller could see.  The way on to the callee is
 * `br x16`: BTI's `bti c` landing pads accept a br only through x16/x17,
 * which AAPCS64 leaves to veneers (IP0/IP1) anyway.
 */
#include <string.h>

#include "session/lazy_arch.h"

__asm__(
    ".pushsection .text\n"
    ".balign 16\n"
    ".globl ej__lazy_entry\n"
    ".hidden ej__lazy_entry\n"
    ".type ej__lazy_entry, %function\n"
    "ej__lazy_entry:\n"
    ".cfi_startproc\n"
    "   hint #34\n" /* bti c: a stub reaches us by br x17 */
    "   stp x29, x30, [sp, #-224]!\n"
    ".cfi_def_cfa_offset 224\n"
    ".cfi_offset x29, -224\n"
    ".cfi_offset x30, -216\n"
    "   mov x29, sp\n"
    "   stp x0, x1, [sp, #16]\n"
    "   stp x2, x3, [sp, #32]\n"
    "   stp x4, x5, [sp, #48]\n"
    "   stp x6, x7, [sp, #64]\n"
    "   mrs x9, fpsr\n"
    "   stp x8, x9, [sp, #80]\n"
    "   stp q0, q1, [sp, #96]\n"
    "   stp q2, q3, [sp, #128]\n"
    "   stp q4, q5, [sp, #160]\n"
    "   stp q6, q7, [sp, #192]\n"
    "   mov x0, x16\n"
    "   ldr x17, [x16]\n"
    "   blr x17\n"
    "   mov x16, x0\n"
    "   ldp q0, q1, [sp, #96]\n"
    "   ldp q2, q3, [sp, #128]\n"
    "   ldp q4, q5, [sp, #160]\n"
    "   ldp q6, q7, [sp, #192]\n"
    "   ldp x8, x9, [sp, #80]\n"
    "   msr fpsr, x9\n"
    "   ldp x0, x1, [sp, #16]\n"
    "   ldp x2, x3, [sp, #32]\n"
    "   ldp x4, x5, [sp, #48]\n"
    "   ldp x6, x7, [sp, #64]\n"
    "   ldp x29, x30, [sp], #224\n"
    ".cfi_def_cfa_offset 0\n"
    ".cfi_restore x29\n"
    ".cfi_restore x30\n"
    /* A jump: the callee returns straight to the caller through x30. */
    "   br x16\n"
    ".cfi_endproc\n"
    ".size ej__lazy_entry, .-ej__lazy_entry\n"
    ".popsection\n");

void ej__lazy_entry(void); /* not callable from C: see lazy_arch.h */

void ej__lazy_arch_init(void) {}

uint64_t ej__lazy_entry_addr(void) { return (uint64_t)(uintptr_t)&ej__lazy_entry; }

/* A64 encodings used by the writers. */
static uint32_t ldr_literal_x(unsigned rt, uint32_t byte_offset)
{
    return 0x58000000u | (byte_offset / 4) << 5 | rt; /* LDR Xt, pc+offset */
}
#define LDR_X16_X16 0xf9400210u /* ldr x16, [x16] */
#define BR_X16 0xd61f0200u
#define BR_X17 0xd61f0220u
#define BRK_0 0xd4200000u       /* padding, never executed */

static void put32(uint8_t *w, size_t off, uint32_t insn) { memcpy(w + off, &insn, 4); }

/* Lazy stub (32 bytes; the literals 8-aligned, so each is one
 * single-copy-atomic load):
 *     0   ldr x16, 16     the record
 *     4   ldr x17, 24     the trampoline
 *     8   br x17
 *     12  brk #0
 *     16  <record:8>
 *     24  <entry:8> */
const size_t ej__lazy_stub_size = 32, ej__lazy_stub_align = 8;

void ej__lazy_stub_write(uint8_t *w, uint64_t v, uint64_t record, uint64_t entry)
{
    (void)v; /* position-independent */
    put32(w, 0, ldr_literal_x(16, 16));
    put32(w, 4, ldr_literal_x(17, 20));
    put32(w, 8, BR_X17);
    put32(w, 12, BRK_0);
    memcpy(w + 16, &record, 8);
    memcpy(w + 24, &entry, 8);
}

/* Slot jump (24 bytes), x16 only:
 *     0   ldr x16, 16     the slot's address
 *     4   ldr x16, [x16]  its content
 *     8   br x16
 *     12  brk #0
 *     16  <slot:8> */
const size_t ej__slot_jump_size = 24, ej__slot_jump_align = 8;

void ej__slot_jump_write(uint8_t *w, uint64_t v, uint64_t slot)
{
    (void)v;
    put32(w, 0, ldr_literal_x(16, 16));
    put32(w, 4, LDR_X16_X16);
    put32(w, 8, BR_X16);
    put32(w, 12, BRK_0);
    memcpy(w + 16, &slot, 8);
}

/* udf #0: SIGILL, permanently undefined. */
const uint8_t ej__trap_insn[] = {0x00, 0x00, 0x00, 0x00};
const size_t ej__trap_insn_size = sizeof ej__trap_insn;
