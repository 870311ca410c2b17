/* Reserving, protecting and releasing code memory. */
#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "codemem/codemem.h"
#include "codemem/placement.h"

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
                              const ej__placement *pl, ej__err *err)
{
    size_t page = ej__page_size();
    memset(cm, 0, sizeof *cm);
    if (align < page)
        align = page;
    size_t len = size + (align - page);
    if (len < size)
        return ej__fail(err, EJ_MAP, "image of %zu bytes is too large", size);
    uint8_t *map;
    ej_status st = ej__place(len, size, align, pl, &map, err);
    if (st != EJ_OK)
        return st;
    cm->map = trim_to_alignment(map, len, size, align);
    cm->map_len = size;
    cm->w = cm->map;
    cm->v = (uintptr_t)cm->map;
    cm->size = size;
    return EJ_OK;
}

ej_status ej__codemem_reserve_fake(ej__codemem *cm, size_t size, uint64_t vbase,
                                   ej__err *err)
{
    memset(cm, 0, sizeof *cm);
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

#ifndef MADV_POPULATE_WRITE
#define EJ_MADV_POPULATE_WRITE 23 /* Linux 5.14 */
#else
#define EJ_MADV_POPULATE_WRITE MADV_POPULATE_WRITE
#endif

void ej__codemem_prefault(ej__codemem *cm, size_t off, size_t len)
{
    if (!len)
        return;
    /* A large image is worth transparent huge pages: a fault (and a page
     * table entry, and later a TLB entry) per 2 MiB instead of per page
     * halves the cost of filling it.  Only what the link writes: .bss
     * stays in small demand-zero pages, costing only what is touched. */
    if (len >= EJ_HUGE_IMAGE && !cm->link_only) {
        size_t hlen = ej__align_up(len, EJ_HUGE_PAGE);
        madvise(cm->w + off, hlen <= cm->size ? hlen : len, MADV_HUGEPAGE);
    }
    madvise(cm->w + off, len, EJ_MADV_POPULATE_WRITE);
}

ej_status ej__codemem_protect(ej__codemem *cm, size_t off, size_t len,
                              ej__prot prot, ej__err *err)
{
    static const int bits[] = {
        [EJ_PROT_R] = PROT_READ,
        [EJ_PROT_RW] = PROT_READ | PROT_WRITE,
        [EJ_PROT_RX] = PROT_READ | PROT_EXEC,
    };
    if (cm->link_only || len == 0)
        return EJ_OK;
    if (mprotect(cm->w + off, len, bits[prot]) != 0)
        return ej__fail(err, EJ_MAP, "cannot protect %zu bytes at %p: %s", len,
                        (void *)(cm->w + off), strerror(errno));
    return EJ_OK;
}

void ej__codemem_release(ej__codemem *cm)
{
    if (cm->map)
        munmap(cm->map, cm->map_len);
    memset(cm, 0, sizeof *cm);
}
