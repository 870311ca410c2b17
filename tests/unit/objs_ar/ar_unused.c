/* libbasic.a: nobody references it, so only --whole-archive loads it; its
 * constructor says so on stdout and in ar_unused_ran. */
#include <stdio.h>

int ar_unused_ran;

__attribute__((constructor)) static void ar_unused_ctor(void)
{
    ar_unused_ran = 1;
    puts("ctor ar_unused");
    fflush(stdout);
}

int ar_unused(void)
{
    return 99;
}
