/* A shared library with an exported thread-local variable, built as
 * libejtls.so (tests/CMakeLists.txt) for test_tls.c's host TLS cases. */
__thread int libtls = 41;

int *libtls_host_addr(void) { return &libtls; }
