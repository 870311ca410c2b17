/* Code memory: one reservation per link unit, placed within a window of
 * addresses the image must be able to reach, writable while it is linked,
 * then published region by region as RX, R or RW — never W and X at once.
 */
#ifndef EJ_CODEMEM_H
#define EJ_CODEMEM_H

#include <stddef.h>
#include <stdint.h>

#include "common/common.h"

/* Images whose written part is at least this large are placed on a 2 MiB
 * boundary, reserved in whole 2 MiB units and given transparent huge pages
 * (see ej__codemem_prefault): zeroing one huge page measured cheaper than
 * faulting in 64 small ones, at a cost of under 2 MiB of memory. */
#define EJ_HUGE_IMAGE ((size_t)256 << 10)
#define EJ_HUGE_PAGE ((size_t)2 << 20)

typedef enum ej__prot { EJ_PROT_R, EJ_PROT_RW, EJ_PROT_RX } ej__prot;

typedef struct ej__codemem {
    uint8_t *map;      /* the whole mapping, for munmap */
    size_t map_len;
    uint8_t *w;        /* where the image is written */
    uint64_t v;        /* where the image runs (== w unless link-only) */
    size_t size;       /* image size, page-rounded */
    int link_only;
} ej__codemem;

/* Placement request: every byte of the image must lie in [lo, hi); the
 * reservation should preferably lie in [pref_lo, pref_hi). */
typedef struct ej__placement {
    uint64_t lo, hi;
    uint64_t pref_lo, pref_hi;
    int has_pref;
} ej__placement;

/* The system page size (sysconf), cached. */
size_t ej__page_size(void);

/* Reserves SIZE bytes (a multiple of the page size) aligned to ALIGN (a
 * power of two >= the page size), readable and writable, honouring PL.
 * Pages are demand-zero: untouched .bss costs nothing.  Errors: EJ_MAP with
 * a message naming the window that could not be satisfied. */
ej_status ej__codemem_reserve(ej__codemem *cm, size_t size, size_t align,
                              const ej__placement *pl, ej__err *err);

/* Link-only: ordinary memory standing for an image at virtual address
 * VBASE, never made executable. */
ej_status ej__codemem_reserve_fake(ej__codemem *cm, size_t size, uint64_t vbase,
                                   ej__err *err);

/* Pre-faults [off, off+len) for writing in one call (the pages the link
 * is about to fill), instead of one page fault per page.  Advisory: does
 * nothing on kernels without MADV_POPULATE_WRITE or for link-only images. */
void ej__codemem_prefault(ej__codemem *cm, size_t off, size_t len);

/* Sets the protection of [off, off+len) (page aligned).  A link-only
 * image stays RW. */
ej_status ej__codemem_protect(ej__codemem *cm, size_t off, size_t len,
                              ej__prot prot, ej__err *err);

/* Unmaps the reservation.  Safe on a zeroed ej__codemem. */
void ej__codemem_release(ej__codemem *cm);

#endif /* EJ_CODEMEM_H */
