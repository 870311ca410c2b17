/* test_image: the main object of the round-trip program.  Compiled three
 * ways (default, -fno-pic with IMG_NOPIC, -fPIC), each image compared with
 * a normal link of the same objects.  It calls into libc (snprintf,
 * strlen, printf) and libm (sqrt of a volatile, so the call stays, and
 * cbrt), holds a table of absolute addresses of other globals and
 * functions (R_X86_64_64 / R_AARCH64_ABS64 / R_RISCV_64: fixups of the
 * image), has a constructor and a destructor, and weak undefined
 * references (a function, a variable). */
#include <math.h>
#include <stdio.h>
#include <string.h>

extern int img_b_counter;
extern const char img_b_name[];
int img_b_add(int a, int b);
int img_b_mul(int a, int b);

/* Nothing defines these: 0 after any link, unless a resolver supplies
 * them (the tests give img_dtor_hook that way). */
extern int img_weak_missing_fn(void) __attribute__((weak));
extern int img_weak_missing_var __attribute__((weak));
extern void img_dtor_hook(int) __attribute__((weak));

int img_ctor_flag;
int img_local_value = 1234;
static int img_static_value = 99;

static int img_twice(int x) { return 2 * x; }

/* Absolute addresses, relocated at load (one fixup each). */
void *img_table[] = {
    &img_b_counter, (void *)img_b_add, (void *)img_b_name, &img_local_value,
    (void *)img_twice, &img_static_value, (void *)img_b_mul, &img_ctor_flag,
};
void *img_weak_ptr = &img_weak_missing_var;
int (*img_weak_fn_ptr)(void) = img_weak_missing_fn;
const char *img_greeting = "hello from an image";

__attribute__((constructor)) static void img_ctor(void) { img_ctor_flag = 0x5eed; }
/* The hook through a data word (a 64-bit absolute address, which every
 * code model can hold, whatever the address), called by the destructor. */
void (*img_hook_ptr)(int) = img_dtor_hook;
__attribute__((destructor)) static void img_dtor(void)
{
    if (img_hook_ptr)
        img_hook_ptr(img_ctor_flag);
}

#ifndef IMG_NOPIC
/* The hook called directly (a GOT load, a call through a stub). */
int img_call_hook(int v)
{
    if (!img_dtor_hook)
        return 0;
    img_dtor_hook(v);
    return 1;
}
#endif

size_t img_strlen(const char *s) { return strlen(s); }

/* snprintf of a few values into BUF: its return value. */
int img_format(char *buf, size_t n, int x)
{
    return snprintf(buf, n, "x=%d greeting='%s' len=%zu name=%s", x, img_greeting,
                    strlen(img_greeting), img_b_name);
}

double img_sqrt(double x)
{
    volatile double v = x;
    return sqrt(v);
}

double img_cbrt(double x) { return cbrt(x); }

int img_has_weak(void) { return (img_weak_missing_fn ? 1 : 0) + (&img_weak_missing_var ? 2 : 0); }

/* Calls and reads through the table. */
int img_sum(void)
{
    int (*add)(int, int) = (int (*)(int, int))img_table[1];
    int (*twice)(int) = (int (*)(int))img_table[4];
    int (*mul)(int, int) = (int (*)(int, int))img_table[6];
    ++*(int *)img_table[0];
    return add(*(int *)img_table[3], *(int *)img_table[5]) + twice(10) + mul(3, 7) +
           (int)strlen((const char *)img_table[2]) + img_b_counter;
}

int img_bump(void) { return ++img_b_counter; }

#ifndef IMG_NOPIC
/* The host's stdout, read PC-relatively by default code: the image must be
 * placed within reach of the C library's data. */
void *img_stdout_addr(void) { return &stdout; }
#endif

int main(int argc, char **argv)
{
    printf("img main: argc=%d arg1=%s strlen=%zu sqrt=%.3f cbrt=%.1f ctor=%#x sum=%d weak=%d\n",
           argc, argc > 1 ? argv[1] : "(none)", img_strlen(img_greeting), img_sqrt(2.0),
           img_cbrt(27.0), img_ctor_flag, img_sum(), img_has_weak());
    return argc + 40;
}

/* Named with -e (elfjit link -e img_entry). */
int img_entry(int argc, char **argv, char **envp)
{
    (void)argv;
    (void)envp;
    printf("img entry: argc=%d\n", argc);
    return 17;
}
