/* GDB's JIT interface (GDB manual, "JIT Compilation Interface"): a
 * debugger that knows these two symbols puts a breakpoint in
 * __jit_debug_register_code; each time it is called, the debugger reads
 * the entry named by __jit_debug_descriptor and loads (or drops) the ELF
 * image it points to.  lldb implements the same protocol.
 *
 * The list is a process-wide doubly linked list under a mutex: a
 * debugger reads it only while the process is stopped in
 * __jit_debug_register_code, and the mutex keeps two threads from
 * interleaving their updates.  What an entry holds (one module, or a
 * batch of them) is gdb_batch.c's choice. */
#include <pthread.h>
#include <stdlib.h>

#include "debug/debug.h"
#include "debug/gdbjit.h"

enum { JIT_NOACTION = 0, JIT_REGISTER_FN, JIT_UNREGISTER_FN };

struct jit_descriptor {
    uint32_t version;
    uint32_t action_flag;
    struct jit_code_entry *relevant_entry;
    struct jit_code_entry *first_entry;
};

/* The debugger finds these by name: exported, never inlined, never merged
 * away (the empty asm keeps the call and the function distinct). */
EJ_API void __jit_debug_register_code(void);
EJ_API __attribute__((noinline, used)) void __jit_debug_register_code(void)
{
    __asm__ __volatile__("" ::: "memory");
}

EJ_API struct jit_descriptor __jit_debug_descriptor = {1, JIT_NOACTION, NULL, NULL};

pthread_mutex_t ej__gdb_lock = PTHREAD_MUTEX_INITIALIZER;

static void notify(struct jit_code_entry *e, uint32_t action)
{
    __jit_debug_descriptor.relevant_entry = e;
    __jit_debug_descriptor.action_flag = action;
    __jit_debug_register_code();
    __jit_debug_descriptor.action_flag = JIT_NOACTION;
    __jit_debug_descriptor.relevant_entry = NULL;
}

void ej__gdb_announce(struct jit_code_entry *e)
{
    e->prev_entry = NULL;
    e->next_entry = __jit_debug_descriptor.first_entry;
    if (e->next_entry)
        e->next_entry->prev_entry = e;
    __jit_debug_descriptor.first_entry = e;
    notify(e, JIT_REGISTER_FN);
}

void ej__gdb_withdraw(struct jit_code_entry *e)
{
    if (e->prev_entry)
        e->prev_entry->next_entry = e->next_entry;
    else
        __jit_debug_descriptor.first_entry = e->next_entry;
    if (e->next_entry)
        e->next_entry->prev_entry = e->prev_entry;
    notify(e, JIT_UNREGISTER_FN);
}
