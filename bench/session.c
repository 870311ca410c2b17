/* session: what sessions cost (include/elfjit/session.h), side by side in
 * one run.
 *
 *   session [ROUNDS]     (default 200)
 *
 *   - a cross-module call: bench_loop (one module) calling bench_f
 *     (another) 10^7 times, direct (bench_f resolved to its definition)
 *     against through the slot (bench_f redirectable), ns per call;
 *   - hot swap: ej_session_link of a new version of a redirectable
 *     bench_f (link + retarget + every thread's pipeline synchronised)
 *     against the same link of a name nothing redirects, and the
 *     retarget's own part (ej_pipeline_flush_mt), medians over ROUNDS;
 *   - lazy first call: calling a declared name for the first time (stub,
 *     trampoline, materialiser linking the module, the call) against the
 *     materialiser's own time, medians over ROUNDS names.
 * The objects are gcc's, built with the benchmark (session_objs/). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "timing.h"
#include "elfjit/coherence.h"
#include "elfjit/elfjit.h"
#include "elfjit/session.h"

#define OBJ(name) EJ_SESSION_BENCH_DIR "/" name ".o"

static ej_module *link_obj(ej_session *s, const char *path)
{
    ej_linker *lk;
    ej_module *m = NULL;
    if (ej_linker_create(&lk) != EJ_OK ||
        ej_linker_set_registration(lk, EJ_REGISTER_DEFAULT & ~EJ_REGISTER_GDB) != EJ_OK ||
        ej_linker_add_file(lk, path) != EJ_OK || ej_session_link(s, lk, &m) != EJ_OK) {
        fprintf(stderr, "session: %s: %s\n", path, ej_session_errmsg(s));
        exit(1);
    }
    ej_linker_free(lk);
    return m;
}

typedef long (*loop_fn)(long);

static double ns_per_call(loop_fn loop, long n)
{
    uint64_t best = UINT64_MAX;
    for (int r = 0; r < 5; r++) {
        uint64_t t0 = now_ns();
        volatile long s = loop(n);
        (void)s;
        uint64_t t = now_ns() - t0;
        best = t < best ? t : best;
    }
    return (double)best / (double)n;
}

static void calls(void)
{
    enum { N = 10000000 };
    double ns[2];
    for (int redirect = 0; redirect < 2; redirect++) {
        ej_session *s;
        ej_session_create(&s);
        link_obj(s, OBJ("callee1"));
        if (redirect && ej_session_redirect(s, "bench_f") != EJ_OK)
            exit(1);
        link_obj(s, OBJ("caller"));
        loop_fn loop = (loop_fn)ej_session_symbol(s, "bench_loop");
        if (loop(3) != 3 + 3 * 1) { /* f(i) = i + 1 */
            fprintf(stderr, "session: wrong result\n");
            exit(1);
        }
        ns[redirect] = ns_per_call(loop, N);
        ej_session_free(s);
    }
    printf("cross-module call: direct %.2f ns, through the slot %.2f ns (%.2fx)\n", ns[0],
           ns[1], ns[1] / ns[0]);
}

static void swaps(int rounds)
{
    uint64_t *t[3];
    for (int k = 0; k < 3; k++)
        t[k] = calloc((size_t)rounds, sizeof *t[k]);
    for (int redirect = 0; redirect < 2; redirect++) {
        ej_session *s;
        ej_session_create(&s);
        ej_module *old = link_obj(s, OBJ("callee1"));
        if (redirect)
            ej_session_redirect(s, "bench_f");
        link_obj(s, OBJ("caller"));
        loop_fn loop = (loop_fn)ej_session_symbol(s, "bench_loop");
        for (int r = 0; r < rounds; r++) {
            uint64_t t0 = now_ns();
            ej_module *m = link_obj(s, r % 2 ? OBJ("callee1") : OBJ("callee2"));
            t[redirect][r] = now_ns() - t0;
            long want = redirect ? (r % 2 ? 1 : 2) : 1; /* loop(1) = f(0) = VERSION */
            if (loop(1) != want) {
                fprintf(stderr, "session: swap %d: loop(1) = %ld, not %ld\n", r, loop(1), want);
                exit(1);
            }
            ej_module_free(old);
            old = m;
        }
        ej_session_free(s);
    }
    for (int r = 0; r < rounds; r++) {
        uint64_t t0 = now_ns();
        ej_pipeline_flush_mt();
        t[2][r] = now_ns() - t0;
    }
    double link = (double)median(t[0], (size_t)rounds) / 1e3,
           swap = (double)median(t[1], (size_t)rounds) / 1e3,
           flush = (double)median(t[2], (size_t)rounds) / 1e3;
    printf("hot swap: link of a new version %.1f us with the swap, %.1f us without (%.2fx); "
           "of which the pipeline synchronisation %.1f us\n", swap, link, swap / link, flush);
    for (int k = 0; k < 3; k++)
        free(t[k]);
}

static uint64_t g_mat_ns;

static ej_status materialise(ej_session *s, const char *name, void *ctx)
{
    (void)name;
    uint64_t t0 = now_ns();
    link_obj(s, ctx);
    g_mat_ns = now_ns() - t0;
    return EJ_OK;
}

static void lazy(int rounds)
{
    uint64_t *first = calloc((size_t)rounds, sizeof *first),
             *mat = calloc((size_t)rounds, sizeof *mat),
             *second = calloc((size_t)rounds, sizeof *second);
    for (int r = 0; r < rounds; r++) {
        ej_session *s;
        ej_session_create(&s);
        if (ej_session_declare(s, "bench_f", materialise, OBJ("callee1"), NULL) != EJ_OK)
            exit(1);
        long (*f)(long) = (long (*)(long))ej_session_symbol(s, "bench_f");
        uint64_t t0 = now_ns();
        long v = f(41);
        first[r] = now_ns() - t0;
        mat[r] = g_mat_ns;
        t0 = now_ns();
        v += f(41);
        second[r] = now_ns() - t0;
        if (v != 84) {
            fprintf(stderr, "session: lazy call gave %ld\n", v);
            exit(1);
        }
        ej_session_free(s);
    }
    double f1 = (double)median(first, (size_t)rounds) / 1e3,
           m = (double)median(mat, (size_t)rounds) / 1e3,
           f2 = (double)median(second, (size_t)rounds);
    printf("lazy first call: %.1f us, of which the materialiser (its link) %.1f us: stub and "
           "trampoline %.1f us; the second call %.0f ns\n", f1, m, f1 - m, f2);
    free(first);
    free(mat);
    free(second);
}

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 200;
    if (rounds < 1)
        rounds = 1;
    calls();
    swaps(rounds);
    lazy(rounds);
    return 0;
}
