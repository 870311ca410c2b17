/* A relocatable ELF object as the rest of elfjit sees it: read through
 * libelf, validated field by field, with typed views of its symbol table
 * and relocation sections.  Nothing here knows about layout or linking:
 * the link layer keeps its own per-object state (ej__lobj,
 * src/link/linker.h). */
#ifndef EJ_ELF_OBJECT_H
#define EJ_ELF_OBJECT_H

#include <gelf.h>
#include <libelf.h>
#include <stddef.h>
#include <stdint.h>

#include "common/common.h"
#include "reloc/reloc.h"

struct ej__sym;

typedef struct ej__section {
    const char *name;
    Elf_Scn *scn;
    GElf_Shdr shdr;         /* validated; re-read after decompression */
    const uint8_t *data;    /* contents (NULL for SHT_NOBITS or not loaded yet) */
    uint64_t size;          /* sh_size, or the uncompressed size */
    uint32_t rela;          /* index of the SHT_RELA section applying to it, 0 none */
} ej__section;

typedef struct ej__object {
    char *name;             /* path or buffer label, for messages */
    uint8_t *image;         /* the bytes libelf reads (mapping or copy) */
    size_t image_len;
    int image_mapped;       /* munmap rather than free */
    int image_borrowed;     /* an archive member: the archive owns the bytes */
    int fd;                 /* the file, open while it is validated; else -1 */
    uint64_t fd_base;       /* where the object starts in that file (archive members) */
    Elf *elf;
    const ej__arch *arch;
    size_t shnum;
    ej__section *sec;
    /* Symbol table (the one SHT_SYMTAB), native layout. */
    const Elf64_Sym *syms;
    size_t nsyms;
    size_t first_global;    /* sh_info of the symbol table */
    const char *strtab;
    size_t strtab_size;
    const Elf32_Word *xindex; /* SHT_SYMTAB_SHNDX contents, or NULL */
    /* Copies owned by the object (malloc()ed, freed with it): the tables
     * validation checked (see ej__object_own) and those ej__object_cut
     * replaced. */
    void **owned;
    size_t nowned, owned_cap;
    /* One block that the validated tables are copied into (see
     * ej__object_reserve_copies), carved front to back. */
    uint8_t *copies;
    size_t copies_len, copies_used;
    int copies_mapped;      /* munmap rather than free */
} ej__object;

/* What ej__object_open_file returns for an ar archive (never seen outside
 * the library: the linker reads it as an archive instead). */
#define EJ__IS_ARCHIVE ((ej_status)1000)
/* ...and for an ELF ET_DYN file: perhaps an image saved by elfjit (src/aot). */
#define EJ__IS_IMAGE ((ej_status)1001)

/* Reads and validates the object at PATH (mapped, not copied).  On failure
 * returns a status with a message in ERR naming the file, section and
 * offset, and *OUT is NULL. */
ej_status ej__object_open_file(const char *path, ej__object **out, ej__err *err);

/* As ej__object_open_file for LEN bytes at BUF, which are copied.  NAME
 * labels the object in messages. */
ej_status ej__object_open_buffer(const char *name, const void *buf, size_t len,
                                 ej__object **out, ej__err *err);

/* As ej__object_open_file for the LEN bytes at IMAGE, an archive member
 * used in place (not copied; the archive outlives the object): FD and
 * BASE are the archive's descriptor and the member's offset in it, from
 * which validation copies the tables.  NAME labels it ("lib.a(m.o)"). */
ej_status ej__object_open_member(const char *name, uint8_t *image, size_t len, int fd,
                                 uint64_t base, ej__object **out, ej__err *err);

void ej__object_free(ej__object *obj);

/* A copy of N bytes at SRC (uninitialised when SRC is NULL) owned by OBJ
 * and freed with it, or NULL when out of memory.
 *
 * Validation checks copies, never the input bytes in place: a file is
 * mapped privately, and a private mapping shows later writes to the file
 * on every page not yet copied, so whatever memory safety depends on
 * (section names, symbol, string, group and relocation tables) is copied
 * first and the copy is what is checked and used.  Section contents that
 * are only copied into the image are read from the mapping. */
void *ej__object_own(ej__object *obj, const void *src, size_t n);

/* Sets aside LEN bytes for the copies ej__object_own makes, in one block
 * whose pages are populated at once: a few hundred page faults, one for
 * each page of a fresh copy, cost more than the copying itself.  Copies
 * that do not fit are malloc()ed.  Errors: EJ_NOMEM. */
ej_status ej__object_reserve_copies(ej__object *obj, size_t len, ej__err *err);

/* The section index of symbol I (resolving SHN_XINDEX). */
static inline uint32_t ej__object_sym_shndx(const ej__object *obj, size_t i)
{
    uint32_t shndx = obj->syms[i].st_shndx;
    return shndx == SHN_XINDEX && obj->xindex ? obj->xindex[i] : shndx;
}

/* The name of symbol I ("" when unnamed); for a section symbol, the
 * section's name. */
const char *ej__object_sym_name(const ej__object *obj, size_t i);

/* The contents of section I, decompressing SHF_COMPRESSED sections on first
 * use.  *DATA is NULL for SHT_NOBITS. */
ej_status ej__object_section_data(ej__object *obj, size_t i,
                                  const uint8_t **data, uint64_t *size,
                                  ej__err *err);

/* The relocation entries of SHT_RELA section I, validated at open. */
const Elf64_Rela *ej__object_relas(const ej__object *obj, size_t i,
                                   size_t *count);

/* A byte range to delete from a section: LEN bytes at offset OFF. */
typedef struct ej__cut {
    uint64_t off, len;
} ej__cut;

/* Where offset OFF of a section lands once the N CUTS (sorted by offset,
 * not overlapping) are deleted; an offset inside a cut lands where the cut
 * was. */
uint64_t ej__cut_map(const ej__cut *cuts, size_t n, uint64_t off);

/* Deletes the N CUTS (sorted, not overlapping, inside the section) from
 * the contents of section SHNDX, whose data must be loaded, and moves what
 * names offsets in it: the values and sizes of the symbols defined in it,
 * the offsets of the relocations applied to it and the addends of
 * relocations against its symbols.  The changed tables are copies owned by
 * OBJ (the input bytes are never written); afterwards sec[SHNDX].data and
 * the data of the relocation sections that changed may be written by the
 * caller.  Fails when out of memory, and (EJ_BADELF) when the cuts are
 * not sorted, disjoint and inside the section. */
ej_status ej__object_cut(ej__object *obj, size_t shndx, const ej__cut *cuts, size_t n,
                         ej__err *err);

#endif /* EJ_ELF_OBJECT_H */
