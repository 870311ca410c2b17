/* libm.a: a few functions of each family (gcc cannot link x86_64's
 * libm.a into a dynamic program: its ifunc resolvers need the static C
 * library's _dl_x86_cpu_features; elsewhere it can). */
#include <math.h>
#include <stdio.h>

int main(void)
{
    volatile double x = 0.7, y = 2.5;
    printf("exp %.17g log %.17g pow %.17g\n", exp(x), log(y), pow(y, x));
    printf("sin %.17g cos %.17g atan2 %.17g\n", sin(x), cos(x), atan2(x, y));
    printf("cbrt %.17g erf %.17g tgamma %.17g\n", cbrt(y), erf(x), tgamma(y));
    printf("fma %.17g hypot %.17g expm1 %.17g\n", fma(x, y, 1.0), hypot(x, y), expm1(x));
    volatile float f = 1.25f;
    printf("sinf %.9g expf %.9g logf %.9g\n", (double)sinf(f), (double)expf(f),
           (double)logf(f));
    return 0;
}
