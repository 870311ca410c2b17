/* Shared declarations of the prog_*.c fixtures. */
#ifndef EJ_A64_PROG_H
#define EJ_A64_PROG_H

#include <stddef.h>

extern int counter;
extern int table[64];
extern long big_array[1024];

const char *util_name(int i);
int util_add(int a, int b);
void util_fill(long v);
void util_sort(int *v, size_t n);
int util_report(const char *what);

#endif
