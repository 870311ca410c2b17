/* elfjit aarch64 fixture: general-dynamic TLS from C (-fPIC), refused. */
__thread int tls_counter;

int bump(void)
{
    return ++tls_counter;
}
