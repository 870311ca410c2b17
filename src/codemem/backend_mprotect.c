/* The mprotect backend: the anonymous reservation is the write view and
 * the run view at once; publish turns its regions from RW into RX or R
 * with mprotect (RW to RX directly: never writable and executable). */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "codemem/codemem_backend.h"

static ej_status mp_map(ej__codemem *cm, uint8_t *run, size_t size, ej__err *err)
{
    (void)size;
    (void)err;
    cm->w = run;
    return EJ_OK;
}

static ej_status mp_fill_file(ej__codemem *cm, size_t off, size_t len, int fd, uint64_t foff,
                              ej__err *err)
{
    void *at = mmap(cm->w + off, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED, fd,
                    (off_t)foff);
    if (at == MAP_FAILED)
        return ej__fail(err, errno == ENOMEM ? EJ_NOMEM : EJ_MAP,
                        "cannot map %zu bytes of the image file at %p: %s", len,
                        (void *)(cm->w + off), strerror(errno));
    return EJ_OK;
}

static ej_status mp_protect(ej__codemem *cm, const ej__region *r, ej__err *err)
{
    static const int bits[] = {
        [EJ_PROT_R] = PROT_READ,
        [EJ_PROT_RW] = PROT_READ | PROT_WRITE,
        [EJ_PROT_RX] = PROT_READ | PROT_EXEC,
    };
    if (r->prot == EJ_PROT_RW)
        return EJ_OK; /* as reserved */
    uint8_t *at = cm->w + r->off;
    if (mprotect(at, r->len, bits[r->prot]) != 0)
        return ej__fail(err, EJ_MAP, "cannot protect %llu bytes at %p: %s%s",
                        (unsigned long long)r->len, (void *)at, strerror(errno),
                        r->prot == EJ_PROT_RX && (errno == EACCES || errno == EPERM)
                            ? " (this process may not make memory executable: "
                              "ELFJIT_CODEMEM=dual or ej_linker_set_code_memory)"
                            : "");
    return EJ_OK;
}

static ej_status mp_seal(ej__codemem *cm, ej__err *err)
{
    (void)cm;
    (void)err;
    return EJ_OK; /* one mapping: RW becomes RX in place, never both */
}

static void mp_finish(ej__codemem *cm)
{
    (void)cm;
}

const ej__cm_backend ej__cm_mprotect = {"mprotect", mp_map, mp_fill_file, mp_seal, mp_protect,
                                        mp_finish};
