/* Real modules linked and freed on several threads while other threads
 * look PCs up through ej_lookup_pc: every answer must be whole (a module
 * found is found with its function and trap), and nothing may race
 * (this test also runs under ThreadSanitizer, see scripts/test.sh). */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "elfjit/builder.h"
#include "elfjit/elfjit.h"
#include "elfjit/tables.h"

enum { WRITERS = 2, READERS = 2, ROUNDS = 150, CODE = 64, TRAP_AT = 8 };

static void *image;
static size_t image_len;
/* The function address each writer's current module has, 0 between. */
static _Atomic uintptr_t live[WRITERS];
static atomic_int writers_done, bad;

static void build_image(void)
{
    uint8_t code[CODE];
    memset(code, 0, sizeof code); /* never run */
    ej_builder *b;
    uint32_t f;
    cr_assert_eq(ej_builder_create(&b, 0), EJ_OK);
    cr_assert_eq(ej_builder_add_function(b, "f", code, sizeof code, 16, EJ_BIND_GLOBAL, &f), EJ_OK);
    cr_assert_eq(ej_builder_add_trap(b, f, TRAP_AT, EJ_TRAP_OUT_OF_BOUNDS), EJ_OK);
    cr_assert_eq(ej_builder_finish(b, &image, &image_len), EJ_OK, "%s", ej_builder_errmsg(b));
    ej_builder_free(b);
}

static void *writer(void *arg)
{
    int w = (int)(intptr_t)arg;
    for (int r = 0; r < ROUNDS; r++) {
        ej_linker *lk;
        ej_module *m;
        if (ej_linker_create(&lk) != EJ_OK || ej_linker_add_buffer(lk, "f.o", image, image_len) ||
            ej_linker_link(lk, &m) != EJ_OK) {
            atomic_fetch_add(&bad, 1);
            ej_linker_free(lk);
            break;
        }
        ej_linker_free(lk);
        atomic_store(&live[w], (uintptr_t)ej_module_symbol(m, "f"));
        sched_yield();
        atomic_store(&live[w], 0);
        ej_module_free(m);
    }
    atomic_fetch_add(&writers_done, 1);
    return NULL;
}

/* Looks up the trap site and a plain PC of whatever module is live: a hit
 * must describe the function consistently. */
static void *reader(void *arg)
{
    (void)arg;
    long hits = 0;
    while (atomic_load(&writers_done) < WRITERS) {
        for (int w = 0; w < WRITERS; w++) {
            uintptr_t f = atomic_load(&live[w]);
            if (!f)
                continue;
            ej_pc_info pi;
            if (ej_lookup_pc(f + TRAP_AT, &pi)) {
                hits++;
                if (pi.offset != TRAP_AT || !pi.has_trap || pi.trap_code != EJ_TRAP_OUT_OF_BOUNDS)
                    atomic_fetch_add(&bad, 1);
            }
            if (ej_lookup_pc(f + 1, &pi) && (pi.offset != 1 || pi.has_trap))
                atomic_fetch_add(&bad, 1);
        }
    }
    return (void *)(intptr_t)hits;
}

Test(live_modules, link_and_free_while_looking_up, .timeout = 240)
{
    build_image();
    pthread_t wt[WRITERS], rt[READERS];
    for (int i = 0; i < READERS; i++)
        cr_assert_eq(pthread_create(&rt[i], NULL, reader, NULL), 0);
    for (int i = 0; i < WRITERS; i++)
        cr_assert_eq(pthread_create(&wt[i], NULL, writer, (void *)(intptr_t)i), 0);
    for (int i = 0; i < WRITERS; i++)
        pthread_join(wt[i], NULL);
    long hits = 0;
    for (int i = 0; i < READERS; i++) {
        void *h;
        pthread_join(rt[i], &h);
        hits += (long)(intptr_t)h;
    }
    cr_assert_gt(hits, 0, "no lookup ever found a live module");
    cr_assert_eq(atomic_load(&bad), 0, "%d inconsistent answers or failed links",
                 atomic_load(&bad));
    free(image);
}
