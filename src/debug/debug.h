/* Registrars that make loaded code visible to debuggers, unwinders and
 * profilers (each a row of src/register's table): GDB's JIT interface
 * (gdbjit.c, with the image it registers built by symfile.c), the
 * unwinder's frame tables (frames.c), perf's map (perf_map.c) and jitdump
 * (jitdump.c).  Each reads only the finished image's description
 * (src/image/image.h): nothing here knows the linker. */
#ifndef EJ_DEBUG_DEBUG_H
#define EJ_DEBUG_DEBUG_H

#include "image/image.h"
#include "register/register.h"

/* The ELF image GDB is given for IMG: sections at their load addresses,
 * absolute symbols, the relocated DWARF.  *OUT is malloc()ed.
 * Errors: EJ_NOMEM, EJ_IO (libelf). */
ej_status ej__symfile_build(const ej__image *img, void **out, size_t *len, ej__err *err);

/* ---- GDB registration in batches (gdb_batch.c) --------------------------
 *
 * What GDB is told about one module without DWARF: a copy of its symbols
 * and class ranges, and where its .eh_frame runs.  Several such parts make
 * one debugger image (ej__symfile_parts), so GDB gets one JIT event and
 * one object file per batch instead of per module. */
typedef struct ej__dbg_sym {
    uint64_t addr, size;
    uint32_t name;      /* offset in the part's names */
    uint8_t type, global, cls;
} ej__dbg_sym;

typedef struct ej__dbg_part {
    struct ej__dbg_part *next, *prev; /* the pending list or a batch's members */
    struct ej__gdb_batch *batch;      /* NULL while pending */
    uint16_t machine;
    uint64_t cls_addr[EJ_CLS_COUNT], cls_size[EJ_CLS_COUNT];
    const uint8_t *eh;                /* the module's .eh_frame, where it runs */
    uint64_t eh_addr, eh_len;         /* its records, without a terminator */
    ej__dbg_sym *syms;
    size_t nsyms;
    char *names;
} ej__dbg_part;

/* Most parts one image holds. */
#define BATCH_PARTS_MAX 256

/* One debugger image for the N parts PARTS (at least one, at most
 * BATCH_PARTS_MAX): each part's
 * class sections, one .eh_frame holding every part's records (moved next
 * to each other, at the first part's address), every symbol.  On
 * EJ_RANGE, part *BAD's table could not be moved (a pointer it holds would
 * not reach from the new place): build it alone.  Errors: EJ_NOMEM, EJ_IO,
 * EJ_RANGE. */
ej_status ej__symfile_parts(ej__dbg_part *const *parts, size_t n, void **out, size_t *len,
                            size_t *bad, ej__err *err);

/* The bytes of the records at P (LEN bytes) before a terminator or a
 * record that does not fit. */
size_t ej__eh_frame_records(const uint8_t *p, size_t len);

/* Adjusts every pc-relative pointer of the records at P (LEN bytes) for a
 * move of the block by -DELTA bytes (DELTA = old address - new address),
 * so each still names the same address.  0 when one does not fit its
 * encoding or a record cannot be read. */
int ej__eh_frame_move(uint8_t *p, size_t len, int64_t delta);

/* Tells GDB about every module registered but not yet announced, and
 * rebuilds the images that lost modules (gdb_batch.c).  Cheap when there
 * is nothing to do.  Thread-safe. */
void ej__gdb_flush(void);

#endif
