/* elfjit's trap tables and address maps: the binary format, and an
 * allocation-free reader.
 *
 * A compiler that uses the builder (elfjit/builder.h) records, per
 * function, the code offsets where a trap may happen (with a trap code of
 * its own choosing) and the source position of code offsets.  The builder
 * writes them into two sections of the image, which are loaded (read-only)
 * with the code:
 *
 *   elfjit_traps    trap sites            (one table per object)
 *   elfjit_addrmap  code offset -> source (one table per object)
 *
 * The names are C identifiers, so a normal link of such objects also
 * gives __start_elfjit_traps / __stop_elfjit_traps around the tables, laid
 * end to end; each table says how long it is.
 *
 * Format (little-endian, every field naturally aligned, tables 8-aligned):
 *
 *   elfjit_traps                         elfjit_addrmap
 *   +0  u32 magic  "EJTR" 0x52544a45     +0  u32 magic  "EJAM" 0x4d414a45
 *   +4  u16 version (1)                  +4  u16 version (1)
 *   +6  u16 entry size (8)               +6  u16 entry size (12)
 *   +8  u32 count                        +8  u32 count
 *   +12 u32 table size in bytes          +12 u32 table size in bytes
 *   +16 i32 text: the object's .text,    +16 i32 text (as for traps)
 *           relative to this field (a    +20 u32 0
 *           PC-relative relocation       +24 u32 number of files
 *           fills it in, so the table    +28 u32 offset of the string pool
 *           needs no dynamic relocation           from the table's start
 *           in a normal link)
 *   +20 u32 0
 *   +24 entries[count]:                  +32 u32 files[nfiles]: offset of
 *        u32 offset in .text                     each name in the pool
 *        u32 trap code                   then entries[count]:
 *                                             u32 offset in .text
 *                                             u32 file index
 *                                             u32 line (0: unknown)
 *                                        then the string pool (NUL-ended
 *                                        names)
 *
 * Entries are sorted by offset, offsets unique.  A trap entry applies to
 * exactly its offset (the faulting instruction); an address-map entry
 * applies from its offset up to the next entry's.
 *
 * Reading: every function here is allocation-free, lock-free and
 * async-signal-safe; a table is validated once by ej_*_open, after which
 * lookups are a binary search.  Thread-safe on distinct or shared tables.
 */
#ifndef ELFJIT_TABLES_H
#define ELFJIT_TABLES_H

#include <stddef.h>
#include <stdint.h>

#include "elfjit/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define EJ_TRAPS_MAGIC 0x52544a45u
#define EJ_ADDRMAP_MAGIC 0x4d414a45u
#define EJ_TABLES_VERSION 1
#define EJ_TRAPS_SECTION "elfjit_traps"
#define EJ_ADDRMAP_SECTION "elfjit_addrmap"

/* Trap codes with a conventional meaning (those of WebAssembly-style
 * runtimes); an embedder may use them or any code of its own from
 * EJ_TRAP_USER on.  ej_trap_name names them. */
typedef enum ej_trap_code {
    EJ_TRAP_UNREACHABLE = 1,      /* code that must never run */
    EJ_TRAP_INT_DIVIDE_BY_ZERO = 2,
    EJ_TRAP_INT_OVERFLOW = 3,
    EJ_TRAP_OUT_OF_BOUNDS = 4,    /* memory or table access out of bounds */
    EJ_TRAP_NULL_REFERENCE = 5,
    EJ_TRAP_BAD_CONVERSION = 6,   /* float to int out of range */
    EJ_TRAP_STACK_OVERFLOW = 7,
    EJ_TRAP_BAD_SIGNATURE = 8,    /* indirect call type mismatch */
    EJ_TRAP_USER = 256
} ej_trap_code;

/* "integer divide by zero", ... for a conventional CODE, NULL otherwise.
 * Async-signal-safe. */
const char *ej_trap_name(uint32_t code);

/* A validated table: a view of bytes the caller keeps alive. */
typedef struct ej_trap_table {
    const uint8_t *base;
    uint32_t count;
    uint32_t size;
    uint64_t text;
} ej_trap_table;

typedef struct ej_addr_map {
    const uint8_t *base;
    uint32_t count, nfiles;
    uint32_t size;
    uint32_t pool, pool_size;
    uint64_t text;
} ej_addr_map;

/* Checks the trap table at P (AVAIL bytes readable) and fills *T (whose
 * text address is computed from P: read the table where it was loaded, or
 * add the difference between the two addresses to T->text): magic,
 * version, entry size, that count entries fit in the table size and the
 * table in AVAIL, and that offsets are strictly increasing.  EJ_BADELF
 * when any check fails (nothing else is said: there is no handle). */
ej_status ej_trap_table_open(const void *p, size_t avail, ej_trap_table *t);

/* The trap code of the site at text offset OFF: 1 and *CODE when there is
 * one, 0 otherwise. */
int ej_trap_table_find(const ej_trap_table *t, uint64_t off, uint32_t *code);

/* As ej_trap_table_open for an address map; also checks that every file
 * name and the pool lie inside the table, names are NUL-terminated and
 * entries name existing files. */
ej_status ej_addr_map_open(const void *p, size_t avail, ej_addr_map *m);

/* The source position of text offset OFF: 1, *FILE (a string inside the
 * table) and *LINE when an entry covers it, 0 otherwise. */
int ej_addr_map_find(const ej_addr_map *m, uint64_t off, const char **file, uint32_t *line);

#ifdef __cplusplus
}
#endif

#endif /* ELFJIT_TABLES_H */
