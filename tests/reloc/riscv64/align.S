/* R_RISCV_ALIGN: three alignments in one section (8, 32 and 4096 bytes),
 * labels after each, and data that names them (a global, a local label,
 * a local label plus an addend).  Built with compressed instructions
 * (padding 2^K - 2) and, with -DNORVC, without (padding 2^K - 4).  The
 * linker must cut each padding to what aligns the next label. */
#ifdef NORVC
        .option norvc
#endif
        .text
        .globl  a_start
a_start:
        addi    a0, a0, 1
        .p2align 3
        .globl  a8
a8:     addi    a0, a0, 1
        .p2align 5
        .globl  a32
a32:    nop
        addi    a0, a0, 1
.Lmid:  addi    a0, a0, 1
        .p2align 12
        .globl  a4k
        .type   a4k, @function
a4k:    addi    a0, a0, 1
        ret
        .size   a4k, .-a4k

        .data
        .globl  a_refs
a_refs:
        .quad   a8
        .quad   a32
        .quad   a4k
        .quad   .Lmid
        .quad   .Lmid + 2
        .section .note.GNU-stack,"",@progbits
