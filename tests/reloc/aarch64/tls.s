// elfjit aarch64 relocation fixture: thread-local storage, every TLS type
// an object carries (R_AARCH64_TLSGD_* .. TLSLD_LDST128_DTPREL_LO12_NC), in
// the instructions of each access model.  Linked with tls_other.s
// (test_reloc_aarch64.c, tls_all_types_*); the expectations are the check
// lines (syntax: ../harness.c; decoders: relocs.s's header).  Types gas 2.40
// has no syntax for are R_AARCH64_NONE at labels x_<type>, rewritten by the
// test.
//
// The module's TLS block (link-only: an executable's own block, TLS variant
// I, module id 1): the .tdata-like sections of every object in input order,
// then the .tbss-like ones, each at its alignment:
//   tls.o   .tdata     align 8    [0, 16)    td_a 0, ts 8, td_b 12
//   tls.o   .tdata.x16 align 16   [16, 33)   td16 16, td_odd 32
//   other.o .tdata     align 4    [36, 44)   to_a 36, ts 40
//   tls.o   .tbss      align 4    [44, 56)   tv 44, tv2 48
//   tls.o   .tbss.x32  align 32   [64, 104)  tb32 64
//   other.o .tbss      align 8    [104, 112) to_b 104
// size 112, alignment 32; the block starts after the 16-byte TCB, aligned:
// T = align_up(16, 32) = 32.  Thread-pointer offsets are T + S + A,
// DTPREL offsets S + A.
// let: T = align_up(16, tls_align())
// check: tls_size() == 112 && tls_align() == 32 && T == 32
// check: tls_off(td_a) == 0 && tls_off_in(ts, 0) == 8 && tls_off(td_b) == 12
// check: tls_off(td16) == 16 && tls_off(td_odd) == 32
// check: tls_off(to_a) == 36 && tls_off_in(ts, 1) == 40
// check: tls_off(tv) == 44 && tls_off(tv2) == 48 && tls_off(tb32) == 64
// check: tls_off(to_b) == 104
// let: MOVN = 0
// let: MOVZ = 2
// let: MOVK = 3
//
// GOT-like TLS slots (initial-exec: 8 bytes, T + S; general-dynamic: 16
// bytes {module id, S}; local-dynamic: the module's {1, 0}; descriptors:
// {entry 0, argument T + S} in link-only mode), one per symbol and kind,
// in read-only data after the ordinary GOT slots (here the stub's slot for
// __tls_get_addr when it is far), found from the instructions.
// let: GOT = read64(f_got)
// let: TLS_SLOTS_FROM = GOT
// let: TLS_SLOTS_TO = d_start
        .text
        .globl  tls_code
        .type   tls_code, %function
tls_code:
// ---- local-exec: T + S + A ---------------------------------------------------
        .globl  i_le_hi
i_le_hi:        add     x0, x0, #:tprel_hi12:tb32+0x123000, lsl #12
// check: decode_add_lo12(i_le_hi) == (T + tls_off(tb32) + 0x123000) >> 12
        .globl  i_le_lo
i_le_lo:        add     x0, x0, #:tprel_lo12:tv
// check: decode_add_lo12(i_le_lo) == T + tls_off(tv)
        .globl  i_le_lo_nc
i_le_lo_nc:     add     x0, x0, #:tprel_lo12_nc:tb32+0x123010
// check: decode_add_lo12(i_le_lo_nc) == (T + tls_off(tb32) + 0x123010) & 0xfff
        .globl  i_le_g2
i_le_g2:        movz    x0, #:tprel_g2:to_b+0x123456789abc
// check: movw_s(i_le_g2, 2, T + tls_off(to_b) + 0x123456789abc)
        .globl  i_le_g1
i_le_g1:        movz    x0, #:tprel_g1:to_b+0x12345678
// check: movw_s(i_le_g1, 1, T + tls_off(to_b) + 0x12345678)
        .globl  i_le_g1_nc
i_le_g1_nc:     movk    x0, #:tprel_g1_nc:to_b+0x123456789abc
// check: movw(i_le_g1_nc, 1, T + tls_off(to_b) + 0x123456789abc)
        .globl  i_le_g0
i_le_g0:        movz    x0, #:tprel_g0:tv
// check: movw_s(i_le_g0, 0, T + tls_off(tv)) && movw_opc(i_le_g0) == MOVZ
        .globl  i_le_g0_neg
i_le_g0_neg:    movz    x0, #:tprel_g0:tv-0x1000
// check: movw_s(i_le_g0_neg, 0, T + tls_off(tv) - 0x1000) && movw_opc(i_le_g0_neg) == MOVN
        .globl  i_le_g1_neg
i_le_g1_neg:    movn    x0, #:tprel_g1:tv-0x12345678
// check: movw_s(i_le_g1_neg, 1, T + tls_off(tv) - 0x12345678) && movw_opc(i_le_g1_neg) == MOVN
        .globl  i_le_g0_nc
i_le_g0_nc:     movk    x0, #:tprel_g0_nc:tv+0x12340000
// check: movw(i_le_g0_nc, 0, T + tls_off(tv) + 0x12340000)
        .globl  i_le_ld8
i_le_ld8:       ldrb    w1, [x0, #:tprel_lo12:td_odd]
// check: decode_ldst_lo12(i_le_ld8, 1) == T + tls_off(td_odd)
        .globl  i_le_ld8_nc
i_le_ld8_nc:    ldrb    w1, [x0, #:tprel_lo12_nc:td_odd+0x5000]
// check: decode_ldst_lo12(i_le_ld8_nc, 1) == (T + tls_off(td_odd) + 0x5000) & 0xfff
        .globl  i_le_ld16
i_le_ld16:      ldrh    w1, [x0, #:tprel_lo12:tv2]
// check: decode_ldst_lo12(i_le_ld16, 2) == T + tls_off(tv2)
        .globl  i_le_ld16_nc
i_le_ld16_nc:   strh    w1, [x0, #:tprel_lo12_nc:tv2+0x2002]
// check: decode_ldst_lo12(i_le_ld16_nc, 2) == (T + tls_off(tv2) + 0x2002) & 0xfff
        .globl  i_le_ld32
i_le_ld32:      ldr     w1, [x0, #:tprel_lo12:tv]
// check: decode_ldst_lo12(i_le_ld32, 4) == T + tls_off(tv)
        .globl  i_le_ld32_nc
i_le_ld32_nc:   str     w1, [x0, #:tprel_lo12_nc:tv+0x3004]
// check: decode_ldst_lo12(i_le_ld32_nc, 4) == (T + tls_off(tv) + 0x3004) & 0xfff
        .globl  i_le_ld64
i_le_ld64:      ldr     x1, [x0, #:tprel_lo12:tb32]
// check: decode_ldst_lo12(i_le_ld64, 8) == T + tls_off(tb32)
        .globl  i_le_ld64_nc
i_le_ld64_nc:   ldr     x1, [x0, #:tprel_lo12_nc:tb32+0x4008]
// check: decode_ldst_lo12(i_le_ld64_nc, 8) == (T + tls_off(tb32) + 0x4008) & 0xfff
        .globl  x_le_ld128
x_le_ld128:     ldr     q1, [x0]
        .reloc  x_le_ld128, R_AARCH64_NONE, td16
// check: decode_ldst_lo12(x_le_ld128, 16) == T + tls_off(td16)
        .globl  x_le_ld128_nc
x_le_ld128_nc:  str     q1, [x0]
        .reloc  x_le_ld128_nc, R_AARCH64_NONE, td16+0x6010
// check: decode_ldst_lo12(x_le_ld128_nc, 16) == (T + tls_off(td16) + 0x6010) & 0xfff
        .globl  i_le_ts
i_le_ts:        add     x0, x0, #:tprel_lo12_nc:ts
// check: decode_add_lo12(i_le_ts) == T + tls_off_in(ts, 0)

// ---- initial-exec: the slot holds T + S ---------------------------------------
        .globl  i_ie_page
i_ie_page:      adrp    x0, :gottprel:tv
        .globl  i_ie_lo
i_ie_lo:        ldr     x0, [x0, #:gottprel_lo12:tv]
// let: G_ie_tv = decode_adrp(i_ie_page) + decode_ldst_lo12(i_ie_lo, 8)
// check: read64(G_ie_tv) == T + tls_off(tv)
        .globl  i_ie_lit
i_ie_lit:       ldr     x2, :gottprel:tv
// check: decode_imm19(i_ie_lit) == G_ie_tv
        .globl  i_ie_g1
i_ie_g1:        movz    x3, #:gottprel_g1:tv
        .globl  i_ie_g0
i_ie_g0:        movk    x3, #:gottprel_g0_nc:tv
// check: movw_s(i_ie_g1, 1, G_ie_tv - GOT) && movw(i_ie_g0, 0, G_ie_tv - GOT)
        .globl  i_ie_to_a
i_ie_to_a:      adrp    x0, :gottprel:to_a
        .globl  i_ie_to_a_lo
i_ie_to_a_lo:   ldr     x0, [x0, #:gottprel_lo12:to_a]
// let: G_ie_to_a = decode_adrp(i_ie_to_a) + decode_ldst_lo12(i_ie_to_a_lo, 8)
// check: read64(G_ie_to_a) == T + tls_off(to_a)

// ---- general-dynamic: {1, S}; the call to __tls_get_addr is an ordinary one --
        .globl  i_gd_page
i_gd_page:      adrp    x0, :tlsgd:tv
        .globl  i_gd_lo
i_gd_lo:        add     x0, x0, :tlsgd_lo12:tv
        .globl  i_gd_call
i_gd_call:      bl      __tls_get_addr
        nop
// let: G_gd_tv = decode_adrp(i_gd_page) + decode_add_lo12(i_gd_lo)
// check: read64(G_gd_tv) == 1 && read64(G_gd_tv + 8) == tls_off(tv)
// check: decode_bl(i_gd_call) == __tls_get_addr || stub_target(decode_bl(i_gd_call)) == __tls_get_addr
        .globl  i_gd_adr
i_gd_adr:       adr     x0, :tlsgd:tv
// check: decode_adr(i_gd_adr) == G_gd_tv
        .globl  i_gd_g1
i_gd_g1:        movz    x0, #:tlsgd_g1:tv
        .globl  i_gd_g0
i_gd_g0:        movk    x0, #:tlsgd_g0_nc:tv
// check: movw_s(i_gd_g1, 1, G_gd_tv - GOT) && movw(i_gd_g0, 0, G_gd_tv - GOT)
        .globl  i_gd_ts
i_gd_ts:        adrp    x0, :tlsgd:ts
        .globl  i_gd_ts_lo
i_gd_ts_lo:     add     x0, x0, :tlsgd_lo12:ts
// let: G_gd_ts0 = decode_adrp(i_gd_ts) + decode_add_lo12(i_gd_ts_lo)
// check: read64(G_gd_ts0) == 1 && read64(G_gd_ts0 + 8) == tls_off_in(ts, 0)
        .globl  i_gd_to_b
i_gd_to_b:      adrp    x0, :tlsgd:to_b
        .globl  i_gd_to_b_lo
i_gd_to_b_lo:   add     x0, x0, :tlsgd_lo12:to_b
// let: G_gd_to_b = decode_adrp(i_gd_to_b) + decode_add_lo12(i_gd_to_b_lo)
// check: read64(G_gd_to_b) == 1 && read64(G_gd_to_b + 8) == tls_off(to_b)

// ---- local-dynamic: the module's pair {1, 0}; DTPREL offsets S + A -----------
        .globl  i_ld_page
i_ld_page:      adrp    x0, :tlsldm:tv
        .globl  i_ld_lo
i_ld_lo:        add     x0, x0, #:tlsldm_lo12_nc:tv
        bl      __tls_get_addr
        nop
// let: G_ld = decode_adrp(i_ld_page) + decode_add_lo12(i_ld_lo)
// check: read64(G_ld) == 1 && read64(G_ld + 8) == 0
        .globl  i_ld_adr
i_ld_adr:       adr     x0, :tlsldm:ts
// check: decode_adr(i_ld_adr) == G_ld
        .globl  x_ld_g1
x_ld_g1:        movz    x0, #0, lsl #16
        .reloc  x_ld_g1, R_AARCH64_NONE, tv
        .globl  x_ld_g0_nc
x_ld_g0_nc:     movk    x0, #0
        .reloc  x_ld_g0_nc, R_AARCH64_NONE, tv
// check: movw_s(x_ld_g1, 1, G_ld - GOT) && movw(x_ld_g0_nc, 0, G_ld - GOT)
        .globl  x_ld_prel19
x_ld_prel19:    .word   0x58000000                      // ldr x0, <literal>
        .reloc  x_ld_prel19, R_AARCH64_NONE, tv
// check: decode_imm19(x_ld_prel19) == G_ld
        .globl  i_dtp_g2
i_dtp_g2:       movz    x1, #:dtprel_g2:to_b+0x123456789abc
// check: movw_s(i_dtp_g2, 2, tls_off(to_b) + 0x123456789abc)
        .globl  i_dtp_g1
i_dtp_g1:       movz    x1, #:dtprel_g1:to_b+0x12345678
// check: movw_s(i_dtp_g1, 1, tls_off(to_b) + 0x12345678)
        .globl  i_dtp_g1_nc
i_dtp_g1_nc:    movk    x1, #:dtprel_g1_nc:to_b+0x123456789abc
// check: movw(i_dtp_g1_nc, 1, tls_off(to_b) + 0x123456789abc)
        .globl  i_dtp_g0
i_dtp_g0:       movz    x1, #:dtprel_g0:tv
// check: movw_s(i_dtp_g0, 0, tls_off(tv)) && movw_opc(i_dtp_g0) == MOVZ
        .globl  i_dtp_g0_neg
i_dtp_g0_neg:   movz    x1, #:dtprel_g0:tv-0x100
// check: movw_s(i_dtp_g0_neg, 0, tls_off(tv) - 0x100) && movw_opc(i_dtp_g0_neg) == MOVN
        .globl  i_dtp_g0_nc
i_dtp_g0_nc:    movk    x1, #:dtprel_g0_nc:tv+0x12340000
// check: movw(i_dtp_g0_nc, 0, tls_off(tv) + 0x12340000)
        .globl  i_dtp_hi
i_dtp_hi:       add     x0, x0, #:dtprel_hi12:tb32+0x456000, lsl #12
// check: decode_add_lo12(i_dtp_hi) == (tls_off(tb32) + 0x456000) >> 12
        .globl  i_dtp_lo
i_dtp_lo:       add     x0, x0, #:dtprel_lo12:tv
// check: decode_add_lo12(i_dtp_lo) == tls_off(tv)
        .globl  i_dtp_lo_nc
i_dtp_lo_nc:    add     x0, x0, #:dtprel_lo12_nc:tb32+0x456010
// check: decode_add_lo12(i_dtp_lo_nc) == (tls_off(tb32) + 0x456010) & 0xfff
        .globl  i_dtp_ld8
i_dtp_ld8:      ldrb    w1, [x0, #:dtprel_lo12:td_odd]
// check: decode_ldst_lo12(i_dtp_ld8, 1) == tls_off(td_odd)
        .globl  i_dtp_ld8_nc
i_dtp_ld8_nc:   strb    w1, [x0, #:dtprel_lo12_nc:td_odd+0x1001]
// check: decode_ldst_lo12(i_dtp_ld8_nc, 1) == (tls_off(td_odd) + 0x1001) & 0xfff
        .globl  i_dtp_ld16
i_dtp_ld16:     ldrh    w1, [x0, #:dtprel_lo12:tv2]
// check: decode_ldst_lo12(i_dtp_ld16, 2) == tls_off(tv2)
        .globl  i_dtp_ld16_nc
i_dtp_ld16_nc:  ldrh    w1, [x0, #:dtprel_lo12_nc:tv2+0x2002]
// check: decode_ldst_lo12(i_dtp_ld16_nc, 2) == (tls_off(tv2) + 0x2002) & 0xfff
        .globl  i_dtp_ld32
i_dtp_ld32:     ldr     w1, [x0, #:dtprel_lo12:tv]
// check: decode_ldst_lo12(i_dtp_ld32, 4) == tls_off(tv)
        .globl  i_dtp_ld32_nc
i_dtp_ld32_nc:  ldr     w1, [x0, #:dtprel_lo12_nc:tv+0x3004]
// check: decode_ldst_lo12(i_dtp_ld32_nc, 4) == (tls_off(tv) + 0x3004) & 0xfff
        .globl  i_dtp_ld64
i_dtp_ld64:     ldr     x1, [x0, #:dtprel_lo12:tb32]
// check: decode_ldst_lo12(i_dtp_ld64, 8) == tls_off(tb32)
        .globl  i_dtp_ld64_nc
i_dtp_ld64_nc:  str     x1, [x0, #:dtprel_lo12_nc:tb32+0x4008]
// check: decode_ldst_lo12(i_dtp_ld64_nc, 8) == (tls_off(tb32) + 0x4008) & 0xfff
        .globl  x_dtp_ld128
x_dtp_ld128:    ldr     q1, [x0]
        .reloc  x_dtp_ld128, R_AARCH64_NONE, td16
// check: decode_ldst_lo12(x_dtp_ld128, 16) == tls_off(td16)
        .globl  x_dtp_ld128_nc
x_dtp_ld128_nc: ldr     q1, [x0]
        .reloc  x_dtp_ld128_nc, R_AARCH64_NONE, td16+0x5010
// check: decode_ldst_lo12(x_dtp_ld128_nc, 16) == (tls_off(td16) + 0x5010) & 0xfff

// ---- descriptors: {0, T + S}; TLSDESC_LDR/ADD/CALL write nothing -------------
        .globl  i_desc_page
i_desc_page:    adrp    x0, :tlsdesc:tv
        .globl  i_desc_ld
i_desc_ld:      ldr     x1, [x0, #:tlsdesc_lo12:tv]
        .globl  i_desc_add
i_desc_add:     add     x0, x0, #:tlsdesc_lo12:tv
        .tlsdesccall tv
        .globl  i_desc_call
i_desc_call:    blr     x1
// let: G_desc_tv = decode_adrp(i_desc_page) + decode_add_lo12(i_desc_add)
// check: decode_ldst_lo12(i_desc_ld, 8) == G_desc_tv & 0xfff
// check: read64(G_desc_tv) == 0 && read64(G_desc_tv + 8) == T + tls_off(tv)
// check: read32(i_desc_call) == 0xd63f0020
        .globl  i_desc_lit
i_desc_lit:     ldr     x1, :tlsdesc:tv
// check: decode_imm19(i_desc_lit) == G_desc_tv
        .globl  i_desc_adr
i_desc_adr:     adr     x0, :tlsdesc:tv
// check: decode_adr(i_desc_adr) == G_desc_tv
        .globl  i_desc_g1
i_desc_g1:      movz    x0, #:tlsdesc_off_g1:tv
        .globl  i_desc_g0
i_desc_g0:      movk    x0, #:tlsdesc_off_g0_nc:tv
// check: movw_s(i_desc_g1, 1, G_desc_tv - GOT) && movw(i_desc_g0, 0, G_desc_tv - GOT)
        .tlsdescldr tv
        .globl  i_desc_ldr
i_desc_ldr:     ldr     x1, [x0]
// check: read32(i_desc_ldr) == 0xf9400001
        .tlsdescadd tv
        .globl  i_desc_addm
i_desc_addm:    add     x0, x0, #0
// check: read32(i_desc_addm) == 0x91000000
        .globl  i_desc_to_b
i_desc_to_b:    adrp    x0, :tlsdesc:to_b
        .globl  i_desc_to_b_add
i_desc_to_b_add: add    x0, x0, #:tlsdesc_lo12:to_b
// let: G_desc_to_b = decode_adrp(i_desc_to_b) + decode_add_lo12(i_desc_to_b_add)
// check: read64(G_desc_to_b) == 0 && read64(G_desc_to_b + 8) == T + tls_off(to_b)
        ret
        .size   tls_code, .-tls_code

// Every slot is distinct, 8-aligned, after the ordinary GOT slots and in
// read-only data (before .data).
// check: tls_slot(G_ie_tv, 8) && tls_slot(G_ie_to_a, 8) && apart(G_ie_tv, 8, G_ie_to_a, 8)
// check: tls_slot(G_gd_tv, 16) && tls_slot(G_gd_ts0, 16) && tls_slot(G_gd_to_b, 16)
// check: tls_slot(G_ld, 16) && tls_slot(G_desc_tv, 16) && tls_slot(G_desc_to_b, 16)
// check: apart(G_gd_tv, 16, G_gd_ts0, 16) && apart(G_gd_tv, 16, G_gd_to_b, 16) && apart(G_gd_ts0, 16, G_gd_to_b, 16)
// check: apart(G_ld, 16, G_gd_tv, 16) && apart(G_ld, 16, G_gd_ts0, 16) && apart(G_ld, 16, G_gd_to_b, 16)
// check: apart(G_desc_tv, 16, G_desc_to_b, 16) && apart(G_desc_tv, 16, G_ld, 16) && apart(G_desc_tv, 16, G_gd_tv, 16)
// check: apart(G_ie_tv, 8, G_gd_tv, 16) && apart(G_ie_tv, 8, G_desc_tv, 16) && apart(G_ie_tv, 8, G_ld, 16)
// check: apart(G_ie_to_a, 8, G_gd_to_b, 16) && apart(G_ie_to_a, 8, G_desc_to_b, 16) && apart(G_desc_to_b, 16, G_gd_to_b, 16)

        .data
        .p2align 4
        .globl  d_start
d_start:
        .globl  f_got
f_got:  .xword  _GLOBAL_OFFSET_TABLE_

        .section .tdata, "awT", %progbits
        .p2align 3
        .globl  td_a
        .type   td_a, %object
td_a:   .xword  0x1111111111111111
        .size   td_a, 8
        .type   ts, %object
ts:     .word   0x22222222
        .size   ts, 4
        .globl  td_b
        .type   td_b, %object
td_b:   .word   0x33333333
        .size   td_b, 4

        .section .tdata.x16, "awT", %progbits
        .p2align 4
        .globl  td16
        .type   td16, %object
td16:   .xword  0x4444444444444444, 0x5555555555555555
        .size   td16, 16
        .globl  td_odd
        .type   td_odd, %object
td_odd: .byte   0x66
        .size   td_odd, 1

        .section .tbss, "awT", %nobits
        .p2align 2
        .globl  tv
        .type   tv, %object
tv:     .zero   4
        .size   tv, 4
        .globl  tv2
        .type   tv2, %object
tv2:    .zero   8
        .size   tv2, 8

        .section .tbss.x32, "awT", %nobits
        .p2align 5
        .globl  tb32
        .type   tb32, %object
tb32:   .zero   40
        .size   tb32, 40
