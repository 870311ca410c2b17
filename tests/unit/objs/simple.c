/* A small PIE object: calls a host function given by the resolver, libc,
 * reads a libc data symbol PC-relatively, has rodata and data. */
#include <stdio.h>
#include <string.h>

extern int ej_test_host_add(int, int);
static const char greeting[] = "hello";
int counter = 40;

int simple_answer(void) { return ej_test_host_add(counter, 2); }
size_t simple_strlen(void) { return strlen(greeting); }
FILE *simple_stdout(void) { return stdout; }
int *simple_counter(void) { return &counter; }
