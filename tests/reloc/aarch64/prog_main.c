/* elfjit aarch64 relocation fixture: the main half of a two-object C
 * program (see prog_util.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prog.h"

int (*volatile add_ptr)(int, int) = util_add;
const char *const greeting = "hello from elfjit";

int main(int argc, char **argv)
{
    char *buf = malloc(64);
    if (!buf)
        return 1;
    strcpy(buf, util_name(argc));
    printf("%s %d %d %s\n", buf, util_add(argc, 2), counter, greeting);
    util_fill(argc);
    int v[4] = {3, 1, 2, argc};
    util_sort(v, 4);
    util_report(argv[0]);
    free(buf);
    return add_ptr(v[0], table[1]) + (int)big_array[3] > 1000 ? EXIT_FAILURE : 0;
}
