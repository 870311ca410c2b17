/* A 64 KiB thread-local array in .tbss: far more than the C library's
 * spare static TLS.  Built with -fPIC -ftls-model=initial-exec (must fail
 * with EJ_STATIC_TLS) and with -fPIC (general-dynamic: must work). */
__thread char tls_big_array[65536];

char *tls_big_addr(void) { return tls_big_array; }
int tls_big_touch(int i, int v)
{
    int old = tls_big_array[i];
    tls_big_array[i] = (char)v;
    return old;
}
