/* Loading an opened image (open.c) as a module, in place of a link:
 *
 *   imports   the names the fixups need, looked up as a link looks them
 *             up (the linker's resolver, the image's libraries and the
 *             linker's, the host), once each;
 *   place     where the references that must reach a host address from
 *             the image (PC-relative data references) reach it;
 *   map       the file's pages onto the reservation (codemem decides
 *             how: mapped privately, or read into a dual mapping);
 *   fix up    each fixup through the architecture's handler, into a
 *             scratch copy of its bytes: written only when they change,
 *             so pages without a changing fixup stay the page cache's;
 *   describe  the finished image (src/image) from the file's description;
 *   publish, register   as a link does.
 * Every failure unwinds: nothing stays mapped or registered. */
#include <dlfcn.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "aot/aot.h"
#include "inflate/inflate.h"
#include "link/module.h"
#include "tls/tlsmod.h"

/* ---- imports ------------------------------------------------------------- */

/* S for every fixup, imports looked up (the linker caches each name). */
static ej_status resolve(ej_linker *lk, const ej__aot *a, uint64_t *S)
{
    for (uint32_t i = 0; i < a->h.nfixups; i++) {
        const ej__fixup *f = &a->fixups[i];
        if (f->kind != EJ_FX_IMPORT) {
            S[i] = f->s;
            continue;
        }
        const char *name = a->strings + f->s;
        void *addr = ej__host_lookup_cached(lk, name, !f->weak);
        if (!addr && !f->weak) {
            int nomem;
            const char *why = ej__host_lookup_failure(&nomem);
            return ej__fail(&lk->err, nomem ? EJ_NOMEM : EJ_UNDEFINED,
                            "%s: undefined symbol '%s' (image offset 0x%" PRIx64 ")%s%s%s",
                            a->path, name, f->off, why[0] ? " (" : "", why, why[0] ? ")" : "");
        }
        S[i] = (uintptr_t)addr;
    }
    return EJ_OK;
}

static ej_status open_libraries(ej_linker *lk, const ej__aot *a)
{
    for (uint32_t i = 0; i < a->h.nlibs; i++) {
        ej_status st = ej__linker_add_library(lk, a->strings + a->libs[i]);
        if (st != EJ_OK) {
            ej__err_prefix(&lk->err, "%s", a->path);
            return st;
        }
    }
    return EJ_OK;
}

/* ---- placement ------------------------------------------------------------- */

/* The window every image byte must lie in for the fixups to reach what
 * they name: a PC-relative field aimed out of the image must reach its
 * target; an absolute field holding an image address must hold it. */
static ej_status window(ej_linker *lk, const ej__aot *a, const uint64_t *S, ej__placement *pl)
{
    const ej__arch *arch = ej__host_arch();
    *pl = (ej__placement){0, UINT64_MAX, 0, 0, 0};
    char why[320] = "";
    for (uint32_t i = 0; i < a->h.nfixups; i++) {
        const ej__fixup *f = &a->fixups[i];
        const ej__reloc_info *info = f->type == EJ_FX_WORD64 ? NULL : &arch->infos[f->type];
        if (!info)
            continue;
        if ((info->needs & EJ_RN_PLACE_PC) && f->kind != EJ_FX_IMAGE) {
            uint64_t lo, hi;
            ej__reach_window(info, S[i], &lo, &hi);
            if (lo > pl->lo || hi < pl->hi)
                snprintf(why, sizeof why, "%s against '%s' at image offset 0x%" PRIx64,
                         info->name, f->kind == EJ_FX_IMPORT ? a->strings + f->s : "a constant",
                         f->off);
            pl->lo = lo > pl->lo ? lo : pl->lo;
            pl->hi = hi < pl->hi ? hi : pl->hi;
        }
        if ((info->needs & EJ_RN_PLACE_ABS) && f->kind == EJ_FX_IMAGE &&
            (uint64_t)info->max + 1 < pl->hi) {
            pl->hi = (uint64_t)info->max + 1;
            snprintf(why, sizeof why, "%s at image offset 0x%" PRIx64 " needs the image low",
                     info->name, f->off);
        }
    }
    if (pl->lo >= pl->hi || pl->hi - pl->lo < a->h.image_size)
        return ej__fail(&lk->err, EJ_RANGE, "%s: cannot place the image (%" PRIu64 " bytes) "
                        "where it reaches everything it refers to (last bound: %s)", a->path,
                        a->h.image_size, why);
    return EJ_OK;
}

/* ---- fixups ---------------------------------------------------------------- */

static void site_of(const ej__aot *a, uint32_t i, const uint64_t *S, uint64_t vbase,
                    ej__reloc_site *s)
{
    const ej__fixup *f = &a->fixups[i];
    s->type = f->type;
    s->P = vbase + f->off;
    s->S = f->kind == EJ_FX_IMAGE ? vbase + S[i] : S[i]; /* (TLS kinds: bound by tls_bind) */
    s->A = f->a;
    s->Z = f->z;
    s->G = f->g ? vbase + f->g - 1 : 0;
    s->GOT = f->got ? vbase + f->got - 1 : 0;
    s->L = f->l ? vbase + f->l - 1 : 0;
    s->IE = 0;
    s->pair = NULL;
}

/* Applies fixup I into a copy of its bytes; writes them only if they
 * change (a page never written stays shared with the file).  Counts the
 * pages written in *WRITTEN (*LAST: the last one, + 1). */
static ej_status fix_one(ej_linker *lk, const ej__aot *a, uint32_t i, const uint64_t *S,
                         uint8_t *base, uint64_t size, uint64_t vbase, uint64_t *written,
                         uint64_t *last)
{
    const ej__arch *arch = ej__host_arch();
    const ej__fixup *f = &a->fixups[i];
    uint8_t scratch[16];
    uint8_t *w = base + f->off;
    size_t n = size - f->off < sizeof scratch ? (size_t)(size - f->off) : sizeof scratch;
    memcpy(scratch, w, n);
    if (f->type == EJ_FX_WORD64) {
        ej__put64(scratch, f->kind == EJ_FX_IMAGE ? vbase + S[i] : S[i]);
    } else {
        ej__reloc_site s, pair;
        site_of(a, i, S, vbase, &s);
        s.loc = scratch;
        s.begin = scratch;
        s.end = scratch + n;
        if (f->pair) {
            site_of(a, f->pair - 1, S, vbase, &pair);
            pair.loc = NULL;
            s.pair = &pair;
        }
        ej__reloc_fail fail = {0};
        if (arch->handlers[f->type](&s, &fail) != EJ_OK)
            return ej__fail(&lk->err, EJ_RANGE, "%s: image offset 0x%" PRIx64 ": %s against "
                            "'%s': %s (value 0x%" PRIx64 ")", a->path, f->off,
                            arch->infos[f->type].name,
                            f->kind == EJ_FX_IMPORT ? a->strings + f->s : "(the image)",
                            fail.why ? fail.why : "out of range", fail.value);
    }
    if (memcmp(scratch, w, n) != 0) {
        memcpy(w, scratch, n);
        uint64_t page = f->off / a->h.page_size + 1, end = (f->off + n - 1) / a->h.page_size + 1;
        *written += (page != *last) + (end != page);
        *last = end;
    }
    return EJ_OK;
}

/* ---- thread-local storage --------------------------------------------------- */

/* The image's TLS block handed to the C library (src/tls), its table
 * copied into the image, and the thread-local fixups' values: the block's
 * thread-pointer offset + their offset, or a table word. */
static ej_status tls_bind(ej_linker *lk, const ej__aot *a, ej_module *m, uint64_t *S)
{
    const ej__aot_tls *t = &a->tls;
    const ej__arch *arch = ej__host_arch();
    ej__tls_word *w = calloc(t->nwords ? t->nwords : 1, sizeof *w);
    uint64_t *table = calloc(t->table_size ? t->table_size / 8 : 1, 8);
    ej_status st = w && table ? EJ_OK : ej__fail(&lk->err, EJ_NOMEM, "%s: out of memory", a->path);
    for (uint32_t i = 0; st == EJ_OK && i < t->nwords; i++)
        w[i] = (ej__tls_word){(uint8_t)a->tlswords[i].what,
                              a->tlswords[i].name ? a->strings + a->tlswords[i].name - 1 : NULL,
                              a->tlswords[i].off};
    /* The initial image's own fixups (addresses it holds), into a copy. */
    uint8_t *init = malloc(t->filesz ? t->filesz : 1);
    if (st == EJ_OK && !init)
        st = ej__fail(&lk->err, EJ_NOMEM, "%s: out of memory", a->path);
    if (st == EJ_OK)
        memcpy(init, a->tlsinit, t->filesz);
    uint64_t unused = 0, last = 0;
    for (uint32_t i = 0; st == EJ_OK && i < a->h.nfixups; i++)
        if (a->fixups[i].area == EJ_FX_IN_TLS_INIT && a->fixups[i].kind <= EJ_FX_IMPORT)
            st = fix_one(lk, a, i, S, init, t->filesz, m->img.vbase, &unused, &last);
    ej__tls_block block = {init, t->filesz, ej__align_up(t->memsz, t->align), t->align};
    uint64_t salign = t->static_user ? ej__tls_static_align() : 0;
    /* (What ej_linker_static_tls_size reports, for a restart with room.) */
    lk->tls.memsz = t->memsz;
    lk->tls.align = t->align;
    const char *user = t->static_user ? a->strings + t->static_user - 1 : "?";
    if (st == EJ_OK && salign && t->align > salign)
        st = ej__fail(&lk->err, EJ_STATIC_TLS, "%s: '%s' needs the image's TLS block in static "
                      "TLS, aligned to %llu, and the C library's static TLS is aligned to %llu",
                      a->path, user, (unsigned long long)t->align, (unsigned long long)salign);
    if (st == EJ_OK)
        st = ej__tls_module_load(arch->machine, &arch->tls, &block, w, t->nwords, table, &m->tls,
                                 &lk->err);
    if (st != EJ_OK && st != EJ_NOMEM)
        ej__err_prefix(&lk->err, "%s", a->path);
    if (st == EJ_STATIC_TLS || (st == EJ_OK && t->static_user))
        lk->tls.static_user = &lk->null_sym; /* (a variable needs it: ej_linker_static_tls_size) */
    if (st == EJ_OK) {
        memcpy(m->mem.w + t->table_off, table, t->table_size);
        int64_t T = t->own_tp ? (int64_t)table[t->own_tp - 1] : 0;
        for (uint32_t i = 0; i < a->h.nfixups; i++) {
            const ej__fixup *f = &a->fixups[i];
            if (f->kind == EJ_FX_TLS_TP)
                S[i] = (uint64_t)T + f->s;
            else if (f->kind == EJ_FX_TLS_WORD)
                S[i] = table[f->s];
        }
    }
    free(init);
    free(w);
    free(table);
    return st;
}

/* ---- the image's description ------------------------------------------------ */

static ej_status describe(ej_module *m, ej__aot *a, ej__err *err)
{
    const ej__aot_header *h = &a->h;
    ej__image *img = &m->img;
    uint64_t vb = img->vbase;
    img->machine = h->machine;
    img->view = ej__codemem_view(&m->mem);
    for (int c = 0; c < EJ_CLS_COUNT; c++) {
        img->cls_off[c] = h->cls_off[c];
        img->cls_size[c] = h->cls_size[c];
        img->cls_addr[c] = img->vbase + h->cls_off[c];
    }
    img->eh_addr = vb + h->eh_off;
    img->eh_size = h->eh_size;
    img->dso_handle = (void *)(uintptr_t)(vb + h->dso_off);
    img->names = a->names; /* (taken over: an image loads once) */
    a->names = NULL;
    img->exports = malloc((h->export_cap ? h->export_cap : 1) * sizeof *img->exports);
    img->funcs = malloc((h->nfuncs ? h->nfuncs : 1) * sizeof *img->funcs);
    if (!img->names || !img->exports || !img->funcs)
        return ej__fail(err, EJ_NOMEM, "%s: out of memory describing the image", a->path);
    img->export_cap = h->export_cap;
    for (size_t i = 0; i < h->export_cap; i++) {
        const ej__aot_export *e = &a->exports[i];
        uint64_t addr = e->name == UINT32_MAX ? 0 : e->addr & EJ__EXPORT_TLS ? e->addr : vb + e->addr;
        img->exports[i] = (ej__export){addr, e->hash, e->name};
    }
    img->nfuncs = h->nfuncs;
    for (size_t i = 0; i < h->nfuncs; i++)
        img->funcs[i] = (ej__func){vb + a->funcs[i].addr, a->funcs[i].size, a->funcs[i].name};
    ej__fnlist *lists[EJ_AOT_FNLISTS] = {&img->preinit, &img->init, &img->fini};
    for (size_t k = 0, l = 0; l < EJ_AOT_FNLISTS; l++) {
        if (!(lists[l]->a = malloc((h->nfn[l] ? h->nfn[l] : 1) * sizeof *lists[l]->a)))
            return ej__fail(err, EJ_NOMEM, "%s: out of memory describing the image", a->path);
        lists[l]->n = h->nfn[l];
        for (size_t i = 0; i < h->nfn[l]; i++, k++)
            lists[l]->a[i] = (ej__fnarray){vb + a->fns[k].addr, a->fns[k].count, a->fns[k].prio,
                                           a->fns[k].order, (uint8_t)a->fns[k].reverse};
    }
    size_t ntraps = 0;
    for (size_t i = 0; i < h->ntables; i++)
        ntraps += a->tables[i].kind == EJ_AOT_TRAPS;
    if ((ntraps && !(img->traps = calloc(ntraps, sizeof *img->traps))) ||
        (h->ntables > ntraps && !(img->maps = calloc(h->ntables - ntraps, sizeof *img->maps))))
        return ej__fail(err, EJ_NOMEM, "%s: out of memory for its tables", a->path);
    const uint8_t *view = ej__codemem_view(&m->mem);
    for (size_t i = 0; i < h->ntables; i++) {
        const ej__aot_table *t = &a->tables[i];
        int traps = t->kind == EJ_AOT_TRAPS;
        ej__table *d = traps ? &img->traps[img->ntraps++] : &img->maps[img->nmaps++];
        ej_status st = traps ? ej_trap_table_open(view + t->off, t->size, &d->u.traps)
                             : ej_addr_map_open(view + t->off, t->size, &d->u.map);
        if (st != EJ_OK)
            return ej__fail(err, EJ_BADELF, "%s: a malformed %s at image offset 0x%" PRIx64,
                            a->path, traps ? "trap table" : "address map", t->off);
        d->text = vb + t->text;
        d->text_size = t->text_size;
    }
    return EJ_OK;
}

/* The debugger's image saved with the image, moved to where it loaded. */
static ej_status symfile(ej__image *img, ej__aot *a, ej__err *err)
{
    const ej__aot_header *h = &a->h;
    uint8_t *f = a->gdb; /* (taken over: an image loads once) */
    uint64_t delta = img->vbase - h->gdb_base;
    for (uint32_t i = 0; i < h->ngdbfix; i++) {
        uint32_t at = a->gdbfix[i];
        if (at > h->gdb_size || h->gdb_size - at < 8)
            return ej__fail(err, EJ_BADELF, "%s: the debugger's image has an address outside it",
                            a->path);
        uint64_t v;
        memcpy(&v, f + at, 8);
        v += delta;
        memcpy(f + at, &v, 8);
    }
    img->symfile = f;
    img->symfile_len = h->gdb_size;
    a->gdb = NULL;
    return EJ_OK;
}

/* ---- loading ---------------------------------------------------------------- */

/* A deflated image's bytes, inflated from the file straight into the
 * code memory's write view. */
static ej_status inflate_image(ej_linker *lk, const ej__aot *a, ej__codemem *cm)
{
    size_t len = (size_t)a->h.cls_off[EJ_CLS_BSS];
    size_t page = ej__page_size(), skip = (size_t)(a->z_off % page);
    size_t maplen = skip + (size_t)a->z_size;
    uint8_t *z = mmap(NULL, maplen, PROT_READ, MAP_PRIVATE, a->fd, (off_t)(a->z_off - skip));
    if (z == MAP_FAILED)
        return ej__fail(&lk->err, errno == ENOMEM ? EJ_NOMEM : EJ_IO,
                        "%s: cannot map the compressed image: %s", a->path, strerror(errno));
    ej__codemem_prefault(cm, 0, len);
    const char *why = "";
    ej__inflate_result r = ej__inflate(cm->w, len, z + skip, (size_t)a->z_size, &why);
    ej_status st = r == EJ_INFLATE_OK ? EJ_OK
                   : ej__fail(&lk->err, r == EJ_INFLATE_NOMEM ? EJ_NOMEM : EJ_BADELF,
                              "%s: the compressed image does not inflate to its %zu bytes (%s)",
                              a->path, len, why);
    munmap(z, maplen);
    return st;
}


static ej_status map_and_fix(ej_linker *lk, const ej__aot *a, ej_module *m, uint64_t *S)
{
    const ej__aot_header *h = &a->h;
    uint64_t t0 = ej__now_ns();
    ej_status st = h->flags & EJ_AOT_F_DEFLATED
                       ? inflate_image(lk, a, &m->mem)
                       : ej__codemem_fill_file(&m->mem, 0, h->cls_off[EJ_CLS_BSS], a->fd,
                                               h->data_off, &lk->err);
    if (st != EJ_OK) {
        ej__err_prefix(&lk->err, "%s", a->path);
        return st;
    }
    ej__lap(&lk->stats, EJ_STAGE_COPY, &t0);
    if (h->flags & EJ_AOT_F_TLS && (st = tls_bind(lk, a, m, S)) != EJ_OK)
        return st;
    uint64_t written = 0, last = 0;
    for (uint32_t i = 0; i < h->nfixups && st == EJ_OK; i++)
        if (a->fixups[i].area == EJ_FX_IN_IMAGE)
            st = fix_one(lk, a, i, S, m->mem.w, h->image_size, m->img.vbase, &written, &last);
    lk->stats.nrelocs = h->nfixups;
    lk->stats.image_size = h->image_size;
    lk->stats.pages_mapped = h->flags & EJ_AOT_F_DEFLATED ? 0 : h->cls_off[EJ_CLS_BSS] / h->page_size;
    lk->stats.pages_written = written;
    ej__lap(&lk->stats, EJ_STAGE_RELOCATE, &t0);
    return st;
}

ej_status ej__aot_load(ej_linker *lk, ej__aot *a, ej_module **out)
{
    const ej__aot_header *h = &a->h;
    *out = NULL;
    uint64_t *S = malloc((h->nfixups ? h->nfixups : 1) * sizeof *S);
    ej_module *m = calloc(1, sizeof *m);
    ej_status st = S && m ? EJ_OK : ej__fail(&lk->err, EJ_NOMEM, "%s: out of memory", a->path);
    ej__placement pl;
    uint64_t t0 = ej__now_ns();
    if (st == EJ_OK)
        st = open_libraries(lk, a);
    if (st == EJ_OK)
        st = resolve(lk, a, S);
    ej__lap(&lk->stats, EJ_STAGE_RESOLVE, &t0);
    if (st == EJ_OK)
        st = window(lk, a, S, &pl);
    ej__lap(&lk->stats, EJ_STAGE_SCAN, &t0);
    if (st == EJ_OK &&
        (st = ej__codemem_reserve(&m->mem, (size_t)h->image_size, (size_t)h->max_align, &pl,
                                  ej__codemem_choose(lk->code_memory), &lk->err)) != EJ_OK)
        ej__err_prefix(&lk->err, "%s: reserving %llu bytes aligned to 0x%llx", a->path,
                       (unsigned long long)h->image_size, (unsigned long long)h->max_align);
    ej__lap(&lk->stats, EJ_STAGE_RESERVE, &t0);
    if (st != EJ_OK) {
        free(S);
        free(m);
        return st;
    }
    m->img.vbase = m->mem.v;
    m->img.size = m->mem.size;
    if (h->entry && !(m->entry = strdup(a->strings + h->entry - 1)))
        st = ej__fail(&lk->err, EJ_NOMEM, "%s: out of memory", a->path);
    if (st == EJ_OK)
        st = map_and_fix(lk, a, m, S);
    free(S);
    t0 = ej__now_ns();
    if (st == EJ_OK)
        st = describe(m, a, &lk->err);
    if (st == EJ_OK && (lk->registration & EJ_REGISTER_GDB) && h->gdb_size)
        st = symfile(&m->img, a, &lk->err);
    if (st == EJ_OK)
        st = ej__codemem_publish_classes(&m->mem, h->cls_off, h->cls_size, &lk->err);
    ej__lap(&lk->stats, EJ_STAGE_PUBLISH, &t0);
    if (st == EJ_OK) {
        st = ej__module_register(m, lk->registration, &lk->err);
        ej__lap(&lk->stats, EJ_STAGE_REGISTER, &t0);
    }
    /* (The mappings keep the file: the descriptor is not needed now.) */
    close(a->fd);
    a->fd = -1;
    if (st != EJ_OK) {
        ej__codemem_release(&m->mem);
        ej__tls_module_unload(m->tls);
        ej__image_free(&m->img);
        free(m->entry);
        free(m);
        return st;
    }
    *out = m;
    return EJ_OK;
}
