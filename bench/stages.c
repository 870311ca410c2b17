/* stages: where the time of one link goes, and the floor under it.
 *
 *   stages [-n N] [--run] [--floor-only] [--no-floor] [-l LIB]... FILE...
 *
 * Links FILE... N times in this process (create, add files, link, free the
 * linker, free the module; with --run the module's constructors and main()
 * run in between, stdout sent to /dev/null, and main must return 0) and
 * prints the median time of each pipeline stage from the linker's own
 * statistics (src/link/stats.h), the median total, and relocations per
 * second.  Then it measures, in this same process, the floor any loader
 * pays for publishing code: mmap + memcpy + mprotect(RX) + munmap of 4 KiB,
 * 1 MiB and 16 MiB, and membarrier(SYNC_CORE) alone and with another thread
 * running, and compares the publish stage with it. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fcntl.h>
#include <linux/membarrier.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "timing.h"
#include "elfjit/coherence.h"
#include "elfjit/elfjit.h"
#include "link/stats.h"

extern char **environ;

static double ms(uint64_t ns) { return (double)ns / 1e6; }
static double us(uint64_t ns) { return (double)ns / 1e3; }

static void die(const char *what, const char *msg)
{
    fprintf(stderr, "stages: %s: %s\n", what, msg);
    exit(1);
}

/* ---- links ------------------------------------------------------------ */

typedef struct opts {
    int n, run, floor, links;
    const char **libs, **files;
    int nlibs, nfiles;
} opts;

typedef struct sample {
    uint64_t stage[EJ_STAGE_COUNT];
    uint64_t total, free_ns, run_ns;
} sample;

static int run_main(ej_module *m, const char *argv0)
{
    int (*fn)(int, char **, char **) = (int (*)(int, char **, char **))ej_module_symbol(m, "main");
    if (!fn)
        die(argv0, "no symbol 'main'");
    char *argv[] = {(char *)argv0, NULL};
    if (ej_module_init(m, 1, argv, environ) != EJ_OK)
        die("ej_module_init", ej_module_errmsg(m));
    fflush(stdout);
    int saved = dup(1), null = open("/dev/null", O_WRONLY);
    dup2(null, 1);
    int rc = fn(1, argv, environ);
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    close(null);
    return rc;
}

static void one_link(const opts *o, sample *s, ej__link_stats *last)
{
    ej_linker *lk;
    ej_module *m;
    uint64_t t0 = ej__now_ns();
    if (ej_linker_create(&lk) != EJ_OK)
        die("ej_linker_create", "out of memory");
    for (int i = 0; i < o->nlibs; i++)
        if (ej_linker_add_library(lk, o->libs[i]) != EJ_OK)
            die(o->libs[i], ej_linker_errmsg(lk));
    for (int i = 0; i < o->nfiles; i++)
        if (ej_linker_add_file(lk, o->files[i]) != EJ_OK)
            die(o->files[i], ej_linker_errmsg(lk));
    if (ej_linker_link(lk, &m) != EJ_OK)
        die("link", ej_linker_errmsg(lk));
    uint64_t t1 = ej__now_ns();
    const ej__link_stats *st = ej__linker_stats(lk);
    memcpy(s->stage, st->ns, sizeof s->stage);
    *last = *st;
    s->total = t1 - t0;
    s->run_ns = 0;
    if (o->run) {
        uint64_t r0 = ej__now_ns();
        int rc = run_main(m, o->files[0]);
        s->run_ns = ej__now_ns() - r0;
        if (rc != 0) {
            fprintf(stderr, "stages: main returned %d\n", rc);
            exit(1);
        }
    }
    uint64_t f0 = ej__now_ns();
    ej_linker_free(lk);
    ej_module_free(m);
    s->free_ns = ej__now_ns() - f0;
}

static uint64_t publish_median; /* of the last workload, for the floor comparison */
static uint64_t link_median;

static void links(const opts *o)
{
    int warm = o->n >= 5 ? 2 : 0;
    sample *s = calloc((size_t)o->n, sizeof *s);
    uint64_t *v = calloc((size_t)o->n, sizeof *v);
    ej__link_stats last = {0};
    if (!s || !v)
        die("stages", "out of memory");
    for (int i = 0; i < warm; i++)
        one_link(o, &s[0], &last);
    for (int i = 0; i < o->n; i++)
        one_link(o, &s[i], &last);

    printf("## link: %d object%s, image %.2f MiB, %llu relocations, %llu GOT slots, %llu stubs"
           " (median of %d links after %d warm-up)\n\n",
           (int)last.nobjs, last.nobjs == 1 ? "" : "s", (double)last.image_size / 1048576.0,
           (unsigned long long)last.nrelocs, (unsigned long long)last.ngot,
           (unsigned long long)last.nstub, o->n, warm);
    if (last.pages_mapped)
        printf("Loaded from an image: %llu pages mapped from the file, %llu written by its "
               "fixups, %llu (%.0f%%) left clean (shared with the page cache).\n\n",
               (unsigned long long)last.pages_mapped, (unsigned long long)last.pages_written,
               (unsigned long long)(last.pages_mapped - last.pages_written),
               100.0 * (double)(last.pages_mapped - last.pages_written) /
                   (double)last.pages_mapped);
    printf("| stage | median ms | min ms | share |\n|---|---:|---:|---:|\n");
    uint64_t total_med;
    for (int i = 0; i < o->n; i++)
        v[i] = s[i].total;
    total_med = median(v, (size_t)o->n);
    uint64_t sum_stage_med = 0;
    for (int k = 0; k < EJ_STAGE_COUNT; k++) {
        for (int i = 0; i < o->n; i++)
            v[i] = s[i].stage[k];
        uint64_t med = median(v, (size_t)o->n);
        sum_stage_med += med;
        if (k == EJ_STAGE_PUBLISH)
            publish_median = med;
        printf("| %s | %.3f | %.3f | %.1f%% |\n", ej__stage_name(k), ms(med), ms(v[0]),
               total_med ? 100.0 * (double)med / (double)total_med : 0.0);
    }
    for (int i = 0; i < o->n; i++)
        v[i] = s[i].total;
    median(v, (size_t)o->n); /* sorts: v[0] is the minimum */
    printf("| **total link** (create → linked) | **%.3f** | %.3f | 100%% |\n", ms(total_med), ms(v[0]));
    printf("| (outside the stages) | %.3f | | %.1f%% |\n",
           ms(total_med > sum_stage_med ? total_med - sum_stage_med : 0),
           total_med > sum_stage_med ? 100.0 * (double)(total_med - sum_stage_med) / (double)total_med : 0.0);
    for (int i = 0; i < o->n; i++)
        v[i] = s[i].free_ns;
    printf("| free (linker + module) | %.3f | %.3f | |\n", ms(median(v, (size_t)o->n)), ms(v[0]));
    if (o->run) {
        for (int i = 0; i < o->n; i++)
            v[i] = s[i].run_ns;
        printf("| run (init + main) | %.3f | %.3f | |\n", ms(median(v, (size_t)o->n)), ms(v[0]));
    }
    link_median = total_med;
    printf("\nrelocations per second: %.1f M (whole link), %.1f M (relocate stage)\n\n",
           total_med ? (double)last.nrelocs / ((double)total_med / 1e9) / 1e6 : 0.0,
           last.ns[EJ_STAGE_RELOCATE]
               ? (double)last.nrelocs / ((double)last.ns[EJ_STAGE_RELOCATE] / 1e9) / 1e6
               : 0.0);
    free(s);
    free(v);
}

/* ---- the floor -------------------------------------------------------- */

typedef struct floor_row {
    size_t size;
    uint64_t mmap_ns, copy_ns, prot_ns, unmap_ns, total_ns;
} floor_row;

static floor_row floor_of(size_t size, int iters)
{
    uint64_t *v[5];
    for (int k = 0; k < 5; k++)
        if (!(v[k] = calloc((size_t)iters, sizeof *v[k])))
            die("stages", "out of memory");
    char *src = malloc(size);
    if (!src)
        die("stages", "out of memory");
    for (size_t i = 0; i < size; i++)
        src[i] = (char)(i * 131 + 7);
    for (int it = -3; it < iters; it++) {
        uint64_t t0 = ej__now_ns();
        char *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
            die("mmap", "failed");
        uint64_t t1 = ej__now_ns();
        memcpy(p, src, size);
        uint64_t t2 = ej__now_ns();
        if (mprotect(p, size, PROT_READ | PROT_EXEC) != 0)
            die("mprotect", "failed");
        uint64_t t3 = ej__now_ns();
        munmap(p, size);
        uint64_t t4 = ej__now_ns();
        if (it < 0)
            continue;
        v[0][it] = t1 - t0;
        v[1][it] = t2 - t1;
        v[2][it] = t3 - t2;
        v[3][it] = t4 - t3;
        v[4][it] = t4 - t0;
    }
    floor_row r = {size, median(v[0], (size_t)iters), median(v[1], (size_t)iters),
                   median(v[2], (size_t)iters), median(v[3], (size_t)iters),
                   median(v[4], (size_t)iters)};
    for (int k = 0; k < 5; k++)
        free(v[k]);
    free(src);
    return r;
}

static atomic_int spin_stop;

static void *spinner(void *arg)
{
    (void)arg;
    while (!atomic_load_explicit(&spin_stop, memory_order_relaxed))
        ;
    return NULL;
}

static uint64_t time_membarrier(int iters, int with_thread, int use_api)
{
    pthread_t t;
    if (with_thread) {
        atomic_store(&spin_stop, 0);
        if (pthread_create(&t, NULL, spinner, NULL) != 0)
            die("pthread_create", "failed");
        usleep(2000);
    }
    uint64_t *v = calloc((size_t)iters, sizeof *v);
    if (!v)
        die("stages", "out of memory");
    for (int i = 0; i < iters; i++) {
        uint64_t t0 = ej__now_ns();
        if (use_api) {
            if (ej_pipeline_flush_mt() != EJ_OK)
                die("ej_pipeline_flush_mt", "failed");
        } else if (syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE, 0, 0) != 0) {
            die("membarrier", "SYNC_CORE failed");
        }
        v[i] = ej__now_ns() - t0;
    }
    uint64_t m = median(v, (size_t)iters);
    free(v);
    if (with_thread) {
        atomic_store(&spin_stop, 1);
        pthread_join(t, NULL);
    }
    return m;
}

static void floor_table(void)
{
    static const struct {
        size_t size;
        int iters;
        const char *label;
    } sizes[] = {{4096, 2000, "4 KiB"}, {1 << 20, 200, "1 MiB"}, {16 << 20, 30, "16 MiB"}};
    floor_row rows[3];
    printf("## floor: mmap + memcpy + mprotect(RX) + munmap (median, µs)\n\n");
    printf("| size | mmap | memcpy (first touch) | mprotect RX | munmap | total |\n");
    printf("|---|---:|---:|---:|---:|---:|\n");
    for (int i = 0; i < 3; i++) {
        rows[i] = floor_of(sizes[i].size, sizes[i].iters);
        printf("| %s | %.1f | %.1f | %.1f | %.1f | **%.1f** |\n", sizes[i].label, us(rows[i].mmap_ns),
               us(rows[i].copy_ns), us(rows[i].prot_ns), us(rows[i].unmap_ns), us(rows[i].total_ns));
    }
    int have_sc = syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE, 0, 0) == 0;
    uint64_t mb_alone = 0, mb_busy = 0;
    printf("\n");
    if (have_sc) {
        mb_alone = time_membarrier(2000, 0, 0);
        mb_busy = time_membarrier(2000, 1, 0);
        printf("membarrier(PRIVATE_EXPEDITED_SYNC_CORE): %.2f µs alone, %.2f µs with another thread running\n",
               us(mb_alone), us(mb_busy));
    } else {
        printf("membarrier(PRIVATE_EXPEDITED_SYNC_CORE): not available here\n");
    }
    uint64_t api_alone = time_membarrier(2000, 0, 1);
    uint64_t api_busy = time_membarrier(2000, 1, 1);
    printf("ej_pipeline_flush_mt (%s): %.2f µs alone, %.2f µs with another thread running\n",
           ej_pipeline_flush_method(), us(api_alone), us(api_busy));
    if (publish_median) {
        /* Publish = exports + constructors' tables + two mprotects + cache
         * maintenance + one flush; its floor is one mprotect of the text and
         * one membarrier (no thread running). */
        uint64_t pfloor = rows[0].prot_ns + (have_sc ? mb_alone : api_alone);
        printf("\npublish stage of the module above: %.2f µs; floor (mprotect RX of 4 KiB + membarrier alone):"
               " %.2f µs; ratio %.2f\n",
               us(publish_median), us(pfloor), pfloor ? (double)publish_median / (double)pfloor : 0.0);
        printf("whole link of the module above: %.2f µs; floor (4 KiB mmap+memcpy+mprotect+munmap + membarrier):"
               " %.2f µs; ratio %.2f\n",
               us(link_median), us(rows[0].total_ns + mb_alone),
               (double)link_median / (double)(rows[0].total_ns + mb_alone));
    }
    printf("\n");
}

static void usage(void)
{
    fprintf(stderr, "usage: stages [-n N] [--run] [--no-floor] [-l LIB]... FILE...\n"
                    "       stages --floor-only\n");
    exit(2);
}

int main(int argc, char **argv)
{
    opts o = {.n = 20, .floor = 1, .links = 1};
    o.libs = calloc((size_t)argc, sizeof *o.libs);
    o.files = calloc((size_t)argc, sizeof *o.files);
    if (!o.libs || !o.files)
        die("stages", "out of memory");
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-n") == 0 && i + 1 < argc)
            o.n = atoi(argv[++i]);
        else if (strcmp(a, "--run") == 0)
            o.run = 1;
        else if (strcmp(a, "--no-floor") == 0)
            o.floor = 0;
        else if (strcmp(a, "--floor-only") == 0)
            o.links = 0;
        else if (strcmp(a, "-l") == 0 && i + 1 < argc)
            o.libs[o.nlibs++] = argv[++i];
        else if (a[0] == '-')
            usage();
        else
            o.files[o.nfiles++] = a;
    }
    if (o.n < 1 || (o.links && o.nfiles == 0))
        usage();
    if (o.links)
        links(&o);
    if (o.floor)
        floor_table();
    return 0;
}
