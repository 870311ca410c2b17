/* aarch64: the CRC32X/W/B instructions (optional in ARMv8.0, required from
 * ARMv8.1), which compute exactly zlib's polynomial; zlib where the CPU
 * lacks them (HWCAP_CRC32). */
#include <arm_acle.h>
#include <asm/hwcap.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/auxv.h>
#include <zlib.h>

#include "checksum/crc32.h"

static int have_crc(void)
{
    static atomic_int known; /* 0 unknown, 1 no, 2 yes (a benign race) */
    int k = atomic_load_explicit(&known, memory_order_relaxed);
    if (!k) {
        k = (getauxval(AT_HWCAP) & HWCAP_CRC32) ? 2 : 1;
        atomic_store_explicit(&known, k, memory_order_relaxed);
    }
    return k == 2;
}

/* The instructions keep the register un-inverted: zlib's CRC is the
 * register's complement before and after. */
__attribute__((target("+crc"))) static uint32_t crc_insns(uint32_t crc, const uint8_t *p,
                                                         size_t n)
{
    uint32_t r = ~crc;
    for (; n && ((uintptr_t)p & 7); n--)
        r = __crc32b(r, *p++);
    for (; n >= 32; n -= 32, p += 32) { /* four independent loads per turn */
        uint64_t w[4];
        memcpy(w, p, sizeof w);
        r = __crc32d(r, w[0]);
        r = __crc32d(r, w[1]);
        r = __crc32d(r, w[2]);
        r = __crc32d(r, w[3]);
    }
    for (; n >= 8; n -= 8, p += 8) {
        uint64_t w;
        memcpy(&w, p, sizeof w);
        r = __crc32d(r, w);
    }
    for (; n; n--)
        r = __crc32b(r, *p++);
    return ~r;
}

uint32_t ej__arch_crc32(uint32_t crc, const uint8_t *p, size_t n)
{
    return have_crc() ? crc_insns(crc, p, n) : (uint32_t)crc32(crc, p, (uInt)n);
}

const char *ej__arch_crc32_kind(void)
{
    return have_crc() ? "crc32 instructions" : "zlib";
}
