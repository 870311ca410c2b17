/* The scan stage: one pass over the relocations of every loaded section,
 * before layout, to count GOT slots and stubs (each symbol gets at most one
 * of each) and to collect where the image may be placed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "link/linker.h"

/* Slack for addends and for the image's own extent inside a window. */
#define MARGIN EJ_REACH_MARGIN

void ej__site_name(const ej__object *obj, size_t rsec, const Elf64_Rela *r,
                   char *buf, size_t len)
{
    const ej__section *t = &obj->sec[obj->sec[rsec].shdr.sh_info];
    snprintf(buf, len, "%s: %s+0x%llx", obj->name, t->name,
             (unsigned long long)r->r_offset);
}

static int push_sym(ej__sym ***arr, size_t *n, ej__sym *s)
{
    if ((*n & (*n - 1)) == 0) { /* grow at powers of two */
        ej__sym **a = realloc(*arr, (*n ? *n * 2 : 8) * sizeof **arr);
        if (!a)
            return -1;
        *arr = a;
    }
    (*arr)[(*n)++] = s;
    return 0;
}

static int is_external(const ej__sym *s)
{
    return s->kind == EJ_SK_HOST || s->kind == EJ_SK_ABS;
}

static int in_image(const ej__sym *s)
{
    return s->kind == EJ_SK_SECTION || s->kind == EJ_SK_COMMON || s->kind == EJ_SK_IMAGE;
}

/* Where a relocation is, kept unformatted: a message is only written
 * when a bound actually moves. */
typedef struct site_ref {
    const ej__object *obj;
    size_t r;
    const Elf64_Rela *rel;
    const char *type;
} site_ref;

/* "2 GiB", "64 KiB", "4 GiB": a power-of-two-ish size for messages. */
static void size_text(char *buf, size_t len, uint64_t v)
{
    static const char *const units[] = {"bytes", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    while (u < 4 && v >= 1024 && v % 1024 == 0) {
        v /= 1024;
        u++;
    }
    snprintf(buf, len, "%llu %s", (unsigned long long)v, units[u]);
}

static void explain_near(char *why, size_t len, const site_ref *at, const ej__sym *s,
                         const ej__reloc_info *info)
{
    char site[512], lo[32], hi[32];
    ej__site_name(at->obj, at->r, at->rel, site, sizeof site);
    size_text(lo, sizeof lo, (uint64_t)-info->min);
    size_text(hi, sizeof hi, (uint64_t)info->max + 1);
    if (strcmp(lo, hi) == 0)
        snprintf(why, len, "%s: %s against '%s' at 0x%llx (+/-%s)", site, at->type, s->name,
                 (unsigned long long)s->value, lo);
    else
        snprintf(why, len, "%s: %s against '%s' at 0x%llx (-%s/+%s)", site, at->type, s->name,
                 (unsigned long long)s->value, lo, hi);
}

void ej__reach_window(const ej__reloc_info *info, uint64_t S, uint64_t *lo, uint64_t *hi)
{
    uint64_t below = (uint64_t)info->max, above = (uint64_t)-info->min;
    below = below > MARGIN ? below - MARGIN : 0;
    above = above > MARGIN ? above - MARGIN : 0;
    *lo = S > below ? S - below : 0;
    *hi = S + above < S ? UINT64_MAX : S + above;
}

/* A reference that must reach S PC-relatively: every image byte within
 * the field's reach of it. */
static void need_near(ej__plan *p, const ej__sym *s, const site_ref *at,
                      const ej__reloc_info *info)
{
    uint64_t lo, hi;
    ej__reach_window(info, s->value, &lo, &hi);
    if (lo > p->win_lo) {
        p->win_lo = lo;
        explain_near(p->why_lo, sizeof p->why_lo, at, s, info);
    }
    if (hi < p->win_hi) {
        p->win_hi = hi;
        explain_near(p->why_hi, sizeof p->why_hi, at, s, info);
    }
}

/* An absolute field of INFO holding an image address: the image below
 * its maximum (the minimum is never above 0). */
static void need_low(ej__plan *p, const site_ref *at, const ej__reloc_info *info)
{
    uint64_t limit = (uint64_t)info->max + 1;
    if (limit < p->win_hi) {
        char site[512], size[32];
        ej__site_name(at->obj, at->r, at->rel, site, sizeof site);
        size_text(size, sizeof size, limit);
        p->win_hi = limit;
        snprintf(p->why_hi, sizeof p->why_hi, "%s: %s needs the image below %s", site,
                 at->type, size);
    }
}

static void prefer_near(ej__plan *p, const ej__sym *s, const ej__reloc_info *info)
{
    uint64_t lo, hi;
    ej__reach_window(info, s->value, &lo, &hi);
    if (!p->has_pref) {
        p->pref_lo = lo;
        p->pref_hi = hi;
        p->has_pref = 1;
        return;
    }
    /* Keep the preference only while one window can reach every target. */
    uint64_t nlo = lo > p->pref_lo ? lo : p->pref_lo;
    uint64_t nhi = hi < p->pref_hi ? hi : p->pref_hi;
    if (nlo + MARGIN < nhi) {
        p->pref_lo = nlo;
        p->pref_hi = nhi;
    }
}

static ej_status unsupported(ej_linker *lk, const char *site, const ej__reloc_info *info,
                             const ej__sym *s, const char *why)
{
    return ej__fail(&lk->err, EJ_UNSUPPORTED, "%s: %s against '%s': %s", site,
                    info->name, s->name, why);
}

/* Whether a branch to S may go through a stub. */
static int stub_allowed(ej__sym *s, unsigned needs)
{
    if (!is_external(s))
        return 0;
    if (needs & EJ_RN_CALL)
        return 1;
    if ((needs & EJ_RN_PLACE_PC) && s->kind == EJ_SK_HOST) {
        if (!s->host_func)
            s->host_func = ej__host_is_function((const void *)(uintptr_t)s->value) ? 1 : 2;
        return s->host_func == 1;
    }
    return 0;
}

/* Most relocations name a local symbol of a loaded section (often the
 * section symbol itself) and need neither a slot nor a placement bound:
 * answer that from the symbol table alone. */
static int local_needs_nothing(const ej__lobj *lo, size_t symi, unsigned needs)
{
    return lo->lplain[symi] &&
           !(needs & (EJ_RN_TLS | EJ_RN_DYNAMIC | EJ_RN_GOT | EJ_RN_PLACE_ABS));
}

/* The same for a global defined in a loaded section of the image. */
static int global_needs_nothing(const ej__sym *s, unsigned needs)
{
    return s && s->kind == EJ_SK_SECTION &&
           !(needs & (EJ_RN_TLS | EJ_RN_DYNAMIC | EJ_RN_GOT | EJ_RN_PLACE_ABS)) &&
           s->type != STT_TLS && s->type != STT_GNU_IFUNC && ej__sec_loaded(s->obj, s->shndx);
}

static ej_status scan_one(ej_linker *lk, ej__lobj *lo, size_t r, const Elf64_Rela *rel)
{
    const ej__object *obj = lo->o;
    ej__plan *p = &lk->plan;
    uint32_t type = (uint32_t)ELF64_R_TYPE(rel->r_info);
    const ej__reloc_info *info = ej__reloc_info_of(obj->arch, type);
    size_t symi = ELF64_R_SYM(rel->r_info);
    ej__sym *s = lo->symp[symi], local;
    char site[512];
    unsigned needs = info->needs;
    if (!s) {
        ej__describe_local(lo, symi, &local);
        s = &local;
    }
    if (needs & EJ_RN_DYNAMIC) {
        ej__site_name(obj, r, rel, site, sizeof site);
        return unsupported(lk, site, info, s,
                           "a dynamic relocation is not valid in a relocatable object");
    }
    if (s->type == STT_GNU_IFUNC && in_image(s)) {
        ej__site_name(obj, r, rel, site, sizeof site);
        return unsupported(lk, site, info, s, "GNU indirect functions (STT_GNU_IFUNC) are not supported yet");
    }
    if (s->kind == EJ_SK_SECTION && !ej__sec_loaded(s->obj, s->shndx)) {
        ej__site_name(obj, r, rel, site, sizeof site);
        return ej__fail(&lk->err, EJ_RELOC, "%s: %s against '%s': the symbol is in %s, which is not loaded",
                        site, info->name, s->name, s->obj->o->sec[s->shndx].name);
    }
    if (s->kind == EJ_SK_UNDEF) {
        ej__site_name(obj, r, rel, site, sizeof site);
        return ej__fail(&lk->err, EJ_UNDEFINED, "%s: undefined local symbol '%s'", site, s->name);
    }
    if ((needs & EJ_RN_TLS) || s->type == STT_TLS) {
        /* A thread-local local gets an entry of its own (they are few):
         * its uses are recorded on it. */
        if (s == &local && s->kind == EJ_SK_SECTION) {
            if (!(s = ej__symtab_alloc(&lk->local_pool)))
                return ej__fail(&lk->err, EJ_NOMEM, "out of memory for thread-local symbols");
            *s = local;
            lo->symp[symi] = s;
        }
        return ej__tls_scan(lk, lo, r, rel, s, info);
    }
    if (needs & EJ_RN_GOTBASE)
        p->need_got = 1;
    int stub = stub_allowed(s, needs);
    if (((needs & EJ_RN_GOT) || stub) && s == &local) {
        /* A local that needs a slot gets an entry of its own. */
        if (!(s = ej__symtab_alloc(&lk->local_pool)))
            return ej__fail(&lk->err, EJ_NOMEM, "out of memory counting GOT slots");
        *s = local;
        lo->symp[symi] = s;
    }
    if (((needs & EJ_RN_GOT) || stub) && !s->got) {
        if (push_sym(&p->got_syms, &p->ngot, s) != 0)
            return ej__fail(&lk->err, EJ_NOMEM, "out of memory counting GOT slots");
        s->got = (uint32_t)p->ngot;
    }
    if (stub && !s->stub) {
        if (push_sym(&p->stub_syms, &p->nstub, s) != 0)
            return ej__fail(&lk->err, EJ_NOMEM, "out of memory counting stubs");
        s->stub = (uint32_t)p->nstub;
    }
    if ((needs & EJ_RN_SIZE) && s->kind == EJ_SK_HOST && !s->size)
        s->size = ej__host_symbol_size((const void *)(uintptr_t)s->value);
    /* A stub makes reaching a call target optional (near is only faster);
     * data must be reached directly. */
    site_ref at = {obj, r, rel, info->name};
    if (is_external(s) && (needs & EJ_RN_PLACE_PC)) {
        if (!stub)
            need_near(p, s, &at, info);
        else if (s->kind == EJ_SK_HOST)
            prefer_near(p, s, info);
    }
    if ((needs & EJ_RN_PLACE_ABS) && in_image(s))
        need_low(p, &at, info);
    return EJ_OK;
}

ej_status ej__scan_relocs(ej_linker *lk)
{
    lk->plan.win_lo = 0;
    lk->plan.win_hi = UINT64_MAX;
    for (size_t o = 0; o < lk->nobjs; o++) {
        ej__lobj *lo = &lk->objs[o];
        const ej__object *obj = lo->o;
        for (size_t r = 1; r < obj->shnum; r++) {
            if (obj->sec[r].shdr.sh_type != SHT_RELA || !ej__sec_loaded(lo, obj->sec[r].shdr.sh_info))
                continue;
            size_t n;
            const Elf64_Rela *rel = ej__object_relas(obj, r, &n);
            for (size_t k = 0; k < n; k++) {
                /* The common case inline; scan_one for anything else. */
                unsigned needs = obj->arch->infos[ELF64_R_TYPE(rel[k].r_info)].needs;
                size_t symi = ELF64_R_SYM(rel[k].r_info);
                const ej__sym *s = lo->symp[symi];
                if (s ? global_needs_nothing(s, needs) : local_needs_nothing(lo, symi, needs))
                    continue;
                ej_status st = scan_one(lk, lo, r, &rel[k]);
                if (st != EJ_OK)
                    return st;
            }
        }
    }
    return EJ_OK;
}
