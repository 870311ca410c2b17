#include <stdio.h>

int ord(void);

int main(void)
{
    printf("ord %d\n", ord());
    return ord();
}
