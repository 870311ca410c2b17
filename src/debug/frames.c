/* Registering a module's .eh_frame with the process's unwinder, so that
 * backtrace(), _Unwind_Backtrace and C++ exceptions walk through loaded
 * code.  The layout put every .eh_frame of the module end to end, followed
 * by a zero terminator (src/link/layout.c).
 *
 * Two unwinders take registrations with different meanings:
 *   - libgcc takes a whole table, up to its zero terminator, and searches
 *     it lazily.  Its __register_frame(begin) malloc()s the record it
 *     keeps and uses it unchecked (libgcc 12 crashes when that malloc
 *     fails), so elfjit calls __register_frame_info(begin, record) with a
 *     record it allocated and checked itself, as crtbegin.o does, and
 *     frees it after __deregister_frame_info hands it back;
 *   - LLVM's libunwind's __register_frame(fde) takes ONE FDE (its
 *     __register_frame_info is a no-op kept for crtbegin.o).
 * libunwind is recognised at run time by a function only it exports
 * (__unw_add_dynamic_fde); with it, every FDE is registered on its own.
 * The functions are looked up in the process, and libgcc_s is loaded when
 * no unwinder is there yet (a C program need not have one).
 *
 * The search is made under a mutex and remembered only when it succeeds:
 * a dlopen that failed for a passing reason (out of memory, descriptors
 * exhausted) is tried again by the next link instead of failing every
 * link after it. */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "debug/debug.h"

typedef void (*frame_fn)(const void *);
typedef void (*frame_info_fn)(const void *, void *);
typedef void *(*deframe_info_fn)(const void *);

/* Room for libgcc's `struct object` (six words in libgcc 12), with margin
 * for later versions; zeroed, as crtbegin.o's static one is. */
#define FRAME_RECORD_SIZE 128

static pthread_mutex_t unwinder_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    int found;                 /* set once, under unwinder_lock */
    int per_fde;               /* LLVM libunwind */
    frame_fn reg, dereg;       /* per_fde */
    frame_info_fn reg_info;    /* libgcc */
    deframe_info_fn dereg_info;
} unwinder;

/* Fills `unwinder` (under unwinder_lock); 0 or a message for the failure. */
static const char *find_unwinder(char *why, size_t len, int *nomem)
{
    void *lib = NULL, *from = RTLD_DEFAULT;
    if (!dlsym(RTLD_DEFAULT, "__register_frame")) {
        errno = 0;
        if (!(lib = dlopen("libgcc_s.so.1", RTLD_NOW | RTLD_GLOBAL))) {
            const char *e = dlerror();
            *nomem = errno == ENOMEM;
            snprintf(why, len, "no unwinder in the process to register .eh_frame with "
                     "(__register_frame not found, libgcc_s.so.1 not loadable%s: %s)",
                     *nomem ? ", out of memory" : "", e ? e : "unknown reason");
            return why;
        }
        from = lib;
    }
    int per_fde = dlsym(RTLD_DEFAULT, "__unw_add_dynamic_fde") != NULL;
    frame_fn reg = (frame_fn)dlsym(from, "__register_frame");
    frame_fn dereg = (frame_fn)dlsym(from, "__deregister_frame");
    frame_info_fn reg_info = (frame_info_fn)dlsym(from, "__register_frame_info");
    deframe_info_fn dereg_info = (deframe_info_fn)dlsym(from, "__deregister_frame_info");
    if (per_fde ? !reg || !dereg : !reg_info || !dereg_info) {
        if (lib)
            dlclose(lib);
        snprintf(why, len, "the process's unwinder lacks %s",
                 per_fde ? "__register_frame/__deregister_frame"
                         : "__register_frame_info/__deregister_frame_info");
        return why;
    }
    unwinder.per_fde = per_fde;
    unwinder.reg = reg;
    unwinder.dereg = dereg;
    unwinder.reg_info = reg_info;
    unwinder.dereg_info = dereg_info;
    unwinder.found = 1;
    return NULL;
}

/* Calls FN on every FDE of the table [P, END) (records whose CIE pointer
 * is not 0); stops at the terminator. */
static void each_fde(const uint8_t *p, const uint8_t *end, frame_fn fn)
{
    while (p + 8 <= end) {
        uint32_t len, id;
        memcpy(&len, p, 4);
        if (len == 0 || len == 0xffffffffu) /* terminator; 64-bit DWARF never in .eh_frame */
            return;
        memcpy(&id, p + 4, 4);
        if (id != 0)
            fn(p);
        p += 4 + (uint64_t)len;
    }
}

ej_status ej__reg_add_UNWIND(const ej__image *img, void *owner, void **slot, ej__err *err)
{
    (void)owner;
    if (!img->eh_size)
        return EJ_OK;
    char why[512];
    int nomem = 0;
    pthread_mutex_lock(&unwinder_lock);
    const char *failed = unwinder.found ? NULL : find_unwinder(why, sizeof why, &nomem);
    pthread_mutex_unlock(&unwinder_lock);
    if (failed)
        return ej__fail(err, nomem ? EJ_NOMEM : EJ_UNSUPPORTED, "%s", failed);
    const uint8_t *eh = (const uint8_t *)(uintptr_t)img->eh_addr;
    if (unwinder.per_fde) {
        each_fde(eh, eh + img->eh_size, unwinder.reg);
        *slot = &unwinder; /* registered; nothing to free */
    } else {
        if (!(*slot = calloc(1, FRAME_RECORD_SIZE)))
            return ej__fail(err, EJ_NOMEM, "out of memory registering .eh_frame");
        unwinder.reg_info(eh, *slot);
    }
    return EJ_OK;
}

void ej__reg_remove_UNWIND(const ej__image *img, void *owner, void **slot)
{
    (void)owner;
    if (!*slot)
        return;
    const uint8_t *eh = (const uint8_t *)(uintptr_t)img->eh_addr;
    if (unwinder.per_fde) {
        each_fde(eh, eh + img->eh_size, unwinder.dereg);
    } else {
        unwinder.dereg_info(eh);
        free(*slot);
    }
    *slot = NULL;
}
