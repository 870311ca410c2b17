/* riscv64: zlib's crc32 (the Zbc carry-less multiply is not in the cores
 * and compilers this project targets). */
#include <zlib.h>

#include "checksum/crc32.h"

uint32_t ej__arch_crc32(uint32_t crc, const uint8_t *p, size_t n)
{
    return (uint32_t)crc32(crc, p, (uInt)n);
}

const char *ej__arch_crc32_kind(void)
{
    return "zlib";
}
