/* elfjit relocation fixture: one TLS relocation RTYPE against tv (the only
 * TLS symbol: S = 0 in a block of 4 bytes aligned to 4, so T = -4 for
 * local-exec values) at `field` (.data+0x10), an 8-byte field holding the
 * sentinel 0xa5; the test rewrites the addend in a copy to reach each
 * limit. */
        .data
        .p2align 4
        .quad   0, 0
        .globl  field
        .type   field, @object
field:
        .quad   0xa5a5a5a5a5a5a5a5
        .size   field, 8
        .reloc  field, RTYPE, tv

        .section .tbss, "awT", @nobits
        .p2align 2
        .globl  tv
        .type   tv, @object
tv:     .zero   4
        .size   tv, 4
