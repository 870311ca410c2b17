#include <stdio.h>

int cyc_a1(void);

int main(void)
{
    printf("cyc_a1() = %d\n", cyc_a1());
    return cyc_a1() == 1111 ? 0 : 1;
}
