/* ej_linker_describe: what the linker holds, in a few readable lines (the
 * tool's `elfjit inspect`).  Objects and archives are linked in link-only
 * mode first, so that the description says what a link of them needs
 * (sections by permission class, GOT slots, stubs, TLS) and what it
 * lacks; an image describes itself (src/aot/describe.c). */
#include <stdlib.h>
#include <string.h>

#include "aot/aot.h"
#include "common/text.h"
#include "elf/archive.h"
#include "link/module.h"

static const char *const cls_names[] = {"text", "rodata", "data", "bss", "tls"};

/* Relocation counts by type, most frequent first, on one line. */
static void relocations(ej__text *t, const ej__object *obj)
{
    const ej__arch *a = obj->arch;
    uint32_t *count = calloc(a->ntypes, sizeof *count);
    if (!count) {
        t->nomem = 1;
        return;
    }
    size_t total = 0;
    for (size_t r = 1; r < obj->shnum; r++) {
        if (obj->sec[r].shdr.sh_type != SHT_RELA)
            continue;
        size_t n;
        const Elf64_Rela *rel = ej__object_relas(obj, r, &n);
        for (size_t k = 0; k < n; k++) {
            uint32_t type = (uint32_t)ELF64_R_TYPE(rel[k].r_info);
            if (type < a->ntypes)
                count[type]++;
            total++;
        }
    }
    ej__text_add(t, "  relocations: %zu", total);
    for (int shown = 0; shown < 12; shown++) {
        uint32_t best = 0;
        for (uint32_t i = 1; i < a->ntypes; i++)
            if (count[i] > count[best])
                best = i;
        if (!count[best])
            break;
        ej__text_add(t, "%s %s x%u", shown ? "," : ":", a->infos[best].name, count[best]);
        count[best] = 0;
    }
    ej__text_add(t, "\n");
    free(count);
}

static void object(ej__text *t, const ej__lobj *lo)
{
    const ej__object *obj = lo->o;
    uint64_t size[EJ_CLS_COUNT + 1] = {0};
    size_t nsec[EJ_CLS_COUNT + 1] = {0}, traps = 0;
    for (size_t i = 1; i < obj->shnum; i++) {
        int c = lo->sec ? lo->sec[i].cls : -1;
        if (c >= 0 && c <= EJ_CLS_COUNT) {
            size[c] += obj->sec[i].size;
            nsec[c]++;
        }
        traps += strcmp(obj->sec[i].name, EJ_TRAPS_SECTION) == 0 ||
                 strcmp(obj->sec[i].name, EJ_ADDRMAP_SECTION) == 0;
    }
    ej__text_add(t, "%s: %s relocatable object, %zu sections\n  loaded:", obj->name,
                 obj->arch->name, obj->shnum);
    for (int c = 0; c <= EJ_CLS_COUNT; c++) {
        char b[32];
        if (nsec[c])
            ej__text_add(t, " %s %s (%zu)", cls_names[c], ej__text_size(b, sizeof b, size[c]),
                         nsec[c]);
    }
    size_t defined = 0, globals = 0, undefined = 0;
    for (size_t i = 1; i < obj->nsyms; i++) {
        const Elf64_Sym *s = &obj->syms[i];
        int global = ELF64_ST_BIND(s->st_info) != STB_LOCAL;
        if (s->st_shndx == SHN_UNDEF)
            undefined += global;
        else if (s->st_name && ELF64_ST_TYPE(s->st_info) != STT_SECTION)
            defined++, globals += global;
    }
    ej__text_add(t, "%s\n  symbols: %zu defined (%zu global), %zu undefined", traps
                 ? "; trap tables or address maps" : "", defined, globals, undefined);
    for (size_t i = obj->first_global, shown = 0; i < obj->nsyms && shown < 8; i++)
        if (obj->syms[i].st_shndx == SHN_UNDEF && obj->syms[i].st_name)
            ej__text_add(t, "%s%s", shown++ ? ", " : ": ", ej__object_sym_name(obj, i));
    ej__text_add(t, undefined > 8 ? ", ...\n" : "\n");
    relocations(t, obj);
}

/* The link-only link's outcome: what a real one needs. */
static void summary(ej__text *t, ej_linker *lk, ej_status st)
{
    char b[32];
    if (st != EJ_OK) {
        ej__text_add(t, "link: fails: %s\n", lk->err.msg);
        return;
    }
    const ej__link_stats *s = &lk->stats;
    ej__text_add(t, "link: %llu objects, image %s, %llu relocations, %llu GOT slots, %llu stubs",
                 (unsigned long long)s->nobjs, ej__text_size(b, sizeof b, s->image_size),
                 (unsigned long long)s->nrelocs, (unsigned long long)s->ngot,
                 (unsigned long long)s->nstub);
    if (lk->tls.memsz)
        ej__text_add(t, ", TLS block %s (%s)", ej__text_size(b, sizeof b, lk->tls.memsz),
                     lk->tls.static_user ? "static: local- or initial-exec code" : "dynamic");
    ej__text_add(t, "\n");
}

EJ_API ej_status ej_linker_describe(ej_linker *lk, char **text)
{
    if (!lk || !text)
        return lk ? ej__fail(&lk->err, EJ_INVAL, "ej_linker_describe: NULL argument") : EJ_INVAL;
    *text = NULL;
    ej__text t = {0};
    ej_status st = EJ_OK;
    if (lk->image) {
        ej__aot_describe(lk->image, &t);
    } else {
        /* (As a link that saves an image: placed where it reaches the
         * host's symbols, so that it fails only where a real link would.) */
        lk->saving = 1;
        if (!lk->fake_base)
            lk->fake_base = (uint64_t)1 << 40;
        lk->registration = 0;
        ej_module *m = NULL;
        ej_status ls = ej_linker_link(lk, &m);
        for (size_t i = 0; i < lk->nobjs; i++)
            object(&t, &lk->objs[i]);
        for (size_t i = 0; i < lk->narchives; i++)
            ej__text_add(&t, "%s: archive, %zu members linked\n", lk->archives[i].a->path,
                         lk->archives[i].nloaded);
        summary(&t, lk, ls);
        ej_module_free(m);
        if (ls == EJ_NOMEM)
            st = ls;
    }
    if (t.nomem || st != EJ_OK) {
        free(t.buf);
        return ej__fail(&lk->err, EJ_NOMEM, "out of memory describing the inputs");
    }
    *text = t.buf ? t.buf : calloc(1, 1);
    return *text ? EJ_OK : ej__fail(&lk->err, EJ_NOMEM, "out of memory describing the inputs");
}
