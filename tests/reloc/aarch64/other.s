// elfjit aarch64 relocation fixture, linked with relocs.s: references to
// symbols relocs.s also uses share their stub and GOT slot; its own local
// gets a GOT slot of its own.  Its `check:` lines use relocs.s's lets
// (GOT, L_far): the two sources' checks are evaluated together.
        .text
        .globl  o_call_far
o_call_far:     bl      far_func                        // far_func's stub
// check: decode_bl(o_call_far) == L_far
        .globl  o_jump_near
o_jump_near:    b       near_func                       // direct
// check: decode_b(o_jump_near) == near_func
        .globl  o_got_page
o_got_page:     adrp    x0, :got:ext_data               // ext_data's slot
        .globl  o_got_lo12
o_got_lo12:     ldr     x0, [x0, :got_lo12:ext_data]
// check: decode_adrp(o_got_page) + decode_ldst_lo12(o_got_lo12, 8) == got_slot_of(ext_data)
        .globl  o_got_local
o_got_local:    ldr     x1, :got:got_local              // this object's got_local
// check: decode_imm19(o_got_local) == got_slot_of(g_other_got_local)
        ret

        .section .rodata.gotl, "a", %progbits
        .p2align 3
        .globl  g_other_got_local
g_other_got_local:
got_local:
        .quad   0x5555555555555555
