/* Static libraries in the link: which archive members to load, as a
 * linker does, before anything else is planned.
 *
 * Rules (what `ld objs... --start-group libs... --end-group` does):
 * - the objects given directly are always linked, first;
 * - an archive member is loaded when it defines a name that some loaded
 *   object refers to with a strong (non-weak) reference and that nothing
 *   loaded defines yet; weak references never load a member;
 * - all archives form one group, scanned in the order they were added,
 *   each through its symbol index in index order and again until it loads
 *   nothing more (a name a member brings in is taken from the same archive
 *   when it has it, as ld does), and the whole group rescanned until a
 *   pass loads nothing (so circular dependencies resolve);
 * - so, for a name several members define, the first archive and in it
 *   the first member (by the index) wins, and the others are not loaded
 *   for it;
 * - EJ_ARCHIVE_WHOLE archives have every member loaded;
 * - then the compiler runtime: names still undefined that neither the
 *   archives nor the host (libgcc_s among them) define are looked up in
 *   the architecture's libgcc.a, then libc_nonshared.a (runtime.c), and
 *   the members found there are loaded the same way.
 * A loaded member is an object like the others, named "lib.a(member.o)";
 * one that cannot be read names the archive, the member and the name that
 * pulled it. */
#include <stdlib.h>
#include <string.h>

#include "link/archives.h"
#include "link/synth.h"

/* A set of names (pointers into objects' string tables or archive
 * indexes, which outlive the pull). */
typedef struct nameset {
    const char **v;
    size_t cap, n;
} nameset;

static int ns_find(const nameset *s, const char *name, uint32_t h, size_t *at)
{
    if (!s->cap)
        return 0;
    for (size_t i = h & (s->cap - 1);; i = (i + 1) & (s->cap - 1)) {
        if (!s->v[i]) {
            *at = i;
            return 0;
        }
        if (strcmp(s->v[i], name) == 0)
            return 1;
    }
}

static int ns_has(const nameset *s, const char *name)
{
    size_t at;
    return ns_find(s, name, ej__sym_hash(name), &at);
}

static int ns_grow(nameset *s)
{
    nameset g = {calloc(s->cap ? s->cap * 2 : 256, sizeof *g.v), s->cap ? s->cap * 2 : 256, 0};
    if (!g.v)
        return -1;
    for (size_t i = 0; i < s->cap; i++) {
        size_t at = 0;
        if (s->v[i] && !ns_find(&g, s->v[i], ej__sym_hash(s->v[i]), &at)) {
            g.v[at] = s->v[i];
            g.n++;
        }
    }
    free(s->v);
    *s = g;
    return 0;
}

/* Adds NAME; -1 when out of memory. */
static int ns_add(nameset *s, const char *name)
{
    if ((s->n + 1) * 2 > s->cap && ns_grow(s) != 0)
        return -1;
    size_t at = 0;
    if (!ns_find(s, name, ej__sym_hash(name), &at)) {
        s->v[at] = name;
        s->n++;
    }
    return 0;
}

typedef struct pull {
    ej_linker *lk;
    nameset defined, wanted; /* wanted: strongly referenced names */
    const char **pending;    /* wanted names that are not thread-local, in the order
                              * met (for the runtime) */
    size_t npending, pending_cap;
} pull;

static ej_status nomem(ej_linker *lk)
{
    return ej__fail(&lk->err, EJ_NOMEM, "out of memory choosing archive members");
}

/* Records what object OBJ defines and what it strongly refers to. */
static ej_status note_object(pull *p, const ej__object *obj)
{
    for (size_t i = obj->first_global; i < obj->nsyms; i++) {
        const Elf64_Sym *s = &obj->syms[i];
        const char *name = obj->strtab + s->st_name;
        if (!name[0])
            continue;
        if (s->st_shndx != SHN_UNDEF) {
            if (ns_add(&p->defined, name) != 0)
                return nomem(p->lk);
        } else if (ELF64_ST_BIND(s->st_info) != STB_WEAK && !ns_has(&p->wanted, name)) {
            if (ns_add(&p->wanted, name) != 0)
                return nomem(p->lk);
            /* (A thread-local name is never looked up in the host early:
             * see resolve.c.  The runtime defines none.) */
            if (ELF64_ST_TYPE(s->st_info) == STT_TLS || ej__synth_name(name))
                continue;
            if (p->npending == p->pending_cap) {
                size_t cap = p->pending_cap ? p->pending_cap * 2 : 64;
                const char **v = realloc(p->pending, cap * sizeof *v);
                if (!v)
                    return nomem(p->lk);
                p->pending = v;
                p->pending_cap = cap;
            }
            p->pending[p->npending++] = name;
        }
    }
    return EJ_OK;
}

static int loaded(const ej__larchive *la, uint64_t member)
{
    for (size_t i = 0; i < la->nloaded; i++)
        if (la->loaded[i] == member)
            return 1;
    return 0;
}

/* Loads member MEMBER of LA, pulled in for WHY (NULL: a whole archive). */
static ej_status load_member(pull *p, ej__larchive *la, uint64_t member, const char *why)
{
    ej_linker *lk = p->lk;
    ej__armember m;
    ej_status st = ej__archive_member(la->a, member, &m, &lk->err);
    if (st != EJ_OK)
        return st;
    if (la->nloaded == la->loaded_cap) {
        size_t cap = la->loaded_cap ? la->loaded_cap * 2 : 16;
        uint64_t *v = realloc(la->loaded, cap * sizeof *v);
        if (!v)
            return nomem(lk);
        la->loaded = v;
        la->loaded_cap = cap;
    }
    la->loaded[la->nloaded++] = member;
    st = ej__link_add_member(lk, la->a, &m, why);
    return st == EJ_OK ? note_object(p, lk->objs[lk->nobjs - 1].o) : st;
}

/* One pass over every archive, each rescanned until it adds nothing
 * before the next (as ld does: a name a member brings in is taken from
 * the same archive when it has it); *ADDED counts the members loaded. */
static ej_status pass(pull *p, size_t *added)
{
    ej_linker *lk = p->lk;
    for (size_t k = 0; k < lk->narchives; k++) {
        ej__larchive *la = &lk->archives[k];
        for (size_t here = 1; here;) {
            here = 0;
            for (size_t i = 0; i < la->a->nindex; i++) {
                const ej__arsym *e = &la->a->index[i];
                if (!ns_has(&p->wanted, e->name) || ns_has(&p->defined, e->name) ||
                    loaded(la, e->member))
                    continue;
                ej_status st = load_member(p, la, e->member, e->name);
                if (st != EJ_OK)
                    return st;
                here++;
            }
            *added += here;
        }
    }
    return EJ_OK;
}

/* The compiler runtime's turn: wanted names nothing defines, which the
 * host does not have either, from the runtime archives. */
static ej_status runtime_pass(pull *p, size_t *added)
{
    ej_linker *lk = p->lk;
    for (size_t i = 0; i < p->npending; i++) {
        const char *name = p->pending[i];
        if (ns_has(&p->defined, name))
            continue;
        ej__larchive *la = NULL;
        uint64_t member = 0;
        /* The host first (libgcc_s among it), as a normal link; what it
         * finds is remembered for the resolution. */
        if (ej__host_lookup_cached(lk, name, 1))
            continue;
        if (!ej__runtime_find(lk, name, &la, &member) || loaded(la, member))
            continue;
        ej_status st = load_member(p, la, member, name);
        if (st != EJ_OK)
            return st;
        ++*added;
    }
    return EJ_OK;
}

static ej_status whole_archives(pull *p)
{
    ej_linker *lk = p->lk;
    for (size_t k = 0; k < lk->narchives; k++) {
        ej__larchive *la = &lk->archives[k];
        if (!(la->flags & EJ_ARCHIVE_WHOLE))
            continue;
        uint64_t *offs = NULL;
        size_t n = 0;
        ej_status st = ej__archive_offsets(la->a, &offs, &n, &lk->err);
        for (size_t i = 0; st == EJ_OK && i < n; i++)
            if (!loaded(la, offs[i]))
                st = load_member(p, la, offs[i], NULL);
        free(offs);
        if (st != EJ_OK)
            return st;
    }
    return EJ_OK;
}

ej_status ej__archives_pull(ej_linker *lk)
{
    /* Without archives the compiler runtime is consulted only for names
     * the resolution finds nowhere (ej__runtime_want): the common link
     * pays nothing here. */
    if (!lk->narchives)
        return EJ_OK;
    pull p = {.lk = lk};
    ej_status st = EJ_OK;
    for (size_t o = 0; o < lk->nobjs && st == EJ_OK; o++)
        st = note_object(&p, lk->objs[o].o);
    if (st == EJ_OK)
        st = whole_archives(&p);
    for (size_t added = 1; st == EJ_OK && added;) {
        added = 0;
        st = pass(&p, &added);
        if (st == EJ_OK && !added && lk->use_runtime)
            st = runtime_pass(&p, &added);
    }
    free(p.defined.v);
    free(p.wanted.v);
    free(p.pending);
    return st;
}

/* ---- the runtime, from the resolution ---------------------------------- */

struct ej__rt_want {
    ej__larchive *la;
    uint64_t member;
    const char *name;
};

int ej__runtime_want(ej_linker *lk, const char *name)
{
    ej__larchive *la = NULL;
    uint64_t member = 0;
    if (!lk->use_runtime || !ej__runtime_find(lk, name, &la, &member))
        return 0;
    struct ej__rt_want *v = realloc(lk->rt_wants, (lk->nrt_wants + 1) * sizeof *v);
    if (!v)
        return 0; /* (then reported undefined, with no worse harm) */
    lk->rt_wants = v;
    v[lk->nrt_wants++] = (struct ej__rt_want){la, member, name};
    return 1;
}

/* Drops what the resolution built, so that it can run again. */
static void forget_resolution(ej_linker *lk)
{
    for (size_t o = 0; o < lk->nobjs; o++) {
        ej__lobj *lo = &lk->objs[o];
        free(lo->symp);
        free(lo->lplain);
        free(lo->lvalue);
        lo->symp = NULL;
        lo->lplain = NULL;
        lo->lvalue = NULL;
    }
    ej__symtab_free(&lk->globals);
    memset(&lk->globals, 0, sizeof lk->globals);
    lk->plan.need_got = 0;
}

ej_status ej__runtime_load(ej_linker *lk, int *again)
{
    *again = 0;
    if (!lk->nrt_wants)
        return EJ_OK;
    pull p = {.lk = lk};
    ej_status st = EJ_OK;
    size_t added = 0;
    for (size_t i = 0; i < lk->nrt_wants && st == EJ_OK; i++) {
        struct ej__rt_want *w = &lk->rt_wants[i];
        if (!loaded(w->la, w->member) && (st = load_member(&p, w->la, w->member, w->name)) == EJ_OK)
            added++;
    }
    free(p.defined.v);
    free(p.wanted.v);
    free(p.pending);
    /* A name its member, once linked, still leaves undefined (the index
     * said otherwise, or the definition lost to another): undefined, as
     * without the runtime, never a second round for nothing. */
    if (st == EJ_OK && !added)
        st = ej__fail(&lk->err, EJ_UNDEFINED, "undefined symbol '%s' (the compiler runtime's %s "
                      "lists it, but linking its member does not define it)",
                      lk->rt_wants[0].name, lk->rt_wants[0].la->a->path);
    lk->nrt_wants = 0;
    if (st == EJ_OK) {
        forget_resolution(lk);
        *again = 1;
    }
    return st;
}

void ej__archives_done(ej_linker *lk)
{
    for (size_t k = 0; k < lk->narchives + EJ_RUNTIME_ARCHIVES; k++) {
        ej__larchive *la = k < lk->narchives ? &lk->archives[k] : &lk->runtime[k - lk->narchives];
        if (la->a)
            ej__archive_close_file(la->a);
    }
}
