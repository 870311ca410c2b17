/* The ring of module records, and the verdict on one ej_lookup_pc answer.
 *
 * Every module the soak links gets a record: claimed before the link
 * (LINKING, stamped T_LINK), published after it (LIVE, T_LIVE, with the
 * module's range, addresses whose answers are known, and calls whose
 * outcomes are known), retired before ej_module_free (T_FREE), and marked
 * FREED after it returned (T_FREED).  Stamps come from one shared counter
 * (tick), so comparing stamps orders events between threads.
 *
 * Judging an answer for PC, looked up between ticks T0 and T1:
 *  - a module that was LIVE before T0 and whose free had not begun by T1
 *    must be found, and found with the answer it published;
 *  - anything found must belong to a module that may have been registered
 *    at some moment in [T0, T1]: its link began before T1 and its free had
 *    not returned by T0, the address is inside it, and where that record
 *    knows the answer for PC the answer is exactly that one.  A module
 *    found after its ej_module_free returned is the defect the header rules
 *    out ("found whole or not at all"; freed means gone);
 *  - addresses no module can hold are never found.
 * A module pointer and an address range are both reused quickly (malloc
 * and mmap hand back what was just freed), so "found module X" is checked
 * against every record that may hold X, not only the one PC came from.
 * Records are reused too; a verdict that would need an overwritten record
 * says V_UNKNOWN (counted, and rare: the ring holds RING records).
 *
 * Everything here is lock-free and allocation-free (atomics only), so a
 * signal handler may judge too (WAIT = 0). */
#include <sched.h>
#include <string.h>
#include <time.h>

#include "soak.h"

static rec ring[RING];
static _Atomic uint64_t clk, next_slot, next_id, evicted;

uint64_t tick(void)
{
    return atomic_fetch_add(&clk, 1) + 1;
}

rec *ring_slot(size_t i)
{
    return &ring[i % RING];
}

uint64_t ring_claimed(void)
{
    return atomic_load(&next_id);
}

#define LD(x) atomic_load_explicit(&(x), memory_order_acquire)
#define ST(x, v) atomic_store_explicit(&(x), (v), memory_order_release)

/* Starts rewriting R (the writer owns it: busy). */
static void write_begin(rec *r)
{
    atomic_store(&r->seq, atomic_load(&r->seq) + 1); /* odd */
}

static void write_end(rec *r)
{
    ST(r->seq, LD(r->seq) + 1); /* even */
}

static void raise_evicted(uint64_t t)
{
    uint64_t cur = atomic_load(&evicted);
    while (cur < t && !atomic_compare_exchange_weak(&evicted, &cur, t))
        ;
}

rec *ring_claim(uint64_t *id)
{
    for (int tries = 0; tries < 2 * RING; tries++) {
        rec *r = &ring[atomic_fetch_add(&next_slot, 1) % RING];
        uint64_t zero = 0;
        if (atomic_load(&r->busy) || !atomic_compare_exchange_strong(&r->busy, &zero, 1))
            continue;
        /* The previous instance (if any) is FREED: verdicts that still need
         * it after this may say V_UNKNOWN. */
        raise_evicted(atomic_load(&r->t_freed));
        write_begin(r);
        *id = atomic_fetch_add(&next_id, 1) + 1;
        ST(r->id, *id);
        ST(r->module, 0);
        ST(r->start, 0);
        ST(r->end, 0);
        ST(r->nprobe, 0);
        ST(r->ncall, 0);
        ST(r->t_live, 0);
        ST(r->t_free, 0);
        ST(r->t_freed, 0);
        ST(r->t_link, tick());
        atomic_store(&r->state, REC_LINKING);
        write_end(r);
        return r;
    }
    return NULL;
}

void ring_publish(rec *r, ej_module *m, uint64_t start, uint64_t end, const probe_v *p,
                  size_t np, const call_v *c, size_t nc)
{
    write_begin(r);
    ST(r->module, (uint64_t)(uintptr_t)m);
    ST(r->start, start);
    ST(r->end, end);
    np = np > NPROBE ? NPROBE : np;
    nc = nc > NCALL ? NCALL : nc;
    for (size_t i = 0; i < np; i++) {
        ST(r->p[i].pc, p[i].pc);
        ST(r->p[i].func, p[i].func);
        ST(r->p[i].faddr, p[i].faddr);
        ST(r->p[i].trap, p[i].trap);
        ST(r->p[i].file, p[i].file);
        ST(r->p[i].line, p[i].line);
    }
    for (size_t i = 0; i < nc; i++) {
        ST(r->c[i].addr, c[i].addr);
        ST(r->c[i].arg, c[i].arg);
        ST(r->c[i].traps, c[i].traps);
        ST(r->c[i].value, c[i].value);
        ST(r->c[i].sigs, c[i].sigs);
        ST(r->c[i].func, c[i].func);
        ST(r->c[i].faddr, c[i].faddr);
        ST(r->c[i].trappc, c[i].trappc);
        ST(r->c[i].trap, c[i].trap);
        ST(r->c[i].file, c[i].file);
        ST(r->c[i].line, c[i].line);
    }
    ST(r->nprobe, np);
    ST(r->ncall, nc);
    ST(r->t_live, tick());
    atomic_store(&r->state, REC_LIVE);
    write_end(r);
}

void ring_fail(rec *r)
{
    atomic_store(&r->t_freed, tick());
    atomic_store(&r->state, REC_FREED);
    atomic_store(&r->busy, 0);
}

void ring_retire(rec *r)
{
    /* Stamped before anything of the free happens. */
    atomic_store(&r->t_free, tick());
    atomic_store(&r->state, REC_RETIRING);
    /* Dekker with ring_pin: both sides store, then load, seq_cst. */
    while (atomic_load(&r->pins) != 0)
        sched_yield();
}

void ring_freed(rec *r)
{
    atomic_store(&r->t_freed, tick());
    atomic_store(&r->state, REC_FREED);
    atomic_store(&r->busy, 0);
}

int ring_snap(rec *r, snap *s)
{
    uint64_t s1 = LD(r->seq);
    if (s1 & 1)
        return 0;
    s->r = r;
    s->seq = s1;
    s->id = LD(r->id);
    s->state = LD(r->state);
    s->module = LD(r->module);
    s->start = LD(r->start);
    s->end = LD(r->end);
    s->t_link = LD(r->t_link);
    s->t_live = LD(r->t_live);
    s->nprobe = LD(r->nprobe);
    s->ncall = LD(r->ncall);
    return LD(r->seq) == s1;
}

int ring_pin(const snap *s)
{
    rec *r = s->r;
    atomic_fetch_add(&r->pins, 1);
    if (atomic_load(&r->state) == REC_LIVE && atomic_load(&r->seq) == s->seq)
        return 1;
    atomic_fetch_sub(&r->pins, 1);
    return 0;
}

void ring_unpin(rec *r)
{
    atomic_fetch_sub(&r->pins, 1);
}

void ring_call(rec *r, size_t k, call_v *o)
{
    o->addr = LD(r->c[k].addr);
    o->arg = LD(r->c[k].arg);
    o->traps = LD(r->c[k].traps);
    o->value = LD(r->c[k].value);
    o->sigs = LD(r->c[k].sigs);
    o->func = LD(r->c[k].func);
    o->faddr = LD(r->c[k].faddr);
    o->trappc = LD(r->c[k].trappc);
    o->trap = LD(r->c[k].trap);
    o->file = LD(r->c[k].file);
    o->line = LD(r->c[k].line);
}

/* ---- judging ---- */

/* The moving stamps of the instance S was taken from: 0 when the slot has
 * been reused since (then nothing is known about that instance). */
static int stamps(const snap *s, uint64_t *t_free, uint64_t *t_freed)
{
    *t_free = LD(s->r->t_free);
    *t_freed = LD(s->r->t_freed);
    return LD(s->r->seq) == s->seq;
}

/* Probe K of S equals PI exactly: 1; differs: 0; slot reused: -1. */
static int probe_equal(const snap *s, size_t k, const ej_pc_info *pi)
{
    const probe *p = &s->r->p[k];
    uint64_t func = LD(p->func), faddr = LD(p->faddr), trap = LD(p->trap), file = LD(p->file),
             line = LD(p->line);
    if (LD(s->r->seq) != s->seq)
        return -1;
    uint64_t got_trap = pi->has_trap ? (1ull << 32 | pi->trap_code) : 0;
    return func == (uint64_t)(uintptr_t)pi->function && faddr == pi->function_addr &&
           trap == got_trap && file == (uint64_t)(uintptr_t)pi->file && line == pi->line;
}

/* The index of S's probe at PC, or -1 (or -2: slot reused). */
static int probe_at(const snap *s, uint64_t pc)
{
    for (size_t k = 0; k < s->nprobe && k < NPROBE; k++)
        if (LD(s->r->p[k].pc) == pc)
            return LD(s->r->seq) == s->seq ? (int)k : -2;
    return -1;
}

/* The answer PI for PC is what instance S would give: its module, the
 * address inside it, a consistent function, and its probe if it has one.
 * 1: yes; 0: no; -1: the slot was reused meanwhile (nothing is known). */
static int matches(const snap *s, uint64_t pc, const ej_pc_info *pi, int pidx)
{
    if ((uint64_t)(uintptr_t)pi->module != s->module || pc < s->start || pc >= s->end)
        return 0;
    if (pi->function && (pi->function_addr < s->start || pi->function_addr >= s->end ||
                         pi->function_addr + pi->offset != pc))
        return 0;
    if (pidx < 0)
        pidx = probe_at(s, pc);
    if (pidx == -2)
        return -1;
    return pidx < 0 ? 1 : probe_equal(s, (size_t)pidx, pi);
}

/* Instance S may have been registered at some moment of [T0, T1]. */
static int may_live(const snap *s, uint64_t t0, uint64_t t1)
{
    uint64_t t_free, t_freed;
    if (!stamps(s, &t_free, &t_freed))
        return 0;
    return s->t_link && s->t_link < t1 && (!t_freed || t_freed > t0);
}

static void nap(void)
{
    struct timespec ts = {0, 1000000};
    nanosleep(&ts, NULL);
}

verdict oracle_judge(uint64_t pc, uint64_t t0, uint64_t t1, int found, const ej_pc_info *pi,
                     const snap *hint, int pidx, int wait, vreport *rep)
{
    memset(rep, 0, sizeof *rep);
    rep->pc = pc;
    rep->t0 = t0;
    rep->t1 = t1;
    rep->found = found;
    if (found)
        rep->pi = *pi;
    uint64_t t_free = 0, t_freed = 0;
    int hint_known = hint && stamps(hint, &t_free, &t_freed);
    if (hint) {
        rep->hint_id = hint->id;
        rep->hint_module = hint->module;
        rep->hint_t_live = hint->t_live;
        rep->hint_t_free = t_free;
        rep->hint_t_freed = t_freed;
    }
    /* Live before T0 and not yet being freed at T1: must be found, whole. */
    int must = hint_known && hint->t_live && hint->t_live < t0 && (!t_free || t_free > t1) &&
               pc >= hint->start && pc < hint->end;
    if (!found)
        return rep->v = must ? V_BAD_MISSING : V_MISS;
    if (!pi->module)
        return rep->v = V_BAD_WRONG;
    int hm = hint && may_live(hint, t0, t1) ? matches(hint, pc, pi, pidx) : 0;
    if (hm == 1)
        return rep->v = V_HIT;
    if (must)
        /* found something else in its place (unless the record went away
         * under us: then it was freed after all, and nothing is known) */
        return rep->v = hm < 0 || !stamps(hint, &t_free, &t_freed) ? V_UNKNOWN : V_BAD_WRONG;
    /* Someone else's: any record that may have held it. */
    int pending = 0;
    for (int round = 0;; round++) {
        pending = 0;
        for (size_t i = 0; i < RING; i++) {
            snap s;
            if (!ring_snap(&ring[i], &s)) {
                pending = 1; /* being rewritten: may be publishing it */
                continue;
            }
            if (s.state == REC_LINKING && s.t_link < t1)
                pending = 1;
            if (s.module == (uint64_t)(uintptr_t)pi->module && may_live(&s, t0, t1) &&
                matches(&s, pc, pi, -1) == 1)
                return rep->v = V_HIT;
        }
        if (!pending || !wait || round >= 30000)
            break;
        nap(); /* a link in progress may be the owner: wait for its record */
    }
    /* A link still in progress (one this very handler may have interrupted)
     * may own it; or a record it needed was reused. */
    if (pending || atomic_load(&evicted) >= t0)
        return rep->v = V_UNKNOWN;
    if (hint_known && hint->module == (uint64_t)(uintptr_t)pi->module && t_freed && t_freed < t0)
        return rep->v = V_BAD_FREED;
    return rep->v = V_BAD_WRONG;
}

verdict oracle_lookup_random(rng *g, int wait, const uint64_t *foreign, size_t nforeign,
                             vreport *rep)
{
    ej_pc_info pi;
    for (int tries = 0; tries < 8 && !(nforeign && rnd_below(g, 16) == 0); tries++) {
        snap s;
        /* Half the time one of the latest records: modules being linked,
         * just published, being freed or just freed. */
        uint64_t slot = rnd_below(g, 2) ? atomic_load(&next_slot) - 1 - rnd_below(g, 32)
                                        : rnd_below(g, RING);
        if (!ring_snap(ring_slot(slot), &s) || s.state == REC_EMPTY ||
            s.state == REC_LINKING || s.start >= s.end)
            continue;
        int k = -1;
        uint64_t pc;
        if (s.nprobe && rnd_below(g, 4) != 0) {
            k = (int)rnd_below(g, s.nprobe);
            pc = LD(s.r->p[k].pc);
            if (LD(s.r->seq) != s.seq)
                continue;
        } else {
            pc = s.start + rnd_below(g, s.end - s.start);
        }
        uint64_t t0 = tick();
        int found = ej_lookup_pc(pc, &pi);
        uint64_t t1 = tick();
        return oracle_judge(pc, t0, t1, found, &pi, &s, k, wait, rep);
    }
    if (!nforeign) {
        memset(rep, 0, sizeof *rep);
        return rep->v = V_MISS;
    }
    uint64_t pc = foreign[rnd_below(g, nforeign)];
    int found = ej_lookup_pc(pc, &pi);
    memset(rep, 0, sizeof *rep);
    rep->foreign = 1;
    rep->pc = pc;
    rep->found = found;
    if (found)
        rep->pi = pi;
    return rep->v = found ? V_BAD_FOREIGN : V_MISS;
}
