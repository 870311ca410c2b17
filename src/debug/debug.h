/* Registrations that make loaded code visible to debuggers and unwinders:
 * GDB's JIT interface (gdbjit.c, with the image it registers built by
 * symfile.c and the DWARF relocated by dwarf.c) and the unwinder's frame
 * tables (frames.c).  The link driver registers after the module's
 * protections are final and unregisters before unmapping; link-only
 * modules (nothing runs) are never registered. */
#ifndef EJ_DEBUG_DEBUG_H
#define EJ_DEBUG_DEBUG_H

#include "link/module.h"

/* Registers M's .eh_frame (m->eh_addr, m->eh_size) with the process's
 * unwinder.  Errors: EJ_UNSUPPORTED (no unwinder can be found). */
ej_status ej__frames_register(ej_module *m, ej__err *err);
void ej__frames_unregister(ej_module *m);

/* Builds M's debug image from the linker's objects (still alive: called
 * during ej_linker_link) and registers it with GDB's JIT interface.
 * Errors: EJ_NOMEM, EJ_IO (libelf). */
ej_status ej__gdb_register(ej_module *m, const ej_linker *lk, ej__err *err);
void ej__gdb_unregister(ej_module *m);

/* The ELF image GDB is given for M: sections at their load addresses,
 * absolute symbols, relocated DWARF.  *OUT is malloc()ed. */
ej_status ej__symfile_build(const ej_module *m, const ej_linker *lk, void **out, size_t *len,
                            ej__err *err);

/* The DWARF sections of LK's objects, combined by name and relocated
 * against the module's final addresses, as sections for the writer;
 * freed with ej__dwarf_free. */
typedef struct ej__dwarf {
    struct ej__dwarf_sec {
        const char *name;
        uint8_t *data;
        size_t size;
    } *secs;
    size_t n;
} ej__dwarf;
ej_status ej__dwarf_build(const ej_linker *lk, ej__dwarf *out, ej__err *err);
void ej__dwarf_free(ej__dwarf *d);

#endif
