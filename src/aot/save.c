/* Saving a linked program as an image file (format.h): the link runs in
 * link-only mode at a base of its own, recording the fixups (src/link/
 * fixups.c); the image's bytes and its description are then written with
 * libelf to a temporary file beside PATH, checksummed and renamed over
 * PATH, so that a reader never sees a partial image. */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "aot/aot.h"
#include "aot/format.h"
#include "elf/elferr.h"
#include "elf/writer.h"
#include "debug/debug.h"
#include "link/module.h"
#include "tls/tlsmod.h"

/* The base the saving link runs at: any address works (every fixup is
 * relative to it); this one is aligned for any section alignment. */
#define SAVE_BASE ((uint64_t)1 << 40)

/* ---- strings: imported names, libraries, options, deduplicated ----------- */

typedef struct strings {
    char *buf;
    size_t len, cap;
    uint32_t *slot; /* offset + 1 by hash, open addressing */
    size_t nslot, used;
    int nomem;
} strings;

static uint32_t str_add(strings *t, const char *s)
{
    if (t->nomem)
        return 0;
    if ((t->used + 1) * 2 > t->nslot) {
        size_t n = t->nslot ? t->nslot * 2 : 256;
        uint32_t *v = calloc(n, sizeof *v);
        if (!v) {
            t->nomem = 1;
            return 0;
        }
        for (size_t i = 0; i < t->nslot; i++)
            if (t->slot[i]) {
                size_t j = ej__sym_hash(t->buf + t->slot[i] - 1) & (n - 1);
                while (v[j])
                    j = (j + 1) & (n - 1);
                v[j] = t->slot[i];
            }
        free(t->slot);
        t->slot = v;
        t->nslot = n;
    }
    size_t j = ej__sym_hash(s) & (t->nslot - 1);
    for (; t->slot[j]; j = (j + 1) & (t->nslot - 1))
        if (strcmp(t->buf + t->slot[j] - 1, s) == 0)
            return t->slot[j] - 1;
    size_t n = strlen(s) + 1;
    if (t->len + n > t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 4096;
        while (cap < t->len + n)
            cap *= 2;
        char *b = realloc(t->buf, cap);
        if (!b) {
            t->nomem = 1;
            return 0;
        }
        t->buf = b;
        t->cap = cap;
    }
    memcpy(t->buf + t->len, s, n);
    t->slot[j] = (uint32_t)t->len + 1;
    t->used++;
    t->len += n;
    return (uint32_t)(t->len - n);
}

/* ---- the description, in its stored form ---------------------------------- */

typedef struct parts {
    ej__aot_header h;
    ej__fixup *fixups;
    uint32_t *libs;
    ej__aot_export *exports;
    ej__aot_func *funcs;
    ej__aot_fnarray *fns;
    size_t nfns;
    ej__aot_table *tables;
    ej__aot_sym *syms;
    ej__aot_tls tls;      /* the thread-local block (EJ_AOT_F_TLS) */
    ej__aot_tlsword *tlswords;
    void *gdb;            /* the debugger's image, and where its addresses are */
    uint32_t *gdbfix;
    strings str;
    strings names;        /* only the names the description uses */
} parts;

static void parts_free(parts *p)
{
    free(p->fixups);
    free(p->libs);
    free(p->exports);
    free(p->funcs);
    free(p->fns);
    free(p->tables);
    free(p->syms);
    free(p->gdb);
    free(p->gdbfix);
    free(p->tlswords);
    free(p->str.buf);
    free(p->str.slot);
    free(p->names.buf);
    free(p->names.slot);
}

/* Fixups sorted by place, through a permutation: a pair's low part
 * names its high part by index, renumbered here. */
static int by_place(const void *a, const void *b, void *ctx)
{
    const ej__fixup_rec *v = ctx;
    uint64_t x = v[*(const uint32_t *)a].fx.off, y = v[*(const uint32_t *)b].fx.off;
    return x < y ? -1 : x > y;
}

static ej_status take_fixups(parts *p, ej_linker *lk, ej__err *err)
{
    const ej__fixups *f = &lk->fixups;
    p->h.nfixups = (uint32_t)f->n;
    if (!f->n)
        return EJ_OK;
    uint32_t *order = malloc(f->n * sizeof *order), *where = malloc(f->n * sizeof *where);
    p->fixups = calloc(f->n, sizeof *p->fixups);
    if (!order || !where || !p->fixups) {
        free(order);
        free(where);
        return ej__fail(err, EJ_NOMEM, "out of memory for %zu fixups", f->n);
    }
    for (size_t i = 0; i < f->n; i++)
        order[i] = (uint32_t)i;
    qsort_r(order, f->n, sizeof *order, by_place, f->v);
    for (size_t i = 0; i < f->n; i++)
        where[order[i]] = (uint32_t)i;
    for (size_t i = 0; i < f->n; i++) {
        const ej__fixup_rec *r = &f->v[order[i]];
        p->fixups[i] = r->fx;
        if (r->name)
            p->fixups[i].s = str_add(&p->str, r->name);
        if (r->fx.pair)
            p->fixups[i].pair = where[r->fx.pair - 1] + 1;
    }
    free(order);
    free(where);
    return EJ_OK;
}

static ej_status take_description(parts *p, const ej_module *m, const ej_linker *lk,
                                  ej__err *err)
{
    const ej__image *img = &m->img;
    uint64_t vb = img->vbase;
    (void)lk;
    p->h.export_cap = (uint32_t)img->export_cap;
    p->h.nfuncs = (uint32_t)img->nfuncs;
    p->h.nsyms = (uint32_t)img->nsyms;
    p->h.first_global = (uint32_t)img->first_global;
    p->h.ntables = (uint32_t)(img->ntraps + img->nmaps);
    const ej__fnlist *lists[EJ_AOT_FNLISTS] = {&img->preinit, &img->init, &img->fini};
    for (int k = 0; k < EJ_AOT_FNLISTS; k++) {
        p->h.nfn[k] = (uint32_t)lists[k]->n;
        p->nfns += lists[k]->n;
    }
    p->exports = calloc(img->export_cap ? img->export_cap : 1, sizeof *p->exports);
    p->funcs = calloc(img->nfuncs ? img->nfuncs : 1, sizeof *p->funcs);
    p->fns = calloc(p->nfns ? p->nfns : 1, sizeof *p->fns);
    p->tables = calloc(p->h.ntables ? p->h.ntables : 1, sizeof *p->tables);
    p->syms = calloc(img->nsyms ? img->nsyms : 1, sizeof *p->syms);
    if (!p->exports || !p->funcs || !p->fns || !p->tables || !p->syms)
        return ej__fail(err, EJ_NOMEM, "out of memory describing the image");
    for (size_t i = 0; i < img->export_cap; i++) {
        const ej__export *e = &img->exports[i];
        uint64_t addr = e->name == UINT32_MAX ? 0 : e->addr & EJ__EXPORT_TLS ? e->addr : e->addr - vb;
        p->exports[i] = (ej__aot_export){addr, e->hash,
                                         e->name == UINT32_MAX ? UINT32_MAX
                                                               : str_add(&p->names, img->names + e->name)};
    }
    for (size_t i = 0; i < img->nfuncs; i++)
        p->funcs[i] = (ej__aot_func){img->funcs[i].addr - vb, img->funcs[i].size,
                                     str_add(&p->names, img->names + img->funcs[i].name), 0};
    size_t k = 0;
    for (int l = 0; l < EJ_AOT_FNLISTS; l++)
        for (size_t i = 0; i < lists[l]->n; i++) {
            const ej__fnarray *a = &lists[l]->a[i];
            p->fns[k++] = (ej__aot_fnarray){a->addr - vb, a->count, a->prio, a->order,
                                            a->reverse, 0};
        }
    const uint8_t *view = ej__codemem_view(&m->mem);
    for (size_t i = 0; i < img->ntraps + img->nmaps; i++) {
        int traps = i < img->ntraps;
        const ej__table *t = traps ? &img->traps[i] : &img->maps[i - img->ntraps];
        const uint8_t *base = traps ? t->u.traps.base : t->u.map.base;
        uint32_t size = traps ? t->u.traps.size : t->u.map.size;
        p->tables[i] = (ej__aot_table){traps ? EJ_AOT_TRAPS : EJ_AOT_MAP, 0,
                                       (uint64_t)(base - view), size, t->text - vb, t->text_size};
    }
    for (size_t i = 0; i < img->nsyms; i++) {
        const ej__image_sym *s = &img->syms[i];
        p->syms[i] = (ej__aot_sym){s->addr - vb, s->size, str_add(&p->names, img->names + s->name),
                                   s->type, s->global, s->cls, 0};
    }
    return EJ_OK;
}

/* The debugger's image (src/debug/symfile.c), built now for the image at
 * its saving address, and the offsets of the addresses in it, found with
 * libelf: every allocated section's sh_addr, every defined symbol's value
 * and, with the DWARF kept, the address words its relocation noted (link/
 * dwarf.c).  A load moves them by its own address less that one. */
/* The image's DWARF section that symfile section SH of E is, if any. */
static const ej__image_dwarf *dwarf_named(const ej__image *img, Elf *e, size_t shstrndx,
                                          const GElf_Shdr *sh)
{
    const char *name = sh->sh_flags & SHF_ALLOC ? NULL : elf_strptr(e, shstrndx, sh->sh_name);
    for (size_t i = 0; name && i < img->ndwarf; i++)
        if (strcmp(img->dwarf[i].name, name) == 0)
            return &img->dwarf[i];
    return NULL;
}

static ej_status take_gdb(parts *p, const ej_module *m, ej__err *err)
{
    size_t len = 0;
    ej_status st = ej__symfile_build(&m->img, &p->gdb, &len, err);
    if (st != EJ_OK)
        return st;
    p->h.gdb_base = m->img.vbase;
    p->h.gdb_size = (uint32_t)len;
    char *copy = malloc(len); /* (elf_memory may write to what it reads) */
    Elf *e = copy ? elf_memory(memcpy(copy, p->gdb, len), len) : NULL;
    GElf_Ehdr eh;
    size_t n = 0, cap = 0;
    if (!e || !gelf_getehdr(e, &eh))
        st = copy ? ej__elf_fail(err, EJ_NOMEM, "cannot read back the debugger's image")
                  : ej__fail(err, EJ_NOMEM, "out of memory for the debugger's image");
    for (Elf_Scn *scn = NULL; st == EJ_OK && (scn = elf_nextscn(e, scn));) {
        GElf_Shdr sh;
        Elf_Data *d = NULL;
        gelf_getshdr(scn, &sh);
        size_t nsym = sh.sh_type == SHT_SYMTAB && (d = elf_getdata(scn, NULL)) ? d->d_size / sizeof(Elf64_Sym) : 0;
        const ej__image_dwarf *dw = dwarf_named(&m->img, e, eh.e_shstrndx, &sh);
        size_t nwords = dw ? dw->naddr_words : 0;
        if (n + nsym + nwords + 1 > cap) {
            cap = (n + nsym + nwords + 1) * 2;
            uint32_t *v = realloc(p->gdbfix, cap * sizeof *v);
            if (!v) {
                st = ej__fail(err, EJ_NOMEM, "out of memory for the debugger's image");
                break;
            }
            p->gdbfix = v;
        }
        if (sh.sh_flags & SHF_ALLOC)
            p->gdbfix[n++] = (uint32_t)(eh.e_shoff + elf_ndxscn(scn) * eh.e_shentsize +
                                        offsetof(Elf64_Shdr, sh_addr));
        for (size_t i = 0; i < nsym; i++) {
            GElf_Sym sym;
            if (gelf_getsym(d, (int)i, &sym) && sym.st_shndx != SHN_UNDEF && sym.st_shndx < SHN_LORESERVE)
                p->gdbfix[n++] = (uint32_t)(sh.sh_offset + i * sizeof(Elf64_Sym) +
                                            offsetof(Elf64_Sym, st_value));
        }
        for (size_t i = 0; i < nwords; i++)
            if (dw->addr_words[i] + 8 <= sh.sh_size)
                p->gdbfix[n++] = (uint32_t)(sh.sh_offset + dw->addr_words[i]);
    }
    if (e)
        elf_end(e);
    free(copy);
    p->h.ngdbfix = (uint32_t)n;
    return st;
}

/* The thread-local block and its table's entries, as the saving link
 * handed them to the C library.  Slots kept only to relax sequences the
 * saving link did not relax are plain block offsets: nothing reads them,
 * and they must not ask the load for static TLS. */
static ej_status take_tls(parts *p, const ej_linker *lk, ej__err *err)
{
    const ej__tls_plan *t = &lk->tls;
    if (!t->nents && !t->memsz)
        return EJ_OK;
    if (!t->saved_words || (t->filesz && !t->saved_init))
        return ej__fail(err, EJ_STATE, "the thread-local block was not kept for the image");
    p->h.flags |= EJ_AOT_F_TLS;
    p->tls = (ej__aot_tls){t->filesz, t->memsz, t->align, lk->plan.tls_off, t->table_size,
                           (uint32_t)t->nents, t->own_tp ? (t->own_tp - 1) / 8 + 1 : 0,
                           t->static_user ? str_add(&p->str, t->static_user->name) + 1 : 0, 0};
    if (!(p->tlswords = calloc(t->nents ? t->nents : 1, sizeof *p->tlswords)))
        return ej__fail(err, EJ_NOMEM, "out of memory for the thread-local table");
    for (size_t i = 0; i < t->nents; i++) {
        const ej__tls_word *w = &t->saved_words[i];
        uint8_t what = t->ents[i].optional && !t->relax ? EJ_TLSW_DTPOFF : w->what;
        p->tlswords[i] = (ej__aot_tlsword){what, w->name ? str_add(&p->str, w->name) + 1 : 0,
                                           w->off};
    }
    return EJ_OK;
}

/* What was linked with what, for `elfjit inspect` and the cache key. */
static void take_options(parts *p, const ej_linker *lk, const char *entry, unsigned flags)
{
    if (entry)
        p->h.entry = str_add(&p->str, entry) + 1;
    char opts[512];
    snprintf(opts, sizeof opts, "elfjit %s, %zu objects, registration 0x%x%s%s",
             EJ_VERSION_STRING, lk->nobjs, lk->registration,
             lk->tls.relax ? ", TLS sequences relaxed" : "",
             flags & EJ_IMAGE_DWARF ? ", DWARF kept" : "");
    p->h.options = str_add(&p->str, opts);
    p->h.nlibs = (uint32_t)lk->nlibs;
    p->libs = calloc(lk->nlibs ? lk->nlibs : 1, sizeof *p->libs);
    if (!p->libs) {
        p->str.nomem = 1;
        return;
    }
    for (size_t i = 0; i < lk->nlibs; i++)
        p->libs[i] = str_add(&p->str, lk->lib_names[i]);
}

static uint64_t input_hash(const ej_linker *lk)
{
    uLong crc = crc32(0, NULL, 0), adl = adler32(0, NULL, 0);
    for (size_t o = 0; o < lk->nobjs; o++) {
        const ej__object *obj = lk->objs[o].o;
        for (size_t done = 0; done < obj->image_len;) {
            uInt n = (uInt)(obj->image_len - done > (1u << 30) ? 1u << 30 : obj->image_len - done);
            crc = crc32(crc, obj->image + done, n);
            adl = adler32(adl, obj->image + done, n);
            done += n;
        }
    }
    return (uint64_t)crc << 32 | (uint32_t)adl;
}

static void take_header(parts *p, const ej_module *m, const ej_linker *lk)
{
    ej__aot_header *h = &p->h;
    memcpy(h->magic, EJ_AOT_MAGIC, sizeof h->magic);
    h->version = EJ_AOT_VERSION;
    h->header_size = sizeof *h;
    h->machine = m->img.machine;
    h->flags = lk->plan.need_got || lk->plan.ngot ? EJ_AOT_F_GOT : 0;
    h->page_size = ej__page_size();
    h->image_size = m->img.size;
    h->max_align = lk->plan.max_align;
    for (int c = 0; c < EJ_CLS_COUNT; c++) {
        h->cls_off[c] = m->img.cls_off[c];
        h->cls_size[c] = m->img.cls_size[c];
    }
    h->eh_off = m->img.eh_size ? m->img.eh_addr - m->img.vbase : 0;
    h->eh_size = m->img.eh_size;
    h->dso_off = (uint64_t)(uintptr_t)m->img.dso_handle - m->img.vbase;
    h->data_off = h->page_size;
    h->input_hash = input_hash(lk);
}

/* ---- writing ---------------------------------------------------------------- */

typedef struct outsec {
    const char *name;
    uint32_t type;
    uint64_t flags, addr, align;
    const void *data;
    uint64_t size;
    int deflate;  /* stored SHF_COMPRESSED (zlib, by libelf) */
    uint64_t off; /* chosen by the layout */
} outsec;

/* The sections: the four classes (SHT_NOBITS placeholders when the image
 * is stored deflated, in .elfjit.image), then the description. */
static size_t add_sections(const parts *p, const ej_module *m, const uint8_t *lk_tls_init,
                           int deflate, outsec *s)
{
    const ej__aot_header *h = &p->h;
    const uint8_t *img = ej__codemem_view(&m->mem);
    static const char *const cls_names[] = {".text", ".rodata", ".data", ".bss"};
    static const uint64_t cls_flags[] = {SHF_ALLOC | SHF_EXECINSTR, SHF_ALLOC,
                                         SHF_ALLOC | SHF_WRITE, SHF_ALLOC | SHF_WRITE};
    size_t k = 0;
    for (int c = 0; c < EJ_CLS_COUNT; c++) {
        uint64_t size = c == EJ_CLS_BSS ? h->image_size - h->cls_off[c] : h->cls_size[c];
        s[k++] = (outsec){cls_names[c], c == EJ_CLS_BSS || deflate ? SHT_NOBITS : SHT_PROGBITS,
                          cls_flags[c], h->cls_off[c], h->page_size, img + h->cls_off[c], size,
                          0, 0};
    }
#define META(nm, ptr, bytes) s[k++] = (outsec){nm, SHT_PROGBITS, 0, 0, 8, ptr, bytes, deflate, 0}
    META(".elfjit", h, sizeof *h);
    s[k - 1].deflate = 0; /* (read first, to know the rest) */
    if (deflate)
        META(".elfjit.image", img, h->cls_off[EJ_CLS_BSS]);
    META(".elfjit.fixups", p->fixups, (uint64_t)h->nfixups * sizeof *p->fixups);
    META(".elfjit.strings", p->str.buf, p->str.len);
    META(".elfjit.libs", p->libs, (uint64_t)h->nlibs * sizeof *p->libs);
    META(".elfjit.exports", p->exports, (uint64_t)h->export_cap * sizeof *p->exports);
    META(".elfjit.names", p->names.buf, h->names_size);
    META(".elfjit.funcs", p->funcs, (uint64_t)h->nfuncs * sizeof *p->funcs);
    META(".elfjit.initfini", p->fns, p->nfns * sizeof *p->fns);
    META(".elfjit.tables", p->tables, (uint64_t)h->ntables * sizeof *p->tables);
    META(".elfjit.syms", p->syms, (uint64_t)h->nsyms * sizeof *p->syms);
    META(".elfjit.gdb", p->gdb, h->gdb_size);
    META(".elfjit.gdbfix", p->gdbfix, (uint64_t)h->ngdbfix * sizeof *p->gdbfix);
    if (h->flags & EJ_AOT_F_TLS) {
        META(".elfjit.tls", &p->tls, sizeof p->tls);
        META(".elfjit.tlsinit", lk_tls_init, p->tls.filesz);
        META(".elfjit.tlswords", p->tlswords, (uint64_t)p->tls.nwords * sizeof *p->tlswords);
    }
#undef META
    for (size_t i = 0; i < k; i++)
        if (s[i].size < 64)
            s[i].deflate = 0; /* (the compression header alone is 24 bytes) */
    return k;
}

/* Offsets, once the sizes are final: the image from DATA_OFF as it lies
 * in memory, then the rest, 8-aligned.  Returns the end. */
static uint64_t lay_out(Elf *e, const ej__aot_header *h)
{
    uint64_t end = h->data_off + (h->flags & EJ_AOT_F_DEFLATED ? 0 : h->cls_off[EJ_CLS_BSS]);
    for (Elf_Scn *scn = NULL; (scn = elf_nextscn(e, scn));) {
        GElf_Shdr sh;
        gelf_getshdr(scn, &sh);
        if (sh.sh_flags & SHF_ALLOC) {
            sh.sh_offset = h->data_off + sh.sh_addr;
        } else {
            end = (end + sh.sh_addralign - 1) & ~(sh.sh_addralign - 1);
            sh.sh_offset = end;
            end += sh.sh_size;
        }
        gelf_update_shdr(scn, &sh);
    }
    return end;
}

/* One section with its data; compressed by libelf when S asks. */
static ej_status new_section(Elf *e, const outsec *s, uint32_t name, const char *path,
                             ej__err *err)
{
    int code;
    Elf_Scn *scn = ej__elf_newscn(e, &code);
    if (!scn)
        return ej__elf_fail_code(err, EJ_IO, code, "%s: cannot add section %s", path, s->name);
    GElf_Shdr sh;
    Elf_Data *d = elf_newdata(scn);
    if (!d || !gelf_getshdr(scn, &sh))
        return ej__elf_fail(err, EJ_IO, "%s: cannot add section %s", path, s->name);
    sh.sh_name = name;
    sh.sh_type = s->type;
    sh.sh_flags = s->flags;
    sh.sh_addr = s->addr;
    sh.sh_size = s->size;
    sh.sh_addralign = s->align;
    d->d_buf = s->type == SHT_NOBITS ? NULL : (void *)(uintptr_t)s->data;
    d->d_size = s->size;
    d->d_type = ELF_T_BYTE;
    d->d_align = 1;
    if (!gelf_update_shdr(scn, &sh))
        return ej__elf_fail(err, EJ_IO, "%s: cannot add section %s", path, s->name);
    if (s->deflate && elf_compress(scn, ELFCOMPRESS_ZLIB, 0) < 0)
        return ej__elf_fail(err, EJ_NOMEM, "%s: cannot compress section %s", path, s->name);
    return EJ_OK;
}

static ej_status elf_write(int fd, const parts *p, const outsec *s, size_t n, uint64_t *hdr_off,
                           ej__err *err, const char *path)
{
    const ej__aot_header *h = &p->h;
    Elf *e = elf_begin(fd, ELF_C_WRITE, NULL);
    if (!e)
        return ej__elf_fail(err, EJ_IO, "%s: cannot start writing the image", path);
    elf_flagelf(e, ELF_C_SET, ELF_F_LAYOUT);
    GElf_Ehdr eh;
    ej_status st = EJ_OK;
    if (!gelf_newehdr(e, ELFCLASS64) || !gelf_newphdr(e, 3) || !gelf_getehdr(e, &eh)) {
        elf_end(e);
        return ej__elf_fail(err, EJ_IO, "%s: cannot write the ELF header", path);
    }
    memcpy(eh.e_ident, ELFMAG, SELFMAG);
    eh.e_ident[EI_CLASS] = ELFCLASS64;
    eh.e_ident[EI_DATA] = ELFDATA2LSB;
    eh.e_ident[EI_VERSION] = EV_CURRENT;
    eh.e_ident[EI_OSABI] = ELFOSABI_NONE;
    eh.e_type = ET_DYN;
    eh.e_machine = h->machine;
    eh.e_version = EV_CURRENT;
    eh.e_phoff = sizeof(Elf64_Ehdr);
    /* (Now already: libelf compresses in the file's byte order.) */
    if (!gelf_update_ehdr(e, &eh)) {
        elf_end(e);
        return ej__elf_fail(err, EJ_IO, "%s: cannot write the ELF header", path);
    }
    /* The section names: one table, ".shstrtab" last. */
    size_t names_len = 1 + sizeof ".shstrtab";
    for (size_t i = 0; i < n; i++)
        names_len += strlen(s[i].name) + 1;
    char *shstr = calloc(1, names_len);
    if (!shstr) {
        elf_end(e);
        return ej__fail(err, EJ_NOMEM, "%s: out of memory writing the image", path);
    }
    size_t at = 1;
    for (size_t i = 0; i < n && st == EJ_OK; i++) {
        st = new_section(e, &s[i], (uint32_t)at, path, err);
        memcpy(shstr + at, s[i].name, strlen(s[i].name) + 1);
        at += strlen(s[i].name) + 1;
    }
    memcpy(shstr + at, ".shstrtab", sizeof ".shstrtab");
    outsec names = {".shstrtab", SHT_STRTAB, 0, 0, 1, shstr, names_len, 0, 0};
    if (st == EJ_OK)
        st = new_section(e, &names, (uint32_t)at, path, err);
    if (st == EJ_OK) {
        eh.e_shstrndx = (Elf64_Half)(n + 1);
        uint64_t end = lay_out(e, h);
        GElf_Shdr hs;
        gelf_getshdr(elf_getscn(e, EJ_CLS_COUNT + 1), &hs); /* (.elfjit) */
        *hdr_off = hs.sh_offset;
        eh.e_shoff = (end + 7) & ~(uint64_t)7;
        if (!gelf_update_ehdr(e, &eh))
            st = ej__elf_fail(err, EJ_IO, "%s: cannot write the ELF header", path);
    }
    /* The three PT_LOADs: text RX, read-only R, data and bss RW (a deflated
     * image has nothing to map from the file). */
    static const uint32_t pf[] = {PF_R | PF_X, PF_R, PF_R | PF_W};
    int deflated = (h->flags & EJ_AOT_F_DEFLATED) != 0;
    for (int c = 0; c < 3 && st == EJ_OK; c++) {
        uint64_t lo = h->cls_off[c];
        uint64_t memsz = c == 2 ? h->image_size - lo : h->cls_size[c];
        uint64_t filesz = deflated ? 0 : c == 2 ? h->cls_size[EJ_CLS_DATA] : h->cls_size[c];
        GElf_Phdr ph = {PT_LOAD, pf[c], h->data_off + lo, lo, lo, filesz, memsz, h->page_size};
        if (!gelf_update_phdr(e, c, &ph))
            st = ej__elf_fail(err, EJ_IO, "%s: cannot write the program headers", path);
    }
    if (st == EJ_OK && elf_update(e, ELF_C_WRITE) < 0)
        st = ej__elf_fail(err, EJ_IO, "%s: cannot write the image", path);
    elf_end(e);
    free(shstr);
    return st;
}

/* The checksum of the file as written, stored into its header (at file
 * offset HDR_OFF). */
static ej_status seal(int fd, uint64_t hdr_off, const char *path, ej__err *err)
{
    struct stat stt;
    if (fstat(fd, &stt) != 0)
        return ej__fail(err, EJ_IO, "%s: cannot examine the image written: %s", path,
                        strerror(errno));
    void *map = mmap(NULL, (size_t)stt.st_size, PROT_READ, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED)
        return ej__fail(err, errno == ENOMEM ? EJ_NOMEM : EJ_IO,
                        "%s: cannot map the image written: %s", path, strerror(errno));
    uint32_t crc = ej__aot_crc(map, (size_t)stt.st_size, hdr_off);
    munmap(map, (size_t)stt.st_size);
    off_t at = (off_t)(hdr_off + offsetof(ej__aot_header, crc));
    if (pwrite(fd, &crc, sizeof crc, at) != (ssize_t)sizeof crc)
        return ej__fail(err, EJ_IO, "%s: cannot write the checksum: %s", path, strerror(errno));
    return EJ_OK;
}

ej_status ej__aot_write(const ej_module *m, ej_linker *lk, const char *path, const char *entry,
                        unsigned flags, ej__err *err)
{
    parts p;
    memset(&p, 0, sizeof p);
    take_header(&p, m, lk);
    int deflate = (flags & EJ_IMAGE_COMPRESS) != 0;
    if (deflate)
        p.h.flags |= EJ_AOT_F_DEFLATED;
    ej_status st = take_fixups(&p, lk, err);
    if (st == EJ_OK)
        st = take_description(&p, m, lk, err);
    if (st == EJ_OK)
        st = take_gdb(&p, m, err);
    if (st == EJ_OK)
        st = take_tls(&p, lk, err);
    if (st == EJ_OK)
        take_options(&p, lk, entry, flags);
    if (st == EJ_OK && (p.str.nomem || p.names.nomem))
        st = ej__fail(err, EJ_NOMEM, "out of memory for the image's strings");
    p.h.strings_size = (uint32_t)p.str.len;
    p.h.names_size = (uint32_t)p.names.len;
    outsec s[20];
    size_t n = st == EJ_OK ? add_sections(&p, m, lk->tls.saved_init, deflate, s) : 0;
    uint64_t hdr_off = 0;
    /* A temporary file in PATH's directory, renamed over PATH once whole. */
    char tmp[4096];
    int fd = -1;
    if (st == EJ_OK) {
        if (snprintf(tmp, sizeof tmp, "%s.XXXXXX", path) >= (int)sizeof tmp)
            st = ej__fail(err, EJ_INVAL, "%s: path too long", path);
        else if ((fd = mkstemp(tmp)) < 0)
            st = ej__fail(err, errno == ENOMEM ? EJ_NOMEM : EJ_IO,
                          "%s: cannot create a temporary file beside it: %s", path,
                          strerror(errno));
    }
    if (st == EJ_OK && fchmod(fd, 0644) != 0)
        st = ej__fail(err, EJ_IO, "%s: cannot set the image's mode: %s", path, strerror(errno));
    if (st == EJ_OK)
        st = elf_write(fd, &p, s, n, &hdr_off, err, path);
    if (st == EJ_OK)
        st = seal(fd, hdr_off, path, err);
    if (fd >= 0 && close(fd) != 0 && st == EJ_OK)
        st = ej__fail(err, EJ_IO, "%s: cannot write the image: %s", path, strerror(errno));
    if (st == EJ_OK && rename(tmp, path) != 0)
        st = ej__fail(err, EJ_IO, "%s: cannot put the image in place: %s", path, strerror(errno));
    if (st != EJ_OK && fd >= 0)
        unlink(tmp);
    parts_free(&p);
    return st;
}

EJ_API ej_status ej_linker_save_image(ej_linker *lk, const char *path, const char *entry,
                                      unsigned flags)
{
    if (!lk || !path)
        return lk ? ej__fail(&lk->err, EJ_INVAL, "ej_linker_save_image: NULL argument") : EJ_INVAL;
    if (flags & ~(unsigned)(EJ_IMAGE_COMPRESS | EJ_IMAGE_DWARF))
        return ej__fail(&lk->err, EJ_INVAL, "ej_linker_save_image: unknown flags 0x%x", flags);
    if (lk->image)
        return ej__fail(&lk->err, EJ_STATE, "%s: already an image", lk->image->path);
    lk->saving = 1;
    if (!lk->fake_base)
        lk->fake_base = SAVE_BASE;
    ej_module *m = NULL;
    ej_status st = ej_linker_link(lk, &m);
    if (st == EJ_OK && m->img.size >= ((uint64_t)1 << 32))
        st = ej__fail(&lk->err, EJ_UNSUPPORTED, "an image of 4 GiB or more cannot be saved");
    if (st == EJ_OK && entry && !ej_module_symbol(m, entry))
        st = ej__fail(&lk->err, EJ_NOTFOUND, "no global symbol '%s' to run", entry);
    if (st == EJ_OK)
        st = ej__image_symbols(&m->img, lk, &lk->err);
    if (st == EJ_OK && (flags & EJ_IMAGE_DWARF))
        st = ej__image_debug_info(&m->img, lk, &lk->err);
    if (st == EJ_OK)
        st = ej__aot_write(m, lk, path, entry, flags, &lk->err);
    ej_module_free(m);
    return st;
}
