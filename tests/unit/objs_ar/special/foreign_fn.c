/* libmixed_foreign.a: compiled for another architecture than the target's
 * (aarch64 on x86_64, x86_64 elsewhere). */
int foreign_fn(void)
{
    return 8;
}
