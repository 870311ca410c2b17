/* Code memory: reservation, the W^X state machine, release.  The backends
 * (backend_mprotect.c, backend_dual.c) only map and protect; the order of
 * the steps and what may follow what is decided here. */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "codemem/codemem.h"
#include "codemem/codemem_backend.h"
#include "codemem/placement.h"
#include "elfjit/coherence.h"

/* Read once; links on several threads may ask at the same time (relaxed
 * atomics: every thread computes the same value). */
size_t ej__page_size(void)
{
    static _Atomic size_t page;
    size_t v = atomic_load_explicit(&page, memory_order_relaxed);
    if (!v) {
        long p = sysconf(_SC_PAGESIZE);
        v = p > 0 ? (size_t)p : 4096;
        atomic_store_explicit(&page, v, memory_order_relaxed);
    }
    return v;
}

static const ej__cm_backend *backend_of(const ej__codemem *cm)
{
    return cm->kind == EJ_CODE_MEMORY_DUAL_MAP ? &ej__cm_dual : &ej__cm_mprotect;
}

/* Trims an over-sized mapping at MAP (LEN bytes) to SIZE bytes starting at
 * the first ALIGN boundary, giving back the slack on both sides. */
static uint8_t *trim_to_alignment(uint8_t *map, size_t len, size_t size,
                                  size_t align)
{
    uintptr_t start = ej__align_up((uintptr_t)map, align);
    size_t head = start - (uintptr_t)map;
    size_t tail = len - head - size;
    if (head)
        munmap(map, head);
    if (tail)
        munmap((uint8_t *)start + size, tail);
    return (uint8_t *)start;
}

ej_status ej__codemem_reserve(ej__codemem *cm, size_t size, size_t align,
                              const ej__placement *pl, int kind, ej__err *err)
{
    size_t page = ej__page_size();
    memset(cm, 0, sizeof *cm);
    cm->fd = -1;
    cm->kind = kind;
    if (align < page)
        align = page;
    size_t len = size + (align - page);
    if (len < size)
        return ej__fail(err, EJ_MAP, "image of %zu bytes is too large", size);
    uint8_t *map;
    ej_status st = ej__place(len, size, align, pl, &map, err);
    if (st != EJ_OK)
        return st;
    uint8_t *run = trim_to_alignment(map, len, size, align);
    cm->map = run;
    cm->map_len = size;
    cm->v = (uintptr_t)run;
    cm->size = size;
    if ((st = backend_of(cm)->map(cm, run, size, err)) != EJ_OK)
        ej__codemem_release(cm);
    return st;
}

ej_status ej__codemem_reserve_fake(ej__codemem *cm, size_t size, uint64_t vbase,
                                   ej__err *err)
{
    memset(cm, 0, sizeof *cm);
    cm->fd = -1;
    void *map = mmap(NULL, size, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (map == MAP_FAILED)
        return ej__fail(err, EJ_MAP, "cannot reserve %zu bytes: %s", size,
                        strerror(errno));
    cm->map = map;
    cm->map_len = size;
    cm->w = map;
    cm->v = vbase;
    cm->size = size;
    cm->link_only = 1;
    return EJ_OK;
}

ej_status ej__codemem_reserve_shared(ej__codemem *cm, size_t size, const uint64_t *cls_off,
                                     const uint64_t *cls_used, const uint64_t *cls_align,
                                     const ej__placement *pl, ej__err *err)
{
    memset(cm, 0, sizeof *cm);
    cm->fd = -1;
    cm->shared = 1;
    cm->kind = EJ_CODE_MEMORY_SHARED;
    /* Data and .bss share the RW piece, .bss after the data. */
    uint64_t bss_at = ej__align_up(cls_used[EJ_CLS_DATA], cls_align[EJ_CLS_BSS]);
    const size_t len[EJ_SLAB_KINDS] = {cls_used[EJ_CLS_TEXT], cls_used[EJ_CLS_RODATA],
                                       bss_at + cls_used[EJ_CLS_BSS]};
    const size_t align[EJ_SLAB_KINDS] = {
        cls_align[EJ_CLS_TEXT], cls_align[EJ_CLS_RODATA],
        cls_align[EJ_CLS_DATA] > cls_align[EJ_CLS_BSS] ? cls_align[EJ_CLS_DATA]
                                                       : cls_align[EJ_CLS_BSS]};
    uint64_t addr[EJ_SLAB_KINDS];
    if (!(cm->w = calloc(1, size)) || !(cm->cls = malloc(sizeof *cm->cls))) {
        free(cm->w);
        cm->w = NULL;
        return ej__fail(err, EJ_NOMEM, "out of memory for a %zu-byte staging copy", size);
    }
    ej_status st = ej__slab_alloc(len, align, pl, cm->piece, addr, err);
    if (st != EJ_OK) {
        free(cm->w);
        free(cm->cls);
        cm->w = NULL;
        cm->cls = NULL;
        return st;
    }
    for (int c = 0; c < EJ_CLS_COUNT; c++) {
        cm->cls->off[c] = cls_off[c];
        cm->cls->used[c] = cls_used[c];
    }
    cm->cls->v[EJ_CLS_TEXT] = addr[EJ_SLAB_TEXT];
    cm->cls->v[EJ_CLS_RODATA] = addr[EJ_SLAB_RODATA];
    cm->cls->v[EJ_CLS_DATA] = addr[EJ_SLAB_DATA];
    cm->cls->v[EJ_CLS_BSS] = addr[EJ_SLAB_DATA] + bss_at;
    cm->v = addr[EJ_SLAB_TEXT] ? addr[EJ_SLAB_TEXT] : addr[EJ_SLAB_RODATA];
    cm->size = size;
    return EJ_OK;
}

/* Copies the staging copy into the pieces: text and read-only data through
 * the memory file (slab.c), data and .bss in place. */
static ej_status publish_shared(ej__codemem *cm, ej__err *err)
{
    static const int kind_of[] = {EJ_SLAB_TEXT, EJ_SLAB_RODATA};
    for (int c = 0; c < 2; c++) {
        const ej__slab_piece *p = &cm->piece[kind_of[c]];
        ej_status st = ej__slab_write(p, kind_of[c], cm->w + cm->cls->off[c],
                                      (size_t)p->count * EJ_SLAB_GRANULE, err);
        if (st != EJ_OK)
            return st;
    }
    const ej__slab_piece *d = &cm->piece[EJ_SLAB_DATA];
    if (d->count) {
        uint8_t *at = (uint8_t *)(uintptr_t)cm->cls->v[EJ_CLS_DATA];
        size_t len = (size_t)d->count * EJ_SLAB_GRANULE, dlen = cm->cls->used[EJ_CLS_DATA];
        memcpy(at, cm->w + cm->cls->off[EJ_CLS_DATA], dlen);
        memset(at + dlen, 0, len - dlen);
    }
    free(cm->w);
    cm->w = NULL;
    if (cm->piece[EJ_SLAB_TEXT].count)
        ej_clear_cache((void *)(uintptr_t)cm->cls->v[EJ_CLS_TEXT],
                       (size_t)cm->piece[EJ_SLAB_TEXT].count * EJ_SLAB_GRANULE);
    if (ej_pipeline_flush_mt() != EJ_OK)
        return ej__fail(err, EJ_MAP, "cannot synchronise other threads' instruction pipelines");
    return EJ_OK;
}

#ifndef MADV_POPULATE_WRITE
#define EJ_MADV_POPULATE_WRITE 23 /* Linux 5.14 */
#else
#define EJ_MADV_POPULATE_WRITE MADV_POPULATE_WRITE
#endif

void ej__codemem_prefault(ej__codemem *cm, size_t off, size_t len)
{
    if (!len || !cm->w || cm->shared)
        return;
    /* A large image is worth transparent huge pages: a fault (and a page
     * table entry, and later a TLB entry) per 2 MiB instead of per page
     * halves the cost of filling it.  Only what the link writes: .bss
     * stays in small demand-zero pages, costing only what is touched.
     * (Anonymous memory only: a memory file's pages follow shmem's own
     * huge page policy.) */
    if (len >= EJ_HUGE_IMAGE && !cm->link_only && cm->kind != EJ_CODE_MEMORY_DUAL_MAP) {
        size_t hlen = ej__align_up(len, EJ_HUGE_PAGE);
        madvise(cm->w + off, hlen <= cm->size ? hlen : len, MADV_HUGEPAGE);
    }
    madvise(cm->w + off, len, EJ_MADV_POPULATE_WRITE);
}

ej_status ej__codemem_read_file(ej__codemem *cm, size_t off, size_t len, int fd, uint64_t foff,
                                ej__err *err)
{
    for (size_t done = 0; done < len;) {
        ssize_t n = pread(fd, cm->w + off + done, len - done, (off_t)(foff + done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return ej__fail(err, n == 0 ? EJ_BADELF : errno == ENOMEM ? EJ_NOMEM : EJ_IO,
                            "cannot read %zu bytes of the image file at offset 0x%llx: %s",
                            len - done, (unsigned long long)(foff + done),
                            n == 0 ? "the file ends first" : strerror(errno));
        done += (size_t)n;
    }
    return EJ_OK;
}

ej_status ej__codemem_fill_file(ej__codemem *cm, size_t off, size_t len, int fd, uint64_t foff,
                                ej__err *err)
{
    size_t page = ej__page_size();
    if (cm->published)
        return ej__fail(err, EJ_STATE, "the image is published already");
    if (cm->shared || off % page || foff % page || off > cm->size || len > cm->size - off)
        return ej__fail(err, EJ_INVAL, "file bytes 0x%zx+0x%zx do not fit the image's pages",
                        off, len);
    if (!len)
        return EJ_OK;
    return cm->link_only ? ej__codemem_read_file(cm, off, len, fd, foff, err)
                         : backend_of(cm)->fill_file(cm, off, len, fd, foff, err);
}

ej_status ej__codemem_publish_classes(ej__codemem *cm, const uint64_t *cls_off,
                                      const uint64_t *cls_size, ej__err *err)
{
    if (cm->shared) {
        if (cm->published)
            return ej__fail(err, EJ_STATE, "the image is published already");
        cm->published = 1;
        return publish_shared(cm, err);
    }
    const ej__region r[] = {
        {cls_off[EJ_CLS_TEXT], cls_size[EJ_CLS_TEXT], EJ_PROT_RX, 0},
        {cls_off[EJ_CLS_RODATA], cls_size[EJ_CLS_RODATA], EJ_PROT_R, 0},
        {cls_off[EJ_CLS_DATA], cls_size[EJ_CLS_DATA], EJ_PROT_RW, 0},
        {cls_off[EJ_CLS_BSS], cm->size - cls_off[EJ_CLS_BSS], EJ_PROT_RW, 1},
    };
    return ej__codemem_publish(cm, r, EJ_ARRAY_LEN(r), err);
}

static ej_status check_region(const ej__codemem *cm, const ej__region *r, ej__err *err)
{
    size_t page = ej__page_size();
    if (r->off % page || r->len % page || r->off > cm->size || r->len > cm->size - r->off)
        return ej__fail(err, EJ_INVAL, "region 0x%llx+0x%llx is not page aligned inside the "
                        "image (0x%zx bytes)", (unsigned long long)r->off,
                        (unsigned long long)r->len, cm->size);
    if (r->prot != EJ_PROT_R && r->prot != EJ_PROT_RW && r->prot != EJ_PROT_RX)
        return ej__fail(err, EJ_INVAL, "region 0x%llx+0x%llx: protection %d is none of R, "
                        "RW, RX", (unsigned long long)r->off, (unsigned long long)r->len,
                        (int)r->prot);
    return EJ_OK;
}

/* The state machine has two states: reserved (every page RW in the write
 * view, nothing executable) and published (each region at its final
 * protection, the write view of a dual mapping gone).  The only
 * transition is publish, once; the protections it may give exclude W+X,
 * so no page is ever writable and executable. */
ej_status ej__codemem_publish(ej__codemem *cm, const ej__region *r, size_t n, ej__err *err)
{
    if (cm->published)
        return ej__fail(err, EJ_STATE, "the image is published already");
    for (size_t i = 0; i < n; i++) {
        ej_status st = check_region(cm, &r[i], err);
        if (st != EJ_OK)
            return st;
    }
    cm->published = 1;
    if (cm->link_only)
        return EJ_OK;
    const ej__cm_backend *b = backend_of(cm);
    ej_status st = b->seal(cm, err);
    for (size_t i = 0; i < n && st == EJ_OK; i++)
        st = r[i].len ? b->protect(cm, &r[i], err) : EJ_OK;
    if (st != EJ_OK)
        return st;
    b->finish(cm);
    /* Cache maintenance by the address the code is fetched from. */
    for (size_t i = 0; i < n; i++)
        if (r[i].prot == EJ_PROT_RX && r[i].len)
            ej_clear_cache((void *)(uintptr_t)(cm->v + r[i].off), r[i].len);
    if (ej_pipeline_flush_mt() != EJ_OK)
        return ej__fail(err, EJ_MAP, "cannot synchronise other threads' instruction pipelines");
    return EJ_OK;
}

void ej__codemem_done(ej__codemem *cm)
{
    free(cm->cls);
    cm->cls = NULL;
}

void ej__codemem_release(ej__codemem *cm)
{
    if (cm->shared) {
        free(cm->w);
        free(cm->cls);
        ej__slab_free(cm->piece);
    }
    if (cm->map)
        munmap(cm->map, cm->map_len);
    if (cm->wmap)
        munmap(cm->wmap, cm->size);
    if (cm->fd >= 0)
        close(cm->fd);
    memset(cm, 0, sizeof *cm);
    cm->fd = -1;
}
