/* Redirectable names (hot swap): each has a slot, 8 bytes of shared data
 * memory holding the address its calls run, and a slot jump in shared
 * code memory that jumps through it.  The slot jump's address is what the
 * name means in the session (to later links and ej_session_symbol), so
 * calls and taken addresses alike follow every retarget.  Retargeting is
 * one aligned atomic store: a caller's one load of the slot sees the old
 * target or the new one, never a mix (src/session/lazy_arch.h).
 *
 * The stubs are written once, before anything can reach them, and never
 * change: only the slot does, so no code is ever rewritten while it may
 * run. */
#include <stdlib.h>
#include <string.h>

#include "codemem/codemem.h"
#include "elfjit/coherence.h"
#include "link/linker.h"
#include "link/module.h"
#include "session/lazy_arch.h"
#include "session/session_impl.h"

slot *ej__slot_find(const ej_session *s, const char *name)
{
    if (!s->nslot_buckets)
        return NULL;
    uint32_t h = ej__sym_hash(name);
    for (slot *sl = s->slots[h & (s->nslot_buckets - 1)]; sl; sl = sl->next)
        if (sl->hash == h && strcmp(sl->name, name) == 0)
            return sl;
    return NULL;
}

static int grow(ej_session *s)
{
    size_t n = s->nslot_buckets ? s->nslot_buckets * 2 : 16;
    slot **b = calloc(n, sizeof *b);
    if (!b)
        return 0;
    for (size_t i = 0; i < s->nslot_buckets; i++)
        for (slot *sl = s->slots[i], *next; sl; sl = next) {
            next = sl->next;
            sl->next = b[sl->hash & (n - 1)];
            b[sl->hash & (n - 1)] = sl;
        }
    free(s->slots);
    s->slots = b;
    s->nslot_buckets = n;
    return 1;
}

static size_t align_up(size_t v, size_t a) { return (v + a - 1) / a * a; }

/* The slot jump, then (lazy names) the lazy stub, in one text piece; the
 * cell in one data piece.  Anywhere: callers reach the stub directly when
 * it happens to be in reach, through a stub of their own otherwise, as
 * for any host function. */
static ej_status write_stubs(slot *sl, uint64_t record, ej__err *err)
{
    size_t lazy_at = align_up(ej__slot_jump_size, ej__lazy_stub_align);
    size_t len[EJ_SLAB_KINDS] = {record ? lazy_at + ej__lazy_stub_size : ej__slot_jump_size,
                                 0, sizeof(uint64_t)};
    size_t align[EJ_SLAB_KINDS] = {16, 1, sizeof(uint64_t)};
    uint64_t addr[EJ_SLAB_KINDS];
    const ej__placement anywhere = {0, UINT64_MAX, 0, 0, 0};
    ej_status st = ej__slab_alloc(len, align, &anywhere, sl->piece, addr, err);
    if (st != EJ_OK)
        return st;
    uint8_t code[128] = {0};
    sl->entry = addr[EJ_SLAB_TEXT];
    sl->cell = (uint64_t *)(uintptr_t)addr[EJ_SLAB_DATA];
    ej__slot_jump_write(code, sl->entry, addr[EJ_SLAB_DATA]);
    if (record) {
        sl->lazy_stub = sl->entry + lazy_at;
        ej__lazy_stub_write(code + lazy_at, sl->lazy_stub, record, ej__lazy_entry_addr());
    }
    if ((st = ej__slab_write(&sl->piece[EJ_SLAB_TEXT], EJ_SLAB_TEXT, code,
                             len[EJ_SLAB_TEXT], err)) != EJ_OK) {
        ej__slab_free(sl->piece);
        return st;
    }
    ej_clear_cache((void *)(uintptr_t)sl->entry, len[EJ_SLAB_TEXT]);
    return EJ_OK;
}

ej_status ej__slot_make(ej_session *s, const char *name, uint64_t record, slot **out)
{
    slot *sl = calloc(1, sizeof *sl);
    size_t n = strlen(name);
    if (!sl || !(sl->name = malloc(n + 1)) ||
        (s->nslots + 1 > s->nslot_buckets && !grow(s))) {
        if (sl)
            free(sl->name);
        free(sl);
        return ej__fail(&s->err, EJ_NOMEM, "out of memory for the slot of '%s'", name);
    }
    memcpy(sl->name, name, n + 1);
    sl->hash = ej__sym_hash(name);
    ej_status st = write_stubs(sl, record, &s->err);
    if (st != EJ_OK) {
        ej__err_prefix(&s->err, "the slot of '%s'", name);
        free(sl->name);
        free(sl);
        return st;
    }
    /* Until a target is set: nothing calls the stub yet, the cell is 0. */
    sl->next = s->slots[sl->hash & (s->nslot_buckets - 1)];
    s->slots[sl->hash & (s->nslot_buckets - 1)] = sl;
    s->nslots++;
    *out = sl;
    return EJ_OK;
}

void ej__slot_retarget(slot *sl, uint64_t target, member *def)
{
    sl->def = def;
    if (def && sl->lazy)
        ej__lazy_defined(sl->lazy);
    if (__atomic_load_n(sl->cell, __ATOMIC_RELAXED) == target)
        return;
    ej__register_flush(); /* debuggers see the new code before it runs */
    /* Release: a caller that sees TARGET sees what was written before it
     * (the new module's bytes were published before its link returned). */
    __atomic_store_n(sl->cell, target, __ATOMIC_RELEASE);
    /* A full barrier on every thread of the process: once the link (or
     * free) that retargeted returns, no thread still holds the old value
     * in a store buffer or a load already done ahead.  (Failing only on
     * kernels without any membarrier, where the store is still seen in
     * the caches' own time: nothing to report to the caller.) */
    (void)ej_pipeline_flush_mt();
}

/* Whether ADDR lies in WHO's code (a data object or a thread-local
 * variable cannot stand behind a slot jump). */
static int in_text(const member *who, uint64_t addr)
{
    const ej__image *img = &who->m->img;
    uint64_t lo = img->cls_addr[EJ_CLS_TEXT];
    return !(addr & EJ__EXPORT_TLS) && addr >= lo && addr - lo < img->cls_size[EJ_CLS_TEXT];
}

/* The newest definition of NAME in the namespace that is code, if any
 * (chains hold other names too, newest first). */
static entry *newest_code(const ej_session *s, const char *name)
{
    entry *e = ej__session_find(s, name);
    uint32_t h = e ? e->hash : 0;
    while (e && !(e->hash == h && strcmp(e->name, name) == 0 &&
                  in_text(e->who, (uint64_t)(uintptr_t)e->addr)))
        e = e->next;
    return e;
}

int ej__slot_adopt(ej_session *s, slot *sl)
{
    entry *e = newest_code(s, sl->name);
    if (e)
        ej__slot_retarget(sl, (uint64_t)(uintptr_t)e->addr, e->who);
    return e != NULL;
}

/* The slot of export I of WHO (a slot of the export table), or NULL. */
static slot *slot_of(const ej_session *s, const member *who, size_t i)
{
    const ej__image *img = &who->m->img;
    const ej__export *x = &img->exports[i];
    return x->name == UINT32_MAX ? NULL : ej__slot_find(s, img->names + x->name);
}

void ej__slots_published(ej_session *s, member *who)
{
    for (size_t i = 0; s->nslots && i < who->m->img.export_cap; i++) {
        slot *sl = slot_of(s, who, i);
        uint64_t addr = who->m->img.exports[i].addr;
        if (sl && in_text(who, addr))
            ej__slot_retarget(sl, addr, who);
    }
}

/* Where SL goes when no module defines its name any more. */
static void orphan(ej_session *s, slot *sl)
{
    if (sl->lazy) {
        /* Re-armed first: a caller that still finds the stub materialises. */
        ej__lazy_rearm(sl->lazy);
        ej__slot_retarget(sl, sl->lazy_stub, NULL);
        return;
    }
    uint64_t trap = ej__session_trap(s);
    /* (Without a trap function, out of memory: the cell keeps the old
     * definition, which the embedder is about to free; the message on S
     * says why.) */
    if (trap)
        ej__slot_retarget(sl, trap, NULL);
}

void ej__slots_forgotten(ej_session *s, member *who)
{
    for (size_t i = 0; s->nslots && i < who->m->img.export_cap; i++) {
        slot *sl = slot_of(s, who, i);
        if (sl && sl->def == who && !ej__slot_adopt(s, sl))
            orphan(s, sl);
    }
}

void ej__slots_free(ej_session *s)
{
    for (size_t i = 0; i < s->nslot_buckets; i++)
        for (slot *sl = s->slots[i], *next; sl; sl = next) {
            next = sl->next;
            ej__slab_free(sl->piece);
            if (sl->lazy)
                ej__lazy_free(sl->lazy);
            free(sl->name);
            free(sl);
        }
    free(s->slots);
    s->slots = NULL;
    s->nslot_buckets = s->nslots = 0;
}

EJ_API ej_status ej_session_redirect(ej_session *s, const char *name)
{
    if (!s || !name || !*name)
        return s ? ej__fail(&s->err, EJ_INVAL, "ej_session_redirect: no name") : EJ_INVAL;
    pthread_mutex_lock(&s->lock);
    ej__err_clear(&s->err);
    ej_status st = EJ_OK;
    if (ej__slot_find(s, name))
        goto out;
    uint64_t trap = newest_code(s, name) ? 0 : ej__session_trap(s);
    slot *sl;
    if (!newest_code(s, name) && !trap)
        st = s->err.status;
    else if ((st = ej__slot_make(s, name, 0, &sl)) == EJ_OK && !ej__slot_adopt(s, sl))
        ej__slot_retarget(sl, trap, NULL);
out:
    pthread_mutex_unlock(&s->lock);
    return st;
}
