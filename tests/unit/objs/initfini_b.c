extern void ej_test_record(const char *);
__attribute__((constructor(101))) static void b101(void) { ej_test_record("ctor101"); }
__attribute__((destructor(101))) static void b_d101(void) { ej_test_record("dtor101"); }
