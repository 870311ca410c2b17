#include <math.h>

#include "demo.h"

static double square(double side) { return side * side; }
static double circle(double r) { return M_PI * r * r; }
static double hexagon(double side) { return 3.0 * sqrt(3.0) / 2.0 * side * side; }

/* Function pointers in initialised data: relocated at load time. */
const struct shape shapes[] = {
    {"square", square},
    {"circle", circle},
    {"hexagon", hexagon},
    {0, 0},
};
