# elfjit relocation fixture for ULEB128 field widths: at u_f1 (1 byte),
# u_f2 (2 bytes) and u_f3 (3 bytes), SET_ULEB128 u_fN + A then
# SUB_ULEB128 u_fN (as SET8 / SUB8: see uleb.s), so the value is A; the
# test rewrites the types and the SETs' addends.
        .data
        .globl  u_f1
u_f1:   .reloc  u_f1, R_RISCV_SET8, u_f1
        .reloc  u_f1, R_RISCV_SUB8, u_f1
        .byte   0x00
        .fill   7, 1, 0xa5
        .globl  u_f2
u_f2:   .reloc  u_f2, R_RISCV_SET8, u_f2
        .reloc  u_f2, R_RISCV_SUB8, u_f2
        .byte   0x80, 0x00
        .fill   6, 1, 0xa5
        .globl  u_f3
u_f3:   .reloc  u_f3, R_RISCV_SET8, u_f3
        .reloc  u_f3, R_RISCV_SUB8, u_f3
        .byte   0x80, 0x80, 0x00
        .fill   5, 1, 0xa5
