int weakdef_fn(void);

int use_weakdef(void)
{
    return weakdef_fn();
}
