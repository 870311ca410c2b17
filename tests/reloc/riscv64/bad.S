/* elfjit relocation fixture: one relocation that must be refused, at
 * .text+0x10, selected by CASE (see test_reloc_riscv64.c, bad_*).  `tgt`
 * is supplied by the test's resolver. */
        .option norelax
        .option norvc
        .text
        .globl  code
code:
#if CASE == 1           /* PCREL_HI20 on an addi: expected auipc */
        .org    0x10
        .reloc  ., R_RISCV_PCREL_HI20, tgt
        addi    a0, a0, 0
#elif CASE == 2         /* CALL_PLT: auipc not followed by jalr */
        .org    0x10
        .reloc  ., R_RISCV_CALL_PLT, tgt
        auipc   ra, 0
        addi    ra, ra, 0
#elif CASE == 3         /* CALL_PLT: the jalr jumps through another register */
        .org    0x10
        .reloc  ., R_RISCV_CALL_PLT, tgt
        auipc   ra, 0
        jalr    ra, 0(t1)
#elif CASE == 4         /* PCREL_LO12_I on a store */
.L1:    auipc   a0, %pcrel_hi(tgt)
        .org    0x10
        .reloc  ., R_RISCV_PCREL_LO12_I, .L1
        sw      a0, 0(a0)
#elif CASE == 5         /* PCREL_LO12_S on an addi */
.L1:    auipc   a0, %pcrel_hi(tgt)
        .org    0x10
        .reloc  ., R_RISCV_PCREL_LO12_S, .L1
        addi    a0, a0, 0
#elif CASE == 6         /* HI20 on an auipc: expected lui */
        .org    0x10
        .reloc  ., R_RISCV_HI20, tgt
        auipc   a0, 0
#elif CASE == 7         /* BRANCH on a jal */
        .org    0x10
        .reloc  ., R_RISCV_BRANCH, tgt
        .word   0x0000006f
#elif CASE == 8         /* JAL on a beq */
        .org    0x10
        .reloc  ., R_RISCV_JAL, tgt
        .word   0x00000063
#elif CASE == 9         /* RVC_BRANCH on a c.j */
        .org    0x10
        .reloc  ., R_RISCV_RVC_BRANCH, tgt
        .half   0xa001
#elif CASE == 10        /* RVC_JUMP on a c.beqz */
        .org    0x10
        .reloc  ., R_RISCV_RVC_JUMP, tgt
        .half   0xc101
#elif CASE == 11        /* LO12_I on a lui */
        .org    0x10
        .reloc  ., R_RISCV_LO12_I, tgt
        lui     a0, 0
#elif CASE == 12        /* GOT_HI20 on a lui */
        .org    0x10
        .reloc  ., R_RISCV_GOT_HI20, tgt
        lui     a0, 0
#elif CASE == 13        /* ALIGN over something that is not NOPs */
        .org    0x10
        .reloc  ., R_RISCV_ALIGN, 4
        add     a0, a0, a1
#elif CASE == 14        /* PCREL_LO12_I whose label has no high part */
.L1:    addi    zero, zero, 0
        .org    0x10
        addi    a0, a0, %pcrel_lo(.L1)
#elif CASE == 15        /* PCREL_LO12_I whose label is a call, not a high part */
.L1:    call    tgt
        .org    0x10
        addi    a0, a0, %pcrel_lo(.L1)
#elif CASE == 16        /* BRANCH to an odd offset */
        .org    0x10
.L1:    .reloc  .L1, R_RISCV_BRANCH, .L1+3
        .word   0x00000063
#elif CASE == 17        /* ALIGN padding past the end of the section */
        .org    0x10
        .reloc  ., R_RISCV_ALIGN, 64
        addi    zero, zero, 0
#elif CASE == 18        /* LO12_S on a load */
        .org    0x10
        .reloc  ., R_RISCV_LO12_S, tgt
        ld      a0, 0(a0)
#elif CASE == 19        /* R_RISCV_NONE, rewritten by the test into other types */
        .org    0x10
        .reloc  ., R_RISCV_NONE, tgt
        lui     a0, 0
#else
#error CASE
#endif
        .word   0xa5a5a5a5
