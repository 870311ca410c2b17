/* Module accessors and unloading. */
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#include "link/module.h"
#include "runtime/thread_dtors.h"
#include "tls/tlsmod.h"

typedef void (*cxa_finalize_fn)(void *);

EJ_API ej_status ej_module_read(ej_module *m, uint64_t addr, void *buf, size_t len)
{
    if (!m || (!buf && len))
        return m ? ej__fail(ej__module_err(m), EJ_INVAL, "ej_module_read: NULL argument") : EJ_INVAL;
    if (m->mem.shared) {
        /* Its classes lie apart: the range must be inside one of them. */
        for (int c = 0; c < EJ_CLS_COUNT; c++)
            if (addr >= m->img.cls_addr[c] && addr - m->img.cls_addr[c] <= m->img.cls_size[c] &&
                len <= m->img.cls_size[c] - (addr - m->img.cls_addr[c])) {
                memcpy(buf, (const void *)(uintptr_t)addr, len);
                return EJ_OK;
            }
        return ej__fail(ej__module_err(m), EJ_RANGE, "0x%llx+%zu is not inside one of the module's "
                        "classes (it is in shared code memory)", (unsigned long long)addr, len);
    }
    if (addr < m->img.vbase || addr - m->img.vbase > m->img.size || len > m->img.size - (addr - m->img.vbase))
        return ej__fail(ej__module_err(m), EJ_RANGE, "0x%llx+%zu is outside the image [0x%llx, 0x%llx)",
                        (unsigned long long)addr, len, (unsigned long long)m->img.vbase,
                        (unsigned long long)(m->img.vbase + m->img.size));
    memcpy(buf, ej__codemem_view(&m->mem) + (addr - m->img.vbase), len);
    return EJ_OK;
}

EJ_API void ej_module_range(const ej_module *m, uint64_t *start, uint64_t *end)
{
    if (start)
        *start = m ? m->img.vbase : 0;
    if (end)
        *end = m ? m->img.vbase + m->img.size : 0;
}

ej__err *ej__module_err(ej_module *m)
{
    static _Thread_local ej__err fallback;
    if (!m->err && !(m->err = calloc(1, sizeof *m->err)))
        return &fallback;
    return m->err;
}

EJ_API const char *ej_module_errmsg(const ej_module *m)
{
    return m && m->err ? m->err->msg : "";
}

/* Unloading undoes the link in reverse: destructors (and every handler
 * registered against this module's __dso_handle), registry, mapping. */
/* The memory, the TLS block and the description: once nothing can run the
 * module's code any more. */
static void release(void *module)
{
    ej_module *m = module;
    ej__codemem_release(&m->mem);
    ej__tls_module_unload(m->tls);
    ej__image_free(&m->img);
    free(m->entry);
    free(m->err);
    free(m);
}

ej_status ej__module_register(ej_module *m, unsigned flags, ej__err *err)
{
    m->registration = flags;
    ej_status st = ej__register_image(&m->img, m, flags, m->reg_slot, &m->nregistered, err);
    ej__image_drop_debug(&m->img);
    if (st != EJ_OK)
        ej__unregister_image(&m->img, m, flags, m->reg_slot, &m->nregistered);
    return st;
}

EJ_API const char *ej_module_entry(const ej_module *m)
{
    return m ? m->entry : NULL;
}

EJ_API void ej_module_free(ej_module *m)
{
    if (!m)
        return;
    /* A module some namespace holds (src/session) is freed when it says. */
    if (m->before_free && !m->before_free(m))
        return;
    ej__module_destroy(m);
}

void ej__module_destroy(ej_module *m)
{
    /* This thread's thread_local objects first, as at exit. */
    ej__thread_dtors_run(m->img.dso_handle);
    if (m->initialized) {
        cxa_finalize_fn fin = (cxa_finalize_fn)dlsym(RTLD_DEFAULT, "__cxa_finalize");
        if (fin)
            fin(m->img.dso_handle);
    }
    ej__unregister_image(&m->img, m, m->registration, m->reg_slot, &m->nregistered);
    /* Other threads' thread_local objects still to be destroyed keep the
     * code mapped until the last destructor has run. */
    if (!ej__thread_dtors_defer(m->img.dso_handle, release, m))
        release(m);
}
