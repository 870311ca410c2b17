/* Sessions (include/elfjit/session.h): a namespace of modules.  The
 * session is the first place its links look names up (a resolver put in
 * front of the linker's own, src/link/builtins.c); what a module took from
 * which module is kept as its dependencies, so a module is freed only
 * after the modules that call it.
 *
 * The namespace is a chained hash table from names to the modules
 * exporting them, newest first in each chain, so a newer definition
 * shadows an older one until it goes.  Entries point at the modules' own
 * copies of the names: an entry lives exactly as long as its module is in
 * the namespace. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "elfjit/session.h"
#include "link/linker.h"
#include "link/module.h"
#include "session/session_impl.h"

/* What one link took from the session. */
typedef struct link_ctx {
    ej_session *s;
    member **used;
    size_t nused, cap;
    int nomem;
} link_ctx;

EJ_API ej_status ej_session_create(ej_session **out)
{
    if (!out)
        return EJ_INVAL;
    ej_session *s = calloc(1, sizeof *s);
    if (!(*out = s))
        return EJ_NOMEM;
    pthread_mutex_init(&s->lock, NULL);
    return EJ_OK;
}

EJ_API const char *ej_session_errmsg(const ej_session *s)
{
    return s ? s->err.msg : "";
}

/* ---- the namespace ------------------------------------------------------ */

entry *ej__session_find(const ej_session *s, const char *name)
{
    if (!s->nbuckets)
        return NULL;
    uint32_t h = ej__sym_hash(name);
    for (entry *e = s->buckets[h & (s->nbuckets - 1)]; e; e = e->next)
        if (e->hash == h && strcmp(e->name, name) == 0)
            return e;
    return NULL;
}

static int grow(ej_session *s)
{
    size_t n = s->nbuckets ? s->nbuckets * 2 : 64;
    entry **b = calloc(n, sizeof *b);
    if (!b)
        return 0;
    /* Re-chained back to front, so each chain keeps newest first. */
    for (size_t i = 0; i < s->nbuckets; i++) {
        entry *rev = NULL;
        for (entry *e = s->buckets[i], *next; e; e = next) {
            next = e->next;
            e->next = rev;
            rev = e;
        }
        for (entry *e = rev, *next; e; e = next) {
            next = e->next;
            e->next = b[e->hash & (n - 1)];
            b[e->hash & (n - 1)] = e;
        }
    }
    free(s->buckets);
    s->buckets = b;
    s->nbuckets = n;
    return 1;
}

static void forget(ej_session *s, member *who)
{
    const ej__image *img = &who->m->img;
    for (size_t i = 0; i < img->export_cap && s->nbuckets; i++) {
        const ej__export *x = &img->exports[i];
        if (x->name == UINT32_MAX || (x->addr & EJ__EXPORT_TLS))
            continue;
        for (entry **pp = &s->buckets[x->hash & (s->nbuckets - 1)]; *pp; pp = &(*pp)->next)
            if ((*pp)->who == who && (*pp)->hash == x->hash &&
                strcmp((*pp)->name, img->names + x->name) == 0) {
                entry *e = *pp;
                *pp = e->next;
                free(e);
                s->nentries--;
                break;
            }
    }
    ej__slots_forgotten(s, who);
}

/* Puts WHO's exports in the namespace, each in front of its chain. */
static ej_status publish(ej_session *s, member *who)
{
    const ej__image *img = &who->m->img;
    for (size_t i = 0; i < img->export_cap; i++) {
        const ej__export *x = &img->exports[i];
        if (x->name == UINT32_MAX || (x->addr & EJ__EXPORT_TLS))
            continue;
        entry *e = malloc(sizeof *e);
        if (!e || (s->nentries + 1 > s->nbuckets && !grow(s))) {
            free(e);
            forget(s, who);
            return ej__fail(&s->err, EJ_NOMEM, "out of memory adding a module's exports to "
                            "the session");
        }
        *e = (entry){NULL, img->names + x->name, x->hash, who, (void *)(uintptr_t)x->addr};
        e->next = s->buckets[x->hash & (s->nbuckets - 1)];
        s->buckets[x->hash & (s->nbuckets - 1)] = e;
        s->nentries++;
    }
    return EJ_OK;
}

/* ---- linking ------------------------------------------------------------ */

static void *resolve(void *ctx, const char *name)
{
    link_ctx *c = ctx;
    /* A redirectable name means its slot jump: no module is depended on. */
    slot *sl = ej__slot_find(c->s, name);
    if (sl)
        return (void *)(uintptr_t)sl->entry;
    entry *e = ej__session_find(c->s, name);
    if (!e)
        return NULL;
    for (size_t i = 0; i < c->nused; i++)
        if (c->used[i] == e->who)
            return e->addr;
    if (c->nused == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 4;
        member **u = realloc(c->used, cap * sizeof *u);
        if (!u) {
            c->nomem = 1;
            return NULL; /* (the link then names the symbol as undefined) */
        }
        c->used = u;
        c->cap = cap;
    }
    c->used[c->nused++] = e->who;
    return e->addr;
}

static int before_free(ej_module *m);

static ej_status join(ej_session *s, ej_module *m, link_ctx *c)
{
    member *me = calloc(1, sizeof *me);
    if (!me)
        return ej__fail(&s->err, EJ_NOMEM, "out of memory for the session's record of a module");
    *me = (member){NULL, s->newest, m, s, c->used, c->nused, 0, ++s->next_id, 0};
    ej_status st = publish(s, me);
    if (st != EJ_OK) {
        free(me);
        return st;
    }
    c->used = NULL;
    for (size_t i = 0; i < me->ndeps; i++)
        me->deps[i]->refs++;
    if (s->newest)
        s->newest->newer = me;
    s->newest = me;
    ej__slots_published(s, me);
    m->holder = me;
    m->before_free = before_free;
    return EJ_OK;
}

EJ_API ej_status ej_session_link(ej_session *s, ej_linker *lk, ej_module **out)
{
    if (!s || !lk || !out)
        return s ? ej__fail(&s->err, EJ_INVAL, "ej_session_link: NULL argument") : EJ_INVAL;
    *out = NULL;
    link_ctx c = {s, NULL, 0, 0, 0};
    pthread_mutex_lock(&s->lock);
    ej__err_clear(&s->err);
    ej__linker_set_namespace(lk, resolve, &c);
    ej_module *m;
    ej_status st = ej_linker_link(lk, &m);
    ej__linker_set_namespace(lk, NULL, NULL);
    if (st != EJ_OK) {
        ej__fail(&s->err, st, "%s%s", ej_linker_errmsg(lk),
                 c.nomem ? " (out of memory noting the session's modules it uses)" : "");
    } else if ((st = join(s, m, &c)) != EJ_OK) {
        pthread_mutex_unlock(&s->lock);
        free(c.used);
        ej_module_free(m);
        return st;
    } else {
        *out = m;
    }
    pthread_mutex_unlock(&s->lock);
    free(c.used);
    return st;
}

EJ_API void *ej_session_symbol(ej_session *s, const char *name)
{
    if (!s || !name)
        return NULL;
    pthread_mutex_lock(&s->lock);
    slot *sl = ej__slot_find(s, name);
    entry *e = sl ? NULL : ej__session_find(s, name);
    void *addr = sl ? (void *)(uintptr_t)sl->entry : e ? e->addr : NULL;
    pthread_mutex_unlock(&s->lock);
    ej__register_flush(); /* the address may be called next */
    return addr;
}

/* ---- freeing ------------------------------------------------------------ */

/* Takes ME out of the list and its dependencies' counts; each dependency
 * that was waiting for its last dependent is appended to *DOOMED (in the
 * order they must be freed: ME's dependents are gone, so ME first). */
static void unlink_member(ej_session *s, member *me, member ***doomed, size_t *n, size_t *cap)
{
    if (me->newer)
        me->newer->older = me->older;
    else
        s->newest = me->older;
    if (me->older)
        me->older->newer = me->newer;
    for (size_t i = 0; i < me->ndeps; i++) {
        member *d = me->deps[i];
        if (--d->refs || !d->left)
            continue;
        if (*n == *cap) {
            size_t nc = *cap ? *cap * 2 : 8;
            member **v = realloc(*doomed, nc * sizeof *v);
            if (!v)
                continue; /* (it stays allocated: out of memory while freeing) */
            *doomed = v;
            *cap = nc;
        }
        (*doomed)[(*n)++] = d;
        unlink_member(s, d, doomed, n, cap);
    }
}

static void destroy_member(member *me)
{
    me->m->before_free = NULL;
    ej__module_destroy(me->m);
    free(me->deps);
    free(me);
}

/* Frees ME now (it must have no dependents), then the dependencies it was
 * the last to hold; outside the lock: destructors run module code. */
static void free_now(ej_session *s, member *me)
{
    member **doomed = NULL;
    size_t n = 0, cap = 0;
    if (!me->left)
        forget(s, me);
    me->left = 1;
    unlink_member(s, me, &doomed, &n, &cap);
    pthread_mutex_unlock(&s->lock);
    destroy_member(me);
    for (size_t i = 0; i < n; i++)
        destroy_member(doomed[i]);
    free(doomed);
}

static int before_free(ej_module *m)
{
    member *me = m->holder;
    ej_session *s = me->s;
    pthread_mutex_lock(&s->lock);
    if (me->refs) {
        if (!me->left)
            forget(s, me);
        me->left = 1;
        pthread_mutex_unlock(&s->lock);
        return 0;
    }
    free_now(s, me);
    return 0;
}

/* "module 3 (defining 'g')": modules have no names of their own. */
static void label(const member *me, char *buf, size_t len)
{
    const ej__image *img = &me->m->img;
    for (size_t i = 0; i < img->export_cap; i++)
        if (img->exports[i].name != UINT32_MAX) {
            snprintf(buf, len, "module %lu (defining '%s')", me->id,
                     img->names + img->exports[i].name);
            return;
        }
    snprintf(buf, len, "module %lu", me->id);
}

EJ_API ej_status ej_session_remove(ej_session *s, ej_module *m)
{
    if (!s || !m)
        return s ? ej__fail(&s->err, EJ_INVAL, "ej_session_remove: NULL argument") : EJ_INVAL;
    pthread_mutex_lock(&s->lock);
    member *me = m->before_free == before_free ? m->holder : NULL;
    if (!me || me->s != s) {
        pthread_mutex_unlock(&s->lock);
        return ej__fail(&s->err, EJ_INVAL, "ej_session_remove: the module is not this "
                        "session's");
    }
    if (me->refs) {
        char what[160], users[640] = "";
        size_t at = 0, named = 0;
        label(me, what, sizeof what);
        for (member *o = s->newest; o && at < sizeof users - 1; o = o->older)
            for (size_t i = 0; i < o->ndeps; i++)
                if (o->deps[i] == me && !o->left) {
                    char l[160];
                    label(o, l, sizeof l);
                    at += (size_t)snprintf(users + at, sizeof users - at, "%s%s",
                                           named++ ? ", " : "", l);
                    break;
                }
        pthread_mutex_unlock(&s->lock);
        return ej__fail(&s->err, EJ_STATE, "cannot free %s: %zu live module%s of the session "
                        "use%s it: %s", what, me->refs, me->refs == 1 ? "" : "s",
                        me->refs == 1 ? "s" : "", users);
    }
    free_now(s, me);
    return EJ_OK;
}

EJ_API ej_status ej_session_retire(ej_session *s, ej_module *m)
{
    if (!s || !m)
        return s ? ej__fail(&s->err, EJ_INVAL, "ej_session_retire: NULL argument") : EJ_INVAL;
    pthread_mutex_lock(&s->lock);
    member *me = m->before_free == before_free ? m->holder : NULL;
    if (!me || me->s != s) {
        pthread_mutex_unlock(&s->lock);
        return ej__fail(&s->err, EJ_INVAL, "ej_session_retire: the module is not this "
                        "session's");
    }
    /* Out of the namespace (its slots go back to older definitions), still
     * mapped: threads inside it finish there. */
    if (!me->left)
        forget(s, me);
    me->left = 1;
    pthread_mutex_unlock(&s->lock);
    return EJ_OK;
}

EJ_API void ej_session_free(ej_session *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->lock);
    member *list = s->newest;
    s->newest = NULL;
    pthread_mutex_unlock(&s->lock);
    /* Newest first: a module goes before every module it depends on. */
    for (member *me = list, *older; me; me = older) {
        older = me->older;
        destroy_member(me);
    }
    for (size_t i = 0; i < s->nbuckets; i++)
        for (entry *e = s->buckets[i], *next; e; e = next) {
            next = e->next;
            free(e);
        }
    free(s->buckets);
    ej__slots_free(s);
    if (s->trap)
        ej_module_free(s->trap);
    pthread_mutex_destroy(&s->lock);
    free(s);
}
