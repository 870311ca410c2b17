/* Thread-local variables of other modules and errno, for test_tls.c.
 * Built with -fPIC -DHOST_IE (initial-exec by attribute) and with -fPIC
 * (general-dynamic), see tests/CMakeLists.txt.
 *   libtls            defined by libejtls.so (libtls.c), given to the
 *                     linker with ej_linker_add_library;
 *   ej_test_host_tls  defined by the test executable itself. */
#include <errno.h>
#include <stdlib.h>

#ifdef HOST_IE
#define ATTR __attribute__((tls_model("initial-exec")))
#else
#define ATTR
#endif

extern __thread int libtls ATTR;
extern __thread int ej_test_host_tls ATTR;

int libtls_get(void) { return libtls; }
int libtls_bump(void) { return ++libtls; }
int *libtls_addr(void) { return &libtls; }
int hosttls_get(void) { return ej_test_host_tls; }
int hosttls_bump(void) { return ++ej_test_host_tls; }
int *hosttls_addr(void) { return &ej_test_host_tls; }

/* strtol of S into *OUT; returns the errno strtol left, as the module
 * sees it. */
int strtol_errno(const char *s, long *out)
{
    errno = 0;
    *out = strtol(s, NULL, 10);
    return errno;
}
