int ar_add(int a, int b);

int use_add(void)
{
    return ar_add(2, 3); /* 2 * 10 + 3 */
}
