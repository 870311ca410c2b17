/* elfjit aarch64 fixture for the limits of GOT-relative offsets: FILL GOT
 * slots (one per undefined symbol fill_N, taken in that order, as the
 * relocations come), then `field`, an instruction INSN in .text.field
 * whose relocation RTYPE (against tgt) gets slot number FILL, at offset
 * 8 * FILL from the GOT.  No read-only data: the GOT starts the
 * read-only part of the image, on a page boundary.
 *
 *   aarch64-linux-gnu-gcc -c got_many.S -DFILL=4096 \
 *       -DRTYPE=R_AARCH64_LD64_GOTPAGE_LO15 -DINSN=0xf9400000 */
        .macro  gotref
        ldr     x0, :got:fill_\@
        .endm

        .text
        .rept   FILL
        gotref
        .endr

        .section .text.field, "ax", %progbits
        .p2align 4
        .quad   0, 0
        .globl  field
        .type   field, %object
field:
        .inst   INSN
        .inst   0xa5a5a5a5
        .size   field, 8
        .reloc  field, RTYPE, tgt

        .data
        .p2align 3
        .globl  gotref
gotref:
        .xword  _GLOBAL_OFFSET_TABLE_
