/* Pulls foreign_fn.o (another architecture's object) out of
 * libmixed_foreign.a. */
int foreign_fn(void);

int use_foreign(void)
{
    return foreign_fn();
}
