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
 * The test of every type (relocs.s + other.s) states its expectations as
 * `check:` lines next to the instructions of the fixtures, evaluated by the
 * shared harness (../harness.c) with the decoders registered below
 * (rh_arch_desc); the other tests compute theirs here.
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

#include "harness.h"

#define FX(name) EJ_A64_FIXTURE_DIR "/" name
#define SENTINEL32 0xa5a5a5a5u
#ifndef R_AARCH64_PLT32
#define R_AARCH64_PLT32 314 /* AAELF64 2020Q2; not in every <elf.h> */
#endif

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

/* ---- what the harness needs to know about aarch64 ------------------- */

/* A stub: adrp x16; ldr x16, [x16, #lo12]; br x16; brk #0. */
static int a64_stub_shape(ej_module *m, uint64_t L)
{
    uint32_t w[4];
    rd(m, L, w, sizeof w);
    return (w[0] & 0x9f00001f) == 0x90000010 && (w[1] & 0xffc003ff) == 0xf9400210 &&
           w[2] == 0xd61f0200 && w[3] == 0xd4200000;
}

static uint64_t a64_stub_slot(ej_module *m, uint64_t L)
{
    uint32_t w[2];
    rd(m, L, w, sizeof w);
    return page4k(L) + (uint64_t)dec_adrp(w[0]) + dec_imm12(w[1]) * 8;
}

/* The instruction at the symbol NAME (A its address) for a check line:
 * every bit outside MASK must be the assembler's. */
static uint32_t chk_insn(rh_ctx *c, uint64_t a, const char *name, uint32_t mask)
{
    uint32_t orig = rh_orig32(c, name);
    uint32_t w = (uint32_t)rh_read(c, a, 4);
    if ((w & ~mask) != (orig & ~mask))
        rh_fail(c, "%s at 0x%" PRIx64 ": 0x%08x changed outside its field (assembled 0x%08x)",
                name ? name : "?", a, w, orig);
    return w;
}

#define A64_FN(fname) static uint64_t fname(rh_ctx *c, const uint64_t *a, const char *const *n)

/* decode_bl(i) / decode_b(i): where the imm26 branch at I goes. */
A64_FN(f_decode_b) { return a[0] + (uint64_t)dec_imm26(chk_insn(c, a[0], n[0], M_IMM26)); }
/* b.cond, cbz/cbnz, ldr (literal): imm19; tbz/tbnz: imm14; adr. */
A64_FN(f_decode_imm19) { return a[0] + (uint64_t)dec_imm19(chk_insn(c, a[0], n[0], M_IMM19)); }
A64_FN(f_decode_imm14) { return a[0] + (uint64_t)dec_imm14(chk_insn(c, a[0], n[0], M_IMM14)); }
A64_FN(f_decode_adr) { return a[0] + (uint64_t)dec_adr(chk_insn(c, a[0], n[0], M_ADR)); }
/* adrp: the page it addresses. */
A64_FN(f_decode_adrp)
{
    return page4k(a[0]) + (uint64_t)dec_adrp(chk_insn(c, a[0], n[0], M_ADR));
}
/* add #imm12: the immediate; load/store (SIZE bytes): imm12 * SIZE. */
A64_FN(f_decode_add_lo12) { return dec_imm12(chk_insn(c, a[0], n[0], M_IMM12)); }
A64_FN(f_decode_ldst_lo12)
{
    return (uint64_t)dec_imm12(chk_insn(c, a[0], n[0], M_IMM12)) * a[1];
}
/* A move-wide's imm16, its opcode unchanged. */
A64_FN(f_decode_movw) { return dec_imm16(chk_insn(c, a[0], n[0], M_IMM16)); }
/* A move-wide's opcode now: MOVN 0, MOVZ 2, MOVK 3. */
A64_FN(f_movw_opc)
{
    (void)n;
    return mov_opc((uint32_t)rh_read(c, a[0], 4));
}

/* movw(i, g, x) / movw_s(i, g, x): the move-wide at I sets group G of X
 * (see expect_movw; _s: a signed relocation, MOVN for X < 0); 1, or the
 * check fails saying why. */
static uint64_t movw_check(rh_ctx *c, const uint64_t *a, const char *const *n, int is_signed)
{
    uint32_t orig = rh_orig32(c, n[0]);
    unsigned g = (unsigned)a[1];
    int64_t x = (int64_t)a[2];
    int switches = is_signed && mov_opc(orig) != MOVK;
    uint32_t w = chk_insn(c, a[0], n[0], M_IMM16 | (switches ? M_MOVOPC : 0));
    uint64_t v = (uint64_t)x;
    unsigned want_opc = mov_opc(orig);
    if (switches) {
        want_opc = x < 0 ? MOVN : MOVZ;
        if (x < 0)
            v = ~v;
    }
    if (g > 3)
        return rh_fail(c, "group %u", g);
    if (mov_opc(w) != want_opc)
        return rh_fail(c, "%s: opcode %u, want %u (X = %" PRId64 ")", n[0], mov_opc(w),
                       want_opc, x);
    if (dec_imm16(w) != ((v >> (16 * g)) & 0xffff))
        return rh_fail(c, "%s: imm16 0x%x, want 0x%" PRIx64 " (X = 0x%" PRIx64 ", group %u)",
                       n[0], dec_imm16(w), (v >> (16 * g)) & 0xffff, (uint64_t)x, g);
    return 1;
}

A64_FN(f_movw) { return movw_check(c, a, n, 0); }
A64_FN(f_movw_s) { return movw_check(c, a, n, 1); }

static const rh_func a64_funcs[] = {
    {"decode_bl", 1, f_decode_b},          {"decode_b", 1, f_decode_b},
    {"decode_imm19", 1, f_decode_imm19},   {"decode_imm14", 1, f_decode_imm14},
    {"decode_adr", 1, f_decode_adr},       {"decode_adrp", 1, f_decode_adrp},
    {"decode_add_lo12", 1, f_decode_add_lo12},
    {"decode_ldst_lo12", 2, f_decode_ldst_lo12},
    {"decode_movw", 1, f_decode_movw},     {"movw_opc", 1, f_movw_opc},
    {"movw", 3, f_movw},                   {"movw_s", 3, f_movw_s},
};

const rh_arch rh_arch_desc = {
    .machine = EM_AARCH64,
    .stub_size = 16,
    .stub_shape = a64_stub_shape,
    .stub_slot = a64_stub_slot,
    .field_fill = 0xa5a5a5a5a5a5a5a5,
    .field_guard = 0,
    .funcs = a64_funcs,
    .nfuncs = sizeof a64_funcs / sizeof a64_funcs[0],
};

/* ================================================================== */
/* Every type, in real instructions (relocs.s + other.s): the          */
/* expectations are the check lines of the two sources.                */
/* ================================================================== */

static void check_all_types(uint64_t base)
{
    /* Where the resolver puts the undefined symbols: BASE + OFFSET, or
     * OFFSET itself (absolute values for MOVW and data). */
    static const struct {
        const char *name;
        uint64_t offset;
        int base_rel;
    } res[] = {
        {"near_func", 64 * MIB, 1},        {"far_func", 100 * GIB, 1},
        {"ext_data", GIB + 0x120, 1},      {"far_data", 150 * GIB, 1},
        {"near_lit", 512 * KIB, 1},        {"near_tb", 16 * KIB, 1},
        {"small_res", 0x1234, 0},          {"mid_res", 0x87654321, 0},
        {"big_res", 0x123456789abc, 0},    {"huge_res", 0xfedcba9876543210, 0},
        {"neg_res", (uint64_t)-0x1234, 0}, {"neg_res1", (uint64_t)-0x12345678, 0},
        {"neg_res2", (uint64_t)-0x123456789abc, 0},
    };
    /* Types gas cannot name, emitted as R_AARCH64_NONE. */
    static const struct {
        const char *at;
        uint32_t type;
    } retypes[] = {
        {"x_gotoff_g0", R_AARCH64_MOVW_GOTOFF_G0},
        {"x_gotoff_g1_nc", R_AARCH64_MOVW_GOTOFF_G1_NC},
        {"x_gotoff_g2", R_AARCH64_MOVW_GOTOFF_G2},
        {"x_gotoff_g2_nc", R_AARCH64_MOVW_GOTOFF_G2_NC},
        {"x_gotoff_g3", R_AARCH64_MOVW_GOTOFF_G3},
        {"x_gotrel64", R_AARCH64_GOTREL64},
        {"x_gotrel32", R_AARCH64_GOTREL32},
        {"x_plt32_far", R_AARCH64_PLT32},
        {"x_plt32_local", R_AARCH64_PLT32},
    };
    res_table rt = {0};
    for (size_t i = 0; i < sizeof res / sizeof res[0]; i++)
        res_set(&rt, res[i].name, res[i].offset + (res[i].base_rel ? base : 0));
    res_set(&rt, "host_fn", host_sym("puts"));

    obj objs[2] = {fx_copy("relocs.o"), fx_copy("other.o")};
    for (size_t i = 0; i < sizeof retypes / sizeof retypes[0]; i++)
        retype_at(&objs[0], retypes[i].at, retypes[i].type);
    ej_module *m = link_ok_(base, &rt, objs, 2);
    run_checks(m, base, &rt, objs, 2, "relocs.s", "other.s");
    ej_module_free(m);
    obj_free(&objs[0]);
    obj_free(&objs[1]);
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
        ej_module *m = link_ok(try_bases[bi], &rt, fx("host.o"));
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
    obj e;
    int insn;        /* the field is an instruction in .text */
    uint32_t orig;   /* the assembled instruction */
} fixture;

static void fixture_open(fixture *fx, const char *objname, uint32_t retype)
{
    snprintf(fx->path, sizeof fx->path, "%s/%s", EJ_A64_FIXTURE_DIR, objname);
    obj_open(&fx->e, fx->path);
    const Elf64_Sym *s = obj_sym(&fx->e, "field");
    fx->insn = (fx->e.sh[s->st_shndx].sh_flags & SHF_EXECINSTR) != 0;
    fx->orig = obj_word(&fx->e, "field");
    if (retype)
        retype_at(&fx->e, "field", retype);
}

/* Where `field` and the GOT are when FX is linked at BASE (a copy whose
 * field relocation is R_AARCH64_NONE, which fits anything: the layout of
 * text and the GOT does not depend on it). */
static uint64_t fixture_field(fixture *fx, uint64_t base, uint64_t *got)
{
    res_table rt = {0};
    obj probe;
    obj_open(&probe, fx->path);
    retype_at(&probe, "field", R_AARCH64_NONE);
    res_set(&rt, "tgt", base + 0x1000);
    rt.dflt = base + 0x1000;
    ej_module *m = link_ok(base, &rt, probe);
    obj_free(&probe);
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
            ej_module *m = link_ok(base, &rt, fx.e);
            cr_assert_eq(sym(m, "field"), p, "layout changed");
            expect_value(m, c, &fx, p, x);
            ej_module_free(m);
        }
        for (int k = 0; k < 2; k++) {
            if (c->out[k] == 0) /* no limit on this side */
                continue;
            res_set(&rt, "tgt", target_for(c, c->out[k], p, got, k));
            link_fails(base, &rt, EJ_RANGE, msg, fx.e);
            expect_msg(msg, c->obj);
            expect_msg(msg, where);
            expect_msg(msg, c->type);
            expect_msg(msg, "'tgt'");
            expect_msg(msg, "out of range");
        }
    }
    obj_free(&fx.e);
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
    const obj in = fx("r_abs32_img.o");
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
            ej_module *m = link_ok(bases[bi], &rt, fx.e);
            check_field_at(m, "R_AARCH64_GOTREL64", sym(m, "field"), 8, tgts[k] + 0x10 - got);
            ej_module_free(m);
        }
    }
    obj_free(&fx.e);
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
static void branch_to_self(const char *objname, const char *type, int64_t x, int fits)
{
    fixture fx;
    char msg[1024];
    fixture_open(&fx, objname, 0);
    for (size_t bi = 0; bi < NBASES; bi++) {
        if (fits) {
            ej_module *m = link_ok(bases[bi], NULL, fx.e);
            uint32_t w = insn_at(m, type, sym(m, "field"), fx.orig, M_IMM26);
            cr_expect_eq(dec_imm26(w), x, "%s: offset %" PRId64 ", want %" PRId64, objname,
                         dec_imm26(w), x);
            ej_module_free(m);
            continue;
        }
        link_fails(bases[bi], NULL, EJ_RANGE, msg, fx.e);
        expect_msg(msg, objname);
        expect_msg(msg, ".text+0x10");
        expect_msg(msg, type);
        expect_msg(msg, "'field'");
        expect_msg(msg, "out of range");
    }
    obj_free(&fx.e);
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
static void branch_external(const char *objname, const char *type)
{
    fixture fx;
    fixture_open(&fx, objname, 0);
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
            ej_module *m = link_ok(base, &rt, fx.e);
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
    obj_free(&fx.e);
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
    ej_module *m = link_ok(LOW_BASE, &rt, fx.e);
    cr_expect_eq(dec_imm26(rd32(m, p)), (int64_t)MIB + 8);
    ej_module_free(m);
    res_set(&rt, "tgt", p + 100 * GIB); /* far: the stub reaches tgt, not tgt + 8 */
    link_fails(LOW_BASE, &rt, EJ_RELOC, msg, fx.e);
    expect_msg(msg, "r_call26_a8.o");
    expect_msg(msg, ".text+0x10");
    expect_msg(msg, "R_AARCH64_CALL26");
    expect_msg(msg, "'tgt'");
    expect_msg(msg, "addend 8");
    obj_free(&fx.e);
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
        ej_module *pm = link_ok(base, &probe, fx.e);
        uint64_t p = sym(pm, "field");
        ej_module_free(pm);
        const int64_t xs[] = {INT32_MAX, INT32_MIN, (int64_t)INT32_MAX + 1, (int64_t)INT32_MIN - 1};
        for (size_t k = 0; k < 4; k++) {
            res_table rt = {0};
            uint64_t S = p + (uint64_t)xs[k] - 0x10; /* A = 0x10 */
            res_set(&rt, "tgt", S);
            ej_module *m = link_ok(base, &rt, fx.e);
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
    link_fails(LOW_BASE, NULL, EJ_RANGE, msg, img.e);
    expect_msg(msg, "r_x_data_img.o");
    expect_msg(msg, ".data+0x10");
    expect_msg(msg, "R_AARCH64_PLT32");
    expect_msg(msg, "'field'");
    expect_msg(msg, "out of range");
    obj_free(&img.e);
    obj_free(&fx.e);
}

/* ---- GOT-relative offsets at their limits ---------------------------- */

/* got_many.S: FILL slots, then tgt's, at 8 * FILL from the GOT (which
 * starts a page).  FITS: whether that offset is in range. */
static void got_limit(const char *objname, const char *type, uint32_t retype, unsigned fill,
                      int fits, int is_movw)
{
    fixture fx;
    char msg[1024];
    fixture_open(&fx, objname, retype);
    for (size_t bi = 0; bi < NBASES; bi++) {
        res_table rt = {0};
        rt.dflt = bases[bi] + 10 * GIB; /* every fill_N */
        const uint64_t tgt = bases[bi] + 20 * GIB;
        res_set(&rt, "tgt", tgt);
        if (!fits) {
            link_fails(bases[bi], &rt, EJ_RANGE, msg, fx.e);
            expect_msg(msg, objname);
            expect_msg(msg, ".text.field+0x10");
            expect_msg(msg, type);
            expect_msg(msg, "'tgt'");
            expect_msg(msg, "out of range");
            continue;
        }
        ej_module *m = link_ok(bases[bi], &rt, fx.e);
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
    obj_free(&fx.e);
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
            ej_module *m = link_ok(bases[bi], &rt, fx.e);
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
        obj_free(&fx.e);
    }
}

/* ================================================================== */
/* Refused: wrong instruction, misaligned, addend on a GOT relocation. */
/* ================================================================== */

static void refused(const char *objname, uint32_t retype, const char *type, uint64_t tgt,
                    const char *why1, const char *why2)
{
    fixture fx;
    char msg[1024];
    fixture_open(&fx, objname, retype);
    res_table rt = {0};
    res_set(&rt, "tgt", tgt ? tgt : LOW_BASE + 0x2000);
    link_fails(LOW_BASE, &rt, EJ_RELOC, msg, fx.e);
    expect_msg(msg, objname);
    expect_msg(msg, fx.insn ? ".text+0x10" : ".data+0x10");
    expect_msg(msg, type);
    expect_msg(msg, "'tgt'");
    expect_msg(msg, why1);
    if (why2)
        expect_msg(msg, why2);
    obj_free(&fx.e);
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
        char want[64], msg[1024];
        fixture_open(&fx, "r_abs32.o", types[i]);
        snprintf(want, sizeof want, "unknown relocation type %u", types[i]);
        obj in = fx.e;
        snprintf(in.name, sizeof in.name, "unknown.o");
        add_fails(&in, EJ_RELOC, msg);
        expect_msg(msg, want);
        expect_msg(msg, "unknown.o");
        expect_msg(msg, ".data+0x10");
        expect_msg(msg, "aarch64");
        obj_free(&fx.e);
    }
}

static void check_unsupported(const char *objname, const char *type, const char *symname,
                              const char *why)
{
    char msg[1024], quoted[128];
    snprintf(quoted, sizeof quoted, "'%s'", symname);
    res_table rt = {0};
    res_set(&rt, "tgt", LOW_BASE + 0x1000);
    res_set(&rt, "ext_tv", LOW_BASE + 0x1000);
    for (size_t bi = 0; bi < NBASES; bi++) {
        link_fails(bases[bi], &rt, EJ_UNSUPPORTED, msg, fx(objname));
        expect_msg(msg, objname);
        expect_msg(msg, type);
        expect_msg(msg, quoted);
        expect_msg(msg, why);
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
        link_result r = do_link(LOW_BASE, &rt, OBJS(fx.e));
        if (r.m)
            ej_module_free(r.m);
        cr_expect_eq(r.st, EJ_UNSUPPORTED, "type %u: status %d: %s", t, (int)r.st, r.msg);
        expect_msg(r.msg, "dynamic relocation");
        obj_free(&fx.e);
    }
}

Test(reloc_aarch64, none_writes_nothing)
{
    for (uint32_t t = 0; t <= 256; t += 256) {
        fixture fx;
        fixture_open(&fx, "r_abs32.o", 0);
        retype_at(&fx.e, "field", t);
        res_table rt = {0};
        res_set(&rt, "tgt", LOW_BASE + 0x1000);
        ej_module *m = link_ok(LOW_BASE, &rt, fx.e);
        check_field_at(m, t ? "R_AARCH64_NULL" : "R_AARCH64_NONE", sym(m, "field"), 0, 0);
        ej_module_free(m);
        obj_free(&fx.e);
    }
}

/* ================================================================== */
/* Thread-local storage (link-only: an executable's own block, TLS     */
/* variant I: T = align_up(16, align), module id 1).                   */
/* ================================================================== */

/* Every TLS type (tls.s + tls_other.s: the expectations are their check
 * lines; tls_check_all in ../harness.c), __tls_get_addr placed by the
 * resolver at an offset from the base.  The types the assembler does not
 * write are put in tls.o first. */
static const rh_retype a64_tls_retypes[] = {
    {"x_le_ld128", R_AARCH64_TLSLE_LDST128_TPREL_LO12},
    {"x_le_ld128_nc", R_AARCH64_TLSLE_LDST128_TPREL_LO12_NC},
    {"x_ld_g1", R_AARCH64_TLSLD_MOVW_G1},
    {"x_ld_g0_nc", R_AARCH64_TLSLD_MOVW_G0_NC},
    {"x_ld_prel19", R_AARCH64_TLSLD_LD_PREL19},
    {"x_dtp_ld128", R_AARCH64_TLSLD_LDST128_DTPREL_LO12},
    {"x_dtp_ld128_nc", R_AARCH64_TLSLD_LDST128_DTPREL_LO12_NC},
};
#define A64_TLS_RETYPES a64_tls_retypes, sizeof a64_tls_retypes / sizeof a64_tls_retypes[0]

Test(reloc_aarch64, tls_all_types_low_base)
{
    tls_check_all(LOW_BASE, 64 * MIB, A64_TLS_RETYPES);
}

Test(reloc_aarch64, tls_all_types_high_base)
{
    tls_check_all(HIGH_BASE, 64 * MIB, A64_TLS_RETYPES);
}

Test(reloc_aarch64, tls_all_types_far_tls_get_addr)
{
    for (size_t bi = 0; bi < NBASES; bi++)
        tls_check_all(bases[bi], 100 * GIB, A64_TLS_RETYPES);
}

/* tls_site_<what>.o (tls_site.S) with its relocation rewritten to TYPE must
 * be refused with WANT, the message naming the object, the place, the
 * symbol and WHY (when not NULL); nothing stays mapped (tls_refused_obj,
 * ../harness.c). */
static void tls_refused(const char *objname, uint32_t type, const char *sym, ej_status want,
                        const char *why)
{
    obj o = fx_copy(objname);
    retype_at(&o, "field", type);
    res_table rt = {0};
    res_set(&rt, "ext_tv", LOW_BASE + 0x200000); /* an address: still not usable */
    res_set(&rt, "tgt", LOW_BASE + 0x200000);
    tls_refused_obj(&o, &rt, want, ".text+0x10", NULL, sym, why);
    obj_free(&o);
}

Test(reloc_aarch64, tls_relocation_against_non_tls_symbol_refused)
{
    static const uint32_t add[] = {
        R_AARCH64_TLSLE_ADD_TPREL_LO12_NC, R_AARCH64_TLSLE_ADD_TPREL_HI12,
        R_AARCH64_TLSGD_ADD_LO12_NC,       R_AARCH64_TLSDESC_ADD_LO12,
        R_AARCH64_TLSLD_ADD_DTPREL_LO12_NC};
    static const uint32_t adrp[] = {R_AARCH64_TLSIE_ADR_GOTTPREL_PAGE21,
                                    R_AARCH64_TLSGD_ADR_PAGE21, R_AARCH64_TLSDESC_ADR_PAGE21};
    for (size_t i = 0; i < sizeof add / sizeof add[0]; i++)
        tls_refused("tls_site_plain_add.o", add[i], "plain", EJ_RELOC, NULL);
    for (size_t i = 0; i < sizeof adrp / sizeof adrp[0]; i++)
        tls_refused("tls_site_plain_adrp.o", adrp[i], "plain", EJ_RELOC, NULL);
}

/* The module's pair is named through a variable of the module: against a
 * data symbol, the relocation means nothing. */
Test(reloc_aarch64, tls_local_dynamic_against_non_tls_symbol_refused)
{
    tls_refused("tls_site_plain_adrp.o", R_AARCH64_TLSLD_ADR_PAGE21, "plain", EJ_RELOC, NULL);
    tls_refused("tls_site_plain_add.o", R_AARCH64_TLSLD_ADD_LO12_NC, "plain", EJ_RELOC, NULL);
}

Test(reloc_aarch64, non_tls_relocation_against_tls_symbol_refused)
{
    tls_refused("tls_site_tv_adrp.o", R_AARCH64_ADR_PREL_PG_HI21, "tv", EJ_RELOC, NULL);
    tls_refused("tls_site_tv_adrp.o", R_AARCH64_ADR_GOT_PAGE, "tv", EJ_RELOC, NULL);
    tls_refused("tls_site_tv_add.o", R_AARCH64_ADD_ABS_LO12_NC, "tv", EJ_RELOC, NULL);
    tls_refused("tls_site_tv_bl.o", R_AARCH64_CALL26, "tv", EJ_RELOC, NULL);
    tls_refused("tls_site_tv_movz0.o", R_AARCH64_MOVW_UABS_G0, "tv", EJ_RELOC, NULL);
}

Test(reloc_aarch64, tls_host_variable_refused_in_link_only_mode)
{
    tls_refused("tls_site_ext_adrp.o", R_AARCH64_TLSIE_ADR_GOTTPREL_PAGE21, "ext_tv",
                EJ_UNSUPPORTED, NULL);
    tls_refused("tls_site_ext_adrp.o", R_AARCH64_TLSDESC_ADR_PAGE21, "ext_tv", EJ_UNSUPPORTED,
                NULL);
    tls_refused("tls_site_ext_adrp.o", R_AARCH64_TLSGD_ADR_PAGE21, "ext_tv", EJ_UNSUPPORTED,
                NULL);
    tls_refused("tls_site_ext_add.o", R_AARCH64_TLSLE_ADD_TPREL_HI12, "ext_tv", EJ_UNSUPPORTED,
                NULL);
}

/* A slot is per symbol: an addend on a GOT-type TLS relocation has no slot
 * to address (as for the ordinary GOT relocations). */
Test(reloc_aarch64, tls_got_relocation_with_addend_refused)
{
    static const struct {
        const char *obj;
        uint32_t type;
    } cases[] = {
        {"tls_site_tv_adrp_a8.o", R_AARCH64_TLSIE_ADR_GOTTPREL_PAGE21},
        {"tls_site_tv_adrp_a8.o", R_AARCH64_TLSGD_ADR_PAGE21},
        {"tls_site_tv_adrp_a8.o", R_AARCH64_TLSDESC_ADR_PAGE21},
        {"tls_site_tv_ldr64_a8.o", R_AARCH64_TLSIE_LD64_GOTTPREL_LO12_NC},
        {"tls_site_tv_ldr64_a8.o", R_AARCH64_TLSDESC_LD64_LO12},
        {"tls_site_tv_add_a8.o", R_AARCH64_TLSGD_ADD_LO12_NC},
        {"tls_site_tv_add_a8.o", R_AARCH64_TLSDESC_ADD_LO12},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        tls_refused(cases[i].obj, cases[i].type, "tv", EJ_RELOC, "addend 8");
}

Test(reloc_aarch64, tls_dynamic_types_refused)
{
    for (uint32_t t = R_AARCH64_TLS_DTPMOD; t <= R_AARCH64_TLSDESC; t++)
        tls_refused("tls_site_tv_adrp.o", t, "tv", EJ_UNSUPPORTED, "dynamic relocation");
}

/* Local-exec and local-dynamic fields at their limits: tls_site_tv_*.o,
 * tv at S = 0, T = 16; the addend rewritten to make X each value. */
enum { V_TP = 100, V_DTP };

static void tls_range_case(const range_case *c)
{
    fixture fx;
    char msg[1024];
    const int64_t T = c->value == V_TP ? 16 : 0;
    for (size_t bi = 0; bi < NBASES; bi++) {
        for (int k = 0; k < 4; k++) {
            int in = k < 2;
            int64_t x = in ? c->in[k] : c->out[k - 2];
            if (!in && x == 0)
                continue;
            fixture_open(&fx, c->obj, c->retype);
            set_addend(&fx.e, 0, x - T);
            if (in) {
                ej_module *m = link_ok(bases[bi], NULL, fx.e);
                expect_value(m, c, &fx, sym(m, "field"), x);
                ej_module_free(m);
            } else {
                link_fails(bases[bi], NULL, EJ_RANGE, msg, fx.e);
                expect_msg(msg, c->obj);
                expect_msg(msg, ".text+0x10");
                expect_msg(msg, c->type);
                expect_msg(msg, "'tv'");
                expect_msg(msg, "out of range");
            }
            obj_free(&fx.e);
        }
    }
}

Test(reloc_aarch64, tls_range_le_add)
{
    /* HI12: bits [23:12] of X, 0 <= X < 2^24; LO12: 0 <= X < 2^12. */
    range_case hi = {"tls_site_tv_addhi.o", "R_AARCH64_TLSLE_ADD_TPREL_HI12",
                     R_AARCH64_TLSLE_ADD_TPREL_HI12, V_TP, F_LO12, 0, 0,
                     {S2(24) - 1, 0}, {S2(24), -1}};
    range_case lo = {"tls_site_tv_add.o", "R_AARCH64_TLSLE_ADD_TPREL_LO12",
                     R_AARCH64_TLSLE_ADD_TPREL_LO12, V_TP, F_LO12, 0, 0,
                     {S2(12) - 1, 0}, {S2(12), -1}};
    range_case dlo = {"tls_site_tv_add.o", "R_AARCH64_TLSLD_ADD_DTPREL_LO12",
                      R_AARCH64_TLSLD_ADD_DTPREL_LO12, V_DTP, F_LO12, 0, 0,
                      {S2(12) - 1, 0}, {S2(12), -1}};
    tls_range_case(&lo);
    tls_range_case(&dlo);
    /* expect_value's F_LO12 compares the low 12 bits: the field holds X >> 12. */
    fixture fx;
    for (size_t bi = 0; bi < NBASES; bi++) {
        const int64_t xs[] = {S2(24) - 1, 0x123456, 0};
        for (size_t k = 0; k < 3; k++) {
            fixture_open(&fx, hi.obj, hi.retype);
            set_addend(&fx.e, 0, xs[k] - 16);
            ej_module *m = link_ok(bases[bi], NULL, fx.e);
            uint32_t w = insn_at(m, hi.type, sym(m, "field"), fx.orig, M_IMM12);
            cr_expect_eq(dec_imm12(w), ((uint64_t)xs[k] >> 12) & 0xfff, "%s: X 0x%" PRIx64,
                         hi.type, (uint64_t)xs[k]);
            ej_module_free(m);
            obj_free(&fx.e);
        }
    }
    hi.in[0] = hi.in[1] = 0; /* checked above */
    tls_range_case(&hi);
}

Test(reloc_aarch64, tls_range_le_movw)
{
    range_case g0 = {"tls_site_tv_movz0.o", "R_AARCH64_TLSLE_MOVW_TPREL_G0",
                     R_AARCH64_TLSLE_MOVW_TPREL_G0, V_TP, F_MOVW_S, 0, 0,
                     {S2(16) - 1, -S2(16)}, {S2(16), -S2(16) - 1}};
    range_case g1 = {"tls_site_tv_movz1.o", "R_AARCH64_TLSLE_MOVW_TPREL_G1",
                     R_AARCH64_TLSLE_MOVW_TPREL_G1, V_TP, F_MOVW_S, 1, 0,
                     {S2(32) - 1, -S2(32)}, {S2(32), -S2(32) - 1}};
    range_case g2 = {"tls_site_tv_movz2.o", "R_AARCH64_TLSLE_MOVW_TPREL_G2",
                     R_AARCH64_TLSLE_MOVW_TPREL_G2, V_TP, F_MOVW_S, 2, 0,
                     {S2(48) - 1, -S2(48)}, {S2(48), -S2(48) - 1}};
    range_case d0 = {"tls_site_tv_movz0.o", "R_AARCH64_TLSLD_MOVW_DTPREL_G0",
                     R_AARCH64_TLSLD_MOVW_DTPREL_G0, V_DTP, F_MOVW_S, 0, 0,
                     {S2(16) - 1, -S2(16)}, {S2(16), -S2(16) - 1}};
    range_case d1 = {"tls_site_tv_movz1.o", "R_AARCH64_TLSLD_MOVW_DTPREL_G1",
                     R_AARCH64_TLSLD_MOVW_DTPREL_G1, V_DTP, F_MOVW_S, 1, 0,
                     {S2(32) - 1, -S2(32)}, {S2(32), -S2(32) - 1}};
    tls_range_case(&g0);
    tls_range_case(&g1);
    tls_range_case(&g2);
    tls_range_case(&d0);
    tls_range_case(&d1);
}

Test(reloc_aarch64, tls_le_nc_are_not_checked)
{
    range_case lo = {"tls_site_tv_add.o", "R_AARCH64_TLSLE_ADD_TPREL_LO12_NC",
                     R_AARCH64_TLSLE_ADD_TPREL_LO12_NC, V_TP, F_LO12, 0, 0,
                     {0x12345fff, -1}, {0, 0}};
    range_case g1 = {"tls_site_tv_movk1.o", "R_AARCH64_TLSLE_MOVW_TPREL_G1_NC",
                     R_AARCH64_TLSLE_MOVW_TPREL_G1_NC, V_TP, F_MOVW_U, 1, 0,
                     {0x123456789abc, -2}, {0, 0}};
    range_case l64 = {"tls_site_tv_ldr64.o", "R_AARCH64_TLSLE_LDST64_TPREL_LO12_NC",
                      R_AARCH64_TLSLE_LDST64_TPREL_LO12_NC, V_TP, F_LO12, 3, 0,
                      {0x12345ff8, 0x1000}, {0, 0}};
    tls_range_case(&lo);
    tls_range_case(&g1);
    tls_range_case(&l64);
}

Test(reloc_aarch64, tls_range_le_ldst)
{
    range_case l32 = {"tls_site_tv_ldr32.o", "R_AARCH64_TLSLE_LDST32_TPREL_LO12",
                      R_AARCH64_TLSLE_LDST32_TPREL_LO12, V_TP, F_LO12, 2, 0,
                      {0xffc, 0}, {0x1000, -4}};
    range_case l64 = {"tls_site_tv_ldr64.o", "R_AARCH64_TLSLD_LDST64_DTPREL_LO12",
                      R_AARCH64_TLSLD_LDST64_DTPREL_LO12, V_DTP, F_LO12, 3, 0,
                      {0xff8, 8}, {0x1000, -8}};
    tls_range_case(&l32);
    tls_range_case(&l64);
}

Test(reloc_aarch64, tls_ldst_misaligned_refused)
{
    static const struct {
        const char *obj;
        uint32_t type;
        const char *name;
        int64_t x;
        int dtp;
        const char *why;
    } cases[] = {
        {"tls_site_tv_ldr32.o", R_AARCH64_TLSLE_LDST32_TPREL_LO12,
         "R_AARCH64_TLSLE_LDST32_TPREL_LO12", 0x12, 0, "not a multiple of 4"},
        {"tls_site_tv_ldr64.o", R_AARCH64_TLSLE_LDST64_TPREL_LO12_NC,
         "R_AARCH64_TLSLE_LDST64_TPREL_LO12_NC", 0x14, 0, "not a multiple of 8"},
        {"tls_site_tv_ldr64.o", R_AARCH64_TLSLD_LDST64_DTPREL_LO12,
         "R_AARCH64_TLSLD_LDST64_DTPREL_LO12", 0x4, 1, "not a multiple of 8"},
    };
    char msg[1024];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fixture fx;
        fixture_open(&fx, cases[i].obj, cases[i].type);
        set_addend(&fx.e, 0, cases[i].x - (cases[i].dtp ? 0 : 16));
        link_fails(LOW_BASE, NULL, EJ_RELOC, msg, fx.e);
        expect_msg(msg, cases[i].name);
        expect_msg(msg, "'tv'");
        expect_msg(msg, "misaligned");
        expect_msg(msg, cases[i].why);
        obj_free(&fx.e);
    }
}

/* ---- C compiled with several flag sets ---------------------------- */

/* What a TLS type's value is and where its field is. */
enum { TV_TP, TV_DTP, TV_IE, TV_GD, TV_LD, TV_DESC, TV_MARK };
enum { TF_ADRP, TF_ADR, TF_PREL19, TF_ADD_HI12, TF_ADD_LO12, TF_LDST, TF_MOVW, TF_NONE };

typedef struct tls_type {
    int value, field;
    unsigned arg;  /* TF_LDST: log2 of the access size; TF_MOVW: group */
    int is_signed; /* TF_MOVW: MOVN/MOVZ by sign */
} tls_type;

static int a64_tls_type(uint32_t t, tls_type *d)
{
    static const struct {
        uint32_t lo, hi;
        tls_type d;
    } tab[] = {
        {512, 512, {TV_GD, TF_ADR, 0, 0}},       {513, 513, {TV_GD, TF_ADRP, 0, 0}},
        {514, 514, {TV_GD, TF_ADD_LO12, 0, 0}},  {515, 515, {TV_GD, TF_MOVW, 1, 1}},
        {516, 516, {TV_GD, TF_MOVW, 0, 0}},      {517, 517, {TV_LD, TF_ADR, 0, 0}},
        {518, 518, {TV_LD, TF_ADRP, 0, 0}},      {519, 519, {TV_LD, TF_ADD_LO12, 0, 0}},
        {520, 520, {TV_LD, TF_MOVW, 1, 1}},      {521, 521, {TV_LD, TF_MOVW, 0, 0}},
        {522, 522, {TV_LD, TF_PREL19, 0, 0}},    {523, 523, {TV_DTP, TF_MOVW, 2, 1}},
        {524, 524, {TV_DTP, TF_MOVW, 1, 1}},     {525, 525, {TV_DTP, TF_MOVW, 1, 0}},
        {526, 526, {TV_DTP, TF_MOVW, 0, 1}},     {527, 527, {TV_DTP, TF_MOVW, 0, 0}},
        {528, 528, {TV_DTP, TF_ADD_HI12, 0, 0}}, {529, 530, {TV_DTP, TF_ADD_LO12, 0, 0}},
        {531, 532, {TV_DTP, TF_LDST, 0, 0}},     {533, 534, {TV_DTP, TF_LDST, 1, 0}},
        {535, 536, {TV_DTP, TF_LDST, 2, 0}},     {537, 538, {TV_DTP, TF_LDST, 3, 0}},
        {539, 539, {TV_IE, TF_MOVW, 1, 1}},      {540, 540, {TV_IE, TF_MOVW, 0, 0}},
        {541, 541, {TV_IE, TF_ADRP, 0, 0}},      {542, 542, {TV_IE, TF_LDST, 3, 0}},
        {543, 543, {TV_IE, TF_PREL19, 0, 0}},    {544, 544, {TV_TP, TF_MOVW, 2, 1}},
        {545, 545, {TV_TP, TF_MOVW, 1, 1}},      {546, 546, {TV_TP, TF_MOVW, 1, 0}},
        {547, 547, {TV_TP, TF_MOVW, 0, 1}},      {548, 548, {TV_TP, TF_MOVW, 0, 0}},
        {549, 549, {TV_TP, TF_ADD_HI12, 0, 0}},  {550, 551, {TV_TP, TF_ADD_LO12, 0, 0}},
        {552, 553, {TV_TP, TF_LDST, 0, 0}},      {554, 555, {TV_TP, TF_LDST, 1, 0}},
        {556, 557, {TV_TP, TF_LDST, 2, 0}},      {558, 559, {TV_TP, TF_LDST, 3, 0}},
        {560, 560, {TV_DESC, TF_PREL19, 0, 0}},  {561, 561, {TV_DESC, TF_ADR, 0, 0}},
        {562, 562, {TV_DESC, TF_ADRP, 0, 0}},    {563, 563, {TV_DESC, TF_LDST, 3, 0}},
        {564, 564, {TV_DESC, TF_ADD_LO12, 0, 0}}, {565, 565, {TV_DESC, TF_MOVW, 1, 1}},
        {566, 566, {TV_DESC, TF_MOVW, 0, 0}},    {567, 569, {TV_MARK, TF_NONE, 0, 0}},
        {570, 571, {TV_TP, TF_LDST, 4, 0}},      {572, 573, {TV_DTP, TF_LDST, 4, 0}},
    };
    for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++)
        if (t >= tab[i].lo && t <= tab[i].hi) {
            *d = tab[i].d;
            return 1;
        }
    return 0;
}

static uint32_t field_mask(const tls_type *d, uint32_t orig)
{
    switch (d->field) {
    case TF_ADRP:
    case TF_ADR: return M_ADR;
    case TF_PREL19: return M_IMM19;
    case TF_MOVW: return M_IMM16 | (d->is_signed && mov_opc(orig) != MOVK ? M_MOVOPC : 0);
    case TF_NONE: return 0;
    default: return M_IMM12;
    }
}

/* The low 12 bits a LO12 field holds (scaled back). */
static uint64_t lo12_of(const tls_type *d, uint32_t w)
{
    return d->field == TF_LDST ? (uint64_t)dec_imm12(w) << d->arg : dec_imm12(w);
}

static const char *a64_name(uint32_t t, char *buf, size_t len)
{
    snprintf(buf, len, "R_AARCH64 type %u", t);
    return buf;
}

/* Pass 0: page relocations with their low-12 partner (the next
 * relocation of the same symbol and addend in the section with a LO12
 * field of the same kind) give each slot; ADR and PREL19 give it whole.
 * Pass 1: every field checked against the value or slot. */
static void a64_check_one(tls_c_run *k, const placed_rela *r, unsigned pass)
{
    ej_module *m = k->m;
    int first = pass == 0;
    tls_type d = {0, 0, 0, 0};
    char what[160], tn[32];
    if (!a64_tls_type(r->type, &d)) {
        if (!first && strcmp(r->name, "__tls_get_addr") == 0) {
            cr_expect(r->type == R_AARCH64_CALL26 || r->type == R_AARCH64_JUMP26,
                      "relocation type %u against __tls_get_addr", r->type);
            uint64_t L = r->P + (uint64_t)dec_imm26(rd32(m, r->P));
            if (L != k->tga)
                check_stub(m, L, k->tga);
        }
        return;
    }
    snprintf(what, sizeof what, "%s %s%+" PRId64 " at 0x%" PRIx64, a64_name(r->type, tn, sizeof tn),
             r->name, r->A, r->P);
    cr_assert(r->tls || d.value == TV_LD, "%s: not a TLS symbol of the objects", what);
    uint32_t orig = (uint32_t)r->orig;
    uint32_t w = insn_at(m, what, r->P, orig, field_mask(&d, orig));
    int slot = d.value == TV_IE || d.value == TV_GD || d.value == TV_LD || d.value == TV_DESC;
    uint64_t key = d.value == TV_LD ? 0 : r->key;
    unsigned len = d.value == TV_IE ? 8 : 16;
    if (first) {
        if (!slot)
            return;
        uint64_t G;
        if (d.field == TF_ADR)
            G = r->P + (uint64_t)dec_adr(w);
        else if (d.field == TF_PREL19)
            G = r->P + (uint64_t)dec_imm19(w);
        else if (d.field == TF_ADRP) {
            const placed_rela *lo = NULL;
            for (size_t i = 0; i < k->ps->n; i++) {
                const placed_rela *c = &k->ps->r[i];
                tls_type cd = {0, 0, 0, 0};
                if (c->oi == r->oi && c->shndx == r->shndx && c->off > r->off &&
                    c->symidx == r->symidx && c->A == r->A && a64_tls_type(c->type, &cd) &&
                    cd.value == d.value && (cd.field == TF_ADD_LO12 || cd.field == TF_LDST) &&
                    (!lo || c->off < lo->off))
                    lo = c;
            }
            cr_assert_not_null(lo, "%s: no low-12 partner", what);
            tls_type ld = {0, 0, 0, 0};
            a64_tls_type(lo->type, &ld);
            G = page4k(r->P) + (uint64_t)dec_adrp(w) + lo12_of(&ld, rd32(m, lo->P));
        } else {
            return; /* MOVW: G - GOT, not met in compiler output */
        }
        slot_note(&k->slots, key, d.value, G, len, what);
        return;
    }
    tls_c_seen(k, r->type);
    uint64_t X = (d.value == TV_TP ? k->T : 0) + r->S + (uint64_t)r->A;
    if (slot) {
        uint64_t G = slot_find(&k->slots, key, d.value);
        cr_assert_neq(G, 0, "%s: no slot found for it", what);
        switch (d.value) {
        case TV_IE:
            cr_expect_eq(rd64(m, G), k->T + r->S, "%s: the slot at 0x%" PRIx64, what, G);
            break;
        case TV_GD:
            cr_expect(rd64(m, G) == 1 && rd64(m, G + 8) == r->S,
                      "%s: the pair at 0x%" PRIx64 " holds {0x%" PRIx64 ", 0x%" PRIx64 "}", what,
                      G, rd64(m, G), rd64(m, G + 8));
            break;
        case TV_LD:
            cr_expect(rd64(m, G) == 1 && rd64(m, G + 8) == 0, "%s: the module's pair", what);
            break;
        default:
            cr_expect(rd64(m, G) == 0 && rd64(m, G + 8) == k->T + r->S,
                      "%s: the descriptor at 0x%" PRIx64 " holds {0x%" PRIx64 ", 0x%" PRIx64 "}",
                      what, G, rd64(m, G), rd64(m, G + 8));
            break;
        }
        if (d.field == TF_ADD_LO12 || d.field == TF_LDST)
            cr_expect_eq(lo12_of(&d, w), G & 0xfff, "%s: low 12 bits of the slot", what);
        else if (d.field == TF_ADRP)
            cr_expect_eq(page4k(r->P) + (uint64_t)dec_adrp(w), page4k(G), "%s: page", what);
        else if (d.field == TF_MOVW)
            cr_expect_fail("%s: MOVW against a slot (not expected from compilers)", what);
        return;
    }
    switch (d.field) {
    case TF_ADD_HI12:
        cr_expect_eq(dec_imm12(w), (X >> 12) & 0xfff, "%s: X 0x%" PRIx64, what, X);
        break;
    case TF_ADD_LO12:
    case TF_LDST:
        cr_expect_eq(lo12_of(&d, w), X & 0xfff, "%s: X 0x%" PRIx64, what, X);
        break;
    case TF_MOVW:
        expect_movw(m, what, r->P, orig, d.arg, (int64_t)X, d.is_signed);
        break;
    case TF_NONE:
        cr_expect_eq(w, orig, "%s: a marker wrote", what);
        break;
    default:
        cr_expect_fail("%s: unexpected field", what);
    }
}

/* Variant I: T = align_up(16, align). */
static uint64_t a64_tp_offset(const tls_block *b)
{
    return align_up(16, b->align);
}

/* tls_c_VARIANT.o + tls_c2_VARIANT.o (../tls_c.c, ../tls_c2.c): every TLS
 * relocation of their code checked from the AAELF64 formula, every type
 * of WANT (0-terminated) met: tls_check_c(&a64_tls_c, VARIANT, WANT)
 * (../harness.c). */
static const tls_c_arch a64_tls_c = {
    .tga_off = 64 * MIB,
    .tp_offset = a64_tp_offset,
    .passes = 2,
    .check_one = a64_check_one,
    .min_checked = 10,
    .first_type = 512,
};

Test(reloc_aarch64, tls_c_gcc_pic)
{
    const uint32_t want[] = {R_AARCH64_TLSDESC_ADR_PAGE21, R_AARCH64_TLSDESC_LD64_LO12,
                             R_AARCH64_TLSDESC_ADD_LO12, R_AARCH64_TLSDESC_CALL,
                             R_AARCH64_TLSIE_ADR_GOTTPREL_PAGE21,
                             R_AARCH64_TLSIE_LD64_GOTTPREL_LO12_NC,
                             R_AARCH64_TLSLE_ADD_TPREL_HI12, R_AARCH64_TLSLE_ADD_TPREL_LO12_NC, 0};
    tls_check_c(&a64_tls_c, "pic", want);
}

Test(reloc_aarch64, tls_c_gcc_nopic)
{
    const uint32_t want[] = {R_AARCH64_TLSLE_ADD_TPREL_HI12, R_AARCH64_TLSLE_ADD_TPREL_LO12_NC,
                             R_AARCH64_TLSIE_ADR_GOTTPREL_PAGE21, R_AARCH64_TLSDESC_ADR_PAGE21,
                             0};
    tls_check_c(&a64_tls_c, "nopic", want);
}

Test(reloc_aarch64, tls_c_gcc_trad_pic)
{
    const uint32_t want[] = {R_AARCH64_TLSGD_ADR_PAGE21, R_AARCH64_TLSGD_ADD_LO12_NC,
                             R_AARCH64_TLSIE_ADR_GOTTPREL_PAGE21, R_AARCH64_TLSLE_ADD_TPREL_HI12,
                             0};
    tls_check_c(&a64_tls_c, "trad_pic", want);
}

Test(reloc_aarch64, tls_c_gcc_trad_nopic)
{
    const uint32_t want[] = {R_AARCH64_TLSGD_ADR_PAGE21, R_AARCH64_TLSLE_ADD_TPREL_HI12, 0};
    tls_check_c(&a64_tls_c, "trad_nopic", want);
}

Test(reloc_aarch64, tls_c_gcc_large_nopic)
{
    const uint32_t want[] = {R_AARCH64_TLSLE_ADD_TPREL_HI12, R_AARCH64_TLSIE_ADR_GOTTPREL_PAGE21,
                             0};
    tls_check_c(&a64_tls_c, "large_nopic", want);
}

Test(reloc_aarch64, tls_c_gcc_tls_size32)
{
    const uint32_t want[] = {R_AARCH64_TLSLE_MOVW_TPREL_G1, R_AARCH64_TLSLE_MOVW_TPREL_G0_NC,
                             R_AARCH64_TLSGD_ADR_PAGE21, 0};
    tls_check_c(&a64_tls_c, "tls_size32", want);
}

Test(reloc_aarch64, tls_c_gcc_tls_size48)
{
    const uint32_t want[] = {R_AARCH64_TLSLE_MOVW_TPREL_G1, R_AARCH64_TLSLE_MOVW_TPREL_G0_NC,
                             R_AARCH64_TLSDESC_ADR_PAGE21, 0};
    tls_check_c(&a64_tls_c, "tls_size48", want);
}

Test(reloc_aarch64, tls_c_gcc_O0g)
{
    const uint32_t want[] = {R_AARCH64_TLSDESC_ADR_PAGE21, R_AARCH64_TLSIE_ADR_GOTTPREL_PAGE21, 0};
    tls_check_c(&a64_tls_c, "O0g", want);
}

#if EJ_A64_HAVE_CLANG
Test(reloc_aarch64, tls_c_clang_pic)
{
    const uint32_t want[] = {R_AARCH64_TLSDESC_ADR_PAGE21, R_AARCH64_TLSDESC_CALL,
                             R_AARCH64_TLSIE_ADR_GOTTPREL_PAGE21, R_AARCH64_TLSLE_ADD_TPREL_HI12,
                             0};
    tls_check_c(&a64_tls_c, "clang_pic", want);
}

Test(reloc_aarch64, tls_c_clang_nopic)
{
    const uint32_t want[] = {R_AARCH64_TLSLE_ADD_TPREL_HI12, R_AARCH64_TLSLE_ADD_TPREL_LO12_NC,
                             R_AARCH64_TLSIE_ADR_GOTTPREL_PAGE21, 0};
    tls_check_c(&a64_tls_c, "clang_nopic", want);
}
#endif

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
static int section_base(ej_module *m, const obj *e, size_t shndx, uint64_t *base)
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
    obj e;
    obj_open(&e, path);
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
    obj_free(&e);
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
