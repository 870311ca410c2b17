# elfjit relocation fixture: a dynamic relocation in a relocatable object
# (refused).
        .data
        .globl  field
field:  .reloc  field, R_RISCV_JUMP_SLOT, tgt
        .quad   0
