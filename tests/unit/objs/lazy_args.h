/* What test_lazy_session.c passes to the functions of lazy_args.c, and the
 * checks both sides share: each callee folds every argument it received
 * into a hash (order-sensitive, so a swapped pair shows) and notes which
 * ones differ from the expected value, one bit per argument.  The test
 * computes the same fold over the values it passed: a callee that got
 * everything right returns exactly that hash and a mask of 0.
 *
 * A header, not a .c: tests/CMakeLists.txt compiles every *.c here into
 * its own object, and this is included by lazy_args.c and by the test. */
#ifndef EJ_TEST_LAZY_ARGS_H
#define EJ_TEST_LAZY_ARGS_H

#include <stdint.h>
#include <string.h>

/* Values with high bits set, so a truncated or sign-mangled register
 * shows; ints of both signs (an int is passed in the low half of a
 * register whose upper half the callee must ignore). */
#define LZ_IV(k) ((long)(UINT64_C(0x7e00000000000000) | (uint64_t)(k) * UINT64_C(0x0101010101)))
#define LZ_I32(k) ((int)((k) & 1 ? -(0x40000000 + (k) * 0x010101) : 0x40000000 + (k) * 0x010101))
#define LZ_DV(k) ((k) * 1.25 + 0.0625)
#define LZ_FV(k) ((float)(k) * 0.75f - 3.5f)

typedef struct lz_acc {
    uint64_t hash, bad;
    int n;
} lz_acc;

#define LZ_ACC_INIT {UINT64_C(0xcbf29ce484222325), 0, 0}

static inline void lz_take(lz_acc *a, uint64_t got, uint64_t want)
{
    a->hash = (a->hash ^ got) * UINT64_C(0x100000001b3) + UINT64_C(0x9e3779b97f4a7c15);
    a->bad |= (uint64_t)(got != want) << (a->n & 63);
    a->n++;
}

static inline void lz_long(lz_acc *a, long got, long want)
{
    lz_take(a, (uint64_t)got, (uint64_t)want);
}

/* Bit patterns, not ==: -0.0 for 0.0 or a NaN would be a different value. */
static inline void lz_dbl(lz_acc *a, double got, double want)
{
    uint64_t g, w;
    memcpy(&g, &got, sizeof g);
    memcpy(&w, &want, sizeof w);
    lz_take(a, g, w);
}

static inline void lz_flt(lz_acc *a, float got, float want)
{
    uint32_t g, w;
    memcpy(&g, &got, sizeof g);
    memcpy(&w, &want, sizeof w);
    lz_take(a, g, w);
}

/* ---- 14 integers: 6 (x86_64) or 8 (aarch64, riscv64) in registers, the
 * rest on the stack. */
#define LZ_INTS_PARAMS                                                                  \
    long a0, long a1, long a2, long a3, long a4, long a5, long a6, long a7, long a8,    \
        long a9, long a10, long a11, long a12, long a13
#define LZ_INTS_ARGS                                                                    \
    LZ_IV(0), LZ_IV(1), LZ_IV(2), LZ_IV(3), LZ_IV(4), LZ_IV(5), LZ_IV(6), LZ_IV(7),     \
        LZ_IV(8), LZ_IV(9), LZ_IV(10), LZ_IV(11), LZ_IV(12), LZ_IV(13)

static inline uint64_t lz_ints_check(uint64_t *bad, LZ_INTS_PARAMS)
{
    const long got[] = {a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13};
    lz_acc a = LZ_ACC_INIT;
    for (int k = 0; k < (int)(sizeof got / sizeof got[0]); k++)
        lz_long(&a, got[k], LZ_IV(k));
    *bad = a.bad;
    return a.hash;
}

/* ---- 9 integers and 14 floating-point values (10 double, 4 float)
 * interleaved: both register files overflow onto the stack, and the
 * stack slots of the two kinds interleave too. */
#define LZ_MIXED_PARAMS                                                                 \
    int i0, double d0, float f0, long l1, double d1, double d2, int i2, float f1,        \
        double d3, long l3, double d4, float f2, double d5, int i4, double d6,           \
        double d7, long l5, float f3, double d8, int i6, double d9, long l7, long l8
#define LZ_MIXED_ARGS                                                                   \
    LZ_I32(0), LZ_DV(0), LZ_FV(0), LZ_IV(1), LZ_DV(1), LZ_DV(2), LZ_I32(2), LZ_FV(1),    \
        LZ_DV(3), LZ_IV(3), LZ_DV(4), LZ_FV(2), LZ_DV(5), LZ_I32(4), LZ_DV(6), LZ_DV(7), \
        LZ_IV(5), LZ_FV(3), LZ_DV(8), LZ_I32(6), LZ_DV(9), LZ_IV(7), LZ_IV(8)

static inline uint64_t lz_mixed_check(uint64_t *bad, LZ_MIXED_PARAMS)
{
    lz_acc a = LZ_ACC_INIT;
    lz_long(&a, i0, LZ_I32(0));
    lz_dbl(&a, d0, LZ_DV(0));
    lz_flt(&a, f0, LZ_FV(0));
    lz_long(&a, l1, LZ_IV(1));
    lz_dbl(&a, d1, LZ_DV(1));
    lz_dbl(&a, d2, LZ_DV(2));
    lz_long(&a, i2, LZ_I32(2));
    lz_flt(&a, f1, LZ_FV(1));
    lz_dbl(&a, d3, LZ_DV(3));
    lz_long(&a, l3, LZ_IV(3));
    lz_dbl(&a, d4, LZ_DV(4));
    lz_flt(&a, f2, LZ_FV(2));
    lz_dbl(&a, d5, LZ_DV(5));
    lz_long(&a, i4, LZ_I32(4));
    lz_dbl(&a, d6, LZ_DV(6));
    lz_dbl(&a, d7, LZ_DV(7));
    lz_long(&a, l5, LZ_IV(5));
    lz_flt(&a, f3, LZ_FV(3));
    lz_dbl(&a, d8, LZ_DV(8));
    lz_long(&a, i6, LZ_I32(6));
    lz_dbl(&a, d9, LZ_DV(9));
    lz_long(&a, l7, LZ_IV(7));
    lz_long(&a, l8, LZ_IV(8));
    *bad = a.bad;
    return a.hash;
}

/* ---- vectors: NV of them (8 in registers, 2 on the stack), lane J of
 * vector K holding lz_lane(K, J, is_int): a float, or for integer
 * vectors (aarch64's int32x4_t) an int32 with its top bits set. */
enum { LZ_NV = 10 };

static inline uint32_t lz_lane(int k, int j, int is_int)
{
    if (is_int)
        return (uint32_t)(k + 1) * 0x10000000u ^ (uint32_t)j * 0x01010101u;
    float f = (float)(k * 16 + j) + 0.5f;
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

/* BITS: NV vectors of NLANES 32-bit lanes; INT_MASK: bit K when vector K
 * holds integers.  Bit K of *BAD: vector K differs somewhere. */
static inline uint64_t lz_lanes_check(uint64_t *bad, const uint32_t *bits, int nlanes,
                                      unsigned int_mask)
{
    lz_acc a = LZ_ACC_INIT;
    uint64_t vec_bad = 0;
    for (int k = 0; k < LZ_NV; k++)
        for (int j = 0; j < nlanes; j++) {
            uint32_t want = lz_lane(k, j, (int)(int_mask >> k & 1));
            lz_take(&a, bits[k * nlanes + j], want);
            vec_bad |= (uint64_t)(bits[k * nlanes + j] != want) << k;
        }
    *bad = vec_bad;
    return a.hash;
}

/* ---- variadic: LZ_NVA doubles after the count (x86_64: al = 8, the
 * callee's prologue spills xmm0-7 only when al is nonzero). */
enum { LZ_NVA = 12 };

static inline uint64_t lz_va_expect(int n)
{
    lz_acc a = LZ_ACC_INIT;
    for (int k = 0; k < n; k++)
        lz_dbl(&a, LZ_DV(k), LZ_DV(k));
    return a.hash;
}

/* ---- a struct too big for registers, returned through the pointer the
 * caller passes: in x8 on aarch64 (not an argument register), as a
 * hidden first argument (rdi, a0) on x86_64 and riscv64.  Every integer
 * and FP argument register is used besides, and two stack arguments. */
#define LZ_BIG_PARAMS                                                                   \
    long a0, long a1, long a2, long a3, long a4, long a5, long a6, long a7, double d0,  \
        double d1, double d2, double d3, double d4, double d5, double d6, double d7,    \
        long s0, long s1
#define LZ_BIG_ARGS                                                                     \
    LZ_IV(0), LZ_IV(1), LZ_IV(2), LZ_IV(3), LZ_IV(4), LZ_IV(5), LZ_IV(6), LZ_IV(7),     \
        LZ_DV(0), LZ_DV(1), LZ_DV(2), LZ_DV(3), LZ_DV(4), LZ_DV(5), LZ_DV(6), LZ_DV(7), \
        LZ_IV(8), LZ_IV(9)

/* The tail is constant: a result written anywhere but the caller's buffer
 * leaves it as the caller's poison. */
enum { LZ_BIG_TAIL = 5 };
#define LZ_TAIL(j) LZ_IV(20 + (j))

typedef struct lz_big {
    uint64_t hash, bad;
    long tail[LZ_BIG_TAIL];
    double last;
} lz_big;

static inline uint64_t lz_big_check(uint64_t *bad, LZ_BIG_PARAMS)
{
    const long l[] = {a0, a1, a2, a3, a4, a5, a6, a7};
    const double d[] = {d0, d1, d2, d3, d4, d5, d6, d7};
    lz_acc a = LZ_ACC_INIT;
    for (int k = 0; k < 8; k++)
        lz_long(&a, l[k], LZ_IV(k));
    for (int k = 0; k < 8; k++)
        lz_dbl(&a, d[k], LZ_DV(k));
    lz_long(&a, s0, LZ_IV(8));
    lz_long(&a, s1, LZ_IV(9));
    *bad = a.bad;
    return a.hash;
}

/* ---- for the threads: each passes its own values. */
#define LZ_SCALE(x, y) ((x) * 1000 + (long)((y) * 4))

#endif
