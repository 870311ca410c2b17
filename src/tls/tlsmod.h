/* A module's thread-local storage, handed to the C library's own TLS
 * machinery.
 *
 * The C library allocates and initialises a TLS block for every thread,
 * old and new, only for modules its dynamic loader knows.  So the block
 * is described to it as one: a small shared object (written with libelf
 * into a memfd and dlopen()ed) with a PT_TLS segment holding the block's
 * initial image, and a table of words, each filled by the loader's own
 * dynamic relocation — a thread-pointer offset, a module id, an offset in
 * a block, a TLS descriptor — against the object's own block or against
 * another module's TLS variable by name.  The link copies that table
 * into the image, so loaded code reaches its variables exactly as code
 * the system linker linked: through the same thread-pointer offsets,
 * module ids, __tls_get_addr and descriptor functions, at the same cost.
 *
 * Asking for a thread-pointer offset of the object's own block makes the
 * loader place it in static TLS (what local-exec and initial-exec code
 * need); without one the block is dynamic (allocated on a thread's first
 * __tls_get_addr), as for any dlopen()ed library. */
#ifndef EJ_TLS_TLSMOD_H
#define EJ_TLS_TLSMOD_H

#include <stddef.h>
#include <stdint.h>

#include "common/common.h"
#include "reloc/reloc.h"

/* The module's own block: FILESZ bytes of initial values at INIT, then
 * zeroes up to MEMSZ; ALIGN a power of two.  MEMSZ 0: no block. */
typedef struct ej__tls_block {
    const uint8_t *init;
    uint64_t filesz, memsz, align;
} ej__tls_block;

/* What a table word holds. */
enum ej__tls_what {
    EJ_TLSW_TPOFF,  /* offset of the variable from the thread pointer */
    EJ_TLSW_MODID,  /* its module's id (the index __tls_get_addr takes) */
    EJ_TLSW_DTPOFF, /* its offset in its module's block, as __tls_get_addr takes it */
    EJ_TLSW_DESC,   /* a TLS descriptor {entry, argument}: two words */
};

/* One table entry: WHAT of the variable NAME another module defines, or,
 * NAME NULL, of offset OFF in the module's own block. */
typedef struct ej__tls_word {
    uint8_t what;
    const char *name;
    uint64_t off;
} ej__tls_word;

/* Words entry W takes in the table. */
static inline unsigned ej__tls_word_count(const ej__tls_word *w)
{
    return w->what == EJ_TLSW_DESC ? 2 : 1;
}

typedef struct ej__tls_module ej__tls_module;

/* Describes BLOCK and the N table entries W to the C library for a module
 * of ABI A (machine MACHINE), and writes the entries' values, in order,
 * to OUT (one 8-byte word each, two for a descriptor).  *MOD receives the
 * handle that keeps them valid.
 * Errors (the message names the variable NAME or the block's size):
 * EJ_STATIC_TLS (static TLS was needed and the C library has no room
 * left), EJ_UNDEFINED (no module defines a NAME), EJ_UNSUPPORTED (the ABI
 * has no dynamic type for an entry), EJ_NOMEM, EJ_IO (the memfd, libelf or
 * the loader failed, with the reason).  Thread-safe. */
ej_status ej__tls_module_load(uint16_t machine, const struct ej__tls_abi *a,
                              const ej__tls_block *block, const ej__tls_word *w, size_t n,
                              uint64_t *out, ej__tls_module **mod, ej__err *err);

/* The calling thread's copy of the module's block (allocated on first
 * use, as __tls_get_addr does); NULL when the module has no block or
 * the C library cannot allocate it. */
void *ej__tls_module_block(const ej__tls_module *mod);

/* The alignment of the C library's static TLS (glibc: that of the
 * initial threads' blocks), which no block placed in static TLS later may
 * exceed; 0 when the C library does not say. */
uint64_t ej__tls_static_align(void);

/* Releases MOD: the C library reclaims the module id, and the static TLS
 * space when it is the last allocated (glibc).  NULL is a no-op. */
void ej__tls_module_unload(ej__tls_module *mod);

/* Writes the shared object describing BLOCK and W (tlsmod_elf.c) to FD. */
ej_status ej__tls_module_write(int fd, uint16_t machine, const struct ej__tls_abi *a,
                               const ej__tls_block *block, const ej__tls_word *w, size_t n,
                               uint64_t *table_vaddr, ej__err *err);

/* The exported name of the block's first byte in the shared object. */
#define EJ_TLS_BLOCK_SYMBOL "elfjit_tls_block"

#endif /* EJ_TLS_TLSMOD_H */
