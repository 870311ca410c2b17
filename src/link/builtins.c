/* Host symbols: the resolver, -l libraries, the process and libm; and the
 * few functions a normal link takes from libc_nonshared.a (atexit and
 * friends), which register handlers against the module that owns them so
 * that unloading the module runs them. */
#include <dlfcn.h>
#include <link.h>
#include <pthread.h>
#include <string.h>

#include "link/linker.h"
#include "runtime/registry.h"

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
    return NULL;
}

/* A normal link of C code also searches libm (when asked) and libgcc
 * (always: the compiler calls its helpers, such as __udivti3 or __muldc3,
 * on its own).  Hosts do not necessarily have them loaded, so they are
 * opened on first need, once, for the life of the process: loaded code may
 * keep their addresses. */
static pthread_once_t fallback_once = PTHREAD_ONCE_INIT;
static void *fallback_libs[2];

static void open_fallbacks(void)
{
    fallback_libs[0] = dlopen("libm.so.6", RTLD_NOW | RTLD_GLOBAL);
    fallback_libs[1] = dlopen("libgcc_s.so.1", RTLD_NOW | RTLD_GLOBAL);
}

/* The C++ runtime, for objects from g++ and clang++ (operator new, the
 * exception ABI, the standard library): opened only when a name is found
 * nowhere else, so C programs never load it. */
static pthread_once_t cxx_once = PTHREAD_ONCE_INIT;
static void *cxx_lib;

static void open_cxx(void)
{
    cxx_lib = dlopen("libstdc++.so.6", RTLD_NOW | RTLD_GLOBAL);
}

static void *fallback_lookup(const char *name)
{
    pthread_once(&fallback_once, open_fallbacks);
    for (size_t i = 0; i < EJ_ARRAY_LEN(fallback_libs); i++) {
        void *addr = fallback_libs[i] ? dlsym(fallback_libs[i], name) : NULL;
        if (addr)
            return addr;
    }
    pthread_once(&cxx_once, open_cxx);
    return cxx_lib ? dlsym(cxx_lib, name) : NULL;
}

void *ej__host_lookup(ej_linker *lk, const char *name)
{
    void *addr = shim_lookup(name);
    if (addr)
        return addr;
    if (lk->resolver && (addr = lk->resolver(lk->resolver_ctx, name)))
        return addr;
    for (size_t i = 0; i < lk->nlibs; i++)
        if ((addr = dlsym(lk->libs[i], name)))
            return addr;
    if ((addr = dlsym(RTLD_DEFAULT, name)))
        return addr;
    return fallback_lookup(name);
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
