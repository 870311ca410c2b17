/* Reading trap tables and address maps (format: include/elfjit/tables.h).
 * No allocation, no locks, no libc calls beyond memcpy: a signal handler
 * reads these. */
#include <string.h>

#include "common/common.h"
#include "elfjit/tables.h"

static uint32_t rd32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* The .text address a table's text field (at P + 16) gives. */
static uint64_t text_of(const uint8_t *p)
{
    int32_t rel;
    memcpy(&rel, p + 16, 4);
    return (uint64_t)(uintptr_t)(p + 16) + (uint64_t)(int64_t)rel;
}

/* The common header: magic, version, entry size, count and size. */
static int header_ok(const uint8_t *p, size_t avail, uint32_t magic, unsigned esize,
                     size_t fixed, uint32_t *count, uint32_t *size)
{
    if (!p || avail < fixed || rd32(p) != magic)
        return 0;
    uint16_t version, entsize;
    memcpy(&version, p + 4, 2);
    memcpy(&entsize, p + 6, 2);
    *count = rd32(p + 8);
    *size = rd32(p + 12);
    return version == EJ_TABLES_VERSION && entsize == esize && *size <= avail && *size >= fixed;
}

/* Entries of ESIZE bytes at E: offsets strictly increasing. */
static int sorted(const uint8_t *e, uint32_t count, unsigned esize)
{
    for (uint32_t i = 1; i < count; i++)
        if (rd32(e + (size_t)i * esize) <= rd32(e + (size_t)(i - 1) * esize))
            return 0;
    return 1;
}

/* Index of the last entry whose offset is <= OFF, or -1. */
static long floor_entry(const uint8_t *e, uint32_t count, unsigned esize, uint64_t off)
{
    long lo = 0, hi = (long)count - 1, found = -1;
    while (lo <= hi) {
        long mid = lo + (hi - lo) / 2;
        if (rd32(e + (size_t)mid * esize) <= off) {
            found = mid;
            lo = mid + 1;
        } else {
            hi = mid - 1;
        }
    }
    return found;
}

EJ_API ej_status ej_trap_table_open(const void *p, size_t avail, ej_trap_table *t)
{
    uint32_t count, size;
    if (!t || !header_ok(p, avail, EJ_TRAPS_MAGIC, 8, 24, &count, &size))
        return EJ_BADELF;
    const uint8_t *b = p;
    if ((uint64_t)count * 8 > size - 24 || !sorted(b + 24, count, 8))
        return EJ_BADELF;
    *t = (ej_trap_table){b, count, size, text_of(b)};
    return EJ_OK;
}

EJ_API int ej_trap_table_find(const ej_trap_table *t, uint64_t off, uint32_t *code)
{
    if (!t || off > UINT32_MAX)
        return 0;
    long i = floor_entry(t->base + 24, t->count, 8, off);
    if (i < 0 || rd32(t->base + 24 + (size_t)i * 8) != off)
        return 0;
    if (code)
        *code = rd32(t->base + 24 + (size_t)i * 8 + 4);
    return 1;
}

EJ_API ej_status ej_addr_map_open(const void *p, size_t avail, ej_addr_map *m)
{
    uint32_t count, size;
    if (!m || !header_ok(p, avail, EJ_ADDRMAP_MAGIC, 12, 32, &count, &size))
        return EJ_BADELF;
    const uint8_t *b = p;
    uint32_t nfiles = rd32(b + 24), pool = rd32(b + 28);
    uint64_t entries = 32 + (uint64_t)nfiles * 4;
    if (entries + (uint64_t)count * 12 > pool || pool > size)
        return EJ_BADELF;
    uint32_t pool_size = size - pool;
    /* The pool ends with a NUL, so every name inside it is terminated. */
    if (nfiles && (pool_size == 0 || b[size - 1] != '\0'))
        return EJ_BADELF;
    for (uint32_t f = 0; f < nfiles; f++)
        if (rd32(b + 32 + (size_t)f * 4) >= pool_size)
            return EJ_BADELF;
    const uint8_t *e = b + entries;
    for (uint32_t i = 0; i < count; i++)
        if (rd32(e + (size_t)i * 12 + 4) >= nfiles)
            return EJ_BADELF;
    if (!sorted(e, count, 12))
        return EJ_BADELF;
    *m = (ej_addr_map){b, count, nfiles, size, pool, pool_size, text_of(b)};
    return EJ_OK;
}

EJ_API int ej_addr_map_find(const ej_addr_map *m, uint64_t off, const char **file, uint32_t *line)
{
    if (!m || off > UINT32_MAX)
        return 0;
    const uint8_t *e = m->base + 32 + (size_t)m->nfiles * 4;
    long i = floor_entry(e, m->count, 12, off);
    if (i < 0)
        return 0;
    uint32_t f = rd32(e + (size_t)i * 12 + 4);
    if (file)
        *file = (const char *)m->base + m->pool + rd32(m->base + 32 + (size_t)f * 4);
    if (line)
        *line = rd32(e + (size_t)i * 12 + 8);
    return 1;
}

EJ_API const char *ej_trap_name(uint32_t code)
{
    static const char *const names[] = {
        [EJ_TRAP_UNREACHABLE] = "unreachable code",
        [EJ_TRAP_INT_DIVIDE_BY_ZERO] = "integer divide by zero",
        [EJ_TRAP_INT_OVERFLOW] = "integer overflow",
        [EJ_TRAP_OUT_OF_BOUNDS] = "out-of-bounds access",
        [EJ_TRAP_NULL_REFERENCE] = "null reference",
        [EJ_TRAP_BAD_CONVERSION] = "bad conversion to integer",
        [EJ_TRAP_STACK_OVERFLOW] = "stack overflow",
        [EJ_TRAP_BAD_SIGNATURE] = "indirect call signature mismatch",
    };
    return code < EJ_ARRAY_LEN(names) ? names[code] : NULL;
}
