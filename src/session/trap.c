/* The session's trap function: where a call goes that no definition can
 * serve (a redirectable name with none, a lazy name whose materialiser
 * failed).  It is an ordinary module built through the builder, so the
 * PC registry knows its one instruction as a trap site
 * (EJ_SESSION_TRAP_UNRESOLVED: what ej_lookup_pc reports from a SIGILL
 * handler), and debuggers and profilers see it by name. */
#include <stdlib.h>

#include "elfjit/builder.h"
#include "session/lazy_arch.h"
#include "session/session_impl.h"

#define TRAP_NAME "ej_session_unresolved"

static ej_status build(ej_session *s, void **img, size_t *len)
{
    ej_builder *b;
    uint32_t f;
    ej_status st = ej_builder_create(&b, 0);
    if (st != EJ_OK)
        return ej__fail(&s->err, st, "cannot build the session's trap function");
    if ((st = ej_builder_add_function(b, TRAP_NAME, ej__trap_insn, ej__trap_insn_size, 16,
                                      EJ_BIND_GLOBAL, &f)) != EJ_OK ||
        (st = ej_builder_add_trap(b, f, 0, EJ_SESSION_TRAP_UNRESOLVED)) != EJ_OK ||
        (st = ej_builder_finish(b, img, len)) != EJ_OK)
        ej__fail(&s->err, st, "cannot build the session's trap function: %s",
                 ej_builder_errmsg(b));
    ej_builder_free(b);
    return st;
}

uint64_t ej__session_trap(ej_session *s)
{
    if (s->trap_addr)
        return s->trap_addr;
    void *img;
    size_t len;
    if (build(s, &img, &len) != EJ_OK)
        return 0;
    ej_linker *lk;
    ej_module *m = NULL;
    ej_status st = ej_linker_create(&lk);
    if (st != EJ_OK) {
        free(img);
        ej__fail(&s->err, st, "cannot link the session's trap function");
        return 0;
    }
    if ((st = ej_linker_add_buffer(lk, "elfjit-session-trap.o", img, len)) != EJ_OK ||
        (st = ej_linker_link(lk, &m)) != EJ_OK)
        ej__fail(&s->err, st, "cannot link the session's trap function: %s",
                 ej_linker_errmsg(lk));
    ej_linker_free(lk);
    free(img);
    if (st != EJ_OK)
        return 0;
    s->trap = m;
    s->trap_addr = (uint64_t)(uintptr_t)ej_module_symbol(m, TRAP_NAME);
    return s->trap_addr;
}
