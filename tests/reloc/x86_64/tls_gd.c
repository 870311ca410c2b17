/* Thread-local storage from C, compiled -fPIC: the access is the
 * general-dynamic model (R_X86_64_TLSGD, then a call to __tls_get_addr),
 * which elfjit refuses (EJ_UNSUPPORTED). */
__thread int tls_counter = 5;

int bump_tls(void);
int bump_tls(void)
{
    return ++tls_counter;
}
