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
        .globl  g_local_func
g_local_func:
local_func:
        ret
        .cfi_startproc
        .globl  i_call_local
i_call_local:                           # CALL_PLT local_func: direct
        call    local_func
        .cfi_def_cfa_offset 16
        .globl  i_call_ext
i_call_ext:                             # CALL_PLT ext_func (other.s): direct
        call    ext_func
        .cfi_def_cfa_offset 32
        .globl  i_call_far
i_call_far:                             # CALL_PLT far_func: through its stub
        call    far_func
        .globl  i_call_near
i_call_near:                            # CALL_PLT near_func: direct (within 2 GiB)
        call    near_func
        .globl  i_tail_far
i_tail_far:                             # CALL_PLT far_func, auipc t1 + jr t1: the same stub
        tail    far_func
        .globl  i_call_dep
i_call_dep:                             # deprecated R_RISCV_CALL, with an addend
        .reloc  i_call_dep, R_RISCV_CALL, ext_func+8
        auipc   ra, 0
        jalr    ra, 0(ra)
        .globl  i_jal_local
i_jal_local:                            # JAL local_func (backwards)
        jal     local_func
        .globl  i_jal_far
i_jal_far:                              # JAL far_func: through its stub (text is small)
        jal     far_func
        .globl  i_branch_local
i_branch_local:                         # BRANCH local_func (backwards)
        bne     a0, a1, local_func
        .globl  i_branch_fwd
i_branch_fwd:                           # BRANCH forwards
        blt     a2, a3, fwd_target
        .globl  i_rvc_branch
i_rvc_branch:                           # RVC_BRANCH (c.bnez) backwards
        c.bnez  a0, local_func
        .globl  i_rvc_jump
i_rvc_jump:                             # RVC_JUMP (c.j) forwards
        c.j     fwd_target
        .cfi_def_cfa_offset 48
        .globl  i_lla_local
i_lla_local:                            # PCREL_HI20 + PCREL_LO12_I local_data
        lla     a0, local_data
        .globl  i_lla_ext
i_lla_ext:                              # PCREL_HI20 + PCREL_LO12_I ext_data+8
        lla     a1, ext_data+8
        .globl  i_pcrel_store
i_pcrel_store:                          # PCREL_HI20 g_data+4 ...
.Lps:   auipc   a2, %pcrel_hi(g_data+4)
        .globl  i_pcrel_store_lo
i_pcrel_store_lo:                       # ... + PCREL_LO12_S
        sw      a3, %pcrel_lo(.Lps)(a2)
        .globl  i_got_far
i_got_far:                              # GOT_HI20 far_data + PCREL_LO12_I (ld)
.Lgf:   auipc   a4, %got_pcrel_hi(far_data)
        ld      a4, %pcrel_lo(.Lgf)(a4)
        .globl  i_got_local
i_got_local:                            # GOT_HI20 local_data: a slot for a local
.Lgl:   auipc   a5, %got_pcrel_hi(local_data)
        ld      a5, %pcrel_lo(.Lgl)(a5)
        .globl  i_hi_abs
i_hi_abs:                               # HI20 + LO12_I + LO12_S abs_sym+0x800 (hi rounds up)
        lui     a0, %hi(abs_sym+0x800)
        addi    a0, a0, %lo(abs_sym+0x800)
        sw      a1, %lo(abs_sym+0x800)(a0)
        .globl  i_hi_res
i_hi_res:                               # HI20 + LO12_I (ld) small_res
        lui     a2, %hi(small_res)
        ld      a3, %lo(small_res)(a2)
        .globl  i_hi_neg
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
        field   f_32_res,       R_RISCV_32,     small_res+7
        field   f_32_neg,       R_RISCV_32,     neg_res
        # R_RISCV_64: S + A
        field   f_64_local,     R_RISCV_64,     local_data+3
        field   f_64_sect,      R_RISCV_64,     .Lro+5
        field   f_64_ext,       R_RISCV_64,     ext_data+0x10
        field   f_64_neg,       R_RISCV_64,     ext_data-0x10
        field   f_64_far,       R_RISCV_64,     far_data+0x20
        field   f_64_abs,       R_RISCV_64,     abs_sym+1
        field   f_64_func,      R_RISCV_64,     ext_func
        field   f_64_got,       R_RISCV_64,     _GLOBAL_OFFSET_TABLE_
        field   f_64_dso,       R_RISCV_64,     __dso_handle
        # R_RISCV_ADD*: V + S + A; R_RISCV_SUB*: V - S - A (modular)
        field   f_add8,         R_RISCV_ADD8,   local_data+1
        field   f_add16,        R_RISCV_ADD16,  ext_data
        field   f_add32,        R_RISCV_ADD32,  far_data
        field   f_add64,        R_RISCV_ADD64,  abs_sym+2
        field   f_sub8,         R_RISCV_SUB8,   local_data+1
        field   f_sub16,        R_RISCV_SUB16,  ext_data
        field   f_sub32,        R_RISCV_SUB32,  far_data
        field   f_sub64,        R_RISCV_SUB64,  abs_sym+2
        # R_RISCV_SUB6 / SET6: the low 6 bits of the byte, the top 2 kept
        field   f_sub6,         R_RISCV_SUB6,   abs_sym
        field   f_set6,         R_RISCV_SET6,   abs_sym+5
        # R_RISCV_SET8/16/32: S + A, truncated
        field   f_set8,         R_RISCV_SET8,   small_res
        field   f_set16,        R_RISCV_SET16,  ext_data
        field   f_set32,        R_RISCV_SET32,  local_data
        # R_RISCV_32_PCREL: S + A - P
        field   f_32_pcrel,     R_RISCV_32_PCREL, ext_data+4
        field   f_32_pcrel_back, R_RISCV_32_PCREL, local_func
        # R_RISCV_NONE, R_RISCV_RELAX: untouched
        field   f_none,         R_RISCV_NONE,   ext_data
        field   f_relax,        R_RISCV_RELAX,  0

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
