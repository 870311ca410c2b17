/* gdb_scale: what GDB's JIT interface costs as registered modules pile up.
 *
 *   gdb_scale N [--no-gdb-registration] [--call-each]
 *
 * Links N one-function modules (builder images, function f_<i>, default
 * registrations, GDB's included unless told not to), all kept alive, and
 * prints the link time per module over the whole run and over its last
 * tenth (where a cost that grows with the modules already registered
 * shows), then calls every function once (a breakpoint set by name in a
 * debugger stops there) and frees them all.  --call-each looks each
 * function up and calls it right after its link instead (what a JIT that
 * runs what it just compiled does: every lookup makes elfjit tell the
 * debugger at once).  Run it under a debugger to
 * measure the debugger's share (bench/gdb_scale.sh does, side by side
 * with the same run without one). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "timing.h"
#include "elfjit/builder.h"
#include "elfjit/elfjit.h"

/* f(x) = x + 1 */
#if defined(__x86_64__)
static const uint8_t code[] = {0x8d, 0x47, 0x01, 0xc3};
#elif defined(__aarch64__)
static const uint8_t code[] = {0x00, 0x04, 0x00, 0x11, 0xc0, 0x03, 0x5f, 0xd6};
#else
static const uint8_t code[] = {0x05, 0x25, 0x82, 0x80}; /* addi a0,a0,1; ret */
#endif

static void *one_module(size_t i, size_t *len)
{
    char name[32];
    snprintf(name, sizeof name, "f_%zu", i);
    ej_builder *b;
    uint32_t id;
    void *img = NULL;
    if (ej_builder_create(&b, 0) != EJ_OK ||
        ej_builder_add_function(b, name, code, sizeof code, 0, EJ_BIND_GLOBAL, &id) != EJ_OK ||
        ej_builder_finish(b, &img, len) != EJ_OK) {
        fprintf(stderr, "gdb_scale: builder: %s\n", ej_builder_errmsg(b));
        exit(1);
    }
    ej_builder_free(b);
    return img;
}

static ej_module *link_one(size_t i, unsigned reg)
{
    size_t len;
    void *img = one_module(i, &len);
    ej_linker *lk;
    ej_module *m = NULL;
    if (ej_linker_create(&lk) != EJ_OK || ej_linker_set_registration(lk, reg) != EJ_OK ||
        ej_linker_add_buffer(lk, "m.o", img, len) != EJ_OK || ej_linker_link(lk, &m) != EJ_OK) {
        fprintf(stderr, "gdb_scale: module %zu: %s\n", i, ej_linker_errmsg(lk));
        exit(1);
    }
    ej_linker_free(lk);
    free(img);
    return m;
}

/* Looks f_<I> up and calls it: 1 when it answers right. */
static int call(ej_module *m, size_t i)
{
    char name[32];
    snprintf(name, sizeof name, "f_%zu", i);
    int (*f)(int) = (int (*)(int))ej_module_symbol(m, name);
    return f && f((int)i) == (int)i + 1;
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000;
    unsigned reg = EJ_REGISTER_DEFAULT;
    int call_each = 0;
    for (int a = 2; a < argc; a++) {
        if (strcmp(argv[a], "--no-gdb-registration") == 0)
            reg &= ~EJ_REGISTER_GDB;
        else if (strcmp(argv[a], "--call-each") == 0)
            call_each = 1;
    }
    if (n < 10) {
        fprintf(stderr, "usage: gdb_scale N (>= 10) [--no-gdb-registration] [--call-each]\n");
        return 2;
    }
    ej_module **ms = calloc(n, sizeof *ms);
    uint64_t t0 = now_ns(), t_last = 0;
    long bad = 0;
    for (size_t i = 0; i < n; i++) {
        if (i == n - n / 10)
            t_last = now_ns();
        ms[i] = link_one(i, reg);
        if (call_each)
            bad += !call(ms[i], i);
    }
    uint64_t t1 = now_ns();
    for (size_t i = 0; i < n; i++) {
        bad += !call(ms[i], i);
    }
    uint64_t t2 = now_ns();
    for (size_t i = 0; i < n; i++)
        ej_module_free(ms[i]);
    uint64_t t3 = now_ns();
    printf("gdb_scale: %zu modules%s%s: link %.3f ms/module (last tenth %.3f ms/module), "
           "free %.3f ms/module, %ld wrong results\n",
           n, reg & EJ_REGISTER_GDB ? "" : " (no GDB registration)",
           call_each ? " (each called after its link)" : "",
           (double)(t1 - t0) / 1e6 / (double)n, (double)(t1 - t_last) / 1e6 / (double)(n / 10),
           (double)(t3 - t2) / 1e6 / (double)n, bad);
    free(ms);
    return bad != 0;
}
