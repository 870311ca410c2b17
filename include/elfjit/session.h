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

/* ---- hot swap ------------------------------------------------------------
 *
 * A redirectable name stands for a small stub of the session's that jumps
 * through a slot: 8 bytes holding the address of the definition calls run
 * now.  Once NAME is redirectable, it means that stub everywhere in S:
 * links of later modules call and take the address of the stub, and
 * ej_session_symbol returns it, so function pointers taken at any time
 * follow every change of definition.  Linking a module that exports NAME
 * (a function) points the slot at the new definition: one aligned atomic
 * store, then every thread's pipeline synchronised (src/coherence), so a
 * concurrent call runs the old version or the new one, never a mix, and
 * every call that starts after ej_session_link returns runs the new one.
 * Freeing the module with the current definition points the slot back at
 * the newest remaining one (or, for a lazy name, at its materialiser
 * again; else at the trap function, EJ_SESSION_TRAP_UNRESOLVED).
 *
 * What is not redirected: calls inside the module that defines NAME (they
 * bind to their own definition at its link), and modules linked before
 * NAME became redirectable (they call the definition they found then).
 *
 * Freeing old code: a module whose definition was replaced stays mapped
 * until the embedder frees it.  Before freeing it, the embedder must know
 * that no thread is still inside its code or about to return into it (a
 * call that loaded the old target just before the swap may still be
 * running it): for example, every calling thread has passed a quiescent
 * point since the swap (an epoch, RCU-style), or the calls are known to
 * have returned.  elfjit cannot know where other threads are. */

/* The code a call no definition serves goes to: the session's trap
 * function, whose one instruction raises SIGILL; ej_lookup_pc on that PC
 * reports this trap code. */
#define EJ_SESSION_TRAP_UNRESOLVED 0x656a0001u

/* Makes NAME redirectable in S (see above).  Its slot starts at the
 * newest live definition of NAME in S, or at the trap function when there
 * is none yet.  Calling it again for a redirectable name does nothing.
 * Errors: EJ_INVAL, EJ_NOMEM, EJ_MAP (no shared code memory for the stub).
 * Thread-safe. */
ej_status ej_session_redirect(ej_session *s, const char *name);

/* ---- lazy compilation ----------------------------------------------------
 *
 * A declared name is redirectable and starts at a lazy stub: the first
 * call runs the materialiser, on the calling thread, which must link a
 * module defining NAME into S (ej_session_link); the slot then points at
 * that definition and the call continues there with every argument
 * register as the caller left it (integer, floating-point and vector
 * argument registers, x86_64's al for variadic calls, aarch64's x8
 * indirect-result register, stack arguments and the return address).
 * Concurrent first calls run the materialiser once: the other threads wait
 * for it and continue into its result.  Later calls go straight through
 * the slot.
 *
 * A materialiser that fails (returns a status other than EJ_OK, or
 * returns EJ_OK without a module of S defining NAME as a function) makes
 * the name fail: that call, those waiting and every later call go to
 * ON_FAILURE (with the caller's arguments, as the definition would have
 * been entered), or to the trap function when ON_FAILURE is NULL (a
 * SIGILL handler then finds EJ_SESSION_TRAP_UNRESOLVED with ej_lookup_pc
 * and decides).  ej_session_lazy_state tells what happened.  A module
 * linked later that defines NAME still takes the slot (the name is then
 * defined), and when that definition goes the materialiser runs again at
 * the next call.
 *
 * The materialiser may link modules that call other declared names, and
 * may call them; calling NAME itself before its definition is linked goes
 * to the failure target (there is nothing else to run). */

/* Links a module defining NAME into S (ej_session_link); CTX is the
 * pointer given to ej_session_declare.  Runs on the thread making the
 * first call, holding no elfjit lock. */
typedef ej_status (*ej_materialize_fn)(ej_session *s, const char *name, void *ctx);

/* Declares NAME in S with materialiser FN (see above).  When a live module
 * of S already defines NAME, the slot starts there and FN runs only after
 * every definition has been freed.  Declaring a failed name again re-arms
 * it with FN.  Errors: EJ_INVAL (NULL S, NAME or FN), EJ_STATE (NAME is
 * already redirectable or declared and not failed), EJ_NOMEM, EJ_MAP.
 * Thread-safe. */
ej_status ej_session_declare(ej_session *s, const char *name, ej_materialize_fn fn, void *ctx,
                             void *on_failure);

/* The state of declared name NAME: EJ_OK (a definition is in place),
 * EJ_STATE (not materialised yet, or now), EJ_INVAL (not declared), or the
 * failure's status, with its message in MSG (LEN bytes, may be 0) naming
 * the name and why.  Thread-safe. */
ej_status ej_session_lazy_state(ej_session *s, const char *name, char *msg, size_t len);

/* Takes module M of S out of the namespace without freeing it: names it
 * exported are found in older modules again, and each redirectable one
 * goes back to the newest remaining definition (or its materialiser, or
 * the trap function), as when M is freed; M's code stays mapped, so calls
 * already inside it finish there.  This is how to roll a hot swap back
 * under running callers: retire the new module, wait until no thread can
 * be inside it (see "Freeing old code" above), then free it
 * (ej_module_free or ej_session_remove).  Retiring twice does nothing.
 * Errors: EJ_INVAL (M is not S's).  Thread-safe. */
ej_status ej_session_retire(ej_session *s, ej_module *m);

/* Frees every module of S, newest first (so a module goes before those it
 * depends on), then S.  NULL is a no-op.  No module of S may be running
 * or used afterwards. */
void ej_session_free(ej_session *s);

#ifdef __cplusplus
}
#endif

#endif /* ELFJIT_SESSION_H */
