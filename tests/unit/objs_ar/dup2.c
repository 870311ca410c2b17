/* libdup2.a (see dup1.c). */
int dup_which(void)
{
    return 2;
}
