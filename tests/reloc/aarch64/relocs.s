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
//
// What every place must hold after the link is stated next to it in
// `check:` lines (syntax: tests/reloc/harness.c), evaluated at each base
// the test links at.  The decoders (test_reloc_aarch64.c) take the label
// of the instruction and also check that every bit outside the immediate
// field is the assembler's: decode_bl / decode_b / decode_imm19 /
// decode_imm14 / decode_adr give the target, decode_adrp the page,
// decode_add_lo12 the imm12, decode_ldst_lo12(i, size) imm12 * size;
// movw(i, g, x) / movw_s(i, g, x) hold when the move-wide at I sets group
// G of X (unsigned / signed: MOVN for X < 0).  u64/u32/s32/... read a data
// field (and check the sentinel after it); got_slot_of(v) is the one GOT
// slot holding V, stub_of(v) the one stub jumping to V.
//
// let: MOVN = 0
// let: MOVZ = 2
// let: MOVK = 3
//
// The GOT: _GLOBAL_OFFSET_TABLE_, then the slots, then __dso_handle; it
// ends read-only data.
// let: GOT = read64(f_got)
// let: GOT_END = read64(f_dso)
// check: GOT % 8 == 0 && GOT_END >= GOT && in_image(GOT, GOT_END - GOT)
// check: GOT > g_local_data && GOT < g_data
// One slot per symbol that needs one: the stubs' (near_func, far_func,
// host_fn) and the GOT relocations' (ext_data, far_data, and the got_local
// of each object: two different symbols).
// check: got_slots() == 7
// check: got_slot_of(ext_data) >= GOT
// check: got_slot_of(far_data) >= GOT
// check: got_slot_of(far_func) >= GOT
// check: got_slot_of(g_got_local) >= GOT
// check: got_slot_of(g_other_got_local) >= GOT
// check: got_slot_of(near_func) >= GOT
// check: got_slot_of(host_fn) >= GOT
//
// Stubs: one per external symbol called (far_func, near_func) or addressed
// as a host function (host_fn), together at the end of text, before
// read-only data.
// check: stub_count() == 3
// check: stubs_end() - stubs_start() == 3 * 16
// check: stub_of(far_func) == L_far
// check: stub_of(near_func) >= stubs_start()
// check: stub_of(host_fn) >= stubs_start()
// check: stubs_start() > g_local_func
// check: stubs_end() < g_local_data

        .text
        .globl  code_start
        .type   code_start, %function
code_start:
// check: code_start == base && image_start == base
// ---- branches: CALL26, JUMP26, CONDBR19, TSTBR14
        .globl  i_call_near
// check: decode_bl(i_call_near) == near_func
i_call_near:    bl      near_func                       // direct (+64 MiB)
        .globl  i_call_far
// let: L_far = decode_bl(i_call_far)
// check: stub_target(L_far) == far_func
// check: stub_slot(L_far) == got_slot_of(far_func)
i_call_far:     bl      far_func                        // through the stub
        .globl  i_jump_far
// check: decode_b(i_jump_far) == L_far
i_jump_far:     b       far_func                        // the same stub
        .globl  i_call_local
// check: decode_bl(i_call_local) == g_local_func
i_call_local:   bl      local_func
        .globl  i_jump_local
// check: decode_b(i_jump_local) == g_local_func + 4
i_jump_local:   b       local_func+4
        .globl  i_bcond
// check: decode_imm19(i_bcond) == g_local_func + 8
i_bcond:        b.ne    local_func+8
        .globl  i_cbz
// check: decode_imm19(i_cbz) == near_lit
i_cbz:          cbnz    x3, near_lit
        .globl  i_tbz
// check: decode_imm14(i_tbz) == g_local_func
i_tbz:          tbz     w3, #5, local_func
        .globl  i_tbnz
// check: decode_imm14(i_tbnz) == near_tb
i_tbnz:         tbnz    x9, #40, near_tb
// ---- PC-relative loads and addresses: LD_PREL_LO19, ADR_PREL_LO21
        .globl  i_ldr_lit
// check: decode_imm19(i_ldr_lit) == g_local_data + 8
i_ldr_lit:      ldr     x0, local_data+8
        .globl  i_ldr_lit_w
// check: decode_imm19(i_ldr_lit_w) == near_lit
i_ldr_lit_w:    ldr     w1, near_lit
        .globl  i_adr
// check: decode_adr(i_adr) == g_local_data + 3
i_adr:          adr     x2, local_data+3
        .globl  i_adr_res
// check: decode_adr(i_adr_res) == near_lit - 1
i_adr_res:      adr     x2, near_lit-1
// ---- page + low 12 bits
        .globl  i_adrp
// check: decode_adrp(i_adrp) == page(ext_data)
i_adrp:         adrp    x0, ext_data
        .globl  i_add
// check: decode_add_lo12(i_add) == (ext_data + 8) & 0xfff
i_add:          add     x0, x0, :lo12:ext_data+8
        .globl  i_adrp_nc
// check: decode_adrp(i_adrp_nc) - page(i_adrp_nc) == sext(page(far_data + 0x10) - page(i_adrp_nc), 33)
i_adrp_nc:      adrp    x1, :pg_hi21_nc:far_data+0x10
        .globl  i_ldst8
// check: decode_ldst_lo12(i_ldst8, 1) == (ext_data + 1) & 0xfff
i_ldst8:        ldrb    w1, [x0, :lo12:ext_data+1]
        .globl  i_ldst16
// check: decode_ldst_lo12(i_ldst16, 2) == (ext_data + 2) & 0xfff
i_ldst16:       ldrh    w1, [x0, :lo12:ext_data+2]
        .globl  i_ldst32
// check: decode_ldst_lo12(i_ldst32, 4) == (ext_data + 4) & 0xfff
i_ldst32:       str     w1, [x0, :lo12:ext_data+4]
        .globl  i_ldst64
// check: decode_ldst_lo12(i_ldst64, 8) == (ext_data + 8) & 0xfff
i_ldst64:       ldr     x1, [x0, :lo12:ext_data+8]
        .globl  i_ldst128
// check: decode_ldst_lo12(i_ldst128, 16) == (ext_data + 16) & 0xfff
i_ldst128:      ldr     q1, [x0, :lo12:ext_data+16]
        .globl  i_ldst8_sb
// check: decode_ldst_lo12(i_ldst8_sb, 1) == (ext_data + 3) & 0xfff
i_ldst8_sb:     ldrsb   x4, [x0, :lo12:ext_data+3]
        .globl  i_ldst64_d
// check: decode_ldst_lo12(i_ldst64_d, 8) == (ext_data + 0x18) & 0xfff
i_ldst64_d:     str     d2, [x0, :lo12:ext_data+0x18]
        .globl  i_prfm
// check: decode_ldst_lo12(i_prfm, 8) == ext_data & 0xfff
i_prfm:         prfm    pldl1keep, [x0, :lo12:ext_data]
        .globl  i_adrp_local
// check: decode_adrp(i_adrp_local) == page(g_local_data)
i_adrp_local:   adrp    x5, local_data
        .globl  i_ldst64_local
// check: decode_ldst_lo12(i_ldst64_local, 8) == (g_local_data + 8) & 0xfff
i_ldst64_local: ldr     x5, [x5, :lo12:local_data+8]
        .globl  i_adrp_host
i_adrp_host:    adrp    x6, host_fn
        .globl  i_add_host
// let: host_t = decode_adrp(i_adrp_host) + decode_add_lo12(i_add_host)
// check: fits(host_fn - GOT, 32) ? host_t == host_fn : stub_target(host_t) == host_fn
i_add_host:     add     x6, x6, :lo12:host_fn
        .globl  i_adr_host
// check: host_fn - i_adr_host >= -0x100000 && host_fn - i_adr_host < 0x100000 ? decode_adr(i_adr_host) == host_fn : stub_target(decode_adr(i_adr_host)) == host_fn
i_adr_host:     adr     x7, host_fn                     // its stub, when far
// ---- MOVW, unsigned: MOVW_UABS_G0..G3 (+ _NC)
        .globl  i_uabs_g0
// check: movw(i_uabs_g0, 0, small_res)
i_uabs_g0:      movz    x0, #:abs_g0:small_res
        .globl  i_uabs_g1
// check: movw(i_uabs_g1, 1, mid_res)
i_uabs_g1:      movz    x0, #:abs_g1:mid_res
        .globl  i_uabs_g2
// check: movw(i_uabs_g2, 2, big_res)
i_uabs_g2:      movz    x0, #:abs_g2:big_res
        .globl  i_uabs_g3
// check: movw(i_uabs_g3, 3, huge_res)
i_uabs_g3:      movz    x0, #:abs_g3:huge_res
        .globl  i_uabs_g0_nc                            // the large code model
// check: movw(i_uabs_g0_nc, 0, huge_res)
i_uabs_g0_nc:   movz    x7, #:abs_g0_nc:huge_res
        .globl  i_uabs_g1_nc
// check: movw(i_uabs_g1_nc, 1, huge_res)
i_uabs_g1_nc:   movk    x7, #:abs_g1_nc:huge_res
        .globl  i_uabs_g2_nc
// check: movw(i_uabs_g2_nc, 2, huge_res)
i_uabs_g2_nc:   movk    x7, #:abs_g2_nc:huge_res
        .globl  i_uabs_g3_k
// check: movw(i_uabs_g3_k, 3, huge_res)
// check: decode_movw(i_uabs_g0_nc) | decode_movw(i_uabs_g1_nc) << 16 | decode_movw(i_uabs_g2_nc) << 32 | decode_movw(i_uabs_g3_k) << 48 == huge_res
i_uabs_g3_k:    movk    x7, #:abs_g3:huge_res
        .globl  i_uabs_g1_w
// check: movw(i_uabs_g1_w, 1, mid_res)
i_uabs_g1_w:    movz    w8, #:abs_g1:mid_res
// ---- MOVW, signed: MOVW_SABS_G0..G2 (MOVN for negative values)
        .globl  i_sabs_g0_neg
// check: movw_s(i_sabs_g0_neg, 0, neg_res)
// check: movw_opc(i_sabs_g0_neg) == MOVN
i_sabs_g0_neg:  movz    x0, #:abs_g0_s:neg_res
        .globl  i_sabs_g0_pos
// check: movw_s(i_sabs_g0_pos, 0, small_res)
// check: movw_opc(i_sabs_g0_pos) == MOVZ
i_sabs_g0_pos:  movn    x0, #:abs_g0_s:small_res
        .globl  i_sabs_g1
// check: movw_s(i_sabs_g1, 1, neg_res1)
i_sabs_g1:      movz    x0, #:abs_g1_s:neg_res1
        .globl  i_sabs_g1_pos
// check: movw_s(i_sabs_g1_pos, 1, mid_res)
i_sabs_g1_pos:  movz    x0, #:abs_g1_s:mid_res
        .globl  i_sabs_g2
// check: movw_s(i_sabs_g2, 2, neg_res2)
i_sabs_g2:      movz    x0, #:abs_g2_s:neg_res2
// ---- MOVW, PC-relative: MOVW_PREL_G0..G3 (+ _NC)
        .globl  i_prel_g0
// check: movw_s(i_prel_g0, 0, g_local_func - i_prel_g0)
i_prel_g0:      movz    x0, #:prel_g0:local_func
        .globl  i_prel_g0_neg
// check: movw_s(i_prel_g0_neg, 0, base - i_prel_g0_neg)
// check: movw_opc(i_prel_g0_neg) == MOVN
i_prel_g0_neg:  movz    x0, #:prel_g0:code_start
        .globl  i_prel_g1
// check: movw_s(i_prel_g1, 1, ext_data - i_prel_g1)
i_prel_g1:      movz    x1, #:prel_g1:ext_data
        .globl  i_prel_g2
// check: movw_s(i_prel_g2, 2, far_data - i_prel_g2)
i_prel_g2:      movz    x1, #:prel_g2:far_data
        .globl  i_prel_g3
// check: movw_s(i_prel_g3, 3, far_func - i_prel_g3)
i_prel_g3:      movz    x2, #:prel_g3:far_func
        .globl  i_prel_g2_nc
// check: movw_s(i_prel_g2_nc, 2, far_func - i_prel_g2_nc)
i_prel_g2_nc:   movk    x2, #:prel_g2_nc:far_func
        .globl  i_prel_g1_nc
// check: movw_s(i_prel_g1_nc, 1, far_func - i_prel_g1_nc)
i_prel_g1_nc:   movk    x2, #:prel_g1_nc:far_func
        .globl  i_prel_g0_nc
// check: movw_s(i_prel_g0_nc, 0, far_func - i_prel_g0_nc)
i_prel_g0_nc:   movk    x2, #:prel_g0_nc:far_func
        .globl  i_prel_g3_neg
// check: movw_s(i_prel_g3_neg, 3, neg_res - i_prel_g3_neg)
// check: movw_opc(i_prel_g3_neg) == MOVN
i_prel_g3_neg:  movz    x3, #:prel_g3:neg_res
// ---- GOT: ADR_GOT_PAGE, LD64_GOT_LO12_NC, LD64_GOTPAGE_LO15,
//      LD64_GOTOFF_LO15, GOT_LD_PREL19, MOVW_GOTOFF_*
        .globl  i_got_page
// check: decode_adrp(i_got_page) == page(got_slot_of(ext_data))
i_got_page:     adrp    x0, :got:ext_data
        .globl  i_got_lo12
// check: decode_ldst_lo12(i_got_lo12, 8) == got_slot_of(ext_data) & 0xfff
i_got_lo12:     ldr     x0, [x0, :got_lo12:ext_data]
        .globl  i_got_page_far
// check: decode_adrp(i_got_page_far) == page(got_slot_of(far_func))
i_got_page_far: adrp    x1, :got:far_func
        .globl  i_got_lo12_far
// check: decode_ldst_lo12(i_got_lo12_far, 8) == got_slot_of(far_func) & 0xfff
i_got_lo12_far: ldr     x1, [x1, :got_lo12:far_func]
        .globl  i_gotpage_lo15
// check: decode_ldst_lo12(i_gotpage_lo15, 8) == got_slot_of(far_data) - page(GOT)
i_gotpage_lo15: ldr     x2, [x2, #:gotpage_lo15:far_data]
        .globl  i_gotoff_lo15
// check: decode_ldst_lo12(i_gotoff_lo15, 8) == got_slot_of(far_data) - GOT
i_gotoff_lo15:  ldr     x2, [x2, #:gotoff_lo15:far_data]
        .globl  i_got_ld_prel19
// check: decode_imm19(i_got_ld_prel19) == got_slot_of(g_got_local)
i_got_ld_prel19: ldr    x3, :got:got_local
        .globl  i_gotoff_g1
// check: movw_s(i_gotoff_g1, 1, got_slot_of(far_data) - GOT)
i_gotoff_g1:    movz    x4, #:gotoff_g1:far_data
        .globl  i_gotoff_g0_nc
// check: movw_s(i_gotoff_g0_nc, 0, got_slot_of(far_data) - GOT)
i_gotoff_g0_nc: movk    x4, #:gotoff_g0_nc:far_data
// Rewritten by the test (R_AARCH64_NONE here).
        .globl  x_gotoff_g0
x_gotoff_g0:    movz    x4, #0
        .reloc  x_gotoff_g0, R_AARCH64_NONE, ext_data
// check: movw_s(x_gotoff_g0, 0, got_slot_of(ext_data) - GOT)
// check: (got_slot_of(ext_data) - GOT) & 0xffff != 0
        .globl  x_gotoff_g1_nc
x_gotoff_g1_nc: movk    x4, #0, lsl #16
        .reloc  x_gotoff_g1_nc, R_AARCH64_NONE, ext_data
// check: movw_s(x_gotoff_g1_nc, 1, got_slot_of(ext_data) - GOT)
        .globl  x_gotoff_g2
x_gotoff_g2:    movn    x4, #0, lsl #32
        .reloc  x_gotoff_g2, R_AARCH64_NONE, far_data
// check: movw_s(x_gotoff_g2, 2, got_slot_of(far_data) - GOT)
// check: movw_opc(x_gotoff_g2) == MOVZ
        .globl  x_gotoff_g2_nc
x_gotoff_g2_nc: movk    x4, #0, lsl #32
        .reloc  x_gotoff_g2_nc, R_AARCH64_NONE, far_data
// check: movw_s(x_gotoff_g2_nc, 2, got_slot_of(far_data) - GOT)
        .globl  x_gotoff_g3
x_gotoff_g3:    movz    x4, #0, lsl #48
        .reloc  x_gotoff_g3, R_AARCH64_NONE, far_data
// check: movw_s(x_gotoff_g3, 3, got_slot_of(far_data) - GOT)
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
// check: u64(f_abs64) == ext_data + 0x10
        field   f_abs64_local,  R_AARCH64_ABS64,  local_data+3
// check: u64(f_abs64_local) == g_local_data + 3
        field   f_abs64_neg,    R_AARCH64_ABS64,  far_data-8
// check: u64(f_abs64_neg) == far_data - 8
        field   f_abs32,        R_AARCH64_ABS32,  mid_res+1
// check: u32(f_abs32) == mid_res + 1
        field   f_abs32_neg,    R_AARCH64_ABS32,  neg_res
// check: s32(f_abs32_neg) == neg_res
        field   f_abs16,        R_AARCH64_ABS16,  small_res+2
// check: u16(f_abs16) == small_res + 2
        field   f_abs16_neg,    R_AARCH64_ABS16,  neg_res+4
// check: s16(f_abs16_neg) == neg_res + 4
// PREL64, PREL32, PREL16: S + A - P
        field   f_prel64,       R_AARCH64_PREL64, far_data+1
// check: u64(f_prel64) == far_data + 1 - f_prel64
        field   f_prel64_back,  R_AARCH64_PREL64, local_func
// check: u64(f_prel64_back) == g_local_func - f_prel64_back
        field   f_prel32,       R_AARCH64_PREL32, ext_data-4
// check: s32(f_prel32) == ext_data - 4 - f_prel32
        field   f_prel32_local, R_AARCH64_PREL32, local_func+2
// check: s32(f_prel32_local) == g_local_func + 2 - f_prel32_local
        field   f_prel32_host,  R_AARCH64_PREL32, host_fn
// check: host_fn - f_prel32_host >= -0x80000000 && host_fn - f_prel32_host <= 0xffffffff ? u32(f_prel32_host) == (host_fn - f_prel32_host) & 0xffffffff : stub_target(f_prel32_host + s32(f_prel32_host)) == host_fn
        field   f_prel16,       R_AARCH64_PREL16, g_data+0x400
// check: s16(f_prel16) == g_data + 0x400 - f_prel16
        field   f_prel16_back,  R_AARCH64_PREL16, g_data
// check: s16(f_prel16_back) == g_data - f_prel16_back
// Rewritten by the test: GOTREL64, GOTREL32 (S + A - GOT), PLT32.
        field   x_gotrel64,     R_AARCH64_NONE,   far_data+8
// check: u64(x_gotrel64) == far_data + 8 - GOT
        field   x_gotrel32,     R_AARCH64_NONE,   local_data
// check: s32(x_gotrel32) == g_local_data - GOT
        field   x_plt32_far,    R_AARCH64_NONE,   far_func+4
// check: s32(x_plt32_far) == L_far + 4 - x_plt32_far
        field   x_plt32_local,  R_AARCH64_NONE,   local_func
// check: s32(x_plt32_local) == g_local_func - x_plt32_local
