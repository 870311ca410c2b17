/* The dual-mapping backend: the image is written into a memory file and
 * runs from mappings of it that were never writable where executable.
 *   write view  MAP_SHARED, RW, anywhere: the link copies and relocates
 *               through it;
 *   run view    at the placed address, a private read-only mapping of the
 *               file while the link runs (the link reads its tables back
 *               there).  At publish, each region is mapped anew in place:
 *               text as a private RX mapping of the file (new, never
 *               writable: no mapping gains execute permission), read-only
 *               data stays as it is, data is made writable (a private
 *               mapping: a page is copied when first written, and the
 *               file's page stays behind it), .bss anonymous RW zeroes.
 * The write view is unmapped first, before anything is mapped executable,
 * and the file closed last: no writable alias of code ever coexists with
 * an executable mapping of it.  Private mappings, not shared ones, so that
 * a debugger can still plant breakpoints (ptrace writes to private
 * mappings by copying the page; it cannot write a shared read-only one),
 * and data written at run time stays this process's (rw-p).
 * Hosts that forbid making written memory executable (the kernel's
 * PR_SET_MDWE, systemd's MemoryDenyWriteExecute=yes, which refuses
 * mprotect to PROT_EXEC altogether) accept every step. */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "codemem/codemem_backend.h"

#ifndef MFD_CLOEXEC
#define MFD_CLOEXEC 0x0001u
#endif
#ifndef MFD_EXEC
#define MFD_EXEC 0x0010u /* Linux 6.3: says so explicitly where vm.memfd_noexec asks */
#endif

static int code_file(void)
{
    int fd = memfd_create("elfjit-code", MFD_CLOEXEC | MFD_EXEC);
    if (fd < 0 && errno == EINVAL) /* a kernel before 6.3 */
        fd = memfd_create("elfjit-code", MFD_CLOEXEC);
    return fd;
}

static ej_status dual_map(ej__codemem *cm, uint8_t *run, size_t size, ej__err *err)
{
    const char *what;
    if ((cm->fd = code_file()) < 0) {
        what = "create a memory file (memfd_create)";
        goto fail;
    }
    if (ftruncate(cm->fd, (off_t)size) != 0) {
        what = "size the memory file";
        goto fail;
    }
    void *w = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, cm->fd, 0);
    if (w == MAP_FAILED) {
        what = "map the write view";
        goto fail;
    }
    cm->wmap = cm->w = w;
    /* Over the placed reservation: the run view, readable only. */
    if (mmap(run, size, PROT_READ, MAP_PRIVATE | MAP_FIXED, cm->fd, 0) == MAP_FAILED) {
        what = "map the run view";
        goto fail;
    }
    return EJ_OK;
fail:
    return ej__fail(err, errno == ENOMEM ? EJ_NOMEM : EJ_MAP,
                    "dual-mapped code memory (%zu bytes): cannot %s: %s", size, what,
                    strerror(errno));
}

static ej_status dual_protect(ej__codemem *cm, const ej__region *r, ej__err *err)
{
    uint8_t *at = (uint8_t *)(uintptr_t)(cm->v + r->off);
    void *got;
    switch (r->prot) {
    case EJ_PROT_R:
        return EJ_OK; /* as mapped */
    case EJ_PROT_RX:
        got = mmap(at, r->len, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_FIXED, cm->fd,
                   (off_t)r->off);
        break;
    default:
        /* .bss: fresh anonymous zeroes.  Data: the private mapping of the
         * file, made writable (no copy now; a page is copied when the
         * program first writes it). */
        if (r->zero)
            got = mmap(at, r->len, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
        else
            got = mprotect(at, r->len, PROT_READ | PROT_WRITE) == 0 ? at : MAP_FAILED;
        break;
    }
    if (got != MAP_FAILED)
        return EJ_OK;
    return ej__fail(err, errno == ENOMEM ? EJ_NOMEM : EJ_MAP,
                    "cannot map %llu bytes at %p %s in the run view: %s",
                    (unsigned long long)r->len, (void *)at,
                    r->prot == EJ_PROT_RW ? "writable" : "executable", strerror(errno));
}

/* The write view goes before any text is mapped executable: a shared
 * writable view and an executable mapping of the same pages must never
 * coexist, not even for the few instructions between two system calls.
 * A failed unmap fails the publish (the image is then released). */
static ej_status dual_seal(ej__codemem *cm, ej__err *err)
{
    if (munmap(cm->wmap, cm->size) != 0)
        return ej__fail(err, EJ_MAP, "cannot unmap the write view of dual-mapped code memory "
                        "(%zu bytes at %p): %s", cm->size, (void *)cm->wmap, strerror(errno));
    cm->wmap = cm->w = NULL;
    return EJ_OK;
}

static void dual_finish(ej__codemem *cm)
{
    close(cm->fd);
    cm->fd = -1;
}

const ej__cm_backend ej__cm_dual = {"dual map", dual_map, ej__codemem_read_file, dual_seal,
                                    dual_protect, dual_finish};
