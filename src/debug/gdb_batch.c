/* GDB registration (the GDB row of src/register's table), in batches.
 *
 * Every JIT event costs a stop of the whole process and, inside GDB, work
 * that grows with the object files it already has (it re-resolves its
 * breakpoints, its own internal ones included, across all of them): one
 * image per module makes registration quadratic (1.2 ms per module at
 * 1,000 modules, 10 ms at 4,000).  So modules without DWARF are
 * announced in batches: a module's part waits in a pending list, and a
 * flush puts the pending parts into the newest batch image (rebuilt and
 * re-announced while it has room, BATCH_MAX modules) or into new ones.
 * GDB then holds one object file per BATCH_MAX modules.
 *
 * A flush happens when BATCH_MAX parts are pending, and before code of a
 * pending module can run: whenever elfjit hands out an address
 * (ej_module_symbol, ej_session_symbol, a slot retargeted, constructors
 * about to run: they call ej__register_flush).  Freeing a module of a
 * batch marks the batch for a rebuild at the next flush (its image goes
 * when its last module does), so a free costs no event.
 *
 * Modules with DWARF, and images saved with their own debugger image,
 * keep one entry each: their DWARF cannot be merged without rewriting
 * it. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "debug/debug.h"
#include "debug/gdbjit.h"

enum { BATCH_MAX = 256 }; /* (at most BATCH_PARTS_MAX) */

typedef struct ej__gdb_batch {
    struct jit_code_entry e;       /* announced while e.symfile_addr is set */
    struct ej__gdb_batch *newer, *older;
    ej__dbg_part *members;
    size_t n;
    int dirty;                     /* lost a member since it was announced */
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
    ej__dbg_part *v[BATCH_MAX];
    for (;;) {
        size_t n = 0;
        for (ej__dbg_part *p = b->members; p && n < BATCH_MAX; p = p->next)
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

/* (ej__gdb_lock held) */
static void flush_locked(void)
{
    int failed = 0;
    for (batch *b = g_newest; b; b = b->older)
        if (b->dirty && announce(b) != EJ_OK)
            failed = 1;
    while (g_npending && !failed) {
        batch *b = g_newest;
        if (!b || b->n >= BATCH_MAX) {
            if (!(b = calloc(1, sizeof *b))) {
                failed = 1;
                break;
            }
            b->older = g_newest;
            if (g_newest)
                g_newest->newer = b;
            g_newest = b;
        }
        take_pending(b, BATCH_MAX - b->n);
        /* (On failure the parts stay in the batch, marked for the next
         * flush to try again.) */
        if (announce(b) != EJ_OK) {
            b->dirty = 1;
            failed = 1;
        }
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
        g->batched = 1;
        pthread_mutex_lock(&ej__gdb_lock);
        part_push(&g_pending, &g->part);
        if (!g_pending_tail)
            g_pending_tail = &g->part;
        atomic_store_explicit(&g_work, 1, memory_order_relaxed);
        if (++g_npending >= BATCH_MAX)
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
