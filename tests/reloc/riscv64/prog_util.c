/* elfjit relocation fixture: second object of prog_main.c. */

/* The C library's declarations (see prog_main.c). */
typedef struct _IO_FILE FILE;
typedef __SIZE_TYPE__ size_t;
extern FILE *stdout;
size_t strlen(const char *);

int shared_val = 5;
static int calls;

int helper(int x)
{
    calls++;
    return x * 3 + shared_val;
}

size_t util_len(const char *s)
{
    return strlen(s);
}

FILE *util_out(void)
{
    return stdout;
}
