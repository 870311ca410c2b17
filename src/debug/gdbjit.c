/* GDB's JIT interface (GDB manual, "JIT Compilation Interface"): a
 * debugger that knows these two symbols puts a breakpoint in
 * __jit_debug_register_code; each time it is called, the debugger reads
 * the entry named by __jit_debug_descriptor and loads (or drops) the ELF
 * image it points to.  lldb implements the same protocol.
 *
 * One entry per module, holding the image symfile.c built from the
 * module's image description.  The list is a
 * process-wide doubly linked list under a mutex: a debugger reads it only
 * while the process is stopped in __jit_debug_register_code, and the
 * mutex keeps two threads from interleaving their updates. */
#include <pthread.h>
#include <stdlib.h>

#include "debug/debug.h"

enum { JIT_NOACTION = 0, JIT_REGISTER_FN, JIT_UNREGISTER_FN };

struct jit_code_entry {
    struct jit_code_entry *next_entry;
    struct jit_code_entry *prev_entry;
    const char *symfile_addr;
    uint64_t symfile_size;
};

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

static pthread_mutex_t jit_lock = PTHREAD_MUTEX_INITIALIZER;

static void notify(struct jit_code_entry *e, uint32_t action)
{
    __jit_debug_descriptor.relevant_entry = e;
    __jit_debug_descriptor.action_flag = action;
    __jit_debug_register_code();
    __jit_debug_descriptor.action_flag = JIT_NOACTION;
    __jit_debug_descriptor.relevant_entry = NULL;
}

ej_status ej__reg_add_GDB(const ej__image *img, void *owner, void **slot, ej__err *err)
{
    (void)owner;
    struct jit_code_entry *e = calloc(1, sizeof *e);
    if (!e)
        return ej__fail(err, EJ_NOMEM, "out of memory registering the module with GDB");
    void *image = img->symfile;
    size_t len = img->symfile_len;
    /* (A prebuilt image is taken over: see ej__image.symfile.) */
    ej_status st = image ? EJ_OK : ej__symfile_build(img, &image, &len, err);
    if (image == img->symfile) {
        ((ej__image *)(uintptr_t)img)->symfile = NULL;
        ((ej__image *)(uintptr_t)img)->symfile_len = 0;
    }
    if (st != EJ_OK) {
        free(e);
        ej__err_prefix(err, "building the debugger's image");
        return st;
    }
    e->symfile_addr = image;
    e->symfile_size = len;
    pthread_mutex_lock(&jit_lock);
    e->next_entry = __jit_debug_descriptor.first_entry;
    if (e->next_entry)
        e->next_entry->prev_entry = e;
    __jit_debug_descriptor.first_entry = e;
    notify(e, JIT_REGISTER_FN);
    pthread_mutex_unlock(&jit_lock);
    *slot = e;
    return EJ_OK;
}

void ej__reg_remove_GDB(const ej__image *img, void *owner, void **slot)
{
    (void)img;
    (void)owner;
    struct jit_code_entry *e = *slot;
    if (!e)
        return;
    pthread_mutex_lock(&jit_lock);
    if (e->prev_entry)
        e->prev_entry->next_entry = e->next_entry;
    else
        __jit_debug_descriptor.first_entry = e->next_entry;
    if (e->next_entry)
        e->next_entry->prev_entry = e->prev_entry;
    notify(e, JIT_UNREGISTER_FN);
    pthread_mutex_unlock(&jit_lock);
    free((void *)(uintptr_t)e->symfile_addr);
    free(e);
    *slot = NULL;
}
