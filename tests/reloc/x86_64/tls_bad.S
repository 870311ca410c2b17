/* elfjit relocation fixture: thread-local storage the linker must refuse,
 * one case per object (-DCASE=N, see tests/reloc/CMakeLists.txt), each a
 * single relocation at `field` (.text+0x10):
 *   1  TPOFF32 against plain, a data symbol of the image (not TLS)
 *   2  GOTTPOFF against tgt, undefined and not TLS (the resolver's)
 *   3  TLSGD against plain
 *   4  PC32 against tv, a TLS symbol
 *   5  R_X86_64_64 against tv
 *   6  GOTPCREL against tv
 *   7  PLT32 against tv
 *   8  GOTTPOFF against ext_tv, an undefined TLS symbol (the host's)
 *   9  TLSGD against ext_tv
 *  10  TPOFF32 against ext_tv
 *  11  DTPMOD64 against tv (a dynamic type)
 *  12  TLSDESC against tv (a dynamic type)
 *  13  TPOFF64 against the section symbol of .data (not TLS)
 *  14  GOTPC32_TLSDESC against plain
 *  15  DTPOFF32 against plain
 *  16  TLSLD against plain (local-dynamic names a variable of the module) */
#if CASE == 1
#define R R_X86_64_TPOFF32
#define SYM plain
#elif CASE == 2
#define R R_X86_64_GOTTPOFF
#define SYM tgt - 4
#elif CASE == 3
#define R R_X86_64_TLSGD
#define SYM plain - 4
#elif CASE == 4
#define R R_X86_64_PC32
#define SYM tv - 4
#elif CASE == 5
#define R R_X86_64_64
#define SYM tv
#elif CASE == 6
#define R R_X86_64_GOTPCREL
#define SYM tv - 4
#elif CASE == 7
#define R R_X86_64_PLT32
#define SYM tv - 4
#elif CASE == 8
#define R R_X86_64_GOTTPOFF
#define SYM ext_tv - 4
#elif CASE == 9
#define R R_X86_64_TLSGD
#define SYM ext_tv - 4
#elif CASE == 10
#define R R_X86_64_TPOFF32
#define SYM ext_tv
#elif CASE == 11
#define R R_X86_64_DTPMOD64
#define SYM tv
#elif CASE == 12
#define R R_X86_64_TLSDESC
#define SYM tv
#elif CASE == 13
#define R R_X86_64_TPOFF64
#define SYM .data + 8
#elif CASE == 14
#define R R_X86_64_GOTPC32_TLSDESC
#define SYM plain - 4
#elif CASE == 15
#define R R_X86_64_DTPOFF32
#define SYM plain
#elif CASE == 16
#define R R_X86_64_TLSLD
#define SYM plain - 4
#else
#error CASE
#endif

        .text
        .globl  code
code:
        .org    0x10
        .globl  field
field:
        .reloc  field, R, SYM
        .quad   0
        .quad   0
#if CASE >= 8 && CASE <= 10
        .type   ext_tv, @tls_object
#endif

        .data
        .quad   0
        .globl  plain
        .type   plain, @object
plain:  .quad   1
        .size   plain, 8

        .section .tbss, "awT", @nobits
        .p2align 2
        .globl  tv
        .type   tv, @object
tv:     .zero   4
        .size   tv, 4
