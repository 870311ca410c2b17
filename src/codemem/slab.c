/* Shared code memory: arenas of text | rodata | data areas, handed out in
 * granules (slab.h says why it is shaped so). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "coherence/coherence_arch.h"
#include "codemem/codemem.h"
#include "codemem/placement.h"
#include "codemem/slab.h"

#ifndef MFD_CLOEXEC
#define MFD_CLOEXEC 0x0001u
#endif
#ifndef MFD_EXEC
#define MFD_EXEC 0x0010u
#endif

/* Bytes of each area: large, so that arenas (three mappings each) are
 * few; virtual only until written.  Tests shrink it before the first
 * link (ej__slab_area_bytes). */
size_t ej__slab_area_bytes = (size_t)8 << 20;

struct ej__arena {
    struct ej__arena *next;
    uint8_t *base;           /* 3 areas: text (RX), rodata (R), data (RW) */
    size_t slot;             /* its text and rodata are bytes [2 slot area, +2 area) of the file */
    uint32_t used[EJ_SLAB_KINDS], cursor[EJ_SLAB_KINDS];
    uint64_t *bits[EJ_SLAB_KINDS]; /* one bit per granule, set while in use */
};

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ej__arena *g_arenas;
static size_t g_area;         /* fixed at the first arena */
static int g_fd = -1;         /* the memory file behind every arena's text and rodata */
static size_t g_slots;        /* the file holds this many arenas' worth */
static size_t *g_free_slots, g_nfree_slots;
static int g_mem_fd = -1;     /* /proc/self/mem, opened when a debugger's page needs it */
/* Whether this machine keeps running what it fetched before at an address
 * whose code was rewritten by the kernel (pwrite): dynamic translators do
 * (qemu-user: it sees guest stores and mappings, not a file's page
 * changing), hardware does not once the caches are maintained.  Found by
 * a probe with the first arena; -1 until then. */
static int g_stale_fetch = -1;
static pthread_once_t g_atfork_once = PTHREAD_ONCE_INIT;
static void install_atfork(void);

size_t ej__slab_max_piece(void)
{
    return ej__page_size();
}

static uint32_t granules(void)
{
    return (uint32_t)(g_area / EJ_SLAB_GRANULE);
}

/* Where an area lives in the file.  Rodata comes first, text second: the
 * file is then never contiguous across the text/rodata boundary, so the
 * two mappings stay separate even where the host maps both alike (qemu-user
 * maps guest code read-only and would show one merged mapping). */
static uint64_t file_off(const struct ej__arena *a, int kind)
{
    return (uint64_t)a->slot * 2 * g_area + (uint64_t)(kind == EJ_SLAB_TEXT) * g_area;
}

uint64_t ej__slab_addr(const ej__slab_piece *p, int kind)
{
    return (uint64_t)(uintptr_t)p->arena->base + (uint64_t)kind * g_area +
           (uint64_t)p->first * EJ_SLAB_GRANULE;
}

size_t ej__slab_arenas(void)
{
    size_t n = 0;
    pthread_mutex_lock(&g_lock);
    for (struct ej__arena *a = g_arenas; a; a = a->next)
        n++;
    pthread_mutex_unlock(&g_lock);
    return n;
}

/* ---- bitmaps ------------------------------------------------------------ */

/* The first bit in [lo, hi) equal to WANT (1: in use), or HI. */
static uint32_t first_bit(const uint64_t *bits, uint32_t lo, uint32_t hi, int want)
{
    while (lo < hi) {
        uint64_t w = bits[lo / 64];
        if (!want)
            w = ~w;
        w &= ~(uint64_t)0 << (lo % 64);
        if (w) {
            uint32_t at = (lo & ~63u) + (uint32_t)__builtin_ctzll(w);
            return at < hi ? at : hi;
        }
        lo = (lo & ~63u) + 64;
    }
    return hi;
}

static void set_bits(uint64_t *bits, uint32_t first, uint32_t n, int on)
{
    for (uint32_t i = first; i < first + n; i++) {
        uint64_t m = (uint64_t)1 << (i % 64);
        bits[i / 64] = on ? bits[i / 64] | m : bits[i / 64] & ~m;
    }
}

/* A run of N free granules starting at a multiple of A in [from, to). */
static int64_t find_run(const uint64_t *bits, uint32_t from, uint32_t to, uint32_t n, uint32_t a)
{
    uint32_t i = (uint32_t)ej__align_up(first_bit(bits, from, to, 0), a);
    while (i < to && n <= to - i) {
        uint32_t busy = first_bit(bits, i, i + n, 1);
        if (busy == i + n)
            return i;
        i = (uint32_t)ej__align_up(first_bit(bits, busy, to, 0), a);
    }
    return -1;
}

/* Next fit from the cursor, then from the start: mostly a bump pointer. */
static int take(struct ej__arena *ar, int kind, uint32_t n, uint32_t align, uint32_t *first)
{
    uint32_t total = granules(), cur = ar->cursor[kind];
    if (total - ar->used[kind] < n)
        return 0;
    int64_t at = find_run(ar->bits[kind], cur, total, n, align);
    if (at < 0)
        at = find_run(ar->bits[kind], 0, cur + n < total ? cur + n : total, n, align);
    if (at < 0)
        return 0;
    set_bits(ar->bits[kind], (uint32_t)at, n, 1);
    ar->used[kind] += n;
    ar->cursor[kind] = (uint32_t)at + n;
    *first = (uint32_t)at;
    return 1;
}

static void give_back(struct ej__arena *ar, int kind, uint32_t first, uint32_t n);
static void maybe_destroy(struct ej__arena *ar);
static void drop_everything(void);

/* ---- arenas ------------------------------------------------------------- */

static int memory_file(void)
{
    int fd = memfd_create("elfjit-shared-code", MFD_CLOEXEC | MFD_EXEC);
    if (fd < 0 && errno == EINVAL) /* before Linux 6.3 */
        fd = memfd_create("elfjit-shared-code", MFD_CLOEXEC);
    return fd;
}

static ej_status take_slot(size_t *slot, ej__err *err)
{
    if (g_fd < 0 && (g_fd = memory_file()) < 0)
        return ej__fail(err, EJ_MAP, "cannot create the shared code memory file "
                        "(memfd_create): %s", strerror(errno));
    if (g_nfree_slots) {
        *slot = g_free_slots[--g_nfree_slots];
        return EJ_OK;
    }
    if (ftruncate(g_fd, (off_t)((g_slots + 1) * 2 * g_area)) != 0)
        return ej__fail(err, EJ_MAP, "cannot grow the shared code memory file to %zu bytes: %s",
                        (g_slots + 1) * 2 * g_area, strerror(errno));
    *slot = g_slots++;
    return EJ_OK;
}

static void put_slot(size_t slot)
{
    fallocate(g_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)(slot * 2 * g_area),
              (off_t)(2 * g_area));
    size_t *s = realloc(g_free_slots, (g_nfree_slots + 1) * sizeof *s);
    if (s) /* (else the slot is forgotten: the file keeps a hole) */
        (g_free_slots = s)[g_nfree_slots++] = slot;
}

static void destroy(struct ej__arena *ar)
{
    munmap(ar->base, 3 * g_area);
    put_slot(ar->slot);
    for (int k = 0; k < EJ_SLAB_KINDS; k++)
        free(ar->bits[k]);
    free(ar);
}

/* Maps the file's text and rodata areas over the reservation: never
 * writable, so nothing ever gains execute permission. */
static ej_status map_areas(struct ej__arena *ar, ej__err *err)
{
    static const int prot[2] = {PROT_READ | PROT_EXEC, PROT_READ};
    for (int k = 0; k < 2; k++) {
        void *at = ar->base + (size_t)k * g_area;
        if (mmap(at, g_area, prot[k], MAP_PRIVATE | MAP_FIXED, g_fd,
                 (off_t)file_off(ar, k)) == MAP_FAILED)
            return ej__fail(err, errno == ENOMEM ? EJ_NOMEM : EJ_MAP, "cannot map the shared "
                            "%s area at %p: %s", k ? "read-only data" : "code", at,
                            strerror(errno));
    }
    return EJ_OK;
}

/* Runs `return 1` from the arena's first granule, rewrites it in place
 * through the file to `return 2` (caches maintained), and runs it again:
 * still 1 means fetches go stale (see g_stale_fetch).  The granule is
 * zeroed again before any module can have it. */
static int probe_stale_fetch(struct ej__arena *ar)
{
    uint8_t code[16] = {0};
    int got[2] = {0, 0};
    for (uint32_t k = 1; k <= 2; k++) {
        size_t n = ej__arch_return_constant(code, k);
        /* (A write that fails leaves the answer unknown: assume stale
         * fetches, whose remapping is only slower where there are none;
         * "return 1" may already have been translated.) */
        if (pwrite(g_fd, code, n, (off_t)file_off(ar, EJ_SLAB_TEXT)) != (ssize_t)n)
            return 1;
        ej__arch_clear_cache(ar->base, n);
        got[k - 1] = ((int (*)(void))(uintptr_t)ar->base)();
    }
    memset(code, 0, sizeof code);
    (void)!pwrite(g_fd, code, sizeof code, (off_t)file_off(ar, EJ_SLAB_TEXT));
    return got[0] == 1 && got[1] != 2;
}

static ej_status add_arena(const ej__placement *pl, struct ej__arena **out, ej__err *err)
{
    struct ej__arena *ar = calloc(1, sizeof *ar);
    if (!ar)
        return ej__fail(err, EJ_NOMEM, "out of memory for a shared code arena");
    size_t words = (granules() + 63) / 64;
    int made = 0;
    while (made < EJ_SLAB_KINDS && (ar->bits[made] = calloc(words, sizeof(uint64_t))))
        made++;
    if (made < EJ_SLAB_KINDS) {
        for (int j = 0; j < made; j++)
            free(ar->bits[j]);
        free(ar);
        return ej__fail(err, EJ_NOMEM, "out of memory for a shared code arena");
    }
    ej_status st = take_slot(&ar->slot, err);
    if (st != EJ_OK) {
        for (int k = 0; k < EJ_SLAB_KINDS; k++)
            free(ar->bits[k]);
        free(ar);
        return st;
    }
    if ((st = ej__place(3 * g_area, 3 * g_area, ej__page_size(), pl, &ar->base, err)) != EJ_OK) {
        ar->base = NULL;
        put_slot(ar->slot);
        for (int k = 0; k < EJ_SLAB_KINDS; k++)
            free(ar->bits[k]);
        free(ar);
        return st;
    }
    if ((st = map_areas(ar, err)) != EJ_OK) {
        destroy(ar);
        return st;
    }
    if (g_stale_fetch < 0)
        g_stale_fetch = probe_stale_fetch(ar);

    ar->next = g_arenas;
    g_arenas = ar;
    *out = ar;
    return EJ_OK;
}

/* ---- allocation --------------------------------------------------------- */

static int inside(const struct ej__arena *ar, const ej__placement *pl, int pref)
{
    uint64_t lo = (uint64_t)(uintptr_t)ar->base, hi = lo + 3 * g_area;
    if (!pref)
        return lo >= pl->lo && hi <= pl->hi;
    return !pl->has_pref || (lo >= pl->pref_lo && hi <= pl->pref_hi);
}

static int take_all(struct ej__arena *ar, const uint32_t n[EJ_SLAB_KINDS],
                    const uint32_t al[EJ_SLAB_KINDS], ej__slab_piece out[EJ_SLAB_KINDS])
{
    for (int k = 0; k < EJ_SLAB_KINDS; k++) {
        out[k] = (ej__slab_piece){ar, 0, n[k]};
        if (n[k] && !take(ar, k, n[k], al[k], &out[k].first)) {
            for (int j = 0; j < k; j++)
                if (n[j])
                    give_back(ar, j, out[j].first, n[j]);
            return 0;
        }
    }
    return 1;
}

ej_status ej__slab_alloc(const size_t len[EJ_SLAB_KINDS], const size_t align[EJ_SLAB_KINDS],
                         const ej__placement *pl, ej__slab_piece out[EJ_SLAB_KINDS],
                         uint64_t addr[EJ_SLAB_KINDS], ej__err *err)
{
    uint32_t n[EJ_SLAB_KINDS], al[EJ_SLAB_KINDS];
    for (int k = 0; k < EJ_SLAB_KINDS; k++) {
        if (len[k] > ej__slab_max_piece() || align[k] > ej__slab_max_piece())
            return ej__fail(err, EJ_INVAL, "a piece of %zu bytes aligned to %zu does not fit "
                            "shared code memory", len[k], align[k]);
        n[k] = (uint32_t)(ej__align_up(len[k], EJ_SLAB_GRANULE) / EJ_SLAB_GRANULE);
        al[k] = align[k] > EJ_SLAB_GRANULE ? (uint32_t)(align[k] / EJ_SLAB_GRANULE) : 1;
    }
    ej_status st = EJ_OK;
    pthread_once(&g_atfork_once, install_atfork);
    pthread_mutex_lock(&g_lock);
    if (!g_area)
        g_area = ej__align_up(ej__slab_area_bytes, (uint64_t)ej__page_size() * 64);
    int found = 0;
    /* An arena the image prefers (it then reaches the host without
     * stubs), else any inside its window, else a new one. */
    for (int pref = 1; pref >= 0 && !found; pref--)
        for (struct ej__arena *ar = g_arenas; ar && !found; ar = ar->next)
            found = inside(ar, pl, 0) && inside(ar, pl, pref) && take_all(ar, n, al, out);
    if (!found) {
        struct ej__arena *ar = NULL;
        if ((st = add_arena(pl, &ar, err)) == EJ_OK && !take_all(ar, n, al, out))
            st = ej__fail(err, EJ_MAP, "a new shared code arena has no room");
        if (st != EJ_OK && ar)
            maybe_destroy(ar);
        else if (st != EJ_OK && !g_arenas)
            drop_everything();
    }
    pthread_mutex_unlock(&g_lock);
    if (st != EJ_OK) {
        memset(out, 0, EJ_SLAB_KINDS * sizeof *out);
        return st;
    }
    for (int k = 0; k < EJ_SLAB_KINDS; k++)
        addr[k] = n[k] ? ej__slab_addr(&out[k], k) : 0;
    return EJ_OK;
}

/* ---- writing ------------------------------------------------------------ */

static ej_status write_fully(int fd, const void *src, size_t len, uint64_t off, const char *what,
                             ej__err *err)
{
    for (size_t done = 0; done < len;) {
        ssize_t w = pwrite(fd, (const uint8_t *)src + done, len - done, (off_t)(off + done));
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return ej__fail(err, errno == ENOMEM ? EJ_NOMEM : EJ_IO, "cannot write %zu bytes "
                            "of code into %s at 0x%llx: %s", len - done, what,
                            (unsigned long long)(off + done),
                            w == 0 ? "nothing written" : strerror(errno));
        done += (size_t)w;
    }
    return EJ_OK;
}

/* A page of a private mapping that a debugger (ptrace, /proc/PID/mem) wrote
 * into is the process's own copy: the file's later bytes do not show
 * there.  Write them as the debugger did. */
static ej_status write_own_copy(uint64_t at, const void *src, size_t len, ej__err *err)
{
    pthread_mutex_lock(&g_lock);
    if (g_mem_fd < 0)
        g_mem_fd = open("/proc/self/mem", O_RDWR | O_CLOEXEC);
    int fd = g_mem_fd;
    pthread_mutex_unlock(&g_lock);
    if (fd < 0)
        return ej__fail(err, EJ_MAP, "shared code page at 0x%llx is a private copy (a "
                        "debugger wrote into it) and /proc/self/mem cannot be opened: %s",
                        (unsigned long long)at, strerror(errno));
    return write_fully(fd, src, len, at, "/proc/self/mem", err);
}

/* Under a translator that would run what it translated before at these
 * addresses (see g_stale_fetch), the pages are mapped again in place:
 * translators drop what they translated from a range mapped anew.  (Every
 * text write, not only into reused granules: this only happens under an
 * emulator, and a wrong result there is worse than a slower link.) */
static ej_status remap_text(const ej__slab_piece *p, uint8_t *at, size_t len, ej__err *err)
{
    size_t page = ej__page_size();
    uintptr_t lo = (uintptr_t)at & ~(page - 1), hi = ej__align_up((uintptr_t)at + len, page);
    uint64_t foff = file_off(p->arena, EJ_SLAB_TEXT) + (lo - (uintptr_t)p->arena->base);
    if (mmap((void *)lo, hi - lo, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_FIXED, g_fd,
             (off_t)foff) == MAP_FAILED)
        return ej__fail(err, errno == ENOMEM ? EJ_NOMEM : EJ_MAP, "cannot map shared code "
                        "at %p again: %s", (void *)lo, strerror(errno));
    return EJ_OK;
}

ej_status ej__slab_write(const ej__slab_piece *p, int kind, const void *src, size_t len,
                         ej__err *err)
{
    uint8_t *at = (uint8_t *)(uintptr_t)ej__slab_addr(p, kind);
    if (!len)
        return EJ_OK;
    if (kind == EJ_SLAB_DATA) {
        memcpy(at, src, len);
        return EJ_OK;
    }
    ej_status st = write_fully(g_fd, src, len, file_off(p->arena, kind) +
                               (uint64_t)p->first * EJ_SLAB_GRANULE, "the shared code file", err);
    if (st == EJ_OK && kind == EJ_SLAB_TEXT && g_stale_fetch > 0)
        st = remap_text(p, at, len, err);
    if (st == EJ_OK && memcmp(at, src, len) != 0) {
        st = write_own_copy((uint64_t)(uintptr_t)at, src, len, err);
        if (st == EJ_OK && memcmp(at, src, len) != 0)
            st = ej__fail(err, EJ_MAP, "shared code at %p does not show the bytes written",
                          (void *)at);
    }
    return st;
}

/* ---- fork ---------------------------------------------------------------- */

/* A child of fork() inherits private mappings of the same memory file: a
 * hole it punched, or code it wrote, would show in the parent's pages
 * (and the parent's in its).  So before fork, under the lock (no link or
 * free can change the file meanwhile), the file is copied whole, holes
 * kept; the child maps the copy over every arena and keeps it, the parent
 * closes it.  (posix_spawn and vfork do not run these handlers: they exec
 * at once.) */
static int g_child_fd = -1;

static int copy_file(int from, int to, off_t size)
{
    if (ftruncate(to, size) != 0)
        return -1;
    for (off_t at = 0; at < size;) {
        off_t data = lseek(from, at, SEEK_DATA);
        if (data < 0)
            return errno == ENXIO ? 0 : -1;
        off_t hole = lseek(from, data, SEEK_HOLE);
        if (hole < 0)
            return -1;
        for (off_t o = data; o < hole;) {
            off_t in = o, out = o;
            ssize_t n = copy_file_range(from, &in, to, &out, (size_t)(hole - o), 0);
            if (n <= 0)
                return -1;
            o += n;
        }
        at = hole;
    }
    return 0;
}

static void before_fork(void)
{
    pthread_mutex_lock(&g_lock);
    g_child_fd = -1;
    if (g_fd < 0)
        return;
    int fd = memory_file();
    if (fd >= 0 && copy_file(g_fd, fd, (off_t)(g_slots * 2 * g_area)) != 0) {
        close(fd);
        fd = -1;
    }
    g_child_fd = fd; /* (-1: the child shares the parent's file, as before) */
}

static void parent_after_fork(void)
{
    if (g_child_fd >= 0)
        close(g_child_fd);
    g_child_fd = -1;
    pthread_mutex_unlock(&g_lock);
}

static void child_after_fork(void)
{
    if (g_child_fd >= 0) {
        int old = g_fd;
        ej__err ignored;
        g_fd = g_child_fd;
        for (struct ej__arena *a = g_arenas; a; a = a->next)
            if (map_areas(a, &ignored) != EJ_OK)
                break; /* (the old file stays mapped there) */
        close(old);
        g_child_fd = -1;
    }
    /* /proc/self/mem opened by the parent still names the parent. */
    if (g_mem_fd >= 0)
        close(g_mem_fd);
    g_mem_fd = -1;
    pthread_mutex_unlock(&g_lock);
}

static void install_atfork(void)
{
    pthread_atfork(before_fork, parent_after_fork, child_after_fork);
}

/* ---- freeing ------------------------------------------------------------ */

/* Pages of the area that hold no granule in use any more go back to the
 * kernel: a hole in the file (text, rodata), or dropped anonymous memory. */
static void release_empty_pages(struct ej__arena *ar, int kind, uint32_t first, uint32_t n)
{
    size_t page = ej__page_size();
    uint32_t gpp = (uint32_t)(page / EJ_SLAB_GRANULE);
    for (uint32_t pg = first / gpp; pg <= (first + n - 1) / gpp; pg++) {
        if (first_bit(ar->bits[kind], pg * gpp, (pg + 1) * gpp, 1) != (pg + 1) * gpp)
            continue;
        if (kind == EJ_SLAB_DATA)
            madvise(ar->base + 2 * g_area + (size_t)pg * page, page, MADV_DONTNEED);
        else
            fallocate(g_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                      (off_t)(file_off(ar, kind) + (uint64_t)pg * page), (off_t)page);
    }
}

static void give_back(struct ej__arena *ar, int kind, uint32_t first, uint32_t n)
{
    set_bits(ar->bits[kind], first, n, 0);
    ar->used[kind] -= n;
}

static int empty(const struct ej__arena *ar)
{
    return !ar->used[0] && !ar->used[1] && !ar->used[2];
}

/* No module left: no arena, no file. */
static void drop_everything(void)
{
    while (g_arenas) {
        struct ej__arena *next = g_arenas->next;
        destroy(g_arenas);
        g_arenas = next;
    }
    if (g_fd >= 0)
        close(g_fd);
    g_fd = -1;
    if (g_mem_fd >= 0)
        close(g_mem_fd);
    g_mem_fd = -1;
    g_slots = g_nfree_slots = 0;
    free(g_free_slots);
    g_free_slots = NULL;
}

/* An arena left empty is unmapped unless it is the only empty one while
 * others are in use (it then stays, its pages given back already, so that
 * links and frees at an arena's edge do not map and unmap one each time).
 * When no module is left at all, nothing stays: no mapping, no file. */
static void maybe_destroy(struct ej__arena *ar)
{
    struct ej__arena **pp = &g_arenas, *other = NULL;
    int all_empty = 1;
    for (struct ej__arena *a = g_arenas; a; a = a->next) {
        if (a != ar && empty(a))
            other = a;
        all_empty &= empty(a);
    }
    if (all_empty) {
        drop_everything();
        return;
    }
    if (!other)
        return;
    while (*pp != ar)
        pp = &(*pp)->next;
    *pp = ar->next;
    destroy(ar);
}

void ej__slab_free(ej__slab_piece p[EJ_SLAB_KINDS])
{
    struct ej__arena *ar = NULL;
    pthread_mutex_lock(&g_lock);
    for (int k = 0; k < EJ_SLAB_KINDS; k++) {
        if (!p[k].count)
            continue;
        ar = p[k].arena;
        give_back(ar, k, p[k].first, p[k].count);
        release_empty_pages(ar, k, p[k].first, p[k].count);
    }
    if (ar && empty(ar))
        maybe_destroy(ar);
    pthread_mutex_unlock(&g_lock);
    memset(p, 0, EJ_SLAB_KINDS * sizeof *p);
}
