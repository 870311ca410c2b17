// A C++ host that loads thrower.o with elfjit and catches what the loaded
// code throws.  Usage: host THROWER.o [--no-unwind]
#include <cstdio>
#include <cstring>
#include <stdexcept>

#include "elfjit/elfjit.h"

int main(int argc, char **argv)
{
    ej_linker *lk;
    ej_module *m;
    if (argc < 2 || ej_linker_create(&lk) != EJ_OK)
        return 2;
    if (argc > 2 && std::strcmp(argv[2], "--no-unwind") == 0)
        ej_linker_set_registration(lk, EJ_REGISTER_GDB);
    if (ej_linker_add_file(lk, argv[1]) != EJ_OK || ej_linker_link(lk, &m) != EJ_OK) {
        std::fprintf(stderr, "host: %s\n", ej_linker_errmsg(lk));
        return 2;
    }
    ej_linker_free(lk);
    auto rt = (int (*)(int))ej_module_symbol(m, "ej_throw_runtime");
    auto ti = (int (*)(int))ej_module_symbol(m, "ej_throw_int");
    int caught = 0;
    try {
        rt(5);
    } catch (const std::runtime_error &e) {
        std::printf("host caught: %s\n", e.what());
        caught++;
    }
    try {
        ti(21);
    } catch (int v) {
        std::printf("host caught int %d\n", v);
        caught++;
    }
    std::printf("%d\n", rt(1));
    ej_module_free(m);
    return caught == 2 ? 0 : 1;
}
