/* The shared relocation-test harness (see harness.h).
 *
 * Check lines.  A fixture source states what its relocated bytes must be
 * next to the instructions and data that hold them, in comments the
 * assembler ignores (`#` for x86_64 and riscv64, `//` for aarch64):
 *
 *     i_call_near:    bl near_func     // check: decode_bl(i_call_near) == near_func
 *     // let: GOT = read64(f_got)
 *
 * `check: EXPR` holds when EXPR is nonzero; `let: NAME = EXPR` names a
 * value for other lines (evaluated when first used, in any order; every
 * let is evaluated once even when unused, so a broken one is reported).
 * The marker is found anywhere on a line.
 *
 * EXPR is over 64-bit integers (arithmetic wraps; < <= > >= compare as
 * signed): literals (decimal, 0x hex), names, function calls f(a, b),
 * parentheses, unary - ~ !, and, loosest last:
 *     * / %      + -      << >> (logical)      &      ^      |
 *     == != < <= > >=      &&      ||      c ? a : b
 * (so `x & 0xfff == y` is `(x & 0xfff) == y`; && || ?: evaluate lazily).
 * A name is, in this order: a let; `base` (the link base), `image_start`,
 * `image_end`; a symbol of the module (ej_module_symbol); a name of the
 * resolver table; a host symbol (dlsym).
 *
 * Functions of every architecture:
 *   read8/read16/read32/read64(a)   the image's bytes at A
 *   sext(v, bits)  fits(v, bits)    sign-extension; V fits BITS signed
 *   page(a)                         A & ~0xfff
 *   field(a, w)                     a fixture data field: its low W bytes
 *                                   (zero-extended); the bytes after them
 *                                   must be untouched (else the check fails)
 *   u8 u16 u32 u64 (a)              field(a, 1 .. 8)
 *   s8 s16 s32 (a)                  the same, sign-extended
 *   in_image(a, len)
 *   got_slot_of(v)                  the one slot in [GOT, GOT_END) (lets the
 *                                   fixture defines) that holds V
 *   got_slots()                     (GOT_END - GOT) / 8
 *   stub_slot(L)                    L is a stub: the GOT slot it reads
 *   stub_target(L)                  what that slot holds
 *   stub_of(v)                      the one stub of the image jumping to V
 *   stub_count() stubs_start() stubs_end()
 *   tls_off(name)                   S of the TLS symbol NAME (a bare name, not
 *                                   evaluated): its offset in the module's
 *                                   TLS block (tls_block_of), which the
 *                                   objects of the link (copies) make
 *   tls_off_in(name, i)             the same, of the one defined by object I
 *   tls_size() tls_align()          the block's size and alignment
 *   align_up(v, a)
 *   apart(a, alen, b, blen)         the two ranges do not overlap
 *   tls_slot(g, len)                a TLS slot: 8-aligned, in the image, in
 *                                   [TLS_SLOTS_FROM, TLS_SLOTS_TO) (lets)
 * and the architecture's own (rh_arch_desc.funcs).
 *
 * A failing check reports FILE:LINE, its text and the values of both
 * sides of its last comparison (or the function's complaint).
 */
#include "harness.h"

#include <ctype.h>
#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef EJ_RH_FIXTURE_DIR
#error "EJ_RH_FIXTURE_DIR must be defined (CMakeLists.txt)"
#endif
#ifndef EJ_RH_SOURCE_DIR
#error "EJ_RH_SOURCE_DIR must be defined (CMakeLists.txt)"
#endif

const uint64_t bases[2] = {LOW_BASE, HIGH_BASE};

uint64_t page_size(void)
{
    return (uint64_t)sysconf(_SC_PAGESIZE);
}

uint64_t page4k(uint64_t a)
{
    return a & ~(uint64_t)0xfff;
}

int64_t sext(uint64_t v, unsigned bits)
{
    if (bits == 0 || bits >= 64)
        return (int64_t)v;
    uint64_t m = (uint64_t)1 << (bits - 1);
    v &= (m << 1) - 1;
    return (int64_t)((v ^ m) - m);
}

int fits_s32(int64_t v)
{
    return v >= INT32_MIN && v <= INT32_MAX;
}

/* ==================================================================== */
/* Resolver                                                             */
/* ==================================================================== */

void res_set(res_table *t, const char *name, uint64_t addr)
{
    cr_assert_neq(addr, 0, "the resolver cannot return NULL for %s", name);
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->e[i].name, name) == 0) {
            t->e[i].addr = addr;
            return;
        }
    cr_assert_lt(t->n, sizeof t->e / sizeof t->e[0]);
    cr_assert_lt(strlen(name), sizeof t->e[0].name, "resolver name %s too long", name);
    snprintf(t->e[t->n].name, sizeof t->e[t->n].name, "%s", name);
    t->e[t->n].addr = addr;
    t->n++;
}

uint64_t res_get(const res_table *t, const char *name)
{
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->e[i].name, name) == 0)
            return t->e[i].addr;
    return 0;
}

void *resolve(void *ctx, const char *name)
{
    res_table *t = ctx;
    uint64_t a = res_get(t, name);
    if (!a && t->autofill && t->n < sizeof t->e / sizeof t->e[0]) {
        a = t->autofill + 0x1000 * t->n;
        res_set(t, name, a);
    }
    if (!a)
        a = t->dflt;
    return (void *)(uintptr_t)a;
}

uint64_t host_sym(const char *name)
{
    void *p = dlsym(RTLD_DEFAULT, name);
    cr_assert_not_null(p, "dlsym(%s)", name);
    return (uint64_t)(uintptr_t)p;
}

/* ==================================================================== */
/* Objects                                                              */
/* ==================================================================== */

obj fx_file(const char *path)
{
    obj o;
    memset(&o, 0, sizeof o);
    const char *slash = strrchr(path, '/');
    snprintf(o.name, sizeof o.name, "%s", slash ? slash + 1 : path);
    snprintf(o.path, sizeof o.path, "%s", path);
    return o;
}

obj fx(const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", EJ_RH_FIXTURE_DIR, name);
    obj o = fx_file(path);
    snprintf(o.name, sizeof o.name, "%s", name);
    return o;
}

static void obj_parse(obj *o)
{
    cr_assert_geq(o->len, sizeof(Elf64_Ehdr), "%s: too short", o->path);
    o->eh = (const Elf64_Ehdr *)o->buf;
    cr_assert_eq(o->eh->e_machine, rh_arch_desc.machine, "%s: e_machine %u, want %u", o->path,
                 o->eh->e_machine, rh_arch_desc.machine);
    cr_assert_leq(o->eh->e_shoff + (uint64_t)o->eh->e_shnum * sizeof(Elf64_Shdr), o->len);
    o->sh = (const Elf64_Shdr *)(o->buf + o->eh->e_shoff);
    o->shstr = (const char *)o->buf + o->sh[o->eh->e_shstrndx].sh_offset;
    for (size_t i = 0; i < o->eh->e_shnum; i++)
        if (o->sh[i].sh_type == SHT_SYMTAB) {
            o->sym = (const Elf64_Sym *)(o->buf + o->sh[i].sh_offset);
            o->nsym = o->sh[i].sh_size / sizeof(Elf64_Sym);
            o->str = (const char *)o->buf + o->sh[o->sh[i].sh_link].sh_offset;
        }
}

void obj_open(obj *o, const char *path)
{
    *o = fx_file(path);
    o->buf = ej_test_read_file(path, &o->len);
    cr_assert_not_null(o->buf, "cannot read %s", path);
    obj_parse(o);
}

obj fx_copy(const char *name)
{
    obj o = fx(name);
    char path[512];
    snprintf(path, sizeof path, "%s", o.path);
    obj_open(&o, path);
    snprintf(o.name, sizeof o.name, "%s", name);
    return o;
}

void obj_free(obj *o)
{
    free(o->buf);
    o->buf = NULL;
    o->eh = NULL;
    o->sh = NULL;
    o->sym = NULL;
    o->nsym = 0;
}

const Elf64_Sym *obj_find_sym(const obj *o, const char *name)
{
    if (!o->buf || !o->sym)
        return NULL;
    for (size_t i = 1; i < o->nsym; i++)
        if (o->sym[i].st_shndx != SHN_UNDEF && o->sym[i].st_shndx < SHN_LORESERVE &&
            strcmp(o->str + o->sym[i].st_name, name) == 0)
            return &o->sym[i];
    return NULL;
}

const Elf64_Sym *obj_sym(const obj *o, const char *name)
{
    cr_assert_not_null(o->buf, "%s is not read into memory", o->name);
    cr_assert_not_null(o->sym, "%s has no symbol table", o->name);
    const Elf64_Sym *s = obj_find_sym(o, name);
    if (!s)
        cr_assert_fail("%s: no symbol %s", o->name, name);
    return s;
}

uint32_t obj_word(const obj *o, const char *name)
{
    const Elf64_Sym *s = obj_sym(o, name);
    uint32_t w;
    memcpy(&w, o->buf + o->sh[s->st_shndx].sh_offset + s->st_value, 4);
    return w;
}

Elf64_Rela *obj_rela_at(obj *o, const char *name)
{
    const Elf64_Sym *s = obj_sym(o, name);
    Elf64_Rela *found = NULL;
    int n = 0;
    for (size_t i = 0; i < o->eh->e_shnum; i++) {
        if (o->sh[i].sh_type != SHT_RELA || o->sh[i].sh_info != s->st_shndx)
            continue;
        Elf64_Rela *r = (Elf64_Rela *)(o->buf + o->sh[i].sh_offset);
        for (size_t k = 0; k < o->sh[i].sh_size / sizeof *r; k++)
            if (r[k].r_offset == s->st_value) {
                found = &r[k];
                n++;
            }
    }
    cr_assert_eq(n, 1, "%s: %d relocations at %s, want 1", o->name, n, name);
    return found;
}

void retype_at(obj *o, const char *name, uint32_t type)
{
    Elf64_Rela *r = obj_rela_at(o, name);
    r->r_info = ELF64_R_INFO(ELF64_R_SYM(r->r_info), type);
}

size_t each_rela(obj *o, rela_fn fn, void *ctx)
{
    Elf64_Ehdr eh;
    size_t idx = 0;
    cr_assert_not_null(o->buf);
    cr_assert_geq(o->len, sizeof eh);
    memcpy(&eh, o->buf, sizeof eh);
    for (size_t i = 0; i < eh.e_shnum; i++) {
        Elf64_Shdr sh;
        cr_assert_leq(eh.e_shoff + (i + 1) * sizeof sh, o->len);
        memcpy(&sh, o->buf + eh.e_shoff + i * sizeof sh, sizeof sh);
        if (sh.sh_type != SHT_RELA)
            continue;
        cr_assert_leq(sh.sh_offset + sh.sh_size, o->len);
        for (uint64_t off = sh.sh_offset; off + sizeof(Elf64_Rela) <= sh.sh_offset + sh.sh_size;
             off += sizeof(Elf64_Rela)) {
            Elf64_Rela r;
            memcpy(&r, o->buf + off, sizeof r);
            fn(&r, idx++, ctx);
            memcpy(o->buf + off, &r, sizeof r);
        }
    }
    return idx;
}

typedef struct type_edit {
    uint32_t from, to;
    int n;
} type_edit;

static void do_type_edit(Elf64_Rela *r, size_t idx, void *ctx)
{
    type_edit *e = ctx;
    (void)idx;
    if (e->from == RH_ANY_TYPE || ELF64_R_TYPE(r->r_info) == e->from) {
        r->r_info = ELF64_R_INFO(ELF64_R_SYM(r->r_info), e->to);
        e->n++;
    }
}

int retype_all(obj *o, uint32_t from, uint32_t to)
{
    type_edit e = {from, to, 0};
    each_rela(o, do_type_edit, &e);
    return e.n;
}

void retype(obj *o, uint32_t from, uint32_t to)
{
    cr_assert_gt(retype_all(o, from, to), 0, "%s has no relocation of type %u", o->name, from);
}

typedef struct addend_edit {
    size_t idx;
    int64_t addend;
    int done;
} addend_edit;

static void do_addend_edit(Elf64_Rela *r, size_t idx, void *ctx)
{
    addend_edit *e = ctx;
    if (idx == e->idx) {
        r->r_addend = e->addend;
        e->done = 1;
    }
}

void set_addend(obj *o, size_t idx, int64_t addend)
{
    addend_edit e = {idx, addend, 0};
    each_rela(o, do_addend_edit, &e);
    cr_assert(e.done, "%s has no relocation %zu", o->name, idx);
}

/* ==================================================================== */
/* Links                                                                */
/* ==================================================================== */

ej_status add_obj(ej_linker *lk, const obj *o)
{
    return o->buf ? ej_linker_add_buffer(lk, o->name, o->buf, o->len)
                  : ej_linker_add_file(lk, o->path);
}

link_result do_link(uint64_t base, res_table *rt, const obj *objs, size_t n)
{
    link_result r;
    ej_linker *lk = NULL;
    memset(&r, 0, sizeof r);
    cr_assert_eq(ej_linker_create(&lk), EJ_OK);
    if (base)
        cr_assert_eq(ej_linker_set_base(lk, base), EJ_OK, "%s", ej_linker_errmsg(lk));
    if (rt)
        cr_assert_eq(ej_linker_set_resolver(lk, resolve, rt), EJ_OK);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(add_obj(lk, &objs[i]), EJ_OK, "adding %s: %s", objs[i].name,
                     ej_linker_errmsg(lk));
    r.m = (ej_module *)(uintptr_t)1; /* must be overwritten */
    r.st = ej_linker_link(lk, &r.m);
    snprintf(r.msg, sizeof r.msg, "%s", ej_linker_errmsg(lk));
    ej_linker_free(lk);
    if (r.st == EJ_OK) {
        cr_assert_not_null(r.m);
    } else {
        cr_assert_null(r.m, "a failed link must leave *out NULL");
    }
    return r;
}

ej_module *link_ok_(uint64_t base, res_table *rt, const obj *objs, size_t n)
{
    link_result r = do_link(base, rt, objs, n);
    cr_assert_eq(r.st, EJ_OK, "link of %s at 0x%" PRIx64 " failed (%d): %s", objs[0].name, base,
                 (int)r.st, r.msg);
    return r.m;
}

link_result link_counted(uint64_t base, res_table *rt, const obj *objs, size_t n, int *left)
{
    link_result r = do_link(base, rt, objs, n);
    if (r.m)
        ej_module_free(r.m);
    int before = ej_test_count_mappings();
    r = do_link(base, rt, objs, n);
    *left = ej_test_count_mappings() - before;
    return r;
}

void link_fails_(uint64_t base, res_table *rt, ej_status want, char *msg, size_t len,
                 const obj *objs, size_t n)
{
    int left;
    link_result r = link_counted(base, rt, objs, n, &left);
    if (r.m) /* linked after all: free it before failing */
        ej_module_free(r.m);
    cr_assert_eq(r.st, want, "link of %s at 0x%" PRIx64 ": status %d, wanted %d; message: %s",
                 objs[0].name, base, (int)r.st, (int)want, r.msg);
    cr_assert_eq(left, 0, "a failed link left %d mappings behind", left);
    snprintf(msg, len, "%s", r.msg);
    cr_log_info("expected failure: %s", r.msg); /* shown with --verbose */
}

void add_fails_(const obj *o, ej_status want, char *msg, size_t len)
{
    for (int round = 0; round < 2; round++) {
        int before = ej_test_count_mappings();
        ej_linker *lk;
        cr_assert_eq(ej_linker_create(&lk), EJ_OK);
        cr_assert_eq(ej_linker_set_base(lk, LOW_BASE), EJ_OK);
        ej_status st = add_obj(lk, o);
        snprintf(msg, len, "%s", ej_linker_errmsg(lk));
        cr_log_info("expected failure: %s", msg);
        cr_expect_eq(st, want, "adding %s: status %d, wanted %d: %s", o->name, (int)st, (int)want,
                     msg);
        int mid = ej_test_count_mappings();
        ej_linker_free(lk);
        int after = ej_test_count_mappings();
        if (round == 1) {
            cr_expect_eq(mid, before, "a refused object left %d mappings", mid - before);
            cr_expect_eq(after, before, "%d mappings left behind", after - before);
        }
    }
}

void expect_msg(const char *msg, const char *part)
{
    cr_expect(strstr(msg, part) != NULL, "message lacks \"%s\": %s", part, msg);
}

/* ==================================================================== */
/* Reading the image                                                    */
/* ==================================================================== */

uint64_t sym(const ej_module *m, const char *name)
{
    void *p = ej_module_symbol(m, name);
    cr_assert_not_null(p, "symbol %s not exported", name);
    return (uint64_t)(uintptr_t)p;
}

void rd(ej_module *m, uint64_t addr, void *buf, size_t len)
{
    cr_assert_eq(ej_module_read(m, addr, buf, len), EJ_OK, "reading 0x%" PRIx64 "+%zu: %s",
                 addr, len, ej_module_errmsg(m));
}

uint8_t rd8(ej_module *m, uint64_t addr)
{
    uint8_t v;
    rd(m, addr, &v, 1);
    return v;
}

uint16_t rd16(ej_module *m, uint64_t addr)
{
    uint16_t v;
    rd(m, addr, &v, sizeof v);
    return v;
}

uint32_t rd32(ej_module *m, uint64_t addr)
{
    uint32_t v;
    rd(m, addr, &v, sizeof v);
    return v;
}

uint64_t rd64(ej_module *m, uint64_t addr)
{
    uint64_t v;
    rd(m, addr, &v, sizeof v);
    return v;
}

int64_t rds32(ej_module *m, uint64_t addr)
{
    int32_t v;
    rd(m, addr, &v, sizeof v);
    return v;
}

int in_image(const ej_module *m, uint64_t a, uint64_t len)
{
    uint64_t start, end;
    ej_module_range(m, &start, &end);
    return a >= start && a + len <= end && a + len >= a;
}

void check_field_at(ej_module *m, const char *what, uint64_t p, unsigned width,
                    uint64_t expect)
{
    uint8_t got[8], want[8];
    rd(m, p, got, sizeof got);
    memset(want, SENTINEL_BYTE, sizeof want);
    for (unsigned i = 0; i < width; i++)
        want[i] = (uint8_t)(expect >> (8 * i));
    uint64_t g, w;
    memcpy(&g, got, 8);
    memcpy(&w, want, 8);
    cr_expect_eq(g, w, "%s at 0x%" PRIx64 " (%u bytes): got 0x%016" PRIx64 ", want 0x%016" PRIx64,
                 what, p, width, g, w);
}

void check_bytes(ej_module *m, const char *what, uint64_t p, unsigned width, uint64_t expect,
                 uint64_t rest, unsigned sentinel_from)
{
    uint8_t got[16], want[16];
    rd(m, p, got, sizeof got);
    for (unsigned i = 0; i < 16; i++) {
        if (i < width)
            want[i] = (uint8_t)(expect >> (8 * i));
        else if (i < sentinel_from)
            want[i] = (uint8_t)(rest >> (8 * i));
        else
            want[i] = SENTINEL_BYTE;
    }
    for (unsigned i = 0; i < 16; i++)
        cr_expect_eq(got[i], want[i], "%s at 0x%" PRIx64 ": byte %u is 0x%02x, want 0x%02x "
                     "(field of %u bytes, expected value 0x%" PRIx64 ")",
                     what, p, i, got[i], want[i], width, expect);
}

/* ---- stubs and the GOT ---------------------------------------------- */

int is_stub(ej_module *m, uint64_t L)
{
    unsigned sz = rh_arch_desc.stub_size;
    return L % sz == 0 && in_image(m, L, sz) && rh_arch_desc.stub_shape(m, L);
}

uint64_t check_stub(ej_module *m, uint64_t L, uint64_t S)
{
    unsigned sz = rh_arch_desc.stub_size;
    cr_assert(in_image(m, L, sz), "stub 0x%" PRIx64 " outside the image", L);
    cr_assert_eq(L % sz, 0, "stub 0x%" PRIx64 " not %u-aligned", L, sz);
    uint8_t b[16] = {0};
    rd(m, L, b, sz < sizeof b ? sz : sizeof b);
    cr_assert(rh_arch_desc.stub_shape(m, L),
              "no stub at 0x%" PRIx64 ": %02x %02x %02x %02x %02x %02x %02x %02x ...", L, b[0],
              b[1], b[2], b[3], b[4], b[5], b[6], b[7]);
    uint64_t slot = rh_arch_desc.stub_slot(m, L);
    cr_assert(in_image(m, slot, 8) && slot % 8 == 0,
              "stub 0x%" PRIx64 " reads slot 0x%" PRIx64 " outside the image", L, slot);
    cr_expect_eq(rd64(m, slot), S, "stub 0x%" PRIx64 ": slot 0x%" PRIx64 " holds 0x%" PRIx64
                 ", want 0x%" PRIx64, L, slot, rd64(m, slot), S);
    return slot;
}

size_t find_stubs(ej_module *m, uint64_t *out, size_t max)
{
    uint64_t start, end;
    size_t n = 0;
    unsigned sz = rh_arch_desc.stub_size;
    ej_module_range(m, &start, &end);
    for (uint64_t a = (start + sz - 1) / sz * sz; a + sz <= end; a += sz)
        if (is_stub(m, a) && n < max)
            out[n++] = a;
    return n;
}

got_info got_from(ej_module *m, uint64_t got, uint64_t dso)
{
    got_info gi = {got, 0};
    cr_assert(got % 8 == 0 && dso >= got && in_image(m, got, dso - got),
              "GOT 0x%" PRIx64 " / __dso_handle 0x%" PRIx64 " make no sense", got, dso);
    gi.n = (size_t)(dso - got) / 8;
    return gi;
}

uint64_t got_slot(ej_module *m, const got_info *gi, uint64_t S, const char *what)
{
    uint64_t found = 0;
    int count = 0;
    for (size_t i = 0; i < gi->n; i++)
        if (rd64(m, gi->got + 8 * i) == S) {
            found = gi->got + 8 * i;
            count++;
        }
    cr_assert_eq(count, 1, "%d GOT slots hold %s (0x%" PRIx64 "), want exactly 1", count, what,
                 S);
    return found;
}

/* ==================================================================== */
/* Thread-local storage                                                 */
/* ==================================================================== */

uint64_t align_up(uint64_t v, uint64_t a)
{
    return a <= 1 ? v : (v + a - 1) / a * a;
}

void tls_block_of(const obj *objs, size_t n, tls_block *b)
{
    memset(b, 0, sizeof *b);
    b->align = 1;
    for (int nobits = 0; nobits < 2; nobits++)
        for (size_t oi = 0; oi < n; oi++) {
            const obj *o = &objs[oi];
            cr_assert_not_null(o->buf, "%s: the TLS layout needs a copy (fx_copy)", o->name);
            for (size_t i = 1; i < o->eh->e_shnum; i++) {
                const Elf64_Shdr *h = &o->sh[i];
                if (!(h->sh_flags & SHF_TLS) || !(h->sh_flags & SHF_ALLOC) ||
                    (h->sh_type == SHT_NOBITS) != nobits)
                    continue;
                uint64_t al = h->sh_addralign ? h->sh_addralign : 1;
                cr_assert_lt(b->n, TLS_MAX_SECS);
                b->size = align_up(b->size, al);
                b->sec[b->n].obj = oi;
                b->sec[b->n].shndx = i;
                b->sec[b->n].off = b->size;
                b->n++;
                b->size += h->sh_size;
                if (al > b->align)
                    b->align = al;
            }
        }
}

static int tls_sec_off(const tls_block *b, size_t oi, size_t shndx, uint64_t *off)
{
    for (size_t i = 0; i < b->n; i++)
        if (b->sec[i].obj == oi && b->sec[i].shndx == shndx) {
            *off = b->sec[i].off;
            return 1;
        }
    return 0;
}

int tls_sym(const tls_block *b, const obj *objs, size_t n, size_t oi, size_t symidx,
            uint64_t *S, uint64_t *key)
{
    const obj *o = &objs[oi];
    if (!o->sym || symidx == 0 || symidx >= o->nsym)
        return 0;
    const Elf64_Sym *s = &o->sym[symidx];
    const char *name = o->str + s->st_name;
    if (s->st_shndx == SHN_UNDEF) {
        if (strcmp(name, "_TLS_MODULE_BASE_") == 0) {
            *S = 0;
            *key = TLS_KEY_MODULE_BASE;
            return 1;
        }
        for (size_t k = 0; k < n; k++) {
            const obj *d = &objs[k];
            for (size_t j = 1; d->sym && j < d->nsym; j++) {
                const Elf64_Sym *t = &d->sym[j];
                if (ELF64_ST_BIND(t->st_info) != STB_LOCAL && t->st_shndx != SHN_UNDEF &&
                    strcmp(d->str + t->st_name, name) == 0)
                    return tls_sym(b, objs, n, k, j, S, key);
            }
        }
        return 0;
    }
    uint64_t off;
    if (ELF64_ST_TYPE(s->st_info) != STT_TLS || s->st_shndx >= SHN_LORESERVE ||
        !tls_sec_off(b, oi, s->st_shndx, &off))
        return 0;
    *S = off + s->st_value;
    *key = ((uint64_t)(oi + 1) << 32) | symidx;
    return 1;
}

/* An exported symbol of section SHNDX of O at or before OFF: its image
 * address, minus its offset in the section. */
static int anchor_of(ej_module *m, const obj *o, size_t shndx, uint64_t off, uint64_t *base)
{
    for (size_t j = 1; j < o->nsym; j++) {
        const Elf64_Sym *t = &o->sym[j];
        unsigned type = ELF64_ST_TYPE(t->st_info);
        if (t->st_shndx != shndx || ELF64_ST_BIND(t->st_info) == STB_LOCAL ||
            ELF64_ST_VISIBILITY(t->st_other) == STV_HIDDEN || t->st_value > off ||
            (type != STT_FUNC && type != STT_OBJECT && type != STT_NOTYPE))
            continue;
        void *p = ej_module_symbol(m, o->str + t->st_name);
        if (!p)
            continue;
        *base = (uint64_t)(uintptr_t)p - t->st_value;
        return 1;
    }
    return 0;
}

void placed_collect(ej_module *m, const obj *objs, size_t n, placed_set *out)
{
    memset(out, 0, sizeof *out);
    tls_block_of(objs, n, &out->tls);
    size_t cap = 0;
    for (size_t oi = 0; oi < n; oi++) {
        const obj *o = &objs[oi];
        for (size_t i = 1; i < o->eh->e_shnum; i++) {
            const Elf64_Shdr *rs = &o->sh[i];
            if (rs->sh_type != SHT_RELA || rs->sh_info == 0 || rs->sh_info >= o->eh->e_shnum)
                continue;
            const Elf64_Shdr *ts = &o->sh[rs->sh_info];
            if (!(ts->sh_flags & SHF_ALLOC) || (ts->sh_flags & SHF_TLS))
                continue;
            const Elf64_Rela *r = (const Elf64_Rela *)(o->buf + rs->sh_offset);
            for (size_t k = 0; k < rs->sh_size / sizeof *r; k++) {
                uint64_t base;
                if (!anchor_of(m, o, rs->sh_info, r[k].r_offset, &base)) {
                    out->unplaced++;
                    continue;
                }
                if (out->n == cap) {
                    cap = cap ? 2 * cap : 256;
                    out->r = realloc(out->r, cap * sizeof *out->r);
                    cr_assert_not_null(out->r);
                }
                placed_rela *p = &out->r[out->n++];
                memset(p, 0, sizeof *p);
                p->oi = oi;
                p->shndx = rs->sh_info;
                p->off = r[k].r_offset;
                p->type = (uint32_t)ELF64_R_TYPE(r[k].r_info);
                p->A = r[k].r_addend;
                p->symidx = ELF64_R_SYM(r[k].r_info);
                p->name = p->symidx && p->symidx < o->nsym ? o->str + o->sym[p->symidx].st_name
                                                            : "";
                p->tls = tls_sym(&out->tls, objs, n, oi, p->symidx, &p->S, &p->key);
                p->P = base + p->off;
                if (ts->sh_type != SHT_NOBITS)
                    for (unsigned b = 0; b < 8 && p->off + b < ts->sh_size; b++)
                        p->orig |= (uint64_t)o->buf[ts->sh_offset + p->off + b] << (8 * b);
            }
        }
    }
}

void placed_free(placed_set *s)
{
    free(s->r);
    memset(s, 0, sizeof *s);
}

const placed_rela *placed_at(const placed_set *s, size_t oi, size_t shndx, uint64_t off,
                             uint32_t type)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->r[i].oi == oi && s->r[i].shndx == shndx && s->r[i].off == off &&
            (type == RH_ANY_TYPE || s->r[i].type == type))
            return &s->r[i];
    return NULL;
}

int slot_note(tls_slots *t, uint64_t key, int kind, uint64_t G, unsigned len, const char *what)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->e[i].key == key && t->e[i].kind == kind) {
            cr_expect_eq(t->e[i].G, G, "%s: slot 0x%" PRIx64 ", but %s used 0x%" PRIx64
                         " (one slot per symbol)", what, G, t->e[i].what, t->e[i].G);
            return 0;
        }
    cr_assert_lt(t->n, sizeof t->e / sizeof t->e[0]);
    t->e[t->n].key = key;
    t->e[t->n].kind = kind;
    t->e[t->n].G = G;
    t->e[t->n].len = len;
    snprintf(t->e[t->n].what, sizeof t->e[t->n].what, "%s", what);
    t->n++;
    return 1;
}

uint64_t slot_find(const tls_slots *t, uint64_t key, int kind)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->e[i].key == key && t->e[i].kind == kind)
            return t->e[i].G;
    return 0;
}

void slots_check(ej_module *m, const tls_slots *t)
{
    for (size_t i = 0; i < t->n; i++) {
        cr_expect(in_image(m, t->e[i].G, t->e[i].len) && t->e[i].G % 8 == 0,
                  "%s: slot 0x%" PRIx64 " (%u bytes) not 8-aligned in the image", t->e[i].what,
                  t->e[i].G, t->e[i].len);
        for (size_t j = 0; j < i; j++)
            cr_expect(t->e[i].G + t->e[i].len <= t->e[j].G ||
                          t->e[j].G + t->e[j].len <= t->e[i].G,
                      "slots overlap: %s at 0x%" PRIx64 " (%u bytes) and %s at 0x%" PRIx64
                      " (%u bytes)", t->e[i].what, t->e[i].G, t->e[i].len, t->e[j].what,
                      t->e[j].G, t->e[j].len);
    }
}

/* ==================================================================== */
/* Check lines                                                          */
/* ==================================================================== */

#define RH_MAX_LINES 1024
#define RH_MAX_ARGS 4

typedef struct rh_line {
    char file[64];
    int line;
    int is_let;
    char name[64]; /* a let's */
    char *expr;    /* owned */
    int state;     /* lets: 0 not yet, 1 being evaluated, 2 done, 3 failed */
    uint64_t value;
} rh_line;

struct rh_ctx {
    ej_module *m;
    uint64_t base, start, end;
    const res_table *rt;
    const obj *objs;
    size_t nobjs;
    rh_line *lines;
    size_t nlines;
    /* the line being evaluated */
    const rh_line *cur;
    char err[768];
    /* the last comparison evaluated outside parentheses and arguments */
    int have_cmp;
    const char *cmp_op;
    uint64_t lhs, rhs;
};

/* A parser over one expression; EV 0 parses without evaluating (the arm
 * of ?: not taken, the right of a decided && / ||). */
typedef struct rh_parser {
    rh_ctx *c;
    const char *s, *p;
    int depth;
} rh_parser;

uint64_t rh_fail(rh_ctx *c, const char *fmt, ...)
{
    if (!c->err[0]) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->err, sizeof c->err, fmt, ap);
        va_end(ap);
    }
    return 0;
}

ej_module *rh_module(const rh_ctx *c)
{
    return c->m;
}

uint64_t rh_read(rh_ctx *c, uint64_t a, unsigned len)
{
    uint8_t b[8] = {0};
    if (len > 8 || ej_module_read(c->m, a, b, len) != EJ_OK)
        return rh_fail(c, "cannot read %u bytes at 0x%" PRIx64 " (image [0x%" PRIx64
                       ", 0x%" PRIx64 "))", len, a, c->start, c->end);
    uint64_t v = 0;
    for (unsigned i = 0; i < len; i++)
        v |= (uint64_t)b[i] << (8 * i);
    return v;
}

uint32_t rh_orig32(rh_ctx *c, const char *name)
{
    if (!name) {
        rh_fail(c, "the argument must be a symbol name of the object (its assembled word "
                   "is compared)");
        return 0;
    }
    for (size_t i = 0; i < c->nobjs; i++) {
        const obj *o = &c->objs[i];
        const Elf64_Sym *s = obj_find_sym(o, name);
        if (s) {
            uint32_t w;
            memcpy(&w, o->buf + o->sh[s->st_shndx].sh_offset + s->st_value, 4);
            return w;
        }
    }
    rh_fail(c, "no object of the link (read into memory) defines %s", name);
    return 0;
}

static void skip_ws(rh_parser *ps)
{
    while (*ps->p == ' ' || *ps->p == '\t')
        ps->p++;
}

static int accept(rh_parser *ps, const char *tok)
{
    skip_ws(ps);
    size_t n = strlen(tok);
    if (strncmp(ps->p, tok, n) != 0)
        return 0;
    /* A one-character operator is not the start of a longer one: `<` is
     * not `<<` or `<=`, `&` not `&&`, `!` not `!=`. */
    char nx = ps->p[n];
    if (n == 1 && ((strchr("<>&|", tok[0]) && nx == tok[0]) ||
                   (strchr("<>!=", tok[0]) && nx == '=')))
        return 0;
    ps->p += n;
    return 1;
}

static int is_ident0(char ch)
{
    return isalpha((unsigned char)ch) || ch == '_' || ch == '$';
}

static int is_ident(char ch)
{
    return isalnum((unsigned char)ch) || ch == '_' || ch == '$' || ch == '.';
}

static uint64_t parse_expr(rh_parser *ps, int ev);

static uint64_t syntax(rh_parser *ps, const char *what)
{
    return rh_fail(ps->c, "syntax error at column %d (%s): \"%s\"", (int)(ps->p - ps->s) + 1,
                   what, ps->p);
}

static uint64_t eval_let(rh_ctx *c, rh_line *l);

static uint64_t lookup_name(rh_parser *ps, const char *name)
{
    rh_ctx *c = ps->c;
    for (size_t i = 0; i < c->nlines; i++)
        if (c->lines[i].is_let && strcmp(c->lines[i].name, name) == 0)
            return eval_let(c, &c->lines[i]);
    if (strcmp(name, "base") == 0)
        return c->base;
    if (strcmp(name, "image_start") == 0)
        return c->start;
    if (strcmp(name, "image_end") == 0)
        return c->end;
    void *p = ej_module_symbol(c->m, name);
    if (p)
        return (uint64_t)(uintptr_t)p;
    if (c->rt) {
        uint64_t a = res_get(c->rt, name);
        if (a)
            return a;
    }
    p = dlsym(RTLD_DEFAULT, name);
    if (p)
        return (uint64_t)(uintptr_t)p;
    return rh_fail(c, "unknown name %s (no let, module symbol, resolver name or host symbol)",
                   name);
}

static const rh_func *find_func(const char *name);
static int name_first(const rh_func *f);

static uint64_t parse_primary(rh_parser *ps, int ev)
{
    skip_ws(ps);
    if (accept(ps, "(")) {
        ps->depth++;
        uint64_t v = parse_expr(ps, ev);
        ps->depth--;
        if (!accept(ps, ")"))
            return syntax(ps, "')' expected");
        return v;
    }
    if (isdigit((unsigned char)*ps->p)) {
        char *endp;
        int hex = ps->p[0] == '0' && (ps->p[1] == 'x' || ps->p[1] == 'X');
        unsigned long long v = strtoull(ps->p, &endp, hex ? 16 : 10);
        if (is_ident(*endp))
            return syntax(ps, "bad number");
        ps->p = endp;
        return v;
    }
    if (!is_ident0(*ps->p))
        return syntax(ps, "a number, a name or '(' expected");
    char name[64];
    size_t n = 0;
    while (is_ident(*ps->p)) {
        if (n + 1 < 64)
            name[n++] = *ps->p;
        ps->p++;
    }
    name[n] = 0;
    skip_ws(ps);
    if (*ps->p != '(')
        return ev ? lookup_name(ps, name) : 0;
    ps->p++;
    const rh_func *f = find_func(name);
    if (!f)
        return rh_fail(ps->c, "unknown function %s()", name);
    uint64_t args[RH_MAX_ARGS] = {0};
    const char *argn[RH_MAX_ARGS] = {0};
    char argbuf[RH_MAX_ARGS][64];
    int na = 0;
    ps->depth++;
    skip_ws(ps);
    if (*ps->p != ')') {
        for (;;) {
            if (na == RH_MAX_ARGS)
                return syntax(ps, "too many arguments");
            /* A bare name argument: remembered for functions that need it. */
            const char *b = NULL;
            skip_ws(ps);
            if (is_ident0(*ps->p)) {
                size_t k = 0;
                while (is_ident(ps->p[k]))
                    k++;
                const char *after = ps->p + k;
                while (*after == ' ' || *after == '\t')
                    after++;
                if ((*after == ',' || *after == ')') && k < sizeof argbuf[0]) {
                    memcpy(argbuf[na], ps->p, k);
                    argbuf[na][k] = 0;
                    b = argbuf[na];
                }
            }
            /* A function's name-only argument is not evaluated (a TLS
             * symbol has no address to look up). */
            int raw = na == 0 && name_first(f);
            if (raw && !b)
                return rh_fail(ps->c, "argument %d of %s() must be a bare name", na + 1, name);
            args[na] = parse_expr(ps, ev && !raw);
            argn[na++] = b;
            if (accept(ps, ","))
                continue;
            break;
        }
    }
    ps->depth--;
    if (!accept(ps, ")"))
        return syntax(ps, "')' or ',' expected");
    if (na != f->nargs)
        return rh_fail(ps->c, "%s() takes %d argument%s, given %d", name, f->nargs,
                       f->nargs == 1 ? "" : "s", na);
    if (!ev || ps->c->err[0])
        return 0;
    return f->fn(ps->c, args, argn);
}

static uint64_t parse_unary(rh_parser *ps, int ev)
{
    if (accept(ps, "-"))
        return -parse_unary(ps, ev);
    if (accept(ps, "~"))
        return ~parse_unary(ps, ev);
    if (accept(ps, "!"))
        return !parse_unary(ps, ev);
    if (accept(ps, "+"))
        return parse_unary(ps, ev);
    return parse_primary(ps, ev);
}

static uint64_t parse_mul(rh_parser *ps, int ev)
{
    uint64_t v = parse_unary(ps, ev);
    for (;;) {
        if (accept(ps, "*")) {
            v *= parse_unary(ps, ev);
        } else if (accept(ps, "/") || accept(ps, "%")) {
            int div = ps->p[-1] == '/';
            uint64_t r = parse_unary(ps, ev);
            if (!ev)
                continue;
            if (r == 0)
                return rh_fail(ps->c, "division by zero");
            v = div ? (uint64_t)((int64_t)v / (int64_t)r) : (uint64_t)((int64_t)v % (int64_t)r);
        } else {
            return v;
        }
    }
}

static uint64_t parse_add(rh_parser *ps, int ev)
{
    uint64_t v = parse_mul(ps, ev);
    for (;;) {
        if (accept(ps, "+"))
            v += parse_mul(ps, ev);
        else if (accept(ps, "-"))
            v -= parse_mul(ps, ev);
        else
            return v;
    }
}

static uint64_t parse_shift(rh_parser *ps, int ev)
{
    uint64_t v = parse_add(ps, ev);
    for (;;) {
        if (accept(ps, "<<")) {
            uint64_t s = parse_add(ps, ev);
            v = s >= 64 ? 0 : v << s;
        } else if (accept(ps, ">>")) {
            uint64_t s = parse_add(ps, ev);
            v = s >= 64 ? 0 : v >> s;
        } else {
            return v;
        }
    }
}

static uint64_t parse_band(rh_parser *ps, int ev)
{
    uint64_t v = parse_shift(ps, ev);
    while (accept(ps, "&"))
        v &= parse_shift(ps, ev);
    return v;
}

static uint64_t parse_bxor(rh_parser *ps, int ev)
{
    uint64_t v = parse_band(ps, ev);
    while (accept(ps, "^"))
        v ^= parse_band(ps, ev);
    return v;
}

static uint64_t parse_bor(rh_parser *ps, int ev)
{
    uint64_t v = parse_bxor(ps, ev);
    while (accept(ps, "|"))
        v |= parse_bxor(ps, ev);
    return v;
}

static uint64_t parse_cmp(rh_parser *ps, int ev)
{
    uint64_t a = parse_bor(ps, ev);
    static const char *const ops[] = {"==", "!=", "<=", ">=", "<", ">"};
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        if (!accept(ps, ops[i]))
            continue;
        uint64_t b = parse_bor(ps, ev);
        int64_t sa = (int64_t)a, sb = (int64_t)b;
        uint64_t r;
        switch (i) {
        case 0: r = a == b; break;
        case 1: r = a != b; break;
        case 2: r = sa <= sb; break;
        case 3: r = sa >= sb; break;
        case 4: r = sa < sb; break;
        default: r = sa > sb; break;
        }
        if (ev && ps->depth == 0) {
            ps->c->have_cmp = 1;
            ps->c->cmp_op = ops[i];
            ps->c->lhs = a;
            ps->c->rhs = b;
        }
        return r;
    }
    return a;
}

static uint64_t parse_land(rh_parser *ps, int ev)
{
    uint64_t v = parse_cmp(ps, ev);
    while (accept(ps, "&&")) {
        uint64_t r = parse_cmp(ps, ev && v);
        v = v && r;
    }
    return v;
}

static uint64_t parse_lor(rh_parser *ps, int ev)
{
    uint64_t v = parse_land(ps, ev);
    while (accept(ps, "||")) {
        uint64_t r = parse_land(ps, ev && !v);
        v = v || r;
    }
    return v;
}

static uint64_t parse_expr(rh_parser *ps, int ev)
{
    uint64_t c = parse_lor(ps, ev);
    if (!accept(ps, "?"))
        return c;
    uint64_t a = parse_expr(ps, ev && c);
    if (!accept(ps, ":"))
        return syntax(ps, "':' expected");
    uint64_t b = parse_expr(ps, ev && !c);
    return c ? a : b;
}

/* Evaluates EXPR in full; 0 with c->err set on an error. */
static uint64_t eval_text(rh_ctx *c, const char *expr)
{
    rh_parser ps = {c, expr, expr, 0};
    uint64_t v = parse_expr(&ps, 1);
    skip_ws(&ps);
    if (!c->err[0] && *ps.p)
        syntax(&ps, "end of expression expected");
    return v;
}

static uint64_t eval_let(rh_ctx *c, rh_line *l)
{
    if (l->state == 2)
        return l->value;
    if (l->state == 3)
        return rh_fail(c, "%s (%s:%d) could not be evaluated", l->name, l->file, l->line);
    if (l->state == 1)
        return rh_fail(c, "%s (%s:%d) depends on itself", l->name, l->file, l->line);
    /* Evaluate it on its own: its comparison is not this check's. */
    int have = c->have_cmp;
    const char *op = c->cmp_op;
    uint64_t lhs = c->lhs, rhs = c->rhs;
    char err[sizeof c->err];
    memcpy(err, c->err, sizeof err);
    c->err[0] = 0;
    l->state = 1;
    uint64_t v = eval_text(c, l->expr);
    if (c->err[0]) {
        l->state = 3;
        char inner[sizeof c->err];
        snprintf(inner, sizeof inner, "%s", c->err);
        snprintf(c->err, sizeof c->err, "%s (%s:%d): %s", l->name, l->file, l->line, inner);
        cr_expect_fail("%s:%d: let %s = %s\n    error: %s", l->file, l->line, l->name, l->expr,
                       inner);
    } else {
        l->state = 2;
        l->value = v;
        if (err[0])
            memcpy(c->err, err, sizeof err);
    }
    c->have_cmp = have;
    c->cmp_op = op;
    c->lhs = lhs;
    c->rhs = rhs;
    return v;
}

static const rh_func *find_func(const char *name);

/* Reads FILE's `check:` and `let:` lines into C. */
static void collect(rh_ctx *c, const char *file)
{
    char path[768];
    snprintf(path, sizeof path, "%s/%s", EJ_RH_SOURCE_DIR, file);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "cannot open the fixture source %s", path);
    char buf[1024];
    int lineno = 0;
    while (fgets(buf, sizeof buf, f)) {
        lineno++;
        size_t len = strlen(buf);
        cr_assert(len < sizeof buf - 1 || buf[len - 1] == '\n', "%s:%d: line too long", path,
                  lineno);
        while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == ' '))
            buf[--len] = 0;
        const char *hit = NULL;
        int is_let = 0;
        for (const char *q = buf; *q && !hit; q++) {
            if (*q != '#' && !(q[0] == '/' && q[1] == '/'))
                continue;
            const char *r = q + (*q == '#' ? 1 : 2);
            while (*r == ' ' || *r == '\t')
                r++;
            if (strncmp(r, "check:", 6) == 0) {
                hit = r + 6;
            } else if (strncmp(r, "let:", 4) == 0) {
                hit = r + 4;
                is_let = 1;
            }
        }
        if (!hit)
            continue;
        cr_assert_lt(c->nlines, RH_MAX_LINES, "too many check lines");
        rh_line *l = &c->lines[c->nlines++];
        memset(l, 0, sizeof *l);
        snprintf(l->file, sizeof l->file, "%s", file);
        l->line = lineno;
        l->is_let = is_let;
        while (*hit == ' ' || *hit == '\t')
            hit++;
        if (is_let) {
            size_t n = 0;
            while (is_ident(hit[n]) && n + 1 < sizeof l->name) {
                l->name[n] = hit[n];
                n++;
            }
            const char *eq = hit + n;
            while (*eq == ' ' || *eq == '\t')
                eq++;
            cr_assert(n > 0 && is_ident0(hit[0]) && eq[0] == '=' && eq[1] != '=',
                      "%s:%d: want `let: NAME = EXPR`", file, lineno);
            hit = eq + 1;
            for (size_t i = 0; i + 1 < c->nlines; i++)
                cr_assert(!c->lines[i].is_let || strcmp(c->lines[i].name, l->name) != 0,
                          "%s:%d: %s is defined twice (also %s:%d)", file, lineno, l->name,
                          c->lines[i].file, c->lines[i].line);
        }
        while (*hit == ' ' || *hit == '\t')
            hit++;
        l->expr = strdup(hit);
        cr_assert_not_null(l->expr);
    }
    fclose(f);
}

void run_checks_(ej_module *m, uint64_t base, const res_table *rt, const obj *objs,
                 size_t nobjs, const char *const *srcs, size_t nsrcs)
{
    rh_ctx *c = calloc(1, sizeof *c);
    cr_assert_not_null(c);
    c->lines = calloc(RH_MAX_LINES, sizeof *c->lines);
    cr_assert_not_null(c->lines);
    c->m = m;
    c->base = base;
    c->rt = rt;
    c->objs = objs;
    c->nobjs = nobjs;
    ej_module_range(m, &c->start, &c->end);
    for (size_t i = 0; i < nsrcs; i++)
        collect(c, srcs[i]);

    int nchecks = 0, failed = 0;
    const char *what = nobjs ? objs[0].name : "?";
    for (size_t i = 0; i < c->nlines; i++) {
        rh_line *l = &c->lines[i];
        c->err[0] = 0;
        if (l->is_let) {
            eval_let(c, l); /* reports its own failure */
            if (l->state == 3)
                failed++;
            continue;
        }
        nchecks++;
        c->cur = l;
        c->have_cmp = 0;
        uint64_t v = eval_text(c, l->expr);
        if (c->err[0]) {
            failed++;
            cr_expect_fail("%s:%d: check: %s\n    error: %s  [%s at 0x%" PRIx64 "]", l->file,
                           l->line, l->expr, c->err, what, base);
        } else if (!v) {
            failed++;
            if (c->have_cmp)
                cr_expect_fail("%s:%d: check failed: %s\n    left  = 0x%" PRIx64 " (%" PRId64
                               ")\n    right = 0x%" PRIx64 " (%" PRId64 ")  [%s; %s at 0x%" PRIx64
                               "]",
                               l->file, l->line, l->expr, c->lhs, (int64_t)c->lhs, c->rhs,
                               (int64_t)c->rhs, c->cmp_op, what, base);
            else
                cr_expect_fail("%s:%d: check failed: %s  (is 0) [%s at 0x%" PRIx64 "]", l->file,
                               l->line, l->expr, what, base);
        }
    }
    cr_log_info("%d checks, %zu lines, %d failed (%s at 0x%" PRIx64 ")", nchecks, c->nlines,
                failed, what, base);
    for (size_t i = 0; i < c->nlines; i++)
        free(c->lines[i].expr);
    free(c->lines);
    free(c);
    cr_assert_gt(nchecks, 0, "no check lines found");
}

/* ---- the functions every architecture has --------------------------- */

static uint64_t f_read8(rh_ctx *c, const uint64_t *a, const char *const *n)
{
    (void)n;
    return rh_read(c, a[0], 1);
}

static uint64_t f_read16(rh_ctx *c, const uint64_t *a, const char *const *n)
{
    (void)n;
    return rh_read(c, a[0], 2);
}

static uint64_t f_read32(rh_ctx *c, const uint64_t *a, const char *const *n)
{
    (void)n;
    return rh_read(c, a[0], 4);
}

static uint64_t f_read64(rh_ctx *c, const uint64_t *a, const char *const *n)
{
    (void)n;
    return rh_read(c, a[0], 8);
}

static uint64_t f_sext(rh_ctx *c, const uint64_t *a, const char *const *n)
{
    (void)n;
    if (a[1] < 1 || a[1] > 64)
        return rh_fail(c, "sext: %" PRIu64 " bits", a[1]);
    return (uint64_t)sext(a[0], (unsigned)a[1]);
}

static uint64_t f_fits(rh_ctx *c, const uint64_t *a, const char *const *n)
{
    (void)n;
    if (a[1] < 1 || a[1] > 64)
        return rh_fail(c, "fits: %" PRIu64 " bits", a[1]);
    return (uint64_t)sext(a[0], (unsigned)a[1]) == a[0];
}

static uint64_t f_page(rh_ctx *c, const uint64_t *a, const char *const *n)
{
    (void)c;
    (void)n;
    return page4k(a[0]);
}

static uint64_t f_in_image(rh_ctx *c, const uint64_t *a, const char *const *n)
{
    (void)n;
    return in_image(c->m, a[0], a[1]);
}

/* The field at A: W bytes, then the fixture's fill up to 8 bytes, then the
 * guard sentinel bytes. */
static uint64_t field_value(rh_ctx *c, uint64_t a, unsigned w, int is_signed)
{
    unsigned total = 8 + rh_arch_desc.field_guard;
    uint8_t b[32];
    if (w > 8 || total > sizeof b)
        return rh_fail(c, "field: width %u", w);
    if (ej_module_read(c->m, a, b, total) != EJ_OK)
        return rh_fail(c, "cannot read the field at 0x%" PRIx64 " (%u bytes)", a, total);
    for (unsigned i = w; i < total; i++) {
        uint8_t want = i < 8 ? (uint8_t)(rh_arch_desc.field_fill >> (8 * i)) : SENTINEL_BYTE;
        if (b[i] != want)
            return rh_fail(c, "field at 0x%" PRIx64 " (%u bytes): byte %u is 0x%02x, want 0x%02x "
                           "(written past the field)", a, w, i, b[i], want);
    }
    uint64_t v = 0;
    for (unsigned i = 0; i < w; i++)
        v |= (uint64_t)b[i] << (8 * i);
    return is_signed && w ? (uint64_t)sext(v, 8 * w) : v;
}

static uint64_t f_field(rh_ctx *c, const uint64_t *a, const char *const *n)
{
    (void)n;
    return field_value(c, a[0], (unsigned)a[1], 0);
}

#define FIELD_FN(fname, w, s)                                                   \
    static uint64_t fname(rh_ctx *c, const uint64_t *a, const char *const *n) \
    {                                                                           \
        (void)n;                                                                \
        return field_value(c, a[0], w, s);                                      \
    }
FIELD_FN(f_u8, 1, 0)
FIELD_FN(f_u16, 2, 0)
FIELD_FN(f_u32, 4, 0)
FIELD_FN(f_u64, 8, 0)
FIELD_FN(f_s8, 1, 1)
FIELD_FN(f_s16, 2, 1)
FIELD_FN(f_s32, 4, 1)

/* [GOT, GOT_END), from the fixture's lets. */
static int got_range(rh_ctx *c, uint64_t *got, uint64_t *end)
{
    rh_parser ps = {c, "", "", 1};
    *got = lookup_name(&ps, "GOT");
    *end = lookup_name(&ps, "GOT_END");
    if (c->err[0])
        return 0;
    if (*got % 8 || *end < *got || !in_image(c->m, *got, *end - *got)) {
        rh_fail(c, "GOT 0x%" PRIx64 " / GOT_END 0x%" PRIx64 " make no sense", *got, *end);
        return 0;
    }
    return 1;
}

static uint64_t f_got_slot_of(rh_ctx *c, const uint64_t *a, const char *const *n)
{
    uint64_t got, end, found = 0;
    int count = 0;
    if (!got_range(c, &got, &end))
        return 0;
    for (uint64_t s = got; s < end; s += 8)
        if (rh_read(c, s, 8) == a[0]) {
            found = s;
            count++;
        }
    if (count != 1)
        return rh_fail(c, "%d GOT slots hold %s0x%" PRIx64 ", want exactly 1", count,
                       n[0] ? n[0] : "", a[0]);
    return found;
}

static uint64_t f_got_slots(rh_ctx *c, const uint64_t *a, const char *const *n)
{
    uint64_t got, end;
    (void)a;
    (void)n;
    if (!got_range(c, &got, &end))
        return 0;
    return (end - got) / 8;
}

static uint64_t f_stub_slot(rh_ctx *c, const uint64_t *a, const char *const *n)
{
    (void)n;
    uint64_t L = a[0];
    unsigned sz = rh_arch_desc.stub_size;
    if (!in_image(c->m, L, sz) || L % sz)
        return rh_fail(c, "stub 0x%" PRIx64 ": not a %u-aligned place in the image", L, sz);
    if (!rh_arch_desc.stub_shape(c->m, L))
        return rh_fail(c, "no stub at 0x%" PRIx64 " (0x%08" PRIx64 " 0x%08" PRIx64 " ...)", L,
                       rh_read(c, L, 4), rh_read(c, L + 4, 4));
    uint64_t slot = rh_arch_desc.stub_slot(c->m, L);
    if (!in_image(c->m, slot, 8) || slot % 8)
        return rh_fail(c, "stub 0x%" PRIx64 " reads slot 0x%" PRIx64 " outside the image", L,
                       slot);
    return slot;
}

static uint64_t f_stub_target(rh_ctx *c, const uint64_t *a, const char *const *n)
{
    uint64_t slot = f_stub_slot(c, a, n);
    return c->err[0] ? 0 : rh_read(c, slot, 8);
}

static uint64_t f_stub_of(rh_ctx *c, const uint64_t *a, const char *const *n)
{
    uint64_t stubs[64], found = 0;
    size_t ns = find_stubs(c->m, stubs, 64);
    int count = 0;
    for (size_t i = 0; i < ns && i < 64; i++)
        if (rh_read(c, rh_arch_desc.stub_slot(c->m, stubs[i]), 8) == a[0]) {
            found = stubs[i];
            count++;
        }
    if (count != 1)
        return rh_fail(c, "%d stubs jump to %s0x%" PRIx64 ", want exactly 1", count,
                       n[0] ? n[0] : "", a[0]);
    return found;
}

static uint64_t f_stub_count(rh_ctx *c, const uint64_t *a, const char *const *n)
{
    uint64_t stubs[64];
    (void)a;
    (void)n;
    size_t ns = find_stubs(c->m, stubs, 64);
    if (ns == 64)
        return rh_fail(c, "64 stubs or more");
    return ns;
}

static uint64_t f_stubs_start(rh_ctx *c, const uint64_t *a, const char *const *n)
{
    uint64_t s[1];
    (void)a;
    (void)n;
    if (find_stubs(c->m, s, 1) == 0)
        return rh_fail(c, "no stubs");
    return s[0];
}

static uint64_t f_stubs_end(rh_ctx *c, const uint64_t *a, const char *const *n)
{
    uint64_t s[64];
    (void)a;
    (void)n;
    size_t ns = find_stubs(c->m, s, 64);
    if (ns == 0 || ns == 64)
        return rh_fail(c, "%zu stubs", ns);
    return s[ns - 1] + rh_arch_desc.stub_size;
}

/* ---- thread-local storage ------------------------------------------ */

static int ctx_block(rh_ctx *c, tls_block *b)
{
    for (size_t i = 0; i < c->nobjs; i++)
        if (!c->objs[i].buf) {
            rh_fail(c, "TLS functions need the objects as copies (fx_copy): %s",
                    c->objs[i].name);
            return 0;
        }
    tls_block_of(c->objs, c->nobjs, b);
    return 1;
}

/* S of the defined TLS symbol NAME of object ONLY (SIZE_MAX: of whichever
 * object defines it; two are an error). */
static uint64_t tls_off_of(rh_ctx *c, const char *name, size_t only)
{
    tls_block b;
    if (!ctx_block(c, &b))
        return 0;
    uint64_t found = 0, key;
    int count = 0;
    for (size_t oi = 0; oi < c->nobjs; oi++) {
        const obj *o = &c->objs[oi];
        if (only != SIZE_MAX && oi != only)
            continue;
        for (size_t j = 1; o->sym && j < o->nsym; j++) {
            uint64_t S;
            if (o->sym[j].st_shndx != SHN_UNDEF && strcmp(o->str + o->sym[j].st_name, name) == 0 &&
                tls_sym(&b, c->objs, c->nobjs, oi, j, &S, &key)) {
                found = S;
                count++;
            }
        }
    }
    if (count != 1)
        return rh_fail(c, "%d objects define the TLS symbol %s, want 1", count, name);
    return found;
}

static uint64_t f_tls_off(rh_ctx *c, const uint64_t *a, const char *const *n)
{
    (void)a;
    return tls_off_of(c, n[0], SIZE_MAX);
}

static uint64_t f_tls_off_in(rh_ctx *c, const uint64_t *a, const char *const *n)
{
    if (a[1] >= c->nobjs)
        return rh_fail(c, "tls_off_in: no object %" PRIu64, a[1]);
    return tls_off_of(c, n[0], (size_t)a[1]);
}

static uint64_t f_tls_size(rh_ctx *c, const uint64_t *a, const char *const *n)
{
    tls_block b;
    (void)a;
    (void)n;
    return ctx_block(c, &b) ? b.size : 0;
}

static uint64_t f_tls_align(rh_ctx *c, const uint64_t *a, const char *const *n)
{
    tls_block b;
    (void)a;
    (void)n;
    return ctx_block(c, &b) ? b.align : 0;
}

static uint64_t f_align_up(rh_ctx *c, const uint64_t *a, const char *const *n)
{
    (void)n;
    if (a[1] == 0 || (a[1] & (a[1] - 1)))
        return rh_fail(c, "align_up: %" PRIu64 " is not a power of two", a[1]);
    return align_up(a[0], a[1]);
}

/* apart(a, alen, b, blen): [A, A + ALEN) and [B, B + BLEN) do not overlap. */
static uint64_t f_apart(rh_ctx *c, const uint64_t *a, const char *const *n)
{
    (void)n;
    if (a[0] + a[1] < a[0] || a[2] + a[3] < a[2])
        return rh_fail(c, "apart: a range wraps");
    return a[0] + a[1] <= a[2] || a[2] + a[3] <= a[0];
}

/* tls_slot(g, len): a TLS slot of LEN bytes at G: 8-aligned, in the image,
 * within [TLS_SLOTS_FROM, TLS_SLOTS_TO) (lets the fixture defines). */
static uint64_t f_tls_slot(rh_ctx *c, const uint64_t *a, const char *const *n)
{
    rh_parser ps = {c, "", "", 1};
    (void)n;
    uint64_t from = lookup_name(&ps, "TLS_SLOTS_FROM"), to = lookup_name(&ps, "TLS_SLOTS_TO");
    if (c->err[0])
        return 0;
    if (a[0] % 8 || !in_image(c->m, a[0], a[1]))
        return rh_fail(c, "slot 0x%" PRIx64 " (%" PRIu64 " bytes): not 8-aligned in the image",
                       a[0], a[1]);
    if (a[0] < from || a[0] + a[1] > to)
        return rh_fail(c, "slot 0x%" PRIx64 " (%" PRIu64 " bytes) outside [0x%" PRIx64
                       ", 0x%" PRIx64 ")", a[0], a[1], from, to);
    return 1;
}

static const rh_func common_funcs[] = {
    {"read8", 1, f_read8},       {"read16", 1, f_read16},
    {"read32", 1, f_read32},     {"read64", 1, f_read64},
    {"sext", 2, f_sext},         {"fits", 2, f_fits},
    {"page", 1, f_page},         {"in_image", 2, f_in_image},
    {"field", 2, f_field},       {"u8", 1, f_u8},
    {"u16", 1, f_u16},           {"u32", 1, f_u32},
    {"u64", 1, f_u64},           {"s8", 1, f_s8},
    {"s16", 1, f_s16},           {"s32", 1, f_s32},
    {"got_slot_of", 1, f_got_slot_of}, {"got_slots", 0, f_got_slots},
    {"stub_slot", 1, f_stub_slot},     {"stub_target", 1, f_stub_target},
    {"stub_of", 1, f_stub_of},         {"stub_count", 0, f_stub_count},
    {"stubs_start", 0, f_stubs_start}, {"stubs_end", 0, f_stubs_end},
    {"tls_off", 1, f_tls_off},         {"tls_off_in", 2, f_tls_off_in},
    {"tls_size", 0, f_tls_size},       {"tls_align", 0, f_tls_align},
    {"align_up", 2, f_align_up},       {"apart", 4, f_apart},
    {"tls_slot", 2, f_tls_slot},
};

/* A function whose first argument is a bare name, not evaluated. */
static int name_first(const rh_func *f)
{
    return f->fn == f_tls_off || f->fn == f_tls_off_in;
}

static const rh_func *find_func(const char *name)
{
    for (size_t i = 0; i < rh_arch_desc.nfuncs; i++)
        if (strcmp(rh_arch_desc.funcs[i].name, name) == 0)
            return &rh_arch_desc.funcs[i];
    for (size_t i = 0; i < sizeof common_funcs / sizeof common_funcs[0]; i++)
        if (strcmp(common_funcs[i].name, name) == 0)
            return &common_funcs[i];
    return NULL;
}

/* ==================================================================== */
/* TLS tests every architecture runs                                    */
/* ==================================================================== */

void tls_check_all(uint64_t base, uint64_t tga_off, const rh_retype *retypes, size_t n)
{
    res_table rt = {0};
    res_set(&rt, "__tls_get_addr", base + tga_off);
    obj objs[2] = {fx_copy("tls.o"), fx_copy("tls_other.o")};
    for (size_t i = 0; i < n; i++)
        retype_at(&objs[0], retypes[i].at, retypes[i].type);
    ej_module *m = link_ok_(base, &rt, objs, 2);
    run_checks(m, base, &rt, objs, 2, "tls.s", "tls_other.s");
    ej_module_free(m);
    obj_free(&objs[0]);
    obj_free(&objs[1]);
}

void tls_refused_obj(const obj *o, res_table *rt, ej_status want, const char *where,
                     const char *type, const char *sym, const char *why)
{
    char msg[1024], quoted[128];
    if (sym)
        snprintf(quoted, sizeof quoted, "'%s'", sym);
    for (size_t bi = 0; bi < NBASES; bi++) {
        link_fails(bases[bi], rt, want, msg, *o);
        expect_msg(msg, o->name);
        if (where)
            expect_msg(msg, where);
        if (type)
            expect_msg(msg, type);
        if (sym)
            expect_msg(msg, quoted);
        if (why)
            expect_msg(msg, why);
    }
}

void tls_c_seen(tls_c_run *k, uint32_t type)
{
    uint32_t i = type - k->arch->first_type;
    if (i < sizeof k->seen / sizeof k->seen[0])
        k->seen[i]++;
}

void tls_check_c(const tls_c_arch *a, const char *variant, const uint32_t *want)
{
    char n1[64], n2[64], tn[64];
    snprintf(n1, sizeof n1, "tls_c_%s.o", variant);
    snprintf(n2, sizeof n2, "tls_c2_%s.o", variant);
    for (size_t bi = 0; bi < NBASES; bi++) {
        uint64_t base = bases[bi];
        res_table rt = {0};
        res_set(&rt, "__tls_get_addr", base + a->tga_off);
        obj objs[2] = {fx_copy(n1), fx_copy(n2)};
        ej_module *m = link_ok_(base, &rt, objs, 2);
        placed_set ps;
        placed_collect(m, objs, 2, &ps);
        /* The run, then the checker's state (at its own alignment). */
        size_t at = align_up(sizeof(tls_c_run), _Alignof(max_align_t));
        tls_c_run *k = calloc(1, at + a->state_size);
        cr_assert_not_null(k);
        k->arch = a;
        k->name = n1;
        k->m = m;
        k->objs = objs;
        k->ps = &ps;
        k->base = base;
        k->tga = base + a->tga_off;
        k->T = a->tp_offset ? a->tp_offset(&ps.tls) : 0;
        k->state = a->state_size ? (char *)k + at : NULL;
        if (a->begin)
            a->begin(k);
        for (unsigned pass = 0; pass < (a->passes ? a->passes : 1); pass++)
            for (size_t i = 0; i < ps.n; i++)
                a->check_one(k, &ps.r[i], pass);
        slots_check(m, &k->slots);
        if (a->end)
            a->end(k);
        unsigned total = 0;
        for (size_t t = 0; t < sizeof k->seen / sizeof k->seen[0]; t++)
            total += k->seen[t];
        cr_expect_gt(total, a->min_checked, "%s: only %u TLS relocations checked", n1, total);
        for (size_t i = 0; want[i]; i++) {
            if (a->describe)
                a->describe(want[i], tn, sizeof tn);
            else
                snprintf(tn, sizeof tn, "relocation of type %u", want[i]);
            cr_expect_gt(k->seen[want[i] - a->first_type], 0, "%s: no %s checked", n1, tn);
        }
        cr_log_info("%s at 0x%" PRIx64 ": %u TLS relocations, %zu slots", n1, base, total,
                    k->slots.n);
        free(k);
        placed_free(&ps);
        ej_module_free(m);
        obj_free(&objs[0]);
        obj_free(&objs[1]);
    }
}
