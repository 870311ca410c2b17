/* Recording fixups (src/image/fixup.h) while a link that saves an image
 * relocates: which relocations must be applied again when the image is
 * loaded elsewhere, in another process.
 *
 * A relocation is kept when its value can change from one load to the
 * next:
 *   - it names a symbol of the host (a library, the process, the
 *     resolver), whose address is the loading process's, or a weak one
 *     nothing defined (0 at the link; a load looks for it again, as a
 *     dynamic loader would);
 *   - its field holds an absolute address of the image
 *     (EJ_RN_ABSADDR: S + A, or its part above the page offset);
 *   - it is PC-relative (or page-relative) to a constant, such as an
 *     undefined weak symbol (0), which stays put while the image moves.
 * Everything else is relative inside the image and holds wherever it
 * goes.  Calls to host functions are sent through their stubs (which
 * hold wherever the image goes: they jump through a GOT slot, itself a
 * fixup), so that code pages carry no fixup and stay shared between the
 * processes running one image.
 *
 * The label differences of RISC-V (ADD/SUB, SET/SUB pairs at one place)
 * cannot be applied twice: they are kept only when both halves name image
 * addresses, whose difference never changes, and checked to pair up. */
#include <stdlib.h>
#include <string.h>

#include "link/linker.h"

/* What S stands for: a place in the image, a constant, or a host name. */
int ej__fixup_kind_of(const ej__lobj *lo, size_t symi, const ej__sym *s)
{
    if (!s)
        return lo->o->syms[symi].st_shndx == SHN_ABS ? EJ_FX_CONST : EJ_FX_IMAGE;
    switch (s->kind) {
    case EJ_SK_HOST:
        return EJ_FX_IMPORT;
    case EJ_SK_ABS:
        return s->weak_undef ? EJ_FX_IMPORT : EJ_FX_CONST;
    default:
        return EJ_FX_IMAGE;
    }
}

static ej_status push(ej_linker *lk, const ej__fixup *fx, const char *name)
{
    ej__fixups *f = &lk->fixups;
    if (f->n == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 256;
        ej__fixup_rec *v = realloc(f->v, cap * sizeof *v);
        if (!v)
            return ej__fail(&lk->err, EJ_NOMEM, "out of memory for the image's fixups");
        f->v = v;
        f->cap = cap;
    }
    f->v[f->n++] = (ej__fixup_rec){*fx, name};
    return EJ_OK;
}

/* The index + 1 of the fixup recorded at image offset OFF, searching the
 * recent ones (a RISC-V pair's high part comes shortly before its low
 * part); 0 when there is none. */
static uint32_t recorded_at(const ej__fixups *f, uint64_t off)
{
    for (size_t i = f->n, k = 0; i-- > 0 && k < 4096; k++)
        if (f->v[i].fx.off == off && f->v[i].fx.type != EJ_FX_WORD64)
            return (uint32_t)(i + 1);
    return 0;
}

static ej_status not_saveable(ej_linker *lk, const ej__fixup_from *from,
                              const ej__reloc_info *info, const char *name, const char *why)
{
    char where[512];
    ej__site_name(from->lo->o, from->r, from->rel, where, sizeof where);
    return ej__fail(&lk->err, EJ_UNSUPPORTED, "%s: %s against '%s' cannot be saved in an image: %s",
                    where, info->name, name, why);
}

ej_status ej__fixup_site(ej_linker *lk, const ej__fixup_from *where, const ej__reloc_info *info,
                         const ej__reloc_site *site, int kind, const char *name, int weak,
                         uint64_t vbase)
{
    unsigned needs = info->needs;
    ej__fixups *f = &lk->fixups;
    if (needs & (EJ_RN_DIFF_ADD | EJ_RN_DIFF_SUB)) {
        if (kind != EJ_FX_IMAGE)
            return not_saveable(lk, where, info, name,
                                "half of a label difference that is not inside the image");
        ej__diff d = {site->P - vbase, (needs & EJ_RN_DIFF_ADD) ? 1 : -1};
        if (f->ndiffs == f->diffs_cap) {
            size_t cap = f->diffs_cap ? f->diffs_cap * 2 : 64;
            ej__diff *v = realloc(f->diffs, cap * sizeof *v);
            if (!v)
                return ej__fail(&lk->err, EJ_NOMEM, "out of memory for the image's fixups");
            f->diffs = v;
            f->diffs_cap = cap;
        }
        f->diffs[f->ndiffs++] = d;
        return EJ_OK;
    }
    int keep;
    uint32_t pair = 0;
    if (needs & EJ_RN_PAIR_LO)
        keep = site->pair && (pair = recorded_at(f, site->pair->P - vbase)) != 0;
    else if (kind == EJ_FX_IMPORT)
        keep = 1;
    else if (kind == EJ_FX_IMAGE)
        keep = (needs & EJ_RN_ABSADDR) != 0;
    else /* a constant: relative to it moves, absolute stays */
        keep = !(needs & (EJ_RN_ABSADDR | EJ_RN_GOT | EJ_RN_SIZE));
    if (!keep || !info->width)
        return EJ_OK;
    /* (The initial image is relocated at block offsets: P is one.) */
    ej__fixup fx = {
        .off = f->in_tls_init ? site->P : site->P - vbase,
        .area = f->in_tls_init ? EJ_FX_IN_TLS_INIT : EJ_FX_IN_IMAGE,
        .s = kind == EJ_FX_IMAGE ? site->S - vbase : site->S,
        .a = site->A,
        .z = site->Z,
        .got = site->GOT ? (uint32_t)(site->GOT - vbase + 1) : 0,
        .g = site->G ? (uint32_t)(site->G - vbase + 1) : 0,
        .l = site->L ? (uint32_t)(site->L - vbase + 1) : 0,
        .type = site->type,
        .pair = pair,
        .kind = (uint8_t)kind,
        .weak = (uint8_t)weak,
    };
    return push(lk, &fx, kind == EJ_FX_IMPORT ? name : NULL);
}

ej_status ej__fixup_tls(ej_linker *lk, const ej__fixup_from *from, const ej__reloc_info *info,
                        const ej__reloc_site *site, const ej__sym *s, uint64_t vbase)
{
    uint64_t sval = 0;
    int kind = ej__tls_fixup(lk, s, info->needs, site, &sval);
    if (kind < 0 || !info->width)
        return EJ_OK;
    /* (The initial image goes to the C library before it places the block.) */
    if (lk->fixups.in_tls_init)
        return not_saveable(lk, from, info, s ? s->name : "?", "a thread-pointer offset in "
                            "thread-local initial data cannot be saved in an image");
    ej__fixup fx = {
        .off = site->P - vbase,
        .s = sval,
        .a = site->A,
        .z = site->Z,
        .got = site->GOT ? (uint32_t)(site->GOT - vbase + 1) : 0,
        .g = site->G ? (uint32_t)(site->G - vbase + 1) : 0,
        .type = site->type,
        .kind = (uint8_t)kind,
    };
    return push(lk, &fx, NULL);
}

ej_status ej__fixup_got(ej_linker *lk, uint64_t slot_off, const ej__sym *s, uint64_t vbase)
{
    int kind = ej__fixup_kind_of(NULL, 0, s);
    if (kind == EJ_FX_CONST)
        return EJ_OK;
    ej__fixup fx = {
        .off = slot_off,
        .s = kind == EJ_FX_IMAGE ? s->value - vbase : 0,
        .type = EJ_FX_WORD64,
        .kind = (uint8_t)kind,
        .weak = !s->strong_ref,
    };
    return push(lk, &fx, kind == EJ_FX_IMPORT ? s->name : NULL);
}

static int by_place(const void *a, const void *b)
{
    const ej__diff *x = a, *y = b;
    return x->off < y->off ? -1 : x->off > y->off;
}

ej_status ej__fixup_check_diffs(ej_linker *lk)
{
    ej__fixups *f = &lk->fixups;
    if (f->ndiffs)
        qsort(f->diffs, f->ndiffs, sizeof *f->diffs, by_place);
    for (size_t i = 0; i < f->ndiffs;) {
        int sum = 0;
        size_t j = i;
        for (; j < f->ndiffs && f->diffs[j].off == f->diffs[i].off; j++)
            sum += f->diffs[j].sign;
        if (sum != 0)
            return ej__fail(&lk->err, EJ_UNSUPPORTED,
                            "image offset 0x%llx: an ADD or SET relocation without its SUB (or "
                            "the reverse) holds an image address, which cannot be saved in an "
                            "image", (unsigned long long)f->diffs[i].off);
        i = j;
    }
    return EJ_OK;
}

void ej__fixups_free(ej__fixups *f)
{
    free(f->v);
    free(f->diffs);
    memset(f, 0, sizeof *f);
}
