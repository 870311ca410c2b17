/* Lazy compilation through the session API (include/elfjit/session.h,
 * "lazy compilation"; src/session/lazy.c): names declared with a
 * materialiser that links compiler-built objects (tests/unit/objs/lazy_*)
 * on the first call.  test_lazy_trampoline.c checks the per-arch
 * trampoline alone with in-test callees; this is one level up: the
 * public API, real modules behind a slot, the declaration's states, its
 * failure targets and first calls from several threads at once.
 *
 * Every call is made through ej_session_symbol(s, name), the address the
 * name means in the session (the slot jump, in front of the lazy stub):
 * the first call materialises, the second goes straight through the slot,
 * and both must reach the callee with every argument intact. */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#if defined(__x86_64__)
#include <immintrin.h>
#elif defined(__aarch64__)
#include <arm_neon.h>
#endif

#include "elfjit/elfjit.h"
#include "elfjit/session.h"
#include "objs/lazy_args.h"
#include "testutil.h"

#define OBJ(name) EJ_TEST_OBJ_DIR "/" name ".o"

/* ---- the materialiser ---------------------------------------------------- */

/* One declaration's materialiser context: what to do when asked, and what
 * happened.  It may run on any thread, so it records instead of
 * asserting (Criterion's asserts belong to the test's own thread). */
typedef struct lz_decl lz_decl;
struct lz_decl {
    const char *name;         /* the name it expects to be asked for */
    const char *obj;          /* what it links; NULL: nothing */
    ej_status status;         /* not EJ_OK: return it without linking */
    unsigned sleep_ms;        /* first: so concurrent first callers really wait */
    void (*during)(ej_session *s, lz_decl *d); /* before the link */
    atomic_int calls;
    atomic_int wrong_name;    /* was asked for another name */
    ej_status state_inside;   /* ej_session_lazy_state of NAME while it runs */
    ej_status link_status;    /* of its last link */
    char link_msg[512];
    ej_module *module;        /* what its last link made */
    long during_result;       /* DURING's findings */
    ej_status during_state;
};

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    for (int i = 0; i < 100 && nanosleep(&ts, &ts) != 0 && errno == EINTR; i++)
        ;
}

/* Links the object at PATH into S (no assert: may run on any thread). */
static ej_status link_obj(ej_session *s, const char *path, ej_module **m, char *msg,
                          size_t len)
{
    ej_linker *lk;
    ej_status st = ej_linker_create(&lk);
    *m = NULL;
    if (st != EJ_OK) {
        snprintf(msg, len, "ej_linker_create: %s", ej_status_name(st));
        return st;
    }
    /* (No GDB registration: nothing here is debugged, and it is a
     * process-wide list every link and free would walk.) */
    if ((st = ej_linker_set_registration(lk, EJ_REGISTER_DEFAULT & ~EJ_REGISTER_GDB)) ==
            EJ_OK &&
        (st = ej_linker_add_file(lk, path)) == EJ_OK)
        st = ej_session_link(s, lk, m);
    snprintf(msg, len, "%s: %s", path, st == EJ_OK ? "linked" : ej_linker_errmsg(lk));
    ej_linker_free(lk);
    return st;
}

static ej_status materialise(ej_session *s, const char *name, void *ctx)
{
    lz_decl *d = ctx;
    atomic_fetch_add(&d->calls, 1);
    if (strcmp(name, d->name) != 0)
        atomic_store(&d->wrong_name, 1);
    d->state_inside = ej_session_lazy_state(s, name, NULL, 0);
    if (d->sleep_ms)
        sleep_ms(d->sleep_ms);
    if (d->during)
        d->during(s, d);
    if (d->status != EJ_OK)
        return d->status;
    if (!d->obj)
        return EJ_OK;
    d->link_status = link_obj(s, d->obj, &d->module, d->link_msg, sizeof d->link_msg);
    return d->link_status;
}

/* ---- helpers -------------------------------------------------------------- */

static ej_session *new_session(void)
{
    ej_session *s;
    cr_assert_eq(ej_session_create(&s), EJ_OK);
    return s;
}

static void expect_state(ej_session *s, const char *name, ej_status want, const char *when)
{
    char msg[512];
    ej_status st = ej_session_lazy_state(s, name, msg, sizeof msg);
    cr_assert_eq(st, want, "%s: '%s' is in state %s (\"%s\"), not %s", when, name,
                 ej_status_name(st), msg, ej_status_name(want));
}

/* Where a call goes when the materialiser of a test that expects success
 * failed after all: a function that notes it, instead of the trap (a
 * crash says less than the link's message).  Its signature is nobody's:
 * at the machine level it ignores the arguments, and the result it leaves
 * is checked as wrong anyway. */
static atomic_int g_unexpected;

static uint64_t unexpected_failure(void)
{
    atomic_fetch_add(&g_unexpected, 1);
    return 0;
}

/* Declares D in S (failing over to unexpected_failure) and returns what
 * the name means in S: where every call of the test goes. */
static void *lazy_entry(ej_session *s, lz_decl *d)
{
    cr_assert_eq(ej_session_declare(s, d->name, materialise, d, (void *)unexpected_failure),
                 EJ_OK, "declaring '%s': %s", d->name, ej_session_errmsg(s));
    expect_state(s, d->name, EJ_STATE, "declared, not called yet");
    void *fn = ej_session_symbol(s, d->name);
    cr_assert_not_null(fn, "a declared name means its slot jump in the session");
    return fn;
}

/* The mask of wrong arguments the last callee of lazy_args.c noted. */
static uint64_t callee_bad(ej_session *s)
{
    uint64_t *bad = ej_session_symbol(s, "lazy_bad");
    cr_assert_not_null(bad, "lazy_args.o is not in the session");
    return *bad;
}

/* After call number ROUND through D's name returned hash GOT: the
 * materialiser ran once in all (on the first call), the call reached the
 * definition with every argument as passed. */
static void check_round(ej_session *s, lz_decl *d, int round, uint64_t got, uint64_t want)
{
    cr_assert_eq(atomic_load(&d->calls), 1, "call %d: the materialiser ran %d times", round,
                 atomic_load(&d->calls));
    cr_assert_eq(atomic_load(&d->wrong_name), 0, "the materialiser was asked for another name");
    cr_assert_eq(d->link_status, EJ_OK, "%s", d->link_msg);
    cr_assert_eq(atomic_load(&g_unexpected), 0, "the call went to the failure target");
    cr_assert_eq(d->state_inside, EJ_STATE, "while materialising, the state was %s",
                 ej_status_name(d->state_inside));
    expect_state(s, d->name, EJ_OK, "after the call");
    cr_assert_eq(got, want,
                 "%s, call %d (%s): hash %#llx, not %#llx; wrong arguments (bit per "
                 "argument): %#llx",
                 d->name, round, round == 1 ? "materialising" : "straight", (unsigned long long)got,
                 (unsigned long long)want, (unsigned long long)callee_bad(s));
    cr_assert_eq(callee_bad(s), 0, "call %d: the callee saw wrong arguments", round);
}

/* ---- 1. arguments survive the first call ------------------------------------ */

typedef uint64_t (*ints_fn)(LZ_INTS_PARAMS);
typedef uint64_t (*mixed_fn)(LZ_MIXED_PARAMS);
typedef uint64_t (*va_fn)(int, ...);
typedef lz_big (*big_fn)(LZ_BIG_PARAMS);
typedef long (*long_fn)(long);

Test(lazy_args, many_integers_some_on_the_stack)
{
    lz_decl d = {.name = "lazy_ints", .obj = OBJ("lazy_args")};
    ej_session *s = new_session();
    ints_fn fn = (ints_fn)lazy_entry(s, &d);
    uint64_t bad, want = lz_ints_check(&bad, LZ_INTS_ARGS);
    for (int round = 1; round <= 2; round++)
        check_round(s, &d, round, fn(LZ_INTS_ARGS), want);
    ej_session_free(s);
}

Test(lazy_args, doubles_and_floats_mixed_with_ints)
{
    lz_decl d = {.name = "lazy_mixed", .obj = OBJ("lazy_args")};
    ej_session *s = new_session();
    mixed_fn fn = (mixed_fn)lazy_entry(s, &d);
    uint64_t bad, want = lz_mixed_check(&bad, LZ_MIXED_ARGS);
    for (int round = 1; round <= 2; round++)
        check_round(s, &d, round, fn(LZ_MIXED_ARGS), want);
    ej_session_free(s);
}

Test(lazy_args, variadic_doubles)
{
    lz_decl d = {.name = "lazy_va", .obj = OBJ("lazy_args")};
    ej_session *s = new_session();
    va_fn fn = (va_fn)lazy_entry(s, &d);
    /* x86_64: the caller sets al = 8 (vector registers used); a callee
     * finding al = 0 would read its first 8 doubles from an unsaved area. */
    for (int round = 1; round <= 2; round++)
        check_round(s, &d, round,
                    fn(LZ_NVA, LZ_DV(0), LZ_DV(1), LZ_DV(2), LZ_DV(3), LZ_DV(4), LZ_DV(5),
                       LZ_DV(6), LZ_DV(7), LZ_DV(8), LZ_DV(9), LZ_DV(10), LZ_DV(11)),
                    lz_va_expect(LZ_NVA));
    ej_session_free(s);
}

Test(lazy_args, large_struct_returned_through_memory)
{
    lz_decl d = {.name = "lazy_big", .obj = OBJ("lazy_args")};
    ej_session *s = new_session();
    big_fn fn = (big_fn)lazy_entry(s, &d);
    uint64_t bad, want = lz_big_check(&bad, LZ_BIG_ARGS);
    for (int round = 1; round <= 2; round++) {
        /* volatile: the result is stored into R itself, poisoned first, so a
         * callee that wrote elsewhere (a lost x8 or rdi) leaves the poison. */
        volatile lz_big r;
        memset((void *)&r, 0x5c, sizeof r);
        r = fn(LZ_BIG_ARGS);
        check_round(s, &d, round, r.hash, want);
        cr_assert_eq(r.bad, 0, "the callee's own mask, in the struct: %#llx",
                     (unsigned long long)r.bad);
        for (int j = 0; j < LZ_BIG_TAIL; j++)
            cr_assert_eq(r.tail[j], LZ_TAIL(j), "call %d: word %d of the result is %#lx",
                         round, j, r.tail[j]);
        cr_assert(r.last == LZ_DV(7), "call %d: the result's last field is %a", round, r.last);
    }
    ej_session_free(s);
}

#if defined(__x86_64__) || defined(__aarch64__)
/* Lane J of vector K as lazy_args.h says, for NV vectors of NLANES. */
static void fill_lanes(uint32_t *bits, int nlanes, unsigned int_mask)
{
    for (int k = 0; k < LZ_NV; k++)
        for (int j = 0; j < nlanes; j++)
            bits[k * nlanes + j] = lz_lane(k, j, (int)(int_mask >> k & 1));
}

static uint64_t lanes_want(int nlanes, unsigned int_mask)
{
    uint32_t bits[LZ_NV * 16];
    uint64_t bad;
    fill_lanes(bits, nlanes, int_mask);
    return lz_lanes_check(&bad, bits, nlanes, int_mask);
}
#endif

#if defined(__x86_64__)
typedef uint64_t (*m128_fn)(__m128, __m128, __m128, __m128, __m128, __m128, __m128, __m128,
                            __m128, __m128);
typedef uint64_t (*m256_fn)(__m256, __m256, __m256, __m256, __m256, __m256, __m256, __m256,
                            __m256, __m256);
typedef uint64_t (*m512_fn)(__m512, __m512, __m512, __m512, __m512, __m512, __m512, __m512,
                            __m512, __m512);

static uint64_t call_m128(void *fn)
{
    uint32_t bits[LZ_NV * 4];
    __m128 v[LZ_NV];
    fill_lanes(bits, 4, 0);
    memcpy(v, bits, sizeof v);
    return ((m128_fn)fn)(v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9]);
}

/* Compiled for AVX: the caller passes the __m256 values in ymm0-7. */
__attribute__((target("avx"))) static uint64_t call_m256(void *fn)
{
    uint32_t bits[LZ_NV * 8];
    __m256 v[LZ_NV];
    fill_lanes(bits, 8, 0);
    memcpy(v, bits, sizeof v);
    return ((m256_fn)fn)(v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9]);
}

__attribute__((target("avx512f"))) static uint64_t call_m512(void *fn)
{
    uint32_t bits[LZ_NV * 16];
    __m512 v[LZ_NV];
    fill_lanes(bits, 16, 0);
    memcpy(v, bits, sizeof v);
    return ((m512_fn)fn)(v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9]);
}

static void vector_case(const char *name, uint64_t (*call)(void *), int nlanes)
{
    lz_decl d = {.name = name, .obj = OBJ("lazy_args")};
    ej_session *s = new_session();
    void *fn = lazy_entry(s, &d);
    for (int round = 1; round <= 2; round++)
        check_round(s, &d, round, call(fn), lanes_want(nlanes, 0));
    ej_session_free(s);
}

Test(lazy_args, m128_vectors)
{
    vector_case("lazy_m128", call_m128, 4);
}

Test(lazy_args, m256_vectors)
{
    if (!__builtin_cpu_supports("avx"))
        cr_skip_test("the CPU (or the OS) has no AVX: no __m256 arguments to test");
    vector_case("lazy_m256", call_m256, 8);
}

Test(lazy_args, m512_vectors)
{
    if (!__builtin_cpu_supports("avx512f"))
        cr_skip_test("the CPU (or the OS) has no AVX-512F: no __m512 arguments to test");
    vector_case("lazy_m512", call_m512, 16);
}
#elif defined(__aarch64__)
typedef uint64_t (*neon_fn)(float32x4_t, int32x4_t, float32x4_t, int32x4_t, float32x4_t,
                            int32x4_t, float32x4_t, int32x4_t, float32x4_t, int32x4_t);

Test(lazy_args, neon_vectors)
{
    lz_decl d = {.name = "lazy_neon", .obj = OBJ("lazy_args")};
    ej_session *s = new_session();
    neon_fn fn = (neon_fn)lazy_entry(s, &d);
    const unsigned ints = 0x2aau; /* odd K: int32x4_t */
    uint32_t bits[LZ_NV * 4];
    float32x4_t f[LZ_NV / 2];
    int32x4_t q[LZ_NV / 2];
    fill_lanes(bits, 4, ints);
    for (int k = 0; k < LZ_NV / 2; k++) {
        memcpy(&f[k], bits + 8 * k, 16);
        memcpy(&q[k], bits + 8 * k + 4, 16);
    }
    for (int round = 1; round <= 2; round++)
        check_round(s, &d, round, fn(f[0], q[0], f[1], q[1], f[2], q[2], f[3], q[3], f[4], q[4]),
                    lanes_want(4, ints));
    ej_session_free(s);
}
#else
Test(lazy_args, vectors)
{
    cr_skip_test("riscv64: vector (RVV) registers are arguments only of the vector "
                 "calling-convention variant; FP arguments are checked by "
                 "doubles_and_floats_mixed_with_ints");
}
#endif

/* A module defining several declared names: linking it for one defines
 * the others too (their slots follow the new definition), so their first
 * calls materialise nothing. */
Test(lazy_args, one_module_defines_several_declared_names)
{
    lz_decl ints = {.name = "lazy_ints", .obj = OBJ("lazy_args")};
    lz_decl mixed = {.name = "lazy_mixed", .obj = OBJ("lazy_args")};
    ej_session *s = new_session();
    ints_fn fi = (ints_fn)lazy_entry(s, &ints);
    mixed_fn fm = (mixed_fn)lazy_entry(s, &mixed);
    uint64_t bad, want_i = lz_ints_check(&bad, LZ_INTS_ARGS);
    uint64_t want_m = lz_mixed_check(&bad, LZ_MIXED_ARGS);
    check_round(s, &ints, 1, fi(LZ_INTS_ARGS), want_i);
    expect_state(s, "lazy_mixed", EJ_OK, "lazy_ints' module defines it");
    cr_assert_eq(fm(LZ_MIXED_ARGS), want_m, "wrong arguments: %#llx",
                 (unsigned long long)callee_bad(s));
    cr_assert_eq(atomic_load(&mixed.calls), 0, "lazy_mixed was materialised again");
    cr_assert_eq(atomic_load(&ints.calls), 1);
    ej_session_free(s);
}

/* ---- 2. concurrent first calls ---------------------------------------------- */

/* qemu-user 7.2 can hang in pthread_create on some hosts: under an
 * emulator, one thread is made first in a child that is killed when it
 * does not finish (10 s), and the test is skipped then. */
enum { NTHREADS = 4, NROUNDS = 3 };

typedef long (*scale_fn)(long, double);

typedef struct worker {
    scale_fn fn;
    pthread_barrier_t *start;
    long x;
    long got;
} worker;

static void *worker_run(void *arg)
{
    worker *w = arg;
    pthread_barrier_wait(w->start);
    /* Each thread its own arguments: the waiters' registers are theirs. */
    w->got = w->fn(w->x, (double)w->x * 0.5);
    return NULL;
}

/* One session, NTHREADS first calls let go at once; the materialiser
 * sleeps, so the others reach the declaration while it runs. */
static void concurrent_round(int round)
{
    lz_decl d = {.name = "lazy_scale", .obj = OBJ("lazy_args"), .sleep_ms = 50};
    ej_session *s = new_session();
    scale_fn fn = (scale_fn)lazy_entry(s, &d);
    pthread_barrier_t start;
    worker w[NTHREADS];
    pthread_t t[NTHREADS];
    cr_assert_eq(pthread_barrier_init(&start, NULL, NTHREADS), 0);
    for (int i = 0; i < NTHREADS; i++) {
        w[i] = (worker){fn, &start, 17 * (i + 1) + round, 0};
        cr_assert_eq(pthread_create(&t[i], NULL, worker_run, &w[i]), 0, "thread %d", i);
    }
    for (int i = 0; i < NTHREADS; i++)
        cr_assert_eq(pthread_join(t[i], NULL), 0);
    pthread_barrier_destroy(&start);
    cr_assert_eq(atomic_load(&d.calls), 1, "round %d: %d threads called first, the "
                 "materialiser ran %d times", round, NTHREADS, atomic_load(&d.calls));
    cr_assert_eq(d.link_status, EJ_OK, "%s", d.link_msg);
    cr_assert_eq(atomic_load(&g_unexpected), 0, "a call went to the failure target");
    for (int i = 0; i < NTHREADS; i++)
        cr_assert_eq(w[i].got, LZ_SCALE(w[i].x, (double)w[i].x * 0.5),
                     "round %d, thread %d: got %ld", round, i, w[i].got);
    expect_state(s, d.name, EJ_OK, "after the concurrent calls");
    ej_session_free(s);
}

Test(lazy_threads, concurrent_first_calls_materialise_once, .timeout = 120)
{
    EJ_TEST_REQUIRE_THREADS();
    for (int round = 0; round < NROUNDS; round++)
        concurrent_round(round);
}

/* ---- 3. failures ------------------------------------------------------------- */

/* ON_FAILURE for lazy_mixed: the host's own function of that signature;
 * it checks the arguments with lazy_args.h's check, as the definition
 * would, and tags its hash so it cannot pass for the definition. */
#define FAIL_TAG UINT64_C(0xfa11ed00fa11ed00)
static atomic_int g_fail_calls;
static uint64_t g_fail_bad;

static uint64_t on_failure_mixed(LZ_MIXED_PARAMS)
{
    atomic_fetch_add(&g_fail_calls, 1);
    return lz_mixed_check(&g_fail_bad, i0, d0, f0, l1, d1, d2, i2, f1, d3, l3, d4, f2, d5, i4,
                          d6, d7, l5, f3, d8, i6, d9, l7, l8) ^
           FAIL_TAG;
}

static long on_failure_long(long x)
{
    atomic_fetch_add(&g_fail_calls, 1);
    return x ^ 0xfa11;
}

/* A failed name, called ROUNDS times: each call goes to on_failure_mixed
 * with its arguments intact; the materialiser ran once, on the first. */
static void calls_fail_over(mixed_fn fn, lz_decl *d, int rounds)
{
    uint64_t bad, want = lz_mixed_check(&bad, LZ_MIXED_ARGS) ^ FAIL_TAG;
    int before = atomic_load(&g_fail_calls);
    for (int round = 1; round <= rounds; round++) {
        g_fail_bad = ~(uint64_t)0;
        uint64_t got = fn(LZ_MIXED_ARGS);
        cr_assert_eq(atomic_load(&g_fail_calls), before + round,
                     "call %d did not reach ON_FAILURE", round);
        cr_assert_eq(got, want, "call %d: ON_FAILURE got wrong arguments (mask %#llx)", round,
                     (unsigned long long)g_fail_bad);
        cr_assert_eq(g_fail_bad, 0, "call %d: ON_FAILURE got wrong arguments", round);
        cr_assert_eq(atomic_load(&d->calls), 1, "call %d: the materialiser ran %d times",
                     round, atomic_load(&d->calls));
    }
}

/* The failure's status and a message naming the name. */
static void expect_failed(ej_session *s, const char *name, ej_status want)
{
    char msg[512];
    ej_status st = ej_session_lazy_state(s, name, msg, sizeof msg);
    cr_assert_eq(st, want, "'%s' is in state %s (\"%s\"), not %s", name, ej_status_name(st),
                 msg, ej_status_name(want));
    cr_assert(strstr(msg, name), "the message does not name '%s': \"%s\"", name, msg);
}

Test(lazy_fail, an_error_goes_to_on_failure_until_declared_again)
{
    lz_decl bad_d = {.name = "lazy_mixed", .obj = OBJ("lazy_args"), .status = EJ_NOMEM};
    lz_decl good = {.name = "lazy_mixed", .obj = OBJ("lazy_args")};
    ej_session *s = new_session();
    cr_assert_eq(ej_session_declare(s, "lazy_mixed", materialise, &bad_d, (void *)on_failure_mixed),
                 EJ_OK, "%s", ej_session_errmsg(s));
    mixed_fn fn = (mixed_fn)ej_session_symbol(s, "lazy_mixed");
    cr_assert_not_null(fn);
    calls_fail_over(fn, &bad_d, 3);
    expect_failed(s, "lazy_mixed", EJ_NOMEM);
    /* Declared again: re-armed with the new materialiser, same address. */
    cr_assert_eq(ej_session_declare(s, "lazy_mixed", materialise, &good, (void *)on_failure_mixed),
                 EJ_OK, "declaring a failed name again: %s", ej_session_errmsg(s));
    expect_state(s, "lazy_mixed", EJ_STATE, "declared again");
    cr_assert_eq((void *)ej_session_symbol(s, "lazy_mixed"), (void *)fn,
                 "the name moved: pointers taken before would not follow");
    uint64_t bad, want = lz_mixed_check(&bad, LZ_MIXED_ARGS);
    int fails = atomic_load(&g_fail_calls);
    for (int round = 1; round <= 2; round++)
        check_round(s, &good, round, fn(LZ_MIXED_ARGS), want);
    cr_assert_eq(atomic_load(&g_fail_calls), fails, "a call still went to ON_FAILURE");
    cr_assert_eq(atomic_load(&bad_d.calls), 1, "the old materialiser ran again");
    ej_session_free(s);
}

/* A failed name that a module then defines (linked directly: the slot
 * follows it like any redirectable name's) is defined; when that module
 * goes, the name is armed again rather than failed: the next call
 * materialises, and never loops back into its own stub. */
Test(lazy_fail, a_failed_name_defined_then_freed_is_armed_again, .timeout = 30)
{
    lz_decl bad_d = {.name = "lazy_inner", .status = EJ_NOMEM};
    ej_session *s = new_session();
    cr_assert_eq(ej_session_declare(s, "lazy_inner", materialise, &bad_d,
                                    (void *)on_failure_long), EJ_OK);
    long_fn fn = (long_fn)ej_session_symbol(s, "lazy_inner");
    int fails = atomic_load(&g_fail_calls);
    (void)fn(1);
    cr_assert_eq(atomic_load(&g_fail_calls), fails + 1, "the failed call missed ON_FAILURE");
    expect_failed(s, "lazy_inner", EJ_NOMEM);
    ej_module *m;
    char msg[512];
    cr_assert_eq(link_obj(s, OBJ("lazy_inner"), &m, msg, sizeof msg), EJ_OK, "%s", msg);
    expect_state(s, "lazy_inner", EJ_OK, "defined by a module after failing");
    long direct = ((long_fn)ej_module_symbol(m, "lazy_inner"))(2);
    cr_assert_eq(fn(2), direct, "the slot does not follow the new definition");
    cr_assert_eq(ej_session_remove(s, m), EJ_OK, "%s", ej_session_errmsg(s));
    expect_state(s, "lazy_inner", EJ_STATE, "its definition freed");
    alarm(10); /* (a call looping through its own stub would never return) */
    (void)fn(3);
    alarm(0);
    cr_assert_eq(atomic_load(&bad_d.calls), 2, "the call did not materialise again");
    expect_failed(s, "lazy_inner", EJ_NOMEM);
    ej_session_free(s);
}

/* Declaring a failed name again while a module defines it keeps that
 * definition in place (the new materialiser waits for its free): here the
 * failing materialiser linked the definition, then reported an error. */
static void link_then_fail(ej_session *s, lz_decl *d)
{
    d->link_status = link_obj(s, OBJ("lazy_inner"), &d->module, d->link_msg,
                              sizeof d->link_msg);
}

Test(lazy_fail, declaring_again_keeps_a_live_definition)
{
    lz_decl bad_d = {.name = "lazy_inner", .status = EJ_IO, .during = link_then_fail};
    lz_decl good = {.name = "lazy_inner", .obj = OBJ("lazy_inner")};
    ej_session *s = new_session();
    cr_assert_eq(ej_session_declare(s, "lazy_inner", materialise, &bad_d,
                                    (void *)on_failure_long), EJ_OK);
    long_fn fn = (long_fn)ej_session_symbol(s, "lazy_inner");
    int fails = atomic_load(&g_fail_calls);
    (void)fn(1);
    cr_assert_eq(atomic_load(&g_fail_calls), fails + 1, "the failed call missed ON_FAILURE");
    expect_failed(s, "lazy_inner", EJ_IO);
    cr_assert_eq(bad_d.link_status, EJ_OK, "%s", bad_d.link_msg);
    cr_assert_eq(ej_session_declare(s, "lazy_inner", materialise, &good, NULL), EJ_OK,
                 "%s", ej_session_errmsg(s));
    expect_state(s, "lazy_inner", EJ_OK, "declared again with a definition live");
    long want = ((long_fn)ej_module_symbol(bad_d.module, "lazy_inner"))(5);
    cr_assert_eq(fn(5), want, "the live definition was dropped");
    cr_assert_eq(atomic_load(&good.calls), 0, "the new materialiser ran with a definition live");
    ej_session_free(s);
}

/* EJ_OK from a materialiser that linked nothing defining NAME as a
 * function (OBJ: what it links instead, or NULL). */
static void ok_without_definition(const char *name, const char *obj)
{
    lz_decl d = {.name = name, .obj = obj};
    ej_session *s = new_session();
    cr_assert_eq(ej_session_declare(s, name, materialise, &d, (void *)on_failure_mixed), EJ_OK);
    mixed_fn fn = (mixed_fn)ej_session_symbol(s, name);
    calls_fail_over(fn, &d, 2);
    cr_assert_eq(d.link_status, EJ_OK, "%s", d.link_msg);
    expect_failed(s, name, EJ_UNDEFINED);
    ej_session_free(s);
}

Test(lazy_fail, ok_but_nothing_linked_is_undefined)
{
    ok_without_definition("lazy_mixed", NULL);
}

Test(lazy_fail, ok_but_another_name_linked_is_undefined)
{
    ok_without_definition("lazy_mixed", OBJ("lazy_inner"));
}

Test(lazy_fail, ok_but_defined_as_data_is_undefined)
{
    ok_without_definition("lazy_datum", OBJ("lazy_datum"));
}

/* The trap: SIGILL caught, its PC looked up, then back to the test. */
static volatile sig_atomic_t g_traps;
static uint64_t g_trap_pc;
static int g_trap_found;
static ej_pc_info g_trap_info;

typedef struct trap_call {
    long_fn fn;
    long x;
} trap_call;

static void trap_body(void *arg)
{
    trap_call *c = arg;
    (void)c->fn(c->x);
}

/* Calls FN(X); 1 when it trapped (SIGILL), 0 when it returned. */
static int call_trapping(long_fn fn, long x)
{
    trap_call c = {fn, x};
    g_trap_found = 0;
    int trapped = ej_test_catch_sigill(trap_body, &c, &g_trap_pc);
    if (trapped) {
        g_traps++;
        g_trap_found = ej_lookup_pc(g_trap_pc, &g_trap_info);
    }
    return trapped;
}

static void expect_trap(long_fn fn, int nth)
{
    cr_assert_eq(call_trapping(fn, 1), 1, "call %d did not trap", nth);
    cr_assert_eq(g_traps, nth);
    cr_assert_eq(g_trap_found, 1, "call %d: the SIGILL at %#llx is in no module", nth,
                 (unsigned long long)g_trap_pc);
    cr_assert(g_trap_info.has_trap, "call %d: %#llx (in %s) is not a trap site", nth,
              (unsigned long long)g_trap_pc,
              g_trap_info.function ? g_trap_info.function : "no function");
    cr_assert_eq(g_trap_info.trap_code, EJ_SESSION_TRAP_UNRESOLVED, "trap code %#x",
                 g_trap_info.trap_code);
}

Test(lazy_fail, without_on_failure_the_call_traps)
{
    lz_decl bad_d = {.name = "lazy_inner", .obj = OBJ("lazy_inner"), .status = EJ_MAP};
    lz_decl good = {.name = "lazy_inner", .obj = OBJ("lazy_inner")};
    ej_session *s = new_session();
    cr_assert_eq(ej_session_declare(s, "lazy_inner", materialise, &bad_d, NULL), EJ_OK, "%s",
                 ej_session_errmsg(s));
    long_fn fn = (long_fn)ej_session_symbol(s, "lazy_inner");
    for (int nth = 1; nth <= 2; nth++) {
        expect_trap(fn, nth);
        cr_assert_eq(atomic_load(&bad_d.calls), 1, "call %d: the materialiser ran %d times",
                     nth, atomic_load(&bad_d.calls));
    }
    expect_failed(s, "lazy_inner", EJ_MAP);
    cr_assert_eq(ej_session_declare(s, "lazy_inner", materialise, &good, NULL), EJ_OK, "%s",
                 ej_session_errmsg(s));
    cr_assert_eq(call_trapping(fn, 5), 0, "re-armed, the call still trapped");
    cr_assert_eq(fn(6), 106);
    cr_assert_eq(atomic_load(&good.calls), 1);
    ej_session_free(s);
}

Test(lazy_fail, ok_without_definition_and_no_on_failure_traps)
{
    lz_decl d = {.name = "lazy_inner", .obj = NULL};
    ej_session *s = new_session();
    cr_assert_eq(ej_session_declare(s, "lazy_inner", materialise, &d, NULL), EJ_OK);
    expect_trap((long_fn)ej_session_symbol(s, "lazy_inner"), 1);
    expect_failed(s, "lazy_inner", EJ_UNDEFINED);
    ej_session_free(s);
}

/* The materialiser calling its own name: nothing to run yet, so that call
 * goes to ON_FAILURE; the outer call still gets the definition. */
static void call_own_name(ej_session *s, lz_decl *d)
{
    d->during_result = ((long_fn)ej_session_symbol(s, d->name))(7);
}

Test(lazy_fail, the_materialiser_calling_its_own_name_gets_on_failure)
{
    lz_decl d = {.name = "lazy_inner", .obj = OBJ("lazy_inner"), .during = call_own_name};
    ej_session *s = new_session();
    cr_assert_eq(ej_session_declare(s, "lazy_inner", materialise, &d, (void *)on_failure_long),
                 EJ_OK);
    long_fn fn = (long_fn)ej_session_symbol(s, "lazy_inner");
    cr_assert_eq(fn(1), 101, "the first call");
    cr_assert_eq(d.during_result, 7 ^ 0xfa11, "the materialiser's own call returned %#lx",
                 d.during_result);
    cr_assert_eq(atomic_load(&g_fail_calls), 1);
    cr_assert_eq(fn(2), 102);
    cr_assert_eq(atomic_load(&g_fail_calls), 1, "a later call went to ON_FAILURE");
    cr_assert_eq(atomic_load(&d.calls), 1);
    expect_state(s, "lazy_inner", EJ_OK, "materialised");
    ej_session_free(s);
}

/* ---- 4. chains, freeing, names already defined ---------------------------------- */

Test(lazy_chain, a_materialised_module_calls_another_declared_name)
{
    lz_decl outer = {.name = "lazy_outer", .obj = OBJ("lazy_outer")};
    lz_decl inner = {.name = "lazy_inner", .obj = OBJ("lazy_inner")};
    ej_session *s = new_session();
    long_fn fn = (long_fn)lazy_entry(s, &outer);
    (void)lazy_entry(s, &inner);
    for (int round = 1; round <= 2; round++) {
        cr_assert_eq(fn(5), (5 + 100) * 3 + 1, "call %d", round);
        cr_assert_eq(atomic_load(&outer.calls), 1, "call %d", round);
        cr_assert_eq(atomic_load(&inner.calls), 1, "call %d: lazy_inner materialised %d times",
                     round, atomic_load(&inner.calls));
    }
    cr_assert_eq(inner.link_status, EJ_OK, "%s", inner.link_msg);
    /* lazy_outer's module calls the name, not lazy_inner's module: that
     * one may go, and lazy_outer's next call materialises it again. */
    cr_assert_eq(ej_session_remove(s, inner.module), EJ_OK, "%s", ej_session_errmsg(s));
    cr_assert_eq(fn(6), (6 + 100) * 3 + 1);
    cr_assert_eq(atomic_load(&inner.calls), 2);
    cr_assert_eq(atomic_load(&outer.calls), 1);
    cr_assert_eq(atomic_load(&g_unexpected), 0);
    ej_session_free(s);
}

static void call_inner(ej_session *s, lz_decl *d)
{
    d->during_result = ((long_fn)ej_session_symbol(s, "lazy_inner"))(5);
    d->during_state = ej_session_lazy_state(s, "lazy_inner", NULL, 0);
}

Test(lazy_chain, a_materialiser_may_call_another_declared_name)
{
    lz_decl outer = {.name = "lazy_outer", .obj = OBJ("lazy_outer"), .during = call_inner};
    lz_decl inner = {.name = "lazy_inner", .obj = OBJ("lazy_inner")};
    ej_session *s = new_session();
    long_fn fn = (long_fn)lazy_entry(s, &outer);
    (void)lazy_entry(s, &inner);
    cr_assert_eq(fn(1), (1 + 100) * 3 + 1);
    cr_assert_eq(outer.during_result, 105, "lazy_inner from inside lazy_outer's materialiser");
    cr_assert_eq(outer.during_state, EJ_OK, "lazy_inner was %s after that call",
                 ej_status_name(outer.during_state));
    cr_assert_eq(atomic_load(&inner.calls), 1);
    cr_assert_eq(atomic_load(&outer.calls), 1);
    ej_session_free(s);
}

Test(lazy_chain, freeing_the_definition_rearms_the_name)
{
    lz_decl d = {.name = "lazy_inner", .obj = OBJ("lazy_inner")};
    ej_session *s = new_session();
    long_fn fn = (long_fn)lazy_entry(s, &d);
    cr_assert_eq(fn(1), 101);
    cr_assert_eq(atomic_load(&d.calls), 1);
    cr_assert_eq(ej_session_remove(s, d.module), EJ_OK, "%s", ej_session_errmsg(s));
    expect_state(s, "lazy_inner", EJ_STATE, "its definition freed");
    cr_assert_eq(fn(2), 102);
    cr_assert_eq(atomic_load(&d.calls), 2, "the freed name was not materialised again");
    ej_module_free(d.module); /* the other way to free it */
    expect_state(s, "lazy_inner", EJ_STATE, "its definition freed with ej_module_free");
    cr_assert_eq(fn(3), 103);
    cr_assert_eq(atomic_load(&d.calls), 3);
    expect_state(s, "lazy_inner", EJ_OK, "materialised a third time");
    cr_assert_eq(atomic_load(&g_unexpected), 0);
    ej_session_free(s);
}

Test(lazy_chain, a_name_already_defined_starts_at_that_definition)
{
    lz_decl d = {.name = "lazy_inner", .obj = OBJ("lazy_inner")};
    ej_session *s = new_session();
    ej_module *m;
    char msg[512];
    cr_assert_eq(link_obj(s, OBJ("lazy_inner"), &m, msg, sizeof msg), EJ_OK, "%s", msg);
    cr_assert_eq(ej_session_declare(s, "lazy_inner", materialise, &d, (void *)unexpected_failure),
                 EJ_OK, "%s", ej_session_errmsg(s));
    expect_state(s, "lazy_inner", EJ_OK, "declared when already defined");
    long_fn fn = (long_fn)ej_session_symbol(s, "lazy_inner");
    cr_assert_neq((void *)fn, ej_module_symbol(m, "lazy_inner"),
                  "the name means the module's function, not its slot: nothing could "
                  "follow a new definition");
    cr_assert_eq(fn(1), 101);
    cr_assert_eq(atomic_load(&d.calls), 0, "materialised although defined");
    /* Only once that definition goes does the materialiser run. */
    cr_assert_eq(ej_session_remove(s, m), EJ_OK, "%s", ej_session_errmsg(s));
    cr_assert_eq(fn(2), 102);
    cr_assert_eq(atomic_load(&d.calls), 1);
    cr_assert_eq(atomic_load(&g_unexpected), 0);
    ej_session_free(s);
}

/* ---- 5. ej_session_declare's errors ------------------------------------------- */

Test(lazy_declare, null_arguments_are_inval)
{
    lz_decl d = {.name = "lazy_inner"};
    ej_session *s = new_session();
    cr_assert_eq(ej_session_declare(s, "lazy_inner", NULL, &d, NULL), EJ_INVAL);
    cr_assert_eq(ej_session_declare(s, NULL, materialise, &d, NULL), EJ_INVAL);
    cr_assert_eq(ej_session_declare(NULL, "lazy_inner", materialise, &d, NULL), EJ_INVAL);
    char msg[256];
    cr_assert_eq(ej_session_lazy_state(s, "lazy_inner", msg, sizeof msg), EJ_INVAL,
                 "a refused declaration declared the name");
    cr_assert(strstr(msg, "lazy_inner"), "\"%s\"", msg);
    cr_assert_null(ej_session_symbol(s, "lazy_inner"), "a refused declaration left a slot");
    ej_session_free(s);
}

Test(lazy_declare, declaring_twice_is_a_state_error)
{
    lz_decl d = {.name = "lazy_inner", .obj = OBJ("lazy_inner")};
    lz_decl other = {.name = "lazy_inner", .obj = OBJ("lazy_inner")};
    ej_session *s = new_session();
    long_fn fn = (long_fn)lazy_entry(s, &d);
    cr_assert_eq(ej_session_declare(s, "lazy_inner", materialise, &other, NULL), EJ_STATE,
                 "declared twice before any call");
    cr_assert(strstr(ej_session_errmsg(s), "lazy_inner"), "%s", ej_session_errmsg(s));
    cr_assert_eq(fn(1), 101);
    cr_assert_eq(ej_session_declare(s, "lazy_inner", materialise, &other, NULL), EJ_STATE,
                 "declared again once materialised");
    /* The refused declarations changed nothing: freed, the name comes back
     * to the first materialiser. */
    cr_assert_eq(ej_session_remove(s, d.module), EJ_OK, "%s", ej_session_errmsg(s));
    cr_assert_eq(fn(2), 102);
    cr_assert_eq(atomic_load(&d.calls), 2);
    cr_assert_eq(atomic_load(&other.calls), 0);
    ej_session_free(s);
}

Test(lazy_declare, a_redirectable_name_cannot_be_declared)
{
    lz_decl d = {.name = "lazy_inner", .obj = OBJ("lazy_inner")};
    ej_session *s = new_session();
    cr_assert_eq(ej_session_redirect(s, "lazy_inner"), EJ_OK, "%s", ej_session_errmsg(s));
    cr_assert_eq(ej_session_declare(s, "lazy_inner", materialise, &d, NULL), EJ_STATE);
    cr_assert(strstr(ej_session_errmsg(s), "lazy_inner"), "%s", ej_session_errmsg(s));
    cr_assert_eq(ej_session_lazy_state(s, "lazy_inner", NULL, 0), EJ_INVAL,
                 "redirectable, not declared");
    ej_session_free(s);
}

Test(lazy_declare, redirecting_a_declared_name_does_nothing)
{
    lz_decl d = {.name = "lazy_inner", .obj = OBJ("lazy_inner")};
    ej_session *s = new_session();
    long_fn fn = (long_fn)lazy_entry(s, &d);
    cr_assert_eq(ej_session_redirect(s, "lazy_inner"), EJ_OK, "%s", ej_session_errmsg(s));
    cr_assert_eq((void *)ej_session_symbol(s, "lazy_inner"), (void *)fn);
    expect_state(s, "lazy_inner", EJ_STATE, "still lazy");
    cr_assert_eq(fn(1), 101);
    cr_assert_eq(atomic_load(&d.calls), 1);
    ej_session_free(s);
}
