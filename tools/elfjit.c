/* elfjit — command-line front door to the library.
 *
 *   elfjit run [-e SYMBOL] [-l LIB]... FILE... [-- ARG...]
 *   elfjit link -o IMAGE [-e SYMBOL] [-l LIB]... FILE...
 *
 * run links the objects in memory (or loads one image) and calls
 * main(argc, argv, envp) — or SYMBOL, or the function the image names —
 * with argv[0] = the first FILE, then exits with its return value.  link
 * links them once and saves the result as an image file that run loads
 * without linking; inspect describes objects or an image.  elfjit writes
 * nothing to stdout but inspect's description: the program's output is
 * its own.  Exit status 1 for a load or link error (or no memory), 2
 * for bad usage. */
#include <glob.h>
#include <limits.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "elfjit/elfjit.h"
#include "libsearch.h"
#include "traps.h"

extern char **environ;

#define EXIT_LINK 1
#define EXIT_USAGE 2

/* The registration options, from the library's one list
 * (EJ_REGISTRATION_LIST): --no-NAME turns off one that is on by default,
 * --NAME turns on one that is not. */
typedef struct reg_option {
    const char *name;
    unsigned flag;
    int on_by_default;
    const char *help;
} reg_option;

static const reg_option reg_options[] = {
#define EJ_TOOL_REG_OPTION(name, bit, def, option, help) {option, EJ_REGISTER_##name, def, help},
    EJ_REGISTRATION_LIST(EJ_TOOL_REG_OPTION)
#undef EJ_TOOL_REG_OPTION
};
#define NREG_OPTIONS (sizeof reg_options / sizeof reg_options[0])

static void print_help(FILE *f)
{
    fputs("usage: elfjit run [OPTION]... FILE... [-- ARG...]\n"
          "       elfjit link -o IMAGE [OPTION]... FILE...\n"
          "       elfjit inspect [-l LIB]... FILE...\n"
          "       elfjit --help | --version\n"
          "\n"
          "run links relocatable ELF objects (.o) and static libraries (.a) in memory\n"
          "and runs them, or loads and runs an image that link saved. link saves the\n"
          "linked program as an image: loading it costs a map and its fixups, not a link.\n"
          "inspect describes objects, archives or an image on standard output.\n"
          "\n"
          "  -o IMAGE        (link) the image file to write\n"
          "  --compress      (link) store the image deflated (zlib): smaller, inflated\n"
          "                  into memory at load instead of mapped\n"
          "  -g              (link) keep the objects' DWARF in the image: debuggers see\n"
          "                  source lines, types and locals (without it: function names)\n"
          "  --cache-dir DIR (run) keep the linked image in DIR: the next run of the same\n"
          "                  unchanged files loads it instead of linking\n"
          "  --cache-max N   (run) bound DIR to N bytes (K, M, G suffixes; default 1G),\n"
          "                  least recently used images removed first\n"
          "  -e SYMBOL       call SYMBOL(argc, argv, envp) instead of main\n"
          "  -l LIB          link library LIB: libLIB.so or libLIB.a, searched in the -L\n"
          "                  directories, then the system's (or a path: -l libz.so.1)\n"
          "  -L DIR          search DIR for -l libraries, before the system's directories\n"
          "  --static        the -l libraries that follow are static (libLIB.a) only\n"
          "  --whole-archive / --no-whole-archive\n"
          "                  link every member of the archives between them, not only\n"
          "                  the members the program needs\n",
          f);
    for (size_t i = 0; i < NREG_OPTIONS; i++) {
        char opt[64];
        snprintf(opt, sizeof opt, "--%s%s", reg_options[i].on_by_default ? "no-" : "",
                 reg_options[i].name);
        fprintf(f, "  %-14s  %s%s\n", opt, reg_options[i].on_by_default ? "do not " : "",
                reg_options[i].help);
    }
    fputs("  --              the arguments that follow go to the program\n"
          "\n"
          "Environment: ELFJIT_CODEMEM=mprotect|dual picks the code memory backend;\n"
          "ELFJIT_PROFILE_DIR a private directory for the perf map and jitdump.\n"
          "\n"
          "Exit status: the program's own; 1 when loading or linking fails (or memory runs\n"
          "out); 2 for bad usage.\n",
          f);
}

/* A registration option (--no-gdb, --perf-map, ...): applies it to
 * *FLAGS and returns 1, or returns 0 when A is none. */
static int reg_option_apply(const char *a, unsigned *flags)
{
    if (strncmp(a, "--", 2) != 0)
        return 0;
    for (size_t i = 0; i < NREG_OPTIONS; i++) {
        const reg_option *r = &reg_options[i];
        const char *name = a + 2;
        if (r->on_by_default && strncmp(name, "no-", 3) == 0 && strcmp(name + 3, r->name) == 0) {
            *flags &= ~r->flag;
            return 1;
        }
        if (!r->on_by_default && strcmp(name, r->name) == 0) {
            *flags |= r->flag;
            return 1;
        }
    }
    return 0;
}

/* An input, in command-line order: a file (object or archive) or a -l
 * library, with the archive options in force where it was named. */
typedef struct input {
    const char *text;
    int is_lib;
    int static_only;       /* --static before it */
    unsigned archive;      /* EJ_ARCHIVE_WHOLE inside --whole-archive */
} input;

typedef struct options {
    int link;              /* elfjit link */
    int inspect;           /* elfjit inspect */
    const char *output;    /* link -o */
    unsigned image_flags;  /* link --compress, -g */
    const char *cache_dir; /* run --cache-dir */
    unsigned long long cache_max;
    const char *entry;
    unsigned registration; /* EJ_REGISTER_* */
    input *inputs;
    int ninputs, nfiles;
    const char *first_file;
    const char **dirs;     /* -L */
    int ndirs;
    char **args;
    int nargs;
} options;

static int usage_error(const char *msg, const char *arg)
{
    fprintf(stderr, "elfjit: %s%s%s\n", msg, arg ? ": " : "", arg ? arg : "");
    fprintf(stderr, "usage: elfjit run [-e SYMBOL] [-L DIR]... [-l LIB]... [--static] "
                    "[--whole-archive] [--no-whole-archive]");
    for (size_t i = 0; i < NREG_OPTIONS; i++)
        fprintf(stderr, " [--%s%s]", reg_options[i].on_by_default ? "no-" : "",
                reg_options[i].name);
    fprintf(stderr, " FILE... [-- ARG...]\n");
    return EXIT_USAGE;
}

static int add_input(options *o, const char *text, int is_lib, int static_only,
                     unsigned archive)
{
    o->inputs[o->ninputs++] = (input){text, is_lib, static_only, archive};
    if (!is_lib && !o->nfiles++)
        o->first_file = text;
    return 0;
}

static int parse_run(int argc, char **argv, options *o)
{
    o->inputs = calloc((size_t)argc, sizeof *o->inputs);
    o->dirs = calloc((size_t)argc, sizeof *o->dirs);
    if (!o->inputs || !o->dirs) {
        fprintf(stderr, "elfjit: out of memory reading the command line\n");
        return EXIT_LINK; /* not bad usage: the same command may work next time */
    }
    o->registration = EJ_REGISTER_DEFAULT;
    int static_only = 0;
    unsigned archive = 0;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) {
            o->args = argv + i + 1;
            o->nargs = argc - i - 1;
            break;
        } else if (strcmp(a, "-e") == 0 || strcmp(a, "-l") == 0 || strcmp(a, "-L") == 0 ||
                   (o->link && strcmp(a, "-o") == 0)) {
            if (i + 1 >= argc)
                return usage_error("option needs an argument", a);
            if (a[1] == 'e')
                o->entry = argv[++i];
            else if (a[1] == 'o')
                o->output = argv[++i];
            else if (a[1] == 'L')
                o->dirs[o->ndirs++] = argv[++i];
            else
                add_input(o, argv[++i], 1, static_only, archive);
        } else if (reg_option_apply(a, &o->registration)) {
            continue;
        } else if (strncmp(a, "-l", 2) == 0 && a[2]) {
            add_input(o, a + 2, 1, static_only, archive);
        } else if (strncmp(a, "-L", 2) == 0 && a[2]) {
            o->dirs[o->ndirs++] = a + 2;
        } else if (strcmp(a, "--static") == 0 || strcmp(a, "-static") == 0) {
            static_only = 1;
        } else if (!o->link && (strcmp(a, "--cache-dir") == 0 || strcmp(a, "--cache-max") == 0)) {
            if (i + 1 >= argc)
                return usage_error("option needs an argument", a);
            if (a[8] == 'd') {
                o->cache_dir = argv[++i];
            } else {
                char *end;
                o->cache_max = strtoull(argv[++i], &end, 10);
                int shift = *end == 'K' ? 10 : *end == 'M' ? 20 : *end == 'G' ? 30 : 0;
                if (end == argv[i] || (*end && (!shift || end[1])))
                    return usage_error("--cache-max needs a size (bytes, or with K, M, G)",
                                       argv[i]);
                o->cache_max <<= shift;
            }
        } else if (o->link && strcmp(a, "--compress") == 0) {
            o->image_flags |= EJ_IMAGE_COMPRESS;
        } else if (o->link && strcmp(a, "-g") == 0) {
            o->image_flags |= EJ_IMAGE_DWARF;
        } else if (strcmp(a, "--whole-archive") == 0) {
            archive = EJ_ARCHIVE_WHOLE;
        } else if (strcmp(a, "--no-whole-archive") == 0) {
            archive = 0;
        } else if (a[0] == '-' && a[1]) {
            return usage_error("unknown option", a);
        } else {
            add_input(o, a, 0, static_only, archive);
        }
    }
    if (o->nfiles == 0)
        return usage_error("no input files", NULL);
    if (o->link && !o->output)
        return usage_error("link needs -o IMAGE", NULL);
    if (o->link && o->nargs)
        return usage_error("link takes no program arguments", NULL);
    return 0;
}

/* One input into LK. */
static ej_status add_input_to(ej_linker *lk, const options *o, const input *in)
{
    if (in->is_lib) {
        ej_status st = ej_tool_add_library(lk, in->text, o->dirs, o->ndirs, in->static_only,
                                           in->archive);
        if (st == EJ_NOTFOUND && in->static_only)
            fprintf(stderr, "elfjit: cannot find lib%s.a (-L directories, then the system's)\n",
                    in->text);
        return st;
    }
    if (in->archive) {
        ej_status st = ej_linker_add_archive(lk, in->text, in->archive);
        if (st != EJ_BADELF)
            return st; /* (not an archive: an object, added as any other) */
    }
    return ej_linker_add_file(lk, in->text);
}

/* The link's notes (what a linker would warn of), each line on stderr. */
static void print_notes(const ej_linker *lk)
{
    for (const char *n = ej_linker_notes(lk), *e; *n; n = e + 1) {
        e = strchr(n, '\n');
        fprintf(stderr, "elfjit: note: %.*s\n", (int)(e - n), n);
    }
}

static int link_error(ej_linker *lk)
{
    print_notes(lk);
    fprintf(stderr, "elfjit: %s\n", ej_linker_errmsg(lk));
    ej_linker_free(lk);
    return EXIT_LINK;
}

/* Static TLS.  The C library sizes its spare static TLS space once, at
 * process start, from the tunable glibc.rtld.optional_static_tls, and
 * aligns it to the largest alignment of the modules loaded then; a
 * program whose local-exec or initial-exec variables need more (a normal
 * link puts them in the executable's own block, of any size and
 * alignment) is run by restarting this process once with the tunable
 * raised and, for the alignment, a one-byte TLS block of that alignment
 * preloaded (ej_static_tls_preload), the link having told what it needs.
 * The program sees the environment it was given: GLIBC_TUNABLES and
 * LD_PRELOAD as they were are carried across the restart in
 * ELFJIT_SAVED_TUNABLES / ELFJIT_SAVED_PRELOAD and put back at start-up. */
#define SAVED_TUNABLES "ELFJIT_SAVED_TUNABLES"
#define SAVED_PRELOAD "ELFJIT_SAVED_PRELOAD"
static char **tool_argv;
static int restarted;

/* NAME as SAVED holds it: "=VALUE", or "-" for unset. */
static void put_back(const char *name, const char *saved_name)
{
    const char *saved = getenv(saved_name);
    if (!saved)
        return;
    if (saved[0] == '=')
        setenv(name, saved + 1, 1);
    else
        unsetenv(name);
    unsetenv(saved_name);
}

static void restore_environment(void)
{
    if (!getenv(SAVED_TUNABLES))
        return;
    restarted = 1;
    put_back("GLIBC_TUNABLES", SAVED_TUNABLES);
    put_back("LD_PRELOAD", SAVED_PRELOAD);
}

/* Sets NAME to its old value (if any), SEP and ADD; remembers the old one
 * in SAVED_NAME.  0 on success. */
static int extend(const char *name, const char *saved_name, const char *sep, const char *add)
{
    const char *old = getenv(name);
    size_t len = (old ? strlen(old) : 0) + strlen(add) + 8;
    char *value = malloc(len), *saved = malloc(len);
    int rc = -1;
    if (value && saved) {
        snprintf(value, len, "%s%s%s", old && old[0] ? old : "", old && old[0] ? sep : "", add);
        snprintf(saved, len, "%s%s", old ? "=" : "-", old ? old : "");
        rc = setenv(saved_name, saved, 1) == 0 && setenv(name, value, 1) == 0 ? 0 : -1;
    }
    free(value);
    free(saved);
    return rc;
}

/* The first library the process loaded (a path), which the preload must
 * not displace: sanitizer runtimes insist on coming first. */
static int first_library(struct dl_phdr_info *info, size_t size, void *out)
{
    (void)size;
    if (!strchr(info->dlpi_name, '/'))
        return 0; /* the program itself, the vDSO */
    snprintf(out, PATH_MAX, "%s", info->dlpi_name);
    return 1;
}

/* Returns only when the restart is not possible (or already happened). */
static void restart_with_static_tls(uint64_t need, uint64_t align)
{
    if (restarted)
        return;
    const char *old = getenv("GLIBC_TUNABLES");
    const char *key = "glibc.rtld.optional_static_tls=";
    const char *set = old ? strstr(old, key) : NULL;
    unsigned long long now = set ? strtoull(set + strlen(key), NULL, 0) : 512;
    /* Room for what the block needs beyond the spare space already there,
     * its alignment padding, and what other late TLS users take. */
    char tunable[96], preload[PATH_MAX + 64];
    snprintf(tunable, sizeof tunable, "%s%llu", key, now + need + align + 4096);
    int fd = -1;
    if (align > 16 && ej_static_tls_preload(align, &fd) != EJ_OK)
        return;
    char first[PATH_MAX] = "";
    if (fd >= 0 && !getenv("LD_PRELOAD"))
        dl_iterate_phdr(first_library, first);
    snprintf(preload, sizeof preload, "%s%s/proc/self/fd/%d", first, first[0] ? ":" : "", fd);
    if (extend("GLIBC_TUNABLES", SAVED_TUNABLES, ":", tunable) == 0 &&
        (fd < 0 || extend("LD_PRELOAD", SAVED_PRELOAD, ":", preload) == 0))
        execv("/proc/self/exe", tool_argv);
    /* No restart: the program fails with the link's message. */
    restore_environment();
    restarted = 0;
    if (fd >= 0)
        close(fd);
}

/* The linker, the module and the program's argv live until exit(): held here so that
 * leak checkers see them as reachable, not leaked. */
static ej_module *volatile running_module; /* volatile: stores to write-only */
static ej_linker *volatile running_linker; /* statics may not be optimised away */
static char **volatile running_argv;

/* A linker holding every input, or NULL (the error told). */
static ej_linker *linker_with_inputs(const options *o)
{
    ej_linker *lk;
    if (ej_linker_create(&lk) != EJ_OK) {
        fprintf(stderr, "elfjit: out of memory\n");
        return NULL;
    }
    if (ej_linker_set_registration(lk, o->registration) != EJ_OK ||
        (o->cache_dir && ej_linker_set_cache(lk, o->cache_dir, o->cache_max ? o->cache_max
                                                                            : 1ull << 30) != EJ_OK)) {
        link_error(lk);
        return NULL;
    }
    for (int i = 0; i < o->ninputs; i++) {
        ej_status st = add_input_to(lk, o, &o->inputs[i]);
        if (st == EJ_NOTFOUND && o->inputs[i].static_only) {
            ej_linker_free(lk);
            return NULL;
        }
        if (st != EJ_OK) {
            link_error(lk);
            return NULL;
        }
    }
    return lk;
}

static int save_image(const options *o)
{
    ej_linker *lk = linker_with_inputs(o);
    if (!lk)
        return EXIT_LINK;
    if (ej_linker_save_image(lk, o->output, o->entry, o->image_flags) != EJ_OK)
        return link_error(lk);
    print_notes(lk);
    ej_linker_free(lk);
    return 0;
}

static int inspect(const options *o)
{
    ej_linker *lk = linker_with_inputs(o);
    char *text = NULL;
    if (!lk)
        return EXIT_LINK;
    if (ej_linker_describe(lk, &text) != EJ_OK)
        return link_error(lk);
    fputs(text, stdout);
    free(text);
    ej_linker_free(lk);
    return 0;
}

static int run(const options *o)
{
    ej_module *m;
    ej_linker *lk = linker_with_inputs(o);
    if (!lk)
        return EXIT_LINK;
    if (ej_linker_link(lk, &m) != EJ_OK) {
        if (ej_linker_static_tls_size(lk))
            restart_with_static_tls(ej_linker_static_tls_size(lk), ej_linker_static_tls_align(lk));
        return link_error(lk);
    }
    print_notes(lk);
    /* Not freed: unmapping a hundred object files one by one costs more
     * than the whole link, while exit() tears the address space down at
     * once.  Peak memory is unchanged (the objects were resident during
     * the link anyway). */
    running_linker = lk;

    const char *entry = o->entry ? o->entry : ej_module_entry(m) ? ej_module_entry(m) : "main";
    int (*fn)(int, char **, char **) = (int (*)(int, char **, char **))ej_module_symbol(m, entry);
    if (!fn) {
        fprintf(stderr, "elfjit: %s: no global symbol '%s' to run\n", o->first_file, entry);
        ej_module_free(m);
        ej_linker_free(lk);
        running_linker = NULL;
        return EXIT_LINK;
    }
    int argc = o->nargs + 1;
    char **argv = running_argv = calloc((size_t)argc + 1, sizeof *argv);
    running_module = m;
    if (!argv) {
        fprintf(stderr, "elfjit: out of memory\n");
        return EXIT_LINK;
    }
    argv[0] = (char *)o->first_file;
    for (int i = 0; i < o->nargs; i++)
        argv[i + 1] = o->args[i];
    if (ej_tool_install_trap_handlers() != 0) {
        fprintf(stderr, "elfjit: cannot install the trap handlers\n");
        return EXIT_LINK;
    }
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
    tool_argv = argv;
    restore_environment();
    if (argc < 2)
        return usage_error("missing command", NULL);
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        print_help(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("elfjit %s\n", EJ_VERSION_STRING);
        return 0;
    }
    if (strcmp(argv[1], "run") != 0 && strcmp(argv[1], "link") != 0 &&
        strcmp(argv[1], "inspect") != 0)
        return usage_error("unknown command", argv[1]);
    static options o; /* static: reachable until exit(), see running_module */
    o.link = strcmp(argv[1], "link") == 0;
    o.inspect = strcmp(argv[1], "inspect") == 0;
    int rc = parse_run(argc, argv, &o);
    if (rc == 0)
        rc = o.link ? save_image(&o) : o.inspect ? inspect(&o) : run(&o);
    free(o.inputs);
    free(o.dirs);
    return rc;
}
