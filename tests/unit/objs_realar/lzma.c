/* liblzma.a: an .xz buffer encoded and decoded, and CRC64. */
#include <lzma.h>
#include <stdio.h>
#include <string.h>

int main(void)
{
    static uint8_t text[40000], packed[50000], back[40000];
    for (size_t i = 0; i < sizeof text; i++)
        text[i] = (uint8_t)("lempel-ziv-markov "[(i + i / 333) % 18]);
    size_t plen = 0, in_pos = 0, out_pos = 0;
    lzma_ret rc = lzma_easy_buffer_encode(6, LZMA_CHECK_CRC64, NULL, text, sizeof text, packed,
                                          &plen, sizeof packed);
    if (rc != LZMA_OK)
        return printf("encode: %d\n", (int)rc), 1;
    uint64_t memlimit = 64u << 20;
    rc = lzma_stream_buffer_decode(&memlimit, 0, NULL, packed, &in_pos, plen, back, &out_pos,
                                   sizeof back);
    if (rc != LZMA_OK || out_pos != sizeof text || memcmp(back, text, out_pos) != 0)
        return printf("decode: %d\n", (int)rc), 1;
    printf("xz: %zu -> %zu bytes, round trip ok\n", sizeof text, plen);
    printf("crc64 %016llx\n", (unsigned long long)lzma_crc64(text, sizeof text, 0));
    return 0;
}
