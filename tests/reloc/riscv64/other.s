# elfjit relocation fixture, second object of relocs.s: defines ext_func,
# ext_data and abs_sym, and refers to far_func and far_data again, which
# must share relocs.s's stub and GOT slot.  Its `check:` lines use
# relocs.s's lets (L_far, GOT): the two sources' checks are evaluated
# together.
        .text
        .globl  ext_func
        .type   ext_func, @function
ext_func:
        ret
        .globl  o_call_far
o_call_far:                             # CALL_PLT far_func: the shared stub
# check: decode_call(o_call_far, 1, 1) == L_far
        call    far_func
        .globl  o_got_far
o_got_far:                              # GOT_HI20 far_data: the shared slot
# check: decode_pcrel(o_got_far, o_got_far + 4) == got_slot_of(far_data)
.Lx:    auipc   a0, %got_pcrel_hi(far_data)
        ld      a0, %pcrel_lo(.Lx)(a0)
        ret

        .data
        .globl  ext_data
ext_data:
        .quad   0, 0, 0, 0

        .globl  abs_sym
        .set    abs_sym, 0x1234
