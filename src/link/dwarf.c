/* The DWARF of a module, for the finished image (src/image): each
 * object's .debug_* sections (decompressed by the ELF layer when -gz
 * compressed them), appended by name as a linker would (.debug_info of
 * every object, one after the other, ...), then relocated by the link's
 * own relocation loop (relocate.c, ej__relocate_debug): references to code
 * and data get the module's final addresses, references between debug
 * sections (a CU's abbreviations, its line table, its strings) get offsets
 * in the combined sections, each of which is laid out from address 0.
 *
 * Debug information is best effort: a relocation the backend refuses
 * (e.g. a thread-local variable's DTPOFF location) is left as assembled,
 * which costs that one attribute, never the link. */
#include <stdlib.h>
#include <string.h>

#include "link/linker.h"

static int is_dwarf(const ej__section *s)
{
    return !(s->shdr.sh_flags & SHF_ALLOC) && s->shdr.sh_type == SHT_PROGBITS &&
           strncmp(s->name, ".debug_", 7) == 0;
}

/* Offset of each object's piece in its combined section: PIECE[o][i] for
 * section I of object O, UINT64_MAX when not DWARF. */
typedef struct plan {
    uint64_t **piece;
    ej__image *img;
} plan;

static long find_sec(const ej__image *img, const char *name)
{
    for (size_t i = 0; i < img->ndwarf; i++)
        if (strcmp(img->dwarf[i].name, name) == 0)
            return (long)i;
    return -1;
}

/* Appends section I of OBJ to its combined section. */
static ej_status append(ej__image *img, ej__object *obj, size_t i, uint64_t *piece,
                        ej__err *err)
{
    const uint8_t *data;
    uint64_t size;
    ej_status st = ej__object_section_data(obj, i, &data, &size, err);
    if (st != EJ_OK)
        return st;
    long k = find_sec(img, obj->sec[i].name);
    if (k < 0) {
        ej__image_dwarf *d = realloc(img->dwarf, (img->ndwarf + 1) * sizeof *d);
        if (!d)
            return ej__fail(err, EJ_NOMEM, "out of memory for debug sections");
        img->dwarf = d;
        char *name = strdup(obj->sec[i].name);
        if (!name)
            return ej__fail(err, EJ_NOMEM, "out of memory for debug sections");
        k = (long)img->ndwarf++;
        img->dwarf[k] = (ej__image_dwarf){name, NULL, 0, NULL, 0, 0};
    }
    ej__image_dwarf *d = &img->dwarf[k];
    uint8_t *grown = realloc(d->data, d->size + size + 1);
    if (!grown)
        return ej__fail(err, EJ_NOMEM, "out of memory for %s", d->name);
    memcpy(grown + d->size, data, size);
    d->data = grown;
    *piece = d->size;
    d->size += size;
    return EJ_OK;
}

/* Locals defined in a DWARF piece (section symbols, mostly) stand for
 * their offset in the combined section; the loaded image never uses
 * them, so their value slot is free to say so. */
static void value_debug_locals(const plan *p, size_t o, ej__lobj *lo)
{
    const ej__object *obj = lo->o;
    for (size_t i = 1; i < obj->nsyms; i++) {
        uint32_t shndx = ej__object_sym_shndx(obj, i);
        if (!lo->symp[i] && shndx < obj->shnum && p->piece[o][shndx] != UINT64_MAX)
            lo->lvalue[i] = p->piece[o][shndx] + obj->syms[i].st_value;
    }
}

void ej__dwarf_note_addr(ej_linker *lk, const ej__lobj *lo, size_t symi, const uint8_t *loc)
{
    const ej__object *obj = lo->o;
    const ej__sym *s = symi < obj->nsyms ? lo->symp[symi] : NULL;
    uint32_t shndx = symi < obj->nsyms ? ej__object_sym_shndx(obj, symi) : 0;
    int in_image = s ? ej__fixup_kind_of(lo, symi, s) == EJ_FX_IMAGE
                     : shndx && shndx < obj->shnum && (obj->sec[shndx].shdr.sh_flags & SHF_ALLOC);
    ej__image_dwarf *d = lk->dwarf_sink;
    if (!in_image)
        return;
    if (d->naddr_words == d->addr_cap) {
        size_t cap = d->addr_cap ? d->addr_cap * 2 : 64;
        uint64_t *v = realloc(d->addr_words, cap * sizeof *v);
        if (!v) {
            lk->nomem_debug = 1;
            return;
        }
        d->addr_words = v;
        d->addr_cap = cap;
    }
    d->addr_words[d->naddr_words++] = (uint64_t)(loc - d->data);
}

static ej_status combine(plan *p, const ej_linker *lk, ej__err *err)
{
    for (size_t o = 0; o < lk->nobjs; o++) {
        ej__object *obj = lk->objs[o].o;
        if (!(p->piece[o] = malloc(obj->shnum * sizeof *p->piece[o])))
            return ej__fail(err, EJ_NOMEM, "out of memory for debug sections");
        for (size_t i = 0; i < obj->shnum; i++) {
            p->piece[o][i] = UINT64_MAX;
            if (i && is_dwarf(&obj->sec[i])) {
                ej_status st = append(p->img, obj, i, &p->piece[o][i], err);
                if (st != EJ_OK)
                    return st;
            }
        }
    }
    return EJ_OK;
}

ej_status ej__image_debug_info(ej__image *img, ej_linker *lk, ej__err *err)
{
    plan p = {calloc(lk->nobjs ? lk->nobjs : 1, sizeof *p.piece), img};
    if (!p.piece)
        return ej__fail(err, EJ_NOMEM, "out of memory for debug sections");
    ej_status st = combine(&p, lk, err);
    for (size_t o = 0; st == EJ_OK && o < lk->nobjs; o++) {
        ej__lobj *lo = &lk->objs[o];
        ej__object *obj = lo->o;
        value_debug_locals(&p, o, lo);
        for (size_t r = 1; r < obj->shnum; r++) {
            size_t t = obj->sec[r].shdr.sh_info;
            if (obj->sec[r].shdr.sh_type != SHT_RELA || t >= obj->shnum ||
                p.piece[o][t] == UINT64_MAX)
                continue;
            uint64_t base = p.piece[o][t];
            ej__image_dwarf *d = &img->dwarf[find_sec(img, obj->sec[t].name)];
            lk->dwarf_sink = lk->saving ? d : NULL;
            ej__relocate_debug(lk, lo, r, d->data + base, base, img->vbase);
            lk->dwarf_sink = NULL;
            if (lk->nomem_debug) {
                lk->nomem_debug = 0;
                st = ej__fail(err, EJ_NOMEM, "out of memory noting %s's addresses", d->name);
            }
        }
    }
    for (size_t o = 0; o < lk->nobjs; o++)
        free(p.piece[o]);
    free(p.piece);
    return st;
}
