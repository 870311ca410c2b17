/* A growable text buffer for descriptions (ej_linker_describe): appends
 * formatted lines; a failed allocation is remembered and reported once,
 * by the caller, at the end. */
#ifndef EJ_COMMON_TEXT_H
#define EJ_COMMON_TEXT_H

#include <stddef.h>

typedef struct ej__text {
    char *buf;
    size_t len, cap;
    int nomem;
} ej__text;

/* Appends the formatted text (no newline is added). */
void ej__text_add(ej__text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* "12 KiB", "3 MiB", "100 bytes": a size for people. */
const char *ej__text_size(char *buf, size_t len, unsigned long long bytes);

#endif /* EJ_COMMON_TEXT_H */
