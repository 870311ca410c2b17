/* libelf's errors as elfjit statuses.  libelf numbers its errors with a
 * private enumeration and offers only elf_errno() and elf_errmsg(): its
 * out-of-memory number is found once by asking elf_errmsg() for every
 * number, as a program linked to any libelf version can. */
#include <libelf.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "elf/elferr.h"

/* libelf's number for "out of memory", or -1 when none says so. */
static int nomem_number(void)
{
    static atomic_int cached = 0; /* 0: not looked up yet (0 is "no error") */
    int n = atomic_load_explicit(&cached, memory_order_relaxed);
    if (n)
        return n;
    n = -1;
    const char *unknown = elf_errmsg(1 << 20); /* past the last: "unknown error" */
    for (int i = 1; i < 256; i++) {
        const char *m = elf_errmsg(i);
        if (!m || (unknown && strcmp(m, unknown) == 0 && i > 1))
            break;
        if (strcmp(m, "out of memory") == 0) {
            n = i;
            break;
        }
    }
    atomic_store_explicit(&cached, n, memory_order_relaxed);
    return n;
}

static ej_status elf_failv(ej__err *err, ej_status status, int code, const char *fmt,
                           va_list ap)
{
    const char *why = elf_errmsg(code ? code : -1);
    char what[EJ_ERRMSG_MAX];
    vsnprintf(what, sizeof what, fmt, ap);
    if (code && code == nomem_number())
        status = EJ_NOMEM;
    return ej__fail(err, status, "%s: %s", what, why ? why : "unknown libelf error");
}

ej_status ej__elf_fail(ej__err *err, ej_status status, const char *fmt, ...)
{
    int code = elf_errno();
    va_list ap;
    va_start(ap, fmt);
    ej_status st = elf_failv(err, status, code, fmt, ap);
    va_end(ap);
    return st;
}

ej_status ej__elf_fail_code(ej__err *err, ej_status status, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ej_status st = elf_failv(err, status, code, fmt, ap);
    va_end(ap);
    return st;
}
