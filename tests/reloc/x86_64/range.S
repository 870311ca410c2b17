/* elfjit range fixture: one relocation, chosen on the command line, in a
 * field the test can find.  Assembled (through the C preprocessor) once per
 * case by tests/reloc/CMakeLists.txt, e.g.
 *     cc -c range.S -DRTYPE=R_X86_64_PC32 -DSYM=tgt -DADDEND=0x10
 *
 *   RTYPE   relocation type name (required)
 *   SYM     symbol it refers to (default tgt, left undefined so that the
 *           test's resolver places it exactly where the case needs it;
 *           `field` refers to the field itself, a symbol of the image)
 *   ADDEND  r_addend (default 0)
 *   FIELD   name of the global labelling the 8-byte field (default field;
 *           lets two copies be linked together)
 *   SIZE    when defined, also defines a global `sized` whose st_size is
 *           SIZE (for R_X86_64_SIZE32/SIZE64)
 *
 * The field sits at .data+0x10 (after 16 bytes of padding), holds the
 * sentinel 0xa5a5a5a5a5a5a5a5 and is the only relocated place. */
#ifndef SYM
#define SYM tgt
#endif
#ifndef ADDEND
#define ADDEND 0
#endif
#ifndef FIELD
#define FIELD field
#endif

        .data
        .p2align 4
        .quad   0, 0
        .globl  FIELD
        .type   FIELD, @object
FIELD:
        .quad   0xa5a5a5a5a5a5a5a5
        .size   FIELD, 8
        .reloc  FIELD, RTYPE, SYM + (ADDEND)

#ifdef SIZE
        .globl  sized
        .type   sized, @object
sized:
        .quad   0
        .size   sized, SIZE
#endif
