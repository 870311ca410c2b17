/* The function called across modules (bench/session.c): one version per
 * -DVERSION, so that a swap is visible in the result. */
long bench_f(long x);
long bench_f(long x)
{
    return x + VERSION;
}
