/* C++ thread_local destructors of loaded code (thread_dtors.h). */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#include "runtime/thread_dtors.h"

/* The C library's own (glibc >= 2.18): runs FN(OBJ) at thread exit. */
extern int __cxa_thread_atexit_impl(void (*fn)(void *), void *obj, void *dso);
extern void *__dso_handle;

typedef struct dtor_rec {
    void (*fn)(void *);
    void *obj, *dso;
    struct dtor_rec *next;
} dtor_rec;

/* Per module with destructors pending in some thread. */
typedef struct pending {
    void *dso;
    size_t count;
    void (*release)(void *); /* set once the module was freed */
    void *ctx;
    struct pending *next;
} pending;

static _Thread_local dtor_rec *thread_list; /* newest first */
static _Thread_local int thread_hooked;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pending *pendings;

static pending **find(void *dso)
{
    pending **p = &pendings;
    while (*p && (*p)->dso != dso)
        p = &(*p)->next;
    return p;
}

/* One destructor of DSO has run: the last one releases a freed module. */
static void done_one(void *dso)
{
    void (*release)(void *) = NULL;
    void *ctx = NULL;
    pthread_mutex_lock(&lock);
    pending **p = find(dso), *e = *p;
    if (e && --e->count == 0) {
        release = e->release;
        ctx = e->ctx;
        *p = e->next;
        free(e);
    }
    pthread_mutex_unlock(&lock);
    if (release)
        release(ctx);
}

/* At thread exit (registered once per thread with the C library). */
static void run_thread(void *unused)
{
    (void)unused;
    while (thread_list) { /* a destructor may register more */
        dtor_rec *r = thread_list;
        thread_list = r->next;
        r->fn(r->obj);
        done_one(r->dso);
        free(r);
    }
    thread_hooked = 0;
}

int ej__thread_atexit(void (*dtor)(void *), void *obj, void *dso)
{
    dtor_rec *r = malloc(sizeof *r);
    if (!r)
        return -1;
    if (!thread_hooked) {
        if (__cxa_thread_atexit_impl(run_thread, NULL, &__dso_handle) != 0) {
            free(r);
            return -1;
        }
        thread_hooked = 1;
    }
    pthread_mutex_lock(&lock);
    pending **p = find(dso);
    if (!*p && (*p = calloc(1, sizeof **p)))
        (*p)->dso = dso;
    int ok = *p != NULL;
    if (ok)
        (*p)->count++;
    pthread_mutex_unlock(&lock);
    if (!ok) {
        free(r);
        return -1;
    }
    *r = (dtor_rec){dtor, obj, dso, thread_list};
    thread_list = r;
    return 0;
}

void ej__thread_dtors_run(void *dso)
{
    for (dtor_rec **p = &thread_list; *p;) {
        dtor_rec *r = *p;
        if (r->dso != dso) {
            p = &r->next;
            continue;
        }
        *p = r->next;
        r->fn(r->obj);
        done_one(dso);
        free(r);
        p = &thread_list; /* the destructor may have changed the list */
    }
}

int ej__thread_dtors_defer(void *dso, void (*release)(void *), void *ctx)
{
    pthread_mutex_lock(&lock);
    pending *e = *find(dso);
    if (e) {
        e->release = release;
        e->ctx = ctx;
    }
    pthread_mutex_unlock(&lock);
    return e != NULL;
}
