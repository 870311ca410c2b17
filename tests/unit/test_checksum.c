/* The checksum layer (src/checksum): bit for bit zlib's crc32 for every
 * length, alignment and starting value, continued across calls in pieces
 * of any size, whichever instructions the host uses. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "checksum/crc32.h"

static uint8_t *random_bytes(size_t n, unsigned seed)
{
    uint8_t *b = malloc(n);
    cr_assert_not_null(b);
    uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        b[i] = (uint8_t)(x >> 32);
    }
    return b;
}

Test(checksum, names_what_it_uses)
{
    const char *kind = ej__arch_crc32_kind();
    cr_assert(strcmp(kind, "pclmulqdq") == 0 || strcmp(kind, "crc32 instructions") == 0 ||
              strcmp(kind, "zlib") == 0, "kind '%s'", kind);
    printf("crc32 here: %s\n", kind);
}

/* Every length up to 1100 (around each threshold and fold size) at every
 * alignment up to 16, from zero and from a running value. */
Test(checksum, every_short_length_and_alignment)
{
    uint8_t *b = random_bytes(1100 + 16, 1);
    for (size_t off = 0; off < 16; off++)
        for (size_t n = 0; n <= 1100; n++) {
            uint32_t start = (uint32_t)(n * 2654435761u);
            cr_assert_eq(ej__crc32(0, b + off, n), (uint32_t)crc32(0, b + off, (uInt)n),
                         "length %zu at +%zu", n, off);
            cr_assert_eq(ej__crc32(start, b + off, n),
                         (uint32_t)crc32(start, b + off, (uInt)n), "length %zu at +%zu from 0x%x",
                         n, off, start);
        }
    free(b);
}

Test(checksum, long_inputs)
{
    size_t big = (size_t)8 << 20;
    uint8_t *b = random_bytes(big + 64, 2);
    size_t lens[] = {4096, 65536, 65536 + 17, 1u << 20, (1u << 20) + 63, big};
    for (size_t i = 0; i < sizeof lens / sizeof *lens; i++)
        for (size_t off = 0; off < 64; off += 21)
            cr_assert_eq(ej__crc32(0x12345678, b + off, lens[i]),
                         (uint32_t)crc32(0x12345678, b + off, (uInt)lens[i]), "length %zu at +%zu",
                         lens[i], off);
    free(b);
}

/* A running CRC continued in pieces of any size (each side may start
 * where the other stopped) equals the CRC of the whole. */
Test(checksum, continues_across_pieces_and_with_zlib)
{
    size_t n = 300000;
    uint8_t *b = random_bytes(n, 3);
    uint32_t whole = (uint32_t)crc32(0, b, (uInt)n);
    uint64_t x = 7;
    for (int round = 0; round < 50; round++) {
        uint32_t c = 0;
        int zl = round & 1;
        for (size_t done = 0; done < n;) {
            x = x * 6364136223846793005ull + 1442695040888963407ull;
            size_t k = (size_t)(x >> 33) % (round < 25 ? 300 : 40000) + 1;
            if (k > n - done)
                k = n - done;
            c = zl ? (uint32_t)crc32(c, b + done, (uInt)k) : ej__crc32(c, b + done, k);
            zl = !zl;
            done += k;
        }
        cr_assert_eq(c, whole, "round %d", round);
    }
    free(b);
}

/* Patterns that catch a fold constant taken for its neighbour: all zero,
 * all ones, one bit set at many places. */
Test(checksum, sparse_and_uniform_inputs)
{
    size_t n = 4096 + 48;
    uint8_t *b = calloc(1, n);
    cr_assert_not_null(b);
    cr_assert_eq(ej__crc32(0, b, n), (uint32_t)crc32(0, b, (uInt)n));
    for (size_t bit = 0; bit < n * 8; bit += 37) {
        b[bit / 8] ^= (uint8_t)(1u << bit % 8);
        cr_assert_eq(ej__crc32(0, b, n), (uint32_t)crc32(0, b, (uInt)n), "bit %zu", bit);
        b[bit / 8] ^= (uint8_t)(1u << bit % 8);
    }
    memset(b, 0xff, n);
    cr_assert_eq(ej__crc32(0xffffffffu, b, n), (uint32_t)crc32(0xffffffffu, b, (uInt)n));
    free(b);
}
