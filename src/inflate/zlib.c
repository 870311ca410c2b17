/* ej__inflate by zlib, where libdeflate is not installed. */
#include <stdint.h>
#include <string.h>
#include <zlib.h>

#include "inflate/inflate.h"

ej__inflate_result ej__inflate(void *dst, size_t dstlen, const void *src, size_t srclen,
                               const char **why)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit(&zs) != Z_OK) {
        if (why)
            *why = "out of memory";
        return EJ_INFLATE_NOMEM;
    }
    zs.next_in = (Bytef *)(uintptr_t)src;
    zs.next_out = dst;
    /* (zlib counts in uInt: fed and drained in pieces below 4 GiB.) */
    const size_t piece = (size_t)1 << 30;
    size_t in_left = srclen, out_left = dstlen;
    int rc;
    do {
        if (!zs.avail_in) {
            zs.avail_in = (uInt)(in_left < piece ? in_left : piece);
            in_left -= zs.avail_in;
        }
        if (!zs.avail_out) {
            zs.avail_out = (uInt)(out_left < piece ? out_left : piece);
            out_left -= zs.avail_out;
        }
        rc = inflate(&zs, Z_NO_FLUSH); /* Z_BUF_ERROR: no progress possible */
    } while (rc == Z_OK);
    int full = zs.avail_out == 0 && out_left == 0;
    inflateEnd(&zs);
    if (rc == Z_STREAM_END && full)
        return EJ_INFLATE_OK;
    if (why)
        *why = rc == Z_MEM_ERROR ? "out of memory" : rc == Z_STREAM_END ? "shorter than recorded"
               : full ? "longer than recorded" : "damaged stream";
    return rc == Z_MEM_ERROR ? EJ_INFLATE_NOMEM : EJ_INFLATE_BAD;
}

const char *ej__inflate_kind(void)
{
    return "zlib";
}
