/* Host symbols: the resolver, -l libraries, the process and libm; and the
 * few functions a normal link takes from libc_nonshared.a (atexit and
 * friends), which register handlers against the module that owns them so
 * that unloading the module runs them (thread_local destructors: see
 * src/runtime/thread_dtors.h). */
#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "link/linker.h"
#include "runtime/registry.h"
#include "runtime/thread_dtors.h"

typedef int (*cxa_atexit_fn)(void (*)(void *), void *, void *);
typedef int (*cxa_at_quick_exit_fn)(void (*)(void *), void *);
typedef int (*register_atfork_fn)(void (*)(void), void (*)(void), void (*)(void), void *);

/* The __dso_handle of the module holding FN, or NULL for process-wide. */
static void *owner_dso(const void *fn)
{
    void *dso = NULL;
    ej__registry_find((uintptr_t)fn, &dso);
    return dso;
}

static int shim_atexit(void (*fn)(void))
{
    cxa_atexit_fn f = (cxa_atexit_fn)dlsym(RTLD_DEFAULT, "__cxa_atexit");
    return f ? f((void (*)(void *))fn, NULL, owner_dso((const void *)fn)) : -1;
}

static int shim_at_quick_exit(void (*fn)(void))
{
    cxa_at_quick_exit_fn f = (cxa_at_quick_exit_fn)dlsym(RTLD_DEFAULT, "__cxa_at_quick_exit");
    return f ? f((void (*)(void *))fn, owner_dso((const void *)fn)) : -1;
}

static int shim_pthread_atfork(void (*prepare)(void), void (*parent)(void),
                               void (*child)(void))
{
    register_atfork_fn f = (register_atfork_fn)dlsym(RTLD_DEFAULT, "__register_atfork");
    const void *any = prepare ? (const void *)prepare : parent ? (const void *)parent : (const void *)child;
    return f ? f(prepare, parent, child, owner_dso(any)) : -1;
}

static void *shim_lookup(const char *name)
{
    if (strcmp(name, "atexit") == 0)
        return (void *)shim_atexit;
    if (strcmp(name, "at_quick_exit") == 0)
        return (void *)shim_at_quick_exit;
    if (strcmp(name, "pthread_atfork") == 0)
        return (void *)shim_pthread_atfork;
    if (strcmp(name, "__cxa_thread_atexit") == 0 || strcmp(name, "__cxa_thread_atexit_impl") == 0)
        return (void *)ej__thread_atexit;
    return NULL;
}

/* A normal link of C code also searches libm (when asked) and libgcc
 * (always: the compiler calls its helpers, such as __udivti3 or __muldc3,
 * on its own); objects from g++ and clang++ need the C++ runtime (operator
 * new, the exception ABI, the standard library).  Hosts do not
 * necessarily have them loaded, so they are opened on first need and kept
 * for the life of the process (loaded code may keep their addresses).
 * Only a successful open is remembered: one that failed for a passing
 * reason (out of memory, descriptors exhausted) is tried again by the
 * next lookup. */
enum { LIB_M, LIB_GCC_S, LIB_CXX, NLIBS };
static const char *const fallback_names[NLIBS] = {"libm.so.6", "libgcc_s.so.1", "libstdc++.so.6"};
static void *fallback_libs[NLIBS];
static pthread_mutex_t fallback_lock = PTHREAD_MUTEX_INITIALIZER;

/* Why the last lookup on this thread could not open a fallback library
 * ("" when every one it tried opened), for the undefined-symbol message. */
static _Thread_local char open_failure[320];
static _Thread_local int open_failure_nomem;

static void *fallback_lib(int i, int open)
{
    pthread_mutex_lock(&fallback_lock);
    if (!fallback_libs[i] && open) {
        errno = 0;
        fallback_libs[i] = dlopen(fallback_names[i], RTLD_NOW | RTLD_GLOBAL);
        if (!fallback_libs[i] && !open_failure[0]) {
            const char *e = dlerror();
            open_failure_nomem = errno == ENOMEM;
            snprintf(open_failure, sizeof open_failure, "%s could not be loaded to look for it%s: %s",
                     fallback_names[i], open_failure_nomem ? " (out of memory)" : "",
                     e ? e : "unknown reason");
        }
    }
    void *h = fallback_libs[i];
    pthread_mutex_unlock(&fallback_lock);
    return h;
}

const char *ej__host_lookup_failure(int *nomem)
{
    *nomem = open_failure_nomem;
    return open_failure;
}

/* The C++ runtime is opened only when a name is found nowhere else and
 * some reference to it is strong (LOAD_CXX): C programs never load it, not
 * even for a weak reference nothing defines. */
static void *fallback_lookup(const char *name, int load_cxx)
{
    for (int i = 0; i < NLIBS; i++) {
        void *h = fallback_lib(i, i != LIB_CXX || load_cxx);
        void *addr = h ? dlsym(h, name) : NULL;
        if (addr)
            return addr;
    }
    return NULL;
}

void *ej__host_lookup(ej_linker *lk, const char *name, int load_cxx)
{
    open_failure[0] = '\0';
    open_failure_nomem = 0;
    void *addr = shim_lookup(name);
    if (addr)
        return addr;
    if (lk->ns_resolver && (addr = lk->ns_resolver(lk->ns_ctx, name)))
        return addr;
    if (lk->resolver && (addr = lk->resolver(lk->resolver_ctx, name)))
        return addr;
    for (size_t i = 0; i < lk->nlibs; i++)
        if ((addr = dlsym(lk->libs[i], name)))
            return addr;
    if ((addr = dlsym(RTLD_DEFAULT, name)))
        return addr;
    return fallback_lookup(name, load_cxx);
}

struct ej__host_hit {
    const char *name; /* the linker's (an object's string table) */
    void *addr;
};

static int remember(ej_linker *lk, const char *name, void *addr)
{
    if ((lk->host_n + 1) * 2 > lk->host_cap) {
        size_t cap = lk->host_cap ? lk->host_cap * 2 : 64;
        struct ej__host_hit *v = calloc(cap, sizeof *v);
        if (!v)
            return -1;
        for (size_t i = 0; i < lk->host_cap; i++) {
            if (!lk->host_hits[i].name)
                continue;
            size_t j = ej__sym_hash(lk->host_hits[i].name) & (cap - 1);
            while (v[j].name)
                j = (j + 1) & (cap - 1);
            v[j] = lk->host_hits[i];
        }
        free(lk->host_hits);
        lk->host_hits = v;
        lk->host_cap = cap;
    }
    size_t j = ej__sym_hash(name) & (lk->host_cap - 1);
    while (lk->host_hits[j].name)
        j = (j + 1) & (lk->host_cap - 1);
    lk->host_hits[j] = (struct ej__host_hit){name, addr};
    lk->host_n++;
    return 0;
}

void *ej__host_lookup_cached(ej_linker *lk, const char *name, int load_cxx)
{
    for (size_t j = lk->host_cap ? ej__sym_hash(name) & (lk->host_cap - 1) : 0;
         lk->host_cap && lk->host_hits[j].name; j = (j + 1) & (lk->host_cap - 1))
        if (strcmp(lk->host_hits[j].name, name) == 0)
            return lk->host_hits[j].addr;
    void *addr = ej__host_lookup(lk, name, load_cxx);
    /* (A failure is not remembered: the next lookup says why it failed.) */
    if (addr)
        (void)remember(lk, name, addr);
    return addr;
}

int ej__host_is_function(const void *addr)
{
    Dl_info info;
    const ElfW(Sym) *sym = NULL;
    if (!dladdr1(addr, &info, (void **)&sym, RTLD_DL_SYMENT) || !sym)
        return 0;
    unsigned type = ELF64_ST_TYPE(sym->st_info);
    return type == STT_FUNC || type == STT_GNU_IFUNC;
}

uint64_t ej__host_symbol_size(const void *addr)
{
    Dl_info info;
    const ElfW(Sym) *sym = NULL;
    if (!dladdr1(addr, &info, (void **)&sym, RTLD_DL_SYMENT) || !sym || info.dli_saddr != addr)
        return 0;
    return sym->st_size;
}
