/* dlopen_run LIB.so [ARG...]: the dynamic loader's time to load and run a
 * program that was linked as a shared object (`gcc -shared` of the same
 * objects the other loaders get).  dlopen()s LIB with RTLD_NOW, calls its
 * main(argc, argv, envp) with argv[0] = LIB, and exits with main's return
 * value through exit(), so the library's destructors and stdio flushing run
 * as in a normal program. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

extern char **environ;

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: dlopen_run LIB.so [ARG...]\n");
        return 2;
    }
    void *h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        fprintf(stderr, "dlopen_run: %s\n", dlerror());
        return 1;
    }
    int (*m)(int, char **, char **) = (int (*)(int, char **, char **))dlsym(h, "main");
    if (!m) {
        fprintf(stderr, "dlopen_run: %s: no symbol 'main'\n", argv[1]);
        return 1;
    }
    exit(m(argc - 1, argv + 1, environ));
}
