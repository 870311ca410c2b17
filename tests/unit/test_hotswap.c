/* Hot swap (include/elfjit/session.h, "hot swap"): redirectable names.
 * A redirectable name means its stub: calls of modules linked later and
 * function pointers taken at any time follow each new definition, freeing
 * the current one falls back to the newest remaining one or to the trap
 * function (SIGILL, EJ_SESSION_TRAP_UNRESOLVED), callers do not depend on
 * the definition's module, and concurrent callers see one whole version
 * per call while definitions are swapped and old ones freed.
 *
 * The modules are built through the builder from a few instructions of the
 * host's machine code (the encodings were checked against the GNU
 * assemblers and objdump of each architecture).  Threads never assert:
 * they record what went wrong, and the test's own thread checks.  Under an
 * emulator the threaded case first runs a probe (a child that creates one
 * thread, with a timeout) and is skipped when it does not finish: qemu-user
 * can hang in pthread_create on some hosts. */
#include <criterion/criterion.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "elfjit/builder.h"
#include "elfjit/elfjit.h"
#include "elfjit/session.h"
#include "testutil.h"

/* One timeout for every case (see test_tls.c: Criterion 2.4.1's runner
 * leaks a watchdog entry under ASan when timeouts differ). */
TestSuite(hotswap, .timeout = 120);

/* ---- machine code -------------------------------------------------------
 *
 * code_f: f(x) = x + K for any 32-bit K (versions are told apart by K).
 * code_g: g(x) = f(x) * 2, a call to f (relocation G_CALL_AT).
 * code_addr: returns f's address, loaded from its GOT slot (H_GOT_AT). */
#if defined(__x86_64__)
static size_t code_f(uint8_t *b, int32_t k)
{
    uint8_t c[] = {0x8d, 0x87, 0, 0, 0, 0, 0xc3}; /* lea k(%rdi),%eax; ret */
    memcpy(c + 2, &k, 4);
    memcpy(b, c, sizeof c);
    return sizeof c;
}
static const uint8_t code_g[] = {0x48, 0x83, 0xec, 0x08, 0xe8, 0, 0, 0, 0, 0x01, 0xc0,
                                 0x48, 0x83, 0xc4, 0x08, 0xc3};
enum { G_CALL_AT = 5, G_CALL_ADDEND = -4 };
static const uint8_t code_addr[] = {0x48, 0x8b, 0x05, 0, 0, 0, 0, 0xc3};
enum { H_GOT_AT = 3, H_GOT_ADDEND = -4 };
#elif defined(__aarch64__)
static size_t code_f(uint8_t *b, int32_t k)
{
    uint32_t u = (uint32_t)k;
    /* movz w1, #lo16; movk w1, #hi16, lsl #16; add w0, w0, w1; ret */
    const uint32_t c[] = {0x52800001u | (u & 0xffffu) << 5, 0x72a00001u | (u >> 16) << 5,
                          0x0b010000u, 0xd65f03c0u};
    memcpy(b, c, sizeof c);
    return sizeof c;
}
static const uint32_t code_g[] = {0xa9bf7bfdu, 0x94000000u, 0x0b000000u, 0xa8c17bfdu,
                                  0xd65f03c0u};
enum { G_CALL_AT = 4, G_CALL_ADDEND = 0 };
/* adrp x0, :got:f; ldr x0, [x0, :got_lo12:f]; ret */
static const uint32_t code_addr[] = {0x90000000u, 0xf9400000u, 0xd65f03c0u};
enum { H_GOT_AT = 0, H_GOT_ADDEND = 0 };
#elif defined(__riscv) && __riscv_xlen == 64
static size_t code_f(uint8_t *b, int32_t k)
{
    /* lui t0, hi; addiw t0, t0, lo; addw a0, a0, t0; ret (hi rounded so
     * that the sign-extended lo adds up to k) */
    uint32_t hi = ((uint32_t)k + 0x800u) >> 12;
    uint32_t lo = (uint32_t)k - (hi << 12);
    const uint32_t c[] = {hi << 12 | 5u << 7 | 0x37u,
                          (lo & 0xfffu) << 20 | 5u << 15 | 5u << 7 | 0x1bu,
                          5u << 20 | 10u << 15 | 10u << 7 | 0x3bu, 0x00008067u};
    memcpy(b, c, sizeof c);
    return sizeof c;
}
static const uint32_t code_g[] = {0xff010113u, 0x00113423u, 0x00000097u, 0x000080e7u,
                                  0x00a5053bu, 0x00813083u, 0x01010113u, 0x00008067u};
enum { G_CALL_AT = 8, G_CALL_ADDEND = 0 };
/* auipc a0, %got_pcrel_hi(f); ld a0, %pcrel_lo(..)(a0); ret */
static const uint32_t code_addr[] = {0x00000517u, 0x00053503u, 0x00008067u};
enum { H_GOT_AT = 0, H_GOT_ADDEND = 0 };
#else
#error "no test code for this architecture"
#endif

typedef int (*fn1)(int);
typedef void *(*addr_fn)(void);

/* ---- building and linking ---------------------------------------------- */

static void *finish(ej_builder *b, size_t *len)
{
    void *img;
    cr_assert_eq(ej_builder_finish(b, &img, len), EJ_OK, "%s", ej_builder_errmsg(b));
    ej_builder_free(b);
    return img;
}

static ej_module *link_into(ej_session *s, void *img, size_t len)
{
    ej_linker *lk;
    ej_module *m = NULL;
    cr_assert_eq(ej_linker_create(&lk), EJ_OK);
    /* (No GDB registration: many small modules, and gdb is not watching.) */
    cr_assert_eq(ej_linker_set_registration(lk, EJ_REGISTER_DEFAULT & ~EJ_REGISTER_GDB), EJ_OK);
    cr_assert_eq(ej_linker_add_buffer(lk, "m.o", img, len), EJ_OK, "%s", ej_linker_errmsg(lk));
    ej_status st = ej_session_link(s, lk, &m);
    cr_assert_eq(st, EJ_OK, "session link: %s", ej_session_errmsg(s));
    ej_linker_free(lk);
    free(img);
    return m;
}

/* A module defining f(x) = x + K. */
static ej_module *module_f(ej_session *s, int32_t k)
{
    ej_builder *b;
    uint32_t id;
    uint8_t code[32];
    size_t n = code_f(code, k), len;
    cr_assert_eq(ej_builder_create(&b, 0), EJ_OK);
    cr_assert_eq(ej_builder_add_function(b, "f", code, n, 0, EJ_BIND_GLOBAL, &id), EJ_OK);
    void *img = finish(b, &len);
    return link_into(s, img, len);
}

/* A module defining GNAME(x) = f(x) * 2, f an import (from the session). */
static ej_module *module_caller(ej_session *s, const char *gname)
{
    ej_builder *b;
    uint32_t g, f;
    size_t len;
    cr_assert_eq(ej_builder_create(&b, 0), EJ_OK);
    cr_assert_eq(ej_builder_add_function(b, gname, code_g, sizeof code_g, 0, EJ_BIND_GLOBAL, &g),
                 EJ_OK);
    cr_assert_eq(ej_builder_add_import(b, "f", &f), EJ_OK);
    cr_assert_eq(ej_builder_add_reloc(b, g, G_CALL_AT, EJ_RELOC_CALL, f, G_CALL_ADDEND), EJ_OK);
    void *img = finish(b, &len);
    return link_into(s, img, len);
}

/* A module defining f(x) = x + K and GNAME(x) = f(x) * 2 calling that f
 * (the relocation names the module's own symbol). */
static ej_module *module_f_and_caller(ej_session *s, int32_t k, const char *gname)
{
    ej_builder *b;
    uint32_t g, f;
    uint8_t code[32];
    size_t n = code_f(code, k), len;
    cr_assert_eq(ej_builder_create(&b, 0), EJ_OK);
    cr_assert_eq(ej_builder_add_function(b, "f", code, n, 0, EJ_BIND_GLOBAL, &f), EJ_OK);
    cr_assert_eq(ej_builder_add_function(b, gname, code_g, sizeof code_g, 0, EJ_BIND_GLOBAL, &g),
                 EJ_OK);
    cr_assert_eq(ej_builder_add_reloc(b, g, G_CALL_AT, EJ_RELOC_CALL, f, G_CALL_ADDEND), EJ_OK);
    void *img = finish(b, &len);
    return link_into(s, img, len);
}

/* A module defining NAME() = &f, f an import (its address as the module
 * sees it). */
static ej_module *module_addr(ej_session *s, const char *name)
{
    ej_builder *b;
    uint32_t h, f;
    size_t len;
    cr_assert_eq(ej_builder_create(&b, 0), EJ_OK);
    cr_assert_eq(ej_builder_add_function(b, name, code_addr, sizeof code_addr, 0,
                                         EJ_BIND_GLOBAL, &h), EJ_OK);
    cr_assert_eq(ej_builder_add_import(b, "f", &f), EJ_OK);
    cr_assert_eq(ej_builder_add_reloc(b, h, H_GOT_AT, EJ_RELOC_GOT_LOAD, f, H_GOT_ADDEND), EJ_OK,
                 "%s", ej_builder_errmsg(b));
    void *img = finish(b, &len);
    return link_into(s, img, len);
}

/* A module defining f as a data object (an int), not a function. */
static ej_module *module_data_f(ej_session *s, int32_t value)
{
    ej_builder *b;
    uint32_t id;
    size_t len;
    cr_assert_eq(ej_builder_create(&b, 0), EJ_OK);
    cr_assert_eq(ej_builder_add_data(b, "f", EJ_DATA_DATA, &value, 4, 4, EJ_BIND_GLOBAL, &id),
                 EJ_OK);
    void *img = finish(b, &len);
    return link_into(s, img, len);
}

static ej_session *new_session(void)
{
    ej_session *s;
    cr_assert_eq(ej_session_create(&s), EJ_OK);
    return s;
}

static fn1 sym1(ej_session *s, const char *name)
{
    fn1 f = (fn1)ej_session_symbol(s, name);
    cr_assert_not_null(f, "the session has no '%s'", name);
    return f;
}

/* ---- calls that may trap ------------------------------------------------
 *
 * A call that reaches the trap function raises SIGILL there; the handler
 * notes what ej_lookup_pc says about the PC and jumps back out. */

typedef struct outcome {
    int trapped;
    int value;          /* the result when it returned */
    uint64_t pc;        /* where it trapped */
    int found;          /* ej_lookup_pc found a module there */
    ej_pc_info info;
} outcome;

typedef struct call_ctx {
    fn1 f;
    int x;
    int value;
} call_ctx;

static void call_body(void *arg)
{
    call_ctx *c = arg;
    c->value = c->f(c->x);
}

static outcome call(fn1 f, int x)
{
    call_ctx c = {f, x, 0};
    outcome o;
    memset(&o, 0, sizeof o);
    o.trapped = ej_test_catch_sigill(call_body, &c, &o.pc);
    o.value = c.value;
    if (o.trapped)
        o.found = ej_lookup_pc(o.pc, &o.info);
    return o;
}

static void expect_value(fn1 f, int x, int want, const char *what)
{
    outcome o = call(f, x);
    cr_assert(!o.trapped, "%s(%d) trapped at %#" PRIx64 " (%s) instead of returning %d", what,
              x, o.pc, o.found && o.info.function ? o.info.function : "?", want);
    cr_assert_eq(o.value, want, "%s(%d) = %d, not %d", what, x, o.value, want);
}

static void expect_trap(fn1 f, int x, const char *what)
{
    outcome o = call(f, x);
    cr_assert(o.trapped, "%s(%d) returned %d instead of trapping", what, x, o.value);
    cr_assert(o.found, "%s: the SIGILL at %#" PRIx64 " is in no module", what, o.pc);
    cr_assert(o.info.has_trap, "%s: the SIGILL at %#" PRIx64 " (%s+%#" PRIx64 ") is no trap "
              "site", what, o.pc, o.info.function ? o.info.function : "?", o.info.offset);
    cr_assert_eq(o.info.trap_code, EJ_SESSION_TRAP_UNRESOLVED, "%s: trap code %#x", what,
                 o.info.trap_code);
}

/* Distinct constants, so a result tells which definition ran. */
enum { KA = 100000, KB = 200000, KC = 300000 };

/* ---- 1. calls follow the current definition ---------------------------- */

Test(hotswap, calls_and_pointers_follow_each_definition)
{
    ej_session *s = new_session();
    ej_module *a = module_f(s, KA);
    cr_assert_eq(ej_session_redirect(s, "f"), EJ_OK, "%s", ej_session_errmsg(s));
    fn1 stub = sym1(s, "f"); /* a pointer taken before any swap */
    cr_assert_neq((void *)stub, ej_module_symbol(a, "f"), "ej_session_symbol gave A's f, not "
                  "the stub");
    expect_value(stub, 1, 1 + KA, "the stub (A)");
    module_caller(s, "g");
    fn1 g = sym1(s, "g");
    expect_value(g, 1, 2 * (1 + KA), "g (A)");

    ej_module *b = module_f(s, KB);
    cr_assert_eq((void *)sym1(s, "f"), (void *)stub, "the stub moved");
    expect_value(stub, 2, 2 + KB, "the old pointer (B)");
    expect_value(g, 2, 2 * (2 + KB), "g (B)");

    ej_module_free(b); /* back to A, the newest remaining definition */
    expect_value(stub, 3, 3 + KA, "the stub (back to A)");
    expect_value(g, 3, 2 * (3 + KA), "g (back to A)");

    cr_assert_eq(ej_session_remove(s, a), EJ_OK, "%s", ej_session_errmsg(s));
    cr_assert_eq((void *)sym1(s, "f"), (void *)stub, "without a definition, f is the stub");
    expect_trap(stub, 4, "the stub (no definition)");
    expect_trap(g, 4, "g (no definition)");

    module_f(s, KC); /* defining f again: calls work again */
    expect_value(stub, 5, 5 + KC, "the stub (C)");
    expect_value(g, 5, 2 * (5 + KC), "g (C)");
    ej_session_free(s);
}

/* Rolling a swap back under callers: retiring the new module sends the
 * slot back to the old definition while the new code stays mapped (a
 * call already inside it could finish), and it can be freed afterwards. */
Test(hotswap, retiring_rolls_back_and_keeps_the_code)
{
    ej_session *s = new_session();
    module_f(s, KA);
    cr_assert_eq(ej_session_redirect(s, "f"), EJ_OK, "%s", ej_session_errmsg(s));
    fn1 stub = sym1(s, "f");
    ej_module *b = module_f(s, KB);
    fn1 b_f = (fn1)(uintptr_t)ej_module_symbol(b, "f");
    expect_value(stub, 1, 1 + KB, "the stub (B)");
    cr_assert_eq(ej_session_retire(s, b), EJ_OK, "%s", ej_session_errmsg(s));
    expect_value(stub, 2, 2 + KA, "the stub after B retired (back to A)");
    expect_value(b_f, 3, 3 + KB, "B's own code, still mapped after retiring");
    cr_assert_eq(ej_session_retire(s, b), EJ_OK, "retiring twice");
    cr_assert_null(ej_session_symbol(s, "no_such_name"));
    ej_module_free(b);
    expect_value(stub, 4, 4 + KA, "the stub after B was freed");
    cr_assert_eq(ej_session_retire(NULL, b), EJ_INVAL);
    ej_session_free(s);
}

Test(hotswap, taken_addresses_are_the_stub)
{
    ej_session *s = new_session();
    ej_module *a = module_f(s, KA);
    module_addr(s, "addr_before");
    cr_assert_eq(ej_session_redirect(s, "f"), EJ_OK, "%s", ej_session_errmsg(s));
    module_addr(s, "addr_after");
    void *stub = ej_session_symbol(s, "f");
    cr_assert_eq(((addr_fn)ej_session_symbol(s, "addr_after"))(), stub,
                 "a module linked after the redirect does not see f as the stub");
    cr_assert_eq(((addr_fn)ej_session_symbol(s, "addr_before"))(), ej_module_symbol(a, "f"),
                 "a module linked before the redirect sees its old binding");
    module_f(s, KB);
    cr_assert_eq(ej_session_symbol(s, "f"), stub);
    expect_value((fn1)((addr_fn)ej_session_symbol(s, "addr_after"))(), 1, 1 + KB,
                 "the address taken inside a module (B)");
    ej_session_free(s);
}

/* A module defining NAMES functions f0, f1, ... with fI(x) = x + BASE + I. */
enum { NAMES = 40 }; /* more than the first slot table holds */

static ej_module *module_many(ej_session *s, int32_t base)
{
    ej_builder *b;
    uint32_t id;
    uint8_t code[32];
    size_t len;
    cr_assert_eq(ej_builder_create(&b, 0), EJ_OK);
    for (int i = 0; i < NAMES; i++) {
        char name[16];
        snprintf(name, sizeof name, "f%d", i);
        size_t n = code_f(code, base + i);
        cr_assert_eq(ej_builder_add_function(b, name, code, n, 0, EJ_BIND_GLOBAL, &id), EJ_OK);
    }
    void *img = finish(b, &len);
    return link_into(s, img, len);
}

static void expect_many(ej_session *s, fn1 *stubs, int32_t base, const char *what)
{
    for (int i = 0; i < NAMES; i++) {
        char name[16];
        snprintf(name, sizeof name, "f%d", i);
        cr_assert_eq((void *)ej_session_symbol(s, name), (void *)stubs[i], "%s: %s moved",
                     what, name);
        expect_value(stubs[i], i, i + base + i, name);
    }
}

Test(hotswap, many_names_each_follow_their_definition)
{
    ej_session *s = new_session();
    fn1 stubs[NAMES];
    ej_module *a = module_many(s, KA);
    for (int i = 0; i < NAMES; i++) {
        char name[16];
        snprintf(name, sizeof name, "f%d", i);
        cr_assert_eq(ej_session_redirect(s, name), EJ_OK, "%s", ej_session_errmsg(s));
        stubs[i] = sym1(s, name);
        cr_assert_neq((void *)stubs[i], ej_module_symbol(a, name), "%s is not redirected", name);
    }
    expect_many(s, stubs, KA, "A");
    ej_module *b = module_many(s, KB); /* one link retargets every slot */
    expect_many(s, stubs, KB, "B");
    cr_assert_eq(ej_session_remove(s, b), EJ_OK, "%s", ej_session_errmsg(s));
    expect_many(s, stubs, KA, "back to A");
    ej_session_free(s);
}

/* ---- 2. redirecting names without a (code) definition ------------------ */

Test(hotswap, a_name_without_definition_traps_until_defined)
{
    ej_session *s = new_session();
    cr_assert_eq(ej_session_redirect(s, "f"), EJ_OK, "%s", ej_session_errmsg(s));
    fn1 stub = sym1(s, "f");
    cr_assert_eq(ej_session_redirect(s, "f"), EJ_OK, "redirecting twice: %s",
                 ej_session_errmsg(s));
    cr_assert_eq((void *)sym1(s, "f"), (void *)stub, "redirecting twice made a second stub");
    expect_trap(stub, 1, "the stub (no definition yet)");
    /* A caller links against the stub alone: no module defines f yet. */
    module_caller(s, "g");
    fn1 g = sym1(s, "g");
    expect_trap(g, 1, "g (no definition yet)");
    module_f(s, KA);
    expect_value(stub, 2, 2 + KA, "the stub (A)");
    expect_value(g, 2, 2 * (2 + KA), "g (A)");
    cr_assert_eq(ej_session_redirect(s, "f"), EJ_OK, "redirecting a defined name again");
    expect_value(stub, 3, 3 + KA, "the stub after redirecting again");
    ej_session_free(s);
}

Test(hotswap, a_data_definition_does_not_retarget)
{
    ej_session *s = new_session();
    cr_assert_eq(ej_session_redirect(s, "f"), EJ_OK, "%s", ej_session_errmsg(s));
    fn1 stub = sym1(s, "f");
    ej_module *d1 = module_data_f(s, 0x1234);
    cr_assert_eq((void *)sym1(s, "f"), (void *)stub, "f is the stub, whatever defines it");
    expect_trap(stub, 1, "the stub (only a data object named f)");
    module_f(s, KA);
    ej_module *d2 = module_data_f(s, 0x5678);
    expect_value(stub, 2, 2 + KA, "the stub (A, a data object newer)");
    cr_assert_eq(ej_session_remove(s, d2), EJ_OK, "%s", ej_session_errmsg(s));
    cr_assert_eq(ej_session_remove(s, d1), EJ_OK, "%s", ej_session_errmsg(s));
    expect_value(stub, 3, 3 + KA, "the stub (A, the data objects gone)");
    ej_session_free(s);
}

Test(hotswap, redirect_skips_a_newer_data_definition)
{
    /* Only a data object: the slot starts at the trap function. */
    ej_session *s = new_session();
    module_data_f(s, 7);
    cr_assert_eq(ej_session_redirect(s, "f"), EJ_OK, "%s", ej_session_errmsg(s));
    expect_trap(sym1(s, "f"), 1, "the stub (only a data object named f)");
    ej_session_free(s);
    /* Code under a newer data object: the slot starts at the code. */
    s = new_session();
    module_f(s, KA);
    module_data_f(s, 7);
    cr_assert_eq(ej_session_redirect(s, "f"), EJ_OK, "%s", ej_session_errmsg(s));
    expect_value(sym1(s, "f"), 1, 1 + KA, "the stub (A under a data object)");
    ej_session_free(s);
}

Test(hotswap, redirect_needs_a_session_and_a_name)
{
    ej_session *s = new_session();
    cr_assert_eq(ej_session_redirect(NULL, "f"), EJ_INVAL);
    cr_assert_eq(ej_session_redirect(s, NULL), EJ_INVAL);
    cr_assert(strstr(ej_session_errmsg(s), "ej_session_redirect"), "the message: '%s'",
              ej_session_errmsg(s));
    cr_assert_eq(ej_session_redirect(s, ""), EJ_INVAL);
    cr_assert(strstr(ej_session_errmsg(s), "ej_session_redirect"), "the message: '%s'",
              ej_session_errmsg(s));
    cr_assert_null(ej_session_symbol(s, ""), "an empty name became redirectable");
    ej_session_free(s);
}

/* ---- 3. what is not redirected ----------------------------------------- */

Test(hotswap, modules_linked_before_keep_their_binding)
{
    ej_session *s = new_session();
    ej_module *a = module_f(s, KA);
    ej_module *early = module_caller(s, "g_early");
    cr_assert_eq(ej_session_redirect(s, "f"), EJ_OK, "%s", ej_session_errmsg(s));
    module_caller(s, "g_late");
    module_f(s, KB);
    expect_value(sym1(s, "g_early"), 1, 2 * (1 + KA), "g_early (linked before the redirect)");
    expect_value(sym1(s, "g_late"), 1, 2 * (1 + KB), "g_late (linked after the redirect)");
    /* g_early depends on A as before; the message names both. */
    cr_assert_eq(ej_session_remove(s, a), EJ_STATE, "A was freed under g_early");
    const char *msg = ej_session_errmsg(s);
    cr_assert(strstr(msg, "defining 'f'"), "%s", msg);
    cr_assert(strstr(msg, "defining 'g_early'"), "%s", msg);
    cr_assert_null(strstr(msg, "g_late"), "g_late does not use A: %s", msg);
    cr_assert_eq(ej_session_remove(s, early), EJ_OK, "%s", ej_session_errmsg(s));
    cr_assert_eq(ej_session_remove(s, a), EJ_OK, "%s", ej_session_errmsg(s));
    expect_value(sym1(s, "g_late"), 2, 2 * (2 + KB), "g_late (B, A gone)");
    ej_session_free(s);
}

Test(hotswap, calls_inside_the_defining_module_bind_to_it)
{
    ej_session *s = new_session();
    cr_assert_eq(ej_session_redirect(s, "f"), EJ_OK, "%s", ej_session_errmsg(s));
    ej_module *a = module_f_and_caller(s, KA, "g_a");
    fn1 g_a = sym1(s, "g_a");
    expect_value(sym1(s, "f"), 1, 1 + KA, "the stub (A)");
    expect_value(g_a, 1, 2 * (1 + KA), "g_a (A's own f)");
    module_f(s, KB);
    expect_value(sym1(s, "f"), 2, 2 + KB, "the stub (B)");
    expect_value(g_a, 2, 2 * (2 + KA), "g_a (still A's own f)");
    expect_value((fn1)ej_module_symbol(a, "f"), 3, 3 + KA, "A's f itself");
    ej_session_free(s);
}

/* ---- 4. the slot decouples callers from the definition ----------------- */

Test(hotswap, callers_do_not_hold_the_definition)
{
    ej_session *s = new_session();
    cr_assert_eq(ej_session_redirect(s, "f"), EJ_OK, "%s", ej_session_errmsg(s));
    ej_module *a = module_f(s, KA);
    ej_module *c = module_caller(s, "g");
    fn1 g = sym1(s, "g");
    uint64_t fa = (uint64_t)(uintptr_t)ej_module_symbol(a, "f");
    ej_pc_info pi;
    cr_assert_eq(ej_lookup_pc(fa, &pi), 1);
    cr_assert_eq(ej_session_remove(s, a), EJ_OK, "C holds A through the slot: %s",
                 ej_session_errmsg(s));
    cr_assert_eq(ej_lookup_pc(fa, &pi), 0, "A's code is still mapped after its removal");
    expect_trap(g, 1, "g (A removed)");
    ej_module *b = module_f(s, KB);
    expect_value(g, 2, 2 * (2 + KB), "g (B)");
    /* ej_module_free too frees B at once (nothing waits for C). */
    uint64_t fb = (uint64_t)(uintptr_t)ej_module_symbol(b, "f");
    ej_module_free(b);
    cr_assert_eq(ej_lookup_pc(fb, &pi), 0, "B's free was deferred: something depends on it");
    expect_trap(g, 3, "g (B freed)");
    cr_assert_eq(ej_session_remove(s, c), EJ_OK, "%s", ej_session_errmsg(s));
    ej_session_free(s);
}

/* ---- 6. errors --------------------------------------------------------- */

static ej_status no_materialiser(ej_session *s, const char *name, void *ctx)
{
    (void)s, (void)name, (void)ctx;
    return EJ_INVAL;
}

Test(hotswap, errors_name_what_failed)
{
    ej_session *s = new_session();
    cr_assert_eq(ej_session_redirect(s, "f"), EJ_OK, "%s", ej_session_errmsg(s));
    cr_assert_eq(ej_session_declare(s, "f", no_materialiser, NULL, NULL), EJ_STATE,
                 "declaring a redirectable name");
    const char *msg = ej_session_errmsg(s);
    cr_assert(strstr(msg, "'f'") && strstr(msg, "redirectable"), "the message: '%s'", msg);
    /* The failed declaration left the name as it was. */
    expect_trap(sym1(s, "f"), 1, "the stub (no definition)");
    module_f(s, KA);
    expect_value(sym1(s, "f"), 1, 1 + KA, "the stub (A)");

    ej_session *t = new_session();
    ej_module *other = module_f(t, KB);
    cr_assert_eq(ej_session_remove(s, other), EJ_INVAL, "another session's module");
    cr_assert(strstr(ej_session_errmsg(s), "ej_session_remove"), "the message: '%s'",
              ej_session_errmsg(s));
    ej_session_free(t);
    ej_session_free(s);
}

/* A link that fails names the import nothing defines, not the redirectable
 * name without a definition (that one is its stub, which is defined). */
Test(hotswap, an_undefined_import_is_named_not_the_redirected_one)
{
    ej_session *s = new_session();
    cr_assert_eq(ej_session_redirect(s, "f"), EJ_OK, "%s", ej_session_errmsg(s));
    ej_builder *b;
    uint32_t g, h, f, missing;
    size_t len;
    cr_assert_eq(ej_builder_create(&b, 0), EJ_OK);
    cr_assert_eq(ej_builder_add_function(b, "g", code_g, sizeof code_g, 0, EJ_BIND_GLOBAL, &g),
                 EJ_OK);
    cr_assert_eq(ej_builder_add_function(b, "h", code_g, sizeof code_g, 0, EJ_BIND_GLOBAL, &h),
                 EJ_OK);
    cr_assert_eq(ej_builder_add_import(b, "f", &f), EJ_OK);
    cr_assert_eq(ej_builder_add_import(b, "ej_test_hotswap_missing", &missing), EJ_OK);
    cr_assert_eq(ej_builder_add_reloc(b, g, G_CALL_AT, EJ_RELOC_CALL, f, G_CALL_ADDEND), EJ_OK);
    cr_assert_eq(ej_builder_add_reloc(b, h, G_CALL_AT, EJ_RELOC_CALL, missing, G_CALL_ADDEND),
                 EJ_OK);
    void *img = finish(b, &len);
    ej_linker *lk;
    ej_module *m = (ej_module *)1;
    cr_assert_eq(ej_linker_create(&lk), EJ_OK);
    cr_assert_eq(ej_linker_add_buffer(lk, "m.o", img, len), EJ_OK);
    cr_assert_eq(ej_session_link(s, lk, &m), EJ_UNDEFINED, "%s", ej_session_errmsg(s));
    cr_assert_null(m);
    const char *msg = ej_session_errmsg(s);
    cr_assert(strstr(msg, "ej_test_hotswap_missing"), "the message: '%s'", msg);
    cr_assert_null(strstr(msg, "'f'"), "f is defined (its stub): '%s'", msg);
    ej_linker_free(lk);
    free(img);
    /* The failed link changed nothing: f still traps, g is not there. */
    expect_trap(sym1(s, "f"), 1, "the stub (no definition)");
    cr_assert_null(ej_session_symbol(s, "g"));
    ej_session_free(s);
}

/* ---- 5. swaps under concurrent callers ----------------------------------
 *
 * CALLERS threads call f through the stub (and through g, linked once) in
 * a loop while the main thread links versions 2, 3, ... of f, version V
 * being f(x) = x + VSTEP * V, and frees each old version once it is safe.
 *
 * Freeing is the embedder's job (session.h): here an epoch.  Each caller
 * counts its finished calls, a quiescent point between calls where it runs
 * no version's code.  Once version V+1 is linked, the counts are noted;
 * when every caller's count has moved past its note, the call each was in
 * (which may have entered V) has returned, and every later call started
 * after the swap, so V can go.
 *
 * Each call's result must be x + VSTEP * V for a V that was published when
 * the call started (ej_session_link of V had returned: every call after it
 * runs V or newer) and whose link had started when it ended. */

enum {
    VSTEP = 1000,
    VMIN = 50,       /* versions linked whatever the time */
    VMAX = 200,      /* versions linked at most */
    MAX_CALLERS = 3,
    WINDOW = 4,      /* replaced versions kept before waiting for the epoch */
};
#define SWAP_SECONDS 2.0
#define HARD_SECONDS 20.0 /* no progress by then: something is stuck */

typedef struct caller {
    pthread_t thread;
    int index;
    _Atomic unsigned long calls; /* finished calls: the epoch */
    _Atomic int done;
    /* Written by the thread, read after the join. */
    unsigned long seen[VMAX + 1]; /* calls per version */
    unsigned long bad;
    int bad_x, bad_r, bad_lo, bad_hi, bad_through_g;
    int saw_last, timed_out;
} caller;

static fn1 g_stub, g_via;           /* f's stub; g(x) = f(x) * 2 */
static _Atomic int g_published;     /* the newest version whose link returned */
static _Atomic int g_linking;       /* the newest version whose link started */
static _Atomic int g_last;          /* the last version, once every swap is done */
static _Atomic int g_abort;
static double g_hard_end;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void note_bad(caller *c, int x, int r, int lo, int hi, int through_g)
{
    if (!c->bad++) {
        c->bad_x = x;
        c->bad_r = r;
        c->bad_lo = lo;
        c->bad_hi = hi;
        c->bad_through_g = through_g;
    }
}

static void *caller_main(void *arg)
{
    caller *c = arg;
    for (unsigned long i = 0;; i++) {
        int x = (int)(i & 0x3ff);
        int through_g = (int)(i & 1);
        int lo = atomic_load_explicit(&g_published, memory_order_acquire);
        int r = through_g ? g_via(x) : g_stub(x);
        /* The stub's load of the slot comes before the fence: the link that
         * stored what it read had set g_linking before. */
        atomic_thread_fence(memory_order_seq_cst);
        int hi = atomic_load_explicit(&g_linking, memory_order_relaxed);
        int d = through_g ? (r % 2 ? -1 : r / 2 - x) : r - x;
        int v = d / VSTEP;
        if (d < 0 || d % VSTEP || v < lo || v > hi)
            note_bad(c, x, r, lo, hi, through_g);
        else
            c->seen[v]++;
        atomic_fetch_add_explicit(&c->calls, 1, memory_order_release);
        int last = atomic_load_explicit(&g_last, memory_order_acquire);
        if (last && d == last * VSTEP) {
            c->saw_last = 1;
            break;
        }
        if (atomic_load_explicit(&g_abort, memory_order_relaxed))
            break;
        if (!(i & 1023) && now_s() > g_hard_end) {
            c->timed_out = 1;
            break;
        }
    }
    atomic_store(&c->done, 1);
    return NULL;
}

/* A replaced version waiting for its epoch. */
typedef struct pending {
    ej_module *m;
    int version;
    unsigned long note[MAX_CALLERS];
} pending;

static int epoch_passed(const pending *p, caller *cs, int n)
{
    for (int k = 0; k < n; k++)
        if (!atomic_load(&cs[k].done) && atomic_load(&cs[k].calls) <= p->note[k])
            return 0;
    return 1;
}

/* Frees the oldest pending versions whose epoch has passed; with WAIT,
 * waits for it (until g_hard_end) while more than KEEP are pending.
 * Returns 0 when a wait timed out. */
static int reap(ej_session *s, pending *q, int *nq, caller *cs, int n, int keep)
{
    while (*nq > 0) {
        if (!epoch_passed(&q[0], cs, n)) {
            if (*nq <= keep)
                return 1;
            if (now_s() > g_hard_end)
                return 0;
            sched_yield();
            continue;
        }
        cr_assert_eq(ej_session_remove(s, q[0].m), EJ_OK, "freeing version %d: %s",
                     q[0].version, ej_session_errmsg(s));
        memmove(q, q + 1, (size_t)(--*nq) * sizeof *q);
    }
    return 1;
}

static ej_module *module_version(ej_session *s, int v)
{
    return module_f(s, VSTEP * v);
}

/* Links versions 2.. while the callers run; returns the last one linked. */
static int swap_versions(ej_session *s, caller *cs, int n, ej_module *first)
{
    pending q[WINDOW + 1];
    int nq = 0, v = 1;
    ej_module *cur = first;
    double end = now_s() + SWAP_SECONDS;
    while (v < VMAX && (v < VMIN || now_s() < end)) {
        atomic_store(&g_linking, v + 1);
        ej_module *m = module_version(s, v + 1);
        atomic_store_explicit(&g_published, ++v, memory_order_release);
        q[nq] = (pending){cur, v - 1, {0}};
        for (int k = 0; k < n; k++)
            q[nq].note[k] = atomic_load(&cs[k].calls);
        nq++;
        cur = m;
        cr_assert(reap(s, q, &nq, cs, n, WINDOW), "no caller progress within %.0f s "
                  "(version %d waits for its epoch)", HARD_SECONDS, q[0].version);
    }
    cr_assert(reap(s, q, &nq, cs, n, 0), "no caller progress within %.0f s (version %d "
              "waits for its epoch)", HARD_SECONDS, nq ? q[0].version : 0);
    return v;
}

static void check_caller(const caller *c, int last)
{
    unsigned long total = 0, versions = 0;
    for (int v = 0; v <= VMAX; v++) {
        total += c->seen[v];
        versions += c->seen[v] != 0;
    }
    cr_log_info("caller %d: %lu good calls over %lu versions, %lu bad", c->index, total,
                versions, c->bad);
    cr_expect_eq(c->bad, 0, "caller %d: %lu calls returned what no current version returns; "
                 "the first: %s(%d) = %d, versions %d..%d current", c->index, c->bad,
                 c->bad_through_g ? "g" : "f", c->bad_x, c->bad_r, c->bad_lo, c->bad_hi);
    cr_expect(!c->timed_out, "caller %d: still running after %.0f s", c->index, HARD_SECONDS);
    cr_expect(c->saw_last, "caller %d never saw the last version (%d)", c->index, last);
}

Test(hotswap, concurrent_callers_see_whole_versions)
{
    EJ_TEST_REQUIRE_THREADS();
    alarm((unsigned)HARD_SECONDS + 30); /* a hang becomes a crash (SIGALRM) */
    int n = ej_test_emulator() ? 2 : MAX_CALLERS;
    ej_session *s = new_session();
    cr_assert_eq(ej_session_redirect(s, "f"), EJ_OK, "%s", ej_session_errmsg(s));
    ej_module *first = module_version(s, 1);
    module_caller(s, "g");
    g_stub = sym1(s, "f");
    g_via = sym1(s, "g");
    atomic_store(&g_linking, 1);
    atomic_store(&g_published, 1);
    atomic_store(&g_last, 0);
    atomic_store(&g_abort, 0);
    g_hard_end = now_s() + HARD_SECONDS;

    static caller cs[MAX_CALLERS];
    memset(cs, 0, sizeof cs);
    for (int k = 0; k < n; k++) {
        cs[k].index = k;
        if (pthread_create(&cs[k].thread, NULL, caller_main, &cs[k]) != 0) {
            atomic_store(&g_abort, 1);
            for (int j = 0; j < k; j++)
                pthread_join(cs[j].thread, NULL);
            cr_assert_fail("pthread_create: %s", strerror(errno));
        }
    }
    double t0 = now_s();
    int last = swap_versions(s, cs, n, first);
    double t1 = now_s();
    atomic_store_explicit(&g_last, last, memory_order_release);
    for (int k = 0; k < n; k++)
        pthread_join(cs[k].thread, NULL);
    alarm(0);

    cr_log_info("%d versions swapped in %.2f s under %d callers", last - 1, t1 - t0, n);
    unsigned long versions = 0;
    for (int v = 1; v <= last; v++) {
        unsigned long any = 0;
        for (int k = 0; k < n; k++)
            any += cs[k].seen[v];
        versions += any != 0;
    }
    for (int k = 0; k < n; k++)
        check_caller(&cs[k], last);
    cr_log_info("%lu of %d versions were seen by some caller", versions, last);
    cr_expect_geq(versions, 2, "the callers never saw a swap: nothing was tested");
    expect_value(g_stub, 7, 7 + VSTEP * last, "the stub after the swaps");
    ej_session_free(s);
}
