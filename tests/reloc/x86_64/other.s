# Definitions the relocations of relocs.s refer to from another object, and
# a few references of its own: to the same far symbols as relocs.s (they
# must share relocs.s's GOT slot and stub), and to a local symbol that has
# the same name as one of relocs.s (it must get a slot of its own).
# Their `check:` lines use relocs.s's lets (GOT, L_far: the two sources'
# checks are evaluated together).
        .text
        .globl  ext_func
        .type   ext_func, @function
ext_func:
        movl    $42, %eax
        ret
        .size   ext_func, .-ext_func

        .data
        .p2align 4
        .globl  ext_data
        .type   ext_data, @object
ext_data:
        .quad   1, 2, 3
        .size   ext_data, 24

        .globl  g_other_local_data
        .type   local_data, @object
g_other_local_data:
local_data:
        .quad   4
        .size   local_data, 8

        .globl  f_other_plt32_far
f_other_plt32_far:
        .quad   0xa5a5a5a5a5a5a5a5
        .reloc  f_other_plt32_far, R_X86_64_PLT32, far_func-4
# check: s32(f_other_plt32_far) == L_far - 4 - f_other_plt32_far
        .globl  f_other_gotpcrel_far
f_other_gotpcrel_far:
        .quad   0xa5a5a5a5a5a5a5a5
        .reloc  f_other_gotpcrel_far, R_X86_64_GOTPCREL, far_data-4
# far_data shares relocs.s's slot, this object's local_data has its own.
# check: s32(f_other_gotpcrel_far) == got_slot_of(far_data) - 4 - f_other_gotpcrel_far
        .globl  f_other_gotpcrel_local
f_other_gotpcrel_local:
        .quad   0xa5a5a5a5a5a5a5a5
        .reloc  f_other_gotpcrel_local, R_X86_64_GOTPCREL, local_data-4
# check: s32(f_other_gotpcrel_local) == got_slot_of(g_other_local_data) - 4 - f_other_gotpcrel_local

# Absolute symbols (SHN_ABS).
        .globl  abs_sym
        .set    abs_sym, 0x1234
        .globl  abs8
        .set    abs8, 0x7f
