/* live: many small modules alive at once, through the public API only.
 *
 *   live [N] [--code-memory auto|mprotect|dual]     (default 1000000, auto)
 *
 * Each module is one builder image: a 6-byte function, an 8-byte data
 * object and an 8-byte read-only object, linked with the default
 * registrations minus GDB's (its cost grows with the registered images:
 * bench/gdb_scale measures that).  All N stay alive, then all are freed.
 * Reported, side by side in one run:
 *   - link + publish + register per module (ej_linker_create, add_buffer,
 *     link, ej_linker_free), its median over batches of 1000 modules
 *     against the floor measured between the batches (the best of five,
 *     warm): mmap + memcpy + mprotect(RX) + munmap of one page;
 *   - resident memory per live module (VmRSS, after the links against
 *     before) and the target, the module's bytes rounded up to 64 plus 512;
 *   - the process's mappings with every module alive;
 *   - freeing: time per module and the resident memory left afterwards.
 * A link that fails stops the links (its message and index are printed:
 * that is the wall); what was linked is measured and freed all the same. */
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "timing.h"
#include "elfjit/builder.h"
#include "elfjit/elfjit.h"

/* f(x) = x + 1, padded to 6 bytes. */
#if defined(__x86_64__)
static const uint8_t code[6] = {0x8d, 0x47, 0x01, 0xc3, 0x90, 0x90};
#elif defined(__aarch64__)
static const uint8_t code[8] = {0x00, 0x04, 0x00, 0x11, 0xc0, 0x03, 0x5f, 0xd6};
#else
static const uint8_t code[6] = {0x05, 0x25, 0x82, 0x80, 0x01, 0x00}; /* addi a0,a0,1; ret; nop */
#endif

static void *one_module(size_t *len)
{
    static const uint64_t data = 7, rodata = 11;
    ej_builder *b;
    uint32_t id;
    void *img = NULL;
    if (ej_builder_create(&b, 0) != EJ_OK ||
        ej_builder_add_function(b, "f", code, sizeof code, 0, EJ_BIND_GLOBAL, &id) != EJ_OK ||
        ej_builder_add_data(b, "d", EJ_DATA_DATA, &data, 8, 8, EJ_BIND_GLOBAL, &id) != EJ_OK ||
        ej_builder_add_data(b, "r", EJ_DATA_RODATA, &rodata, 8, 8, EJ_BIND_GLOBAL, &id) != EJ_OK ||
        ej_builder_finish(b, &img, len) != EJ_OK) {
        fprintf(stderr, "live: builder: %s\n", ej_builder_errmsg(b));
        exit(1);
    }
    ej_builder_free(b);
    return img;
}

static ej_module *link_one(const void *img, size_t len, ej_code_memory kind, char *why,
                           size_t whylen)
{
    ej_linker *lk;
    ej_module *m = NULL;
    if (ej_linker_create(&lk) != EJ_OK)
        exit(1);
    if (ej_linker_set_registration(lk, EJ_REGISTER_DEFAULT & ~EJ_REGISTER_GDB) != EJ_OK ||
        ej_linker_set_code_memory(lk, kind) != EJ_OK ||
        ej_linker_add_buffer(lk, "m.o", img, len) != EJ_OK || ej_linker_link(lk, &m) != EJ_OK)
        snprintf(why, whylen, "%s", ej_linker_errmsg(lk));
    ej_linker_free(lk);
    return m;
}

static uint64_t floor_once(void)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    uint64_t t0 = now_ns();
    void *p = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memcpy(p, code, sizeof code);
    mprotect(p, page, PROT_READ | PROT_EXEC);
    munmap(p, page);
    return now_ns() - t0;
}

static long rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld", &kib) == 1)
            break;
    if (f)
        fclose(f);
    return kib;
}

static long mappings(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    long n = 0;
    for (int c; f && (c = getc(f)) != EOF;)
        n += c == '\n';
    if (f)
        fclose(f);
    return n;
}

/* Every module still answers: its function runs, its data reads back. */
static int check(ej_module *m)
{
    int (*f)(int) = (int (*)(int))ej_module_symbol(m, "f");
    const uint64_t *d = ej_module_symbol(m, "d"), *r = ej_module_symbol(m, "r");
    return f && d && r && f(41) == 42 && *d == 7 && *r == 11;
}

int main(int argc, char **argv)
{
    size_t n = 1000000;
    ej_code_memory kind = EJ_CODE_MEMORY_AUTO;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--code-memory") && i + 1 < argc) {
            const char *k = argv[++i];
            kind = !strcmp(k, "mprotect") ? EJ_CODE_MEMORY_MPROTECT
                 : !strcmp(k, "dual")     ? EJ_CODE_MEMORY_DUAL_MAP
                                          : EJ_CODE_MEMORY_AUTO;
        } else {
            n = strtoul(argv[i], NULL, 10);
        }
    }
    enum { BATCH = 1000 };
    size_t len, nbatch = n / BATCH + 1, nb = 0, live = 0;
    void *img = one_module(&len);
    ej_module **mods = calloc(n ? n : 1, sizeof *mods);
    uint64_t *per = malloc(nbatch * sizeof *per), *fl = malloc(nbatch * sizeof *fl);
    char why[1024] = "";
    /* Warm up: the first link pays for the probes made once per process. */
    ej_module_free(link_one(img, len, kind, why, sizeof why));
    long rss0 = rss_kib(), maps0 = mappings();
    size_t heap0 = mallinfo2().uordblks;
    uint64_t t_all = now_ns();
    while (live < n && !why[0]) {
        size_t want = n - live < BATCH ? n - live : BATCH, got = 0;
        uint64_t t0 = now_ns();
        for (; got < want && (mods[live] = link_one(img, len, kind, why, sizeof why)); got++)
            live++;
        uint64_t t = now_ns() - t0;
        if (got == want && got == BATCH) {
            /* The floor, warm: the best of a few right after the batch. */
            uint64_t f = UINT64_MAX;
            for (int k = 0; k < 5; k++) {
                uint64_t x = floor_once();
                f = x < f ? x : f;
            }
            per[nb] = t / BATCH, fl[nb++] = f;
        }
    }
    t_all = now_ns() - t_all;
    long rss1 = rss_kib(), maps1 = mappings();
    size_t heap1 = mallinfo2().uordblks;
    size_t bad = 0;
    for (size_t i = 0; i < live; i += 1 + live / 1000)
        bad += !check(mods[i]);
    if (why[0])
        printf("link %zu failed: %s\n", live + 1, why);
    /* Rounded up to 64 each: 6 (or 8) bytes of code, 8 of data, 8 read-only. */
    double bytes = 3 * 64, per_kib = live ? (double)(rss1 - rss0) * 1024 / (double)live : 0;
    uint64_t mp = median(per, nb), mf = median(fl, nb);
    printf("live modules: %zu (%zu checked wrong)\n", live, bad);
    printf("  link+publish+register  %8.2f us per module (median of %zu batches; all: %.2f us)\n",
           (double)mp / 1e3, nb, live ? (double)t_all / 1e3 / (double)live : 0.0);
    printf("  floor                  %8.2f us (mmap+memcpy+mprotect+munmap)  ratio %.2fx "
           "(target <= 1.0)\n", (double)mf / 1e3, mf ? (double)mp / (double)mf : 0.0);
    printf("  resident per module    %8.0f bytes (target <= %.0f)\n", per_kib, bytes + 512);
    printf("  heap per module        %8.0f bytes in use (malloc)\n",
           live ? (double)(heap1 - heap0) / (double)live : 0.0);
    printf("  mappings               %8ld with every module alive (%ld before)\n", maps1, maps0);
    uint64_t t0 = now_ns();
    for (size_t i = live; i-- > 0;)
        ej_module_free(mods[i]);
    uint64_t tf = now_ns() - t0;
    long rss2 = rss_kib();
    size_t heap2 = mallinfo2().uordblks;
    malloc_trim(0); /* what malloc keeps of the freed heap, given back */
    long rss3 = rss_kib();
    printf("  free                   %8.2f us per module; resident after: %+ld KiB against "
           "before the links (%ld KiB while alive)\n",
           live ? (double)tf / 1e3 / (double)live : 0.0, rss2 - rss0, rss1 - rss0);
    printf("  after free             heap in use %+ld bytes; resident after malloc_trim "
           "%+ld KiB\n", (long)heap2 - (long)heap0, rss3 - rss0);
    free(mods);
    free(per);
    free(fl);
    free(img);
    return bad || (why[0] && live < n) ? 1 : 0;
}
