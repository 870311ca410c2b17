/* Helpers shared by the fuzz targets (see fuzz.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

void ejf_fail(const char *file, int line, const char *cond, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s:%d: check failed: %s: ", file, line, cond);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    abort();
}

void ejf_note(const char *what, ej_status st, const char *msg)
{
    static int verbose = -1;
    if (verbose < 0)
        verbose = getenv("EJF_VERBOSE") != NULL;
    if (verbose)
        fprintf(stderr, "  %s: %s%s%s\n", what, ej_status_name(st), msg && *msg ? ": " : "",
                msg ? msg : "");
}

/* The fuzz and replay executables are linked with -Wl,--wrap=madvise
 * (CMakeLists.txt): the library's madvise calls come here first.  A link
 * that asks the kernel to populate (MADV_POPULATE_WRITE) more than
 * EJF_POPULATE_LIMIT bytes at once commits that much memory for an input
 * of at most 64 KiB, mostly alignment padding: reported as a finding
 * before the memory is touched (otherwise the process grows past any
 * -rss_limit_mb while the kernel fills the pages, and can take the
 * machine with it). */
#define EJF_POPULATE_LIMIT ((size_t)256 << 20)
#define EJF_MADV_POPULATE_WRITE 23

int __real_madvise(void *addr, size_t len, int advice);
int __wrap_madvise(void *addr, size_t len, int advice);
int __wrap_madvise(void *addr, size_t len, int advice)
{
    static size_t limit;
    if (!limit) {
        /* EJF_POPULATE_LIMIT_MB overrides the limit (diagnosis only). */
        const char *e = getenv("EJF_POPULATE_LIMIT_MB");
        limit = e ? (size_t)strtoull(e, NULL, 0) << 20 : EJF_POPULATE_LIMIT;
    }
    if (advice == EJF_MADV_POPULATE_WRITE)
        EJF_CHECK(len <= limit,
                  "madvise(MADV_POPULATE_WRITE) of %zu bytes: the link would commit that much "
                  "memory (limit %zu MiB)",
                  len, limit >> 20);
    return __real_madvise(addr, len, advice);
}

static uint64_t hash_name(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
    return h;
}

void *ejf_resolver(void *ctx, const char *name)
{
    (void)ctx;
    EJF_CHECK(name != NULL, "the resolver was asked for a NULL name");
    (void)strlen(name); /* a string, whatever its bytes */
    uint64_t h = hash_name(name), a;
    switch (h >> 61) {
    case 0: case 1: case 2: /* within 16 MiB below the default base */
        a = EJF_BASE - 0x1000000 + (h & 0xfffff0);
        break;
    case 3: case 4: /* within 2 GiB above it */
        a = EJF_BASE + 0x1000000 + (h & 0x3ffffff0);
        break;
    case 5: /* below 4 GiB (R_X86_64_32, aarch64 ABS32 ...) */
        a = 0x10000 + (h & 0x7ffffff0);
        break;
    case 6: /* far from everything */
        a = 0x100000000000ull + (h & 0xfffffffff0ull);
        break;
    default: /* odd, unaligned, anywhere */
        a = (h & 0x7fffffffffffull) | 1;
        break;
    }
    return (void *)(uintptr_t)a;
}

ej_linker *ejf_linker(uint64_t base, int resolver)
{
    ej_linker *lk = NULL;
    ej_status st = ej_linker_create(&lk);
    if (st != EJ_OK) {
        EJF_CHECK(lk == NULL, "ej_linker_create failed (%d) but set *OUT", (int)st);
        return NULL;
    }
    EJF_CHECK(lk != NULL, "ej_linker_create returned EJ_OK and no linker");
    st = ej_linker_set_base(lk, base);
    EJF_CHECK(st == EJ_OK, "ej_linker_set_base(0x%llx): %s", (unsigned long long)base,
              ej_linker_errmsg(lk));
    st = ej_linker_set_registration(lk, 0);
    EJF_CHECK(st == EJ_OK, "ej_linker_set_registration(0): %s", ej_linker_errmsg(lk));
    if (resolver) {
        st = ej_linker_set_resolver(lk, ejf_resolver, NULL);
        EJF_CHECK(st == EJ_OK, "ej_linker_set_resolver: %s", ej_linker_errmsg(lk));
    }
    return lk;
}

void ejf_check_failure(ej_status st, const char *msg, const char *what)
{
    EJF_CHECK(st != EJ_OK, "%s: not a failure", what);
    EJF_CHECK(strcmp(ej_status_name(st), "UNKNOWN") != 0, "%s: unknown status %d", what,
              (int)st);
    EJF_CHECK(msg != NULL, "%s failed (%s) with a NULL message", what, ej_status_name(st));
    EJF_CHECK(msg[0] != '\0', "%s failed (%s) with an empty message", what,
              ej_status_name(st));
    (void)strlen(msg);
}

void ejf_probe_pc(ej_module *m, uint64_t pc)
{
    uint64_t s, e;
    ej_module_range(m, &s, &e);
    ej_pc_info info;
    memset(&info, 0xa5, sizeof info);
    int in = pc - s < e - s;
    int r = ej_module_lookup_pc(m, pc, &info);
    EJF_CHECK(r == in, "ej_module_lookup_pc(0x%llx) = %d for the image [0x%llx, 0x%llx)",
              (unsigned long long)pc, r, (unsigned long long)s, (unsigned long long)e);
    if (!r)
        return;
    EJF_CHECK(info.module == m, "ej_module_lookup_pc(0x%llx): another module",
              (unsigned long long)pc);
    if (info.function) {
        (void)strlen(info.function);
        EJF_CHECK(info.function_addr <= pc && info.offset == pc - info.function_addr,
                  "ej_module_lookup_pc(0x%llx): '%s' at 0x%llx + 0x%llx",
                  (unsigned long long)pc, info.function,
                  (unsigned long long)info.function_addr, (unsigned long long)info.offset);
    }
    if (info.file)
        (void)strlen(info.file);
}

/* Identifier-like NUL-terminated strings of DATA (as in .strtab), at most
 * MAX of them, each passed to FN. */
static void each_name(const uint8_t *data, size_t size, int max,
                      void (*fn)(ej_module *, const char *), ej_module *m)
{
    char name[64];
    size_t i = 0;
    int found = 0;
    while (i < size && found < max) {
        /* A name starts after a NUL (or at the start) ... */
        size_t j = i;
        while (j < size && j - i < sizeof name - 1 &&
               (data[j] == '_' || data[j] == '.' || data[j] == '$' ||
                (data[j] >= '0' && data[j] <= '9') || (data[j] >= 'a' && data[j] <= 'z') ||
                (data[j] >= 'A' && data[j] <= 'Z')))
            j++;
        /* ... and ends at one. */
        if (j > i && j < size && data[j] == '\0' && (i == 0 || data[i - 1] == '\0')) {
            memcpy(name, data + i, j - i);
            name[j - i] = '\0';
            fn(m, name);
            found++;
        }
        i = j + 1;
    }
}

static void probe_name(ej_module *m, const char *name)
{
    void *a = ej_module_symbol(m, name), *b = (void *)1;
    ej_status st = ej_module_lookup(m, name, &b);
    if (a) {
        EJF_CHECK(st == EJ_OK && b == a, "'%s': ej_module_symbol %p, ej_module_lookup %s %p",
                  name, a, ej_status_name(st), b);
        ejf_probe_pc(m, (uint64_t)(uintptr_t)a);
    } else if (!(st == EJ_OK && b == NULL)) { /* (an absolute symbol at 0) */
        EJF_CHECK(st == EJ_NOTFOUND, "'%s': ej_module_symbol NULL, ej_module_lookup %s", name,
                  ej_status_name(st));
        ejf_check_failure(st, ej_module_errmsg(m), "ej_module_lookup");
    }
}

void ejf_probe_module(ej_module *m, uint64_t base, const uint8_t *data, size_t size)
{
    uint64_t s, e;
    ej_module_range(m, &s, &e);
    EJF_CHECK(s == base, "a link-only module at 0x%llx, not at its base 0x%llx",
              (unsigned long long)s, (unsigned long long)base);
    uint64_t len = e - s;
    static uint8_t buf[65536];

    /* Inside: the first and the last bytes. */
    size_t n = len < sizeof buf ? (size_t)len : sizeof buf;
    ej_status st = ej_module_read(m, s, buf, n);
    EJF_CHECK(st == EJ_OK, "ej_module_read(start, %zu): %s", n, ej_module_errmsg(m));
    n = len < 4096 ? (size_t)len : 4096;
    st = ej_module_read(m, e - n, buf, n);
    EJF_CHECK(st == EJ_OK, "ej_module_read(end - %zu, %zu): %s", n, n, ej_module_errmsg(m));
    /* Across the bounds: refused, and nothing copied (the buffers are
     * only as large as the valid part). */
    uint8_t one[2];
    st = ej_module_read(m, e, one, 1);
    EJF_CHECK(st == EJ_RANGE, "ej_module_read(end, 1) = %s", ej_status_name(st));
    ejf_check_failure(st, ej_module_errmsg(m), "ej_module_read");
    st = ej_module_read(m, s - 1, one, 2);
    EJF_CHECK(st == EJ_RANGE, "ej_module_read(start - 1, 2) = %s", ej_status_name(st));
    st = ej_module_read(m, UINT64_MAX, one, 2);
    EJF_CHECK(st == EJ_RANGE, "ej_module_read(~0, 2) = %s", ej_status_name(st));
    if (len < SIZE_MAX) {
        st = ej_module_read(m, s, one, (size_t)len + 1);
        EJF_CHECK(st == EJ_RANGE, "ej_module_read(start, size + 1) = %s", ej_status_name(st));
        st = ej_module_read(m, s + 1, one, (size_t)len);
        EJF_CHECK(st == EJ_RANGE, "ej_module_read(start + 1, size) = %s", ej_status_name(st));
    }

    /* PC lookups at the edges, inside and outside. */
    const uint64_t pcs[] = {s, s + 1, s + len / 2, e - 1, e, s - 1, 0, UINT64_MAX};
    for (size_t i = 0; i < sizeof pcs / sizeof pcs[0]; i++)
        ejf_probe_pc(m, pcs[i]);

    /* Names: some fixed ones, then those of the input's string tables. */
    static const char *const fixed[] = {"main", "_start", "__dso_handle", "f", ""};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        probe_name(m, fixed[i]);
    each_name(data, size, 48, probe_name, m);
    (void)strlen(ej_module_errmsg(m));
}

void ejf_link_and_probe(ej_linker *lk, uint64_t base, const uint8_t *data, size_t size)
{
    ej_module *m = (ej_module *)1;
    ej_status st = ej_linker_link(lk, &m);
    ejf_note("ej_linker_link", st, ej_linker_errmsg(lk));
    if (st != EJ_OK) {
        EJF_CHECK(m == NULL, "ej_linker_link failed (%s) and left *OUT set", ej_status_name(st));
        ejf_check_failure(st, ej_linker_errmsg(lk), "ej_linker_link");
    } else {
        ejf_probe_module(m, base, data, size);
        ej_module_free(m);
    }
}

int ejf_two_parts(const uint8_t *data, size_t size, const uint8_t *part[2], size_t len[2],
                  unsigned *flags)
{
    if (size < 4)
        return 0;
    uint32_t w = (uint32_t)data[0] | (uint32_t)data[1] << 8 | (uint32_t)data[2] << 16 |
                 (uint32_t)data[3] << 24;
    data += 4;
    size -= 4;
    size_t n = w & 0xffffff;
    if (n > size)
        n = size;
    part[0] = data, len[0] = n;
    part[1] = data + n, len[1] = size - n;
    *flags = w >> 24;
    return 1;
}
