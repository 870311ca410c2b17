/* Loading the shared object that describes a module's TLS (tlsmod.h):
 * written into a memfd, dlopen()ed through /proc/self/fd, its table read
 * back once the loader has relocated it. */
#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tls/tlsmod.h"

struct ej__tls_module {
    void *handle;
    int fd;
    uint64_t memsz;
};

/* The loader identifies an object by the name it was opened under before
 * anything else, so that name must not be reused while the object is
 * loaded: the memfd stays open (its number taken) until the unload. */
static ej_status open_memfd(int *fd, char *path, size_t len, ej__err *err)
{
    *fd = memfd_create("elfjit-tls", MFD_CLOEXEC);
    if (*fd < 0)
        return ej__fail(err, errno == ENOMEM ? EJ_NOMEM : EJ_IO,
                        "cannot create a memory file for the thread-local storage module: %s",
                        strerror(errno));
    snprintf(path, len, "/proc/self/fd/%d", *fd);
    return EJ_OK;
}

/* What the loader said, as a status: the static TLS space is exhausted, a
 * name is undefined, memory ran out (ERRNO, as dlopen left it: the
 * loader's message for that is not always its own), or anything else. */
static ej_status load_failed(const char *why, int errno_, const ej__tls_block *b, ej__err *err)
{
    if (strstr(why, "static TLS"))
        return ej__fail(err, EJ_STATIC_TLS, "the C library has no static TLS space left for "
                        "a %llu-byte thread-local block: %s", (unsigned long long)b->memsz, why);
    if (access("/proc/self/fd", X_OK) != 0)
        return ej__fail(err, EJ_IO, "the C library cannot load the thread-local storage module "
                        "(through /proc/self/fd, which is not there: is /proc mounted?): %s", why);
    const char *u = strstr(why, "undefined symbol: ");
    if (u)
        return ej__fail(err, EJ_UNDEFINED, "undefined thread-local variable '%s'",
                        u + strlen("undefined symbol: "));
    if (errno_ == ENOMEM || strstr(why, "out of memory") || strstr(why, "Cannot allocate memory") ||
        strstr(why, "cannot create shared object descriptor"))
        return ej__fail(err, EJ_NOMEM, "the C library cannot load the thread-local storage "
                        "module: out of memory (%s)", why);
    return ej__fail(err, EJ_IO, "the C library cannot load the thread-local storage module: %s%s%s",
                    why, errno_ ? ": " : "", errno_ ? strerror(errno_) : "");
}

ej_status ej__tls_module_load(uint16_t machine, const struct ej__tls_abi *a,
                              const ej__tls_block *b, const ej__tls_word *w, size_t n,
                              uint64_t *out, ej__tls_module **mod, ej__err *err)
{
    char path[64];
    uint64_t table = 0;
    *mod = NULL;
    ej__tls_module *m = calloc(1, sizeof *m);
    if (!m)
        return ej__fail(err, EJ_NOMEM, "out of memory for the thread-local storage module");
    m->memsz = b->memsz;
    ej_status st = open_memfd(&m->fd, path, sizeof path, err);
    if (st == EJ_OK)
        st = ej__tls_module_write(m->fd, machine, a, b, w, n, &table, err);
    if (st == EJ_OK) {
        errno = 0;
        m->handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
        if (!m->handle) {
            int e = errno;
            const char *why = dlerror();
            st = load_failed(why ? why : "unknown reason", e, b, err);
        }
    }
    struct link_map *lm = NULL;
    if (st == EJ_OK && (dlinfo(m->handle, RTLD_DI_LINKMAP, &lm) != 0 || !lm))
        st = ej__fail(err, EJ_IO, "cannot find where the thread-local storage module is loaded");
    if (st != EJ_OK) {
        ej__tls_module_unload(m);
        return st;
    }
    size_t words = 0;
    for (size_t i = 0; i < n; i++)
        words += ej__tls_word_count(&w[i]);
    memcpy(out, (const void *)(uintptr_t)(lm->l_addr + table), words * 8);
    *mod = m;
    return EJ_OK;
}

void *ej__tls_module_block(const ej__tls_module *mod)
{
    /* dlsym of a TLS symbol is the calling thread's copy: the C library
     * allocates it if this thread has none yet. */
    return mod && mod->memsz ? dlsym(mod->handle, EJ_TLS_BLOCK_SYMBOL) : NULL;
}

uint64_t ej__tls_static_align(void)
{
    /* glibc's loader exports it (GLIBC_PRIVATE: looked up, not linked). */
    void (*info)(size_t *, size_t *) =
        (void (*)(size_t *, size_t *))dlsym(RTLD_DEFAULT, "_dl_get_tls_static_info");
    size_t size = 0, align = 0;
    if (info)
        info(&size, &align);
    return align;
}

void ej__tls_module_unload(ej__tls_module *mod)
{
    if (!mod)
        return;
    if (mod->handle)
        dlclose(mod->handle);
    if (mod->fd >= 0)
        close(mod->fd);
    free(mod);
}
