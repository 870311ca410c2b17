/* Registrars that make loaded code visible to debuggers, unwinders and
 * profilers (each a row of src/register's table): GDB's JIT interface
 * (gdbjit.c, with the image it registers built by symfile.c), the
 * unwinder's frame tables (frames.c), perf's map (perf_map.c) and jitdump
 * (jitdump.c).  Each reads only the finished image's description
 * (src/image/image.h): nothing here knows the linker. */
#ifndef EJ_DEBUG_DEBUG_H
#define EJ_DEBUG_DEBUG_H

#include "image/image.h"
#include "register/register.h"

/* The ELF image GDB is given for IMG: sections at their load addresses,
 * absolute symbols, the relocated DWARF.  *OUT is malloc()ed.
 * Errors: EJ_NOMEM, EJ_IO (libelf). */
ej_status ej__symfile_build(const ej__image *img, void **out, size_t *len, ej__err *err);

#endif
