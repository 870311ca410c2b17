/* Lazy compilation: a declared name's slot starts at a lazy stub, which
 * enters the trampoline (src/session/arch) with the declaration as its
 * record; the trampoline calls resolve() below on the calling thread with
 * every argument register saved, and continues the call at whatever
 * address it returns.
 *
 * States: IDLE (the slot holds the lazy stub) -> RUNNING (one thread runs
 * the materialiser; the others wait on the condition variable) -> DONE
 * (the slot holds the definition) or FAILED (the slot holds the failure
 * target).  A freed definition takes a DONE name back to IDLE.  Lock
 * order: the session's lock, then the declaration's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "session/lazy_arch.h"
#include "session/session_impl.h"

enum { IDLE, RUNNING, DONE, FAILED };

typedef struct lazy_decl {
    ej__lazy_record rec; /* first: the stub hands the trampoline its address */
    ej_session *s;
    slot *sl;
    ej_materialize_fn fn;
    void *ctx;
    uint64_t on_failure;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int state;
    pthread_t owner;     /* RUNNING: who materialises */
    ej_status failed;    /* FAILED: why, and MSG */
    char msg[256];
} lazy_decl;

/* After the materialiser returned ST: the definition it linked, or the
 * failure target with the reason kept.  Takes and drops both locks. */
static uint64_t settle(lazy_decl *d, ej_status st)
{
    ej_session *s = d->s;
    pthread_mutex_lock(&s->lock);
    uint64_t target;
    int ok = st == EJ_OK && d->sl->def;
    if (ok) {
        target = __atomic_load_n(d->sl->cell, __ATOMIC_ACQUIRE);
    } else {
        target = d->on_failure;
        ej__slot_retarget(d->sl, target, NULL);
    }
    pthread_mutex_lock(&d->mu);
    if (ok) {
        d->state = DONE;
    } else {
        d->state = FAILED;
        d->failed = st != EJ_OK ? st : EJ_UNDEFINED;
        if (st != EJ_OK)
            snprintf(d->msg, sizeof d->msg, "materialising '%s' failed: the materialiser "
                     "returned %s", d->sl->name, ej_status_name(st));
        else
            snprintf(d->msg, sizeof d->msg, "materialising '%s' failed: the materialiser "
                     "returned EJ_OK but no module of the session defines '%s' as a function",
                     d->sl->name, d->sl->name);
    }
    pthread_cond_broadcast(&d->cv);
    pthread_mutex_unlock(&d->mu);
    pthread_mutex_unlock(&s->lock);
    return target;
}

static void *resolve(ej__lazy_record *rec)
{
    lazy_decl *d = (lazy_decl *)rec;
    pthread_mutex_lock(&d->mu);
    while (d->state == RUNNING && !pthread_equal(d->owner, pthread_self()))
        pthread_cond_wait(&d->cv, &d->mu);
    uint64_t target;
    switch (d->state) {
    case RUNNING: /* the materialiser itself called the name */
        target = d->on_failure;
        break;
    case DONE: /* a caller that loaded the cell before it was retargeted */
        target = __atomic_load_n(d->sl->cell, __ATOMIC_ACQUIRE);
        break;
    case FAILED:
        target = d->on_failure;
        break;
    default:
        d->state = RUNNING;
        d->owner = pthread_self();
        pthread_mutex_unlock(&d->mu);
        return (void *)(uintptr_t)settle(d, d->fn(d->s, d->sl->name, d->ctx));
    }
    pthread_mutex_unlock(&d->mu);
    return (void *)(uintptr_t)target;
}

void ej__lazy_rearm(lazy_decl *d)
{
    pthread_mutex_lock(&d->mu);
    if (d->state != RUNNING) /* (a failed name too: it is defined no more) */
        d->state = IDLE;
    pthread_mutex_unlock(&d->mu);
}

void ej__lazy_defined(lazy_decl *d)
{
    pthread_mutex_lock(&d->mu);
    if (d->state != RUNNING) /* (a materialiser's own link: settle() decides) */
        d->state = DONE;
    pthread_mutex_unlock(&d->mu);
}

void ej__lazy_free(lazy_decl *d)
{
    pthread_cond_destroy(&d->cv);
    pthread_mutex_destroy(&d->mu);
    free(d);
}

static lazy_decl *new_decl(ej_session *s, ej_materialize_fn fn, void *ctx, uint64_t fail)
{
    lazy_decl *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    *d = (lazy_decl){.rec = {resolve}, .s = s, .fn = fn, .ctx = ctx, .on_failure = fail};
    pthread_mutex_init(&d->mu, NULL);
    pthread_cond_init(&d->cv, NULL);
    return d;
}

/* A failed declaration of SL declared again: back to its lazy stub. */
static ej_status redeclare(ej_session *s, slot *sl, ej_materialize_fn fn, void *ctx,
                           uint64_t fail)
{
    lazy_decl *d = sl->lazy;
    pthread_mutex_lock(&d->mu);
    int failed = d->state == FAILED;
    if (failed) {
        d->state = IDLE;
        d->fn = fn;
        d->ctx = ctx;
        d->on_failure = fail;
    }
    pthread_mutex_unlock(&d->mu);
    if (!failed)
        return ej__fail(&s->err, EJ_STATE, "'%s' is already declared (and has not failed)",
                        sl->name);
    /* A definition linked since the failure stays in place. */
    if (!ej__slot_adopt(s, sl))
        ej__slot_retarget(sl, sl->lazy_stub, NULL);
    return EJ_OK;
}

static ej_status declare(ej_session *s, const char *name, ej_materialize_fn fn, void *ctx,
                         void *on_failure)
{
    uint64_t fail = on_failure ? (uint64_t)(uintptr_t)on_failure : ej__session_trap(s);
    if (!fail)
        return s->err.status;
    slot *sl = ej__slot_find(s, name);
    if (sl && !sl->lazy)
        return ej__fail(&s->err, EJ_STATE, "'%s' is already redirectable: declare it before "
                        "anything makes it so", name);
    if (sl)
        return redeclare(s, sl, fn, ctx, fail);
    lazy_decl *d = new_decl(s, fn, ctx, fail);
    if (!d)
        return ej__fail(&s->err, EJ_NOMEM, "out of memory declaring '%s'", name);
    ej_status st = ej__slot_make(s, name, (uint64_t)(uintptr_t)d, &sl);
    if (st != EJ_OK) {
        ej__lazy_free(d);
        return st;
    }
    d->sl = sl;
    sl->lazy = d;
    ej__slot_retarget(sl, sl->lazy_stub, NULL);
    /* Already defined: the slot starts there, FN waits for its free. */
    ej__slot_adopt(s, sl);
    return EJ_OK;
}

EJ_API ej_status ej_session_declare(ej_session *s, const char *name, ej_materialize_fn fn,
                                    void *ctx, void *on_failure)
{
    if (!s || !name || !*name || !fn)
        return s ? ej__fail(&s->err, EJ_INVAL, "ej_session_declare: no name or no "
                            "materialiser") : EJ_INVAL;
    ej__lazy_arch_init();
    pthread_mutex_lock(&s->lock);
    ej__err_clear(&s->err);
    ej_status st = declare(s, name, fn, ctx, on_failure);
    pthread_mutex_unlock(&s->lock);
    return st;
}

EJ_API ej_status ej_session_lazy_state(ej_session *s, const char *name, char *msg, size_t len)
{
    if (len)
        msg[0] = '\0';
    if (!s || !name)
        return EJ_INVAL;
    pthread_mutex_lock(&s->lock);
    slot *sl = ej__slot_find(s, name);
    ej_status st = EJ_INVAL;
    if (sl && sl->lazy) {
        lazy_decl *d = sl->lazy;
        pthread_mutex_lock(&d->mu);
        st = d->state == DONE || (d->state == IDLE && sl->def) ? EJ_OK
             : d->state == FAILED                                ? d->failed
                                                                 : EJ_STATE;
        if (d->state == FAILED && len)
            snprintf(msg, len, "%s", d->msg);
        pthread_mutex_unlock(&d->mu);
    } else if (len) {
        snprintf(msg, len, "'%s' is not declared in the session", name);
    }
    pthread_mutex_unlock(&s->lock);
    return st;
}
