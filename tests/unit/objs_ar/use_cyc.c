int cyc_a1(void);

int use_cyc(void)
{
    return cyc_a1(); /* 1000 + 100 + 10 + 1 */
}
