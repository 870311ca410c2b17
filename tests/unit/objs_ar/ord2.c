/* L2/libord.a (see ord1.c). */
int ord(void)
{
    return 2;
}
