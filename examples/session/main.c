/* session_example: a tiny language (lang.h) compiled function by function
 * into an elfjit session, for x86_64, aarch64 and riscv64.
 *
 *     sq(x) = x * x
 *     poly(x) = sq(x) + (1 + 2) * x - 2 * 5
 *     cold even(n) = if n == 0 then 1 else odd(n - 1)
 *     cold odd(n) = if n == 0 then 0 else even(n - 1)
 *
 * Each function is its own module; calls between them are relocations
 * against imports that the session resolves.  Hot functions are compiled
 * when the program is loaded, cold ones on their first call (lazy
 * compilation).  A function can be compiled again, constant-folded, and
 * swapped in while other threads call it (hot swap).
 *
 *     session_example [-O] FILE [X...]
 *                                    compile FILE (-O: folded from the
 *                                    start), call every function with
 *                                    each X (default 0 1 7), print
 *                                    "name(x) = value"
 *     session_example --self-test    compile a built-in program, check
 *                                    every result against the interpreter,
 *                                    swap a function in under a thread
 *                                    that keeps calling it, check that
 *                                    each cold function compiled once
 *     session_example --objects DIR ARCH FILE
 *                                    write each function's two versions
 *                                    as DIR/NAME.o and DIR/NAME.opt.o for
 *                                    ARCH (x86_64, aarch64, riscv64), to
 *                                    read with objdump -dr
 */
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "jit.h"

static char text[65536];
static program prog; /* large: static */

static int read_file(const char *path)
{
    FILE *in = fopen(path, "r");
    if (!in) {
        perror(path);
        return 0;
    }
    size_t len = fread(text, 1, sizeof text - 1, in);
    fclose(in);
    text[len] = '\0';
    return 1;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- default mode ----------------------------------------------------------- */

static int run_file(int argc, char **argv, enum tier start)
{
    if (!read_file(argv[1]) || !parse_program(&prog, text, argv[1]))
        return 1;
    jit *j = jit_load(&prog, argv[1], start);
    if (!j)
        return 1;
    int64_t xs[64] = {0, 1, 7};
    int nx = 3;
    if (argc > 2)
        for (nx = 0; nx < argc - 2 && nx < 64; nx++)
            xs[nx] = strtoll(argv[nx + 2], NULL, 10);
    for (int fi = 0; fi < prog.n; fi++)
        for (int i = 0; i < nx; i++) {
            int64_t v = jit_entry(j, fi)(xs[i]);
            printf("%s(%" PRId64 ") = %" PRId64 "\n", prog.f[fi].name, xs[i], v);
        }
    jit_free(j);
    return 0;
}

/* ---- --objects ---------------------------------------------------------------- */

static int write_objects(const char *dir, const char *arch, const char *file)
{
    const emitter *all[] = {&emit_x86_64, &emit_aarch64, &emit_riscv64}, *e = NULL;
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (strcmp(arch, all[i]->arch) == 0)
            e = all[i];
    if (!e) {
        fprintf(stderr, "session: unknown architecture '%s'\n", arch);
        return 1;
    }
    if (!read_file(file) || !parse_program(&prog, text, file))
        return 1;
    for (int fi = 0; fi < prog.n; fi++)
        for (int tier = TIER_FIRST; tier <= TIER_FOLDED; tier++) {
            char path[4096];
            snprintf(path, sizeof path, "%s/%s%s.o", dir, prog.f[fi].name,
                     tier == TIER_FIRST ? "" : ".opt");
            ej_builder *b = compile_function(&prog, fi, (enum tier)tier, e, file);
            if (!b)
                return 1;
            ej_status st = ej_builder_write(b, path);
            if (st != EJ_OK)
                fprintf(stderr, "session: %s\n", ej_builder_errmsg(b));
            ej_builder_free(b);
            if (st != EJ_OK)
                return 1;
        }
    return 0;
}

/* ---- the self-test ---------------------------------------------------------------- */

static const char builtin[] =
    "# hot: compiled when the program is loaded\n"
    "sq(x) = x * x\n"
    "poly(x) = sq(x) + (1 + 2) * x - 2 * 5 + 0 * x\n"
    "fib(n) = if n < 2 then n else fib(n - 1) + fib(n - 2)\n"
    "sumsq(n) = if n < 1 then 0 else sq(n) + sumsq(n - 1)\n"
    "abs(x) = (if 3 < 2 then 0 else 1) * (if x < 0 then -x else x)\n"
    "wide(x) = x * 6700417 + -81985529216486895 + 4611686018427387904 * (x - -1) - 40000\n"
    "pick(x) = if x == 0 then 2147483647 else if x == 1 then -2147483648 "
    "else if x == 2 then 2147481600 else if x == 7 then 4294967295 "
    "else if x == -3 then -9223372036854775807 - 1 else if x == 10 then 2146435072 "
    "else if x == 15 then -4294967297 else 81985529216486895\n"
    "# cold: compiled on their first call\n"
    "cold mix(x) = poly(x) - 2 * fib(abs(x)) + even(x)\n"
    "cold even(n) = if n == 0 then 1 else if n < 0 then even(-n) else odd(n - 1)\n"
    "cold odd(n) = if n == 0 then 0 else even(n - 1)\n";

static const int64_t test_xs[] = {0, 1, 2, 7, -3, 10, 15, -20};
enum { NXS = sizeof test_xs / sizeof test_xs[0] };

/* Calls every function with every test value; counts the results the
 * interpreter disagrees with.  PRINT: print each result. */
static int check_all(jit *j, int print)
{
    int wrong = 0;
    for (int fi = 0; fi < prog.n; fi++)
        for (int i = 0; i < NXS; i++) {
            int64_t x = test_xs[i];
            int64_t v = jit_entry(j, fi)(x), want = interpret(&prog, fi, x);
            if (print)
                printf("%s(%" PRId64 ") = %" PRId64 "\n", prog.f[fi].name, x, v);
            if (v != want) {
                printf("  MISMATCH: %s(%" PRId64 ") = %" PRId64 ", the interpreter says %" PRId64
                       "\n", prog.f[fi].name, x, v, want);
                wrong++;
            }
        }
    return wrong;
}

/* Each cold function compiled exactly EXPECT times so far. */
static int check_lazy(jit *j, int expect)
{
    int wrong = 0;
    for (int fi = 0; fi < prog.n; fi++) {
        if (!prog.f[fi].cold)
            continue;
        char msg[256];
        ej_status st = ej_session_lazy_state(jit_session(j), prog.f[fi].name, msg, sizeof msg);
        int n = jit_lazy_compiles(j, fi);
        if (n != expect || st != (expect ? EJ_OK : EJ_STATE)) {
            printf("  MISMATCH: %s compiled %d times (expected %d), state %s %s\n",
                   prog.f[fi].name, n, expect, ej_status_name(st), msg);
            wrong++;
        }
    }
    return wrong;
}

/* Threads may not work under some emulators (qemu-user can hang in
 * pthread_create): try one in a child, and give it 10 seconds. */
static void *nothing(void *arg)
{
    return arg;
}

static int threads_work(void)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        pthread_t t;
        _exit(pthread_create(&t, NULL, nothing, NULL) == 0 && pthread_join(t, NULL) == 0 ? 0
                                                                                           : 1);
    }
    if (pid < 0)
        return 0;
    for (int waited = 0; waited < 10000; waited += 10) {
        int status;
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            return WIFEXITED(status) && WEXITSTATUS(status) == 0;
        if (r < 0)
            return 0;
        sleep_ms(10);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return 0;
}

/* The thread that keeps calling the function being swapped, directly and
 * through a caller compiled before the swap, checking every result. */
enum { WMIN = -8, WMAX = 12 };

typedef struct worker {
    jit_fn f, caller;
    int64_t want_f[WMAX - WMIN + 1], want_caller[WMAX - WMIN + 1];
    atomic_int stop;
    atomic_long rounds, wrong;
    int64_t bad_x, bad_v, bad_want; /* the first wrong result */
} worker;

static void wrong_result(worker *w, int64_t x, int64_t v, int64_t want)
{
    if (atomic_fetch_add(&w->wrong, 1) == 0) /* (read after the join) */
        w->bad_x = x, w->bad_v = v, w->bad_want = want;
}

static void *work(void *arg)
{
    worker *w = arg;
    while (!atomic_load(&w->stop)) {
        for (int64_t x = WMIN; x <= WMAX; x++) {
            int64_t v = w->f(x), want = w->want_f[x - WMIN];
            if (v != want)
                wrong_result(w, x, v, want);
            v = w->caller(x), want = w->want_caller[x - WMIN];
            if (v != want)
                wrong_result(w, x, v, want);
        }
        atomic_fetch_add(&w->rounds, 1);
    }
    return NULL;
}

static uint64_t calls_of(jit *j, int fi)
{
    const uint64_t *c = jit_counter(j, fi);
    return c ? __atomic_load_n(c, __ATOMIC_RELAXED) : 0;
}

/* Recompiles HOT (folded) and swaps it in while a thread calls it and
 * CALLER (a cold function compiled before, calling HOT); or without the
 * thread when threads do not work here. */
static int hot_swap(jit *j, int hot, int caller, int threads)
{
    int wrong = 0;
    const char *name = prog.f[hot].name;
    enum { HOT = 5000 };
    if (!threads) {
        printf("threads do not work here (a test thread did not finish in 10 s; qemu-user can "
               "hang in pthread_create): skipping the concurrent part, swapping %s with no "
               "other caller\n", name);
        while (calls_of(j, hot) < HOT)
            (void)jit_entry(j, hot)(3);
        printf("%s is hot (%" PRIu64 " calls): recompiling it folded, swapping it in\n", name,
               calls_of(j, hot));
        if (!jit_recompile(j, hot))
            return 1;
    } else {
        static worker w;
        w.f = jit_entry(j, hot);
        w.caller = jit_entry(j, caller);
        for (int64_t x = WMIN; x <= WMAX; x++) {
            w.want_f[x - WMIN] = interpret(&prog, hot, x);
            w.want_caller[x - WMIN] = interpret(&prog, caller, x);
        }
        pthread_t t;
        if (pthread_create(&t, NULL, work, &w) != 0) {
            printf("  MISMATCH: pthread_create failed\n");
            return 1;
        }
        long deadline = now_ms() + 60000; /* (a minute: emulators are slow) */
        while (calls_of(j, hot) < HOT && now_ms() < deadline)
            sleep_ms(1);
        if (calls_of(j, hot) < HOT) {
            printf("  MISMATCH: the worker did not get going\n");
            wrong++;
        }
        printf("%s is hot (%" PRIu64 " calls on the worker thread): recompiling it folded, "
               "swapping it in under the worker\n", name, calls_of(j, hot));
        long before = atomic_load(&w.rounds);
        if (!jit_recompile(j, hot))
            wrong++;
        long swapped = atomic_load(&w.rounds);
        deadline = now_ms() + 60000;
        while (atomic_load(&w.rounds) < swapped + 20 && now_ms() < deadline)
            sleep_ms(1);
        if (atomic_load(&w.rounds) < swapped + 20) {
            printf("  MISMATCH: the worker stopped\n");
            wrong++;
        }
        atomic_store(&w.stop, 1);
        pthread_join(t, NULL);
        long rounds = atomic_load(&w.rounds), bad = atomic_load(&w.wrong);
        printf("worker: %ld rounds of %d calls (%ld before the new version's link, %ld during "
               "it, %ld after), %ld wrong\n", rounds, 2 * (WMAX - WMIN + 1), before,
               swapped - before, rounds - swapped, bad);
        if (bad)
            printf("  MISMATCH: the first wrong result on the worker: %" PRId64 " for x = %" PRId64
                   ", the interpreter says %" PRId64 "\n", w.bad_v, w.bad_x, w.bad_want);
        wrong += bad != 0;
    }
    /* Every call that starts now runs the new version: the old one's
     * counter stands still. */
    uint64_t was = calls_of(j, hot);
    wrong += check_all(j, 0);
    if (calls_of(j, hot) != was) {
        printf("  MISMATCH: the first version of %s still runs\n", name);
        wrong++;
    } else {
        printf("the first version of %s no longer runs (its counter stays at %" PRIu64 ")\n",
               name, was);
    }
    /* No thread runs the old code any more (the worker was joined). */
    if (!jit_retire(j, hot))
        wrong++;
    return wrong;
}

static int self_test(void)
{
    int threads = threads_work();
    memcpy(text, builtin, sizeof builtin);
    if (!parse_program(&prog, text, "builtin"))
        return 1;
    jit *j = jit_load(&prog, "builtin", TIER_FIRST);
    if (!j)
        return 1;
    int wrong = 0, hot = find_func(&prog, "poly"), caller = find_func(&prog, "mix");
    printf("loaded: the hot functions compiled, the cold ones declared\n");
    wrong += check_lazy(j, 0);
    wrong += check_all(j, 1);
    wrong += check_lazy(j, 1);
    wrong += hot_swap(j, hot, caller, threads);
    /* The rest of the program folded too (no thread calls it: each old
     * version may go at once). */
    for (int fi = 0; fi < prog.n; fi++)
        if (fi != hot && (!jit_recompile(j, fi) || !jit_retire(j, fi)))
            wrong++;
    printf("every function recompiled folded, the first versions freed\n");
    wrong += check_all(j, 0);
    wrong += check_lazy(j, 1);
    jit_free(j);
    printf("%s\n", wrong ? "self-test FAILED" : "self-test passed");
    return wrong != 0;
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--self-test") == 0)
        return self_test();
    if (argc == 5 && strcmp(argv[1], "--objects") == 0)
        return write_objects(argv[2], argv[3], argv[4]);
    int folded = argc > 1 && strcmp(argv[1], "-O") == 0;
    if (argc < 2 + folded || argv[1 + folded][0] == '-') {
        fprintf(stderr, "usage: session_example [-O] FILE [X...] | session_example --self-test "
                        "| session_example --objects DIR ARCH FILE\n");
        return 2;
    }
    return run_file(argc - folded, argv + folded, folded ? TIER_FOLDED : TIER_FIRST);
}
