int weak_target(void);

int use_strong(void)
{
    return weak_target();
}
