/* Profiler maps are only worth something if perf can read them, so these
 * tests parse the files the way perf does (every line, every record field,
 * the code bytes against the running image) and, where the kernel allows
 * perf events, let the real `perf record` + `perf report` (and `perf
 * inject --jit` for the jitdump) name a loaded function.  Each Criterion
 * test is its own process, so /tmp/perf-PID.map and /tmp/jit-PID.dump
 * belong to one test; each test removes them. */
#include <criterion/criterion.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "debug/debug.h"
#include "debug/profile.h"
#include "link/module.h"
#include "testutil.h"

#define REGISTRY_OBJ EJ_TEST_OBJ_DIR "/registry_a.o"

static const char *map_path(void)
{
    static char p[64];
    snprintf(p, sizeof p, "/tmp/perf-%ld.map", (long)getpid());
    return p;
}

static const char *dump_path(void)
{
    static char p[64];
    snprintf(p, sizeof p, "/tmp/jit-%ld.dump", (long)getpid());
    return p;
}

/* Links OBJ into a new module (BASE nonzero: link-only at BASE). */
static ej_module *link_obj(const char *obj, uint64_t base)
{
    ej_linker *lk;
    ej_module *m = NULL;
    cr_assert_eq(ej_linker_create(&lk), EJ_OK);
    if (base)
        cr_assert_eq(ej_linker_set_base(lk, base), EJ_OK);
    cr_assert_eq(ej_linker_add_file(lk, obj), EJ_OK, "%s", ej_linker_errmsg(lk));
    cr_assert_eq(ej_linker_link(lk, &m), EJ_OK, "%s", ej_linker_errmsg(lk));
    ej_linker_free(lk);
    cr_assert_gt(m->img.nfuncs, 0);
    return m;
}

static int is_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isxdigit((unsigned char)s[i]) || isupper((unsigned char)s[i]))
            return 0;
    return n > 0 && n <= 16;
}

/* One perf map line "START SIZE NAME" (lower-case hex, no 0x). */
typedef struct map_line {
    uint64_t start, size;
    char name[128];
} map_line;

/* Parses the line at S (up to, not including, '\n'); 0 when malformed. */
static int parse_line(const char *s, size_t len, map_line *out)
{
    const char *sp1 = memchr(s, ' ', len);
    const char *sp2 = sp1 ? memchr(sp1 + 1, ' ', len - (size_t)(sp1 + 1 - s)) : NULL;
    if (!sp2 || !is_hex(s, (size_t)(sp1 - s)) || !is_hex(sp1 + 1, (size_t)(sp2 - sp1 - 1)))
        return 0;
    size_t nlen = len - (size_t)(sp2 + 1 - s);
    if (!nlen || nlen >= sizeof out->name || memchr(sp2 + 1, ' ', nlen))
        return 0;
    out->start = strtoull(s, NULL, 16);
    out->size = strtoull(sp1 + 1, NULL, 16);
    memcpy(out->name, sp2 + 1, nlen);
    out->name[nlen] = '\0';
    return out->size > 0;
}

/* Reads the perf map into a malloc()ed array of lines; fails the test on
 * any malformed line or a missing final newline. */
static map_line *read_map(size_t *n)
{
    size_t len;
    char *buf = ej_test_read_file(map_path(), &len);
    cr_assert_not_null(buf, "%s: %s", map_path(), strerror(errno));
    cr_assert(len > 0 && buf[len - 1] == '\n', "%s does not end with a newline", map_path());
    size_t cap = 0;
    for (size_t i = 0; i < len; i++)
        cap += buf[i] == '\n';
    map_line *lines = malloc(cap * sizeof *lines);
    cr_assert_not_null(lines);
    *n = 0;
    for (char *p = buf, *nl; p < buf + len; p = nl + 1) {
        nl = memchr(p, '\n', (size_t)(buf + len - p));
        cr_assert(parse_line(p, (size_t)(nl - p), &lines[*n]), "malformed line %zu: '%.*s'",
                  *n + 1, (int)(nl - p), p);
        ++*n;
    }
    free(buf);
    return lines;
}

Test(perf_map, every_function_with_its_start_and_size)
{
    unlink(map_path());
    ej_module *m = link_obj(REGISTRY_OBJ, 0);
    ej__err err = {0};
    cr_assert_eq(ej__reg_add_PERF_MAP(&m->img, m, &(void *){NULL}, &err), EJ_OK, "%s", err.msg);
    size_t n;
    map_line *lines = read_map(&n);
    cr_assert_eq(n, m->img.nfuncs);
    for (size_t i = 0; i < m->img.nfuncs; i++) {
        const ej__func *f = &m->img.funcs[i];
        cr_expect_eq(lines[i].start, f->addr, "%s", lines[i].name);
        cr_expect_eq(lines[i].size, f->size ? f->size : 1, "%s", lines[i].name);
        cr_expect_str_eq(lines[i].name, m->img.names + f->name);
    }
    cr_expect_eq(lines[0].start, (uint64_t)(uintptr_t)ej_module_symbol(m, lines[0].name));
    free(lines);
    ej_module_free(m);
    unlink(map_path());
}

Test(perf_map, link_only_modules_record_nothing)
{
    unlink(map_path());
    unlink(dump_path());
    /* Asked for both, a link-only link registers nothing (nothing runs). */
    ej_linker *lk;
    ej_module *m = NULL;
    cr_assert_eq(ej_linker_create(&lk), EJ_OK);
    cr_assert_eq(ej_linker_set_base(lk, 0x40000000), EJ_OK);
    cr_assert_eq(ej_linker_set_registration(lk, EJ_REGISTER_ALL), EJ_OK);
    cr_assert_eq(ej_linker_add_file(lk, REGISTRY_OBJ), EJ_OK, "%s", ej_linker_errmsg(lk));
    cr_assert_eq(ej_linker_link(lk, &m), EJ_OK, "%s", ej_linker_errmsg(lk));
    ej_linker_free(lk);
    cr_expect_neq(access(map_path(), F_OK), 0, "%s was created", map_path());
    cr_expect_neq(access(dump_path(), F_OK), 0, "%s was created", dump_path());
    ej_module_free(m);
}

Test(perf_map, unopenable_file_names_path_and_reason)
{
    unlink(map_path());
    cr_assert_eq(mkdir(map_path(), 0700), 0, "%s", strerror(errno));
    ej_module *m = link_obj(REGISTRY_OBJ, 0);
    ej__err err = {0};
    ej_status st = ej__reg_add_PERF_MAP(&m->img, m, &(void *){NULL}, &err);
    rmdir(map_path());
    ej_module_free(m);
    cr_assert_eq(st, EJ_IO);
    cr_expect(strstr(err.msg, map_path()) && strstr(err.msg, strerror(EISDIR)), "%s", err.msg);
}

#define THREADS 4
#define MODULES_PER_THREAD 20

static atomic_size_t expected_lines;

/* Criterion's assertions may only fail on the test's own thread: the
 * workers return a message instead (NULL when all went well). */
static void *record_modules(void *arg)
{
    static __thread char msg[EJ_ERRMSG_MAX + 64];
    (void)arg;
    for (int i = 0; i < MODULES_PER_THREAD; i++) {
        ej_linker *lk;
        ej_module *m = NULL;
        if (ej_linker_create(&lk) || ej_linker_add_file(lk, REGISTRY_OBJ) ||
            ej_linker_link(lk, &m)) {
            snprintf(msg, sizeof msg, "link: %s", ej_linker_errmsg(lk));
            ej_linker_free(lk);
            return msg;
        }
        ej_linker_free(lk);
        ej__err err = {0};
        ej_status st = ej__reg_add_PERF_MAP(&m->img, m, &(void *){NULL}, &err);
        atomic_fetch_add(&expected_lines, m->img.nfuncs);
        ej_module_free(m);
        if (st) {
            snprintf(msg, sizeof msg, "record: %s", err.msg);
            return msg;
        }
    }
    return NULL;
}

Test(perf_map, concurrent_modules_never_interleave, .timeout = 60)
{
    unlink(map_path());
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        cr_assert_eq(pthread_create(&t[i], NULL, record_modules, NULL), 0);
    for (int i = 0; i < THREADS; i++) {
        void *msg;
        pthread_join(t[i], &msg);
        cr_expect_null(msg, "thread %d: %s", i, msg ? (const char *)msg : "");
    }
    size_t n;
    map_line *lines = read_map(&n); /* fails on any malformed line */
    cr_expect_eq(n, atomic_load(&expected_lines));
    cr_expect_geq(n, (size_t)THREADS * MODULES_PER_THREAD);
    for (size_t i = 0; i < n; i++)
        cr_expect(!strcmp(lines[i].name, "registry_sum") ||
                      !strcmp(lines[i].name, "registry_count"),
                  "unexpected name '%s'", lines[i].name);
    free(lines);
    unlink(map_path());
}

/* ---- jitdump ------------------------------------------------------- */

typedef struct dump_header {
    uint32_t magic, version, total_size, elf_mach, pad1, pid;
    uint64_t timestamp, flags;
} dump_header;

typedef struct dump_load {
    uint32_t id, total_size;
    uint64_t timestamp;
    uint32_t pid, tid;
    uint64_t vma, code_addr, code_size, code_index;
} dump_load;

static uint32_t expected_machine(void)
{
#if defined(__x86_64__)
    return 62; /* EM_X86_64 */
#elif defined(__aarch64__)
    return 183; /* EM_AARCH64 */
#elif defined(__riscv)
    return 243; /* EM_RISCV */
#else
    return 0;
#endif
}

/* The permissions of the mapping of PATH in /proc/self/maps ("" if none). */
static const char *mapping_perms(const char *path)
{
    static char perms[8];
    char line[4096];
    FILE *f = fopen("/proc/self/maps", "r");
    cr_assert_not_null(f);
    perms[0] = '\0';
    while (fgets(line, sizeof line, f)) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        size_t ll = strlen(line), pl = strlen(path);
        if (ll >= pl && !strcmp(line + ll - pl, path))
            sscanf(line, "%*s %7s", perms);
    }
    fclose(f);
    return perms;
}

/* Checks the header at BUF and returns its length. */
static size_t check_header(const char *buf, size_t len)
{
    dump_header h;
    cr_assert_geq(len, sizeof h);
    memcpy(&h, buf, sizeof h);
    cr_expect_eq(h.magic, 0x4A695444u);
    cr_expect_eq(h.version, 1u);
    cr_expect_eq(h.total_size, sizeof h);
    cr_expect_eq(h.elf_mach, expected_machine());
    cr_expect_eq(h.pid, (uint32_t)getpid());
    cr_expect_eq(h.flags, 0u);
    cr_expect_neq(h.timestamp, 0u);
    return h.total_size;
}

/* Checks that the JIT_CODE_LOAD records from OFF on are M's functions in
 * order, with their code bytes; *INDEX is the next code_index expected
 * (-1: any).  Returns the offset after them. */
static size_t check_loads(const char *buf, size_t len, size_t off, const ej_module *m,
                          uint64_t *index)
{
    for (size_t i = 0; i < m->img.nfuncs; i++) {
        const ej__func *f = &m->img.funcs[i];
        const char *name = m->img.names + f->name;
        dump_load r;
        cr_assert_leq(off + sizeof r, len, "record %zu missing", i);
        memcpy(&r, buf + off, sizeof r);
        uint64_t size = f->size ? f->size : 1;
        cr_assert_eq(r.id, 0u, "JIT_CODE_LOAD expected");
        cr_assert_eq(r.total_size, sizeof r + strlen(name) + 1 + size);
        cr_assert_leq(off + r.total_size, len);
        cr_expect_eq(r.pid, (uint32_t)getpid());
        cr_expect_eq(r.tid, (uint32_t)syscall(SYS_gettid));
        cr_expect_eq(r.vma, f->addr);
        cr_expect_eq(r.code_addr, f->addr);
        cr_expect_eq(r.code_size, size);
        if (*index != UINT64_MAX)
            cr_expect_eq(r.code_index, *index);
        *index = r.code_index + 1;
        cr_expect_str_eq(buf + off + sizeof r, name);
        cr_expect(!memcmp(buf + off + sizeof r + strlen(name) + 1,
                          (const void *)(uintptr_t)f->addr, size),
                  "code bytes of %s differ from the image", name);
        off += r.total_size;
    }
    return off;
}

Test(jitdump, header_records_code_and_marker)
{
    unlink(dump_path());
    ej_module *m = link_obj(REGISTRY_OBJ, 0);
    ej__err err = {0};
    cr_assert_eq(ej__reg_add_JITDUMP(&m->img, m, &(void *){NULL}, &err), EJ_OK, "%s", err.msg);
    cr_assert_eq(ej__reg_add_JITDUMP(&m->img, m, &(void *){NULL}, &err), EJ_OK, "%s", err.msg);
    size_t len;
    char *buf = ej_test_read_file(dump_path(), &len);
    cr_assert_not_null(buf, "%s: %s", dump_path(), strerror(errno));
    size_t off = check_header(buf, len);
    uint64_t index = UINT64_MAX;
    off = check_loads(buf, len, off, m, &index);
    off = check_loads(buf, len, off, m, &index); /* one header, index goes on */
    cr_expect_eq(off, len, "trailing bytes after the records");
    free(buf);
    cr_expect_str_eq(mapping_perms(dump_path()), "r-xp", "the marker mapping perf needs");
    ej__jitdump_close();
    cr_expect_str_eq(mapping_perms(dump_path()), "", "marker still mapped after close");
    ej_module_free(m);
    unlink(dump_path());
}

Test(jitdump, reopens_after_close)
{
    unlink(dump_path());
    ej_module *m = link_obj(REGISTRY_OBJ, 0);
    ej__err err = {0};
    cr_assert_eq(ej__reg_add_JITDUMP(&m->img, m, &(void *){NULL}, &err), EJ_OK, "%s", err.msg);
    ej__jitdump_close();
    unlink(dump_path());
    cr_assert_eq(ej__reg_add_JITDUMP(&m->img, m, &(void *){NULL}, &err), EJ_OK, "%s", err.msg);
    size_t len;
    char *buf = ej_test_read_file(dump_path(), &len);
    cr_assert_not_null(buf);
    uint64_t index = m->img.nfuncs; /* the counter is process-wide */
    size_t off = check_loads(buf, len, check_header(buf, len), m, &index);
    cr_expect_eq(off, len);
    free(buf);
    cr_expect_str_eq(mapping_perms(dump_path()), "r-xp");
    ej__jitdump_close();
    ej_module_free(m);
    unlink(dump_path());
}

Test(jitdump, unopenable_file_names_path_and_reason)
{
    unlink(dump_path());
    cr_assert_eq(mkdir(dump_path(), 0700), 0, "%s", strerror(errno));
    ej_module *m = link_obj(REGISTRY_OBJ, 0);
    ej__err err = {0};
    ej_status st = ej__reg_add_JITDUMP(&m->img, m, &(void *){NULL}, &err);
    rmdir(dump_path());
    ej_module_free(m);
    cr_assert_eq(st, EJ_IO);
    cr_expect(strstr(err.msg, dump_path()) && strstr(err.msg, strerror(EISDIR)), "%s",
              err.msg);
}

/* ---- the real perf -------------------------------------------------- */

/* Every perf command runs with HOME in the test's directory, so that its
 * build-id cache ($HOME/.debug) goes away with it, and under `timeout`,
 * so that the test stays bounded whatever perf does. */
#define PERF "HOME=%s timeout -k 2 15 perf"

/* Runs the command formatted from FMT with sh; its exit status (-1 when
 * it did not exit). */
static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run(const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    int st = system(cmd);
    return st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The first line of the file at PATH, for messages (static buffer). */
static const char *first_line(const char *path)
{
    static char line[512];
    FILE *f = fopen(path, "r");
    line[0] = '\0';
    if (f) {
        if (!fgets(line, sizeof line, f))
            line[0] = '\0';
        fclose(f);
    }
    line[strcspn(line, "\n")] = '\0';
    return line;
}

/* Records the victim (with ARG, "" or "--jitdump") under perf into
 * DIR/perf.data with perf's options OPTS; 1 when the victim ran to its end
 * under perf. */
static int perf_record(const char *dir, const char *opts, const char *arg)
{
    int rc = run(PERF " record -N %s -o %s/perf.data -- %s %s %s >%s/victim.out "
                      "2>%s/record.err",
                 dir, opts, dir, EJ_PERF_VICTIM, EJ_PERF_BURN_OBJ, arg, dir, dir);
    size_t len;
    char *out = ej_test_read_file(ej_test_path(dir, "victim.out", ""), &len);
    int ran = out && len && memmem(out, len, "done ", 5);
    free(out);
    return rc == 0 && ran;
}

static long victim_pid(const char *dir)
{
    long pid = 0;
    FILE *f = fopen(ej_test_path(dir, "victim.out", ""), "r");
    if (f) {
        if (fscanf(f, "pid %ld", &pid) != 1)
            pid = 0;
        fclose(f);
    }
    return pid;
}

/* Makes DIR (a mkdtemp template) and records the victim in it: the
 * software event cpu-clock first (it works in most VMs, which often have
 * no PMU), then perf's default event.  Skips the test when perf is
 * missing, cannot run here, or the kernel forbids sampling.  Returns the
 * victim's pid. */
static long record_victim(char *dir, const char *opts, const char *arg)
{
    if (ej_test_emulator())
        cr_skip("perf cannot profile a program emulated by %s", ej_test_emulator());
    if (run("perf --version >/dev/null 2>&1") != 0)
        cr_skip("perf is not installed (Debian: apt-get install linux-perf)");
    cr_assert_not_null(mkdtemp(dir));
    char with_event[256];
    snprintf(with_event, sizeof with_event, "-e cpu-clock %s", opts);
    if (!perf_record(dir, with_event, arg) && !perf_record(dir, opts, arg)) {
        const char *why = first_line(ej_test_path(dir, "record.err", ""));
        run("rm -rf %s", dir);
        cr_skip("perf record cannot sample here (perf_event_paranoid, no PMU?): %s", why);
    }
    long pid = victim_pid(dir);
    if (pid <= 0) {
        run("rm -rf %s", dir);
        cr_assert_fail("the victim printed no pid");
    }
    return pid;
}

/* `perf report --sort sym` of DATA (in DIR) must name ej_perf_burn. */
static void expect_report_names_burn(const char *dir, const char *data)
{
    int rc = run(PERF " report -i %s/%s --stdio --sort sym >%s/report.txt 2>&1", dir, dir,
                 data, dir);
    size_t len = 0;
    char *report = ej_test_read_file(ej_test_path(dir, "report.txt", ""), &len);
    int shown = (int)(len < 2000 ? len : 2000);
    cr_expect_eq(rc, 0, "perf report failed:\n%.*s", shown, report ? report : "");
    cr_expect(report && memmem(report, len, "ej_perf_burn", 12),
              "perf report does not name ej_perf_burn:\n%.*s", shown, report ? report : "");
    free(report);
}

Test(perf, report_names_the_loaded_function_from_the_map, .timeout = 30)
{
    const char *cm = getenv("ELFJIT_CODEMEM");
    if (cm && strcmp(cm, "dual") == 0)
        cr_skip_test("dual-mapped code is file-backed (/memfd:elfjit-code), and perf reads "
                     "perf maps for anonymous memory only: the jitdump tests cover it");
    char dir[] = "/tmp/ej-perf-XXXXXX";
    long pid = record_victim(dir, "", "");
    expect_report_names_burn(dir, "perf.data");
    run("rm -rf %s /tmp/perf-%ld.map", dir, pid);
}

/* perf inject --jit needs samples stamped with CLOCK_MONOTONIC (-k mono),
 * the clock of the jitdump records; it writes one ELF file per function,
 * /tmp/jitted-PID-INDEX.so, next to the dump. */
Test(perf, inject_jit_names_the_loaded_function_from_the_jitdump, .timeout = 30)
{
    char dir[] = "/tmp/ej-perf-XXXXXX";
    long pid = record_victim(dir, "-k mono", "--jitdump");
    int rc = run(PERF " inject --jit -i %s/perf.data -o %s/jit.data >%s/inject.txt 2>&1",
                 dir, dir, dir, dir);
    cr_expect_eq(rc, 0, "perf inject --jit failed: %s",
                 first_line(ej_test_path(dir, "inject.txt", "")));
    if (rc == 0)
        expect_report_names_burn(dir, "jit.data");
    run("rm -rf %s /tmp/jit-%ld.dump /tmp/jitted-%ld-*.so", dir, pid, pid);
}
