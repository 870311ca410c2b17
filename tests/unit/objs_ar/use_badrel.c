int badrel_fn(void);

int use_badrel(void)
{
    return badrel_fn();
}
