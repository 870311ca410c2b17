/* The ELF image GDB's JIT interface is given for a module.  GDB reads it as
 * an object file and needs nothing else: its allocated sections carry the
 * addresses where the module runs, its symbols are absolute, its DWARF is
 * relocated (dwarf.c).
 *
 *   .text .rodata .data .bss  NOBITS, one per permission class, at their
 *                             run addresses (no bytes: GDB reads the code
 *                             from the process)
 *   .eh_frame                 a copy of the module's table, at its address
 *                             (pc-relative encodings then decode right), so
 *                             GDB unwinds optimised code without frame
 *                             pointers
 *   .debug_*                  the objects' DWARF, combined and relocated
 *   .symtab .strtab           every function and data object, local ones
 *                             included, with absolute values
 *
 * The image is an ET_EXEC: symbol values and section addresses are final,
 * and GDB applies no relocation to it. */
#include <elf.h>
#include <stdlib.h>
#include <string.h>

#include "debug/debug.h"
#include "elf/writer.h"

enum { S_TEXT = 1, S_RODATA, S_DATA, S_BSS }; /* section indices, by class + 1 */

typedef struct symbuf {
    Elf64_Sym *v;
    size_t n;
    char *str;
    size_t str_len, str_cap;
} symbuf;

static int wanted(const ej__object *obj, size_t i)
{
    const Elf64_Sym *s = &obj->syms[i];
    int type = ELF64_ST_TYPE(s->st_info);
    return (type == STT_FUNC || type == STT_OBJECT) && s->st_name && ej__sym_loaded(obj, i);
}

static int add_name(symbuf *b, const char *name, uint32_t *off)
{
    size_t l = strlen(name) + 1;
    if (b->str_len + l > b->str_cap) {
        size_t cap = b->str_cap ? b->str_cap * 2 : 4096;
        while (cap < b->str_len + l)
            cap *= 2;
        char *p = realloc(b->str, cap);
        if (!p)
            return -1;
        b->str = p;
        b->str_cap = cap;
    }
    memcpy(b->str + b->str_len, name, l);
    *off = (uint32_t)b->str_len;
    b->str_len += l;
    return 0;
}

/* Locals first (pass 0), then globals (pass 1), as ELF requires. */
static int collect(const ej_module *m, const ej_linker *lk, symbuf *b, int pass)
{
    for (size_t o = 0; o < lk->nobjs; o++) {
        const ej__object *obj = lk->objs[o];
        for (size_t i = 1; i < obj->nsyms; i++) {
            const Elf64_Sym *s = &obj->syms[i];
            int global = ELF64_ST_BIND(s->st_info) != STB_LOCAL;
            if (global != pass || !wanted(obj, i))
                continue;
            const ej__section *sec = &obj->sec[ej__object_sym_shndx(obj, i)];
            Elf64_Sym *d = &b->v[b->n];
            if (add_name(b, obj->strtab + s->st_name, &d->st_name))
                return -1;
            d->st_info = ELF64_ST_INFO(global ? STB_GLOBAL : STB_LOCAL, ELF64_ST_TYPE(s->st_info));
            d->st_shndx = (uint16_t)(S_TEXT + sec->cls);
            d->st_value = m->vbase + sec->off + s->st_value;
            d->st_size = s->st_size;
            b->n++;
        }
    }
    return 0;
}

static ej_status symbols(const ej_module *m, const ej_linker *lk, symbuf *b, size_t *first_global,
                         ej__err *err)
{
    size_t n = 1;
    for (size_t o = 0; o < lk->nobjs; o++)
        for (size_t i = 1; i < lk->objs[o]->nsyms; i++)
            n += wanted(lk->objs[o], i);
    b->v = calloc(n, sizeof *b->v);
    b->n = 1;
    uint32_t empty;
    if (!b->v || add_name(b, "", &empty) || collect(m, lk, b, 0))
        return ej__fail(err, EJ_NOMEM, "out of memory for the debug image's symbols");
    *first_global = b->n;
    if (collect(m, lk, b, 1))
        return ej__fail(err, EJ_NOMEM, "out of memory for the debug image's symbols");
    return EJ_OK;
}

/* The four class sections, .eh_frame, the DWARF, then the symbol table. */
static size_t sections(const ej_module *m, const ej_linker *lk, const ej__dwarf *d,
                       const symbuf *b, size_t first_global, ej__wsec *w)
{
    static const char *const names[] = {".text", ".rodata", ".data", ".bss"};
    static const uint64_t flags[] = {SHF_ALLOC | SHF_EXECINSTR, SHF_ALLOC, SHF_ALLOC | SHF_WRITE,
                                     SHF_ALLOC | SHF_WRITE};
    const ej__plan *p = &lk->plan;
    size_t n = 0;
    for (int c = 0; c < EJ_CLS_COUNT; c++)
        w[n++] = (ej__wsec){names[c], SHT_NOBITS, flags[c], 16, 0, 0, 0, NULL,
                            p->cls_size[c], m->vbase + p->cls_off[c]};
    if (m->eh_size)
        w[n++] = (ej__wsec){".eh_frame", SHT_PROGBITS, SHF_ALLOC, 8, 0, 0, 0,
                            (const void *)(uintptr_t)m->eh_addr, m->eh_size + 4, m->eh_addr};
    for (size_t i = 0; i < d->n; i++)
        w[n++] = (ej__wsec){d->secs[i].name, SHT_PROGBITS, 0, 1, 0, 0, 0, d->secs[i].data,
                            d->secs[i].size, 0};
    w[n] = (ej__wsec){".symtab", SHT_SYMTAB, 0, 8, sizeof(Elf64_Sym), (uint32_t)n + 2,
                      (uint32_t)first_global, b->v, b->n * sizeof(Elf64_Sym), 0};
    n++;
    w[n++] = (ej__wsec){".strtab", SHT_STRTAB, 0, 1, 0, 0, 0, b->str, b->str_len, 0};
    return n;
}

ej_status ej__symfile_build(const ej_module *m, const ej_linker *lk, void **out, size_t *len,
                            ej__err *err)
{
    symbuf b = {0};
    ej__dwarf d = {0};
    ej__wsec *w = NULL;
    size_t first_global = 1;
    ej_status st = symbols(m, lk, &b, &first_global, err);
    if (st == EJ_OK)
        st = ej__dwarf_build(lk, &d, err);
    if (st == EJ_OK && !(w = malloc((EJ_CLS_COUNT + 3 + d.n) * sizeof *w)))
        st = ej__fail(err, EJ_NOMEM, "out of memory for the debug image");
    if (st == EJ_OK) {
        size_t n = sections(m, lk, &d, &b, first_global, w);
        st = ej__elf_write(lk->arch->machine, ET_EXEC, w, n, out, len, err);
    }
    free(w);
    ej__dwarf_free(&d);
    free(b.v);
    free(b.str);
    return st;
}
