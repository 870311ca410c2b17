/* A linked module: its code memory, the description of its image
 * (src/image), and what registered it. */
#ifndef EJ_LINK_MODULE_H
#define EJ_LINK_MODULE_H

#include "codemem/codemem.h"
#include "image/image.h"
#include "link/linker.h"
#include "register/register.h"

struct ej_module {
    ej__err *err;        /* made at the first failure (ej__module_err): a
                          * million small modules need no 1 KiB message each */
    ej__codemem mem;
    ej__image img;       /* what was linked: everything lookups and registrars read */
    struct ej__tls_module *tls; /* its thread-local storage, known to the C library */
    unsigned registration;  /* EJ_REGISTER_* asked for at link time */
    /* Each registrar's own state (src/register), by its row. */
    void *reg_slot[EJ_REGISTRAR_SLOTS];
    size_t nregistered;     /* registrars done, in table order */
    int initialized;
    char *entry;            /* loaded from an image: the function it names to run */
    /* Set by whoever holds the module beside its user (a session,
     * src/session): called by ej_module_free first; 0 defers the free to
     * that holder, which later calls ej__module_destroy. */
    int (*before_free)(ej_module *m);
    void *holder;           /* that holder's record of M */
};

/* Frees M now: destructors, registrations, memory (ej_module_free's work,
 * whoever holds M). */
void ej__module_destroy(ej_module *m);

/* Where a failure on M leaves its message: allocated at the first one
 * (under memory exhaustion, a per-thread message instead). */
ej__err *ej__module_err(ej_module *m);

/* Registers M with every registrar FLAGS (EJ_REGISTER_*) asks for, from
 * its image description alone (src/register), then drops the debugger's
 * view (the debugger's image holds its own copy).  On failure what was
 * registered is undone.  For a link and for an image's load. */
ej_status ej__module_register(ej_module *m, unsigned flags, ej__err *err);

/* Builds M's export table from the linker's global symbols. */
ej_status ej__module_exports(ej_module *m, const ej_linker *lk, ej__err *err);

/* Collects M's constructor and destructor arrays from the laid-out
 * sections, sorted in the order they run. */
ej_status ej__module_initfini(ej_module *m, const ej_linker *lk, ej__err *err);

/* Builds M's PC map: functions, trap tables, address maps (pcmap.c). */
ej_status ej__module_pcmap(ej_module *m, const ej_linker *lk, ej__err *err);


#endif
