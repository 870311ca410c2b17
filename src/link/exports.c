/* A module's exported symbols: a compact hash table built once at link
 * time and read without locks or allocation afterwards. */
#include <stdlib.h>
#include <string.h>

#include "link/module.h"
#include "tls/tlsmod.h"

static int exported(const ej__sym *e)
{
    return (e->kind == EJ_SK_SECTION || e->kind == EJ_SK_COMMON) &&
           e->vis != STV_HIDDEN;
}

/* The names are copied as whole string tables, one memcpy per object,
 * rather than name by name: exported names point into those copies,
 * which follow the export table in its block (one allocation, not two,
 * per module: a million of them may be live). */
static size_t names_size(const ej_linker *lk)
{
    size_t bytes = 0;
    for (size_t o = 0; o < lk->nobjs; o++) {
        lk->objs[o].names_base = bytes;
        bytes += lk->objs[o].o->strtab_size;
    }
    return bytes;
}

static void copy_names(char *names, const ej_linker *lk)
{
    for (size_t o = 0; o < lk->nobjs; o++)
        if (lk->objs[o].o->strtab_size)
            memcpy(names + lk->objs[o].names_base, lk->objs[o].o->strtab,
                   lk->objs[o].o->strtab_size);
}

ej_status ej__module_exports(ej_module *m, const ej_linker *lk, ej__err *err)
{
    size_t n = 0;
    ej__symtab_iter it = ej__symtab_begin(&lk->globals);
    for (const ej__sym *e; (e = ej__symtab_next(&it));)
        n += exported(e);
    /* Open addressing at most 2/3 full: 4 slots for a one-function module
     * (a million of them live at once in a JIT). */
    size_t cap = 4;
    while (cap < n + n / 2 + 1)
        cap <<= 1;
    size_t bytes = names_size(lk);
    m->img.exports = malloc(cap * sizeof *m->img.exports + bytes);
    if (!m->img.exports)
        return ej__fail(err, EJ_NOMEM, "out of memory for %zu exported symbols and %zu bytes "
                        "of their names", n, bytes);
    m->img.export_cap = cap;
    m->img.names = (char *)(m->img.exports + cap);
    for (size_t i = 0; i < cap; i++)
        m->img.exports[i].name = UINT32_MAX;
    copy_names(m->img.names, lk);
    it = ej__symtab_begin(&lk->globals);
    for (const ej__sym *e; (e = ej__symtab_next(&it));) {
        if (!exported(e))
            continue;
        size_t j = e->hash & (cap - 1);
        while (m->img.exports[j].name != UINT32_MAX)
            j = (j + 1) & (cap - 1);
        size_t off = e->obj->names_base + (size_t)(e->name - e->obj->o->strtab);
        uint64_t addr = e->kind == EJ_SK_SECTION && e->obj->sec[e->shndx].cls == EJ_CLS_TLS
                            ? EJ__EXPORT_TLS | e->value
                            : e->value;
        m->img.exports[j] = (ej__export){addr, e->hash, (uint32_t)off};
    }
    return EJ_OK;
}

/* A thread-local variable's address is the calling thread's copy (as
 * dlsym answers): the C library allocates it on this thread's first use. */
static void *export_address(const ej_module *m, uint64_t addr)
{
    if (!(addr & EJ__EXPORT_TLS))
        return (void *)(uintptr_t)addr;
    char *block = ej__tls_module_block(m->tls);
    return block ? block + (addr & ~EJ__EXPORT_TLS) : NULL;
}

EJ_API void *ej_module_symbol(const ej_module *m, const char *name)
{
    if (!m || !name || !m->img.exports)
        return NULL;
    ej__register_flush(); /* the address may be called next */
    uint32_t h = ej__sym_hash(name);
    size_t mask = m->img.export_cap - 1;
    for (size_t j = h & mask; m->img.exports[j].name != UINT32_MAX; j = (j + 1) & mask)
        if (m->img.exports[j].hash == h && strcmp(m->img.names + m->img.exports[j].name, name) == 0)
            return export_address(m, m->img.exports[j].addr);
    return NULL;
}

EJ_API ej_status ej_module_lookup(ej_module *m, const char *name, void **addr)
{
    if (!m || !name || !addr)
        return m ? ej__fail(ej__module_err(m), EJ_INVAL, "ej_module_lookup: NULL argument") : EJ_INVAL;
    *addr = ej_module_symbol(m, name);
    if (!*addr)
        return ej__fail(ej__module_err(m), EJ_NOTFOUND, "symbol '%s' is not defined by the module", name);
    return EJ_OK;
}
