/* Per-stage timings of one link, kept on the linker for benchmarks and
 * diagnostics (bench/stages.c prints them).  Two clock reads per stage: a
 * cost far below the noise of any stage. */
#ifndef EJ_LINK_STATS_H
#define EJ_LINK_STATS_H

#include <stdint.h>
#include <time.h>

#define EJ_STAGE_MAP(X)                                                       \
    X(READ, "read")           /* open, map and validate objects */           \
    X(RESOLVE, "resolve")     /* COMDAT, section selection, symbols */       \
    X(SCAN, "scan")           /* count GOT slots and stubs, placement */     \
    X(LAYOUT, "layout")                                                       \
    X(RESERVE, "reserve")     /* mmap (and placement search) */              \
    X(COPY, "copy")           /* section contents into the image */          \
    X(RELOCATE, "relocate")   /* relocations, GOT, stubs */                  \
    X(PUBLISH, "publish")     /* exports, ctors, protections, caches */      \
    X(REGISTER, "register")

enum {
#define EJ__STAGE_ENUM(name, label) EJ_STAGE_##name,
    EJ_STAGE_MAP(EJ__STAGE_ENUM)
#undef EJ__STAGE_ENUM
    EJ_STAGE_COUNT
};

typedef struct ej__link_stats {
    uint64_t ns[EJ_STAGE_COUNT];
    uint64_t nobjs, nrelocs, ngot, nstub, image_size;
    /* A load of an image (src/aot): its pages mapped from the file, and
     * those the fixups wrote (the rest stay shared with the page cache). */
    uint64_t pages_mapped, pages_written;
} ej__link_stats;

static inline uint64_t ej__now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Charges the time since *T0 to stage STAGE of ST and restarts the clock. */
static inline void ej__lap(ej__link_stats *st, int stage, uint64_t *t0)
{
    uint64_t now = ej__now_ns();
    st->ns[stage] += now - *t0;
    *t0 = now;
}

/* The label of stage I ("read", ...). */
const char *ej__stage_name(int i);

struct ej_linker;
/* The statistics of LK's link so far (read accumulates over adds). */
const ej__link_stats *ej__linker_stats(const struct ej_linker *lk);

#endif
