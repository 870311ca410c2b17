/* elfjit — load relocatable ELF objects into W^X code memory and run them.
 *
 * A typical session:
 *
 *     ej_linker *lk;
 *     ej_module *m;
 *     if (ej_linker_create(&lk) != EJ_OK) ...;
 *     if (ej_linker_add_file(lk, "a.o") != EJ_OK ||
 *         ej_linker_add_file(lk, "b.o") != EJ_OK ||
 *         ej_linker_link(lk, &m) != EJ_OK) {
 *         fprintf(stderr, "%s\n", ej_linker_errmsg(lk));
 *         ...
 *     }
 *     ej_linker_free(lk);                     // the module does not need it
 *     ej_module_init(m, argc, argv, environ); // constructors
 *     int (*f)(int) = (int (*)(int))ej_module_symbol(m, "f");
 *     ...
 *     ej_module_free(m);                      // destructors, then unmap
 *
 * Conventions, for every function below:
 *  - A fallible call returns ej_status; EJ_OK is success.  On failure a
 *    readable message naming what failed, where and why is left on the handle
 *    (ej_linker_errmsg / ej_module_errmsg).  The library never prints, aborts
 *    or exits.
 *  - Handles are opaque.  One handle must not be used by two threads at once;
 *    distinct handles are independent.  Functions documented "thread-safe"
 *    may be called concurrently on the same handle.
 *  - Strings passed in are copied unless stated otherwise.
 */
#ifndef ELFJIT_ELFJIT_H
#define ELFJIT_ELFJIT_H

#include <stddef.h>
#include <stdint.h>

#include "elfjit/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define EJ_VERSION_STRING "0.1.0"

typedef struct ej_linker ej_linker;
typedef struct ej_module ej_module;

/* Resolver for symbols that no added object defines.  Returns the address
 * of NAME, or NULL when this resolver does not know it (the search then goes
 * on to the host process).  Called during ej_linker_link only, on the
 * linking thread. */
typedef void *(*ej_resolver_fn)(void *ctx, const char *name);

/* ---- linker ---------------------------------------------------------- */

/* Creates an empty linker in *OUT.  Errors: EJ_INVAL (OUT is NULL),
 * EJ_NOMEM.  On failure *OUT is NULL. */
ej_status ej_linker_create(ej_linker **out);

/* Frees LK and every object added to it.  Modules already linked from LK
 * stay valid.  NULL is a no-op. */
void ej_linker_free(ej_linker *lk);

/* The message describing the last failure on LK, or "" when there was none.
 * The string belongs to LK and is valid until the next call on LK.
 * Never NULL (also for a NULL LK). */
const char *ej_linker_errmsg(const ej_linker *lk);

/* What LK has to tell that is not an error, as a linker's warnings: one
 * line per note, each ending in '\n', naming the file (today: an archive
 * without a symbol index, read member by member to build one); "" when
 * there is none (also for a NULL LK).  Notes accumulate over the adds and
 * the link; the string belongs to LK and is valid until the next call
 * that adds to LK or links it.  The library never prints them: a tool
 * shows them to its user (`elfjit run` on standard error). */
const char *ej_linker_notes(const ej_linker *lk);

/* Adds the relocatable ELF object at PATH.  The file is mapped, not copied,
 * and validated completely before this returns: a malformed object is
 * refused here (EJ_BADELF, EJ_UNSUPPORTED), naming the file, the section and
 * the offset.  Other errors: EJ_IO (cannot open or map), EJ_NOMEM,
 * EJ_STATE (LK already linked). */
ej_status ej_linker_add_file(ej_linker *lk, const char *path);

/* Adds a relocatable ELF object held in memory.  NAME labels it in error
 * messages (NULL gives "<buffer>").  The bytes are copied, so BUF may be
 * freed as soon as this returns.  An ar archive is added as
 * ej_linker_add_archive_buffer does.  Errors as for ej_linker_add_file. */
ej_status ej_linker_add_buffer(ej_linker *lk, const char *name,
                               const void *buf, size_t len);

/* Makes the symbols of the shared library LIB (a soname such as "libz.so.1"
 * or a path) available to the objects, as `-l` does for a system linker.
 * The library is dlopen()ed now and stays loaded for the life of the
 * process.  Errors: EJ_NOTFOUND (dlopen failed; its message is kept). */
ej_status ej_linker_add_library(ej_linker *lk, const char *lib);

/* Static libraries.  Adds the ar archive (GNU or BSD format, as `ar`
 * writes it) at PATH, mapped once, its members read in place.  Members
 * are chosen at ej_linker_link, as a linker does: a member is linked when
 * it defines a name that a linked object refers to with a strong
 * reference and nothing linked defines yet (weak references never pull a
 * member); all the linker's archives form one group, scanned in the order
 * added, each through its symbol index (one is built for an archive
 * without), and rescanned until nothing more is linked (so archives may
 * depend on each other in any order), each archive rescanned until it
 * adds nothing before the next (ld's order: a name a member brings in is
 * taken from the same archive when it has it).  Objects added
 * directly always come first.  EJ_ARCHIVE_WHOLE links every member (ld's
 * --whole-archive).  Then the compiler runtime: names still undefined
 * that the host (libgcc_s included) does not define either are taken
 * from the machine's libgcc.a ($ELFJIT_LIBGCC, or the compiler's
 * directories) and libc_nonshared.a.  A member that cannot be linked
 * (not an ELF object of the machine, LLVM bitcode, damaged) is an error
 * only when it is pulled, naming "archive(member)" and the name that
 * pulled it.  ej_linker_add_file accepts archives too (flags 0).  Thin
 * archives (`ar rcT`) are read too, their members opened relative to the
 * archive (one without a symbol index is refused: EJ_UNSUPPORTED).  Errors: EJ_IO, EJ_NOMEM,
 * EJ_BADELF, EJ_UNSUPPORTED, EJ_INVAL (unknown flags), EJ_STATE. */
#define EJ_ARCHIVE_WHOLE 1u
ej_status ej_linker_add_archive(ej_linker *lk, const char *path, unsigned flags);

/* The same for an archive of LEN bytes held in memory (ej_linker_add_buffer
 * accepts one too, flags 0).  NAME labels it in messages (NULL gives
 * "<buffer>"); the bytes are copied, so BUF may be freed as soon as this
 * returns.  A thin archive is refused (EJ_UNSUPPORTED): its members are
 * files named relative to it.  Errors as for ej_linker_add_archive, and
 * EJ_BADELF for bytes that are not an archive. */
ej_status ej_linker_add_archive_buffer(ej_linker *lk, const char *name, const void *buf,
                                       size_t len, unsigned flags);

/* Sets the resolver consulted for names no object defines, before the host
 * process is searched.  FN NULL removes it.  CTX is passed through. */
ej_status ej_linker_set_resolver(ej_linker *lk, ej_resolver_fn fn, void *ctx);

/* Link-only mode: the image is laid out and relocated as if it were loaded
 * at virtual address BASE (a multiple of the page size), but it is written
 * into ordinary memory and never made executable.  Lookups on the module
 * return addresses relative to BASE; ej_module_read() shows the relocated
 * bytes; ej_module_init() refuses to run it (EJ_STATE).  This makes every
 * relocation and range check testable on any host without running code.
 * Errors: EJ_INVAL (BASE not page aligned or zero). */
ej_status ej_linker_set_base(ej_linker *lk, uint64_t base);

/* What a link registers once the module's protections are final, and
 * unregisters (in reverse order) before ej_module_free unmaps it.  One
 * list, X(NAME, BIT, DEFAULT, OPTION, HELP): NAME gives EJ_REGISTER_NAME
 * = 1 << BIT; DEFAULT 1 puts it in EJ_REGISTER_DEFAULT; OPTION and HELP
 * are what `elfjit run` offers for it (--no-OPTION for a default one,
 * --OPTION otherwise).
 *   GDB       GDB's JIT interface (__jit_debug_register_code): an ELF image
 *             of the module with its symbols and, for objects compiled
 *             with -g, its relocated DWARF, so debuggers break, backtrace
 *             and step in it.  GDB's cost grows with the number of
 *             registered images: switch it off for many small modules.
 *   UNWIND    the module's .eh_frame with the process's unwinder, so
 *             backtrace(), _Unwind_Backtrace and C++ exceptions walk
 *             through loaded code.
 *   PERF_MAP  one line per function appended to /tmp/perf-PID.map (perf's
 *             map for JIT code; ELFJIT_PROFILE_DIR moves it).
 *   JITDUMP   records in /tmp/jit-PID.dump (perf inject --jit; idem). */
#define EJ_REGISTRATION_LIST(X)                                                              \
    X(GDB, 0, 1, "gdb", "register the code with debuggers (GDB's JIT interface)")            \
    X(UNWIND, 1, 1, "unwind", "register the code's .eh_frame with the unwinder (backtraces, " \
      "C++ exceptions)")                                                                      \
    X(PERF_MAP, 2, 0, "perf-map", "append the loaded functions to /tmp/perf-PID.map (perf "  \
      "report)")                                                                              \
    X(JITDUMP, 3, 0, "jitdump", "record the loaded functions in /tmp/jit-PID.dump (perf "    \
      "inject --jit)")

enum {
#define EJ__REG_FLAG(name, bit, def, option, help) EJ_REGISTER_##name = 1u << (bit),
    EJ_REGISTRATION_LIST(EJ__REG_FLAG)
#undef EJ__REG_FLAG
#define EJ__REG_DEFAULT(name, bit, def, option, help) | ((def) ? 1u << (bit) : 0u)
    EJ_REGISTER_DEFAULT = 0u EJ_REGISTRATION_LIST(EJ__REG_DEFAULT),
#undef EJ__REG_DEFAULT
#define EJ__REG_ALL(name, bit, def, option, help) | (1u << (bit))
    EJ_REGISTER_ALL = 0u EJ_REGISTRATION_LIST(EJ__REG_ALL)
#undef EJ__REG_ALL
};

/* Chooses what ej_linker_link registers (EJ_REGISTER_* flags; see above).
 * Errors: EJ_INVAL (unknown flag), EJ_STATE (already linked). */
ej_status ej_linker_set_registration(ej_linker *lk, unsigned flags);

/* Where a link's code memory comes from:
 *   EJ_CODE_MEMORY_AUTO      the default: ELFJIT_CODEMEM ("mprotect" or
 *                            "dual") when set; else shared code memory
 *                            (below) for a small module; else mprotect, unless this
 *                            process may not make written memory executable
 *                            (PR_SET_MDWE, systemd's
 *                            MemoryDenyWriteExecute=yes, SELinux
 *                            deny_execmem), found once per process by a probe:
 *                            then dual mapping;
 *   EJ_CODE_MEMORY_MPROTECT  one anonymous mapping, written, then made RX /
 *                            R with mprotect;
 *   EJ_CODE_MEMORY_DUAL_MAP  a memory file mapped twice: written through a
 *                            writable view, run from a view whose code pages
 *                            were never writable; the writable view is
 *                            unmapped once the module is published.  Costs a
 *                            memory file and a few more system calls per
 *                            link (see the README);
 *   EJ_CODE_MEMORY_SHARED    small modules share pages: a module whose
 *                            code, read-only data and data+bss each fit
 *                            in a page (and are aligned to at most one)
 *                            gets a piece of a page of each class among
 *                            other modules', in 64-byte granules, inside
 *                            arenas of 3 x 8 MiB (one arena's mappings
 *                            serve thousands of modules, where one module
 *                            per mapping meets the kernel's
 *                            vm.max_map_count near 21,000 modules).  Code
 *                            and read-only data are private mappings of a
 *                            memory file, never writable: a module's bytes
 *                            are written into the file (pwrite), so no
 *                            writable view of code exists at all.  Freed
 *                            pieces are reused; pages left empty go back
 *                            to the kernel; with no module left, nothing
 *                            stays mapped.  A module too large, a link
 *                            asking for EJ_REGISTER_PERF_MAP (perf reads
 *                            its map for anonymous memory only), or one
 *                            whose reach no arena satisfies gets its own
 *                            mapping (mprotect, or dual map where the
 *                            probe says so).  Such a module's classes lie
 *                            apart: ej_module_range gives its code.
 * Either way no page is writable and executable at any moment. */
typedef enum ej_code_memory {
    EJ_CODE_MEMORY_AUTO = 0,
    EJ_CODE_MEMORY_MPROTECT = 1,
    EJ_CODE_MEMORY_DUAL_MAP = 2,
    EJ_CODE_MEMORY_SHARED = 3
} ej_code_memory;

/* Chooses KIND for the link.  Errors: EJ_INVAL (unknown kind), EJ_STATE
 * (already linked).  Link-only links ignore it. */
ej_status ej_linker_set_code_memory(ej_linker *lk, ej_code_memory kind);

/* Resolves symbols, lays out, relocates and publishes every added object
 * into one new module in *OUT.  Text becomes RX, read-only data R, data RW;
 * no page is ever writable and executable at the same time, and the
 * instruction caches of every core are synchronised before this returns.
 * Constructors are not run: see ej_module_init().
 *
 * Objects for another machine than the one this process runs on are
 * refused (EJ_UNSUPPORTED) unless the link is link-only
 * (ej_linker_set_base): their code is never made executable.
 *
 * A linker links once: afterwards only ej_linker_errmsg and ej_linker_free
 * are valid on it.  On failure nothing stays mapped and *OUT is NULL.
 * Errors: EJ_UNDEFINED, EJ_DUPLICATE, EJ_RANGE, EJ_RELOC, EJ_UNSUPPORTED,
 * EJ_MAP, EJ_NOMEM, EJ_STATIC_TLS (see below), EJ_IO (the C library could
 * not load the module's thread-local storage), EJ_STATE (already linked,
 * or no objects). */
ej_status ej_linker_link(ej_linker *lk, ej_module **out);

/* Images: link once, load many times.  ej_linker_save_image links what LK
 * holds (as ej_linker_link would, without running or registering
 * anything: a link-only link) and writes the result to PATH as an image
 * file: the laid-out image with every reference inside it applied, and
 * what depends on the load address or on the host's symbols kept as a
 * list of fixups; its exports, functions, constructors, trap tables,
 * address maps, .eh_frame and symbols; the libraries added with
 * ej_linker_add_library (opened again at load); a checksum (zlib's
 * crc32) of it all.  The file is an ELF file (readelf reads it), written
 * to a temporary file beside PATH and renamed over it, so a reader never
 * sees a partial image.  Calls out of the image go through its stubs, so
 * code pages carry no fixup.  ENTRY, when not NULL, names the global
 * function a runner should call (`elfjit run IMAGE` does): it must be
 * defined (else EJ_NOTFOUND); ej_module_entry gives it back from the
 * loaded module.  FLAGS: any of EJ_IMAGE_COMPRESS, which stores the
 * image's bytes and its description deflated (zlib, as ELF's
 * SHF_COMPRESSED sections): smaller on disk, inflated straight into the
 * code memory at load (its pages then are the process's own, not the page
 * cache's); and EJ_IMAGE_DWARF, which keeps the objects' DWARF (combined
 * and relocated as for a linked module, its addresses moved at load), so
 * that a debugger sees source lines, types and locals in a loaded image
 * (without it, function names only).  Thread-local storage is saved too.
 * LK is used up as by ej_linker_link.
 * Errors: those of ej_linker_link, EJ_IO (writing PATH), EJ_UNSUPPORTED
 * (what an image cannot hold, named).
 *
 * Loading: ej_linker_add_file(lk, PATH) on an image file checks it whole
 * (format version, machine, CPU features and page size, its checksum and
 * every offset in it: a damaged or foreign image is refused with one line
 * naming the file, EJ_BADELF or EJ_UNSUPPORTED), and ej_linker_link then
 * loads it instead of linking: its pages mapped from the file (pages no
 * fixup changes stay shared with the page cache and with every process
 * running the image), its imports resolved as a link resolves names (the
 * resolver, the libraries, the host), published and registered as LK
 * asks.  An image is loaded alone: with objects or archives beside it the
 * link fails (EJ_UNSUPPORTED).  The module is used and freed as any
 * other.  The file must not be modified in place while a module loaded
 * from it lives (replace it by renaming, as ej_linker_save_image does). */
/* The image cache: with DIR set (created if missing), ej_linker_add_file
 * and ej_linker_add_archive only note their inputs, and ej_linker_link
 * loads the image DIR holds for those inputs (same paths, the same files
 * unchanged since: device, inode, size, modification and change times),
 * the same libraries and this version of elfjit; when there is none, or
 * it fails its checks (it is then replaced, with a note), the inputs are
 * read and linked, the image saved into DIR (atomically: concurrent
 * processes share the directory safely) and loaded.  After a write, DIR
 * is trimmed to MAX_BYTES (0: unbounded), least recently used images
 * first.  Errors in the inputs are reported by ej_linker_link, naming
 * the file.  Set once, before any input is added.  Errors: EJ_IO (DIR
 * cannot be created), EJ_STATE, EJ_NOMEM. */
ej_status ej_linker_set_cache(ej_linker *lk, const char *dir, uint64_t max_bytes);

/* A description of what LK holds, in a few readable lines, in *TEXT
 * (malloc()ed, the caller frees it): for an image, its header (machine,
 * layout, how it is stored, what it was linked with), its fixups by kind,
 * type and page, its imports, exports, functions, constructors, trap
 * tables, address maps and thread-local block; for objects and archives,
 * each object's loaded sections by permission class, symbols and
 * relocations by type, then what their link needs (GOT slots, stubs,
 * TLS) or why it fails: LK is linked in link-only mode for it, and used
 * up.  Errors: EJ_NOMEM, EJ_INVAL, EJ_STATE (already linked). */
ej_status ej_linker_describe(ej_linker *lk, char **text);

#define EJ_IMAGE_COMPRESS 1u
#define EJ_IMAGE_DWARF 2u
ej_status ej_linker_save_image(ej_linker *lk, const char *path, const char *entry,
                               unsigned flags);

/* Thread-local storage.  A module's __thread / _Thread_local variables
 * live in a TLS block the C library allocates for every thread (those
 * running before the link included), initialised from the objects'
 * .tdata; every access model compilers emit works at the cost it has in a
 * normally linked program.  Local-exec and initial-exec code needs the
 * block in the C library's static TLS space, whose spare room for modules
 * loaded at run time is small (glibc: the tunable
 * glibc.rtld.optional_static_tls, 512 bytes by default, read at process
 * start); a block that does not fit fails the link with EJ_STATIC_TLS and
 * a message naming the variable, the size and the tunable.  Static TLS is
 * only as aligned as the C library's own (glibc: 64 bytes on x86_64, 16
 * on aarch64 and riscv64 unless the program's own TLS asks for more): a
 * block aligned more fails the same way; general-dynamic code (-fPIC,
 * TLS descriptors) has neither limit.
 *
 * The bytes of static TLS the last ej_linker_link on LK needed (the
 * module's TLS block, rounded up to its alignment), whether it succeeded
 * or failed with EJ_STATIC_TLS; 0 when it needed none or has not run.
 * Its alignment: what the C library's static TLS must be aligned to.
 * A process can restart itself with the tunable raised by SIZE and
 * ej_static_tls_preload(ALIGN) preloaded (`elfjit run` does).
 * Thread-safe on a linker no other thread uses. */
uint64_t ej_linker_static_tls_size(const ej_linker *lk);
uint64_t ej_linker_static_tls_align(const ej_linker *lk);

/* Writes, into a new memory file *FD (not close-on-exec), a shared object
 * with a thread-local block aligned to ALIGN (a power of two, at most
 * 65536).  Preloaded at a program's start (through
 * LD_PRELOAD=/proc/self/fd/FD across an exec), it makes the C library
 * align its static TLS, and so every thread pointer, to ALIGN, which
 * later modules' initial-exec and local-exec blocks aligned that much
 * need.  Keep FD open for the life of the process (the loader knows the
 * object by that name).  Errors: EJ_INVAL, EJ_IO, EJ_NOMEM.  Thread-safe. */
ej_status ej_static_tls_preload(uint64_t align, int *fd);

/* ---- module ---------------------------------------------------------- */

/* Runs the module's constructors: .preinit_array, then .init_array and
 * .ctors by priority (.init_array.NNNNN ascending, unnumbered last), each
 * called as f(argc, argv, envp).  Arranges for the destructors
 * (atexit/__cxa_atexit handlers registered by the module, then
 * .fini_array in reverse) to run at ej_module_free or at process exit,
 * whichever comes first.  Runs at most once; later calls return EJ_OK.
 * Errors: EJ_STATE (a link-only module). */
ej_status ej_module_init(ej_module *m, int argc, char **argv, char **envp);

/* The address of the global or weak symbol NAME defined by the module
 * (hidden symbols are not exported), or NULL when there is none.  For a
 * thread-local variable, the calling thread's copy (which the C library
 * may allocate on this first use; NULL in a link-only module).
 * Thread-safe; allocation-free except for a thread-local variable. */
void *ej_module_symbol(const ej_module *m, const char *name);

/* The function a module loaded from an image names to run (the ENTRY of
 * ej_linker_save_image), or NULL: none was named, or M was linked from
 * objects.  The string belongs to M.  Thread-safe. */
const char *ej_module_entry(const ej_module *m);

/* As ej_module_symbol, with a status: EJ_NOTFOUND leaves a message on M. */
ej_status ej_module_lookup(ej_module *m, const char *name, void **addr);

/* Copies LEN bytes of the module's image starting at virtual address ADDR
 * into BUF.  Meant for link-only modules, whose addresses are not mapped.
 * Errors: EJ_RANGE (the range is not inside the image). */
ej_status ej_module_read(ej_module *m, uint64_t addr, void *buf, size_t len);

/* The first and one-past-last virtual addresses of the module's image.
 * For a module in shared code memory (EJ_CODE_MEMORY_SHARED, and small
 * modules by default), whose code, read-only data and data lie apart among
 * other modules': the range of its code. */
void ej_module_range(const ej_module *m, uint64_t *start, uint64_t *end);

/* The message for the last failure on M, or "".  Valid until the next call
 * on M.  Never NULL. */
const char *ej_module_errmsg(const ej_module *m);

/* What is at a code address of a loaded module. */
typedef struct ej_pc_info {
    ej_module *module;
    const char *function;   /* the function holding the address (local ones
                             * included), or NULL when none is known */
    uint64_t function_addr; /* its first byte */
    uint64_t offset;        /* the address minus function_addr */
    int has_trap;           /* the address is a trap site (elfjit/tables.h) */
    uint32_t trap_code;     /* ...with this code */
    const char *file;       /* source position from an address map, or NULL */
    uint32_t line;
} ej_pc_info;

/* Describes address PC of module M in *OUT.  Returns 1 when PC lies inside
 * M's image, 0 otherwise (OUT untouched).  The strings stay valid while M
 * lives.  Lock-free, allocation-free and async-signal-safe: a signal
 * handler may call it, on any thread, as long as M is not being freed. */
int ej_module_lookup_pc(const ej_module *m, uint64_t pc, ej_pc_info *out);

/* As ej_module_lookup_pc over every live module of the process (those
 * linked and not yet freed).  Async-signal-safe and lock-free (readers
 * never wait; see src/runtime/registry.c): meant for the signal handler
 * that maps a faulting PC to its function, trap code and source position.
 * A module freed concurrently is either found whole or not at all; the
 * strings in *OUT stay valid until that module is freed.  A handler that
 * calls it may siglongjmp afterwards, but must not leave a lookup it
 * interrupted (e.g. a handler for a signal raised while this very call was
 * running must return, not longjmp): module unloads would wait for that
 * lookup forever. */
int ej_lookup_pc(uint64_t pc, ej_pc_info *out);

/* The program counter at which the signal a handler installed with
 * SA_SIGINFO received was raised, read from its third argument UCONTEXT
 * (a ucontext_t *): what to hand to ej_lookup_pc.  0 for NULL.
 * Async-signal-safe. */
uint64_t ej_signal_pc(const void *ucontext);

/* Runs the destructors if ej_module_init ran and the process is not already
 * exiting, undoes every registration, then unmaps the module.  After this,
 * no address from the module may be used.  NULL is a no-op. */
void ej_module_free(ej_module *m);

#ifdef __cplusplus
}
#endif

#endif /* ELFJIT_ELFJIT_H */
