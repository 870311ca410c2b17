/* A small PIE object for a real (executed) link: gcc -fPIE calls puts with
 * R_X86_64_PLT32 and reads the libc data object stdout with R_X86_64_PC32
 * (it assumes a copy relocation), so elfjit must place the image within
 * +/-2 GiB of stdout. */
#include <stdio.h>

FILE *say_hello(int n);
FILE *say_hello(int n)
{
    printf("hello %d\n", n);
    puts("from elfjit");
    fflush(stdout);
    return stdout;
}
