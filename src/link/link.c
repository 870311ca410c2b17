/* The link driver: the staged pipeline of DESIGN.md, one named function per
 * stage, with a goto unwind so that a failure at any stage leaves nothing
 * mapped and nothing registered. */
#include <stdlib.h>
#include <string.h>

#include "aot/aot.h"
#include "debug/profile.h"
#include "link/archives.h"
#include "link/module.h"
#include "tls/tlsmod.h"

/* Test hook: called after each stage that changes the mapping ("reserved",
 * "relocated", "published") with the image's extent. */
void (*ej__link_stage_hook)(const char *stage, const void *base, size_t size);

static void stage_done(const char *stage, const ej__codemem *cm)
{
    if (ej__link_stage_hook)
        ej__link_stage_hook(stage, ej__codemem_view(cm), cm->size);
}


/* Only link-only links may take another machine's code (checked again
 * once archive members are in: the first object may be one). */
static ej_status check_machine(ej_linker *lk)
{
    if (lk->fake_base || !lk->arch || lk->arch == ej__host_arch())
        return EJ_OK;
    return ej__fail(&lk->err, EJ_UNSUPPORTED, "%s: %s code cannot run on this %s host "
                    "(link-only mode, ej_linker_set_base, links it without running it)",
                    lk->objs[0].o->name, lk->arch->name, ej__host_arch()->name);
}

/* Which objects, which sections, and what every name binds to; planned
 * again when the resolution needed members of the compiler runtime. */
static ej_status resolve_stages(ej_linker *lk)
{
    ej_status st;
    if ((st = ej__archives_pull(lk)) != EJ_OK)
        return st;
    if (lk->nobjs == 0)
        return ej__fail(&lk->err, EJ_STATE, "nothing to link: the archives gave no member (no "
                        "object refers to their names; EJ_ARCHIVE_WHOLE links every member)");
    if ((st = check_machine(lk)) != EJ_OK)
        return st;
    for (int again = 1; again;) {
        if ((st = ej__comdat_select(lk)) != EJ_OK)
            return st;
        ej__select_sections(lk);
        if ((st = ej__align_code(lk)) != EJ_OK)
            return st;
        if ((st = ej__resolve_symbols(lk)) != EJ_OK)
            return st;
        if ((st = ej__runtime_load(lk, &again)) != EJ_OK)
            return st;
    }
    ej__archives_done(lk);
    return EJ_OK;
}

static ej_status plan_stages(ej_linker *lk)
{
    ej_status st;
    uint64_t t0 = ej__now_ns();
    if ((st = resolve_stages(lk)) != EJ_OK)
        return st;
    ej__lap(&lk->stats, EJ_STAGE_RESOLVE, &t0);
    if ((st = ej__scan_relocs(lk)) != EJ_OK)
        return st;
    ej__lap(&lk->stats, EJ_STAGE_SCAN, &t0);
    st = ej__layout(lk, ej__page_size());
    ej__lap(&lk->stats, EJ_STAGE_LAYOUT, &t0);
    lk->stats.nobjs = lk->nobjs;
    lk->stats.ngot = lk->plan.ngot;
    lk->stats.nstub = lk->plan.nstub;
    lk->stats.image_size = lk->plan.image_size;
    return st;
}

/* A link that saves an image runs at a base of its choosing: inside the
 * window its references reach, as a real link would be placed, so that
 * the values it range-checks are the ones a load will see. */
static void choose_save_base(ej_linker *lk)
{
    const ej__plan *p = &lk->plan;
    if (p->win_lo == 0 && p->win_hi == UINT64_MAX)
        return; /* (the default base) */
    if (p->win_lo >= p->win_hi || p->win_hi - p->win_lo < p->image_size)
        return; /* (the check below names the bounds) */
    uint64_t mid = p->win_lo + (p->win_hi - p->win_lo - p->image_size) / 2;
    uint64_t base = mid & ~(p->max_align - 1);
    if (base < p->win_lo)
        base += p->max_align;
    if (base && base + p->image_size <= p->win_hi)
        lk->fake_base = base;
}

/* Small images share pages with other modules (codemem/slab.h): every
 * class fits a piece, and the link runs (not link-only, not saved). */
static int shared_fits(const ej_linker *lk)
{
    const ej__plan *p = &lk->plan;
    /* (perf reads its map of JIT code only for anonymous memory, and the
     * shared code is a memory file's.) */
    if (lk->fake_base || lk->saving || !ej__codemem_shared_wanted(lk->code_memory) ||
        (lk->registration & EJ_REGISTER_PERF_MAP))
        return 0;
    size_t max = ej__slab_max_piece();
    for (int c = 0; c < EJ_CLS_COUNT; c++)
        if (p->cls_used[c] > max || p->cls_align[c] > max)
            return 0;
    /* Data and .bss share one piece. */
    return ej__align_up(p->cls_used[EJ_CLS_DATA], p->cls_align[EJ_CLS_BSS]) +
               p->cls_used[EJ_CLS_BSS] <= max;
}

static ej_status reserve(ej_linker *lk, ej__codemem *cm)
{
    const ej__plan *p = &lk->plan;
    lk->mem = cm;
    if (lk->saving)
        choose_save_base(lk);
    if (lk->fake_base) {
        if (lk->fake_base % p->max_align)
            return ej__fail(&lk->err, EJ_INVAL, "link-only base 0x%llx is not aligned to 0x%llx",
                            (unsigned long long)lk->fake_base, (unsigned long long)p->max_align);
        return ej__codemem_reserve_fake(cm, p->image_size, lk->fake_base, &lk->err);
    }
    if (p->win_lo >= p->win_hi || p->win_hi - p->win_lo < p->image_size)
        return ej__fail(&lk->err, EJ_RANGE, "cannot place the image (%llu bytes) where it reaches everything it refers to: %s; but %s",
                        (unsigned long long)p->image_size,
                        p->why_lo[0] ? p->why_lo : "no lower bound",
                        p->why_hi[0] ? p->why_hi : "no upper bound");
    ej__placement pl = {p->win_lo, p->win_hi, p->pref_lo, p->pref_hi, p->has_pref};
    /* (Where no arena can be placed in the window, the image gets its own
     * mapping, placed as below.) */
    if (shared_fits(lk) &&
        ej__codemem_reserve_shared(cm, p->image_size, p->cls_off, p->cls_used, p->cls_align,
                                   &pl, &lk->err) == EJ_OK)
        return EJ_OK;
    ej__err_clear(&lk->err);
    size_t align = p->max_align;
    if (p->cls_off[EJ_CLS_BSS] >= EJ_HUGE_IMAGE && align < EJ_HUGE_PAGE)
        align = EJ_HUGE_PAGE; /* so that huge pages cover it from its start */
    size_t size = p->image_size;
    if (align == EJ_HUGE_PAGE)
        size = ej__align_up(size, EJ_HUGE_PAGE);
    ej_status st = ej__codemem_reserve(cm, size, align, &pl,
                                       ej__codemem_choose(lk->code_memory), &lk->err);
    if (st != EJ_OK && (p->why_lo[0] || p->why_hi[0])) {
        /* One target often sets both bounds: name it once. */
        int same = strcmp(p->why_lo, p->why_hi) == 0;
        ej__err_prefix(&lk->err, "placing the image (%s%s%s)", p->why_lo[0] ? p->why_lo : p->why_hi,
                       p->why_lo[0] && p->why_hi[0] && !same ? "; " : "",
                       p->why_lo[0] && !same ? p->why_hi : "");
    }
    return st;
}

/* After the protections are final: every registrar the link asks for
 * (src/register), from the image description alone; undone in reverse by
 * ej__unregister_image.  The debugger view (symbols, DWARF) is dropped
 * once registered: the debugger's image holds its own copy. */
static ej_status register_module(ej_linker *lk, ej_module *m)
{
    return m->mem.link_only ? EJ_OK : ej__module_register(m, lk->registration, &lk->err);
}

/* The finished image's description (src/image): what the plan decided,
 * then the tables the later stages read. */
static ej_status build_image(ej_linker *lk, ej_module *m)
{
    const ej__plan *p = &lk->plan;
    ej__image *img = &m->img;
    img->machine = lk->arch->machine;
    img->view = ej__codemem_view(&m->mem);
    for (int c = 0; c < EJ_CLS_COUNT; c++) {
        img->cls_off[c] = p->cls_off[c];
        img->cls_size[c] = p->cls_size[c];
        img->cls_addr[c] = ej__vaddr(lk, p->cls_off[c]);
    }
    if (m->mem.shared) {
        /* Its classes lie apart, among other modules': what is looked up
         * by address is its code. */
        for (int c = 0; c < EJ_CLS_COUNT; c++)
            img->cls_size[c] = p->cls_used[c]; /* (the granules' tails are others') */
        img->vbase = img->cls_addr[EJ_CLS_TEXT];
        img->size = img->cls_size[EJ_CLS_TEXT];
        img->view = (const uint8_t *)(uintptr_t)img->vbase;
    }
    img->eh_addr = ej__vaddr(lk, p->eh_off);
    img->eh_size = p->eh_size;
    img->dso_handle = (void *)(uintptr_t)ej__vaddr(lk, p->dso_off);
    ej_status st = ej__module_exports(m, lk, &lk->err);
    if (st == EJ_OK)
        st = ej__module_initfini(m, lk, &lk->err);
    if (st == EJ_OK)
        st = ej__module_pcmap(m, lk, &lk->err);
    if (st == EJ_OK && !m->mem.link_only && (lk->registration & EJ_REGISTER_GDB)) {
        st = ej__image_symbols(img, lk, &lk->err);
        if (st == EJ_OK)
            st = ej__image_debug_info(img, lk, &lk->err);
    }
    return st;
}

/* An image saved ahead of time stands for the whole link (src/aot). */
static ej_status load_image(ej_linker *lk, ej_module **out)
{
    if (lk->nobjs || lk->narchives)
        return ej__fail(&lk->err, EJ_UNSUPPORTED, "%s: an image is loaded alone, not linked "
                        "with other objects or archives", lk->image->path);
    if (lk->saving)
        return ej__fail(&lk->err, EJ_STATE, "%s: already an image", lk->image->path);
    if (lk->fake_base)
        return ej__fail(&lk->err, EJ_UNSUPPORTED, "%s: an image is loaded to run: link-only "
                        "mode (ej_linker_set_base) does not apply", lk->image->path);
    return ej__aot_load(lk, lk->image, out);
}

EJ_API ej_status ej_linker_link(ej_linker *lk, ej_module **out)
{
    ej_status st;
    ej_module *m = NULL;
    if (!lk || !out)
        return lk ? ej__fail(&lk->err, EJ_INVAL, "ej_linker_link: NULL argument") : EJ_INVAL;
    *out = NULL;
    if (lk->linked)
        return ej__fail(&lk->err, EJ_STATE, "this linker has already linked");
    if (lk->nobjs == 0 && lk->narchives == 0 && !lk->image && !lk->cache)
        return ej__fail(&lk->err, EJ_STATE, "nothing to link: no objects were added");
    lk->linked = 1;
    ej__err_clear(&lk->err);
    if (lk->cache && !lk->saving)
        return ej__cache_link(lk, out);
    if (lk->image)
        return load_image(lk, out);
    if ((st = check_machine(lk)) != EJ_OK)
        return st;
    if ((st = plan_stages(lk)) != EJ_OK)
        return st;
    if (!(m = calloc(1, sizeof *m)))
        return ej__fail(&lk->err, EJ_NOMEM, "out of memory for the module");
    uint64_t t0 = ej__now_ns();
    if ((st = reserve(lk, &m->mem)) != EJ_OK)
        goto fail_module;
    ej__lap(&lk->stats, EJ_STAGE_RESERVE, &t0);
    stage_done("reserved", &m->mem);
    m->img.vbase = m->mem.v;
    m->img.size = m->mem.size;
    /* Everything but .bss is about to be written; .bss stays demand-zero.
     * Unless alignment padding is most of it (a hostile object can ask for
     * 1 GiB alignment): then only the pages written are faulted in. */
    uint64_t span = lk->plan.cls_off[EJ_CLS_BSS];
    if (span <= 2 * lk->plan.filled + ((uint64_t)1 << 20))
        ej__codemem_prefault(&m->mem, 0, span);
    ej__assign_addresses(lk);
    if ((st = ej__copy_sections(lk, m->mem.w)) != EJ_OK)
        goto fail_mapped;
    /* Thread-local storage before relocation: the code's offsets and
     * slots come from the C library (tls.c). */
    if ((st = ej__tls_bind(lk, m->mem.w, m->img.vbase, &m->tls)) != EJ_OK)
        goto fail_mapped;
    ej__lap(&lk->stats, EJ_STAGE_COPY, &t0);
    if ((st = ej__relocate(lk, m->mem.w, m->img.vbase)) != EJ_OK)
        goto fail_mapped;
    ej__lap(&lk->stats, EJ_STAGE_RELOCATE, &t0);
    stage_done("relocated", &m->mem);
    /* Published before its description is built: the trap tables and
     * address maps are read where they stay (shared code memory copies
     * the image out of its staging copy at publish).  Nothing can reach
     * the code before this returns, and a failure unmaps it. */
    if ((st = ej__codemem_publish_classes(&m->mem, lk->plan.cls_off, lk->plan.cls_size,
                                              &lk->err)) != EJ_OK)
        goto fail_mapped;
    ej__lap(&lk->stats, EJ_STAGE_PUBLISH, &t0);
    stage_done("published", &m->mem);
    if ((st = build_image(lk, m)) != EJ_OK)
        goto fail_mapped;
    if ((st = register_module(lk, m)) != EJ_OK)
        goto fail_mapped;
    ej__lap(&lk->stats, EJ_STAGE_REGISTER, &t0);
    ej__codemem_done(&m->mem);
    *out = m;
    return EJ_OK;
fail_mapped:
    lk->mem = NULL;
    ej__codemem_release(&m->mem);
    ej__tls_module_unload(m->tls);
fail_module:
    ej__image_free(&m->img);
    free(m);
    return st;
}
