/* elfjit relocation fixture: one relocation RTYPE at `field` (.text+0x10)
 * against SYM + ADDEND, on the instruction (or data) INSN, followed by a
 * 16-byte sentinel 0xa5.  Every immediate bit of the instruction is set
 * (the values below), so a relocation that ORs its value in instead of
 * replacing the field shows.  The test places SYM (the resolver's `tgt` by
 * default) or rewrites the addend to hit each range limit exactly.
 *
 *   INSN 1 beq x0, x0            B-type     (BRANCH)
 *        2 jal x0               J-type     (JAL)
 *        3 auipc ra; jalr ra, (ra)         (CALL, CALL_PLT)
 *        4 auipc a0             U-type     (PCREL_HI20, GOT_HI20)
 *        5 lui a0               U-type     (HI20)
 *        6 c.beqz a0            CB-type    (RVC_BRANCH)
 *        7 c.j                  CJ-type    (RVC_JUMP)
 *        8 .word 0              data       (32, 32_PCREL, SET*, ...)
 *        9 addi a0, a0          I-type     (LO12_I)
 *       10 sw a1, (a0)          S-type     (LO12_S) */
#ifndef SYM
#define SYM tgt
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
        .reloc  field, RTYPE, SYM+ADDEND
#if INSN == 1
        .word   0xfe000fe3
#elif INSN == 2
        .word   0xfffff06f
#elif INSN == 3
        .word   0xfffff097
        .word   0xfff080e7
#elif INSN == 4
        .word   0xfffff517
#elif INSN == 5
        .word   0xfffff537
#elif INSN == 6
        .half   0xdd7d
#elif INSN == 7
        .half   0xbffd
#elif INSN == 8
        .word   0
#elif INSN == 9
        .word   0xfff50513
#elif INSN == 10
        .word   0xfeb52fa3
#else
#error INSN
#endif
        .fill   16, 1, 0xa5
