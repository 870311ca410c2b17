/* tls: the cost of one thread-local access in each access model, in code
 * elfjit loaded, next to the same code linked normally.  One run, one
 * table.
 *
 *   tls [-n ACCESSES] [-r RUNS] [--callgrind]     (defaults: 5000000, 21)
 *
 * bench/tls_access.c is compiled once per model (bench/CMakeLists.txt):
 * tls_loop_<model>(n) makes N calls to a noipa function that reads and
 * writes a __thread counter once.  Each model's code runs from three
 * places, each timed RUNS times (interleaved), median ns per access:
 *
 *   exe     linked into this executable (the system linker may relax the
 *           model here: x86_64's and aarch64's relax every one to
 *           local-exec, the counter being the executable's; riscv64's none);
 *   .so     a shared library of that object, dlopen()ed (the model as
 *           compiled; local-exec cannot be in a shared library);
 *   elfjit  the object linked by elfjit (ej_linker_link).
 *
 * "none" is the same loop on an ordinary global: the call and loop cost
 * every row includes.  --callgrind also runs the loops once under
 * `valgrind --tool=callgrind` (instructions per access, repeatable where
 * the times are noisy); needs valgrind on PATH and <valgrind/callgrind.h>
 * at build time. */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "timing.h"
#include "elfjit/elfjit.h"

#if defined(__has_include)
#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#define HAVE_CALLGRIND 1
#endif
#endif
#ifndef HAVE_CALLGRIND
#define HAVE_CALLGRIND 0
#endif

#ifndef EJ_TLS_BENCH_DIR
#error "EJ_TLS_BENCH_DIR: where bench/CMakeLists.txt puts tls_access_*.o and libtlsb_*.so"
#endif

typedef unsigned long (*loop_fn)(unsigned long);

/* Every model some target builds; the executable has those of this one. */
#define MODELS(X)                                                                  \
    X(none, "an ordinary global (no TLS): call + loop")                            \
    X(le, "local-exec")                                                            \
    X(ie, "initial-exec")                                                          \
    X(gd, "general-dynamic (__tls_get_addr)")                                      \
    X(ld, "local-dynamic (a static variable)")                                     \
    X(desc, "TLS descriptors")

#define DECLARE(m, what) extern unsigned long tls_loop_##m(unsigned long) __attribute__((weak));
MODELS(DECLARE)
#undef DECLARE

enum { EXE, SO, ELFJIT, NPLACES };
static const char *const place_name[NPLACES] = {"exe", ".so", "elfjit"};

struct model {
    const char *name, *what;
    loop_fn fn[NPLACES];
    const char *why[NPLACES]; /* why a place has no function */
    double ns[NPLACES];       /* median ns per access */
    double ir[NPLACES];       /* callgrind instructions per access, or 0 */
};

static struct model models[] = {
#define ENTRY(m, w) {#m, w, {tls_loop_##m, NULL, NULL}, {NULL, NULL, NULL}, {0}, {0}},
    MODELS(ENTRY)
#undef ENTRY
};
#define NMODELS (sizeof models / sizeof models[0])

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int file_exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

/* The .so and elfjit functions of every model built for this target. */
static void load_all(ej_module **mods)
{
    static char why[NMODELS][2][512];
    for (size_t i = 0; i < NMODELS; i++) {
        struct model *m = &models[i];
        char path[4096], sym[64];
        snprintf(sym, sizeof sym, "tls_loop_%s", m->name);
        if (!m->fn[EXE])
            m->why[EXE] = "not built for this target";
        snprintf(path, sizeof path, "%s/libtlsb_%s.so", EJ_TLS_BENCH_DIR, m->name);
        if (!file_exists(path)) {
            m->why[SO] = strcmp(m->name, "le") == 0 ? "n/a (no local-exec in a library)"
                                                    : "not built for this target";
        } else {
            void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
            if (h)
                m->fn[SO] = (loop_fn)dlsym(h, sym);
            if (!m->fn[SO]) {
                snprintf(why[i][0], sizeof why[i][0], "%s", h ? "no symbol" : dlerror());
                m->why[SO] = why[i][0];
            }
        }
        snprintf(path, sizeof path, "%s/tls_access_%s.o", EJ_TLS_BENCH_DIR, m->name);
        if (!file_exists(path)) {
            m->why[ELFJIT] = "not built for this target";
            continue;
        }
        ej_linker *lk;
        ej_status st = ej_linker_create(&lk);
        if (st == EJ_OK)
            st = ej_linker_set_registration(lk, 0);
        if (st == EJ_OK)
            st = ej_linker_add_file(lk, path);
        if (st == EJ_OK)
            st = ej_linker_link(lk, &mods[i]);
        if (st != EJ_OK) {
            snprintf(why[i][1], sizeof why[i][1], "%s", ej_linker_errmsg(lk));
            m->why[ELFJIT] = why[i][1];
        } else {
            m->fn[ELFJIT] = (loop_fn)ej_module_symbol(mods[i], sym);
            if (!m->fn[ELFJIT])
                m->why[ELFJIT] = "no symbol";
        }
        ej_linker_free(lk);
    }
}

/* One call of FN(N): its counter must move by exactly N. */
static double run_once(loop_fn fn, unsigned long n, const char *what)
{
    unsigned long before = fn(0);
    uint64_t t0 = now_ns();
    unsigned long after = fn(n);
    uint64_t t1 = now_ns();
    if (after - before != n) {
        fprintf(stderr, "tls: %s: the counter moved by %lu, not %lu\n", what, after - before, n);
        exit(1);
    }
    return (double)(t1 - t0) / (double)n;
}

static void time_all(unsigned long n, int runs)
{
    double *v[NMODELS][NPLACES];
    for (size_t i = 0; i < NMODELS; i++)
        for (int p = 0; p < NPLACES; p++)
            v[i][p] = calloc((size_t)runs, sizeof(double));
    /* Warm up (first-use allocation of dynamic blocks, caches, clocks). */
    for (size_t i = 0; i < NMODELS; i++)
        for (int p = 0; p < NPLACES; p++)
            if (models[i].fn[p])
                run_once(models[i].fn[p], n / 10 + 1, models[i].name);
    /* Interleaved: a slow moment of the machine hits every cell alike. */
    for (int r = 0; r < runs; r++)
        for (size_t i = 0; i < NMODELS; i++)
            for (int p = 0; p < NPLACES; p++)
                if (models[i].fn[p])
                    v[i][p][r] = run_once(models[i].fn[p], n, models[i].name);
    for (size_t i = 0; i < NMODELS; i++)
        for (int p = 0; p < NPLACES; p++) {
            if (models[i].fn[p]) {
                qsort(v[i][p], (size_t)runs, sizeof(double), cmp_double);
                models[i].ns[p] = v[i][p][runs / 2];
            }
            free(v[i][p]);
        }
}

/* ---- callgrind ---------------------------------------------------------- */

/* Under callgrind (--cg-child): one dump per loop, counted alone. */
static void callgrind_child(unsigned long n)
{
#if HAVE_CALLGRIND
    for (size_t i = 0; i < NMODELS; i++)
        for (int p = 0; p < NPLACES; p++) {
            loop_fn fn = models[i].fn[p];
            if (!fn)
                continue;
            char label[64];
            snprintf(label, sizeof label, "tls %s %d", models[i].name, p);
            fn(1); /* first use: allocation, lazy binding */
            CALLGRIND_ZERO_STATS;
            CALLGRIND_TOGGLE_COLLECT;
            fn(n);
            CALLGRIND_TOGGLE_COLLECT;
            CALLGRIND_DUMP_STATS_AT(label);
        }
#else
    (void)n;
#endif
}

/* Reads the dumps in DIR: instructions per access into models[].ir. */
static int read_dumps(const char *dir, unsigned long n)
{
    DIR *d = opendir(dir);
    int found = 0;
    for (struct dirent *e; d && (e = readdir(d));) {
        if (strncmp(e->d_name, "cg.out", 6) != 0)
            continue;
        char path[4096], line[512], name[64] = "";
        int place = -1;
        double ir = -1;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        FILE *f = fopen(path, "r");
        while (f && fgets(line, sizeof line, f)) {
            const char *t = strstr(line, "Client Request: tls ");
            if (strncmp(line, "desc: Trigger:", 14) == 0 && t)
                sscanf(t + strlen("Client Request: tls "), "%63s %d", name, &place);
            else if (strncmp(line, "summary:", 8) == 0 || strncmp(line, "totals:", 7) == 0)
                ir = strtod(strchr(line, ':') + 1, NULL);
        }
        if (f)
            fclose(f);
        unlink(path);
        for (size_t i = 0; i < NMODELS && place >= 0 && place < NPLACES && ir >= 0; i++)
            if (strcmp(models[i].name, name) == 0) {
                models[i].ir[place] = ir / (double)n;
                found++;
            }
    }
    if (d)
        closedir(d);
    rmdir(dir);
    return found;
}

/* Runs this program again under callgrind; 0 when it could not. */
static int callgrind(const char *self, unsigned long n)
{
    if (!HAVE_CALLGRIND) {
        fprintf(stderr, "tls: built without <valgrind/callgrind.h>: no instruction counts\n");
        return 0;
    }
    char dir[] = "/tmp/ej-tls-cg-XXXXXX";
    if (!mkdtemp(dir)) {
        fprintf(stderr, "tls: mkdtemp: %s\n", strerror(errno));
        return 0;
    }
    char out[4200], nbuf[32];
    snprintf(out, sizeof out, "--callgrind-out-file=%s/cg.out", dir);
    snprintf(nbuf, sizeof nbuf, "%lu", n);
    pid_t pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0)
            dup2(null, 2);
        execlp("valgrind", "valgrind", "--tool=callgrind", "--collect-atstart=no", out, self,
               "--cg-child", "-n", nbuf, (char *)NULL);
        _exit(127);
    }
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0) {
        fprintf(stderr, "tls: valgrind --tool=callgrind failed (status %d): no instruction "
                        "counts\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        read_dumps(dir, n);
        return 0;
    }
    return read_dumps(dir, n) > 0;
}

/* ---- the table ------------------------------------------------------------ */

static void cell(double v, const char *fmt, int width)
{
    if (v > 0)
        printf(fmt, width, v);
    else
        printf("%*s", width, "-");
}

static void print_table(unsigned long n, int runs, int with_ir)
{
#if defined(__x86_64__)
    const char *arch = "x86_64";
#elif defined(__aarch64__)
    const char *arch = "aarch64";
#elif defined(__riscv)
    const char *arch = "riscv64";
#else
    const char *arch = "?";
#endif
    printf("TLS access cost (%s): median of %d runs of %lu accesses (read + write of a "
           "__thread counter, one noipa call each)\n\n", arch, runs, n);
    printf("%-6s %-40s %8s %8s %8s %10s %10s", "model", "", "exe ns", ".so ns", "elfjit", "jit/exe",
           "jit/.so");
    if (with_ir)
        printf(" %8s %8s %8s", "Ir exe", "Ir .so", "Ir jit");
    printf("\n");
    for (size_t i = 0; i < NMODELS; i++) {
        const struct model *m = &models[i];
        if (!m->fn[EXE] && !m->fn[SO] && !m->fn[ELFJIT])
            continue;
        printf("%-6s %-40s", m->name, m->what);
        for (int p = 0; p < NPLACES; p++)
            cell(m->fn[p] ? m->ns[p] : 0, " %*.2f", 8);
        cell(m->fn[ELFJIT] && m->fn[EXE] ? m->ns[ELFJIT] / m->ns[EXE] : 0, " %*.2f", 10);
        cell(m->fn[ELFJIT] && m->fn[SO] ? m->ns[ELFJIT] / m->ns[SO] : 0, " %*.2f", 10);
        if (with_ir)
            for (int p = 0; p < NPLACES; p++)
                cell(m->ir[p], " %*.1f", 8);
        printf("\n");
    }
    printf("\nexe: linked into this executable (the system linker may relax the model there: "
           "to local-exec on x86_64); .so: a dlopen()ed library, the model as compiled; elfjit: "
           "the object loaded by elfjit.  Ir: instructions per access (callgrind).\n");
    for (size_t i = 0; i < NMODELS; i++)
        for (int p = 0; p < NPLACES; p++)
            if (!models[i].fn[p] && models[i].why[p] &&
                strcmp(models[i].why[p], "not built for this target") != 0)
                printf("%s %s: %s\n", models[i].name, place_name[p], models[i].why[p]);
}

static void pin_to_one_cpu(void)
{
    cpu_set_t set;
    int cpu = sched_getcpu();
    if (cpu < 0)
        return;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    sched_setaffinity(0, sizeof set, &set);
}

int main(int argc, char **argv)
{
    unsigned long n = 5000000;
    int runs = 21, cg = 0, cg_child = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-n") == 0 && i + 1 < argc)
            n = strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "-r") == 0 && i + 1 < argc)
            runs = atoi(argv[++i]);
        else if (strcmp(argv[i], "--callgrind") == 0)
            cg = 1;
        else if (strcmp(argv[i], "--cg-child") == 0)
            cg_child = 1;
        else {
            fprintf(stderr, "usage: %s [-n ACCESSES] [-r RUNS] [--callgrind]\n", argv[0]);
            return 2;
        }
    }
    if (n == 0 || runs < 1)
        return 2;
    ej_module *mods[NMODELS] = {0};
    load_all(mods);
    if (cg_child) {
        callgrind_child(n);
        return 0;
    }
    pin_to_one_cpu();
    time_all(n, runs);
    /* valgrind needs this program's path (its own /proc/self/exe is not). */
    char self[4096];
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    int with_ir = 0;
    if (cg && len > 0) {
        self[len] = 0;
        with_ir = callgrind(self, n / 20 > 10000 ? n / 20 : 10000);
    }
    print_table(n, runs, with_ir);
    for (size_t i = 0; i < NMODELS; i++)
        ej_module_free(mods[i]);
    return 0;
}
