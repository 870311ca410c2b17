/* Internal definitions shared by every layer: export macro, the error
 * record that carries a detailed message back to a handle, small helpers.
 * Internal symbols are prefixed ej__. */
#ifndef EJ_COMMON_H
#define EJ_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "elfjit/elfjit.h"

#define EJ_API __attribute__((visibility("default")))

#define EJ_ERRMSG_MAX 1024

/* Where a layer leaves the message for a failure; owned by a handle. */
typedef struct ej__err {
    ej_status status;
    char msg[EJ_ERRMSG_MAX];
} ej__err;

/* Records STATUS with a printf-style message in ERR and returns STATUS, so
 * a failing path reads `return ej__fail(err, EJ_BADELF, "...", ...);`. */
ej_status ej__fail(ej__err *err, ej_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefixes the message already in ERR with "PREFIX: " (used by outer
 * layers to add the object's name to a message from an inner one). */
void ej__err_prefix(ej__err *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

void ej__err_clear(ej__err *err);

/* Overflow-checked size arithmetic: return nonzero on overflow. */
static inline int ej__add_overflow(size_t a, size_t b, size_t *out)
{
    return __builtin_add_overflow(a, b, out);
}
static inline int ej__mul_overflow(size_t a, size_t b, size_t *out)
{
    return __builtin_mul_overflow(a, b, out);
}

static inline uint64_t ej__align_up(uint64_t v, uint64_t align)
{
    return align > 1 ? (v + align - 1) & ~(align - 1) : v;
}

static inline int ej__is_pow2(uint64_t v) { return v && !(v & (v - 1)); }

#define EJ_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif /* EJ_COMMON_H */
