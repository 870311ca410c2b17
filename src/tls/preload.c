/* A shared object that, preloaded, raises the alignment of the C library's
 * static TLS (elfjit.h, ej_static_tls_preload): the loader aligns the
 * initial threads' static TLS, and every later thread pointer, to the
 * largest alignment of the modules it loads at start-up, while blocks
 * loaded later may never ask for more. */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "reloc/reloc.h"
#include "tls/tlsmod.h"

EJ_API ej_status ej_static_tls_preload(uint64_t align, int *fd)
{
    ej__err err;
    if (!fd || !ej__is_pow2(align) || align > 65536)
        return EJ_INVAL;
    *fd = memfd_create("elfjit-tls-align", 0);
    if (*fd < 0)
        return errno == ENOMEM ? EJ_NOMEM : EJ_IO;
    /* One byte of TLS at the alignment: the cost is the padding. */
    const uint8_t zero = 0;
    ej__tls_block block = {&zero, 0, 1, align};
    const ej__arch *a = ej__host_arch();
    uint64_t table = 0;
    ej_status st = ej__tls_module_write(*fd, a->machine, &a->tls, &block, NULL, 0, &table, &err);
    if (st != EJ_OK) {
        close(*fd);
        *fd = -1;
    }
    return st;
}
