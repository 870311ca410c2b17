# elfjit relocation fixture: thread-local storage, every x86_64 TLS type an
# object carries, in the instructions a compiler emits for each access
# model, and in data.  Linked with tls_other.s (test_reloc_x86_64.c,
# tls_all_types_*); the expectations are the check lines (syntax:
# ../harness.c), evaluated at each base.
#
# The module's TLS block (link-only: the block of an executable, TLS
# variant II, module id 1): the .tdata-like sections of every object in
# input order, then the .tbss-like ones, each at its alignment:
#   tls.o   .tdata     align 8    [0, 16)    td_a 0, ts 8, td_b 12
#   tls.o   .tdata.x16 align 16   [16, 33)   td16 16, td_odd 32
#   other.o .tdata     align 4    [36, 44)   to_a 36, ts 40
#   tls.o   .tbss      align 4    [44, 56)   tv 44, tv2 48
#   tls.o   .tbss.x32  align 32   [64, 104)  tb32 64
#   other.o .tbss      align 8    [104, 112) to_b 104
# size 112, alignment 32; the thread pointer is at the block's aligned end:
# T (the block's offset from it) = -align_up(112, 32) = -128.  tls_off(x)
# computes S from the objects by the same rules; the pins below check both.
# let: T = -align_up(tls_size(), tls_align())
# check: tls_size() == 112 && tls_align() == 32 && T == -128
# check: tls_off(td_a) == 0 && tls_off_in(ts, 0) == 8 && tls_off(td_b) == 12
# check: tls_off(td16) == 16 && tls_off(td_odd) == 32
# check: tls_off(to_a) == 36 && tls_off_in(ts, 1) == 40
# check: tls_off(tv) == 44 && tls_off(tv2) == 48 && tls_off(tb32) == 64
# check: tls_off(to_b) == 104
#
# GOT-like TLS slots (initial-exec: 8 bytes holding T + S; general-dynamic:
# 16 bytes {module id, S}; local-dynamic: one {module id, 0} for the module;
# descriptors: 16 bytes {entry 0, argument T + S} in link-only mode), one
# per symbol and kind, whatever the addend, in read-only data after the
# ordinary GOT slots (__tls_get_addr's, for the GOTPCRELX call).  Each slot
# is found from the instruction that addresses it.
# let: GOT = read64(f_got)
# let: G_plain = rel32(i_gd_odd + 12)
# check: read64(G_plain) == __tls_get_addr
# check: G_plain >= GOT
        .text
        .globl  tls_code
        .type   tls_code, @function
tls_code:
# ---- local-exec: T + S + A ------------------------------------------------
        .globl  i_le_mov
i_le_mov:                                   # 64 8b 04 25 imm32: TPOFF32 tv
# check: read32(i_le_mov) == 0x25048b64
# check: sext(read32(i_le_mov + 4), 32) == T + tls_off(tv)
        movl    %fs:tv@tpoff, %eax
        .globl  i_le_mov_a
i_le_mov_a:                                 # TPOFF32 tv2+4
# check: sext(read32(i_le_mov_a + 4), 32) == T + tls_off(tv2) + 4
        movl    %fs:tv2@tpoff+4, %eax
        .globl  i_le_lea
i_le_lea:                                   # 48 8d 88 imm32: TPOFF32 td_a
# check: read32(i_le_lea) & 0xffffff == 0x888d48
# check: sext(read32(i_le_lea + 3), 32) == T + tls_off(td_a)
        leaq    td_a@tpoff(%rax), %rcx
        .globl  i_le_imm
i_le_imm:                                   # 48 c7 c2 imm32: TPOFF32 tb32
# check: sext(read32(i_le_imm + 3), 32) == T + tls_off(tb32)
        movq    $tb32@tpoff, %rdx
        .globl  i_le_abs
i_le_abs:                                   # 48 b8 imm64: TPOFF64 to_b
# check: read16(i_le_abs) == 0xb848
# check: read64(i_le_abs + 2) == T + tls_off(to_b)
        movabsq $to_b@tpoff, %rax
        .globl  i_le_ts
i_le_ts:                                    # this object's local ts
# check: sext(read32(i_le_ts + 4), 32) == T + tls_off_in(ts, 0)
        movl    %fs:ts@tpoff, %eax
        .globl  i_le_odd
i_le_odd:                                   # TPOFF32 td_odd-1
# check: sext(read32(i_le_odd + 4), 32) == T + tls_off(td_odd) - 1
        movl    %fs:td_odd@tpoff-1, %eax

# ---- initial-exec: G + A - P, the slot holds T + S --------------------------
        .globl  i_ie_tv
i_ie_tv:                                    # 48 8b 05 rel32: GOTTPOFF tv-4
# check: read32(i_ie_tv) & 0xffffff == 0x058b48
# let: G_ie_tv = rel32(i_ie_tv + 3)
# check: read64(G_ie_tv) == T + tls_off(tv)
        movq    tv@gottpoff(%rip), %rax
        .globl  i_ie_tv_add
i_ie_tv_add:                                # 4c 03 25 rel32: the same slot
# check: read32(i_ie_tv_add) & 0xffffff == 0x25034c
# check: rel32(i_ie_tv_add + 3) == G_ie_tv
        addq    tv@gottpoff(%rip), %r12
        .globl  i_ie_tv_a
i_ie_tv_a:                                  # GOTTPOFF tv+4: the same slot, + 8
# check: rel32(i_ie_tv_a + 3) == G_ie_tv + 8
        movq    tv@gottpoff+8(%rip), %rax
        .globl  i_ie_to_a
i_ie_to_a:                                  # other.o's to_a
# let: G_ie_to_a = rel32(i_ie_to_a + 3)
# check: read64(G_ie_to_a) == T + tls_off(to_a)
        movq    to_a@gottpoff(%rip), %rcx
        .globl  i_ie_td16
i_ie_td16:
# let: G_ie_td16 = rel32(i_ie_td16 + 3)
# check: read64(G_ie_td16) == T + tls_off(td16)
        movq    td16@gottpoff(%rip), %rdx

# ---- general-dynamic: G + A - P, the pair holds {1, S} ----------------------
        .globl  i_gd_tv
i_gd_tv:                                    # 66 48 8d 3d rel32; 66 66 48 e8 rel32
# check: read32(i_gd_tv) == 0x3d8d4866 && read32(i_gd_tv + 8) == 0xe8486666
# let: G_gd_tv = rel32(i_gd_tv + 4)
# check: read64(G_gd_tv) == 1 && read64(G_gd_tv + 8) == tls_off(tv)
# check: rel32(i_gd_tv + 12) == __tls_get_addr || stub_target(rel32(i_gd_tv + 12)) == __tls_get_addr
        .byte   0x66
        leaq    tv@tlsgd(%rip), %rdi
        .value  0x6666
        rex64
        call    __tls_get_addr@PLT
        .globl  i_gd_odd
i_gd_odd:                                   # the call through the GOT (-fno-plt)
# check: read32(i_gd_odd + 8) == 0x15ff4866
# let: G_gd_odd = rel32(i_gd_odd + 4)
# check: read64(G_gd_odd) == 1 && read64(G_gd_odd + 8) == tls_off(td_odd)
        .byte   0x66
        leaq    td_odd@tlsgd(%rip), %rdi
        .byte   0x66
        rex64
        call    *__tls_get_addr@GOTPCREL(%rip)
        .globl  i_gd_ts
i_gd_ts:                                    # this object's ts
# let: G_gd_ts0 = rel32(i_gd_ts + 4)
# check: read64(G_gd_ts0) == 1 && read64(G_gd_ts0 + 8) == tls_off_in(ts, 0)
        .byte   0x66
        leaq    ts@tlsgd(%rip), %rdi
        .value  0x6666
        rex64
        call    __tls_get_addr@PLT
        .globl  i_gd_to_b
i_gd_to_b:                                  # other.o's to_b
# let: G_gd_to_b = rel32(i_gd_to_b + 4)
# check: read64(G_gd_to_b) == 1 && read64(G_gd_to_b + 8) == tls_off(to_b)
        .byte   0x66
        leaq    to_b@tlsgd(%rip), %rdi
        .value  0x6666
        rex64
        call    __tls_get_addr@PLT

# ---- local-dynamic: the module's pair {1, 0}; DTPOFF32/64 = S + A -----------
        .globl  i_ld
i_ld:                                       # 48 8d 3d rel32: TLSLD; e8 rel32
# check: read32(i_ld) & 0xffffff == 0x3d8d48 && read8(i_ld + 7) == 0xe8
# let: G_ld = rel32(i_ld + 3)
# check: read64(G_ld) == 1 && read64(G_ld + 8) == 0
# check: rel32(i_ld + 8) == __tls_get_addr || stub_target(rel32(i_ld + 8)) == __tls_get_addr
        leaq    tv@tlsld(%rip), %rdi
        call    __tls_get_addr@PLT
        .globl  i_dtpoff_lea
i_dtpoff_lea:                               # 48 8d 88 imm32: DTPOFF32 tv
# check: sext(read32(i_dtpoff_lea + 3), 32) == tls_off(tv)
        leaq    tv@dtpoff(%rax), %rcx
        .globl  i_dtpoff_mov
i_dtpoff_mov:                               # 8b 90 imm32: DTPOFF32 td_b+2
# check: read16(i_dtpoff_mov) == 0x908b
# check: sext(read32(i_dtpoff_mov + 2), 32) == tls_off(td_b) + 2
        movl    td_b@dtpoff+2(%rax), %edx
        .globl  i_dtpoff_abs
i_dtpoff_abs:                               # 48 ba imm64: DTPOFF64 tb32
# check: read64(i_dtpoff_abs + 2) == tls_off(tb32)
        movabsq $tb32@dtpoff, %rdx
        .globl  i_ld_ts
i_ld_ts:                                    # another symbol: the same pair
# check: rel32(i_ld_ts + 3) == G_ld
        leaq    ts@tlsld(%rip), %rdi
        call    __tls_get_addr@PLT

# ---- descriptors: G + A - P, {0, T + S}; TLSDESC_CALL writes nothing --------
        .globl  i_desc_tv
i_desc_tv:                                  # 48 8d 05 rel32: GOTPC32_TLSDESC tv-4
# check: read32(i_desc_tv) & 0xffffff == 0x058d48
# let: G_desc_tv = rel32(i_desc_tv + 3)
# check: read64(G_desc_tv) == 0 && read64(G_desc_tv + 8) == T + tls_off(tv)
        leaq    tv@tlsdesc(%rip), %rax
        .globl  i_desc_call
i_desc_call:                                # ff 10: TLSDESC_CALL tv, untouched
# check: read16(i_desc_call) == 0x10ff
        call    *tv@tlscall(%rax)
        .globl  i_desc_to_b
i_desc_to_b:
# let: G_desc_to_b = rel32(i_desc_to_b + 3)
# check: read64(G_desc_to_b) == 0 && read64(G_desc_to_b + 8) == T + tls_off(to_b)
        leaq    to_b@tlsdesc(%rip), %rax
        call    *to_b@tlscall(%rax)
        .globl  i_desc_tv2
i_desc_tv2:                                 # tv again: the same descriptor
# check: rel32(i_desc_tv2 + 3) == G_desc_tv
        leaq    tv@tlsdesc(%rip), %rax
        call    *tv@tlscall(%rax)
        ret
        .size   tls_code, .-tls_code

# Every slot is distinct, 8-aligned, in read-only data (before .data) and
# after the ordinary GOT slot.
# check: apart(G_ie_tv, 8, G_ie_to_a, 8) && apart(G_ie_tv, 8, G_ie_td16, 8) && apart(G_ie_to_a, 8, G_ie_td16, 8)
# check: apart(G_gd_tv, 16, G_gd_odd, 16) && apart(G_gd_tv, 16, G_gd_ts0, 16) && apart(G_gd_odd, 16, G_gd_ts0, 16)
# check: apart(G_gd_to_b, 16, G_gd_tv, 16) && apart(G_gd_to_b, 16, G_gd_odd, 16) && apart(G_gd_to_b, 16, G_gd_ts0, 16)
# check: apart(G_ld, 16, G_gd_tv, 16) && apart(G_ld, 16, G_gd_odd, 16) && apart(G_ld, 16, G_gd_ts0, 16) && apart(G_ld, 16, G_gd_to_b, 16)
# check: apart(G_desc_tv, 16, G_desc_to_b, 16) && apart(G_desc_tv, 16, G_ld, 16) && apart(G_desc_to_b, 16, G_ld, 16)
# check: apart(G_ie_tv, 8, G_gd_tv, 16) && apart(G_ie_tv, 8, G_desc_tv, 16) && apart(G_gd_tv, 16, G_desc_tv, 16)
# check: apart(G_ie_to_a, 8, G_gd_to_b, 16) && apart(G_ie_td16, 8, G_desc_to_b, 16) && apart(G_ie_td16, 8, G_gd_odd, 16)
# check: apart(G_plain, 8, G_ie_tv, 8) && apart(G_plain, 8, G_gd_tv, 16) && apart(G_plain, 8, G_ld, 16) && apart(G_plain, 8, G_desc_tv, 16)
# check: tls_slot(G_ie_tv, 8) && tls_slot(G_ie_to_a, 8) && tls_slot(G_ie_td16, 8)
# check: tls_slot(G_gd_tv, 16) && tls_slot(G_gd_odd, 16) && tls_slot(G_gd_ts0, 16) && tls_slot(G_gd_to_b, 16)
# check: tls_slot(G_ld, 16) && tls_slot(G_desc_tv, 16) && tls_slot(G_desc_to_b, 16)
# let: TLS_SLOTS_FROM = G_plain + 8
# let: TLS_SLOTS_TO = d_start

# ---- data: TPOFF64/TPOFF32 = T + S + A, DTPOFF64/DTPOFF32 = S + A -----------
        .data
        .p2align 4
        .globl  d_start
d_start:
        .globl  f_got
f_got:
        .quad   _GLOBAL_OFFSET_TABLE_
        .globl  f_tpoff64
f_tpoff64:
# check: u64(f_tpoff64) == T + tls_off(tv)
        .quad   tv@tpoff
        .globl  f_tpoff64_a
f_tpoff64_a:
# check: u64(f_tpoff64_a) == T + tls_off(td16) + 8
        .quad   td16@tpoff + 8
        .globl  f_dtpoff64
f_dtpoff64:
# check: u64(f_dtpoff64) == tls_off(to_a)
        .quad   to_a@dtpoff
        .globl  f_dtpoff64_a
f_dtpoff64_a:
# check: u64(f_dtpoff64_a) == tls_off(tb32) + 0x10
        .quad   tb32@dtpoff + 0x10
        .globl  f_dtpoff32
f_dtpoff32:
# check: s32(f_dtpoff32) == tls_off(tv2)
        .long   tv2@dtpoff
        .long   0xa5a5a5a5
        .globl  f_tpoff32
f_tpoff32:
# check: s32(f_tpoff32) == T + tls_off(tv)
        .long   tv@tpoff
        .long   0xa5a5a5a5
        .globl  f_tpoff32_a
f_tpoff32_a:
# check: s32(f_tpoff32_a) == T + tls_off(to_b) - 0x20
        .long   to_b@tpoff - 0x20
        .long   0xa5a5a5a5

# ---- the TLS block ---------------------------------------------------------
        .section .tdata, "awT", @progbits
        .p2align 3
        .globl  td_a
        .type   td_a, @object
td_a:   .quad   0x1111111111111111
        .size   td_a, 8
        .type   ts, @object
ts:     .long   0x22222222
        .size   ts, 4
        .globl  td_b
        .type   td_b, @object
td_b:   .long   0x33333333
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
