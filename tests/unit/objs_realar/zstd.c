/* libzstd.a: a frame compressed and decompressed. */
#include <stdio.h>
#include <string.h>
#include <zstd.h>

int main(void)
{
    static char text[40000], packed[50000], back[40000];
    for (size_t i = 0; i < sizeof text; i++)
        text[i] = "zstandard frames "[(i * 3 + i / 500) % 17];
    size_t plen = ZSTD_compress(packed, sizeof packed, text, sizeof text, 19);
    if (ZSTD_isError(plen))
        return printf("compress: %s\n", ZSTD_getErrorName(plen)), 1;
    size_t blen = ZSTD_decompress(back, sizeof back, packed, plen);
    if (ZSTD_isError(blen) || blen != sizeof text || memcmp(back, text, blen) != 0)
        return puts("decompress failed"), 1;
    printf("zstd: %zu -> %zu bytes, round trip ok\n", sizeof text, plen);
    return 0;
}
