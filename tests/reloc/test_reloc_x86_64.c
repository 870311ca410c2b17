/* x86_64 relocations, checked by reading back relocated bytes.
 *
 * Most tests link the fixtures of tests/reloc/x86_64 in link-only mode
 * (ej_linker_set_base) at a low and at a high fake base, compute what each
 * field must hold from the psABI formula (S + A - P, G + A - P, ...) using
 * ej_module_symbol() for S and P, and compare with ej_module_read().
 * Undefined symbols are placed exactly where a case needs them by the
 * resolver.  The GOT is found through _GLOBAL_OFFSET_TABLE_ and
 * __dso_handle (which the loader puts right after the last GOT slot), and
 * a GOT slot G by looking for the one slot that holds S.
 *
 * The test of every type (relocs.s + other.s) states those formulas as
 * `check:` lines next to the fields and instructions of the fixtures,
 * evaluated by the shared harness (../harness.c, which also has the
 * linking and reading helpers all three architectures use); the range and
 * negative tests below compute theirs here.
 *
 * Negative cases check the status, the message (object, section+offset,
 * relocation type, symbol, reason) and that nothing stayed mapped.
 */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <dlfcn.h>
#include <elf.h>
#include <inttypes.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define FAR (100 * GIB)

/* ---- what the harness needs to know about x86_64 -------------------- */

/* A stub: `ff 25 rel32` (jmp *slot(%rip)) + int3 padding. */
static int x86_stub_shape(ej_module *m, uint64_t L)
{
    uint8_t b[8];
    rd(m, L, b, sizeof b);
    return b[0] == 0xff && b[1] == 0x25 && b[6] == 0xcc && b[7] == 0xcc;
}

static uint64_t x86_stub_slot(ej_module *m, uint64_t L)
{
    return L + 6 + (uint64_t)rds32(m, L + 2);
}

/* rel32(a): where the sign-extended 32-bit field at A points, counted from
 * its end (a call's, jmp's or RIP-relative operand's target). */
static uint64_t f_rel32(rh_ctx *c, const uint64_t *a, const char *const *n)
{
    (void)n;
    return a[0] + 4 + (uint64_t)sext(rh_read(c, a[0], 4), 32);
}

static const rh_func x86_funcs[] = {
    {"rel32", 1, f_rel32},
};

const rh_arch rh_arch_desc = {
    .machine = EM_X86_64,
    .stub_size = 8,
    .stub_shape = x86_stub_shape,
    .stub_slot = x86_stub_slot,
    .field_fill = 0xa5a5a5a5a5a5a5a5,
    .field_guard = 0,
    .funcs = x86_funcs,
    .nfuncs = sizeof x86_funcs / sizeof x86_funcs[0],
};

static void check_field(ej_module *m, const char *name, unsigned width, uint64_t expect)
{
    check_field_at(m, name, sym(m, name), width, expect);
}

/* A 32-bit signed field: the formula's value must itself fit. */
static void check_s32(ej_module *m, const char *name, int64_t expect)
{
    cr_assert(fits_s32(expect), "%s: the expected value 0x%" PRIx64 " does not fit 32 bits",
              name, (uint64_t)expect);
    check_field(m, name, 4, (uint64_t)expect);
}

/* ================================================================== */
/* Every type, against every kind of symbol (relocs.s + other.s): the  */
/* expectations are the check lines of the two sources.                */
/* ================================================================== */

static void check_all_types(uint64_t base)
{
    static const struct {
        const char *name;
        uint64_t offset; /* from BASE; absolute when BASE_REL is 0 */
        int base_rel;
    } res[] = {
        {"far_func", FAR, 1},           {"far_data", 150 * GIB, 1},
        {"near_data", 0x40000000, 1},   {"near_func", 0x20000000, 1},
        {"small_res", 0x87654321, 0},   {"neg_res", 0xffffffff80001000, 0},
        {"neg16", (uint64_t)-100, 0},
    };
    res_table rt = {0};
    for (size_t i = 0; i < sizeof res / sizeof res[0]; i++)
        res_set(&rt, res[i].name, res[i].offset + (res[i].base_rel ? base : 0));
    const obj objs[] = {fx("relocs.o"), fx("other.o")};
    ej_module *m = link_ok_(base, &rt, objs, 2);
    run_checks(m, base, &rt, objs, 2, "relocs.s", "other.s");
    ej_module_free(m);
}

Test(reloc_x86_64, all_types_low_base)
{
    check_all_types(LOW_BASE);
}

Test(reloc_x86_64, all_types_high_base)
{
    check_all_types(HIGH_BASE);
}

Test(reloc_x86_64, link_only_module_is_not_run)
{
    res_table rt = {0};
    res_set(&rt, "tgt", LOW_BASE + 0x2000);
    ej_module *m = link_ok(LOW_BASE, &rt, fx("range_pc32.o"));
    cr_expect_eq(ej_module_init(m, 0, NULL, NULL), EJ_STATE);
    uint8_t b;
    uint64_t start, end;
    ej_module_range(m, &start, &end);
    cr_expect_eq(ej_module_read(m, end, &b, 1), EJ_RANGE);
    cr_expect_eq(ej_module_read(m, start - 1, &b, 1), EJ_RANGE);
    ej_module_free(m);
}

/* ================================================================== */
/* Limits: just inside and just outside each range.                    */
/* ================================================================== */

/* The place of `field` in a range_*.o without GOT slots or stubs: they all
 * lay out alike (checked again by every successful link below). */
static uint64_t plain_field(uint64_t base)
{
    res_table rt = {0};
    res_set(&rt, "tgt", 1); /* R_X86_64_NONE ignores it, but it must resolve */
    ej_module *m = link_ok(base, &rt, fx("range_none.o"));
    uint64_t p = sym(m, "field");
    check_field(m, "field", 0, 0); /* R_X86_64_NONE wrote nothing */
    ej_module_free(m);
    return p;
}

typedef struct range_case {
    const char *obj;   /* fixture file name */
    const char *type;  /* relocation type name */
    unsigned width;    /* bytes */
    int64_t addend;    /* as assembled (CMakeLists.txt) */
    int pcrel;         /* value = S + A - P, else S + A */
    int64_t in[2];     /* values that fit */
    int64_t out[2];    /* values that do not */
} range_case;

static void check_range(const range_case *c)
{
    char msg[1024];
    const obj path = fx(c->obj);
    for (size_t bi = 0; bi < sizeof bases / sizeof bases[0]; bi++) {
        uint64_t base = bases[bi];
        uint64_t P = plain_field(base);
        res_table rt = {0};
        for (int k = 0; k < 2; k++) {
            int64_t v = c->in[k];
            res_set(&rt, "tgt", (uint64_t)v - (uint64_t)c->addend + (c->pcrel ? P : 0));
            ej_module *m = link_ok(base, &rt, path);
            cr_assert_eq(sym(m, "field"), P, "layout changed");
            check_field_at(m, c->type, P, c->width, (uint64_t)v);
            ej_module_free(m);
        }
        for (int k = 0; k < 2; k++) {
            int64_t v = c->out[k];
            res_set(&rt, "tgt", (uint64_t)v - (uint64_t)c->addend + (c->pcrel ? P : 0));
            link_fails(base, &rt, EJ_RANGE, msg, path);
            expect_msg(msg, c->obj);
            expect_msg(msg, ".data+0x10");
            expect_msg(msg, c->type);
            expect_msg(msg, "'tgt'");
            expect_msg(msg, "out of range");
        }
    }
}

Test(reloc_x86_64, range_pc32)
{
    range_case c = {"range_pc32.o", "R_X86_64_PC32", 4, 0x10, 1,
                    {INT32_MAX, INT32_MIN}, {(int64_t)INT32_MAX + 1, (int64_t)INT32_MIN - 1}};
    check_range(&c);
}

Test(reloc_x86_64, range_pc16)
{
    range_case c = {"range_pc16.o", "R_X86_64_PC16", 2, 0x10, 1,
                    {INT16_MAX, INT16_MIN}, {INT16_MAX + 1, INT16_MIN - 1}};
    check_range(&c);
}

Test(reloc_x86_64, range_pc8)
{
    range_case c = {"range_pc8.o", "R_X86_64_PC8", 1, -3, 1,
                    {INT8_MAX, INT8_MIN}, {INT8_MAX + 1, INT8_MIN - 1}};
    check_range(&c);
}

Test(reloc_x86_64, range_32)
{
    /* Zero-extended: 0 .. 4 GiB - 1 (the addend is -0x10, so S + A < 0
     * is reachable with a positive S). */
    range_case c = {"range_32.o", "R_X86_64_32", 4, -0x10, 0,
                    {UINT32_MAX, 0}, {(int64_t)UINT32_MAX + 1, -1}};
    check_range(&c);
}

Test(reloc_x86_64, range_32s)
{
    range_case c = {"range_32s.o", "R_X86_64_32S", 4, 0x10, 0,
                    {INT32_MAX, INT32_MIN}, {(int64_t)INT32_MAX + 1, (int64_t)INT32_MIN - 1}};
    check_range(&c);
}

Test(reloc_x86_64, range_16)
{
    /* Signed or unsigned reading: -32768 .. 65535. */
    range_case c = {"range_16.o", "R_X86_64_16", 2, 0x10, 0,
                    {UINT16_MAX, INT16_MIN}, {UINT16_MAX + 1, INT16_MIN - 1}};
    check_range(&c);
}

Test(reloc_x86_64, range_8)
{
    /* Signed or unsigned reading: -128 .. 255. */
    range_case c = {"range_8.o", "R_X86_64_8", 1, 0x10, 0,
                    {UINT8_MAX, INT8_MIN}, {UINT8_MAX + 1, INT8_MIN - 1}};
    check_range(&c);
}

Test(reloc_x86_64, range_size32)
{
    /* Z + A with Z = 0xfffffff0 (st_size of `sized`). */
    char msg[1024];
    for (size_t bi = 0; bi < sizeof bases / sizeof bases[0]; bi++) {
        ej_module *m = link_ok(bases[bi], NULL, fx("range_size32.o"));
        check_field(m, "field", 4, 0xffffffff);
        ej_module_free(m);
        link_fails(bases[bi], NULL, EJ_RANGE, msg, fx("range_size32_over.o"));
        expect_msg(msg, "range_size32_over.o");
        expect_msg(msg, ".data+0x10");
        expect_msg(msg, "R_X86_64_SIZE32");
        expect_msg(msg, "'sized'");
        expect_msg(msg, "out of range");
    }
}

/* An absolute reference to the image itself (S = field + A): fits while
 * the image sits low enough.  LIMIT is the largest value that fits. */
static void check_image_abs(const char *objname, const char *type, unsigned width,
                            uint64_t addend, uint64_t limit, uint64_t low_base)
{
    char msg[1024];
    const obj path = fx(objname);
    ej_module *m = link_ok(low_base, NULL, path);
    uint64_t off = sym(m, "field") - low_base;
    check_field_at(m, type, low_base + off, width, low_base + off + addend);
    ej_module_free(m);

    /* The highest base at which field + A still fits, and the next page. */
    uint64_t pg = page_size();
    uint64_t in = (limit - off - addend) / pg * pg;
    cr_assert_gt(in, 0);
    m = link_ok(in, NULL, path);
    cr_assert_eq(sym(m, "field"), in + off);
    cr_assert_leq(in + off + addend, limit);
    check_field_at(m, type, in + off, width, in + off + addend);
    ej_module_free(m);

    uint64_t bad[] = {in + pg, HIGH_BASE};
    for (size_t k = 0; k < 2; k++) {
        link_fails(bad[k], NULL, EJ_RANGE, msg, path);
        expect_msg(msg, objname);
        expect_msg(msg, ".data+0x10");
        expect_msg(msg, type);
        expect_msg(msg, "'field'");
        expect_msg(msg, "out of range");
    }
}

Test(reloc_x86_64, range_32_image)
{
    check_image_abs("range_32_img.o", "R_X86_64_32", 4, 4, UINT32_MAX, LOW_BASE);
}

Test(reloc_x86_64, range_32s_image)
{
    check_image_abs("range_32s_img.o", "R_X86_64_32S", 4, 4, INT32_MAX, LOW_BASE);
}

Test(reloc_x86_64, range_16_image)
{
    /* Only a tiny base keeps the image below 64 KiB. */
    check_image_abs("range_16_img.o", "R_X86_64_16", 2, 2, UINT16_MAX, page_size());
}

/* ================================================================== */
/* Far targets: stubs and GOT slots.                                   */
/* ================================================================== */

/* The place of `field` in OBJ, whose layout has a stub or a GOT slot for
 * tgt whatever its address. */
static uint64_t field_with(obj o, uint64_t base, uint64_t tgt)
{
    res_table rt = {0};
    res_set(&rt, "tgt", tgt);
    ej_module *m = link_ok(base, &rt, o);
    uint64_t p = sym(m, "field");
    ej_module_free(m);
    return p;
}

Test(reloc_x86_64, plt32_far_through_stub)
{
    for (size_t bi = 0; bi < sizeof bases / sizeof bases[0]; bi++) {
        uint64_t base = bases[bi];
        uint64_t P = field_with(fx("range_plt32.o"), base, base + FAR);
        /* target: L or S, what the rel32 must reach (A = -4) */
        struct {
            uint64_t S;
            int direct;
        } cases[] = {
            {P + FAR, 0},                          /* 100 GiB away */
            {P + (uint64_t)INT32_MAX + 4, 1},      /* last direct, forwards */
            {P + (uint64_t)INT32_MAX + 5, 0},      /* first via stub */
            {P - ((uint64_t)1 << 31) + 4, 1},      /* last direct, backwards */
            {P - ((uint64_t)1 << 31) + 3, 0},
        };
        for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
            res_table rt = {0};
            res_set(&rt, "tgt", cases[k].S);
            ej_module *m = link_ok(base, &rt, fx("range_plt32.o"));
            cr_assert_eq(sym(m, "field"), P);
            int64_t v = rds32(m, P);
            uint64_t reached = P + (uint64_t)v + 4;
            check_field(m, "field", 4, (uint64_t)v); /* sentinel intact */
            if (cases[k].direct) {
                cr_expect_eq(reached, cases[k].S, "case %zu: rel32 0x%" PRIx64 " misses 0x%" PRIx64,
                             k, (uint64_t)v, cases[k].S);
            } else {
                check_stub(m, reached, cases[k].S);
            }
            ej_module_free(m);
        }
    }
}

Test(reloc_x86_64, gotpcrel_far_through_slot)
{
    for (size_t bi = 0; bi < sizeof bases / sizeof bases[0]; bi++) {
        uint64_t base = bases[bi];
        uint64_t P = field_with(fx("range_gotpcrel.o"), base, base + FAR);
        const uint64_t targets[] = {P + FAR, P + 3 * FAR, P - GIB * 64};
        for (size_t k = 0; k < 3; k++) {
            res_table rt = {0};
            res_set(&rt, "tgt", targets[k]);
            ej_module *m = link_ok(base, &rt, fx("range_gotpcrel.o"));
            cr_assert_eq(sym(m, "field"), P);
            uint64_t G = P + (uint64_t)rds32(m, P) + 4;
            uint64_t start, end;
            ej_module_range(m, &start, &end);
            cr_assert(G >= start && G + 8 <= end && G % 8 == 0 && G < P,
                      "GOT slot 0x%" PRIx64 " not in read-only data", G);
            cr_expect_eq(rd64(m, G), targets[k]);
            ej_module_free(m);
        }
    }
}

Test(reloc_x86_64, pc32_far_data_fails)
{
    /* A resolver address dladdr does not know as a function is data: no
     * stub can help, the link fails. */
    char msg[1024];
    for (size_t bi = 0; bi < sizeof bases / sizeof bases[0]; bi++) {
        uint64_t P = plain_field(bases[bi]);
        res_table rt = {0};
        res_set(&rt, "tgt", P + FAR);
        link_fails(bases[bi], &rt, EJ_RANGE, msg, fx("range_pc32.o"));
        expect_msg(msg, "range_pc32.o");
        expect_msg(msg, ".data+0x10");
        expect_msg(msg, "R_X86_64_PC32");
        expect_msg(msg, "'tgt'");
        expect_msg(msg, "out of range");
    }
}

Test(reloc_x86_64, pc32_far_host_function_through_stub)
{
    /* A resolver address that is a real host function: PC32 goes through
     * a stub (as for PLT32). */
    const uint64_t h_abort = host_sym("abort");
    for (size_t bi = 0; bi < sizeof bases / sizeof bases[0]; bi++) {
        res_table rt = {0};
        res_set(&rt, "tgt", h_abort);
        ej_module *m = link_ok(bases[bi], &rt, fx("range_pc32.o"));
        uint64_t P = sym(m, "field");
        cr_assert(!fits_s32((int64_t)(h_abort + 0x10 - P)), "abort is near the fake base?");
        uint64_t L = P + (uint64_t)rds32(m, P) - 0x10;
        check_stub(m, L, h_abort);
        ej_module_free(m);
    }
}

Test(reloc_x86_64, pc32_far_data_real_link_fails)
{
    /* Real links: PC32 to two data objects 32 TiB apart cannot both be
     * reached; PC32 to an address in the kernel half cannot be reached at
     * all.  Either way the message names the relocation. */
    res_table rt = {0};
    int left;
    res_set(&rt, "tgt", 0x100000000000);
    res_set(&rt, "tgt_b", 0x300000000000);
    link_result r = link_counted(0, &rt, OBJS(fx("range_pc32.o"), fx("range_pc32_b.o")), &left);
    cr_expect(r.st == EJ_RANGE || r.st == EJ_MAP, "status %d: %s", (int)r.st, r.msg);
    cr_log_info("expected failure: %s", r.msg);
    expect_msg(r.msg, "R_X86_64_PC32");
    expect_msg(r.msg, "range_pc32");
    cr_expect_eq(left, 0, "a failed link left %d mappings behind", left);
    if (r.m)
        ej_module_free(r.m);

    rt.n = 0;
    res_set(&rt, "tgt", 0xffff900000001000);
    r = link_counted(0, &rt, OBJS(fx("range_pc32.o")), &left);
    cr_expect(r.st == EJ_RANGE || r.st == EJ_MAP, "status %d: %s", (int)r.st, r.msg);
    cr_log_info("expected failure: %s", r.msg);
    expect_msg(r.msg, "R_X86_64_PC32");
    expect_msg(r.msg, "'tgt'");
    cr_expect_eq(left, 0, "a failed link left %d mappings behind", left);
    if (r.m)
        ej_module_free(r.m);
}

Test(reloc_x86_64, real_link_abs32_image_placed_low)
{
    /* A real link places an image with absolute 32-bit references to
     * itself low enough for them: below 4 GiB for R_X86_64_32, below 2 GiB
     * for R_X86_64_32S. */
    const struct {
        obj obj;
        uint64_t limit;
    } cases[] = {{fx("range_32_img.o"), UINT32_MAX}, {fx("range_32s_img.o"), INT32_MAX}};
    for (size_t k = 0; k < 2; k++) {
        ej_module *m = link_ok_(0, NULL, &cases[k].obj, 1);
        uint64_t start, end, P = sym(m, "field");
        ej_module_range(m, &start, &end);
        cr_expect_leq(end, cases[k].limit + 1, "%s: image [0x%" PRIx64 ", 0x%" PRIx64 ") too high",
                      cases[k].obj.name, start, end);
        check_field(m, "field", 4, P + 4);
        ej_module_free(m);
    }
}

/* LIBRARY BUG (src/link/scan.c scan_one: need_near() is applied only to
 * EJ_SK_HOST symbols, so a PC-relative reference to an SHN_ABS symbol puts
 * no constraint on placement): a real link of PC32 against abs_low = 0x1234
 * lets the image land anywhere (e.g. 0x7f...) and then fails with EJ_RANGE
 * "value 0xffff80... out of range", although an image below 2 GiB (which
 * the same library does place for R_X86_64_32S) reaches it.  The same holds
 * for an undefined weak symbol (ABS 0) referenced with PC32. */
Test(reloc_x86_64, real_link_pc32_to_abs_symbol)
{
    ej_module *m = link_ok(0, NULL, fx("range_pc32_abs.o"), fx("abs.o"));
    uint64_t P = sym(m, "field");
    check_s32(m, "field", (int64_t)(0x1234 + 0x10 - P));
    ej_module_free(m);
}

/* ================================================================== */
/* Refused relocations.                                                */
/* ================================================================== */

Test(reloc_x86_64, unknown_type_refused_when_added)
{
    /* gas has no way to emit type 200: range_pc32.o with its relocation
     * rewritten, given as a buffer and as a file. */
    obj o = fx_copy("range_pc32.o");
    retype(&o, RH_ANY_TYPE, 200);
    const uint8_t *buf = o.buf;
    size_t len = o.len;
    char path[] = "/tmp/ej_reloc_unknown200_XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, buf, len), (ssize_t)len);
    close(fd);
    /* Twice; mappings are counted in the second round (see link_counted). */
    for (int round = 0; round < 2; round++) {
        int before = ej_test_count_mappings();
        ej_linker *lk;
        cr_assert_eq(ej_linker_create(&lk), EJ_OK);
        cr_assert_eq(ej_linker_set_base(lk, LOW_BASE), EJ_OK);
        ej_status st = ej_linker_add_buffer(lk, "unknown200.o", buf, len);
        cr_expect_eq(st, EJ_RELOC, "status %d: %s", (int)st, ej_linker_errmsg(lk));
        const char *msg = ej_linker_errmsg(lk);
        cr_log_info("expected failure: %s", msg);
        expect_msg(msg, "unknown relocation type 200");
        expect_msg(msg, "unknown200.o");
        expect_msg(msg, ".data+0x10");
        st = ej_linker_add_file(lk, path);
        cr_expect_eq(st, EJ_RELOC, "status %d: %s", (int)st, ej_linker_errmsg(lk));
        msg = ej_linker_errmsg(lk);
        cr_log_info("expected failure: %s", msg);
        expect_msg(msg, "unknown relocation type 200");
        expect_msg(msg, path);
        expect_msg(msg, ".data+0x10");
        /* The refused file is not kept mapped, even before the linker goes. */
        int mid = ej_test_count_mappings();
        ej_linker_free(lk);
        int after = ej_test_count_mappings();
        if (round == 1) {
            cr_expect_eq(mid, before, "a refused object left %d mappings", mid - before);
            cr_expect_eq(after, before, "%d mappings left behind", after - before);
        }
    }
    unlink(path);
    obj_free(&o);
}

static void check_unsupported(const char *objname, const char *type, const char *symname,
                              const char *why)
{
    char msg[1024], quoted[128];
    const obj path = fx(objname);
    snprintf(quoted, sizeof quoted, "'%s'", symname ? symname : "");
    res_table rt = {0};
    res_set(&rt, "tgt", LOW_BASE + 0x1000);
    link_fails(LOW_BASE, &rt, EJ_UNSUPPORTED, msg, path);
    expect_msg(msg, objname);
    expect_msg(msg, type);
    if (symname)
        expect_msg(msg, quoted);
    expect_msg(msg, why);
    /* A real link is refused the same way. */
    link_fails(0, &rt, EJ_UNSUPPORTED, msg, path);
    expect_msg(msg, type);
    expect_msg(msg, why);
}

Test(reloc_x86_64, dynamic_relocation_unsupported)
{
    check_unsupported("range_globdat.o", "R_X86_64_GLOB_DAT", "tgt", "dynamic relocation");
}

/* LIBRARY BUG (src/link/scan.c, scan_one): `if (!s) return EJ_OK;` comes
 * before the EJ_RN_TLS / EJ_RN_DYNAMIC check, so a TLS or dynamic
 * relocation without a symbol (symbol index 0, e.g. R_X86_64_RELATIVE with
 * only an addend) is not refused: the link succeeds and the field keeps its original bytes
 * (h_none), against DESIGN.md's "unsupported relocation types are an error
 * naming the type, never skipped". */
Test(reloc_x86_64, symbolless_dynamic_refused)
{
    check_unsupported("range_relative_nosym.o", "R_X86_64_RELATIVE", NULL,
                      "dynamic relocation");
}

/* A TLS relocation without a symbol has no variable to reach: refused,
 * never written as if S were 0. */
Test(reloc_x86_64, symbolless_tls_refused)
{
    char msg[1024];
    res_table rt = {0};
    const obj path = fx("range_tpoff32_nosym.o");
    for (size_t bi = 0; bi < NBASES; bi++) {
        link_result r = do_link(bases[bi], &rt, &path, 1);
        if (r.m)
            ej_module_free(r.m);
        cr_expect(r.st == EJ_RELOC || r.st == EJ_UNSUPPORTED, "status %d: %s", (int)r.st, r.msg);
        snprintf(msg, sizeof msg, "%s", r.msg);
        expect_msg(msg, "range_tpoff32_nosym.o");
        expect_msg(msg, "R_X86_64_TPOFF32");
    }
}

/* LIBRARY BUG (src/link/scan.c scan_one returns early for symbol index 0,
 * so no GOT slot is made; src/link/relocate.c then passes G = 0 and
 * h_gotpcrel in src/reloc/x86_64.c computes 0 + A - P): R_X86_64_GOTPCREL
 * (likewise GOT32/GOT64/GOTPCREL64/GOTPCRELX) with symbol index 0 is written
 * as a displacement to absolute address A instead of to a GOT slot holding
 * S = 0.  Either a slot or an error is right; a silent wrong value is not. */
Test(reloc_x86_64, gotpcrel_without_symbol)
{
    const obj path = fx("range_gotpcrel_nosym.o");
    for (size_t bi = 0; bi < sizeof bases / sizeof bases[0]; bi++) {
        link_result r = do_link(bases[bi], NULL, &path, 1);
        if (r.st != EJ_OK) {
            int left;
            r = link_counted(bases[bi], NULL, &path, 1, &left);
            cr_log_info("refused: %s", r.msg);
            expect_msg(r.msg, "R_X86_64_GOTPCREL");
            cr_expect_eq(left, 0, "a failed link left %d mappings behind", left);
            continue;
        }
        uint64_t P = sym(r.m, "field"), start, end;
        uint64_t G = P + (uint64_t)rds32(r.m, P) + 4;
        ej_module_range(r.m, &start, &end);
        cr_expect(G >= start && G + 8 <= end && G % 8 == 0,
                  "GOTPCREL without a symbol points at 0x%" PRIx64 ", outside the image [0x%" PRIx64
                  ", 0x%" PRIx64 ")", G, start, end);
        if (G >= start && G + 8 <= end)
            cr_expect_eq(rd64(r.m, G), 0, "the slot must hold S = 0");
        ej_module_free(r.m);
    }
}

/* LIBRARY BUG (src/link/resolve.c resolve_undefined sets only kind and value
 * for a host symbol, so its size stays 0; src/reloc/x86_64.c h_size32 /
 * h_size64 then write Z + A = A): R_X86_64_SIZE64 against `stdout` gives 1
 * here, while gcc + ld + ld.so give st_size + A = 9 (ld emits a dynamic
 * R_X86_64_SIZE64 that ld.so resolves with the definition's st_size, which
 * dladdr1(RTLD_DL_SYMENT) also gives). */
Test(reloc_x86_64, size_of_host_symbol)
{
    Dl_info info;
    const ElfW(Sym) *es = NULL;
    cr_assert(dladdr1((void *)(uintptr_t)host_sym("stdout"), &info, (void **)&es,
                      RTLD_DL_SYMENT) && es, "dladdr1(stdout)");
    cr_assert_eq(es->st_size, sizeof(FILE *));
    for (size_t bi = 0; bi < sizeof bases / sizeof bases[0]; bi++) {
        ej_module *m = link_ok(bases[bi], NULL, fx("range_size64_host.o"));
        check_field(m, "field", 8, es->st_size + 1);
        ej_module_free(m);
    }
}

/* ================================================================== */
/* Thread-local storage (link-only: an executable's own block, TLS     */
/* variant II: T = -align_up(size, align), module id 1).               */
/* ================================================================== */

/* Every TLS type in the sequences of every access model (tls.s +
 * tls_other.s: the expectations are their check lines; tls_check_all in
 * ../harness.c), __tls_get_addr placed by the resolver at an offset from
 * the base (near: called directly; far: through a stub). */
Test(reloc_x86_64, tls_all_types_low_base)
{
    tls_check_all(LOW_BASE, 0x20000000, NULL, 0);
}

Test(reloc_x86_64, tls_all_types_high_base)
{
    tls_check_all(HIGH_BASE, 0x20000000, NULL, 0);
}

Test(reloc_x86_64, tls_all_types_far_tls_get_addr)
{
    for (size_t bi = 0; bi < NBASES; bi++)
        tls_check_all(bases[bi], FAR, NULL, 0);
}

/* A TLS relocation the linker must refuse (tls_bad.S case CASE): the
 * status is EJ_RELOC (a relocation that cannot mean anything) or
 * EJ_UNSUPPORTED (a meaning link-only mode cannot give), the message names
 * the object, the type and the symbol (SYM, or none), nothing stays mapped. */
static void tls_refused(int kase, const char *type, const char *sym, ej_status want)
{
    char name[64];
    snprintf(name, sizeof name, "tls_bad_%d.o", kase);
    res_table rt = {0};
    res_set(&rt, "tgt", LOW_BASE + 0x100000);
    res_set(&rt, "ext_tv", LOW_BASE + 0x200000); /* an address: still not usable */
    obj o = fx(name);
    tls_refused_obj(&o, &rt, want, NULL, type, sym, NULL);
}

Test(reloc_x86_64, tls_relocation_against_non_tls_symbol_refused)
{
    tls_refused(1, "R_X86_64_TPOFF32", "plain", EJ_RELOC);
    tls_refused(3, "R_X86_64_TLSGD", "plain", EJ_RELOC);
    tls_refused(13, "R_X86_64_TPOFF64", NULL, EJ_RELOC); /* .data's section symbol */
    tls_refused(14, "R_X86_64_GOTPC32_TLSDESC", "plain", EJ_RELOC);
    tls_refused(15, "R_X86_64_DTPOFF32", "plain", EJ_RELOC);
}

/* The module's pair is named through a variable of the module: against a
 * data symbol, the relocation means nothing. */
Test(reloc_x86_64, tls_local_dynamic_against_non_tls_symbol_refused)
{
    tls_refused(16, "R_X86_64_TLSLD", "plain", EJ_RELOC);
}

Test(reloc_x86_64, tls_relocation_against_resolver_symbol_refused)
{
    /* tgt has no STT_TLS type and the resolver gives it an address: not
     * a variable of the block, and link-only mode binds no other module's. */
    char msg[1024];
    res_table rt = {0};
    res_set(&rt, "tgt", LOW_BASE + 0x100000);
    link_result r = do_link(LOW_BASE, &rt, OBJS(fx("tls_bad_2.o")));
    if (r.m)
        ej_module_free(r.m);
    cr_expect(r.st == EJ_RELOC || r.st == EJ_UNSUPPORTED, "status %d: %s", (int)r.st, r.msg);
    snprintf(msg, sizeof msg, "%s", r.msg);
    expect_msg(msg, "R_X86_64_GOTTPOFF");
    expect_msg(msg, "'tgt'");
}

Test(reloc_x86_64, non_tls_relocation_against_tls_symbol_refused)
{
    tls_refused(4, "R_X86_64_PC32", "tv", EJ_RELOC);
    tls_refused(5, "R_X86_64_64", "tv", EJ_RELOC);
    tls_refused(6, "R_X86_64_GOTPCREL", "tv", EJ_RELOC);
    tls_refused(7, "R_X86_64_PLT32", "tv", EJ_RELOC);
}

Test(reloc_x86_64, tls_host_variable_refused_in_link_only_mode)
{
    tls_refused(8, "R_X86_64_GOTTPOFF", "ext_tv", EJ_UNSUPPORTED);
    tls_refused(9, "R_X86_64_TLSGD", "ext_tv", EJ_UNSUPPORTED);
    tls_refused(10, "R_X86_64_TPOFF32", "ext_tv", EJ_UNSUPPORTED);
    /* With no resolver either: named, whatever the status. */
    link_result r = do_link(LOW_BASE, NULL, OBJS(fx("tls_bad_8.o")));
    if (r.m)
        ej_module_free(r.m);
    cr_expect_neq(r.st, EJ_OK);
    expect_msg(r.msg, "'ext_tv'");
}

Test(reloc_x86_64, tls_dynamic_types_refused)
{
    tls_refused(11, "R_X86_64_DTPMOD64", "tv", EJ_UNSUPPORTED);
    tls_refused(12, "R_X86_64_TLSDESC", "tv", EJ_UNSUPPORTED);
    char msg[1024];
    link_fails(LOW_BASE, NULL, EJ_UNSUPPORTED, msg, fx("tls_bad_11.o"));
    expect_msg(msg, "dynamic relocation");
}

/* Local-exec and local-dynamic offsets in 32-bit fields: signed, checked.
 * tls_range_*.o: tv at S = 0 in a 4-byte block aligned to 4 (T = -4); the
 * addend is rewritten to put the value at each limit. */
static void tls_range(const char *objname, const char *type, int64_t T)
{
    const int64_t in[] = {INT32_MAX, INT32_MIN, -1, 0};
    const int64_t out[] = {(int64_t)INT32_MAX + 1, (int64_t)INT32_MIN - 1};
    char msg[1024];
    for (size_t bi = 0; bi < NBASES; bi++) {
        for (size_t k = 0; k < sizeof in / sizeof in[0]; k++) {
            obj o = fx_copy(objname);
            set_addend(&o, 0, in[k] - T);
            ej_module *m = link_ok(bases[bi], NULL, o);
            check_field(m, "field", 4, (uint64_t)in[k]);
            ej_module_free(m);
            obj_free(&o);
        }
        for (size_t k = 0; k < sizeof out / sizeof out[0]; k++) {
            obj o = fx_copy(objname);
            set_addend(&o, 0, out[k] - T);
            link_fails(bases[bi], NULL, EJ_RANGE, msg, o);
            expect_msg(msg, objname);
            expect_msg(msg, ".data+0x10");
            expect_msg(msg, type);
            expect_msg(msg, "'tv'");
            expect_msg(msg, "out of range");
            obj_free(&o);
        }
    }
}

Test(reloc_x86_64, tls_range_tpoff32)
{
    tls_range("tls_range_tpoff32.o", "R_X86_64_TPOFF32", -4);
}

Test(reloc_x86_64, tls_range_dtpoff32)
{
    tls_range("tls_range_dtpoff32.o", "R_X86_64_DTPOFF32", 0);
}

/* ---- C compiled with several flag sets ---------------------------- */

/* Slot kinds (tls_slots). */
enum { K_IE, K_GD, K_LD, K_DESC };

/* tls_check_c (../harness.c) runs the links; what x86_64 adds: variant II,
 * T = -align_up(size, align), and the GOT the large code model finds with
 * GOTPC64 (the checker's state). */
typedef struct x86_tls_state {
    uint64_t got;
} x86_tls_state;

static const char *type_name(uint32_t t)
{
    static const char *const names[] = {
        [R_X86_64_TPOFF32] = "TPOFF32",   [R_X86_64_TPOFF64] = "TPOFF64",
        [R_X86_64_DTPOFF32] = "DTPOFF32", [R_X86_64_DTPOFF64] = "DTPOFF64",
        [R_X86_64_GOTTPOFF] = "GOTTPOFF", [R_X86_64_TLSGD] = "TLSGD",
        [R_X86_64_TLSLD] = "TLSLD",       [R_X86_64_GOTPC32_TLSDESC] = "GOTPC32_TLSDESC",
        [R_X86_64_TLSDESC_CALL] = "TLSDESC_CALL",
    };
    return t < sizeof names / sizeof names[0] && names[t] ? names[t] : "?";
}

/* The slot a G + A - P field at R's place addresses. */
static uint64_t slot_at(tls_c_run *k, const placed_rela *r)
{
    return r->P + (uint64_t)rds32(k->m, r->P) - (uint64_t)r->A;
}

/* Where a call or address of __tls_get_addr must lead: the function, or a
 * stub jumping to it. */
static void expect_tga(tls_c_run *k, uint64_t target)
{
    if (target != k->tga)
        check_stub(k->m, target, k->tga);
}

static void x86_tls_check_one(tls_c_run *k, const placed_rela *r, unsigned pass)
{
    ej_module *m = k->m;
    const x86_tls_state *st = k->state;
    (void)pass;
    char what[160];
    snprintf(what, sizeof what, "R_X86_64_%s %s%+" PRId64 " at 0x%" PRIx64, type_name(r->type),
             r->name, r->A, r->P);
    int is_tls_type = r->type >= R_X86_64_DTPMOD64 && r->type <= R_X86_64_TPOFF32;
    is_tls_type |= r->type == R_X86_64_GOTPC32_TLSDESC || r->type == R_X86_64_TLSDESC_CALL;
    if (!is_tls_type) {
        if (strcmp(r->name, "__tls_get_addr") != 0)
            return;
        if (r->type == R_X86_64_PLT32 || r->type == R_X86_64_PC32)
            expect_tga(k, r->P + (uint64_t)rds32(m, r->P) - (uint64_t)r->A);
        else if (r->type == R_X86_64_GOTPCRELX || r->type == R_X86_64_REX_GOTPCRELX ||
                 r->type == R_X86_64_GOTPCREL)
            cr_expect_eq(rd64(m, slot_at(k, r)), k->tga, "%s: the GOT slot", r->name);
        else if (r->type == R_X86_64_PLTOFF64)
            expect_tga(k, rd64(m, r->P) + st->got - (uint64_t)r->A);
        else
            cr_expect_fail("unexpected relocation type %u against __tls_get_addr", r->type);
        return;
    }
    tls_c_seen(k, r->type);
    cr_assert(r->tls || r->type == R_X86_64_TLSLD, "%s: not a TLS symbol of the objects", what);
    uint64_t v = r->S + (uint64_t)r->A, G;
    switch (r->type) {
    case R_X86_64_TPOFF32:
        cr_expect_eq(rds32(m, r->P), (int64_t)(k->T + v), "%s", what);
        break;
    case R_X86_64_TPOFF64:
        cr_expect_eq(rd64(m, r->P), k->T + v, "%s", what);
        break;
    case R_X86_64_DTPOFF32:
        cr_expect_eq(rds32(m, r->P), (int64_t)v, "%s", what);
        break;
    case R_X86_64_DTPOFF64:
        cr_expect_eq(rd64(m, r->P), v, "%s", what);
        break;
    case R_X86_64_GOTTPOFF:
        G = slot_at(k, r);
        slot_note(&k->slots, r->key, K_IE, G, 8, what);
        cr_expect_eq(rd64(m, G), k->T + r->S, "%s: the slot 0x%" PRIx64 " holds T + S", what, G);
        break;
    case R_X86_64_TLSGD:
        G = slot_at(k, r);
        slot_note(&k->slots, r->key, K_GD, G, 16, what);
        cr_expect(rd64(m, G) == 1 && rd64(m, G + 8) == r->S,
                  "%s: the pair at 0x%" PRIx64 " holds {0x%" PRIx64 ", 0x%" PRIx64
                  "}, want {1, 0x%" PRIx64 "}", what, G, rd64(m, G), rd64(m, G + 8), r->S);
        break;
    case R_X86_64_TLSLD:
        G = slot_at(k, r);
        slot_note(&k->slots, 0, K_LD, G, 16, what);
        cr_expect(rd64(m, G) == 1 && rd64(m, G + 8) == 0,
                  "%s: the module's pair at 0x%" PRIx64 " holds {0x%" PRIx64 ", 0x%" PRIx64
                  "}, want {1, 0}", what, G, rd64(m, G), rd64(m, G + 8));
        break;
    case R_X86_64_GOTPC32_TLSDESC:
        G = slot_at(k, r);
        slot_note(&k->slots, r->key, K_DESC, G, 16, what);
        cr_expect(rd64(m, G) == 0 && rd64(m, G + 8) == k->T + r->S,
                  "%s: the descriptor at 0x%" PRIx64 " holds {0x%" PRIx64 ", 0x%" PRIx64
                  "}, want {0, 0x%" PRIx64 "}", what, G, rd64(m, G), rd64(m, G + 8),
                  k->T + r->S);
        break;
    case R_X86_64_TLSDESC_CALL:
        cr_expect_eq(rd16(m, r->P), (uint16_t)r->orig, "%s: written", what);
        break;
    default:
        cr_expect_fail("%s: a TLS type the fixtures should not have", what);
    }
}

static uint64_t x86_tp_offset(const tls_block *b)
{
    return -align_up(b->size, b->align);
}

/* The large code model finds the GOT with GOTPC64. */
static void x86_tls_begin(tls_c_run *k)
{
    x86_tls_state *st = k->state;
    for (size_t i = 0; i < k->ps->n; i++)
        if (k->ps->r[i].type == R_X86_64_GOTPC64)
            st->got = rd64(k->m, k->ps->r[i].P) + k->ps->r[i].P - (uint64_t)k->ps->r[i].A;
}

static const char *x86_describe(uint32_t t, char *buf, size_t len)
{
    snprintf(buf, len, "R_X86_64_%s", type_name(t));
    return buf;
}

/* tls_c_VARIANT.o + tls_c2_VARIANT.o (../tls_c.c, ../tls_c2.c): every TLS
 * relocation of their code checked from the psABI formula, and every type
 * of WANT (0-terminated) met at least once: tls_check_c(&x86_tls_c,
 * VARIANT, WANT) (../harness.c). */
static const tls_c_arch x86_tls_c = {
    .tga_off = 0x20000000,
    .tp_offset = x86_tp_offset,
    .state_size = sizeof(x86_tls_state),
    .begin = x86_tls_begin,
    .passes = 1,
    .check_one = x86_tls_check_one,
    .min_checked = 10,
    .first_type = 0,
    .describe = x86_describe,
};

Test(reloc_x86_64, tls_c_gcc_pic)
{
    const uint32_t want[] = {R_X86_64_TLSGD, R_X86_64_TLSLD, R_X86_64_DTPOFF32,
                             R_X86_64_GOTTPOFF, R_X86_64_TPOFF32, 0};
    tls_check_c(&x86_tls_c, "pic", want);
}

Test(reloc_x86_64, tls_c_gcc_nopic)
{
    const uint32_t want[] = {R_X86_64_TPOFF32, R_X86_64_GOTTPOFF, R_X86_64_TLSGD,
                             R_X86_64_TLSLD, 0};
    tls_check_c(&x86_tls_c, "nopic", want);
}

Test(reloc_x86_64, tls_c_gcc_pie)
{
    const uint32_t want[] = {R_X86_64_TPOFF32, R_X86_64_GOTTPOFF, 0};
    tls_check_c(&x86_tls_c, "pie", want);
}

Test(reloc_x86_64, tls_c_gcc_O0g)
{
    const uint32_t want[] = {R_X86_64_TLSGD, R_X86_64_GOTTPOFF, R_X86_64_TPOFF32, 0};
    tls_check_c(&x86_tls_c, "O0g", want);
}

Test(reloc_x86_64, tls_c_gcc_large_pic)
{
    const uint32_t want[] = {R_X86_64_TLSGD, R_X86_64_TLSLD, R_X86_64_GOTTPOFF, 0};
    tls_check_c(&x86_tls_c, "large_pic", want);
}

Test(reloc_x86_64, tls_c_gcc_large_nopic)
{
    const uint32_t want[] = {R_X86_64_TPOFF32, R_X86_64_GOTTPOFF, 0};
    tls_check_c(&x86_tls_c, "large_nopic", want);
}

/* Descriptors; local-dynamic through _TLS_MODULE_BASE_, which the linker
 * defines as the block's start (S = 0). */
Test(reloc_x86_64, tls_c_gcc_gnu2)
{
    const uint32_t want[] = {R_X86_64_GOTPC32_TLSDESC, R_X86_64_TLSDESC_CALL,
                             R_X86_64_DTPOFF32, R_X86_64_GOTTPOFF, 0};
    tls_check_c(&x86_tls_c, "gnu2", want);
}

#if EJ_RX_HAVE_CLANG
Test(reloc_x86_64, tls_c_clang_pic)
{
    const uint32_t want[] = {R_X86_64_TLSGD, R_X86_64_TLSLD, R_X86_64_DTPOFF32, 0};
    tls_check_c(&x86_tls_c, "clang_pic", want);
}

Test(reloc_x86_64, tls_c_clang_large_pic)
{
    const uint32_t want[] = {R_X86_64_TLSGD, R_X86_64_TLSLD, R_X86_64_GOTTPOFF, 0};
    tls_check_c(&x86_tls_c, "clang_large_pic", want);
}

Test(reloc_x86_64, tls_c_clang_large_nopic)
{
    const uint32_t want[] = {R_X86_64_TPOFF32, R_X86_64_GOTTPOFF, 0};
    tls_check_c(&x86_tls_c, "clang_large_nopic", want);
}
#endif

/* ================================================================== */
/* A real link that runs: placement near libc.                         */
/* ================================================================== */

static void redirect_stdout(void)
{
    cr_redirect_stdout();
}

Test(reloc_x86_64, real_link_pie_puts_runs, .init = redirect_stdout)
{
    ej_module *m = link_ok(0, NULL, fx("pie_puts.o"));
    cr_assert_eq(ej_module_init(m, 0, NULL, NULL), EJ_OK);
    FILE *(*say)(int) = (FILE * (*)(int))ej_module_symbol(m, "say_hello");
    cr_assert_not_null(say);
    FILE *got = say(7);
    /* stdout was read through R_X86_64_PC32: the image reaches it. */
    cr_expect_eq(got, stdout);
    uint64_t start, end;
    ej_module_range(m, &start, &end);
    uint64_t so = host_sym("stdout");
    cr_expect(fits_s32((int64_t)(so - start)) && fits_s32((int64_t)(so - end)),
              "image [0x%" PRIx64 ", 0x%" PRIx64 ") is not within 2 GiB of stdout 0x%" PRIx64,
              start, end, so);
    fflush(stdout);
    cr_expect_stdout_eq_str("hello 7\nfrom elfjit\n");
    ej_module_free(m);
}
