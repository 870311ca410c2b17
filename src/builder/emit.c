/* Writing the builder's object: the section list, the symbol table, the
 * relocation tables, then libelf (src/elf/writer.c).
 *
 * Sections, in order: .text .rodata .data .bss, then when used .eh_frame,
 * elfjit_traps and elfjit_addrmap, their .rela sections, .symtab,
 * .strtab and an empty .note.GNU-stack (the stack is not executable).
 * Symbols: the null symbol, one section symbol per content section, the
 * local functions and data, then the global ones, then the imports. */
#include <elf.h>
#include <fcntl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "builder/sections.h"
#include "elf/writer.h"

enum { MAXSEC = 16 };

typedef struct rela_vec {
    Elf64_Rela *v;
    size_t n;
} rela_vec;

/* Content sections in section-index order; CONTENT[k] is the index (1-based)
 * of builder section k, or of .eh_frame / traps / addrmap. */
enum { C_TEXT, C_RODATA, C_DATA, C_BSS, C_TDATA, C_TBSS, C_EH, C_TRAPS, C_ADDRMAP, C_COUNT };

typedef struct emit_state {
    ej_builder *b;
    ej__wsec secs[MAXSEC];
    size_t nsecs;
    uint32_t index[C_COUNT];   /* section index of each content section, 0 absent */
    rela_vec rela[C_COUNT];
    Elf64_Sym *syms;
    uint32_t *symidx;          /* builder id -> symbol table index */
    uint32_t *label;           /* relocation -> its label symbol (pairs), 0 none */
    size_t nsyms, first_global;
    char *strtab;
    size_t strtab_len;
    uint8_t *eh, *traps, *addrmap;
    size_t eh_len, traps_len, addrmap_len;
    ej__fde_site *fdes;
    size_t nfdes;
} emit_state;

static uint32_t add_sec(emit_state *e, ej__wsec s)
{
    e->secs[e->nsecs++] = s;
    return (uint32_t)e->nsecs;
}

static ej_status nomem(ej_builder *b)
{
    return ej__fail(&b->err, EJ_NOMEM, "ej_builder_finish: out of memory");
}

/* ---- symbols -------------------------------------------------------- */

static uint32_t str_add(emit_state *e, const char *s)
{
    size_t l = strlen(s) + 1;
    memcpy(e->strtab + e->strtab_len, s, l);
    e->strtab_len += l;
    return (uint32_t)(e->strtab_len - l);
}

static void sym_put(emit_state *e, uint32_t id)
{
    const ej__bsym *s = &e->b->syms.v[id];
    static const int content_of[] = {C_TEXT, C_RODATA, C_DATA, C_BSS, C_TDATA, C_TBSS};
    Elf64_Sym *o = &e->syms[e->nsyms];
    o->st_name = str_add(e, s->name);
    if (s->sec == EJ_BS_NONE) {
        o->st_info = ELF64_ST_INFO(STB_GLOBAL, STT_NOTYPE);
    } else {
        int type = s->sec == EJ_BS_TEXT                               ? STT_FUNC
                   : s->sec == EJ_BS_TDATA || s->sec == EJ_BS_TBSS ? STT_TLS
                                                                   : STT_OBJECT;
        o->st_info = ELF64_ST_INFO(s->bind == EJ_BIND_GLOBAL ? STB_GLOBAL : STB_LOCAL, type);
        o->st_shndx = (uint16_t)e->index[content_of[s->sec]];
        o->st_value = s->off;
        o->st_size = s->size;
    }
    e->symidx[id] = (uint32_t)e->nsyms++;
}

static int needs_label(const ej_builder *b, const ej__brel *r)
{
    return r->type_lo && b->arch->kind_lo_label;
}

/* A local label at the first instruction of each pair whose second
 * relocation names it (as gas writes `.Lpcrel_hiN`). */
static void put_labels(emit_state *e)
{
    const ej_builder *b = e->b;
    for (size_t i = 0; i < b->rels.n; i++) {
        if (!needs_label(b, &b->rels.v[i]))
            continue;
        char name[32];
        snprintf(name, sizeof name, ".Lpcrel_hi%zu", i);
        Elf64_Sym *o = &e->syms[e->nsyms];
        o->st_name = str_add(e, name);
        o->st_info = ELF64_ST_INFO(STB_LOCAL, STT_NOTYPE);
        o->st_shndx = (uint16_t)e->index[C_TEXT];
        o->st_value = b->rels.v[i].off;
        e->label[i] = (uint32_t)e->nsyms++;
    }
}

static ej_status build_symbols(emit_state *e)
{
    ej_builder *b = e->b;
    size_t names = 1, labels = 0;
    for (size_t i = 0; i < b->syms.n; i++)
        names += strlen(b->syms.v[i].name) + 1;
    for (size_t i = 0; i < b->rels.n; i++)
        labels += needs_label(b, &b->rels.v[i]);
    names += labels * 32;
    e->syms = calloc(b->syms.n + labels + 1 + C_COUNT, sizeof *e->syms);
    e->symidx = malloc((b->syms.n ? b->syms.n : 1) * sizeof *e->symidx);
    e->label = calloc(b->rels.n ? b->rels.n : 1, sizeof *e->label);
    e->strtab = malloc(names);
    if (!e->syms || !e->symidx || !e->label || !e->strtab)
        return nomem(b);
    e->strtab[0] = '\0';
    e->strtab_len = 1;
    e->nsyms = 1;
    for (int c = 0; c < C_COUNT; c++)
        if (e->index[c]) {
            e->syms[e->nsyms].st_info = ELF64_ST_INFO(STB_LOCAL, STT_SECTION);
            e->syms[e->nsyms++].st_shndx = (uint16_t)e->index[c];
        }
    for (uint32_t i = 0; i < b->syms.n; i++)
        if (b->syms.v[i].sec != EJ_BS_NONE && b->syms.v[i].bind == EJ_BIND_LOCAL)
            sym_put(e, i);
    put_labels(e);
    e->first_global = e->nsyms;
    for (int pass = 0; pass < 2; pass++)
        for (uint32_t i = 0; i < b->syms.n; i++)
            if ((pass == 0) == (b->syms.v[i].sec != EJ_BS_NONE) &&
                (b->syms.v[i].bind == EJ_BIND_GLOBAL || b->syms.v[i].sec == EJ_BS_NONE))
                sym_put(e, i);
    return EJ_OK;
}

/* The section symbol of content section C. */
static uint32_t section_sym(const emit_state *e, int c)
{
    uint32_t k = 1;
    for (int i = 0; i < c; i++)
        k += e->index[i] != 0;
    return k;
}

/* ---- relocations ---------------------------------------------------- */

static int push_rela(rela_vec *v, uint64_t off, uint32_t sym, uint32_t type, int64_t addend)
{
    Elf64_Rela *p = realloc(v->v, (v->n + 1) * sizeof *p);
    if (!p)
        return -1;
    v->v = p;
    v->v[v->n++] = (Elf64_Rela){off, ELF64_R_INFO(sym, type), addend};
    return 0;
}

static int by_offset(const void *a, const void *b)
{
    const Elf64_Rela *x = a, *y = b;
    return x->r_offset < y->r_offset ? -1 : x->r_offset > y->r_offset;
}

static ej_status code_relocs(emit_state *e)
{
    ej_builder *b = e->b;
    static const int content_of[] = {C_TEXT, C_RODATA, C_DATA, C_BSS, C_TDATA};
    static const char *const names[] = {".text", ".rodata", ".data", ".bss", ".tdata"};
    for (size_t i = 0; i < b->rels.n; i++) {
        const ej__brel *r = &b->rels.v[i];
        int c = content_of[b->syms.v[r->owner].sec];
        if (push_rela(&e->rela[c], r->off, e->symidx[r->target], r->type, r->addend))
            return nomem(b);
        /* The second instruction of a pair: against the label of the
         * first, or the target itself. */
        if (r->type_lo && push_rela(&e->rela[c], r->off + 4,
                                    e->label[i] ? e->label[i] : e->symidx[r->target],
                                    r->type_lo, 0))
            return nomem(b);
    }
    for (int c = C_TEXT; c <= C_TDATA; c++) {
        rela_vec *v = &e->rela[c];
        if (v->n)
            qsort(v->v, v->n, sizeof *v->v, by_offset);
        for (size_t i = 1; i < v->n; i++)
            if (v->v[i].r_offset == v->v[i - 1].r_offset)
                return ej__fail(&b->err, EJ_INVAL, "ej_builder_finish: two relocations at "
                                "%s+0x%llx", names[c], (unsigned long long)v->v[i].r_offset);
    }
    return EJ_OK;
}

/* The relocations of the builder's own sections: each table's text field,
 * each FDE's pc_begin. */
static ej_status table_relocs(emit_state *e)
{
    const ej__arch *a = e->b->arch;
    uint32_t text = section_sym(e, C_TEXT);
    uint32_t pcrel = a->kind_type[EJ_RELOC_PCREL32];
    if (e->traps && push_rela(&e->rela[C_TRAPS], 16, text, pcrel, 0))
        return nomem(e->b);
    if (e->addrmap && push_rela(&e->rela[C_ADDRMAP], 16, text, pcrel, 0))
        return nomem(e->b);
    for (size_t i = 0; i < e->nfdes; i++)
        if (push_rela(&e->rela[C_EH], e->fdes[i].off, text, a->kind_type[EJ_RELOC_PCREL32],
                      (int64_t)e->b->syms.v[e->fdes[i].sym].off))
            return nomem(e->b);
    return EJ_OK;
}

/* ---- sections ------------------------------------------------------- */

static ej_status own_sections(emit_state *e)
{
    ej_builder *b = e->b;
    long k = ej__sites_sort(b->traps.v, b->traps.n);
    if (k >= 0)
        return ej__fail(&b->err, EJ_INVAL, "ej_builder_finish: two traps at .text+0x%llx",
                        (unsigned long long)b->traps.v[k].off);
    if ((k = ej__sites_sort(b->lines.v, b->lines.n)) >= 0)
        return ej__fail(&b->err, EJ_INVAL, "ej_builder_finish: two source positions at "
                        ".text+0x%llx", (unsigned long long)b->lines.v[k].off);
    if (b->traps.n && !(e->traps = ej__traps_bytes(b->traps.v, b->traps.n, &e->traps_len)))
        return nomem(b);
    if (b->lines.n && !(e->addrmap = ej__addrmap_bytes(b->lines.v, b->lines.n, b->files.v,
                                                       b->files.n, &e->addrmap_len)))
        return nomem(b);
    size_t nfdes = 0;
    for (size_t i = 0; i < b->syms.n; i++)
        nfdes += b->syms.v[i].cfi != NULL;
    if (nfdes) {
        if (!(e->fdes = malloc(nfdes * sizeof *e->fdes)) ||
            !(e->eh = ej__eh_frame_bytes(b->arch, b->syms.v, b->syms.n, e->fdes,
                                         &e->nfdes, &e->eh_len)))
            return nomem(b);
    }
    return EJ_OK;
}

static void content_sections(emit_state *e)
{
    const ej__bbuf *s = e->b->sec;
    e->index[C_TEXT] = add_sec(e, (ej__wsec){".text", SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR,
                                             s[EJ_BS_TEXT].align, 0, 0, 0, s[EJ_BS_TEXT].p,
                                             s[EJ_BS_TEXT].len, 0});
    e->index[C_RODATA] = add_sec(e, (ej__wsec){".rodata", SHT_PROGBITS, SHF_ALLOC,
                                               s[EJ_BS_RODATA].align, 0, 0, 0,
                                               s[EJ_BS_RODATA].p, s[EJ_BS_RODATA].len, 0});
    e->index[C_DATA] = add_sec(e, (ej__wsec){".data", SHT_PROGBITS, SHF_ALLOC | SHF_WRITE,
                                             s[EJ_BS_DATA].align, 0, 0, 0, s[EJ_BS_DATA].p,
                                             s[EJ_BS_DATA].len, 0});
    e->index[C_BSS] = add_sec(e, (ej__wsec){".bss", SHT_NOBITS, SHF_ALLOC | SHF_WRITE,
                                            s[EJ_BS_BSS].align, 0, 0, 0, NULL,
                                            s[EJ_BS_BSS].len, 0});
    /* Thread-local sections only when used: a module with a TLS block
     * costs a module of the C library's. */
    if (s[EJ_BS_TDATA].len)
        e->index[C_TDATA] = add_sec(e, (ej__wsec){".tdata", SHT_PROGBITS,
                                                  SHF_ALLOC | SHF_WRITE | SHF_TLS,
                                                  s[EJ_BS_TDATA].align, 0, 0, 0,
                                                  s[EJ_BS_TDATA].p, s[EJ_BS_TDATA].len, 0});
    if (s[EJ_BS_TBSS].len)
        e->index[C_TBSS] = add_sec(e, (ej__wsec){".tbss", SHT_NOBITS,
                                                 SHF_ALLOC | SHF_WRITE | SHF_TLS,
                                                 s[EJ_BS_TBSS].align, 0, 0, 0, NULL,
                                                 s[EJ_BS_TBSS].len, 0});
    if (e->eh)
        e->index[C_EH] = add_sec(e, (ej__wsec){".eh_frame", SHT_PROGBITS, SHF_ALLOC, 8, 0, 0,
                                               0, e->eh, e->eh_len, 0});
    if (e->traps)
        e->index[C_TRAPS] = add_sec(e, (ej__wsec){EJ_TRAPS_SECTION, SHT_PROGBITS, SHF_ALLOC,
                                                  8, 0, 0, 0, e->traps, e->traps_len, 0});
    if (e->addrmap)
        e->index[C_ADDRMAP] = add_sec(e, (ej__wsec){EJ_ADDRMAP_SECTION, SHT_PROGBITS,
                                                    SHF_ALLOC, 8, 0, 0, 0, e->addrmap,
                                                    e->addrmap_len, 0});
}

/* .rela.X for each content section with relocations, then .symtab,
 * .strtab and .note.GNU-stack. */
static void table_sections(emit_state *e)
{
    static const char *const rela_names[] = {".rela.text", ".rela.rodata", ".rela.data", "",
                                             ".rela.tdata", "",
                                             ".rela.eh_frame", ".rela." EJ_TRAPS_SECTION,
                                             ".rela." EJ_ADDRMAP_SECTION};
    uint32_t symtab = (uint32_t)e->nsecs + 1;
    for (int c = 0; c < C_COUNT; c++)
        symtab += e->rela[c].n != 0;
    for (int c = 0; c < C_COUNT; c++)
        if (e->rela[c].n)
            add_sec(e, (ej__wsec){rela_names[c], SHT_RELA, SHF_INFO_LINK, 8, sizeof(Elf64_Rela),
                                  symtab, e->index[c], e->rela[c].v,
                                  e->rela[c].n * sizeof(Elf64_Rela), 0});
    add_sec(e, (ej__wsec){".symtab", SHT_SYMTAB, 0, 8, sizeof(Elf64_Sym), symtab + 1,
                          (uint32_t)e->first_global, e->syms, e->nsyms * sizeof(Elf64_Sym), 0});
    add_sec(e, (ej__wsec){".strtab", SHT_STRTAB, 0, 1, 0, 0, 0, e->strtab, e->strtab_len, 0});
    add_sec(e, (ej__wsec){".note.GNU-stack", SHT_PROGBITS, 0, 1, 0, 0, 0, NULL, 0, 0});
}

static void emit_free(emit_state *e)
{
    for (int c = 0; c < C_COUNT; c++)
        free(e->rela[c].v);
    free(e->syms);
    free(e->symidx);
    free(e->label);
    free(e->strtab);
    free(e->eh);
    free(e->traps);
    free(e->addrmap);
    free(e->fdes);
}

ej_status ej__builder_emit(ej_builder *b, void **out, size_t *len)
{
    emit_state e = {.b = b};
    ej_status st = own_sections(&e);
    if (st == EJ_OK) {
        content_sections(&e);
        st = build_symbols(&e);
    }
    if (st == EJ_OK)
        st = code_relocs(&e);
    if (st == EJ_OK)
        st = table_relocs(&e);
    if (st == EJ_OK) {
        table_sections(&e);
        st = ej__elf_write(b->arch->machine, ET_REL, e.secs, e.nsecs, out, len, &b->err);
        if (st != EJ_OK)
            ej__err_prefix(&b->err, "ej_builder_finish");
    }
    emit_free(&e);
    return st;
}

EJ_API ej_status ej_builder_finish(ej_builder *b, void **image, size_t *len)
{
    if (!b || !image || !len)
        return b ? ej__fail(&b->err, EJ_INVAL, "ej_builder_finish: NULL argument") : EJ_INVAL;
    *image = NULL;
    *len = 0;
    if (!b->image) {
        ej_status st = ej__builder_emit(b, &b->image, &b->image_len);
        if (st != EJ_OK)
            return st;
        b->finished = 1;
    }
    if (!(*image = malloc(b->image_len ? b->image_len : 1)))
        return nomem(b);
    memcpy(*image, b->image, b->image_len);
    *len = b->image_len;
    return EJ_OK;
}

EJ_API ej_status ej_builder_write(ej_builder *b, const char *path)
{
    if (!b || !path)
        return b ? ej__fail(&b->err, EJ_INVAL, "ej_builder_write: NULL argument") : EJ_INVAL;
    void *img;
    size_t len;
    ej_status st = ej_builder_finish(b, &img, &len);
    if (st != EJ_OK)
        return st;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    size_t at = 0;
    while (fd >= 0 && at < len) {
        ssize_t w = write(fd, (char *)img + at, len - at);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        at += (size_t)w;
    }
    int saved = errno;
    free(img);
    if (fd < 0 || at < len || close(fd) != 0) {
        if (fd >= 0 && at < len)
            close(fd);
        return ej__fail(&b->err, EJ_IO, "ej_builder_write: %s: %s", path,
                        strerror(fd < 0 || at < len ? saved : errno));
    }
    return EJ_OK;
}
