/* registry: the process-wide code registry (src/runtime/registry.c) with
 * many live ranges.
 *
 *   registry [-n RANGES] [-l LOOKUPS] [-u UPDATES]
 *
 * Registers RANGES (default 10,000) fake ranges of 4 KiB with 4 KiB gaps,
 * then times LOOKUPS (default 1,000,000) ej__registry_visit calls on random
 * addresses spread over the whole span (about half hit a range, half fall
 * in a gap), single-threaded, and reports ns per lookup; then times
 * UPDATES (default 1,000) add+remove pairs of one extra range with RANGES
 * live (each rebuilds the path it changes and waits out a grace period) and reports
 * microseconds per pair.  Module pointers are fake and never dereferenced.
 * Not a test: it checks nothing beyond the lookups finding what they
 * should. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "runtime/registry.h"

#define BASE 0x10000000ull
#define STRIDE 0x2000ull
#define SIZE 0x1000ull

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t xorshift(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

static void count_hit(void *ctx, const ej__range *r)
{
    (void)r;
    ++*(size_t *)ctx;
}

int main(int argc, char **argv)
{
    long ranges = 10000, lookups = 1000000, updates = 1000;
    int c;
    while ((c = getopt(argc, argv, "n:l:u:")) != -1) {
        long v = strtol(optarg, NULL, 10);
        if (v <= 0) {
            fprintf(stderr, "registry: -%c wants a positive number\n", c);
            return 2;
        }
        if (c == 'n')
            ranges = v;
        else if (c == 'l')
            lookups = v;
        else if (c == 'u')
            updates = v;
        else {
            fprintf(stderr, "usage: %s [-n RANGES] [-l LOOKUPS] [-u UPDATES]\n", argv[0]);
            return 2;
        }
    }

    /* Registered in a shuffled order, as modules come and go. */
    uint64_t seed = 0x2545f4914f6cdd1dull, span = (uint64_t)ranges * STRIDE;
    uint64_t *order = malloc((size_t)ranges * sizeof *order);
    if (!order) {
        fprintf(stderr, "registry: out of memory\n");
        return 1;
    }
    for (long i = 0; i < ranges; i++)
        order[i] = (uint64_t)i;
    for (long i = ranges - 1; i > 0; i--) {
        uint64_t j = xorshift(&seed) % (uint64_t)(i + 1), t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    double t0 = now();
    for (long k = 0; k < ranges; k++) {
        uint64_t start = BASE + order[k] * STRIDE;
        if (ej__registry_add(start, start + SIZE, (ej_module *)(uintptr_t)(16 * (order[k] + 1)),
                             NULL) != EJ_OK) {
            fprintf(stderr, "registry: out of memory\n");
            return 1;
        }
    }
    double fill = now() - t0;
    free(order);

    uint64_t *addrs = malloc((size_t)lookups * sizeof *addrs);
    if (!addrs) {
        fprintf(stderr, "registry: out of memory\n");
        return 1;
    }
    size_t expect = 0;
    for (long i = 0; i < lookups; i++) {
        addrs[i] = BASE + xorshift(&seed) % span;
        expect += (addrs[i] - BASE) % STRIDE < SIZE;
    }
    size_t hits = 0;
    t0 = now();
    for (long i = 0; i < lookups; i++)
        ej__registry_visit(addrs[i], count_hit, &hits);
    double look = now() - t0;
    if (hits != expect) {
        fprintf(stderr, "registry: %zu hits, expected %zu\n", hits, expect);
        return 1;
    }

    uint64_t extra = BASE + span + STRIDE;
    ej_module *xm = (ej_module *)(uintptr_t)8;
    t0 = now();
    for (long i = 0; i < updates; i++) {
        if (ej__registry_add(extra, extra + SIZE, xm, NULL) != EJ_OK) {
            fprintf(stderr, "registry: out of memory\n");
            return 1;
        }
        ej__registry_remove(xm);
    }
    double upd = now() - t0;

    printf("registry: %ld live ranges (registered in %.1f ms)\n", ranges, fill * 1e3);
    printf("lookup: %.1f ns/lookup (%ld random addresses, %zu hits)\n", look * 1e9 / lookups,
           lookups, hits);
    printf("add+remove: %.2f us/pair with %ld live (%ld pairs)\n", upd * 1e6 / updates, ranges,
           updates);
    free(addrs);
    return 0;
}
