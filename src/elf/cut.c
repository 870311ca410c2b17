/* Deleting byte ranges from a section of an object, and moving everything
 * that names an offset in it: its contents, the symbols defined in it, the
 * relocations applied to it and the addends of relocations that point
 * into it.  The result is the object the assembler would have written had
 * it known the final padding (RISC-V's R_RISCV_ALIGN asks every linker
 * for this; see src/link/align.c).
 *
 * The object's bytes (a private mapping of the file) are never written:
 * each table that changes is copied once and the copy is owned by the
 * object. */
#include <stdlib.h>
#include <string.h>

#include "elf/object.h"

uint64_t ej__cut_map(const ej__cut *cuts, size_t n, uint64_t off)
{
    uint64_t removed = 0;
    for (size_t i = 0; i < n && cuts[i].off < off; i++) {
        uint64_t end = cuts[i].off + cuts[i].len;
        removed += (off < end ? off : end) - cuts[i].off;
    }
    return off - removed;
}

/* New contents of section SHNDX without the cut ranges. */
static ej_status cut_data(ej__object *obj, size_t shndx, const ej__cut *cuts, size_t n,
                          uint64_t removed, ej__err *err)
{
    ej__section *s = &obj->sec[shndx];
    uint8_t *out = ej__object_own(obj, NULL, s->size - removed);
    if (!out)
        return ej__fail(err, EJ_NOMEM, "%s: %s: out of memory", obj->name, s->name);
    uint64_t from = 0, to = 0;
    for (size_t i = 0; i < n; i++) {
        memcpy(out + to, s->data + from, cuts[i].off - from);
        to += cuts[i].off - from;
        from = cuts[i].off + cuts[i].len;
    }
    memcpy(out + to, s->data + from, s->size - from);
    s->data = out;
    s->size -= removed;
    s->shdr.sh_size = s->size;
    return EJ_OK;
}

static ej_status move_symbols(ej__object *obj, size_t shndx, const ej__cut *cuts, size_t n,
                              ej__err *err)
{
    Elf64_Sym *syms = NULL;
    for (size_t i = 1; i < obj->nsyms; i++) {
        if (ej__object_sym_shndx(obj, i) != shndx)
            continue;
        if (!syms) {
            if (!(syms = ej__object_own(obj, obj->syms, obj->nsyms * sizeof *syms)))
                return ej__fail(err, EJ_NOMEM, "%s: out of memory moving symbols", obj->name);
            obj->syms = syms;
        }
        uint64_t v = syms[i].st_value, end = v + syms[i].st_size;
        syms[i].st_value = ej__cut_map(cuts, n, v);
        syms[i].st_size = ej__cut_map(cuts, n, end) - syms[i].st_value;
    }
    return EJ_OK;
}

/* Relocation section R: offsets when it applies to SHNDX, and the addends
 * of relocations whose symbol is defined in SHNDX (S + A lands where the
 * byte at st_value + A went). */
static ej_status move_relocs(ej__object *obj, size_t r, size_t shndx, const ej__cut *cuts,
                             size_t n, const uint64_t *old_value, ej__err *err)
{
    size_t count;
    const Elf64_Rela *in = ej__object_relas(obj, r, &count);
    Elf64_Rela *out = NULL;
    int applies = obj->sec[r].shdr.sh_info == shndx;
    for (size_t k = 0; k < count; k++) {
        size_t symi = ELF64_R_SYM(in[k].r_info);
        int into = symi && symi < obj->nsyms && ej__object_sym_shndx(obj, symi) == shndx &&
                   in[k].r_addend != 0;
        if (!applies && !into)
            continue;
        if (!out) {
            if (!(out = ej__object_own(obj, in, count * sizeof *out)))
                return ej__fail(err, EJ_NOMEM, "%s: out of memory moving relocations",
                                obj->name);
            obj->sec[r].data = (const uint8_t *)out;
        }
        if (applies)
            out[k].r_offset = ej__cut_map(cuts, n, in[k].r_offset);
        if (into) {
            uint64_t v = old_value[symi];
            out[k].r_addend = (int64_t)(ej__cut_map(cuts, n, v + (uint64_t)in[k].r_addend) -
                                        ej__cut_map(cuts, n, v));
        }
    }
    return EJ_OK;
}

ej_status ej__object_cut(ej__object *obj, size_t shndx, const ej__cut *cuts, size_t n,
                         ej__err *err)
{
    /* The callers plan sorted, disjoint cuts inside the section; checked
     * again here, because a cut breaking that rule would copy a negative
     * length. */
    const ej__section *s = &obj->sec[shndx];
    uint64_t removed = 0, end = 0;
    for (size_t i = 0; i < n; i++) {
        if (cuts[i].off < end || cuts[i].off > s->size || cuts[i].len > s->size - cuts[i].off)
            return ej__fail(err, EJ_BADELF, "%s: %s: cut %zu (0x%llx+0x%llx) overlaps the "
                            "previous one or leaves the section (0x%llx bytes)", obj->name,
                            s->name, i, (unsigned long long)cuts[i].off,
                            (unsigned long long)cuts[i].len, (unsigned long long)s->size);
        end = cuts[i].off + cuts[i].len;
        removed += cuts[i].len;
    }
    if (!removed)
        return EJ_OK;
    /* Addends are moved from the symbols' values before the cut. */
    uint64_t *old_value = malloc((obj->nsyms ? obj->nsyms : 1) * sizeof *old_value);
    if (!old_value)
        return ej__fail(err, EJ_NOMEM, "%s: out of memory", obj->name);
    for (size_t i = 0; i < obj->nsyms; i++)
        old_value[i] = obj->syms[i].st_value;
    ej_status st = cut_data(obj, shndx, cuts, n, removed, err);
    if (st == EJ_OK)
        st = move_symbols(obj, shndx, cuts, n, err);
    for (size_t r = 1; st == EJ_OK && r < obj->shnum; r++)
        if (obj->sec[r].shdr.sh_type == SHT_RELA && obj->sec[r].data)
            st = move_relocs(obj, r, shndx, cuts, n, old_value, err);
    free(old_value);
    return st;
}
