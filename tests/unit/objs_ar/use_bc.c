/* Pulls bc_fn.o (LLVM bitcode) out of libmixed_bc.a. */
int bc_fn(void);

int use_bc(void)
{
    return bc_fn();
}
