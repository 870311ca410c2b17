/* Destructors of C++ thread_local objects in loaded code.
 *
 * Compilers register them with __cxa_thread_atexit(dtor, obj, &__dso_handle);
 * the C library runs them when the thread exits, but knows nothing of a
 * module's unloading: a module freed while some thread still holds its
 * thread_local objects would leave that thread to call unmapped code at
 * exit.  So loaded code's registrations come here (a loader shim, as for
 * atexit): each thread keeps its own list; unloading a module runs the
 * unloading thread's destructors for it at once, and, while other threads
 * still hold some, keeps the module's memory until the last of them has
 * run (what glibc does for a dlclose()d library). */
#ifndef EJ_RUNTIME_THREAD_DTORS_H
#define EJ_RUNTIME_THREAD_DTORS_H

#include <stddef.h>

/* The shim for __cxa_thread_atexit and __cxa_thread_atexit_impl: runs
 * DTOR(OBJ) when the calling thread exits, or when the module whose
 * __dso_handle is DSO is unloaded from this thread.  0, or -1 when out of
 * memory. */
int ej__thread_atexit(void (*dtor)(void *), void *obj, void *dso);

/* Runs the calling thread's destructors for DSO, newest first. */
void ej__thread_dtors_run(void *dso);

/* When other threads still hold destructors for DSO, arranges for
 * RELEASE(CTX) to be called (on the thread that runs the last of them)
 * and returns 1; otherwise returns 0 and the caller releases now.  A DSO
 * handed here must not get new destructors. */
int ej__thread_dtors_defer(void *dso, void (*release)(void *), void *ctx);

#endif
