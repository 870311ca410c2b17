/* Criterion-compatible shim: everything is in criterion.h. */
#include "criterion.h"
