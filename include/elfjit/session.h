/* elfjit sessions: a namespace of modules, for a JIT that adds code
 * function by function and calls across what it added before (LLVM ORC's
 * JITDylib, Cranelift's JITModule).
 *
 *     ej_session *s;
 *     ej_session_create(&s);
 *     // module 1 defines f
 *     ej_linker_create(&lk); ej_linker_add_buffer(lk, "f.o", f_obj, n);
 *     ej_session_link(s, lk, &m1); ej_linker_free(lk);
 *     // module 2 calls f: resolved against module 1
 *     ej_linker_create(&lk); ej_linker_add_buffer(lk, "g.o", g_obj, n);
 *     ej_session_link(s, lk, &m2); ej_linker_free(lk);
 *     int (*g)(int) = (int (*)(int))ej_session_symbol(s, "g");
 *     ...
 *     ej_session_free(s);   // m2, then m1
 *
 * The conventions of elfjit.h apply (statuses, messages, handles). */
#ifndef ELFJIT_SESSION_H
#define ELFJIT_SESSION_H

#include "elfjit/elfjit.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ej_session ej_session;

/* Creates an empty session in *OUT.  Errors: EJ_INVAL, EJ_NOMEM. */
ej_status ej_session_create(ej_session **out);

/* The message of the last failure on S ("" when none; never NULL).
 * Valid until the next call on S. */
const char *ej_session_errmsg(const ej_session *s);

/* Links what LK holds (as ej_linker_link does) into S.  Names no object
 * of LK defines are looked up in S first (the newest live module that
 * exports the name wins), then in LK's resolver, its libraries and the
 * host.  Calls and references to another module of S are direct when in
 * reach (small modules share code memory arenas, so they mostly are),
 * through a stub otherwise, as for host functions.  The module then
 * depends on each module of S it took a name from.  On success *OUT is
 * the new module, which belongs to S: its exports become S's (shadowing
 * older ones of the same name until it is freed).  Thread-local
 * variables are not exported to the session (a module reaches another's
 * through ej_module_symbol).  LK is used up as by ej_linker_link (free
 * it as usual).  Errors: those of ej_linker_link; the message is on LK
 * (ej_linker_errmsg) and on S.  Thread-safe against other calls on S
 * (links into one session from several threads are serialised). */
ej_status ej_session_link(ej_session *s, ej_linker *lk, ej_module **out);

/* The address of NAME exported by S's newest live module that exports it,
 * or NULL.  Thread-safe. */
void *ej_session_symbol(ej_session *s, const char *name);

/* Frees module M of S now, unless other live modules of S depend on it:
 * then it stays and EJ_STATE names them (free them first).  Errors:
 * EJ_INVAL (M is not S's).  ej_module_free(M) on a module of S does the
 * same, except that a module still depended on is freed later, when the
 * last module depending on it is freed (it leaves the namespace at once:
 * ej_session_symbol no longer finds it).  Thread-safe. */
ej_status ej_session_remove(ej_session *s, ej_module *m);

/* Frees every module of S, newest first (so a module goes before those it
 * depends on), then S.  NULL is a no-op.  No module of S may be running
 * or used afterwards. */
void ej_session_free(ej_session *s);

#ifdef __cplusplus
}
#endif

#endif /* ELFJIT_SESSION_H */
