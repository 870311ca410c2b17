/* libbadrel.a: badrel_fn carries one relocation no link can apply, so the
 * link fails in this member and must name it: libbadrel.a(badrel_member.o).
 *   x86_64   R_X86_64_8 of a code address (out of range);
 *   aarch64  R_AARCH64_CALL26 on a nop (not the bl it is defined for);
 *   riscv64  R_RISCV_PCREL_HI20 on an addi (not the auipc). */
        .text
        .globl  badrel_fn
        .type   badrel_fn, %function
#if defined(__x86_64__)
badrel_fn:
        xorl    %eax, %eax
        ret
        .data
        .reloc  ., R_X86_64_8, badrel_fn
        .byte   0
#elif defined(__aarch64__)
badrel_fn:
        .reloc  ., R_AARCH64_CALL26, badrel_fn
        nop
        mov     w0, #0
        ret
#elif defined(__riscv)
        .option norelax
        .option norvc
badrel_fn:
        .reloc  ., R_RISCV_PCREL_HI20, badrel_fn
        addi    a0, zero, 0
        ret
#else
#error "badrel_member.S: no case for this architecture"
#endif
        .section .note.GNU-stack, "", %progbits
