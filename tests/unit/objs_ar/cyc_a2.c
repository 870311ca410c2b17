/* libcyc_a.a: pulled by cyc_b1.o (libcyc_b.a). */
int cyc_b2(void);

int cyc_a2(void)
{
    return cyc_b2() + 100;
}
