/* Formatting of the detailed error message kept on a handle. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/common.h"

ej_status ej__fail(ej__err *err, ej_status status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    err->status = status;
    return status;
}

void ej__err_prefix(ej__err *err, const char *fmt, ...)
{
    char prefix[EJ_ERRMSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(prefix, sizeof prefix - 2, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    size_t plen = strlen(prefix);
    memcpy(prefix + plen, ": ", 3);
    plen += 2;
    /* Shift the old message right, truncating its tail if needed. */
    size_t old = strnlen(err->msg, sizeof err->msg - 1);
    if (plen + old >= sizeof err->msg)
        old = sizeof err->msg - 1 - plen;
    memmove(err->msg + plen, err->msg, old);
    memcpy(err->msg, prefix, plen);
    err->msg[plen + old] = '\0';
}

void ej__err_clear(ej__err *err)
{
    err->status = EJ_OK;
    err->msg[0] = '\0';
}
