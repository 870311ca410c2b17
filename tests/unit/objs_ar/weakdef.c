/* libweakdef.a: a weak definition pulls its member like a strong one. */
__attribute__((weak)) int weakdef_fn(void)
{
    return 6;
}
