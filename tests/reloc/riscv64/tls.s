# elfjit riscv64 relocation fixture: thread-local storage, every TLS type
# an object carries except the descriptors (refused: see
# test_reloc_riscv64.c), in the instructions of each access model and in
# data.  Linked with tls_other.s (tls_all_types_*); the expectations are
# the check lines (syntax: ../harness.c; decoders: relocs.s's header).
# Relaxation is on, as the compilers emit it (R_RISCV_RELAX markers).
# (gas 2.40 adds the symbol's offset in its section to a nonzero addend of
# TPREL_HI20 and TLS_DTPREL32/64, .reloc included: every such reference
# with an addend here is to a symbol at offset 0 of its section.)
#
# The module's TLS block (link-only: an executable's own block, TLS variant
# I with no TCB before it, module id 1): the .tdata-like sections of every
# object in input order, then the .tbss-like ones, each at its alignment:
#   tls.o   .tdata     align 8    [0, 16)    td_a 0, ts 8, td_b 12
#   tls.o   .tdata.x16 align 16   [16, 33)   td16 16, td_odd 32
#   other.o .tdata     align 4    [36, 44)   to_a 36, ts 40
#   tls.o   .tbss      align 4    [44, 56)   tv 44, tv2 48
#   tls.o   .tbss.x32  align 32   [64, 104)  tb32 64
#   other.o .tbss      align 8    [104, 112) to_b 104
# size 112, alignment 32; the block starts at the thread pointer: T = 0.
# Thread-pointer offsets are T + S + A; the offsets handed to
# __tls_get_addr (and DTPREL32/64) are S + A - 0x800 (TLS_DTV_OFFSET).
# let: T = 0
# let: DTV = 0x800
# check: tls_size() == 112 && tls_align() == 32
# check: tls_off(td_a) == 0 && tls_off_in(ts, 0) == 8 && tls_off(td_b) == 12
# check: tls_off(td16) == 16 && tls_off(td_odd) == 32
# check: tls_off(to_a) == 36 && tls_off_in(ts, 1) == 40
# check: tls_off(tv) == 44 && tls_off(tv2) == 48 && tls_off(tb32) == 64
# check: tls_off(to_b) == 104
#
# GOT-like TLS slots (initial-exec: 8 bytes, T + S; general-dynamic: 16
# bytes {module id, S - 0x800}), one per symbol and kind, in read-only data
# after the ordinary GOT slots, found from the instructions.
# let: GOT = read64(f_got)
# let: TLS_SLOTS_FROM = GOT
# let: TLS_SLOTS_TO = d_start
        .text
        .globl  tls_code
        .type   tls_code, @function
tls_code:
# ---- local-exec: lui %tprel_hi, add %tprel_add (a marker), %tprel_lo ---------
        .globl  i_le_hi
i_le_hi:
# check: decode_u(i_le_hi) == hi_part(T + tls_off(tb32) + 0x12345)
        lui     a5, %tprel_hi(tb32+0x12345)
        .globl  i_le_add
i_le_add:                                   # TPREL_ADD: add a5, a5, tp, untouched
# check: read32(i_le_add) == 0x004787b3
        add     a5, a5, tp, %tprel_add(tb32+0x12345)
        .globl  i_le_lw
i_le_lw:                                    # TPREL_LO12_I on a load
# check: decode_i(i_le_lw) == sext(T + tls_off(tb32) + 0x12345, 12)
# check: read32(i_le_lw) & 0xfffff == 0x7a503
        lw      a0, %tprel_lo(tb32+0x12345)(a5)
        .globl  i_le_hi_tv
i_le_hi_tv:
# check: decode_u(i_le_hi_tv) == hi_part(T + tls_off(tv))
        lui     a4, %tprel_hi(tv)
        add     a4, a4, tp, %tprel_add(tv)
        .globl  i_le_addi
i_le_addi:                                  # TPREL_LO12_I on addi
# check: decode_i(i_le_addi) == sext(T + tls_off(tv), 12)
        addi    a0, a4, %tprel_lo(tv)
        .globl  i_le_hi_s
i_le_hi_s:
# check: decode_u(i_le_hi_s) == hi_part(T + tls_off(tv) + 0x7ff)
        lui     a3, %tprel_hi(tv+0x7ff)
        add     a3, a3, tp, %tprel_add(tv+0x7ff)
        .globl  i_le_sw
i_le_sw:                                    # TPREL_LO12_S
# check: decode_s(i_le_sw) == sext(T + tls_off(tv) + 0x7ff, 12)
        sw      a0, %tprel_lo(tv+0x7ff)(a3)
        .globl  i_le_sw2
i_le_sw2:                                   # no addend: any symbol
# check: decode_s(i_le_sw2) == sext(T + tls_off(tv2), 12)
        sd      a0, %tprel_lo(tv2)(a3)
        .globl  i_le_neg
i_le_neg:                                   # a negative offset
# check: decode_u(i_le_neg) == hi_part(T + tls_off(to_b) - 0x123456)
        lui     a2, %tprel_hi(to_b-0x123456)
        .globl  i_le_neg_lo
i_le_neg_lo:
# check: decode_i(i_le_neg_lo) == sext(T + tls_off(to_b) - 0x123456, 12)
        ld      a2, %tprel_lo(to_b-0x123456)(a2)
        .globl  i_le_ts
i_le_ts:
# check: decode_i(i_le_ts) == sext(T + tls_off_in(ts, 0), 12)
        addi    a0, a0, %tprel_lo(ts)

# ---- initial-exec: auipc %tls_ie_pcrel_hi + ld %pcrel_lo: T + S --------------
        .globl  i_ie_hi
i_ie_hi:
        auipc   a0, %tls_ie_pcrel_hi(tv)
        .globl  i_ie_lo
i_ie_lo:
        ld      a0, %pcrel_lo(i_ie_hi)(a0)
# let: G_ie_tv = decode_pcrel(i_ie_hi, i_ie_lo)
# check: read64(G_ie_tv) == T + tls_off(tv)
        .globl  i_ie_pseudo
i_ie_pseudo:                                # la.tls.ie: the same slot
# check: decode_pcrel(i_ie_pseudo, i_ie_pseudo + 4) == G_ie_tv
        la.tls.ie a1, tv
        .globl  i_ie_to_a
i_ie_to_a:
# let: G_ie_to_a = decode_pcrel(i_ie_to_a, i_ie_to_a + 4)
# check: read64(G_ie_to_a) == T + tls_off(to_a)
        la.tls.ie a2, to_a

# ---- general-dynamic: auipc %tls_gd_pcrel_hi + addi: {1, S - 0x800} ----------
        .globl  i_gd
i_gd:
# let: G_gd_tv = decode_pcrel(i_gd, i_gd + 4)
# check: read64(G_gd_tv) == 1 && read64(G_gd_tv + 8) == tls_off(tv) - DTV
# check: decode_call(i_gd + 8, 1, 1) == __tls_get_addr || stub_target(decode_call(i_gd + 8, 1, 1)) == __tls_get_addr
        la.tls.gd a0, tv
        call    __tls_get_addr@plt
        .globl  i_gd_ts
i_gd_ts:
# let: G_gd_ts0 = decode_pcrel(i_gd_ts, i_gd_ts + 4)
# check: read64(G_gd_ts0) == 1 && read64(G_gd_ts0 + 8) == tls_off_in(ts, 0) - DTV
        la.tls.gd a0, ts
        call    __tls_get_addr@plt
        .globl  i_gd_to_b
i_gd_to_b:
# let: G_gd_to_b = decode_pcrel(i_gd_to_b, i_gd_to_b + 4)
# check: read64(G_gd_to_b) == 1 && read64(G_gd_to_b + 8) == tls_off(to_b) - DTV
        la.tls.gd a0, to_b
        .globl  i_gd_hi
i_gd_hi:                                    # written out: the same pair as i_gd
        auipc   a0, %tls_gd_pcrel_hi(tv)
        .globl  i_gd_lo
i_gd_lo:
        addi    a0, a0, %pcrel_lo(i_gd_hi)
# check: decode_pcrel(i_gd_hi, i_gd_lo) == G_gd_tv
        ret
        .size   tls_code, .-tls_code

# Every slot is distinct, 8-aligned, after the ordinary GOT slots and in
# read-only data (before .data).
# check: tls_slot(G_ie_tv, 8) && tls_slot(G_ie_to_a, 8) && apart(G_ie_tv, 8, G_ie_to_a, 8)
# check: tls_slot(G_gd_tv, 16) && tls_slot(G_gd_ts0, 16) && tls_slot(G_gd_to_b, 16)
# check: apart(G_gd_tv, 16, G_gd_ts0, 16) && apart(G_gd_tv, 16, G_gd_to_b, 16) && apart(G_gd_ts0, 16, G_gd_to_b, 16)
# check: apart(G_ie_tv, 8, G_gd_tv, 16) && apart(G_ie_tv, 8, G_gd_ts0, 16) && apart(G_ie_tv, 8, G_gd_to_b, 16)
# check: apart(G_ie_to_a, 8, G_gd_tv, 16) && apart(G_ie_to_a, 8, G_gd_ts0, 16) && apart(G_ie_to_a, 8, G_gd_to_b, 16)

# ---- data: DTPREL32/64 = S + A - 0x800 ---------------------------------------
        .macro  field name, type, expr, init=0x1122334455667788
        .p2align 3
        .globl  \name
\name:
        .reloc  \name, \type, \expr
        .quad   \init
        .quad   0xa5a5a5a5a5a5a5a5
        .endm

        .data
        .p2align 4
        .globl  d_start
d_start:
        .globl  f_got
f_got:  .quad   _GLOBAL_OFFSET_TABLE_
        field   f_dtprel64, R_RISCV_TLS_DTPREL64, tv
# check: u64(f_dtprel64) == tls_off(tv) - DTV
        field   f_dtprel64_a, R_RISCV_TLS_DTPREL64, tb32+0x10
# check: u64(f_dtprel64_a) == tls_off(tb32) + 0x10 - DTV
        field   f_dtprel32, R_RISCV_TLS_DTPREL32, to_b+0x800
# check: u32(f_dtprel32) == tls_off(to_b)
# gcc's debug information: .dtpreldword x+0x800 is x's offset in the block.
        .p2align 3
        .globl  f_dtpreldword
f_dtpreldword:
        .dtpreldword td16+0x800
        .quad   0xa5a5a5a5a5a5a5a5
# check: u64(f_dtpreldword) == tls_off(td16)
        .globl  f_dtprelword
f_dtprelword:
        .dtprelword tv+0x800
        .word   0x11223344
        .quad   0xa5a5a5a5a5a5a5a5
# check: u32(f_dtprelword) == tls_off(tv)
        field   f_dtprel64_b, R_RISCV_TLS_DTPREL64, tv2
# check: u64(f_dtprel64_b) == tls_off(tv2) - DTV

# ---- the TLS block -----------------------------------------------------------
        .section .tdata, "awT", @progbits
        .p2align 3
        .globl  td_a
        .type   td_a, @object
td_a:   .quad   0x1111111111111111
        .size   td_a, 8
        .type   ts, @object
ts:     .word   0x22222222
        .size   ts, 4
        .globl  td_b
        .type   td_b, @object
td_b:   .word   0x33333333
        .size   td_b, 4

        .section .tdata.x16, "awT", @progbits
        .p2align 4
        .globl  td16
        .type   td16, @object
td16:   .quad   0x4444444444444444, 0x5555555555555555
        .size   td16, 16
        .globl  td_odd
        .type   td_odd, @object
td_odd: .byte   0x66
        .size   td_odd, 1

        .section .tbss, "awT", @nobits
        .p2align 2
        .globl  tv
        .type   tv, @object
tv:     .zero   4
        .size   tv, 4
        .globl  tv2
        .type   tv2, @object
tv2:    .zero   8
        .size   tv2, 8

        .section .tbss.x32, "awT", @nobits
        .p2align 5
        .globl  tb32
        .type   tb32, @object
tb32:   .zero   40
        .size   tb32, 40
