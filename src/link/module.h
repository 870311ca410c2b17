/* A linked module: its code memory, exported symbols, constructor and
 * destructor lists, and registrations. */
#ifndef EJ_LINK_MODULE_H
#define EJ_LINK_MODULE_H

#include "codemem/codemem.h"
#include "elfjit/tables.h"
#include "link/linker.h"

typedef struct ej__export {
    uint64_t addr;
    uint32_t hash;
    uint32_t name;   /* offset in names, UINT32_MAX for an empty slot */
} ej__export;

/* One input array of function pointers (.init_array.N, .ctors, ...). */
typedef struct ej__fnarray {
    uint64_t addr;   /* address of the first pointer */
    uint64_t count;
    uint32_t prio;   /* lower runs first */
    uint32_t order;  /* input order, for a stable sort */
    uint8_t reverse; /* .ctors/.dtors run back to front */
} ej__fnarray;

typedef struct ej__fnlist {
    ej__fnarray *a;
    size_t n;
} ej__fnlist;

/* A function of the module, for PC lookups (pcmap.c). */
typedef struct ej__func {
    uint64_t addr, size;
    uint32_t name;   /* offset in names */
} ej__func;

/* A validated trap table or address map and the .text it describes. */
typedef struct ej__table {
    union {
        ej_trap_table traps;
        ej_addr_map map;
    } u;
    uint64_t text, text_size;
} ej__table;

struct ej_module {
    ej__err err;
    ej__codemem mem;
    uint64_t vbase, size;
    char *names;
    ej__export *exports; /* open-addressing table */
    size_t export_cap;
    ej__fnlist preinit, init, fini;
    void *dso_handle;    /* address of this module's __dso_handle */
    ej__func *funcs;     /* sorted by address */
    size_t nfuncs;
    ej__table *traps, *maps;
    size_t ntraps, nmaps;
    unsigned registration;  /* EJ_REGISTER_* asked for at link time */
    uint64_t eh_addr, eh_size; /* every .eh_frame, then a zero terminator */
    int frames_registered;
    void *frames_object;    /* libgcc's registration record, ours (frames.c) */
    void *gdb_entry;        /* GDB JIT list entry and its image (gdbjit.c) */
    int initialized;
    int registered;
};

/* Builds M's export table from the linker's global symbols. */
ej_status ej__module_exports(ej_module *m, const ej_linker *lk, ej__err *err);

/* Collects M's constructor and destructor arrays from the laid-out
 * sections, sorted in the order they run. */
ej_status ej__module_initfini(ej_module *m, const ej_linker *lk, ej__err *err);

/* Builds M's PC map: functions, trap tables, address maps (pcmap.c). */
ej_status ej__module_pcmap(ej_module *m, const ej_linker *lk, ej__err *err);

void ej__module_free_tables(ej_module *m);

/* Undoes every registration of M, newest first (module.c): GDB, the
 * unwinder, the process-wide registry.  Safe on a partly registered M. */
void ej__module_unregister(ej_module *m);

#endif
