/* Opening the profiler files (perf_map.c, jitdump.c) safely.
 *
 * Their names are predictable (/tmp/perf-PID.map, /tmp/jit-PID.dump) in a
 * directory everyone may write, so another user can plant a symlink or a
 * hard link there before the process opens the file; on a host with
 * fs.protected_symlinks=0 following it would truncate or append to the
 * link's target with this process's rights.  So:
 *   - O_NOFOLLOW: a symlink at the name is refused, never followed;
 *   - a file created now is created with O_EXCL;
 *   - an existing file is used only when it is a regular file, owned by
 *     this process's effective user, with exactly one link (fstat on the
 *     descriptor, so what is checked is what is written);
 *   - ELFJIT_PROFILE_DIR names a private directory to use instead of /tmp
 *     (perf finds a jitdump file through its mmap wherever it is; `perf
 *     report` reads perf maps only from /tmp); it must be a directory owned
 *     by the effective user that no one else may write. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "debug/profile.h"

static ej_status profile_dir(const char **dir, ej__err *err)
{
    const char *d = getenv("ELFJIT_PROFILE_DIR");
    struct stat st;
    *dir = "/tmp";
    if (!d || !*d)
        return EJ_OK;
    if (stat(d, &st) != 0)
        return ej__fail(err, EJ_IO, "ELFJIT_PROFILE_DIR=%s: %s", d, strerror(errno));
    if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & (S_IWGRP | S_IWOTH)))
        return ej__fail(err, EJ_IO, "ELFJIT_PROFILE_DIR=%s: not a directory of this user's that "
                        "only this user may write (mode %o, owner %ld)", d,
                        (unsigned)(st.st_mode & 07777), (long)st.st_uid);
    *dir = d;
    return EJ_OK;
}

/* FD's file is one this process may write: see the file comment. */
static ej_status check_owned(int fd, const char *path, ej__err *err)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return ej__fail(err, EJ_IO, "%s: cannot check the file: %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() || st.st_nlink != 1)
        return ej__fail(err, EJ_IO, "%s: refusing to write: not a regular file of this user's "
                        "with a single link (owner %ld, %ld links); remove it", path,
                        (long)st.st_uid, (long)st.st_nlink);
    return EJ_OK;
}

ej_status ej__profile_open(const char *name, int flags, int fresh, char *path, size_t len,
                           int *fd, ej__err *err)
{
    const char *dir;
    ej_status st = profile_dir(&dir, err);
    if (st != EJ_OK)
        return st;
    snprintf(path, len, "%s/%s", dir, name);
    flags |= O_CREAT | O_NOFOLLOW | O_CLOEXEC;
    *fd = open(path, flags | (fresh ? O_EXCL : 0), 0644);
    const char *why = NULL;
    if (*fd < 0 && fresh && errno == EEXIST) {
        /* Left by an earlier process with the same pid: replaced, if it
         * is ours (unlink removes a planted link, not its target). */
        struct stat lst;
        if (lstat(path, &lst) != 0)
            why = strerror(errno);
        else if (S_ISLNK(lst.st_mode))
            why = "it is a symbolic link";
        else if (S_ISDIR(lst.st_mode))
            why = strerror(EISDIR);
        else if (!S_ISREG(lst.st_mode) || lst.st_uid != geteuid())
            why = "it exists and is not a regular file of this user's";
        else if (unlink(path) != 0 || (*fd = open(path, flags | O_EXCL, 0644)) < 0)
            why = strerror(errno);
    } else if (*fd < 0) {
        why = errno == ELOOP ? "it is a symbolic link" : strerror(errno);
    }
    if (*fd < 0)
        return ej__fail(err, EJ_IO, "%s: cannot %s: %s", path,
                        fresh ? "create it anew" : "create or open it", why);
    if ((st = check_owned(*fd, path, err)) != EJ_OK) {
        close(*fd);
        *fd = -1;
    }
    return st;
}
