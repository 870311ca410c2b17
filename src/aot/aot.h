/* Images saved ahead of time (format.h): written by a link (save.c),
 * opened and checked when added to a linker (open.c), loaded as a module
 * in place of a link (load.c). */
#ifndef EJ_AOT_AOT_H
#define EJ_AOT_AOT_H

#include <stddef.h>
#include <stdint.h>

#include "aot/format.h"
#include "common/common.h"

struct ej_module;
struct ej_linker;

/* An image file, opened and checked: its description copied out of the
 * file (so that nothing the loader trusts changes if the file does), its
 * bytes left in the file for mapping.  Loaded once: the load takes over
 * the names and the debugger's image. */
typedef struct ej__aot {
    char *path;
    int fd;
    ej__aot_header h;
    ej__fixup *fixups;
    char *strings;
    uint32_t *libs;
    ej__aot_export *exports;
    char *names;
    ej__aot_func *funcs;
    ej__aot_fnarray *fns;
    ej__aot_table *tables;
    const ej__aot_sym *syms; /* only while it is checked (in the file's mapping, */
    void *syms_copy;         /* or inflated into this) */
    uint8_t *gdb;          /* the debugger's image (as saved: load moves it) */
    uint32_t *gdbfix;
    uint64_t z_off, z_size; /* a deflated image's zlib stream, in the file */
    ej__aot_tls tls;       /* EJ_AOT_F_TLS: the thread-local block */
    uint8_t *tlsinit;
    ej__aot_tlsword *tlswords;
} ej__aot;

/* crc32 of the LEN bytes at FILE as the header's CRC field has it: with
 * the four bytes of the field (in the header at file offset HDR_OFF)
 * taken as zero. */
uint32_t ej__aot_crc(const uint8_t *file, size_t len, uint64_t hdr_off);

/* Opens the image file at PATH and checks it whole: ELF structure, magic,
 * version, checksum, machine, CPU features, page size, and every count,
 * offset and size of its description.  Errors (one line naming PATH):
 * EJ_IO, EJ_NOMEM, EJ_BADELF (not an image, truncated, damaged),
 * EJ_UNSUPPORTED (another version, machine, CPU or page size). */
ej_status ej__aot_open(const char *path, ej__aot **out, ej__err *err);

void ej__aot_free(ej__aot *a);

/* Loads A as LK's module: its libraries opened, its imported names
 * resolved as a link resolves them (LK's resolver, libraries, the host),
 * placed where its references reach, mapped from the file, fixed up,
 * published and registered as LK asks.  Errors as ej_linker_link's. */
ej_status ej__aot_load(struct ej_linker *lk, ej__aot *a, struct ej_module **out);

/* Appends a few readable lines describing A to T (ej_linker_describe). */
struct ej__text;
void ej__aot_describe(const ej__aot *a, struct ej__text *t);

/* Writes the image of module M, just linked by LK with LK->saving set,
 * to PATH (atomically: a temporary file renamed over it). */
ej_status ej__aot_write(const struct ej_module *m, struct ej_linker *lk, const char *path,
                        const char *entry, unsigned flags, ej__err *err);

#endif /* EJ_AOT_AOT_H */
