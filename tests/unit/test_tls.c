/* Thread-local storage through the public API: every access model, old and
 * new threads, links while other threads run, load/unload cycles, the
 * static TLS limit, errno and other modules' TLS variables, over-aligned
 * variables, link-only mode and ej_module_symbol of a TLS variable.
 *
 * The objects (tests/unit/objs_tls, flags in tests/CMakeLists.txt,
 * EJ_UNIT_TLS_OBJS) are real compiler output.  Threads never assert: they
 * write what went wrong into their job, and the test's own thread checks.
 * Under an emulator the cases with threads first run a probe (a child that
 * creates one thread, with a timeout) and are skipped when it does not
 * finish: qemu-user can hang in pthread_create on some hosts. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "elfjit/elfjit.h"
#include "testutil.h"

/* A thread-local variable of the executable (exported: ENABLE_EXPORTS),
 * which loaded code reaches as another module's (tls_host.c). */
__thread int ej_test_host_tls = 7;

/* glibc refuses static TLS to a block aligned more than every block loaded
 * at start-up (its static TLS alignment: 64 on x86_64, less on aarch64 and
 * riscv64 unless the program's own TLS asks for more).  This variable makes
 * it 64 on every target, so that aligned_static can place a 64-byte-aligned
 * block; aligned_static_too_much checks the refusal beyond it. */
__thread char ej_test_tls_align64[8] __attribute__((aligned(64)));

/* One timeout for every case: Criterion 2.4.1's runner leaks a watchdog
 * entry (LeakSanitizer fails the ASan run) when a case with a shorter
 * timeout finishes while one with a longer timeout runs. */
TestSuite(tls, .timeout = 240);

#define LIBTLS EJ_TEST_OBJ_DIR "/libejtls.so"

static const char *obj(const char *name)
{
    return ej_test_path(EJ_TEST_OBJ_DIR, name, ".o");
}

typedef int (*int_fn)(void);
typedef int *(*addr_fn)(void);


/* ---- process resources ------------------------------------------------- */

static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    int n = 0;
    if (!d)
        return -1;
    for (struct dirent *e; (e = readdir(d));)
        n += e->d_name[0] != '.';
    closedir(d);
    return n - 1; /* the directory's own descriptor */
}

/* Lines of /proc/self/maps naming the TLS module's memory file. */
static int count_tls_memfd_maps(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    char line[1024];
    int n = 0;
    while (f && fgets(line, sizeof line, f))
        n += strstr(line, "elfjit-tls") != NULL;
    if (f)
        fclose(f);
    return n;
}

/* ---- the objects' relocations -------------------------------------------- */

/* How many relocations of TYPE the object at PATH has (read with <elf.h>:
 * the test checks the compiler really emitted each model's code). */
static int count_relocs(const char *path, unsigned type)
{
    size_t len;
    unsigned char *buf = ej_test_read_file(path, &len);
    cr_assert_not_null(buf, "cannot read %s", path);
    const Elf64_Ehdr *eh = (const Elf64_Ehdr *)buf;
    cr_assert(len >= sizeof *eh && memcmp(eh->e_ident, ELFMAG, SELFMAG) == 0 &&
                  eh->e_shoff + (uint64_t)eh->e_shnum * sizeof(Elf64_Shdr) <= len,
              "%s: not an ELF64 object", path);
    const Elf64_Shdr *sh = (const Elf64_Shdr *)(buf + eh->e_shoff);
    int n = 0;
    for (unsigned i = 0; i < eh->e_shnum; i++) {
        if (sh[i].sh_type != SHT_RELA || sh[i].sh_offset + sh[i].sh_size > len)
            continue;
        const Elf64_Rela *r = (const Elf64_Rela *)(buf + sh[i].sh_offset);
        for (size_t k = 0; k < sh[i].sh_size / sizeof *r; k++)
            n += ELF64_R_TYPE(r[k].r_info) == type;
    }
    free(buf);
    return n;
}

struct reloc_expect {
    unsigned type;
    const char *name;
};

/* ---- tls_models.o --------------------------------------------------------- */

struct model {
    const char *name;
    int init; /* the initial value of NAME_init */
};

static const struct model models[] = {
    {"le", 101}, {"ie", 102}, {"gd", 103}, {"ld", 104}, {"dflt", 105}, {"sdflt", 106},
};
#define NMODELS (sizeof models / sizeof models[0])

struct model_fns {
    int_fn get_init, get_zero, bump_init, bump_zero;
    addr_fn addr_init, addr_zero;
};

struct tls_mod {
    ej_module *m;
    struct model_fns f[NMODELS];
    int_fn pattern_check;
};

static void *must_symbol(ej_module *m, const char *fmt, ...)
{
    char name[128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    void *p = ej_module_symbol(m, name);
    cr_assert_not_null(p, "the module exports no '%s'", name);
    return p;
}

/* Links the objects NAMES (NULL-terminated) into one module; LIB, when not
 * NULL, is given to the linker with ej_linker_add_library.  *STATIC_TLS
 * (when not NULL) receives ej_linker_static_tls_size. */
static ej_module *link_names_tls(const char *const *names, const char *lib, uint64_t *static_tls)
{
    ej_linker *lk;
    ej_module *m = NULL;
    cr_assert_eq(ej_linker_create(&lk), EJ_OK);
    cr_assert_eq(ej_linker_set_registration(lk, 0), EJ_OK);
    if (lib)
        cr_assert_eq(ej_linker_add_library(lk, lib), EJ_OK, "%s", ej_linker_errmsg(lk));
    for (size_t i = 0; names[i]; i++)
        cr_assert_eq(ej_linker_add_file(lk, obj(names[i])), EJ_OK, "%s", ej_linker_errmsg(lk));
    ej_status st = ej_linker_link(lk, &m);
    cr_assert_eq(st, EJ_OK, "%s: %s", ej_status_name(st), ej_linker_errmsg(lk));
    if (static_tls)
        *static_tls = ej_linker_static_tls_size(lk);
    ej_linker_free(lk);
    return m;
}

static ej_module *link_names(const char *const *names, const char *lib)
{
    return link_names_tls(names, lib, NULL);
}

static ej_module *link_one(const char *name)
{
    const char *names[] = {name, NULL};
    return link_names(names, NULL);
}

static void lookup_models(ej_module *m, struct tls_mod *t)
{
    t->m = m;
    for (size_t i = 0; i < NMODELS; i++) {
        const char *n = models[i].name;
        t->f[i].get_init = (int_fn)must_symbol(m, "%s_get_init", n);
        t->f[i].get_zero = (int_fn)must_symbol(m, "%s_get_zero", n);
        t->f[i].bump_init = (int_fn)must_symbol(m, "%s_bump_init", n);
        t->f[i].bump_zero = (int_fn)must_symbol(m, "%s_bump_zero", n);
        t->f[i].addr_init = (addr_fn)must_symbol(m, "%s_addr_init", n);
        t->f[i].addr_zero = (addr_fn)must_symbol(m, "%s_addr_zero", n);
    }
    t->pattern_check = (int_fn)must_symbol(m, "tls_pattern_check");
}

static void load_models(const char *variant, struct tls_mod *t)
{
    char name[64];
    snprintf(name, sizeof name, "tls_models_%s", variant);
    lookup_models(link_one(name), t);
}

#define FAIL(err, ...) (snprintf((err), 256, __VA_ARGS__), -1)

/* On the calling thread, which must not have touched T's variables yet:
 * every variable holds its initial value (.tdata) or zero (.tbss), at a
 * stable address that each access agrees on; then each is incremented
 * BUMPS times.  Records the thread's addresses in ADDRS (may be NULL).
 * Returns 0, or -1 with a message in ERR (256 bytes). */
static int check_fresh(const struct tls_mod *t, int bumps, int *addrs[][2], char *err)
{
    for (size_t i = 0; i < NMODELS; i++) {
        const struct model_fns *f = &t->f[i];
        const char *n = models[i].name;
        int init = models[i].init;
        int *ai = f->addr_init(), *az = f->addr_zero();
        if (!ai || !az || ai == az)
            return FAIL(err, "%s: addresses %p and %p", n, (void *)ai, (void *)az);
        if (((uintptr_t)ai | (uintptr_t)az) % _Alignof(int))
            return FAIL(err, "%s: misaligned %p %p", n, (void *)ai, (void *)az);
        if (f->get_init() != init || *ai != init)
            return FAIL(err, "%s_init: %d (read) / %d (through its address), expected %d", n,
                        f->get_init(), *ai, init);
        if (f->get_zero() != 0 || *az != 0)
            return FAIL(err, "%s_zero: %d / %d, expected 0 (.tbss)", n, f->get_zero(), *az);
        for (int k = 1; k <= bumps; k++) {
            int vi = f->bump_init(), vz = f->bump_zero();
            if (vi != init + k || vz != k)
                return FAIL(err, "%s: bump %d gave %d and %d", n, k, vi, vz);
        }
        if (f->addr_init() != ai || f->addr_zero() != az)
            return FAIL(err, "%s: the address moved", n);
        if (*ai != init + bumps || f->get_init() != init + bumps || *az != bumps)
            return FAIL(err, "%s: after %d bumps: %d %d %d", n, bumps, *ai, f->get_init(), *az);
        if (addrs) {
            addrs[i][0] = ai;
            addrs[i][1] = az;
        }
    }
    int bad = t->pattern_check();
    if (bad)
        return FAIL(err, "tls_pattern[%d] does not hold its initial byte", bad - 1);
    return 0;
}

/* On the calling thread, after check_fresh(T, BUMPS): the values are what
 * this thread left (other threads' writes are not visible). */
static int check_mine(const struct tls_mod *t, int bumps, char *err)
{
    for (size_t i = 0; i < NMODELS; i++) {
        const struct model_fns *f = &t->f[i];
        if (f->get_init() != models[i].init + bumps || f->get_zero() != bumps)
            return FAIL(err, "%s: this thread's values changed: %d %d, expected %d %d",
                        models[i].name, f->get_init(), f->get_zero(), models[i].init + bumps,
                        bumps);
    }
    return 0;
}

struct job {
    const struct tls_mod *t;
    pthread_barrier_t *start; /* waited on before the checks, when not NULL */
    pthread_barrier_t *end;   /* waited on after them, when not NULL */
    int bumps;
    int *addrs[NMODELS][2];
    int failed;
    char err[256];
};

static void *job_thread(void *arg)
{
    struct job *j = arg;
    if (j->start)
        pthread_barrier_wait(j->start);
    j->failed = check_fresh(j->t, j->bumps, j->addrs, j->err) ||
                check_mine(j->t, j->bumps, j->err);
    if (j->end)
        pthread_barrier_wait(j->end);
    return NULL;
}

static void run_job(struct job *j)
{
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, job_thread, j), 0);
    cr_assert_eq(pthread_join(th, NULL), 0);
    cr_assert_not(j->failed, "in another thread: %s", j->err);
}

/* The relocation types that show each model is really in VARIANT
 * ("_dyn" variants: only the dynamic ones). */
static void check_model_relocs(const char *variant)
{
    int dyn = strstr(variant, "dyn") != NULL;
    struct reloc_expect want[8];
    int n = 0;
#define WANT(t, what) (want[n++] = (struct reloc_expect){t, #t " (" what ")"})
#if defined(__x86_64__)
    if (!dyn) {
        WANT(R_X86_64_TPOFF32, "local-exec");
        WANT(R_X86_64_GOTTPOFF, "initial-exec");
    }
    if (strncmp(variant, "desc", 4) == 0) {
        WANT(R_X86_64_GOTPC32_TLSDESC, "descriptors");
        WANT(R_X86_64_TLSDESC_CALL, "descriptors");
    } else {
        WANT(R_X86_64_TLSGD, "general-dynamic");
        WANT(R_X86_64_TLSLD, "local-dynamic");
        WANT(R_X86_64_DTPOFF32, "local-dynamic");
    }
#elif defined(__aarch64__)
    if (!dyn) {
        WANT(R_AARCH64_TLSLE_ADD_TPREL_HI12, "local-exec");
        WANT(R_AARCH64_TLSIE_ADR_GOTTPREL_PAGE21, "initial-exec");
    }
    if (strncmp(variant, "trad", 4) == 0) {
        WANT(R_AARCH64_TLSGD_ADR_PAGE21, "general-dynamic");
    } else {
        WANT(R_AARCH64_TLSDESC_ADR_PAGE21, "descriptors");
        WANT(R_AARCH64_TLSDESC_CALL, "descriptors");
    }
#elif defined(__riscv)
    if (!dyn) {
        WANT(R_RISCV_TPREL_HI20, "local-exec");
        WANT(R_RISCV_TLS_GOT_HI20, "initial-exec");
    }
    WANT(R_RISCV_TLS_GD_HI20, "general-dynamic");
#endif
#undef WANT
    char name[64];
    snprintf(name, sizeof name, "tls_models_%s", variant);
    for (int i = 0; i < n; i++)
        cr_assert_gt(count_relocs(obj(name), want[i].type), 0, "%s.o has no %s relocation", name,
                     want[i].name);
}

/* Every model on the test's own thread: initial values, zeroes, addresses,
 * writes; the same variables seen through another object's local-exec,
 * initial-exec and general-dynamic code (tls_alias.c) at the same address. */
static void models_one_thread(const char *variant)
{
    check_model_relocs(variant);
    int dyn = strstr(variant, "dyn") != NULL;
    char name[64];
    snprintf(name, sizeof name, "tls_models_%s", variant);
    /* A dynamic variant with static-TLS code of another object would not be
     * dynamic any more: the local-exec and initial-exec views are left out. */
    const char *names[] = {name, "tls_alias_gd", "tls_alias_le", "tls_alias_ie", NULL};
    if (dyn)
        names[2] = NULL;
    struct tls_mod t;
    uint64_t static_tls = 0;
    lookup_models(link_names_tls(names, NULL, &static_tls), &t);
    if (dyn)
        cr_assert_eq(static_tls, 0, "no code needs static TLS, yet %llu bytes were asked for",
                     (unsigned long long)static_tls);
    else
        cr_assert_gt(static_tls, 0, "local-exec and initial-exec code need static TLS");
    char err[256];
    int *addrs[NMODELS][2];
    cr_assert_eq(check_fresh(&t, 3, addrs, err), 0, "%s", err);
    cr_assert_eq(check_mine(&t, 3, err), 0, "%s", err);
    static const char *aliased[] = {"le_init", "ie_init", "gd_init", "dflt_init", "dflt_zero",
                                    "tls_exported"};
    static const char *via[] = {"gd", "le", "ie"};
    for (size_t v = 0; v < sizeof aliased / sizeof *aliased; v++) {
        int *first = NULL;
        for (size_t k = 0; k < (dyn ? 1 : 3); k++) {
            int *p = ((addr_fn)must_symbol(t.m, "alias_%s_%s", via[k], aliased[v]))();
            cr_assert_not_null(p);
            if (!first)
                first = p;
            cr_assert_eq(p, first, "%s: %s code finds %p, %s code %p", aliased[v], via[k],
                         (void *)p, via[0], (void *)first);
        }
        if (v < 3)
            cr_assert_eq(first, addrs[v][0], "%s: the defining object's code finds %p, another "
                         "object's %p", aliased[v], (void *)addrs[v][0], (void *)first);
    }
    cr_assert_eq(*((addr_fn)must_symbol(t.m, "alias_gd_tls_exported"))(), 1234);
    ej_module_free(t.m);
}

/* Each model from two more threads: each sees its own initialised copy, at
 * its own address, and writes stay in the thread that made them. */
static void models_threads(const char *variant)
{
    EJ_TEST_REQUIRE_THREADS();
    struct tls_mod t;
    load_models(variant, &t);
    char err[256];
    int *mine[NMODELS][2];
    cr_assert_eq(check_fresh(&t, 5, mine, err), 0, "%s", err);
    struct job a = {.t = &t, .bumps = 2}, b = {.t = &t, .bumps = 9};
    run_job(&a);
    run_job(&b);
    cr_assert_eq(check_mine(&t, 5, err), 0, "after the other threads: %s", err);
    /* (A and B ran one after the other: B may reuse A's freed block.) */
    for (size_t i = 0; i < NMODELS; i++)
        for (int k = 0; k < 2; k++)
            cr_assert(mine[i][k] != a.addrs[i][k] && mine[i][k] != b.addrs[i][k],
                      "%s: two threads share the address of a thread-local variable",
                      models[i].name);
    ej_module_free(t.m);
}

/* nopic, pic: every model, a static block; pic_dyn: only the dynamic
 * models (elfjit may relax them to initial-exec in static TLS); pic_dynblk:
 * the same with a page-aligned variable, which keeps the block dynamic and
 * the code unrelaxed; desc / trad: the other dialect of -fPIC. */
Test(tls, models_nopic) { models_one_thread("nopic"); }
Test(tls, models_pic) { models_one_thread("pic"); }
Test(tls, models_pic_dyn) { models_one_thread("pic_dyn"); }
Test(tls, models_pic_dynblk) { models_one_thread("pic_dynblk"); }
Test(tls, models_nopic_threads) { models_threads("nopic"); }
Test(tls, models_pic_threads) { models_threads("pic"); }
Test(tls, models_pic_dyn_threads) { models_threads("pic_dyn"); }
Test(tls, models_pic_dynblk_threads) { models_threads("pic_dynblk"); }
#if defined(__x86_64__)
#define OTHER "desc"
#elif defined(__aarch64__)
#define OTHER "trad"
#endif
#ifdef OTHER
Test(tls, models_other_dialect) { models_one_thread(OTHER); }
Test(tls, models_other_dialect_dyn) { models_one_thread(OTHER "_dyn"); }
Test(tls, models_other_dialect_dynblk) { models_one_thread(OTHER "_dynblk"); }
Test(tls, models_other_dialect_threads) { models_threads(OTHER); }
Test(tls, models_other_dialect_dyn_threads) { models_threads(OTHER "_dyn"); }
Test(tls, models_other_dialect_dynblk_threads) { models_threads(OTHER "_dynblk"); }
#endif

/* ---- threads before and after the link ---------------------------------- */

#define EARLY 3
#define LATE 2

/* Threads created before the link, waiting on a barrier, then calling into
 * the module; threads created after it: every one sees its own initialised
 * copy (the C library initialises static TLS in the threads that exist when
 * the block is added, and allocates dynamic blocks on first use). */
static void before_and_after(const char *variant)
{
    EJ_TEST_REQUIRE_THREADS();
    pthread_barrier_t start, end;
    cr_assert_eq(pthread_barrier_init(&start, NULL, EARLY + 1), 0);
    /* Every thread stays alive until all have checked: no block is reused. */
    cr_assert_eq(pthread_barrier_init(&end, NULL, EARLY + LATE + 1), 0);
    struct tls_mod t;
    struct job jobs[EARLY + LATE];
    pthread_t th[EARLY + LATE];
    memset(jobs, 0, sizeof jobs);
    for (int i = 0; i < EARLY + LATE; i++) {
        jobs[i].t = &t;
        jobs[i].bumps = i + 1;
        jobs[i].start = i < EARLY ? &start : NULL;
        jobs[i].end = &end;
    }
    for (int i = 0; i < EARLY; i++)
        cr_assert_eq(pthread_create(&th[i], NULL, job_thread, &jobs[i]), 0);
    load_models(variant, &t);
    pthread_barrier_wait(&start);
    for (int i = EARLY; i < EARLY + LATE; i++)
        cr_assert_eq(pthread_create(&th[i], NULL, job_thread, &jobs[i]), 0);
    char err[256];
    int *mine[NMODELS][2];
    int main_failed = check_fresh(&t, 1, mine, err);
    pthread_barrier_wait(&end);
    for (int i = 0; i < EARLY + LATE; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&start);
    pthread_barrier_destroy(&end);
    cr_assert_eq(main_failed, 0, "the test's thread: %s", err);
    for (int i = 0; i < EARLY + LATE; i++)
        cr_assert_not(jobs[i].failed, "%s thread %d: %s", i < EARLY ? "early" : "late", i,
                      jobs[i].err);
    for (size_t v = 0; v < NMODELS; v++)
        for (int i = 0; i < EARLY + LATE; i++) {
            cr_assert_neq(jobs[i].addrs[v][0], mine[v][0], "%s: thread %d has the test "
                          "thread's address", models[v].name, i);
            for (int k = i + 1; k < EARLY + LATE; k++)
                cr_assert_neq(jobs[i].addrs[v][0], jobs[k].addrs[v][0],
                              "%s: threads %d and %d share an address", models[v].name, i, k);
        }
    ej_module_free(t.m);
}

Test(tls, threads_before_and_after_link_static) { before_and_after("nopic"); }
Test(tls, threads_before_and_after_link_relaxed) { before_and_after("pic_dyn"); }
Test(tls, threads_before_and_after_link_dynamic) { before_and_after("pic_dynblk"); }
#ifdef OTHER
Test(tls, threads_before_and_after_link_other_dialect) { before_and_after(OTHER); }
Test(tls, threads_before_and_after_link_other_dialect_dynamic)
{
    before_and_after(OTHER "_dynblk");
}
#endif

/* ---- links while another thread runs loaded code ------------------------ */

#define ROUNDS 12

struct runner {
    const struct tls_mod *a;            /* linked before the thread starts */
    _Atomic(const struct tls_mod *) b;  /* handed over for one round */
    atomic_int stop, rounds_done, calls;
    int failed;
    char err[256];
};

static void *runner_thread(void *arg)
{
    struct runner *r = arg;
    int expect = 0, round = 0;
    char err[256];
    if (check_fresh(r->a, 0, NULL, err)) {
        r->failed = 1;
        snprintf(r->err, sizeof r->err, "module A, first use: %s", err);
        return NULL;
    }
    while (!atomic_load(&r->stop)) {
        /* A's counters move only when this thread moves them. */
        for (size_t i = 0; i < NMODELS; i++) {
            int v = r->a->f[i].bump_zero();
            if (v != expect + 1) {
                r->failed = 1;
                snprintf(r->err, sizeof r->err, "module A, %s_zero: %d after %d bumps",
                         models[i].name, v, expect);
                return NULL;
            }
        }
        expect++;
        atomic_fetch_add(&r->calls, 1);
        const struct tls_mod *b = atomic_load(&r->b);
        if (b) {
            if (check_fresh(b, 2, NULL, err) || check_mine(b, 2, err)) {
                r->failed = 1;
                snprintf(r->err, sizeof r->err, "module B, round %d: %s", round, err);
                return NULL;
            }
            atomic_store(&r->b, NULL);
            atomic_store(&r->rounds_done, ++round);
        }
    }
    return NULL;
}

/* Module A runs in a thread loop while the test's thread links, uses and
 * frees module B ROUNDS times; the thread also uses each B once before it
 * is freed. */
static void link_while_running(const char *a_variant, const char *b_variant)
{
    EJ_TEST_REQUIRE_THREADS();
    struct tls_mod a;
    load_models(a_variant, &a);
    struct runner r = {.a = &a};
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, runner_thread, &r), 0);
    struct timespec nap = {0, 100 * 1000};
    int ok = 1;
    for (int round = 0; ok && round < ROUNDS; round++) {
        struct tls_mod b;
        load_models(b_variant, &b);
        char err[256];
        if (check_fresh(&b, 4, NULL, err)) {
            atomic_store(&r.stop, 1);
            pthread_join(th, NULL);
            cr_assert_fail("module B, the test's thread, round %d: %s", round, err);
        }
        atomic_store(&r.b, &b);
        while (atomic_load(&r.rounds_done) <= round && !r.failed && ok) {
            nanosleep(&nap, NULL);
            /* the runner stops only when it failed */
            ok = !r.failed;
        }
        ok = ok && !r.failed;
        if (ok)
            cr_assert_eq(check_mine(&b, 4, err), 0, "module B, round %d: %s", round, err);
        ej_module_free(b.m);
    }
    atomic_store(&r.stop, 1);
    pthread_join(th, NULL);
    cr_assert_not(r.failed, "%s", r.err);
    cr_assert_eq(atomic_load(&r.rounds_done), ROUNDS);
    cr_assert_gt(atomic_load(&r.calls), 0);
    char err[256];
    cr_assert_eq(check_fresh(&a, 0, NULL, err), 0, "module A on the test's thread: %s", err);
    ej_module_free(a.m);
}

/* A's block dynamic and B's static, the other way round, and both
 * dynamic-only code (B relaxed). */
Test(tls, link_while_threads_run_static) { link_while_running("pic_dynblk", "nopic"); }
Test(tls, link_while_threads_run_dynamic) { link_while_running("nopic", "pic_dynblk"); }
Test(tls, link_while_threads_run_relaxed) { link_while_running("pic_dynblk", "pic_dyn"); }

/* ---- load/unload cycles --------------------------------------------------- */

/* Links OBJ alone into *M (registration off); 0, or -1 with a message. */
static int cycle_link(const char *o, ej_module **m, uint64_t *static_tls, int round, char *err)
{
    ej_linker *lk;
    *m = NULL;
    if (ej_linker_create(&lk) != EJ_OK)
        return FAIL(err, "ej_linker_create");
    ej_linker_set_registration(lk, 0);
    ej_status st = ej_linker_add_file(lk, obj(o));
    if (st == EJ_OK)
        st = ej_linker_link(lk, m);
    int rc = st == EJ_OK ? 0
                         : FAIL(err, "round %d: %s: %s: %s", round, o, ej_status_name(st),
                                ej_linker_errmsg(lk));
    *static_tls = ej_linker_static_tls_size(lk);
    ej_linker_free(lk);
    return rc;
}

/* One cycle: a module with a static block (tls_models_nopic: local-exec and
 * initial-exec), one with dynamic-only code elfjit may relax into static
 * TLS (tls_models_pic_dyn), and one with a dynamic, page-aligned block
 * (tls_aligned_gd), all used, then freed in the reverse order (glibc
 * reclaims static TLS only when the freed block is the last one).  Returns
 * 0, or -1 with a message in ERR (asserts would leave modules mapped). */
static int tls_cycle(int round, char *err)
{
    ej_module *ms = NULL, *mr = NULL, *md = NULL;
    uint64_t ss = 0, sr = 0, sd = 0;
    int rc = cycle_link("tls_models_nopic", &ms, &ss, round, err);
    if (rc == 0)
        rc = cycle_link("tls_models_pic_dyn", &mr, &sr, round, err);
    if (rc == 0)
        rc = cycle_link("tls_aligned_gd", &md, &sd, round, err);
    if (rc == 0 && (ss == 0 || sr != 0 || sd != 0))
        rc = FAIL(err, "round %d: static TLS sizes %llu, %llu and %llu", round,
                  (unsigned long long)ss, (unsigned long long)sr, (unsigned long long)sd);
    if (rc == 0) {
        int_fn ie = (int_fn)ej_module_symbol(ms, "ie_bump_init");
        int_fn le = (int_fn)ej_module_symbol(ms, "le_bump_zero");
        int_fn gd = (int_fn)ej_module_symbol(mr, "gd_bump_init");
        int_fn ld = (int_fn)ej_module_symbol(mr, "ld_bump_zero");
        int_fn sum = (int_fn)ej_module_symbol(md, "tls_aligned_sum");
        char *(*big)(void) = (char *(*)(void))ej_module_symbol(md, "tls_abig_addr");
        if (!ie || !le || !gd || !ld || !sum || !big)
            rc = FAIL(err, "round %d: missing symbols", round);
        else if (ie() != 103 || le() != 1 || gd() != 104 || ld() != 1 ||
                 sum() != 1 + 64 + 66 + 2 + 4 + 1 || (uintptr_t)big() % 4096 != 0)
            rc = FAIL(err, "round %d: wrong values in a fresh module", round);
    }
    ej_module_free(md);
    ej_module_free(mr);
    ej_module_free(ms);
    return rc;
}

Test(tls, load_unload_cycles)
{
    int rounds = 2000;
    char err[256];
    /* The first cycles create what the process keeps (libelf, the loader's
     * caches, malloc's arenas). */
    for (int i = 0; i < 3; i++)
        cr_assert_eq(tls_cycle(i, err), 0, "%s", err);
    int maps = ej_test_count_mappings(), fds = count_fds();
    cr_assert_geq(fds, 0);
    int failed = 0;
    for (int i = 0; i < rounds && !failed; i++)
        failed = tls_cycle(i, err);
    cr_assert_eq(failed, 0, "%s", err);
    cr_assert_eq(count_fds(), fds, "open descriptors: %d before %d cycles, %d after", fds, rounds,
                 count_fds());
    cr_assert_eq(ej_test_count_mappings(), maps, "mappings: %d before %d cycles, %d after", maps,
                 rounds, ej_test_count_mappings());
    cr_assert_eq(count_tls_memfd_maps(), 0, "a TLS module's memory file is still mapped");
}

/* Two modules with static blocks alive at once (tls_models_nopic and
 * tls_models_pic, 344 bytes each, aligned 16), freed in the reverse order,
 * 500 times.  Each block freed is then the last one, which glibc reclaims,
 * but only from its start: on x86_64 the padding glibc put in front of the
 * second block (to align it) stays in use, so the first block no longer
 * ends the used area and is never reclaimed.  Blocks whose size is a
 * multiple of their alignment leave no such padding. */
Test(tls, load_unload_cycles_two_static)
{
    char err[256];
    int failed = 0, round = 0;
    for (; round < 500 && !failed; round++) {
        ej_module *a = NULL, *b = NULL;
        uint64_t sa, sb;
        failed = cycle_link("tls_models_nopic", &a, &sa, round, err) ||
                 cycle_link("tls_models_pic", &b, &sb, round, err);
        if (!failed && (((int_fn)ej_module_symbol(a, "ie_bump_init"))() != 103 ||
                        ((int_fn)ej_module_symbol(b, "le_bump_init"))() != 102))
            failed = FAIL(err, "round %d: wrong values", round);
        ej_module_free(b);
        ej_module_free(a);
    }
    cr_assert_eq(failed, 0, "%s", err);
}

/* ---- static TLS exhaustion -------------------------------------------------- */

Test(tls, static_tls_exhausted)
{
    int maps = ej_test_count_mappings(), fds = count_fds();
    ej_linker *lk;
    ej_module *m = (ej_module *)&m;
    cr_assert_eq(ej_linker_create(&lk), EJ_OK);
    cr_assert_eq(ej_linker_add_file(lk, obj("tls_big_ie")), EJ_OK, "%s", ej_linker_errmsg(lk));
    cr_assert_eq(ej_linker_static_tls_size(lk), 0, "no link ran yet");
    ej_status st = ej_linker_link(lk, &m);
    const char *msg = ej_linker_errmsg(lk);
    cr_assert_eq(st, EJ_STATIC_TLS, "%s: %s", ej_status_name(st), msg);
    cr_assert_null(m);
    cr_assert(strstr(msg, "tls_big_array"), "the message names the variable: %s", msg);
    cr_assert(strstr(msg, "optional_static_tls"), "the message names the tunable: %s", msg);
    cr_assert(strstr(msg, "65536"), "the message gives the size: %s", msg);
    cr_assert_geq(ej_linker_static_tls_size(lk), 65536);
    ej_linker_free(lk);
    cr_assert_eq(ej_test_count_mappings(), maps, "a failed link left mappings");
    cr_assert_eq(count_fds(), fds, "a failed link left descriptors open");
    cr_assert_eq(count_tls_memfd_maps(), 0);

    /* The same variable with general-dynamic code: a dynamic block, any size. */
    m = link_one("tls_big_gd");
    char *(*addr)(void) = (char *(*)(void))must_symbol(m, "tls_big_addr");
    int (*touch)(int, int) = (int (*)(int, int))must_symbol(m, "tls_big_touch");
    cr_assert_eq(touch(0, 7), 0);
    cr_assert_eq(touch(65535, 9), 0);
    cr_assert_eq(touch(65535, 1), 9);
    cr_assert_eq(addr()[0], 7);
    cr_assert_eq(addr()[65535], 1);
    cr_assert_not_null(ej_module_symbol(m, "tls_big_array"));
    ej_module_free(m);
}

/* ---- errno and other modules' thread-local variables --------------------- */

struct host_fns {
    int_fn get, bump, host_get, host_bump;
    addr_fn addr, host_addr;
    int (*strtol_errno)(const char *, long *);
};

static void host_lookup(ej_module *m, struct host_fns *h)
{
    h->get = (int_fn)must_symbol(m, "libtls_get");
    h->bump = (int_fn)must_symbol(m, "libtls_bump");
    h->addr = (addr_fn)must_symbol(m, "libtls_addr");
    h->host_get = (int_fn)must_symbol(m, "hosttls_get");
    h->host_bump = (int_fn)must_symbol(m, "hosttls_bump");
    h->host_addr = (addr_fn)must_symbol(m, "hosttls_addr");
    h->strtol_errno = (int (*)(const char *, long *))must_symbol(m, "strtol_errno");
}

struct host_job {
    const struct host_fns *ie, *gd;
    int *libtls_dl; /* this thread's libtls, as dlsym says (set by the thread) */
    void *lib;
    int failed;
    char err[256];
};

/* In a thread: libtls and ej_test_host_tls start from their initial values,
 * the initial-exec and general-dynamic code and dlsym/the host agree on
 * where they are, and errno works. */
static int host_check(const struct host_fns *ie, const struct host_fns *gd, void *lib,
                      int bumps, char *err)
{
    int *dl = dlsym(lib, "libtls");
    if (!dl)
        return FAIL(err, "dlsym(libtls): %s", dlerror());
    if (ie->addr() != dl || gd->addr() != dl)
        return FAIL(err, "libtls at %p (dlsym), %p (initial-exec), %p (general-dynamic)",
                     (void *)dl, (void *)ie->addr(), (void *)gd->addr());
    if (*dl != 41 || ie->get() != 41 || gd->get() != 41)
        return FAIL(err, "libtls: %d %d %d, expected 41", *dl, ie->get(), gd->get());
    for (int k = 0; k < bumps; k++)
        if (ie->bump() != 42 + 2 * k || gd->bump() != 43 + 2 * k)
            return FAIL(err, "libtls: wrong value after %d bumps", 2 * k);
    if (*dl != 41 + 2 * bumps)
        return FAIL(err, "libtls: the library sees %d, expected %d", *dl, 41 + 2 * bumps);
    if (ie->host_addr() != &ej_test_host_tls || gd->host_addr() != &ej_test_host_tls)
        return FAIL(err, "ej_test_host_tls at %p, loaded code finds %p and %p",
                     (void *)&ej_test_host_tls, (void *)ie->host_addr(), (void *)gd->host_addr());
    if (ie->host_get() != ej_test_host_tls || gd->host_get() != ej_test_host_tls)
        return FAIL(err, "ej_test_host_tls: loaded code reads %d and %d, the host %d",
                    ie->host_get(), gd->host_get(), ej_test_host_tls);
    int before = ej_test_host_tls;
    if (ie->host_bump() != before + 1 || gd->host_bump() != before + 2 ||
        ej_test_host_tls != before + 2)
        return FAIL(err, "ej_test_host_tls: writes from loaded code are not the host's");
    long v = 0;
    errno = 12345;
    int seen = ie->strtol_errno("99999999999999999999999", &v);
    int host = errno;
    if (seen != ERANGE || host != ERANGE || v != LONG_MAX)
        return FAIL(err, "strtol overflow: the module saw errno %d, the host %d, value %ld", seen,
                    host, v);
    errno = 0;
    if (gd->strtol_errno("123", &v) != 0 || v != 123 || errno != 0)
        return FAIL(err, "strtol(\"123\"): errno %d, value %ld", errno, v);
    return 0;
}

static void *host_thread(void *arg)
{
    struct host_job *j = arg;
    j->failed = host_check(j->ie, j->gd, j->lib, 5, j->err);
    j->libtls_dl = dlsym(j->lib, "libtls");
    return NULL;
}

Test(tls, errno_and_host_tls)
{
    /* Initial-exec code first: it moves libtls into static TLS, which must
     * happen before anything reaches libtls dynamically (dlsym included). */
    const char *ie_names[] = {"tls_host_ie", NULL};
    const char *gd_names[] = {"tls_host_gd", NULL};
    ej_module *mie = link_names(ie_names, LIBTLS);
    ej_module *mgd = link_names(gd_names, LIBTLS);
    void *lib = dlopen(LIBTLS, RTLD_NOW | RTLD_NOLOAD);
    cr_assert_not_null(lib, "%s is not loaded: %s", LIBTLS, dlerror());
    struct host_fns ie, gd;
    host_lookup(mie, &ie);
    host_lookup(mgd, &gd);
    char err[256];
    ej_test_host_tls = 70;
    cr_assert_eq(host_check(&ie, &gd, lib, 3, err), 0, "%s", err);
    cr_assert_eq(ej_test_host_tls, 72);
    int *mine = dlsym(lib, "libtls");
    int *(*lib_addr)(void) = (int *(*)(void))dlsym(lib, "libtls_host_addr");
    cr_assert_not_null(lib_addr);
    cr_assert_eq(lib_addr(), mine, "the library's own code finds libtls elsewhere");

    EJ_TEST_REQUIRE_THREADS();
    struct host_job j = {.ie = &ie, .gd = &gd, .lib = lib};
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, host_thread, &j), 0);
    pthread_join(th, NULL);
    cr_assert_not(j.failed, "in another thread: %s", j.err);
    cr_assert_neq(j.libtls_dl, mine);
    /* The other thread's writes are not this thread's. */
    cr_assert_eq(*mine, 41 + 6);
    cr_assert_eq(ie.get(), 47);
    cr_assert_eq(ej_test_host_tls, 72);
    ej_module_free(mie);
    ej_module_free(mgd);
    dlclose(lib);
}

/* Initial-exec code can reach a library's TLS only while the library has
 * not gone dynamic: once a thread reached it through __tls_get_addr (here
 * dlsym), the C library cannot move it into static TLS.  The link must
 * fail cleanly, naming the variable. */
Test(tls, initial_exec_after_dynamic_use_fails_cleanly)
{
    /* dlsym of a TLS variable goes through __tls_get_addr: the library's
     * block is dynamic from then on.  (General-dynamic code would not do on
     * every target: glibc may give descriptors' modules static TLS.) */
    void *lib = dlopen(LIBTLS, RTLD_NOW);
    cr_assert_not_null(lib, "%s", dlerror());
    int *dl = dlsym(lib, "libtls");
    cr_assert(dl && *dl == 41);
    const char *gd_names[] = {"tls_host_gd", NULL};
    ej_module *mgd = link_names(gd_names, LIBTLS);
    cr_assert_eq(((addr_fn)must_symbol(mgd, "libtls_addr"))(), dl);
    int maps = ej_test_count_mappings(), fds = count_fds();
    ej_linker *lk;
    ej_module *m = NULL;
    cr_assert_eq(ej_linker_create(&lk), EJ_OK);
    cr_assert_eq(ej_linker_add_library(lk, LIBTLS), EJ_OK);
    cr_assert_eq(ej_linker_add_file(lk, obj("tls_host_ie")), EJ_OK);
    ej_status st = ej_linker_link(lk, &m);
    const char *msg = ej_linker_errmsg(lk);
    cr_log_info("initial-exec access to a dynamic library's TLS: %s: %s", ej_status_name(st),
                msg);
    cr_assert_neq(st, EJ_OK, "the link cannot work");
    cr_assert_null(m);
    cr_assert(strstr(msg, "libtls"), "the message names the variable: %s", msg);
    ej_linker_free(lk);
    cr_assert_eq(ej_test_count_mappings(), maps, "a failed link left mappings");
    cr_assert_eq(count_fds(), fds, "a failed link left descriptors open");
    cr_assert_eq(((int_fn)must_symbol(mgd, "libtls_get"))(), 41, "the first module still works");
    ej_module_free(mgd);
    dlclose(lib);
}

/* ---- over-aligned variables ------------------------------------------------ */

struct align_job {
    ej_module *m;
    uintptr_t a64, abig, z64;
    int sum;
};

static void align_probe(struct align_job *j)
{
    j->a64 = (uintptr_t)((char *(*)(void))ej_module_symbol(j->m, "tls_a64_addr"))();
    j->abig = (uintptr_t)((char *(*)(void))ej_module_symbol(j->m, "tls_abig_addr"))();
    j->z64 = (uintptr_t)((char *(*)(void))ej_module_symbol(j->m, "tls_z64_addr"))();
    j->sum = ((int_fn)ej_module_symbol(j->m, "tls_aligned_sum"))();
}

static void *align_thread(void *arg)
{
    align_probe(arg);
    return NULL;
}

static void aligned(const char *name, uintptr_t big)
{
    ej_module *m = link_one(name);
    must_symbol(m, "tls_a64_addr");
    must_symbol(m, "tls_abig_addr");
    must_symbol(m, "tls_z64_addr");
    must_symbol(m, "tls_aligned_sum");
    struct align_job mine = {.m = m}, other = {.m = m};
    align_probe(&mine);
    EJ_TEST_REQUIRE_THREADS();
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, align_thread, &other), 0);
    pthread_join(th, NULL);
    struct align_job *js[] = {&mine, &other};
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(js[i]->a64 % 64, 0, "thread %d: tls_a64 at %#lx", i,
                     (unsigned long)js[i]->a64);
        cr_assert_eq(js[i]->z64 % 64, 0, "thread %d: tls_z64 at %#lx", i,
                     (unsigned long)js[i]->z64);
        cr_assert_eq(js[i]->abig % big, 0, "thread %d: tls_abig (aligned %lu) at %#lx", i,
                     (unsigned long)big, (unsigned long)js[i]->abig);
        cr_assert_eq(js[i]->sum, 1 + 64 + 66 + 2 + 4 + 1, "thread %d: initial values", i);
    }
    cr_assert_neq(mine.a64, other.a64);
    ej_module_free(m);
}

Test(tls, aligned_dynamic) { aligned("tls_aligned_gd", 4096); }
Test(tls, aligned_static)
{
    cr_assert_eq((uintptr_t)ej_test_tls_align64 % 64, 0);
    aligned("tls_aligned_ie", 64);
}

/* A page-aligned block in static TLS: more than glibc's static TLS
 * alignment, a clean EJ_STATIC_TLS that says so. */
Test(tls, aligned_static_too_much)
{
    int maps = ej_test_count_mappings(), fds = count_fds();
    ej_linker *lk;
    ej_module *m = NULL;
    cr_assert_eq(ej_linker_create(&lk), EJ_OK);
    cr_assert_eq(ej_linker_add_file(lk, obj("tls_aligned_ie4k")), EJ_OK);
    ej_status st = ej_linker_link(lk, &m);
    const char *msg = ej_linker_errmsg(lk);
    cr_assert_eq(st, EJ_STATIC_TLS, "%s: %s", ej_status_name(st), msg);
    cr_assert_null(m);
    cr_assert(strstr(msg, "align"), "the message says the alignment is the problem: %s", msg);
    cr_assert(strstr(msg, "tls_a64") || strstr(msg, "tls_abig") || strstr(msg, "tls_z64") ||
                  strstr(msg, "tls_pad"),
              "the message names a variable: %s", msg);
    /* What a restart would ask for: the size, and the alignment to preload
     * (ej_static_tls_preload). */
    cr_assert_geq(ej_linker_static_tls_size(lk), 4096);
    cr_assert_eq(ej_linker_static_tls_align(lk), 4096);
    ej_linker_free(lk);
    cr_assert_eq(ej_test_count_mappings(), maps, "a failed link left mappings");
    cr_assert_eq(count_fds(), fds, "a failed link left descriptors open");
}

/* ---- link-only mode ------------------------------------------------------- */

Test(tls, link_only)
{
    int fds = count_fds();
    const char *variants[] = {"tls_models_nopic", "tls_models_pic", "tls_models_pic_dyn",
                              "tls_models_pic_dynblk", "tls_big_ie", "tls_big_gd",
                              "tls_aligned_gd", "tls_aligned_ie", "tls_aligned_ie4k",
#ifdef OTHER
                              "tls_models_" OTHER, "tls_models_" OTHER "_dyn",
                              "tls_models_" OTHER "_dynblk",
#endif
    };
    for (size_t i = 0; i < sizeof variants / sizeof *variants; i++) {
        ej_linker *lk;
        ej_module *m = NULL;
        cr_assert_eq(ej_linker_create(&lk), EJ_OK);
        cr_assert_eq(ej_linker_set_base(lk, 0x40000000), EJ_OK);
        cr_assert_eq(ej_linker_add_file(lk, obj(variants[i])), EJ_OK, "%s", ej_linker_errmsg(lk));
        if (strncmp(variants[i], "tls_models", 10) == 0)
            cr_assert_eq(ej_linker_add_file(lk, obj("tls_alias_gd")), EJ_OK);
        ej_status st = ej_linker_link(lk, &m);
        cr_assert_eq(st, EJ_OK, "%s: %s: %s", variants[i], ej_status_name(st),
                     ej_linker_errmsg(lk));
        /* No C library involved: no TLS module was loaded. */
        cr_assert_eq(count_tls_memfd_maps(), 0, "%s", variants[i]);
        cr_assert_eq(count_fds(), fds, "%s", variants[i]);
        uint64_t lo, hi;
        ej_module_range(m, &lo, &hi);
        cr_assert(lo >= 0x40000000 && hi > lo, "%s", variants[i]);
        cr_assert_eq(ej_module_init(m, 0, NULL, NULL), EJ_STATE);
        ej_linker_free(lk);
        ej_module_free(m);
    }

    /* Another module's TLS variable (here the executable's): refused. */
    ej_linker *lk;
    ej_module *m = NULL;
    cr_assert_eq(ej_linker_create(&lk), EJ_OK);
    cr_assert_eq(ej_linker_set_base(lk, 0x40000000), EJ_OK);
    cr_assert_eq(ej_linker_add_library(lk, LIBTLS), EJ_OK);
    cr_assert_eq(ej_linker_add_file(lk, obj("tls_host_ie")), EJ_OK);
    ej_status st = ej_linker_link(lk, &m);
    const char *msg = ej_linker_errmsg(lk);
    cr_assert_neq(st, EJ_OK);
    cr_assert_null(m);
    cr_assert(strstr(msg, "link-only"), "%s", msg);
    cr_assert(strstr(msg, "libtls") || strstr(msg, "ej_test_host_tls"),
              "the message names the variable: %s", msg);
    cr_assert(strstr(msg, "thread-local"), "%s", msg);
    ej_linker_free(lk);
}

/* ---- ej_module_symbol of a thread-local variable ------------------------- */

struct sym_job {
    ej_module *m;
    int *exported, *via_code, value;
    long long *zero;
    int zero_ok;
};

static void *sym_thread(void *arg)
{
    struct sym_job *j = arg;
    j->exported = ej_module_symbol(j->m, "tls_exported");
    j->zero = ej_module_symbol(j->m, "tls_exported_zero");
    j->via_code = ((addr_fn)ej_module_symbol(j->m, "alias_gd_tls_exported"))();
    j->value = j->exported ? *j->exported : -1;
    j->zero_ok = j->zero && !j->zero[0] && !j->zero[3];
    return NULL;
}

/* As dlsym answers for a TLS symbol: the calling thread's copy. */
static void symbol_of_tls(const char *variant)
{
    char name[64];
    snprintf(name, sizeof name, "tls_models_%s", variant);
    const char *names[] = {name, "tls_alias_gd", NULL};
    ej_module *m = link_names(names, NULL);
    struct sym_job mine = {.m = m};
    sym_thread(&mine);
    cr_assert_not_null(mine.exported);
    cr_assert_eq(mine.exported, mine.via_code,
                 "ej_module_symbol gives %p, the module's code finds %p",
                 (void *)mine.exported, (void *)mine.via_code);
    cr_assert_eq(mine.value, 1234);
    cr_assert(mine.zero_ok);
    *mine.exported = 99;
    mine.zero[1] = 5;
    cr_assert_eq(((int_fn)must_symbol(m, "dflt_get_init"))(), 105);
    cr_assert_eq(*(int *)must_symbol(m, "dflt_init"), 105);
    cr_assert_eq(*(int *)must_symbol(m, "le_init"), 101);
    cr_assert_eq(must_symbol(m, "gd_init"), ((addr_fn)must_symbol(m, "gd_addr_init"))());
    EJ_TEST_REQUIRE_THREADS();
    struct sym_job other = {.m = m};
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, sym_thread, &other), 0);
    pthread_join(th, NULL);
    cr_assert_not_null(other.exported);
    cr_assert_neq(other.exported, mine.exported, "two threads get one address");
    cr_assert_eq(other.exported, other.via_code);
    cr_assert_eq(other.value, 1234, "the other thread's copy is initialised");
    cr_assert(other.zero_ok, "the other thread's .tbss copy is zero");
    cr_assert_eq(*mine.exported, 99);
    ej_module_free(m);
}

Test(tls, symbol_of_tls_variable_static) { symbol_of_tls("nopic"); }
Test(tls, symbol_of_tls_variable_dynamic) { symbol_of_tls("pic_dyn"); }

/* ---- thread_local destructors ------------------------------------------ */

/* Whether ADDR lies in a mapping of this process. */
static int mapped(uint64_t addr)
{
    FILE *f = fopen("/proc/self/maps", "r");
    char line[512];
    int found = 0;
    cr_assert(f);
    while (!found && fgets(line, sizeof line, f)) {
        unsigned long long lo, hi;
        if (sscanf(line, "%llx-%llx", &lo, &hi) == 2 && addr >= lo && addr < hi)
            found = 1;
    }
    fclose(f);
    return found;
}

static volatile int dtors_run;
static ej_module *dtor_module;
static pthread_barrier_t dtor_touched, dtor_freed;

static void *dtor_thread(void *arg)
{
    int (*touch)(void) = (int (*)(void))ej_module_symbol(dtor_module, "touch");
    intptr_t ok = touch && touch() == 1;
    pthread_barrier_wait(&dtor_touched);
    /* The module is freed now, while this thread's object lives: its
     * destructor (module code) must still run at this thread's exit. */
    pthread_barrier_wait(&dtor_freed);
    return (void *)ok;
}

Test(tls, thread_local_destructors_outlive_the_unload)
{
    EJ_TEST_REQUIRE_THREADS();
    dtor_module = link_one("tls_dtor");
    volatile int **count = ej_module_symbol(dtor_module, "dtor_count");
    int (*touch)(void) = (int (*)(void))ej_module_symbol(dtor_module, "touch");
    cr_assert(count && touch);
    *count = &dtors_run;
    cr_assert_eq(touch(), 1);
    cr_assert_eq(pthread_barrier_init(&dtor_touched, NULL, 2), 0);
    cr_assert_eq(pthread_barrier_init(&dtor_freed, NULL, 2), 0);
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, dtor_thread, NULL), 0);
    pthread_barrier_wait(&dtor_touched);
    uint64_t start, end;
    ej_module_range(dtor_module, &start, &end);
    ej_module_free(dtor_module);
    /* This thread's destructor ran at the free; the other's has not. */
    cr_assert_eq(dtors_run, 1, "the freeing thread's destructor runs at once");
    cr_assert(mapped(start), "the code stays mapped while another thread holds an object");
    pthread_barrier_wait(&dtor_freed);
    void *ok;
    cr_assert_eq(pthread_join(t, &ok), 0);
    cr_assert(ok, "the thread saw its object");
    cr_assert_eq(dtors_run, 2, "the other thread's destructor ran at its exit");
    cr_assert(!mapped(start), "the module is released after the last destructor");
    pthread_barrier_destroy(&dtor_touched);
    pthread_barrier_destroy(&dtor_freed);
}
