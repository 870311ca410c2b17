/* elfjit — command-line front door to the library.
 *
 *   elfjit run [-e SYMBOL] [-l LIB]... FILE... [-- ARG...]
 *
 * Links the objects in memory and calls main(argc, argv, envp) — or
 * SYMBOL — with argv[0] = the first FILE, then exits with its return value.
 * elfjit writes nothing to stdout: the program's output is its own.
 * Exit status 1 for a load or link error, 2 for bad usage. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "elfjit/elfjit.h"

extern char **environ;

#define EXIT_LINK 1
#define EXIT_USAGE 2

static const char usage_text[] =
    "usage: elfjit run [-e SYMBOL] [-l LIB]... FILE... [-- ARG...]\n"
    "       elfjit --help | --version\n"
    "\n"
    "Links relocatable ELF objects (.o) in memory and runs them.\n"
    "\n"
    "  -e SYMBOL   call SYMBOL(argc, argv, envp) instead of main\n"
    "  -l LIB      make shared library LIB available (e.g. -l z or -l libz.so.1)\n"
    "  --          the arguments that follow go to the program\n"
    "\n"
    "Exit status: the program's own; 1 when loading or linking fails; 2 for bad usage.\n";

typedef struct options {
    const char *entry;
    const char **libs, **files;
    int nlibs, nfiles;
    char **args;
    int nargs;
} options;

static int usage_error(const char *msg, const char *arg)
{
    fprintf(stderr, "elfjit: %s%s%s\n", msg, arg ? ": " : "", arg ? arg : "");
    fprintf(stderr, "usage: elfjit run [-e SYMBOL] [-l LIB]... FILE... [-- ARG...]\n");
    return EXIT_USAGE;
}

/* "-l z" means libz.so, as for a system linker; a name with a '/' or
 * ".so" is used as given. */
static const char *library_name(const char *arg, char *buf, size_t len)
{
    if (strchr(arg, '/') || strstr(arg, ".so"))
        return arg;
    snprintf(buf, len, "lib%s.so", arg);
    return buf;
}

static int parse_run(int argc, char **argv, options *o)
{
    o->libs = calloc((size_t)argc, sizeof *o->libs);
    o->files = calloc((size_t)argc, sizeof *o->files);
    if (!o->libs || !o->files)
        return usage_error("out of memory", NULL);
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) {
            o->args = argv + i + 1;
            o->nargs = argc - i - 1;
            break;
        } else if (strcmp(a, "-e") == 0 || strcmp(a, "-l") == 0) {
            if (i + 1 >= argc)
                return usage_error("option needs an argument", a);
            if (a[1] == 'e')
                o->entry = argv[++i];
            else
                o->libs[o->nlibs++] = argv[++i];
        } else if (strncmp(a, "-l", 2) == 0 && a[2]) {
            o->libs[o->nlibs++] = a + 2;
        } else if (a[0] == '-' && a[1]) {
            return usage_error("unknown option", a);
        } else {
            o->files[o->nfiles++] = a;
        }
    }
    if (o->nfiles == 0)
        return usage_error("no input files", NULL);
    return 0;
}

static int link_error(ej_linker *lk)
{
    fprintf(stderr, "elfjit: %s\n", ej_linker_errmsg(lk));
    ej_linker_free(lk);
    return EXIT_LINK;
}

static int run(const options *o)
{
    ej_linker *lk;
    ej_module *m;
    char libbuf[4096];
    if (ej_linker_create(&lk) != EJ_OK) {
        fprintf(stderr, "elfjit: out of memory\n");
        return EXIT_LINK;
    }
    for (int i = 0; i < o->nlibs; i++)
        if (ej_linker_add_library(lk, library_name(o->libs[i], libbuf, sizeof libbuf)) != EJ_OK)
            return link_error(lk);
    for (int i = 0; i < o->nfiles; i++)
        if (ej_linker_add_file(lk, o->files[i]) != EJ_OK)
            return link_error(lk);
    if (ej_linker_link(lk, &m) != EJ_OK)
        return link_error(lk);
    ej_linker_free(lk);

    const char *entry = o->entry ? o->entry : "main";
    int (*fn)(int, char **, char **) = (int (*)(int, char **, char **))ej_module_symbol(m, entry);
    if (!fn) {
        fprintf(stderr, "elfjit: %s: no global symbol '%s' to run\n", o->files[0], entry);
        ej_module_free(m);
        return EXIT_LINK;
    }
    int argc = o->nargs + 1;
    char **argv = calloc((size_t)argc + 1, sizeof *argv);
    if (!argv) {
        fprintf(stderr, "elfjit: out of memory\n");
        return EXIT_LINK;
    }
    argv[0] = (char *)o->files[0];
    for (int i = 0; i < o->nargs; i++)
        argv[i + 1] = o->args[i];
    if (ej_module_init(m, argc, argv, environ) != EJ_OK) {
        fprintf(stderr, "elfjit: %s\n", ej_module_errmsg(m));
        return EXIT_LINK;
    }
    /* exit() rather than return: the module's atexit handlers and
     * destructors run, and stdio is flushed, exactly as after a normal
     * program's main. */
    exit(fn(argc, argv, environ));
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage_error("missing command", NULL);
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(usage_text, stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("elfjit %s\n", EJ_VERSION_STRING);
        return 0;
    }
    if (strcmp(argv[1], "run") != 0)
        return usage_error("unknown command", argv[1]);
    options o = {0};
    int rc = parse_run(argc, argv, &o);
    if (rc == 0)
        rc = run(&o);
    free(o.libs);
    free(o.files);
    return rc;
}
