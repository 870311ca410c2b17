/* L1/libord.a (-L order: the first directory wins). */
int ord(void)
{
    return 1;
}
