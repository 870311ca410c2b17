/* The fault-injection interposer (see fault_shim.h and README.md).
 *
 * Built twice from this one file:
 *  - into the API driver (fault_api.c), whose executable then defines
 *    malloc, mmap, ... for the whole process (an executable's definitions
 *    come first in symbol lookup, also for calls made inside libc, libelf
 *    and the dynamic loader);
 *  - as libej_fault_preload.so (EJ_FAULT_PRELOAD), preloaded into the
 *    elfjit tool: it arms itself from the environment in its constructor
 *    and writes a report at exit (see the end of this file).
 * Either way each definition forwards to the next one (dlsym(RTLD_NEXT)):
 * libc's, or in a sanitized build ASan's allocator and interceptors, so
 * ASan and LeakSanitizer still see every allocation.
 *
 * Everything here is compiled without sanitizers and must not recurse: the
 * shim's own work runs "busy" (t_busy), and every interposed call made while
 * busy goes straight to the real function, uncounted and untracked. */
#include <dirent.h>
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fault_shim.h"

#define TLS __attribute__((tls_model("initial-exec"))) __thread
#define CALLER __builtin_extract_return_addr(__builtin_return_address(0))

/* glibc's fortified and large-file entry points have no prototype unless
 * the matching feature macros are on. */
int __open_2(const char *path, int flags);
int __open64_2(const char *path, int flags);
int __openat_2(int dirfd, const char *path, int flags);
int __openat64_2(int dirfd, const char *path, int flags);
ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen);
ssize_t __pread_chk(int fd, void *buf, size_t n, off_t off, size_t buflen);
ssize_t __pread64_chk(int fd, void *buf, size_t n, off_t off, size_t buflen);
void *memalign(size_t align, size_t size);

/* ---- state ------------------------------------------------------------ */

static const char *const family_names[FAULT_COUNT] = {
    [FAULT_ALLOC] = "alloc",     [FAULT_MMAP] = "mmap",   [FAULT_MPROTECT] = "mprotect",
    [FAULT_MUNMAP] = "munmap",   [FAULT_MEMFD] = "memfd", [FAULT_IO] = "io",
    [FAULT_MEMBARRIER] = "membarrier", [FAULT_LIBELF] = "libelf",
};

static TLS int t_armed;     /* this thread counts */
static TLS int t_busy;      /* inside the shim: pass everything through */
static TLS int t_resolving; /* inside dlsym: allocate from the boot arena */

static fault_report own_report;

static struct {
    int family;
    long n;
    fault_report *rep; /* own_report, or the driver's (shared with its parent) */
    int page;
    int (*lookup_pc)(uint64_t, void *); /* ej_lookup_pc */
    void **gdb_first_entry;             /* &__jit_debug_descriptor.first_entry */
    int have_lsan;
} S = {.family = -1, .rep = &own_report};

const char *fault_family_name(int family)
{
    return family >= 0 && family < FAULT_COUNT ? family_names[family] : "?";
}

int fault_family_parse(const char *name)
{
    for (int i = 0; i < FAULT_COUNT; i++)
        if (strcmp(name, family_names[i]) == 0)
            return i;
    return -1;
}

void fault_busy_enter(void) { t_busy++; }
void fault_busy_leave(void) { t_busy--; }

/* ---- the real functions ---------------------------------------------- */

static void *(*real_malloc)(size_t);
static void *(*real_calloc)(size_t, size_t);
static void *(*real_realloc)(void *, size_t);
static void (*real_free)(void *);
static int (*real_posix_memalign)(void **, size_t, size_t);
static void *(*real_aligned_alloc)(size_t, size_t);
static void *(*real_memalign)(size_t, size_t);
static void *(*real_mmap)(void *, size_t, int, int, int, off_t);
static int (*real_munmap)(void *, size_t);
static int (*real_mprotect)(void *, size_t, int);
static int (*real_memfd_create)(const char *, unsigned);
static int (*real_open)(const char *, int, ...);
static int (*real_openat)(int, const char *, int, ...);
static ssize_t (*real_read)(int, void *, size_t);
static ssize_t (*real_pread)(int, void *, size_t, off_t);
static ssize_t (*real_write)(int, const void *, size_t);
static ssize_t (*real_pwrite)(int, const void *, size_t, off_t);
static int (*real_fstat)(int, struct stat *);
static off_t (*real_lseek)(int, off_t, int);
static int (*real_ftruncate)(int, off_t);
static int (*real_posix_fallocate)(int, off_t, off_t);
static FILE *(*real_fopen)(const char *, const char *);
static DIR *(*real_opendir)(const char *);
static int (*real_mkstemp)(char *);
static int (*real_mkostemp)(char *, int);
static int (*real_fchmod)(int, mode_t);
static int (*real_rename)(const char *, const char *);
static long (*real_syscall)(long, ...);

/* dlsym may allocate (its error state): such early calls are served from
 * here and never freed. */
static char boot_arena[1 << 16] __attribute__((aligned(64)));
static size_t boot_used;

static int in_boot(const void *p)
{
    return (const char *)p >= boot_arena && (const char *)p < boot_arena + sizeof boot_arena;
}

static void *boot_alloc(size_t n)
{
    n = (n + 63) & ~(size_t)63;
    if (n > sizeof boot_arena - boot_used)
        return NULL;
    void *p = boot_arena + boot_used;
    boot_used += n;
    return p;
}

static void *next_sym(const char *name)
{
    /* (NULL for a function this libc lacks: never called then.) */
    return dlsym(RTLD_NEXT, name);
}

/* LeakSanitizer keeps the dynamic loader's own allocations out of its
 * reports by the caller of malloc; with the shim in between, that caller
 * is the shim.  So the shim tells LSan itself (__lsan_ignore_object) about
 * every block whose caller is ld.so. */
static uint64_t ldso_lo, ldso_hi;
static void (*lsan_ignore)(const void *);

static int ldso_cb(struct dl_phdr_info *info, size_t size, void *ctx)
{
    if (!strstr(info->dlpi_name, "/ld-linux") && !strstr(info->dlpi_name, "/ld-2.") &&
        !strstr(info->dlpi_name, "/ld.so"))
        return 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X)) {
            ldso_lo = info->dlpi_addr + ph->p_vaddr;
            ldso_hi = ldso_lo + ph->p_memsz;
        }
    }
    return 1;
}

static void *lsan_note(void *p, const void *caller)
{
    if (p && lsan_ignore && (uintptr_t)caller >= ldso_lo && (uintptr_t)caller < ldso_hi)
        lsan_ignore(p);
    return p;
}

static void resolve(void)
{
    static int done;
    if (__atomic_load_n(&done, __ATOMIC_ACQUIRE))
        return;
    t_resolving++;
#define R(var, name) *(void **)&var = next_sym(name)
    R(real_malloc, "malloc");
    R(real_calloc, "calloc");
    R(real_realloc, "realloc");
    R(real_free, "free");
    R(real_posix_memalign, "posix_memalign");
    R(real_aligned_alloc, "aligned_alloc");
    R(real_memalign, "memalign");
    R(real_mmap, "mmap");
    R(real_munmap, "munmap");
    R(real_mprotect, "mprotect");
    R(real_memfd_create, "memfd_create");
    R(real_open, "open");
    R(real_openat, "openat");
    R(real_read, "read");
    R(real_pread, "pread");
    R(real_write, "write");
    R(real_pwrite, "pwrite");
    R(real_fstat, "fstat");
    R(real_lseek, "lseek");
    R(real_ftruncate, "ftruncate");
    R(real_posix_fallocate, "posix_fallocate");
    R(real_fopen, "fopen");
    R(real_opendir, "opendir");
    R(real_mkstemp, "mkstemp");
    R(real_mkostemp, "mkostemp");
    R(real_fchmod, "fchmod");
    R(real_rename, "rename");
    R(real_syscall, "syscall");
    *(void **)&lsan_ignore = dlsym(RTLD_DEFAULT, "__lsan_ignore_object");
#undef R
    t_resolving--;
    if (lsan_ignore)
        dl_iterate_phdr(ldso_cb, NULL);
    S.page = (int)sysconf(_SC_PAGESIZE);
    __atomic_store_n(&done, 1, __ATOMIC_RELEASE);
}

/* ---- code addresses: the executable's symbols, libelf's ranges ------- */

typedef struct fsym {
    uint64_t addr, size;
    uint32_t name;
} fsym;

static struct {
    int loaded;
    fsym *syms; /* functions of the executable, sorted by address */
    size_t nsyms;
    char *str;
    uint64_t elf_lo[8], elf_hi[8]; /* libelf and zlib code */
    int nelf;
} C;

static int has_prefix(const char *s, const char *const *prefixes)
{
    for (; *prefixes; prefixes++)
        if (strncmp(s, *prefixes, strlen(*prefixes)) == 0)
            return 1;
    return 0;
}

/* libelf's and zlib's exported names: in a tool that links them
 * statically (CMakeLists.txt, EJ_STATIC_TOOL_DEPS), their code is one
 * contiguous run of .text per archive (archive members are laid out in
 * extraction order, and neither archive has .text.* sections), so the range
 * from the lowest to the end of the highest of these functions is theirs,
 * static helpers included.  A range holding one of elfjit's own functions
 * means the assumption broke: it is then not used. */
static const char *const libelf_prefixes[] = {"elf_",   "elf32_", "elf64_", "gelf_", "__libelf_",
                                              "__elf_", "__elf32_", "__elf64_", "__gelf_", NULL};
static const char *const zlib_prefixes[] = {"inflate",  "deflate",     "adler32", "crc32",
                                            "zcalloc",  "zcfree",      "_tr_",    "zlibVersion",
                                            "zError",   "get_crc_table", NULL};

static int cmp_fsym(const void *a, const void *b)
{
    const fsym *x = a, *y = b;
    return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static int phdr_cb(struct dl_phdr_info *info, size_t size, void *ctx)
{
    uint64_t *bias = ctx;
    if (bias[1] == 0) { /* the first object is the executable */
        bias[0] = info->dlpi_addr;
        bias[1] = 1;
        return 0;
    }
    const char *base = strrchr(info->dlpi_name, '/');
    base = base ? base + 1 : info->dlpi_name;
    if (strncmp(base, "libelf.so", 9) && strncmp(base, "libelf-", 7) && strncmp(base, "libz.so", 7))
        return 0;
    for (int i = 0; i < info->dlpi_phnum && C.nelf < 8; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X)) {
            C.elf_lo[C.nelf] = info->dlpi_addr + ph->p_vaddr;
            C.elf_hi[C.nelf++] = info->dlpi_addr + ph->p_vaddr + ph->p_memsz;
        }
    }
    return 0;
}

static void *find_in_exe(const char *want, const uint8_t *img, size_t len, uint64_t bias);

static const uint8_t *g_exe_img;
static size_t g_exe_len;
static uint64_t g_exe_bias;

/* Reads the executable's .symtab (the tool and the driver are not
 * stripped) and finds libelf's code.  Idempotent; runs busy. */
static void load_code_map(void)
{
    if (C.loaded)
        return;
    C.loaded = 1;
    uint64_t bias[2] = {0, 0};
    dl_iterate_phdr(phdr_cb, bias);
    int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || st.st_size < (off_t)sizeof(ElfW(Ehdr))) {
        if (fd >= 0)
            close(fd);
        return;
    }
    const uint8_t *img = real_mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (img == MAP_FAILED)
        return;
    g_exe_img = img;
    g_exe_len = (size_t)st.st_size;
    g_exe_bias = bias[0];
    const ElfW(Ehdr) *eh = (const void *)img;
    if (memcmp(eh->e_ident, ELFMAG, SELFMAG) || eh->e_shoff == 0 ||
        eh->e_shoff + (uint64_t)eh->e_shnum * sizeof(ElfW(Shdr)) > (uint64_t)st.st_size)
        return;
    const ElfW(Shdr) *sh = (const void *)(img + eh->e_shoff);
    for (int i = 0; i < eh->e_shnum; i++) {
        if (sh[i].sh_type != SHT_SYMTAB || sh[i].sh_link >= eh->e_shnum)
            continue;
        const ElfW(Shdr) *strh = &sh[sh[i].sh_link];
        if (sh[i].sh_offset + sh[i].sh_size > (uint64_t)st.st_size ||
            strh->sh_offset + strh->sh_size > (uint64_t)st.st_size)
            return;
        const ElfW(Sym) *sym = (const void *)(img + sh[i].sh_offset);
        size_t n = sh[i].sh_size / sizeof *sym;
        const char *str = (const char *)img + strh->sh_offset;
        size_t bytes = n * sizeof(fsym) + strh->sh_size + 1;
        uint8_t *mem = real_mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                                 -1, 0);
        if (mem == MAP_FAILED)
            return;
        C.syms = (fsym *)mem;
        C.str = (char *)mem + n * sizeof(fsym);
        memcpy(C.str, str, strh->sh_size);
        uint64_t elo = UINT64_MAX, ehi = 0, zlo = UINT64_MAX, zhi = 0;
        for (size_t k = 0; k < n; k++) {
            if (ELF64_ST_TYPE(sym[k].st_info) != STT_FUNC || sym[k].st_value == 0 ||
                sym[k].st_name >= strh->sh_size)
                continue;
            fsym f = {bias[0] + sym[k].st_value, sym[k].st_size, sym[k].st_name};
            C.syms[C.nsyms++] = f;
            const char *name = str + sym[k].st_name;
            if (ELF64_ST_BIND(sym[k].st_info) == STB_LOCAL)
                continue;
            if (has_prefix(name, libelf_prefixes)) {
                elo = f.addr < elo ? f.addr : elo;
                ehi = f.addr + f.size > ehi ? f.addr + f.size : ehi;
            } else if (has_prefix(name, zlib_prefixes)) {
                zlo = f.addr < zlo ? f.addr : zlo;
                zhi = f.addr + f.size > zhi ? f.addr + f.size : zhi;
            }
        }
        qsort(C.syms, C.nsyms, sizeof *C.syms, cmp_fsym);
        uint64_t lo[2] = {elo, zlo}, hi[2] = {ehi, zhi};
        for (int r = 0; r < 2; r++) {
            if (lo[r] >= hi[r])
                continue;
            int clean = 1;
            for (size_t k = 0; k < C.nsyms; k++)
                if (C.syms[k].addr >= lo[r] && C.syms[k].addr < hi[r] &&
                    strncmp(C.str + C.syms[k].name, "ej_", 3) == 0)
                    clean = 0;
            if (clean && C.nelf < 8) {
                C.elf_lo[C.nelf] = lo[r];
                C.elf_hi[C.nelf++] = hi[r];
            }
        }
        break;
    }
}

/* The address of symbol WANT (function or object) in the executable. */
__attribute__((unused)) static void *find_in_exe(const char *want, const uint8_t *img, size_t len, uint64_t bias)
{
    if (!img)
        return NULL;
    const ElfW(Ehdr) *eh = (const void *)img;
    const ElfW(Shdr) *sh = (const void *)(img + eh->e_shoff);
    for (int i = 0; i < eh->e_shnum; i++) {
        if (sh[i].sh_type != SHT_SYMTAB)
            continue;
        const ElfW(Sym) *sym = (const void *)(img + sh[i].sh_offset);
        const char *str = (const char *)img + sh[sh[i].sh_link].sh_offset;
        for (size_t k = 0; k < sh[i].sh_size / sizeof *sym; k++)
            if (sym[k].st_value && sym[k].st_shndx != SHN_UNDEF &&
                strcmp(str + sym[k].st_name, want) == 0)
                return (void *)(uintptr_t)(bias + sym[k].st_value);
    }
    (void)len;
    return NULL;
}

static int in_libelf(const void *pc)
{
    uint64_t a = (uint64_t)(uintptr_t)pc;
    for (int i = 0; i < C.nelf; i++)
        if (a >= C.elf_lo[i] && a < C.elf_hi[i])
            return 1;
    return 0;
}

void fault_describe_addr(const void *addr, char *buf, size_t len)
{
    t_busy++;
    Dl_info info;
    const char *obj = "?";
    if (dladdr(addr, &info) && info.dli_fname) {
        obj = strrchr(info.dli_fname, '/') ? strrchr(info.dli_fname, '/') + 1 : info.dli_fname;
        if (info.dli_sname) {
            snprintf(buf, len, "%s+0x%lx (%s)", info.dli_sname,
                     (unsigned long)((uintptr_t)addr - (uintptr_t)info.dli_saddr), obj);
            t_busy--;
            return;
        }
    }
    /* Not exported: the executable's own symbol table. */
    uint64_t a = (uint64_t)(uintptr_t)addr;
    if (info.dli_fbase && strcmp(obj, "?") && (uintptr_t)info.dli_fbase != (uintptr_t)g_exe_bias) {
        /* A library's static function: its offset, for addr2line. */
        snprintf(buf, len, "%s+0x%lx", obj,
                 (unsigned long)((uintptr_t)addr - (uintptr_t)info.dli_fbase));
        t_busy--;
        return;
    }
    size_t lo = 0, hi = C.nsyms;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (C.syms[mid].addr <= a)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo > 0 && a - C.syms[lo - 1].addr < (C.syms[lo - 1].size ? C.syms[lo - 1].size : 1))
        snprintf(buf, len, "%s+0x%lx (%s)", C.str + C.syms[lo - 1].name,
                 (unsigned long)(a - C.syms[lo - 1].addr), obj);
    else
        snprintf(buf, len, "%p (%s)", addr, obj);
    t_busy--;
}

/* ---- reports ------------------------------------------------------------ */

static int report_fd = -1; /* preload mode: lines go here as they happen */

static void report_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void report_line(const char *fmt, ...)
{
    if (report_fd < 0)
        return;
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n > sizeof line - 2)
        n = sizeof line - 2;
    line[n++] = '\n';
    real_write(report_fd, line, (size_t)n);
}

static void add_violation(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void add_violation(const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (S.rep->violations++ == 0)
        snprintf(S.rep->violation, sizeof S.rep->violation, "%s", msg);
    report_line("violation=%s", msg);
}

/* Counts one call of FAMILY (and of libelf when LIBELF); true when it is
 * the one to fail. */
static int should_fail(int family, int libelf, int err, const char *what, const void *caller)
{
    S.rep->count[family]++;
    if (libelf)
        S.rep->count[FAULT_LIBELF]++;
    int hit = S.n > 0 && !S.rep->injected &&
              ((S.family == family && S.rep->count[family] == S.n) ||
               (S.family == FAULT_LIBELF && libelf && S.rep->count[FAULT_LIBELF] == S.n));
    if (!hit)
        return 0;
    S.rep->injected = 1;
    S.rep->injected_errno = err;
    char where[256];
    fault_describe_addr(caller, where, sizeof where);
    snprintf(S.rep->site, sizeof S.rep->site, "%s from %s", what, where);
    report_line("injected=%s", S.rep->site);
    return 1;
}

/* ---- mappings --------------------------------------------------------- */

enum { REG_PLAIN, REG_DUMMY, REG_JITDUMP, REG_EXCUSED };

typedef struct region {
    uint64_t lo, hi;
    int kind;
    int exec; /* was executable at some point */
} region;

#define MAX_REGIONS 512
static region live[MAX_REGIONS];
static size_t nlive;
static region hist[MAX_REGIONS];
static size_t nhist;

static void live_remove(uint64_t lo, uint64_t hi, int excuse)
{
    for (size_t i = 0; i < nlive; i++) {
        region *r = &live[i];
        if (r->hi <= lo || r->lo >= hi || r->kind == REG_EXCUSED)
            continue;
        region left = *r, right = *r;
        left.hi = lo;
        right.lo = hi;
        region mid = *r;
        mid.lo = lo > r->lo ? lo : r->lo;
        mid.hi = hi < r->hi ? hi : r->hi;
        mid.kind = REG_EXCUSED;
        /* Replace R by its pieces (left, right; the excused middle). */
        live[i] = live[--nlive];
        i--;
        if (left.lo < left.hi && nlive < MAX_REGIONS)
            live[nlive++] = left;
        if (right.lo < right.hi && nlive < MAX_REGIONS)
            live[nlive++] = right;
        if (excuse && nlive < MAX_REGIONS)
            live[nlive++] = mid;
    }
}

static void live_set_exec(uint64_t lo, uint64_t hi)
{
    for (size_t i = 0; i < nlive; i++)
        if (live[i].lo < hi && live[i].hi > lo)
            live[i].exec = 1;
    for (size_t i = 0; i < nhist; i++)
        if (hist[i].lo < hi && hist[i].hi > lo)
            hist[i].exec = 1;
}

static int is_jitdump_fd(int fd)
{
    char link[64], target[256];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, target, sizeof target - 1);
    if (n <= 0)
        return 0;
    target[n] = '\0';
    return strncmp(target, "/tmp/jit-", 9) == 0 && strstr(target, ".dump") != NULL;
}

static void live_add(uint64_t lo, uint64_t hi, int prot, int flags, int fd)
{
    live_remove(lo, hi, 0); /* MAP_FIXED replaces what was there */
    region r = {lo, hi, REG_PLAIN, (prot & PROT_EXEC) != 0};
    if (prot == PROT_NONE && (flags & MAP_ANONYMOUS) && hi - lo == (uint64_t)S.page)
        r.kind = REG_DUMMY; /* ej_pipeline_flush_mt's page, kept for the process */
    else if (fd >= 0 && is_jitdump_fd(fd))
        r.kind = REG_JITDUMP; /* perf's marker, kept for the process */
    if (nlive < MAX_REGIONS)
        live[nlive++] = r;
    if (nhist < MAX_REGIONS)
        hist[nhist++] = r;
}

size_t fault_live_regions(uint64_t *lo, uint64_t *hi, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < nlive; i++) {
        if (live[i].kind != REG_PLAIN)
            continue;
        if (n < max) {
            lo[n] = live[i].lo;
            hi[n] = live[i].hi;
        }
        n++;
    }
    return n;
}

size_t fault_mapped_history(uint64_t *lo, uint64_t *hi, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < nhist && n < max; i++, n++) {
        lo[n] = hist[i].lo;
        hi[n] = hist[i].hi;
    }
    return n;
}

/* ---- W^X ---------------------------------------------------------------- */

static char maps_buf[1 << 20];

static size_t read_maps(void)
{
    int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    size_t n = 0;
    if (fd < 0)
        return 0;
    for (;;) {
        ssize_t r = real_read(fd, maps_buf + n, sizeof maps_buf - 1 - n);
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    maps_buf[n] = '\0';
    return n;
}

typedef struct fmap {
    unsigned long lo, hi, off, inode;
    unsigned maj, min;
    char perm[5];
    char path[96];
} fmap;

/* W+X aliases already reported since fault_arm (each scan sees them). */
static struct {
    unsigned long w, x;
} alias_seen[16];
static int nalias_seen;

static fmap fmaps[4096];

int fault_scan_wx(void)
{
    t_busy++;
    int found = 0;
    size_t nf = 0;
    read_maps();
    for (char *line = maps_buf, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        fmap m;
        int at = 0;
        if (sscanf(line, "%lx-%lx %4s %lx %x:%x %lu %n", &m.lo, &m.hi, m.perm, &m.off, &m.maj,
                   &m.min, &m.inode, &at) != 7)
            continue;
        snprintf(m.path, sizeof m.path, "%s", line + at);
        if (m.perm[1] == 'w' && m.perm[2] == 'x') {
            add_violation("mapping writable and executable at once: %s", line);
            found++;
        }
        if (m.inode && nf < sizeof fmaps / sizeof fmaps[0])
            fmaps[nf++] = m;
    }
    /* The same file pages writable (shared) in one mapping and executable
     * in another: a dual mapping that is W and X at once. */
    for (size_t i = 0; i < nf; i++) {
        if (!(fmaps[i].perm[1] == 'w' && fmaps[i].perm[3] == 's'))
            continue;
        for (size_t j = 0; j < nf; j++) {
            if (fmaps[j].perm[2] != 'x' || fmaps[j].inode != fmaps[i].inode ||
                fmaps[j].maj != fmaps[i].maj || fmaps[j].min != fmaps[i].min)
                continue;
            unsigned long a0 = fmaps[i].off, a1 = a0 + (fmaps[i].hi - fmaps[i].lo);
            unsigned long b0 = fmaps[j].off, b1 = b0 + (fmaps[j].hi - fmaps[j].lo);
            if (a0 < b1 && b0 < a1) {
                int seen = 0;
                for (int k = 0; k < nalias_seen; k++)
                    seen |= alias_seen[k].w == fmaps[i].lo && alias_seen[k].x == fmaps[j].lo;
                if (seen)
                    continue;
                if (nalias_seen < 16)
                    alias_seen[nalias_seen++].w = fmaps[i].lo, alias_seen[nalias_seen - 1].x = fmaps[j].lo;
                add_violation("pages of %s mapped writable (%s at 0x%lx) and executable (%s at "
                              "0x%lx) at once", fmaps[i].path, fmaps[i].perm, fmaps[i].lo,
                              fmaps[j].perm, fmaps[j].lo);
                found++;
            }
        }
    }
    t_busy--;
    return found;
}

/* ---- registrations at unmap time ------------------------------------------
 * "Unregister everything before unmapping": when elfjit unmaps a region it
 * made executable, neither the PC registry nor the unwinder may still know
 * an address in it. */

typedef const void *(*find_fde_fn)(void *pc, void *bases);

static void check_unregistered(uint64_t lo, uint64_t hi, const char *when)
{
    unsigned char info[512];
    for (uint64_t a = lo; a < hi && a < lo + (1u << 16); a += 64)
        if (S.lookup_pc && S.lookup_pc(a, info)) {
            add_violation("%s: 0x%llx is still in the PC registry (ej_lookup_pc)", when,
                          (unsigned long long)a);
            break;
        }
    find_fde_fn find = (find_fde_fn)dlsym(RTLD_DEFAULT, "_Unwind_Find_FDE");
    if (!find)
        return;
    for (uint64_t a = lo; a < hi && a < lo + (1u << 14); a += 16) {
        void *bases[3];
        if (find((void *)(uintptr_t)(a + 1), bases)) {
            add_violation("%s: the unwinder still has an FDE for 0x%llx", when,
                          (unsigned long long)a);
            break;
        }
    }
}

static void check_before_unmap(uint64_t lo, uint64_t hi)
{
    for (size_t i = 0; i < nlive; i++)
        if (live[i].exec && live[i].kind == REG_PLAIN && live[i].lo < hi && live[i].hi > lo) {
            check_unregistered(live[i].lo > lo ? live[i].lo : lo,
                               live[i].hi < hi ? live[i].hi : hi, "unmapping code");
            return;
        }
}

void fault_check_nothing_registered(void)
{
    t_busy++;
    unsigned char info[512];
    for (size_t i = 0; i < nhist; i++)
        if (S.lookup_pc && S.lookup_pc(hist[i].lo, info))
            add_violation("after the failed operation: 0x%llx is in the PC registry",
                          (unsigned long long)hist[i].lo);
    for (size_t i = 0; i < nlive; i++)
        if (live[i].exec && live[i].kind == REG_PLAIN)
            check_unregistered(live[i].lo, live[i].hi, "after the failed operation");
    t_busy--;
}

void fault_set_lookup_pc(int (*fn)(uint64_t, void *))
{
    S.lookup_pc = fn;
}

/* ---- allocation tracking (leak check without LSan) --------------------- */

typedef struct ablock {
    uintptr_t p; /* 0: empty, 1: deleted */
    size_t size;
    const void *caller;
    uint32_t seq;
    uint8_t mark;
} ablock;

#define AT_BITS 17
static ablock *at; /* 1 << AT_BITS slots, mmap()ed, outside what is scanned */
static size_t at_live, at_used;
static uint32_t at_seq;
static int at_full;

static size_t at_hash(uintptr_t p)
{
    return (size_t)((p >> 4) * 0x9E3779B97F4A7C15ull >> (64 - AT_BITS));
}

static void at_add(void *p, size_t size, const void *caller)
{
    if (!p || !at || S.have_lsan)
        return;
    if (at_used >= (1u << AT_BITS) / 2) {
        at_full = 1;
        return;
    }
    size_t i = at_hash((uintptr_t)p);
    while (at[i].p > 1)
        i = (i + 1) & ((1u << AT_BITS) - 1);
    if (at[i].p == 0)
        at_used++;
    at[i] = (ablock){(uintptr_t)p, size, caller, ++at_seq, 0};
    at_live++;
}

/* Forgets P; returns its size when it was tracked, else 0. */
static size_t at_del(void *p)
{
    if (!p || !at || !at_live)
        return 0;
    size_t i = at_hash((uintptr_t)p);
    while (at[i].p) {
        if (at[i].p == (uintptr_t)p) {
            at[i].p = 1;
            at_live--;
            return at[i].size ? at[i].size : 1;
        }
        i = (i + 1) & ((1u << AT_BITS) - 1);
    }
    return 0;
}

static void at_reset(void)
{
    if (S.have_lsan)
        return;
    if (!at) {
        void *m = real_mmap(NULL, sizeof(ablock) << AT_BITS, PROT_READ | PROT_WRITE,
                            MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (m == MAP_FAILED)
            return;
        at = m;
    } else if (at_used) {
        memset(at, 0, sizeof(ablock) << AT_BITS);
    }
    at_live = at_used = 0;
    at_seq = 0;
    at_full = 0;
}

int fault_have_lsan(void)
{
    return S.have_lsan;
}

/* ---- arming ------------------------------------------------------------ */

void fault_arm(int family, long n)
{
    resolve();
    t_busy++;
    load_code_map();
    S.have_lsan = dlsym(RTLD_DEFAULT, "__lsan_do_recoverable_leak_check") != NULL;
    t_busy--;
    S.family = family;
    S.n = n;
    memset(S.rep, 0, sizeof *S.rep);
    nlive = nhist = 0;
    nalias_seen = 0;
    at_reset();
    t_armed = 1;
}

void fault_set_report(fault_report *rep)
{
    S.rep = rep ? rep : &own_report;
}

void fault_disarm(void)
{
    t_armed = 0;
}

void ej_fault_pause(void)
{
    t_armed = 0;
}

void fault_get_report(fault_report *out)
{
    *out = *S.rep;
}

#define ARMED() (t_armed && !t_busy)

/* ---- allocation interposers --------------------------------------------- */

static int alloc_fails(const char *fn, size_t size, const void *caller)
{
    char what[64];
    int libelf = in_libelf(caller);
    t_busy++;
    snprintf(what, sizeof what, "%s(%zu)", fn, size);
    int hit = should_fail(FAULT_ALLOC, libelf, ENOMEM, what, caller);
    t_busy--;
    return hit;
}

void *malloc(size_t size)
{
    if (!real_malloc) {
        if (t_resolving)
            return boot_alloc(size);
        resolve();
    }
    const void *caller = CALLER;
    if (!ARMED())
        return lsan_note(real_malloc(size), caller);
    if (alloc_fails("malloc", size, caller)) {
        errno = ENOMEM;
        return NULL;
    }
    void *p = lsan_note(real_malloc(size), caller);
    at_add(p, size, caller);
    return p;
}

void *calloc(size_t n, size_t size)
{
    if (!real_calloc) {
        if (t_resolving) {
            void *p = n && size > SIZE_MAX / n ? NULL : boot_alloc(n * size);
            return p; /* the arena is zero and never reused */
        }
        resolve();
    }
    const void *caller = CALLER;
    if (!ARMED())
        return lsan_note(real_calloc(n, size), caller);
    if (alloc_fails("calloc", n * size, caller)) {
        errno = ENOMEM;
        return NULL;
    }
    void *p = lsan_note(real_calloc(n, size), caller);
    at_add(p, n * size, caller);
    return p;
}

void *realloc(void *old, size_t size)
{
    if (!real_realloc) {
        if (t_resolving)
            return NULL;
        resolve();
    }
    if (in_boot(old)) {
        void *p = malloc(size);
        size_t left = (size_t)(boot_arena + sizeof boot_arena - (char *)old);
        if (p)
            memcpy(p, old, size < left ? size : left);
        return p;
    }
    const void *caller = CALLER;
    if (!ARMED() || size == 0) {
        void *p = lsan_note(real_realloc(old, size), caller);
        if (p != old && (p || size == 0)) {
            at_del(old);
            /* A block allocated while armed, moved after: still tracked. */
        }
        return p;
    }
    if (alloc_fails("realloc", size, caller)) {
        errno = ENOMEM;
        return NULL;
    }
    void *p = lsan_note(real_realloc(old, size), caller);
    if (p) {
        at_del(old);
        at_add(p, size, caller);
    }
    return p;
}

void *reallocarray(void *old, size_t n, size_t size)
{
    if (n && size > SIZE_MAX / n) {
        errno = ENOMEM;
        return NULL;
    }
    return realloc(old, n * size);
}

void free(void *p)
{
    if (!p || in_boot(p))
        return;
    if (!real_free)
        resolve();
    /* A freed block keeps its bytes, and the leak check scans free heap
     * memory as a root: clear what the operation allocated, so that its
     * stale pointers cannot hide a leak. */
    size_t size = at_del(p);
    if (size)
        memset(p, 0, size);
    real_free(p);
}

int posix_memalign(void **out, size_t align, size_t size)
{
    resolve();
    const void *caller = CALLER;
    if (!ARMED()) {
        int r = real_posix_memalign(out, align, size);
        if (r == 0)
            lsan_note(*out, caller);
        return r;
    }
    if (alloc_fails("posix_memalign", size, caller))
        return ENOMEM;
    int r = real_posix_memalign(out, align, size);
    if (r == 0) {
        lsan_note(*out, caller);
        at_add(*out, size, caller);
    }
    return r;
}

void *aligned_alloc(size_t align, size_t size)
{
    resolve();
    const void *caller = CALLER;
    if (!ARMED())
        return lsan_note(real_aligned_alloc(align, size), caller);
    if (alloc_fails("aligned_alloc", size, caller)) {
        errno = ENOMEM;
        return NULL;
    }
    void *p = lsan_note(real_aligned_alloc(align, size), caller);
    at_add(p, size, caller);
    return p;
}

void *memalign(size_t align, size_t size)
{
    resolve();
    const void *caller = CALLER;
    if (!ARMED())
        return lsan_note(real_memalign(align, size), caller);
    if (alloc_fails("memalign", size, caller)) {
        errno = ENOMEM;
        return NULL;
    }
    void *p = lsan_note(real_memalign(align, size), caller);
    at_add(p, size, caller);
    return p;
}

/* strdup and strndup: ASan intercepts them with its own allocator (they
 * would never reach malloc), so they are counted here, as one allocation. */
static char *dup_n(const char *s, size_t n, const char *fn, const void *caller)
{
    resolve();
    if (ARMED() && alloc_fails(fn, n + 1, caller)) {
        errno = ENOMEM;
        return NULL;
    }
    char *p = real_malloc(n + 1);
    if (!p)
        return NULL;
    if (ARMED())
        at_add(p, n + 1, caller);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *strdup(const char *s)
{
    return dup_n(s, strlen(s), "strdup", CALLER);
}

char *strndup(const char *s, size_t n)
{
    return dup_n(s, strnlen(s, n), "strndup", CALLER);
}

/* ---- mapping interposers ------------------------------------------------ */

static void check_prot(const char *fn, int prot, const void *caller)
{
    if ((prot & PROT_WRITE) && (prot & PROT_EXEC)) {
        char where[256];
        fault_describe_addr(caller, where, sizeof where);
        add_violation("%s asked for PROT_WRITE|PROT_EXEC (from %s)", fn, where);
    }
}

void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    resolve();
    if (!ARMED())
        return real_mmap(addr, len, prot, flags, fd, off);
    const void *caller = CALLER;
    t_busy++;
    check_prot("mmap", prot, caller);
    char what[96];
    snprintf(what, sizeof what, "mmap(%zu, prot %d, flags 0x%x, fd %d)", len, prot, flags, fd);
    if (should_fail(FAULT_MMAP, 0, ENOMEM, what, caller)) {
        t_busy--;
        errno = ENOMEM;
        return MAP_FAILED;
    }
    void *p = real_mmap(addr, len, prot, flags, fd, off);
    int e = errno;
    if (p != MAP_FAILED) {
        size_t pl = ((len + (size_t)S.page - 1) / (size_t)S.page) * (size_t)S.page;
        live_add((uintptr_t)p, (uintptr_t)p + pl, prot, flags, fd);
        fault_scan_wx();
    }
    t_busy--;
    errno = e;
    return p;
}

void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off)
    __attribute__((alias("mmap")));

int munmap(void *addr, size_t len)
{
    resolve();
    if (!ARMED())
        return real_munmap(addr, len);
    const void *caller = CALLER;
    t_busy++;
    uint64_t lo = (uintptr_t)addr;
    uint64_t hi = lo + ((len + (size_t)S.page - 1) / (size_t)S.page) * (size_t)S.page;
    check_before_unmap(lo, hi);
    char what[64];
    snprintf(what, sizeof what, "munmap(%zu)", len);
    if (should_fail(FAULT_MUNMAP, 0, ENOMEM, what, caller)) {
        /* The mapping really stays: elfjit cannot undo that. */
        live_remove(lo, hi, 1);
        t_busy--;
        errno = ENOMEM;
        return -1;
    }
    int r = real_munmap(addr, len);
    int e = errno;
    if (r == 0)
        live_remove(lo, hi, 0);
    t_busy--;
    errno = e;
    return r;
}

int mprotect(void *addr, size_t len, int prot)
{
    resolve();
    if (!ARMED())
        return real_mprotect(addr, len, prot);
    const void *caller = CALLER;
    t_busy++;
    check_prot("mprotect", prot, caller);
    char what[64];
    snprintf(what, sizeof what, "mprotect(%zu, prot %d)", len, prot);
    if (should_fail(FAULT_MPROTECT, 0, EACCES, what, caller)) {
        t_busy--;
        errno = EACCES;
        return -1;
    }
    int r = real_mprotect(addr, len, prot);
    int e = errno;
    if (r == 0) {
        if (prot & PROT_EXEC)
            live_set_exec((uintptr_t)addr, (uintptr_t)addr + len);
        fault_scan_wx();
    }
    t_busy--;
    errno = e;
    return r;
}

int memfd_create(const char *name, unsigned flags)
{
    resolve();
    if (ARMED()) {
        t_busy++;
        int hit = should_fail(FAULT_MEMFD, 0, EMFILE, "memfd_create", CALLER);
        t_busy--;
        if (hit) {
            errno = EMFILE;
            return -1;
        }
    }
    return real_memfd_create(name, flags);
}

/* ---- file interposers --------------------------------------------------- */

static int io_fails(const char *what, int err, const void *caller)
{
    if (!ARMED())
        return 0;
    t_busy++;
    int hit = should_fail(FAULT_IO, 0, err, what, caller);
    t_busy--;
    if (hit)
        errno = err;
    return hit;
}

static int open_mode_arg(int flags, va_list ap)
{
    return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE ? va_arg(ap, int) : 0;
}

int open(const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    int mode = open_mode_arg(flags, ap);
    va_end(ap);
    resolve();
    if (io_fails("open", EMFILE, CALLER))
        return -1;
    return real_open(path, flags, mode);
}

int open64(const char *path, int flags, ...) __attribute__((alias("open")));

int openat(int dirfd, const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    int mode = open_mode_arg(flags, ap);
    va_end(ap);
    resolve();
    if (io_fails("openat", EMFILE, CALLER))
        return -1;
    return real_openat(dirfd, path, flags, mode);
}

int openat64(int dirfd, const char *path, int flags, ...) __attribute__((alias("openat")));

int __open_2(const char *path, int flags)
{
    resolve();
    if (io_fails("open", EMFILE, CALLER))
        return -1;
    return real_open(path, flags);
}

int __open64_2(const char *path, int flags) __attribute__((alias("__open_2")));

int __openat_2(int dirfd, const char *path, int flags)
{
    resolve();
    if (io_fails("openat", EMFILE, CALLER))
        return -1;
    return real_openat(dirfd, path, flags);
}

int __openat64_2(int dirfd, const char *path, int flags) __attribute__((alias("__openat_2")));

ssize_t read(int fd, void *buf, size_t n)
{
    resolve();
    if (io_fails("read", EIO, CALLER))
        return -1;
    return real_read(fd, buf, n);
}

ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen)
{
    resolve();
    if (io_fails("read", EIO, CALLER))
        return -1;
    return real_read(fd, buf, n);
}

ssize_t pread(int fd, void *buf, size_t n, off_t off)
{
    resolve();
    if (io_fails("pread", EIO, CALLER))
        return -1;
    return real_pread(fd, buf, n, off);
}

ssize_t pread64(int fd, void *buf, size_t n, off_t off) __attribute__((alias("pread")));

ssize_t __pread_chk(int fd, void *buf, size_t n, off_t off, size_t buflen)
{
    resolve();
    if (io_fails("pread", EIO, CALLER))
        return -1;
    return real_pread(fd, buf, n, off);
}

ssize_t __pread64_chk(int fd, void *buf, size_t n, off_t off, size_t buflen)
    __attribute__((alias("__pread_chk")));

ssize_t write(int fd, const void *buf, size_t n)
{
    resolve();
    if (io_fails("write", EIO, CALLER))
        return -1;
    return real_write(fd, buf, n);
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
    resolve();
    if (io_fails("pwrite", EIO, CALLER))
        return -1;
    return real_pwrite(fd, buf, n, off);
}

ssize_t pwrite64(int fd, const void *buf, size_t n, off_t off) __attribute__((alias("pwrite")));

/* Saving an image: its temporary file, its mode, its rename into place
 * (glibc's mkstemp opens inside libc, where open's interposer cannot
 * see it). */
int mkstemp(char *tmpl)
{
    resolve();
    if (io_fails("mkstemp", EMFILE, CALLER))
        return -1;
    return real_mkstemp(tmpl);
}

int mkstemp64(char *tmpl) __attribute__((alias("mkstemp")));

int mkostemp(char *tmpl, int flags)
{
    resolve();
    if (io_fails("mkostemp", EMFILE, CALLER))
        return -1;
    return real_mkostemp(tmpl, flags);
}

int mkostemp64(char *tmpl, int flags) __attribute__((alias("mkostemp")));

int fchmod(int fd, mode_t mode)
{
    resolve();
    if (io_fails("fchmod", EIO, CALLER))
        return -1;
    return real_fchmod(fd, mode);
}

int rename(const char *from, const char *to)
{
    resolve();
    if (io_fails("rename", EIO, CALLER))
        return -1;
    return real_rename(from, to);
}

int fstat(int fd, struct stat *st)
{
    resolve();
    if (io_fails("fstat", EIO, CALLER))
        return -1;
    return real_fstat(fd, st);
}

int fstat64(int fd, struct stat64 *st)
{
    resolve();
    if (io_fails("fstat", EIO, CALLER))
        return -1;
    return real_fstat(fd, (struct stat *)st);
}

off_t lseek(int fd, off_t off, int whence)
{
    resolve();
    if (io_fails("lseek", EIO, CALLER))
        return -1;
    return real_lseek(fd, off, whence);
}

off_t lseek64(int fd, off_t off, int whence) __attribute__((alias("lseek")));

int ftruncate(int fd, off_t len)
{
    resolve();
    if (io_fails("ftruncate", EIO, CALLER))
        return -1;
    return real_ftruncate(fd, len);
}

int ftruncate64(int fd, off_t len) __attribute__((alias("ftruncate")));

int posix_fallocate(int fd, off_t off, off_t len)
{
    resolve();
    if (io_fails("posix_fallocate", ENOSPC, CALLER))
        return ENOSPC;
    return real_posix_fallocate(fd, off, len);
}

int posix_fallocate64(int fd, off_t off, off_t len) __attribute__((alias("posix_fallocate")));

FILE *fopen(const char *path, const char *mode)
{
    resolve();
    if (io_fails("fopen", EMFILE, CALLER))
        return NULL;
    return real_fopen(path, mode);
}

FILE *fopen64(const char *path, const char *mode) __attribute__((alias("fopen")));

DIR *opendir(const char *path)
{
    resolve();
    if (io_fails("opendir", EMFILE, CALLER))
        return NULL;
    return real_opendir(path);
}

/* ---- membarrier: glibc has no wrapper, elfjit calls syscall() ---------- */

long syscall(long nr, ...)
{
    va_list ap;
    va_start(ap, nr);
    long a[6];
    for (int i = 0; i < 6; i++)
        a[i] = va_arg(ap, long);
    va_end(ap);
    resolve();
    if (nr == SYS_membarrier && ARMED()) {
        char what[64];
        snprintf(what, sizeof what, "membarrier(cmd %ld)", a[0]);
        t_busy++;
        int hit = should_fail(FAULT_MEMBARRIER, 0, ENOMEM, what, CALLER);
        t_busy--;
        if (hit) {
            errno = ENOMEM;
            return -1;
        }
    }
    return real_syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
}

/* ---- descriptors -------------------------------------------------------- */

size_t fault_open_fds(int *fds, size_t max)
{
    t_busy++;
    size_t n = 0;
    int dfd = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    char buf[4096];
    for (;;) {
        long r = real_syscall(SYS_getdents64, dfd, buf, sizeof buf);
        if (r <= 0)
            break;
        for (long off = 0; off < r;) {
            struct {
                uint64_t ino;
                int64_t off;
                unsigned short reclen;
                unsigned char type;
                char name[];
            } *d = (void *)(buf + off);
            off += d->reclen;
            if (d->name[0] < '0' || d->name[0] > '9')
                continue;
            int fd = atoi(d->name);
            if (fd == dfd || fd == report_fd || is_jitdump_fd(fd))
                continue;
            if (n < max)
                fds[n] = fd;
            n++;
        }
    }
    close(dfd);
    t_busy--;
    return n;
}

/* ---- the leak check ----------------------------------------------------- */

static int cmp_block(const void *a, const void *b)
{
    const ablock *x = *(ablock *const *)a, *y = *(ablock *const *)b;
    return x->p < y->p ? -1 : x->p > y->p;
}

static ablock **blocks;
static size_t nblocks;
static uintptr_t scan_stack_lo;
static int scan_skip_stack; /* at exit: main has returned (or called exit) */

static ablock *block_at(uintptr_t v)
{
    size_t lo = 0, hi = nblocks;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (blocks[mid]->p <= v)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0)
        return NULL;
    ablock *b = blocks[lo - 1];
    /* glibc's chunk headers sit in the last 8 bytes of the chunk before:
     * malloc's own pointers to the next chunk (main_arena's top, its bins)
     * point there, so they do not count as references to this block. */
    size_t reach = b->size > 8 ? b->size - 8 : b->size ? b->size : 1;
    return v < b->p + reach ? b : NULL;
}

static ablock **mark_stack;
static size_t nmark;

static void scan_words(uintptr_t lo, uintptr_t hi)
{
    lo = (lo + sizeof(uintptr_t) - 1) & ~(uintptr_t)(sizeof(uintptr_t) - 1);
    uintptr_t first = nblocks ? blocks[0]->p : 1, last = nblocks ? blocks[nblocks - 1]->p + blocks[nblocks - 1]->size : 0;
    for (uintptr_t a = lo; a + sizeof(uintptr_t) <= hi; a += sizeof(uintptr_t)) {
        uintptr_t v = *(const uintptr_t *)a;
        if (v < first || v >= last)
            continue;
        ablock *b = block_at(v);
        if (b && !b->mark) {
            b->mark = 1;
            mark_stack[nmark++] = b;
        }
    }
}

/* Roots: every readable, writable mapping (data segments, heap, stacks,
 * TLS), minus the tracked blocks themselves and the shim's own tables
 * ("holes", sorted).  A mapping that faults when read (a shared file
 * mapping past its end) is skipped from there on. */
typedef struct span {
    uintptr_t lo, hi;
} span;

static span *holes;
static size_t nholes;
static sigjmp_buf scan_jmp;

static int cmp_span(const void *a, const void *b)
{
    const span *x = a, *y = b;
    return x->lo < y->lo ? -1 : x->lo > y->lo;
}

static void scan_fault(int sig)
{
    siglongjmp(scan_jmp, sig);
}

static void scan_roots(void)
{
    struct sigaction sa = {.sa_handler = scan_fault}, old_segv, old_bus;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_NODEFER;
    sigaction(SIGSEGV, &sa, &old_segv);
    sigaction(SIGBUS, &sa, &old_bus);
    read_maps();
    size_t idx = 0;
    for (char *line = maps_buf, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        unsigned long lo, hi;
        char perm[5];
        if (sscanf(line, "%lx-%lx %4s", &lo, &hi, perm) != 3 || perm[0] != 'r' || perm[1] != 'w')
            continue;
        if (strstr(line, "[vvar]") || strstr(line, "[vsyscall]") || hi - lo > (64ul << 20))
            continue;
        while (idx < nholes && holes[idx].hi <= lo)
            idx++;
        /* This thread's stack: only its live part, from fault_leak_check's
         * saved registers up (below are the checker's own frames and dead
         * ones, with stale pointers). */
        if (scan_stack_lo >= lo && scan_stack_lo < hi) {
            if (scan_skip_stack)
                continue;
            lo = scan_stack_lo & ~(uintptr_t)(sizeof(uintptr_t) - 1);
        }
        volatile uintptr_t a = lo;
        volatile size_t k = idx;
        if (sigsetjmp(scan_jmp, 1))
            continue; /* faulted: the rest of this mapping is not memory */
        while (a < hi) {
            if (k < nholes && holes[k].lo < hi) {
                if (holes[k].lo > a)
                    scan_words(a, holes[k].lo);
                if (holes[k].hi > a)
                    a = holes[k].hi;
                k++;
            } else {
                scan_words(a, hi);
                a = hi;
            }
        }
    }
    sigaction(SIGSEGV, &old_segv, NULL);
    sigaction(SIGBUS, &old_bus, NULL);
}

static size_t leak_check_inner(char *buf, size_t len)
{
    size_t leaks = 0, at_buf = 0;
    if (!at || !at_live)
        return 0;
    size_t bytes = at_live * (2 * sizeof(ablock *) + sizeof(span)) + 8 * sizeof(span);
    void *mem = real_mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED)
        return 0;
    blocks = mem;
    mark_stack = blocks + at_live;
    holes = (span *)(mark_stack + at_live);
    nblocks = nmark = 0;
    for (size_t i = 0; i < (1u << AT_BITS); i++)
        if (at[i].p > 1) {
            at[i].mark = 0;
            blocks[nblocks++] = &at[i];
        }
    qsort(blocks, nblocks, sizeof *blocks, cmp_block);
    nholes = 0;
    for (size_t i = 0; i < nblocks; i++)
        holes[nholes++] = (span){blocks[i]->p, blocks[i]->p + blocks[i]->size};
    span tables[] = {
        {(uintptr_t)at, (uintptr_t)at + (sizeof(ablock) << AT_BITS)},
        {(uintptr_t)mem, (uintptr_t)mem + bytes},
        {(uintptr_t)maps_buf, (uintptr_t)maps_buf + sizeof maps_buf},
        {(uintptr_t)fmaps, (uintptr_t)fmaps + sizeof fmaps},
    };
    for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++)
        holes[nholes++] = tables[i];
    qsort(holes, nholes, sizeof *holes, cmp_span);
    scan_roots();
    while (nmark) {
        ablock *b = mark_stack[--nmark];
        scan_words(b->p, b->p + b->size);
    }
    for (size_t i = 0; i < nblocks; i++) {
        if (blocks[i]->mark)
            continue;
        if (leaks++ < 6 && at_buf + 200 < len) {
            char where[256];
            fault_describe_addr(blocks[i]->caller, where, sizeof where);
            at_buf += (size_t)snprintf(buf + at_buf, len - at_buf,
                                       "%s%zu bytes (allocation #%u of the operation) from %s",
                                       at_buf ? "; " : "", blocks[i]->size, blocks[i]->seq, where);
        }
    }
    real_munmap(mem, bytes);
    blocks = mark_stack = NULL;
    holes = NULL;
    nblocks = 0;
    return leaks;
}

size_t fault_leak_check(char *buf, size_t len)
{
    if (len)
        buf[0] = '\0';
    if (S.have_lsan)
        return 0;
    t_busy++;
    /* Registers may hold the only pointer to a block: spill them. */
    jmp_buf regs;
    setjmp(regs);
    scan_stack_lo = (uintptr_t)&regs;
    size_t n = leak_check_inner(buf, len);
    __asm__ __volatile__("" : : "r"(&regs) : "memory");
    t_busy--;
    if (at_full && len > 100 && strlen(buf) < len - 60)
        strcat(buf, " (tracking table full: check incomplete)");
    return n;
}

/* ---- the preloaded library (elfjit tool) ----------------------------- */
#ifdef EJ_FAULT_PRELOAD

static int baseline_fds[256];
static size_t nbaseline_fds;
static void *const *tool_linked; /* tools/elfjit.c's running_linker */

/* The fixture's destructor hook (the API driver counts its calls; here it
 * only has to exist, so that the weak reference resolves in the process). */
void ej_fault_dtor_hook(void);
void ej_fault_dtor_hook(void)
{
}

/* EJ_FAULT_FAMILY=<family> EJ_FAULT_N=<n> EJ_FAULT_REPORT=<file>: arm for
 * the whole run; the fixture's main calls ej_fault_pause.  The report file
 * gets one line per event (injected=..., violation=...) as it happens, so a
 * crash still leaves the injection site, and the end-of-run facts at exit. */
__attribute__((constructor)) static void preload_init(void)
{
    const char *fam = getenv("EJ_FAULT_FAMILY"), *n = getenv("EJ_FAULT_N");
    const char *path = getenv("EJ_FAULT_REPORT");
    if (!fam || !n || !path)
        return;
    resolve();
    t_busy++;
    int fd = real_open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd >= 0) {
        report_fd = fcntl(fd, F_DUPFD_CLOEXEC, 900);
        close(fd);
    }
    load_code_map();
    S.lookup_pc = (int (*)(uint64_t, void *))find_in_exe("ej_lookup_pc", g_exe_img, g_exe_len,
                                                        g_exe_bias);
    char *desc = find_in_exe("__jit_debug_descriptor", g_exe_img, g_exe_len, g_exe_bias);
    if (desc) /* {u32 version, u32 action, entry *relevant, entry *first} */
        S.gdb_first_entry = (void **)(desc + 16);
    tool_linked = find_in_exe("running_linker", g_exe_img, g_exe_len, g_exe_bias);
    nbaseline_fds = fault_open_fds(baseline_fds, 256);
    t_busy--;
    int family = fault_family_parse(fam);
    fault_arm(family, atol(n));
    if (family < 0)
        report_line("violation=unknown family %s", fam);
}

__attribute__((destructor)) static void preload_fini(void)
{
    if (report_fd < 0)
        return;
    int was_armed = t_armed;
    t_armed = 0;
    t_busy++;
    for (int f = 0; f < FAULT_COUNT; f++)
        report_line("count.%s=%ld", fault_family_name(f), S.rep->count[f]);
    report_line("paused=%d", !was_armed);
    report_line("linked=%d", tool_linked ? *tool_linked != NULL : -1);
    fault_scan_wx();
    uint64_t lo[16], hi[16];
    size_t nl = fault_live_regions(lo, hi, 16);
    report_line("live=%zu", nl);
    for (size_t i = 0; i < nl && i < 16; i++)
        report_line("live.region=0x%llx-0x%llx", (unsigned long long)lo[i],
                    (unsigned long long)hi[i]);
    unsigned char info[512];
    size_t reg = 0;
    for (size_t i = 0; i < nhist; i++)
        reg += S.lookup_pc && S.lookup_pc(hist[i].lo, info);
    report_line("registry=%zu", reg);
    size_t gdb = 0;
    for (void **e = S.gdb_first_entry ? (void **)*S.gdb_first_entry : NULL; e && gdb < 100;
         e = (void **)e[0])
        gdb++;
    report_line("gdb=%zu", gdb);
    int fds[256];
    size_t nf = fault_open_fds(fds, 256), extra = 0, tls = 0;
    for (size_t i = 0; i < nf && i < 256; i++) {
        int known = 0;
        for (size_t k = 0; k < nbaseline_fds; k++)
            known |= baseline_fds[k] == fds[i];
        if (!known) {
            char link[64], target[256] = "";
            snprintf(link, sizeof link, "/proc/self/fd/%d", fds[i]);
            ssize_t r = readlink(link, target, sizeof target - 1);
            target[r > 0 ? r : 0] = '\0';
            /* A live module's TLS block (src/tls) keeps its memfd open. */
            /* So does shared code memory (src/codemem/slab.c) while a
             * module lives in it (the tool's does at exit). */
            if (strncmp(target, "/memfd:elfjit-tls", 17) == 0 ||
                strncmp(target, "/memfd:elfjit-shared-code", 25) == 0) {
                report_line("fd.tls=%d %s", fds[i], target);
                tls++;
                continue;
            }
            report_line("fd.extra=%d %s", fds[i], target);
            extra++;
        }
    }
    report_line("fds=%zu", extra);
    report_line("fds_tls=%zu", tls);
    char leaks[1024];
    /* At exit the stack holds only exit()'s frames and dead ones: what the
     * tool keeps until exit it keeps in statics (tools/elfjit.c), so the
     * stack is no root here. */
    scan_skip_stack = 1;
    size_t nleak = fault_leak_check(leaks, sizeof leaks);
    report_line("leaks=%zu", nleak);
    if (nleak)
        report_line("leak=%s", leaks);
    report_line("lsan=%d", S.have_lsan);
    report_line("libelf_ranges=%d", C.nelf);
    report_line("violations=%d", S.rep->violations);
    report_line("end=1");
    t_busy--;
}

/* Unregistered after its module's failed link: a registered but unmapped
 * region.  For the tool, elfjit's registry and unwinder are also checked
 * whenever loaded code is unmapped (check_before_unmap). */
#endif
