/* Library search for `elfjit run -l NAME` (libsearch.h). */
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "libsearch.h"

/* The system's library directories, as the dynamic loader and ld search:
 * the multiarch ones of this machine's triple only (another machine's
 * libraries sit beside them). */
#ifndef EJ_MULTIARCH
#define EJ_MULTIARCH "*-linux-gnu*"
#endif
static const char *const system_dirs[] = {"/usr/local/lib", "/lib/" EJ_MULTIARCH,
                                          "/usr/lib/" EJ_MULTIARCH, "/lib64", "/usr/lib64",
                                          "/lib", "/usr/lib"};

static int versioned_first(const void *a, const void *b)
{
    return strverscmp(*(char *const *)b, *(char *const *)a);
}

/* The first file matching PATTERN (the newest version first), in OUT. */
static int first_match(const char *pattern, char *out, size_t len)
{
    glob_t g = {0};
    int found = glob(pattern, 0, NULL, &g) == 0 && g.gl_pathc > 0;
    if (found) {
        if (g.gl_pathc > 1)
            qsort(g.gl_pathv, g.gl_pathc, sizeof *g.gl_pathv, versioned_first);
        snprintf(out, len, "%s", g.gl_pathv[0]);
    }
    globfree(&g);
    return found;
}

/* A development libNAME.so that is a GNU ld script (glibc's libm.so says
 * "GROUP ( /lib/x86_64-linux-gnu/libm.so.6 AS_NEEDED ( ... ) )"): the
 * first shared object it names. */
static ej_status add_script(ej_linker *lk, const char *path)
{
    char text[4096];
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(text, 1, sizeof text - 1, f) : 0;
    if (f)
        fclose(f);
    text[n] = '\0';
    char *p = strstr(text, "GROUP") ? strstr(text, "GROUP") : strstr(text, "INPUT");
    char *lib = p ? strchr(p, '/') : NULL;
    if (!lib)
        return EJ_NOTFOUND;
    lib[strcspn(lib, " \t\n)")] = '\0';
    return ej_linker_add_library(lk, lib);
}

/* libNAME.so in DIR: a shared object, or a script naming one. */
static ej_status add_shared_in(ej_linker *lk, const char *dir, const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/lib%s.so", dir, name);
    if (!first_match(path, path, sizeof path))
        return EJ_NOTFOUND;
    ej_status st = ej_linker_add_library(lk, path);
    return st == EJ_NOTFOUND ? add_script(lk, path) : st;
}

static ej_status add_static_in(ej_linker *lk, const char *dir, const char *name, unsigned flags)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/lib%s.a", dir, name);
    if (!first_match(path, path, sizeof path))
        return EJ_NOTFOUND;
    return ej_linker_add_archive(lk, path, flags);
}

/* Without a development file: the versioned libNAME.so.N, small N
 * through the dynamic loader's own cache, then any version found in the
 * system's directories (reading big directories is slow: last). */
static ej_status add_versioned(ej_linker *lk, const char *name)
{
    char path[4096];
    for (int v = 0; v < 16; v++) {
        snprintf(path, sizeof path, "lib%s.so.%d", name, v);
        if (ej_linker_add_library(lk, path) == EJ_OK)
            return EJ_OK;
    }
    for (size_t i = 0; i < sizeof system_dirs / sizeof *system_dirs; i++) {
        snprintf(path, sizeof path, "%s/lib%s.so.[0-9]*", system_dirs[i], name);
        if (first_match(path, path, sizeof path) && ej_linker_add_library(lk, path) == EJ_OK)
            return EJ_OK;
    }
    return EJ_NOTFOUND;
}

/* ST is final when it is anything but "not here". */
#define DONE(st) ((st) != EJ_NOTFOUND)

ej_status ej_tool_add_library(ej_linker *lk, const char *name, const char *const *dirs, int n,
                              int static_only, unsigned archive_flags)
{
    ej_status st;
    size_t len = strlen(name);
    if (strchr(name, '/') || strstr(name, ".so"))
        return len > 2 && strcmp(name + len - 2, ".a") == 0
                   ? ej_linker_add_archive(lk, name, archive_flags)
                   : ej_linker_add_library(lk, name);
    for (int i = 0; i < n; i++) {
        if (!static_only && DONE(st = add_shared_in(lk, dirs[i], name)))
            return st;
        if (DONE(st = add_static_in(lk, dirs[i], name, archive_flags)))
            return st;
    }
    if (!static_only) {
        char soname[4096];
        snprintf(soname, sizeof soname, "lib%s.so", name);
        if (ej_linker_add_library(lk, soname) == EJ_OK)
            return EJ_OK;
        for (size_t i = 0; i < sizeof system_dirs / sizeof *system_dirs; i++)
            if (DONE(st = add_shared_in(lk, system_dirs[i], name)))
                return st;
        if (add_versioned(lk, name) == EJ_OK)
            return EJ_OK;
    }
    for (size_t i = 0; i < sizeof system_dirs / sizeof *system_dirs; i++)
        if (DONE(st = add_static_in(lk, system_dirs[i], name, archive_flags)))
            return st;
    if (!static_only) {
        /* Nothing found: the loader's own message for the plain name. */
        char soname[4096];
        snprintf(soname, sizeof soname, "lib%s.so", name);
        return ej_linker_add_library(lk, soname);
    }
    return EJ_NOTFOUND;
}
