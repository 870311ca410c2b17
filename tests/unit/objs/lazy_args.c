/* Callees for test_lazy_session.c, linked into a session by a lazy
 * materialiser: each checks every argument it received against
 * lazy_args.h's expected values (the mask of wrong ones goes to lazy_bad)
 * and returns the hash of what it got.  Built by the real compiler, so
 * the calling convention is the compiler's, not the test's idea of it. */
#include <stdarg.h>

#include "lazy_args.h"

#if defined(__x86_64__)
#include <immintrin.h>
#elif defined(__aarch64__)
#include <arm_neon.h>
#endif

/* Initialised: not a common symbol; ~0 until a callee ran. */
uint64_t lazy_bad = ~(uint64_t)0;

uint64_t lazy_ints(LZ_INTS_PARAMS)
{
    return lz_ints_check(&lazy_bad, a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12,
                         a13);
}

uint64_t lazy_mixed(LZ_MIXED_PARAMS)
{
    return lz_mixed_check(&lazy_bad, i0, d0, f0, l1, d1, d2, i2, f1, d3, l3, d4, f2, d5, i4,
                          d6, d7, l5, f3, d8, i6, d9, l7, l8);
}

uint64_t lazy_va(int n, ...)
{
    va_list ap;
    lz_acc a = LZ_ACC_INIT;
    va_start(ap, n);
    for (int k = 0; k < n; k++)
        lz_dbl(&a, va_arg(ap, double), LZ_DV(k));
    va_end(ap);
    lazy_bad = a.bad;
    return a.hash;
}

lz_big lazy_big(LZ_BIG_PARAMS)
{
    lz_big r;
    r.hash = lz_big_check(&r.bad, a0, a1, a2, a3, a4, a5, a6, a7, d0, d1, d2, d3, d4, d5, d6,
                          d7, s0, s1);
    for (int j = 0; j < LZ_BIG_TAIL; j++)
        r.tail[j] = LZ_TAIL(j);
    r.last = d7;
    lazy_bad = r.bad;
    return r;
}

long lazy_scale(long x, double y)
{
    return LZ_SCALE(x, y);
}

#if defined(__x86_64__)
/* The vectors are copied out as raw lanes; the copies happen inside the
 * functions compiled for the wider ISA, so the ymm/zmm halves are read
 * from where the ABI put them. */
#define LZ_VEC_BODY(T, lanes)                                                   \
    T v[LZ_NV] = {v0, v1, v2, v3, v4, v5, v6, v7, v8, v9};                      \
    uint32_t bits[LZ_NV * (lanes)];                                             \
    memcpy(bits, v, sizeof bits);                                               \
    return lz_lanes_check(&lazy_bad, bits, (lanes), 0)

uint64_t lazy_m128(__m128 v0, __m128 v1, __m128 v2, __m128 v3, __m128 v4, __m128 v5,
                   __m128 v6, __m128 v7, __m128 v8, __m128 v9)
{
    LZ_VEC_BODY(__m128, 4);
}

__attribute__((target("avx"))) uint64_t lazy_m256(__m256 v0, __m256 v1, __m256 v2,
                                                  __m256 v3, __m256 v4, __m256 v5,
                                                  __m256 v6, __m256 v7, __m256 v8,
                                                  __m256 v9)
{
    LZ_VEC_BODY(__m256, 8);
}

__attribute__((target("avx512f"))) uint64_t lazy_m512(__m512 v0, __m512 v1, __m512 v2,
                                                     __m512 v3, __m512 v4, __m512 v5,
                                                     __m512 v6, __m512 v7, __m512 v8,
                                                     __m512 v9)
{
    LZ_VEC_BODY(__m512, 16);
}
#elif defined(__aarch64__)
/* Float and integer vectors alternate (even K: float32x4_t). */
uint64_t lazy_neon(float32x4_t v0, int32x4_t v1, float32x4_t v2, int32x4_t v3,
                   float32x4_t v4, int32x4_t v5, float32x4_t v6, int32x4_t v7,
                   float32x4_t v8, int32x4_t v9)
{
    uint32_t bits[LZ_NV * 4];
    memcpy(bits + 0, &v0, 16);
    memcpy(bits + 4, &v1, 16);
    memcpy(bits + 8, &v2, 16);
    memcpy(bits + 12, &v3, 16);
    memcpy(bits + 16, &v4, 16);
    memcpy(bits + 20, &v5, 16);
    memcpy(bits + 24, &v6, 16);
    memcpy(bits + 28, &v7, 16);
    memcpy(bits + 32, &v8, 16);
    memcpy(bits + 36, &v9, 16);
    return lz_lanes_check(&lazy_bad, bits, 4, 0x2aau);
}
#endif
