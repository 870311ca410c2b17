/* Thread-local storage in the link.
 *
 * The module's .tdata and .tbss sections form one TLS block (initial
 * values, then zeroes), laid out apart from the image: a TLS symbol's
 * value is its offset in the block.  Each TLS relocation asks for one
 * value (reloc.h, EJ_RN_TLS_*); the scan collects them into a table of
 * entries — thread-pointer offsets, module ids, block offsets, TLS
 * descriptors — which the C library fills when the block is handed to it
 * (src/tls), and which is then copied into the image's read-only data,
 * where the code finds its slots, pairs and descriptors as it would in a
 * normally linked program.
 *
 * Relaxation.  In an executable, the system linker rewrites
 * general-dynamic and descriptor sequences into initial-exec ones, which
 * cost one load instead of a call.  elfjit does the same when it can: the
 * scan gives each variable of the module reached so an initial-exec slot
 * as well, marked optional; those slots ask for the block in static TLS,
 * and when the C library has no room, the block is loaded again without
 * them, dynamic, and the sequences keep their model.  The backends'
 * handlers rewrite only the exact sequences the psABIs define.
 *
 * Link-only links involve no C library: they get the values an
 * executable's own block would have (module 1, at the ABI's offset from
 * the thread pointer), so their output can be checked against the psABI;
 * they are not relaxed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "link/linker.h"
#include "tls/tlsmod.h"

static uint32_t add_entry_opt(ej_linker *lk, uint8_t what, const ej__sym *sym, int optional);

static ej_status nomem(ej_linker *lk)
{
    return ej__fail(&lk->err, EJ_NOMEM, "out of memory for thread-local storage");
}

/* Appends table entry WHAT of SYM; returns its byte offset + 1, 0 when out
 * of memory. */
static uint32_t add_entry(ej_linker *lk, uint8_t what, const ej__sym *sym)
{
    return add_entry_opt(lk, what, sym, 0);
}

static uint32_t add_entry_opt(ej_linker *lk, uint8_t what, const ej__sym *sym, int optional)
{
    ej__tls_plan *t = &lk->tls;
    if ((t->nents & (t->nents - 1)) == 0) { /* grow at powers of two */
        ej__tls_ent *e = realloc(t->ents, (t->nents ? t->nents * 2 : 8) * sizeof *e);
        if (!e)
            return 0;
        t->ents = e;
    }
    t->ents[t->nents++] = (ej__tls_ent){what, (uint8_t)optional, sym};
    uint64_t at = t->table_size;
    t->table_size += what == EJ_TLSW_DESC ? 16 : 8;
    return (uint32_t)at + 1;
}

/* The record of S's uses, created on first need. */
static ej__tls_use *use_of(ej_linker *lk, ej__sym *s)
{
    ej__tls_plan *t = &lk->tls;
    if (!s->tls) {
        if ((t->nuses & (t->nuses - 1)) == 0) {
            ej__tls_use *u = realloc(t->uses, (t->nuses ? t->nuses * 2 : 8) * sizeof *u);
            if (!u)
                return NULL;
            t->uses = u;
        }
        t->uses[t->nuses++] = (ej__tls_use){0, 0, 0, 0};
        s->tls = (uint32_t)t->nuses;
    }
    return &t->uses[s->tls - 1];
}

/* A variable of the module's own block (or the block's start). */
static int is_own(const ej__sym *s)
{
    return s->kind == EJ_SK_SECTION || (s->kind == EJ_SK_IMAGE && s->synth == EJ_SYN_TLS_BASE);
}

/* Remembers a variable that needs static TLS, for messages: the first
 * one with a name a reader knows (not an assembler's .L anchor). */
static void note_static_user(ej__tls_plan *t, const ej__sym *s)
{
    if (!t->static_user || (t->static_user->name[0] == '.' && s->name[0] != '.'))
        t->static_user = s;
}

/* The symbol's entries of kind KIND (reloc.h), added once. */
static ej_status need_entries(ej_linker *lk, ej__sym *s, unsigned kind)
{
    ej__tls_plan *t = &lk->tls;
    if (kind == EJ_TLS_LD) {
        if (!t->ld && (!(t->ld = add_entry(lk, EJ_TLSW_MODID, NULL)) ||
                       !add_entry(lk, EJ_TLSW_DTPOFF, NULL)))
            return nomem(lk);
        /* Relaxing to the thread pointer needs the block's offset from it. */
        if (!t->own_tp && !lk->fake_base && !(t->own_tp = add_entry_opt(lk, EJ_TLSW_TPOFF, NULL, 1)))
            return nomem(lk);
        return EJ_OK;
    }
    if (kind == EJ_TLS_TP && is_own(s)) {
        if (!t->own_tp && !(t->own_tp = add_entry(lk, EJ_TLSW_TPOFF, NULL)))
            return nomem(lk);
        note_static_user(t, s);
        return EJ_OK;
    }
    if (kind == EJ_TLS_DTP || kind == EJ_TLS_MARK || kind == EJ_TLS_NONE)
        return EJ_OK;
    ej__tls_use *u = use_of(lk, s);
    if (!u)
        return nomem(lk);
    if (kind == EJ_TLS_IE || kind == EJ_TLS_TP) {
        uint32_t *at = kind == EJ_TLS_IE ? &u->ie : &u->tp;
        if (!*at && !(*at = add_entry(lk, EJ_TLSW_TPOFF, s)))
            return nomem(lk);
        if (is_own(s))
            note_static_user(t, s);
        else if (!t->static_host)
            t->static_host = s;
    } else if (kind == EJ_TLS_GD && !u->gd) {
        if (!(u->gd = add_entry(lk, EJ_TLSW_MODID, s)) || !add_entry(lk, EJ_TLSW_DTPOFF, s))
            return nomem(lk);
    } else if (kind == EJ_TLS_DESC && !u->desc) {
        if (!(u->desc = add_entry(lk, EJ_TLSW_DESC, s)))
            return nomem(lk);
    }
    /* A slot to relax to (see the file comment): the module's own
     * variables only; another module's static TLS is not ours to ask for. */
    if ((kind == EJ_TLS_GD || kind == EJ_TLS_DESC) && is_own(s) && !u->ie && !lk->fake_base &&
        !(u->ie = add_entry_opt(lk, EJ_TLSW_TPOFF, s, 1)))
        return nomem(lk);
    return EJ_OK;
}

static ej_status refuse(ej_linker *lk, const ej__lobj *lo, size_t r, const Elf64_Rela *rel,
                        ej_status st, const ej__reloc_info *info, const ej__sym *s,
                        const char *why)
{
    char site[512];
    ej__site_name(lo->o, r, rel, site, sizeof site);
    return ej__fail(&lk->err, st, "%s: %s against '%s': %s", site, info->name, s->name, why);
}

/* Whether S is a thread-local variable: defined in the block, or another
 * module's (references carry no type the linker can trust: the C library
 * checks the definition's when it binds the name). */
static int is_tls_symbol(const ej__sym *s)
{
    if (s->kind == EJ_SK_SECTION)
        return s->type == STT_TLS && s->obj->sec[s->shndx].cls == EJ_CLS_TLS;
    return s->kind == EJ_SK_HOST || (s->kind == EJ_SK_IMAGE && s->synth == EJ_SYN_TLS_BASE);
}

/* Whether the backend can relax the local-dynamic sequence of REL. */
static int ld_relaxable(ej_linker *lk, ej__lobj *lo, size_t r, const Elf64_Rela *rel)
{
    const ej__arch *a = lo->o->arch;
    const uint8_t *data;
    uint64_t size;
    ej__err ignored;
    if (!a->tls_ld_relaxable ||
        ej__object_section_data(lo->o, lo->o->sec[r].shdr.sh_info, &data, &size, &ignored) != EJ_OK)
        return 0;
    (void)lk;
    return a->tls_ld_relaxable(data, size, rel->r_offset);
}

ej_status ej__tls_scan(ej_linker *lk, ej__lobj *lo, size_t r, const Elf64_Rela *rel,
                       ej__sym *s, const ej__reloc_info *info)
{
    unsigned kind = (info->needs & EJ_RN_TLS) ? ej__tls_kind(info->needs) : EJ_TLS_NONE;
    if (!(info->needs & EJ_RN_TLS))
        return refuse(lk, lo, r, rel, EJ_RELOC, info, s,
                      "the symbol is thread-local: only a thread-local relocation can refer to it");
    if (kind == EJ_TLS_NONE)
        return refuse(lk, lo, r, rel, EJ_UNSUPPORTED, info, s,
                      "this thread-local access is not supported for this architecture (the C "
                      "library has no TLS descriptors for it: use the traditional dialect)");
    if (!is_tls_symbol(s)) {
        if (s->kind == EJ_SK_ABS && !s->strong_ref)
            return refuse(lk, lo, r, rel, EJ_UNSUPPORTED, info, s,
                          "an undefined weak thread-local variable is not supported");
        return refuse(lk, lo, r, rel, EJ_RELOC, info, s, "the symbol is not thread-local");
    }
    if (s->kind == EJ_SK_HOST && (kind == EJ_TLS_DTP || kind == EJ_TLS_LD))
        return refuse(lk, lo, r, rel, EJ_RELOC, info, s,
                      "a local-dynamic offset of a variable another module defines");
    if (s->kind == EJ_SK_HOST && lk->fake_base)
        return refuse(lk, lo, r, rel, EJ_UNSUPPORTED, info, s,
                      "link-only mode cannot bind another module's thread-local variable");
    /* Relaxed local-dynamic sequences turn every DTPOFF field into an
     * offset from the thread pointer; a descriptor for the block's base
     * (gnu2 local-dynamic, which adds the same fields to it) rules that
     * out. */
    if ((kind == EJ_TLS_LD && !ld_relaxable(lk, lo, r, rel)) ||
        (kind == EJ_TLS_DESC && s->kind == EJ_SK_IMAGE))
        lk->tls.ld_unrelaxable = 1;
    return need_entries(lk, s, kind);
}

/* What the C library is asked to allocate for every thread: a hostile
 * object's terabyte .tbss or 2^40 alignment would make it abort the
 * process on a thread's first access, so the block is bounded (far above
 * what programs use). */
#define MAX_TLS_BLOCK ((uint64_t)256 << 20)
#define MAX_TLS_ALIGN ((uint64_t)64 << 10)

/* The block: every TLS section with contents, then every one without, each
 * at its alignment, offsets from 0. */
ej_status ej__tls_layout(ej_linker *lk)
{
    ej__tls_plan *t = &lk->tls;
    uint64_t off = 0;
    t->align = 1;
    for (int nobits = 0; nobits < 2; nobits++) {
        for (size_t o = 0; o < lk->nobjs; o++)
            for (size_t i = 1; i < lk->objs[o].o->shnum; i++) {
                const ej__section *s = &lk->objs[o].o->sec[i];
                ej__lsec *l = &lk->objs[o].sec[i];
                if (l->cls != EJ_CLS_TLS || (s->shdr.sh_type == SHT_NOBITS) != nobits)
                    continue;
                uint64_t align = s->shdr.sh_addralign ? s->shdr.sh_addralign : 1;
                if (align > MAX_TLS_ALIGN || s->size > MAX_TLS_BLOCK)
                    return ej__fail(&lk->err, EJ_RANGE, "%s: %s: a thread-local section of "
                                    "%llu bytes aligned to %llu exceeds the limits (%llu bytes, "
                                    "alignment %llu)", lk->objs[o].o->name, s->name,
                                    (unsigned long long)s->size, (unsigned long long)align,
                                    (unsigned long long)MAX_TLS_BLOCK,
                                    (unsigned long long)MAX_TLS_ALIGN);
                if (align > t->align)
                    t->align = align;
                l->off = ej__align_up(off, align);
                off = l->off + s->size;
                if (off > MAX_TLS_BLOCK)
                    return ej__fail(&lk->err, EJ_RANGE, "the thread-local storage block would "
                                    "exceed %llu bytes", (unsigned long long)MAX_TLS_BLOCK);
            }
        if (!nobits)
            t->filesz = off;
    }
    t->memsz = off;
    return EJ_OK;
}

/* The block's initial image: .tdata's bytes, relocated (a pointer to a
 * function or to data of the image is an ordinary relocation there). */
static ej_status initial_image(ej_linker *lk, uint8_t *init, uint64_t vbase)
{
    for (size_t o = 0; o < lk->nobjs; o++) {
        const ej__lobj *lo = &lk->objs[o];
        ej__object *obj = lo->o;
        for (size_t i = 1; i < obj->shnum; i++) {
            const uint8_t *data;
            uint64_t size;
            if (lo->sec[i].cls != EJ_CLS_TLS || obj->sec[i].shdr.sh_type == SHT_NOBITS)
                continue;
            ej_status st = ej__object_section_data(obj, i, &data, &size, &lk->err);
            if (st != EJ_OK)
                return st;
            memcpy(init + lo->sec[i].off, data, size);
        }
        for (size_t r = 1; r < obj->shnum; r++) {
            size_t t = obj->sec[r].shdr.sh_info;
            if (obj->sec[r].shdr.sh_type != SHT_RELA || !ej__sec_loaded(lo, t) ||
                lo->sec[t].cls != EJ_CLS_TLS)
                continue;
            ej_status st = ej__relocate_section(lk, lo, r, init + lo->sec[t].off,
                                                lo->sec[t].off, vbase);
            if (st != EJ_OK)
                return st;
        }
    }
    return EJ_OK;
}

/* What an executable's own block would get (link-only links). */
static void executable_values(const ej_linker *lk, const ej__tls_word *w, size_t n,
                              uint64_t *out)
{
    const struct ej__tls_abi *a = &lk->arch->tls;
    const ej__tls_plan *t = &lk->tls;
    int64_t T = a->variant2 ? -(int64_t)ej__align_up(t->memsz, t->align)
                            : (int64_t)ej__align_up(a->tcb, t->align);
    for (size_t i = 0; i < n; i++) {
        switch (w[i].what) {
        case EJ_TLSW_TPOFF: *out++ = (uint64_t)T + w[i].off; break;
        case EJ_TLSW_MODID: *out++ = 1; break;
        case EJ_TLSW_DTPOFF: *out++ = w[i].off - a->dtv_bias; break;
        default: *out++ = 0; *out++ = (uint64_t)T + w[i].off; break;
        }
    }
}

/* The message for a block that does not fit the static TLS space. */
static ej_status no_static_room(ej_linker *lk)
{
    const ej__tls_plan *t = &lk->tls;
    const ej__sym *s = t->static_user;
    if (!s && t->static_host)
        return ej__fail(&lk->err, EJ_STATIC_TLS,
                        "'%s' is reached by local-exec or initial-exec code, which needs the TLS "
                        "block of the module that defines it in static TLS, and the C library "
                        "cannot put it there (it is already dynamic, e.g. a library loaded at "
                        "run time whose variables some thread used, or there is no room): "
                        "compile with -fPIC (general-dynamic access), or load the library at "
                        "start-up (LD_PRELOAD)", t->static_host->name);
    const char *tun = getenv("GLIBC_TUNABLES");
    const char *set = tun ? strstr(tun, "glibc.rtld.optional_static_tls=") : NULL;
    char now[64] = "512 bytes by default";
    if (set)
        snprintf(now, sizeof now, "now %.40s", set + strlen("glibc.rtld.optional_static_tls="));
    return ej__fail(&lk->err, EJ_STATIC_TLS,
                    "%s%s'%s' (%llu bytes) is reached by local-exec or initial-exec code, which "
                    "needs the module's %llu-byte TLS block in static TLS, and the C library has "
                    "no static TLS space left (its spare space is the tunable "
                    "glibc.rtld.optional_static_tls, %s): raise it, e.g. "
                    "GLIBC_TUNABLES=glibc.rtld.optional_static_tls=%llu, or compile with -fPIC "
                    "(general-dynamic access)",
                    s && s->obj ? s->obj->o->name : "", s && s->obj ? ": " : "",
                    s ? s->name : "?", s ? (unsigned long long)s->size : 0ULL,
                    (unsigned long long)t->memsz, now,
                    (unsigned long long)ej__align_up(t->memsz + t->align + 1024, 1024));
}

/* A block aligned beyond what the C library's static TLS guarantees
 * cannot be placed there: the thread pointer of a new thread is only that
 * aligned, so no fixed offset from it is aligned more in every thread. */
static ej_status over_aligned(ej_linker *lk, uint64_t salign)
{
    const ej__tls_plan *t = &lk->tls;
    const ej__sym *s = t->static_user;
    return ej__fail(&lk->err, EJ_STATIC_TLS,
                    "%s%s'%s' is reached by local-exec or initial-exec code, which needs the "
                    "module's TLS block in static TLS, but the block is aligned to %llu bytes "
                    "and the C library's static TLS only to %llu: compile with -fPIC "
                    "(general-dynamic access), or start the process with a library of TLS "
                    "that aligned preloaded (ej_static_tls_preload; elfjit run does)",
                    s->obj ? s->obj->o->name : "", s->obj ? ": " : "", s->name,
                    (unsigned long long)t->align, (unsigned long long)salign);
}

/* Hands the block to the C library, with the relaxation slots if it has
 * room for them in static TLS, else without (see the file comment). */
static ej_status load_block(ej_linker *lk, const ej__tls_block *block, ej__tls_word *w,
                            struct ej__tls_module **mod)
{
    ej__tls_plan *t = &lk->tls;
    int optional = 0;
    for (size_t i = 0; i < t->nents; i++)
        optional |= t->ents[i].optional;
    ej_status st = ej__tls_module_load(lk->arch->machine, &lk->arch->tls, block, w, t->nents,
                                       t->table, mod, &lk->err);
    t->relax = st == EJ_OK && optional;
    if (st != EJ_STATIC_TLS || !optional || t->static_user)
        return st;
    /* The same table, the slots now plain block offsets nothing reads. */
    for (size_t i = 0; i < t->nents; i++)
        if (t->ents[i].optional)
            w[i].what = EJ_TLSW_DTPOFF;
    ej__err_clear(&lk->err);
    return ej__tls_module_load(lk->arch->machine, &lk->arch->tls, block, w, t->nents, t->table,
                               mod, &lk->err);
}

/* Prefixes the C library's "undefined" with where the name is used. */
static void name_the_reference(ej_linker *lk, const ej__tls_plan *t)
{
    for (size_t i = 0; i < t->nents; i++) {
        const ej__sym *s = t->ents[i].sym;
        if (!s || s->kind != EJ_SK_HOST || !strstr(lk->err.msg, s->name))
            continue;
        for (size_t o = 0; o < lk->nobjs; o++) {
            char where[512] = "";
            ej__first_reference(s, &lk->objs[o], where, sizeof where);
            if (strchr(where, '+')) {
                ej__err_prefix(&lk->err, "%s", where);
                return;
            }
        }
    }
}

static int ld_relaxed(const ej__tls_plan *t);

ej_status ej__tls_bind(ej_linker *lk, uint8_t *wbase, uint64_t vbase, struct ej__tls_module **mod)
{
    ej__tls_plan *t = &lk->tls;
    *mod = NULL;
    if (!t->nents && !t->memsz)
        return EJ_OK;
    uint8_t *init = calloc(t->filesz ? t->filesz : 1, 1);
    ej__tls_word *w = calloc(t->nents ? t->nents : 1, sizeof *w);
    t->table = calloc(t->table_size ? t->table_size / 8 : 1, 8);
    ej_status st = init && w && t->table ? EJ_OK : nomem(lk);
    lk->fixups.in_tls_init = 1;
    if (st == EJ_OK)
        st = initial_image(lk, init, vbase);
    lk->fixups.in_tls_init = 0;
    for (size_t i = 0; st == EJ_OK && i < t->nents; i++) {
        const ej__sym *s = t->ents[i].sym;
        int own = !s || is_own(s);
        w[i] = (ej__tls_word){t->ents[i].what, own ? NULL : s->name, s && own ? s->value : 0};
    }
    /* The size a multiple of the alignment: glibc gives back a freed
     * static block's bytes, not the padding it put before it, so an odd
     * size would leave a gap that keeps the earlier block from being
     * reclaimed (x86_64). */
    ej__tls_block block = {init, t->filesz, ej__align_up(t->memsz, t->align), t->align};
    uint64_t salign = st == EJ_OK && t->static_user && !lk->fake_base ? ej__tls_static_align() : 0;
    if (salign && t->align > salign) {
        t->over_aligned = 1;
        st = over_aligned(lk, salign);
    } else if (st == EJ_OK && lk->fake_base)
        executable_values(lk, w, t->nents, t->table);
    else if (st == EJ_OK) {
        st = load_block(lk, &block, w, mod);
        if (st == EJ_STATIC_TLS)
            st = no_static_room(lk);
        else if (st == EJ_UNDEFINED)
            name_the_reference(lk, t);
    }
    if (st == EJ_OK) {
        memcpy(wbase + lk->plan.tls_off, t->table, t->table_size);
        t->T = t->own_tp ? (int64_t)t->table[(t->own_tp - 1) / 8] : 0;
    }
    if (st == EJ_OK && lk->saving) {
        t->saved_init = init;
        t->saved_words = w;
        return EJ_OK;
    }
    free(init);
    free(w);
    return st;
}

int ej__tls_fixup(const ej_linker *lk, const ej__sym *s, unsigned needs,
                  const ej__reloc_site *site, uint64_t *sval)
{
    const ej__tls_plan *t = &lk->tls;
    const ej__tls_use *u = s && s->tls ? &t->uses[s->tls - 1] : NULL;
    switch (ej__tls_kind(needs)) {
    case EJ_TLS_TP:
        if (s && s->kind == EJ_SK_HOST) {
            if (!u || !u->tp)
                return -1;
            *sval = (u->tp - 1) / 8;
            return EJ_FX_TLS_WORD;
        }
        *sval = site->S - (uint64_t)t->T;
        return EJ_FX_TLS_TP;
    case EJ_TLS_DTP:
        if (!ld_relaxed(t))
            return -1;
        *sval = site->S - (uint64_t)t->T;
        return EJ_FX_TLS_TP;
    default:
        return -1;
    }
}

/* Local-dynamic sequences load the thread pointer (every one can). */
static int ld_relaxed(const ej__tls_plan *t)
{
    return t->relax && t->ld && t->own_tp && !t->ld_unrelaxable;
}

void ej__tls_site(const ej_linker *lk, const ej__sym *s, unsigned needs, ej__reloc_site *site)
{
    const ej__tls_plan *t = &lk->tls;
    const ej__tls_use *u = s && s->tls ? &t->uses[s->tls - 1] : NULL;
    uint64_t table = ej__vaddr(lk, lk->plan.tls_off);
    switch (ej__tls_kind(needs)) {
    case EJ_TLS_TP:
        if (s && s->kind == EJ_SK_HOST)
            site->S = u ? t->table[(u->tp - 1) / 8] : 0;
        else
            site->S += (uint64_t)t->T;
        break;
    case EJ_TLS_DTP:
        /* Relaxed local-dynamic code adds these to the thread pointer. */
        site->S = ld_relaxed(t) ? site->S + (uint64_t)t->T : site->S - lk->arch->tls.dtv_bias;
        break;
    case EJ_TLS_IE:
        site->G = u && u->ie ? table + u->ie - 1 : 0;
        break;
    case EJ_TLS_GD:
        site->G = u && u->gd ? table + u->gd - 1 : 0;
        site->IE = t->relax && u && u->ie ? table + u->ie - 1 : 0;
        break;
    case EJ_TLS_DESC:
        site->G = u && u->desc ? table + u->desc - 1 : 0;
        site->IE = t->relax && u && u->ie ? table + u->ie - 1 : 0;
        break;
    case EJ_TLS_LD:
        site->G = t->ld ? table + t->ld - 1 : 0;
        site->IE = ld_relaxed(t);
        break;
    default:
        break;
    }
}

EJ_API uint64_t ej_linker_static_tls_size(const ej_linker *lk)
{
    if (!lk || !lk->tls.static_user)
        return 0;
    return ej__align_up(lk->tls.memsz, lk->tls.align);
}

EJ_API uint64_t ej_linker_static_tls_align(const ej_linker *lk)
{
    return lk && lk->tls.static_user ? lk->tls.align : 0;
}
