/* libcyc_b.a: pulled by cyc_a1.o (libcyc_a.a). */
int cyc_a2(void);

int cyc_b1(void)
{
    return cyc_a2() + 10;
}
