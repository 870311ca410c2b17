/* References nothing in libctor.a: its constructor runs only with
 * --whole-archive. */
#include <stdio.h>

int ar_add(int a, int b);

int main(void)
{
    printf("main %d\n", ar_add(1, 1));
    return 0;
}
