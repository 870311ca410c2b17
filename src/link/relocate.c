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
        ej__object *obj = lk->objs[o];
        for (size_t i = 1; i < obj->shnum; i++) {
            const uint8_t *data;
            uint64_t size;
            if (!ej__sec_loaded(obj, i) || obj->sec[i].shdr.sh_type == SHT_NOBITS)
                continue;
            ej_status st = ej__object_section_data(obj, i, &data, &size, &lk->err);
            if (st != EJ_OK)
                return st;
            memcpy(wbase + obj->sec[i].off, data, size);
        }
    }
    return EJ_OK;
}

static ej_status reloc_failed(ej_linker *lk, ej__object *obj, size_t r,
                              const Elf64_Rela *rel, const ej__reloc_info *info,
                              const ej__reloc_site *site, const ej__reloc_fail *f)
{
    char where[512];
    size_t symi = ELF64_R_SYM(rel->r_info);
    const char *name = obj->symp[symi] ? obj->symp[symi]->name : ej__object_sym_name(obj, symi);
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

static ej_status apply_section(ej_linker *lk, ej__object *obj, size_t r,
                               uint8_t *wbase, uint64_t vbase)
{
    const ej__plan *p = &lk->plan;
    const ej__arch *a = obj->arch;
    const ej__section *t = &obj->sec[obj->sec[r].shdr.sh_info];
    size_t n;
    const Elf64_Rela *rel = ej__object_relas(obj, r, &n);
    ej__reloc_site site = {.GOT = vbase + p->got_off};
    lk->stats.nrelocs += n;
    for (size_t k = 0; k < n; k++) {
        size_t symi = ELF64_R_SYM(rel[k].r_info);
        const ej__sym *s = obj->symp[symi];
        ej__reloc_fail fail = {0};
        site.type = (uint32_t)ELF64_R_TYPE(rel[k].r_info);
        site.loc = wbase + t->off + rel[k].r_offset;
        site.P = vbase + t->off + rel[k].r_offset;
        site.A = rel[k].r_addend;
        if (!s) {
            /* A local without an entry (see resolve.c): read it here. */
            const Elf64_Sym *ls = &obj->syms[symi];
            uint32_t shndx = ej__object_sym_shndx(obj, symi);
            site.G = site.L = 0;
            site.Z = ls->st_size;
            if (shndx == SHN_ABS) {
                site.S = ls->st_value;
            } else if (obj->sec[shndx].discarded) {
                if (t->shdr.sh_flags & SHF_EXECINSTR) {
                    fail.why = "refers to a discarded COMDAT section";
                    return reloc_failed(lk, obj, r, &rel[k], ej__reloc_info_of(a, site.type), &site, &fail);
                }
                continue;
            } else {
                site.S = vbase + obj->sec[shndx].off + ls->st_value;
            }
            if (a->handlers[site.type](&site, &fail) != EJ_OK)
                return reloc_failed(lk, obj, r, &rel[k], ej__reloc_info_of(a, site.type), &site, &fail);
            continue;
        }
        if (s->kind == EJ_SK_DISCARDED) {
            /* Only tables describing a discarded COMDAT copy (.eh_frame)
             * may point into it; they keep their original bytes. */
            if (t->shdr.sh_flags & SHF_EXECINSTR) {
                fail.why = "refers to a discarded COMDAT section";
                return reloc_failed(lk, obj, r, &rel[k], ej__reloc_info_of(a, site.type), &site, &fail);
            }
            continue;
        }
        site.S = s->value;
        site.Z = s->size;
        site.G = s->got ? vbase + p->got_off + (uint64_t)(s->got - 1) * a->got_entry_size : 0;
        site.L = s->stub ? vbase + p->stub_off + (uint64_t)(s->stub - 1) * a->stub_size : 0;
        if (a->handlers[site.type](&site, &fail) != EJ_OK)
            return reloc_failed(lk, obj, r, &rel[k], ej__reloc_info_of(a, site.type), &site, &fail);
    }
    return EJ_OK;
}

static void fill_got_and_stubs(ej_linker *lk, uint8_t *wbase, uint64_t vbase)
{
    const ej__plan *p = &lk->plan;
    const ej__arch *a = lk->arch;
    for (size_t i = 0; i < p->ngot; i++)
        ej__put64(wbase + p->got_off + i * a->got_entry_size, p->got_syms[i]->value);
    for (size_t i = 0; i < p->nstub; i++) {
        uint64_t off = p->stub_off + i * a->stub_size;
        uint64_t slot = vbase + p->got_off + (uint64_t)(p->stub_syms[i]->got - 1) * a->got_entry_size;
        a->write_stub(wbase + off, vbase + off, slot);
    }
}

ej_status ej__relocate(ej_linker *lk, uint8_t *wbase, uint64_t vbase)
{
    ej_status st;
    for (size_t o = 0; o < lk->nobjs; o++) {
        ej__object *obj = lk->objs[o];
        for (size_t r = 1; r < obj->shnum; r++) {
            if (obj->sec[r].shdr.sh_type != SHT_RELA || !ej__sec_loaded(obj, obj->sec[r].shdr.sh_info))
                continue;
            if ((st = apply_section(lk, obj, r, wbase, vbase)) != EJ_OK)
                return st;
        }
    }
    fill_got_and_stubs(lk, wbase, vbase);
    return EJ_OK;
}
