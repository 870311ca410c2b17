/* Calls bench_f, defined in another module of the session, N times
 * (bench/session.c): the cost of a cross-module call, direct or through
 * the slot of a redirectable name. */
long bench_f(long x);
long bench_loop(long n);
long bench_loop(long n)
{
    long s = 0;
    for (long i = 0; i < n; i++)
        s += bench_f(i);
    return s;
}
