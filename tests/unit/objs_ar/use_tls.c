extern __thread int ar_tls_var;

int use_tls(void)
{
    return ++ar_tls_var;
}
