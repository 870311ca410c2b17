/* The process-wide registry of live modules' address ranges, so that an
 * address (a handler passed to atexit, a faulting PC) can be mapped to the
 * module that holds it.
 *
 * Thread safety: every function may be called from any thread.  Writers
 * (ej__registry_add, ej__registry_add_range, ej__registry_remove) serialize
 * among themselves and may block; they are NOT async-signal-safe (they
 * allocate and take a mutex).  Readers (ej__registry_visit,
 * ej__registry_find, ej__registry_count) never block, never allocate and
 * make no system call: they are wait-free and async-signal-safe, also in a
 * handler that interrupted a writer or a reader on the same thread.  See
 * registry.c for the scheme. */
#ifndef EJ_RUNTIME_REGISTRY_H
#define EJ_RUNTIME_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#include "common/common.h"

/* One live module's code range [START, END), as registered.  M is the
 * module, DSO its __dso_handle.  DATA is an opaque pointer the module layer
 * sets (its immutable PC-lookup tables); may be NULL.  Whatever DATA points
 * to must stay valid until ej__registry_remove(M) has returned. */
typedef struct ej__range {
    uint64_t start, end;
    ej_module *m;
    void *dso;
    const void *data;
} ej__range;

/* Registers *R (copied).  Ranges of live modules must not overlap; a range
 * with START >= END is stored but never matches.  Returns EJ_OK, or
 * EJ_NOMEM (the registry is then unchanged).  When it returns, every later
 * lookup on any thread sees the range.  Thread-safe; not
 * async-signal-safe; must not be called from inside a visit callback (it
 * waits for readers, including that one). */
ej_status ej__registry_add_range(const ej__range *r);

/* ej__registry_add_range of {START, END, M, DSO, NULL}. */
ej_status ej__registry_add(uint64_t start, uint64_t end, ej_module *m, void *dso);

/* Removes every range of module M (nothing when it has none).  Returns only
 * when no reader can still see them: no lookup in progress on any thread
 * holds one, and no later lookup finds one, so the caller may then unmap M's
 * code and free M and the ranges' DATA.  Thread-safe; not
 * async-signal-safe; must not be called from inside a visit callback.  It
 * cannot fail: it needs no new memory (see registry.c). */
void ej__registry_remove(ej_module *m);

/* Looks ADDR up and, when a range holds it, calls FN(CTX, RANGE) INSIDE the
 * read-side critical section, so FN may read memory the range's module owns
 * (the module cannot be unregistered and freed while FN runs).  RANGE
 * points into the registry's table: read it, do not keep it past FN.
 * Returns 1 when found (FN was called once), 0 otherwise (FN not called).
 * Wait-free, lock-free, async-signal-safe (may be called from a signal
 * handler, including one that interrupted a writer or another reader on the
 * same thread).  FN must itself be async-signal-safe when called from a
 * handler, must return (no longjmp out of it), and must not add or remove
 * ranges; while it runs, a writer on another thread waits for it, so keep
 * it short. */
int ej__registry_visit(uint64_t addr, void (*fn)(void *ctx, const ej__range *r), void *ctx);

/* The module holding ADDR, or NULL; when found, *DSO receives its
 * __dso_handle (left untouched otherwise).  A visit that copies M and DSO
 * out: wait-free and async-signal-safe.  The module may be freed right
 * after it returns unless the caller otherwise keeps it alive. */
ej_module *ej__registry_find(uint64_t addr, void **dso);

/* The number of live ranges (for tests and benchmarks): a snapshot, exact
 * when no writer runs concurrently.  Wait-free, async-signal-safe. */
size_t ej__registry_count(void);

#endif
