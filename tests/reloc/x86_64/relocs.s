# elfjit relocation fixture: one field per x86_64 relocation type.
#
# Every relocated field in .data is an 8-byte slot filled with the sentinel
# 0xa5a5a5a5a5a5a5a5 and labelled with a global f_<type>_<what>, so the test
# finds its place P with ej_module_symbol() and checks both the relocated
# bytes and that the bytes beyond the field's width are still the sentinel.
# The relocations are emitted explicitly with .reloc (the addend in the
# directive is the r_addend the test expects).
#
# Symbols referred to:
#   local_data, local_func, near_local   local symbols (kept named by .reloc)
#   .rodata+N                            the section symbol of .rodata
#   ext_data, ext_func, abs_sym, abs8    globals of other.s (abs_* are SHN_ABS)
#   far_func, far_data, near_data,
#   near_func, small_res, neg_res, neg16 undefined: supplied by the resolver
#   puts, stdout                         host symbols (dlsym)
#   _GLOBAL_OFFSET_TABLE_, __dso_handle  synthesised by the loader
# Locals have a global alias at the same address (g_local_data, ...), so the
# test knows their S.
#
# A few real instructions in .text, each at a global label i_*, check that
# code patches land at the right byte.
#
# What every field and instruction must hold after the link is stated next
# to it in `check:` lines (syntax: tests/reloc/harness.c), evaluated at each
# base the test links at.  Names there are symbols of the linked module,
# resolver names (test_reloc_x86_64.c) or host symbols (puts, stdout);
# rel32(a) is where the 32-bit PC-relative field at A points (A + 4 + the
# sign-extended field), u32/s32/... read a data field (and check that the
# sentinel after it is intact), got_slot_of(v) is the one GOT slot holding
# V, stub_of(v) the one stub jumping to V.
#
# The GOT: _GLOBAL_OFFSET_TABLE_ (f_64_got = GOT + 8), then the slots, then
# __dso_handle.  It ends read-only data: after .rodata, before .data.
# let: GOT = read64(f_64_got) - 8
# let: GOT_END = read64(f_64_dso)
# check: GOT % 8 == 0 && GOT >= g_local_data + 16 && GOT_END < g_data
# One slot per symbol needing one: local_data of each object (two different
# symbols), ext_data, far_data, stdout, ext_func, far_func (GOT
# relocations); puts, near_func, abs_sym (stubs, which jump through a slot).
# check: got_slots() == 10
# check: got_slot_of(g_local_data) >= GOT
# check: got_slot_of(g_other_local_data) >= GOT
# check: got_slot_of(ext_data) >= GOT
# check: got_slot_of(far_data) >= GOT
# check: got_slot_of(stdout) >= GOT
# check: got_slot_of(ext_func) >= GOT
# check: got_slot_of(far_func) >= GOT
# check: got_slot_of(puts) >= GOT
# check: got_slot_of(near_func) >= GOT
# check: got_slot_of(ABS) >= GOT
# abs_sym (other.s), and far_func's stub (what PLT32 far_func-4 reaches).
# let: ABS = 0x1234
# let: L_far = rel32(f_plt32_far)
#
# Stubs: one per external symbol called (far_func, near_func, abs_sym) or
# reached with PC32 as a host function (puts), contiguous at the end of
# text, after the code and before read-only data.
# check: stub_count() == 4
# check: stubs_end() - stubs_start() == 4 * 8
# check: stub_of(far_func) == L_far
# check: stub_of(near_func) >= stubs_start()
# check: stub_of(puts) >= stubs_start()
# check: stub_of(ABS) >= stubs_start()
# check: stubs_start() > ext_func
# check: stubs_end() < g_rodata

        .text
        .globl  code_start
        .type   code_start, @function
code_start:
# check: code_start == base && image_start == base
        .globl  i_call_ext
i_call_ext:                                 # e8 rel32: PLT32 ext_func-4, direct
# check: read8(i_call_ext) == 0xe8
# check: rel32(i_call_ext + 1) == ext_func
        call    ext_func@PLT
        .globl  i_call_far
i_call_far:                                 # e8 rel32: PLT32 far_func-4, stub
# check: read8(i_call_far) == 0xe8
# check: rel32(i_call_far + 1) == L_far
        call    far_func@PLT
        .globl  i_jmp_near
i_jmp_near:                                 # e9 rel32: PLT32 near_func-4, direct
# check: read8(i_jmp_near) == 0xe9
# check: rel32(i_jmp_near + 1) == near_func
        jmp     near_func@PLT
        .globl  i_mov_gotpcrel
i_mov_gotpcrel:                             # 48 8b 05 rel32: REX_GOTPCRELX ext_data-4
# check: read32(i_mov_gotpcrel) & 0xffffff == 0x058b48
# check: rel32(i_mov_gotpcrel + 3) == got_slot_of(ext_data)
        movq    ext_data@GOTPCREL(%rip), %rax
        .globl  i_call_gotpcrel
i_call_gotpcrel:                            # ff 15 rel32: GOTPCRELX far_func-4
# check: read16(i_call_gotpcrel) == 0x15ff
# check: rel32(i_call_gotpcrel + 2) == got_slot_of(far_func)
        call    *far_func@GOTPCREL(%rip)
        .globl  i_lea_pc32
i_lea_pc32:                                 # 48 8d 05 rel32: PC32 ext_data-4
# check: read32(i_lea_pc32) & 0xffffff == 0x058d48
# check: rel32(i_lea_pc32 + 3) == ext_data
        leaq    ext_data(%rip), %rax
        .globl  i_movabs
i_movabs:                                   # 48 b8 imm64: 64 ext_data+8
# check: read16(i_movabs) == 0xb848
# check: read64(i_movabs + 2) == ext_data + 8
        movabsq $ext_data+8, %rax
        .globl  i_gotpc64
i_gotpc64:                                  # large-model GOT pointer
        leaq    i_gotpc64(%rip), %rbx       # 48 8d 1d rel32 (resolved by as)
# check: rel32(i_gotpc64 + 3) == i_gotpc64
        .globl  i_gotpc64_imm
i_gotpc64_imm:                              # 49 bb imm64: GOTPC64 = GOT - i_gotpc64
# check: read16(i_gotpc64_imm) == 0xbb49
# check: read64(i_gotpc64_imm + 2) == GOT - i_gotpc64
        movabsq $_GLOBAL_OFFSET_TABLE_-i_gotpc64, %r11
        .globl  i_gotoff64
i_gotoff64:                                 # 48 b8 imm64: GOTOFF64 ext_data - GOT
# check: read64(i_gotoff64 + 2) == ext_data - GOT
        movabsq $ext_data@GOTOFF, %rax
        .globl  i_got64
i_got64:                                    # 48 b8 imm64: GOT64 G(ext_data) - GOT
# check: read64(i_got64 + 2) == got_slot_of(ext_data) - GOT
        movabsq $ext_data@GOT, %rax
        .globl  i_pltoff64
i_pltoff64:                                 # 48 b8 imm64: PLTOFF64 L(far_func) - GOT
# check: read64(i_pltoff64 + 2) == L_far - GOT
# check: read8(i_pltoff64 + 10) == 0xc3
        movabsq $far_func@PLTOFF, %rax
        ret
        .size   code_start, .-code_start

        .globl  g_local_func
        .type   local_func, @function
g_local_func:
local_func:
        ret
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
        .type   local_data, @object
g_local_data:
local_data:
        .quad   0x2222222222222222, 0x3333333333333333
        .size   local_data, 16

        .data
        .p2align 4
        .globl  g_data
g_data:

# Defines field NAME (global, 8 bytes of sentinel) and its relocation.
        .macro  field name, type, expr
        .globl  \name
        .type   \name, @object
\name:
        .quad   0xa5a5a5a5a5a5a5a5
        .size   \name, 8
        .reloc  \name, \type, \expr
        .endm

# R_X86_64_64: S + A
        field   f_64_local,     R_X86_64_64,    local_data+3
# check: u64(f_64_local) == g_local_data + 3
        field   f_64_sect,      R_X86_64_64,    .rodata+5
# check: u64(f_64_sect) == g_rodata + 5
        field   f_64_global,    R_X86_64_64,    ext_data+0x10
# check: u64(f_64_global) == ext_data + 0x10
        field   f_64_neg,       R_X86_64_64,    ext_data-0x10
# check: u64(f_64_neg) == ext_data - 0x10
        field   f_64_res,       R_X86_64_64,    far_data+0x20
# check: u64(f_64_res) == far_data + 0x20
        field   f_64_got,       R_X86_64_64,    _GLOBAL_OFFSET_TABLE_+8
        field   f_64_dso,       R_X86_64_64,    __dso_handle
        field   f_64_abs,       R_X86_64_64,    abs_sym+1
# check: u64(f_64_abs) == ABS + 1
        field   f_64_host,      R_X86_64_64,    stdout+2
# check: u64(f_64_host) == stdout + 2
# R_X86_64_PC32: S + A - P (a stub for host functions out of reach)
        field   f_pc32_local,   R_X86_64_PC32,  local_data+2
# check: s32(f_pc32_local) == g_local_data + 2 - f_pc32_local
        field   f_pc32_sect,    R_X86_64_PC32,  .rodata+9
# check: s32(f_pc32_sect) == g_rodata + 9 - f_pc32_sect
        field   f_pc32_global,  R_X86_64_PC32,  ext_data-4
# check: s32(f_pc32_global) == ext_data - 4 - f_pc32_global
        field   f_pc32_res,     R_X86_64_PC32,  near_data+0x10
# check: s32(f_pc32_res) == near_data + 0x10 - f_pc32_res
        field   f_pc32_got,     R_X86_64_PC32,  _GLOBAL_OFFSET_TABLE_+1
# check: s32(f_pc32_got) == GOT + 1 - f_pc32_got
        field   f_pc32_host,    R_X86_64_PC32,  puts-4
# check: !fits(puts - 4 - f_pc32_host, 32)
# check: stub_target(rel32(f_pc32_host)) == puts
# check: stub_of(puts) == rel32(f_pc32_host)
# R_X86_64_PLT32: L + A - P (S + A - P when S is reachable)
        field   f_plt32_local,  R_X86_64_PLT32, local_func-4
# check: s32(f_plt32_local) == g_local_func - 4 - f_plt32_local
        field   f_plt32_global, R_X86_64_PLT32, ext_func-4
# check: s32(f_plt32_global) == ext_func - 4 - f_plt32_global
        field   f_plt32_far,    R_X86_64_PLT32, far_func-4
# check: stub_target(L_far) == far_func
# check: stub_slot(L_far) == got_slot_of(far_func)
        field   f_plt32_far2,   R_X86_64_PLT32, far_func+0x20
# check: s32(f_plt32_far2) == L_far + 0x20 - f_plt32_far2
        field   f_plt32_near,   R_X86_64_PLT32, near_func-4
# check: s32(f_plt32_near) == near_func - 4 - f_plt32_near
        field   f_plt32_abs,    R_X86_64_PLT32, abs_sym-4
# check: fits(ABS - 4 - f_plt32_abs, 32) ? s32(f_plt32_abs) == ABS - 4 - f_plt32_abs : stub_target(rel32(f_plt32_abs)) == ABS
# R_X86_64_GOTPCREL, GOTPCRELX, REX_GOTPCRELX: G + A - P
        field   f_gotpcrel_local,  R_X86_64_GOTPCREL,      local_data-4
# check: s32(f_gotpcrel_local) == got_slot_of(g_local_data) - 4 - f_gotpcrel_local
        field   f_gotpcrel_global, R_X86_64_GOTPCREL,      ext_data-4
# check: s32(f_gotpcrel_global) == got_slot_of(ext_data) - 4 - f_gotpcrel_global
        field   f_gotpcrel_far,    R_X86_64_GOTPCREL,      far_data+0
# check: s32(f_gotpcrel_far) == got_slot_of(far_data) - f_gotpcrel_far
        field   f_gotpcrel_host,   R_X86_64_GOTPCREL,      stdout-4
# check: s32(f_gotpcrel_host) == got_slot_of(stdout) - 4 - f_gotpcrel_host
        field   f_gotpcrelx,       R_X86_64_GOTPCRELX,     ext_func-4
# check: s32(f_gotpcrelx) == got_slot_of(ext_func) - 4 - f_gotpcrelx
        field   f_rex_gotpcrelx,   R_X86_64_REX_GOTPCRELX, far_data-4
# check: s32(f_rex_gotpcrelx) == got_slot_of(far_data) - 4 - f_rex_gotpcrelx
# R_X86_64_32 (zero-extended) and 32S (sign-extended): S + A
        field   f_32_abs,       R_X86_64_32,    abs_sym+0x10
# check: u32(f_32_abs) == ABS + 0x10
        field   f_32_res,       R_X86_64_32,    small_res+7
# check: u32(f_32_res) == 0x87654321 + 7
        field   f_32s_abs,      R_X86_64_32S,   abs_sym-0x2000
# check: s32(f_32s_abs) == ABS - 0x2000
        field   f_32s_res,      R_X86_64_32S,   neg_res+0
# check: u32(f_32s_res) == 0x80001000
# R_X86_64_16, R_X86_64_8: S + A (signed or unsigned reading)
        field   f_16_abs,       R_X86_64_16,    abs_sym+2
# check: u16(f_16_abs) == ABS + 2
        field   f_16_neg,       R_X86_64_16,    neg16+0
# check: u16(f_16_neg) == 0xff9c
        field   f_8_abs,        R_X86_64_8,     abs8+0x80
# check: u8(f_8_abs) == 0xff
        field   f_8_neg,        R_X86_64_8,     abs8-0xff
# check: u8(f_8_neg) == 0x80
# R_X86_64_PC16, R_X86_64_PC8: S + A - P (near_local follows the PC8 fields)
        field   f_pc16_local,   R_X86_64_PC16,  near_local+3
# check: s16(f_pc16_local) == g_near_local + 3 - f_pc16_local
        field   f_pc16_back,    R_X86_64_PC16,  g_data-0x10
# check: s16(f_pc16_back) == g_data - 0x10 - f_pc16_back
        field   f_pc8_back,     R_X86_64_PC8,   f_pc16_local+1
# check: s8(f_pc8_back) == f_pc16_local + 1 - f_pc8_back
        field   f_pc8_local,    R_X86_64_PC8,   near_local-1
# check: s8(f_pc8_local) == g_near_local - 1 - f_pc8_local
        .globl  g_near_local
g_near_local:
near_local:
        .quad   0
# R_X86_64_PC64: S + A - P
        field   f_pc64_far,     R_X86_64_PC64,  far_data+0x10
# check: u64(f_pc64_far) == far_data + 0x10 - f_pc64_far
        field   f_pc64_local,   R_X86_64_PC64,  local_func+1
# check: u64(f_pc64_local) == g_local_func + 1 - f_pc64_local
# R_X86_64_GOTOFF64: S + A - GOT
        field   f_gotoff64_local, R_X86_64_GOTOFF64, local_data+4
# check: u64(f_gotoff64_local) == g_local_data + 4 - GOT
        field   f_gotoff64_far,   R_X86_64_GOTOFF64, far_data-8
# check: u64(f_gotoff64_far) == far_data - 8 - GOT
# R_X86_64_GOTPC32: GOT + A - P
        field   f_gotpc32,      R_X86_64_GOTPC32, _GLOBAL_OFFSET_TABLE_+3
# check: s32(f_gotpc32) == GOT + 3 - f_gotpc32
# R_X86_64_GOT32: G - GOT + A
        field   f_got32_global, R_X86_64_GOT32, ext_data+0
# check: u32(f_got32_global) == got_slot_of(ext_data) - GOT
        field   f_got32_far,    R_X86_64_GOT32, far_data+8
# check: u32(f_got32_far) == got_slot_of(far_data) - GOT + 8
# R_X86_64_GOT64, GOTPLT64: G - GOT + A
        field   f_got64_far,    R_X86_64_GOT64, far_data+0x10
# check: u64(f_got64_far) == got_slot_of(far_data) - GOT + 0x10
        field   f_gotplt64,     R_X86_64_GOTPLT64, far_func+0
# check: u64(f_gotplt64) == got_slot_of(far_func) - GOT
# R_X86_64_GOTPCREL64: G + A - P
        field   f_gotpcrel64,   R_X86_64_GOTPCREL64, ext_func+0x10
# check: u64(f_gotpcrel64) == got_slot_of(ext_func) + 0x10 - f_gotpcrel64
# R_X86_64_GOTPC64: GOT + A - P
        field   f_gotpc64,      R_X86_64_GOTPC64, _GLOBAL_OFFSET_TABLE_-8
# check: u64(f_gotpc64) == GOT - 8 - f_gotpc64
# R_X86_64_PLTOFF64: L - GOT + A (S - GOT + A for a symbol of the image)
        field   f_pltoff64_far,   R_X86_64_PLTOFF64, far_func+0x20
# check: u64(f_pltoff64_far) == L_far - GOT + 0x20
        field   f_pltoff64_local, R_X86_64_PLTOFF64, local_func+0
# check: u64(f_pltoff64_local) == g_local_func - GOT
# R_X86_64_SIZE32, SIZE64: Z + A
        field   f_size32_local, R_X86_64_SIZE32, local_data+0x100
# check: u32(f_size32_local) == 16 + 0x100
        field   f_size32_global, R_X86_64_SIZE32, ext_data+1
# check: u32(f_size32_global) == 24 + 1
        field   f_size32_res,   R_X86_64_SIZE32, far_data+5
# (the resolver gives no size: Z = 0)
# check: u32(f_size32_res) == 0 + 5
        field   f_size64_global, R_X86_64_SIZE64, ext_data+0x1000000000
# check: u64(f_size64_global) == 24 + 0x1000000000
        field   f_size64_func,  R_X86_64_SIZE64, local_func-1
# check: u64(f_size64_func) == 4 - 1
# R_X86_64_NONE: nothing is written
        field   f_none,         R_X86_64_NONE,  ext_data+0
# check: field(f_none, 0) == 0

