/* GDB's JIT interface, the list itself (gdbjit.c): entries announced to
 * and withdrawn from the debugger.  What goes in an entry, and when, is
 * gdb_batch.c's business. */
#ifndef EJ_DEBUG_GDBJIT_H
#define EJ_DEBUG_GDBJIT_H

#include <pthread.h>
#include <stdint.h>

/* The protocol's entry (its layout is GDB's). */
struct jit_code_entry {
    struct jit_code_entry *next_entry;
    struct jit_code_entry *prev_entry;
    const char *symfile_addr;
    uint64_t symfile_size;
};

/* Guards the list and everything gdb_batch.c keeps beside it. */
extern pthread_mutex_t ej__gdb_lock;

/* Puts E (its symfile set) at the head of the list and tells the debugger
 * (one stop in __jit_debug_register_code when one is attached).
 * ej__gdb_lock held. */
void ej__gdb_announce(struct jit_code_entry *e);

/* Takes E out of the list and tells the debugger.  ej__gdb_lock held. */
void ej__gdb_withdraw(struct jit_code_entry *e);

#endif
