# elfjit relocation fixture: the second object of the TLS link (tls.s has
# the layout and the lets these checks use).  It defines to_a and to_b,
# which tls.s reaches, a local ts of the same name as tls.s's (a symbol of
# its own, at its own offset), and refers to tls.s's tv: its references
# share tls.s's slots, and its local-dynamic access the module's pair.
        .text
        .globl  other_code
        .type   other_code, @function
other_code:
        .globl  o_ld
o_ld:                                       # the module's pair, shared
# check: rel32(o_ld + 3) == G_ld
        leaq    ts@tlsld(%rip), %rdi
        call    __tls_get_addr@PLT
        .globl  o_dtpoff
o_dtpoff:                                   # DTPOFF32: this object's ts
# check: sext(read32(o_dtpoff + 3), 32) == tls_off_in(ts, 1)
        leaq    ts@dtpoff(%rax), %rcx
        .globl  o_le
o_le:
# check: sext(read32(o_le + 4), 32) == T + tls_off_in(ts, 1)
        movl    %fs:ts@tpoff, %eax
        .globl  o_le_tv
o_le_tv:
# check: sext(read32(o_le_tv + 4), 32) == T + tls_off(tv)
        movl    %fs:tv@tpoff, %eax
        .globl  o_ie_tv
o_ie_tv:                                    # tls.s's slot for tv
# check: rel32(o_ie_tv + 3) == G_ie_tv
        movq    tv@gottpoff(%rip), %rax
        .globl  o_gd_tv
o_gd_tv:                                    # tls.s's pair for tv
# check: rel32(o_gd_tv + 4) == G_gd_tv
        .byte   0x66
        leaq    tv@tlsgd(%rip), %rdi
        .value  0x6666
        rex64
        call    __tls_get_addr@PLT
        .globl  o_gd_ts
o_gd_ts:                                    # this object's ts: a pair of its own
# let: G_gd_ts1 = rel32(o_gd_ts + 4)
# check: read64(G_gd_ts1) == 1 && read64(G_gd_ts1 + 8) == tls_off_in(ts, 1)
# check: tls_slot(G_gd_ts1, 16) && apart(G_gd_ts1, 16, G_gd_ts0, 16) && apart(G_gd_ts1, 16, G_gd_tv, 16)
        .byte   0x66
        leaq    ts@tlsgd(%rip), %rdi
        .value  0x6666
        rex64
        call    __tls_get_addr@PLT
        .globl  o_desc_tv
o_desc_tv:                                  # tls.s's descriptor for tv
# check: rel32(o_desc_tv + 3) == G_desc_tv
        leaq    tv@tlsdesc(%rip), %rax
        call    *tv@tlscall(%rax)
        .globl  o_ie_to_a
o_ie_to_a:                                  # to_a, defined here: tls.s's slot
# check: rel32(o_ie_to_a + 3) == G_ie_to_a
        movq    to_a@gottpoff(%rip), %rcx
        ret
        .size   other_code, .-other_code

        .section .tdata, "awT", @progbits
        .p2align 2
        .globl  to_a
        .type   to_a, @object
to_a:   .long   5
        .size   to_a, 4
        .type   ts, @object
ts:     .long   6
        .size   ts, 4

        .section .tbss, "awT", @nobits
        .p2align 3
        .globl  to_b
        .type   to_b, @object
to_b:   .zero   8
        .size   to_b, 8
