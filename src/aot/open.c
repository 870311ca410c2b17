/* Opening an image file (format.h) and checking it before anything of it
 * is trusted: libelf reads the ELF structure; the header's magic and
 * version, then the checksum of the whole file, then what the image
 * needs of this system; then every count, offset and size. */
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

#include "aot/aot.h"
#include "checksum/crc32.h"
#include "inflate/inflate.h"
#include "codemem/codemem.h"
#include "elf/elferr.h"
#include "image/image.h"
#include "reloc/reloc.h"
#include "tls/tlsmod.h"


/* The checksum of the whole file with the four bytes of the header's
 * checksum field (at AT) taken as zero.  One thread: a second one would
 * halve a large file's time, but glibc turns its single-thread shortcuts
 * (mutexes, malloc, stdio) off for good once a process has started a
 * thread, and the program loaded pays for that on every lock it takes
 * (measured: 0.3 ms of sqlite's run). */
uint32_t ej__aot_crc(const uint8_t *file, size_t len, uint64_t hdr_off)
{
    static const uint8_t zero[4];
    size_t at = (size_t)hdr_off + offsetof(ej__aot_header, crc);
    if (at >= len || len - at < sizeof zero)
        return ej__crc32(0, file, len);
    uint32_t crc = ej__crc32(0, file, at);
    crc = ej__crc32(crc, zero, sizeof zero);
    return ej__crc32(crc, file + at + sizeof zero, len - at - sizeof zero);
}

/* One section of the description, by name: its bytes and size. */
typedef struct part {
    const char *name;
    const uint8_t *data;
    uint64_t size, off, flags;
    uint32_t type;
    Elf_Scn *scn;
} part;

enum { P_HEADER, P_FIXUPS, P_STRINGS, P_LIBS, P_EXPORTS, P_NAMES, P_FUNCS, P_INITFINI,
       P_TABLES, P_SYMS, P_GDB, P_GDBFIX, P_TEXT, P_RODATA, P_DATA, P_BSS, P_IMAGE, P_TLS,
       P_TLSINIT, P_TLSWORDS, NPARTS };
static const char *const part_names[NPARTS] = {
    ".elfjit", ".elfjit.fixups", ".elfjit.strings", ".elfjit.libs", ".elfjit.exports",
    ".elfjit.names", ".elfjit.funcs", ".elfjit.initfini", ".elfjit.tables", ".elfjit.syms",
    ".elfjit.gdb", ".elfjit.gdbfix", ".text", ".rodata", ".data", ".bss", ".elfjit.image",
    ".elfjit.tls", ".elfjit.tlsinit", ".elfjit.tlswords"};

static ej_status find_parts(Elf *e, const uint8_t *file, size_t len, part *p, const char *path,
                            ej__err *err)
{
    size_t shstrndx;
    if (elf_getshdrstrndx(e, &shstrndx) != 0)
        return ej__elf_fail(err, EJ_BADELF, "%s: no section names", path);
    for (Elf_Scn *scn = NULL; (scn = elf_nextscn(e, scn));) {
        GElf_Shdr sh;
        const char *name;
        if (!gelf_getshdr(scn, &sh) || !(name = elf_strptr(e, shstrndx, sh.sh_name)))
            return ej__elf_fail(err, EJ_BADELF, "%s: a section header cannot be read", path);
        for (int i = 0; i < NPARTS; i++) {
            if (strcmp(name, part_names[i]) != 0)
                continue;
            if (p[i].name)
                return ej__fail(err, EJ_BADELF, "%s: two %s sections", path, name);
            if (sh.sh_type != SHT_NOBITS &&
                (sh.sh_offset > len || sh.sh_size > len - sh.sh_offset))
                return ej__fail(err, EJ_BADELF,
                                "%s: section %s (0x%llx bytes at 0x%llx) lies past the end of "
                                "the file (0x%zx bytes): truncated", path, name,
                                (unsigned long long)sh.sh_size, (unsigned long long)sh.sh_offset,
                                len);
            /* (SHT_NOBITS: no bytes, an offset that means nothing) */
            p[i] = (part){name, sh.sh_type == SHT_NOBITS ? NULL : file + sh.sh_offset,
                          sh.sh_size, sh.sh_offset, sh.sh_flags, sh.sh_type, scn};
        }
    }
    for (int i = 0; i < P_IMAGE; i++) /* (the rest only in deflated or TLS images) */
        if (!p[i].name)
            return ej__fail(err, EJ_BADELF, "%s: no %s section%s", path, part_names[i],
                            i == P_HEADER ? " (not an elfjit image: a shared object? -l "
                                            "links those)" : "");
    return EJ_OK;
}

/* The header's own fields, before the checksum: what it is. */
static ej_status check_identity(const part *hp, const char *path, ej__err *err)
{
    ej__aot_header h;
    if (hp->size < 24)
        return ej__fail(err, EJ_BADELF, "%s: the .elfjit header is %llu bytes", path,
                        (unsigned long long)hp->size);
    memcpy(&h, hp->data, 24);
    if (memcmp(h.magic, EJ_AOT_MAGIC, sizeof h.magic) != 0)
        return ej__fail(err, EJ_BADELF, "%s: not an elfjit image (bad magic in .elfjit)", path);
    if (h.version != EJ_AOT_VERSION)
        return ej__fail(err, EJ_UNSUPPORTED, "%s: image format version %u; this elfjit (%s) "
                        "reads version %u: link it again", path, h.version, EJ_VERSION_STRING,
                        EJ_AOT_VERSION);
    if (h.header_size != sizeof h || hp->size != sizeof h)
        return ej__fail(err, EJ_BADELF, "%s: a %llu-byte header, not %zu", path,
                        (unsigned long long)hp->size, sizeof h);
    return EJ_OK;
}

/* What the image needs of this process: its machine, CPU and page size. */
static ej_status check_system(const ej__aot_header *h, const char *path, ej__err *err)
{
    const ej__arch *a = ej__arch_for_machine(h->machine), *host = ej__host_arch();
    if (a != host)
        return ej__fail(err, EJ_UNSUPPORTED, "%s: an image for %s (machine %u), and this is "
                        "%s: it cannot run here", path, a ? a->name : "an unknown machine",
                        h->machine, host->name);
    uint64_t have[2] = {getauxval(AT_HWCAP), getauxval(AT_HWCAP2)};
    uint64_t need[2] = {h->hwcap, h->hwcap2};
    for (int i = 0; i < 2; i++)
        if (need[i] & ~have[i])
            return ej__fail(err, EJ_UNSUPPORTED, "%s: the code assumes CPU features this one "
                            "lacks (AT_HWCAP%s bits 0x%llx)", path, i ? "2" : "",
                            (unsigned long long)(need[i] & ~have[i]));
    size_t page = ej__page_size();
    if (!h->page_size || h->page_size % page || h->page_size & (h->page_size - 1))
        return ej__fail(err, EJ_UNSUPPORTED, "%s: laid out for %llu-byte pages, and this "
                        "system's are %zu bytes: link it again here", path,
                        (unsigned long long)h->page_size, page);
    return EJ_OK;
}

/* A deflated image's bytes: ELF's compression header, then a zlib stream
 * of exactly the image's bytes up to its .bss. */
static ej_status check_deflated(const ej__aot_header *h, const part *z, const char *path,
                                ej__err *err)
{
    Elf64_Chdr ch;
    if (!z->name || !(z->flags & SHF_COMPRESSED) || z->size < sizeof ch)
        return ej__fail(err, EJ_BADELF, "%s: deflated, and no compressed .elfjit.image", path);
    memcpy(&ch, z->data, sizeof ch);
    if (ch.ch_type != ELFCOMPRESS_ZLIB || ch.ch_size != h->cls_off[EJ_CLS_BSS])
        return ej__fail(err, EJ_BADELF, "%s: .elfjit.image holds %llu bytes (compression %u), "
                        "and the image %llu", path, (unsigned long long)ch.ch_size, ch.ch_type,
                        (unsigned long long)h->cls_off[EJ_CLS_BSS]);
    return EJ_OK;
}

/* The layout: classes in order, page aligned, inside the image, the
 * image in the file where the header says. */
static ej_status check_layout(const ej__aot_header *h, const part *p, size_t len,
                              const char *path, ej__err *err)
{
    uint64_t pg = h->page_size, prev = 0;
    if (h->image_size >= ((uint64_t)1 << 32) || h->image_size % pg || !h->max_align ||
        h->max_align & (h->max_align - 1) || h->max_align > ((uint64_t)1 << 30))
        return ej__fail(err, EJ_BADELF, "%s: image size 0x%llx or alignment 0x%llx is not valid",
                        path, (unsigned long long)h->image_size, (unsigned long long)h->max_align);
    for (int c = 0; c < EJ_CLS_COUNT; c++) {
        if (h->cls_off[c] % pg || h->cls_off[c] < prev || h->cls_off[c] > h->image_size ||
            h->cls_size[c] > h->image_size - h->cls_off[c])
            return ej__fail(err, EJ_BADELF, "%s: permission class %d at 0x%llx+0x%llx does not "
                            "fit the image", path, c, (unsigned long long)h->cls_off[c],
                            (unsigned long long)h->cls_size[c]);
        prev = h->cls_off[c] + h->cls_size[c];
        const part *s = &p[P_TEXT + c];
        if (c < EJ_CLS_BSS && !(h->flags & EJ_AOT_F_DEFLATED) &&
            (s->off != h->data_off + h->cls_off[c] || s->size != h->cls_size[c] ||
             s->type != SHT_PROGBITS))
            return ej__fail(err, EJ_BADELF, "%s: section %s is not where the header puts it",
                            path, s->name);
    }
    if (h->eh_off > h->image_size || h->eh_size > h->image_size - h->eh_off ||
        h->dso_off > h->image_size || h->image_size - h->dso_off < 8)
        return ej__fail(err, EJ_BADELF, "%s: .eh_frame or __dso_handle outside the image", path);
    if (h->flags & EJ_AOT_F_DEFLATED)
        return check_deflated(h, &p[P_IMAGE], path, err);
    if (h->data_off % pg || h->data_off > len || h->cls_off[EJ_CLS_BSS] > len - h->data_off)
        return ej__fail(err, EJ_BADELF, "%s: the image's 0x%llx bytes at file offset 0x%llx lie "
                        "past the end of the file: truncated", path,
                        (unsigned long long)h->cls_off[EJ_CLS_BSS], (unsigned long long)h->data_off);
    return EJ_OK;
}

/* A copy of part P, which must hold exactly N records of SIZE bytes: from
 * the file, or inflated from it (SHF_COMPRESSED: ELF's compression header,
 * then a zlib stream) straight into the copy. */
static ej_status take(part *p, uint64_t n, size_t size, void **out, const char *path,
                      ej__err *err)
{
    *out = NULL;
    if (p->type == SHT_NOBITS)
        return ej__fail(err, EJ_BADELF, "%s: %s has no bytes", path, p->name);
    Elf64_Chdr ch = {0};
    int deflated = (p->flags & SHF_COMPRESSED) != 0;
    if (deflated && p->size < sizeof ch)
        return ej__fail(err, EJ_BADELF, "%s: %s: compressed, and shorter than its compression "
                        "header", path, p->name);
    if (deflated)
        memcpy(&ch, p->data, sizeof ch);
    if (deflated && ch.ch_type != ELFCOMPRESS_ZLIB)
        return ej__fail(err, EJ_BADELF, "%s: %s: compressed by unknown method %u", path, p->name,
                        ch.ch_type);
    uint64_t have = deflated ? ch.ch_size : p->size;
    if (n > UINT64_MAX / size || have != n * size)
        return ej__fail(err, EJ_BADELF, "%s: %s holds %llu bytes, and the header says %llu "
                        "records of %zu", path, p->name, (unsigned long long)have,
                        (unsigned long long)n, size);
    if (have > SIZE_MAX || !(*out = malloc(have ? (size_t)have : 1)))
        return ej__fail(err, EJ_NOMEM, "%s: out of memory for %s", path, p->name);
    if (!deflated) {
        memcpy(*out, p->data, (size_t)have);
        return EJ_OK;
    }
    const char *why = "";
    ej__inflate_result r = ej__inflate(*out, (size_t)have, p->data + sizeof ch,
                                       (size_t)(p->size - sizeof ch), &why);
    if (r == EJ_INFLATE_OK)
        return EJ_OK;
    free(*out);
    *out = NULL;
    return ej__fail(err, r == EJ_INFLATE_NOMEM ? EJ_NOMEM : EJ_BADELF, "%s: cannot inflate %s: %s",
                    path, p->name, why);
}

static ej_status take_parts(ej__aot *a, part *p, ej__err *err)
{
    const ej__aot_header *h = &a->h;
    ej_status st = EJ_OK;
    uint64_t nfns = (uint64_t)h->nfn[0] + h->nfn[1] + h->nfn[2];
#define TAKE(i, n, field)                                                                    \
    if (st == EJ_OK)                                                                         \
        st = take(&p[i], n, sizeof *a->field, (void **)&a->field, a->path, err)
    TAKE(P_FIXUPS, h->nfixups, fixups);
    TAKE(P_LIBS, h->nlibs, libs);
    TAKE(P_EXPORTS, h->export_cap, exports);
    TAKE(P_FUNCS, h->nfuncs, funcs);
    TAKE(P_INITFINI, nfns, fns);
    TAKE(P_TABLES, h->ntables, tables);
#undef TAKE
    /* The debugger's symbols are only checked (nothing at load reads them:
     * the debugger's image is prebuilt): in place, unless inflated. */
    if (st == EJ_OK && (p[P_SYMS].flags & SHF_COMPRESSED)) {
        st = take(&p[P_SYMS], h->nsyms, sizeof(ej__aot_sym), &a->syms_copy, a->path, err);
        a->syms = a->syms_copy;
    } else if (st == EJ_OK && (p[P_SYMS].type == SHT_NOBITS ||
                               p[P_SYMS].size != (uint64_t)h->nsyms * sizeof(ej__aot_sym))) {
        st = ej__fail(err, EJ_BADELF, "%s: .elfjit.syms holds %llu bytes, not %u symbols",
                      a->path, (unsigned long long)p[P_SYMS].size, h->nsyms);
    } else {
        a->syms = (const ej__aot_sym *)(const void *)p[P_SYMS].data;
    }
    if (st == EJ_OK)
        st = take(&p[P_STRINGS], h->strings_size, 1, (void **)&a->strings, a->path, err);
    if (st == EJ_OK)
        st = take(&p[P_NAMES], h->names_size, 1, (void **)&a->names, a->path, err);
    if (st == EJ_OK)
        st = take(&p[P_GDB], h->gdb_size, 1, (void **)&a->gdb, a->path, err);
    if (st == EJ_OK)
        st = take(&p[P_GDBFIX], h->ngdbfix, sizeof *a->gdbfix, (void **)&a->gdbfix, a->path, err);
    if (st != EJ_OK || !(h->flags & EJ_AOT_F_TLS))
        return st;
    ej__aot_tls *tls = NULL;
    if (!p[P_TLS].name || !p[P_TLSINIT].name || !p[P_TLSWORDS].name)
        return ej__fail(err, EJ_BADELF, "%s: thread-local storage without its sections", a->path);
    st = take(&p[P_TLS], 1, sizeof *tls, (void **)&tls, a->path, err);
    if (st == EJ_OK)
        a->tls = *tls;
    free(tls);
    if (st == EJ_OK)
        st = take(&p[P_TLSINIT], a->tls.filesz, 1, (void **)&a->tlsinit, a->path, err);
    if (st == EJ_OK)
        st = take(&p[P_TLSWORDS], a->tls.nwords, sizeof *a->tlswords, (void **)&a->tlswords,
                  a->path, err);
    return st;
}

/* Offset S into a string table of N bytes names a terminated string. */
static int str_ok(const char *tab, uint64_t n, uint64_t s)
{
    return s < n && memchr(tab + s, 0, n - s) != NULL;
}

/* The thread-local block and table: what is wrong, or NULL. */
static const char *check_tls(const ej__aot *a)
{
    const ej__aot_tls *t = &a->tls;
    uint64_t words = 0, nstr = a->h.strings_size;
    if (!t->align || t->align & (t->align - 1) || t->align > 65536 || t->filesz > t->memsz ||
        t->memsz > ((uint64_t)1 << 30))
        return "thread-local block of a bad size or alignment";
    for (uint32_t i = 0; i < t->nwords; i++) {
        const ej__aot_tlsword *w = &a->tlswords[i];
        if (w->what > EJ_TLSW_DESC || (w->name && !str_ok(a->strings, nstr, w->name - 1)) ||
            (!w->name && w->off > t->memsz))
            return "thread-local table entry naming nothing";
        words += w->what == EJ_TLSW_DESC ? 2 : 1;
    }
    if (words * 8 != t->table_size || t->table_off > a->h.image_size ||
        t->table_size > a->h.image_size - t->table_off || t->own_tp > words ||
        (t->static_user && !str_ok(a->strings, nstr, t->static_user - 1)))
        return "thread-local table that does not fit";
    return NULL;
}

static ej_status check_description(const ej__aot *a, ej__err *err)
{
    const ej__aot_header *h = &a->h;
    uint64_t size = h->image_size, nstr = h->strings_size, nnames = h->names_size;
    const ej__arch *arch = ej__host_arch();
    const char *what = NULL;
    uint64_t idx = 0, last_off = 0;
    for (uint64_t i = 0; i < h->nfixups && !what; i++) {
        const ej__fixup *f = &a->fixups[i];
        const ej__reloc_info *info = f->type == EJ_FX_WORD64 ? NULL : ej__reloc_info_of(arch, f->type);
        uint64_t width = info ? info->width : 8;
        idx = i;
        int tls_kind = f->kind == EJ_FX_TLS_TP || f->kind == EJ_FX_TLS_WORD;
        if (f->type != EJ_FX_WORD64 &&
            (!info || (info->needs & (EJ_RN_DYNAMIC | EJ_RN_DIFF_ADD | EJ_RN_DIFF_SUB)) ||
             !(info->needs & EJ_RN_TLS) != !tls_kind))
            what = "fixup of a type an image cannot hold";
        else if (tls_kind && (!(h->flags & EJ_AOT_F_TLS) ||
                              (f->kind == EJ_FX_TLS_WORD && f->s >= a->tls.table_size / 8)))
            what = "thread-local fixup without its table word";
        else if (f->area > EJ_FX_IN_TLS_INIT ||
                 (f->area == EJ_FX_IN_TLS_INIT &&
                  (!(h->flags & EJ_AOT_F_TLS) || f->off > a->tls.filesz ||
                   width > a->tls.filesz - f->off)))
            what = "fixup outside the thread-local initial image";
        else if (f->area == EJ_FX_IN_IMAGE && (f->off > size || width > size - f->off))
            what = "fixup outside the image";
        else if (f->area == EJ_FX_IN_IMAGE && f->off < last_off)
            what = "fixups out of order";
        else if (f->kind > EJ_FX_TLS_WORD ||
                 (f->kind == EJ_FX_IMPORT && !str_ok(a->strings, nstr, f->s)))
            what = "fixup naming no symbol";
        else if ((f->kind == EJ_FX_IMAGE && f->s > size) || f->got > size + 1 || f->g > size ||
                 f->l > size)
            what = "fixup target outside the image";
        else if (f->pair && (f->pair > h->nfixups || f->pair - 1 == i ||
                             (info && !(info->needs & EJ_RN_PAIR_LO))))
            what = "fixup pairing with no high part";
        if (f->area == EJ_FX_IN_IMAGE)
            last_off = f->off;
    }
    for (uint64_t i = 0; i < h->nlibs && !what; i++)
        if (idx = i, !str_ok(a->strings, nstr, a->libs[i]))
            what = "library naming no file";
    for (uint64_t i = 0; i < h->export_cap && !what; i++)
        if (idx = i, a->exports[i].name != UINT32_MAX &&
                         (!str_ok(a->names, nnames, a->exports[i].name) ||
                          (a->exports[i].addr & EJ__EXPORT_TLS
                               ? !(h->flags & EJ_AOT_F_TLS) ||
                                     (a->exports[i].addr & ~EJ__EXPORT_TLS) > a->tls.memsz
                               : a->exports[i].addr > size)))
            what = "export outside the image";
    size_t free_slots = 0;
    for (uint64_t i = 0; i < h->export_cap; i++)
        free_slots += a->exports[i].name == UINT32_MAX;
    /* (Lookups mask the hash with the size, and stop at an empty slot.) */
    if (!h->export_cap || h->export_cap & (h->export_cap - 1) || !free_slots)
        what = "export table that is not a power of two in size with an empty slot";
    for (uint64_t i = 0; i < h->nfuncs && !what; i++)
        if (idx = i, !str_ok(a->names, nnames, a->funcs[i].name) || a->funcs[i].addr > size ||
                         a->funcs[i].size > size - a->funcs[i].addr ||
                         (i && a->funcs[i].addr < a->funcs[i - 1].addr))
            what = "function outside the image or out of order";
    for (uint64_t i = 0; i < (uint64_t)h->nfn[0] + h->nfn[1] + h->nfn[2] && !what; i++)
        if (idx = i, a->fns[i].addr > size || a->fns[i].count > (size - a->fns[i].addr) / 8)
            what = "constructor or destructor array outside the image";
    for (uint64_t i = 0; i < h->ntables && !what; i++) {
        const ej__aot_table *t = &a->tables[i];
        idx = i;
        if ((t->kind != EJ_AOT_TRAPS && t->kind != EJ_AOT_MAP) || t->off > size ||
            t->size > size - t->off || t->text > size || t->text_size > size - t->text)
            what = "trap table or address map outside the image";
    }
    for (uint64_t i = 0; i < h->nsyms && !what; i++)
        if (idx = i, !str_ok(a->names, nnames, a->syms[i].name) || a->syms[i].addr > size ||
                         a->syms[i].size > size - a->syms[i].addr || a->syms[i].cls >= EJ_CLS_COUNT)
            what = "symbol outside the image";
    if (!what && (h->first_global > h->nsyms || (h->options && !str_ok(a->strings, nstr, h->options)) ||
                  (h->entry && !str_ok(a->strings, nstr, h->entry - 1))))
        what = "header counts that disagree";
    if (!what && (h->flags & EJ_AOT_F_TLS))
        what = check_tls(a);
    if (what)
        return ej__fail(err, EJ_BADELF, "%s: damaged description: %s (entry %llu)", a->path, what,
                        (unsigned long long)idx);
    return EJ_OK;
}

/* Everything after libelf has the file. */
static ej_status check_file(ej__aot *a, Elf *e, ej__err *err)
{
    size_t len = 0;
    const uint8_t *file = (const uint8_t *)elf_rawfile(e, &len);
    GElf_Ehdr eh;
    if (!file || elf_kind(e) != ELF_K_ELF || !gelf_getehdr(e, &eh))
        return ej__elf_fail(err, EJ_BADELF, "%s: not a readable ELF file", a->path);
    if (eh.e_type != ET_DYN || eh.e_ident[EI_CLASS] != ELFCLASS64)
        return ej__fail(err, EJ_BADELF, "%s: not an elfjit image (ELF type %u)", a->path,
                        eh.e_type);
    if (eh.e_shoff > len || (uint64_t)eh.e_shnum * sizeof(Elf64_Shdr) > len - eh.e_shoff ||
        eh.e_shnum == 0)
        return ej__fail(err, EJ_BADELF, "%s: truncated: its section headers (%u at 0x%llx) end "
                        "past the file's 0x%zx bytes", a->path, eh.e_shnum,
                        (unsigned long long)eh.e_shoff, len);
    part p[NPARTS];
    memset(p, 0, sizeof p);
    ej_status st = find_parts(e, file, len, p, a->path, err);
    if (st == EJ_OK)
        st = check_identity(&p[P_HEADER], a->path, err);
    if (st != EJ_OK)
        return st;
    memcpy(&a->h, p[P_HEADER].data, sizeof a->h);
    if (ej__aot_crc(file, len, p[P_HEADER].off) != a->h.crc)
        return ej__fail(err, EJ_BADELF, "%s: checksum mismatch: the file is damaged (or was "
                        "changed after it was written)", a->path);
    if (a->h.machine != eh.e_machine)
        return ej__fail(err, EJ_BADELF, "%s: the header and the ELF header name different "
                        "machines", a->path);
    if ((st = check_system(&a->h, a->path, err)) != EJ_OK ||
        (st = check_layout(&a->h, p, len, a->path, err)) != EJ_OK)
        return st;
    if (a->h.flags & EJ_AOT_F_DEFLATED) {
        a->z_off = p[P_IMAGE].off + sizeof(Elf64_Chdr);
        a->z_size = p[P_IMAGE].size - sizeof(Elf64_Chdr);
    }
    if ((st = take_parts(a, p, err)) == EJ_OK)
        st = check_description(a, err);
    a->syms = NULL; /* (they were in the file's mapping, or a passing copy) */
    free(a->syms_copy);
    a->syms_copy = NULL;
    return st;
}

ej_status ej__aot_open(const char *path, ej__aot **out, ej__err *err)
{
    *out = NULL;
    ej__aot *a = calloc(1, sizeof *a);
    if (!a || !(a->path = strdup(path))) {
        free(a);
        return ej__fail(err, EJ_NOMEM, "%s: out of memory", path);
    }
    a->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (a->fd < 0) {
        ej_status st = ej__fail(err, errno == ENOMEM ? EJ_NOMEM : EJ_IO, "%s: cannot open: %s",
                                path, strerror(errno));
        ej__aot_free(a);
        return st;
    }
    if (elf_version(EV_CURRENT) == EV_NONE) {
        ej__aot_free(a);
        return ej__fail(err, EJ_UNSUPPORTED, "%s: libelf version mismatch", path);
    }
    /* libelf reads a private mapping of the file in place, as the object
     * reader does (elf_memory: it may write to what it reads). */
    struct stat stt;
    void *map = MAP_FAILED;
    ej_status st = EJ_OK;
    if (fstat(a->fd, &stt) != 0)
        st = ej__fail(err, EJ_IO, "%s: cannot examine (fstat): %s", path, strerror(errno));
    else if (!S_ISREG(stt.st_mode) || stt.st_size < (off_t)sizeof(Elf64_Ehdr))
        st = ej__fail(err, EJ_BADELF, "%s: not an elfjit image (%s)", path,
                      S_ISREG(stt.st_mode) ? "truncated" : "not a regular file");
    else if ((map = mmap(NULL, (size_t)stt.st_size, PROT_READ | PROT_WRITE, MAP_PRIVATE, a->fd,
                         0)) == MAP_FAILED)
        st = ej__fail(err, errno == ENOMEM ? EJ_NOMEM : EJ_IO, "%s: cannot map: %s", path,
                      strerror(errno));
    Elf *e = st == EJ_OK ? elf_memory(map, (size_t)stt.st_size) : NULL;
    if (st == EJ_OK)
        st = e ? check_file(a, e, err) : ej__elf_fail(err, EJ_BADELF, "%s: cannot read as ELF", path);
    if (e)
        elf_end(e);
    if (map != MAP_FAILED)
        munmap(map, (size_t)stt.st_size);
    if (st != EJ_OK) {
        ej__aot_free(a);
        return st;
    }
    *out = a;
    return EJ_OK;
}

void ej__aot_free(ej__aot *a)
{
    if (!a)
        return;
    if (a->fd >= 0)
        close(a->fd);
    free(a->fixups);
    free(a->syms_copy);
    free(a->strings);
    free(a->libs);
    free(a->exports);
    free(a->names);
    free(a->funcs);
    free(a->fns);
    free(a->tables);
    free(a->gdb);
    free(a->gdbfix);
    free(a->tlsinit);
    free(a->tlswords);
    free(a->path);
    free(a);
}
