/* x86_64: crc32 by folding with carry-less multiplication (PCLMULQDQ), as
 * Intel's white paper "Fast CRC Computation for Generic Polynomials Using
 * PCLMULQDQ Instruction" (Gopal et al., 2009) describes it; zlib where the
 * CPU lacks the instruction, and for short inputs.
 *
 * Four 128-bit accumulators take 64 bytes a turn.  Folding an accumulator
 * forward by D bits multiplies its two 64-bit halves by x^(D+32) and
 * x^(D-32) mod P (bit-reflected, shifted left by one, as the reflected
 * CRC wants), which keeps the message's remainder while moving it to the
 * next block.  What is left at the end, one accumulator and fewer than 16
 * bytes, is a short message with a zero register: zlib finishes it, so no
 * Barrett reduction is needed here. */
#include <immintrin.h>
#include <sys/platform/x86.h>
#include <zlib.h>

#include "checksum/crc32.h"

/* (x^(4*128+32), x^(4*128-32) mod P) and (x^(128+32), x^(128-32) mod P),
 * P = 0x104C11DB7, bit-reflected and shifted by one. */
#define FOLD4_LO 0x154442bd4ull
#define FOLD4_HI 0x1c6e41596ull
#define FOLD1_LO 0x1751997d0ull
#define FOLD1_HI 0x0ccaa009eull

/* Below this zlib's tables are as fast as setting up the folds. */
#define MIN_FOLD 256

#define PCLMUL __attribute__((target("pclmul,sse2")))

PCLMUL static inline __m128i fold(__m128i acc, __m128i k, __m128i next)
{
    __m128i lo = _mm_clmulepi64_si128(acc, k, 0x00);
    __m128i hi = _mm_clmulepi64_si128(acc, k, 0x11);
    return _mm_xor_si128(_mm_xor_si128(lo, hi), next);
}

PCLMUL static uint32_t crc_fold(uint32_t crc, const uint8_t *p, size_t n)
{
    const __m128i *v = (const __m128i *)p;
    __m128i x0 = _mm_loadu_si128(v), x1 = _mm_loadu_si128(v + 1);
    __m128i x2 = _mm_loadu_si128(v + 2), x3 = _mm_loadu_si128(v + 3);
    /* The register's starting value is the first 32 message bits' xor. */
    x0 = _mm_xor_si128(x0, _mm_cvtsi32_si128((int)~crc));
    v += 4;
    n -= 64;
    __m128i k = _mm_set_epi64x((long long)FOLD4_HI, (long long)FOLD4_LO);
    for (; n >= 64; n -= 64, v += 4) {
        x0 = fold(x0, k, _mm_loadu_si128(v));
        x1 = fold(x1, k, _mm_loadu_si128(v + 1));
        x2 = fold(x2, k, _mm_loadu_si128(v + 2));
        x3 = fold(x3, k, _mm_loadu_si128(v + 3));
    }
    k = _mm_set_epi64x((long long)FOLD1_HI, (long long)FOLD1_LO);
    x0 = fold(x0, k, x1);
    x0 = fold(x0, k, x2);
    x0 = fold(x0, k, x3);
    for (; n >= 16; n -= 16, v++)
        x0 = fold(x0, k, _mm_loadu_si128(v));
    uint8_t last[16];
    _mm_storeu_si128((__m128i *)last, x0);
    /* zlib with a zero register (its argument is the register's
     * complement), then the tail. */
    uint32_t r = (uint32_t)crc32(0xffffffffu, last, sizeof last);
    return (uint32_t)crc32(r, (const uint8_t *)v, (uInt)n);
}

/* From what the C library found at start-up (glibc 2.33's <sys/platform/
 * x86.h>), not __builtin_cpu_supports: that links libgcc's CPU probe into
 * the program, which runs a dozen CPUID instructions at every start, and
 * each one traps to the hypervisor on a virtual machine (0.15 ms
 * measured). (SSE2 is part of x86_64.) */
static int have_pclmul(void)
{
    return CPU_FEATURE_ACTIVE(PCLMULQDQ);
}

uint32_t ej__arch_crc32(uint32_t crc, const uint8_t *p, size_t n)
{
    if (n >= MIN_FOLD && have_pclmul())
        return crc_fold(crc, p, n);
    return (uint32_t)crc32(crc, p, (uInt)n);
}

const char *ej__arch_crc32_kind(void)
{
    return have_pclmul() ? "pclmulqdq" : "zlib";
}
