/* The image file: a linked program saved ahead of time, loaded without
 * linking (save.c writes it, load.c reads it).
 *
 * An ELF64 ET_DYN file, written and read with libelf, that readelf and
 * eu-readelf read as they read any:
 *
 *   ELF header, three program headers (PT_LOAD: text RX, read-only R,
 *   data and bss RW), at page 0;
 *   the image itself from file offset DATA_OFF (page aligned), byte for
 *   byte as it lies in memory from its first byte to its .bss (sections
 *   .text, .rodata, .data; .bss is SHT_NOBITS), each section's sh_addr
 *   its offset in the image, so the file maps onto the image in one call;
 *   (or, in a deflated image, in .elfjit.image, compressed: ELF's
 *   SHF_COMPRESSED with zlib, the class sections then SHT_NOBITS);
 *   then the description of the image (src/image), each part a section
 *   of its own (SHF_COMPRESSED too in a deflated image):
 *     .elfjit           the header below
 *     .elfjit.fixups    ej__fixup[], sorted by place
 *     .elfjit.strings   imported names, libraries, the options
 *     .elfjit.libs      uint32_t[]: the libraries (offsets in strings)
 *     .elfjit.exports   ej__aot_export[EXPORT_CAP]: the export hash table
 *     .elfjit.names     the names exports, functions and symbols point into
 *     .elfjit.funcs     ej__aot_func[]: functions by address (PC lookups)
 *     .elfjit.initfini  ej__aot_fnarray[]: preinit, init, fini arrays
 *     .elfjit.tables    ej__aot_table[]: trap tables and address maps
 *     .elfjit.syms      ej__aot_sym[]: symbols for debuggers
 *     .elfjit.gdb       the ELF image GDB's JIT interface is given (src/debug/
 *                       symfile.c), built for the image at GDB_BASE
 *     .elfjit.gdbfix    uint32_t[]: the offsets in it of the 64-bit addresses
 *                       to move by the load address less GDB_BASE
 *     .elfjit.tls       ej__aot_tls, .elfjit.tlsinit its initial image and
 *                       .elfjit.tlswords ej__aot_tlsword[] (EJ_AOT_F_TLS): the
 *                       thread-local block and the table the C library fills
 *                       for it at load (src/tls), copied into the image
 *   and .shstrtab.
 * Every address in the description is an offset from the image's first
 * byte.  Integers are little-endian (every supported machine is).
 *
 * Integrity: CRC is zlib's crc32 of the whole file with the CRC field
 * zero; the loader checks it before it trusts anything else, then checks
 * every count, offset and size against what holds it. */
#ifndef EJ_AOT_FORMAT_H
#define EJ_AOT_FORMAT_H

#include <stdint.h>

#include "image/fixup.h"

#define EJ_AOT_MAGIC "elfjit image\0\0\0"  /* 16 bytes with the NUL */
#define EJ_AOT_VERSION 1u

/* Header flags. */
#define EJ_AOT_F_GOT 1u        /* the image has a GOT (fixups name it) */
#define EJ_AOT_F_TLS 4u        /* the image has a TLS block: .elfjit.tls* */
#define EJ_AOT_F_DEFLATED 2u   /* the image's bytes are in .elfjit.image, SHF_COMPRESSED;
                                * .text, .rodata, .data are SHT_NOBITS placeholders */

/* Preinit, init and fini arrays, in that order in .elfjit.initfini. */
enum { EJ_AOT_PREINIT, EJ_AOT_INIT, EJ_AOT_FINI, EJ_AOT_FNLISTS };

typedef struct ej__aot_header {
    char magic[16];
    uint32_t version;        /* EJ_AOT_VERSION */
    uint32_t header_size;    /* sizeof (ej__aot_header) */
    uint32_t crc;            /* see above */
    uint16_t machine;        /* EM_* */
    uint16_t flags;          /* EJ_AOT_F_* */
    uint64_t hwcap, hwcap2;  /* CPU features the code assumes (AT_HWCAP bits): all
                              * must be present where it loads */
    uint64_t page_size;      /* the layout's page size: the loading system's must divide it */
    uint64_t image_size;     /* bytes of address space, .bss included */
    uint64_t max_align;      /* the image's first byte is aligned to it */
    uint64_t cls_off[4], cls_size[4]; /* EJ_CLS_*: text, rodata, data, bss */
    uint64_t eh_off, eh_size;         /* .eh_frame, 0 size when none */
    uint64_t dso_off;                 /* __dso_handle */
    uint64_t data_off;       /* file offset of the image's first byte */
    uint64_t input_hash;     /* crc32 << 32 | adler32 of the inputs' bytes, in order */
    uint32_t nfixups, export_cap, nfuncs, nsyms, first_global, ntables, nlibs;
    uint32_t nfn[EJ_AOT_FNLISTS];
    uint32_t names_size, strings_size;
    uint32_t options;        /* offset in strings: the options, readable text */
    uint32_t entry;          /* offset in strings + 1: the function to run (0: none named) */
    uint64_t gdb_base;       /* the image's address in .elfjit.gdb */
    uint32_t gdb_size, ngdbfix;
    uint32_t reserved[2];
} ej__aot_header;

typedef struct ej__aot_export {
    uint64_t addr;           /* image offset; UINT32_MAX name: an empty slot */
    uint32_t hash, name;
} ej__aot_export;

typedef struct ej__aot_func {
    uint64_t addr, size;
    uint32_t name, pad;
} ej__aot_func;

typedef struct ej__aot_fnarray {
    uint64_t addr, count;
    uint32_t prio, order;
    uint32_t reverse, pad;
} ej__aot_fnarray;

enum { EJ_AOT_TRAPS = 1, EJ_AOT_MAP = 2 };

typedef struct ej__aot_table {
    uint32_t kind;           /* EJ_AOT_TRAPS or EJ_AOT_MAP */
    uint32_t pad;
    uint64_t off, size;      /* the table, in the image */
    uint64_t text, text_size; /* the code it describes */
} ej__aot_table;

typedef struct ej__aot_sym {
    uint64_t addr, size;
    uint32_t name;
    uint8_t type, global, cls, pad;
} ej__aot_sym;

/* The thread-local block (src/tls/tlsmod.h). */
typedef struct ej__aot_tls {
    uint64_t filesz, memsz, align; /* the block: initial bytes, size, alignment */
    uint64_t table_off, table_size; /* the table in the image (read-only data) */
    uint32_t nwords;        /* entries (a descriptor takes two table words) */
    uint32_t own_tp;        /* the table word holding the block's thread-pointer offset, + 1 */
    uint32_t static_user;   /* strings + 1: a variable that needs static TLS (0: none) */
    uint32_t pad;
} ej__aot_tls;

typedef struct ej__aot_tlsword {
    uint32_t what;          /* enum ej__tls_what */
    uint32_t name;          /* strings + 1: another module's variable; 0: the own block */
    uint64_t off;           /* in the own block */
} ej__aot_tlsword;

_Static_assert(sizeof(ej__aot_header) == 256, "the header's stored size");

#endif /* EJ_AOT_FORMAT_H */
