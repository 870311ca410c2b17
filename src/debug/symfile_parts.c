/* The debugger image of a batch of modules (debug.h: ej__dbg_part): what
 * symfile.c makes for one module, for several at once.
 *
 *   .text .rodata .data .bss   NOBITS, one per run of parts' classes that
 *                              touch in memory (at least one per class
 *                              per part that has the class)
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

/* One class section of the image: the classes of parts that touch, one
 * after the other in memory, share one (GDB's costs grow with its
 * sections: a JIT's consecutive small modules then cost one section per
 * class for the whole batch). */
typedef struct run {
    uint64_t lo, hi;
    int cls;
} run;

typedef struct build {
    run runs[BATCH_PARTS_MAX * EJ_CLS_COUNT];
    size_t nruns;
    uint16_t sec[BATCH_PARTS_MAX][EJ_CLS_COUNT]; /* section of part i's class c */
    Elf64_Sym *sym;
    size_t nsym;
    char *str;
    size_t str_len;
    uint8_t *eh;
    size_t eh_len;
    uint64_t eh_addr;
} build;

static int by_class_then_address(const void *x, const void *y)
{
    const run *a = x, *b = y;
    if (a->cls != b->cls)
        return a->cls < b->cls ? -1 : 1;
    return (a->lo > b->lo) - (a->lo < b->lo);
}

/* The extent of part P's class C that is P's alone: a class starting on a
 * granule of shared code memory owns the rest of its last granule. */
static run extent(const ej__dbg_part *p, int c)
{
    uint64_t lo = p->cls_addr[c], hi = lo + p->cls_size[c];
    if (lo % 64 == 0)
        hi = (hi + 63) & ~(uint64_t)63;
    return (run){lo, hi, c};
}

static void sections(ej__dbg_part *const *parts, size_t n, build *b)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        for (int c = 0; c < EJ_CLS_COUNT; c++)
            if (parts[i]->cls_size[c])
                b->runs[k++] = extent(parts[i], c);
    qsort(b->runs, k, sizeof *b->runs, by_class_then_address);
    b->nruns = 0;
    for (size_t j = 0; j < k; j++) {
        run *last = b->nruns ? &b->runs[b->nruns - 1] : NULL;
        if (last && last->cls == b->runs[j].cls && b->runs[j].lo <= last->hi)
            last->hi = last->hi > b->runs[j].hi ? last->hi : b->runs[j].hi;
        else
            b->runs[b->nruns++] = b->runs[j];
    }
    for (size_t i = 0; i < n; i++)
        for (int c = 0; c < EJ_CLS_COUNT; c++) {
            b->sec[i][c] = SHN_ABS; /* (no section: an empty class) */
            for (size_t r = 0; r < b->nruns && parts[i]->cls_size[c]; r++)
                if (b->runs[r].cls == c && b->runs[r].lo <= parts[i]->cls_addr[c] &&
                    parts[i]->cls_addr[c] < b->runs[r].hi)
                    b->sec[i][c] = (uint16_t)(r + 1);
        }
}

static ej_status symbols(ej__dbg_part *const *parts, size_t n, build *b, size_t *first_global,
                         ej__err *err)
{
    size_t total = 1, str = 1;
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
                d->st_shndx = b->sec[i][s->cls];
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

/* The class sections, .eh_frame, then the symbol table (N_SEC + 3). */
static size_t layout(const build *b, size_t first_global, ej__wsec *w)
{
    static const char *const names[] = {".text", ".rodata", ".data", ".bss"};
    static const uint64_t flags[] = {SHF_ALLOC | SHF_EXECINSTR, SHF_ALLOC, SHF_ALLOC | SHF_WRITE,
                                     SHF_ALLOC | SHF_WRITE};
    size_t k = 0;
    for (size_t r = 0; r < b->nruns; r++) {
        const run *u = &b->runs[r];
        w[k++] = (ej__wsec){names[u->cls], SHT_NOBITS, flags[u->cls], 16, 0, 0, 0, NULL,
                            u->hi - u->lo, u->lo};
    }
    if (b->eh_len)
        w[k++] = (ej__wsec){".eh_frame", SHT_PROGBITS, SHF_ALLOC, 8, 0, 0, 0, b->eh, b->eh_len,
                            b->eh_addr};
    w[k] = (ej__wsec){".symtab", SHT_SYMTAB, 0, 8, sizeof(Elf64_Sym), (uint32_t)k + 2,
                      (uint32_t)first_global, b->sym, b->nsym * sizeof(Elf64_Sym), 0};
    k++;
    w[k++] = (ej__wsec){".strtab", SHT_STRTAB, 0, 1, 0, 0, 0, b->str, b->str_len, 0};
    return k;
}

ej_status ej__symfile_parts(ej__dbg_part *const *parts, size_t n, void **out, size_t *len,
                            size_t *bad, ej__err *err)
{
    if (!n || n > BATCH_PARTS_MAX)
        return ej__fail(err, EJ_INVAL, "%zu modules in one debugger image (1 to %d)", n,
                        BATCH_PARTS_MAX);
    build *b = calloc(1, sizeof *b);
    ej__wsec *w = NULL;
    size_t first_global = 1;
    if (!b)
        return ej__fail(err, EJ_NOMEM, "out of memory for a debugger image");
    sections(parts, n, b);
    ej_status st = symbols(parts, n, b, &first_global, err);
    if (st == EJ_OK)
        st = eh_frame(parts, n, b, bad, err);
    if (st == EJ_OK && !(w = malloc((b->nruns + 3) * sizeof *w)))
        st = ej__fail(err, EJ_NOMEM, "out of memory for a debugger image");
    if (st == EJ_OK)
        st = ej__elf_write(parts[0]->machine, ET_EXEC, w, layout(b, first_global, w), out, len,
                           err);
    free(w);
    free(b->sym);
    free(b->str);
    free(b->eh);
    free(b);
    return st;
}
