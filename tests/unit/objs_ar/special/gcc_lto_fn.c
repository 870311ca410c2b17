/* libgcc_lto.a: compiled with gcc -flto (without -ffat-lto-objects), so
 * the member is an ELF object holding GCC's intermediate language only:
 * ar indexes its symbols through GCC's linker plugin, but it has no
 * machine code.  A linker without that plugin must refuse it when it is
 * pulled, naming it, not report the name as undefined. */
int gcc_lto_fn(void)
{
    return 9;
}
