/* An opened image, described in a few readable lines (ej_linker_describe
 * on a linker holding an image). */
#include <string.h>

#include "aot/aot.h"
#include "common/text.h"
#include "image/image.h"
#include "reloc/reloc.h"

static void fixups(const ej__aot *a, ej__text *t)
{
    const ej__aot_header *h = &a->h;
    const ej__arch *arch = ej__arch_for_machine(h->machine);
    size_t kinds[5] = {0}, pages = 0, in_text = 0;
    uint64_t last = UINT64_MAX;
    for (uint32_t i = 0; i < h->nfixups; i++) {
        const ej__fixup *f = &a->fixups[i];
        kinds[f->kind < 5 ? f->kind : 0]++;
        if (f->area != EJ_FX_IN_IMAGE)
            continue;
        uint64_t page = f->off / h->page_size;
        pages += page != last;
        last = page;
        in_text += f->off < h->cls_off[EJ_CLS_TEXT] + h->cls_size[EJ_CLS_TEXT];
    }
    ej__text_add(t, "  fixups: %u (%zu imports, %zu image addresses, %zu constants, %zu thread-"
                 "local), on %zu of %llu pages, %zu in code\n", h->nfixups, kinds[EJ_FX_IMPORT],
                 kinds[EJ_FX_IMAGE], kinds[EJ_FX_CONST], kinds[EJ_FX_TLS_TP] + kinds[EJ_FX_TLS_WORD],
                 pages, (unsigned long long)(h->cls_off[EJ_CLS_BSS] / h->page_size), in_text);
    /* By type, in the order first met (types are few). */
    uint32_t seen[16], n[16];
    size_t ns = 0;
    for (uint32_t i = 0; i < h->nfixups; i++) {
        size_t j = 0;
        while (j < ns && seen[j] != a->fixups[i].type)
            j++;
        if (j == ns && ns < 16)
            seen[ns] = a->fixups[i].type, n[ns++] = 0;
        if (j < ns)
            n[j]++;
    }
    for (size_t j = 0; j < ns; j++) {
        const ej__reloc_info *info = seen[j] == EJ_FX_WORD64 || !arch
                                         ? NULL : ej__reloc_info_of(arch, seen[j]);
        ej__text_add(t, "%s%s x%u", j ? ", " : "    ", info ? info->name : "GOT word", n[j]);
    }
    if (ns)
        ej__text_add(t, "\n");
    size_t shown = 0;
    for (uint32_t i = 0; i < h->nfixups && shown < 10; i++) {
        const ej__fixup *f = &a->fixups[i];
        if (f->kind != EJ_FX_IMPORT)
            continue;
        int dup = 0;
        for (uint32_t k = 0; k < i && !dup; k++)
            dup = a->fixups[k].kind == EJ_FX_IMPORT && a->fixups[k].s == f->s;
        if (!dup)
            ej__text_add(t, "%s%s%s", shown++ ? ", " : "  imports: ", a->strings + f->s,
                         f->weak ? " (weak)" : "");
    }
    if (shown)
        ej__text_add(t, shown == 10 ? ", ...\n" : "\n");
}

void ej__aot_describe(const ej__aot *a, ej__text *t)
{
    const ej__aot_header *h = &a->h;
    const ej__arch *arch = ej__arch_for_machine(h->machine);
    char b[6][32];
    ej__text_add(t, "%s: elfjit image (format %u) for %s, %s: text %s, rodata %s, data %s, bss %s;"
                 " %s pages, aligned to %llu; %s\n", a->path, h->version,
                 arch ? arch->name : "?", ej__text_size(b[0], sizeof b[0], h->image_size),
                 ej__text_size(b[1], sizeof b[1], h->cls_size[EJ_CLS_TEXT]),
                 ej__text_size(b[2], sizeof b[2], h->cls_size[EJ_CLS_RODATA]),
                 ej__text_size(b[3], sizeof b[3], h->cls_size[EJ_CLS_DATA]),
                 ej__text_size(b[4], sizeof b[4], h->image_size - h->cls_off[EJ_CLS_BSS]),
                 ej__text_size(b[5], sizeof b[5], h->page_size), (unsigned long long)h->max_align,
                 h->flags & EJ_AOT_F_DEFLATED ? "stored deflated (zlib)" : "mapped from the file");
    ej__text_add(t, "  linked: %s", h->options ? a->strings + h->options : "?");
    if (h->entry)
        ej__text_add(t, "; runs %s", a->strings + h->entry - 1);
    for (uint32_t i = 0; i < h->nlibs; i++)
        ej__text_add(t, "%s%s", i ? ", " : "; libraries: ", a->strings + a->libs[i]);
    ej__text_add(t, "\n  inputs' hash %016llx, checksum %08x (good), CPU features%s\n",
                 (unsigned long long)h->input_hash, h->crc,
                 h->hwcap || h->hwcap2 ? " assumed: see AT_HWCAP" : ": none assumed");
    fixups(a, t);
    size_t nexp = 0, ntraps = 0;
    for (uint32_t i = 0; i < h->export_cap; i++)
        nexp += a->exports[i].name != UINT32_MAX;
    for (uint32_t i = 0; i < h->ntables; i++)
        ntraps += a->tables[i].kind == EJ_AOT_TRAPS;
    ej__text_add(t, "  %zu exports, %u functions, %u symbols for debuggers, %u preinit / %u init "
                 "/ %u fini arrays, %zu trap tables, %zu address maps, .eh_frame %s\n", nexp,
                 h->nfuncs, h->nsyms, h->nfn[0], h->nfn[1], h->nfn[2], ntraps,
                 h->ntables - ntraps, ej__text_size(b[0], sizeof b[0], h->eh_size));
    if (h->flags & EJ_AOT_F_TLS)
        ej__text_add(t, "  TLS: a %s block (%s initialised), aligned to %llu, %u table entries, "
                     "%s\n", ej__text_size(b[0], sizeof b[0], a->tls.memsz),
                     ej__text_size(b[1], sizeof b[1], a->tls.filesz),
                     (unsigned long long)a->tls.align, a->tls.nwords,
                     a->tls.static_user ? "static TLS needed" : "dynamic");
}
