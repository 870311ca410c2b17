#ifndef DEMO_H
#define DEMO_H
#include <stddef.h>

struct shape {
    const char *name;
    double (*area)(double);
};
extern const struct shape shapes[];

struct stats {
    double median, mean, stddev;
};
struct stats stats_of(double *values, size_t n);
#endif
