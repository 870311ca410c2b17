/* Symbols the loader synthesises inside the image, as a normal link gets
 * them from crt files and the linker script: _GLOBAL_OFFSET_TABLE_,
 * __dso_handle, _TLS_MODULE_BASE_ (the TLS block's start), and
 * __start_SEC / __stop_SEC for sections whose names are C identifiers. */
#ifndef EJ_LINK_SYNTH_H
#define EJ_LINK_SYNTH_H

#include "link/linker.h"

/* Binds undefined E to a synthetic definition when its name is one; returns
 * nonzero when it did. */
int ej__synth_bind(ej_linker *lk, ej__sym *e);

/* Whether NAME is one the loader may synthesise (so that no archive or
 * library is searched for it). */
int ej__synth_name(const char *name);

/* True when NAME is a C identifier (such sections get __start_/__stop_). */
int ej__is_c_identifier(const char *name);

#endif
