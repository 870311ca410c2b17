/* libbasic.a: pulled only by ar_add.o (a transitive pull).  Its name is
 * longer than 15 characters: GNU archives keep it in the long-name table
 * ("//"), BSD archives after the header ("#1/NN"). */
int ar_helper(int x)
{
    return x * 10;
}
