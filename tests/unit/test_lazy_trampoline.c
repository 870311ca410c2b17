/* Lazy-call trampoline and slot jumps (src/session/lazy_arch.h), on the
 * host architecture: calls made through a lazy stub must reach the callee
 * exactly as if made directly, although the resolver in between clobbers
 * every register an ordinary function may (libc string functions,
 * floating-point math, and inline asm writing every caller-saved vector
 * and FP register).
 *
 * The stubs are written into a staging buffer (the write view), copied to
 * a page mapped as far from the trampoline as the kernel allows (the run
 * address), which is then made read+exec: never writable and executable
 * at once. */
#include <criterion/criterion.h>
#include <fenv.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#if defined(__x86_64__)
#include <immintrin.h>
#elif defined(__aarch64__)
#include <arm_neon.h>
#endif

#include "session/lazy_arch.h"

/* Callees must really be called with what the caller passes: no
 * interprocedural constant propagation into them. */
#if defined(__clang__)
#define CALLEE __attribute__((noinline, used))
#else
#define CALLEE __attribute__((noipa, used))
#endif

/* ---- code page ---------------------------------------------------------- */

static uint8_t *g_page;       /* the run address (V) */
static size_t g_page_len;
static uint8_t *g_stage;      /* the write view (W) */
static size_t g_used;

/* A page more than 4 GiB from the trampoline when the kernel grants one of
 * the hints, so that no stub can get away with a 32-bit displacement. */
static uint8_t *map_far(size_t len)
{
    static const int64_t GiB = INT64_C(1) << 30;
    const int64_t offsets[] = {64 * GiB, -64 * GiB, 16 * GiB, -16 * GiB, 8 * GiB};
    uint64_t entry = ej__lazy_entry_addr();

    for (size_t i = 0; i < sizeof offsets / sizeof offsets[0]; i++) {
        uint64_t hint = (entry + (uint64_t)offsets[i]) & ~(uint64_t)(len - 1);
        void *p = mmap((void *)(uintptr_t)hint, len, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        uint64_t a = (uint64_t)(uintptr_t)p;

        if (p == MAP_FAILED)
            continue;
        if ((a > entry ? a - entry : entry - a) > (UINT64_C(4) << 30)) {
            cr_log_info("stubs at %p, the trampoline at %#" PRIx64, p, entry);
            return p;
        }
        munmap(p, len);
    }
    cr_log_warn("no page 4 GiB away from the trampoline: stubs tested near it");
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    cr_assert(p != MAP_FAILED);
    return p;
}

static void code_begin(void)
{
    ej__lazy_arch_init();
    g_page_len = (size_t)sysconf(_SC_PAGESIZE);
    g_page = map_far(g_page_len);
    g_stage = calloc(1, g_page_len);
    cr_assert_not_null(g_stage);
    g_used = 0;
}

static uint8_t *code_reserve(size_t size, size_t align, uint64_t *v)
{
    g_used = (g_used + align - 1) & ~(align - 1);
    cr_assert_leq(g_used + size, g_page_len);
    *v = (uint64_t)(uintptr_t)(g_page + g_used);
    g_used += size;
    return g_stage + (g_used - size);
}

static void *code_add_stub(ej__lazy_record *rec)
{
    uint64_t v;
    uint8_t *w = code_reserve(ej__lazy_stub_size, ej__lazy_stub_align, &v);

    ej__lazy_stub_write(w, v, (uint64_t)(uintptr_t)rec, ej__lazy_entry_addr());
    return (void *)(uintptr_t)v;
}

static void *code_add_slot_jump(_Atomic uint64_t *slot)
{
    uint64_t v;
    uint8_t *w = code_reserve(ej__slot_jump_size, ej__slot_jump_align, &v);

    ej__slot_jump_write(w, v, (uint64_t)(uintptr_t)slot);
    return (void *)(uintptr_t)v;
}

/* Copies the staged code to its run address and makes it executable. */
static void code_seal(void)
{
    memcpy(g_page, g_stage, g_used);
    cr_assert_eq(mprotect(g_page, g_page_len, PROT_READ | PROT_EXEC), 0);
    __builtin___clear_cache((char *)g_page, (char *)g_page + g_used);
}

static void code_end(void)
{
    munmap(g_page, g_page_len);
    free(g_stage);
}

TestSuite(lazy, .init = code_begin, .fini = code_end);
TestSuite(slot, .init = code_begin, .fini = code_end);

/* ---- the resolver ------------------------------------------------------- */

typedef struct test_record {
    ej__lazy_record base;
    void *target;
    uint64_t tag;
    int calls;
} test_record;

static test_record *volatile g_last_record;
static volatile uint64_t g_last_tag;
static volatile size_t g_sink_n;
static volatile double g_sink_d;
static char g_buf_a[8192], g_buf_b[8192];
static volatile size_t g_buf_len = sizeof g_buf_a;
static uint64_t g_pattern[8] __attribute__((aligned(64))) = {
    0xa5a5a5a5c3c3c3c3, 0x123456789abcdef0, 0x0f1e2d3c4b5a6978, 0xfedcba9876543210,
    0x5a5a5a5a3c3c3c3c, 0x1111222233334444, 0x9999888877776666, 0xdeadbeefcafef00d};

/* Every caller-saved vector/FP register (and the integer argument and
 * scratch registers) written with nonzero junk; the compiler saves any
 * callee-saved part itself, from the clobber list. */
#if defined(__x86_64__)
#define XMM(n) "movdqu %0, %%xmm" #n "\n\t"
static void clobber_sse(void)
{
    __asm__ __volatile__(XMM(0) XMM(1) XMM(2) XMM(3) XMM(4) XMM(5) XMM(6) XMM(7)
                         XMM(8) XMM(9) XMM(10) XMM(11) XMM(12) XMM(13) XMM(14) XMM(15)
                         "movq $-1, %%rdi\n\tmovq $-2, %%rsi\n\tmovq $-3, %%rdx\n\t"
                         "movq $-4, %%rcx\n\tmovq $-5, %%r8\n\tmovq $-6, %%r9\n\t"
                         "movq $-7, %%r10\n\tmovq $-8, %%r11\n\tmovq $-9, %%rax\n\t"
                         :
                         : "m"(*(const char(*)[16])g_pattern)
                         : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7",
                           "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14",
                           "xmm15", "rdi", "rsi", "rdx", "rcx", "r8", "r9", "r10", "r11",
                           "rax", "cc");
}

/* Upper halves written on purpose (vzeroall would leave them zero, which a
 * trampoline keeping only xmm might restore by luck), from asm functions:
 * C compiled for AVX ends with vzeroupper, which would undo it.  A call
 * clobbers all of ymm/zmm and k anyway, so C needs no clobber list. */
void ej_test_lazy_dirty_avx(const void *pattern32);
void ej_test_lazy_dirty_avx512(const void *pattern64);
#define YMM(n) "   vmovdqu (%rdi), %ymm" #n "\n"
#define ZMM(n) "   vmovdqu64 (%rdi), %zmm" #n "\n"
#define KREG(n) "   kxnorw %k0, %k0, %k" #n "\n"
__asm__(".pushsection .text\n"
        ".globl ej_test_lazy_dirty_avx\n.hidden ej_test_lazy_dirty_avx\n"
        ".type ej_test_lazy_dirty_avx, @function\n"
        "ej_test_lazy_dirty_avx:\n"
        YMM(0) YMM(1) YMM(2) YMM(3) YMM(4) YMM(5) YMM(6) YMM(7)
        YMM(8) YMM(9) YMM(10) YMM(11) YMM(12) YMM(13) YMM(14) YMM(15)
        "   ret\n"
        ".size ej_test_lazy_dirty_avx, .-ej_test_lazy_dirty_avx\n"
        ".globl ej_test_lazy_dirty_avx512\n.hidden ej_test_lazy_dirty_avx512\n"
        ".type ej_test_lazy_dirty_avx512, @function\n"
        "ej_test_lazy_dirty_avx512:\n"
        ZMM(0) ZMM(1) ZMM(2) ZMM(3) ZMM(4) ZMM(5) ZMM(6) ZMM(7) ZMM(8) ZMM(9) ZMM(10)
        ZMM(11) ZMM(12) ZMM(13) ZMM(14) ZMM(15) ZMM(16) ZMM(17) ZMM(18) ZMM(19) ZMM(20)
        ZMM(21) ZMM(22) ZMM(23) ZMM(24) ZMM(25) ZMM(26) ZMM(27) ZMM(28) ZMM(29) ZMM(30)
        ZMM(31) KREG(1) KREG(2) KREG(3) KREG(4) KREG(5) KREG(6) KREG(7)
        "   ret\n"
        ".size ej_test_lazy_dirty_avx512, .-ej_test_lazy_dirty_avx512\n"
        ".popsection\n");

static void clobber_registers(void)
{
    volatile long double x = 1.0L;

    x /= 3.0L; /* x87: a result on its stack, the precision flag raised */
    g_sink_d = (double)x;
    clobber_sse();
    if (__builtin_cpu_supports("avx"))
        ej_test_lazy_dirty_avx(g_pattern);
    if (__builtin_cpu_supports("avx512f"))
        ej_test_lazy_dirty_avx512(g_pattern);
}
#elif defined(__aarch64__)
#define VREG(n) "dup v" #n ".2d, %0\n\t"
#define XREG(n) "mov x" #n ", %0\n\t"
static void clobber_registers(void)
{
    __asm__ __volatile__(
        VREG(0) VREG(1) VREG(2) VREG(3) VREG(4) VREG(5) VREG(6) VREG(7) VREG(8) VREG(9)
        VREG(10) VREG(11) VREG(12) VREG(13) VREG(14) VREG(15) VREG(16) VREG(17) VREG(18)
        VREG(19) VREG(20) VREG(21) VREG(22) VREG(23) VREG(24) VREG(25) VREG(26) VREG(27)
        VREG(28) VREG(29) VREG(30) VREG(31)
        XREG(0) XREG(1) XREG(2) XREG(3) XREG(4) XREG(5) XREG(6) XREG(7) XREG(8) XREG(9)
        XREG(10) XREG(11) XREG(12) XREG(13) XREG(14) XREG(15) XREG(16) XREG(17)
        :
        : "r"(g_pattern[0])
        : "v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9", "v10", "v11", "v12",
          "v13", "v14", "v15", "v16", "v17", "v18", "v19", "v20", "v21", "v22", "v23",
          "v24", "v25", "v26", "v27", "v28", "v29", "v30", "v31", "x0", "x1", "x2", "x3",
          "x4", "x5", "x6", "x7", "x8", "x9", "x10", "x11", "x12", "x13", "x14", "x15",
          "x16", "x17", "cc");
}
#elif defined(__riscv) && __riscv_xlen == 64
#define FREG(n) "fmv.d.x f" #n ", %0\n\t"
static void clobber_registers(void)
{
    __asm__ __volatile__(
        FREG(0) FREG(1) FREG(2) FREG(3) FREG(4) FREG(5) FREG(6) FREG(7) FREG(8) FREG(9)
        FREG(10) FREG(11) FREG(12) FREG(13) FREG(14) FREG(15) FREG(16) FREG(17) FREG(18)
        FREG(19) FREG(20) FREG(21) FREG(22) FREG(23) FREG(24) FREG(25) FREG(26) FREG(27)
        FREG(28) FREG(29) FREG(30) FREG(31)
        "mv a0, %0\n\tmv a1, %0\n\tmv a2, %0\n\tmv a3, %0\n\t"
        "mv a4, %0\n\tmv a5, %0\n\tmv a6, %0\n\tmv a7, %0\n\t"
        "mv t0, %0\n\tmv t1, %0\n\tmv t2, %0\n\tmv t3, %0\n\t"
        "mv t4, %0\n\tmv t5, %0\n\tmv t6, %0\n\t"
        :
        : "r"(g_pattern[0])
        : "f0", "f1", "f2", "f3", "f4", "f5", "f6", "f7", "f8", "f9", "f10", "f11", "f12",
          "f13", "f14", "f15", "f16", "f17", "f18", "f19", "f20", "f21", "f22", "f23",
          "f24", "f25", "f26", "f27", "f28", "f29", "f30", "f31", "a0", "a1", "a2", "a3",
          "a4", "a5", "a6", "a7", "t0", "t1", "t2", "t3", "t4", "t5", "t6");
}
#else
#error "test_lazy_trampoline.c: no register clobbering for this architecture"
#endif

static void *test_resolve(ej__lazy_record *r)
{
    test_record *t = (test_record *)r;
    volatile double x = 2.0;
    size_t n = g_buf_len; /* not a constant: the real library calls */

    t->calls++;
    g_last_record = t;
    g_last_tag = t->tag;
    /* glibc's string functions use the vector registers. */
    memset(g_buf_a, 'x', n - 1);
    memcpy(g_buf_b, g_buf_a, n);
    g_sink_n = strlen(g_buf_b);
    /* Floating-point math, raising the inexact flag. */
    x = sqrt(x) / 3.0 + sin(x);
    g_sink_d = x;
    clobber_registers();
    return t->target;
}

static test_record make_record(void *target, uint64_t tag)
{
    return (test_record){{test_resolve}, target, tag, 0};
}

/* ---- 1. every integer and FP argument register, and stack arguments ----- */

/* More of each than any of the three has argument registers (6 or 8
 * integer, 8 FP), values with high bits set so truncation shows. */
#define IV(k) ((long)(UINT64_C(0x7e00000000000000) | (uint64_t)(k) * UINT64_C(0x0101010101)))
#define DV(k) ((k) * 1.25 + 0.0625)
enum { NI = 12, ND = 12 };
static long g_got_i[NI];
static double g_got_d[ND];
static int g_fe_at_entry;

CALLEE static long many_args(long i0, long i1, long i2, long i3, long i4, long i5, long i6,
                             long i7, long i8, long i9, long i10, long i11, double d0,
                             double d1, double d2, double d3, double d4, double d5,
                             double d6, double d7, double d8, double d9, double d10,
                             double d11)
{
    g_fe_at_entry = fetestexcept(FE_ALL_EXCEPT);
    long iv[NI] = {i0, i1, i2, i3, i4, i5, i6, i7, i8, i9, i10, i11};
    double dv[ND] = {d0, d1, d2, d3, d4, d5, d6, d7, d8, d9, d10, d11};

    memcpy(g_got_i, iv, sizeof iv);
    memcpy(g_got_d, dv, sizeof dv);
    return 0x5eed;
}

typedef long (*many_fn)(long, long, long, long, long, long, long, long, long, long, long,
                        long, double, double, double, double, double, double, double,
                        double, double, double, double, double);

static void call_and_check_many(void *fn, const char *how)
{
    memset(g_got_i, 0, sizeof g_got_i);
    memset(g_got_d, 0, sizeof g_got_d);
    feclearexcept(FE_ALL_EXCEPT);
    long r = ((many_fn)(uintptr_t)fn)(IV(0), IV(1), IV(2), IV(3), IV(4), IV(5), IV(6), IV(7),
                                      IV(8), IV(9), IV(10), IV(11), DV(0), DV(1), DV(2),
                                      DV(3), DV(4), DV(5), DV(6), DV(7), DV(8), DV(9),
                                      DV(10), DV(11));

    cr_assert_eq(r, 0x5eed, "%s: returned %#lx", how, r);
    for (int k = 0; k < NI; k++)
        cr_expect_eq(g_got_i[k], IV(k), "%s: integer argument %d is %#lx, not %#lx", how, k,
                     g_got_i[k], IV(k));
    for (int k = 0; k < ND; k++)
        cr_expect(memcmp(&g_got_d[k], &(double){DV(k)}, sizeof(double)) == 0,
                  "%s: double argument %d is %a, not %a", how, k, g_got_d[k], DV(k));
    cr_expect_eq(g_fe_at_entry, 0, "%s: the callee found floating-point flags %#x set",
                 how, g_fe_at_entry);
}

Test(lazy, every_argument_register)
{
    test_record rec = make_record((void *)(uintptr_t)many_args, 1);
    void *stub = code_add_stub(&rec.base);

    code_seal();
    call_and_check_many((void *)(uintptr_t)many_args, "direct");
    for (int i = 1; i <= 3; i++) {
        call_and_check_many(stub, "through the lazy stub");
        cr_assert_eq(rec.calls, i);
    }
}

/* ---- 2. vector arguments ------------------------------------------------ */

#define NV 10 /* 8 in registers, 2 on the stack */

#if defined(__x86_64__)
static __m128 g_got128[NV];

CALLEE static int m128_args(__m128 a0, __m128 a1, __m128 a2, __m128 a3, __m128 a4,
                            __m128 a5, __m128 a6, __m128 a7, __m128 s0, __m128 s1)
{
    __m128 v[NV] = {a0, a1, a2, a3, a4, a5, a6, a7, s0, s1};

    memcpy(g_got128, v, sizeof v);
    return 128;
}

typedef int (*m128_fn)(__m128, __m128, __m128, __m128, __m128, __m128, __m128, __m128,
                       __m128, __m128);
#define F4(k) _mm_setr_ps(k + 0.5f, k + 1.5f, k + 2.5f, k + 3.5f)

Test(lazy, vector_args_m128)
{
    test_record rec = make_record((void *)(uintptr_t)m128_args, 2);
    m128_fn fn = (m128_fn)(uintptr_t)code_add_stub(&rec.base);
    __m128 want[NV] = {F4(0), F4(10), F4(20), F4(30), F4(40), F4(50), F4(60), F4(70),
                       F4(80), F4(90)};

    code_seal();
    cr_assert_eq(fn(want[0], want[1], want[2], want[3], want[4], want[5], want[6], want[7],
                    want[8], want[9]),
                 128);
    for (int k = 0; k < NV; k++)
        cr_expect(memcmp(&g_got128[k], &want[k], sizeof want[k]) == 0,
                  "__m128 argument %d differs", k);
    cr_assert_eq(rec.calls, 1);
}

static __m256 g_got256[NV];

CALLEE __attribute__((target("avx"))) static int
m256_args(__m256 a0, __m256 a1, __m256 a2, __m256 a3, __m256 a4, __m256 a5, __m256 a6,
          __m256 a7, __m256 s0, __m256 s1)
{
    __m256 v[NV] = {a0, a1, a2, a3, a4, a5, a6, a7, s0, s1};

    memcpy(g_got256, v, sizeof v);
    return 256;
}

typedef int (*m256_fn)(__m256, __m256, __m256, __m256, __m256, __m256, __m256, __m256,
                       __m256, __m256);
#define F8(k) _mm256_setr_ps(k + 0.5f, k + 1.5f, k + 2.5f, k + 3.5f, k + 4.5f, k + 5.5f, \
                             k + 6.5f, k + 7.5f)

__attribute__((target("avx"))) static void check_m256(void *stub)
{
    __m256 want[NV] = {F8(0), F8(10), F8(20), F8(30), F8(40), F8(50), F8(60), F8(70),
                       F8(80), F8(90)};
    int r = ((m256_fn)(uintptr_t)stub)(want[0], want[1], want[2], want[3], want[4], want[5],
                                       want[6], want[7], want[8], want[9]);

    cr_assert_eq(r, 256);
    for (int k = 0; k < NV; k++)
        cr_expect(memcmp(&g_got256[k], &want[k], sizeof want[k]) == 0,
                  "__m256 argument %d differs (upper half lost?)", k);
}

Test(lazy, vector_args_m256)
{
    if (!__builtin_cpu_supports("avx"))
        cr_skip_test("the CPU (or the OS) has no AVX: no __m256 arguments to test");
    test_record rec = make_record((void *)(uintptr_t)m256_args, 3);
    void *stub = code_add_stub(&rec.base);

    code_seal();
    check_m256(stub);
    cr_assert_eq(rec.calls, 1);
}

static __m512 g_got512[NV];

CALLEE __attribute__((target("avx512f"))) static int
m512_args(__m512 a0, __m512 a1, __m512 a2, __m512 a3, __m512 a4, __m512 a5, __m512 a6,
          __m512 a7, __m512 s0, __m512 s1)
{
    __m512 v[NV] = {a0, a1, a2, a3, a4, a5, a6, a7, s0, s1};

    memcpy(g_got512, v, sizeof v);
    return 512;
}

typedef int (*m512_fn)(__m512, __m512, __m512, __m512, __m512, __m512, __m512, __m512,
                       __m512, __m512);
#define F16(k) _mm512_add_ps(_mm512_set1_ps(k), \
                             _mm512_setr_ps(0.5f, 1.5f, 2.5f, 3.5f, 4.5f, 5.5f, 6.5f, \
                                            7.5f, 8.5f, 9.5f, 10.5f, 11.5f, 12.5f, 13.5f, \
                                            14.5f, 15.5f))

__attribute__((target("avx512f"))) static void check_m512(void *stub)
{
    __m512 want[NV] = {F16(0), F16(20), F16(40), F16(60), F16(80), F16(100), F16(120),
                       F16(140), F16(160), F16(180)};
    int r = ((m512_fn)(uintptr_t)stub)(want[0], want[1], want[2], want[3], want[4], want[5],
                                       want[6], want[7], want[8], want[9]);

    cr_assert_eq(r, 512);
    for (int k = 0; k < NV; k++)
        cr_expect(memcmp(&g_got512[k], &want[k], sizeof want[k]) == 0,
                  "__m512 argument %d differs (upper part lost?)", k);
}

Test(lazy, vector_args_m512)
{
    if (!__builtin_cpu_supports("avx512f"))
        cr_skip_test("the CPU (or the OS) has no AVX-512F: no __m512 arguments to test");
    test_record rec = make_record((void *)(uintptr_t)m512_args, 4);
    void *stub = code_add_stub(&rec.base);

    code_seal();
    check_m512(stub);
    cr_assert_eq(rec.calls, 1);
}
#elif defined(__aarch64__)
static float64x2_t g_got_f[NV / 2];
static int32x4_t g_got_q[NV / 2];

/* v0-v7 alternate between the two types; the last two go on the stack. */
CALLEE static int neon_args(float64x2_t f0, int32x4_t q0, float64x2_t f1, int32x4_t q1,
                            float64x2_t f2, int32x4_t q2, float64x2_t f3, int32x4_t q3,
                            float64x2_t f4, int32x4_t q4)
{
    float64x2_t f[NV / 2] = {f0, f1, f2, f3, f4};
    int32x4_t q[NV / 2] = {q0, q1, q2, q3, q4};

    memcpy(g_got_f, f, sizeof f);
    memcpy(g_got_q, q, sizeof q);
    return 128;
}

typedef int (*neon_fn)(float64x2_t, int32x4_t, float64x2_t, int32x4_t, float64x2_t,
                       int32x4_t, float64x2_t, int32x4_t, float64x2_t, int32x4_t);

Test(lazy, vector_args_neon)
{
    test_record rec = make_record((void *)(uintptr_t)neon_args, 2);
    neon_fn fn = (neon_fn)(uintptr_t)code_add_stub(&rec.base);
    float64x2_t f[NV / 2];
    int32x4_t q[NV / 2];

    for (int k = 0; k < NV / 2; k++) {
        double fd[2] = {k + 0.25, -k - 1e10};
        int32_t qd[4] = {k, -k - 1, 0x7f000000 + k, -0x12345678 - k};

        f[k] = vld1q_f64(fd);
        q[k] = vld1q_s32(qd);
    }
    code_seal();
    cr_assert_eq(fn(f[0], q[0], f[1], q[1], f[2], q[2], f[3], q[3], f[4], q[4]), 128);
    for (int k = 0; k < NV / 2; k++) {
        cr_expect(memcmp(&g_got_f[k], &f[k], 16) == 0, "float64x2_t argument %d differs", k);
        cr_expect(memcmp(&g_got_q[k], &q[k], 16) == 0, "int32x4_t argument %d differs", k);
    }
    cr_assert_eq(rec.calls, 1);
}
#else
Test(lazy, vector_args_rvv)
{
    cr_skip_test("riscv64: vector (RVV) registers are arguments only of the vector "
                 "calling-convention variant; the trampoline does not keep them");
}
#endif

/* ---- 3. varargs ----------------------------------------------------------- */

enum { NPAIRS = 10 }; /* 10 ints and 10 doubles: registers run out for both */
static long g_va_i[NPAIRS];
static double g_va_d[NPAIRS];

CALLEE static int va_pairs(int n, ...)
{
    va_list ap;

    va_start(ap, n);
    for (int k = 0; k < n; k++) {
        g_va_i[k] = va_arg(ap, long);
        g_va_d[k] = va_arg(ap, double);
    }
    va_end(ap);
    return n;
}

Test(lazy, varargs)
{
    test_record rec = make_record((void *)(uintptr_t)va_pairs, 5);
    int (*fn)(int, ...) = (int (*)(int, ...))(uintptr_t)code_add_stub(&rec.base);

    code_seal();
    /* x86_64: the caller puts the number of vector registers used (8) in al,
     * and the callee's prologue saves xmm0-7 only when al is nonzero. */
    int r = fn(NPAIRS, IV(0), DV(0), IV(1), DV(1), IV(2), DV(2), IV(3), DV(3), IV(4), DV(4),
               IV(5), DV(5), IV(6), DV(6), IV(7), DV(7), IV(8), DV(8), IV(9), DV(9));

    cr_assert_eq(r, NPAIRS);
    for (int k = 0; k < NPAIRS; k++) {
        cr_expect_eq(g_va_i[k], IV(k), "variadic int %d is %#lx", k, g_va_i[k]);
        cr_expect(g_va_d[k] == DV(k), "variadic double %d is %a, not %a", k, g_va_d[k],
                  DV(k));
    }
    cr_assert_eq(rec.calls, 1);
}

/* ---- 4. a large struct returned by value ------------------------------------ */

/* 48 bytes: returned in memory on all three, through the pointer the caller
 * passes in rdi (x86_64), x8 (aarch64: not an argument register, the
 * indirect result register) or a0 (riscv64). */
struct big {
    long v[5];
    double d;
};

CALLEE static struct big make_big(long a, double b, long c)
{
    return (struct big){{a, a + 1, c, c - 1, a ^ c}, b * 2};
}

Test(lazy, struct_return)
{
    test_record rec = make_record((void *)(uintptr_t)make_big, 6);
    struct big (*fn)(long, double, long) =
        (struct big (*)(long, double, long))(uintptr_t)code_add_stub(&rec.base);

    code_seal();
    struct big r = fn(IV(1), 1.5, IV(2));

    cr_assert_eq(r.v[0], IV(1));
    cr_assert_eq(r.v[1], IV(1) + 1);
    cr_assert_eq(r.v[2], IV(2));
    cr_assert_eq(r.v[3], IV(2) - 1);
    cr_assert_eq(r.v[4], IV(1) ^ IV(2));
    cr_assert(r.d == 3.0);
    cr_assert_eq(rec.calls, 1);
}

/* ---- 5. the record, the return address, the caller's state -------------- */

CALLEE static long ret_a(long x) { return x + 0xa; }
CALLEE static long ret_b(long x) { return x + 0xb; }

Test(lazy, resolver_called_once_per_entry_with_its_record)
{
    test_record a = make_record((void *)(uintptr_t)ret_a, 0xaaaa0001);
    test_record b = make_record((void *)(uintptr_t)ret_b, 0xbbbb0002);
    long (*sa)(long) = (long (*)(long))(uintptr_t)code_add_stub(&a.base);
    long (*sb)(long) = (long (*)(long))(uintptr_t)code_add_stub(&b.base);
    static const char order[] = "abaab";

    code_seal();
    for (const char *p = order; *p; p++) {
        int is_a = *p == 'a';
        int before_a = a.calls, before_b = b.calls;

        cr_assert_eq((is_a ? sa : sb)(100), 100 + (is_a ? 0xa : 0xb));
        cr_assert_eq(a.calls, before_a + is_a);
        cr_assert_eq(b.calls, before_b + !is_a);
        cr_assert_eq(g_last_record, is_a ? &a : &b);
        cr_assert_eq(g_last_tag, is_a ? 0xaaaa0001u : 0xbbbb0002u);
    }
}

/* What the callee sees of where it was called from. */
static void *volatile g_seen_ra, *volatile g_seen_fa;

CALLEE static long probe(long x)
{
    g_seen_ra = __builtin_return_address(0);
    g_seen_fa = __builtin_frame_address(0); /* a fixed offset from sp at entry */
    return x * 3;
}

/* One call site for both ways of calling, so the return address and the
 * stack pointer at the call are the same.  Values are kept live across the
 * call in callee-saved registers (integer and FP). */
CALLEE static long call_keeping_values(long (*fn)(long), long seed)
{
    volatile long in = seed;
    long l0 = in * 3, l1 = in ^ 0x55, l2 = in + 7, l3 = in * in, l4 = in - 99, l5 = in << 3;
    double f0 = (double)in * 0.5, f1 = (double)in + 0.25, f2 = (double)in / 7.0,
           f3 = (double)in * 1e3, f4 = (double)in - 0.125;
    char stack_buf[64];

    memset(stack_buf, (int)(seed & 0x7f), sizeof stack_buf);
    long r = fn(seed);
    long bad = 0;

    bad |= (l0 != seed * 3) | (l1 != (seed ^ 0x55)) << 1 | (l2 != seed + 7) << 2;
    bad |= (l3 != seed * seed) << 3 | (l4 != seed - 99) << 4 | (l5 != seed << 3) << 5;
    bad |= (f0 != (double)seed * 0.5) << 6 | (f1 != (double)seed + 0.25) << 7;
    bad |= (f2 != (double)seed / 7.0) << 8 | (f3 != (double)seed * 1e3) << 9;
    bad |= (f4 != (double)seed - 0.125) << 10;
    for (size_t i = 0; i < sizeof stack_buf; i++)
        bad |= (stack_buf[i] != (char)(seed & 0x7f)) << 11;
    return bad ? -bad : r;
}

Test(lazy, return_address_stack_and_callee_saved)
{
    test_record rec = make_record((void *)(uintptr_t)probe, 7);
    long (*stub)(long) = (long (*)(long))(uintptr_t)code_add_stub(&rec.base);

    code_seal();
    cr_assert_eq(call_keeping_values(probe, 41), 123);
    void *ra = g_seen_ra, *fa = g_seen_fa;

    g_seen_ra = g_seen_fa = NULL;
    long r = call_keeping_values(stub, 41);

    cr_assert_eq(r, 123, "returned %ld (negative: caller state lost, mask %#lx)", r, -r);
    cr_assert_eq(g_seen_ra, ra, "the callee's return address is %p, not %p", g_seen_ra, ra);
    cr_assert_eq(g_seen_fa, fa, "the callee's frame is at %p, not %p (stack pointer moved)",
                 g_seen_fa, fa);
    cr_assert_eq(rec.calls, 1);
}

/* Registers an ordinary C call cannot set: checked from asm. */
#if defined(__x86_64__)
/* r10 is the static chain and al the vector-register count of a variadic
 * call: the callee must find the caller's values (an al that is wrong but
 * nonzero would go unnoticed by a variadic callee). */
long ej_test_lazy_call_r10_rax(void *fn, long r10, long rax);
void ej_test_lazy_see_r10_rax(void);
uint64_t ej_test_lazy_seen[2];
__asm__(".pushsection .text\n"
        ".globl ej_test_lazy_call_r10_rax\n.hidden ej_test_lazy_call_r10_rax\n"
        ".type ej_test_lazy_call_r10_rax, @function\n"
        "ej_test_lazy_call_r10_rax:\n"
        "   subq $8, %rsp\n" /* the call sees a 16-aligned stack */
        "   movq %rsi, %r10\n"
        "   movq %rdx, %rax\n"
        "   callq *%rdi\n"
        "   addq $8, %rsp\n"
        "   ret\n"
        ".size ej_test_lazy_call_r10_rax, .-ej_test_lazy_call_r10_rax\n"
        ".globl ej_test_lazy_see_r10_rax\n.hidden ej_test_lazy_see_r10_rax\n"
        ".type ej_test_lazy_see_r10_rax, @function\n"
        "ej_test_lazy_see_r10_rax:\n"
        "   movq %r10, ej_test_lazy_seen(%rip)\n"
        "   movq %rax, ej_test_lazy_seen+8(%rip)\n"
        "   ret\n"
        ".size ej_test_lazy_see_r10_rax, .-ej_test_lazy_see_r10_rax\n"
        ".popsection\n");

Test(lazy, static_chain_r10_and_rax)
{
    test_record rec = make_record((void *)(uintptr_t)ej_test_lazy_see_r10_rax, 8);
    void *stub = code_add_stub(&rec.base);

    code_seal();
    ej_test_lazy_call_r10_rax(stub, IV(10), IV(11));
    cr_assert_eq(ej_test_lazy_seen[0], (uint64_t)IV(10), "r10 is %#" PRIx64,
                 ej_test_lazy_seen[0]);
    cr_assert_eq(ej_test_lazy_seen[1], (uint64_t)IV(11), "rax is %#" PRIx64,
                 ej_test_lazy_seen[1]);
    cr_assert_eq(rec.calls, 1);
}
#elif defined(__riscv)
/* t0 is the alternate link register (millicode calls: `jal t0, f`, return
 * with `jr t0`): the callee must get it back from the trampoline. */
long ej_test_lazy_call_t0(void *fn, long x);
long ej_test_lazy_alt_callee(long x);
__asm__(".pushsection .text\n"
        ".globl ej_test_lazy_call_t0\n.hidden ej_test_lazy_call_t0\n"
        ".type ej_test_lazy_call_t0, @function\n"
        "ej_test_lazy_call_t0:\n"
        "   addi sp, sp, -16\n"
        "   sd ra, 8(sp)\n"
        "   mv t3, a0\n"
        "   mv a0, a1\n"
        "   jalr t0, 0(t3)\n"
        "   ld ra, 8(sp)\n"
        "   addi sp, sp, 16\n"
        "   ret\n"
        ".size ej_test_lazy_call_t0, .-ej_test_lazy_call_t0\n"
        ".globl ej_test_lazy_alt_callee\n.hidden ej_test_lazy_alt_callee\n"
        ".type ej_test_lazy_alt_callee, @function\n"
        "ej_test_lazy_alt_callee:\n"
        "   addi a0, a0, 1\n"
        "   jr t0\n"
        ".size ej_test_lazy_alt_callee, .-ej_test_lazy_alt_callee\n"
        ".popsection\n");

Test(lazy, alternate_link_t0)
{
    test_record rec = make_record((void *)(uintptr_t)ej_test_lazy_alt_callee, 8);
    void *stub = code_add_stub(&rec.base);

    code_seal();
    cr_assert_eq(ej_test_lazy_call_t0(stub, 41), 42);
    cr_assert_eq(rec.calls, 1);
}
#endif

/* ---- 6. slot jumps ---------------------------------------------------------- */

static _Atomic uint64_t g_slot __attribute__((aligned(8)));

Test(slot, jump_follows_the_slot)
{
    long (*fn)(long) = (long (*)(long))(uintptr_t)code_add_slot_jump(&g_slot);
    void *many = code_add_slot_jump(&g_slot);

    code_seal();
    atomic_store(&g_slot, (uint64_t)(uintptr_t)ret_a);
    cr_assert_eq(fn(1), 1 + 0xa);
    atomic_store(&g_slot, (uint64_t)(uintptr_t)ret_b);
    cr_assert_eq(fn(1), 1 + 0xb);
    /* Only the scratch register goes: every argument arrives. */
    atomic_store(&g_slot, (uint64_t)(uintptr_t)many_args);
    call_and_check_many(many, "through a slot jump");
}

/* Another thread keeps storing one target or the other into the slot while
 * this one calls through it: every call must land on one of them, never on
 * a torn mix of both addresses. */
static _Atomic int g_flip_stop;
static _Atomic unsigned long g_flips;

static void *flipper(void *arg)
{
    (void)arg;
    for (unsigned long i = 0; !atomic_load_explicit(&g_flip_stop, memory_order_relaxed); i++) {
        atomic_store_explicit(&g_slot, (uint64_t)(uintptr_t)(i & 1 ? ret_b : ret_a),
                              memory_order_release);
        atomic_store_explicit(&g_flips, i + 1, memory_order_relaxed);
    }
    return NULL;
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

Test(slot, concurrent_store_gives_old_or_new)
{
    long (*fn)(long) = (long (*)(long))(uintptr_t)code_add_slot_jump(&g_slot);
    pthread_t t;
    long seen_a = 0, seen_b = 0;

    code_seal();
    atomic_store(&g_slot, (uint64_t)(uintptr_t)ret_a);
    cr_assert_eq(pthread_create(&t, NULL, flipper, NULL), 0);
    while (atomic_load(&g_flips) == 0)
        sched_yield();
    /* Until both targets were seen often, or 3 s (one core, an emulator). */
    double end = now_s() + 3;
    for (long i = 0; (seen_a < 10000 || seen_b < 10000) && (i & 1023 || now_s() < end);
         i++) {
        long r = fn(0);

        cr_assert(r == 0xa || r == 0xb, "call %ld returned %#lx", i, r);
        seen_a += r == 0xa;
        seen_b += r == 0xb;
    }
    atomic_store(&g_flip_stop, 1);
    pthread_join(t, NULL);
    cr_log_info("slot: %ld calls reached the one target, %ld the other, %lu stores",
                seen_a, seen_b, atomic_load(&g_flips));
    cr_expect(seen_a > 0 && seen_b > 0, "the stores were never seen: nothing was tested");
}
