/* ej__inflate by libdeflate: whole-buffer inflating, which is all an image
 * needs, at several times zlib's speed. */
#include <libdeflate.h>

#include "inflate/inflate.h"

ej__inflate_result ej__inflate(void *dst, size_t dstlen, const void *src, size_t srclen,
                               const char **why)
{
    struct libdeflate_decompressor *d = libdeflate_alloc_decompressor();
    if (!d) {
        if (why)
            *why = "out of memory";
        return EJ_INFLATE_NOMEM;
    }
    size_t got = 0;
    enum libdeflate_result r = libdeflate_zlib_decompress(d, src, srclen, dst, dstlen, &got);
    libdeflate_free_decompressor(d);
    if (r == LIBDEFLATE_SUCCESS && got == dstlen)
        return EJ_INFLATE_OK;
    if (why)
        *why = r == LIBDEFLATE_INSUFFICIENT_SPACE ? "longer than recorded"
               : r == LIBDEFLATE_SUCCESS || r == LIBDEFLATE_SHORT_OUTPUT ? "shorter than recorded"
                                                                         : "damaged stream";
    return EJ_INFLATE_BAD;
}

const char *ej__inflate_kind(void)
{
    return "libdeflate";
}
