/* `-L DIR` and `-l NAME` as a system linker reads them (libsearch.c). */
#ifndef EJ_TOOL_LIBSEARCH_H
#define EJ_TOOL_LIBSEARCH_H

#include "elfjit/elfjit.h"

/* Adds library NAME to LK: a path or a soname as given; otherwise
 * libNAME.so (a linker script: what it names) or libNAME.a, searched in
 * the N directories DIRS in order, then in the system's; in each
 * directory the shared library first unless STATIC_ONLY.  An archive is
 * added with ARCHIVE_FLAGS (EJ_ARCHIVE_*).  Errors: the linker's (its
 * message names the library), EJ_NOTFOUND. */
ej_status ej_tool_add_library(ej_linker *lk, const char *name, const char *const *dirs, int n,
                              int static_only, unsigned archive_flags);

#endif
