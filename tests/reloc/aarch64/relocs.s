// elfjit aarch64 relocation fixture: one site per relocation type.
//
// Every relocated instruction sits at a global label i_<what>, every
// relocated data field (8 bytes of sentinel 0xa5, so the test also sees
// that bytes past the field's width stay untouched) at a global f_<what>.
// The test reads each place P with ej_module_symbol(), decodes the
// immediate out of the relocated instruction and compares it with the
// AAELF64 formula, and checks that every bit outside the immediate is the
// assembler's (read from this object file).
//
// Types gas 2.40 has no syntax for (MOVW_GOTOFF_G0/G1_NC/G2/G2_NC/G3,
// GOTREL64/32, PLT32) are emitted as R_AARCH64_NONE at labels x_<type>;
// the test rewrites them to their real type before linking.
//
// Symbols referred to:
//   local_func, local_data, got_local
//                            locals (global aliases g_local_func, ...)
//   near_func, far_func      functions of the resolver: +64 MiB, +100 GiB
//   ext_data                 resolver, base + 1 GiB + 0x120
//   far_data                 resolver, base + 150 GiB
//   near_lit, near_tb        resolver, base + 512 KiB, base + 16 KiB
//   small_res, mid_res, big_res, huge_res, neg_res, neg_res1, neg_res2
//                            resolver: absolute values for MOVW / data
//   host_fn                  resolver: a real host function (it gets a stub)
//   _GLOBAL_OFFSET_TABLE_, __dso_handle   synthesised by the loader

        .text
        .globl  code_start
        .type   code_start, %function
code_start:
// ---- branches: CALL26, JUMP26, CONDBR19, TSTBR14
        .globl  i_call_near
i_call_near:    bl      near_func                       // direct (+64 MiB)
        .globl  i_call_far
i_call_far:     bl      far_func                        // through the stub
        .globl  i_jump_far
i_jump_far:     b       far_func                        // the same stub
        .globl  i_call_local
i_call_local:   bl      local_func
        .globl  i_jump_local
i_jump_local:   b       local_func+4
        .globl  i_bcond
i_bcond:        b.ne    local_func+8
        .globl  i_cbz
i_cbz:          cbnz    x3, near_lit
        .globl  i_tbz
i_tbz:          tbz     w3, #5, local_func
        .globl  i_tbnz
i_tbnz:         tbnz    x9, #40, near_tb
// ---- PC-relative loads and addresses: LD_PREL_LO19, ADR_PREL_LO21
        .globl  i_ldr_lit
i_ldr_lit:      ldr     x0, local_data+8
        .globl  i_ldr_lit_w
i_ldr_lit_w:    ldr     w1, near_lit
        .globl  i_adr
i_adr:          adr     x2, local_data+3
        .globl  i_adr_res
i_adr_res:      adr     x2, near_lit-1
// ---- page + low 12 bits
        .globl  i_adrp
i_adrp:         adrp    x0, ext_data
        .globl  i_add
i_add:          add     x0, x0, :lo12:ext_data+8
        .globl  i_adrp_nc
i_adrp_nc:      adrp    x1, :pg_hi21_nc:far_data+0x10
        .globl  i_ldst8
i_ldst8:        ldrb    w1, [x0, :lo12:ext_data+1]
        .globl  i_ldst16
i_ldst16:       ldrh    w1, [x0, :lo12:ext_data+2]
        .globl  i_ldst32
i_ldst32:       str     w1, [x0, :lo12:ext_data+4]
        .globl  i_ldst64
i_ldst64:       ldr     x1, [x0, :lo12:ext_data+8]
        .globl  i_ldst128
i_ldst128:      ldr     q1, [x0, :lo12:ext_data+16]
        .globl  i_ldst8_sb
i_ldst8_sb:     ldrsb   x4, [x0, :lo12:ext_data+3]
        .globl  i_ldst64_d
i_ldst64_d:     str     d2, [x0, :lo12:ext_data+0x18]
        .globl  i_prfm
i_prfm:         prfm    pldl1keep, [x0, :lo12:ext_data]
        .globl  i_adrp_local
i_adrp_local:   adrp    x5, local_data
        .globl  i_ldst64_local
i_ldst64_local: ldr     x5, [x5, :lo12:local_data+8]
        .globl  i_adrp_host
i_adrp_host:    adrp    x6, host_fn
        .globl  i_add_host
i_add_host:     add     x6, x6, :lo12:host_fn
        .globl  i_adr_host
i_adr_host:     adr     x7, host_fn                     // its stub, when far
// ---- MOVW, unsigned: MOVW_UABS_G0..G3 (+ _NC)
        .globl  i_uabs_g0
i_uabs_g0:      movz    x0, #:abs_g0:small_res
        .globl  i_uabs_g1
i_uabs_g1:      movz    x0, #:abs_g1:mid_res
        .globl  i_uabs_g2
i_uabs_g2:      movz    x0, #:abs_g2:big_res
        .globl  i_uabs_g3
i_uabs_g3:      movz    x0, #:abs_g3:huge_res
        .globl  i_uabs_g0_nc                            // the large code model
i_uabs_g0_nc:   movz    x7, #:abs_g0_nc:huge_res
        .globl  i_uabs_g1_nc
i_uabs_g1_nc:   movk    x7, #:abs_g1_nc:huge_res
        .globl  i_uabs_g2_nc
i_uabs_g2_nc:   movk    x7, #:abs_g2_nc:huge_res
        .globl  i_uabs_g3_k
i_uabs_g3_k:    movk    x7, #:abs_g3:huge_res
        .globl  i_uabs_g1_w
i_uabs_g1_w:    movz    w8, #:abs_g1:mid_res
// ---- MOVW, signed: MOVW_SABS_G0..G2 (MOVN for negative values)
        .globl  i_sabs_g0_neg
i_sabs_g0_neg:  movz    x0, #:abs_g0_s:neg_res
        .globl  i_sabs_g0_pos
i_sabs_g0_pos:  movn    x0, #:abs_g0_s:small_res
        .globl  i_sabs_g1
i_sabs_g1:      movz    x0, #:abs_g1_s:neg_res1
        .globl  i_sabs_g1_pos
i_sabs_g1_pos:  movz    x0, #:abs_g1_s:mid_res
        .globl  i_sabs_g2
i_sabs_g2:      movz    x0, #:abs_g2_s:neg_res2
// ---- MOVW, PC-relative: MOVW_PREL_G0..G3 (+ _NC)
        .globl  i_prel_g0
i_prel_g0:      movz    x0, #:prel_g0:local_func
        .globl  i_prel_g0_neg
i_prel_g0_neg:  movz    x0, #:prel_g0:code_start
        .globl  i_prel_g1
i_prel_g1:      movz    x1, #:prel_g1:ext_data
        .globl  i_prel_g2
i_prel_g2:      movz    x1, #:prel_g2:far_data
        .globl  i_prel_g3
i_prel_g3:      movz    x2, #:prel_g3:far_func
        .globl  i_prel_g2_nc
i_prel_g2_nc:   movk    x2, #:prel_g2_nc:far_func
        .globl  i_prel_g1_nc
i_prel_g1_nc:   movk    x2, #:prel_g1_nc:far_func
        .globl  i_prel_g0_nc
i_prel_g0_nc:   movk    x2, #:prel_g0_nc:far_func
        .globl  i_prel_g3_neg
i_prel_g3_neg:  movz    x3, #:prel_g3:neg_res
// ---- GOT: ADR_GOT_PAGE, LD64_GOT_LO12_NC, LD64_GOTPAGE_LO15,
//      LD64_GOTOFF_LO15, GOT_LD_PREL19, MOVW_GOTOFF_*
        .globl  i_got_page
i_got_page:     adrp    x0, :got:ext_data
        .globl  i_got_lo12
i_got_lo12:     ldr     x0, [x0, :got_lo12:ext_data]
        .globl  i_got_page_far
i_got_page_far: adrp    x1, :got:far_func
        .globl  i_got_lo12_far
i_got_lo12_far: ldr     x1, [x1, :got_lo12:far_func]
        .globl  i_gotpage_lo15
i_gotpage_lo15: ldr     x2, [x2, #:gotpage_lo15:far_data]
        .globl  i_gotoff_lo15
i_gotoff_lo15:  ldr     x2, [x2, #:gotoff_lo15:far_data]
        .globl  i_got_ld_prel19
i_got_ld_prel19: ldr    x3, :got:got_local
        .globl  i_gotoff_g1
i_gotoff_g1:    movz    x4, #:gotoff_g1:far_data
        .globl  i_gotoff_g0_nc
i_gotoff_g0_nc: movk    x4, #:gotoff_g0_nc:far_data
// Rewritten by the test (R_AARCH64_NONE here).
        .globl  x_gotoff_g0
x_gotoff_g0:    movz    x4, #0
        .reloc  x_gotoff_g0, R_AARCH64_NONE, ext_data
        .globl  x_gotoff_g1_nc
x_gotoff_g1_nc: movk    x4, #0, lsl #16
        .reloc  x_gotoff_g1_nc, R_AARCH64_NONE, ext_data
        .globl  x_gotoff_g2
x_gotoff_g2:    movn    x4, #0, lsl #32
        .reloc  x_gotoff_g2, R_AARCH64_NONE, far_data
        .globl  x_gotoff_g2_nc
x_gotoff_g2_nc: movk    x4, #0, lsl #32
        .reloc  x_gotoff_g2_nc, R_AARCH64_NONE, far_data
        .globl  x_gotoff_g3
x_gotoff_g3:    movz    x4, #0, lsl #48
        .reloc  x_gotoff_g3, R_AARCH64_NONE, far_data
        ret
        .size   code_start, .-code_start

// In a section of its own, so that the assembler leaves the branches to it
// as relocations.
        .section .text.local, "ax", %progbits
        .globl  g_local_func
        .type   local_func, %function
g_local_func:
local_func:
        nop
        nop
        nop
        ret
        .size   local_func, .-local_func

        .section .rodata
        .p2align 4
        .globl  g_rodata
g_rodata:
        .quad   0x1111111111111111
        .globl  g_local_data
        .type   local_data, %object
g_local_data:
local_data:
        .quad   0x2222222222222222, 0x3333333333333333
        .size   local_data, 16

// The assembler turns a GOT relocation against a local symbol into one
// against its section symbol plus the symbol's offset; GOT slots hold the
// symbol's value only, so this local sits at offset 0 of its section.
        .section .rodata.gotl, "a", %progbits
        .p2align 3
        .globl  g_got_local
g_got_local:
got_local:
        .quad   0x4444444444444444

        .data
        .p2align 4
        .globl  g_data
g_data:

// Defines field NAME (global, 8 bytes of sentinel) and its relocation.
        .macro  field name, type, expr
        .globl  \name
        .type   \name, %object
\name:
        .quad   0xa5a5a5a5a5a5a5a5
        .size   \name, 8
        .reloc  \name, \type, \expr
        .endm

        field   f_got,          R_AARCH64_ABS64,  _GLOBAL_OFFSET_TABLE_
        field   f_dso,          R_AARCH64_ABS64,  __dso_handle
// ABS64, ABS32, ABS16: S + A
        field   f_abs64,        R_AARCH64_ABS64,  ext_data+0x10
        field   f_abs64_local,  R_AARCH64_ABS64,  local_data+3
        field   f_abs64_neg,    R_AARCH64_ABS64,  far_data-8
        field   f_abs32,        R_AARCH64_ABS32,  mid_res+1
        field   f_abs32_neg,    R_AARCH64_ABS32,  neg_res
        field   f_abs16,        R_AARCH64_ABS16,  small_res+2
        field   f_abs16_neg,    R_AARCH64_ABS16,  neg_res+4
// PREL64, PREL32, PREL16: S + A - P
        field   f_prel64,       R_AARCH64_PREL64, far_data+1
        field   f_prel64_back,  R_AARCH64_PREL64, local_func
        field   f_prel32,       R_AARCH64_PREL32, ext_data-4
        field   f_prel32_local, R_AARCH64_PREL32, local_func+2
        field   f_prel32_host,  R_AARCH64_PREL32, host_fn
        field   f_prel16,       R_AARCH64_PREL16, g_data+0x400
        field   f_prel16_back,  R_AARCH64_PREL16, g_data
// Rewritten by the test: GOTREL64, GOTREL32 (S + A - GOT), PLT32.
        field   x_gotrel64,     R_AARCH64_NONE,   far_data+8
        field   x_gotrel32,     R_AARCH64_NONE,   local_data
        field   x_plt32_far,    R_AARCH64_NONE,   far_func+4
        field   x_plt32_local,  R_AARCH64_NONE,   local_func
