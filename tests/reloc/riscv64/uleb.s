# elfjit relocation fixture: SET_ULEB128 / SUB_ULEB128.  gas 2.40 cannot
# emit them (neither `.reloc` by name nor `.uleb128 b-a` across relaxable
# code), so this object is written with R_RISCV_SET8 standing for
# SET_ULEB128 and R_RISCV_SUB8 for SUB_ULEB128; the test rewrites the types
# (54 -> 60, 37 -> 61) in a copy before linking it.  Each field is a
# ULEB128 of the length its initial bytes give, followed by 0xa5 bytes.
        .text
        .globl  u_a
u_a:
        call    u_callee                # relaxable code between the labels
        .rept   20
        addi    zero, zero, 0
        .endr
        .globl  u_b
u_b:
        ret
        .globl  u_callee
u_callee:
        ret

        .data
        # u_b - u_a in a 1-byte field: SET u_b, SUB u_a (a real pair)
        .globl  f_uleb_diff
f_uleb_diff:
        .reloc  f_uleb_diff, R_RISCV_SET8, u_b
        .reloc  f_uleb_diff, R_RISCV_SUB8, u_a
        .byte   0x00
        .fill   7, 1, 0xa5
        # u_b + 0x100 - u_a in a 3-byte field (0x80 0x80 0x00): the field keeps its length
        .globl  f_uleb_diff3
f_uleb_diff3:
        .reloc  f_uleb_diff3, R_RISCV_SET8, u_b+0x100
        .reloc  f_uleb_diff3, R_RISCV_SUB8, u_a
        .byte   0x80, 0x80, 0x00
        .fill   5, 1, 0xa5
        # SET alone, a small absolute value: S + A
        .globl  f_uleb_set
f_uleb_set:
        .reloc  f_uleb_set, R_RISCV_SET8, u_abs+3
        .byte   0x80, 0x00
        .fill   6, 1, 0xa5
        # SUB alone: V - S - A, V = 1000 in the field
        .globl  f_uleb_sub
f_uleb_sub:
        .reloc  f_uleb_sub, R_RISCV_SUB8, u_abs+1
        .uleb128 1000
        .fill   6, 1, 0xa5

        .globl  u_abs
        .set    u_abs, 30
