/* Fault injection: the interposer (fault_shim.c) and what its users see.
 *
 * fault_shim.c defines malloc, calloc, realloc, mmap, mprotect, open, read,
 * syscall, ... in the program that contains it (the API driver) or in a
 * library preloaded into the elfjit tool (libej_fault_preload.so), and
 * forwards each call to the next definition (dlsym(RTLD_NEXT): libc, or
 * ASan's allocator in a sanitized build).  While armed it counts the calls
 * of every family and makes the Nth call of the chosen family fail, with
 * the errno a real failure of that call would give.  It also watches every
 * mapping made while armed (W^X, what is still mapped) and, outside ASan,
 * every allocation (for its leak check).  See README.md. */
#ifndef EJ_FAULT_SHIM_H
#define EJ_FAULT_SHIM_H

#include <stddef.h>
#include <stdint.h>

enum fault_family {
    FAULT_ALLOC,      /* malloc calloc realloc reallocarray posix_memalign
                       * aligned_alloc memalign strdup strndup */
    FAULT_MMAP,       /* mmap mmap64 */
    FAULT_MPROTECT,   /* mprotect */
    FAULT_MUNMAP,     /* munmap */
    FAULT_MEMFD,      /* memfd_create */
    FAULT_IO,         /* open* fopen opendir read pread write pwrite fstat
                       * lseek ftruncate posix_fallocate */
    FAULT_MEMBARRIER, /* syscall(SYS_membarrier, ...) */
    FAULT_LIBELF,     /* an allocation whose caller is libelf (or the zlib
                       * it inflates with) */
    FAULT_COUNT
};

const char *fault_family_name(int family);
/* -1 for an unknown name. */
int fault_family_parse(const char *name);

/* What the shim saw since the last fault_arm. */
typedef struct fault_report {
    long count[FAULT_COUNT]; /* calls per family while armed */
    int injected;            /* the Nth call was reached, and failed */
    int injected_errno;
    char site[512];          /* "malloc(64) from elf_newdata+0x2a (libelf.so.1)" */
    int violations;          /* W^X: see violation */
    char violation[1024];
} fault_report;

/* Starts counting on the calling thread: the Nth call (N >= 1) of FAMILY
 * fails; N = 0 only counts.  Clears the report, the mapping history and
 * the allocation tracking. */
void fault_arm(int family, long n);
/* Stops counting and injecting (what is tracked stays for the checks). */
void fault_disarm(void);
void fault_get_report(fault_report *out);
/* Makes the shim keep its report in REP (e.g. memory shared with a parent
 * process, so that a crash still shows what was injected); NULL restores
 * its own. */
void fault_set_report(fault_report *rep);

/* The fixture programs call this (a weak reference) when their main starts:
 * the program's own calls are not part of the operation under test. */
void ej_fault_pause(void);

/* Regions mapped while armed that are still mapped, other than the
 * process-lifetime ones elfjit keeps on purpose (the coherence layer's
 * one-page PROT_NONE dummy, the jitdump marker) and those whose munmap
 * was the injected failure.  Writes up to MAX of them to LO/HI and
 * returns how many there are. */
size_t fault_live_regions(uint64_t *lo, uint64_t *hi, size_t max);
/* Every region mapped while armed (also those unmapped since). */
size_t fault_mapped_history(uint64_t *lo, uint64_t *hi, size_t max);

/* Scans /proc/self/maps: a mapping both writable and executable, or a file
 * (memfd) page mapped writable-shared in one place and executable in
 * another, is a violation (added to the report).  Returns the count found
 * by this scan. */
int fault_scan_wx(void);

/* Open descriptors: writes up to MAX fd numbers to FDS, returns the count.
 * The jitdump file (/tmp/jit-PID.dump), which elfjit keeps open for the
 * life of the process, is left out. */
size_t fault_open_fds(int *fds, size_t max);

/* 1 when this process runs with ASan/LSan (then LeakSanitizer checks
 * leaks, and fault_leak_check does nothing). */
int fault_have_lsan(void);
/* Conservative leak check for builds without LSan: every block allocated
 * while armed and still live must be reachable (a pointer into it) from
 * the process's writable memory outside such blocks, or from a reachable
 * block.  Describes up to a few leaks in BUF; returns their number. */
size_t fault_leak_check(char *buf, size_t len);

/* Lets the shim ask elfjit's process-wide registry (ej_lookup_pc, cast)
 * whether an address is registered: checked for every code region elfjit
 * unmaps, and by fault_check_nothing_registered. */
void fault_set_lookup_pc(int (*fn)(uint64_t, void *));
/* After a failed operation: no region it mapped may be known to the PC
 * registry, nor (while still mapped) to the unwinder.  Adds violations. */
void fault_check_nothing_registered(void);

/* "sym+0xoff (object)" for a code address. */
void fault_describe_addr(const void *addr, char *buf, size_t len);

/* The shim's own work must not be counted: checks bracket themselves with
 * these (nesting). */
void fault_busy_enter(void);
void fault_busy_leave(void);

#endif
