#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "demo.h"

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

__attribute__((destructor)) static void done(void)
{
    printf("demo: destructor ran after main\n");
}

struct stats stats_of(double *values, size_t n)
{
    struct stats st = {0, 0, 0};
    /* qsort calls back into code elfjit loaded. */
    qsort(values, n, sizeof *values, by_value);
    st.median = n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
    for (size_t i = 0; i < n; i++)
        st.mean += values[i] / n;
    for (size_t i = 0; i < n; i++)
        st.stddev += (values[i] - st.mean) * (values[i] - st.mean) / n;
    st.stddev = sqrt(st.stddev);
    return st;
}
