# elfjit relocation fixture, second object of relocs.s: defines ext_func,
# ext_data and abs_sym, and refers to far_func and far_data again, which
# must share relocs.s's stub and GOT slot.
        .text
        .globl  ext_func
        .type   ext_func, @function
ext_func:
        ret
        .globl  o_call_far
o_call_far:                             # CALL_PLT far_func: the shared stub
        call    far_func
        .globl  o_got_far
o_got_far:                              # GOT_HI20 far_data: the shared slot
.Lx:    auipc   a0, %got_pcrel_hi(far_data)
        ld      a0, %pcrel_lo(.Lx)(a0)
        ret

        .data
        .globl  ext_data
ext_data:
        .quad   0, 0, 0, 0

        .globl  abs_sym
        .set    abs_sym, 0x1234
