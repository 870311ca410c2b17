/* Code alignment that the assembler leaves to the linker (RISC-V).
 *
 * With linker relaxation on (gcc's default on riscv64), gas cannot know the
 * final address of code, so for `.p2align K` it emits the worst case, A =
 * 2^K - 2 bytes of NOPs (2^K - 4 without compressed instructions), with an
 * R_RISCV_ALIGN relocation whose addend is A, and leaves it to the linker
 * to delete the NOPs that are not needed.  This is not optional: an
 * `__attribute__((aligned(4096)))` function sits at 0xffe in its object,
 * and only the deletion puts it on a page boundary.
 *
 * elfjit performs no other relaxation (calls keep their auipc + jalr).  It
 * deletes exactly the surplus padding, before anything reads the objects'
 * offsets: each section with such relocations is rewritten, with its
 * symbols and relocations moved (src/elf/cut.c), as the assembler would
 * have written it knowing the final padding.  The section's own alignment
 * is at least the largest requested one, so offsets in the section decide
 * alignment. */
#include <inttypes.h>
#include <stdlib.h>

#include "link/linker.h"

typedef struct align_site {
    uint64_t off;  /* of the padding, in the input section */
    uint64_t len;  /* A: bytes of NOPs there */
    size_t k;      /* index in the relocation table */
} align_site;

static int by_offset(const void *a, const void *b)
{
    const align_site *x = a, *y = b;
    return x->off < y->off ? -1 : x->off > y->off;
}

/* The relocation's checks (the padding is NOPs, inside the section), run on
 * the bytes as assembled. */
static ej_status check_padding(ej_linker *lk, ej__object *obj, size_t r, const Elf64_Rela *rel,
                               const ej__section *t)
{
    const ej__arch *a = obj->arch;
    ej__reloc_site site = {.type = a->align_type,
                           .loc = (uint8_t *)(uintptr_t)t->data + rel->r_offset,
                           .P = rel->r_offset,
                           .A = rel->r_addend,
                           .end = t->data + t->size};
    ej__reloc_fail fail = {0};
    if (a->handlers[a->align_type](&site, &fail) == EJ_OK)
        return EJ_OK;
    char where[512];
    ej__site_name(obj, r, rel, where, sizeof where);
    return ej__fail(&lk->err, EJ_RELOC, "%s: %s: %s", where,
                    a->infos[a->align_type].name, fail.why ? fail.why : "bad padding");
}

/* An assembler never lets two paddings overlap; a hostile object can, and
 * the cuts planned from overlapping paddings would overlap too (a cut
 * starting inside the previous one), which cutting cannot undo.  SITES are
 * sorted by offset. */
static ej_status check_disjoint(ej_linker *lk, ej__object *obj, size_t r,
                                const align_site *sites, size_t n)
{
    size_t count;
    const Elf64_Rela *rel = ej__object_relas(obj, r, &count);
    for (size_t i = 1; i < n; i++) {
        const align_site *prev = &sites[i - 1], *cur = &sites[i];
        if (cur->off >= prev->off + prev->len)
            continue;
        char where[512];
        ej__site_name(obj, r, &rel[cur->k], where, sizeof where);
        return ej__fail(&lk->err, EJ_BADELF, "%s: %s: its %" PRIu64 " bytes of padding overlap "
                        "the %" PRIu64 " bytes at offset 0x%" PRIx64 " of relocation %zu of %s",
                        where, obj->arch->infos[obj->arch->align_type].name, cur->len,
                        prev->len, prev->off, prev->k, obj->sec[r].name);
    }
    return EJ_OK;
}

/* Smallest power of two above A. */
static uint64_t align_of(uint64_t a)
{
    uint64_t n = 1;
    while (n <= a && n < ((uint64_t)1 << 62))
        n <<= 1;
    return n;
}

/* Decides the cuts for the sorted SITES of section T (into CUTS, same
 * count) and raises T's alignment to the largest one requested. */
static ej_status plan_cuts(ej_linker *lk, ej__object *obj, size_t r, const align_site *sites,
                           size_t n, ej__cut *cuts)
{
    ej__section *t = &obj->sec[obj->sec[r].shdr.sh_info];
    size_t count;
    const Elf64_Rela *rel = ej__object_relas(obj, r, &count);
    uint64_t removed = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t want = align_of(sites[i].len);
        uint64_t p = sites[i].off - removed;
        uint64_t keep = (want - p % want) % want;
        if (keep > sites[i].len) {
            char where[512];
            ej__site_name(obj, r, &rel[sites[i].k], where, sizeof where);
            return ej__fail(&lk->err, EJ_RELOC, "%s: %s: aligning to %" PRIu64 " bytes needs %"
                            PRIu64 " bytes of padding, the assembler left %" PRIu64, where,
                            obj->arch->infos[obj->arch->align_type].name, want, keep,
                            sites[i].len);
        }
        cuts[i].off = sites[i].off + keep;
        cuts[i].len = sites[i].len - keep;
        removed += cuts[i].len;
        if (t->shdr.sh_addralign < want)
            t->shdr.sh_addralign = want;
    }
    return EJ_OK;
}

/* After the cut: the padding that stays is rewritten as NOPs, and each
 * alignment relocation now covers only it. */
static void finish_sites(ej__object *obj, size_t r, const align_site *sites, size_t n,
                         const ej__cut *cuts)
{
    ej__section *t = &obj->sec[obj->sec[r].shdr.sh_info];
    Elf64_Rela *rel = (Elf64_Rela *)(uintptr_t)obj->sec[r].data; /* owned: see ej__object_cut */
    for (size_t i = 0; i < n; i++) {
        uint64_t at = rel[sites[i].k].r_offset, keep = cuts[i].off - sites[i].off;
        obj->arch->write_nops((uint8_t *)(uintptr_t)t->data + at, keep);
        rel[sites[i].k].r_addend = (int64_t)keep;
    }
}

/* Relocation section R, which applies to a loaded section. */
static ej_status align_section(ej_linker *lk, ej__object *obj, size_t r)
{
    size_t count, n = 0;
    const Elf64_Rela *rel = ej__object_relas(obj, r, &count);
    for (size_t k = 0; k < count; k++)
        n += ELF64_R_TYPE(rel[k].r_info) == obj->arch->align_type;
    if (!n)
        return EJ_OK;
    size_t shndx = obj->sec[r].shdr.sh_info;
    const uint8_t *data;
    uint64_t size;
    ej_status st = ej__object_section_data(obj, shndx, &data, &size, &lk->err);
    if (st != EJ_OK)
        return st;
    align_site *sites = malloc(n * sizeof *sites);
    ej__cut *cuts = malloc(n * sizeof *cuts);
    if (!sites || !cuts) {
        st = ej__fail(&lk->err, EJ_NOMEM, "%s: out of memory aligning %s", obj->name,
                      obj->sec[shndx].name);
        goto out;
    }
    n = 0;
    for (size_t k = 0; k < count && st == EJ_OK; k++) {
        if (ELF64_R_TYPE(rel[k].r_info) != obj->arch->align_type)
            continue;
        st = check_padding(lk, obj, r, &rel[k], &obj->sec[shndx]);
        sites[n++] = (align_site){rel[k].r_offset, (uint64_t)rel[k].r_addend, k};
    }
    if (st != EJ_OK)
        goto out;
    qsort(sites, n, sizeof *sites, by_offset);
    if ((st = check_disjoint(lk, obj, r, sites, n)) != EJ_OK)
        goto out;
    if ((st = plan_cuts(lk, obj, r, sites, n, cuts)) != EJ_OK)
        goto out;
    if ((st = ej__object_cut(obj, shndx, cuts, n, &lk->err)) != EJ_OK)
        goto out;
    if (obj->sec[shndx].data != data) /* something was cut */
        finish_sites(obj, r, sites, n, cuts);
out:
    free(sites);
    free(cuts);
    return st;
}

ej_status ej__align_code(ej_linker *lk)
{
    for (size_t o = 0; o < lk->nobjs; o++) {
        ej__object *obj = lk->objs[o].o;
        if (!obj->arch->align_type || lk->objs[o].aligned)
            continue;
        lk->objs[o].aligned = 1; /* (a replanned link keeps the cuts) */
        for (size_t r = 1; r < obj->shnum; r++) {
            if (obj->sec[r].shdr.sh_type != SHT_RELA ||
                !ej__sec_loaded(&lk->objs[o], obj->sec[r].shdr.sh_info))
                continue;
            ej_status st = align_section(lk, obj, r);
            if (st != EJ_OK)
                return st;
        }
    }
    return EJ_OK;
}
