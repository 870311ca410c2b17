#include <stdio.h>

int pref(void);

int main(void)
{
    printf("pref %d\n", pref());
    return pref();
}
