/* A data object: a materialiser that links it has not defined the name
 * as a function (test_lazy_session.c). */
long lazy_datum = 42;
