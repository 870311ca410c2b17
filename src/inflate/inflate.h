/* Inflating a zlib stream whose inflated size is known (a compressed
 * image's bytes and description, src/aot), in one call, into memory the
 * caller owns.
 *
 * One of two backends is built, as CMake finds the libraries: libdeflate
 * (libdeflate.c; about 2.7 times zlib's speed on code: 580 against 210
 * MB/s measured on sqlite) when pkg-config finds it, else zlib (zlib.c).
 * Both read the same format (RFC 1950), so an image inflates the same
 * either way. */
#ifndef EJ_INFLATE_INFLATE_H
#define EJ_INFLATE_INFLATE_H

#include <stddef.h>

typedef enum ej__inflate_result {
    EJ_INFLATE_OK,
    EJ_INFLATE_BAD,   /* not a zlib stream, damaged, or not exactly DSTLEN bytes */
    EJ_INFLATE_NOMEM, /* the inflater's own state could not be allocated */
} ej__inflate_result;

/* Inflates the zlib stream SRC[0, SRCLEN) into exactly DSTLEN bytes at
 * DST (which may be written whatever the result).  *WHY, when not NULL,
 * gets a short static reason on failure.  Thread-safe. */
ej__inflate_result ej__inflate(void *dst, size_t dstlen, const void *src, size_t srclen,
                               const char **why);

/* Which backend this build has: "libdeflate" or "zlib". */
const char *ej__inflate_kind(void);

#endif /* EJ_INFLATE_INFLATE_H */
