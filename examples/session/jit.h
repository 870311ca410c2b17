/* The program in a session: one module per function and version.
 *
 * Loading makes every function's name redirectable before any module is
 * linked, hot ones with ej_session_redirect, cold ones with
 * ej_session_declare and a materialiser that compiles them on their first
 * call.  So every call between modules, and every function pointer the
 * embedder takes, goes through the name's stub and follows each new
 * version of the function: recompiling one (jit_recompile) swaps it in
 * everywhere at once, even while other threads are calling it. */
#ifndef SESSION_JIT_H
#define SESSION_JIT_H

#include <stdint.h>

#include <elfjit/session.h>

#include "codegen.h"

typedef struct jit jit;
typedef int64_t (*jit_fn)(int64_t);

/* Loads P (from FILE, for messages) into a new session: cold functions
 * declared, the others compiled in version START and linked (cold ones
 * get START too, when they are first called).  NULL, with a message on
 * stderr, on failure. */
jit *jit_load(const program *p, const char *file, enum tier start);

/* Function FI: its stub, valid as long as J (every version runs behind
 * it). */
jit_fn jit_entry(const jit *j, int fi);

/* How often FI's materialiser ran (cold functions; 0 for hot ones). */
int jit_lazy_compiles(jit *j, int fi);

/* The call counter of FI's first version, or NULL when that is not
 * linked (a cold function not called yet, or one retired). */
const uint64_t *jit_counter(jit *j, int fi);

/* Compiles the folded version of FI and links it: from the return on,
 * every call of FI runs it.  0 on failure. */
int jit_recompile(jit *j, int fi);

/* Frees the first version of FI, replaced by jit_recompile.  The caller
 * knows that no thread runs it any more (see session.h).  0 on failure. */
int jit_retire(jit *j, int fi);

ej_session *jit_session(jit *j);

/* Frees the session with every module of J. */
void jit_free(jit *j);

#endif
