/* What the two fault drivers (fault_api.c, fault_tool.c) share: the
 * expected output of the fixture and the message checks. */
#ifndef EJ_FAULT_COMMON_H
#define EJ_FAULT_COMMON_H

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fault_shim.h"
#include "fixtures/fx_compute.h"

/* The families' names, in enum fault_family order. */
static const char *const fault_family_names[FAULT_COUNT] = {
    "alloc", "mmap", "mprotect", "munmap", "memfd", "io", "membarrier", "libelf",
};

static inline int fault_family_from_name(const char *name)
{
    for (int i = 0; i < FAULT_COUNT; i++)
        if (strcmp(name, fault_family_names[i]) == 0)
            return i;
    return -1;
}

/* fx_compute(K) as the loaded module computes it (WIDE: fx_lib.o, not
 * fx_lib_plain.o). */
static inline int fault_expected_compute(int k, int wide)
{
    static const int sorted[8] = {1, 2, 3, 5, 6, 7, 8, 9}; /* FX_TABLE, sorted */
    return fx_expected_value(k, FX_CTOR_VALUE, sorted, wide);
}

/* Case-insensitive strstr. */
static inline int fault_contains(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++) {
        size_t i = 0;
        while (i < n && hay[i] && tolower((unsigned char)hay[i]) == tolower((unsigned char)needle[i]))
            i++;
        if (i == n)
            return 1;
    }
    return 0;
}

/* A readable one-line message: non-empty, printable, no line break. */
static inline int fault_readable(const char *msg)
{
    if (!msg || !*msg)
        return 0;
    for (const unsigned char *p = (const unsigned char *)msg; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return 0;
    return 1;
}

/* Does MSG say what failed?  Its text must contain the injected errno's
 * strerror (e.g. "Cannot allocate memory") or a word naming the family. */
static inline int fault_names_failure(int family, int err, const char *msg)
{
    static const char *const words[][6] = {
        /* FAULT_ALLOC */ {"memory", NULL},
        /* FAULT_MMAP */ {"memory", "map", "reserve", NULL},
        /* FAULT_MPROTECT */ {"protect", "permission", NULL},
        /* FAULT_MUNMAP */ {"unmap", NULL},
        /* FAULT_MEMFD */ {"memory file", "memfd", "open files", NULL},
        /* FAULT_IO */ {"read", "write", "open", "input/output", "stat", NULL},
        /* FAULT_MEMBARRIER */ {"synchronis", "membarrier", "memory", NULL},
        /* FAULT_LIBELF */ {"memory", NULL},
    };
    if (err && fault_contains(msg, strerror(err)))
        return 1;
    if (family < 0 || family >= (int)(sizeof words / sizeof words[0]))
        return 0;
    for (int i = 0; words[family][i]; i++)
        if (fault_contains(msg, words[family][i]))
            return 1;
    return 0;
}

#endif
