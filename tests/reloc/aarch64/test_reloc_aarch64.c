/* aarch64 relocations, checked by decoding the relocated instructions.
 *
 * Every test links objects assembled or compiled for aarch64 (see
 * CMakeLists.txt) in link-only mode (ej_linker_set_base), at a low and at
 * a high fake base, so it runs on any host.  For each place the test
 * decodes the immediate back out of the relocated instruction (or reads
 * the data field), computes what the AAELF64 formula gives from S, A and P
 * on its own, and compares; the bits outside the immediate must be the
 * assembler's, read from the object file.  Undefined symbols are placed
 * exactly where a case needs them by the resolver.  The GOT is found
 * through _GLOBAL_OFFSET_TABLE_ and __dso_handle (which the loader puts
 * right after the last slot), a slot by looking for the one that holds S,
 * a stub by decoding its adrp/ldr/br.
 *
 * Negative cases check the status, the message (object, section+offset,
 * relocation type, symbol, reason) and that nothing stayed mapped.
 */
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <elf.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "elfjit/elfjit.h"
#include "testutil.h"

#define FX(name) EJ_A64_FIXTURE_DIR "/" name
#define KIB ((uint64_t)1 << 10)
#define MIB ((uint64_t)1 << 20)
#define GIB ((uint64_t)1 << 30)
#define LOW_BASE ((uint64_t)0x10000000)
#define HIGH_BASE ((uint64_t)0x7e0000000000)
#define SENTINEL32 0xa5a5a5a5u
#define SENTINEL_BYTE 0xa5
#ifndef R_AARCH64_PLT32
#define R_AARCH64_PLT32 314 /* AAELF64 2020Q2; not in every <elf.h> */
#endif

static const uint64_t bases[] = {LOW_BASE, HIGH_BASE};
#define NBASES (sizeof bases / sizeof bases[0])

static uint64_t page4k(uint64_t a)
{
    return a & ~(uint64_t)0xfff;
}

static int64_t sext(uint64_t v, unsigned bits)
{
    return (int64_t)(v << (64 - bits)) >> (64 - bits);
}

/* ---- resolver ------------------------------------------------------- */

typedef struct res_table {
    struct {
        const char *name;
        uint64_t addr;
    } e[32];
    size_t n;
    uint64_t dflt; /* for any other name, when nonzero */
} res_table;

static void res_set(res_table *t, const char *name, uint64_t addr)
{
    cr_assert_neq(addr, 0, "the resolver cannot return NULL for %s", name);
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->e[i].name, name) == 0) {
            t->e[i].addr = addr;
            return;
        }
    cr_assert_lt(t->n, sizeof t->e / sizeof t->e[0]);
    t->e[t->n].name = name;
    t->e[t->n].addr = addr;
    t->n++;
}

static void *resolve(void *ctx, const char *name)
{
    const res_table *t = ctx;
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->e[i].name, name) == 0)
            return (void *)(uintptr_t)t->e[i].addr;
    return (void *)(uintptr_t)t->dflt;
}

static uint64_t host_sym(const char *name)
{
    void *p = dlsym(RTLD_DEFAULT, name);
    cr_assert_not_null(p, "dlsym(%s)", name);
    return (uint64_t)(uintptr_t)p;
}

/* ---- reading fixture objects ---------------------------------------- */

/* An object file read into memory: enough ELF to find a symbol, the word
 * the assembler put at it, and the relocation at it. */
typedef struct elf_in {
    char name[128]; /* base name, the name it is linked under */
    uint8_t *buf;
    size_t len;
    const Elf64_Ehdr *eh;
    const Elf64_Shdr *sh;
    const char *shstr;
    const Elf64_Sym *sym;
    size_t nsym;
    const char *str;
} elf_in;

static void elf_open(elf_in *e, const char *path)
{
    memset(e, 0, sizeof *e);
    e->buf = ej_test_read_file(path, &e->len);
    cr_assert_not_null(e->buf, "cannot read %s", path);
    const char *slash = strrchr(path, '/');
    snprintf(e->name, sizeof e->name, "%s", slash ? slash + 1 : path);
    cr_assert_geq(e->len, sizeof(Elf64_Ehdr));
    e->eh = (const Elf64_Ehdr *)e->buf;
    cr_assert_eq(e->eh->e_machine, EM_AARCH64, "%s is not an aarch64 object", path);
    cr_assert_leq(e->eh->e_shoff + (uint64_t)e->eh->e_shnum * sizeof(Elf64_Shdr), e->len);
    e->sh = (const Elf64_Shdr *)(e->buf + e->eh->e_shoff);
    e->shstr = (const char *)e->buf + e->sh[e->eh->e_shstrndx].sh_offset;
    for (size_t i = 0; i < e->eh->e_shnum; i++)
        if (e->sh[i].sh_type == SHT_SYMTAB) {
            e->sym = (const Elf64_Sym *)(e->buf + e->sh[i].sh_offset);
            e->nsym = e->sh[i].sh_size / sizeof(Elf64_Sym);
            e->str = (const char *)e->buf + e->sh[e->sh[i].sh_link].sh_offset;
        }
    cr_assert_not_null(e->sym, "%s has no symbol table", path);
}

static void elf_close(elf_in *e)
{
    free(e->buf);
    e->buf = NULL;
}

static const Elf64_Sym *elf_sym(const elf_in *e, const char *name)
{
    for (size_t i = 1; i < e->nsym; i++)
        if (e->sym[i].st_shndx != SHN_UNDEF && strcmp(e->str + e->sym[i].st_name, name) == 0)
            return &e->sym[i];
    cr_assert_fail("%s: no symbol %s", e->name, name);
    return NULL;
}

/* The instruction the assembler wrote at NAME. */
static uint32_t elf_word(const elf_in *e, const char *name)
{
    const Elf64_Sym *s = elf_sym(e, name);
    uint32_t w;
    memcpy(&w, e->buf + e->sh[s->st_shndx].sh_offset + s->st_value, 4);
    return w;
}

/* The relocation at NAME (exactly one). */
static Elf64_Rela *elf_rela_at(elf_in *e, const char *name)
{
    const Elf64_Sym *s = elf_sym(e, name);
    Elf64_Rela *found = NULL;
    int n = 0;
    for (size_t i = 0; i < e->eh->e_shnum; i++) {
        if (e->sh[i].sh_type != SHT_RELA || e->sh[i].sh_info != s->st_shndx)
            continue;
        Elf64_Rela *r = (Elf64_Rela *)(e->buf + e->sh[i].sh_offset);
        for (size_t k = 0; k < e->sh[i].sh_size / sizeof *r; k++)
            if (r[k].r_offset == s->st_value) {
                found = &r[k];
                n++;
            }
    }
    cr_assert_eq(n, 1, "%s: %d relocations at %s, want 1", e->name, n, name);
    return found;
}

/* Rewrites the type of the relocation at NAME (for the types the
 * assembler cannot name). */
static void elf_retype(elf_in *e, const char *name, uint32_t type)
{
    Elf64_Rela *r = elf_rela_at(e, name);
    r->r_info = ELF64_R_INFO(ELF64_R_SYM(r->r_info), type);
}

/* ---- linking -------------------------------------------------------- */

/* A file (buf NULL: NAME is its path) or a buffer named NAME. */
typedef struct input {
    const char *name;
    const uint8_t *buf;
    size_t len;
} input;

typedef struct link_result {
    ej_status st;
    ej_module *m;
    char msg[1024];
} link_result;

static link_result do_link(uint64_t base, res_table *rt, const input *in, size_t n)
{
    link_result r;
    ej_linker *lk = NULL;
    memset(&r, 0, sizeof r);
    cr_assert_eq(ej_linker_create(&lk), EJ_OK);
    cr_assert_eq(ej_linker_set_base(lk, base), EJ_OK, "%s", ej_linker_errmsg(lk));
    if (rt)
        cr_assert_eq(ej_linker_set_resolver(lk, resolve, rt), EJ_OK);
    for (size_t i = 0; i < n; i++) {
        ej_status st = in[i].buf ? ej_linker_add_buffer(lk, in[i].name, in[i].buf, in[i].len)
                                 : ej_linker_add_file(lk, in[i].name);
        cr_assert_eq(st, EJ_OK, "adding %s: %s", in[i].name, ej_linker_errmsg(lk));
    }
    r.st = ej_linker_link(lk, &r.m);
    snprintf(r.msg, sizeof r.msg, "%s", ej_linker_errmsg(lk));
    ej_linker_free(lk);
    if (r.st == EJ_OK)
        cr_assert_not_null(r.m);
    else
        cr_assert_null(r.m, "a failed link must leave *out NULL");
    return r;
}

#define INPUTS(...) (const input[]){__VA_ARGS__}, \
    sizeof((const input[]){__VA_ARGS__}) / sizeof(input)
#define FILE_IN(path) ((input){(path), NULL, 0})
#define ELF_IN(e) ((input){(e)->name, (e)->buf, (e)->len})

static ej_module *link_ok_(uint64_t base, res_table *rt, const input *in, size_t n)
{
    link_result r = do_link(base, rt, in, n);
    cr_assert_eq(r.st, EJ_OK, "link of %s at 0x%" PRIx64 " failed (%d): %s", in[0].name, base,
                 (int)r.st, r.msg);
    return r.m;
}
#define link_ok(base, rt, ...) link_ok_(base, rt, INPUTS(__VA_ARGS__))

/* A link that must fail with status WANT and leave nothing mapped: linked
 * twice, the mappings counted around the second (the first warms up what
 * is mapped lazily on first use).  The message goes to MSG. */
static void link_fails_(uint64_t base, res_table *rt, ej_status want, char *msg, size_t len,
                        const input *in, size_t n)
{
    link_result r = do_link(base, rt, in, n);
    if (r.m)
        ej_module_free(r.m);
    int before = ej_test_count_mappings();
    r = do_link(base, rt, in, n);
    int left = ej_test_count_mappings() - before;
    if (r.m) /* linked after all: free it before failing */
        ej_module_free(r.m);
    cr_assert_eq(r.st, want, "link of %s at 0x%" PRIx64 ": status %d, wanted %d; message: %s",
                 in[0].name, base, (int)r.st, (int)want, r.msg);
    cr_assert_eq(left, 0, "a failed link left %d mappings behind", left);
    snprintf(msg, len, "%s", r.msg);
    cr_log_info("expected failure: %s", r.msg); /* shown with --verbose */
}
#define link_fails(base, rt, want, msg, ...) \
    link_fails_(base, rt, want, msg, sizeof msg, INPUTS(__VA_ARGS__))

static void expect_msg(const char *msg, const char *part)
{
    cr_expect(strstr(msg, part) != NULL, "message lacks \"%s\": %s", part, msg);
}

/* ---- reading the image ---------------------------------------------- */

static uint64_t sym(const ej_module *m, const char *name)
{
    void *p = ej_module_symbol(m, name);
    cr_assert_not_null(p, "symbol %s not exported", name);
    return (uint64_t)(uintptr_t)p;
}

static void rd(ej_module *m, uint64_t addr, void *buf, size_t len)
{
    cr_assert_eq(ej_module_read(m, addr, buf, len), EJ_OK, "reading 0x%" PRIx64 "+%zu: %s",
                 addr, len, ej_module_errmsg(m));
}

static uint64_t rd64(ej_module *m, uint64_t addr)
{
    uint64_t v;
    rd(m, addr, &v, sizeof v);
    return v;
}

static uint32_t rd32(ej_module *m, uint64_t addr)
{
    uint32_t v;
    rd(m, addr, &v, sizeof v);
    return v;
}

static int in_image(const ej_module *m, uint64_t a, uint64_t len)
{
    uint64_t start, end;
    ej_module_range(m, &start, &end);
    return a >= start && a + len <= end && a + len >= a;
}

/* The data field at P: its low WIDTH bytes must be those of EXPECT, the
 * bytes after them (up to 8) still the sentinel. */
static void check_field_at(ej_module *m, const char *what, uint64_t p, unsigned width,
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

/* ---- instructions ---------------------------------------------------- */

/* Field masks (the immediate bits the relocation may change). */
#define M_IMM26 0x03ffffffu
#define M_IMM19 0x00ffffe0u
#define M_IMM14 0x0007ffe0u
#define M_ADR 0x60ffffe0u
#define M_IMM12 0x003ffc00u
#define M_IMM16 0x001fffe0u
#define M_MOVOPC 0x60000000u /* MOVN (00) / MOVZ (10) / MOVK (11) */

static int64_t dec_imm26(uint32_t i) { return sext(i & 0x3ffffff, 26) * 4; }
static int64_t dec_imm19(uint32_t i) { return sext((i >> 5) & 0x7ffff, 19) * 4; }
static int64_t dec_imm14(uint32_t i) { return sext((i >> 5) & 0x3fff, 14) * 4; }
static int64_t dec_adr(uint32_t i)
{
    return sext(((i >> 29) & 3) | (uint64_t)((i >> 5) & 0x7ffff) << 2, 21);
}
static int64_t dec_adrp(uint32_t i) { return dec_adr(i) * 4096; }
static uint32_t dec_imm12(uint32_t i) { return (i >> 10) & 0xfff; }
static uint32_t dec_imm16(uint32_t i) { return (i >> 5) & 0xffff; }
static unsigned mov_opc(uint32_t i) { return (i >> 29) & 3; }
enum { MOVN = 0, MOVZ = 2, MOVK = 3 };

/* The instruction at P: every bit outside MASK must be ORIG's. */
static uint32_t insn_at(ej_module *m, const char *what, uint64_t p, uint32_t orig, uint32_t mask)
{
    uint32_t w = rd32(m, p);
    cr_expect_eq(w & ~mask, orig & ~mask,
                 "%s at 0x%" PRIx64 ": 0x%08x changed outside its field (assembled 0x%08x)",
                 what, p, w, orig);
    return w;
}

/* The move-wide at P sets group G of X: MOVZ/MOVK keep their opcode and
 * take bits [16G+15:16G] of X; a signed relocation (SIGNED) on MOVN/MOVZ
 * becomes MOVN with NOT X for X < 0 and MOVZ otherwise. */
static void expect_movw(ej_module *m, const char *what, uint64_t p, uint32_t orig, unsigned g,
                        int64_t x, int is_signed)
{
    int switches = is_signed && mov_opc(orig) != MOVK;
    uint32_t w = insn_at(m, what, p, orig, M_IMM16 | (switches ? M_MOVOPC : 0));
    uint64_t v = (uint64_t)x;
    unsigned want_opc = mov_opc(orig);
    if (switches) {
        want_opc = x < 0 ? MOVN : MOVZ;
        if (x < 0)
            v = ~v;
    }
    cr_expect_eq(mov_opc(w), want_opc, "%s: opcode %u, want %u (X = %" PRId64 ")", what,
                 mov_opc(w), want_opc, x);
    cr_expect_eq(dec_imm16(w), (v >> (16 * g)) & 0xffff,
                 "%s: imm16 0x%x, want 0x%" PRIx64 " (X = 0x%" PRIx64 ", group %u)", what,
                 dec_imm16(w), (v >> (16 * g)) & 0xffff, (uint64_t)x, g);
}

/* ---- stubs and the GOT ---------------------------------------------- */

/* L must be a stub (adrp x16; ldr x16, [x16, #lo12]; br x16; brk #0) whose
 * GOT slot holds S.  Returns the slot. */
static uint64_t check_stub(ej_module *m, uint64_t L, uint64_t S)
{
    cr_assert(in_image(m, L, 16), "stub 0x%" PRIx64 " outside the image", L);
    cr_assert_eq(L % 16, 0, "stub 0x%" PRIx64 " not 16-aligned", L);
    uint32_t w[4];
    rd(m, L, w, sizeof w);
    cr_assert((w[0] & 0x9f00001f) == 0x90000010 && (w[1] & 0xffc003ff) == 0xf9400210 &&
              w[2] == 0xd61f0200 && w[3] == 0xd4200000,
              "no stub at 0x%" PRIx64 ": %08x %08x %08x %08x", L, w[0], w[1], w[2], w[3]);
    uint64_t slot = page4k(L) + (uint64_t)dec_adrp(w[0]) + dec_imm12(w[1]) * 8;
    cr_assert(in_image(m, slot, 8) && slot % 8 == 0,
              "stub 0x%" PRIx64 " reads slot 0x%" PRIx64 " outside the image", L, slot);
    cr_expect_eq(rd64(m, slot), S, "stub 0x%" PRIx64 ": slot 0x%" PRIx64 " holds 0x%" PRIx64
                 ", want 0x%" PRIx64, L, slot, rd64(m, slot), S);
    return slot;
}

static int is_stub(ej_module *m, uint64_t L)
{
    uint32_t w[4];
    if (!in_image(m, L, 16))
        return 0;
    rd(m, L, w, sizeof w);
    return (w[0] & 0x9f00001f) == 0x90000010 && (w[1] & 0xffc003ff) == 0xf9400210 &&
           w[2] == 0xd61f0200 && w[3] == 0xd4200000;
}

typedef struct got_info {
    uint64_t got; /* _GLOBAL_OFFSET_TABLE_ */
    size_t n;     /* slots */
} got_info;

static got_info got_from(ej_module *m, uint64_t got, uint64_t dso)
{
    got_info gi = {got, 0};
    cr_assert(got % 8 == 0 && dso >= got && in_image(m, got, dso - got),
              "GOT 0x%" PRIx64 " / __dso_handle 0x%" PRIx64 " make no sense", got, dso);
    gi.n = (size_t)(dso - got) / 8;
    return gi;
}

/* The one GOT slot holding S (references to one symbol share a slot). */
static uint64_t got_slot(ej_module *m, const got_info *gi, uint64_t S, const char *what)
{
    uint64_t found = 0;
    int count = 0;
    for (size_t i = 0; i < gi->n; i++)
        if (rd64(m, gi->got + 8 * i) == S) {
            found = gi->got + 8 * i;
            count++;
        }
    cr_assert_eq(count, 1, "%d GOT slots hold %s (0x%" PRIx64 "), want exactly 1", count, what, S);
    return found;
}

/* ================================================================== */
/* Every type, in real instructions (relocs.s + other.s).              */
/* ================================================================== */

static void check_all_types(uint64_t base)
{
    const uint64_t near_func = base + 64 * MIB, far_func = base + 100 * GIB;
    const uint64_t ext_data = base + GIB + 0x120, far_data = base + 150 * GIB;
    const uint64_t near_lit = base + 512 * KIB, near_tb = base + 16 * KIB;
    const uint64_t small_res = 0x1234, mid_res = 0x87654321, big_res = 0x123456789abc;
    const uint64_t huge_res = 0xfedcba9876543210;
    const int64_t neg_res = -0x1234, neg_res1 = -0x12345678, neg_res2 = -0x123456789abc;
    const uint64_t host_fn = host_sym("puts");
    res_table rt = {0};
    res_set(&rt, "near_func", near_func);
    res_set(&rt, "far_func", far_func);
    res_set(&rt, "ext_data", ext_data);
    res_set(&rt, "far_data", far_data);
    res_set(&rt, "near_lit", near_lit);
    res_set(&rt, "near_tb", near_tb);
    res_set(&rt, "small_res", small_res);
    res_set(&rt, "mid_res", mid_res);
    res_set(&rt, "big_res", big_res);
    res_set(&rt, "huge_res", huge_res);
    res_set(&rt, "neg_res", (uint64_t)neg_res);
    res_set(&rt, "neg_res1", (uint64_t)neg_res1);
    res_set(&rt, "neg_res2", (uint64_t)neg_res2);
    res_set(&rt, "host_fn", host_fn);

    elf_in o, other;
    elf_open(&o, FX("relocs.o"));
    elf_open(&other, FX("other.o"));
    elf_retype(&o, "x_gotoff_g0", R_AARCH64_MOVW_GOTOFF_G0);
    elf_retype(&o, "x_gotoff_g1_nc", R_AARCH64_MOVW_GOTOFF_G1_NC);
    elf_retype(&o, "x_gotoff_g2", R_AARCH64_MOVW_GOTOFF_G2);
    elf_retype(&o, "x_gotoff_g2_nc", R_AARCH64_MOVW_GOTOFF_G2_NC);
    elf_retype(&o, "x_gotoff_g3", R_AARCH64_MOVW_GOTOFF_G3);
    elf_retype(&o, "x_gotrel64", R_AARCH64_GOTREL64);
    elf_retype(&o, "x_gotrel32", R_AARCH64_GOTREL32);
    elf_retype(&o, "x_plt32_far", R_AARCH64_PLT32);
    elf_retype(&o, "x_plt32_local", R_AARCH64_PLT32);

    ej_module *m = link_ok(base, &rt, ELF_IN(&o), ELF_IN(&other));
    uint64_t start, end;
    ej_module_range(m, &start, &end);
    cr_expect_eq(start, base);
    cr_expect_eq(sym(m, "code_start"), base, "text comes first, at the base");

    const uint64_t local_func = sym(m, "g_local_func"), local_data = sym(m, "g_local_data");
    const uint64_t got_local = sym(m, "g_got_local");
    const uint64_t other_got_local = sym(m, "g_other_got_local");
    const uint64_t g_data = sym(m, "g_data");
#define P(name) sym(m, name)
/* The relocated instruction at NAME, bits outside MASK unchanged. */
#define I(name, mask) insn_at(m, name, P(name), elf_word(&o, name), mask)

    /* The GOT: _GLOBAL_OFFSET_TABLE_, then the slots, then __dso_handle. */
    got_info gi = got_from(m, rd64(m, P("f_got")), rd64(m, P("f_dso")));
    cr_expect(gi.got > local_data && gi.got < g_data, "the GOT ends read-only data");
    /* One slot per symbol that needs one: the stubs' (near_func, far_func,
     * host_fn) and the GOT relocations' (ext_data, far_data, and the
     * got_local of each object: two different symbols). */
    cr_expect_eq(gi.n, 7, "%zu GOT slots, want 7", gi.n);
    const uint64_t G_ext_data = got_slot(m, &gi, ext_data, "ext_data");
    const uint64_t G_far_data = got_slot(m, &gi, far_data, "far_data");
    const uint64_t G_far_func = got_slot(m, &gi, far_func, "far_func");
    const uint64_t G_got_local = got_slot(m, &gi, got_local, "got_local");
    const uint64_t G_other_local = got_slot(m, &gi, other_got_local, "other.s's got_local");
    got_slot(m, &gi, near_func, "near_func");
    got_slot(m, &gi, host_fn, "host_fn");

    /* ---- CALL26, JUMP26: S + A - P, or the stub when out of range ---- */
    uint32_t w = I("i_call_near", M_IMM26);
    cr_expect_eq(P("i_call_near") + (uint64_t)dec_imm26(w), near_func, "bl near_func: direct");
    w = I("i_call_far", M_IMM26);
    const uint64_t L_far = P("i_call_far") + (uint64_t)dec_imm26(w);
    cr_expect_eq(check_stub(m, L_far, far_func), G_far_func, "the stub uses far_func's slot");
    w = I("i_jump_far", M_IMM26);
    cr_expect_eq(P("i_jump_far") + (uint64_t)dec_imm26(w), L_far, "b far_func shares the stub");
    w = I("i_call_local", M_IMM26);
    cr_expect_eq(P("i_call_local") + (uint64_t)dec_imm26(w), local_func);
    w = I("i_jump_local", M_IMM26);
    cr_expect_eq(P("i_jump_local") + (uint64_t)dec_imm26(w), local_func + 4);
    w = insn_at(m, "o_call_far", P("o_call_far"), elf_word(&other, "o_call_far"), M_IMM26);
    cr_expect_eq(P("o_call_far") + (uint64_t)dec_imm26(w), L_far, "other.o shares the stub");
    w = insn_at(m, "o_jump_near", P("o_jump_near"), elf_word(&other, "o_jump_near"), M_IMM26);
    cr_expect_eq(P("o_jump_near") + (uint64_t)dec_imm26(w), near_func);
    /* ---- CONDBR19, TSTBR14 ---- */
    w = I("i_bcond", M_IMM19);
    cr_expect_eq(P("i_bcond") + (uint64_t)dec_imm19(w), local_func + 8);
    w = I("i_cbz", M_IMM19);
    cr_expect_eq(P("i_cbz") + (uint64_t)dec_imm19(w), near_lit);
    w = I("i_tbz", M_IMM14);
    cr_expect_eq(P("i_tbz") + (uint64_t)dec_imm14(w), local_func);
    w = I("i_tbnz", M_IMM14);
    cr_expect_eq(P("i_tbnz") + (uint64_t)dec_imm14(w), near_tb);
    /* ---- LD_PREL_LO19, ADR_PREL_LO21 ---- */
    w = I("i_ldr_lit", M_IMM19);
    cr_expect_eq(P("i_ldr_lit") + (uint64_t)dec_imm19(w), local_data + 8);
    w = I("i_ldr_lit_w", M_IMM19);
    cr_expect_eq(P("i_ldr_lit_w") + (uint64_t)dec_imm19(w), near_lit);
    w = I("i_adr", M_ADR);
    cr_expect_eq(P("i_adr") + (uint64_t)dec_adr(w), local_data + 3);
    w = I("i_adr_res", M_ADR);
    cr_expect_eq(P("i_adr_res") + (uint64_t)dec_adr(w), near_lit - 1);
    /* ---- ADR_PREL_PG_HI21(_NC): Page(S + A) - Page(P) ---- */
    w = I("i_adrp", M_ADR);
    cr_expect_eq(page4k(P("i_adrp")) + (uint64_t)dec_adrp(w), page4k(ext_data));
    w = I("i_adrp_nc", M_ADR); /* 150 GiB: truncated to 33 bits, no check */
    cr_expect_eq(dec_adrp(w), sext(page4k(far_data + 0x10) - page4k(P("i_adrp_nc")), 33));
    w = I("i_adrp_local", M_ADR);
    cr_expect_eq(page4k(P("i_adrp_local")) + (uint64_t)dec_adrp(w), page4k(local_data));
    /* ---- ADD_ABS_LO12_NC, LDSTn_ABS_LO12_NC: low 12 bits, scaled ---- */
    w = I("i_add", M_IMM12);
    cr_expect_eq(dec_imm12(w), (ext_data + 8) & 0xfff);
    w = I("i_ldst8", M_IMM12);
    cr_expect_eq(dec_imm12(w), (ext_data + 1) & 0xfff);
    w = I("i_ldst8_sb", M_IMM12);
    cr_expect_eq(dec_imm12(w), (ext_data + 3) & 0xfff);
    w = I("i_ldst16", M_IMM12);
    cr_expect_eq(dec_imm12(w) << 1, (ext_data + 2) & 0xfff);
    w = I("i_ldst32", M_IMM12);
    cr_expect_eq(dec_imm12(w) << 2, (ext_data + 4) & 0xfff);
    w = I("i_ldst64", M_IMM12);
    cr_expect_eq(dec_imm12(w) << 3, (ext_data + 8) & 0xfff);
    w = I("i_ldst64_d", M_IMM12);
    cr_expect_eq(dec_imm12(w) << 3, (ext_data + 0x18) & 0xfff);
    w = I("i_prfm", M_IMM12);
    cr_expect_eq(dec_imm12(w) << 3, ext_data & 0xfff);
    w = I("i_ldst128", M_IMM12);
    cr_expect_eq(dec_imm12(w) << 4, (ext_data + 16) & 0xfff);
    w = I("i_ldst64_local", M_IMM12);
    cr_expect_eq(dec_imm12(w) << 3, (local_data + 8) & 0xfff);
    /* ---- a host function's address (adrp + add): through its stub when
     * it is more than 2 GiB from the image, both halves alike ---- */
    uint32_t wp = I("i_adrp_host", M_ADR), wa = I("i_add_host", M_IMM12);
    uint64_t host_t = page4k(P("i_adrp_host")) + (uint64_t)dec_adrp(wp) + dec_imm12(wa);
    int64_t host_dist = (int64_t)(host_fn - gi.got);
    uint64_t L_host = 0;
    if (host_dist >= INT32_MIN && host_dist <= INT32_MAX) {
        cr_expect_eq(host_t, host_fn);
    } else {
        L_host = host_t;
        check_stub(m, L_host, host_fn);
    }
    /* ADR and PREL32 to it: direct when in reach, else its stub. */
    w = I("i_adr_host", M_ADR);
    uint64_t adr_t = P("i_adr_host") + (uint64_t)dec_adr(w);
    int64_t adr_dist = (int64_t)(host_fn - P("i_adr_host"));
    if (adr_dist >= -(int64_t)MIB && adr_dist < (int64_t)MIB)
        cr_expect_eq(adr_t, host_fn);
    else
        check_stub(m, adr_t, host_fn);
    int32_t prel_host;
    rd(m, P("f_prel32_host"), &prel_host, 4);
    check_field_at(m, "PREL32 host function", P("f_prel32_host"), 4, (uint64_t)(int64_t)prel_host);
    uint64_t prel_t = P("f_prel32_host") + (uint64_t)(int64_t)prel_host;
    int64_t prel_dist = (int64_t)(host_fn - P("f_prel32_host"));
    if (prel_dist >= INT32_MIN && prel_dist <= (int64_t)UINT32_MAX)
        cr_expect_eq((uint32_t)prel_host, (uint32_t)prel_dist);
    else
        check_stub(m, prel_t, host_fn);

    /* ---- MOVW_UABS_Gn(_NC): bits of S + A ---- */
    expect_movw(m, "i_uabs_g0", P("i_uabs_g0"), elf_word(&o, "i_uabs_g0"), 0, (int64_t)small_res, 0);
    expect_movw(m, "i_uabs_g1", P("i_uabs_g1"), elf_word(&o, "i_uabs_g1"), 1, (int64_t)mid_res, 0);
    expect_movw(m, "i_uabs_g1_w", P("i_uabs_g1_w"), elf_word(&o, "i_uabs_g1_w"), 1,
                (int64_t)mid_res, 0);
    expect_movw(m, "i_uabs_g2", P("i_uabs_g2"), elf_word(&o, "i_uabs_g2"), 2, (int64_t)big_res, 0);
    expect_movw(m, "i_uabs_g3", P("i_uabs_g3"), elf_word(&o, "i_uabs_g3"), 3, (int64_t)huge_res, 0);
    /* The large code model's sequence builds huge_res. */
    static const char *const seq[] = {"i_uabs_g0_nc", "i_uabs_g1_nc", "i_uabs_g2_nc", "i_uabs_g3_k"};
    uint64_t built = 0;
    for (unsigned g = 0; g < 4; g++) {
        expect_movw(m, seq[g], P(seq[g]), elf_word(&o, seq[g]), g, (int64_t)huge_res, 0);
        built |= (uint64_t)dec_imm16(rd32(m, P(seq[g]))) << (16 * g);
    }
    cr_expect_eq(built, huge_res, "movz/movk x 4 build 0x%" PRIx64, built);
    /* ---- MOVW_SABS_Gn: MOVN for X < 0 ---- */
    expect_movw(m, "i_sabs_g0_neg", P("i_sabs_g0_neg"), elf_word(&o, "i_sabs_g0_neg"), 0, neg_res, 1);
    cr_expect_eq(mov_opc(rd32(m, P("i_sabs_g0_neg"))), MOVN, "MOVZ became MOVN");
    expect_movw(m, "i_sabs_g0_pos", P("i_sabs_g0_pos"), elf_word(&o, "i_sabs_g0_pos"), 0,
                (int64_t)small_res, 1);
    cr_expect_eq(mov_opc(rd32(m, P("i_sabs_g0_pos"))), MOVZ, "MOVN became MOVZ");
    expect_movw(m, "i_sabs_g1", P("i_sabs_g1"), elf_word(&o, "i_sabs_g1"), 1, neg_res1, 1);
    expect_movw(m, "i_sabs_g1_pos", P("i_sabs_g1_pos"), elf_word(&o, "i_sabs_g1_pos"), 1,
                (int64_t)mid_res, 1);
    expect_movw(m, "i_sabs_g2", P("i_sabs_g2"), elf_word(&o, "i_sabs_g2"), 2, neg_res2, 1);
    /* ---- MOVW_PREL_Gn(_NC): S + A - P, each with its own P ---- */
#define PREL(name, target, g)                                                                  \
    expect_movw(m, name, P(name), elf_word(&o, name), g, (int64_t)((target) - P(name)), 1)
    PREL("i_prel_g0", local_func, 0);
    PREL("i_prel_g0_neg", base, 0);
    cr_expect_eq(mov_opc(rd32(m, P("i_prel_g0_neg"))), MOVN);
    PREL("i_prel_g1", ext_data, 1);
    PREL("i_prel_g2", far_data, 2);
    PREL("i_prel_g3", far_func, 3);
    PREL("i_prel_g2_nc", far_func, 2);
    PREL("i_prel_g1_nc", far_func, 1);
    PREL("i_prel_g0_nc", far_func, 0);
    PREL("i_prel_g3_neg", (uint64_t)neg_res, 3);
    cr_expect_eq(mov_opc(rd32(m, P("i_prel_g3_neg"))), MOVN);
#undef PREL

    /* ---- GOT: ADR_GOT_PAGE + LD64_GOT_LO12_NC, LD64_GOTPAGE_LO15,
     * LD64_GOTOFF_LO15, GOT_LD_PREL19, MOVW_GOTOFF_Gn ---- */
    w = I("i_got_page", M_ADR);
    cr_expect_eq(page4k(P("i_got_page")) + (uint64_t)dec_adrp(w), page4k(G_ext_data));
    w = I("i_got_lo12", M_IMM12);
    cr_expect_eq(dec_imm12(w) * 8, G_ext_data & 0xfff);
    w = I("i_got_page_far", M_ADR);
    cr_expect_eq(page4k(P("i_got_page_far")) + (uint64_t)dec_adrp(w), page4k(G_far_func));
    w = I("i_got_lo12_far", M_IMM12);
    cr_expect_eq(dec_imm12(w) * 8, G_far_func & 0xfff);
    w = I("i_gotpage_lo15", M_IMM12);
    cr_expect_eq(dec_imm12(w) * 8, G_far_data - page4k(gi.got));
    w = I("i_gotoff_lo15", M_IMM12);
    cr_expect_eq(dec_imm12(w) * 8, G_far_data - gi.got);
    w = I("i_got_ld_prel19", M_IMM19);
    cr_expect_eq(P("i_got_ld_prel19") + (uint64_t)dec_imm19(w), G_got_local);
    w = insn_at(m, "o_got_page", P("o_got_page"), elf_word(&other, "o_got_page"), M_ADR);
    uint64_t o_slot = page4k(P("o_got_page")) + (uint64_t)dec_adrp(w);
    w = insn_at(m, "o_got_lo12", P("o_got_lo12"), elf_word(&other, "o_got_lo12"), M_IMM12);
    cr_expect_eq(o_slot + dec_imm12(w) * 8, G_ext_data, "other.o shares ext_data's slot");
    w = insn_at(m, "o_got_local", P("o_got_local"), elf_word(&other, "o_got_local"), M_IMM19);
    cr_expect_eq(P("o_got_local") + (uint64_t)dec_imm19(w), G_other_local,
                 "other.o's got_local has its own slot");
#define GOTOFF(name, slot, g) \
    expect_movw(m, name, P(name), elf_word(&o, name), g, (int64_t)((slot) - gi.got), 1)
    GOTOFF("i_gotoff_g1", G_far_data, 1);
    GOTOFF("i_gotoff_g0_nc", G_far_data, 0);
    GOTOFF("x_gotoff_g0", G_ext_data, 0);
    GOTOFF("x_gotoff_g1_nc", G_ext_data, 1);
    GOTOFF("x_gotoff_g2", G_far_data, 2);
    cr_expect_eq(mov_opc(rd32(m, P("x_gotoff_g2"))), MOVZ, "MOVN became MOVZ");
    GOTOFF("x_gotoff_g2_nc", G_far_data, 2);
    GOTOFF("x_gotoff_g3", G_far_data, 3);
#undef GOTOFF
    cr_expect(((G_ext_data - gi.got) & 0xffff) != 0, "GOTOFF_G0 checks a nonzero offset");

    /* ---- data ---- */
    check_field_at(m, "ABS64", P("f_abs64"), 8, ext_data + 0x10);
    check_field_at(m, "ABS64 local", P("f_abs64_local"), 8, local_data + 3);
    check_field_at(m, "ABS64 negative addend", P("f_abs64_neg"), 8, far_data - 8);
    check_field_at(m, "ABS32", P("f_abs32"), 4, mid_res + 1);
    check_field_at(m, "ABS32 negative", P("f_abs32_neg"), 4, (uint64_t)neg_res);
    check_field_at(m, "ABS16", P("f_abs16"), 2, small_res + 2);
    check_field_at(m, "ABS16 negative", P("f_abs16_neg"), 2, (uint64_t)(neg_res + 4));
    check_field_at(m, "PREL64", P("f_prel64"), 8, far_data + 1 - P("f_prel64"));
    check_field_at(m, "PREL64 back", P("f_prel64_back"), 8, local_func - P("f_prel64_back"));
    check_field_at(m, "PREL32", P("f_prel32"), 4, ext_data - 4 - P("f_prel32"));
    check_field_at(m, "PREL32 local", P("f_prel32_local"), 4, local_func + 2 - P("f_prel32_local"));
    check_field_at(m, "PREL16", P("f_prel16"), 2, g_data + 0x400 - P("f_prel16"));
    check_field_at(m, "PREL16 back", P("f_prel16_back"), 2, g_data - P("f_prel16_back"));
    check_field_at(m, "GOTREL64", P("x_gotrel64"), 8, far_data + 8 - gi.got);
    check_field_at(m, "GOTREL32", P("x_gotrel32"), 4, local_data - gi.got);
    check_field_at(m, "PLT32 far (stub)", P("x_plt32_far"), 4, L_far + 4 - P("x_plt32_far"));
    check_field_at(m, "PLT32 local", P("x_plt32_local"), 4, local_func - P("x_plt32_local"));

    /* ---- stubs: one per external symbol called (far_func, near_func) or
     * addressed as a host function (host_fn), together at the end of
     * text, before read-only data ---- */
    uint64_t first = L_far, last = L_far;
    while (is_stub(m, first - 16))
        first -= 16;
    while (is_stub(m, last + 16))
        last += 16;
    size_t nstub = (size_t)((last - first) / 16 + 1);
    cr_expect_eq(nstub, 3, "%zu stubs in [0x%" PRIx64 ", 0x%" PRIx64 "], want 3", nstub, first, last);
    if (L_host)
        cr_expect(L_host >= first && L_host <= last);
    cr_expect_gt(first, local_func, "stubs follow the code");
    cr_expect_lt(last + 16, local_data, "stubs end text, before read-only data");
    const uint64_t want_stub[3] = {far_func, near_func, host_fn};
    for (size_t k = 0; k < 3; k++) {
        int count = 0;
        for (uint64_t L = first; L <= last; L += 16) {
            uint32_t sw[2];
            rd(m, L, sw, sizeof sw);
            uint64_t slot = page4k(L) + (uint64_t)dec_adrp(sw[0]) + dec_imm12(sw[1]) * 8;
            count += rd64(m, slot) == want_stub[k];
        }
        cr_expect_eq(count, 1, "%d stubs jump to 0x%" PRIx64 ", want 1", count, want_stub[k]);
    }
#undef I
#undef P
    ej_module_free(m);
    elf_close(&o);
    elf_close(&other);
}

Test(reloc_aarch64, all_types_low_base)
{
    check_all_types(LOW_BASE);
}

Test(reloc_aarch64, all_types_high_base)
{
    check_all_types(HIGH_BASE);
}

/* A host function addressed with ADRP + ADD, ADR and PREL32 and called
 * with BL: the generic scan gives it a stub (it is a function outside the
 * image).  Near the image every reference reaches it directly (ADR and
 * BL only within their own reach); far away, all of them use the stub,
 * the ADRP and the ADD of a pair alike. */
Test(reloc_aarch64, host_function_direct_or_stub)
{
    const uint64_t host_fn = host_sym("puts");
    const uint64_t pg = (uint64_t)sysconf(_SC_PAGESIZE);
    const uint64_t near_base = (host_fn - 512 * MIB) & ~(pg - 1);
    const uint64_t try_bases[] = {near_base, LOW_BASE, HIGH_BASE};
    res_table rt = {0};
    res_set(&rt, "host_fn", host_fn);
    for (size_t bi = 0; bi < 3; bi++) {
        ej_module *m = link_ok(try_bases[bi], &rt, FILE_IN(FX("host.o")));
        uint64_t p_adrp = sym(m, "h_adrp"), p_add = sym(m, "h_add"), p_adr = sym(m, "h_adr");
        uint64_t p_call = sym(m, "h_call"), p_prel = sym(m, "h_prel32");
        uint64_t L = p_call + (uint64_t)dec_imm26(rd32(m, p_call));
        int64_t dist = (int64_t)(host_fn - p_adrp);
        cr_assert(bi > 0 || (dist > 0 && dist < (int64_t)GIB), "the near base is not near");
        check_stub(m, L, host_fn); /* 512 MiB or more: BL goes through the stub */
        uint64_t pair = page4k(p_adrp) + (uint64_t)dec_adrp(rd32(m, p_adrp)) +
                        dec_imm12(rd32(m, p_add));
        uint64_t adr = p_adr + (uint64_t)dec_adr(rd32(m, p_adr));
        int32_t rel;
        rd(m, p_prel, &rel, 4);
        cr_expect_eq(rd32(m, p_prel + 4), SENTINEL32);
        uint64_t prel = p_prel + (uint64_t)(int64_t)rel;
        if (bi == 0) {
            cr_expect_eq(pair, host_fn, "adrp + add reach puts directly");
            cr_expect_eq(prel, host_fn, "PREL32 reaches puts directly");
        } else {
            cr_expect_eq(pair, L, "adrp + add: the stub 0x%" PRIx64 ", got 0x%" PRIx64, L, pair);
            cr_expect_eq(prel, L, "PREL32: the stub");
        }
        cr_expect_eq(adr, L, "ADR (1 MiB) reaches the stub");
        ej_module_free(m);
    }
}

/* ================================================================== */
/* Limits: just inside and just outside each range.                    */
/* ================================================================== */

/* How a case's value X relates to the target the resolver gives. */
enum { V_ABS, V_PREL, V_PAGE, V_GOTREL };
/* How the field holds X. */
enum { F_DATA16, F_DATA32, F_IMM26, F_IMM19, F_IMM14, F_ADR, F_ADRP, F_ADRP_NC, F_LO12,
       F_MOVW_U, F_MOVW_S };

typedef struct range_case {
    const char *obj;  /* fixture */
    const char *type; /* its relocation type's name */
    uint32_t retype;  /* the type to rewrite R_AARCH64_NONE to, or 0 */
    int value;        /* V_* */
    int field;        /* F_* */
    unsigned arg;     /* F_MOVW_*: group; F_LO12: log2 of the scale */
    int64_t addend;   /* as assembled */
    int64_t in[2];    /* values that fit */
    int64_t out[2];   /* values that do not */
} range_case;

typedef struct fixture {
    char path[512];
    elf_in e;
    int insn;        /* the field is an instruction in .text */
    uint32_t orig;   /* the assembled instruction */
} fixture;

static void fixture_open(fixture *fx, const char *obj, uint32_t retype)
{
    snprintf(fx->path, sizeof fx->path, "%s/%s", EJ_A64_FIXTURE_DIR, obj);
    elf_open(&fx->e, fx->path);
    const Elf64_Sym *s = elf_sym(&fx->e, "field");
    fx->insn = (fx->e.sh[s->st_shndx].sh_flags & SHF_EXECINSTR) != 0;
    fx->orig = elf_word(&fx->e, "field");
    if (retype)
        elf_retype(&fx->e, "field", retype);
}

/* Where `field` and the GOT are when FX is linked at BASE (a copy whose
 * field relocation is R_AARCH64_NONE, which fits anything: the layout of
 * text and the GOT does not depend on it). */
static uint64_t fixture_field(fixture *fx, uint64_t base, uint64_t *got)
{
    res_table rt = {0};
    elf_in probe;
    elf_open(&probe, fx->path);
    elf_retype(&probe, "field", R_AARCH64_NONE);
    res_set(&rt, "tgt", base + 0x1000);
    rt.dflt = base + 0x1000;
    ej_module *m = link_ok(base, &rt, ELF_IN(&probe));
    elf_close(&probe);
    uint64_t p = sym(m, "field");
    if (got)
        *got = ej_module_symbol(m, "gotref") ? rd64(m, sym(m, "gotref")) : 0;
    ej_module_free(m);
    return p;
}

/* The field at P must hold X, in the way case C writes it. */
static void expect_value(ej_module *m, const range_case *c, const fixture *fx, uint64_t p,
                         int64_t x)
{
    char what[128];
    snprintf(what, sizeof what, "%s (X = %" PRId64 ")", c->type, x);
    if (c->field == F_DATA16 || c->field == F_DATA32) {
        check_field_at(m, what, p, c->field == F_DATA16 ? 2 : 4, (uint64_t)x);
        return;
    }
    cr_expect_eq(rd32(m, p + 4), SENTINEL32, "%s: the word after the instruction changed", what);
    uint32_t w;
    switch (c->field) {
    case F_IMM26:
        w = insn_at(m, what, p, fx->orig, M_IMM26);
        cr_expect_eq(dec_imm26(w), x, "%s: offset %" PRId64, what, dec_imm26(w));
        break;
    case F_IMM19:
        w = insn_at(m, what, p, fx->orig, M_IMM19);
        cr_expect_eq(dec_imm19(w), x, "%s: offset %" PRId64, what, dec_imm19(w));
        break;
    case F_IMM14:
        w = insn_at(m, what, p, fx->orig, M_IMM14);
        cr_expect_eq(dec_imm14(w), x, "%s: offset %" PRId64, what, dec_imm14(w));
        break;
    case F_ADR:
        w = insn_at(m, what, p, fx->orig, M_ADR);
        cr_expect_eq(dec_adr(w), x, "%s: offset %" PRId64, what, dec_adr(w));
        break;
    case F_ADRP:
    case F_ADRP_NC:
        w = insn_at(m, what, p, fx->orig, M_ADR);
        cr_expect_eq(dec_adrp(w), c->field == F_ADRP ? x : sext((uint64_t)x, 33),
                     "%s: page offset %" PRId64, what, dec_adrp(w));
        break;
    case F_LO12:
        w = insn_at(m, what, p, fx->orig, M_IMM12);
        cr_expect_eq((uint64_t)dec_imm12(w) << c->arg, (uint64_t)x & 0xfff,
                     "%s: imm12 0x%x", what, dec_imm12(w));
        break;
    case F_MOVW_U:
    case F_MOVW_S:
        expect_movw(m, what, p, fx->orig, c->arg, x, c->field == F_MOVW_S);
        break;
    }
}

/* The target that makes the case's value X at place P (GOT: the GOT). */
static uint64_t target_for(const range_case *c, int64_t x, uint64_t p, uint64_t got, int k)
{
    uint64_t v = (uint64_t)x - (uint64_t)c->addend;
    switch (c->value) {
    case V_PREL:
        return v + p;
    case V_PAGE: /* anywhere in the page: its first and its last byte */
        return v + page4k(p) + (k ? 0xfff : 0);
    case V_GOTREL:
        return v + got;
    default:
        return v;
    }
}

static void check_range(const range_case *c)
{
    fixture fx;
    char msg[1024], where[64];
    fixture_open(&fx, c->obj, c->retype);
    snprintf(where, sizeof where, "%s+0x10", fx.insn ? ".text" : ".data");
    for (size_t bi = 0; bi < NBASES; bi++) {
        uint64_t base = bases[bi], got = 0;
        uint64_t p = fixture_field(&fx, base, &got);
        if (c->value == V_GOTREL)
            cr_assert_neq(got, 0, "%s: no gotref", c->obj);
        res_table rt = {0};
        for (int k = 0; k < 2; k++) {
            int64_t x = c->in[k];
            res_set(&rt, "tgt", target_for(c, x, p, got, k));
            ej_module *m = link_ok(base, &rt, ELF_IN(&fx.e));
            cr_assert_eq(sym(m, "field"), p, "layout changed");
            expect_value(m, c, &fx, p, x);
            ej_module_free(m);
        }
        for (int k = 0; k < 2; k++) {
            if (c->out[k] == 0) /* no limit on this side */
                continue;
            res_set(&rt, "tgt", target_for(c, c->out[k], p, got, k));
            link_fails(base, &rt, EJ_RANGE, msg, ELF_IN(&fx.e));
            expect_msg(msg, c->obj);
            expect_msg(msg, where);
            expect_msg(msg, c->type);
            expect_msg(msg, "'tgt'");
            expect_msg(msg, "out of range");
        }
    }
    elf_close(&fx.e);
}

#define S2(n) ((int64_t)1 << (n))

Test(reloc_aarch64, range_condbr19)
{
    range_case c = {"r_condbr19.o", "R_AARCH64_CONDBR19", 0, V_PREL, F_IMM19, 0, 0,
                    {S2(20) - 4, -S2(20)}, {S2(20), -S2(20) - 4}};
    check_range(&c);
    c.obj = "r_condbr19_cbz.o";
    check_range(&c);
}

Test(reloc_aarch64, range_tstbr14)
{
    range_case c = {"r_tstbr14.o", "R_AARCH64_TSTBR14", 0, V_PREL, F_IMM14, 0, 0,
                    {S2(15) - 4, -S2(15)}, {S2(15), -S2(15) - 4}};
    check_range(&c);
}

Test(reloc_aarch64, range_ld_prel_lo19)
{
    range_case c = {"r_ld_prel_lo19.o", "R_AARCH64_LD_PREL_LO19", 0, V_PREL, F_IMM19, 0, 0,
                    {S2(20) - 4, -S2(20)}, {S2(20), -S2(20) - 4}};
    check_range(&c);
}

Test(reloc_aarch64, range_adr_prel_lo21)
{
    range_case c = {"r_adr_prel_lo21.o", "R_AARCH64_ADR_PREL_LO21", 0, V_PREL, F_ADR, 0, 0,
                    {S2(20) - 1, -S2(20)}, {S2(20), -S2(20) - 1}};
    check_range(&c);
}

Test(reloc_aarch64, range_adr_prel_pg_hi21)
{
    /* Page(S + A) - Page(P) in [-4 GiB, 4 GiB - 4 KiB]; A = 0x10. */
    range_case c = {"r_adrp.o", "R_AARCH64_ADR_PREL_PG_HI21", 0, V_PAGE, F_ADRP, 0, 0x10,
                    {S2(32) - 4096, -S2(32)}, {S2(32), -S2(32) - 4096}};
    check_range(&c);
}

Test(reloc_aarch64, adr_prel_pg_hi21_nc_is_not_checked)
{
    /* The same pages as out of range above: truncated to 33 bits. */
    range_case c = {"r_adrp_nc.o", "R_AARCH64_ADR_PREL_PG_HI21_NC", 0, V_PAGE, F_ADRP_NC, 0, 0x10,
                    {S2(32), -S2(32) - 4096}, {0, 0}};
    check_range(&c);
    range_case far = c;
    far.in[0] = (int64_t)(100 * GIB);
    far.in[1] = -(int64_t)(3 * S2(32));
    check_range(&far);
}

Test(reloc_aarch64, range_abs32)
{
    /* -2^31 <= X < 2^32 (a signed or an unsigned reading). */
    range_case c = {"r_abs32.o", "R_AARCH64_ABS32", 0, V_ABS, F_DATA32, 0, 0x10,
                    {UINT32_MAX, INT32_MIN}, {S2(32), (int64_t)INT32_MIN - 1}};
    check_range(&c);
}

Test(reloc_aarch64, range_abs16)
{
    range_case c = {"r_abs16.o", "R_AARCH64_ABS16", 0, V_ABS, F_DATA16, 0, -0x10,
                    {UINT16_MAX, INT16_MIN}, {S2(16), INT16_MIN - 1}};
    check_range(&c);
}

Test(reloc_aarch64, range_prel32)
{
    range_case c = {"r_prel32.o", "R_AARCH64_PREL32", 0, V_PREL, F_DATA32, 0, 0x10,
                    {UINT32_MAX, INT32_MIN}, {S2(32), (int64_t)INT32_MIN - 1}};
    check_range(&c);
}

Test(reloc_aarch64, range_prel16)
{
    range_case c = {"r_prel16.o", "R_AARCH64_PREL16", 0, V_PREL, F_DATA16, 0, -2,
                    {UINT16_MAX, INT16_MIN}, {S2(16), INT16_MIN - 1}};
    check_range(&c);
}

/* ABS32 to the image itself (field + 4): fits while the image sits below
 * 4 GiB (the generic scan asks a real link for a low image). */
Test(reloc_aarch64, range_abs32_image)
{
    char msg[1024];
    const input in = FILE_IN(FX("r_abs32_img.o"));
    const uint64_t pg = (uint64_t)sysconf(_SC_PAGESIZE);
    ej_module *m = link_ok(LOW_BASE, NULL, in);
    uint64_t off = sym(m, "field") - LOW_BASE;
    check_field_at(m, "R_AARCH64_ABS32", LOW_BASE + off, 4, LOW_BASE + off + 4);
    ej_module_free(m);
    /* The highest base at which field + 4 still fits, and the next page. */
    uint64_t hi = (UINT32_MAX - off - 4) / pg * pg;
    m = link_ok(hi, NULL, in);
    cr_assert_leq(hi + off + 4, UINT32_MAX);
    check_field_at(m, "R_AARCH64_ABS32", hi + off, 4, hi + off + 4);
    ej_module_free(m);
    const uint64_t bad[] = {hi + pg, HIGH_BASE};
    for (size_t k = 0; k < 2; k++) {
        link_fails(bad[k], NULL, EJ_RANGE, msg, in);
        expect_msg(msg, "r_abs32_img.o");
        expect_msg(msg, ".data+0x10");
        expect_msg(msg, "R_AARCH64_ABS32");
        expect_msg(msg, "'field'");
        expect_msg(msg, "out of range");
    }
}

Test(reloc_aarch64, range_gotrel32)
{
    range_case c = {"r_x_data.o", "R_AARCH64_GOTREL32", R_AARCH64_GOTREL32, V_GOTREL, F_DATA32,
                    0, 0x10, {INT32_MAX, INT32_MIN},
                    {(int64_t)INT32_MAX + 1, (int64_t)INT32_MIN - 1}};
    check_range(&c);
}

Test(reloc_aarch64, gotrel64)
{
    /* No limit: any value, e.g. one far on either side. */
    fixture fx;
    fixture_open(&fx, "r_x_data.o", R_AARCH64_GOTREL64);
    for (size_t bi = 0; bi < NBASES; bi++) {
        uint64_t got = 0;
        fixture_field(&fx, bases[bi], &got);
        const uint64_t tgts[] = {0x10, 0xfedcba9876543210};
        for (size_t k = 0; k < 2; k++) {
            res_table rt = {0};
            res_set(&rt, "tgt", tgts[k]);
            ej_module *m = link_ok(bases[bi], &rt, ELF_IN(&fx.e));
            check_field_at(m, "R_AARCH64_GOTREL64", sym(m, "field"), 8, tgts[k] + 0x10 - got);
            ej_module_free(m);
        }
    }
    elf_close(&fx.e);
}

Test(reloc_aarch64, range_movw_uabs)
{
    range_case g0 = {"r_uabs_g0.o", "R_AARCH64_MOVW_UABS_G0", 0, V_ABS, F_MOVW_U, 0, 0,
                     {UINT16_MAX, 1}, {S2(16), -1}};
    check_range(&g0);
    range_case g1 = {"r_uabs_g1.o", "R_AARCH64_MOVW_UABS_G1", 0, V_ABS, F_MOVW_U, 1, 0,
                     {UINT32_MAX, S2(16)}, {S2(32), -1}};
    check_range(&g1);
    range_case g2 = {"r_uabs_g2.o", "R_AARCH64_MOVW_UABS_G2", 0, V_ABS, F_MOVW_U, 2, 0,
                     {S2(48) - 1, S2(32)}, {S2(48), -1}};
    check_range(&g2);
}

Test(reloc_aarch64, movw_uabs_nc_and_g3_are_not_checked)
{
    const int64_t big = (int64_t)0xfedcba9876543210;
    range_case c = {"r_uabs_g0_nc.o", "R_AARCH64_MOVW_UABS_G0_NC", 0, V_ABS, F_MOVW_U, 0, 0,
                    {big, -1}, {0, 0}};
    check_range(&c);
    c.obj = "r_uabs_g1_nc.o", c.type = "R_AARCH64_MOVW_UABS_G1_NC", c.arg = 1;
    check_range(&c);
    c.obj = "r_uabs_g2_nc.o", c.type = "R_AARCH64_MOVW_UABS_G2_NC", c.arg = 2;
    check_range(&c);
    c.obj = "r_uabs_g3.o", c.type = "R_AARCH64_MOVW_UABS_G3", c.arg = 3;
    check_range(&c);
}

Test(reloc_aarch64, range_movw_sabs)
{
    range_case g0 = {"r_sabs_g0.o", "R_AARCH64_MOVW_SABS_G0", 0, V_ABS, F_MOVW_S, 0, 0,
                     {S2(16) - 1, -S2(16)}, {S2(16), -S2(16) - 1}};
    check_range(&g0);
    range_case g1 = {"r_sabs_g1.o", "R_AARCH64_MOVW_SABS_G1", 0, V_ABS, F_MOVW_S, 1, 0,
                     {S2(32) - 1, -S2(32)}, {S2(32), -S2(32) - 1}};
    check_range(&g1);
    range_case g2 = {"r_sabs_g2.o", "R_AARCH64_MOVW_SABS_G2", 0, V_ABS, F_MOVW_S, 2, 0,
                     {S2(48) - 1, -S2(48)}, {S2(48), -S2(48) - 1}};
    check_range(&g2);
}

Test(reloc_aarch64, range_movw_prel)
{
    range_case g0 = {"r_prel_g0.o", "R_AARCH64_MOVW_PREL_G0", 0, V_PREL, F_MOVW_S, 0, 0,
                     {S2(16) - 1, -S2(16)}, {S2(16), -S2(16) - 1}};
    check_range(&g0);
    range_case g1 = {"r_prel_g1.o", "R_AARCH64_MOVW_PREL_G1", 0, V_PREL, F_MOVW_S, 1, 0,
                     {S2(32) - 1, -S2(32)}, {S2(32), -S2(32) - 1}};
    check_range(&g1);
    range_case g2 = {"r_prel_g2.o", "R_AARCH64_MOVW_PREL_G2", 0, V_PREL, F_MOVW_S, 2, 0,
                     {S2(48) - 1, -S2(48)}, {S2(48), -S2(48) - 1}};
    check_range(&g2);
}

Test(reloc_aarch64, movw_prel_nc_and_g3_are_not_checked)
{
    const int64_t big = (int64_t)0x8123456789abcdef;
    range_case c = {"r_prel_g0_nc.o", "R_AARCH64_MOVW_PREL_G0_NC", 0, V_PREL, F_MOVW_S, 0, 0,
                    {big, S2(40) + 0x1234}, {0, 0}};
    check_range(&c);
    c.obj = "r_prel_g1_nc.o", c.type = "R_AARCH64_MOVW_PREL_G1_NC", c.arg = 1;
    check_range(&c);
    c.obj = "r_prel_g2_nc.o", c.type = "R_AARCH64_MOVW_PREL_G2_NC", c.arg = 2;
    check_range(&c);
    c.obj = "r_prel_g3.o", c.type = "R_AARCH64_MOVW_PREL_G3", c.arg = 3;
    c.in[0] = (int64_t)0x7123456789abcdef; /* MOVZ */
    c.in[1] = -S2(60);                     /* MOVN */
    check_range(&c);
}

/* ---- branches: in the image (no stub), and to external symbols ---- */

/* A branch to the field itself plus addend A (SYM=field: X = A at any
 * base): in range it is written, out of range it fails, as nothing
 * outside the image can have a stub. */
static void branch_to_self(const char *obj, const char *type, int64_t x, int fits)
{
    fixture fx;
    char msg[1024];
    fixture_open(&fx, obj, 0);
    for (size_t bi = 0; bi < NBASES; bi++) {
        if (fits) {
            ej_module *m = link_ok(bases[bi], NULL, ELF_IN(&fx.e));
            uint32_t w = insn_at(m, type, sym(m, "field"), fx.orig, M_IMM26);
            cr_expect_eq(dec_imm26(w), x, "%s: offset %" PRId64 ", want %" PRId64, obj,
                         dec_imm26(w), x);
            ej_module_free(m);
            continue;
        }
        link_fails(bases[bi], NULL, EJ_RANGE, msg, ELF_IN(&fx.e));
        expect_msg(msg, obj);
        expect_msg(msg, ".text+0x10");
        expect_msg(msg, type);
        expect_msg(msg, "'field'");
        expect_msg(msg, "out of range");
    }
    elf_close(&fx.e);
}

Test(reloc_aarch64, range_call26_in_image)
{
    branch_to_self("r_call26_in_hi.o", "R_AARCH64_CALL26", S2(27) - 4, 1);
    branch_to_self("r_call26_out_hi.o", "R_AARCH64_CALL26", S2(27), 0);
    branch_to_self("r_call26_in_lo.o", "R_AARCH64_CALL26", -S2(27), 1);
    branch_to_self("r_call26_out_lo.o", "R_AARCH64_CALL26", -S2(27) - 4, 0);
    branch_to_self("r_jump26_out_hi.o", "R_AARCH64_JUMP26", S2(27), 0);
}

/* An external target at S: direct while S - P fits +/-128 MiB, through a
 * stub whose GOT slot holds S beyond. */
static void branch_external(const char *obj, const char *type)
{
    fixture fx;
    fixture_open(&fx, obj, 0);
    for (size_t bi = 0; bi < NBASES; bi++) {
        uint64_t base = bases[bi];
        uint64_t p = fixture_field(&fx, base, NULL);
        struct {
            int64_t x;
            int direct;
        } cases[] = {
            {S2(27) - 4, 1},   /* last direct, forwards */
            {S2(27), 0},       /* first through the stub */
            {-S2(27), 1},      /* last direct, backwards */
            {-S2(27) - 4, 0},
            {(int64_t)(100 * GIB), 0},
            {8, 1},
        };
        for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
            res_table rt = {0};
            uint64_t S = p + (uint64_t)cases[k].x;
            res_set(&rt, "tgt", S);
            ej_module *m = link_ok(base, &rt, ELF_IN(&fx.e));
            cr_assert_eq(sym(m, "field"), p);
            uint32_t w = insn_at(m, type, p, fx.orig, M_IMM26);
            cr_expect_eq(rd32(m, p + 4), SENTINEL32);
            uint64_t reached = p + (uint64_t)dec_imm26(w);
            if (cases[k].direct) {
                cr_expect_eq(reached, S, "%s case %zu: reaches 0x%" PRIx64 ", want 0x%" PRIx64,
                             type, k, reached, S);
            } else {
                cr_expect_neq(reached, S);
                check_stub(m, reached, S);
            }
            ej_module_free(m);
        }
    }
    elf_close(&fx.e);
}

Test(reloc_aarch64, call26_external_direct_or_stub)
{
    branch_external("r_call26.o", "R_AARCH64_CALL26");
}

Test(reloc_aarch64, jump26_external_direct_or_stub)
{
    branch_external("r_jump26.o", "R_AARCH64_JUMP26");
}

Test(reloc_aarch64, call26_addend_cannot_use_stub)
{
    fixture fx;
    char msg[1024];
    fixture_open(&fx, "r_call26_a8.o", 0);
    uint64_t p = fixture_field(&fx, LOW_BASE, NULL);
    res_table rt = {0};
    res_set(&rt, "tgt", p + MIB); /* near: S + 8 - P, direct */
    ej_module *m = link_ok(LOW_BASE, &rt, ELF_IN(&fx.e));
    cr_expect_eq(dec_imm26(rd32(m, p)), (int64_t)MIB + 8);
    ej_module_free(m);
    res_set(&rt, "tgt", p + 100 * GIB); /* far: the stub reaches tgt, not tgt + 8 */
    link_fails(LOW_BASE, &rt, EJ_RELOC, msg, ELF_IN(&fx.e));
    expect_msg(msg, "r_call26_a8.o");
    expect_msg(msg, ".text+0x10");
    expect_msg(msg, "R_AARCH64_CALL26");
    expect_msg(msg, "'tgt'");
    expect_msg(msg, "addend 8");
    elf_close(&fx.e);
}

Test(reloc_aarch64, plt32_direct_or_stub)
{
    fixture fx;
    char msg[1024];
    fixture_open(&fx, "r_x_data.o", R_AARCH64_PLT32);
    for (size_t bi = 0; bi < NBASES; bi++) {
        /* An external target always has a stub (laid out before .data):
         * where the field is, from a link to a far target. */
        uint64_t base = bases[bi];
        res_table probe = {0};
        res_set(&probe, "tgt", base + 100 * GIB);
        ej_module *pm = link_ok(base, &probe, ELF_IN(&fx.e));
        uint64_t p = sym(pm, "field");
        ej_module_free(pm);
        const int64_t xs[] = {INT32_MAX, INT32_MIN, (int64_t)INT32_MAX + 1, (int64_t)INT32_MIN - 1};
        for (size_t k = 0; k < 4; k++) {
            res_table rt = {0};
            uint64_t S = p + (uint64_t)xs[k] - 0x10; /* A = 0x10 */
            res_set(&rt, "tgt", S);
            ej_module *m = link_ok(base, &rt, ELF_IN(&fx.e));
            cr_assert_eq(sym(m, "field"), p, "layout changed");
            int32_t v;
            rd(m, p, &v, 4);
            check_field_at(m, "R_AARCH64_PLT32", p, 4, (uint64_t)(int64_t)v);
            if (k < 2) {
                cr_expect_eq((int64_t)v, xs[k]);
            } else { /* L + A - P */
                check_stub(m, p + (uint64_t)(int64_t)v - 0x10, S);
            }
            ej_module_free(m);
        }
    }
    /* In the image, nothing to go through: 2 GiB away is out of range. */
    fixture img;
    fixture_open(&img, "r_x_data_img.o", R_AARCH64_PLT32);
    link_fails(LOW_BASE, NULL, EJ_RANGE, msg, ELF_IN(&img.e));
    expect_msg(msg, "r_x_data_img.o");
    expect_msg(msg, ".data+0x10");
    expect_msg(msg, "R_AARCH64_PLT32");
    expect_msg(msg, "'field'");
    expect_msg(msg, "out of range");
    elf_close(&img.e);
    elf_close(&fx.e);
}

/* ---- GOT-relative offsets at their limits ---------------------------- */

/* got_many.S: FILL slots, then tgt's, at 8 * FILL from the GOT (which
 * starts a page).  FITS: whether that offset is in range. */
static void got_limit(const char *obj, const char *type, uint32_t retype, unsigned fill, int fits,
                      int is_movw)
{
    fixture fx;
    char msg[1024];
    fixture_open(&fx, obj, retype);
    for (size_t bi = 0; bi < NBASES; bi++) {
        res_table rt = {0};
        rt.dflt = bases[bi] + 10 * GIB; /* every fill_N */
        const uint64_t tgt = bases[bi] + 20 * GIB;
        res_set(&rt, "tgt", tgt);
        if (!fits) {
            link_fails(bases[bi], &rt, EJ_RANGE, msg, ELF_IN(&fx.e));
            expect_msg(msg, obj);
            expect_msg(msg, ".text.field+0x10");
            expect_msg(msg, type);
            expect_msg(msg, "'tgt'");
            expect_msg(msg, "out of range");
            continue;
        }
        ej_module *m = link_ok(bases[bi], &rt, ELF_IN(&fx.e));
        uint64_t got = rd64(m, sym(m, "gotref")), p = sym(m, "field");
        cr_assert_eq(got % 4096, 0, "the GOT 0x%" PRIx64 " does not start a page", got);
        cr_assert_eq(rd64(m, got + 8 * (uint64_t)fill), tgt, "tgt's slot is not number %u", fill);
        if (is_movw) {
            expect_movw(m, type, p, fx.orig, 0, (int64_t)(8 * fill), 1);
        } else {
            uint32_t w = insn_at(m, type, p, fx.orig, M_IMM12);
            cr_expect_eq(dec_imm12(w), fill, "%s: imm12 %u, want %u", type, dec_imm12(w), fill);
        }
        ej_module_free(m);
    }
    elf_close(&fx.e);
}

Test(reloc_aarch64, range_ld64_gotpage_lo15)
{
    got_limit("g_gotpage_4095.o", "R_AARCH64_LD64_GOTPAGE_LO15", 0, 4095, 1, 0);
    got_limit("g_gotpage_4096.o", "R_AARCH64_LD64_GOTPAGE_LO15", 0, 4096, 0, 0);
}

Test(reloc_aarch64, range_ld64_gotoff_lo15)
{
    got_limit("g_gotoff_4095.o", "R_AARCH64_LD64_GOTOFF_LO15", 0, 4095, 1, 0);
    got_limit("g_gotoff_4096.o", "R_AARCH64_LD64_GOTOFF_LO15", 0, 4096, 0, 0);
}

Test(reloc_aarch64, range_movw_gotoff_g0)
{
    got_limit("g_movw_8191.o", "R_AARCH64_MOVW_GOTOFF_G0", R_AARCH64_MOVW_GOTOFF_G0, 8191, 1, 1);
    got_limit("g_movw_8192.o", "R_AARCH64_MOVW_GOTOFF_G0", R_AARCH64_MOVW_GOTOFF_G0, 8192, 0, 1);
}

/* Single GOT relocations: the slot holds S, the field reaches the slot. */
Test(reloc_aarch64, got_relocations_reach_their_slot)
{
    static const struct {
        const char *obj;
        int field; /* F_ADRP: page of G, F_LO12: G & 0xfff, F_IMM19: G - P */
    } cases[] = {
        {"r_got_page.o", F_ADRP},
        {"r_got_lo12.o", F_LO12},
        {"r_got_ld_prel19.o", F_IMM19},
        {"r_gotpage_lo15.o", -1},
        {"r_gotoff_lo15.o", -2},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fixture fx;
        fixture_open(&fx, cases[i].obj, 0);
        for (size_t bi = 0; bi < NBASES; bi++) {
            res_table rt = {0};
            const uint64_t tgt = bases[bi] + 77 * GIB + 0x18;
            res_set(&rt, "tgt", tgt);
            ej_module *m = link_ok(bases[bi], &rt, ELF_IN(&fx.e));
            uint64_t p = sym(m, "field"), got = rd64(m, sym(m, "gotref"));
            got_info gi = {got, 1};
            uint64_t G = got_slot(m, &gi, tgt, "tgt");
            uint32_t w = rd32(m, p);
            switch (cases[i].field) {
            case F_ADRP:
                insn_at(m, cases[i].obj, p, fx.orig, M_ADR);
                cr_expect_eq(page4k(p) + (uint64_t)dec_adrp(w), page4k(G));
                break;
            case F_LO12:
                insn_at(m, cases[i].obj, p, fx.orig, M_IMM12);
                cr_expect_eq(dec_imm12(w) * 8, G & 0xfff);
                break;
            case F_IMM19:
                insn_at(m, cases[i].obj, p, fx.orig, M_IMM19);
                cr_expect_eq(p + (uint64_t)dec_imm19(w), G);
                break;
            case -1:
                insn_at(m, cases[i].obj, p, fx.orig, M_IMM12);
                cr_expect_eq(dec_imm12(w) * 8, G - page4k(got));
                break;
            default:
                insn_at(m, cases[i].obj, p, fx.orig, M_IMM12);
                cr_expect_eq(dec_imm12(w) * 8, G - got);
                break;
            }
            ej_module_free(m);
        }
        elf_close(&fx.e);
    }
}

/* ================================================================== */
/* Refused: wrong instruction, misaligned, addend on a GOT relocation. */
/* ================================================================== */

static void refused(const char *obj, uint32_t retype, const char *type, uint64_t tgt,
                    const char *why1, const char *why2)
{
    fixture fx;
    char msg[1024];
    fixture_open(&fx, obj, retype);
    res_table rt = {0};
    res_set(&rt, "tgt", tgt ? tgt : LOW_BASE + 0x2000);
    link_fails(LOW_BASE, &rt, EJ_RELOC, msg, ELF_IN(&fx.e));
    expect_msg(msg, obj);
    expect_msg(msg, fx.insn ? ".text+0x10" : ".data+0x10");
    expect_msg(msg, type);
    expect_msg(msg, "'tgt'");
    expect_msg(msg, why1);
    if (why2)
        expect_msg(msg, why2);
    elf_close(&fx.e);
}

Test(reloc_aarch64, wrong_instruction_refused)
{
    refused("r_call26_b.o", 0, "R_AARCH64_CALL26", 0, "instruction 0x14000000", "is not BL");
    refused("r_jump26_bl.o", 0, "R_AARCH64_JUMP26", 0, "instruction 0x94000000", "is not B");
    refused("r_adrp_add.o", 0, "R_AARCH64_ADR_PREL_PG_HI21", 0, "instruction 0x91000000",
            "is not ADRP");
    refused("r_add_lo12_ldr.o", 0, "R_AARCH64_ADD_ABS_LO12_NC", 0, "instruction 0xf9400000",
            "is not ADD");
    refused("r_ldst64_w.o", 0, "R_AARCH64_LDST64_ABS_LO12_NC", 0, "instruction 0xb9400000",
            "is not a 64-bit load/store");
    refused("r_ldst64_add.o", 0, "R_AARCH64_LDST64_ABS_LO12_NC", 0, "instruction 0x91000000",
            "is not a 64-bit load/store");
    refused("r_got_lo12_w.o", 0, "R_AARCH64_LD64_GOT_LO12_NC", 0, "instruction 0xb9400000",
            "is not a 64-bit load/store");
    refused("r_uabs_g1_movn.o", 0, "R_AARCH64_MOVW_UABS_G1", 0, "instruction 0x92a00000",
            "is not MOVZ or MOVK");
    refused("r_sabs_g0_movk.o", 0, "R_AARCH64_MOVW_SABS_G0", 0, "instruction 0xf2800000",
            "is not MOVN or MOVZ");
    /* A move-wide that sets another group, or a group a W register lacks. */
    refused("r_uabs_g1_hw0.o", 0, "R_AARCH64_MOVW_UABS_G1", 0, "sets bits [15:0]",
            "the relocation bits [31:16]");
    refused("r_uabs_g2_w.o", 0, "R_AARCH64_MOVW_UABS_G2", 0, "writes a 32-bit register",
            "which has no bits [47:32]");
    /* Types on a MOVZ they are not defined for (rewritten fixtures). */
    refused("r_x_movw.o", R_AARCH64_CONDBR19, "R_AARCH64_CONDBR19", 0, "instruction 0xd2800000",
            "is not a conditional branch");
    refused("r_x_movw.o", R_AARCH64_TSTBR14, "R_AARCH64_TSTBR14", 0, "instruction 0xd2800000",
            "is not TBZ or TBNZ");
    refused("r_x_movw.o", R_AARCH64_LD_PREL_LO19, "R_AARCH64_LD_PREL_LO19", 0,
            "instruction 0xd2800000", "is not a load from a literal");
    refused("r_x_movw.o", R_AARCH64_ADR_PREL_LO21, "R_AARCH64_ADR_PREL_LO21", 0,
            "instruction 0xd2800000", "is not ADR");
    refused("r_x_movw.o", R_AARCH64_GOT_LD_PREL19, "R_AARCH64_GOT_LD_PREL19", 0,
            "instruction 0xd2800000", "is not a load from a literal");
    refused("r_x_movw.o", R_AARCH64_LDST8_ABS_LO12_NC, "R_AARCH64_LDST8_ABS_LO12_NC", 0,
            "instruction 0xd2800000", "is not an 8-bit load/store");
    refused("r_x_movw.o", R_AARCH64_ADR_GOT_PAGE, "R_AARCH64_ADR_GOT_PAGE", 0,
            "instruction 0xd2800000", "is not ADRP");
    refused("r_x_movw.o", R_AARCH64_CALL26, "R_AARCH64_CALL26", 0, "instruction 0xd2800000",
            "is not BL");
    refused("r_adrp_add.o", R_AARCH64_MOVW_PREL_G0, "R_AARCH64_MOVW_PREL_G0", 0,
            "instruction 0x91000000", "is not MOVN or MOVZ");
    refused("r_adrp_add.o", R_AARCH64_MOVW_GOTOFF_G0, "R_AARCH64_MOVW_GOTOFF_G0", 0,
            "instruction 0x91000000", "is not MOVN or MOVZ");
    refused("r_adrp_add.o", R_AARCH64_MOVW_GOTOFF_G0_NC, "R_AARCH64_MOVW_GOTOFF_G0_NC", 0,
            "instruction 0x91000000", "is not MOVK, MOVN or MOVZ");
}

Test(reloc_aarch64, misaligned_refused)
{
    /* The scaled low 12 bits: a multiple of the access size. */
    refused("r_ldst64.o", 0, "R_AARCH64_LDST64_ABS_LO12_NC", LOW_BASE + 0x4004, "misaligned",
            "not a multiple of 8");
    refused("r_ldst32.o", 0, "R_AARCH64_LDST32_ABS_LO12_NC", LOW_BASE + 0x4002, "misaligned",
            "not a multiple of 4");
    refused("r_ldst16.o", 0, "R_AARCH64_LDST16_ABS_LO12_NC", LOW_BASE + 0x4001, "misaligned",
            "not a multiple of 2");
    refused("r_ldst128.o", 0, "R_AARCH64_LDST128_ABS_LO12_NC", LOW_BASE + 0x4008, "misaligned",
            "not a multiple of 16");
    /* Branch and literal offsets: a multiple of 4. */
    refused("r_condbr19.o", 0, "R_AARCH64_CONDBR19", LOW_BASE + 0x4002, "misaligned", NULL);
    refused("r_tstbr14.o", 0, "R_AARCH64_TSTBR14", LOW_BASE + 0x4001, "misaligned", NULL);
    refused("r_ld_prel_lo19.o", 0, "R_AARCH64_LD_PREL_LO19", LOW_BASE + 0x4003, "misaligned",
            NULL);
    refused("r_call26.o", 0, "R_AARCH64_CALL26", LOW_BASE + 0x4002, "misaligned", NULL);
    /* ...and every aligned low part is written, whatever the page bits. */
    static const struct {
        const char *obj;
        unsigned log2;
    } ok[] = {{"r_ldst8.o", 0}, {"r_ldst16.o", 1}, {"r_ldst32.o", 2}, {"r_ldst64.o", 3},
              {"r_ldst128.o", 4}, {"r_add_lo12.o", 0}};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        range_case c = {ok[i].obj, "", 0, V_ABS, F_LO12, ok[i].log2, 0,
                        {(int64_t)(0x123456789000 + (0xff0 & ~((1u << ok[i].log2) - 1))),
                         (int64_t)(0xfff & ~((1u << ok[i].log2) - 1))},
                        {0, 0}};
        if (strcmp(ok[i].obj, "r_add_lo12.o") == 0)
            c.addend = 1;
        check_range(&c);
    }
}

Test(reloc_aarch64, got_relocation_with_addend_refused)
{
    refused("r_got_page_a8.o", 0, "R_AARCH64_ADR_GOT_PAGE", 0, "addend 8", "GOT slot");
}

/* ================================================================== */
/* Unknown, thread-local and dynamic types.                            */
/* ================================================================== */

Test(reloc_aarch64, unknown_type_refused_when_added)
{
    /* 281 is a hole in the numbering; 999 is past every static type. */
    const uint32_t types[] = {281, 999, 2000};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        fixture fx;
        char want[64];
        fixture_open(&fx, "r_abs32.o", types[i]);
        snprintf(want, sizeof want, "unknown relocation type %u", types[i]);
        for (int round = 0; round < 2; round++) { /* mappings counted in the second */
            int before = ej_test_count_mappings();
            ej_linker *lk;
            cr_assert_eq(ej_linker_create(&lk), EJ_OK);
            cr_assert_eq(ej_linker_set_base(lk, LOW_BASE), EJ_OK);
            ej_status st = ej_linker_add_buffer(lk, "unknown.o", fx.e.buf, fx.e.len);
            const char *msg = ej_linker_errmsg(lk);
            cr_log_info("expected failure: %s", msg);
            cr_expect_eq(st, EJ_RELOC, "status %d: %s", (int)st, msg);
            expect_msg(msg, want);
            expect_msg(msg, "unknown.o");
            expect_msg(msg, ".data+0x10");
            expect_msg(msg, "aarch64");
            ej_linker_free(lk);
            if (round == 1)
                cr_expect_eq(ej_test_count_mappings(), before, "mappings left behind");
        }
        elf_close(&fx.e);
    }
}

static void check_unsupported(const char *obj, const char *type, const char *symname,
                              const char *why)
{
    char msg[1024], quoted[128];
    snprintf(quoted, sizeof quoted, "'%s'", symname);
    res_table rt = {0};
    res_set(&rt, "tgt", LOW_BASE + 0x1000);
    res_set(&rt, "ext_tv", LOW_BASE + 0x1000);
    for (size_t bi = 0; bi < NBASES; bi++) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s", EJ_A64_FIXTURE_DIR, obj);
        link_fails(bases[bi], &rt, EJ_UNSUPPORTED, msg, FILE_IN(path));
        expect_msg(msg, obj);
        expect_msg(msg, type);
        expect_msg(msg, quoted);
        expect_msg(msg, why);
    }
}

Test(reloc_aarch64, tls_unsupported)
{
    check_unsupported("tls.o", "R_AARCH64_TLSLE_ADD_TPREL_HI12", "tv", "not supported yet");
}

Test(reloc_aarch64, tls_general_dynamic_from_c_unsupported)
{
    check_unsupported("tls_gd.o", "R_AARCH64_TLSDESC_ADR_PAGE21", "tls_counter",
                      "not supported yet");
}

Test(reloc_aarch64, every_tls_type_unsupported)
{
    /* Every TLS type of the table, on one field (a rewritten fixture). */
    for (uint32_t t = R_AARCH64_TLSGD_ADR_PREL21; t <= R_AARCH64_TLSLD_LDST128_DTPREL_LO12_NC; t++) {
        fixture fx;
        char msg[1024];
        fixture_open(&fx, "r_x_movw.o", t);
        res_table rt = {0};
        res_set(&rt, "tgt", LOW_BASE + 0x1000);
        link_result r = do_link(LOW_BASE, &rt, INPUTS(ELF_IN(&fx.e)));
        if (r.m)
            ej_module_free(r.m);
        cr_expect_eq(r.st, EJ_UNSUPPORTED, "type %u: status %d: %s", t, (int)r.st, r.msg);
        snprintf(msg, sizeof msg, "%s", r.msg);
        expect_msg(msg, "R_AARCH64_TLS");
        expect_msg(msg, "thread-local storage is not supported yet");
        elf_close(&fx.e);
    }
}

Test(reloc_aarch64, dynamic_relocation_unsupported)
{
    check_unsupported("r_globdat.o", "R_AARCH64_GLOB_DAT", "tgt", "dynamic relocation");
    for (uint32_t t = R_AARCH64_COPY; t <= R_AARCH64_IRELATIVE; t++) {
        fixture fx;
        fixture_open(&fx, "r_abs32.o", t);
        res_table rt = {0};
        res_set(&rt, "tgt", LOW_BASE + 0x1000);
        link_result r = do_link(LOW_BASE, &rt, INPUTS(ELF_IN(&fx.e)));
        if (r.m)
            ej_module_free(r.m);
        cr_expect_eq(r.st, EJ_UNSUPPORTED, "type %u: status %d: %s", t, (int)r.st, r.msg);
        expect_msg(r.msg, "dynamic relocation");
        elf_close(&fx.e);
    }
}

Test(reloc_aarch64, none_writes_nothing)
{
    for (uint32_t t = 0; t <= 256; t += 256) {
        fixture fx;
        fixture_open(&fx, "r_abs32.o", 0);
        elf_retype(&fx.e, "field", t);
        res_table rt = {0};
        res_set(&rt, "tgt", LOW_BASE + 0x1000);
        ej_module *m = link_ok(LOW_BASE, &rt, ELF_IN(&fx.e));
        check_field_at(m, t ? "R_AARCH64_NULL" : "R_AARCH64_NONE", sym(m, "field"), 0, 0);
        ej_module_free(m);
        elf_close(&fx.e);
    }
}

/* ================================================================== */
/* Real compiler output: multi-object C programs.                      */
/* ================================================================== */

/* Libc and friends, placed by the resolver: data within 512 KiB of the
 * image (the tiny code model reaches data with ADR), functions 200 GiB
 * away (every call through a stub). */
typedef struct prog_res {
    uint64_t base;
    struct {
        char name[64];
        uint64_t addr;
    } e[64];
    size_t n;
} prog_res;

static int is_data_name(const char *name)
{
    return strcmp(name, "stdout") == 0 || strcmp(name, "stderr") == 0 ||
           strcmp(name, "stdin") == 0 || strcmp(name, "__stack_chk_guard") == 0;
}

static void *prog_resolve(void *ctx, const char *name)
{
    prog_res *t = ctx;
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->e[i].name, name) == 0)
            return (void *)(uintptr_t)t->e[i].addr;
    if (t->n == sizeof t->e / sizeof t->e[0] || strlen(name) >= sizeof t->e[0].name)
        return NULL;
    snprintf(t->e[t->n].name, sizeof t->e[t->n].name, "%s", name);
    t->e[t->n].addr = is_data_name(name) ? t->base + 512 * KIB + 0x100 * t->n
                                         : t->base + 200 * GIB + 0x1000 * t->n;
    return (void *)(uintptr_t)t->e[t->n++].addr;
}

static int prog_lookup(const prog_res *t, const char *name, uint64_t *addr)
{
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->e[i].name, name) == 0) {
            *addr = t->e[i].addr;
            return 1;
        }
    return 0;
}

typedef struct verify_stats {
    size_t checked, in_image_only, skipped;
} verify_stats;

/* Where section SHNDX of E landed: through a global it defines. */
static int section_base(ej_module *m, const elf_in *e, size_t shndx, uint64_t *base)
{
    for (size_t i = 1; i < e->nsym; i++) {
        const Elf64_Sym *s = &e->sym[i];
        if (s->st_shndx != shndx || ELF64_ST_BIND(s->st_info) == STB_LOCAL || !s->st_name)
            continue;
        void *a = ej_module_symbol(m, e->str + s->st_name);
        if (a) {
            *base = (uint64_t)(uintptr_t)a - s->st_value;
            return 1;
        }
    }
    return 0;
}

/* The address relocation R (type T) at P refers to, decoded from the
 * image, for the types whose field gives a whole address; 0 otherwise. */
static uint64_t decoded_target(ej_module *m, uint32_t t, uint64_t p)
{
    switch (t) {
    case R_AARCH64_ABS64:
        return rd64(m, p);
    case R_AARCH64_PREL32:
        return p + (uint64_t)(int64_t)(int32_t)rd32(m, p);
    case R_AARCH64_PREL64:
        return p + rd64(m, p);
    case R_AARCH64_CALL26:
    case R_AARCH64_JUMP26:
        return p + (uint64_t)dec_imm26(rd32(m, p));
    case R_AARCH64_CONDBR19:
    case R_AARCH64_LD_PREL_LO19:
    case R_AARCH64_GOT_LD_PREL19:
        return p + (uint64_t)dec_imm19(rd32(m, p));
    case R_AARCH64_TSTBR14:
        return p + (uint64_t)dec_imm14(rd32(m, p));
    case R_AARCH64_ADR_PREL_LO21:
        return p + (uint64_t)dec_adr(rd32(m, p));
    default:
        return 0;
    }
}

/* Checks relocation R of E at P against S + A (S known). */
static void verify_site(ej_module *m, const got_info *gi, const char *where, uint32_t t,
                        uint64_t p, uint64_t S, int64_t A, verify_stats *vs)
{
    uint64_t T = S + (uint64_t)A;
    uint32_t w = rd32(m, p);
    uint64_t G = 0;
    switch (t) {
    case R_AARCH64_ADR_GOT_PAGE:
    case R_AARCH64_LD64_GOT_LO12_NC:
    case R_AARCH64_GOT_LD_PREL19:
        cr_assert_eq(A, 0, "%s: GOT relocation with an addend", where);
        G = got_slot(m, gi, S, where);
        break;
    }
    switch (t) {
    case R_AARCH64_CALL26:
    case R_AARCH64_JUMP26: {
        uint64_t reached = decoded_target(m, t, p);
        if (reached != T)
            check_stub(m, reached, T);
        break;
    }
    case R_AARCH64_ABS64:
    case R_AARCH64_PREL32:
    case R_AARCH64_PREL64:
    case R_AARCH64_CONDBR19:
    case R_AARCH64_TSTBR14:
    case R_AARCH64_LD_PREL_LO19:
    case R_AARCH64_ADR_PREL_LO21:
        cr_expect_eq(decoded_target(m, t, p), T, "%s: reaches 0x%" PRIx64 ", want 0x%" PRIx64,
                     where, decoded_target(m, t, p), T);
        break;
    case R_AARCH64_ABS32:
        cr_expect_eq(rd32(m, p), (uint32_t)T, "%s", where);
        break;
    case R_AARCH64_ADR_PREL_PG_HI21:
    case R_AARCH64_ADR_PREL_PG_HI21_NC:
        cr_expect_eq(page4k(p) + (uint64_t)dec_adrp(w), page4k(T), "%s: page", where);
        break;
    case R_AARCH64_ADD_ABS_LO12_NC:
    case R_AARCH64_LDST8_ABS_LO12_NC:
        cr_expect_eq(dec_imm12(w), T & 0xfff, "%s: lo12", where);
        break;
    case R_AARCH64_LDST16_ABS_LO12_NC:
        cr_expect_eq(dec_imm12(w) << 1, T & 0xfff, "%s: lo12", where);
        break;
    case R_AARCH64_LDST32_ABS_LO12_NC:
        cr_expect_eq(dec_imm12(w) << 2, T & 0xfff, "%s: lo12", where);
        break;
    case R_AARCH64_LDST64_ABS_LO12_NC:
        cr_expect_eq(dec_imm12(w) << 3, T & 0xfff, "%s: lo12", where);
        break;
    case R_AARCH64_LDST128_ABS_LO12_NC:
        cr_expect_eq(dec_imm12(w) << 4, T & 0xfff, "%s: lo12", where);
        break;
    case R_AARCH64_MOVW_UABS_G0:
    case R_AARCH64_MOVW_UABS_G0_NC:
    case R_AARCH64_MOVW_UABS_G1:
    case R_AARCH64_MOVW_UABS_G1_NC:
    case R_AARCH64_MOVW_UABS_G2:
    case R_AARCH64_MOVW_UABS_G2_NC:
    case R_AARCH64_MOVW_UABS_G3: {
        unsigned g = (t - R_AARCH64_MOVW_UABS_G0) / 2;
        cr_expect_eq(dec_imm16(w), (T >> (16 * g)) & 0xffff, "%s: imm16", where);
        break;
    }
    case R_AARCH64_ADR_GOT_PAGE:
        cr_expect_eq(page4k(p) + (uint64_t)dec_adrp(w), page4k(G), "%s: GOT page", where);
        break;
    case R_AARCH64_LD64_GOT_LO12_NC:
        cr_expect_eq(dec_imm12(w) * 8, G & 0xfff, "%s: GOT lo12", where);
        break;
    case R_AARCH64_GOT_LD_PREL19:
        cr_expect_eq(decoded_target(m, t, p), G, "%s: GOT slot", where);
        break;
    default:
        cr_log_info("%s: type %u not checked", where, t);
        vs->skipped++;
        return;
    }
    vs->checked++;
}

/* Checks every relocation of OBJ that lands in a section whose place the
 * module shows (through a global it defines): against S + A when S is
 * known (a global of the image, a name the resolver gave, a section
 * symbol of a section whose place is known), else that the decoded
 * address is inside the image. */
static void verify_object(ej_module *m, const got_info *gi, const prog_res *res,
                          const char *path, verify_stats *vs)
{
    elf_in e;
    elf_open(&e, path);
    for (size_t r = 1; r < e.eh->e_shnum; r++) {
        const Elf64_Shdr *rs = &e.sh[r];
        uint64_t tbase;
        if (rs->sh_type != SHT_RELA || !(e.sh[rs->sh_info].sh_flags & SHF_ALLOC))
            continue;
        const char *tname = e.shstr + e.sh[rs->sh_info].sh_name;
        const Elf64_Rela *rel = (const Elf64_Rela *)(e.buf + rs->sh_offset);
        size_t n = rs->sh_size / sizeof *rel;
        if (!section_base(m, &e, rs->sh_info, &tbase)) {
            vs->skipped += n;
            continue;
        }
        for (size_t k = 0; k < n; k++) {
            const Elf64_Sym *s = &e.sym[ELF64_R_SYM(rel[k].r_info)];
            uint32_t t = (uint32_t)ELF64_R_TYPE(rel[k].r_info);
            uint64_t p = tbase + rel[k].r_offset, S = 0, sbase;
            const char *name = e.str + s->st_name;
            char where[256];
            snprintf(where, sizeof where, "%s: %s+0x%" PRIx64 " (type %u, %s%+" PRId64 ")", e.name,
                     tname, (uint64_t)rel[k].r_offset, t,
                     ELF64_ST_TYPE(s->st_info) == STT_SECTION ? e.shstr + e.sh[s->st_shndx].sh_name
                                                              : name,
                     (int64_t)rel[k].r_addend);
            int known;
            if (s->st_shndx == SHN_UNDEF)
                known = prog_lookup(res, name, &S);
            else if (ELF64_ST_BIND(s->st_info) != STB_LOCAL && ej_module_symbol(m, name))
                S = sym(m, name), known = 1;
            else if (s->st_shndx < SHN_LORESERVE && section_base(m, &e, s->st_shndx, &sbase))
                S = sbase + s->st_value, known = 1;
            else
                known = 0;
            if (known) {
                verify_site(m, gi, where, t, p, S, rel[k].r_addend, vs);
                continue;
            }
            uint64_t d = decoded_target(m, t, p);
            if (d) {
                cr_expect(in_image(m, d, 1), "%s: refers to 0x%" PRIx64 ", outside the image",
                          where, d);
                vs->in_image_only++;
            } else {
                vs->skipped++;
            }
        }
    }
    elf_close(&e);
}

static void check_program(const char *variant)
{
    if (!EJ_A64_HAVE_LIBC)
        cr_skip_test("no aarch64 libc headers for the cross compiler (libc6-dev-arm64-cross)");
    char main_o[512], util_o[512];
    snprintf(main_o, sizeof main_o, "%s/prog_main_%s.o", EJ_A64_FIXTURE_DIR, variant);
    snprintf(util_o, sizeof util_o, "%s/prog_util_%s.o", EJ_A64_FIXTURE_DIR, variant);
    for (size_t bi = 0; bi < NBASES; bi++) {
        prog_res res = {.base = bases[bi]};
        ej_linker *lk;
        ej_module *m = NULL;
        cr_assert_eq(ej_linker_create(&lk), EJ_OK);
        cr_assert_eq(ej_linker_set_base(lk, bases[bi]), EJ_OK);
        cr_assert_eq(ej_linker_set_resolver(lk, prog_resolve, &res), EJ_OK);
        cr_assert_eq(ej_linker_add_file(lk, main_o), EJ_OK, "%s", ej_linker_errmsg(lk));
        cr_assert_eq(ej_linker_add_file(lk, util_o), EJ_OK, "%s", ej_linker_errmsg(lk));
        cr_assert_eq(ej_linker_add_file(lk, FX("gotref.o")), EJ_OK, "%s", ej_linker_errmsg(lk));
        ej_status st = ej_linker_link(lk, &m);
        cr_assert_eq(st, EJ_OK, "%s at 0x%" PRIx64 ": %s", variant, bases[bi], ej_linker_errmsg(lk));
        ej_linker_free(lk);

        /* The program's own symbols are where the image says. */
        uint64_t main_fn = sym(m, "main");
        cr_expect(in_image(m, main_fn, 4) && in_image(m, sym(m, "big_array"), 8192));
        cr_expect_eq(rd64(m, sym(m, "add_ptr")), sym(m, "util_add"), "add_ptr = util_add");
        uint32_t t0;
        rd(m, sym(m, "table"), &t0, 4);
        cr_expect_eq(t0, 1, "table[0]");
        uint64_t str = rd64(m, sym(m, "greeting"));
        char text[18];
        rd(m, str, text, sizeof text);
        cr_expect(memcmp(text, "hello from elfjit", 18) == 0, "greeting -> \"%.17s\"", text);
        /* libc came from the resolver. */
        uint64_t a;
        cr_expect(prog_lookup(&res, "printf", &a) && prog_lookup(&res, "malloc", &a),
                  "printf and malloc resolved by the resolver");

        got_info gi = got_from(m, rd64(m, sym(m, "ej_got_start")), rd64(m, sym(m, "ej_got_end")));
        verify_stats vs = {0};
        verify_object(m, &gi, &res, main_o, &vs);
        verify_object(m, &gi, &res, util_o, &vs);
        cr_log_info("%s at 0x%" PRIx64 ": %zu relocations checked, %zu in the image, %zu skipped",
                    variant, bases[bi], vs.checked, vs.in_image_only, vs.skipped);
        cr_expect_geq(vs.checked, 12, "%s: only %zu relocations checked", variant, vs.checked);
        ej_module_free(m);
    }
}

Test(reloc_aarch64, program_gcc_O2)
{
    check_program("O2");
}

Test(reloc_aarch64, program_gcc_O0g)
{
    check_program("O0g");
}

Test(reloc_aarch64, program_gcc_O2pic)
{
    check_program("O2pic");
}

Test(reloc_aarch64, program_gcc_O2nopie)
{
    check_program("O2nopie");
}

Test(reloc_aarch64, program_gcc_O2tiny)
{
    check_program("O2tiny");
}

Test(reloc_aarch64, program_gcc_O2large)
{
    check_program("O2large");
}

Test(reloc_aarch64, program_clang_large)
{
    if (!EJ_A64_HAVE_CLANG)
        cr_skip_test("clang cannot compile for aarch64 here");
    check_program("clang_large");
}

Test(reloc_aarch64, program_clang_O2pic)
{
    if (!EJ_A64_HAVE_CLANG)
        cr_skip_test("clang cannot compile for aarch64 here");
    check_program("clang_O2pic");
}
