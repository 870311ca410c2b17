/* The process-wide registry of live modules' address ranges, so that an
 * address (a handler passed to atexit, a faulting PC) can be mapped to the
 * module that holds it.  Thread-safe.  (A lock-free, signal-safe version
 * comes with the trap work; this one takes a mutex and must not be called
 * from a signal handler.) */
#ifndef EJ_RUNTIME_REGISTRY_H
#define EJ_RUNTIME_REGISTRY_H

#include <stdint.h>

#include "common/common.h"

/* Adds [START, END) for module M with its __dso_handle DSO.  Returns
 * EJ_NOMEM on failure. */
ej_status ej__registry_add(uint64_t start, uint64_t end, ej_module *m, void *dso);

/* Removes module M's ranges. */
void ej__registry_remove(ej_module *m);

/* The module holding ADDR, or NULL; *DSO receives its __dso_handle. */
ej_module *ej__registry_find(uint64_t addr, void **dso);

#endif
