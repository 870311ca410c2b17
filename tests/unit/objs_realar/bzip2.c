/* libbz2.a: a buffer compressed and decompressed. */
#include <bzlib.h>
#include <stdio.h>
#include <string.h>

int main(void)
{
    static char text[50000], packed[60000], back[50000];
    for (size_t i = 0; i < sizeof text; i++)
        text[i] = "burrows-wheeler "[(i * 7 + i / 100) % 16];
    unsigned plen = sizeof packed, blen = sizeof back;
    int rc = BZ2_bzBuffToBuffCompress(packed, &plen, text, sizeof text, 9, 0, 30);
    if (rc != BZ_OK)
        return printf("compress: %d\n", rc), 1;
    rc = BZ2_bzBuffToBuffDecompress(back, &blen, packed, plen, 0, 0);
    if (rc != BZ_OK || blen != sizeof text || memcmp(back, text, blen) != 0)
        return printf("decompress: %d\n", rc), 1;
    printf("bzip2: %zu -> %u bytes, round trip ok\n", sizeof text, plen);
    return 0;
}
