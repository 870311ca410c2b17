/* libz.a: compress/uncompress round trip, a gzip stream through
 * deflateInit2/inflateInit2, crc32 and adler32. */
#include <stdio.h>
#include <string.h>
#include <zlib.h>

int main(void)
{
    static unsigned char text[20000], packed[30000], back[20000];
    for (size_t i = 0; i < sizeof text; i++)
        text[i] = (unsigned char)("elfjit links static libraries "[i % 30] + (i / 1000) % 3);
    uLongf plen = sizeof packed, blen = sizeof back;
    if (compress2(packed, &plen, text, sizeof text, 9) != Z_OK)
        return puts("compress2 failed"), 1;
    if (uncompress(back, &blen, packed, plen) != Z_OK || blen != sizeof text ||
        memcmp(back, text, blen) != 0)
        return puts("uncompress failed"), 1;
    printf("compress2: %zu -> %lu bytes, round trip ok\n", sizeof text, (unsigned long)plen);

    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return puts("deflateInit2 failed"), 1;
    z.next_in = text;
    z.avail_in = sizeof text;
    z.next_out = packed;
    z.avail_out = sizeof packed;
    if (deflate(&z, Z_FINISH) != Z_STREAM_END)
        return puts("deflate failed"), 1;
    unsigned long glen = z.total_out;
    deflateEnd(&z);
    memset(&z, 0, sizeof z);
    inflateInit2(&z, 15 + 16);
    z.next_in = packed;
    z.avail_in = (uInt)glen;
    z.next_out = back;
    z.avail_out = sizeof back;
    int rc = inflate(&z, Z_FINISH);
    inflateEnd(&z);
    if (rc != Z_STREAM_END || z.total_out != sizeof text || memcmp(back, text, sizeof text))
        return puts("inflate failed"), 1;
    printf("gzip stream: %lu bytes, round trip ok\n", glen);
    printf("crc32 %08lx adler32 %08lx\n", crc32(0, text, sizeof text),
           adler32(1, text, sizeof text));
    return 0;
}
