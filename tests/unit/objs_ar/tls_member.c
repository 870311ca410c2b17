/* libtlsar.a: a thread-local variable, pulled through a thread-local
 * reference only (use_tls.o). */
__thread int ar_tls_var = 5;
