/* The process-wide code registry (src/runtime/registry.c): lookups at every
 * boundary, then lookups racing writers that free what they unregister,
 * then lookups from signal handlers that interrupt writers and readers.
 *
 * Only fake ranges: module pointers are distinct non-NULL integers, never
 * dereferenced, and addresses are plain numbers.  Each test runs in its own
 * process, so each starts with an empty registry.  Worker threads never
 * assert (a failed assertion ends the test from the main thread only); they
 * count what went wrong and the main thread asserts on the counts. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "runtime/registry.h"

#define FAKE_M(n) ((ej_module *)(uintptr_t)(0x1000u + 16u * (unsigned)(n)))
#define FAKE_DSO(n) ((void *)(uintptr_t)(0x900000u + 16u * (unsigned)(n)))

/* What a range's DATA points to: a heap block its writer poisons and frees
 * right after ej__registry_remove returns. */
#define MAGIC_LIVE 0x4c49564552414e47ull /* "LIVERANG" */
#define MAGIC_DEAD 0xdeaddeaddeaddeadull
typedef struct payload {
    uint64_t magic, start, end;
} payload;

static payload *payload_new(uint64_t start, uint64_t end)
{
    payload *p = malloc(sizeof *p);
    cr_assert_not_null(p);
    *p = (payload){MAGIC_LIVE, start, end};
    return p;
}

/* Poisons P, then frees it.  The volatile store keeps the compiler from
 * dropping a store to memory about to be freed. */
static void payload_kill(payload *p)
{
    *(volatile uint64_t *)&p->magic = MAGIC_DEAD;
    free(p);
}

/* True when R's payload is intact and describes R. */
static int payload_ok(const ej__range *r)
{
    const payload *p = r->data;
    return p && p->magic == MAGIC_LIVE && p->start == r->start && p->end == r->end;
}

static void sleep_us(long us)
{
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* ---- 1. basic ---- */

typedef struct seen {
    int calls;
    ej__range r;
} seen;

static void record(void *ctx, const ej__range *r)
{
    seen *s = ctx;
    s->calls++;
    s->r = *r;
}

/* ADDR must be found in module N. */
static void expect_in(uint64_t addr, unsigned n)
{
    void *dso = NULL;
    ej_module *m = ej__registry_find(addr, &dso);
    cr_assert_eq(m, FAKE_M(n), "0x%llx: module %p, expected %p", (unsigned long long)addr,
                 (void *)m, (void *)FAKE_M(n));
    cr_assert_eq(dso, FAKE_DSO(n), "0x%llx: dso", (unsigned long long)addr);
}

/* ADDR must be found nowhere; find leaves *DSO alone and visit does not
 * call back. */
static void expect_none(uint64_t addr)
{
    void *dso = FAKE_DSO(999);
    cr_assert_null(ej__registry_find(addr, &dso), "0x%llx found", (unsigned long long)addr);
    cr_assert_eq(dso, FAKE_DSO(999), "find changed *dso on a miss");
    seen s = {0};
    cr_assert_eq(ej__registry_visit(addr, record, &s), 0);
    cr_assert_eq(s.calls, 0);
}

Test(registry, basic)
{
    /* Registered out of order; 5 and 6 are adjacent ([0xa000, 0xb000) and
     * [0xb000, 0xc000)); module 7 owns two ranges. */
    static const struct {
        uint64_t start, end;
        unsigned n;
    } rs[] = {
        {0x5000, 0x5800, 3}, {0x1000, 0x1800, 1}, {0x9000, 0x9800, 5}, {0x3000, 0x3800, 2},
        {0x7000, 0x7800, 4}, {0xb000, 0xc000, 6}, {0xa000, 0xb000, 8}, {0x20000, 0x20010, 7},
        {0x10000, 0x10001, 7},
    };
    const size_t nrs = sizeof rs / sizeof rs[0];

    cr_assert_eq(ej__registry_count(), 0);
    expect_none(0x1000);
    ej_module *none_m = ej__registry_find(0, &(void *){NULL});
    cr_assert_null(none_m);
    ej__registry_remove(FAKE_M(1)); /* nothing registered: no-op */

    for (size_t i = 0; i < nrs; i++) {
        if (i % 2)
            cr_assert_eq(ej__registry_add(rs[i].start, rs[i].end, FAKE_M(rs[i].n),
                                          FAKE_DSO(rs[i].n)),
                         EJ_OK);
        else {
            ej__range r = {rs[i].start, rs[i].end, FAKE_M(rs[i].n), FAKE_DSO(rs[i].n),
                           (const void *)&rs[i]};
            cr_assert_eq(ej__registry_add_range(&r), EJ_OK);
        }
        cr_assert_eq(ej__registry_count(), i + 1);
    }

    for (size_t i = 0; i < nrs; i++) {
        expect_in(rs[i].start, rs[i].n);
        expect_in(rs[i].end - 1, rs[i].n);
        expect_in(rs[i].start + (rs[i].end - rs[i].start) / 2, rs[i].n);
        seen s = {0};
        cr_assert_eq(ej__registry_visit(rs[i].start, record, &s), 1);
        cr_assert_eq(s.calls, 1);
        cr_assert_eq(s.r.start, rs[i].start);
        cr_assert_eq(s.r.end, rs[i].end);
        cr_assert_eq(s.r.m, FAKE_M(rs[i].n));
        cr_assert_eq(s.r.dso, FAKE_DSO(rs[i].n));
        cr_assert_eq(s.r.data, i % 2 ? NULL : (const void *)&rs[i]);
    }
    /* Ends are exclusive; the adjacent pair meets at 0xb000. */
    expect_none(0x1800);
    expect_none(0x3800);
    expect_none(0x5800);
    expect_none(0x7800);
    expect_none(0x9800);
    expect_none(0xc000);
    expect_none(0x20010);
    expect_none(0x10001);
    expect_none(0xfff);
    expect_none(0x0);
    expect_none(UINT64_MAX);
    expect_in(0xb000, 6);
    expect_in(0xafff, 8);

    /* Removing module 7 removes both its ranges. */
    ej__registry_remove(FAKE_M(7));
    cr_assert_eq(ej__registry_count(), nrs - 2);
    expect_none(0x20000);
    expect_none(0x10000);
    ej__registry_remove(FAKE_M(7)); /* again: no-op */
    cr_assert_eq(ej__registry_count(), nrs - 2);
    expect_in(0x9000, 5);

    ej__registry_remove(FAKE_M(6));
    expect_none(0xb000);
    expect_in(0xafff, 8);

    for (unsigned n = 1; n <= 8; n++)
        ej__registry_remove(FAKE_M(n));
    cr_assert_eq(ej__registry_count(), 0);
    for (size_t i = 0; i < nrs; i++)
        expect_none(rs[i].start);

    /* Usable again after going empty. */
    cr_assert_eq(ej__registry_add(0x4000, 0x5000, FAKE_M(9), FAKE_DSO(9)), EJ_OK);
    expect_in(0x4000, 9);
    ej__registry_remove(FAKE_M(9));
    cr_assert_eq(ej__registry_count(), 0);
}

/* Many ranges: the binary search against a linear scan. */
Test(registry, many)
{
    enum { N = 1000 };
    /* Registered in a scrambled order (7 is coprime with N). */
    for (unsigned k = 0; k < N; k++) {
        unsigned i = (k * 7) % N;
        cr_assert_eq(ej__registry_add(0x100000 + 0x100 * (uint64_t)i,
                                      0x100000 + 0x100 * (uint64_t)i + 0x80, FAKE_M(i),
                                      FAKE_DSO(i)),
                     EJ_OK);
    }
    cr_assert_eq(ej__registry_count(), N);
    for (unsigned i = 0; i < N; i++) {
        uint64_t s = 0x100000 + 0x100 * (uint64_t)i;
        expect_in(s, i);
        expect_in(s + 0x7f, i);
        expect_none(s + 0x80);
        expect_none(s + 0xff);
    }
    for (unsigned i = 0; i < N; i += 2)
        ej__registry_remove(FAKE_M(i));
    cr_assert_eq(ej__registry_count(), N / 2);
    for (unsigned i = 0; i < N; i++) {
        uint64_t s = 0x100000 + 0x100 * (uint64_t)i;
        if (i % 2)
            expect_in(s + 0x40, i);
        else
            expect_none(s + 0x40);
    }
}

/* ---- 2. concurrency ---- */

enum { WRITERS = 3, READERS = 2, SLOTS = 8, WRITER_ITERS = 20000 };
#define SPACE(w) (0x100000000ull * (uint64_t)((w) + 1)) /* writer W's addresses */
#define SLOT_SIZE 0x1000ull
#define PERM_START 0x80000000ull /* a range registered for the whole test */
#define PERM_END (PERM_START + 0x1000)

static atomic_int stop;
static atomic_long bad, hits, perm_hits, perm_misses;

static uint64_t xorshift(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

/* Writer W, slot S: a range whose start depends on the generation G, so a
 * reader that ends up in a stale table or stale payload sees a mismatch. */
static uint64_t slot_start(unsigned w, unsigned s, unsigned g)
{
    return SPACE(w) + (uint64_t)s * 16 * SLOT_SIZE + (uint64_t)(g % 8) * SLOT_SIZE;
}

static void *writer(void *arg)
{
    unsigned w = (unsigned)(uintptr_t)arg;
    payload *live[SLOTS] = {0};
    for (unsigned it = 0; it < WRITER_ITERS; it++) {
        unsigned s = it % SLOTS;
        ej_module *m = FAKE_M(100 + w * SLOTS + s);
        if (live[s]) {
            ej__registry_remove(m);
            payload_kill(live[s]);
            live[s] = NULL;
        }
        uint64_t start = slot_start(w, s, it / SLOTS);
        payload *p = payload_new(start, start + SLOT_SIZE / 2);
        ej__range r = {p->start, p->end, m, NULL, p};
        if (ej__registry_add_range(&r) != EJ_OK) {
            atomic_fetch_add(&bad, 1);
            payload_kill(p);
            continue;
        }
        live[s] = p;
    }
    for (unsigned s = 0; s < SLOTS; s++)
        if (live[s]) {
            ej__registry_remove(FAKE_M(100 + w * SLOTS + s));
            payload_kill(live[s]);
        }
    return NULL;
}

typedef struct probe {
    uint64_t addr;
    int ok;
} probe;

static void check(void *ctx, const ej__range *r)
{
    probe *p = ctx;
    p->ok = payload_ok(r) && r->start <= p->addr && p->addr < r->end;
}

static void *reader(void *arg)
{
    uint64_t seed = 0x9e3779b97f4a7c15ull ^ (uintptr_t)arg;
    while (!atomic_load(&stop)) {
        uint64_t x = xorshift(&seed);
        probe p = {0, 0};
        if (x % 4 == 0) {
            p.addr = PERM_START + (x >> 8) % (PERM_END - PERM_START);
            if (!ej__registry_visit(p.addr, check, &p))
                atomic_fetch_add(&perm_misses, 1);
            else
                atomic_fetch_add(&perm_hits, 1);
        } else {
            unsigned w = (unsigned)((x >> 8) % WRITERS);
            unsigned s = (unsigned)((x >> 16) % SLOTS);
            unsigned g = (unsigned)((x >> 24) % 8);
            p.addr = slot_start(w, s, g) + (x >> 32) % SLOT_SIZE;
            if (!ej__registry_visit(p.addr, check, &p))
                continue;
            atomic_fetch_add(&hits, 1);
        }
        if (!p.ok)
            atomic_fetch_add(&bad, 1);
    }
    return NULL;
}

Test(registry, concurrent, .timeout = 240)
{
    payload *perm = payload_new(PERM_START, PERM_END);
    ej__range pr = {PERM_START, PERM_END, FAKE_M(1), FAKE_DSO(1), perm};
    cr_assert_eq(ej__registry_add_range(&pr), EJ_OK);

    pthread_t rt[READERS], wt[WRITERS];
    for (uintptr_t i = 0; i < READERS; i++)
        cr_assert_eq(pthread_create(&rt[i], NULL, reader, (void *)(i + 1)), 0);
    for (uintptr_t i = 0; i < WRITERS; i++)
        cr_assert_eq(pthread_create(&wt[i], NULL, writer, (void *)i), 0);
    for (int i = 0; i < WRITERS; i++)
        pthread_join(wt[i], NULL);
    atomic_store(&stop, 1);
    for (int i = 0; i < READERS; i++)
        pthread_join(rt[i], NULL);

    cr_log_info("hits %ld, permanent %ld", atomic_load(&hits), atomic_load(&perm_hits));
    cr_assert_eq(atomic_load(&bad), 0, "%ld lookups saw a dead or wrong range",
                 atomic_load(&bad));
    cr_assert_eq(atomic_load(&perm_misses), 0, "the permanent range went missing %ld times",
                 atomic_load(&perm_misses));
    cr_assert_gt(atomic_load(&perm_hits), 0);
    cr_assert_eq(ej__registry_count(), 1);
    ej__registry_remove(FAKE_M(1));
    payload_kill(perm);
    cr_assert_eq(ej__registry_count(), 0);
}

/* ---- 3. signal safety ---- */

/* Per-thread slot of the counters below (0: threads that expect no
 * signal).  Each counter is written only by its own thread's handler; the
 * main thread reads them, sometimes while that thread runs, hence lock-free
 * atomics (async-signal-safe, unlike a mutex) rather than volatile
 * sig_atomic_t, which is safe against a handler but not across threads. */
static _Thread_local int sig_slot;
static atomic_int sig_calls[3], sig_found[3];
static payload *sig_perm;

static void perm_check(void *ctx, const ej__range *r)
{
    *(int *)ctx = r->data == sig_perm && payload_ok(r);
}

static void on_usr1(int sig)
{
    (void)sig;
    int saved = errno;
    int ok = 0;
    int found = ej__registry_visit(PERM_START + 0x10, perm_check, &ok);
    int s = sig_slot;
    atomic_fetch_add(&sig_calls[s], 1);
    if (found && ok)
        atomic_fetch_add(&sig_found[s], 1);
    errno = saved;
}

/* Unblocks SIGUSR1 in a new thread once its counter slot is set (threads
 * start with it blocked: see install_handler). */
static void take_signals(int slot)
{
    sig_slot = slot;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
}

/* Installs the handler, blocks SIGUSR1 in this thread (and so in the
 * threads it creates, until take_signals), registers the permanent range. */
static void install_handler(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    cr_assert_eq(pthread_sigmask(SIG_BLOCK, &set, NULL), 0);
    struct sigaction sa = {0};
    sa.sa_handler = on_usr1;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    cr_assert_eq(sigaction(SIGUSR1, &sa, NULL), 0);
    sig_perm = payload_new(PERM_START, PERM_END);
    ej__range pr = {PERM_START, PERM_END, FAKE_M(1), FAKE_DSO(1), sig_perm};
    cr_assert_eq(ej__registry_add_range(&pr), EJ_OK);
}

static atomic_int sig_writer_done;

static void *sig_writer(void *arg)
{
    (void)arg;
    take_signals(1);
    /* At least 20,000 rounds, and on until a handler has run here (a
     * loaded machine may not schedule the signalling thread in time). */
    for (unsigned it = 0; it < 20000 || (atomic_load(&sig_calls[1]) == 0 && it < 20000000);
         it++) {
        uint64_t start = SPACE(0) + (uint64_t)(it % 16) * SLOT_SIZE;
        payload *p = payload_new(start, start + SLOT_SIZE);
        ej__range r = {p->start, p->end, FAKE_M(2), NULL, p};
        if (ej__registry_add_range(&r) != EJ_OK) {
            atomic_fetch_add(&bad, 1);
            payload_kill(p);
            continue;
        }
        probe pr = {start, 0};
        if (!ej__registry_visit(start, check, &pr) || !pr.ok)
            atomic_fetch_add(&bad, 1);
        ej__registry_remove(FAKE_M(2));
        payload_kill(p);
    }
    atomic_store(&sig_writer_done, 1);
    return NULL;
}

static void *sig_reader(void *arg)
{
    (void)arg;
    take_signals(2);
    uint64_t seed = 12345;
    while (!atomic_load(&stop)) {
        uint64_t x = xorshift(&seed);
        probe p = {PERM_START + x % (PERM_END - PERM_START), 0};
        if (!ej__registry_visit(p.addr, check, &p) || !p.ok)
            atomic_fetch_add(&bad, 1);
        p.addr = SPACE(0) + (x >> 16) % (16 * SLOT_SIZE);
        if (ej__registry_visit(p.addr, check, &p) && !p.ok)
            atomic_fetch_add(&bad, 1);
    }
    return NULL;
}

/* Handlers interrupt a writer (anywhere: building, swapping, in its grace
 * period) and a reader (anywhere, including inside its own visit) and look
 * a permanent range up. */
Test(registry, signals, .timeout = 240)
{
    install_handler();
    pthread_t w, r;
    cr_assert_eq(pthread_create(&r, NULL, sig_reader, NULL), 0);
    cr_assert_eq(pthread_create(&w, NULL, sig_writer, NULL), 0);
    long sent = 0;
    while (!atomic_load(&sig_writer_done)) {
        pthread_kill(w, SIGUSR1);
        pthread_kill(r, SIGUSR1);
        sent++;
        if (sent % 8 == 0)
            sleep_us(100);
        else
            sched_yield();
    }
    pthread_join(w, NULL);
    atomic_store(&stop, 1);
    pthread_join(r, NULL);

    int wc = atomic_load(&sig_calls[1]), wf = atomic_load(&sig_found[1]);
    int rc = atomic_load(&sig_calls[2]), rf = atomic_load(&sig_found[2]);
    cr_log_info("sent %ld; writer handled %d, reader handled %d", sent, wc, rc);
    cr_assert_eq(atomic_load(&bad), 0, "%ld bad lookups outside handlers", atomic_load(&bad));
    cr_assert_gt(wc, 0, "the writer never ran its handler");
    cr_assert_gt(rc, 0, "the reader never ran its handler");
    cr_assert_eq(wf, wc, "writer: %d of %d handler lookups failed", wc - wf, wc);
    cr_assert_eq(rf, rc, "reader: %d of %d handler lookups failed", rc - rf, rc);
    cr_assert_eq(atomic_load(&sig_calls[0]), 0);
    cr_assert_eq(ej__registry_count(), 1);
}

/* The case that deadlocks a naive scheme: a reader holds a visit open, so a
 * writer on another thread sits in its grace period; a handler on that
 * writer's thread then does a lookup.  It must complete (and find the
 * permanent range) while the writer is still waiting. */
static atomic_int holding, release_hold;

static void hold(void *ctx, const ej__range *r)
{
    (void)r;
    *(int *)ctx = 1;
    atomic_store(&holding, 1);
    while (!atomic_load(&release_hold))
        sched_yield();
}

static void *holder(void *arg)
{
    (void)arg;
    int got = 0;
    if (!ej__registry_visit(PERM_START, hold, &got) || !got)
        atomic_fetch_add(&bad, 1);
    return NULL;
}

static void *blocked_writer(void *arg)
{
    (void)arg;
    take_signals(1);
    if (ej__registry_add(SPACE(1), SPACE(1) + SLOT_SIZE, FAKE_M(3), NULL) != EJ_OK)
        atomic_fetch_add(&bad, 1);
    atomic_store(&sig_writer_done, 1);
    return NULL;
}

Test(registry, signal_in_grace_period, .timeout = 120)
{
    install_handler();
    pthread_t h, w;
    cr_assert_eq(pthread_create(&h, NULL, holder, NULL), 0);
    while (!atomic_load(&holding))
        sched_yield();
    cr_assert_eq(pthread_create(&w, NULL, blocked_writer, NULL), 0);
    /* The writer has swapped once the count shows its range; it then
     * waits for the holder. */
    while (ej__registry_count() != 2)
        sched_yield();
    sleep_us(20000);
    for (int i = 0; i < 5000 && atomic_load(&sig_calls[1]) == 0; i++) {
        pthread_kill(w, SIGUSR1);
        sleep_us(1000);
    }
    int writer_done_early = atomic_load(&sig_writer_done);
    atomic_store(&release_hold, 1);
    pthread_join(h, NULL);
    pthread_join(w, NULL);

    cr_assert_eq(writer_done_early, 0, "the writer did not wait for the open visit");
    cr_assert_gt(atomic_load(&sig_calls[1]), 0, "the writer's handler never completed");
    cr_assert_eq(atomic_load(&sig_found[1]), atomic_load(&sig_calls[1]), "a handler lookup failed");
    cr_assert_eq(atomic_load(&bad), 0);
    void *dso = NULL;
    cr_assert_eq(ej__registry_find(SPACE(1), &dso), FAKE_M(3));
}

/* ---- 4. the tree: many ranges, node boundaries ---- */

/* A model of the registry: slot I holds range [slot_lo(I), slot_hi(I)) of
 * module MOD[I] when PRESENT[I].  Slots are 0x100 apart; sizes vary so
 * that some ranges touch the next slot's start (adjacent ranges). */
#define MSLOT(i) (0x40000000ull + 0x100ull * (uint64_t)(i))
static uint64_t slot_hi(unsigned i)
{
    static const uint64_t sizes[] = {0x100, 0x80, 0x1, 0xff, 0x40};
    return MSLOT(i) + sizes[i % 5];
}

/* Every slot's start, last byte, middle and gap must agree with the
 * model (MOD[i] is the module number, PRESENT[i] whether it is live). */
static void check_model(const unsigned char *present, const unsigned *mod, unsigned n)
{
    size_t live = 0;
    for (unsigned i = 0; i < n; i++) {
        uint64_t lo = MSLOT(i), hi = slot_hi(i);
        if (present[i]) {
            live++;
            expect_in(lo, mod[i]);
            expect_in(hi - 1, mod[i]);
            expect_in(lo + (hi - lo) / 2, mod[i]);
        } else {
            expect_none(lo);
            expect_none(hi - 1);
        }
        if (hi < MSLOT(i + 1)) {
            expect_none(hi);
            expect_none(MSLOT(i + 1) - 1);
        }
    }
    expect_none(MSLOT(0) - 1);
    expect_none(MSLOT(n));
    cr_assert_eq(ej__registry_count(), live, "count %zu, model %zu", ej__registry_count(),
                 live);
}

static void model_add(unsigned char *present, const unsigned *mod, unsigned i)
{
    cr_assert_eq(ej__registry_add(MSLOT(i), slot_hi(i), FAKE_M(mod[i]), FAKE_DSO(mod[i])), EJ_OK);
    present[i] = 1;
}

/* 20,000 one-range modules added, churned and removed in random order;
 * the neighbourhood of each change is checked at once, everything every
 * 2,000 changes. */
Test(registry, random_model, .timeout = 240)
{
    enum { N = 20000 };
    unsigned char *present = calloc(N, 1);
    unsigned *mod = malloc(N * sizeof *mod), *order = malloc(N * sizeof *order);
    cr_assert(present && mod && order);
    for (unsigned i = 0; i < N; i++)
        mod[i] = order[i] = i;
    uint64_t seed = 0x853c49e6748fea9bull;
    for (unsigned i = N - 1; i > 0; i--) {
        unsigned j = (unsigned)(xorshift(&seed) % (i + 1)), t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    unsigned changes = 0;
    for (unsigned k = 0; k < N; k++) {
        model_add(present, mod, order[k]);
        expect_in(MSLOT(order[k]), order[k]);
        if (++changes % 2000 == 0)
            check_model(present, mod, N);
    }
    check_model(present, mod, N);
    /* Churn: flip random slots; modules of re-added slots get new numbers
     * so that a stale entry would show. */
    for (unsigned k = 0; k < 3 * N; k++) {
        unsigned i = (unsigned)(xorshift(&seed) % N);
        if (present[i]) {
            ej__registry_remove(FAKE_M(mod[i]));
            present[i] = 0;
            expect_none(MSLOT(i));
        } else {
            mod[i] = mod[i] < N ? mod[i] + N : mod[i] - N;
            model_add(present, mod, i);
            expect_in(MSLOT(i), mod[i]);
        }
        if (i > 0)
            cr_assert_eq(ej__registry_find(MSLOT(i - 1), &(void *){NULL}),
                         present[i - 1] ? FAKE_M(mod[i - 1]) : NULL);
        if (i + 1 < N)
            cr_assert_eq(ej__registry_find(MSLOT(i + 1), &(void *){NULL}),
                         present[i + 1] ? FAKE_M(mod[i + 1]) : NULL);
        if (++changes % 2000 == 0)
            check_model(present, mod, N);
    }
    check_model(present, mod, N);
    /* Everything out, in random order. */
    for (unsigned k = 0; k < N; k++) {
        unsigned i = order[(k * 7919u) % N];
        if (present[i]) {
            ej__registry_remove(FAKE_M(mod[i]));
            present[i] = 0;
            expect_none(MSLOT(i));
        }
        if (++changes % 2000 == 0)
            check_model(present, mod, N);
    }
    check_model(present, mod, N);
    cr_assert_eq(ej__registry_count(), 0);
    free(present);
    free(mod);
    free(order);
}

/* Fills to N in the given order (0: ascending, 1: descending, 2: from
 * both ends inwards), checks, removes in the given order down to empty,
 * checking after every removal near the boundary counts. */
static void fill_drain(unsigned n, int add_order, int del_order)
{
    unsigned char *present = calloc(n + 1, 1);
    unsigned *mod = malloc((n + 1) * sizeof *mod);
    cr_assert(present && mod);
    for (unsigned i = 0; i <= n; i++)
        mod[i] = i;
    for (unsigned k = 0; k < n; k++) {
        unsigned i = add_order == 0 ? k : add_order == 1 ? n - 1 - k : k % 2 ? n - 1 - k / 2 : k / 2;
        model_add(present, mod, i);
        if (k + 1 == 64 || k + 1 == 65 || k + 1 == 128 || k + 1 == 129 || k + 1 == n)
            check_model(present, mod, n);
    }
    for (unsigned k = 0; k < n; k++) {
        unsigned i = del_order == 0 ? k : del_order == 1 ? n - 1 - k : k % 2 ? n - 1 - k / 2 : k / 2;
        ej__registry_remove(FAKE_M(mod[i]));
        present[i] = 0;
        unsigned left = n - 1 - k;
        if (left <= 2 || (left >= 14 && left <= 17) || (left >= 62 && left <= 66) ||
            (left >= 127 && left <= 129) || (left >= 4094 && left <= 4098) || left % 2048 == 0 ||
            (n <= 200 && left % 8 == 0))
            check_model(present, mod, n);
    }
    cr_assert_eq(ej__registry_count(), 0);
    expect_none(MSLOT(0));
    /* Usable again. */
    model_add(present, mod, 0);
    expect_in(MSLOT(0), 0);
    ej__registry_remove(FAKE_M(0));
    cr_assert_eq(ej__registry_count(), 0);
    free(present);
    free(mod);
}

/* Exactly one full leaf (64), one more (65: the first split), two levels
 * full enough for a third (4097), emptied and refilled, in orders that
 * split and merge at the left end, the right end and both. */
Test(registry, node_boundaries, .timeout = 240)
{
    static const unsigned sizes[] = {1, 2, 63, 64, 65, 127, 128, 129, 4096, 4097};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
        for (int a = 0; a < 3; a++)
            for (int d = 0; d < 3; d++)
                fill_drain(sizes[s], a, d);
}

/* A module with many ranges spread among others' (its removal edits many
 * leaves in one go), and empty ranges, which are counted but never match
 * and must not hide a range they sit in. */
Test(registry, multi_range_and_empty)
{
    enum { N = 3000 };
    /* Module 1 owns every third slot, each other slot its own module. */
    for (unsigned i = 0; i < N; i++) {
        unsigned n = i % 3 == 0 ? 1 : 10 + i;
        cr_assert_eq(ej__registry_add(MSLOT(i), MSLOT(i) + 0x80, FAKE_M(n), FAKE_DSO(n)), EJ_OK);
    }
    /* Empty ranges: inside a live range, at its start, at its end, and
     * duplicated. */
    cr_assert_eq(ej__registry_add(MSLOT(4) + 0x40, MSLOT(4) + 0x40, FAKE_M(5), NULL), EJ_OK);
    cr_assert_eq(ej__registry_add(MSLOT(4) + 0x50, MSLOT(4) + 0x10, FAKE_M(5), NULL), EJ_OK);
    cr_assert_eq(ej__registry_add(MSLOT(5), MSLOT(5), FAKE_M(6), NULL), EJ_OK);
    cr_assert_eq(ej__registry_add(MSLOT(5), MSLOT(5), FAKE_M(6), NULL), EJ_OK);
    cr_assert_eq(ej__registry_add(MSLOT(7) + 0x80, MSLOT(7) + 0x80, FAKE_M(7), NULL), EJ_OK);
    cr_assert_eq(ej__registry_count(), N + 5);
    expect_in(MSLOT(4) + 0x40, 14);
    expect_in(MSLOT(4) + 0x50, 14);
    expect_in(MSLOT(4) + 0x7f, 14);
    expect_in(MSLOT(5), 15);
    expect_none(MSLOT(7) + 0x80);

    ej__registry_remove(FAKE_M(6));
    cr_assert_eq(ej__registry_count(), N + 3);
    expect_in(MSLOT(5), 15);
    ej__registry_remove(FAKE_M(1));
    cr_assert_eq(ej__registry_count(), N + 3 - N / 3);
    for (unsigned i = 0; i < N; i++) {
        if (i % 3 == 0) {
            expect_none(MSLOT(i));
            expect_none(MSLOT(i) + 0x7f);
        } else {
            expect_in(MSLOT(i), 10 + i);
            expect_in(MSLOT(i) + 0x7f, 10 + i);
        }
    }
    ej__registry_remove(FAKE_M(5));
    ej__registry_remove(FAKE_M(7));
    cr_assert_eq(ej__registry_count(), N - N / 3);
    for (unsigned i = 0; i < N; i++)
        if (i % 3)
            ej__registry_remove(FAKE_M(10 + i));
    cr_assert_eq(ej__registry_count(), 0);
    expect_none(MSLOT(1));
}

/* Concurrency over a tree several levels deep: permanent ranges in the
 * even slots, writers churning the odd ones (splitting, merging and
 * rebalancing nodes under the readers), readers checking that every
 * permanent range is always found and that every range found is intact. */
enum { BIG_SLOTS = 6000, BIG_WRITERS = 2, BIG_ITERS = 20000 };
#define BIG_SLOT(i) (0x200000000ull + 0x1000ull * (uint64_t)(i))
static payload *big_perm[BIG_SLOTS];

static void *big_writer(void *arg)
{
    unsigned w = (unsigned)(uintptr_t)arg;
    uint64_t seed = 0x5851f42d4c957f2dull * (w + 1);
    enum { PER = BIG_SLOTS / 2 / BIG_WRITERS };
    payload **live = calloc(PER, sizeof *live);
    if (!live) {
        atomic_fetch_add(&bad, 1);
        return NULL;
    }
    for (unsigned it = 0; it < BIG_ITERS; it++) {
        /* This writer's odd slots: 2 * (w * PER + j) + 1. */
        unsigned j = (unsigned)(xorshift(&seed) % PER), slot = 2 * (w * PER + j) + 1;
        ej_module *m = FAKE_M(BIG_SLOTS + slot);
        if (live[j]) {
            ej__registry_remove(m);
            payload_kill(live[j]);
            live[j] = NULL;
        } else {
            payload *p = payload_new(BIG_SLOT(slot), BIG_SLOT(slot) + 0x800);
            ej__range r = {p->start, p->end, m, NULL, p};
            if (ej__registry_add_range(&r) != EJ_OK) {
                atomic_fetch_add(&bad, 1);
                payload_kill(p);
                continue;
            }
            live[j] = p;
        }
    }
    for (unsigned j = 0; j < PER; j++)
        if (live[j]) {
            ej__registry_remove(FAKE_M(BIG_SLOTS + 2 * (w * PER + j) + 1));
            payload_kill(live[j]);
        }
    free(live);
    return NULL;
}

static void *big_reader(void *arg)
{
    uint64_t seed = 0x9e3779b97f4a7c15ull ^ (uintptr_t)arg;
    while (!atomic_load(&stop)) {
        uint64_t x = xorshift(&seed);
        unsigned slot = (unsigned)(x % BIG_SLOTS);
        probe p = {BIG_SLOT(slot) + (x >> 32) % 0x800, 0};
        int found = ej__registry_visit(p.addr, check, &p);
        if (slot % 2 == 0) {
            if (!found)
                atomic_fetch_add(&perm_misses, 1);
            else
                atomic_fetch_add(&perm_hits, 1);
        } else if (found) {
            atomic_fetch_add(&hits, 1);
        }
        if (found && !p.ok)
            atomic_fetch_add(&bad, 1);
    }
    return NULL;
}

Test(registry, concurrent_deep, .timeout = 240)
{
    for (unsigned i = 0; i < BIG_SLOTS; i += 2) {
        big_perm[i] = payload_new(BIG_SLOT(i), BIG_SLOT(i) + 0x800);
        ej__range r = {big_perm[i]->start, big_perm[i]->end, FAKE_M(i), NULL, big_perm[i]};
        cr_assert_eq(ej__registry_add_range(&r), EJ_OK);
    }
    pthread_t rt[READERS], wt[BIG_WRITERS];
    for (uintptr_t i = 0; i < READERS; i++)
        cr_assert_eq(pthread_create(&rt[i], NULL, big_reader, (void *)(i + 1)), 0);
    for (uintptr_t i = 0; i < BIG_WRITERS; i++)
        cr_assert_eq(pthread_create(&wt[i], NULL, big_writer, (void *)i), 0);
    for (int i = 0; i < BIG_WRITERS; i++)
        pthread_join(wt[i], NULL);
    atomic_store(&stop, 1);
    for (int i = 0; i < READERS; i++)
        pthread_join(rt[i], NULL);

    cr_log_info("hits %ld, permanent %ld", atomic_load(&hits), atomic_load(&perm_hits));
    cr_assert_eq(atomic_load(&bad), 0, "%ld lookups saw a dead or wrong range",
                 atomic_load(&bad));
    cr_assert_eq(atomic_load(&perm_misses), 0, "permanent ranges went missing %ld times",
                 atomic_load(&perm_misses));
    cr_assert_gt(atomic_load(&perm_hits), 0);
    cr_assert_eq(ej__registry_count(), BIG_SLOTS / 2);
    for (unsigned i = 0; i < BIG_SLOTS; i += 2) {
        ej__registry_remove(FAKE_M(i));
        payload_kill(big_perm[i]);
    }
    cr_assert_eq(ej__registry_count(), 0);
}
