/* The text buffer of descriptions (text.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/text.h"

void ej__text_add(ej__text *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (t->nomem || n < 0)
        return;
    if (t->len + (size_t)n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 1024;
        while (cap < t->len + (size_t)n + 1)
            cap *= 2;
        char *b = realloc(t->buf, cap);
        if (!b) {
            t->nomem = 1;
            return;
        }
        t->buf = b;
        t->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(t->buf + t->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    t->len += (size_t)n;
}

const char *ej__text_size(char *buf, size_t len, unsigned long long bytes)
{
    static const char *const units[] = {"bytes", "KiB", "MiB", "GiB"};
    int u = 0;
    double v = (double)bytes;
    while (u < 3 && v >= 1024) {
        v /= 1024;
        u++;
    }
    if (u == 0)
        snprintf(buf, len, "%llu bytes", bytes);
    else
        snprintf(buf, len, "%.*f %s", v < 10 ? 1 : 0, v, units[u]);
    return buf;
}
