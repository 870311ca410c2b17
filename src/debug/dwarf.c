/* The DWARF of a module, for the image GDB is given: each object's
 * .debug_* sections (decompressed by the ELF layer when -gz compressed
 * them), appended by name as a linker would (.debug_info of every object,
 * one after the other, ...), then relocated: references to code and data
 * get the module's final addresses, references between debug sections
 * (a CU's abbreviations, its line table, its strings) get offsets in the
 * combined sections.
 *
 * Debug information is best effort: a relocation the backend refuses
 * (e.g. a thread-local variable's DTPOFF location) is left as assembled,
 * which costs that one attribute, never the link. */
#include <stdlib.h>
#include <string.h>

#include "debug/debug.h"

static int is_dwarf(const ej__section *s)
{
    return !(s->shdr.sh_flags & SHF_ALLOC) && s->shdr.sh_type == SHT_PROGBITS &&
           strncmp(s->name, ".debug_", 7) == 0;
}

/* Offset of each object's piece in its combined section: PIECE[o][i] for
 * section I of object O, UINT64_MAX when not DWARF. */
typedef struct plan {
    uint64_t **piece;
    ej__dwarf *d;
} plan;

static long find_sec(const ej__dwarf *d, const char *name)
{
    for (size_t i = 0; i < d->n; i++)
        if (strcmp(d->secs[i].name, name) == 0)
            return (long)i;
    return -1;
}

/* Appends section I of OBJ to its combined section. */
static ej_status append(ej__dwarf *d, ej__object *obj, size_t i, uint64_t *piece, ej__err *err)
{
    const uint8_t *data;
    uint64_t size;
    ej_status st = ej__object_section_data(obj, i, &data, &size, err);
    if (st != EJ_OK)
        return st;
    long k = find_sec(d, obj->sec[i].name);
    if (k < 0) {
        struct ej__dwarf_sec *s = realloc(d->secs, (d->n + 1) * sizeof *s);
        if (!s)
            return ej__fail(err, EJ_NOMEM, "out of memory for debug sections");
        d->secs = s;
        k = (long)d->n++;
        d->secs[k] = (struct ej__dwarf_sec){obj->sec[i].name, NULL, 0};
    }
    struct ej__dwarf_sec *s = &d->secs[k];
    uint8_t *grown = realloc(s->data, s->size + size + 1);
    if (!grown)
        return ej__fail(err, EJ_NOMEM, "out of memory for %s", s->name);
    memcpy(grown + s->size, data, size);
    s->data = grown;
    *piece = s->size;
    s->size += size;
    return EJ_OK;
}

/* The value of symbol SYMI of OBJ for a debug relocation. */
static uint64_t sym_value(const plan *p, size_t o, const ej__object *obj, size_t symi)
{
    const ej__sym *e = obj->symp[symi];
    if (e)
        return e->kind == EJ_SK_DISCARDED || e->kind == EJ_SK_UNDEF ? 0 : e->value;
    uint32_t shndx = ej__object_sym_shndx(obj, symi);
    if (shndx < obj->shnum && p->piece[o][shndx] != UINT64_MAX)
        return p->piece[o][shndx] + obj->syms[symi].st_value;
    uint64_t v = obj->lvalue[symi];
    return v == EJ_LVALUE_DISCARDED ? 0 : v;
}

static void relocate_piece(const plan *p, size_t o, const ej__object *obj, size_t r)
{
    size_t t = obj->sec[r].shdr.sh_info, n;
    struct ej__dwarf_sec *s = &p->d->secs[find_sec(p->d, obj->sec[t].name)];
    uint64_t base = p->piece[o][t];
    uint8_t *end = s->data + base + obj->sec[t].size;
    const Elf64_Rela *rel = ej__object_relas(obj, r, &n);
    const ej__arch *a = obj->arch;
    for (size_t k = 0; k < n; k++) {
        uint32_t type = (uint32_t)ELF64_R_TYPE(rel[k].r_info);
        const ej__reloc_info *info = ej__reloc_info_of(a, type);
        if (!info || (info->needs & (EJ_RN_TLS | EJ_RN_DYNAMIC | EJ_RN_GOT | EJ_RN_PAIR_LO)))
            continue;
        ej__reloc_site site = {.type = type,
                               .loc = s->data + base + rel[k].r_offset,
                               .P = base + rel[k].r_offset,
                               .S = sym_value(p, o, obj, ELF64_R_SYM(rel[k].r_info)),
                               .A = rel[k].r_addend,
                               .end = end};
        ej__reloc_fail fail = {0};
        a->handlers[type](&site, &fail); /* best effort: see the file comment */
    }
}

static ej_status combine(plan *p, const ej_linker *lk, ej__err *err)
{
    for (size_t o = 0; o < lk->nobjs; o++) {
        ej__object *obj = lk->objs[o];
        if (!(p->piece[o] = malloc(obj->shnum * sizeof *p->piece[o])))
            return ej__fail(err, EJ_NOMEM, "out of memory for debug sections");
        for (size_t i = 0; i < obj->shnum; i++) {
            p->piece[o][i] = UINT64_MAX;
            if (i && is_dwarf(&obj->sec[i])) {
                ej_status st = append(p->d, obj, i, &p->piece[o][i], err);
                if (st != EJ_OK)
                    return st;
            }
        }
    }
    return EJ_OK;
}

ej_status ej__dwarf_build(const ej_linker *lk, ej__dwarf *out, ej__err *err)
{
    memset(out, 0, sizeof *out);
    plan p = {calloc(lk->nobjs ? lk->nobjs : 1, sizeof *p.piece), out};
    if (!p.piece)
        return ej__fail(err, EJ_NOMEM, "out of memory for debug sections");
    ej_status st = combine(&p, lk, err);
    for (size_t o = 0; st == EJ_OK && o < lk->nobjs; o++) {
        const ej__object *obj = lk->objs[o];
        for (size_t r = 1; r < obj->shnum; r++) {
            size_t t = obj->sec[r].shdr.sh_info;
            if (obj->sec[r].shdr.sh_type == SHT_RELA && t < obj->shnum &&
                p.piece[o][t] != UINT64_MAX)
                relocate_piece(&p, o, obj, r);
        }
    }
    for (size_t o = 0; o < lk->nobjs; o++)
        free(p.piece[o]);
    free(p.piece);
    if (st != EJ_OK)
        ej__dwarf_free(out);
    return st;
}

void ej__dwarf_free(ej__dwarf *d)
{
    for (size_t i = 0; i < d->n; i++)
        free(d->secs[i].data);
    free(d->secs);
    memset(d, 0, sizeof *d);
}
