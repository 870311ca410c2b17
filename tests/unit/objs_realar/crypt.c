/* libcrypt.a (libxcrypt): password hashes with fixed salts. */
#include <crypt.h>
#include <stdio.h>
#include <string.h>

int main(void)
{
    static const char *const settings[] = {
        "$6$saltsaltsalt$",                   /* SHA-512 */
        "$5$rounds=5000$saltsalt$",           /* SHA-256 */
        "$1$saltsalt$",                       /* MD5 */
        "$2b$04$abcdefghijklmnopqrstuu",      /* bcrypt */
        "$y$j9T$abcdefghijklmnopqrstu.$",     /* yescrypt */
    };
    int ok = 1;
    for (size_t i = 0; i < sizeof settings / sizeof *settings; i++) {
        struct crypt_data cd;
        memset(&cd, 0, sizeof cd);
        const char *h = crypt_r("elfjit password", settings[i], &cd);
        printf("%s\n", h ? h : "(null)");
        ok = ok && h && h[0] == '$';
    }
    char salt[CRYPT_GENSALT_OUTPUT_SIZE];
    static const char rbytes[16] = "0123456789abcdef";
    const char *s = crypt_gensalt_rn("$6$", 5000, rbytes, sizeof rbytes, salt, sizeof salt);
    printf("gensalt %s\n", s ? s : "(null)");
    return ok && s ? 0 : 1;
}
