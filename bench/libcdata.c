/* The libc-data workload: one ordinary PIE object that reads libc's
 * variables directly (stdout, stdin, environ, optind, opterr), as plain C
 * programs do.  gcc -O2 (PIE) reaches them with PC-relative references, which
 * a normal link satisfies with copy relocations and a loader must satisfy by
 * placing the code within ±2 GiB of libc.  Prints "libc data ok" and exits 0
 * when every value is what it must be. */
#include <stdio.h>
#include <unistd.h>

extern char **environ;

int main(void)
{
    int n = 0;
    for (char **e = environ; e && *e; e++)
        n++;
    if (n == 0 || optind != 1 || opterr != 1 || !stdin || !stdout || fileno(stdout) != 1) {
        fprintf(stderr, "libc data wrong: %d variables, optind %d, opterr %d\n", n, optind, opterr);
        return 1;
    }
    fputs("libc data ok\n", stdout);
    return fflush(stdout) == 0 ? 0 : 1;
}
