/* libgmp.a (hand-written assembly for every architecture): factorials,
 * Fibonacci numbers, a Mersenne prime, a gcd. */
#include <gmp.h>
#include <stdio.h>

int main(void)
{
    mpz_t a, b, g;
    mpz_inits(a, b, g, NULL);
    mpz_fac_ui(a, 100);
    gmp_printf("100! = %Zd\n", a);
    mpz_fib_ui(b, 300);
    gmp_printf("fib(300) = %Zd\n", b);
    mpz_gcd(g, a, b);
    gmp_printf("gcd = %Zd\n", g);
    mpz_ui_pow_ui(a, 2, 521);
    mpz_sub_ui(a, a, 1);
    printf("2^521-1 is %s\n", mpz_probab_prime_p(a, 25) ? "prime" : "composite");
    mpz_root(b, a, 7);
    gmp_printf("7th root %Zd, digits %zu\n", b, mpz_sizeinbase(a, 10));
    mpz_clears(a, b, g, NULL);
    return 0;
}
