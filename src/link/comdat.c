/* COMDAT groups: the first object to bring a group signature keeps its
 * members; the same group in later objects is discarded, as a system
 * linker does for inline functions and template instances. */
#include <string.h>

#include "link/linker.h"

static const char *group_signature(const ej__object *obj, const ej__section *g)
{
    return ej__object_sym_name(obj, g->shdr.sh_info);
}

static void discard_members(ej__lobj *lo, const ej__section *g)
{
    const Elf32_Word *w = (const Elf32_Word *)g->data;
    size_t n = (size_t)(g->size / sizeof *w);
    for (size_t k = 1; k < n; k++)
        lo->sec[w[k]].discarded = 1;
}

ej_status ej__comdat_select(ej_linker *lk)
{
    ej__symtab seen;
    ej_status st = EJ_OK;
    if (ej__symtab_init(&seen, 16) != EJ_OK)
        return ej__fail(&lk->err, EJ_NOMEM, "out of memory selecting COMDAT groups");
    for (size_t o = 0; o < lk->nobjs && st == EJ_OK; o++) {
        ej__lobj *lo = &lk->objs[o];
        ej__object *obj = lo->o;
        for (size_t i = 1; i < obj->shnum; i++) {
            const ej__section *g = &obj->sec[i];
            if (g->shdr.sh_type != SHT_GROUP || !(((const Elf32_Word *)g->data)[0] & GRP_COMDAT))
                continue;
            const char *sig = group_signature(obj, g);
            int oom = 0;
            ej__sym *e = ej__symtab_get(&seen, sig, ej__sym_hash(sig), 1, &oom);
            if (!e) {
                st = ej__fail(&lk->err, EJ_NOMEM, "out of memory selecting COMDAT groups");
                break;
            }
            if (e->obj && e->obj != lo)
                discard_members(lo, g);
            else
                e->obj = lo;
        }
    }
    ej__symtab_free(&seen);
    return st;
}
