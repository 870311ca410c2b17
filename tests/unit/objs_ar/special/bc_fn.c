/* libmixed_bc.a: compiled with clang -flto, so the member is LLVM bitcode,
 * which the index lists (ar reads it through the LLVM plugin) but no
 * loader of ELF objects can load. */
int bc_fn(void)
{
    return 7;
}
