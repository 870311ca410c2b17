/* Failures reported by libelf, turned into elfjit's statuses and messages. */
#ifndef EJ_ELF_ELFERR_H
#define EJ_ELF_ELFERR_H

#include "common/common.h"

/* As ej__fail, with ": " and libelf's message for its last error
 * appended; the status is EJ_NOMEM instead of STATUS when libelf's error
 * is that it ran out of memory (libelf's own wording, "out of memory",
 * would otherwise come back under EJ_IO or EJ_BADELF).  Reads and clears
 * libelf's per-thread error. */
ej_status ej__elf_fail(ej__err *err, ej_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* As ej__elf_fail for libelf error number CODE, already read with
 * elf_errno() (0: libelf's last error). */
ej_status ej__elf_fail_code(ej__err *err, ej_status status, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
