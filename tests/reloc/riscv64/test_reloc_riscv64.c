/* riscv64 relocations, checked by decoding the relocated instructions and
 * data of link-only links.
 *
 * The fixtures (tests/reloc/riscv64) come from the riscv64 cross toolchain
 * at build time.  Each test links them with ej_linker_set_base() at a low
 * and at a high fake base, places undefined symbols where a case needs them
 * with the resolver, and compares what ej_module_read() shows with the
 * psABI formula computed here from ej_module_symbol() addresses.  The
 * instruction decoders below are written from the ISA manual's formats,
 * independently of src/reloc/riscv64.c.  Nothing is executed: this runs on
 * any host.
 *
 * gas 2.40 cannot emit a few types (SET_ULEB128, SUB_ULEB128, PLT32, the
 * GP-relative ones); their fixtures are written with stand-in types that
 * the tests rewrite in a copy of the object, which is then linked from
 * memory.  Range limits use the same trick for addends: a relocation
 * against its own place (`field + A`) has the value A whatever the base.
 *
 * The test of every type (relocs.s + other.s) and the PCREL_LO12 pairing
 * test (pairs.S) state their expectations as `check:` lines next to the
 * instructions of the fixtures, evaluated by the shared harness
 * (../harness.c) with the decoders registered below (rh_arch_desc).
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

#define FX(name) EJ_RV_FIXTURE_DIR "/" name
#define FAR (100 * GIB)
#define INIT_VALUE ((uint64_t)0x1122334455667788) /* relocs.s fields */
#define SENTINEL 0xa5

/* The reach of a hi20/lo12 pair: hi20(v) = (v + 0x800) >> 12 fits 20 bits. */
#define HI20_MAX ((int64_t)0x7fffffff - 0x800)
#define HI20_MIN (-(int64_t)0x80000000 - 0x800)

/* ==================================================================== */
/* Instruction decoding (RISC-V unprivileged ISA, "Base Instruction      */
/* Formats" and "Compressed Instruction Formats").                      */
/* ==================================================================== */

static uint32_t bits(uint32_t w, unsigned hi, unsigned lo)
{
    return (w >> lo) & ((1u << (hi - lo + 1)) - 1);
}

static int64_t dec_i(uint32_t w)
{
    return sext(bits(w, 31, 20), 12);
}

static int64_t dec_s(uint32_t w)
{
    return sext(bits(w, 31, 25) << 5 | bits(w, 11, 7), 12);
}

static int64_t dec_b(uint32_t w)
{
    return sext(bits(w, 31, 31) << 12 | bits(w, 7, 7) << 11 | bits(w, 30, 25) << 5 |
                bits(w, 11, 8) << 1, 13);
}

static int64_t dec_j(uint32_t w)
{
    return sext(bits(w, 31, 31) << 20 | bits(w, 19, 12) << 12 | bits(w, 20, 20) << 11 |
                bits(w, 30, 21) << 1, 21);
}

/* lui/auipc: the immediate as added to the register, sign-extended. */
static int64_t dec_u(uint32_t w)
{
    return sext(w & 0xfffff000u, 32);
}

/* c.beqz/c.bnez: offset[8|4:3] = [12|11:10], offset[7:6|2:1|5] = [6:5|4:3|2]. */
static int64_t dec_cb(uint16_t h)
{
    return sext(bits(h, 12, 12) << 8 | bits(h, 11, 10) << 3 | bits(h, 6, 5) << 6 |
                bits(h, 4, 3) << 1 | bits(h, 2, 2) << 5, 9);
}

/* c.j: offset[11|4|9:8|10|6|7|3:1|5] = [12|11|10:9|8|7|6|5:3|2]. */
static int64_t dec_cj(uint16_t h)
{
    return sext(bits(h, 12, 12) << 11 | bits(h, 11, 11) << 4 | bits(h, 10, 9) << 8 |
                bits(h, 8, 8) << 10 | bits(h, 7, 7) << 6 | bits(h, 6, 6) << 7 |
                bits(h, 5, 3) << 1 | bits(h, 2, 2) << 5, 12);
}

/* What auipc/lui must hold for a pair reaching V: (V + 0x800) >> 12,
 * shifted back. */
static int64_t hi_part(int64_t v)
{
    return sext(((uint64_t)v + 0x800) >> 12 << 12, 32);
}

static int is_auipc(uint32_t w, unsigned rd)
{
    return (w & 0xfff) == (0x17u | rd << 7);
}

/* Non-immediate bits of an instruction, by format. */
#define KEEP_U 0x00000fffu
#define KEEP_I 0x000fffffu
#define KEEP_SB 0x01fff07fu
#define KEEP_CB 0xe383u
#define KEEP_CJ 0xe003u

/* auipc at HI, I- or S-type user at LO: the address the pair computes. */
static uint64_t pair_target(ej_module *m, uint64_t hi, uint64_t lo, int stype)
{
    uint32_t a = rd32(m, hi), l = rd32(m, lo);
    cr_assert_eq(a & 0x7f, 0x17, "no auipc at 0x%" PRIx64 ": 0x%08x", hi, a);
    return hi + (uint64_t)dec_u(a) + (uint64_t)(stype ? dec_s(l) : dec_i(l));
}

/* ---- stubs and the GOT ---------------------------------------------- */

/* ---- what the harness needs to know about riscv64 ------------------- */

/* A stub: auipc t3, hi; ld t3, lo(t3); jalr x0, 0(t3); ebreak. */
static int rv_stub_shape(ej_module *m, uint64_t L)
{
    uint32_t w[4];
    rd(m, L, w, sizeof w);
    return is_auipc(w[0], 28) && (w[1] & KEEP_I) == 0xe3e03 && w[2] == 0x000e0067 &&
           w[3] == 0x00100073;
}

static uint64_t rv_stub_slot(ej_module *m, uint64_t L)
{
    return pair_target(m, L, L + 4, 0);
}

/* The only 8-byte-aligned word of the image equal to V (a GOT slot holding
 * a far address no code or data contains). */
static uint64_t find_word(ej_module *m, uint64_t v)
{
    uint64_t start, end, found = 0;
    int count = 0;
    ej_module_range(m, &start, &end);
    for (uint64_t a = start; a + 8 <= end; a += 8)
        if (rd64(m, a) == v) {
            found = a;
            count++;
        }
    cr_assert_eq(count, 1, "%d words hold 0x%" PRIx64 ", want 1", count, v);
    return found;
}

/* ---- check-line functions (see relocs.s) ----------------------------- */

#define RV_FN(fname) static uint64_t fname(rh_ctx *c, const uint64_t *a, const char *const *n)

static uint32_t chk_word(rh_ctx *c, uint64_t a)
{
    return (uint32_t)rh_read(c, a, 4);
}

/* decode_call(p, rd, link): the auipc rd + jalr link, rd(rd) pair at P:
 * where it goes. */
RV_FN(f_decode_call)
{
    (void)n;
    unsigned rd = (unsigned)a[1], link = (unsigned)a[2];
    uint32_t w0 = chk_word(c, a[0]), w1 = chk_word(c, a[0] + 4);
    if (!is_auipc(w0, rd))
        return rh_fail(c, "0x%" PRIx64 ": 0x%08x is not auipc x%u", a[0], w0, rd);
    if ((w1 & KEEP_I) != (0x67u | link << 7 | rd << 15))
        return rh_fail(c, "0x%" PRIx64 ": 0x%08x is not jalr x%u, x%u", a[0] + 4, w1, link, rd);
    return a[0] + (uint64_t)dec_u(w0) + (uint64_t)dec_i(w1);
}

/* The targets of jal (J-type), branches (B-type), c.beqz/c.bnez, c.j. */
RV_FN(f_decode_jal) { (void)n; return a[0] + (uint64_t)dec_j(chk_word(c, a[0])); }
RV_FN(f_decode_branch) { (void)n; return a[0] + (uint64_t)dec_b(chk_word(c, a[0])); }
RV_FN(f_decode_cb) { (void)n; return a[0] + (uint64_t)dec_cb((uint16_t)rh_read(c, a[0], 2)); }
RV_FN(f_decode_cj) { (void)n; return a[0] + (uint64_t)dec_cj((uint16_t)rh_read(c, a[0], 2)); }
/* Immediates, sign-extended: U-type (as added: imm << 12), I, S. */
RV_FN(f_decode_u) { (void)n; return (uint64_t)dec_u(chk_word(c, a[0])); }
RV_FN(f_decode_i) { (void)n; return (uint64_t)dec_i(chk_word(c, a[0])); }
RV_FN(f_decode_s) { (void)n; return (uint64_t)dec_s(chk_word(c, a[0])); }
/* decode_pcrel(hi, lo) / decode_pcrel_s(hi, lo): the address the auipc at
 * HI and the I-type (S-type) user at LO compute. */
static uint64_t pcrel(rh_ctx *c, const uint64_t *a, int stype)
{
    uint32_t hi = chk_word(c, a[0]), lo = chk_word(c, a[1]);
    if ((hi & 0x7f) != 0x17)
        return rh_fail(c, "no auipc at 0x%" PRIx64 ": 0x%08x", a[0], hi);
    return a[0] + (uint64_t)dec_u(hi) + (uint64_t)(stype ? dec_s(lo) : dec_i(lo));
}
RV_FN(f_decode_pcrel) { (void)n; return pcrel(c, a, 0); }
RV_FN(f_decode_pcrel_s) { (void)n; return pcrel(c, a, 1); }
/* is_auipc(p, rd): P holds auipc rd. */
RV_FN(f_is_auipc) { (void)n; return is_auipc(chk_word(c, a[0]), (unsigned)a[1]); }
/* hi_part(v): what auipc/lui must add for a pair reaching V. */
RV_FN(f_hi_part) { (void)c; (void)n; return (uint64_t)hi_part((int64_t)a[0]); }
/* nops(a, b): every byte from A to B is a nop or a c.nop. */
RV_FN(f_nops)
{
    (void)n;
    uint64_t p = a[0];
    while (p < a[1]) {
        uint16_t hw = (uint16_t)rh_read(c, p, 2);
        if ((hw & 3) == 3) {
            uint32_t w = chk_word(c, p);
            if (w != 0x00000013)
                return rh_fail(c, "0x%08x at 0x%" PRIx64 " is not a nop", w, p);
            p += 4;
        } else {
            if (hw != 0x0001)
                return rh_fail(c, "0x%04x at 0x%" PRIx64 " is not a c.nop", hw, p);
            p += 2;
        }
    }
    if (p != a[1])
        return rh_fail(c, "padding overruns 0x%" PRIx64, a[1]);
    return 1;
}

static const rh_func rv_funcs[] = {
    {"decode_call", 3, f_decode_call},     {"decode_jal", 1, f_decode_jal},
    {"decode_branch", 1, f_decode_branch}, {"decode_cb", 1, f_decode_cb},
    {"decode_cj", 1, f_decode_cj},         {"decode_u", 1, f_decode_u},
    {"decode_auipc", 1, f_decode_u},       {"decode_i", 1, f_decode_i},
    {"decode_s", 1, f_decode_s},           {"decode_pcrel", 2, f_decode_pcrel},
    {"decode_pcrel_s", 2, f_decode_pcrel_s}, {"is_auipc", 2, f_is_auipc},
    {"hi_part", 1, f_hi_part},             {"nops", 2, f_nops},
};

const rh_arch rh_arch_desc = {
    .machine = EM_RISCV,
    .stub_size = 16,
    .stub_shape = rv_stub_shape,
    .stub_slot = rv_stub_slot,
    .field_fill = INIT_VALUE,
    .field_guard = 8,
    .funcs = rv_funcs,
    .nfuncs = sizeof rv_funcs / sizeof rv_funcs[0],
};

/* ==================================================================== */
/* Every type, against every kind of symbol (relocs.s + other.s): the   */
/* expectations are the check lines of the two sources.                 */
/* ==================================================================== */

/* Every byte from A to B is a nop or a c.nop. */
static void expect_nops(ej_module *m, uint64_t a, uint64_t b)
{
    while (a < b) {
        uint16_t hw = rd16(m, a);
        if ((hw & 3) == 3) {
            cr_expect_eq(rd32(m, a), 0x00000013, "nop at 0x%" PRIx64, a);
            a += 4;
        } else {
            cr_expect_eq(hw, 0x0001, "c.nop at 0x%" PRIx64, a);
            a += 2;
        }
    }
    cr_expect_eq(a, b, "padding overruns 0x%" PRIx64, b);
}

static void check_all_types(uint64_t base)
{
    static const struct {
        const char *name;
        uint64_t offset; /* from BASE; absolute when BASE_REL is 0 */
        int base_rel;
    } res[] = {
        {"far_func", FAR, 1},         {"far_data", 150 * GIB, 1},
        {"near_func", 0x20000000, 1}, {"small_res", 0x12345fff, 0},
        {"neg_res", 0xffffffff80001000, 0},
    };
    res_table rt = {0};
    for (size_t i = 0; i < sizeof res / sizeof res[0]; i++)
        res_set(&rt, res[i].name, res[i].offset + (res[i].base_rel ? base : 0));
    const obj objs[] = {fx("relocs.o"), fx("other.o")};
    ej_module *m = link_ok_(base, &rt, objs, 2);
    run_checks(m, base, &rt, objs, 2, "relocs.s", "other.s");
    ej_module_free(m);
}

Test(reloc_riscv64, all_types_low_base)
{
    check_all_types(LOW_BASE);
}

Test(reloc_riscv64, all_types_high_base)
{
    check_all_types(HIGH_BASE);
}

/* R_RISCV_ALIGN cuts the assembler's worst-case padding to what aligns
 * the code after it; symbols, sizes, relocation offsets and the addends
 * of references into the section move with the code. */
static void check_align(const char *fixture, unsigned insn)
{
    res_table rt = {0};
    ej_module *m = link_ok(HIGH_BASE, &rt, fx(fixture));
    uint64_t start = sym(m, "a_start"), a8 = sym(m, "a8"), a32 = sym(m, "a32");
    uint64_t a4k = sym(m, "a4k"), refs = sym(m, "a_refs");
    cr_expect_eq(start, HIGH_BASE);
    cr_expect_eq(a8, (start + insn + 7) & ~(uint64_t)7, "a8 at 0x%" PRIx64, a8);
    cr_expect_eq(a32, (a8 + insn + 31) & ~(uint64_t)31, "a32 at 0x%" PRIx64, a32);
    uint64_t mid = a32 + 2 * insn; /* nop, addi (c.nop, c.addi with RVC) */
    cr_expect_eq(a4k, (mid + insn + 4095) & ~(uint64_t)4095, "a4k at 0x%" PRIx64, a4k);
    expect_nops(m, start + insn, a8);
    expect_nops(m, a8 + insn, a32);
    expect_nops(m, mid + insn, a4k);
    cr_expect_eq(rd32(m, a4k + insn) & 0xffff, insn == 2 ? 0x8082 : 0x8067, "ret after a4k");
    uint64_t end;
    ej_module_range(m, &start, &end);
    cr_expect_lt(a4k, HIGH_BASE + 8192, "the padding was cut (a4k at 0x%" PRIx64 ")", a4k);
    cr_expect_eq(rd64(m, refs), a8);
    cr_expect_eq(rd64(m, refs + 8), a32);
    cr_expect_eq(rd64(m, refs + 16), a4k);
    cr_expect_eq(rd64(m, refs + 24), mid, ".Lmid");
    cr_expect_eq(rd64(m, refs + 32), mid + 2, ".Lmid + 2");
    ej_module_free(m);
}

Test(reloc_riscv64, align_padding_cut_to_fit)
{
    check_align("align.o", 2);
    check_align("align_norvc.o", 4);
}

/* Regression (issue 9, high): two R_RISCV_ALIGN paddings that overlap
 * (the second moved onto the first, as in a hostile object) made the
 * planned cuts overlap, and cutting copied a negative length (heap
 * overflow, ASan negative-size-param).  Now refused, naming both. */
typedef struct align_find {
    size_t first_idx;    /* the .p2align 3 padding... */
    uint64_t second_off; /* ...moved onto the .p2align 5 one (NOPs there too) */
    int seen;
} align_find;

static void do_align_find(Elf64_Rela *r, size_t idx, void *ctx)
{
    align_find *e = ctx;
    if (ELF64_R_TYPE(r->r_info) != R_RISCV_ALIGN)
        return;
    if (e->seen++ == 0)
        e->first_idx = idx;
    else if (e->seen == 2)
        e->second_off = r->r_offset;
}

static void do_align_move(Elf64_Rela *r, size_t idx, void *ctx)
{
    const align_find *e = ctx;
    if (idx == e->first_idx)
        r->r_offset = e->second_off;
}

Test(reloc_riscv64, overlapping_align_paddings_are_refused)
{
    for (int v = 0; v < 2; v++) {
        obj o = fx_copy(v ? "align_norvc.o" : "align.o");
        align_find e = {0};
        each_rela(&o, do_align_find, &e);
        cr_assert_geq(e.seen, 2, "%s has %d R_RISCV_ALIGN relocations", o.name, e.seen);
        each_rela(&o, do_align_move, &e);
        char msg[1024];
        link_fails(HIGH_BASE, NULL, EJ_BADELF, msg, o);
        expect_msg(msg, o.name);
        expect_msg(msg, ".text+0x");
        expect_msg(msg, "R_RISCV_ALIGN");
        expect_msg(msg, "overlap");
        obj_free(&o);
    }
}

Test(reloc_riscv64, link_only_module_is_not_run)
{
    res_table rt = {0};
    res_set(&rt, "tgt", LOW_BASE + 0x100);
    ej_module *m = link_ok(LOW_BASE, &rt, fx("range_branch.o"));
    cr_expect_eq(ej_module_init(m, 0, NULL, NULL), EJ_STATE);
    ej_module_free(m);
}

/* ==================================================================== */
/* Limits: just inside and just outside each range.                     */
/* ==================================================================== */

/* What a range object (range.S) holds at `field`, by INSN. */
typedef enum kind {
    K_B,    /* beq x0, x0: B-type */
    K_J,    /* jal x0: J-type */
    K_CALL, /* auipc ra + jalr ra, ra */
    K_AUIPC,
    K_LUI,
    K_CB,   /* c.beqz a0 */
    K_CJ,   /* c.j */
    K_W32,  /* .word: the low 32 bits */
    K_LO_I, /* addi a0, a0 */
    K_LO_S, /* sw a1, (a0) */
} kind;

static unsigned kind_width(kind k)
{
    switch (k) {
    case K_CALL:
        return 8;
    case K_CB:
    case K_CJ:
        return 2;
    default:
        return 4;
    }
}

/* The unrelocated instruction (range.S) of kind K: every immediate bit set. */
static uint64_t kind_insn(kind k)
{
    static const uint64_t insn[] = {
        [K_B] = 0xfe000fe3, [K_J] = 0xfffff06f, [K_CALL] = 0xfff080e7fffff097,
        [K_AUIPC] = 0xfffff517, [K_LUI] = 0xfffff537, [K_CB] = 0xdd7d, [K_CJ] = 0xbffd,
        [K_W32] = 0, [K_LO_I] = 0xfff50513, [K_LO_S] = 0xfeb52fa3,
    };
    return insn[k];
}

/* The field of kind K at P holds value V: decode, compare, and check that
 * the non-immediate bits and the sentinel after the field are intact. */
static void check_kind(ej_module *m, kind k, const char *what, uint64_t P, int64_t v)
{
    uint64_t orig = kind_insn(k);
    uint32_t w = rd32(m, P);
    uint16_t h = (uint16_t)w;
    switch (k) {
    case K_B:
        cr_expect_eq(w & KEEP_SB, orig & KEEP_SB, "%s: 0x%08x", what, w);
        cr_expect_eq(dec_b(w), v, "%s: B-type 0x%08x holds %" PRId64 ", want %" PRId64, what, w,
                     dec_b(w), v);
        break;
    case K_J:
        cr_expect_eq(w & KEEP_U, orig & KEEP_U, "%s: 0x%08x", what, w);
        cr_expect_eq(dec_j(w), v, "%s: J-type 0x%08x holds %" PRId64 ", want %" PRId64, what, w,
                     dec_j(w), v);
        break;
    case K_CALL: {
        uint32_t j = rd32(m, P + 4);
        cr_expect(is_auipc(w, 1) && (j & KEEP_I) == 0x080e7, "%s: %08x %08x", what, w, j);
        cr_expect_eq(dec_u(w) + dec_i(j), v, "%s: auipc+jalr %08x %08x reach %" PRId64
                     ", want %" PRId64, what, w, j, dec_u(w) + dec_i(j), v);
        break;
    }
    case K_AUIPC:
    case K_LUI:
        cr_expect_eq(w & KEEP_U, orig & KEEP_U, "%s: 0x%08x", what, w);
        cr_expect_eq(dec_u(w), hi_part(v), "%s: U-type 0x%08x holds 0x%" PRIx64 ", want hi20 "
                     "of 0x%" PRIx64, what, w, (uint64_t)dec_u(w), (uint64_t)v);
        break;
    case K_CB:
        cr_expect_eq(h & KEEP_CB, orig & KEEP_CB, "%s: 0x%04x", what, h);
        cr_expect_eq(dec_cb(h), v, "%s: CB-type 0x%04x holds %" PRId64 ", want %" PRId64, what,
                     h, dec_cb(h), v);
        break;
    case K_CJ:
        cr_expect_eq(h & KEEP_CJ, orig & KEEP_CJ, "%s: 0x%04x", what, h);
        cr_expect_eq(dec_cj(h), v, "%s: CJ-type 0x%04x holds %" PRId64 ", want %" PRId64, what,
                     h, dec_cj(h), v);
        break;
    case K_W32:
        cr_expect_eq(w, (uint32_t)v, "%s: 0x%08x, want 0x%08x", what, w, (uint32_t)v);
        break;
    case K_LO_I:
        cr_expect_eq(w & KEEP_I, orig & KEEP_I, "%s: 0x%08x", what, w);
        cr_expect_eq(dec_i(w), sext((uint64_t)v, 12), "%s: I-type 0x%08x", what, w);
        break;
    case K_LO_S:
        cr_expect_eq(w & KEEP_SB, orig & KEEP_SB, "%s: 0x%08x", what, w);
        cr_expect_eq(dec_s(w), sext((uint64_t)v, 12), "%s: S-type 0x%08x", what, w);
        break;
    }
    uint8_t after[16];
    rd(m, P + kind_width(k), after, sizeof after);
    for (unsigned i = 0; i < sizeof after; i++)
        cr_expect_eq(after[i], SENTINEL, "%s: byte %u after the field changed", what, i);
}

static void expect_range_msg(const char *msg, const char *objname, const char *type,
                             const char *symname)
{
    char q[80];
    snprintf(q, sizeof q, "'%s'", symname);
    expect_msg(msg, objname);
    expect_msg(msg, ".text+0x10");
    expect_msg(msg, type);
    expect_msg(msg, q);
    expect_msg(msg, "out of range");
}

/* A range object against the resolver's `tgt`: VALUE is S + A - P (PCREL)
 * or S + A; tgt is placed to give it. */
typedef struct range_case {
    const char *obj;
    const char *type;
    kind k;
    int64_t addend; /* as assembled (CMakeLists.txt) */
    int pcrel;
    int64_t in[2], out[2];
} range_case;

static uint64_t tgt_for(const range_case *c, uint64_t P, int64_t v)
{
    return (uint64_t)v - (uint64_t)c->addend + (c->pcrel ? P : 0);
}

static void check_range(const range_case *c)
{
    char msg[1024];
    for (size_t bi = 0; bi < 2; bi++) {
        uint64_t base = bases[bi], P = base + 0x10;
        res_table rt = {0};
        for (int k = 0; k < 2; k++) {
            res_set(&rt, "tgt", tgt_for(c, P, c->in[k]));
            ej_module *m = link_ok(base, &rt, fx(c->obj));
            cr_assert_eq(sym(m, "field"), P, "field is at .text+0x10");
            check_kind(m, c->k, c->type, P, c->in[k]);
            ej_module_free(m);
        }
        for (int k = 0; k < 2; k++) {
            res_set(&rt, "tgt", tgt_for(c, P, c->out[k]));
            link_fails(base, &rt, EJ_RANGE, msg, fx(c->obj));
            expect_range_msg(msg, c->obj, c->type, "tgt");
        }
    }
}

/* A range object against its own place (SYM=field): the value is the
 * addend, set in a copy of the object. */
static void check_range_self(const char *objname, const char *type, kind k, const int64_t in[2],
                             const int64_t out[2], uint32_t retype_from, uint32_t retype_to)
{
    char msg[1024];
    for (size_t bi = 0; bi < 2; bi++) {
        uint64_t base = bases[bi], P = base + 0x10;
        for (int i = 0; i < 4; i++) {
            int64_t v = i < 2 ? in[i] : out[i - 2];
            obj o = fx_copy(objname);
            if (retype_from != retype_to)
                retype(&o, retype_from, retype_to);
            set_addend(&o, 0, v);
            if (i < 2) {
                ej_module *m = link_ok(base, NULL, o);
                cr_assert_eq(sym(m, "field"), P);
                check_kind(m, k, type, P, v);
                ej_module_free(m);
            } else {
                link_fails(base, NULL, EJ_RANGE, msg, o);
                expect_range_msg(msg, objname, type, "field");
            }
            obj_free(&o);
        }
    }
}

Test(reloc_riscv64, range_branch)
{
    range_case c = {"range_branch.o", "R_RISCV_BRANCH", K_B, 0x10, 1,
                    {4094, -4096}, {4096, -4098}};
    check_range(&c);
}

Test(reloc_riscv64, range_rvc_branch)
{
    range_case c = {"range_rvc_branch.o", "R_RISCV_RVC_BRANCH", K_CB, 0x10, 1,
                    {254, -256}, {256, -258}};
    check_range(&c);
}

Test(reloc_riscv64, range_rvc_jump)
{
    range_case c = {"range_rvc_jump.o", "R_RISCV_RVC_JUMP", K_CJ, 0x10, 1,
                    {2046, -2048}, {2048, -2050}};
    check_range(&c);
}

Test(reloc_riscv64, range_jal)
{
    /* Against a symbol of the image (no stub can help). */
    const int64_t in[2] = {0xffffe, -0x100000}, out[2] = {0x100000, -0x100002};
    check_range_self("range_jal_self.o", "R_RISCV_JAL", K_J, in, out, 0, 0);
}

Test(reloc_riscv64, range_call)
{
    /* The exact auipc+jalr reach, against a symbol of the image. */
    const int64_t in[2] = {HI20_MAX, HI20_MIN}, out[2] = {HI20_MAX + 1, HI20_MIN - 1};
    check_range_self("range_call_self.o", "R_RISCV_CALL_PLT", K_CALL, in, out, 0, 0);
    /* R_RISCV_CALL (18), the deprecated spelling, behaves the same. */
    check_range_self("range_call_self.o", "R_RISCV_CALL", K_CALL, in, out, R_RISCV_CALL_PLT,
                     R_RISCV_CALL);
}

Test(reloc_riscv64, range_pcrel_hi20)
{
    const int64_t in[2] = {HI20_MAX, HI20_MIN}, out[2] = {HI20_MAX + 1, HI20_MIN - 1};
    check_range_self("range_pcrel_self.o", "R_RISCV_PCREL_HI20", K_AUIPC, in, out, 0, 0);
    /* Against external data (a resolver address dladdr does not know as a
     * function): no stub, the same limits. */
    range_case c = {"range_pcrel_hi.o", "R_RISCV_PCREL_HI20", K_AUIPC, 0x10, 1,
                    {HI20_MAX, HI20_MIN}, {HI20_MAX + 1, HI20_MIN - 1}};
    check_range(&c);
}

Test(reloc_riscv64, range_32_pcrel)
{
    const int64_t in[2] = {INT32_MAX, INT32_MIN};
    const int64_t out[2] = {(int64_t)INT32_MAX + 1, (int64_t)INT32_MIN - 1};
    range_case c = {"range_32_pcrel.o", "R_RISCV_32_PCREL", K_W32, 0x10, 1,
                    {INT32_MAX, INT32_MIN}, {out[0], out[1]}};
    check_range(&c);
    check_range_self("range_32_pcrel_self.o", "R_RISCV_32_PCREL", K_W32, in, out, 0, 0);
    /* R_RISCV_PLT32 (gas 2.40 has no name for it: a retyped 32_PCREL),
     * against a symbol of the image. */
    check_range_self("range_32_pcrel_self.o", "R_RISCV_PLT32", K_W32, in, out,
                     R_RISCV_32_PCREL, 59);
}

Test(reloc_riscv64, range_hi20_absolute)
{
    /* lui reaches [-2 GiB - 2 KiB, 2 GiB - 2 KiB) sign-extended. */
    range_case c = {"range_hi20.o", "R_RISCV_HI20", K_LUI, 0x10, 0,
                    {HI20_MAX, HI20_MIN}, {HI20_MAX + 1, HI20_MIN - 1}};
    check_range(&c);
}

Test(reloc_riscv64, range_32)
{
    /* A signed or an unsigned reading: [-2^31, 2^32). */
    range_case c = {"range_32.o", "R_RISCV_32", K_W32, -0x10, 0,
                    {UINT32_MAX, INT32_MIN}, {(int64_t)UINT32_MAX + 1, (int64_t)INT32_MIN - 1}};
    check_range(&c);
}

Test(reloc_riscv64, lo12_never_out_of_range)
{
    /* LO12_I/S take the low 12 bits of S + A, whatever it is (their HI20
     * carries the range). */
    const uint64_t values[] = {0x12345fff, 0x800, 0x7ff, FAR + 0x123, 0xffffffff80000801};
    const struct {
        const char *obj;
        kind k;
    } objs[] = {{"range_lo12_i.o", K_LO_I}, {"range_lo12_s.o", K_LO_S}};
    for (size_t o = 0; o < 2; o++)
        for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
            res_table rt = {0};
            res_set(&rt, "tgt", values[i] - 0x10);
            ej_module *m = link_ok(LOW_BASE, &rt, fx(objs[o].obj));
            check_kind(m, objs[o].k, objs[o].obj, LOW_BASE + 0x10, (int64_t)values[i]);
            ej_module_free(m);
        }
}

/* The SET types write S + A truncated to their field (by design: a SET is
 * the first half of a label difference, see riscv64_relocs.def), and
 * nothing beyond it: the largest value of the field, then the next one,
 * which wraps. */
Test(reloc_riscv64, set_field_widths)
{
    const struct {
        const char *obj;
        unsigned bits;
    } c[] = {{"range_set6.o", 6}, {"range_set8.o", 8}, {"range_set16.o", 16}, {"range_set32.o", 32}};
    for (size_t i = 0; i < 4; i++) {
        uint64_t max = ((uint64_t)1 << c[i].bits) - 1;
        const uint64_t values[] = {max, max + 1, max + 0x10000000000};
        for (size_t k = 0; k < 3; k++) {
            res_table rt = {0};
            res_set(&rt, "tgt", values[k]);
            ej_module *m = link_ok(LOW_BASE, &rt, fx(c[i].obj));
            unsigned width = c[i].bits == 6 ? 1 : c[i].bits / 8;
            check_bytes(m, c[i].obj, LOW_BASE + 0x10, width, values[k] & max, 0, 4);
            ej_module_free(m);
        }
    }
}

/* An absolute reference to the image itself (S = field + A): fits while
 * the image sits low enough.  LIMIT is the largest value that fits. */
static void check_image_abs(const char *objname, const char *type, kind k, uint64_t addend,
                            uint64_t limit)
{
    char msg[1024];
    ej_module *m = link_ok(LOW_BASE, NULL, fx(objname));
    uint64_t off = sym(m, "field") - LOW_BASE;
    check_kind(m, k, type, LOW_BASE + off, (int64_t)(LOW_BASE + off + addend));
    ej_module_free(m);

    /* The highest base at which field + A still fits, and the next page. */
    uint64_t pg = page_size();
    uint64_t in = (limit - off - addend) / pg * pg;
    m = link_ok(in, NULL, fx(objname));
    cr_assert_eq(sym(m, "field"), in + off);
    check_kind(m, k, type, in + off, (int64_t)(in + off + addend));
    ej_module_free(m);

    uint64_t bad[] = {in + pg, HIGH_BASE};
    for (size_t i = 0; i < 2; i++) {
        link_fails(bad[i], NULL, EJ_RANGE, msg, fx(objname));
        expect_range_msg(msg, objname, type, "field");
    }
}

Test(reloc_riscv64, range_hi20_image)
{
    check_image_abs("range_hi20_img.o", "R_RISCV_HI20", K_LUI, 4, HI20_MAX);
}

Test(reloc_riscv64, range_32_image)
{
    check_image_abs("range_32_img.o", "R_RISCV_32", K_W32, 4, UINT32_MAX);
}

/* ==================================================================== */
/* Far targets: stubs and GOT slots.                                    */
/* ==================================================================== */

/* A call (CALL_PLT, CALL, JAL) to an external symbol: direct up to the
 * exact limits (IN_HI, IN_LO: values S + A - P), through the stub just
 * beyond them (OUT_HI, OUT_LO) and far away. */
static void check_call_or_stub(const char *objname, kind k, int64_t addend, int64_t in_hi,
                               int64_t out_hi, int64_t in_lo, int64_t out_lo)
{
    for (size_t bi = 0; bi < 2; bi++) {
        uint64_t base = bases[bi], P = base + 0x10;
        const struct {
            int64_t v;
            int direct;
        } cases[] = {
            {in_hi, 1}, {out_hi, 0}, {in_lo, 1}, {out_lo, 0}, {(int64_t)FAR, 0},
            {-(int64_t)GIB * 3, 0},
        };
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            uint64_t S = P + (uint64_t)cases[i].v - (uint64_t)addend;
            res_table rt = {0};
            res_set(&rt, "tgt", S);
            ej_module *m = link_ok(base, &rt, fx(objname));
            cr_assert_eq(sym(m, "field"), P);
            if (cases[i].direct) {
                check_kind(m, k, objname, P, cases[i].v);
            } else {
                /* L + A - P: the stub for tgt, whose slot holds S. */
                int64_t got = k == K_CALL ? dec_u(rd32(m, P)) + dec_i(rd32(m, P + 4))
                                          : dec_j(rd32(m, P));
                check_stub(m, P + (uint64_t)got - (uint64_t)addend, S);
                check_kind(m, k, objname, P, got);
            }
            ej_module_free(m);
        }
    }
}

Test(reloc_riscv64, call_far_through_stub)
{
    check_call_or_stub("range_call.o", K_CALL, 0x10, HI20_MAX, HI20_MAX + 1, HI20_MIN,
                       HI20_MIN - 1);
    check_call_or_stub("range_call_dep.o", K_CALL, 0x10, HI20_MAX, HI20_MAX + 1, HI20_MIN,
                       HI20_MIN - 1);
}

Test(reloc_riscv64, jal_far_through_stub)
{
    check_call_or_stub("range_jal.o", K_J, 0x10, 0xffffe, 0x100000, -0x100000, -0x100002);
}

Test(reloc_riscv64, plt32_far_through_stub)
{
    /* R_RISCV_PLT32 to an external function out of reach: L + A - P. */
    for (size_t bi = 0; bi < 2; bi++) {
        uint64_t base = bases[bi], P = base + 0x10;
        obj o = fx_copy("range_32_pcrel.o");
        retype(&o, R_RISCV_32_PCREL, 59);
        const uint64_t targets[] = {P + INT32_MAX - 0x10, P + FAR};
        for (size_t i = 0; i < 2; i++) {
            res_table rt = {0};
            res_set(&rt, "tgt", targets[i]);
            ej_module *m = link_ok(base, &rt, o);
            int64_t v = (int32_t)rd32(m, P);
            if (i == 0)
                cr_expect_eq(v, INT32_MAX, "direct at the limit");
            else
                check_stub(m, P + (uint64_t)v - 0x10, targets[i]);
            ej_module_free(m);
        }
        obj_free(&o);
    }
}

Test(reloc_riscv64, pcrel_hi20_host_function_through_stub)
{
    /* PCREL_HI20 against a real host function (dladdr knows it) out of
     * reach: through a stub, as for calls.  The stub is the image's only
     * one. */
    void *abort_fn = dlsym(RTLD_DEFAULT, "abort");
    cr_assert_not_null(abort_fn);
    const uint64_t h_abort = (uint64_t)(uintptr_t)abort_fn;
    for (size_t bi = 0; bi < 2; bi++) {
        uint64_t P = bases[bi] + 0x10;
        if (h_abort - P + 0x80000000 < 0x100000000)
            continue; /* the host's libc is within 2 GiB of this base */
        res_table rt = {0};
        res_set(&rt, "tgt", h_abort);
        ej_module *m = link_ok(bases[bi], &rt, fx("range_pcrel_hi.o"));
        uint64_t stubs[4];
        cr_assert_eq(find_stubs(m, stubs, 4), 1);
        check_stub(m, stubs[0], h_abort);
        check_kind(m, K_AUIPC, "PCREL_HI20 to the stub", P, (int64_t)(stubs[0] + 0x10 - P));
        ej_module_free(m);
    }
}

Test(reloc_riscv64, got_hi20_far_through_slot)
{
    for (size_t bi = 0; bi < 2; bi++) {
        uint64_t base = bases[bi], P = base + 0x10;
        const uint64_t targets[] = {P + FAR, P - 64 * GIB, 0x1234};
        for (size_t i = 0; i < 3; i++) {
            res_table rt = {0};
            res_set(&rt, "tgt", targets[i]);
            ej_module *m = link_ok(base, &rt, fx("range_got_hi.o"));
            uint64_t G = find_word(m, targets[i]);
            cr_expect(G > P && G % 8 == 0, "GOT slot 0x%" PRIx64, G);
            check_kind(m, K_AUIPC, "GOT_HI20", P, (int64_t)(G - P));
            ej_module_free(m);
        }
    }
}

/* ==================================================================== */
/* PCREL_LO12 pairing by address (pairs.S).                             */
/* ==================================================================== */

/* OBJNAME (pairs.S, assembled one way or the other) at BASE: the check
 * lines of pairs.S. */
static void check_pairs(const char *objname, uint64_t base)
{
    res_table rt = {0};
    res_set(&rt, "pext", base + FAR);
    const obj o = fx(objname);
    ej_module *m = link_ok(base, &rt, o);
    run_checks(m, base, &rt, &o, 1, "pairs.S");
    ej_module_free(m);
}

Test(reloc_riscv64, pcrel_lo12_paired_by_address)
{
    for (size_t bi = 0; bi < 2; bi++) {
        check_pairs("pairs_norelax.o", bases[bi]);
        /* The same with R_RISCV_RELAX after every high part and LO12. */
        check_pairs("pairs.o", bases[bi]);
    }
}

/* ==================================================================== */
/* ULEB128 fields (uleb*.s: SET8/SUB8 stand for SET/SUB_ULEB128).        */
/* ==================================================================== */

static obj uleb_obj(const char *name)
{
    obj o = fx_copy(name);
    cr_assert_gt(retype_all(&o, R_RISCV_SET8, 60) + retype_all(&o, R_RISCV_SUB8, 61), 0);
    return o;
}

/* The LEN-byte ULEB128 at P must be VALUE, in exactly LEN bytes, followed by
 * the sentinel. */
static void check_uleb(ej_module *m, const char *what, uint64_t P, unsigned len, uint64_t value)
{
    uint8_t b[12];
    rd(m, P, b, sizeof b);
    uint64_t v = 0;
    for (unsigned i = 0; i < len; i++) {
        v |= (uint64_t)(b[i] & 0x7f) << (7 * i);
        cr_expect_eq(!!(b[i] & 0x80), i + 1 < len, "%s: continuation bit of byte %u", what, i);
    }
    cr_expect_eq(v, value, "%s: ULEB128 holds %" PRIu64 ", want %" PRIu64, what, v, value);
    for (unsigned i = len; i < sizeof b && i < len + 4; i++)
        cr_expect_eq(b[i], SENTINEL, "%s: byte %u after the field changed", what, i);
}

Test(reloc_riscv64, uleb128)
{
    for (size_t bi = 0; bi < 2; bi++) {
        obj o = uleb_obj("uleb.o");
        ej_module *m = link_ok(bases[bi], NULL, o);
        uint64_t diff = sym(m, "u_b") - sym(m, "u_a");
        cr_expect_eq(diff, 8 + 20 * 2, "u_b - u_a");
        check_uleb(m, "SET u_b, SUB u_a", sym(m, "f_uleb_diff"), 1, diff);
        check_uleb(m, "the same + 0x100 in 3 bytes", sym(m, "f_uleb_diff3"), 3, diff + 0x100);
        check_uleb(m, "SET alone", sym(m, "f_uleb_set"), 2, 30 + 3);
        check_uleb(m, "SUB alone from 1000", sym(m, "f_uleb_sub"), 2, 1000 - 30 - 1);
        ej_module_free(m);
        obj_free(&o);
    }
}

Test(reloc_riscv64, uleb128_field_widths)
{
    /* uleb_range.o: u_f1 (1 byte), u_f2 (2), u_f3 (3); relocations 0, 2, 4
     * are the SETs, whose addend is the value. */
    const char *names[] = {"u_f1", "u_f2", "u_f3"};
    char msg[1024], q[16];
    for (size_t bi = 0; bi < 2; bi++)
        for (unsigned f = 0; f < 3; f++) {
            int64_t max = ((int64_t)1 << (7 * (f + 1))) - 1;
            obj o = uleb_obj("uleb_range.o");
            set_addend(&o, 2 * f, max);
            ej_module *m = link_ok(bases[bi], NULL, o);
            check_uleb(m, names[f], sym(m, names[f]), f + 1, (uint64_t)max);
            ej_module_free(m);
            const int64_t bad[] = {max + 1, -1};
            for (int k = 0; k < 2; k++) {
                set_addend(&o, 2 * f, bad[k]);
                link_fails(bases[bi], NULL, EJ_RANGE, msg, o);
                snprintf(q, sizeof q, "'%s'", names[f]);
                expect_msg(msg, "uleb_range.o");
                expect_msg(msg, ".data+0x");
                expect_msg(msg, "R_RISCV_SUB_ULEB128");
                expect_msg(msg, q);
                expect_msg(msg, "out of range");
            }
            obj_free(&o);
        }
}

Test(reloc_riscv64, uleb128_past_section_end)
{
    char msg[1024];
    obj o = uleb_obj("uleb_end.o");
    link_fails(LOW_BASE, NULL, EJ_RELOC, msg, o);
    expect_msg(msg, "uleb_end.o");
    expect_msg(msg, ".data.uleb_end+0x2");
    expect_msg(msg, "R_RISCV_SET_ULEB128");
    expect_msg(msg, "runs past the end of the section");
    obj_free(&o);
}

/* ==================================================================== */
/* Refused relocations.                                                 */
/* ==================================================================== */

typedef struct bad_case {
    int n;            /* bad_N.o */
    const char *type; /* in the message */
    const char *why;
    const char *symname; /* NULL: not checked */
} bad_case;

static void check_bad(const bad_case *c, obj o)
{
    char msg[1024], q[80];
    res_table rt = {0};
    res_set(&rt, "tgt", LOW_BASE + 0x800);
    link_fails(LOW_BASE, &rt, EJ_RELOC, msg, o);
    expect_msg(msg, o.name);
    expect_msg(msg, ".text+0x10");
    expect_msg(msg, c->type);
    expect_msg(msg, c->why);
    if (c->symname) {
        snprintf(q, sizeof q, "'%s'", c->symname);
        expect_msg(msg, q);
    }
}

Test(reloc_riscv64, wrong_instruction_refused)
{
    static const bad_case cases[] = {
        {1, "R_RISCV_PCREL_HI20", "expected auipc at the place, found instruction 0x00050513", "tgt"},
        {2, "R_RISCV_CALL_PLT", "expected jalr after the auipc", "tgt"},
        {3, "R_RISCV_CALL_PLT", "does not jump through x1", "tgt"},
        {4, "R_RISCV_PCREL_LO12_I", "expected an I-type instruction", NULL},
        {5, "R_RISCV_PCREL_LO12_S", "expected an S-type instruction", NULL},
        {6, "R_RISCV_HI20", "expected lui", "tgt"},
        {7, "R_RISCV_BRANCH", "expected a conditional branch", "tgt"},
        {8, "R_RISCV_JAL", "expected jal", "tgt"},
        {9, "R_RISCV_RVC_BRANCH", "expected c.beqz or c.bnez", "tgt"},
        {10, "R_RISCV_RVC_JUMP", "expected c.j", "tgt"},
        {11, "R_RISCV_LO12_I", "expected an I-type instruction", "tgt"},
        {12, "R_RISCV_GOT_HI20", "expected auipc", "tgt"},
        {13, "R_RISCV_ALIGN", "the padding is not NOPs", NULL},
        {16, "R_RISCV_BRANCH", "is odd", NULL},
        {17, "R_RISCV_ALIGN", "do not fit", NULL},
        {18, "R_RISCV_LO12_S", "expected an S-type instruction", "tgt"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char name[32];
        snprintf(name, sizeof name, "bad_%d.o", cases[i].n);
        check_bad(&cases[i], fx(name));
    }
}

Test(reloc_riscv64, pcrel_lo12_without_high_part)
{
    /* The label of the LO12 has no relocation at all, or a call. */
    static const bad_case none = {14, "R_RISCV_PCREL_LO12_I",
                                  "no matching high-part relocation", ".L1"};
    static const bad_case call = {15, "R_RISCV_PCREL_LO12_I",
                                  "is R_RISCV_CALL_PLT, not R_RISCV_PCREL_HI20", ".L1"};
    check_bad(&none, fx("bad_14.o"));
    check_bad(&call, fx("bad_15.o"));
}

Test(reloc_riscv64, gp_relative_refused)
{
    /* GPREL_LO12_I/S and GPREL_HI20 (47-49): named, refused. */
    for (uint32_t t = 47; t <= 49; t++) {
        static const char *names[] = {"R_RISCV_GPREL_LO12_I", "R_RISCV_GPREL_LO12_S",
                                      "R_RISCV_GPREL_HI20"};
        bad_case c = {19, names[t - 47], "GP-relative relocations are not supported", "tgt"};
        obj o = fx_copy("bad_19.o");
        retype(&o, R_RISCV_NONE, t);
        check_bad(&c, o);
        obj_free(&o);
    }
}

Test(reloc_riscv64, unknown_type_refused_when_added)
{
    /* 200 (nonstandard), 46 (reserved, once RVC_LUI) and 66 (reserved). */
    const uint32_t types[] = {200, 46, 66};
    for (size_t i = 0; i < 3; i++) {
        obj o = fx_copy("range_branch.o");
        retype(&o, R_RISCV_BRANCH, types[i]);
        char want[64], msg[1024];
        snprintf(want, sizeof want, "unknown relocation type %u", types[i]);
        add_fails(&o, EJ_RELOC, msg);
        expect_msg(msg, want);
        expect_msg(msg, "range_branch.o");
        expect_msg(msg, ".text+0x10");
        expect_msg(msg, "riscv64");
        obj_free(&o);
    }
}

static void check_unsupported(const char *objname, const char *type, const char *symname,
                              const char *why)
{
    char msg[1024], q[128];
    res_table rt = {.autofill = LOW_BASE + FAR};
    link_fails(LOW_BASE, &rt, EJ_UNSUPPORTED, msg, fx(objname));
    snprintf(q, sizeof q, "'%s'", symname);
    expect_msg(msg, objname);
    expect_msg(msg, type);
    expect_msg(msg, q);
    expect_msg(msg, why);
}

Test(reloc_riscv64, dynamic_relocation_unsupported)
{
    check_unsupported("dyn.o", "R_RISCV_JUMP_SLOT", "tgt", "dynamic relocation");
}

/* The dynamic types are refused in an object. */
Test(reloc_riscv64, dynamic_types_refused)
{
    static const struct {
        uint32_t t;
        const char *name;
    } dyn[] = {{3, "R_RISCV_RELATIVE"}, {4, "R_RISCV_COPY"}, {5, "R_RISCV_JUMP_SLOT"},
               {6, "R_RISCV_TLS_DTPMOD32"}, {7, "R_RISCV_TLS_DTPMOD64"},
               {10, "R_RISCV_TLS_TPREL32"}, {11, "R_RISCV_TLS_TPREL64"},
               {12, "R_RISCV_TLSDESC"}, {58, "R_RISCV_IRELATIVE"}};
    char msg[1024];
    res_table rt = {0};
    res_set(&rt, "tgt", LOW_BASE + 0x800);
    for (size_t i = 0; i < sizeof dyn / sizeof dyn[0]; i++) {
        obj o = fx_copy("range_none.o");
        retype(&o, R_RISCV_NONE, dyn[i].t);
        link_fails(LOW_BASE, &rt, EJ_UNSUPPORTED, msg, o);
        expect_msg(msg, dyn[i].name);
        expect_msg(msg, "'tgt'");
        expect_msg(msg, "dynamic relocation");
        obj_free(&o);
    }
}

/* ==================================================================== */
/* Thread-local storage (link-only: an executable's own block, TLS      */
/* variant I with no TCB: T = 0; module id 1; offsets handed to         */
/* __tls_get_addr biased by -0x800).                                    */
/* ==================================================================== */

/* Every TLS type (tls.s + tls_other.s: the expectations are their check
 * lines; tls_check_all in ../harness.c), __tls_get_addr placed by the
 * resolver at an offset from the base. */
Test(reloc_riscv64, tls_all_types_low_base)
{
    tls_check_all(LOW_BASE, 0x20000000, NULL, 0);
}

Test(reloc_riscv64, tls_all_types_high_base)
{
    tls_check_all(HIGH_BASE, 0x20000000, NULL, 0);
}

Test(reloc_riscv64, tls_all_types_far_tls_get_addr)
{
    for (size_t bi = 0; bi < 2; bi++)
        tls_check_all(bases[bi], FAR, NULL, 0);
}

/* tls_site_<what>.o (tls_site.S) with its relocation rewritten to TYPE must
 * be refused with WANT, the message naming the object, the place, the type
 * (TNAME), the symbol and WHY (when not NULL); nothing stays mapped
 * (tls_refused_obj, ../harness.c). */
static void tls_refused(const char *objname, uint32_t type, const char *tname, const char *sym,
                        ej_status want, const char *why)
{
    obj o = fx_copy(objname);
    retype(&o, R_RISCV_NONE, type);
    res_table rt = {0};
    res_set(&rt, "ext_tv", LOW_BASE + 0x200000); /* an address: still not usable */
    tls_refused_obj(&o, &rt, want, ".text+0x10", tname, sym, why);
    obj_free(&o);
}

Test(reloc_riscv64, tls_relocation_against_non_tls_symbol_refused)
{
    tls_refused("tls_site_plain_lui.o", R_RISCV_TPREL_HI20, "R_RISCV_TPREL_HI20", "plain",
                EJ_RELOC, NULL);
    tls_refused("tls_site_plain_addi.o", R_RISCV_TPREL_LO12_I, "R_RISCV_TPREL_LO12_I", "plain",
                EJ_RELOC, NULL);
    tls_refused("tls_site_plain_sw.o", R_RISCV_TPREL_LO12_S, "R_RISCV_TPREL_LO12_S", "plain",
                EJ_RELOC, NULL);
    tls_refused("tls_site_plain_auipc.o", R_RISCV_TLS_GOT_HI20, "R_RISCV_TLS_GOT_HI20", "plain",
                EJ_RELOC, NULL);
    tls_refused("tls_site_plain_auipc.o", R_RISCV_TLS_GD_HI20, "R_RISCV_TLS_GD_HI20", "plain",
                EJ_RELOC, NULL);
    tls_refused("tls_site_plain_word.o", R_RISCV_TLS_DTPREL32, "R_RISCV_TLS_DTPREL32", "plain",
                EJ_RELOC, NULL);
}

/* Every TLS type against `tgt`, which only the resolver gives (an address,
 * no STT_TLS): not a variable of the block, and link-only mode binds no
 * other module's.  (TPREL_ADD, a marker on the add of tp, uses no value.) */
Test(reloc_riscv64, tls_types_against_resolver_symbol_refused)
{
    static const struct {
        uint32_t t;
        const char *name;
    } tls[] = {{8, "R_RISCV_TLS_DTPREL32"}, {9, "R_RISCV_TLS_DTPREL64"},
               {21, "R_RISCV_TLS_GOT_HI20"}, {22, "R_RISCV_TLS_GD_HI20"},
               {29, "R_RISCV_TPREL_HI20"}, {30, "R_RISCV_TPREL_LO12_I"},
               {31, "R_RISCV_TPREL_LO12_S"}};
    res_table rt = {0};
    res_set(&rt, "tgt", LOW_BASE + 0x800);
    for (size_t i = 0; i < sizeof tls / sizeof tls[0]; i++) {
        obj o = fx_copy("range_none.o");
        retype(&o, R_RISCV_NONE, tls[i].t);
        link_result r = do_link(LOW_BASE, &rt, &o, 1);
        if (r.m)
            ej_module_free(r.m);
        cr_expect(r.st == EJ_RELOC || r.st == EJ_UNSUPPORTED, "%s: status %d: %s", tls[i].name,
                  (int)r.st, r.msg);
        expect_msg(r.msg, tls[i].name);
        expect_msg(r.msg, "'tgt'");
        obj_free(&o);
    }
}

Test(reloc_riscv64, non_tls_relocation_against_tls_symbol_refused)
{
    tls_refused("tls_site_tv_lui.o", R_RISCV_HI20, "R_RISCV_HI20", "tv", EJ_RELOC, NULL);
    tls_refused("tls_site_tv_auipc.o", R_RISCV_PCREL_HI20, "R_RISCV_PCREL_HI20", "tv", EJ_RELOC,
                NULL);
    tls_refused("tls_site_tv_auipc.o", R_RISCV_GOT_HI20, "R_RISCV_GOT_HI20", "tv", EJ_RELOC,
                NULL);
    tls_refused("tls_site_tv_auipc.o", R_RISCV_CALL_PLT, "R_RISCV_CALL_PLT", "tv", EJ_RELOC,
                NULL);
    tls_refused("tls_site_tv_word.o", R_RISCV_32, "R_RISCV_32", "tv", EJ_RELOC, NULL);
    tls_refused("tls_site_tv_word.o", R_RISCV_64, "R_RISCV_64", "tv", EJ_RELOC, NULL);
}

Test(reloc_riscv64, tls_host_variable_refused_in_link_only_mode)
{
    tls_refused("tls_site_ext_auipc.o", R_RISCV_TLS_GOT_HI20, "R_RISCV_TLS_GOT_HI20", "ext_tv",
                EJ_UNSUPPORTED, NULL);
    tls_refused("tls_site_ext_auipc.o", R_RISCV_TLS_GD_HI20, "R_RISCV_TLS_GD_HI20", "ext_tv",
                EJ_UNSUPPORTED, NULL);
    tls_refused("tls_site_ext_lui.o", R_RISCV_TPREL_HI20, "R_RISCV_TPREL_HI20", "ext_tv",
                EJ_UNSUPPORTED, NULL);
}

/* TLS descriptors: the C library has none for riscv64 (glibc 2.36), so
 * elfjit refuses them, naming the type and the variable. */
Test(reloc_riscv64, tls_descriptors_refused)
{
    static const struct {
        uint32_t t;
        const char *name, *obj;
    } desc[] = {{62, "R_RISCV_TLSDESC_HI20", "tls_site_tv_auipc.o"},
                {63, "R_RISCV_TLSDESC_LOAD_LO12", "tls_site_tv_ld.o"},
                {64, "R_RISCV_TLSDESC_ADD_LO12", "tls_site_tv_addi.o"},
                {65, "R_RISCV_TLSDESC_CALL", "tls_site_tv_word.o"}};
    for (size_t i = 0; i < sizeof desc / sizeof desc[0]; i++)
        tls_refused(desc[i].obj, desc[i].t, desc[i].name, "tv", EJ_UNSUPPORTED, "not supported");
}

/* TPREL_HI20 at its limits: X = T + S + A = A (tv at 0, T = 0), the addend
 * rewritten in a copy; the LO12 parts never overflow. */
Test(reloc_riscv64, tls_range_tprel_hi20)
{
    const int64_t in[] = {HI20_MAX, HI20_MIN, 0x7ff, -0x800};
    const int64_t out[] = {HI20_MAX + 1, HI20_MIN - 1};
    char msg[1024];
    for (size_t bi = 0; bi < 2; bi++) {
        uint64_t P = bases[bi] + 0x10;
        for (size_t i = 0; i < 6; i++) {
            int ok = i < 4;
            int64_t v = ok ? in[i] : out[i - 4];
            obj o = fx_copy("tls_site_tv_lui.o");
            retype(&o, R_RISCV_NONE, R_RISCV_TPREL_HI20);
            set_addend(&o, 0, v);
            if (ok) {
                ej_module *m = link_ok(bases[bi], NULL, o);
                cr_assert_eq(sym(m, "field"), P);
                check_kind(m, K_LUI, "R_RISCV_TPREL_HI20", P, v);
                ej_module_free(m);
            } else {
                link_fails(bases[bi], NULL, EJ_RANGE, msg, o);
                expect_range_msg(msg, "tls_site_tv_lui.o", "R_RISCV_TPREL_HI20", "tv");
            }
            obj_free(&o);
        }
        const struct {
            const char *obj;
            uint32_t t;
            kind k;
        } lo[] = {{"tls_site_tv_addi.o", R_RISCV_TPREL_LO12_I, K_LO_I},
                  {"tls_site_tv_sw.o", R_RISCV_TPREL_LO12_S, K_LO_S}};
        for (size_t i = 0; i < 2; i++)
            for (size_t j = 0; j < 4; j++) {
                const int64_t vs[] = {0x7fffffff, -0x80000000LL, 0x123456789abc, -1};
                obj o = fx_copy(lo[i].obj);
                retype(&o, R_RISCV_NONE, lo[i].t);
                set_addend(&o, 0, vs[j]);
                ej_module *m = link_ok(bases[bi], NULL, o);
                check_kind(m, lo[i].k, lo[i].obj, P, vs[j]);
                ej_module_free(m);
                obj_free(&o);
            }
    }
}

/* ---- C compiled with several flag sets ------------------------------ */

enum { K_IE, K_GD };

/* tls_check_c (../harness.c) runs the links; what riscv64 adds (the
 * checker's state): every TLS_GOT_HI20 / TLS_GD_HI20 high part must be
 * reached through its PCREL_LO12_I. */
typedef struct rv_tls_state {
    unsigned paired[2]; /* high parts reached through their PCREL_LO12 */
    unsigned highs[2];
} rv_tls_state;

static void rv_check_one(tls_c_run *k, const placed_rela *r, unsigned pass)
{
    ej_module *m = k->m;
    rv_tls_state *st = k->state;
    (void)pass;
    char what[160];
    snprintf(what, sizeof what, "type %u %s%+" PRId64 " at 0x%" PRIx64, r->type, r->name, r->A,
             r->P);
    uint32_t w = rd32(m, r->P), orig = (uint32_t)r->orig;
    uint64_t X = r->S + (uint64_t)r->A; /* T = 0 */
    switch (r->type) {
    case R_RISCV_TPREL_HI20:
        cr_assert(r->tls, "%s: not a TLS symbol", what);
        cr_expect_eq(w & KEEP_U, orig & KEEP_U, "%s: 0x%08x", what, w);
        cr_expect_eq(dec_u(w), hi_part((int64_t)X), "%s: X 0x%" PRIx64, what, X);
        break;
    case R_RISCV_TPREL_LO12_I:
        cr_assert(r->tls, "%s: not a TLS symbol", what);
        cr_expect_eq(w & KEEP_I, orig & KEEP_I, "%s: 0x%08x", what, w);
        cr_expect_eq(dec_i(w), sext(X, 12), "%s: X 0x%" PRIx64, what, X);
        break;
    case R_RISCV_TPREL_LO12_S:
        cr_assert(r->tls, "%s: not a TLS symbol", what);
        cr_expect_eq(w & KEEP_SB, orig & KEEP_SB, "%s: 0x%08x", what, w);
        cr_expect_eq(dec_s(w), sext(X, 12), "%s: X 0x%" PRIx64, what, X);
        break;
    case R_RISCV_TPREL_ADD:
        cr_expect_eq(w, orig, "%s: the marker wrote", what);
        break;
    case R_RISCV_TLS_GOT_HI20:
    case R_RISCV_TLS_GD_HI20:
        cr_assert(r->tls, "%s: not a TLS symbol", what);
        cr_expect_eq(w & KEEP_U, orig & KEEP_U, "%s: 0x%08x", what, w);
        st->highs[r->type == R_RISCV_TLS_GD_HI20]++;
        break;
    case R_RISCV_PCREL_LO12_I: {
        /* Its symbol labels the high part's place. */
        const Elf64_Sym *l = &k->objs[r->oi].sym[r->symidx];
        const placed_rela *hi = placed_at(k->ps, r->oi, l->st_shndx, l->st_value, RH_ANY_TYPE);
        for (size_t i = 0; hi && i < k->ps->n; i++) /* the high part, not its RELAX */
            if (k->ps->r[i].oi == r->oi && k->ps->r[i].shndx == l->st_shndx &&
                k->ps->r[i].off == l->st_value && k->ps->r[i].type != R_RISCV_RELAX)
                hi = &k->ps->r[i];
        if (!hi || (hi->type != R_RISCV_TLS_GOT_HI20 && hi->type != R_RISCV_TLS_GD_HI20))
            return;
        int gd = hi->type == R_RISCV_TLS_GD_HI20;
        uint64_t G = hi->P + (uint64_t)dec_u(rd32(m, hi->P)) + (uint64_t)dec_i(w);
        snprintf(what, sizeof what, "%s %s at 0x%" PRIx64 " (+ lo at 0x%" PRIx64 ")",
                 gd ? "TLS_GD_HI20" : "TLS_GOT_HI20", hi->name, hi->P, r->P);
        slot_note(&k->slots, hi->key, gd ? K_GD : K_IE, G, gd ? 16 : 8, what);
        st->paired[gd]++;
        if (gd)
            cr_expect(rd64(m, G) == 1 && rd64(m, G + 8) == hi->S - 0x800,
                      "%s: the pair at 0x%" PRIx64 " holds {0x%" PRIx64 ", 0x%" PRIx64
                      "}, want {1, 0x%" PRIx64 "}", what, G, rd64(m, G), rd64(m, G + 8),
                      hi->S - 0x800);
        else
            cr_expect_eq(rd64(m, G), hi->S, "%s: the slot at 0x%" PRIx64, what, G);
        return; /* counted as its high part's */
    }
    case R_RISCV_CALL_PLT:
    case R_RISCV_CALL:
        if (strcmp(r->name, "__tls_get_addr") == 0) {
            uint64_t L = r->P + (uint64_t)dec_u(w) + (uint64_t)dec_i(rd32(m, r->P + 4));
            if (L != k->tga)
                check_stub(m, L, k->tga);
        }
        return;
    default:
        cr_expect(!(r->type >= 6 && r->type <= 12) && r->type != 62 && r->type != 63 &&
                      r->type != 64 && r->type != 65,
                  "%s: a TLS type the fixture should not have", what);
        return;
    }
    tls_c_seen(k, r->type);
}

static void rv_tls_end(tls_c_run *k)
{
    const rv_tls_state *st = k->state;
    cr_expect_eq(st->paired[0], st->highs[0], "%s: %u TLS_GOT_HI20, %u paired", k->name,
                 st->highs[0], st->paired[0]);
    cr_expect_eq(st->paired[1], st->highs[1], "%s: %u TLS_GD_HI20, %u paired", k->name,
                 st->highs[1], st->paired[1]);
}

/* tls_c_VARIANT.o + tls_c2_VARIANT.o (../tls_c.c, ../tls_c2.c): every TLS
 * relocation of their code checked from the psABI formula (variant I with
 * no TCB: T = 0, the default of tp_offset NULL), every type of WANT
 * (0-terminated) met, every high part paired: tls_check_c(&rv_tls_c,
 * VARIANT, WANT) (../harness.c). */
static const tls_c_arch rv_tls_c = {
    .tga_off = 0x20000000,
    .tp_offset = NULL,
    .state_size = sizeof(rv_tls_state),
    .passes = 1,
    .check_one = rv_check_one,
    .end = rv_tls_end,
    .min_checked = 5,
    .first_type = 0,
};

Test(reloc_riscv64, tls_c_gcc_pic)
{
    const uint32_t want[] = {R_RISCV_TLS_GD_HI20, R_RISCV_TLS_GOT_HI20, R_RISCV_TPREL_HI20,
                             R_RISCV_TPREL_LO12_S, R_RISCV_TPREL_ADD, 0};
    tls_check_c(&rv_tls_c, "pic", want);
}

Test(reloc_riscv64, tls_c_gcc_nopic)
{
    const uint32_t want[] = {R_RISCV_TPREL_HI20, R_RISCV_TPREL_LO12_I, R_RISCV_TPREL_LO12_S,
                             R_RISCV_TLS_GOT_HI20, R_RISCV_TLS_GD_HI20, 0};
    tls_check_c(&rv_tls_c, "nopic", want);
}

Test(reloc_riscv64, tls_c_gcc_pie)
{
    const uint32_t want[] = {R_RISCV_TPREL_HI20, R_RISCV_TLS_GOT_HI20, R_RISCV_TLS_GD_HI20, 0};
    tls_check_c(&rv_tls_c, "pie", want);
}

Test(reloc_riscv64, tls_c_gcc_medany_pic)
{
    const uint32_t want[] = {R_RISCV_TLS_GD_HI20, R_RISCV_TLS_GOT_HI20, 0};
    tls_check_c(&rv_tls_c, "medany_pic", want);
}

Test(reloc_riscv64, tls_c_gcc_O0g)
{
    const uint32_t want[] = {R_RISCV_TLS_GD_HI20, R_RISCV_TLS_GOT_HI20, R_RISCV_TPREL_HI20, 0};
    tls_check_c(&rv_tls_c, "O0g", want);
}

#if EJ_RV_HAVE_CLANG
Test(reloc_riscv64, tls_c_clang_pic)
{
    const uint32_t want[] = {R_RISCV_TLS_GD_HI20, R_RISCV_TLS_GOT_HI20, R_RISCV_TPREL_HI20, 0};
    tls_check_c(&rv_tls_c, "clang_pic", want);
}

Test(reloc_riscv64, tls_c_clang_nopic)
{
    const uint32_t want[] = {R_RISCV_TPREL_HI20, R_RISCV_TLS_GOT_HI20, 0};
    tls_check_c(&rv_tls_c, "clang_nopic", want);
}
#endif

/* ==================================================================== */
/* Real compiler output: prog_main.c + prog_util.c at -O2 and -O0 -g.    */
/* ==================================================================== */

/* The first auipc in [F, F + 64) and the first later instruction that uses
 * its register as a base (load or addi): the address they compute, and
 * whether that instruction is a load. */
static uint64_t first_pcrel(ej_module *m, uint64_t f, int *is_load)
{
    uint64_t a = f;
    while (a < f + 64) {
        uint32_t w = rd32(m, a);
        if ((w & 3) != 3) {
            a += 2;
            continue;
        }
        if ((w & 0x7f) == 0x17) {
            unsigned r = (w >> 7) & 0x1f;
            for (uint64_t b = a + 4; b < a + 32;) {
                uint32_t u = rd32(m, b);
                if ((u & 3) != 3) {
                    b += 2;
                    continue;
                }
                if (((u & 0x7f) == 0x03 || (u & 0x7f) == 0x13) && ((u >> 15) & 0x1f) == r) {
                    *is_load = (u & 0x7f) == 0x03;
                    return a + (uint64_t)dec_u(w) + (uint64_t)dec_i(u);
                }
                b += 4;
            }
            cr_assert_fail("no user of the auipc at 0x%" PRIx64, a);
        }
        a += 4;
    }
    cr_assert_fail("no auipc in [0x%" PRIx64 ", +64)", f);
    return 0;
}

typedef struct call_site {
    uint64_t at, target;
} call_site;

/* Every auipc rX + jalr rd, imm(rX) pair in [FROM, TO) (instruction by
 * instruction, 2 or 4 bytes). */
static size_t find_calls(ej_module *m, uint64_t from, uint64_t to, call_site *out, size_t max)
{
    size_t n = 0;
    for (uint64_t a = from; a + 4 <= to;) {
        uint32_t w = rd32(m, a);
        if ((w & 3) != 3) {
            a += 2;
            continue;
        }
        if ((w & 0x7f) == 0x17 && a + 8 <= to) {
            uint32_t j = rd32(m, a + 4);
            if ((j & 0x707f) == 0x67 && ((j >> 15) & 0x1f) == ((w >> 7) & 0x1f) && n < max) {
                out[n].at = a;
                out[n].target = a + (uint64_t)dec_u(w) + (uint64_t)dec_i(j);
                n++;
            }
        }
        a += 4;
    }
    return n;
}

static void check_program(const char *variant, uint64_t base)
{
    char main_o[64], util_o[64];
    snprintf(main_o, sizeof main_o, "prog_main_%s.o", variant);
    snprintf(util_o, sizeof util_o, "prog_util_%s.o", variant);
    /* Every C library name gets a distinct address far from the image. */
    res_table rt = {.autofill = base + FAR};
    ej_module *m = link_ok(base, &rt, fx(main_o), fx(util_o));
#define P(name) sym(m, name)
    const uint64_t helper = P("helper"), main_fn = P("main"), util_len = P("util_len");
    const char *funcs[] = {"helper", "main", "util_len", "util_out", "pick", "addr_counter",
                           "addr_shared"};
    uint64_t start, end;
    ej_module_range(m, &start, &end);
    uint64_t stubs[16];
    size_t nstub = find_stubs(m, stubs, 16);
    cr_assert_gt(nstub, 0, "%s: no stubs, but the C library is far", variant);
    uint64_t text_end = stubs[0];

    /* Every call in text goes to a function of the program or to a stub
     * whose slot holds a resolver address. */
    call_site calls[64];
    size_t ncall = find_calls(m, start, text_end, calls, 64);
    int to_helper = 0, to_strlen = 0, to_print = 0;
    for (size_t i = 0; i < ncall; i++) {
        uint64_t t = calls[i].target;
        int known = 0;
        for (size_t f = 0; f < sizeof funcs / sizeof funcs[0]; f++)
            known |= t == P(funcs[f]);
        if (known) {
            to_helper += t == helper;
            continue;
        }
        cr_expect(is_stub(m, t), "%s: the call at 0x%" PRIx64 " goes to 0x%" PRIx64
                  ", neither a function nor a stub", variant, calls[i].at, t);
        if (!is_stub(m, t))
            continue;
        uint64_t slot = pair_target(m, t, t + 4, 0), S = rd64(m, slot);
        int resolved = 0;
        for (size_t r = 0; r < rt.n; r++)
            if (rt.e[r].addr == S) {
                resolved = 1;
                to_strlen += strcmp(rt.e[r].name, "strlen") == 0;
                to_print += strcmp(rt.e[r].name, "fprintf") == 0 ||
                            strcmp(rt.e[r].name, "printf") == 0 ||
                            strcmp(rt.e[r].name, "fwrite") == 0;
            }
        cr_expect(resolved, "%s: the stub at 0x%" PRIx64 " jumps to 0x%" PRIx64
                  ", which the resolver never gave", variant, t, S);
    }
    cr_expect_geq(to_helper, 1, "%s: no call decodes to helper", variant);
    cr_expect_geq(to_strlen, 1, "%s: no call reaches strlen through its stub", variant);
    cr_expect_geq(to_print, 1, "%s: no call reaches fprintf through its stub", variant);
    cr_expect(main_fn < text_end && util_len < text_end, "%s: functions after the stubs", variant);

    /* PC-relative and GOT addresses. */
    int load = -1;
    cr_expect_eq(first_pcrel(m, P("addr_counter"), &load), P("counter"), "%s: &counter",
                 variant);
    cr_expect_eq(load, 0, "%s: &counter is computed with auipc + addi", variant);
    uint64_t slot = first_pcrel(m, P("addr_shared"), &load);
    cr_expect_eq(load, 1, "%s: &shared_val is loaded from the GOT", variant);
    cr_expect_eq(rd64(m, slot), P("shared_val"), "%s: &shared_val's GOT slot", variant);
    slot = first_pcrel(m, P("util_out"), &load);
    cr_expect_eq(load, 1, "%s: stdout is loaded from the GOT", variant);
    cr_expect_eq(rd64(m, slot), res_get(&rt, "stdout"), "%s: stdout's GOT slot", variant);

    /* Data: R_RISCV_64 to a function and to a string. */
    cr_expect_eq(rd64(m, P("fp")), helper, "%s: fp", variant);
    char s[6] = {0};
    rd(m, rd64(m, P("msg")), s, 5);
    cr_expect_str_eq(s, "hello", "%s: msg", variant);
    int32_t table[4];
    rd(m, P("table"), table, sizeof table);
    cr_expect(table[0] == 1 && table[3] == 4, "%s: table", variant);
#undef P
    ej_module_free(m);
}

Test(reloc_riscv64, c_program_O2)
{
    for (size_t bi = 0; bi < 2; bi++)
        check_program("O2", bases[bi]);
}

Test(reloc_riscv64, c_program_O0_debug)
{
    for (size_t bi = 0; bi < 2; bi++)
        check_program("O0g", bases[bi]);
}

/* ==================================================================== */
/* ELF header flags, and a real link's placement.                       */
/* ==================================================================== */

Test(reloc_riscv64, header_flags_accepted)
{
    /* e_flags 0x1 (RVC, soft-float) on its own; 0x4 (double-float, no RVC)
     * with 0x5 (double-float, RVC), which the psABI lets one link mix:
     * they call each other directly. */
    for (size_t bi = 0; bi < 2; bi++) {
        res_table rt = {0};
        res_set(&rt, "soft_ext", bases[bi] + FAR);
        ej_module *m = link_ok(bases[bi], &rt, fx("flags_soft.o"));
        call_site calls[4];
        uint64_t f = sym(m, "soft_fn");
        size_t n = find_calls(m, f, f + 32, calls, 4);
        cr_assert_geq(n, 1, "no call in soft_fn");
        check_stub(m, calls[0].target, bases[bi] + FAR);
        ej_module_free(m);

        m = link_ok(bases[bi], NULL, fx("flags_norvc.o"), fx("flags_rvc.o"));
        const uint64_t rvc = sym(m, "rvc_fn"), norvc = sym(m, "norvc_fn");
        n = find_calls(m, rvc, rvc + 32, calls, 4);
        cr_expect(n >= 1 && calls[0].target == norvc, "rvc_fn does not call norvc_fn");
        n = find_calls(m, norvc, norvc + 32, calls, 4);
        cr_expect(n >= 1 && calls[0].target == rvc, "norvc_fn does not call rvc_fn");
        ej_module_free(m);
    }
}

Test(reloc_riscv64, real_link_hi20_image_placed_low)
{
    /* HI20 against the image asks for an image below 2 GiB, which a real
     * link (no fixed base) honours: field + 4 then fits lui + 12 bits.
     * Only a riscv64 host makes riscv64 code executable; any other host
     * refuses the real link (tests/unit/test_foreign.c). */
    ej_linker *lk;
    ej_module *m = NULL;
    obj o = fx("range_hi20_img.o");
    cr_assert_eq(ej_linker_create(&lk), EJ_OK);
    cr_assert_eq(add_obj(lk, &o), EJ_OK, "%s", ej_linker_errmsg(lk));
    ej_status st = ej_linker_link(lk, &m);
#if !defined(__riscv)
    cr_expect_eq(st, EJ_UNSUPPORTED, "%s", ej_linker_errmsg(lk));
    cr_expect(strstr(ej_linker_errmsg(lk), "cannot run on this"), "%s", ej_linker_errmsg(lk));
    ej_linker_free(lk);
    cr_skip_test("a real link of riscv64 code needs a riscv64 host (the cross build runs it)");
#endif
    cr_assert_eq(st, EJ_OK, "%s", ej_linker_errmsg(lk));
    ej_linker_free(lk);
    uint64_t start, end, P = sym(m, "field");
    ej_module_range(m, &start, &end);
    cr_expect_leq(end, (uint64_t)1 << 31, "image [0x%" PRIx64 ", 0x%" PRIx64 ") not below 2 GiB",
                  start, end);
    check_kind(m, K_LUI, "HI20 field + 4", P, (int64_t)(P + 4));
    ej_module_free(m);
}
