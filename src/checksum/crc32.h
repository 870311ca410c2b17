/* The checksum layer: zlib's crc32 (the CRC-32 of ISO-HDLC, gzip and PNG),
 * as fast as the host allows.
 *
 * An image's load checks the crc32 of the whole file before anything of
 * it is trusted, so the checksum is most of the load's own time: zlib
 * computes about 5 GB/s on one core; the host's carry-less multiply
 * (x86_64 PCLMULQDQ) or CRC instructions (aarch64) several times that.
 * Exactly one of arch/{x86_64,aarch64,riscv64}.c is built, for the host;
 * each falls back to zlib where the CPU lacks the instructions.
 *
 * Results are bit for bit zlib's: ej__crc32(crc32(0, NULL, 0), p, n) ==
 * crc32(0, p, n), and a running CRC may be continued by either. */
#ifndef EJ_CHECKSUM_CRC32_H
#define EJ_CHECKSUM_CRC32_H

#include <stddef.h>
#include <stdint.h>

/* The crc32 of the N bytes at P, continuing CRC (0 to start), as zlib's
 * crc32() computes it, for any N (no 4 GiB limit).  Thread-safe, no
 * allocation, no system call. */
uint32_t ej__crc32(uint32_t crc, const void *p, size_t n);

/* ---- per-architecture interface (checksum/arch/<arch>.c) ----------------
 * The same contract as ej__crc32, for N below 1 GiB; may use zlib. */
uint32_t ej__arch_crc32(uint32_t crc, const uint8_t *p, size_t n);

/* What ej__arch_crc32 uses on this CPU, for tests and the benchmark: a
 * short name ("pclmulqdq", "crc32 instructions", "zlib"). */
const char *ej__arch_crc32_kind(void);

#endif /* EJ_CHECKSUM_CRC32_H */
