#include <stdio.h>

int ar_add(int a, int b);
extern int ar_data_var;
extern const char ar_data_str[];

int main(void)
{
    printf("ar_add(2,3) = %d\n", ar_add(2, 3));
    printf("ar_data_var = %d (%s)\n", ar_data_var, ar_data_str);
    return ar_add(2, 3) == 23 && ar_data_var == 42 ? 0 : 1;
}
