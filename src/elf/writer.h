/* Writing relocatable objects with libelf (the builder's images).  The
 * caller describes the sections; libelf lays them out and writes the
 * headers through a memfd (ELF_C_WRITE + elf_update), and the bytes are
 * read back into memory. */
#ifndef EJ_ELF_WRITER_H
#define EJ_ELF_WRITER_H

#include <stddef.h>
#include <stdint.h>
#include <libelf.h>

#include "common/common.h"

typedef struct ej__wsec {
    const char *name;
    uint32_t type;          /* SHT_* */
    uint64_t flags;         /* SHF_* */
    uint64_t align;
    uint64_t entsize;
    uint32_t link, info;    /* section indices (1-based, in the order given) */
    const void *data;       /* NULL for SHT_NOBITS */
    uint64_t size;
    uint64_t addr;          /* sh_addr (0 in relocatable objects) */
} ej__wsec;

/* Writes an ELF64 little-endian object of TYPE (ET_REL, ET_EXEC) for
 * MACHINE with the N sections
 * SECS (indices 1..N, in order; the section name table is added last).
 * *OUT receives a malloc()ed buffer of *LEN bytes.  Errors: EJ_NOMEM,
 * EJ_IO (libelf or the memfd failed, with the reason in ERR). */
ej_status ej__elf_write(uint16_t machine, uint16_t type, const ej__wsec *secs, size_t n, void **out,
                        size_t *len, ej__err *err);

/* A new section of E (elf_newscn), or NULL with libelf's error number in
 * *CODE (for ej__elf_fail_code).  elf_newscn (elfutils 0.188) returns a
 * section, not NULL, when it cannot allocate the section's header, and
 * elf_newdata or gelf_getshdr on that section crash: every writer makes
 * its sections through this. */
Elf_Scn *ej__elf_newscn(Elf *e, int *code);

#endif
