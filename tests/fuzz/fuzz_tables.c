/* fuzz_tables: the trap-table and address-map readers of
 * elfjit/tables.h (src/runtime/tables.c) on arbitrary bytes.
 *
 * The whole input is offered to ej_trap_table_open and to
 * ej_addr_map_open (AVAIL = its size; libFuzzer's copy is exactly that
 * large, so any read past it is an ASan finding).  When a table is
 * accepted, every entry is looked up again through the _find functions,
 * next to the offsets around it, and the answers are checked against the
 * entries themselves: the code of a trap site, the file (a NUL-terminated
 * string inside the table's pool) and line of a position. */
#include <string.h>

#include "elfjit/tables.h"
#include "fuzz.h"

static uint32_t rd32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static void traps(const uint8_t *data, size_t size)
{
    ej_trap_table t;
    if (ej_trap_table_open(data, size, &t) != EJ_OK)
        return;
    EJF_CHECK(t.base == data && t.size <= size && t.size >= 24 &&
                  (uint64_t)t.count * 8 <= t.size - 24,
              "trap table accepted with count %u, size %u in %zu bytes", t.count, t.size, size);
    for (uint32_t i = 0; i < t.count; i++) {
        const uint8_t *e = data + 24 + (size_t)i * 8;
        uint32_t off = rd32(e), code = 0;
        EJF_CHECK(ej_trap_table_find(&t, off, &code) == 1 && code == rd32(e + 4),
                  "trap entry %u (offset 0x%x) not found with its code", i, off);
        EJF_CHECK(ej_trap_table_find(&t, off, NULL) == 1, "trap entry %u: no code wanted", i);
        (void)ej_trap_name(code);
        uint32_t next = i + 1 < t.count ? rd32(e + 8) : UINT32_MAX;
        if ((uint64_t)off + 1 < next)
            EJF_CHECK(ej_trap_table_find(&t, off + 1u, &code) == 0,
                      "a trap found at 0x%x, after entry %u", off + 1u, i);
        if (i == 0 && off > 0)
            EJF_CHECK(ej_trap_table_find(&t, off - 1u, &code) == 0,
                      "a trap found at 0x%x, before the first entry", off - 1u);
    }
    uint32_t code;
    EJF_CHECK(ej_trap_table_find(&t, (uint64_t)UINT32_MAX + 1, &code) == 0,
              "a trap found past 4 GiB");
    EJF_CHECK(ej_trap_table_find(NULL, 0, &code) == 0, "a trap found in no table");
}

static void addrmap(const uint8_t *data, size_t size)
{
    ej_addr_map m;
    if (ej_addr_map_open(data, size, &m) != EJ_OK)
        return;
    EJF_CHECK(m.base == data && m.size <= size && m.pool <= m.size &&
                  m.pool_size == m.size - m.pool,
              "address map accepted with size %u, pool %u+%u in %zu bytes", m.size, m.pool,
              m.pool_size, size);
    const uint8_t *ents = data + 32 + (size_t)m.nfiles * 4;
    EJF_CHECK((uint64_t)32 + (uint64_t)m.nfiles * 4 + (uint64_t)m.count * 12 <= m.pool,
              "address map entries overlap its pool");
    for (uint32_t i = 0; i < m.count; i++) {
        const uint8_t *e = ents + (size_t)i * 12;
        uint32_t off = rd32(e), line = 0;
        const char *file = NULL;
        EJF_CHECK(ej_addr_map_find(&m, off, &file, &line) == 1,
                  "address map entry %u (offset 0x%x) not found", i, off);
        EJF_CHECK(line == rd32(e + 8), "entry %u: line %u, not %u", i, line, rd32(e + 8));
        const char *pool = (const char *)data + m.pool;
        EJF_CHECK(file >= pool && file < pool + m.pool_size,
                  "entry %u: its file name is outside the pool", i);
        size_t room = (size_t)(pool + m.pool_size - file);
        EJF_CHECK(memchr(file, '\0', room) != NULL, "entry %u: an unterminated file name", i);
        EJF_CHECK(ej_addr_map_find(&m, off, NULL, NULL) == 1, "entry %u: nothing wanted", i);
        if (i == 0 && off > 0)
            EJF_CHECK(ej_addr_map_find(&m, off - 1u, &file, &line) == 0,
                      "a position found at 0x%x, before the first entry", off - 1u);
        /* An entry covers up to the next one. */
        uint32_t next = i + 1 < m.count ? rd32(e + 12) : UINT32_MAX;
        if ((uint64_t)off + 1 < next) {
            uint32_t l2 = 0;
            EJF_CHECK(ej_addr_map_find(&m, next - 1u, NULL, &l2) == 1 && l2 == line,
                      "entry %u does not cover 0x%x", i, next - 1u);
        }
    }
    const char *file;
    uint32_t line;
    EJF_CHECK(ej_addr_map_find(&m, (uint64_t)UINT32_MAX + 1, &file, &line) == 0,
              "a position found past 4 GiB");
    EJF_CHECK(ej_addr_map_find(NULL, 0, &file, &line) == 0, "a position found in no map");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    traps(data, size);
    addrmap(data, size);
    /* The table readers also take a NULL table or too few bytes. */
    ej_trap_table t;
    ej_addr_map m;
    EJF_CHECK(ej_trap_table_open(NULL, size, &t) == EJ_BADELF, "NULL trap table accepted");
    EJF_CHECK(ej_addr_map_open(NULL, size, &m) == EJ_BADELF, "NULL address map accepted");
    if (size >= 4) {
        uint32_t c = rd32(data);
        const char *n = ej_trap_name(c);
        if (n)
            (void)strlen(n);
    }
    return 0;
}
