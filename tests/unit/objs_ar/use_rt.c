/* The compiler runtime without naming it: code whose compiled form calls
 * helpers from libgcc.a (aarch64 outline atomics, __int128 division, quad
 * float on aarch64 and riscv64, __clear_cache).  Each function returns 1
 * when its answers are right. */
#include <stdatomic.h>
#include <stdint.h>

static _Atomic int counter;
static _Atomic long long wide;

int rt_atomics(void)
{
    atomic_store_explicit(&counter, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&counter, 4, memory_order_acq_rel); /* ldadd4_acq_rel */
    atomic_fetch_or(&counter, 8);                                  /* ldset4_acq_rel */
    int expected = 13;
    int swapped = atomic_compare_exchange_strong(&counter, &expected, 40); /* cas4 */
    long long old = atomic_exchange_explicit(&wide, 7, memory_order_acquire); /* swp8_acq */
    atomic_fetch_sub_explicit(&wide, 2, memory_order_release);               /* ldadd8_rel */
    return swapped && old == 0 && atomic_load(&counter) == 40 && atomic_load(&wide) == 5;
}

int rt_int128(void)
{
    volatile __int128 a = ((__int128)0x0123456789abcdefLL << 64) | 0x1122334455667788ULL;
    volatile __int128 b = 1000000007;
    __int128 q = a / b, r = a % b; /* __divti3, __modti3 */
    unsigned __int128 uq = (unsigned __int128)a / 12345u; /* __udivti3 */
    return q * b + r == a && r >= 0 && r < b && uq * 12345u + (unsigned __int128)a % 12345u ==
                                                     (unsigned __int128)a;
}

int rt_long_double(void)
{
    volatile long double x = 1.5L, y = 3.25L;
    long double z = x * y + x / y - (long double)(int)y; /* __multf3, __divtf3, ... */
    int i = (int)(z * 1000); /* __fixtfsi */
    return i == 2336;        /* 4.875 + 0.461538... - 3 */
}

int rt_clear_cache(void)
{
    static char buf[64];
    __builtin___clear_cache(buf, buf + sizeof buf);
    return 1;
}
