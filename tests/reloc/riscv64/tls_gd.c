/* elfjit relocation fixture: general-dynamic TLS from C (refused). */
__thread int tls_counter;

int tls_bump(void)
{
    return ++tls_counter;
}
