/* Functions compiled one by one into a session (jit.h). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include <elfjit/elfjit.h>

#include "jit.h"

typedef struct jit_func {
    struct jit *j;
    int fi;
    jit_fn entry;             /* the name's stub */
    ej_module *version[2];    /* by tier; NULL when not linked */
    atomic_int lazy_compiles;
} jit_func;

struct jit {
    ej_session *s;
    const program *p;
    const emitter *e;
    const char *file;
    enum tier start;          /* the version loading and materialisers compile */
    pthread_mutex_t mu;       /* version[] (a materialiser may run on any thread) */
    jit_func fn[MAX_FUNCS];
};

/* Compiles function FI in version TIER and links it into the session:
 * its calls to other functions resolve to their stubs, and the slot of
 * its own name now points at it. */
static int link_function(jit *j, int fi, enum tier tier)
{
    const char *name = j->p->f[fi].name;
    ej_builder *b = compile_function(j->p, fi, tier, j->e, j->file);
    if (!b)
        return 0;
    void *image;
    size_t len;
    ej_status st = ej_builder_finish(b, &image, &len);
    if (st != EJ_OK)
        fprintf(stderr, "session: compiling %s: %s\n", name, ej_builder_errmsg(b));
    ej_builder_free(b);
    if (st != EJ_OK)
        return 0;
    ej_linker *lk;
    ej_module *m = NULL;
    char obj[MAX_NAME + 8];
    snprintf(obj, sizeof obj, "%s%s.o", name, tier == TIER_FIRST ? "" : ".opt");
    if (ej_linker_create(&lk) == EJ_OK) {
        /* Each module is registered with debuggers (GDB's JIT interface)
         * by default; a JIT making thousands of modules switches that off
         * (ej_linker_set_registration without EJ_REGISTER_GDB). */
        if (ej_linker_add_buffer(lk, obj, image, len) != EJ_OK ||
            ej_session_link(j->s, lk, &m) != EJ_OK)
            fprintf(stderr, "session: linking %s: %s\n", obj, ej_linker_errmsg(lk));
        ej_linker_free(lk);
    }
    free(image);
    if (!m)
        return 0;
    pthread_mutex_lock(&j->mu);
    j->fn[fi].version[tier] = m;
    pthread_mutex_unlock(&j->mu);
    return 1;
}

/* A cold function's first call: compile it, link it (which points its
 * slot at it), return; the call then continues into it.  Runs on the
 * calling thread, in the middle of whatever called (C or compiled code). */
static ej_status materialise(ej_session *s, const char *name, void *ctx)
{
    jit_func *f = ctx;
    (void)s;
    atomic_fetch_add(&f->lazy_compiles, 1);
    printf("[lazy] compiling %s on its first call\n", name);
    fflush(stdout);
    return link_function(f->j, f->fi, f->j->start) ? EJ_OK : EJ_RELOC;
}

/* Where calls of a cold function go when compiling it failed (with the
 * caller's argument); the materialiser printed why. */
static int64_t lazy_failed(int64_t x)
{
    (void)x;
    fprintf(stderr, "session: a cold function could not be compiled\n");
    exit(1);
}

jit *jit_load(const program *p, const char *file, enum tier start)
{
    jit *j = calloc(1, sizeof *j);
    if (!j || ej_session_create(&j->s) != EJ_OK) {
        free(j);
        fprintf(stderr, "session: out of memory\n");
        return NULL;
    }
    pthread_mutex_init(&j->mu, NULL);
    j->p = p;
    j->file = file;
    j->start = start;
    if (!(j->e = host_emitter())) {
        fprintf(stderr, "session: no code generator for this machine\n");
        jit_free(j);
        return NULL;
    }
    /* Every name first, so that modules linked later find each other's
     * stubs in any order (and a function may call one defined below it). */
    for (int fi = 0; fi < p->n; fi++) {
        jit_func *f = &j->fn[fi];
        f->j = j;
        f->fi = fi;
        ej_status st = p->f[fi].cold ? ej_session_declare(j->s, p->f[fi].name, materialise, f,
                                                          (void *)lazy_failed)
                                     : ej_session_redirect(j->s, p->f[fi].name);
        f->entry = (jit_fn)ej_session_symbol(j->s, p->f[fi].name);
        if (st != EJ_OK || !f->entry) {
            fprintf(stderr, "session: %s: %s\n", p->f[fi].name, ej_session_errmsg(j->s));
            jit_free(j);
            return NULL;
        }
    }
    for (int fi = 0; fi < p->n; fi++)
        if (!p->f[fi].cold && !link_function(j, fi, start)) {
            jit_free(j);
            return NULL;
        }
    return j;
}

jit_fn jit_entry(const jit *j, int fi)
{
    return j->fn[fi].entry;
}

int jit_lazy_compiles(jit *j, int fi)
{
    return atomic_load(&j->fn[fi].lazy_compiles);
}

const uint64_t *jit_counter(jit *j, int fi)
{
    pthread_mutex_lock(&j->mu);
    ej_module *m = j->fn[fi].version[TIER_FIRST];
    pthread_mutex_unlock(&j->mu);
    char name[MAX_NAME + 8];
    snprintf(name, sizeof name, "%s.calls", j->p->f[fi].name);
    return m ? ej_module_symbol(m, name) : NULL;
}

int jit_recompile(jit *j, int fi)
{
    return link_function(j, fi, TIER_FOLDED);
}

int jit_retire(jit *j, int fi)
{
    pthread_mutex_lock(&j->mu);
    ej_module *old = j->fn[fi].version[TIER_FIRST];
    int ready = old && j->fn[fi].version[TIER_FOLDED];
    if (ready)
        j->fn[fi].version[TIER_FIRST] = NULL;
    pthread_mutex_unlock(&j->mu);
    if (!ready)
        return 0;
    /* No module depends on it: the others call the stub, not the module. */
    if (ej_session_remove(j->s, old) != EJ_OK) {
        fprintf(stderr, "session: %s\n", ej_session_errmsg(j->s));
        return 0;
    }
    return 1;
}

ej_session *jit_session(jit *j)
{
    return j->s;
}

void jit_free(jit *j)
{
    if (!j)
        return;
    ej_session_free(j->s);
    pthread_mutex_destroy(&j->mu);
    free(j);
}
