/* Over-aligned thread-local variables (64 bytes and a page), with
 * neighbours that would pull them off their alignment if the block's
 * layout ignored it.  Built with -fPIC (general-dynamic: a dynamic block),
 * and with -fPIC -ftls-model=initial-exec (static TLS) both as is and with
 * ALIGN_BIG=64, see tests/CMakeLists.txt. */
#ifndef ALIGN_BIG
#define ALIGN_BIG 4096
#endif
__thread char tls_pad0 = 1;
__thread char tls_a64[3] __attribute__((aligned(64))) = {64, 65, 66};
__thread char tls_pad1 = 2;
__thread char tls_abig[5] __attribute__((aligned(ALIGN_BIG))) = {4, 0, 9, 6, 1};
__thread char tls_pad2;
__thread char tls_z64[7] __attribute__((aligned(64)));

char *tls_a64_addr(void) { return tls_a64; }
char *tls_abig_addr(void) { return tls_abig; }
char *tls_z64_addr(void) { return tls_z64; }
int tls_aligned_sum(void)
{
    return tls_pad0 + tls_a64[0] + tls_a64[2] + tls_pad1 + tls_abig[0] + tls_abig[4] + tls_pad2 +
           tls_z64[6];
}
