/* The session layer's shared insides: the namespace (session.c), the
 * redirectable names and their slots (slots.c) and lazy declarations
 * (lazy.c).  Not part of the public API. */
#ifndef EJ_SESSION_SESSION_IMPL_H
#define EJ_SESSION_SESSION_IMPL_H

#include <pthread.h>
#include <stdint.h>

#include "codemem/slab.h"
#include "common/common.h"
#include "elfjit/session.h"

/* A module of the session. */
typedef struct member {
    struct member *newer, *older;
    ej_module *m;
    struct ej_session *s;
    struct member **deps;   /* the members it took names from */
    size_t ndeps;
    size_t refs;            /* live members depending on it */
    unsigned long id;       /* for messages: the session's Nth module */
    int left;               /* out of the namespace; freed when refs drops to 0 */
} member;

/* One name of the namespace as one member exports it. */
typedef struct entry {
    struct entry *next;
    const char *name;       /* the module's copy */
    uint32_t hash;
    member *who;
    void *addr;
} entry;

struct lazy_decl;

/* A redirectable name: what the name means in the session is ENTRY, a
 * slot jump through CELL, whose content is the definition calls run. */
typedef struct slot {
    struct slot *next;      /* hash chain */
    char *name;
    uint32_t hash;
    uint64_t *cell;         /* 8 aligned bytes of shared data memory */
    uint64_t entry;         /* the slot jump */
    uint64_t lazy_stub;     /* the lazy stub behind it, or 0 */
    ej__slab_piece piece[EJ_SLAB_KINDS];
    member *def;            /* whose definition CELL holds, or NULL */
    struct lazy_decl *lazy; /* NULL unless declared with a materialiser */
} slot;

struct ej_session {
    pthread_mutex_t lock;
    ej__err err;
    member *newest;
    entry **buckets;
    size_t nbuckets, nentries;
    unsigned long next_id;
    slot **slots;           /* chained hash of redirectable names */
    size_t nslot_buckets, nslots;
    ej_module *trap;        /* the default failure target's module, made on demand */
    uint64_t trap_addr;
};

/* The newest live definition of NAME in S's namespace, or NULL.  S->lock
 * held. */
entry *ej__session_find(const ej_session *s, const char *name);

/* The slot of NAME, or NULL.  S->lock held. */
slot *ej__slot_find(const ej_session *s, const char *name);

/* Makes a slot for NAME (none exists yet) whose cell holds TARGET, with a
 * lazy stub for RECORD behind the slot jump when RECORD is not 0.
 * S->lock held.  Errors: EJ_NOMEM, those of shared code memory. */
ej_status ej__slot_make(ej_session *s, const char *name, uint64_t record, slot **out);

/* Points SL's cell at TARGET (defined by DEF, NULL when it is a stub or a
 * failure target): one aligned atomic store, then every thread's
 * pipeline synchronised.  S->lock held. */
void ej__slot_retarget(slot *sl, uint64_t target, member *def);

/* Points SL at the newest live definition of its name that is code;
 * 0 (SL unchanged) when there is none.  S->lock held. */
int ej__slot_adopt(ej_session *s, slot *sl);

/* WHO's exports just entered the namespace: each redirectable name among
 * them now runs WHO's definition.  S->lock held. */
void ej__slots_published(ej_session *s, member *who);

/* WHO's exports just left the namespace: each slot holding one of them
 * goes back to the newest remaining definition, to its lazy stub, or to
 * the failure target.  S->lock held. */
void ej__slots_forgotten(ej_session *s, member *who);

/* Frees every slot (the session goes; nothing runs its code any more). */
void ej__slots_free(ej_session *s);

/* Where a call that cannot be resolved goes: the session's trap function
 * (a module of its own, whose one instruction traps with
 * EJ_SESSION_TRAP_UNRESOLVED).  S->lock held.  0 with S->err set when it
 * cannot be made. */
uint64_t ej__session_trap(ej_session *s);

/* A lazy declaration's part of retargeting: its definition left, so the
 * next call materialises it again.  S->lock held. */
void ej__lazy_rearm(struct lazy_decl *d);

/* A definition of D's name is in place (linked by anyone): D is done,
 * unless its materialiser is running (it settles itself).  S->lock held. */
void ej__lazy_defined(struct lazy_decl *d);

void ej__lazy_free(struct lazy_decl *d);

#endif
