/* elfjit riscv64 relocation fixture: one relocation at `field`
 * (.text+0x10), R_RISCV_NONE against SYM + ADDEND on the instruction word
 * INSN, which the test rewrites to the TLS (or non-TLS) type a case needs,
 * for refusals and range limits (see CMakeLists.txt):
 *   SYM  tv      a TLS variable, the block's only one: S = 0, T = 0
 *        plain   a data symbol of the image (not TLS)
 *        ext_tv  an undefined TLS symbol (another module's; with -DEXT_TLS)
 * followed by 16 bytes of sentinel 0xa5.  No relaxation. */
#ifndef SYM
#define SYM tv
#endif
#ifndef ADDEND
#define ADDEND 0
#endif
        .option norelax
        .text
        .globl  code
code:
        .org    0x10
        .globl  field
field:
        .reloc  field, R_RISCV_NONE, SYM + (ADDEND)
        .word   INSN
        .fill   16, 1, 0xa5
#ifdef EXT_TLS
        .type   ext_tv, @tls_object
#endif

        .data
        .quad   0
        .globl  plain
        .type   plain, @object
plain:  .quad   1
        .size   plain, 8

        .section .tbss, "awT", @nobits
        .p2align 2
        .globl  tv
        .type   tv, @object
tv:     .zero   4
        .size   tv, 4
