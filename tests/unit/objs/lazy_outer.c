/* Chained laziness (test_lazy_session.c): lazy_outer calls lazy_inner,
 * another declared name, which its module imports from the session (the
 * slot jump of the name, so the inner materialiser runs on this call). */
extern long lazy_inner(long x);

long lazy_outer(long x)
{
    return lazy_inner(x) * 3 + 1;
}
