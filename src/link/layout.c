/* The layout stage: which sections are loaded, in which permission class,
 * at which offset.  Classes are page aligned so each can get its own
 * protection: text (+ stubs) RX, read-only data (+ GOT, __dso_handle) R,
 * data RW, bss RW.  Sections named as C identifiers are kept together so
 * __start_NAME/__stop_NAME bracket all of them. */
#include <stdlib.h>
#include <string.h>

#include "link/linker.h"
#include "link/synth.h"

/* Sections and commons are at most 1 TiB each (validate.c), and the
 * running offset is checked against this after every step, so no sum in
 * the layout can overflow. */
#define MAX_IMAGE ((uint64_t)1 << 46)

int ej__section_class(const ej__section *s, const ej__lsec *l)
{
    const GElf_Shdr *h = &s->shdr;
    /* An SHT_NULL header is inactive whatever its other fields say (and
     * has no contents in the file: a fuzzer's 256 MiB "allocated" one was
     * laid out and faulted in). */
    if (!(h->sh_flags & SHF_ALLOC) || l->discarded || h->sh_type == SHT_NULL)
        return -1;
    /* Notes are not part of a loaded image; TLS templates form the TLS
     * block, apart from it (tls.c). */
    if (h->sh_type == SHT_NOTE || h->sh_type == SHT_GROUP)
        return -1;
    if (h->sh_flags & SHF_TLS)
        return EJ_CLS_TLS;
    if (h->sh_type == SHT_NOBITS)
        return EJ_CLS_BSS;
    if (h->sh_flags & SHF_EXECINSTR)
        return EJ_CLS_TEXT;
    return (h->sh_flags & SHF_WRITE) ? EJ_CLS_DATA : EJ_CLS_RODATA;
}

void ej__select_sections(ej_linker *lk)
{
    for (size_t o = 0; o < lk->nobjs; o++) {
        ej__lobj *lo = &lk->objs[o];
        for (size_t i = 1; i < lo->o->shnum; i++)
            lo->sec[i].cls = ej__section_class(&lo->o->sec[i], &lo->sec[i]);
    }
}

static ej_status too_large(ej_linker *lk)
{
    return ej__fail(&lk->err, EJ_RANGE, "the image would exceed %llu bytes",
                    (unsigned long long)MAX_IMAGE);
}

/* Section S (link state L) at the first offset from OFF its alignment
 * allows; returns where it ends. */
static uint64_t place(ej_linker *lk, const ej__section *s, ej__lsec *l, uint64_t off)
{
    uint64_t align = s->shdr.sh_addralign ? s->shdr.sh_addralign : 1;
    if (align > lk->plan.max_align)
        lk->plan.max_align = align;
    if (align > lk->plan.cls_align[lk->plan.cur_cls])
        lk->plan.cls_align[lk->plan.cur_cls] = align;
    l->off = ej__align_up(off, align);
    if (s->shdr.sh_type != SHT_NOBITS)
        lk->plan.filled += s->size;
    return l->off + s->size;
}

static ej_status add_group(ej_linker *lk, const char *name, uint64_t start, uint64_t end)
{
    ej__plan *p = &lk->plan;
    ej__secgroup *g = realloc(p->groups, (p->ngroups + 1) * sizeof *g);
    if (!g)
        return ej__fail(&lk->err, EJ_NOMEM, "out of memory laying out sections");
    p->groups = g;
    g[p->ngroups++] = (ej__secgroup){name, start, end};
    return EJ_OK;
}

static int grouped(const ej__section *s)
{
    return ej__is_c_identifier(s->name);
}

/* Places every identifier-named section of class CLS, one name at a time. */
static ej_status place_groups(ej_linker *lk, int cls, uint64_t *off)
{
    for (size_t o = 0; o < lk->nobjs; o++)
        for (size_t i = 1; i < lk->objs[o].o->shnum; i++) {
            const ej__section *s = &lk->objs[o].o->sec[i];
            const ej__lsec *l = &lk->objs[o].sec[i];
            if (l->cls != cls || !grouped(s) || l->off != UINT64_MAX)
                continue;
            uint64_t start = UINT64_MAX, end = *off;
            for (size_t o2 = o; o2 < lk->nobjs; o2++)
                for (size_t i2 = 1; i2 < lk->objs[o2].o->shnum; i2++) {
                    const ej__section *t = &lk->objs[o2].o->sec[i2];
                    ej__lsec *tl = &lk->objs[o2].sec[i2];
                    if (tl->cls != cls || tl->off != UINT64_MAX || strcmp(t->name, s->name))
                        continue;
                    if ((end = place(lk, t, tl, end)) > MAX_IMAGE)
                        return too_large(lk);
                    if (start == UINT64_MAX)
                        start = tl->off;
                }
            ej_status st = add_group(lk, s->name, start, end);
            if (st != EJ_OK)
                return st;
            *off = end;
        }
    return EJ_OK;
}

static int is_eh_frame(const ej__section *s)
{
    return strcmp(s->name, ".eh_frame") == 0;
}

/* Every .eh_frame of class CLS end to end (compilers pad their records to
 * the section's alignment, so nothing separates them), then a zero
 * terminator: the unwinder registers them as one table. */
static ej_status place_eh_frames(ej_linker *lk, int cls, uint64_t *off)
{
    ej__plan *p = &lk->plan;
    uint64_t start = UINT64_MAX;
    for (size_t o = 0; o < lk->nobjs; o++)
        for (size_t i = 1; i < lk->objs[o].o->shnum; i++) {
            const ej__section *s = &lk->objs[o].o->sec[i];
            ej__lsec *l = &lk->objs[o].sec[i];
            if (l->cls != cls || !is_eh_frame(s))
                continue;
            if ((*off = place(lk, s, l, *off)) > MAX_IMAGE)
                return too_large(lk);
            if (start == UINT64_MAX)
                start = l->off;
        }
    if (start == UINT64_MAX)
        return EJ_OK;
    /* (A compiler that made .eh_frame writable in some objects and not in
     * others gets two tables; the first is the one registered.) */
    if (!p->eh_size) {
        p->eh_off = start;
        p->eh_size = *off - start;
    }
    *off += 4; /* the terminator: the image is zero-filled */
    return EJ_OK;
}

static ej_status place_class(ej_linker *lk, int cls, uint64_t *off)
{
    for (size_t o = 0; o < lk->nobjs; o++)
        for (size_t i = 1; i < lk->objs[o].o->shnum; i++) {
            const ej__section *s = &lk->objs[o].o->sec[i];
            ej__lsec *l = &lk->objs[o].sec[i];
            if (l->cls != cls)
                continue;
            l->off = UINT64_MAX;
            if (!grouped(s) && !is_eh_frame(s) && (*off = place(lk, s, l, *off)) > MAX_IMAGE)
                return too_large(lk);
        }
    ej_status st = place_groups(lk, cls, off);
    return st == EJ_OK ? place_eh_frames(lk, cls, off) : st;
}

/* The loader's own pieces at the end of their class. */
static ej_status place_extras(ej_linker *lk, int cls, uint64_t *off)
{
    ej__plan *p = &lk->plan;
    const ej__arch *a = lk->arch;
    if (cls == EJ_CLS_TEXT && p->nstub) {
        p->stub_off = ej__align_up(*off, a->stub_align);
        if (a->stub_align > p->cls_align[cls])
            p->cls_align[cls] = a->stub_align;
        *off = p->stub_off + (uint64_t)p->nstub * a->stub_size;
    } else if (cls == EJ_CLS_RODATA) {
        p->got_off = ej__align_up(*off, a->got_entry_size);
        *off = p->got_off + (uint64_t)p->ngot * a->got_entry_size;
        /* The TLS table (slots, pairs, descriptors: tls.c). */
        if (lk->tls.table_size) {
            p->tls_off = ej__align_up(*off, 16);
            *off = p->tls_off + lk->tls.table_size;
        }
        p->dso_off = ej__align_up(*off, 8);
        if (p->cls_align[cls] < (lk->tls.table_size ? 16 : 8))
            p->cls_align[cls] = lk->tls.table_size ? 16 : 8;
        *off = p->dso_off + 8;
    } else if (cls == EJ_CLS_BSS) {
        for (size_t i = 0; i < lk->ncommons; i++) {
            ej__sym *c = lk->commons[i];
            uint64_t align = c->value; /* see resolve.c */
            if (align > p->max_align)
                p->max_align = align;
            if (align > p->cls_align[cls])
                p->cls_align[cls] = align;
            c->value = ej__align_up(*off, align);
            if ((*off = c->value + c->size) > MAX_IMAGE)
                return too_large(lk);
        }
    }
    return *off > MAX_IMAGE ? too_large(lk) : EJ_OK;
}

static ej_status collect_commons(ej_linker *lk)
{
    ej__symtab_iter it = ej__symtab_begin(&lk->globals);
    for (ej__sym *e; (e = ej__symtab_next(&it));) {
        if (e->kind != EJ_SK_COMMON)
            continue;
        ej__sym **c = realloc(lk->commons, (lk->ncommons + 1) * sizeof *c);
        if (!c)
            return ej__fail(&lk->err, EJ_NOMEM, "out of memory for common symbols");
        lk->commons = c;
        c[lk->ncommons++] = e;
    }
    return EJ_OK;
}

ej_status ej__layout(ej_linker *lk, size_t page)
{
    ej__plan *p = &lk->plan;
    uint64_t off = 0;
    ej_status st = collect_commons(lk);
    if (st != EJ_OK)
        return st;
    p->max_align = page;
    if ((st = ej__tls_layout(lk)) != EJ_OK)
        return st;
    for (int cls = 0; cls < EJ_CLS_COUNT; cls++) {
        off = ej__align_up(off, page);
        p->cls_off[cls] = off;
        p->cur_cls = cls;
        p->cls_align[cls] = 1;
        if ((st = place_class(lk, cls, &off)) != EJ_OK)
            return st;
        if ((st = place_extras(lk, cls, &off)) != EJ_OK)
            return st;
        p->cls_used[cls] = off - p->cls_off[cls];
        p->cls_size[cls] = ej__align_up(p->cls_used[cls], page);
    }
    p->image_size = ej__align_up(off, page);
    if (p->cls_off[EJ_CLS_DATA] > (uint64_t)1 << 31)
        return ej__fail(&lk->err, EJ_RANGE, "text and read-only data (%llu bytes) exceed the 2 GiB a 32-bit reference spans",
                        (unsigned long long)p->cls_off[EJ_CLS_DATA]);
    return EJ_OK;
}

static uint64_t synth_value(const ej_linker *lk, const ej__sym *e)
{
    const ej__plan *p = &lk->plan;
    switch (e->synth) {
    case EJ_SYN_GOT:
        return ej__vaddr(lk, p->got_off);
    case EJ_SYN_DSO_HANDLE:
        return ej__vaddr(lk, p->dso_off);
    case EJ_SYN_TLS_BASE:
        return 0; /* an offset in the TLS block, as every TLS symbol's value */
    case EJ_SYN_SEC_START:
    case EJ_SYN_SEC_STOP: {
        const char *name = e->name + (e->synth == EJ_SYN_SEC_START ? 8 : 7);
        for (size_t i = 0; i < p->ngroups; i++)
            if (strcmp(p->groups[i].name, name) == 0)
                return ej__vaddr_end(lk, p->groups[i].start, e->synth == EJ_SYN_SEC_START
                                                                 ? 0
                                                                 : p->groups[i].end -
                                                                       p->groups[i].start);
        return 0;
    }
    default:
        return 0;
    }
}

/* Where section I of LO starts: an address, or for a TLS section an
 * offset in the TLS block (a TLS symbol's value is that offset). */
static uint64_t section_base(const ej_linker *lk, const ej__lobj *lo, size_t i)
{
    return lo->sec[i].cls == EJ_CLS_TLS ? lo->sec[i].off : ej__vaddr(lk, lo->sec[i].off);
}

/* The address of local I of LO, which has no entry (resolve.c). */
static uint64_t local_value(const ej_linker *lk, const ej__lobj *lo, size_t i)
{
    const ej__object *obj = lo->o;
    uint32_t shndx = ej__object_sym_shndx(obj, i);
    uint64_t v = obj->syms[i].st_value;
    if (shndx == SHN_ABS)
        return v;
    if (shndx == SHN_UNDEF || shndx >= obj->shnum || lo->sec[shndx].discarded ||
        !ej__sec_loaded(lo, shndx))
        return EJ_LVALUE_DISCARDED; /* the scan refused every use but tables' */
    return section_base(lk, lo, shndx) + v;
}

/* Turns section-relative values into addresses.  Runs exactly once: each
 * global is visited once through the table, each local through its
 * object. */
void ej__assign_addresses(ej_linker *lk)
{
    ej__symtab_iter it = ej__symtab_begin(&lk->globals);
    for (ej__sym *e; (e = ej__symtab_next(&it));) {
        if (e->kind == EJ_SK_SECTION)
            e->value += section_base(lk, e->obj, e->shndx);
        else if (e->kind == EJ_SK_COMMON)
            e->value = ej__vaddr(lk, e->value);
        else if (e->kind == EJ_SK_IMAGE)
            e->value = synth_value(lk, e);
    }
    for (size_t o = 0; o < lk->nobjs; o++) {
        ej__lobj *lo = &lk->objs[o];
        for (size_t i = 1; i < lo->o->nsyms; i++) {
            ej__sym *e = lo->symp[i];
            if (e && !e->is_global && e->kind == EJ_SK_SECTION)
                e->value += section_base(lk, lo, e->shndx);
            if (!e)
                lo->lvalue[i] = local_value(lk, lo, i);
        }
    }
}
