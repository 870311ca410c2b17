/* The compiler runtime's static archives: what a normal link takes from
 * libgcc.a (helpers compilers call on their own and libgcc_s lacks, such
 * as aarch64's outline atomics) and libc_nonshared.a.  Opened by a link
 * only when a name is found nowhere else (most links never open them),
 * and closed with the linker: the image keeps copies of what it took. */
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "link/archives.h"

static int newest_first(const void *a, const void *b)
{
    return strverscmp(*(char *const *)b, *(char *const *)a);
}

/* The newest match of the patterns (NULL-terminated), into PATH. */
static int find_file(const char *const *patterns, char *path, size_t len)
{
    for (size_t i = 0; patterns[i]; i++) {
        glob_t g = {0};
        int found = glob(patterns[i], 0, NULL, &g) == 0 && g.gl_pathc > 0;
        if (found) {
            qsort(g.gl_pathv, g.gl_pathc, sizeof *g.gl_pathv, newest_first);
            snprintf(path, len, "%s", g.gl_pathv[0]);
        }
        globfree(&g);
        if (found)
            return 1;
    }
    return 0;
}

/* Where runtime archive K of machine A is: $ELFJIT_LIBGCC for libgcc.a,
 * else the compiler's directories (native, then cross), the C library's. */
static int runtime_path(const ej__arch *a, int k, char *path, size_t len)
{
    char p[4][256];
    const char *env = k == 0 ? getenv("ELFJIT_LIBGCC") : NULL;
    if (env && env[0]) {
        snprintf(path, len, "%s", env);
        return 1;
    }
    if (k == 0) {
        snprintf(p[0], sizeof p[0], "/usr/lib/gcc/%s/*/libgcc.a", a->triple);
        snprintf(p[1], sizeof p[1], "/usr/lib/gcc-cross/%s/*/libgcc.a", a->triple);
        snprintf(p[2], sizeof p[2], "/usr/local/lib/gcc/%s/*/libgcc.a", a->triple);
    } else {
        snprintf(p[0], sizeof p[0], "/usr/lib/%s/libc_nonshared.a", a->triple);
        snprintf(p[1], sizeof p[1], "/usr/%s/lib/libc_nonshared.a", a->triple);
        snprintf(p[2], sizeof p[2], "/usr/lib/libc_nonshared.a");
    }
    const char *patterns[] = {p[0], p[1], p[2], NULL};
    return find_file(patterns, path, len);
}

/* The index by name (the first member the index names wins). */
static int build_hash(ej__larchive *la)
{
    size_t cap = 64;
    while (cap < la->a->nindex * 2)
        cap <<= 1;
    if (!(la->hash = calloc(cap, sizeof *la->hash)))
        return -1;
    la->hash_cap = cap;
    for (size_t i = 0; i < la->a->nindex; i++) {
        const ej__arsym *e = &la->a->index[i];
        size_t j = ej__sym_hash(e->name) & (cap - 1);
        while (la->hash[j] && strcmp(la->hash[j]->name, e->name) != 0)
            j = (j + 1) & (cap - 1);
        if (!la->hash[j])
            la->hash[j] = e;
    }
    return 0;
}

/* Runtime archive K of LK's machine, opened on first use; NULL when there
 * is none or it cannot be read (the names it would have defined are then
 * undefined, as without it). */
static ej__larchive *runtime_archive(ej_linker *lk, int k)
{
    ej__larchive *la = &lk->runtime[k];
    if (!la->tried) {
        char path[512];
        ej__err err;
        la->tried = 1;
        if (runtime_path(lk->arch, k, path, sizeof path) &&
            ej__archive_open(path, &la->a, &err) == EJ_OK && build_hash(la) != 0) {
            ej__archive_free(la->a);
            la->a = NULL;
        }
    }
    return la->a ? la : NULL;
}

int ej__runtime_find(ej_linker *lk, const char *name, ej__larchive **out, uint64_t *member)
{
    uint32_t h = ej__sym_hash(name);
    for (int k = 0; k < EJ_RUNTIME_ARCHIVES; k++) {
        ej__larchive *la = runtime_archive(lk, k);
        if (!la)
            continue;
        for (size_t j = h & (la->hash_cap - 1); la->hash[j]; j = (j + 1) & (la->hash_cap - 1))
            if (strcmp(la->hash[j]->name, name) == 0) {
                *out = la;
                *member = la->hash[j]->member;
                return 1;
            }
    }
    return 0;
}

void ej__runtime_release(ej_linker *lk)
{
    for (int k = 0; k < EJ_RUNTIME_ARCHIVES; k++) {
        free(lk->runtime[k].loaded);
        free(lk->runtime[k].hash);
        ej__archive_free(lk->runtime[k].a);
    }
}
