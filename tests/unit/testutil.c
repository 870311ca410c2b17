#include <stdio.h>
#include <stdlib.h>

#include "testutil.h"

int ej_test_count_mappings(void)
{
    if (EJ_TEST_ASAN)
        return 0;
    FILE *f = fopen("/proc/self/maps", "r");
    int n = 0, c;
    if (!f)
        return -1;
    while ((c = fgetc(f)) != EOF)
        n += c == '\n';
    fclose(f);
    return n;
}

void *ej_test_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc(n > 0 ? (size_t)n : 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf)
        *len = (size_t)n;
    return buf;
}

const char *ej_test_fixture(const char *rel)
{
    static char path[4096];
    snprintf(path, sizeof path, "%s/fixtures/%s", EJ_TEST_BINARY_DIR, rel);
    return path;
}

const char *ej_test_path(const char *dir, const char *name, const char *suffix)
{
    static char path[8][4096];
    static int next;
    char *p = path[next++ % 8];
    snprintf(p, sizeof path[0], "%s/%s%s", dir, name, suffix);
    return p;
}
