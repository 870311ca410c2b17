/* Placement of a reservation inside an address window. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "codemem/placement.h"

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

#define USER_LO ((uint64_t)0x10000)          /* at or above vm.mmap_min_addr */
#define USER_HI ((uint64_t)0x7ffffffff000)   /* top of 47-bit user space */
#define MAX_GAPS 4096

typedef struct gap { uint64_t lo, hi; } gap;

static uint8_t *map_rw(void *hint, size_t len, int flags)
{
    void *p = mmap(hint, len, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | flags, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

static int start_fits(uint64_t s, size_t size, uint64_t lo, uint64_t hi)
{
    return s >= lo && s <= hi && size <= hi - s;
}

/* Free address ranges, from the gaps between the process's mappings. */
static size_t read_gaps(gap *gaps, size_t max)
{
    FILE *f = fopen("/proc/self/maps", "re");
    char line[512];
    uint64_t prev = USER_LO;
    size_t n = 0;
    if (!f)
        return 0;
    while (n < max && fgets(line, sizeof line, f)) {
        unsigned long long a, b;
        if (sscanf(line, "%llx-%llx", &a, &b) != 2)
            continue;
        if (a > prev)
            gaps[n++] = (gap){prev, a};
        if (b > prev)
            prev = b;
    }
    fclose(f);
    if (n < max && prev < USER_HI)
        gaps[n++] = (gap){prev, USER_HI};
    return n;
}

/* The aligned start inside gap G closest to TARGET such that the whole
 * mapping of LEN bytes lies in G and the image in [lo, hi).  Returns 0 when
 * there is none. */
static uint64_t best_in_gap(gap g, size_t len, size_t size, size_t align,
                            uint64_t lo, uint64_t hi, uint64_t target)
{
    uint64_t first = ej__align_up(g.lo > lo ? g.lo : lo, align);
    if (g.hi < len || hi < size)
        return 0;
    uint64_t last = (g.hi - len < hi - size ? g.hi - len : hi - size) & ~(uint64_t)(align - 1);
    if (first > last)
        return 0;
    uint64_t s = target < first ? first : target > last ? last : target & ~(uint64_t)(align - 1);
    return s < first ? first : s;
}

static uint64_t dist(uint64_t a, uint64_t b) { return a > b ? a - b : b - a; }

/* Tries the gaps in order of distance from the window's centre. */
static uint8_t *place_in_window(size_t len, size_t size, size_t align,
                                uint64_t lo, uint64_t hi)
{
    gap *gaps = malloc(MAX_GAPS * sizeof *gaps);
    uint8_t *got = NULL;
    if (!gaps)
        return NULL;
    size_t n = read_gaps(gaps, MAX_GAPS);
    uint64_t target = lo + (hi - lo) / 2;
    for (int attempt = 0; attempt < 8 && !got; attempt++) {
        uint64_t best = 0, best_d = UINT64_MAX;
        size_t best_i = 0;
        for (size_t i = 0; i < n; i++) {
            uint64_t s = best_in_gap(gaps[i], len, size, align, lo, hi, target);
            if (s && dist(s, target) < best_d) {
                best = s;
                best_d = dist(s, target);
                best_i = i;
            }
        }
        if (!best)
            break;
        got = map_rw((void *)(uintptr_t)best, len, MAP_FIXED_NOREPLACE);
        if (got && (uint64_t)(uintptr_t)got != best) {
            /* An old kernel took the flag as a plain hint. */
            munmap(got, len);
            got = NULL;
        }
        gaps[best_i].hi = gaps[best_i].lo; /* raced or refused: skip this gap */
    }
    free(gaps);
    return got;
}

static int satisfies(uint8_t *map, size_t size, size_t align, uint64_t lo,
                     uint64_t hi)
{
    uint64_t s = ej__align_up((uintptr_t)map, align);
    return start_fits(s, size, lo, hi);
}

ej_status ej__place(size_t len, size_t size, size_t align,
                    const ej__placement *pl, uint8_t **out, ej__err *err)
{
    /* The kernel's own choice is usually close to the libraries already
     * mapped, so it is tried first. */
    uint8_t *map = map_rw(NULL, len, 0);
    if (!map)
        return ej__fail(err, EJ_MAP, "cannot reserve %zu bytes of code memory: %s",
                        len, strerror(errno));
    int in_win = satisfies(map, size, align, pl->lo, pl->hi);
    if (in_win && (!pl->has_pref || satisfies(map, size, align, pl->pref_lo, pl->pref_hi))) {
        *out = map;
        return EJ_OK;
    }
    if (pl->has_pref) {
        uint64_t lo = pl->pref_lo > pl->lo ? pl->pref_lo : pl->lo;
        uint64_t hi = pl->pref_hi < pl->hi ? pl->pref_hi : pl->hi;
        uint8_t *near = lo < hi ? place_in_window(len, size, align, lo, hi) : NULL;
        if (near) {
            munmap(map, len);
            *out = near;
            return EJ_OK;
        }
    }
    if (in_win) {
        *out = map;
        return EJ_OK;
    }
    munmap(map, len);
    map = place_in_window(len, size, align, pl->lo, pl->hi);
    if (!map)
        return ej__fail(err, EJ_MAP, "no free address range of %zu bytes inside [0x%llx, 0x%llx)",
                        size, (unsigned long long)pl->lo, (unsigned long long)pl->hi);
    *out = map;
    return EJ_OK;
}
