# elfjit riscv64 relocation fixture: the second object of the TLS link
# (tls.s has the layout and the lets these checks use).  It defines to_a
# and to_b, which tls.s reaches, a local ts of the same name as tls.s's (a
# symbol of its own, at its own offset), and refers to tls.s's tv: its
# references share tls.s's slots.
        .text
        .globl  other_code
        .type   other_code, @function
other_code:
        .globl  o_le
o_le:
# check: decode_u(o_le) == hi_part(T + tls_off_in(ts, 1))
        lui     a5, %tprel_hi(ts)
        add     a5, a5, tp, %tprel_add(ts)
        .globl  o_le_lo
o_le_lo:
# check: decode_i(o_le_lo) == sext(T + tls_off_in(ts, 1), 12)
        lw      a0, %tprel_lo(ts)(a5)
        .globl  o_le_tv
o_le_tv:
# check: decode_i(o_le_tv) == sext(T + tls_off(tv), 12)
        addi    a0, a0, %tprel_lo(tv)
        .globl  o_ie
o_ie:                                       # tls.s's slot for tv
# check: decode_pcrel(o_ie, o_ie + 4) == G_ie_tv
        la.tls.ie a0, tv
        .globl  o_ie_to_a
o_ie_to_a:                                  # to_a, defined here: tls.s's slot
# check: decode_pcrel(o_ie_to_a, o_ie_to_a + 4) == G_ie_to_a
        la.tls.ie a0, to_a
        .globl  o_gd
o_gd:                                       # tls.s's pair for tv
# check: decode_pcrel(o_gd, o_gd + 4) == G_gd_tv
        la.tls.gd a0, tv
        call    __tls_get_addr@plt
        .globl  o_gd_ts
o_gd_ts:                                    # this object's ts: a pair of its own
# let: G_gd_ts1 = decode_pcrel(o_gd_ts, o_gd_ts + 4)
# check: read64(G_gd_ts1) == 1 && read64(G_gd_ts1 + 8) == tls_off_in(ts, 1) - DTV
# check: tls_slot(G_gd_ts1, 16) && apart(G_gd_ts1, 16, G_gd_ts0, 16) && apart(G_gd_ts1, 16, G_gd_tv, 16)
        la.tls.gd a0, ts
        call    __tls_get_addr@plt
        ret
        .size   other_code, .-other_code

        .section .tdata, "awT", @progbits
        .p2align 2
        .globl  to_a
        .type   to_a, @object
to_a:   .word   5
        .size   to_a, 4
        .type   ts, @object
ts:     .word   6
        .size   ts, 4

        .section .tbss, "awT", @nobits
        .p2align 3
        .globl  to_b
        .type   to_b, @object
to_b:   .zero   8
        .size   to_b, 8
