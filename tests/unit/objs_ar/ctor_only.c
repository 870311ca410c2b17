/* libctor.a: only a constructor; loaded only with --whole-archive. */
#include <stdio.h>

int ctor_only_ran;

__attribute__((constructor)) static void ctor_only_ctor(void)
{
    ctor_only_ran = 1;
    puts("ctor ctor_only");
    fflush(stdout);
}
