/* Module range registry: an immutable sorted table behind an atomic pointer,
 * read without locks, replaced whole by writers.
 *
 * Why this shape.  Lookups come from places that cannot take a lock: a
 * signal handler mapping a faulting PC to its module may have interrupted
 * this very thread while it held the writers' mutex, or while it was itself
 * in a lookup.  So readers must not lock, allocate or make system calls,
 * and must finish in a bounded number of steps whatever other threads do.
 * Writes are rare (link, unload) and may be slow.  Hence: writers build a
 * complete new table, sorted by start address, under a mutex and publish it
 * with one atomic store; a reader loads the pointer once and binary-searches
 * a table nobody will ever change under it.
 *
 * The hard part is freeing (or reusing) the table a writer replaced: a
 * reader may have loaded the old pointer just before the swap and still be
 * searching it, or running its callback on the module's memory.  Readers
 * announce themselves in one of two counters, chosen by the parity of an
 * epoch (read-side: load epoch, increment readers[epoch & 1], load the
 * table, search, call back, decrement; atomics only).  A writer, after the
 * swap, waits for a grace period: it flips the epoch and waits until the
 * counter of the old parity drains to zero, then does that a second time.
 *
 * Why two flips (as liburcu does) rather than one flip and a reader that
 * re-checks the epoch: a reader can load the epoch, be preempted for a long
 * time, and then increment the counter of a parity that has since become
 * the "old" one again.  With one flip per writer such a reader can be
 * missed by a later writer that waits on the other parity; the usual cure
 * is a reader retry loop, which is lock-free but not wait-free.  With two
 * flips each writer waits on BOTH counters at some moment after its swap,
 * so it sees every reader that could have loaded the old pointer, whatever
 * parity it picked; and each wait is on the parity that is not current, so
 * only readers that loaded the epoch before the flip (at most one per
 * thread and signal nesting level) can hold it up: writers cannot starve.
 *
 * Why a reader needs no retry and a handler cannot deadlock.  Readers never
 * wait on anything.  A handler that interrupts a writer in its grace period
 * runs a complete read (it sees the flipped epoch, so it counts itself on
 * the current parity, not the one being drained; and even if it did not, it
 * finishes before the writer it interrupted resumes).  A handler that
 * interrupts a reader nests: the counters are plain increments.  The one
 * way to hang writers is to leave a read other than by returning (longjmp
 * out of a callback, or out of a handler that interrupted a read): the
 * count then never drops.  The header forbids it.
 *
 * Memory orders (one place for all of them; the proof needs a single total
 * order over the reader's increment, its table load, the writer's swap and
 * the writer's counter loads, so those are seq_cst):
 *  - reader: epoch load, seq_cst for uniformity: any value it reads is
 *    safe (see above), and a seq_cst load is a plain or acquire load on
 *    the hosts we support;
 *  - reader: counter increment, seq_cst, and table load, seq_cst: the
 *    increment must be ordered before the table load (a store->load
 *    ordering, which only seq_cst gives), and the table load must acquire
 *    the table's contents;
 *  - reader: counter decrement, release: everything the reader did with the
 *    table happens-before the writer's free or reuse, which acquires it;
 *  - writer: table exchange, seq_cst: releases the new table's contents and
 *    puts the swap in the total order before the counter loads;
 *  - writer: epoch increment and counter loads, seq_cst: a counter load
 *    that comes after the swap in the total order reads a value at least as
 *    new as any increment that preceded the reader's table load, so zero
 *    means every reader that could hold the old table has decremented (and
 *    its release is acquired through the counter's RMW release sequence);
 *  - writer: reading the current table under the mutex, relaxed: only
 *    writers store it, and the mutex orders them.
 * The live-range count is informative only: relaxed.
 *
 * Why a spare table.  Unloading must not fail, and a smaller table needs
 * memory.  The table a writer replaced, once its grace period is over, is
 * kept (not freed) as the next writer's buffer.  It held the count before
 * the current one, and every change adds one range or removes at least one,
 * so whenever a removal leaves ranges behind, the spare has room for them:
 * ej__registry_remove never allocates.  It also makes the common writes
 * allocation-free. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/registry.h"

/* Async-signal-safety requires atomics that are not emulated with locks. */
_Static_assert(ATOMIC_POINTER_LOCK_FREE == 2, "registry needs lock-free pointers");
_Static_assert(ATOMIC_LONG_LOCK_FREE == 2, "registry needs lock-free longs");

/* Never empty (N >= 1): an empty registry is a NULL table pointer. */
typedef struct table {
    size_t n, cap;
    ej__range r[];
} table;

/* Written by every reader: kept apart from what readers only read. */
static _Alignas(64) atomic_ulong readers[2];
static _Alignas(64) atomic_ulong epoch;
static _Atomic(table *) current; /* NULL when empty */
static atomic_size_t live;

static pthread_mutex_t wlock = PTHREAD_MUTEX_INITIALIZER;
static table *spare; /* under wlock: no reader holds it */

/* ---- readers ---- */

static unsigned read_enter(void)
{
    unsigned p = (unsigned)(atomic_load(&epoch) & 1);
    atomic_fetch_add(&readers[p], 1);
    return p;
}

static void read_exit(unsigned p)
{
    atomic_fetch_sub_explicit(&readers[p], 1, memory_order_release);
}

/* The index of the first range of T starting above ADDR (where a new range
 * starting at ADDR goes). */
static size_t upper_bound(const table *t, uint64_t addr)
{
    size_t lo = 0, hi = t->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (t->r[mid].start <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* The range of T holding ADDR, or NULL.  Branch-free halving (the
 * compiler makes the choice a conditional move): lookups of unrelated
 * addresses defeat a branch predictor, and the mispredictions, not the
 * memory, dominated a branchy search (bench/registry.c). */
static const ej__range *search(const table *t, uint64_t addr)
{
    const ej__range *base = t->r;
    size_t n = t->n;
    while (n > 1) {
        size_t half = n / 2;
        base = base[half].start <= addr ? base + half : base;
        n -= half;
    }
    return base->start <= addr && addr < base->end ? base : NULL;
}

int ej__registry_visit(uint64_t addr, void (*fn)(void *ctx, const ej__range *r), void *ctx)
{
    unsigned p = read_enter();
    const table *t = atomic_load(&current);
    const ej__range *r = t ? search(t, addr) : NULL;
    if (r)
        fn(ctx, r);
    read_exit(p);
    return r != NULL;
}

typedef struct find_out {
    ej_module *m;
    void *dso;
} find_out;

static void copy_out(void *ctx, const ej__range *r)
{
    find_out *o = ctx;
    o->m = r->m;
    o->dso = r->dso;
}

ej_module *ej__registry_find(uint64_t addr, void **dso)
{
    find_out o = {NULL, NULL};
    if (!ej__registry_visit(addr, copy_out, &o))
        return NULL;
    *dso = o.dso;
    return o.m;
}

size_t ej__registry_count(void)
{
    return atomic_load_explicit(&live, memory_order_relaxed);
}

/* ---- writers (under wlock) ---- */

/* Waits until no reader can hold a table that was current before the
 * caller's swap: two epoch flips, each draining the then-old parity. */
static void grace_period(void)
{
    for (int i = 0; i < 2; i++) {
        unsigned long old = atomic_fetch_add(&epoch, 1);
        while (atomic_load(&readers[old & 1]) != 0)
            sched_yield();
    }
}

/* A buffer for N > 0 ranges no reader holds: the spare when it is large
 * enough, else a new one (NULL when out of memory). */
static table *buffer_for(size_t n)
{
    if (spare && spare->cap >= n)
        return spare;
    size_t cap = n < 8 ? 16 : n * 2;
    if (cap > (SIZE_MAX - sizeof(table)) / sizeof(ej__range))
        return NULL;
    table *t = malloc(sizeof(table) + cap * sizeof(ej__range));
    if (t)
        t->cap = cap;
    return t;
}

/* Makes NT (holding N ranges; NULL when N is 0) current, waits out the
 * readers of the table it replaces and keeps that one as the spare. */
static void publish(table *nt, size_t n)
{
    table *old = atomic_exchange(&current, nt);
    atomic_store_explicit(&live, n, memory_order_relaxed);
    grace_period();
    if (spare != nt)
        free(spare);
    spare = old;
}

ej_status ej__registry_add_range(const ej__range *r)
{
    pthread_mutex_lock(&wlock);
    const table *t = atomic_load_explicit(&current, memory_order_relaxed);
    size_t n = t ? t->n : 0;
    table *nt = buffer_for(n + 1);
    if (!nt) {
        pthread_mutex_unlock(&wlock);
        return EJ_NOMEM;
    }
    size_t i = t ? upper_bound(t, r->start) : 0;
    if (i)
        memcpy(nt->r, t->r, i * sizeof *r);
    nt->r[i] = *r;
    if (n > i)
        memcpy(nt->r + i + 1, t->r + i, (n - i) * sizeof *r);
    nt->n = n + 1;
    publish(nt, n + 1);
    pthread_mutex_unlock(&wlock);
    return EJ_OK;
}

ej_status ej__registry_add(uint64_t start, uint64_t end, ej_module *m, void *dso)
{
    ej__range r = {start, end, m, dso, NULL};
    return ej__registry_add_range(&r);
}

void ej__registry_remove(ej_module *m)
{
    pthread_mutex_lock(&wlock);
    const table *t = atomic_load_explicit(&current, memory_order_relaxed);
    size_t n = t ? t->n : 0, keep = 0;
    for (size_t i = 0; i < n; i++)
        keep += t->r[i].m != m;
    if (keep == n) {
        pthread_mutex_unlock(&wlock);
        return;
    }
    table *nt = NULL;
    if (keep) {
        /* The spare always fits (see the top comment); the loop is a
         * backstop should that reasoning ever be broken by a change. */
        while (!(nt = buffer_for(keep)))
            sched_yield();
        size_t j = 0;
        for (size_t i = 0; i < n; i++)
            if (t->r[i].m != m)
                nt->r[j++] = t->r[i];
        nt->n = keep;
    }
    publish(nt, keep);
    pthread_mutex_unlock(&wlock);
}
