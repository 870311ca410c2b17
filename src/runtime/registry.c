/* Module range registry: a persistent (copy-on-write) B+tree of ranges
 * behind an atomic root pointer, read without locks, updated by writers
 * that copy only the nodes they change.
 *
 * Why lock-free readers.  Lookups come from places that cannot take a
 * lock: a signal handler mapping a faulting PC to its module may have
 * interrupted this very thread while it held the writers' mutex, or while
 * it was itself in a lookup.  So readers must not lock, allocate or make
 * system calls, and must finish in a bounded number of steps whatever
 * other threads do.  Hence every tree readers can reach is immutable: a
 * writer builds the next version under a mutex and publishes it with one
 * atomic store of the root; a reader loads the root once and walks a tree
 * nobody will ever change under it.  The walk is bounded by the tree's
 * height, which the reader reads from the (immutable) nodes themselves.
 *
 * Why a tree and not one sorted table.  The first version copied a whole
 * sorted array on every add and remove: O(n) per update, so linking and
 * then freeing N modules cost O(N^2), which the project forbids (linking
 * and freeing 10,000 modules must be linear: bench/modules.c).  A B+tree
 * with path copying shares every node an update does not touch between the
 * old and the new version, so an update copies one root-to-leaf path:
 * O(FAN log_FAN n) bytes moved (plus at most one sibling per level when a
 * node splits, merges or borrows) instead of O(n).  Lookups stay a few
 * binary searches over small contiguous key arrays: the height is 3 up to
 * a quarter million ranges.  Leaves hold the ranges themselves (readers
 * call back with a pointer into a leaf); each node keeps its entries'
 * start addresses in a separate array so a search touches few cache lines.
 * Nodes are kept at least a quarter full (merging with or borrowing from a
 * sibling when a removal goes below), so the height stays logarithmic
 * however ranges come and go.
 *
 * Why empty ranges stay out of the tree.  A range with START >= END never
 * matches, but in a search structure keyed by start it could hide a real
 * range with the same or a lower start (the search lands on the empty one
 * and misses).  Such ranges are only counted and remembered for removal.
 * The ranges in the tree then have distinct starts when callers keep their
 * promise not to overlap; writers order entries by (start, module) so that
 * a removal still finds its own entry if a caller breaks it.
 *
 * Why a writers-only index by module.  Removal is by module, and scanning
 * every range for it would be O(n) again.  A hash table (never seen by
 * readers, so ordinary memory under the mutex) maps a module to the starts
 * of its ranges; its records are allocated when adding and freed when
 * removing, and it grows by doubling (when growing fails it just gets
 * denser: lookups in it stay correct).
 *
 * The hard part is freeing (or reusing) the nodes a writer replaced: a
 * reader may have loaded the old root just before the swap and still be
 * walking it, or running its callback on the module's memory.  Readers
 * announce themselves in one of two counters, chosen by the parity of an
 * epoch (read-side: load epoch, increment readers[epoch & 1], load the
 * root, search, call back, decrement; atomics only).  A writer, after the
 * swap, waits for a grace period: it flips the epoch and waits until the
 * counter of the old parity drains to zero, then does that a second time.
 * Only then do the replaced nodes become reusable.
 *
 * Why two flips (as liburcu does) rather than one flip and a reader that
 * re-checks the epoch: a reader can load the epoch, be preempted for a long
 * time, and then increment the counter of a parity that has since become
 * the "old" one again.  With one flip per writer such a reader can be
 * missed by a later writer that waits on the other parity; the usual cure
 * is a reader retry loop, which is lock-free but not wait-free.  With two
 * flips each writer waits on BOTH counters at some moment after its swap,
 * so it sees every reader that could have loaded the old root, whatever
 * parity it picked; and each wait is on the parity that is not current, so
 * only readers that loaded the epoch before the flip (at most one per
 * thread and signal nesting level) can hold it up: writers cannot starve.
 *
 * Why a reader needs no retry and a handler cannot deadlock.  Readers never
 * wait on anything.  A handler that interrupts a writer in its grace period
 * runs a complete read (it sees the flipped epoch, so it counts itself on
 * the current parity, not the one being drained; and even if it did not, it
 * finishes before the writer it interrupted resumes).  A handler that
 * interrupts a reader nests: the counters are plain increments.  A handler
 * that interrupts a writer while it edits its private new version reads
 * the published root, which that writer does not touch.  The one way to
 * hang writers is to leave a read other than by returning (longjmp out of
 * a callback, or out of a handler that interrupted a read): the count then
 * never drops.  The header forbids it.
 *
 * Memory orders (one place for all of them; the proof needs a single total
 * order over the reader's increment, its root load, the writer's swap and
 * the writer's counter loads, so those are seq_cst):
 *  - reader: epoch load, seq_cst for uniformity: any value it reads is
 *    safe (see above), and a seq_cst load is a plain or acquire load on
 *    the hosts we support;
 *  - reader: counter increment, seq_cst, and root load, seq_cst: the
 *    increment must be ordered before the root load (a store->load
 *    ordering, which only seq_cst gives), and the root load must acquire
 *    the contents of every node reachable from it (all were written before
 *    the store that published that root, or before an earlier one);
 *  - reader: node contents, plain loads: nodes are immutable once
 *    reachable from a published root, until a grace period after they
 *    stop being reachable;
 *  - reader: counter decrement, release: everything the reader did with the
 *    tree happens-before the writer's free or reuse, which acquires it;
 *  - writer: root store, seq_cst: releases the new version's nodes and
 *    puts the swap in the total order before the counter loads;
 *  - writer: epoch increment and counter loads, seq_cst: a counter load
 *    that comes after the swap in the total order reads a value at least as
 *    new as any increment that preceded the reader's root load, so zero
 *    means every reader that could hold a replaced node has decremented
 *    (and its release is acquired through the counter's RMW release
 *    sequence);
 *  - writer: everything else (the working tree, the node pool, the module
 *    index) is plain memory under the mutex; the fields only writers use
 *    (a node's generation and list link) are never read by readers, so
 *    writing them while readers still walk a replaced node is no race.
 * The live-range count is informative only: relaxed.
 *
 * Why removal cannot fail.  Unloading must not fail, and removing a range
 * from a persistent tree needs new nodes (the copied path, and a copied
 * sibling per level when borrowing: at most 2 per level).  Writers keep a
 * pool of free nodes, and every update leaves at least 2 * height nodes in
 * it: an add first fills the pool to 3 * height + 3 (allocating; failing
 * there is EJ_NOMEM with nothing changed), uses at most 2 * height + 1 and
 * gets back the height nodes it replaced after its grace period.  A removal
 * of one range uses at most 2 * height nodes and every new node it makes
 * replaces a distinct old one, which returns to the pool after the grace
 * period; so a removal checks, before each range, that the pool still
 * holds 2 * height nodes and otherwise publishes what it has done so far
 * (which refills the pool) before going on.  A module's ranges are thus
 * removed in as few versions as the pool allows (one, for the usual single
 * range) and ej__registry_remove never allocates; a loop that allocates
 * and yields backs that reasoning up should a change ever break it.  The
 * pool is trimmed back to 3 * height + 3 after each update, so steady
 * link/unlink traffic allocates nothing but a small index record. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/registry.h"

/* Async-signal-safety requires atomics that are not emulated with locks. */
_Static_assert(ATOMIC_POINTER_LOCK_FREE == 2, "registry needs lock-free pointers");
_Static_assert(ATOMIC_LONG_LOCK_FREE == 2, "registry needs lock-free longs");

/* Entries per node, and the fewest a node other than the root keeps. */
enum { FAN = 64, MIN_FILL = FAN / 4 };

/* A tree node.  Reachable from a published root: immutable, N >= 1.
 * KEY[i] is entry i's start: the range's (leaf), or that of the first range
 * below CHILD[i] (inner node).  KM[i] is the module of that first range, as
 * the second half of the writers' sort key.  GEN and NEXT are for writers
 * only. */
typedef struct node node;
struct node {
    unsigned n, level; /* level 0: leaf */
    uint64_t key[FAN];
    union {
        ej__range r[FAN];
        struct {
            node *child[FAN];
            uintptr_t km[FAN];
        } in;
    } u;
    uint64_t gen; /* the update that made it; mutable while current */
    node *next;        /* pool or retired list */
};

/* Written by every reader: kept apart from what readers only read. */
static _Alignas(64) atomic_ulong readers[2];
static _Alignas(64) atomic_ulong epoch;
static _Atomic(node *) root; /* NULL when no nonempty range is live */
static atomic_size_t live;

static pthread_mutex_t wlock = PTHREAD_MUTEX_INITIALIZER;

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

/* The index of T's last entry starting at or below ADDR, 0 when none does.
 * Branch-free halving (the compiler makes the choice a conditional move):
 * lookups of unrelated addresses defeat a branch predictor, and the
 * mispredictions, not the memory, dominated a branchy search
 * (bench/registry.c). */
static unsigned slot(const node *t, uint64_t addr)
{
    const uint64_t *base = t->key;
    unsigned n = t->n;
    while (n > 1) {
        unsigned half = n / 2;
        base = base[half] <= addr ? base + half : base;
        n -= half;
    }
    return (unsigned)(base - t->key);
}

int ej__registry_visit(uint64_t addr, void (*fn)(void *ctx, const ej__range *r), void *ctx)
{
    unsigned p = read_enter();
    const node *t = atomic_load(&root);
    const ej__range *r = NULL;
    if (t) {
        while (t->level)
            t = t->u.in.child[slot(t, addr)];
        const ej__range *c = &t->u.r[slot(t, addr)];
        if (c->start <= addr && addr < c->end)
            r = c;
    }
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

/* ---- writers (everything below runs under wlock) ---- */

static node *work;           /* the version being built; == root between updates */
static uint64_t gen = 1;      /* nodes with this GEN are unpublished: editable */
static node *pool;           /* free nodes no reader can hold */
static size_t npool;
static node *retired; /* replaced, reusable after the next grace period */
static size_t nlive;  /* what LIVE will say */

/* The writers' index: every live range, by module. */
typedef struct owned {
    struct owned *next;
    uintptr_t m;
    uint64_t start;
    int in_tree; /* 0: empty range, only counted */
} owned;
static owned **buckets;
static unsigned hbits; /* 2^HBITS buckets */
static size_t nowned;

/* Waits until no reader can hold a node that was reachable before the
 * caller's swap: two epoch flips, each draining the then-old parity. */
static void grace_period(void)
{
    for (int i = 0; i < 2; i++) {
        unsigned long old = atomic_fetch_add(&epoch, 1);
        while (atomic_load(&readers[old & 1]) != 0)
            sched_yield();
    }
}

/* -- nodes -- */

static size_t height(void)
{
    return work ? work->level + 1u : 0u;
}

static void pool_put(node *t)
{
    t->next = pool;
    pool = t;
    npool++;
}

/* Grows the pool to WANT nodes; 0 when out of memory (what was allocated
 * stays in the pool). */
static int pool_fill(size_t want)
{
    while (npool < want) {
        node *t = malloc(sizeof *t);
        if (!t)
            return 0;
        pool_put(t);
    }
    return 1;
}

/* Like pool_fill, for removal, which cannot fail: the pool is large enough
 * by construction (see the top comment); this is the backstop. */
static void pool_fill_or_wait(size_t want)
{
    while (!pool_fill(want))
        sched_yield();
}

static void pool_trim(size_t keep)
{
    while (npool > keep) {
        node *t = pool;
        pool = t->next;
        npool--;
        free(t);
    }
}

/* An editable empty node of LEVEL. */
static node *take(unsigned level)
{
    if (!pool)
        pool_fill_or_wait(1);
    node *t = pool;
    pool = t->next;
    npool--;
    t->n = 0;
    t->level = level;
    t->gen = gen;
    return t;
}

/* T leaves the working tree: straight back to the pool when no reader has
 * seen it, else after the next grace period. */
static void drop(node *t)
{
    if (t->gen == gen) {
        pool_put(t);
    } else {
        t->next = retired;
        retired = t;
    }
}

/* Copies entries [SI, SI + CNT) of S over [DI, DI + CNT) of D (same level;
 * D may be S, the ranges may overlap). */
static void ecopy(node *d, unsigned di, const node *s, unsigned si, unsigned cnt)
{
    memmove(d->key + di, s->key + si, cnt * sizeof d->key[0]);
    if (d->level == 0) {
        memmove(d->u.r + di, s->u.r + si, cnt * sizeof d->u.r[0]);
    } else {
        memmove(d->u.in.child + di, s->u.in.child + si, cnt * sizeof d->u.in.child[0]);
        memmove(d->u.in.km + di, s->u.in.km + si, cnt * sizeof d->u.in.km[0]);
    }
}

/* An editable version of T (T itself when it is unpublished). */
static node *cow(node *t)
{
    if (t->gen == gen)
        return t;
    node *c = take(t->level);
    ecopy(c, 0, t, 0, t->n);
    c->n = t->n;
    drop(t);
    return c;
}

/* The module half of entry I's key. */
static uintptr_t key_m(const node *t, unsigned i)
{
    return t->level ? t->u.in.km[i] : (uintptr_t)t->u.r[i].m;
}

/* The number of T's entries whose key is at most (S, M). */
static unsigned count_le(const node *t, uint64_t s, uintptr_t m)
{
    unsigned lo = 0, hi = t->n;
    while (lo < hi) {
        unsigned mid = lo + (hi - lo) / 2;
        if (t->key[mid] < s || (t->key[mid] == s && key_m(t, mid) <= m))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Makes entry I of inner node T point to C (N >= 1) and carry its key. */
static void set_child(node *t, unsigned i, node *c)
{
    t->u.in.child[i] = c;
    t->key[i] = c->key[0];
    t->u.in.km[i] = key_m(c, 0);
}

/* Inserts, at I of editable T, range R (leaf) or child C (inner node).
 * When T is full it splits it first: returns the new right half, else
 * NULL. */
static node *insert_at(node *t, unsigned i, const ej__range *r, node *c)
{
    node *right = NULL, *d = t;
    if (t->n == FAN) {
        /* Appending past the end (addresses handed out in ascending order,
         * as shared code memory does) leaves T full and starts the new
         * node with the new entry: such inserts then fill their nodes
         * instead of leaving each one half empty. */
        unsigned keep = i == FAN ? FAN : FAN / 2;
        right = take(t->level);
        ecopy(right, 0, t, keep, FAN - keep);
        right->n = FAN - keep;
        t->n = keep;
        if (i > t->n || (i == t->n && keep == FAN)) {
            i -= t->n;
            d = right;
        }
    }
    ecopy(d, i + 1, d, i, d->n - i);
    if (d->level) {
        set_child(d, i, c);
    } else {
        d->key[i] = r->start;
        d->u.r[i] = *r;
    }
    d->n++;
    return right;
}

/* Inserts R below T; returns T's editable replacement and sets *SPLIT to
 * the new node after it, if T had to split (else NULL). */
static node *insert(node *t, const ej__range *r, node **split)
{
    t = cow(t);
    unsigned c = count_le(t, r->start, (uintptr_t)r->m);
    if (t->level == 0) {
        *split = insert_at(t, c, r, NULL);
        return t;
    }
    unsigned i = c ? c - 1 : 0;
    node *sp;
    set_child(t, i, insert(t->u.in.child[i], r, &sp));
    *split = sp ? insert_at(t, i + 1, NULL, sp) : NULL;
    return t;
}

/* Child I of editable inner node T (at least 2 entries) is editable and
 * underfull: merges it with a neighbour when both fit in one node, else
 * evens the two out. */
static void rebalance(node *t, unsigned i)
{
    unsigned a = i + 1 < t->n ? i : i - 1; /* the pair is A, A + 1 */
    node *l = t->u.in.child[a], *r = t->u.in.child[a + 1];
    if (l->n + r->n <= FAN) {
        /* Into the editable one (child I), dropping the other. */
        if (a == i) {
            ecopy(l, l->n, r, 0, r->n);
            l->n += r->n;
            drop(r);
        } else {
            ecopy(r, l->n, r, 0, r->n);
            ecopy(r, 0, l, 0, l->n);
            r->n += l->n;
            drop(l);
            l = r;
        }
        set_child(t, a, l);
        ecopy(t, a + 1, t, a + 2, t->n - a - 2);
        t->n--;
        return;
    }
    l = cow(l);
    r = cow(r);
    unsigned want = (l->n + r->n) / 2;
    if (l->n < want) {
        unsigned k = want - l->n;
        ecopy(l, l->n, r, 0, k);
        ecopy(r, 0, r, k, r->n - k);
        l->n += k;
        r->n -= k;
    } else {
        unsigned k = l->n - want;
        ecopy(r, k, r, 0, r->n);
        ecopy(r, 0, l, l->n - k, k);
        r->n += k;
        l->n -= k;
    }
    set_child(t, a, l);
    set_child(t, a + 1, r);
}

/* Removes the range keyed (S, M) below T; returns T's editable
 * replacement, which may be empty, or NULL when there is no such range. */
static node *erase(node *t, uint64_t s, uintptr_t m)
{
    unsigned c = count_le(t, s, m);
    if (t->level == 0) {
        if (!c || t->key[c - 1] != s || (uintptr_t)t->u.r[c - 1].m != m)
            return NULL;
        t = cow(t);
        ecopy(t, c - 1, t, c, t->n - c);
        t->n--;
        return t;
    }
    unsigned i = c ? c - 1 : 0;
    node *nc = erase(t->u.in.child[i], s, m);
    if (!nc)
        return NULL;
    t = cow(t);
    if (nc->n == 0) {
        drop(nc);
        ecopy(t, i, t, i + 1, t->n - i - 1);
        t->n--;
        return t;
    }
    set_child(t, i, nc);
    if (nc->n < MIN_FILL && t->n > 1)
        rebalance(t, i);
    return t;
}

static void tree_insert(const ej__range *r)
{
    if (!work) {
        work = take(0);
        insert_at(work, 0, r, NULL);
        return;
    }
    node *sp, *t = insert(work, r, &sp);
    if (sp) {
        node *top = take(t->level + 1);
        insert_at(top, 0, NULL, t);
        insert_at(top, 1, NULL, sp);
        t = top;
    }
    work = t;
}

static void tree_erase(uint64_t s, uintptr_t m)
{
    node *t = erase(work, s, m);
    if (!t)
        return; /* not there: cannot happen while the index is right */
    while (t->n == 1 && t->level) {
        node *c = t->u.in.child[0];
        drop(t);
        t = c;
    }
    if (t->n == 0) {
        drop(t);
        t = NULL;
    }
    work = t;
}

/* Makes the working version current, waits out the readers of what it
 * replaced and returns the replaced nodes to the pool. */
static void publish(void)
{
    atomic_store(&root, work);
    atomic_store_explicit(&live, nlive, memory_order_relaxed);
    grace_period();
    gen++;
    while (retired) {
        node *t = retired;
        retired = t->next;
        pool_put(t);
    }
}

/* -- the index by module -- */

static size_t hslot(uintptr_t m, unsigned bits)
{
    return (size_t)(((uint64_t)m * 0x9e3779b97f4a7c15ull) >> (64 - bits));
}

/* Rehashes into 2^BITS buckets (nothing when that fails: chains just get
 * longer, or the table stays larger). */
static void index_resize(unsigned bits)
{
    owned **nb = calloc((size_t)1 << bits, sizeof *nb);
    if (!nb)
        return;
    for (size_t b = 0; b < (size_t)1 << hbits; b++)
        for (owned *o = buckets[b], *next; o; o = next) {
            next = o->next;
            size_t h = hslot(o->m, bits);
            o->next = nb[h];
            nb[h] = o;
        }
    free(buckets);
    buckets = nb;
    hbits = bits;
}

static void index_add(owned *o)
{
    if (nowned >= (size_t)1 << hbits)
        index_resize(hbits + 1);
    size_t h = hslot(o->m, hbits);
    o->next = buckets[h];
    buckets[h] = o;
    nowned++;
}

/* Unlinks M's records and returns them as a list. */
static owned *index_take(uintptr_t m)
{
    if (!buckets)
        return NULL;
    owned *mine = NULL, **pp = &buckets[hslot(m, hbits)];
    while (*pp) {
        owned *o = *pp;
        if (o->m == m) {
            *pp = o->next;
            o->next = mine;
            mine = o;
            nowned--;
        } else {
            pp = &o->next;
        }
    }
    /* A million modules freed leave no 16 MiB table behind. */
    if (nowned == 0) {
        free(buckets);
        buckets = NULL;
    } else if (hbits > 6 && nowned < ((size_t)1 << hbits) / 8) {
        index_resize(hbits - 2);
    }
    return mine;
}

/* -- the API -- */

ej_status ej__registry_add_range(const ej__range *r)
{
    pthread_mutex_lock(&wlock);
    if (!buckets) {
        buckets = calloc((size_t)1 << 6, sizeof *buckets);
        if (!buckets) {
            pthread_mutex_unlock(&wlock);
            return EJ_NOMEM;
        }
        hbits = 6;
    }
    owned *o = malloc(sizeof *o);
    int in_tree = r->start < r->end;
    if (!o || (in_tree && !pool_fill(3 * height() + 3))) {
        free(o);
        pthread_mutex_unlock(&wlock);
        return EJ_NOMEM;
    }
    *o = (owned){NULL, (uintptr_t)r->m, r->start, in_tree};
    nlive++;
    if (in_tree) {
        tree_insert(r);
        publish();
    } else {
        atomic_store_explicit(&live, nlive, memory_order_relaxed);
    }
    index_add(o);
    pool_trim(3 * height() + 3);
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
    owned *mine = index_take((uintptr_t)m);
    int pending = 0;
    for (owned *o = mine; o; o = o->next) {
        nlive--;
        if (!o->in_tree)
            continue;
        if (npool < 2 * height()) {
            if (pending) {
                publish();
                pending = 0;
            }
            pool_fill_or_wait(2 * height());
        }
        tree_erase(o->start, o->m);
        pending = 1;
    }
    if (pending)
        publish();
    else
        atomic_store_explicit(&live, nlive, memory_order_relaxed);
    while (mine) {
        owned *o = mine;
        mine = o->next;
        free(o);
    }
    pool_trim(3 * height() + 3);
    pthread_mutex_unlock(&wlock);
}
