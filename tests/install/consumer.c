/* A program that uses an installed elfjit the way an outside project would:
 * built by tests/install/run.sh against the installed headers and library
 * (through pkg-config, and through find_package(elfjit) in consumer/).
 *
 *   consumer OBJECT.o
 *
 * reads OBJECT.o into memory, adds it with ej_linker_add_buffer, links it,
 * calls its ej_probe("elfjit", 7) (strlen * 7, so libc is resolved from the
 * host process too), checks for 42 and prints "ok". */
#include <elfjit/elfjit.h>

#include <stdio.h>
#include <stdlib.h>

static void *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n == cap) {
            cap = cap ? 2 * cap : 4096;
            char *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = nb;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    int err = ferror(f);
    fclose(f);
    if (err) {
        free(buf);
        return NULL;
    }
    *len = n;
    return buf;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s OBJECT.o\n", argv[0]);
        return 2;
    }
    size_t len = 0;
    void *buf = read_file(argv[1], &len);
    if (!buf) {
        fprintf(stderr, "consumer: cannot read %s\n", argv[1]);
        return 1;
    }

    ej_linker *lk = NULL;
    ej_module *m = NULL;
    ej_status st = ej_linker_create(&lk);
    if (st != EJ_OK) {
        fprintf(stderr, "consumer: ej_linker_create: %s\n", ej_status_name(st));
        free(buf);
        return 1;
    }
    st = ej_linker_add_buffer(lk, argv[1], buf, len);
    free(buf);
    if (st == EJ_OK)
        st = ej_linker_link(lk, &m);
    if (st != EJ_OK) {
        fprintf(stderr, "consumer: %s: %s\n", ej_status_name(st),
                ej_linker_errmsg(lk));
        ej_linker_free(lk);
        return 1;
    }
    ej_linker_free(lk);

    void *sym = ej_module_symbol(m, "ej_probe");
    if (!sym) {
        fprintf(stderr, "consumer: ej_probe not found in %s\n", argv[1]);
        ej_module_free(m);
        return 1;
    }
    int (*probe)(const char *, int);
    *(void **)&probe = sym;
    int r = probe("elfjit", 7);
    ej_module_free(m);
    if (r != 42) {
        fprintf(stderr, "consumer: ej_probe(\"elfjit\", 7) = %d, expected 42\n", r);
        return 1;
    }
    printf("ok (elfjit %s)\n", EJ_VERSION_STRING);
    return 0;
}
