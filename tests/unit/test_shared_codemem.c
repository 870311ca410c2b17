/* Shared code memory (src/codemem/slab.c): many small modules in few
 * mappings, never writable where executable, space reused and given back,
 * several arenas, alignment, modules too large for it, threads, pages a
 * debugger made private, ej_module_read on a module among others, modules
 * without code, and a fork child linking or freeing modules.
 *
 * Every module comes from the builder: functions with real machine code
 * for the host (f(x) = x + K; g() reads its rodata, h() reads its data,
 * each through a relocation; t is a trap site), a .data, a .rodata and a
 * .bss object.  Criterion runs each test in a process of its own, so the
 * tests that shrink ej__slab_area_bytes (read when the first arena is
 * made) start with no arena. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "codemem/slab.h"
#include "elfjit/builder.h"
#include "elfjit/elfjit.h"
#include "testutil.h"

#define SHARED_PATH "/memfd:elfjit-shared-code"

/* ---- machine code for the host ------------------------------------------ */

#if defined(__x86_64__)
/* f: lea eax,[rdi+K]; ret */
static const uint8_t f_code[] = {0x8d, 0x87, 0, 0, 0, 0, 0xc3};
/* g: mov eax,[rip+ro]; ret  (PCREL32 at 2, addend -4) */
static const uint8_t g_code[] = {0x8b, 0x05, 0, 0, 0, 0, 0xc3};
#define G_RELOC EJ_RELOC_PCREL32
#define G_OFF 2
#define G_ADDEND (-4)
/* h: mov rax,[rip+dat@GOTPCREL]; mov eax,[rax]; ret  (GOT_LOAD at 3, -4) */
static const uint8_t h_code[] = {0x48, 0x8b, 0x05, 0, 0, 0, 0, 0x8b, 0x00, 0xc3};
#define H_OFF 3
#define H_ADDEND (-4)
static const uint8_t t_code[] = {0x0f, 0x0b}; /* ud2 */
#define FILLER 0xcc
#define K_MOD (1u << 24)
static void set_k(uint8_t *code, uint32_t k)
{
    memcpy(code + 2, &k, 4);
}
#elif defined(__aarch64__)
/* f: add w0, w0, #K; ret */
static const uint8_t f_code[] = {0x00, 0x00, 0x00, 0x11, 0xc0, 0x03, 0x5f, 0xd6};
/* g, h: adrp x0, :got:sym; ldr x0, [x0, :got_lo12:sym]; ldr w0, [x0]; ret */
static const uint8_t g_code[] = {0x00, 0x00, 0x00, 0x90, 0x00, 0x00, 0x40, 0xf9,
                                 0x00, 0x00, 0x40, 0xb9, 0xc0, 0x03, 0x5f, 0xd6};
#define G_RELOC EJ_RELOC_GOT_LOAD
#define G_OFF 0
#define G_ADDEND 0
#define h_code g_code
#define H_OFF 0
#define H_ADDEND 0
static const uint8_t t_code[] = {0x00, 0x00, 0x00, 0x00}; /* udf #0 */
#define FILLER 0x00
#define K_MOD 4096u
static void set_k(uint8_t *code, uint32_t k)
{
    uint32_t insn = 0x11000000u | (k << 10);
    memcpy(code, &insn, 4);
}
#elif defined(__riscv)
/* f: addiw a0, a0, K; ret */
static const uint8_t f_code[] = {0x1b, 0x05, 0x05, 0x00, 0x67, 0x80, 0x00, 0x00};
/* g, h: auipc a0, %got_pcrel_hi(sym); ld a0, %pcrel_lo(a0); lw a0, 0(a0); ret */
static const uint8_t g_code[] = {0x17, 0x05, 0x00, 0x00, 0x03, 0x35, 0x05, 0x00,
                                 0x03, 0x25, 0x05, 0x00, 0x67, 0x80, 0x00, 0x00};
#define G_RELOC EJ_RELOC_GOT_LOAD
#define G_OFF 0
#define G_ADDEND 0
#define h_code g_code
#define H_OFF 0
#define H_ADDEND 0
static const uint8_t t_code[] = {0x73, 0x10, 0x00, 0xc0}; /* unimp */
#define FILLER 0x00
#define K_MOD 2048u
static void set_k(uint8_t *code, uint32_t k)
{
    uint32_t insn = 0x0005051bu | (k << 20);
    memcpy(code, &insn, 4);
}
#else
#error "test_shared_codemem.c: no machine code for this host"
#endif

static size_t page_size(void)
{
    return (size_t)sysconf(_SC_PAGESIZE);
}

/* ---- modules -------------------------------------------------------------- */

/* What a module is made of.  Zeros give the defaults. */
typedef struct spec {
    int id;
    ej_code_memory kind;   /* when KIND_SET, else EJ_CODE_MEMORY_SHARED */
    int kind_set;
    int default_reg;       /* registration: the defaults (else 0) */
    size_t f_align;        /* default 16 */
    size_t f_extra;        /* filler bytes after f's code, inside f */
    size_t data_len;       /* default 8 */
    size_t data_align;     /* default 8 */
    size_t ro_align;       /* default 4 */
    size_t bss_len;        /* default 16 */
    size_t bss_align;      /* default 8 */
    int only_f;            /* no g, h, t */
} spec;

typedef struct mod {
    ej_module *m;
    int id;
    int (*f)(int);
    int (*g)(void);
    int (*h)(void);
    uintptr_t t;
    uint32_t *ro, *dat;
    uint8_t *bss;
    size_t data_len, bss_len, f_len;
    char fname[32];
} mod;

static uint32_t f_k(int id)
{
    return (uint32_t)id % K_MOD;
}

static uint32_t ro_value(int id)
{
    return 0x10000000u + (uint32_t)id * 3u;
}

static uint32_t data_value(int id)
{
    return 0x20000000u + (uint32_t)id * 5u;
}

/* The initial bytes of module ID's .data object. */
static void data_bytes(int id, uint8_t *out, size_t len)
{
    uint32_t v = data_value(id);
    for (size_t i = 0; i < len; i++)
        out[i] = (uint8_t)(id * 7 + (int)i * 13 + 1);
    memcpy(out, &v, len < 4 ? len : 4);
}

/* Builds and links module S into *OUT; on failure returns the status and
 * leaves a message in MSG.  Safe on any thread. */
static ej_status make_mod(const spec *s, mod *out, char *msg, size_t msglen)
{
    memset(out, 0, sizeof *out);
    out->id = s->id;
    size_t data_len = s->data_len ? s->data_len : 8;
    size_t bss_len = s->bss_len ? s->bss_len : 16;
    out->data_len = data_len;
    out->bss_len = bss_len;
    char name[6][40];
    snprintf(name[0], sizeof name[0], "f_%d", s->id);
    snprintf(name[1], sizeof name[1], "g_%d", s->id);
    snprintf(name[2], sizeof name[2], "h_%d", s->id);
    snprintf(name[3], sizeof name[3], "t_%d", s->id);
    snprintf(name[4], sizeof name[4], "ro_%d", s->id);
    snprintf(name[5], sizeof name[5], "dat_%d", s->id);
    snprintf(out->fname, sizeof out->fname, "%s", name[0]);

    ej_builder *b = NULL;
    ej_linker *lk = NULL;
    void *img = NULL;
    uint8_t *fbuf = NULL, *dbuf = NULL;
    size_t ilen = 0;
    ej_status st = ej_builder_create(&b, 0);
    if (st != EJ_OK) {
        snprintf(msg, msglen, "ej_builder_create: %d", (int)st);
        return st;
    }
    size_t flen = sizeof f_code + s->f_extra;
    fbuf = malloc(flen);
    dbuf = malloc(data_len);
    if (!fbuf || !dbuf) {
        st = EJ_NOMEM;
        snprintf(msg, msglen, "out of memory");
        goto done;
    }
    memcpy(fbuf, f_code, sizeof f_code);
    memset(fbuf + sizeof f_code, FILLER, s->f_extra);
    set_k(fbuf, f_k(s->id));
    out->f_len = flen;
    data_bytes(s->id, dbuf, data_len);
    uint32_t ro = ro_value(s->id);
    uint32_t f, g, h, t, ro_id, dat_id, bss_id;
#define TRY(call)                                                                      \
    do {                                                                               \
        if ((st = (call)) != EJ_OK) {                                                  \
            snprintf(msg, msglen, "%s: %s", #call, ej_builder_errmsg(b));              \
            goto done;                                                                 \
        }                                                                              \
    } while (0)
    TRY(ej_builder_add_function(b, name[0], fbuf, flen, s->f_align ? s->f_align : 16,
                                EJ_BIND_GLOBAL, &f));
    TRY(ej_builder_add_data(b, name[4], EJ_DATA_RODATA, &ro, sizeof ro,
                            s->ro_align ? s->ro_align : 4, EJ_BIND_GLOBAL, &ro_id));
    TRY(ej_builder_add_data(b, name[5], EJ_DATA_DATA, dbuf, data_len,
                            s->data_align ? s->data_align : 8, EJ_BIND_GLOBAL, &dat_id));
    TRY(ej_builder_add_data(b, "zero", EJ_DATA_BSS, NULL, bss_len,
                            s->bss_align ? s->bss_align : 8, EJ_BIND_GLOBAL, &bss_id));
    if (!s->only_f) {
        TRY(ej_builder_add_function(b, name[1], g_code, sizeof g_code, 16, EJ_BIND_GLOBAL, &g));
        TRY(ej_builder_add_function(b, name[2], h_code, sizeof h_code, 16, EJ_BIND_GLOBAL, &h));
        TRY(ej_builder_add_function(b, name[3], t_code, sizeof t_code, 0, EJ_BIND_GLOBAL, &t));
        TRY(ej_builder_add_reloc(b, g, G_OFF, G_RELOC, ro_id, G_ADDEND));
        TRY(ej_builder_add_reloc(b, h, H_OFF, EJ_RELOC_GOT_LOAD, dat_id, H_ADDEND));
        TRY(ej_builder_add_trap(b, t, 0, (uint32_t)s->id + 1));
    }
    if (s->default_reg)
        TRY(ej_builder_set_unwind(b, f, NULL, 0));
    TRY(ej_builder_finish(b, &img, &ilen));
#undef TRY
#define TRYL(call)                                                                     \
    do {                                                                               \
        if ((st = (call)) != EJ_OK) {                                                  \
            snprintf(msg, msglen, "%s: %s", #call, lk ? ej_linker_errmsg(lk) : "");    \
            goto done;                                                                 \
        }                                                                              \
    } while (0)
    TRYL(ej_linker_create(&lk));
    TRYL(ej_linker_add_buffer(lk, "shared.o", img, ilen));
    TRYL(ej_linker_set_code_memory(lk, s->kind_set ? s->kind : EJ_CODE_MEMORY_SHARED));
    if (!s->default_reg)
        TRYL(ej_linker_set_registration(lk, 0));
    TRYL(ej_linker_link(lk, &out->m));
#undef TRYL
    ej_module *m = out->m;
    out->f = (int (*)(int))ej_module_symbol(m, name[0]);
    out->ro = ej_module_symbol(m, name[4]);
    out->dat = ej_module_symbol(m, name[5]);
    out->bss = ej_module_symbol(m, "zero");
    if (!s->only_f) {
        out->g = (int (*)(void))ej_module_symbol(m, name[1]);
        out->h = (int (*)(void))ej_module_symbol(m, name[2]);
        out->t = (uintptr_t)ej_module_symbol(m, name[3]);
    }
    if (!out->f || !out->ro || !out->dat || !out->bss ||
        (!s->only_f && (!out->g || !out->h || !out->t))) {
        st = EJ_NOTFOUND;
        snprintf(msg, msglen, "module %d: a symbol is missing", s->id);
        ej_module_free(m);
        out->m = NULL;
    }
done:
    ej_linker_free(lk);
    ej_builder_free(b);
    free(img);
    free(fbuf);
    free(dbuf);
    return st;
}

static mod link_spec(const spec *s)
{
    mod m;
    char msg[1024] = "";
    ej_status st = make_mod(s, &m, msg, sizeof msg);
    cr_assert_eq(st, EJ_OK, "module %d: %s", s->id, msg);
    return m;
}

static mod link_small(int id)
{
    spec s = {.id = id};
    return link_spec(&s);
}

/* What module M must hold: 0 when it does, else a message in MSG.  Safe on
 * any thread. */
static int check_mod(const mod *m, char *msg, size_t msglen)
{
    int x = 1000 + m->id % 977;
    int want = (int)((uint32_t)x + f_k(m->id));
    if (m->f(x) != want) {
        snprintf(msg, msglen, "module %d: f(%d) = %d, not %d", m->id, x, m->f(x), want);
        return 1;
    }
    if (*m->ro != ro_value(m->id)) {
        snprintf(msg, msglen, "module %d: rodata 0x%x, not 0x%x", m->id, *m->ro, ro_value(m->id));
        return 1;
    }
    uint8_t want_data[256];
    size_t dl = m->data_len < sizeof want_data ? m->data_len : sizeof want_data;
    data_bytes(m->id, want_data, dl);
    if (memcmp(m->dat, want_data, dl) != 0) {
        snprintf(msg, msglen, "module %d: .data 0x%x..., not its initial bytes (0x%x...)", m->id,
                 *m->dat, data_value(m->id));
        return 1;
    }
    for (size_t i = 0; i < m->bss_len; i++)
        if (m->bss[i]) {
            snprintf(msg, msglen, "module %d: .bss byte %zu is 0x%02x, not 0", m->id, i,
                     m->bss[i]);
            return 1;
        }
    if (m->g && (uint32_t)m->g() != ro_value(m->id)) {
        snprintf(msg, msglen, "module %d: g() read 0x%x from its rodata, not 0x%x", m->id,
                 (uint32_t)m->g(), ro_value(m->id));
        return 1;
    }
    if (m->h && (uint32_t)m->h() != *m->dat) {
        snprintf(msg, msglen, "module %d: h() read 0x%x from its data, not 0x%x", m->id,
                 (uint32_t)m->h(), *m->dat);
        return 1;
    }
    return 0;
}

static void assert_mod(const mod *m)
{
    char msg[512];
    int bad = check_mod(m, msg, sizeof msg);
    cr_assert_eq(bad, 0, "%s", msg);
}

static void free_mods(mod *ms, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        ej_module_free(ms[i].m);
        ms[i].m = NULL;
    }
}

/* ---- the process's mappings and files ------------------------------------ */

typedef struct mapping {
    uintptr_t lo, hi;
    char perms[5];
    unsigned long long off;
    char path[256];
} mapping;

/* Every line of /proc/self/maps, in a malloc()ed array. */
static size_t read_maps(mapping **out)
{
    FILE *fp = fopen("/proc/self/maps", "r");
    cr_assert_not_null(fp);
    size_t n = 0, cap = 256;
    mapping *v = malloc(cap * sizeof *v);
    char line[1024];
    while (fgets(line, sizeof line, fp)) {
        if (n == cap)
            v = realloc(v, (cap *= 2) * sizeof *v);
        mapping *m = &v[n];
        unsigned long lo, hi;
        int pos = 0;
        memset(m, 0, sizeof *m);
        if (sscanf(line, "%lx-%lx %4s %llx %*s %*s%n", &lo, &hi, m->perms, &m->off, &pos) < 4)
            continue;
        m->lo = lo;
        m->hi = hi;
        const char *p = line + pos;
        while (*p == ' ')
            p++;
        snprintf(m->path, sizeof m->path, "%s", p);
        m->path[strcspn(m->path, "\n")] = '\0';
        n++;
    }
    fclose(fp);
    *out = v;
    return n;
}

static int is_shared_path(const char *path)
{
    return strncmp(path, SHARED_PATH, strlen(SHARED_PATH)) == 0;
}

/* The mapping holding ADDR (0 when none). */
static int mapping_of(uintptr_t addr, mapping *out)
{
    mapping *v;
    size_t n = read_maps(&v);
    int found = 0;
    for (size_t i = 0; i < n && !found; i++)
        if (addr >= v[i].lo && addr < v[i].hi) {
            *out = v[i];
            found = 1;
        }
    free(v);
    return found;
}

static int in_shared_memory(uintptr_t addr)
{
    mapping m;
    return mapping_of(addr, &m) && is_shared_path(m.path);
}

static size_t count_shared_mappings(void)
{
    mapping *v;
    size_t n = read_maps(&v), k = 0;
    for (size_t i = 0; i < n; i++)
        k += is_shared_path(v[i].path);
    free(v);
    return k;
}

/* An open descriptor of the shared code memory file, or -1. */
static int shared_fd(void)
{
    DIR *d = opendir("/proc/self/fd");
    cr_assert_not_null(d);
    int found = -1;
    for (struct dirent *e; (e = readdir(d)) && found < 0;) {
        char path[300], target[512];
        snprintf(path, sizeof path, "/proc/self/fd/%s", e->d_name);
        ssize_t n = readlink(path, target, sizeof target - 1);
        if (n <= 0)
            continue;
        target[n] = '\0';
        if (is_shared_path(target))
            found = atoi(e->d_name);
    }
    closedir(d);
    return found;
}

/* ---- 1. many modules, few mappings ---------------------------------------- */

#define MANY 3000

Test(shared_codemem, many_modules_few_mappings)
{
    int before = ej_test_count_mappings();
    mod *ms = calloc(MANY, sizeof *ms);
    for (int i = 0; i < MANY; i++)
        ms[i] = link_small(i);
    int after = ej_test_count_mappings();
    if (!EJ_TEST_ASAN)
        cr_expect_lt(after - before, 20, "%d modules added %d mappings (%d -> %d)", MANY,
                     after - before, before, after);
    cr_expect_geq(ej__slab_arenas(), 1);
    cr_expect_leq(ej__slab_arenas(), 2, "%zu arenas for %d small modules", ej__slab_arenas(),
                  MANY);
    for (int i = 0; i < MANY; i++) {
        assert_mod(&ms[i]);
        cr_assert(in_shared_memory((uintptr_t)ms[i].f) || i % 500,
                  "module %d's code is not in shared code memory", i);
        ej_pc_info pi;
        cr_assert_eq(ej_module_lookup_pc(ms[i].m, (uintptr_t)ms[i].f + 1, &pi), 1, "module %d", i);
        cr_assert_eq(pi.module, ms[i].m);
        cr_assert_not_null(pi.function, "module %d", i);
        cr_assert_str_eq(pi.function, ms[i].fname);
        cr_assert_eq(pi.function_addr, (uintptr_t)ms[i].f);
        cr_assert_eq(pi.offset, 1);
        /* The trap site of t, and the process-wide registry. */
        cr_assert_eq(ej_lookup_pc(ms[i].t, &pi), 1, "module %d's trap site", i);
        cr_assert_eq(pi.module, ms[i].m, "module %d: ej_lookup_pc found another module", i);
        cr_assert_eq(pi.has_trap, 1);
        cr_assert_eq(pi.trap_code, (uint32_t)i + 1);
        /* Another module's function is not this module's. */
        if (i > 0)
            cr_assert_eq(ej_module_lookup_pc(ms[i].m, (uintptr_t)ms[i - 1].f, &pi), 0,
                         "module %d claims module %d's function", i, i - 1);
    }
    free_mods(ms, MANY);
    free(ms);
    cr_expect_eq(ej__slab_arenas(), 0);
}

/* ---- 2. W^X --------------------------------------------------------------- */

Test(shared_codemem, never_writable_and_executable)
{
    unsetenv("ELFJIT_CODEMEM"); /* (so that AUTO shares small modules) */
    enum { N = 300 };
    mod ms[N + 3];
    for (int i = 0; i < N; i++)
        ms[i] = link_small(i);
    spec mp = {.id = N, .kind = EJ_CODE_MEMORY_MPROTECT, .kind_set = 1};
    ms[N] = link_spec(&mp);
    spec big = {.id = N + 1, .f_extra = page_size() + 904};
    ms[N + 1] = link_spec(&big);
    spec dflt = {.id = N + 2, .kind = EJ_CODE_MEMORY_AUTO, .kind_set = 1, .default_reg = 1};
    ms[N + 2] = link_spec(&dflt);
    for (int i = 0; i < N + 3; i++)
        assert_mod(&ms[i]);

    mapping *v;
    size_t n = read_maps(&v), shared = 0, shared_rx = 0;
    for (size_t i = 0; i < n; i++) {
        int w = v[i].perms[1] == 'w', x = v[i].perms[2] == 'x';
        cr_expect(!(w && x), "mapping %" PRIxPTR "-%" PRIxPTR " %s %s is writable and executable",
                  v[i].lo, v[i].hi, v[i].perms, v[i].path);
        if (!is_shared_path(v[i].path))
            continue;
        shared++;
        shared_rx += strcmp(v[i].perms, "r-xp") == 0;
        cr_expect(strcmp(v[i].perms, "r-xp") == 0 || strcmp(v[i].perms, "r--p") == 0,
                  "shared code mapping %" PRIxPTR "-%" PRIxPTR " is %s", v[i].lo, v[i].hi,
                  v[i].perms);
        cr_expect_str_eq(v[i].path, SHARED_PATH " (deleted)");
    }
    free(v);
    cr_assert_geq(shared, 2, "no shared code mapping to check");
    cr_assert_geq(shared_rx, 1);
    cr_expect(in_shared_memory((uintptr_t)ms[0].f));
    cr_expect(in_shared_memory((uintptr_t)ms[N + 2].f), "a small AUTO module is not shared");
    free_mods(ms, N + 3);
}

/* ---- 3. reuse ------------------------------------------------------------- */

Test(shared_codemem, freed_space_is_reused_clean)
{
    cr_assert_eq(ej__slab_arenas(), 0, "this test needs a process of its own");
    unsetenv("ELFJIT_CODEMEM");
    ej__slab_area_bytes = 64 << 10; /* several arenas: the count then means something */
    enum { N = 1000 };
    size_t bss = page_size() / 4;
    mod *ms = calloc(N + N / 2, sizeof *ms);
    for (int i = 0; i < N; i++) {
        spec s = {.id = i, .bss_len = bss, .data_len = 24};
        ms[i] = link_spec(&s);
    }
    size_t arenas = ej__slab_arenas();
    cr_assert_geq(arenas, 2, "only %zu arena(s): the test means nothing", arenas);
    /* Dirty every old module's data and .bss, then free every other one. */
    for (int i = 0; i < N; i++) {
        memset(ms[i].dat, 0xa5, ms[i].data_len);
        memset(ms[i].bss, 0x5a, ms[i].bss_len);
    }
    uintptr_t *freed = calloc(N / 2, sizeof *freed);
    for (int i = 1; i < N; i += 2) {
        freed[i / 2] = (uintptr_t)ms[i].dat;
        ej_module_free(ms[i].m);
        ms[i].m = NULL;
    }
    cr_assert_eq(ej__slab_arenas(), arenas, "no arena is empty, none may go");
    int reused = 0;
    for (int j = 0; j < N / 2; j++) {
        spec s = {.id = N + j, .bss_len = bss, .data_len = 24};
        ms[N + j] = link_spec(&s);
        for (int k = 0; k < N / 2; k++)
            reused += (uintptr_t)ms[N + j].dat == freed[k];
    }
    cr_expect_leq(ej__slab_arenas(), arenas, "%zu arenas after reuse, %zu before",
                  ej__slab_arenas(), arenas);
    cr_expect_gt(reused, N / 4, "only %d of %d new modules reuse a freed module's data", reused,
                 N / 2);
    /* The new ones: code right, .data its own initial bytes, .bss zero. */
    for (int j = 0; j < N / 2; j++)
        assert_mod(&ms[N + j]);
    /* The old ones that stayed are untouched. */
    for (int i = 0; i < N; i += 2) {
        for (size_t b = 0; b < ms[i].bss_len; b++)
            cr_assert_eq(ms[i].bss[b], 0x5a, "module %d's .bss changed", i);
        cr_assert_eq(ms[i].f(5), (int)(5 + f_k(i)));
        cr_assert_eq((uint32_t)ms[i].g(), ro_value(i));
        cr_assert_eq((uint32_t)ms[i].h(), 0xa5a5a5a5u);
    }
    free_mods(ms, N + N / 2);
    free(ms);
    free(freed);
    cr_expect_eq(ej__slab_arenas(), 0);
}

/* ---- 4. freeing returns everything ---------------------------------------- */

Test(shared_codemem, freeing_all_returns_everything)
{
    enum { N = 200 };
    mod ms[N];
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < N; i++)
            ms[i] = link_small(i + round * N);
        cr_assert_geq(ej__slab_arenas(), 1);
        cr_assert_geq(shared_fd(), 0, "no shared code memory file is open with modules alive");
        cr_assert_geq(count_shared_mappings(), 2);
        for (int i = 0; i < N; i++)
            assert_mod(&ms[i]);
        /* In an order that is neither the linking one nor its reverse. */
        for (int i = 0; i < N; i += 3)
            ej_module_free(ms[i].m);
        for (int i = N - 1; i >= 0; i--)
            if (i % 3)
                ej_module_free(ms[i].m);
        cr_assert_eq(ej__slab_arenas(), 0, "round %d: arenas left after freeing every module",
                     round);
        cr_assert_eq(shared_fd(), -1, "round %d: the shared code memory file is still open",
                     round);
        cr_assert_eq(count_shared_mappings(), 0, "round %d: shared code mappings left", round);
    }
}

/* ---- 5. several arenas ---------------------------------------------------- */

Test(shared_codemem, several_arenas)
{
    cr_assert_eq(ej__slab_arenas(), 0, "this test needs a process of its own");
    ej__slab_area_bytes = 64 << 10;
    size_t page = page_size(), unit = page * 64;
    size_t area = (((size_t)64 << 10) + unit - 1) / unit * unit;
    /* Each module's data piece is over half a page: about 2 * area / page
     * modules fill an arena's data area. */
    size_t per_arena = area / (page / 2 + 64);
    size_t n = per_arena * 3 + per_arena / 2;
    mod *ms = calloc(n, sizeof *ms);
    for (size_t i = 0; i < n; i++) {
        spec s = {.id = (int)i, .bss_len = page / 2};
        ms[i] = link_spec(&s);
    }
    size_t arenas = ej__slab_arenas();
    cr_expect_eq(arenas, 4, "%zu modules in %zu arena(s), %zu per arena", n, arenas, per_arena);
    /* Each arena's code area is one mapping of the small size. */
    mapping *v;
    size_t nm = read_maps(&v), rx = 0;
    for (size_t i = 0; i < nm; i++)
        if (is_shared_path(v[i].path) && v[i].perms[2] == 'x') {
            rx++;
            cr_expect_eq(v[i].hi - v[i].lo, area, "a code area of %zu bytes, not %zu",
                         (size_t)(v[i].hi - v[i].lo), area);
        }
    free(v);
    cr_expect_eq(rx, arenas, "%zu code mappings for %zu arenas", rx, arenas);
    for (size_t i = 0; i < n; i++)
        assert_mod(&ms[i]);
    /* Modules were placed arena after arena: freeing the first ones in
     * order empties the first two arenas; one empty arena is kept, the
     * other goes. */
    size_t half = 2 * per_arena + 1;
    for (size_t i = 0; i < half; i++) {
        ej_module_free(ms[i].m);
        ms[i].m = NULL;
    }
    cr_expect_eq(ej__slab_arenas(), arenas - 1, "%zu arenas after two emptied, %zu before",
                 ej__slab_arenas(), arenas);
    for (size_t i = half; i < n; i++)
        assert_mod(&ms[i]);
    free_mods(ms, n);
    free(ms);
    cr_expect_eq(ej__slab_arenas(), 0);
    cr_expect_eq(count_shared_mappings(), 0);
    cr_expect_eq(shared_fd(), -1);
}

/* ---- 6. alignment --------------------------------------------------------- */

Test(shared_codemem, alignment_is_honoured)
{
    enum { N = 8 };
    mod pad[N], al[N];
    for (int i = 0; i < N; i++) {
        /* Something unaligned before each, so that the cursor is not. */
        pad[i] = link_small(100 + i);
        spec s = {.id = i, .f_align = 256, .data_align = 512, .data_len = 40, .ro_align = 128,
                  .bss_align = 256, .bss_len = 8, .default_reg = i % 2};
        al[i] = link_spec(&s);
        cr_expect_eq((uintptr_t)al[i].f % 256, 0, "f at %p", (void *)al[i].f);
        cr_expect_eq((uintptr_t)al[i].dat % 512, 0, ".data at %p", (void *)al[i].dat);
        cr_expect_eq((uintptr_t)al[i].ro % 128, 0, ".rodata at %p", (void *)al[i].ro);
        cr_expect_eq((uintptr_t)al[i].bss % 256, 0, ".bss at %p", (void *)al[i].bss);
        cr_expect(in_shared_memory((uintptr_t)al[i].f), "an aligned small module is not shared");
        assert_mod(&al[i]);
    }
    free_mods(pad, N);
    free_mods(al, N);
}

/* ---- 7. too large for shared memory; MPROTECT and AUTO -------------------- */

Test(shared_codemem, large_modules_get_their_own_mapping)
{
    unsetenv("ELFJIT_CODEMEM");
    size_t page = page_size();
    mod small = link_small(1);
    cr_assert(in_shared_memory((uintptr_t)small.f));

    spec bc = {.id = 2, .f_extra = page + 904 - sizeof f_code};
    mod big_code = link_spec(&bc);
    assert_mod(&big_code);
    cr_expect(!in_shared_memory((uintptr_t)big_code.f), "%zu bytes of code in shared memory",
              big_code.f_len);
    uint64_t lo, hi;
    ej_module_range(big_code.m, &lo, &hi);
    cr_expect_gt(hi - lo, page, "range %#" PRIx64 "-%#" PRIx64, lo, hi);
    cr_expect(lo <= (uintptr_t)big_code.f && (uintptr_t)big_code.f + big_code.f_len <= hi);

    spec bb = {.id = 3, .bss_len = page + 904};
    mod big_bss = link_spec(&bb);
    assert_mod(&big_bss);
    big_bss.bss[page + 903] = 1; /* writable */
    cr_expect(!in_shared_memory((uintptr_t)big_bss.f), "a module with %zu bytes of .bss is "
              "in shared memory", big_bss.bss_len);
    ej_module_range(big_bss.m, &lo, &hi);
    cr_expect_gt(hi - lo, page);

    spec mp = {.id = 4, .kind = EJ_CODE_MEMORY_MPROTECT, .kind_set = 1};
    mod mprot = link_spec(&mp);
    assert_mod(&mprot);
    cr_expect(!in_shared_memory((uintptr_t)mprot.f), "an MPROTECT module is in shared memory");
    cr_expect(!in_shared_memory((uintptr_t)mprot.ro));

    spec au = {.id = 5, .kind = EJ_CODE_MEMORY_AUTO, .kind_set = 1};
    mod autom = link_spec(&au);
    assert_mod(&autom);
    cr_expect(in_shared_memory((uintptr_t)autom.f), "a small AUTO module is not shared");
    cr_expect(in_shared_memory((uintptr_t)autom.ro));
    ej_module_range(autom.m, &lo, &hi);
    cr_expect_leq(hi - lo, page);

    /* ELFJIT_CODEMEM=mprotect turns AUTO's sharing off. */
    setenv("ELFJIT_CODEMEM", "mprotect", 1);
    spec au2 = {.id = 6, .kind = EJ_CODE_MEMORY_AUTO, .kind_set = 1};
    mod auto_mp = link_spec(&au2);
    unsetenv("ELFJIT_CODEMEM");
    assert_mod(&auto_mp);
    cr_expect(!in_shared_memory((uintptr_t)auto_mp.f));

    mod all[] = {small, big_code, big_bss, mprot, autom, auto_mp};
    free_mods(all, sizeof all / sizeof all[0]);
    cr_expect_eq(ej__slab_arenas(), 0);
}

/* ---- 8. threads ----------------------------------------------------------- */

enum { PER_THREAD = 2000, KEEP = 24 };

typedef struct worker {
    int base;
    pthread_barrier_t *go;
    int failures;
    char msg[512];
} worker;

/* A module dirtied after its link: its code still runs, h() reads what was
 * written into its .data. */
static int check_dirtied(const mod *m, char *msg, size_t msglen)
{
    uint32_t want = 0xd1d1d1d1u ^ (uint32_t)m->id;
    if (m->f(3) != (int)(3 + f_k(m->id)) || (uint32_t)m->g() != ro_value(m->id) ||
        *m->dat != want || (uint32_t)m->h() != want) {
        snprintf(msg, msglen, "module %d before its free: f(3) = %d, g() = 0x%x, .data 0x%x, "
                 "h() = 0x%x (want %d, 0x%x, 0x%x)", m->id, m->f(3), (uint32_t)m->g(), *m->dat,
                 (uint32_t)m->h(), (int)(3 + f_k(m->id)), ro_value(m->id), want);
        return 1;
    }
    return 0;
}

static void *work(void *arg)
{
    worker *w = arg;
    mod ring[KEEP];
    memset(ring, 0, sizeof ring);
    pthread_barrier_wait(w->go);
    for (int i = 0; i < PER_THREAD + KEEP && !w->failures; i++) {
        mod *slot = &ring[i % KEEP];
        if (slot->m) {
            if (check_dirtied(slot, w->msg, sizeof w->msg))
                w->failures++;
            ej_module_free(slot->m);
            slot->m = NULL;
        }
        if (i >= PER_THREAD || w->failures)
            continue;
        spec s = {.id = w->base + i, .data_len = 8 + (size_t)(i % 5) * 40,
                  .bss_len = 8 + (size_t)(i % 7) * 100};
        ej_status st = make_mod(&s, slot, w->msg, sizeof w->msg);
        if (st != EJ_OK || check_mod(slot, w->msg, sizeof w->msg)) {
            w->failures++;
            continue;
        }
        /* Dirty it, so that whoever reuses its space must clean up. */
        memset(slot->bss, 0xee, slot->bss_len);
        memset(slot->dat, 0x77, slot->data_len);
        *slot->dat = 0xd1d1d1d1u ^ (uint32_t)slot->id;
    }
    for (int k = 0; k < KEEP; k++)
        ej_module_free(ring[k].m);
    return NULL;
}

Test(shared_codemem, threads_link_and_free_concurrently)
{
    pthread_barrier_t go;
    pthread_barrier_init(&go, NULL, 2);
    worker w[2] = {{.base = 0, .go = &go}, {.base = 100000, .go = &go}};
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        cr_assert_eq(pthread_create(&th[i], NULL, work, &w[i]), 0);
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&go);
    for (int i = 0; i < 2; i++)
        cr_expect_eq(w[i].failures, 0, "thread %d: %s", i, w[i].msg);
    cr_expect_eq(ej__slab_arenas(), 0);
    cr_expect_eq(count_shared_mappings(), 0);
}

/* The bytes module M's f must show. */
static int f_intact(const mod *m)
{
    uint8_t want[sizeof f_code];
    memcpy(want, f_code, sizeof f_code);
    set_k(want, f_k(m->id));
    return memcmp((const void *)m->f, want, sizeof want) == 0;
}

/* ---- 9. pages a debugger made private ------------------------------------ */

/* Debugger-written pages exist only where a debugger can write this
 * process's pages: not under qemu-user (gdb would debug the emulator), where
 * elfjit also maps code pages again after each write so that the emulator
 * drops its stale translations, which would drop such a page too. */
static void skip_under_emulator(void)
{
    if (ej_test_emulator())
        cr_skip_test("under %s no debugger writes this process's pages", ej_test_emulator());
}

Test(shared_codemem, debugger_private_page)
{
    skip_under_emulator();
    int mem = open("/proc/self/mem", O_RDWR | O_CLOEXEC);
    if (mem < 0)
        cr_skip_test("/proc/self/mem cannot be opened for writing: %s", strerror(errno));
    spec sa = {.id = 1, .only_f = 1};
    mod a = link_spec(&sa);
    assert_mod(&a);
    uintptr_t page = page_size();
    uintptr_t a_page = (uintptr_t)a.f & ~(page - 1);
    /* A breakpoint in the padding after a's function (its own granule). */
    uint8_t *pad = (uint8_t *)a.f + a.f_len;
    cr_assert_eq(((uintptr_t)pad & ~(uintptr_t)(EJ_SLAB_GRANULE - 1)),
                 ((uintptr_t)a.f & ~(uintptr_t)(EJ_SLAB_GRANULE - 1)));
    uint8_t bp = 0xcc, old = *pad;
    cr_assert_neq(old, bp);
    if (pwrite(mem, &bp, 1, (off_t)(uintptr_t)pad) != 1) {
        int e = errno;
        close(mem);
        ej_module_free(a.m);
        cr_skip_test("/proc/self/mem is not writable: %s", strerror(e));
    }
    cr_assert_eq(*pad, bp, "the write through /proc/self/mem does not show");
    cr_assert_eq(a.f(1), (int)(1 + f_k(1)));
    /* The page is now this process's copy: the file no longer shows it. */
    mapping mp;
    cr_assert(mapping_of((uintptr_t)pad, &mp));
    cr_assert(is_shared_path(mp.path), "a's code is not in shared memory (%s)", mp.path);
    int fd = shared_fd();
    cr_assert_geq(fd, 0);
    uint8_t in_file = 0xff;
    cr_assert_eq(pread(fd, &in_file, 1, (off_t)(mp.off + ((uintptr_t)pad - mp.lo))), 1);
    cr_assert_eq(in_file, old, "the file shows the breakpoint: the page is not private");

    /* Link modules until one's code lands in that page. */
    enum { MAXB = 64 };
    mod b[MAXB];
    int nb = 0, hit = -1;
    while (nb < MAXB && hit < 0) {
        spec sb = {.id = 10 + nb, .only_f = nb % 2};
        b[nb] = link_spec(&sb);
        if (((uintptr_t)b[nb].f & ~(page - 1)) == a_page)
            hit = nb;
        nb++;
    }
    cr_assert_geq(hit, 0, "no later module's code landed in a's page");
    /* Its bytes show where it runs (checked before running it), and are
     * in the file too. */
    uint8_t want[sizeof f_code], got[sizeof f_code];
    memcpy(want, f_code, sizeof f_code);
    set_k(want, f_k(b[hit].id));
    cr_assert_eq(memcmp((void *)b[hit].f, want, sizeof want), 0,
                 "module %d's code in the private page is not its code", b[hit].id);
    cr_assert_eq(pread(fd, got, sizeof got, (off_t)(mp.off + ((uintptr_t)b[hit].f - mp.lo))),
                 (ssize_t)sizeof got);
    cr_assert_eq(memcmp(got, want, sizeof want), 0);
    for (int i = 0; i < nb; i++)
        assert_mod(&b[i]);
    cr_assert_eq(*pad, bp, "the breakpoint is gone");

    free_mods(b, (size_t)nb);
    ej_module_free(a.m);
    close(mem);
    cr_expect_eq(ej__slab_arenas(), 0);
}

/* Space freed inside a page a debugger made private, then handed out
 * again: the private copy still shows the old module's code there, which
 * the new module's bytes must replace.  A small arena, filled to its end
 * so that the allocation comes round to the freed granule. */
Test(shared_codemem, debugger_private_page_reused)
{
    skip_under_emulator();
    cr_assert_eq(ej__slab_arenas(), 0, "this test needs a process of its own");
    ej__slab_area_bytes = 64 << 10;
    int mem = open("/proc/self/mem", O_RDWR | O_CLOEXEC);
    if (mem < 0)
        cr_skip_test("/proc/self/mem cannot be opened for writing: %s", strerror(errno));
    spec sa = {.id = 1, .only_f = 1}, sb = {.id = 2, .only_f = 1};
    mod a = link_spec(&sa), b = link_spec(&sb);
    uintptr_t page = page_size();
    cr_assert_eq((uintptr_t)b.f, (uintptr_t)a.f + EJ_SLAB_GRANULE, "b does not follow a");
    uint8_t bp = 0xcc, *pad = (uint8_t *)a.f + a.f_len;
    if (pwrite(mem, &bp, 1, (off_t)(uintptr_t)pad) != 1) {
        int e = errno;
        close(mem);
        mod both[] = {a, b};
        free_mods(both, 2);
        cr_skip_test("/proc/self/mem is not writable: %s", strerror(e));
    }
    mapping text;
    cr_assert(mapping_of((uintptr_t)a.f, &text) && is_shared_path(text.path));
    uintptr_t b_at = (uintptr_t)b.f;
    ej_module_free(b.m); /* a stays: the page is not given back, its copy stays */
    uint8_t stale[sizeof f_code];
    memcpy(stale, (void *)b_at, sizeof stale);

    /* Fill the code area to its end: big modules (63 granules of code),
     * then small ones. */
    size_t big_len = 63 * EJ_SLAB_GRANULE;
    if (big_len > page)
        big_len = page;
    size_t cap = (text.hi - text.lo) / EJ_SLAB_GRANULE + 8, n = 0;
    mod *fill = calloc(cap, sizeof *fill);
    uintptr_t next = b_at; /* one past the last code piece handed out */
    while (next < text.hi && n < cap) {
        spec s = {.id = 100 + (int)n, .only_f = 1};
        if (text.hi - next >= big_len)
            s.f_extra = big_len - sizeof f_code;
        fill[n] = link_spec(&s);
        uintptr_t f = (uintptr_t)fill[n].f;
        cr_assert_geq(f, next, "module %zu's code at %#" PRIxPTR ", before %#" PRIxPTR, n, f,
                      next);
        cr_assert_lt(f, text.hi, "module %zu's code left the arena", n);
        next = f + (fill[n].f_len + EJ_SLAB_GRANULE - 1) / EJ_SLAB_GRANULE * EJ_SLAB_GRANULE;
        n++;
    }
    cr_assert_eq(next, text.hi, "the code area was not filled");
    cr_assert_eq(ej__slab_arenas(), 1);

    spec sc = {.id = 3, .only_f = 1};
    mod c = link_spec(&sc);
    cr_assert_eq((uintptr_t)c.f, b_at, "c's code at %p, not in b's old place %#" PRIxPTR,
                 (void *)c.f, b_at);
    cr_assert(f_intact(&c), "c's code in the private page is b's old code: %d",
              memcmp(stale, (void *)c.f, sizeof stale));
    assert_mod(&c);
    cr_assert_eq(*pad, bp, "a's breakpoint is gone");
    assert_mod(&a);
    for (size_t i = 0; i < n; i++)
        assert_mod(&fill[i]);
    free_mods(fill, n);
    free(fill);
    ej_module_free(c.m);
    ej_module_free(a.m);
    close(mem);
    cr_expect_eq(ej__slab_arenas(), 0);
}

/* ---- 10. ej_module_read on a shared module -------------------------------- */

Test(shared_codemem, module_read_stays_inside_the_module)
{
    spec sa = {.id = 7, .only_f = 1};
    mod a = link_spec(&sa);
    spec sb = {.id = 8, .only_f = 1};
    mod b = link_spec(&sb);
    cr_assert(in_shared_memory((uintptr_t)a.f) && in_shared_memory((uintptr_t)b.f));
    uintptr_t fa = (uintptr_t)a.f, fb = (uintptr_t)b.f;
    uintptr_t dist = fa < fb ? fb - fa : fa - fb;
    cr_assert_leq(dist, page_size(), "the two modules are not neighbours (%p, %p)", a.f, b.f);

    uint8_t buf[64], want[sizeof f_code];
    memcpy(want, f_code, sizeof f_code);
    set_k(want, f_k(a.id));
    cr_assert_eq(ej_module_read(a.m, fa, buf, sizeof f_code), EJ_OK, "%s",
                 ej_module_errmsg(a.m));
    cr_assert_eq(memcmp(buf, want, sizeof want), 0, "ej_module_read shows other bytes");
    /* Its rodata and data too. */
    uint32_t v = 0;
    cr_assert_eq(ej_module_read(a.m, (uintptr_t)a.ro, &v, 4), EJ_OK, "%s", ej_module_errmsg(a.m));
    cr_assert_eq(v, ro_value(a.id));
    cr_assert_eq(ej_module_read(a.m, (uintptr_t)a.dat, &v, 4), EJ_OK, "%s",
                 ej_module_errmsg(a.m));
    cr_assert_eq(v, data_value(a.id));
    /* The neighbour's code, and a range running into it, are not a's. */
    cr_assert_eq(ej_module_read(a.m, fb, buf, 4), EJ_RANGE, "a's read gave b's code");
    cr_assert_eq(ej_module_read(b.m, fa, buf, 4), EJ_RANGE, "b's read gave a's code");
    cr_assert_neq(ej_module_errmsg(b.m)[0], '\0');
    if (fb > fa)
        cr_assert_eq(ej_module_read(a.m, fa, buf, fb - fa + 4), EJ_RANGE,
                     "a read from a's code into b's");
    cr_assert_eq(ej_module_read(a.m, (uintptr_t)b.ro, &v, 4), EJ_RANGE, "a's read gave b's rodata");
    cr_assert_eq(ej_module_read(a.m, (uintptr_t)b.dat, &v, 4), EJ_RANGE, "a's read gave b's data");
    ej_module_free(b.m);
    ej_module_free(a.m);
}

/* A module whose .bss ends inside a granule: what follows that granule is
 * a neighbour's data, which ej_module_read must not show. */
Test(shared_codemem, module_read_bss_tail_stays_inside_the_module)
{
    /* .data 8 bytes, .bss 56 bytes after it: exactly one 64-byte granule. */
    spec sa = {.id = 20, .only_f = 1, .data_len = 8, .data_align = 8, .bss_len = 56,
               .bss_align = 8};
    mod a = link_spec(&sa);
    mod b = {0};
    int found = 0;
    mod extra[16];
    int ne = 0;
    for (; ne < 16 && !found; ne++) {
        spec sb = {.id = 21 + ne, .only_f = 1, .data_len = 8};
        extra[ne] = link_spec(&sb);
        if ((uintptr_t)extra[ne].dat == (uintptr_t)a.dat + EJ_SLAB_GRANULE) {
            b = extra[ne];
            found = 1;
        }
    }
    cr_assert(found, "no module's data follows a's granule (a's data at %p)", (void *)a.dat);
    cr_assert_eq(a.bss, (uint8_t *)a.dat + 8, "a's .bss at %p, its .data at %p", (void *)a.bss,
                 (void *)a.dat);
    uint8_t buf[64], zeros[56] = {0};
    cr_expect_eq(ej_module_read(a.m, (uintptr_t)a.bss, buf, 56), EJ_OK, "%s",
                 ej_module_errmsg(a.m));
    cr_expect_eq(memcmp(buf, zeros, 56), 0, "a's .bss does not read as zeros");
    memset(buf, 0, sizeof buf);
    ej_status st = ej_module_read(a.m, (uintptr_t)b.dat, buf, 8);
    cr_expect_eq(st, EJ_RANGE, "ej_module_read(a) at a's .bss + 56 gave %d and %s b's .data "
                 "(0x%08x)", (int)st, memcmp(buf, b.dat, 8) == 0 ? "read" : "did not read",
                 *b.dat);
    free_mods(extra, (size_t)ne);
    ej_module_free(a.m);
}

/* ---- extra: a module with data and no code -------------------------------- */

Test(shared_codemem, data_only_modules)
{
    enum { N = 4 };
    ej_module *ms[N];
    uint32_t *vals[N];
    for (int i = 0; i < N; i++) {
        ej_builder *b;
        cr_assert_eq(ej_builder_create(&b, 0), EJ_OK);
        uint32_t id, v = 0x600d0000u + (uint32_t)i, r = 0x0dd00000u + (uint32_t)i;
        cr_assert_eq(ej_builder_add_data(b, "v", EJ_DATA_DATA, &v, 4, 4, EJ_BIND_GLOBAL, &id),
                     EJ_OK);
        cr_assert_eq(ej_builder_add_data(b, "r", EJ_DATA_RODATA, &r, 4, 4, EJ_BIND_GLOBAL, &id),
                     EJ_OK);
        void *img;
        size_t len;
        cr_assert_eq(ej_builder_finish(b, &img, &len), EJ_OK, "%s", ej_builder_errmsg(b));
        ej_linker *lk;
        cr_assert_eq(ej_linker_create(&lk), EJ_OK);
        cr_assert_eq(ej_linker_add_buffer(lk, "d.o", img, len), EJ_OK);
        cr_assert_eq(ej_linker_set_code_memory(lk, EJ_CODE_MEMORY_SHARED), EJ_OK);
        cr_assert_eq(ej_linker_link(lk, &ms[i]), EJ_OK, "%s", ej_linker_errmsg(lk));
        ej_linker_free(lk);
        ej_builder_free(b);
        free(img);
        vals[i] = ej_module_symbol(ms[i], "v");
        cr_assert_not_null(vals[i]);
        cr_assert_eq(*vals[i], 0x600d0000u + (uint32_t)i);
        uint32_t *rp = ej_module_symbol(ms[i], "r");
        cr_assert_not_null(rp);
        cr_assert_eq(*rp, 0x0dd00000u + (uint32_t)i);
    }
    for (int i = 0; i < N; i++)
        cr_assert_eq(*vals[i], 0x600d0000u + (uint32_t)i);
    for (int i = 0; i < N; i++)
        ej_module_free(ms[i]);
    cr_expect_eq(ej__slab_arenas(), 0);
}

/* ---- extra: fork ----------------------------------------------------------- */

/* A child of a process with shared code memory frees a module it
 * inherited (as a child cleaning up before it exits might): the parent's
 * copy of that module must be untouched. */
Test(shared_codemem, fork_child_free_leaves_parent_code)
{
    spec sa = {.id = 41, .only_f = 1};
    mod a = link_spec(&sa);
    assert_mod(&a);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        ej_module_free(a.m);
        _exit(0);
    }
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    cr_expect(f_intact(&a), "the parent's code changed when a child freed its copy "
              "(first bytes now %02x %02x %02x)", ((uint8_t *)a.f)[0], ((uint8_t *)a.f)[1],
              ((uint8_t *)a.f)[2]);
    cr_expect_eq(*a.ro, ro_value(a.id), "the parent's rodata is 0x%x after a child freed its "
                 "copy, not 0x%x", *a.ro, ro_value(a.id));
    if (f_intact(&a))
        assert_mod(&a);
    ej_module_free(a.m);
}

/* Parent and child each link a module after a fork: each must run its
 * own code. */
Test(shared_codemem, fork_parent_and_child_link_apart)
{
    spec sa = {.id = 51, .only_f = 1};
    mod a = link_spec(&sa);
    int go[2];
    cr_assert_eq(pipe(go), 0);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        char c;
        close(go[1]);
        if (read(go[0], &c, 1) != 1)
            _exit(2);
        spec sb = {.id = 52, .only_f = 1};
        mod b;
        char msg[512];
        if (make_mod(&sb, &b, msg, sizeof msg) != EJ_OK || check_mod(&b, msg, sizeof msg))
            _exit(3);
        _exit(0); /* (b stays: the child exits) */
    }
    close(go[0]);
    spec sc = {.id = 53, .only_f = 1};
    mod c = link_spec(&sc);
    assert_mod(&c);
    cr_assert_eq(write(go[1], "x", 1), 1);
    close(go[1]);
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the child's module failed");
    cr_expect(f_intact(&c), "the parent's module's code changed when the child linked one "
              "(f(0) now %d, not %d)", c.f(0), (int)f_k(c.id));
    cr_expect_eq(*c.ro, ro_value(c.id), "the parent's rodata is 0x%x after the child linked, "
                 "not 0x%x", *c.ro, ro_value(c.id));
    ej_module_free(c.m);
    ej_module_free(a.m);
}

/* ---- extra: pages left empty go back to the kernel ------------------------ */

Test(shared_codemem, empty_pages_go_back)
{
    size_t page = page_size();
    mod keep = link_small(0); /* keeps the arena */
    enum { N = 300 };
    mod *ms = calloc(N, sizeof *ms);
    for (int i = 0; i < N; i++) {
        spec s = {.id = 1 + i, .f_extra = 1000, .bss_len = 1000};
        ms[i] = link_spec(&s);
        memset(ms[i].bss, 0x33, ms[i].bss_len); /* make its data pages resident */
    }
    int fd = shared_fd();
    cr_assert_geq(fd, 0);
    struct stat st;
    cr_assert_eq(fstat(fd, &st), 0);
    uint64_t before = (uint64_t)st.st_blocks * 512;
    cr_assert_geq(before, (uint64_t)N * 1000, "the file holds only %" PRIu64 " bytes", before);
    uintptr_t dpage = ((uintptr_t)ms[N / 2].bss) & ~(uintptr_t)(page - 1);
    unsigned char vec = 0;
    cr_assert_eq(mincore((void *)dpage, page, &vec), 0);
    cr_assert(vec & 1, "a module's written data page is not resident");
    for (int i = 0; i < N; i++)
        ej_module_free(ms[i].m);
    free(ms);
    cr_assert_eq(ej__slab_arenas(), 1);
    cr_assert_eq(fstat(fd, &st), 0);
    uint64_t after = (uint64_t)st.st_blocks * 512;
    cr_expect_leq(after, 4 * page, "the file still holds %" PRIu64 " bytes (%" PRIu64
                  " before) with one small module left", after, before);
    cr_assert_eq(mincore((void *)dpage, page, &vec), 0);
    cr_expect(!(vec & 1), "an emptied data page is still resident");
    assert_mod(&keep);
    ej_module_free(keep.m);
    cr_expect_eq(ej__slab_arenas(), 0);
}

/* A fork child whose code page a debugger made private links a module
 * there, after the parent had needed /proc/self/mem itself (so the library
 * holds it open): the child's bytes must reach the child's page, and
 * nothing of the child's may reach the parent's memory.  (A descriptor of
 * /proc/self/mem stands for the process that opened it, fork or not.) */
Test(shared_codemem, fork_child_debugger_page_stays_in_child)
{
    int mem = open("/proc/self/mem", O_RDWR | O_CLOEXEC);
    if (mem < 0)
        cr_skip_test("/proc/self/mem cannot be opened for writing: %s", strerror(errno));
    spec sa = {.id = 61, .only_f = 1}, sb = {.id = 62, .only_f = 1};
    mod a = link_spec(&sa);
    uint8_t bp = 0xcc, *pad = (uint8_t *)a.f + a.f_len;
    if (pwrite(mem, &bp, 1, (off_t)(uintptr_t)pad) != 1) {
        int e = errno;
        close(mem);
        ej_module_free(a.m);
        cr_skip_test("/proc/self/mem is not writable: %s", strerror(e));
    }
    /* b lands in a's private page: the library writes it through
     * /proc/self/mem, which it then keeps open. */
    mod b = link_spec(&sb);
    uintptr_t page = page_size();
    cr_assert_eq((uintptr_t)b.f & ~(page - 1), (uintptr_t)a.f & ~(page - 1));
    cr_assert(f_intact(&b));
    /* Where the next module's code goes, in the parent and in a child. */
    uintptr_t next = (uintptr_t)b.f + EJ_SLAB_GRANULE;
    cr_assert_eq(next & ~(page - 1), (uintptr_t)a.f & ~(page - 1));
    uint8_t before[sizeof f_code];
    memcpy(before, (void *)next, sizeof before);

    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        /* The child's own debugger writes into the child's page. */
        int cmem = open("/proc/self/mem", O_RDWR | O_CLOEXEC);
        if (cmem < 0 || pwrite(cmem, &bp, 1, (off_t)(uintptr_t)pad + 1) != 1)
            _exit(2);
        spec sc = {.id = 63, .only_f = 1};
        mod c;
        char msg[512];
        if (make_mod(&sc, &c, msg, sizeof msg) != EJ_OK) {
            fprintf(stderr, "child: %s\n", msg);
            _exit(3);
        }
        if ((uintptr_t)c.f != next)
            _exit(4);
        if (!f_intact(&c) || check_mod(&c, msg, sizeof msg))
            _exit(5);
        _exit(0);
    }
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_expect(WIFEXITED(status), "the child died (signal %d)", WTERMSIG(status));
    if (WIFEXITED(status) && WEXITSTATUS(status) == 2)
        cr_skip_test("the child could not write its /proc/self/mem");
    cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the child's module: exit %d "
              "(3: the link failed, 4: elsewhere, 5: wrong code)", WEXITSTATUS(status));
    cr_expect_eq(memcmp((void *)next, before, sizeof before), 0, "the child's code reached the "
                 "parent's memory at %#" PRIxPTR " (%02x %02x %02x ...)", next,
                 ((uint8_t *)next)[0], ((uint8_t *)next)[1], ((uint8_t *)next)[2]);
    assert_mod(&a);
    assert_mod(&b);
    ej_module_free(b.m);
    ej_module_free(a.m);
    close(mem);
}

/* Granules freed and handed out again, many times over, while one module
 * keeps the arena: each new module's code runs, not what ran at that
 * address before.  (On hardware the caches are maintained; a translator
 * such as qemu-user keeps running what it translated unless the pages are
 * mapped again: slab.c's probe finds it and remaps.)  A small arena, so
 * the next-fit cursor comes round to the freed granules many times. */
Test(shared_codemem, reused_granules_run_the_new_code, .timeout = 120)
{
    cr_assert_eq(ej__slab_arenas(), 0, "this test needs a process of its own");
    ej__slab_area_bytes = 64 << 10;
    spec sa = {.id = 1, .only_f = 1};
    mod anchor = link_spec(&sa);
    size_t granules = ((size_t)page_size() * 64) / EJ_SLAB_GRANULE;
    int rounds = (int)(3 * granules), wrong = 0;
    for (int i = 0; i < rounds; i++) {
        spec s = {.id = 2 + i, .only_f = 1};
        mod m = link_spec(&s);
        char msg[512];
        if (check_mod(&m, msg, sizeof msg) && wrong++ < 3)
            cr_log_error("round %d: %s", i, msg);
        ej_module_free(m.m);
    }
    cr_expect_eq(wrong, 0, "%d of %d modules ran another module's old code", wrong, rounds);
    cr_expect_eq(ej__slab_arenas(), 1, "the one arena was not reused");
    assert_mod(&anchor);
    ej_module_free(anchor.m);
}
