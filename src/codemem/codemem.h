/* Code memory: one reservation per link unit, placed within a window of
 * addresses the image must be able to reach, written while it is linked,
 * then published region by region as RX, R or RW — never W and X at once.
 *
 * The W^X state machine lives here and only here (codemem.c): a region
 * starts RW in the write view and is published once, to RX, R or RW; no
 * other transition exists, so no page is ever writable and executable.
 * Two backends carry it out (one small interface, codemem_backend.h):
 *   mprotect  one anonymous reservation, written in place, then mprotect
 *             RW -> RX / R (backend_mprotect.c);
 *   dual map  a memory file mapped twice: a writable view for the link and
 *             a run view where the code executes, which is never writable
 *             where it is executable; the writable view is unmapped at
 *             publish, so no writable alias of published code survives
 *             (backend_dual.c).  For hosts that refuse to make memory
 *             executable after it was writable (PR_SET_MDWE, systemd's
 *             MemoryDenyWriteExecute=yes, SELinux deny_execmem).
 * The backend is chosen per link: ej_linker_set_code_memory, else
 * ELFJIT_CODEMEM=mprotect|dual, else a probe made once per process
 * (select.c). */
#ifndef EJ_CODEMEM_H
#define EJ_CODEMEM_H

#include <stddef.h>
#include <stdint.h>

#include "codemem/slab.h"
#include "common/common.h"
#include "image/image.h"

/* Images whose written part is at least this large are placed on a 2 MiB
 * boundary, reserved in whole 2 MiB units and given transparent huge pages
 * (see ej__codemem_prefault): zeroing one huge page measured cheaper than
 * faulting in 64 small ones, at a cost of under 2 MiB of memory. */
#define EJ_HUGE_IMAGE ((size_t)256 << 10)
#define EJ_HUGE_PAGE ((size_t)2 << 20)

typedef enum ej__prot { EJ_PROT_R, EJ_PROT_RW, EJ_PROT_RX } ej__prot;

typedef struct ej__codemem {
    uint8_t *w;        /* the write view: where the link writes the image */
    uint64_t v;        /* where the image runs (== w for mprotect and link-only w's copy) */
    size_t size;       /* image size, page-rounded */
    int link_only;
    int kind;          /* EJ_CODE_MEMORY_MPROTECT or _DUAL_MAP (resolved) */
    int published;
    /* What release undoes. */
    uint8_t *map;      /* the run view (mprotect, link-only: the only mapping) */
    size_t map_len;
    uint8_t *wmap;     /* dual map: the write view, until publish */
    int fd;            /* dual map: the memory file, until publish; else -1 */
    /* Shared code memory (slab.h): the link writes a staging copy laid out
     * as usual (w, size); each class runs in its own piece (cls, which
     * only the link needs: ej__codemem_done frees it). */
    int shared;
    ej__slab_piece piece[EJ_SLAB_KINDS];
    struct ej__cm_classes *cls;
} ej__codemem;

/* Where a shared image's classes are: class C's image offsets
 * [off[C], ...) run at v[C]; used[C] bytes of each are the image's. */
typedef struct ej__cm_classes {
    uint64_t off[EJ_CLS_COUNT], v[EJ_CLS_COUNT], used[EJ_CLS_COUNT];
} ej__cm_classes;

/* Placement request: every byte of the image must lie in [lo, hi); the
 * reservation should preferably lie in [pref_lo, pref_hi). */
typedef struct ej__placement {
    uint64_t lo, hi;
    uint64_t pref_lo, pref_hi;
    int has_pref;
} ej__placement;

/* One permission region of an image, for ej__codemem_publish. */
typedef struct ej__region {
    uint64_t off, len; /* page aligned, from the image start */
    ej__prot prot;
    int zero;          /* nothing was written there (.bss): no copy needed */
} ej__region;

/* The system page size (sysconf), cached. */
size_t ej__page_size(void);

/* The backend a link asking for KIND (enum ej_code_memory) gets: KIND
 * itself, or for EJ_CODE_MEMORY_AUTO the environment's ELFJIT_CODEMEM or
 * the process-wide probe (select.c).  Thread-safe. */
int ej__codemem_choose(int kind);

/* Whether a link asking for KIND (enum ej_code_memory) should use shared
 * code memory when its image is small enough: EJ_CODE_MEMORY_SHARED, or
 * EJ_CODE_MEMORY_AUTO unless ELFJIT_CODEMEM asks for "mprotect" or
 * "dual".  Thread-safe. */
int ej__codemem_shared_wanted(int kind);

/* Reserves SIZE bytes (a multiple of the page size) aligned to ALIGN (a
 * power of two >= the page size), writable through cm->w and placed
 * (cm->v) as PL asks, with backend KIND (resolved, see
 * ej__codemem_choose).  Pages are demand-zero: untouched .bss costs
 * nothing.  Errors: EJ_MAP naming the window or the call that failed. */
ej_status ej__codemem_reserve(ej__codemem *cm, size_t size, size_t align,
                              const ej__placement *pl, int kind, ej__err *err);

/* Shared code memory for a small image laid out in permission classes
 * (EJ_CLS_*: offsets CLS_OFF, bytes used CLS_USED, alignments CLS_ALIGN,
 * each used size and alignment at most ej__slab_max_piece()), SIZE bytes
 * in all: pieces of shared arenas inside PL's window, and a staging copy
 * (cm->w, zeroed) the link writes; ej__codemem_publish_classes copies it
 * into the pieces.  Errors: EJ_NOMEM, EJ_MAP. */
ej_status ej__codemem_reserve_shared(ej__codemem *cm, size_t size, const uint64_t *cls_off,
                                     const uint64_t *cls_used, const uint64_t *cls_align,
                                     const ej__placement *pl, ej__err *err);

/* Link-only: ordinary memory standing for an image at virtual address
 * VBASE, never made executable. */
ej_status ej__codemem_reserve_fake(ej__codemem *cm, size_t size, uint64_t vbase,
                                   ej__err *err);

/* Pre-faults [off, off+len) of the write view in one call (the pages the
 * link is about to fill), instead of one page fault per page.  Advisory:
 * does nothing on kernels without MADV_POPULATE_WRITE or for link-only
 * images. */
void ej__codemem_prefault(ej__codemem *cm, size_t off, size_t len);

/* Where the image can be read: the run view (readable in every region),
 * or the copy of a link-only image.  Valid from reserve to release. */
static inline const uint8_t *ej__codemem_view(const ej__codemem *cm)
{
    return cm->link_only || (cm->shared && !cm->published) ? cm->w
                                                          : (const uint8_t *)(uintptr_t)cm->v;
}

/* Where image offset OFF runs (until ej__codemem_done). */
static inline uint64_t ej__codemem_vaddr(const ej__codemem *cm, uint64_t off)
{
    if (!cm->shared)
        return cm->v + off;
    int c = EJ_CLS_COUNT - 1;
    while (c > 0 && off < cm->cls->off[c])
        c--;
    return cm->cls->v[c] + (off - cm->cls->off[c]);
}

/* Where the bytes at image offset OFF can be read now (until
 * ej__codemem_done). */
static inline const uint8_t *ej__codemem_bytes(const ej__codemem *cm, uint64_t off)
{
    if (cm->shared && cm->published)
        return (const uint8_t *)(uintptr_t)ej__codemem_vaddr(cm, off);
    return ej__codemem_view(cm) + off;
}

/* The link is over: drops what only the link needed (a shared image's
 * class table), so that a million live modules do not keep it.
 * ej__codemem_vaddr and ej__codemem_bytes are not valid afterwards. */
void ej__codemem_done(ej__codemem *cm);

/* Publishes the image: gives each of the N regions its protection (RX, R
 * or RW; the regions cover the image, unlisted pages become R), drops
 * the write view (dual map), then makes the code visible to instruction
 * fetch: ej_clear_cache on the run view of every RX region and
 * ej_pipeline_flush_mt.  Once only.  A link-only image stays as it is.
 * Errors: EJ_MAP (a system call refused; the image is then unusable and
 * must be released), EJ_STATE (published already). */
ej_status ej__codemem_publish(ej__codemem *cm, const ej__region *r, size_t n, ej__err *err);

/* Fills [OFF, OFF+LEN) of the image (OFF and FOFF page aligned) with the
 * bytes of file FD from offset FOFF, before publishing: mapped from the
 * file privately by the mprotect backend (pages the link never writes
 * stay the page cache's, shared with every process mapping the file),
 * read into the write view by the dual map and link-only images.  The
 * file must not change while mapped.  Errors: EJ_MAP, EJ_NOMEM, EJ_IO,
 * EJ_BADELF (the file ends first), EJ_STATE, EJ_INVAL. */
ej_status ej__codemem_fill_file(ej__codemem *cm, size_t off, size_t len, int fd, uint64_t foff,
                                ej__err *err);

/* Publishes an image laid out in permission classes (EJ_CLS_*, page
 * aligned, in order): text RX, read-only data R, data and bss RW. */
ej_status ej__codemem_publish_classes(ej__codemem *cm, const uint64_t *cls_off,
                                      const uint64_t *cls_size, ej__err *err);

/* Unmaps everything. Safe on a zeroed ej__codemem and after a failure
 * at any step. */
void ej__codemem_release(ej__codemem *cm);

#endif /* EJ_CODEMEM_H */
