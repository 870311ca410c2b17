/* The perf map (/tmp/perf-PID.map) is the simplest way to let `perf
 * report` name loaded code: perf reads it when it reports, with no
 * cooperation at record time.  Several threads may link at once, and perf
 * parses the file line by line, so each module's lines must land in the
 * file whole: they are built in one buffer and appended with one write(2)
 * to a file opened O_APPEND, which needs no lock.  Linux performs an
 * O_APPEND write to a regular file as one atomic "seek to end + write";
 * only a short write (which Linux does not do for regular files short of
 * a full disk or a signal) could let another writer's lines in between,
 * and the loop below then finishes the rest. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "debug/debug.h"
#include "debug/profile.h"

/* Longest line for F: two 16-digit hex numbers, two spaces, the name and
 * the newline. */
static size_t line_max(const ej__image *img, const ej__func *f)
{
    return 16 + 1 + 16 + 1 + strlen(img->names + f->name) + 1;
}

/* Writes F's line at P (room for line_max bytes plus a NUL) and returns
 * its length.  A name with a newline in it would break perf's line-based
 * parser, so such characters become '?'. */
static size_t format_line(char *p, const ej__image *img, const ej__func *f)
{
    uint64_t size = f->size ? f->size : 1; /* perf ignores empty symbols */
    int n = sprintf(p, "%" PRIx64 " %" PRIx64 " %s\n", f->addr, size, img->names + f->name);
    for (int i = 0; i < n - 1; i++)
        if (p[i] == '\n' || p[i] == '\r')
            p[i] = '?';
    return (size_t)n;
}

/* M's lines in one malloc()ed buffer; *LEN is their total length. */
static char *format_module(const ej__image *img, size_t *len, ej__err *err)
{
    size_t cap = 1;
    for (size_t i = 0; i < img->nfuncs; i++)
        if (ej__add_overflow(cap, line_max(img, &img->funcs[i]), &cap))
            cap = SIZE_MAX;
    char *buf = cap == SIZE_MAX ? NULL : malloc(cap);
    if (!buf) {
        ej__fail(err, EJ_NOMEM, "out of memory for the perf map lines of %zu functions",
                 img->nfuncs);
        return NULL;
    }
    size_t n = 0;
    for (size_t i = 0; i < img->nfuncs; i++)
        n += format_line(buf + n, img, &img->funcs[i]);
    *len = n;
    return buf;
}

/* Writes all of BUF to FD, resuming after signals and short writes. */
static int write_all(int fd, const char *buf, size_t len)
{
    while (len) {
        ssize_t w = write(fd, buf, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return w < 0 ? errno : EIO;
        buf += w;
        len -= (size_t)w;
    }
    return 0;
}

ej_status ej__reg_add_PERF_MAP(const ej__image *img, void *owner, void **slot, ej__err *err)
{
    (void)owner;
    (void)slot;
    if (!img->nfuncs)
        return EJ_OK;
    size_t len;
    char *buf = format_module(img, &len, err);
    if (!buf)
        return EJ_NOMEM;
    char name[64], path[4200];
    snprintf(name, sizeof name, "perf-%ld.map", (long)getpid());
    int fd;
    ej_status st = ej__profile_open(name, O_WRONLY | O_APPEND, 0, path, sizeof path, &fd, err);
    if (st == EJ_OK) {
        int e = write_all(fd, buf, len);
        if (e)
            st = ej__fail(err, EJ_IO, "%s: cannot write the perf map: %s", path, strerror(e));
        close(fd);
    }
    free(buf);
    return st;
}

/* perf reads the map after the process is gone: lines are never taken
 * back. */
void ej__reg_remove_PERF_MAP(const ej__image *img, void *owner, void **slot)
{
    (void)img;
    (void)owner;
    (void)slot;
}
