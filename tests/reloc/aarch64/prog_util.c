/* elfjit aarch64 relocation fixture: the library half of a two-object C
 * program (prog_main.c), compiled by aarch64-linux-gnu-gcc with several
 * code models and linked link-only by test_reloc_aarch64.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prog.h"

int counter;
int table[64] = {1, 2, 3, 5, 8, 13};
long big_array[1024];
static const char *const names[] = {"alpha", "beta", "gamma"};
static int calls;

const char *util_name(int i)
{
    calls++;
    return names[(unsigned)i % 3];
}

int util_add(int a, int b)
{
    counter++;
    return a + b + table[a & 63];
}

void util_fill(long v)
{
    for (int i = 0; i < 1024; i++)
        big_array[i] = v + i;
}

static int cmp(const void *a, const void *b)
{
    return *(const int *)a - *(const int *)b;
}

void util_sort(int *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp);
}

int util_report(const char *what)
{
    fprintf(stderr, "%s: %d calls, counter %d\n", what, calls, counter);
    return fputs(what, stdout);
}
