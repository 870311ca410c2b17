/* elfjit demo: a three-object program linked in memory by `elfjit run`.
 * It uses libc and libm, a table of function pointers, a constructor, a
 * destructor and atexit, and reads its arguments. */
#include <stdio.h>
#include <stdlib.h>

#include "demo.h"

static void goodbye(void) { printf("demo: atexit handler ran\n"); }

__attribute__((constructor)) static void hello(void)
{
    printf("demo: constructor ran before main\n");
}

int main(int argc, char **argv)
{
    atexit(goodbye);
    printf("demo: %d argument(s) after the objects\n", argc - 1);
    for (int i = 1; i < argc; i++) {
        double x = atof(argv[i]);
        for (const struct shape *s = shapes; s->name; s++)
            printf("  %-8s of %6.2f = %10.4f\n", s->name, x, s->area(x));
    }
    double values[] = {4.0, 1.5, 9.25, 2.0, 7.75};
    struct stats st = stats_of(values, sizeof values / sizeof values[0]);
    printf("demo: median %.3f, mean %.3f, stddev %.3f\n", st.median, st.mean, st.stddev);
    return 0;
}
