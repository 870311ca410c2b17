/* builder: the compiler-facing path's costs, measured in one run.
 *
 *   builder [ROUNDS]      (default 2000)
 *
 *  1. Publish latency of a one-function module made by the builder:
 *     ej_linker_link + ej_module_free of a ready image, with no
 *     registration and with the default ones (registry, unwinder, GDB's
 *     JIT interface), next to the floor measured here: mmap + memcpy +
 *     mprotect(RX) + munmap of one page.  Medians over ROUNDS.
 *  2. Trap lookup with 1M trap sites: one function of 4 MiB with a trap
 *     every 4 bytes; the time of ej_trap_table_find (the table alone) and
 *     of ej_lookup_pc (registry, function, trap and source position) for
 *     random PCs in it. */
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
#include "elfjit/tables.h"

#if defined(__x86_64__)
static const uint8_t ret_insn[] = {0xc3};
#elif defined(__aarch64__)
static const uint8_t ret_insn[] = {0xc0, 0x03, 0x5f, 0xd6};
#else
static const uint8_t ret_insn[] = {0x67, 0x80, 0x00, 0x00};
#endif

static void *build(size_t code_len, size_t trap_every, size_t *len)
{
    uint8_t *code = calloc(1, code_len);
    memcpy(code, ret_insn, sizeof ret_insn);
    ej_builder *b;
    uint32_t f;
    void *img = NULL;
    int ok = ej_builder_create(&b, 0) == EJ_OK &&
             ej_builder_add_function(b, "f", code, code_len, 16, EJ_BIND_GLOBAL, &f) == EJ_OK &&
             ej_builder_add_srcloc(b, f, 0, "bench.src", 1) == EJ_OK;
    for (size_t off = 0; ok && trap_every && off < code_len; off += trap_every)
        ok = ej_builder_add_trap(b, f, off, (uint32_t)(off / trap_every) & 0xff) == EJ_OK;
    if (!ok || ej_builder_finish(b, &img, len) != EJ_OK) {
        fprintf(stderr, "builder: %s\n", ej_builder_errmsg(b));
        exit(1);
    }
    ej_builder_free(b);
    free(code);
    return img;
}

static ej_module *link_image_with(const void *img, size_t len, unsigned registration,
                                  ej_code_memory kind)
{
    ej_linker *lk;
    ej_module *m;
    if (ej_linker_create(&lk) != EJ_OK || ej_linker_set_registration(lk, registration) != EJ_OK ||
        ej_linker_set_code_memory(lk, kind) != EJ_OK ||
        ej_linker_add_buffer(lk, "f.o", img, len) != EJ_OK || ej_linker_link(lk, &m) != EJ_OK) {
        fprintf(stderr, "builder: link: %s\n", ej_linker_errmsg(lk));
        exit(1);
    }
    ej_linker_free(lk);
    return m;
}

static ej_module *link_image(const void *img, size_t len, unsigned registration)
{
    return link_image_with(img, len, registration, EJ_CODE_MEMORY_MPROTECT);
}

static uint64_t floor_once(void)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    uint64_t t0 = now_ns();
    void *p = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memcpy(p, ret_insn, sizeof ret_insn);
    mprotect(p, page, PROT_READ | PROT_EXEC);
    munmap(p, page);
    return now_ns() - t0;
}

static void publish(size_t rounds)
{
    size_t len;
    void *img = build(16, 0, &len);
    uint64_t *fl = malloc(rounds * sizeof *fl), *bare = malloc(rounds * sizeof *bare),
             *reg = malloc(rounds * sizeof *reg), *dual = malloc(rounds * sizeof *dual),
             *dreg = malloc(rounds * sizeof *dreg);
    /* Interleaved, so that both backends see the same machine. */
    for (size_t i = 0; i < rounds; i++) {
        fl[i] = floor_once();
        uint64_t t0 = now_ns();
        ej_module_free(link_image(img, len, 0));
        bare[i] = now_ns() - t0;
        t0 = now_ns();
        ej_module_free(link_image(img, len, EJ_REGISTER_DEFAULT));
        reg[i] = now_ns() - t0;
        t0 = now_ns();
        ej_module_free(link_image_with(img, len, 0, EJ_CODE_MEMORY_DUAL_MAP));
        dual[i] = now_ns() - t0;
        t0 = now_ns();
        ej_module_free(link_image_with(img, len, EJ_REGISTER_DEFAULT, EJ_CODE_MEMORY_DUAL_MAP));
        dreg[i] = now_ns() - t0;
    }
    uint64_t f = median(fl, rounds), b = median(bare, rounds), r = median(reg, rounds);
    uint64_t d = median(dual, rounds), dr = median(dreg, rounds);
    printf("publish, one function (median of %zu):\n", rounds);
    printf("  floor mmap+memcpy+mprotect+munmap  %8.2f µs\n", (double)f / 1e3);
    printf("  link + free, no registration        %8.2f µs  (%.1fx the floor)\n", (double)b / 1e3,
           (double)b / (double)f);
    printf("  link + free, default registration   %8.2f µs  (%.1fx the floor)\n", (double)r / 1e3,
           (double)r / (double)f);
    printf("  dual mapping, no registration       %8.2f µs  (%.1fx the floor)\n", (double)d / 1e3,
           (double)d / (double)f);
    printf("  dual mapping, default registration  %8.2f µs  (%.1fx the floor)\n",
           (double)dr / 1e3, (double)dr / (double)f);
    free(fl);
    free(bare);
    free(reg);
    free(dual);
    free(dreg);
    free(img);
}

static void traps(void)
{
    enum { SITES = 1 << 20, LOOKUPS = 1 << 20 };
    size_t len;
    void *img = build((size_t)SITES * 4, 4, &len);
    ej_module *m = link_image(img, len, 0);
    uintptr_t f = (uintptr_t)ej_module_symbol(m, "f");
    ej_pc_info pi;
    if (!ej_lookup_pc(f + 4, &pi) || !pi.has_trap) {
        fprintf(stderr, "builder: no trap found at f+4\n");
        exit(1);
    }
    uint64_t x = 88172645463325252ull, sum = 0, t0 = now_ns();
    for (int i = 0; i < LOOKUPS; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        sum += ej_lookup_pc(f + (x % ((uint64_t)SITES * 4)), &pi) ? pi.has_trap : 0;
    }
    uint64_t t1 = now_ns();
    printf("trap lookup, %d sites: ej_lookup_pc %.1f ns each (%llu of %d PCs were trap sites)\n",
           SITES, (double)(t1 - t0) / LOOKUPS, (unsigned long long)sum, LOOKUPS);
    ej_module_free(m);
    free(img);
}

int main(int argc, char **argv)
{
    size_t rounds = argc > 1 ? (size_t)strtoul(argv[1], NULL, 10) : 2000;
    publish(rounds ? rounds : 1);
    traps();
    return 0;
}
