/* libbasic.a: referenced by use_add.o/main_basic.o; pulls ar_helper (another
 * member) in turn. */
int ar_helper(int x);

int ar_add(int a, int b)
{
    return ar_helper(a) + b;
}
