/* The builder: compiled functions, data, imports, relocations, traps,
 * source positions and unwind information in; a real relocatable object
 * out (checked with eu-elflint, readelf and objdump, linked by gcc), loaded
 * through the same path as any .o, with PC lookups that name the
 * function, the trap and the source position, and `elfjit run` reporting a
 * trap. */
#include <criterion/criterion.h>
#include <elf.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "elfjit/builder.h"
#include "elfjit/elfjit.h"
#include "elfjit/tables.h"
#include "testutil.h"

/* Machine code for the host: add1(x) = x + 1, and an instruction that
 * raises SIGILL (x86_64 ud2, aarch64 udf #0, riscv64 unimp). */
#if defined(__x86_64__)
static const uint8_t add1_code[] = {0x8d, 0x47, 0x01, 0xc3}; /* lea 1(%rdi),%eax; ret */
static const uint8_t trap_code[] = {0x0f, 0x0b};
#elif defined(__aarch64__)
static const uint8_t add1_code[] = {0x00, 0x04, 0x00, 0x11, 0xc0, 0x03, 0x5f, 0xd6};
static const uint8_t trap_code[] = {0x00, 0x00, 0x00, 0x00};
#elif defined(__riscv)
static const uint8_t add1_code[] = {0x1b, 0x05, 0x15, 0x00, 0x67, 0x80, 0x00, 0x00};
static const uint8_t trap_code[] = {0x73, 0x10, 0x00, 0xc0};
#else
#error "test_builder.c: no machine code for this host"
#endif

/* A builder holding add1 (global), crash (global, a trap site with a
 * source position), a table of pointers to both (.data, ABS64), a
 * counter in .bss and an import of the host's strlen, referenced from
 * writable data (an absolute address in read-only data would need a
 * dynamic relocation of the text in a normal PIE link). */
typedef struct built {
    ej_builder *b;
    uint32_t add1, crash, table, counter, strlen_id, strlen_ptr;
} built;

static built build(void)
{
    built x;
    cr_assert_eq(ej_builder_create(&x.b, 0), EJ_OK);
    ej_builder *b = x.b;
    cr_assert_eq(ej_builder_add_function(b, "add1", add1_code, sizeof add1_code, 16,
                                         EJ_BIND_GLOBAL, &x.add1), EJ_OK, "%s", ej_builder_errmsg(b));
    cr_assert_eq(ej_builder_add_function(b, "crash", trap_code, sizeof trap_code, 0,
                                         EJ_BIND_GLOBAL, &x.crash), EJ_OK, "%s", ej_builder_errmsg(b));
    cr_assert_eq(ej_builder_add_data(b, "table", EJ_DATA_DATA, NULL, 16, 8, EJ_BIND_GLOBAL,
                                     &x.table), EJ_OK);
    cr_assert_eq(ej_builder_add_data(b, "counter", EJ_DATA_BSS, NULL, 4096, 64, EJ_BIND_GLOBAL,
                                     &x.counter), EJ_OK);
    cr_assert_eq(ej_builder_add_import(b, "strlen", &x.strlen_id), EJ_OK);
    cr_assert_eq(ej_builder_add_data(b, "strlen_ptr", EJ_DATA_DATA, NULL, 8, 8,
                                     EJ_BIND_GLOBAL, &x.strlen_ptr), EJ_OK);
    cr_assert_eq(ej_builder_add_reloc(b, x.table, 0, EJ_RELOC_ABS64, x.add1, 0), EJ_OK);
    cr_assert_eq(ej_builder_add_reloc(b, x.table, 8, EJ_RELOC_ABS64, x.crash, 0), EJ_OK);
    cr_assert_eq(ej_builder_add_reloc(b, x.strlen_ptr, 0, EJ_RELOC_ABS64, x.strlen_id, 0),
                 EJ_OK);
    cr_assert_eq(ej_builder_add_trap(b, x.crash, 0, EJ_TRAP_INT_DIVIDE_BY_ZERO), EJ_OK);
    cr_assert_eq(ej_builder_add_srcloc(b, x.add1, 0, "calc.src", 3), EJ_OK);
    cr_assert_eq(ej_builder_add_srcloc(b, x.crash, 0, "calc.src", 7), EJ_OK);
    /* No CFA change: the default CIE's rules hold for the whole function. */
    cr_assert_eq(ej_builder_set_unwind(b, x.add1, NULL, 0), EJ_OK);
    return x;
}

static const char *write_object(ej_builder *b, const char *name)
{
    const char *path = ej_test_path(EJ_TEST_BINARY_DIR, name, ".o");
    cr_assert_eq(ej_builder_write(b, path), EJ_OK, "%s", ej_builder_errmsg(b));
    return path;
}

/* Output of the shell command CMD (its exit status in *STATUS). */
static char *command_output(const char *cmd, int *status)
{
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p, "%s", cmd);
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    size_t r;
    while ((r = fread(buf + n, 1, cap - 1 - n, p)) > 0)
        n += r;
    buf[n] = '\0';
    int st = pclose(p);
    *status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return buf;
}

static ej_module *load(ej_builder *b)
{
    void *img;
    size_t len;
    cr_assert_eq(ej_builder_finish(b, &img, &len), EJ_OK, "%s", ej_builder_errmsg(b));
    ej_linker *lk;
    ej_module *m;
    cr_assert_eq(ej_linker_create(&lk), EJ_OK);
    cr_assert_eq(ej_linker_add_buffer(lk, "built.o", img, len), EJ_OK, "%s", ej_linker_errmsg(lk));
    cr_assert_eq(ej_linker_link(lk, &m), EJ_OK, "%s", ej_linker_errmsg(lk));
    ej_linker_free(lk);
    free(img);
    return m;
}

/* What a module from the builder's image holds and says of its PCs. */
static void check_built_module(ej_module *m)
{
    int (*add1)(int) = (int (*)(int))ej_module_symbol(m, "add1");
    cr_assert_not_null(add1);
    cr_assert_eq(add1(41), 42);
    void **table = ej_module_symbol(m, "table");
    cr_assert_eq(table[0], (void *)add1, "ABS64 to a function");
    cr_assert_eq(table[1], ej_module_symbol(m, "crash"));
    cr_assert_eq(*(void **)ej_module_symbol(m, "strlen_ptr"), (void *)strlen, "import");
    cr_assert_eq((uintptr_t)ej_module_symbol(m, "counter") % 64, 0);

    ej_pc_info pi;
    uintptr_t crash = (uintptr_t)table[1];
    cr_assert_eq(ej_module_lookup_pc(m, crash, &pi), 1);
    cr_assert_str_eq(pi.function, "crash");
    cr_assert_eq(pi.offset, 0);
    cr_assert_eq(pi.has_trap, 1);
    cr_assert_eq(pi.trap_code, EJ_TRAP_INT_DIVIDE_BY_ZERO);
    cr_assert_str_eq(pi.file, "calc.src");
    cr_assert_eq(pi.line, 7);
    /* The process-wide registry gives the same answer. */
    ej_pc_info all;
    cr_assert_eq(ej_lookup_pc(crash, &all), 1);
    cr_assert_eq(all.module, m);
    cr_assert_str_eq(all.function, "crash");
    cr_assert_eq(all.trap_code, EJ_TRAP_INT_DIVIDE_BY_ZERO);
    /* Inside add1, not a trap site; its position. */
    cr_assert_eq(ej_lookup_pc((uintptr_t)add1 + 1, &all), 1);
    cr_assert_str_eq(all.function, "add1");
    cr_assert_eq(all.offset, 1);
    cr_assert_eq(all.has_trap, 0);
    cr_assert_eq(all.line, 3);
    ej_module_free(m);
    cr_assert_eq(ej_lookup_pc(crash, &all), 0, "an unloaded module is not found");
}

Test(builder, image_runs_and_pcs_are_described)
{
    built x = build();
    check_built_module(load(x.b));
    ej_builder_free(x.b);
}

/* Saved as an image (ej_linker_save_image) and loaded from it: traps,
 * source positions, exports and imports unchanged. */
Test(builder, saved_image_round_trips)
{
    built x = build();
    void *img;
    size_t len;
    cr_assert_eq(ej_builder_finish(x.b, &img, &len), EJ_OK, "%s", ej_builder_errmsg(x.b));
    const char *path = ej_test_path(EJ_TEST_BINARY_DIR, "built_saved", ".eji");
    for (unsigned flags = 0; flags <= EJ_IMAGE_COMPRESS; flags += EJ_IMAGE_COMPRESS) {
        ej_linker *lk;
        cr_assert_eq(ej_linker_create(&lk), EJ_OK);
        cr_assert_eq(ej_linker_add_buffer(lk, "built.o", img, len), EJ_OK, "%s",
                     ej_linker_errmsg(lk));
        cr_assert_eq(ej_linker_save_image(lk, path, "add1", flags), EJ_OK, "%s",
                     ej_linker_errmsg(lk));
        ej_linker_free(lk);
        ej_module *m;
        cr_assert_eq(ej_linker_create(&lk), EJ_OK);
        cr_assert_eq(ej_linker_add_file(lk, path), EJ_OK, "%s", ej_linker_errmsg(lk));
        cr_assert_eq(ej_linker_link(lk, &m), EJ_OK, "%s", ej_linker_errmsg(lk));
        ej_linker_free(lk);
        cr_assert_str_eq(ej_module_entry(m), "add1");
        check_built_module(m);
    }
    free(img);
    ej_builder_free(x.b);
}

Test(builder, real_tools_read_the_image)
{
    built x = build();
    const char *path = write_object(x.b, "built_tools");
    char cmd[1024];
    int st;
    snprintf(cmd, sizeof cmd, "eu-elflint --gnu-ld '%s' 2>&1", path);
    char *out = command_output(cmd, &st);
    cr_assert_eq(st, 0, "eu-elflint: %s", out);
    free(out);
    snprintf(cmd, sizeof cmd, "readelf -sW '%s'", path);
    out = command_output(cmd, &st);
    cr_assert(strstr(out, "FUNC    GLOBAL DEFAULT    1 add1") &&
              strstr(out, "FUNC    GLOBAL DEFAULT    1 crash") &&
              strstr(out, "NOTYPE  GLOBAL DEFAULT  UND strlen"), "%s", out);
    free(out);
    snprintf(cmd, sizeof cmd, "readelf -rW '%s'", path);
    out = command_output(cmd, &st);
    cr_assert(strstr(out, ".rela.data") && strstr(out, "add1 + 0") && strstr(out, "strlen + 0") &&
              strstr(out, ".rela.elfjit_traps") && strstr(out, ".rela.eh_frame"), "%s", out);
    free(out);
    snprintf(cmd, sizeof cmd, "'%s' -dr '%s'", EJ_OBJDUMP, path);
    out = command_output(cmd, &st);
    cr_assert(st == 0 && strstr(out, "<add1>:") && strstr(out, "<crash>:"), "%s", out);
    free(out);
    snprintf(cmd, sizeof cmd, "readelf --debug-dump=frames '%s'", path);
    out = command_output(cmd, &st);
    cr_assert(strstr(out, "CIE") && strstr(out, "FDE"), "%s", out);
    free(out);
    ej_builder_free(x.b);
}

Test(builder, gcc_links_the_image)
{
    if (ej_test_emulator())
        cr_skip("under %s: the host's gcc cannot link objects for this machine",
                ej_test_emulator());
    built x = build();
    const char *obj = write_object(x.b, "built_gcc");
    const char *src = ej_test_path(EJ_TEST_BINARY_DIR, "built_gcc_main", ".c");
    const char *exe = ej_test_path(EJ_TEST_BINARY_DIR, "built_gcc_main", "");
    FILE *f = fopen(src, "w");
    cr_assert_not_null(f);
    fputs("#include <stdio.h>\nint add1(int);\nextern void *table[2];\n"
          "int main(void) { printf(\"%d %d\\n\", add1(1), table[0] == (void *)add1); return 0; }\n",
          f);
    fclose(f);
    char cmd[2048];
    int st;
    snprintf(cmd, sizeof cmd, "cc -o '%s' '%s' '%s' 2>&1 && '%s'", exe, src, obj, exe);
    char *out = command_output(cmd, &st);
    cr_assert_eq(st, 0, "%s", out);
    cr_assert_str_eq(out, "2 1\n");
    free(out);
    ej_builder_free(x.b);
}

Test(builder, elfjit_run_reports_the_trap)
{
    built x = build();
    const char *obj = write_object(x.b, "built_trap");
    char cmd[2048];
    int st;
    /* Under an emulator the tool runs under it too. */
    char *argv[] = {(char *)EJ_TOOL_PATH, NULL};
    char **pre = ej_test_command(argv);
    char prefix[512] = "";
    for (char **p = pre; *p; p++) {
        strncat(prefix, *p, sizeof prefix - strlen(prefix) - 2);
        strcat(prefix, " ");
    }
    free(pre);
    snprintf(cmd, sizeof cmd, "%s run -e crash '%s' 2>&1; echo \"status $?\"", prefix, obj);
    char *out = command_output(cmd, &st);
    cr_assert(strstr(out, "elfjit: trap: integer divide by zero in crash+0x0 (calc.src:7)\n"),
              "%s", out);
    cr_assert(strstr(out, "status 132"), "128 + SIGILL: %s", out);
    free(out);
    ej_builder_free(x.b);
}

Test(builder, bad_calls_are_refused_with_reasons)
{
    ej_builder *b;
    uint32_t f, g, imp;
    cr_assert_eq(ej_builder_create(&b, 0), EJ_OK);
    cr_assert_eq(ej_builder_add_function(b, "f", add1_code, sizeof add1_code, 0, EJ_BIND_GLOBAL,
                                         &f), EJ_OK);
    cr_assert_eq(ej_builder_add_function(b, "f", add1_code, sizeof add1_code, 0, EJ_BIND_LOCAL,
                                         &g), EJ_DUPLICATE);
    cr_assert(strstr(ej_builder_errmsg(b), "'f' is already defined"), "%s", ej_builder_errmsg(b));
    cr_assert_eq(ej_builder_add_function(b, "g", add1_code, sizeof add1_code, 3, EJ_BIND_LOCAL,
                                         &g), EJ_INVAL);
    cr_assert(strstr(ej_builder_errmsg(b), "alignment 3"), "%s", ej_builder_errmsg(b));
    cr_assert_eq(ej_builder_add_import(b, "f", &imp), EJ_DUPLICATE);
    cr_assert_eq(ej_builder_add_reloc(b, f, sizeof add1_code - 2, EJ_RELOC_ABS64, f, 0), EJ_INVAL);
    cr_assert(strstr(ej_builder_errmsg(b), "outside 'f'"), "%s", ej_builder_errmsg(b));
    cr_assert_eq(ej_builder_add_trap(b, 99, 0, 1), EJ_INVAL);
    cr_assert(strstr(ej_builder_errmsg(b), "id 99 is not a function"), "%s", ej_builder_errmsg(b));
    cr_assert_eq(ej_builder_add_trap(b, f, 0, 1), EJ_OK);
    cr_assert_eq(ej_builder_add_trap(b, f, 0, 2), EJ_OK);
    void *img;
    size_t len;
    cr_assert_eq(ej_builder_finish(b, &img, &len), EJ_INVAL);
    cr_assert(strstr(ej_builder_errmsg(b), "two traps at .text+0x0"), "%s", ej_builder_errmsg(b));
    ej_builder_free(b);

    /* On aarch64 a GOT load is two instructions: both must be inside. */
    cr_assert_eq(ej_builder_create(&b, EM_AARCH64), EJ_OK);
    cr_assert_eq(ej_builder_add_function(b, "f", "\0\0\0\0\0\0\0\0", 8, 4, EJ_BIND_GLOBAL, &f),
                 EJ_OK);
    cr_assert_eq(ej_builder_add_reloc(b, f, 4, EJ_RELOC_GOT_LOAD, f, 0), EJ_INVAL);
    cr_assert(strstr(ej_builder_errmsg(b), "offset 0x4 (8 bytes) is outside 'f'"), "%s",
              ej_builder_errmsg(b));
    cr_assert_eq(ej_builder_add_reloc(b, f, 0, EJ_RELOC_KIND_COUNT, f, 0), EJ_INVAL);
    cr_assert(strstr(ej_builder_errmsg(b), "unknown kind"), "%s", ej_builder_errmsg(b));
    /* Finished once, the same bytes again; no additions after. */
    void *img2;
    size_t len2;
    cr_assert_eq(ej_builder_finish(b, &img, &len), EJ_OK, "%s", ej_builder_errmsg(b));
    cr_assert_eq(ej_builder_finish(b, &img2, &len2), EJ_OK);
    cr_assert_eq(len, len2);
    cr_assert_eq(memcmp(img, img2, len), 0);
    cr_assert_eq(ej_builder_add_import(b, "x", &imp), EJ_STATE);
    free(img);
    free(img2);
    ej_builder_free(b);
    cr_assert_eq(ej_builder_create(&b, 0xfff), EJ_UNSUPPORTED);
    cr_assert_null(b);
}

Test(builder, tables_reject_malformed_bytes)
{
    uint8_t t[64] = {0};
    ej_trap_table tt;
    cr_assert_eq(ej_trap_table_open(t, sizeof t, &tt), EJ_BADELF, "no magic");
    uint32_t magic = EJ_TRAPS_MAGIC, count = 2, size = 40;
    uint16_t version = 1, esize = 8;
    memcpy(t, &magic, 4);
    memcpy(t + 4, &version, 2);
    memcpy(t + 6, &esize, 2);
    memcpy(t + 8, &count, 4);
    memcpy(t + 12, &size, 4);
    uint32_t e[4] = {8, 1, 4, 2}; /* not sorted */
    memcpy(t + 24, e, sizeof e);
    cr_assert_eq(ej_trap_table_open(t, sizeof t, &tt), EJ_BADELF, "unsorted");
    e[2] = 12;
    memcpy(t + 24, e, sizeof e);
    cr_assert_eq(ej_trap_table_open(t, 39, &tt), EJ_BADELF, "table longer than its bytes");
    cr_assert_eq(ej_trap_table_open(t, sizeof t, &tt), EJ_OK);
    uint32_t code;
    cr_assert_eq(ej_trap_table_find(&tt, 12, &code), 1);
    cr_assert_eq(code, 2);
    cr_assert_eq(ej_trap_table_find(&tt, 10, &code), 0);
    count = 3; /* entries past the table's size */
    memcpy(t + 8, &count, 4);
    cr_assert_eq(ej_trap_table_open(t, sizeof t, &tt), EJ_BADELF);
    cr_assert_str_eq(ej_trap_name(EJ_TRAP_OUT_OF_BOUNDS), "out-of-bounds access");
    cr_assert_null(ej_trap_name(EJ_TRAP_USER));
}

/* ---- GOT_LOAD on every architecture (link-only, any host) ------------ */

static void *ext_resolver(void *ctx, const char *name)
{
    (void)ctx;
    return strcmp(name, "ext") == 0 ? (void *)(uintptr_t)0x123456789000ull : NULL;
}

static uint32_t rd32(ej_module *m, uint64_t a)
{
    uint32_t v;
    cr_assert_eq(ej_module_read(m, a, &v, 4), EJ_OK, "%s", ej_module_errmsg(m));
    return v;
}

static int64_t sext(uint64_t v, unsigned bits)
{
    return (int64_t)(v << (64 - bits)) >> (64 - bits);
}

/* Links a one-function object for MACHINE whose CODE loads 'ext' with
 * GOT_LOAD at OFF (ADDEND), at a fake base; returns the GOT slot the code
 * addresses, decoded by DECODE from the function's address. */
static void check_got_load(uint16_t machine, const uint8_t *code, size_t len, uint64_t off,
                           int64_t addend, uint64_t (*decode)(ej_module *, uint64_t))
{
    ej_builder *b;
    uint32_t f, ext;
    cr_assert_eq(ej_builder_create(&b, machine), EJ_OK);
    cr_assert_eq(ej_builder_add_function(b, "f", code, len, 16, EJ_BIND_GLOBAL, &f), EJ_OK);
    cr_assert_eq(ej_builder_add_import(b, "ext", &ext), EJ_OK);
    cr_assert_eq(ej_builder_add_reloc(b, f, off, EJ_RELOC_GOT_LOAD, ext, addend), EJ_OK, "%s",
                 ej_builder_errmsg(b));
    void *img;
    size_t ilen;
    cr_assert_eq(ej_builder_finish(b, &img, &ilen), EJ_OK, "%s", ej_builder_errmsg(b));
    ej_linker *lk;
    ej_module *m;
    cr_assert_eq(ej_linker_create(&lk), EJ_OK);
    cr_assert_eq(ej_linker_set_base(lk, 0x40000000), EJ_OK);
    ej_linker_set_resolver(lk, ext_resolver, NULL);
    cr_assert_eq(ej_linker_add_buffer(lk, "got.o", img, ilen), EJ_OK, "%s", ej_linker_errmsg(lk));
    cr_assert_eq(ej_linker_link(lk, &m), EJ_OK, "%s", ej_linker_errmsg(lk));
    uint64_t slot = decode(m, (uintptr_t)ej_module_symbol(m, "f"));
    uint64_t v;
    cr_assert_eq(ej_module_read(m, slot, &v, 8), EJ_OK, "slot 0x%llx: %s",
                 (unsigned long long)slot, ej_module_errmsg(m));
    cr_assert_eq(v, 0x123456789000ull, "machine %u: slot 0x%llx holds 0x%llx", machine,
                 (unsigned long long)slot, (unsigned long long)v);
    ej_module_free(m);
    ej_linker_free(lk);
    free(img);
    ej_builder_free(b);
}

static uint64_t x86_slot(ej_module *m, uint64_t f) /* mov disp(%rip), %rax */
{
    return f + 7 + (uint64_t)sext(rd32(m, f + 3), 32);
}

static uint64_t a64_slot(ej_module *m, uint64_t f) /* adrp x0; ldr x0, [x0, #lo12] */
{
    uint32_t adrp = rd32(m, f), ldr = rd32(m, f + 4);
    int64_t pages = sext(((uint64_t)((adrp >> 5) & 0x7ffff) << 2) | ((adrp >> 29) & 3), 21);
    return (f & ~0xfffull) + (uint64_t)(pages << 12) + (((ldr >> 10) & 0xfff) << 3);
}

static uint64_t rv_slot(ej_module *m, uint64_t f) /* auipc a0; ld a0, lo(a0) */
{
    uint32_t auipc = rd32(m, f), ld = rd32(m, f + 4);
    return f + (uint64_t)sext(auipc & 0xfffff000u, 32) + (uint64_t)sext(ld >> 20, 12);
}

Test(builder, got_load_on_every_architecture)
{
    static const uint8_t x86[] = {0x48, 0x8b, 0x05, 0, 0, 0, 0, 0xc3};
    static const uint8_t a64[] = {0x00, 0x00, 0x00, 0x90, 0x00, 0x00, 0x40, 0xf9,
                                  0xc0, 0x03, 0x5f, 0xd6};
    static const uint8_t rv[] = {0x17, 0x05, 0x00, 0x00, 0x03, 0x35, 0x05, 0x00,
                                 0x67, 0x80, 0x00, 0x00};
    check_got_load(EM_X86_64, x86, sizeof x86, 3, -4, x86_slot);
    check_got_load(EM_AARCH64, a64, sizeof a64, 0, 0, a64_slot);
    check_got_load(EM_RISCV, rv, sizeof rv, 0, 0, rv_slot);
}

/* ---- unwind information ----------------------------------------------- */

#include <unwind.h>

typedef struct walk {
    int n;
    uintptr_t ip[32];
} walk;

static _Unwind_Reason_Code walk_step(struct _Unwind_Context *ctx, void *arg)
{
    walk *w = arg;
    if (w->n < 32)
        w->ip[w->n++] = _Unwind_GetIP(ctx);
    return _URC_NO_REASON;
}

static walk seen;

/* Called from builder code: walks the stack from here. */
void ej_builder_test_callback(void);
__attribute__((noinline)) void ej_builder_test_callback(void)
{
    seen.n = 0;
    _Unwind_Backtrace(walk_step, &seen);
}

Test(builder, unwind_information_lets_the_unwinder_through)
{
#if !defined(__x86_64__)
    cr_skip("the machine code of this test is x86_64's");
#else
    /* sub $8,%rsp; call cb; add $8,%rsp; ret, with CFA = rsp + 16 from
     * offset 4 to 20. */
    static const uint8_t code[] = {0x48, 0x83, 0xec, 0x08, 0xe8, 0, 0, 0, 0,
                                   0x48, 0x83, 0xc4, 0x08, 0xc3};
    static const uint8_t cfi[] = {0x44, 0x0e, 0x10, 0x49, 0x0e, 0x08}; /* advance 4; cfa 16;
                                                                       * advance 9; cfa 8 */
    ej_builder *b;
    uint32_t f, cb;
    cr_assert_eq(ej_builder_create(&b, 0), EJ_OK);
    cr_assert_eq(ej_builder_add_function(b, "calls_back", code, sizeof code, 16, EJ_BIND_GLOBAL,
                                         &f), EJ_OK);
    cr_assert_eq(ej_builder_add_import(b, "ej_builder_test_callback", &cb), EJ_OK);
    cr_assert_eq(ej_builder_add_reloc(b, f, 5, EJ_RELOC_CALL, cb, -4), EJ_OK);
    cr_assert_eq(ej_builder_set_unwind(b, f, cfi, sizeof cfi), EJ_OK);
    ej_module *m = load(b);
    void (*calls_back)(void) = (void (*)(void))ej_module_symbol(m, "calls_back");
    calls_back();
    /* ej_builder_test_callback, calls_back, then this test's frames. */
    int at = -1;
    for (int i = 0; i < seen.n; i++) {
        ej_pc_info pi;
        if (ej_module_lookup_pc(m, seen.ip[i] - 1, &pi) && pi.function &&
            strcmp(pi.function, "calls_back") == 0)
            at = i;
    }
    cr_assert_geq(at, 0, "calls_back is not on the walked stack (%d frames)", seen.n);
    cr_assert_gt(seen.n, at + 1, "the walk stopped in the builder's code");
    ej_module_free(m);
    ej_builder_free(b);
#endif
}

/* ---- thread-local data ------------------------------------------------- */

/* get() returns the 4-byte thread-local 'tv' through EJ_RELOC_TLS_LOAD,
 * whose relocation is at TLS_AT with TLS_ADDEND. */
#if defined(__x86_64__)
/* mov tv@gottpoff(%rip), %rax; mov %fs:(%rax), %eax; ret */
static const uint8_t tls_get[] = {0x48, 0x8b, 0x05, 0, 0, 0, 0, 0x64, 0x8b, 0x00, 0xc3};
enum { TLS_AT = 3, TLS_ADDEND = -4 };
#elif defined(__aarch64__)
/* adrp x0, :gottprel:tv; ldr x0, [x0, :gottprel_lo12:tv]; mrs x1, tpidr_el0;
 * ldr w0, [x1, x0]; ret */
static const uint8_t tls_get[] = {0x00, 0x00, 0x00, 0x90, 0x00, 0x00, 0x40, 0xf9, 0x41, 0xd0,
                                  0x3b, 0xd5, 0x20, 0x68, 0x60, 0xb8, 0xc0, 0x03, 0x5f, 0xd6};
enum { TLS_AT = 0, TLS_ADDEND = 0 };
#else
/* auipc a0, %tls_ie_pcrel_hi(tv); ld a0, %pcrel_lo(1b)(a0); add a0, a0, tp;
 * lw a0, 0(a0); ret */
static const uint8_t tls_get[] = {0x17, 0x05, 0x00, 0x00, 0x03, 0x35, 0x05, 0x00, 0x33, 0x05,
                                  0x45, 0x00, 0x03, 0x25, 0x05, 0x00, 0x67, 0x80, 0x00, 0x00};
enum { TLS_AT = 0, TLS_ADDEND = 0 };
#endif

static int (*tls_get_fn)(void);

static void *tls_thread(void *arg)
{
    (void)arg;
    return (void *)(intptr_t)tls_get_fn();
}

Test(builder, thread_local_data_is_per_thread_and_initialised)
{
    ej_builder *b;
    uint32_t tv, zero, get;
    const int32_t init = 42;
    cr_assert_eq(ej_builder_create(&b, 0), EJ_OK);
    cr_assert_eq(ej_builder_add_data(b, "tv", EJ_DATA_TLS, &init, 4, 4, EJ_BIND_GLOBAL, &tv),
                 EJ_OK, "%s", ej_builder_errmsg(b));
    /* (16: what static TLS is aligned to everywhere; see elfjit.h.) */
    cr_assert_eq(ej_builder_add_data(b, "tzero", EJ_DATA_TLS_BSS, NULL, 64, 16, EJ_BIND_GLOBAL,
                                     &zero), EJ_OK, "%s", ej_builder_errmsg(b));
    cr_assert_eq(ej_builder_add_function(b, "get", tls_get, sizeof tls_get, 0, EJ_BIND_GLOBAL,
                                         &get), EJ_OK);
    /* Only TLS_LOAD reaches thread-local data; TLS_LOAD only reaches it. */
    cr_assert_eq(ej_builder_add_reloc(b, get, TLS_AT, EJ_RELOC_GOT_LOAD, tv, TLS_ADDEND),
                 EJ_INVAL);
    cr_assert(strstr(ej_builder_errmsg(b), "thread-local"), "%s", ej_builder_errmsg(b));
    cr_assert_eq(ej_builder_add_reloc(b, get, TLS_AT, EJ_RELOC_TLS_LOAD, get, TLS_ADDEND),
                 EJ_INVAL);
    cr_assert_eq(ej_builder_add_reloc(b, get, TLS_AT, EJ_RELOC_TLS_LOAD, tv, TLS_ADDEND), EJ_OK,
                 "%s", ej_builder_errmsg(b));
    ej_module *m = load(b);
    tls_get_fn = (int (*)(void))ej_module_symbol(m, "get");
    int *mine = ej_module_symbol(m, "tv");
    unsigned char *z = ej_module_symbol(m, "tzero");
    cr_assert(tls_get_fn && mine && z);
    cr_assert_eq(tls_get_fn(), 42);
    cr_assert_eq((uintptr_t)z % 16, 0);
    for (int i = 0; i < 64; i++)
        cr_assert_eq(z[i], 0);
    *mine = 7;
    cr_assert_eq(tls_get_fn(), 7, "the code and ej_module_symbol see one copy");
    pthread_t t;
    void *r;
    cr_assert_eq(pthread_create(&t, NULL, tls_thread, NULL), 0);
    cr_assert_eq(pthread_join(t, &r), 0);
    cr_assert_eq((intptr_t)r, 42, "a new thread starts from the initial value");
    cr_assert_eq(tls_get_fn(), 7);
    ej_module_free(m);
    ej_builder_free(b);
}
