/* libdup1.a; libdup2.a's dup2.o defines the same name: the archive added
 * first wins. */
int dup_which(void)
{
    return 1;
}
