/* A module's map from code addresses to what is there: its functions
 * (every STT_FUNC of the loaded sections, local ones included, sorted by
 * address), and the trap tables and address maps its objects carry
 * (elfjit/tables.h), validated once at link time.  Built once, never
 * changed afterwards, so lookups need no lock and no allocation: a signal
 * handler reads it (through the process-wide registry). */
#include <stdlib.h>
#include <string.h>

#include "link/module.h"
#include "runtime/registry.h"

static int func_order(const void *a, const void *b)
{
    const ej__func *x = a, *y = b;
    return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static int is_func(const ej__lobj *lo, size_t i)
{
    return ELF64_ST_TYPE(lo->o->syms[i].st_info) == STT_FUNC && ej__sym_loaded(lo, i);
}

static ej_status collect_functions(ej_module *m, const ej_linker *lk, ej__err *err)
{
    size_t n = 0;
    for (size_t o = 0; o < lk->nobjs; o++)
        for (size_t i = 1; i < lk->objs[o].o->nsyms; i++)
            n += is_func(&lk->objs[o], i);
    if (!n)
        return EJ_OK;
    if (!(m->img.funcs = malloc(n * sizeof *m->img.funcs)))
        return ej__fail(err, EJ_NOMEM, "out of memory for %zu function entries", n);
    int sorted = 1;
    uint64_t last = 0;
    for (size_t o = 0; o < lk->nobjs; o++) {
        const ej__lobj *lo = &lk->objs[o];
        const ej__object *obj = lo->o;
        for (size_t i = 1; i < obj->nsyms; i++) {
            if (!is_func(lo, i))
                continue;
            const Elf64_Sym *s = &obj->syms[i];
            ej__func *f = &m->img.funcs[m->img.nfuncs++];
            f->addr = ej__vaddr(lk, lo->sec[ej__object_sym_shndx(obj, i)].off) + s->st_value;
            f->size = s->st_size;
            f->name = (uint32_t)(lo->names_base + s->st_name);
            sorted &= last <= f->addr;
            last = f->addr;
        }
    }
    /* Symbol tables usually list a section's functions in address order,
     * and sections are laid out in input order: sort only when needed. */
    if (!sorted)
        qsort(m->img.funcs, m->img.nfuncs, sizeof *m->img.funcs, func_order);
    return EJ_OK;
}

/* The size of OBJ's section named .text (0 when it has none loaded). */
static uint64_t text_size(const ej__lobj *lo)
{
    const ej__object *obj = lo->o;
    for (size_t i = 1; i < obj->shnum; i++)
        if (strcmp(obj->sec[i].name, ".text") == 0 && ej__sec_loaded(lo, i))
            return obj->sec[i].size;
    return 0;
}

/* Validates the table in section I of OBJ and records it. */
static ej_status add_table(ej_module *m, const ej__lobj *lo, size_t i, int traps,
                           ej__err *err)
{
    const ej__object *obj = lo->o;
    const uint8_t *at = ej__codemem_bytes(&m->mem, lo->sec[i].off);
    /* Read where the image stays readable (the published image; a
     * link-only image's copy); the text address is the running one. */
    int64_t shift = m->mem.link_only
                        ? (int64_t)(m->img.vbase - (uint64_t)(uintptr_t)ej__codemem_view(&m->mem))
                        : 0;
    ej__table *t = traps ? &m->img.traps[m->img.ntraps] : &m->img.maps[m->img.nmaps];
    ej_status st = traps ? ej_trap_table_open(at, obj->sec[i].size, &t->u.traps)
                         : ej_addr_map_open(at, obj->sec[i].size, &t->u.map);
    if (st != EJ_OK)
        return ej__fail(err, EJ_BADELF, "%s: %s: malformed %s", obj->name, obj->sec[i].name,
                        traps ? "trap table" : "address map");
    t->text = (traps ? t->u.traps.text : t->u.map.text) + (uint64_t)shift;
    t->text_size = text_size(lo);
    if (traps)
        m->img.ntraps++;
    else
        m->img.nmaps++;
    return EJ_OK;
}

static ej_status collect_tables(ej_module *m, const ej_linker *lk, ej__err *err)
{
    size_t ntraps = 0, nmaps = 0;
    for (size_t o = 0; o < lk->nobjs; o++)
        for (size_t i = 1; i < lk->objs[o].o->shnum; i++) {
            const ej__section *s = &lk->objs[o].o->sec[i];
            if (!ej__sec_loaded(&lk->objs[o], i) || s->shdr.sh_type != SHT_PROGBITS)
                continue;
            ntraps += strcmp(s->name, EJ_TRAPS_SECTION) == 0;
            nmaps += strcmp(s->name, EJ_ADDRMAP_SECTION) == 0;
        }
    if ((ntraps && !(m->img.traps = calloc(ntraps, sizeof *m->img.traps))) ||
        (nmaps && !(m->img.maps = calloc(nmaps, sizeof *m->img.maps))))
        return ej__fail(err, EJ_NOMEM, "out of memory for trap tables");
    for (size_t o = 0; o < lk->nobjs; o++)
        for (size_t i = 1; i < lk->objs[o].o->shnum; i++) {
            const ej__section *s = &lk->objs[o].o->sec[i];
            if (!ej__sec_loaded(&lk->objs[o], i) || s->shdr.sh_type != SHT_PROGBITS)
                continue;
            int traps = strcmp(s->name, EJ_TRAPS_SECTION) == 0;
            if (!traps && strcmp(s->name, EJ_ADDRMAP_SECTION) != 0)
                continue;
            ej_status st = add_table(m, &lk->objs[o], i, traps, err);
            if (st != EJ_OK)
                return st;
        }
    return EJ_OK;
}

ej_status ej__module_pcmap(ej_module *m, const ej_linker *lk, ej__err *err)
{
    ej_status st = collect_functions(m, lk, err);
    return st == EJ_OK ? collect_tables(m, lk, err) : st;
}

/* The table of N whose text holds PC, or NULL. */
static const ej__table *table_for(const ej__table *t, size_t n, uint64_t pc)
{
    for (size_t i = 0; i < n; i++)
        if (pc >= t[i].text && pc - t[i].text < t[i].text_size)
            return &t[i];
    return NULL;
}

EJ_API int ej_module_lookup_pc(const ej_module *m, uint64_t pc, ej_pc_info *out)
{
    if (!m || !out || pc < m->img.vbase || pc - m->img.vbase >= m->img.size)
        return 0;
    memset(out, 0, sizeof *out);
    out->module = (ej_module *)(uintptr_t)m;
    size_t lo = 0, hi = m->img.nfuncs;
    while (lo < hi) { /* first function starting after PC */
        size_t mid = lo + (hi - lo) / 2;
        if (m->img.funcs[mid].addr <= pc)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo > 0) {
        const ej__func *f = &m->img.funcs[lo - 1];
        if (pc - f->addr < (f->size ? f->size : 1)) {
            out->function = m->img.names + f->name;
            out->function_addr = f->addr;
            out->offset = pc - f->addr;
        }
    }
    const ej__table *t = table_for(m->img.traps, m->img.ntraps, pc);
    if (t)
        out->has_trap = ej_trap_table_find(&t->u.traps, pc - t->text, &out->trap_code);
    t = table_for(m->img.maps, m->img.nmaps, pc);
    if (t)
        ej_addr_map_find(&t->u.map, pc - t->text, &out->file, &out->line);
    return 1;
}

typedef struct visit_ctx {
    uint64_t pc;
    ej_pc_info *out;
    int found;
} visit_ctx;

static void visit(void *ctx, const ej__range *r)
{
    visit_ctx *v = ctx;
    v->found = ej_module_lookup_pc(r->m, v->pc, v->out);
}

EJ_API int ej_lookup_pc(uint64_t pc, ej_pc_info *out)
{
    if (!out)
        return 0;
    visit_ctx v = {pc, out, 0};
    return ej__registry_visit(pc, visit, &v) && v.found;
}
