/* The debugger image of a batch of modules (debug.h: ej__dbg_part): what
 * symfile.c makes for one module, for several at once.
 *
 *   .text .rodata .data .bss   NOBITS, four per part, at its addresses
 *   .eh_frame                  every part's records, moved next to each
 *                              other at the first part's table address
 *                              (GDB reads one .eh_frame per image), with
 *                              their pc-relative pointers adjusted
 *   .symtab .strtab            every part's symbols: the locals of all,
 *                              then the globals of all (ELF's order)
 *
 * Parts carry no DWARF: modules with DWARF get an image of their own. */
#include <elf.h>
#include <stdlib.h>
#include <string.h>

#include "debug/debug.h"
#include "elf/writer.h"

typedef struct build {
    Elf64_Sym *sym;
    size_t nsym;
    char *str;
    size_t str_len;
    uint8_t *eh;
    size_t eh_len;
    uint64_t eh_addr;
} build;

static ej_status symbols(ej__dbg_part *const *parts, size_t n, build *b, size_t *first_global,
                         ej__err *err)
{
    size_t total = 1, str = 1;
    if (n > BATCH_PARTS_MAX)
        return ej__fail(err, EJ_INVAL, "%zu modules in one debugger image (at most %d)", n,
                        BATCH_PARTS_MAX);
    for (size_t i = 0; i < n; i++) {
        total += parts[i]->nsyms;
        for (size_t k = 0; k < parts[i]->nsyms; k++)
            str += strlen(parts[i]->names + parts[i]->syms[k].name) + 1;
    }
    if (!(b->sym = calloc(total, sizeof *b->sym)) || !(b->str = malloc(str)))
        return ej__fail(err, EJ_NOMEM, "out of memory for a debugger image's %zu symbols",
                        total);
    b->str[0] = '\0';
    b->str_len = b->nsym = 1;
    /* Section indices: the parts' non-empty classes in order, from 1. */
    uint16_t sec[BATCH_PARTS_MAX][EJ_CLS_COUNT], next = 1;
    for (size_t i = 0; i < n; i++)
        for (int c = 0; c < EJ_CLS_COUNT; c++)
            sec[i][c] = parts[i]->cls_size[c] ? next++ : SHN_ABS;
    for (int global = 0; global < 2; global++) {
        if (global)
            *first_global = b->nsym;
        for (size_t i = 0; i < n; i++)
            for (size_t k = 0; k < parts[i]->nsyms; k++) {
                const ej__dbg_sym *s = &parts[i]->syms[k];
                if (s->global != global)
                    continue;
                const char *name = parts[i]->names + s->name;
                size_t l = strlen(name) + 1;
                Elf64_Sym *d = &b->sym[b->nsym++];
                memcpy(b->str + b->str_len, name, l);
                d->st_name = (uint32_t)b->str_len;
                b->str_len += l;
                d->st_info = ELF64_ST_INFO(global ? STB_GLOBAL : STB_LOCAL, s->type);
                /* (A symbol of an empty class, e.g. at the end of .text, is
                 * absolute: there is no section to put it in.) */
                d->st_shndx = sec[i][s->cls];
                d->st_value = s->addr;
                d->st_size = s->size;
            }
    }
    return EJ_OK;
}

/* Every part's records one after the other, then a terminator. */
static ej_status eh_frame(ej__dbg_part *const *parts, size_t n, build *b, size_t *bad,
                          ej__err *err)
{
    size_t total = 4;
    for (size_t i = 0; i < n; i++)
        total += parts[i]->eh_len;
    if (total == 4)
        return EJ_OK;
    if (!(b->eh = calloc(1, total)))
        return ej__fail(err, EJ_NOMEM, "out of memory for a debugger image's .eh_frame");
    for (size_t i = 0; i < n; i++) {
        const ej__dbg_part *p = parts[i];
        if (!p->eh_len)
            continue;
        if (!b->eh_len)
            b->eh_addr = p->eh_addr;
        uint8_t *at = b->eh + b->eh_len;
        memcpy(at, p->eh, p->eh_len);
        int64_t delta = (int64_t)(p->eh_addr - (b->eh_addr + b->eh_len));
        if (delta && !ej__eh_frame_move(at, p->eh_len, delta)) {
            *bad = i;
            return ej__fail(err, EJ_RANGE, "a module's .eh_frame at 0x%llx cannot be moved "
                            "beside another's at 0x%llx", (unsigned long long)p->eh_addr,
                            (unsigned long long)b->eh_addr);
        }
        b->eh_len += p->eh_len;
    }
    b->eh_len += 4;
    return EJ_OK;
}

ej_status ej__symfile_parts(ej__dbg_part *const *parts, size_t n, void **out, size_t *len,
                            size_t *bad, ej__err *err)
{
    static const char *const names[] = {".text", ".rodata", ".data", ".bss"};
    static const uint64_t flags[] = {SHF_ALLOC | SHF_EXECINSTR, SHF_ALLOC, SHF_ALLOC | SHF_WRITE,
                                     SHF_ALLOC | SHF_WRITE};
    build b = {0};
    size_t first_global = 1;
    ej__wsec *w = NULL;
    ej_status st = symbols(parts, n, &b, &first_global, err);
    if (st == EJ_OK)
        st = eh_frame(parts, n, &b, bad, err);
    if (st == EJ_OK && !(w = malloc((n * EJ_CLS_COUNT + 3) * sizeof *w)))
        st = ej__fail(err, EJ_NOMEM, "out of memory for a debugger image");
    if (st == EJ_OK) {
        size_t k = 0;
        for (size_t i = 0; i < n; i++)
            for (int c = 0; c < EJ_CLS_COUNT; c++)
                if (parts[i]->cls_size[c]) /* GDB's cost grows with sections */
                    w[k++] = (ej__wsec){names[c], SHT_NOBITS, flags[c], 16, 0, 0, 0, NULL,
                                        parts[i]->cls_size[c], parts[i]->cls_addr[c]};
        if (b.eh_len)
            w[k++] = (ej__wsec){".eh_frame", SHT_PROGBITS, SHF_ALLOC, 8, 0, 0, 0, b.eh,
                                b.eh_len, b.eh_addr};
        w[k] = (ej__wsec){".symtab", SHT_SYMTAB, 0, 8, sizeof(Elf64_Sym), (uint32_t)k + 2,
                          (uint32_t)first_global, b.sym, b.nsym * sizeof(Elf64_Sym), 0};
        k++;
        w[k++] = (ej__wsec){".strtab", SHT_STRTAB, 0, 1, 0, 0, 0, b.str, b.str_len, 0};
        st = ej__elf_write(parts[0]->machine, ET_EXEC, w, k, out, len, err);
    }
    free(w);
    free(b.sym);
    free(b.str);
    free(b.eh);
    return st;
}
