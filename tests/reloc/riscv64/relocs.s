# elfjit relocation fixture: every riscv64 relocation type that gas can
# emit, assembled with relaxation on (gas's default), so the code carries
# R_RISCV_RELAX markers and an R_RISCV_ALIGN, as compiler output does.
#
# Code: each instruction or pair the test decodes sits at a global label
# i_*; the test reads the patched instruction and compares its immediate
# with the psABI formula computed from ej_module_symbol() addresses.
#
# Data: each relocated field is an 8-byte initial value (0x1122334455667788,
# the V of ADD/SUB/SET6) followed by an 8-byte sentinel 0xa5.., at a global
# f_<type>_<what>; the test checks the field's WIDTH bytes, that the rest
# of the initial value is intact, and the sentinel.  Most data relocations
# are written with .reloc, whose expression is the r_addend the test uses.
#
# Symbols referred to:
#   local_func, local_data       locals (global aliases g_local_func, g_local_data)
#   .Lro+N                       .rodata through its section symbol
#   ext_func, ext_data, abs_sym  globals of other.s (abs_sym = 0x1234, SHN_ABS)
#   far_func, far_data,
#   near_func, small_res,
#   neg_res                      undefined: supplied by the test's resolver
#   _GLOBAL_OFFSET_TABLE_,
#   __dso_handle                 synthesised by the loader
#
# What every place must hold after the link is stated next to it in
# `check:` lines (syntax: tests/reloc/harness.c), evaluated at each base
# the test links at.  The decoders are test_reloc_riscv64.c's:
# decode_call(p, rd, link) is where the auipc rd + jalr link pair at P goes
# (and checks the registers), decode_jal / decode_branch / decode_cb /
# decode_cj the targets of the other branches, decode_pcrel(hi, lo) /
# decode_pcrel_s the address an auipc + I-type (S-type) pair computes,
# decode_u / decode_i / decode_s the immediates.  u8 .. u64 / s32 read a
# data field and check that the rest of its initial value and the sentinel
# after it are intact; got_slot_of(v) is the one GOT slot holding V,
# stub_of(v) the one stub jumping to V.
#
# let: ABS = 0x1234
# let: INIT = 0x1122334455667788
#
# The GOT: from _GLOBAL_OFFSET_TABLE_ to __dso_handle, at the end of
# read-only data.  One slot per symbol: far_data and local_data (GOT
# relocations), far_func and near_func (stubs).  ext_func is in the image:
# calls to it need neither.
# let: GOT = read64(f_64_got)
# let: GOT_END = read64(f_64_dso)
# check: GOT % 8 == 0 && GOT > g_rodata && GOT_END > GOT && GOT_END < g_local_data
# check: got_slots() == 4
# check: got_slot_of(far_data) >= GOT
# check: got_slot_of(g_local_data) >= GOT
# check: got_slot_of(far_func) >= GOT
# check: got_slot_of(near_func) >= GOT
#
# Stubs: one per external symbol called (far_func, near_func), at the end
# of text, before read-only data.
# check: stub_count() == 2
# check: stubs_start() > fwd_target && stubs_end() - 16 < g_rodata
# check: stub_of(far_func) == L_far
# check: stub_of(near_func) >= stubs_start()

        .macro  field name, type, expr, init=0x1122334455667788
        .p2align 3
        .globl  \name
\name:
        .reloc  \name, \type, \expr
        .quad   \init
        .quad   0xa5a5a5a5a5a5a5a5
        .endm

        .text
        .globl  code_start
        .type   code_start, @function
code_start:
# check: code_start == base && image_start == base
        .globl  g_local_func
g_local_func:
local_func:
        ret
        .cfi_startproc
        .globl  i_call_local
# check: decode_call(i_call_local, 1, 1) == g_local_func
i_call_local:                           # CALL_PLT local_func: direct
        call    local_func
        .cfi_def_cfa_offset 16
        .globl  i_call_ext
# check: decode_call(i_call_ext, 1, 1) == ext_func
i_call_ext:                             # CALL_PLT ext_func (other.s): direct
        call    ext_func
        .cfi_def_cfa_offset 32
        .globl  i_call_far
# let: L_far = decode_call(i_call_far, 1, 1)
# check: stub_target(L_far) == far_func
# check: stub_slot(L_far) == got_slot_of(far_func)
i_call_far:                             # CALL_PLT far_func: through its stub
        call    far_func
        .globl  i_call_near
# check: decode_call(i_call_near, 1, 1) == near_func
i_call_near:                            # CALL_PLT near_func: direct (within 2 GiB)
        call    near_func
        .globl  i_tail_far
# check: decode_call(i_tail_far, 6, 0) == L_far
i_tail_far:                             # CALL_PLT far_func, auipc t1 + jr t1: the same stub
        tail    far_func
        .globl  i_call_dep
# check: decode_call(i_call_dep, 1, 1) == ext_func + 8
i_call_dep:                             # deprecated R_RISCV_CALL, with an addend
        .reloc  i_call_dep, R_RISCV_CALL, ext_func+8
        auipc   ra, 0
        jalr    ra, 0(ra)
        .globl  i_jal_local
# check: read32(i_jal_local) & 0xfff == 0x0ef
# check: decode_jal(i_jal_local) == g_local_func
i_jal_local:                            # JAL local_func (backwards)
        jal     local_func
        .globl  i_jal_far
# check: read32(i_jal_far) & 0xfff == 0x0ef
# check: decode_jal(i_jal_far) == L_far
i_jal_far:                              # JAL far_func: through its stub (text is small)
        jal     far_func
        .globl  i_branch_local
# check: read32(i_branch_local) & 0x01fff07f == 0x00b51063
# check: decode_branch(i_branch_local) == g_local_func
i_branch_local:                         # BRANCH local_func (backwards)
        bne     a0, a1, local_func
        .globl  i_branch_fwd
# check: read32(i_branch_fwd) & 0x01fff07f == 0x00d64063
# check: decode_branch(i_branch_fwd) == fwd_target
i_branch_fwd:                           # BRANCH forwards
        blt     a2, a3, fwd_target
        .globl  i_rvc_branch
# check: read16(i_rvc_branch) & 0xe383 == 0xe101
# check: decode_cb(i_rvc_branch) == g_local_func
i_rvc_branch:                           # RVC_BRANCH (c.bnez) backwards
        c.bnez  a0, local_func
        .globl  i_rvc_jump
# check: read16(i_rvc_jump) & 0xe003 == 0xa001
# check: decode_cj(i_rvc_jump) == fwd_target
i_rvc_jump:                             # RVC_JUMP (c.j) forwards
        c.j     fwd_target
        .cfi_def_cfa_offset 48
        .globl  i_lla_local
# check: is_auipc(i_lla_local, 10) && read32(i_lla_local + 4) & 0xfffff == 0x50513
# check: decode_pcrel(i_lla_local, i_lla_local + 4) == g_local_data
i_lla_local:                            # PCREL_HI20 + PCREL_LO12_I local_data
        lla     a0, local_data
        .globl  i_lla_ext
# check: is_auipc(i_lla_ext, 11) && read32(i_lla_ext + 4) & 0xfffff == 0x58593
# check: decode_pcrel(i_lla_ext, i_lla_ext + 4) == ext_data + 8
i_lla_ext:                              # PCREL_HI20 + PCREL_LO12_I ext_data+8
        lla     a1, ext_data+8
        .globl  i_pcrel_store
i_pcrel_store:                          # PCREL_HI20 g_data+4 ...
.Lps:   auipc   a2, %pcrel_hi(g_data+4)
        .globl  i_pcrel_store_lo
# check: decode_pcrel_s(i_pcrel_store, i_pcrel_store_lo) == g_data + 4
# check: read32(i_pcrel_store_lo) & 0x01fff07f == 0x00d62023
i_pcrel_store_lo:                       # ... + PCREL_LO12_S
        sw      a3, %pcrel_lo(.Lps)(a2)
        .globl  i_got_far
# check: is_auipc(i_got_far, 14) && read32(i_got_far + 4) & 0xfffff == 0x73703
# check: decode_pcrel(i_got_far, i_got_far + 4) == got_slot_of(far_data)
i_got_far:                              # GOT_HI20 far_data + PCREL_LO12_I (ld)
.Lgf:   auipc   a4, %got_pcrel_hi(far_data)
        ld      a4, %pcrel_lo(.Lgf)(a4)
        .globl  i_got_local
# check: decode_pcrel(i_got_local, i_got_local + 4) == got_slot_of(g_local_data)
i_got_local:                            # GOT_HI20 local_data: a slot for a local
.Lgl:   auipc   a5, %got_pcrel_hi(local_data)
        ld      a5, %pcrel_lo(.Lgl)(a5)
        .globl  i_hi_abs
# check: read32(i_hi_abs) & 0xfff == 0x537
# check: decode_u(i_hi_abs) == hi_part(ABS + 0x800)
# check: decode_u(i_hi_abs) + decode_i(i_hi_abs + 4) == ABS + 0x800
# check: decode_u(i_hi_abs) + decode_s(i_hi_abs + 8) == ABS + 0x800
i_hi_abs:                               # HI20 + LO12_I + LO12_S abs_sym+0x800 (hi rounds up)
        lui     a0, %hi(abs_sym+0x800)
        addi    a0, a0, %lo(abs_sym+0x800)
        sw      a1, %lo(abs_sym+0x800)(a0)
        .globl  i_hi_res
# check: decode_u(i_hi_res) + decode_i(i_hi_res + 4) == small_res
i_hi_res:                               # HI20 + LO12_I (ld) small_res
        lui     a2, %hi(small_res)
        ld      a3, %lo(small_res)(a2)
        .globl  i_hi_neg
# check: decode_u(i_hi_neg) + decode_i(i_hi_neg + 4) == neg_res
i_hi_neg:                               # HI20 + LO12_I neg_res (a negative 32-bit address)
        lui     a4, %hi(neg_res)
        addi    a4, a4, %lo(neg_res)
        .globl  i_align
i_align:                                # R_RISCV_ALIGN: NOP padding, cut to fit
        addi    a0, a0, 1
        .p2align 4
        .globl  fwd_target
fwd_target:
        ret
# The assembler's worst-case padding (14 bytes after the 2-byte c.addi, for
# .p2align 4) is cut to what aligns fwd_target to 16, and what stays is
# NOPs; code after it moved with it (f_diff measures fwd_target -
# code_start through relocations).
# check: fwd_target == (i_align + 2 + 15) & ~15
# check: nops(i_align + 2, fwd_target)
# check: read16(fwd_target) == 0x8082
        .cfi_endproc
        .size   code_start, .-code_start

        .section .rodata
        .globl  g_rodata
g_rodata:
.Lro:   .quad   0, 0

        .data
        .globl  g_local_data
g_local_data:
local_data:
        .quad   0, 0
        .globl  g_data
g_data:
        .quad   0, 0

        # R_RISCV_32: S + A, a signed or an unsigned 32-bit value
        field   f_32_abs,       R_RISCV_32,     abs_sym+0x10
# check: u32(f_32_abs) == ABS + 0x10
        field   f_32_res,       R_RISCV_32,     small_res+7
# check: u32(f_32_res) == small_res + 7
        field   f_32_neg,       R_RISCV_32,     neg_res
# check: s32(f_32_neg) == neg_res
        # R_RISCV_64: S + A
        field   f_64_local,     R_RISCV_64,     local_data+3
# check: u64(f_64_local) == g_local_data + 3
        field   f_64_sect,      R_RISCV_64,     .Lro+5
# check: u64(f_64_sect) == g_rodata + 5
        field   f_64_ext,       R_RISCV_64,     ext_data+0x10
# check: u64(f_64_ext) == ext_data + 0x10
        field   f_64_neg,       R_RISCV_64,     ext_data-0x10
# check: u64(f_64_neg) == ext_data - 0x10
        field   f_64_far,       R_RISCV_64,     far_data+0x20
# check: u64(f_64_far) == far_data + 0x20
        field   f_64_abs,       R_RISCV_64,     abs_sym+1
# check: u64(f_64_abs) == ABS + 1
        field   f_64_func,      R_RISCV_64,     ext_func
# check: u64(f_64_func) == ext_func
        field   f_64_got,       R_RISCV_64,     _GLOBAL_OFFSET_TABLE_
        field   f_64_dso,       R_RISCV_64,     __dso_handle
        # R_RISCV_ADD*: V + S + A; R_RISCV_SUB*: V - S - A (modular)
        field   f_add8,         R_RISCV_ADD8,   local_data+1
# check: u8(f_add8) == (INIT + g_local_data + 1) & 0xff
        field   f_add16,        R_RISCV_ADD16,  ext_data
# check: u16(f_add16) == (INIT + ext_data) & 0xffff
        field   f_add32,        R_RISCV_ADD32,  far_data
# check: u32(f_add32) == (INIT + far_data) & 0xffffffff
        field   f_add64,        R_RISCV_ADD64,  abs_sym+2
# check: u64(f_add64) == INIT + ABS + 2
        field   f_sub8,         R_RISCV_SUB8,   local_data+1
# check: u8(f_sub8) == (INIT - g_local_data - 1) & 0xff
        field   f_sub16,        R_RISCV_SUB16,  ext_data
# check: u16(f_sub16) == (INIT - ext_data) & 0xffff
        field   f_sub32,        R_RISCV_SUB32,  far_data
# check: u32(f_sub32) == (INIT - far_data) & 0xffffffff
        field   f_sub64,        R_RISCV_SUB64,  abs_sym+2
# check: u64(f_sub64) == INIT - ABS - 2
        # R_RISCV_SUB6 / SET6: the low 6 bits of the byte, the top 2 kept
        field   f_sub6,         R_RISCV_SUB6,   abs_sym
# check: u8(f_sub6) == 0x80 | ((0x88 - ABS) & 0x3f)
        field   f_set6,         R_RISCV_SET6,   abs_sym+5
# check: u8(f_set6) == 0x80 | ((ABS + 5) & 0x3f)
        # R_RISCV_SET8/16/32: S + A, truncated
        field   f_set8,         R_RISCV_SET8,   small_res
# check: u8(f_set8) == small_res & 0xff
        field   f_set16,        R_RISCV_SET16,  ext_data
# check: u16(f_set16) == ext_data & 0xffff
        field   f_set32,        R_RISCV_SET32,  local_data
# check: u32(f_set32) == g_local_data & 0xffffffff
        # R_RISCV_32_PCREL: S + A - P
        field   f_32_pcrel,     R_RISCV_32_PCREL, ext_data+4
# check: s32(f_32_pcrel) == ext_data + 4 - f_32_pcrel
        field   f_32_pcrel_back, R_RISCV_32_PCREL, local_func
# check: s32(f_32_pcrel_back) == g_local_func - f_32_pcrel_back
        # R_RISCV_NONE, R_RISCV_RELAX: untouched
        field   f_none,         R_RISCV_NONE,   ext_data
# check: field(f_none, 0) == 0
        field   f_relax,        R_RISCV_RELAX,  0
# check: field(f_relax, 0) == 0

        # Label differences across relaxable code: gas emits ADD/SUB pairs.
        .p2align 3
        .globl  f_diff
f_diff:
        .word   fwd_target - i_call_local       # ADD32 + SUB32
        .half   fwd_target - i_call_local       # ADD16 + SUB16
        .byte   fwd_target - i_lla_local        # ADD8 + SUB8
        .byte   0xa5
        .quad   fwd_target - code_start         # ADD64 + SUB64
        .quad   0xa5a5a5a5a5a5a5a5
# (.word, .half, .byte, then the sentinel byte; the .quad; the sentinel)
# check: read64(f_diff) == ((fwd_target - i_call_local) & 0xffffffff | ((fwd_target - i_call_local) & 0xffff) << 32 | ((fwd_target - i_lla_local) & 0xff) << 48 | 0xa5 << 56)
# check: read64(f_diff + 8) == fwd_target - code_start
# check: read64(f_diff + 16) == 0xa5a5a5a5a5a5a5a5
