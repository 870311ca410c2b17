/* The relocation stage: copy section contents into the image, apply every
 * relocation through the architecture backend, then fill the GOT and the
 * stubs.  Nothing is written before its range is checked (the backend's
 * contract), and the first failure stops the stage with a message naming
 * object, section, offset, type, symbol, value and range. */
#include <inttypes.h>
#include <string.h>

#include "link/linker.h"

ej_status ej__copy_sections(ej_linker *lk, uint8_t *wbase)
{
    for (size_t o = 0; o < lk->nobjs; o++) {
        ej__lobj *lo = &lk->objs[o];
        ej__object *obj = lo->o;
        for (size_t i = 1; i < obj->shnum; i++) {
            const uint8_t *data;
            uint64_t size;
            if (!ej__sec_loaded(lo, i) || obj->sec[i].shdr.sh_type == SHT_NOBITS ||
                lo->sec[i].cls == EJ_CLS_TLS)
                continue;
            ej_status st = ej__object_section_data(obj, i, &data, &size, &lk->err);
            if (st != EJ_OK)
                return st;
            memcpy(wbase + lo->sec[i].off, data, size);
        }
    }
    return EJ_OK;
}

static ej_status reloc_failed(ej_linker *lk, const ej__lobj *lo, size_t r,
                              const Elf64_Rela *rel, const ej__reloc_info *info,
                              const ej__reloc_site *site, const ej__reloc_fail *f)
{
    char where[512];
    const ej__object *obj = lo->o;
    size_t symi = ELF64_R_SYM(rel->r_info);
    const char *name = lo->symp[symi] ? lo->symp[symi]->name : ej__object_sym_name(obj, symi);
    ej__site_name(obj, r, rel, where, sizeof where);
    if (!f->has_range)
        return ej__fail(&lk->err, EJ_RELOC, "%s: %s against '%s': %s", where,
                        info->name, name, f->why ? f->why : "cannot apply");
    if (info->needs & EJ_RN_SIZE)
        return ej__fail(&lk->err, EJ_RANGE,
                        "%s: %s against '%s': value 0x%" PRIx64 " out of range [%" PRId64 ", %" PRId64
                        "] (symbol size 0x%" PRIx64 ", addend %" PRId64 ")",
                        where, info->name, name, f->value, f->min, f->max, site->Z, site->A);
    return ej__fail(&lk->err, EJ_RANGE,
                    "%s: %s against '%s': value 0x%" PRIx64 " out of range [%" PRId64 ", %" PRId64
                    "] (target 0x%" PRIx64 ", place 0x%" PRIx64 ")",
                    where, info->name, name, f->value, f->min, f->max,
                    site->S + (uint64_t)site->A, site->P);
}

enum { SITE_OK, SITE_SKIP, SITE_FAIL };

/* Fills SITE for relocation REL of rela section R (target T), except type,
 * place and section end, which the caller sets.  Returns SITE_SKIP for a
 * table entry describing a discarded COMDAT copy (.eh_frame keeps its
 * original bytes there) and SITE_FAIL when code refers to one. */
static inline __attribute__((always_inline)) int fill_symbol(const ej_linker *lk, const ej__lobj *lo, const ej__section *t,
                       const Elf64_Rela *rel, uint64_t vbase, unsigned needs, ej__reloc_site *site)
{
    const ej__plan *p = &lk->plan;
    const ej__arch *a = lo->o->arch;
    size_t symi = ELF64_R_SYM(rel->r_info);
    const ej__sym *s = lo->symp[symi];
    int discarded;
    site->A = rel->r_addend;
    site->pair = NULL;
    if (!s) {
        /* A local without an entry (see resolve.c). */
        site->G = site->L = 0;
        site->S = lo->lvalue[symi];
        discarded = site->S == EJ_LVALUE_DISCARDED;
        /* Only size relocations read Z: skip the symbol table otherwise. */
        site->Z = (needs & EJ_RN_SIZE) ? lo->o->syms[symi].st_size : 0;
    } else {
        discarded = s->kind == EJ_SK_DISCARDED;
        site->S = s->value;
        site->Z = s->size;
        site->G = s->got ? ej__vaddr(lk, p->got_off + (uint64_t)(s->got - 1) * a->got_entry_size) : 0;
        site->L = s->stub ? ej__vaddr(lk, p->stub_off + (uint64_t)(s->stub - 1) * a->stub_size) : 0;
    }
    if (!discarded)
        return SITE_OK;
    return (t->shdr.sh_flags & SHF_EXECINSTR) ? SITE_FAIL : SITE_SKIP;
}

/* Whether relocation R can be the high part of a pair: not itself a low
 * part, and not a marker (zero width: RISC-V's RELAX sits at the same
 * offset as the high part it marks). */
static int is_high_part(const Elf64_Rela *r, const ej__arch *a)
{
    const ej__reloc_info *info = ej__reloc_info_of(a, (uint32_t)ELF64_R_TYPE(r->r_info));
    return info && info->width && !(info->needs & EJ_RN_PAIR_LO);
}

/* The relocation whose place is at offset OFF of the section, for a
 * PAIR_LO relocation.  Relocations are sorted by offset in practice:
 * search back from K first, then forward. */
static const Elf64_Rela *find_pair(const Elf64_Rela *rel, size_t n, size_t k, uint64_t off,
                                   const ej__arch *a)
{
    for (size_t i = k + 1; i-- > 0;)
        if (rel[i].r_offset == off && is_high_part(&rel[i], a))
            return &rel[i];
    for (size_t i = k + 1; i < n; i++)
        if (rel[i].r_offset == off && is_high_part(&rel[i], a))
            return &rel[i];
    return NULL;
}

/* What cannot be applied to debug sections, where relocation is best
 * effort (see ej__relocate_debug). */
#define DEBUG_SKIPS (EJ_RN_TLS | EJ_RN_DYNAMIC | EJ_RN_GOT | EJ_RN_PAIR_LO)

/* Applies rela section R of OBJ to its target's bytes at WSEC, which run
 * at VSEC.  BEST_EFFORT (debug sections): relocations that cannot be
 * applied are left as assembled instead of failing the link. */
static ej_status apply_section(ej_linker *lk, const ej__lobj *lo, size_t r, uint8_t *wsec,
                               uint64_t vsec, uint64_t vbase, int best_effort)
{
    const ej__object *obj = lo->o;
    const ej__arch *a = obj->arch;
    const ej__section *t = &obj->sec[obj->sec[r].shdr.sh_info];
    size_t n;
    const Elf64_Rela *rel = ej__object_relas(obj, r, &n);
    ej__reloc_site site = {.GOT = ej__vaddr(lk, lk->plan.got_off), .begin = wsec, .end = wsec + t->size};
    ej__reloc_site pair = site;
    ej__reloc_fail fail;
    uint64_t consumed = 0; /* the end of a relaxed TLS sequence */
    if (!best_effort)
        lk->stats.nrelocs += n;
    for (size_t k = 0; k < n; k++) {
        site.type = (uint32_t)ELF64_R_TYPE(rel[k].r_info);
        site.loc = wsec + rel[k].r_offset;
        site.P = vsec + rel[k].r_offset;
        if (site.P < consumed && site.P >= consumed - 16)
            continue; /* inside a sequence relaxed away (its call) */
        /* Validated when the object was read: the type is known (in a
         * loaded section; a debug section may name an unknown one). */
        const ej__reloc_info *info = best_effort ? ej__reloc_info_of(a, site.type)
                                                 : &a->infos[site.type];
        if (best_effort && (!info || (info->needs & DEBUG_SKIPS)))
            continue;
        int got = fill_symbol(lk, lo, t, &rel[k], vbase, info->needs, &site);
        if (got == SITE_SKIP || (got == SITE_FAIL && best_effort))
            continue;
        site.IE = 0;
        if (info->needs & EJ_RN_TLS)
            ej__tls_site(lk, lo->symp[ELF64_R_SYM(rel[k].r_info)], info->needs, &site);
        fail.why = NULL;
        fail.has_range = 0;
        fail.consumed = 0;
        if (got == SITE_FAIL) {
            fail.why = "refers to a discarded COMDAT section";
            return reloc_failed(lk, lo, r, &rel[k], info, &site, &fail);
        }
        if (info->needs & EJ_RN_PAIR_LO) {
            /* The symbol labels the high part's place. */
            uint64_t off = site.S + (uint64_t)site.A - vsec;
            const Elf64_Rela *hi = find_pair(rel, n, k, off, a);
            if (!hi || fill_symbol(lk, lo, t, hi, vbase,
                                   ej__reloc_info_of(a, (uint32_t)ELF64_R_TYPE(hi->r_info))->needs,
                                   &pair) != SITE_OK) {
                fail.why = "no matching high-part relocation at the place its symbol labels";
                return reloc_failed(lk, lo, r, &rel[k], info, &site, &fail);
            }
            pair.type = (uint32_t)ELF64_R_TYPE(hi->r_info);
            unsigned hneeds = ej__reloc_info_of(a, pair.type)->needs;
            if (hneeds & EJ_RN_TLS)
                ej__tls_site(lk, lo->symp[ELF64_R_SYM(hi->r_info)], hneeds, &pair);
            pair.loc = wsec + hi->r_offset;
            pair.P = vsec + hi->r_offset;
            site.pair = &pair;
        }
        int kind = 0;
        if (lk->saving && !best_effort) {
            const ej__sym *s = lo->symp[ELF64_R_SYM(rel[k].r_info)];
            kind = ej__fixup_kind_of(lo, ELF64_R_SYM(rel[k].r_info), s);
            /* (A call out of the image goes through its stub: see fixups.c.) */
            if (kind != EJ_FX_IMAGE && (info->needs & EJ_RN_CALL) && site.L) {
                site.S = site.L;
                kind = EJ_FX_IMAGE;
            }
        }
        ej_status applied = a->handlers[site.type](&site, &fail);
        if (applied != EJ_OK && !best_effort)
            return reloc_failed(lk, lo, r, &rel[k], info, &site, &fail);
        if (applied == EJ_OK && lk->dwarf_sink && info->width == 8 && (info->needs & EJ_RN_ABSADDR))
            ej__dwarf_note_addr(lk, lo, ELF64_R_SYM(rel[k].r_info), site.loc);
        if (fail.consumed)
            consumed = fail.consumed;
        if (lk->saving && !best_effort) {
            const ej__sym *s = lo->symp[ELF64_R_SYM(rel[k].r_info)];
            ej__fixup_from from = {lo, r, &rel[k]};
            ej_status st = (info->needs & EJ_RN_TLS)
                ? ej__fixup_tls(lk, &from, info, &site, s, vbase)
                : ej__fixup_site(lk, &from, info, &site, kind,
                                 s ? s->name : ej__object_sym_name(obj, ELF64_R_SYM(rel[k].r_info)),
                                 s && !s->strong_ref, vbase);
            if (st != EJ_OK)
                return st;
        }
    }
    return EJ_OK;
}

static ej_status fill_got_and_stubs(ej_linker *lk, uint8_t *wbase, uint64_t vbase)
{
    const ej__plan *p = &lk->plan;
    const ej__arch *a = lk->arch;
    for (size_t i = 0; i < p->ngot; i++) {
        uint64_t off = p->got_off + i * a->got_entry_size;
        ej__put64(wbase + off, p->got_syms[i]->value);
        ej_status st = lk->saving ? ej__fixup_got(lk, off, p->got_syms[i], vbase) : EJ_OK;
        if (st != EJ_OK)
            return st;
    }
    for (size_t i = 0; i < p->nstub; i++) {
        uint64_t off = p->stub_off + i * a->stub_size;
        uint64_t slot = ej__vaddr(lk, p->got_off + (uint64_t)(p->stub_syms[i]->got - 1) * a->got_entry_size);
        a->write_stub(wbase + off, ej__vaddr(lk, off), slot);
    }
    return EJ_OK;
}

ej_status ej__relocate(ej_linker *lk, uint8_t *wbase, uint64_t vbase)
{
    ej_status st;
    for (size_t o = 0; o < lk->nobjs; o++) {
        const ej__lobj *lo = &lk->objs[o];
        const ej__object *obj = lo->o;
        for (size_t r = 1; r < obj->shnum; r++) {
            size_t t = obj->sec[r].shdr.sh_info;
            /* (The TLS block's initial image was relocated by tls.c.) */
            if (obj->sec[r].shdr.sh_type != SHT_RELA || !ej__sec_loaded(lo, t) ||
                lo->sec[t].cls == EJ_CLS_TLS)
                continue;
            uint64_t off = lo->sec[t].off;
            if ((st = apply_section(lk, lo, r, wbase + off, ej__vaddr(lk, off), vbase, 0)) != EJ_OK)
                return st;
        }
    }
    if ((st = fill_got_and_stubs(lk, wbase, vbase)) != EJ_OK)
        return st;
    return lk->saving ? ej__fixup_check_diffs(lk) : EJ_OK;
}

ej_status ej__relocate_section(ej_linker *lk, const ej__lobj *lo, size_t r, uint8_t *w,
                               uint64_t v, uint64_t vbase)
{
    return apply_section(lk, lo, r, w, v, vbase, 0);
}

void ej__relocate_debug(ej_linker *lk, ej__lobj *lo, size_t r, uint8_t *w, uint64_t v,
                        uint64_t vbase)
{
    apply_section(lk, lo, r, w, v, vbase, 1);
}
