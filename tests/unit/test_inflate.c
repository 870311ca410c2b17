/* The inflate layer (src/inflate): zlib streams inflated into exactly the
 * size recorded, and every other stream refused as BAD (never a write
 * past the destination), whichever backend this build has. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "inflate/inflate.h"

/* Compressible bytes: words from a small vocabulary, as code and names are. */
static uint8_t *sample(size_t n)
{
    static const char *const words[] = {"push", "mov", "call", "ret", "lea", "sqlite3_", "\x48\x89",
                                        "\xe8\x00\x00\x00\x00", "\x0f\x1f\x44"};
    uint8_t *b = malloc(n);
    cr_assert_not_null(b);
    uint64_t x = 88172645463325252ull;
    for (size_t i = 0; i < n;) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        const char *w = words[x % 9];
        for (size_t k = 0; w[k] && i < n; k++)
            b[i++] = (uint8_t)w[k];
        if (x & 0x100 && i < n)
            b[i++] = (uint8_t)(x >> 40);
    }
    return b;
}

static uint8_t *deflated(const uint8_t *b, size_t n, size_t *zn)
{
    uLongf len = compressBound((uLong)n);
    uint8_t *z = malloc(len);
    cr_assert_not_null(z);
    cr_assert_eq(compress2(z, &len, b, (uLong)n, 9), Z_OK);
    *zn = len;
    return z;
}

Test(inflate, names_its_backend)
{
    const char *k = ej__inflate_kind();
    cr_assert(strcmp(k, "libdeflate") == 0 || strcmp(k, "zlib") == 0, "%s", k);
    printf("inflate here: %s\n", k);
}

Test(inflate, round_trips_sizes_from_one_byte_to_megabytes)
{
    size_t sizes[] = {1, 2, 100, 4095, 4096, 65537, (size_t)3 << 20};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        size_t n = sizes[i], zn;
        uint8_t *b = sample(n), *z = deflated(b, n, &zn), *out = malloc(n);
        cr_assert_not_null(out);
        const char *why = NULL;
        cr_assert_eq(ej__inflate(out, n, z, zn, &why), EJ_INFLATE_OK, "size %zu: %s", n, why);
        cr_assert(memcmp(out, b, n) == 0, "size %zu", n);
        free(b), free(z), free(out);
    }
}

/* A destination one byte short or one byte long, a stream cut short, and
 * flipped bytes: BAD with a reason, and nothing written past DSTLEN. */
Test(inflate, wrong_sizes_and_damage_are_refused)
{
    size_t n = 20000, zn;
    uint8_t *b = sample(n), *z = deflated(b, n, &zn);
    uint8_t *out = malloc(n + 1 + 64);
    cr_assert_not_null(out);
    const char *why = NULL;
    memset(out, 0xa5, n + 65);
    cr_assert_eq(ej__inflate(out, n - 1, z, zn, &why), EJ_INFLATE_BAD);
    cr_assert_not_null(why);
    for (size_t i = n - 1; i < n + 65; i++)
        cr_assert_eq(out[i], 0xa5, "byte %zu past the destination written", i);
    why = NULL;
    cr_assert_eq(ej__inflate(out, n + 1, z, zn, &why), EJ_INFLATE_BAD);
    cr_assert_not_null(why);
    for (size_t cut = 0; cut < zn; cut += zn / 50 + 1)
        cr_assert_eq(ej__inflate(out, n, z, cut, NULL), EJ_INFLATE_BAD, "cut at %zu", cut);
    int refused = 0;
    for (size_t at = 0; at < zn; at += 7) {
        z[at] ^= 0x5a;
        ej__inflate_result r = ej__inflate(out, n, z, zn, NULL);
        refused += r == EJ_INFLATE_BAD;
        cr_assert(r != EJ_INFLATE_NOMEM);
        z[at] ^= 0x5a;
    }
    /* (zlib's adler32 trailer catches what the stream's structure does not) */
    cr_assert_eq(refused, (int)((zn + 6) / 7), "%d of %zu flips went unnoticed",
                 (int)((zn + 6) / 7) - refused, (zn + 6) / 7);
    cr_assert_eq(ej__inflate(out, n, b, n, NULL), EJ_INFLATE_BAD, "raw bytes taken for a stream");
    free(b), free(z), free(out);
}
