/* The public API end to end on small real objects: linking, lookups,
 * resolvers, buffers, W^X at every stage, unloading, constructors and
 * destructors, symbols kinds, placement and memory. */
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "elfjit/elfjit.h"
#include "testutil.h"

static const char *obj(const char *name)
{
    return ej_test_path(EJ_TEST_OBJ_DIR, name, ".o");
}

int ej_test_host_add(int a, int b);
int ej_test_host_add(int a, int b) { return a + b; }

static char record_buf[512];
void ej_test_record(const char *what);
void ej_test_record(const char *what)
{
    strcat(record_buf, what);
    strcat(record_buf, " ");
}

static void *test_resolver(void *ctx, const char *name)
{
    (void)ctx;
    if (strcmp(name, "ej_test_host_add") == 0)
        return (void *)ej_test_host_add;
    if (strcmp(name, "ej_test_record") == 0)
        return (void *)ej_test_record;
    return NULL;
}

static ej_module *link_objs(const char *const *names, size_t n)
{
    ej_linker *lk;
    ej_module *m = NULL;
    cr_assert_eq(ej_linker_create(&lk), EJ_OK);
    ej_linker_set_resolver(lk, test_resolver, NULL);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(ej_linker_add_file(lk, obj(names[i])), EJ_OK, "%s", ej_linker_errmsg(lk));
    cr_assert_eq(ej_linker_link(lk, &m), EJ_OK, "%s", ej_linker_errmsg(lk));
    ej_linker_free(lk);
    return m;
}

Test(api, status_names_and_messages)
{
    cr_assert_str_eq(ej_status_name(EJ_OK), "OK");
    cr_assert_str_eq(ej_status_name(EJ_RANGE), "RANGE");
    cr_assert_str_eq(ej_status_str(EJ_UNDEFINED), "undefined symbol");
    cr_assert_str_eq(ej_status_name((ej_status)999), "UNKNOWN");
    cr_assert_str_eq(ej_linker_errmsg(NULL), "");
    cr_assert_str_eq(ej_module_errmsg(NULL), "");
    cr_assert_eq(ej_linker_create(NULL), EJ_INVAL);
    ej_linker_free(NULL);
    ej_module_free(NULL);
}

Test(api, link_lookup_call)
{
    const char *names[] = {"simple"};
    ej_module *m = link_objs(names, 1);
    int (*answer)(void) = (int (*)(void))ej_module_symbol(m, "simple_answer");
    size_t (*len)(void) = (size_t(*)(void))ej_module_symbol(m, "simple_strlen");
    FILE *(*out)(void) = (FILE * (*)(void)) ej_module_symbol(m, "simple_stdout");
    cr_assert(answer && len && out);
    cr_assert_eq(answer(), 42);
    cr_assert_eq(len(), 5);
    cr_assert_eq(out(), stdout, "PC-relative reference to libc data must see the real stdout");
    void *addr;
    cr_assert_eq(ej_module_lookup(m, "nope", &addr), EJ_NOTFOUND);
    cr_assert(strstr(ej_module_errmsg(m), "'nope'"));
    cr_assert_null(ej_module_symbol(m, "greeting"), "static symbols are not exported");
    ej_module_free(m);
}

Test(api, add_buffer_copies_caller_bytes)
{
    size_t len;
    char *bytes = ej_test_read_file(obj("simple"), &len);
    cr_assert_not_null(bytes);
    ej_linker *lk;
    ej_module *m;
    ej_linker_create(&lk);
    ej_linker_set_resolver(lk, test_resolver, NULL);
    cr_assert_eq(ej_linker_add_buffer(lk, "simple-in-memory.o", bytes, len), EJ_OK, "%s",
                 ej_linker_errmsg(lk));
    memset(bytes, 0xa5, len);
    free(bytes);
    cr_assert_eq(ej_linker_link(lk, &m), EJ_OK, "%s", ej_linker_errmsg(lk));
    ej_linker_free(lk);
    cr_assert_eq(((int (*)(void))ej_module_symbol(m, "simple_answer"))(), 42);
    ej_module_free(m);
}

Test(api, linker_state_rules)
{
    ej_linker *lk;
    ej_module *m;
    ej_linker_create(&lk);
    cr_assert_eq(ej_linker_link(lk, &m), EJ_STATE);
    cr_assert_null(m);
    cr_assert(strstr(ej_linker_errmsg(lk), "no objects"));
    ej_linker_set_resolver(lk, test_resolver, NULL);
    cr_assert_eq(ej_linker_add_file(lk, obj("simple")), EJ_OK);
    cr_assert_eq(ej_linker_link(lk, &m), EJ_OK);
    cr_assert_eq(ej_linker_link(lk, &m), EJ_STATE);
    cr_assert_eq(ej_linker_add_file(lk, obj("simple")), EJ_STATE);
    cr_assert_eq(ej_linker_set_base(lk, 123), EJ_INVAL);
    ej_linker_free(lk);
    ej_module_free(m);
}

/* ---- W^X, proven from /proc/self/maps ---------------------------------- */

extern void (*ej__link_stage_hook)(const char *stage, const void *base, size_t size);
static int wx_violations, stages_seen;

/* Mappings that are writable and executable at once, plus executable
 * file-backed mappings whose pages some writable mapping of the same file
 * (device and inode) also maps: a writable alias of code. */
typedef struct map_line {
    unsigned long lo, hi, off, inode;
    char perms[8], dev[16];
} map_line;

static size_t read_maps(map_line *v, size_t max)
{
    FILE *f = fopen("/proc/self/maps", "r");
    char line[1024];
    size_t n = 0;
    while (f && n < max && fgets(line, sizeof line, f))
        if (sscanf(line, "%lx-%lx %7s %lx %15s %lu", &v[n].lo, &v[n].hi, v[n].perms, &v[n].off,
                   v[n].dev, &v[n].inode) == 6)
            n++;
    if (f)
        fclose(f);
    return n;
}

static int count_wx_mappings(void)
{
    static map_line v[4096];
    size_t n = read_maps(v, 4096);
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i].perms[1] == 'w' && v[i].perms[2] == 'x')
            bad++;
        if (v[i].perms[2] != 'x' || v[i].inode == 0)
            continue;
        for (size_t k = 0; k < n; k++)
            if (k != i && v[k].perms[1] == 'w' && v[k].inode == v[i].inode &&
                strcmp(v[k].dev, v[i].dev) == 0 && v[k].off < v[i].off + (v[i].hi - v[i].lo) &&
                v[i].off < v[k].off + (v[k].hi - v[k].lo))
                bad++;
    }
    return bad;
}

static void wx_hook(const char *stage, const void *base, size_t size)
{
    (void)stage;
    (void)base;
    (void)size;
    stages_seen++;
    wx_violations += count_wx_mappings();
}

/* The permissions of the mapping holding ADDR, e.g. "r-xp". */
static void perms_of(const void *addr, char out[8])
{
    FILE *f = fopen("/proc/self/maps", "r");
    char line[512];
    unsigned long lo, hi;
    strcpy(out, "none");
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "%lx-%lx %7s", &lo, &hi, out) == 3 && (uintptr_t)addr >= lo &&
            (uintptr_t)addr < hi)
            break;
        else
            strcpy(out, "none");
    if (f)
        fclose(f);
}

/* W^X at every stage of a link (the stage hook), and after publish, with
 * code memory KIND: text r-x, data rw-, no writable alias of code. */
static void check_wx(ej_code_memory kind)
{
    cr_assert_eq(count_wx_mappings(), 0, "the test process itself has a W+X mapping");
    wx_violations = stages_seen = 0;
    ej__link_stage_hook = wx_hook;
    ej_linker *lk;
    ej_module *m = NULL;
    cr_assert_eq(ej_linker_create(&lk), EJ_OK);
    cr_assert_eq(ej_linker_set_code_memory(lk, kind), EJ_OK);
    ej_linker_set_resolver(lk, test_resolver, NULL);
    cr_assert_eq(ej_linker_add_file(lk, obj("simple")), EJ_OK, "%s", ej_linker_errmsg(lk));
    cr_assert_eq(ej_linker_link(lk, &m), EJ_OK, "%s", ej_linker_errmsg(lk));
    ej_linker_free(lk);
    ej__link_stage_hook = NULL;
    cr_assert_eq(stages_seen, 3, "reserved, relocated, published");
    cr_assert_eq(wx_violations, 0);
    char perms[8];
    perms_of(ej_module_symbol(m, "simple_answer"), perms);
    cr_assert_str_eq(perms, "r-xp", "text");
    int (*answer)(void) = (int (*)(void))ej_module_symbol(m, "simple_answer");
    cr_expect_eq(answer(), 42);
    int *(*counter)(void) = (int *(*)(void))ej_module_symbol(m, "simple_counter");
    perms_of(counter(), perms);
    cr_assert_str_eq(perms, "rw-p", "data");
    *counter() += 1;
    cr_expect_eq(answer(), 43, "data written at run time is seen by the code");
    cr_assert_eq(count_wx_mappings(), 0);
    ej_module_free(m);
}

Test(api, never_writable_and_executable)
{
    check_wx(EJ_CODE_MEMORY_MPROTECT);
}

Test(api, never_writable_and_executable_dual_mapped)
{
    check_wx(EJ_CODE_MEMORY_DUAL_MAP);
}

Test(api, code_memory_kind_is_checked)
{
    ej_linker *lk;
    cr_assert_eq(ej_linker_create(&lk), EJ_OK);
    cr_expect_eq(ej_linker_set_code_memory(lk, (ej_code_memory)7), EJ_INVAL);
    cr_expect(strstr(ej_linker_errmsg(lk), "unknown code memory kind 7"), "%s",
              ej_linker_errmsg(lk));
    cr_expect_eq(ej_linker_set_code_memory(lk, EJ_CODE_MEMORY_AUTO), EJ_OK);
    ej_linker_free(lk);
}

/* What a link opens once per process, for good: libm and libgcc_s (host
 * search, unwinder registration), libstdc++ (the search's last resort).
 * Opened first, so that mapping counts only see what a link leaves. */
static void open_process_libraries(void)
{
    cr_assert_not_null(dlopen("libm.so.6", RTLD_NOW | RTLD_GLOBAL));
    cr_assert_not_null(dlopen("libgcc_s.so.1", RTLD_NOW | RTLD_GLOBAL));
    /* (Absent on some machines, e.g. a cross sysroot: elfjit's own attempt
     * then fails the same way and maps nothing.) */
    dlopen("libstdc++.so.6", RTLD_NOW | RTLD_GLOBAL);
}

Test(api, free_unmaps_everything)
{
    open_process_libraries();
    int before = ej_test_count_mappings();
    const char *names[] = {"simple"};
    ej_module *m = link_objs(names, 1);
    void *fn = ej_module_symbol(m, "simple_answer");
    ej_module_free(m);
    char perms[8];
    perms_of(fn, perms);
    cr_assert_str_eq(perms, "none");
    cr_assert_eq(ej_test_count_mappings(), before);
}

Test(api, failed_link_leaves_nothing_mapped)
{
    open_process_libraries();
    int before = ej_test_count_mappings();
    ej_linker *lk;
    ej_module *m;
    ej_linker_create(&lk);
    cr_assert_eq(ej_linker_add_file(lk, obj("undefined")), EJ_OK);
    cr_assert_eq(ej_linker_link(lk, &m), EJ_UNDEFINED);
    cr_assert_null(m);
    cr_assert(strstr(ej_linker_errmsg(lk), "undefined symbol 'ej_definitely_undefined_symbol'"),
              "%s", ej_linker_errmsg(lk));
    cr_assert(strstr(ej_linker_errmsg(lk), "undefined.o: .text+0x"), "%s", ej_linker_errmsg(lk));
    ej_linker_free(lk);
    cr_assert_eq(ej_test_count_mappings(), before);
}

Test(api, shared_library_symbols)
{
    ej_linker *lk;
    ej_module *m;
    ej_linker_create(&lk);
    cr_assert_eq(ej_linker_add_library(lk, "libnot-a-real-library.so.9"), EJ_NOTFOUND);
    cr_assert(strstr(ej_linker_errmsg(lk), "libnot-a-real-library.so.9"));
    cr_assert_eq(ej_linker_add_library(lk, "libz.so.1"), EJ_OK, "%s", ej_linker_errmsg(lk));
    cr_assert_eq(ej_linker_add_file(lk, obj("usezlib")), EJ_OK);
    cr_assert_eq(ej_linker_link(lk, &m), EJ_OK, "%s", ej_linker_errmsg(lk));
    ej_linker_free(lk);
    const char *v = ((const char *(*)(void))ej_module_symbol(m, "usezlib"))();
    cr_assert(v && v[0] == '1', "zlib version %s", v ? v : "(null)");
    ej_module_free(m);
}

/* ---- constructors and destructors ----------------------------------- */

Test(api, constructors_destructors_atexit_order)
{
    const char *names[] = {"initfini_a", "initfini_b"};
    ej_module *m = link_objs(names, 2);
    record_buf[0] = '\0';
    cr_assert_eq(ej_module_init(m, 0, NULL, NULL), EJ_OK);
    cr_assert_str_eq(record_buf, "ctor101 ctor102 ctor-a ");
    cr_assert_eq(ej_module_init(m, 0, NULL, NULL), EJ_OK, "init runs once");
    cr_assert_str_eq(record_buf, "ctor101 ctor102 ctor-a ");
    cr_assert_eq(((int (*)(void))ej_module_symbol(m, "initfini_register"))(), 0);
    record_buf[0] = '\0';
    ej_module_free(m);
    cr_assert_str_eq(record_buf, "atexit dtor-a dtor102 dtor101 ");
}

Test(api, link_only_module_cannot_run)
{
    ej_linker *lk;
    ej_module *m;
    ej_linker_create(&lk);
    ej_linker_set_resolver(lk, test_resolver, NULL);
    cr_assert_eq(ej_linker_set_base(lk, 0x40000000), EJ_OK);
    cr_assert_eq(ej_linker_add_file(lk, obj("registry_a")), EJ_OK);
    cr_assert_eq(ej_linker_link(lk, &m), EJ_OK, "%s", ej_linker_errmsg(lk));
    ej_linker_free(lk);
    uint64_t lo, hi;
    ej_module_range(m, &lo, &hi);
    cr_assert_eq(lo, 0x40000000);
    uintptr_t f = (uintptr_t)ej_module_symbol(m, "registry_sum");
    cr_assert(f >= lo && f < hi);
    unsigned char byte;
    cr_assert_eq(ej_module_read(m, f, &byte, 1), EJ_OK);
    cr_assert_eq(ej_module_read(m, hi, &byte, 1), EJ_RANGE);
    cr_assert_eq(ej_module_init(m, 0, NULL, NULL), EJ_STATE);
    ej_module_free(m);
}

/* ---- symbol kinds ------------------------------------------------------ */

Test(api, link_only_cannot_reach_host_data)
{
#if !defined(__x86_64__)
    /* gcc's default PIE code for aarch64 and riscv64 reaches stdout through
     * a GOT slot inside the image, which is always in range; the range
     * failures of their direct (-fno-pic) forms are covered, type by type,
     * by tests/reloc/<arch>. */
    cr_skip("PIE code on this architecture reaches 'stdout' through the GOT, never out of range");
#endif
    ej_linker *lk;
    ej_module *m;
    ej_linker_create(&lk);
    ej_linker_set_resolver(lk, test_resolver, NULL);
    cr_assert_eq(ej_linker_set_base(lk, 0x40000000), EJ_OK);
    cr_assert_eq(ej_linker_add_file(lk, obj("simple")), EJ_OK);
    cr_assert_eq(ej_linker_link(lk, &m), EJ_RANGE);
    const char *msg = ej_linker_errmsg(lk);
    cr_assert(strstr(msg, "simple.o: .text+0x") && strstr(msg, "R_X86_64_PC32 against 'stdout'") &&
              strstr(msg, "out of range"), "%s", msg);
    ej_linker_free(lk);
}

Test(api, start_stop_section_symbols)
{
    const char *names[] = {"registry_a", "registry_b"};
    ej_module *m = link_objs(names, 2);
    cr_assert_eq(((int (*)(void))ej_module_symbol(m, "registry_count"))(), 3);
    cr_assert_eq(((int (*)(void))ej_module_symbol(m, "registry_sum"))(), 43);
    ej_module_free(m);
}

Test(api, comdat_group_kept_once)
{
    const char *names[] = {"comdat_a", "comdat_b"};
    ej_module *m = link_objs(names, 2);
    int (*a)(void) = (int (*)(void))ej_module_symbol(m, "comdat_a");
    int (*b)(void) = (int (*)(void))ej_module_symbol(m, "comdat_b");
    cr_assert_eq(a(), 11, "the first object's copy is kept");
    cr_assert_eq(b(), 11);
    ej_module_free(m);
}

Test(api, common_and_weak_symbols)
{
    const char *names[] = {"common_a", "common_b", "strong"};
    ej_module *m = link_objs(names, 3);
    ((void (*)(int))ej_module_symbol(m, "common_set"))(17);
    cr_assert_eq(((int (*)(void))ej_module_symbol(m, "common_get"))(), 17,
                 "both objects share one common symbol");
    cr_assert_eq(((int (*)(void))ej_module_symbol(m, "call_weak"))(), 2,
                 "the strong definition overrides the weak one");
    ej_module_free(m);
}

/* ---- placement and memory --------------------------------------------- */

static long rss_pages(void)
{
    long size, resident;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f || fscanf(f, "%ld %ld", &size, &resident) != 2)
        resident = -1;
    if (f)
        fclose(f);
    return resident;
}

Test(api, large_alignment_and_bss_cost_nothing)
{
    long before = rss_pages();
    const char *names[] = {"align"};
    ej_module *m = link_objs(names, 1);
    long after = rss_pages();
    cr_assert_eq((uintptr_t)ej_module_symbol(m, "aligned8k") % 8192, 0);
    cr_assert_eq((uintptr_t)ej_module_symbol(m, "aligned64k") % 65536, 0);
    cr_assert_lt(after - before, 2048, "a 256 MiB .bss must not be touched by the link (%ld pages)",
                 after - before);
    cr_assert_eq(((long (*)(void))ej_module_symbol(m, "align_touch"))(), 4);
    cr_assert_lt(rss_pages() - before, 2048 + 8);
    ej_module_free(m);
}

Test(api, exhausted_address_space_is_a_clear_error)
{
    if (EJ_TEST_ASAN)
        cr_skip("ASan's shadow memory cannot live under a 160 MiB RLIMIT_AS");
    if (ej_test_emulator())
        cr_skip("%s does not pass RLIMIT_AS on to the host (it would limit the emulator "
                "itself), so the limit cannot exhaust the address space",
                ej_test_emulator());
    int before = ej_test_count_mappings();
    struct rlimit rl = {(rlim_t)160 << 20, (rlim_t)160 << 20};
    ej_linker *lk;
    ej_module *m;
    ej_linker_create(&lk);
    cr_assert_eq(ej_linker_add_file(lk, obj("align")), EJ_OK);
    cr_assert_eq(setrlimit(RLIMIT_AS, &rl), 0);
    ej_status st = ej_linker_link(lk, &m);
    cr_assert_eq(st, EJ_MAP, "%s: %s", ej_status_name(st), ej_linker_errmsg(lk));
    cr_assert(strstr(ej_linker_errmsg(lk), "cannot reserve"), "%s", ej_linker_errmsg(lk));
    ej_linker_free(lk);
    cr_assert_eq(ej_test_count_mappings(), before);
}

Test(api, executable_stack_request_is_refused)
{
    ej_linker *lk;
    ej_linker_create(&lk);
    cr_assert_eq(ej_linker_add_file(lk, obj("execstack")), EJ_UNSUPPORTED);
    cr_assert(strstr(ej_linker_errmsg(lk), "execstack.o: section") &&
              strstr(ej_linker_errmsg(lk), ".note.GNU-stack") &&
              strstr(ej_linker_errmsg(lk), "executable stack"), "%s", ej_linker_errmsg(lk));
    ej_linker_free(lk);
}
