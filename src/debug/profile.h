/* Profiler maps for loaded code (perf_map.c, jitdump.c): what a link
 * records so that `perf report` names the functions of a module.  Called
 * by the link driver (src/link/link.c) after the module is published, and
 * at unload before it is unmapped.  Thread-safe: several modules may be
 * recorded from several threads at once, and records never interleave. */
#ifndef EJ_DEBUG_PROFILE_H
#define EJ_DEBUG_PROFILE_H

#include "common/common.h"

/* The perf map (perf_map.c) and jitdump (jitdump.c) registrars are
 * declared with the others (register/register.h): ej__reg_add_PERF_MAP
 * appends one line per function ("START SIZE NAME", hex, as perf expects)
 * to /tmp/perf-PID.map, all of a module's lines in one write(2) to a file
 * opened O_APPEND, so that concurrent modules never interleave;
 * ej__reg_add_JITDUMP adds one JIT_CODE_LOAD record per function, with
 * its code bytes, to the process's /tmp/jit-PID.dump (created on first
 * use with its header, and mapped PROT_READ|PROT_EXEC once so that `perf
 * record` sees the marker mmap and `perf inject --jit` finds the file),
 * records written whole under a process-wide lock.  Both: errors EJ_IO
 * (the file, named with the system's reason), EJ_NOMEM. */

/* Opens NAME ("perf-PID.map") in the profiler directory (/tmp, or
 * ELFJIT_PROFILE_DIR) for writing with FLAGS (O_WRONLY|O_APPEND, ...),
 * refusing symlinks, other users' files and files with other links
 * (profile_file.c); FRESH creates it anew (O_EXCL, replacing a stale file
 * of ours).  PATH (LEN bytes) receives the path, for messages.
 * Errors: EJ_IO, naming the path and the reason. */
ej_status ej__profile_open(const char *name, int flags, int fresh, char *path, size_t len,
                           int *fd, ej__err *err);

/* Closes the process's jitdump file (at exit, or in tests). */
void ej__jitdump_close(void);

#endif
