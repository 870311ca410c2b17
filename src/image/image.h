/* The finished image: everything later stages need to know about a linked
 * module, described once.  The linker (src/link) produces it; the
 * registrars (src/register, src/debug, src/runtime), the lookups and,
 * later, the AOT writer consume only it: nothing after the link needs
 * the linker, its objects or its symbol table.
 *
 *   vbase, size          where the image runs (for an image in shared
 *                        code memory, whose classes lie apart among other
 *                        modules', its code: what lookups by address find)
 *   cls_off, cls_size    the permission classes (text RX, rodata R, data
 *                        RW, bss RW), page aligned, in that order
 *   cls_addr             where each class runs (vbase + cls_off, except
 *                        in shared code memory, whose cls_size are then
 *                        the bytes each class holds)
 *   eh_addr, eh_size     every .eh_frame end to end, then a zero terminator
 *   exports              global symbols, hashed (exports.c)
 *   preinit/init/fini    constructor and destructor arrays in run order
 *   funcs                every function, sorted by address, for PC lookups
 *   traps, maps          validated trap tables and address maps
 *   syms                 every named function and object, locals first,
 *                        for debuggers (only when GDB registration is on)
 *   dwarf                the objects' DWARF, combined and relocated (idem)
 *   symfile              or the debugger's image itself, prebuilt (idem)
 * All strings are offsets into NAMES.  The image owns every array;
 * ej__image_free releases them. */
#ifndef EJ_IMAGE_IMAGE_H
#define EJ_IMAGE_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "elfjit/tables.h"

enum { EJ_CLS_TEXT, EJ_CLS_RODATA, EJ_CLS_DATA, EJ_CLS_BSS, EJ_CLS_COUNT };

/* An export whose addr is an offset in the module's TLS block, not an
 * address (a thread-local variable: each thread has its own). */
#define EJ__EXPORT_TLS ((uint64_t)1 << 63)

typedef struct ej__export {
    uint64_t addr;   /* or EJ__EXPORT_TLS | the offset in the TLS block */
    uint32_t hash;
    uint32_t name;   /* offset in names, UINT32_MAX for an empty slot */
} ej__export;

/* One input array of function pointers (.init_array.N, .ctors, ...). */
typedef struct ej__fnarray {
    uint64_t addr;   /* address of the first pointer */
    uint64_t count;
    uint32_t prio;   /* lower runs first */
    uint32_t order;  /* input order, for a stable sort */
    uint8_t reverse; /* .ctors/.dtors run back to front */
} ej__fnarray;

typedef struct ej__fnlist {
    ej__fnarray *a;
    size_t n;
} ej__fnlist;

/* A function of the image, for PC lookups. */
typedef struct ej__func {
    uint64_t addr, size;
    uint32_t name;   /* offset in names */
} ej__func;

/* A validated trap table or address map and the .text it describes. */
typedef struct ej__table {
    union {
        ej_trap_table traps;
        ej_addr_map map;
    } u;
    uint64_t text, text_size;
} ej__table;

/* A symbol for debuggers. */
typedef struct ej__image_sym {
    uint64_t addr, size;
    uint32_t name;   /* offset in names */
    uint8_t type;    /* STT_FUNC or STT_OBJECT */
    uint8_t global;  /* not STB_LOCAL */
    uint8_t cls;     /* EJ_CLS_* of its section */
} ej__image_sym;

/* A combined, relocated DWARF section. */
typedef struct ej__image_dwarf {
    char *name;       /* ".debug_info" */
    uint8_t *data;
    size_t size;
    /* Only for an image being saved (src/aot): the offsets of the 8-byte
     * words of DATA that hold addresses in the image, which its load
     * moves. */
    uint64_t *addr_words;
    size_t naddr_words, addr_cap;
} ej__image_dwarf;

typedef struct ej__image {
    uint16_t machine;    /* EM_* */
    uint64_t vbase, size;
    uint64_t cls_off[EJ_CLS_COUNT], cls_size[EJ_CLS_COUNT];
    uint64_t cls_addr[EJ_CLS_COUNT]; /* where each class runs */
    uint64_t eh_addr, eh_size;
    void *dso_handle;    /* address of the image's __dso_handle */
    char *names;
    ej__export *exports; /* open-addressing table */
    size_t export_cap;
    ej__fnlist preinit, init, fini;
    ej__func *funcs;
    size_t nfuncs;
    ej__table *traps, *maps;
    size_t ntraps, nmaps;
    ej__image_sym *syms;
    size_t nsyms, first_global;
    ej__image_dwarf *dwarf;
    size_t ndwarf;
    /* Where the image's bytes can be read: the run view, or the copy a
     * link-only image lives in. */
    const uint8_t *view;
    /* The debugger's ELF image, already built (an image saved ahead of
     * time carries one, rebased when loaded): GDB registration takes it
     * instead of building one from syms and dwarf. */
    void *symfile;
    size_t symfile_len;
} ej__image;

/* Frees everything IMG owns and zeroes it. */
void ej__image_free(ej__image *img);

/* Frees the debugger view (syms, dwarf) only, once it has been handed on. */
void ej__image_drop_debug(ej__image *img);

#endif /* EJ_IMAGE_IMAGE_H */
