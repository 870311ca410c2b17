/* One thread-local access model, for bench/tls.c: compiled once per model
 * (bench/CMakeLists.txt) with BENCH_MODEL=<name> and the flags that give
 * the model; BENCH_STATIC_VAR makes the counter static (local-dynamic),
 * BENCH_NO_TLS makes it an ordinary global (the "none" baseline: the loop
 * and call overhead every model also pays).
 *
 *   unsigned long tls_loop_<name>(unsigned long n)
 *       calls tls_bump_<name>() N times, which reads and writes the
 *       calling thread's counter once (one access), and returns the
 *       counter.
 *
 * The bump is a static noipa function: a direct call, never inlined nor
 * analysed across, so the address of the counter is computed on every
 * call (nothing hoists it out of the loop), in every placement (the
 * executable, a dlopen()ed library, an elfjit module). */
#ifndef BENCH_MODEL
#error "define BENCH_MODEL"
#endif
#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define COUNTER CAT(tls_counter_, BENCH_MODEL)
#define BUMP CAT(tls_bump_, BENCH_MODEL)
#define LOOP CAT(tls_loop_, BENCH_MODEL)

#if defined(__GNUC__) && !defined(__clang__)
#define NOIPA __attribute__((noipa))
#else
#define NOIPA __attribute__((noinline))
#endif

#if defined(BENCH_NO_TLS)
unsigned long COUNTER;
#elif defined(BENCH_STATIC_VAR)
static __thread unsigned long COUNTER;
#else
__thread unsigned long COUNTER;
#endif

unsigned long LOOP(unsigned long n);

static NOIPA void BUMP(void)
{
    COUNTER++;
}

unsigned long LOOP(unsigned long n)
{
    for (unsigned long i = 0; i < n; i++)
        BUMP();
    return COUNTER;
}
