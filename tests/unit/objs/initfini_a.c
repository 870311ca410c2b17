/* Constructors and destructors with priorities, reported to the host. */
#include <stdlib.h>
extern void ej_test_record(const char *);
__attribute__((constructor(102))) static void a102(void) { ej_test_record("ctor102"); }
__attribute__((constructor)) static void a_plain(void) { ej_test_record("ctor-a"); }
__attribute__((destructor(102))) static void d102(void) { ej_test_record("dtor102"); }
__attribute__((destructor)) static void d_plain(void) { ej_test_record("dtor-a"); }
static void handler(void) { ej_test_record("atexit"); }
int initfini_register(void) { return atexit(handler); }
