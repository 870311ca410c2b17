/* elfjit aarch64 range fixture: one relocation, chosen on the command line,
 * in a field the test can find.  Assembled (through the C preprocessor)
 * once per case by CMakeLists.txt, e.g.
 *     aarch64-linux-gnu-gcc -c range.S -DRTYPE=R_AARCH64_CALL26 -DINSN=0x94000000
 *
 *   RTYPE   relocation type name (required; R_AARCH64_NONE for the types
 *           the assembler cannot name: the test rewrites it)
 *   INSN    when defined, the field is this instruction word in .text
 *           (followed by the sentinel word 0xa5a5a5a5); otherwise it is
 *           8 bytes of sentinel 0xa5 in .data
 *   SYM     symbol it refers to (default tgt, left undefined so that the
 *           test's resolver places it exactly where the case needs it;
 *           `field` refers to the field itself, a symbol of the image, so
 *           that S + A - P = A whatever the base)
 *   ADDEND  r_addend (default 0)
 *   GOTREF  when defined, a global `gotref` in .data holds the address of
 *           _GLOBAL_OFFSET_TABLE_ (for GOT-relative types)
 *
 * The field sits at .text+0x10 or .data+0x10 and is the only relocated
 * place (besides gotref). */
#ifndef SYM
#define SYM tgt
#endif
#ifndef ADDEND
#define ADDEND 0
#endif

#ifdef INSN
        .text
#else
        .data
#endif
        .p2align 4
        .quad   0, 0
        .globl  field
        .type   field, %object
field:
#ifdef INSN
        .inst   INSN
        .inst   0xa5a5a5a5
#else
        .quad   0xa5a5a5a5a5a5a5a5
#endif
        .size   field, 8
        .reloc  field, RTYPE, SYM + (ADDEND)

#ifdef GOTREF
        .data
        .p2align 3
        .globl  gotref
gotref:
        .xword  _GLOBAL_OFFSET_TABLE_
#endif
