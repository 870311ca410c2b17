/* Constructors and destructors, in the order a normal link runs them.
 *
 * GNU ld's default script builds .init_array from .init_array.N and
 * .ctors.N sorted by priority (for .ctors.N the priority is 65535 - N),
 * then the unnumbered .init_array and .ctors sections in input order;
 * .ctors/.dtors contents are copied back to front.  .fini_array is built
 * the same way and run from its end.  We keep the input arrays where they
 * were laid out and walk them in that order instead of copying them. */
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#include "link/module.h"
#include "runtime/registry.h"

enum { KIND_NONE, KIND_PREINIT, KIND_INIT, KIND_FINI };

#define UNNUMBERED 65536u

/* Kind and priority of an input section from its name. */
static int classify(const char *name, uint32_t *prio, uint8_t *reverse)
{
    static const struct { const char *prefix; int kind; int ctors; } table[] = {
        {".preinit_array", KIND_PREINIT, 0}, {".init_array", KIND_INIT, 0},
        {".ctors", KIND_INIT, 1},            {".fini_array", KIND_FINI, 0},
        {".dtors", KIND_FINI, 1},
    };
    for (size_t i = 0; i < EJ_ARRAY_LEN(table); i++) {
        size_t len = strlen(table[i].prefix);
        if (strncmp(name, table[i].prefix, len) != 0)
            continue;
        if (name[len] == '\0') {
            *prio = UNNUMBERED;
        } else if (name[len] == '.') {
            char *end;
            unsigned long n = strtoul(name + len + 1, &end, 10);
            if (*end || n > 65535)
                return KIND_NONE;
            *prio = table[i].ctors ? 65535u - (uint32_t)n : (uint32_t)n;
        } else {
            return KIND_NONE;
        }
        *reverse = (uint8_t)table[i].ctors;
        return table[i].kind;
    }
    return KIND_NONE;
}

static int push(ej__fnlist *l, ej__fnarray a)
{
    ej__fnarray *n = realloc(l->a, (l->n + 1) * sizeof *n);
    if (!n)
        return -1;
    l->a = n;
    l->a[l->n++] = a;
    return 0;
}

static int by_priority(const void *x, const void *y)
{
    const ej__fnarray *a = x, *b = y;
    if (a->prio != b->prio)
        return a->prio < b->prio ? -1 : 1;
    return a->order < b->order ? -1 : a->order > b->order;
}

ej_status ej__module_initfini(ej_module *m, const ej_linker *lk, ej__err *err)
{
    uint32_t order = 0;
    for (size_t o = 0; o < lk->nobjs; o++) {
        const ej__lobj *lo = &lk->objs[o];
        const ej__object *obj = lo->o;
        for (size_t i = 1; i < obj->shnum; i++) {
            const ej__section *s = &obj->sec[i];
            uint32_t prio;
            uint8_t reverse;
            int kind = ej__sec_loaded(lo, i) ? classify(s->name, &prio, &reverse) : KIND_NONE;
            if (kind == KIND_NONE || s->size < 8)
                continue;
            ej__fnlist *l = kind == KIND_PREINIT ? &m->img.preinit : kind == KIND_INIT ? &m->img.init : &m->img.fini;
            ej__fnarray a = {ej__vaddr(lk, lo->sec[i].off), s->size / 8, prio, order++, reverse};
            if (push(l, a) != 0)
                return ej__fail(err, EJ_NOMEM, "out of memory collecting constructors");
        }
    }
    if (m->img.init.n > 1)
        qsort(m->img.init.a, m->img.init.n, sizeof *m->img.init.a, by_priority);
    if (m->img.fini.n > 1)
        qsort(m->img.fini.a, m->img.fini.n, sizeof *m->img.fini.a, by_priority);
    return EJ_OK;
}

typedef void (*initfn)(int, char **, char **);
typedef void (*finifn)(void);

/* Entries 0 and -1 are markers in some old .ctors/.dtors; skip them. */
static int callable(uintptr_t f) { return f != 0 && f != UINTPTR_MAX; }

static void run_init(const ej__fnlist *l, int argc, char **argv, char **envp)
{
    for (size_t i = 0; i < l->n; i++) {
        const uintptr_t *fp = (const uintptr_t *)(uintptr_t)l->a[i].addr;
        for (uint64_t k = 0; k < l->a[i].count; k++) {
            uintptr_t f = fp[l->a[i].reverse ? l->a[i].count - 1 - k : k];
            if (callable(f))
                ((initfn)f)(argc, argv, envp);
        }
    }
}

/* Registered with __cxa_atexit against the module's __dso_handle, before
 * any constructor runs, so that it runs after every handler a constructor
 * or the program registers — at exit() or at __cxa_finalize. */
static void run_fini(void *arg)
{
    const ej__fnlist *l = &((ej_module *)arg)->img.fini;
    for (size_t i = l->n; i-- > 0;) {
        const uintptr_t *fp = (const uintptr_t *)(uintptr_t)l->a[i].addr;
        for (uint64_t k = 0; k < l->a[i].count; k++) {
            uintptr_t f = fp[l->a[i].reverse ? k : l->a[i].count - 1 - k];
            if (callable(f))
                ((finifn)f)();
        }
    }
}

typedef int (*cxa_atexit_fn)(void (*)(void *), void *, void *);

EJ_API ej_status ej_module_init(ej_module *m, int argc, char **argv, char **envp)
{
    if (!m)
        return EJ_INVAL;
    if (m->mem.link_only)
        return ej__fail(ej__module_err(m), EJ_STATE, "a link-only module cannot run");
    if (m->initialized)
        return EJ_OK;
    cxa_atexit_fn cxa_atexit = (cxa_atexit_fn)dlsym(RTLD_DEFAULT, "__cxa_atexit");
    if (!cxa_atexit || cxa_atexit(run_fini, m, m->img.dso_handle) != 0)
        return ej__fail(ej__module_err(m), EJ_NOMEM, "cannot register the module's destructors");
    m->initialized = 1;
    ej__register_flush(); /* debuggers see the code before it runs */
    run_init(&m->img.preinit, argc, argv, envp);
    run_init(&m->img.init, argc, argv, envp);
    return EJ_OK;
}

