/* Objects, an archive (libbasic.a) and a shared library (-l z) together. */
#include <stdio.h>
#include <string.h>

unsigned long crc32(unsigned long crc, const unsigned char *buf, unsigned len);
int ar_add(int a, int b);

int main(void)
{
    const char *s = "abc";
    unsigned long c = crc32(0, (const unsigned char *)s, (unsigned)strlen(s));
    printf("crc32(abc) = %08lx, ar_add(2,3) = %d\n", c, ar_add(2, 3));
    return c == 0x352441c2ul && ar_add(2, 3) == 23 ? 0 : 1;
}
