/* Pulls gcc_lto_fn.o (GCC LTO intermediate language only) out of
 * libgcc_lto.a. */
int gcc_lto_fn(void);

int use_gcc_lto(void)
{
    return gcc_lto_fn();
}
