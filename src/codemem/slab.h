/* Shared code memory for small modules: their text, read-only data and
 * data share pages with other modules of the same permission class, in
 * arenas that are added in large steps, so the process's mappings grow
 * with the arenas, not with the modules (the kernel's vm.max_map_count,
 * 65,530 by default, stopped one mapping per class per module at 21,830
 * modules).
 *
 * An arena is one reservation of three equal areas, text | rodata | data,
 * so every piece of a module lies within one arena of the others: its
 * references between classes reach as in a contiguous image.  Text and
 * read-only data are private mappings of a memory file that are never
 * writable (RX and R from the start); a module's bytes reach them through
 * pwrite() on the file, so no writable view of code exists at all, and
 * published pages are never made writable again.  Data is anonymous RW
 * memory written in place.  Space is handed out in 64-byte granules
 * (a bitmap per area); freed granules are reused, a page left with none
 * in use is given back to the kernel (hole punched, or MADV_DONTNEED), and
 * an arena left empty is unmapped (one is kept, its pages given back, so
 * that linking and freeing one module at a time does not map and unmap an
 * arena each time).
 *
 * Thread-safe: one mutex guards the arenas; writes into a piece happen
 * outside it (the piece is its owner's alone). */
#ifndef EJ_CODEMEM_SLAB_H
#define EJ_CODEMEM_SLAB_H

#include <stddef.h>
#include <stdint.h>

#include "common/common.h"

enum { EJ_SLAB_TEXT, EJ_SLAB_RODATA, EJ_SLAB_DATA, EJ_SLAB_KINDS };

#define EJ_SLAB_GRANULE 64u

struct ej__arena;
struct ej__placement;

/* A module's share of one area: granules [first, first + count). */
typedef struct ej__slab_piece {
    struct ej__arena *arena;
    uint32_t first, count;
} ej__slab_piece;

/* Largest piece a module may ask for per kind, and largest alignment: a
 * module bigger than this gets its own mapping. */
size_t ej__slab_max_piece(void);

/* Finds room in one arena inside PL's window (an arena is added when none
 * has room) for LEN[k] bytes of each kind k, aligned to ALIGN[k] (a power
 * of two, at most ej__slab_max_piece()); LEN[k] 0 gives no piece.  Fills
 * OUT[k] and ADDR[k] (where the piece runs).  Errors: EJ_MAP (no arena
 * could be placed or mapped, naming the call), EJ_NOMEM. */
ej_status ej__slab_alloc(const size_t len[EJ_SLAB_KINDS], const size_t align[EJ_SLAB_KINDS],
                         const struct ej__placement *pl, ej__slab_piece out[EJ_SLAB_KINDS],
                         uint64_t addr[EJ_SLAB_KINDS], ej__err *err);

/* Writes LEN bytes of SRC at offset OFF of piece P of kind KIND (the rest
 * of the piece is written as zeros when ZERO_REST), and checks that the
 * running view shows them: a page a debugger wrote a breakpoint into is
 * this process's own copy, which the file no longer reaches; such a page
 * is written through /proc/self/mem, as the debugger did.  Errors: EJ_IO
 * (a write failed), EJ_MAP (the running view does not show the bytes). */
ej_status ej__slab_write(const ej__slab_piece *p, int kind, const void *src, size_t len,
                         ej__err *err);

/* The address piece P of kind KIND runs at. */
uint64_t ej__slab_addr(const ej__slab_piece *p, int kind);

/* Gives every piece of OUT back (count 0 pieces are skipped) and zeroes
 * them.  Nothing may run or read them any more. */
void ej__slab_free(ej__slab_piece p[EJ_SLAB_KINDS]);

/* Bytes of each area of an arena (8 MiB; rounded up to 64 pages); read
 * when the first arena is made, so tests may shrink it before any link. */
extern size_t ej__slab_area_bytes;

/* For tests and benchmarks: the arenas mapped now. */
size_t ej__slab_arenas(void);

#endif
