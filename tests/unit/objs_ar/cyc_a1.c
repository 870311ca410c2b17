/* libcyc_a.a.  The chain cyc_a1 -> cyc_b1 (libcyc_b.a) -> cyc_a2 (back in
 * libcyc_a.a) -> cyc_b2 (libcyc_b.a) needs both archives rescanned, in
 * either order. */
int cyc_b1(void);

int cyc_a1(void)
{
    return cyc_b1() + 1;
}
