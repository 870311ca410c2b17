/* ej__crc32: the host's crc32 (arch/<arch>.c) over pieces below 1 GiB, so
 * that no backend (and not zlib's 32-bit length) meets a larger one. */
#include "checksum/crc32.h"

#define PIECE ((size_t)1 << 30)

uint32_t ej__crc32(uint32_t crc, const void *p, size_t n)
{
    const uint8_t *b = p;
    while (n > 0) {
        size_t k = n < PIECE ? n : PIECE;
        crc = ej__arch_crc32(crc, b, k);
        b += k;
        n -= k;
    }
    return crc;
}
