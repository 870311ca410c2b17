/* The callee of lazy_outer.c (test_lazy_session.c). */
long lazy_inner(long x)
{
    return x + 100;
}
