/* elfjit relocation fixture: a small multi-object C program (with
 * prog_util.c), compiled by the riscv64 cross compiler at -O2 and at
 * -O0 -g and linked link-only by test_reloc_riscv64.c, which checks a few
 * relocated sites: calls to helper and to the C library, the addresses
 * addr_counter / addr_shared / util_out compute, data pointers. */

/* The C library's declarations, written out so that only the cross
 * compiler is needed (no riscv64 libc headers). */
typedef struct _IO_FILE FILE;
typedef __SIZE_TYPE__ size_t;
int fprintf(FILE *, const char *, ...);
void abort(void) __attribute__((noreturn));

extern int helper(int);
extern int shared_val;
extern size_t util_len(const char *);
extern FILE *util_out(void);

int counter;
int table[4] = {1, 2, 3, 4};
const char *msg = "hello";
int (*fp)(int) = helper;

int *addr_counter(void)
{
    return &counter;
}

int *addr_shared(void)
{
    return &shared_val;
}

/* A switch dense enough for a jump table (label differences in .rodata). */
int pick(int k)
{
    switch (k) {
    case 0: return 11;
    case 1: return fp(k);
    case 2: return 7;
    case 3: return (int)util_len(msg);
    case 4: return 9;
    case 5: return 42;
    case 6: return 13;
    default: return 0;
    }
}

int main(int argc, char **argv)
{
    for (int i = 0; i < argc; i++)
        counter += helper(i) + table[i & 3];
    fprintf(util_out(), "%s %d %zu\n", msg, counter, util_len(argv[0]));
    if (argc > 5)
        abort();
    return pick(argc) + fp(1);
}
