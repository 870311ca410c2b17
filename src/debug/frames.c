/* Registering a module's .eh_frame with the process's unwinder, so that
 * backtrace(), _Unwind_Backtrace and C++ exceptions walk through loaded
 * code.  The layout put every .eh_frame of the module end to end, followed
 * by a zero terminator (src/link/layout.c).
 *
 * Two unwinders take registrations under the same name with different
 * meanings:
 *   - libgcc's __register_frame(begin) takes a whole table, up to its
 *     zero terminator, and searches it lazily;
 *   - LLVM's libunwind's __register_frame(fde) takes ONE FDE.
 * libunwind is recognised at run time by a function only it exports
 * (__unw_add_dynamic_fde); with it, every FDE is registered on its own.
 * The functions are looked up in the process, and libgcc_s is loaded when
 * no unwinder is there yet (a C program need not have one). */
#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "debug/debug.h"

typedef void (*frame_fn)(const void *);

static struct {
    pthread_once_t once;
    frame_fn reg, dereg;
    int per_fde;
} unwinder = {PTHREAD_ONCE_INIT, NULL, NULL, 0};

static void find_unwinder(void)
{
    void *self = RTLD_DEFAULT;
    if (!dlsym(self, "__register_frame")) {
        void *gcc_s = dlopen("libgcc_s.so.1", RTLD_NOW | RTLD_GLOBAL);
        if (gcc_s)
            self = gcc_s;
    }
    unwinder.reg = (frame_fn)dlsym(self, "__register_frame");
    unwinder.dereg = (frame_fn)dlsym(self, "__deregister_frame");
    unwinder.per_fde = dlsym(RTLD_DEFAULT, "__unw_add_dynamic_fde") != NULL;
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

ej_status ej__frames_register(ej_module *m, ej__err *err)
{
    if (!m->eh_size)
        return EJ_OK;
    pthread_once(&unwinder.once, find_unwinder);
    if (!unwinder.reg || !unwinder.dereg)
        return ej__fail(err, EJ_UNSUPPORTED, "no unwinder in the process to register .eh_frame "
                        "with (__register_frame not found, libgcc_s.so.1 not loadable)");
    const uint8_t *eh = (const uint8_t *)(uintptr_t)m->eh_addr;
    if (unwinder.per_fde)
        each_fde(eh, eh + m->eh_size, unwinder.reg);
    else
        unwinder.reg(eh);
    m->frames_registered = 1;
    return EJ_OK;
}

void ej__frames_unregister(ej_module *m)
{
    if (!m->frames_registered)
        return;
    const uint8_t *eh = (const uint8_t *)(uintptr_t)m->eh_addr;
    if (unwinder.per_fde)
        each_fde(eh, eh + m->eh_size, unwinder.dereg);
    else
        unwinder.dereg(eh);
    m->frames_registered = 0;
}
