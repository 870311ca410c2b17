/* Sessions (include/elfjit/session.h): names resolved across modules,
 * calls and data references between them, shadowing, and the rules for
 * freeing a module others use. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "elfjit/builder.h"
#include "elfjit/elfjit.h"
#include "elfjit/session.h"

/* Machine code for the host: f(x) = x + K; g(x) = f(x) * 2 (a call to the
 * import f); h() = *d (d an import, loaded through its GOT slot). */
#if defined(__x86_64__)
static size_t code_f(uint8_t *b, int k)
{
    const uint8_t c[] = {0x8d, 0x47, (uint8_t)k, 0xc3};
    memcpy(b, c, sizeof c);
    return sizeof c;
}
static const uint8_t code_g[] = {0x48, 0x83, 0xec, 0x08, 0xe8, 0, 0, 0, 0, 0x01, 0xc0,
                                 0x48, 0x83, 0xc4, 0x08, 0xc3};
enum { G_CALL_AT = 5, G_CALL_ADDEND = -4 };
static const uint8_t code_h[] = {0x48, 0x8b, 0x05, 0, 0, 0, 0, 0x8b, 0x00, 0xc3};
enum { H_GOT_AT = 3, H_GOT_ADDEND = -4 };
#elif defined(__aarch64__)
static size_t code_f(uint8_t *b, int k)
{
    const uint32_t c[] = {0x11000000u | ((uint32_t)k << 10), 0xd65f03c0u};
    memcpy(b, c, sizeof c);
    return sizeof c;
}
static const uint32_t code_g[] = {0xa9bf7bfdu, 0x94000000u, 0x0b000000u, 0xa8c17bfdu,
                                  0xd65f03c0u};
enum { G_CALL_AT = 4, G_CALL_ADDEND = 0 };
static const uint32_t code_h[] = {0x90000000u, 0xf9400000u, 0xb9400000u, 0xd65f03c0u};
enum { H_GOT_AT = 0, H_GOT_ADDEND = 0 };
#elif defined(__riscv) && __riscv_xlen == 64
static size_t code_f(uint8_t *b, int k)
{
    const uint32_t c[] = {((uint32_t)k << 20) | (10u << 15) | (10u << 7) | 0x1bu, 0x00008067u};
    memcpy(b, c, sizeof c);
    return sizeof c;
}
static const uint32_t code_g[] = {0xff010113u, 0x00113423u, 0x00000097u, 0x000080e7u,
                                  0x00a5053bu, 0x00813083u, 0x01010113u, 0x00008067u};
enum { G_CALL_AT = 8, G_CALL_ADDEND = 0 };
static const uint32_t code_h[] = {0x00000517u, 0x00053503u, 0x00052503u, 0x00008067u};
enum { H_GOT_AT = 0, H_GOT_ADDEND = 0 };
#else
#error "no test code for this architecture"
#endif

static ej_module *link_into(ej_session *s, void *img, size_t len)
{
    ej_linker *lk;
    ej_module *m = NULL;
    cr_assert_eq(ej_linker_create(&lk), EJ_OK);
    cr_assert_eq(ej_linker_set_registration(lk, EJ_REGISTER_DEFAULT & ~EJ_REGISTER_GDB), EJ_OK);
    cr_assert_eq(ej_linker_add_buffer(lk, "m.o", img, len), EJ_OK, "%s", ej_linker_errmsg(lk));
    ej_status st = ej_session_link(s, lk, &m);
    cr_assert_eq(st, EJ_OK, "session link: %s", ej_session_errmsg(s));
    ej_linker_free(lk);
    free(img);
    return m;
}

static void *finish(ej_builder *b, size_t *len)
{
    void *img;
    cr_assert_eq(ej_builder_finish(b, &img, len), EJ_OK, "%s", ej_builder_errmsg(b));
    ej_builder_free(b);
    return img;
}

/* Defines f(x) = x + K and the data object d = D. */
static ej_module *module_f(ej_session *s, int k, int32_t d)
{
    ej_builder *b;
    uint32_t id;
    uint8_t code[16];
    size_t n = code_f(code, k), len;
    cr_assert_eq(ej_builder_create(&b, 0), EJ_OK);
    cr_assert_eq(ej_builder_add_function(b, "f", code, n, 0, EJ_BIND_GLOBAL, &id), EJ_OK);
    cr_assert_eq(ej_builder_add_data(b, "d", EJ_DATA_DATA, &d, 4, 4, EJ_BIND_GLOBAL, &id), EJ_OK);
    void *img = finish(b, &len);
    return link_into(s, img, len);
}

/* Defines g (calls f) and h (reads d). */
static ej_module *module_gh(ej_session *s, const char *gname, const char *hname)
{
    ej_builder *b;
    uint32_t g, h, f, d;
    size_t len;
    cr_assert_eq(ej_builder_create(&b, 0), EJ_OK);
    cr_assert_eq(ej_builder_add_function(b, gname, code_g, sizeof code_g, 0, EJ_BIND_GLOBAL, &g),
                 EJ_OK);
    cr_assert_eq(ej_builder_add_function(b, hname, code_h, sizeof code_h, 0, EJ_BIND_GLOBAL, &h),
                 EJ_OK);
    cr_assert_eq(ej_builder_add_import(b, "f", &f), EJ_OK);
    cr_assert_eq(ej_builder_add_import(b, "d", &d), EJ_OK);
    cr_assert_eq(ej_builder_add_reloc(b, g, G_CALL_AT, EJ_RELOC_CALL, f, G_CALL_ADDEND), EJ_OK);
    cr_assert_eq(ej_builder_add_reloc(b, h, H_GOT_AT, EJ_RELOC_GOT_LOAD, d, H_GOT_ADDEND), EJ_OK,
                 "%s", ej_builder_errmsg(b));
    void *img = finish(b, &len);
    return link_into(s, img, len);
}

typedef int (*fn1)(int);
typedef int (*fn0)(void);

Test(session, modules_call_and_read_each_other)
{
    ej_session *s;
    cr_assert_eq(ej_session_create(&s), EJ_OK);
    ej_module *a = module_f(s, 1, 1234);
    ej_module *b = module_gh(s, "g", "h");
    fn1 g = (fn1)ej_session_symbol(s, "g");
    fn0 h = (fn0)ej_session_symbol(s, "h");
    cr_assert_not_null(g);
    cr_assert_not_null(h);
    cr_assert_eq(g(20), 42, "g(20) = f(20) * 2");
    cr_assert_eq(h(), 1234);
    *(int32_t *)ej_session_symbol(s, "d") = 77; /* the same object, not a copy */
    cr_assert_eq(h(), 77);
    cr_assert_eq(ej_session_symbol(s, "f"), ej_module_symbol(a, "f"));
    cr_assert_eq(ej_session_symbol(s, "g"), ej_module_symbol(b, "g"));
    cr_assert_null(ej_session_symbol(s, "nothing"));
#if defined(__x86_64__)
    /* In reach (the two share an arena): the call goes straight to f. */
    const uint8_t *call = (const uint8_t *)g + 4;
    int32_t rel;
    memcpy(&rel, call + 1, 4);
    cr_assert_eq((uintptr_t)(call + 5 + rel), (uintptr_t)ej_session_symbol(s, "f"),
                 "the call goes through a stub");
#endif
    ej_session_free(s);
}

Test(session, a_module_in_use_is_not_freed)
{
    ej_session *s;
    cr_assert_eq(ej_session_create(&s), EJ_OK);
    ej_module *a = module_f(s, 1, 5);
    ej_module *b = module_gh(s, "g", "h");
    cr_assert_eq(ej_session_remove(s, a), EJ_STATE);
    const char *msg = ej_session_errmsg(s);
    cr_assert(strstr(msg, "defining 'f'") || strstr(msg, "defining 'd'"), "%s", msg);
    cr_assert(strstr(msg, "defining 'g'") || strstr(msg, "defining 'h'"), "%s", msg);
    cr_assert_eq(((fn1)ej_session_symbol(s, "g"))(1), 4, "a still runs");
    cr_assert_eq(ej_session_remove(s, b), EJ_OK, "%s", ej_session_errmsg(s));
    cr_assert_null(ej_session_symbol(s, "g"));
    cr_assert_eq(ej_session_remove(s, a), EJ_OK, "%s", ej_session_errmsg(s));
    cr_assert_null(ej_session_symbol(s, "f"));
    ej_module *other;
    ej_session *t;
    cr_assert_eq(ej_session_create(&t), EJ_OK);
    other = module_f(t, 2, 0);
    cr_assert_eq(ej_session_remove(s, other), EJ_INVAL, "another session's module");
    ej_session_free(t);
    ej_session_free(s);
}

Test(session, module_free_of_a_used_module_waits_for_its_users)
{
    ej_session *s;
    cr_assert_eq(ej_session_create(&s), EJ_OK);
    ej_module *a = module_f(s, 3, 9);
    ej_module *b = module_gh(s, "g", "h");
    uint64_t fa = (uint64_t)(uintptr_t)ej_module_symbol(a, "f");
    ej_module_free(a); /* deferred: b calls it */
    cr_assert_null(ej_session_symbol(s, "f"), "a left the namespace");
    ej_pc_info pi;
    cr_assert_eq(ej_lookup_pc(fa, &pi), 1, "a's code is still mapped");
    cr_assert_eq(((fn1)ej_session_symbol(s, "g"))(1), 8);
    cr_assert_eq(((fn0)ej_session_symbol(s, "h"))(), 9);
    ej_module_free(b); /* and a with it */
    cr_assert_eq(ej_lookup_pc(fa, &pi), 0, "a was freed with its last user");
    ej_session_free(s);
}

Test(session, a_newer_definition_shadows_until_it_goes)
{
    ej_session *s;
    cr_assert_eq(ej_session_create(&s), EJ_OK);
    module_f(s, 1, 1);
    ej_module *c = module_f(s, 100, 2);
    module_gh(s, "g", "h"); /* takes f and d from c, the newest */
    cr_assert_eq(((fn1)ej_session_symbol(s, "g"))(1), 202);
    cr_assert_eq(((fn0)ej_session_symbol(s, "h"))(), 2);
    cr_assert_eq(ej_session_remove(s, c), EJ_STATE, "g uses c");
    module_gh(s, "g2", "h2");
    cr_assert_eq(((fn1)ej_session_symbol(s, "g2"))(1), 202);
    ej_session_free(s); /* newest first: every user before what it uses */
}

Test(session, a_name_the_session_lacks_is_an_undefined_symbol)
{
    ej_session *s;
    ej_linker *lk;
    ej_builder *b;
    uint32_t g, h, f, d;
    size_t len;
    cr_assert_eq(ej_session_create(&s), EJ_OK);
    cr_assert_eq(ej_builder_create(&b, 0), EJ_OK);
    cr_assert_eq(ej_builder_add_function(b, "g", code_g, sizeof code_g, 0, EJ_BIND_GLOBAL, &g),
                 EJ_OK);
    cr_assert_eq(ej_builder_add_function(b, "h", code_h, sizeof code_h, 0, EJ_BIND_GLOBAL, &h),
                 EJ_OK);
    cr_assert_eq(ej_builder_add_import(b, "ej_test_no_such_f", &f), EJ_OK);
    cr_assert_eq(ej_builder_add_import(b, "ej_test_no_such_d", &d), EJ_OK);
    cr_assert_eq(ej_builder_add_reloc(b, g, G_CALL_AT, EJ_RELOC_CALL, f, G_CALL_ADDEND), EJ_OK);
    cr_assert_eq(ej_builder_add_reloc(b, h, H_GOT_AT, EJ_RELOC_GOT_LOAD, d, H_GOT_ADDEND), EJ_OK);
    void *img = finish(b, &len);
    cr_assert_eq(ej_linker_create(&lk), EJ_OK);
    cr_assert_eq(ej_linker_add_buffer(lk, "m.o", img, len), EJ_OK);
    ej_module *m = (ej_module *)1;
    cr_assert_eq(ej_session_link(s, lk, &m), EJ_UNDEFINED);
    cr_assert_null(m);
    cr_assert(strstr(ej_session_errmsg(s), "ej_test_no_such"), "%s", ej_session_errmsg(s));
    ej_linker_free(lk);
    free(img);
    ej_session_free(s);
}
