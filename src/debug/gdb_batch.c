/* GDB registration (the GDB row of src/register's table), in batches.
 *
 * Every JIT event costs a stop of the whole process and, inside GDB, work
 * that grows with the object files it already has (it re-resolves its
 * breakpoints, its own internal ones included, across all of them): one
 * image per module makes registration quadratic (1.2 ms per module at
 * 1,000 modules, 10 ms at 4,000).  So modules without DWARF are
 * announced in batches: a module's part waits in a pending list until a
 * flush.  A flush of many parts puts them into big images of 256
 * modules (the one being filled is rebuilt and re-announced); a flush of
 * a few (a JIT calling each function right after compiling it) announces
 * them as one small image, and once SMALL_MAX small images exist the next
 * flush merges them all into big ones.  GDB then holds about one object
 * file per 256 modules, plus at most SMALL_MAX, and a module costs
 * about two small events plus a share of a big one.
 *
 * A flush happens when a big image's worth is pending, and before code of a
 * pending module can run: whenever elfjit hands out an address
 * (ej_module_symbol, ej_session_symbol, a slot retargeted, constructors
 * about to run: they call ej__register_flush).  Freeing a module of a
 * batch marks the batch for a rebuild at the next flush (its image goes
 * when its last module does), so a free costs no event.
 *
 * Modules with DWARF, and images saved with their own debugger image,
 * keep one entry each: their DWARF cannot be merged without rewriting
 * it.  ELFJIT_GDB_BATCH=N sets the modules per big image (1: one image
 * per module, as without batches; at most BATCH_PARTS_MAX). */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "debug/debug.h"
#include "debug/gdbjit.h"

/* Modules per big image (at most BATCH_PARTS_MAX), and small images (of
 * the few modules pending at a lookup) kept before they are merged into
 * big ones. */
enum { BATCH_DEFAULT = 256, SMALL_MAX = 16 };
static size_t g_batch_max = BATCH_DEFAULT; /* ELFJIT_GDB_BATCH */

typedef struct ej__gdb_batch {
    struct jit_code_entry e;       /* announced while e.symfile_addr is set */
    struct ej__gdb_batch *newer, *older;
    ej__dbg_part *members;
    size_t n;
    int dirty;                     /* lost a member since it was announced */
    int small;                     /* a few modules flushed by a lookup */
} batch;

/* What the registrar's slot holds for a module. */
typedef struct gdb_mod {
    int batched;
    struct jit_code_entry single;  /* !batched: the module's own entry */
    ej__dbg_part part;             /* batched */
} gdb_mod;

static batch *g_newest;
static ej__dbg_part *g_pending, *g_pending_tail;
static size_t g_npending;
static batch *g_open;              /* the big batch being filled */
static size_t g_nsmall;
static atomic_int g_work;          /* parts pending or batches dirty */

/* ---- lists -------------------------------------------------------------- */

static void part_unlink(ej__dbg_part **head, ej__dbg_part **tail, ej__dbg_part *p)
{
    if (p->prev)
        p->prev->next = p->next;
    else
        *head = p->next;
    if (p->next)
        p->next->prev = p->prev;
    else if (tail)
        *tail = p->prev;
    p->next = p->prev = NULL;
}

static void part_push(ej__dbg_part **head, ej__dbg_part *p)
{
    p->prev = NULL;
    p->next = *head;
    if (*head)
        (*head)->prev = p;
    *head = p;
}

static void batch_unlink(batch *b)
{
    if (b->newer)
        b->newer->older = b->older;
    else
        g_newest = b->older;
    if (b->older)
        b->older->newer = b->newer;
}

static void batch_drop_image(batch *b)
{
    if (b->e.symfile_addr) {
        ej__gdb_withdraw(&b->e);
        free((void *)(uintptr_t)b->e.symfile_addr);
        b->e.symfile_addr = NULL;
    }
}

/* ---- building and announcing ------------------------------------------- */

/* Announces B's members as one image, replacing the one GDB has.  A member
 * whose table cannot join the others is moved to a batch of its own. */
static ej_status announce(batch *b)
{
    ej__dbg_part *v[BATCH_PARTS_MAX];
    for (;;) {
        size_t n = 0;
        for (ej__dbg_part *p = b->members; p && n < BATCH_PARTS_MAX; p = p->next)
            v[n++] = p;
        void *img;
        size_t len, bad = 0;
        ej__err err;
        ej_status st = ej__symfile_parts(v, n, &img, &len, &bad, &err);
        if (st == EJ_RANGE && n > 1) {
            batch *own = calloc(1, sizeof *own);
            if (!own)
                return EJ_NOMEM;
            part_unlink(&b->members, NULL, v[bad]);
            b->n--;
            part_push(&own->members, v[bad]);
            v[bad]->batch = own;
            own->n = 1;
            own->older = b->older; /* behind B: B stays the open one */
            own->newer = b;
            if (b->older)
                b->older->newer = own;
            b->older = own;
            announce(own);
            continue;
        }
        if (st != EJ_OK)
            return st;
        batch_drop_image(b);
        b->e.symfile_addr = img;
        b->e.symfile_size = len;
        b->dirty = 0;
        ej__gdb_announce(&b->e);
        return EJ_OK;
    }
}

/* Moves up to ROOM pending parts, oldest first, into B. */
static void take_pending(batch *b, size_t room)
{
    while (g_pending_tail && room--) {
        ej__dbg_part *p = g_pending_tail;
        part_unlink(&g_pending, &g_pending_tail, p);
        p->batch = b;
        part_push(&b->members, p);
        b->n++;
        g_npending--;
    }
}

static batch *new_batch(int small)
{
    batch *b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    b->small = small;
    b->older = g_newest;
    if (g_newest)
        g_newest->newer = b;
    g_newest = b;
    g_nsmall += small;
    return b;
}

/* Every small batch's members back to the pending list, their images
 * withdrawn: they are about to join big batches. */
static void dissolve_small(void)
{
    for (batch *b = g_newest, *older; b; b = older) {
        older = b->older;
        if (!b->small)
            continue;
        batch_drop_image(b);
        while (b->members) {
            ej__dbg_part *p = b->members;
            part_unlink(&b->members, NULL, p);
            p->batch = NULL;
            part_push(&g_pending, p);
            if (!g_pending_tail)
                g_pending_tail = p;
            g_npending++;
        }
        batch_unlink(b);
        free(b);
    }
    g_nsmall = 0;
}

/* (ej__gdb_lock held) */
static void flush_locked(void)
{
    int failed = 0;
    for (batch *b = g_newest; b; b = b->older)
        if (b->dirty && announce(b) != EJ_OK)
            failed = 1;
    if (!failed && g_npending && g_npending < g_batch_max && g_nsmall < SMALL_MAX) {
        /* A few modules about to run: one small image of just them, one
         * event, nothing rebuilt. */
        batch *b = new_batch(1);
        if (b) {
            take_pending(b, g_npending);
            if (announce(b) != EJ_OK)
                b->dirty = failed = 1;
        } else {
            failed = 1;
        }
    } else if (!failed && g_npending) {
        dissolve_small();
    }
    while (g_npending && !failed) {
        batch *b = g_open && g_open->n < g_batch_max ? g_open : (g_open = new_batch(0));
        if (!b) {
            failed = 1;
            break;
        }
        take_pending(b, g_batch_max - b->n);
        /* (On failure the parts stay in the batch, marked for the next
         * flush to try again.) */
        if (announce(b) != EJ_OK)
            b->dirty = failed = 1;
    }
    atomic_store_explicit(&g_work, failed || g_npending, memory_order_relaxed);
}

void ej__gdb_flush(void)
{
    if (!atomic_load_explicit(&g_work, memory_order_relaxed))
        return;
    pthread_mutex_lock(&ej__gdb_lock);
    flush_locked();
    pthread_mutex_unlock(&ej__gdb_lock);
}

/* ---- the registrar ------------------------------------------------------ */

static void read_env(void)
{
    const char *e = getenv("ELFJIT_GDB_BATCH");
    unsigned long n;
    char end;
    if (e && sscanf(e, "%lu%c", &n, &end) == 1 && n >= 1 && n <= BATCH_PARTS_MAX)
        g_batch_max = n;
}

static ej_status make_part(const ej__image *img, ej__dbg_part *p, ej__err *err)
{
    size_t str = 0;
    for (size_t i = 0; i < img->nsyms; i++)
        str += strlen(img->names + img->syms[i].name) + 1;
    p->syms = malloc(img->nsyms * sizeof *p->syms + 1);
    p->names = malloc(str + 1);
    if (!p->syms || !p->names) {
        free(p->syms);
        free(p->names);
        return ej__fail(err, EJ_NOMEM, "out of memory registering the module with GDB");
    }
    p->machine = img->machine;
    memcpy(p->cls_addr, img->cls_addr, sizeof p->cls_addr);
    memcpy(p->cls_size, img->cls_size, sizeof p->cls_size);
    if (img->eh_size) {
        p->eh = img->view + (img->eh_addr - img->vbase);
        p->eh_addr = img->eh_addr;
        p->eh_len = ej__eh_frame_records(p->eh, img->eh_size);
    }
    size_t at = 0;
    for (size_t i = 0; i < img->nsyms; i++) {
        const ej__image_sym *s = &img->syms[i];
        size_t l = strlen(img->names + s->name) + 1;
        memcpy(p->names + at, img->names + s->name, l);
        p->syms[i] = (ej__dbg_sym){s->addr, s->size, (uint32_t)at, s->type, s->global, s->cls};
        at += l;
    }
    p->nsyms = img->nsyms;
    return EJ_OK;
}

/* A module with DWARF or a prebuilt image: its own entry, at once. */
static ej_status add_single(const ej__image *img, gdb_mod *g, ej__err *err)
{
    void *image = img->symfile;
    size_t len = img->symfile_len;
    /* (A prebuilt image is taken over: see ej__image.symfile.) */
    ej_status st = image ? EJ_OK : ej__symfile_build(img, &image, &len, err);
    if (image == img->symfile) {
        ((ej__image *)(uintptr_t)img)->symfile = NULL;
        ((ej__image *)(uintptr_t)img)->symfile_len = 0;
    }
    if (st != EJ_OK) {
        ej__err_prefix(err, "building the debugger's image");
        return st;
    }
    g->single.symfile_addr = image;
    g->single.symfile_size = len;
    pthread_mutex_lock(&ej__gdb_lock);
    ej__gdb_announce(&g->single);
    pthread_mutex_unlock(&ej__gdb_lock);
    return EJ_OK;
}

ej_status ej__reg_add_GDB(const ej__image *img, void *owner, void **slot, ej__err *err)
{
    (void)owner;
    gdb_mod *g = calloc(1, sizeof *g);
    if (!g)
        return ej__fail(err, EJ_NOMEM, "out of memory registering the module with GDB");
    ej_status st;
    if (img->symfile || img->ndwarf) {
        st = add_single(img, g, err);
    } else if ((st = make_part(img, &g->part, err)) == EJ_OK) {
        static pthread_once_t once = PTHREAD_ONCE_INIT;
        pthread_once(&once, read_env);
        g->batched = 1;
        pthread_mutex_lock(&ej__gdb_lock);
        part_push(&g_pending, &g->part);
        if (!g_pending_tail)
            g_pending_tail = &g->part;
        atomic_store_explicit(&g_work, 1, memory_order_relaxed);
        if (++g_npending >= g_batch_max)
            flush_locked();
        pthread_mutex_unlock(&ej__gdb_lock);
    }
    if (st != EJ_OK) {
        free(g);
        return st;
    }
    *slot = g;
    return EJ_OK;
}

static void remove_part(ej__dbg_part *p)
{
    batch *b = p->batch;
    if (!b) {
        part_unlink(&g_pending, &g_pending_tail, p);
        g_npending--;
        return;
    }
    part_unlink(&b->members, NULL, p);
    if (--b->n) {
        b->dirty = 1;
        atomic_store_explicit(&g_work, 1, memory_order_relaxed);
        return;
    }
    batch_drop_image(b);
    batch_unlink(b);
    if (b == g_open)
        g_open = NULL;
    g_nsmall -= b->small;
    free(b);
}

void ej__reg_remove_GDB(const ej__image *img, void *owner, void **slot)
{
    (void)img;
    (void)owner;
    gdb_mod *g = *slot;
    if (!g)
        return;
    pthread_mutex_lock(&ej__gdb_lock);
    if (g->batched)
        remove_part(&g->part);
    else
        ej__gdb_withdraw(&g->single);
    pthread_mutex_unlock(&ej__gdb_lock);
    if (g->batched) {
        free(g->part.syms);
        free(g->part.names);
    } else {
        free((void *)(uintptr_t)g->single.symfile_addr);
    }
    free(g);
    *slot = NULL;
}
