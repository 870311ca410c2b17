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

/* The image's symbols as an ELF symbol table with its string table;
 * *FIRST_GLOBAL is the table's sh_info. */
typedef struct symbuf {
    Elf64_Sym *v;
    size_t n;
    char *str;
    size_t str_len;
} symbuf;

static ej_status symbols(const ej__image *img, symbuf *b, ej__err *err)
{
    size_t str = 1;
    for (size_t i = 0; i < img->nsyms; i++)
        str += strlen(img->names + img->syms[i].name) + 1;
    b->v = calloc(img->nsyms + 1, sizeof *b->v);
    b->str = malloc(str);
    if (!b->v || !b->str)
        return ej__fail(err, EJ_NOMEM, "out of memory for the debug image's symbols");
    b->str[0] = '\0';
    b->str_len = 1;
    b->n = 1;
    for (size_t i = 0; i < img->nsyms; i++) {
        const ej__image_sym *s = &img->syms[i];
        const char *name = img->names + s->name;
        size_t l = strlen(name) + 1;
        Elf64_Sym *d = &b->v[b->n++];
        memcpy(b->str + b->str_len, name, l);
        d->st_name = (uint32_t)b->str_len;
        b->str_len += l;
        d->st_info = ELF64_ST_INFO(s->global ? STB_GLOBAL : STB_LOCAL, s->type);
        d->st_shndx = (uint16_t)(S_TEXT + s->cls);
        d->st_value = s->addr;
        d->st_size = s->size;
    }
    return EJ_OK;
}

/* The four class sections, .eh_frame, the DWARF, then the symbol table. */
static size_t sections(const ej__image *img, const symbuf *b, ej__wsec *w)
{
    static const char *const names[] = {".text", ".rodata", ".data", ".bss"};
    static const uint64_t flags[] = {SHF_ALLOC | SHF_EXECINSTR, SHF_ALLOC, SHF_ALLOC | SHF_WRITE,
                                     SHF_ALLOC | SHF_WRITE};
    size_t n = 0;
    for (int c = 0; c < EJ_CLS_COUNT; c++)
        w[n++] = (ej__wsec){names[c], SHT_NOBITS, flags[c], 16, 0, 0, 0, NULL,
                            img->cls_size[c], img->cls_addr[c]};
    if (img->eh_size)
        w[n++] = (ej__wsec){".eh_frame", SHT_PROGBITS, SHF_ALLOC, 8, 0, 0, 0,
                            img->view + (img->eh_addr - img->vbase), img->eh_size + 4,
                            img->eh_addr};
    for (size_t i = 0; i < img->ndwarf; i++)
        w[n++] = (ej__wsec){img->dwarf[i].name, SHT_PROGBITS, 0, 1, 0, 0, 0, img->dwarf[i].data,
                            img->dwarf[i].size, 0};
    w[n] = (ej__wsec){".symtab", SHT_SYMTAB, 0, 8, sizeof(Elf64_Sym), (uint32_t)n + 2,
                      (uint32_t)(img->first_global + 1), b->v, b->n * sizeof(Elf64_Sym), 0};
    n++;
    w[n++] = (ej__wsec){".strtab", SHT_STRTAB, 0, 1, 0, 0, 0, b->str, b->str_len, 0};
    return n;
}

ej_status ej__symfile_build(const ej__image *img, void **out, size_t *len, ej__err *err)
{
    symbuf b = {0};
    ej__wsec *w = NULL;
    ej_status st = symbols(img, &b, err);
    if (st == EJ_OK && !(w = malloc((EJ_CLS_COUNT + 3 + img->ndwarf) * sizeof *w)))
        st = ej__fail(err, EJ_NOMEM, "out of memory for the debug image");
    if (st == EJ_OK) {
        size_t n = sections(img, &b, w);
        st = ej__elf_write(img->machine, ET_EXEC, w, n, out, len, err);
    }
    free(w);
    free(b.v);
    free(b.str);
    return st;
}
