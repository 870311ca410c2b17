# elfjit relocation fixture: a ULEB128 field whose last byte still has the
# continuation bit, at the end of its section (SET8 stands for
# SET_ULEB128: see uleb.s).
        .section .data.uleb_end,"aw"
        .globl  u_end
u_end:  .byte   0xa5, 0xa5
        .reloc  ., R_RISCV_SET8, u_end
        .byte   0x80, 0x80
