/* libcyc_b.a: pulled by cyc_a2.o (libcyc_a.a), the last round. */
int cyc_b2(void)
{
    return 1000;
}
