/* The image cache (ej_linker_set_cache): a directory of images, one per
 * set of inputs and options, so that running the same objects again
 * costs an image load, not a link.
 *
 * With a cache, the linker only notes its inputs as they are added
 * (their paths and identities); ej_linker_link then looks for the image
 * named by the key, and loads it when it is there and passes its checks.
 * Otherwise it adds the inputs for real, saves the image into the cache
 * (a temporary file renamed into place: concurrent processes see the old
 * image, the new one, or none, never a part) and loads what it wrote.
 * An entry that fails its checks is removed and rebuilt.  After a write,
 * the directory is trimmed to its size bound, least recently used first
 * (a hit touches its entry's access time).
 *
 * The key: this elfjit's version, the machine, the libraries, and for
 * each input in order its path, flags and identity: device, inode, size
 * and modification and change times in nanoseconds (the change time moves
 * whenever the file's bytes do, and cannot be set back).  A stat per
 * input: hashing their bytes would cost as much as loading the image. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "aot/aot.h"
#include "link/linker.h"

struct ej__cache {
    char *dir;
    uint64_t max_bytes;
    ej__cache_input *in;
    size_t n, cap;
    uLong crc, adl; /* the key so far */
};

static void key_add(ej__cache *c, const void *p, size_t n)
{
    c->crc = crc32(c->crc, p, (uInt)n);
    c->adl = adler32(c->adl, p, (uInt)n);
}

EJ_API ej_status ej_linker_set_cache(ej_linker *lk, const char *dir, uint64_t max_bytes)
{
    if (!lk || !dir)
        return lk ? ej__fail(&lk->err, EJ_INVAL, "ej_linker_set_cache: NULL argument") : EJ_INVAL;
    if (lk->linked || lk->nobjs || lk->narchives || lk->image || lk->cache)
        return ej__fail(&lk->err, EJ_STATE, "ej_linker_set_cache: set before adding inputs, once");
    struct stat st;
    if (stat(dir, &st) != 0 && (errno != ENOENT || mkdir(dir, 0755) != 0) && errno != EEXIST)
        return ej__fail(&lk->err, EJ_IO, "%s: cannot create the cache directory: %s", dir,
                        strerror(errno));
    ej__cache *c = calloc(1, sizeof *c);
    if (!c || !(c->dir = strdup(dir))) {
        free(c);
        return ej__fail(&lk->err, EJ_NOMEM, "out of memory for the cache");
    }
    c->max_bytes = max_bytes;
    c->crc = crc32(0, NULL, 0);
    c->adl = adler32(0, NULL, 0);
    key_add(c, EJ_VERSION_STRING, sizeof EJ_VERSION_STRING);
    lk->cache = c;
    return EJ_OK;
}

void ej__cache_free(ej__cache *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n; i++)
        free(c->in[i].path);
    free(c->in);
    free(c->dir);
    free(c);
}

ej_status ej__cache_note(ej_linker *lk, const char *path, int archive, unsigned flags)
{
    ej__cache *c = lk->cache;
    struct stat st;
    if (stat(path, &st) != 0)
        return ej__fail(&lk->err, errno == ENOMEM ? EJ_NOMEM : EJ_IO, "%s: cannot open: %s", path,
                        strerror(errno));
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 16;
        ej__cache_input *v = realloc(c->in, cap * sizeof *v);
        if (!v)
            return ej__fail(&lk->err, EJ_NOMEM, "out of memory noting %s", path);
        c->in = v;
        c->cap = cap;
    }
    char *copy = strdup(path);
    if (!copy)
        return ej__fail(&lk->err, EJ_NOMEM, "out of memory noting %s", path);
    c->in[c->n++] = (ej__cache_input){copy, archive, flags};
    uint64_t id[8] = {(uint64_t)st.st_dev, (uint64_t)st.st_ino, (uint64_t)st.st_size,
                      (uint64_t)st.st_mtim.tv_sec, (uint64_t)st.st_mtim.tv_nsec,
                      (uint64_t)st.st_ctim.tv_sec, (uint64_t)st.st_ctim.tv_nsec,
                      (uint64_t)archive << 32 | flags};
    key_add(c, path, strlen(path) + 1);
    key_add(c, id, sizeof id);
    return EJ_OK;
}

/* DIR/<key>.eji for the inputs noted and LK's other options. */
static void entry_path(const ej_linker *lk, char *buf, size_t len)
{
    ej__cache *c = lk->cache;
    uLong crc = c->crc, adl = c->adl;
    uint16_t machine = ej__host_arch()->machine;
    crc = crc32(crc, (const Bytef *)&machine, sizeof machine);
    for (size_t i = 0; i < lk->nlibs; i++)
        crc = crc32(crc, (const Bytef *)lk->lib_names[i], (uInt)strlen(lk->lib_names[i]) + 1);
    adl = adler32(adl, (const Bytef *)&lk->nlibs, sizeof lk->nlibs);
    snprintf(buf, len, "%s/%08lx%08lx.eji", c->dir, crc & 0xffffffffu, adl & 0xffffffffu);
}

/* Least recently used first, until the entries fit in MAX_BYTES. */
typedef struct entry {
    char name[64];
    uint64_t size;
    struct timespec used;
} entry;

static int by_use(const void *a, const void *b)
{
    const entry *x = a, *y = b;
    if (x->used.tv_sec != y->used.tv_sec)
        return x->used.tv_sec < y->used.tv_sec ? -1 : 1;
    return x->used.tv_nsec < y->used.tv_nsec ? -1 : x->used.tv_nsec > y->used.tv_nsec;
}

static void trim(const ej__cache *c, const char *keep)
{
    if (!c->max_bytes)
        return;
    DIR *d = opendir(c->dir);
    if (!d)
        return;
    entry *v = NULL;
    size_t n = 0, cap = 0;
    uint64_t total = 0;
    int dfd = dirfd(d);
    for (struct dirent *e; (e = readdir(d));) {
        size_t l = strlen(e->d_name);
        struct stat st;
        if (l < 5 || l >= sizeof v->name || strcmp(e->d_name + l - 4, ".eji") != 0 ||
            fstatat(dfd, e->d_name, &st, 0) != 0)
            continue;
        if (n == cap) {
            entry *w = realloc(v, (cap = cap ? cap * 2 : 64) * sizeof *v);
            if (!w)
                break;
            v = w;
        }
        memcpy(v[n].name, e->d_name, l + 1);
        v[n].size = (uint64_t)st.st_size;
        v[n].used = st.st_atim.tv_sec > st.st_mtim.tv_sec ? st.st_atim : st.st_mtim;
        total += v[n++].size;
    }
    qsort(v, n, sizeof *v, by_use);
    const char *keep_name = strrchr(keep, '/') ? strrchr(keep, '/') + 1 : keep;
    for (size_t i = 0; i < n && total > c->max_bytes; i++) {
        if (strcmp(v[i].name, keep_name) == 0)
            continue;
        if (unlinkat(dfd, v[i].name, 0) == 0 || errno == ENOENT)
            total -= v[i].size;
    }
    free(v);
    closedir(d);
}

/* The inputs noted, added for real (the cache missed). */
static ej_status add_inputs(ej_linker *lk)
{
    ej__cache *c = lk->cache;
    lk->cache = NULL; /* (so that the adds read the files, */
    lk->linked = 0;   /* which only a linker that has not linked takes) */
    ej_status st = EJ_OK;
    for (size_t i = 0; i < c->n && st == EJ_OK; i++)
        st = c->in[i].archive ? ej_linker_add_archive(lk, c->in[i].path, c->in[i].flags)
                              : ej_linker_add_file(lk, c->in[i].path);
    lk->cache = c;
    return st;
}

ej_status ej__cache_link(ej_linker *lk, ej_module **out)
{
    char path[4096];
    entry_path(lk, path, sizeof path);
    ej_status st = ej__aot_open(path, &lk->image, &lk->err);
    if (st == EJ_OK) {
        struct timespec now[2] = {{0, UTIME_NOW}, {0, UTIME_OMIT}};
        utimensat(AT_FDCWD, path, now, 0); /* (for the eviction order) */
        return ej__aot_load(lk, lk->image, out);
    }
    if (st == EJ_BADELF || st == EJ_UNSUPPORTED) {
        ej__note(lk, "%s: %s: rebuilt", path, lk->err.msg);
        unlink(path);
    }
    ej__err_clear(&lk->err);
    if ((st = add_inputs(lk)) != EJ_OK)
        return st;
    /* Saved by a link of its own, then loaded as any image: the run always
     * comes from what the cache holds. */
    if ((st = ej_linker_save_image(lk, path, NULL, 0)) != EJ_OK)
        return st;
    trim(lk->cache, path);
    if ((st = ej__aot_open(path, &lk->image, &lk->err)) != EJ_OK)
        return st;
    return ej__aot_load(lk, lk->image, out);
}
