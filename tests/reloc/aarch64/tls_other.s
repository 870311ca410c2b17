// elfjit aarch64 relocation fixture: the second object of the TLS link
// (tls.s has the layout and the lets these checks use).  It defines to_a
// and to_b, which tls.s reaches, a local ts of the same name as tls.s's (a
// symbol of its own, at its own offset), and refers to tls.s's tv: its
// references share tls.s's slots, its local-dynamic one the module's pair.
        .text
        .globl  other_code
        .type   other_code, %function
other_code:
        .globl  o_ld
o_ld:           adrp    x0, :tlsldm:ts
        .globl  o_ld_lo
o_ld_lo:        add     x0, x0, #:tlsldm_lo12_nc:ts
// check: decode_adrp(o_ld) + decode_add_lo12(o_ld_lo) == G_ld
        bl      __tls_get_addr
        .globl  o_dtp
o_dtp:          add     x0, x0, #:dtprel_lo12_nc:ts
// check: decode_add_lo12(o_dtp) == tls_off_in(ts, 1)
        .globl  o_le
o_le:           add     x0, x0, #:tprel_lo12_nc:ts
// check: decode_add_lo12(o_le) == T + tls_off_in(ts, 1)
        .globl  o_le_tv
o_le_tv:        add     x0, x0, #:tprel_lo12_nc:tv
// check: decode_add_lo12(o_le_tv) == T + tls_off(tv)
        .globl  o_ie
o_ie:           adrp    x0, :gottprel:tv
        .globl  o_ie_lo
o_ie_lo:        ldr     x0, [x0, #:gottprel_lo12:tv]
// check: decode_adrp(o_ie) + decode_ldst_lo12(o_ie_lo, 8) == G_ie_tv
        .globl  o_gd
o_gd:           adrp    x0, :tlsgd:tv
        .globl  o_gd_lo
o_gd_lo:        add     x0, x0, :tlsgd_lo12:tv
// check: decode_adrp(o_gd) + decode_add_lo12(o_gd_lo) == G_gd_tv
        .globl  o_gd_ts
o_gd_ts:        adrp    x0, :tlsgd:ts
        .globl  o_gd_ts_lo
o_gd_ts_lo:     add     x0, x0, :tlsgd_lo12:ts
// let: G_gd_ts1 = decode_adrp(o_gd_ts) + decode_add_lo12(o_gd_ts_lo)
// check: read64(G_gd_ts1) == 1 && read64(G_gd_ts1 + 8) == tls_off_in(ts, 1)
// check: tls_slot(G_gd_ts1, 16) && apart(G_gd_ts1, 16, G_gd_ts0, 16) && apart(G_gd_ts1, 16, G_gd_tv, 16)
        .globl  o_desc
o_desc:         adrp    x0, :tlsdesc:tv
        .globl  o_desc_ld
o_desc_ld:      ldr     x1, [x0, #:tlsdesc_lo12:tv]
        .globl  o_desc_add
o_desc_add:     add     x0, x0, #:tlsdesc_lo12:tv
        .tlsdesccall tv
        blr     x1
// check: decode_adrp(o_desc) + decode_add_lo12(o_desc_add) == G_desc_tv
// check: decode_ldst_lo12(o_desc_ld, 8) == G_desc_tv & 0xfff
        .globl  o_ie_to_a
o_ie_to_a:      ldr     x0, :gottprel:to_a
// check: decode_imm19(o_ie_to_a) == G_ie_to_a
        ret
        .size   other_code, .-other_code

        .section .tdata, "awT", %progbits
        .p2align 2
        .globl  to_a
        .type   to_a, %object
to_a:   .word   5
        .size   to_a, 4
        .type   ts, %object
ts:     .word   6
        .size   ts, 4

        .section .tbss, "awT", %nobits
        .p2align 3
        .globl  to_b
        .type   to_b, %object
to_b:   .zero   8
        .size   to_b, 8
