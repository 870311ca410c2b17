/* A module's exported symbols: a compact hash table built once at link
 * time and read without locks or allocation afterwards. */
#include <stdlib.h>
#include <string.h>

#include "link/module.h"

static int exported(const ej__sym *e)
{
    return (e->kind == EJ_SK_SECTION || e->kind == EJ_SK_COMMON) &&
           e->vis != STV_HIDDEN;
}

ej_status ej__module_exports(ej_module *m, const ej_linker *lk, ej__err *err)
{
    size_t n = 0, bytes = 0;
    for (size_t i = 0; i < lk->globals.cap; i++) {
        const ej__sym *e = lk->globals.slots[i];
        if (e && exported(e)) {
            n++;
            bytes += strlen(e->name) + 1;
        }
    }
    size_t cap = 16;
    while (cap < n * 2)
        cap <<= 1;
    m->exports = malloc(cap * sizeof *m->exports);
    m->names = malloc(bytes ? bytes : 1);
    if (!m->exports || !m->names)
        return ej__fail(err, EJ_NOMEM, "out of memory for %zu exported symbols", n);
    m->export_cap = cap;
    for (size_t i = 0; i < cap; i++)
        m->exports[i].name = UINT32_MAX;
    size_t used = 0;
    for (size_t i = 0; i < lk->globals.cap; i++) {
        const ej__sym *e = lk->globals.slots[i];
        if (!e || !exported(e))
            continue;
        size_t j = e->hash & (cap - 1);
        while (m->exports[j].name != UINT32_MAX)
            j = (j + 1) & (cap - 1);
        size_t len = strlen(e->name) + 1;
        memcpy(m->names + used, e->name, len);
        m->exports[j] = (ej__export){e->value, e->hash, (uint32_t)used};
        used += len;
    }
    return EJ_OK;
}

EJ_API void *ej_module_symbol(const ej_module *m, const char *name)
{
    if (!m || !name || !m->exports)
        return NULL;
    uint32_t h = ej__sym_hash(name);
    size_t mask = m->export_cap - 1;
    for (size_t j = h & mask; m->exports[j].name != UINT32_MAX; j = (j + 1) & mask)
        if (m->exports[j].hash == h && strcmp(m->names + m->exports[j].name, name) == 0)
            return (void *)(uintptr_t)m->exports[j].addr;
    return NULL;
}

EJ_API ej_status ej_module_lookup(ej_module *m, const char *name, void **addr)
{
    if (!m || !name || !addr)
        return m ? ej__fail(&m->err, EJ_INVAL, "ej_module_lookup: NULL argument") : EJ_INVAL;
    *addr = ej_module_symbol(m, name);
    if (!*addr)
        return ej__fail(&m->err, EJ_NOTFOUND, "symbol '%s' is not defined by the module", name);
    return EJ_OK;
}
