int ok_fn(void);

int use_ok(void)
{
    return ok_fn();
}
