/* Thin archives (`ar rcT`): an archive that stores only its symbol index
 * and its members' names, the members staying separate files named
 * relative to the archive.  libelf does not read them, so this reads the
 * ar headers itself: "!<thin>\n", then 60-byte headers (name, ..., size,
 * "`\n"); the index "/" (a big-endian count, the members' header offsets,
 * the names) and the long-name table "//" are stored, every other member
 * names its file ("/N": at offset N of the table, ending in "/\n") and
 * stores nothing.  Every offset and size is checked against the file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "elf/archive.h"

enum { HDR = 60, NAME = 16, SIZE_AT = 48, SIZE_LEN = 10 };

static ej_status bad(ej__archive *a, uint64_t at, const char *why, ej__err *err)
{
    return ej__fail(err, EJ_BADELF, "%s: thin archive, header at 0x%llx: %s", a->path,
                    (unsigned long long)at, why);
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The index "/": COUNT offsets, then COUNT names. */
static ej_status read_index(ej__archive *a, const uint8_t *d, uint64_t n, ej__err *err)
{
    if (n < 4)
        return ej__fail(err, EJ_BADELF, "%s: a truncated symbol index", a->path);
    uint64_t count = be32(d);
    if (count > (n - 4) / 4)
        return ej__fail(err, EJ_BADELF, "%s: the symbol index counts %llu names in %llu bytes",
                        a->path, (unsigned long long)count, (unsigned long long)n);
    a->owned_index = calloc(count ? count : 1, sizeof *a->owned_index);
    if (!a->owned_index)
        return ej__fail(err, EJ_NOMEM, "%s: out of memory for its symbol index", a->path);
    const char *names = (const char *)d + 4 + 4 * count, *end = (const char *)d + n;
    for (uint64_t i = 0; i < count; i++) {
        size_t len = strnlen(names, (size_t)(end - names));
        if (names + len >= end)
            return ej__fail(err, EJ_BADELF, "%s: the symbol index's names run past it", a->path);
        a->owned_index[i] = (ej__arsym){names, be32(d + 4 + 4 * i)};
        names += len + 1;
    }
    a->index = a->owned_index;
    a->nindex = (size_t)count;
    return EJ_OK;
}

static ej_status add_member(ej__archive *a, uint64_t off, const char *table, uint64_t table_len,
                            const uint8_t *h, ej__err *err)
{
    char *name = NULL;
    if (h[0] == '/' && h[1] >= '0' && h[1] <= '9') {
        uint64_t at = strtoull((const char *)h + 1, NULL, 10);
        if (!table || at >= table_len)
            return bad(a, off, "its name is outside the long-name table", err);
        const char *s = table + at, *e = memchr(s, '\n', (size_t)(table_len - at));
        size_t len = e ? (size_t)(e - s) : 0;
        if (!len || s[len - 1] != '/')
            return bad(a, off, "its name in the long-name table does not end in \"/\\n\"", err);
        name = strndup(s, len - 1);
    } else {
        const char *slash = memchr(h, '/', NAME);
        name = strndup((const char *)h, slash ? (size_t)(slash - (const char *)h) : NAME);
    }
    void *v = name ? realloc(a->thin, (a->nthin + 1) * sizeof *a->thin) : NULL;
    if (!v) {
        free(name);
        return ej__fail(err, EJ_NOMEM, "%s: out of memory", a->path);
    }
    a->thin = v;
    a->thin[a->nthin++] = (ej__thin_member){off, name};
    return EJ_OK;
}

ej_status ej__thin_read(ej__archive *a, ej__err *err)
{
    const char *table = NULL;
    uint64_t table_len = 0;
    const uint8_t *index = NULL;
    uint64_t index_len = 0;
    for (uint64_t at = 8; at < a->len;) {
        if (a->len - at < HDR || memcmp(a->image + at + 58, "`\n", 2) != 0)
            return bad(a, at, "not an ar header", err);
        const uint8_t *h = a->image + at;
        char size_text[SIZE_LEN + 1];
        memcpy(size_text, h + SIZE_AT, SIZE_LEN);
        size_text[SIZE_LEN] = '\0';
        uint64_t size = strtoull(size_text, NULL, 10);
        int is_index = h[0] == '/' && h[1] == ' ', is_table = h[0] == '/' && h[1] == '/';
        if ((is_index || is_table) && size > a->len - at - HDR)
            return bad(a, at, "its contents run past the file", err);
        if (is_index) {
            index = h + HDR;
            index_len = size;
        } else if (is_table) {
            table = (const char *)h + HDR;
            table_len = size;
        } else {
            ej_status st = add_member(a, at, table, table_len, h, err);
            if (st != EJ_OK)
                return st;
        }
        /* Only the index and the name table are stored; members are not. */
        at += HDR + ((is_index || is_table) ? size + (size & 1) : 0);
    }
    if (!index)
        return ej__fail(err, EJ_UNSUPPORTED, "%s: a thin archive without a symbol index (run "
                        "ranlib on it)", a->path);
    return read_index(a, index, index_len, err);
}
