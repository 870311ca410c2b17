/* modules: what registering a module costs elfjit itself (no debugger
 * attached) as the number of live modules grows, and whether it stays
 * linear.
 *
 *   modules [N...]        (default: 1000 2500 5000 10000)
 *
 * For each N: links N one-function modules built with the builder (each
 * registered in the process-wide registry, with the unwinder and with
 * GDB's JIT interface: the defaults), keeping all of them alive, then
 * frees them all.  Prints the time per module for linking (whose register
 * stage is reported apart) and for freeing.  Linear means the per-module
 * figures stay flat as N grows; the last column is the ratio of the
 * per-module register+unregister cost at N to that at the first N. */
#include <elf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "timing.h"
#include "elfjit/builder.h"
#include "elfjit/elfjit.h"
#include "link/stats.h"

/* A one-function object with a trap and unwind information. */
static void *one_function(size_t *len)
{
#if defined(__x86_64__)
    static const uint8_t code[] = {0x8d, 0x47, 0x01, 0xc3};
#elif defined(__aarch64__)
    static const uint8_t code[] = {0x00, 0x04, 0x00, 0x11, 0xc0, 0x03, 0x5f, 0xd6};
#else
    static const uint8_t code[] = {0x1b, 0x05, 0x15, 0x00, 0x67, 0x80, 0x00, 0x00};
#endif
    ej_builder *b;
    uint32_t f;
    void *img = NULL;
    if (ej_builder_create(&b, 0) != EJ_OK ||
        ej_builder_add_function(b, "f", code, sizeof code, 16, EJ_BIND_GLOBAL, &f) != EJ_OK ||
        ej_builder_add_trap(b, f, 0, 1) != EJ_OK || ej_builder_set_unwind(b, f, NULL, 0) != EJ_OK ||
        ej_builder_finish(b, &img, len) != EJ_OK) {
        fprintf(stderr, "modules: builder: %s\n", ej_builder_errmsg(b));
        exit(1);
    }
    ej_builder_free(b);
    return img;
}

typedef struct round_result {
    double link_us, register_us, free_us;
} round_result;

static round_result run_round(const void *img, size_t len, size_t n)
{
    ej_module **mods = malloc(n * sizeof *mods);
    uint64_t reg_ns = 0, t0 = now_ns();
    for (size_t i = 0; i < n; i++) {
        ej_linker *lk;
        if (ej_linker_create(&lk) != EJ_OK || ej_linker_add_buffer(lk, "f.o", img, len) != EJ_OK ||
            ej_linker_link(lk, &mods[i]) != EJ_OK) {
            fprintf(stderr, "modules: link %zu: %s\n", i, ej_linker_errmsg(lk));
            exit(1);
        }
        reg_ns += ej__linker_stats(lk)->ns[EJ_STAGE_REGISTER];
        ej_linker_free(lk);
    }
    uint64_t t1 = now_ns();
    for (size_t i = n; i-- > 0;)
        ej_module_free(mods[i]);
    uint64_t t2 = now_ns();
    free(mods);
    return (round_result){(double)(t1 - t0) / 1e3 / (double)n, (double)reg_ns / 1e3 / (double)n,
                          (double)(t2 - t1) / 1e3 / (double)n};
}

int main(int argc, char **argv)
{
    size_t sizes[16] = {1000, 2500, 5000, 10000}, nsizes = 4;
    if (argc > 1) {
        nsizes = 0;
        for (int i = 1; i < argc && nsizes < 16; i++)
            sizes[nsizes++] = (size_t)strtoul(argv[i], NULL, 10);
    }
    size_t len;
    void *img = one_function(&len);
    printf("%8s %14s %18s %14s %10s\n", "modules", "link µs/mod", "(register µs/mod)",
           "free µs/mod", "vs first");
    double base = 0;
    for (size_t k = 0; k < nsizes; k++) {
        round_result r = run_round(img, len, sizes[k]);
        double reg_free = r.register_us + r.free_us;
        if (k == 0)
            base = reg_free;
        printf("%8zu %14.2f %18.2f %14.2f %9.2fx\n", sizes[k], r.link_us, r.register_us,
               r.free_us, reg_free / base);
    }
    free(img);
    return 0;
}
