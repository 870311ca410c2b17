/* Lazy binding, x86_64 (src/session/lazy_arch.h).
 *
 * The trampoline's stack, from the caller's frame down:
 *
 *     rbp+8    return address        (the original call's; left in place)
 *     rbp      saved rbp             (a frame record: unwinders and
 *                                     ASan's frame walk see a normal frame)
 *     rbp-8    rdi rsi rdx rcx r8 r9 rax r10   (down to rbp-64)
 *     ...      padding to a 64-byte boundary
 *     rsp      XSAVEC/XSAVE/FXSAVE area (ej__lazy_x86_save_size bytes,
 *                                     64-aligned)
 *
 * Everything the trampoline writes is below the return address, which is
 * the callee's to use: no caller keeps anything in its red zone across a
 * call (the call itself writes the return address there).
 */
#include <cpuid.h>
#include <stdatomic.h>
#include <string.h>

#include "session/lazy_arch.h"

/* How the trampoline saves the extended state; 0 until ej__lazy_arch_init
 * ran (the trampoline then stops on ud2 rather than lose state). */
enum { SAVE_NONE, SAVE_FXSAVE, SAVE_XSAVE, SAVE_XSAVEC };

/* Read by the trampoline with plain loads.  They are written once, before
 * the mode's release store, and never change afterwards.  Not static:
 * top-level asm can name only symbols the compiler does not rename. */
uint32_t ej__lazy_x86_save_size;
uint64_t ej__lazy_x86_save_mask;
_Atomic uint32_t ej__lazy_x86_save_mode;

/* XCR0 components kept: x87 (0), SSE (1), AVX (2), MPX bounds (3, 4:
 * argument registers of the MPX ABI), AVX-512 opmask and zmm (5, 6, 7).
 * The others are never arguments: PKRU (9) must not be rolled back, AMX
 * tiles (17, 18) would fault on XRSTOR in a process that has not asked
 * for them (XFD), APX (19) registers are caller-saved scratch. */
#define SAVE_COMPONENTS UINT64_C(0xff)

__asm__(
    ".pushsection .text\n"
    ".balign 16\n"
    ".globl ej__lazy_entry\n"
    ".hidden ej__lazy_entry\n"
    ".type ej__lazy_entry, @function\n"
    "ej__lazy_entry:\n"
    ".cfi_startproc\n"
    /* A stub reaches us by an indirect jump: the landing pad IBT wants
     * (a nop everywhere else). */
    "   endbr64\n"
    "   pushq %rbp\n"
    ".cfi_def_cfa_offset 16\n"
    ".cfi_offset %rbp, -16\n"
    "   movq %rsp, %rbp\n"
    ".cfi_def_cfa_register %rbp\n"
    "   pushq %rdi\n"
    "   pushq %rsi\n"
    "   pushq %rdx\n"
    "   pushq %rcx\n"
    "   pushq %r8\n"
    "   pushq %r9\n"
    "   pushq %rax\n"
    "   pushq %r10\n"
    "   movl ej__lazy_x86_save_size(%rip), %eax\n"
    "   subq %rax, %rsp\n"
    "   andq $-64, %rsp\n"
    "   movl ej__lazy_x86_save_mode(%rip), %eax\n"
    "   cmpl $1, %eax\n" /* SAVE_FXSAVE */
    "   je 3f\n"
    "   jb 9f\n"
    /* XSAVE writes only XSTATE_BV of the header and XRSTOR faults on
     * anything but zeros in the rest; XSAVEC writes all of it, but
     * clearing it costs less than a branch. */
    "   xorl %edx, %edx\n"
    "   movq %rdx, 512(%rsp)\n"
    "   movq %rdx, 520(%rsp)\n"
    "   movq %rdx, 528(%rsp)\n"
    "   movq %rdx, 536(%rsp)\n"
    "   movq %rdx, 544(%rsp)\n"
    "   movq %rdx, 552(%rsp)\n"
    "   movq %rdx, 560(%rsp)\n"
    "   movq %rdx, 568(%rsp)\n"
    "   cmpl $3, %eax\n" /* SAVE_XSAVEC (movl keeps the flags) */
    "   movl ej__lazy_x86_save_mask(%rip), %eax\n"
    "   movl ej__lazy_x86_save_mask+4(%rip), %edx\n"
    "   je 2f\n"
    /* The 64 forms everywhere: 64-bit x87 FIP/FDP, and one layout for
     * save and restore. */
    "   xsave64 (%rsp)\n"
    "   jmp 4f\n"
    "2: xsavec64 (%rsp)\n"
    "   jmp 4f\n"
    "3: fxsave64 (%rsp)\n"
    "4: movq %r11, %rdi\n"
    "   callq *(%r11)\n"
    "   movq %rax, %r11\n"
    "   movl ej__lazy_x86_save_mode(%rip), %eax\n"
    "   cmpl $1, %eax\n"
    "   je 5f\n"
    /* XRSTOR reads the layout (standard or compacted) from the header. */
    "   movl ej__lazy_x86_save_mask(%rip), %eax\n"
    "   movl ej__lazy_x86_save_mask+4(%rip), %edx\n"
    "   xrstor64 (%rsp)\n"
    "   jmp 6f\n"
    "5: fxrstor64 (%rsp)\n"
    "6: leaq -64(%rbp), %rsp\n"
    "   popq %r10\n"
    "   popq %rax\n"
    "   popq %r9\n"
    "   popq %r8\n"
    "   popq %rcx\n"
    "   popq %rdx\n"
    "   popq %rsi\n"
    "   popq %rdi\n"
    "   popq %rbp\n"
    ".cfi_def_cfa %rsp, 8\n"
    ".cfi_restore %rbp\n"
    /* A jump, so that the callee returns straight to the caller (and a
     * shadow stack, if any, still matches). */
    "   jmpq *%r11\n"
    "9: ud2\n"
    ".cfi_endproc\n"
    ".size ej__lazy_entry, .-ej__lazy_entry\n"
    ".popsection\n");

void ej__lazy_entry(void); /* not callable from C: see lazy_arch.h */

static uint32_t round_up(uint32_t v, uint32_t a) { return (v + a - 1) & ~(a - 1); }

/* Bytes the save area needs for MASK: the larger of the standard layout
 * (each component at its CPUID offset) and the compacted one (components
 * packed in order, some 64-aligned), so either instruction fits. */
static uint32_t xsave_area_size(uint64_t mask)
{
    uint32_t standard = 576, compacted = 576; /* legacy area + header */

    for (unsigned i = 2; i < 64; i++) {
        unsigned size, offset, flags, unused;

        if (!(mask >> i & 1))
            continue;
        __cpuid_count(0xd, i, size, offset, flags, unused);
        if (offset + size > standard)
            standard = offset + size;
        if (flags & 2) /* ECX bit 1: 64-aligned when compacted */
            compacted = round_up(compacted, 64);
        compacted += size;
    }
    return round_up(standard > compacted ? standard : compacted, 64);
}

void ej__lazy_arch_init(void)
{
    unsigned a, b, c, d;
    uint32_t mode = SAVE_FXSAVE, size = 512;
    uint64_t mask = 0;

    if (atomic_load_explicit(&ej__lazy_x86_save_mode, memory_order_acquire) != SAVE_NONE)
        return;
    /* Threads racing here compute the same values; any may store them. */
    __cpuid(1, a, b, c, d);
    if ((c & bit_XSAVE) && (c & bit_OSXSAVE)) {
        unsigned xcr0_lo, xcr0_hi;

        __asm__ __volatile__("xgetbv" : "=a"(xcr0_lo), "=d"(xcr0_hi) : "c"(0));
        mask = ((uint64_t)xcr0_hi << 32 | xcr0_lo) & SAVE_COMPONENTS;
        size = xsave_area_size(mask);
        mode = SAVE_XSAVE;
        __cpuid_count(0xd, 1, a, b, c, d);
        if (a & 2) /* EAX bit 1: XSAVEC */
            mode = SAVE_XSAVEC;
    }
    ej__lazy_x86_save_size = size;
    ej__lazy_x86_save_mask = mask;
    atomic_store_explicit(&ej__lazy_x86_save_mode, mode, memory_order_release);
}

uint64_t ej__lazy_entry_addr(void)
{
    ej__lazy_arch_init();
    return (uint64_t)(uintptr_t)&ej__lazy_entry;
}

/* Lazy stub (24 bytes):
 *     0   49 bb <record:8>       movabs $record, %r11
 *     10  ff 25 00 00 00 00      jmp *0(%rip)    (the literal after it)
 *     16  <entry:8>
 * r11 is free at any call (not an argument register; PLTs use it). */
const size_t ej__lazy_stub_size = 24, ej__lazy_stub_align = 8;

void ej__lazy_stub_write(uint8_t *w, uint64_t v, uint64_t record, uint64_t entry)
{
    static const uint8_t jmp_rip[6] = {0xff, 0x25, 0, 0, 0, 0};

    (void)v; /* position-independent */
    w[0] = 0x49;
    w[1] = 0xbb;
    memcpy(w + 2, &record, 8);
    memcpy(w + 10, jmp_rip, sizeof jmp_rip);
    memcpy(w + 16, &entry, 8);
}

/* Slot jump (16 bytes, one aligned fetch block: this is the hot path):
 *     0   49 bb <slot:8>         movabs $slot, %r11
 *     10  41 ff 23               jmp *(%r11)
 *     13  cc cc cc               int3 (never reached) */
const size_t ej__slot_jump_size = 16, ej__slot_jump_align = 16;

void ej__slot_jump_write(uint8_t *w, uint64_t v, uint64_t slot)
{
    static const uint8_t jmp_r11[6] = {0x41, 0xff, 0x23, 0xcc, 0xcc, 0xcc};

    (void)v;
    w[0] = 0x49;
    w[1] = 0xbb;
    memcpy(w + 2, &slot, 8);
    memcpy(w + 10, jmp_r11, sizeof jmp_r11);
}

/* ud2: SIGILL, the instruction defined to be undefined. */
const uint8_t ej__trap_insn[] = {0x0f, 0x0b};
const size_t ej__trap_insn_size = sizeof ej__trap_insn;
