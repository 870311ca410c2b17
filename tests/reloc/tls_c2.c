__thread int tl_other = 9;
__thread int tl_other_ie;
static __thread long tl_static = 10;  /* the same name as tls_c.c's */
long *addr_static2(void) { return &tl_static; }
