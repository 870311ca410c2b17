/* The .bss check of bench/run.sh: a program with a BSS_SIZE-byte .bss that
 * touches 16 of its pages.  Built with a 256 MiB and a 4 KiB .bss; a loader
 * that maps .bss as demand-zero memory runs both in about the same RSS. */
#include <stddef.h>
#include <stdio.h>

#ifndef BSS_SIZE
#define BSS_SIZE (256u << 20)
#endif

static unsigned char big[BSS_SIZE];

int main(void)
{
    size_t step = sizeof big / 16 ? sizeof big / 16 : 1;
    unsigned sum = 0;
    for (size_t i = 0; i < sizeof big; i += step)
        sum += big[i]; /* must read as zero */
    for (size_t i = 0; i < sizeof big; i += step)
        big[i] = 1;
    for (size_t i = 0; i < sizeof big; i += step)
        sum += big[i];
    if (sum != (sizeof big + step - 1) / step) {
        printf("bss wrong: %u\n", sum);
        return 1;
    }
    printf("bss ok\n");
    return 0;
}
