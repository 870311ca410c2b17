/* Symbol resolution: every symbol reference of every object is bound to
 * one definition — in an object, synthesised by the loader, or found in
 * the host (resolver, -l libraries, the process, libm).  Locals stay local
 * to their object; same-named statics in several objects never meet. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "link/archives.h"
#include "link/synth.h"

static int is_defined_kind(uint8_t kind)
{
    return kind == EJ_SK_SECTION || kind == EJ_SK_ABS || kind == EJ_SK_COMMON;
}

/* Fills a symbol entry from definition I of OBJ. */
static void take_definition(ej__sym *e, ej__lobj *lo, size_t i)
{
    const ej__object *obj = lo->o;
    const Elf64_Sym *s = &obj->syms[i];
    uint32_t shndx = ej__object_sym_shndx(obj, i);
    /* The same string, but inside the defining object's string table,
     * which the module's export table copies (exports.c). */
    e->name = obj->strtab + s->st_name;
    e->obj = lo;
    e->shndx = shndx;
    e->bind = ELF64_ST_BIND(s->st_info);
    e->type = ELF64_ST_TYPE(s->st_info);
    e->size = s->st_size;
    e->value = s->st_value;
    if (shndx == SHN_ABS)
        e->kind = EJ_SK_ABS;
    else if (shndx == SHN_COMMON) {
        e->kind = EJ_SK_COMMON;
        e->value = s->st_value ? s->st_value : 1; /* alignment, until layout */
    } else
        e->kind = EJ_SK_SECTION;
}

static ej_status duplicate(ej_linker *lk, const ej__sym *e, const ej__object *obj,
                           size_t i)
{
    uint32_t shndx = ej__object_sym_shndx(obj, i);
    return ej__fail(&lk->err, EJ_DUPLICATE,
                    "duplicate definition of '%s': in %s (%s) and in %s (%s)",
                    e->name, e->obj->o->name,
                    e->shndx < e->obj->o->shnum ? e->obj->o->sec[e->shndx].name : "ABS",
                    obj->name, shndx < obj->shnum ? obj->sec[shndx].name : "ABS");
}

/* Merges definition I of OBJ into global E following the usual rules:
 * strong beats weak and common, common beats weak, two commons take the
 * larger size and alignment, two strong definitions are an error (except
 * STB_GNU_UNIQUE, where the first wins). */
static ej_status merge_definition(ej_linker *lk, ej__sym *e, ej__lobj *lo, size_t i)
{
    const ej__object *obj = lo->o;
    const Elf64_Sym *s = &obj->syms[i];
    unsigned bind = ELF64_ST_BIND(s->st_info);
    int is_common = ej__object_sym_shndx(obj, i) == SHN_COMMON;
    if (!is_defined_kind(e->kind)) {
        take_definition(e, lo, i);
        return EJ_OK;
    }
    if (is_common) {
        if (e->kind == EJ_SK_COMMON) {
            uint64_t align = s->st_value ? s->st_value : 1;
            e->size = s->st_size > e->size ? s->st_size : e->size;
            e->value = align > e->value ? align : e->value;
        } else if (e->bind == STB_WEAK) {
            take_definition(e, lo, i);
        }
        return EJ_OK;
    }
    if (bind == STB_WEAK)
        return EJ_OK;
    if (e->kind == EJ_SK_COMMON || e->bind == STB_WEAK) {
        take_definition(e, lo, i);
        return EJ_OK;
    }
    if (bind == STB_GNU_UNIQUE && e->bind == STB_GNU_UNIQUE)
        return EJ_OK;
    return duplicate(lk, e, obj, i);
}

static void note_reference(ej__sym *e, unsigned bind)
{
    if (bind != STB_WEAK)
        e->strong_ref = 1;
}

static ej_status bind_global(ej_linker *lk, ej__lobj *lo, size_t i)
{
    const ej__object *obj = lo->o;
    const Elf64_Sym *s = &obj->syms[i];
    const char *name = obj->strtab + s->st_name;
    uint32_t shndx = ej__object_sym_shndx(obj, i);
    int oom = 0;
    ej__sym *e = ej__symtab_get(&lk->globals, name, ej__sym_hash(name), 1, &oom);
    if (!e)
        return ej__fail(&lk->err, EJ_NOMEM, "%s: out of memory binding '%s'", obj->name, name);
    lo->symp[i] = e;
    unsigned vis = ELF64_ST_VISIBILITY(s->st_other);
    if (vis == STV_HIDDEN || vis == STV_INTERNAL)
        e->vis = STV_HIDDEN;
    else if (vis == STV_PROTECTED && e->vis == STV_DEFAULT)
        e->vis = STV_PROTECTED;
    /* A definition in a discarded COMDAT member is a reference to the copy
     * that was kept. */
    int discarded = shndx < obj->shnum && shndx != SHN_UNDEF && lo->sec[shndx].discarded;
    if (shndx == SHN_UNDEF || discarded) {
        note_reference(e, ELF64_ST_BIND(s->st_info));
        if (e->kind == EJ_SK_UNDEF && ELF64_ST_TYPE(s->st_info) == STT_TLS)
            e->type = STT_TLS; /* what resolve_undefined must not look up */
        return EJ_OK;
    }
    return merge_definition(lk, e, lo, i);
}

void ej__describe_local(ej__lobj *lo, size_t i, ej__sym *l)
{
    const ej__object *obj = lo->o;
    memset(l, 0, sizeof *l);
    take_definition(l, lo, i);
    l->name = ej__object_sym_name(obj, i);
    if (l->kind == EJ_SK_SECTION && lo->sec[l->shndx].discarded)
        l->kind = EJ_SK_DISCARDED;
    else if (ej__object_sym_shndx(obj, i) == SHN_UNDEF)
        l->kind = EJ_SK_UNDEF;
}

/* Globals are bound to their shared entry now; locals stay NULL in symp
 * and are computed from the symbol table where they are used, unless one
 * needs a GOT slot (scan.c gives it an entry then).  Most symbols of an
 * object are locals, so this saves an entry per local. */
static uint8_t local_is_plain(const ej__lobj *lo, size_t i)
{
    const ej__object *obj = lo->o;
    uint32_t shndx = ej__object_sym_shndx(obj, i);
    unsigned type = ELF64_ST_TYPE(obj->syms[i].st_info);
    return type != STT_TLS && type != STT_GNU_IFUNC && shndx != SHN_UNDEF &&
           shndx < obj->shnum && ej__sec_loaded(lo, shndx);
}

static ej_status bind_object(ej_linker *lk, ej__lobj *lo)
{
    const ej__object *obj = lo->o;
    size_t n = obj->nsyms ? obj->nsyms : 1;
    lo->symp = calloc(n, sizeof *lo->symp);
    lo->lplain = calloc(n, sizeof *lo->lplain);
    lo->lvalue = malloc(n * sizeof *lo->lvalue);
    if (!lo->symp || !lo->lplain || !lo->lvalue)
        return ej__fail(&lk->err, EJ_NOMEM, "%s: out of memory for %zu symbols",
                        obj->name, obj->nsyms);
    /* Symbol 0 stands for "no symbol": an absolute zero, shared. */
    if (obj->nsyms)
        lo->symp[0] = &lk->null_sym;
    for (size_t i = 1; i < obj->nsyms; i++) {
        ej_status st;
        if (ELF64_ST_BIND(obj->syms[i].st_info) == STB_LOCAL)
            lo->lplain[i] = local_is_plain(lo, i);
        else if ((st = bind_global(lk, lo, i)) != EJ_OK)
            return st;
    }
    return EJ_OK;
}

void ej__first_reference(const ej__sym *e, const ej__lobj *lo, char *buf, size_t len)
{
    const ej__object *obj = lo->o;
    snprintf(buf, len, "%s", obj->name);
    for (size_t r = 1; r < obj->shnum; r++) {
        if (obj->sec[r].shdr.sh_type != SHT_RELA || !ej__sec_loaded(lo, obj->sec[r].shdr.sh_info))
            continue;
        size_t n;
        const Elf64_Rela *rel = ej__object_relas(obj, r, &n);
        for (size_t k = 0; k < n; k++)
            if (lo->symp[ELF64_R_SYM(rel[k].r_info)] == e) {
                ej__site_name(obj, r, &rel[k], buf, len);
                return;
            }
    }
}

/* OBJ is the first object that names E (it only refers to it). */
static ej_status resolve_undefined(ej_linker *lk, ej__sym *e, const ej__lobj *lo)
{
    if (ej__synth_bind(lk, e))
        return EJ_OK;
    /* Another module's thread-local variable: the C library binds the
     * name itself when the TLS block is loaded (src/tls) and reports it
     * undefined then.  Looking it up here (dlsym) would allocate this
     * thread's copy, which makes that module's TLS dynamic for good, and
     * initial-exec code could no longer reach it. */
    if (e->type == STT_TLS) {
        /* (The compiler runtime's own thread-local variables, such as
         * libgcc.a's decimal-float rounding mode, come from its archive:
         * looking there calls nothing of the host's.) */
        if (e->strong_ref && ej__runtime_want(lk, e->name)) {
            e->kind = EJ_SK_ABS;
            e->value = 0;
            return EJ_OK;
        }
        e->kind = EJ_SK_HOST;
        e->value = 0;
        return EJ_OK;
    }
    void *addr = ej__host_lookup_cached(lk, e->name, e->strong_ref);
    if (addr) {
        e->kind = EJ_SK_HOST;
        e->value = (uintptr_t)addr;
        return EJ_OK;
    }
    /* Only in the compiler runtime's archives: loaded, and the link
     * planned again (link.c).  Meanwhile the name stands for nothing. */
    if (e->strong_ref && ej__runtime_want(lk, e->name)) {
        e->kind = EJ_SK_ABS;
        e->value = 0;
        return EJ_OK;
    }
    if (!e->strong_ref) {
        /* An undefined weak symbol is zero. */
        e->kind = EJ_SK_ABS;
        e->value = 0;
        e->weak_undef = 1;
        return EJ_OK;
    }
    char where[512];
    int nomem;
    const char *why = ej__host_lookup_failure(&nomem);
    ej__first_reference(e, lo, where, sizeof where);
    return ej__fail(&lk->err, nomem ? EJ_NOMEM : EJ_UNDEFINED, "%s: undefined symbol '%s'%s%s%s",
                    where, e->name, why[0] ? " (" : "", why, why[0] ? ")" : "");
}

/* Sizing the table by definitions, not by every global reference (which
 * mostly name the same symbols again), keeps it small enough to stay in
 * cache; it grows if references to host symbols outnumber the slack. */
static size_t count_definitions(const ej__object *obj)
{
    size_t n = 0;
    for (size_t i = obj->first_global; i < obj->nsyms; i++)
        n += obj->syms[i].st_shndx != SHN_UNDEF;
    return n;
}

ej_status ej__resolve_symbols(ej_linker *lk)
{
    size_t expected = 0;
    ej_status st;
    for (size_t o = 0; o < lk->nobjs; o++)
        expected += count_definitions(lk->objs[o].o);
    lk->null_sym = (ej__sym){.name = "", .kind = EJ_SK_ABS};
    if (ej__symtab_init(&lk->globals, expected) != EJ_OK)
        return ej__fail(&lk->err, EJ_NOMEM, "out of memory for the symbol table");
    for (size_t o = 0; o < lk->nobjs; o++)
        if ((st = bind_object(lk, &lk->objs[o])) != EJ_OK)
            return st;
    /* In object order, so the first undefined symbol reported is the
     * first one a reader of the inputs would meet.  Strong references
     * first: a weak one never loads the C++ runtime itself (a C program's
     * optional hook must not), but binds to it once a strong one has. */
    for (int weak = 0; weak < 2; weak++)
        for (size_t o = 0; o < lk->nobjs; o++) {
            const ej__lobj *lo = &lk->objs[o];
            for (size_t i = 1; i < lo->o->nsyms; i++) {
                ej__sym *e = lo->symp[i];
                if (e && e->is_global && e->kind == EJ_SK_UNDEF && e->strong_ref == !weak &&
                    (st = resolve_undefined(lk, e, lo)) != EJ_OK)
                    return st;
            }
        }
    return EJ_OK;
}
