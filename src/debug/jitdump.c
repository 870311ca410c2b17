/* The jitdump file (/tmp/jit-PID.dump) gives perf more than the perf map
 * can: a copy of each function's code, so `perf inject --jit` can write
 * real ELF files for it and `perf annotate` can disassemble loaded code
 * even after the module is gone.  The format is perf's
 * tools/perf/Documentation/jitdump-specification.txt (version 1): a file
 * header, then records, all in the host's byte order.
 *
 * perf finds the file only through an mmap of it that `perf record` sees
 * in the process, and it must be executable for perf to keep the event:
 * that is why the file is mapped once, PROT_READ|PROT_EXEC and MAP_PRIVATE,
 * and the mapping is kept for the life of the process.  The mapping is
 * never writable (the file is written with write(2) only), so it is no
 * exception to the rule that nothing is writable and executable at once.
 *
 * One process-wide mutex orders the records: perf reads the file
 * sequentially, so each record goes out whole, in one write(2). */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "codemem/codemem.h"
#include "debug/debug.h"
#include "debug/profile.h"

#define JD_MAGIC 0x4A695444u /* "JiTD" read as a host-order word */
#define JD_VERSION 1u
#define JD_CODE_LOAD 0u

typedef struct jd_header {
    uint32_t magic, version, total_size, elf_mach, pad1, pid;
    uint64_t timestamp, flags;
} jd_header;

typedef struct jd_record {
    uint32_t id, total_size;
    uint64_t timestamp;
} jd_record;

/* JIT_CODE_LOAD's fixed part; the NUL-terminated name and the code
 * bytes follow it. */
typedef struct jd_load {
    jd_record rec;
    uint32_t pid, tid;
    uint64_t vma, code_addr, code_size, code_index;
} jd_load;

_Static_assert(sizeof(jd_header) == 40, "jitdump file header is 40 bytes");
_Static_assert(sizeof(jd_load) == 56, "JIT_CODE_LOAD fixed part is 56 bytes");

static struct {
    int fd;               /* -1: not open */
    void *marker;         /* the PROT_EXEC mapping perf looks for */
    size_t marker_len;
    pid_t pid;            /* the process that opened fd (a fork child reopens) */
    int opened_before;    /* 0: create the file anew on the next open */
    uint64_t code_index;  /* unique per function, for the whole process */
    char path[4200];      /* of the open file, for messages */
} jd = {.fd = -1};

static pthread_mutex_t jd_lock = PTHREAD_MUTEX_INITIALIZER;

/* CLOCK_MONOTONIC is the clock `perf record -k mono` stamps its samples
 * with, which `perf inject --jit` needs to order records and samples. */
static uint64_t jd_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}


/* Writes all of BUF, resuming after signals and short writes; 0 or errno. */
static int jd_write(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return w < 0 ? errno : EIO;
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

/* Drops the file and the marker (under jd_lock). */
static void jd_reset(void)
{
    if (jd.marker)
        munmap(jd.marker, jd.marker_len);
    if (jd.fd >= 0)
        close(jd.fd);
    jd.marker = NULL;
    jd.fd = -1;
}

/* Writes the file header when FD's file is still empty. */
static int jd_write_header(int fd, pid_t pid, uint16_t machine)
{
    struct stat st;
    if (fstat(fd, &st))
        return errno;
    if (st.st_size)
        return 0;
    jd_header h = {.magic = JD_MAGIC, .version = JD_VERSION, .total_size = sizeof h,
                   .elf_mach = machine, .pid = (uint32_t)pid,
                   .timestamp = jd_now()};
    return jd_write(fd, &h, sizeof h);
}

/* Opens (or creates) this process's file and maps the marker; under
 * jd_lock.  The header names MACHINE, the process's (only modules that
 * run are recorded).  The first open in a process creates the file anew
 * (replacing what an earlier process with the same pid may have left); a
 * reopen after ej__jitdump_close appends. */
static ej_status jd_open(uint16_t machine, ej__err *err)
{
    pid_t pid = getpid();
    char name[64], path[sizeof jd.path];
    snprintf(name, sizeof name, "jit-%ld.dump", (long)pid);
    int fd;
    ej_status st = ej__profile_open(name, O_RDWR | O_APPEND, !jd.opened_before, path,
                                    sizeof path, &fd, err);
    if (st != EJ_OK)
        return st;
    int e = jd_write_header(fd, pid, machine);
    if (e) {
        close(fd);
        return ej__fail(err, EJ_IO, "%s: cannot write the jitdump header: %s", path,
                        strerror(e));
    }
    size_t len = ej__page_size();
    void *marker = mmap(NULL, len, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0);
    if (marker == MAP_FAILED) {
        e = errno;
        close(fd);
        return ej__fail(err, EJ_IO, "%s: cannot map the jitdump marker for perf: %s", path,
                        strerror(e));
    }
    jd.fd = fd;
    jd.marker = marker;
    jd.marker_len = len;
    jd.pid = pid;
    jd.opened_before = 1;
    memcpy(jd.path, path, sizeof jd.path);
    return EJ_OK;
}

/* The bytes of F inside M's image: *OFF from the image start, *LEN long
 * (a function of size 0 gets one byte, as in the perf map; nothing is
 * taken from outside the image). */
static void func_span(const ej__image *img, const ej__func *f, uint64_t *off, uint64_t *len)
{
    uint64_t size = f->size ? f->size : 1;
    *off = f->addr >= img->vbase ? f->addr - img->vbase : img->size;
    if (*off >= img->size)
        *off = img->size;
    *len = size < img->size - *off ? size : img->size - *off;
}

/* Fills BUF with F's JIT_CODE_LOAD record; returns its length. */
static size_t jd_format(char *buf, const ej__image *img, const ej__func *f, pid_t tid)
{
    uint64_t off, len;
    func_span(img, f, &off, &len);
    const char *name = img->names + f->name;
    size_t nlen = strlen(name) + 1;
    size_t total = sizeof(jd_load) + nlen + len;
    jd_load r = {.rec = {.id = JD_CODE_LOAD, .total_size = (uint32_t)total,
                         .timestamp = jd_now()},
                 .pid = (uint32_t)jd.pid, .tid = (uint32_t)tid, .vma = f->addr,
                 .code_addr = f->addr, .code_size = len, .code_index = jd.code_index++};
    memcpy(buf, &r, sizeof r);
    memcpy(buf + sizeof r, name, nlen);
    memcpy(buf + sizeof r + nlen, (const uint8_t *)(uintptr_t)img->vbase + off, len);
    return total;
}

/* Room for M's largest record, or 0 when one would not fit the format's
 * 32-bit record size. */
static size_t jd_max_record(const ej__image *img)
{
    size_t max = 0;
    for (size_t i = 0; i < img->nfuncs; i++) {
        uint64_t off, len;
        func_span(img, &img->funcs[i], &off, &len);
        uint64_t total = sizeof(jd_load) + strlen(img->names + img->funcs[i].name) + 1 + len;
        if (total > UINT32_MAX)
            return 0;
        max = total > max ? (size_t)total : max;
    }
    return max;
}

/* Writes M's records (under jd_lock, with the file open). */
static ej_status jd_write_module(const ej__image *img, ej__err *err)
{
    size_t cap = jd_max_record(img);
    if (!cap)
        return ej__fail(err, EJ_IO, "jitdump: a function of the module is too large "
                                    "for a record (4 GiB at most)");
    char *buf = malloc(cap);
    if (!buf)
        return ej__fail(err, EJ_NOMEM, "out of memory for a %zu-byte jitdump record", cap);
    pid_t tid = (pid_t)syscall(SYS_gettid);
    int e = 0;
    for (size_t i = 0; i < img->nfuncs && !e; i++)
        e = jd_write(jd.fd, buf, jd_format(buf, img, &img->funcs[i], tid));
    free(buf);
    if (!e)
        return EJ_OK;
    return ej__fail(err, EJ_IO, "%s: cannot write a jitdump record: %s", jd.path, strerror(e));
}

ej_status ej__reg_add_JITDUMP(const ej__image *img, void *owner, void **slot, ej__err *err)
{
    (void)owner;
    (void)slot;
    if (!img->nfuncs)
        return EJ_OK;
    pthread_mutex_lock(&jd_lock);
    if (jd.fd >= 0 && jd.pid != getpid()) {
        jd_reset(); /* a fork child: the parent's file and pid are not ours */
        jd.opened_before = 0;
    }
    ej_status st = jd.fd >= 0 ? EJ_OK : jd_open(img->machine, err);
    if (st == EJ_OK)
        st = jd_write_module(img, err);
    pthread_mutex_unlock(&jd_lock);
    return st;
}

/* The records stay: perf inject reads the file after the process is gone
 * (and keeps the code bytes, so samples of unloaded code still resolve). */
void ej__reg_remove_JITDUMP(const ej__image *img, void *owner, void **slot)
{
    (void)img;
    (void)owner;
    (void)slot;
}

void ej__jitdump_close(void)
{
    pthread_mutex_lock(&jd_lock);
    jd_reset();
    pthread_mutex_unlock(&jd_lock);
}
